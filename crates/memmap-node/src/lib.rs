//! Node-API adapters over `memmap-core`. This is the only crate that knows
//! napi; every `#[napi]` function here is a thin adapter, and the logic lives
//! in the core or in this crate's modules, by job:
//!
//! - `handles`: the handle table (numbers that never repeat);
//! - `buffers`: this thread's maps, the external ArrayBuffers over them,
//!   detaching on close and how long a closed map's address stays backed;
//! - `elements`: elements copied in and out where no zero-copy view exists
//!   (single elements through a scratch buffer, blocks of any view);
//! - `tasks`: async work (reductions, flushes, the end of `closeAsync`);
//! - `pool`: the library's own threads that run it, so libuv's stay Node's;
//! - `reductions`: numpy's reductions along axes, over maps or JavaScript bytes;
//! - `errors`: codes as data, and the one conversion of core errors.

#![deny(clippy::undocumented_unsafe_blocks)]

mod buffers;
mod elements;
mod errors;
mod handles;
mod pool;
mod reductions;
mod tasks;

use std::sync::atomic::Ordering;

use memmap_core::{Length, OpenOptions, Source};
use napi::bindgen_prelude::{Buffer, BufferSlice, Either3, Env, Object};
use napi_derive::napi;

use buffers::{mapping_of, with_map, ArrayBufferValue};
use elements::Block;
use errors::{to_isize, to_js_error, to_usize, Result};
use handles::Handle;
use tasks::{CloseTask, FlushTask, ReduceRequest, ReduceTask, ReduceValue};

/// numpy's four modes, in numpy's spelling (TypeScript parses the aliases).
#[napi(string_enum)]
pub enum Mode {
    #[napi(value = "r")]
    ReadOnly,
    #[napi(value = "r+")]
    ReadWrite,
    #[napi(value = "w+")]
    Create,
    #[napi(value = "c")]
    CopyOnWrite,
}

impl From<Mode> for memmap_core::Mode {
    fn from(mode: Mode) -> memmap_core::Mode {
        match mode {
            Mode::ReadOnly => memmap_core::Mode::ReadOnly,
            Mode::ReadWrite => memmap_core::Mode::ReadWrite,
            Mode::Create => memmap_core::Mode::Create,
            Mode::CopyOnWrite => memmap_core::Mode::CopyOnWrite,
        }
    }
}

/// madvise(2) hints.
#[napi(string_enum = "lowercase")]
pub enum Advice {
    Normal,
    Random,
    Sequential,
    WillNeed,
    DontNeed,
}

impl From<Advice> for memmap_core::Advice {
    fn from(advice: Advice) -> memmap_core::Advice {
        match advice {
            Advice::Normal => memmap_core::Advice::Normal,
            Advice::Random => memmap_core::Advice::Random,
            Advice::Sequential => memmap_core::Advice::Sequential,
            Advice::WillNeed => memmap_core::Advice::WillNeed,
            Advice::DontNeed => memmap_core::Advice::DontNeed,
        }
    }
}

/// Every code an error from this binding can carry (`error.code`): each
/// core failure kind's and the binding's own.
#[napi]
pub fn error_codes() -> Vec<&'static str> {
    errors::error_codes()
}

/// Test hook: makes every new buffer act as if the runtime refused external
/// ArrayBuffers (`napi_no_external_buffers_allowed`).
#[napi]
pub fn simulate_external_buffer_refusal(on: bool) {
    buffers::REFUSE_EXTERNAL_BUFFERS.store(on, Ordering::Relaxed);
}

/// Whether this runtime refuses external ArrayBuffers (Electron), so that no
/// zero-copy view of a map can exist (or the test hook says so).
#[napi]
pub fn refuses_external_buffers(env: Env) -> bool {
    buffers::refuses_external_buffers(&env)
}

/// How many mappings this process holds (closed ones whose address is still
/// kept for a buffer included), and the most it may hold.
#[napi]
pub fn live_maps() -> Vec<u32> {
    vec![
        memmap_core::live_mappings() as u32,
        memmap_core::max_live_mappings() as u32,
    ]
}

/// Opens and maps a file (a path or a caller's descriptor) as numpy.memmap
/// would for `mode`, and returns its handle: an integer below 2^52 that no
/// later map in this thread is ever given. `byteLength` absent means the rest
/// of the file, in whole `itemSize` items. `owner`, the object that stands for
/// the map in JavaScript, releases it if collected without `close()`.
// Flat arguments, not an options object: this is the open + close hot path.
#[allow(clippy::too_many_arguments)]
#[napi]
pub fn open(
    env: Env,
    owner: Object,
    file: Either3<String, i32, Buffer>,
    mode: Mode,
    offset: f64,
    byte_length: Option<f64>,
    item_size: f64,
    chunk_bytes: f64,
    extra: Option<OpenExtra>,
) -> Result<Handle> {
    let source = match file {
        Either3::A(path) => Source::Path(path.into()),
        Either3::B(fd) => Source::Fd(fd),
        Either3::C(bytes) => Source::Path(path_from_bytes(&bytes)?),
    };
    let offset = to_usize(offset, "offset")? as u64;
    let length = match byte_length {
        Some(n) => Length::Exact(to_usize(n, "byteLength")? as u64),
        None => Length::RestOfFile {
            item_size: to_usize(item_size, "itemSize")? as u64,
        },
    };
    let chunk_bytes = to_usize(chunk_bytes, "chunkBytes")?.max(1);
    let mut options = OpenOptions::new(mode.into(), length);
    options.offset(offset);
    if let Some(extra) = &extra {
        if let Some(prefix) = &extra.prefix {
            options.prefix(prefix);
        }
        if extra.never_grow == Some(true) {
            options.never_grow();
        }
        if let Some(id) = &extra.file_id {
            options.expect_file(id.parse().map_err(to_js_error)?);
        }
        if extra.sparse == Some(true) {
            options.sparse(true);
        }
    }
    let mapping = options.open(source).map_err(to_js_error)?;
    buffers::register(&env, &owner, mapping, chunk_bytes)
}

/// Mapped bytes.
#[napi]
pub fn byte_length(handle: Handle) -> Result<f64> {
    with_map(handle, |map| Ok(map.mapping.len() as f64))
}

/// The ArrayBuffer over chunk `index` (bytes `index * chunkBytes` onward),
/// created on first use: creating it at open would make V8 count the whole map
/// as allocated memory and collect garbage for nothing.
#[napi(ts_return_type = "ArrayBuffer")]
pub fn buffer(env: Env, handle: Handle, index: u32) -> Result<ArrayBufferValue> {
    buffers::buffer(&env, handle, index)
}

/// Copies the bytes at byte `start` into `target` (one element's worth, a
/// scratch buffer the caller reuses): a read that creates no ArrayBuffer over
/// the whole chunk and allocates nothing.
#[napi]
pub fn peek(handle: Handle, start: f64, mut target: BufferSlice) -> Result<()> {
    let start = to_usize(start, "start")?;
    with_map(handle, |map| {
        map.mapping.read_into(start, target.as_mut()).map_err(to_js_error)
    })
}

/// Writes `bytes` (one element) at byte `start`.
#[napi]
pub fn poke(handle: Handle, start: f64, bytes: BufferSlice) -> Result<()> {
    let start = to_usize(start, "start")?;
    with_map(handle, |map| map.mapping.write_from(start, &bytes).map_err(to_js_error))
}

/// `msync` of a byte range, then `fdatasync` if the map grew the file.
#[napi]
pub fn flush(handle: Handle, start: f64, len: f64) -> Result<()> {
    let (start, len) = (to_usize(start, "start")?, to_usize(len, "length")?);
    mapping_of(handle)?.flush_range(start, len).map_err(to_js_error)
}

/// The same flush on the library's threads. It holds the mapping until it
/// ends; it rejects with ERR_MEMMAP_CLOSED if `close()` came first (close
/// flushed).
#[napi(ts_return_type = "Promise<void>")]
pub fn flush_async(env: &Env, handle: Handle, start: f64, len: f64) -> Result<Object<'_>> {
    let (start, len) = (to_usize(start, "start")?, to_usize(len, "length")?);
    pool::spawn(env, FlushTask::new(mapping_of(handle)?, start, len))
}

/// `madvise` of a byte range.
#[napi]
pub fn advise(handle: Handle, advice: Advice, start: f64, len: f64) -> Result<()> {
    let (start, len) = (to_usize(start, "start")?, to_usize(len, "length")?);
    mapping_of(handle)?
        .advise_range(advice.into(), start, len)
        .map_err(to_js_error)
}

/// Flushes, detaches every ArrayBuffer handed out, and releases the file and
/// the handle (and `owner`'s hold on it). The address range stays backed by
/// zero pages while any buffer object or backing store handed out, or a task,
/// may still use it. A handle that names no map is a no-op.
#[napi]
pub fn close(env: Env, owner: Object, handle: Handle) -> Result<()> {
    buffers::close(&env, &owner, handle)
}

/// `close()` with the flush and the release of the file on the library's
/// threads: the handle is released and every buffer detached now, on this
/// thread; the Promise settles when the flush is done (rejecting with its
/// failure; the map is closed either way). A handle that names no map resolves.
#[napi(ts_return_type = "Promise<void>")]
pub fn close_async<'env>(env: &'env Env, owner: Object, handle: Handle) -> Result<Object<'env>> {
    match buffers::detach(env, &owner, handle) {
        Some(closing) => pool::spawn(env, CloseTask::new(closing)),
        None => pool::spawn(env, CloseTask::none()),
    }
}

/// A view's geometry for block copies: element 0 at `byteOffset`, `shape`,
/// byte `strides`, elements of `itemSize` bytes.
#[napi(object)]
pub struct BlockView {
    pub byte_offset: f64,
    pub shape: Vec<f64>,
    pub strides: Vec<f64>,
    pub item_size: f64,
}

impl BlockView {
    fn block(&self) -> Result<Block> {
        Ok(Block {
            byte_offset: to_usize(self.byte_offset, "byteOffset")?,
            shape: self
                .shape
                .iter()
                .map(|&d| to_usize(d, "shape"))
                .collect::<Result<_>>()?,
            strides: self
                .strides
                .iter()
                .map(|&s| to_isize(s, "stride"))
                .collect::<Result<_>>()?,
            item_size: to_usize(self.item_size, "itemSize")?,
        })
    }
}

/// Copies elements `first..` of `view`, in C order, into `target` (as many
/// whole elements as it holds): one call for any number of elements of any
/// strided view.
#[napi]
pub fn read_elements(handle: Handle, view: BlockView, first: f64, mut target: BufferSlice) -> Result<()> {
    let first = to_usize(first, "first")?;
    elements::read(handle, &view.block()?, first, target.as_mut())
}

/// Copies `source` (whole elements) into elements `first..` of `view`, in C order.
#[napi]
pub fn write_elements(handle: Handle, view: BlockView, first: f64, source: BufferSlice) -> Result<()> {
    let first = to_usize(first, "first")?;
    elements::write(handle, &view.block()?, first, &source)
}

/// Writes `pattern` (one element's bytes) into every element of `view`.
#[napi]
pub fn fill_elements(handle: Handle, view: BlockView, pattern: BufferSlice) -> Result<()> {
    elements::fill(handle, &view.block()?, &pattern)
}

/// Parks the library's threads until `releaseThreads()`: for tests that
/// need queued async work not to start yet (pool.rs). Not part of the API.
#[napi]
pub fn hold_threads() {
    pool::hold();
}

/// Lets the threads `holdThreads()` parked go.
#[napi]
pub fn release_threads() {
    pool::release();
}

/// Registers `scratch` as a buffer `peekScratch`/`pokeScratch` copy single
/// elements through, and returns the slot they take; the slot empties when
/// the ArrayBuffer is collected.
#[napi]
pub fn use_scratch(env: Env, scratch: Object) -> Result<u32> {
    elements::use_scratch(&env, &scratch)
}

/// Adds the plain Node-API functions (`peekScratch`, `pokeScratch`) that
/// `#[napi]` cannot make as cheaply (elements.rs).
#[napi(module_exports)]
pub fn init(exports: Object, env: Env) -> napi::Result<()> {
    elements::register(&env, &exports)
}

/// `sum`, `min` or `max` of a strided view (numpy's reductions); `null` for
/// min/max of an empty view.
#[napi]
pub fn reduce(handle: Handle, request: ReduceRequest) -> Result<Option<ReduceValue>> {
    ReduceTask::new(mapping_of(handle)?, request)?.run()
}

/// The same reduction on the library's threads; the task holds the mapping,
/// and rejects with ERR_MEMMAP_CLOSED if `close()` came before it ended.
#[napi(ts_return_type = "Promise<ReduceValue | null>")]
pub fn reduce_async(env: &Env, handle: Handle, request: ReduceRequest) -> Result<Object<'_>> {
    pool::spawn(env, ReduceTask::new(mapping_of(handle)?, request)?)
}

// ----- The file a map names, and what only this package's own callers ask of
// `open` (the core's open transaction: issue 11, items 4-8). -----

/// What `open` takes beyond numpy's arguments, from this package's own callers.
#[napi(object)]
pub struct OpenExtra {
    /// Bytes written at the start of the file when a `w+` open commits (a
    /// `.npy` header; the data starts at `offset`), so a failure never leaves
    /// the header without the data.
    pub prefix: Option<Buffer>,
    /// Refuse to extend the file (`fromDescriptor`): a shorter file is
    /// ERR_MEMMAP_FILE_TOO_SHORT.
    pub never_grow: Option<bool>,
    /// The identity (`device:inode`) the file must have (`fromDescriptor`):
    /// another file at the path is ERR_MEMMAP_FILE_REPLACED.
    pub file_id: Option<String>,
    /// Extend the file without reserving blocks (numpy's way).
    pub sparse: Option<bool>,
}

/// Makes the map `handle` names `byteLength` bytes long, the file with it
/// (see the core's `Mapping::resize`). `fill`: the new bytes (an append),
/// exactly the growth in length; absent: zeros. `header`: written at the
/// start of the file after the data (before a cut), a `.npy` header.
/// `sparse`: grow without reserving blocks. `headerNow` (a `.npy`'s header
/// as the map last read or wrote it): bytes past the array's end belong to
/// nothing while the file still starts with it, so they are overwritten or
/// cut; absent (a raw array), or another header on disk (another writer's
/// rows), their presence is ERR_MEMMAP_NOT_AT_END. `sync`:
/// `fdatasync` between the data and the header, and after it. Buffers that
/// reach past a smaller end are detached; the others stay valid, and chunks
/// that changed get new buffers on next use.
// Flat arguments, not an options object: append() in a loop calls this.
#[allow(clippy::too_many_arguments)]
#[napi]
pub fn resize(
    env: Env,
    handle: Handle,
    byte_length: f64,
    fill: Option<BufferSlice>,
    header: Option<BufferSlice>,
    sparse: bool,
    header_now: Option<BufferSlice>,
    sync: bool,
) -> Result<()> {
    let len = to_usize(byte_length, "byteLength")? as u64;
    let request = memmap_core::Resize {
        len,
        fill: fill.as_deref(),
        header: header.as_deref().unwrap_or(&[]),
        header_now: header_now.as_deref().unwrap_or(&[]),
        sparse,
        past_end: if header_now.is_some() {
            memmap_core::PastEnd::Discard
        } else {
            memmap_core::PastEnd::Refuse
        },
        sync,
        // Both decided in buffers.rs, which knows the buffers.
        held: false,
        tail_in_use: false,
    };
    buffers::resize(&env, handle, request)
}

/// The file a map was opened from.
#[napi(object)]
pub struct MappedFile {
    /// Its path as bytes: the one given, or for a descriptor the one the
    /// kernel gave for our own duplicate at open; null if it had none.
    pub path: Option<Buffer>,
    /// Its identity, `device:inode` (null where the platform has none).
    pub file_id: Option<String>,
}

/// The file the map `handle` names, as it was when it was opened.
#[napi]
pub fn mapped_file(handle: Handle) -> Result<MappedFile> {
    with_map(handle, |map| {
        Ok(MappedFile {
            path: map.mapping.path().map(|path| path_bytes(path).into()),
            file_id: map.mapping.file_id().map(|id| id.to_string()),
        })
    })
}

/// A `Buffer` path as the operating system takes it: bytes on POSIX (a file
/// name need not be UTF-8), UTF-8 elsewhere.
fn path_from_bytes(bytes: &[u8]) -> Result<std::path::PathBuf> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Ok(std::ffi::OsStr::from_bytes(bytes).into())
    }
    #[cfg(not(unix))]
    {
        String::from_utf8(bytes.to_vec())
            .map(Into::into)
            .map_err(|_| errors::coded(errors::Code::InvalidArg, "a Buffer path must be UTF-8 on this platform"))
    }
}

fn path_bytes(path: &std::path::Path) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        path.to_string_lossy().into_owned().into_bytes()
    }
}

// ----- `.npz` archives (issue 17): the CRC-32 of a member written in place. -----

/// The CRC-32 (zlib's, as ZIP stores it) of the mapped bytes
/// `[start, start + len)`, continuing `crc` (0 to start).
#[napi]
pub fn crc32(handle: Handle, start: f64, len: f64, crc: u32) -> Result<u32> {
    let (start, len) = (to_usize(start, "start")?, to_usize(len, "length")?);
    mapping_of(handle)?.crc32(start, len, crc).map_err(to_js_error)
}

// ----- conversions (issue 13): copy() and astype() of any view into a C-order
// buffer (memmap-core's convert.rs). -----

/// A conversion: numpy kind + itemsize codes (`'f4'`, `'b1'`, `'c16'`,
/// `'M8'`) of both sides, and whether each side's bytes are swapped from this
/// machine's order.
#[napi(object)]
pub struct CastSpec {
    pub from: String,
    pub from_swap: bool,
    pub to: String,
    pub to_swap: bool,
}

impl CastSpec {
    fn cast(&self) -> Result<memmap_core::convert::Cast> {
        let kind = |code: &str| {
            memmap_core::Element::parse(code).ok_or_else(|| {
                errors::coded(
                    errors::Code::InvalidArg,
                    format!("no conversion for the element kind {code:?}"),
                )
            })
        };
        Ok(memmap_core::convert::Cast {
            from: kind(&self.from)?,
            from_swap: self.from_swap,
            to: kind(&self.to)?,
            to_swap: self.to_swap,
        })
    }
}

/// Converts elements `first..` of `view` of map `handle` into `target` (as
/// many whole target elements as it holds), in C order: one call for any
/// strided view, large ones on several threads.
#[napi]
pub fn convert_elements(
    handle: Handle,
    view: BlockView,
    first: f64,
    cast: CastSpec,
    mut target: BufferSlice,
) -> Result<()> {
    let first = to_usize(first, "first")?;
    let block = view.block()?;
    mapping_of(handle)?
        .convert_elements(&block.elements(), first, &cast.cast()?, target.as_mut())
        .map_err(to_js_error)
}

/// The same over the bytes of an in-memory array (`source`).
#[napi]
pub fn convert_buffer(
    source: BufferSlice,
    view: BlockView,
    first: f64,
    cast: CastSpec,
    mut target: BufferSlice,
) -> Result<()> {
    let first = to_usize(first, "first")?;
    let block = view.block()?;
    memmap_core::convert::convert_view(&source, &block.elements(), first, &cast.cast()?, target.as_mut())
        .map_err(to_js_error)
}

// ----- reductions (issue 13): numpy's reductions along axes, `where`,
// `initial`, `ddof`, over a map or JavaScript bytes, sync and async. -----

/// The reduction `request` describes over the map `handle` names, on this
/// thread, into `target`: the result's bytes (numpy's result dtype, native
/// byte order, C order over the kept axes), zero on entry. JavaScript
/// allocates it: V8 frees it as any ArrayBuffer (an external result would be
/// freed only by a finalizer on a later event-loop turn, so a synchronous
/// loop would hold them all), and a failed allocation is a RangeError there.
#[napi]
pub fn reduce_axes(handle: Handle, request: reductions::AxisReduceRequest, mut target: BufferSlice) -> Result<()> {
    let mapping = mapping_of(handle)?;
    reductions::on_map(&mapping, &request, target.as_mut())
}

/// The same over JavaScript bytes (an in-memory array), read in place.
#[napi]
pub fn reduce_axes_in(
    bytes: BufferSlice,
    request: reductions::AxisReduceRequest,
    mut target: BufferSlice,
) -> Result<()> {
    reductions::on_bytes(&bytes, &request, target.as_mut())
}

/// `reduceAxes` on the library's threads, watched and stopped through
/// `control`; rejects with ERR_MEMMAP_ABORTED when aborted and
/// ERR_MEMMAP_CLOSED when the map closed or shrank before the work ended.
#[napi(ts_return_type = "Promise<Buffer>")]
pub fn reduce_axes_async<'env>(
    env: &'env Env,
    handle: Handle,
    request: reductions::AxisReduceRequest,
    control: &reductions::ReduceControl,
) -> Result<Object<'env>> {
    let task = reductions::AxisReduceTask::on_map(mapping_of(handle)?, &request, control)?;
    pool::spawn(env, task)
}

/// `reduceAxesIn` on the library's threads, over a copy of the bytes the
/// array and its mask reach, made now: JavaScript may detach or write the
/// buffers meanwhile.
#[napi(ts_return_type = "Promise<Buffer>")]
pub fn reduce_axes_in_async<'env>(
    env: &'env Env,
    bytes: BufferSlice,
    request: reductions::AxisReduceRequest,
    control: &reductions::ReduceControl,
) -> Result<Object<'env>> {
    let task = reductions::AxisReduceTask::on_bytes(&bytes, &request, control)?;
    pool::spawn(env, task)
}

//! Node-API adapters over `memmap-core`. This is the only crate that knows
//! napi; every function here is a thin adapter, and the logic lives in the core.
//!
//! What this crate adds is ownership across the JavaScript boundary: each
//! external ArrayBuffer it hands out owns an `Arc<Mapping>` through its
//! finalizer, so no buffer outlives its pages, and `close()` detaches every
//! buffer it created (and only those) before the file is let go.

#![deny(clippy::undocumented_unsafe_blocks)]

use std::cell::RefCell;
use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use memmap_core::{Advice, Element, Length, Mapping, Mode, OpenOptions, Reduction, Scalar, Source, View};
use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;

/// The one place core errors become JavaScript errors. The stable code leads the
/// message (`ERR_MEMMAP_...: text`); the TypeScript layer (`ts/errors.ts`) turns
/// it into the right error class with `error.code` set. The same form works for
/// sync calls and for rejections from the thread pool.
fn to_js_error(err: memmap_core::Error) -> Error {
    coded(err.code(), err.message())
}

fn coded(code: &str, message: impl std::fmt::Display) -> Error {
    Error::new(Status::GenericFailure, format!("{code}: {message}"))
}

/// When set, behave as a runtime that refuses external buffers (Electron's V8
/// sandbox) so the refusal path can be tested without Electron.
static REFUSE_EXTERNAL_BUFFERS: AtomicBool = AtomicBool::new(false);

/// Test hook: makes every new buffer act as if the runtime refused external
/// ArrayBuffers (`napi_no_external_buffers_allowed`).
#[napi]
pub fn simulate_external_buffer_refusal(on: bool) {
    REFUSE_EXTERNAL_BUFFERS.store(on, Ordering::Relaxed);
}

/// How many mappings this process holds, and the most it may hold.
#[napi]
pub fn live_maps() -> Vec<u32> {
    vec![
        memmap_core::live_mappings() as u32,
        memmap_core::max_live_mappings() as u32,
    ]
}

fn to_usize(value: f64, what: &str) -> Result<usize> {
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value <= usize::MAX as f64 {
        Ok(value as usize)
    } else {
        Err(coded(
            "ERR_MEMMAP_INVALID_ARG",
            format!("{what} must be a non-negative integer, got {value}"),
        ))
    }
}

/// A raw `napi_value` known to be an ArrayBuffer, returned as is.
pub struct ArrayBufferValue(sys::napi_value);

impl TypeName for ArrayBufferValue {
    fn type_name() -> &'static str {
        "ArrayBuffer"
    }
    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ToNapiValue for ArrayBufferValue {
    unsafe fn to_napi_value(_env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        Ok(val.0)
    }
}

/// One mapped byte range of a file, as this thread's JavaScript holds it.
struct NativeMap {
    mapping: Arc<Mapping>,
    /// Bytes per ArrayBuffer: the runtime's limit (2^32 on Node 20), so a map
    /// past it is covered by several buffers over disjoint ranges.
    chunk_bytes: usize,
    /// A weak reference to the ArrayBuffer handed out for each chunk, if any:
    /// what `close()` detaches. Never two live buffers over the same bytes.
    buffers: Vec<Option<sys::napi_ref>>,
}

/// The maps this thread's JavaScript holds, by handle: a plain number that
/// JavaScript passes back to every call. A JavaScript object per map (a napi
/// class) cost more than the mmap itself (napi_new_instance, napi_wrap, a type
/// tag, napi-rs's reference map), and open + close is a measured target. Every
/// call checks its handle, so a stale or forged number names no map (or a live
/// one): never freed memory.
///
/// A handle is `slot | generation << 20`; the slot's generation moves on each
/// time it is freed, so a handle kept past `close()` does not name the next map
/// in that slot. Thread-local because each worker thread is its own JavaScript
/// realm with its own maps.
#[derive(Default)]
struct Handles {
    slots: Vec<Slot>,
    free: Vec<u32>,
}

#[derive(Default)]
struct Slot {
    generation: u32,
    map: Option<NativeMap>,
}

const SLOT_BITS: u32 = 20;
const SLOT_MASK: u32 = (1 << SLOT_BITS) - 1;

thread_local! {
    static HANDLES: RefCell<Handles> = RefCell::new(Handles::default());
}

impl Handles {
    fn insert(&mut self, map: NativeMap) -> Result<u32> {
        let index = match self.free.pop() {
            Some(index) => index,
            None if self.slots.len() <= SLOT_MASK as usize => {
                self.slots.push(Slot::default());
                (self.slots.len() - 1) as u32
            }
            None => {
                return Err(coded(
                    "ERR_MEMMAP_TOO_MANY_MAPS",
                    format!(
                        "{} maps are open in this thread, the most allowed is {SLOT_MASK}",
                        self.slots.len()
                    ),
                ))
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.map = Some(map);
        Ok(index | slot.generation << SLOT_BITS)
    }

    fn slot(&mut self, handle: u32) -> Option<&mut Slot> {
        let slot = self.slots.get_mut((handle & SLOT_MASK) as usize)?;
        (slot.generation == handle >> SLOT_BITS).then_some(slot)
    }

    fn get(&mut self, handle: u32) -> Option<&mut NativeMap> {
        self.slot(handle)?.map.as_mut()
    }

    fn remove(&mut self, handle: u32) -> Option<NativeMap> {
        let slot = self.slot(handle)?;
        let map = slot.map.take()?;
        slot.generation = (slot.generation + 1) & (u32::MAX >> SLOT_BITS);
        self.free.push(handle & SLOT_MASK);
        Some(map)
    }
}

fn closed_error() -> Error {
    coded("ERR_MEMMAP_CLOSED", "the memmap is closed")
}

/// Runs `f` on the map `handle` names; ERR_MEMMAP_CLOSED if it names none.
fn with_map<R>(handle: u32, f: impl FnOnce(&mut NativeMap) -> Result<R>) -> Result<R> {
    HANDLES.with_borrow_mut(|handles| f(handles.get(handle).ok_or_else(closed_error)?))
}

/// A share of the mapping `handle` names, for a call that outlives the borrow.
fn mapping_of(handle: u32) -> Result<Arc<Mapping>> {
    with_map(handle, |map| Ok(map.mapping.clone()))
}

/// Finalizer of every external ArrayBuffer: lets go of the buffer's share of
/// the mapping, which is unmapped when the last share goes.
unsafe extern "C" fn release_share(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
    // SAFETY: `hint` is the `Box<Arc<Mapping>>` leaked in `buffer()` for this
    // buffer alone, and Node-API calls a finalizer exactly once.
    drop(unsafe { Box::from_raw(hint.cast::<Arc<Mapping>>()) });
}

/// Opens and maps a file (a path or a caller's descriptor) as numpy.memmap
/// would for `mode`, and returns its handle. `byteLength` absent means the rest
/// of the file, in whole `itemSize` items. `owner`, the object that stands for
/// the map in JavaScript, releases it if collected without `close()`.
// Flat arguments, not an options object: this is the open + close hot path.
#[allow(clippy::too_many_arguments)]
#[napi]
pub fn open(
    env: Env,
    owner: Object,
    file: Either3<String, i32, Buffer>,
    mode: String,
    offset: f64,
    byte_length: Option<f64>,
    item_size: f64,
    chunk_bytes: f64,
    extra: Option<OpenExtra>,
) -> Result<u32> {
    let mode = Mode::parse(&mode).ok_or_else(|| {
        coded(
            "ERR_MEMMAP_INVALID_MODE",
            format!("mode must be one of r, r+, w+, c; got '{mode}'"),
        )
    })?;
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
    let mut options = OpenOptions::new(mode, length);
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
    }
    let mapping = options.open(source).map_err(to_js_error)?;
    let chunks = mapping.len().div_ceil(chunk_bytes);
    let map = NativeMap {
        mapping: Arc::new(mapping),
        chunk_bytes,
        buffers: vec![None; chunks],
    };
    let handle = HANDLES.with_borrow_mut(|handles| handles.insert(map))?;
    // The map is released when `owner` is collected, unless `close()` comes first.
    // SAFETY: `owner` is a live object of this env, the data is the handle as a
    // number (nothing to free), and no wrap is asked back (`result` null).
    let status = unsafe {
        sys::napi_wrap(
            env.raw(),
            owner.raw(),
            handle as usize as *mut c_void,
            Some(release_collected),
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    if status != sys::Status::napi_ok {
        let _ = close(env, owner, handle);
        return Err(coded(
            "ERR_MEMMAP_INVALID_ARG",
            format!("owner cannot hold a map (napi status {status})"),
        ));
    }
    Ok(handle)
}

/// Finalizer of an owner collected without `close()`: lets go of its map.
/// Never panics (a panic here would abort the process): at a worker's teardown
/// the table may be gone already, and then the map goes with it.
unsafe extern "C" fn release_collected(env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    let handle = data as usize as u32;
    let map = HANDLES
        .try_with(|handles| {
            handles
                .try_borrow_mut()
                .ok()
                .and_then(|mut handles| handles.remove(handle))
        })
        .ok()
        .flatten();
    if let Some(map) = map {
        drop_references(env, map.buffers, false);
    }
}

/// Mapped bytes.
#[napi]
pub fn byte_length(handle: u32) -> Result<f64> {
    with_map(handle, |map| Ok(map.mapping.len() as f64))
}

/// The ArrayBuffer over chunk `index` (bytes `index * chunkBytes` onward),
/// created on first use: creating it at open would make V8 count the whole map
/// as allocated memory and collect garbage for nothing.
#[napi(ts_return_type = "ArrayBuffer")]
pub fn buffer(env: Env, handle: u32, index: u32) -> Result<ArrayBufferValue> {
    let raw_env = env.raw();
    let index = index as usize;
    // The table is not borrowed across Node-API calls, which may run finalizers.
    let (mapping, chunk_bytes, existing) = with_map(handle, |map| match map.buffers.get_mut(index) {
        Some(slot) => Ok((map.mapping.clone(), map.chunk_bytes, slot.take())),
        None => Err(coded(
            "ERR_MEMMAP_INVALID_ARG",
            format!("chunk {index} is past the end of the map"),
        )),
    })?;
    let keep = |reference: sys::napi_ref| {
        let _ = with_map(handle, |map| {
            map.buffers[index] = Some(reference);
            Ok(())
        });
    };
    if let Some(reference) = existing {
        let mut value = ptr::null_mut();
        // SAFETY: `reference` was created by this map in `raw_env`'s realm and
        // not yet deleted.
        let status = unsafe { sys::napi_get_reference_value(raw_env, reference, &mut value) };
        if status == sys::Status::napi_ok && !value.is_null() {
            keep(reference);
            return Ok(ArrayBufferValue(value));
        }
        // Collected: drop the stale reference and make a new buffer.
        // SAFETY: as above; the reference is deleted once, here.
        unsafe { sys::napi_delete_reference(raw_env, reference) };
    }
    let start = index * chunk_bytes;
    let len = (mapping.len() - start).min(chunk_bytes);
    // SAFETY: `start` is within the mapping (index < number of chunks).
    let data = unsafe { mapping.as_ptr().add(start) };
    let hint = Box::into_raw(Box::new(mapping));
    let mut value = ptr::null_mut();
    let status = if REFUSE_EXTERNAL_BUFFERS.load(Ordering::Relaxed) {
        sys::Status::napi_no_external_buffers_allowed
    } else {
        // SAFETY: `data..data+len` stays mapped for as long as `hint` (an
        // `Arc<Mapping>`) lives, and the finalizer drops `hint` exactly once.
        // The raw call is used instead of napi-rs's `from_external`, which on
        // refusal silently copies and runs the finalizer at once.
        unsafe {
            sys::napi_create_external_arraybuffer(
                raw_env,
                data.cast(),
                len,
                Some(release_share),
                hint.cast(),
                &mut value,
            )
        }
    };
    if status == sys::Status::napi_no_external_buffers_allowed {
        // Refused before anything was created: the finalizer never runs.
        // SAFETY: `hint` came from Box::into_raw above and was not handed on.
        drop(unsafe { Box::from_raw(hint) });
        return Err(coded(
            "ERR_MEMMAP_EXTERNAL_BUFFERS_REFUSED",
            "this runtime refuses external ArrayBuffers (Electron's V8 memory cage), so a mapping \
             cannot be shown to JavaScript without copying: run memmap in Node.js proper (for \
             Electron, in the main process with a Node build without the sandbox, or a utility process)",
        ));
    }
    if status != sys::Status::napi_ok {
        // Whether the runtime ran the finalizer is unknown here (Node runs it
        // before failing with ERR_BUFFER_TOO_LARGE), so `hint` is left alone:
        // a leaked share is safe, a double free is not.
        return Err(coded(
            "ERR_MEMMAP_BUFFER_FAILED",
            format!("the runtime refused a {len}-byte external ArrayBuffer (napi status {status})"),
        ));
    }
    let mut reference = ptr::null_mut();
    // SAFETY: `value` is the ArrayBuffer just created in this env; a weak
    // (count 0) reference does not keep it alive.
    let status = unsafe { sys::napi_create_reference(raw_env, value, 0, &mut reference) };
    if status == sys::Status::napi_ok {
        keep(reference);
    }
    Ok(ArrayBufferValue(value))
}

/// Copies the bytes at byte `start` into `target` (one element's worth, a
/// scratch buffer the caller reuses): a read that creates no ArrayBuffer over
/// the whole chunk and allocates nothing.
#[napi]
pub fn peek(handle: u32, start: f64, mut target: BufferSlice) -> Result<()> {
    with_map(handle, |map| {
        map.mapping
            .read_into(to_usize(start, "start")?, target.as_mut())
            .map_err(to_js_error)
    })
}

/// Writes `bytes` (one element) at byte `start`.
#[napi]
pub fn poke(handle: u32, start: f64, bytes: BufferSlice) -> Result<()> {
    with_map(handle, |map| {
        map.mapping
            .write_from(to_usize(start, "start")?, &bytes)
            .map_err(to_js_error)
    })
}

/// `msync` of a byte range, then `fdatasync` if the map grew the file.
#[napi]
pub fn flush(handle: u32, start: f64, len: f64) -> Result<()> {
    let (start, len) = (to_usize(start, "start")?, to_usize(len, "length")?);
    mapping_of(handle)?.flush_range(start, len).map_err(to_js_error)
}

/// The same flush on the thread pool. The task holds the mapping until it
/// ends, so `close()` meanwhile cannot pull the pages from under it.
#[napi(ts_return_type = "Promise<void>")]
pub fn flush_async(handle: u32, start: f64, len: f64) -> Result<AsyncTask<FlushTask>> {
    let (start, len) = (to_usize(start, "start")?, to_usize(len, "length")?);
    Ok(AsyncTask::new(FlushTask {
        mapping: mapping_of(handle)?,
        start,
        len,
    }))
}

/// `madvise` of a byte range.
#[napi]
pub fn advise(handle: u32, advice: String, start: f64, len: f64) -> Result<()> {
    let parsed = Advice::parse(&advice).ok_or_else(|| {
        coded(
            "ERR_MEMMAP_INVALID_ADVICE",
            format!("advice must be one of normal, random, sequential, willneed, dontneed; got '{advice}'"),
        )
    })?;
    let (start, len) = (to_usize(start, "start")?, to_usize(len, "length")?);
    mapping_of(handle)?
        .advise_range(parsed, start, len)
        .map_err(to_js_error)
}

/// Flushes, detaches every ArrayBuffer handed out, and releases the file and
/// the handle (and `owner`'s hold on it). Pages a buffer's backing store may
/// still point at (a Node-API async operation that captured a view) are
/// swapped for zero pages until that buffer is collected. A handle that names
/// no map is a no-op.
#[napi]
pub fn close(env: Env, owner: Object, handle: u32) -> Result<()> {
    let mut wrapped = ptr::null_mut();
    // SAFETY: `owner` is a live object of this env; removing its wrap cancels
    // `release_collected`, whose data (a number) needs no freeing. An owner
    // without a wrap is left as is (the call fails harmlessly).
    unsafe { sys::napi_remove_wrap(env.raw(), owner.raw(), &mut wrapped) };
    let Some(map) = HANDLES.with_borrow_mut(|handles| handles.remove(handle)) else {
        return Ok(());
    };
    drop_references(env.raw(), map.buffers, true);
    // Only this handle holds the mapping when no buffer or task does.
    let shared = Arc::strong_count(&map.mapping) > 1;
    // Flushes once (msync costs ~70 us even for clean pages on ext4), then
    // lets go of the file.
    map.mapping.close_keeping_address(shared).map_err(to_js_error)
}

/// `sum`, `min` or `max` of a strided view (numpy's reductions); `null` for
/// min/max of an empty view.
#[napi]
pub fn reduce(handle: u32, request: ReduceRequest) -> Result<Option<ReduceResult>> {
    ReduceTask::new(mapping_of(handle)?, request)?.run()
}

/// The same reduction on the thread pool; the task holds the mapping.
#[napi(ts_return_type = "Promise<ReduceResult | null>")]
pub fn reduce_async(handle: u32, request: ReduceRequest) -> Result<AsyncTask<ReduceTask>> {
    Ok(AsyncTask::new(ReduceTask::new(mapping_of(handle)?, request)?))
}

fn drop_references(env: sys::napi_env, buffers: Vec<Option<sys::napi_ref>>, detach: bool) {
    for reference in buffers.into_iter().flatten() {
        let mut value = ptr::null_mut();
        // SAFETY: `reference` belongs to this map and `env`; it is read and
        // then deleted exactly once. Only buffers this map created are
        // detached (napi would detach any ArrayBuffer, even Node's pool).
        unsafe {
            if detach
                && sys::napi_get_reference_value(env, reference, &mut value) == sys::Status::napi_ok
                && !value.is_null()
            {
                sys::napi_detach_arraybuffer(env, value);
            }
            sys::napi_delete_reference(env, reference);
        }
    }
}

pub struct FlushTask {
    mapping: Arc<Mapping>,
    start: usize,
    len: usize,
}

impl Task for FlushTask {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> Result<()> {
        self.mapping
            .flush_range_in_background(self.start, self.len)
            .map_err(to_js_error)
    }

    fn resolve(&mut self, _env: Env, _output: ()) -> Result<()> {
        Ok(())
    }
}

/// What to reduce: the op, numpy's kind+size code, byte order, and the view.
#[napi(object)]
pub struct ReduceRequest {
    pub op: String,
    pub element: String,
    pub little_endian: bool,
    pub byte_offset: f64,
    pub shape: Vec<f64>,
    pub strides: Vec<f64>,
}

/// A reduction's value: `int` (a decimal string, for 64-bit exactness),
/// `float`, or `float` + `imag` for complex; `bool` for bool min/max.
#[napi(object)]
pub struct ReduceResult {
    pub kind: String,
    pub int: Option<String>,
    pub float: Option<f64>,
    pub imag: Option<f64>,
    pub bool: Option<bool>,
}

pub struct ReduceTask {
    mapping: Arc<Mapping>,
    element: Element,
    little_endian: bool,
    op: Reduction,
    view: View,
}

impl ReduceTask {
    fn new(mapping: Arc<Mapping>, request: ReduceRequest) -> Result<ReduceTask> {
        let op = match request.op.as_str() {
            "sum" => Reduction::Sum,
            "fsum" => Reduction::FloatSum,
            "min" => Reduction::Min,
            "max" => Reduction::Max,
            other => return Err(coded("ERR_MEMMAP_INVALID_ARG", format!("unknown reduction '{other}'"))),
        };
        let element = Element::parse(&request.element).ok_or_else(|| {
            coded(
                "ERR_MEMMAP_INVALID_DTYPE",
                format!("no reduction for dtype '{}'", request.element),
            )
        })?;
        let shape = request
            .shape
            .iter()
            .map(|&d| to_usize(d, "shape"))
            .collect::<Result<Vec<_>>>()?;
        let strides = request
            .strides
            .iter()
            .map(|&s| {
                if s.is_finite() && s.fract() == 0.0 && s.abs() <= isize::MAX as f64 {
                    Ok(s as isize)
                } else {
                    Err(coded("ERR_MEMMAP_INVALID_ARG", format!("stride {s} is not an integer")))
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let view = View {
            byte_offset: to_usize(request.byte_offset, "byteOffset")?,
            shape,
            strides,
        };
        Ok(ReduceTask {
            mapping,
            element,
            little_endian: request.little_endian,
            op,
            view,
        })
    }

    fn run(&self) -> Result<Option<ReduceResult>> {
        let value = self
            .mapping
            .reduce(self.element, self.little_endian, &self.view, self.op)
            .map_err(to_js_error)?;
        Ok(value.map(|scalar| {
            let mut out = ReduceResult {
                kind: String::new(),
                int: None,
                float: None,
                imag: None,
                bool: None,
            };
            match scalar {
                Scalar::Bool(b) => (out.kind, out.bool) = ("bool".into(), Some(b)),
                Scalar::Int(i) => (out.kind, out.int) = ("int".into(), Some(i.to_string())),
                Scalar::UInt(u) => (out.kind, out.int) = ("int".into(), Some(u.to_string())),
                Scalar::Float(f) => (out.kind, out.float) = ("float".into(), Some(f)),
                Scalar::Complex(re, im) => (out.kind, out.float, out.imag) = ("complex".into(), Some(re), Some(im)),
            }
            out
        }))
    }
}

impl Task for ReduceTask {
    type Output = Option<ReduceResult>;
    type JsValue = Option<ReduceResult>;

    fn compute(&mut self) -> Result<Self::Output> {
        self.run()
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(output)
    }
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
pub fn mapped_file(handle: u32) -> Result<MappedFile> {
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
            .map_err(|_| coded("ERR_MEMMAP_INVALID_ARG", "a Buffer path must be UTF-8 on this platform"))
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

//! The mapping core of `memmap`: a byte range of a file mapped into memory the
//! way `numpy.memmap` maps it, on top of [`memmap2`]. Plain Rust, no Node-API:
//! the `memmap-node` crate is the only one that knows about JavaScript.
//!
//! # The hazard of file-backed maps
//!
//! The bytes of a [`Mapping`] are shared with the file and, through the binding,
//! with JavaScript, which reads and writes them at any time. This crate therefore
//! never creates a Rust reference (`&[u8]`) into the mapping: it hands out a raw
//! pointer and a length, and every access happens on the other side.
//!
//! # Examples
//!
//! ```
//! use memmap_core::{Length, Mapping, Mode, Source};
//! let dir = std::env::temp_dir().join(format!("memmap-core-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("a.dat");
//! let map = Mapping::open(Source::Path(path.clone()), Mode::Create, 16, Length::Exact(8)).unwrap();
//! assert_eq!(map.len(), 8);
//! assert_eq!(std::fs::metadata(&path).unwrap().len(), 24); // offset + nbytes, as numpy
//! map.close().unwrap();
//! ```

mod areas;
pub mod convert;
mod copy;
mod crc;
mod error;
mod fault;
mod files;
mod grow;
mod open;
pub mod reduce;
#[cfg(not(unix))]
#[path = "other.rs"]
mod sys;
#[cfg(unix)]
#[path = "unix.rs"]
mod sys;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

pub use copy::Elements;
pub use crc::{crc32, crc32_combine, crc32_raw};
pub use error::{Error, ErrorKind, Result};
pub use grow::{PastEnd, Resize, Resized};
pub use reduce::{Element, Reduction, Scalar, View};

/// What `sys::holes` found in a byte range of a file (both platforms' `sys`).
#[derive(Debug, Default)]
pub(crate) struct Layout {
    /// Ranges with no blocks, reserved or written.
    pub holes: Vec<(u64, u64)>,
    /// Whether `holes` are exactly that (FIEMAP), not a superset (SEEK_HOLE).
    pub exact: bool,
    /// Ranges whose blocks another file shares (FIEMAP's SHARED flag).
    pub shared: Vec<(u64, u64)>,
    /// Ranges kept inside the inode (ext4's `inline_data`), with no block.
    pub inline: Vec<(u64, u64)>,
}

/// From this many bytes, a fresh buffer asks for huge pages ([`zeroed`]),
/// as numpy does for its allocations of 4 MiB or more.
pub(crate) const HUGE_PAGES_BYTES: usize = 4 << 20;

/// `len` zero bytes for results, not yet touched: large ones ask for
/// transparent huge pages first, so that filling them faults 2 MiB at a time
/// rather than 4 KiB (most of the cost of a reduction along a short last
/// axis, whose output is a quarter of its input or more).
///
/// # Errors
///
/// [`ErrorKind::TooLarge`] when the memory cannot be had: an error, where a
/// failed `vec!` would abort the process.
pub fn zeroed(len: usize) -> Result<Vec<u8>> {
    let mut out = if len == 0 {
        Vec::new()
    } else {
        let layout = std::alloc::Layout::array::<u8>(len).map_err(|_| no_memory(len))?;
        // SAFETY: `layout` has a nonzero size. calloc: a large allocation is
        // fresh mapped memory, zero and untouched.
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        if ptr.is_null() {
            return Err(no_memory(len));
        }
        // SAFETY: `ptr` is `len` zero (initialised) bytes from the global
        // allocator with `u8`'s layout: a Vec's own.
        unsafe { Vec::from_raw_parts(ptr, len, len) }
    };
    huge_pages(&mut out);
    Ok(out)
}

/// A copy of `bytes` in new memory, or [`ErrorKind::TooLarge`] (never an abort).
pub fn copied(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    out.try_reserve_exact(bytes.len()).map_err(|_| no_memory(bytes.len()))?;
    out.extend_from_slice(bytes);
    Ok(out)
}

fn no_memory(len: usize) -> Error {
    Error::new(
        ErrorKind::TooLarge,
        format!("{len} bytes could not be allocated in memory"),
    )
}

/// Asks for transparent huge pages under fresh, untouched memory of 4 MiB or
/// more (as [`zeroed`] does), such as a new JavaScript ArrayBuffer's. Advice
/// only: the contents do not change.
pub fn huge_pages(buf: &mut [u8]) {
    if buf.len() >= HUGE_PAGES_BYTES {
        sys::huge_pages(buf);
    }
}

/// Runs work at low thread priority (Linux: nice 10 for this thread), for
/// threads that must yield the CPU to the event loop.
pub use sys::with_low_priority;

use areas::Runs;
use grow::Region;

/// numpy's four modes. numpy's spellings are parsed once, in TypeScript; from
/// there on, what a map may do follows from this type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `'r'`: an existing file, never changed. Mapped privately (copy-on-write)
    /// so that a stray write through a JavaScript view lands in private memory
    /// instead of faulting on a read-only page or reaching the file.
    ReadOnly,
    /// `'r+'`: an existing file, read and written in place; extended if short.
    ReadWrite,
    /// `'w+'`: by path, the file is created or overwritten (as numpy's
    /// `open(path, 'w+b')` truncates it) and sized to `offset + nbytes`,
    /// reading as zeros; by descriptor, as `r+` (numpy never truncates a file
    /// object it is given: it only extends it).
    Create,
    /// `'c'`: copy-on-write; writes stay in private memory, the file never changes.
    CopyOnWrite,
}

impl Mode {
    /// Whether the file itself may change (and so be opened for writing).
    pub fn writes_file(self) -> bool {
        matches!(self, Mode::ReadWrite | Mode::Create)
    }

    fn numpy_name(self) -> &'static str {
        match self {
            Mode::ReadOnly => "r",
            Mode::ReadWrite => "r+",
            Mode::Create => "w+",
            Mode::CopyOnWrite => "c",
        }
    }
}

/// Where the bytes come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A path, as bytes on POSIX (`PathBuf` holds any bytes but NUL).
    Path(PathBuf),
    /// A caller's open file descriptor. It is duplicated, never closed.
    Fd(i32),
}

/// How many bytes to map after the offset.
#[derive(Debug, Clone, Copy)]
pub enum Length {
    /// Exactly this many bytes (numpy: a shape was given).
    Exact(u64),
    /// The rest of the file, which must be a whole number of `item_size` items
    /// (numpy: no shape given).
    RestOfFile { item_size: u64 },
}

/// madvise(2) hints. `DontNeed` on a copy-on-write map drops private writes,
/// as the system call does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advice {
    Normal,
    Random,
    Sequential,
    WillNeed,
    DontNeed,
}

/// Which file: its device and inode, as `fstat` gave them when it was opened.
/// Written `device:inode` (decimal), the form a descriptor carries between
/// processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId {
    pub device: u64,
    pub inode: u64,
}

impl std::fmt::Display for FileId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.device, self.inode)
    }
}

impl std::str::FromStr for FileId {
    type Err = Error;

    fn from_str(text: &str) -> Result<FileId> {
        let parsed = text
            .split_once(':')
            .and_then(|(device, inode)| Some((device.parse().ok()?, inode.parse().ok()?)));
        match parsed {
            Some((device, inode)) => Ok(FileId { device, inode }),
            None => Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("a file identity is 'device:inode' in decimal; got '{text}'"),
            )),
        }
    }
}

/// How to open a [`Mapping`]: numpy's mode and byte range, and what this
/// library adds (a prefix written as part of the commit, a file that may not
/// grow, the identity the file must have). Built with `&mut self` setters, as
/// memmap2's `MmapOptions`.
///
/// # Examples
///
/// ```
/// use memmap_core::{Length, Mode, OpenOptions, Source};
/// let dir = std::env::temp_dir().join(format!("memmap-core-options-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("a.npy");
/// // A 10-byte header, then 6 bytes of data, as one transaction.
/// let map = OpenOptions::new(Mode::Create, Length::Exact(6))
///     .offset(10)
///     .prefix(b"HEADER....")
///     .open(Source::Path(path.clone()))
///     .unwrap();
/// assert_eq!(map.len(), 6);
/// map.close().unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"HEADER....\0\0\0\0\0\0");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct OpenOptions<'a> {
    mode: Mode,
    length: Length,
    offset: u64,
    prefix: &'a [u8],
    may_grow: bool,
    expect: Option<FileId>,
    sparse: bool,
}

impl<'a> OpenOptions<'a> {
    /// `length` bytes (or the rest of the file) in `mode`, from offset 0.
    pub fn new(mode: Mode, length: Length) -> OpenOptions<'a> {
        OpenOptions {
            mode,
            length,
            offset: 0,
            prefix: &[],
            may_grow: true,
            expect: None,
            sparse: false,
        }
    }

    /// Extends the file without reserving its new blocks (numpy's behaviour:
    /// `ftruncate` only). Opening is then as fast as a sparse file is to
    /// make, and takes no disk; but a write into a page whose block the disk
    /// cannot find room for later is SIGBUS, not an error at open.
    pub fn sparse(&mut self, sparse: bool) -> &mut Self {
        self.sparse = sparse;
        self
    }

    /// File offset of the first mapped byte (any offset: memmap2 maps from the
    /// page boundary below it).
    pub fn offset(&mut self, offset: u64) -> &mut Self {
        self.offset = offset;
        self
    }

    /// Bytes written at the start of the file when the open commits (a `.npy`
    /// header), so a failure never leaves them without the data, or the data
    /// without them. Only for `w+` by path, and no longer than the offset.
    pub fn prefix(&mut self, bytes: &'a [u8]) -> &mut Self {
        self.prefix = bytes;
        self
    }

    /// Refuses to extend the file in `r+`/`w+`: a file shorter than
    /// `offset + length` is [`ErrorKind::FileTooShort`] (a map reopened from a
    /// description of bytes that existed).
    pub fn never_grow(&mut self) -> &mut Self {
        self.may_grow = false;
        self
    }

    /// The file opened must be this one ([`ErrorKind::FileReplaced`] if not),
    /// checked before anything changes. Platforms without file identities
    /// (Windows) cannot check.
    pub fn expect_file(&mut self, id: FileId) -> &mut Self {
        self.expect = Some(id);
        self
    }

    /// Opens and maps the file, as a transaction: see [`Mapping::open`].
    ///
    /// # Errors
    ///
    /// As [`Mapping::open`]; also [`ErrorKind::FileReplaced`],
    /// [`ErrorKind::FileTooShort`] (never grow) and
    /// [`ErrorKind::InvalidArgument`] (a prefix that does not fit).
    pub fn open(&self, source: Source) -> Result<Mapping> {
        open::open(source, self)
    }
}

/// How many kernel memory areas (VMAs) this process's maps hold now: one per
/// map, more where madvise split one (including maps closed while a
/// JavaScript buffer still pointed at them, until that buffer is collected).
pub fn live_mappings() -> usize {
    areas::live()
}

/// The most areas maps may hold before [`Mapping::open`] and
/// [`Mapping::advise_range`] fail with [`ErrorKind::TooManyMaps`]: half of
/// `vm.max_map_count`.
pub fn max_live_mappings() -> usize {
    areas::limit()
}

/// A byte range of a file, mapped. Shared by the binding between the JavaScript
/// object and every ArrayBuffer over it (`Arc<Mapping>`), and unmapped when the
/// last of them lets go.
#[derive(Debug)]
pub struct Mapping {
    /// The mapped address range: the current mapping (`None` while the range
    /// is empty), how much of it is the file's, and earlier mappings kept for
    /// addresses JavaScript may still hold (see grow.rs). Shared with the
    /// registry of live maps (files.rs), which reads it to tell this
    /// library's own mappings of a file from another copy's.
    region: Arc<RwLock<Region>>,
    mode: Mode,
    /// Open until `close()`; flush and close serialise on this lock.
    state: Mutex<State>,
    /// Set when opening changed the file's size or blocks (growth, or `w+`
    /// zeroing it): the next flush must make that durable (`fdatasync`), not
    /// only the pages (`msync`).
    needs_sync: AtomicBool,
    /// File offset of the first mapped byte.
    offset: u64,
    /// The file's identity when it was opened (`None` where the platform has none).
    file_id: Option<FileId>,
    /// The path it was opened by, or for a descriptor the path the kernel gave
    /// for our own duplicate of it at open (`None` if it had none).
    path: Option<PathBuf>,
    /// The advice runs of the pages: how many kernel areas this map holds.
    runs: Mutex<Runs>,
    /// Whether [`Mapping::resize`] may change the file's size: opened by path
    /// in `r+`/`w+`, not on a caller's descriptor (whose file the caller
    /// manages) nor reopened from a description (never grows).
    resizable: bool,
    /// How many times the map shrank: a task that read past the new end while
    /// it shrank (reading the placeholder's zeros) refuses its result.
    shrinks: AtomicU64,
    /// Its number among the live maps of its file (files.rs), 0 if untracked.
    registered: u64,
}

/// Whether the map is open, and the file a writable map keeps for `fdatasync`.
/// Read-only and copy-on-write maps let go of their descriptor right after
/// mapping (POSIX: the mapping keeps its own reference to the file), so
/// thousands of them do not exhaust the descriptor limit.
#[derive(Debug)]
struct State {
    open: bool,
    file: Option<File>,
}

impl Mapping {
    /// Opens and maps `length` bytes of `source` starting at byte `offset`
    /// (any offset: memmap2 maps from the page boundary below it), as numpy
    /// does for `mode`. Shorthand for [`OpenOptions`] without extras.
    ///
    /// Opening is a transaction: check, reserve, map, then commit. Every step
    /// before the commit has an undo, so on error every file's bytes and size
    /// and the directory listing are as they were: a file `w+` created is
    /// removed, a file `r+` extended is cut back, the blocks reserved are
    /// given back. `w+` by path gives up the old contents only at the commit,
    /// after the blocks are reserved and the range is mapped, with calls that
    /// need no new space (zeroing the range in place).
    ///
    /// # Errors
    ///
    /// A missing file in `r`/`r+`/`c`, a directory, a FIFO or device, an
    /// empty file, a file too short in `r`/`c`, a rest-of-file that is not a
    /// whole number of items, a range past the address space, a full disk, too
    /// many live maps, or any refusal by the operating system.
    pub fn open(source: Source, mode: Mode, offset: u64, length: Length) -> Result<Mapping> {
        OpenOptions::new(mode, length).offset(offset).open(source)
    }

    /// The first mapped byte (the one at `offset` in the file). Dangling but
    /// non-null for a zero-length mapping.
    pub fn as_ptr(&self) -> *mut u8 {
        self.span().0
    }

    /// The mapped bytes (after `offset`): the array's length in the file.
    pub fn len(&self) -> usize {
        self.span().1
    }

    /// The first byte and the length, read together: a map that grew may have
    /// a new address, and the old one stays valid for its old length (see
    /// grow.rs), so a caller that reads both at once never reads past either.
    pub fn span(&self) -> (*mut u8, usize) {
        self.region().span()
    }

    /// How many times the map shrank so far (see [`Mapping::resize`]).
    pub fn shrinks(&self) -> u64 {
        self.shrinks.load(Ordering::Acquire)
    }

    /// Whether [`Mapping::resize`] may change this map's file.
    pub fn is_resizable(&self) -> bool {
        self.resizable
    }

    fn region(&self) -> std::sync::RwLockReadGuard<'_, Region> {
        self.region.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn region_mut(&self) -> std::sync::RwLockWriteGuard<'_, Region> {
        self.region.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The file's identity when it was opened.
    pub fn file_id(&self) -> Option<FileId> {
        self.file_id
    }

    /// The path of the file as it was opened: the path given, or for a
    /// descriptor the one the kernel knew for our duplicate at open time.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Whether `close()` has run.
    pub fn is_closed(&self) -> bool {
        !self.lock_state().open
    }

    /// Writes the dirty pages of `[start, start + len)` to the file and waits
    /// (`msync(MS_SYNC)`), then makes a size or allocation this map's open
    /// changed durable (`fdatasync`). A no-op for `r` and `c` maps, whose
    /// writes never reach the file, and after `close()`, which flushed already.
    ///
    /// # Errors
    ///
    /// A range outside the map, or the system call's failure (EIO on a bad
    /// disk); the pages stay dirty, so a later flush tries again.
    pub fn flush_range(&self, start: usize, len: usize) -> Result<()> {
        self.check_range(start, len)?;
        let state = self.lock_state();
        let region = self.region();
        let (true, Some(file)) = (state.open, state.file.as_ref()) else {
            return Ok(());
        };
        // Another process may have truncated the file: the pages past its end
        // are gone (touching them is SIGBUS), so say so instead of flushing.
        let end = self.offset + self.len() as u64;
        let size = sys::fstat(file).map_err(|e| Error::io(e, "fstat failed"))?.len();
        if size < end {
            return Err(Error::new(
                ErrorKind::FileShrunk,
                format!(
                    "the file was truncated to {size} bytes by someone else while mapped up to byte {end}: \
                     the bytes past its end are lost, and touching them raises SIGBUS"
                ),
            ));
        }
        if let (true, Some(map)) = (len > 0, region.map.as_ref()) {
            sys::msync(map, start, len).map_err(|e| Error::io(e, "msync failed"))?;
        }
        drop(region);
        if self.needs_sync.swap(false, Ordering::AcqRel) {
            if let Err(e) = sys::fdatasync(file) {
                self.needs_sync.store(true, Ordering::Release);
                return Err(Error::io(e, "fdatasync failed"));
            }
        }
        Ok(())
    }

    /// Copies `out.len()` bytes starting at byte `start` of the map into `out`
    /// (one element's worth, for reads that should not create a JavaScript
    /// buffer over the whole map).
    ///
    /// # Errors
    ///
    /// A range outside the map.
    pub fn read_into(&self, start: usize, out: &mut [u8]) -> Result<()> {
        self.check_range(start, out.len())?;
        if !out.is_empty() {
            // SAFETY: the range was checked to lie inside the map; the copy
            // forms no reference into the mapping, and `out` cannot overlap it.
            unsafe { std::ptr::copy_nonoverlapping(self.as_ptr().add(start), out.as_mut_ptr(), out.len()) };
        }
        Ok(())
    }

    /// Copies `bytes` into the map at byte `start`.
    ///
    /// # Errors
    ///
    /// A range outside the map.
    pub fn write_from(&self, start: usize, bytes: &[u8]) -> Result<()> {
        self.check_range(start, bytes.len())?;
        if !bytes.is_empty() {
            // SAFETY: the range was checked to lie inside the (writable: private
            // or shared read-write) map; no reference into it exists.
            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.as_ptr().add(start), bytes.len()) };
        }
        Ok(())
    }

    /// [`Mapping::flush_range`] at low thread priority: for the thread pool,
    /// so that a long writeback does not starve the event loop of CPU.
    ///
    /// # Errors
    ///
    /// As [`Mapping::flush_range`].
    pub fn flush_range_in_background(&self, start: usize, len: usize) -> Result<()> {
        // In pieces: one msync over gigabytes holds kernel locks long enough to
        // stall the event loop's own memory calls; 16 MiB at a time does not.
        const PIECE: usize = 16 << 20;
        sys::with_low_priority(|| {
            let mut done = 0;
            while done + PIECE < len {
                self.flush_range(start + done, PIECE)?;
                done += PIECE;
            }
            self.flush_range(start + done, len - done)
        })
    }

    /// Flushes the whole map.
    ///
    /// # Errors
    ///
    /// As [`Mapping::flush_range`].
    pub fn flush(&self) -> Result<()> {
        self.flush_range(0, self.len())
    }

    /// Gives the kernel an access-pattern hint for `[start, start + len)`.
    /// Advice over part of the map splits it into more kernel areas, which
    /// count against the process's limit (see [`max_live_mappings`]).
    ///
    /// # Errors
    ///
    /// A range outside the map, [`ErrorKind::TooManyMaps`] if the areas it
    /// would add pass the limit (nothing is advised then), or the system
    /// call's failure.
    pub fn advise_range(&self, advice: Advice, start: usize, len: usize) -> Result<()> {
        self.check_range(start, len)?;
        let region = self.region();
        let Some(map) = region.map.as_ref() else {
            return Ok(());
        };
        if len == 0 {
            return Ok(());
        }
        // The pages madvise acts on: from the page holding `start` (the map
        // begins `lead` bytes into its first page) to the one holding the last
        // byte; the kernel's area spans the whole mapping (past the end of the
        // file too, where a map keeps room to grow).
        let page = sys::page_size();
        let lead = map.as_mut_ptr() as usize % page;
        let pages = (lead + map.len()).div_ceil(page);
        let (from, to) = ((lead + start) / page, (lead + start + len).div_ceil(page));
        let mut runs = self.runs.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        runs.advise(pages, from, to, advice, || {
            sys::madvise(map, advice, start, len).map_err(|e| Error::io(e, "madvise failed"))
        })
    }

    /// Flushes, then lets go of the file at once. If `keep_address` is true
    /// (some JavaScript buffer may still point at the pages), the range is
    /// swapped for anonymous zero pages that are unmapped only when this
    /// `Mapping` is dropped; otherwise the pages go when it is dropped, which
    /// the caller is about to do. Idempotent.
    ///
    /// # Errors
    ///
    /// The flush's failure, or the failure `close(2)` reports; the map is
    /// closed all the same.
    pub fn close_keeping_address(&self, keep_address: bool) -> Result<()> {
        let flushed = self.flush();
        let mut state = self.lock_state();
        let was_open = std::mem::replace(&mut state.open, false);
        files::unregister(self.file_id, self.registered);
        let closed = match state.file.take() {
            Some(file) => {
                self.give_back_reserved(&file);
                sys::close(file).map_err(|e| Error::io(e, "close failed"))
            }
            None => Ok(()),
        };
        if was_open && keep_address {
            let mut region = self.region_mut();
            let mut runs = self.runs.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            region.replace_all_with_placeholders(&mut runs);
        }
        flushed.and(closed)
    }

    /// Flushes and releases the file; the pages go when this value is dropped.
    ///
    /// # Errors
    ///
    /// The flush's failure.
    pub fn close(&self) -> Result<()> {
        self.close_keeping_address(false)
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-written.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn check_range(&self, start: usize, len: usize) -> Result<()> {
        match start.checked_add(len) {
            Some(end) if end <= self.len() => Ok(()),
            _ => Err(Error::new(
                ErrorKind::Io,
                format!(
                    "byte range {start}..{} is outside the {}-byte map",
                    start as u128 + len as u128,
                    self.len()
                ),
            )),
        }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        files::unregister(self.file_id, self.registered);
        if let Some(file) = self
            .state
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .file
            .take()
        {
            self.give_back_reserved(&file);
        }
        // Not `get_mut`: the registry of live maps may be reading the region
        // this moment (it took its share before `unregister` above).
        let region = self.region.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let runs = self.runs.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner());
        areas::give_back(region.areas(runs));
    }
}

/// The bytes `[low, high)` a strided view reaches: element 0 at
/// `byte_offset`, `itemsize` bytes each, byte `strides` of any sign. Wide
/// integers, so no shape or stride overflows. A view with no elements (a
/// zero-length axis) reaches `[byte_offset, byte_offset)`.
pub fn byte_span(byte_offset: usize, itemsize: usize, shape: &[usize], strides: &[isize]) -> (i128, i128) {
    if shape.contains(&0) {
        return (byte_offset as i128, byte_offset as i128);
    }
    let (mut low, mut high) = (byte_offset as i128, byte_offset as i128 + itemsize as i128);
    for (&dim, &stride) in shape.iter().zip(strides) {
        let reach = (dim as i128 - 1) * stride as i128;
        if reach < 0 {
            low += reach;
        } else {
            high += reach;
        }
    }
    (low, high)
}

#[cfg(test)]
mod fault_tests;
#[cfg(test)]
mod tests;

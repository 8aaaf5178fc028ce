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

mod error;
pub mod reduce;
#[cfg(not(unix))]
#[path = "other.rs"]
mod sys;
#[cfg(unix)]
#[path = "unix.rs"]
mod sys;

use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use memmap2::{Advice as SafeAdvice, MmapOptions, MmapRaw, UncheckedAdvice};

pub use error::{Error, ErrorKind, Result};
pub use reduce::{Element, Reduction, Scalar, View};

/// numpy's four modes. Parsed once, from numpy's spelling, at the JavaScript
/// boundary; from there on, what a map may do follows from this type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `'r'`: an existing file, never changed. Mapped privately (copy-on-write)
    /// so that a stray write through a JavaScript view lands in private memory
    /// instead of faulting on a read-only page or reaching the file.
    ReadOnly,
    /// `'r+'`: an existing file, read and written in place; extended if short.
    ReadWrite,
    /// `'w+'`: created or truncated, then sized to `offset + nbytes`.
    Create,
    /// `'c'`: copy-on-write; writes stay in private memory, the file never changes.
    CopyOnWrite,
}

impl Mode {
    /// Parses numpy's spellings: `r`, `r+`, `w+`, `c` and the long aliases.
    pub fn parse(text: &str) -> Option<Mode> {
        match text {
            "r" | "readonly" => Some(Mode::ReadOnly),
            "r+" | "readwrite" => Some(Mode::ReadWrite),
            "w+" | "write" => Some(Mode::Create),
            "c" | "copyonwrite" => Some(Mode::CopyOnWrite),
            _ => None,
        }
    }

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

impl Advice {
    pub fn parse(text: &str) -> Option<Advice> {
        match text {
            "normal" => Some(Advice::Normal),
            "random" => Some(Advice::Random),
            "sequential" => Some(Advice::Sequential),
            "willneed" => Some(Advice::WillNeed),
            "dontneed" => Some(Advice::DontNeed),
            _ => None,
        }
    }
}

/// Live mappings in this process, against the kernel's `vm.max_map_count`:
/// Node aborts the process (not an error) when mmap fails deep inside V8, so
/// the limit is enforced here with a clear error well before the kernel's.
static LIVE_MAPPINGS: AtomicUsize = AtomicUsize::new(0);

fn live_mapping_limit() -> usize {
    static LIMIT: OnceLock<usize> = OnceLock::new();
    *LIMIT.get_or_init(|| {
        // Half the kernel's limit leaves room for V8's heap, threads and the
        // split VMAs that madvise and copy-on-write create.
        sys::max_map_count().map_or(32_768, |max| max / 2)
    })
}

/// How many mappings this process holds now (including ones closed while a
/// JavaScript buffer still pointed at them, until that buffer is collected).
pub fn live_mappings() -> usize {
    LIVE_MAPPINGS.load(Ordering::Relaxed)
}

/// The most live mappings [`Mapping::open`] allows before it fails with
/// [`ErrorKind::TooManyMaps`].
pub fn max_live_mappings() -> usize {
    live_mapping_limit()
}

/// A byte range of a file, mapped. Shared by the binding between the JavaScript
/// object and every ArrayBuffer over it (`Arc<Mapping>`), and unmapped when the
/// last of them lets go.
#[derive(Debug)]
pub struct Mapping {
    /// `None` for a zero-length range: there is nothing to map.
    map: Option<MmapRaw>,
    mode: Mode,
    /// Open until `close()`; flush and close serialise on this lock.
    state: Mutex<State>,
    /// Set when this process grew the file: the new size must reach the disk
    /// on the next flush (`fdatasync`), not only the pages (`msync`).
    grew_file: AtomicBool,
    /// File offset of the first mapped byte.
    offset: u64,
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
    /// (any offset: memmap2 maps from the page boundary below it).
    ///
    /// # Errors
    ///
    /// A missing file in `r`/`r+`/`c`, a directory, a FIFO or device, an
    /// empty file, a file too short in `r`/`c`, a rest-of-file that is not a
    /// whole number of items, a range past the address space, a full disk, too
    /// many live maps, or any refusal by the operating system. On error nothing
    /// was created, truncated or extended (a file `w+` had just created is
    /// removed again).
    pub fn open(source: Source, mode: Mode, offset: u64, length: Length) -> Result<Mapping> {
        if live_mappings() >= live_mapping_limit() {
            return Err(Error::new(
                ErrorKind::TooManyMaps,
                format!(
                    "{} maps are open in this process, the most allowed is {} (half of vm.max_map_count): \
                     call close() on maps you no longer need; a map dropped without close() is only \
                     released when the garbage collector runs on the event loop",
                    live_mappings(),
                    live_mapping_limit()
                ),
            ));
        }
        let (file, created) = open_file(&source, mode)?;
        let undo_create = |err: Error| {
            if let (true, Source::Path(path)) = (created, &source) {
                let _ = std::fs::remove_file(path);
            }
            err
        };
        // Built only on error paths: formatting it on every open is measurable.
        let described = Described(&source);
        let meta = file
            .metadata()
            .map_err(|e| Error::io(e, format!("cannot stat {described}")))
            .map_err(undo_create)?;
        if meta.is_dir() {
            return Err(undo_create(Error::new(
                ErrorKind::IsDirectory,
                format!("file {described} is a directory, not a file to map"),
            )));
        }
        if !meta.is_file() {
            return Err(undo_create(Error::new(
                ErrorKind::NotRegularFile,
                format!("file {described} is not a regular file (a FIFO, socket or device cannot be mapped)"),
            )));
        }
        let file_len = if mode == Mode::Create && matches!(source, Source::Path(_)) {
            0 // w+ truncates a named file, as numpy's open(..., 'w+b') does.
        } else {
            meta.len()
        };
        let byte_len = resolve_length(length, offset, file_len, mode, &described).map_err(undo_create)?;
        let end = offset.checked_add(byte_len).ok_or_else(|| {
            Error::new(
                ErrorKind::TooLarge,
                format!("offset {offset} + {byte_len} bytes overflows a 64-bit file size"),
            )
        });
        let end = end.map_err(undo_create)?;
        let len = usize::try_from(byte_len)
            .ok()
            .filter(|&n| n <= isize::MAX as usize)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::TooLarge,
                    format!("{byte_len} bytes do not fit in this process's address space"),
                )
            })
            .map_err(undo_create)?;

        if mode.writes_file() && (end > file_len || mode == Mode::Create) {
            resize(&file, mode, meta.len(), file_len, end, &described).map_err(undo_create)?;
        }
        let grew = mode.writes_file() && end > meta.len();

        let map = if len == 0 {
            None
        } else {
            Some(map_range(&file, mode, offset, len, &described).map_err(undo_create)?)
        };
        if map.is_some() {
            LIVE_MAPPINGS.fetch_add(1, Ordering::Relaxed);
        }
        Ok(Mapping {
            map,
            mode,
            state: Mutex::new(State {
                open: true,
                file: mode.writes_file().then_some(file),
            }),
            grew_file: AtomicBool::new(grew),
            offset,
        })
    }

    /// The first mapped byte (the one at `offset` in the file). Dangling but
    /// non-null for a zero-length mapping.
    pub fn as_ptr(&self) -> *mut u8 {
        match &self.map {
            Some(map) => map.as_mut_ptr(),
            None => std::ptr::NonNull::dangling().as_ptr(),
        }
    }

    pub fn len(&self) -> usize {
        self.map.as_ref().map_or(0, MmapRaw::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Whether `close()` has run.
    pub fn is_closed(&self) -> bool {
        !self.lock_state().open
    }

    /// Writes the dirty pages of `[start, start + len)` to the file and waits
    /// (`msync(MS_SYNC)`), then makes a size this map grew durable
    /// (`fdatasync`). A no-op for `r` and `c` maps, whose writes never reach the
    /// file, and after `close()`, which flushed already.
    ///
    /// # Errors
    ///
    /// A range outside the map, or the system call's failure (EIO on a bad disk).
    pub fn flush_range(&self, start: usize, len: usize) -> Result<()> {
        self.check_range(start, len)?;
        let state = self.lock_state();
        let (true, Some(file), Some(map)) = (state.open, state.file.as_ref(), self.map.as_ref()) else {
            return Ok(());
        };
        // Another process may have truncated the file: the pages past its end
        // are gone (touching them is SIGBUS), so say so instead of flushing.
        let end = self.offset + self.len() as u64;
        let size = file.metadata().map_err(|e| Error::io(e, "fstat failed"))?.len();
        if size < end {
            return Err(Error::new(
                ErrorKind::FileShrunk,
                format!(
                    "the file was truncated to {size} bytes by someone else while mapped up to byte {end}: \
                     the bytes past its end are lost, and touching them raises SIGBUS"
                ),
            ));
        }
        if len > 0 {
            map.flush_range(start, len).map_err(|e| Error::io(e, "msync failed"))?;
        }
        if self.grew_file.swap(false, Ordering::AcqRel) {
            if let Err(e) = file.sync_data() {
                self.grew_file.store(true, Ordering::Release);
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
    ///
    /// # Errors
    ///
    /// A range outside the map, or the system call's failure.
    pub fn advise_range(&self, advice: Advice, start: usize, len: usize) -> Result<()> {
        self.check_range(start, len)?;
        let Some(map) = self.map.as_ref() else {
            return Ok(());
        };
        if len == 0 {
            return Ok(());
        }
        let result = match advice {
            Advice::Normal => map.advise_range(SafeAdvice::Normal, start, len),
            Advice::Random => map.advise_range(SafeAdvice::Random, start, len),
            Advice::Sequential => map.advise_range(SafeAdvice::Sequential, start, len),
            Advice::WillNeed => map.advise_range(SafeAdvice::WillNeed, start, len),
            // SAFETY: no Rust reference points into the mapping (see the crate
            // docs), so dropping its pages invalidates nothing Rust holds. For a
            // shared map the pages are read back from the file; for a private
            // one they read as the file again, which is what MADV_DONTNEED means.
            Advice::DontNeed => unsafe { map.unchecked_advise_range(UncheckedAdvice::DontNeed, start, len) },
        };
        result.map_err(|e| Error::io(e, "madvise failed"))
    }

    /// Flushes, then lets go of the file at once. If `keep_address` is true
    /// (some JavaScript buffer may still point at the pages), the range is
    /// swapped for anonymous zero pages that are unmapped only when this
    /// `Mapping` is dropped; otherwise the pages go when it is dropped, which
    /// the caller is about to do. Idempotent.
    ///
    /// # Errors
    ///
    /// The flush's failure; the map is closed all the same.
    pub fn close_keeping_address(&self, keep_address: bool) -> Result<()> {
        let flushed = self.flush();
        let mut state = self.lock_state();
        let was_open = std::mem::replace(&mut state.open, false);
        state.file = None;
        if was_open && keep_address {
            if let Some(map) = self.map.as_ref() {
                // SAFETY: `map` is a whole mapping this struct owns and no Rust
                // reference points into it (crate docs). Failure leaves the file
                // pages in place, which is still memory-safe.
                let _ = unsafe { sys::replace_with_placeholder(map.as_mut_ptr(), map.len()) };
            }
        }
        flushed
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
        if self.map.is_some() {
            LIVE_MAPPINGS.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// How messages name the file: `'path'` or `descriptor N`, formatted on demand.
struct Described<'a>(&'a Source);

impl std::fmt::Display for Described<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Source::Path(path) => write!(f, "'{}'", path.display()),
            Source::Fd(fd) => write!(f, "descriptor {fd}"),
        }
    }
}

/// Opens the file as numpy does for the mode (`rb` for `r`/`c`, `r+b`, `w+b`),
/// never blocking and never truncating yet. Returns whether it was created.
fn open_file(source: &Source, mode: Mode) -> Result<(File, bool)> {
    match source {
        Source::Path(path) => {
            let create = mode == Mode::Create;
            // Only w+ needs to know, to remove a file it created if it then fails.
            let existed = !create || std::fs::symlink_metadata(path).is_ok();
            let file = sys::open_nonblocking(path, mode.writes_file(), create).map_err(|e| {
                let mut err = Error::io(
                    e,
                    format!("cannot open file '{}' in mode '{}'", path.display(), mode.numpy_name()),
                );
                if err.kind() == ErrorKind::NotFound {
                    err = Error::new(
                        ErrorKind::NotFound,
                        format!(
                            "file '{}' does not exist (mode '{}' opens an existing file; mode 'w+' creates one)",
                            path.display(),
                            mode.numpy_name()
                        ),
                    );
                }
                err
            })?;
            Ok((file, create && !existed))
        }
        Source::Fd(fd) => {
            let (file, readable, writable) = sys::dup_caller_fd(*fd).map_err(|e| {
                if e.kind() == std::io::ErrorKind::Unsupported {
                    Error::new(ErrorKind::Unsupported, format!("file descriptor {fd}: {e}"))
                } else {
                    Error::new(
                        ErrorKind::BadFileDescriptor,
                        format!("file descriptor {fd} is not open: {e}"),
                    )
                }
            })?;
            if !readable || (mode.writes_file() && !writable) {
                let needs = if mode.writes_file() {
                    "reading and writing"
                } else {
                    "reading"
                };
                return Err(Error::new(
                    ErrorKind::BadFileDescriptor,
                    format!(
                        "file descriptor {fd} is not open for {needs}, which mode '{}' needs",
                        mode.numpy_name()
                    ),
                ));
            }
            Ok((file, false))
        }
    }
}

/// numpy's rules for how many bytes to map, given what the file holds.
fn resolve_length(length: Length, offset: u64, file_len: u64, mode: Mode, described: &Described) -> Result<u64> {
    match length {
        Length::Exact(n) => {
            if !mode.writes_file() {
                if file_len == 0 {
                    return Err(Error::new(
                        ErrorKind::EmptyFile,
                        format!("file {described} is empty: cannot map an empty file"),
                    ));
                }
                let end = offset.saturating_add(n);
                if end > file_len {
                    return Err(Error::new(
                        ErrorKind::FileTooShort,
                        format!(
                            "file {described} is {file_len} bytes, too short for offset {offset} + {n} bytes \
                             (mode '{}' never extends a file; mode 'r+' does)",
                            mode.numpy_name()
                        ),
                    ));
                }
            }
            Ok(n)
        }
        Length::RestOfFile { item_size } => {
            if file_len == 0 {
                return Err(Error::new(
                    ErrorKind::EmptyFile,
                    format!("file {described} is empty: cannot map an empty file"),
                ));
            }
            if offset > file_len {
                return Err(Error::new(
                    ErrorKind::FileTooShort,
                    format!("offset {offset} is past the end of file {described} ({file_len} bytes)"),
                ));
            }
            let rest = file_len - offset;
            if item_size == 0 || !rest.is_multiple_of(item_size) {
                return Err(Error::new(
                    ErrorKind::NotWholeItems,
                    format!(
                        "file {described} has {rest} bytes after offset {offset}, not a whole number of \
                         {item_size}-byte items: pass a shape"
                    ),
                ));
            }
            Ok(rest)
        }
    }
}

/// Sizes the file for `w+`/`r+`: truncate (`w+` by path), extend to `end`, and
/// reserve the new blocks. On failure the old size is put back.
fn resize(file: &File, mode: Mode, old_len: u64, start_len: u64, end: u64, described: &Described) -> Result<()> {
    let grow = |from: u64| -> Result<()> {
        file.set_len(end)
            .map_err(|e| Error::io(e, format!("cannot extend file {described} to {end} bytes")))?;
        sys::reserve_blocks(file, from, end).map_err(|e| {
            Error::io(
                e,
                format!("cannot reserve {} bytes of disk for file {described}", end - from),
            )
        })
    };
    if mode == Mode::Create && start_len == 0 {
        file.set_len(0)
            .map_err(|e| Error::io(e, format!("cannot truncate file {described}")))?;
        // Already truncated as numpy's w+ does; nothing older to restore.
        return grow(0).inspect_err(|_| {
            let _ = file.set_len(0);
        });
    }
    grow(old_len).inspect_err(|_| {
        let _ = file.set_len(old_len);
    })
}

fn map_range(file: &File, mode: Mode, offset: u64, len: usize, described: &Described) -> Result<MmapRaw> {
    let mut options = MmapOptions::new();
    options.offset(offset).len(len);
    let mapped = match mode {
        Mode::ReadWrite | Mode::Create => options.map_raw(file),
        // Private and writable: JavaScript cannot be stopped from writing into a
        // view, and a write into PROT_READ memory is SIGSEGV. MAP_NORESERVE keeps
        // a map of a file larger than RAM from being refused by the overcommit
        // heuristic: only pages actually written are charged.
        Mode::ReadOnly | Mode::CopyOnWrite => {
            options.no_reserve_swap();
            // SAFETY: memmap2 marks every file mapping unsafe because another
            // process may change the file underneath; this library documents that
            // hazard (README, Safety) and never forms Rust references into it.
            unsafe { options.map_copy(file) }.map(MmapRaw::from)
        }
    };
    mapped.map_err(|e| {
        Error::io(
            e,
            format!("cannot map {len} bytes at offset {offset} of file {described}"),
        )
    })
}

#[cfg(test)]
mod tests;

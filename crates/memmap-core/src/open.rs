//! Opening a map as a transaction: check, reserve, map, then commit.
//!
//! Every step before the commit has an undo, recorded in [`Undo`] as it
//! succeeds and played back in reverse when a later step fails, so a failed
//! open leaves every file's bytes and size and the directory listing as they
//! were:
//!
//! 1. **Open** the file. `w+` by path first creates a new one exclusively
//!    (`O_EXCL`), then tries an existing file, so it knows whether it created
//!    it; undo: remove what it created (through a dangling symlink, the file
//!    at its target; the symlink stays).
//! 2. **Check** (`fstat`): the identity asked for, a regular file, numpy's
//!    length rules, a file that may not grow. Nothing to undo.
//! 3. **Reserve**: extend the file to `offset + nbytes` and allocate the new
//!    blocks (`ftruncate` + `fallocate`), and the holes of the old contents
//!    that the map may write (all of them for `w+` by path, every page of
//!    the mapped range for `r+`), checked whole against the free space
//!    first, so the commit and every later write into the map need no new
//!    space; undo: cut the file back to its old size, punch the holes this
//!    step filled again.
//! 4. **Map** the new length (`mmap`); undo: unmap (dropping it).
//! 5. **Commit** (`w+` by path only: the other modes are done at 4). Zero
//!    the old contents after the prefix's bytes in place
//!    (`FALLOC_FL_ZERO_RANGE`: one call, no new space). That call is the point
//!    of no return; a `w+` that shrinks the file then cuts it
//!    (`ftruncate`, which frees blocks and so needs no space either); last,
//!    the prefix (a `.npy` header) is written over the first bytes, so that
//!    a process killed in between leaves the old header over zeros, never
//!    the new header over the old bytes.
//!    Where `ZERO_RANGE` is missing (tmpfs), the old blocks are punched out
//!    and reserved again; where that is missing too (macOS, Windows), the
//!    file is cut to the prefix and grown again. On Windows, which cannot
//!    resize a mapped file, the commit comes before the map.

use std::fs::File;
use std::path::Path;

use crate::areas::{self, Runs};
use crate::fault;
use crate::{sys, Error, ErrorKind, FileId, Layout, Length, Mapping, Mode, OpenOptions, Result, Source};
use sys::Create;

pub fn open(source: Source, options: &OpenOptions) -> Result<Mapping> {
    // Checked first, so that a refusal touches no file. Given back if the
    // open fails or maps nothing.
    areas::take(1, || format!("cannot open {}", Described(&source)))?;
    let opened = open_taken(source, options);
    if !matches!(&opened, Ok(mapping) if mapping.region().map.is_some()) {
        areas::give_back(1);
    }
    opened
}

fn open_taken(source: Source, options: &OpenOptions) -> Result<Mapping> {
    let (file, created) = open_file(&source, options.mode)?;
    let mut undo = Undo {
        file: &file,
        created: match (&source, created) {
            (Source::Path(path), true) => Some(path.as_path()),
            _ => None,
        },
        old_len: None,
        filled_holes: Vec::new(),
    };
    // Held from the file's size being read to the map being registered (or
    // the undo done): see sys::gate. Exclusive for the modes that may change
    // the size (w+ cuts, r+ and w+ extend), shared for the others.
    let gate = match sys::gate(&file, options.mode.writes_file(), matches!(source, Source::Fd(_))) {
        Ok(gate) => gate,
        Err(e) => {
            undo.roll_back();
            return Err(gate_held(e, &format!("cannot open {}", Described(&source))));
        }
    };
    match steps(&file, &source, options, &mut undo) {
        Ok(done) => {
            drop(undo);
            let registered = register(done);
            drop(gate);
            Ok(finish(file, source, options, registered))
        }
        Err(err) => {
            undo.roll_back();
            drop(gate);
            Err(err)
        }
    }
}

/// The error of a gate held past `sys::gate`'s wait.
pub(crate) fn gate_held(e: std::io::Error, what: &str) -> Error {
    if e.kind() == std::io::ErrorKind::TimedOut {
        Error::new(
            ErrorKind::FileInUse,
            format!(
                "{what}: another open or resize of the file (in this process or another) has held it for too \
                 long ({e}); try again"
            ),
        )
    } else {
        Error::io(e, what.to_string())
    }
}

/// What the steps produced.
struct Done {
    map: Option<memmap2::MmapRaw>,
    offset: u64,
    file_id: Option<FileId>,
    needs_sync: bool,
}

/// A map's region, registered (see files.rs) while the gate is held, so
/// that a cut after the gate is let go sees it.
struct Registered {
    region: std::sync::Arc<std::sync::RwLock<crate::grow::Region>>,
    registered: u64,
    file_id: Option<FileId>,
    needs_sync: bool,
}

fn register(done: Done) -> Registered {
    let reach = done.map.as_ref().map_or(0, |m| m.len() as u64);
    let offset = done.offset;
    let region = std::sync::Arc::new(std::sync::RwLock::new(crate::grow::Region::new(done.map)));
    let registered = crate::files::register(done.file_id, offset + reach, &region);
    Registered {
        region,
        registered,
        file_id: done.file_id,
        needs_sync: done.needs_sync,
    }
}

fn finish(file: File, source: Source, options: &OpenOptions, done: Registered) -> Mapping {
    let resizable = options.mode.writes_file() && options.may_grow && matches!(source, Source::Path(_));
    let path = match source {
        Source::Path(path) => Some(path),
        Source::Fd(_) => sys::path_of(&file),
    };
    let file = if options.mode.writes_file() {
        Some(file)
    } else {
        // Read-only maps keep no descriptor; a failing close of one that was
        // only read changes nothing.
        let _ = sys::close(file);
        None
    };
    let Registered {
        region,
        registered,
        file_id,
        needs_sync,
    } = done;
    Mapping {
        region,
        mode: options.mode,
        state: std::sync::Mutex::new(crate::State { open: true, file }),
        needs_sync: std::sync::atomic::AtomicBool::new(needs_sync),
        offset: options.offset,
        file_id,
        path,
        runs: std::sync::Mutex::new(Runs::new(!options.mode.writes_file())),
        resizable,
        shrinks: std::sync::atomic::AtomicU64::new(0),
        registered,
    }
}

fn steps(file: &File, source: &Source, options: &OpenOptions, undo: &mut Undo) -> Result<Done> {
    let &OpenOptions {
        mode,
        length,
        offset,
        prefix,
        may_grow,
        expect,
        sparse,
    } = options;
    // Built only on error paths: formatting it on every open is measurable.
    let described = Described(source);

    // 2. Check.
    let meta = sys::fstat(file).map_err(|e| Error::io(e, format!("cannot stat file {described}")))?;
    let file_id = sys::file_id(&meta);
    if let (Some(expected), Some(found)) = (expect, file_id) {
        if expected != found {
            return Err(Error::new(
                ErrorKind::FileReplaced,
                format!(
                    "file {described} is not the file that was described (file {found}, expected {expected}): \
                     it was replaced or renamed over since"
                ),
            ));
        }
    }
    if meta.is_dir() {
        return Err(Error::new(
            ErrorKind::IsDirectory,
            format!("file {described} is a directory, not a file to map"),
        ));
    }
    if !meta.is_file() {
        return Err(Error::new(
            ErrorKind::NotRegularFile,
            format!("file {described} is not a regular file (a FIFO, socket or device cannot be mapped)"),
        ));
    }
    let old_len = meta.len();
    // w+ by path overwrites, as numpy's open(path, 'w+b') truncates; by
    // descriptor it extends only, as numpy never truncates a file object.
    let overwrite = mode == Mode::Create && matches!(source, Source::Path(_));
    let content_len = if overwrite { 0 } else { old_len };
    let byte_len = resolve_length(length, offset, content_len, mode, &described)?;
    let end = offset.checked_add(byte_len).ok_or_else(|| {
        Error::new(
            ErrorKind::TooLarge,
            format!("offset {offset} + {byte_len} bytes overflows a 64-bit file size"),
        )
    })?;
    let len = usize::try_from(byte_len)
        .ok()
        .filter(|&n| n <= isize::MAX as usize)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::TooLarge,
                format!("{byte_len} bytes do not fit in this process's address space"),
            )
        })?;
    if overwrite && end < old_len {
        crate::files::check_cut(file_id, 0, end, || format!("cannot overwrite file {described} with w+"))?;
    }
    let head = prefix.len() as u64;
    if head > 0 && !(overwrite && head <= offset) {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "a {head}-byte prefix can only be written by mode 'w+' with a path, before the data at offset \
                 {offset}; mode '{}' {}",
                mode.numpy_name(),
                if overwrite { "with this offset" } else { "here" }
            ),
        ));
    }
    let grows = mode.writes_file() && end > old_len;
    if grows && !may_grow {
        return Err(Error::new(
            ErrorKind::FileTooShort,
            format!(
                "file {described} is {old_len} bytes, shorter than the {end} bytes described (offset {offset} + \
                 {byte_len}): a map reopened from a description never extends a file"
            ),
        ));
    }

    // 3. Reserve. The holes of the old file that the map will write: w+ by
    // path zeroes all it keeps (see commit), r+ (and w+ by descriptor) may
    // write any byte of its range. A write into a hole the disk has no block
    // for is SIGBUS, so they are reserved here, where a full disk is
    // ERR_MEMMAP_NO_SPACE (numpy's open_memmap and np.memmap w+ make files
    // all holes, which r+ then fills). Sparse reserves nothing but the pages
    // of a prefix over old contents: commit writes it after they are given
    // up, where ENOSPC could no longer be undone (a new file is removed).
    let page = sys::page_size() as u64;
    let (hole_from, hole_to) = if sparse {
        (
            0,
            if overwrite && old_len > 0 {
                (head.div_ceil(page) * page).min(end)
            } else {
                0
            },
        )
    } else if overwrite {
        (0, old_len.min(end))
    } else if mode.writes_file() {
        // Every whole page the map spans: a write fault gives a block to each
        // hole of its page within the file (blocks may be smaller than a
        // page), so a hole beside the range in a page it shares is written too.
        (
            (offset - offset % page).min(old_len),
            old_len.min(end.div_ceil(page) * page),
        )
    } else {
        (0, 0)
    };
    let Layout {
        holes,
        exact,
        shared,
        inline,
    } = if hole_to > hole_from {
        sys::holes(file, hole_from, hole_to)
            .map_err(|e| Error::io(e, format!("cannot read the holes of file {described}")))?
    } else {
        Layout {
            exact: true,
            ..Layout::default()
        }
    };
    // Blocks shared with another file (a reflinked copy: `cp` does that by
    // default on XFS) need new blocks when written (copy-on-write), and data
    // kept inline in the inode (ext4 `inline_data`) moves to a block on its
    // first write, which a write fault cannot report but as SIGBUS: r+ gives
    // the file blocks of its own first. w+ by path rewrites what it keeps
    // with system calls.
    let (shared, inline) = if mode.writes_file() && !sparse && !overwrite {
        (shared, inline)
    } else {
        (Vec::new(), Vec::new())
    };
    // All of it at once against the free space first (SEEK_HOLE's holes may
    // be reserved already: not counted).
    let needed = if exact {
        holes.iter().map(|(from, to)| to - from).sum()
    } else {
        0
    } + if grows && !sparse { end - old_len } else { 0 }
        + shared.iter().map(|(from, to)| to - from).sum::<u64>()
        + inline.len() as u64 * page;
    // Nothing to reserve (read-only modes, dense files): no fstatfs.
    let short = if needed > 0 {
        sys::free_bytes(file).filter(|&free| needed > free)
    } else {
        None
    };
    if let Some(free) = short {
        return Err(Error::new(
            ErrorKind::NoSpace,
            format!(
                "cannot reserve {needed} bytes of disk for file {described}: the file system has {free} bytes free"
            ),
        ));
    }
    {
        for (from, to) in holes {
            // Exact holes are whole blocks (which may be smaller than a
            // page: a wider undo would punch data), but for one cut by the
            // file's end: its last block reaches past it, where no byte is
            // the file's. SEEK_HOLE's (tmpfs) are whole pages, its blocks,
            // but for an unaligned range end.
            let (from, to) = if exact {
                (from, if to == old_len { to.div_ceil(page) * page } else { to })
            } else {
                (from - from % page, to.div_ceil(page) * page)
            };
            // Only what this call takes is given back. Exact holes are
            // recorded first: ext4 keeps the blocks it found before a
            // fallocate fails for lack of space.
            let before = if exact {
                undo.filled_holes.push((from, to));
                None
            } else {
                sys::allocated(file)
            };
            sys::allocate(file, from, to, true).map_err(|e| {
                Error::io(
                    e,
                    format!("cannot reserve {} bytes of disk for file {described}", to - from),
                )
            })?;
            // Holes that may be reserved blocks (tmpfs): a range that took
            // nothing was reserved already. One that took part of its bytes,
            // or could not be measured, is given back whole: zeros either
            // way, and no space kept.
            if !exact && (before.is_none() || before != sys::allocated(file)) {
                undo.filled_holes.push((from, to));
            }
        }
        // Nothing to undo for either: the bytes stay the same, only their
        // blocks are the file's own (a failure part way leaves some so,
        // which the free space check above makes rare).
        for (from, to) in inline {
            sys::allocate(file, from, to, true).map_err(|e| {
                Error::io(
                    e,
                    format!("cannot move the data of file {described} out of its inode into a block"),
                )
            })?;
        }
        for (from, to) in shared {
            sys::unshare(file, from, to).map_err(|e| {
                Error::io(
                    e,
                    format!(
                        "cannot give file {described} blocks of its own for {} bytes it shares with another \
                         file (a reflinked copy)",
                        to - from
                    ),
                )
            })?;
        }
    }
    if grows {
        sys::set_len(file, end).map_err(|e| {
            Error::io(
                e,
                format!("cannot extend file {described} from {old_len} to {end} bytes"),
            )
        })?;
        undo.old_len = Some(old_len);
        if !sparse {
            sys::allocate(file, old_len, end, false).map_err(|e| {
                Error::io(
                    e,
                    format!("cannot reserve {} bytes of disk for file {described}", end - old_len),
                )
            })?;
        }
    }

    // 4. Map, then 5. commit. Windows refuses to change the size of a file
    // that is mapped (ERROR_USER_MAPPED_FILE), so there the commit comes
    // first, and an mmap failure after it cannot give the old contents back.
    let map = || -> Result<Option<memmap2::MmapRaw>> {
        if len == 0 {
            return Ok(None);
        }
        sys::map(file, mode.writes_file(), offset, len).map(Some).map_err(|e| {
            Error::mapping(
                e,
                format!("cannot map {len} bytes at offset {offset} of file {described}"),
            )
        })
    };
    let map = if cfg!(windows) {
        if overwrite {
            commit(file, undo, prefix, old_len, end, sparse, &described)?;
        }
        map()?
    } else {
        let map = map()?;
        if overwrite {
            commit(file, undo, prefix, old_len, end, sparse, &described)?;
        }
        map
    };
    Ok(Done {
        map,
        offset,
        file_id,
        needs_sync: grows || overwrite,
    })
}

/// The commit of `w+` by path: the prefix at the start, zeros after it, the
/// new size. See the module docs for why each call cannot fail for lack of
/// space, and which is the point of no return.
fn commit(
    file: &File,
    undo: &mut Undo,
    prefix: &[u8],
    old_len: u64,
    end: u64,
    sparse: bool,
    described: &Described,
) -> Result<()> {
    let head = prefix.len() as u64;
    let gone = |e: std::io::Error, what: &str| {
        Error::io(
            e,
            format!("{what} file {described}, whose old contents w+ had already given up"),
        )
    };
    let zero_to = old_len.min(end);
    let mut sized = end >= old_len;
    // A write past RLIMIT_FSIZE fails after the kernel wrote up to the limit,
    // and the writes below come after the point of no return: the prefix,
    // and on tmpfs the zeros, must lie under the limit, checked first.
    let writes_to = if !sparse && zero_to > head && sys::is_tmpfs(file) {
        zero_to
    } else {
        head
    };
    if sys::fsize_limit().is_some_and(|limit| writes_to > limit) {
        return Err(Error::io(
            std::io::Error::from_raw_os_error(libc::EFBIG),
            format!(
                "cannot write {writes_to} bytes of file {described}: past this process's file size limit \
                 (RLIMIT_FSIZE)"
            ),
        ));
    }
    if zero_to > head {
        let not_zeroed = |e| Error::io(e, format!("cannot zero the old contents of file {described}"));
        // Each first call below either does its whole job or nothing: the
        // point of no return is its success. Sparse skips ZERO_RANGE, which
        // reserves every block it zeroes (holes included): numpy's w+
        // truncates, freeing the old blocks and reserving none.
        if !sparse && sys::zero_range(file, head, zero_to).map_err(not_zeroed)? {
            undo.forget();
        } else if !sparse && sys::is_tmpfs(file) {
            // tmpfs has no ZERO_RANGE, and punching its pages to take them
            // again could find them taken by another writer in between.
            // Every page of the range exists (reserved above), so writing
            // zeros over them needs no space. A first piece that fails wrote
            // nothing (the undo puts the rest back); its success is the
            // point of no return.
            let first = head + (zero_to - head).min(1 << 20);
            sys::write_zeros(file, head, first).map_err(not_zeroed)?;
            undo.forget();
            if let Err(e) = sys::write_zeros(file, first, zero_to) {
                // Not for space (ENOMEM bringing a swapped page back, say):
                // the rest punched, so the old contents read as zeros, as
                // past the point of no return they must, and the error told.
                let _ = sys::punch_hole(file, first, zero_to);
                return Err(gone(e, "cannot zero the old contents of"));
            }
        } else if sys::punch_hole(file, head, zero_to).map_err(not_zeroed)? {
            undo.forget();
            // The blocks just freed, taken again: only a writer elsewhere
            // that took them in between can make this fail.
            if !sparse {
                sys::allocate(file, head, zero_to, true).map_err(|e| gone(e, "cannot reserve the blocks of"))?;
            }
        } else {
            // Neither (macOS, Windows, file systems without fallocate): cut
            // to the prefix and grow again, which reads as zeros; blocks stay
            // as unreserved as such a file system keeps them.
            sys::set_len(file, head).map_err(not_zeroed)?;
            undo.forget();
            sys::set_len(file, end).map_err(|e| gone(e, &format!("cannot extend to {end} bytes")))?;
            sized = true;
        }
    }
    undo.forget();
    if !sized {
        sys::set_len(file, end).map_err(|e| gone(e, &format!("cannot cut to {end} bytes")))?;
    }
    // The prefix last: a process killed before this point leaves the old
    // header over zeros (numpy reads zeros, or refuses a size that no longer
    // matches it), never a new header over the old bytes, which numpy would
    // read as the new dtype and shape without a word.
    if head > 0 {
        sys::write_at(file, prefix, 0).map_err(|e| gone(e, &format!("cannot write the {head}-byte header of")))?;
    }
    Ok(())
}

/// The undo log of an open: what to put back, in reverse order of doing.
struct Undo<'a> {
    file: &'a File,
    /// The path of a file this open created.
    created: Option<&'a Path>,
    /// The size before the file was extended.
    old_len: Option<u64>,
    /// Holes of the old contents that were reserved.
    filled_holes: Vec<(u64, u64)>,
}

impl Undo<'_> {
    /// Past the point of no return: nothing left to undo.
    fn forget(&mut self) {
        fault::no_return();
        self.old_len = None;
        self.filled_holes.clear();
    }

    /// Puts everything back. Each call can fail only if the disk itself does
    /// (they free space or rewrite bytes in blocks that exist); there is
    /// nothing better to do then than to go on.
    fn roll_back(self) {
        if let Some(len) = self.old_len {
            let _ = sys::set_len(self.file, len);
        }
        for &(from, to) in &self.filled_holes {
            let _ = sys::punch_hole(self.file, from, to);
        }
        if let Some(path) = self.created {
            let _ = sys::remove_created(path, self.file);
        }
    }
}

/// How messages name the file: `'path'` or `descriptor N`, formatted on demand.
pub(crate) struct Described<'a>(pub(crate) &'a Source);

impl std::fmt::Display for Described<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Source::Path(path) => write!(f, "'{}'", path.display()),
            Source::Fd(fd) => write!(f, "descriptor {fd}"),
        }
    }
}

/// Opens the file as numpy does for the mode (`rb` for `r`/`c`, `r+b`,
/// `w+b`), never blocking and never truncating. Returns whether it was created.
fn open_file(source: &Source, mode: Mode) -> Result<(File, bool)> {
    match source {
        Source::Path(path) => {
            let failed = |e: std::io::Error| {
                let not_found = e.kind() == std::io::ErrorKind::NotFound;
                let mut err = Error::io(
                    e,
                    format!("cannot open file '{}' in mode '{}'", path.display(), mode.numpy_name()),
                );
                if not_found && mode != Mode::Create {
                    err = Error::new(
                        ErrorKind::NotFound,
                        format!(
                            "file '{}' does not exist (mode '{}' opens an existing file; mode 'w+' creates one)",
                            path.display(),
                            mode.numpy_name()
                        ),
                    );
                } else if not_found {
                    err = Error::new(
                        ErrorKind::NotFound,
                        format!(
                            "cannot create file '{}' (mode 'w+'): a directory on its path does not exist",
                            path.display()
                        ),
                    );
                }
                err
            };
            if mode != Mode::Create {
                return sys::open(path, mode.writes_file(), Create::No)
                    .map(|file| (file, false))
                    .map_err(failed);
            }
            // A new file that only this call can have made, else an existing
            // one (new first: numpy's w+ usually makes a file, one call).
            for _ in 0..8 {
                match sys::open(path, true, Create::New) {
                    Ok(file) => return Ok((file, true)),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(failed(e)),
                }
                match sys::open(path, true, Create::No) {
                    Ok(file) => return Ok((file, false)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(failed(e)),
                }
                // Neither there nor creatable exclusively: a dangling symlink
                // (O_EXCL refuses every symlink), or another process created
                // the file in between (then the next round opens it).
                let missing = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
                let link = match sys::lstat(path) {
                    Ok(meta) => meta.file_type().is_symlink(),
                    Err(e) if missing(&e) => false,
                    Err(e) => return Err(failed(e)),
                };
                let dangling = link
                    && match sys::stat(path) {
                        Ok(_) => false,
                        Err(e) if missing(&e) => true,
                        Err(e) => return Err(failed(e)),
                    };
                if dangling {
                    return sys::open(path, true, Create::Any)
                        .map(|file| (file, true))
                        .map_err(failed);
                }
            }
            Err(Error::new(
                ErrorKind::Io,
                format!(
                    "cannot open file '{}' in mode 'w+': it keeps appearing and disappearing",
                    path.display()
                ),
            ))
        }
        Source::Fd(fd) => {
            let (file, readable, writable) = sys::dup_caller_fd(*fd).map_err(|e| {
                if e.kind() == std::io::ErrorKind::Unsupported {
                    Error::new(ErrorKind::Unsupported, format!("file descriptor {fd}: {e}"))
                } else if e.raw_os_error() == Some(libc::EBADF) {
                    Error::new(
                        ErrorKind::BadFileDescriptor,
                        format!("file descriptor {fd} is not open: {e}"),
                    )
                } else {
                    Error::io(e, format!("cannot duplicate file descriptor {fd}"))
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

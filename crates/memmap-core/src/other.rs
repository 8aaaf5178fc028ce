//! The system calls of the core on non-POSIX platforms (Windows): memmap2 does
//! the mapping; what needs POSIX calls (reserving blocks, zeroing a range in
//! place, placeholders, descriptors, advice) is absent or weaker here, as
//! README's Safety section says. The same functions as unix.rs, so lib.rs and
//! open.rs are written once.

use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use memmap2::{MmapOptions, MmapRaw};

use crate::fault::{self, Call};
use crate::{Advice, FileId, Layout};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    No,
    New,
    Any,
}

pub fn open(path: &Path, write: bool, create: Create) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(write);
    match create {
        Create::No => {}
        Create::New => {
            options.create_new(true);
        }
        Create::Any => {
            options.create(true);
        }
    }
    fault::retry(Call::Open, || options.open(path))
}

pub fn fstat(file: &File) -> io::Result<Metadata> {
    fault::retry(Call::Fstat, || file.metadata())
}

/// No stable file identity in std here (volume serial and file index are unstable).
pub fn file_id(_meta: &Metadata) -> Option<FileId> {
    None
}

pub fn set_len(file: &File, len: u64) -> io::Result<()> {
    fault::retry(Call::Ftruncate, || file.set_len(len))
}

/// Windows allocates the blocks of a file extended by `set_len` (files are not
/// sparse unless marked so), which is the reservation.
pub fn allocate(_file: &File, _from: u64, _to: u64, _keep_size: bool) -> io::Result<bool> {
    Ok(false)
}

pub fn as_sole_opener<T>(_file: &File, _f: impl FnOnce(&dyn Fn() -> bool) -> T) -> Option<T> {
    None
}

/// No gate here: Windows never changes the size of a mapped file (resize is
/// refused), so there is no cut for an open to fall under.
pub struct Gate<'a>(std::marker::PhantomData<&'a File>);

pub fn gate(_file: &File, _exclusive: bool, _private: bool) -> io::Result<Option<Gate<'_>>> {
    Ok(None)
}

pub fn room_ahead(_file: &File, _from: u64) -> Option<u64> {
    None
}

pub fn reserve_past_end(_file: &File, _from: u64, _to: u64) -> io::Result<bool> {
    Ok(false)
}

pub fn zero_range(_file: &File, _from: u64, _to: u64) -> io::Result<bool> {
    Ok(false)
}

/// No `RLIMIT_FSIZE` here.
pub fn fsize_limit() -> Option<u64> {
    None
}

pub fn is_tmpfs(_file: &File) -> bool {
    false
}

pub fn write_zeros(_file: &File, _from: u64, _to: u64) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

pub fn punch_hole(_file: &File, _from: u64, _to: u64) -> io::Result<bool> {
    Ok(false)
}

pub fn holes(_file: &File, _from: u64, _to: u64) -> io::Result<Layout> {
    Ok(Layout {
        exact: true,
        ..Layout::default()
    })
}

pub fn unshare(_file: &File, _from: u64, _to: u64) -> io::Result<bool> {
    Ok(false)
}

pub fn allocated(_file: &File) -> Option<u64> {
    None
}

pub fn read_at(file: &File, mut buf: &mut [u8], mut at: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        let n = fault::retry(Call::Pread, || file.seek_read(buf, at))?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf = &mut buf[n..];
        at += n as u64;
    }
    Ok(())
}

pub fn write_at(file: &File, mut bytes: &[u8], mut at: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !bytes.is_empty() {
        let n = fault::retry(Call::Pwrite, || file.seek_write(bytes, at))?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        bytes = &bytes[n..];
        at += n as u64;
    }
    Ok(())
}

pub fn map(file: &File, shared: bool, offset: u64, len: usize) -> io::Result<MmapRaw> {
    fault::retry(Call::Mmap, || {
        let mut options = MmapOptions::new();
        options.offset(offset).len(len);
        if shared {
            options.map_raw(file)
        } else {
            // SAFETY: as on POSIX: the hazard of a file changed underneath is
            // documented, and no Rust reference into the mapping is formed.
            unsafe { options.map_copy(file) }.map(MmapRaw::from)
        }
    })
}

/// No `mremap` here: growth maps anew.
///
/// # Safety
///
/// None needed: nothing happens.
pub unsafe fn remap(_map: &mut MmapRaw, _len: usize, _may_move: bool) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// No `MAP_FIXED` here (no placeholders either, so nothing to put back).
///
/// # Safety
///
/// None needed: nothing happens.
pub unsafe fn map_file_fixed(_file: &File, _ptr: *mut u8, _len: usize, _at: u64) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

pub fn msync(map: &MmapRaw, start: usize, len: usize) -> io::Result<()> {
    fault::retry(Call::Msync, || map.flush_range(start, len))
}

/// No madvise here: the hint is accepted and does nothing.
pub fn madvise(_map: &MmapRaw, _advice: Advice, _start: usize, _len: usize) -> io::Result<()> {
    fault::check(Call::Madvise)
}

pub fn fdatasync(file: &File) -> io::Result<()> {
    fault::retry(Call::Fdatasync, || file.sync_data())
}

pub fn close(file: File) -> io::Result<()> {
    fault::check(Call::Close)?;
    drop(file);
    Ok(())
}

/// The mappings of file `id` in this process: none known here (see unix.rs).
pub fn mappings_of(_id: FileId) -> io::Result<Vec<crate::files::Mapped>> {
    fault::check(Call::Maps)?;
    Ok(Vec::new())
}

pub fn path_of(_file: &File) -> Option<PathBuf> {
    None
}

pub fn remove_created(path: &Path, _file: &File) -> io::Result<()> {
    std::fs::remove_file(path)
}

pub fn dup_caller_fd(_fd: i32) -> io::Result<(File, bool, bool)> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "file descriptors are only supported on POSIX systems",
    ))
}

pub fn page_size() -> usize {
    // Windows maps at the 64 KiB allocation granularity; memmap2 handles it.
    65536
}

/// # Safety
///
/// Nothing is replaced here: there is no `MAP_FIXED` on Windows.
pub unsafe fn replace_with_placeholder(_ptr: *mut u8, _len: usize) -> io::Result<()> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "no placeholder mappings"))
}

pub fn max_map_count() -> Option<usize> {
    None
}

pub fn with_low_priority<T>(work: impl FnOnce() -> T) -> T {
    work()
}

/// Huge pages are a Linux advice (unix.rs); elsewhere nothing to do.
pub fn huge_pages(_buf: &mut [u8]) {}

//! Non-POSIX platforms (Windows): memmap2 does the mapping; the extras that
//! need POSIX calls are absent or weaker here, as README's Safety section says.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

pub fn open_nonblocking(path: &Path, write: bool, create: bool) -> io::Result<File> {
    OpenOptions::new().read(true).write(write).create(create).open(path)
}

pub fn dup_caller_fd(_fd: i32) -> io::Result<(File, bool, bool)> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "file descriptors are only supported on POSIX systems",
    ))
}

pub fn reserve_blocks(_file: &File, _from: u64, _to: u64) -> io::Result<()> {
    Ok(())
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

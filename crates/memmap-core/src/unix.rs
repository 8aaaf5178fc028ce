//! The POSIX calls memmap2 does not make for us. Picked by `cfg(unix)` in lib.rs.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Opens `path` without ever blocking: `O_NONBLOCK` makes `open(2)` of a FIFO
/// return at once instead of waiting for a writer (numpy hangs there), and the
/// caller rejects anything that is not a regular file right after. The flag is
/// cleared again so that later I/O on a regular file behaves as usual.
/// A descriptor opened only to be mapped and closed (read-only maps) keeps the
/// flag: no read or write ever goes through it.
pub fn open_nonblocking(path: &Path, write: bool, create: bool) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .write(write)
        .create(create)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    if !write {
        return Ok(file);
    }
    let fd = file.as_raw_fd();
    // SAFETY: `fd` is open for the lifetime of `file`; F_GETFL/F_SETFL only read
    // and set status flags of that descriptor.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
    Ok(file)
}

/// Duplicates a caller's descriptor, so that closing the map never closes the
/// caller's own (the contract: a passed-in fd stays the caller's). Reports
/// whether the descriptor is open for reading and for writing.
pub fn dup_caller_fd(fd: i32) -> io::Result<(File, bool, bool)> {
    // SAFETY: F_GETFL on an arbitrary integer is harmless: a closed or invalid
    // descriptor yields -1 with EBADF, which we report.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: F_GETFL just succeeded, so `fd` is open now; the borrow lasts only
    // for the duplication below.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    let owned = borrowed.try_clone_to_owned()?;
    let access = flags & libc::O_ACCMODE;
    let readable = access == libc::O_RDONLY || access == libc::O_RDWR;
    let writable = access == libc::O_WRONLY || access == libc::O_RDWR;
    Ok((File::from(owned), readable, writable))
}

/// Reserves the disk blocks of `[from, to)` so that a full disk is an `ENOSPC`
/// error now rather than a SIGBUS on the first write into a sparse page later
/// (POSIX: a store to a mapped page with no backing block raises SIGBUS).
/// File systems without `fallocate` (EOPNOTSUPP) are left sparse.
pub fn reserve_blocks(file: &File, from: u64, to: u64) -> io::Result<()> {
    if to <= from {
        return Ok(());
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        // SAFETY: plain system call on an open descriptor with in-range values;
        // mode 0 allocates blocks and may extend the size, which is already `to`.
        let rc = unsafe { libc::fallocate(file.as_raw_fd(), 0, from as libc::off_t, (to - from) as libc::off_t) };
        if rc != 0 {
            let err = io::Error::last_os_error();
            return match err.raw_os_error() {
                Some(libc::EOPNOTSUPP) | Some(libc::ENOSYS) | Some(libc::EINVAL) => Ok(()),
                _ => Err(err),
            };
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = file;
    Ok(())
}

/// The kernel's page size, which is also mmap's alignment on POSIX.
pub fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 {
        size as usize
    } else {
        4096
    }
}

/// Replaces the pages under `[ptr, ptr + len)` with fresh anonymous,
/// zero-filled, private pages at the same address (`MAP_FIXED`), so that
/// whoever still holds the address (a Node-API async operation that captured a
/// view before `close()`) reads zeros and writes into throw-away memory
/// instead of faulting, while the file itself is released at once. The pages
/// cost nothing until touched (`MAP_NORESERVE`).
///
/// # Safety
///
/// `[ptr, ptr + len)` must be the whole of a mapping this process owns, and
/// no Rust reference may point into it.
pub unsafe fn replace_with_placeholder(ptr: *mut u8, len: usize) -> io::Result<()> {
    let page = page_size();
    let misalignment = ptr as usize % page;
    // SAFETY: the caller promises the range is one mapping we own; its first
    // page starts `misalignment` bytes before `ptr` (memmap2 maps from the page
    // boundary below the requested offset).
    let start = unsafe { ptr.sub(misalignment) };
    let aligned_len = len + misalignment;
    // SAFETY: MAP_FIXED over a range we own atomically swaps the pages; the
    // caller promises no Rust reference points into them.
    let got = unsafe {
        libc::mmap(
            start.cast(),
            aligned_len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if got == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The kernel's limit on mappings per process (`vm.max_map_count`), if known.
pub fn max_map_count() -> Option<usize> {
    std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Runs `work` with this thread's scheduling priority lowered (Linux: nice is
/// per thread), so that a long msync on a worker thread yields the CPU to the
/// event loop on a machine with few cores. Restored afterwards.
pub fn with_low_priority<T>(work: impl FnOnce() -> T) -> T {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid and get/setpriority have no memory-safety preconditions;
        // `who` is this thread's id, so only this thread's priority changes.
        let (tid, before) = unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            (tid, libc::getpriority(libc::PRIO_PROCESS, tid))
        };
        // SAFETY: as above.
        unsafe { libc::setpriority(libc::PRIO_PROCESS, tid, 10) };
        let out = work();
        // SAFETY: as above; lowering nice back needs no privilege for a value we had.
        unsafe { libc::setpriority(libc::PRIO_PROCESS, tid, before) };
        out
    }
    #[cfg(not(target_os = "linux"))]
    work()
}

//! The system calls of the core, POSIX flavour (picked by `cfg(unix)` in
//! lib.rs). Every call on the open, grow, flush and close paths goes through
//! one function here, behind a fail point (`fault::retry`), and is retried on
//! EINTR; nothing above this module calls the operating system directly.

use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, IntoRawFd};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use memmap2::{Advice as SafeAdvice, MmapOptions, MmapRaw, UncheckedAdvice};

use crate::fault::{self, Call};
use crate::{Advice, FileId, Layout};

/// Whether `open` may create the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    /// Only an existing file.
    No,
    /// Only a new file (`O_CREAT | O_EXCL`): success means this call created it.
    New,
    /// Existing or new (`O_CREAT`), following a dangling symlink to create its
    /// target (`O_EXCL` refuses any symlink).
    Any,
}

/// How long an open waits for another process's lease to be let go: past
/// the kernel's default `lease-break-time` (45 s), when it breaks it itself.
const LEASE_BREAK_WAIT: std::time::Duration = std::time::Duration::from_secs(50);

/// Opens `path` without blocking on a FIFO: `O_NONBLOCK` makes `open(2)` of a FIFO
/// return at once instead of waiting for a writer (numpy hangs there), and the
/// caller rejects anything that is not a regular file right after. The flag is
/// cleared again on a writable descriptor so that later I/O behaves as usual;
/// a read-only one is only mapped and closed, no read or write goes through it.
/// A file this call creates (`Create::New`) is a new regular file, never a
/// FIFO: it is opened without the flag.
pub fn open(path: &Path, write: bool, create: Create) -> io::Result<File> {
    let mut options = OpenOptions::new();
    let nonblock = create != Create::New;
    options
        .read(true)
        .write(write)
        .custom_flags(if nonblock { libc::O_NONBLOCK } else { 0 } | libc::O_CLOEXEC);
    match create {
        Create::No => {}
        Create::New => {
            options.create_new(true);
        }
        Create::Any => {
            options.create(true);
        }
    }
    // A write lease another process holds (memmap's own appends hold one for
    // the microseconds of a reservation): a non-blocking open fails with
    // EWOULDBLOCK after starting the lease's break, which the holder answers
    // by letting go, or the kernel forces after `lease-break-time` (45 s by
    // default). Only regular files carry leases (a FIFO's non-blocking open
    // never fails so), so the open is tried again until then, as a blocking
    // open would wait.
    let started = std::time::Instant::now();
    let mut pause = std::time::Duration::from_millis(1);
    let file = loop {
        match fault::retry(Call::Open, || options.open(path)) {
            Err(e)
                if nonblock && e.raw_os_error() == Some(libc::EWOULDBLOCK) && started.elapsed() < LEASE_BREAK_WAIT =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_millis(20));
            }
            opened => break opened?,
        }
    };
    if write && nonblock {
        let fd = file.as_raw_fd();
        // SAFETY: `fd` is open for the lifetime of `file`; F_GETFL/F_SETFL only
        // read and set status flags of that descriptor.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFL);
            if flags >= 0 {
                libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
            }
        }
    }
    Ok(file)
}

/// `fstat(2)`.
pub fn fstat(file: &File) -> io::Result<Metadata> {
    fault::retry(Call::Fstat, || file.metadata())
}

/// `lstat(2)` of a path (a symlink itself, not its target).
pub fn lstat(path: &Path) -> io::Result<Metadata> {
    fault::retry(Call::Fstat, || std::fs::symlink_metadata(path))
}

/// `stat(2)` of a path, following symlinks.
pub fn stat(path: &Path) -> io::Result<Metadata> {
    fault::retry(Call::Fstat, || std::fs::metadata(path))
}

/// The file's identity: which device, which inode.
pub fn file_id(meta: &Metadata) -> Option<FileId> {
    Some(FileId {
        device: meta.dev(),
        inode: meta.ino(),
    })
}

/// `ftruncate(2)`: sets the size; blocks past a smaller size are freed, a
/// larger size reads as zeros (and has no blocks yet).
pub fn set_len(file: &File, len: u64) -> io::Result<()> {
    fault::retry(Call::Ftruncate, || file.set_len(len))
}

#[cfg(target_os = "linux")]
fn fallocate(file: &File, mode: libc::c_int, from: u64, to: u64) -> io::Result<bool> {
    fallocate_as(Call::Fallocate, file, mode, from, to)
}

#[cfg(target_os = "linux")]
fn fallocate_as(call: Call, file: &File, mode: libc::c_int, from: u64, to: u64) -> io::Result<bool> {
    if to <= from {
        return Ok(true);
    }
    let (Ok(offset), Ok(len)) = (libc::off_t::try_from(from), libc::off_t::try_from(to - from)) else {
        return Err(io::Error::from_raw_os_error(libc::EFBIG));
    };
    fault::retry(call, || {
        // SAFETY: a plain system call on an open descriptor with in-range values.
        if unsafe { libc::fallocate(file.as_raw_fd(), mode, offset, len) } == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    })
    .map(|()| true)
    .or_else(|err| match err.raw_os_error() {
        // This file system lacks the operation (tmpfs has no ZERO_RANGE, FAT
        // has no fallocate at all): the caller takes its fallback.
        Some(libc::EOPNOTSUPP) | Some(libc::ENOSYS) => Ok(false),
        _ => Err(err),
    })
}

/// Reserves the disk blocks of `[from, to)` (`fallocate(2)`, mode 0, or
/// `FALLOC_FL_KEEP_SIZE` past the end of the file), so that a full disk is an
/// `ENOSPC` error now rather than a SIGBUS on the first write into a sparse
/// page later (POSIX: a store to a mapped page with no backing block raises
/// SIGBUS). Ok(false) where the file system cannot (the file stays sparse).
/// ext4 moves data kept inline in the inode to a block first.
pub fn allocate(file: &File, from: u64, to: u64, keep_size: bool) -> io::Result<bool> {
    #[cfg(target_os = "linux")]
    {
        let mode = if keep_size { libc::FALLOC_FL_KEEP_SIZE } else { 0 };
        fallocate(file, mode, from, to)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (file, from, to, keep_size);
        Ok(false)
    }
}

/// Runs `f` while no other open file description of the file exists, in
/// this process or another, and none can be made: under a write lease
/// (`F_SETLEASE`, Linux), which the kernel grants only when nothing else has
/// the file open or mapped, and which makes any open(2) of it wait until it
/// is released. `None` where the lease is refused (another opener: EAGAIN; a
/// file this user does not own: EACCES; a file system without leases) or
/// cannot be had (not Linux); `f` has not run then.
///
/// `f` gets a check that the lease still holds: the kernel breaks a lease by
/// force once another opener has waited `lease-break-time` (45 s), so a
/// holder stopped that long (SIGSTOP, a debugger) no longer fences anyone.
/// Checked right before a cut, it narrows that window to the cut itself.
pub fn as_sole_opener<T>(file: &File, f: impl FnOnce(&dyn Fn() -> bool) -> T) -> Option<T> {
    #[cfg(target_os = "linux")]
    {
        // asm-generic/fcntl.h (every architecture Node runs on); the libc
        // crate does not export it.
        const F_SETSIG: libc::c_int = 10;
        crate::fault::check(crate::fault::Call::Lease).ok()?;
        let fd = file.as_raw_fd();
        // An open(2) by someone else while the lease is held signals the
        // holder: SIGIO by default, whose default action ends the process.
        // SIGURG's default action is to ignore it, and Node leaves it so.
        // SAFETY: an fcntl command on an open descriptor, with an integer argument.
        if unsafe { libc::fcntl(fd, F_SETSIG, libc::SIGURG) } != 0 {
            return None;
        }
        // SAFETY: as above.
        if unsafe { libc::fcntl(fd, libc::F_SETLEASE, libc::F_WRLCK) } != 0 {
            return None;
        }
        // SAFETY: as above. A break in progress reads as F_UNLCK, the type
        // the lease is being broken to.
        let held = || unsafe { libc::fcntl(fd, libc::F_GETLEASE) } == libc::F_WRLCK;
        let out = f(&held);
        // SAFETY: as above; dropping the lease this descriptor holds.
        unsafe { libc::fcntl(fd, libc::F_SETLEASE, libc::F_UNLCK) };
        Some(out)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (file, f);
        None
    }
}

/// The byte of every file whose lock is its gate (see [`gate`]): the last
/// one a lock can name, far from any byte another program locks (SQLite's
/// are at 1 GiB; a lock of the whole file covers it, see `gate_within`).
#[cfg(target_os = "linux")]
const GATE_BYTE: i64 = i64::MAX - 1;

/// How long an open or a resize waits for the gate before it gives up with
/// a coded error rather than hang: far past what any holder needs (an open's
/// reservation of a large file, an `fdatasync` of a slow disk).
const GATE_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// The file's gate, held: let go when dropped.
pub struct Gate<'a> {
    #[cfg(target_os = "linux")]
    held: Held<'a>,
    #[cfg(not(target_os = "linux"))]
    _file: std::marker::PhantomData<&'a File>,
}

#[cfg(target_os = "linux")]
enum Held<'a> {
    /// The lock is the caller's open file description's.
    Borrowed(&'a File),
    /// A description of its own (a caller's descriptor, reopened).
    Owned(File),
}

/// Takes the file's gate: an open file description lock (`F_OFD_SETLK`,
/// Linux) on one byte far past any data, shared by opens and exclusive for
/// the operations that change the file's size. Such a lock is the open file
/// description's, so it fences this copy of the library from itself across
/// threads, from any other copy loaded in the process (each its own addon and
/// registry of maps) and from other processes alike: an open's `fstat`,
/// `mmap` and registration cannot fall between a resize's check of the live
/// maps and its cut, nor between another resize's `fstat` and its
/// `ftruncate` (which, with a size read before someone else grew the file,
/// would be a cut too).
///
/// `private` takes it on a description of its own (a caller's descriptor,
/// shared with the caller and with every map made from it, reopened through
/// `/proc/self/fd`): two holders of one description do not fence each other,
/// and unlocking would drop a lock the caller holds there.
///
/// `None` where there is no such lock (not Linux, a file system without
/// locks, a descriptor that may not take this kind), and where a record lock
/// of a whole file that some process holds (`lockf`, Python's
/// `fcntl.lockf`) covers the byte: that is not a gate, and waiting for it
/// could be waiting for the caller itself. Waits while another gate is held;
/// past [`GATE_WAIT`], `TimedOut`.
pub fn gate(file: &File, exclusive: bool, private: bool) -> io::Result<Option<Gate<'_>>> {
    gate_within(file, exclusive, private, GATE_WAIT)
}

pub(crate) fn gate_within(
    file: &File,
    exclusive: bool,
    private: bool,
    wait: std::time::Duration,
) -> io::Result<Option<Gate<'_>>> {
    #[cfg(target_os = "linux")]
    {
        let held = match private.then(|| reopen(file, exclusive)).and_then(Result::ok) {
            Some(own) => Held::Owned(own),
            None => Held::Borrowed(file),
        };
        let fd = match &held {
            Held::Borrowed(file) => file.as_raw_fd(),
            Held::Owned(file) => file.as_raw_fd(),
        };
        let kind = if exclusive { libc::F_WRLCK } else { libc::F_RDLCK };
        let deadline = std::time::Instant::now() + wait;
        let mut pause = std::time::Duration::from_micros(20);
        loop {
            match fault::check(Call::Lock).and_then(|()| gate_lock(fd, libc::F_OFD_SETLK, kind)) {
                Ok(_) => return Ok(Some(Gate { held })),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if matches!(e.raw_os_error(), Some(libc::EAGAIN | libc::EACCES)) => {
                    // Who holds it: another gate (an open file description
                    // lock reads as pid -1) is waited for; a process's
                    // record lock is not.
                    if gate_lock(fd, libc::F_OFD_GETLK, kind).is_ok_and(|(_, pid)| pid > 0) {
                        return Ok(None);
                    }
                    if std::time::Instant::now() >= deadline {
                        return Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            format!("the file's gate was held for more than {} s", wait.as_secs()),
                        ));
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(std::time::Duration::from_millis(5));
                }
                // No such locks here: the gate fences nothing, as before it existed.
                Err(_) => return Ok(None),
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (file, exclusive, private, wait);
        Ok(None)
    }
}

/// `fcntl(fd, cmd)` on the gate's byte with lock type `kind`; returns the
/// type and pid `F_OFD_GETLK` reports (`F_UNLCK` when nothing conflicts).
#[cfg(target_os = "linux")]
fn gate_lock(fd: std::os::fd::RawFd, cmd: libc::c_int, kind: libc::c_int) -> io::Result<(libc::c_int, libc::pid_t)> {
    // SAFETY: all-zero is a valid `struct flock` (and the l_pid of 0 that
    // open file description locks require).
    let mut lock: libc::flock = unsafe { std::mem::zeroed() };
    lock.l_type = kind as libc::c_short;
    lock.l_whence = libc::SEEK_SET as libc::c_short;
    lock.l_start = GATE_BYTE;
    lock.l_len = 1;
    // SAFETY: an fcntl lock command on a descriptor, with a pointer to a
    // `struct flock` that lives across the call.
    if unsafe { libc::fcntl(fd, cmd, &mut lock) } == 0 {
        Ok((lock.l_type as libc::c_int, lock.l_pid))
    } else {
        Err(io::Error::last_os_error())
    }
}

/// A new open file description of the file `file` has open.
#[cfg(target_os = "linux")]
fn reopen(file: &File, write: bool) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(write)
        .open(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

#[cfg(target_os = "linux")]
impl Drop for Gate<'_> {
    fn drop(&mut self) {
        let fd = match &self.held {
            Held::Borrowed(file) => file.as_raw_fd(),
            // Closing it lets go too; said once here for both.
            Held::Owned(file) => file.as_raw_fd(),
        };
        let _ = gate_lock(fd, libc::F_OFD_SETLK, libc::F_UNLCK);
    }
}

/// Where an append may reserve blocks past the end of the file ahead of
/// the rows to come: how many bytes it may take from byte `from` on, at most
/// half of what this user may still allocate (`f_bavail`: root's share
/// excluded) and none past the process's file size limit (a reservation past
/// EOF ignores `RLIMIT_FSIZE`, so it would hold blocks the file can never
/// use). Only on
/// ext4 and XFS, where it was measured to pay and their leases fence every
/// opener; not on tmpfs (zeroes memory twice), btrfs (copy-on-write), overlay
/// (a writer through the upper directory is not fenced) or network file
/// systems (other machines are not). `None` where it may not.
pub fn room_ahead(file: &File, from: u64) -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        const EXT4_SUPER_MAGIC: i64 = 0xEF53;
        const XFS_SUPER_MAGIC: i64 = 0x5846_5342;
        let st = statfs(file)?;
        // The fields' types differ between targets: the casts are no-ops only on some.
        #[allow(clippy::unnecessary_cast)]
        let (kind, avail, unit) = (st.f_type as i64, st.f_bavail as u64, st.f_frsize as u64);
        if kind != EXT4_SUPER_MAGIC && kind != XFS_SUPER_MAGIC {
            return None;
        }
        let below_limit = fsize_limit().map_or(u64::MAX, |limit| limit.saturating_sub(from));
        Some((avail.saturating_mul(unit) / 2).min(below_limit))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (file, from);
        None
    }
}

/// Reserves blocks past the end of the file ahead of the appends to come
/// (`fallocate` with `FALLOC_FL_KEEP_SIZE`): [`allocate`] behind a fail point
/// of its own, as a failure here is not the caller's ([`Call::Reserve`]).
pub fn reserve_past_end(file: &File, from: u64, to: u64) -> io::Result<bool> {
    #[cfg(target_os = "linux")]
    {
        fallocate_as(Call::Reserve, file, libc::FALLOC_FL_KEEP_SIZE, from, to)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (file, from, to);
        Ok(false)
    }
}

/// The bytes of disk the file system holding `file` still has free, root's
/// reserve included (`fstatfs`), where that count is one a reservation can
/// be checked against: not on file systems that report no size (an
/// unlimited tmpfs) nor on btrfs, whose count is an estimate. A reservation
/// that cannot fit is refused before it starts: a `fallocate` that runs out
/// part way can leave blocks behind (ext4 keeps an extent tree block it grew).
pub fn free_bytes(file: &File) -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        const BTRFS_SUPER_MAGIC: i64 = 0x9123_683E;
        let st = statfs(file)?;
        // The fields' types differ between targets (32-bit, musl): the casts
        // are no-ops only on some.
        #[allow(clippy::unnecessary_cast)]
        let (kind, free, unit) = (st.f_type as i64, st.f_bfree as u64, st.f_frsize as u64);
        if st.f_blocks == 0 || kind == BTRFS_SUPER_MAGIC {
            return None;
        }
        Some(free.saturating_mul(unit))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = file;
        None
    }
}

/// `fstatfs(2)` of the file system holding `file`; None if it fails.
#[cfg(target_os = "linux")]
fn statfs(file: &File) -> Option<libc::statfs> {
    let mut st = std::mem::MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: a valid descriptor and a buffer of the struct's size.
    let rc = unsafe { libc::fstatfs(file.as_raw_fd(), st.as_mut_ptr()) };
    // SAFETY: fstatfs succeeded, so it filled the struct.
    (rc == 0).then(|| unsafe { st.assume_init() })
}

/// Whether `file` is on tmpfs, which has no `FALLOC_FL_ZERO_RANGE` but where
/// writing zeros over pages that exist needs no new space (see open.rs).
pub fn is_tmpfs(file: &File) -> bool {
    #[cfg(target_os = "linux")]
    {
        const TMPFS_MAGIC: i64 = 0x0102_1994;
        #[allow(clippy::unnecessary_cast)]
        statfs(file).is_some_and(|st| st.f_type as i64 == TMPFS_MAGIC)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = file;
        false
    }
}

/// Writes zeros over `[from, to)`, a piece at a time.
/// The process's `RLIMIT_FSIZE`: no write may reach past this byte, even
/// over bytes a file already has. `None` when unlimited.
pub fn fsize_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a plain system call filling the struct given.
    let limited =
        unsafe { libc::getrlimit(libc::RLIMIT_FSIZE, &mut limit) } == 0 && limit.rlim_cur != libc::RLIM_INFINITY;
    // rlim_t is 32 bits on some targets.
    #[allow(clippy::unnecessary_cast)]
    limited.then_some(limit.rlim_cur as u64)
}

/// Writes zeros over `[from, to)`. Past `RLIMIT_FSIZE` the kernel writes up
/// to the limit, then refuses: the open's commit checks the limit first.
pub fn write_zeros(file: &File, from: u64, to: u64) -> io::Result<()> {
    let zeros = vec![0u8; to.saturating_sub(from).min(1 << 20) as usize];
    let mut at = from;
    while at < to {
        let n = (to - at).min(zeros.len() as u64) as usize;
        write_at(file, &zeros[..n], at)?;
        at += n as u64;
    }
    Ok(())
}

/// Makes `[from, to)` read as zeros without giving up its blocks
/// (`FALLOC_FL_ZERO_RANGE`): one call, no new space needed for blocks that
/// were allocated. Ok(false) where unsupported (tmpfs, most non-Linux).
pub fn zero_range(file: &File, from: u64, to: u64) -> io::Result<bool> {
    #[cfg(target_os = "linux")]
    {
        fallocate(file, libc::FALLOC_FL_ZERO_RANGE | libc::FALLOC_FL_KEEP_SIZE, from, to)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (file, from, to);
        Ok(false)
    }
}

/// Deallocates `[from, to)`, which then reads as zeros
/// (`FALLOC_FL_PUNCH_HOLE`); frees blocks, so it never needs space.
/// Ok(false) where unsupported.
pub fn punch_hole(file: &File, from: u64, to: u64) -> io::Result<bool> {
    #[cfg(target_os = "linux")]
    {
        fallocate(file, libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE, from, to)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (file, from, to);
        Ok(false)
    }
}

/// Gives the shared blocks of `[from, to)` (reflinked copies, deduplicated
/// extents) blocks of this file's own (`FALLOC_FL_UNSHARE_RANGE`, XFS): a
/// write through a mapping into a shared block needs a new block
/// (copy-on-write), which no reservation covers, so on a full disk it is
/// SIGBUS. The bytes stay as they are. Ok(false) where the file system
/// cannot (btrfs, whose every write is copy-on-write).
pub fn unshare(file: &File, from: u64, to: u64) -> io::Result<bool> {
    #[cfg(target_os = "linux")]
    {
        fallocate(
            file,
            libc::FALLOC_FL_UNSHARE_RANGE | libc::FALLOC_FL_KEEP_SIZE,
            from,
            to,
        )
        .or_else(|err| {
            match err.raw_os_error() {
                // ext4 and tmpfs take no unshare flag: they share no blocks.
                Some(libc::EINVAL) => Ok(false),
                _ => Err(err),
            }
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (file, from, to);
        Ok(false)
    }
}

/// The holes (ranges with no blocks, reserved or written) of `[from, to)`,
/// whether they are exactly that, and the ranges with shared blocks.
///
/// `FS_IOC_FIEMAP` first: it lists the extents, reserved-but-unwritten ones
/// included, so only true holes are gaps. Elsewhere (tmpfs) `SEEK_HOLE`,
/// which also calls reserved blocks never written holes (they read as
/// zeros): a superset, so not exact. A file system with neither reports no
/// holes, which is what it has as far as reservation goes.
pub fn holes(file: &File, from: u64, to: u64) -> io::Result<Layout> {
    #[cfg(target_os = "linux")]
    {
        match extents(file, from, to)? {
            Some(extents) => {
                let flagged = |flag: u32| {
                    extents
                        .iter()
                        .filter(|e| e.2 & flag != 0)
                        .map(|&(start, end, _)| (start.max(from), end.min(to)))
                        .filter(|(start, end)| start < end)
                        .collect()
                };
                let spans: Vec<(u64, u64)> = extents.iter().map(|&(start, end, _)| (start, end)).collect();
                Ok(Layout {
                    holes: gaps(&spans, from, to),
                    exact: true,
                    shared: flagged(FIEMAP_EXTENT_SHARED),
                    inline: flagged(FIEMAP_EXTENT_DATA_INLINE),
                })
            }
            None => Ok(Layout {
                holes: seek_holes(file, from, to)?,
                exact: false,
                ..Layout::default()
            }),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (file, from, to);
        Ok(Layout {
            exact: true,
            ..Layout::default()
        })
    }
}

/// The bytes of disk a file holds (`st_blocks`, reserved blocks included),
/// None if `fstat` fails. A measurement, not a step: no fail point, as a
/// failure only makes the caller give back more on an undo (see open.rs).
pub fn allocated(file: &File) -> Option<u64> {
    file.metadata().ok().map(|meta| meta.blocks().saturating_mul(512))
}

/// The parts of `[from, to)` that no extent covers (extents sorted, as
/// FIEMAP returns them).
fn gaps(extents: &[(u64, u64)], from: u64, to: u64) -> Vec<(u64, u64)> {
    let mut found = Vec::new();
    let mut at = from;
    for &(start, end) in extents {
        if start > at {
            found.push((at, start.min(to)));
        }
        at = at.max(end);
        if at >= to {
            break;
        }
    }
    if at < to {
        found.push((at, to));
    }
    found
}

/// `struct fiemap` of linux/fiemap.h, with room for a batch of extents.
#[cfg(target_os = "linux")]
#[repr(C)]
struct Fiemap {
    start: u64,
    length: u64,
    flags: u32,
    mapped_extents: u32,
    extent_count: u32,
    reserved: u32,
    extents: [FiemapExtent; EXTENTS_PER_CALL],
}

/// `struct fiemap_extent` of linux/fiemap.h.
#[cfg(target_os = "linux")]
#[repr(C)]
#[derive(Clone, Copy)]
struct FiemapExtent {
    logical: u64,
    physical: u64,
    length: u64,
    reserved64: [u64; 2],
    flags: u32,
    reserved: [u32; 3],
}

#[cfg(target_os = "linux")]
const EXTENTS_PER_CALL: usize = 64;
/// `_IOWR('f', 11, struct fiemap)`: the request number names the 32-byte
/// header, whatever the batch size.
#[cfg(target_os = "linux")]
const FS_IOC_FIEMAP: libc::c_ulong = 0xC020_660B;
#[cfg(target_os = "linux")]
const FIEMAP_EXTENT_LAST: u32 = 0x1;
#[cfg(target_os = "linux")]
const FIEMAP_EXTENT_DATA_INLINE: u32 = 0x200;
#[cfg(target_os = "linux")]
const FIEMAP_EXTENT_SHARED: u32 = 0x2000;

/// The extents overlapping `[from, to)` as byte ranges with their flags, or None where the
/// file system has no FIEMAP. Delayed allocations (written, blocks not yet
/// chosen) are extents too: their space is already accounted for.
#[cfg(target_os = "linux")]
fn extents(file: &File, from: u64, to: u64) -> io::Result<Option<Vec<(u64, u64, u32)>>> {
    let mut found = Vec::new();
    let mut at = from;
    while at < to {
        let mut map = Fiemap {
            start: at,
            length: to - at,
            flags: 0,
            mapped_extents: 0,
            extent_count: EXTENTS_PER_CALL as u32,
            reserved: 0,
            extents: [FiemapExtent {
                logical: 0,
                physical: 0,
                length: 0,
                reserved64: [0; 2],
                flags: 0,
                reserved: [0; 3],
            }; EXTENTS_PER_CALL],
        };
        let done = fault::retry(Call::Fiemap, || {
            // SAFETY: FS_IOC_FIEMAP reads the header and writes at most
            // `extent_count` extents into the array that follows it, all
            // inside `map`, which lives across the call.
            let got = unsafe { libc::ioctl(file.as_raw_fd(), FS_IOC_FIEMAP as _, &mut map as *mut Fiemap) };
            if got == 0 {
                return Ok(true);
            }
            let err = io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EOPNOTSUPP | libc::ENOTTY | libc::EINVAL) => Ok(false),
                _ => Err(err),
            }
        })?;
        if !done {
            return Ok(None);
        }
        let mapped = &map.extents[..(map.mapped_extents as usize).min(EXTENTS_PER_CALL)];
        let Some(last) = mapped.last() else { break };
        found.extend(
            mapped
                .iter()
                .map(|e| (e.logical, e.logical.saturating_add(e.length), e.flags)),
        );
        if last.flags & FIEMAP_EXTENT_LAST != 0 {
            break;
        }
        let next = last.logical.saturating_add(last.length);
        if next <= at {
            break;
        }
        at = next;
    }
    Ok(Some(found))
}

/// The holes of `[from, to)` by `lseek(2)` with `SEEK_HOLE`/`SEEK_DATA`.
/// Past the end of the file everything is a hole (`lseek` says ENXIO there).
#[cfg(target_os = "linux")]
fn seek_holes(file: &File, from: u64, to: u64) -> io::Result<Vec<(u64, u64)>> {
    enum Found {
        At(u64),
        /// ENXIO: `at` is at or past the end of the file (or no data follows).
        Past,
    }
    let seek = |at: u64, whence: libc::c_int| -> io::Result<Option<Found>> {
        let Ok(at) = libc::off_t::try_from(at) else {
            return Ok(Some(Found::Past));
        };
        fault::retry(Call::Lseek, || {
            // SAFETY: lseek on an open descriptor; the file position it moves
            // is not used by anything else (all I/O here is positional).
            let got = unsafe { libc::lseek(file.as_raw_fd(), at, whence) };
            if got >= 0 {
                return Ok(Some(Found::At(got as u64)));
            }
            let err = io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::ENXIO) => Ok(Some(Found::Past)),
                // EINVAL: SEEK_HOLE unknown here.
                Some(libc::EINVAL) => Ok(None),
                _ => Err(err),
            }
        })
    };
    let mut found = Vec::new();
    let mut at = from;
    while at < to {
        let hole = match seek(at, libc::SEEK_HOLE)? {
            // Unknown: treat the file as dense.
            None => break,
            Some(Found::Past) => at,
            Some(Found::At(hole)) => hole,
        };
        if hole >= to {
            break;
        }
        let end = match seek(hole, libc::SEEK_DATA)? {
            Some(Found::At(data)) => data.min(to),
            _ => to,
        };
        found.push((hole, end));
        at = end;
    }
    Ok(found)
}

/// Reads exactly `buf.len()` bytes at byte `at` (`pread(2)`).
pub fn read_at(file: &File, buf: &mut [u8], at: u64) -> io::Result<()> {
    fault::retry(Call::Pread, || file.read_exact_at(buf, at))
}

/// Writes all of `bytes` at byte `at` (`pwrite(2)`).
pub fn write_at(file: &File, bytes: &[u8], at: u64) -> io::Result<()> {
    fault::retry(Call::Pwrite, || file.write_all_at(bytes, at))
}

/// `mmap(2)` of `[offset, offset + len)`: shared and writable (`r+`, `w+`), or
/// private and writable (`r`, `c`).
pub fn map(file: &File, shared: bool, offset: u64, len: usize) -> io::Result<MmapRaw> {
    fault::retry(Call::Mmap, || {
        let mut options = MmapOptions::new();
        options.offset(offset).len(len);
        if shared {
            options.map_raw(file)
        } else {
            // Private and writable: JavaScript cannot be stopped from writing
            // into a view, and a write into PROT_READ memory is SIGSEGV.
            // MAP_NORESERVE keeps a map of a file larger than RAM from being
            // refused by the overcommit heuristic: only pages written are charged.
            options.no_reserve_swap();
            // SAFETY: memmap2 marks every file mapping unsafe because another
            // process may change the file underneath; this library documents
            // that hazard (README, Safety) and never forms Rust references into it.
            unsafe { options.map_copy(file) }.map(MmapRaw::from)
        }
    })
}

/// `mremap(2)` of a shared map to `len` bytes: in place only, or moving it
/// if `may_move`. Unsupported off Linux (the caller maps anew instead).
///
/// # Safety
///
/// Nothing may touch the pages past the end of the file, and if `may_move`,
/// nothing may hold the old address.
pub unsafe fn remap(map: &mut MmapRaw, len: usize, may_move: bool) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        fault::retry(Call::Mremap, || {
            // SAFETY: forwarded to the caller.
            unsafe { map.remap(len, memmap2::RemapOptions::new().may_move(may_move)) }
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (map, len, may_move);
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}

/// Maps `len` bytes of the file at byte `at` (page-aligned) over the
/// page-aligned address `ptr`, shared and writable (`MAP_FIXED`): puts the
/// file's pages back where a placeholder was.
///
/// # Safety
///
/// `[ptr, ptr + len)` must be a range of a mapping this process owns, with no
/// Rust reference into it.
pub unsafe fn map_file_fixed(file: &File, ptr: *mut u8, len: usize, at: u64) -> io::Result<()> {
    let Ok(at) = libc::off_t::try_from(at) else {
        return Err(io::Error::from_raw_os_error(libc::EFBIG));
    };
    fault::check(Call::Mmap)?;
    // SAFETY: the caller promises the range is ours and unreferenced.
    let got = unsafe {
        libc::mmap(
            ptr.cast(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_FIXED,
            file.as_raw_fd(),
            at,
        )
    };
    if got == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `msync(MS_SYNC)` of `[start, start + len)` of the map.
pub fn msync(map: &MmapRaw, start: usize, len: usize) -> io::Result<()> {
    fault::retry(Call::Msync, || map.flush_range(start, len))
}

/// `madvise(2)` of `[start, start + len)` of the map.
pub fn madvise(map: &MmapRaw, advice: Advice, start: usize, len: usize) -> io::Result<()> {
    fault::retry(Call::Madvise, || match advice {
        Advice::Normal => map.advise_range(SafeAdvice::Normal, start, len),
        Advice::Random => map.advise_range(SafeAdvice::Random, start, len),
        Advice::Sequential => map.advise_range(SafeAdvice::Sequential, start, len),
        Advice::WillNeed => map.advise_range(SafeAdvice::WillNeed, start, len),
        // SAFETY: no Rust reference points into the mapping (see the crate
        // docs), so dropping its pages invalidates nothing Rust holds. For a
        // shared map the pages are read back from the file; for a private one
        // they read as the file again, which is what MADV_DONTNEED means.
        Advice::DontNeed => unsafe { map.unchecked_advise_range(UncheckedAdvice::DontNeed, start, len) },
    })
}

/// `fdatasync(2)`.
pub fn fdatasync(file: &File) -> io::Result<()> {
    fault::retry(Call::Fdatasync, || file.sync_data())
}

/// `close(2)`, reporting its error (std's drop ignores it; on network file
/// systems it can carry a deferred write error). Never retried: on Linux the
/// descriptor is gone even when close reports EINTR, which is then no error.
pub fn close(file: File) -> io::Result<()> {
    let fd = file.into_raw_fd();
    let injected = fault::check(Call::Close);
    // SAFETY: `fd` came from `into_raw_fd` just above, so it is open and owned
    // here, and nothing else will close it.
    let closed = if unsafe { libc::close(fd) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    };
    match injected.and(closed) {
        Err(err) if err.kind() == io::ErrorKind::Interrupted => Ok(()),
        result => result,
    }
}

/// The mappings of file `id` in this whole process, as the kernel lists
/// them (`/proc/self/maps`): every copy of this library loaded in the
/// process (two versions installed side by side each keep their own registry
/// of live maps, files.rs) and anything else that mapped it, shared or
/// private (a private mapping past the end of its file is SIGBUS too).
/// Where the kernel's device number for a mapping is not the file's `st_dev`
/// (btrfs subvolumes, overlayfs), the mapping's own file is asked
/// (`/proc/self/map_files`, which needs `CAP_CHECKPOINT_RESTORE`); failing
/// that, a mapping with the file's inode number counts as the file: a false
/// refusal of a cut, never a missed one. Where there is no such list (not
/// Linux), none.
pub fn mappings_of(id: FileId) -> io::Result<Vec<crate::files::Mapped>> {
    #[cfg(target_os = "linux")]
    {
        let listing = fault::retry(Call::Maps, || std::fs::read("/proc/self/maps"))?;
        let listing = String::from_utf8_lossy(&listing);
        Ok(listing.lines().filter_map(|line| mapped_line(line, id)).collect())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = id;
        fault::check(Call::Maps)?;
        Ok(Vec::new())
    }
}

/// One line of `/proc/self/maps` (`start-end perms offset major:minor inode
/// path`, numbers in hex but the inode), if it maps file `id`.
#[cfg(target_os = "linux")]
pub(crate) fn mapped_line(line: &str, id: FileId) -> Option<crate::files::Mapped> {
    let mut fields = line.split_ascii_whitespace();
    let range = fields.next()?;
    let _perms = fields.next()?;
    let offset = u64::from_str_radix(fields.next()?, 16).ok()?;
    let (major, minor) = fields.next()?.split_once(':')?;
    let inode: u64 = fields.next()?.parse().ok()?;
    if inode != id.inode {
        return None;
    }
    let (start, end) = range.split_once('-')?;
    let (start, end) = (
        usize::from_str_radix(start, 16).ok()?,
        usize::from_str_radix(end, 16).ok()?,
    );
    let (major, minor) = (
        u32::from_str_radix(major, 16).ok()?,
        u32::from_str_radix(minor, 16).ok()?,
    );
    let same_device = libc::makedev(major, minor) as u64 == id.device
        || match std::fs::metadata(format!("/proc/self/map_files/{range}")) {
            Ok(meta) => meta.dev() == id.device && meta.ino() == id.inode,
            // Not allowed to look (or unmapped meanwhile): counted as the file.
            Err(_) => true,
        };
    same_device.then_some(crate::files::Mapped { start, end, offset })
}

/// The path the kernel knows for an open file, if it has one that names it
/// (not deleted, not a pipe or socket). Asked of our own descriptor, so the
/// answer cannot be about a different file that reused a caller's number.
pub fn path_of(file: &File) -> Option<PathBuf> {
    #[cfg(target_os = "linux")]
    {
        let link = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).ok()?;
        let deleted = link.as_os_str().as_encoded_bytes().ends_with(b" (deleted)");
        (link.is_absolute() && !deleted).then_some(link)
    }
    #[cfg(any(target_os = "macos", target_os = "ios"))]
    {
        use std::os::unix::ffi::OsStrExt;
        let mut buf = vec![0u8; libc::PATH_MAX as usize];
        // SAFETY: F_GETPATH writes at most PATH_MAX bytes, NUL-terminated, into `buf`.
        let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETPATH, buf.as_mut_ptr()) };
        if rc == -1 {
            return None;
        }
        let len = buf.iter().position(|&b| b == 0)?;
        Some(PathBuf::from(std::ffi::OsStr::from_bytes(&buf[..len])))
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "ios")))]
    {
        let _ = file;
        None
    }
}

/// Removes the file this process created at `path` (following symlinks to
/// where it was created), if it is still `file`: the undo of a `w+` that
/// created it. Someone else's file that took its place is left alone.
pub fn remove_created(path: &Path, file: &File) -> io::Result<()> {
    let ours = file.metadata()?;
    let created = path_of(file).or_else(|| std::fs::canonicalize(path).ok());
    let Some(created) = created else {
        return Ok(());
    };
    match std::fs::symlink_metadata(&created) {
        Ok(meta) if meta.dev() == ours.dev() && meta.ino() == ours.ino() => std::fs::remove_file(&created),
        _ => Ok(()),
    }
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
    let owned = fault::retry(Call::Open, || borrowed.try_clone_to_owned())?;
    let access = flags & libc::O_ACCMODE;
    let readable = access == libc::O_RDONLY || access == libc::O_RDWR;
    let writable = access == libc::O_WRONLY || access == libc::O_RDWR;
    Ok((File::from(owned), readable, writable))
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
    fault::check(Call::Mmap)?;
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

/// Asks for transparent huge pages over the whole 2 MiB pages inside `buf`
/// (a large buffer not yet touched): its page faults then come 2 MiB at a
/// time, not 4 KiB, which is most of the cost of filling fresh memory. numpy
/// does the same for its own allocations of 4 MiB or more. Advice only:
/// where the kernel refuses, nothing changes.
pub fn huge_pages(buf: &mut [u8]) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = (buf.as_ptr() as usize).next_multiple_of(HUGE);
        let end = (buf.as_ptr() as usize + buf.len()) & !(HUGE - 1);
        if end > start {
            // SAFETY: `[start, end)` lies inside `buf`, memory this process
            // owns and the caller holds exclusively; MADV_HUGEPAGE changes
            // how its pages are backed, never its contents.
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = buf;
}

//! The live maps of each file in this process, and how far into the file
//! each reaches. A file cut below what another live map of it reaches makes
//! reading that map's pages past the new end a SIGBUS (a map in a worker
//! made with `fromDescriptor`, or a second `memmap()` of the same path), so
//! the operations that cut a file this library can see mapped (`resize`
//! shrinking, `w+` over a longer file) ask here first and refuse with
//! [`ErrorKind::FileInUse`]. Another process's maps are beyond reach (the
//! README says so).
//!
//! This table is one copy of the library's: npm may install two versions of
//! the package side by side, each loading its own addon with its own table,
//! and neither sees the other's maps here. So a cut also asks the kernel
//! (`sys::mappings_of`) which mappings of the file exist in the process, and
//! any this copy does not hold itself (every registered map's region: its
//! room past the end and retained mappings included) that reaches past the
//! cut refuses it too. Only when a cut is about to happen: opens that cut
//! nothing never read the kernel's list.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};

use crate::grow::Region;
use crate::{sys, Error, ErrorKind, FileId, Result};

/// A mapping of a file in this process as the kernel lists it: addresses
/// `[start, end)` map the file from byte `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mapped {
    pub start: usize,
    pub end: usize,
    pub offset: u64,
}

/// A live map of a file: its number, the file offset its mapped bytes
/// reach, and its address ranges (read at a cut, to know its mappings apart
/// from another copy's).
struct Entry {
    id: u64,
    reach: u64,
    region: Weak<RwLock<Region>>,
}

/// Each file's maps.
type Table = HashMap<FileId, Vec<Entry>>;

static FILES: Mutex<Option<Table>> = Mutex::new(None);
static NEXT: AtomicU64 = AtomicU64::new(1);

fn with<R>(f: impl FnOnce(&mut Table) -> R) -> R {
    // A panic while holding the lock cannot leave the table half-written.
    let mut files = FILES.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    f(files.get_or_insert_with(HashMap::new))
}

/// Records a live map of `file` reaching `reach`, whose mappings are
/// `region`'s; returns its number (0 for a file with no identity, which is
/// not tracked).
pub(crate) fn register(file: Option<FileId>, reach: u64, region: &Arc<RwLock<Region>>) -> u64 {
    let Some(file) = file else { return 0 };
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    let region = Arc::downgrade(region);
    with(|files| files.entry(file).or_default().push(Entry { id, reach, region }));
    id
}

/// The map `id` of `file` now reaches `reach`.
pub(crate) fn update(file: Option<FileId>, id: u64, reach: u64) {
    let Some(file) = file else { return };
    with(|files| {
        if let Some(entry) = files
            .get_mut(&file)
            .and_then(|maps| maps.iter_mut().find(|m| m.id == id))
        {
            entry.reach = reach;
        }
    });
}

/// The map `id` of `file` is gone (closed or dropped); idempotent.
pub(crate) fn unregister(file: Option<FileId>, id: u64) {
    let Some(file) = file else { return };
    with(|files| {
        if let Some(maps) = files.get_mut(&file) {
            maps.retain(|m| m.id != id);
            if maps.is_empty() {
                files.remove(&file);
            }
        }
    });
}

/// Refuses to cut `file` to `size` bytes while a live map other than
/// `except` reaches past that: one of this copy's, or any mapping of the
/// file in the process that this copy does not hold.
///
/// The caller holds no lock of a region: the regions of the file's maps
/// (`except`'s included) are read here.
pub(crate) fn check_cut(file: Option<FileId>, except: u64, size: u64, what: impl FnOnce() -> String) -> Result<()> {
    let Some(file) = file else { return Ok(()) };
    let (reach, regions) = with(|files| {
        let maps = files.get(&file).into_iter().flatten();
        let reach = maps.clone().filter(|m| m.id != except).map(|m| m.reach).max();
        (reach, maps.map(|m| m.region.clone()).collect::<Vec<_>>())
    });
    if let Some(reach) = reach.filter(|&reach| reach > size) {
        return Err(Error::new(
            ErrorKind::FileInUse,
            format!(
                "{}: another map in this process reaches byte {reach} of the file, and cutting it to {size} bytes \
                 would make reading that map a crash (SIGBUS); close that map first",
                what()
            ),
        ));
    }
    // Outside the table's lock (a resize updates the table while holding
    // its region), and held while the kernel's list is read, so that no
    // mapping of this copy moves or goes meanwhile: an address this copy
    // gave up could be another copy's by then.
    let regions: Vec<Arc<RwLock<Region>>> = regions.iter().filter_map(Weak::upgrade).collect();
    let held: Vec<_> = regions
        .iter()
        .map(|region| region.read().unwrap_or_else(|poisoned| poisoned.into_inner()))
        .collect();
    let own = merged(held.iter().flat_map(|region| region.address_ranges()).collect());
    let mapped = match sys::mappings_of(file) {
        Ok(mapped) => mapped,
        Err(e) => {
            return Err(Error::io(
                e,
                format!(
                    "{}: cannot read this process's mappings (/proc/self/maps) to check that no other map of the \
                     file reaches past byte {size}",
                    what()
                ),
            ))
        }
    };
    drop(held);
    let foreign = mapped.iter().filter(|m| {
        // The kernel merges adjacent mappings of one open file: one line may
        // span two of this copy's maps, so it is ours when their union covers it.
        let ours = own.iter().any(|&(from, to)| from <= m.start && m.end <= to);
        let reach = m.offset.saturating_add((m.end - m.start) as u64);
        !ours && reach > size
    });
    match foreign.map(|m| m.offset.saturating_add((m.end - m.start) as u64)).max() {
        Some(reach) => Err(Error::new(
            ErrorKind::FileInUse,
            format!(
                "{}: a mapping of the file this library did not make (another copy of the package loaded in this \
                 process, or another library) reaches byte {reach} of it, and cutting it to {size} bytes would \
                 make reading that mapping a crash (SIGBUS); close that map first",
                what()
            ),
        )),
        None => Ok(()),
    }
}

/// Address ranges `[from, to)` sorted, those that touch or overlap joined.
fn merged(mut ranges: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    ranges.sort_unstable();
    let mut out: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    for (from, to) in ranges {
        match out.last_mut() {
            Some(last) if from <= last.1 => last.1 = last.1.max(to),
            _ => out.push((from, to)),
        }
    }
    out
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use crate::*;

    use crate::grow::tests::{dir, request};

    /// A shrink by this map, with the tail's pages possibly in use (the usual case).
    fn shrink(len: u64) -> Resize<'static> {
        request(len, true)
    }

    /// Another copy of the library (its own table, which this one cannot
    /// see) stands in as a mapping made straight with memmap2.
    #[test]
    fn a_mapping_this_copy_did_not_make_refuses_a_cut_under_it() {
        let dir = dir("foreign");
        let path = dir.join("f");
        std::fs::write(&path, vec![1u8; 1 << 20]).unwrap();
        let file = std::fs::OpenOptions::new().read(true).write(true).open(&path).unwrap();
        for private in [false, true] {
            let foreign = if private {
                // Copy-on-write: past the end of its file, SIGBUS all the same.
                // SAFETY: the test's own file, nobody cuts it while mapped (that is the point).
                unsafe { memmap2::MmapOptions::new().map_copy(&file).unwrap() }
            } else {
                // SAFETY: the test's own file, nobody cuts it while mapped (that is the point).
                unsafe { memmap2::MmapOptions::new().map_mut(&file).unwrap() }
            };
            let map = Mapping::open(
                Source::Path(path.clone()),
                Mode::ReadWrite,
                0,
                Length::RestOfFile { item_size: 1 },
            )
            .unwrap();
            let err = map.resize(&shrink(4096)).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::FileInUse, "{err}");
            assert!(err.message().contains("did not make"), "{err}");
            drop(map);
            let err = Mapping::open(Source::Path(path.clone()), Mode::Create, 0, Length::Exact(16)).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::FileInUse, "{err}");
            assert_eq!(std::fs::metadata(&path).unwrap().len(), 1 << 20, "nothing was cut");
            assert_eq!(foreign[(1 << 20) - 1], 1);
            drop(foreign);
        }
        // A mapping that ends before the cut is no obstacle, nor are this
        // copy's own (its room past the end, mappings retained by growth).
        let map = Mapping::open(
            Source::Path(path.clone()),
            Mode::ReadWrite,
            0,
            Length::RestOfFile { item_size: 1 },
        )
        .unwrap();
        // SAFETY: as above.
        let short = unsafe { memmap2::MmapOptions::new().len(4096).map_mut(&file).unwrap() };
        map.resize(&shrink(64 << 20)).unwrap();
        map.resize(&shrink(8192)).unwrap();
        map.resize(&shrink(1 << 30)).unwrap();
        map.resize(&shrink(4096)).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 4096);
        drop((map, short));
        let map = Mapping::open(Source::Path(path.clone()), Mode::Create, 0, Length::Exact(16)).unwrap();
        drop(map);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 16);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The gate: opens share it, resizes hold it alone, across open file
    /// descriptions of one process (as across processes); a caller's
    /// descriptor is reopened so that two holders of it fence each other.
    #[test]
    fn the_gate_is_shared_by_opens_and_held_alone_by_resizes() {
        use std::time::Duration;
        let dir = dir("gate");
        let path = dir.join("f");
        std::fs::write(&path, [0u8; 16]).unwrap();
        let open = || std::fs::OpenOptions::new().read(true).write(true).open(&path).unwrap();
        let (a, b, c) = (open(), open(), open());
        let short = Duration::from_millis(30);
        let timed_out = |r: std::io::Result<Option<crate::sys::Gate<'_>>>| matches!(r, Err(e) if e.kind() == std::io::ErrorKind::TimedOut);
        let alone = crate::sys::gate_within(&a, true, false, short)
            .unwrap()
            .expect("a gate on Linux");
        assert!(timed_out(crate::sys::gate_within(&b, false, false, short)));
        assert!(timed_out(crate::sys::gate_within(&b, true, false, short)));
        drop(alone);
        let shared = crate::sys::gate_within(&b, false, false, short).unwrap().unwrap();
        let also = crate::sys::gate_within(&c, false, false, short).unwrap().unwrap();
        assert!(timed_out(crate::sys::gate_within(&a, true, false, short)));
        drop((shared, also));
        // One description: on its own it would not fence itself.
        let first = crate::sys::gate_within(&a, true, true, short).unwrap().unwrap();
        assert!(timed_out(crate::sys::gate_within(&a, true, true, short)));
        drop(first);
        // A waiter gets it once the holder lets go.
        let held = crate::sys::gate_within(&a, true, false, short).unwrap().unwrap();
        std::thread::scope(|scope| {
            let waiter =
                scope.spawn(|| crate::sys::gate_within(&b, true, false, Duration::from_secs(20)).map(|g| g.is_some()));
            std::thread::sleep(Duration::from_millis(50));
            drop(held);
            assert!(waiter.join().unwrap().unwrap());
        });
        // A process's record lock of the whole file (lockf) is not a gate:
        // passed by, never waited for (it could be the caller's own).
        // SAFETY: all-zero is a valid `struct flock` (l_len 0: to the end of any size).
        let mut lock: libc::flock = unsafe { std::mem::zeroed() };
        lock.l_type = libc::F_WRLCK as libc::c_short;
        lock.l_whence = libc::SEEK_SET as libc::c_short;
        let fd = std::os::fd::AsRawFd::as_raw_fd(&c);
        // SAFETY: a record lock command on an open descriptor with a live `struct flock`.
        let locked = unsafe { libc::fcntl(fd, libc::F_SETLK, &lock) };
        assert_eq!(locked, 0);
        let started = std::time::Instant::now();
        assert!(crate::sys::gate_within(&a, true, false, Duration::from_secs(20))
            .unwrap()
            .is_none());
        assert!(started.elapsed() < Duration::from_secs(10));
        drop((a, b, c));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A thread opening the file and reading its last byte while another
    /// grows and shrinks it: every cut comes before an open reads the size,
    /// or is refused; never SIGBUS (which would end this test binary).
    #[test]
    fn opens_racing_cuts_never_map_past_the_end() {
        let dir = dir("race");
        let path = dir.join("f");
        std::fs::write(&path, vec![7u8; 4096]).unwrap();
        let map = Mapping::open(
            Source::Path(path.clone()),
            Mode::ReadWrite,
            0,
            Length::RestOfFile { item_size: 1 },
        )
        .unwrap();
        let stop = std::sync::atomic::AtomicBool::new(false);
        let (mut refused, mut opened) = (0, 0);
        std::thread::scope(|scope| {
            let reader = scope.spawn(|| {
                let mut opened = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let other = Mapping::open(
                        Source::Path(path.clone()),
                        Mode::ReadOnly,
                        0,
                        Length::RestOfFile { item_size: 1 },
                    )
                    .unwrap();
                    let mut last = [0u8];
                    other.read_into(other.len() - 1, &mut last).unwrap();
                    opened += 1;
                }
                opened
            });
            for _ in 0..3000 {
                map.resize(&shrink(1 << 20)).unwrap();
                match map.resize(&shrink(4096)) {
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::FileInUse => refused += 1,
                    Err(e) => panic!("{e}"),
                }
            }
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            opened = reader.join().unwrap();
        });
        assert!(opened > 0, "{refused} refused");
        drop(map);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Two maps of the file that only ever grow it, each from the size it
    /// reads: one that read the size before the other grew the file would
    /// cut it under the other's map (SIGBUS) were the size not read under
    /// the gate.
    #[test]
    fn growth_racing_growth_never_cuts() {
        let dir = dir("grow-race");
        let path = dir.join("f");
        std::fs::write(&path, vec![7u8; 4096]).unwrap();
        let grow = |k: u64| {
            let mut map: Option<Mapping> = None;
            let mut grown = 0;
            for i in 0..1500u64 {
                let m = match map.take() {
                    Some(m) => m,
                    None => Mapping::open(
                        Source::Path(path.clone()),
                        Mode::ReadWrite,
                        0,
                        Length::RestOfFile { item_size: 1 },
                    )
                    .unwrap(),
                };
                let len = m.len() as u64 + 1 + (i * 2_654_435_761 + k * 977) % 8192;
                match m.resize(&request(len, false)) {
                    Ok(_) => {
                        let mut last = [0u8];
                        m.read_into(m.len() - 1, &mut last).unwrap();
                        grown += 1;
                        map = Some(m);
                    }
                    // The other grew the file past this map's end: reopened.
                    Err(e) if e.kind() == ErrorKind::NotAtEnd => {}
                    Err(e) => panic!("{e}"),
                }
            }
            grown
        };
        let grown = std::thread::scope(|scope| {
            let other = scope.spawn(|| grow(1));
            grow(0) + other.join().unwrap()
        });
        assert!(grown > 0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn ranges_that_touch_are_one() {
        assert_eq!(
            super::merged(vec![(30, 40), (0, 10), (10, 20), (35, 50), (60, 70)]),
            vec![(0, 20), (30, 50), (60, 70)]
        );
    }

    #[test]
    fn the_kernels_list_is_read_line_by_line() {
        let id = FileId {
            device: libc::makedev(0xfd, 1),
            inode: 1234,
        };
        let line = "7f0000000000-7f0000002000 rw-s 00003000 fd:01 1234    /data/a file (deleted)";
        assert_eq!(
            crate::sys::mapped_line(line, id),
            Some(super::Mapped {
                start: 0x7f00_0000_0000,
                end: 0x7f00_0000_2000,
                offset: 0x3000
            })
        );
        assert_eq!(crate::sys::mapped_line(&line.replace(" 1234 ", " 1235 "), id), None);
        // Another device number and no way to ask the mapping (no such range
        // is mapped): counted as the file, a refusal rather than a crash.
        assert!(crate::sys::mapped_line(&line.replace("fd:01", "00:2a"), id).is_some());
        assert_eq!(
            crate::sys::mapped_line("7f0000000000-7f0000002000 r--p 00000000 00:00 0", id),
            None
        );
    }
}

//! Fault injection: every system call of every open, grow, flush, advise and
//! close scenario fails in turn, with each of ENOSPC, EIO, EACCES, ENOMEM and
//! EINTR, on ext4 (the temp directory here) and on tmpfs (`/dev/shm`, which
//! lacks `FALLOC_FL_ZERO_RANGE`, so the commit takes its fallback). A failed
//! open must leave the directory listing and every file's bytes, size and
//! allocated blocks as they were, with the error's kind the errno's; an EINTR
//! must be retried to the same result as a clean run. A failure after the open
//! (flush, advise, close) must be a coded error that a retry recovers from.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::fault::{self, Call};
use crate::*;

/// Every entry of `dir`: kind, size and bytes (or symlink target), and the
/// blocks allocated to it.
fn snapshot(dir: &Path) -> Snapshot {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let meta = std::fs::symlink_metadata(entry.path()).unwrap();
        let what = if meta.file_type().is_symlink() {
            format!("link -> {}", std::fs::read_link(entry.path()).unwrap().display())
        } else if meta.file_type().is_fifo() || !meta.is_file() {
            "other".to_string()
        } else {
            let bytes = std::fs::read(entry.path()).unwrap();
            let sum = bytes
                .iter()
                .fold(0u64, |h, &b| h.wrapping_mul(131).wrapping_add(b as u64));
            format!("file {} bytes, hash {sum:x}", meta.len())
        };
        out.insert(name, (what, meta.blocks()));
    }
    // tmpfs allocates pages and nothing else: exact there.
    let slack = if dir.starts_with("/dev/shm") { 0 } else { 8 };
    Snapshot(out, slack)
}

/// A directory's entries, and their blocks in 512-byte units.
#[derive(Debug)]
struct Snapshot(BTreeMap<String, (String, u64)>, u64);

/// Equal entries, and blocks equal but for ext4's extent-tree blocks: how
/// many a file needs depends on where its extents landed, which other
/// writers on the disk change from run to run (one 4 KiB block either way; the
/// smallest reservation a scenario could leave behind is two). tmpfs has no
/// such blocks, so there blocks must be equal.
impl PartialEq for Snapshot {
    fn eq(&self, other: &Snapshot) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .zip(&other.0)
                .all(|((a, (what_a, blocks_a)), (b, (what_b, blocks_b)))| {
                    a == b && what_a == what_b && blocks_a.abs_diff(*blocks_b) <= self.1.max(other.1)
                })
    }
}

/// A scenario: files to make, an open, and what to do with the map after.
struct Scenario {
    name: &'static str,
    prepare: fn(&Path) -> Prepared,
    open: fn(&Prepared) -> Result<Mapping>,
    then: Option<fn(&Mapping) -> Result<()>>,
}

struct Prepared {
    dir: PathBuf,
    /// A caller's descriptor, kept open for the scenario.
    fd: Option<File>,
}

impl Prepared {
    fn path(&self, name: &str) -> Source {
        Source::Path(self.dir.join(name))
    }
    fn fd(&self) -> Source {
        use std::os::fd::AsRawFd;
        Source::Fd(self.fd.as_ref().unwrap().as_raw_fd())
    }
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + 3) as u8).collect()
}

fn with_file(dir: &Path, name: &str, len: usize) -> Prepared {
    std::fs::write(dir.join(name), pattern(len)).unwrap();
    Prepared {
        dir: dir.to_path_buf(),
        fd: None,
    }
}

/// "f": 8 KiB of data, a hole, 4 KiB of data at 512 KiB, a hole to 1 MiB.
fn with_sparse_file(dir: &Path) -> Prepared {
    let prepared = with_file(dir, "f", 8192);
    let file = std::fs::OpenOptions::new().write(true).open(dir.join("f")).unwrap();
    file.set_len(1 << 20).unwrap();
    use std::os::unix::fs::FileExt;
    file.write_all_at(&[9; 4096], 512 << 10).unwrap();
    prepared
}

/// "f": 1 MiB of blocks reserved and never written (`fallocate`), which
/// read as zeros and which ext4's `SEEK_HOLE` calls holes: an undo must not
/// punch them out.
fn with_reserved_file(dir: &Path) -> Prepared {
    let prepared = with_file(dir, "f", 0);
    let file = std::fs::OpenOptions::new().write(true).open(dir.join("f")).unwrap();
    use std::os::fd::AsRawFd;
    // SAFETY: fallocate on an open descriptor.
    assert_eq!(unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, 1 << 20) }, 0);
    prepared
}

/// [`with_sparse_file`], and 1 MiB reserved past its end (`fallocate
/// --keep-size`): blocks that hide its holes from a count of `st_blocks`.
fn with_holes_hidden_past_the_end(dir: &Path) -> Prepared {
    let prepared = with_sparse_file(dir);
    let file = std::fs::OpenOptions::new().write(true).open(dir.join("f")).unwrap();
    use std::os::fd::AsRawFd;
    // SAFETY: fallocate on an open descriptor.
    let got = unsafe { libc::fallocate(file.as_raw_fd(), libc::FALLOC_FL_KEEP_SIZE, 1 << 20, 1 << 20) };
    assert_eq!(got, 0);
    prepared
}

fn with_fd(dir: &Path, len: usize) -> Prepared {
    let mut prepared = with_file(dir, "f", len);
    prepared.fd = Some(
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(dir.join("f"))
            .unwrap(),
    );
    prepared
}

fn write_and(map: &Mapping, then: impl FnOnce(&Mapping) -> Result<()>) -> Result<()> {
    map.write_from(map.len() - 3, &[1, 2, 3])?;
    then(map)
}

fn request<'a>(
    len: u64,
    fill: Option<&'a [u8]>,
    header: &'a [u8],
    sync: bool,
    held: bool,
    discard: bool,
) -> Resize<'a> {
    Resize {
        len,
        fill,
        header,
        header_now: &[],
        sparse: false,
        past_end: if discard { PastEnd::Discard } else { PastEnd::Refuse },
        sync,
        held,
        tail_in_use: held,
    }
}

/// A resize whose failure must leave the map as it was: same length, same bytes.
fn resized(
    map: &Mapping,
    len: u64,
    fill: Option<&[u8]>,
    header: &[u8],
    sync: bool,
    held: bool,
    discard: bool,
) -> Result<()> {
    let before = map.len();
    let mut bytes = vec![0; before.min(4096)];
    map.read_into(before - bytes.len(), &mut bytes)?;
    let result = map.resize(&request(len, fill, header, sync, held, discard));
    if result.is_err() {
        assert_eq!(map.len(), before, "a failed resize changed the length");
        let mut after = vec![0; bytes.len()];
        map.read_into(before - after.len(), &mut after)?;
        assert_eq!(after, bytes, "a failed resize changed the bytes");
    } else {
        assert_eq!(map.len() as u64, len);
    }
    result.map(|_| ())
}

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "r of an existing file",
            prepare: |d| with_file(d, "f", 10_000),
            open: |p| Mapping::open(p.path("f"), Mode::ReadOnly, 100, Length::Exact(5000)),
            then: None,
        },
        Scenario {
            name: "c of an existing file",
            prepare: |d| with_file(d, "f", 10_000),
            open: |p| Mapping::open(p.path("f"), Mode::CopyOnWrite, 0, Length::RestOfFile { item_size: 4 }),
            then: None,
        },
        Scenario {
            name: "r+ without growth",
            prepare: |d| with_file(d, "f", 10_000),
            open: |p| Mapping::open(p.path("f"), Mode::ReadWrite, 0, Length::Exact(8000)),
            then: None,
        },
        Scenario {
            name: "r+ that grows the file",
            prepare: |d| with_file(d, "f", 10_000),
            open: |p| Mapping::open(p.path("f"), Mode::ReadWrite, 5000, Length::Exact(50_000)),
            then: None,
        },
        Scenario {
            name: "w+ of a new file",
            prepare: |d| Prepared {
                dir: d.to_path_buf(),
                fd: None,
            },
            open: |p| Mapping::open(p.path("new"), Mode::Create, 0, Length::Exact(20_000)),
            then: None,
        },
        Scenario {
            name: "w+ over a larger file (shrinks it)",
            prepare: |d| with_file(d, "f", 100_000),
            open: |p| Mapping::open(p.path("f"), Mode::Create, 10, Length::Exact(30_000)),
            then: None,
        },
        Scenario {
            name: "w+ over a smaller file (grows it)",
            prepare: |d| with_file(d, "f", 10_000),
            open: |p| Mapping::open(p.path("f"), Mode::Create, 0, Length::Exact(70_000)),
            then: None,
        },
        Scenario {
            name: "w+ over a file of the same size",
            prepare: |d| with_file(d, "f", 40_960),
            open: |p| Mapping::open(p.path("f"), Mode::Create, 0, Length::Exact(40_960)),
            then: None,
        },
        Scenario {
            name: "w+ over a sparse file",
            prepare: with_sparse_file,
            open: |p| Mapping::open(p.path("f"), Mode::Create, 0, Length::Exact(2 << 20)),
            then: None,
        },
        Scenario {
            name: "r+ over a sparse file (reserves the holes it maps)",
            prepare: with_sparse_file,
            open: |p| Mapping::open(p.path("f"), Mode::ReadWrite, 4096, Length::Exact((1 << 20) - 4096)),
            then: None,
        },
        Scenario {
            name: "r+ over reserved, unwritten blocks (not holes: kept by an undo)",
            prepare: with_reserved_file,
            open: |p| Mapping::open(p.path("f"), Mode::ReadWrite, 0, Length::Exact(1 << 20)),
            then: None,
        },
        Scenario {
            name: "r+ over holes hidden by blocks reserved past the end",
            prepare: with_holes_hidden_past_the_end,
            open: |p| Mapping::open(p.path("f"), Mode::ReadWrite, 0, Length::Exact(1 << 20)),
            then: None,
        },
        Scenario {
            name: "sparse w+ with a prefix over a file that starts with a hole (reserves its page)",
            prepare: |d| {
                let prepared = with_file(d, "f", 0);
                let file = std::fs::OpenOptions::new().write(true).open(d.join("f")).unwrap();
                file.set_len(1 << 20).unwrap();
                use std::os::unix::fs::FileExt;
                file.write_all_at(&[9; 4096], 512 << 10).unwrap();
                prepared
            },
            open: |p| {
                OpenOptions::new(Mode::Create, Length::Exact(20_000))
                    .offset(128)
                    .prefix(&[0x93; 128])
                    .sparse(true)
                    .open(p.path("f"))
            },
            then: None,
        },
        Scenario {
            name: "w+ with a prefix over an existing file (openMemmap)",
            prepare: |d| with_file(d, "f", 50_000),
            open: |p| {
                OpenOptions::new(Mode::Create, Length::Exact(20_000))
                    .offset(128)
                    .prefix(&[0x93; 128])
                    .open(p.path("f"))
            },
            then: None,
        },
        Scenario {
            name: "w+ with a prefix, a new file",
            prepare: |d| Prepared {
                dir: d.to_path_buf(),
                fd: None,
            },
            open: |p| {
                OpenOptions::new(Mode::Create, Length::Exact(20_000))
                    .offset(64)
                    .prefix(&[0x93; 64])
                    .open(p.path("new"))
            },
            then: None,
        },
        Scenario {
            name: "w+ through a dangling symlink",
            prepare: |d| {
                std::os::unix::fs::symlink("target", d.join("link")).unwrap();
                Prepared {
                    dir: d.to_path_buf(),
                    fd: None,
                }
            },
            open: |p| Mapping::open(p.path("link"), Mode::Create, 0, Length::Exact(5000)),
            then: None,
        },
        Scenario {
            name: "r+ by descriptor that grows the file",
            prepare: |d| with_fd(d, 10_000),
            open: |p| Mapping::open(p.fd(), Mode::ReadWrite, 0, Length::Exact(30_000)),
            then: None,
        },
        Scenario {
            name: "w+ by descriptor, shorter than the file",
            prepare: |d| with_fd(d, 10_000),
            open: |p| Mapping::open(p.fd(), Mode::Create, 0, Length::Exact(100)),
            then: None,
        },
        Scenario {
            name: "r+ reopened from a description (never grows, identity checked)",
            prepare: |d| with_file(d, "f", 10_000),
            open: |p| {
                let Source::Path(path) = p.path("f") else {
                    unreachable!()
                };
                let meta = std::fs::metadata(&path).unwrap();
                OpenOptions::new(Mode::ReadWrite, Length::Exact(4000))
                    .offset(6000)
                    .never_grow()
                    .expect_file(FileId {
                        device: meta.dev(),
                        inode: meta.ino(),
                    })
                    .open(Source::Path(path))
            },
            then: None,
        },
        Scenario {
            name: "r+ that grows, written, flushed",
            prepare: |d| with_file(d, "f", 10_000),
            open: |p| Mapping::open(p.path("f"), Mode::ReadWrite, 0, Length::Exact(30_000)),
            then: Some(|m| write_and(m, Mapping::flush)),
        },
        Scenario {
            name: "w+ new, written, flushed in the background",
            prepare: |d| Prepared {
                dir: d.to_path_buf(),
                fd: None,
            },
            open: |p| Mapping::open(p.path("new"), Mode::Create, 0, Length::Exact(30_000)),
            then: Some(|m| write_and(m, |m| m.flush_range_in_background(0, m.len()))),
        },
        Scenario {
            name: "w+ over a file, written, closed keeping the address",
            prepare: |d| with_file(d, "f", 100),
            open: |p| Mapping::open(p.path("f"), Mode::Create, 0, Length::Exact(30_000)),
            then: Some(|m| write_and(m, |m| m.close_keeping_address(true))),
        },
        Scenario {
            name: "resize: append rows, then the header that counts them",
            prepare: |d| with_file(d, "f", 128 + 4000),
            open: |p| Mapping::open(p.path("f"), Mode::ReadWrite, 128, Length::Exact(4000)),
            then: Some(|m| resized(m, 7000, Some(&[5; 3000]), &[0x93; 128], false, false, false)),
        },
        Scenario {
            // Not "resize: ...": the first append changes the disk; what a
            // failed second one must leave is checked here.
            name: "two appends, the second past the blocks the first reserved ahead",
            prepare: |d| with_file(d, "f", 128 + 4000),
            open: |p| Mapping::open(p.path("f"), Mode::ReadWrite, 128, Length::Exact(4000)),
            then: Some(|m| {
                if m.len() < 7000 {
                    resized(m, 7000, Some(&[5; 3000]), &[0x93; 128], false, false, false)?;
                }
                let dir = m.path().and_then(Path::parent).unwrap().to_path_buf();
                let before = snapshot(&dir);
                let result = resized(m, 207_000, Some(&[7; 200_000]), &[0x94; 128], false, false, false);
                if let Err(err) = &result {
                    assert_eq!(snapshot(&dir), before, "a failed second append: {err}");
                }
                result
            }),
        },
        Scenario {
            name: "resize: append with sync, held, past bytes an interrupted append left",
            prepare: |d| with_file(d, "f", 64 + 4000 + 77),
            open: |p| Mapping::open(p.path("f"), Mode::ReadWrite, 64, Length::Exact(4000)),
            then: Some(|m| resized(m, 4000 + 70_000, Some(&[6; 70_000]), &[0x93; 64], true, true, true)),
        },
        Scenario {
            name: "resize: grow with reserved zeros, held",
            prepare: |d| with_file(d, "f", 10_000),
            open: |p| Mapping::open(p.path("f"), Mode::ReadWrite, 0, Length::Exact(10_000)),
            then: Some(|m| resized(m, 3 << 20, None, &[], false, true, false)),
        },
        Scenario {
            name: "resize: grow sparse",
            prepare: |d| with_file(d, "f", 10_000),
            open: |p| Mapping::open(p.path("f"), Mode::ReadWrite, 0, Length::Exact(10_000)),
            then: Some(|m| {
                m.resize(&Resize {
                    sparse: true,
                    ..request(1 << 20, None, &[], false, false, false)
                })
                .map(|_| ())
            }),
        },
        Scenario {
            name: "resize: shrink a held map, header first",
            prepare: |d| with_file(d, "f", 64 + 100_000),
            open: |p| Mapping::open(p.path("f"), Mode::ReadWrite, 64, Length::Exact(100_000)),
            then: Some(|m| resized(m, 5000, None, &[0x93; 64], false, true, false)),
        },
        Scenario {
            name: "resize: shrink, cutting bytes an interrupted append left",
            prepare: |d| with_file(d, "f", 10_000),
            open: |p| Mapping::open(p.path("f"), Mode::ReadWrite, 0, Length::Exact(6000)),
            then: Some(|m| resized(m, 3000, None, &[], false, false, true)),
        },
        Scenario {
            name: "r, advised over part of the map",
            prepare: |d| with_file(d, "f", 100_000),
            open: |p| Mapping::open(p.path("f"), Mode::ReadOnly, 0, Length::Exact(100_000)),
            then: Some(|m| m.advise_range(Advice::Random, 10_000, 20_000)),
        },
    ]
}

/// Past the point of no return of a `w+` by path: the data reads as zeros
/// (every byte after a prefix of at most 128 bytes, up to the size a clean run
/// gave the file); a shrinking `w+` whose cut failed keeps its old length.
fn given_up(dir: &Path, clean: &BTreeMap<String, u64>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let bytes = std::fs::read(entry.path()).unwrap();
        let end = clean[&entry.file_name().to_string_lossy().into_owned()] as usize;
        assert!(bytes[..end.min(bytes.len())].iter().skip(128).all(|&b| b == 0));
    }
}

fn sizes(dir: &Path) -> BTreeMap<String, u64> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let len = std::fs::metadata(entry.path()).map_or(0, |m| m.len());
            (entry.file_name().to_string_lossy().into_owned(), len)
        })
        .collect()
}

const ERRNOS: [i32; 5] = [libc::ENOSPC, libc::EIO, libc::EACCES, libc::ENOMEM, libc::EINTR];

fn kind_of(errno: i32, call: Call) -> ErrorKind {
    match (errno, call) {
        (libc::ENOSPC, _) => ErrorKind::NoSpace,
        (libc::EACCES, _) => ErrorKind::PermissionDenied,
        // No room in the address space for the mapping.
        (libc::ENOMEM, Call::Mmap) => ErrorKind::TooLarge,
        _ => ErrorKind::Io,
    }
}

/// Runs every scenario with every call failing in turn, in a fresh
/// directory under `root` each time. Returns how many runs were made.
fn every_call_fails_in_turn(root: &Path) -> usize {
    let mut runs = 0;
    for scenario in scenarios() {
        let dir = root.join("clean");
        let fresh = |dir: &Path| {
            let _ = std::fs::remove_dir_all(dir);
            std::fs::create_dir_all(dir).unwrap();
            (scenario.prepare)(dir)
        };
        // A clean run: which calls it makes, and what it leaves.
        let prepared = fresh(&dir);
        fault::arm(None, 0);
        let map = (scenario.open)(&prepared).unwrap_or_else(|e| panic!("{}: {e}", scenario.name));
        let (mut calls, no_return) = fault::disarm();
        let opening = calls.len();
        fault::arm(None, 0);
        if let Some(then) = scenario.then {
            then(&map).unwrap_or_else(|e| panic!("{}: {e}", scenario.name));
        }
        calls.extend(fault::disarm().0);
        let clean_runs = map.runs.lock().unwrap().count();
        drop(map);
        drop(prepared);
        let succeeded = snapshot(&dir);
        let clean_sizes = sizes(&dir);
        assert!(opening > 1, "{}: no calls seen", scenario.name);

        for (at, call) in calls.iter().enumerate() {
            for errno in ERRNOS {
                runs += 1;
                let mut attempt = 0;
                'attempt: loop {
                    let what = format!("{}: call {at} ({call:?}) failing with errno {errno}", scenario.name);
                    let dir = root.join("faulty");
                    let prepared = fresh(&dir);
                    let before = snapshot(&dir);
                    fault::arm(Some(at), errno);
                    let opened = (scenario.open)(&prepared);
                    if at < opening {
                        fault::disarm();
                        // A read-only map closes its descriptor at the end of the
                        // open; a failing close of a descriptor only read from
                        // loses nothing, so the open stands. So does one whose gate
                        // could not be taken (sys::gate: best effort).
                        if errno == libc::EINTR || matches!(call, Call::Close | Call::Lock) {
                            let map = opened.unwrap_or_else(|e| panic!("{what}: EINTR not retried: {e}"));
                            if let Some(then) = scenario.then {
                                then(&map).unwrap();
                            }
                            drop(map);
                            drop(prepared);
                            assert_eq!(snapshot(&dir), succeeded, "{what}");
                        } else {
                            let err = opened.err().unwrap_or_else(|| panic!("{what}: the open succeeded"));
                            assert_eq!(err.kind(), kind_of(errno, *call), "{what}: {err}");
                            drop(prepared);
                            if no_return.is_some_and(|n| at >= n) {
                                // Only a call after w+ gave up the old contents (a
                                // cut, or re-reserving punched blocks: no new space
                                // needed, so only a failing disk): none of them is left.
                                assert!(err.message().contains("already given up"), "{what}: {err}");
                                given_up(&dir, &clean_sizes);
                            } else {
                                assert_eq!(snapshot(&dir), before, "{what}: {err}");
                            }
                        }
                        break 'attempt;
                    }
                    let map = opened.unwrap_or_else(|e| panic!("{what}: the open failed: {e}"));
                    let then = scenario.then.unwrap();
                    let before_then = snapshot(&dir);
                    let result = then(&map);
                    let (seen, _) = fault::disarm();
                    if seen.get(..=at) != calls.get(..=at) && attempt < 20 {
                        // Not the clean run's calls: the kernel placed a
                        // mapping elsewhere this time (an mremap in place
                        // that failed where the clean run's succeeded), so
                        // call `at` was another call. Again, from scratch.
                        attempt += 1;
                        drop(map);
                        drop(prepared);
                        continue 'attempt;
                    }
                    match result {
                        // A failing mmap or mremap of room to grow has a fallback.
                        // So does an append's reservation ahead (its pwrite reserves),
                        // and the lease it is taken under, and the gate.
                        Ok(()) => assert!(
                            errno == libc::EINTR
                                || matches!(
                                    call,
                                    Call::Mmap | Call::Mremap | Call::Reserve | Call::Lease | Call::Lock
                                ),
                            "{what}: the failure was not reported"
                        ),
                        Err(err) => {
                            assert_eq!(err.kind(), kind_of(errno, *call), "{what}: {err}");
                            if scenario.name.starts_with("resize") {
                                // A failed resize changes nothing on disk.
                                assert_eq!(snapshot(&dir), before_then, "{what}: {err}");
                            }
                            if *call == Call::Madvise {
                                // A failed madvise leaves the count of areas as it was.
                                assert_eq!(map.runs.lock().unwrap().count(), 1, "{what}");
                            }
                            // Nothing was lost: the same call again succeeds.
                            then(&map).unwrap_or_else(|e| panic!("{what}: no recovery: {e}"));
                        }
                    }
                    assert_eq!(map.runs.lock().unwrap().count(), clean_runs, "{what}");
                    drop(map);
                    drop(prepared);
                    assert_eq!(snapshot(&dir), succeeded, "{what}");
                    break;
                }
            }
        }
    }
    runs
}

#[test]
fn every_call_fails_in_turn_without_fallocate() {
    // As on macOS: no reservation, and w+ zeroes by cutting and growing again.
    let root = std::env::temp_dir().join(format!("memmap-core-{}-no-fallocate", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    fault::lack(&[Call::Fallocate]);
    let runs = std::panic::catch_unwind(|| every_call_fails_in_turn(&root));
    fault::lack(&[]);
    let _ = std::fs::remove_dir_all(&root);
    assert!(runs.unwrap() > 400);
}

#[test]
fn every_call_fails_in_turn_on_ext4_and_tmpfs() {
    let roots = [
        Some(std::env::temp_dir().join(format!("memmap-core-{}-faults", std::process::id()))),
        // tmpfs: no FALLOC_FL_ZERO_RANGE, so w+ punches and re-reserves.
        Path::new("/dev/shm")
            .is_dir()
            .then(|| PathBuf::from(format!("/dev/shm/memmap-core-{}-faults", std::process::id()))),
    ];
    for root in roots.into_iter().flatten() {
        std::fs::create_dir_all(&root).unwrap();
        let runs = std::panic::catch_unwind(|| every_call_fails_in_turn(&root));
        let _ = std::fs::remove_dir_all(&root);
        let runs = runs.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        assert!(runs > 500, "{runs} runs");
    }
}

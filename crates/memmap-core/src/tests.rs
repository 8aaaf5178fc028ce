use super::*;
use std::io::Write;
use std::path::Path;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("memmap-core-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write_file(path: &Path, bytes: &[u8]) {
    std::fs::File::create(path).unwrap().write_all(bytes).unwrap();
}

/// Reads `len` bytes at the start of the map. Test-only: the library itself
/// never forms a slice into the mapping.
fn read(map: &Mapping, len: usize) -> Vec<u8> {
    // SAFETY: the test holds the only handle to the map and nothing writes it
    // while the copy is made.
    unsafe { std::slice::from_raw_parts(map.as_ptr(), len) }.to_vec()
}

#[test]
fn read_only_maps_any_offset_and_never_writes_the_file() {
    let dir = temp_dir("ro");
    let path = dir.join("f");
    let bytes: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    write_file(&path, &bytes);
    for offset in [0u64, 1, 7, 4095, 4096, 4097, 9_999] {
        let map = Mapping::open(
            Source::Path(path.clone()),
            Mode::ReadOnly,
            offset,
            Length::RestOfFile { item_size: 1 },
        )
        .unwrap();
        assert_eq!(map.len() as u64, 10_000 - offset);
        assert_eq!(read(&map, 1)[0], bytes[offset as usize]);
        // SAFETY: the map is private and writable; the write stays in memory.
        unsafe { *map.as_ptr() = 0xEE };
        map.close().unwrap();
    }
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[test]
fn create_sizes_the_file_like_numpy_and_removes_it_on_failure() {
    let dir = temp_dir("create");
    let path = dir.join("new");
    let map = Mapping::open(Source::Path(path.clone()), Mode::Create, 3, Length::Exact(10)).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 13);
    // SAFETY: shared writable map held only by this test.
    unsafe { *map.as_ptr().add(9) = 42 };
    map.flush().unwrap();
    map.close().unwrap();
    assert_eq!(std::fs::read(&path).unwrap()[12], 42);

    let missing = dir.join("never");
    let err = Mapping::open(Source::Path(missing.clone()), Mode::Create, u64::MAX, Length::Exact(10)).unwrap_err();
    assert_eq!(err.code(), "ERR_MEMMAP_TOO_LARGE");
    assert!(!missing.exists(), "a failed w+ must not leave a file behind");
}

#[test]
fn read_write_extends_a_short_file_with_zeros() {
    let dir = temp_dir("extend");
    let path = dir.join("short");
    write_file(&path, &[1, 2, 3]);
    let map = Mapping::open(Source::Path(path.clone()), Mode::ReadWrite, 0, Length::Exact(8)).unwrap();
    assert_eq!(read(&map, 8), vec![1, 2, 3, 0, 0, 0, 0, 0]);
    map.close().unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 8);
}

#[test]
fn copy_on_write_keeps_writes_private() {
    let dir = temp_dir("cow");
    let path = dir.join("f");
    write_file(&path, &[5; 16]);
    let map = Mapping::open(Source::Path(path.clone()), Mode::CopyOnWrite, 0, Length::Exact(16)).unwrap();
    // SAFETY: private map held only by this test.
    unsafe { *map.as_ptr() = 9 };
    assert_eq!(read(&map, 1), vec![9]);
    map.flush().unwrap();
    map.close().unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), vec![5; 16]);
}

#[test]
fn errors_have_stable_codes_and_change_nothing() {
    let dir = temp_dir("errors");
    let empty = dir.join("empty");
    write_file(&empty, &[]);
    let short = dir.join("short");
    write_file(&short, &[0; 10]);
    let cases: Vec<(Source, Mode, u64, Length, &str)> = vec![
        (
            Source::Path(dir.join("missing")),
            Mode::ReadOnly,
            0,
            Length::Exact(1),
            "ERR_MEMMAP_FILE_NOT_FOUND",
        ),
        (
            Source::Path(dir.join("missing")),
            Mode::ReadWrite,
            0,
            Length::Exact(1),
            "ERR_MEMMAP_FILE_NOT_FOUND",
        ),
        (
            Source::Path(dir.clone()),
            Mode::ReadOnly,
            0,
            Length::Exact(1),
            "ERR_MEMMAP_IS_DIRECTORY",
        ),
        (
            Source::Path(empty.clone()),
            Mode::ReadOnly,
            0,
            Length::RestOfFile { item_size: 1 },
            "ERR_MEMMAP_EMPTY_FILE",
        ),
        (
            Source::Path(short.clone()),
            Mode::ReadOnly,
            0,
            Length::Exact(11),
            "ERR_MEMMAP_FILE_TOO_SHORT",
        ),
        (
            Source::Path(short.clone()),
            Mode::CopyOnWrite,
            4,
            Length::Exact(7),
            "ERR_MEMMAP_FILE_TOO_SHORT",
        ),
        (
            Source::Path(short.clone()),
            Mode::ReadOnly,
            0,
            Length::RestOfFile { item_size: 4 },
            "ERR_MEMMAP_NOT_WHOLE_ITEMS",
        ),
        (
            Source::Fd(987_654),
            Mode::ReadOnly,
            0,
            Length::Exact(1),
            "ERR_MEMMAP_BAD_FD",
        ),
    ];
    for (source, mode, offset, length, code) in cases {
        let err = Mapping::open(source.clone(), mode, offset, length).unwrap_err();
        assert_eq!(err.code(), code, "{source:?} {mode:?}: {err}");
    }
    assert!(!dir.join("missing").exists());
    assert_eq!(std::fs::metadata(&short).unwrap().len(), 10);
    assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0);
}

#[test]
fn placeholder_reads_zero_and_releases_the_file() {
    let dir = temp_dir("placeholder");
    let path = dir.join("f");
    write_file(&path, &[7; 8192]);
    let map = Mapping::open(Source::Path(path.clone()), Mode::ReadWrite, 100, Length::Exact(5000)).unwrap();
    assert_eq!(read(&map, 1), vec![7]);
    map.close_keeping_address(true).unwrap();
    assert!(map.is_closed());
    assert_eq!(read(&map, 4), vec![0; 4]);
    // SAFETY: the placeholder is private, writable memory owned by `map`.
    unsafe { *map.as_ptr() = 1 };
    drop(map);
    assert_eq!(std::fs::read(&path).unwrap(), vec![7; 8192]);
}

#[test]
fn live_mappings_are_counted() {
    let dir = temp_dir("count");
    let path = dir.join("f");
    write_file(&path, &[1; 64]);
    // The count is process-wide and other tests open and drop maps in parallel,
    // so only a lower bound holds: at least the maps this test keeps open.
    let held: Vec<Mapping> = (0..32)
        .map(|_| Mapping::open(Source::Path(path.clone()), Mode::ReadOnly, 0, Length::Exact(64)).unwrap())
        .collect();
    assert!(live_mappings() >= held.len());
    drop(held);
    assert!(max_live_mappings() > 1000);
}

/// The whole file at `path`, mode r, in 4-byte items.
fn map_read_only(path: PathBuf) -> Mapping {
    Mapping::open(
        Source::Path(path),
        Mode::ReadOnly,
        0,
        Length::RestOfFile { item_size: 4 },
    )
    .unwrap()
}

#[test]
fn strided_float32_sums_match_a_plain_loop() {
    // Every step the lane-keeping path takes (2, 4, 8) and the generic one (3,
    // 16, negative), counts around the 32-lane and 4096-block edges, values
    // that make a wrong lane visible, and runs that end at the map's last byte.
    let dir = temp_dir("strided-sums");
    let path = dir.join("values.f32");
    let n = 20_000usize;
    let values: Vec<f32> = (0..n).map(|i| ((i * 7919) % 1000) as f32 - 300.5).collect();
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_ne_bytes()).collect();
    write_file(&path, &bytes);
    let map = map_read_only(path);
    for step in [2usize, 3, 4, 8, 16] {
        for count in [1usize, 2, 15, 16, 17, 31, 32, 33, 64, 2047, 2048, 2049, 4097] {
            let Some(at_end) = (n - 1).checked_sub((count - 1) * step) else {
                continue;
            };
            for first in [0usize, 1, at_end] {
                if first + (count - 1) * step >= n {
                    continue;
                }
                let expected: f64 = (0..count).map(|j| values[first + j * step] as f64).sum();
                for (offset, stride) in [(first, step as isize), (first + (count - 1) * step, -(step as isize))] {
                    let view = View {
                        byte_offset: offset * 4,
                        shape: vec![count],
                        strides: vec![stride * 4],
                    };
                    let Some(Scalar::Float(got)) = map
                        .reduce(
                            Element::parse("f4").unwrap(),
                            cfg!(target_endian = "little"),
                            &view,
                            Reduction::FloatSum,
                        )
                        .unwrap()
                    else {
                        panic!("no float sum");
                    };
                    assert!(
                        (got - expected).abs() <= 1e-9 * expected.abs().max(1.0) + 1e-3,
                        "step {stride} count {count} first {first}: {got} vs {expected}"
                    );
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn reductions_shared_among_threads_agree_with_one_pass() {
    // 24 MiB: three times the size where reductions start using every core.
    let dir = temp_dir("parallel-reduce");
    let path = dir.join("values.i32");
    let n = 6 << 20;
    let value = |i: usize| ((i * 2_654_435_761) % 2_000_003) as i32 - 1_000_000;
    let mut bytes: Vec<u8> = (0..n).flat_map(|i| value(i).to_ne_bytes()).collect();
    write_file(&path, &bytes);
    let map = map_read_only(path.clone());
    let little = cfg!(target_endian = "little");
    let whole = |count: usize, stride: isize| View {
        byte_offset: 0,
        shape: vec![count],
        strides: vec![stride],
    };
    let i32s = Element::parse("i4").unwrap();
    let sum: i64 = (0..n).map(|i| value(i) as i64).sum();
    let (min, max) = ((0..n).map(value).min().unwrap(), (0..n).map(value).max().unwrap());
    assert_eq!(
        map.reduce(i32s, little, &whole(n, 4), Reduction::Sum).unwrap(),
        Some(Scalar::Int(sum))
    );
    assert_eq!(
        map.reduce(i32s, little, &whole(n, 4), Reduction::Min).unwrap(),
        Some(Scalar::Int(min as i64))
    );
    assert_eq!(
        map.reduce(i32s, little, &whole(n, 4), Reduction::Max).unwrap(),
        Some(Scalar::Int(max as i64))
    );
    let every_third: i64 = (0..n).step_by(3).map(|i| value(i) as i64).sum();
    assert_eq!(
        map.reduce(i32s, little, &whole(n.div_ceil(3), 12), Reduction::Sum)
            .unwrap(),
        Some(Scalar::Int(every_third))
    );
    // 2-D, C order over the inner axis of 1000 (many runs, split between them).
    let grid = View {
        byte_offset: 0,
        shape: vec![n / 1000, 500],
        strides: vec![4000, 8],
    };
    let grid_sum: i64 = (0..n / 1000)
        .flat_map(|r| (0..500).map(move |c| r * 1000 + 2 * c))
        .map(|i| value(i) as i64)
        .sum();
    assert_eq!(
        map.reduce(i32s, little, &grid, Reduction::Sum).unwrap(),
        Some(Scalar::Int(grid_sum))
    );
    // 1.5 million two-element runs (pairs out of every four): made as folded, in batches.
    let pairs = View {
        byte_offset: 4,
        shape: vec![n / 4, 2],
        strides: vec![16, 4],
    };
    let pair_values = || (0..n / 4).flat_map(|r| [4 * r + 1, 4 * r + 2]).map(value);
    assert_eq!(
        map.reduce(i32s, little, &pairs, Reduction::Sum).unwrap(),
        Some(Scalar::Int(pair_values().map(i64::from).sum()))
    );
    assert_eq!(
        map.reduce(i32s, little, &pairs, Reduction::Max).unwrap(),
        Some(Scalar::Int(pair_values().max().unwrap() as i64))
    );
    drop(map);

    // Floats: a NaN in the last piece still wins min and max; complex pairs compare as numpy's.
    let floats: Vec<f32> = (0..n).map(|i| value(i) as f32 / 7.0).collect();
    bytes = floats.iter().flat_map(|v| v.to_ne_bytes()).collect();
    write_file(&path, &bytes);
    let map = map_read_only(path.clone());
    let f32s = Element::parse("f4").unwrap();
    let Some(Scalar::Float(total)) = map.reduce(f32s, little, &whole(n, 4), Reduction::Sum).unwrap() else {
        panic!("no float sum")
    };
    let exact: f64 = floats.iter().map(|&v| v as f64).sum();
    assert!((total - exact).abs() <= 1e-6 * floats.iter().map(|v| v.abs() as f64).sum::<f64>());
    let smallest = floats.iter().cloned().fold(f32::INFINITY, f32::min) as f64;
    assert_eq!(
        map.reduce(f32s, little, &whole(n, 4), Reduction::Min).unwrap(),
        Some(Scalar::Float(smallest))
    );
    let c64 = Element::parse("c8").unwrap();
    let Some(Scalar::Complex(re, _)) = map.reduce(c64, little, &whole(n / 2, 8), Reduction::Max).unwrap() else {
        panic!("no complex max")
    };
    let largest_re = floats.iter().step_by(2).cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
    assert_eq!(re, largest_re);
    drop(map);
    bytes[(n - 1) * 4..].copy_from_slice(&f32::NAN.to_ne_bytes());
    write_file(&path, &bytes);
    let map = map_read_only(path);
    for op in [Reduction::Min, Reduction::Max] {
        let Some(Scalar::Float(x)) = map.reduce(f32s, little, &whole(n, 4), op).unwrap() else {
            panic!("no float extreme")
        };
        assert!(x.is_nan());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The kernel's areas (VMAs) that lie inside the map's pages, from /proc/self/maps.
fn kernel_areas(map: &Mapping) -> usize {
    let page = sys::page_size();
    let start = map.as_ptr() as usize / page * page;
    let end = (map.as_ptr() as usize + map.len()).div_ceil(page) * page;
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .filter(|line| {
            let range = line.split(' ').next().unwrap();
            let (low, high) = range.split_once('-').unwrap();
            let (low, high) = (
                usize::from_str_radix(low, 16).unwrap(),
                usize::from_str_radix(high, 16).unwrap(),
            );
            low < end && high > start
        })
        .count()
}

#[test]
fn advice_areas_are_counted_as_the_kernel_counts_them() {
    let dir = temp_dir("areas");
    let path = dir.join("f");
    let pages = 64;
    let page = sys::page_size();
    write_file(&path, &vec![1; pages * page]);
    let mut seed = 99u64;
    let mut next = |m: usize| {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 33) as usize % m
    };
    for (mode, offset) in [(Mode::ReadWrite, 0), (Mode::ReadOnly, 100), (Mode::CopyOnWrite, 0)] {
        let map = Mapping::open(
            Source::Path(path.clone()),
            mode,
            offset,
            Length::Exact((pages * page) as u64 - offset),
        )
        .unwrap();
        for round in 0..3000 {
            let start = next(map.len());
            let len = 1 + next(map.len() - start);
            let advice = [Advice::Normal, Advice::Random, Advice::Sequential, Advice::WillNeed][next(4)];
            map.advise_range(advice, start, len).unwrap();
            if round % 7 == 0 {
                // Private pages written (anonymous memory under the area) merge as well.
                map.write_from(next(map.len()), &[2]).unwrap();
            }
            let counted = map.runs.lock().unwrap().count();
            let kernel = kernel_areas(&map);
            // Shared maps exactly; private ones at least as many as the kernel's.
            if mode == Mode::ReadWrite {
                assert_eq!(counted, kernel, "{mode:?} round {round}: {advice:?} {start}+{len}");
            } else {
                assert!(
                    counted >= kernel,
                    "{mode:?} round {round}: {advice:?} {start}+{len}: {counted} < {kernel}"
                );
            }
        }
        // Advice over the whole map makes a shared map one area again.
        map.advise_range(Advice::Normal, 0, map.len()).unwrap();
        if mode == Mode::ReadWrite {
            assert_eq!(map.runs.lock().unwrap().count(), 1);
            assert_eq!(kernel_areas(&map), 1);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `test` with a file path "f" in a fresh directory on ext4 (the temp
/// dir: ZERO_RANGE), tmpfs (/dev/shm: punch and reserve again) and a file
/// system without fallocate (cut and grow again, as on macOS).
fn on_each_file_system(name: &str, test: impl Fn(&Path, bool)) {
    for (root, lacking) in [
        (std::env::temp_dir(), false),
        (PathBuf::from("/dev/shm"), false),
        (std::env::temp_dir(), true),
    ] {
        if !root.is_dir() {
            continue;
        }
        crate::fault::lack(if lacking { &[crate::fault::Call::Fallocate] } else { &[] });
        let dir = root.join(format!("memmap-core-{}-{name}-{lacking}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        test(&dir.join("f"), lacking);
        crate::fault::lack(&[]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn w_plus_over_a_file_reads_zeros_and_writes_its_prefix() {
    on_each_file_system("zeros", |path, _| {
        for (old, end) in [(100_000usize, 30_000u64), (30_000, 30_000), (10_000, 70_000)] {
            write_file(path, &vec![5; old]);
            let map = OpenOptions::new(Mode::Create, Length::Exact(end - 16))
                .offset(16)
                .prefix(b"0123456789abcdef")
                .open(Source::Path(path.to_path_buf()))
                .unwrap();
            assert!(read(&map, map.len()).iter().all(|&b| b == 0), "{old} -> {end}");
            map.close().unwrap();
            let bytes = std::fs::read(path).unwrap();
            assert_eq!(bytes.len() as u64, end);
            assert_eq!(&bytes[..16], b"0123456789abcdef");
            assert!(bytes[16..].iter().all(|&b| b == 0));
        }
    });
}

#[test]
fn sparse_w_plus_over_a_file_gives_its_blocks_back() {
    use std::os::unix::fs::MetadataExt;
    // Sparse w+ must not reserve what it zeroes: ZERO_RANGE would turn every
    // old block and hole into a reserved one (8 MiB here, 16 GiB for a big
    // sparse file). Written and hole-only old files, on ext4, tmpfs and a
    // file system without fallocate.
    let len = 8 << 20;
    on_each_file_system("sparse", |path, _| {
        for written in [true, false] {
            if written {
                write_file(path, &vec![5; len]);
            } else {
                let _ = std::fs::remove_file(path);
                File::create(path).unwrap().set_len(len as u64).unwrap();
            }
            let map = OpenOptions::new(Mode::Create, Length::Exact(len as u64 - 16))
                .offset(16)
                .prefix(b"0123456789abcdef")
                .sparse(true)
                .open(Source::Path(path.to_path_buf()))
                .unwrap();
            // Checked before reading through the map: tmpfs gives a hole a
            // page when a shared map reads it.
            let meta = std::fs::metadata(path).unwrap();
            assert_eq!(meta.len(), len as u64);
            assert!(
                meta.blocks() * 512 <= 64 << 10,
                "{} bytes used, written {written}, {path:?}",
                meta.blocks() * 512
            );
            assert!(read(&map, map.len()).iter().all(|&b| b == 0));
            map.close().unwrap();
            let bytes = std::fs::read(path).unwrap();
            assert_eq!(&bytes[..16], b"0123456789abcdef");
            assert!(bytes[16..].iter().all(|&b| b == 0));
        }
    });
}

#[test]
fn r_plus_finds_the_holes_that_blocks_past_the_end_hide() {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::MetadataExt;
    // 1 MiB of holes, 1 MiB reserved past the end (`fallocate --keep-size`):
    // st_blocks counts as many bytes as the file has, yet every byte of it is
    // a hole, which a write through the map would fill as SIGBUS on a full disk.
    on_each_file_system("hidden-holes", |path, lacking_fallocate| {
        let _ = std::fs::remove_file(path);
        let file = File::create(path).unwrap();
        file.set_len(1 << 20).unwrap();
        // SAFETY: fallocate on an open descriptor.
        let got = unsafe { libc::fallocate(file.as_raw_fd(), libc::FALLOC_FL_KEEP_SIZE, 1 << 20, 1 << 20) };
        assert_eq!(got, 0);
        drop(file);
        let whole = Length::Exact(1 << 20);
        let map = Mapping::open(Source::Path(path.to_path_buf()), Mode::ReadWrite, 0, whole).unwrap();
        let used = std::fs::metadata(path).unwrap().blocks() * 512;
        let expected = if lacking_fallocate { 1 << 20 } else { 2 << 20 };
        assert_eq!(used, expected, "{path:?}");
        map.close().unwrap();
        // Reserved blocks never written are no holes: nothing more to take.
        let map = Mapping::open(Source::Path(path.to_path_buf()), Mode::ReadWrite, 0, whole).unwrap();
        assert_eq!(std::fs::metadata(path).unwrap().blocks() * 512, used);
        map.close().unwrap();
    });
}

#[test]
fn a_prefix_is_only_for_w_plus_by_path_and_fits_before_the_data() {
    let dir = temp_dir("prefix");
    let path = dir.join("f");
    write_file(&path, &[1; 64]);
    for (mode, offset) in [(Mode::Create, 4), (Mode::ReadWrite, 16)] {
        let err = OpenOptions::new(mode, Length::Exact(8))
            .offset(offset)
            .prefix(&[0; 16])
            .open(Source::Path(path.clone()))
            .unwrap_err();
        assert_eq!(err.code(), "ERR_MEMMAP_INVALID_ARG", "{err}");
    }
    assert_eq!(std::fs::read(&path).unwrap(), vec![1; 64]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_described_reopen_never_grows_and_checks_the_identity() {
    use std::os::unix::fs::MetadataExt;
    let dir = temp_dir("described");
    let path = dir.join("f");
    write_file(&path, &[3; 100]);
    let meta = std::fs::metadata(&path).unwrap();
    let id = FileId {
        device: meta.dev(),
        inode: meta.ino(),
    };
    let map = Mapping::open(Source::Path(path.clone()), Mode::ReadOnly, 0, Length::Exact(100)).unwrap();
    assert_eq!(map.file_id(), Some(id));
    assert_eq!(map.path(), Some(path.as_path()));
    assert_eq!(id.to_string().parse::<FileId>().unwrap(), id);
    drop(map);
    let err = OpenOptions::new(Mode::ReadWrite, Length::Exact(200))
        .never_grow()
        .expect_file(id)
        .open(Source::Path(path.clone()))
        .unwrap_err();
    assert_eq!(err.code(), "ERR_MEMMAP_FILE_TOO_SHORT", "{err}");
    // Another file renamed over the path.
    let other = dir.join("other");
    write_file(&other, &[4; 300]);
    std::fs::rename(&other, &path).unwrap();
    let err = OpenOptions::new(Mode::ReadWrite, Length::Exact(100))
        .never_grow()
        .expect_file(id)
        .open(Source::Path(path.clone()))
        .unwrap_err();
    assert_eq!(err.code(), "ERR_MEMMAP_FILE_REPLACED", "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), vec![4; 300]);
    assert!("1:x".parse::<FileId>().is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_descriptor_map_names_its_own_file_for_good() {
    use std::os::fd::AsRawFd;
    let dir = temp_dir("fd-path");
    let path = dir.join("mapped");
    write_file(&path, &[1; 64]);
    let file = std::fs::File::open(&path).unwrap();
    let map = Mapping::open(Source::Fd(file.as_raw_fd()), Mode::ReadOnly, 0, Length::Exact(64)).unwrap();
    drop(file);
    let other = std::fs::File::create(dir.join("other")).unwrap();
    assert_eq!(map.path(), Some(path.as_path()));
    drop(other);
    let _ = std::fs::remove_dir_all(&dir);
}

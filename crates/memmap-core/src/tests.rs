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
    let before = live_mappings();
    let map = Mapping::open(Source::Path(path), Mode::ReadOnly, 0, Length::Exact(64)).unwrap();
    assert!(live_mappings() > before);
    drop(map);
    assert!(max_live_mappings() > 1000);
}

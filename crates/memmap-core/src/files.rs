//! The live maps of each file in this process, and how far into the file
//! each reaches. A file cut below what another live map of it reaches makes
//! reading that map's pages past the new end a SIGBUS (a map in a worker
//! made with `fromDescriptor`, or a second `memmap()` of the same path), so
//! the operations that cut a file this library can see mapped (`resize`
//! shrinking, `w+` over a longer file) ask here first and refuse with
//! [`ErrorKind::FileInUse`]. Another process's maps are beyond reach (the
//! README says so).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::{Error, ErrorKind, FileId, Result};

/// Each file's maps: (map number, file offset its mapped bytes reach).
type Table = HashMap<FileId, Vec<(u64, u64)>>;

static FILES: Mutex<Option<Table>> = Mutex::new(None);
static NEXT: AtomicU64 = AtomicU64::new(1);

fn with<R>(f: impl FnOnce(&mut Table) -> R) -> R {
    // A panic while holding the lock cannot leave the table half-written.
    let mut files = FILES.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    f(files.get_or_insert_with(HashMap::new))
}

/// Records a live map of `file` reaching `reach`; returns its number (0 for
/// a file with no identity, which is not tracked).
pub(crate) fn register(file: Option<FileId>, reach: u64) -> u64 {
    let Some(file) = file else { return 0 };
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    with(|files| files.entry(file).or_default().push((id, reach)));
    id
}

/// The map `id` of `file` now reaches `reach`.
pub(crate) fn update(file: Option<FileId>, id: u64, reach: u64) {
    let Some(file) = file else { return };
    with(|files| {
        if let Some(entry) = files
            .get_mut(&file)
            .and_then(|maps| maps.iter_mut().find(|m| m.0 == id))
        {
            entry.1 = reach;
        }
    });
}

/// The map `id` of `file` is gone (closed or dropped); idempotent.
pub(crate) fn unregister(file: Option<FileId>, id: u64) {
    let Some(file) = file else { return };
    with(|files| {
        if let Some(maps) = files.get_mut(&file) {
            maps.retain(|m| m.0 != id);
            if maps.is_empty() {
                files.remove(&file);
            }
        }
    });
}

/// Refuses to cut `file` to `size` bytes while a live map other than
/// `except` reaches past that.
pub(crate) fn check_cut(file: Option<FileId>, except: u64, size: u64, what: impl FnOnce() -> String) -> Result<()> {
    let Some(file) = file else { return Ok(()) };
    let reach = with(|files| {
        files
            .get(&file)
            .into_iter()
            .flatten()
            .filter(|m| m.0 != except)
            .map(|m| m.1)
            .max()
    });
    match reach {
        Some(reach) if reach > size => Err(Error::new(
            ErrorKind::FileInUse,
            format!(
                "{}: another map in this process reaches byte {reach} of the file, and cutting it to {size} bytes \
                 would make reading that map a crash (SIGBUS); close that map first",
                what()
            ),
        )),
        _ => Ok(()),
    }
}

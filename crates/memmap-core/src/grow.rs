//! Growing and shrinking a map as a transaction, without ever moving an
//! address that JavaScript may hold.
//!
//! # The address range
//!
//! JavaScript holds raw addresses into a map: external ArrayBuffers over its
//! chunks, and TypedArrays over those. A map that moved (`mremap` with
//! `MREMAP_MAYMOVE`) would leave every one of them dangling, so a [`Region`]
//! never takes an address away while something may hold it:
//!
//! - **Room to grow.** A writable map is mapped past the end of its file
//!   (`capacity` bytes, the file has `len`): POSIX lets a shared mapping reach
//!   past the end of the file (touching those pages is SIGBUS, and nothing
//!   hands them out: buffers, reads and reductions stop at `len`). Growing
//!   within the capacity is only a change to the file: the pages become the
//!   file's as it grows, with no system call on the mapping. The capacity is
//!   taken in large steps (the new length, and as much again up to 1 GiB), so
//!   appending in a loop maps once per doubling, not once per row.
//! - **Past the capacity**, in order: extend the mapping in place (`mremap`
//!   without `MAYMOVE`, Linux: it succeeds when the addresses after the map are
//!   free); else, if nothing holds the address (no buffer, no task: `held` is
//!   false), move it (`mremap` with `MAYMOVE`, or a new mapping); else map the
//!   file again at a new address and keep the old mapping as it is
//!   (`retained`). Both map the same file pages (a shared mapping of the page
//!   cache), so what the old buffers read and write is the file, coherent with
//!   the new mapping. Retained mappings go when the map is dropped, or
//!   earlier once the binding says nothing reaches them any more
//!   ([`Mapping::release_retained`]).
//!   Reserving a `PROT_NONE` range ahead at every open was the alternative:
//!   it costs every writable map a second kernel area and address space
//!   against `RLIMIT_AS` whether it ever grows or not; mapping past the end of
//!   the file costs nothing until a map grows.
//! - **Shrinking** while something holds the address swaps the whole pages
//!   past the new end for anonymous zero pages first (the placeholder, as
//!   `close()` does), in every mapping of the region, so that the kernel's
//!   truncation leaves no SIGBUS trap under an address a stale holder still
//!   uses; the binding detaches the buffers that reach past the new end.
//!
//! # The transaction
//!
//! The file changes in an order that a reader (or a crash) never sees half
//! of, and before the mapping does when growing (a page mapped over a
//! placeholder tail has the file behind it before anything can read it):
//! growing writes the new bytes first (`pwrite` of appended rows, which
//! reports a full disk as ENOSPC, or `ftruncate` and `fallocate` for zeros),
//! then the header that counts them; shrinking writes the header first, then
//! cuts. With `sync`, an `fdatasync` comes between (the data durable before
//! the header that counts it) and after. Each step records its undo; a failure
//! puts back the header, the size and any bytes past the old end, so a failed
//! resize leaves the file and every view as they were. Appends also reserve
//! blocks past the end of the file ahead of the rows to come, given back at
//! close, both only as the file's sole opener (`reserve_ahead`).

use std::fs::File;

use memmap2::MmapRaw;

use crate::areas::{self, Runs};
use crate::{sys, Error, ErrorKind, Mapping, Result};

/// What a resize does with bytes of the file past the array's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PastEnd {
    /// Refuses to resize ([`ErrorKind::NotAtEnd`]): the bytes belong to
    /// something else (a raw file with more data after the array).
    Refuse,
    /// They belong to nothing (what an interrupted append to a `.npy` left
    /// after the rows its header counts): overwritten or cut.
    Discard,
}

/// A resize of a map: its new length and what fills the new bytes, and what
/// else the same transaction writes.
#[derive(Debug, Clone, Copy)]
pub struct Resize<'a> {
    /// The new length in bytes, from the map's offset.
    pub len: u64,
    /// The bytes of the new range (an append), exactly `len` minus the old
    /// length; `None` grows with zeros.
    pub fill: Option<&'a [u8]>,
    /// With [`PastEnd::Discard`], the header the file starts with as far as
    /// this map knows (read at open, then each one it wrote): bytes past the
    /// array's end are discarded only while the file still starts with it,
    /// as another writer's appended rows come with its own header. Empty: no
    /// check.
    pub header_now: &'a [u8],
    /// Bytes written at the start of the file, after the data when growing
    /// and before the cut when shrinking (a `.npy` header); empty for none.
    /// No longer than the offset.
    pub header: &'a [u8],
    /// Grow without reserving blocks (numpy's way; see `OpenOptions::sparse`).
    pub sparse: bool,
    pub past_end: PastEnd,
    /// `fdatasync` between the data and the header, and after the header.
    pub sync: bool,
    /// Whether anything besides the caller may hold the map's address (a
    /// JavaScript buffer, a task): then it is never moved, and a shrink swaps
    /// the pages it gives up for the placeholder.
    pub held: bool,
    /// Whether anything may still use the pages an earlier held shrink
    /// swapped for zero pages (a buffer that reached past that end, detached
    /// or transferred but not yet freed, on which Node's thread pool may
    /// still write): then growing never maps the file back under them, and
    /// the map grows at a new address instead (see `Region::make_room`).
    pub tail_in_use: bool,
}

/// What a resize did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resized {
    /// Whether the map now starts at another address (the old one, if held,
    /// still maps the same bytes).
    pub moved: bool,
}

/// The most address space one step of growth takes beyond what is asked.
const MAX_ROOM_STEP: usize = 1 << 30;

/// How far past the end an append reserves blocks ahead: an eighth of what
/// the array already holds (what a crash or another opener at close can
/// leave reserved), from the smaller to the larger bound.
const AHEAD: (u64, u64) = (64 << 10, 64 << 20);

/// A map's address range: see the module docs.
#[derive(Debug)]
pub(crate) struct Region {
    /// The current mapping, `capacity` or more bytes long; `None` while
    /// nothing was ever mapped (an empty array).
    pub(crate) map: Option<MmapRaw>,
    /// The array's bytes: the file's, from the offset.
    len: usize,
    /// Bytes from the first that map the file (past `len`: past its end, room
    /// to grow). Past it, placeholder pages a held shrink left.
    capacity: usize,
    /// Earlier mappings of the same file whose addresses may still be held,
    /// each with the kernel areas it counts (its advice runs when retained).
    retained: Vec<(MmapRaw, usize)>,
    /// Kernel areas held besides the current map's runs: retained mappings
    /// and placeholder tails.
    extra_areas: usize,
    /// The header bytes the last resize wrote (what an undo puts back),
    /// taken while a resize runs.
    header: Option<Vec<u8>>,
    /// The mappings (by first byte) whose tail a held shrink swapped for zero pages.
    tails: Vec<usize>,
    /// The file offset up to which appends reserved blocks past the file's
    /// end (see [`Mapping::reserve_ahead`]); 0 for none. Only ever a hint:
    /// a stale value costs a redundant or a missed reservation, never data.
    reserved_to: u64,
    /// Set once the file system turned out not to let appends reserve ahead
    /// (`sys::room_ahead`: only ext4 and XFS do).
    never_reserves: bool,
}

impl Region {
    pub(crate) fn new(map: Option<MmapRaw>) -> Region {
        let len = map.as_ref().map_or(0, MmapRaw::len);
        Region {
            map,
            len,
            capacity: len,
            retained: Vec::new(),
            extra_areas: 0,
            header: None,
            tails: Vec::new(),
            reserved_to: 0,
            never_reserves: false,
        }
    }

    pub(crate) fn span(&self) -> (*mut u8, usize) {
        match &self.map {
            Some(map) => (map.as_mut_ptr(), self.len),
            None => (std::ptr::NonNull::dangling().as_ptr(), 0),
        }
    }

    /// The address ranges of every mapping this region holds (the current
    /// one with its room past the end, the retained ones, placeholder tails
    /// included), widened to whole pages as the kernel lists them.
    pub(crate) fn address_ranges(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        let page = sys::page_size();
        let maps = self.map.iter().chain(self.retained.iter().map(|(old, _)| old));
        maps.map(move |map| {
            let first = map.as_mut_ptr() as usize;
            (first - first % page, (first + map.len()).div_ceil(page) * page)
        })
    }

    /// The kernel areas this region holds.
    pub(crate) fn areas(&self, runs: &Runs) -> usize {
        self.map.as_ref().map_or(0, |_| runs.count()) + self.extra_areas
    }

    /// `close()` while something holds an address: every mapping of the
    /// region becomes one anonymous area of zero pages.
    pub(crate) fn replace_all_with_placeholders(&mut self, runs: &mut Runs) {
        let Some(map) = self.map.as_ref() else { return };
        // SAFETY: each range is a whole mapping this region owns, and no Rust
        // reference points into mapped memory (crate docs). A failure leaves
        // the file pages in place, which the map's file still backs.
        if unsafe { sys::replace_with_placeholder(map.as_mut_ptr(), map.len()) }.is_ok() {
            areas::give_back(runs.reset());
        }
        let mut all = true;
        for (old, _) in &self.retained {
            // SAFETY: as above.
            all &= unsafe { sys::replace_with_placeholder(old.as_mut_ptr(), old.len()) }.is_ok();
        }
        // Each retained mapping is one area of zero pages now, its tail merged.
        if all && self.extra_areas > self.retained.len() {
            areas::give_back(self.extra_areas - self.retained.len());
            self.extra_areas = self.retained.len();
            self.tails.clear();
            for (_, areas_held) in &mut self.retained {
                *areas_held = 1;
            }
        }
    }

    /// Makes the current mapping reach `len` bytes of the file (see the
    /// module docs), which the caller has already made at least that long.
    /// Changes no file. Returns whether the address moved; on error the
    /// mapping is as it was.
    fn make_room(&mut self, file: &File, offset: u64, len: usize, held: (bool, bool), runs: &mut Runs) -> Result<bool> {
        let (held, tail_in_use) = held;
        if len <= self.capacity {
            return Ok(false);
        }
        let room = len.saturating_add(len.min(MAX_ROOM_STEP)).min(isize::MAX as usize);
        // A tail a held shrink swapped for zero pages: when nothing uses it
        // any more, the file's pages go back under it, but only as far as
        // the file now reaches (the caller extended it first: a page past
        // the end of the file is a SIGBUS trap). While something may still
        // use it (`tail_in_use`: a buffer that reached into it, even
        // detached, or transferred away, whose backing store lives on, and
        // Node's thread pool writing through it), the tail stays zero pages,
        // so a late write lands there and never in the file: the map grows
        // at a new address instead. All of it mapped back, the two areas merge again;
        // `restored` is what to swap back if a later step fails.
        let mut restored = None;
        let mut first = 0;
        if let Some(map) = self.map.as_ref().filter(|_| !tail_in_use) {
            first = map.as_mut_ptr() as usize;
            if self.capacity < map.len() && self.tails.contains(&first) {
                let page = sys::page_size();
                let lead = first % page;
                let until = ((lead + len).div_ceil(page) * page - lead).min(map.len());
                // SAFETY: `capacity` ends on a page boundary in memory and in
                // the file (placeholder_past made it so); the range is this
                // mapping's own tail, and no Rust reference points into it.
                let at = unsafe { map.as_mut_ptr().add(self.capacity) };
                let part = until - self.capacity;
                // SAFETY: as above; `[at, at + part)` is part of the placeholder tail.
                let mapped = unsafe { sys::map_file_fixed(file, at, part, offset + self.capacity as u64) };
                if mapped.is_ok() {
                    restored = Some((at, part, self.capacity, until == map.len()));
                    self.capacity = until;
                }
            }
        }
        let result = if len <= self.capacity {
            Ok(false)
        } else {
            self.extend_or_remap(file, offset, len, room, held, runs)
        };
        match (&result, restored) {
            // SAFETY: the range was the placeholder tail a moment ago, and
            // the caller's undo may cut the file behind it again.
            (Err(_), Some((at, part, capacity, _))) if unsafe { sys::replace_with_placeholder(at, part) }.is_ok() => {
                self.capacity = capacity;
            }
            // The whole tail is the file's again: one area with the map.
            (Ok(_), Some((.., true))) if self.tails.contains(&first) => {
                self.tails.retain(|&tail| tail != first);
                self.extra_areas -= 1;
                areas::give_back(1);
            }
            _ => {}
        }
        result
    }

    /// The rest of [`Region::make_room`]: a mapping `len` (or `room`) bytes
    /// long, in place, moved, or new beside the old one.
    fn extend_or_remap(
        &mut self,
        file: &File,
        offset: u64,
        len: usize,
        room: usize,
        held: bool,
        runs: &mut Runs,
    ) -> Result<bool> {
        let cannot =
            |e: std::io::Error| Error::mapping(e, format!("cannot map {len} bytes at offset {offset} of the file"));
        if let Some(map) = self.map.as_mut() {
            // A placeholder tail or advice that split the area: mremap, which
            // takes one area, cannot extend it.
            if self.capacity == map.len() && runs.count() == 1 {
                // SAFETY: the region's pages past `len` are never touched
                // (nothing hands them out), and no Rust reference points into
                // the mapping. In place: no address changes.
                if unsafe { sys::remap(map, room, false) }.is_ok() {
                    self.capacity = room;
                    return Ok(false);
                }
                if !held {
                    // SAFETY: as above; nothing holds the address (`held`),
                    // so it may move.
                    if unsafe { sys::remap(map, room, true) }.is_ok() {
                        self.capacity = room;
                        return Ok(true);
                    }
                }
            }
        }
        areas::take(1, || format!("cannot grow a map to {len} bytes"))?;
        let mapped = sys::map(file, true, offset, room).or_else(|_| sys::map(file, true, offset, len));
        let new = match mapped {
            Ok(new) => new,
            Err(e) => {
                areas::give_back(1);
                return Err(cannot(e));
            }
        };
        let capacity = new.len();
        let moved = match self.map.replace(new) {
            Some(old) if held => {
                self.extra_areas += runs.count();
                self.retained.push((old, runs.count()));
                true
            }
            Some(old) => {
                areas::give_back(runs.count());
                let gone = old.as_mut_ptr() as usize;
                if self.tails.contains(&gone) {
                    self.tails.retain(|&tail| tail != gone);
                    self.extra_areas -= 1;
                    areas::give_back(1);
                }
                drop(old);
                true
            }
            None => false,
        };
        runs.reset();
        self.capacity = capacity;
        Ok(moved)
    }

    /// Unmaps the retained mappings `in_use(first byte, length)` says nothing
    /// reaches any more, with their placeholder tails. Returns how many went.
    ///
    /// # Safety
    ///
    /// `in_use` must be true for every mapping a buffer, a task or any other
    /// pointer may still read or write through.
    unsafe fn release_retained(&mut self, in_use: impl Fn(usize, usize) -> bool) -> usize {
        let (tails, extra) = (&mut self.tails, &mut self.extra_areas);
        let before = self.retained.len();
        self.retained.retain(|(old, areas_held)| {
            let first = old.as_mut_ptr() as usize;
            if in_use(first, old.len()) {
                return true;
            }
            let mut held = *areas_held;
            if let Some(k) = tails.iter().position(|&tail| tail == first) {
                tails.swap_remove(k);
                held += 1;
            }
            *extra -= held;
            areas::give_back(held);
            // Dropped: unmapped, zero-page tail and all.
            false
        });
        before - self.retained.len()
    }

    /// Swaps the whole pages past `len` of every mapping for zero pages (a
    /// held shrink). Returns the ranges swapped, for the undo.
    fn placeholder_past(&mut self, len: usize) -> Result<Vec<(*mut u8, usize)>> {
        let page = sys::page_size();
        let mut swapped = Vec::new();
        let maps = self.map.iter().chain(self.retained.iter().map(|(old, _)| old));
        for map in maps {
            let lead = map.as_mut_ptr() as usize % page;
            let from = (lead + len).div_ceil(page) * page - lead;
            if from >= map.len() {
                continue;
            }
            // A tail swapped before is one area with what this swap adds
            // (adjacent anonymous zero pages merge): count each tail once.
            let first = !self.tails.contains(&(map.as_mut_ptr() as usize));
            if first {
                areas::take(1, || "cannot shrink a map whose pages are in use".to_string())?;
            }
            // SAFETY: `from` is inside the mapping and page-aligned in memory
            // (`lead + from` is a multiple of the page size); the range is
            // the mapping's own tail, and no Rust reference points into it.
            let ptr = unsafe { map.as_mut_ptr().add(from) };
            // SAFETY: as above.
            if let Err(e) = unsafe { sys::replace_with_placeholder(ptr, map.len() - from) } {
                if first {
                    areas::give_back(1);
                }
                return Err(Error::mapping(
                    e,
                    "cannot swap the pages past the new end for zero pages",
                ));
            }
            if first {
                self.extra_areas += 1;
                self.tails.push(map.as_mut_ptr() as usize);
            }
            swapped.push((ptr, map.len() - from));
        }
        if let Some(map) = &self.map {
            let lead = map.as_mut_ptr() as usize % page;
            self.capacity = self.capacity.min((lead + len).div_ceil(page) * page - lead);
        }
        Ok(swapped)
    }
}

/// The most bytes a resize reads into memory to undo an overwrite or a cut,
/// beyond what an append brings.
const KEPT_FOR_UNDO: u64 = 256 << 20;

/// Zeros over `[from, to)` of the file: holes if `sparse` (where punching
/// works), else blocks reserved (`ZERO_RANGE`), else written.
fn zero(file: &File, from: u64, to: u64, sparse: bool) -> Result<()> {
    let failed = |e| Error::io(e, format!("cannot zero bytes {from}..{to} of the file"));
    let done = if sparse {
        sys::punch_hole(file, from, to)
    } else {
        sys::zero_range(file, from, to)
    }
    .map_err(failed)?;
    if !done {
        let zeros = vec![0u8; (to - from).min(1 << 20) as usize];
        let mut at = from;
        while at < to {
            let n = (to - at).min(zeros.len() as u64) as usize;
            sys::write_at(file, &zeros[..n], at).map_err(failed)?;
            at += n as u64;
        }
    }
    Ok(())
}

/// What a failed resize puts back, in reverse order of doing.
struct Undo<'a> {
    file: &'a File,
    /// The file's size before.
    size: Option<u64>,
    /// Bytes past the array's old end that were overwritten or cut, and where.
    tail: Option<(u64, Vec<u8>)>,
    /// The header bytes before.
    header: Option<Vec<u8>>,
    /// Placeholder ranges to map the file back over: address, length, file offset.
    swapped: Vec<(*mut u8, usize, u64)>,
    /// Whether the new header was written (kept as the last header on success).
    written: bool,
}

impl Undo<'_> {
    /// Each call frees space or rewrites bytes in blocks that exist; there is
    /// nothing better to do when one fails than to go on.
    fn roll_back(self) {
        if let Some(bytes) = &self.header {
            let _ = sys::write_at(self.file, bytes, 0);
        }
        if let Some(size) = self.size {
            let _ = sys::set_len(self.file, size);
        }
        if let Some((at, bytes)) = &self.tail {
            let _ = sys::write_at(self.file, bytes, *at);
        }
        for &(ptr, len, at) in &self.swapped {
            // SAFETY: the range is a placeholder this resize put over the
            // region's own pages; mapping the file back restores them.
            let _ = unsafe { sys::map_file_fixed(self.file, ptr, len, at) };
        }
    }
}

impl Mapping {
    /// Unmaps earlier mappings a resize kept because their addresses were
    /// held (see the module docs) once nothing reaches them: a cycle of
    /// shrink and growth with a buffer alive each time would otherwise keep
    /// two kernel areas per cycle until the map is dropped. Returns how many
    /// went.
    ///
    /// # Safety
    ///
    /// `in_use(first byte, length)` must be true for every retained mapping
    /// that a buffer, a task or any other pointer may still read or write
    /// through: unmapped, such an access is SIGSEGV.
    pub unsafe fn release_retained(&self, in_use: impl Fn(usize, usize) -> bool) -> usize {
        // SAFETY: the caller's promise.
        unsafe { self.region_mut().release_retained(in_use) }
    }

    /// Makes the array `request.len` bytes long, as a transaction: the file
    /// becomes exactly `offset + len` bytes (new bytes: `request.fill`, else
    /// zeros with their blocks reserved unless `sparse`), the header is
    /// rewritten, and the mapping reaches the new end without moving any
    /// address something may hold (see the module docs). On error, the file
    /// (size, bytes, header) and the map are as they were.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unsupported`] for a map that may not change its file
    /// (modes `r` and `c`, a caller's descriptor, a described reopen) and on
    /// Windows,
    /// [`ErrorKind::NotAtEnd`] when bytes follow the array and `past_end` is
    /// `Refuse`, [`ErrorKind::FileShrunk`] when someone else cut the file,
    /// [`ErrorKind::TooLarge`], [`ErrorKind::InvalidArgument`] (a fill of the
    /// wrong length, a header longer than the offset), [`ErrorKind::NoSpace`]
    /// and the system calls' failures.
    pub fn resize(&self, request: &Resize) -> Result<Resized> {
        if cfg!(windows) {
            // Windows refuses to change the size of a mapped file
            // (ERROR_USER_MAPPED_FILE) and cannot map past its end.
            return Err(Error::new(
                ErrorKind::Unsupported,
                "cannot resize: Windows does not let the size of a mapped file change",
            ));
        }
        let state = self.lock_state();
        let file = match (state.open, state.file.as_ref()) {
            (true, Some(file)) if self.resizable => file,
            (false, _) => return Err(Error::new(ErrorKind::InvalidArgument, "the map is closed")),
            _ => {
                let why = if !self.mode.writes_file() {
                    format!("mode '{}' never changes the file", self.mode.numpy_name())
                } else {
                    "the size of this map's file is not the map's to change (a map on a caller's file \
                     descriptor, one reopened from a description, or a member inside an .npz archive)"
                        .to_string()
                };
                return Err(Error::new(ErrorKind::Unsupported, format!("cannot resize: {why}")));
            }
        };
        let old_len = self.len();
        let offset = self.offset;
        let end = offset + old_len as u64;
        let too_large = || {
            Error::new(
                ErrorKind::TooLarge,
                format!(
                    "{} bytes at offset {offset} do not fit in this process's address space",
                    request.len
                ),
            )
        };
        let new_len = usize::try_from(request.len)
            .ok()
            .filter(|&n| n <= isize::MAX as usize)
            .ok_or_else(too_large)?;
        let new_end = offset.checked_add(request.len).ok_or_else(too_large)?;
        if let Some(fill) = request.fill {
            if fill.len() as u64 != request.len.saturating_sub(old_len as u64) {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!(
                        "{} bytes to append, but growing from {old_len} to {new_len} bytes adds {}",
                        fill.len(),
                        new_len.saturating_sub(old_len)
                    ),
                ));
            }
        }
        if request.header.len() as u64 > offset {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "a {}-byte header does not fit before the data at offset {offset}",
                    request.header.len()
                ),
            ));
        }
        // The gate, held to the end: no open of the file falls between the
        // check of its live maps and a cut, its size cannot change under this
        // resize, and a cut elsewhere waits until an append's new reach is
        // registered (see sys::gate).
        let _gate = sys::gate(file, true, false).map_err(|e| crate::open::gate_held(e, "cannot resize"))?;
        let size = sys::fstat(file).map_err(|e| Error::io(e, "fstat failed"))?.len();
        if size < end {
            return Err(Error::new(
                ErrorKind::FileShrunk,
                format!("the file was truncated to {size} bytes by someone else while mapped up to byte {end}"),
            ));
        }
        if size > end && request.past_end == PastEnd::Discard && !request.header_now.is_empty() {
            let mut on_disk = vec![0; request.header_now.len()];
            sys::read_at(file, &mut on_disk, 0).map_err(|e| Error::io(e, "cannot read the header"))?;
            if on_disk != request.header_now {
                return Err(Error::new(
                    ErrorKind::NotAtEnd,
                    format!(
                        "the array ends at byte {end} of a {size}-byte file whose header is no longer the one this \
                         map read or wrote: another writer changed it (appended rows?), and the {} bytes after the \
                         array may be rows its header counts; reopen the file",
                        size - end
                    ),
                ));
            }
        }
        if size > end && request.past_end == PastEnd::Refuse {
            return Err(Error::new(
                ErrorKind::NotAtEnd,
                format!(
                    "the array ends at byte {end} of a {size}-byte file: resizing would overwrite or cut the {} \
                     bytes after it (map the array to the end of the file)",
                    size - end
                ),
            ));
        }
        // An append of nothing: the checks an append makes (above), and no
        // change, so that an empty batch is refused where the next would be.
        if request.fill.is_some_and(<[u8]>::is_empty) && new_len == old_len {
            return Ok(Resized { moved: false });
        }
        // The smallest the file becomes on the way (bytes past the array's
        // end are cut before growing): another live map of the file must
        // not reach past it.
        let lowest = if size > end { end.min(new_end) } else { new_end };
        if lowest < size {
            crate::files::check_cut(self.file_id, self.registered, lowest, || "cannot resize".to_string())?;
        }
        let reserved = self.region().reserved_to;
        let mut undo = Undo {
            file,
            size: None,
            tail: None,
            header: None,
            swapped: Vec::new(),
            written: false,
        };
        match self.resize_steps(file, request, (old_len, new_len), (end, new_end, size), &mut undo) {
            Ok(moved) => {
                if undo.written {
                    self.region_mut().header = Some(request.header.to_vec());
                }
                crate::files::update(self.file_id, self.registered, new_end);
                Ok(Resized { moved })
            }
            Err(err) => {
                let restore = undo.size;
                undo.roll_back();
                if let Some(size) = restore {
                    // The undo's ftruncate gave back the blocks reserved past
                    // the end too: those of earlier appends are taken again.
                    self.restore_reserved(file, size, reserved);
                }
                Err(err)
            }
        }
    }

    /// Before an append's `pwrite` to `new_end`, reserves the file's blocks
    /// past its end ahead of the appends to come (`fallocate` with
    /// `FALLOC_FL_KEEP_SIZE`, one call per step rather than per row). A
    /// buffered write into blocks that exist skips the file system's delayed
    /// allocation, which is most of what a write costs on ext4 and XFS
    /// (bench/: append against `fs.writeSync`). Best effort, and never the
    /// disk's last free space: a failure leaves the append to its `pwrite`,
    /// which reports a full disk itself. The blocks past the end go back
    /// at [`Mapping::give_back_reserved`], or with any cut of the file.
    ///
    /// Only while this map is the file's sole opener, when closing can
    /// give them back: a give-back is a cut to the size the map knows,
    /// safe only while nobody else can be writing past it (an adversarial
    /// review cut another process's appended rows with an unguarded one).
    fn reserve_ahead(&self, file: &File, size: u64, new_end: u64) {
        let mut region = self.region_mut();
        if region.never_reserves || region.reserved_to >= new_end {
            return;
        }
        let from = size.max(region.reserved_to);
        let ahead = ((new_end - self.offset) / 8).clamp(AHEAD.0, AHEAD.1);
        let to = (new_end + ahead).next_multiple_of(AHEAD.0);
        match sys::room_ahead(file, from) {
            None => {
                region.never_reserves = true;
                return;
            }
            Some(room) if room < to - from => return,
            Some(_) => {}
        }
        let reserved = sys::as_sole_opener(file, |held| match sys::reserve_past_end(file, from, to) {
            Ok(true) => Some(to),
            Ok(false) => None,
            Err(_) => {
                // A reservation that ran out part way keeps what it took:
                // an ftruncate to the same size gives back all past the end.
                if held() {
                    let _ = sys::set_len(file, size);
                }
                Some(0)
            }
        });
        match reserved {
            Some(Some(to)) => region.reserved_to = to,
            // Not supported here (the file system, or no fallocate).
            Some(None) => region.never_reserves = true,
            // Someone else has the file open: not now.
            None => {}
        }
    }

    /// After an undo cut the file back to `size` (which frees every block
    /// past it), reserves again what earlier appends held up to `reserved`,
    /// so that a failed call leaves the disk's free space as it found it.
    fn restore_reserved(&self, file: &File, size: u64, reserved: u64) {
        let mut region = self.region_mut();
        region.reserved_to = 0;
        if reserved > size {
            let restored = sys::as_sole_opener(file, |held| match sys::reserve_past_end(file, size, reserved) {
                Ok(true) => true,
                _ => {
                    if held() {
                        let _ = sys::set_len(file, size);
                    }
                    false
                }
            });
            if restored == Some(true) {
                region.reserved_to = reserved;
            }
        }
    }

    /// Gives back the blocks appends reserved past the file's end: an
    /// ftruncate to the same size frees them (ext4 and XFS). Only as the
    /// file's sole opener, and if it still ends where this map does: no one
    /// else can be writing past that end while the lease is held. Otherwise
    /// (a reader or writer opened the file since) they stay until the file
    /// is next cut. Part of closing.
    pub(crate) fn give_back_reserved(&self, file: &File) {
        let mut region = self.region_mut();
        if std::mem::take(&mut region.reserved_to) == 0 {
            return;
        }
        let end = self.offset + region.len as u64;
        sys::as_sole_opener(file, |held| {
            if sys::fstat(file).is_ok_and(|meta| meta.len() == end) && held() {
                let _ = sys::set_len(file, end);
            }
        });
    }

    fn resize_steps(
        &self,
        file: &File,
        request: &Resize,
        (old_len, new_len): (usize, usize),
        (end, new_end, size): (u64, u64, u64),
        undo: &mut Undo,
    ) -> Result<bool> {
        let io = |what: String| move |e: std::io::Error| Error::io(e, what);
        let sync = || -> Result<()> {
            if request.sync {
                sys::fdatasync(file).map_err(io("fdatasync failed".to_string()))?;
            }
            Ok(())
        };
        let write_header = |undo: &mut Undo| -> Result<()> {
            if request.header.is_empty() {
                return Ok(());
            }
            // What the header was, for the undo: the last one written here if
            // it is as long (an append loop reads none), else read back.
            let mut last = self.region_mut();
            let old = match last.header.take() {
                Some(old) if old.len() == request.header.len() => old,
                _ => {
                    let mut old = vec![0; request.header.len()];
                    sys::read_at(file, &mut old, 0).map_err(io("cannot read the header".to_string()))?;
                    old
                }
            };
            drop(last);
            undo.header = Some(old);
            sys::write_at(file, request.header, 0).map_err(io("cannot write the header".to_string()))?;
            undo.written = true;
            Ok(())
        };
        // Bytes of the file the resize overwrites or cuts, read for the
        // undo: refused past a bound (in a coded error, before any change)
        // rather than an allocation the process may not survive. An append
        // never needs more than it brings.
        let keep = |undo: &mut Undo, from: u64, to: u64| -> Result<()> {
            if to <= from {
                return Ok(());
            }
            let n = to - from;
            let limit = request.fill.map_or(0, |fill| fill.len() as u64).max(KEPT_FOR_UNDO);
            let too_many = || {
                Error::new(
                    ErrorKind::TooLarge,
                    format!(
                        "cannot resize: {n} bytes of the file from byte {from} would be overwritten or cut, more \
                         than memmap keeps in memory to undo a failed resize ({limit} bytes); the {} bytes after \
                         the array's end at byte {end} belong to no row (an interrupted append's?): cut the file \
                         to {end} bytes first",
                        size - end
                    ),
                )
            };
            let n = usize::try_from(n).ok().filter(|_| n <= limit).ok_or_else(too_many)?;
            let mut bytes = Vec::new();
            bytes.try_reserve_exact(n).map_err(|_| too_many())?;
            bytes.resize(n, 0);
            sys::read_at(file, &mut bytes, from).map_err(io(format!("cannot read {n} bytes at byte {from}")))?;
            undo.tail = Some((from, bytes));
            Ok(())
        };
        if new_len > old_len {
            // The file first, then the mapping: a page mapped back over a
            // placeholder tail must have the file behind it before anything
            // can read it (see Region::make_room). Bytes past the old end
            // (past_end Discard) are overwritten where the new ones go, and
            // those past the new end are cut last, once nothing can fail.
            if request.fill.is_none() && !request.sparse {
                // Checked whole first: a fallocate that runs out part way can
                // leave blocks behind (see sys::free_bytes).
                // Blocks this map's appends reserved past the end of the
                // file already cover part of the growth.
                let own = self.region().reserved_to.min(new_end).saturating_sub(size.max(end));
                let needed = new_end - end - own;
                if let Some(free) = sys::free_bytes(file).filter(|&free| needed > free) {
                    return Err(Error::new(
                        ErrorKind::NoSpace,
                        format!(
                            "cannot reserve {needed} bytes of disk for the file: the file system has {free} bytes free"
                        ),
                    ));
                }
            }
            keep(undo, end, size.min(new_end))?;
            undo.size = Some(size);
            match request.fill {
                // pwrite extends the file and reports a full disk as ENOSPC:
                // the bytes have their blocks, nothing to reserve.
                Some(bytes) => {
                    if !request.sparse {
                        self.reserve_ahead(file, size, new_end);
                    }
                    sys::write_at(file, bytes, end).map_err(io(format!(
                        "cannot append {} bytes at byte {end} of the file",
                        bytes.len()
                    )))?
                }
                None => {
                    if size > end {
                        zero(file, end, size.min(new_end), request.sparse)?;
                    }
                    if new_end > size {
                        sys::set_len(file, new_end)
                            .map_err(io(format!("cannot extend the file to {new_end} bytes")))?;
                        // Past the old end of file, its last page may hold
                        // what a late write through a cut buffer left there;
                        // tmpfs keeps it when the file grows again. POSIX
                        // says those bytes read as zeros.
                        let page = sys::page_size() as u64;
                        if size % page != 0 {
                            zero(file, size, (size.div_ceil(page) * page).min(new_end), request.sparse)?;
                        }
                    }
                    if !request.sparse {
                        sys::allocate(file, end, new_end, false).map_err(io(format!(
                            "cannot reserve {} bytes of disk for the file",
                            new_end - end
                        )))?;
                    }
                }
            }
            sync()?;
            write_header(undo)?;
            sync()?;
            let moved = {
                let mut region = self.region_mut();
                let mut runs = self.runs.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                region.make_room(
                    file,
                    self.offset,
                    new_len,
                    (request.held, request.tail_in_use),
                    &mut runs,
                )?
            };
            self.region_mut().len = new_len;
            self.needs_sync.store(true, std::sync::atomic::Ordering::Release);
            if size > new_end {
                // Done: a failure here only leaves bytes that belong to no
                // row past the end, as an interrupted append leaves them.
                let _ = sys::set_len(file, new_end);
                self.region_mut().reserved_to = 0;
            }
            return Ok(moved);
        }
        write_header(undo)?;
        sync()?;
        if new_len < old_len || size > end {
            // The cut is the last step that can fail but for the sync after
            // it, which needs the cut bytes to undo it.
            if request.sync {
                keep(undo, new_end, size)?;
            }
            if new_len < old_len {
                // Counted before the pages go (see tasks in the binding).
                self.shrinks.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
                if request.held {
                    let mut region = self.region_mut();
                    let swapped = region.placeholder_past(new_len);
                    let page = sys::page_size();
                    let at = |ptr: *mut u8| {
                        let base = region.span().0 as usize;
                        (self.offset - (self.offset % page as u64)) + (ptr as usize - (base - base % page)) as u64
                    };
                    // Only ranges of the current mapping are mapped back on
                    // failure; retained ones keep their zero pages.
                    let current = region.map.as_ref().map(|m| (m.as_mut_ptr() as usize, m.len()));
                    for (ptr, len) in swapped? {
                        if current.is_some_and(|(start, n)| (ptr as usize) >= start && (ptr as usize) < start + n) {
                            undo.swapped.push((ptr, len, at(ptr)));
                        }
                    }
                }
            }
            undo.size = Some(size);
            self.region_mut().reserved_to = 0;
            sys::set_len(file, new_end).map_err(io(format!("cannot cut the file to {new_end} bytes")))?;
            sync()?;
            self.region_mut().len = new_len;
            self.needs_sync.store(true, std::sync::atomic::Ordering::Release);
        }
        Ok(false)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::*;

    pub(crate) fn dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("memmap-core-grow-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    pub(crate) fn request(len: u64, held: bool) -> Resize<'static> {
        Resize {
            len,
            fill: None,
            header: &[],
            header_now: &[],
            sparse: false,
            past_end: PastEnd::Refuse,
            sync: false,
            held,
            tail_in_use: held,
        }
    }

    fn byte(map: &Mapping, at: usize) -> u8 {
        let mut out = [0];
        map.read_into(at, &mut out).unwrap();
        out[0]
    }

    #[test]
    fn a_held_address_keeps_mapping_the_file_when_the_map_grows() {
        let dir = dir("held");
        let path = dir.join("f");
        std::fs::write(&path, [7u8; 5000]).unwrap();
        let map = Mapping::open(Source::Path(path.clone()), Mode::ReadWrite, 0, Length::Exact(5000)).unwrap();
        let old = map.as_ptr();
        // Far past any room: a new mapping unless the addresses after were free.
        for step in 1..=6u64 {
            map.resize(&request(5000 << (3 * step), true)).unwrap();
        }
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 5000 << 18);
        // SAFETY: the old address stays mapped for its old length (retained).
        unsafe { *old.add(10) = 42 };
        assert_eq!(byte(&map, 10), 42, "the old address and the new one show the same file");
        assert_eq!(byte(&map, (5000 << 18) - 1), 0);
        map.close_keeping_address(true).unwrap();
        drop(map);
        assert_eq!(std::fs::read(&path).unwrap()[10], 42);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn appends_reserve_blocks_ahead_and_closing_gives_them_back() {
        use std::os::unix::fs::MetadataExt;
        let dir = dir("ahead");
        let blocks = |path: &std::path::Path| std::fs::metadata(path).unwrap().blocks() * 512;
        for (sparse, name) in [(false, "reserved"), (true, "sparse")] {
            let path = dir.join(name);
            std::fs::write(&path, [1u8; 128]).unwrap();
            let map = Mapping::open(Source::Path(path.clone()), Mode::ReadWrite, 128, Length::Exact(0)).unwrap();
            // Only ext4 and XFS reserve ahead.
            let elsewhere = sys::room_ahead(&std::fs::File::open(&path).unwrap(), 0).is_none();
            let rows = vec![3u8; 100_000];
            let mut ahead = 0;
            for k in 1..=40u64 {
                map.resize(&Resize {
                    fill: Some(&rows),
                    header: &[2; 128],
                    sparse,
                    ..request(k * 100_000, false)
                })
                .unwrap();
                let len = 128 + k * 100_000;
                assert_eq!(std::fs::metadata(&path).unwrap().len(), len, "the size is the array's");
                if sparse || elsewhere {
                    assert!(blocks(&path) < len + 8192, "{name}: nothing reserved ahead");
                }
                ahead = ahead.max(blocks(&path).saturating_sub(len));
            }
            if !(sparse || elsewhere) {
                // Reserved an eighth of what the array held, in 64 KiB steps.
                assert!(ahead >= 300_000, "{name}: at most {ahead} bytes past the end");
            }
            // A refused append leaves the reservation as it was (a failure
            // after it: the fault tests' "two appends").
            let before = blocks(&path);
            let wrong = [0u8; 200];
            assert!(map
                .resize(&Resize {
                    fill: Some(&rows),
                    header: &wrong,
                    ..request(41 * 100_000, false)
                })
                .is_err());
            assert_eq!(blocks(&path), before);
            map.close().unwrap();
            let len = 128 + 40 * 100_000;
            assert!(blocks(&path) < len + 8192, "{name}: close gave the blocks back");
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(bytes.len() as u64, len);
            assert!(bytes[128..].iter().all(|&b| b == 3));
            // Dropped without close(): given back too.
            let map = Mapping::open(
                Source::Path(path.clone()),
                Mode::ReadWrite,
                128,
                Length::Exact(len - 128),
            )
            .unwrap();
            map.resize(&Resize {
                fill: Some(&rows),
                header: &[2; 128],
                ..request(len - 128 + 100_000, false)
            })
            .unwrap();
            drop(map);
            assert!(
                blocks(&path) < len + 100_000 + 8192,
                "{name}: drop gave the blocks back"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn appends_write_data_then_header_and_shrinks_put_zero_pages_under_held_addresses() {
        let dir = dir("append");
        let path = dir.join("f");
        std::fs::write(&path, [1u8; 64]).unwrap();
        let map = Mapping::open(Source::Path(path.clone()), Mode::ReadWrite, 64, Length::Exact(0)).unwrap();
        assert!(map.is_empty());
        let mut total = 0u64;
        for k in 0..50u8 {
            let rows = vec![k; 3000];
            total += 3000;
            map.resize(&Resize {
                fill: Some(&rows),
                header: &[k; 64],
                ..request(total, false)
            })
            .unwrap();
        }
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 64 + 150_000);
        assert_eq!(&bytes[..64], &[49; 64]);
        assert!(bytes[64..]
            .chunks(3000)
            .enumerate()
            .all(|(k, c)| c.iter().all(|&b| b == k as u8)));
        let (ptr, _) = map.span();
        map.resize(&Resize {
            header: &[9; 64],
            ..request(10_000, true)
        })
        .unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 64 + 10_000);
        assert_eq!(std::fs::read(&path).unwrap()[0], 9);
        // SAFETY: past the new end, a held address is zero pages, not SIGBUS.
        let past = unsafe { *ptr.add(100_000) };
        assert_eq!(past, 0);
        assert_eq!(map.shrinks(), 1);
        // Growing again while the cut tail may still be written through
        // (`tail_in_use`): the old pages stay zero pages, and what is written
        // there never reaches the file; the map grows at a new address.
        map.resize(&request(200_000, true)).unwrap();
        // SAFETY: the old address is retained, its tail zero pages.
        unsafe { *ptr.add(150_000) = 77 };
        assert_ne!(map.span().0, ptr, "grown at a new address");
        assert_eq!(
            byte(&map, 150_000),
            0,
            "a late write into the old tail is not the file's"
        );
        assert_eq!(byte(&map, 199_999), 0);
        assert_eq!(byte(&map, 5000), 1);
        // Shrunk and grown again once nothing uses the tail: the file's pages
        // go back under it, at the same address.
        let (ptr, _) = map.span();
        map.resize(&request(10_000, true)).unwrap();
        map.resize(&Resize {
            tail_in_use: false,
            ..request(200_000, true)
        })
        .unwrap();
        assert_eq!(map.span().0, ptr, "the same mapping");
        assert_eq!(byte(&map, 150_000), 0);
        assert_eq!(std::fs::read(&path).unwrap()[64 + 150_000], 0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn refusals_change_nothing() {
        let dir = dir("refuse");
        let path = dir.join("f");
        std::fs::write(&path, [3u8; 1000]).unwrap();
        let kind = |mode, offset, len, request: &Resize| {
            let map = Mapping::open(Source::Path(path.clone()), mode, offset, Length::Exact(len)).unwrap();
            map.resize(request).unwrap_err().kind()
        };
        assert_eq!(
            kind(Mode::ReadOnly, 0, 1000, &request(2000, false)),
            ErrorKind::Unsupported
        );
        assert_eq!(
            kind(Mode::CopyOnWrite, 0, 1000, &request(2000, false)),
            ErrorKind::Unsupported
        );
        assert_eq!(
            kind(Mode::ReadWrite, 0, 500, &request(2000, false)),
            ErrorKind::NotAtEnd
        );
        let fill = Resize {
            fill: Some(&[1; 10]),
            ..request(2000, false)
        };
        assert_eq!(kind(Mode::ReadWrite, 0, 1000, &fill), ErrorKind::InvalidArgument);
        assert_eq!(
            kind(Mode::ReadWrite, 0, 1000, &request(u64::MAX - 1, false)),
            ErrorKind::TooLarge
        );
        let header = Resize {
            header: &[0; 20],
            ..request(2000, false)
        };
        assert_eq!(kind(Mode::ReadWrite, 10, 990, &header), ErrorKind::InvalidArgument);
        let file = std::fs::OpenOptions::new().read(true).write(true).open(&path).unwrap();
        use std::os::fd::AsRawFd;
        let map = Mapping::open(Source::Fd(file.as_raw_fd()), Mode::ReadWrite, 0, Length::Exact(1000)).unwrap();
        assert_eq!(
            map.resize(&request(2000, false)).unwrap_err().kind(),
            ErrorKind::Unsupported
        );
        // An append of nothing makes the same checks, and no change when they pass.
        let nothing = Resize {
            fill: Some(&[]),
            ..request(500, false)
        };
        assert_eq!(kind(Mode::ReadWrite, 0, 500, &nothing), ErrorKind::NotAtEnd);
        assert_eq!(
            map.resize(&Resize { len: 1000, ..nothing }).unwrap_err().kind(),
            ErrorKind::Unsupported
        );
        let at_end = Mapping::open(Source::Path(path.clone()), Mode::ReadWrite, 500, Length::Exact(500)).unwrap();
        // Not even the header is written.
        assert!(
            !at_end
                .resize(&Resize {
                    header: &[9; 8],
                    ..nothing
                })
                .unwrap()
                .moved
        );
        assert_eq!(std::fs::read(&path).unwrap(), vec![3u8; 1000]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[cfg(all(test, target_os = "linux"))]
mod area_tests {
    use super::tests::{dir, request};
    use crate::*;

    /// The kernel's areas over `[start, end)`, from /proc/self/maps.
    fn kernel_areas(start: usize, end: usize) -> usize {
        std::fs::read_to_string("/proc/self/maps")
            .unwrap()
            .lines()
            .filter(|line| {
                let (low, high) = line.split(' ').next().unwrap().split_once('-').unwrap();
                let (low, high) = (
                    usize::from_str_radix(low, 16).unwrap(),
                    usize::from_str_radix(high, 16).unwrap(),
                );
                low < end && high > start
            })
            .count()
    }

    #[test]
    fn held_shrink_and_grow_cycles_reuse_the_mapping_and_count_areas_as_the_kernel() {
        let dir = std::env::temp_dir().join(format!("memmap-core-grow-{}-cycles", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        std::fs::write(&path, [5u8; 1 << 20]).unwrap();
        let map = Mapping::open(Source::Path(path.clone()), Mode::ReadWrite, 0, Length::Exact(1 << 20)).unwrap();
        let request = |len| Resize {
            len,
            fill: None,
            header: &[],
            header_now: &[],
            sparse: false,
            past_end: PastEnd::Refuse,
            sync: false,
            // Buffers held, but none reached past the shrink.
            held: true,
            tail_in_use: false,
        };
        let first = map.as_ptr() as usize;
        for _ in 0..100 {
            map.resize(&request(100_000)).unwrap();
            map.resize(&request(1 << 20)).unwrap();
        }
        assert_eq!(map.as_ptr() as usize, first, "the cycles stay in the first mapping");
        // The map's own count (the process-wide one moves with tests running beside).
        let counted = map.region().areas(&map.runs.lock().unwrap());
        assert_eq!(counted, 1, "no areas gained over 100 cycles");
        let page = 4096;
        let (start, end) = (first / page * page, (first + (1 << 20)).div_ceil(page) * page);
        assert_eq!(kernel_areas(start, end), 1, "the file pages are back, in one area");
        let mut byte = [0];
        map.read_into(99_999, &mut byte).unwrap();
        assert_eq!(byte[0], 5);
        map.read_into(200_000, &mut byte).unwrap();
        assert_eq!(byte[0], 0, "regrown bytes read as zero");
        drop(map);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn retained_mappings_go_once_nothing_reaches_them() {
        // A cut tail in use at every regrowth: each cycle maps anew and keeps
        // the old mapping (two areas with its zero-page tail).
        let dir = dir("retained");
        let path = dir.join("f");
        std::fs::write(&path, [6u8; 1 << 20]).unwrap();
        let map = Mapping::open(Source::Path(path.clone()), Mode::ReadWrite, 0, Length::Exact(1 << 20)).unwrap();
        let counted = || map.region().areas(&map.runs.lock().unwrap());
        let mut olds = Vec::new();
        for _ in 0..20 {
            olds.push(map.span().0 as usize);
            map.resize(&request(100_000, true)).unwrap();
            map.resize(&request(1 << 20, true)).unwrap();
        }
        assert_eq!(
            counted(),
            1 + 2 * 20,
            "the current map, and each retained one with its tail"
        );
        // The binding says the first mapping is still reached: it stays, and
        // its address still reads the file; the others go.
        let keep = olds[0];
        // SAFETY: nothing in this test reads the addresses it reports unreached.
        let gone = unsafe { map.release_retained(|first, _| first == keep) };
        assert_eq!(gone, 19);
        assert_eq!(counted(), 1 + 2);
        // SAFETY: the kept mapping is mapped, and its first 100_000 bytes are the file's.
        assert_eq!(unsafe { *(keep as *const u8).add(99_999) }, 6);
        // SAFETY: as above.
        assert_eq!(unsafe { map.release_retained(|_, _| false) }, 1);
        assert_eq!(counted(), 1);
        let mut byte = [0];
        map.read_into(99_999, &mut byte).unwrap();
        assert_eq!(byte[0], 6);
        drop(map);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn bytes_past_the_end_are_overwritten_and_cut_without_reading_them_all() {
        use std::os::unix::fs::MetadataExt;
        // A .npy whose rows are followed by what belongs to no row: 64 GiB
        // of holes past them (an interrupted append's, or `truncate -s`).
        // Reading them all for the undo was an allocation that aborted the
        // process; an append keeps only what it overwrites.
        let dir = dir("tail");
        let path = dir.join("f");
        let discard = |len, fill, sparse| Resize {
            fill,
            header: &[3; 64],
            past_end: PastEnd::Discard,
            sparse,
            ..request(len, false)
        };
        let tail = 64u64 << 30;
        let extend_to_tail = || {
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .unwrap()
                .set_len(tail)
                .unwrap()
        };
        std::fs::write(&path, [1u8; 64 + 100]).unwrap();
        extend_to_tail();
        let map = Mapping::open(Source::Path(path.clone()), Mode::ReadWrite, 64, Length::Exact(100)).unwrap();
        let rows = [7u8; 5000];
        map.resize(&discard(5100, Some(&rows), false)).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.len(), 64 + 5100, "cut after the new rows");
        assert!(meta.blocks() < 1024, "the holes stayed holes");
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..64], &[3; 64]);
        assert!(bytes[64..164].iter().all(|&b| b == 1) && bytes[164..].iter().all(|&b| b == 7));

        // Growing with zeros over a tail: the bytes it overwrites read as
        // zeros, those past the new end go, whatever was there.
        let garbage = [9u8; 20_000];
        std::os::unix::fs::FileExt::write_all_at(
            &std::fs::File::options().write(true).open(&path).unwrap(),
            &garbage,
            64 + 5100,
        )
        .unwrap();
        for sparse in [false, true] {
            map.resize(&discard(5100, None, sparse))
                .unwrap_or_else(|e| panic!("{e}"));
            std::os::unix::fs::FileExt::write_all_at(
                &std::fs::File::options().write(true).open(&path).unwrap(),
                &garbage,
                64 + 5100,
            )
            .unwrap();
            map.resize(&discard(15_100, None, sparse)).unwrap();
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(bytes.len(), 64 + 15_100);
            assert!(bytes[64 + 5100..].iter().all(|&b| b == 0), "sparse {sparse}");
        }

        // Zeros over more of a tail than the undo keeps in memory: refused,
        // the file as it was.
        map.resize(&discard(5100, None, false)).unwrap();
        let before = std::fs::read(&path).unwrap();
        extend_to_tail();
        let err = map.resize(&discard(5100 + (1 << 30), None, false)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TooLarge, "{err}");
        assert_eq!(std::fs::metadata(&path).unwrap().len(), tail);
        let mut head = vec![0; 64 + 5100];
        std::os::unix::fs::FileExt::read_exact_at(&std::fs::File::open(&path).unwrap(), &mut head, 0).unwrap();
        assert_eq!(head, before);
        drop(map);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

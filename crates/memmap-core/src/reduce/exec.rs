//! Running a schedule: units in order, staged into contiguous native blocks
//! when the input is strided or in the other byte order, cut into fixed
//! pieces (contiguous ranges of units) that threads take as they come free;
//! tiles a piece covers whole are finished into the output at once, tiles
//! cut between pieces are merged in order afterwards (so integer, min/max
//! and arg results are the same for any thread count, and float results the
//! same from one run to the next).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::control::{Control, Watch};
use super::kernels::{Family, Rows};
use super::plan::{Schedule, TileShape};
use crate::Result;

/// Views smaller than this are reduced on the calling thread alone: starting
/// a thread costs about what reducing half a megabyte does.
const PARALLEL_BYTES: usize = 8 << 20;

/// Pieces of the work per thread, taken in turn by whichever thread is free.
const PIECES_PER_THREAD: usize = 4;

/// The most threads a reduction uses: one per core this process may use
/// (cgroup limits included), at most 8.
pub(crate) fn default_threads() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()).min(8))
}

/// Everything a thread needs to run units.
pub(crate) struct Job<'a, F: Family> {
    pub family: &'a F,
    pub schedule: &'a Schedule,
    /// The first visited element of the input and of the mask (null: none).
    pub first: *const u8,
    pub mask_first: *const u8,
    pub swap: bool,
    /// Bytes swapped as one (an element, or half of a complex one).
    pub swap_unit: usize,
    /// The output buffer (element 0) and the result itemsize.
    pub out: *mut u8,
    pub out_size: usize,
}

// SAFETY: the pointers reach memory the caller of `reduce` keeps readable
// (input, mask) and writable (output) until it returns; the scoped threads
// sharing a Job end before then. Threads write disjoint outputs (whole
// tiles each; shared tiles are finished after the join).
unsafe impl<F: Family> Sync for Job<'_, F> {}

/// A tile a thread covered only part of: its states, to merge in order.
struct Partial<A> {
    tile: usize,
    accs: Vec<A>,
}

/// What a piece of the work came to, once a thread has run it.
type Slot<A> = Mutex<Option<Result<Vec<Partial<A>>>>>;

/// Where a unit's results go: running states, or (direct tiles) the output
/// buffer, at this output element of the tile's first row.
enum Place<'a, A> {
    States(&'a mut [A]),
    Out(isize),
}

/// Staging buffers, reused by a thread across units.
#[derive(Default)]
struct Stage {
    data: Vec<u64>,
    mask: Vec<u8>,
}

impl<F: Family> Job<'_, F> {
    /// Runs every unit, on up to `threads` threads.
    pub fn run(&self, control: &Control) -> Result<()> {
        let total = self.schedule.total_units();
        let bytes = self.schedule.g.size.saturating_mul(self.schedule.itemsize);
        let parts = if control.threads == 0 {
            default_threads().min(bytes / PARALLEL_BYTES)
        } else {
            control.threads
        };
        let parts = parts.min(total).max(1);
        if parts == 1 {
            let partials = self.units(0..total, control)?;
            return self.finish_partials(vec![partials]);
        }
        // Pieces fixed by the machine, not by timing (so a float result is
        // the same run after run), taken by whichever thread is free: a
        // thread that loses its core to another process does fewer pieces
        // instead of holding up the result with a fixed half.
        let pieces = (parts * PIECES_PER_THREAD).min(total);
        let cut = |k: usize| k * total / pieces;
        let next = AtomicUsize::new(0);
        let slots: Vec<Slot<F::Acc>> = (0..pieces).map(|_| Mutex::new(None)).collect();
        let work = || loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            if k >= pieces {
                return;
            }
            let result = self.units(cut(k)..cut(k + 1), control);
            let failed = result.is_err();
            *slots[k].lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(result);
            if failed {
                // The call fails: no piece left is worth starting.
                next.store(pieces, Ordering::Relaxed);
                return;
            }
        };
        std::thread::scope(|scope| {
            // A thread that cannot start leaves its pieces to the others.
            let started: Vec<_> = (1..parts)
                .filter_map(|_| std::thread::Builder::new().spawn_scoped(scope, work).ok())
                .collect();
            work();
            for thread in started {
                if let Err(panic) = thread.join() {
                    std::panic::resume_unwind(panic);
                }
            }
        });
        let mut partials = Vec::with_capacity(pieces);
        for slot in slots {
            // A piece is skipped only after another failed, whose error this returns.
            if let Some(result) = slot.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner()) {
                partials.push(result?);
            }
        }
        debug_assert_eq!(partials.len(), pieces, "a piece was skipped while none failed");
        self.finish_partials(partials)
    }

    /// Runs units `range` in order; returns the states of tiles it did not cover whole.
    fn units(&self, range: std::ops::Range<usize>, control: &Control) -> Result<Vec<Partial<F::Acc>>> {
        let s = self.schedule;
        let mut watch = Watch::new(control, s.itemsize);
        let mut stage = Stage::default();
        let mut partials = Vec::new();
        let mut accs: Vec<F::Acc> = Vec::new();
        let mut u = range.start;
        while u < range.end {
            let (tile, units) = s.tile_of(u);
            let (input, mask, out, shape) = s.tile(tile);
            let end = units.end.min(range.end);
            if shape.direct && F::DIRECT {
                let out = s.g.out_first + out;
                for w in u..end {
                    let elements = self.unit(shape, w - units.start, input, mask, Place::Out(out), &mut stage);
                    watch.done(elements)?;
                }
                u = end;
                continue;
            }
            accs.clear();
            // A piece that starts inside the tile is merged into the one
            // before it, which holds the outputs' start (prod's `initial`).
            let start = if u == units.start {
                self.family.init()
            } else {
                self.family.identity()
            };
            accs.resize(shape.accs, start);
            for w in u..end {
                let elements = self.unit(
                    shape,
                    w - units.start,
                    input,
                    mask,
                    Place::States(&mut accs),
                    &mut stage,
                );
                watch.done(elements)?;
            }
            if u == units.start && end == units.end {
                self.finish_tile(shape, out, &accs);
            } else {
                partials.push(Partial {
                    tile,
                    accs: accs.clone(),
                });
            }
            u = end;
        }
        watch.finish()?;
        Ok(partials)
    }

    /// Runs unit `w` of a tile whose first element is at `input`/`mask`
    /// (byte offsets from the first visited element); returns its element count.
    fn unit(
        &self,
        shape: &TileShape,
        w: usize,
        input: isize,
        mask: isize,
        place: Place<F::Acc>,
        stage: &mut Stage,
    ) -> usize {
        let unit = shape.unit(w);
        let size = F::SIZE;
        let s = self.schedule;
        let (row, inner) = (&shape.row, &shape.inner);
        let p = self.first.wrapping_offset(input + unit.input);
        let mut rows = Rows {
            p,
            n: unit.n,
            rows: unit.rows,
            row_stride: row.stride,
            mask: std::ptr::null(),
            mask_row: 0,
            idx: s.g.idx_first + unit.idx,
            idx_row: row.idx,
            idx_inner: inner.idx,
        };
        if inner.stride != size as isize || self.swap {
            let words = (unit.rows * unit.n * size).div_ceil(8);
            if stage.data.len() < words {
                stage.data.resize(words, 0);
            }
            let buffer = stage.data.as_mut_ptr() as *mut u8;
            for r in 0..unit.rows {
                // SAFETY: row r of the unit lies in the input (the schedule
                // was built from a view checked to lie in it); the buffer
                // holds rows * n elements.
                unsafe {
                    self.copy_row(
                        p.wrapping_offset(r as isize * row.stride),
                        inner.stride,
                        buffer.add(r * unit.n * size),
                        unit.n,
                    );
                }
            }
            rows.p = buffer;
            rows.row_stride = (unit.n * size) as isize;
        }
        if !self.mask_first.is_null() {
            let m = self.mask_first.wrapping_offset(mask + unit.mask);
            if inner.mask == 1 {
                rows.mask = m;
                rows.mask_row = row.mask;
            } else {
                let bytes = unit.rows * unit.n;
                if stage.mask.len() < bytes {
                    stage.mask.resize(bytes, 0);
                }
                for r in 0..unit.rows {
                    let from = m.wrapping_offset(r as isize * row.mask);
                    for j in 0..unit.n {
                        // SAFETY: mask element (r, j) of the unit lies in the
                        // mask (checked with the input's shape).
                        stage.mask[r * unit.n + j] = unsafe { *from.wrapping_offset(j as isize * inner.mask) };
                    }
                }
                rows.mask = stage.mask.as_ptr();
                rows.mask_row = unit.n as isize;
            }
        }
        match place {
            Place::Out(out) => {
                let size = self.out_size as isize;
                let at = self.out.wrapping_offset((out + unit.out) * size);
                // SAFETY: the block is readable (above); the output buffer
                // holds every output of the schedule (checked by the caller).
                unsafe { self.family.reduce_rows_out(&rows, at, row.out * size) };
            }
            Place::States(accs) => {
                let out = accs.as_mut_ptr().wrapping_offset(unit.acc);
                // SAFETY: the block is readable (above); the unit's output
                // states are inside `accs` (the tile shape's dense layout).
                unsafe {
                    if inner.reduced {
                        self.family.reduce_rows(&rows, out, shape.acc_row);
                    } else {
                        self.family.accumulate_rows(&rows, out, shape.acc_row);
                    }
                }
            }
        }
        unit.rows * unit.n
    }

    /// Copies `n` elements `stride` bytes apart at `from` to `to`, back to
    /// back and in native byte order.
    ///
    /// # Safety
    ///
    /// The elements are readable, `to` writable for `n` elements.
    unsafe fn copy_row(&self, from: *const u8, stride: isize, to: *mut u8, n: usize) {
        #[cfg(target_arch = "x86_64")]
        if super::kernels::has_avx2() {
            // SAFETY: the CPU has the features; the rest is the caller's promise.
            return unsafe { copy_row_avx2(from, stride, to, n, F::SIZE, self.swap, self.swap_unit) };
        }
        // SAFETY: the caller's promise.
        unsafe { copy_row(from, stride, to, n, F::SIZE, self.swap, self.swap_unit) }
    }

    /// Writes the results of a tile whose states are complete.
    fn finish_tile(&self, shape: &TileShape, out: isize, accs: &[F::Acc]) {
        let base = self.schedule.g.out_first + out;
        shape.outputs(|state, offset| {
            // SAFETY: the output buffer holds every output of the schedule
            // (checked by the caller), and `base + offset` is one of them.
            unsafe {
                self.family.finish(
                    &accs[state],
                    self.out.wrapping_offset((base + offset) * self.out_size as isize),
                )
            }
        });
    }

    /// Merges the pieces of tiles that threads shared, in thread order, and
    /// writes them.
    fn finish_partials(&self, pieces: Vec<Vec<Partial<F::Acc>>>) -> Result<()> {
        let mut pending: Option<Partial<F::Acc>> = None;
        for partial in pieces.into_iter().flatten() {
            match &mut pending {
                Some(p) if p.tile == partial.tile => {
                    for (into, later) in p.accs.iter_mut().zip(&partial.accs) {
                        self.family.merge(into, later);
                    }
                }
                _ => {
                    if let Some(done) = pending.take() {
                        self.finish_partial(done);
                    }
                    pending = Some(partial);
                }
            }
        }
        if let Some(done) = pending {
            self.finish_partial(done);
        }
        Ok(())
    }

    fn finish_partial(&self, partial: Partial<F::Acc>) {
        let (_, _, out, shape) = self.schedule.tile(partial.tile);
        self.finish_tile(shape, out, &partial.accs);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn copy_row_avx2(from: *const u8, stride: isize, to: *mut u8, n: usize, size: usize, swap: bool, unit: usize) {
    // SAFETY: forwarded.
    unsafe { copy_row(from, stride, to, n, size, swap, unit) }
}

/// Copies `n` elements of `size` bytes, `stride` bytes apart at `from`, to
/// `to` back to back, swapping each `unit` bytes when `swap`. Contiguous
/// rows are one loop over units (a byte shuffle per vector).
///
/// # Safety
///
/// The elements are readable, `to` writable for `n` elements.
#[inline(always)]
unsafe fn copy_row(from: *const u8, stride: isize, to: *mut u8, n: usize, size: usize, swap: bool, unit: usize) {
    macro_rules! swapped {
        ($t:ty) => {{
            let part = size_of::<$t>();
            let parts = size / part;
            if stride == size as isize {
                for j in 0..n * parts {
                    // SAFETY: the caller's promise; unit j of the row.
                    unsafe {
                        let v = std::ptr::read_unaligned((from as *const $t).add(j)).swap_bytes();
                        std::ptr::write_unaligned((to as *mut $t).add(j), v);
                    }
                }
            } else {
                for j in 0..n {
                    let src = from.wrapping_offset(j as isize * stride);
                    for h in 0..parts {
                        // SAFETY: the caller's promise; part h of element j.
                        unsafe {
                            let v = std::ptr::read_unaligned(src.add(h * part) as *const $t).swap_bytes();
                            std::ptr::write_unaligned(to.add(j * size + h * part) as *mut $t, v);
                        }
                    }
                }
            }
        }};
    }
    if swap && size > 1 {
        match unit {
            2 => swapped!(u16),
            4 => swapped!(u32),
            _ => swapped!(u64),
        }
        return;
    }
    if stride == size as isize {
        // SAFETY: the caller's promise.
        unsafe { std::ptr::copy_nonoverlapping(from, to, n * size) };
        return;
    }
    macro_rules! gather {
        ($t:ty) => {{
            // Every 2nd or 4th element (`::2`, a column of a (N, 2) or
            // (N, 4) array): a constant step the compiler turns into vector
            // loads and shuffles.
            macro_rules! every {
                ($k:literal) => {
                    for j in 0..n {
                        // SAFETY: the caller's promise.
                        unsafe {
                            let v = std::ptr::read_unaligned((from as *const $t).add(j * $k));
                            std::ptr::write_unaligned((to as *mut $t).add(j), v);
                        }
                    }
                };
            }
            if stride == 2 * size as isize {
                every!(2);
                return;
            }
            if stride == 4 * size as isize {
                every!(4);
                return;
            }
            for j in 0..n {
                // SAFETY: the caller's promise.
                unsafe {
                    let v = std::ptr::read_unaligned(from.wrapping_offset(j as isize * stride) as *const $t);
                    std::ptr::write_unaligned((to as *mut $t).add(j), v);
                }
            }
        }};
    }
    match size {
        1 => gather!(u8),
        2 => gather!(u16),
        4 => gather!(u32),
        8 => gather!(u64),
        _ => gather!(u128),
    }
}

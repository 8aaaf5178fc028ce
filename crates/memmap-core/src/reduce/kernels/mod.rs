//! The kernels: what one reduction does to the elements of a 2-D block of
//! contiguous native rows, the unit of work the executor hands out.
//!
//! Each operation is written once as a [`Lanes`] family: `L` independent
//! lane accumulators stepped over `L` values at a time (a shape LLVM turns
//! into vector code), a one-value step for tails, and a flush that merges
//! lanes into per-output accumulators. The drivers here map lanes to outputs
//! for the three block layouts:
//!
//! - inner axis reduced, one output for the whole block (`sum()`): every lane
//!   of a flat run flushes into the one output;
//! - inner axis reduced, one output per row (`sum(axis=1)` of C order): rows
//!   long enough get lanes, short rows a scalar fold;
//! - inner axis kept, rows added into a row of outputs (`sum(axis=0)` of C
//!   order): when the row length divides `L` the block is one flat run whose
//!   lane `k` always holds column `k % n`; otherwise lanes per column block.
//!
//! Every kernel is compiled twice, for AVX2 (chosen at run time) and for the
//! baseline target.

pub(crate) mod arg;
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2;
pub(crate) mod count;
pub(crate) mod extreme;
pub(crate) mod moments;
pub(crate) mod prod;
pub(crate) mod sum;

pub(crate) use arg::Arg;
pub(crate) use count::Nonzero;
pub(crate) use extreme::Extreme;
pub(crate) use moments::Moments;
pub(crate) use prod::Prod;
pub(crate) use sum::{Sum, SumTime};

use super::element::Native;

/// A 2-D block of elements in native byte order: `rows` rows of `n`
/// contiguous elements, `row_stride` bytes apart; an optional mask of one byte
/// per element (nonzero = counted) laid out the same way with `mask_row`
/// bytes between rows. `idx*` give each element's flat index within the
/// reduced axes (argmin/argmax): `idx + r * idx_row + j * idx_inner`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rows {
    pub p: *const u8,
    pub n: usize,
    pub rows: usize,
    pub row_stride: isize,
    pub mask: *const u8,
    pub mask_row: isize,
    pub idx: i64,
    pub idx_row: i64,
    pub idx_inner: i64,
}

/// One reduction over one element type, as the executor uses it.
pub(crate) trait Family: Sync {
    /// One output's running state.
    type Acc: Copy + Send + Sync;
    /// Bytes per input element.
    const SIZE: usize;
    /// Units this many times the usual size: for families whose cost per
    /// output per unit is high (var/std merge each output's moments once
    /// per unit), taller units over wide rows.
    const UNIT_SCALE: usize = 1;

    /// The state of an output that has seen nothing.
    fn init(&self) -> Self::Acc;

    /// The state of a later piece of an output's elements, one that is
    /// [`Family::merge`]d into the state of the elements before it (a tile
    /// that threads share): by default [`Family::init`]. Products start
    /// theirs without `initial`, which the output's first piece holds.
    fn identity(&self) -> Self::Acc {
        self.init()
    }

    /// Folds row `r` of `b` into `accs[r * acc_row]` (`acc_row` may be 0: one output).
    ///
    /// # Safety
    ///
    /// `b` describes readable memory; `accs` is valid for every index written.
    unsafe fn reduce_rows(&self, b: &Rows, accs: *mut Self::Acc, acc_row: isize);

    /// Adds element `j` of row `r` of `b` into `accs[r * acc_row + j]` (`acc_row` may be 0).
    ///
    /// # Safety
    ///
    /// As [`Family::reduce_rows`].
    unsafe fn accumulate_rows(&self, b: &Rows, accs: *mut Self::Acc, acc_row: isize);

    /// Whether [`Family::reduce_rows_out`] is offered.
    const DIRECT: bool = true;

    /// Reduces each row of `b` and writes its result at `out + r * out_stride`
    /// (bytes): for outputs whose only reduced axis is the inner one, with no
    /// state kept between calls. By default through states, a batch of rows
    /// at a time.
    ///
    /// # Safety
    ///
    /// `b` describes readable memory; `out` is valid for every result written.
    unsafe fn reduce_rows_out(&self, b: &Rows, out: *mut u8, out_stride: isize) {
        const BATCH: usize = 512;
        let mut states = Vec::with_capacity(BATCH.min(b.rows));
        let mut r0 = 0;
        while r0 < b.rows {
            let rows = BATCH.min(b.rows - r0);
            let part = Rows {
                p: b.p.wrapping_offset(r0 as isize * b.row_stride),
                mask: if b.mask.is_null() {
                    b.mask
                } else {
                    b.mask.wrapping_offset(r0 as isize * b.mask_row)
                },
                idx: b.idx + r0 as i64 * b.idx_row,
                rows,
                ..*b
            };
            states.clear();
            states.resize(rows, self.init());
            // SAFETY: rows r0.. of the block, one state each; the caller's
            // promise for their results.
            unsafe {
                self.reduce_rows(&part, states.as_mut_ptr(), 1);
                for (k, acc) in states.iter().enumerate() {
                    self.finish(acc, out.offset((r0 + k) as isize * out_stride));
                }
            }
            r0 += rows;
        }
    }

    /// Merges `later` (the state over elements after `into`'s) into `into`.
    fn merge(&self, into: &mut Self::Acc, later: &Self::Acc);

    /// Writes the result element (native byte order, any alignment) at `out`.
    ///
    /// # Safety
    ///
    /// `out` must be valid for writing one result element.
    unsafe fn finish(&self, acc: &Self::Acc, out: *mut u8);
}

/// An operation as `L` lane accumulators (see the module docs).
pub(crate) trait Lanes: Sync {
    type T: Native;
    type Acc: Copy + Send + Sync;
    type State: Copy;
    const L: usize;
    /// The most steps between flushes: bounds how many values one lane adds
    /// before its total is merged (compensated) into the output.
    /// Families that use [`Lanes::step_first`] keep the default: every
    /// fresh state's first step is a `step_first` only at the start of a run.
    const DEPTH: usize = usize::MAX;
    const INDEXED: bool = false;

    fn init(&self) -> Self::Acc;
    /// See [`Family::identity`].
    fn identity(&self) -> Self::Acc {
        self.init()
    }
    /// Fresh lanes; `acc_of(k)` is the output lane `k` will flush into,
    /// valid for reads and writes and held by this thread alone until the
    /// lanes are flushed. A family may take the output's state over into
    /// its lanes (leaving in it what the flushes should start from): the
    /// drivers call this before stepping, and give lanes that share an
    /// output in the order of their first elements, lowest `k` first.
    fn fresh(&self, acc_of: impl Fn(usize) -> *mut Self::Acc) -> Self::State;
    /// Steps every lane: lane `k` takes the value at `p + k * size`, whose
    /// position in the block is `pos + k`.
    ///
    /// # Safety
    ///
    /// `L` values readable at `p`.
    unsafe fn step(&self, s: &mut Self::State, p: *const u8, pos: u32);
    /// The first step after [`Lanes::fresh`] (unmasked): by default a step;
    /// families whose lanes start empty (argmin/argmax) take every value.
    ///
    /// # Safety
    ///
    /// As [`Lanes::step`].
    #[inline(always)]
    unsafe fn step_first(&self, s: &mut Self::State, p: *const u8, pos: u32) {
        // SAFETY: the caller's promise.
        unsafe { self.step(s, p, pos) }
    }
    /// [`Lanes::step`] where only values whose mask byte is nonzero count.
    ///
    /// # Safety
    ///
    /// `L` values readable at `p`, `L` bytes at `m`.
    unsafe fn step_masked(&self, s: &mut Self::State, p: *const u8, m: *const u8, pos: u32);
    /// Steps lane `k` alone with `x` at position `pos`.
    fn step_one(&self, s: &mut Self::State, k: usize, x: Self::T, pos: u32);
    /// Merges lane `k` into `acc`; `idx` turns a position into an element index.
    fn flush(&self, acc: &mut Self::Acc, s: &Self::State, k: usize, idx: impl Fn(u32) -> i64);
    /// Merges every lane into `acc` (one output for all); lane by lane unless
    /// a family knows better (a tree sum of the lanes, then one merge).
    fn flush_all(&self, acc: &mut Self::Acc, s: &Self::State, idx: impl Fn(u32) -> i64 + Copy) {
        for k in 0..Self::L {
            self.flush(acc, s, k, idx);
        }
    }
    /// Steps an output directly (scalar paths), `x` at element index `idx`.
    fn step_acc(&self, acc: &mut Self::Acc, x: Self::T, idx: i64);
    /// Folds a short row of `n` contiguous values (mask bytes at `m`, or
    /// null) into its own output: element `j` has index `idx + j * idx_step`.
    /// By default value by value; sums add the row first, then merge once.
    ///
    /// # Safety
    ///
    /// `n` values readable at `p` (and `n` bytes at `m` unless null).
    #[inline(always)]
    unsafe fn fold_row(&self, acc: &mut Self::Acc, p: *const u8, m: *const u8, n: usize, idx: i64, idx_step: i64) {
        for j in 0..n {
            // SAFETY: value and mask byte j of the row.
            unsafe {
                if m.is_null() || *m.add(j) != 0 {
                    self.step_acc(
                        acc,
                        Self::T::load(p.add(j * size_of::<Self::T>()), false),
                        idx + j as i64 * idx_step,
                    );
                }
            }
        }
    }
    /// [`Lanes::fold_row`] of exactly `N` values, no mask: what a row of a
    /// short inner axis costs (`sum(axis=1)` of `(n, 4)`); families override
    /// it with a tree over the row.
    ///
    /// # Safety
    ///
    /// `N` values readable at `p`.
    #[inline(always)]
    unsafe fn fold_fixed<const N: usize>(&self, acc: &mut Self::Acc, p: *const u8, idx: i64, idx_step: i64) {
        // SAFETY: the caller's promise.
        unsafe { self.fold_row(acc, p, std::ptr::null(), N, idx, idx_step) }
    }
    /// The result of a row of exactly `N` values, written at `out`: by
    /// default a fresh state, [`Lanes::fold_fixed`] and [`Lanes::finish`];
    /// sums skip the compensated state a lone row does not need.
    ///
    /// # Safety
    ///
    /// `N` values readable at `p`; `out` valid for one result.
    #[inline(always)]
    unsafe fn row_fixed<const N: usize>(&self, p: *const u8, idx: i64, idx_step: i64, out: *mut u8) {
        let mut acc = self.init();
        // SAFETY: the caller's promise.
        unsafe {
            self.fold_fixed::<N>(&mut acc, p, idx, idx_step);
            self.finish(&acc, out);
        }
    }
    /// [`Lanes::row_fixed`] for every row of `b` (rows of `N` values, no
    /// mask), results at `out + r * out_stride`; the float32 sums and
    /// extremes take hand-written AVX2 four rows at a time.
    ///
    /// # Safety
    ///
    /// As [`Family::reduce_rows_out`].
    #[inline(always)]
    unsafe fn rows_fixed<const N: usize, I: Isa>(&self, b: &Rows, out: *mut u8, out_stride: isize) {
        // SAFETY: the caller's promise.
        unsafe { fixed_rows_from::<Self, N>(self, b, 0, out, out_stride) }
    }
    fn merge(&self, into: &mut Self::Acc, later: &Self::Acc);
    /// # Safety
    ///
    /// As [`Family::finish`].
    unsafe fn finish(&self, acc: &Self::Acc, out: *mut u8);
}

/// A [`Lanes`] family driven by the generic drivers below.
pub(crate) struct Driven<F>(pub F);

impl<F: Lanes> Family for Driven<F> {
    type Acc = F::Acc;
    const SIZE: usize = size_of::<F::T>();

    fn init(&self) -> F::Acc {
        self.0.init()
    }

    fn identity(&self) -> F::Acc {
        self.0.identity()
    }

    unsafe fn reduce_rows(&self, b: &Rows, accs: *mut F::Acc, acc_row: isize) {
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: the CPU has AVX2, FMA and F16C (checked); the rest is
            // the caller's promise.
            return unsafe { reduce_rows_avx2(&self.0, b, accs, acc_row) };
        }
        // SAFETY: the caller's promise.
        unsafe { reduce_rows(&self.0, b, accs, acc_row) }
    }

    unsafe fn accumulate_rows(&self, b: &Rows, accs: *mut F::Acc, acc_row: isize) {
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: as in reduce_rows.
            return unsafe { accumulate_rows_avx2(&self.0, b, accs, acc_row) };
        }
        // SAFETY: the caller's promise.
        unsafe { accumulate_rows(&self.0, b, accs, acc_row) }
    }

    unsafe fn reduce_rows_out(&self, b: &Rows, out: *mut u8, out_stride: isize) {
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: as in reduce_rows.
            return unsafe { rows_out_avx2(&self.0, b, out, out_stride) };
        }
        // SAFETY: the caller's promise.
        unsafe { rows_out::<F, Baseline>(&self.0, b, out, out_stride) }
    }

    fn merge(&self, into: &mut F::Acc, later: &F::Acc) {
        self.0.merge(into, later)
    }

    unsafe fn finish(&self, acc: &F::Acc, out: *mut u8) {
        // SAFETY: the caller's promise.
        unsafe { self.0.finish(acc, out) }
    }
}

/// Whether this CPU runs the AVX2 builds of the kernels (AVX2, FMA and F16C,
/// which every AVX2 CPU since 2013 has).
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn has_avx2() -> bool {
    if cfg!(miri) {
        return false;
    }
    std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("fma")
        && std::arch::is_x86_feature_detected!("f16c")
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn reduce_rows_avx2<F: Lanes>(f: &F, b: &Rows, accs: *mut F::Acc, acc_row: isize) {
    // SAFETY: forwarded from the caller.
    unsafe { reduce_rows(f, b, accs, acc_row) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn accumulate_rows_avx2<F: Lanes>(f: &F, b: &Rows, accs: *mut F::Acc, acc_row: isize) {
    // SAFETY: forwarded from the caller.
    unsafe { accumulate_rows(f, b, accs, acc_row) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn rows_out_avx2<F: Lanes>(f: &F, b: &Rows, out: *mut u8, out_stride: isize) {
    // SAFETY: forwarded from the caller.
    unsafe { rows_out::<F, Avx2>(f, b, out, out_stride) }
}

/// Which build a driver is: kernels with hand-written vector code use it
/// only in the AVX2 build (whose functions enable the features).
pub(crate) trait Isa {
    const AVX2: bool;
}

pub(crate) struct Avx2;

impl Isa for Avx2 {
    const AVX2: bool = true;
}

pub(crate) struct Baseline;

impl Isa for Baseline {
    const AVX2: bool = false;
}

/// Whether `T` is `U` (decided when the kernels are instantiated).
#[inline(always)]
pub(crate) fn is<T: 'static, U: 'static>() -> bool {
    std::any::TypeId::of::<T>() == std::any::TypeId::of::<U>()
}

/// Rows `first..` of `b` (rows of `N` values) through [`Lanes::row_fixed`].
///
/// # Safety
///
/// As [`Family::reduce_rows_out`].
#[inline(always)]
pub(crate) unsafe fn fixed_rows_from<F: Lanes + ?Sized, const N: usize>(
    f: &F,
    b: &Rows,
    first: usize,
    out: *mut u8,
    out_stride: isize,
) {
    for r in first..b.rows {
        // SAFETY: row r of the block; its result's place.
        unsafe {
            f.row_fixed::<N>(
                b.p.offset(r as isize * b.row_stride),
                b.idx + r as i64 * b.idx_row,
                b.idx_inner,
                out.offset(r as isize * out_stride),
            );
        }
    }
}

/// See [`Family::reduce_rows_out`]. Rows of 2, 3, 4, 8 or 16 values (an
/// image's channels, a table's columns) take a fold unrolled for their length.
#[inline(always)]
unsafe fn rows_out<F: Lanes, I: Isa>(f: &F, b: &Rows, out: *mut u8, out_stride: isize) {
    macro_rules! fixed {
        ($n:literal) => {
            // SAFETY: the caller's promise.
            unsafe { f.rows_fixed::<$n, I>(b, out, out_stride) }
        };
    }
    if b.mask.is_null() {
        match b.n {
            2 => return fixed!(2),
            3 => return fixed!(3),
            4 => return fixed!(4),
            8 => return fixed!(8),
            16 => return fixed!(16),
            _ => {}
        }
    }
    for r in 0..b.rows {
        let mut acc = f.init();
        // SAFETY: row r of the block; its result's place.
        unsafe {
            let p = b.p.offset(r as isize * b.row_stride);
            let m = mask_row(b, r);
            let idx = b.idx + r as i64 * b.idx_row;
            if b.n >= SHORT_ROWS * F::L {
                run(f, &mut acc, p, m, b.n, |pos| idx + pos as i64 * b.idx_inner);
            } else {
                f.fold_row(&mut acc, p, m, b.n, idx, b.idx_inner);
            }
            f.finish(&acc, out.offset(r as isize * out_stride));
        }
    }
}

/// Rows shorter than this many lane widths are folded by the scalar path
/// when each row has its own output: setting up and flushing `L` lanes per
/// row costs more than it saves.
const SHORT_ROWS: usize = 2;

/// See [`Family::reduce_rows`].
#[inline(always)]
unsafe fn reduce_rows<F: Lanes>(f: &F, b: &Rows, accs: *mut F::Acc, acc_row: isize) {
    let size = size_of::<F::T>() as isize;
    let n = b.n;
    if acc_row == 0 {
        // One output. Contiguous rows whose indices continue each other's
        // (always, unless an index is wanted and the axes are transposed)
        // are one flat run.
        let flat = b.rows == 1
            || (b.row_stride == n as isize * size
                && (b.mask.is_null() || b.mask_row == n as isize)
                && (!F::INDEXED || b.idx_row == n as i64 * b.idx_inner));
        if flat {
            // SAFETY: the block is `rows * n` contiguous values (and mask bytes).
            unsafe {
                run(f, accs, b.p, b.mask, b.rows * n, |pos| b.idx + pos as i64 * b.idx_inner);
            }
        } else {
            for r in 0..b.rows {
                let base = b.idx + r as i64 * b.idx_row;
                // SAFETY: row `r` of the block.
                unsafe {
                    run(
                        f,
                        accs,
                        b.p.offset(r as isize * b.row_stride),
                        mask_row(b, r),
                        n,
                        |pos| base + pos as i64 * b.idx_inner,
                    );
                }
            }
        }
        return;
    }
    for r in 0..b.rows {
        // SAFETY: row `r` of the block and its output.
        unsafe {
            let acc = accs.offset(r as isize * acc_row);
            let p = b.p.offset(r as isize * b.row_stride);
            let m = mask_row(b, r);
            let base = b.idx + r as i64 * b.idx_row;
            if n >= SHORT_ROWS * F::L {
                run(f, acc, p, m, n, |pos| base + pos as i64 * b.idx_inner);
            } else {
                f.fold_row(&mut *acc, p, m, n, base, b.idx_inner);
            }
        }
    }
}

/// The mask of row `r`, or null.
#[inline(always)]
fn mask_row(b: &Rows, r: usize) -> *const u8 {
    if b.mask.is_null() {
        b.mask
    } else {
        b.mask.wrapping_offset(r as isize * b.mask_row)
    }
}

/// Steps lanes `s` over the values at positions `from..to` (multiples of
/// `L` apart) of the run at `p`: the tight loop, on a local copy of the
/// lanes so that they live in registers.
#[inline(always)]
unsafe fn sweep<F: Lanes>(f: &F, s: &mut F::State, p: *const u8, m: *const u8, from: usize, to: usize) {
    let size = size_of::<F::T>();
    let mut lanes = *s;
    let mut i = from;
    if m.is_null() {
        while i < to {
            // SAFETY: values i..i+L of the run (the caller's promise).
            unsafe { f.step(&mut lanes, p.add(i * size), i as u32) };
            i += F::L;
        }
    } else {
        while i < to {
            // SAFETY: values and mask bytes i..i+L of the run.
            unsafe { f.step_masked(&mut lanes, p.add(i * size), m.add(i), i as u32) };
            i += F::L;
        }
    }
    *s = lanes;
}

/// Runs lanes over `count` contiguous values at `p` (and mask bytes at `m`),
/// calling `flush(lanes)` every [`Lanes::DEPTH`] steps and at the end.
/// Position `j` goes to lane `j % L` (tails included).
#[inline(always)]
unsafe fn lanes_over<F: Lanes>(
    f: &F,
    p: *const u8,
    m: *const u8,
    count: usize,
    fresh: impl Fn() -> F::State,
    mut flush: impl FnMut(&F::State),
) {
    let size = size_of::<F::T>();
    let whole = count / F::L * F::L;
    let chunk = F::DEPTH.saturating_mul(F::L);
    let mut s = fresh();
    let mut i = 0;
    while i < whole {
        let end = whole.min(i.saturating_add(chunk));
        let mut from = i;
        if i > 0 {
            flush(opaque(&s));
            s = fresh();
        } else if m.is_null() {
            // SAFETY: values 0..L of the run.
            unsafe { f.step_first(&mut s, p, 0) };
            from = F::L;
        }
        // SAFETY: the caller's promise for the run.
        unsafe { sweep(f, &mut s, p, m, from, end) };
        i = end;
    }
    for j in whole..count {
        // SAFETY: value `j` of the run.
        unsafe {
            if m.is_null() || *m.add(j) != 0 {
                f.step_one(&mut s, j - whole, F::T::load(p.add(j * size), false), j as u32);
            }
        }
    }
    flush(opaque(&s));
}

/// The lanes as memory to read back from: flushes read lanes one by one,
/// and the optimiser, seeing that, would keep the lanes as scalars during
/// the loop (a vector's lanes cost an extract each) instead of vectors.
#[inline(always)]
fn opaque<S>(s: &S) -> &S {
    std::hint::black_box(s)
}

/// Folds `count` contiguous values at `p` into `*acc` through lanes.
#[inline(always)]
unsafe fn run<F: Lanes>(
    f: &F,
    acc: *mut F::Acc,
    p: *const u8,
    m: *const u8,
    count: usize,
    idx: impl Fn(u32) -> i64 + Copy,
) {
    // SAFETY: the caller's promise; `acc` is its output.
    unsafe {
        lanes_over(f, p, m, count, || f.fresh(|_| acc), |s| f.flush_all(&mut *acc, s, idx));
    }
}

/// See [`Family::accumulate_rows`].
#[inline(always)]
unsafe fn accumulate_rows<F: Lanes>(f: &F, b: &Rows, accs: *mut F::Acc, acc_row: isize) {
    let size = size_of::<F::T>();
    let n = b.n;
    let row_index = |r: usize| b.idx + r as i64 * b.idx_row;
    if acc_row != 0 {
        // Outputs per row and per column: no reduction inside the block.
        for r in 0..b.rows {
            for j in 0..n {
                // SAFETY: element (r, j) of the block and its output.
                unsafe {
                    let m = mask_row(b, r);
                    if m.is_null() || *m.add(j) != 0 {
                        let x = F::T::load(b.p.offset(r as isize * b.row_stride).add(j * size), false);
                        f.step_acc(&mut *accs.offset(r as isize * acc_row).add(j), x, row_index(r));
                    }
                }
            }
        }
        return;
    }
    let packed = b.row_stride == (n * size) as isize && (b.mask.is_null() || b.mask_row == n as isize);
    if packed && F::L.is_multiple_of(n) {
        // One flat run: lane k holds column k % n at every step, because n divides L.
        // SAFETY: the block is `rows * n` contiguous values.
        unsafe { flat_columns(f, b, accs) };
        return;
    }
    if n >= F::L {
        // SAFETY: as the caller promises for the block.
        unsafe { column_blocks(f, b, accs) };
        return;
    }
    // SAFETY: as the caller promises for the block.
    unsafe { narrow_columns(f, b, accs, 0) };
}

/// Rows of `n` values back to back, `n` dividing `L`: column `j` is lanes
/// `j, j + n, ...`. The position of a value is `row * n + column`.
#[inline(always)]
unsafe fn flat_columns<F: Lanes>(f: &F, b: &Rows, accs: *mut F::Acc) {
    let n = b.n;
    let idx = |pos: u32| b.idx + (pos as usize / n) as i64 * b.idx_row;
    let lane_acc = |k: usize| -> *mut F::Acc { accs.wrapping_add(k % n) };
    // SAFETY: the block is `rows * n` contiguous values; lane k flushes
    // into output k % n of the block.
    unsafe {
        lanes_over(
            f,
            b.p,
            b.mask,
            b.rows * n,
            || f.fresh(lane_acc),
            |s| {
                for k in 0..F::L {
                    f.flush(&mut *accs.add(k % n), s, k, idx);
                }
            },
        );
    }
}

/// Rows of at least `L` values: lanes per block of `L` columns, each block
/// run down the rows with its lanes in registers; columns past the last
/// whole block stepped one by one. Positions are `row * n + column`.
#[inline(always)]
unsafe fn column_blocks<F: Lanes>(f: &F, b: &Rows, accs: *mut F::Acc) {
    let size = size_of::<F::T>();
    let n = b.n;
    let idx = |pos: u32| b.idx + (pos as usize / n) as i64 * b.idx_row;
    let depth = F::DEPTH.min(b.rows);
    for c in 0..n / F::L {
        let column = c * F::L;
        let fresh = || f.fresh(|k| accs.wrapping_add(column + k));
        let p = b.p.wrapping_add(column * size);
        let m = if b.mask.is_null() {
            b.mask
        } else {
            b.mask.wrapping_add(column)
        };
        let mut r = 0;
        while r < b.rows {
            let end = b.rows.min(r + depth);
            let mut lanes = fresh();
            // SAFETY: columns column..column + L of rows r..end.
            unsafe { sweep_rows(f, &mut lanes, p, b.row_stride, m, b.mask_row, r, end, n, column) };
            let lanes = opaque(&lanes);
            for k in 0..F::L {
                // SAFETY: output column + k < n of the block.
                f.flush(unsafe { &mut *accs.add(column + k) }, lanes, k, idx);
            }
            r = end;
        }
    }
    // SAFETY: the caller's promise; columns past the whole blocks.
    unsafe { narrow_columns(f, b, accs, n / F::L * F::L) };
}

/// Steps lanes down rows `from..to` of one block of `L` columns at `p`
/// (`row_stride` bytes apart; mask bytes at `m`, `mask_row` apart), on a
/// local copy so that the lanes live in registers.
///
/// # Safety
///
/// The rows' `L` values (and mask bytes) are readable.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn sweep_rows<F: Lanes>(
    f: &F,
    s: &mut F::State,
    p: *const u8,
    row_stride: isize,
    m: *const u8,
    mask_row: isize,
    from: usize,
    to: usize,
    n: usize,
    column: usize,
) {
    let mut lanes = *s;
    let pos = |r: usize| (r * n + column) as u32;
    let mut r = from;
    // SAFETY: rows from..to of the caller's block, readable (its promise).
    unsafe {
        if m.is_null() {
            if r == 0 && r < to {
                f.step_first(&mut lanes, p, pos(0));
                r = 1;
            }
            while r < to {
                f.step(&mut lanes, p.offset(r as isize * row_stride), pos(r));
                r += 1;
            }
        } else {
            while r < to {
                f.step_masked(
                    &mut lanes,
                    p.offset(r as isize * row_stride),
                    m.offset(r as isize * mask_row),
                    pos(r),
                );
                r += 1;
            }
        }
    }
    *s = lanes;
}

/// Columns `first..n` of the block (fewer than `L`), each lane `k` holding
/// column `first + k`, stepped value by value; flushed every `DEPTH` rows.
///
/// # Safety
///
/// As [`Family::accumulate_rows`], the outputs being `accs[0..n]`.
#[inline(always)]
unsafe fn narrow_columns<F: Lanes>(f: &F, b: &Rows, accs: *mut F::Acc, first: usize) {
    let size = size_of::<F::T>();
    let n = b.n;
    let width = n - first;
    if width == 0 {
        return;
    }
    let idx = |pos: u32| b.idx + (pos as usize / n) as i64 * b.idx_row;
    let fresh = || f.fresh(|k| accs.wrapping_add(first + k.min(width - 1)));
    let depth = F::DEPTH;
    let mut lanes = fresh();
    let mut rows = 0;
    for r in 0..b.rows {
        if rows == depth {
            let done = opaque(&lanes);
            for k in 0..width {
                // SAFETY: output first + k < n.
                f.flush(unsafe { &mut *accs.add(first + k) }, done, k, idx);
            }
            lanes = fresh();
            rows = 0;
        }
        let m = mask_row(b, r);
        // SAFETY: row r of the block.
        let p = unsafe { b.p.offset(r as isize * b.row_stride) };
        for k in 0..width {
            let j = first + k;
            // SAFETY: column j of row r (and its mask byte).
            unsafe {
                if m.is_null() || *m.add(j) != 0 {
                    f.step_one(&mut lanes, k, F::T::load(p.add(j * size), false), (r * n + j) as u32);
                }
            }
        }
        rows += 1;
    }
    let done = opaque(&lanes);
    for k in 0..width {
        // SAFETY: output first + k < n.
        f.flush(unsafe { &mut *accs.add(first + k) }, done, k, idx);
    }
}

/// Neumaier's compensated sum: a running f64 total and the rounding error it
/// has shed, so that merging block totals adds no error that grows with
/// their number (better than pairwise summation).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Compensated {
    pub sum: f64,
    pub err: f64,
}

impl Compensated {
    /// A total of nothing that keeps the sign of zero: -0.0 + -0.0 is -0.0.
    pub const NEG_ZERO: Compensated = Compensated { sum: -0.0, err: -0.0 };

    #[inline(always)]
    pub fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.err += (self.sum - t) + x;
        } else {
            self.err += (x - t) + self.sum;
        }
        self.sum = t;
    }

    /// Adds lane totals as a tree of error-free sums (Knuth's TwoSum): each
    /// add's rounding error is kept and added back, so small lanes beside
    /// large ones that cancel survive (in a plain tree 1e8 + 0.1 and
    /// -1e8 + 0.2 lose what 0.1 + 0.2 keeps). The tree's adds of one level
    /// are independent, unlike a running compensated sum's.
    #[inline(always)]
    pub fn add_lanes<const L: usize>(&mut self, lanes: &[f64; L]) {
        let mut v = *lanes;
        let mut errs = [0.0; L];
        let mut width = L;
        while width > 1 {
            let half = width / 2;
            for k in 0..half {
                let (s, e) = two_sum(v[k], v[k + half]);
                v[k] = s;
                errs[k] += e;
            }
            if width % 2 == 1 {
                let (s, e) = two_sum(v[0], v[width - 1]);
                v[0] = s;
                errs[0] += e;
            }
            width = half;
        }
        self.add(v[0]);
        // As a tree too: a running sum of the errors is a chain of L adds.
        self.err += sum::tree_sum(&errs);
    }

    #[inline(always)]
    pub fn merge(&mut self, other: &Compensated) {
        self.add(other.sum);
        self.err += other.err;
    }

    /// The total. Infinities and NaN pass through (their error term is NaN);
    /// a zero error term is not added, which would turn a -0.0 sum into +0.0.
    #[inline(always)]
    pub fn value(&self) -> f64 {
        if self.sum.is_finite() && self.err != 0.0 {
            self.sum + self.err
        } else {
            self.sum
        }
    }
}

/// `a + b` rounded, and its rounding error exactly (Knuth's TwoSum; NaN
/// beside an infinity, which `Compensated::value` passes over).
#[inline(always)]
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

/// Reads value `k` of `L` at `p`.
///
/// # Safety
///
/// `p + k * size_of::<T>()` must be readable.
#[inline(always)]
pub(crate) unsafe fn at<T: Native>(p: *const u8, k: usize) -> T {
    // SAFETY: the caller's promise.
    unsafe { T::load(p.add(k * size_of::<T>()), false) }
}

/// Reads mask byte `k` at `m`.
///
/// # Safety
///
/// `m + k` must be readable.
#[inline(always)]
pub(crate) unsafe fn on(m: *const u8, k: usize) -> bool {
    // SAFETY: the caller's promise.
    unsafe { *m.add(k) != 0 }
}

/// Writes `value` at `out` (native byte order, any alignment).
///
/// # Safety
///
/// `out` must be valid for `size_of::<T>()` bytes.
#[inline(always)]
pub(crate) unsafe fn put<T>(out: *mut u8, value: T) {
    // SAFETY: the caller's promise.
    unsafe { std::ptr::write_unaligned(out as *mut T, value) }
}

/// Writes a float result in its dtype (float16/32/64), rounded once.
///
/// # Safety
///
/// `out` must be valid for one element of `result`.
#[inline(always)]
pub(crate) unsafe fn put_float(out: *mut u8, result: super::Element, v: f64) {
    use super::Element;
    // SAFETY: the caller's promise.
    unsafe {
        match result {
            Element::F16 => put(out, super::element::f64_to_f16(v)),
            Element::F32 => put(out, v as f32),
            _ => put(out, v),
        }
    }
}

/// Writes a complex result in its dtype.
///
/// # Safety
///
/// `out` must be valid for one element of `result`.
#[inline(always)]
pub(crate) unsafe fn put_complex(out: *mut u8, result: super::Element, re: f64, im: f64) {
    // SAFETY: the caller's promise.
    unsafe {
        if result == super::Element::C64 {
            put(out, re as f32);
            put(out.add(4), im as f32);
        } else {
            put(out, re);
            put(out.add(8), im);
        }
    }
}

/// Writes an integer result (its low bytes, for narrower dtypes) or a bool.
///
/// # Safety
///
/// `out` must be valid for one element of `result`.
#[inline(always)]
pub(crate) unsafe fn put_int(out: *mut u8, result: super::Element, bits: u64) {
    // SAFETY: the caller's promise.
    unsafe {
        match result.itemsize() {
            1 => put(out, bits as u8),
            2 => put(out, bits as u16),
            4 => put(out, bits as u32),
            _ => put(out, bits),
        }
    }
}

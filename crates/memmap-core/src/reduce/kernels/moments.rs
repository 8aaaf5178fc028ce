//! var and std: memory is read once. Each block the executor hands out (tens
//! of kilobytes, in cache) is reduced to its sum of squared deviations from a
//! shift: the output's running mean once it has one (one pass), else the
//! block's own mean, found by a first pass over the cached block (the
//! two-pass algorithm, exact enough for any data). The block's (count, mean,
//! M2) then joins the output's by Chan's formula. Complex values use
//! |x - mean|^2 and give the real dtype, as numpy does.

use std::marker::PhantomData;

use super::sum::{tree_sum, ComplexAcc, FloatAcc, SumComplex, SumFloat};
use super::{at, on, put_float, Compensated, Driven, Family, Lanes, Rows};
use crate::reduce::element::{Complex, Real};
use crate::reduce::Element;

/// One output's count, mean and sum of squared deviations from it. The mean
/// is `base + mean`, `base` being the shift of the first block joined: the
/// difference of two outputs' means, on which Chan's formula rests, is then
/// taken between small offsets (and two nearby bases, exactly) instead of
/// between two large rounded means.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MomentsAcc {
    pub n: u64,
    pub base: (f64, f64),
    pub mean: (f64, f64),
    pub m2: f64,
}

impl MomentsAcc {
    /// Chan et al.'s update: `self` followed by `other`.
    #[inline]
    fn join(&mut self, other: &MomentsAcc) {
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *other;
            return;
        }
        let (na, nb) = (self.n as f64, other.n as f64);
        let n = na + nb;
        let dr = (other.base.0 - self.base.0) + (other.mean.0 - self.mean.0);
        let di = (other.base.1 - self.base.1) + (other.mean.1 - self.mean.1);
        self.mean = (self.mean.0 + dr * (nb / n), self.mean.1 + di * (nb / n));
        self.m2 += other.m2 + (dr * dr + di * di) * (na * nb / n);
        self.n += other.n;
    }

    /// The mean as one number each (the shift for a later block).
    fn center(&self) -> (f64, f64) {
        (self.base.0 + self.mean.0, self.base.1 + self.mean.1)
    }
}

/// var (or std, `sqrt`) of real kinds, numpy's `ddof`.
pub(crate) struct Moments<T> {
    pub result: Element,
    pub ddof: f64,
    pub sqrt: bool,
    pub _t: PhantomData<T>,
}

impl<T> Moments<T> {
    unsafe fn finish_into(&self, acc: &MomentsAcc, out: *mut u8, complex: bool) {
        let divisor = (acc.n as f64 - self.ddof).max(0.0);
        let (re, im) = acc.center();
        let n = acc.n as f64;
        // numpy subtracts its mean, the sum over n: when that sum overflows
        // (finite values whose total passes f64's range) its mean is
        // infinite, every deviation too, and so is the variance, however
        // close the values lie. A NaN (an infinity or NaN among the values)
        // stays NaN. A complex mean divides (inf + bj) by (n + 0j), whose
        // other part is then inf * 0 = NaN: numpy's complex variance is NaN.
        let total_fits = (re * n).is_finite() && (im * n).is_finite();
        let m2 = if total_fits || acc.m2.is_nan() {
            acc.m2
        } else if complex {
            f64::NAN
        } else {
            f64::INFINITY
        };
        let var = m2 / divisor;
        // SAFETY: the caller's promise.
        unsafe { put_float(out, self.result, if self.sqrt { var.sqrt() } else { var }) }
    }
}

/// The deviations pass: lanes of `x - shift` and `(x - shift)^2`, the shift
/// being the block mean of the output each lane feeds.
struct Deviations<T>(PhantomData<T>);

#[derive(Debug, Clone, Copy, Default)]
struct DevAcc {
    shift: (f64, f64),
    d: (f64, f64),
    q: Compensated,
    /// The block's range, for an output whose own block mean overflowed.
    bounds: Option<((f64, f64), (f64, f64))>,
    /// Known to hold only finite values (a two-pass block whose sum, or
    /// range, is finite): a NaN in its sums then comes from inf - inf
    /// between overflowed deviations, not from the data.
    finite: bool,
}

/// Reads value `j` at `p` as (real, imaginary).
type Load = unsafe fn(*const u8, usize) -> (f64, f64);

unsafe fn load_real<T: Real>(p: *const u8, j: usize) -> (f64, f64) {
    // SAFETY: the caller's promise.
    (unsafe { at::<T>(p, j) }.f64(), 0.0)
}

unsafe fn load_complex<T: Complex>(p: *const u8, j: usize) -> (f64, f64) {
    // SAFETY: the caller's promise.
    unsafe { at::<T>(p, j) }.parts()
}

/// One output's smallest and largest parts over a block, and whether all
/// its values are finite.
#[derive(Clone, Copy)]
struct Range {
    lo: (f64, f64),
    hi: (f64, f64),
    finite: bool,
}

/// Each output's [`Range`] over the block `b` laid out as [`two_passes`]
/// says. A scalar walk: only blocks whose own mean is infinite or NaN take it.
///
/// # Safety
///
/// `b` describes readable elements that `load` reads.
unsafe fn block_ranges(b: &Rows, outputs: usize, stride: isize, inner_kept: bool, load: Load) -> Vec<Range> {
    let empty = Range {
        lo: (f64::INFINITY, f64::INFINITY),
        hi: (f64::NEG_INFINITY, f64::NEG_INFINITY),
        finite: true,
    };
    let mut out = vec![empty; outputs];
    for r in 0..b.rows {
        // SAFETY: row r of the block, and its mask row.
        let (p, m) = unsafe {
            (
                b.p.offset(r as isize * b.row_stride),
                if b.mask.is_null() {
                    b.mask
                } else {
                    b.mask.offset(r as isize * b.mask_row)
                },
            )
        };
        for j in 0..b.n {
            // SAFETY: value and mask byte j of the row.
            if !m.is_null() && !unsafe { on(m, j) } {
                continue;
            }
            // SAFETY: as above.
            let (re, im) = unsafe { load(p, j) };
            let o = &mut out[match (inner_kept, stride) {
                (false, 0) => 0,
                (false, _) => r,
                (true, 0) => j,
                (true, _) => r * b.n + j,
            }];
            if re.is_finite() && im.is_finite() {
                o.lo = (o.lo.0.min(re), o.lo.1.min(im));
                o.hi = (o.hi.0.max(re), o.hi.1.max(im));
            } else {
                o.finite = false;
            }
        }
    }
    out
}

const LANES: usize = 16;

#[derive(Clone, Copy)]
struct DevLanes {
    shift: [f64; LANES],
    d: [f64; LANES],
    q: [f64; LANES],
}

impl<T: Real> Lanes for Deviations<T> {
    type T = T;
    type Acc = DevAcc;
    type State = DevLanes;
    const L: usize = LANES;
    const DEPTH: usize = 64;

    fn init(&self) -> DevAcc {
        DevAcc::default()
    }

    fn fresh(&self, acc_of: impl Fn(usize) -> *mut DevAcc) -> DevLanes {
        let mut shift = [0.0; LANES];
        for (k, s) in shift.iter_mut().enumerate() {
            // SAFETY: the drivers pass the output each lane flushes into.
            *s = unsafe { (*acc_of(k)).shift.0 };
        }
        DevLanes {
            shift,
            d: [0.0; LANES],
            q: [0.0; LANES],
        }
    }

    #[inline(always)]
    unsafe fn step(&self, s: &mut DevLanes, p: *const u8, _: u32) {
        for k in 0..LANES {
            // SAFETY: value k of L at p.
            let e = unsafe { at::<T>(p, k) }.f64() - s.shift[k];
            s.d[k] += e;
            s.q[k] = e.mul_add(e, s.q[k]);
        }
    }

    #[inline(always)]
    unsafe fn step_masked(&self, s: &mut DevLanes, p: *const u8, m: *const u8, _: u32) {
        for k in 0..LANES {
            // SAFETY: value and mask byte k of L.
            let (x, on) = unsafe { (at::<T>(p, k).f64(), on(m, k)) };
            let e = if on { x - s.shift[k] } else { 0.0 };
            s.d[k] += e;
            s.q[k] = e.mul_add(e, s.q[k]);
        }
    }

    fn step_one(&self, s: &mut DevLanes, k: usize, x: T, _: u32) {
        let e = x.f64() - s.shift[k];
        s.d[k] += e;
        s.q[k] += e * e;
    }

    fn flush(&self, acc: &mut DevAcc, s: &DevLanes, k: usize, _: impl Fn(u32) -> i64) {
        acc.d.0 += s.d[k];
        acc.q.add(s.q[k]);
    }

    fn flush_all(&self, acc: &mut DevAcc, s: &DevLanes, _: impl Fn(u32) -> i64 + Copy) {
        acc.d.0 += tree_sum(&s.d);
        acc.q.add(tree_sum(&s.q));
    }

    fn step_acc(&self, acc: &mut DevAcc, x: T, _: i64) {
        let e = x.f64() - acc.shift.0;
        acc.d.0 += e;
        acc.q.add(e * e);
    }

    #[inline(always)]
    unsafe fn fold_row(&self, acc: &mut DevAcc, p: *const u8, m: *const u8, n: usize, _: i64, _: i64) {
        // A short row: plain sums, then one compensated merge.
        let (mut d, mut q) = (0.0, 0.0);
        for j in 0..n {
            // SAFETY: value and mask byte j of the row.
            let (x, on) = unsafe { (at::<T>(p, j).f64(), m.is_null() || on(m, j)) };
            let e = if on { x - acc.shift.0 } else { 0.0 };
            d += e;
            q = e.mul_add(e, q);
        }
        acc.d.0 += d;
        acc.q.add(q);
    }

    fn merge(&self, _: &mut DevAcc, _: &DevAcc) {
        unreachable!("deviation passes are never split");
    }

    unsafe fn finish(&self, _: &DevAcc, _: *mut u8) {
        unreachable!("deviation passes write no results");
    }
}

/// The deviations pass of complex values: one shared |x - shift|^2.
struct ComplexDeviations<T>(PhantomData<T>);

const COMPLEX_LANES: usize = 8;

#[derive(Clone, Copy)]
struct ComplexDevLanes {
    shift: [(f64, f64); COMPLEX_LANES],
    d: [(f64, f64); COMPLEX_LANES],
    q: [f64; COMPLEX_LANES],
}

impl<T: Complex> Lanes for ComplexDeviations<T> {
    type T = T;
    type Acc = DevAcc;
    type State = ComplexDevLanes;
    const L: usize = COMPLEX_LANES;
    const DEPTH: usize = 64;

    fn init(&self) -> DevAcc {
        DevAcc::default()
    }

    fn fresh(&self, acc_of: impl Fn(usize) -> *mut DevAcc) -> ComplexDevLanes {
        let mut shift = [(0.0, 0.0); COMPLEX_LANES];
        for (k, s) in shift.iter_mut().enumerate() {
            // SAFETY: the drivers pass the output each lane flushes into.
            *s = unsafe { (*acc_of(k)).shift };
        }
        ComplexDevLanes {
            shift,
            d: [(0.0, 0.0); COMPLEX_LANES],
            q: [0.0; COMPLEX_LANES],
        }
    }

    #[inline(always)]
    unsafe fn step(&self, s: &mut ComplexDevLanes, p: *const u8, _: u32) {
        for k in 0..COMPLEX_LANES {
            // SAFETY: value k of L at p.
            let (re, im) = unsafe { at::<T>(p, k) }.parts();
            let (er, ei) = (re - s.shift[k].0, im - s.shift[k].1);
            s.d[k].0 += er;
            s.d[k].1 += ei;
            s.q[k] += er * er + ei * ei;
        }
    }

    #[inline(always)]
    unsafe fn step_masked(&self, s: &mut ComplexDevLanes, p: *const u8, m: *const u8, _: u32) {
        for k in 0..COMPLEX_LANES {
            // SAFETY: value and mask byte k of L.
            if unsafe { on(m, k) } {
                // SAFETY: value k of L at p.
                let (re, im) = unsafe { at::<T>(p, k) }.parts();
                let (er, ei) = (re - s.shift[k].0, im - s.shift[k].1);
                s.d[k].0 += er;
                s.d[k].1 += ei;
                s.q[k] += er * er + ei * ei;
            }
        }
    }

    fn step_one(&self, s: &mut ComplexDevLanes, k: usize, x: T, _: u32) {
        let (re, im) = x.parts();
        let (er, ei) = (re - s.shift[k].0, im - s.shift[k].1);
        s.d[k].0 += er;
        s.d[k].1 += ei;
        s.q[k] += er * er + ei * ei;
    }

    fn flush(&self, acc: &mut DevAcc, s: &ComplexDevLanes, k: usize, _: impl Fn(u32) -> i64) {
        acc.d.0 += s.d[k].0;
        acc.d.1 += s.d[k].1;
        acc.q.add(s.q[k]);
    }

    fn step_acc(&self, acc: &mut DevAcc, x: T, _: i64) {
        let (re, im) = x.parts();
        let (er, ei) = (re - acc.shift.0, im - acc.shift.1);
        acc.d.0 += er;
        acc.d.1 += ei;
        acc.q.add(er * er + ei * ei);
    }

    fn merge(&self, _: &mut DevAcc, _: &DevAcc) {
        unreachable!("deviation passes are never split");
    }

    unsafe fn finish(&self, _: &DevAcc, _: *mut u8) {
        unreachable!("deviation passes write no results");
    }
}

/// The first pass's per-output result: count and mean of the block.
trait BlockMean: Copy + Send + Sync {
    fn count(&self) -> u64;
    fn mean(&self) -> (f64, f64);
}

impl BlockMean for FloatAcc {
    fn count(&self) -> u64 {
        self.n
    }
    fn mean(&self) -> (f64, f64) {
        (self.total.value() / self.n as f64, 0.0)
    }
}

impl BlockMean for ComplexAcc {
    fn count(&self) -> u64 {
        self.n
    }
    fn mean(&self) -> (f64, f64) {
        (self.re.value() / self.n as f64, self.im.value() / self.n as f64)
    }
}

/// Runs both passes over one block and joins each output's block moments
/// into `accs`, laid out as [`Family::reduce_rows`] (`inner_kept` false) or
/// [`Family::accumulate_rows`] (true) lay them out for `acc_row`.
///
/// # Safety
///
/// As [`Family::reduce_rows`].
unsafe fn two_passes<M: Family, D: Family<Acc = DevAcc>>(
    means: &M,
    devs: &D,
    b: &Rows,
    accs: *mut MomentsAcc,
    acc_row: isize,
    inner_kept: bool,
    load: Load,
) where
    M::Acc: BlockMean,
{
    // The block's outputs, output `i` being `accs[place(i)]`; `stride` is
    // the layout the drivers use (`0`: one, `1`: per row, `n`: per row and
    // column).
    let n = b.n;
    let (outputs, stride) = match (inner_kept, acc_row == 0) {
        (false, true) => (1, 0),
        (false, false) => (b.rows, 1),
        (true, true) => (n, 0),
        (true, false) => (b.rows * n, n as isize),
    };
    let place = |i: usize| {
        if inner_kept {
            (i / n) as isize * acc_row + (i % n) as isize
        } else {
            i as isize * acc_row
        }
    };
    // Once every output has a finite running mean and no mask can leave
    // elements out, that mean is the shift and the first pass is skipped:
    // the block's M2 (q - d^2/n) then loses about eps * n * delta^2, delta
    // being how far the block's mean lies from the running one, while the
    // join adds n_a * n_b / (n_a + n_b) * delta^2 to the output's M2, so the
    // relative error stays near eps * (1 + n_b / n_a).
    let known = b.mask.is_null()
        && (0..outputs).all(|i| {
            // SAFETY: the caller's output for block output i.
            let acc = unsafe { &*accs.offset(place(i)) };
            let (re, im) = acc.center();
            acc.n > 0 && re.is_finite() && im.is_finite()
        });
    let deviations = |dev: &mut Vec<DevAcc>| {
        // SAFETY: `dev` has an output for every index the layout reaches.
        unsafe {
            if inner_kept {
                devs.accumulate_rows(b, dev.as_mut_ptr(), stride);
            } else {
                devs.reduce_rows(b, dev.as_mut_ptr(), stride);
            }
        }
    };
    let mut single = None;
    if known {
        // Each output's count in this block, from its layout.
        let each = match (inner_kept, stride) {
            (false, 0) => b.rows * b.n,
            (false, _) => b.n,
            (true, 0) => b.rows,
            (true, _) => 1,
        } as u64;
        let mut dev: Vec<DevAcc> = (0..outputs)
            .map(|i| DevAcc {
                // SAFETY: as above.
                shift: unsafe { (*accs.offset(place(i))).center() },
                ..DevAcc::default()
            })
            .collect();
        deviations(&mut dev);
        // An infinity or NaN in the block: its own mean is then what numpy
        // subtracts (inf - inf is NaN), so the block takes both passes. So
        // does a block whose squares from the running mean overflow where
        // those from its own mean may not (values near 1e154 and beyond).
        let fits = |d: &DevAcc| {
            let square = d.d.0 * d.d.0 + d.d.1 * d.d.1;
            square.is_finite() && d.q.value().is_finite()
        };
        if dev.iter().all(fits) {
            single = Some((vec![each; outputs], dev));
        }
    }
    let (counts, dev) = match single {
        Some(done) => done,
        None => {
            let mut sums = vec![means.init(); outputs];
            // SAFETY: `sums` has an output for every index the layout reaches.
            unsafe {
                if inner_kept {
                    means.accumulate_rows(b, sums.as_mut_ptr(), stride);
                } else {
                    means.reduce_rows(b, sums.as_mut_ptr(), stride);
                }
            }
            let mut dev: Vec<DevAcc> = sums
                .iter()
                .map(|s| DevAcc {
                    shift: if s.count() == 0 { (0.0, 0.0) } else { s.mean() },
                    ..DevAcc::default()
                })
                .collect();
            // A block mean that is infinite or NaN: numpy's NaN when the
            // values hold an infinity or NaN (inf - inf), but an overflowing
            // sum of finite values must not become one. Those outputs are
            // shifted by the middle of their range instead, and their means
            // kept within it below.
            let overflowed = sums.iter().any(|s| {
                let (re, im) = s.mean();
                s.count() > 0 && !(re.is_finite() && im.is_finite())
            });
            let ranges = if overflowed {
                // SAFETY: the caller's block; `outputs`/`stride` its layout.
                let ranges = unsafe { block_ranges(b, outputs, stride, inner_kept, load) };
                for (d, r) in dev.iter_mut().zip(&ranges) {
                    if r.finite && !(d.shift.0.is_finite() && d.shift.1.is_finite()) {
                        d.shift = (r.lo.0 / 2.0 + r.hi.0 / 2.0, r.lo.1 / 2.0 + r.hi.1 / 2.0);
                    }
                }
                Some(ranges)
            } else {
                None
            };
            deviations(&mut dev);
            for (k, (d, s)) in dev.iter_mut().zip(&sums).enumerate() {
                let (re, im) = s.mean();
                d.finite = re.is_finite() && im.is_finite();
                // The mean lies within the range: a deviation sum that
                // overflowed (its squares did too: M2 is infinite) must not
                // leave an infinite mean for Chan's joins to subtract.
                if let Some(r) = ranges.as_ref().map(|ranges| ranges[k]).filter(|r| r.finite) {
                    d.bounds = Some((r.lo, r.hi));
                    d.finite = true;
                }
            }
            (sums.iter().map(|s| s.count()).collect::<Vec<u64>>(), dev)
        }
    };
    for (i, (&n, d)) in counts.iter().zip(&dev).enumerate() {
        if n == 0 {
            continue;
        }
        let nf = n as f64;
        let mut mean = (d.d.0 / nf, d.d.1 / nf);
        if let Some((lo, hi)) = d.bounds {
            mean = (
                mean.0.clamp(lo.0 - d.shift.0, hi.0 - d.shift.0),
                mean.1.clamp(lo.1 - d.shift.1, hi.1 - d.shift.1),
            );
        }
        let mut m2 = block_m2(d.q.value(), d.d, nf);
        if d.finite {
            // Finite values whose deviations (their sum in a lane, or their
            // squares) overflowed: numpy's squares are infinite too, and the
            // shift stands for the mean where the sum gave inf or NaN.
            if !m2.is_finite() {
                m2 = f64::INFINITY;
            }
            if !mean.0.is_finite() {
                mean.0 = 0.0;
            }
            if !mean.1.is_finite() {
                mean.1 = 0.0;
            }
        }
        let block = MomentsAcc {
            n,
            base: d.shift,
            mean,
            m2,
        };
        // SAFETY: the caller's output for block output i.
        unsafe { (*accs.offset(place(i))).join(&block) };
    }
}

/// A block's sum of squared deviations from its mean, from those from the
/// shift (`q`) and the deviations' sum `d`: `q - |d|^2 / n`. The correction
/// is at most `q`; an infinite `q` (overflow, as numpy's own squares
/// overflow) stays infinite, a tiny negative from rounding becomes 0 and NaN
/// stays NaN.
#[inline]
fn block_m2(q: f64, d: (f64, f64), n: f64) -> f64 {
    if q.is_infinite() {
        return q;
    }
    let m2 = q - (d.0 * d.0 + d.1 * d.1) / n;
    if m2 < 0.0 {
        0.0
    } else {
        m2
    }
}

macro_rules! moments_family {
    ($bound:path, $means:ident, $devs:ident) => {
        impl<T: $bound> Family for Moments<T> {
            type Acc = MomentsAcc;
            const SIZE: usize = size_of::<T>();
            const UNIT_SCALE: usize = 4;

            fn init(&self) -> MomentsAcc {
                MomentsAcc::default()
            }

            unsafe fn reduce_rows(&self, b: &Rows, accs: *mut MomentsAcc, acc_row: isize) {
                let means = Driven($means::<T> {
                    result: Element::F64,
                    mean: false,
                    initial: None,
                    _t: PhantomData,
                });
                let devs = Driven($devs::<T>(PhantomData));
                // SAFETY: the caller's promise.
                unsafe { two_passes(&means, &devs, b, accs, acc_row, false, load_real::<T>) }
            }

            unsafe fn accumulate_rows(&self, b: &Rows, accs: *mut MomentsAcc, acc_row: isize) {
                let means = Driven($means::<T> {
                    result: Element::F64,
                    mean: false,
                    initial: None,
                    _t: PhantomData,
                });
                let devs = Driven($devs::<T>(PhantomData));
                // SAFETY: the caller's promise.
                unsafe { two_passes(&means, &devs, b, accs, acc_row, true, load_real::<T>) }
            }

            fn merge(&self, into: &mut MomentsAcc, later: &MomentsAcc) {
                into.join(later);
            }

            unsafe fn finish(&self, acc: &MomentsAcc, out: *mut u8) {
                // SAFETY: the caller's promise.
                unsafe { self.finish_into(acc, out, false) }
            }
        }
    };
}

moments_family!(Real, SumFloat, Deviations);

/// var/std of complex kinds: the same, through [`ComplexMoments`].
pub(crate) struct ComplexMoments<T>(pub Moments<T>);

impl<T: Complex> Family for ComplexMoments<T> {
    type Acc = MomentsAcc;
    const SIZE: usize = size_of::<T>();
    const UNIT_SCALE: usize = 4;

    fn init(&self) -> MomentsAcc {
        MomentsAcc::default()
    }

    unsafe fn reduce_rows(&self, b: &Rows, accs: *mut MomentsAcc, acc_row: isize) {
        let means = Driven(SumComplex::<T> {
            result: Element::C128,
            mean: false,
            initial: None,
            _t: PhantomData,
        });
        let devs = Driven(ComplexDeviations::<T>(PhantomData));
        // SAFETY: the caller's promise.
        unsafe { two_passes(&means, &devs, b, accs, acc_row, false, load_complex::<T>) }
    }

    unsafe fn accumulate_rows(&self, b: &Rows, accs: *mut MomentsAcc, acc_row: isize) {
        let means = Driven(SumComplex::<T> {
            result: Element::C128,
            mean: false,
            initial: None,
            _t: PhantomData,
        });
        let devs = Driven(ComplexDeviations::<T>(PhantomData));
        // SAFETY: the caller's promise.
        unsafe { two_passes(&means, &devs, b, accs, acc_row, true, load_complex::<T>) }
    }

    fn merge(&self, into: &mut MomentsAcc, later: &MomentsAcc) {
        into.join(later);
    }

    unsafe fn finish(&self, acc: &MomentsAcc, out: *mut u8) {
        // SAFETY: the caller's promise.
        unsafe { self.0.finish_into(acc, out, true) }
    }
}

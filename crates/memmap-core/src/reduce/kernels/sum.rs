//! Sums and means: integers wrap in 64 bits as numpy's int64/uint64
//! accumulator does; floats and complex accumulate in f64 lanes whose totals
//! merge compensated (float16/float32 rounded once, at the end); timedelta64
//! sums wrap too, NaT winning.

use std::marker::PhantomData;

use super::{at, fixed_rows_from, is, on, put_complex, put_float, put_int, Compensated, Isa, Lanes, Rows};
use crate::reduce::element::{Complex, Real};
use crate::reduce::{Element, Scalar};

/// Integer sums (bool and every integer kind): wrapping u64 lanes, exact
/// whatever the order, so results never depend on the thread count.
pub(crate) struct Sum<T> {
    pub result: Element,
    pub initial: Option<Scalar>,
    pub _t: PhantomData<T>,
}

const INT_LANES: usize = 16;

impl<T: Real> Lanes for Sum<T> {
    type T = T;
    type Acc = u64;
    type State = [u64; INT_LANES];
    const L: usize = INT_LANES;

    fn init(&self) -> u64 {
        0
    }

    fn fresh(&self, _: impl Fn(usize) -> *mut u64) -> Self::State {
        [0; INT_LANES]
    }

    #[inline(always)]
    unsafe fn step(&self, s: &mut Self::State, p: *const u8, _: u32) {
        for (k, lane) in s.iter_mut().enumerate() {
            // SAFETY: value k of L at p.
            *lane = lane.wrapping_add(unsafe { at::<T>(p, k) }.bits64());
        }
    }

    #[inline(always)]
    unsafe fn step_masked(&self, s: &mut Self::State, p: *const u8, m: *const u8, _: u32) {
        for (k, lane) in s.iter_mut().enumerate() {
            // SAFETY: value and mask byte k of L.
            let (x, on) = unsafe { (at::<T>(p, k).bits64(), on(m, k)) };
            *lane = lane.wrapping_add(if on { x } else { 0 });
        }
    }

    fn step_one(&self, s: &mut Self::State, k: usize, x: T, _: u32) {
        s[k] = s[k].wrapping_add(x.bits64());
    }

    fn flush(&self, acc: &mut u64, s: &Self::State, k: usize, _: impl Fn(u32) -> i64) {
        *acc = acc.wrapping_add(s[k]);
    }

    fn step_acc(&self, acc: &mut u64, x: T, _: i64) {
        *acc = acc.wrapping_add(x.bits64());
    }

    #[inline(always)]
    unsafe fn fold_fixed<const N: usize>(&self, acc: &mut u64, p: *const u8, _: i64, _: i64) {
        let mut sum = 0u64;
        for k in 0..N {
            // SAFETY: value k of the row.
            sum = sum.wrapping_add(unsafe { at::<T>(p, k) }.bits64());
        }
        *acc = acc.wrapping_add(sum);
    }

    fn merge(&self, into: &mut u64, later: &u64) {
        *into = into.wrapping_add(*later);
    }

    #[inline(always)]
    unsafe fn finish(&self, acc: &u64, out: *mut u8) {
        let initial = match self.initial {
            Some(Scalar::Int(v)) => v as u64,
            Some(Scalar::UInt(v)) => v,
            Some(Scalar::Bool(v)) => v as u64,
            _ => 0,
        };
        // SAFETY: the caller's promise.
        unsafe { put_int(out, self.result, acc.wrapping_add(initial)) }
    }
}

/// Float sums and means (of every real kind: numpy's mean of integers is a
/// float64 sum). Values are added in f64 lanes; every `depth` steps the lanes
/// merge by error-free sums into a compensated total, so the error does not grow with the
/// number of values as a running sum's does.
pub(crate) struct SumFloat<T> {
    pub result: Element,
    pub mean: bool,
    pub initial: Option<f64>,
    pub _t: PhantomData<T>,
}

/// A float sum's state: the compensated total and how many values it holds.
///
/// Float sums start from -0.0, the identity that keeps the sign of zero (a
/// sum of -0.0s is -0.0), and `finish` adds numpy's start, `initial` or
/// +0.0, last: numpy's `initial=-0.0` over -0.0s gives -0.0, any other zero
/// sum +0.0.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FloatAcc {
    pub total: Compensated,
    pub n: u64,
}

impl Default for FloatAcc {
    fn default() -> Self {
        FloatAcc {
            total: Compensated::NEG_ZERO,
            n: 0,
        }
    }
}

/// Lanes of f64 sums; counts are `steps` (unmasked steps, every lane) plus
/// `n[k]` (values lane k took alone or through a mask).
#[derive(Clone, Copy)]
pub(crate) struct FloatLanes<const L: usize> {
    pub s: [f64; L],
    pub n: [u32; L],
    pub steps: u32,
}

const FLOAT_LANES: usize = 16;

impl<T: Real> SumFloat<T> {
    /// Values that f64 holds exactly and that are at most 2^32 in magnitude add
    /// without error for millions of steps; float64 and 64-bit integers get a
    /// tree-and-merge every 8 steps (128 values), fewer levels of rounding
    /// than numpy's pairwise sum takes.
    const EXACT: bool = size_of::<T>() <= 4;
}

impl<T: Real> Lanes for SumFloat<T> {
    type T = T;
    type Acc = FloatAcc;
    type State = FloatLanes<FLOAT_LANES>;
    const L: usize = FLOAT_LANES;
    const DEPTH: usize = if Self::EXACT { usize::MAX } else { 8 };

    fn init(&self) -> FloatAcc {
        FloatAcc::default()
    }

    fn fresh(&self, _: impl Fn(usize) -> *mut FloatAcc) -> Self::State {
        FloatLanes {
            s: [-0.0; FLOAT_LANES],
            n: [0; FLOAT_LANES],
            steps: 0,
        }
    }

    #[inline(always)]
    unsafe fn step(&self, s: &mut Self::State, p: *const u8, _: u32) {
        for k in 0..FLOAT_LANES {
            // SAFETY: value k of L at p.
            s.s[k] += unsafe { at::<T>(p, k) }.f64();
        }
        s.steps += 1;
    }

    #[inline(always)]
    unsafe fn step_masked(&self, s: &mut Self::State, p: *const u8, m: *const u8, _: u32) {
        for k in 0..FLOAT_LANES {
            // SAFETY: value and mask byte k of L.
            let (x, on) = unsafe { (at::<T>(p, k).f64(), on(m, k)) };
            s.s[k] += if on { x } else { -0.0 };
            s.n[k] += on as u32;
        }
    }

    fn step_one(&self, s: &mut Self::State, k: usize, x: T, _: u32) {
        s.s[k] += x.f64();
        s.n[k] += 1;
    }

    fn flush(&self, acc: &mut FloatAcc, s: &Self::State, k: usize, _: impl Fn(u32) -> i64) {
        acc.total.add(s.s[k]);
        acc.n += (s.steps + s.n[k]) as u64;
    }

    fn flush_all(&self, acc: &mut FloatAcc, s: &Self::State, _: impl Fn(u32) -> i64 + Copy) {
        acc.total.add_lanes(&s.s);
        acc.n += s.steps as u64 * FLOAT_LANES as u64 + s.n.iter().map(|&n| n as u64).sum::<u64>();
    }

    fn step_acc(&self, acc: &mut FloatAcc, x: T, _: i64) {
        acc.total.add(x.f64());
        acc.n += 1;
    }

    #[inline(always)]
    unsafe fn fold_row(&self, acc: &mut FloatAcc, p: *const u8, m: *const u8, n: usize, _: i64, _: i64) {
        // A short row: a plain sum, then one compensated merge.
        let (mut sum, mut count) = (-0.0, 0);
        for j in 0..n {
            // SAFETY: value and mask byte j of the row.
            let (x, on) = unsafe { (at::<T>(p, j).f64(), m.is_null() || on(m, j)) };
            sum += if on { x } else { -0.0 };
            count += on as u64;
        }
        acc.total.add(sum);
        acc.n += count;
    }

    #[inline(always)]
    unsafe fn fold_fixed<const N: usize>(&self, acc: &mut FloatAcc, p: *const u8, _: i64, _: i64) {
        let mut v = [0.0; N];
        for (k, x) in v.iter_mut().enumerate() {
            // SAFETY: value k of the row.
            *x = unsafe { at::<T>(p, k) }.f64();
        }
        acc.total.add(tree_sum(&v));
        acc.n += N as u64;
    }

    #[inline(always)]
    unsafe fn rows_fixed<const N: usize, I: Isa>(&self, b: &Rows, out: *mut u8, out_stride: isize) {
        let mut done = 0;
        #[cfg(target_arch = "x86_64")]
        if I::AVX2
            && is::<T, f32>()
            && (N == 4 || N == 16)
            && self.initial.is_none()
            && matches!(self.result, Element::F32 | Element::F64)
        {
            let results = super::avx2::Results {
                out,
                stride: out_stride,
                f32: self.result == Element::F32,
                scale: if self.mean { 1.0 / N as f64 } else { 1.0 },
            };
            // SAFETY: only in the AVX2 build; rows of N float32 values.
            done = unsafe { super::avx2::sum_rows_f32::<N>(b.p, b.row_stride, b.rows, results) };
        }
        // SAFETY: the caller's promise.
        unsafe { fixed_rows_from::<Self, N>(self, b, done, out, out_stride) }
    }

    #[inline(always)]
    unsafe fn row_fixed<const N: usize>(&self, p: *const u8, _: i64, _: i64, out: *mut u8) {
        let mut v = [0.0; N];
        for (k, x) in v.iter_mut().enumerate() {
            // SAFETY: value k of the row.
            *x = unsafe { at::<T>(p, k) }.f64();
        }
        let mut sum = tree_sum(&v) + self.initial.unwrap_or(0.0);
        if self.mean {
            sum /= N as f64;
        }
        // SAFETY: the caller's promise.
        unsafe { put_float(out, self.result, sum) }
    }

    fn merge(&self, into: &mut FloatAcc, later: &FloatAcc) {
        into.total.merge(&later.total);
        into.n += later.n;
    }

    #[inline(always)]
    unsafe fn finish(&self, acc: &FloatAcc, out: *mut u8) {
        let mut total = acc.total;
        total.add(self.initial.unwrap_or(0.0));
        let mut v = total.value();
        if self.mean {
            v /= acc.n as f64;
        }
        // SAFETY: the caller's promise.
        unsafe { put_float(out, self.result, v) }
    }
}

/// Pairwise sum of lanes (a fixed tree: results never depend on timing).
#[inline(always)]
pub(crate) fn tree_sum<const L: usize>(lanes: &[f64; L]) -> f64 {
    let mut v = *lanes;
    let mut width = L;
    while width > 1 {
        let half = width / 2;
        for k in 0..half {
            v[k] += v[k + half];
        }
        if width % 2 == 1 {
            v[0] += v[width - 1];
        }
        width = half;
    }
    v[0]
}

/// Complex sums and means: the real and imaginary parts as two float sums.
pub(crate) struct SumComplex<T> {
    pub result: Element,
    pub mean: bool,
    pub initial: Option<(f64, f64)>,
    pub _t: PhantomData<T>,
}

/// A complex sum's state; each part starts from -0.0 as a float sum does.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ComplexAcc {
    pub re: Compensated,
    pub im: Compensated,
    pub n: u64,
}

impl Default for ComplexAcc {
    fn default() -> Self {
        ComplexAcc {
            re: Compensated::NEG_ZERO,
            im: Compensated::NEG_ZERO,
            n: 0,
        }
    }
}

#[derive(Clone, Copy)]
pub(crate) struct ComplexLanes<const L: usize> {
    pub re: [f64; L],
    pub im: [f64; L],
    pub n: [u32; L],
    pub steps: u32,
}

const COMPLEX_LANES: usize = 8;

impl<T: Complex> Lanes for SumComplex<T> {
    type T = T;
    type Acc = ComplexAcc;
    type State = ComplexLanes<COMPLEX_LANES>;
    const L: usize = COMPLEX_LANES;
    const DEPTH: usize = if size_of::<T>() == 8 { usize::MAX } else { 16 };

    fn init(&self) -> ComplexAcc {
        ComplexAcc::default()
    }

    fn fresh(&self, _: impl Fn(usize) -> *mut ComplexAcc) -> Self::State {
        ComplexLanes {
            re: [-0.0; COMPLEX_LANES],
            im: [-0.0; COMPLEX_LANES],
            n: [0; COMPLEX_LANES],
            steps: 0,
        }
    }

    #[inline(always)]
    unsafe fn step(&self, s: &mut Self::State, p: *const u8, _: u32) {
        for k in 0..COMPLEX_LANES {
            // SAFETY: value k of L at p.
            let (re, im) = unsafe { at::<T>(p, k) }.parts();
            s.re[k] += re;
            s.im[k] += im;
        }
        s.steps += 1;
    }

    #[inline(always)]
    unsafe fn step_masked(&self, s: &mut Self::State, p: *const u8, m: *const u8, _: u32) {
        for k in 0..COMPLEX_LANES {
            // SAFETY: value and mask byte k of L.
            let ((re, im), on) = unsafe { (at::<T>(p, k).parts(), on(m, k)) };
            s.re[k] += if on { re } else { -0.0 };
            s.im[k] += if on { im } else { -0.0 };
            s.n[k] += on as u32;
        }
    }

    fn step_one(&self, s: &mut Self::State, k: usize, x: T, _: u32) {
        let (re, im) = x.parts();
        s.re[k] += re;
        s.im[k] += im;
        s.n[k] += 1;
    }

    fn flush(&self, acc: &mut ComplexAcc, s: &Self::State, k: usize, _: impl Fn(u32) -> i64) {
        acc.re.add(s.re[k]);
        acc.im.add(s.im[k]);
        acc.n += (s.steps + s.n[k]) as u64;
    }

    fn flush_all(&self, acc: &mut ComplexAcc, s: &Self::State, _: impl Fn(u32) -> i64 + Copy) {
        acc.re.add_lanes(&s.re);
        acc.im.add_lanes(&s.im);
        acc.n += s.steps as u64 * COMPLEX_LANES as u64 + s.n.iter().map(|&n| n as u64).sum::<u64>();
    }

    fn step_acc(&self, acc: &mut ComplexAcc, x: T, _: i64) {
        let (re, im) = x.parts();
        acc.re.add(re);
        acc.im.add(im);
        acc.n += 1;
    }

    #[inline(always)]
    unsafe fn fold_row(&self, acc: &mut ComplexAcc, p: *const u8, m: *const u8, n: usize, _: i64, _: i64) {
        let (mut re, mut im, mut count) = (-0.0, -0.0, 0);
        for j in 0..n {
            // SAFETY: value and mask byte j of the row.
            let ((r, i), on) = unsafe { (at::<T>(p, j).parts(), m.is_null() || on(m, j)) };
            re += if on { r } else { -0.0 };
            im += if on { i } else { -0.0 };
            count += on as u64;
        }
        acc.re.add(re);
        acc.im.add(im);
        acc.n += count;
    }

    #[inline(always)]
    unsafe fn fold_fixed<const N: usize>(&self, acc: &mut ComplexAcc, p: *const u8, _: i64, _: i64) {
        let (mut re, mut im) = ([0.0; N], [0.0; N]);
        for k in 0..N {
            // SAFETY: value k of the row.
            (re[k], im[k]) = unsafe { at::<T>(p, k) }.parts();
        }
        acc.re.add(tree_sum(&re));
        acc.im.add(tree_sum(&im));
        acc.n += N as u64;
    }

    fn merge(&self, into: &mut ComplexAcc, later: &ComplexAcc) {
        into.re.merge(&later.re);
        into.im.merge(&later.im);
        into.n += later.n;
    }

    #[inline(always)]
    unsafe fn finish(&self, acc: &ComplexAcc, out: *mut u8) {
        let (mut re, mut im) = (acc.re, acc.im);
        let (r, i) = self.initial.unwrap_or((0.0, 0.0));
        re.add(r);
        im.add(i);
        let (mut re, mut im) = (re.value(), im.value());
        if self.mean {
            // numpy divides by the count as a complex number (n + 0j), by
            // Smith's method: an infinite part makes the other part NaN.
            let n = acc.n as f64;
            (re, im) = ((re + im * 0.0) / n, (im - re * 0.0) / n);
        }
        // SAFETY: the caller's promise.
        unsafe { put_complex(out, self.result, re, im) }
    }
}

/// timedelta64 sums and means: int64 counts added with wraparound (as
/// numpy's), NaT (the smallest int64) anywhere making the result NaT; a mean
/// is the sum divided by the count, truncated toward zero, NaT when empty or
/// when the wrapped sum is NaT.
pub(crate) struct SumTime {
    pub mean: bool,
    pub initial: Option<i64>,
}

pub(crate) const NAT: i64 = i64::MIN;

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TimeAcc {
    pub sum: u64,
    pub nat: bool,
    pub n: u64,
}

#[derive(Clone, Copy)]
pub(crate) struct TimeLanes {
    s: [u64; 8],
    nat: [bool; 8],
    n: [u32; 8],
    steps: u32,
}

impl Lanes for SumTime {
    type T = i64;
    type Acc = TimeAcc;
    type State = TimeLanes;
    const L: usize = 8;

    fn init(&self) -> TimeAcc {
        TimeAcc::default()
    }

    fn fresh(&self, _: impl Fn(usize) -> *mut TimeAcc) -> TimeLanes {
        TimeLanes {
            s: [0; 8],
            nat: [false; 8],
            n: [0; 8],
            steps: 0,
        }
    }

    #[inline(always)]
    unsafe fn step(&self, s: &mut TimeLanes, p: *const u8, _: u32) {
        for k in 0..8 {
            // SAFETY: value k of L at p.
            let x = unsafe { at::<i64>(p, k) };
            s.s[k] = s.s[k].wrapping_add(x as u64);
            s.nat[k] |= x == NAT;
        }
        s.steps += 1;
    }

    #[inline(always)]
    unsafe fn step_masked(&self, s: &mut TimeLanes, p: *const u8, m: *const u8, _: u32) {
        for k in 0..8 {
            // SAFETY: value and mask byte k of L.
            let (x, on) = unsafe { (at::<i64>(p, k), on(m, k)) };
            let x = if on { x } else { 0 };
            s.s[k] = s.s[k].wrapping_add(x as u64);
            s.nat[k] |= x == NAT;
            s.n[k] += on as u32;
        }
    }

    fn step_one(&self, s: &mut TimeLanes, k: usize, x: i64, _: u32) {
        s.s[k] = s.s[k].wrapping_add(x as u64);
        s.nat[k] |= x == NAT;
        s.n[k] += 1;
    }

    fn flush(&self, acc: &mut TimeAcc, s: &TimeLanes, k: usize, _: impl Fn(u32) -> i64) {
        acc.sum = acc.sum.wrapping_add(s.s[k]);
        acc.nat |= s.nat[k];
        acc.n += (s.steps + s.n[k]) as u64;
    }

    fn step_acc(&self, acc: &mut TimeAcc, x: i64, _: i64) {
        acc.sum = acc.sum.wrapping_add(x as u64);
        acc.nat |= x == NAT;
        acc.n += 1;
    }

    fn merge(&self, into: &mut TimeAcc, later: &TimeAcc) {
        into.sum = into.sum.wrapping_add(later.sum);
        into.nat |= later.nat;
        into.n += later.n;
    }

    #[inline(always)]
    unsafe fn finish(&self, acc: &TimeAcc, out: *mut u8) {
        let initial = self.initial.unwrap_or(0);
        let sum = acc.sum.wrapping_add(initial as u64) as i64;
        // A wrapped sum that lands on NaT's bit pattern is NaT to numpy's
        // division too: the mean is NaT, not that value over the count.
        let value = if acc.nat || initial == NAT || (self.mean && sum == NAT) {
            NAT
        } else if self.mean {
            if acc.n == 0 {
                NAT
            } else {
                // i128: the count may exceed i64 only in theory, but the
                // smallest sum over -1 must not overflow.
                (sum as i128 / acc.n as i128) as i64
            }
        } else {
            sum
        };
        // SAFETY: the caller's promise.
        unsafe { super::put(out, value) }
    }
}

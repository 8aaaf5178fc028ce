//! min and max of real kinds: compared as a key (the value itself, a bool
//! as 0/1, a float16 as f32, a datetime whose NaT must order above
//! everything shifted by one), NaN propagating as numpy's does. Complex
//! min/max go through the arg kernels (the first NaN wins, so its position matters).

use super::{at, fixed_rows_from, is, on, put, put_float, put_int, Isa, Lanes, Rows};
use crate::reduce::element::{f16_to_f32, Bool, Half, Native};
use crate::reduce::Element;

/// A real element as the comparisons see it.
pub(crate) trait Ordered: Native {
    type K: Copy + PartialOrd + Send + Sync + 'static;
    /// Whether keys may be NaN.
    const FLOAT: bool = false;
    /// The identity of max (below every key) and of min (above every key).
    const LOW: Self::K;
    const HIGH: Self::K;
    /// A NaN key for float kinds (any key otherwise: never used).
    const NAN: Self::K;
    fn key(self) -> Self::K;
    /// Writes `k` as one element of `result`.
    ///
    /// # Safety
    ///
    /// `out` valid for one element of `result`.
    unsafe fn put_key(k: Self::K, result: Element, out: *mut u8);
    /// The index/value ordering key of a scalar `initial` (already checked to fit).
    fn key_of(v: f64, bits: u64) -> Self::K;
}

macro_rules! ordered_int {
    ($($t:ty),*) => {$(
        impl Ordered for $t {
            type K = $t;
            const LOW: $t = <$t>::MIN;
            const HIGH: $t = <$t>::MAX;
            const NAN: $t = 0;
            #[inline(always)]
            fn key(self) -> $t { self }
            unsafe fn put_key(k: $t, result: Element, out: *mut u8) {
                // SAFETY: the caller's promise.
                unsafe { put_int(out, result, k as u64) }
            }
            fn key_of(_: f64, bits: u64) -> $t { bits as $t }
        }
    )*};
}
ordered_int!(i8, u8, i16, u16, i32, u32, i64, u64);

impl Ordered for Bool {
    type K = u8;
    const LOW: u8 = 0;
    const HIGH: u8 = 1;
    const NAN: u8 = 0;
    #[inline(always)]
    fn key(self) -> u8 {
        (self.0 != 0) as u8
    }
    unsafe fn put_key(k: u8, _: Element, out: *mut u8) {
        // SAFETY: the caller's promise.
        unsafe { put(out, k) }
    }
    fn key_of(_: f64, bits: u64) -> u8 {
        (bits != 0) as u8
    }
}

impl Ordered for Half {
    type K = f32;
    const FLOAT: bool = true;
    const LOW: f32 = f32::NEG_INFINITY;
    const HIGH: f32 = f32::INFINITY;
    const NAN: f32 = f32::NAN;
    #[inline(always)]
    fn key(self) -> f32 {
        f16_to_f32(self.0)
    }
    unsafe fn put_key(k: f32, result: Element, out: *mut u8) {
        // SAFETY: the caller's promise.
        unsafe { put_float(out, result, k as f64) }
    }
    fn key_of(v: f64, _: u64) -> f32 {
        v as f32
    }
}

impl Ordered for f32 {
    type K = f32;
    const FLOAT: bool = true;
    const LOW: f32 = f32::NEG_INFINITY;
    const HIGH: f32 = f32::INFINITY;
    const NAN: f32 = f32::NAN;
    #[inline(always)]
    fn key(self) -> f32 {
        self
    }
    unsafe fn put_key(k: f32, _: Element, out: *mut u8) {
        // SAFETY: the caller's promise.
        unsafe { put(out, k) }
    }
    fn key_of(v: f64, _: u64) -> f32 {
        v as f32
    }
}

impl Ordered for f64 {
    type K = f64;
    const FLOAT: bool = true;
    const LOW: f64 = f64::NEG_INFINITY;
    const HIGH: f64 = f64::INFINITY;
    const NAN: f64 = f64::NAN;
    #[inline(always)]
    fn key(self) -> f64 {
        self
    }
    unsafe fn put_key(k: f64, _: Element, out: *mut u8) {
        // SAFETY: the caller's promise.
        unsafe { put(out, k) }
    }
    fn key_of(v: f64, _: u64) -> f64 {
        v
    }
}

/// A datetime64/timedelta64 count for max and argmax: NaT (the smallest
/// int64) must win as NaN does, so the key is the count minus one
/// (wrapping): NaT becomes the largest key, every other count keeps its order.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NatHigh(pub i64);

impl Native for NatHigh {
    #[inline(always)]
    unsafe fn load(p: *const u8, swap: bool) -> Self {
        // SAFETY: forwarded from the caller.
        NatHigh(unsafe { i64::load(p, swap) })
    }
}

impl Ordered for NatHigh {
    type K = i64;
    const LOW: i64 = i64::MIN;
    const HIGH: i64 = i64::MAX;
    const NAN: i64 = 0;
    #[inline(always)]
    fn key(self) -> i64 {
        self.0.wrapping_sub(1)
    }
    unsafe fn put_key(k: i64, _: Element, out: *mut u8) {
        // SAFETY: the caller's promise.
        unsafe { put(out, k.wrapping_add(1)) }
    }
    fn key_of(_: f64, bits: u64) -> i64 {
        (bits as i64).wrapping_sub(1)
    }
}

/// Whether `x` is better than `best` for max (`MAX`) or min.
#[inline(always)]
pub(crate) fn better<K: PartialOrd, const MAX: bool>(x: K, best: K) -> bool {
    if MAX {
        x > best
    } else {
        x < best
    }
}

pub(crate) struct Extreme<T: Ordered, const MAX: bool> {
    pub result: Element,
    pub initial: Option<T::K>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct ExtremeAcc<K> {
    pub v: K,
    pub nan: bool,
}

const LANES: usize = 32;

#[derive(Clone, Copy)]
pub(crate) struct ExtremeLanes<K> {
    v: [K; LANES],
    nan: [bool; LANES],
}

impl<T: Ordered, const MAX: bool> Extreme<T, MAX> {
    const IDENTITY: T::K = if MAX { T::LOW } else { T::HIGH };

    #[inline(always)]
    fn pick(best: T::K, x: T::K) -> T::K {
        if better::<_, MAX>(x, best) {
            x
        } else {
            best
        }
    }
}

impl<T: Ordered, const MAX: bool> Lanes for Extreme<T, MAX> {
    type T = T;
    type Acc = ExtremeAcc<T::K>;
    type State = ExtremeLanes<T::K>;
    const L: usize = LANES;

    fn init(&self) -> Self::Acc {
        ExtremeAcc {
            v: Self::IDENTITY,
            nan: false,
        }
    }

    fn fresh(&self, _: impl Fn(usize) -> *mut Self::Acc) -> Self::State {
        ExtremeLanes {
            v: [Self::IDENTITY; LANES],
            nan: [false; LANES],
        }
    }

    #[inline(always)]
    unsafe fn step(&self, s: &mut Self::State, p: *const u8, _: u32) {
        for k in 0..LANES {
            // SAFETY: value k of L at p.
            let x = unsafe { at::<T>(p, k) }.key();
            s.v[k] = Self::pick(s.v[k], x);
            if T::FLOAT {
                #[allow(clippy::eq_op)]
                let nan = x != x;
                s.nan[k] |= nan;
            }
        }
    }

    #[inline(always)]
    unsafe fn step_masked(&self, s: &mut Self::State, p: *const u8, m: *const u8, _: u32) {
        for k in 0..LANES {
            // SAFETY: value and mask byte k of L.
            let (x, on) = unsafe { (at::<T>(p, k).key(), on(m, k)) };
            let x = if on { x } else { Self::IDENTITY };
            s.v[k] = Self::pick(s.v[k], x);
            if T::FLOAT {
                #[allow(clippy::eq_op)]
                let nan = x != x;
                s.nan[k] |= nan;
            }
        }
    }

    fn step_one(&self, s: &mut Self::State, k: usize, x: T, _: u32) {
        let x = x.key();
        s.v[k] = Self::pick(s.v[k], x);
        #[allow(clippy::eq_op)]
        let nan = T::FLOAT && x != x;
        s.nan[k] |= nan;
    }

    fn flush(&self, acc: &mut Self::Acc, s: &Self::State, k: usize, _: impl Fn(u32) -> i64) {
        acc.v = Self::pick(acc.v, s.v[k]);
        acc.nan |= s.nan[k];
    }

    fn step_acc(&self, acc: &mut Self::Acc, x: T, _: i64) {
        let x = x.key();
        acc.v = Self::pick(acc.v, x);
        #[allow(clippy::eq_op)]
        let nan = T::FLOAT && x != x;
        acc.nan |= nan;
    }

    #[inline(always)]
    unsafe fn rows_fixed<const N: usize, I: Isa>(&self, b: &Rows, out: *mut u8, out_stride: isize) {
        let mut done = 0;
        #[cfg(target_arch = "x86_64")]
        if I::AVX2 && is::<T, f32>() && (N == 4 || N == 16) && self.initial.is_none() {
            // SAFETY: only in the AVX2 build; rows of N float32 values.
            done = unsafe { super::avx2::extreme_rows_f32::<N, MAX>(b.p, b.row_stride, b.rows, out, out_stride) };
        }
        // SAFETY: the caller's promise.
        unsafe { fixed_rows_from::<Self, N>(self, b, done, out, out_stride) }
    }

    #[inline(always)]
    unsafe fn fold_fixed<const N: usize>(&self, acc: &mut Self::Acc, p: *const u8, _: i64, _: i64) {
        let mut v = [Self::IDENTITY; N];
        let mut nan = false;
        for (k, x) in v.iter_mut().enumerate() {
            // SAFETY: value k of the row.
            *x = unsafe { at::<T>(p, k) }.key();
            #[allow(clippy::eq_op)]
            let is_nan = T::FLOAT & (*x != *x);
            nan |= is_nan;
        }
        // A tree of picks: log2(N) dependent steps instead of N.
        let mut width = N;
        while width > 1 {
            let half = width / 2;
            for k in 0..half {
                v[k] = Self::pick(v[k], v[k + half]);
            }
            if width % 2 == 1 {
                v[0] = Self::pick(v[0], v[width - 1]);
            }
            width = half;
        }
        acc.v = Self::pick(acc.v, v[0]);
        acc.nan |= nan;
    }

    fn merge(&self, into: &mut Self::Acc, later: &Self::Acc) {
        into.v = Self::pick(into.v, later.v);
        into.nan |= later.nan;
    }

    #[inline(always)]
    unsafe fn finish(&self, acc: &Self::Acc, out: *mut u8) {
        let mut v = acc.v;
        #[allow(clippy::eq_op)]
        let mut nan = acc.nan;
        if let Some(initial) = self.initial {
            #[allow(clippy::eq_op)]
            let initial_nan = T::FLOAT && initial != initial;
            nan |= initial_nan;
            v = Self::pick(v, initial);
        }
        // SAFETY: the caller's promise.
        unsafe {
            if nan {
                put_float(out, self.result, f64::NAN);
            } else {
                T::put_key(v, self.result, out);
            }
        }
    }
}

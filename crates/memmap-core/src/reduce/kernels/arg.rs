//! argmin and argmax (and complex min/max, whose first NaN must be found by
//! position): each lane keeps its best key and that key's position; lanes
//! merge by key, then by smaller element index, so the answer is numpy's
//! (the first of equal extremes, the first NaN) whatever order pieces are
//! folded and merged in, and so whatever the thread count.

use super::extreme::{better, Ordered};
use super::{at, on, put, put_complex, Lanes};
use crate::reduce::element::Complex;
use crate::reduce::Element;

/// No position yet.
const NONE: u32 = u32::MAX;

pub(crate) struct Arg<T: Ordered, const MAX: bool>(pub std::marker::PhantomData<T>);

#[derive(Debug, Clone, Copy)]
pub(crate) struct ArgAcc<K> {
    pub v: K,
    /// Element index; negative while nothing has been seen.
    pub idx: i64,
}

const LANES: usize = 16;

#[derive(Clone, Copy)]
pub(crate) struct ArgLanes<K> {
    v: [K; LANES],
    pos: [u32; LANES],
}

#[allow(clippy::eq_op)]
#[inline(always)]
fn is_nan<K: PartialOrd + Copy>(float: bool, k: K) -> bool {
    float && k != k
}

impl<T: Ordered, const MAX: bool> Arg<T, MAX> {
    /// Whether candidate `(x, xi)` beats `(best, bi)`: the first NaN, else
    /// the better key, else the smaller index.
    #[inline(always)]
    fn beats(x: T::K, xi: i64, best: T::K, bi: i64) -> bool {
        if bi < 0 {
            return true;
        }
        if xi < 0 {
            return false;
        }
        let (xn, bn) = (is_nan(T::FLOAT, x), is_nan(T::FLOAT, best));
        if xn || bn {
            return xn && (!bn || xi < bi);
        }
        better::<_, MAX>(x, best) || (x == best && xi < bi)
    }

    /// Whether a value seen after `best` in the same lane replaces it.
    #[inline(always)]
    fn takes(x: T::K, best: T::K) -> bool {
        better::<_, MAX>(x, best) || (is_nan(T::FLOAT, x) && !is_nan(T::FLOAT, best))
    }
}

impl<T: Ordered, const MAX: bool> Lanes for Arg<T, MAX> {
    type T = T;
    type Acc = ArgAcc<T::K>;
    type State = ArgLanes<T::K>;
    const L: usize = LANES;
    const INDEXED: bool = true;

    fn init(&self) -> Self::Acc {
        ArgAcc {
            v: if MAX { T::LOW } else { T::HIGH },
            idx: -1,
        }
    }

    fn fresh(&self, _: impl Fn(usize) -> *const Self::Acc) -> Self::State {
        ArgLanes {
            v: [if MAX { T::LOW } else { T::HIGH }; LANES],
            pos: [NONE; LANES],
        }
    }

    #[inline(always)]
    unsafe fn step_first(&self, s: &mut Self::State, p: *const u8, pos: u32) {
        for k in 0..LANES {
            // SAFETY: value k of L at p.
            s.v[k] = unsafe { at::<T>(p, k) }.key();
            s.pos[k] = pos + k as u32;
        }
    }

    #[inline(always)]
    unsafe fn step(&self, s: &mut Self::State, p: *const u8, pos: u32) {
        for k in 0..LANES {
            // SAFETY: value k of L at p.
            let x = unsafe { at::<T>(p, k) }.key();
            let take = Self::takes(x, s.v[k]);
            s.v[k] = if take { x } else { s.v[k] };
            s.pos[k] = if take { pos + k as u32 } else { s.pos[k] };
        }
    }

    unsafe fn step_masked(&self, s: &mut Self::State, p: *const u8, m: *const u8, pos: u32) {
        // numpy's argmin/argmax take no where mask; kept whole for completeness.
        for k in 0..LANES {
            // SAFETY: value and mask byte k of L.
            if unsafe { on(m, k) } {
                // SAFETY: value k of L at p.
                let x = unsafe { at::<T>(p, k) };
                self.step_one(s, k, x, pos + k as u32);
            }
        }
    }

    fn step_one(&self, s: &mut Self::State, k: usize, x: T, pos: u32) {
        let x = x.key();
        if s.pos[k] == NONE || Self::takes(x, s.v[k]) {
            s.v[k] = x;
            s.pos[k] = pos;
        }
    }

    fn flush(&self, acc: &mut Self::Acc, s: &Self::State, k: usize, idx: impl Fn(u32) -> i64) {
        if s.pos[k] == NONE {
            return;
        }
        let i = idx(s.pos[k]);
        if Self::beats(s.v[k], i, acc.v, acc.idx) {
            *acc = ArgAcc { v: s.v[k], idx: i };
        }
    }

    fn step_acc(&self, acc: &mut Self::Acc, x: T, idx: i64) {
        let x = x.key();
        if Self::beats(x, idx, acc.v, acc.idx) {
            *acc = ArgAcc { v: x, idx };
        }
    }

    fn merge(&self, into: &mut Self::Acc, later: &Self::Acc) {
        if Self::beats(later.v, later.idx, into.v, into.idx) {
            *into = *later;
        }
    }

    unsafe fn finish(&self, acc: &Self::Acc, out: *mut u8) {
        // SAFETY: the caller's promise.
        unsafe { put(out, acc.idx) }
    }
}

/// Complex argmin/argmax, and complex min/max (`value`): numpy orders complex
/// numbers by real part, then imaginary part, and a NaN in either part wins
/// (the first one).
pub(crate) struct ArgComplex<T, const MAX: bool> {
    /// Write the winning value (min/max) instead of its index.
    pub value: Option<Element>,
    pub initial: Option<(f64, f64)>,
    pub _t: std::marker::PhantomData<T>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct ComplexArgAcc {
    pub v: (f64, f64),
    pub idx: i64,
}

#[derive(Clone, Copy)]
pub(crate) struct ComplexArgLanes {
    v: [(f64, f64); 4],
    pos: [u32; 4],
}

#[inline(always)]
fn has_nan((re, im): (f64, f64)) -> bool {
    re.is_nan() || im.is_nan()
}

impl<T: Complex, const MAX: bool> ArgComplex<T, MAX> {
    #[inline(always)]
    fn better(x: (f64, f64), best: (f64, f64)) -> bool {
        if MAX {
            x.0 > best.0 || (x.0 == best.0 && x.1 > best.1)
        } else {
            x.0 < best.0 || (x.0 == best.0 && x.1 < best.1)
        }
    }

    #[inline(always)]
    fn beats(x: (f64, f64), xi: i64, best: (f64, f64), bi: i64) -> bool {
        if bi < 0 {
            return true;
        }
        if xi < 0 {
            return false;
        }
        let (xn, bn) = (has_nan(x), has_nan(best));
        if xn || bn {
            return xn && (!bn || xi < bi);
        }
        Self::better(x, best) || (x == best && xi < bi)
    }

    #[inline(always)]
    fn takes(x: (f64, f64), best: (f64, f64)) -> bool {
        if has_nan(best) {
            false
        } else {
            has_nan(x) || Self::better(x, best)
        }
    }
}

impl<T: Complex, const MAX: bool> Lanes for ArgComplex<T, MAX> {
    type T = T;
    type Acc = ComplexArgAcc;
    type State = ComplexArgLanes;
    const L: usize = 4;
    const INDEXED: bool = true;

    fn init(&self) -> ComplexArgAcc {
        ComplexArgAcc { v: (0.0, 0.0), idx: -1 }
    }

    fn fresh(&self, _: impl Fn(usize) -> *const ComplexArgAcc) -> ComplexArgLanes {
        ComplexArgLanes {
            v: [(0.0, 0.0); 4],
            pos: [NONE; 4],
        }
    }

    #[inline(always)]
    unsafe fn step_first(&self, s: &mut ComplexArgLanes, p: *const u8, pos: u32) {
        for k in 0..4 {
            // SAFETY: value k of L at p.
            s.v[k] = unsafe { at::<T>(p, k) }.parts();
            s.pos[k] = pos + k as u32;
        }
    }

    #[inline(always)]
    unsafe fn step(&self, s: &mut ComplexArgLanes, p: *const u8, pos: u32) {
        for k in 0..4 {
            // SAFETY: value k of L at p.
            let x = unsafe { at::<T>(p, k) }.parts();
            if Self::takes(x, s.v[k]) {
                s.v[k] = x;
                s.pos[k] = pos + k as u32;
            }
        }
    }

    unsafe fn step_masked(&self, s: &mut ComplexArgLanes, p: *const u8, m: *const u8, pos: u32) {
        for k in 0..4 {
            // SAFETY: value and mask byte k of L.
            if unsafe { on(m, k) } {
                // SAFETY: value k of L at p.
                let x = unsafe { at::<T>(p, k) };
                self.step_one(s, k, x, pos + k as u32);
            }
        }
    }

    fn step_one(&self, s: &mut ComplexArgLanes, k: usize, x: T, pos: u32) {
        let x = x.parts();
        if s.pos[k] == NONE || Self::takes(x, s.v[k]) {
            s.v[k] = x;
            s.pos[k] = pos;
        }
    }

    fn flush(&self, acc: &mut ComplexArgAcc, s: &ComplexArgLanes, k: usize, idx: impl Fn(u32) -> i64) {
        if s.pos[k] == NONE {
            return;
        }
        let i = idx(s.pos[k]);
        if Self::beats(s.v[k], i, acc.v, acc.idx) {
            *acc = ComplexArgAcc { v: s.v[k], idx: i };
        }
    }

    fn step_acc(&self, acc: &mut ComplexArgAcc, x: T, idx: i64) {
        let x = x.parts();
        if Self::beats(x, idx, acc.v, acc.idx) {
            *acc = ComplexArgAcc { v: x, idx };
        }
    }

    fn merge(&self, into: &mut ComplexArgAcc, later: &ComplexArgAcc) {
        if Self::beats(later.v, later.idx, into.v, into.idx) {
            *into = *later;
        }
    }

    unsafe fn finish(&self, acc: &ComplexArgAcc, out: *mut u8) {
        let Some(result) = self.value else {
            // SAFETY: the caller's promise.
            return unsafe { put(out, acc.idx) };
        };
        let mut v = acc.v;
        if let Some(initial) = self.initial {
            // The initial value comes before every element.
            if acc.idx < 0 || has_nan(initial) || (!has_nan(v) && !Self::better(v, initial)) {
                v = initial;
            }
        }
        // SAFETY: the caller's promise.
        unsafe { put_complex(out, result, v.0, v.1) }
    }
}

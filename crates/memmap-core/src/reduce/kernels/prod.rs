//! Products: integers wrap in 64 bits (numpy's int64/uint64 accumulator;
//! exact in any order), floats multiply in f64 (float16/float32 rounded
//! once at the end), complex in f64 pairs.
//!
//! numpy's product is one running product that starts at `initial`:
//! `initial * a0 * a1 * ...`. Lanes reorder that (lane `k` multiplies every
//! `L`th element), but float and complex products keep `initial` the first
//! factor: an output's state starts at `initial`, and the first lane of
//! each output takes the state over when fresh (its first element, then
//! every `L`th after), so `1e-300 * 1e200 * 1e200` is 1e100 here as in
//! numpy, not `1e-300 * inf`. Multiplying `initial` in at the end instead
//! made `[1e200, 1e200]` with `initial: 0` NaN (0 * inf) where numpy's is 0.
//! An `initial` that no finite factor moves (±0, ±inf, NaN) also starts
//! every other lane, at its magnitude: numpy's running product stays 0 over
//! values whose own product overflows, and so does each lane.

use std::marker::PhantomData;

use super::{at, on, put_complex, put_float, put_int, Lanes};
use crate::reduce::element::{Complex, Real};
use crate::reduce::{Element, Scalar};

pub(crate) struct Prod<T> {
    pub result: Element,
    pub initial: Option<Scalar>,
    pub _t: PhantomData<T>,
}

impl<T: Real> Lanes for Prod<T> {
    type T = T;
    type Acc = u64;
    type State = [u64; 8];
    const L: usize = 8;

    fn init(&self) -> u64 {
        1
    }

    fn fresh(&self, _: impl Fn(usize) -> *mut u64) -> [u64; 8] {
        [1; 8]
    }

    #[inline(always)]
    unsafe fn step(&self, s: &mut [u64; 8], p: *const u8, _: u32) {
        for (k, lane) in s.iter_mut().enumerate() {
            // SAFETY: value k of L at p.
            *lane = lane.wrapping_mul(unsafe { at::<T>(p, k) }.bits64());
        }
    }

    #[inline(always)]
    unsafe fn step_masked(&self, s: &mut [u64; 8], p: *const u8, m: *const u8, _: u32) {
        for (k, lane) in s.iter_mut().enumerate() {
            // SAFETY: value and mask byte k of L.
            let (x, on) = unsafe { (at::<T>(p, k).bits64(), on(m, k)) };
            *lane = lane.wrapping_mul(if on { x } else { 1 });
        }
    }

    fn step_one(&self, s: &mut [u64; 8], k: usize, x: T, _: u32) {
        s[k] = s[k].wrapping_mul(x.bits64());
    }

    fn flush(&self, acc: &mut u64, s: &[u64; 8], k: usize, _: impl Fn(u32) -> i64) {
        *acc = acc.wrapping_mul(s[k]);
    }

    fn step_acc(&self, acc: &mut u64, x: T, _: i64) {
        *acc = acc.wrapping_mul(x.bits64());
    }

    fn merge(&self, into: &mut u64, later: &u64) {
        *into = into.wrapping_mul(*later);
    }

    #[inline(always)]
    unsafe fn finish(&self, acc: &u64, out: *mut u8) {
        let initial = match self.initial {
            Some(Scalar::Int(v)) => v as u64,
            Some(Scalar::UInt(v)) => v,
            Some(Scalar::Bool(v)) => v as u64,
            _ => 1,
        };
        // SAFETY: the caller's promise.
        unsafe { put_int(out, self.result, acc.wrapping_mul(initial)) }
    }
}

pub(crate) struct ProdFloat<T> {
    pub result: Element,
    pub initial: Option<f64>,
    pub _t: PhantomData<T>,
}

impl<T> ProdFloat<T> {
    /// What lanes that do not take an output's state over start from, and
    /// later pieces of an output: 1, or |initial| for an `initial` that
    /// absorbs every finite factor (see the module docs). Its sign comes
    /// once, with `initial` in the output's first lane.
    #[inline(always)]
    fn seed(&self) -> f64 {
        match self.initial {
            Some(v) if v == 0.0 || !v.is_finite() => v.abs(),
            _ => 1.0,
        }
    }
}

impl<T: Real> Lanes for ProdFloat<T> {
    type T = T;
    type Acc = f64;
    type State = [f64; 16];
    const L: usize = 16;

    fn init(&self) -> f64 {
        // numpy's order: `initial` is the first factor of the product.
        self.initial.unwrap_or(1.0)
    }

    fn identity(&self) -> f64 {
        self.seed()
    }

    #[inline(always)]
    fn fresh(&self, acc_of: impl Fn(usize) -> *mut f64) -> [f64; 16] {
        let seed = self.seed();
        let mut s = [seed; 16];
        for (k, lane) in s.iter_mut().enumerate() {
            let acc = acc_of(k);
            // SAFETY: the drivers pass an output state this thread alone
            // holds, valid for reads and writes (Lanes::fresh). The lowest
            // lane of each output takes its running product (`initial` and
            // the elements before this run) and leaves the seed, which the
            // output's other lanes then read and its flushes multiply into.
            unsafe {
                *lane = *acc;
                *acc = seed;
            }
        }
        s
    }

    #[inline(always)]
    unsafe fn step(&self, s: &mut [f64; 16], p: *const u8, _: u32) {
        for (k, lane) in s.iter_mut().enumerate() {
            // SAFETY: value k of L at p.
            *lane *= unsafe { at::<T>(p, k) }.f64();
        }
    }

    #[inline(always)]
    unsafe fn step_masked(&self, s: &mut [f64; 16], p: *const u8, m: *const u8, _: u32) {
        for (k, lane) in s.iter_mut().enumerate() {
            // SAFETY: value and mask byte k of L.
            let (x, on) = unsafe { (at::<T>(p, k).f64(), on(m, k)) };
            *lane *= if on { x } else { 1.0 };
        }
    }

    fn step_one(&self, s: &mut [f64; 16], k: usize, x: T, _: u32) {
        s[k] *= x.f64();
    }

    fn flush(&self, acc: &mut f64, s: &[f64; 16], k: usize, _: impl Fn(u32) -> i64) {
        *acc *= s[k];
    }

    fn step_acc(&self, acc: &mut f64, x: T, _: i64) {
        *acc *= x.f64();
    }

    fn merge(&self, into: &mut f64, later: &f64) {
        *into *= *later;
    }

    #[inline(always)]
    unsafe fn finish(&self, acc: &f64, out: *mut u8) {
        // `initial` is in the state from the start (init).
        // SAFETY: the caller's promise.
        unsafe { put_float(out, self.result, *acc) }
    }
}

pub(crate) struct ProdComplex<T> {
    pub result: Element,
    pub initial: Option<(f64, f64)>,
    pub _t: PhantomData<T>,
}

impl<T> ProdComplex<T> {
    /// As [`ProdFloat::seed`]: 1, or 0 for an `initial` of 0 (either sign
    /// in either part), which every finite factor leaves 0.
    #[inline(always)]
    fn seed(&self) -> (f64, f64) {
        match self.initial {
            Some((re, im)) if re == 0.0 && im == 0.0 => (0.0, 0.0),
            _ => (1.0, 0.0),
        }
    }
}

#[inline(always)]
fn times((a, b): (f64, f64), (c, d): (f64, f64)) -> (f64, f64) {
    (a * c - b * d, a * d + b * c)
}

impl<T: Complex> Lanes for ProdComplex<T> {
    type T = T;
    type Acc = (f64, f64);
    type State = [(f64, f64); 4];
    const L: usize = 4;

    fn init(&self) -> (f64, f64) {
        // numpy's order: `initial` is the first factor of the product.
        self.initial.unwrap_or((1.0, 0.0))
    }

    fn identity(&self) -> (f64, f64) {
        self.seed()
    }

    #[inline(always)]
    fn fresh(&self, acc_of: impl Fn(usize) -> *mut (f64, f64)) -> Self::State {
        let seed = self.seed();
        let mut s = [seed; 4];
        for (k, lane) in s.iter_mut().enumerate() {
            let acc = acc_of(k);
            // SAFETY: as in ProdFloat::fresh: an output state this thread
            // alone holds; its lowest lane takes the running product over.
            unsafe {
                *lane = *acc;
                *acc = seed;
            }
        }
        s
    }

    #[inline(always)]
    unsafe fn step(&self, s: &mut Self::State, p: *const u8, _: u32) {
        for (k, lane) in s.iter_mut().enumerate() {
            // SAFETY: value k of L at p.
            *lane = times(*lane, unsafe { at::<T>(p, k) }.parts());
        }
    }

    #[inline(always)]
    unsafe fn step_masked(&self, s: &mut Self::State, p: *const u8, m: *const u8, _: u32) {
        for (k, lane) in s.iter_mut().enumerate() {
            // SAFETY: value and mask byte k of L.
            if unsafe { on(m, k) } {
                // SAFETY: value k of L at p.
                *lane = times(*lane, unsafe { at::<T>(p, k) }.parts());
            }
        }
    }

    fn step_one(&self, s: &mut Self::State, k: usize, x: T, _: u32) {
        s[k] = times(s[k], x.parts());
    }

    fn flush(&self, acc: &mut (f64, f64), s: &Self::State, k: usize, _: impl Fn(u32) -> i64) {
        *acc = times(*acc, s[k]);
    }

    fn step_acc(&self, acc: &mut (f64, f64), x: T, _: i64) {
        *acc = times(*acc, x.parts());
    }

    fn merge(&self, into: &mut (f64, f64), later: &(f64, f64)) {
        *into = times(*into, *later);
    }

    #[inline(always)]
    unsafe fn finish(&self, acc: &(f64, f64), out: *mut u8) {
        // `initial` is in the state from the start (init).
        let (re, im) = *acc;
        // SAFETY: the caller's promise.
        unsafe { put_complex(out, self.result, re, im) }
    }
}

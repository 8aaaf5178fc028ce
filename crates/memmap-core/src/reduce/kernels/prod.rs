//! Products: integers wrap in 64 bits (numpy's int64/uint64 accumulator;
//! exact in any order), floats multiply in f64 (float16/float32 rounded
//! once at the end), complex in f64 pairs.

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

    fn fresh(&self, _: impl Fn(usize) -> *const u64) -> [u64; 8] {
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

impl<T: Real> Lanes for ProdFloat<T> {
    type T = T;
    type Acc = f64;
    type State = [f64; 16];
    const L: usize = 16;

    fn init(&self) -> f64 {
        1.0
    }

    fn fresh(&self, _: impl Fn(usize) -> *const f64) -> [f64; 16] {
        [1.0; 16]
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
        // SAFETY: the caller's promise.
        unsafe { put_float(out, self.result, acc * self.initial.unwrap_or(1.0)) }
    }
}

pub(crate) struct ProdComplex<T> {
    pub result: Element,
    pub initial: Option<(f64, f64)>,
    pub _t: PhantomData<T>,
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
        (1.0, 0.0)
    }

    fn fresh(&self, _: impl Fn(usize) -> *const (f64, f64)) -> Self::State {
        [(1.0, 0.0); 4]
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
        let (re, im) = times(self.initial.unwrap_or((1.0, 0.0)), *acc);
        // SAFETY: the caller's promise.
        unsafe { put_complex(out, self.result, re, im) }
    }
}

//! any, all and count_nonzero: one count of nonzero values and one of values
//! seen (the where mask's true entries), so `all` is "every seen value is
//! nonzero". NaN, NaT and -0.0 follow numpy's truth: NaN and NaT are
//! nonzero, -0.0 is zero.

use std::marker::PhantomData;

use super::{at, on, put, Lanes};
use crate::reduce::element::{C64x2, Native, Real, C32};

/// numpy's truth value of an element.
pub(crate) trait Truth: Native {
    fn truth(self) -> bool;
}

impl<T: Real> Truth for T {
    #[inline(always)]
    fn truth(self) -> bool {
        self.nonzero()
    }
}

impl Truth for C32 {
    #[inline(always)]
    fn truth(self) -> bool {
        self.0 != 0.0 || self.1 != 0.0
    }
}

impl Truth for C64x2 {
    #[inline(always)]
    fn truth(self) -> bool {
        self.0 != 0.0 || self.1 != 0.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Any,
    All,
    Count,
}

pub(crate) struct Nonzero<T> {
    pub verdict: Verdict,
    pub _t: PhantomData<T>,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CountAcc {
    pub nonzero: u64,
    pub seen: u64,
}

const LANES: usize = 32;

#[derive(Clone, Copy)]
pub(crate) struct CountLanes {
    nonzero: [u32; LANES],
    /// Values lane k took alone or through a mask, besides `steps` (every lane).
    seen: [u32; LANES],
    steps: u32,
}

impl<T: Truth> Lanes for Nonzero<T> {
    type T = T;
    type Acc = CountAcc;
    type State = CountLanes;
    const L: usize = LANES;

    fn init(&self) -> CountAcc {
        CountAcc::default()
    }

    fn fresh(&self, _: impl Fn(usize) -> *const CountAcc) -> CountLanes {
        CountLanes {
            nonzero: [0; LANES],
            seen: [0; LANES],
            steps: 0,
        }
    }

    #[inline(always)]
    unsafe fn step(&self, s: &mut CountLanes, p: *const u8, _: u32) {
        for k in 0..LANES {
            // SAFETY: value k of L at p.
            s.nonzero[k] += unsafe { at::<T>(p, k) }.truth() as u32;
        }
        s.steps += 1;
    }

    #[inline(always)]
    unsafe fn step_masked(&self, s: &mut CountLanes, p: *const u8, m: *const u8, _: u32) {
        for k in 0..LANES {
            // SAFETY: value and mask byte k of L.
            let (x, on) = unsafe { (at::<T>(p, k).truth(), on(m, k)) };
            s.nonzero[k] += (x & on) as u32;
            s.seen[k] += on as u32;
        }
    }

    fn step_one(&self, s: &mut CountLanes, k: usize, x: T, _: u32) {
        s.nonzero[k] += x.truth() as u32;
        s.seen[k] += 1;
    }

    fn flush(&self, acc: &mut CountAcc, s: &CountLanes, k: usize, _: impl Fn(u32) -> i64) {
        acc.nonzero += s.nonzero[k] as u64;
        acc.seen += (s.steps + s.seen[k]) as u64;
    }

    fn flush_all(&self, acc: &mut CountAcc, s: &CountLanes, _: impl Fn(u32) -> i64 + Copy) {
        acc.nonzero += s.nonzero.iter().map(|&n| n as u64).sum::<u64>();
        acc.seen += s.steps as u64 * LANES as u64 + s.seen.iter().map(|&n| n as u64).sum::<u64>();
    }

    fn step_acc(&self, acc: &mut CountAcc, x: T, _: i64) {
        acc.nonzero += x.truth() as u64;
        acc.seen += 1;
    }

    #[inline(always)]
    unsafe fn fold_fixed<const N: usize>(&self, acc: &mut CountAcc, p: *const u8, _: i64, _: i64) {
        let mut nonzero = 0u64;
        for k in 0..N {
            // SAFETY: value k of the row.
            nonzero += unsafe { at::<T>(p, k) }.truth() as u64;
        }
        acc.nonzero += nonzero;
        acc.seen += N as u64;
    }

    fn merge(&self, into: &mut CountAcc, later: &CountAcc) {
        into.nonzero += later.nonzero;
        into.seen += later.seen;
    }

    #[inline(always)]
    unsafe fn finish(&self, acc: &CountAcc, out: *mut u8) {
        // SAFETY: the caller's promise.
        unsafe {
            match self.verdict {
                Verdict::Any => put(out, (acc.nonzero > 0) as u8),
                Verdict::All => put(out, (acc.nonzero == acc.seen) as u8),
                Verdict::Count => put(out, acc.nonzero as i64),
            }
        }
    }
}

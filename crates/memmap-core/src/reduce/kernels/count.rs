//! any, all and count_nonzero: one count of nonzero values and one of values
//! seen (the where mask's true entries), so `all` is "every seen value is
//! nonzero". NaN, NaT and -0.0 follow numpy's truth: NaN and NaT are
//! nonzero, -0.0 is zero.
//!
//! Counting is an integer sum, which the compiler vectorises from plain
//! loops over a row (no lanes needed: integer addition reassociates).

use std::marker::PhantomData;

use super::{at, has_avx2, put, Family, Rows};
use crate::reduce::element::{C64x2, Native, Real, C32};

/// numpy's truth value of an element.
pub(crate) trait Truth: Native {
    fn truth(self) -> bool;
    /// [`Real::TRUTH_BITS`]; 0 for complex kinds.
    const BITS: u16 = 0;
}

impl<T: Real> Truth for T {
    const BITS: u16 = T::TRUTH_BITS;
    #[inline(always)]
    fn truth(self) -> bool {
        self.nonzero()
    }
}

impl Truth for C32 {
    #[inline(always)]
    fn truth(self) -> bool {
        (self.0 != 0.0) | (self.1 != 0.0)
    }
}

impl Truth for C64x2 {
    #[inline(always)]
    fn truth(self) -> bool {
        (self.0 != 0.0) | (self.1 != 0.0)
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

/// Nonzero values among `n` at `p` (those whose mask byte is nonzero, if
/// `m` is not null), and how many were seen.
///
/// # Safety
///
/// `n` values readable at `p`, `n` bytes at `m` unless null.
#[inline(always)]
unsafe fn count<T: Truth>(p: *const u8, m: *const u8, n: usize) -> (u64, u64) {
    // u32 counters vectorise best; a unit never holds 2^32 values.
    let mut nonzero = 0u32;
    if m.is_null() {
        // One- and two-byte kinds: their own width of counter, 32 values
        // to a vector instead of 8.
        if size_of::<T>() == 1 && T::BITS != 0 {
            // SAFETY: the caller's n bytes.
            return (unsafe { count_u8(p, n, T::BITS as u8) }, n as u64);
        }
        if size_of::<T>() == 2 && T::BITS != 0 {
            // SAFETY: the caller's n two-byte values.
            return (unsafe { count_u16(p, n, T::BITS) }, n as u64);
        }
        for j in 0..n {
            // SAFETY: value j of the run.
            nonzero += unsafe { at::<T>(p, j) }.truth() as u32;
        }
        return (nonzero as u64, n as u64);
    }
    let mut seen = 0u32;
    for j in 0..n {
        // SAFETY: value and mask byte j of the run.
        let (x, on) = unsafe { (at::<T>(p, j).truth(), *m.add(j) != 0) };
        nonzero += (x & on) as u32;
        seen += on as u32;
    }
    (nonzero as u64, seen as u64)
}

/// Values among `n` bytes at `p` with a bit of `bits` set: 64 counters of
/// one byte, each taking at most 255 values before they are summed.
///
/// # Safety
///
/// `n` bytes readable at `p`.
#[inline(always)]
unsafe fn count_u8(p: *const u8, n: usize, bits: u8) -> u64 {
    const W: usize = 64;
    let mut total = 0u64;
    let mut j = 0;
    while n - j >= W {
        let rounds = ((n - j) / W).min(255);
        let mut lanes = [0u8; W];
        for k in 0..rounds {
            // SAFETY: W bytes at j + k * W, inside the n.
            let q = unsafe { p.add(j + k * W) };
            for (l, c) in lanes.iter_mut().enumerate() {
                // SAFETY: as above.
                *c += (unsafe { *q.add(l) } & bits != 0) as u8;
            }
        }
        total += lanes.iter().map(|&c| c as u64).sum::<u64>();
        j += rounds * W;
    }
    for k in j..n {
        // SAFETY: byte k of the n.
        total += (unsafe { *p.add(k) } & bits != 0) as u64;
    }
    total
}

/// The same over two-byte values (unaligned, native order): 32 counters of
/// two bytes, each taking at most 65535 values.
///
/// # Safety
///
/// `n` two-byte values readable at `p`.
#[inline(always)]
unsafe fn count_u16(p: *const u8, n: usize, bits: u16) -> u64 {
    const W: usize = 32;
    let mut total = 0u64;
    let mut j = 0;
    while n - j >= W {
        let rounds = ((n - j) / W).min(65535);
        let mut lanes = [0u16; W];
        for k in 0..rounds {
            for (l, c) in lanes.iter_mut().enumerate() {
                // SAFETY: value j + k * W + l of the n.
                let x: u16 = unsafe { at(p, j + k * W + l) };
                *c += (x & bits != 0) as u16;
            }
        }
        total += lanes.iter().map(|&c| c as u64).sum::<u64>();
        j += rounds * W;
    }
    for k in j..n {
        // SAFETY: value k of the n.
        let x: u16 = unsafe { at(p, k) };
        total += (x & bits != 0) as u64;
    }
    total
}

/// See [`Family::reduce_rows`].
#[inline(always)]
unsafe fn count_rows<T: Truth>(b: &Rows, accs: *mut CountAcc, acc_row: isize) {
    for r in 0..b.rows {
        // SAFETY: row r of the block and its output.
        unsafe {
            let m = if b.mask.is_null() {
                b.mask
            } else {
                b.mask.offset(r as isize * b.mask_row)
            };
            let (nonzero, seen) = count::<T>(b.p.offset(r as isize * b.row_stride), m, b.n);
            let acc = &mut *accs.offset(r as isize * acc_row);
            acc.nonzero += nonzero;
            acc.seen += seen;
        }
    }
}

/// See [`Family::accumulate_rows`]: per-column counters, added row by row
/// (an elementwise loop), merged into the outputs at the end.
#[inline(always)]
unsafe fn count_columns<T: Truth>(b: &Rows, accs: *mut CountAcc, acc_row: isize) {
    let n = b.n;
    if acc_row != 0 {
        for r in 0..b.rows {
            for j in 0..n {
                // SAFETY: element (r, j) and its output.
                unsafe {
                    let on = b.mask.is_null() || *b.mask.offset(r as isize * b.mask_row).add(j) != 0;
                    let x = at::<T>(b.p.offset(r as isize * b.row_stride), j).truth();
                    let acc = &mut *accs.offset(r as isize * acc_row).add(j);
                    acc.nonzero += (x & on) as u64;
                    acc.seen += on as u64;
                }
            }
        }
        return;
    }
    let mut nonzero = vec![0u32; n];
    let mut seen = vec![0u32; n];
    for r in 0..b.rows {
        // SAFETY: row r of the block (and its mask).
        unsafe {
            let p = b.p.offset(r as isize * b.row_stride);
            if b.mask.is_null() {
                for (j, c) in nonzero.iter_mut().enumerate() {
                    *c += at::<T>(p, j).truth() as u32;
                }
            } else {
                let m = b.mask.offset(r as isize * b.mask_row);
                for (j, (c, s)) in nonzero.iter_mut().zip(seen.iter_mut()).enumerate() {
                    let on = *m.add(j) != 0;
                    *c += (at::<T>(p, j).truth() & on) as u32;
                    *s += on as u32;
                }
            }
        }
    }
    for j in 0..n {
        // SAFETY: output j of the block.
        let acc = unsafe { &mut *accs.add(j) };
        acc.nonzero += nonzero[j] as u64;
        acc.seen += if b.mask.is_null() {
            b.rows as u64
        } else {
            seen[j] as u64
        };
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn count_rows_avx2<T: Truth>(b: &Rows, accs: *mut CountAcc, acc_row: isize) {
    // SAFETY: forwarded.
    unsafe { count_rows::<T>(b, accs, acc_row) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn count_columns_avx2<T: Truth>(b: &Rows, accs: *mut CountAcc, acc_row: isize) {
    // SAFETY: forwarded.
    unsafe { count_columns::<T>(b, accs, acc_row) }
}

impl<T: Truth> Nonzero<T> {
    #[inline(always)]
    unsafe fn write(&self, acc: &CountAcc, out: *mut u8) {
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

impl<T: Truth> Family for Nonzero<T> {
    type Acc = CountAcc;
    const SIZE: usize = size_of::<T>();

    fn init(&self) -> CountAcc {
        CountAcc::default()
    }

    unsafe fn reduce_rows(&self, b: &Rows, accs: *mut CountAcc, acc_row: isize) {
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: the CPU has the features; the rest is the caller's promise.
            return unsafe { count_rows_avx2::<T>(b, accs, acc_row) };
        }
        // SAFETY: the caller's promise.
        unsafe { count_rows::<T>(b, accs, acc_row) }
    }

    unsafe fn accumulate_rows(&self, b: &Rows, accs: *mut CountAcc, acc_row: isize) {
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: as above.
            return unsafe { count_columns_avx2::<T>(b, accs, acc_row) };
        }
        // SAFETY: the caller's promise.
        unsafe { count_columns::<T>(b, accs, acc_row) }
    }

    unsafe fn reduce_rows_out(&self, b: &Rows, out: *mut u8, out_stride: isize) {
        // Rows of a short inner axis: counted into states a few thousand at
        // a time, then written.
        const BATCH: usize = 1024;
        let mut states = [CountAcc::default(); BATCH];
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
                rows,
                ..*b
            };
            states[..rows].fill(CountAcc::default());
            // SAFETY: rows r0.. of the block; `states` holds one per row.
            unsafe { self.reduce_rows(&part, states.as_mut_ptr(), 1) };
            for (k, acc) in states[..rows].iter().enumerate() {
                // SAFETY: the caller's promise for row r0 + k's result.
                unsafe { self.write(acc, out.offset((r0 + k) as isize * out_stride)) };
            }
            r0 += rows;
        }
    }

    fn merge(&self, into: &mut CountAcc, later: &CountAcc) {
        into.nonzero += later.nonzero;
        into.seen += later.seen;
    }

    unsafe fn finish(&self, acc: &CountAcc, out: *mut u8) {
        // SAFETY: the caller's promise.
        unsafe { self.write(acc, out) }
    }
}

//! argmin and argmax. Real kinds: the extreme of a block comes from the
//! vectorised min/max lanes, and only when it beats the output's best is the
//! block (still in cache) searched for its first occurrence; so a block costs
//! about one pass of max() in the common case, two when the best keeps
//! improving (sorted data). Complex kinds (and complex min/max, whose first
//! NaN must be found by position): lanes that keep each best's position.
//! Candidates merge by key, then by smaller element index, so the answer is
//! numpy's (the first of equal extremes, the first NaN) in any order of
//! blocks and pieces, and so for any thread count.

use std::marker::PhantomData;

use super::extreme::{better, ExtremeAcc, Ordered};
use super::{at, on, put, put_complex, Driven, Extreme, Family, Lanes, Rows};
use crate::reduce::element::Complex;
use crate::reduce::Element;

/// No position yet.
const NONE: u32 = u32::MAX;

pub(crate) struct Arg<T: Ordered, const MAX: bool>(pub PhantomData<T>);

#[derive(Debug, Clone, Copy)]
pub(crate) struct ArgAcc<K> {
    pub v: K,
    /// Element index; negative while nothing has been seen.
    pub idx: i64,
}

#[allow(clippy::eq_op)]
#[inline(always)]
fn is_nan<K: PartialOrd + Copy>(float: bool, k: K) -> bool {
    float & (k != k)
}

/// The first of `count` values `stride` bytes apart at `p` whose key is `v`
/// (or, with `nan`, is NaN). Contiguous values are tested sixteen at a time.
///
/// # Safety
///
/// The values are readable and one of them matches.
#[inline(always)]
unsafe fn locate<T: Ordered>(p: *const u8, stride: isize, count: usize, nan: bool, v: T::K) -> usize {
    let hit = |x: T::K| if nan { is_nan(T::FLOAT, x) } else { x == v };
    const CHUNK: usize = 16;
    let mut i = 0;
    if stride == size_of::<T>() as isize {
        while i + CHUNK <= count {
            let mut any = false;
            for k in 0..CHUNK {
                // SAFETY: value i + k of the run.
                any |= hit(unsafe { at::<T>(p, i + k) }.key());
            }
            if any {
                break;
            }
            i += CHUNK;
        }
    }
    while i < count {
        // SAFETY: value i of the run.
        if hit(unsafe { T::load(p.offset(i as isize * stride), false) }.key()) {
            return i;
        }
        i += 1;
    }
    unreachable!("the block's extreme is one of its values")
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn locate_avx2<T: Ordered>(p: *const u8, stride: isize, count: usize, nan: bool, v: T::K) -> usize {
    // SAFETY: forwarded from the caller.
    unsafe { locate::<T>(p, stride, count, nan, v) }
}

/// [`locate`] in the CPU's best build.
unsafe fn find<T: Ordered>(p: *const u8, stride: isize, count: usize, nan: bool, v: T::K) -> usize {
    #[cfg(target_arch = "x86_64")]
    if super::has_avx2() {
        // SAFETY: the CPU has the features; the rest is the caller's promise.
        return unsafe { locate_avx2::<T>(p, stride, count, nan, v) };
    }
    // SAFETY: the caller's promise.
    unsafe { locate::<T>(p, stride, count, nan, v) }
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

    /// Whether a value seen after `best` replaces it: better, or the first NaN.
    #[inline(always)]
    fn takes(x: T::K, best: T::K) -> bool {
        better::<_, MAX>(x, best) | (is_nan(T::FLOAT, x) & !is_nan(T::FLOAT, best))
    }

    /// The best key of a row of 2, 3, 4, 8 or 16 values and the first
    /// position holding it (the first NaN, if any): the extreme as a tree
    /// (no chain of dependent compares), then the position by selects from
    /// the end, so nothing waits on a mispredicted branch. `None` for other lengths.
    #[inline(always)]
    unsafe fn short_row(p: *const u8, n: usize) -> Option<(T::K, usize)> {
        #[inline(always)]
        unsafe fn fixed<T: Ordered, const MAX: bool, const N: usize>(p: *const u8) -> (T::K, usize) {
            let lanes = Extreme::<T, MAX> {
                result: Element::I64,
                initial: None,
            };
            let mut e = lanes.init();
            // SAFETY: N values at p (the caller's promise).
            unsafe { lanes.fold_fixed::<N>(&mut e, p, 0, 0) };
            let mut first = 0;
            for j in (0..N).rev() {
                // SAFETY: value j of the row.
                let x = unsafe { at::<T>(p, j) }.key();
                let hit = if e.nan { is_nan(T::FLOAT, x) } else { x == e.v };
                first = std::hint::select_unpredictable(hit, j, first);
            }
            (if e.nan { T::NAN } else { e.v }, first)
        }
        // SAFETY: each arm reads n values at p, the caller's promise.
        unsafe {
            Some(match n {
                2 => fixed::<T, MAX, 2>(p),
                3 => fixed::<T, MAX, 3>(p),
                4 => fixed::<T, MAX, 4>(p),
                8 => fixed::<T, MAX, 8>(p),
                16 => fixed::<T, MAX, 16>(p),
                _ => return None,
            })
        }
    }

    fn extreme() -> Driven<Extreme<T, MAX>> {
        Driven(Extreme {
            result: Element::I64,
            initial: None,
        })
    }

    /// Merges a block whose extreme is `e` and whose smallest element index
    /// is `first` into `acc`; `index(nan, v)` finds the index of the block's
    /// first NaN or first `v`, called only when that could win.
    #[inline]
    fn consider(acc: &mut ArgAcc<T::K>, e: &ExtremeAcc<T::K>, first: i64, index: impl FnOnce(bool, T::K) -> i64) {
        let acc_nan = acc.idx >= 0 && is_nan(T::FLOAT, acc.v);
        if e.nan {
            if !acc_nan || first < acc.idx {
                let i = index(true, e.v);
                if Self::beats(T::NAN, i, acc.v, acc.idx) {
                    *acc = ArgAcc { v: T::NAN, idx: i };
                }
            }
            return;
        }
        let worth = acc.idx < 0 || (!acc_nan && (better::<_, MAX>(e.v, acc.v) || (e.v == acc.v && first < acc.idx)));
        if worth {
            let i = index(false, e.v);
            if Self::beats(e.v, i, acc.v, acc.idx) {
                *acc = ArgAcc { v: e.v, idx: i };
            }
        }
    }

    /// Folds `count` contiguous values at `p`, element `j` having index
    /// `idx + j * step` (`step` >= 0), into `acc`.
    ///
    /// # Safety
    ///
    /// The values are readable.
    unsafe fn fold_run(&self, acc: &mut ArgAcc<T::K>, p: *const u8, count: usize, idx: i64, step: i64) {
        let extreme = Self::extreme();
        let mut e = extreme.init();
        let run = Rows {
            p,
            n: count,
            rows: 1,
            row_stride: 0,
            mask: std::ptr::null(),
            mask_row: 0,
            idx: 0,
            idx_row: 0,
            idx_inner: 0,
        };
        // SAFETY: the caller's promise.
        unsafe { extreme.reduce_rows(&run, &mut e, 0) };
        Self::consider(acc, &e, idx, |nan, v| {
            // SAFETY: as above; the run holds its extreme (or a NaN).
            let j = unsafe { find::<T>(p, size_of::<T>() as isize, count, nan, v) };
            idx + j as i64 * step
        });
    }

    fn step(acc: &mut ArgAcc<T::K>, x: T::K, i: i64) {
        if Self::beats(x, i, acc.v, acc.idx) {
            *acc = ArgAcc { v: x, idx: i };
        }
    }
}

impl<T: Ordered, const MAX: bool> Family for Arg<T, MAX> {
    type Acc = ArgAcc<T::K>;
    const SIZE: usize = size_of::<T>();

    fn init(&self) -> Self::Acc {
        ArgAcc {
            v: if MAX { T::LOW } else { T::HIGH },
            idx: -1,
        }
    }

    unsafe fn reduce_rows(&self, b: &Rows, accs: *mut Self::Acc, acc_row: isize) {
        debug_assert!(b.mask.is_null(), "numpy's argmin/argmax take no mask");
        let size = size_of::<T>() as isize;
        let n = b.n;
        if acc_row == 0 && b.row_stride == n as isize * size && b.idx_row == n as i64 * b.idx_inner {
            // One output over rows that continue each other.
            // SAFETY: the block is rows * n contiguous values; `accs` the output.
            unsafe { self.fold_run(&mut *accs, b.p, b.rows * n, b.idx, b.idx_inner) };
            return;
        }
        for r in 0..b.rows {
            // SAFETY: row r of the block and its output.
            unsafe {
                let acc = &mut *accs.offset(r as isize * acc_row);
                let p = b.p.offset(r as isize * b.row_stride);
                let idx = b.idx + r as i64 * b.idx_row;
                if n >= 64 {
                    self.fold_run(acc, p, n, idx, b.idx_inner);
                } else if let Some((v, j)) = Self::short_row(p, n) {
                    Self::step(acc, v, idx + j as i64 * b.idx_inner);
                } else if n > 0 {
                    // A short row: the first best by compare-and-select,
                    // then one merge.
                    let (mut best, mut at_best) = (at::<T>(p, 0).key(), 0);
                    for j in 1..n {
                        let x = at::<T>(p, j).key();
                        // Which value wins is data: a branch would be mispredicted.
                        let take = Self::takes(x, best);
                        best = std::hint::select_unpredictable(take, x, best);
                        at_best = std::hint::select_unpredictable(take, j, at_best);
                    }
                    Self::step(acc, best, idx + at_best as i64 * b.idx_inner);
                }
            }
        }
    }

    unsafe fn accumulate_rows(&self, b: &Rows, accs: *mut Self::Acc, acc_row: isize) {
        let n = b.n;
        if acc_row != 0 {
            for r in 0..b.rows {
                for j in 0..n {
                    // SAFETY: element (r, j) of the block and its output.
                    unsafe {
                        let x = at::<T>(b.p.offset(r as isize * b.row_stride), j).key();
                        Self::step(
                            &mut *accs.offset(r as isize * acc_row).add(j),
                            x,
                            b.idx + r as i64 * b.idx_row,
                        );
                    }
                }
            }
            return;
        }
        // The block's extreme per column, then a search down the columns
        // whose extreme could win.
        let extreme = Self::extreme();
        let mut columns = vec![extreme.init(); n];
        // SAFETY: the caller's promise; `columns` has an output per column.
        unsafe { extreme.accumulate_rows(b, columns.as_mut_ptr(), 0) };
        for (j, e) in columns.iter().enumerate() {
            // SAFETY: output j of the block.
            let acc = unsafe { &mut *accs.add(j) };
            Self::consider(acc, e, b.idx, |nan, v| {
                // SAFETY: column j of the block holds its extreme (or a NaN).
                let r = unsafe { find::<T>(b.p.add(j * size_of::<T>()), b.row_stride, b.rows, nan, v) };
                b.idx + r as i64 * b.idx_row
            });
        }
    }

    fn merge(&self, into: &mut Self::Acc, later: &Self::Acc) {
        if Self::beats(later.v, later.idx, into.v, into.idx) {
            *into = *later;
        }
    }

    #[inline(always)]
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

    fn fresh(&self, _: impl Fn(usize) -> *mut ComplexArgAcc) -> ComplexArgLanes {
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

    #[inline(always)]
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

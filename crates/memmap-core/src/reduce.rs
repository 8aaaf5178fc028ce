//! Reductions (sum, min, max) over any strided view of a [`Mapping`], as numpy
//! computes them: integer sums in 64 bits with wraparound (numpy's `int64` /
//! `uint64` accumulator), float sums in `f64` (numpy keeps `float32` sums in
//! `float32`; ours are at least as exact), NaN propagating through min and
//! max, complex min/max ordered by real then imaginary part.
//!
//! The mapping is one address range here, so views past 4 GiB reduce like any
//! other. Bytes are read with unaligned raw loads: never a Rust reference into
//! memory that JavaScript may be writing (see the crate docs).

use std::ops::Range;
use std::sync::OnceLock;

use crate::{Error, ErrorKind, Mapping, Result};

/// What a view's elements are: numpy's kind and itemsize.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Element {
    Bool,
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    F16,
    F32,
    F64,
    C64,
    C128,
}

impl Element {
    /// Parses numpy's kind + itemsize code (`"f4"`, `"b1"`, `"c16"`).
    pub fn parse(code: &str) -> Option<Element> {
        Some(match code {
            "b1" => Element::Bool,
            "i1" => Element::I8,
            "u1" => Element::U8,
            "i2" => Element::I16,
            "u2" => Element::U16,
            "i4" => Element::I32,
            "u4" => Element::U32,
            "i8" => Element::I64,
            "u8" => Element::U64,
            "f2" => Element::F16,
            "f4" => Element::F32,
            "f8" => Element::F64,
            "c8" => Element::C64,
            "c16" => Element::C128,
            _ => return None,
        })
    }

    pub fn itemsize(self) -> usize {
        match self {
            Element::Bool | Element::I8 | Element::U8 => 1,
            Element::I16 | Element::U16 | Element::F16 => 2,
            Element::I32 | Element::U32 | Element::F32 => 4,
            Element::I64 | Element::U64 | Element::F64 | Element::C64 => 8,
            Element::C128 => 16,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduction {
    Sum,
    /// The sum accumulated in `f64` whatever the dtype: numpy's `mean` of
    /// integers (`np.add.reduce(a, dtype=float64)`), which never wraps.
    FloatSum,
    Min,
    Max,
}

/// A reduction's result, in numpy's result type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar {
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Complex(f64, f64),
}

/// A view's geometry: element 0 at `byte_offset` from the start of the map,
/// byte strides per axis (negative allowed).
#[derive(Debug, Clone)]
pub struct View {
    pub byte_offset: usize,
    pub shape: Vec<usize>,
    pub strides: Vec<isize>,
}

/// One contiguous or strided run of elements the fold visits.
#[derive(Clone, Copy)]
struct Run {
    start: *const u8,
    count: usize,
    stride: isize,
}

/// Views smaller than this are reduced on the calling thread alone: starting a
/// thread costs about what summing half a megabyte does.
const PARALLEL_BYTES: usize = 8 << 20;

/// Threads a large reduction is shared among: one per core this process may
/// use (cgroup limits included), at most 8. One core cannot draw the memory
/// bandwidth that two do (a 1 GiB float32 sum here: 54 ms on one, 27 on two).
fn reduction_threads() -> usize {
    static THREADS: OnceLock<usize> = OnceLock::new();
    *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()).min(8))
}

/// The runs of a view, made as they are folded: the innermost (smallest
/// stride) axis is one run, the other axes an odometer over run starts. A list
/// of every run would take 24 bytes each: 1.6 GB for a `(2^26, 2)` view.
struct RunPlan {
    /// Element 0 of the view.
    first: *const u8,
    /// Elements per run and the byte step between them.
    inner_count: usize,
    inner_stride: isize,
    /// The other axes (length, byte stride), fastest-moving first.
    outer: Vec<(usize, isize)>,
    /// How many runs: the product of the outer lengths (0 for an empty view).
    runs: usize,
}

// SAFETY: `first` points into the Mapping that `Mapping::reduce` borrows for
// its whole call; the scoped threads a plan is shared with end before that call
// returns, and they only read through it (each makes its own Runs).
unsafe impl Sync for RunPlan {}

/// The share of a plan one thread folds: runs `runs`, each cut to its elements `elements`.
#[derive(Clone)]
struct Piece {
    runs: Range<usize>,
    elements: Range<usize>,
}

impl RunPlan {
    fn elements(&self) -> usize {
        self.runs * self.inner_count
    }

    fn whole(&self) -> Piece {
        Piece {
            runs: 0..self.runs,
            elements: 0..self.inner_count,
        }
    }

    /// Up to `parts` pieces of about equal size, in order: whole runs where
    /// there are enough of them, else parts of the one run.
    fn pieces(&self, parts: usize) -> Vec<Piece> {
        let cut = |len: usize, n: usize| (0..n).map(move |k| k * len / n..(k + 1) * len / n);
        if self.runs == 1 {
            cut(self.inner_count, parts)
                .map(|elements| Piece { runs: 0..1, elements })
                .collect()
        } else {
            cut(self.runs, parts.min(self.runs))
                .map(|runs| Piece {
                    runs,
                    elements: 0..self.inner_count,
                })
                .collect()
        }
    }

    /// Calls `each` with the runs of `piece`, a few thousand at a time.
    fn for_each_batch(&self, piece: &Piece, mut each: impl FnMut(&[Run])) {
        const BATCH: usize = 4096;
        let mut batch = Vec::with_capacity(BATCH.min(piece.runs.len()));
        let mut counters = vec![0usize; self.outer.len()];
        let mut offset = piece.elements.start as isize * self.inner_stride;
        let mut index = piece.runs.start;
        for (counter, &(dim, stride)) in counters.iter_mut().zip(&self.outer) {
            *counter = index % dim;
            index /= dim;
            offset += *counter as isize * stride;
        }
        for _ in piece.runs.clone() {
            batch.push(Run {
                start: self.first.wrapping_offset(offset),
                count: piece.elements.len(),
                stride: self.inner_stride,
            });
            if batch.len() == BATCH {
                each(&batch);
                batch.clear();
            }
            for (counter, &(dim, stride)) in counters.iter_mut().zip(&self.outer) {
                *counter += 1;
                offset += stride;
                if *counter < dim {
                    break;
                }
                offset -= stride * dim as isize;
                *counter = 0;
            }
        }
        if !batch.is_empty() {
            each(&batch);
        }
    }
}

/// Folds one piece batch by batch, combining in order; an empty piece folds no runs.
fn fold_piece(plan: &RunPlan, piece: &Piece, element: Element, op: Reduction, fold: FoldFn) -> Option<Scalar> {
    let mut result = None;
    let mut folded = false;
    plan.for_each_batch(piece, |runs| {
        result = combine(op, result, fold(element, op, runs));
        folded = true;
    });
    if folded {
        result
    } else {
        fold(element, op, &[])
    }
}

type FoldFn = fn(Element, Reduction, &[Run]) -> Option<Scalar>;

/// The result of a fold over consecutive pieces `a` then `b`, from each
/// piece's result: what one fold over both would have given (up to float
/// rounding for sums).
fn combine(op: Reduction, a: Option<Scalar>, b: Option<Scalar>) -> Option<Scalar> {
    let (a, b) = match (a, b) {
        (Some(a), Some(b)) => (a, b),
        (a, None) => return a,
        (None, b) => return b,
    };
    let sum = matches!(op, Reduction::Sum | Reduction::FloatSum);
    let min = op == Reduction::Min;
    Some(match (a, b) {
        (Scalar::Int(x), Scalar::Int(y)) => Scalar::Int(integers(op, x, y, i64::wrapping_add)),
        (Scalar::UInt(x), Scalar::UInt(y)) => Scalar::UInt(integers(op, x, y, u64::wrapping_add)),
        (Scalar::Bool(x), Scalar::Bool(y)) => Scalar::Bool(if min { x && y } else { x || y }),
        (Scalar::Float(x), Scalar::Float(y)) => Scalar::Float(if sum {
            x + y
        } else if x.is_nan() || y.is_nan() {
            f64::NAN
        } else if min {
            x.min(y)
        } else {
            x.max(y)
        }),
        (Scalar::Complex(r, i), Scalar::Complex(s, j)) => {
            let (re, im) = if sum {
                (r + s, i + j)
            } else {
                pick_complex(op, (r, i), (s, j))
            };
            Scalar::Complex(re, im)
        }
        // Every piece of one reduction has the same result type.
        (a, _) => a,
    })
}

impl Mapping {
    /// Reduces the elements of `view`. `None` for min/max of an empty view
    /// (numpy raises: the reduction has no identity).
    ///
    /// # Errors
    ///
    /// A view that reaches outside the map, or whose shape and strides disagree.
    pub fn reduce(&self, element: Element, little_endian: bool, view: &View, op: Reduction) -> Result<Option<Scalar>> {
        let plan = self.plan(element.itemsize(), view)?;
        let swap = little_endian != cfg!(target_endian = "little") && element.itemsize() > 1;
        let fold: FoldFn = if swap { fold::<true> } else { fold::<false> };
        let parts = reduction_threads().min(plan.elements() * element.itemsize() / PARALLEL_BYTES);
        if parts <= 1 {
            return Ok(fold_piece(&plan, &plan.whole(), element, op, fold));
        }
        let pieces = plan.pieces(parts);
        let plan = &plan;
        Ok(std::thread::scope(|scope| {
            let started: Vec<_> = pieces[1..]
                .iter()
                .map(|piece| {
                    let thread = std::thread::Builder::new()
                        .spawn_scoped(scope, move || fold_piece(plan, piece, element, op, fold));
                    (piece, thread)
                })
                .collect();
            let mut result = fold_piece(plan, &pieces[0], element, op, fold);
            for (piece, thread) in started {
                let part = match thread {
                    Ok(thread) => thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                    // A piece whose thread could not start is folded here instead.
                    Err(_) => fold_piece(plan, piece, element, op, fold),
                };
                result = combine(op, result, part);
            }
            result
        }))
    }

    /// The view's runs (see RunPlan) along its innermost (smallest-stride)
    /// axis, or one run when the view is contiguous in any axis order.
    fn plan(&self, itemsize: usize, view: &View) -> Result<RunPlan> {
        if view.shape.len() != view.strides.len() {
            return Err(Error::new(ErrorKind::Io, "reduce: shape and strides differ in length"));
        }
        if view.shape.contains(&0) {
            return Ok(RunPlan {
                first: self.as_ptr(),
                inner_count: 0,
                inner_stride: itemsize as isize,
                outer: Vec::new(),
                runs: 0,
            });
        }
        // The bytes the view touches must lie inside the map.
        let (mut low, mut high) = (view.byte_offset as i128, view.byte_offset as i128 + itemsize as i128);
        for (&dim, &stride) in view.shape.iter().zip(&view.strides) {
            let reach = (dim as i128 - 1) * stride as i128;
            if reach < 0 {
                low += reach;
            } else {
                high += reach;
            }
        }
        if low < 0 || high > self.len() as i128 {
            return Err(Error::new(
                ErrorKind::Io,
                format!(
                    "reduce: the view's bytes {low}..{high} are outside the {}-byte map",
                    self.len()
                ),
            ));
        }
        let base = self.as_ptr() as *const u8;
        // Axes by increasing |stride|, length-1 axes dropped.
        let mut axes: Vec<(usize, isize)> = view
            .shape
            .iter()
            .zip(&view.strides)
            .filter(|(&dim, _)| dim > 1)
            .map(|(&dim, &stride)| (dim, stride))
            .collect();
        axes.sort_by_key(|&(_, stride)| stride.unsigned_abs());
        let size: usize = axes.iter().map(|&(dim, _)| dim).product();
        let mut expected = itemsize;
        let contiguous = axes.iter().all(|&(dim, stride)| {
            let ok = stride.unsigned_abs() == expected;
            expected *= dim;
            ok
        });
        if contiguous {
            // SAFETY: `low` was checked to lie within the map above.
            let first = unsafe { base.add(low as usize) };
            return Ok(RunPlan {
                first,
                inner_count: size,
                inner_stride: itemsize as isize,
                outer: Vec::new(),
                runs: 1,
            });
        }
        let (inner_count, inner_stride) = axes[0];
        Ok(RunPlan {
            // SAFETY: element 0 lies within [low, high), checked above.
            first: unsafe { base.add(view.byte_offset) },
            inner_count,
            inner_stride,
            outer: axes[1..].to_vec(),
            runs: size / inner_count,
        })
    }
}

/// Loads one value of a primitive type from possibly unaligned memory.
trait Load: Copy {
    /// # Safety
    ///
    /// `p` must point at `size_of::<Self>()` readable bytes.
    unsafe fn load<const SWAP: bool>(p: *const u8) -> Self;
}

macro_rules! load_int {
    ($($t:ty),*) => {$(
        impl Load for $t {
            #[inline(always)]
            unsafe fn load<const SWAP: bool>(p: *const u8) -> Self {
                // SAFETY: the caller promises the bytes are readable.
                let v = unsafe { std::ptr::read_unaligned(p as *const $t) };
                if SWAP { v.swap_bytes() } else { v }
            }
        }
    )*};
}
load_int!(i8, u8, i16, u16, i32, u32, i64, u64);

impl Load for f32 {
    #[inline(always)]
    unsafe fn load<const SWAP: bool>(p: *const u8) -> Self {
        // SAFETY: forwarded from the caller.
        f32::from_bits(unsafe { u32::load::<SWAP>(p) })
    }
}

impl Load for f64 {
    #[inline(always)]
    unsafe fn load<const SWAP: bool>(p: *const u8) -> Self {
        // SAFETY: forwarded from the caller.
        f64::from_bits(unsafe { u64::load::<SWAP>(p) })
    }
}

/// Visits every element of every run as `f64` (floats) through `visit`.
#[inline(always)]
fn each<T: Load, const SWAP: bool>(runs: &[Run], mut visit: impl FnMut(T)) {
    for run in runs {
        let mut p = run.start;
        for _ in 0..run.count {
            // SAFETY: runs were built from a view checked to lie inside the map.
            visit(unsafe { T::load::<SWAP>(p) });
            p = p.wrapping_offset(run.stride);
        }
    }
}

/// Sums `f64`-convertible values. Short runs take a plain loop; native
/// float32 runs the vectorised paths ([`sum_f32_contiguous`],
/// [`sum_f32_every`]); everything else folds eight independent accumulators
/// per run.
#[inline(always)]
fn sum_float<T: Load + 'static, const SWAP: bool>(runs: &[Run], to_f64: impl Fn(T) -> f64 + Copy) -> f64 {
    let mut total = 0.0;
    for run in runs {
        if run.count < SHORT_RUN {
            // A few elements: a plain loop costs less than setting up lanes
            // (a (2^26, 2) view is 2^26 runs of two).
            let mut p = run.start;
            for _ in 0..run.count {
                // SAFETY: inside the run, which lies inside the map.
                total += to_f64(unsafe { T::load::<SWAP>(p) });
                p = p.wrapping_offset(run.stride);
            }
            continue;
        }
        if !SWAP && is_f32::<T>() {
            total += match run.stride {
                4 => sum_f32_contiguous(run.start, run.count),
                8 | 16 | 32 => sum_f32_every(run.start, run.count, run.stride as usize / 4),
                _ => sum_f32_strided(run.start, run.count, run.stride),
            };
            continue;
        }
        let mut lanes = [0.0f64; 8];
        let blocks = run.count / 8;
        let mut p = run.start;
        for _ in 0..blocks {
            for (k, lane) in lanes.iter_mut().enumerate() {
                // SAFETY: inside the run, which lies inside the map.
                *lane += to_f64(unsafe { T::load::<SWAP>(p.wrapping_offset(k as isize * run.stride)) });
            }
            p = p.wrapping_offset(8 * run.stride);
        }
        for _ in blocks * 8..run.count {
            // SAFETY: as above.
            lanes[0] += to_f64(unsafe { T::load::<SWAP>(p) });
            p = p.wrapping_offset(run.stride);
        }
        total += lanes.iter().sum::<f64>();
    }
    total
}

/// Runs shorter than this are summed by a plain loop.
const SHORT_RUN: usize = 16;

fn is_f32<T: 'static>() -> bool {
    std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>()
}

/// Float32 sum of a strided run (any stride): sixteen float32 accumulators
/// per block of 4096 values, each block's total folded into an f64.
fn sum_f32_strided(start: *const u8, count: usize, stride: isize) -> f64 {
    sum_f32_blocks::<16>(start, count, stride)
}

/// Float32 sum of `count` contiguous values: the same blocks with 32 lanes and
/// a constant stride, which the compiler turns into vector loads and adds
/// (AVX2 chosen at run time). Block-wise accumulation keeps the error near
/// numpy's pairwise float32 sum while running at memory speed.
fn sum_f32_contiguous(start: *const u8, count: usize) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (just checked); the range is inside the map.
        return unsafe { sum_f32_avx2(start, count) };
    }
    sum_f32_blocks::<32>(start, count, 4)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn sum_f32_avx2(start: *const u8, count: usize) -> f64 {
    sum_f32_blocks::<32>(start, count, 4)
}

/// How far ahead of the loads the float32 sums ask for cache lines. Hardware
/// prefetchers stop at 4 KiB page edges; a hint 1 KiB ahead keeps lines coming
/// across them: 15.5 -> 19.7 GB/s over a 1 GiB map in the page cache here.
const PREFETCH_AHEAD: usize = 1024;

/// A hint to load the cache line at `p`. It never faults, whatever the address.
#[inline(always)]
fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetch is only a hint: it reads nothing and cannot fault, even
    // past the end of the map.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Float32 sum of every `step`-th value (step 2, 4 or 8: strides under one
/// 64-byte cache line, so every line of the span is read anyway). Strided
/// loads do not vectorise, so this sums the whole span as if contiguous, in
/// 32 lanes, and keeps only the lanes that hold wanted values: lane `k` always
/// holds span index `k` mod 32, and `step` divides 32. Twice the adds for
/// ::2, but vector adds at memory speed instead of one scalar load each.
fn sum_f32_every(start: *const u8, count: usize, step: usize) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (just checked); the run is inside the map.
        return unsafe { sum_f32_every_avx2(start, count, step) };
    }
    sum_f32_every_blocks(start, count, step)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn sum_f32_every_avx2(start: *const u8, count: usize, step: usize) -> f64 {
    sum_f32_every_blocks(start, count, step)
}

#[inline(always)]
fn sum_f32_every_blocks(start: *const u8, count: usize, step: usize) -> f64 {
    const LANES: usize = 32;
    const BLOCK: usize = 4096;
    debug_assert!(count > 0 && LANES.is_multiple_of(step));
    // Span indices 0..=last are inside the run; whole vectors stop at or before it.
    let last = (count - 1) * step;
    let whole = (last + 1) / LANES * LANES;
    let mut total = 0.0f64;
    let mut i = 0;
    while i < whole {
        let end = (i + BLOCK).min(whole);
        let mut acc = [0.0f32; LANES];
        while i < end {
            prefetch(start.wrapping_add(i * 4 + PREFETCH_AHEAD));
            for (k, lane) in acc.iter_mut().enumerate() {
                // SAFETY: span index `i + k` < `whole` <= `last` + 1, inside the run.
                *lane += unsafe { f32::load::<false>(start.wrapping_add((i + k) * 4)) };
            }
            i += LANES;
        }
        total += acc.iter().step_by(step).map(|&x| x as f64).sum::<f64>();
    }
    for j in whole.div_ceil(step)..count {
        // SAFETY: element `j` of the run.
        total += unsafe { f32::load::<false>(start.wrapping_add(j * step * 4)) } as f64;
    }
    total
}

#[inline(always)]
fn sum_f32_blocks<const LANES: usize>(start: *const u8, count: usize, stride: isize) -> f64 {
    const BLOCK: usize = 4096;
    let mut total = 0.0f64;
    let mut done = 0;
    while done < count {
        let n = (count - done).min(BLOCK);
        let mut acc = [0.0f32; LANES];
        let base = start.wrapping_offset(done as isize * stride);
        let full = n / LANES * LANES;
        let mut i = 0;
        while i < full {
            if stride == 4 {
                prefetch(base.wrapping_add(i * 4 + PREFETCH_AHEAD));
            }
            for (k, lane) in acc.iter_mut().enumerate() {
                // SAFETY: element `done + i + k` of the run, inside the map.
                *lane += unsafe { f32::load::<false>(base.wrapping_offset((i + k) as isize * stride)) };
            }
            i += LANES;
        }
        let mut block: f64 = acc.iter().map(|&x| x as f64).sum();
        for j in full..n {
            // SAFETY: as above.
            block += unsafe { f32::load::<false>(base.wrapping_offset(j as isize * stride)) } as f64;
        }
        total += block;
        done += n;
    }
    total
}

fn extreme_float<T: Load, const SWAP: bool>(runs: &[Run], op: Reduction, to_f64: impl Fn(T) -> f64) -> f64 {
    let mut best = if op == Reduction::Min {
        f64::INFINITY
    } else {
        f64::NEG_INFINITY
    };
    let mut nan = false;
    each::<T, SWAP>(runs, |v| {
        let x = to_f64(v);
        nan |= x.is_nan();
        best = if op == Reduction::Min { best.min(x) } else { best.max(x) };
    });
    if nan {
        f64::NAN
    } else {
        best
    }
}

fn fold<const SWAP: bool>(element: Element, op: Reduction, runs: &[Run]) -> Option<Scalar> {
    let empty = runs.iter().all(|run| run.count == 0);
    if empty && !matches!(op, Reduction::Sum | Reduction::FloatSum) {
        return None;
    }
    if op == Reduction::FloatSum {
        return Some(match element {
            Element::Bool => Scalar::Float(sum_float::<u8, SWAP>(runs, |v| (v != 0) as u8 as f64)),
            Element::U8 => Scalar::Float(sum_float::<u8, SWAP>(runs, f64::from)),
            Element::I8 => Scalar::Float(sum_float::<i8, SWAP>(runs, f64::from)),
            Element::I16 => Scalar::Float(sum_float::<i16, SWAP>(runs, f64::from)),
            Element::U16 => Scalar::Float(sum_float::<u16, SWAP>(runs, f64::from)),
            Element::I32 => Scalar::Float(sum_float::<i32, SWAP>(runs, f64::from)),
            Element::U32 => Scalar::Float(sum_float::<u32, SWAP>(runs, f64::from)),
            Element::I64 => Scalar::Float(sum_float::<i64, SWAP>(runs, |v| v as f64)),
            Element::U64 => Scalar::Float(sum_float::<u64, SWAP>(runs, |v| v as f64)),
            _ => return fold::<SWAP>(element, Reduction::Sum, runs),
        });
    }
    // Integer folds: numpy accumulates sums in int64/uint64 (wrapping).
    macro_rules! integer {
        ($t:ty, $acc:ty, $result:ident) => {{
            let (mut sum, mut min, mut max) = (0 as $acc, <$acc>::MAX, <$acc>::MIN);
            match op {
                Reduction::Sum | Reduction::FloatSum => each::<$t, SWAP>(runs, |v| sum = sum.wrapping_add(v as $acc)),
                Reduction::Min => each::<$t, SWAP>(runs, |v| min = min.min(v as $acc)),
                Reduction::Max => each::<$t, SWAP>(runs, |v| max = max.max(v as $acc)),
            }
            Scalar::$result(match op {
                Reduction::Sum | Reduction::FloatSum => sum,
                Reduction::Min => min,
                Reduction::Max => max,
            })
        }};
    }
    let half = |bits: u16| half_to_f64(bits);
    Some(match element {
        Element::Bool => {
            let (mut count, mut all) = (0i64, true);
            each::<u8, SWAP>(runs, |v| {
                count += (v != 0) as i64;
                all &= v != 0;
            });
            match op {
                Reduction::Sum | Reduction::FloatSum => Scalar::Int(count),
                Reduction::Min => Scalar::Bool(all),
                Reduction::Max => Scalar::Bool(count > 0),
            }
        }
        Element::I8 => integer!(i8, i64, Int),
        Element::I16 => integer!(i16, i64, Int),
        Element::I32 => integer!(i32, i64, Int),
        Element::I64 => integer!(i64, i64, Int),
        Element::U8 => integer!(u8, u64, UInt),
        Element::U16 => integer!(u16, u64, UInt),
        Element::U32 => integer!(u32, u64, UInt),
        Element::U64 => integer!(u64, u64, UInt),
        Element::F16 => Scalar::Float(match op {
            Reduction::Sum | Reduction::FloatSum => sum_float::<u16, SWAP>(runs, half),
            _ => extreme_float::<u16, SWAP>(runs, op, half),
        }),
        Element::F32 => Scalar::Float(match op {
            Reduction::Sum | Reduction::FloatSum => sum_float::<f32, SWAP>(runs, f64::from),
            _ => extreme_float::<f32, SWAP>(runs, op, f64::from),
        }),
        Element::F64 => Scalar::Float(match op {
            Reduction::Sum | Reduction::FloatSum => sum_float::<f64, SWAP>(runs, |x| x),
            _ => extreme_float::<f64, SWAP>(runs, op, |x| x),
        }),
        Element::C64 | Element::C128 => complex::<SWAP>(element, op, runs),
    })
}

fn complex<const SWAP: bool>(element: Element, op: Reduction, runs: &[Run]) -> Scalar {
    let lane = element.itemsize() as isize / 2;
    // SAFETY (for the loads below): each complex element is two lanes inside the run.
    let load = |p: *const u8| -> (f64, f64) {
        if element == Element::C64 {
            // SAFETY: see above.
            unsafe {
                (
                    f32::load::<SWAP>(p) as f64,
                    f32::load::<SWAP>(p.wrapping_offset(lane)) as f64,
                )
            }
        } else {
            // SAFETY: see above.
            unsafe { (f64::load::<SWAP>(p), f64::load::<SWAP>(p.wrapping_offset(lane))) }
        }
    };
    let mut acc: Option<(f64, f64)> = None;
    for run in runs {
        let mut p = run.start;
        for _ in 0..run.count {
            let (re, im) = load(p);
            acc = Some(match (op, acc) {
                (Reduction::Sum | Reduction::FloatSum, Some((r, i))) => (r + re, i + im),
                (_, None) => (re, im),
                (_, Some(best)) => pick_complex(op, best, (re, im)),
            });
            p = p.wrapping_offset(run.stride);
        }
    }
    let (re, im) = acc.unwrap_or((0.0, 0.0));
    Scalar::Complex(re, im)
}

/// Two integer results combined: numpy's wrapping sum, or the min or max.
fn integers<T: Ord>(op: Reduction, x: T, y: T, add: fn(T, T) -> T) -> T {
    match op {
        Reduction::Sum | Reduction::FloatSum => add(x, y),
        Reduction::Min => x.min(y),
        Reduction::Max => x.max(y),
    }
}

/// The min or max of two complex numbers, `best` first: numpy orders them by
/// real part, then imaginary part, and the first NaN wins.
fn pick_complex(op: Reduction, best: (f64, f64), (re, im): (f64, f64)) -> (f64, f64) {
    if best.0.is_nan() || best.1.is_nan() {
        best
    } else if re.is_nan() || im.is_nan() {
        (re, im)
    } else {
        let less = re < best.0 || (re == best.0 && im < best.1);
        if less == (op == Reduction::Min) && (re, im) != best {
            (re, im)
        } else {
            best
        }
    }
}

/// IEEE binary16 to f64.
fn half_to_f64(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exponent = (bits >> 10) & 0x1f;
    let fraction = (bits & 0x3ff) as f64;
    match exponent {
        0 => sign * fraction * 2f64.powi(-24),
        0x1f if fraction == 0.0 => sign * f64::INFINITY,
        0x1f => f64::NAN,
        _ => sign * (1.0 + fraction / 1024.0) * 2f64.powi(exponent as i32 - 15),
    }
}

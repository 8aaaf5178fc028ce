//! The reduction engine: numpy's `sum`, `prod`, `mean`, `min`, `max`,
//! `argmin`, `argmax`, `var`, `std`, `any`, `all` and `count_nonzero` over
//! any strided array in memory (a map, or any other readable bytes), over
//! all axes or any set of them, with numpy's `where` mask and `initial`,
//! numpy's result dtypes and values, at memory speed.
//!
//! - [`element`]: element kinds, loads in either byte order, float16, result dtypes.
//! - [`plan`]: the loop nest in memory order, cut into tiles and units.
//! - [`kernels`]: one lane-parallel kernel per operation, AVX2 chosen at run time.
//! - [`exec`]: staging, threads, merging tiles shared between threads.
//! - [`control`]: abort, progress, and the memory's validity.
//!
//! Memory is only ever read through raw pointers, never through a Rust
//! reference (JavaScript may write it at any time: see the crate docs).
//!
//! # Examples
//!
//! ```
//! use memmap_core::reduce::{self, Control, Element, Op, Request, Scalar, Strided};
//! // A 2 x 3 float32 array in C order: [[1, 2, 3], [4, 5, 6]].
//! let values: Vec<u8> = [1f32, 2., 3., 4., 5., 6.].iter().flat_map(|v| v.to_ne_bytes()).collect();
//! let (shape, strides) = ([2, 3], [12, 4]);
//! // SAFETY: `values` outlives `input` and nothing writes it meanwhile.
//! let input = unsafe {
//!     Strided::new(values.as_ptr(), values.len(), 0, &shape, &strides, Element::F32, cfg!(target_endian = "little"))
//! }
//! .unwrap();
//! let total = reduce::reduce_scalar(&input, &Request::new(Op::Sum), &Control::default()).unwrap();
//! assert_eq!(total, Scalar::Float(21.0));
//! // The column means (axis 0): float32, written into a buffer of the kept shape.
//! let mut out = [0u8; 12];
//! let request = Request { axes: Some(&[0]), ..Request::new(Op::Mean) };
//! reduce::reduce(&input, &request, &Control::default(), &mut out).unwrap();
//! assert_eq!(f32::from_ne_bytes(out[4..8].try_into().unwrap()), 3.5);
//! ```

mod control;
pub mod element;
mod exec;
mod kernels;
mod plan;

use std::marker::PhantomData;

pub use control::{Control, Tuning, CHECK_BYTES};
pub use element::{f16_to_f32, f64_to_f16, Element, Scalar};

use element::{Bool, C64x2, Half, C32};
use exec::Job;
use kernels::arg::ArgComplex;
use kernels::count::Verdict;
use kernels::extreme::{NatHigh, Ordered};
use kernels::moments::ComplexMoments;
use kernels::prod::{ProdComplex, ProdFloat};
use kernels::sum::{SumComplex, SumFloat};
use kernels::{Arg, Driven, Extreme, Family, Moments, Nonzero, Prod, Sum, SumTime};
use plan::Schedule;

use crate::{Error, ErrorKind, Mapping, Result};

/// A reduction, as numpy names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Sum,
    Prod,
    Mean,
    Min,
    Max,
    ArgMin,
    ArgMax,
    /// Variance, with [`Request::ddof`].
    Var,
    /// Standard deviation, with [`Request::ddof`].
    Std,
    Any,
    All,
    CountNonzero,
}

impl Op {
    pub const ALL: [Op; 12] = [
        Op::Sum,
        Op::Prod,
        Op::Mean,
        Op::Min,
        Op::Max,
        Op::ArgMin,
        Op::ArgMax,
        Op::Var,
        Op::Std,
        Op::Any,
        Op::All,
        Op::CountNonzero,
    ];

    /// numpy's name (`"sum"`, `"argmax"`, `"count_nonzero"`).
    pub fn name(self) -> &'static str {
        match self {
            Op::Sum => "sum",
            Op::Prod => "prod",
            Op::Mean => "mean",
            Op::Min => "min",
            Op::Max => "max",
            Op::ArgMin => "argmin",
            Op::ArgMax => "argmax",
            Op::Var => "var",
            Op::Std => "std",
            Op::Any => "any",
            Op::All => "all",
            Op::CountNonzero => "count_nonzero",
        }
    }

    /// The inverse of [`Op::name`] (also `countNonzero`).
    pub fn parse(name: &str) -> Option<Op> {
        Op::ALL
            .into_iter()
            .find(|op| op.name() == name)
            .or((name == "countNonzero").then_some(Op::CountNonzero))
    }

    /// Whether numpy's method takes a `where` mask (argmin, argmax and
    /// count_nonzero do not).
    pub fn takes_mask(self) -> bool {
        !matches!(self, Op::ArgMin | Op::ArgMax | Op::CountNonzero)
    }

    /// Whether numpy's method takes `initial` (sum, prod, min and max).
    pub fn takes_initial(self) -> bool {
        matches!(self, Op::Sum | Op::Prod | Op::Min | Op::Max)
    }

    /// Whether the operation has no identity: over no elements numpy raises.
    pub fn needs_elements(self) -> bool {
        matches!(self, Op::Min | Op::Max | Op::ArgMin | Op::ArgMax)
    }
}

/// An N-D array of elements in readable memory: element 0's address, the
/// shape, byte strides (any sign, zero where broadcast), kind and byte order.
#[derive(Debug, Clone, Copy)]
pub struct Strided<'a> {
    memory: *const u8,
    byte_offset: usize,
    shape: &'a [usize],
    strides: &'a [isize],
    element: Element,
    little_endian: bool,
}

impl<'a> Strided<'a> {
    /// Describes the array whose element 0 is `byte_offset` bytes into the
    /// `len` bytes at `memory`, checking that every element lies inside them.
    ///
    /// # Safety
    ///
    /// The `len` bytes at `memory` must stay readable while the value is
    /// used. They may change meanwhile (a reduction then sees some mix of
    /// old and new values, never anything else).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] when shape and strides differ in
    /// length or an element lies outside the memory.
    pub unsafe fn new(
        memory: *const u8,
        len: usize,
        byte_offset: usize,
        shape: &'a [usize],
        strides: &'a [isize],
        element: Element,
        little_endian: bool,
    ) -> Result<Strided<'a>> {
        check_reach("the array", len, byte_offset, shape, strides, element.itemsize())?;
        Ok(Strided {
            memory,
            byte_offset,
            shape,
            strides,
            element,
            little_endian,
        })
    }

    pub fn shape(&self) -> &[usize] {
        self.shape
    }

    pub fn element(&self) -> Element {
        self.element
    }

    fn first(&self) -> *const u8 {
        self.memory.wrapping_add(self.byte_offset)
    }

    /// Whether loads must swap bytes.
    fn swap(&self) -> bool {
        self.little_endian != cfg!(target_endian = "little") && self.element.itemsize() > 1
    }
}

/// numpy's `where=`: a bool array of the input's shape (strides 0 along axes
/// the caller broadcast), one byte per element, nonzero counting.
#[derive(Debug, Clone, Copy)]
pub struct Mask<'a> {
    memory: *const u8,
    len: usize,
    byte_offset: usize,
    strides: &'a [isize],
}

impl<'a> Mask<'a> {
    /// The mask whose element 0 is `byte_offset` bytes into the `len` bytes at
    /// `memory`; its shape is the input's (checked by [`reduce`]).
    ///
    /// # Safety
    ///
    /// As [`Strided::new`].
    pub unsafe fn new(memory: *const u8, len: usize, byte_offset: usize, strides: &'a [isize]) -> Mask<'a> {
        Mask {
            memory,
            len,
            byte_offset,
            strides,
        }
    }
}

/// What to compute.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub op: Op,
    /// The axes to reduce, ascending and without repeats (the caller
    /// normalises numpy's negative and duplicate axes); `None` for all.
    /// `Some(&[])` reduces nothing: each output is one element's result.
    pub axes: Option<&'a [usize]>,
    /// numpy's `ddof` for var and std (the divisor is `count - ddof`, at least 0).
    pub ddof: f64,
    /// numpy's `initial` for sum, prod, min and max: the first value of
    /// every output's reduction.
    pub initial: Option<Scalar>,
    /// numpy's `where`.
    pub mask: Option<Mask<'a>>,
}

impl Request<'_> {
    /// `op` over all axes, no ddof, initial or mask.
    pub fn new(op: Op) -> Self {
        Request {
            op,
            axes: None,
            ddof: 0.0,
            initial: None,
            mask: None,
        }
    }
}

/// The shape of the result of reducing `axes` (`None`: all) of `shape`,
/// without numpy's `keepdims` (the caller's business): the kept axes.
pub fn output_shape(shape: &[usize], axes: Option<&[usize]>) -> Vec<usize> {
    match axes {
        None => Vec::new(),
        Some(axes) => (0..shape.len())
            .filter(|a| !axes.contains(a))
            .map(|a| shape[a])
            .collect(),
    }
}

/// Reduces `input` as `request` says, writing the result (one element per
/// output, C order over the kept axes, numpy's result dtype
/// [`Element::result`] in native byte order) into `out`.
///
/// # Errors
///
/// - [`ErrorKind::InvalidArgument`]: axes out of range or not ascending, an
///   `out` of the wrong size, a mask of the wrong rank or outside its
///   memory, a mask, `initial` or `ddof` the operation does not take, min or
///   max with a mask and no `initial` (numpy's rule).
/// - [`ErrorKind::InvalidDtype`]: an operation numpy refuses for the dtype.
/// - [`ErrorKind::ValueOutOfRange`]: an `initial` the result dtype cannot hold.
/// - [`ErrorKind::EmptyReduction`]: min, max, argmin or argmax over no
///   elements for some output (without `initial`).
/// - [`ErrorKind::Aborted`], [`ErrorKind::Closed`]: see [`Control`]. On any
///   error, `out` holds nothing meaningful.
pub fn reduce(input: &Strided, request: &Request, control: &Control, out: &mut [u8]) -> Result<()> {
    reduce_as(input, request, control, out, false)
}

/// [`reduce`] over all axes, returning the one result.
///
/// # Errors
///
/// As [`reduce`]; `InvalidArgument` if `request.axes` keeps an axis longer than 1.
pub fn reduce_scalar(input: &Strided, request: &Request, control: &Control) -> Result<Scalar> {
    let result = input.element.result(request.op)?;
    let mut out = [0u8; 16];
    let n = result.itemsize();
    reduce_as(input, request, control, &mut out[..n], false)?;
    Ok(Scalar::read(result, &out[..n]))
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidArgument, message)
}

/// Checks that every element of a (shape, strides) view at `byte_offset`
/// lies within `len` bytes.
fn check_reach(
    what: &str,
    len: usize,
    byte_offset: usize,
    shape: &[usize],
    strides: &[isize],
    itemsize: usize,
) -> Result<()> {
    if shape.len() != strides.len() {
        return Err(invalid(format!(
            "reduce: {what} has {} dimensions but {} strides",
            shape.len(),
            strides.len()
        )));
    }
    if shape.contains(&0) {
        return Ok(());
    }
    let (low, high) = crate::byte_span(byte_offset, itemsize, shape, strides);
    if low < 0 || high > len as i128 {
        return Err(invalid(format!(
            "reduce: {what}'s bytes {low}..{high} are outside its {len} bytes of memory"
        )));
    }
    Ok(())
}

/// The engine behind [`reduce`]. `wide`: sums of floats, complex (and, for
/// [`Mapping::reduce`]'s float sums, integers) accumulate and are written as
/// float64/complex128, unrounded.
fn reduce_as(input: &Strided, request: &Request, control: &Control, out: &mut [u8], wide: bool) -> Result<()> {
    let op = request.op;
    let element = input.element;
    let ndim = input.shape.len();
    let mut result = element.result(op)?;
    if wide {
        result = if element.is_complex() {
            Element::C128
        } else {
            Element::F64
        };
    }
    let mut reduced = vec![request.axes.is_none(); ndim];
    if let Some(axes) = request.axes {
        for (i, &a) in axes.iter().enumerate() {
            if a >= ndim || (i > 0 && a <= axes[i - 1]) {
                return Err(invalid(format!(
                    "reduce: axes {axes:?} must be ascending, distinct and below the {ndim} dimensions"
                )));
            }
            reduced[a] = true;
        }
    }
    if request.ddof != 0.0 && !matches!(op, Op::Var | Op::Std) || !request.ddof.is_finite() {
        return Err(invalid(format!(
            "reduce: ddof {} is not accepted by {} (var and std take a finite ddof)",
            request.ddof,
            op.name()
        )));
    }
    if request.initial.is_some() && !op.takes_initial() {
        return Err(invalid(format!(
            "reduce: {} takes no initial (sum, prod, min and max do)",
            op.name()
        )));
    }
    let mask_strides = match &request.mask {
        None => None,
        Some(mask) => {
            if !op.takes_mask() {
                return Err(invalid(format!("reduce: numpy's {} takes no where mask", op.name())));
            }
            if matches!(op, Op::Min | Op::Max) && request.initial.is_none() {
                return Err(invalid(format!(
                    "reduce: {} with a where mask needs an initial value (numpy: the reduction has no identity)",
                    op.name()
                )));
            }
            check_reach(
                "the where mask",
                mask.len,
                mask.byte_offset,
                input.shape,
                mask.strides,
                1,
            )?;
            Some(mask.strides)
        }
    };
    let g = plan::geometry(
        input.shape,
        input.strides,
        mask_strides,
        &reduced,
        !op_indexed(op, element),
    )?;
    let expected = g.outputs.checked_mul(result.itemsize());
    if expected != Some(out.len()) {
        return Err(invalid(format!(
            "reduce: the output buffer is {} bytes; {} outputs of {} need {}",
            out.len(),
            g.outputs,
            result.code(),
            g.outputs as u128 * result.itemsize() as u128
        )));
    }
    control.check()?;
    let context = Context {
        input,
        request,
        control,
        out,
        result,
        geometry: g,
    };
    let mask_first = request.mask.map(|m| {
        m.memory
            .wrapping_add(m.byte_offset)
            .wrapping_offset(context.geometry.mask_first)
    });
    dispatch(&context, mask_first.unwrap_or(std::ptr::null()), wide)?;
    // A reading that overlapped a close may have seen placeholder pages.
    control.check()
}

/// Whether `op` over `element` runs an indexed kernel (argmin/argmax, and
/// complex min/max, which must find the first NaN by position).
fn op_indexed(op: Op, element: Element) -> bool {
    matches!(op, Op::ArgMin | Op::ArgMax) || (element.is_complex() && matches!(op, Op::Min | Op::Max))
}

struct Context<'a, 'b> {
    input: &'a Strided<'b>,
    request: &'a Request<'b>,
    control: &'a Control<'b>,
    out: &'a mut [u8],
    result: Element,
    geometry: plan::Geometry,
}

impl Context<'_, '_> {
    fn initial_bits(&self) -> Result<Option<u64>> {
        let Some(initial) = self.request.initial else {
            return Ok(None);
        };
        let out_of_range = || {
            Error::new(
                ErrorKind::ValueOutOfRange,
                format!(
                    "{}(): initial {initial} does not fit the result dtype {}",
                    self.request.op.name(),
                    self.result.name()
                ),
            )
        };
        // numpy casts initial to a bool result as truth (NaN and -1 are
        // True), with no range to leave.
        if self.result == Element::Bool {
            return match initial {
                Scalar::Bool(b) => Ok(Some(b as u64)),
                Scalar::Int(v) => Ok(Some((v != 0) as u64)),
                Scalar::UInt(v) => Ok(Some((v != 0) as u64)),
                Scalar::Float(v) => Ok(Some((v != 0.0) as u64)),
                _ => Err(out_of_range()),
            };
        }
        if matches!(initial, Scalar::Float(v) if v.fract() != 0.0 && self.result.is_time()) {
            // numpy converts no fraction to a datetime or timedelta.
            return Err(out_of_range());
        }
        let (signed, bits): (bool, u64) = match initial {
            Scalar::Bool(b) => (false, b as u64),
            Scalar::Int(v) => (v < 0, v as u64),
            Scalar::UInt(v) => (false, v),
            // numpy truncates a float toward zero (2.5 is 2, -0.9 is 0), then
            // range-checks the whole number, converted exactly (2^63 must not
            // saturate to i64::MAX on its way to a uint64).
            Scalar::Float(v) if (0.0..18_446_744_073_709_551_616.0).contains(&v.trunc()) => (false, v.trunc() as u64),
            Scalar::Float(v) if (-9_223_372_036_854_775_808.0..0.0).contains(&v.trunc()) => {
                (true, v.trunc() as i64 as u64)
            }
            _ => return Err(out_of_range()),
        };
        let value = if signed { bits as i64 as i128 } else { bits as i128 };
        let (low, high): (i128, i128) = match self.result {
            Element::I8 => (i8::MIN as i128, i8::MAX as i128),
            Element::U8 => (0, u8::MAX as i128),
            Element::I16 => (i16::MIN as i128, i16::MAX as i128),
            Element::U16 => (0, u16::MAX as i128),
            Element::I32 => (i32::MIN as i128, i32::MAX as i128),
            Element::U32 => (0, u32::MAX as i128),
            Element::U64 => (0, u64::MAX as i128),
            _ => (i64::MIN as i128, i64::MAX as i128),
        };
        if value < low || value > high {
            return Err(out_of_range());
        }
        Ok(Some(bits))
    }

    /// `initial` as numpy casts it to a float result: rounded once to the
    /// result's precision (0.9 as a float32 prod's initial is 0.8999999762).
    fn initial_float(&self) -> Result<Option<f64>> {
        let round = |v: f64| match self.result {
            Element::F32 | Element::C64 => v as f32 as f64,
            Element::F16 => element::f16_to_f32(element::f64_to_f16(v)) as f64,
            _ => v,
        };
        Ok(self.initial_float_exact()?.map(round))
    }

    fn initial_float_exact(&self) -> Result<Option<f64>> {
        Ok(match self.request.initial {
            None => None,
            Some(Scalar::Float(v)) => Some(v),
            Some(Scalar::Int(v)) => Some(v as f64),
            Some(Scalar::UInt(v)) => Some(v as f64),
            Some(Scalar::Bool(v)) => Some(v as u8 as f64),
            Some(Scalar::Complex(re, 0.0)) => Some(re),
            Some(other) => {
                return Err(Error::new(
                    ErrorKind::ValueOutOfRange,
                    format!(
                        "{}(): initial {other} is complex; the result dtype {} is real",
                        self.request.op.name(),
                        self.result.name()
                    ),
                ))
            }
        })
    }

    fn initial_complex(&self) -> Result<Option<(f64, f64)>> {
        Ok(match self.request.initial {
            Some(Scalar::Complex(re, im)) if self.result == Element::C64 => Some((re as f32 as f64, im as f32 as f64)),
            Some(Scalar::Complex(re, im)) => Some((re, im)),
            _ => self.initial_float()?.map(|re| (re, 0.0)),
        })
    }

    /// The ordering key of `initial` for min/max over `T`.
    fn initial_key<T: Ordered>(&self) -> Result<Option<T::K>> {
        if self.input.element.is_float() {
            return Ok(self.initial_float()?.map(|v| T::key_of(v, 0)));
        }
        Ok(self.initial_bits()?.map(|bits| T::key_of(0.0, bits)))
    }

    /// Whether the op only asks "is it zero?" of an element whose value is
    /// zero exactly when all its bytes are: an integer, bool or datetime.
    /// Byte order then does not matter and loads need no swap (a float's
    /// -0.0 is zero with a byte set, so floats still swap).
    fn bytes_decide_zero(&self) -> bool {
        matches!(self.request.op, Op::Any | Op::All | Op::CountNonzero)
            && matches!(
                self.input.element,
                Element::Bool
                    | Element::I8
                    | Element::U8
                    | Element::I16
                    | Element::U16
                    | Element::I32
                    | Element::U32
                    | Element::I64
                    | Element::U64
                    | Element::Datetime
                    | Element::Timedelta
            )
    }

    /// Runs `family` over the whole request, without a mask.
    fn run<F: Family>(&self, family: F) -> Result<()> {
        self.run_masked(family, std::ptr::null())
    }

    /// Runs `family` over the whole request; `mask_first` is the mask's
    /// first visited element, or null.
    fn run_masked<F: Family>(&self, family: F, mask_first: *const u8) -> Result<()> {
        let g = &self.geometry;
        let out = self.out.as_ptr() as *mut u8;
        let out_size = self.result.itemsize();
        if g.per_output == 0 {
            // Every output reduces no elements: the identity, or numpy's error,
            // which numpy raises even when there are no outputs either.
            if self.request.op.needs_elements() && self.request.initial.is_none() {
                return Err(Error::new(
                    ErrorKind::EmptyReduction,
                    format!(
                        "{}: zero-size reduction (shape {:?}) with no identity",
                        self.request.op.name(),
                        self.input.shape
                    ),
                ));
            }
            let empty = family.init();
            for k in 0..g.outputs {
                // SAFETY: `out` holds `outputs` results (checked).
                unsafe { family.finish(&empty, out.add(k * out_size)) };
            }
            return Ok(());
        }
        if g.outputs == 0 {
            return Ok(());
        }
        let schedule = Schedule::new(
            g.clone(),
            self.input.element.itemsize(),
            size_of::<F::Acc>(),
            self.control.tuning.unit_bytes() * F::UNIT_SCALE,
            self.control.tuning.acc_bytes(),
        );
        let job = Job {
            family: &family,
            schedule: &schedule,
            first: self.input.first().wrapping_offset(g.first),
            mask_first,
            swap: self.input.swap() && !self.bytes_decide_zero(),
            swap_unit: self.input.element.swap_unit(),
            out,
            out_size,
        };
        job.run(self.control)
    }
}

/// Picks the kernel family for the operation and element kind and runs it.
fn dispatch(c: &Context, mask: *const u8, wide: bool) -> Result<()> {
    let op = c.request.op;
    let result = c.result;
    macro_rules! real {
        ($go:ident) => {
            match c.input.element {
                Element::Bool => $go!(Bool),
                Element::I8 => $go!(i8),
                Element::U8 => $go!(u8),
                Element::I16 => $go!(i16),
                Element::U16 => $go!(u16),
                Element::I32 => $go!(i32),
                Element::U32 => $go!(u32),
                Element::I64 | Element::Datetime | Element::Timedelta => $go!(i64),
                Element::U64 => $go!(u64),
                Element::F16 => $go!(Half),
                Element::F32 => $go!(f32),
                Element::F64 => $go!(f64),
                Element::C64 | Element::C128 => unreachable!("complex kinds are dispatched apart"),
            }
        };
    }
    macro_rules! complex {
        ($go:ident) => {
            match c.input.element {
                Element::C64 => $go!(C32),
                _ => $go!(C64x2),
            }
        };
    }
    let element = c.input.element;
    let int_like = !element.is_float() && !element.is_complex();
    match op {
        Op::Sum | Op::Mean if element == Element::Timedelta && !wide => c.run_masked(
            Driven(SumTime {
                mean: op == Op::Mean,
                initial: c.initial_bits()?.map(|b| b as i64),
            }),
            mask,
        ),
        Op::Sum if int_like && !wide => {
            let initial = c.initial_bits()?.map(|b| {
                if result == Element::U64 {
                    Scalar::UInt(b)
                } else {
                    Scalar::Int(b as i64)
                }
            });
            macro_rules! go {
                ($t:ty) => {
                    c.run_masked(
                        Driven(Sum::<$t> {
                            result,
                            initial,
                            _t: PhantomData,
                        }),
                        mask,
                    )
                };
            }
            real!(go)
        }
        Op::Sum | Op::Mean if element.is_complex() => {
            let initial = c.initial_complex()?;
            let mean = op == Op::Mean;
            macro_rules! go {
                ($t:ty) => {
                    c.run_masked(
                        Driven(SumComplex::<$t> {
                            result,
                            mean,
                            initial,
                            _t: PhantomData,
                        }),
                        mask,
                    )
                };
            }
            complex!(go)
        }
        Op::Sum | Op::Mean => {
            let initial = c.initial_float()?;
            let mean = op == Op::Mean;
            macro_rules! go {
                ($t:ty) => {
                    c.run_masked(
                        Driven(SumFloat::<$t> {
                            result,
                            mean,
                            initial,
                            _t: PhantomData,
                        }),
                        mask,
                    )
                };
            }
            real!(go)
        }
        Op::Prod if element.is_complex() => {
            let initial = c.initial_complex()?;
            macro_rules! go {
                ($t:ty) => {
                    c.run_masked(
                        Driven(ProdComplex::<$t> {
                            result,
                            initial,
                            _t: PhantomData,
                        }),
                        mask,
                    )
                };
            }
            complex!(go)
        }
        Op::Prod if int_like => {
            let initial = c.initial_bits()?.map(Scalar::UInt);
            macro_rules! go {
                ($t:ty) => {
                    c.run_masked(
                        Driven(Prod::<$t> {
                            result,
                            initial,
                            _t: PhantomData,
                        }),
                        mask,
                    )
                };
            }
            real!(go)
        }
        Op::Prod => {
            let initial = c.initial_float()?;
            macro_rules! go {
                ($t:ty) => {
                    c.run_masked(
                        Driven(ProdFloat::<$t> {
                            result,
                            initial,
                            _t: PhantomData,
                        }),
                        mask,
                    )
                };
            }
            real!(go)
        }
        Op::Min | Op::Max if element.is_complex() => {
            let initial = c.initial_complex()?;
            let value = Some(result);
            macro_rules! go {
                ($t:ty) => {
                    if op == Op::Max {
                        c.run_masked(
                            Driven(ArgComplex::<$t, true> {
                                value,
                                initial,
                                _t: PhantomData,
                            }),
                            mask,
                        )
                    } else {
                        c.run_masked(
                            Driven(ArgComplex::<$t, false> {
                                value,
                                initial,
                                _t: PhantomData,
                            }),
                            mask,
                        )
                    }
                };
            }
            complex!(go)
        }
        Op::Max if element.is_time() => {
            let initial = c.initial_key::<NatHigh>()?;
            c.run_masked(Driven(Extreme::<NatHigh, true> { result, initial }), mask)
        }
        Op::Min | Op::Max => {
            macro_rules! go {
                ($t:ty) => {
                    if op == Op::Max {
                        let initial = c.initial_key::<$t>()?;
                        c.run_masked(Driven(Extreme::<$t, true> { result, initial }), mask)
                    } else {
                        let initial = c.initial_key::<$t>()?;
                        c.run_masked(Driven(Extreme::<$t, false> { result, initial }), mask)
                    }
                };
            }
            real!(go)
        }
        Op::ArgMin | Op::ArgMax if element.is_complex() => {
            macro_rules! go {
                ($t:ty) => {
                    if op == Op::ArgMax {
                        c.run(Driven(ArgComplex::<$t, true> {
                            value: None,
                            initial: None,
                            _t: PhantomData,
                        }))
                    } else {
                        c.run(Driven(ArgComplex::<$t, false> {
                            value: None,
                            initial: None,
                            _t: PhantomData,
                        }))
                    }
                };
            }
            complex!(go)
        }
        Op::ArgMax if element.is_time() => c.run(Arg::<NatHigh, true>(PhantomData)),
        Op::ArgMin | Op::ArgMax => {
            macro_rules! go {
                ($t:ty) => {
                    if op == Op::ArgMax {
                        c.run(Arg::<$t, true>(PhantomData))
                    } else {
                        c.run(Arg::<$t, false>(PhantomData))
                    }
                };
            }
            real!(go)
        }
        Op::Var | Op::Std => {
            let (ddof, sqrt) = (c.request.ddof, op == Op::Std);
            if element.is_complex() {
                macro_rules! go {
                    ($t:ty) => {
                        c.run_masked(
                            ComplexMoments(Moments::<$t> {
                                result,
                                ddof,
                                sqrt,
                                _t: PhantomData,
                            }),
                            mask,
                        )
                    };
                }
                complex!(go)
            } else {
                macro_rules! go {
                    ($t:ty) => {
                        c.run_masked(
                            Moments::<$t> {
                                result,
                                ddof,
                                sqrt,
                                _t: PhantomData,
                            },
                            mask,
                        )
                    };
                }
                real!(go)
            }
        }
        Op::Any | Op::All | Op::CountNonzero => {
            let verdict = match op {
                Op::Any => Verdict::Any,
                Op::All => Verdict::All,
                _ => Verdict::Count,
            };
            macro_rules! go {
                ($t:ty) => {
                    c.run_masked(
                        Nonzero::<$t> {
                            verdict,
                            _t: PhantomData,
                        },
                        mask,
                    )
                };
            }
            match element {
                Element::C64 => go!(C32),
                Element::C128 => go!(C64x2),
                _ => real!(go),
            }
        }
    }
}

// ----- The whole-view API the binding uses today ------------------------

/// The reductions [`Mapping::reduce`] offers (the binding's current API).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduction {
    Sum,
    /// The sum accumulated in `f64` whatever the dtype: numpy's `mean` of
    /// integers (`np.add.reduce(a, dtype=float64)`), which never wraps.
    FloatSum,
    Min,
    Max,
}

/// A view's geometry: element 0 at `byte_offset` from the start of the map,
/// byte strides per axis (negative allowed).
#[derive(Debug, Clone)]
pub struct View {
    pub byte_offset: usize,
    pub shape: Vec<usize>,
    pub strides: Vec<isize>,
}

impl Mapping {
    /// Reduces every element of `view` on the reduction engine. Float and
    /// complex sums come back unrounded in f64 (float32 values accumulate in
    /// float64, as the README promises); `None` for min/max of an empty view
    /// (numpy raises: the reduction has no identity).
    ///
    /// # Errors
    ///
    /// A view that reaches outside the map, or whose shape and strides
    /// disagree; [`ErrorKind::Closed`] if the map is closed meanwhile.
    pub fn reduce(&self, element: Element, little_endian: bool, view: &View, op: Reduction) -> Result<Option<Scalar>> {
        self.reduce_until(element, little_endian, view, op, None)
    }

    /// [`Mapping::reduce`] that stops with [`ErrorKind::Aborted`] within one
    /// check once `abort` is set (the binding's async work whose JavaScript
    /// thread went away).
    ///
    /// # Errors
    ///
    /// As [`Mapping::reduce`], and [`ErrorKind::Aborted`].
    pub fn reduce_until(
        &self,
        element: Element,
        little_endian: bool,
        view: &View,
        op: Reduction,
        abort: Option<&std::sync::atomic::AtomicBool>,
    ) -> Result<Option<Scalar>> {
        // SAFETY: the map's bytes stay mapped while `self` is borrowed (a
        // close swaps them for zero pages, still readable; `alive` below
        // turns such a reading into an error).
        let input = unsafe {
            Strided::new(
                self.as_ptr(),
                self.len(),
                view.byte_offset,
                &view.shape,
                &view.strides,
                element,
                little_endian,
            )?
        };
        let (request, wide) = match op {
            Reduction::Sum => (Request::new(Op::Sum), element.is_float() || element.is_complex()),
            Reduction::FloatSum => (Request::new(Op::Sum), true),
            Reduction::Min => (Request::new(Op::Min), false),
            Reduction::Max => (Request::new(Op::Max), false),
        };
        let alive = || !self.is_closed();
        let control = Control {
            alive: Some(&alive),
            abort,
            ..Control::default()
        };
        let result = if wide {
            if element.is_complex() {
                Element::C128
            } else {
                Element::F64
            }
        } else {
            element.result(request.op)?
        };
        let mut out = [0u8; 16];
        let n = result.itemsize();
        match reduce_as(&input, &request, &control, &mut out[..n], wide) {
            Ok(()) => Ok(Some(Scalar::read(result, &out[..n]))),
            Err(e) if e.kind() == ErrorKind::EmptyReduction => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests;

//! Async work, run on the library's threads (pool.rs): reductions, flushes
//! and the end of `closeAsync()`. A task holds a share of
//! the mapping, so `close()` meanwhile cannot unmap the pages under it; but
//! `close()` may swap them for zero pages (the placeholder, see buffers.rs).
//! `close()` marks the map closed before it swaps, so a task that finds the
//! map open after its work read only the file's own pages; one that finds it
//! closed rejects with ERR_MEMMAP_CLOSED instead of returning what it read.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use memmap_core::{Mapping, Reduction, Scalar, View};
use napi::bindgen_prelude::{BigInt, Env, Task};
use napi_derive::napi;

use crate::buffers::Closing;
use crate::errors::{coded, geometry, rejection, to_js_error, to_usize, Code, Result};
use crate::pool::{Lane, Pooled};

/// numpy's reductions, as the kernels know them.
#[napi(string_enum)]
#[derive(Debug, Clone, Copy)]
pub enum ReduceOp {
    #[napi(value = "sum")]
    Sum,
    /// The sum accumulated in float64 whatever the dtype (numpy's mean).
    #[napi(value = "fsum")]
    FloatSum,
    #[napi(value = "min")]
    Min,
    #[napi(value = "max")]
    Max,
}

impl From<ReduceOp> for Reduction {
    fn from(op: ReduceOp) -> Reduction {
        match op {
            ReduceOp::Sum => Reduction::Sum,
            ReduceOp::FloatSum => Reduction::FloatSum,
            ReduceOp::Min => Reduction::Min,
            ReduceOp::Max => Reduction::Max,
        }
    }
}

/// The element kind a reduction reads: numpy's kind + itemsize code, as in a
/// dtype's `str` without the byte order (`'f4'`, `'c16'`).
#[napi(string_enum)]
#[derive(Debug, Clone, Copy)]
pub enum Element {
    #[napi(value = "b1")]
    Bool,
    #[napi(value = "i1")]
    I8,
    #[napi(value = "u1")]
    U8,
    #[napi(value = "i2")]
    I16,
    #[napi(value = "u2")]
    U16,
    #[napi(value = "i4")]
    I32,
    #[napi(value = "u4")]
    U32,
    #[napi(value = "i8")]
    I64,
    #[napi(value = "u8")]
    U64,
    #[napi(value = "f2")]
    F16,
    #[napi(value = "f4")]
    F32,
    #[napi(value = "f8")]
    F64,
    #[napi(value = "c8")]
    C64,
    #[napi(value = "c16")]
    C128,
    /// datetime64 of any unit (its int64 counts, NaT the smallest).
    #[napi(value = "M8")]
    Datetime,
    /// timedelta64 of any unit.
    #[napi(value = "m8")]
    Timedelta,
}

impl From<Element> for memmap_core::Element {
    fn from(element: Element) -> memmap_core::Element {
        use memmap_core::Element as Core;
        match element {
            Element::Bool => Core::Bool,
            Element::I8 => Core::I8,
            Element::U8 => Core::U8,
            Element::I16 => Core::I16,
            Element::U16 => Core::U16,
            Element::I32 => Core::I32,
            Element::U32 => Core::U32,
            Element::I64 => Core::I64,
            Element::U64 => Core::U64,
            Element::F16 => Core::F16,
            Element::F32 => Core::F32,
            Element::F64 => Core::F64,
            Element::C64 => Core::C64,
            Element::C128 => Core::C128,
            Element::Datetime => Core::Datetime,
            Element::Timedelta => Core::Timedelta,
        }
    }
}

/// What to reduce: the op, the element kind, byte order, and the view.
#[napi(object)]
pub struct ReduceRequest {
    pub op: ReduceOp,
    pub element: Element,
    pub little_endian: bool,
    pub byte_offset: f64,
    pub shape: Vec<f64>,
    pub strides: Vec<f64>,
}

/// A reduction's value, in numpy's result type: 64-bit integers as BigInt
/// (exact), floats as numbers, complex as two numbers, bool for bool min/max.
#[napi(discriminant = "kind", discriminant_case = "lowercase")]
pub enum ReduceValue {
    Bool { value: bool },
    Int { value: BigInt },
    Float { value: f64 },
    Complex { re: f64, im: f64 },
}

impl From<Scalar> for ReduceValue {
    fn from(scalar: Scalar) -> ReduceValue {
        match scalar {
            Scalar::Bool(value) => ReduceValue::Bool { value },
            Scalar::Int(i) => ReduceValue::Int { value: i.into() },
            Scalar::UInt(u) => ReduceValue::Int { value: u.into() },
            Scalar::Float(value) => ReduceValue::Float { value },
            Scalar::Complex(re, im) => ReduceValue::Complex { re, im },
        }
    }
}

pub struct ReduceTask {
    mapping: Arc<Mapping>,
    /// The map's shrink count when the task was made: a shrink meanwhile may
    /// have put zero pages under what it read.
    shrinks: u64,
    element: memmap_core::Element,
    little_endian: bool,
    op: Reduction,
    view: View,
    /// Set when the env that asked for it goes away (pool.rs): the work stops.
    abort: Arc<AtomicBool>,
}

impl ReduceTask {
    pub fn new(mapping: Arc<Mapping>, request: ReduceRequest) -> Result<ReduceTask> {
        let (shape, strides) = geometry(&request.shape, &request.strides)?;
        let view = View {
            byte_offset: to_usize(request.byte_offset, "byteOffset")?,
            shape,
            strides,
        };
        Ok(ReduceTask {
            shrinks: mapping.shrinks(),
            mapping,
            element: request.element.into(),
            little_endian: request.little_endian,
            op: request.op.into(),
            view,
            abort: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The reduction, or ERR_MEMMAP_CLOSED if the map was closed before it
    /// ended (what it read may have been the placeholder's zeros).
    pub fn run(&self) -> Result<Option<ReduceValue>> {
        self.compute_scalar().map(|value| value.map(ReduceValue::from))
    }

    fn compute_scalar(&self) -> Result<Option<Scalar>> {
        // Closed or shrunk first, whatever the reduction gave: a view that no
        // longer fits in a shrunk map fails the engine's bounds check, and
        // that is the shrink's ERR_MEMMAP_CLOSED, not a bad argument.
        let value = self
            .mapping
            .reduce_until(self.element, self.little_endian, &self.view, self.op, Some(&self.abort));
        if self.mapping.is_closed() {
            return Err(coded(
                Code::Closed,
                "the memmap was closed while this reduction ran: its result is refused, because close() \
                 may have swapped the pages it read for zeros",
            ));
        }
        if self.mapping.shrinks() != self.shrinks {
            return Err(coded(
                Code::Closed,
                "the memmap shrank while this reduction ran: its result is refused, because resize() may have \
                 swapped pages it read for zeros",
            ));
        }
        value.map_err(to_js_error)
    }
}

impl Pooled for ReduceTask {
    const LANE: Lane = Lane::Work;

    fn abort_flag(&self) -> Option<Arc<AtomicBool>> {
        Some(self.abort.clone())
    }
}

impl Task for ReduceTask {
    type Output = Result<Option<Scalar>>;
    type JsValue = Option<ReduceValue>;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        Ok(self.compute_scalar())
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
        match output {
            Ok(value) => Ok(value.map(ReduceValue::from)),
            Err(error) => Err(rejection(env, error)),
        }
    }
}

pub struct FlushTask {
    mapping: Arc<Mapping>,
    start: usize,
    len: usize,
    /// The map's shrinks when the flush was asked for.
    shrinks: u64,
}

impl FlushTask {
    pub fn new(mapping: Arc<Mapping>, start: usize, len: usize) -> FlushTask {
        FlushTask {
            shrinks: mapping.shrinks(),
            mapping,
            start,
            len,
        }
    }
}

impl Pooled for FlushTask {
    const LANE: Lane = Lane::Urgent;
}

impl Task for FlushTask {
    type Output = Result<()>;
    type JsValue = ();

    fn compute(&mut self) -> napi::Result<Self::Output> {
        // A map that shrank since: the bytes past its new end are gone by
        // design, so what is left of the range is flushed; a range wholly
        // past it belonged to a view the shrink closed.
        let (mut start, mut len) = (self.start, self.len);
        if self.mapping.shrinks() != self.shrinks {
            let end = (start + len).min(self.mapping.len());
            if start >= end && len > 0 {
                return Ok(Err(coded(
                    Code::Closed,
                    "the memmap shrank before this flush ran, cutting every byte of the view it was asked for",
                )));
            }
            (start, len) = (start.min(end), end.saturating_sub(start));
        }
        let mut flushed = self.mapping.flush_range_in_background(start, len);
        // Cut while it ran (a piece past the new end failed): what is left of
        // the range is flushed again from its start (pages flushed already
        // are clean, so that costs little), as a flush asked after the shrink
        // would; a range wholly past the new end belonged to a view the
        // shrink closed. Each round follows a shrink, so this ends.
        let mut shrinks = self.shrinks;
        while flushed.is_err() && self.mapping.shrinks() != shrinks && start + len > self.mapping.len() {
            shrinks = self.mapping.shrinks();
            let end = (start + len).min(self.mapping.len());
            if start >= end {
                return Ok(Err(coded(
                    Code::Closed,
                    "the memmap shrank while this flush ran, cutting every byte of the view it was asked for",
                )));
            }
            len = end - start;
            flushed = self.mapping.flush_range_in_background(start, len);
        }
        let flushed = flushed.map_err(to_js_error);
        // A closed map skips the flush: close() flushed it and reported the
        // outcome itself, which this task cannot vouch for.
        Ok(flushed.and_then(|()| match self.mapping.is_closed() {
            true => Err(coded(
                Code::Closed,
                "the memmap was closed before this flush finished: close() flushed it instead, and \
                 reported any failure",
            )),
            false => Ok(()),
        }))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<()> {
        output.map_err(|error| rejection(env, error))
    }
}

/// `closeAsync()`'s flush and release, after `detach` on the JavaScript
/// thread took the map out of the table and detached its buffers.
pub struct CloseTask {
    /// `None` for a map closed already: the Promise resolves.
    closing: Option<Closing>,
}

impl CloseTask {
    pub fn new(closing: Closing) -> CloseTask {
        CloseTask { closing: Some(closing) }
    }

    pub fn none() -> CloseTask {
        CloseTask { closing: None }
    }
}

impl Pooled for CloseTask {
    const LANE: Lane = Lane::Urgent;
}

impl Task for CloseTask {
    type Output = Result<()>;
    type JsValue = ();

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let Some(closing) = &self.closing else {
            return Ok(Ok(()));
        };
        // The map is closed either way; the first failure is the one reported.
        let flushed = closing.flush_in_background();
        let closed = closing.finish();
        Ok(flushed.and(closed))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<()> {
        output.map_err(|error| rejection(env, error))
    }
}

//! numpy's reductions along axes (issue 13): the adapters between a request
//! from `ts/reduce.ts` and the core's engine (`memmap_core::reduce`), over a
//! map or over bytes in the JavaScript heap, on the calling thread or on the
//! library's threads (pool.rs) with an abort flag and a progress counter.
//!
//! The rule for JavaScript memory: a synchronous reduction reads the caller's
//! bytes in place (no JavaScript runs until it returns, so nothing can detach
//! or write them). An asynchronous one copies the bytes the array (and the
//! mask) reaches when it is called, and reads only its copy: JavaScript may
//! transfer, detach or write the buffer while the work runs, and the result is
//! the array's as it was at the call. Maps are never copied: the task holds a
//! share of the mapping, and `alive` turns a close or a shrink during the work
//! into ERR_MEMMAP_CLOSED (see tasks.rs).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use memmap_core::reduce::{self, Control, Mask, Op, Request, Scalar, Strided};
use memmap_core::Mapping;
use napi::bindgen_prelude::{BigInt, Buffer, BufferSlice, Env, Task};
use napi_derive::napi;

use crate::buffers::{owned_buffer, BufferValue};
use crate::errors::{coded, geometry, rejection, to_isize, to_js_error, to_usize, Code, Result};
use crate::pool::{Lane, Pooled};
use crate::tasks::Element;

/// numpy's `where=` as the binding takes it: one byte per element (nonzero
/// counts), element 0 at `byteOffset` of `bytes`, byte strides over the
/// array's shape (0 where broadcast).
#[napi(object)]
pub struct WhereMask {
    pub bytes: Buffer,
    pub byte_offset: f64,
    pub strides: Vec<f64>,
}

/// A reduction along axes: numpy's operation name (`'sum'`, `'argmax'`,
/// `'count_nonzero'`...), the array (element kind, byte order, geometry in
/// bytes), the axes (ascending, distinct; absent for all), and numpy's
/// `ddof`, `initial` (a number, or a bigint for integer results) and `where`.
#[napi(object)]
pub struct AxisReduceRequest {
    pub op: String,
    pub element: Element,
    pub little_endian: bool,
    pub byte_offset: f64,
    pub shape: Vec<f64>,
    pub strides: Vec<f64>,
    pub axes: Option<Vec<u32>>,
    pub ddof: Option<f64>,
    pub initial: Option<f64>,
    pub initial_int: Option<BigInt>,
    pub mask: Option<WhereMask>,
}

/// What an async reduction is watched and stopped through: `abort()` makes
/// it reject with ERR_MEMMAP_ABORTED within one check (1 MiB of input per
/// thread), `done()` is the elements reduced so far (polled for progress).
#[napi]
pub struct ReduceControl {
    abort: Arc<AtomicBool>,
    progress: Arc<AtomicU64>,
    /// The inputs of the tasks made with this control, for `abort()` to let
    /// go of those still waiting for a thread: a queued task may wait as long
    /// as the longest reduction ahead of it, and until it starts it holds a
    /// share of the mapping (the address range stays reserved past close())
    /// or its copy of an in-memory array's bytes. Weak: a task that ended
    /// frees its inputs whatever becomes of the control.
    waiting: Mutex<Vec<Weak<Mutex<Option<Inputs>>>>>,
}

impl Default for ReduceControl {
    fn default() -> Self {
        Self::new()
    }
}

#[napi]
impl ReduceControl {
    #[napi(constructor)]
    pub fn new() -> ReduceControl {
        ReduceControl {
            abort: Arc::new(AtomicBool::new(false)),
            progress: Arc::new(AtomicU64::new(0)),
            waiting: Mutex::new(Vec::new()),
        }
    }

    /// Asks the reduction to stop: a running one stops within one check; one
    /// still queued lets go of its inputs now and, when a thread takes it,
    /// rejects at once without reading anything.
    #[napi]
    pub fn abort(&self) {
        // The flag first: a task that took its inputs just before the slots
        // are emptied below sees it at its first check.
        self.abort.store(true, Ordering::Relaxed);
        let waiting = std::mem::take(&mut *self.waiting.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        for slot in waiting.iter().filter_map(Weak::upgrade) {
            // Empty for a task already running (it took its inputs): nothing
            // it reads is dropped under it.
            let inputs = slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
            drop(inputs);
        }
    }

    /// Elements reduced so far (summed over threads, updated once per check).
    #[napi]
    pub fn done(&self) -> f64 {
        self.progress.load(Ordering::Relaxed) as f64
    }
}

/// A request parsed once into plain Rust values.
struct Parsed {
    op: Op,
    element: memmap_core::Element,
    little_endian: bool,
    byte_offset: usize,
    shape: Vec<usize>,
    strides: Vec<isize>,
    axes: Option<Vec<usize>>,
    ddof: f64,
    initial: Option<Scalar>,
    /// The mask's byte offset and strides (its bytes are kept apart).
    mask: Option<(usize, Vec<isize>)>,
    /// Bytes of the result.
    out_len: usize,
}

fn parse(request: &AxisReduceRequest) -> Result<Parsed> {
    let op = Op::parse(&request.op)
        .ok_or_else(|| coded(Code::InvalidArg, format!("no reduction named {:?}", request.op)))?;
    let element: memmap_core::Element = request.element.into();
    let (shape, strides) = geometry(&request.shape, &request.strides)?;
    // u32 at the boundary (napi refuses negatives); the engine checks the range.
    let axes = request
        .axes
        .as_ref()
        .map(|axes| axes.iter().map(|&a| a as usize).collect::<Vec<_>>());
    let initial = match (&request.initial_int, request.initial) {
        (Some(big), _) => Some(big_scalar(big)?),
        (None, Some(v)) => Some(Scalar::Float(v)),
        (None, None) => None,
    };
    let mask = match &request.mask {
        None => None,
        Some(mask) => Some((
            to_usize(mask.byte_offset, "where byteOffset")?,
            mask.strides
                .iter()
                .map(|&s| to_isize(s, "where stride"))
                .collect::<Result<Vec<_>>>()?,
        )),
    };
    let result = element.result(op).map_err(to_js_error)?;
    let outputs: usize = reduce::output_shape(&shape, axes.as_deref()).iter().product();
    let out_len = outputs
        .checked_mul(result.itemsize())
        .ok_or_else(|| coded(Code::InvalidArg, "the result of the reduction is too large"))?;
    Ok(Parsed {
        op,
        element,
        little_endian: request.little_endian,
        byte_offset: to_usize(request.byte_offset, "byteOffset")?,
        shape,
        strides,
        axes,
        ddof: request.ddof.unwrap_or(0.0),
        initial,
        mask,
        out_len,
    })
}

/// A bigint `initial` as the engine's scalar (exact over int64 and uint64).
fn big_scalar(big: &BigInt) -> Result<Scalar> {
    // The magnitude from the words (napi's uint64 reading of a negative
    // BigInt is its two's complement, never lossless).
    let value = big.words.first().copied().unwrap_or(0);
    if big.words.iter().skip(1).any(|&word| word != 0) {
        return Err(coded(
            Code::Core(memmap_core::ErrorKind::ValueOutOfRange),
            "initial does not fit 64 bits",
        ));
    }
    if big.sign_bit && value != 0 {
        if value > 1u64 << 63 {
            return Err(coded(
                Code::Core(memmap_core::ErrorKind::ValueOutOfRange),
                "initial is below the smallest int64",
            ));
        }
        return Ok(Scalar::Int((value as i64).wrapping_neg()));
    }
    Ok(if value <= i64::MAX as u64 {
        Scalar::Int(value as i64)
    } else {
        Scalar::UInt(value)
    })
}

/// The byte range `[low, high)` a (shape, strides) view at `byte_offset` reaches.
fn span(byte_offset: usize, shape: &[usize], strides: &[isize], itemsize: usize) -> (usize, usize) {
    if shape.len() != strides.len() {
        return (byte_offset, byte_offset);
    }
    let (low, high) = memmap_core::byte_span(byte_offset, itemsize, shape, strides);
    (low.max(0) as usize, high.max(0) as usize)
}

/// Runs the engine over `len` bytes at `memory` (and the mask's `mask_len`
/// bytes at `mask_memory`) into `out`.
///
/// # Safety
///
/// Both ranges must stay readable for the call.
unsafe fn run(
    parsed: &Parsed,
    memory: *const u8,
    len: usize,
    mask_memory: *const u8,
    mask_len: usize,
    control: &Control,
    out: &mut [u8],
) -> Result<()> {
    // SAFETY: the caller keeps the bytes readable.
    let input = unsafe {
        Strided::new(
            memory,
            len,
            parsed.byte_offset,
            &parsed.shape,
            &parsed.strides,
            parsed.element,
            parsed.little_endian,
        )
    }
    .map_err(to_js_error)?;
    let mask = parsed.mask.as_ref().map(|(offset, strides)| {
        // SAFETY: as above, for the mask's bytes.
        unsafe { Mask::new(mask_memory, mask_len, *offset, strides) }
    });
    let request = Request {
        op: parsed.op,
        axes: parsed.axes.as_deref(),
        ddof: parsed.ddof,
        initial: parsed.initial,
        mask,
    };
    reduce::reduce(&input, &request, control, out).map_err(to_js_error)
}

fn closed_meanwhile() -> crate::errors::Error {
    coded(
        Code::Closed,
        "the memmap was closed (or shrank) while this reduction ran: its result is refused, because the pages \
         it read may have been swapped for zeros",
    )
}

/// The result's bytes `out` must be exactly: JavaScript allocates them.
fn check_target(parsed: &Parsed, out: &[u8]) -> Result<()> {
    if out.len() != parsed.out_len {
        return Err(coded(
            Code::InvalidArg,
            format!("the result takes {} bytes, not {}", parsed.out_len, out.len()),
        ));
    }
    Ok(())
}

/// The reduction over the map, on the calling thread, into `out` (zero
/// bytes JavaScript allocated: V8 frees them as any ArrayBuffer, and a
/// failed allocation is an exception there rather than an abort here).
pub fn on_map(mapping: &Mapping, request: &AxisReduceRequest, out: &mut [u8]) -> Result<()> {
    let parsed = parse(request)?;
    check_target(&parsed, out)?;
    let mask = request.mask.as_ref().map(|m| &m.bytes[..]).unwrap_or(&[]);
    memmap_core::huge_pages(out);
    let shrinks = mapping.shrinks();
    let alive = || !mapping.is_closed() && mapping.shrinks() == shrinks;
    let control = Control {
        alive: Some(&alive),
        ..Control::default()
    };
    // SAFETY: the map's bytes stay mapped while `mapping` is borrowed (a close
    // swaps them for zero pages, still readable: `alive` refuses the result);
    // the mask's Buffer is borrowed for the call, and no JavaScript runs.
    unsafe {
        run(
            &parsed,
            mapping.as_ptr(),
            mapping.len(),
            mask.as_ptr(),
            mask.len(),
            &control,
            out,
        )
    }
}

/// The reduction over JavaScript bytes, on the calling thread (read in
/// place), into `out` as `on_map`.
pub fn on_bytes(bytes: &BufferSlice, request: &AxisReduceRequest, out: &mut [u8]) -> Result<()> {
    let parsed = parse(request)?;
    check_target(&parsed, out)?;
    let mask = request.mask.as_ref().map(|m| &m.bytes[..]).unwrap_or(&[]);
    memmap_core::huge_pages(out);
    // SAFETY: the three buffers are borrowed for the call (JavaScript made
    // `out` anew, so it overlaps neither) and no JavaScript runs.
    unsafe {
        run(
            &parsed,
            bytes.as_ptr(),
            bytes.len(),
            mask.as_ptr(),
            mask.len(),
            &Control::default(),
            out,
        )
    }
}

/// Where an async reduction reads.
enum Source {
    Map {
        mapping: Arc<Mapping>,
        shrinks: u64,
    },
    /// A copy of the JavaScript bytes the array reaches (`byte_offset` rebased).
    Copy(Vec<u8>),
}

/// What an async reduction reads: taken by the task when a thread runs it,
/// or dropped by `ReduceControl::abort()` while it waits (never both).
struct Inputs {
    source: Source,
    /// A copy of the mask's reached bytes (its offset rebased).
    mask: Vec<u8>,
}

pub struct AxisReduceTask {
    parsed: Parsed,
    inputs: Arc<Mutex<Option<Inputs>>>,
    abort: Arc<AtomicBool>,
    progress: Arc<AtomicU64>,
}

fn aborted() -> crate::errors::Error {
    coded(
        Code::Core(memmap_core::ErrorKind::Aborted),
        "the reduction was aborted before it started",
    )
}

impl AxisReduceTask {
    fn new(
        source: Source,
        mut parsed: Parsed,
        request: &AxisReduceRequest,
        control: &ReduceControl,
    ) -> Result<AxisReduceTask> {
        let mut mask = Vec::new();
        if let (Some(given), Some((offset, strides))) = (&request.mask, parsed.mask.as_mut()) {
            let (low, high) = span(*offset, &parsed.shape, strides, 1);
            let high = high.min(given.bytes.len());
            let low = low.min(high);
            mask = memmap_core::copied(&given.bytes[low..high]).map_err(to_js_error)?;
            *offset -= low;
        }
        let inputs = Arc::new(Mutex::new(Some(Inputs { source, mask })));
        let mut waiting = control.waiting.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Forget the slots of tasks that ended (a control reused for many calls stays small).
        waiting.retain(|slot| slot.strong_count() > 0);
        waiting.push(Arc::downgrade(&inputs));
        drop(waiting);
        Ok(AxisReduceTask {
            parsed,
            inputs,
            abort: control.abort.clone(),
            progress: control.progress.clone(),
        })
    }

    /// Over the map (shared, never copied).
    pub fn on_map(mapping: Arc<Mapping>, request: &AxisReduceRequest, control: &ReduceControl) -> Result<Self> {
        let parsed = parse(request)?;
        let shrinks = mapping.shrinks();
        Self::new(Source::Map { mapping, shrinks }, parsed, request, control)
    }

    /// Over a copy of the bytes of `bytes` the array reaches.
    pub fn on_bytes(bytes: &BufferSlice, request: &AxisReduceRequest, control: &ReduceControl) -> Result<Self> {
        let mut parsed = parse(request)?;
        let (low, high) = span(
            parsed.byte_offset,
            &parsed.shape,
            &parsed.strides,
            parsed.element.itemsize(),
        );
        let high = high.min(bytes.len());
        let low = low.min(high);
        let copy = memmap_core::copied(&bytes[low..high]).map_err(to_js_error)?;
        parsed.byte_offset -= low;
        Self::new(Source::Copy(copy), parsed, request, control)
    }

    fn compute_bytes(&self) -> Result<Vec<u8>> {
        // Taken out of the shared slot for the run, so that an abort from
        // now on cannot drop them under the reduction; dropped on return.
        let taken = self
            .inputs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        // Aborted while queued: the inputs are gone (or about to be), and no
        // work is done, not even the result's allocation.
        let Some(Inputs { source, mask }) = taken else {
            return Err(aborted());
        };
        if self.abort.load(Ordering::Relaxed) {
            return Err(aborted());
        }
        let mut out = memmap_core::zeroed(self.parsed.out_len).map_err(to_js_error)?;
        let base = Control {
            abort: Some(&self.abort),
            progress: Some(&self.progress),
            ..Control::default()
        };
        match &source {
            Source::Map { mapping, shrinks } => {
                let alive = || !mapping.is_closed() && mapping.shrinks() == *shrinks;
                let control = Control {
                    alive: Some(&alive),
                    ..base
                };
                // A shrink between the call and this thread's start leaves the
                // view past the map's end: that is the close it is, not a bad view.
                if !alive() {
                    return Err(closed_meanwhile());
                }
                // SAFETY: the share of the mapping taken above keeps its address
                // range readable (zero pages after a close, refused through
                // `alive`); the mask is a copy, also taken above. Both live
                // in this frame until the run returns.
                let done = unsafe {
                    run(
                        &self.parsed,
                        mapping.as_ptr(),
                        mapping.len(),
                        mask.as_ptr(),
                        mask.len(),
                        &control,
                        &mut out,
                    )
                };
                if !alive() {
                    return Err(closed_meanwhile());
                }
                done?;
            }
            Source::Copy(bytes) => {
                // SAFETY: both copies were taken above and live in this frame
                // until the run returns.
                unsafe {
                    run(
                        &self.parsed,
                        bytes.as_ptr(),
                        bytes.len(),
                        mask.as_ptr(),
                        mask.len(),
                        &base,
                        &mut out,
                    )?
                };
            }
        }
        Ok(out)
    }
}

impl Pooled for AxisReduceTask {
    const LANE: Lane = Lane::Work;

    fn abort_flag(&self) -> Option<Arc<AtomicBool>> {
        Some(self.abort.clone())
    }
}

impl Task for AxisReduceTask {
    type Output = Result<Vec<u8>>;
    type JsValue = BufferValue;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        Ok(self.compute_bytes())
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<BufferValue> {
        match output {
            Ok(bytes) => owned_buffer(env.raw(), bytes).map_err(|error| rejection(env, error)),
            Err(error) => Err(rejection(env, error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::span;

    #[test]
    fn span_covers_negative_and_empty_views() {
        assert_eq!(span(12, &[4], &[-4], 4), (0, 16));
        assert_eq!(span(0, &[2, 3], &[12, 4], 4), (0, 24));
        assert_eq!(span(8, &[0, 3], &[12, 4], 4), (8, 8));
        assert_eq!(span(8, &[], &[], 4), (8, 12));
    }
}

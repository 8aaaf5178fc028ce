//! Node-API adapters over `memmap-core`. This is the only crate that knows
//! napi; every function here is a thin adapter, and the logic lives in the core.
//!
//! What this crate adds is ownership across the JavaScript boundary: each
//! external ArrayBuffer it hands out owns an `Arc<Mapping>` through its
//! finalizer, so no buffer outlives its pages, and `close()` detaches every
//! buffer it created (and only those) before the file is let go.

#![deny(clippy::undocumented_unsafe_blocks)]

use std::cell::RefCell;
use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use memmap_core::{Advice, Element, Length, Mapping, Mode, Reduction, Scalar, Source, View};
use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;

/// The one place core errors become JavaScript errors. The stable code leads the
/// message (`ERR_MEMMAP_...: text`); the TypeScript layer (`ts/errors.ts`) turns
/// it into the right error class with `error.code` set. The same form works for
/// sync calls and for rejections from the thread pool.
fn to_js_error(err: memmap_core::Error) -> Error {
    coded(err.code(), err.message())
}

fn coded(code: &str, message: impl std::fmt::Display) -> Error {
    Error::new(Status::GenericFailure, format!("{code}: {message}"))
}

/// When set, behave as a runtime that refuses external buffers (Electron's V8
/// sandbox) so the refusal path can be tested without Electron.
static REFUSE_EXTERNAL_BUFFERS: AtomicBool = AtomicBool::new(false);

/// Test hook: makes every new buffer act as if the runtime refused external
/// ArrayBuffers (`napi_no_external_buffers_allowed`).
#[napi]
pub fn simulate_external_buffer_refusal(on: bool) {
    REFUSE_EXTERNAL_BUFFERS.store(on, Ordering::Relaxed);
}

/// How many mappings this process holds, and the most it may hold.
#[napi]
pub fn live_maps() -> Vec<u32> {
    vec![
        memmap_core::live_mappings() as u32,
        memmap_core::max_live_mappings() as u32,
    ]
}

fn to_usize(value: f64, what: &str) -> Result<usize> {
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value <= usize::MAX as f64 {
        Ok(value as usize)
    } else {
        Err(coded(
            "ERR_MEMMAP_INVALID_ARG",
            format!("{what} must be a non-negative integer, got {value}"),
        ))
    }
}

/// A raw `napi_value` known to be an ArrayBuffer, returned as is.
pub struct ArrayBufferValue(sys::napi_value);

impl TypeName for ArrayBufferValue {
    fn type_name() -> &'static str {
        "ArrayBuffer"
    }
    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ToNapiValue for ArrayBufferValue {
    unsafe fn to_napi_value(_env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        Ok(val.0)
    }
}

/// One mapped byte range of a file, as JavaScript holds it.
#[napi(custom_finalize)]
pub struct NativeMap {
    /// `None` after `close()`. Interior mutability: napi-rs refuses a `&mut self`
    /// call while a promise from this object (`flushAsync`) is pending.
    mapping: RefCell<Option<Arc<Mapping>>>,
    /// Bytes per ArrayBuffer: the runtime's limit (2^32 on Node 20), so a map
    /// past it is covered by several buffers over disjoint ranges.
    chunk_bytes: usize,
    /// A weak reference to the ArrayBuffer handed out for each chunk, if any:
    /// what `close()` detaches. Never two live buffers over the same bytes.
    buffers: RefCell<Vec<Option<sys::napi_ref>>>,
}

/// Finalizer of every external ArrayBuffer: lets go of the buffer's share of
/// the mapping, which is unmapped when the last share goes.
unsafe extern "C" fn release_share(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
    // SAFETY: `hint` is the `Box<Arc<Mapping>>` leaked in `buffer()` for this
    // buffer alone, and Node-API calls a finalizer exactly once.
    drop(unsafe { Box::from_raw(hint.cast::<Arc<Mapping>>()) });
}

#[napi]
impl NativeMap {
    /// Opens and maps a file (a path or a caller's descriptor) as numpy.memmap
    /// would for `mode`. `byteLength` absent means the rest of the file, in
    /// whole `itemSize` items.
    #[napi(factory)]
    pub fn open(
        file: Either<String, i32>,
        mode: String,
        offset: f64,
        byte_length: Option<f64>,
        item_size: f64,
        chunk_bytes: f64,
    ) -> Result<NativeMap> {
        let mode = Mode::parse(&mode).ok_or_else(|| {
            coded(
                "ERR_MEMMAP_INVALID_MODE",
                format!("mode must be one of r, r+, w+, c; got '{mode}'"),
            )
        })?;
        let source = match file {
            Either::A(path) => Source::Path(path.into()),
            Either::B(fd) => Source::Fd(fd),
        };
        let offset = to_usize(offset, "offset")? as u64;
        let length = match byte_length {
            Some(n) => Length::Exact(to_usize(n, "byteLength")? as u64),
            None => Length::RestOfFile {
                item_size: to_usize(item_size, "itemSize")? as u64,
            },
        };
        let chunk_bytes = to_usize(chunk_bytes, "chunkBytes")?.max(1);
        let mapping = Mapping::open(source, mode, offset, length).map_err(to_js_error)?;
        let chunks = mapping.len().div_ceil(chunk_bytes);
        Ok(NativeMap {
            mapping: RefCell::new(Some(Arc::new(mapping))),
            chunk_bytes,
            buffers: RefCell::new(vec![None; chunks]),
        })
    }

    /// Mapped bytes.
    #[napi(getter)]
    pub fn byte_length(&self) -> f64 {
        self.mapping.borrow().as_ref().map_or(0, |m| m.len()) as f64
    }

    /// The ArrayBuffer over chunk `index` (bytes `index * chunkBytes` onward),
    /// created on first use: creating it at open would make V8 count the whole
    /// map as allocated memory and collect garbage for nothing.
    #[napi(ts_return_type = "ArrayBuffer")]
    pub fn buffer(&self, env: Env, index: u32) -> Result<ArrayBufferValue> {
        let mapping = self.live()?;
        let index = index as usize;
        let mut buffers = self.buffers.borrow_mut();
        let Some(slot) = buffers.get_mut(index) else {
            return Err(coded(
                "ERR_MEMMAP_INVALID_ARG",
                format!("chunk {index} is past the end of the map"),
            ));
        };
        let raw_env = env.raw();
        if let Some(reference) = *slot {
            let mut value = ptr::null_mut();
            // SAFETY: `reference` was created by this object in `raw_env`'s
            // realm and not yet deleted.
            let status = unsafe { sys::napi_get_reference_value(raw_env, reference, &mut value) };
            if status == sys::Status::napi_ok && !value.is_null() {
                return Ok(ArrayBufferValue(value));
            }
            // Collected: drop the stale reference and make a new buffer.
            // SAFETY: as above; the reference is deleted once, here.
            unsafe { sys::napi_delete_reference(raw_env, reference) };
            *slot = None;
        }
        let start = index * self.chunk_bytes;
        let len = (mapping.len() - start).min(self.chunk_bytes);
        // SAFETY: `start` is within the mapping (index < number of chunks).
        let data = unsafe { mapping.as_ptr().add(start) };
        let hint = Box::into_raw(Box::new(mapping));
        let mut value = ptr::null_mut();
        let status = if REFUSE_EXTERNAL_BUFFERS.load(Ordering::Relaxed) {
            sys::Status::napi_no_external_buffers_allowed
        } else {
            // SAFETY: `data..data+len` stays mapped for as long as `hint` (an
            // `Arc<Mapping>`) lives, and the finalizer drops `hint` exactly once.
            // The raw call is used instead of napi-rs's `from_external`, which on
            // refusal silently copies and runs the finalizer at once.
            unsafe {
                sys::napi_create_external_arraybuffer(
                    raw_env,
                    data.cast(),
                    len,
                    Some(release_share),
                    hint.cast(),
                    &mut value,
                )
            }
        };
        if status == sys::Status::napi_no_external_buffers_allowed {
            // Refused before anything was created: the finalizer never runs.
            // SAFETY: `hint` came from Box::into_raw above and was not handed on.
            drop(unsafe { Box::from_raw(hint) });
            return Err(coded(
                "ERR_MEMMAP_EXTERNAL_BUFFERS_REFUSED",
                "this runtime refuses external ArrayBuffers (Electron's V8 memory cage), so a mapping \
                 cannot be shown to JavaScript without copying: run memmap in Node.js proper (for \
                 Electron, in the main process with a Node build without the sandbox, or a utility process)",
            ));
        }
        if status != sys::Status::napi_ok {
            // Whether the runtime ran the finalizer is unknown here (Node runs it
            // before failing with ERR_BUFFER_TOO_LARGE), so `hint` is left alone:
            // a leaked share is safe, a double free is not.
            return Err(coded(
                "ERR_MEMMAP_BUFFER_FAILED",
                format!("the runtime refused a {len}-byte external ArrayBuffer (napi status {status})"),
            ));
        }
        let mut reference = ptr::null_mut();
        // SAFETY: `value` is the ArrayBuffer just created in this env; a weak
        // (count 0) reference does not keep it alive.
        let status = unsafe { sys::napi_create_reference(raw_env, value, 0, &mut reference) };
        if status == sys::Status::napi_ok {
            *slot = Some(reference);
        }
        Ok(ArrayBufferValue(value))
    }

    /// Copies the bytes at byte `start` into `target` (one element's worth, a
    /// scratch buffer the caller reuses): a read that creates no ArrayBuffer
    /// over the whole chunk and allocates nothing.
    #[napi]
    pub fn peek(&self, start: f64, mut target: BufferSlice) -> Result<()> {
        self.live()?
            .read_into(to_usize(start, "start")?, target.as_mut())
            .map_err(to_js_error)
    }

    /// Writes `bytes` (one element) at byte `start`.
    #[napi]
    pub fn poke(&self, start: f64, bytes: BufferSlice) -> Result<()> {
        self.live()?
            .write_from(to_usize(start, "start")?, &bytes)
            .map_err(to_js_error)
    }

    /// `msync` of a byte range, then `fdatasync` if the map grew the file.
    #[napi]
    pub fn flush(&self, start: f64, len: f64) -> Result<()> {
        let (start, len) = (to_usize(start, "start")?, to_usize(len, "length")?);
        self.live()?.flush_range(start, len).map_err(to_js_error)
    }

    /// The same flush on the thread pool. The task holds the mapping until it
    /// ends, so `close()` meanwhile cannot pull the pages from under it.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn flush_async(&self, start: f64, len: f64) -> Result<AsyncTask<FlushTask>> {
        let (start, len) = (to_usize(start, "start")?, to_usize(len, "length")?);
        Ok(AsyncTask::new(FlushTask {
            mapping: self.live()?,
            start,
            len,
        }))
    }

    /// `madvise` of a byte range.
    #[napi]
    pub fn advise(&self, advice: String, start: f64, len: f64) -> Result<()> {
        let parsed = Advice::parse(&advice).ok_or_else(|| {
            coded(
                "ERR_MEMMAP_INVALID_ADVICE",
                format!("advice must be one of normal, random, sequential, willneed, dontneed; got '{advice}'"),
            )
        })?;
        let (start, len) = (to_usize(start, "start")?, to_usize(len, "length")?);
        self.live()?.advise_range(parsed, start, len).map_err(to_js_error)
    }

    /// Flushes, detaches every ArrayBuffer handed out, and releases the file.
    /// Pages a buffer's backing store may still point at (a Node-API async
    /// operation that captured a view) are swapped for zero pages until that
    /// buffer is collected. Idempotent.
    #[napi]
    pub fn close(&self, env: Env) -> Result<()> {
        let Some(mapping) = self.mapping.borrow_mut().take() else {
            return Ok(());
        };
        self.drop_references(env.raw(), true);
        // Only this object holds the mapping when no buffer or task does.
        let shared = Arc::strong_count(&mapping) > 1;
        // Flushes once (msync costs ~70 us even for clean pages on ext4), then
        // lets go of the file.
        let closed = mapping.close_keeping_address(shared);
        drop(mapping);
        closed.map_err(to_js_error)
    }

    /// `sum`, `min` or `max` of a strided view (numpy's reductions); `null` for
    /// min/max of an empty view.
    #[napi]
    pub fn reduce(&self, request: ReduceRequest) -> Result<Option<ReduceResult>> {
        let job = ReduceTask::new(self.live()?, request)?;
        job.run()
    }

    /// The same reduction on the thread pool; the task holds the mapping.
    #[napi(ts_return_type = "Promise<ReduceResult | null>")]
    pub fn reduce_async(&self, request: ReduceRequest) -> Result<AsyncTask<ReduceTask>> {
        Ok(AsyncTask::new(ReduceTask::new(self.live()?, request)?))
    }

    fn live(&self) -> Result<Arc<Mapping>> {
        self.mapping
            .borrow()
            .clone()
            .ok_or_else(|| coded("ERR_MEMMAP_CLOSED", "the memmap is closed"))
    }

    fn drop_references(&self, env: sys::napi_env, detach: bool) {
        for reference in self.buffers.borrow_mut().iter_mut().filter_map(Option::take) {
            let mut value = ptr::null_mut();
            // SAFETY: `reference` belongs to this object and `env`; it is read
            // and then deleted exactly once. Only buffers this object created
            // are detached (napi would detach any ArrayBuffer, even Node's pool).
            unsafe {
                if detach
                    && sys::napi_get_reference_value(env, reference, &mut value) == sys::Status::napi_ok
                    && !value.is_null()
                {
                    sys::napi_detach_arraybuffer(env, value);
                }
                sys::napi_delete_reference(env, reference);
            }
        }
    }
}

impl ObjectFinalize for NativeMap {
    /// Collected without `close()`: let go of this object's share. Buffers still
    /// alive keep theirs, so the pages stay until the last of them is collected.
    fn finalize(self, env: Env) -> Result<()> {
        self.drop_references(env.raw(), false);
        Ok(())
    }
}

pub struct FlushTask {
    mapping: Arc<Mapping>,
    start: usize,
    len: usize,
}

impl Task for FlushTask {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> Result<()> {
        self.mapping
            .flush_range_in_background(self.start, self.len)
            .map_err(to_js_error)
    }

    fn resolve(&mut self, _env: Env, _output: ()) -> Result<()> {
        Ok(())
    }
}

/// What to reduce: the op, numpy's kind+size code, byte order, and the view.
#[napi(object)]
pub struct ReduceRequest {
    pub op: String,
    pub element: String,
    pub little_endian: bool,
    pub byte_offset: f64,
    pub shape: Vec<f64>,
    pub strides: Vec<f64>,
}

/// A reduction's value: `int` (a decimal string, for 64-bit exactness),
/// `float`, or `float` + `imag` for complex; `bool` for bool min/max.
#[napi(object)]
pub struct ReduceResult {
    pub kind: String,
    pub int: Option<String>,
    pub float: Option<f64>,
    pub imag: Option<f64>,
    pub bool: Option<bool>,
}

pub struct ReduceTask {
    mapping: Arc<Mapping>,
    element: Element,
    little_endian: bool,
    op: Reduction,
    view: View,
}

impl ReduceTask {
    fn new(mapping: Arc<Mapping>, request: ReduceRequest) -> Result<ReduceTask> {
        let op = match request.op.as_str() {
            "sum" => Reduction::Sum,
            "fsum" => Reduction::FloatSum,
            "min" => Reduction::Min,
            "max" => Reduction::Max,
            other => return Err(coded("ERR_MEMMAP_INVALID_ARG", format!("unknown reduction '{other}'"))),
        };
        let element = Element::parse(&request.element).ok_or_else(|| {
            coded(
                "ERR_MEMMAP_INVALID_DTYPE",
                format!("no reduction for dtype '{}'", request.element),
            )
        })?;
        let shape = request
            .shape
            .iter()
            .map(|&d| to_usize(d, "shape"))
            .collect::<Result<Vec<_>>>()?;
        let strides = request
            .strides
            .iter()
            .map(|&s| {
                if s.is_finite() && s.fract() == 0.0 && s.abs() <= isize::MAX as f64 {
                    Ok(s as isize)
                } else {
                    Err(coded("ERR_MEMMAP_INVALID_ARG", format!("stride {s} is not an integer")))
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let view = View {
            byte_offset: to_usize(request.byte_offset, "byteOffset")?,
            shape,
            strides,
        };
        Ok(ReduceTask {
            mapping,
            element,
            little_endian: request.little_endian,
            op,
            view,
        })
    }

    fn run(&self) -> Result<Option<ReduceResult>> {
        let value = self
            .mapping
            .reduce(self.element, self.little_endian, &self.view, self.op)
            .map_err(to_js_error)?;
        Ok(value.map(|scalar| {
            let mut out = ReduceResult {
                kind: String::new(),
                int: None,
                float: None,
                imag: None,
                bool: None,
            };
            match scalar {
                Scalar::Bool(b) => (out.kind, out.bool) = ("bool".into(), Some(b)),
                Scalar::Int(i) => (out.kind, out.int) = ("int".into(), Some(i.to_string())),
                Scalar::UInt(u) => (out.kind, out.int) = ("int".into(), Some(u.to_string())),
                Scalar::Float(f) => (out.kind, out.float) = ("float".into(), Some(f)),
                Scalar::Complex(re, im) => (out.kind, out.float, out.imag) = ("complex".into(), Some(re), Some(im)),
            }
            out
        }))
    }
}

impl Task for ReduceTask {
    type Output = Option<ReduceResult>;
    type JsValue = Option<ReduceResult>;

    fn compute(&mut self) -> Result<Self::Output> {
        self.run()
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(output)
    }
}

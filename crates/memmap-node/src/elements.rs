//! Elements copied in and out where no zero-copy view can exist (runtimes
//! that refuse external ArrayBuffers: Electron): single elements through a
//! scratch buffer, and blocks of any view in C order.
//!
//! A single `get()` there is one native call, so its cost is the call's: a
//! napi-rs function with numeric arguments costs about three times a plain
//! Node-API callback (bench/cases/desktop.js measures both paths), so the two
//! single-element functions are plain Node-API callbacks, registered at module
//! load. They take numbers only and copy through one scratch ArrayBuffer per
//! thread, which JavaScript registers once (`useScratch`) and reads with a
//! DataView: no buffer crosses the boundary per call.

use std::cell::Cell;
use std::ffi::CStr;
use std::ptr;

use memmap_core::Elements;
use napi::bindgen_prelude::{Env, JsError, Object};
use napi::{sys, JsValue};

use crate::buffers::with_map;
use crate::errors::{coded, to_js_error, Code, Error, Result};
use crate::handles::Handle;

thread_local! {
    /// This thread's scratch bytes (pointer, length) and the strong reference
    /// that keeps their ArrayBuffer alive: a realm per thread, so one scratch
    /// per thread.
    static SCRATCH: Cell<(*mut u8, usize, sys::napi_ref)> = const { Cell::new((ptr::null_mut(), 0, ptr::null_mut())) };
}

/// Makes `scratch` (an ArrayBuffer this module's caller keeps private) the
/// buffer `peekScratch`/`pokeScratch` copy through, for this thread.
pub fn use_scratch(env: &Env, scratch: &Object) -> Result<()> {
    let raw_env = env.raw();
    let (mut data, mut len) = (ptr::null_mut(), 0usize);
    // SAFETY: `scratch` is a live value of this env; the call only reads it
    // and fails (status checked) if it is not an ArrayBuffer.
    let status = unsafe { sys::napi_get_arraybuffer_info(raw_env, scratch.raw(), &mut data, &mut len) };
    if status != sys::Status::napi_ok {
        return Err(coded(Code::InvalidArg, "the scratch must be an ArrayBuffer"));
    }
    let mut reference = ptr::null_mut();
    // SAFETY: as above; a strong reference (count 1) keeps the ArrayBuffer,
    // and so `data`, alive: an ArrayBuffer's bytes never move while it lives,
    // and the caller never detaches or transfers this one.
    let status = unsafe { sys::napi_create_reference(raw_env, scratch.raw(), 1, &mut reference) };
    if status != sys::Status::napi_ok {
        return Err(coded(Code::InvalidArg, "the scratch cannot be kept"));
    }
    let (_, _, previous) = SCRATCH.replace((data.cast(), len, reference));
    if !previous.is_null() {
        // SAFETY: `previous` was created above in an earlier call on this thread's env.
        unsafe { sys::napi_delete_reference(raw_env, previous) };
    }
    Ok(())
}

/// The view a block copy works on, as JavaScript describes it.
pub struct Block {
    pub byte_offset: usize,
    pub shape: Vec<usize>,
    pub strides: Vec<isize>,
    pub item_size: usize,
}

impl Block {
    fn elements(&self) -> Elements<'_> {
        Elements {
            byte_offset: self.byte_offset,
            shape: &self.shape,
            strides: &self.strides,
            item_size: self.item_size,
        }
    }
}

/// Copies elements `first..` of the view into `target`, in C order.
pub fn read(handle: Handle, block: &Block, first: usize, target: &mut [u8]) -> Result<()> {
    with_map(handle, |map| {
        map.mapping
            .read_elements(&block.elements(), first, target)
            .map_err(to_js_error)
    })
}

/// Copies `source` into elements `first..` of the view, in C order.
pub fn write(handle: Handle, block: &Block, first: usize, source: &[u8]) -> Result<()> {
    with_map(handle, |map| {
        map.mapping
            .write_elements(&block.elements(), first, source)
            .map_err(to_js_error)
    })
}

/// Writes `pattern` (one element) into every element of the view.
pub fn fill(handle: Handle, block: &Block, pattern: &[u8]) -> Result<()> {
    with_map(handle, |map| {
        map.mapping
            .fill_elements(&block.elements(), pattern)
            .map_err(to_js_error)
    })
}

/// Adds `peekScratch(handle, at, size)` and `pokeScratch(handle, at, size)`
/// to the module's exports: plain Node-API callbacks (see the module docs).
pub fn register(env: &Env, exports: &Object) -> napi::Result<()> {
    let functions: [(&CStr, sys::napi_callback); 2] = [
        (c"peekScratch", Some(peek_scratch)),
        (c"pokeScratch", Some(poke_scratch)),
    ];
    for (name, callback) in functions {
        let mut function = ptr::null_mut();
        // SAFETY: `name` is a NUL-terminated string, `callback` a function with
        // Node-API's callback signature that needs no data.
        let status = unsafe {
            sys::napi_create_function(
                env.raw(),
                name.as_ptr(),
                name.to_bytes().len() as isize,
                callback,
                ptr::null_mut(),
                &mut function,
            )
        };
        napi::check_status!(status, "creating {name:?}")?;
        // SAFETY: `exports` is the module's exports object, `function` was just made.
        let status = unsafe { sys::napi_set_named_property(env.raw(), exports.raw(), name.as_ptr(), function) };
        napi::check_status!(status, "exporting {name:?}")?;
    }
    Ok(())
}

/// `peekScratch(handle, at, size)`: copies `size` bytes at byte `at` of the
/// map into the scratch buffer.
unsafe extern "C" fn peek_scratch(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    // SAFETY: called by Node-API with this callback's env and info.
    unsafe { scratch_copy(env, info, true) }
}

/// `pokeScratch(handle, at, size)`: copies `size` bytes of the scratch buffer
/// to byte `at` of the map.
unsafe extern "C" fn poke_scratch(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    // SAFETY: called by Node-API with this callback's env and info.
    unsafe { scratch_copy(env, info, false) }
}

/// # Safety
///
/// `env` and `info` are a Node-API callback's own.
unsafe fn scratch_copy(env: sys::napi_env, info: sys::napi_callback_info, peek: bool) -> sys::napi_value {
    let mut argc = 3usize;
    let mut argv = [ptr::null_mut(); 3];
    let mut numbers = [0f64; 3];
    // SAFETY: `argv` has room for `argc` values; the other outputs are not asked for.
    let mut ok = unsafe {
        sys::napi_get_cb_info(
            env,
            info,
            &mut argc,
            argv.as_mut_ptr(),
            ptr::null_mut(),
            ptr::null_mut(),
        )
    } == sys::Status::napi_ok
        && argc == 3;
    for (value, number) in argv.iter().zip(numbers.iter_mut()) {
        // SAFETY: each value is an argument of this call (or null, which fails).
        ok = ok && unsafe { sys::napi_get_value_double(env, *value, number) } == sys::Status::napi_ok;
    }
    let [handle, at, size] = numbers;
    let outcome = if !ok {
        Err(coded(
            Code::InvalidArg,
            "expected (handle, byte, size) as three numbers",
        ))
    } else {
        copy_through_scratch(handle, at, size, peek)
    };
    if let Err(error) = outcome {
        throw(env, error);
    }
    ptr::null_mut()
}

fn copy_through_scratch(handle: Handle, at: f64, size: f64, peek: bool) -> Result<()> {
    let (scratch, capacity, _) = SCRATCH.get();
    let start = crate::errors::to_usize(at, "byte")?;
    let len = crate::errors::to_usize(size, "size")?;
    if scratch.is_null() || len > capacity {
        return Err(coded(
            Code::InvalidArg,
            format!("{len} bytes do not fit the scratch buffer ({capacity} bytes)"),
        ));
    }
    with_map(handle, |map| {
        // SAFETY: `scratch..scratch + capacity` is the registered ArrayBuffer's
        // memory, alive while its strong reference is (until the next
        // useScratch on this thread, which this call cannot overlap: one thread).
        // It is JavaScript's heap memory, never the map, so slices of it do not
        // alias the mapping.
        let bytes = unsafe { std::slice::from_raw_parts_mut(scratch, len) };
        if peek {
            map.mapping.read_into(start, bytes)
        } else {
            map.mapping.write_from(start, bytes)
        }
        .map_err(to_js_error)
    })
}

/// Throws `error` (with its code) into JavaScript: a raw callback's way to fail.
fn throw(env: sys::napi_env, error: Error) {
    // SAFETY: `env` is the calling callback's env, on its thread.
    unsafe { JsError::from(error).throw_into(env) };
}

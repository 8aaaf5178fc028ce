//! Elements copied in and out where no zero-copy view can exist (runtimes
//! that refuse external ArrayBuffers: Electron): single elements through a
//! scratch buffer, and blocks of any view in C order.
//!
//! A single `get()` there is one native call, so its cost is the call's: a
//! napi-rs function with numeric arguments costs about three times a plain
//! Node-API callback (bench/cases/desktop.js measures both paths), so the two
//! single-element functions are plain Node-API callbacks, registered at module
//! load. They take numbers only and copy through a scratch ArrayBuffer that
//! the TypeScript module registered once (`useScratch`, which gives it a
//! slot) and reads with a DataView: no buffer crosses the boundary per call.
//!
//! The scratch is an ordinary JavaScript object, so user code may hold it
//! (the module makes it with the global `ArrayBuffer`, which a program can
//! replace before loading the package) and detach, transfer or resize it.
//! No address of it is ever kept: every call asks the live buffer for its
//! bytes and length, refuses a detached one, and copies through a stack
//! buffer of its own, so the scratch's memory is touched only while the call
//! holds the buffer and only with byte copies that tolerate any overlap.

use std::cell::RefCell;
use std::ffi::{c_void, CStr};
use std::ptr;

use memmap_core::Elements;
use napi::bindgen_prelude::{Env, JsError, Object};
use napi::{sys, JsValue};

use crate::buffers::with_map;
use crate::errors::{coded, to_js_error, Code, Error, Result};
use crate::handles::Handle;

thread_local! {
    /// This thread's scratch buffers (weak references), by slot: one per copy
    /// of the TypeScript module that registered one (a realm per thread, and
    /// possibly several copies of the package in one realm, must never share
    /// a scratch). Each call checks through the weak reference that the
    /// ArrayBuffer is alive and asks it for its bytes then, so a slot never
    /// reaches freed memory: not between its collection and its finalizer,
    /// nor after a detach or transfer (a transferred buffer's memory belongs
    /// to its new owner, which may free it at any time).
    static SCRATCHES: RefCell<Vec<Option<Scratch>>> = const { RefCell::new(Vec::new()) };
}

/// The most bytes one call copies: TypeScript's `SCRATCH_BYTES`, the size of
/// the scratch it makes; larger elements take the block copies.
const SCRATCH_BYTES: usize = 256;

#[derive(Clone, Copy)]
struct Scratch {
    /// Weak (count 0): the module that registered the buffer keeps it alive.
    buffer: sys::napi_ref,
}

/// Registers `scratch` (an ArrayBuffer its caller keeps private and never
/// detaches) as a buffer `peekScratch`/`pokeScratch` copy through, and
/// returns its slot, which those calls take first.
pub fn use_scratch(env: &Env, scratch: &Object) -> Result<u32> {
    let raw_env = env.raw();
    let (mut data, mut len) = (ptr::null_mut(), 0usize);
    // SAFETY: `scratch` is a live value of this env; the call only reads it
    // and fails (status checked) if it is not an ArrayBuffer. The address is
    // not kept: each copy asks the buffer again.
    let status = unsafe { sys::napi_get_arraybuffer_info(raw_env, scratch.raw(), &mut data, &mut len) };
    if status != sys::Status::napi_ok {
        return Err(coded(Code::InvalidArg, "the scratch must be an ArrayBuffer"));
    }
    let mut buffer = ptr::null_mut();
    // SAFETY: as above; a weak reference does not keep the buffer alive.
    let status = unsafe { sys::napi_create_reference(raw_env, scratch.raw(), 0, &mut buffer) };
    if status != sys::Status::napi_ok {
        return Err(coded(Code::InvalidArg, "the scratch cannot be referenced"));
    }
    let slot = SCRATCHES.with_borrow_mut(|slots| {
        slots.push(Some(Scratch { buffer }));
        slots.len() - 1
    });
    // SAFETY: `scratch` is a live object of this env; the finalizer's data is
    // the slot number (nothing to free). It runs on this thread after the
    // ArrayBuffer is collected (or at the env's teardown) and empties the
    // slot and deletes its reference.
    let status = unsafe {
        sys::napi_add_finalizer(
            raw_env,
            scratch.raw(),
            slot as *mut c_void,
            Some(forget_scratch),
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    if status != sys::Status::napi_ok {
        // The slot stays filled: its weak reference still guards every use.
        return Err(coded(Code::InvalidArg, "the scratch cannot be tracked"));
    }
    Ok(slot as u32)
}

/// Finalizer of a scratch ArrayBuffer: empties its slot and deletes the
/// reference. Never panics: at a thread's teardown the table may be gone.
unsafe extern "C" fn forget_scratch(env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    let slot = data as usize;
    let taken = SCRATCHES
        .try_with(|slots| {
            slots
                .try_borrow_mut()
                .ok()
                .and_then(|mut slots| slots.get_mut(slot).and_then(Option::take))
        })
        .ok()
        .flatten();
    if let Some(scratch) = taken {
        // SAFETY: the reference was made in use_scratch in this env and is
        // deleted once, here (its slot is now empty).
        unsafe { sys::napi_delete_reference(env, scratch.buffer) };
    }
}

/// The view a block copy works on, as JavaScript describes it.
pub struct Block {
    pub byte_offset: usize,
    pub shape: Vec<usize>,
    pub strides: Vec<isize>,
    pub item_size: usize,
}

impl Block {
    pub(crate) fn elements(&self) -> Elements<'_> {
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

/// Adds `peekScratch(slot, handle, at, size)` and `pokeScratch(slot, handle, at, size)`
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

/// `peekScratch(slot, handle, at, size)`: copies `size` bytes at byte `at`
/// of the map into scratch buffer `slot`.
unsafe extern "C" fn peek_scratch(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    // SAFETY: called by Node-API with this callback's env and info.
    unsafe { scratch_copy(env, info, true) }
}

/// `pokeScratch(slot, handle, at, size)`: copies `size` bytes of scratch
/// buffer `slot` to byte `at` of the map.
unsafe extern "C" fn poke_scratch(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    // SAFETY: called by Node-API with this callback's env and info.
    unsafe { scratch_copy(env, info, false) }
}

/// # Safety
///
/// `env` and `info` are a Node-API callback's own.
unsafe fn scratch_copy(env: sys::napi_env, info: sys::napi_callback_info, peek: bool) -> sys::napi_value {
    let mut argc = 4usize;
    let mut argv = [ptr::null_mut(); 4];
    let mut numbers = [0f64; 4];
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
        && argc == 4;
    for (value, number) in argv.iter().zip(numbers.iter_mut()) {
        // SAFETY: each value is an argument of this call (or null, which fails).
        ok = ok && unsafe { sys::napi_get_value_double(env, *value, number) } == sys::Status::napi_ok;
    }
    let [slot, handle, at, size] = numbers;
    let outcome = if !ok {
        Err(coded(
            Code::InvalidArg,
            "expected (slot, handle, byte, size) as four numbers",
        ))
    } else {
        copy_through_scratch(env, slot, handle, at, size, peek)
    };
    if let Err(error) = outcome {
        throw(env, error);
    }
    ptr::null_mut()
}

fn copy_through_scratch(env: sys::napi_env, slot: f64, handle: Handle, at: f64, size: f64, peek: bool) -> Result<()> {
    let slot = crate::errors::to_usize(slot, "slot")?;
    let start = crate::errors::to_usize(at, "byte")?;
    let len = crate::errors::to_usize(size, "size")?;
    let missing = || coded(Code::InvalidArg, format!("no scratch buffer in slot {slot}"));
    let Scratch { buffer } = SCRATCHES
        .with_borrow(|slots| slots.get(slot).copied().flatten())
        .ok_or_else(missing)?;
    let mut alive = ptr::null_mut();
    // SAFETY: `buffer` is a reference of this env that the finalizer has not
    // deleted (its slot is filled). The value it gives, held for this call,
    // keeps the ArrayBuffer alive until the call returns.
    let status = unsafe { sys::napi_get_reference_value(env, buffer, &mut alive) };
    if status != sys::Status::napi_ok || alive.is_null() {
        return Err(missing());
    }
    let (data, capacity) = scratch_bytes(env, alive)?;
    if len > capacity.min(SCRATCH_BYTES) {
        return Err(coded(
            Code::InvalidArg,
            format!("{len} bytes do not fit the scratch buffer ({capacity} bytes)"),
        ));
    }
    // The map's bytes go through this stack copy, never straight between the
    // map and the scratch: the scratch is whatever ArrayBuffer the module was
    // given, which might even lie over a map, so no slice of it is formed.
    let mut staged = [0u8; SCRATCH_BYTES];
    let staged = &mut staged[..len];
    with_map(handle, |map| {
        if peek {
            map.mapping.read_into(start, staged).map_err(to_js_error)?;
            // SAFETY: `data..data + capacity` is the buffer's memory as it
            // reported it just now (not detached, checked above), and no
            // JavaScript has run since, so nothing detached or freed it; `len`
            // is at most `capacity`. `ptr::copy` allows any overlap.
            unsafe { ptr::copy(staged.as_ptr(), data, len) };
            Ok(())
        } else {
            // SAFETY: as above, reading instead of writing.
            unsafe { ptr::copy(data.cast_const(), staged.as_mut_ptr(), len) };
            map.mapping.write_from(start, staged).map_err(to_js_error)
        }
    })
}

/// The live bytes of scratch ArrayBuffer `value` (address, length), asked at
/// each call: a detached buffer (transferred, its memory someone else's) is
/// refused with a code.
fn scratch_bytes(env: sys::napi_env, value: sys::napi_value) -> Result<(*mut u8, usize)> {
    let mut detached = false;
    // SAFETY: `value` is a live value of this env (held by the caller's
    // reference lookup); the call only reads it.
    let status = unsafe { sys::napi_is_detached_arraybuffer(env, value, &mut detached) };
    if status != sys::Status::napi_ok || detached {
        return Err(coded(
            Code::BufferFailed,
            "the scratch buffer was detached (transferred) by other code: single elements cannot be copied through it",
        ));
    }
    let (mut data, mut len) = (ptr::null_mut(), 0usize);
    // SAFETY: as above; it fails (status checked) if `value` is not an ArrayBuffer.
    let status = unsafe { sys::napi_get_arraybuffer_info(env, value, &mut data, &mut len) };
    if status != sys::Status::napi_ok || (data.is_null() && len > 0) {
        return Err(coded(Code::BufferFailed, "the scratch buffer's memory is unavailable"));
    }
    Ok((data.cast(), len))
}

/// Throws `error` (with its code) into JavaScript: a raw callback's way to fail.
fn throw(env: sys::napi_env, error: Error) {
    // SAFETY: `env` is the calling callback's env, on its thread.
    unsafe { JsError::from(error).throw_into(env) };
}

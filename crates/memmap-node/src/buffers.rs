//! Maps as this thread's JavaScript holds them: the table of open maps, the
//! external ArrayBuffers over each, and how long a closed map's address range
//! stays backed.
//!
//! # Placeholder lifetime
//!
//! `close()` detaches every ArrayBuffer it handed out and lets go of the file
//! at once. If any buffer may still be in use, the pages are first swapped for
//! anonymous zero pages (the placeholder), so that whoever still holds the
//! address reads zeros and writes into throw-away memory instead of faulting.
//! The placeholder must stay until nothing can use the address, and each
//! buffer holds two shares of the mapping for that:
//!
//! - one owned by the buffer's backing store, released when V8 frees it.
//!   Detaching drops the ArrayBuffer's own reference to the backing store, so
//!   on its own this share goes one event-loop turn after `close()`, while
//!   Node's thread pool (zlib, crypto, fs, a socket write) may still hold the
//!   raw pointer: that was a SIGSEGV;
//! - one owned by the ArrayBuffer *object* (`napi_add_finalizer`), released
//!   when the object is collected. Every Node API that works on a buffer off
//!   the main thread keeps the buffer object alive (its request object holds
//!   the TypedArray, which holds the ArrayBuffer) until it completes.
//!
//! The pages are unmapped when both shares (and the table's, and any async
//! task's) are gone.

use std::cell::RefCell;
use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use memmap_core::{Mapping, Resize};
use napi::bindgen_prelude::{Env, Object, ToNapiValue, TypeName, ValueType};
use napi::{sys, JsValue};

use crate::errors::{closed_error, coded, to_js_error, Code, Result};
use crate::handles::{Handle, Handles};

/// One mapped byte range of a file, as this thread's JavaScript holds it.
pub struct NativeMap {
    pub mapping: Arc<Mapping>,
    /// Bytes per ArrayBuffer: the runtime's limit (2^32 on Node 20), so a map
    /// past it is covered by several buffers over disjoint ranges.
    chunk_bytes: usize,
    /// A weak reference to the ArrayBuffer handed out for each chunk, if any:
    /// what `close()` detaches. One current buffer per chunk.
    buffers: Vec<Option<Slot>>,
    /// Buffers a resize made stale (a chunk that grew, or a map that now
    /// starts at another address): still valid over the bytes they cover
    /// (see the core's grow.rs), detached by `close()` or by a shrink that
    /// cuts into them.
    retired: Vec<Slot>,
    /// Buffers a shrink cut (detached), while their backing store lives (a
    /// Node API may still write through it, or it was transferred): the
    /// zero pages under them must not become the file's again.
    cut: Vec<Cut>,
}

/// A buffer a shrink cut: its token and the bytes it covered.
struct Cut {
    alive: Weak<()>,
    address: usize,
    len: usize,
}

/// A buffer handed out: its weak reference, and where it points.
#[derive(Clone)]
struct Slot {
    reference: sys::napi_ref,
    /// Its first byte's address, and where that lies in the map.
    address: usize,
    start: usize,
    len: usize,
    /// Alive while either share of the buffer is (see [`Share`]).
    alive: Weak<()>,
}

/// One of a buffer's two shares of its mapping (module docs), each with the
/// buffer's token, so that a slot can tell when both are gone.
///
/// The token is declared first so that it drops first: a share then never
/// counts as a token without its mapping share, which would make
/// [`release_unreached`] take a task's share for a buffer's.
struct Share {
    _alive: Arc<()>,
    _mapping: Arc<Mapping>,
}

// A handle's 52 bits travel as the pointer-sized data of the owner's finalizer.
const _: () = assert!(usize::BITS >= 64, "handles need 64-bit pointers");

thread_local! {
    /// This thread's maps. Thread-local because each worker thread is its own
    /// JavaScript realm with its own maps. Never borrowed across a Node-API
    /// call, which may run finalizers.
    static MAPS: RefCell<Handles<NativeMap>> = RefCell::new(Handles::default());
}

/// When set, behave as a runtime that refuses external buffers (Electron's V8
/// sandbox) so the refusal path can be tested without Electron.
pub static REFUSE_EXTERNAL_BUFFERS: AtomicBool = AtomicBool::new(false);

/// Runs `f` on the map `handle` names; ERR_MEMMAP_CLOSED if it names none.
pub fn with_map<R>(handle: Handle, f: impl FnOnce(&mut NativeMap) -> Result<R>) -> Result<R> {
    MAPS.with_borrow_mut(|maps| f(maps.get_mut(handle).ok_or_else(closed_error)?))
}

/// A share of the mapping `handle` names, for a call that outlives the borrow.
pub fn mapping_of(handle: Handle) -> Result<Arc<Mapping>> {
    with_map(handle, |map| Ok(map.mapping.clone()))
}

/// Puts a freshly opened mapping in the table and ties it to `owner`, the
/// object that stands for the map in JavaScript: collected without `close()`,
/// it releases the map.
pub fn register(env: &Env, owner: &Object, mapping: Mapping, chunk_bytes: usize) -> Result<Handle> {
    let chunks = mapping.len().div_ceil(chunk_bytes);
    let map = NativeMap {
        mapping: Arc::new(mapping),
        chunk_bytes,
        buffers: vec![None; chunks],
        retired: Vec::new(),
        cut: Vec::new(),
    };
    let handle = MAPS.with_borrow_mut(|maps| maps.insert(map)).map_err(|_| {
        coded(
            Code::Core(memmap_core::ErrorKind::TooManyMaps),
            "too many maps are open in this thread (2^20): call close() on maps you no longer need",
        )
    })?;
    // SAFETY: `owner` is a live object of this env, the data is the handle's
    // bits (nothing to free), and no wrap is asked back (`result` null).
    let status = unsafe {
        sys::napi_wrap(
            env.raw(),
            owner.raw(),
            handle.to_bits() as usize as *mut c_void,
            Some(release_collected),
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    if status != sys::Status::napi_ok {
        let _ = close(env, owner, handle);
        return Err(coded(
            Code::InvalidArg,
            format!("owner cannot hold a map (napi status {status})"),
        ));
    }
    Ok(handle)
}

/// Finalizer of an owner collected without `close()`: lets go of its map.
/// Never panics (a panic here would abort the process): at a worker's teardown
/// the table may be gone already, and then the map goes with it.
unsafe extern "C" fn release_collected(env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    let handle = f64::from_bits(data as usize as u64);
    let map = MAPS
        .try_with(|maps| maps.try_borrow_mut().ok().and_then(|mut maps| maps.remove(handle)))
        .ok()
        .flatten();
    if let Some(mut map) = map {
        drop_references(env, map.references(), false);
    }
}

/// Flushes, detaches every ArrayBuffer handed out, and releases the file and
/// the handle (and `owner`'s hold on it). If a buffer or a task still holds a
/// share, the pages are swapped for the placeholder (see the module docs). A
/// handle that names no map is a no-op.
pub fn close(env: &Env, owner: &Object, handle: Handle) -> Result<()> {
    match detach(env, owner, handle) {
        // Flushes once (msync is not free even for clean pages), then lets go
        // of the file.
        Some(closing) => closing.finish(),
        None => Ok(()),
    }
}

/// A map taken out of the table with its buffers detached: what is left of
/// `close()` is the flush and letting go of the file, which `closeAsync()`
/// does on the library's threads.
pub struct Closing {
    mapping: Arc<Mapping>,
    /// Whether a buffer or a task held a share when the map was detached.
    shared: bool,
}

impl Closing {
    /// The flush of `finish`, done first in pieces at low priority (for a
    /// pool thread): `finish` then has clean pages to msync.
    pub fn flush_in_background(&self) -> Result<()> {
        self.mapping
            .flush_range_in_background(0, self.mapping.len())
            .map_err(to_js_error)
    }

    /// Flushes, lets go of the file, and swaps in the placeholder if shared.
    pub fn finish(&self) -> Result<()> {
        self.mapping.close_keeping_address(self.shared).map_err(to_js_error)
    }
}

/// The part of `close()` that must run on the JavaScript thread: removes
/// `owner`'s hold and the handle, and detaches every buffer. `None` if the
/// handle names no map.
pub fn detach(env: &Env, owner: &Object, handle: Handle) -> Option<Closing> {
    let mut wrapped = ptr::null_mut();
    // SAFETY: `owner` is a live object of this env; removing its wrap cancels
    // `release_collected`, whose data (a number) needs no freeing. An owner
    // without a wrap is left as is (the call fails harmlessly).
    unsafe { sys::napi_remove_wrap(env.raw(), owner.raw(), &mut wrapped) };
    let mut map = MAPS.with_borrow_mut(|maps| maps.remove(handle))?;
    drop_references(env.raw(), map.references(), true);
    // Only the table holds the mapping when no buffer or task does.
    let shared = Arc::strong_count(&map.mapping) > 1;
    Some(Closing {
        mapping: map.mapping,
        shared,
    })
}

impl NativeMap {
    /// Takes every buffer reference this map holds, current and retired.
    fn references(&mut self) -> Vec<sys::napi_ref> {
        let current = std::mem::take(&mut self.buffers).into_iter().flatten();
        let retired = std::mem::take(&mut self.retired);
        current.chain(retired).map(|slot| slot.reference).collect()
    }
}

/// Resizes the map `handle` names (the core's transaction), then sorts its
/// buffers: a chunk's buffer stays current if it still covers the whole chunk
/// at the same address; the others are retired (still valid over what they
/// cover), and every buffer that reaches past a smaller end is detached.
pub fn resize(env: &Env, handle: Handle, request: Resize) -> Result<()> {
    release_unreached(handle)?;
    let mapping = mapping_of(handle)?;
    // The table's share and this one: any other is a buffer's or a task's.
    let held = Arc::strong_count(&mapping) > 2;
    let tail_in_use = with_map(handle, |map| {
        map.cut.retain(|cut| cut.alive.strong_count() > 0);
        Ok(!map.cut.is_empty())
    })?;
    let request = Resize {
        held,
        tail_in_use,
        ..request
    };
    mapping.resize(&request).map_err(to_js_error)?;
    let (first, new_len) = mapping.span();
    let (cut, prune) = with_map(handle, |map| {
        let chunk = map.chunk_bytes;
        let chunks = new_len.div_ceil(chunk);
        let mut current = vec![None; chunks];
        for (index, slot) in std::mem::take(&mut map.buffers).into_iter().enumerate() {
            let Some(slot) = slot else { continue };
            let start = index * chunk;
            let same =
                index < chunks && slot.address == first as usize + start && slot.len == (new_len - start).min(chunk);
            if same {
                current[index] = Some(slot);
            } else {
                map.retired.push(slot);
            }
        }
        map.buffers = current;
        let mut cut = Vec::new();
        let mut tokens = Vec::new();
        map.retired.retain(|slot| {
            let past = slot.start + slot.len > new_len;
            if past {
                cut.push(slot.reference);
                tokens.push(Cut {
                    alive: slot.alive.clone(),
                    address: slot.address,
                    len: slot.len,
                });
            }
            !past
        });
        map.cut.extend(tokens);
        // Appending in a loop while taking `data` retires a buffer per
        // append: look for collected ones once the list is long.
        let prune = map.retired.len() > 64;
        Ok((cut, prune))
    })?;
    drop_references(env.raw(), cut, true);
    if prune {
        let retired = with_map(handle, |map| Ok(std::mem::take(&mut map.retired)))?;
        let mut live = Vec::with_capacity(retired.len());
        let mut collected = Vec::new();
        for slot in retired {
            let mut value = ptr::null_mut();
            // SAFETY: the reference belongs to this map and env, not yet deleted.
            let status = unsafe { sys::napi_get_reference_value(env.raw(), slot.reference, &mut value) };
            if status == sys::Status::napi_ok && !value.is_null() {
                live.push(slot);
            } else {
                collected.push(slot.reference);
            }
        }
        drop_references(env.raw(), collected, false);
        with_map(handle, |map| {
            map.retired.extend(live);
            Ok(())
        })?;
    }
    Ok(())
}

/// Unmaps the mappings a growth kept for held addresses (the core's
/// `retained`) that no buffer reaches any more, when no task holds the map.
///
/// Every share of the mapping besides the table's is a task's or a buffer's,
/// and every buffer this map made has its token here (current, retired or
/// cut; a slot dropped from these lists leaves its share uncounted, which
/// only looks like a task). The mapping's count is read before the tokens':
/// a share that drops in between (token first) is then counted as a task,
/// never the reverse.
fn release_unreached(handle: Handle) -> Result<()> {
    with_map(handle, |map| {
        let shares = Arc::strong_count(&map.mapping);
        let live = |alive: &Weak<()>| alive.strong_count();
        let slots = map.buffers.iter().flatten().chain(map.retired.iter());
        let spans: Vec<(usize, usize, usize)> = slots
            .map(|slot| (live(&slot.alive), slot.address, slot.len))
            .chain(map.cut.iter().map(|cut| (live(&cut.alive), cut.address, cut.len)))
            .filter(|&(count, ..)| count > 0)
            .collect();
        let buffer_shares: usize = spans.iter().map(|&(count, ..)| count).sum();
        if shares != 1 + buffer_shares {
            return Ok(());
        }
        let reaches = |first: usize, len: usize| {
            spans
                .iter()
                .any(|&(_, address, n)| address < first + len && first < address + n.max(1))
        };
        // SAFETY: no task holds the mapping (every share but the table's is a
        // buffer's), and a retained mapping no live buffer lies in is reached
        // by nothing: buffers are the only addresses JavaScript or Node holds.
        unsafe { map.mapping.release_retained(reaches) };
        Ok(())
    })
}

/// Deletes the weak references to a map's buffers, detaching each buffer
/// first if `detach`.
fn drop_references(env: sys::napi_env, buffers: Vec<sys::napi_ref>, detach: bool) {
    for reference in buffers {
        let mut value = ptr::null_mut();
        // SAFETY: `reference` belongs to this map and `env`; it is read and
        // then deleted exactly once. Only buffers this map created are
        // detached (napi would detach any ArrayBuffer, even Node's pool).
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

/// Whether this runtime refuses external ArrayBuffers (Electron's V8 memory
/// cage), found by asking for one over a few static bytes: JavaScript asks
/// once, before its first map binds a view, so that every view picks its
/// element access knowing it.
pub fn refuses_external_buffers(env: &Env) -> bool {
    static PROBE: [u8; 8] = [0; 8];
    if REFUSE_EXTERNAL_BUFFERS.load(Ordering::Relaxed) {
        return true;
    }
    let mut value = ptr::null_mut();
    // SAFETY: `PROBE` is static, so it outlives any buffer over it; JavaScript
    // never sees this buffer (it is garbage at once), so nothing writes the
    // bytes; no finalizer is needed for memory that is never freed.
    let status = unsafe {
        sys::napi_create_external_arraybuffer(
            env.raw(),
            PROBE.as_ptr().cast_mut().cast(),
            PROBE.len(),
            None,
            ptr::null_mut(),
            &mut value,
        )
    };
    status == sys::Status::napi_no_external_buffers_allowed
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
    unsafe fn to_napi_value(_env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        Ok(val.0)
    }
}

/// The ArrayBuffer over chunk `index` (bytes `index * chunkBytes` onward),
/// created on first use.
pub fn buffer(env: &Env, handle: Handle, index: u32) -> Result<ArrayBufferValue> {
    let raw_env = env.raw();
    let index = index as usize;
    // The table is not borrowed across Node-API calls, which may run finalizers.
    let (mapping, chunk_bytes, existing) = with_map(handle, |map| match map.buffers.get_mut(index) {
        Some(slot) => Ok((map.mapping.clone(), map.chunk_bytes, slot.take())),
        None => Err(coded(
            Code::InvalidArg,
            format!("chunk {index} is past the end of the map"),
        )),
    })?;
    let keep = |slot: Slot| {
        let _ = with_map(handle, |map| {
            map.buffers[index] = Some(slot);
            Ok(())
        });
    };
    if let Some(slot) = existing {
        let mut value = ptr::null_mut();
        // SAFETY: `reference` was created by this map in `raw_env`'s realm and
        // not yet deleted.
        let status = unsafe { sys::napi_get_reference_value(raw_env, slot.reference, &mut value) };
        if status == sys::Status::napi_ok && !value.is_null() {
            keep(slot);
            return Ok(ArrayBufferValue(value));
        }
        // Collected: drop the stale reference and make a new buffer.
        // SAFETY: as above; the reference is deleted once, here.
        unsafe { sys::napi_delete_reference(raw_env, slot.reference) };
    }
    let start = index * chunk_bytes;
    // Address and length read together: a map that grew may start elsewhere.
    let (first, mapped) = mapping.span();
    let len = (mapped - start).min(chunk_bytes);
    // SAFETY: `start` is within the mapping (index < number of chunks).
    let data = unsafe { first.add(start) };
    let alive = Arc::new(());
    let store_share = Box::into_raw(Box::new(Share {
        _mapping: mapping.clone(),
        _alive: alive.clone(),
    }));
    let mut value = ptr::null_mut();
    let status = if REFUSE_EXTERNAL_BUFFERS.load(Ordering::Relaxed) {
        sys::Status::napi_no_external_buffers_allowed
    } else {
        // SAFETY: `data..data+len` stays mapped for as long as `store_share`
        // (an `Arc<Mapping>` in a `Share`) lives, and the finalizer drops it exactly once.
        // The raw call is used instead of napi-rs's `from_external`, which on
        // refusal silently copies and runs the finalizer at once.
        unsafe {
            sys::napi_create_external_arraybuffer(
                raw_env,
                data.cast(),
                len,
                Some(release_store_share),
                store_share.cast(),
                &mut value,
            )
        }
    };
    if status == sys::Status::napi_no_external_buffers_allowed {
        // Refused before anything was created: the finalizer never runs.
        // SAFETY: `store_share` came from Box::into_raw above and was not handed on.
        drop(unsafe { Box::from_raw(store_share) });
        return Err(coded(
            Code::ExternalBuffersRefused,
            "this runtime refuses external ArrayBuffers (Electron's V8 memory cage), so no zero-copy \
             view of a mapping can exist here: use read(start, length) and write(start, values), \
             which copy blocks of elements in one call (get, set, toArray, fill, assign, iteration \
             and the reductions work too)",
        ));
    }
    if status != sys::Status::napi_ok {
        // Whether the runtime ran the finalizer is unknown here (Node runs it
        // before failing with ERR_BUFFER_TOO_LARGE), so the share is left
        // alone: a leaked share is safe, a double free is not.
        return Err(coded(
            Code::BufferFailed,
            format!("the runtime refused a {len}-byte external ArrayBuffer (napi status {status})"),
        ));
    }
    let object_share = Box::into_raw(Box::new(Share {
        _mapping: mapping,
        _alive: alive.clone(),
    }));
    // SAFETY: `value` is the ArrayBuffer just created in this env (an object);
    // the finalizer drops `object_share` exactly once, when the object is
    // collected (or the env torn down). No reference is asked back.
    let status = unsafe {
        sys::napi_add_finalizer(
            raw_env,
            value,
            object_share.cast(),
            Some(release_object_share),
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    if status != sys::Status::napi_ok {
        // Without the object's share the placeholder could go while the buffer
        // is in use: the buffer is not handed out. Nothing has seen it, so
        // detaching it now frees its backing store (and that share) safely.
        // SAFETY: `object_share` was not handed on; `value` is ours.
        unsafe {
            drop(Box::from_raw(object_share));
            sys::napi_detach_arraybuffer(raw_env, value);
        }
        return Err(coded(
            Code::BufferFailed,
            format!("the runtime could not tie the mapping to its ArrayBuffer (napi status {status})"),
        ));
    }
    let mut reference = ptr::null_mut();
    // SAFETY: `value` is the ArrayBuffer just created in this env; a weak
    // (count 0) reference does not keep it alive.
    let status = unsafe { sys::napi_create_reference(raw_env, value, 0, &mut reference) };
    if status == sys::Status::napi_ok {
        keep(Slot {
            reference,
            address: data as usize,
            start,
            len,
            alive: Arc::downgrade(&alive),
        });
    }
    Ok(ArrayBufferValue(value))
}

/// Finalizer of a buffer's backing store: lets go of its share of the mapping.
unsafe extern "C" fn release_store_share(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
    // SAFETY: `hint` is the `Box<Share>` leaked in `buffer()` for this
    // backing store alone, and Node-API calls a finalizer exactly once.
    drop(unsafe { Box::from_raw(hint.cast::<Share>()) });
}

/// Finalizer of a buffer object: lets go of its share of the mapping.
unsafe extern "C" fn release_object_share(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the `Box<Share>` leaked in `buffer()` for this
    // object alone, and Node-API calls a finalizer exactly once.
    drop(unsafe { Box::from_raw(data.cast::<Share>()) });
}

/// A Node Buffer that owns `bytes` (a result made off the main thread), with
/// V8 told of its size, so that a loop of such results is collected as
/// often as one of ArrayBuffers would be (Node runs the finalizer that frees
/// them on the next turn of the event loop, which an awaiting loop gives).
/// Copied where the runtime refuses external buffers.
pub fn owned_buffer(env: sys::napi_env, bytes: Vec<u8>) -> Result<BufferValue> {
    let len = bytes.len();
    if len > 0 && !REFUSE_EXTERNAL_BUFFERS.load(Ordering::Relaxed) {
        let owned = Box::into_raw(Box::new(bytes));
        let mut value = ptr::null_mut();
        // SAFETY: `owned` came from Box::into_raw above; its bytes stay
        // allocated until `release_owned` drops the box, which Node-API calls
        // exactly once, when the Buffer's backing store is freed.
        let status = unsafe {
            sys::napi_create_external_buffer(
                env,
                len,
                (*owned).as_mut_ptr().cast(),
                Some(release_owned),
                owned.cast(),
                &mut value,
            )
        };
        if status == sys::Status::napi_ok {
            count_external(env, len as i64);
            return Ok(BufferValue(value));
        }
        if status != sys::Status::napi_no_external_buffers_allowed {
            // Whether the runtime ran the finalizer is unknown here (as in
            // `buffer()`): the bytes are left alone; a leak is safe, a double
            // free is not.
            return Err(coded(
                Code::BufferFailed,
                format!("the runtime refused a {len}-byte external Buffer (napi status {status})"),
            ));
        }
        // Refused before anything was created: the finalizer never runs.
        // SAFETY: `owned` came from Box::into_raw above and was not handed on.
        let bytes = unsafe { Box::from_raw(owned) };
        return copied_buffer(env, &bytes);
    }
    copied_buffer(env, &bytes)
}

/// A Node Buffer holding a copy of `bytes`.
fn copied_buffer(env: sys::napi_env, bytes: &[u8]) -> Result<BufferValue> {
    let mut data = ptr::null_mut();
    let mut value = ptr::null_mut();
    // SAFETY: `bytes` is borrowed for the call; Node copies it into memory of its own.
    let status =
        unsafe { sys::napi_create_buffer_copy(env, bytes.len(), bytes.as_ptr().cast(), &mut data, &mut value) };
    if status != sys::Status::napi_ok {
        return Err(coded(
            Code::BufferFailed,
            format!(
                "the runtime could not make a {}-byte Buffer (napi status {status})",
                bytes.len()
            ),
        ));
    }
    Ok(BufferValue(value))
}

/// A raw `napi_value` known to be a Node Buffer, returned as is.
pub struct BufferValue(sys::napi_value);

impl TypeName for BufferValue {
    fn type_name() -> &'static str {
        "Buffer"
    }
    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ToNapiValue for BufferValue {
    unsafe fn to_napi_value(_env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        Ok(val.0)
    }
}

/// Tells V8 of `bytes` more (or fewer) bytes of memory its objects hold
/// outside its heap: V8 counts only its own heap when it decides to collect.
fn count_external(env: sys::napi_env, bytes: i64) {
    let mut total = 0;
    // SAFETY: `env` is the calling realm's; the call only updates V8's
    // counter (and may start a collection).
    unsafe { sys::napi_adjust_external_memory(env, bytes, &mut total) };
}

/// Finalizer of an owned Buffer: frees its bytes and tells V8.
unsafe extern "C" fn release_owned(env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
    // SAFETY: `hint` is the `Box<Vec<u8>>` leaked for this buffer alone, and
    // Node-API calls a finalizer exactly once.
    let bytes = unsafe { Box::from_raw(hint.cast::<Vec<u8>>()) };
    if !env.is_null() {
        count_external(env, -(bytes.len() as i64));
    }
    drop(bytes);
}

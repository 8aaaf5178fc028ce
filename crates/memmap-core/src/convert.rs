//! Element conversions: numpy's `astype(dtype)` with `casting='unsafe'`, and
//! `copy()`, from any strided view (of a map or of an in-memory buffer) into
//! a C-order buffer, in either byte order on both sides.
//!
//! Float to integer follows what numpy 2.x gives on x86-64 (its SIMD casts,
//! which are the hardware's truncating conversions): a NaN, an infinity or a
//! value out of range becomes the "integer indefinite" value of the 32- or
//! 64-bit conversion, then wraps to the target's width. Exactly:
//!
//! - int8, uint8, int16, uint16 and int32: truncate to int32 (out of range or
//!   NaN: `i32::MIN`), then wrap;
//! - int64: truncate to int64 (out of range or NaN: `i64::MIN`);
//! - uint32 from float32/float64/complex: `x >= 2^31 ? trunc32(x - 2^31) ^
//!   2^31 : trunc32(x)`, what numpy's vector loop gives; its scalar loop (the
//!   last elements of an array) truncates through int64 instead, so for values
//!   outside `(-2^31 - 1, 2^32)` numpy itself depends on the element's position,
//!   and memmap gives the vector loop's value everywhere; from float16:
//!   truncate to int64, then wrap;
//! - uint64: `x >= 2^63 ? trunc64(x - 2^63) ^ 2^63 : trunc64(x)`.
//!
//! Complex to real takes the real part (numpy warns); to bool, either part
//! non-zero. Float to float16 rounds once, to nearest-even.

use crate::copy::{copy_in_steps, each_run};
use crate::reduce::element::{f16_to_f32, Element};
use crate::{Elements, Error, ErrorKind, Mapping, Result, HUGE_PAGES_BYTES};

/// Elements converted per step of a thread: a staging block that stays in cache.
const STAGE_ELEMENTS: usize = 16 << 10;

/// Below this many target bytes, one thread: starting threads costs more.
const PARALLEL_BYTES: usize = 8 << 20;

/// A conversion: from elements of kind `from` (bytes swapped from this
/// machine's order when `from_swap`) to `to` (stored swapped when `to_swap`).
/// datetime64 and timedelta64 convert as their int64 counts: the caller
/// decides which of those conversions mean anything (units are not here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cast {
    pub from: Element,
    pub from_swap: bool,
    pub to: Element,
    pub to_swap: bool,
}

impl Cast {
    /// A copy of the bytes as they are.
    fn is_copy(&self) -> bool {
        self.from.itemsize() == self.to.itemsize()
            && (self.from == self.to || (self.from.is_time() && self.to.is_time()))
            && self.from_swap == self.to_swap
    }
}

/// What a conversion reads from: a value of one element kind.
trait Value: Copy {
    /// float16 (its uint32 rule differs: see the module comment).
    const HALF: bool = false;
    /// float32 (or complex64): float16 from it is one f32 rounding.
    const SINGLE: bool = false;
    /// A float or complex kind: integer targets use the truncation rules.
    const FLOAT: bool;
    /// Loads one value from `p`, swapping its bytes when `swap`.
    ///
    /// # Safety
    ///
    /// `p` points at the value's bytes (any alignment), readable.
    unsafe fn load(p: *const u8, swap: bool) -> Self;
    /// The integer value of an integer or bool (floats: unused).
    fn int(self) -> i128;
    /// The value as f64 (complex: its real part), rounded once.
    fn real(self) -> f64;
    /// The value as f32 (complex: its real part), rounded once.
    fn real32(self) -> f32;
    fn imag(self) -> f64;
    fn nonzero(self) -> bool;
    /// A float16's bits (the others: unused).
    fn half_bits(self) -> u16 {
        0
    }
}

/// What a conversion writes: a value of one element kind.
trait Target: Copy {
    fn from<V: Value>(v: V) -> Self;
    /// Stores the value at `p`, its bytes swapped when `swap`.
    ///
    /// # Safety
    ///
    /// `p` points at the value's bytes (any alignment), writable.
    unsafe fn store(self, p: *mut u8, swap: bool);
}

#[derive(Clone, Copy)]
struct Bool(u8);
#[derive(Clone, Copy)]
struct Half(u16);
#[derive(Clone, Copy)]
struct C32(f32, f32);
#[derive(Clone, Copy)]
struct C64(f64, f64);

macro_rules! raw_int {
    ($($t:ty),*) => {$(
        impl Value for $t {
            const FLOAT: bool = false;
            #[inline(always)]
            unsafe fn load(p: *const u8, swap: bool) -> Self {
                // SAFETY: the caller promises the bytes are readable.
                let v = unsafe { std::ptr::read_unaligned(p as *const $t) };
                if swap { v.swap_bytes() } else { v }
            }
            #[inline(always)]
            fn int(self) -> i128 { self as i128 }
            #[inline(always)]
            fn real(self) -> f64 { self as f64 }
            #[inline(always)]
            fn real32(self) -> f32 { self as f32 }
            #[inline(always)]
            fn imag(self) -> f64 { 0.0 }
            #[inline(always)]
            fn nonzero(self) -> bool { self != 0 }
        }
        impl Target for $t {
            #[inline(always)]
            fn from<V: Value>(v: V) -> Self {
                if V::FLOAT { float_to_int(v.real()) as $t } else { v.int() as $t }
            }
            #[inline(always)]
            unsafe fn store(self, p: *mut u8, swap: bool) {
                let v = if swap { self.swap_bytes() } else { self };
                // SAFETY: the caller promises the bytes are writable.
                unsafe { std::ptr::write_unaligned(p as *mut $t, v) }
            }
        }
    )*};
}
raw_int!(i8, u8, i16, u16, i32, u32, i64, u64);

/// Float to int8, uint8, int16, uint16, int32: truncation to 32 bits (the
/// caller's `as` then wraps); int64, uint32 and uint64 have their own
/// wrappers (I64, U32, U64) with their rules.
#[inline(always)]
fn float_to_int(x: f64) -> i128 {
    trunc32(x) as i128
}

/// x86's cvttsd2si to 32 bits: NaN or out of range gives `i32::MIN`.
#[inline(always)]
fn trunc32(x: f64) -> i32 {
    if x > -2147483649.0 && x < 2147483648.0 {
        x as i32
    } else {
        i32::MIN
    }
}

/// x86's cvttsd2si to 64 bits: NaN or out of range gives `i64::MIN`.
#[inline(always)]
fn trunc64(x: f64) -> i64 {
    if (-9223372036854775808.0..9223372036854775808.0).contains(&x) {
        x as i64
    } else {
        i64::MIN
    }
}

impl Value for Bool {
    const FLOAT: bool = false;
    #[inline(always)]
    unsafe fn load(p: *const u8, _swap: bool) -> Self {
        // SAFETY: the caller promises the byte is readable.
        Bool(unsafe { p.read() })
    }
    #[inline(always)]
    fn int(self) -> i128 {
        (self.0 != 0) as i128
    }
    #[inline(always)]
    fn real(self) -> f64 {
        (self.0 != 0) as u8 as f64
    }
    #[inline(always)]
    fn real32(self) -> f32 {
        (self.0 != 0) as u8 as f32
    }
    #[inline(always)]
    fn imag(self) -> f64 {
        0.0
    }
    #[inline(always)]
    fn nonzero(self) -> bool {
        self.0 != 0
    }
}

impl Target for Bool {
    #[inline(always)]
    fn from<V: Value>(v: V) -> Self {
        Bool(v.nonzero() as u8)
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut u8, _swap: bool) {
        // SAFETY: the caller promises the byte is writable.
        unsafe { p.write(self.0) }
    }
}

impl Value for Half {
    const HALF: bool = true;
    const FLOAT: bool = true;
    #[inline(always)]
    unsafe fn load(p: *const u8, swap: bool) -> Self {
        // SAFETY: forwarded from the caller.
        Half(unsafe { <u16 as Value>::load(p, swap) })
    }
    fn int(self) -> i128 {
        0
    }
    #[inline(always)]
    fn real(self) -> f64 {
        if self.0 & 0x7c00 == 0x7c00 && self.0 & 0x3ff != 0 {
            // A NaN's payload as numpy carries it (its bits, never quieted, as
            // the f32 to f64 conversion would quiet a signalling one).
            let sign = ((self.0 & 0x8000) as u64) << 48;
            return f64::from_bits(sign | 0x7ff0_0000_0000_0000 | (((self.0 & 0x3ff) as u64) << 42));
        }
        f16_to_f32(self.0) as f64
    }
    #[inline(always)]
    fn real32(self) -> f32 {
        f16_to_f32(self.0)
    }
    #[inline(always)]
    fn imag(self) -> f64 {
        0.0
    }
    #[inline(always)]
    fn nonzero(self) -> bool {
        self.0 & 0x7fff != 0
    }
    fn half_bits(self) -> u16 {
        self.0
    }
}

impl Target for Half {
    #[inline(always)]
    fn from<V: Value>(v: V) -> Self {
        if V::HALF {
            // float16 to float16 (another byte order): the bits, NaN payloads too.
            Half(v.half_bits())
        } else if V::SINGLE {
            Half(f32_to_f16(v.real32()))
        } else {
            Half(f64_to_f16_fast(v.real()))
        }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut u8, swap: bool) {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.store(p, swap) }
    }
}

macro_rules! float {
    ($t:ty, $bits:ty, $single:expr) => {
        impl Value for $t {
            const SINGLE: bool = $single;
            const FLOAT: bool = true;
            #[inline(always)]
            unsafe fn load(p: *const u8, swap: bool) -> Self {
                // SAFETY: forwarded from the caller.
                <$t>::from_bits(unsafe { <$bits as Value>::load(p, swap) })
            }
            fn int(self) -> i128 {
                0
            }
            #[inline(always)]
            fn real(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn real32(self) -> f32 {
                self as f32
            }
            #[inline(always)]
            fn imag(self) -> f64 {
                0.0
            }
            #[inline(always)]
            fn nonzero(self) -> bool {
                self != 0.0
            }
        }
        impl Target for $t {
            #[inline(always)]
            fn from<V: Value>(v: V) -> Self {
                if std::mem::size_of::<$t>() == 4 {
                    v.real32() as $t
                } else {
                    v.real() as $t
                }
            }
            #[inline(always)]
            unsafe fn store(self, p: *mut u8, swap: bool) {
                // SAFETY: forwarded from the caller.
                unsafe { self.to_bits().store(p, swap) }
            }
        }
    };
}
float!(f32, u32, true);
float!(f64, u64, false);

macro_rules! complex {
    ($t:ident, $f:ty, $single:expr) => {
        impl Value for $t {
            const SINGLE: bool = $single;
            const FLOAT: bool = true;
            #[inline(always)]
            unsafe fn load(p: *const u8, swap: bool) -> Self {
                let half = std::mem::size_of::<$f>();
                // SAFETY: the caller promises both parts are readable.
                unsafe {
                    $t(
                        <$f as Value>::load(p, swap),
                        <$f as Value>::load(p.add(half), swap),
                    )
                }
            }
            fn int(self) -> i128 {
                0
            }
            #[inline(always)]
            fn real(self) -> f64 {
                self.0 as f64
            }
            #[inline(always)]
            fn real32(self) -> f32 {
                self.0 as f32
            }
            #[inline(always)]
            fn imag(self) -> f64 {
                self.1 as f64
            }
            #[inline(always)]
            fn nonzero(self) -> bool {
                self.0 != 0.0 || self.1 != 0.0
            }
        }
        impl Target for $t {
            #[inline(always)]
            fn from<V: Value>(v: V) -> Self {
                $t(<$f as Target>::from(v), v.imag() as $f)
            }
            #[inline(always)]
            unsafe fn store(self, p: *mut u8, swap: bool) {
                let half = std::mem::size_of::<$f>();
                // SAFETY: the caller promises both parts are writable.
                unsafe {
                    self.0.store(p, swap);
                    self.1.store(p.add(half), swap);
                }
            }
        }
    };
}
complex!(C32, f32, true);
complex!(C64, f64, false);

/// uint32 and uint64 targets from floats follow their own rules (module
/// comment); these wrappers pick them.
#[derive(Clone, Copy)]
struct U32(u32);
#[derive(Clone, Copy)]
struct U64(u64);

impl Target for U32 {
    #[inline(always)]
    fn from<V: Value>(v: V) -> Self {
        if !V::FLOAT {
            return U32(v.int() as u32);
        }
        let x = v.real();
        if V::HALF {
            U32(trunc64(x) as u32)
        } else if x >= 2147483648.0 {
            U32((trunc32(x - 2147483648.0) as u32) ^ 0x8000_0000)
        } else {
            U32(trunc32(x) as u32)
        }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut u8, swap: bool) {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.store(p, swap) }
    }
}

impl Target for U64 {
    #[inline(always)]
    fn from<V: Value>(v: V) -> Self {
        if !V::FLOAT {
            return U64(v.int() as u64);
        }
        let x = v.real();
        if x >= 9223372036854775808.0 {
            U64((trunc64(x - 9223372036854775808.0) as u64) ^ (1 << 63))
        } else {
            U64(trunc64(x) as u64)
        }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut u8, swap: bool) {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.store(p, swap) }
    }
}

/// int64 targets from floats truncate to 64 bits (the others through 32).
#[derive(Clone, Copy)]
struct I64(i64);

impl Target for I64 {
    #[inline(always)]
    fn from<V: Value>(v: V) -> Self {
        if V::FLOAT {
            I64(trunc64(v.real()))
        } else {
            I64(v.int() as i64)
        }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut u8, swap: bool) {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.store(p, swap) }
    }
}

/// f32 to IEEE binary16 bits, rounded to nearest-even; branch-light so that
/// the loop vectorises (F. Giesen's `float_to_half_fast3_rtne`).
#[inline(always)]
pub fn f32_to_f16(x: f32) -> u16 {
    let bits = x.to_bits();
    let sign = bits & 0x8000_0000;
    let f = bits ^ sign;
    let o = if f >= 0x4780_0000 {
        // 65536 or more, infinity, NaN: the payload's top bits, as numpy
        // keeps them (not quieted; never zero, which would be infinity).
        if f > 0x7f80_0000 {
            0x7c00 | ((f & 0x7f_ffff) >> 13).max(1)
        } else {
            0x7c00
        }
    } else if f < 0x3880_0000 {
        // Below the smallest normal half: adding 0.5 lets the FPU round the
        // subnormal to nearest-even at the right place.
        const MAGIC: u32 = ((127 - 15) + (23 - 10) + 1) << 23;
        (f32::from_bits(f) + f32::from_bits(MAGIC)).to_bits() - MAGIC
    } else {
        let odd = (f >> 13) & 1;
        // Rebias the exponent and round: a carry into the exponent is right.
        let f = f.wrapping_add(((15u32.wrapping_sub(127)) << 23).wrapping_add(0xfff)) + odd;
        f >> 13
    };
    (o | (sign >> 16)) as u16
}

/// f64 to IEEE binary16 bits, rounded once to nearest-even (a detour through
/// f32 would round twice): the same scheme as [`f32_to_f16`] on f64 bits.
#[inline(always)]
pub fn f64_to_f16_fast(x: f64) -> u16 {
    let bits = x.to_bits();
    let sign = ((bits >> 48) & 0x8000) as u16;
    let f = bits & !(1u64 << 63);
    let o: u64 = if f >= 0x40f0_0000_0000_0000 {
        if f > 0x7ff0_0000_0000_0000 {
            // A NaN: as f32_to_f16.
            0x7c00 | ((f & 0xf_ffff_ffff_ffff) >> 42).max(1)
        } else {
            0x7c00
        }
    } else if f < 0x3f10_0000_0000_0000 {
        // Units of 2^-24: adding 2^28 (whose ulp is 2^-24) rounds there.
        const MAGIC: u64 = (1023 + 28) << 52;
        (f64::from_bits(f) + f64::from_bits(MAGIC)).to_bits() - MAGIC
    } else {
        let odd = (f >> 42) & 1;
        let f = f
            .wrapping_add((15u64.wrapping_sub(1023)) << 52)
            .wrapping_add((1 << 41) - 1)
            + odd;
        f >> 42
    };
    o as u16 | sign
}

/// Converts `n` elements from `src` (packed) to `dst` (packed).
///
/// # Safety
///
/// `src` holds `n` readable `S`-sized elements and `dst` `n` writable
/// `T`-sized ones, not overlapping.
#[inline(never)]
unsafe fn run<S: Value, T: Target>(src: *const u8, dst: *mut u8, n: usize, cast: &Cast) {
    let (ss, ts) = (cast.from.itemsize(), cast.to.itemsize());
    if !cast.from_swap && !cast.to_swap {
        for i in 0..n {
            // SAFETY: i < n, as the caller promised.
            unsafe { T::from(S::load(src.add(i * ss), false)).store(dst.add(i * ts), false) }
        }
    } else {
        for i in 0..n {
            // SAFETY: as above.
            unsafe { T::from(S::load(src.add(i * ss), cast.from_swap)).store(dst.add(i * ts), cast.to_swap) }
        }
    }
}

/// Calls `run::<S, T>` for the cast's element kinds.
///
/// # Safety
///
/// As [`run`].
unsafe fn dispatch(src: *const u8, dst: *mut u8, n: usize, cast: &Cast) {
    use Element as E;
    macro_rules! to {
        ($s:ty) => {
            // SAFETY: forwarded from the caller.
            unsafe {
                match cast.to {
                    E::Bool => run::<$s, Bool>(src, dst, n, cast),
                    E::I8 => run::<$s, i8>(src, dst, n, cast),
                    E::U8 => run::<$s, u8>(src, dst, n, cast),
                    E::I16 => run::<$s, i16>(src, dst, n, cast),
                    E::U16 => run::<$s, u16>(src, dst, n, cast),
                    E::I32 => run::<$s, i32>(src, dst, n, cast),
                    E::U32 => run::<$s, U32>(src, dst, n, cast),
                    E::I64 | E::Datetime | E::Timedelta => run::<$s, I64>(src, dst, n, cast),
                    E::U64 => run::<$s, U64>(src, dst, n, cast),
                    E::F16 => run::<$s, Half>(src, dst, n, cast),
                    E::F32 => run::<$s, f32>(src, dst, n, cast),
                    E::F64 => run::<$s, f64>(src, dst, n, cast),
                    E::C64 => run::<$s, C32>(src, dst, n, cast),
                    E::C128 => run::<$s, C64>(src, dst, n, cast),
                }
            }
        };
    }
    match cast.from {
        E::Bool => to!(Bool),
        E::I8 => to!(i8),
        E::U8 => to!(u8),
        E::I16 => to!(i16),
        E::U16 => to!(u16),
        E::I32 => to!(i32),
        E::U32 => to!(u32),
        E::I64 | E::Datetime | E::Timedelta => to!(i64),
        E::U64 => to!(u64),
        E::F16 => to!(Half),
        E::F32 => to!(f32),
        E::F64 => to!(f64),
        E::C64 => to!(C32),
        E::C128 => to!(C64),
    }
}

/// Converts packed elements: `src` holds whole `cast.from` elements, `dst`
/// as many `cast.to` elements.
///
/// # Errors
///
/// Lengths that are not whole, matching numbers of elements.
///
/// # Examples
///
/// ```
/// use memmap_core::convert::{convert, Cast};
/// use memmap_core::Element;
/// let src: Vec<u8> = [1.5f64, -2.7, f64::NAN].iter().flat_map(|x| x.to_ne_bytes()).collect();
/// let mut dst = [0u8; 3];
/// let cast = Cast { from: Element::F64, from_swap: false, to: Element::I8, to_swap: false };
/// convert(&cast, &src, &mut dst).unwrap();
/// assert_eq!(dst, [1, (-2i8) as u8, 0]);
/// ```
pub fn convert(cast: &Cast, src: &[u8], dst: &mut [u8]) -> Result<()> {
    let n = src.len() / cast.from.itemsize();
    if !src.len().is_multiple_of(cast.from.itemsize()) || dst.len() != n * cast.to.itemsize() {
        return Err(Error::new(
            ErrorKind::Io,
            format!(
                "a conversion of {} bytes of {} into {} bytes of {}",
                src.len(),
                cast.from.code(),
                dst.len(),
                cast.to.code()
            ),
        ));
    }
    // SAFETY: the lengths were checked above; `&mut dst` cannot alias `src`.
    unsafe { dispatch(src.as_ptr(), dst.as_mut_ptr(), n, cast) };
    Ok(())
}

/// Converts elements `first..` of `view` over the memory at `base` (`len`
/// bytes) into `dst` (as many whole target elements as it holds), in C
/// order, on up to `threads` threads.
///
/// # Safety
///
/// `base..base + len` is readable for the whole call and does not overlap
/// `dst`. It may be a shared map that others write: values are copied, never
/// referenced.
unsafe fn convert_raw(
    base: *const u8,
    len: usize,
    view: &Elements<'_>,
    first: usize,
    cast: &Cast,
    dst: &mut [u8],
    threads: usize,
) -> Result<()> {
    let (ss, ts) = (cast.from.itemsize(), cast.to.itemsize());
    if view.item_size != ss || !dst.len().is_multiple_of(ts) {
        return Err(Error::new(
            ErrorKind::Io,
            format!(
                "a conversion of {}-byte elements as {} into {} bytes of {}",
                view.item_size,
                cast.from.code(),
                dst.len(),
                cast.to.code()
            ),
        ));
    }
    let count = dst.len() / ts;
    if dst.len() >= HUGE_PAGES_BYTES {
        crate::sys::huge_pages(dst);
    }
    // Checks the whole range once (bounds and view), before any thread starts.
    each_run(len, view, first, count * ss, |_, _, _| {})?;
    let threads = if dst.len() < PARALLEL_BYTES { 1 } else { threads.max(1) };
    let per = count.div_ceil(threads).max(1);
    // Raw pointers are not Send: the address travels as a number.
    let base = base as usize;
    let copy = cast.is_copy();
    let work = |start: usize, out: &mut [u8]| -> Result<()> {
        let base = base as *const u8;
        let n = out.len() / ts;
        if copy {
            let target = out.as_mut_ptr();
            return each_run(len, view, first + start, n * ss, |at, done, bytes| {
                // SAFETY: each_run checked the run lies in `base..base + len`,
                // readable by the caller's promise, and `done + bytes` within
                // `out`, which does not overlap it.
                unsafe { copy_in_steps(base.add(at), target.add(done), bytes) }
            });
        }
        let mut stage = vec![0u8; STAGE_ELEMENTS.min(n) * ss];
        let mut k = 0;
        while k < n {
            let m = STAGE_ELEMENTS.min(n - k);
            let staged = stage.as_mut_ptr();
            each_run(len, view, first + start + k, m * ss, |at, done, bytes| {
                // SAFETY: as above, into this thread's own stage.
                unsafe { std::ptr::copy_nonoverlapping(base.add(at), staged.add(done), bytes) }
            })?;
            convert(cast, &stage[..m * ss], &mut out[k * ts..(k + m) * ts])?;
            k += m;
        }
        Ok(())
    };
    if threads == 1 {
        return work(0, dst);
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = dst
            .chunks_mut(per * ts)
            .enumerate()
            .map(|(i, out)| {
                let work = &work;
                scope.spawn(move || work(i * per, out))
            })
            .collect();
        handles.into_iter().try_for_each(|h| {
            h.join()
                .unwrap_or_else(|_| Err(Error::new(ErrorKind::Io, "a conversion thread panicked")))
        })
    })
}

/// The threads a large conversion uses: one per core, at most four.
fn thread_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4)
}

/// Converts elements `first..` of `view` over `memory` into `dst`, in C order
/// (an in-memory array's conversion).
///
/// # Errors
///
/// A view that reaches outside `memory`, a range past its last element,
/// lengths that are not whole elements.
pub fn convert_view(memory: &[u8], view: &Elements<'_>, first: usize, cast: &Cast, dst: &mut [u8]) -> Result<()> {
    // SAFETY: `memory` is a borrowed slice, readable for the call, and
    // `&mut dst` cannot overlap it.
    unsafe { convert_raw(memory.as_ptr(), memory.len(), view, first, cast, dst, thread_count()) }
}

impl Mapping {
    /// Converts elements `first..` of `view` into `dst` (as many whole target
    /// elements as it holds), in C order: `copy()` when the cast is the
    /// identity, `astype()` otherwise. Large ones use several threads.
    ///
    /// # Errors
    ///
    /// As [`Mapping::read_elements`].
    pub fn convert_elements(&self, view: &Elements<'_>, first: usize, cast: &Cast, dst: &mut [u8]) -> Result<()> {
        // SAFETY: the map stays mapped while `self` is borrowed; `dst` is the
        // caller's memory, never the map's (a `&mut` to the map cannot exist).
        // Concurrent writers to the file change values, never validity: only
        // bytes are copied out.
        unsafe { convert_raw(self.as_ptr(), self.len(), view, first, cast, dst, thread_count()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reduce::element::f64_to_f16;

    fn cast(from: Element, to: Element) -> Cast {
        Cast {
            from,
            from_swap: false,
            to,
            to_swap: false,
        }
    }

    fn f64s_to(to: Element, xs: &[f64]) -> Vec<u8> {
        let src: Vec<u8> = xs.iter().flat_map(|x| x.to_ne_bytes()).collect();
        let mut dst = vec![0u8; xs.len() * to.itemsize()];
        convert(&cast(Element::F64, to), &src, &mut dst).unwrap();
        dst
    }

    #[test]
    fn fast_half_conversions_match_the_exact_one() {
        let mut state = 0x1234_5678_9abc_def0u64;
        for i in 0..2_000_000u64 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Random bits, and values near the half range (where rounding matters).
            let x = if i % 2 == 0 {
                f64::from_bits(state)
            } else {
                ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 2f64.powi((state % 48) as i32 - 26)
            };
            if x.is_nan() {
                // numpy's npy_doublebits_to_halfbits: the payload's top bits.
                let bits = x.to_bits();
                let payload = (((bits & 0xf_ffff_ffff_ffff) >> 42) as u16).max(1);
                assert_eq!(f64_to_f16_fast(x), ((bits >> 48) as u16 & 0x8000) | 0x7c00 | payload);
                continue;
            }
            assert_eq!(f64_to_f16_fast(x), f64_to_f16(x), "f64 {x:e}");
            let y = x as f32;
            assert_eq!(f32_to_f16(y), f64_to_f16(y as f64), "f32 {y:e}");
        }
        for h in 0..=u16::MAX {
            let f = f16_to_f32(h);
            // NaNs too: their payloads go through float32 and back as numpy's do.
            assert_eq!(f32_to_f16(f), h);
            if !f.is_nan() {
                assert_eq!(f64_to_f16_fast(f as f64), h);
            }
        }
        // What numpy 2.4 gives for NaN payloads (float16 <-> float32, float64).
        assert_eq!(f32_to_f16(f32::from_bits(0x7fc2_8000)), 0x7e14);
        assert_eq!(f32_to_f16(f32::from_bits(0xff8f_e000)), 0xfc7f);
        assert_eq!(f32_to_f16(f32::from_bits(0x7f80_0001)), 0x7c01);
        let halves: Vec<u8> = [0x7c01u16, 0xfd23].iter().flat_map(|h| h.to_ne_bytes()).collect();
        let mut wide = [0u8; 16];
        let cast = Cast {
            from: Element::F16,
            from_swap: false,
            to: Element::F64,
            to_swap: false,
        };
        convert(&cast, &halves, &mut wide).unwrap();
        let bits: Vec<u64> = wide
            .chunks(8)
            .map(|b| u64::from_ne_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(bits, [0x7ff0_0400_0000_0000, 0xfff4_8c00_0000_0000]);
        assert_eq!(f64_to_f16_fast(65519.99), 0x7bff);
        assert_eq!(f64_to_f16_fast(65520.0), 0x7c00);
        assert_eq!(f64_to_f16_fast(2f64.powi(-25)), 0);
        assert_eq!(f64_to_f16_fast(2f64.powi(-25) * 1.5), 1);
    }

    #[test]
    fn float_to_integer_follows_numpy_on_x86_64() {
        // What numpy 2.4 gives (see the module comment), value by value.
        let xs = [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            300.7,
            -300.7,
            3e9,
            -3e9,
            1e19,
            2e19,
            -1.5,
        ];
        assert_eq!(f64s_to(Element::I8, &xs), [0, 0, 0, 0, 44, 212, 0, 0, 0, 0, 255]);
        let u32s: Vec<u32> = f64s_to(Element::U32, &xs)
            .chunks(4)
            .map(|c| u32::from_ne_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(
            u32s,
            [
                1 << 31,
                0,
                1 << 31,
                0,
                300,
                4294966996,
                3000000000,
                1 << 31,
                0,
                0,
                u32::MAX
            ]
        );
        let u64s: Vec<u64> = f64s_to(Element::U64, &xs)
            .chunks(8)
            .map(|c| u64::from_ne_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(
            u64s,
            [
                1 << 63,
                0,
                1 << 63,
                0,
                300,
                (-300i64) as u64,
                3000000000,
                (-3000000000i64) as u64,
                10000000000000000000,
                0,
                u64::MAX
            ]
        );
        let i64s: Vec<i64> = f64s_to(Element::I64, &xs)
            .chunks(8)
            .map(|c| i64::from_ne_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(i64s[..4], [i64::MIN, i64::MIN, i64::MIN, 0]);
        assert_eq!(i64s[6..], [3000000000, -3000000000, i64::MIN, i64::MIN, -1]);
    }

    #[test]
    fn byte_orders_complex_and_bool() {
        // >f4 1.5 to <i2 and to >f8.
        let src = 1.5f32.to_be_bytes();
        let mut dst = [0u8; 8];
        let c = Cast {
            from: Element::F32,
            from_swap: cfg!(target_endian = "little"),
            to: Element::F64,
            to_swap: cfg!(target_endian = "little"),
        };
        convert(&c, &src, &mut dst).unwrap();
        assert_eq!(dst, 1.5f64.to_be_bytes());
        // complex128 (1, 2) and (0, 3): real part; bool from either part.
        let src: Vec<u8> = [1.0f64, 2.0, 0.0, 3.0].iter().flat_map(|x| x.to_ne_bytes()).collect();
        let mut dst = [0u8; 8];
        convert(&cast(Element::C128, Element::F32), &src, &mut dst).unwrap();
        assert_eq!(dst[..4], 1.0f32.to_ne_bytes());
        assert_eq!(dst[4..], 0.0f32.to_ne_bytes());
        let mut dst = [9u8; 2];
        convert(&cast(Element::C128, Element::Bool), &src, &mut dst).unwrap();
        assert_eq!(dst, [1, 1]);
        // Integers wrap; u64 to f32 rounds once.
        let src = 300i32.to_ne_bytes();
        let mut dst = [0u8; 1];
        convert(&cast(Element::I32, Element::U8), &src, &mut dst).unwrap();
        assert_eq!(dst, [44]);
        let x = (1u64 << 63) + (1 << 39) + 1;
        let mut dst = [0u8; 4];
        convert(&cast(Element::U64, Element::F32), &x.to_ne_bytes(), &mut dst).unwrap();
        assert_eq!(f32::from_ne_bytes(dst), x as f32);
        assert!(convert(&cast(Element::U64, Element::F32), &[0u8; 7], &mut dst).is_err());
    }

    #[test]
    fn strided_views_convert_in_c_order_on_threads() {
        // A reversed, strided view of 3M int32 (every other one), to float64.
        let n = 6_000_000usize;
        let memory: Vec<u8> = (0..n as i32).flat_map(|x| x.to_ne_bytes()).collect();
        let view = Elements {
            byte_offset: (n - 1) * 4,
            shape: &[n / 2],
            strides: &[-8],
            item_size: 4,
        };
        let mut dst = vec![0u8; (n / 2 - 10) * 8];
        convert_view(&memory, &view, 10, &cast(Element::I32, Element::F64), &mut dst).unwrap();
        for (k, c) in dst.chunks(8).enumerate() {
            assert_eq!(f64::from_ne_bytes(c.try_into().unwrap()), (n - 1 - 2 * (k + 10)) as f64);
        }
        let mut same = vec![0u8; (n / 2) * 4];
        convert_view(&memory, &view, 0, &cast(Element::I32, Element::I32), &mut same).unwrap();
        assert_eq!(same[..4], ((n - 1) as i32).to_ne_bytes());
        // Outside the memory: an error, nothing read.
        let bad = Elements {
            byte_offset: n * 4,
            ..view
        };
        assert!(convert_view(&memory, &bad, 0, &cast(Element::I32, Element::I32), &mut same).is_err());
    }
}

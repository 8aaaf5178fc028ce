//! Element kinds, their loads from raw memory (any alignment, either byte
//! order), the float16 conversions, and numpy's result dtype of each reduction.

use super::Op;
use crate::{Error, ErrorKind, Result};

/// What an array's elements are: numpy's kind and itemsize. datetime64 and
/// timedelta64 are their int64 counts, the smallest int64 being NaT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    /// datetime64 of any unit: min, max, argmin, argmax, any, all, count_nonzero.
    Datetime,
    /// timedelta64 of any unit: those and sum and mean.
    Timedelta,
}

impl Element {
    /// Every element kind, for tests and benches that go through them all.
    pub const ALL: [Element; 16] = [
        Element::Bool,
        Element::I8,
        Element::U8,
        Element::I16,
        Element::U16,
        Element::I32,
        Element::U32,
        Element::I64,
        Element::U64,
        Element::F16,
        Element::F32,
        Element::F64,
        Element::C64,
        Element::C128,
        Element::Datetime,
        Element::Timedelta,
    ];

    /// Parses numpy's kind + itemsize code (`"f4"`, `"b1"`, `"c16"`, `"M8"`).
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
            "M8" => Element::Datetime,
            "m8" => Element::Timedelta,
            _ => return None,
        })
    }

    /// numpy's kind + itemsize code, the inverse of [`Element::parse`].
    pub fn code(self) -> &'static str {
        match self {
            Element::Bool => "b1",
            Element::I8 => "i1",
            Element::U8 => "u1",
            Element::I16 => "i2",
            Element::U16 => "u2",
            Element::I32 => "i4",
            Element::U32 => "u4",
            Element::I64 => "i8",
            Element::U64 => "u8",
            Element::F16 => "f2",
            Element::F32 => "f4",
            Element::F64 => "f8",
            Element::C64 => "c8",
            Element::C128 => "c16",
            Element::Datetime => "M8",
            Element::Timedelta => "m8",
        }
    }

    /// numpy's name of the native-order dtype, as messages give it.
    pub fn name(self) -> &'static str {
        match self {
            Element::Bool => "bool",
            Element::I8 => "int8",
            Element::U8 => "uint8",
            Element::I16 => "int16",
            Element::U16 => "uint16",
            Element::I32 => "int32",
            Element::U32 => "uint32",
            Element::I64 => "int64",
            Element::U64 => "uint64",
            Element::F16 => "float16",
            Element::F32 => "float32",
            Element::F64 => "float64",
            Element::C64 => "complex64",
            Element::C128 => "complex128",
            Element::Datetime => "datetime64",
            Element::Timedelta => "timedelta64",
        }
    }

    pub fn itemsize(self) -> usize {
        match self {
            Element::Bool | Element::I8 | Element::U8 => 1,
            Element::I16 | Element::U16 | Element::F16 => 2,
            Element::I32 | Element::U32 | Element::F32 => 4,
            Element::I64 | Element::U64 | Element::F64 | Element::C64 | Element::Datetime | Element::Timedelta => 8,
            Element::C128 => 16,
        }
    }

    pub fn is_time(self) -> bool {
        matches!(self, Element::Datetime | Element::Timedelta)
    }

    pub fn is_complex(self) -> bool {
        matches!(self, Element::C64 | Element::C128)
    }

    pub fn is_float(self) -> bool {
        matches!(self, Element::F16 | Element::F32 | Element::F64)
    }

    /// The bytes that are swapped for the other byte order: the whole element,
    /// or each half of a complex one.
    pub(crate) fn swap_unit(self) -> usize {
        match self {
            Element::C64 => 4,
            Element::C128 => 8,
            other => other.itemsize(),
        }
    }

    /// numpy's result dtype of `op` over this element kind (numpy 2.x):
    /// sums and products of bool and signed integers int64, of unsigned
    /// uint64, floats and complex their own; means of bool and integers
    /// float64; var and std of complex the real dtype; min and max the
    /// element's; arg ops and count_nonzero int64; any and all bool.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidDtype`] where numpy's ufunc refuses the dtype: sum,
    /// prod, mean, var, std of datetime64, and prod, var, std of timedelta64.
    pub fn result(self, op: Op) -> Result<Element> {
        use Element::*;
        let refused = match op {
            Op::Sum | Op::Mean => self == Datetime,
            Op::Prod | Op::Var | Op::Std => self.is_time(),
            _ => false,
        };
        if refused {
            return Err(Error::new(
                ErrorKind::InvalidDtype,
                format!(
                    "{} is not defined for {} (numpy's ufunc refuses it)",
                    op.name(),
                    if self == Datetime { "datetime64" } else { "timedelta64" }
                ),
            ));
        }
        Ok(match op {
            Op::Sum | Op::Prod => match self {
                Bool | I8 | I16 | I32 | I64 => I64,
                U8 | U16 | U32 | U64 => U64,
                other => other,
            },
            Op::Mean => match self {
                Bool | I8 | U8 | I16 | U16 | I32 | U32 | I64 | U64 => F64,
                other => other,
            },
            Op::Var | Op::Std => match self {
                F16 | F32 | F64 => self,
                C64 => F32,
                C128 => F64,
                _ => F64,
            },
            Op::Min | Op::Max => self,
            Op::ArgMin | Op::ArgMax | Op::CountNonzero => I64,
            Op::Any | Op::All => Bool,
        })
    }
}

/// A reduction's value, in numpy's result type. Floats hold a value of the
/// result dtype (a float32 result is a float32 value widened); time results
/// are `Int` counts, NaT the smallest int64.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar {
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Complex(f64, f64),
}

/// The value as a message shows it: `300`, `-2.5`, `true`, `(1+2j)`.
impl std::fmt::Display for Scalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Scalar::Bool(v) => write!(f, "{v}"),
            Scalar::Int(v) => write!(f, "{v}"),
            Scalar::UInt(v) => write!(f, "{v}"),
            Scalar::Float(v) => write!(f, "{v}"),
            Scalar::Complex(re, im) => write!(f, "({re}{}{im}j)", if im < 0.0 || im.is_nan() { "" } else { "+" }),
        }
    }
}

impl Scalar {
    /// Decodes one element of kind `element` in native byte order.
    pub fn read(element: Element, bytes: &[u8]) -> Scalar {
        let at = |n: usize| -> [u8; 8] {
            let mut b = [0u8; 8];
            b[..n].copy_from_slice(&bytes[..n]);
            b
        };
        let word = |offset: usize| -> u64 { u64::from_ne_bytes(bytes[offset..offset + 8].try_into().unwrap()) };
        match element {
            Element::Bool => Scalar::Bool(bytes[0] != 0),
            Element::I8 => Scalar::Int(bytes[0] as i8 as i64),
            Element::U8 => Scalar::UInt(bytes[0] as u64),
            Element::I16 => Scalar::Int(i16::from_ne_bytes([bytes[0], bytes[1]]) as i64),
            Element::U16 => Scalar::UInt(u16::from_ne_bytes([bytes[0], bytes[1]]) as u64),
            Element::I32 => Scalar::Int(i32::from_ne_bytes(at(4)[..4].try_into().unwrap()) as i64),
            Element::U32 => Scalar::UInt(u32::from_ne_bytes(at(4)[..4].try_into().unwrap()) as u64),
            Element::I64 | Element::Datetime | Element::Timedelta => Scalar::Int(word(0) as i64),
            Element::U64 => Scalar::UInt(word(0)),
            Element::F16 => Scalar::Float(f16_to_f32(u16::from_ne_bytes([bytes[0], bytes[1]])) as f64),
            Element::F32 => Scalar::Float(f32::from_ne_bytes(at(4)[..4].try_into().unwrap()) as f64),
            Element::F64 => Scalar::Float(f64::from_bits(word(0))),
            Element::C64 => Scalar::Complex(
                f32::from_ne_bytes(bytes[0..4].try_into().unwrap()) as f64,
                f32::from_ne_bytes(bytes[4..8].try_into().unwrap()) as f64,
            ),
            Element::C128 => Scalar::Complex(f64::from_bits(word(0)), f64::from_bits(word(8))),
        }
    }
}

/// The native type an element kind is stored as, loaded from raw memory.
pub(crate) trait Native: Copy + Send + Sync + 'static {
    /// Loads one value, swapping its bytes when `swap`.
    ///
    /// # Safety
    ///
    /// `p` must point at `size_of::<Self>()` readable bytes (any alignment).
    unsafe fn load(p: *const u8, swap: bool) -> Self;
}

macro_rules! native_int {
    ($($t:ty),*) => {$(
        impl Native for $t {
            #[inline(always)]
            unsafe fn load(p: *const u8, swap: bool) -> Self {
                // SAFETY: the caller promises the bytes are readable.
                let v = unsafe { std::ptr::read_unaligned(p as *const $t) };
                if swap { v.swap_bytes() } else { v }
            }
        }
    )*};
}
native_int!(u8, i8, i16, u16, i32, u32, i64, u64);

impl Native for f32 {
    #[inline(always)]
    unsafe fn load(p: *const u8, swap: bool) -> Self {
        // SAFETY: forwarded from the caller.
        f32::from_bits(unsafe { u32::load(p, swap) })
    }
}

impl Native for f64 {
    #[inline(always)]
    unsafe fn load(p: *const u8, swap: bool) -> Self {
        // SAFETY: forwarded from the caller.
        f64::from_bits(unsafe { u64::load(p, swap) })
    }
}

/// A bool element: one byte, any nonzero byte true (numpy casts it so).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bool(pub u8);

/// A float16 element: its IEEE binary16 bits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Half(pub u16);

/// A complex64 element: two float32 (real, imaginary), each swapped on its own.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct C32(pub f32, pub f32);

/// A complex128 element.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct C64x2(pub f64, pub f64);

impl Native for Bool {
    #[inline(always)]
    unsafe fn load(p: *const u8, _swap: bool) -> Self {
        // SAFETY: one readable byte, the caller's promise.
        Bool(unsafe { *p })
    }
}

impl Native for Half {
    #[inline(always)]
    unsafe fn load(p: *const u8, swap: bool) -> Self {
        // SAFETY: forwarded from the caller.
        Half(unsafe { u16::load(p, swap) })
    }
}

impl Native for C32 {
    #[inline(always)]
    unsafe fn load(p: *const u8, swap: bool) -> Self {
        // SAFETY: 8 readable bytes, forwarded from the caller.
        unsafe { C32(f32::load(p, swap), f32::load(p.add(4), swap)) }
    }
}

impl Native for C64x2 {
    #[inline(always)]
    unsafe fn load(p: *const u8, swap: bool) -> Self {
        // SAFETY: 16 readable bytes, forwarded from the caller.
        unsafe { C64x2(f64::load(p, swap), f64::load(p.add(8), swap)) }
    }
}

/// What the real-valued kernels need of an element: numpy's casts to int64 /
/// uint64 (wrapping sums and products), to float64 (means, variances, float
/// sums) and to bool (any, all, count_nonzero).
pub(crate) trait Real: Native {
    /// The value as numpy's int64/uint64 accumulator holds it (two's complement bits).
    fn bits64(self) -> u64;
    fn f64(self) -> f64;
    fn nonzero(self) -> bool;
    /// For kinds of one or two bytes: the bits of which any set makes the
    /// value nonzero (all of an integer's, all but a float16's sign: -0.0
    /// is zero), so that counts can test raw bytes; 0 for the wider kinds.
    const TRUTH_BITS: u16 = 0;
}

macro_rules! real_int {
    ($($t:ty),*) => {$(
        impl Real for $t {
            const TRUTH_BITS: u16 = 0xffff;
            #[inline(always)]
            fn bits64(self) -> u64 { self as i64 as u64 }
            #[inline(always)]
            fn f64(self) -> f64 { self as f64 }
            #[inline(always)]
            fn nonzero(self) -> bool { self != 0 }
        }
    )*};
}
real_int!(i8, i16, i32, i64);

macro_rules! real_uint {
    ($($t:ty),*) => {$(
        impl Real for $t {
            const TRUTH_BITS: u16 = 0xffff;
            #[inline(always)]
            fn bits64(self) -> u64 { self as u64 }
            #[inline(always)]
            fn f64(self) -> f64 { self as f64 }
            #[inline(always)]
            fn nonzero(self) -> bool { self != 0 }
        }
    )*};
}
real_uint!(u8, u16, u32, u64);

impl Real for Bool {
    const TRUTH_BITS: u16 = 0xff;
    #[inline(always)]
    fn bits64(self) -> u64 {
        (self.0 != 0) as u64
    }
    #[inline(always)]
    fn f64(self) -> f64 {
        (self.0 != 0) as u8 as f64
    }
    #[inline(always)]
    fn nonzero(self) -> bool {
        self.0 != 0
    }
}

impl Real for Half {
    const TRUTH_BITS: u16 = 0x7fff;
    #[inline(always)]
    fn bits64(self) -> u64 {
        self.f64() as i64 as u64
    }
    #[inline(always)]
    fn f64(self) -> f64 {
        f16_to_f32(self.0) as f64
    }
    #[inline(always)]
    fn nonzero(self) -> bool {
        self.0 & 0x7fff != 0
    }
}

impl Real for f32 {
    #[inline(always)]
    fn bits64(self) -> u64 {
        self as i64 as u64
    }
    #[inline(always)]
    fn f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn nonzero(self) -> bool {
        self != 0.0
    }
}

impl Real for f64 {
    #[inline(always)]
    fn bits64(self) -> u64 {
        self as i64 as u64
    }
    #[inline(always)]
    fn f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn nonzero(self) -> bool {
        self != 0.0
    }
}

/// What the complex kernels need of an element: its parts as f64.
pub(crate) trait Complex: Native {
    fn parts(self) -> (f64, f64);
}

impl Complex for C32 {
    #[inline(always)]
    fn parts(self) -> (f64, f64) {
        (self.0 as f64, self.1 as f64)
    }
}

impl Complex for C64x2 {
    #[inline(always)]
    fn parts(self) -> (f64, f64) {
        (self.0, self.1)
    }
}

/// IEEE binary16 bits to f32, exactly (every half is a float). Branch-free so
/// that loops over halves vectorise: F. Giesen's `half_to_float_fast5`.
#[inline(always)]
pub fn f16_to_f32(h: u16) -> f32 {
    const MAGIC: f32 = f32::from_bits((254 - 15) << 23);
    const WAS_INFNAN: f32 = f32::from_bits((127 + 16) << 23);
    let h = h as u32;
    let o = f32::from_bits((h & 0x7fff) << 13) * MAGIC;
    let bits = if o >= WAS_INFNAN {
        o.to_bits() | (255 << 23)
    } else {
        o.to_bits()
    };
    f32::from_bits(bits | ((h & 0x8000) << 16))
}

/// f64 to IEEE binary16 bits, rounded once to nearest-even (a detour through
/// f32 would round twice). Overflow gives infinity, NaN stays NaN.
pub fn f64_to_f16(x: f64) -> u16 {
    let bits = x.to_bits();
    let sign = ((bits >> 48) & 0x8000) as u16;
    let a = x.abs();
    if a.is_nan() {
        return sign | 0x7e00;
    }
    // Largest half is 65504; halfway to the next (65520) rounds to infinity.
    if a >= 65520.0 {
        return sign | 0x7c00;
    }
    if a < 2f64.powi(-14) {
        // Subnormal (or zero): units of 2^-24, rounded to nearest-even.
        let units = a * 2f64.powi(24);
        return sign | round_half_even(units) as u16;
    }
    let exp = ((a.to_bits() >> 52) as i32) - 1023; // -14..=15
    let mantissa = a / 2f64.powi(exp) - 1.0; // [0, 1)
    let mut m = round_half_even(mantissa * 1024.0) as u32;
    let mut e = (exp + 15) as u32;
    if m == 1024 {
        m = 0;
        e += 1;
    }
    sign | ((e << 10) | m) as u16
}

fn round_half_even(x: f64) -> f64 {
    let r = x.round();
    if (r - x).abs() == 0.5 && r % 2.0 != 0.0 {
        r - x.signum()
    } else {
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float16_conversions_round_trip_every_half() {
        for h in 0..=u16::MAX {
            let f = f16_to_f32(h);
            if f.is_nan() {
                assert_eq!(f64_to_f16(f as f64) & 0x7c00, 0x7c00);
                continue;
            }
            assert_eq!(f64_to_f16(f as f64), h, "half {h:#06x} = {f}");
        }
        // Halfway cases go to even; just above halfway rounds up; overflow.
        assert_eq!(f64_to_f16(1.0 + 2f64.powi(-11)), 0x3c00);
        assert_eq!(f64_to_f16(1.0 + 3.0 * 2f64.powi(-11)), 0x3c02);
        assert_eq!(f64_to_f16(1.0 + 2f64.powi(-11) + 2f64.powi(-40)), 0x3c01);
        assert_eq!(f64_to_f16(65519.0), 0x7bff);
        assert_eq!(f64_to_f16(65520.0), 0x7c00);
        assert_eq!(f64_to_f16(2f64.powi(-25)), 0);
        assert_eq!(f64_to_f16(2f64.powi(-25) * 1.5), 1);
        assert_eq!(f64_to_f16(-0.0), 0x8000);
    }
}

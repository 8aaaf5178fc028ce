//! CRC-32 as ZIP stores it (zlib's `crc32`: the reflected polynomial
//! 0xEDB88320, initial value and final XOR all ones), for `.npz` members
//! written in place.
//!
//! The bytes are read through raw pointers only: a mapping's bytes may be
//! written by JavaScript at any time (see the crate docs), so no `&[u8]` into
//! one is ever formed. Where the CPU has carry-less multiplication (x86-64
//! `pclmulqdq`) or CRC instructions (AArch64 `crc`), four 16-byte lanes are
//! folded at a time (Intel's "Fast CRC Computation for Generic Polynomials
//! Using PCLMULQDQ", 2009); elsewhere, and for the ends of a range, a
//! slice-by-16 table.

use crate::{Error, ErrorKind, Mapping, Result};

/// The reflected CRC-32 polynomial.
const POLY: u32 = 0xEDB8_8320;

/// `TABLES[k][b]`: the CRC of byte `b` followed by `k` zero bytes (slice-by-16).
static TABLES: [[u32; 256]; 16] = tables();

const fn tables() -> [[u32; 256]; 16] {
    let mut t = [[0u32; 256]; 16];
    let mut b = 0;
    while b < 256 {
        let mut c = b as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            k += 1;
        }
        t[0][b] = c;
        b += 1;
    }
    let mut k = 1;
    while k < 16 {
        let mut b = 0;
        while b < 256 {
            let prev = t[k - 1][b];
            t[k][b] = (prev >> 8) ^ t[0][(prev & 0xFF) as usize];
            b += 1;
        }
        k += 1;
    }
    t
}

/// The CRC-32 of `bytes` continuing `crc` (0 to start): `crc32(crc32(0, a), b)`
/// is the CRC of `a` followed by `b`, as zlib's `crc32`.
///
/// # Examples
///
/// ```
/// assert_eq!(memmap_core::crc32(0, b"123456789"), 0xCBF4_3926);
/// assert_eq!(memmap_core::crc32(memmap_core::crc32(0, b"1234"), b"56789"), 0xCBF4_3926);
/// ```
pub fn crc32(crc: u32, bytes: &[u8]) -> u32 {
    // SAFETY: a slice's pointer is valid for reads of its length.
    unsafe { crc32_raw(crc, bytes.as_ptr(), bytes.len()) }
}

/// [`crc32`] over `len` bytes at `ptr`, read through the pointer only.
///
/// # Safety
///
/// `ptr` must be valid for reads of `len` bytes for the duration of the call.
/// Concurrent writes to those bytes make the result meaningless, never unsound
/// (no reference into them is formed).
pub unsafe fn crc32_raw(crc: u32, ptr: *const u8, len: usize) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if len >= 128 && std::arch::is_x86_feature_detected!("pclmulqdq") && std::arch::is_x86_feature_detected!("sse4.1") {
        // SAFETY: the features were just detected; the caller vouches for the range.
        return unsafe { x86::crc32_pclmul(crc, ptr, len) };
    }
    #[cfg(target_arch = "aarch64")]
    if std::arch::is_aarch64_feature_detected!("crc") {
        // SAFETY: the feature was just detected; the caller vouches for the range.
        return unsafe { arm::crc32_arm(crc, ptr, len) };
    }
    // SAFETY: the caller vouches for the range.
    !unsafe { table_update(!crc, ptr, len) }
}

/// Slice-by-16 over the raw (pre-inverted) register `c`.
///
/// # Safety
///
/// As [`crc32_raw`].
unsafe fn table_update(mut c: u32, mut ptr: *const u8, mut len: usize) -> u32 {
    let t = &TABLES;
    while len >= 16 {
        // SAFETY: 16 bytes remain in the range; unaligned reads through the pointer.
        let (a, b) = unsafe {
            (
                u64::from_le(std::ptr::read_unaligned(ptr as *const u64)),
                u64::from_le(std::ptr::read_unaligned(ptr.add(8) as *const u64)),
            )
        };
        let a = a ^ c as u64;
        c = t[15][(a & 0xFF) as usize]
            ^ t[14][((a >> 8) & 0xFF) as usize]
            ^ t[13][((a >> 16) & 0xFF) as usize]
            ^ t[12][((a >> 24) & 0xFF) as usize]
            ^ t[11][((a >> 32) & 0xFF) as usize]
            ^ t[10][((a >> 40) & 0xFF) as usize]
            ^ t[9][((a >> 48) & 0xFF) as usize]
            ^ t[8][(a >> 56) as usize]
            ^ t[7][(b & 0xFF) as usize]
            ^ t[6][((b >> 8) & 0xFF) as usize]
            ^ t[5][((b >> 16) & 0xFF) as usize]
            ^ t[4][((b >> 24) & 0xFF) as usize]
            ^ t[3][((b >> 32) & 0xFF) as usize]
            ^ t[2][((b >> 40) & 0xFF) as usize]
            ^ t[1][((b >> 48) & 0xFF) as usize]
            ^ t[0][(b >> 56) as usize];
        // SAFETY: still inside (or one past the end of) the range.
        ptr = unsafe { ptr.add(16) };
        len -= 16;
    }
    while len > 0 {
        // SAFETY: one byte remains in the range.
        let byte = unsafe { ptr.read() };
        c = (c >> 8) ^ t[0][((c ^ byte as u32) & 0xFF) as usize];
        // SAFETY: still inside (or one past the end of) the range.
        ptr = unsafe { ptr.add(1) };
        len -= 1;
    }
    c
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    // x^(k) mod P(x), bit-reflected, for the folding distances (Intel's paper,
    // the constants of Linux's crc32-pclmul for the reflected polynomial).
    /// Fold 64 bytes: x^(4*128+32) and x^(4*128-32).
    const K1: i64 = 0x1_5444_2bd4;
    const K2: i64 = 0x1_c6e4_1596;
    /// Fold 16 bytes: x^(128+32) and x^(128-32).
    const K3: i64 = 0x1_7519_97d0;
    const K4: i64 = 0x0_ccaa_009e;
    /// 64 to 32 bits: x^64.
    const K5: i64 = 0x1_63cd_6124;
    /// P(x) and Barrett's mu, reflected.
    const P_X: i64 = 0x1_DB71_0641;
    const U_PRIME: i64 = 0x1_F701_1641;

    /// # Safety
    ///
    /// `pclmulqdq` and `sse4.1` are available, `len >= 64`, and `ptr` is valid
    /// for reads of `len` bytes.
    #[target_feature(enable = "pclmulqdq", enable = "sse2", enable = "sse4.1")]
    pub unsafe fn crc32_pclmul(crc: u32, mut ptr: *const u8, mut len: usize) -> u32 {
        // An unaligned 16-byte load through the pointer, advancing it.
        macro_rules! next {
            () => {{
                // SAFETY: the loop conditions keep 16 bytes in the range.
                let v = unsafe { _mm_loadu_si128(ptr as *const __m128i) };
                // SAFETY: still inside (or one past the end of) the range.
                ptr = unsafe { ptr.add(16) };
                len -= 16;
                v
            }};
        }
        let mut x3 = next!();
        let mut x2 = next!();
        let mut x1 = next!();
        let mut x0 = next!();
        // The running CRC enters as the first 32 bits of the message, inverted.
        x3 = _mm_xor_si128(x3, _mm_cvtsi32_si128(!crc as i32));
        let k1k2 = _mm_set_epi64x(K2, K1);
        while len >= 64 {
            x3 = fold(x3, next!(), k1k2);
            x2 = fold(x2, next!(), k1k2);
            x1 = fold(x1, next!(), k1k2);
            x0 = fold(x0, next!(), k1k2);
        }
        let k3k4 = _mm_set_epi64x(K4, K3);
        let mut x = fold(x3, x2, k3k4);
        x = fold(x, x1, k3k4);
        x = fold(x, x0, k3k4);
        while len >= 16 {
            x = fold(x, next!(), k3k4);
        }
        // 128 bits to 64, then 64 to 32 ...
        let low32 = _mm_set_epi32(0, 0, 0, !0);
        let x = _mm_xor_si128(_mm_clmulepi64_si128(x, k3k4, 0x10), _mm_srli_si128(x, 8));
        let x = _mm_xor_si128(
            _mm_clmulepi64_si128(_mm_and_si128(x, low32), _mm_set_epi64x(0, K5), 0x00),
            _mm_srli_si128(x, 4),
        );
        // ... and Barrett's reduction to the remainder.
        let pu = _mm_set_epi64x(U_PRIME, P_X);
        let t1 = _mm_clmulepi64_si128(_mm_and_si128(x, low32), pu, 0x10);
        let t2 = _mm_clmulepi64_si128(_mm_and_si128(t1, low32), pu, 0x00);
        let c = _mm_extract_epi32(_mm_xor_si128(x, t2), 1) as u32;
        // SAFETY: `len` bytes remain at `ptr`.
        !unsafe { super::table_update(c, ptr, len) }
    }

    /// `a` carried 128 (or 512) bits forward, added to `b`.
    #[inline]
    #[target_feature(enable = "pclmulqdq", enable = "sse2")]
    fn fold(a: __m128i, b: __m128i, keys: __m128i) -> __m128i {
        let low = _mm_clmulepi64_si128(a, keys, 0x00);
        let high = _mm_clmulepi64_si128(a, keys, 0x11);
        _mm_xor_si128(_mm_xor_si128(b, low), high)
    }
}

#[cfg(target_arch = "aarch64")]
mod arm {
    use std::arch::aarch64::{__crc32b, __crc32d};

    /// # Safety
    ///
    /// The `crc` feature is available and `ptr` is valid for reads of `len` bytes.
    #[target_feature(enable = "crc")]
    pub unsafe fn crc32_arm(crc: u32, mut ptr: *const u8, mut len: usize) -> u32 {
        let mut c = !crc;
        while len >= 8 {
            // SAFETY: 8 bytes remain in the range; an unaligned read through the pointer.
            let word = u64::from_le(unsafe { std::ptr::read_unaligned(ptr as *const u64) });
            c = __crc32d(c, word);
            // SAFETY: still inside (or one past the end of) the range.
            ptr = unsafe { ptr.add(8) };
            len -= 8;
        }
        while len > 0 {
            // SAFETY: one byte remains in the range.
            c = __crc32b(c, unsafe { ptr.read() });
            // SAFETY: still inside (or one past the end of) the range.
            ptr = unsafe { ptr.add(1) };
            len -= 1;
        }
        !c
    }
}

/// The CRC of `a` followed by `b`, from the CRCs of each and the length of
/// `b`: zlib's `crc32_combine`, in O(log len) (how pieces computed apart are
/// put together).
///
/// # Examples
///
/// ```
/// use memmap_core::{crc32, crc32_combine};
/// assert_eq!(crc32_combine(crc32(0, b"1234"), crc32(0, b"56789"), 5), crc32(0, b"123456789"));
/// ```
pub fn crc32_combine(crc_a: u32, crc_b: u32, len_b: u64) -> u32 {
    // Appending n bytes multiplies a's register by x^(8n) modulo P; the
    // initial and final inversions of the two CRCs cancel.
    let mut power = X_POW_8;
    let mut shift = 1u32 << 31; // x^0
    let mut n = len_b;
    while n != 0 {
        if n & 1 != 0 {
            shift = multiply(power, shift);
        }
        power = multiply(power, power);
        n >>= 1;
    }
    multiply(shift, crc_a) ^ crc_b
}

/// x^8 modulo P, bit-reflected (x^0 is the top bit).
const X_POW_8: u32 = 1 << (31 - 8);

/// `a * b` modulo P, both bit-reflected (zlib's multmodp).
fn multiply(a: u32, mut b: u32) -> u32 {
    let mut product = 0;
    let mut m = 1u32 << 31;
    loop {
        if a & m != 0 {
            product ^= b;
            if a & (m - 1) == 0 {
                break;
            }
        }
        m >>= 1;
        if m == 0 {
            break;
        }
        b = if b & 1 != 0 { (b >> 1) ^ POLY } else { b >> 1 };
    }
    product
}

/// Pieces smaller than this are not worth a thread.
const PIECE: usize = 32 << 20;

/// [`crc32_raw`] over a long range in pieces, one per core (up to four),
/// combined: reading gigabytes of mapped pages is bound by page faults and
/// memory, which more cores share out.
///
/// # Safety
///
/// As [`crc32_raw`].
unsafe fn crc32_parallel(crc: u32, ptr: *const u8, len: usize) -> u32 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4);
    let pieces = cores.min(len / PIECE);
    if pieces < 2 {
        // SAFETY: the caller vouches for the range.
        return unsafe { crc32_raw(crc, ptr, len) };
    }
    let size = len / pieces;
    let base = ptr as usize;
    let crcs: Vec<u32> = std::thread::scope(|scope| {
        let handles: Vec<_> = (1..pieces)
            .map(|k| {
                let (start, end) = (k * size, if k + 1 == pieces { len } else { (k + 1) * size });
                scope.spawn(move || {
                    // SAFETY: [start, end) lies inside the caller's range, which
                    // stays valid until the scope ends (the caller waits for it).
                    unsafe { crc32_raw(0, (base + start) as *const u8, end - start) }
                })
            })
            .collect();
        // SAFETY: the first piece of the caller's range.
        let first = unsafe { crc32_raw(crc, ptr, size) };
        std::iter::once(first)
            .chain(
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))),
            )
            .collect()
    });
    crcs.iter().enumerate().skip(1).fold(crcs[0], |acc, (k, &piece)| {
        let end = if k + 1 == pieces { len } else { (k + 1) * size };
        crc32_combine(acc, piece, (end - k * size) as u64)
    })
}

impl Mapping {
    /// The CRC-32 of the mapped bytes `[start, start + len)`, continuing
    /// `crc` (0 to start): for a `.npz` member written in place, whose CRC the
    /// archive must store again.
    ///
    /// # Errors
    ///
    /// A range outside the map.
    pub fn crc32(&self, start: usize, len: usize, crc: u32) -> Result<u32> {
        self.check_range(start, len)?;
        if len == 0 {
            return Ok(crc);
        }
        if self.is_closed() {
            return Err(Error::new(ErrorKind::InvalidArgument, "the map is closed"));
        }
        // SAFETY: the range lies inside the open map, which `&self` keeps
        // mapped until this returns; the CRC reads it through the pointer only.
        Ok(unsafe { crc32_parallel(crc, self.as_ptr().add(start), len) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bit by bit, the definition.
    fn reference(crc: u32, bytes: &[u8]) -> u32 {
        let mut c = !crc;
        for &b in bytes {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            }
        }
        !c
    }

    fn bytes(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    #[test]
    fn known_values() {
        assert_eq!(crc32(0, b""), 0);
        assert_eq!(crc32(0, b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(0, &[0u8; 32]), 0x190A_55AD);
        assert_eq!(crc32(0, b"The quick brown fox jumps over the lazy dog"), 0x414F_A339);
    }

    #[test]
    fn every_length_offset_and_initial_value_agrees_with_the_definition() {
        let data = bytes(4096 + 64, 7);
        for len in (0..600).chain([1023, 1024, 1025, 4095, 4096]) {
            for start in [0, 1, 3, 8, 15, 16, 17] {
                for init in [0, 1, 0xFFFF_FFFF, 0x1234_5678] {
                    let slice = &data[start..start + len];
                    assert_eq!(
                        crc32(init, slice),
                        reference(init, slice),
                        "len {len} start {start} init {init}"
                    );
                }
            }
        }
    }

    #[test]
    fn pieces_chain() {
        let data = bytes(100_000, 3);
        let whole = crc32(0, &data);
        for cut in [0, 1, 15, 16, 127, 128, 129, 4096, 99_999, 100_000] {
            assert_eq!(crc32(crc32(0, &data[..cut]), &data[cut..]), whole, "cut {cut}");
        }
        // SAFETY: the table path over a slice's own bytes.
        assert_eq!(!unsafe { table_update(!0, data.as_ptr(), data.len()) }, whole);
    }

    #[test]
    fn combine_and_pieces_agree_with_one_pass() {
        let data = bytes(3 * PIECE + 12_345, 5);
        let whole = crc32(7, &data);
        for cut in [0, 1, 1000, PIECE, data.len()] {
            let (a, b) = data.split_at(cut);
            assert_eq!(
                crc32_combine(crc32(7, a), crc32(0, b), b.len() as u64),
                whole,
                "cut {cut}"
            );
        }
        // SAFETY: a slice's own bytes.
        assert_eq!(unsafe { crc32_parallel(7, data.as_ptr(), data.len()) }, whole);
    }

    #[test]
    fn mapping_crc_checks_its_range() {
        let dir = std::env::temp_dir().join(format!("memmap-core-crc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        let data = bytes(10_000, 11);
        std::fs::write(&path, &data).unwrap();
        let map = Mapping::open(
            crate::Source::Path(path),
            crate::Mode::ReadOnly,
            5,
            crate::Length::Exact(9_000),
        )
        .unwrap();
        assert_eq!(map.crc32(0, 9_000, 0).unwrap(), crc32(0, &data[5..9_005]));
        assert_eq!(map.crc32(100, 0, 42).unwrap(), 42);
        assert_eq!(
            map.crc32(10, 8_000, crc32(0, b"x")).unwrap(),
            crc32(crc32(0, b"x"), &data[15..8_015])
        );
        assert!(map.crc32(1, 9_000, 0).is_err());
        assert!(map.crc32(usize::MAX, 2, 0).is_err());
        map.close().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

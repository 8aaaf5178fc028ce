//! Hand-written AVX2 for the short rows of float32 that the compiler will not
//! vectorise across rows: each row of 4 or 16 values reduced to one result
//! (`sum(axis=1)`, `min(axis=1)` of a `(n, 4)` or `(n, 16)` array). Four
//! rows at a time, so that results leave as one vector instead of four
//! horizontal reductions. Only called from the AVX2 builds of the drivers.

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

/// Where the results go: `out + r * stride` bytes, as float32 or float64,
/// each scaled by `scale` (a mean's 1/n).
#[derive(Clone, Copy)]
pub(crate) struct Results {
    pub out: *mut u8,
    pub stride: isize,
    pub f32: bool,
    pub scale: f64,
}

impl Results {
    /// # Safety
    ///
    /// Rows `r..r + 4` have results inside the buffer.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn put4(&self, r: usize, v: __m256d) {
        // SAFETY: rows r..r+4 have results inside the caller's buffer.
        unsafe {
            let v = if self.scale != 1.0 {
                _mm256_mul_pd(v, _mm256_set1_pd(self.scale))
            } else {
                v
            };
            let at = self.out.offset(r as isize * self.stride);
            if self.f32 {
                let v = _mm256_cvtpd_ps(v);
                if self.stride == 4 {
                    store4(at, v);
                } else {
                    let mut lanes = [0f32; 4];
                    _mm_storeu_ps(lanes.as_mut_ptr(), v);
                    for (k, x) in lanes.iter().enumerate() {
                        std::ptr::write_unaligned(at.offset(k as isize * self.stride) as *mut f32, *x);
                    }
                }
            } else if self.stride == 8 {
                _mm256_storeu_pd(at as *mut f64, v);
            } else {
                let mut lanes = [0f64; 4];
                _mm256_storeu_pd(lanes.as_mut_ptr(), v);
                for (k, x) in lanes.iter().enumerate() {
                    std::ptr::write_unaligned(at.offset(k as isize * self.stride) as *mut f64, *x);
                }
            }
        }
    }
}

/// The four f64 lanes of each of `a, b, c, d` summed: one lane per input.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn sum4x4(a: __m256d, b: __m256d, c: __m256d, d: __m256d) -> __m256d {
    let x = _mm256_hadd_pd(a, b); // a0+a1 b0+b1 a2+a3 b2+b3
    let y = _mm256_hadd_pd(c, d);
    let lo = _mm256_permute2f128_pd::<0x20>(x, y); // a01 b01 c01 d01
    let hi = _mm256_permute2f128_pd::<0x31>(x, y); // a23 b23 c23 d23
    _mm256_add_pd(lo, hi)
}

/// Row `r` of `N` float32 values (4 or 16) as four f64 partial sums.
///
/// # Safety
///
/// Row `r` holds `N` readable values.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn row_partials<const N: usize>(p: *const u8, row_stride: isize, r: usize) -> __m256d {
    // SAFETY: the caller's rows hold N values each.
    unsafe {
        let q = p.offset(r as isize * row_stride) as *const f32;
        if N == 4 {
            _mm256_cvtps_pd(_mm_loadu_ps(q))
        } else {
            let s0 = _mm256_cvtps_pd(_mm_loadu_ps(q));
            let s1 = _mm256_cvtps_pd(_mm_loadu_ps(q.add(4)));
            let s2 = _mm256_cvtps_pd(_mm_loadu_ps(q.add(8)));
            let s3 = _mm256_cvtps_pd(_mm_loadu_ps(q.add(12)));
            _mm256_add_pd(_mm256_add_pd(s0, s2), _mm256_add_pd(s1, s3))
        }
    }
}

/// Stores four float32 results at `at`: past the cache when aligned (a
/// result array is written once and read later, so loading its lines first
/// would only add traffic; `sfence` at the end of each kernel orders them).
///
/// # Safety
///
/// 16 writable bytes at `at`.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn store4(at: *mut u8, v: __m128) {
    // SAFETY: the caller's promise; the aligned store only when aligned.
    unsafe {
        if (at as usize).is_multiple_of(16) {
            _mm_stream_ps(at as *mut f32, v);
        } else {
            _mm_storeu_ps(at as *mut f32, v);
        }
    }
}

/// Sums of `rows` rows of `N` (4 or 16) float32 values in float64; returns
/// the rows done (a multiple of four; the caller folds the rest).
///
/// # Safety
///
/// The CPU has AVX2; the rows are readable; the results fit the buffer.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn sum_rows_f32<const N: usize>(
    p: *const u8,
    row_stride: isize,
    rows: usize,
    results: Results,
) -> usize {
    let mut r = 0;
    while r + 4 <= rows {
        // SAFETY: rows r..r+4, the caller's promise.
        unsafe {
            let v = sum4x4(
                row_partials::<N>(p, row_stride, r),
                row_partials::<N>(p, row_stride, r + 1),
                row_partials::<N>(p, row_stride, r + 2),
                row_partials::<N>(p, row_stride, r + 3),
            );
            results.put4(r, v);
        }
        r += 4;
    }
    _mm_sfence();
    r
}

/// Minima (or maxima) of `rows` rows of `N` (4 or 16) float32 values, NaN
/// if a row holds one; written as float32 at `out + r * stride`. Returns
/// the rows done (a multiple of four).
///
/// # Safety
///
/// As [`sum_rows_f32`].
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn extreme_rows_f32<const N: usize, const MAX: bool>(
    p: *const u8,
    row_stride: isize,
    rows: usize,
    out: *mut u8,
    stride: isize,
) -> usize {
    let mut r = 0;
    while r + 4 <= rows {
        // SAFETY: rows r..r+4, the caller's promise; results inside the buffer.
        unsafe {
            // Each row down to four lanes (and a NaN mask), then a 4x4
            // transpose so that lane k of every vector belongs to row r + k.
            let mut v = [_mm_setzero_ps(); 4];
            let mut nan = [_mm_setzero_ps(); 4];
            for (k, (v, nan)) in v.iter_mut().zip(nan.iter_mut()).enumerate() {
                let q = p.offset((r + k) as isize * row_stride) as *const f32;
                if N == 4 {
                    *v = _mm_loadu_ps(q);
                    *nan = _mm_cmpunord_ps(*v, *v);
                } else {
                    let a = _mm256_loadu_ps(q);
                    let b = _mm256_loadu_ps(q.add(8));
                    let m = if MAX { _mm256_max_ps(a, b) } else { _mm256_min_ps(a, b) };
                    let u = _mm256_or_ps(_mm256_cmp_ps::<_CMP_UNORD_Q>(a, a), _mm256_cmp_ps::<_CMP_UNORD_Q>(b, b));
                    *v = pick::<MAX>(_mm256_castps256_ps128(m), _mm256_extractf128_ps::<1>(m));
                    *nan = _mm_or_ps(_mm256_castps256_ps128(u), _mm256_extractf128_ps::<1>(u));
                }
            }
            let v = transpose(v);
            let nan = transpose(nan);
            let m = pick::<MAX>(pick::<MAX>(v[0], v[1]), pick::<MAX>(v[2], v[3]));
            let any_nan = _mm_or_ps(_mm_or_ps(nan[0], nan[1]), _mm_or_ps(nan[2], nan[3]));
            let m = _mm_blendv_ps(m, _mm_set1_ps(f32::NAN), any_nan);
            let at = out.offset(r as isize * stride);
            if stride == 4 {
                store4(at, m);
            } else {
                let mut lanes = [0f32; 4];
                _mm_storeu_ps(lanes.as_mut_ptr(), m);
                for (k, x) in lanes.iter().enumerate() {
                    std::ptr::write_unaligned(at.offset(k as isize * stride) as *mut f32, *x);
                }
            }
        }
        r += 4;
    }
    _mm_sfence();
    r
}

#[target_feature(enable = "avx2,fma")]
#[inline]
fn pick<const MAX: bool>(a: __m128, b: __m128) -> __m128 {
    if MAX {
        _mm_max_ps(a, b)
    } else {
        _mm_min_ps(a, b)
    }
}

/// A 4x4 transpose: lane `k` of result `j` is lane `j` of input `k`.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn transpose(x: [__m128; 4]) -> [__m128; 4] {
    let a = _mm_unpacklo_ps(x[0], x[1]);
    let b = _mm_unpackhi_ps(x[0], x[1]);
    let c = _mm_unpacklo_ps(x[2], x[3]);
    let d = _mm_unpackhi_ps(x[2], x[3]);
    [
        _mm_movelh_ps(a, c),
        _mm_movehl_ps(c, a),
        _mm_movelh_ps(b, d),
        _mm_movehl_ps(d, b),
    ]
}

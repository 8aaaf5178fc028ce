/**
 * IEEE 754 binary16 conversions (Node 20 has no Float16Array). Rounding is to
 * nearest, ties to even, as numpy's `npy_double_to_half`.
 */

const float64 = new Float64Array(1);
const bits64 = new BigUint64Array(float64.buffer);

/** The number a float16 bit pattern stands for. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** The float16 bit pattern nearest to `value`. */
export function floatToHalf(value: number): number {
  float64[0] = value;
  const bits = bits64[0];
  const sign = Number(bits >> 63n) << 15;
  const exponent = Number((bits >> 52n) & 0x7ffn);
  const mantissa = bits & 0xfffffffffffffn;
  if (exponent === 0x7ff) {
    // Infinity, or NaN (numpy keeps a quiet NaN).
    return mantissa === 0n ? sign | 0x7c00 : sign | 0x7e00;
  }
  const unbiased = exponent - 1023;
  if (unbiased > 15) return sign | 0x7c00; // overflow to infinity
  if (unbiased >= -14) {
    // Normal half: keep 10 of 52 mantissa bits, round the other 42.
    let half = ((unbiased + 15) << 10) | Number(mantissa >> 42n);
    const rest = mantissa & ((1n << 42n) - 1n);
    const halfway = 1n << 41n;
    if (rest > halfway || (rest === halfway && (half & 1) === 1)) half += 1; // may carry into the exponent: correct
    return sign | half;
  }
  if (unbiased < -25) return sign; // underflow to signed zero
  // Subnormal half: value / 2^-24, rounded to nearest even.
  const scaled = Math.abs(value) * 2 ** 24;
  let rounded = Math.floor(scaled);
  const remainder = scaled - rounded;
  if (remainder > 0.5 || (remainder === 0.5 && (rounded & 1) === 1)) rounded += 1;
  return sign | rounded;
}

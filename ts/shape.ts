/**
 * Shape and strides arithmetic: pure functions, no binding. Public strides are
 * in bytes (numpy's unit); names say when a unit is different.
 */
import { memmapError, proxyArgumentError, show } from './errors';
import { isTypedArray, typedLength } from './intrinsics';

/**
 * Memory layout: `'C'` row-major (last axis contiguous), `'F'` column-major.
 *
 * @example
 * memmap('a.bin', { mode: 'w+', shape: [3, 4], order: 'F' }); // column-major, as numpy's order='F'
 */
export type Order = 'C' | 'F';

/** numpy's NPY_MAXDIMS: a `.npy` header with more dimensions is one numpy cannot load. */
export const MAX_DIMS = 64;

/** Checks a shape given as an integer or an array of integers. */
export function normalizeShape(shape: unknown, argument = 'shape'): number[] {
  try {
    return normalizeShapeOf(shape, argument);
  } catch (error) {
    throw proxyArgumentError(error, argument);
  }
}

function normalizeShapeOf(shape: unknown, argument = 'shape'): number[] {
  const dims = typeof shape === 'number' || typeof shape === 'bigint' ? [shape] : shape;
  const typed = isTypedArray(dims);
  if (!Array.isArray(dims) && !typed) {
    throw memmapError(
      'ERR_MEMMAP_INVALID_ARG',
      `${argument} must be an integer or an array of integers; got ${show(shape)}`,
    );
  }
  // A TypedArray's length from the engine's getter, its values by index (not its own iterator).
  const length = typed ? typedLength(dims) : (dims as ArrayLike<unknown>).length;
  if (length > MAX_DIMS) {
    throw memmapError(
      'ERR_MEMMAP_OUT_OF_RANGE',
      `${argument} has ${length} dimensions; numpy supports at most ${MAX_DIMS}`,
    );
  }
  return Array.from({ length }, (_, axis) => (dims as ArrayLike<unknown>)[axis]).map((dim, axis) => {
    // A bigint is an integer: out of range is out of range, as for a number (not a wrong type).
    if (typeof dim !== 'bigint' && (typeof dim !== 'number' || !Number.isInteger(dim))) {
      throw memmapError(
        'ERR_MEMMAP_INVALID_ARG',
        `${argument}[${axis}] must be a non-negative integer; got ${show(dim)} in ${argument} ${show(shape)}`,
      );
    }
    if (dim < 0 || dim > Number.MAX_SAFE_INTEGER) {
      throw memmapError(
        'ERR_MEMMAP_OUT_OF_RANGE',
        `${argument}[${axis}] must be a non-negative integer no larger than 2^53 - 1; got ${show(dim)} in ${argument} ${show(shape)}`,
      );
    }
    // -0 is 0 (a shape never shows -0).
    return Number(dim) + 0;
  });
}

/**
 * Number of elements; checks that the byte count, and every axis (rows of
 * zero bytes can pass 2^53 - 1 by growth), stay exact integers.
 */
export function sizeOf(shape: readonly number[], itemsize = 1, argument = 'shape'): number {
  let size = 1;
  for (const dim of shape) {
    if (dim > Number.MAX_SAFE_INTEGER) {
      throw memmapError(
        'ERR_MEMMAP_TOO_LARGE',
        `${argument} ${show(shape)} has an axis longer than 2^53 - 1, the most memmap counts exactly`,
      );
    }
    size *= dim;
  }
  if (size * itemsize > Number.MAX_SAFE_INTEGER) {
    throw memmapError(
      'ERR_MEMMAP_TOO_LARGE',
      `${argument} ${show(shape)} with ${itemsize}-byte items is ${BigInt(shape.reduce((a, b) => a * BigInt(b), 1n)) * BigInt(itemsize)} bytes, more than any file can map (2^53 - 1)`,
    );
  }
  return size;
}

/** numpy's strides, in bytes, for a contiguous array in `order`. */
export function contiguousStrides(shape: readonly number[], itemsize: number, order: Order): number[] {
  const ndim = shape.length;
  const strides = new Array<number>(ndim);
  let step = itemsize;
  for (let k = 0; k < ndim; k++) {
    const axis = order === 'C' ? ndim - 1 - k : k;
    // An array with no elements can still have axes whose strides pass what
    // a number counts exactly ([0, 2^40, 2^40] of float64): numpy refuses
    // such a shape too ('array is too big').
    if (step > Number.MAX_SAFE_INTEGER) {
      throw memmapError(
        'ERR_MEMMAP_TOO_LARGE',
        `shape ${show(shape)} with ${itemsize}-byte items in ${order} order has strides past 2^53 - 1 bytes (numpy: array is too big)`,
      );
    }
    strides[axis] = step;
    step *= Math.max(shape[axis], 1);
  }
  return strides;
}

/** numpy's flags.c_contiguous / f_contiguous (axes of length 1 do not count). */
export function isContiguous(
  shape: readonly number[],
  strides: readonly number[],
  itemsize: number,
  order: Order,
): boolean {
  const ndim = shape.length;
  let expected = itemsize;
  for (let k = 0; k < ndim; k++) {
    const axis = order === 'C' ? ndim - 1 - k : k;
    if (shape[axis] === 0) return true;
    if (shape[axis] === 1) continue;
    if (strides[axis] !== expected) return false;
    expected *= shape[axis];
  }
  return true;
}

/**
 * The bytes a view touches, relative to its first element: `[low, high)`,
 * where low <= 0 when some stride is negative. Empty views touch nothing.
 */
export function byteExtent(shape: readonly number[], strides: readonly number[], itemsize: number): [number, number] {
  let low = 0;
  let high = itemsize;
  for (let axis = 0; axis < shape.length; axis++) {
    if (shape[axis] === 0) return [0, 0];
    const reach = (shape[axis] - 1) * strides[axis];
    if (reach < 0) low += reach;
    else high += reach;
  }
  return [low, high];
}

/**
 * Calls `copy(byte, done, bytes)` for each run of consecutive bytes that
 * elements `first..first + count` of a view (element 0 at `byteOffset`), in C
 * order, occupy: trailing axes laid out back to back are one run. The same
 * walk as the native block copy (crates/memmap-core/src/copy.rs), for
 * storages in the JavaScript heap.
 */
export function forEachRun(
  byteOffset: number,
  shape: readonly number[],
  strides: readonly number[],
  itemsize: number,
  first: number,
  count: number,
  copy: (byte: number, done: number, bytes: number) => void,
): void {
  if (count === 0) return;
  let run = 1;
  let outer = shape.length;
  while (outer > 0 && (strides[outer - 1] === run * itemsize || shape[outer - 1] === 1)) {
    outer--;
    run *= shape[outer];
  }
  const index = new Array<number>(outer).fill(0);
  let within = first % run;
  let rest = Math.floor(first / run);
  let at = byteOffset;
  for (let axis = outer - 1; axis >= 0; axis--) {
    index[axis] = rest % shape[axis];
    rest = Math.floor(rest / shape[axis]);
    at += index[axis] * strides[axis];
  }
  const len = count * itemsize;
  for (let done = 0; done < len;) {
    const take = Math.min((run - within) * itemsize, len - done);
    copy(at + within * itemsize, done, take);
    done += take;
    within = 0;
    for (let axis = outer - 1; axis >= 0; axis--) {
      at += strides[axis];
      if (++index[axis] < shape[axis]) break;
      at -= strides[axis] * shape[axis];
      index[axis] = 0;
    }
  }
}

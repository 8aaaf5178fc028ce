/**
 * numpy broadcasting for assignment (`a[:] = source`): a source flattened to
 * values in C order with its shape, and the element strides that read it at
 * every index of the target. Pure; no binding.
 */
import { memmapError, revokedProxyError, show } from './errors';
import { contiguousStrides, MAX_DIMS } from './shape';

/**
 * What an array offers a broadcast: its values in C order and its shape.
 * NDArray implements it (a symbol, so this module needs no import of it).
 */
export const VALUES = Symbol('memmap.values');
export interface HasValues {
  readonly size: number;
  [VALUES](): { values: unknown[]; shape: number[] };
}

function hasValues(source: unknown): source is HasValues {
  return typeof (source as Partial<HasValues> | null)?.[VALUES] === 'function';
}

/**
 * The most values flatten() gathers into one JavaScript array: V8 ends the
 * process (a fatal "invalid size" error, not an exception) when an array's
 * backing store passes about 2^27 elements, and an array grows its store by
 * half again, so gathering stays safe below about 89M values.
 */
const FLAT_LIMIT = 2 ** 26 + 2 ** 24;

/**
 * Flattens an assign() source to values in C order and its shape. Nesting
 * deeper than numpy's dimensions limit is refused as it is found, so an array
 * that contains itself ends in an error, not an endless walk or a stack overflow.
 */
export function flatten(source: unknown): { values: unknown[]; shape: number[] } {
  try {
    return flattenOf(source);
  } catch (error) {
    throw revokedProxyError(error, 'source');
  }
}

function flattenOf(source: unknown): { values: unknown[]; shape: number[] } {
  const tooMany = (count: number) =>
    memmapError(
      'ERR_MEMMAP_TOO_LARGE',
      `source has ${count} values, more than are taken one by one as JavaScript values (${FLAT_LIMIT}): pass an array of the same dtype and shape (copied natively), or assign in slices`,
    );
  if (hasValues(source)) {
    if (source.size > FLAT_LIMIT) throw tooMany(source.size);
    return source[VALUES]();
  }
  if (ArrayBuffer.isView(source) && !(source instanceof DataView)) {
    const length = (source as unknown as ArrayLike<unknown>).length;
    if (length > FLAT_LIMIT) throw tooMany(length);
    // By index, never through the instance's own Symbol.iterator (which may never end).
    const typed = source as unknown as ArrayLike<unknown>;
    return { values: Array.from({ length }, (_, k) => typed[k]), shape: [length] };
  }
  if (!Array.isArray(source)) return { values: [source], shape: [] };
  const shape: number[] = [];
  for (let level: unknown = source; Array.isArray(level); level = level[0]) {
    if (shape.length === MAX_DIMS) {
      throw memmapError(
        'ERR_MEMMAP_OUT_OF_RANGE',
        `source is nested more than ${MAX_DIMS} arrays deep (or contains itself); numpy supports at most ${MAX_DIMS} dimensions`,
      );
    }
    // A Proxy may claim any length: only a count of values is taken.
    const length: unknown = level.length;
    if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) {
      throw memmapError('ERR_MEMMAP_INVALID_ARG', `source has an array whose length is ${show(length)}`);
    }
    shape.push(length);
  }
  const count = shape.reduce((n, k) => n * k, 1);
  if (count > FLAT_LIMIT) throw tooMany(count);
  const values: unknown[] = [];
  const ragged = () =>
    memmapError('ERR_MEMMAP_SHAPE_MISMATCH', `source is a ragged nested array: expected shape ${show(shape)}`);
  const walk = (node: unknown, axis: number): void => {
    if (axis === shape.length) {
      if (Array.isArray(node)) throw ragged();
      values.push(node);
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[axis]) throw ragged();
    // By index up to the length found above, never through the array's own
    // iterator: a custom Symbol.iterator, or a getter that grows the array
    // as it is read, cannot make the walk endless.
    for (let k = 0; k < shape[axis]; k++) walk(node[k], axis + 1);
  };
  walk(source, 0);
  return { values, shape };
}

/**
 * Element strides that read a C-ordered source of `sourceShape` at each index
 * of `targetShape`, numpy's broadcasting rules (0 on broadcast axes).
 * `flatFill`: a flat source with exactly `size` values fills in C order.
 */
export function broadcastElementStrides(
  sourceShape: number[],
  targetShape: readonly number[],
  flatFill: boolean,
): number[] {
  if (flatFill) return contiguousStrides(targetShape, 1, 'C');
  // numpy's assignment drops leading length-1 axes of the source first.
  while (sourceShape.length > targetShape.length && sourceShape[0] === 1) sourceShape = sourceShape.slice(1);
  const mismatch = () =>
    memmapError(
      'ERR_MEMMAP_SHAPE_MISMATCH',
      `could not broadcast input array from shape ${show(sourceShape)} into shape ${show(targetShape)}`,
    );
  if (sourceShape.length > targetShape.length) throw mismatch();
  const padded = [...new Array<number>(targetShape.length - sourceShape.length).fill(1), ...sourceShape];
  const sourceStrides = contiguousStrides(padded, 1, 'C');
  return targetShape.map((dim, axis) => {
    if (padded[axis] === dim) return sourceStrides[axis];
    if (padded[axis] === 1) return 0;
    throw mismatch();
  });
}

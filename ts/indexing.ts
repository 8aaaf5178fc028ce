/**
 * numpy basic indexing: parses an index string (`'1:, ::2'`, `'...'`, `'-1'`,
 * `'None'`) and applies it to a view's geometry. Pure; no binding.
 */
import { memmapError, proxyArgumentError, show } from './errors';
import { MAX_DIMS } from './shape';

export type IndexItem =
  | { kind: 'integer'; value: number }
  | { kind: 'slice'; start: number | null; stop: number | null; step: number | null }
  | { kind: 'ellipsis' }
  | { kind: 'newaxis' };

/** A view's geometry: shape, byte strides and the byte offset of element 0. */
export interface Geometry {
  shape: number[];
  strides: number[];
  byteOffset: number;
}

const INTEGER = /^[+-]?\d+$/;

/**
 * An integer argument given as a bigint, as the number it names; anything
 * else as it is (the caller's check judges it). int64 results, such as the
 * indices `argmax({ axis })` gives, then index directly, as numpy's int64
 * scalars do. A bigint past 2^53 becomes the nearest double, still an
 * integer and out of range of any axis.
 */
export function integerOf(value: unknown): unknown {
  return typeof value === 'bigint' ? Number(value) : value;
}

function parseInteger(text: string, spec: string, bound = false): number {
  if (!INTEGER.test(text)) {
    throw memmapError(
      'ERR_MEMMAP_INVALID_INDEX',
      `index ${show(spec)}: ${show(text)} is not an integer, a slice (start:stop:step), '...' or 'None'`,
    );
  }
  const value = Number(text);
  // A slice bound or step of any size clamps, as Python's slices do: past
  // 2^53 - 1 it means what 2^53 - 1 means, as no axis is that long.
  if (bound && !Number.isSafeInteger(value))
    return text.startsWith('-') ? -Number.MAX_SAFE_INTEGER : Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(value)) {
    throw memmapError('ERR_MEMMAP_INDEX_OUT_OF_RANGE', `index ${show(spec)}: ${text} is too large`);
  }
  return value;
}

/** Parses an index string, or accepts an integer for a single axis. */
export function parseIndex(spec: unknown): IndexItem[] {
  try {
    return parseIndexOf(spec);
  } catch (error) {
    throw proxyArgumentError(error, 'index');
  }
}

function parseIndexOf(spec: unknown): IndexItem[] {
  if (typeof spec === 'bigint') {
    const value = Number(spec);
    if (!Number.isSafeInteger(value)) {
      throw memmapError('ERR_MEMMAP_INDEX_OUT_OF_RANGE', `index ${show(spec)} is out of range of any axis`);
    }
    return [{ kind: 'integer', value }];
  }
  if (typeof spec === 'number') {
    // An integer past 2^53 - 1 is out of range of any axis, as the same
    // integer as a bigint or a string is.
    if (Number.isInteger(spec) && !Number.isSafeInteger(spec)) {
      throw memmapError('ERR_MEMMAP_INDEX_OUT_OF_RANGE', `index ${show(spec)} is out of range of any axis`);
    }
    if (!Number.isSafeInteger(spec))
      throw memmapError(
        'ERR_MEMMAP_INVALID_INDEX',
        `index must be an integer or an index string such as '1:, ::2'; got ${show(spec)}`,
      );
    return [{ kind: 'integer', value: spec }];
  }
  if (typeof spec !== 'string') {
    throw memmapError(
      'ERR_MEMMAP_INVALID_INDEX',
      `index must be an index string such as '1:, ::2' or an integer; got ${show(spec)}`,
    );
  }
  let parts = spec.split(',').map((part) => part.trim());
  // numpy allows a trailing comma (`'0,'` is the tuple `(0,)`); `''` is `()`.
  if (parts.length > 1 && parts[parts.length - 1] === '') parts = parts.slice(0, -1);
  if (parts.length === 1 && parts[0] === '') return [];
  return parts.map((part): IndexItem => {
    if (part === '...' || part === 'Ellipsis') return { kind: 'ellipsis' };
    if (part === 'None' || part === 'newaxis' || part === 'np.newaxis') return { kind: 'newaxis' };
    if (part.includes(':')) {
      const bounds = part.split(':').map((bound) => bound.trim());
      if (bounds.length > 3)
        throw memmapError('ERR_MEMMAP_INVALID_INDEX', `index ${show(spec)}: ${show(part)} has more than two ':'`);
      const [start, stop, step] = bounds.map((bound) =>
        bound === '' || bound === 'None' ? null : parseInteger(bound, spec, true),
      );
      if (step === 0) throw memmapError('ERR_MEMMAP_INVALID_INDEX', `index ${show(spec)}: slice step cannot be zero`);
      return { kind: 'slice', start, stop, step: step ?? null };
    }
    return { kind: 'integer', value: parseInteger(part, spec) };
  });
}

/** Python's `slice.indices(length)` followed by the element count. */
export function resolveSlice(
  start: number | null,
  stop: number | null,
  step: number | null,
  length: number,
): [number, number, number] {
  const by = step ?? 1;
  const [lower, upper] = by > 0 ? [0, length] : [-1, length - 1];
  const clamp = (bound: number | null, fallback: number): number => {
    if (bound === null) return fallback;
    return bound < 0 ? Math.max(bound + length, lower) : Math.min(bound, upper);
  };
  const from = clamp(start, by > 0 ? lower : upper);
  const to = clamp(stop, by > 0 ? upper : lower);
  const count = by > 0 ? Math.max(0, Math.ceil((to - from) / by)) : Math.max(0, Math.ceil((from - to) / -by));
  return [from, by, count];
}

/** Normalises one integer index against an axis (negative counts from the end). */
export function resolveInteger(index: number, length: number, axis: number): number {
  const resolved = index < 0 ? index + length : index;
  if (resolved < 0 || resolved >= length) {
    throw memmapError(
      'ERR_MEMMAP_INDEX_OUT_OF_RANGE',
      `index ${index} is out of bounds for axis ${axis} with size ${length}`,
    );
  }
  return resolved;
}

/** Applies parsed index items to a geometry, as numpy's basic indexing does. */
export function applyIndex(items: IndexItem[], geometry: Geometry): Geometry {
  // One pass to count, one to apply, no arrays but the result's: slice() is a
  // hot path (a view per row in a loop), and what an index expands to is
  // known from the counts alone.
  let ellipses = 0;
  let consuming = 0;
  for (const item of items) {
    if (item.kind === 'ellipsis') ellipses++;
    else if (item.kind === 'integer' || item.kind === 'slice') consuming++;
  }
  if (ellipses > 1) throw memmapError('ERR_MEMMAP_INVALID_INDEX', "an index can only have a single ellipsis ('...')");
  const ndim = geometry.shape.length;
  if (consuming > ndim) {
    throw memmapError(
      'ERR_MEMMAP_INVALID_INDEX',
      `too many indices: the array is ${ndim}-dimensional, but ${consuming} were indexed`,
    );
  }
  const shape: number[] = [];
  const strides: number[] = [];
  let byteOffset = geometry.byteOffset;
  let axis = 0;
  // '...' (or the implicit trailing one) stands for full slices of the axes
  // no item consumes: they keep their length and stride.
  const whole = (): void => {
    for (const end = axis + ndim - consuming; axis < end; axis++) {
      shape.push(geometry.shape[axis]);
      strides.push(geometry.strides[axis]);
    }
  };
  for (const item of items) {
    if (item.kind === 'ellipsis') {
      whole();
    } else if (item.kind === 'newaxis') {
      shape.push(1);
      strides.push(0);
    } else {
      const length = geometry.shape[axis];
      const stride = geometry.strides[axis];
      if (item.kind === 'integer') {
        byteOffset += resolveInteger(item.value, length, axis) * stride;
      } else {
        const [start, step, count] = resolveSlice(item.start, item.stop, item.step, length);
        // numpy makes an empty slice start at 0 with step 1 (so its stride is
        // the axis's). One element's stride never moves anything: numpy's
        // where it is exact, the axis's where a step of any size (clamped to
        // 2^53 - 1) would make it inexact and walking the axis would round.
        if (count > 0) byteOffset += start * stride;
        shape.push(count);
        const stepped = stride * step;
        strides.push(count > 1 || (count === 1 && Number.isSafeInteger(stepped)) ? stepped : stride);
      }
      axis += 1;
    }
  }
  if (ellipses === 0) whole();
  if (shape.length > MAX_DIMS) {
    throw memmapError(
      'ERR_MEMMAP_INVALID_INDEX',
      `the index makes ${shape.length} dimensions; numpy supports at most ${MAX_DIMS}`,
    );
  }
  return { shape, strides, byteOffset };
}

/**
 * numpy broadcasting for assignment (`a[:] = source`): a source flattened to
 * values in C order with its shape, and the element strides that read it at
 * every index of the target. Pure; no binding.
 */
import type { DType } from './dtype';
import { memmapError, proxyArgumentError, show } from './errors';
import { isTypedArray, typedLength } from './intrinsics';
import { contiguousStrides, MAX_DIMS } from './shape';

/**
 * What an array offers a broadcast: its values in C order and its shape.
 * NDArray implements it (a symbol, so this module needs no import of it).
 */
export const VALUES = Symbol('memmap.values');
export interface HasValues {
  readonly size: number;
  readonly shape: readonly number[];
  /** The values in C order, datetimes and timedeltas in the unit of `into` where it has one. */
  [VALUES](into?: DType): { values: unknown[]; shape: number[] };
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
 * Flattens an assign() source to values in C order and its shape, as numpy's
 * `np.array(source)` finds them: nested arrays whose items may also be
 * TypedArrays (one axis) or arrays of this package (their shape), such as a
 * list of Float32Array rows. Nesting deeper than numpy's dimensions limit is
 * refused as it is found, so an array that contains itself ends in an error,
 * not an endless walk or a stack overflow. Datetimes of arrays are
 * converted to the unit of `options.into`.
 */
export function flatten(source: unknown, options: FlattenOptions = {}): { values: unknown[]; shape: number[] } {
  const argument = options.argument ?? 'source';
  try {
    return flattenOf(source, options.into, options.onItem, argument);
  } catch (error) {
    throw proxyArgumentError(error, argument);
  }
}

/** What flatten() is told besides the source. */
export interface FlattenOptions {
  /** The dtype the values are for. */
  into?: DType;
  /** Sees each item that brings its own shape, before its values are taken. */
  onItem?: (item: unknown) => void;
  /** The source's name in messages (`source`, `where`). */
  argument?: string;
}

/**
 * The shape of an item that brings its own, else null: an array of this
 * package, or a TypedArray where `typedRows` (numeric dtypes; a bytes or
 * void element is itself a Uint8Array).
 */
function shapeOfItem(item: unknown, typedRows: boolean): readonly number[] | null {
  if (hasValues(item)) return item.shape;
  // Its length from the engine's getter: an own `length` cannot change the count of values read.
  if (typedRows && isTypedArray(item)) return [typedLength(item)];
  return null;
}

/**
 * An array's values and shape, checked to agree: the symbol is reachable
 * from the prototype, so an object may pose as an array.
 */
function valuesOf(item: HasValues, into: DType | undefined, argument: string): { values: unknown[]; shape: number[] } {
  const got = item[VALUES](into);
  const shape: unknown = got?.shape;
  if (
    !Array.isArray(got?.values) ||
    !Array.isArray(shape) ||
    !shape.every((n) => Number.isSafeInteger(n) && n >= 0) ||
    got.values.length !== shape.reduce((n: number, k: number) => n * k, 1) ||
    shape.length !== item.shape.length ||
    shape.some((n, k) => n !== item.shape[k])
  ) {
    throw memmapError(
      'ERR_MEMMAP_INVALID_ARG',
      `${argument} holds an object posing as an array: its values do not fill its shape`,
    );
  }
  return got;
}

/** numpy's kinds whose values are numbers: a TypedArray among them is a row of values, not one value. */
const NUMERIC_KINDS: ReadonlySet<string> = new Set(['b', 'i', 'u', 'f', 'c', 'M', 'm']);

function flattenOf(
  source: unknown,
  into: DType | undefined,
  onItem: ((item: unknown) => void) | undefined,
  argument: string,
): { values: unknown[]; shape: number[] } {
  const tooMany = (count: number) =>
    memmapError(
      'ERR_MEMMAP_TOO_LARGE',
      `${argument} has ${count} values, more than are taken one by one as JavaScript values (${FLAT_LIMIT}): ${argument === 'where' ? 'pass a bool array (read natively)' : 'pass an array of the same dtype and shape (copied natively), or assign in slices'}`,
    );
  if (hasValues(source)) {
    if (source.size > FLAT_LIMIT) throw tooMany(source.size);
    return valuesOf(source, into, argument);
  }
  if (isTypedArray(source)) {
    const length = typedLength(source);
    if (length > FLAT_LIMIT) throw tooMany(length);
    // By index, never through the instance's own Symbol.iterator (which may never end).
    const typed = source as unknown as ArrayLike<unknown>;
    return { values: Array.from({ length }, (_, k) => typed[k]), shape: [length] };
  }
  if (!Array.isArray(source)) return { values: [source], shape: [] };
  const shape: number[] = [];
  // Each level's first item is read once: a getter may answer differently.
  let item: unknown = source;
  while (Array.isArray(item)) {
    if (shape.length === MAX_DIMS) {
      throw memmapError(
        'ERR_MEMMAP_OUT_OF_RANGE',
        `${argument} is nested more than ${MAX_DIMS} arrays deep (or contains itself); numpy supports at most ${MAX_DIMS} dimensions`,
      );
    }
    // A Proxy may claim any length: only a count of values is taken.
    const length: unknown = item.length;
    if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) {
      throw memmapError('ERR_MEMMAP_INVALID_ARG', `${argument} has an array whose length is ${show(length)}`);
    }
    shape.push(length);
    item = length === 0 ? undefined : item[0];
  }
  // Rows that are TypedArrays or arrays: their axes come after the nesting's.
  const typedRows = into === undefined || (into.fields === null && NUMERIC_KINDS.has(into.row.kind));
  const inner = shapeOfItem(item, typedRows);
  if (inner !== null) {
    if (shape.length + inner.length > MAX_DIMS) {
      throw memmapError(
        'ERR_MEMMAP_OUT_OF_RANGE',
        `${argument} has ${shape.length + inner.length} dimensions; numpy supports at most ${MAX_DIMS}`,
      );
    }
    shape.push(...inner);
  }
  const count = shape.reduce((n, k) => n * k, 1);
  if (count > FLAT_LIMIT) throw tooMany(count);
  const values: unknown[] = [];
  const ragged = (node?: unknown) =>
    memmapError(
      'ERR_MEMMAP_SHAPE_MISMATCH',
      node instanceof DataView
        ? `${argument} holds a DataView, which has no elements: pass a TypedArray`
        : `${argument} is a ragged nested array: expected shape ${show(shape)}`,
    );
  const walk = (node: unknown, axis: number): void => {
    if (Array.isArray(node)) {
      if (axis === shape.length || node.length !== shape[axis]) throw ragged();
      // By index up to the length found above, never through the array's own
      // iterator: a custom Symbol.iterator, or a getter that grows the array
      // as it is read, cannot make the walk endless.
      for (let k = 0; k < shape[axis]; k++) walk(node[k], axis + 1);
      return;
    }
    const own = shapeOfItem(node, typedRows);
    if (own === null) {
      if (axis !== shape.length) throw ragged(node);
      values.push(node);
      return;
    }
    if (own.length !== shape.length - axis || own.some((n, k) => n !== shape[axis + k])) throw ragged();
    onItem?.(node);
    if (hasValues(node)) {
      for (const value of valuesOf(node, into, argument).values) values.push(value);
    } else {
      const typed = node as ArrayLike<unknown>;
      for (let k = 0; k < own[0]; k++) values.push(typed[k]);
    }
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

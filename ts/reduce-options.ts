/**
 * The options of numpy's reductions (`{ axis, keepdims, ddof, where,
 * initial }`, and `{ signal, onProgress }` for the `*Async` forms), checked
 * as numpy checks its arguments: which operation takes which option, axes
 * normalised (negatives from the end; out of range or repeated is numpy's
 * AxisError / ValueError as a coded RangeError), and the result's shape.
 * Pure: no binding.
 */
import { memmapError, proxyArgumentError, show } from './errors';
import { integerOf } from './indexing';
import { ownOptions } from './own-options';

/**
 * numpy's twelve reductions, as the methods are named.
 *
 * @example
 * const op: ReductionName = 'countNonzero'; // numpy's np.count_nonzero
 */
export type ReductionName =
  'sum' | 'prod' | 'mean' | 'min' | 'max' | 'argmin' | 'argmax' | 'std' | 'var' | 'any' | 'all' | 'countNonzero';

/** Every reduction name, in the order the docs list them. */
export const REDUCTIONS: readonly ReductionName[] = [
  'sum',
  'prod',
  'mean',
  'min',
  'max',
  'argmin',
  'argmax',
  'std',
  'var',
  'any',
  'all',
  'countNonzero',
];

/** What the options of one reduction came to. */
export interface ParsedReduceOptions {
  /** The reduced axes, ascending and distinct; `null` for all of them. */
  readonly axes: readonly number[] | null;
  readonly keepdims: boolean;
  readonly ddof: number;
  /** `where` as given (an array, nested values, `false`); `undefined` for none (also `where: true`, numpy's default). */
  readonly where: unknown;
  /** `initial` as given (a number, bigint or boolean); `undefined` for none. */
  readonly initial: number | bigint | boolean | undefined;
  readonly signal: AbortSignal | undefined;
  readonly onProgress: ((fraction: number) => void) | undefined;
}

/** Which options each reduction takes beyond `axis` and `keepdims` (numpy's signatures). */
function takes(op: ReductionName, key: string): boolean {
  switch (key) {
    case 'axis':
    case 'keepdims':
      return true;
    case 'ddof':
      return op === 'std' || op === 'var';
    case 'initial':
      return op === 'sum' || op === 'prod' || op === 'min' || op === 'max';
    case 'where':
      return op !== 'argmin' && op !== 'argmax' && op !== 'countNonzero';
    default:
      return false;
  }
}

/**
 * Checks a reduction's options against numpy's signature of `op` over an
 * array of `ndim` dimensions. `async`: `signal` and `onProgress` allowed.
 */
export function parseReduceOptions(
  op: ReductionName,
  ndim: number,
  options: unknown,
  async: boolean,
): ParsedReduceOptions {
  try {
    return parseReduceOptionsOf(op, ndim, options, async);
  } catch (error) {
    throw proxyArgumentError(error, `${async ? `${op}Async` : op}() options`);
  }
}

function parseReduceOptionsOf(op: ReductionName, ndim: number, options: unknown, async: boolean): ParsedReduceOptions {
  const method = async ? `${op}Async` : op;
  if (options === undefined) {
    return {
      axes: null,
      keepdims: false,
      ddof: 0,
      where: undefined,
      initial: undefined,
      signal: undefined,
      onProgress: undefined,
    };
  }
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw memmapError(
      'ERR_MEMMAP_INVALID_ARG',
      `${method}() takes an options object ({ axis, keepdims, ... }); got ${show(options)}`,
    );
  }
  const given = ownOptions(
    options,
    `${method}() options`,
    (key) => takes(op, key) || (async && (key === 'signal' || key === 'onProgress')),
    (key) =>
      memmapError(
        'ERR_MEMMAP_UNKNOWN_OPTION',
        `${method}() does not take the option ${show(key)} (it takes ${optionList(op, async)})`,
      ),
  );
  // Absent is the default; null is refused, as numpy's None is for both.
  const keepdims = given.keepdims === undefined ? false : given.keepdims;
  if (typeof keepdims !== 'boolean') {
    throw memmapError('ERR_MEMMAP_INVALID_ARG', `${method}(): keepdims must be a boolean; got ${show(keepdims)}`);
  }
  // numpy's ddof is any number, and a bool is one of Python's ints (ddof=True is 1).
  const ddof =
    given.ddof === undefined ? 0 : typeof given.ddof === 'boolean' ? Number(given.ddof) : integerOf(given.ddof);
  if (typeof ddof !== 'number' || !Number.isFinite(ddof)) {
    throw memmapError('ERR_MEMMAP_INVALID_ARG', `${method}(): ddof must be a finite number; got ${show(ddof)}`);
  }
  const initial = given.initial;
  if (
    initial !== undefined &&
    typeof initial !== 'number' &&
    typeof initial !== 'bigint' &&
    typeof initial !== 'boolean'
  ) {
    throw memmapError(
      'ERR_MEMMAP_INVALID_ARG',
      `${method}(): initial must be a number, bigint or boolean; got ${show(initial)}`,
    );
  }
  const signal = given.signal;
  if (signal !== undefined && !isAbortSignal(signal)) {
    throw memmapError('ERR_MEMMAP_INVALID_ARG', `${method}(): signal must be an AbortSignal; got ${show(signal)}`);
  }
  const onProgress = given.onProgress;
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw memmapError('ERR_MEMMAP_INVALID_ARG', `${method}(): onProgress must be a function; got ${show(onProgress)}`);
  }
  // numpy's default is `where=True`: no mask at all, so min/max take it without an initial.
  const where = given.where === true ? undefined : given.where;
  return {
    axes: legacyScalarAxis(op, ndim, integerOf(given.axis), where !== undefined)
      ? null
      : normalizeAxes(method, given.axis, ndim, op === 'argmin' || op === 'argmax'),
    keepdims,
    ddof,
    where,
    initial,
    signal,
    onProgress: onProgress as ((fraction: number) => void) | undefined,
  };
}

/**
 * numpy's legacy exception for 0-d arrays: the ufunc reductions (`sum`,
 * `prod`, `min`, `max`, `any`, `all`), `argmin`/`argmax` and `count_nonzero`
 * take an integer axis 0 or -1 there as the whole array (an array of axes,
 * `[0]`, stays an AxisError). `mean`, `std` and `var` take it only with a
 * `where` mask (numpy then sums through the ufunc); without one, or with
 * `where: true` (no mask), they refuse it.
 */
function legacyScalarAxis(op: ReductionName, ndim: number, axis: unknown, masked: boolean): boolean {
  if (ndim !== 0 || (axis !== 0 && axis !== -1)) return false;
  return (op !== 'mean' && op !== 'std' && op !== 'var') || masked;
}

function optionList(op: ReductionName, async: boolean): string {
  const keys = ['axis', 'keepdims', 'ddof', 'initial', 'where'].filter((key) => takes(op, key));
  if (async) keys.push('signal', 'onProgress');
  return keys.join(', ');
}

function isAbortSignal(value: unknown): value is AbortSignal {
  const candidate = value as Partial<AbortSignal> | null;
  try {
    return (
      typeof candidate === 'object' &&
      candidate !== null &&
      typeof candidate.aborted === 'boolean' &&
      typeof candidate.addEventListener === 'function'
    );
  } catch {
    // A getter that throws: `Object.create(AbortSignal.prototype)` has no signal inside.
    return false;
  }
}

/**
 * numpy's `normalize_axis_tuple`: an integer or an array of them, negatives
 * counting from the end; out of range is numpy's AxisError, a repeat its
 * ValueError. `single`: argmin/argmax take one axis only. `null`/`undefined`:
 * all axes.
 */
export function normalizeAxes(method: string, axis: unknown, ndim: number, single = false): number[] | null {
  if (axis === undefined || axis === null) return null;
  if (Array.isArray(axis) && single) {
    throw memmapError(
      'ERR_MEMMAP_INVALID_ARG',
      `${method}(): axis must be one integer (numpy's ${method} reduces one axis or all); got ${show(axis)}`,
    );
  }
  const list: unknown[] = Array.isArray(axis) ? axis : [axis];
  const seen = new Set<number>();
  for (const given of list) {
    const item = integerOf(given);
    if (typeof item !== 'number' || !Number.isInteger(item)) {
      throw memmapError(
        'ERR_MEMMAP_INVALID_ARG',
        `${method}(): axis must be an integer or an array of integers; got ${show(axis)}`,
      );
    }
    if (item < -ndim || item >= ndim) {
      throw memmapError(
        'ERR_MEMMAP_AXIS_OUT_OF_RANGE',
        `${method}(): axis ${item} is out of bounds for array of dimension ${ndim}`,
      );
    }
    const normal = item < 0 ? item + ndim : item;
    if (seen.has(normal)) {
      throw memmapError('ERR_MEMMAP_DUPLICATE_AXIS', `${method}(): duplicate value in 'axis': ${show(axis)}`);
    }
    seen.add(normal);
  }
  return [...seen].sort((a, b) => a - b);
}

/** numpy's result shape: the kept axes, with the reduced ones as 1 when `keepdims`. */
export function reducedShape(shape: readonly number[], axes: readonly number[] | null, keepdims: boolean): number[] {
  const reduced = (axis: number) => axes === null || axes.includes(axis);
  if (keepdims) return shape.map((dim, axis) => (reduced(axis) ? 1 : dim));
  return shape.filter((_dim, axis) => !reduced(axis));
}

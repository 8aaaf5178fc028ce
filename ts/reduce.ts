/**
 * Reductions of a view: which native reductions make each numpy reduction,
 * and numpy's result rules per kind (integer sums as int64/uint64, float
 * means, complex, empty views, datetime64/timedelta64 with NaT). The work
 * itself is native (crates/memmap-core reduce), run on the calling thread or,
 * for the `*Async` forms, off it.
 */
import { Accessor } from './access';
import type { ReduceRequest, ReduceValue } from './binding';
import { Complex, NAT, Scalar } from './dtype';
import { memmapError, show } from './errors';
import { FileStorage } from './storage';

/** The reductions a view offers. */
export type Reduction = 'sum' | 'min' | 'max' | 'mean';

/** The native reductions one numpy reduction is made of, and how their results become numpy's value. */
interface Plan {
  readonly requests: readonly ReduceRequest[];
  finish(results: readonly (ReduceValue | null)[]): Scalar;
}

/** numpy's `a.sum()`, `a.min()`, ... over the whole view, on this thread. */
export function reduce(view: Accessor, op: Reduction): Scalar {
  const { requests, finish } = plan(view, op);
  const storage = nativeStorage(view);
  return finish(requests.map((request) => (view.size === 0 ? null : storage.reduce(request))));
}

/** The same reduction off the main thread; the mapping stays alive until it settles. */
export async function reduceAsync(view: Accessor, op: Reduction): Promise<Scalar> {
  const { requests, finish } = plan(view, op);
  const storage = nativeStorage(view);
  return finish(await Promise.all(requests.map((request) => (view.size === 0 ? null : storage.reduceAsync(request)))));
}

function nativeStorage(view: Accessor): FileStorage {
  if (view.storage instanceof FileStorage) return view.storage;
  throw memmapError('ERR_MEMMAP_UNSUPPORTED', 'reductions of in-memory arrays are not available yet');
}

function plan(view: Accessor, op: Reduction): Plan {
  view.checkOpen();
  const { row, littleEndian } = view.dtype;
  const request = (native: ReduceRequest['op']): ReduceRequest => ({
    op: native,
    element: row.element!,
    littleEndian,
    byteOffset: view.byteOffset,
    shape: [...view.shape],
    strides: [...view.strides],
  });
  if (row.kind === 'M' || row.kind === 'm') return timePlan(view, op, request);
  if (row.element === null) {
    throw memmapError('ERR_MEMMAP_INVALID_DTYPE', `${op}() is not defined for dtype ${view.dtype.str}`);
  }
  if (op === 'mean') return { requests: [request('fsum')], finish: ([sum]) => meanOf(view, sum) };
  return { requests: [request(op)], finish: ([result]) => reduced(view, result, op) };
}

function emptyError(view: Accessor, op: string): Error {
  return memmapError(
    'ERR_MEMMAP_EMPTY_REDUCTION',
    `${op}() of an empty view (shape ${show(view.shape)}): the reduction has no identity`,
  );
}

/** The native result in numpy's result type for this dtype. */
function reduced(view: Accessor, result: ReduceValue | null, op: Reduction): Scalar {
  const { kind } = view.dtype.row;
  if (result === null) {
    if (op === 'sum') return kind === 'c' ? { re: 0, im: 0 } : kind === 'f' ? 0 : 0n;
    throw emptyError(view, op);
  }
  switch (result.kind) {
    case 'bool':
    case 'float':
      return result.value;
    case 'complex':
      return { re: result.re, im: result.im };
    case 'int':
      // Sums are int64/uint64 as in numpy; min/max keep the dtype (number below 64 bits).
      return op === 'sum' || view.dtype.itemsize === 8 ? result.value : Number(result.value);
  }
}

/** numpy's mean: the float64 sum over the count (NaN for an empty view). */
function meanOf(view: Accessor, sum: ReduceValue | null): number | Complex {
  const n = view.size;
  if (sum === null) return view.dtype.row.kind === 'c' ? { re: NaN, im: NaN } : NaN;
  if (sum.kind === 'complex') return { re: sum.re / n, im: sum.im / n };
  return Number(sum.value) / n;
}

/**
 * numpy's reductions of datetime64/timedelta64, from the int64 reductions of
 * their counts: NaT (the smallest int64) wins as NaN does, so the native min,
 * asked for first, tells whether any element is NaT. timedelta64 sums wrap as
 * int64 and means truncate toward zero (numpy's integer division of a
 * timedelta); datetime64 has min and max only (numpy: ufunc 'add' cannot add
 * datetimes), refused before any work.
 */
function timePlan(view: Accessor, op: Reduction, request: (native: ReduceRequest['op']) => ReduceRequest): Plan {
  if (view.dtype.row.kind === 'M' && (op === 'sum' || op === 'mean')) {
    throw memmapError(
      'ERR_MEMMAP_INVALID_DTYPE',
      `${op}() is not defined for ${view.dtype.str} (numpy: ufunc 'add' cannot add datetimes); min() and max() are, and a timedelta64 view sums`,
    );
  }
  const natives: ReduceRequest['op'][] = op === 'min' ? ['min'] : op === 'max' ? ['min', 'max'] : ['min', 'sum'];
  return {
    requests: natives.map(request),
    finish([low, value]): bigint {
      if (view.size === 0) {
        if (op === 'sum') return 0n;
        if (op === 'mean') return NAT;
        throw emptyError(view, op);
      }
      const smallest = intValue(low);
      if (smallest === NAT || op === 'min') return smallest;
      const result = intValue(value);
      return op === 'mean' ? result / BigInt(view.size) : result;
    },
  };
}

/** The value of an integer reduction (datetime64/timedelta64 reduce as int64). */
function intValue(result: ReduceValue | null): bigint {
  if (result?.kind !== 'int') throw new Error(`memmap: expected an integer reduction, got ${result?.kind}`);
  return result.value;
}

/**
 * Reductions of a view: which native reductions make each numpy reduction,
 * and numpy's result rules per kind (integer sums as int64/uint64, float
 * means, complex, empty views, datetime64/timedelta64 with NaT). The work
 * itself is native (crates/memmap-core reduce), run on the calling thread or,
 * for the `*Async` forms, off it.
 */
import { Accessor, closedError } from './access';
import { heapCopy } from './blocks';
import type { AxisReduceRequest, Element, ReduceRequest, ReduceValue } from './binding';
import { broadcastElementStrides, flatten } from './broadcast';
import { Complex, DType, dtypeOf, NAT, NATIVE_LITTLE_ENDIAN, Scalar } from './dtype';
import { fromNative, memmapError, show } from './errors';
import { floatToHalf, halfToFloat } from './float16';
import { ParsedReduceOptions, reducedShape, ReductionName } from './reduce-options';
import { contiguousStrides } from './shape';
import { FileStorage, HeapStorage, reduceControl } from './storage';

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
  const results = await Promise.all(requests.map((request) => (view.size === 0 ? null : storage.reduceAsync(request))));
  // A view closed meanwhile while its base stayed open, so the work ran on
  // (a closed base is the native side's: it rejects what had not finished).
  if (!view.storage.closed && view.isClosed()) throw closedError();
  return finish(results);
}

function nativeStorage(view: Accessor): FileStorage {
  if (view.storage instanceof FileStorage) return view.storage;
  // `legacy()` sends only maps here; in-memory arrays reduce on the engine (`reduceAxes`).
  throw new Error('memmap: the whole-view reductions read maps only');
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
      return result.value;
    case 'float':
      return op === 'sum' ? narrowed(view, result.value) : result.value;
    case 'complex':
      return op === 'sum'
        ? { re: narrowed(view, result.re), im: narrowed(view, result.im) }
        : { re: result.re, im: result.im };
    case 'int':
      // Sums are int64/uint64 as in numpy; min/max keep the dtype (number below 64 bits).
      return op === 'sum' || view.dtype.itemsize === 8 ? result.value : Number(result.value);
  }
}

/** numpy's mean: the float64 sum over the count (NaN for an empty view). */
function meanOf(view: Accessor, sum: ReduceValue | null): number | Complex {
  const n = view.size;
  if (sum === null) return view.dtype.row.kind === 'c' ? { re: NaN, im: NaN } : NaN;
  if (sum.kind === 'complex') {
    // numpy divides by the count as the complex (n + 0j), by Smith's method:
    // a NaN or infinite part makes both parts NaN (x * 0), as numpy gives.
    return { re: narrowed(view, (sum.re + sum.im * 0) / n), im: narrowed(view, (sum.im - sum.re * 0) / n) };
  }
  return view.dtype.row.kind === 'f' ? narrowed(view, Number(sum.value) / n) : Number(sum.value) / n;
}

/**
 * A float or complex sum or mean, accumulated in float64, as the dtype numpy
 * returns it: float32 (and complex64 parts) rounded once to float32, float16
 * to float16, so a float32 sum past its range is infinite, as numpy's is.
 */
function narrowed(view: Accessor, value: number): number {
  const { kind, itemsize } = view.dtype.row;
  const part = kind === 'c' ? itemsize / 2 : itemsize;
  if (kind !== 'f' && kind !== 'c') return value;
  if (part === 4) return Math.fround(value);
  if (part === 2) return halfToFloat(floatToHalf(value));
  return value;
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
      // A wrapped sum on NaT's bit pattern is NaT to numpy's division too.
      if (op !== 'mean' || result === NAT) return result;
      return result / BigInt(view.size);
    },
  };
}

/** The value of an integer reduction (datetime64/timedelta64 reduce as int64). */
function intValue(result: ReduceValue | null): bigint {
  if (result?.kind !== 'int') throw new Error(`memmap: expected an integer reduction, got ${result?.kind}`);
  return result.value;
}

// ----- Reductions along axes on the engine (issue 13) -----------------------

/**
 * What a reduction gives: a scalar when the result has no dimensions (no
 * `axis`, or every axis without `keepdims`), else an in-memory array in
 * numpy's result dtype (ts/ndarray.ts wraps the Accessor as an NDArray).
 */
export type Reduced = { scalar: Scalar; array?: undefined } | { scalar?: undefined; array: Accessor };

/** Whether the whole-view native reductions (the `reduce` above) serve this call as they always have. */
function legacy(view: Accessor, op: ReductionName, o: ParsedReduceOptions): op is Reduction {
  return (
    view.storage instanceof FileStorage &&
    (op === 'sum' || op === 'min' || op === 'max' || op === 'mean') &&
    o.axes === null &&
    !o.keepdims &&
    o.where === undefined &&
    o.initial === undefined &&
    o.signal === undefined &&
    o.onProgress === undefined
  );
}

/** numpy's `a.<op>(axis=..., keepdims=..., ...)` on this thread. */
export function reduceAlong(view: Accessor, op: ReductionName, o: ParsedReduceOptions): Reduced {
  if (legacy(view, op, o)) return { scalar: reduce(view, op) };
  const plan = axisPlan(view, op, o);
  const target = plan.allocate();
  reducer(view.storage).reduceAxes(plan.request, target);
  return plan.finish(target);
}

/**
 * The same off the main thread: `signal` aborts (an AbortError, `cause` the
 * signal's reason; an aborted signal rejects before any work), `onProgress`
 * is called with the fraction done, rising, in (0, 1], never after the
 * Promise settles. In-memory arrays (and masks) are copied when called.
 *
 * An abort rejects at once, whether the native work runs or still waits in
 * the queue of memmap's threads: the queue may hold it as long as the
 * longest reduction ahead of it (seconds), so waiting for the native
 * rejection would break "stops promptly". The native task sees the abort
 * flag when it starts and reads nothing (a queued task lets go of its share
 * of the map, or its copy, at the abort: reductions.rs `ReduceControl`);
 * until then it holds the share, so a close() meanwhile swaps the pages for
 * zero pages under it rather than unmapping them, and nothing it touches is
 * ever invalid. Its late outcome, a result or a rejection, is dropped here.
 */
export async function reduceAlongAsync(view: Accessor, op: ReductionName, o: ParsedReduceOptions): Promise<Reduced> {
  if (legacy(view, op, o)) return { scalar: await reduceAsync(view, op) };
  const { signal, onProgress } = o;
  if (signal?.aborted) throw abortError(signal);
  const plan = axisPlan(view, op, o);
  const control = reduceControl();
  const work = reducer(view.storage).reduceAxesAsync(plan.request, control);
  return new Promise<Reduced>((resolve, reject) => {
    let settled = false;
    let reported = 0;
    // The one way out: settles once, then no callback runs and the signal is let go.
    const settle = (outcome: () => Reduced) => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      signal?.removeEventListener('abort', onAbort);
      try {
        resolve(outcome());
      } catch (error) {
        reject(error);
      }
    };
    // Stops the native work and rejects now, not when the work ends (see above).
    const stop = (error: unknown) => {
      control.abort();
      settle(() => {
        throw error;
      });
    };
    const onAbort = () => stop(abortError(signal!));
    const report = (fraction: number) => {
      if (onProgress === undefined || settled || !(fraction > reported)) return;
      reported = fraction;
      try {
        onProgress(fraction);
      } catch (error) {
        // A throwing callback stops the work and becomes the rejection.
        stop(error);
      }
    };
    const size = Math.max(1, view.size);
    // Made before anything can call settle(): it is the only code that reads
    // the timer, and only events after this synchronous setup call it.
    const timer =
      onProgress === undefined ? undefined : setInterval(() => report(Math.min(1, control.done() / size)), 20);
    timer?.unref();
    signal?.addEventListener('abort', onAbort, { once: true });
    work.then(
      (bytes) => {
        // A result after an abort is dropped: the Promise rejected already.
        report(1);
        settle(() => {
          // A view closed meanwhile while its base stayed open, so the work
          // ran on (a closed base is the native side's, as above).
          if (!view.storage.closed && view.isClosed()) throw closedError();
          return plan.finish(bytes);
        });
      },
      (error: unknown) => {
        // Handled even after an abort (ERR_MEMMAP_ABORTED, or ERR_MEMMAP_CLOSED
        // from a close() meanwhile), so it is never an unhandled rejection.
        settle(() => {
          throw fromNative(error);
        });
      },
    );
  });
}

/** Node's AbortError: name `'AbortError'`, code `'ABORT_ERR'`, `cause` the signal's reason. */
export function abortError(signal: AbortSignal): Error {
  const error = new Error('The operation was aborted', { cause: signal.reason });
  error.name = 'AbortError';
  Object.defineProperty(error, 'code', { value: 'ABORT_ERR', enumerable: true, writable: true, configurable: true });
  return error;
}

/** The storage's native reductions: a map's or the JavaScript heap's. */
function reducer(storage: unknown): FileStorage | HeapStorage {
  if (storage instanceof FileStorage || storage instanceof HeapStorage) return storage;
  throw memmapError('ERR_MEMMAP_UNSUPPORTED', 'reductions need a file or an in-memory array');
}

/** The engine's element kind for a dtype, or numpy's refusal. */
function engineElement(dtype: DType, op: ReductionName): Element {
  const { row } = dtype;
  if (row.kind === 'M') return 'M8';
  if (row.kind === 'm') return 'm8';
  if (row.element === null) {
    throw memmapError(
      'ERR_MEMMAP_INVALID_DTYPE',
      `${op}() is not defined for dtype ${dtype.str} (reductions take bool, numeric, complex, datetime64 and timedelta64 arrays)`,
    );
  }
  return row.element;
}

/** numpy's result dtype of `op` over `dtype` (numpy 2.x; the engine's `Element::result`), native byte order. */
function resultDType(op: ReductionName, dtype: DType, element: Element): DType {
  const same = () => dtypeOf(dtype.row.code, NATIVE_LITTLE_ENDIAN);
  const integer = element[0] === 'b' || element[0] === 'i' || element[0] === 'u';
  switch (op) {
    case 'sum':
    case 'prod':
      if (element[0] === 'u') return dtypeOf('u8');
      return integer ? dtypeOf('i8') : same();
    case 'mean':
      return integer ? dtypeOf('f8') : same();
    case 'std':
    case 'var':
      if (element === 'c8') return dtypeOf('f4');
      return element[0] === 'f' ? same() : dtypeOf('f8');
    case 'min':
    case 'max':
      return same();
    case 'argmin':
    case 'argmax':
    case 'countNonzero':
      return dtypeOf('i8');
    case 'any':
    case 'all':
      return dtypeOf('b1');
  }
}

interface AxisPlan {
  readonly request: AxisReduceRequest;
  /**
   * The result's zero bytes, in an ArrayBuffer V8 owns: collected as any
   * other (an external result is freed only by a finalizer on a later
   * event-loop turn, so a synchronous loop would hold them all), and a
   * failed allocation is a coded RangeError, not an abort.
   */
  allocate(): Uint8Array;
  finish(bytes: Uint8Array): Reduced;
}

/** The most bytes one in-memory result holds: what one ArrayBuffer, and one Uint8Array over it, hold here. */
const RESULT_LIMIT = 2 ** 32;

function axisPlan(view: Accessor, op: ReductionName, o: ParsedReduceOptions): AxisPlan {
  view.checkOpen();
  const mask = o.where === undefined ? undefined : whereMask(o.where, view.shape, op);
  // Reading `where` ran the caller's code (getters, Proxies), which may have
  // closed the array, or shrunk its file past this view.
  view.checkOpen();
  const element = engineElement(view.dtype, op);
  const result = resultDType(op, view.dtype, element);
  const shape = reducedShape(view.shape, o.axes, o.keepdims);
  // Refused before any work: the engine would run to the end and then have nowhere to put it.
  const bytes = shape.reduce((n, k) => n * k, 1) * result.itemsize;
  if (bytes > RESULT_LIMIT) {
    throw memmapError(
      'ERR_MEMMAP_TOO_LARGE',
      `${op}(): the result, shape ${show(shape)} of ${result.str}, is ${bytes} bytes, more than one in-memory array holds (2^32 bytes): reduce slices, or iterate with blocks()`,
    );
  }
  // A bigint past 64 bits reaches a float or bool result as numpy casts a
  // Python int there: rounded to a float, or taken by truth.
  const wide = typeof o.initial === 'bigint' && (o.initial < -(2n ** 63n) || o.initial >= 2n ** 64n);
  if (wide && !'fcb'.includes(result.row.kind)) {
    throw memmapError(
      'ERR_MEMMAP_VALUE_OUT_OF_RANGE',
      `${op}(): initial ${String(o.initial)} does not fit the result dtype ${result.str}`,
    );
  }
  const initial = wide ? Number(o.initial) : o.initial;
  const request: AxisReduceRequest = {
    op: op === 'countNonzero' ? 'count_nonzero' : op,
    element,
    littleEndian: view.dtype.littleEndian,
    byteOffset: view.byteOffset,
    shape: [...view.shape],
    strides: [...view.strides],
    axes: o.axes === null ? undefined : [...o.axes],
    ddof: o.ddof,
    initial: typeof initial === 'number' ? initial : typeof initial === 'boolean' ? Number(initial) : undefined,
    initialInt: typeof initial === 'bigint' ? initial : undefined,
    mask,
  };
  return {
    request,
    allocate(): Uint8Array {
      try {
        return new Uint8Array(bytes);
      } catch (error) {
        throw memmapError(
          'ERR_MEMMAP_TOO_LARGE',
          `${op}(): ${bytes} bytes for the result could not be allocated in memory (${(error as Error).message}): reduce slices, or iterate with blocks()`,
        );
      }
    },
    finish(bytes: Uint8Array): Reduced {
      const own =
        bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.byteLength
          ? (bytes.buffer as ArrayBuffer)
          : new Uint8Array(bytes).buffer;
      const array = new Accessor(
        new HeapStorage(own),
        result,
        shape,
        contiguousStrides(shape, result.itemsize, 'C'),
        0,
      );
      if (shape.length > 0) return { array };
      const value = array.get();
      // numpy's intp results (indices, counts) are JavaScript numbers: exact below 2^53.
      const indexLike = op === 'argmin' || op === 'argmax' || op === 'countNonzero';
      return { scalar: indexLike ? Number(value as bigint) : value };
    },
  };
}

/**
 * numpy's `where=`: a bool array (NDArray/Memmap), nested booleans or one
 * boolean, broadcast against the array's shape as numpy does, as one byte
 * per element in memory with byte strides (0 on broadcast axes).
 */
function whereMask(where: unknown, shape: readonly number[], op: ReductionName): AxisReduceRequest['mask'] {
  let bytes: Uint8Array;
  let maskShape: number[];
  const accessor = accessorOfArray(where);
  if (accessor !== null) {
    if (accessor.dtype.row.kind !== 'b') {
      throw memmapError(
        'ERR_MEMMAP_INVALID_DTYPE',
        `${op}(): where must be a bool array (numpy cannot cast ${accessor.dtype.str} to bool under the 'safe' rule); got dtype ${accessor.dtype.str}`,
      );
    }
    accessor.checkOpen();
    const copy = heapCopy(accessor);
    bytes = new Uint8Array((copy.storage as HeapStorage).buffer);
    maskShape = [...accessor.shape];
  } else {
    // A TypedArray holds numbers, never booleans: refused before its values are gathered.
    const { values, shape: given } = ArrayBuffer.isView(where)
      ? { values: [where], shape: [] }
      : flatten(where, { argument: 'where' });
    if (!values.every((value) => typeof value === 'boolean')) {
      throw memmapError(
        'ERR_MEMMAP_INVALID_ARG',
        `${op}(): where must be a boolean, nested arrays of booleans or a bool array; got ${show(where)}`,
      );
    }
    bytes = Uint8Array.from(values as boolean[], (value) => (value ? 1 : 0));
    maskShape = given;
  }
  // numpy names neither the option nor the method ("could not broadcast input array ..."): this names both.
  const mismatch = () =>
    memmapError(
      'ERR_MEMMAP_SHAPE_MISMATCH',
      `${op}(): where of shape ${show(maskShape)} cannot be broadcast to the array's shape ${show(shape)}`,
    );
  // More axes than the array is refused too (assignment would drop leading 1s; a mask does not).
  if (maskShape.length > shape.length) throw mismatch();
  let strides: number[];
  try {
    strides = broadcastElementStrides(maskShape, shape, false);
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code !== 'ERR_MEMMAP_SHAPE_MISMATCH') throw error;
    throw mismatch();
  }
  return { bytes: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), byteOffset: 0, strides };
}

/** The Accessor of an NDArray/Memmap (registered by ts/ndarray.ts, which this module cannot import). */
export const arrayAccessors: { of: (value: unknown) => Accessor | null } = { of: () => null };

function accessorOfArray(value: unknown): Accessor | null {
  return arrayAccessors.of(value);
}

/**
 * Elements moved in blocks through the storage (one native call per block of
 * up to BLOCK_BYTES, any strided view): `read()`/`write()` everywhere, and
 * the bulk operations (toArray, fill, assign, iteration) where the runtime
 * refuses external ArrayBuffers (Electron), so that no zero-copy buffer
 * exists and one native call per element would cost a microsecond-scale
 * crossing each. Blocks land in the JavaScript heap, where the usual
 * accessors (ts/access.ts) read and write them.
 */
import { Accessor } from './access';
import { AnyTypedArray, Coerced, elementView } from './dtype';
import { checkAttached, memmapError, show } from './errors';
import { typedArrayConstructor, typedBytes, typedLength } from './intrinsics';
import { contiguousStrides } from './shape';
import { integerOf } from './indexing';
import { HeapStorage } from './storage';

/** Bytes moved per native call: large enough that the call's cost vanishes, small enough to stay in cache. */
export const BLOCK_BYTES = 1 << 20;

/** Elements per block for `view`: at least one. */
function perBlock(view: Accessor): number {
  return Math.max(1, Math.floor(BLOCK_BYTES / view.dtype.itemsize));
}

/** Swaps the bytes of each `width`-byte lane in place (non-native byte order to native, and back). */
function swapLanes(bytes: Uint8Array, width: number): void {
  if (width <= 1) return;
  for (let at = 0; at < bytes.length; at += width) {
    for (let i = at, j = at + width - 1; i < j; i++, j--) {
      const t = bytes[i];
      bytes[i] = bytes[j];
      bytes[j] = t;
    }
  }
}

/** The byte width of one TypedArray lane of `view`'s dtype. */
function laneBytes(view: Accessor): number {
  const { row } = view.dtype;
  return row.itemsize / row.lanes;
}

/** Checks `start`/`length` against `view` and returns them as numbers (`length` defaults to the rest). */
export function checkRange(view: Accessor, method: string, givenStart: unknown, length: unknown): [number, number] {
  const start = integerOf(givenStart);
  if (typeof start !== 'number' || !Number.isInteger(start)) {
    throw memmapError('ERR_MEMMAP_INVALID_ARG', `${method}(): start must be an integer; got ${show(givenStart)}`);
  }
  if (start < 0 || start > view.size) {
    throw memmapError(
      'ERR_MEMMAP_OUT_OF_RANGE',
      `${method}(): start ${start} is outside the array's ${view.size} elements (0 to ${view.size})`,
    );
  }
  const count = length === undefined ? view.size - start : integerOf(length);
  if (typeof count !== 'number' || !Number.isInteger(count)) {
    throw memmapError('ERR_MEMMAP_INVALID_ARG', `${method}(): length must be an integer; got ${show(length)}`);
  }
  if (count < 0 || start + count > view.size) {
    throw memmapError(
      'ERR_MEMMAP_OUT_OF_RANGE',
      `${method}(): ${count} elements from element ${start} do not fit the array's ${view.size} elements`,
    );
  }
  return [start, count];
}

/**
 * Elements `first..first + count` of `view` in C order, as a new TypedArray
 * of the kind `data` gives (lanes in this machine's byte order).
 */
export function readBlock(view: Accessor, first: number, count: number): AnyTypedArray {
  const { row, native } = view.dtype;
  const out = new row.TypedArray(count * row.lanes);
  const bytes = new Uint8Array(out.buffer);
  if (count > 0) view.storage.readElements(view.blockView(), first, bytes);
  if (!native) swapLanes(bytes, laneBytes(view));
  return out;
}

/**
 * Writes `values` into elements `first..` of `view` in C order: a TypedArray
 * of the kind `data` gives (its lanes as they are, in this machine's byte
 * order), or an array of values converted as `set()` converts them. Every
 * value is converted before any is written.
 */
export function writeBlock(view: Accessor, method: string, start: unknown, values: unknown): number {
  const { row, native } = view.dtype;
  // The kind, length and bytes from the engine's getters, never from the
  // object's own properties (or prototype): the count and the bytes agree.
  if (typedArrayConstructor(values) === row.TypedArray) {
    const typed = values as AnyTypedArray;
    const lanes = typedLength(typed);
    if (lanes % row.lanes !== 0) {
      throw memmapError(
        'ERR_MEMMAP_INVALID_ARG',
        `${method}(): a ${row.TypedArray.name} of ${lanes} lanes is not a whole number of ${view.dtype.str} elements (${row.lanes} lanes each)`,
      );
    }
    const count = lanes / row.lanes;
    const [first] = checkRange(view, method, start, count);
    // A copy first: the source may be a view of the same file (`data` of
    // this or another map), and numpy's `a[...] = b` reads all of b first.
    checkAttached(typed, `${method}() values`);
    const bytes = typedBytes(typed).slice();
    if (!native) swapLanes(bytes, laneBytes(view));
    if (count > 0) view.storage.writeElements(view.blockView(), first, bytes);
    return count;
  }
  if (!Array.isArray(values)) {
    throw memmapError(
      'ERR_MEMMAP_INVALID_ARG',
      `${method}(): values must be a ${row.TypedArray.name} (the kind data gives for ${view.dtype.str}) or an array of values; got ${show(values)}`,
    );
  }
  // The length is read once: a Proxy may answer each read differently.
  const length = values.length;
  const [first] = checkRange(view, method, start, length);
  const coerced = new Array<Coerced>(length);
  for (let k = 0; k < length; k++) coerced[k] = row.codec.coerce(values[k], row);
  writeCoerced(view, first, length, (k) => coerced[k]);
  return length;
}

/**
 * Whether a TypedArray of `data`'s kind holds the values themselves (so that
 * assign() may copy its lanes as they are): not bool (any non-zero byte is
 * true, stored as 1) nor float16 (a Uint16Array of numbers to convert).
 */
export function lanesAreValues(view: Accessor): boolean {
  const { kind, itemsize } = view.dtype.row;
  return (
    kind === 'i' || kind === 'u' || kind === 'c' || kind === 'M' || kind === 'm' || (kind === 'f' && itemsize >= 4)
  );
}

/**
 * Writes `count` elements from element `first` of `view`, in C order, the
 * k-th being `value(k)` (already coerced), a block at a time.
 */
export function writeCoerced(view: Accessor, first: number, count: number, value: (k: number) => Coerced): void {
  if (count === 0) return;
  const per = Math.min(perBlock(view), count);
  const { itemsize } = view.dtype;
  const heap = new HeapStorage(new ArrayBuffer(per * itemsize));
  const block = new Accessor(heap, view.dtype, [per], [itemsize], 0);
  const access = block.bind();
  const step = access.steps[0];
  const bytes = new Uint8Array(heap.buffer);
  const geometry = view.blockView();
  for (let done = 0; done < count; done += per) {
    const n = Math.min(per, count - done);
    for (let k = 0, at = access.origin; k < n; k++, at += step) access.write(at, value(done + k));
    view.storage.writeElements(geometry, first + done, n === per ? bytes : bytes.subarray(0, n * itemsize));
  }
}

/** numpy's `a[:] = value` in one native call: the value encoded once, written into every element. */
export function fillElements(view: Accessor, value: Coerced): void {
  const bytes = new Uint8Array(view.dtype.itemsize);
  elementView(view.dtype).write(new DataView(bytes.buffer), 0, value);
  view.storage.fillElements(view.blockView(), bytes);
}

/**
 * A copy of elements `first..first + count` of `view` in the JavaScript heap,
 * as a C-contiguous view of `shape` (by default the view's own): read once,
 * then read through the usual accessors.
 */
export function heapCopy(
  view: Accessor,
  first = 0,
  count = view.size,
  shape: readonly number[] = view.shape,
): Accessor {
  const { itemsize } = view.dtype;
  const heap = new HeapStorage(new ArrayBuffer(count * itemsize));
  if (count > 0) view.storage.readElements(view.blockView(), first, new Uint8Array(heap.buffer));
  return new Accessor(heap, view.dtype, shape, contiguousStrides(shape, itemsize, 'C'), 0);
}

/** The elements of a 1-D `view`, a block at a time (each block one native copy). */
export function* blockValues(view: Accessor): Generator<ReturnType<Accessor['get']>> {
  const per = perBlock(view);
  const { kind, itemsize } = view.dtype.row;
  // Integers to 32 bits and float32/64: the block's lanes are the values.
  const plain = ((kind === 'i' || kind === 'u') && itemsize <= 4) || (kind === 'f' && itemsize >= 4);
  for (let first = 0; first < view.size; first += per) {
    const n = Math.min(per, view.size - first);
    if (plain) {
      const lanes = readBlock(view, first, n) as Float64Array;
      for (let k = 0; k < n; k++) {
        if (view.closed || view.storage.closed) view.checkOpen();
        yield lanes[k];
      }
      continue;
    }
    const block = heapCopy(view, first, n, [n]);
    for (let k = 0; k < n; k++) {
      view.checkOpen();
      yield block.get(k);
    }
  }
}

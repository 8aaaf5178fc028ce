/**
 * Arrays in memory made from views, and what an analyst asks of an array
 * next (issue 13): `copy()` and `astype()` (one native call through the
 * storage: crates/memmap-core/src/convert.rs, several threads for large
 * ones), numpy's `flags`, `len()`, `blocks()` along the first axis, and
 * datetime64 values as `Date`. ts/ndarray.ts calls these; nothing here
 * knows the NDArray class.
 */
import { Accessor } from './access';
import type { CastSpec } from './binding';
import { DType, NAT, parseDType } from './dtype';
import { memmapError, proxyArgumentError, show } from './errors';
import { ownOptions } from './own-options';
import { integerOf } from './indexing';
import { byteExtent, contiguousStrides } from './shape';
import { FileStorage, HeapStorage } from './storage';

/**
 * numpy's `a.flags`: the four flags of an array.
 *
 * @example
 * const { cContiguous, ownData } = memmap('a.bin', { mode: 'w+', shape: [3, 4] }).flags; // true, false
 */
export interface ArrayFlags {
  /** numpy's `C_CONTIGUOUS` (size-0 and size-1 arrays are both C and F contiguous, as in numpy). */
  readonly cContiguous: boolean;
  /** numpy's `F_CONTIGUOUS`. */
  readonly fContiguous: boolean;
  /** numpy's `WRITEABLE`: false for mode `'r'`. */
  readonly writeable: boolean;
  /** numpy's `OWNDATA`: true for an array made in memory (a copy), false for a map and for every view. */
  readonly ownData: boolean;
}

/**
 * Options of `blocks()`.
 *
 * @example
 * for (const block of memmap('a.bin', { mode: 'r', shape: [1000, 4] }).blocks({ rows: 100 })) block.data;
 */
export interface BlocksOptions {
  /** Rows (indices along the first axis) per block: a positive integer; by default as many as fit 2^30 bytes (at least 1). */
  readonly rows?: number | bigint;
}

/**
 * Options of `toArray()`.
 *
 * @example
 * memmap('t.bin', { dtype: 'datetime64[s]', mode: 'r' }).toArray({ dates: true }); // (Date | null)[]
 */
export interface ToArrayOptions {
  /**
   * datetime64 values as `Date` (NaT as `null`) rather than bigint counts:
   * units finer than milliseconds are floored to the millisecond a `Date`
   * holds. Only for datetime64 arrays.
   */
  readonly dates?: boolean;
}

/** Bytes per block `blocks()` aims for by default. */
export const BLOCK_TARGET_BYTES = 2 ** 30;

/** Checks that `options` is undefined or a plain object with only `known` keys. */
export function checkOptions(method: string, options: unknown, known: readonly string[]): Record<string, unknown> {
  try {
    return checkOptionsOf(method, options, known);
  } catch (error) {
    throw proxyArgumentError(error, `${method}() options`);
  }
}

function checkOptionsOf(method: string, options: unknown, known: readonly string[]): Record<string, unknown> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw memmapError('ERR_MEMMAP_INVALID_ARG', `${method}(): options must be an object; got ${show(options)}`);
  }
  return ownOptions(
    options,
    `${method}() options`,
    (key) => known.includes(key),
    (key) =>
      memmapError(
        'ERR_MEMMAP_UNKNOWN_OPTION',
        `${method}(): unknown option ${show(key)} (it takes ${known.map((k) => show(k)).join(', ')})`,
      ),
  );
}

/** numpy's contiguity flags: axes of length 1 do not count, and an empty array is both. */
export function flagsOf(view: Accessor, ownData: boolean): ArrayFlags {
  const { shape, strides } = view;
  const { itemsize } = view.dtype;
  const empty = shape.some((d) => d === 0);
  const contiguous = (order: 'C' | 'F'): boolean => {
    if (empty) return true;
    let expected = itemsize;
    for (let k = 0; k < shape.length; k++) {
      const axis = order === 'C' ? shape.length - 1 - k : k;
      if (shape[axis] === 1) continue;
      if (strides[axis] !== expected) return false;
      expected *= shape[axis];
    }
    return true;
  };
  return Object.freeze({
    cContiguous: contiguous('C'),
    fContiguous: contiguous('F'),
    writeable: view.storage.writable,
    ownData,
  });
}

/** numpy's `len(a)`: the first axis; a 0-d array has none. */
export function lengthOf(view: Accessor): number {
  if (view.ndim === 0) throw memmapError('ERR_MEMMAP_NOT_ITERABLE', 'len() of unsized object (a 0-d array)');
  return view.shape[0];
}

/** The rows per block `blocks()` takes (validated). */
export function blockRows(view: Accessor, options: unknown): number {
  const given = checkOptions('blocks', options, ['rows']);
  const rows = integerOf(given.rows);
  if (view.ndim === 0) throw memmapError('ERR_MEMMAP_NOT_ITERABLE', 'blocks() of a 0-d array: it has no first axis');
  if (rows !== undefined) {
    if (typeof rows !== 'number' || !Number.isInteger(rows)) {
      throw memmapError('ERR_MEMMAP_INVALID_ARG', `blocks(): rows must be a positive integer; got ${show(rows)}`);
    }
    if (rows < 1 || rows > Number.MAX_SAFE_INTEGER) {
      throw memmapError(
        'ERR_MEMMAP_OUT_OF_RANGE',
        `blocks(): rows must be a positive integer no larger than 2^53 - 1; got ${show(given.rows)}`,
      );
    }
    return rows;
  }
  const rowBytes = view.shape.slice(1).reduce((a, b) => a * b, view.dtype.itemsize);
  return Math.max(1, Math.floor(BLOCK_TARGET_BYTES / Math.max(1, rowBytes)));
}

/**
 * Where the block from row `start` ends: `start + rows` at most, and before
 * the first row past a boundary between the storage's ArrayBuffers (chunks
 * of about 4 GiB), so that each block's `data` can be one TypedArray where
 * the rows allow it.
 */
export function blockEnd(view: Accessor, start: number, rows: number): number {
  const end = Math.min(view.shape[0], start + rows);
  const { storage } = view;
  if (storage.byteLength <= storage.chunkBytes || view.strides[0] <= 0 || end - start <= 1) return end;
  const [low, high] = byteExtent(view.shape.slice(1), view.strides.slice(1), view.dtype.itemsize);
  const step = view.strides[0];
  const rowLow = (row: number): number => view.byteOffset + row * step + low;
  const rowHigh = (row: number): number => view.byteOffset + row * step + high;
  const boundary = (Math.floor(rowLow(start) / storage.chunkBytes) + 1) * storage.chunkBytes;
  if (rowHigh(end - 1) <= boundary) return end;
  // A row across the boundary is a block of its own (its data cannot be one TypedArray).
  if (rowHigh(start) > boundary) return start + 1;
  // Up to the last row that ends at or before the boundary.
  return Math.min(end, Math.floor((boundary - view.byteOffset - high) / step) + 1);
}

/** An in-memory C-order array of `size` elements of `dtype`, its bytes ready to fill. */
function allocate(view: Accessor, dtype: DType, method: string): HeapStorage {
  if (view.size > 2 ** 32) {
    throw memmapError(
      'ERR_MEMMAP_TOO_LARGE',
      `${method}(): ${view.size} elements are more than one in-memory array holds (2^32): take slices, or iterate with blocks()`,
    );
  }
  const bytes = view.size * dtype.itemsize;
  try {
    return HeapStorage.allocate(bytes);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_MEMMAP_TOO_LARGE') throw error;
    throw memmapError(
      'ERR_MEMMAP_TOO_LARGE',
      `${method}(): ${bytes} bytes could not be allocated in memory (${(error as Error).message}): take slices, or iterate with blocks()`,
    );
  }
}

/** The cast the native side takes, or null where a dtype has no element kind (bytes, unicode, void, records). */
function castOf(from: DType, to: DType): CastSpec | null {
  if (from.row.element === null || to.row.element === null) return null;
  return { from: from.row.element, fromSwap: !from.native, to: to.row.element, toSwap: !to.native };
}

/**
 * numpy's `a.copy()`: the elements in C order in memory, same dtype (byte
 * order kept), as a new base array's geometry.
 */
export function copyOf(view: Accessor): Accessor {
  view.checkOpen();
  const heap = allocate(view, view.dtype, 'copy');
  const out = new Accessor(heap, view.dtype, view.shape, contiguousStrides(view.shape, view.dtype.itemsize, 'C'), 0);
  if (view.size === 0) return out;
  const target = new Uint8Array(heap.buffer);
  const cast = castOf(view.dtype, view.dtype);
  if (cast === null) view.storage.readElements(view.blockView(), 0, target);
  else view.storage.convertElements(view.blockView(), 0, cast, target);
  return out;
}

/** Elements per block of assignElements: a staging buffer that stays small. */
const ASSIGN_BLOCK_BYTES = 16 * 1024 * 1024;

/**
 * Whether two views may reach the same bytes: one storage, or two maps of
 * one file (two mappings of the same page cache, which numpy's overlap test
 * does not see).
 */
function mayShare(a: Accessor, b: Accessor): boolean {
  if (a.storage === b.storage) return true;
  const id = (storage: unknown): string | null =>
    storage instanceof FileStorage && !storage.closed ? storage.fileId() : null;
  const first = id(a.storage);
  return first !== null && first === id(b.storage);
}

/**
 * numpy's `to[...] = from` for arrays of the same shape and dtype (either
 * byte order): natively, a block at a time through a small staging buffer,
 * so that an array of any size is assigned without one JavaScript value per
 * element (past about 2^27 values V8 would end the process). A source that
 * may share the target's bytes is copied first, as numpy reads all of a
 * source before it writes an overlapping target (past 4 GiB it cannot be:
 * the caller's value path takes it, or refuses it as too large). False
 * where this path does not apply (other shapes, dtypes or time units): the
 * caller broadcasts.
 */
export function assignElements(from: Accessor, to: Accessor): boolean {
  if (from.shape.length !== to.shape.length || from.shape.some((n, axis) => n !== to.shape[axis])) return false;
  // The same dtype, or the same element kind in the other byte order: a
  // copy or a swap. Records, strings and unicode only when identical (a raw
  // copy; numpy converts other records field by field and swaps unicode).
  const numeric = from.dtype.row.element !== null && to.dtype.row.element !== null;
  if (from.dtype.str !== to.dtype.str && !(numeric && from.dtype.descr.slice(1) === to.dtype.descr.slice(1))) {
    return false;
  }
  from.checkOpen();
  to.checkOpen();
  const size = to.size;
  if (size === 0) return true;
  const shares = mayShare(from, to);
  // A shared source past 4 GiB cannot be copied first: values, as before.
  if (shares && from.size * from.dtype.itemsize > 2 ** 32) return false;
  const source = shares ? copyOf(from) : from;
  const cast = castOf(source.dtype, to.dtype);
  const itemsize = to.dtype.itemsize;
  const per = Math.max(1, Math.floor(ASSIGN_BLOCK_BYTES / itemsize));
  const stage = new Uint8Array(Math.min(per, size) * itemsize);
  const sourceView = source.blockView();
  const targetView = to.blockView();
  for (let first = 0; first < size; first += per) {
    const n = Math.min(per, size - first);
    const block = n === per ? stage : stage.subarray(0, n * itemsize);
    if (cast === null) source.storage.readElements(sourceView, first, block);
    else source.storage.convertElements(sourceView, first, cast, block);
    to.storage.writeElements(targetView, first, block);
  }
  return true;
}

/**
 * numpy's `a.astype(dtype)` (`casting='unsafe'`, a copy always): every
 * numeric dtype to every other, either byte order. datetime64 and
 * timedelta64 convert to their own kind in the same unit, and to and from
 * int64/uint64 as counts; other unit conversions are refused. Bytes,
 * unicode, void and records convert only to their own dtype (a copy).
 */
export function astypeOf(view: Accessor, spec: unknown): Accessor {
  view.checkOpen();
  const to = parseDType(spec, 'dtype');
  const from = view.dtype;
  const cast = castOf(from, to);
  const isTime = (d: DType): boolean => d.row.kind === 'M' || d.row.kind === 'm';
  const isCount = (d: DType): boolean => (d.row.kind === 'i' || d.row.kind === 'u') && d.itemsize === 8;
  let allowed = true;
  if (cast === null) allowed = from.str === to.str;
  else if (isTime(from) && isTime(to)) allowed = from.row.code === to.row.code;
  else if (isTime(from)) allowed = isCount(to);
  else if (isTime(to)) allowed = isCount(from);
  if (!allowed) {
    throw memmapError(
      'ERR_MEMMAP_INVALID_DTYPE',
      `astype(): no conversion from ${from.str} to ${to.str} here: numeric dtypes convert to each other; datetime64 and timedelta64 to their own unit and to int64/uint64 counts; bytes, unicode, void and records only to their own dtype`,
    );
  }
  const heap = allocate(view, to, 'astype');
  const out = new Accessor(heap, to, view.shape, contiguousStrides(view.shape, to.itemsize, 'C'), 0);
  if (view.size === 0) return out;
  const target = new Uint8Array(heap.buffer);
  if (cast === null) view.storage.readElements(view.blockView(), 0, target);
  else view.storage.convertElements(view.blockView(), 0, cast, target);
  return out;
}

/** Milliseconds per unit of the fixed-length datetime64 units. */
const MS_PER: Record<string, number> = { W: 7 * 864e5, D: 864e5, h: 36e5, m: 6e4, s: 1e3, ms: 1 };
/** Units per millisecond of the finer ones (floored to the millisecond). */
const PER_MS: Record<string, bigint> = { us: 10n ** 3n, ns: 10n ** 6n, ps: 10n ** 9n, fs: 10n ** 12n, as: 10n ** 15n };

/**
 * Milliseconds from 1970 to the first of a month (0-11) of a proleptic
 * Gregorian year; NaN past a Date's range. Not `Date.UTC`, which takes years
 * 0-99 as 1900-1999.
 */
function monthStart(year: number, month: number): number {
  return new Date(0).setUTCFullYear(year, month, 1);
}

/**
 * A converter from datetime64 counts to `Date` (NaT to null) for `dtype`'s
 * unit, or an error if `dtype` is not datetime64.
 */
export function dateConverter(dtype: DType): (count: bigint) => Date | null {
  const name = dtype.row.unit;
  if (dtype.row.kind !== 'M' || name === undefined) {
    throw memmapError(
      'ERR_MEMMAP_INVALID_ARG',
      `toArray(): dates applies to datetime64 arrays; this array's dtype is ${dtype.str}`,
    );
  }
  // Years and months past a Date's range come back NaN from monthStart: the
  // message names the count, which is exact.
  const date = (ms: number, count: bigint): Date => {
    const value = new Date(ms);
    if (Number.isNaN(value.getTime())) {
      throw memmapError(
        'ERR_MEMMAP_VALUE_OUT_OF_RANGE',
        `toArray(): the datetime64 value ${count} (unit ${name}) is outside the range a Date holds (±8.64e15 ms from 1970: years -271821 to 275760)`,
      );
    }
    return value;
  };
  const times = BigInt(dtype.row.multiple ?? 1);
  return (stored) => {
    if (stored === NAT) return null;
    // A multiple's count in the unit itself (M8[10s] 3 is 30 s).
    const count = stored * times;
    if (name === 'Y') return date(monthStart(1970 + Number(count), 0), count);
    if (name === 'M') {
      const months = Number(count);
      const years = Math.floor(months / 12);
      return date(monthStart(1970 + years, months - years * 12), count);
    }
    const per = PER_MS[name];
    if (per !== undefined) {
      // Floor division (numpy's conversion to a coarser unit floors too).
      let ms = count / per;
      if (count < 0n && ms * per !== count) ms -= 1n;
      return date(Number(ms), count);
    }
    return date(Number(count) * MS_PER[name], count);
  };
}

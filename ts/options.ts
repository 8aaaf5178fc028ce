/**
 * Options, checked before anything touches the disk: numpy's modes and their
 * aliases, madvise advice, order, offset, the file argument, and memmap()'s
 * options object. Each fact is parsed here once; the rest of the library (and
 * the binding) sees only the canonical values.
 */
import { fileURLToPath } from 'node:url';
import { DType, DTypeLike, parseDType } from './dtype';
import { memmapError, proxyArgumentError, show } from './errors';
import type { ShapeLike } from './dtype/types';
import { ownOptions } from './own-options';
import { contiguousStrides, normalizeShape, Order, sizeOf } from './shape';

/**
 * numpy's modes, canonical form.
 *
 * @example
 * memmap('a.bin', { mode: 'readonly' }).mode; // 'r'
 */
export type Mode = 'r' | 'r+' | 'w+' | 'c';
/**
 * Every spelling numpy accepts.
 *
 * @example
 * memmap('a.bin', { mode: 'copyonwrite' }); // mode 'c'
 */
export type ModeLike = Mode | 'readonly' | 'readwrite' | 'write' | 'copyonwrite';
/**
 * madvise(2) advice: how the pages will be read, for the kernel's read-ahead.
 *
 * @example
 * memmap('a.bin', { mode: 'r', advice: 'sequential' });
 */
export type Advice = 'normal' | 'random' | 'sequential' | 'willneed' | 'dontneed';
/**
 * A path (string, file: URL, Buffer) or an open file descriptor.
 *
 * @example
 * memmap(new URL('file:///data/a.bin'), { mode: 'r' });
 * memmap(fs.openSync('a.bin', 'r'), { mode: 'r' }); // the descriptor stays open: memmap never closes it
 */
export type FileLike = string | URL | Buffer | number;

/**
 * memmap()'s options. `D` and `S` are the `dtype` and `shape` as written
 * (inferred by memmap(); the defaults take any value).
 *
 * @example
 * const options: MemmapOptions = { dtype: 'float32', mode: 'r', shape: [100, 3] };
 * memmap('points.f32', options); // Memmap (any dtype, any ndim): a held options object is checked at run time
 */
export interface MemmapOptions<
  D extends DTypeLike = DTypeLike,
  S extends ShapeLike | undefined = ShapeLike | undefined,
> {
  /**
   * Any numpy spelling (`'float32'`, `'f4'`, `'<f4'`, `'>i2'`, `'S5'`,
   * `'<U3'`, `'M8[ns]'`, ...), a TypedArray constructor, a DType, or a record
   * (list or dict form); default `'uint8'`. A misspelt literal does not compile.
   */
  dtype?: D;
  /** `'r'`, `'r+'`, `'w+'`, `'c'` or numpy's long names; default `'r+'`. */
  mode?: ModeLike;
  /** Byte offset of the array in the file; default 0. */
  offset?: number | bigint;
  /** A number (1-D) or one number per axis; default: 1-D over the rest of the file. */
  shape?: S;
  /** `'C'` (row-major) or `'F'` (column-major); default `'C'`. */
  order?: Order | 'c' | 'f';
  /** madvise hint applied at open. */
  advice?: Advice;
  /**
   * Extend the file without reserving disk blocks (at open and in every later
   * `resize`), as numpy does: fast and free for huge, mostly empty files, but
   * a write into a page the full disk cannot back is SIGBUS, not an error.
   * Default false: blocks reserved, a full disk is ERR_MEMMAP_NO_SPACE.
   */
  sparse?: boolean;
}

/** numpy's mode spellings (a Map: `'__proto__'` or `'constructor'` must not find Object.prototype). */
const MODES: ReadonlyMap<string, Mode> = new Map([
  ['r', 'r'],
  ['readonly', 'r'],
  ['r+', 'r+'],
  ['readwrite', 'r+'],
  ['w+', 'w+'],
  ['write', 'w+'],
  ['c', 'c'],
  ['copyonwrite', 'c'],
]);
const ADVICE: readonly Advice[] = ['normal', 'random', 'sequential', 'willneed', 'dontneed'];
const OPTIONS = new Set(['dtype', 'mode', 'offset', 'shape', 'order', 'advice', 'sparse']);

export function parseMode(mode: unknown, argument = 'mode'): Mode {
  const parsed = typeof mode === 'string' ? MODES.get(mode) : undefined;
  if (parsed === undefined) {
    throw memmapError(
      'ERR_MEMMAP_INVALID_MODE',
      `${argument} must be one of "r", "r+", "w+", "c" (or "readonly", "readwrite", "write", "copyonwrite"); got ${show(mode)}`,
    );
  }
  return parsed;
}

export function parseAdvice(advice: unknown): Advice {
  if (typeof advice !== 'string' || !ADVICE.includes(advice as Advice)) {
    throw memmapError(
      'ERR_MEMMAP_INVALID_ADVICE',
      `advice must be one of ${ADVICE.map((a) => `"${a}"`).join(', ')}; got ${show(advice)}`,
    );
  }
  return advice as Advice;
}

export function parseOrder(order: unknown): Order {
  if (order === 'C' || order === 'c') return 'C';
  if (order === 'F' || order === 'f') return 'F';
  throw memmapError('ERR_MEMMAP_INVALID_ORDER', `order must be "C" or "F"; got ${show(order)}`);
}

export function parseOffset(offset: unknown, argument = 'offset'): number {
  if (typeof offset === 'bigint') {
    if (offset < 0n)
      throw memmapError('ERR_MEMMAP_OUT_OF_RANGE', `${argument} must be a non-negative integer; got ${show(offset)}`);
    if (offset > BigInt(Number.MAX_SAFE_INTEGER))
      throw memmapError(
        'ERR_MEMMAP_OUT_OF_RANGE',
        `${argument} ${show(offset)} is larger than any file (2^53 - 1 bytes)`,
      );
    return Number(offset);
  }
  if (typeof offset !== 'number' || !Number.isInteger(offset)) {
    throw memmapError(
      typeof offset === 'number' ? 'ERR_MEMMAP_OUT_OF_RANGE' : 'ERR_MEMMAP_INVALID_ARG',
      `${argument} must be a non-negative integer (number or bigint); got ${show(offset)}`,
    );
  }
  if (offset < 0 || offset > Number.MAX_SAFE_INTEGER) {
    throw memmapError(
      'ERR_MEMMAP_OUT_OF_RANGE',
      `${argument} must be a non-negative integer no larger than 2^53 - 1; got ${show(offset)}`,
    );
  }
  return offset;
}

/**
 * A path or a descriptor number, checked. A Buffer path is bytes: returned as a
 * string when they are UTF-8 (the same file either way), else as the Buffer.
 */
export function parseFile(file: unknown): string | Buffer | number {
  try {
    return parseFileOf(file);
  } catch (error) {
    throw proxyArgumentError(error, 'path');
  }
}

function parseFileOf(file: unknown): string | Buffer | number {
  if (typeof file === 'number') {
    if (!Number.isInteger(file) || file < 0 || file > 2 ** 31 - 1) {
      throw memmapError(
        'ERR_MEMMAP_INVALID_ARG',
        `file must be a path or an open file descriptor (a non-negative integer); got ${show(file)}`,
      );
    }
    return file;
  }
  let path: string;
  if (typeof file === 'string') path = file;
  else if (
    file instanceof URL ||
    (typeof file === 'object' &&
      file !== null &&
      (file as { href?: unknown }).href !== undefined &&
      (file as URL).protocol !== undefined)
  ) {
    const url = file as URL;
    if (url.protocol !== 'file:')
      throw memmapError('ERR_MEMMAP_INVALID_ARG', `file URL must use the file: protocol; got ${show(url.href)}`);
    try {
      path = fileURLToPath(url);
    } catch (error) {
      // Node refuses a host (file://server/x) and an encoded '/' (%2F) on POSIX.
      throw memmapError(
        'ERR_MEMMAP_INVALID_ARG',
        `file URL ${show(url.href)} names no local path: ${(error as Error).message}`,
        error,
      );
    }
  } else if (Buffer.isBuffer(file)) {
    const text = file.toString('utf8');
    if (!Buffer.from(text).equals(file)) {
      if (file.length === 0 || file.includes(0))
        throw memmapError(
          'ERR_MEMMAP_INVALID_ARG',
          `file path must be non-empty, without NUL bytes; got ${show(file)}`,
        );
      return Buffer.from(file);
    }
    path = text;
  } else
    throw memmapError(
      'ERR_MEMMAP_INVALID_ARG',
      `file must be a path (string, file: URL or Buffer) or an open file descriptor; got ${show(file)}`,
    );
  if (path.length === 0) throw memmapError('ERR_MEMMAP_INVALID_ARG', 'file must be a non-empty path; got ""');
  if (path.includes('\0'))
    throw memmapError('ERR_MEMMAP_INVALID_ARG', `file path must not contain NUL bytes; got ${show(path)}`);
  return path;
}

/** Checks that `options` is an object whose every key is in `known` (`what` names the function). */
export function checkOptionNames(raw: unknown, known: ReadonlySet<string>, what: string): Record<string, unknown> {
  try {
    return checkOptionNamesOf(raw, known, what);
  } catch (error) {
    throw proxyArgumentError(error, `${what} options`);
  }
}

function checkOptionNamesOf(raw: unknown, known: ReadonlySet<string>, what: string): Record<string, unknown> {
  const options: unknown = raw ?? {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw memmapError('ERR_MEMMAP_INVALID_ARG', `options must be an object; got ${show(options)}`);
  }
  return ownOptions(
    options,
    `${what} options`,
    (key) => known.has(key),
    (key) =>
      memmapError('ERR_MEMMAP_UNKNOWN_OPTION', `unknown option ${show(key)}: ${what} takes ${[...known].join(', ')}`),
  );
}

/** memmap()'s options, checked. */
export interface ParsedOptions {
  dtype: DType;
  mode: Mode;
  offset: number;
  shape: number[] | null;
  order: Order;
  advice: Advice | null;
  /** `size * itemsize` when a shape was given; null maps the rest of the file. */
  byteLength: number | null;
  /** The shape's contiguous strides in `order`, when a shape was given (checked before the open). */
  strides: number[] | null;
  sparse: boolean;
}

/** The `sparse` option: a boolean, only for the modes that extend a file. */
export function parseSparse(sparse: unknown, mode: Mode): boolean {
  if (sparse === undefined) return false;
  if (typeof sparse !== 'boolean')
    throw memmapError('ERR_MEMMAP_INVALID_ARG', `sparse must be a boolean; got ${show(sparse)}`);
  if (sparse && mode !== 'r+' && mode !== 'w+')
    throw memmapError(
      'ERR_MEMMAP_INVALID_ARG',
      `sparse is for modes 'r+' and 'w+', which extend the file; mode ${show(mode)} never does`,
    );
  return sparse;
}

/** Checks every option of memmap() before anything touches the disk. */
export function parseOptions(raw: unknown): ParsedOptions {
  const given = checkOptionNames(raw, OPTIONS, 'memmap') as MemmapOptions;
  const dtype = parseDType(given.dtype ?? 'uint8');
  const mode = parseMode(given.mode ?? 'r+');
  const offset = parseOffset(given.offset ?? 0);
  const shape = given.shape === undefined || given.shape === null ? null : normalizeShape(given.shape);
  const order = parseOrder(given.order ?? 'C');
  const advice = given.advice === undefined ? null : parseAdvice(given.advice);
  const sparse = parseSparse(given.sparse, mode);
  if (mode === 'w+' && shape === null) {
    throw memmapError(
      'ERR_MEMMAP_SHAPE_REQUIRED',
      "shape must be given if mode is 'w+' (the file is created with exactly that many items)",
    );
  }
  const byteLength = shape === null ? null : sizeOf(shape, dtype.itemsize) * dtype.itemsize;
  // Made (and strides past 2^53 refused) here, before anything touches the disk.
  const strides = shape === null ? null : contiguousStrides(shape, dtype.itemsize, order);
  if (byteLength !== null && offset + byteLength > Number.MAX_SAFE_INTEGER) {
    throw memmapError(
      'ERR_MEMMAP_TOO_LARGE',
      `offset ${offset} + ${byteLength} bytes is past the largest file memmap can address (2^53 - 1 bytes)`,
    );
  }
  return { dtype, mode, offset, shape, order, advice, byteLength, strides, sparse };
}

/**
 * Every error memmap throws, in one place: the stable codes, the class each
 * code is thrown as, and the conversion of errors that come from the native
 * binding (which carry their code as `error.code`, set by Rust).
 */

import { types } from 'node:util';
import { IntrinsicTypedArray, isDetached, typedArrayKind } from './intrinsics';

/**
 * The stable codes, with the error class each is thrown as.
 *
 * @example
 * try {
 *   memmap('missing.bin', { mode: 'r' });
 * } catch (error) {
 *   if ((error as MemmapError).code === 'ERR_MEMMAP_FILE_NOT_FOUND') console.log('no such file');
 * }
 */
export const ERROR_CLASSES = {
  // Arguments of the wrong kind, or names that are not known.
  ERR_MEMMAP_INVALID_ARG: TypeError,
  ERR_MEMMAP_INVALID_DTYPE: TypeError,
  ERR_MEMMAP_INVALID_MODE: TypeError,
  ERR_MEMMAP_INVALID_ORDER: TypeError,
  ERR_MEMMAP_INVALID_ADVICE: TypeError,
  ERR_MEMMAP_INVALID_INDEX: TypeError,
  ERR_MEMMAP_UNKNOWN_OPTION: TypeError,
  ERR_MEMMAP_SHAPE_REQUIRED: TypeError,
  ERR_MEMMAP_READ_ONLY: TypeError,
  ERR_MEMMAP_NOT_ITERABLE: TypeError,
  // Numbers out of range.
  ERR_MEMMAP_OUT_OF_RANGE: RangeError,
  ERR_MEMMAP_INDEX_OUT_OF_RANGE: RangeError,
  ERR_MEMMAP_TOO_LARGE: RangeError,
  ERR_MEMMAP_VALUE_OUT_OF_RANGE: RangeError,
  ERR_MEMMAP_SHAPE_MISMATCH: RangeError,
  ERR_MEMMAP_EMPTY_REDUCTION: RangeError,
  // numpy's AxisError (an axis out of range) and its ValueError for an axis given twice.
  ERR_MEMMAP_AXIS_OUT_OF_RANGE: RangeError,
  ERR_MEMMAP_DUPLICATE_AXIS: RangeError,
  // `data` unavailable for this view (the message says what to use instead).
  ERR_MEMMAP_NO_TYPED_ARRAY: TypeError,
  ERR_MEMMAP_DATA_TOO_LARGE: RangeError,
  // State and the file system.
  ERR_MEMMAP_CLOSED: Error,
  ERR_MEMMAP_ABORTED: Error,
  ERR_MEMMAP_FILE_IN_USE: Error,
  ERR_MEMMAP_FILE_NOT_FOUND: Error,
  ERR_MEMMAP_IS_DIRECTORY: Error,
  ERR_MEMMAP_NOT_REGULAR_FILE: Error,
  ERR_MEMMAP_PERMISSION_DENIED: Error,
  ERR_MEMMAP_EMPTY_FILE: Error,
  ERR_MEMMAP_FILE_TOO_SHORT: Error,
  ERR_MEMMAP_NOT_WHOLE_ITEMS: Error,
  ERR_MEMMAP_NO_SPACE: Error,
  ERR_MEMMAP_TOO_MANY_MAPS: Error,
  ERR_MEMMAP_BAD_FD: Error,
  ERR_MEMMAP_UNSUPPORTED: Error,
  ERR_MEMMAP_EXTERNAL_BUFFERS_REFUSED: Error,
  ERR_MEMMAP_BUFFER_FAILED: Error,
  ERR_MEMMAP_FILE_SHRUNK: Error,
  ERR_MEMMAP_FILE_REPLACED: Error,
  ERR_MEMMAP_NOT_AT_END: Error,
  ERR_MEMMAP_IO: Error,
  // .npy files.
  ERR_NPY_BAD_MAGIC: Error,
  ERR_NPY_UNSUPPORTED_VERSION: Error,
  ERR_NPY_TRUNCATED: Error,
  ERR_NPY_BAD_HEADER: Error,
  ERR_NPY_OBJECT_DTYPE: TypeError,
  // A dtype or shape given to openMemmap() for an existing file that its header contradicts.
  ERR_NPY_DTYPE_MISMATCH: TypeError,
  ERR_NPY_SHAPE_MISMATCH: RangeError,
  // .npz archives (ZIP): what is not a zip, or a zip that lies; members that cannot be mapped.
  ERR_NPZ_NOT_ZIP: Error,
  ERR_NPZ_TRUNCATED: Error,
  ERR_NPZ_BAD_ARCHIVE: Error,
  ERR_NPZ_MULTI_DISK: Error,
  ERR_NPZ_NO_MEMBER: Error,
  ERR_NPZ_NOT_NPY: Error,
  ERR_NPZ_ENCRYPTED: Error,
  ERR_NPZ_COMPRESSED: Error,
  ERR_NPZ_UNSUPPORTED_COMPRESSION: Error,
  ERR_NPZ_BAD_CRC: Error,
} as const;

/**
 * Every stable error code (the keys of ERROR_CLASSES).
 *
 * @example
 * const code: ErrorCode = 'ERR_NPY_DTYPE_MISMATCH';
 */
export type ErrorCode = keyof typeof ERROR_CLASSES;

/**
 * An Error (or TypeError/RangeError) with a stable `code`.
 *
 * @example
 * catch (error) {
 *   console.log((error as MemmapError).code); // 'ERR_MEMMAP_INVALID_DTYPE'
 * }
 */
export type MemmapError = Error & {
  /** The stable code: what went wrong, for programs (the message is for people). */
  code: ErrorCode;
};

/** Builds the error for `code`, of the class the table gives it. */
export function memmapError(code: ErrorCode, message: string, cause?: unknown): MemmapError {
  const ErrorClass = ERROR_CLASSES[code];
  const error = new ErrorClass(message, cause === undefined ? undefined : { cause }) as MemmapError;
  Object.defineProperty(error, 'code', { value: code, enumerable: true, writable: true, configurable: true });
  return error;
}

/** Shows a value in a message the way a person would type it. */
export function show(value: unknown): string {
  try {
    return showAt(value, 0);
  } catch {
    // A Proxy whose traps throw, a getter that throws: the message must
    // still be built, and the error it carries is the one to throw.
    return '[a value that cannot be shown]';
  }
}

/**
 * A coded refusal of a TypedArray whose buffer was transferred away: it
 * would read as empty, and its bytes cannot be viewed (the engine's own
 * TypeError has no code).
 */
export function checkAttached(typed: IntrinsicTypedArray, argument: string): void {
  if (isDetached(typed))
    throw memmapError(
      'ERR_MEMMAP_INVALID_ARG',
      `${argument}: its ArrayBuffer is detached (transferred or structuredCloned away), so it has no bytes to read`,
    );
}

/**
 * An argument a function does not take is an error, never silently ignored:
 * `a.slice(0, 10)` is not rows 0 to 9, and `a.sum({ axis: 0 })` is not the
 * whole-array sum. `extra` is what came after the `takes` it reads.
 */
export function noMoreArguments(method: string, takes: number, extra: readonly unknown[], hint = ''): void {
  if (extra.length === 0) return;
  const count = takes === 0 ? 'no arguments' : takes === 1 ? 'one argument' : `${takes} arguments`;
  throw memmapError('ERR_MEMMAP_INVALID_ARG', `${method}() takes ${count}; got ${show(extra)} as well${hint}`);
}

/**
 * A revoked Proxy throws the engine's own TypeError at any touch, even
 * `Array.isArray`; a Proxy of an array of this package passes `instanceof`,
 * then throws the engine's TypeError at the first read of its private state.
 * The argument parsers catch errors through this: such an error becomes
 * ERR_MEMMAP_INVALID_ARG naming the argument; any other is returned as it is.
 */
export function proxyArgumentError(error: unknown, argument: string): unknown {
  // By name: Node's own classes (URL's Symbol.hasInstance) throw from the
  // main realm, whose TypeError is another class in a vm context (jest).
  const e = error as { name?: unknown; message?: unknown; code?: unknown } | null;
  if (
    typeof e !== 'object' ||
    e === null ||
    e.name !== 'TypeError' ||
    e.code !== undefined ||
    typeof e.message !== 'string'
  ) {
    return error;
  }
  if (REVOKED.test(e.message)) return memmapError('ERR_MEMMAP_INVALID_ARG', revokedMessage(argument));
  if (PRIVATE.test(e.message)) {
    return memmapError(
      'ERR_MEMMAP_INVALID_ARG',
      `${argument} is, or holds, a Proxy of an array (or another object posing as one) without the array's private state: pass the array itself`,
    );
  }
  return error;
}

/** Throws ERR_MEMMAP_INVALID_ARG if `value` is a revoked Proxy, for a check before any touch (`instanceof` throws too). */
export function refuseRevoked(value: unknown, argument: string): void {
  if (isRevokedProxy(value)) {
    throw memmapError('ERR_MEMMAP_INVALID_ARG', revokedMessage(argument));
  }
}

function revokedMessage(argument: string): string {
  return `${argument} is, or holds, a revoked Proxy (any use of it throws)`;
}

/** V8's message for any operation on a revoked Proxy. */
const REVOKED = /on a proxy that has been revoked/;

/** V8's messages for a private field or method read through an object that lacks it. */
const PRIVATE = /private member|Receiver must be an instance of class/;

function isRevokedProxy(value: unknown): boolean {
  if (!types.isProxy(value)) return false;
  try {
    Reflect.getPrototypeOf(value as object);
    return false;
  } catch {
    return true;
  }
}

/** Arrays nested deeper than this show as `[...]`: a message stays short, and a hostile value cannot overflow the stack. */
const SHOW_DEPTH = 8;
/**
 * Items of an array, and characters of a string, a message shows: an array
 * of 2^32 - 1 holes (or a Proxy claiming that length) must not be walked
 * whole to build one line.
 */
const SHOW_ITEMS = 16;
const SHOW_CHARS = 200;

function showAt(value: unknown, depth: number): string {
  if (typeof value === 'string') {
    return value.length > SHOW_CHARS
      ? `${JSON.stringify(value.slice(0, SHOW_CHARS))}... (${value.length} characters)`
      : JSON.stringify(value);
  }
  if (isRevokedProxy(value)) return '[revoked Proxy]';
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return value.name ? `[function ${value.name}]` : '[function]';
  if (Array.isArray(value)) {
    if (depth >= SHOW_DEPTH) return '[...]';
    const length = value.length;
    const items: string[] = [];
    for (let k = 0; k < Math.min(length, SHOW_ITEMS); k++) items.push(showAt(value[k], depth + 1));
    if (length > SHOW_ITEMS) items.push(`... ${length - SHOW_ITEMS} more`);
    return `[${items.join(', ')}]`;
  }
  if (value !== null && typeof value === 'object') {
    // A TypedArray by its kind, not by a `constructor` it may have been given.
    const name = typedArrayKind(value) ?? value.constructor?.name;
    return name && name !== 'Object' ? `[object ${name}]` : safeJson(value);
  }
  return String(value);
}

/** A plain object as JSON, its long arrays and strings cut as showAt cuts them. */
function safeJson(value: object): string {
  try {
    const json = JSON.stringify(value, (_, item: unknown) => {
      if (Array.isArray(item) && item.length > SHOW_ITEMS) {
        return [...item.slice(0, SHOW_ITEMS), `... ${item.length - SHOW_ITEMS} more`];
      }
      if (typeof item === 'string' && item.length > SHOW_CHARS) return `${item.slice(0, SHOW_CHARS)}...`;
      return item;
    });
    return json ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * The codes napi-rs itself gives an argument it cannot convert (a call into
 * the binding from outside this package's TypeScript, which never sends one).
 */
const NAPI_ARGUMENT_CODES: ReadonlySet<string> = new Set([
  'InvalidArg',
  'ObjectExpected',
  'StringExpected',
  'NameExpected',
  'FunctionExpected',
  'NumberExpected',
  'BooleanExpected',
  'ArrayExpected',
  'BigintExpected',
  'DateExpected',
  'ArrayBufferExpected',
]);

/**
 * Converts an error thrown (or a rejection) by the native binding into a coded
 * error of the class ERROR_CLASSES gives its code. Anything else is returned
 * as is.
 */
export function fromNative(error: unknown): unknown {
  // Not `instanceof Error`: errors made by native code belong to the main
  // realm, and under jest (one realm per test file) that check fails.
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code !== 'string' || typeof message !== 'string') return error;
  if (Object.hasOwn(ERROR_CLASSES, code)) return memmapError(code as ErrorCode, message);
  if (NAPI_ARGUMENT_CODES.has(code)) {
    return memmapError('ERR_MEMMAP_INVALID_ARG', `invalid argument to the native binding: ${message}`, error);
  }
  return error;
}

/** Runs a native call, converting what it throws. */
export function callNative<T>(call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw fromNative(error);
  }
}

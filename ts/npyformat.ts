/**
 * The `.npy` format (numpy/lib/format.py), pure: the header read and written
 * the way numpy does, byte for byte; bytes in, values out, no file and no
 * binding, so it can be fuzzed and tested without a native build.
 */
import { descrOf, descrToRecord, DType, parseDType } from './dtype';
import { memmapError, show } from './errors';
import { parsePyLiteral, PyTuple, pyRepr, PyValue } from './pyliteral';

export { descrOf, parsePyLiteral, PyTuple, pyRepr };

export const MAGIC = Uint8Array.of(0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59); // \x93NUMPY
const ARRAY_ALIGN = 64;
/** numpy leaves room to grow the first (C) or last (F) axis in place. */
const GROWTH_AXIS_MAX_DIGITS = 21;
/**
 * Longest header read. numpy's default limit is 10000 bytes; larger headers
 * (big structured dtypes) exist, so this allows more while still bounding what
 * a damaged length field can make us allocate.
 */
export const MAX_HEADER_BYTES = 1 << 20;

/**
 * A `.npy` format version: 1.0, 2.0 (headers past 64 KiB) or 3.0 (UTF-8 field names).
 *
 * @example
 * openMemmap('a.npy', { mode: 'w+', shape: [3], version: [2, 0] });
 */
export type NpyVersion = [1, 0] | [2, 0] | [3, 0];

/** What a header says. */
export interface NpyHeader {
  version: NpyVersion;
  /** numpy's `descr` as written (a string for the dtypes memmap maps). */
  descr: unknown;
  fortranOrder: boolean;
  shape: number[];
  /** Byte offset of the data: magic + version + length field + header. */
  dataOffset: number;
  /** Size of the whole file, as given to the parser. */
  fileSize: number;
  /** The header's bytes, magic to newline (readNpyHeader's). */
  bytes?: Uint8Array;
}

const bad = (message: string) => memmapError('ERR_NPY_BAD_HEADER', message);

// ----- Header reading -----

/** How long the fixed prefix is for a version: magic (6) + version (2) + length (2 or 4). */
function prefixLength(major: number): number {
  return major === 1 ? 10 : 12;
}

/**
 * Checks the fixed prefix (magic, version, header length) from the first 12
 * bytes of a file of `fileSize` bytes: all a reader needs to know how much to read.
 */
export function parseNpyPrefix(
  bytes: Uint8Array,
  fileSize: number,
): { major: number; prefix: number; headerLength: number } {
  if (bytes.length < 8 || fileSize < 8) {
    throw memmapError('ERR_NPY_TRUNCATED', `the file is ${fileSize} bytes, too short for a .npy header (at least 10)`);
  }
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) {
      throw memmapError(
        'ERR_NPY_BAD_MAGIC',
        `not a .npy file: the first bytes are ${show(Buffer.from(bytes.subarray(0, 6)).toString('latin1'))}, expected "\\x93NUMPY"`,
      );
    }
  }
  const major = bytes[6];
  const minor = bytes[7];
  if (!((major === 1 || major === 2 || major === 3) && minor === 0)) {
    throw memmapError(
      'ERR_NPY_UNSUPPORTED_VERSION',
      `.npy format version ${major}.${minor} is not one memmap reads (1.0, 2.0, 3.0)`,
    );
  }
  const prefix = prefixLength(major);
  if (bytes.length < prefix)
    throw memmapError('ERR_NPY_TRUNCATED', `the file ends inside the .npy header length field (${fileSize} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (headerLength > MAX_HEADER_BYTES) {
    throw memmapError(
      'ERR_NPY_BAD_HEADER',
      `the .npy header says it is ${headerLength} bytes long, more than the ${MAX_HEADER_BYTES} bytes memmap reads`,
    );
  }
  if (prefix + headerLength > fileSize) {
    throw memmapError(
      'ERR_NPY_TRUNCATED',
      `the .npy header says it is ${headerLength} bytes long, past the end of the ${fileSize}-byte file`,
    );
  }
  return { major, prefix, headerLength };
}

/**
 * Reads the header at the start of `bytes` (which may be just the first part
 * of a file of `fileSize` bytes). Throws coded errors, never anything else.
 */
export function parseNpyHeader(bytes: Uint8Array, fileSize: number): NpyHeader {
  const { major, prefix, headerLength } = parseNpyPrefix(bytes, fileSize);
  if (prefix + headerLength > bytes.length) {
    throw memmapError(
      'ERR_NPY_TRUNCATED',
      `the .npy header says it is ${headerLength} bytes long, past the end of the ${fileSize}-byte file`,
    );
  }
  const raw = bytes.subarray(prefix, prefix + headerLength);
  let text: string;
  if (major === 3) {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch {
      throw bad('the version 3.0 header is not valid UTF-8');
    }
  } else {
    text = Buffer.from(raw).toString('latin1');
  }
  const simple = simpleHeader(text);
  if (simple !== null)
    return { version: [major, 0] as NpyVersion, ...simple, dataOffset: prefix + headerLength, fileSize };
  // numpy drops Python 2's `L` (3L) only from the versions Python 2 wrote.
  const parsed = parsePyLiteral(text, { python2Longs: major < 3 });
  if (!(parsed instanceof Map)) throw bad(`the header is not a dict: ${show(text.slice(0, 200))}`);
  // Keys are str in numpy's dict: a bytes b'descr' is another key (String() of its bytes would not tell).
  const keys = [...parsed.keys()].map((key) => (typeof key === 'string' ? key : pyRepr(key))).sort();
  if (keys.join() !== 'descr,fortran_order,shape' || parsed.size !== 3) {
    throw bad(`the header dict has keys ${show(keys)}, expected exactly ["descr", "fortran_order", "shape"]`);
  }
  const shapeValue = parsed.get('shape');
  if (shapeValue instanceof PyTuple && shapeValue.items.some((n) => typeof n === 'bigint' && n > 0n)) {
    throw bad(
      `shape ${pyRepr(shapeValue)} has a dimension past 2^53 - 1, which memmap's shapes (JavaScript numbers) cannot hold exactly`,
    );
  }
  if (!(shapeValue instanceof PyTuple) || !shapeValue.items.every((n) => typeof n === 'number' && n >= 0)) {
    throw bad(
      `shape is not a tuple of non-negative integers: ${show(shapeValue instanceof PyTuple ? shapeValue.items : shapeValue)}`,
    );
  }
  const fortranOrder = parsed.get('fortran_order');
  if (typeof fortranOrder !== 'boolean') throw bad(`fortran_order is not a bool: ${show(fortranOrder)}`);
  return {
    version: [major, 0] as NpyVersion,
    descr: parsed.get('descr'),
    fortranOrder,
    shape: shapeValue.items as number[],
    dataOffset: prefix + headerLength,
    fileSize,
  };
}

/**
 * The header exactly as numpy's `_write_array_header` writes it for a simple
 * dtype (`{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`, then
 * spaces and a newline), read without the general Python-literal parser:
 * opening a `.npz` member reads one per `get()`. Anything else is left to
 * that parser (null), which gives the same result for these headers.
 */
const SIMPLE_HEADER =
  /^\{'descr': '([<>|=]?[A-Za-z]\d{0,6})', 'fortran_order': (True|False), 'shape': \(((?:(?:0|[1-9]\d{0,14}), )*(?:0|[1-9]\d{0,14}),?|)\), \} *\n$/;

function simpleHeader(text: string): { descr: string; fortranOrder: boolean; shape: number[] } | null {
  const match = SIMPLE_HEADER.exec(text);
  if (match === null) return null;
  const dims = match[3].split(',').map((s) => s.trim());
  if (dims[dims.length - 1] === '') dims.pop();
  // numpy writes a 1-d shape as (n,), never (n): the form the parser would read as an int.
  if (dims.length === 1 && !match[3].endsWith(',')) return null;
  if (dims.length > 1 && match[3].endsWith(',')) return null;
  return { descr: match[1], fortranOrder: match[2] === 'True', shape: dims.map(Number) };
}

/** Simple descrs already turned into dtypes (dtypes are frozen): a `.npz` get() needs one each time. */
const DESCR_DTYPES = new Map<string, DType>();

/** The dtype a header's descr names, or a coded error (object dtypes are refused). */
export function descrToDType(descr: unknown): DType {
  if (typeof descr === 'string') {
    const known = DESCR_DTYPES.get(descr);
    if (known !== undefined) return known;
    const dtype = descrToDTypeUncached(descr);
    if (DESCR_DTYPES.size < 256) DESCR_DTYPES.set(descr, dtype);
    return dtype;
  }
  return descrToDTypeUncached(descr);
}

function descrToDTypeUncached(descr: unknown): DType {
  if ((typeof descr === 'string' || Array.isArray(descr)) && /'[<>|=]?O\d*'/.test(pyRepr(descr))) {
    throw memmapError(
      'ERR_NPY_OBJECT_DTYPE',
      `the .npy file holds Python objects (descr ${pyRepr(descr as PyValue).slice(0, 200)}): they are pickled pointers, not data, and cannot be memory-mapped (numpy refuses too)`,
    );
  }
  if (Array.isArray(descr)) {
    try {
      return descrToRecord(descr, 'descr');
    } catch (error) {
      throw bad(
        `descr ${pyRepr(descr).slice(0, 200)} is not a record dtype memmap understands: ${(error as Error).message}`,
      );
    }
  }
  if (typeof descr !== 'string') throw bad(`descr ${pyRepr(descr as PyValue).slice(0, 200)} is not a dtype`);
  try {
    return parseDType(descr, 'descr');
  } catch {
    throw bad(`descr ${pyRepr(descr).slice(0, 200)} is not a dtype memmap understands`);
  }
}

// ----- Header writing -----

/**
 * The header numpy's `_write_array_header` writes for these values: sorted
 * dict repr, room to grow the growth axis, padded with spaces and a newline so
 * the data starts on a 64-byte boundary; the smallest version that fits, or
 * `version`.
 */
export function npyHeaderBytes(
  descr: PyValue,
  fortranOrder: boolean,
  shape: readonly number[],
  version: NpyVersion | null = null,
): Uint8Array {
  let header = `{'descr': ${pyRepr(descr)}, 'fortran_order': ${pyRepr(fortranOrder)}, 'shape': ${pyRepr(new PyTuple([...shape]))}, }`;
  if (shape.length > 0) {
    const growth = String(shape[fortranOrder ? shape.length - 1 : 0]);
    header += ' '.repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - growth.length));
  }
  const wrap = (major: 1 | 2 | 3): Uint8Array | null => {
    const latin1 = major !== 3;
    if (latin1 && /[\u0100-\uffff]/.test(header)) return null;
    const encoded = latin1 ? Buffer.from(header, 'latin1') : Buffer.from(header, 'utf8');
    const prefix = prefixLength(major);
    const withNewline = encoded.length + 1;
    const padding = ARRAY_ALIGN - ((prefix + withNewline) % ARRAY_ALIGN);
    const total = withNewline + padding;
    if (major === 1 && total > 0xffff) return null;
    const out = new Uint8Array(prefix + total);
    out.set(MAGIC, 0);
    out[6] = major;
    out[7] = 0;
    const view = new DataView(out.buffer);
    if (major === 1) view.setUint16(8, total, true);
    else view.setUint32(8, total, true);
    out.set(encoded, prefix);
    out.fill(0x20, prefix + encoded.length, out.length - 1);
    out[out.length - 1] = 0x0a;
    return out;
  };
  if (version !== null) {
    const bytes = wrap(version[0]);
    if (bytes === null) {
      const why = /[\u0100-\uffff]/.test(header)
        ? 'it holds characters latin-1 cannot encode, which only version [3, 0] (UTF-8) holds'
        : `${header.length} characters, more than the 65535 bytes version [1, 0] holds: use [2, 0]`;
      throw memmapError('ERR_MEMMAP_OUT_OF_RANGE', `version ${show(version)} cannot hold this header: ${why}`);
    }
    return bytes;
  }
  return (wrap(1) ?? wrap(2) ?? wrap(3))!;
}

/** The header dict up to the shape's value (what stays the same as an array grows). */
export function npyDictHead(descr: PyValue, fortranOrder: boolean): string {
  return `{'descr': ${pyRepr(descr)}, 'fortran_order': ${pyRepr(fortranOrder)}, 'shape': `;
}

/**
 * The header for these values in exactly `length` bytes (a header being
 * rewritten in place, as the growth-axis padding numpy leaves allows): the
 * dict, spaces, a newline. Null when the dict does not fit, or the version's
 * length field or encoding cannot hold it.
 */
export function npyHeaderOfLength(
  descr: PyValue,
  fortranOrder: boolean,
  shape: readonly number[],
  major: 1 | 2 | 3,
  length: number,
  head: string = npyDictHead(descr, fortranOrder),
): Uint8Array | null {
  const header = `${head}${pyRepr(new PyTuple([...shape]))}, }`;
  if (major !== 3 && /[\u0100-\uffff]/.test(header)) return null;
  const encoded = major === 3 ? Buffer.from(header, 'utf8') : Buffer.from(header, 'latin1');
  const prefix = prefixLength(major);
  const total = length - prefix;
  if (encoded.length + 1 > total || (major === 1 && total > 0xffff)) return null;
  const out = new Uint8Array(length);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, total, true);
  else view.setUint32(8, total, true);
  out.set(encoded, prefix);
  out.fill(0x20, prefix + encoded.length, length - 1);
  out[length - 1] = 0x0a;
  return out;
}

// ----- openMemmap -----

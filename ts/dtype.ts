/**
 * The dtype table: the single source of dtype facts (numpy name, kind,
 * itemsize, TypedArray, how a value is read and written). numpy's spellings
 * are an alias table beside it. A new dtype is a new row, never a new `case`.
 */
import { endianness } from 'node:os';
import { memmapError, show } from './errors';
import { floatToHalf, halfToFloat } from './float16';
import type { Field } from './structured';
import { parseStructured } from './structured';

/** A complex number as get()/toArray() give it. */
export interface Complex {
  re: number;
  im: number;
}

/**
 * One element's value: bigint for 64-bit integers and datetime64/timedelta64
 * (in their unit), boolean for bool, `{ re, im }` for complex, a string for
 * unicode `U<n>`, a Uint8Array for bytes `S<n>` (trailing NULs trimmed, as
 * numpy does) and void `V<n>`.
 */
export type Scalar = number | bigint | boolean | Complex | string | Uint8Array | { [field: string]: unknown };

type TypedArrayConstructor =
  | Int8ArrayConstructor
  | Uint8ArrayConstructor
  | Int16ArrayConstructor
  | Uint16ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor
  | BigInt64ArrayConstructor
  | BigUint64ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor;

export type AnyTypedArray = InstanceType<TypedArrayConstructor>;
type Lane = number | bigint;
type LaneGetter =
  | 'getInt8'
  | 'getUint8'
  | 'getInt16'
  | 'getUint16'
  | 'getInt32'
  | 'getUint32'
  | 'getBigInt64'
  | 'getBigUint64'
  | 'getFloat32'
  | 'getFloat64';
type LaneSetter =
  | 'setInt8'
  | 'setUint8'
  | 'setInt16'
  | 'setUint16'
  | 'setInt32'
  | 'setUint32'
  | 'setBigInt64'
  | 'setBigUint64'
  | 'setFloat32'
  | 'setFloat64';

/**
 * How one kind of value maps to the lanes of a TypedArray: `lanes` values per
 * element (2 for complex). `coerce` checks a JS value and turns it into lane
 * values once, so fill() checks once and writes many times.
 */
export interface Codec {
  /** TypedArray lanes per element, when fixed by the codec (numeric kinds); else the row's. */
  lanes: number;
  fromLanes(lane0: Lane, lane1: Lane): Scalar;
  /** A checked value, ready to write: `[lane, lane]` for numeric kinds, bytes or code points otherwise. */
  coerce(value: unknown, row: DTypeRow): Coerced;
  /** Element read/write closures over one TypedArray (`at` is a lane index). */
  laneAccess(lanes: AnyTypedArray, row: DTypeRow): LaneAccess;
  /** Reads/writes through a DataView at byte `at` in either byte order; absent: numeric lanes. */
  viewRead?(view: DataView, at: number, little: boolean, row: DTypeRow): Scalar;
  viewWrite?(view: DataView, at: number, value: Coerced, little: boolean, row: DTypeRow): void;
  /** Whether `coerce()[0]` is one lane value that TypedArray.fill can spread. */
  fillsLanes: boolean;
}

/** What coerce() returns: opaque outside the codec that made it. */
export type Coerced = [Lane, Lane] | Uint8Array | Uint32Array;

export interface LaneAccess {
  read(at: number): Scalar;
  write(at: number, value: Coerced): void;
}

type LaneArray = { [at: number]: Lane };

/** One lane per element, read as is (ints, floats). */
function plainLanes(typed: AnyTypedArray): LaneAccess {
  const lanes = typed as unknown as LaneArray;
  return {
    read: (at) => lanes[at] as number | bigint,
    write: (at, value) => {
      lanes[at] = (value as [Lane, Lane])[0];
    },
  };
}

export interface DTypeRow {
  /** numpy's name for the native-order dtype (`str(np.dtype('f4'))`), or null where numpy prints the descr (`'|S5'`, `'<U3'`). */
  readonly name: string | null;
  /** numpy's kind character. */
  readonly kind: 'b' | 'i' | 'u' | 'f' | 'c' | 'S' | 'U' | 'V' | 'M' | 'm';
  /** numpy's type code without byte order: `'f4'`, `'S5'`, `'M8[ns]'`. */
  readonly code: string;
  readonly itemsize: number;
  /** TypedArray lanes per element (2 for complex, n for `S<n>`/`U<n>`/`V<n>`). */
  readonly lanes: number;
  /** True when byte order does not apply (one-byte numbers, bytes, void). */
  readonly orderless: boolean;
  /** The TypedArray over the element's lanes (what `data` returns). */
  readonly TypedArray: TypedArrayConstructor;
  readonly codec: Codec;
  readonly getLane: LaneGetter;
  readonly setLane: LaneSetter;
  /** Integer range (for checks on write); absent for floats. */
  readonly min?: bigint;
  readonly max?: bigint;
  /** Record dtypes: the fields, whether laid out with `align`, and the record's alignment. */
  readonly fields?: readonly Field[];
  readonly aligned?: boolean;
  readonly alignment?: number;
}

function outOfRange(value: unknown, row: DTypeRow): never {
  throw memmapError(
    'ERR_MEMMAP_VALUE_OUT_OF_RANGE',
    `value ${show(value)} is out of range for dtype ${row.name} (${row.min} to ${row.max})`,
  );
}

function wrongKind(value: unknown, row: DTypeRow, expected: string): never {
  throw memmapError(
    'ERR_MEMMAP_INVALID_ARG',
    `value ${show(value)} cannot be stored in dtype ${row.name}: expected ${expected}`,
  );
}

function toIntegerBigInt(value: unknown, row: DTypeRow): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'boolean') return value ? 1n : 0n;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) outOfRange(value, row);
    return BigInt(Math.trunc(value));
  }
  return wrongKind(value, row, 'a number, bigint or boolean');
}

const integer: Codec = {
  lanes: 1,
  fillsLanes: true,
  fromLanes: (lane) => lane,
  laneAccess: plainLanes,
  coerce(value, row) {
    // numpy truncates floats toward zero on assignment, and refuses integers
    // out of the dtype's range (numpy 2: OverflowError).
    if (typeof value === 'number' && Number.isFinite(value)) {
      const n = Math.trunc(value);
      if (n < Number(row.min) || n > Number(row.max)) outOfRange(value, row);
      return [n, 0];
    }
    const big = toIntegerBigInt(value, row);
    if (big < row.min! || big > row.max!) outOfRange(value, row);
    return [Number(big), 0];
  },
};

const bigInteger: Codec = {
  lanes: 1,
  fillsLanes: true,
  fromLanes: (lane) => lane,
  laneAccess: plainLanes,
  coerce(value, row) {
    const big = toIntegerBigInt(value, row);
    if (big < row.min! || big > row.max!) outOfRange(value, row);
    return [big, 0n];
  },
};

function toFloat(value: unknown, row: DTypeRow): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  return wrongKind(value, row, 'a number, bigint or boolean');
}

const float: Codec = {
  lanes: 1,
  fillsLanes: true,
  fromLanes: (lane) => lane,
  laneAccess: plainLanes,
  coerce: (value, row) => [toFloat(value, row), 0],
};

const half: Codec = {
  lanes: 1,
  fromLanes: (lane) => halfToFloat(lane as number),
  laneAccess(typed) {
    const lanes = typed as unknown as number[];
    return {
      read: (at) => halfToFloat(lanes[at]),
      write: (at, value) => {
        lanes[at] = (value as [Lane, Lane])[0] as number;
      },
    };
  },
  coerce: (value, row) => [floatToHalf(toFloat(value, row)), 0],
  fillsLanes: true,
};

const boolean: Codec = {
  lanes: 1,
  fromLanes: (lane) => lane !== 0,
  laneAccess(typed) {
    const lanes = typed as unknown as number[];
    return {
      read: (at) => lanes[at] !== 0,
      write: (at, value) => {
        lanes[at] = (value as [Lane, Lane])[0] as number;
      },
    };
  },
  fillsLanes: true,
  coerce(value, row) {
    if (typeof value === 'boolean') return [value ? 1 : 0, 0];
    if (typeof value === 'number' || typeof value === 'bigint') return [value ? 1 : 0, 0];
    return wrongKind(value, row, 'a boolean or number');
  },
};

const complex: Codec = {
  lanes: 2,
  fillsLanes: false,
  fromLanes: (re, im) => ({ re: re as number, im: im as number }),
  laneAccess(typed) {
    const lanes = typed as unknown as number[];
    return {
      read: (at) => ({ re: lanes[at], im: lanes[at + 1] }),
      write: (at, value) => {
        const [re, im] = value as [Lane, Lane];
        lanes[at] = re as number;
        lanes[at + 1] = im as number;
      },
    };
  },
  coerce(value, row) {
    if (value !== null && typeof value === 'object' && 're' in value) {
      const { re, im } = value as Partial<Complex>;
      return [toFloat(re, row), toFloat(im ?? 0, row)];
    }
    return [toFloat(value, row), 0];
  },
};

function row(
  name: string,
  kind: DTypeRow['kind'],
  itemsize: number,
  TypedArray: TypedArrayConstructor,
  codec: Codec,
  lane: string,
  range?: [bigint, bigint],
): DTypeRow {
  return Object.freeze({
    name,
    kind,
    code: `${kind}${itemsize}`,
    itemsize,
    lanes: codec.lanes,
    orderless: itemsize === 1,
    TypedArray,
    codec,
    getLane: `get${lane}` as LaneGetter,
    setLane: `set${lane}` as LaneSetter,
    min: range?.[0],
    max: range?.[1],
  });
}

// ----- Bytes, unicode, void, datetime64 and timedelta64 -----------------

/** Bytes `S<n>` and void `V<n>`: one byte lane each; bytes trim trailing NULs on read (numpy). */
function bytesCodec(trim: boolean): Codec {
  const read = (source: Uint8Array): Uint8Array => {
    let end = source.length;
    if (trim) while (end > 0 && source[end - 1] === 0) end--;
    return source.slice(0, end);
  };
  return {
    lanes: 0,
    fillsLanes: false,
    fromLanes: () => new Uint8Array(0),
    coerce(value, row) {
      const out = new Uint8Array(row.itemsize);
      if (typeof value === 'string' && trim) {
        // numpy encodes str into bytes_ as ASCII, and refuses anything else.
        for (let i = 0; i < Math.min(value.length, row.itemsize); i++) {
          const code = value.charCodeAt(i);
          if (code > 127)
            throw memmapError(
              'ERR_MEMMAP_INVALID_ARG',
              `value ${show(value)} cannot be stored in dtype ${row.code}: only ASCII text (or a Uint8Array) fits bytes`,
            );
          out[i] = code;
        }
        return out;
      }
      if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
        const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
        out.set(bytes.subarray(0, row.itemsize)); // numpy truncates longer values
        return out;
      }
      return wrongKind(value, row, trim ? 'a Uint8Array or an ASCII string' : 'a Uint8Array');
    },
    laneAccess(typed, row) {
      const bytes = typed as Uint8Array;
      return {
        read: (at) => read(bytes.subarray(at, at + row.itemsize)),
        write: (at, value) => bytes.set(value as Uint8Array, at),
      };
    },
    viewRead: (view, at, _little, row) => read(new Uint8Array(view.buffer, view.byteOffset + at, row.itemsize)),
    viewWrite: (view, at, value) =>
      new Uint8Array(view.buffer, view.byteOffset + at, (value as Uint8Array).length).set(value as Uint8Array),
  };
}

/** Unicode `U<n>`: n UTF-32 code units (4-byte lanes), trailing NULs trimmed on read. */
const unicode: Codec = {
  lanes: 0,
  fillsLanes: false,
  fromLanes: () => '',
  coerce(value, row) {
    if (typeof value !== 'string') return wrongKind(value, row, 'a string');
    const units = new Uint32Array(row.itemsize / 4);
    let i = 0;
    for (const ch of value) {
      if (i === units.length) break; // numpy truncates longer strings
      units[i++] = ch.codePointAt(0)!;
    }
    return units;
  },
  laneAccess(typed, row) {
    const units = typed as Uint32Array;
    const n = row.itemsize / 4;
    return {
      read: (at) => codePointsToString(units.subarray(at, at + n)),
      write: (at, value) => units.set(value as Uint32Array, at),
    };
  },
  viewRead(view, at, little, row) {
    const n = row.itemsize / 4;
    const units = new Uint32Array(n);
    for (let k = 0; k < n; k++) units[k] = view.getUint32(at + 4 * k, little);
    return codePointsToString(units);
  },
  viewWrite(view, at, value, little) {
    (value as Uint32Array).forEach((unit, k) => view.setUint32(at + 4 * k, unit, little));
  },
};

function codePointsToString(units: Uint32Array): string {
  let end = units.length;
  while (end > 0 && units[end - 1] === 0) end--;
  let out = '';
  for (let k = 0; k < end; k++) out += String.fromCodePoint(Math.min(units[k], 0x10ffff));
  return out;
}

/** numpy's NaT: the smallest int64. */
export const NAT = -(2n ** 63n);

/** datetime64/timedelta64: int64 counts of their unit; 'NaT' is accepted on write. */
const timelike: Codec = {
  lanes: 1,
  fillsLanes: true,
  fromLanes: (lane) => lane,
  coerce(value, row) {
    if (value === 'NaT') return [NAT, 0n];
    const big = toIntegerBigInt(value, row);
    if (big < NAT || big > 2n ** 63n - 1n) outOfRange(value, row);
    return [big, 0n];
  },
  laneAccess: plainLanes,
  viewRead: (view, at, little) => view.getBigInt64(at, little),
  viewWrite: (view, at, value, little) => view.setBigInt64(at, (value as [Lane, Lane])[0] as bigint, little),
};

const BYTES = bytesCodec(true);
const VOID = bytesCodec(false);
export const TIME_UNITS = ['Y', 'M', 'W', 'D', 'h', 'm', 's', 'ms', 'us', 'ns', 'ps', 'fs', 'as'] as const;

const parametricRows = new Map<string, DTypeRow>();

/** The row for a parametric code (`'S5'`, `'U3'`, `'V8'`, `'M8[ns]'`, `'m8[h]'`), made once. */
function parametricRow(code: string): DTypeRow | undefined {
  let found = parametricRows.get(code);
  if (found !== undefined) return found;
  const sized = /^([SUV])(\d+)$/.exec(code);
  const timed = /^([Mm])8\[(Y|M|W|D|h|m|s|ms|us|ns|ps|fs|as)\]$/.exec(code);
  const base = { min: undefined, max: undefined, getLane: 'getUint8' as LaneGetter, setLane: 'setUint8' as LaneSetter };
  if (sized !== null && Number(sized[2]) > 0) {
    const n = Number(sized[2]);
    const kind = sized[1] as 'S' | 'U' | 'V';
    const unicodeKind = kind === 'U';
    found = Object.freeze({
      ...base,
      name: null,
      kind,
      code,
      itemsize: unicodeKind ? 4 * n : n,
      lanes: n,
      orderless: !unicodeKind,
      TypedArray: unicodeKind ? Uint32Array : Uint8Array,
      codec: kind === 'S' ? BYTES : kind === 'V' ? VOID : unicode,
    });
  } else if (timed !== null) {
    const kind = timed[1] as 'M' | 'm';
    found = Object.freeze({
      ...base,
      name: `${kind === 'M' ? 'datetime64' : 'timedelta64'}[${timed[2]}]`,
      kind,
      code,
      itemsize: 8,
      lanes: 1,
      orderless: false,
      TypedArray: BigInt64Array,
      codec: timelike,
      getLane: 'getBigInt64',
      setLane: 'setBigInt64',
      min: NAT,
      max: 2n ** 63n - 1n,
    });
  }
  if (found !== undefined) parametricRows.set(code, found);
  return found;
}

/** The row for any code: the numeric table, or a parametric row. */
function rowFor(code: string): DTypeRow | undefined {
  return DTYPE_ROWS[code] ?? parametricRow(code);
}

const int = (bits: number): [bigint, bigint] => [-(2n ** BigInt(bits - 1)), 2n ** BigInt(bits - 1) - 1n];
const uint = (bits: number): [bigint, bigint] => [0n, 2n ** BigInt(bits) - 1n];

/** The table. Keyed by numpy's kind + itemsize code (`'f4'`). */
export const DTYPE_ROWS: Readonly<Record<string, DTypeRow>> = Object.freeze({
  b1: row('bool', 'b', 1, Uint8Array, boolean, 'Uint8'),
  i1: row('int8', 'i', 1, Int8Array, integer, 'Int8', int(8)),
  u1: row('uint8', 'u', 1, Uint8Array, integer, 'Uint8', uint(8)),
  i2: row('int16', 'i', 2, Int16Array, integer, 'Int16', int(16)),
  u2: row('uint16', 'u', 2, Uint16Array, integer, 'Uint16', uint(16)),
  i4: row('int32', 'i', 4, Int32Array, integer, 'Int32', int(32)),
  u4: row('uint32', 'u', 4, Uint32Array, integer, 'Uint32', uint(32)),
  i8: row('int64', 'i', 8, BigInt64Array, bigInteger, 'BigInt64', int(64)),
  u8: row('uint64', 'u', 8, BigUint64Array, bigInteger, 'BigUint64', uint(64)),
  // Node 20 has no Float16Array: data is the raw bits, get/set convert.
  f2: row('float16', 'f', 2, Uint16Array, half, 'Uint16'),
  f4: row('float32', 'f', 4, Float32Array, float, 'Float32'),
  f8: row('float64', 'f', 8, Float64Array, float, 'Float64'),
  c8: row('complex64', 'c', 8, Float32Array, complex, 'Float32'),
  c16: row('complex128', 'c', 16, Float64Array, complex, 'Float64'),
});

/** numpy's names (no byte-order prefix allowed), to a table key. */
const NAMES: Readonly<Record<string, string>> = {
  bool: 'b1',
  bool_: 'b1',
  int8: 'i1',
  byte: 'i1',
  uint8: 'u1',
  ubyte: 'u1',
  int16: 'i2',
  short: 'i2',
  uint16: 'u2',
  ushort: 'u2',
  int32: 'i4',
  intc: 'i4',
  uint32: 'u4',
  uintc: 'u4',
  int64: 'i8',
  int: 'i8',
  intp: 'i8',
  long: 'i8',
  longlong: 'i8',
  uint64: 'u8',
  uint: 'u8',
  uintp: 'u8',
  ulong: 'u8',
  ulonglong: 'u8',
  float16: 'f2',
  half: 'f2',
  float32: 'f4',
  single: 'f4',
  float64: 'f8',
  double: 'f8',
  float: 'f8',
  complex64: 'c8',
  csingle: 'c8',
  complex128: 'c16',
  cdouble: 'c16',
  complex: 'c16',
};

/** numpy's one-character type codes (a byte-order prefix is allowed). */
const CHARS: Readonly<Record<string, string>> = {
  '?': 'b1',
  b: 'i1',
  B: 'u1',
  h: 'i2',
  H: 'u2',
  i: 'i4',
  I: 'u4',
  l: 'i8',
  L: 'u8',
  q: 'i8',
  Q: 'u8',
  p: 'i8',
  P: 'u8',
  e: 'f2',
  f: 'f4',
  d: 'f8',
  F: 'c8',
  D: 'c16',
};

const TYPED_ARRAY_KEYS = new Map<unknown, string>([
  [Int8Array, 'i1'],
  [Uint8Array, 'u1'],
  [Int16Array, 'i2'],
  [Uint16Array, 'u2'],
  [Int32Array, 'i4'],
  [Uint32Array, 'u4'],
  [BigInt64Array, 'i8'],
  [BigUint64Array, 'u8'],
  [Float32Array, 'f4'],
  [Float64Array, 'f8'],
]);

export const NATIVE_LITTLE_ENDIAN = endianness() === 'LE';

/** A dtype: a table row and the byte order of the data on disk. */
export class DType {
  /** numpy's `str(dtype)`: `'float32'`, or `'>f4'` for non-native order. */
  readonly str: string;
  /** numpy's `dtype.str` (also the `.npy` descr): `'<f4'`, `'|u1'`. */
  readonly descr: string;
  readonly itemsize: number;
  /** Whether the bytes are in this machine's order (so `data` can show them). */
  readonly native: boolean;

  private constructor(
    readonly row: DTypeRow,
    readonly littleEndian: boolean,
  ) {
    this.itemsize = row.itemsize;
    this.native = row.orderless || littleEndian === NATIVE_LITTLE_ENDIAN;
    this.descr = `${row.orderless ? '|' : littleEndian ? '<' : '>'}${row.code}`;
    this.str = this.native && row.name !== null ? row.name : this.descr;
    Object.freeze(this);
  }

  private static readonly cache = new Map<string, DType>();

  /** @internal A dtype over a row made elsewhere (record dtypes: ts/structured.ts). */
  static fromRow(row: DTypeRow, littleEndian: boolean): DType {
    return new DType(row, littleEndian);
  }

  /** A record dtype's fields, in order; null for other dtypes. */
  get fields(): readonly Field[] | null {
    return this.row.fields ?? null;
  }

  /** The dtype for table key `key` (`'f4'`) in the given byte order. */
  static of(key: string, littleEndian: boolean = NATIVE_LITTLE_ENDIAN): DType {
    const row = rowFor(key);
    if (row === undefined) throw memmapError('ERR_MEMMAP_INVALID_DTYPE', `no dtype ${show(key)}`);
    const little = row.orderless ? NATIVE_LITTLE_ENDIAN : littleEndian;
    const id = `${key}${little ? '<' : '>'}`;
    let dtype = DType.cache.get(id);
    if (dtype === undefined) {
      dtype = new DType(row, little);
      DType.cache.set(id, dtype);
    }
    return dtype;
  }

  toString(): string {
    return this.str;
  }
}

/** One field of a structured dtype in list form: `[name, format]` or `[name, format, shape]`; name may be `[title, name]`. */
export type FieldSpec =
  | readonly [name: string | readonly [title: string, name: string], format: DTypeLike]
  | readonly [
      name: string | readonly [title: string, name: string],
      format: DTypeLike,
      shape: number | readonly number[],
    ];

/** numpy's dict form of a structured dtype. */
export interface StructuredDict {
  readonly names: readonly string[];
  /** A format, or `[format, shape]` for a sub-array field. */
  readonly formats: readonly (DTypeLike | readonly [DTypeLike, number | readonly number[]])[];
  readonly offsets?: readonly number[];
  readonly titles?: readonly (string | null)[];
  readonly itemsize?: number;
  /** numpy's `align=True`: fields padded to their alignment. */
  readonly aligned?: boolean;
}

/** Anything `dtype` accepts: a numpy spelling, a TypedArray constructor, a DType, or a structured dtype (list or dict form). */
export type DTypeLike =
  | string
  | DType
  | TypedArrayConstructor
  | readonly FieldSpec[]
  | StructuredDict
  | { readonly fields: readonly FieldSpec[]; readonly align?: boolean };

const SPELLING = /^([<>=|]?)([a-zA-Z?])(\d*)$/;

/** Parses any numpy spelling of a numeric dtype, or a TypedArray constructor. */
export function parseDType(spec: unknown, argument = 'dtype'): DType {
  if (spec instanceof DType) return spec;
  if (typeof spec === 'function') {
    const key = TYPED_ARRAY_KEYS.get(spec) ?? typedArrayKeyByName(spec.name);
    if (key !== undefined) return DType.of(key);
    throw memmapError(
      'ERR_MEMMAP_INVALID_DTYPE',
      `${argument} ${show(spec)} is not a TypedArray constructor memmap knows (Int8Array ... Float64Array)`,
    );
  }
  const structured = parseStructured(spec, argument);
  if (structured !== undefined) return structured;
  if (typeof spec !== 'string') {
    throw memmapError(
      'ERR_MEMMAP_INVALID_DTYPE',
      `${argument} must be a string such as 'float32' or '<f4', a TypedArray constructor, or a structured dtype ([[name, format], ...] or { names, formats }); got ${show(spec)}`,
    );
  }
  const named = NAMES[spec];
  if (named !== undefined) return DType.of(named);
  // Bytes, unicode, void: S5 / a5 / |S5, U3 / <U3 / >U3, V8; datetime64 and
  // timedelta64 with a unit: M8[ns], <m8[s], datetime64[ms], timedelta64[h].
  const sized = /^([<>=|]?)([SaUV])(\d+)$/.exec(spec);
  if (sized !== null && Number(sized[3]) > 0) {
    return DType.of(
      `${sized[2] === 'a' ? 'S' : sized[2]}${Number(sized[3])}`,
      sized[1] === '<' ? true : sized[1] === '>' ? false : NATIVE_LITTLE_ENDIAN,
    );
  }
  const timed = /^(?:([<>=|]?)([Mm])8|(datetime64|timedelta64))\[(\w+)\]$/.exec(spec);
  if (timed !== null && (TIME_UNITS as readonly string[]).includes(timed[4])) {
    const kind = timed[2] ?? (timed[3] === 'datetime64' ? 'M' : 'm');
    return DType.of(`${kind}8[${timed[4]}]`, timed[1] === '<' ? true : timed[1] === '>' ? false : NATIVE_LITTLE_ENDIAN);
  }
  const match = SPELLING.exec(spec);
  if (match !== null) {
    const [, order, char, size] = match;
    const key = size === '' ? CHARS[char] : keyOf(char, size);
    if (key !== undefined && DTYPE_ROWS[key] !== undefined) {
      const little = order === '<' ? true : order === '>' ? false : NATIVE_LITTLE_ENDIAN;
      return DType.of(key, little);
    }
  }
  throw memmapError(
    'ERR_MEMMAP_INVALID_DTYPE',
    `${argument} ${show(spec)} is not a data type memmap understands (numeric dtypes such as 'float32', 'f4', '>i2', 'bool', 'complex64')`,
  );
}

/** `'f'` + `'4'` → `'f4'`; `'?'`/`'b'` + `'1'` → `'b1'` (numpy accepts both). */
function keyOf(char: string, size: string): string | undefined {
  const kind = char === '?' ? 'b' : char;
  return 'biufc'.includes(kind) ? `${kind}${size}` : undefined;
}

/** Across jest realms a constructor is not `===` ours: match by name. */
function typedArrayKeyByName(name: string): string | undefined {
  for (const [ctor, key] of TYPED_ARRAY_KEYS) {
    if ((ctor as { name: string }).name === name) return key;
  }
  return undefined;
}

/** Reads and writes one element of `dtype` through a DataView at byte `at`: the codec's own, or numeric lanes. */
export function elementView(dtype: DType): {
  read(view: DataView, at: number): Scalar;
  write(view: DataView, at: number, value: Coerced): void;
} {
  const { row, littleEndian } = dtype;
  const { codec } = row;
  if (codec.viewRead !== undefined && codec.viewWrite !== undefined) {
    const [read, write] = [codec.viewRead, codec.viewWrite];
    return {
      read: (view, at) => read(view, at, littleEndian, row),
      write: (view, at, value) => write(view, at, value, littleEndian, row),
    };
  }
  const half = row.itemsize / 2;
  type Reader = (at: number, little: boolean) => number | bigint;
  type Writer = (at: number, value: number | bigint, little: boolean) => void;
  return {
    read(view, at) {
      const get = (view as unknown as Record<string, Reader>)[row.getLane];
      return codec.fromLanes(
        get.call(view, at, littleEndian),
        codec.lanes === 2 ? get.call(view, at + half, littleEndian) : 0,
      );
    },
    write(view, at, value) {
      const [lane0, lane1] = value as [number | bigint, number | bigint];
      const set = (view as unknown as Record<string, Writer>)[row.setLane];
      set.call(view, at, lane0, littleEndian);
      if (codec.lanes === 2) set.call(view, at + half, lane1, littleEndian);
    },
  };
}

/**
 * The dtype table: the single source of dtype facts (numpy name, kind,
 * itemsize, TypedArray, how a value is read and written). numpy's spellings
 * are an alias table beside it. A new dtype is a new row, never a new `case`.
 */
import { endianness } from 'node:os';
import { memmapError, show } from './errors';
import { floatToHalf, halfToFloat } from './float16';

/** A complex number as get()/toArray() give it. */
export interface Complex {
  re: number;
  im: number;
}

/** One element's value: bigint for 64-bit integers, boolean for bool. */
export type Scalar = number | bigint | boolean | Complex;

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
type LaneGetter = 'getInt8' | 'getUint8' | 'getInt16' | 'getUint16' | 'getInt32' | 'getUint32' | 'getBigInt64' | 'getBigUint64' | 'getFloat32' | 'getFloat64';
type LaneSetter = 'setInt8' | 'setUint8' | 'setInt16' | 'setUint16' | 'setInt32' | 'setUint32' | 'setBigInt64' | 'setBigUint64' | 'setFloat32' | 'setFloat64';

/**
 * How one kind of value maps to the lanes of a TypedArray: `lanes` values per
 * element (2 for complex). `coerce` checks a JS value and turns it into lane
 * values once, so fill() checks once and writes many times.
 */
interface Codec {
  lanes: number;
  fromLanes(lane0: Lane, lane1: Lane): Scalar;
  coerce(value: unknown, row: DTypeRow): [Lane, Lane];
  /** Element read/write closures over one TypedArray (`at` is a lane index). */
  laneAccess(lanes: AnyTypedArray): LaneAccess;
}

export interface LaneAccess {
  read(at: number): Scalar;
  write(at: number, lanes: [Lane, Lane]): void;
}

type LaneArray = { [at: number]: Lane };

/** One lane per element, read as is (ints, floats). */
function plainLanes(typed: AnyTypedArray): LaneAccess {
  const lanes = typed as unknown as LaneArray;
  return {
    read: (at) => lanes[at] as number | bigint,
    write: (at, value) => {
      lanes[at] = value[0];
    },
  };
}

export interface DTypeRow {
  /** numpy's name for the native-order dtype (`str(np.dtype('f4'))`). */
  readonly name: string;
  /** numpy's kind character: b, i, u, f, c. */
  readonly kind: 'b' | 'i' | 'u' | 'f' | 'c';
  readonly itemsize: number;
  /** The TypedArray over the element's lanes (what `data` returns). */
  readonly TypedArray: TypedArrayConstructor;
  readonly codec: Codec;
  readonly getLane: LaneGetter;
  readonly setLane: LaneSetter;
  /** Integer range (for checks on write); absent for floats. */
  readonly min?: bigint;
  readonly max?: bigint;
}

function outOfRange(value: unknown, row: DTypeRow): never {
  throw memmapError('ERR_MEMMAP_VALUE_OUT_OF_RANGE', `value ${show(value)} is out of range for dtype ${row.name} (${row.min} to ${row.max})`);
}

function wrongKind(value: unknown, row: DTypeRow, expected: string): never {
  throw memmapError('ERR_MEMMAP_INVALID_ARG', `value ${show(value)} cannot be stored in dtype ${row.name}: expected ${expected}`);
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
        lanes[at] = value[0] as number;
      },
    };
  },
  coerce: (value, row) => [floatToHalf(toFloat(value, row)), 0],
};

const boolean: Codec = {
  lanes: 1,
  fromLanes: (lane) => lane !== 0,
  laneAccess(typed) {
    const lanes = typed as unknown as number[];
    return {
      read: (at) => lanes[at] !== 0,
      write: (at, value) => {
        lanes[at] = value[0] as number;
      },
    };
  },
  coerce(value, row) {
    if (typeof value === 'boolean') return [value ? 1 : 0, 0];
    if (typeof value === 'number' || typeof value === 'bigint') return [value ? 1 : 0, 0];
    return wrongKind(value, row, 'a boolean or number');
  },
};

const complex: Codec = {
  lanes: 2,
  fromLanes: (re, im) => ({ re: re as number, im: im as number }),
  laneAccess(typed) {
    const lanes = typed as unknown as number[];
    return {
      read: (at) => ({ re: lanes[at], im: lanes[at + 1] }),
      write: (at, value) => {
        lanes[at] = value[0] as number;
        lanes[at + 1] = value[1] as number;
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
    itemsize,
    TypedArray,
    codec,
    getLane: `get${lane}` as LaneGetter,
    setLane: `set${lane}` as LaneSetter,
    min: range?.[0],
    max: range?.[1],
  });
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
  bool: 'b1', bool_: 'b1',
  int8: 'i1', byte: 'i1', uint8: 'u1', ubyte: 'u1',
  int16: 'i2', short: 'i2', uint16: 'u2', ushort: 'u2',
  int32: 'i4', intc: 'i4', uint32: 'u4', uintc: 'u4',
  int64: 'i8', int: 'i8', intp: 'i8', long: 'i8', longlong: 'i8',
  uint64: 'u8', uint: 'u8', uintp: 'u8', ulong: 'u8', ulonglong: 'u8',
  float16: 'f2', half: 'f2', float32: 'f4', single: 'f4', float64: 'f8', double: 'f8', float: 'f8',
  complex64: 'c8', csingle: 'c8', complex128: 'c16', cdouble: 'c16', complex: 'c16',
};

/** numpy's one-character type codes (a byte-order prefix is allowed). */
const CHARS: Readonly<Record<string, string>> = {
  '?': 'b1', b: 'i1', B: 'u1', h: 'i2', H: 'u2', i: 'i4', I: 'u4',
  l: 'i8', L: 'u8', q: 'i8', Q: 'u8', p: 'i8', P: 'u8',
  e: 'f2', f: 'f4', d: 'f8', F: 'c8', D: 'c16',
};

const TYPED_ARRAY_KEYS = new Map<unknown, string>([
  [Int8Array, 'i1'], [Uint8Array, 'u1'], [Int16Array, 'i2'], [Uint16Array, 'u2'],
  [Int32Array, 'i4'], [Uint32Array, 'u4'], [BigInt64Array, 'i8'], [BigUint64Array, 'u8'],
  [Float32Array, 'f4'], [Float64Array, 'f8'],
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

  private constructor(readonly row: DTypeRow, readonly littleEndian: boolean) {
    this.itemsize = row.itemsize;
    const single = row.itemsize === 1;
    this.native = single || littleEndian === NATIVE_LITTLE_ENDIAN;
    const code = `${row.kind}${row.itemsize}`;
    this.descr = `${single ? '|' : littleEndian ? '<' : '>'}${code}`;
    this.str = this.native ? row.name : this.descr;
    Object.freeze(this);
  }

  private static readonly cache = new Map<string, DType>();

  /** The dtype for table key `key` (`'f4'`) in the given byte order. */
  static of(key: string, littleEndian: boolean = NATIVE_LITTLE_ENDIAN): DType {
    const row = DTYPE_ROWS[key];
    const little = row.itemsize === 1 ? NATIVE_LITTLE_ENDIAN : littleEndian;
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

/** Anything `dtype` accepts: a numpy spelling, a TypedArray constructor, a DType. */
export type DTypeLike = string | DType | TypedArrayConstructor;

const SPELLING = /^([<>=|]?)([a-zA-Z?])(\d*)$/;

/** Parses any numpy spelling of a numeric dtype, or a TypedArray constructor. */
export function parseDType(spec: unknown, argument = 'dtype'): DType {
  if (spec instanceof DType) return spec;
  if (typeof spec === 'function') {
    const key = TYPED_ARRAY_KEYS.get(spec) ?? typedArrayKeyByName(spec.name);
    if (key !== undefined) return DType.of(key);
    throw memmapError('ERR_MEMMAP_INVALID_DTYPE', `${argument} ${show(spec)} is not a TypedArray constructor memmap knows (Int8Array ... Float64Array)`);
  }
  if (typeof spec !== 'string') {
    throw memmapError('ERR_MEMMAP_INVALID_DTYPE', `${argument} must be a string such as 'float32' or '<f4', or a TypedArray constructor; got ${show(spec)}`);
  }
  const named = NAMES[spec];
  if (named !== undefined) return DType.of(named);
  const match = SPELLING.exec(spec);
  if (match !== null) {
    const [, order, char, size] = match;
    const key = size === '' ? CHARS[char] : keyOf(char, size);
    if (key !== undefined && DTYPE_ROWS[key] !== undefined) {
      const little = order === '<' ? true : order === '>' ? false : NATIVE_LITTLE_ENDIAN;
      return DType.of(key, little);
    }
  }
  throw memmapError('ERR_MEMMAP_INVALID_DTYPE', `${argument} ${show(spec)} is not a data type memmap understands (numeric dtypes such as 'float32', 'f4', '>i2', 'bool', 'complex64')`);
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

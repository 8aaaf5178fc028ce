/**
 * The dtype table: one row per dtype, every fact about it a column (numpy's
 * name and kind, itemsize, alignment, TypedArray, codec, the element kind the
 * native reductions read, the float width the repr rounds to, integer range).
 * A new dtype is a new row, never a new `case`. Parametric dtypes (`S<n>`,
 * `U<n>`, `V<n>`, `M8[unit]`, `m8[unit]`, `M8[10s]`) get rows made on demand.
 */
import { memmapError, show } from '../errors';
import { floatToHalf, halfToFloat } from '../float16';
import { BYTES, bigInteger, boolean, complex, float, half, integer, timelike, unicode, VOID } from './codecs';
import {
  Codec,
  DType,
  DTypeRow,
  ElementKind,
  LaneGetter,
  LaneSetter,
  NAT,
  NATIVE_LITTLE_ENDIAN,
  Scalar,
  TypedArrayConstructor,
} from './dtype';
import type { NumericCode, NumericTypes, TimeUnit } from './types';

const asFloat32 = Math.fround;
const asFloat16 = (value: number): number => halfToFloat(floatToHalf(value));
const asFloat64 = (value: number): number => value;

/** A numeric row whose name, kind, TypedArray and codec keep their literal types (checked against NumericTypes). */
type TypedRow<Name, K, A, V extends Scalar> = DTypeRow & { name: Name; kind: K; TypedArray: A; codec: Codec<V> };

function row<Name extends string, K extends DTypeRow['kind'], A extends TypedArrayConstructor, V extends Scalar>(
  name: Name,
  kind: K,
  itemsize: number,
  TypedArray: A,
  codec: Codec<V>,
  lane: string,
  extra: { range?: [bigint, bigint]; roundTrip?: (value: number) => number; precision?: number },
): TypedRow<Name, K, A, V> {
  return Object.freeze({
    name,
    kind,
    code: `${kind}${itemsize}`,
    itemsize,
    // numpy aligns complex to its parts, everything numeric else to its size.
    alignment: kind === 'c' ? itemsize / 2 : itemsize,
    lanes: codec.lanes,
    orderless: itemsize === 1,
    TypedArray,
    codec,
    getLane: `get${lane}` as LaneGetter,
    setLane: `set${lane}` as LaneSetter,
    element: `${kind}${itemsize}` as ElementKind,
    roundTrip: extra.roundTrip ?? null,
    precision: extra.precision ?? null,
    min: extra.range?.[0],
    max: extra.range?.[1],
  });
}

const int = (bits: number): { range: [bigint, bigint] } => ({
  range: [-(2n ** BigInt(bits - 1)), 2n ** BigInt(bits - 1) - 1n],
});
const uint = (bits: number): { range: [bigint, bigint] } => ({ range: [0n, 2n ** BigInt(bits) - 1n] });

/**
 * What the type-level table (types.ts) says each row is: the compiler checks
 * the rows below against it, so a row and its types cannot disagree (a
 * missing or extra code, another name, kind, TypedArray or value type is a
 * compile error).
 */
type RowsOfTypes = {
  readonly [C in NumericCode]: TypedRow<
    NumericTypes[C]['name'],
    NumericTypes[C]['kind'],
    abstract new (...args: never[]) => NumericTypes[C]['data'],
    NumericTypes[C]['value']
  >;
};

/** The table. Keyed by numpy's kind + itemsize code (`'f4'`). */
export const DTYPE_ROWS: Readonly<Record<string, DTypeRow>> = Object.freeze({
  b1: row('bool', 'b', 1, Uint8Array, boolean, 'Uint8', {}),
  i1: row('int8', 'i', 1, Int8Array, integer, 'Int8', int(8)),
  u1: row('uint8', 'u', 1, Uint8Array, integer, 'Uint8', uint(8)),
  i2: row('int16', 'i', 2, Int16Array, integer, 'Int16', int(16)),
  u2: row('uint16', 'u', 2, Uint16Array, integer, 'Uint16', uint(16)),
  i4: row('int32', 'i', 4, Int32Array, integer, 'Int32', int(32)),
  u4: row('uint32', 'u', 4, Uint32Array, integer, 'Uint32', uint(32)),
  i8: row('int64', 'i', 8, BigInt64Array, bigInteger, 'BigInt64', int(64)),
  u8: row('uint64', 'u', 8, BigUint64Array, bigInteger, 'BigUint64', uint(64)),
  // Node 20 has no Float16Array: data is the raw bits, get/set convert.
  f2: row('float16', 'f', 2, Uint16Array, half, 'Uint16', { roundTrip: asFloat16, precision: 3 }),
  f4: row('float32', 'f', 4, Float32Array, float, 'Float32', { roundTrip: asFloat32, precision: 6 }),
  f8: row('float64', 'f', 8, Float64Array, float, 'Float64', { roundTrip: asFloat64, precision: 15 }),
  c8: row('complex64', 'c', 8, Float32Array, complex, 'Float32', { roundTrip: asFloat32, precision: 6 }),
  c16: row('complex128', 'c', 16, Float64Array, complex, 'Float64', { roundTrip: asFloat64, precision: 15 }),
} satisfies RowsOfTypes);

export const TIME_UNITS = [
  'Y',
  'M',
  'W',
  'D',
  'h',
  'm',
  's',
  'ms',
  'us',
  'ns',
  'ps',
  'fs',
  'as',
] as const satisfies readonly TimeUnit[];

/** numpy's largest itemsize (a C int): `np.dtype('S2147483648')` is "not understood". */
export const MAX_ITEMSIZE = 2 ** 31 - 1;

/**
 * Made rows and dtypes are kept for reuse, but only so many: a program that
 * meets a million distinct `S<n>` widths must not keep a million rows.
 */
const CACHE_LIMIT = 1024;

function remember<V>(cache: Map<string, V>, key: string, value: V): V {
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(key, value);
  return value;
}

const parametricRows = new Map<string, DTypeRow>();

/** The row for a parametric code (`'S5'`, `'U3'`, `'V8'`, `'M8[ns]'`, `'m8[h]'`), made on demand. */
function parametricRow(code: string): DTypeRow | undefined {
  const known = parametricRows.get(code);
  if (known !== undefined) return known;
  const sized = /^([SUV])([1-9]\d*)$/.exec(code);
  const timed = /^([Mm])8\[((?:[2-9]|[1-9]\d+)?)(Y|M|W|D|h|m|s|ms|us|ns|ps|fs|as)\]$/.exec(code);
  const base = {
    min: undefined,
    max: undefined,
    getLane: 'getUint8' as LaneGetter,
    setLane: 'setUint8' as LaneSetter,
    element: null,
    roundTrip: null,
    precision: null,
  };
  if (sized !== null) {
    const n = Number(sized[2]);
    const kind = sized[1] as 'S' | 'U' | 'V';
    const unicodeKind = kind === 'U';
    const itemsize = unicodeKind ? 4 * n : n;
    if (!Number.isSafeInteger(n) || itemsize > MAX_ITEMSIZE) {
      throw memmapError(
        'ERR_MEMMAP_INVALID_DTYPE',
        `dtype ${show(code)} is too large: numpy's itemsize is at most ${MAX_ITEMSIZE} bytes`,
      );
    }
    return remember(
      parametricRows,
      code,
      Object.freeze({
        ...base,
        name: null,
        kind,
        code,
        itemsize,
        alignment: unicodeKind ? 4 : 1,
        lanes: n,
        orderless: !unicodeKind,
        TypedArray: unicodeKind ? Uint32Array : Uint8Array,
        codec: kind === 'S' ? BYTES : kind === 'V' ? VOID : unicode,
      }),
    );
  }
  if (timed !== null) {
    const kind = timed[1] as 'M' | 'm';
    return remember(
      parametricRows,
      code,
      Object.freeze({
        ...base,
        name: `${kind === 'M' ? 'datetime64' : 'timedelta64'}[${timed[2]}${timed[3]}]`,
        kind,
        code,
        itemsize: 8,
        alignment: 8,
        lanes: 1,
        orderless: false,
        TypedArray: BigInt64Array,
        codec: timelike,
        getLane: 'getBigInt64',
        setLane: 'setBigInt64',
        unit: timed[3] as TimeUnit,
        multiple: timed[2] === '' ? 1 : Number(timed[2]),
        // Reduced as the int64 counts they are; NaT rules are the caller's (ts/reduce.ts).
        element: 'i8',
        min: NAT,
        max: 2n ** 63n - 1n,
      }),
    );
  }
  return undefined;
}

const dtypes = new Map<string, DType>();

/** The dtype for table code `code` (`'f4'`, `'S5'`, `'M8[ns]'`) in the given byte order. */
export function dtypeOf(code: string, littleEndian: boolean = NATIVE_LITTLE_ENDIAN): DType {
  const row = DTYPE_ROWS[code] ?? parametricRow(code);
  if (row === undefined) throw memmapError('ERR_MEMMAP_INVALID_DTYPE', `no dtype ${show(code)}`);
  const little = row.orderless ? NATIVE_LITTLE_ENDIAN : littleEndian;
  const id = `${code}${little ? '<' : '>'}`;
  return dtypes.get(id) ?? remember(dtypes, id, new DType(row, little));
}

/** @internal For tests: how many made rows and dtypes are cached now. */
export function cachedCounts(): { rows: number; dtypes: number } {
  return { rows: parametricRows.size, dtypes: dtypes.size };
}

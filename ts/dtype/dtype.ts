/**
 * What a dtype is: one row of the dtype table (every fact about one kind of
 * element) and a byte order. This module holds the shapes of those facts and
 * the DType class; the rows themselves are in table.ts, how values meet bytes
 * in codecs.ts, records in records.ts, numpy's spellings in parse.ts. The
 * modules import each other in that order only (no cycles).
 */
import { endianness } from 'node:os';
import { memmapError, show } from '../errors';
import type { DTypeStr, DTypeTag, TimeUnit } from './types';

/**
 * A complex number as get()/toArray() give it.
 *
 * @example
 * const z = memmap('z.bin', { dtype: 'complex64', mode: 'w+', shape: 1 });
 * const { re, im }: Complex = z.get(0);
 */
export interface Complex {
  /** The real part. */
  re: number;
  /** The imaginary part. */
  im: number;
}

/**
 * One element's value: bigint for 64-bit integers and datetime64/timedelta64
 * (in their unit), boolean for bool, `{ re, im }` for complex, a string for
 * unicode `U<n>`, a Uint8Array for bytes `S<n>` (trailing NULs trimmed, as
 * numpy does) and void `V<n>`, a plain object for a record.
 *
 * @example
 * const value: Scalar = memmap('a.bin', { dtype: someSpelling }).get(0); // a dtype known only at run time
 */
export type Scalar = number | bigint | boolean | Complex | string | Uint8Array | { [field: string]: unknown };

/**
 * The TypedArray constructors `dtype` accepts (each is the dtype of its elements).
 *
 * @example
 * memmap('a.bin', { dtype: Int16Array }); // Memmap<'int16', 1>
 */
export type TypedArrayConstructor =
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

/** One TypedArray lane's value. */
export type Lane = number | bigint;

export type LaneGetter =
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
export type LaneSetter =
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

/** What coerce() returns: opaque outside the codec that made it. */
export type Coerced = [Lane, Lane] | Uint8Array | Uint32Array;

export interface LaneAccess<V extends Scalar = Scalar> {
  read(at: number): V;
  write(at: number, value: Coerced): void;
}

/**
 * How one kind of value maps to the lanes of a TypedArray: `lanes` values per
 * element (2 for complex). `coerce` checks a JS value and turns it into lane
 * values once, so fill() checks once and writes many times.
 */
export interface Codec<V extends Scalar = Scalar> {
  /** TypedArray lanes per element, when fixed by the codec (numeric kinds); else the row's. */
  lanes: number;
  /** The value of one element (`V` is what get() gives: the type-level table checks it, ts/dtype/types.ts). */
  fromLanes(lane0: Lane, lane1: Lane): V;
  /** A checked value, ready to write: `[lane, lane]` for numeric kinds, bytes or code points otherwise. */
  coerce(value: unknown, row: DTypeRow): Coerced;
  /** Element read/write closures over one TypedArray (`at` is a lane index). */
  laneAccess(lanes: AnyTypedArray, row: DTypeRow): LaneAccess<V>;
  /** Reads/writes through a DataView at byte `at` in either byte order; absent: numeric lanes. */
  viewRead?(view: DataView, at: number, little: boolean, row: DTypeRow): V;
  viewWrite?(view: DataView, at: number, value: Coerced, little: boolean, row: DTypeRow): void;
  /** Whether `coerce()[0]` is one lane value that TypedArray.fill can spread. */
  fillsLanes: boolean;
}

/** numpy's kind characters. */
export type Kind = 'b' | 'i' | 'u' | 'f' | 'c' | 'S' | 'U' | 'V' | 'M' | 'm';

/**
 * How the native reductions read an element: numpy's kind + itemsize code of
 * the numeric dtype whose bytes it has (datetime64/timedelta64 reduce as the
 * int64 counts they are). The binding receives this, never a rebuilt string.
 */
export type ElementKind =
  'b1' | 'i1' | 'u1' | 'i2' | 'u2' | 'i4' | 'u4' | 'i8' | 'u8' | 'f2' | 'f4' | 'f8' | 'c8' | 'c16';

/** One row of the dtype table: every fact about one dtype (byte order aside). */
export interface DTypeRow {
  /** numpy's name for the native-order dtype (`str(np.dtype('f4'))`), or null where numpy prints the descr (`'|S5'`, `'<U3'`). */
  readonly name: string | null;
  readonly kind: Kind;
  /** numpy's type code without byte order: `'f4'`, `'S5'`, `'M8[ns]'`. */
  readonly code: string;
  readonly itemsize: number;
  /** numpy's alignment (what `align=True` pads a record field to). */
  readonly alignment: number;
  /** TypedArray lanes per element (2 for complex, n for `S<n>`/`U<n>`/`V<n>`). */
  readonly lanes: number;
  /** True when byte order does not apply (one-byte numbers, bytes, void). */
  readonly orderless: boolean;
  /** The TypedArray over the element's lanes (what `data` returns). */
  readonly TypedArray: TypedArrayConstructor;
  readonly codec: Codec;
  readonly getLane: LaneGetter;
  readonly setLane: LaneSetter;
  /** What the native reductions read the element as; null where numpy has no reduction (bytes, unicode, void, records). */
  readonly element: ElementKind | null;
  /**
   * For floating kinds (complex: each part), the value a number becomes when
   * stored in this dtype (`Math.fround` for float32): what the repr's
   * shortest round-tripping digits are measured against. Null otherwise.
   */
  readonly roundTrip: ((value: number) => number) | null;
  /** numpy's `finfo(dtype).precision` (decimal digits) for floating kinds (complex: each part); null otherwise. */
  readonly precision: number | null;
  /** Integer range (for checks on write); absent for floats. */
  readonly min?: bigint;
  readonly max?: bigint;
  /** datetime64/timedelta64: the unit (`'ns'` of `M8[ns]`), parsed from the code once, by the table (table.ts). */
  readonly unit?: TimeUnit;
  /** datetime64/timedelta64: how many of `unit` one count is (10 for `M8[10s]`; 1 for `M8[s]`). */
  readonly multiple?: number;
  /** Record dtypes: the fields and whether they were laid out with `align`. */
  readonly fields?: readonly Field[];
  readonly aligned?: boolean;
}

/**
 * One field of a record dtype.
 *
 * @example
 * memmap('a.bin', { dtype: [['x', '<f4'], ['v', '<f8', [3]]] }).dtypeObject.fields; // [{ name: 'x', offset: 0, shape: [], ... }, ...]
 */
export interface Field {
  /** The field's name. */
  readonly name: string;
  /** numpy's title of the field, null without one. */
  readonly title: string | null;
  /** The field's element dtype (for a sub-array field, its base). */
  readonly dtype: DType;
  /** Sub-array shape; `[]` for a scalar field. */
  readonly shape: readonly number[];
  /**
   * The sub-array shape as its spelling nested it, outermost first (their
   * concatenation is `shape`): numpy keeps `('c', ('<f8', (5,)), (2,))` apart
   * from `('c', '<f8', (2, 5))` in `str(dtype)` and `.npy` headers. `[]` for a
   * scalar field, `[shape]` for a plain sub-array.
   */
  readonly levels: readonly (readonly number[])[];
  /** Byte offset in the record. */
  readonly offset: number;
}

/**
 * A record value as get() gives it: a plain object keyed by field name.
 *
 * @example
 * const tick: RecordValue = memmap('t.bin', { dtype: recordDescriptor }).get(0) as RecordValue;
 */
export type RecordValue = { [field: string]: unknown };

/** numpy's NaT (not-a-time): the smallest int64, as numpy stores it. */
export const NAT = -(2n ** 63n);

export const NATIVE_LITTLE_ENDIAN = endianness() === 'LE';

/**
 * A dtype: what each element of an array is (numpy's `np.dtype`). `T` is its
 * tag at the type level (see {@link DTypeTag}); pass a DType as `dtype` to
 * make another array of the same dtype.
 *
 * @example
 * const a = memmap('a.f32', { dtype: 'float32', mode: 'w+', shape: 4 });
 * const b = memmap('b.f32', { dtype: a.dtypeObject, mode: 'w+', shape: 4 }); // Memmap<'float32', 1>
 * a.dtypeObject.itemsize; // 4
 */
export class DType<T extends DTypeTag = DTypeTag> {
  /**
   * numpy's `str(dtype)`: `'float32'`, or `'>f4'` for non-native order.
   *
   * @example
   * parseDType('<f4').str; // 'float32'
   */
  readonly str: DTypeStr<T>;
  /**
   * numpy's `dtype.str` (also the `.npy` descr): `'<f4'`, `'|u1'`.
   *
   * @example
   * parseDType('float32').descr; // '<f4'
   */
  readonly descr: string;
  /**
   * Bytes per element.
   *
   * @example
   * parseDType('complex128').itemsize; // 16
   */
  readonly itemsize: number;
  /**
   * Whether the bytes are in this machine's order (so `data` can show them).
   *
   * @example
   * parseDType('>f4').native; // false on a little-endian machine
   */
  readonly native: boolean;

  /** @internal Made by the table (table.ts) and the record layout (records.ts). */
  constructor(
    /** @internal */ readonly row: DTypeRow,
    /**
     * Whether the bytes are little-endian (this machine's order for one-byte dtypes).
     *
     * @example
     * parseDType('>i2').littleEndian; // false
     */
    readonly littleEndian: boolean,
  ) {
    if (typeof row !== 'object' || row === null || typeof row.code !== 'string' || typeof littleEndian !== 'boolean') {
      throw memmapError(
        'ERR_MEMMAP_INVALID_ARG',
        `a DType is not made with new: parseDType(spec) makes one (got new DType(${show(row)}, ${show(littleEndian)}))`,
      );
    }
    this.itemsize = row.itemsize;
    this.native = row.orderless || littleEndian === NATIVE_LITTLE_ENDIAN;
    this.descr = `${row.orderless ? '|' : littleEndian ? '<' : '>'}${row.code}`;
    this.str = (this.native && row.name !== null ? row.name : this.descr) as DTypeStr<T>;
    Object.freeze(this);
  }

  /**
   * A record dtype's fields, in order; null for other dtypes.
   *
   * @example
   * parseDType([['x', 'f4'], ['y', 'f4']]).fields?.map((f) => f.offset); // [0, 4]
   */
  get fields(): readonly Field[] | null {
    return this.row.fields ?? null;
  }

  /**
   * numpy's `str(dtype)`, as `String(dtype)` gives it.
   *
   * @example
   * String(parseDType('<f4')); // 'float32'
   */
  toString(): string {
    return this.str;
  }
}

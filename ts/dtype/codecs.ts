/**
 * Codecs: how each kind of value meets the bytes. A codec checks a JS value
 * once (`coerce`) and reads/writes elements through a TypedArray's lanes or a
 * DataView in either byte order. Rows of the table (table.ts) name their codec.
 */
import { checkAttached, memmapError, show } from '../errors';
import { floatToHalf, halfToFloat } from '../float16';
import { isTypedArray, typedBytes } from '../intrinsics';
import { datetimeCount } from '../timeunits';
import { AnyTypedArray, Codec, Coerced, Complex, DType, DTypeRow, Lane, LaneAccess, NAT, Scalar } from './dtype';

type LaneArray = { [at: number]: Lane };

/** One lane per element, read as is (ints, floats): `V` is the lane's type. */
function plainLanes<V extends Lane>(typed: AnyTypedArray): LaneAccess<V> {
  const lanes = typed as unknown as LaneArray;
  return {
    read: (at) => lanes[at] as V,
    write: (at, value) => {
      lanes[at] = (value as [Lane, Lane])[0];
    },
  };
}

function outOfRange(value: unknown, row: DTypeRow): never {
  throw memmapError(
    'ERR_MEMMAP_VALUE_OUT_OF_RANGE',
    `value ${show(value)} is out of range for dtype ${row.name} (${row.min} to ${row.max})`,
  );
}

/** numpy's names of the kinds whose rows have no name of their own (the itemsize is the dtype's). */
const FLEXIBLE_NAMES: Readonly<Record<string, string>> = { S: 'bytes', U: 'str', V: 'void' };

function wrongKind(value: unknown, row: DTypeRow, expected: string): never {
  throw memmapError(
    'ERR_MEMMAP_INVALID_ARG',
    `value ${show(value)} cannot be stored in dtype ${row.name ?? FLEXIBLE_NAMES[row.kind] ?? row.kind}: expected ${expected}`,
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

export const integer: Codec<number> = {
  lanes: 1,
  fillsLanes: true,
  fromLanes: (lane) => lane as number,
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

export const bigInteger: Codec<bigint> = {
  lanes: 1,
  fillsLanes: true,
  fromLanes: (lane) => lane as bigint,
  laneAccess: plainLanes,
  coerce(value, row) {
    const big = toIntegerBigInt(value, row);
    if (big < row.min! || big > row.max!) outOfRange(value, row);
    return [big, 0n];
  },
};

const EXACT = 2n ** 53n;
const INT64_MIN = -(2n ** 63n);
const UINT64_END = 2n ** 64n;

/**
 * A bigint as float32 rounds it once, as numpy's int64/uint64 to float32
 * cast does: `Number()` first would round to float64 and the store again
 * (2^60 + 2^36 + 1 became 2^60, where numpy gives 2^60 + 2^37). Past 2^53
 * the top 24 bits, the rounding bit and a sticky bit of everything below
 * are rounded by `Math.fround`, then scaled back (exact: a power of two).
 * A bigint past int64 and uint64 can only be numpy's Python int, which numpy
 * stores through a float64: rounded twice, as `Number()` then the store do.
 */
function bigintToFloat32(value: bigint): number {
  const magnitude = value < 0n ? -value : value;
  if (magnitude <= EXACT || value < INT64_MIN || value >= UINT64_END) return Number(value);
  const shift = BigInt(magnitude.toString(2).length - 26);
  let top = magnitude >> shift;
  if (top << shift !== magnitude) top |= 1n;
  const rounded = Math.fround(Number(top)) * 2 ** Number(shift);
  return value < 0n ? -rounded : rounded;
}

function toFloat(value: unknown, row: DTypeRow): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return row.TypedArray === Float32Array ? bigintToFloat32(value) : Number(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  return wrongKind(value, row, 'a number, bigint or boolean');
}

export const float: Codec<number> = {
  lanes: 1,
  fillsLanes: true,
  fromLanes: (lane) => lane as number,
  laneAccess: plainLanes,
  coerce: (value, row) => [toFloat(value, row), 0],
};

export const half: Codec<number> = {
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

export const boolean: Codec<boolean> = {
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
    // numpy's bool(x) is x != 0: NaN is true (JavaScript's truthiness says false).
    if (typeof value === 'number') return [value !== 0 ? 1 : 0, 0];
    if (typeof value === 'bigint') return [value !== 0n ? 1 : 0, 0];
    return wrongKind(value, row, 'a boolean or number');
  },
};

export const complex: Codec<Complex> = {
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
      // Only re and im: a misspelt part ({ re: 1, img: 2 }) would be lost.
      const extra = Object.keys(value).find((key) => key !== 're' && key !== 'im');
      if (extra !== undefined) {
        throw memmapError(
          'ERR_MEMMAP_INVALID_ARG',
          `a complex value is { re, im }; got one with ${show(extra)}: ${show(value)}`,
        );
      }
      const { re, im } = value as Partial<Complex>;
      return [toFloat(re, row), toFloat(im ?? 0, row)];
    }
    return [toFloat(value, row), 0];
  },
};

// ----- Bytes, unicode, void, datetime64 and timedelta64 -----------------

/** Bytes `S<n>` and void `V<n>`: one byte lane each; bytes trim trailing NULs on read (numpy). */
function bytesCodec(trim: boolean): Codec<Uint8Array> {
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
      if (isTypedArray(value)) {
        // Its bytes from the engine's getters, not from own properties that may say otherwise.
        checkAttached(value, 'value');
        const bytes = typedBytes(value);
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
export const unicode: Codec<string> = {
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
  for (let k = 0; k < end; k++) {
    const unit = units[k];
    // Python's str holds these and a JavaScript string cannot: past U+10FFFF,
    // or a low surrogate after a high one (the string would read as the one
    // character the pair encodes, and be written back as that).
    if (
      unit > 0x10ffff ||
      (unit >= 0xdc00 && unit <= 0xdfff && k > 0 && units[k - 1] >= 0xd800 && units[k - 1] <= 0xdbff)
    ) {
      throw memmapError(
        'ERR_MEMMAP_VALUE_OUT_OF_RANGE',
        `a unicode element holds code point 0x${unit.toString(16)} at character ${k}, ${unit > 0x10ffff ? 'past U+10FFFF' : 'a low surrogate after a high one'}: numpy keeps it, a JavaScript string cannot (read the bytes through a uint32 map of the file)`,
      );
    }
    out += String.fromCodePoint(unit);
  }
  return out;
}

/** datetime64/timedelta64: int64 counts of their unit; 'NaT' is accepted on write. */
export const timelike: Codec<bigint> = {
  lanes: 1,
  fillsLanes: true,
  fromLanes: (lane) => lane as bigint,
  coerce(value, row) {
    if (value === 'NaT') return [NAT, 0n];
    if (row.kind === 'M' && (typeof value === 'string' || value instanceof Date)) {
      return [datetimeCount(value, row.unit!, row.multiple), 0n];
    }
    // A count is whole: numpy refuses a Python float here, even 2.0 ("Could
    // not convert object to NumPy timedelta"), where an integer column would
    // truncate; 1.5 seconds stored as 1 would be a silent wrong answer.
    if (typeof value === 'number' && Number.isFinite(value) && !Number.isInteger(value)) {
      wrongKind(
        value,
        row,
        `a whole count of its unit (a bigint, an integer${row.kind === 'M' ? ', a Date, an ISO string' : ''} or 'NaT')`,
      );
    }
    const big = toIntegerBigInt(value, row);
    if (big < NAT || big > 2n ** 63n - 1n) outOfRange(value, row);
    return [big, 0n];
  },
  laneAccess: plainLanes,
  viewRead: (view, at, little) => view.getBigInt64(at, little),
  viewWrite: (view, at, value, little) => view.setBigInt64(at, (value as [Lane, Lane])[0] as bigint, little),
};

export const BYTES = bytesCodec(true);
export const VOID = bytesCodec(false);
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

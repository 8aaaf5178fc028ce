/**
 * numpy's repr of an array, as numpy/_core/arrayprint.py builds it with the
 * default options (linewidth 75, precision 8, floatmode 'maxprec', threshold
 * 1000, edgeitems 3): one formatter per array, fitted to all the values shown,
 * then rows wrapped and nested the way `_formatArray` does.
 */
import { Complex, DType, DTypeRow, NAT, Scalar } from './dtype';
import { floatToHalf } from './float16';
import { PyTuple, pyRepr, pythonRepr } from './pyliteral';

const LINE_WIDTH = 75;
const PRECISION = 8;
const THRESHOLD = 1000;
const EDGE_ITEMS = 3;

type Formatter = (value: Scalar) => string;

/** An IEEE binary format numpy prints: fraction bits and exponent bias. */
interface Binary {
  bits: number;
  bias: number;
  /** The biased exponent and fraction bits of a value (stored in this format). */
  fields: (value: number) => [number, bigint];
}

const scratch = new DataView(new ArrayBuffer(8));
const BINARIES: Record<number, Binary> = {
  2: {
    bits: 10,
    bias: 15,
    fields: (value) => {
      const half = floatToHalf(value);
      return [(half >> 10) & 0x1f, BigInt(half & 0x3ff)];
    },
  },
  4: {
    bits: 23,
    bias: 127,
    fields: (value) => {
      scratch.setFloat32(0, value);
      const word = scratch.getUint32(0);
      return [(word >>> 23) & 0xff, BigInt(word & 0x7fffff)];
    },
  },
  8: {
    bits: 52,
    bias: 1023,
    fields: (value) => {
      scratch.setFloat64(0, value);
      const word = scratch.getBigUint64(0);
      return [Number((word >> 52n) & 0x7ffn), word & 0xfffffffffffffn];
    },
  },
};

/** The binary format of a float row, or of each part of a complex row. */
const binaryOf = (row: DTypeRow): Binary => BINARIES[row.kind === 'c' ? row.itemsize / 2 : row.itemsize];

/** How Dragon4 counts its digit cutoffs: past the decimal point, or in all. */
type Cutoff = 'fraction' | 'total';

/**
 * numpy's Dragon4 (dragon4.c) in 'unique' digit mode, on exact integers: the
 * digits that tell the value from its neighbours in its own binary format,
 * generated no further than `cutoffMax` digits nor stopped before `cutoffMin`
 * (-1: no limit), and the decimal exponent of the first. The last digit is
 * rounded the way Dragon4 rounds it — down or up when only one of those stays
 * within the neighbours' midpoints (with unequal margins at a power of two
 * that is not always the nearer), else to nearest with a tie to the even
 * digit — which no JavaScript number-to-string method reproduces.
 */
function dragon4(
  magnitude: number,
  binary: Binary,
  cutoff: Cutoff,
  cutoffMax: number,
  cutoffMin: number,
): { digits: string; exponent: number } {
  const [biased, fraction] = binary.fields(magnitude);
  const normal = biased !== 0;
  const mantissa = normal ? (1n << BigInt(binary.bits)) | fraction : fraction;
  if (mantissa === 0n) return { digits: '0', exponent: 0 };
  const exponent = (normal ? biased : 1) - binary.bias - binary.bits;
  const mantissaBit = normal ? binary.bits : mantissa.toString(2).length - 1;
  // At a power of two the gap below is half the gap above.
  const unequal = normal && biased !== 1 && fraction === 0n;
  const isEven = (mantissa & 1n) === 0n;
  // value = scaledValue / scale; the margins are half the gaps to the neighbours.
  const lift = unequal ? 2n : 1n;
  let scaledValue = mantissa << (BigInt(Math.max(exponent, 0)) + lift);
  let scale = exponent > 0 ? lift * 2n : 1n << (BigInt(-exponent) + lift);
  let marginLow = exponent > 0 ? 1n << BigInt(exponent) : 1n;
  const high = (): bigint => (unequal ? marginLow * 2n : marginLow);
  // Dragon4's estimate of the first digit's exponent (exact or one low), kept
  // because with a fraction cutoff it also decides where the digits start.
  let digitExponent = Math.ceil((mantissaBit + exponent) * Math.log10(2) - 0.69);
  if (cutoffMax >= 0 && cutoff === 'fraction' && digitExponent <= -cutoffMax) digitExponent = -cutoffMax + 1;
  if (digitExponent > 0) scale *= 10n ** BigInt(digitExponent);
  else if (digitExponent < 0) {
    const power = 10n ** BigInt(-digitExponent);
    scaledValue *= power;
    marginLow *= power;
  }
  if (scaledValue >= scale) digitExponent += 1;
  else {
    scaledValue *= 10n;
    marginLow *= 10n;
  }
  let cutoffMaxExponent = digitExponent - 16384; // numpy's buffer size
  if (cutoffMax >= 0)
    cutoffMaxExponent = Math.max(cutoffMaxExponent, cutoff === 'total' ? digitExponent - cutoffMax : -cutoffMax);
  let cutoffMinExponent = digitExponent;
  if (cutoffMin >= 0)
    cutoffMinExponent = Math.min(cutoffMinExponent, cutoff === 'total' ? digitExponent - cutoffMin : -cutoffMin);
  const firstExponent = digitExponent - 1;
  let digits = '';
  let digit: number;
  let low: boolean;
  let up: boolean;
  for (;;) {
    digitExponent -= 1;
    digit = Number(scaledValue / scale);
    scaledValue %= scale;
    low = isEven ? scaledValue <= marginLow : scaledValue < marginLow;
    up = isEven ? scaledValue + high() >= scale : scaledValue + high() > scale;
    if (((low || up) && digitExponent <= cutoffMinExponent) || digitExponent === cutoffMaxExponent) break;
    digits += digit;
    scaledValue *= 10n;
    marginLow *= 10n;
  }
  let roundDown = low;
  if (low === up) {
    const twice = scaledValue * 2n;
    roundDown = twice === scale ? digit % 2 === 0 : twice < scale;
  }
  if (roundDown || digit < 9) return { digits: digits + (roundDown ? digit : digit + 1), exponent: firstExponent };
  // Carry through the nines; past the first digit it becomes a 1 one place up.
  const kept = digits.replace(/9+$/, '');
  if (kept === '') return { digits: '1', exponent: firstExponent + 1 };
  return { digits: kept.slice(0, -1) + (Number(kept.slice(-1)) + 1), exponent: firstExponent };
}

/** The sign Dragon4 prints: the sign bit's (so -0.0 too), or '+' when asked. */
const signOf = (value: number, plus: boolean): string => (value < 0 || Object.is(value, -0) ? '-' : plus ? '+' : '');

/**
 * numpy's dragon4_positional(unique=True, fractional=True, trim='.') at
 * PRECISION: integer part with its sign, and the fraction digits.
 */
function positionalParts(value: number, binary: Binary, plus: boolean, minDigits: number): [string, string] {
  const { digits, exponent } = dragon4(Math.abs(value), binary, 'fraction', PRECISION, minDigits);
  let integer: string;
  let fraction: string;
  if (exponent >= 0) {
    integer = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
    fraction = digits.slice(exponent + 1);
  } else {
    integer = '0';
    fraction = '0'.repeat(-(exponent + 1)) + digits;
  }
  return [signOf(value, plus) + integer, fraction.replace(/0+$/, '')];
}

/**
 * numpy's dragon4_scientific(unique=True) with at most `precision` and at
 * least `minDigits` fraction digits (-1: none asked): the leading digit with
 * its sign, the fraction digits (zeros trimmed unless `minDigits` keeps
 * them) and the decimal exponent.
 */
function scientificParts(
  value: number,
  binary: Binary,
  plus: boolean,
  precision: number,
  minDigits: number,
): [string, string, number] {
  const { digits, exponent } = dragon4(
    Math.abs(value),
    binary,
    'total',
    precision + 1,
    minDigits < 0 ? -1 : minDigits + 1,
  );
  const fraction = digits.slice(1);
  return [
    signOf(value, plus) + digits[0],
    minDigits < 0 ? fraction.replace(/0+$/, '') : fraction.padEnd(minDigits, '0'),
    exponent,
  ];
}

/**
 * numpy's FloatingFormat's choice of scientific notation. It compares numpy
 * scalars of the array's own type with Python floats, which NEP 50 makes
 * weak: the constants are rounded to that type and the ratio is computed in
 * it, so float32(1e-4) is not below 1e-4, and a ratio a float64 sees just
 * past 1000 can round to 1000 exactly and stay positional. float16 divides
 * in float32 and rounds the quotient to float16 (which may overflow to inf).
 */
function scientificNeeded(nonZero: number[], row: DTypeRow): boolean {
  if (nonZero.length === 0) return false;
  const own = row.roundTrip!;
  const max = Math.max(...nonZero);
  const min = Math.min(...nonZero);
  // numpy >= 2.3: the cutoff is 10 ** min(8, finfo(dtype).precision).
  const cutoff = own(10 ** Math.min(8, row.precision!));
  const ratio = binaryOf(row).bits === 52 ? max / min : own(Math.fround(max / min));
  return max >= cutoff || min < own(0.0001) || ratio > 1000;
}

/** numpy's FloatingFormat: fitted once to the values shown. */
function floatFormatter(values: number[], row: DTypeRow, plus = false): (value: number) => string {
  const binary = binaryOf(row);
  const finite = values.filter(Number.isFinite);
  const exponential = scientificNeeded(finite.filter((v) => v !== 0).map(Math.abs), row);
  let padLeft = 0;
  let padRight = 0;
  let fractionDigits = 0;
  let exponentDigits = 0;
  if (finite.length > 0 && exponential) {
    const parts = finite.map((v) => scientificParts(v, binary, plus, PRECISION, -1));
    fractionDigits = Math.max(...parts.map((p) => p[1].length));
    exponentDigits = Math.max(...parts.map((p) => String(Math.abs(p[2])).length), 2);
    padLeft = Math.max(...parts.map((p) => p[0].length));
    padRight = exponentDigits + 2 + fractionDigits;
  } else if (finite.length > 0) {
    const parts = finite.map((v) => positionalParts(v, binary, plus, -1));
    padLeft = Math.max(...parts.map((p) => p[0].length));
    padRight = Math.max(...parts.map((p) => p[1].length));
  }
  if (finite.length !== values.length) {
    const negativeInfinity = plus || values.some((v) => v === -Infinity);
    padLeft = Math.max(padLeft, 3 - (padRight + 1), 3 + (negativeInfinity ? 1 : 0) - (padRight + 1));
  }
  return (value) => {
    if (!Number.isFinite(value)) {
      const text = Number.isNaN(value) ? `${plus ? '+' : ''}nan` : `${value < 0 ? '-' : plus ? '+' : ''}inf`;
      return text.padStart(padLeft + padRight + 1);
    }
    if (exponential) {
      // Every value gets the same number of fraction digits: numpy's second
      // pass asks Dragon4 for exactly that many (min_digits = precision).
      const [integer, frac, exponent] = scientificParts(value, binary, plus, fractionDigits, fractionDigits);
      const digits = String(Math.abs(exponent)).padStart(exponentDigits, '0');
      return `${integer.padStart(padLeft)}.${frac}e${exponent < 0 ? '-' : '+'}${digits}`;
    }
    // numpy's second pass asks for min_digits = 0.
    const [integer, frac] = positionalParts(value, binary, plus, 0);
    return `${integer.padStart(padLeft)}.${frac.padEnd(padRight)}`;
  };
}

/** Days since 1970-01-01 to a proleptic Gregorian [year, month, day] (Howard Hinnant's civil_from_days). */
function civil(days: bigint): [bigint, number, number] {
  const z = days + 719468n;
  const era = (z >= 0n ? z : z - 146096n) / 146097n;
  const doe = z - era * 146097n;
  const yoe = (doe - doe / 1460n + doe / 36524n - doe / 146096n) / 365n;
  const doy = doe - (365n * yoe + yoe / 4n - yoe / 100n);
  const mp = (5n * doy + 2n) / 153n;
  const day = Number(doy - (153n * mp + 2n) / 5n + 1n);
  const month = Number(mp < 10n ? mp + 3n : mp - 9n);
  return [yoe + era * 400n + (month <= 2 ? 1n : 0n), month, day];
}

const floorDiv = (a: bigint, b: bigint): bigint => (a >= 0n ? a / b : -((-a + b - 1n) / b));
/** C's `%0{width}d`: the sign counts toward the width. */
const pad = (n: bigint | number, width: number): string =>
  n < 0 ? '-' + String(-n).padStart(width - 1, '0') : String(n).padStart(width, '0');

/** numpy's datetime_as_string for a datetime64 value in `unit`. */
export function datetimeString(value: bigint, unit: string): string {
  if (value === NAT) return 'NaT';
  if (unit === 'Y') return pad(1970n + value, 4);
  if (unit === 'M')
    return `${pad(1970n + floorDiv(value, 12n), 4)}-${pad(Number(value - floorDiv(value, 12n) * 12n) + 1, 2)}`;
  const perDay: Record<string, bigint> = {
    W: 1n,
    D: 1n,
    h: 24n,
    m: 1440n,
    s: 86400n,
    ms: 86400000n,
    us: 86400000000n,
    ns: 86400000000000n,
    ps: 86400000000000000n,
    fs: 86400000000000000000n,
    as: 86400000000000000000000n,
  };
  const scaled = unit === 'W' ? value * 7n : value;
  const days = floorDiv(scaled, perDay[unit]);
  const [year, month, day] = civil(days);
  const date = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`;
  if (unit === 'W' || unit === 'D') return date;
  const within = scaled - days * perDay[unit]; // in units, non-negative
  const unitsPerSecond = perDay[unit] / 86400n;
  if (unit === 'h') return `${date}T${pad(within, 2)}`;
  if (unit === 'm') return `${date}T${pad(within / 60n, 2)}:${pad(within % 60n, 2)}`;
  const seconds = unit === 's' ? within : within / unitsPerSecond;
  const clock = `${date}T${pad(seconds / 3600n, 2)}:${pad((seconds / 60n) % 60n, 2)}:${pad(seconds % 60n, 2)}`;
  if (unit === 's') return clock;
  const digits = { ms: 3, us: 6, ns: 9, ps: 12, fs: 15, as: 18 }[unit as 'ms']!;
  return `${clock}.${pad(within % unitsPerSecond, digits)}`;
}

/** The formatter for one array's dtype, fitted to the values that will show. */
function formatterFor(dtype: DType, values: Scalar[], zeroDimensional: boolean): Formatter {
  const { kind } = dtype.row;
  const fields = dtype.fields;
  if (fields !== null) {
    // numpy's StructuredVoidFormat: one formatter per field, fitted to that
    // field's values across the array; sub-array fields print as lists.
    const formatters = fields.map((field) => {
      const own = values.map((record) => (record as Record<string, unknown>)[field.name]);
      const flat =
        field.shape.length > 0
          ? own.flatMap((v) => (v as unknown[]).flat(field.shape.length) as Scalar[])
          : (own as Scalar[]);
      const format = formatterFor(field.dtype, flat, false);
      const nested = (v: unknown): string => (Array.isArray(v) ? `[${v.map(nested).join(', ')}]` : format(v as Scalar));
      return (record: Record<string, unknown>) => nested(record[field.name]);
    });
    return (value) => {
      const parts = formatters.map((f) => f(value as Record<string, unknown>));
      return parts.length === 1 ? `(${parts[0]},)` : `(${parts.join(', ')})`;
    };
  }
  // A unicode value may come as its code units (one no JavaScript string holds).
  if (kind === 'S' || kind === 'U') return (value) => pythonRepr(value as Uint8Array | string | number[]);
  // numpy prints void scalars byte by byte: b'\x01\xAB'.
  if (kind === 'V')
    return (value) =>
      `b'${Array.from(value as Uint8Array, (b) => '\\x' + b.toString(16).toUpperCase().padStart(2, '0')).join('')}'`;
  if (kind === 'M' || kind === 'm') {
    const unit = dtype.row.unit!;
    // A multiple's count prints as the time it stands for (M8[10s] 3 is 30 s
    // past 1970); a timedelta prints its count, as numpy's repr does.
    const times = BigInt(dtype.row.multiple ?? 1);
    const text = (value: Scalar): string => {
      if (value === NAT) return "'NaT'";
      return kind === 'M' ? `'${datetimeString((value as bigint) * times, unit)}'` : String(value);
    };
    const width = Math.max(0, ...values.map((v) => text(v).length));
    return (value) => text(value).padStart(width);
  }
  if (kind === 'b') {
    return (value) => (value ? (zeroDimensional ? 'True' : ' True') : 'False');
  }
  if (kind === 'i' || kind === 'u') {
    const width = Math.max(0, ...values.map((v) => String(v).length));
    return (value) => String(value).padStart(width);
  }
  if (kind === 'c') {
    const complex = values as Complex[];
    const real = floatFormatter(
      complex.map((c) => c.re),
      dtype.row,
    );
    const imag = floatFormatter(
      complex.map((c) => c.im),
      dtype.row,
      true,
    );
    return (value) => {
      const { re, im } = value as Complex;
      const imagText = imag(im);
      const end = imagText.trimEnd().length;
      return `${real(re)}${imagText.slice(0, end)}j${imagText.slice(end)}`;
    };
  }
  const floats = floatFormatter(values as number[], dtype.row);
  return (value) => floats(value as number);
}

/** Python's `len()` of a string: code points, so a surrogate pair counts once. */
function characters(text: string): number {
  let pairs = 0;
  for (let k = 0; k < text.length - 1; k++) {
    const unit = text.charCodeAt(k);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(k + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        pairs++;
        k++;
      }
    }
  }
  return text.length - pairs;
}

/** numpy's `_extendLine`: wrap before `word` if the line would grow too long. */
function extendLine(state: { text: string; line: string }, word: string, width: number, indent: string): void {
  const line = characters(state.line);
  if (line + characters(word) > width && line > indent.length) {
    state.text += state.line.trimEnd() + '\n';
    state.line = indent;
  }
  state.line += word;
}

/** The indices shown along an axis of `length`: all, or the edges around '...'. */
function shownIndices(length: number, summarize: boolean): (number | null)[] {
  if (!summarize || length <= 2 * EDGE_ITEMS) return Array.from({ length }, (_, i) => i);
  const head = Array.from({ length: EDGE_ITEMS }, (_, i) => i);
  const tail = Array.from({ length: EDGE_ITEMS }, (_, i) => length - EDGE_ITEMS + i);
  return [...head, null, ...tail];
}

/** Types numpy leaves out of the repr because they are the default. */
const IMPLIED = new Set(['float64', 'int64', 'complex128', 'bool']);

/**
 * numpy's `repr(arr)` for an array of `shape` and `dtype`, whose elements
 * `valueAt` reads. `className` is `'memmap'` for a memmap.
 */
export function formatRepr(
  shape: readonly number[],
  dtype: DType,
  valueAt: (index: number[]) => Scalar,
  className: string,
): string {
  const size = shape.reduce((a, b) => a * b, 1);
  const summarize = size > THRESHOLD;
  const prefix = `${className}(`;
  let body: string;
  if (size === 0) {
    body = '[]';
  } else {
    // Gather the values that will show, to fit the formatter to them.
    const shown: Scalar[] = [];
    const gather = (index: number[]): void => {
      if (index.length === shape.length) {
        shown.push(valueAt(index));
        return;
      }
      for (const i of shownIndices(shape[index.length], summarize)) if (i !== null) gather([...index, i]);
    };
    gather([]);
    const format = formatterFor(dtype, shown, shape.length === 0);
    const width = LINE_WIDTH - 1; // the closing ')'
    const recurse = (index: number[], indent: string, currentWidth: number): string => {
      const axis = index.length;
      if (axis === shape.length) return format(valueAt(index));
      const nextIndent = indent + ' ';
      const nextWidth = currentWidth - 1;
      const indices = shownIndices(shape[axis], summarize);
      const axesLeft = shape.length - axis;
      let text: string;
      if (axesLeft === 1) {
        const elementWidth = currentWidth - 1;
        const state = { text: '', line: indent };
        indices.forEach((i, n) => {
          const word = i === null ? '...' : recurse([...index, i], nextIndent, nextWidth);
          extendLine(state, word, elementWidth, indent);
          if (n < indices.length - 1) state.line += ', ';
        });
        text = state.text + state.line;
      } else {
        const separator = ',' + '\n'.repeat(axesLeft - 1);
        text = indices
          .map((i) => indent + (i === null ? '...' : recurse([...index, i], nextIndent, nextWidth)))
          .join(separator);
      }
      return '[' + text.slice(indent.length) + ']';
    };
    body = recurse([], ' '.repeat(prefix.length + 1), width);
  }
  const extras: string[] = [];
  if ((size === 0 && !(shape.length === 1 && shape[0] === 0)) || summarize)
    extras.push(`shape=${pyRepr(new PyTuple([...shape]))}`);
  // numpy's dtype_short_repr: a bare name only when it reads as an identifier.
  const bare =
    dtype.fields !== null || (dtype.native && dtype.row.name !== null && /^[A-Za-z][A-Za-z0-9]*$/.test(dtype.str));
  if (!IMPLIED.has(dtype.str) || size === 0) extras.push(`dtype=${bare ? dtype.str : `'${dtype.str}'`}`);
  if (extras.length === 0) return `${prefix}${body})`;
  const head = `${prefix}${body},`;
  const tail = `${extras.join(', ')})`;
  const lastLine = head.length - (head.lastIndexOf('\n') + 1);
  const spacer = lastLine + tail.length + 1 > LINE_WIDTH ? '\n' + ' '.repeat(prefix.length) : ' ';
  return head + spacer + tail;
}

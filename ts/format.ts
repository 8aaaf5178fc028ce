/**
 * numpy's repr of an array, as numpy/_core/arrayprint.py builds it with the
 * default options (linewidth 75, precision 8, floatmode 'maxprec', threshold
 * 1000, edgeitems 3): one formatter per array, fitted to all the values shown,
 * then rows wrapped and nested the way `_formatArray` does.
 */
import { Complex, DType, DTypeRow, NAT, Scalar } from './dtype';
import { PyTuple, pyRepr, pythonRepr } from './pyliteral';

const LINE_WIDTH = 75;
const PRECISION = 8;
const THRESHOLD = 1000;
const EDGE_ITEMS = 3;

type Formatter = (value: Scalar) => string;

/** Shortest decimal digits that read back as the same value once stored in the row's float width. */
function roundTrips(row: DTypeRow): (text: string, value: number) => boolean {
  const stored = row.roundTrip!;
  return (text, value) => stored(Number(text)) === stored(value);
}

/**
 * `x.toExponential(digits)` / `x.toFixed(digits)` of a non-negative number,
 * except that an exact tie rounds to even, as numpy's Dragon4 does (JS rounds
 * ties up). A tie shows as '5' followed by zeros in the exact expansion.
 */
function roundHalfEven(x: number, digits: number, style: 'exponential' | 'fixed'): string {
  const rounded = style === 'exponential' ? x.toExponential(digits) : x.toFixed(digits);
  if (digits + 40 > 100) return rounded;
  const longer = style === 'exponential' ? x.toExponential(digits + 40) : x.toFixed(digits + 40);
  const [mantissa, exponent] = longer.split('e');
  const cut = mantissa.indexOf('.') + 1 + digits - (digits === 0 ? 1 : 0);
  const rest = mantissa.slice(digits === 0 ? mantissa.indexOf('.') + 1 : cut);
  if (!/^50*$/.test(rest)) return rounded;
  const kept = digits === 0 ? mantissa.slice(0, mantissa.indexOf('.')) : mantissa.slice(0, cut);
  const last = Number(kept.replace('.', '').slice(-1));
  if (last % 2 === 1) return rounded; // odd: rounding up (JS's choice) makes it even
  return exponent === undefined ? kept : `${kept}e${exponent}`;
}

/** numpy's dragon4 positional with unique digits, cut at PRECISION fraction digits. */
function positionalParts(
  value: number,
  same: (text: string, value: number) => boolean,
  plus: boolean,
): [string, string] {
  let text = '';
  for (let digits = 1; digits <= 17; digits++) {
    text = Math.abs(value).toPrecision(digits);
    if (same(text, Math.abs(value))) break;
  }
  let plain = String(Number(text));
  const [, fraction = ''] = plain.split('.');
  if (fraction.length > PRECISION) plain = roundHalfEven(Math.abs(value), PRECISION, 'fixed').replace(/0+$/, '');
  const [integer, frac = ''] = plain.split('.');
  const negative = value < 0 || Object.is(value, -0);
  return [(negative ? '-' : plus ? '+' : '') + integer, frac];
}

/** numpy's dragon4 scientific with unique digits: mantissa parts and exponent. */
function scientificParts(
  value: number,
  same: (text: string, value: number) => boolean,
  plus: boolean,
): [string, string, string] {
  const magnitude = Math.abs(value);
  let text = magnitude.toExponential();
  for (let digits = 0; digits <= 16; digits++) {
    const candidate = magnitude.toExponential(digits);
    if (same(candidate, magnitude)) {
      text = candidate;
      break;
    }
  }
  let [mantissa, exponent] = text.split('e');
  if ((mantissa.split('.')[1] ?? '').length > PRECISION)
    [mantissa, exponent] = roundHalfEven(magnitude, PRECISION, 'exponential').split('e');
  const [integer, frac = ''] = mantissa.split('.');
  const negative = value < 0 || Object.is(value, -0);
  return [(negative ? '-' : plus ? '+' : '') + integer, frac.replace(/0+$/, ''), exponent];
}

/** numpy's FloatingFormat: fitted once to the values shown. */
function floatFormatter(values: number[], row: DTypeRow, plus = false): (value: number) => string {
  const same = roundTrips(row);
  const finite = values.filter(Number.isFinite);
  const nonZero = finite.filter((v) => v !== 0).map(Math.abs);
  const max = nonZero.length ? Math.max(...nonZero) : 0;
  const min = nonZero.length ? Math.min(...nonZero) : 0;
  // numpy >= 2.3: the cutoff is 10 ** min(8, finfo(dtype).precision).
  const cutoff = 10 ** Math.min(8, row.precision!);
  const exponential = nonZero.length > 0 && (max >= cutoff || min < 0.0001 || max / min > 1000);
  let padLeft = 0;
  let padRight = 0;
  let fractionDigits = 0;
  let exponentDigits = 0;
  if (finite.length > 0 && exponential) {
    const parts = finite.map((v) => scientificParts(v, same, plus));
    fractionDigits = Math.max(...parts.map((p) => p[1].length));
    exponentDigits = Math.max(...parts.map((p) => p[2].replace(/^[+-]/, '').length), 2);
    padLeft = Math.max(...parts.map((p) => p[0].length));
    padRight = exponentDigits + 2 + fractionDigits;
  } else if (finite.length > 0) {
    const parts = finite.map((v) => positionalParts(v, same, plus));
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
      // Every value gets the same number of digits; past a value's own shortest
      // digits numpy prints the exact value's next digits (Dragon4 min_digits),
      // which is the exact value rounded: toExponential.
      const [mantissa, exponent] = roundHalfEven(Math.abs(value), fractionDigits, 'exponential').split('e');
      const [integer, frac = ''] = mantissa.split('.');
      const sign = value < 0 || Object.is(value, -0) ? '-' : plus ? '+' : '';
      const digits = exponent.replace(/^[+-]/, '').padStart(exponentDigits, '0');
      return `${(sign + integer).padStart(padLeft)}.${frac}e${exponent.startsWith('-') ? '-' : '+'}${digits}`;
    }
    const [integer, frac] = positionalParts(value, same, plus);
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

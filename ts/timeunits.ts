/**
 * datetime64/timedelta64 counts from one unit to another, as numpy's casts
 * convert them (`astype`, `a[:] = b`, `np.append`): a coarser unit is
 * multiplied, a finer one divided rounding down (toward -inf, negative
 * counts included), NaT stays NaT, and datetimes in years or months meet
 * the other units through the calendar (month 2 is day 59). Where numpy
 * gives no exact answer memmap refuses, coded, naming both units: a
 * timedelta in years or months to or from days and finer units (numpy's
 * `same_kind` refuses it too) and a count the new unit cannot hold (numpy
 * wraps it around silently).
 */
import type { DType } from './dtype';
import { NAT } from './dtype/dtype';
import { memmapError, show } from './errors';

const SECOND = 10n ** 18n;
/** Each linear unit in attoseconds. */
const ATTOSECONDS: Readonly<Record<string, bigint>> = {
  W: 7n * 86400n * SECOND,
  D: 86400n * SECOND,
  h: 3600n * SECOND,
  m: 60n * SECOND,
  s: SECOND,
  ms: 10n ** 15n,
  us: 10n ** 12n,
  ns: 10n ** 9n,
  ps: 10n ** 6n,
  fs: 10n ** 3n,
  as: 1n,
};
const DAY = ATTOSECONDS.D;
const MAX = 2n ** 63n - 1n;

/** `M` or `m`, the unit and its multiple (10 of `M8[10s]`) of a datetime64/timedelta64 dtype; null for any other dtype. */
function timeUnit(dtype: DType): { kind: string; unit: string; multiple: bigint } | null {
  const kind = dtype.row.kind as string;
  if ((kind !== 'M' && kind !== 'm') || dtype.fields !== null) return null;
  const unit = dtype.row.unit;
  return unit === undefined ? null : { kind, unit, multiple: BigInt(dtype.row.multiple ?? 1) };
}

/** Months in one count of calendar unit `unit` (Y or M) times `multiple`. */
const monthsPer = (unit: string, multiple: bigint): bigint => (unit === 'Y' ? 12n : 1n) * multiple;

const calendar = (unit: string) => unit === 'Y' || unit === 'M';

/** Whether numpy's `same_kind` casting refuses `from` to `to` for their units (timedelta across years/months and days). */
export function timeUnitsRefused(from: DType, to: DType): boolean {
  const [a, b] = [timeUnit(from), timeUnit(to)];
  return a !== null && b !== null && a.kind === 'm' && b.kind === 'm' && calendar(a.unit) !== calendar(b.unit);
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** Days since 1970-01-01 of the first day of month `months` after January 1970. */
function daysOfMonth(months: bigint): bigint {
  // Howard Hinnant's days_from_civil, in bigint (any count fits).
  let y = 1970n + floorDiv(months, 12n);
  const m = months - floorDiv(months, 12n) * 12n + 1n;
  if (m <= 2n) y -= 1n;
  const era = floorDiv(y, 400n);
  const yoe = y - era * 400n;
  const doy = (153n * (m > 2n ? m - 3n : m + 9n) + 2n) / 5n;
  const doe = yoe * 365n + yoe / 4n - yoe / 100n + doy;
  return era * 146097n + doe - 719468n;
}

/** Months since January 1970 of the day `days` after 1970-01-01. */
function monthOfDay(days: bigint): bigint {
  // Howard Hinnant's civil_from_days, in bigint.
  const z = days + 719468n;
  const era = floorDiv(z, 146097n);
  const doe = z - era * 146097n;
  const yoe = (doe - doe / 1460n + doe / 36524n - doe / 146096n) / 365n;
  const doy = doe - (365n * yoe + yoe / 4n - yoe / 100n);
  const mp = (5n * doy + 2n) / 153n;
  const m = mp < 10n ? mp + 3n : mp - 9n;
  const y = yoe + era * 400n + (m <= 2n ? 1n : 0n);
  return (y - 1970n) * 12n + (m - 1n);
}

/**
 * `values` read from an array of dtype `from`, as counts of `to`'s unit when
 * both are datetime64 or both timedelta64 of different units; otherwise
 * `values` itself.
 */
export function convertTimeUnits(values: unknown[], from: DType, to: DType): unknown[] {
  if (from.fields !== null && to.fields !== null) return convertFields(values, from, to);
  const [a, b] = [timeUnit(from), timeUnit(to)];
  if (a === null || b === null || a.kind !== b.kind || (a.unit === b.unit && a.multiple === b.multiple)) return values;
  const units = `${from.str} to ${to.str}`;
  if (timeUnitsRefused(from, to)) {
    throw memmapError(
      'ERR_MEMMAP_INVALID_DTYPE',
      `cannot convert ${units}: a timedelta in years or months has no fixed length in days (numpy's 'same_kind' casting refuses it)`,
    );
  }
  // A multiple scales its unit (M8[10s] counts tens of seconds): as numpy,
  // the count is taken to the unit times the multiple, then divided by the
  // new one's, rounding down.
  const one = (count: bigint): bigint => {
    let out: bigint;
    if (calendar(a.unit) && calendar(b.unit)) {
      out = floorDiv(count * monthsPer(a.unit, a.multiple), monthsPer(b.unit, b.multiple));
    } else if (calendar(a.unit)) {
      const days = daysOfMonth(count * monthsPer(a.unit, a.multiple));
      out = floorDiv(days * DAY, ATTOSECONDS[b.unit] * b.multiple);
    } else if (calendar(b.unit)) {
      const months = monthOfDay(floorDiv(count * a.multiple * ATTOSECONDS[a.unit], DAY));
      out = floorDiv(months, monthsPer(b.unit, b.multiple));
    } else {
      out = floorDiv(count * a.multiple * ATTOSECONDS[a.unit], ATTOSECONDS[b.unit] * b.multiple);
    }
    if (out < -MAX || out > MAX) {
      throw memmapError(
        'ERR_MEMMAP_VALUE_OUT_OF_RANGE',
        `cannot convert ${show(count)} from ${units}: ${out} does not fit in 64 bits (numpy would wrap it around)`,
      );
    }
    return out;
  };
  return values.map((value) => (typeof value === 'bigint' && value !== NAT ? one(value) : value));
}

/**
 * Record values (objects by field name) with each datetime64/timedelta64
 * field, in sub-arrays and nested records too, converted to the unit of the
 * field of the same name in `to`; `values` itself when none needs it.
 */
function convertFields(values: unknown[], from: DType, to: DType): unknown[] {
  const theirs = new Map(to.fields!.map((field) => [field.name, field.dtype]));
  const changed = from.fields!.filter((field) => {
    const into = theirs.get(field.name);
    return (
      into !== undefined &&
      into.str !== field.dtype.str &&
      (field.dtype.fields !== null || timeUnit(field.dtype) !== null)
    );
  });
  if (changed.length === 0) return values;
  const one = (value: unknown, source: DType, into: DType): unknown =>
    Array.isArray(value) ? value.map((item) => one(item, source, into)) : convertTimeUnits([value], source, into)[0];
  return values.map((record) => {
    if (record === null || typeof record !== 'object') return record;
    const out: Record<string, unknown> = { ...(record as Record<string, unknown>) };
    for (const field of changed) out[field.name] = one(out[field.name], field.dtype, theirs.get(field.name)!);
    return out;
  });
}

/**
 * numpy's datetime64 strings: ISO 8601 from a year of any number of digits
 * down to 18 digits of the second (`.` alone is no fraction), a space or
 * `T` before the time, a `Z` or an offset (`+05`, `+05:30`, `-0130`) after
 * it (numpy warns and converts to UTC), then whitespace, which numpy also
 * skips before the year (ASCII only).
 */
const ISO_DATETIME =
  /^([+-]?\d+)(?:-(\d\d)(?:-(\d\d)(?:[T ](\d\d)(?::(\d\d)(?::(\d\d)(?:\.(\d{0,18}))?)?)?(?:Z|([+-])(\d\d)(?::?(\d\d))?)?[ \t\n\v\f\r]*)?)?)?$/;

/**
 * A `Date` or an ISO string as a count of datetime64 `unit` (`'s'`, `'D'`,
 * `'M'`, ...) times `multiple` (10 of `M8[10s]`), as numpy converts `a[i] = value`: to the unit, rounding down
 * (`'2020-01-01T23:59'` is day 2020-01-01, a Date's milliseconds floored to
 * seconds). A string numpy does not parse, a day past its month and an
 * invalid Date are coded errors naming the value.
 */
export function datetimeCount(value: Date | string, unit: string, multiple = 1): bigint {
  // Only for a message: a Date's text is not made for every value stored.
  const shown = (): string =>
    value instanceof Date ? `Date ${Number.isNaN(value.getTime()) ? 'NaN' : value.toISOString()}` : show(value);
  const refuse = (why: string): never => {
    throw memmapError('ERR_MEMMAP_INVALID_ARG', `${shown()} is not a datetime64 value: ${why}`);
  };
  let at: bigint;
  if (value instanceof Date) {
    const ms = value.getTime();
    if (Number.isNaN(ms)) refuse('an invalid Date');
    at = BigInt(ms) * ATTOSECONDS.ms;
  } else {
    const text = value.replace(/^[ \t\n\v\f\r]+/, '');
    if (value === '' || (text === value && /^nat$/i.test(text))) return NAT;
    if (text !== value && /^[+-]/.test(text)) {
      // numpy drops the sign after leading whitespace: refused rather than matched.
      return refuse('whitespace before a signed year, whose sign numpy would drop');
    }
    const now = /^(today|now)$/i.exec(text);
    if (now !== null) {
      // numpy's 'today' is the UTC day, 'now' the UTC second.
      const step = now[1].toLowerCase() === 'today' ? 864e5 : 1e3;
      at = BigInt(Math.floor(Date.now() / step) * step) * ATTOSECONDS.ms;
    } else {
      const match = ISO_DATETIME.exec(text);
      if (match === null)
        return refuse("numpy's datetime64 reads ISO 8601, such as '2020-01-31' or '2020-01-31T12:30:00.5Z'");
      const [, year, month = '01', day = '01', hour = '0', minute = '0', second = '0', fraction = ''] = match;
      const [sign, zoneHours = '0', zoneMinutes = '0'] = match.slice(8);
      const months = (BigInt(year) - 1970n) * 12n + BigInt(month) - 1n;
      const first = daysOfMonth(months);
      if (
        Number(month) < 1 ||
        Number(month) > 12 ||
        Number(day) < 1 ||
        BigInt(day) > daysOfMonth(months + 1n) - first ||
        Number(hour) > 23 ||
        Number(minute) > 59 ||
        Number(second) > 59 ||
        Number(zoneHours) > 23 ||
        Number(zoneMinutes) > 59
      )
        refuse('a field out of range');
      at =
        (first + BigInt(day) - 1n) * DAY +
        BigInt(hour) * ATTOSECONDS.h +
        BigInt(minute) * ATTOSECONDS.m +
        BigInt(second) * SECOND +
        BigInt(fraction.padEnd(18, '0'));
      if (sign !== undefined) {
        const offset = BigInt(zoneHours) * ATTOSECONDS.h + BigInt(zoneMinutes) * ATTOSECONDS.m;
        at += sign === '+' ? -offset : offset;
      }
    }
  }
  let count: bigint;
  const times = BigInt(multiple);
  if (calendar(unit)) count = floorDiv(monthOfDay(floorDiv(at, DAY)), monthsPer(unit, times));
  else count = floorDiv(at, ATTOSECONDS[unit] * times);
  if (count < -MAX || count > MAX) {
    throw memmapError(
      'ERR_MEMMAP_VALUE_OUT_OF_RANGE',
      `${shown()} is ${count} counts of datetime64[${multiple === 1 ? '' : multiple}${unit}], which do not fit in 64 bits`,
    );
  }
  return count;
}

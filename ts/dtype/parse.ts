/**
 * numpy's spellings of a dtype, to a DType: names (`'float32'`), type codes
 * (`'<f4'`, `'?'`), TypedArray constructors, parametric codes (`'S5'`,
 * `'M8[ns]'`) and record dtypes in list, dict and `.npy` descr forms. The
 * spelling tables are aliases beside the dtype table, never new facts.
 */
import { memmapError, noMoreArguments, proxyArgumentError, show } from '../errors';
import { PyTuple, PyValue } from '../pyliteral';
import { normalizeShape } from '../shape';
import { DType, NATIVE_LITTLE_ENDIAN, TypedArrayConstructor } from './dtype';
import { FieldSpec as FieldLayout, makeRecord } from './records';
import { DTYPE_ROWS, dtypeOf, MAX_ITEMSIZE, TIME_UNITS } from './table';
import type { CharCodes, NameCodes, NumericCode } from './types';

const invalid = (message: string) => memmapError('ERR_MEMMAP_INVALID_DTYPE', message);

/** numpy's names (no byte-order prefix allowed), to a table key: exactly the type-level NameCodes. */
export const NAME_CODES = Object.freeze({
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
} satisfies NameCodes);
const NAMES: ReadonlyMap<string, string> = new Map(Object.entries(NAME_CODES));

/** numpy's one-character type codes (a byte-order prefix is allowed), to a table key: exactly the type-level CharCodes. */
export const CHAR_CODES = Object.freeze({
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
} satisfies CharCodes);
const CHARS: ReadonlyMap<string, string> = new Map(Object.entries(CHAR_CODES));

const TYPED_ARRAY_KEYS = new Map<unknown, NumericCode>([
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

/**
 * One field of a structured dtype in list form: `[name, format]` or
 * `[name, format, shape]`; name may be `[title, name]`, and a format may be
 * `[base, shape]` (numpy's `('c', ('<f8', (5,)), (2,))` is
 * `['c', ['<f8', [5]], [2]]`).
 *
 * @example
 * const dtype: FieldSpec[] = [['time', '<M8[ns]'], ['price', '<f8'], ['flags', 'S2', [2]]];
 */
export type FieldSpec =
  | readonly [name: string | readonly [title: string, name: string], format: FieldFormat]
  | readonly [
      name: string | readonly [title: string, name: string],
      format: FieldFormat,
      shape: number | readonly number[],
    ];

/**
 * A record field's format: a dtype, or `[base, shape]` for a sub-array.
 *
 * @example
 * const format: FieldFormat = ['<f8', [5]]; // five float64
 */
export type FieldFormat = DTypeLike | readonly [base: FieldFormat, shape: number | readonly number[]];

/**
 * numpy's dict form of a structured dtype.
 *
 * @example
 * memmap('a.bin', { dtype: { names: ['x', 'y'], formats: ['<f4', '<f4'], offsets: [0, 8], itemsize: 16 } });
 */
export interface StructuredDict {
  /** The field names, in order. */
  readonly names: readonly string[];
  /** A format, or `[format, shape]` for a sub-array field. */
  readonly formats: readonly (DTypeLike | readonly [DTypeLike, number | readonly number[]])[];
  /** Each field's byte offset; default packed (or aligned, with `aligned`). */
  readonly offsets?: readonly number[];
  /** numpy's titles, one per field (null for none). */
  readonly titles?: readonly (string | null)[];
  /** The record's size in bytes, padding included; default the fields' end. */
  readonly itemsize?: number;
  /** numpy's `align=True`: fields padded to their alignment. */
  readonly aligned?: boolean;
}

/**
 * Anything `dtype` accepts: a numpy spelling, a TypedArray constructor, a DType, or a structured dtype (list or dict form).
 *
 * @example
 * memmap('a.bin', { dtype: 'float32' });
 * memmap('b.bin', { dtype: Float64Array });
 * memmap('c.bin', { dtype: [['x', '<f4'], ['y', '<f4']] });
 */
export type DTypeLike = string | DType | TypedArrayConstructor | readonly FieldSpec[] | StructuredDict | AlignedFields;

/**
 * numpy's `np.dtype(list, align=True)`.
 *
 * @example
 * memmap('a.bin', { dtype: { fields: [['a', 'u1'], ['b', 'f8']], align: true } }); // b at offset 8
 */
export interface AlignedFields {
  /** The fields in list form. */
  readonly fields: readonly FieldSpec[];
  /** numpy's `align=True`: each field padded to its alignment. */
  readonly align?: boolean;
}

const SPELLING = /^([<>=|]?)([a-zA-Z?])(\d*)$/;

/**
 * Parses any numpy spelling of a numeric dtype, or a TypedArray constructor.
 *
 * @example
 * parseDType('<f4').str;        // 'float32'
 * parseDType('>i2').itemsize;   // 2
 */
export function publicParseDType(spec: unknown, ...extra: never[]): DType {
  noMoreArguments('parseDType', 1, extra);
  return parseDType(spec);
}

/** parseDType() for this package's callers: errors name `argument`. */
export function parseDType(spec: unknown, argument = 'dtype'): DType {
  try {
    return parseDTypeOf(spec, argument);
  } catch (error) {
    throw proxyArgumentError(error, argument);
  }
}

function parseDTypeOf(spec: unknown, argument = 'dtype'): DType {
  if (spec instanceof DType) return spec;
  if (typeof spec === 'function') {
    const key = TYPED_ARRAY_KEYS.get(spec) ?? typedArrayKeyByName(spec.name);
    if (key !== undefined) return dtypeOf(key);
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
  const named = NAMES.get(spec);
  if (named !== undefined) return dtypeOf(named);
  // Bytes, unicode, void: S5 / a5 / |S5, U3 / <U3 / >U3, V8; datetime64 and
  // timedelta64 with a unit: M8[ns], <m8[s], datetime64[ms], timedelta64[h], M8[10s].
  const sized = /^([<>=|]?)([SaUV])(\d+)$/.exec(spec);
  if (sized !== null && /[1-9]/.test(sized[3])) {
    // Exact, not through a float: 'S9007199254740993' must not become S9007199254740992.
    const count = BigInt(sized[3]);
    if (count * (sized[2] === 'U' ? 4n : 1n) > BigInt(MAX_ITEMSIZE)) {
      throw memmapError(
        'ERR_MEMMAP_INVALID_DTYPE',
        `${argument} ${show(spec)} is too large: numpy's itemsize is at most ${MAX_ITEMSIZE} bytes`,
      );
    }
    return dtypeOf(
      `${sized[2] === 'a' ? 'S' : sized[2]}${count}`,
      sized[1] === '<' ? true : sized[1] === '>' ? false : NATIVE_LITTLE_ENDIAN,
    );
  }
  // numpy's multiples of a unit too: M8[10s], m8[250ms] (a count from 1 to
  // 2^31 - 1, leading zeros and '+' read as numpy reads them; 1 is the unit).
  const timed = /^([<>=|]?)(?:([Mm])8|(datetime64|timedelta64))\[(\+?\d+)?([A-Za-z]+)\]$/.exec(spec);
  if (timed !== null && (TIME_UNITS as readonly string[]).includes(timed[5])) {
    const kind = timed[2] ?? (timed[3] === 'datetime64' ? 'M' : 'm');
    const multiple = timed[4] === undefined ? 1n : BigInt(timed[4]);
    if (multiple < 1n || multiple > 2n ** 31n - 1n) {
      throw memmapError(
        'ERR_MEMMAP_INVALID_DTYPE',
        `${argument} ${show(spec)}: a multiple of a time unit is from 1 to 2^31 - 1 (numpy's largest); got ${multiple}${multiple === 0n ? ' (numpy takes 0, a unit of no length, which memmap refuses)' : ''}`,
      );
    }
    const unit = multiple === 1n ? timed[5] : `${multiple}${timed[5]}`;
    return dtypeOf(`${kind}8[${unit}]`, timed[1] === '<' ? true : timed[1] === '>' ? false : NATIVE_LITTLE_ENDIAN);
  }
  const match = SPELLING.exec(spec);
  if (match !== null) {
    const [, order, char, size] = match;
    const key = size === '' ? CHARS.get(char) : keyOf(char, size);
    if (key !== undefined && Object.hasOwn(DTYPE_ROWS, key)) {
      const little = order === '<' ? true : order === '>' ? false : NATIVE_LITTLE_ENDIAN;
      return dtypeOf(key, little);
    }
  }
  throw memmapError(
    'ERR_MEMMAP_INVALID_DTYPE',
    `${argument} ${show(spec)} is not a data type memmap understands (numeric dtypes such as 'float32', 'f4', '>i2', 'bool', 'complex64'; bytes 'S5', unicode '<U3', void 'V8'; 'M8[ns]', 'm8[10s]'; records as [[name, format], ...])`,
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

/**
 * Parses a structured dtype spelling: a list of `[name, format]` or
 * `[name, format, shape]` (name may be `[title, name]`), or numpy's dict form
 * `{ names, formats, offsets?, titles?, itemsize?, aligned? }`. Returns
 * undefined for anything else.
 */
/**
 * How deep record dtypes and sub-array formats may nest, in every spelling
 * (list, dict, `[format, shape]`, a `.npy` descr). numpy has no fixed limit,
 * but a spelling nested thousands deep (a hostile `.npy` header) must be an
 * error, not a stack overflow.
 */
const MAX_NESTING = 64;
let nesting = 0;

/** Runs a parse one record level deeper, refusing past MAX_NESTING. */
function deeper<T>(argument: string, parse: () => T): T {
  if (nesting >= MAX_NESTING) {
    throw memmapError(
      'ERR_MEMMAP_INVALID_DTYPE',
      `${argument}: records and sub-arrays nest more than ${MAX_NESTING} levels deep`,
    );
  }
  nesting++;
  try {
    return parse();
  } finally {
    nesting--;
  }
}

function parseStructured(spec: unknown, argument: string, align = false): DType | undefined {
  if (!Array.isArray(spec) && (spec === null || typeof spec !== 'object' || spec instanceof DType)) return undefined;
  return deeper(argument, () => parseStructuredLevel(spec, argument, align));
}

function parseStructuredLevel(spec: unknown, argument: string, align: boolean): DType | undefined {
  if (Array.isArray(spec)) {
    const fields = spec.map((entry, i): FieldLayout => {
      if (!Array.isArray(entry) || entry.length < 2 || entry.length > 3) {
        throw invalid(`${argument}[${i}] must be [name, format] or [name, format, shape]; got ${show(entry)}`);
      }
      const [label, format, shape] = entry;
      const [title, name] = Array.isArray(label) ? label : [null, label];
      if (typeof name !== 'string' || (title !== null && typeof title !== 'string')) {
        throw invalid(`${argument}[${i}]: a field name must be a string (or [title, name]); got ${show(label)}`);
      }
      const [dtype, inner] = subarray(format, `${argument}[${i}] format`, align);
      return {
        name: name === '' ? `f${i}` : name,
        title,
        dtype,
        levels: nest(shape === undefined ? [] : normalizeShape(shape, `${argument}[${i}] shape`), inner),
      };
    });
    return makeRecord(fields, align, null, null, argument);
  }
  // numpy's np.dtype(list, align=True), spelled { fields: list, align: true }.
  if (
    spec !== null &&
    typeof spec === 'object' &&
    !Array.isArray(spec) &&
    'fields' in spec &&
    Array.isArray((spec as { fields: unknown }).fields)
  ) {
    const { fields, align: aligned = false, ...rest } = spec as { fields: unknown[]; align?: unknown };
    if (typeof aligned !== 'boolean' || Object.keys(rest).length > 0) {
      throw invalid(`${argument} must be { fields: [[name, format], ...], align?: boolean }; got ${show(spec)}`);
    }
    return parseStructured(fields, argument, aligned);
  }
  if (spec !== null && typeof spec === 'object' && !(spec instanceof DType) && 'names' in spec && 'formats' in spec) {
    const { names, formats, offsets, titles, itemsize, aligned } = spec as {
      names: unknown;
      formats: unknown;
      offsets?: unknown;
      titles?: unknown;
      itemsize?: unknown;
      aligned?: unknown;
    };
    // numpy takes only True or False here (not 1, not None).
    if (aligned !== undefined && typeof aligned !== 'boolean') {
      throw invalid(`${argument}.aligned must be true or false; got ${show(aligned)}`);
    }
    if (!Array.isArray(names) || !Array.isArray(formats) || names.length !== formats.length) {
      throw invalid(
        `${argument}.names and ${argument}.formats must be arrays of the same length; got ${show(names)} and ${show(formats)}`,
      );
    }
    const fields = names.map((name, i): FieldLayout => {
      if (typeof name !== 'string') throw invalid(`${argument}.names[${i}] must be a string; got ${show(name)}`);
      const title = Array.isArray(titles) ? (titles[i] ?? null) : null;
      const [dtype, levels] = subarray(formats[i], `${argument}.formats[${i}]`, aligned === true || align);
      return { name, title, dtype, levels };
    });
    if (
      offsets !== undefined &&
      (!Array.isArray(offsets) ||
        offsets.length !== names.length ||
        !offsets.every((o) => Number.isSafeInteger(o) && o >= 0))
    ) {
      throw invalid(`${argument}.offsets must be ${names.length} non-negative integers; got ${show(offsets)}`);
    }
    if (itemsize !== undefined && !(Number.isSafeInteger(itemsize) && (itemsize as number) > 0)) {
      throw invalid(`${argument}.itemsize must be a positive integer; got ${show(itemsize)}`);
    }
    return makeRecord(
      fields,
      aligned === true || align,
      (offsets as number[] | undefined) ?? null,
      (itemsize as number | undefined) ?? null,
      argument,
    );
  }
  return undefined;
}

/**
 * A field format and its sub-array levels (see Field.levels): `[base, shape]`
 * is numpy's `(base, shape)` tuple, and a base that is itself a sub-array adds
 * its shape inside (numpy: `('c', ('<f8', (5,)), (2,))` is a `(2, 5)` field of
 * float64). In a `.npy` descr the tuple is a PyTuple. `align`: a nested
 * record spelled inline is laid out with numpy's `align=True` too, as numpy
 * passes `align` down to each field's format.
 */
function subarray(format: unknown, argument: string, align = false): [DType, number[][]] {
  const items = format instanceof PyTuple ? format.items : Array.isArray(format) ? format : null;
  const shape = items?.[1];
  const dims = shape instanceof PyTuple ? shape.items : shape;
  const sub =
    items !== null &&
    items.length === 2 &&
    (typeof dims === 'number' ||
      (Array.isArray(dims) && dims.every((n) => typeof n === 'number' || typeof n === 'bigint')));
  if (!sub)
    return [
      Array.isArray(format) && format.every((f) => f instanceof PyTuple)
        ? descrToRecord(format, argument)
        : ((align ? parseStructured(format, argument, true) : undefined) ?? parseDType(format, argument)),
      [],
    ];
  // Sub-array levels count toward the nesting limit as record levels do.
  const [base, inner] = deeper(argument, () => subarray(items[0], argument, align));
  return [base, nest(normalizeShape(dims, `${argument} shape`), inner)];
}

/** Levels with `outer` around `inner`; an empty outer shape adds no level. */
const nest = (outer: number[], inner: number[][]): number[][] => (outer.length > 0 ? [outer, ...inner] : inner);

/** The dtype a `.npy` descr list stands for (numpy's descr_to_dtype: padding dropped). */
export function descrToRecord(descr: PyValue[], argument: string): DType {
  return deeper(argument, () => descrLevel(descr, argument));
}

function descrLevel(descr: PyValue[], argument: string): DType {
  const fields: (FieldLayout & { offset: number })[] = [];
  let offset = 0;
  for (const entry of descr) {
    if (!(entry instanceof PyTuple) || entry.items.length < 2 || entry.items.length > 3)
      throw invalid(`${argument}: ${show(entry)} is not a (name, format[, shape]) tuple`);
    const [label, format, shape] = entry.items;
    const [dtype, inner] = subarray(format, argument);
    const levels = nest(
      shape instanceof PyTuple
        ? normalizeShape(shape.items, `${argument} shape`)
        : shape === undefined
          ? []
          : normalizeShape(shape, `${argument} shape`),
      inner,
    );
    const size = levels.flat().reduce((a, b) => a * b, 1) * dtype.itemsize;
    // numpy's descr_to_dtype drops a nameless field of a void type without
    // fields: raw bytes, and any sub-array (its dtype's type is np.void too).
    const padding = label === '' && ((dtype.row.kind === 'V' && dtype.row.fields === undefined) || levels.length > 0);
    if (!padding) {
      if (label instanceof PyTuple && label.items.length !== 2)
        throw invalid(`${argument}: field label ${show(label.items)} is not a (title, name) pair`);
      const [title, name] = label instanceof PyTuple ? label.items : [null, label];
      if (typeof name !== 'string') throw invalid(`${argument}: field name ${show(name)} is not a string`);
      // numpy keeps a title of any type; memmap's records carry str titles only.
      if (title !== null && typeof title !== 'string')
        throw invalid(`${argument}: field title ${show(title)} is not a string, the only titles memmap keeps`);
      fields.push({ name, title: typeof title === 'string' ? title : null, dtype, levels, offset });
    }
    offset += size;
  }
  return makeRecord(
    fields,
    false,
    fields.map((f) => f.offset),
    offset,
    argument,
  );
}

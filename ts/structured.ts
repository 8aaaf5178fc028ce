/**
 * Structured (record) dtypes: parsing the spellings numpy users write and
 * `.npy` headers store, numpy's layout rules (packed, `aligned`, explicit
 * offsets), `str(dtype)` and `dtype.descr` exactly as numpy prints them, and
 * the codec that reads and writes a record field by field.
 */
import { Codec, Coerced, DType, DTypeRow, elementView, NATIVE_LITTLE_ENDIAN, parseDType } from './dtype';
import { memmapError, show } from './errors';
import { PyTuple, pyRepr, PyValue } from './pyliteral';
import { normalizeShape } from './shape';

/** One field of a record dtype. */
export interface Field {
  readonly name: string;
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

/** A record value as get() gives it: a plain object keyed by field name. */
export type RecordValue = { [field: string]: unknown };

interface FieldSpec {
  name: string;
  title: string | null;
  dtype: DType;
  levels: number[][];
}

const invalid = (message: string) => memmapError('ERR_MEMMAP_INVALID_DTYPE', message);

/** numpy's alignment of a dtype (what `align=True` pads fields to). */
export function alignmentOf(dtype: DType): number {
  const { row } = dtype;
  if (row.fields !== undefined) return row.alignment ?? 1;
  switch (row.kind) {
    case 'c':
      return row.itemsize / 2;
    case 'S':
    case 'V':
    case 'b':
      return 1;
    case 'U':
      return 4;
    default:
      return row.itemsize;
  }
}

const roundUp = (n: number, to: number) => Math.ceil(n / to) * to;

/**
 * Parses a structured dtype spelling: a list of `[name, format]` or
 * `[name, format, shape]` (name may be `[title, name]`), or numpy's dict form
 * `{ names, formats, offsets?, titles?, itemsize?, aligned? }`. Returns
 * undefined for anything else.
 */
export function parseStructured(spec: unknown, argument: string, align = false): DType | undefined {
  if (Array.isArray(spec)) {
    const fields = spec.map((entry, i): FieldSpec => {
      if (!Array.isArray(entry) || entry.length < 2 || entry.length > 3) {
        throw invalid(`${argument}[${i}] must be [name, format] or [name, format, shape]; got ${show(entry)}`);
      }
      const [label, format, shape] = entry;
      const [title, name] = Array.isArray(label) ? label : [null, label];
      if (typeof name !== 'string' || (title !== null && typeof title !== 'string')) {
        throw invalid(`${argument}[${i}]: a field name must be a string (or [title, name]); got ${show(label)}`);
      }
      const [dtype, inner] = subarray(format, `${argument}[${i}] format`);
      return {
        name: name === '' ? `f${i}` : name,
        title,
        dtype,
        levels: nest(shape === undefined ? [] : normalizeShape(shape, `${argument}[${i}] shape`), inner),
      };
    });
    return record(fields, align, null, null, argument);
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
    if (!Array.isArray(names) || !Array.isArray(formats) || names.length !== formats.length) {
      throw invalid(
        `${argument}.names and ${argument}.formats must be arrays of the same length; got ${show(names)} and ${show(formats)}`,
      );
    }
    const fields = names.map((name, i): FieldSpec => {
      if (typeof name !== 'string') throw invalid(`${argument}.names[${i}] must be a string; got ${show(name)}`);
      const title = Array.isArray(titles) ? (titles[i] ?? null) : null;
      const [dtype, levels] = subarray(formats[i], `${argument}.formats[${i}]`);
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
    return record(
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
 * float64). In a `.npy` descr the tuple is a PyTuple.
 */
function subarray(format: unknown, argument: string): [DType, number[][]] {
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
        : parseDType(format, argument),
      [],
    ];
  const [base, inner] = subarray(items[0], argument);
  return [base, nest(normalizeShape(dims, `${argument} shape`), inner)];
}

/** Levels with `outer` around `inner`; an empty outer shape adds no level. */
const nest = (outer: number[], inner: number[][]): number[][] => (outer.length > 0 ? [outer, ...inner] : inner);

/** The dtype a `.npy` descr list stands for (numpy's descr_to_dtype: padding dropped). */
export function descrToRecord(descr: PyValue[], argument: string): DType {
  const fields: (FieldSpec & { offset: number })[] = [];
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
    const padding = label === '' && dtype.row.kind === 'V' && dtype.row.fields === undefined;
    if (!padding) {
      const [title, name] = label instanceof PyTuple ? label.items : [null, label];
      if (typeof name !== 'string') throw invalid(`${argument}: field name ${show(name)} is not a string`);
      fields.push({ name, title: typeof title === 'string' ? title : null, dtype, levels, offset });
    }
    offset += size;
  }
  return record(
    fields,
    false,
    fields.map((f) => f.offset),
    offset,
    argument,
  );
}

/** Lays out fields as numpy does and makes the record dtype. */
function record(
  specs: FieldSpec[],
  aligned: boolean,
  offsets: number[] | null,
  itemsize: number | null,
  argument: string,
): DType {
  const names = new Set<string>();
  for (const spec of specs) {
    if (names.has(spec.name)) throw invalid(`${argument}: field name ${show(spec.name)} appears twice`);
    names.add(spec.name);
  }
  let end = 0;
  let maxAlignment = 1;
  const fields: Field[] = specs.map((spec, i) => {
    const shape = spec.levels.flat();
    const size = shape.reduce((a, b) => a * b, 1) * spec.dtype.itemsize;
    const alignment = alignmentOf(spec.dtype);
    maxAlignment = Math.max(maxAlignment, alignment);
    const offset = offsets !== null ? offsets[i] : aligned ? roundUp(end, alignment) : end;
    end = Math.max(end, offset + size);
    const levels = Object.freeze(spec.levels.map((level) => Object.freeze([...level])));
    return Object.freeze({
      name: spec.name,
      title: spec.title,
      dtype: spec.dtype,
      shape: Object.freeze(shape),
      levels,
      offset,
    });
  });
  const size = itemsize ?? (aligned ? roundUp(end, maxAlignment) : end);
  if (size < end) throw invalid(`${argument}: itemsize ${size} is smaller than the fields need (${end} bytes)`);
  if (size === 0) throw invalid(`${argument}: a record dtype needs at least one byte`);
  const row = recordRow(Object.freeze(fields), size, aligned, aligned ? maxAlignment : 1);
  return DType.fromRow(row, NATIVE_LITTLE_ENDIAN);
}

// ----- numpy's spellings: str(dtype) and dtype.descr -------------------------

/** numpy's `_is_packed`: fields in order, no gaps but alignment padding. */
function isPacked(fields: readonly Field[], itemsize: number, aligned: boolean): boolean {
  let total = 0;
  let maxAlignment = 1;
  for (const field of fields) {
    if (aligned) {
      const alignment = alignmentOf(field.dtype);
      total = roundUp(total, alignment);
      maxAlignment = Math.max(maxAlignment, alignment);
    }
    if (field.offset !== total) return false;
    total += field.shape.reduce((a, b) => a * b, 1) * field.dtype.itemsize;
  }
  if (aligned) total = roundUp(total, maxAlignment);
  return total === itemsize;
}

const tupleRepr = (shape: readonly number[]) => pyRepr(new PyTuple([...shape]));

/** numpy's `_construction_repr(dtype, short=True)`. */
function constructionRepr(dtype: DType): string {
  const { row } = dtype;
  if (row.fields !== undefined) return structStr(row.fields, row.itemsize, row.aligned ?? false, false);
  if (row.kind === 'b') return "'?'";
  const order = row.orderless ? '' : dtype.littleEndian ? '<' : '>';
  return `'${order}${row.code}'`;
}

/** numpy's `str(dtype)` of a record dtype (`_struct_str`). */
export function structStr(fields: readonly Field[], itemsize: number, aligned: boolean, includeAlign: boolean): string {
  // (base, inner...) of a sub-array field, then its outermost shape, as numpy nests them.
  const nested = (field: Field, levels: readonly (readonly number[])[]): string =>
    levels.length === 0
      ? constructionRepr(field.dtype)
      : `(${nested(field, levels.slice(1))}, ${tupleRepr(levels[0])})`;
  const format = (field: Field) =>
    field.levels.length > 0
      ? `${nested(field, field.levels.slice(1))}, ${tupleRepr(field.levels[0])}`
      : constructionRepr(field.dtype);
  if (!(includeAlign && aligned) && isPacked(fields, itemsize, aligned)) {
    const items = fields.map((field) => {
      const label = field.title !== null ? `(${pyRepr(field.title)}, ${pyRepr(field.name)})` : pyRepr(field.name);
      return `(${label}, ${format(field)})`;
    });
    return `[${items.join(', ')}]`;
  }
  let out = `{'names': [${fields.map((f) => pyRepr(f.name)).join(', ')}]`;
  out += `, 'formats': [${fields.map((f) => (f.shape.length > 0 ? `(${format(f)})` : format(f))).join(', ')}]`;
  out += `, 'offsets': [${fields.map((f) => f.offset).join(', ')}]`;
  if (fields.some((f) => f.title !== null))
    out += `, 'titles': [${fields.map((f) => (f.title === null ? 'None' : pyRepr(f.title))).join(', ')}]`;
  out += `, 'itemsize': ${itemsize}`;
  return out + (includeAlign && aligned ? ", 'aligned': True}" : '}');
}

/** numpy's `dtype.descr` (what `.npy` headers store): padding as `('', '|V<n>')`. */
export function descrOf(dtype: DType): PyValue {
  const { row } = dtype;
  if (row.fields === undefined) return dtype.descr;
  const out: PyValue[] = [];
  let offset = 0;
  for (const field of [...row.fields].sort((a, b) => a.offset - b.offset)) {
    if (field.offset < offset) throw invalid('dtype.descr is not defined for records with overlapping fields');
    if (field.offset > offset) out.push(new PyTuple(['', `|V${field.offset - offset}`]));
    const label = field.title !== null ? new PyTuple([field.title, field.name]) : field.name;
    const nested = (levels: readonly (readonly number[])[]): PyValue =>
      levels.length === 0 ? descrOf(field.dtype) : new PyTuple([nested(levels.slice(1)), new PyTuple([...levels[0]])]);
    out.push(
      new PyTuple(
        field.levels.length > 0
          ? [label, nested(field.levels.slice(1)), new PyTuple([...field.levels[0]])]
          : [label, descrOf(field.dtype)],
      ),
    );
    offset = field.offset + field.shape.reduce((a, b) => a * b, 1) * field.dtype.itemsize;
  }
  if (row.itemsize > offset) out.push(new PyTuple(['', `|V${row.itemsize - offset}`]));
  return out;
}

// ----- Reading and writing records -------------------------------------------

/** A checked record, ready to write: per field, the coerced values of its elements in C order. */
interface CoercedRecord {
  readonly record: Coerced[][];
}

function recordRow(fields: readonly Field[], itemsize: number, aligned: boolean, alignment: number): DTypeRow {
  const parts = fields.map((field) => ({
    field,
    element: elementView(field.dtype),
    count: field.shape.reduce((a, b) => a * b, 1),
  }));
  const read = (view: DataView, at: number): RecordValue => {
    const out: RecordValue = {};
    for (const { field, element } of parts) {
      const base = at + field.offset;
      if (field.shape.length === 0) {
        out[field.name] = element.read(view, base);
        continue;
      }
      let k = 0;
      const build = (axis: number): unknown =>
        axis === field.shape.length
          ? element.read(view, base + k++ * field.dtype.itemsize)
          : Array.from({ length: field.shape[axis] }, () => build(axis + 1));
      out[field.name] = build(0);
    }
    return out;
  };
  const write = (view: DataView, at: number, value: Coerced) => {
    (value as unknown as CoercedRecord).record.forEach((values, i) => {
      const { field, element } = parts[i];
      values.forEach((v, k) => element.write(view, at + field.offset + k * field.dtype.itemsize, v));
    });
  };
  const codec: Codec = {
    lanes: 0,
    fillsLanes: false,
    fromLanes: () => ({}),
    coerce(value: unknown): Coerced {
      const byName = value !== null && typeof value === 'object' && !Array.isArray(value) && !ArrayBuffer.isView(value);
      if (!byName && !Array.isArray(value)) {
        throw memmapError(
          'ERR_MEMMAP_INVALID_ARG',
          `a record value must be an object keyed by field name (${fields.map((f) => f.name).join(', ')}) or an array in field order; got ${show(value)}`,
        );
      }
      const record = parts.map(({ field, count }, i) => {
        const given = byName ? (value as RecordValue)[field.name] : (value as unknown[])[i];
        if (given === undefined)
          throw memmapError(
            'ERR_MEMMAP_INVALID_ARG',
            `the record value has no field ${show(field.name)}; got ${show(value)}`,
          );
        const flat = field.shape.length === 0 ? [given] : flattenValues(given);
        if (flat.length !== count) {
          throw memmapError(
            'ERR_MEMMAP_SHAPE_MISMATCH',
            `field ${show(field.name)} holds ${count} values (shape ${show(field.shape)}); got ${flat.length}`,
          );
        }
        return flat.map((v) => field.dtype.row.codec.coerce(v, field.dtype.row));
      });
      return { record } as unknown as Coerced;
    },
    laneAccess(typed) {
      const view = new DataView(typed.buffer, typed.byteOffset, typed.byteLength);
      return { read: (at) => read(view, at), write: (at, value) => write(view, at, value) };
    },
    viewRead: (view, at) => read(view, at),
    viewWrite: (view, at, value) => write(view, at, value),
  };
  const row: DTypeRow = Object.freeze({
    name: structStr(fields, itemsize, aligned, true),
    kind: 'V',
    code: `V${itemsize}`,
    itemsize,
    lanes: itemsize,
    orderless: true,
    TypedArray: Uint8Array,
    getLane: 'getUint8',
    setLane: 'setUint8',
    fields,
    aligned,
    alignment,
    codec,
  });
  return row;
}

function flattenValues(value: unknown): unknown[] {
  if (Array.isArray(value)) return value.flatMap((v) => flattenValues(v));
  if (ArrayBuffer.isView(value) && !(value instanceof DataView))
    return Array.from(value as unknown as ArrayLike<unknown>);
  return [value];
}

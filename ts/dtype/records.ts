/**
 * Record (structured) dtypes once their fields are known: numpy's layout
 * (packed, `align=True`, explicit offsets), `str(dtype)` and `dtype.descr`
 * exactly as numpy prints them, and the codec that reads and writes a record
 * field by field. Parsing the spellings is parse.ts's job.
 */
import { memmapError, show } from '../errors';
import { isTypedArray, typedLength } from '../intrinsics';
import { PyTuple, pyRepr, PyValue } from '../pyliteral';
import { elementView } from './codecs';
import { Codec, Coerced, DType, DTypeRow, Field, NATIVE_LITTLE_ENDIAN, RecordValue } from './dtype';

/** A field as a spelling gives it, before layout. */
export interface FieldSpec {
  name: string;
  title: string | null;
  dtype: DType;
  levels: number[][];
}

const invalid = (message: string) => memmapError('ERR_MEMMAP_INVALID_DTYPE', message);

const roundUp = (n: number, to: number) => Math.ceil(n / to) * to;

/** Lays out fields as numpy does and makes the record dtype. */
export function makeRecord(
  specs: FieldSpec[],
  aligned: boolean,
  offsets: number[] | null,
  itemsize: number | null,
  argument: string,
): DType {
  // numpy: a name appears once, and a title is neither a name nor another title.
  const names = new Set<string>();
  for (const spec of specs) {
    if (names.has(spec.name)) throw invalid(`${argument}: field name ${show(spec.name)} appears twice`);
    names.add(spec.name);
  }
  const titles = new Set<string>();
  for (const { title } of specs) {
    if (title === null) continue;
    if (names.has(title) || titles.has(title)) {
      throw invalid(`${argument}: title ${show(title)} is already used as a name or title (numpy refuses it too)`);
    }
    titles.add(title);
  }
  let end = 0;
  let maxAlignment = 1;
  const fields: Field[] = specs.map((spec, i) => {
    const shape = spec.levels.flat();
    const size = shape.reduce((a, b) => a * b, 1) * spec.dtype.itemsize;
    const alignment = spec.dtype.row.alignment;
    maxAlignment = Math.max(maxAlignment, alignment);
    const offset = offsets !== null ? offsets[i] : aligned ? roundUp(end, alignment) : end;
    // numpy's _convert_from_dict: align=True keeps explicit offsets only where the field is aligned.
    if (aligned && offset % alignment !== 0) {
      throw invalid(
        `${argument}.offsets[${i}] ${offset} (field ${show(spec.name)}) is not a multiple of the field's alignment ${alignment}: numpy refuses it with align=True`,
      );
    }
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
  // Aligned, the record needs its fields padded to the largest alignment, and
  // numpy checks an explicit itemsize against that padded size.
  const needed = aligned ? roundUp(end, maxAlignment) : end;
  const size = itemsize ?? needed;
  if (size < needed) {
    throw invalid(
      `${argument}.itemsize ${size} is smaller than the fields need (${needed} bytes${needed > end ? `, padded to the alignment ${maxAlignment}` : ''})`,
    );
  }
  if (aligned && size % maxAlignment !== 0) {
    throw invalid(
      `${argument}.itemsize ${size} is not a multiple of the record's alignment ${maxAlignment}: numpy refuses it with align=True`,
    );
  }
  if (size === 0) throw invalid(`${argument}: a record dtype needs at least one byte`);
  const row = recordRow(Object.freeze(fields), size, aligned, aligned ? maxAlignment : 1);
  return new DType(row, NATIVE_LITTLE_ENDIAN);
}

// ----- numpy's spellings: str(dtype) and dtype.descr -------------------------

/** numpy's `_is_packed`: fields in order, no gaps but alignment padding. */
function isPacked(fields: readonly Field[], itemsize: number, aligned: boolean): boolean {
  let total = 0;
  let maxAlignment = 1;
  for (const field of fields) {
    if (aligned) {
      const alignment = field.dtype.row.alignment;
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
  // In field order, as numpy's _array_descr: a field before the end of the
  // last one (overlapping, or out of order) has no descr, so numpy's np.save
  // and open_memmap refuse the dtype; sorting them would write another dtype.
  for (const field of row.fields) {
    if (field.offset < offset)
      throw invalid('dtype.descr is not defined for types with overlapping or out-of-order fields (numpy refuses it)');
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
  // A field named `__proto__` would set the object's prototype if assigned: define it instead.
  const put = (out: RecordValue, name: string, value: unknown): void => {
    if (name === '__proto__')
      Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
    else out[name] = value;
  };
  const read = (view: DataView, at: number): RecordValue => {
    const out: RecordValue = {};
    for (const { field, element } of parts) {
      const base = at + field.offset;
      if (field.shape.length === 0) {
        put(out, field.name, element.read(view, base));
        continue;
      }
      let k = 0;
      const build = (axis: number): unknown =>
        axis === field.shape.length
          ? element.read(view, base + k++ * field.dtype.itemsize)
          : Array.from({ length: field.shape[axis] }, () => build(axis + 1));
      put(out, field.name, build(0));
    }
    return out;
  };
  const write = (view: DataView, at: number, value: Coerced) => {
    (value as unknown as CoercedRecord).record.forEach((values, i) => {
      const { field, element } = parts[i];
      values.forEach((v, k) => element.write(view, at + field.offset + k * field.dtype.itemsize, v));
    });
  };
  const names = new Set(fields.map((f) => f.name));
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
      // A key or an item the dtype has no field for is a mistake (a typo'd
      // name, a value too many), never silently dropped.
      const extra = byName
        ? Object.keys(value as RecordValue).find((key) => !names.has(key))
        : (value as unknown[]).length > fields.length
          ? `[${fields.length}]`
          : undefined;
      if (extra !== undefined) {
        throw memmapError(
          'ERR_MEMMAP_INVALID_ARG',
          byName
            ? `the record value has a field ${show(extra)} that the dtype does not (its fields: ${fields.map((f) => f.name).join(', ')}); got ${show(value)}`
            : `the record value has ${(value as unknown[]).length} items; the dtype has ${fields.length} fields; got ${show(value)}`,
        );
      }
      const record = parts.map(({ field, count }, i) => {
        const given = byName
          ? Object.hasOwn(value as RecordValue, field.name)
            ? (value as RecordValue)[field.name]
            : undefined
          : (value as unknown[])[i];
        if (given === undefined)
          throw memmapError(
            'ERR_MEMMAP_INVALID_ARG',
            `the record value has no field ${show(field.name)}; got ${show(value)}`,
          );
        // Bytes and void elements are themselves Uint8Arrays: only arrays nest them.
        const bytes = field.dtype.row.kind === 'S' || field.dtype.row.kind === 'V';
        const flat = field.shape.length === 0 ? [given] : flattenValues(given, bytes);
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
    element: null,
    roundTrip: null,
    precision: null,
    fields,
    aligned,
    alignment,
    codec,
  });
  return row;
}

function flattenValues(value: unknown, bytes: boolean): unknown[] {
  if (Array.isArray(value)) return value.flatMap((v) => flattenValues(v, bytes));
  if (!bytes && isTypedArray(value)) {
    // By index up to the engine's length: never an own `length` or Symbol.iterator.
    const values = new Array<unknown>(typedLength(value));
    for (let k = 0; k < values.length; k++) values[k] = value[k];
    return values;
  }
  return [value];
}

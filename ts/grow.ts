/**
 * Growth: what `Memmap.resize()` and `Memmap.append()` check and compute
 * before the one native call that changes the file (FileStorage.resize):
 * the new shape, the `.npy` header that counts it, and the bytes to append
 * in the file's dtype and order (numpy's `same_kind` casting rule).
 */
import { Accessor } from './access';
import { DType, Field, parseDType } from './dtype';
import { checkAttached, memmapError, proxyArgumentError, show } from './errors';
import { isTypedArray, typedArrayConstructor, typedBytes, typedLength } from './intrinsics';
import { accessorOf, NDArray } from './ndarray';
import { npyDictHead, npyHeaderOfLength } from './npyformat';
import { contiguousStrides, normalizeShape, Order, sizeOf } from './shape';
import { FileStorage, HeapStorage } from './storage';
import { flatten, HasValues, VALUES } from './broadcast';
import { timeUnitsRefused } from './timeunits';

/** numpy's kinds in the order `same_kind` casting may go up. */
const KIND_RANK: Readonly<Record<string, number>> = { b: 0, u: 1, i: 2, f: 3, c: 4 };

/** numpy's `can_cast(from, to, 'same_kind')` for the dtypes memmap maps. */
export function sameKind(from: DType, to: DType): boolean {
  // str, not descr: every record (and void) of one size has the descr |V<n>.
  if (from.str === to.str) return true;
  const [a, b] = [from.row.kind as string, to.row.kind as string];
  if (from.fields !== null && to.fields !== null) return fieldsCast(from.fields, to.fields, true);
  if (from.fields !== null || to.fields !== null) return false;
  if (a in KIND_RANK && b in KIND_RANK) return KIND_RANK[a] <= KIND_RANK[b];
  // Strings to strings of any length, datetimes to datetimes of any unit,
  // and integers (or bool) to timedelta.
  // (A timedelta in years or months to or from days and finer: refused.)
  if (a === b && (a === 'U' || a === 'S' || a === 'M' || a === 'm')) return !timeUnitsRefused(from, to);
  return b === 'm' && (a === 'b' || a === 'u' || a === 'i');
}

/**
 * numpy's `same_kind` between records: field by field, in order, with the
 * same sub-array shapes; `names`: with the same names too, as memmap's
 * record values are keyed by name.
 */
function fieldsCast(from: readonly Field[], to: readonly Field[], names: boolean): boolean {
  return (
    from.length === to.length &&
    from.every(
      (field, k) =>
        (!names || field.name === to[k].name) &&
        show(field.shape) === show(to[k].shape) &&
        sameKind(field.dtype, to[k].dtype),
    )
  );
}

/**
 * Why `from` is not appended into `to`: numpy's `same_kind` refusal, or
 * memmap's own rule where numpy may cast: numbers and bools into strings
 * (numpy writes `str(value)`), bytes into unicode, anything into raw bytes
 * `V` (numpy copies bytes), records other than field by field with the same
 * names (memmap's record values are by name; numpy pairs by position).
 */
function castRefusal(from: DType, to: DType): string {
  const [a, b] = [from.row.kind as string, to.row.kind as string];
  const numpy = `numpy's 'same_kind' casting refuses ${from.str} to ${to.str}`;
  if (from.fields !== null && to.fields !== null) {
    return fieldsCast(from.fields, to.fields, false)
      ? `memmap pairs record fields by name and these names differ (numpy's 'same_kind' casting would pair them by position)`
      : `memmap casts records field by field, with the same names and sub-array shapes, each field as numpy's 'same_kind' casting allows`;
  }
  if (from.fields !== null || to.fields !== null) return 'memmap casts records only to records';
  if (b === 'V') return 'memmap does not write values as raw bytes V';
  if ((b === 'U' || b === 'S') && (a in KIND_RANK || (a === 'S' && b === 'U')))
    return `memmap does not write numbers or bytes as text (numpy's 'same_kind' casting would)`;
  return numpy;
}

/**
 * Plain numbers as numpy judges Python numbers in a cast: by kind, not width
 * (NEP 50: an integer takes the target's width, its range checked when it is
 * stored). A number that is not an integer is a float, which `same_kind`
 * refuses into integers, bool, datetime and timedelta; an integer is refused into bool.
 * The dtype to judge, or null where the kind passes.
 */
function plainNumbersDType(values: readonly unknown[], into: DType): DType | null {
  let integers = false;
  for (const value of values) {
    if (typeof value === 'number') {
      if (!Number.isInteger(value)) return parseDType('float64', 'source');
      integers = true;
    } else if (typeof value === 'bigint') integers = true;
  }
  return integers && into.row.kind === 'b' ? parseDType('int64', 'source') : null;
}

/** The new shape `resize()` was given, checked against the array's. */
export function parseResizeShape(
  shape: unknown,
  current: readonly number[],
  itemsize: number,
  offset: number,
  order: Order,
): number[] {
  const dims = normalizeShape(shape as number | readonly number[], 'shape');
  if (dims.length !== current.length) {
    throw memmapError(
      'ERR_MEMMAP_SHAPE_MISMATCH',
      `shape must have ${current.length} dimensions, as the array has (${show(current)}); got ${show(dims)}`,
    );
  }
  checkFits(dims, itemsize, offset, order);
  return dims;
}

/** The header that counts `shape`, in the length the file's header has; a coded error if it cannot. */
export function headerFor(storage: FileStorage, shape: readonly number[]): Uint8Array | undefined {
  const npy = storage.npy;
  if (npy === null) return undefined;
  let header: Uint8Array | null;
  if (npy.template === undefined) {
    npy.head ??= npyDictHead(npy.descr, npy.fortranOrder);
    header = npyHeaderOfLength(npy.descr, npy.fortranOrder, shape, npy.major, npy.headerLength, npy.head);
    // An append loop rewrites only the shape: keep the bytes up to it, where
    // they are one byte per character (latin-1, or UTF-8 that is ASCII).
    const prefix = npy.major === 1 ? 10 : 12;
    if (header !== null && /^[\x20-\x7e]*$/.test(npy.head)) npy.template = header.slice(0, prefix + npy.head.length);
  } else {
    // Python's repr of a tuple of ints, then the dict's end, spaces, a newline.
    const text = `${shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`}, }`;
    const at = npy.template.length;
    if (at + text.length + 1 > npy.headerLength) header = null;
    else {
      if (npy.scratch === undefined) {
        npy.scratch = new Uint8Array(npy.headerLength);
        npy.scratch.set(npy.template);
      }
      header = npy.scratch;
      for (let k = 0; k < text.length; k++) header[at + k] = text.charCodeAt(k);
      header.fill(0x20, at + text.length, npy.headerLength - 1);
      header[npy.headerLength - 1] = 0x0a;
    }
  }
  if (header === null) {
    throw memmapError(
      'ERR_MEMMAP_OUT_OF_RANGE',
      `the .npy header (${npy.headerLength} bytes) has no room to say shape ${show(shape)}: a file written without numpy's growth padding cannot grow in place; rewrite it with np.save or openMemmap`,
    );
  }
  return header;
}

/**
 * The byte length of `dims` at `offset`, checked to stay within a file
 * memmap can address, before anything changes: an axis past 2^53 - 1 (rows
 * of zero bytes could get there, which a .npy header could not count
 * exactly: sizeOf) and strides past it (contiguousStrides) are refused too.
 */
export function checkFits(dims: readonly number[], itemsize: number, offset: number, order: Order): number {
  const nbytes = sizeOf(dims, itemsize) * itemsize;
  contiguousStrides(dims, itemsize, order);
  if (offset + nbytes > Number.MAX_SAFE_INTEGER) {
    throw memmapError(
      'ERR_MEMMAP_TOO_LARGE',
      `shape ${show(dims)} is ${nbytes} bytes at offset ${offset}: past the largest file memmap can address (2^53 - 1 bytes)`,
    );
  }
  return nbytes;
}

/** The axis append() grows: the first for C order, the last for Fortran order. */
export function growthAxis(ndim: number, order: Order): number {
  return order === 'F' ? ndim - 1 : 0;
}

/**
 * `source` as bytes of `dtype` in the file's memory order, and how many
 * rows (along the growth axis) they are. A flat TypedArray is taken in
 * memory order; nested arrays and arrays with the array's rank (or one row,
 * one fewer) must match every other axis.
 */
export function appendBytes(
  source: unknown,
  dtype: DType,
  shape: readonly number[],
  order: Order,
): { bytes: Uint8Array; rows: number } {
  try {
    return appendBytesOf(source, dtype, shape, order);
  } catch (error) {
    throw proxyArgumentError(error, 'source');
  }
}

function appendBytesOf(
  source: unknown,
  dtype: DType,
  shape: readonly number[],
  order: Order,
): { bytes: Uint8Array; rows: number } {
  const ndim = shape.length;
  const axis = growthAxis(ndim, order);
  const rowShape = shape.filter((_, k) => k !== axis);
  const rowSize = sizeOf(rowShape, dtype.itemsize);
  const mismatch = (got: readonly number[]): Error =>
    memmapError(
      'ERR_MEMMAP_SHAPE_MISMATCH',
      `cannot append shape ${show(got)} to an array of shape ${show(shape)}: every axis but axis ${axis} (the ${order === 'F' ? 'last, Fortran order' : 'first'}) must match, ${show(rowShape)}`,
    );
  const checkCast = (from: DType, what: string): void => {
    if (!sameKind(from, dtype)) {
      throw memmapError(
        'ERR_MEMMAP_INVALID_DTYPE',
        `cannot append ${what} of dtype ${from.str} to an array of dtype ${dtype.str}: ${castRefusal(from, dtype)}`,
      );
    }
  };
  if (isTypedArray(source)) {
    // Kind, length and bytes from the engine's getters: an own `length` or
    // `constructor` cannot make the rows counted disagree with the bytes written.
    checkAttached(source, 'source');
    const from = parseDType(typedArrayConstructor(source), 'source');
    checkCast(from, 'a TypedArray');
    const length = typedLength(source);
    if (rowSize === 0 || length % rowSize !== 0) {
      throw memmapError(
        'ERR_MEMMAP_SHAPE_MISMATCH',
        `cannot append ${length} values to an array of shape ${show(shape)}: rows along axis ${axis} hold ${rowSize} values, and a flat TypedArray is taken as whole rows`,
      );
    }
    const rows = length / rowSize;
    if (from.descr === dtype.descr) {
      // The caller's own bytes, written as they are: no copy.
      return { bytes: typedBytes(source), rows };
    }
    return { bytes: convert(source, dtype, [length], 'C'), rows };
  }
  let sourceShape: number[];
  if (source instanceof NDArray) {
    // Its dtype and shape from its accessor: the public getters may be an
    // own property's or a subclass's, and the rows counted must be the rows read.
    const view = accessorOf(source);
    checkCast(view.dtype, 'an array');
    sourceShape = [...view.shape];
  } else if (Array.isArray(source)) {
    // Rows that are TypedArrays or arrays bring a dtype, which numpy's rule
    // judges. Read once: the values converted below are these (a getter
    // answering differently the second time cannot dodge the check).
    const flat = flatten(source, {
      into: dtype,
      onItem: (item) =>
        item instanceof NDArray
          ? checkCast(accessorOf(item).dtype, 'an array')
          : checkCast(parseDType(typedArrayConstructor(item), 'source'), 'a TypedArray'),
    });
    if ('biumM'.includes(dtype.row.kind) && dtype.fields === null) {
      const plain = plainNumbersDType(flat.values, dtype);
      if (plain !== null) checkCast(plain, 'plain numbers');
    }
    sourceShape = flat.shape;
    source = { size: flat.values.length, shape: flat.shape, [VALUES]: () => flat } satisfies HasValues;
  } else {
    throw memmapError(
      'ERR_MEMMAP_INVALID_ARG',
      `append() takes nested arrays, a TypedArray, an NDArray or a Memmap; got ${show(source)}`,
    );
  }
  let rows: number;
  let oneRow = false;
  if (sourceShape.length === ndim) {
    if (sourceShape.some((n, k) => k !== axis && n !== shape[k])) throw mismatch(sourceShape);
    rows = sourceShape[axis];
  } else if (sourceShape.length === ndim - 1 && ndim > 1 && sourceShape.every((n, k) => n === rowShape[k])) {
    // One row: the growth axis left out.
    rows = 1;
    oneRow = true;
    sourceShape = [...sourceShape];
    sourceShape.splice(axis, 0, 1);
  } else {
    throw mismatch(sourceShape);
  }
  // An array (of any dtype) is copied through its accessor, natively for the same dtype.
  return { bytes: convert(source, dtype, sourceShape, order, oneRow ? axis : null), rows };
}

/**
 * `source` assigned into a new in-memory array of `dtype` and `shape` laid
 * out in `order`: its bytes. With `rowAxis`, `source` is one row without
 * that axis (of length 1 in `shape`), assigned into the row itself: numpy's
 * broadcasting adds missing axes in front only, so a Fortran-order row
 * (growth axis last) would not broadcast into the shape with it.
 */
function convert(
  source: unknown,
  dtype: DType,
  shape: readonly number[],
  order: Order,
  rowAxis: number | null = null,
): Uint8Array {
  const storage = HeapStorage.allocate(sizeOf(shape, dtype.itemsize) * dtype.itemsize);
  const target = new NDArray(new Accessor(storage, dtype, shape, contiguousStrides(shape, dtype.itemsize, order), 0));
  const row = rowAxis === null ? target : target.slice(shape.map((_, k) => (k === rowAxis ? '0' : ':')).join(', '));
  row.assign(source);
  return new Uint8Array(storage.buffer);
}

/**
 * NDArray: numpy's ndarray here, an N-dimensional view (dtype, shape,
 * strides, byte offset) over a Storage shared with every view made from it.
 * It owns what an array does: element access (through ts/access.ts), views
 * (slice, field), assignment with broadcasting (ts/broadcast.ts), copies out
 * (toArray, iteration), reductions (ts/reduce.ts) and numpy's repr. Memmap
 * (ts/memmap.ts) extends it with what a file adds.
 */
import { getHeapStatistics } from 'node:v8';
import { inspect } from 'node:util';
import { Accessor, GetFn } from './access';
import { broadcastElementStrides, flatten, VALUES } from './broadcast';
import { AnyTypedArray, Complex, DType, Scalar } from './dtype';
import { memmapError, show } from './errors';
import { formatRepr } from './format';
import { applyIndex, IndexItem, parseIndex } from './indexing';
import { reduce, reduceAsync, Reduction } from './reduce';
import { byteExtent, contiguousStrides, isContiguous } from './shape';

/** The Accessor behind an array (internal: ts/memmap.ts uses it; not part of the public API). */
export let accessorOf: (array: NDArray) => Accessor;

/**
 * The value that makes `postMessage(array)` fail with a message that says
 * what to do: structured clone names the first value it cannot copy (so this
 * is the first property), and a copy of the metadata without the bytes would
 * be a silent wrong answer.
 */
const NOT_CLONEABLE = Symbol(
  'an array cannot be sent with postMessage: for a Memmap send fp.descriptor() and reopen it with memmap.fromDescriptor(); for values send a TypedArray (data) or toArray()',
);

/** numpy's ndarray: a typed N-dimensional array over shared storage. */
export class NDArray implements Iterable<Scalar | NDArray> {
  /** @internal Not a property to use: see NOT_CLONEABLE. */
  readonly notCloneable: symbol = NOT_CLONEABLE;
  /** numpy's `str(dtype)`: `'float32'`, `'>f4'`, ... */
  readonly dtype: string;
  readonly itemsize: number;
  readonly shape: readonly number[];
  /** In bytes, as numpy's. */
  readonly strides: readonly number[];
  readonly ndim: number;
  readonly size: number;
  readonly nbytes: number;
  /**
   * One element: exactly `ndim` integer indices, negative counting from the
   * end; out of range is a RangeError. int64/uint64 give bigint, bool gives
   * boolean, complex gives `{ re, im }`. (A function made for this view alone
   * and kept for its life: see ts/access.ts.)
   */
  readonly get: GetFn;

  #view: Accessor;
  #data: AnyTypedArray | null = null;

  static {
    accessorOf = (array) => array.#view;
  }

  /** @internal Arrays are made by memmap(), openMemmap(), views and copies. */
  constructor(view: Accessor) {
    this.#view = view;
    this.dtype = view.dtype.str;
    this.itemsize = view.dtype.itemsize;
    this.shape = Object.freeze(view.shape.slice());
    this.strides = Object.freeze(view.strides.slice());
    this.ndim = view.ndim;
    this.size = view.size;
    this.nbytes = view.size * view.dtype.itemsize;
    this.get = view.get;
  }

  /** @internal A view of the same storage, of this array's class. */
  protected _derive(view: Accessor): NDArray {
    return new NDArray(view);
  }

  /** @internal Forgets the bound accessor and `data` (close()): every later call throws ERR_MEMMAP_CLOSED. */
  protected _release(): void {
    this.#data = null;
    this.#view.release();
  }

  /** @internal New geometry over the same storage, in place: a Memmap's resize() and append(). */
  protected _rebase(view: Accessor): void {
    this.#view = view;
    this.#data = null;
    const self = this as { -readonly [K in 'shape' | 'strides' | 'ndim' | 'size' | 'nbytes' | 'get']: NDArray[K] };
    self.shape = Object.freeze(view.shape.slice());
    self.strides = Object.freeze(view.strides.slice());
    self.ndim = view.ndim;
    self.size = view.size;
    self.nbytes = view.size * view.dtype.itemsize;
    self.get = view.get;
  }

  /** @internal The name numpy's repr gives the class (`array`, `memmap`). */
  protected _reprName(): string {
    return 'array';
  }

  /**
   * The dtype as an object (its fields, byte order, itemsize): what to pass as
   * `dtype` to make another array of the same dtype (`dtype` is numpy's string).
   */
  get dtypeObject(): DType {
    return this.#view.dtype;
  }

  /** numpy's `flags.writeable`. */
  get writable(): boolean {
    return this.#view.storage.writable;
  }

  /**
   * A zero-copy TypedArray over the elements, in memory order. Only for
   * contiguous, native-byte-order views that one ArrayBuffer can hold.
   */
  get data(): AnyTypedArray {
    const view = this.#view;
    view.checkOpen();
    // A shrink may have detached the buffer under a view that is still inside.
    if (this.#data !== null && (this.#data.length > 0 || this.size === 0)) return this.#data;
    const { row } = view.dtype;
    if (!view.dtype.native) {
      throw memmapError(
        'ERR_MEMMAP_NO_TYPED_ARRAY',
        `data is not available for dtype '${this.dtype}': its bytes are not in this machine's byte order, so a TypedArray would show them swapped. Use get(), toArray() or set(), which convert.`,
      );
    }
    if (
      !isContiguous(this.shape, this.strides, this.itemsize, 'C') &&
      !isContiguous(this.shape, this.strides, this.itemsize, 'F')
    ) {
      throw memmapError(
        'ERR_MEMMAP_NO_TYPED_ARRAY',
        `data is only available for contiguous views; this view (shape ${show(this.shape)}, strides ${show(this.strides)}) is strided. Use toArray() for a copy, or get()/set().`,
      );
    }
    if (this.size === 0) {
      this.#data = new row.TypedArray(0);
      return this.#data;
    }
    const { storage } = view;
    const [low] = byteExtent(this.shape, this.strides, this.itemsize);
    const start = view.byteOffset + low;
    const chunk = Math.floor(start / storage.chunkBytes);
    const within = start - chunk * storage.chunkBytes;
    if (within + this.nbytes > storage.chunkBytes) {
      throw memmapError(
        'ERR_MEMMAP_DATA_TOO_LARGE',
        `data is not available for this view: it spans ${this.nbytes} bytes across a ${storage.chunkBytes}-byte boundary, and Node ${process.version} holds at most ${storage.chunkBytes} bytes in one ArrayBuffer. Use slice() to take parts that fit within one ${storage.chunkBytes}-byte range, or get()/set()/toArray().`,
      );
    }
    const laneBytes = row.itemsize / row.lanes;
    if (within % laneBytes !== 0) {
      throw memmapError(
        'ERR_MEMMAP_NO_TYPED_ARRAY',
        `data is not available for this view: its elements start at byte ${start}, not a multiple of ${laneBytes} (a ${row.TypedArray.name} must be aligned). Use get(), toArray() or set(), which copy.`,
      );
    }
    this.#data = new row.TypedArray(storage.chunkBuffer(chunk), within, this.size * row.lanes);
    return this.#data;
  }

  /** Writes one element: `set(...index, value)`. */
  set(...indexAndValue: [...number[], unknown]): void {
    this.#checkWritable();
    const view = this.#view;
    const { row } = view.dtype;
    const index = indexAndValue.slice(0, -1);
    const access = view.bind();
    access.write(view.position(access.origin, access.steps, index), row.codec.coerce(indexAndValue.at(-1), row));
  }

  /** numpy basic indexing (`'1:, ::2'`, `'0'`, `'...'`, `'None'`): a view, no copy. */
  slice(spec: string | number, ...extra: never[]): NDArray {
    noMore('slice', 1, extra);
    const view = this.#view;
    view.checkOpen();
    const geometry = applyIndex(parseIndexCached(spec), {
      shape: this.shape as number[],
      strides: this.strides as number[],
      byteOffset: view.byteOffset,
    });
    return this._derive(new Accessor(view.storage, view.dtype, geometry.shape, geometry.strides, geometry.byteOffset));
  }

  /**
   * numpy's `a['x']` for a structured dtype: a view of one field (by name or
   * title) that shares the storage, with the field's dtype; a sub-array field
   * adds its axes. Views of views work the same way.
   */
  field(name: string, ...extra: never[]): NDArray {
    noMore('field', 1, extra);
    const view = this.#view;
    view.checkOpen();
    const fields = view.dtype.fields;
    if (fields === null)
      throw memmapError(
        'ERR_MEMMAP_INVALID_ARG',
        `field() needs a structured dtype; this array's dtype is ${this.dtype}`,
      );
    const field = fields.find((f) => f.name === name) ?? fields.find((f) => f.title === name);
    if (field === undefined)
      throw memmapError(
        'ERR_MEMMAP_INVALID_ARG',
        `no field ${show(name)}: the fields are ${fields.map((f) => show(f.name)).join(', ')}`,
      );
    return this._derive(
      new Accessor(
        view.storage,
        field.dtype,
        [...this.shape, ...field.shape],
        [...this.strides, ...contiguousStrides(field.shape, field.dtype.itemsize, 'C')],
        view.byteOffset + field.offset,
      ),
    );
  }

  /** numpy's `a[:] = value`. */
  fill(value: unknown, ...extra: never[]): void {
    noMore('fill', 1, extra);
    this.#checkWritable();
    const view = this.#view;
    const { row } = view.dtype;
    const lanes = row.codec.coerce(value, row);
    if (this.size === 0) return;
    const access = view.bind();
    if (
      access.lanes !== null &&
      row.codec.fillsLanes &&
      (isContiguous(this.shape, this.strides, this.itemsize, 'C') ||
        isContiguous(this.shape, this.strides, this.itemsize, 'F'))
    ) {
      // One native fill over the contiguous run of lanes (which starts at the lowest address).
      const [low] = byteExtent(this.shape, this.strides, this.itemsize);
      const first = access.origin + low / this.itemsize;
      (access.lanes as { fill(v: number | bigint, start: number, end: number): unknown }).fill(
        (lanes as [number | bigint, number])[0],
        first,
        first + this.size,
      );
      return;
    }
    view.forEach(access, (at) => access.write(at, lanes));
  }

  /**
   * numpy's `a[:] = source`: nested arrays, a TypedArray or another array,
   * broadcast to this view's shape as numpy broadcasts. A TypedArray (or flat
   * array) holding exactly `size` values also fills the view in C order.
   */
  assign(source: unknown, ...extra: never[]): void {
    noMore('assign', 1, extra);
    this.#checkWritable();
    const view = this.#view;
    const { values, shape } = flatten(source);
    const sourceStrides = broadcastElementStrides(
      shape,
      this.shape,
      values.length === this.size && shape.length === 1 && this.ndim > 1,
    );
    const { row } = view.dtype;
    const coerced = values.map((value) => row.codec.coerce(value, row));
    if (this.size === 0) return;
    const access = view.bind();
    const counters = new Array<number>(this.ndim).fill(0);
    view.forEach(access, (at) => {
      let from = 0;
      for (let axis = 0; axis < counters.length; axis++) from += counters[axis] * sourceStrides[axis];
      access.write(at, coerced[from]);
      for (let axis = counters.length - 1; axis >= 0; axis--) {
        if (++counters[axis] < this.shape[axis]) break;
        counters[axis] = 0;
      }
    });
  }

  /** A copy as nested JS arrays (a scalar for 0-d). */
  toArray(...extra: never[]): unknown {
    noMore('toArray', 0, extra);
    const view = this.#view;
    view.checkOpen();
    checkFitsHeap(this.shape, view.dtype);
    if (this.size === 0) return emptyNested(this.shape, 0);
    const access = view.bind();
    const build = (axis: number, at: number): unknown => {
      if (axis === this.ndim) return access.read(at);
      const out = new Array(this.shape[axis]);
      for (let i = 0; i < this.shape[axis]; i++) out[i] = build(axis + 1, at + i * access.steps[axis]);
      return out;
    };
    return build(0, access.origin);
  }

  /** @internal The values in C order and the shape, for broadcasting this array into another. */
  [VALUES](): { values: unknown[]; shape: number[] } {
    const view = this.#view;
    view.checkOpen();
    checkFitsHeap([this.size], view.dtype);
    const values: unknown[] = [];
    if (this.size > 0) {
      const access = view.bind();
      view.forEach(access, (at) => values.push(access.read(at)));
    }
    return { values, shape: [...this.shape] };
  }

  /** Iterates over the first axis, as numpy does: scalars for 1-D, views otherwise. */
  *[Symbol.iterator](): Iterator<Scalar | NDArray> {
    this.#view.checkOpen();
    if (this.ndim === 0) throw memmapError('ERR_MEMMAP_NOT_ITERABLE', 'iteration over a 0-d array');
    for (let i = 0; i < this.shape[0]; i++) yield this.ndim === 1 ? this.get(i) : this.slice(i);
  }

  /**
   * numpy's `a.sum()` over the whole view (strided views included), natively.
   * Integer and bool sums are `bigint` (numpy's int64/uint64, wrapping as numpy
   * does); float sums accumulate in float64; complex sums are `{ re, im }`.
   */
  sum(...extra: never[]): Scalar {
    return this.#reduce('sum', extra);
  }

  /** numpy's `a.min()`: NaN (NaT) if any element is NaN (NaT); a RangeError on an empty view. */
  min(...extra: never[]): Scalar {
    return this.#reduce('min', extra);
  }

  /** numpy's `a.max()`: NaN (NaT) if any element is NaN (NaT); a RangeError on an empty view. */
  max(...extra: never[]): Scalar {
    return this.#reduce('max', extra);
  }

  /**
   * numpy's `a.mean()` as float64 (`{ re, im }` for complex); NaN for an empty
   * view. timedelta64: a bigint count of the unit, truncated as numpy does (NaT if empty).
   */
  mean(...extra: never[]): number | Complex | bigint {
    return this.#reduce('mean', extra) as number | Complex | bigint;
  }

  /** sum() off the main thread; the storage stays alive until it settles. */
  sumAsync(...extra: never[]): Promise<Scalar> {
    return this.#reduceAsync('sum', extra);
  }

  minAsync(...extra: never[]): Promise<Scalar> {
    return this.#reduceAsync('min', extra);
  }

  maxAsync(...extra: never[]): Promise<Scalar> {
    return this.#reduceAsync('max', extra);
  }

  meanAsync(...extra: never[]): Promise<number | Complex | bigint> {
    return this.#reduceAsync('mean', extra) as Promise<number | Complex | bigint>;
  }

  /** numpy's repr. */
  [inspect.custom](): string {
    if (this.#view.closed || this.#view.storage.closed) return `${this._reprName()}(<closed>)`;
    return formatRepr(this.shape, this.#view.dtype, (index) => this.get(...index), this._reprName());
  }

  toString(): string {
    return this[inspect.custom]();
  }

  #reduce(op: Reduction, extra: readonly unknown[]): Scalar {
    noMore(op, 0, extra);
    return reduce(this.#view, op);
  }

  async #reduceAsync(op: Reduction, extra: readonly unknown[]): Promise<Scalar> {
    noMore(`${op}Async`, 0, extra);
    return reduceAsync(this.#view, op);
  }

  #checkWritable(): void {
    this.#view.checkOpen();
    if (!this.#view.storage.writable) {
      throw memmapError(
        'ERR_MEMMAP_READ_ONLY',
        "assignment destination is read-only: the memmap was opened with mode 'r' (use 'r+' to write to the file, or 'c' to write to private memory)",
      );
    }
  }
}

/**
 * An argument a method does not take is an error, never silently ignored:
 * `a.slice(0, 10)` is not rows 0 to 9, and `a.sum({ axis: 0 })` is not the
 * whole-array sum.
 */
function noMore(method: string, takes: number, extra: readonly unknown[]): void {
  if (extra.length === 0) return;
  throw memmapError(
    'ERR_MEMMAP_INVALID_ARG',
    `${method}() takes ${takes === 0 ? 'no arguments' : takes === 1 ? 'one argument' : `${takes} arguments`}; got ${show(extra)} as well${method === 'slice' ? " (a range of rows is slice('0:10'))" : ''}`,
  );
}

/** Nested empty arrays of `shape` (some axis is 0). */
function emptyNested(shape: readonly number[], axis: number): unknown {
  if (axis === shape.length) return [];
  return Array.from({ length: shape[axis] }, () => emptyNested(shape, axis + 1));
}

/**
 * A copy into JavaScript values that would not fit the heap is a RangeError,
 * not a fatal out-of-memory that ends the process: V8 cannot recover from
 * exhausting its heap. Counts the arrays a nested copy makes (an empty
 * `[1e8, 0]` still makes 1e8 of them) and the values, at a rough cost each.
 */
function checkFitsHeap(shape: readonly number[], dtype: DType): void {
  let arrays = 0;
  let count = 1;
  for (let axis = 0; axis < shape.length; axis++) {
    arrays += count;
    count *= shape[axis];
    if (count === 0) break;
  }
  const { kind } = dtype.row;
  // Doubles sit unboxed in a JS array; bigints, strings, objects are values of their own.
  const perValue =
    kind === 'f' || kind === 'b' || kind === 'i' || kind === 'u' ? (dtype.itemsize === 8 && kind !== 'f' ? 40 : 8) : 64;
  const bytes = arrays * 48 + count * perValue;
  const { heap_size_limit: limit, used_heap_size: used } = getHeapStatistics();
  if (bytes > (limit - used) * 0.75 || arrays > 2 ** 32 - 1) {
    throw memmapError(
      'ERR_MEMMAP_TOO_LARGE',
      `a copy of shape ${show(shape)} as JavaScript values needs about ${Math.round(bytes / 2 ** 20)} MiB, more than the ${Math.round((limit - used) / 2 ** 20)} MiB this JavaScript heap has free: take slices, or read through data / get()`,
    );
  }
}

/** Parsed index strings, by spec: slicing in a loop parses each spelling once. */
const parsedIndexes = new Map<string | number, IndexItem[]>();
function parseIndexCached(spec: unknown): IndexItem[] {
  if (typeof spec !== 'string' && typeof spec !== 'number') return parseIndex(spec);
  let items = parsedIndexes.get(spec);
  if (items === undefined) {
    items = parseIndex(spec);
    if (parsedIndexes.size >= 512) parsedIndexes.clear();
    parsedIndexes.set(spec, items);
  }
  return items;
}

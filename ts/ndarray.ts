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
import {
  blockValues,
  checkRange,
  fillElements,
  heapCopy,
  lanesAreValues,
  readBlock,
  writeBlock,
  writeCoerced,
} from './blocks';
import { broadcastElementStrides, flatten, VALUES } from './broadcast';
import { AnyTypedArray, DType, Scalar } from './dtype';
import type {
  Comparable,
  DataOf,
  DTypeStr,
  DTypeTag,
  ElementInput,
  ElementOf,
  ExtremumOf,
  FieldAxes,
  FieldBase,
  FieldNames,
  KindOf,
  LanesOf,
  MeanOf,
  Minus1,
  Nested,
  NestedInput,
  Plus,
  ShapeOf,
  SumOf,
  Summable,
  Tuple,
} from './dtype/types';
import { memmapError, show } from './errors';
import { formatRepr } from './format';
import { applyIndex, IndexItem, parseIndex } from './indexing';
import { reduce, reduceAsync, Reduction } from './reduce';
import { byteExtent, contiguousStrides, isContiguous } from './shape';
import { convertTimeUnits } from './timeunits';

/** The Accessor behind an array (internal: ts/memmap.ts uses it; not part of the public API). */
export let accessorOf: (array: object) => Accessor;

/**
 * The value that makes `postMessage(array)` fail with a message that says
 * what to do: structured clone names the first value it cannot copy (so this
 * is the first property), and a copy of the metadata without the bytes would
 * be a silent wrong answer.
 */
const NOT_CLONEABLE = Symbol(
  'an array cannot be sent with postMessage: for a Memmap send fp.descriptor() and reopen it with memmap.fromDescriptor(); for values send a TypedArray (data) or toArray()',
);

/**
 * `get()` of an array: exactly `ndim` indices (a tuple when `ndim` is known).
 * A method type, so an array whose `ndim` is known is also an array of any
 * `ndim` (`NDArray<'float32', 2>` is an `NDArray<'float32'>`).
 *
 * @example
 * const a = memmap('a.bin', { dtype: 'int16', mode: 'w+', shape: [2, 3] });
 * a.get(1, 2); // Getter<'int16', 2>: (i: number, j: number) => number
 */
export type Getter<D extends DTypeTag, N extends number> = {
  /** One element, at exactly `ndim` indices. */
  get(...index: Tuple<number, N>): ElementOf<D>;
}['get'];

/**
 * What iterating over an array gives: elements of a 1-D array, views one axis down otherwise.
 *
 * @example
 * for (const value of memmap('a.bin', { dtype: 'uint8', mode: 'r' })) value; // number
 * for (const row of memmap('b.bin', { mode: 'w+', shape: [2, 2] })) row;  // rows of uint8
 */
export type IterationItem<D extends DTypeTag, N extends number> = number extends N
  ? ElementOf<D> | NDArray<D>
  : N extends 1
    ? ElementOf<D>
    : NDArray<D, Minus1<N>>;

/**
 * What `assign()` takes: nested arrays of values (broadcast as numpy does),
 * a TypedArray for numeric dtypes, or another array.
 *
 * @example
 * const a = memmap('a.bin', { dtype: 'float64', mode: 'w+', shape: [2, 2] });
 * a.assign([[1, 2], [3, 4]]);
 * a.assign(Float64Array.of(1, 2, 3, 4));
 * a.assign(otherArray);
 */
export type AssignSource<D extends DTypeTag> =
  | NestedInput<ElementInput<D>>
  | (KindOf<D> extends 'b' | 'i' | 'u' | 'f' | 'c' | 'M' | 'm' ? ArrayLike<number> | ArrayLike<bigint> : never)
  | ArraySource;

/**
 * Another array as assign() takes it (any NDArray or Memmap).
 *
 * @example
 * const source = memmap('a.bin', { dtype: 'int16', mode: 'r', shape: [4] });
 * memmap('b.bin', { dtype: 'float32', mode: 'w+', shape: [3, 4] }).assign(source); // broadcast to each row
 */
export interface ArraySource {
  /** numpy's `str(dtype)`. */
  readonly dtype: string;
  /** The array's shape, broadcast into the target's. */
  readonly shape: readonly number[];
}

/**
 * numpy's ndarray: a typed N-dimensional array over shared storage. `D` is
 * the dtype's tag (numpy's `str(dtype)`, or a record's fields: see
 * {@link DTypeTag}), `N` the number of dimensions where known. Made by
 * `memmap()`, `openMemmap()` and views (`NDArray.slice`,
 * `NDArray.field`).
 *
 * @example
 * const a = memmap('a.f32', { dtype: 'float32', mode: 'w+', shape: [2, 3] }); // Memmap<'float32', 2>
 * a.get(1, 2);   // number
 * a.data;        // Float32Array
 * a.toArray();   // number[][]
 */
export class NDArray<D extends DTypeTag = DTypeTag, N extends number = number> implements Iterable<
  IterationItem<D, N>
> {
  /** @internal Not a property to use: see NOT_CLONEABLE. */
  readonly notCloneable: symbol = NOT_CLONEABLE;
  /**
   * numpy's `str(dtype)`: `'float32'`, `'>f4'`, `'|S5'`, `'<U3'`,
   * `'datetime64[ns]'`, a record's `"[('x', '<f4'), ...]"`.
   *
   * @example
   * memmap('a.bin', { dtype: 'f4', mode: 'w+', shape: 2 }).dtype; // 'float32'
   */
  readonly dtype: DTypeStr<D>;
  /**
   * Bytes per element.
   *
   * @example
   * memmap('a.bin', { dtype: 'complex64', mode: 'w+', shape: 2 }).itemsize; // 8
   */
  readonly itemsize: number;
  /**
   * numpy's shape (frozen): a tuple of `ndim` numbers.
   *
   * @example
   * const [rows, cols] = memmap('a.bin', { mode: 'w+', shape: [3, 4] }).shape; // 3, 4
   */
  readonly shape: ShapeOf<N>;
  /**
   * numpy's strides, in bytes (frozen).
   *
   * @example
   * memmap('a.bin', { dtype: 'int16', mode: 'w+', shape: [3, 4] }).strides; // [8, 2]
   */
  readonly strides: ShapeOf<N>;
  /**
   * The number of dimensions.
   *
   * @example
   * memmap('a.bin', { mode: 'w+', shape: [3, 4] }).ndim; // 2
   */
  readonly ndim: N;
  /**
   * The number of elements.
   *
   * @example
   * memmap('a.bin', { mode: 'w+', shape: [3, 4] }).size; // 12
   */
  readonly size: number;
  /**
   * `size * itemsize`.
   *
   * @example
   * memmap('a.bin', { dtype: 'float64', mode: 'w+', shape: [3, 4] }).nbytes; // 96
   */
  readonly nbytes: number;
  /**
   * One element: exactly `ndim` integer indices, negative counting from the
   * end; out of range is a RangeError. int64/uint64 give bigint, bool gives
   * boolean, complex gives `{ re, im }`, a record an object of its fields.
   * (A function made for this view alone and kept for its life: see
   * ts/access.ts.)
   *
   * @example
   * const a = memmap('a.f8', { dtype: 'float64', mode: 'w+', shape: [3, 4] });
   * a.get(1, -1); // number: row 1, last column
   */
  readonly get: Getter<D, N>;

  #view: Accessor;
  #data: AnyTypedArray | null = null;

  static {
    accessorOf = (array) => (array as NDArray).#view;
  }

  /** @internal Arrays are made by memmap(), openMemmap(), views and copies. */
  constructor(view: Accessor) {
    this.#view = view;
    this.dtype = view.dtype.str as DTypeStr<D>;
    this.itemsize = view.dtype.itemsize;
    this.shape = Object.freeze(view.shape.slice()) as unknown as ShapeOf<N>;
    this.strides = Object.freeze(view.strides.slice()) as unknown as ShapeOf<N>;
    this.ndim = view.ndim as N;
    this.size = view.size;
    this.nbytes = view.size * view.dtype.itemsize;
    this.get = view.get as unknown as Getter<D, N>;
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
   *
   * @example
   * const copy = memmap('b.bin', { dtype: a.dtypeObject, mode: 'w+', shape: a.shape }); // a's dtype
   */
  get dtypeObject(): DType<D> {
    return this.#view.dtype as DType<D>;
  }

  /**
   * numpy's `flags.writeable`: false for mode `'r'`.
   *
   * @example
   * memmap('a.bin', { mode: 'r' }).writable; // false
   */
  get writable(): boolean {
    return this.#view.storage.writable;
  }

  /**
   * A zero-copy TypedArray over the elements, in memory order: `Float32Array`
   * for float32, `BigInt64Array` for int64, `Uint8Array` for bool, bytes,
   * void and records, `Uint16Array` (raw bits) for float16, interleaved
   * re/im for complex, `Uint32Array` code points for `U<n>`. Only for
   * contiguous, native-byte-order views that one ArrayBuffer can hold; a
   * big-endian dtype (`'>f4'`) has none, and its type says so.
   *
   * @example
   * const a = memmap('a.f32', { dtype: 'float32', mode: 'w+', shape: 4 });
   * a.data.fill(1.5); // Float32Array over the mapped bytes
   */
  get data(): DataOf<D> {
    return this.#typedData() as DataOf<D>;
  }

  #typedData(): AnyTypedArray {
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
    // A runtime that refuses external buffers (Electron) refuses every view's
    // data, small slices too: that is the error to give, whatever the size.
    if (storage.refused) storage.chunkBuffer(chunk);
    if (within + this.nbytes > storage.chunkBytes) {
      throw memmapError(
        'ERR_MEMMAP_DATA_TOO_LARGE',
        `data is not available for this view: it spans ${this.nbytes} bytes across a ${storage.chunkBytes}-byte boundary, and Node ${process.version} holds at most ${storage.chunkBytes} bytes in one ArrayBuffer. Use read(start, length) / write(start, values) to copy blocks of elements, slice() to take parts that fit within one ${storage.chunkBytes}-byte range, or get()/set()/toArray().`,
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

  /**
   * Writes one element: `set(...index, value)`, exactly `ndim` indices.
   *
   * @example
   * const a = memmap('a.i8', { dtype: 'int64', mode: 'w+', shape: [2, 2] });
   * a.set(0, 1, 5n);
   */
  set(...indexAndValue: [...Tuple<number, N>, ElementInput<D>]): void {
    this.#checkWritable();
    this.#view.setFrom(indexAndValue);
  }

  /**
   * numpy basic indexing (`'1:, ::2'`, `'0'`, `'...'`, `'None'`): a view, no
   * copy. An integer takes one element of the first axis (one axis fewer).
   *
   * @example
   * const a = memmap('a.f4', { dtype: 'float32', mode: 'w+', shape: [4, 4] });
   * a.slice('1:, ::2'); // NDArray<'float32'>: a view
   * a.slice(0);         // NDArray<'float32', 1>: row 0
   */
  slice(spec: number, ...extra: never[]): NDArray<D, Minus1<N>>;
  slice(spec: string | number, ...extra: never[]): NDArray<D>;
  slice(spec: string | number, ...extra: never[]): NDArray<D> | NDArray<D, Minus1<N>> {
    noMore('slice', 1, extra);
    const view = this.#view;
    view.checkOpen();
    const geometry = applyIndex(parseIndexCached(spec), {
      shape: this.shape as readonly number[] as number[],
      strides: this.strides as readonly number[] as number[],
      byteOffset: view.byteOffset,
    });
    return this._derive(
      new Accessor(view.storage, view.dtype, geometry.shape, geometry.strides, geometry.byteOffset),
    ) as NDArray<D>;
  }

  /**
   * numpy's `a['x']` for a structured dtype: a view of one field (by name or
   * title) that shares the storage, with the field's dtype; a sub-array field
   * adds its axes. Views of views work the same way. For a record dtype
   * written as a literal, only its field names compile.
   *
   * @example
   * const ticks = memmap('ticks.bin', { dtype: [['time', '<M8[ns]'], ['price', '<f8']], mode: 'w+', shape: 10 });
   * ticks.field('price'); // NDArray<'float64', 1>
   */
  field<K extends FieldNames<D>>(name: K, ...extra: never[]): NDArray<FieldBase<D, K>, Plus<N, FieldAxes<D, K>>> {
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
    ) as NDArray<FieldBase<D, K>, Plus<N, FieldAxes<D, K>>>;
  }

  /**
   * numpy's `a[:] = value`: every element of the view.
   *
   * @example
   * memmap('a.f4', { dtype: 'float32', mode: 'w+', shape: 8 }).fill(0.5);
   */
  fill(value: ElementInput<D>, ...extra: never[]): void {
    noMore('fill', 1, extra);
    this.#checkWritable();
    const view = this.#view;
    const { row } = view.dtype;
    const lanes = row.codec.coerce(value, row);
    if (this.size === 0) return;
    const access = view.bind();
    if (view.storage.refused) {
      fillElements(view, lanes);
      return;
    }
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
   *
   * @example
   * const a = memmap('a.i4', { dtype: 'int32', mode: 'w+', shape: [2, 3] });
   * a.assign([[1, 2, 3], [4, 5, 6]]);
   * a.assign([7, 8, 9]);              // broadcast to every row
   * a.assign(Int32Array.of(1, 2, 3, 4, 5, 6));
   */
  assign(source: AssignSource<D>, ...extra: never[]): void {
    noMore('assign', 1, extra);
    this.#checkWritable();
    const view = this.#view;
    if (
      source instanceof view.dtype.row.TypedArray &&
      (source as AnyTypedArray).length === this.size * view.dtype.row.lanes &&
      lanesAreValues(view)
    ) {
      // All of the values, in C order, of the kind data holds: one block copy.
      writeBlock(view, 'assign', 0, source);
      return;
    }
    const flat = flatten(source);
    const shape = flat.shape;
    // Another unit of datetime64/timedelta64: counts of this one, as numpy converts them.
    const values =
      source instanceof NDArray ? convertTimeUnits(flat.values, source.dtypeObject, view.dtype) : flat.values;
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
    if (view.storage.refused) {
      // In blocks, each element taken from the source in C order as below.
      writeCoerced(view, 0, this.size, () => {
        let from = 0;
        for (let axis = 0; axis < counters.length; axis++) from += counters[axis] * sourceStrides[axis];
        for (let axis = counters.length - 1; axis >= 0; axis--) {
          if (++counters[axis] < this.shape[axis]) break;
          counters[axis] = 0;
        }
        return coerced[from];
      });
      return;
    }
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

  /**
   * Elements `start` to `start + length` (default: to the end) in C order,
   * copied out in one block: a new TypedArray of the kind `data` gives
   * (`Float32Array` for float32, raw bits for float16, re/im lanes for
   * complex), in this machine's byte order whatever the dtype's. Works for
   * every view (strided, non-native, past 4 GiB) and in runtimes without
   * zero-copy buffers (Electron), where it is the fast way to read.
   *
   * @example
   * const a = memmap('a.f4', { dtype: 'float32', mode: 'r' });
   * const first: Float32Array = a.read(0, 1000); // a copy of elements 0-999
   */
  read(start: number = 0, length?: number, ...extra: never[]): LanesOf<D> {
    noMore('read', 2, extra);
    const view = this.#view;
    view.checkOpen();
    const [first, count] = checkRange(view, 'read', start, length);
    if (count * this.itemsize > 2 ** 32) {
      throw memmapError(
        'ERR_MEMMAP_TOO_LARGE',
        `read(): ${count} elements are ${count * this.itemsize} bytes, more than one TypedArray holds (2^32 bytes): read in parts`,
      );
    }
    return readBlock(view, first, count) as LanesOf<D>;
  }

  /**
   * Writes `values` into elements `start`, `start + 1`, ... in C order, in one
   * block: a TypedArray of the kind `data` gives (its lanes as they are; the
   * byte order is converted), or an array of values converted as `set()`
   * converts them (all are checked before any is written). The counterpart
   * of `read()`.
   *
   * @example
   * const a = memmap('a.f4', { dtype: 'float32', mode: 'r+' });
   * a.write(0, new Float32Array([1, 2, 3])); // elements 0-2
   */
  write(start: number, values: LanesOf<D> | readonly ElementInput<D>[], ...extra: never[]): void {
    noMore('write', 2, extra);
    this.#checkWritable();
    writeBlock(this.#view, 'write', start, values);
  }

  /**
   * A copy as nested JS arrays (a scalar for 0-d), `ndim` deep.
   *
   * @example
   * const a = memmap('a.f4', { dtype: 'float32', mode: 'w+', shape: [2, 2] });
   * const rows: number[][] = a.toArray();
   */
  toArray(...extra: never[]): Nested<ElementOf<D>, N> {
    noMore('toArray', 0, extra);
    const view = this.#view;
    view.checkOpen();
    checkFitsHeap(this.shape, view.dtype);
    if (this.size === 0) return emptyNested(this.shape, 0) as Nested<ElementOf<D>, N>;
    view.bind();
    // Without a zero-copy buffer, one block copy, then reads from the heap.
    const access = (view.storage.refused ? heapCopy(view) : view).bind();
    const build = (axis: number, at: number): unknown => {
      if (axis === this.ndim) return access.read(at);
      const out = new Array(this.shape[axis]);
      for (let i = 0; i < this.shape[axis]; i++) out[i] = build(axis + 1, at + i * access.steps[axis]);
      return out;
    };
    return build(0, access.origin) as Nested<ElementOf<D>, N>;
  }

  /** @internal The values in C order and the shape, for broadcasting this array into another. */
  [VALUES](): { values: unknown[]; shape: number[] } {
    const view = this.#view;
    view.checkOpen();
    checkFitsHeap([this.size], view.dtype);
    const values: unknown[] = [];
    if (this.size > 0) {
      view.bind();
      const source = view.storage.refused ? heapCopy(view) : view;
      const access = source.bind();
      source.forEach(access, (at) => values.push(access.read(at)));
    }
    return { values, shape: [...this.shape] };
  }

  /**
   * Iterates over the first axis, as numpy does: elements for 1-D, views otherwise.
   *
   * @example
   * for (const row of memmap('a.f4', { dtype: 'float32', mode: 'w+', shape: [2, 3] })) row.sum();
   */
  [Symbol.iterator](): Iterator<IterationItem<D, N>> {
    const view = this.#view;
    view.checkOpen();
    if (this.ndim === 0) throw memmapError('ERR_MEMMAP_NOT_ITERABLE', 'iteration over a 0-d array');
    if (this.ndim === 1 && this.size > 0) {
      // Every element will be read: bind now (ts/access.ts, getAny), and
      // without a zero-copy buffer read in blocks (returned as is: a yield*
      // here would cost a step per element).
      view.bind();
      if (view.storage.refused) return blockValues(view) as Iterator<IterationItem<D, N>>;
    }
    return this.#items();
  }

  *#items(): Generator<IterationItem<D, N>> {
    const get = this.get as unknown as GetFn;
    for (let i = 0; i < this.shape[0]; i++) {
      yield (this.ndim === 1 ? get(i) : this.slice(i)) as IterationItem<D, N>;
    }
  }

  /**
   * numpy's `a.sum()` over the whole view (strided views included), natively,
   * in numpy's result type ({@link SumOf}): integer and bool sums are
   * `bigint` (numpy's int64/uint64, wrapping as numpy does); float sums
   * accumulate in float64; complex sums are `{ re, im }`; timedelta64 a
   * `bigint` count. Not defined (does not compile) for datetime64, bytes,
   * unicode, void and records.
   *
   * @example
   * memmap('a.i4', { dtype: 'int32', mode: 'w+', shape: 3 }).sum(); // 0n
   */
  sum(this: NDArray<Summable<D>, N>, ...extra: never[]): SumOf<D> {
    return this.#reduce('sum', extra) as SumOf<D>;
  }

  /**
   * numpy's `a.min()`: NaN (NaT) if any element is NaN (NaT); a RangeError
   * on an empty view. The element type ({@link ExtremumOf}).
   *
   * @example
   * memmap('a.f4', { dtype: 'float32', mode: 'w+', shape: 3 }).min(); // 0
   */
  min(this: NDArray<Comparable<D>, N>, ...extra: never[]): ExtremumOf<D> {
    return this.#reduce('min', extra) as ExtremumOf<D>;
  }

  /**
   * numpy's `a.max()`: NaN (NaT) if any element is NaN (NaT); a RangeError
   * on an empty view. The element type ({@link ExtremumOf}).
   *
   * @example
   * memmap('a.u8', { dtype: 'uint64', mode: 'w+', shape: 3 }).max(); // 0n
   */
  max(this: NDArray<Comparable<D>, N>, ...extra: never[]): ExtremumOf<D> {
    return this.#reduce('max', extra) as ExtremumOf<D>;
  }

  /**
   * numpy's `a.mean()` as float64 (`{ re, im }` for complex); NaN for an
   * empty view. timedelta64: a bigint count of the unit, truncated as numpy
   * does (NaT if empty). See {@link MeanOf}.
   *
   * @example
   * memmap('a.i2', { dtype: 'int16', mode: 'w+', shape: 3 }).mean(); // 0
   */
  mean(this: NDArray<Summable<D>, N>, ...extra: never[]): MeanOf<D> {
    return this.#reduce('mean', extra) as MeanOf<D>;
  }

  /**
   * sum() off the main thread; the storage stays alive until it settles.
   *
   * @example
   * const total = await memmap('big.f4', { dtype: 'float32', mode: 'r' }).sumAsync(); // number
   */
  sumAsync(this: NDArray<Summable<D>, N>, ...extra: never[]): Promise<SumOf<D>> {
    return this.#reduceAsync('sum', extra) as Promise<SumOf<D>>;
  }

  /**
   * min() off the main thread.
   *
   * @example
   * const low = await memmap('big.f4', { dtype: 'float32', mode: 'r' }).minAsync(); // number
   */
  minAsync(this: NDArray<Comparable<D>, N>, ...extra: never[]): Promise<ExtremumOf<D>> {
    return this.#reduceAsync('min', extra) as Promise<ExtremumOf<D>>;
  }

  /**
   * max() off the main thread.
   *
   * @example
   * const high = await memmap('big.f4', { dtype: 'float32', mode: 'r' }).maxAsync(); // number
   */
  maxAsync(this: NDArray<Comparable<D>, N>, ...extra: never[]): Promise<ExtremumOf<D>> {
    return this.#reduceAsync('max', extra) as Promise<ExtremumOf<D>>;
  }

  /**
   * mean() off the main thread.
   *
   * @example
   * const average = await memmap('big.f4', { dtype: 'float32', mode: 'r' }).meanAsync(); // number
   */
  meanAsync(this: NDArray<Summable<D>, N>, ...extra: never[]): Promise<MeanOf<D>> {
    return this.#reduceAsync('mean', extra) as Promise<MeanOf<D>>;
  }

  /**
   * numpy's repr.
   *
   * @example
   * util.inspect(memmap('a.f4', { dtype: 'float32', mode: 'w+', shape: 2 })); // 'memmap([0., 0.], dtype=float32)'
   */
  [inspect.custom](): string {
    if (this.#view.closed || this.#view.storage.closed) return `${this._reprName()}(<closed>)`;
    return formatRepr(
      this.shape,
      this.#view.dtype,
      (index) => (this.get as unknown as GetFn)(...index),
      this._reprName(),
    );
  }

  /**
   * numpy's repr, as `String(array)` gives it.
   *
   * @example
   * String(memmap('a.f4', { dtype: 'float32', mode: 'w+', shape: 2 })); // 'memmap([0., 0.], dtype=float32)'
   */
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

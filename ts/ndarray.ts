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
import {
  ArrayFlags,
  assignElements,
  astypeOf,
  blockEnd,
  blockRows,
  BlocksOptions,
  checkOptions,
  copyOf,
  dateConverter,
  flagsOf,
  lengthOf,
  ToArrayOptions,
} from './convert';
import { AnyTypedArray, DType, DTypeLike, Scalar } from './dtype';
import type {
  CheckDType,
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
  Multipliable,
  ProdOf,
  SpreadOf,
  Spreadable,
  Nested,
  NestedInput,
  Plus,
  ShapeOf,
  SumOf,
  Summable,
  TagOf,
  Tuple,
} from './dtype/types';
import { memmapError, noMoreArguments, proxyArgumentError, show } from './errors';
import { formatRepr } from './format';
import { applyIndex, IndexItem, parseIndex } from './indexing';
import { typedArrayConstructor, typedLength } from './intrinsics';
import { arrayAccessors, Reduced, reduceAlong, reduceAlongAsync } from './reduce';
import { parseReduceOptions, ReductionName } from './reduce-options';
import { MAX_DIMS, byteExtent, contiguousStrides, isContiguous } from './shape';
import { HeapStorage } from './storage';
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
  get(...index: Tuple<number | bigint, N>): ElementOf<D>;
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
 * a TypedArray for numeric dtypes, or another array; nested arrays may hold
 * TypedArrays and arrays as rows, as numpy's `np.array([...])` reads them.
 *
 * @example
 * const a = memmap('a.bin', { dtype: 'float64', mode: 'w+', shape: [2, 2] });
 * a.assign([[1, 2], [3, 4]]);
 * a.assign(Float64Array.of(1, 2, 3, 4));
 * a.assign([Float64Array.of(1, 2), Float64Array.of(3, 4)]);
 * a.assign(otherArray);
 */
export type AssignSource<D extends DTypeTag> = NestedInput<ElementInput<D> | RowSource<D>>;

/**
 * What brings its own shape into an assign() source: a TypedArray (numeric
 * dtypes) or another array.
 *
 * @example
 * memmap('a.bin', { dtype: 'float32', mode: 'w+', shape: [2, 3] }).assign([Float32Array.of(1, 2, 3), otherRow]);
 */
export type RowSource<D extends DTypeTag> =
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
  get dtype(): DTypeStr<D> {
    return this.#dtype;
  }
  /**
   * Bytes per element.
   *
   * @example
   * memmap('a.bin', { dtype: 'complex64', mode: 'w+', shape: 2 }).itemsize; // 8
   */
  get itemsize(): number {
    return this.#itemsize;
  }
  /**
   * numpy's shape (frozen): a tuple of `ndim` numbers.
   *
   * @example
   * const [rows, cols] = memmap('a.bin', { mode: 'w+', shape: [3, 4] }).shape; // 3, 4
   */
  get shape(): ShapeOf<N> {
    return this.#shape;
  }
  /**
   * numpy's strides, in bytes (frozen).
   *
   * @example
   * memmap('a.bin', { dtype: 'int16', mode: 'w+', shape: [3, 4] }).strides; // [8, 2]
   */
  get strides(): ShapeOf<N> {
    return this.#strides;
  }
  /**
   * The number of dimensions.
   *
   * @example
   * memmap('a.bin', { mode: 'w+', shape: [3, 4] }).ndim; // 2
   */
  get ndim(): N {
    return this.#ndim;
  }
  /**
   * The number of elements.
   *
   * @example
   * memmap('a.bin', { mode: 'w+', shape: [3, 4] }).size; // 12
   */
  get size(): number {
    return this.#size;
  }
  /**
   * `size * itemsize`.
   *
   * @example
   * memmap('a.bin', { dtype: 'float64', mode: 'w+', shape: [3, 4] }).nbytes; // 96
   */
  get nbytes(): number {
    return this.#nbytes;
  }
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
  // The geometry behind the getters above: not properties a caller can
  // overwrite (append() and the broadcasts trust them).
  #dtype: DTypeStr<D>;
  #itemsize: number;
  #shape: ShapeOf<N>;
  #strides: ShapeOf<N>;
  #ndim: N;
  #size: number;
  #nbytes: number;
  #data: AnyTypedArray | null = null;
  /** numpy's `base`: the array this view was made from (its own base, if it was a view), null for a base. */
  #base: NDArray | null = null;

  static {
    accessorOf = (array) => (array as NDArray).#view;
    arrayAccessors.of = (value) =>
      typeof value === 'object' && value !== null && #view in value ? (value as NDArray).#view : null;
  }

  /** @internal Arrays are made by memmap(), openMemmap(), views and copies. */
  constructor(view: Accessor) {
    if (!(view instanceof Accessor)) {
      throw memmapError(
        'ERR_MEMMAP_INVALID_ARG',
        `an array is not made with new: memmap(), openMemmap(), copy() and astype() make them (got ${show(view)})`,
      );
    }
    this.#view = view;
    this.#dtype = view.dtype.str as DTypeStr<D>;
    this.#itemsize = view.dtype.itemsize;
    this.#shape = Object.freeze(view.shape.slice()) as unknown as ShapeOf<N>;
    this.#strides = Object.freeze(view.strides.slice()) as unknown as ShapeOf<N>;
    this.#ndim = view.ndim as N;
    this.#size = view.size;
    this.#nbytes = view.size * view.dtype.itemsize;
    this.get = view.get as unknown as Getter<D, N>;
  }

  /** @internal A view of the same storage, of this array's class. */
  protected _derive(view: Accessor): NDArray {
    return new NDArray(view);
  }

  /** A view made from this array: of its class, its `base` this array's base (or this array). */
  #child(view: Accessor): NDArray {
    const child = this._derive(view);
    child.#base = this.#base ?? (this as unknown as NDArray);
    return child;
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
    this.#shape = Object.freeze(view.shape.slice()) as unknown as ShapeOf<N>;
    this.#strides = Object.freeze(view.strides.slice()) as unknown as ShapeOf<N>;
    this.#ndim = view.ndim as N;
    this.#size = view.size;
    this.#nbytes = view.size * view.dtype.itemsize;
    (this as { get: Getter<D, N> }).get = view.get as unknown as Getter<D, N>;
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
  set(...indexAndValue: [...Tuple<number | bigint, N>, ElementInput<D>]): void {
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
  slice(spec: number | bigint, ...extra: never[]): NDArray<D, Minus1<N>>;
  slice(spec: string | number | bigint, ...extra: never[]): NDArray<D>;
  slice(spec: string | number | bigint, ...extra: never[]): NDArray<D> | NDArray<D, Minus1<N>> {
    noMoreArguments('slice', 1, extra, " (a range of rows is slice('0:10'))");
    const view = this.#view;
    view.checkOpen();
    const geometry = applyIndex(parseIndexCached(spec), {
      shape: this.shape as readonly number[] as number[],
      strides: this.strides as readonly number[] as number[],
      byteOffset: view.byteOffset,
    });
    return this.#child(
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
    noMoreArguments('field', 1, extra);
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
    if (this.ndim + field.shape.length > MAX_DIMS)
      throw memmapError(
        'ERR_MEMMAP_OUT_OF_RANGE',
        `field ${show(name)} adds ${field.shape.length} axes to this ${this.ndim}-dimensional array: numpy supports at most ${MAX_DIMS} dimensions`,
      );
    return this.#child(
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
    noMoreArguments('fill', 1, extra);
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
    noMoreArguments('assign', 1, extra);
    this.#checkWritable();
    try {
      this.#assign(source);
    } catch (error) {
      throw proxyArgumentError(error, 'source');
    }
  }

  #assign(source: AssignSource<D>): void {
    const view = this.#view;
    if (
      typedArrayConstructor(source) === view.dtype.row.TypedArray &&
      typedLength(source as AnyTypedArray) === this.size * view.dtype.row.lanes &&
      lanesAreValues(view)
    ) {
      // All of the values, in C order, of the kind data holds: one block copy.
      writeBlock(view, 'assign', 0, source);
      return;
    }
    const from = source instanceof NDArray ? source.#view : null;
    if (from !== null && assignElements(from, view)) return;
    const { values, shape } = flatten(source, { into: view.dtype });
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
  read(start: number | bigint = 0, length?: number | bigint, ...extra: never[]): LanesOf<D> {
    noMoreArguments('read', 2, extra);
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
  write(start: number | bigint, values: LanesOf<D> | readonly ElementInput<D>[], ...extra: never[]): void {
    noMoreArguments('write', 2, extra);
    this.#checkWritable();
    try {
      writeBlock(this.#view, 'write', start, values);
    } catch (error) {
      throw proxyArgumentError(error, 'values');
    }
  }

  /**
   * A copy as nested JS arrays (a scalar for 0-d), `ndim` deep. With
   * `{ dates: true }` (datetime64 arrays only), values are `Date`s and NaT is
   * `null`; units finer than milliseconds are floored to the millisecond.
   *
   * @example
   * const a = memmap('a.f4', { dtype: 'float32', mode: 'w+', shape: [2, 2] });
   * const rows: number[][] = a.toArray();
   * const t = memmap('t.bin', { dtype: 'datetime64[ms]', mode: 'w+', shape: 2 });
   * const days: (Date | null)[] = t.toArray({ dates: true });
   */
  toArray(options: ToArrayOptions & { readonly dates: true }, ...extra: never[]): Nested<Date | null, N>;
  toArray(options?: ToArrayOptions, ...extra: never[]): Nested<ElementOf<D>, N>;
  toArray(options?: ToArrayOptions, ...extra: never[]): Nested<ElementOf<D> | Date | null, N> {
    noMoreArguments('toArray', 1, extra);
    const { dates } = checkOptions('toArray', options, ['dates']);
    if (dates !== undefined && typeof dates !== 'boolean') {
      throw memmapError('ERR_MEMMAP_INVALID_ARG', `toArray(): dates must be true or false; got ${show(dates)}`);
    }
    const view = this.#view;
    view.checkOpen();
    const toDate = dates === true ? dateConverter(view.dtype) : null;
    checkFitsHeap(this.shape, view.dtype);
    if (this.size === 0) return emptyNested(this.shape, 0) as Nested<ElementOf<D>, N>;
    view.bind();
    // Without a zero-copy buffer, one block copy, then reads from the heap.
    const access = (view.storage.refused ? heapCopy(view) : view).bind();
    const build = (axis: number, at: number): unknown => {
      if (axis === this.ndim) return toDate === null ? access.read(at) : toDate(access.read(at) as bigint);
      const out = new Array(this.shape[axis]);
      for (let i = 0; i < this.shape[axis]; i++) out[i] = build(axis + 1, at + i * access.steps[axis]);
      return out;
    };
    return build(0, access.origin) as Nested<ElementOf<D>, N>;
  }

  // ----- Arrays in memory, and what an analyst asks next (issue 13; ts/convert.ts) -----

  /**
   * numpy's `a.copy()`: the elements in C order, in memory (an `NDArray`
   * that owns its data), same dtype and byte order, from any view. One
   * native copy (several threads for large ones): the way to get a strided
   * or field view into one TypedArray (`copy().data`). More than 2^32
   * elements or bytes, or more than memory allows, is a RangeError
   * (ERR_MEMMAP_TOO_LARGE) before anything is allocated.
   *
   * @example
   * const ticks = memmap('ticks.bin', { dtype: [['time', '<M8[ns]'], ['price', '<f8']], mode: 'r' });
   * const prices: Float64Array = ticks.field('price').copy().data;
   */
  copy(...extra: never[]): NDArray<D, N> {
    noMoreArguments('copy', 0, extra);
    return new NDArray(copyOf(this.#view));
  }

  /**
   * numpy's `a.astype(dtype)` with `casting='unsafe'` (always a copy, C
   * order, in memory): every numeric dtype to every other, either byte
   * order, truncating and wrapping as numpy does on x86-64 (NaN, infinity
   * and out-of-range floats to integers give what numpy gives there);
   * float16 rounds to nearest-even; complex to real drops the imaginary
   * part. datetime64/timedelta64 convert to their own unit and to and from
   * int64/uint64 counts (other unit conversions: ERR_MEMMAP_INVALID_DTYPE).
   * The one option is numpy's `casting`, which must be `'unsafe'`.
   *
   * @example
   * const a = memmap('a.f4', { dtype: 'float32', mode: 'r' });
   * const half = a.astype('float16'); // NDArray<'float16', 1>
   */
  astype<const T extends DTypeLike>(
    dtype: T & NoInfer<CheckDType<T>>,
    options?: { readonly casting?: 'unsafe' },
    ...extra: never[]
  ): NDArray<TagOf<T>, N> {
    noMoreArguments('astype', 2, extra);
    const { casting } = checkOptions('astype', options, ['casting']);
    if (casting !== undefined && casting !== 'unsafe') {
      throw memmapError(
        'ERR_MEMMAP_INVALID_ARG',
        `astype(): casting ${show(casting)} is not supported: only 'unsafe' (numpy's default for astype)`,
      );
    }
    return new NDArray(astypeOf(this.#view, dtype)) as NDArray<TagOf<T>, N>;
  }

  /**
   * numpy's `len(a)`: the length of the first axis. A 0-d array has none
   * (a TypeError, ERR_MEMMAP_NOT_ITERABLE, as numpy's "len() of unsized object").
   *
   * @example
   * memmap('a.bin', { mode: 'w+', shape: [3, 4] }).length; // 3
   */
  get length(): number {
    return lengthOf(this.#view);
  }

  /**
   * numpy's `a.flags`: `cContiguous`, `fContiguous` (numpy's rules: axes of
   * length 1 do not count, an empty array is both), `writeable`, `ownData`
   * (true only for an array made in memory, such as a copy).
   *
   * @example
   * memmap('a.bin', { mode: 'w+', shape: [3, 4] }).slice(':, ::2').flags.cContiguous; // false
   */
  get flags(): ArrayFlags {
    this.#view.checkOpen();
    return flagsOf(this.#view, this.#base === null && this.#view.storage instanceof HeapStorage);
  }

  /**
   * numpy's `a.base`: the array a view was made from (for a view of a view,
   * the original array), null for an array that is not a view.
   *
   * @example
   * const a = memmap('a.bin', { mode: 'w+', shape: [3, 4] });
   * a.slice('1:').slice(0).base === a; // true
   */
  get base(): NDArray | null {
    return this.#base;
  }

  /**
   * Iterates over the array as consecutive views along the first axis,
   * `rows` at a time (default: as many as fit 2^30 bytes), each small
   * enough for one TypedArray `data` where its layout allows (blocks end at
   * the storage's 4 GiB buffer boundaries): the way through an array larger
   * than one TypedArray.
   *
   * @example
   * const big = memmap('big.f4', { dtype: 'float32', mode: 'r', shape: [2 ** 31, 4] });
   * for (const block of big.blocks({ rows: 2 ** 20 })) block.data; // Float32Array of 2^22 values each
   */
  blocks(options?: BlocksOptions, ...extra: never[]): Generator<NDArray<D, N>, void, undefined> {
    noMoreArguments('blocks', 1, extra);
    const view = this.#view;
    view.checkOpen();
    // Checked now, not at the first next().
    const rows = blockRows(view, options);
    return this.#blocks(rows);
  }

  *#blocks(rows: number): Generator<NDArray<D, N>, void, undefined> {
    for (let start = 0; start < this.shape[0];) {
      const end = blockEnd(this.#view, start, rows);
      yield this.slice(`${start}:${end}`) as unknown as NDArray<D, N>;
      start = end;
    }
  }

  /** @internal The values in C order and the shape, for broadcasting this array into one of `into`. */
  [VALUES](into?: DType): { values: unknown[]; shape: number[] } {
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
    // Another unit of datetime64/timedelta64: counts of that one, as numpy converts them.
    return { values: into === undefined ? values : convertTimeUnits(values, view.dtype, into), shape: [...this.shape] };
  }

  /**
   * Iterates over the first axis, as numpy does: elements for 1-D, views otherwise.
   *
   * @example
   * for (const row of memmap('a.f4', { dtype: 'float32', mode: 'w+', shape: [2, 3] })) row.sum();
   */
  [Symbol.iterator](...extra: never[]): Iterator<IterationItem<D, N>> {
    noMoreArguments('[Symbol.iterator]', 0, extra);
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
   * numpy's `a.sum()`: integer and bool sums are `bigint` (numpy's int64/uint64, wrapping as numpy does), float sums a number (without options over a file, accumulated in float64), complex `{ re, im }`, timedelta64 a `bigint` count. Not defined (does not compile) for datetime64, bytes, unicode, void and records. Options: `axis` (an integer or an array of integers, negative counting from the end), `keepdims`, `where` (a bool array broadcast as numpy does), `initial`. With an `axis` (or `keepdims`), an in-memory {@link NDArray} in numpy's result dtype.
   *
   * @example
   * const a = memmap('a.i4', { dtype: 'int32', mode: 'w+', shape: [2, 3] });
   * a.sum(); // 0n
   * a.sum({ axis: 0 }); // NDArray<'int64'>: array([0, 0, 0])
   * a.sum({ axis: -1, keepdims: true, where: [true, false, true], initial: 10n });
   */
  sum(
    this: NDArray<Summable<D>, N>,
    options?: SumOptions & { readonly axis?: null; readonly keepdims?: false },
    ...extra: never[]
  ): SumOf<D>;
  /**
   * sum() with `keepdims`: an array with the reduced axes kept as length 1.
   *
   * @example
   * a.sum({ keepdims: true });
   */
  sum(this: NDArray<Summable<D>, N>, options: SumOptions & { readonly keepdims: true }, ...extra: never[]): NDArray;
  /**
   * sum() along one `axis`: an array (a scalar for a 1-D array).
   *
   * @example
   * a.sum({ axis: 0 });
   */
  sum(
    this: NDArray<Summable<D>, N>,
    options: SumOptions & { readonly axis: number | bigint },
    ...extra: never[]
  ): AxisResult<N, SumOf<D>, NDArray>;
  /**
   * sum() with `axis` and `keepdims` as the options say: a scalar when no axis is left, else an array.
   *
   * @example
   * a.sum({ axis: [0, 1] });
   */
  sum(this: NDArray<Summable<D>, N>, options: SumOptions, ...extra: never[]): SumOf<D> | NDArray;
  sum(options?: unknown, ...extra: never[]): Scalar | NDArray {
    return this.#reduceAlong('sum', options, extra);
  }

  /**
   * numpy's `a.prod()`: the product, in the dtype numpy gives a sum (int64/uint64 for bool and integers, wrapping as numpy does). Options: `axis` (an integer or an array of integers, negative counting from the end), `keepdims`, `where` (a bool array broadcast as numpy does), `initial`. With an `axis` (or `keepdims`), an in-memory {@link NDArray} in numpy's result dtype.
   *
   * @example
   * memmap('a.i2', { dtype: 'int16', mode: 'w+', shape: [2, 2] }).prod({ axis: 1 }); // NDArray<'int64'>
   */
  prod(
    this: NDArray<Multipliable<D>, N>,
    options?: SumOptions & { readonly axis?: null; readonly keepdims?: false },
    ...extra: never[]
  ): ProdOf<D>;
  /**
   * prod() with `keepdims`: an array with the reduced axes kept as length 1.
   *
   * @example
   * a.prod({ keepdims: true });
   */
  prod(
    this: NDArray<Multipliable<D>, N>,
    options: SumOptions & { readonly keepdims: true },
    ...extra: never[]
  ): NDArray;
  /**
   * prod() along one `axis`: an array (a scalar for a 1-D array).
   *
   * @example
   * a.prod({ axis: 0 });
   */
  prod(
    this: NDArray<Multipliable<D>, N>,
    options: SumOptions & { readonly axis: number | bigint },
    ...extra: never[]
  ): AxisResult<N, ProdOf<D>, NDArray>;
  /**
   * prod() with `axis` and `keepdims` as the options say: a scalar when no axis is left, else an array.
   *
   * @example
   * a.prod({ axis: [0, 1] });
   */
  prod(this: NDArray<Multipliable<D>, N>, options: SumOptions, ...extra: never[]): ProdOf<D> | NDArray;
  prod(options?: unknown, ...extra: never[]): Scalar | NDArray {
    return this.#reduceAlong('prod', options, extra);
  }

  /**
   * numpy's `a.mean()` (float64 for bool and integers; `{ re, im }` for complex); NaN for an empty view, without an error, as numpy (which warns). timedelta64: a bigint count of the unit, truncated as numpy does. Options: `axis` (an integer or an array of integers, negative counting from the end), `keepdims`, `where` (a bool array broadcast as numpy does). With an `axis` (or `keepdims`), an in-memory {@link NDArray} in numpy's result dtype.
   *
   * @example
   * const a = memmap('a.f4', { dtype: 'float32', mode: 'w+', shape: [100, 4] });
   * a.mean(); // number
   * a.mean({ axis: 0 }); // NDArray<'float32'>: the column means
   */
  mean(
    this: NDArray<Summable<D>, N>,
    options?: WhereOptions & { readonly axis?: null; readonly keepdims?: false },
    ...extra: never[]
  ): MeanOf<D>;
  /**
   * mean() with `keepdims`: an array with the reduced axes kept as length 1.
   *
   * @example
   * a.mean({ keepdims: true });
   */
  mean(this: NDArray<Summable<D>, N>, options: WhereOptions & { readonly keepdims: true }, ...extra: never[]): NDArray;
  /**
   * mean() along one `axis`: an array (a scalar for a 1-D array).
   *
   * @example
   * a.mean({ axis: 0 });
   */
  mean(
    this: NDArray<Summable<D>, N>,
    options: WhereOptions & { readonly axis: number | bigint },
    ...extra: never[]
  ): AxisResult<N, MeanOf<D>, NDArray>;
  /**
   * mean() with `axis` and `keepdims` as the options say: a scalar when no axis is left, else an array.
   *
   * @example
   * a.mean({ axis: [0, 1] });
   */
  mean(this: NDArray<Summable<D>, N>, options: WhereOptions, ...extra: never[]): MeanOf<D> | NDArray;
  mean(options?: unknown, ...extra: never[]): Scalar | NDArray {
    return this.#reduceAlong('mean', options, extra);
  }

  /**
   * numpy's `a.min()`: NaN (NaT) if any element is NaN (NaT); ERR_MEMMAP_EMPTY_REDUCTION (a RangeError) over no elements unless `initial` is given. With `where`, `initial` is needed (numpy's rule). Options: `axis` (an integer or an array of integers, negative counting from the end), `keepdims`, `where` (a bool array broadcast as numpy does), `initial`. With an `axis` (or `keepdims`), an in-memory {@link NDArray} in numpy's result dtype.
   *
   * @example
   * const a = memmap('a.f4', { dtype: 'float32', mode: 'w+', shape: [3, 2] });
   * a.min(); // number
   * a.min({ axis: 1 }); // NDArray<'float32'>
   */
  min(
    this: NDArray<Comparable<D>, N>,
    options?: SumOptions & { readonly axis?: null; readonly keepdims?: false },
    ...extra: never[]
  ): ExtremumOf<D>;
  /**
   * min() with `keepdims`: an array with the reduced axes kept as length 1.
   *
   * @example
   * a.min({ keepdims: true });
   */
  min(this: NDArray<Comparable<D>, N>, options: SumOptions & { readonly keepdims: true }, ...extra: never[]): NDArray;
  /**
   * min() along one `axis`: an array (a scalar for a 1-D array).
   *
   * @example
   * a.min({ axis: 0 });
   */
  min(
    this: NDArray<Comparable<D>, N>,
    options: SumOptions & { readonly axis: number | bigint },
    ...extra: never[]
  ): AxisResult<N, ExtremumOf<D>, NDArray>;
  /**
   * min() with `axis` and `keepdims` as the options say: a scalar when no axis is left, else an array.
   *
   * @example
   * a.min({ axis: [0, 1] });
   */
  min(this: NDArray<Comparable<D>, N>, options: SumOptions, ...extra: never[]): ExtremumOf<D> | NDArray;
  min(options?: unknown, ...extra: never[]): Scalar | NDArray {
    return this.#reduceAlong('min', options, extra);
  }

  /**
   * numpy's `a.max()`: as `min()`, the largest. Options: `axis` (an integer or an array of integers, negative counting from the end), `keepdims`, `where` (a bool array broadcast as numpy does), `initial`. With an `axis` (or `keepdims`), an in-memory {@link NDArray} in numpy's result dtype.
   *
   * @example
   * const a = memmap('a.u8', { dtype: 'uint64', mode: 'w+', shape: [3, 2] });
   * a.max(); // 0n
   * a.max({ axis: 1, where: [true, false], initial: 0n });
   */
  max(
    this: NDArray<Comparable<D>, N>,
    options?: SumOptions & { readonly axis?: null; readonly keepdims?: false },
    ...extra: never[]
  ): ExtremumOf<D>;
  /**
   * max() with `keepdims`: an array with the reduced axes kept as length 1.
   *
   * @example
   * a.max({ keepdims: true });
   */
  max(this: NDArray<Comparable<D>, N>, options: SumOptions & { readonly keepdims: true }, ...extra: never[]): NDArray;
  /**
   * max() along one `axis`: an array (a scalar for a 1-D array).
   *
   * @example
   * a.max({ axis: 0 });
   */
  max(
    this: NDArray<Comparable<D>, N>,
    options: SumOptions & { readonly axis: number | bigint },
    ...extra: never[]
  ): AxisResult<N, ExtremumOf<D>, NDArray>;
  /**
   * max() with `axis` and `keepdims` as the options say: a scalar when no axis is left, else an array.
   *
   * @example
   * a.max({ axis: [0, 1] });
   */
  max(this: NDArray<Comparable<D>, N>, options: SumOptions, ...extra: never[]): ExtremumOf<D> | NDArray;
  max(options?: unknown, ...extra: never[]): Scalar | NDArray {
    return this.#reduceAlong('max', options, extra);
  }

  /**
   * numpy's `a.argmin()`: the C-order index of the first smallest element (of the first NaN/NaT if any), a number; with `axis` (one integer) the indices along it as int64. Options: `axis` (one integer, negative counting from the end), `keepdims`. With an `axis` (or `keepdims`), an in-memory {@link NDArray} in numpy's result dtype.
   *
   * @example
   * const a = memmap('a.f8', { dtype: 'float64', mode: 'w+', shape: [3, 2] });
   * a.argmin(); // number
   * a.argmin({ axis: 0 }); // NDArray<'int64'>
   */
  argmin(
    this: NDArray<Comparable<D>, N>,
    options?: ArgOptions & { readonly axis?: null; readonly keepdims?: false },
    ...extra: never[]
  ): number;
  /**
   * argmin() with `keepdims`: an array with the reduced axes kept as length 1.
   *
   * @example
   * a.argmin({ keepdims: true });
   */
  argmin(
    this: NDArray<Comparable<D>, N>,
    options: ArgOptions & { readonly keepdims: true },
    ...extra: never[]
  ): NDArray<'int64'>;
  /**
   * argmin() along one `axis`: an array (a scalar for a 1-D array).
   *
   * @example
   * a.argmin({ axis: 0 });
   */
  argmin(
    this: NDArray<Comparable<D>, N>,
    options: ArgOptions & { readonly axis: number | bigint },
    ...extra: never[]
  ): AxisResult<N, number, NDArray<'int64'>>;
  /**
   * argmin() with `axis` and `keepdims` as the options say: a scalar when no axis is left, else an array.
   *
   * @example
   * a.argmin({ axis: axisFromUser });
   */
  argmin(this: NDArray<Comparable<D>, N>, options: ArgOptions, ...extra: never[]): number | NDArray<'int64'>;
  argmin(options?: unknown, ...extra: never[]): Scalar | NDArray {
    return this.#reduceAlong('argmin', options, extra);
  }

  /**
   * numpy's `a.argmax()`: as `argmin()`, the first largest (the first NaN if any). Options: `axis` (one integer, negative counting from the end), `keepdims`. With an `axis` (or `keepdims`), an in-memory {@link NDArray} in numpy's result dtype.
   *
   * @example
   * const a = memmap('a.f4', { dtype: 'float32', mode: 'w+', shape: [3, 2] });
   * a.argmax(); // number
   * a.argmax({ axis: 0 }); // NDArray<'int64'>: the row of each column's maximum
   */
  argmax(
    this: NDArray<Comparable<D>, N>,
    options?: ArgOptions & { readonly axis?: null; readonly keepdims?: false },
    ...extra: never[]
  ): number;
  /**
   * argmax() with `keepdims`: an array with the reduced axes kept as length 1.
   *
   * @example
   * a.argmax({ keepdims: true });
   */
  argmax(
    this: NDArray<Comparable<D>, N>,
    options: ArgOptions & { readonly keepdims: true },
    ...extra: never[]
  ): NDArray<'int64'>;
  /**
   * argmax() along one `axis`: an array (a scalar for a 1-D array).
   *
   * @example
   * a.argmax({ axis: 0 });
   */
  argmax(
    this: NDArray<Comparable<D>, N>,
    options: ArgOptions & { readonly axis: number | bigint },
    ...extra: never[]
  ): AxisResult<N, number, NDArray<'int64'>>;
  /**
   * argmax() with `axis` and `keepdims` as the options say: a scalar when no axis is left, else an array.
   *
   * @example
   * a.argmax({ axis: axisFromUser });
   */
  argmax(this: NDArray<Comparable<D>, N>, options: ArgOptions, ...extra: never[]): number | NDArray<'int64'>;
  argmax(options?: unknown, ...extra: never[]): Scalar | NDArray {
    return this.#reduceAlong('argmax', options, extra);
  }

  /**
   * numpy's `a.std()`: the standard deviation, divisor `count - ddof` (NaN when that is not positive); float64 for bool and integers, a float's own dtype, the real dtype for complex. Options: `axis` (an integer or an array of integers, negative counting from the end), `keepdims`, `ddof`, `where` (a bool array broadcast as numpy does). With an `axis` (or `keepdims`), an in-memory {@link NDArray} in numpy's result dtype.
   *
   * @example
   * const a = memmap('a.f4', { dtype: 'float32', mode: 'w+', shape: [100, 4] });
   * a.std(); // number
   * a.std({ axis: 0, ddof: 1 }); // NDArray<'float32'>
   */
  std(
    this: NDArray<Spreadable<D>, N>,
    options?: SpreadOptions & { readonly axis?: null; readonly keepdims?: false },
    ...extra: never[]
  ): SpreadOf<D>;
  /**
   * std() with `keepdims`: an array with the reduced axes kept as length 1.
   *
   * @example
   * a.std({ keepdims: true });
   */
  std(
    this: NDArray<Spreadable<D>, N>,
    options: SpreadOptions & { readonly keepdims: true },
    ...extra: never[]
  ): NDArray;
  /**
   * std() along one `axis`: an array (a scalar for a 1-D array).
   *
   * @example
   * a.std({ axis: 0 });
   */
  std(
    this: NDArray<Spreadable<D>, N>,
    options: SpreadOptions & { readonly axis: number | bigint },
    ...extra: never[]
  ): AxisResult<N, SpreadOf<D>, NDArray>;
  /**
   * std() with `axis` and `keepdims` as the options say: a scalar when no axis is left, else an array.
   *
   * @example
   * a.std({ axis: [0, 1] });
   */
  std(this: NDArray<Spreadable<D>, N>, options: SpreadOptions, ...extra: never[]): SpreadOf<D> | NDArray;
  std(options?: unknown, ...extra: never[]): Scalar | NDArray {
    return this.#reduceAlong('std', options, extra);
  }

  /**
   * numpy's `a.var()`: the variance, as `std()` without the square root. Options: `axis` (an integer or an array of integers, negative counting from the end), `keepdims`, `ddof`, `where` (a bool array broadcast as numpy does). With an `axis` (or `keepdims`), an in-memory {@link NDArray} in numpy's result dtype.
   *
   * @example
   * memmap('a.i2', { dtype: 'int16', mode: 'w+', shape: [4, 4] }).var({ axis: 1 }); // NDArray<'float64'>
   */
  var(
    this: NDArray<Spreadable<D>, N>,
    options?: SpreadOptions & { readonly axis?: null; readonly keepdims?: false },
    ...extra: never[]
  ): SpreadOf<D>;
  /**
   * var() with `keepdims`: an array with the reduced axes kept as length 1.
   *
   * @example
   * a.var({ keepdims: true });
   */
  var(
    this: NDArray<Spreadable<D>, N>,
    options: SpreadOptions & { readonly keepdims: true },
    ...extra: never[]
  ): NDArray;
  /**
   * var() along one `axis`: an array (a scalar for a 1-D array).
   *
   * @example
   * a.var({ axis: 0 });
   */
  var(
    this: NDArray<Spreadable<D>, N>,
    options: SpreadOptions & { readonly axis: number | bigint },
    ...extra: never[]
  ): AxisResult<N, SpreadOf<D>, NDArray>;
  /**
   * var() with `axis` and `keepdims` as the options say: a scalar when no axis is left, else an array.
   *
   * @example
   * a.var({ axis: [0, 1] });
   */
  var(this: NDArray<Spreadable<D>, N>, options: SpreadOptions, ...extra: never[]): SpreadOf<D> | NDArray;
  var(options?: unknown, ...extra: never[]): Scalar | NDArray {
    return this.#reduceAlong('var', options, extra);
  }

  /**
   * numpy's `a.any()`: whether any element is nonzero (NaN counts as nonzero), a boolean. Options: `axis` (an integer or an array of integers, negative counting from the end), `keepdims`, `where` (a bool array broadcast as numpy does). With an `axis` (or `keepdims`), an in-memory {@link NDArray} in numpy's result dtype.
   *
   * @example
   * const a = memmap('a.u1', { dtype: 'uint8', mode: 'w+', shape: [2, 2] });
   * a.any(); // false
   * a.any({ axis: 0 }); // NDArray<'bool'>
   */
  any(
    this: NDArray<Comparable<D>, N>,
    options?: WhereOptions & { readonly axis?: null; readonly keepdims?: false },
    ...extra: never[]
  ): boolean;
  /**
   * any() with `keepdims`: an array with the reduced axes kept as length 1.
   *
   * @example
   * a.any({ keepdims: true });
   */
  any(this: NDArray<Comparable<D>, N>, options: WhereOptions & { readonly keepdims: true }, ...extra: never[]): NDArray;
  /**
   * any() along one `axis`: an array (a scalar for a 1-D array).
   *
   * @example
   * a.any({ axis: 0 });
   */
  any(
    this: NDArray<Comparable<D>, N>,
    options: WhereOptions & { readonly axis: number | bigint },
    ...extra: never[]
  ): AxisResult<N, boolean, NDArray>;
  /**
   * any() with `axis` and `keepdims` as the options say: a scalar when no axis is left, else an array.
   *
   * @example
   * a.any({ axis: [0, 1] });
   */
  any(this: NDArray<Comparable<D>, N>, options: WhereOptions, ...extra: never[]): boolean | NDArray;
  any(options?: unknown, ...extra: never[]): Scalar | NDArray {
    return this.#reduceAlong('any', options, extra);
  }

  /**
   * numpy's `a.all()`: whether every element is nonzero (true over no elements), a boolean. Options: `axis` (an integer or an array of integers, negative counting from the end), `keepdims`, `where` (a bool array broadcast as numpy does). With an `axis` (or `keepdims`), an in-memory {@link NDArray} in numpy's result dtype.
   *
   * @example
   * const a = memmap('a.u1', { dtype: 'uint8', mode: 'w+', shape: [2, 2] });
   * a.all(); // false
   * a.all({ axis: 1, keepdims: true }); // NDArray<'bool'> of shape [2, 1]
   */
  all(
    this: NDArray<Comparable<D>, N>,
    options?: WhereOptions & { readonly axis?: null; readonly keepdims?: false },
    ...extra: never[]
  ): boolean;
  /**
   * all() with `keepdims`: an array with the reduced axes kept as length 1.
   *
   * @example
   * a.all({ keepdims: true });
   */
  all(this: NDArray<Comparable<D>, N>, options: WhereOptions & { readonly keepdims: true }, ...extra: never[]): NDArray;
  /**
   * all() along one `axis`: an array (a scalar for a 1-D array).
   *
   * @example
   * a.all({ axis: 0 });
   */
  all(
    this: NDArray<Comparable<D>, N>,
    options: WhereOptions & { readonly axis: number | bigint },
    ...extra: never[]
  ): AxisResult<N, boolean, NDArray>;
  /**
   * all() with `axis` and `keepdims` as the options say: a scalar when no axis is left, else an array.
   *
   * @example
   * a.all({ axis: [0, 1] });
   */
  all(this: NDArray<Comparable<D>, N>, options: WhereOptions, ...extra: never[]): boolean | NDArray;
  all(options?: unknown, ...extra: never[]): Scalar | NDArray {
    return this.#reduceAlong('all', options, extra);
  }

  /**
   * numpy's `np.count_nonzero(a)`: how many elements are nonzero, a number; with `axis` the counts as int64. Options: `axis` (an integer or an array of integers, negative counting from the end), `keepdims`. With an `axis` (or `keepdims`), an in-memory {@link NDArray} in numpy's result dtype.
   *
   * @example
   * const a = memmap('a.f4', { dtype: 'float32', mode: 'w+', shape: [2, 3] });
   * a.countNonzero(); // 0
   * a.countNonzero({ axis: 1 }); // NDArray<'int64'>
   */
  countNonzero(
    this: NDArray<Comparable<D>, N>,
    options?: ReduceOptions & { readonly axis?: null; readonly keepdims?: false },
    ...extra: never[]
  ): number;
  /**
   * countNonzero() with `keepdims`: an array with the reduced axes kept as length 1.
   *
   * @example
   * a.countNonzero({ keepdims: true });
   */
  countNonzero(
    this: NDArray<Comparable<D>, N>,
    options: ReduceOptions & { readonly keepdims: true },
    ...extra: never[]
  ): NDArray<'int64'>;
  /**
   * countNonzero() along one `axis`: an array (a scalar for a 1-D array).
   *
   * @example
   * a.countNonzero({ axis: 0 });
   */
  countNonzero(
    this: NDArray<Comparable<D>, N>,
    options: ReduceOptions & { readonly axis: number | bigint },
    ...extra: never[]
  ): AxisResult<N, number, NDArray<'int64'>>;
  /**
   * countNonzero() with `axis` and `keepdims` as the options say: a scalar when no axis is left, else an array.
   *
   * @example
   * a.countNonzero({ axis: [0, 1] });
   */
  countNonzero(this: NDArray<Comparable<D>, N>, options: ReduceOptions, ...extra: never[]): number | NDArray<'int64'>;
  countNonzero(options?: unknown, ...extra: never[]): Scalar | NDArray {
    return this.#reduceAlong('countNonzero', options, extra);
  }

  /**
   * sum() off the main thread, on memmap's own threads, with the same options and `signal` (an AbortSignal: the Promise rejects with an AbortError whose `cause` is the signal's reason) and `onProgress(fraction)` (rising, in (0, 1], never after the Promise settles).
   *
   * @example
   * const controller = new AbortController();
   * await memmap('big.f4', { dtype: 'float32', mode: 'r', shape: [1e6, 4] }).sumAsync({ axis: 0, signal: controller.signal, onProgress: (f) => console.log(f) });
   */
  sumAsync(
    this: NDArray<Summable<D>, N>,
    options?: SumOptions & AsyncOptions & { readonly axis?: null; readonly keepdims?: false },
    ...extra: never[]
  ): Promise<SumOf<D>>;
  /**
   * sumAsync() with `keepdims`: an array with the reduced axes kept as length 1.
   *
   * @example
   * a.sumAsync({ keepdims: true });
   */
  sumAsync(
    this: NDArray<Summable<D>, N>,
    options: SumOptions & AsyncOptions & { readonly keepdims: true },
    ...extra: never[]
  ): Promise<NDArray>;
  /**
   * sumAsync() along one `axis`: an array (a scalar for a 1-D array).
   *
   * @example
   * a.sumAsync({ axis: 0 });
   */
  sumAsync(
    this: NDArray<Summable<D>, N>,
    options: SumOptions & AsyncOptions & { readonly axis: number | bigint },
    ...extra: never[]
  ): Promise<AxisResult<N, SumOf<D>, NDArray>>;
  /**
   * sumAsync() with `axis` and `keepdims` as the options say: a scalar when no axis is left, else an array.
   *
   * @example
   * a.sumAsync({ axis: [0, 1] });
   */
  sumAsync(
    this: NDArray<Summable<D>, N>,
    options: SumOptions & AsyncOptions,
    ...extra: never[]
  ): Promise<SumOf<D> | NDArray>;
  sumAsync(options?: unknown, ...extra: never[]): Promise<Scalar | NDArray> {
    return this.#reduceAlongAsync('sum', options, extra);
  }

  /**
   * prod() off the main thread, on memmap's own threads, with the same options and `signal` (an AbortSignal: the Promise rejects with an AbortError whose `cause` is the signal's reason) and `onProgress(fraction)` (rising, in (0, 1], never after the Promise settles).
   *
   * @example
   * const controller = new AbortController();
   * await memmap('big.f4', { dtype: 'float32', mode: 'r', shape: [1e6, 4] }).prodAsync({ axis: 0, signal: controller.signal, onProgress: (f) => console.log(f) });
   */
  prodAsync(
    this: NDArray<Multipliable<D>, N>,
    options?: SumOptions & AsyncOptions & { readonly axis?: null; readonly keepdims?: false },
    ...extra: never[]
  ): Promise<ProdOf<D>>;
  /**
   * prodAsync() with `keepdims`: an array with the reduced axes kept as length 1.
   *
   * @example
   * a.prodAsync({ keepdims: true });
   */
  prodAsync(
    this: NDArray<Multipliable<D>, N>,
    options: SumOptions & AsyncOptions & { readonly keepdims: true },
    ...extra: never[]
  ): Promise<NDArray>;
  /**
   * prodAsync() along one `axis`: an array (a scalar for a 1-D array).
   *
   * @example
   * a.prodAsync({ axis: 0 });
   */
  prodAsync(
    this: NDArray<Multipliable<D>, N>,
    options: SumOptions & AsyncOptions & { readonly axis: number | bigint },
    ...extra: never[]
  ): Promise<AxisResult<N, ProdOf<D>, NDArray>>;
  /**
   * prodAsync() with `axis` and `keepdims` as the options say: a scalar when no axis is left, else an array.
   *
   * @example
   * a.prodAsync({ axis: [0, 1] });
   */
  prodAsync(
    this: NDArray<Multipliable<D>, N>,
    options: SumOptions & AsyncOptions,
    ...extra: never[]
  ): Promise<ProdOf<D> | NDArray>;
  prodAsync(options?: unknown, ...extra: never[]): Promise<Scalar | NDArray> {
    return this.#reduceAlongAsync('prod', options, extra);
  }

  /**
   * mean() off the main thread, on memmap's own threads, with the same options and `signal` (an AbortSignal: the Promise rejects with an AbortError whose `cause` is the signal's reason) and `onProgress(fraction)` (rising, in (0, 1], never after the Promise settles).
   *
   * @example
   * const controller = new AbortController();
   * await memmap('big.f4', { dtype: 'float32', mode: 'r', shape: [1e6, 4] }).meanAsync({ axis: 0, signal: controller.signal, onProgress: (f) => console.log(f) });
   */
  meanAsync(
    this: NDArray<Summable<D>, N>,
    options?: WhereOptions & AsyncOptions & { readonly axis?: null; readonly keepdims?: false },
    ...extra: never[]
  ): Promise<MeanOf<D>>;
  /**
   * meanAsync() with `keepdims`: an array with the reduced axes kept as length 1.
   *
   * @example
   * a.meanAsync({ keepdims: true });
   */
  meanAsync(
    this: NDArray<Summable<D>, N>,
    options: WhereOptions & AsyncOptions & { readonly keepdims: true },
    ...extra: never[]
  ): Promise<NDArray>;
  /**
   * meanAsync() along one `axis`: an array (a scalar for a 1-D array).
   *
   * @example
   * a.meanAsync({ axis: 0 });
   */
  meanAsync(
    this: NDArray<Summable<D>, N>,
    options: WhereOptions & AsyncOptions & { readonly axis: number | bigint },
    ...extra: never[]
  ): Promise<AxisResult<N, MeanOf<D>, NDArray>>;
  /**
   * meanAsync() with `axis` and `keepdims` as the options say: a scalar when no axis is left, else an array.
   *
   * @example
   * a.meanAsync({ axis: [0, 1] });
   */
  meanAsync(
    this: NDArray<Summable<D>, N>,
    options: WhereOptions & AsyncOptions,
    ...extra: never[]
  ): Promise<MeanOf<D> | NDArray>;
  meanAsync(options?: unknown, ...extra: never[]): Promise<Scalar | NDArray> {
    return this.#reduceAlongAsync('mean', options, extra);
  }

  /**
   * min() off the main thread, on memmap's own threads, with the same options and `signal` (an AbortSignal: the Promise rejects with an AbortError whose `cause` is the signal's reason) and `onProgress(fraction)` (rising, in (0, 1], never after the Promise settles).
   *
   * @example
   * const controller = new AbortController();
   * await memmap('big.f4', { dtype: 'float32', mode: 'r', shape: [1e6, 4] }).minAsync({ axis: 0, signal: controller.signal, onProgress: (f) => console.log(f) });
   */
  minAsync(
    this: NDArray<Comparable<D>, N>,
    options?: SumOptions & AsyncOptions & { readonly axis?: null; readonly keepdims?: false },
    ...extra: never[]
  ): Promise<ExtremumOf<D>>;
  /**
   * minAsync() with `keepdims`: an array with the reduced axes kept as length 1.
   *
   * @example
   * a.minAsync({ keepdims: true });
   */
  minAsync(
    this: NDArray<Comparable<D>, N>,
    options: SumOptions & AsyncOptions & { readonly keepdims: true },
    ...extra: never[]
  ): Promise<NDArray>;
  /**
   * minAsync() along one `axis`: an array (a scalar for a 1-D array).
   *
   * @example
   * a.minAsync({ axis: 0 });
   */
  minAsync(
    this: NDArray<Comparable<D>, N>,
    options: SumOptions & AsyncOptions & { readonly axis: number | bigint },
    ...extra: never[]
  ): Promise<AxisResult<N, ExtremumOf<D>, NDArray>>;
  /**
   * minAsync() with `axis` and `keepdims` as the options say: a scalar when no axis is left, else an array.
   *
   * @example
   * a.minAsync({ axis: [0, 1] });
   */
  minAsync(
    this: NDArray<Comparable<D>, N>,
    options: SumOptions & AsyncOptions,
    ...extra: never[]
  ): Promise<ExtremumOf<D> | NDArray>;
  minAsync(options?: unknown, ...extra: never[]): Promise<Scalar | NDArray> {
    return this.#reduceAlongAsync('min', options, extra);
  }

  /**
   * max() off the main thread, on memmap's own threads, with the same options and `signal` (an AbortSignal: the Promise rejects with an AbortError whose `cause` is the signal's reason) and `onProgress(fraction)` (rising, in (0, 1], never after the Promise settles).
   *
   * @example
   * const controller = new AbortController();
   * await memmap('big.f4', { dtype: 'float32', mode: 'r', shape: [1e6, 4] }).maxAsync({ axis: 0, signal: controller.signal, onProgress: (f) => console.log(f) });
   */
  maxAsync(
    this: NDArray<Comparable<D>, N>,
    options?: SumOptions & AsyncOptions & { readonly axis?: null; readonly keepdims?: false },
    ...extra: never[]
  ): Promise<ExtremumOf<D>>;
  /**
   * maxAsync() with `keepdims`: an array with the reduced axes kept as length 1.
   *
   * @example
   * a.maxAsync({ keepdims: true });
   */
  maxAsync(
    this: NDArray<Comparable<D>, N>,
    options: SumOptions & AsyncOptions & { readonly keepdims: true },
    ...extra: never[]
  ): Promise<NDArray>;
  /**
   * maxAsync() along one `axis`: an array (a scalar for a 1-D array).
   *
   * @example
   * a.maxAsync({ axis: 0 });
   */
  maxAsync(
    this: NDArray<Comparable<D>, N>,
    options: SumOptions & AsyncOptions & { readonly axis: number | bigint },
    ...extra: never[]
  ): Promise<AxisResult<N, ExtremumOf<D>, NDArray>>;
  /**
   * maxAsync() with `axis` and `keepdims` as the options say: a scalar when no axis is left, else an array.
   *
   * @example
   * a.maxAsync({ axis: [0, 1] });
   */
  maxAsync(
    this: NDArray<Comparable<D>, N>,
    options: SumOptions & AsyncOptions,
    ...extra: never[]
  ): Promise<ExtremumOf<D> | NDArray>;
  maxAsync(options?: unknown, ...extra: never[]): Promise<Scalar | NDArray> {
    return this.#reduceAlongAsync('max', options, extra);
  }

  /**
   * argmin() off the main thread, on memmap's own threads, with the same options and `signal` (an AbortSignal: the Promise rejects with an AbortError whose `cause` is the signal's reason) and `onProgress(fraction)` (rising, in (0, 1], never after the Promise settles).
   *
   * @example
   * const controller = new AbortController();
   * await memmap('big.f4', { dtype: 'float32', mode: 'r', shape: [1e6, 4] }).argminAsync({ axis: 0, signal: controller.signal, onProgress: (f) => console.log(f) });
   */
  argminAsync(
    this: NDArray<Comparable<D>, N>,
    options?: ArgOptions & AsyncOptions & { readonly axis?: null; readonly keepdims?: false },
    ...extra: never[]
  ): Promise<number>;
  /**
   * argminAsync() with `keepdims`: an array with the reduced axes kept as length 1.
   *
   * @example
   * a.argminAsync({ keepdims: true });
   */
  argminAsync(
    this: NDArray<Comparable<D>, N>,
    options: ArgOptions & AsyncOptions & { readonly keepdims: true },
    ...extra: never[]
  ): Promise<NDArray<'int64'>>;
  /**
   * argminAsync() along one `axis`: an array (a scalar for a 1-D array).
   *
   * @example
   * a.argminAsync({ axis: 0 });
   */
  argminAsync(
    this: NDArray<Comparable<D>, N>,
    options: ArgOptions & AsyncOptions & { readonly axis: number | bigint },
    ...extra: never[]
  ): Promise<AxisResult<N, number, NDArray<'int64'>>>;
  /**
   * argminAsync() with `axis` and `keepdims` as the options say: a scalar when no axis is left, else an array.
   *
   * @example
   * a.argminAsync({ axis: axisFromUser });
   */
  argminAsync(
    this: NDArray<Comparable<D>, N>,
    options: ArgOptions & AsyncOptions,
    ...extra: never[]
  ): Promise<number | NDArray<'int64'>>;
  argminAsync(options?: unknown, ...extra: never[]): Promise<Scalar | NDArray> {
    return this.#reduceAlongAsync('argmin', options, extra);
  }

  /**
   * argmax() off the main thread, on memmap's own threads, with the same options and `signal` (an AbortSignal: the Promise rejects with an AbortError whose `cause` is the signal's reason) and `onProgress(fraction)` (rising, in (0, 1], never after the Promise settles).
   *
   * @example
   * const controller = new AbortController();
   * await memmap('big.f4', { dtype: 'float32', mode: 'r', shape: [1e6, 4] }).argmaxAsync({ axis: 0, signal: controller.signal, onProgress: (f) => console.log(f) });
   */
  argmaxAsync(
    this: NDArray<Comparable<D>, N>,
    options?: ArgOptions & AsyncOptions & { readonly axis?: null; readonly keepdims?: false },
    ...extra: never[]
  ): Promise<number>;
  /**
   * argmaxAsync() with `keepdims`: an array with the reduced axes kept as length 1.
   *
   * @example
   * a.argmaxAsync({ keepdims: true });
   */
  argmaxAsync(
    this: NDArray<Comparable<D>, N>,
    options: ArgOptions & AsyncOptions & { readonly keepdims: true },
    ...extra: never[]
  ): Promise<NDArray<'int64'>>;
  /**
   * argmaxAsync() along one `axis`: an array (a scalar for a 1-D array).
   *
   * @example
   * a.argmaxAsync({ axis: 0 });
   */
  argmaxAsync(
    this: NDArray<Comparable<D>, N>,
    options: ArgOptions & AsyncOptions & { readonly axis: number | bigint },
    ...extra: never[]
  ): Promise<AxisResult<N, number, NDArray<'int64'>>>;
  /**
   * argmaxAsync() with `axis` and `keepdims` as the options say: a scalar when no axis is left, else an array.
   *
   * @example
   * a.argmaxAsync({ axis: axisFromUser });
   */
  argmaxAsync(
    this: NDArray<Comparable<D>, N>,
    options: ArgOptions & AsyncOptions,
    ...extra: never[]
  ): Promise<number | NDArray<'int64'>>;
  argmaxAsync(options?: unknown, ...extra: never[]): Promise<Scalar | NDArray> {
    return this.#reduceAlongAsync('argmax', options, extra);
  }

  /**
   * std() off the main thread, on memmap's own threads, with the same options and `signal` (an AbortSignal: the Promise rejects with an AbortError whose `cause` is the signal's reason) and `onProgress(fraction)` (rising, in (0, 1], never after the Promise settles).
   *
   * @example
   * const controller = new AbortController();
   * await memmap('big.f4', { dtype: 'float32', mode: 'r', shape: [1e6, 4] }).stdAsync({ axis: 0, signal: controller.signal, onProgress: (f) => console.log(f) });
   */
  stdAsync(
    this: NDArray<Spreadable<D>, N>,
    options?: SpreadOptions & AsyncOptions & { readonly axis?: null; readonly keepdims?: false },
    ...extra: never[]
  ): Promise<SpreadOf<D>>;
  /**
   * stdAsync() with `keepdims`: an array with the reduced axes kept as length 1.
   *
   * @example
   * a.stdAsync({ keepdims: true });
   */
  stdAsync(
    this: NDArray<Spreadable<D>, N>,
    options: SpreadOptions & AsyncOptions & { readonly keepdims: true },
    ...extra: never[]
  ): Promise<NDArray>;
  /**
   * stdAsync() along one `axis`: an array (a scalar for a 1-D array).
   *
   * @example
   * a.stdAsync({ axis: 0 });
   */
  stdAsync(
    this: NDArray<Spreadable<D>, N>,
    options: SpreadOptions & AsyncOptions & { readonly axis: number | bigint },
    ...extra: never[]
  ): Promise<AxisResult<N, SpreadOf<D>, NDArray>>;
  /**
   * stdAsync() with `axis` and `keepdims` as the options say: a scalar when no axis is left, else an array.
   *
   * @example
   * a.stdAsync({ axis: [0, 1] });
   */
  stdAsync(
    this: NDArray<Spreadable<D>, N>,
    options: SpreadOptions & AsyncOptions,
    ...extra: never[]
  ): Promise<SpreadOf<D> | NDArray>;
  stdAsync(options?: unknown, ...extra: never[]): Promise<Scalar | NDArray> {
    return this.#reduceAlongAsync('std', options, extra);
  }

  /**
   * var() off the main thread, on memmap's own threads, with the same options and `signal` (an AbortSignal: the Promise rejects with an AbortError whose `cause` is the signal's reason) and `onProgress(fraction)` (rising, in (0, 1], never after the Promise settles).
   *
   * @example
   * const controller = new AbortController();
   * await memmap('big.f4', { dtype: 'float32', mode: 'r', shape: [1e6, 4] }).varAsync({ axis: 0, signal: controller.signal, onProgress: (f) => console.log(f) });
   */
  varAsync(
    this: NDArray<Spreadable<D>, N>,
    options?: SpreadOptions & AsyncOptions & { readonly axis?: null; readonly keepdims?: false },
    ...extra: never[]
  ): Promise<SpreadOf<D>>;
  /**
   * varAsync() with `keepdims`: an array with the reduced axes kept as length 1.
   *
   * @example
   * a.varAsync({ keepdims: true });
   */
  varAsync(
    this: NDArray<Spreadable<D>, N>,
    options: SpreadOptions & AsyncOptions & { readonly keepdims: true },
    ...extra: never[]
  ): Promise<NDArray>;
  /**
   * varAsync() along one `axis`: an array (a scalar for a 1-D array).
   *
   * @example
   * a.varAsync({ axis: 0 });
   */
  varAsync(
    this: NDArray<Spreadable<D>, N>,
    options: SpreadOptions & AsyncOptions & { readonly axis: number | bigint },
    ...extra: never[]
  ): Promise<AxisResult<N, SpreadOf<D>, NDArray>>;
  /**
   * varAsync() with `axis` and `keepdims` as the options say: a scalar when no axis is left, else an array.
   *
   * @example
   * a.varAsync({ axis: [0, 1] });
   */
  varAsync(
    this: NDArray<Spreadable<D>, N>,
    options: SpreadOptions & AsyncOptions,
    ...extra: never[]
  ): Promise<SpreadOf<D> | NDArray>;
  varAsync(options?: unknown, ...extra: never[]): Promise<Scalar | NDArray> {
    return this.#reduceAlongAsync('var', options, extra);
  }

  /**
   * any() off the main thread, on memmap's own threads, with the same options and `signal` (an AbortSignal: the Promise rejects with an AbortError whose `cause` is the signal's reason) and `onProgress(fraction)` (rising, in (0, 1], never after the Promise settles).
   *
   * @example
   * const controller = new AbortController();
   * await memmap('big.f4', { dtype: 'float32', mode: 'r', shape: [1e6, 4] }).anyAsync({ axis: 0, signal: controller.signal, onProgress: (f) => console.log(f) });
   */
  anyAsync(
    this: NDArray<Comparable<D>, N>,
    options?: WhereOptions & AsyncOptions & { readonly axis?: null; readonly keepdims?: false },
    ...extra: never[]
  ): Promise<boolean>;
  /**
   * anyAsync() with `keepdims`: an array with the reduced axes kept as length 1.
   *
   * @example
   * a.anyAsync({ keepdims: true });
   */
  anyAsync(
    this: NDArray<Comparable<D>, N>,
    options: WhereOptions & AsyncOptions & { readonly keepdims: true },
    ...extra: never[]
  ): Promise<NDArray>;
  /**
   * anyAsync() along one `axis`: an array (a scalar for a 1-D array).
   *
   * @example
   * a.anyAsync({ axis: 0 });
   */
  anyAsync(
    this: NDArray<Comparable<D>, N>,
    options: WhereOptions & AsyncOptions & { readonly axis: number | bigint },
    ...extra: never[]
  ): Promise<AxisResult<N, boolean, NDArray>>;
  /**
   * anyAsync() with `axis` and `keepdims` as the options say: a scalar when no axis is left, else an array.
   *
   * @example
   * a.anyAsync({ axis: [0, 1] });
   */
  anyAsync(
    this: NDArray<Comparable<D>, N>,
    options: WhereOptions & AsyncOptions,
    ...extra: never[]
  ): Promise<boolean | NDArray>;
  anyAsync(options?: unknown, ...extra: never[]): Promise<Scalar | NDArray> {
    return this.#reduceAlongAsync('any', options, extra);
  }

  /**
   * all() off the main thread, on memmap's own threads, with the same options and `signal` (an AbortSignal: the Promise rejects with an AbortError whose `cause` is the signal's reason) and `onProgress(fraction)` (rising, in (0, 1], never after the Promise settles).
   *
   * @example
   * const controller = new AbortController();
   * await memmap('big.f4', { dtype: 'float32', mode: 'r', shape: [1e6, 4] }).allAsync({ axis: 0, signal: controller.signal, onProgress: (f) => console.log(f) });
   */
  allAsync(
    this: NDArray<Comparable<D>, N>,
    options?: WhereOptions & AsyncOptions & { readonly axis?: null; readonly keepdims?: false },
    ...extra: never[]
  ): Promise<boolean>;
  /**
   * allAsync() with `keepdims`: an array with the reduced axes kept as length 1.
   *
   * @example
   * a.allAsync({ keepdims: true });
   */
  allAsync(
    this: NDArray<Comparable<D>, N>,
    options: WhereOptions & AsyncOptions & { readonly keepdims: true },
    ...extra: never[]
  ): Promise<NDArray>;
  /**
   * allAsync() along one `axis`: an array (a scalar for a 1-D array).
   *
   * @example
   * a.allAsync({ axis: 0 });
   */
  allAsync(
    this: NDArray<Comparable<D>, N>,
    options: WhereOptions & AsyncOptions & { readonly axis: number | bigint },
    ...extra: never[]
  ): Promise<AxisResult<N, boolean, NDArray>>;
  /**
   * allAsync() with `axis` and `keepdims` as the options say: a scalar when no axis is left, else an array.
   *
   * @example
   * a.allAsync({ axis: [0, 1] });
   */
  allAsync(
    this: NDArray<Comparable<D>, N>,
    options: WhereOptions & AsyncOptions,
    ...extra: never[]
  ): Promise<boolean | NDArray>;
  allAsync(options?: unknown, ...extra: never[]): Promise<Scalar | NDArray> {
    return this.#reduceAlongAsync('all', options, extra);
  }

  /**
   * countNonzero() off the main thread, on memmap's own threads, with the same options and `signal` (an AbortSignal: the Promise rejects with an AbortError whose `cause` is the signal's reason) and `onProgress(fraction)` (rising, in (0, 1], never after the Promise settles).
   *
   * @example
   * const controller = new AbortController();
   * await memmap('big.f4', { dtype: 'float32', mode: 'r', shape: [1e6, 4] }).countNonzeroAsync({ axis: 0, signal: controller.signal, onProgress: (f) => console.log(f) });
   */
  countNonzeroAsync(
    this: NDArray<Comparable<D>, N>,
    options?: ReduceOptions & AsyncOptions & { readonly axis?: null; readonly keepdims?: false },
    ...extra: never[]
  ): Promise<number>;
  /**
   * countNonzeroAsync() with `keepdims`: an array with the reduced axes kept as length 1.
   *
   * @example
   * a.countNonzeroAsync({ keepdims: true });
   */
  countNonzeroAsync(
    this: NDArray<Comparable<D>, N>,
    options: ReduceOptions & AsyncOptions & { readonly keepdims: true },
    ...extra: never[]
  ): Promise<NDArray<'int64'>>;
  /**
   * countNonzeroAsync() along one `axis`: an array (a scalar for a 1-D array).
   *
   * @example
   * a.countNonzeroAsync({ axis: 0 });
   */
  countNonzeroAsync(
    this: NDArray<Comparable<D>, N>,
    options: ReduceOptions & AsyncOptions & { readonly axis: number | bigint },
    ...extra: never[]
  ): Promise<AxisResult<N, number, NDArray<'int64'>>>;
  /**
   * countNonzeroAsync() with `axis` and `keepdims` as the options say: a scalar when no axis is left, else an array.
   *
   * @example
   * a.countNonzeroAsync({ axis: [0, 1] });
   */
  countNonzeroAsync(
    this: NDArray<Comparable<D>, N>,
    options: ReduceOptions & AsyncOptions,
    ...extra: never[]
  ): Promise<number | NDArray<'int64'>>;
  countNonzeroAsync(options?: unknown, ...extra: never[]): Promise<Scalar | NDArray> {
    return this.#reduceAlongAsync('countNonzero', options, extra);
  }

  /**
   * numpy's repr.
   *
   * @example
   * util.inspect(memmap('a.f4', { dtype: 'float32', mode: 'w+', shape: 2 })); // 'memmap([0., 0.], dtype=float32)'
   */
  [inspect.custom](): string {
    if (this.#view.closed || this.#view.storage.closed) return `${this._reprName()}(<closed>)`;
    const view = this.#view;
    return formatRepr(
      this.shape,
      view.dtype,
      (index) => {
        try {
          return (this.get as unknown as GetFn)(...index);
        } catch (error) {
          // A unicode element no JavaScript string holds: numpy's repr shows it escaped.
          if (view.dtype.row.kind !== 'U' || (error as { code?: unknown }).code !== 'ERR_MEMMAP_VALUE_OUT_OF_RANGE')
            throw error;
          return view.codeUnitsAt(index) as unknown as Scalar;
        }
      },
      this._reprName(),
    );
  }

  /**
   * numpy's repr, as `String(array)` gives it.
   *
   * @example
   * String(memmap('a.f4', { dtype: 'float32', mode: 'w+', shape: 2 })); // 'memmap([0., 0.], dtype=float32)'
   */
  toString(...extra: never[]): string {
    noMoreArguments('toString', 0, extra);
    return this[inspect.custom]();
  }

  #reduceAlong(op: ReductionName, options: unknown, extra: readonly unknown[]): Scalar | NDArray {
    noMoreArguments(op, 1, extra);
    const parsed = parseReduceOptions(op, this.ndim, options, false);
    return wrapReduced(reduceAlong(this.#view, op, parsed));
  }

  async #reduceAlongAsync(op: ReductionName, options: unknown, extra: readonly unknown[]): Promise<Scalar | NDArray> {
    noMoreArguments(`${op}Async`, 1, extra);
    const parsed = parseReduceOptions(op, this.ndim, options, true);
    return wrapReduced(await reduceAlongAsync(this.#view, op, parsed));
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
 * What every reduction takes: `axis` (an integer or an array of them,
 * negative counting from the end; `null` or absent for all axes) and
 * `keepdims` (keep the reduced axes with length 1).
 *
 * @example
 * a.sum({ axis: [0, -1], keepdims: true });
 */
export interface ReduceOptions {
  /** The axes to reduce: an integer or an array of integers; absent or `null` for all. */
  readonly axis?: number | bigint | readonly (number | bigint)[] | null;
  /** Keep the reduced axes, with length 1 (numpy's `keepdims`). */
  readonly keepdims?: boolean;
}

/**
 * The options of `argmin`/`argmax`: one axis (numpy's take an integer, not a tuple).
 *
 * @example
 * a.argmax({ axis: 0 });
 */
export interface ArgOptions extends ReduceOptions {
  /** The axis to reduce: one integer; absent or `null` for the index over the flattened array. */
  readonly axis?: number | bigint | null;
}

/**
 * numpy's `where=`: a bool array (`NDArray`/`Memmap` of bool), nested arrays
 * of booleans or one boolean, broadcast against the array as numpy does.
 *
 * @example
 * a.sum({ where: [true, false, true] }); // only the first and last column count
 */
export type WhereMask = boolean | readonly unknown[] | ArraySource;

/**
 * The options of `mean`, `any`, `all`: {@link ReduceOptions} and `where`.
 *
 * @example
 * a.mean({ axis: 0, where: mask });
 */
export interface WhereOptions extends ReduceOptions {
  /** Only elements where this is true count (numpy's `where=`). */
  readonly where?: WhereMask;
}

/**
 * The options of `sum`, `prod`, `min`, `max`: `where` and `initial` (the
 * first value of every reduction; `min`/`max` with `where` need it).
 *
 * @example
 * a.max({ where: mask, initial: -Infinity });
 */
export interface SumOptions extends WhereOptions {
  /** numpy's `initial`: a number, or a bigint for 64-bit integer results. */
  readonly initial?: number | bigint | boolean;
}

/**
 * The options of `std` and `var`: `where` and `ddof` (the divisor is `count - ddof`).
 *
 * @example
 * a.std({ axis: 0, ddof: 1 });
 */
export interface SpreadOptions extends WhereOptions {
  /** numpy's delta degrees of freedom. */
  readonly ddof?: number | bigint;
}

/**
 * What the `*Async` reductions take besides: `signal` stops the work (the
 * Promise rejects with an AbortError, `cause` the signal's reason) and
 * `onProgress(fraction)` reports the fraction done, rising, in (0, 1].
 *
 * @example
 * await a.sumAsync({ signal: AbortSignal.timeout(1000), onProgress: (f) => bar.update(f) });
 */
export interface AsyncOptions {
  /** Aborts the reduction. */
  readonly signal?: AbortSignal;
  /** Called with the fraction done while the work runs (never after the Promise settles). */
  readonly onProgress?: (fraction: number) => void;
}

/**
 * The result of a reduction along one axis of an array of `N` dimensions:
 * the scalar `S` for a 1-D array, the array `A` for more, either when `N`
 * is not known.
 *
 * @example
 * type A = AxisResult<2, number, NDArray<'float32'>>; // NDArray<'float32'>
 * type B = AxisResult<1, number, NDArray<'float32'>>; // number
 */
export type AxisResult<N extends number, S, A> = number extends N ? S | A : [N] extends [0 | 1] ? S : A;

/** A reduction's result as the methods return it: an Accessor becomes an in-memory NDArray. */
function wrapReduced(result: Reduced): Scalar | NDArray {
  return result.array === undefined ? result.scalar : new NDArray(result.array);
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

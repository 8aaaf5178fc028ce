/**
 * The Memmap class and `memmap()`: numpy.memmap over the native mapping.
 * A Memmap is metadata (dtype, shape, strides, byte offset) over a Storage
 * that it shares with every view sliced from it.
 */
import { isAbsolute, resolve } from 'node:path';
import { inspect } from 'node:util';
import { fileURLToPath } from 'node:url';
import { binding, OpenExtra, ReduceRequest, ReduceResult } from './binding';
import { AnyTypedArray, Coerced, Complex, DType, DTypeLike, elementView, parseDType, Scalar } from './dtype';
import { callNative, fromNative, memmapError, show } from './errors';
import { formatRepr } from './format';
import { applyIndex, Geometry, IndexItem, parseIndex, resolveInteger } from './indexing';
import { byteExtent, contiguousStrides, isContiguous, normalizeShape, Order, sizeOf } from './shape';

/** numpy's modes, canonical form. */
export type Mode = 'r' | 'r+' | 'w+' | 'c';
/** Every spelling numpy accepts. */
export type ModeLike = Mode | 'readonly' | 'readwrite' | 'write' | 'copyonwrite';
export type Advice = 'normal' | 'random' | 'sequential' | 'willneed' | 'dontneed';
/** A path (string, file: URL, Buffer) or an open file descriptor. */
export type FileLike = string | URL | Buffer | number;

export interface MemmapOptions {
  /** numpy spelling or TypedArray constructor; default `'uint8'`. */
  dtype?: DTypeLike;
  /** Default `'r+'`. */
  mode?: ModeLike;
  /** Byte offset of the array in the file; default 0. */
  offset?: number | bigint;
  /** Default: 1-D over the rest of the file. */
  shape?: number | readonly number[];
  /** Default `'C'`. */
  order?: Order | 'c' | 'f';
  /** madvise hint applied at open. */
  advice?: Advice;
}

const MODES: Readonly<Record<string, Mode>> = {
  r: 'r',
  readonly: 'r',
  'r+': 'r+',
  readwrite: 'r+',
  'w+': 'w+',
  write: 'w+',
  c: 'c',
  copyonwrite: 'c',
};
const ADVICE: readonly Advice[] = ['normal', 'random', 'sequential', 'willneed', 'dontneed'];
const OPTIONS = new Set(['dtype', 'mode', 'offset', 'shape', 'order', 'advice']);

/**
 * Bytes per ArrayBuffer. Node 20 refuses external ArrayBuffers over 2^32 bytes
 * and TypedArrays over 2^32 elements, so a larger map is several buffers over
 * disjoint ranges. 2^32 is a multiple of every itemsize, so no element ever
 * straddles two buffers. MEMMAP_CHUNK_BYTES lowers it (tests of big maps).
 */
const CHUNK_BYTES = ((): number => {
  const limit = 2 ** 32;
  const requested = Number(process.env.MEMMAP_CHUNK_BYTES);
  return Number.isSafeInteger(requested) && requested >= 4096 && requested <= limit
    ? requested - (requested % 4096)
    : limit;
})();

/** What a base and all its views share: the native map and its buffers. */
interface Storage {
  /**
   * The binding's number for this map: every native call takes it. The
   * Storage is the map's owner: collected without close(), it releases the map.
   * Set once, by openStorage.
   */
  handle: number;
  byteLength: number;
  readonly chunkBytes: number;
  readonly chunks: (ArrayBuffer | undefined)[];
  readonly dataViews: (DataView | undefined)[];
  /** The file as opened: a path (absolute; bytes if not UTF-8) or a caller's descriptor. */
  readonly source: string | Buffer | number;
  /**
   * numpy's `filename`, computed on first use (`undefined` until then): opening
   * by path never pays for it. For a descriptor, set at open from the path the
   * kernel gave for the binding's own duplicate.
   */
  filename: string | null | undefined;
  /** The path's bytes where they are not UTF-8 (a descriptor() must name exactly that file). */
  pathBytes: Buffer | null;
  readonly mode: Mode;
  readonly offset: number;
  closed: boolean;
  /** Set when the runtime refused external ArrayBuffers (Electron): views use native copies. */
  refused: boolean;
}

function chunkBuffer(storage: Storage, chunk: number): ArrayBuffer {
  let buffer = storage.chunks[chunk];
  if (buffer === undefined) {
    buffer = callNative(() => binding.buffer(storage.handle, chunk));
    storage.chunks[chunk] = buffer;
  }
  return buffer;
}

function chunkDataView(storage: Storage, chunk: number): DataView {
  let view = storage.dataViews[chunk];
  if (view === undefined) {
    view = new DataView(chunkBuffer(storage, chunk));
    storage.dataViews[chunk] = view;
  }
  return view;
}

/**
 * How a view reaches its elements, bound once per view on first access.
 * Positions (`at`) are in the accessor's own unit: TypedArray lanes on the
 * fast path (native byte order, the whole view inside one lane-aligned
 * chunk), bytes from the start of the mapping otherwise (DataView, any order,
 * any chunk). `read`/`write` are closures made for this view alone, so the
 * hot call sites stay monomorphic.
 */
interface Access {
  /** `at` of element 0, and the step in `at` per index on each axis. */
  readonly origin: number;
  readonly steps: readonly number[];
  /** The TypedArray on the fast path (fill() and get() use it), else null. */
  readonly lanes: AnyTypedArray | null;
  read(at: number): Scalar;
  write(at: number, value: Coerced): void;
}

type Lanes = { readonly [at: number]: number };
type SlowGet = (...index: number[]) => Scalar;
/** A view's get(), and how #bind points it at an accessor (null: none, every call takes the slow path). */
type Getter = { get: Memmap['get']; point(a: Access | null): void };

/** Whether elements of `row` in this machine's order are TypedArray lanes read as numbers as is (ints to 32 bits, float32/64). */
function readsLanesAsIs(row: DType['row']): boolean {
  return ((row.kind === 'i' || row.kind === 'u') && row.itemsize <= 4) || (row.kind === 'f' && row.itemsize > 2);
}

const NO_LANES: Lanes = new Float64Array(0);

/*
 * get() of a 1-D or 2-D view is made once per view and never replaced: it
 * reads the accessor's numbers from variables that #bind fills in and close()
 * empties, so a call site sees one function for the view's whole life and the
 * common call (one in-range uint32 index per axis) costs the compares and one
 * load. Anything else (negative or huge indices, the wrong count, a view not
 * yet bound or closed) goes to `slow`, which reads cold, binds, or throws
 * numpy's errors. Measured against a raw typed-array read (bench/run.js):
 * 1.3x 1-D and 1.7x 2-D, whatever ran before; a closure made afresh at each
 * bind did 1.1x while V8 could specialise it to one closure, 2.3x once cold
 * reads had run it first.
 *
 * Shape details that the numbers depend on: the slow call passes indices as
 * parameters (touching `arguments` as a value would make V8 build it on every
 * call); its result is made a number (`+`, which it already is) so that both
 * paths return a float64 and the fast one is never boxed; closing a base
 * detaches its buffers, so a lane load then reads undefined and takes the slow
 * path too.
 */

/**
 * get() over TypedArray lanes read as is (see readsLanesAsIs). `unit` when no
 * stride is negative and the last axis is contiguous: get() then reads a
 * TypedArray over exactly the view's span from its first element, so the
 * index needs no origin and no last stride (1-D: 1.66x -> 1.45x a raw read).
 */
/* eslint-disable prefer-rest-params, prefer-spread -- get() counts `arguments` instead of taking
   a rest parameter, which would allocate an array on every call of the hot path. */
function laneGetter(shape: readonly number[], unit: boolean, slow: SlowGet): Getter {
  const ndim = shape.length;
  // `var`, not `let`: V8 checks a `let` read from a closure for its temporal
  // dead zone on every call (1.9x -> 1.66x for 1-D).
  var plain = NO_LANES; // eslint-disable-line no-var
  var origin = 0; // eslint-disable-line no-var
  var d0 = 0; // eslint-disable-line no-var
  var s0 = 0; // eslint-disable-line no-var
  var d1 = 0; // eslint-disable-line no-var
  var s1 = 0; // eslint-disable-line no-var
  const point = (a: Access | null): void => {
    if (a === null || a.lanes === null || shape.includes(0)) {
      plain = NO_LANES;
      d0 = d1 = 0;
      return;
    }
    [d0, s0, d1, s1] = [shape[0], a.steps[0], shape[1] ?? 0, a.steps[1] ?? 0];
    if (unit) {
      const span = ndim === 1 ? d0 : (d0 - 1) * s0 + d1;
      plain = a.lanes.subarray(a.origin, a.origin + span) as unknown as Lanes;
      origin = 0;
    } else {
      plain = a.lanes as unknown as Lanes;
      // Kept an int32 where it fits, so V8 adds indices as integers.
      origin = a.origin <= 0x7fffffff ? a.origin | 0 : a.origin;
    }
  };
  let get: (i: number, j: number) => Scalar;
  if (ndim === 1 && unit) {
    // `plain` spans exactly the view: its own bounds check is the range check.
    get = function get(i: number): Scalar {
      if (arguments.length !== 1) return slow.apply(undefined, arguments as unknown as number[]);
      if (i >>> 0 === i) {
        const value = plain[i];
        if (value !== undefined) return value;
      }
      return +(slow(i) as number);
    };
  } else if (ndim === 1) {
    get = function get(i: number): Scalar {
      if (arguments.length !== 1) return slow.apply(undefined, arguments as unknown as number[]);
      if (i >>> 0 === i && i < d0) {
        const value = plain[origin + i * s0];
        if (value !== undefined) return value;
      }
      return +(slow(i) as number);
    };
  } else if (unit) {
    get = function get(i: number, j: number): Scalar {
      if (arguments.length !== 2) return slow.apply(undefined, arguments as unknown as number[]);
      if (i >>> 0 === i && j >>> 0 === j && i < d0 && j < d1) {
        const value = plain[i * s0 + j];
        if (value !== undefined) return value;
      }
      return +(slow(i, j) as number);
    };
  } else {
    get = function get(i: number, j: number): Scalar {
      if (arguments.length !== 2) return slow.apply(undefined, arguments as unknown as number[]);
      if (i >>> 0 === i && j >>> 0 === j && i < d0 && j < d1) {
        const value = plain[origin + i * s0 + j * s1];
        if (value !== undefined) return value;
      }
      return +(slow(i, j) as number);
    };
  }
  return { get: get as Memmap['get'], point };
}

/** get() through the accessor's read(): bool, float16, complex, 64-bit, swapped byte order, DataView. */
function readGetter(shape: readonly number[], storage: Storage, slow: SlowGet): Getter {
  let read: Access['read'] = () => 0;
  let origin = 0;
  let d0 = 0;
  let s0 = 0;
  let d1 = 0;
  let s1 = 0;
  const point = (a: Access | null): void => {
    if (a === null) {
      d0 = d1 = 0;
      return;
    }
    [read, origin] = [a.read, a.origin];
    [d0, s0, d1, s1] = [shape[0], a.steps[0], shape[1] ?? 0, a.steps[1] ?? 0];
  };
  const get =
    shape.length === 1
      ? function get(i: number): Scalar {
          if (arguments.length !== 1) return slow.apply(undefined, arguments as unknown as number[]);
          return i >>> 0 === i && i < d0 && !storage.closed ? read(origin + i * s0) : slow(i);
        }
      : function get(i: number, j: number): Scalar {
          if (arguments.length !== 2) return slow.apply(undefined, arguments as unknown as number[]);
          return i >>> 0 === i && j >>> 0 === j && i < d0 && j < d1 && !storage.closed
            ? read(origin + i * s0 + j * s1)
            : slow(i, j);
        };
  return { get: get as Memmap['get'], point };
}

/* eslint-enable prefer-rest-params, prefer-spread */

/** The DataView accessor: any byte order, any chunk. `at` is a byte position. */
function byteAccess(storage: Storage, dtype: DType): Pick<Access, 'read' | 'write'> {
  const element = elementView(dtype);
  const locate = (at: number): [DataView, number] => {
    const chunk = Math.floor(at / storage.chunkBytes);
    return [chunkDataView(storage, chunk), at - chunk * storage.chunkBytes];
  };
  return {
    read(at) {
      const [view, within] = locate(at);
      return element.read(view, within);
    },
    write(at, value) {
      const [view, within] = locate(at);
      element.write(view, within, value);
    },
  };
}

/**
 * The accessor of last resort, where the runtime refuses external ArrayBuffers
 * (Electron): each element is copied in or out by the binding. `at` is a byte
 * position. Slower, but get/set/toArray/fill/assign all work; only `data` cannot.
 */
function nativeAccess(storage: Storage, dtype: DType): Pick<Access, 'read' | 'write'> {
  const element = elementView(dtype);
  // One scratch buffer per accessor: the binding copies the element into it.
  const scratch = Buffer.alloc(dtype.itemsize);
  const scratchView = new DataView(scratch.buffer, scratch.byteOffset, scratch.byteLength);
  return {
    read(at) {
      try {
        binding.peek(storage.handle, at, scratch);
      } catch (error) {
        throw fromNative(error);
      }
      return element.read(scratchView, 0);
    },
    write(at, value) {
      const bytes = Buffer.alloc(dtype.itemsize);
      element.write(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, value);
      callNative(() => binding.poke(storage.handle, at, bytes));
    },
  };
}

/** numpy's NaT: the smallest int64. */
const NAT = -(2n ** 63n);

const closedError = () =>
  memmapError('ERR_MEMMAP_CLOSED', 'the memmap is closed: data, and every method, are unavailable after close()');

// Node 18.18+/20 define Symbol.dispose as Symbol.for('nodejs.dispose'); realms
// that lack it (vm contexts, jest) get the same symbol so `using` works there.
if (Symbol.dispose === undefined) Object.defineProperty(Symbol, 'dispose', { value: Symbol.for('nodejs.dispose') });
const DISPOSE: typeof Symbol.dispose = Symbol.dispose;

/** numpy.memmap: a file's bytes seen as a typed N-dimensional array. */
export class Memmap implements Iterable<Scalar | Memmap> {
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
   * and kept for its life: see laneGetter.)
   */
  readonly get: (...index: number[]) => Scalar;

  readonly #storage: Storage;
  readonly #dtype: DType;
  /** Bytes from the start of the mapping to element 0 of this view. */
  readonly #byteOffset: number;
  readonly #isBase: boolean;
  #closed = false;
  #access: Access | null = null;
  /** get() calls served by a native copy before this view binds a buffer (see #getAny). */
  #coldReads = 0;
  /** How many cold reads this view may make (computed on its first get; see #getAny). */
  #coldLimit = -1;
  #cold: Pick<Access, 'read'> | null = null;
  #data: AnyTypedArray | null = null;
  /** get() of a 1-D or 2-D view (see laneGetter); null for other ndims, whose get is #getN. */
  #getter: Getter | null = null;
  /**
   * What the getter falls back to. Called through a Proxy because V8 never
   * inlines a Proxy call: cold reads run this path thousands of times while
   * code warms up, and an inlined copy of #getAny's chain in the caller's loop
   * slowed every fast get() (4.8 -> 11.8 ns).
   */
  readonly #slowGet: SlowGet = new Proxy((...index: number[]): Scalar => this.#getAny(presentIndices(index)), {});

  /** @internal Use `memmap()` or `slice()`. */
  constructor(storage: Storage, dtype: DType, geometry: Geometry, isBase: boolean) {
    this.#storage = storage;
    this.#dtype = dtype;
    this.dtype = dtype.str;
    this.itemsize = dtype.itemsize;
    this.shape = Object.freeze(geometry.shape.slice());
    this.strides = Object.freeze(geometry.strides.slice());
    this.ndim = geometry.shape.length;
    this.size = sizeOf(geometry.shape, dtype.itemsize);
    this.nbytes = this.size * dtype.itemsize;
    this.#byteOffset = geometry.byteOffset;
    this.#isBase = isBase;
    if (this.ndim === 1 || this.ndim === 2) {
      const unit = this.strides.every((stride) => stride >= 0) && this.strides[this.ndim - 1] === this.itemsize;
      this.#getter =
        dtype.native && readsLanesAsIs(dtype.row)
          ? laneGetter(this.shape, unit, this.#slowGet)
          : readGetter(this.shape, this.#storage, this.#slowGet);
      this.get = this.#getter.get;
    } else {
      this.get = Memmap.#getN;
    }
  }

  /**
   * The dtype as an object (its fields, byte order, itemsize): what to pass as
   * `dtype` to make another map of the same dtype (`dtype` is numpy's string).
   */
  get dtypeObject(): DType {
    return this.#dtype;
  }

  /** Absolute path of the mapped file; null where none can be known. */
  get filename(): string | null {
    return filenameOf(this.#storage);
  }

  /** Byte offset of the base array in the file, as opened (views inherit it, as in numpy). */
  get offset(): number {
    return this.#storage.offset;
  }

  /** `'r'`, `'r+'`, `'w+'` or `'c'`. */
  get mode(): Mode {
    return this.#storage.mode;
  }

  /** numpy's `flags.writeable`. */
  get writable(): boolean {
    return this.#storage.mode !== 'r';
  }

  get closed(): boolean {
    return this.#closed || this.#storage.closed;
  }

  /**
   * A zero-copy TypedArray over the elements, in memory order. Only for
   * contiguous, native-byte-order views that one ArrayBuffer can hold.
   */
  get data(): AnyTypedArray {
    this.#checkOpen();
    if (this.#data !== null) return this.#data;
    const { row } = this.#dtype;
    if (!this.#dtype.native) {
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
    const lanesPerItem = row.lanes;
    if (this.size === 0) {
      this.#data = new row.TypedArray(0);
      return this.#data;
    }
    const chunk = Math.floor(this.#byteOffset / this.#storage.chunkBytes);
    const within = this.#byteOffset - chunk * this.#storage.chunkBytes;
    if (within + this.nbytes > this.#storage.chunkBytes) {
      throw memmapError(
        'ERR_MEMMAP_DATA_TOO_LARGE',
        `data is not available for this view: it spans ${this.nbytes} bytes across a ${this.#storage.chunkBytes}-byte boundary, and Node ${process.version} holds at most ${this.#storage.chunkBytes} bytes in one ArrayBuffer. Use slice() to take parts that fit within one ${this.#storage.chunkBytes}-byte range, or get()/set()/toArray().`,
      );
    }
    this.#data = new row.TypedArray(chunkBuffer(this.#storage, chunk), within, this.size * lanesPerItem);
    return this.#data;
  }

  /** Writes one element: `set(...index, value)`. */
  set(...indexAndValue: [...number[], unknown]): void {
    this.#checkWritable();
    const value = indexAndValue[indexAndValue.length - 1];
    const index = indexAndValue.slice(0, -1) as number[];
    const access = this.#access ?? this.#bind();
    access.write(this.#at(access, index), this.#dtype.row.codec.coerce(value, this.#dtype.row));
  }

  /** numpy basic indexing (`'1:, ::2'`, `'0'`, `'...'`, `'None'`): a view, no copy. */
  slice(spec: string | number): Memmap {
    this.#checkOpen();
    const geometry = applyIndex(parseIndexCached(spec), {
      shape: this.shape as number[],
      strides: this.strides as number[],
      byteOffset: this.#byteOffset,
    });
    return new Memmap(this.#storage, this.#dtype, geometry, false);
  }

  /**
   * numpy's `fp['x']` for a structured dtype: a view of one field (by name or
   * title) that shares the mapping, with the field's dtype; a sub-array field
   * adds its axes. Views of views work the same way.
   */
  field(name: string): Memmap {
    this.#checkOpen();
    const fields = this.#dtype.fields;
    if (fields === null)
      throw memmapError(
        'ERR_MEMMAP_INVALID_ARG',
        `field() needs a structured dtype; this memmap's dtype is ${this.dtype}`,
      );
    const field = fields.find((f) => f.name === name) ?? fields.find((f) => f.title === name);
    if (field === undefined)
      throw memmapError(
        'ERR_MEMMAP_INVALID_ARG',
        `no field ${show(name)}: the fields are ${fields.map((f) => show(f.name)).join(', ')}`,
      );
    return new Memmap(
      this.#storage,
      field.dtype,
      {
        shape: [...this.shape, ...field.shape],
        strides: [...this.strides, ...contiguousStrides(field.shape, field.dtype.itemsize, 'C')],
        byteOffset: this.#byteOffset + field.offset,
      },
      false,
    );
  }

  /** numpy's `fp[:] = value`. */
  fill(value: unknown): void {
    this.#checkWritable();
    const lanes = this.#dtype.row.codec.coerce(value, this.#dtype.row);
    if (this.size === 0) return;
    const access = this.#bind();
    if (
      access.lanes !== null &&
      this.#dtype.row.codec.fillsLanes &&
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
    this.#forEach(access, (at) => access.write(at, lanes));
  }

  /**
   * numpy's `fp[:] = source`: nested arrays, a TypedArray or a Memmap,
   * broadcast to this view's shape as numpy broadcasts. A TypedArray (or flat
   * array) holding exactly `size` values also fills the view in C order.
   */
  assign(source: unknown): void {
    this.#checkWritable();
    const { values, shape } = flatten(source);
    const sourceStrides = broadcastElementStrides(
      shape,
      this.shape,
      values.length === this.size && shape.length === 1 && this.ndim > 1,
    );
    const { codec } = this.#dtype.row;
    const coerced = values.map((value) => codec.coerce(value, this.#dtype.row));
    if (this.size === 0) return;
    const access = this.#bind();
    const counters = new Array<number>(this.ndim).fill(0);
    this.#forEach(access, (at) => {
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
  toArray(): unknown {
    this.#checkOpen();
    if (this.size === 0) return emptyNested(this.shape, 0);
    const access = this.#bind();
    const build = (axis: number, at: number): unknown => {
      if (axis === this.ndim) return access.read(at);
      const out = new Array(this.shape[axis]);
      for (let i = 0; i < this.shape[axis]; i++) out[i] = build(axis + 1, at + i * access.steps[axis]);
      return out;
    };
    return build(0, access.origin);
  }

  /** Iterates over the first axis, as numpy does: scalars for 1-D, views otherwise. */
  *[Symbol.iterator](): Iterator<Scalar | Memmap> {
    this.#checkOpen();
    if (this.ndim === 0) throw memmapError('ERR_MEMMAP_NOT_ITERABLE', 'iteration over a 0-d memmap');
    for (let i = 0; i < this.shape[0]; i++) yield this.ndim === 1 ? this.get(i) : this.slice(i);
  }

  /**
   * numpy's `fp.sum()` over the whole view (strided views included), natively.
   * Integer and bool sums are `bigint` (numpy's int64/uint64, wrapping as numpy
   * does); float sums accumulate in float64; complex sums are `{ re, im }`.
   */
  sum(): Scalar {
    if (this.#isTime())
      return this.#timeReduced(
        'sum',
        this.#timeOps('sum').map((o) => this.#reduceNow(o)),
      );
    return this.#reduced(this.#reduceNow('sum'), 'sum');
  }

  /** numpy's `fp.min()`: NaN (NaT) if any element is NaN (NaT); a RangeError on an empty view. */
  min(): Scalar {
    if (this.#isTime())
      return this.#timeReduced(
        'min',
        this.#timeOps('min').map((o) => this.#reduceNow(o)),
      );
    return this.#reduced(this.#reduceNow('min'), 'min');
  }

  /** numpy's `fp.max()`: NaN (NaT) if any element is NaN (NaT); a RangeError on an empty view. */
  max(): Scalar {
    if (this.#isTime())
      return this.#timeReduced(
        'max',
        this.#timeOps('max').map((o) => this.#reduceNow(o)),
      );
    return this.#reduced(this.#reduceNow('max'), 'max');
  }

  /**
   * numpy's `fp.mean()` as float64 (`{ re, im }` for complex); NaN for an empty
   * view. timedelta64: a bigint count of the unit, truncated as numpy does (NaT if empty).
   */
  mean(): number | Complex | bigint {
    if (this.#isTime())
      return this.#timeReduced(
        'mean',
        this.#timeOps('mean').map((o) => this.#reduceNow(o)),
      );
    return this.#meanOf(this.#reduceNow('fsum'));
  }

  /** sum() on the thread pool; the mapping stays alive until it settles. */
  async sumAsync(): Promise<Scalar> {
    if (this.#isTime())
      return this.#timeReduced('sum', await Promise.all(this.#timeOps('sum').map((o) => this.#reduceLater(o))));
    return this.#reduced(await this.#reduceLater('sum'), 'sum');
  }

  async minAsync(): Promise<Scalar> {
    if (this.#isTime())
      return this.#timeReduced('min', await Promise.all(this.#timeOps('min').map((o) => this.#reduceLater(o))));
    return this.#reduced(await this.#reduceLater('min'), 'min');
  }

  async maxAsync(): Promise<Scalar> {
    if (this.#isTime())
      return this.#timeReduced('max', await Promise.all(this.#timeOps('max').map((o) => this.#reduceLater(o))));
    return this.#reduced(await this.#reduceLater('max'), 'max');
  }

  async meanAsync(): Promise<number | Complex | bigint> {
    if (this.#isTime())
      return this.#timeReduced('mean', await Promise.all(this.#timeOps('mean').map((o) => this.#reduceLater(o))));
    return this.#meanOf(await this.#reduceLater('fsum'));
  }

  /** Writes changes in this view's bytes to the file (msync); a no-op for modes r and c. */
  flush(): void {
    this.#checkOpen();
    const [start, length] = this.#byteRange();
    callNative(() => binding.flush(this.#storage.handle, start, length));
  }

  /** flush() off the main thread. */
  async flushAsync(): Promise<void> {
    this.#checkOpen();
    const [start, length] = this.#byteRange();
    await callNative(() => binding.flushAsync(this.#storage.handle, start, length)).catch((error: unknown) => {
      throw fromNative(error);
    });
  }

  /** Access-pattern hint (madvise) for this view's bytes. */
  madvise(advice: Advice): void {
    this.#checkOpen();
    const parsed = parseAdvice(advice);
    const [start, length] = this.#byteRange();
    callNative(() => binding.advise(this.#storage.handle, parsed, start, length));
  }

  /**
   * Flushes and unmaps; idempotent. On the base, every view closes too and every
   * ArrayBuffer handed out is detached (reads as length 0). On a view, only the
   * view closes; the mapping stays until its base closes.
   */
  close(): void {
    if (this.closed) return;
    if (!this.#isBase) {
      try {
        this.flush();
      } finally {
        this.#closed = true;
        this.#drop();
      }
      return;
    }
    this.#storage.closed = true;
    this.#closed = true;
    this.#drop();
    callNative(() => binding.close(this.#storage, this.#storage.handle));
  }

  /**
   * A structured-cloneable description of this view (path, dtype, shape,
   * strides, offset, mode) for `memmap.fromDescriptor` in another worker or
   * process. Sending the view itself to a worker would copy it.
   */
  descriptor(): MemmapDescriptor {
    this.#checkOpen();
    const path = filenameOf(this.#storage);
    if (path === null)
      throw memmapError(
        'ERR_MEMMAP_UNSUPPORTED',
        'descriptor() needs a map opened from a path (or a descriptor with a known path)',
      );
    const mode = this.#storage.mode;
    const { fileId } = callNative(() => binding.mappedFile(this.#storage.handle));
    const pathBytes = this.#storage.pathBytes;
    return {
      path,
      ...(pathBytes === null ? {} : { pathBytes: new Uint8Array(pathBytes) }),
      dtype: this.#dtype.descr,
      shape: [...this.shape],
      strides: [...this.strides],
      offset: this.#storage.offset + this.#byteOffset,
      mode: mode === 'w+' ? 'r+' : mode,
      ...(fileId === undefined || fileId === null ? {} : { fileId }),
    };
  }

  [DISPOSE](): void {
    this.close();
  }

  /** numpy's repr. */
  [inspect.custom](): string {
    if (this.closed) return 'memmap(<closed>)';
    return formatRepr(this.shape, this.#dtype, (index) => this.get(...index), 'memmap');
  }

  toString(): string {
    return this[inspect.custom]();
  }

  // ----- internals -------------------------------------------------------

  #reduceRequest(op: ReduceRequest['op']): ReduceRequest {
    this.#checkOpen();
    const { row, littleEndian } = this.#dtype;
    // datetime64/timedelta64 reduce as their int64 counts (see #timeReduced).
    const element = this.#isTime() ? 'i8' : `${row.kind}${row.itemsize}`;
    return {
      op,
      element,
      littleEndian,
      byteOffset: this.#byteOffset,
      shape: [...this.shape],
      strides: [...this.strides],
    };
  }

  /**
   * The int64 reductions a datetime64/timedelta64 reduction is made of (see
   * #timeReduced): the min first, which tells whether any element is NaT.
   * Throws for sum/mean of datetime64 before any work (numpy: ufunc 'add'
   * cannot add datetimes).
   */
  #timeOps(op: 'sum' | 'min' | 'max' | 'mean'): ReduceRequest['op'][] {
    if (op === 'min') return ['min'];
    if (op === 'max') return ['min', 'max'];
    if (this.#dtype.row.kind === 'M') {
      throw memmapError(
        'ERR_MEMMAP_INVALID_DTYPE',
        `${op}() is not defined for ${this.dtype} (numpy: ufunc 'add' cannot add datetimes); min() and max() are, and a timedelta64 view sums`,
      );
    }
    return ['min', 'sum'];
  }

  #isTime(): boolean {
    const { kind } = this.#dtype.row;
    return (kind === 'M' || kind === 'm') && this.#dtype.fields === null;
  }

  /**
   * numpy's reductions of datetime64/timedelta64, from the int64 reductions of
   * their counts: NaT (the smallest int64) wins as NaN does, so the native min
   * tells whether any element is NaT. timedelta64 sums wrap as int64 and means
   * truncate toward zero (numpy's integer division of a timedelta); datetime64
   * has min and max only (numpy: ufunc 'add' cannot add datetimes).
   */
  #timeReduced(op: 'sum' | 'min' | 'max' | 'mean', [low, value]: (ReduceResult | null)[]): bigint {
    if (this.size === 0) {
      if (op === 'sum') return 0n;
      if (op === 'mean') return NAT;
      throw memmapError(
        'ERR_MEMMAP_EMPTY_REDUCTION',
        `${op}() of an empty view (shape ${show(this.shape)}): the reduction has no identity`,
      );
    }
    const smallest = BigInt(low!.int!);
    if (smallest === NAT || op === 'min') return smallest;
    const result = BigInt(value!.int!);
    return op === 'mean' ? result / BigInt(this.size) : result;
  }

  #reduceNow(op: ReduceRequest['op']): ReduceResult | null {
    const request = this.#reduceRequest(op);
    if (this.size === 0) return null;
    return callNative(() => binding.reduce(this.#storage.handle, request));
  }

  async #reduceLater(op: ReduceRequest['op']): Promise<ReduceResult | null> {
    const request = this.#reduceRequest(op);
    if (this.size === 0) return null;
    return callNative(() => binding.reduceAsync(this.#storage.handle, request)).catch((error: unknown) => {
      throw fromNative(error);
    });
  }

  /** The native result in numpy's result type for this dtype. */
  #reduced(result: ReduceResult | null, op: ReduceRequest['op']): Scalar {
    if (result === null) {
      if (op === 'sum') return this.#dtype.row.kind === 'c' ? { re: 0, im: 0 } : this.#dtype.row.kind === 'f' ? 0 : 0n;
      throw memmapError(
        'ERR_MEMMAP_EMPTY_REDUCTION',
        `${op}() of an empty view (shape ${show(this.shape)}): the reduction has no identity`,
      );
    }
    switch (result.kind) {
      case 'bool':
        return result.bool!;
      case 'float':
        return result.float!;
      case 'complex':
        return { re: result.float!, im: result.imag! };
      default: {
        const value = BigInt(result.int!);
        // Sums are int64/uint64 as in numpy; min/max keep the dtype (number below 64 bits).
        return op === 'sum' || this.itemsize === 8 ? value : Number(value);
      }
    }
  }

  #meanOf(sum: ReduceResult | null): number | Complex {
    if (sum === null) return this.#dtype.row.kind === 'c' ? { re: NaN, im: NaN } : NaN;
    if (sum.kind === 'complex') return { re: sum.float! / this.size, im: sum.imag! / this.size };
    return (sum.kind === 'float' ? sum.float! : Number(sum.int!)) / this.size;
  }

  #drop(): void {
    this.#access = null;
    this.#data = null;
    this.#getter?.point(null);
  }

  #checkOpen(): void {
    if (this.#closed || this.#storage.closed) throw closedError();
  }

  #checkWritable(): void {
    this.#checkOpen();
    if (this.#storage.mode === 'r') {
      throw memmapError(
        'ERR_MEMMAP_READ_ONLY',
        "assignment destination is read-only: the memmap was opened with mode 'r' (use 'r+' to write to the file, or 'c' to write to private memory)",
      );
    }
  }

  /** [start, length) of this view's bytes within the mapping. */
  #byteRange(): [number, number] {
    if (this.#isBase) return [0, this.#storage.byteLength];
    const [low, high] = byteExtent(this.shape, this.strides, this.itemsize);
    return high > low ? [this.#byteOffset + low, high - low] : [0, 0];
  }

  /** `at` (in the accessor's unit) of the element at `index`; the errors are #indexError's. */
  #at(access: Access, index: number[]): number {
    const shape = this.shape;
    if (index.length !== shape.length) throw this.#indexError(index);
    let at = access.origin;
    for (let axis = 0; axis < index.length; axis++) {
      const dim = shape[axis];
      let i = index[axis];
      if (!(i >= -dim && i < dim && Number.isInteger(i))) throw this.#indexError(index);
      if (i < 0) i += dim;
      at += i * access.steps[axis];
    }
    return at;
  }

  /** The precise error for a bad index (off the hot path). */
  #indexError(index: unknown[]): Error {
    if (index.length !== this.ndim) {
      return memmapError(
        'ERR_MEMMAP_INVALID_INDEX',
        `expected ${this.ndim} indices for a ${this.ndim}-dimensional memmap, got ${index.length}: ${show(index)}`,
      );
    }
    for (let axis = 0; axis < index.length; axis++) {
      const i = index[axis];
      if (typeof i !== 'number' || !Number.isInteger(i))
        return memmapError('ERR_MEMMAP_INVALID_INDEX', `index ${axis} must be an integer, got ${show(i)}`);
      resolveInteger(i, this.shape[axis], axis); // throws the RangeError
    }
    return memmapError('ERR_MEMMAP_INVALID_INDEX', `bad index ${show(index)}`);
  }

  /** Binds the accessor for this view (see Access). */
  #bind(): Access {
    if (this.#access !== null) return this.#access;
    const { row } = this.#dtype;
    const laneBytes = row.itemsize / row.lanes;
    const [low, high] = byteExtent(this.shape, this.strides, this.itemsize);
    const chunk = Math.floor((this.#byteOffset + low) / this.#storage.chunkBytes);
    const chunkStart = chunk * this.#storage.chunkBytes;
    const fits = this.size > 0 && this.#byteOffset + high <= chunkStart + this.#storage.chunkBytes;
    const aligned =
      (this.#byteOffset - chunkStart) % laneBytes === 0 && this.strides.every((stride) => stride % laneBytes === 0);
    if (this.#storage.refused) {
      this.#access = {
        origin: this.#byteOffset,
        steps: this.strides,
        lanes: null,
        ...nativeAccess(this.#storage, this.#dtype),
      };
    } else if (this.#dtype.native && fits && aligned) {
      const buffer = this.#chunkOrRefusal(chunk);
      if (buffer === null) return this.#bind();
      const lanes = new row.TypedArray(buffer, 0, Math.floor(buffer.byteLength / laneBytes));
      const steps = this.strides.map((stride) => stride / laneBytes);
      this.#access = {
        origin: (this.#byteOffset - chunkStart) / laneBytes,
        steps,
        lanes,
        ...row.codec.laneAccess(lanes, row),
      };
    } else {
      if (this.size > 0 && this.#chunkOrRefusal(chunk) === null) return this.#bind();
      this.#access = {
        origin: this.#byteOffset,
        steps: this.strides,
        lanes: null,
        ...byteAccess(this.#storage, this.#dtype),
      };
    }
    if (this.#getter !== null && this.#access.lanes === null && this.#dtype.native && readsLanesAsIs(this.#dtype.row)) {
      // Bound without lanes after all (unaligned, across chunks, no external
      // buffers): the read() getter instead, once.
      this.#getter = readGetter(this.shape, this.#storage, this.#slowGet);
      (this as { get: Memmap['get'] }).get = this.#getter.get;
    }
    this.#getter?.point(this.#access);
    return this.#access;
  }

  /** The chunk's buffer, or null (and `storage.refused` set) where the runtime refuses external buffers. */
  #chunkOrRefusal(chunk: number): ArrayBuffer | null {
    try {
      return chunkBuffer(this.#storage, chunk);
    } catch (error) {
      if ((error as { code?: string }).code !== 'ERR_MEMMAP_EXTERNAL_BUFFERS_REFUSED') throw error;
      this.#storage.refused = true;
      return null;
    }
  }

  /**
   * get() for any index: negatives, huge indices, the errors, and the first
   * reads of a view. Creating the ArrayBuffer over a chunk makes V8 count up to
   * 4 GiB of external memory and collect garbage (milliseconds), so a view
   * whose chunk has no buffer yet first reads through a native copy of the one
   * element (about a microsecond), and binds a buffer only once those reads
   * would have paid for it: one read per 512 KiB of the view's bytes, at least
   * 8 (ski rental: never more than twice the better choice in hindsight).
   */
  #getAny(index: number[]): Scalar {
    if (this.#closed || this.#storage.closed) throw closedError();
    if (this.#access === null && this.#staysCold()) {
      this.#coldReads++;
      return this.#coldRead(this.#byteAt(index));
    }
    const access = this.#access ?? this.#bind();
    return access.read(this.#at(access, index));
  }

  #staysCold(): boolean {
    if (this.#coldLimit < 0) {
      // Decided once per view: no cold reads if its chunks already have buffers.
      const [low, high] = byteExtent(this.shape, this.strides, this.itemsize);
      const chunkBytes = this.#storage.chunkBytes;
      const first = Math.floor((this.#byteOffset + low) / chunkBytes);
      const last = Math.floor((this.#byteOffset + high - 1) / chunkBytes);
      let missing = false;
      for (let chunk = first; chunk <= last && !missing; chunk++) missing = this.#storage.chunks[chunk] === undefined;
      this.#coldLimit = high > low && missing ? Math.max(8, (high - low) / 2 ** 19) : 0;
    }
    return this.#coldReads < this.#coldLimit;
  }

  /** Byte position in the mapping of the element at `index` (errors as #at's). */
  #byteAt(index: number[]): number {
    if (index.length !== this.ndim) throw this.#indexError(index);
    let position = this.#byteOffset;
    for (let axis = 0; axis < index.length; axis++) {
      const dim = this.shape[axis];
      let i = index[axis];
      if (!(i >= -dim && i < dim && Number.isInteger(i))) throw this.#indexError(index);
      if (i < 0) i += dim;
      position += i * this.strides[axis];
    }
    return position;
  }

  /** One element through a native copy of its bytes. */
  #coldRead(position: number): Scalar {
    this.#cold ??= nativeAccess(this.#storage, this.#dtype);
    return this.#cold.read(position);
  }

  // get() of 0-D and N-D (N > 2) views.
  static readonly #getN = function (this: Memmap, ...index: number[]): Scalar {
    return this.#getAny(presentIndices(index));
  };

  /** Calls `visit` with the `at` of every element, in C order. */
  #forEach(access: Access, visit: (at: number) => void): void {
    const counters = new Array<number>(this.ndim).fill(0);
    let at = access.origin;
    for (let n = 0; n < this.size; n++) {
      visit(at);
      for (let axis = this.ndim - 1; axis >= 0; axis--) {
        at += access.steps[axis];
        if (++counters[axis] < this.shape[axis]) break;
        at -= access.steps[axis] * this.shape[axis];
        counters[axis] = 0;
      }
    }
  }
}

/** The indices a call really passed: trailing `undefined`s are absent parameters. */
function presentIndices(index: number[]): number[] {
  let length = index.length;
  while (length > 0 && index[length - 1] === undefined) length--;
  return index.slice(0, length);
}

/** Nested empty arrays of `shape` (some axis is 0). */
function emptyNested(shape: readonly number[], axis: number): unknown {
  if (axis === shape.length) return [];
  return Array.from({ length: shape[axis] }, () => emptyNested(shape, axis + 1));
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

/** Flattens an assign() source to values in C order and its shape. */
function flatten(source: unknown): { values: unknown[]; shape: number[] } {
  if (source instanceof Memmap) return { values: flatten(source.toArray()).values, shape: [...source.shape] };
  if (ArrayBuffer.isView(source) && !(source instanceof DataView)) {
    return {
      values: Array.from(source as unknown as ArrayLike<unknown>),
      shape: [(source as unknown as ArrayLike<unknown>).length],
    };
  }
  if (!Array.isArray(source)) return { values: [source], shape: [] };
  const shape: number[] = [];
  for (let level: unknown = source; Array.isArray(level); level = level[0]) shape.push(level.length);
  const values: unknown[] = [];
  const walk = (node: unknown, axis: number): void => {
    if (axis === shape.length) {
      if (Array.isArray(node))
        throw memmapError(
          'ERR_MEMMAP_SHAPE_MISMATCH',
          `source is a ragged nested array: expected shape ${show(shape)}`,
        );
      values.push(node);
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[axis]) {
      throw memmapError('ERR_MEMMAP_SHAPE_MISMATCH', `source is a ragged nested array: expected shape ${show(shape)}`);
    }
    for (const child of node) walk(child, axis + 1);
  };
  walk(source, 0);
  return { values, shape };
}

/**
 * Element strides that read a C-ordered source of `sourceShape` at each index
 * of `targetShape`, numpy's broadcasting rules (0 on broadcast axes).
 */
function broadcastElementStrides(sourceShape: number[], targetShape: readonly number[], flatFill: boolean): number[] {
  if (flatFill) return contiguousStrides(targetShape, 1, 'C');
  // numpy's assignment drops leading length-1 axes of the source first.
  while (sourceShape.length > targetShape.length && sourceShape[0] === 1) sourceShape = sourceShape.slice(1);
  if (sourceShape.length > targetShape.length) {
    throw memmapError(
      'ERR_MEMMAP_SHAPE_MISMATCH',
      `could not broadcast input array from shape ${show(sourceShape)} into shape ${show(targetShape)}`,
    );
  }
  const padded = [...new Array<number>(targetShape.length - sourceShape.length).fill(1), ...sourceShape];
  const sourceStrides = contiguousStrides(padded, 1, 'C');
  return targetShape.map((dim, axis) => {
    if (padded[axis] === dim) return sourceStrides[axis];
    if (padded[axis] === 1) return 0;
    throw memmapError(
      'ERR_MEMMAP_SHAPE_MISMATCH',
      `could not broadcast input array from shape ${show(sourceShape)} into shape ${show(targetShape)}`,
    );
  });
}

function parseMode(mode: unknown): Mode {
  const parsed = typeof mode === 'string' ? MODES[mode] : undefined;
  if (parsed === undefined) {
    throw memmapError(
      'ERR_MEMMAP_INVALID_MODE',
      `mode must be one of "r", "r+", "w+", "c" (or "readonly", "readwrite", "write", "copyonwrite"); got ${show(mode)}`,
    );
  }
  return parsed;
}

function parseAdvice(advice: unknown): Advice {
  if (typeof advice !== 'string' || !ADVICE.includes(advice as Advice)) {
    throw memmapError(
      'ERR_MEMMAP_INVALID_ADVICE',
      `advice must be one of ${ADVICE.map((a) => `"${a}"`).join(', ')}; got ${show(advice)}`,
    );
  }
  return advice as Advice;
}

function parseOrder(order: unknown): Order {
  if (order === 'C' || order === 'c') return 'C';
  if (order === 'F' || order === 'f') return 'F';
  throw memmapError('ERR_MEMMAP_INVALID_ORDER', `order must be "C" or "F"; got ${show(order)}`);
}

function parseOffset(offset: unknown): number {
  if (typeof offset === 'bigint') {
    if (offset < 0n)
      throw memmapError('ERR_MEMMAP_OUT_OF_RANGE', `offset must be a non-negative integer; got ${show(offset)}`);
    if (offset > BigInt(Number.MAX_SAFE_INTEGER))
      throw memmapError('ERR_MEMMAP_OUT_OF_RANGE', `offset ${show(offset)} is larger than any file (2^53 - 1 bytes)`);
    return Number(offset);
  }
  if (typeof offset !== 'number' || !Number.isInteger(offset)) {
    throw memmapError(
      typeof offset === 'number' ? 'ERR_MEMMAP_OUT_OF_RANGE' : 'ERR_MEMMAP_INVALID_ARG',
      `offset must be a non-negative integer (number or bigint); got ${show(offset)}`,
    );
  }
  if (offset < 0 || offset > Number.MAX_SAFE_INTEGER) {
    throw memmapError(
      'ERR_MEMMAP_OUT_OF_RANGE',
      `offset must be a non-negative integer no larger than 2^53 - 1; got ${show(offset)}`,
    );
  }
  return offset;
}

/**
 * A path or a descriptor number, checked. A Buffer path is bytes: returned as a
 * string when they are UTF-8 (the same file either way), else as the Buffer.
 */
export function parseFile(file: unknown): string | Buffer | number {
  if (typeof file === 'number') {
    if (!Number.isInteger(file) || file < 0 || file > 2 ** 31 - 1) {
      throw memmapError(
        'ERR_MEMMAP_INVALID_ARG',
        `file must be a path or an open file descriptor (a non-negative integer); got ${show(file)}`,
      );
    }
    return file;
  }
  let path: string;
  if (typeof file === 'string') path = file;
  else if (
    file instanceof URL ||
    (typeof file === 'object' &&
      file !== null &&
      (file as { href?: unknown }).href !== undefined &&
      (file as URL).protocol !== undefined)
  ) {
    const url = file as URL;
    if (url.protocol !== 'file:')
      throw memmapError('ERR_MEMMAP_INVALID_ARG', `file URL must use the file: protocol; got ${show(url.href)}`);
    path = fileURLToPath(url);
  } else if (Buffer.isBuffer(file)) {
    const text = file.toString('utf8');
    if (!Buffer.from(text).equals(file)) {
      if (file.length === 0 || file.includes(0))
        throw memmapError(
          'ERR_MEMMAP_INVALID_ARG',
          `file path must be non-empty, without NUL bytes; got ${show(file)}`,
        );
      return Buffer.from(file);
    }
    path = text;
  } else
    throw memmapError(
      'ERR_MEMMAP_INVALID_ARG',
      `file must be a path (string, file: URL or Buffer) or an open file descriptor; got ${show(file)}`,
    );
  if (path.length === 0) throw memmapError('ERR_MEMMAP_INVALID_ARG', 'file must be a non-empty path; got ""');
  if (path.includes('\0'))
    throw memmapError('ERR_MEMMAP_INVALID_ARG', `file path must not contain NUL bytes; got ${show(path)}`);
  return path;
}

/**
 * numpy's `filename`: the absolute, normalised path (for bytes that are not
 * UTF-8, their lossy decoding: `descriptor().pathBytes` has the bytes), or
 * for a descriptor the path set at open.
 */
function filenameOf(storage: Storage): string | null {
  if (storage.filename === undefined && typeof storage.source !== 'number') {
    storage.filename = resolve(storage.source.toString());
  }
  return storage.filename ?? null;
}

/** A path from the binding (bytes): a string, and the bytes too if they are not UTF-8. */
function pathFromNative(bytes: Buffer | null | undefined): { filename: string | null; pathBytes: Buffer | null } {
  if (bytes === null || bytes === undefined) return { filename: null, pathBytes: null };
  const filename = bytes.toString('utf8');
  return { filename, pathBytes: Buffer.from(filename).equals(bytes) ? null : Buffer.from(bytes) };
}

/** Checks every option before anything touches the disk. */
function parseOptions(raw: unknown) {
  const options: unknown = raw ?? {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw memmapError('ERR_MEMMAP_INVALID_ARG', `options must be an object; got ${show(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!OPTIONS.has(key)) {
      throw memmapError(
        'ERR_MEMMAP_UNKNOWN_OPTION',
        `unknown option ${show(key)}: memmap takes ${[...OPTIONS].join(', ')}`,
      );
    }
  }
  const given = options as MemmapOptions;
  const dtype = parseDType(given.dtype ?? 'uint8');
  const mode = parseMode(given.mode ?? 'r+');
  const offset = parseOffset(given.offset ?? 0);
  const shape = given.shape === undefined || given.shape === null ? null : normalizeShape(given.shape);
  const order = parseOrder(given.order ?? 'C');
  const advice = given.advice === undefined ? null : parseAdvice(given.advice);
  if (mode === 'w+' && shape === null) {
    throw memmapError(
      'ERR_MEMMAP_SHAPE_REQUIRED',
      "shape must be given if mode is 'w+' (the file is created with exactly that many items)",
    );
  }
  const byteLength = shape === null ? null : sizeOf(shape, dtype.itemsize) * dtype.itemsize;
  if (byteLength !== null && offset + byteLength > Number.MAX_SAFE_INTEGER) {
    throw memmapError(
      'ERR_MEMMAP_TOO_LARGE',
      `offset ${offset} + ${byteLength} bytes is past the largest file memmap can address (2^53 - 1 bytes)`,
    );
  }
  return { dtype, mode, offset, shape, order, advice, byteLength };
}

/** A path made absolute (bytes included: the working directory's bytes, then the name's). */
function absolute(target: string | Buffer | number): string | Buffer | number {
  if (typeof target === 'string') return isAbsolute(target) ? target : resolve(target);
  if (typeof target === 'number' || target[0] === 0x2f) return target;
  return Buffer.concat([Buffer.from(`${process.cwd()}/`), target]);
}

/** Opens `byteLength` bytes (or the rest of the file) at `offset` as a Storage. */
function openStorage(
  target: string | Buffer | number,
  mode: Mode,
  offset: number,
  byteLength: number | null,
  itemsize: number,
  advice: Advice | null,
  extra?: OpenExtra,
): Storage {
  const source = absolute(target);
  const storage: Storage = {
    handle: -1,
    byteLength: 0,
    chunkBytes: CHUNK_BYTES,
    chunks: [],
    dataViews: [],
    source,
    filename: undefined,
    pathBytes: Buffer.isBuffer(source) ? source : null,
    // numpy's open_memmap writes the header, then maps in r+: its map says r+.
    mode: extra?.prefix === undefined ? mode : 'r+',
    offset,
    closed: false,
    refused: false,
  };
  storage.handle = callNative(() =>
    binding.open(storage, source, mode, offset, byteLength, itemsize, CHUNK_BYTES, extra),
  );
  try {
    if (typeof source === 'number') {
      const { filename, pathBytes } = pathFromNative(binding.mappedFile(storage.handle).path);
      storage.filename = filename;
      storage.pathBytes = pathBytes;
    }
    storage.byteLength = binding.byteLength(storage.handle);
    if (advice !== null && storage.byteLength > 0)
      callNative(() => binding.advise(storage.handle, advice, 0, storage.byteLength));
    return storage;
  } catch (error) {
    binding.close(storage, storage.handle);
    throw error;
  }
}

/**
 * numpy.memmap: maps `file` as an array.
 *
 * @example
 * const fp = memmap('data.f32', { dtype: 'float32', mode: 'w+', shape: [3, 4] });
 * fp.set(0, 1, 2.5);
 * fp.flush();
 * fp.close();
 */
export function memmap(file: FileLike, options?: MemmapOptions): Memmap {
  return memmapWith(parseFile(file), options, undefined);
}

/**
 * memmap() with what only this package's own callers ask of the native open:
 * a prefix written when a `w+` open commits (openMemmap's header), a file that
 * must not grow and must still be the same one (fromDescriptor).
 */
export function memmapWith(target: string | Buffer | number, options: unknown, extra: OpenExtra | undefined): Memmap {
  const { dtype, mode, offset, shape, order, advice, byteLength } = parseOptions(options);
  const storage = openStorage(target, mode, offset, byteLength, dtype.itemsize, advice, extra);
  const finalShape = shape ?? [storage.byteLength / dtype.itemsize];
  return new Memmap(
    storage,
    dtype,
    { shape: finalShape, strides: contiguousStrides(finalShape, dtype.itemsize, order), byteOffset: 0 },
    true,
  );
}

/**
 * A plain, structured-cloneable description of a map or view: what another
 * worker or process passes to `memmap.fromDescriptor` to map the same bytes.
 */
export interface MemmapDescriptor {
  /** Absolute path of the file. */
  path: string;
  /**
   * The path's bytes, present only where they are not UTF-8 (`path` is then
   * their lossy decoding); `fromDescriptor` opens these bytes.
   */
  pathBytes?: Uint8Array;
  /**
   * Which file it is, `'device:inode'`: `fromDescriptor` refuses another file
   * found at `path` (one renamed over it) with ERR_MEMMAP_FILE_REPLACED.
   * Absent in a description written by hand: then the path alone is trusted.
   */
  fileId?: string;
  /** numpy's `dtype.str`, byte order included (`'<f4'`). */
  dtype: string;
  shape: number[];
  /** In bytes. */
  strides: number[];
  /** Byte offset in the file of element 0 of the view. */
  offset: number;
  /** `'r'`, `'r+'` or `'c'` (a `w+` map is described as `r+`: the file exists now). */
  mode: Exclude<Mode, 'w+'>;
}

function fromDescriptor(descriptor: MemmapDescriptor): Memmap {
  if (descriptor === null || typeof descriptor !== 'object') {
    throw memmapError(
      'ERR_MEMMAP_INVALID_ARG',
      `descriptor must be an object from Memmap.descriptor(); got ${show(descriptor)}`,
    );
  }
  const { path, pathBytes, fileId, dtype: spelling, shape, strides, offset, mode } = descriptor;
  if (pathBytes !== undefined && !(pathBytes instanceof Uint8Array))
    throw memmapError('ERR_MEMMAP_INVALID_ARG', `descriptor.pathBytes must be a Uint8Array; got ${show(pathBytes)}`);
  const target = parseFile(pathBytes === undefined ? path : Buffer.from(pathBytes));
  if (typeof target === 'number')
    throw memmapError('ERR_MEMMAP_INVALID_ARG', `descriptor.path must be a path; got ${show(path)}`);
  if (fileId !== undefined && (typeof fileId !== 'string' || !/^\d+:\d+$/.test(fileId)))
    throw memmapError('ERR_MEMMAP_INVALID_ARG', `descriptor.fileId must be "device:inode"; got ${show(fileId)}`);
  const dtype = parseDType(spelling, 'descriptor.dtype');
  const dims = normalizeShape(shape, 'descriptor.shape');
  if (!Array.isArray(strides) || strides.length !== dims.length || !strides.every(Number.isSafeInteger)) {
    throw memmapError(
      'ERR_MEMMAP_INVALID_ARG',
      `descriptor.strides must be ${dims.length} integers; got ${show(strides)}`,
    );
  }
  const parsedMode = parseMode(mode);
  const start = parseOffset(offset);
  const [low, high] = byteExtent(dims, strides, dtype.itemsize);
  if (start + low < 0)
    throw memmapError(
      'ERR_MEMMAP_OUT_OF_RANGE',
      `descriptor reaches ${-(start + low)} bytes before the start of the file`,
    );
  // The bytes described exist: a file now shorter is an error, never extended.
  const storage = openStorage(target, parsedMode === 'w+' ? 'r+' : parsedMode, start + low, high - low, 1, null, {
    neverGrow: true,
    fileId,
  });
  return new Memmap(storage, dtype, { shape: dims, strides: [...strides], byteOffset: -low }, true);
}

/** Reopens what `Memmap.descriptor()` described: the same bytes of the same file, in this thread or process. */
memmap.fromDescriptor = fromDescriptor;

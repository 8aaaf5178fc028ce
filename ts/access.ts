/**
 * How a view reaches its elements: the accessor, bound once per view on first
 * access, the one index-to-position function, cold reads, and get() of 1-D
 * and 2-D views. Nothing else in the library reads or writes elements.
 *
 * Positions (`at`) are in the accessor's own unit: TypedArray lanes on the
 * fast path (native byte order, the whole view inside one lane-aligned
 * chunk), bytes from the start of the storage otherwise (DataView, any order,
 * any chunk; an element that straddles two chunks is copied whole). `read`/
 * `write` are closures made for this view alone, so the hot call sites stay
 * monomorphic.
 */
import { AnyTypedArray, Coerced, DType, DTypeRow, elementView, Scalar } from './dtype';
import { memmapError, show } from './errors';
import { Geometry, integerOf, resolveInteger } from './indexing';
import { byteExtent, sizeOf } from './shape';
import type { BlockView } from './binding';
import { SCRATCH_BYTES, SCRATCH_VIEW, Storage } from './storage';

export interface Access {
  /** `at` of element 0, and the step in `at` per index on each axis. */
  readonly origin: number;
  readonly steps: readonly number[];
  /** The TypedArray on the fast path (fill() and get() use it), else null. */
  readonly lanes: AnyTypedArray | null;
  read(at: number): Scalar;
  write(at: number, value: Coerced): void;
}

/** A view's get(). */
export type GetFn = (...index: number[]) => Scalar;

type Lanes = { readonly [at: number]: number };
type SlowGet = (...index: number[]) => Scalar;
/** A view's get(), and how binding points it at an accessor (null: none, every call takes the slow path). */
type Getter = { get: GetFn; point(a: Access | null): void };

/** Whether elements of `row` in this machine's order are TypedArray lanes read as numbers as is (ints to 32 bits, float32/64). */
function readsLanesAsIs(row: DTypeRow): boolean {
  return ((row.kind === 'i' || row.kind === 'u') && row.itemsize <= 4) || (row.kind === 'f' && row.itemsize > 2);
}

const NO_LANES: Lanes = new Float64Array(0);

/*
 * get() of a 1-D or 2-D view is made once per view and never replaced: it
 * reads the accessor's numbers from variables that binding fills in and
 * release() empties, so a call site sees one function for the view's whole
 * life and the common call (one in-range uint32 index per axis) costs the
 * compares and one load. Anything else (negative or huge indices, the wrong
 * count, a view not yet bound or closed) goes to `slow`, which reads cold,
 * binds, or throws numpy's errors. (bench/run.js measures it against a raw
 * typed-array read; a closure made afresh at each bind was fast only while V8
 * could specialise it to one closure.)
 *
 * Shape details that the speed depends on: the slow call passes indices as
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
 * index needs no origin and no last stride.
 */
/* eslint-disable prefer-rest-params, prefer-spread -- get() counts `arguments` instead of taking
   a rest parameter, which would allocate an array on every call of the hot path. */
function laneGetter(shape: readonly number[], unit: boolean, slow: SlowGet): Getter {
  const ndim = shape.length;
  // `var`, not `let`: V8 checks a `let` read from a closure for its temporal
  // dead zone on every call.
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
      if (typeof i === 'number' && i >>> 0 === i) {
        const value = plain[i];
        if (value !== undefined) return value;
      }
      return +(slow(i) as number);
    };
  } else if (ndim === 1) {
    get = function get(i: number): Scalar {
      if (arguments.length !== 1) return slow.apply(undefined, arguments as unknown as number[]);
      if (typeof i === 'number' && i >>> 0 === i && i < d0) {
        const value = plain[origin + i * s0];
        if (value !== undefined) return value;
      }
      return +(slow(i) as number);
    };
  } else if (unit) {
    get = function get(i: number, j: number): Scalar {
      if (arguments.length !== 2) return slow.apply(undefined, arguments as unknown as number[]);
      if (typeof i === 'number' && typeof j === 'number' && i >>> 0 === i && j >>> 0 === j && i < d0 && j < d1) {
        const value = plain[i * s0 + j];
        if (value !== undefined) return value;
      }
      return +(slow(i, j) as number);
    };
  } else {
    get = function get(i: number, j: number): Scalar {
      if (arguments.length !== 2) return slow.apply(undefined, arguments as unknown as number[]);
      if (typeof i === 'number' && typeof j === 'number' && i >>> 0 === i && j >>> 0 === j && i < d0 && j < d1) {
        const value = plain[origin + i * s0 + j * s1];
        if (value !== undefined) return value;
      }
      return +(slow(i, j) as number);
    };
  }
  return { get: get as GetFn, point };
}

/** get() through the accessor's read(): bool, float16, complex, 64-bit, swapped byte order, DataView. */
function readGetter(shape: readonly number[], storage: Storage, slow: SlowGet): Getter {
  let read: Access['read'] = () => 0;
  // The storage's epoch when bound: a shrink or close changes it, and every
  // call then takes the slow path, which rebinds or throws.
  let epoch = -2;
  let origin = 0;
  let d0 = 0;
  let s0 = 0;
  let d1 = 0;
  let s1 = 0;
  const point = (a: Access | null): void => {
    if (a === null) {
      d0 = d1 = 0;
      epoch = -2;
      return;
    }
    [read, origin, epoch] = [a.read, a.origin, storage.epoch];
    [d0, s0, d1, s1] = [shape[0], a.steps[0], shape[1] ?? 0, a.steps[1] ?? 0];
  };
  const get =
    shape.length === 1
      ? function get(i: number): Scalar {
          if (arguments.length !== 1) return slow.apply(undefined, arguments as unknown as number[]);
          return typeof i === 'number' && i >>> 0 === i && i < d0 && storage.epoch === epoch
            ? read(origin + i * s0)
            : slow(i);
        }
      : function get(i: number, j: number): Scalar {
          if (arguments.length !== 2) return slow.apply(undefined, arguments as unknown as number[]);
          return typeof i === 'number' &&
            typeof j === 'number' &&
            i >>> 0 === i &&
            j >>> 0 === j &&
            i < d0 &&
            j < d1 &&
            storage.epoch === epoch
            ? read(origin + i * s0 + j * s1)
            : slow(i, j);
        };
  return { get: get as GetFn, point };
}

/* eslint-enable prefer-rest-params, prefer-spread */

/**
 * The DataView accessor: any byte order, any chunk. `at` is a byte position.
 * An element that straddles two chunks (a view whose strides do not keep its
 * elements on the chunk grid) is copied whole through the storage, never read
 * or written in two halves.
 */
function byteAccess(storage: Storage, dtype: DType): Pick<Access, 'read' | 'write'> {
  const element = elementView(dtype);
  const { itemsize } = dtype;
  const chunkBytes = storage.chunkBytes;
  const copied = copyAccess(storage, dtype);
  return {
    read(at) {
      const chunk = Math.floor(at / chunkBytes);
      const within = at - chunk * chunkBytes;
      if (within + itemsize > chunkBytes) return copied.read(at);
      return element.read(storage.chunkDataView(chunk), within);
    },
    write(at, value) {
      const chunk = Math.floor(at / chunkBytes);
      const within = at - chunk * chunkBytes;
      if (within + itemsize > chunkBytes) copied.write(at, value);
      else element.write(storage.chunkDataView(chunk), within, value);
    },
  };
}

/**
 * Each element copied in or out whole through the storage: the accessor where
 * the runtime refuses external ArrayBuffers (Electron), the cold reads of a
 * view that has no buffer yet, and elements that straddle two chunks. `at` is
 * a byte position.
 */
function copyAccess(storage: Storage, dtype: DType): Pick<Access, 'read' | 'write'> {
  const element = elementView(dtype);
  const { itemsize, row } = dtype;
  if (dtype.native && readsLanesAsIs(row)) {
    // The common numeric dtypes: the scratch's first lane, read as is.
    let lane: Lanes & { [at: number]: number };
    try {
      lane = new row.TypedArray(SCRATCH_VIEW.buffer, 0, 1) as unknown as Lanes & { [at: number]: number };
    } catch (error) {
      // Only code that replaced the global ArrayBuffer before this module
      // loaded can reach the scratch to detach or shrink it.
      throw memmapError(
        'ERR_MEMMAP_BUFFER_FAILED',
        `the scratch buffer of single-element copies was detached or resized by other code: ${(error as Error).message}`,
      );
    }
    return {
      read(at) {
        storage.load(at, itemsize);
        return lane[0];
      },
      write(at, value) {
        lane[0] = (value as [number, number])[0];
        storage.store(at, itemsize);
      },
    };
  }
  if (itemsize <= SCRATCH_BYTES) {
    // Through the storage's scratch: a native call with numbers only. A value
    // is encoded whole into the scratch before anything reaches the storage,
    // so one that fails to encode (a bad record field) changes nothing.
    return {
      read(at) {
        storage.load(at, itemsize);
        return element.read(SCRATCH_VIEW, 0);
      },
      write(at, value) {
        element.write(SCRATCH_VIEW, 0, value);
        storage.store(at, itemsize);
      },
    };
  }
  // Larger elements: a buffer of their own.
  const scratch = Buffer.alloc(itemsize);
  const scratchView = new DataView(scratch.buffer, scratch.byteOffset, scratch.byteLength);
  return {
    read(at) {
      storage.peek(at, scratch);
      return element.read(scratchView, 0);
    },
    write(at, value) {
      const bytes = Buffer.alloc(itemsize);
      element.write(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, value);
      storage.poke(at, bytes);
    },
  };
}

export const closedError = () =>
  memmapError(
    'ERR_MEMMAP_CLOSED',
    'the memmap is closed (or, for an array in memory, its ArrayBuffer was transferred): data, and every method, are unavailable',
  );

/**
 * One view's way to its elements: the storage, the dtype and the geometry,
 * the accessor once bound, and get().
 */
export class Accessor {
  readonly get: GetFn;
  /** Set by release(): this view (or its base) is closed. */
  closed = false;
  readonly ndim: number;
  readonly size: number;
  #access: Access | null = null;
  /** The storage's epoch this view last checked its place against (see checkOpen). */
  #epoch: number;
  /** get() calls served by a native copy before this view binds a buffer (see getAny). */
  #coldReads = 0;
  /** How many cold reads this view may make (computed on its first get; see getAny). */
  #coldLimit = -1;
  #cold: Pick<Access, 'read'> | null = null;
  readonly #getter: Getter | null = null;
  /**
   * What the getter falls back to. Called through a Proxy because V8 never
   * inlines a Proxy call: cold reads run this path thousands of times while
   * code warms up, and an inlined copy of getAny's chain in the caller's loop
   * slowed every fast get().
   */
  readonly #slowGet: SlowGet = new Proxy((...index: number[]): Scalar => this.getAny(presentIndices(index)), {});

  constructor(
    readonly storage: Storage,
    readonly dtype: DType,
    readonly shape: readonly number[],
    readonly strides: readonly number[],
    /** Bytes from the start of the storage to element 0 of this view. */
    readonly byteOffset: number,
  ) {
    this.ndim = shape.length;
    this.size = sizeOf(shape, dtype.itemsize);
    this.#epoch = storage.epoch;
    if (this.ndim === 1 || this.ndim === 2) {
      this.#getter =
        this.#bindsLanes() && readsLanesAsIs(dtype.row)
          ? laneGetter(
              shape,
              strides.every((stride) => stride >= 0) && strides[this.ndim - 1] === dtype.itemsize,
              this.#slowGet,
            )
          : readGetter(shape, storage, this.#slowGet);
      this.get = this.#getter.get;
    } else {
      this.get = (...index: number[]): Scalar => this.getAny(presentIndices(index));
    }
  }

  /**
   * Throws ERR_MEMMAP_CLOSED once this view or its storage is closed, or once
   * the storage shrank past the view's bytes (which closes the view). A view
   * still inside a shrunk storage drops its accessor and binds again.
   */
  checkOpen(): void {
    if (this.closed || this.storage.closed) throw closedError();
    if (this.#epoch !== this.storage.epoch) this.#recheck();
  }

  /** Whether this view is closed: by release(), its storage's close, or a shrink past its bytes (even one grown back since). */
  isClosed(): boolean {
    if (this.closed || this.storage.closed) return true;
    if (this.#epoch !== this.storage.epoch && this.#cut()) this.release();
    return this.closed;
  }

  /** Whether a shrink since this view last looked cut its bytes. */
  #cut(): boolean {
    const [low, high] = this.extent();
    const end = this.storage.lowestSince?.(this.#epoch) ?? this.storage.byteLength;
    return this.size > 0 && (this.byteOffset + low < 0 || this.byteOffset + high > end);
  }

  #recheck(): void {
    if (this.#cut()) {
      const [low, high] = this.extent();
      this.release();
      throw memmapError(
        'ERR_MEMMAP_CLOSED',
        `the memmap was resized to ${this.storage.byteLength} bytes, which cut this view's bytes (${this.byteOffset + low} to ${this.byteOffset + high}): the view is closed`,
      );
    }
    this.#epoch = this.storage.epoch;
    this.#access = null;
    this.#coldLimit = -1;
    this.#getter?.point(null);
  }

  /** Forgets the accessor; every later call throws ERR_MEMMAP_CLOSED. */
  release(): void {
    this.closed = true;
    this.#access = null;
    this.#getter?.point(null);
  }

  /** The view's geometry as the storage's block copies take it. */
  blockView(): BlockView {
    return {
      byteOffset: this.byteOffset,
      shape: this.shape as number[],
      strides: this.strides as number[],
      itemSize: this.dtype.itemsize,
    };
  }

  /** [low, high) of the bytes the view touches, from element 0 (byteExtent). */
  extent(): [number, number] {
    return byteExtent(this.shape, this.strides, this.dtype.itemsize);
  }

  /** Whether binding would give a TypedArray over the view's lanes (see bind). */
  #bindsLanes(): boolean {
    const { row } = this.dtype;
    if (!this.dtype.native || this.storage.refused || this.size === 0) return false;
    const laneBytes = row.itemsize / row.lanes;
    const [low, high] = this.extent();
    const chunkBytes = this.storage.chunkBytes;
    const chunkStart = Math.floor((this.byteOffset + low) / chunkBytes) * chunkBytes;
    return (
      this.byteOffset + high <= chunkStart + chunkBytes &&
      (this.byteOffset - chunkStart) % laneBytes === 0 &&
      this.strides.every((stride) => stride % laneBytes === 0)
    );
  }

  /** The accessor for this view (see Access), bound on first use. */
  bind(): Access {
    if (this.#access !== null && this.#epoch === this.storage.epoch) return this.#access;
    this.checkOpen();
    const { row } = this.dtype;
    const laneBytes = row.itemsize / row.lanes;
    const [low] = this.extent();
    const chunk = Math.floor((this.byteOffset + low) / this.storage.chunkBytes);
    const chunkStart = chunk * this.storage.chunkBytes;
    let access: Access;
    if (this.storage.refused) {
      access = { origin: this.byteOffset, steps: this.strides, lanes: null, ...copyAccess(this.storage, this.dtype) };
    } else if (this.#bindsLanes()) {
      const buffer = this.#chunkOrRefusal(chunk);
      if (buffer === null) return this.bind();
      const lanes = new row.TypedArray(buffer, 0, Math.floor(buffer.byteLength / laneBytes));
      access = {
        origin: (this.byteOffset - chunkStart) / laneBytes,
        steps: this.strides.map((stride) => stride / laneBytes),
        lanes,
        ...row.codec.laneAccess(lanes, row),
      };
    } else {
      if (this.size > 0 && this.#chunkOrRefusal(chunk) === null) return this.bind();
      access = { origin: this.byteOffset, steps: this.strides, lanes: null, ...byteAccess(this.storage, this.dtype) };
    }
    this.#access = access;
    this.#getter?.point(access);
    return access;
  }

  /** The chunk's buffer, or null (and `storage.refused` set) where the runtime refuses external buffers. */
  #chunkOrRefusal(chunk: number): ArrayBuffer | null {
    try {
      return this.storage.chunkBuffer(chunk);
    } catch (error) {
      if ((error as { code?: string }).code !== 'ERR_MEMMAP_EXTERNAL_BUFFERS_REFUSED') throw error;
      this.storage.markRefused();
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
  getAny(index: readonly unknown[]): Scalar {
    this.checkOpen();
    if (this.#access === null && this.#staysCold()) {
      this.#coldReads++;
      this.#cold ??= copyAccess(this.storage, this.dtype);
      return this.#cold.read(this.position(this.byteOffset, this.strides, index));
    }
    const access = this.#access ?? this.bind();
    return access.read(this.position(access.origin, access.steps, index));
  }

  /** Writes one element at `index` (a checked, coerced value). */
  setAt(index: readonly unknown[], value: Coerced): void {
    const access = this.bind();
    access.write(this.position(access.origin, access.steps, index), value);
  }

  /**
   * set(): `indexAndValue` is the indices then the value, as the caller
   * passed them (no copy of the indices: set() is a single-element hot path,
   * in runtimes without zero-copy buffers too).
   */
  setFrom(indexAndValue: readonly unknown[]): void {
    const access = this.#access ?? this.bind();
    const n = indexAndValue.length - 1;
    const { shape } = this;
    let at = access.origin;
    if (n !== shape.length) throw this.#indexError(indexAndValue.slice(0, -1));
    for (let axis = 0; axis < n; axis++) {
      const dim = shape[axis];
      let i = indexAndValue[axis] as number;
      if (!(typeof i === 'number' && i >= -dim && i < dim && Number.isInteger(i))) {
        i = this.#slowIndex(indexAndValue.slice(0, -1), axis);
      }
      if (i < 0) i += dim;
      at += i * access.steps[axis];
    }
    const { row } = this.dtype;
    access.write(at, row.codec.coerce(indexAndValue[n], row));
  }

  #staysCold(): boolean {
    if (this.#coldLimit < 0) {
      // Decided once per view: no cold reads if its chunks already have buffers.
      const [low, high] = this.extent();
      const chunkBytes = this.storage.chunkBytes;
      const first = Math.floor((this.byteOffset + low) / chunkBytes);
      const last = Math.floor((this.byteOffset + high - 1) / chunkBytes);
      let missing = false;
      for (let chunk = first; chunk <= last && !missing; chunk++) missing = !this.storage.hasChunk(chunk);
      this.#coldLimit = high > low && missing ? Math.max(8, (high - low) / 2 ** 19) : 0;
    }
    return this.#coldReads < this.#coldLimit;
  }

  /**
   * The one index-to-position function: where the element at `index` is, in
   * the unit of `origin` and `steps` (an accessor's lanes, or bytes from the
   * start of the storage). Exactly `ndim` integer indices, negative counting
   * from the end; anything else is numpy's error.
   */
  position(origin: number, steps: readonly number[], index: readonly unknown[]): number {
    const shape = this.shape;
    if (index.length !== shape.length) throw this.#indexError(index);
    let at = origin;
    for (let axis = 0; axis < index.length; axis++) {
      const dim = shape[axis];
      let i = index[axis] as number;
      if (!(typeof i === 'number' && i >= -dim && i < dim && Number.isInteger(i))) i = this.#slowIndex(index, axis);
      if (i < 0) i += dim;
      at += i * steps[axis];
    }
    return at;
  }

  /**
   * The 32-bit code units of the unicode element at `index`, trailing NULs
   * dropped: what a repr shows of one that no JavaScript string can hold.
   */
  codeUnitsAt(index: readonly number[]): number[] {
    this.checkOpen();
    const bytes = new Uint8Array(this.dtype.itemsize);
    this.storage.peek(this.position(this.byteOffset, this.strides, index), bytes);
    const view = new DataView(bytes.buffer);
    const units = Array.from({ length: bytes.length / 4 }, (_, k) => view.getUint32(4 * k, this.dtype.littleEndian));
    while (units.length > 0 && units[units.length - 1] === 0) units.pop();
    return units;
  }

  /**
   * Index `axis` of `index` where the hot path's check failed: a bigint (an
   * int64 result used as an index) resolved, or the precise error.
   */
  #slowIndex(index: readonly unknown[], axis: number): number {
    const i = index[axis];
    if (typeof i !== 'bigint') throw this.#indexError(index);
    const dim = this.shape[axis];
    if (i < -BigInt(dim) || i >= BigInt(dim)) {
      throw memmapError(
        'ERR_MEMMAP_INDEX_OUT_OF_RANGE',
        `index ${i} is out of bounds for axis ${axis} with size ${dim}`,
      );
    }
    return resolveInteger(Number(i), dim, axis);
  }

  /** The precise error for a bad index (off the hot path). */
  #indexError(index: readonly unknown[]): Error {
    if (index.length !== this.ndim) {
      return memmapError(
        'ERR_MEMMAP_INVALID_INDEX',
        `expected ${this.ndim} indices for a ${this.ndim}-dimensional array, got ${index.length}: ${show(index)}`,
      );
    }
    for (let axis = 0; axis < index.length; axis++) {
      const i = integerOf(index[axis]);
      if (typeof i !== 'number' || !Number.isInteger(i))
        return memmapError('ERR_MEMMAP_INVALID_INDEX', `index ${axis} must be an integer, got ${show(index[axis])}`);
      resolveInteger(i, this.shape[axis], axis); // throws the RangeError
    }
    return memmapError('ERR_MEMMAP_INVALID_INDEX', `bad index ${show(index)}`);
  }

  /** Calls `visit` with the `at` of every element, in C order. */
  forEach(access: Access, visit: (at: number) => void): void {
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

/** The geometry of an accessor (for making views of it). */
export function geometryOf(accessor: Accessor): Geometry {
  return { shape: [...accessor.shape], strides: [...accessor.strides], byteOffset: accessor.byteOffset };
}

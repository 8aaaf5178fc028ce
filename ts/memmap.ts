/**
 * Memmap and `memmap()`: numpy.memmap, an NDArray over a mapped file. Like
 * numpy's memmap.py, this adds only what a file adds to an array: opening
 * (options in ts/options.ts, the mapping in ts/storage.ts), `filename`,
 * `offset`, `mode`, flush, madvise, close, and descriptors that reopen the
 * same bytes elsewhere. Everything an array does is NDArray's (ts/ndarray.ts).
 */
import { Accessor } from './access';
import { DType, DTypeLike, parseDType } from './dtype';
import type {
  DTypeChecked,
  DTypeTag,
  ElementOf,
  FieldAxes,
  FieldBase,
  FieldNames,
  Minus1,
  NdimOf,
  Plus,
  RecordTag,
  ShapeLike,
  TagOf,
} from './dtype/types';
import { checkAttached, memmapError, noMoreArguments, proxyArgumentError, show } from './errors';
import { accessorOf, NDArray } from './ndarray';
import {
  Advice,
  FileLike,
  MemmapOptions,
  Mode,
  parseAdvice,
  parseFile,
  parseMode,
  parseOffset,
  parseOptions,
} from './options';
import { byteExtent, contiguousStrides, normalizeShape, Order } from './shape';
import type { OpenExtra } from './binding';
import { appendBytes, checkFits, growthAxis, headerFor, parseResizeShape } from './grow';
import { checkOptionNames } from './options';
import { typedArrayKind, typedBytes } from './intrinsics';
import { ownOptions } from './own-options';
import { FileStorage, NpyLayout } from './storage';

export type { Advice, FileLike, MemmapOptions, Mode, ModeLike } from './options';

// Node 18.18+/20 define Symbol.dispose as Symbol.for('nodejs.dispose'); realms
// that lack it (vm contexts, jest) get the same symbol so `using` works there.
if (Symbol.dispose === undefined) Object.defineProperty(Symbol, 'dispose', { value: Symbol.for('nodejs.dispose') });
if (Symbol.asyncDispose === undefined) {
  Object.defineProperty(Symbol, 'asyncDispose', { value: Symbol.for('nodejs.asyncDispose') });
}

/**
 * What iterating over a Memmap gives: elements of a 1-D map, Memmap views one axis down otherwise.
 *
 * @example
 * for (const row of memmap('a.bin', { dtype: 'float32', mode: 'w+', shape: [2, 3] })) row.flush(); // Memmap<'float32', 1>
 */
export type MemmapIterationItem<D extends DTypeTag, N extends number> = number extends N
  ? ElementOf<D> | Memmap<D>
  : N extends 1
    ? ElementOf<D>
    : Memmap<D, Minus1<N>>;

/**
 * numpy.memmap: a file's bytes seen as a typed N-dimensional array, an
 * {@link NDArray} with what a file adds (filename, offset, mode, flush,
 * madvise, close, descriptors). `D` is the dtype's tag, `N` the number of
 * dimensions where known; views of a Memmap are Memmaps.
 *
 * @example
 * const fp = memmap('data.f32', { dtype: 'float32', mode: 'w+', shape: [3, 4] }); // Memmap<'float32', 2>
 * fp.set(0, 1, 2.5);
 * fp.close();
 */
export class Memmap<D extends DTypeTag = DTypeTag, N extends number = number> extends NDArray<D, N> {
  readonly #storage: FileStorage;
  readonly #isBase: boolean;
  /** The base's memory order, which resize() and append() keep. */
  readonly #order: Order;

  /** @internal Use `memmap()`, `openMemmap()` or `slice()`. */
  constructor(view: Accessor, isBase: boolean, order: Order = 'C') {
    super(view);
    this.#storage = view.storage as FileStorage;
    this.#isBase = isBase;
    this.#order = order;
  }

  /** @internal Views of a Memmap are Memmaps (numpy: a memmap's slices are memmaps). */
  protected override _derive(view: Accessor): Memmap {
    return new Memmap(view, false);
  }

  /** @internal */
  protected override _reprName(): string {
    return 'memmap';
  }

  /**
   * numpy basic indexing, as `NDArray.slice`: a view of the same
   * mapping, itself a Memmap.
   *
   * @example
   * const fp = memmap('a.f4', { dtype: 'float32', mode: 'w+', shape: [4, 4] });
   * fp.slice('1:, ::2').flush();
   */
  override slice(spec: number | bigint, ...extra: never[]): Memmap<D, Minus1<N>>;
  override slice(spec: string | number | bigint, ...extra: never[]): Memmap<D>;
  override slice(spec: string | number | bigint, ...extra: never[]): Memmap<D> | Memmap<D, Minus1<N>> {
    return super.slice(spec as string, ...extra) as Memmap<D>;
  }

  /**
   * A view of one field of a record dtype, as `NDArray.field`: itself a Memmap.
   *
   * @example
   * const ticks = memmap('ticks.bin', { dtype: [['time', '<M8[ns]'], ['price', '<f8']], mode: 'r' });
   * ticks.field('price').max(); // number
   */
  override field<K extends FieldNames<D>>(
    name: K,
    ...extra: never[]
  ): Memmap<FieldBase<D, K>, Plus<N, FieldAxes<D, K>>> {
    return super.field(name, ...extra) as Memmap<FieldBase<D, K>, Plus<N, FieldAxes<D, K>>>;
  }

  /**
   * Iterates over the first axis: elements of a 1-D map, Memmap views otherwise.
   *
   * @example
   * for (const row of memmap('a.f4', { dtype: 'float32', mode: 'w+', shape: [2, 3] })) row.flush();
   */
  override [Symbol.iterator](...extra: never[]): Iterator<MemmapIterationItem<D, N>> {
    return super[Symbol.iterator](...extra) as Iterator<MemmapIterationItem<D, N>>;
  }

  /**
   * Absolute path of the mapped file; null where none can be known.
   *
   * @example
   * memmap('data.bin', { mode: 'w+', shape: 4 }).filename; // '/abs/path/data.bin'
   */
  get filename(): string | null {
    return this.#storage.filename;
  }

  /**
   * Byte offset of the base array in the file, as opened (views inherit it, as in numpy).
   *
   * @example
   * memmap('data.bin', { mode: 'r', offset: 16 }).offset; // 16
   */
  get offset(): number {
    return this.#storage.offset;
  }

  /**
   * `'r'`, `'r+'`, `'w+'` or `'c'` (aliases given at open are canonical here).
   *
   * @example
   * memmap('data.bin', { mode: 'readonly' }).mode; // 'r'
   */
  get mode(): Mode {
    return this.#storage.mode;
  }

  /**
   * True once this view (or its base) is closed, or a shrink (`resize`)
   * cut its bytes, even if the array grew back since: exactly when its
   * methods throw ERR_MEMMAP_CLOSED.
   *
   * @example
   * const fp = memmap('data.bin', { mode: 'r' });
   * fp.close();
   * fp.closed; // true
   */
  get closed(): boolean {
    return accessorOf(this).isClosed();
  }

  /**
   * Writes changes in this view's bytes to the file (msync); a no-op for modes r and c.
   *
   * @example
   * fp.set(0, 1.5);
   * fp.flush();
   */
  flush(...extra: never[]): void {
    noMoreArguments('flush', 0, extra);
    accessorOf(this).checkOpen();
    const [start, length] = this.#byteRange();
    this.#storage.flush(start, length);
  }

  /**
   * flush() off the main thread; the mapping stays alive until it settles.
   *
   * @example
   * await fp.flushAsync();
   */
  async flushAsync(...extra: never[]): Promise<void> {
    noMoreArguments('flushAsync', 0, extra);
    accessorOf(this).checkOpen();
    const [start, length] = this.#byteRange();
    try {
      await this.#storage.flushAsync(start, length);
    } catch (error) {
      // A shrink while it ran flushes what is left; one that left nothing
      // of a base map's range left nothing to flush (a view's is closed).
      if (this.#isBase && !this.closed && (error as { code?: unknown }).code === 'ERR_MEMMAP_CLOSED') return;
      throw error;
    }
  }

  /**
   * Access-pattern hint (madvise) for this view's bytes.
   *
   * @example
   * fp.slice('1000:2000').madvise('willneed');
   */
  madvise(advice: Advice, ...extra: never[]): void {
    noMoreArguments('madvise', 1, extra);
    accessorOf(this).checkOpen();
    const parsed = parseAdvice(advice);
    const [start, length] = this.#byteRange();
    this.#storage.advise(parsed, start, length);
  }

  /**
   * Flushes and unmaps; idempotent. On the base, every view closes too and every
   * ArrayBuffer handed out is detached (reads as length 0). On a view, only the
   * view closes; the mapping stays until its base closes.
   *
   * @example
   * const fp = memmap('data.bin', { mode: 'r' });
   * fp.close();
   */
  close(...extra: never[]): void {
    noMoreArguments('close', 0, extra);
    if (this.closed) return;
    if (!this.#isBase) {
      try {
        this.flush();
      } finally {
        this._release();
      }
      return;
    }
    this._release();
    this.#storage.close();
  }

  /**
   * close() with the flush off the main thread: the map closes now (every
   * method throws ERR_MEMMAP_CLOSED, every ArrayBuffer handed out is
   * detached), and the Promise settles once the changes are written to the
   * file and the file is let go, rejecting with the flush's failure (the map
   * is closed either way). Idempotent. On a view, only the view closes, and
   * its bytes are flushed.
   *
   * @example
   * const fp = memmap('data.bin', { mode: 'r+' });
   * fp.set(0, 1);
   * await fp.closeAsync(); // the event loop keeps running while the pages are written
   */
  async closeAsync(...extra: never[]): Promise<void> {
    noMoreArguments('closeAsync', 0, extra);
    if (this.closed) return;
    if (!this.#isBase) {
      const [start, length] = this.#byteRange();
      this._release();
      await this.#storage.flushAsync(start, length).catch((error: unknown) => {
        // The base closed meanwhile: its close() flushed these bytes and reported any failure.
        if ((error as { code?: unknown }).code !== 'ERR_MEMMAP_CLOSED') throw error;
      });
      return;
    }
    this._release();
    await this.#storage.closeAsync();
  }

  /**
   * A structured-cloneable description of this view (path, dtype, shape,
   * strides, offset, mode) for `memmap.fromDescriptor` in another worker or
   * process. Sending the view itself with postMessage is an error.
   *
   * @example
   * worker.postMessage(fp.slice('100:200').descriptor());
   */
  descriptor(...extra: never[]): MemmapDescriptor {
    noMoreArguments('descriptor', 0, extra);
    const view = accessorOf(this);
    view.checkOpen();
    const path = this.#storage.filename;
    if (path === null)
      throw memmapError(
        'ERR_MEMMAP_UNSUPPORTED',
        'descriptor() needs a map opened from a path (or a descriptor with a known path)',
      );
    const mode = this.#storage.mode;
    const fileId = this.#storage.fileId();
    const pathBytes = this.#storage.pathBytes;
    return {
      path,
      ...(pathBytes === null ? {} : { pathBytes: new Uint8Array(pathBytes) }),
      dtype: cloneableSpelling(view.dtype),
      shape: [...view.shape],
      strides: [...view.strides],
      offset: this.#storage.offset + view.byteOffset,
      mode: mode === 'w+' ? 'r+' : mode,
      ...(fileId === null ? {} : { fileId }),
      ...(this.#storage.sparse ? { sparse: true } : {}),
    };
  }

  /**
   * Makes the array `shape` (same rank) and the file exactly `offset + nbytes`
   * bytes: new bytes read as zero (their disk blocks reserved first, unless
   * opened with `sparse: true`), a `.npy` header rewritten in place to count
   * them. One transaction: on error the file, the header and every view are
   * as they were. Only on the base Memmap of a map opened by path in mode
   * `r+` or `w+`. Views and TypedArrays taken before keep working where they
   * still lie inside the file; those a smaller shape cuts are closed
   * (ERR_MEMMAP_CLOSED) or detached.
   *
   * @example
   * const fp = openMemmap('log.npy', { mode: 'w+', dtype: 'float32', shape: [0, 3] });
   * fp.resize([1000, 3]);
   */
  resize(shape: ShapeLike, ...extra: never[]): void {
    noMoreArguments('resize', 1, extra);
    this.#checkGrowable('resize');
    // The geometry from the accessor, never from the public getters, which
    // an own property or a subclass may make lie: the header must count the bytes.
    const view = accessorOf(this);
    const { itemsize } = view.dtype;
    const dims = parseResizeShape(shape, view.shape, itemsize, this.#storage.offset, this.#order);
    const nbytes = dims.reduce((a, b) => a * b, 1) * itemsize;
    this.#storage.resize(nbytes, { header: headerFor(this.#storage, dims) });
    this.#rebase(dims);
  }

  /**
   * Adds `source` at the end of the first axis (the last for Fortran order),
   * growing the file, and returns the new shape. `source`: nested arrays, a
   * TypedArray (flat, whole rows in memory order), an NDArray or another
   * Memmap whose other axes match; a different dtype is converted where
   * numpy's `same_kind` casting allows. The rows reach the file before the
   * `.npy` header that counts them, so a reader (or a crash) never sees a
   * counted row unwritten; `{ sync: true }` also makes them durable
   * (`fdatasync`) before the header is written, and the header after.
   *
   * @example
   * const rec = openMemmap('samples.npy', { mode: 'w+', dtype: 'float32', shape: [0, 4] });
   * rec.append(new Float32Array([1, 2, 3, 4, 5, 6, 7, 8])); // two rows: shape [2, 4]
   */
  append(source: unknown, options?: { sync?: boolean }, ...extra: never[]): readonly number[] {
    noMoreArguments('append', 2, extra);
    this.#checkGrowable('append');
    const given = checkOptionNames(options, APPEND_OPTIONS, 'append');
    if (given.sync !== undefined && typeof given.sync !== 'boolean')
      throw memmapError('ERR_MEMMAP_INVALID_ARG', `sync must be a boolean; got ${show(given.sync)}`);
    // The geometry from the accessor (see resize()).
    const view = accessorOf(this);
    if (view.ndim === 0)
      throw memmapError(
        'ERR_MEMMAP_SHAPE_MISMATCH',
        'append() needs an array of at least one dimension; this one is 0-d',
      );
    const shape = view.shape;
    const { bytes, rows } = appendBytes(source, view.dtype, shape, this.#order);
    // Reading the source ran the caller's code (getters, Proxies), which may
    // have closed or resized this array: the rows were cut for `shape`.
    const now = accessorOf(this);
    now.checkOpen();
    const axis = growthAxis(view.ndim, this.#order);
    if (now.shape.some((n, k) => k !== axis && n !== shape[k]))
      throw memmapError(
        'ERR_MEMMAP_SHAPE_MISMATCH',
        `append(): the array became shape ${show(now.shape)} while its source was read (rows of ${show(shape.filter((_, k) => k !== axis))} were read): nothing appended`,
      );
    const { itemsize } = view.dtype;
    const nbytes = now.size * itemsize;
    if (rows === 0) {
      // Nothing to write, but refused where rows would be (a map whose size
      // is not its own, bytes after a raw array, a file another process cut):
      // the native resize of no bytes makes an append's checks and no change.
      this.#storage.resize(nbytes, { fill: bytes });
      return now.shape;
    }
    const dims: number[] = [...now.shape];
    dims[axis] += rows;
    checkFits(dims, itemsize, this.#storage.offset, this.#order);
    // Rows of no bytes (a trailing axis of 0) change only the header: the
    // native append of no bytes changes nothing, so this is a resize.
    this.#storage.resize(
      nbytes + bytes.byteLength,
      bytes.byteLength === 0
        ? { header: headerFor(this.#storage, dims), sync: given.sync === true }
        : { fill: bytes, header: headerFor(this.#storage, dims), sync: given.sync === true },
    );
    this.#rebase(dims);
    return accessorOf(this).shape;
  }

  #checkGrowable(method: string): void {
    accessorOf(this).checkOpen();
    if (!this.#isBase) {
      throw memmapError(
        'ERR_MEMMAP_UNSUPPORTED',
        `${method}() needs the base Memmap: this is a view of it (numpy: "cannot resize this array: it does not own its data")`,
      );
    }
    const mode = this.#storage.mode;
    if (mode === 'r' || mode === 'c') {
      throw memmapError(
        'ERR_MEMMAP_READ_ONLY',
        `${method}() changes the file, which mode ${show(mode)} never does: open it with mode 'r+'`,
      );
    }
  }

  /** This base array, now `shape` over the resized storage. */
  #rebase(shape: number[]): void {
    const view = accessorOf(this);
    this._rebase(
      new Accessor(this.#storage, view.dtype, shape, contiguousStrides(shape, view.dtype.itemsize, this.#order), 0),
    );
  }

  /**
   * `close()`, for `using fp = memmap(...)`.
   *
   * @example
   * {
   *   using fp = memmap('data.bin', { mode: 'r' });
   * } // closed here
   */
  [Symbol.dispose](...extra: never[]): void {
    noMoreArguments('[Symbol.dispose]', 0, extra);
    this.close();
  }

  /**
   * `closeAsync()`, for `await using fp = memmap(...)`.
   *
   * @example
   * {
   *   await using fp = memmap('data.bin', { mode: 'r+' });
   * } // closed here, the flush off the main thread
   */
  [Symbol.asyncDispose](...extra: never[]): Promise<void> {
    try {
      noMoreArguments('[Symbol.asyncDispose]', 0, extra);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.closeAsync();
  }

  /** [start, length) of this view's bytes within the mapping. */
  #byteRange(): [number, number] {
    if (this.#isBase) return [0, this.#storage.byteLength];
    const view = accessorOf(this);
    const [low, high] = byteExtent(view.shape, view.strides, view.dtype.itemsize);
    return high > low ? [view.byteOffset + low, high - low] : [0, 0];
  }
}

/**
 * numpy.memmap: maps `file` as an array. The result's type follows the
 * options written as literals: `dtype` gives the element and `data` types,
 * `shape` the number of dimensions (1 without a shape); a misspelt dtype,
 * mode, order or advice does not compile.
 *
 * @example
 * const fp = memmap('data.f32', { dtype: 'float32', mode: 'w+', shape: [3, 4] }); // Memmap<'float32', 2>
 * fp.set(0, 1, 2.5);
 * fp.flush();
 * fp.close();
 */
export function memmap<const D extends DTypeLike = 'uint8', const S extends ShapeLike | undefined = undefined>(
  file: FileLike,
  options?: MemmapOptions<D, S> & DTypeChecked<D>,
): Memmap<TagOf<D>, NdimOf<S>> {
  // A rest parameter here would change how TypeScript infers D and S.
  // eslint-disable-next-line prefer-rest-params
  noMoreArguments('memmap', 2, [...arguments].slice(2));
  return memmapWith(parseFile(file), options, undefined) as Memmap<TagOf<D>, NdimOf<S>>;
}

/**
 * memmap() with what only this package's own callers ask of the native open
 * (see FileStorage.open): openMemmap's header, fromDescriptor's checks.
 */
export function memmapWith(
  target: string | Buffer | number,
  options: unknown,
  extra: OpenExtra | undefined,
  npy: NpyLayout | null = null,
): Memmap {
  const { dtype, mode, offset, shape, order, advice, byteLength, strides, sparse } = parseOptions(options);
  const storage = FileStorage.open(
    target,
    mode,
    offset,
    byteLength,
    dtype.itemsize,
    advice,
    sparse ? { ...extra, sparse } : extra,
  );
  storage.sparse = sparse;
  storage.npy = npy;
  const finalShape = shape ?? [storage.byteLength / dtype.itemsize];
  return new Memmap(
    new Accessor(storage, dtype, finalShape, strides ?? contiguousStrides(finalShape, dtype.itemsize, order), 0),
    true,
    order,
  );
}

const APPEND_OPTIONS = new Set(['sync']);

/**
 * A plain, structured-cloneable description of a map or view: what another
 * worker or process passes to `memmap.fromDescriptor` to map the same bytes.
 *
 * @example
 * // main thread
 * worker.postMessage(fp.slice('100:200').descriptor());
 * // worker: typed by the dtype it names
 * const descriptor: MemmapDescriptor<'<i4'> = workerData;
 * const view = memmap.fromDescriptor(descriptor); // Memmap<'int32'>
 */
export interface MemmapDescriptor<S extends string | DescriptorRecord = string | DescriptorRecord> {
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
  /**
   * The dtype, spelled so that it survives structured clone: numpy's
   * `dtype.str` (`'<f4'`), or for a record dtype numpy's dict form
   * (`{ names, formats, offsets, itemsize }`, nested as the fields are).
   */
  dtype: S;
  /** The view's shape. */
  shape: number[];
  /** In bytes. */
  strides: number[];
  /** Byte offset in the file of element 0 of the view. */
  offset: number;
  /** `'r'`, `'r+'` or `'c'` (a `w+` map is described as `r+`: the file exists now). */
  mode: Exclude<Mode, 'w+'>;
  /**
   * Present (true) when the map was opened with `sparse: true`: the reopened
   * map leaves the file's holes unreserved too (see memmap()'s `sparse`).
   */
  sparse?: boolean;
}

/**
 * A record dtype in numpy's dict form, as a descriptor carries it.
 *
 * @example
 * memmap('t.bin', { dtype: [['x', '<f4'], ['y', '<i8']], mode: 'r' }).descriptor().dtype;
 * // { names: ['x', 'y'], formats: ['<f4', '<i8'], offsets: [0, 4], itemsize: 12 }
 */
export interface DescriptorRecord {
  /** The field names, in order. */
  names: string[];
  /** Each field's dtype (`dtype.str`, or a nested record), `[format, shape]` for a sub-array. */
  formats: (string | DescriptorRecord | [string | DescriptorRecord, number[]])[];
  /** Each field's byte offset. */
  offsets: number[];
  /** numpy's titles, where any field has one. */
  titles?: (string | null)[];
  /** The record's size in bytes, padding included. */
  itemsize: number;
  /** Present (true) when the fields were laid out with numpy's `align=True`. */
  aligned?: boolean;
}

/** The dtype as plain data that parseDType reads back exactly (layout, titles, nesting). */
function cloneableSpelling(dtype: DType): string | DescriptorRecord {
  const fields = dtype.fields;
  if (fields === null) return dtype.descr;
  const formats = fields.map((field) => {
    let format: string | DescriptorRecord | [string | DescriptorRecord, number[]] = cloneableSpelling(field.dtype);
    for (let k = field.levels.length - 1; k >= 0; k--) format = [format as string, [...field.levels[k]]];
    return format;
  });
  const record: DescriptorRecord = {
    names: fields.map((f) => f.name),
    formats,
    offsets: fields.map((f) => f.offset),
    itemsize: dtype.itemsize,
  };
  if (fields.some((f) => f.title !== null)) record.titles = fields.map((f) => f.title);
  if (dtype.row.aligned) record.aligned = true;
  return record;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * Reopens what `Memmap.descriptor()` described: the same bytes of the same
 * file, in this thread or process, typed by the descriptor's dtype.
 */
function fromDescriptor<const S extends string | DescriptorRecord>(
  descriptor: MemmapDescriptor<S>,
  ...extra: never[]
): Memmap<S extends string ? TagOf<S> : RecordTag> {
  noMoreArguments('memmap.fromDescriptor', 1, extra);
  try {
    return reopen(descriptor) as Memmap<S extends string ? TagOf<S> : RecordTag>;
  } catch (error) {
    throw proxyArgumentError(error, 'descriptor');
  }
}

const DESCRIPTOR_KEYS: ReadonlySet<string> = new Set([
  'path',
  'pathBytes',
  'fileId',
  'dtype',
  'shape',
  'strides',
  'offset',
  'mode',
  'sparse',
]);

function reopen(descriptor: MemmapDescriptor): Memmap {
  if (descriptor === null || typeof descriptor !== 'object') {
    throw memmapError(
      'ERR_MEMMAP_INVALID_ARG',
      `descriptor must be an object from Memmap.descriptor(); got ${show(descriptor)}`,
    );
  }
  // A key this code does not understand (a newer version's, or a typo) is
  // refused: it may say something about the bytes that would be ignored.
  // Its own properties only, as every options object: nothing inherited is read.
  const own = ownOptions(
    descriptor,
    'descriptor',
    (key) => DESCRIPTOR_KEYS.has(key),
    (key) =>
      memmapError(
        'ERR_MEMMAP_UNKNOWN_OPTION',
        `descriptor has an unknown key ${show(key)}: a descriptor holds ${[...DESCRIPTOR_KEYS].join(', ')}`,
      ),
  ) as Partial<MemmapDescriptor>;
  const { path, pathBytes, fileId, dtype: spelling, shape, strides, offset, mode, sparse } = own;
  if (pathBytes !== undefined && typedArrayKind(pathBytes) !== 'Uint8Array')
    throw memmapError('ERR_MEMMAP_INVALID_ARG', `descriptor.pathBytes must be a Uint8Array; got ${show(pathBytes)}`);
  if (pathBytes !== undefined) checkAttached(pathBytes, 'descriptor.pathBytes');
  // Its bytes through the engine's getters (Buffer.from would read its own `length`).
  const target = parseFile(pathBytes === undefined ? path : Buffer.from(typedBytes(pathBytes)));
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
  const parsedMode = parseMode(mode, 'descriptor.mode');
  if (sparse !== undefined && typeof sparse !== 'boolean')
    throw memmapError('ERR_MEMMAP_INVALID_ARG', `descriptor.sparse must be a boolean; got ${show(sparse)}`);
  if (sparse === true && parsedMode !== 'r+' && parsedMode !== 'w+')
    throw memmapError(
      'ERR_MEMMAP_INVALID_ARG',
      `descriptor.sparse is for mode 'r+', whose open reserves the holes; mode ${show(mode)} never writes the file`,
    );
  const start = parseOffset(offset, 'descriptor.offset');
  const [low, high] = byteExtent(dims, strides, dtype.itemsize);
  if (start + low < 0)
    throw memmapError(
      'ERR_MEMMAP_OUT_OF_RANGE',
      `descriptor reaches ${-(start + low)} bytes before the start of the file`,
    );
  // Chunks on the elements' grid where there is one (see chunkBytesFor).
  const grid = strides.reduce((g: number, s) => (s === 0 ? g : gcd(g, Math.abs(s))), 0);
  const unit = grid > 0 && (-low % grid) + dtype.itemsize <= grid ? grid : dtype.itemsize;
  // The bytes described exist: a file now shorter is an error, never extended.
  const storage = FileStorage.open(
    target,
    parsedMode === 'w+' ? 'r+' : parsedMode,
    start + low,
    high - low,
    unit,
    null,
    {
      neverGrow: true,
      fileId,
      ...(sparse === true ? { sparse } : {}),
    },
  );
  storage.sparse = sparse === true;
  return new Memmap(new Accessor(storage, dtype, dims, [...strides], -low), true);
}

/** Reopens what `Memmap.descriptor()` described: the same bytes of the same file, in this thread or process. */
memmap.fromDescriptor = fromDescriptor;

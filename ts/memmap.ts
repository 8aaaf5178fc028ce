/**
 * Memmap and `memmap()`: numpy.memmap, an NDArray over a mapped file. Like
 * numpy's memmap.py, this adds only what a file adds to an array: opening
 * (options in ts/options.ts, the mapping in ts/storage.ts), `filename`,
 * `offset`, `mode`, flush, madvise, close, and descriptors that reopen the
 * same bytes elsewhere. Everything an array does is NDArray's (ts/ndarray.ts).
 */
import { Accessor } from './access';
import { DType, parseDType } from './dtype';
import { memmapError, show } from './errors';
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
import { FileStorage, NpyLayout } from './storage';

export type { Advice, FileLike, MemmapOptions, Mode, ModeLike } from './options';

// Node 18.18+/20 define Symbol.dispose as Symbol.for('nodejs.dispose'); realms
// that lack it (vm contexts, jest) get the same symbol so `using` works there.
if (Symbol.dispose === undefined) Object.defineProperty(Symbol, 'dispose', { value: Symbol.for('nodejs.dispose') });
const DISPOSE: typeof Symbol.dispose = Symbol.dispose;

/** numpy.memmap: a file's bytes seen as a typed N-dimensional array. */
export class Memmap extends NDArray {
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

  override slice(spec: string | number, ...extra: never[]): Memmap {
    return super.slice(spec, ...extra) as Memmap;
  }

  override field(name: string, ...extra: never[]): Memmap {
    return super.field(name, ...extra) as Memmap;
  }

  /** Absolute path of the mapped file; null where none can be known. */
  get filename(): string | null {
    return this.#storage.filename;
  }

  /** Byte offset of the base array in the file, as opened (views inherit it, as in numpy). */
  get offset(): number {
    return this.#storage.offset;
  }

  /** `'r'`, `'r+'`, `'w+'` or `'c'`. */
  get mode(): Mode {
    return this.#storage.mode;
  }

  get closed(): boolean {
    const view = accessorOf(this);
    return view.closed || view.storage.closed;
  }

  /** Writes changes in this view's bytes to the file (msync); a no-op for modes r and c. */
  flush(...extra: never[]): void {
    noArguments('flush', extra);
    accessorOf(this).checkOpen();
    const [start, length] = this.#byteRange();
    this.#storage.flush(start, length);
  }

  /** flush() off the main thread. */
  async flushAsync(...extra: never[]): Promise<void> {
    noArguments('flushAsync', extra);
    accessorOf(this).checkOpen();
    const [start, length] = this.#byteRange();
    await this.#storage.flushAsync(start, length);
  }

  /** Access-pattern hint (madvise) for this view's bytes. */
  madvise(advice: Advice, ...extra: never[]): void {
    noArguments('madvise', extra, 1);
    accessorOf(this).checkOpen();
    const parsed = parseAdvice(advice);
    const [start, length] = this.#byteRange();
    this.#storage.advise(parsed, start, length);
  }

  /**
   * Flushes and unmaps; idempotent. On the base, every view closes too and every
   * ArrayBuffer handed out is detached (reads as length 0). On a view, only the
   * view closes; the mapping stays until its base closes.
   */
  close(...extra: never[]): void {
    noArguments('close', extra);
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
   * A structured-cloneable description of this view (path, dtype, shape,
   * strides, offset, mode) for `memmap.fromDescriptor` in another worker or
   * process. Sending the view itself with postMessage is an error.
   */
  descriptor(...extra: never[]): MemmapDescriptor {
    noArguments('descriptor', extra);
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
      shape: [...this.shape],
      strides: [...this.strides],
      offset: this.#storage.offset + view.byteOffset,
      mode: mode === 'w+' ? 'r+' : mode,
      ...(fileId === null ? {} : { fileId }),
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
  resize(shape: number | readonly number[], ...extra: never[]): void {
    noArguments('resize', extra, 1);
    this.#checkGrowable('resize');
    const dims = parseResizeShape(shape, this.shape, this.itemsize, this.#storage.offset);
    const nbytes = dims.reduce((a, b) => a * b, 1) * this.itemsize;
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
    noArguments('append', extra, 2);
    this.#checkGrowable('append');
    const given = checkOptionNames(options, APPEND_OPTIONS, 'append');
    if (given.sync !== undefined && typeof given.sync !== 'boolean')
      throw memmapError('ERR_MEMMAP_INVALID_ARG', `sync must be a boolean; got ${show(given.sync)}`);
    if (this.ndim === 0)
      throw memmapError(
        'ERR_MEMMAP_SHAPE_MISMATCH',
        'append() needs an array of at least one dimension; this one is 0-d',
      );
    const view = accessorOf(this);
    const { bytes, rows } = appendBytes(source, view.dtype, this.shape, this.#order);
    if (rows === 0) return this.shape;
    const dims = [...this.shape];
    dims[growthAxis(this.ndim, this.#order)] += rows;
    checkFits(dims, this.itemsize, this.#storage.offset);
    this.#storage.resize(this.nbytes + bytes.byteLength, {
      fill: bytes,
      header: headerFor(this.#storage, dims),
      sync: given.sync === true,
    });
    this.#rebase(dims);
    return this.shape;
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
      new Accessor(this.#storage, view.dtype, shape, contiguousStrides(shape, this.itemsize, this.#order), 0),
    );
  }

  [DISPOSE](): void {
    this.close();
  }

  /** [start, length) of this view's bytes within the mapping. */
  #byteRange(): [number, number] {
    if (this.#isBase) return [0, this.#storage.byteLength];
    const [low, high] = byteExtent(this.shape, this.strides, this.itemsize);
    return high > low ? [accessorOf(this).byteOffset + low, high - low] : [0, 0];
  }
}

function noArguments(method: string, extra: readonly unknown[], takes = 0): void {
  if (extra.length > 0) {
    throw memmapError(
      'ERR_MEMMAP_INVALID_ARG',
      `${method}() takes ${takes === 0 ? 'no arguments' : 'one argument'}; got ${show(extra)} as well`,
    );
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
 * memmap() with what only this package's own callers ask of the native open
 * (see FileStorage.open): openMemmap's header, fromDescriptor's checks.
 */
export function memmapWith(
  target: string | Buffer | number,
  options: unknown,
  extra: OpenExtra | undefined,
  npy: NpyLayout | null = null,
): Memmap {
  const { dtype, mode, offset, shape, order, advice, byteLength, sparse } = parseOptions(options);
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
    new Accessor(storage, dtype, finalShape, contiguousStrides(finalShape, dtype.itemsize, order), 0),
    true,
    order,
  );
}

const APPEND_OPTIONS = new Set(['sync']);

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
  /**
   * The dtype, spelled so that it survives structured clone: numpy's
   * `dtype.str` (`'<f4'`), or for a record dtype numpy's dict form
   * (`{ names, formats, offsets, itemsize }`, nested as the fields are).
   */
  dtype: string | DescriptorRecord;
  shape: number[];
  /** In bytes. */
  strides: number[];
  /** Byte offset in the file of element 0 of the view. */
  offset: number;
  /** `'r'`, `'r+'` or `'c'` (a `w+` map is described as `r+`: the file exists now). */
  mode: Exclude<Mode, 'w+'>;
}

/** A record dtype in numpy's dict form, as a descriptor carries it. */
export interface DescriptorRecord {
  names: string[];
  formats: (string | DescriptorRecord | [string | DescriptorRecord, number[]])[];
  offsets: number[];
  titles?: (string | null)[];
  itemsize: number;
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
  const parsedMode = parseMode(mode, 'descriptor.mode');
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
    },
  );
  return new Memmap(new Accessor(storage, dtype, dims, [...strides], -low), true);
}

/** Reopens what `Memmap.descriptor()` described: the same bytes of the same file, in this thread or process. */
memmap.fromDescriptor = fromDescriptor;

/**
 * Where an array's bytes live. A Storage is shared by a base array and every
 * view made from it; views are geometry over it (ts/ndarray.ts).
 *
 * - FileStorage: a native mapping of a file, named by a handle the binding
 *   gives out; the JavaScript ArrayBuffers over it (one per chunk, made on
 *   first use); flush, advice, close and the native reductions. Besides
 *   ts/binding.ts (which loads the addon), this is the only module that calls
 *   the binding.
 * - HeapStorage: an ArrayBuffer in the JavaScript heap (in-memory arrays).
 */
import { isAbsolute, resolve } from 'node:path';
import {
  AxisReduceRequest,
  binding,
  BlockView,
  CastSpec,
  OpenExtra,
  rawElements,
  ReduceControl,
  ReduceRequest,
  ReduceValue,
} from './binding';
import { callNative, fromNative, memmapError } from './errors';
import { Advice, Mode } from './options';
import type { PyValue } from './pyliteral';

/** What a `.npy` header holds besides the shape, and how long it is. */
export interface NpyLayout {
  descr: PyValue;
  fortranOrder: boolean;
  major: 1 | 2 | 3;
  /** Bytes from the start of the file to the data: the whole header, which a rewrite keeps. */
  headerLength: number;
  /** The dict's text up to the shape (made on the first rewrite). */
  head?: string;
  /** The header's bytes up to the shape's value, for rewrites (where the text is ASCII). */
  template?: Uint8Array;
  /**
   * The header rewrites are made in: one buffer, the template already in
   * place (the native call copies it before returning; an append loop
   * allocated a buffer per call).
   */
  scratch?: Uint8Array;
  /**
   * The header as the file holds it, as far as this map knows: read at open,
   * then each one a resize wrote. Bytes after the rows it counts belong to
   * nothing (an interrupted append) only while the file still starts with
   * it: another writer's appended rows come with its own header.
   */
  current: Uint8Array;
}
import { forEachRun } from './shape';

/**
 * Elements of at most this many bytes are copied one at a time through one
 * scratch buffer (SCRATCH_VIEW), where no zero-copy buffer exists: the native
 * side holds it, so a call passes numbers only (crates/memmap-node/src/elements.rs).
 */
export const SCRATCH_BYTES = 256;
const scratch = new ArrayBuffer(SCRATCH_BYTES);
const scratchBytes = new Uint8Array(scratch);
/** What `load` fills and `store` reads: one element's bytes. */
export const SCRATCH_VIEW = new DataView(scratch);
/** This module's scratch, as the binding names it (each copy of the package has its own). */
const scratchSlot = binding.useScratch(scratch);
// Read once: a property of the binding's exports object costs a lookup per call.
const { peekScratch, pokeScratch } = rawElements;

/**
 * Whether this runtime refuses external ArrayBuffers (Electron): asked once,
 * at the first open, so that every view picks its element access (ts/access.ts)
 * knowing it; also set by a refusal met later.
 */
let runtimeRefuses: boolean | undefined;

/**
 * The largest ArrayBuffer the binding hands out: Node 20 refuses external
 * ArrayBuffers over 2^32 bytes and TypedArrays over 2^32 elements, so a larger
 * map is several buffers over disjoint ranges (chunks). MEMMAP_CHUNK_BYTES
 * lowers it, for tests of big maps on small files.
 */
const CHUNK_LIMIT = ((): number => {
  const limit = 2 ** 32;
  const requested = Number(process.env.MEMMAP_CHUNK_BYTES);
  return Number.isSafeInteger(requested) && requested >= 4096 && requested <= limit ? requested : limit;
})();

/**
 * Bytes per chunk for a map of `itemsize`-byte elements: the largest multiple
 * of the itemsize under the limit, so that no element of the base array (nor
 * of a field view, which lies inside its record) straddles two buffers: 2^32
 * is not a multiple of 3, 12 or 24. Views whose elements still straddle (a
 * descriptor reopened with other strides) take the copy path (ts/access.ts).
 */
export function chunkBytesFor(itemsize: number): number {
  return CHUNK_LIMIT - (CHUNK_LIMIT % Math.max(1, itemsize));
}

/** What every storage offers the element accessors. */
export interface Storage {
  /** Bytes reachable through this storage. */
  readonly byteLength: number;
  /** Bytes per ArrayBuffer (chunk i covers [i * chunkBytes, (i + 1) * chunkBytes)). */
  readonly chunkBytes: number;
  /** numpy's `flags.writeable`. */
  readonly writable: boolean;
  /** Whether `data` may be handed out as a zero-copy view (false where the runtime refused external buffers). */
  refused: boolean;
  closed: boolean;
  /**
   * Changes when the storage shrinks or closes: a view bound before must look
   * again (it may now lie past the end, and its buffer may be detached).
   */
  readonly epoch: number;
  /** The smallest byteLength since `epoch` (a shrink then a regrow still cut the views past the shrink). */
  lowestSince?(epoch: number): number;
  /** Whether chunk `index`'s ArrayBuffer was made already. */
  hasChunk(index: number): boolean;
  /** Chunk `index`'s ArrayBuffer, made on first use; throws ERR_MEMMAP_EXTERNAL_BUFFERS_REFUSED where the runtime refuses. */
  chunkBuffer(index: number): ArrayBuffer;
  chunkDataView(index: number): DataView;
  /** Copies `target.length` bytes from byte `at` into `target`. */
  peek(at: number, target: Uint8Array): void;
  /** Copies `bytes` to byte `at`. */
  poke(at: number, bytes: Uint8Array): void;
  /** Copies the `size` bytes (at most SCRATCH_BYTES) at byte `at` into SCRATCH_VIEW. */
  load(at: number, size: number): void;
  /** Copies the first `size` bytes of SCRATCH_VIEW to byte `at`. */
  store(at: number, size: number): void;
  /** Copies elements `first..` of `view`, in C order, into `target` (a whole number of elements). */
  readElements(view: BlockView, first: number, target: Uint8Array): void;
  /** Copies `source` (a whole number of elements) into elements `first..` of `view`, in C order. */
  writeElements(view: BlockView, first: number, source: Uint8Array): void;
  /** Writes `pattern` (one element's bytes) into every element of `view`. */
  fillElements(view: BlockView, pattern: Uint8Array): void;
  /**
   * Converts elements `first..` of `view`, in C order, into `target` (whole
   * elements of the cast's target kind): copy() and astype() (ts/convert.ts),
   * one native call, several threads for large ones.
   */
  convertElements(view: BlockView, first: number, cast: CastSpec, target: Uint8Array): void;
  /** Notes that the runtime refused an external buffer. */
  markRefused(): void;
}

/** A file mapped by the native core. */
export class FileStorage implements Storage {
  /**
   * The binding's number for this map: every native call takes it. This
   * object is the map's owner: collected without close(), it releases the map.
   */
  handle = -1;
  byteLength = 0;
  refused = (runtimeRefuses ??= binding.refusesExternalBuffers());
  closed = false;
  epoch = 0;
  /** The byteLength each shrink left: the one that made epoch k + 1 at k. */
  readonly #shrunkTo: number[] = [];
  /** Opened with `sparse: true`: growth reserves no blocks either. */
  sparse = false;
  /** For a `.npy` file (openMemmap): what its header holds besides the shape. */
  npy: NpyLayout | null = null;
  readonly chunkBytes: number;
  readonly #chunks: (ArrayBuffer | undefined)[] = [];
  readonly #dataViews: (DataView | undefined)[] = [];
  /**
   * numpy's `filename`, computed on first use (`undefined` until then): opening
   * by path never pays for it. For a descriptor, set at open from the path the
   * kernel gave for the binding's own duplicate (never from the caller's
   * descriptor number, which the caller may close and reuse).
   */
  #filename: string | null | undefined = undefined;
  /** The path's bytes where they are not UTF-8 (a descriptor() must name exactly that file). */
  pathBytes: Buffer | null;

  private constructor(
    /** The file as opened: an absolute path (bytes if not UTF-8) or a caller's descriptor. */
    readonly source: string | Buffer | number,
    readonly mode: Mode,
    /** Byte offset of the mapping in the file. */
    readonly offset: number,
    itemsize: number,
  ) {
    this.chunkBytes = chunkBytesFor(itemsize);
    this.pathBytes = Buffer.isBuffer(source) ? source : null;
  }

  /**
   * Opens `byteLength` bytes (or the rest of the file, in whole `itemsize`
   * items) at `offset`, in one native transaction: a failure changes nothing
   * on disk. `extra` is what only this package's own callers ask: a header
   * written when a `w+` open commits (openMemmap), a file that must not grow
   * and must still be the same one (fromDescriptor).
   */
  static open(
    target: string | Buffer | number,
    mode: Mode,
    offset: number,
    byteLength: number | null,
    itemsize: number,
    advice: Advice | null,
    extra?: OpenExtra,
  ): FileStorage {
    const source = absolute(target);
    // numpy's open_memmap writes the header, then maps in r+: its map says r+.
    const storage = new FileStorage(source, extra?.prefix === undefined ? mode : 'r+', offset, itemsize);
    storage.handle = callNative(() =>
      binding.open(storage, source, mode, offset, byteLength, itemsize, storage.chunkBytes, extra),
    );
    try {
      if (typeof source === 'number') {
        const path = binding.mappedFile(storage.handle).path;
        storage.#filename = path === null || path === undefined ? null : path.toString('utf8');
        storage.pathBytes = path === null || path === undefined || utf8(path) ? null : Buffer.from(path);
      }
      storage.byteLength = binding.byteLength(storage.handle);
      if (advice !== null && storage.byteLength > 0) storage.advise(advice, 0, storage.byteLength);
      return storage;
    } catch (error) {
      binding.close(storage, storage.handle);
      throw error;
    }
  }

  get writable(): boolean {
    return this.mode !== 'r';
  }

  /**
   * numpy's `filename`: the absolute, normalised path (for bytes that are not
   * UTF-8, their lossy decoding: `pathBytes` has the bytes), or for a
   * descriptor the path set at open; null where none is known.
   */
  get filename(): string | null {
    if (this.#filename === undefined && typeof this.source !== 'number') {
      this.#filename = resolve(this.source.toString());
    }
    return this.#filename ?? null;
  }

  /** The file's identity (`'device:inode'`) as it was at open, where the platform has one. */
  fileId(): string | null {
    return callNative(() => binding.mappedFile(this.handle)).fileId ?? null;
  }

  hasChunk(index: number): boolean {
    return this.#chunks[index] !== undefined;
  }

  chunkBuffer(index: number): ArrayBuffer {
    let buffer = this.#chunks[index];
    if (buffer === undefined) {
      buffer = callNative(() => binding.buffer(this.handle, index));
      this.#chunks[index] = buffer;
    }
    return buffer;
  }

  chunkDataView(index: number): DataView {
    let view = this.#dataViews[index];
    if (view === undefined) {
      view = new DataView(this.chunkBuffer(index));
      this.#dataViews[index] = view;
    }
    return view;
  }

  peek(at: number, target: Uint8Array): void {
    try {
      binding.peek(this.handle, at, target as Buffer);
    } catch (error) {
      throw fromNative(error);
    }
  }

  poke(at: number, bytes: Uint8Array): void {
    callNative(() => binding.poke(this.handle, at, bytes as Buffer));
  }

  load(at: number, size: number): void {
    try {
      peekScratch(scratchSlot, this.handle, at, size);
    } catch (error) {
      throw fromNative(error);
    }
  }

  store(at: number, size: number): void {
    try {
      pokeScratch(scratchSlot, this.handle, at, size);
    } catch (error) {
      throw fromNative(error);
    }
  }

  readElements(view: BlockView, first: number, target: Uint8Array): void {
    callNative(() => binding.readElements(this.handle, view, first, asBuffer(target)));
  }

  writeElements(view: BlockView, first: number, source: Uint8Array): void {
    callNative(() => binding.writeElements(this.handle, view, first, asBuffer(source)));
  }

  fillElements(view: BlockView, pattern: Uint8Array): void {
    callNative(() => binding.fillElements(this.handle, view, asBuffer(pattern)));
  }

  convertElements(view: BlockView, first: number, cast: CastSpec, target: Uint8Array): void {
    callNative(() => binding.convertElements(this.handle, view, first, cast, asBuffer(target)));
  }

  markRefused(): void {
    this.refused = runtimeRefuses = true;
  }

  flush(start: number, length: number): void {
    callNative(() => binding.flush(this.handle, start, length));
  }

  async flushAsync(start: number, length: number): Promise<void> {
    await callNative(() => binding.flushAsync(this.handle, start, length)).catch((error: unknown) => {
      throw fromNative(error);
    });
  }

  advise(advice: Advice, start: number, length: number): void {
    callNative(() => binding.advise(this.handle, advice, start, length));
  }

  /** The CRC-32 of bytes `[start, start + length)` of the map, continuing `crc` (a `.npz` member's). */
  crc32(start: number, length: number, crc: number): number {
    return callNative(() => binding.crc32(this.handle, start, length, crc));
  }

  reduce(request: ReduceRequest): ReduceValue | null {
    return callNative(() => binding.reduce(this.handle, request));
  }

  async reduceAsync(request: ReduceRequest): Promise<ReduceValue | null> {
    return callNative(() => binding.reduceAsync(this.handle, request)).catch((error: unknown) => {
      throw fromNative(error);
    });
  }

  /** A reduction along axes (ts/reduce.ts) into `target`, the result's zero bytes in numpy's result dtype. */
  reduceAxes(request: AxisReduceRequest, target: Uint8Array): void {
    callNative(() => binding.reduceAxes(this.handle, request, asBuffer(target)));
  }

  /** The same on memmap's threads, watched and stopped through `control`. */
  reduceAxesAsync(request: AxisReduceRequest, control: ReduceControl): Promise<Buffer> {
    return callNative(() => binding.reduceAxesAsync(this.handle, request, control));
  }

  /**
   * Makes the map `byteLength` bytes long, the file with it (one native
   * transaction: on error nothing changed). Buffers over chunks that changed
   * are taken again on next use; the old ones stay valid over the bytes they
   * cover, and those reaching past a smaller end are detached.
   */
  resize(byteLength: number, extra: { fill?: Uint8Array; header?: Uint8Array; sync?: boolean }): void {
    callNative(() =>
      binding.resize(
        this.handle,
        byteLength,
        extra.fill as Buffer | undefined,
        extra.header as Buffer | undefined,
        this.sparse,
        // Bytes after the rows a .npy header counts belong to nothing (an
        // interrupted append); after a raw array they may be someone's.
        this.npy?.current as Buffer | undefined,
        extra.sync ?? false,
      ),
    );
    if (this.npy !== null && extra.header !== undefined) {
      // Copied, as headerFor() reuses its buffer; into the old copy when it
      // fits, so an append loop allocates no ArrayBuffer per row.
      if (this.npy.current.length === extra.header.length) this.npy.current.set(extra.header);
      else this.npy.current = extra.header.slice();
    }
    if (byteLength < this.byteLength) {
      this.epoch++;
      this.#shrunkTo.push(byteLength);
    }
    this.byteLength = byteLength;
    this.#chunks.length = 0;
    this.#dataViews.length = 0;
  }

  lowestSince(epoch: number): number {
    let lowest = this.byteLength;
    for (let k = Math.max(0, epoch); k < this.#shrunkTo.length; k++) lowest = Math.min(lowest, this.#shrunkTo[k]);
    return lowest;
  }

  /** Flushes, detaches every ArrayBuffer handed out, and releases the file. */
  close(): void {
    this.closed = true;
    this.epoch = -1;
    // The closed map's address stays backed while its buffers are reachable
    // (Node may still be using them): a closed storage does not keep them.
    this.#chunks.length = 0;
    this.#dataViews.length = 0;
    callNative(() => binding.close(this, this.handle));
  }

  /** close() with the flush and the release of the file off the main thread (buffers detach now). */
  async closeAsync(): Promise<void> {
    this.closed = true;
    this.#chunks.length = 0;
    this.#dataViews.length = 0;
    await callNative(() => binding.closeAsync(this, this.handle)).catch((error: unknown) => {
      throw fromNative(error);
    });
  }
}

/** A Buffer over the same bytes (no copy): what the binding's byte arguments take. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Whether path bytes are UTF-8 (the same file as their string). */
function utf8(bytes: Buffer): boolean {
  return Buffer.from(bytes.toString('utf8')).equals(bytes);
}

/** A path made absolute (bytes included: the working directory's bytes, then the name's). */
function absolute(target: string | Buffer | number): string | Buffer | number {
  if (typeof target === 'string') return isAbsolute(target) ? target : resolve(target);
  if (typeof target === 'number' || target[0] === 0x2f) return target;
  return Buffer.concat([Buffer.from(`${process.cwd()}/`), target]);
}

/** An ArrayBuffer in the JavaScript heap: one chunk. */
export class HeapStorage implements Storage {
  readonly byteLength: number;
  readonly chunkBytes: number;
  readonly writable = true;
  readonly epoch = 0;
  refused = false;
  #dataView: DataView | undefined = undefined;
  #bytes: Uint8Array;

  /**
   * Whether the memory is gone: its ArrayBuffer was transferred (a worker's
   * postMessage, structuredClone with `transfer`), which detaches it. Every
   * method then throws ERR_MEMMAP_CLOSED, as after a map's close().
   */
  get closed(): boolean {
    return this.#bytes.byteLength !== this.byteLength;
  }

  constructor(readonly buffer: ArrayBuffer) {
    this.byteLength = buffer.byteLength;
    // One chunk covers the whole buffer (an empty one too).
    this.chunkBytes = Math.max(1, buffer.byteLength);
    this.#bytes = new Uint8Array(buffer);
  }

  /** A zero-filled storage of `byteLength` bytes. */
  static allocate(byteLength: number): HeapStorage {
    if (byteLength > CHUNK_LIMIT) {
      throw memmapError(
        'ERR_MEMMAP_TOO_LARGE',
        `an in-memory array of ${byteLength} bytes does not fit one ArrayBuffer (at most ${CHUNK_LIMIT} bytes here)`,
      );
    }
    return new HeapStorage(new ArrayBuffer(byteLength));
  }

  hasChunk(): boolean {
    return true;
  }

  chunkBuffer(): ArrayBuffer {
    return this.buffer;
  }

  chunkDataView(): DataView {
    this.#dataView ??= new DataView(this.buffer);
    return this.#dataView;
  }

  peek(at: number, target: Uint8Array): void {
    target.set(this.#bytes.subarray(at, at + target.length));
  }

  poke(at: number, bytes: Uint8Array): void {
    this.#bytes.set(bytes, at);
  }

  load(at: number, size: number): void {
    scratchBytes.set(this.#bytes.subarray(at, at + size));
  }

  store(at: number, size: number): void {
    this.#bytes.set(scratchBytes.subarray(0, size), at);
  }

  readElements(view: BlockView, first: number, target: Uint8Array): void {
    const bytes = this.#bytes;
    forEachRun(
      view.byteOffset,
      view.shape,
      view.strides,
      view.itemSize,
      first,
      target.length / view.itemSize,
      (at, done, n) => target.set(bytes.subarray(at, at + n), done),
    );
  }

  writeElements(view: BlockView, first: number, source: Uint8Array): void {
    const bytes = this.#bytes;
    forEachRun(
      view.byteOffset,
      view.shape,
      view.strides,
      view.itemSize,
      first,
      source.length / view.itemSize,
      (at, done, n) => bytes.set(source.subarray(done, done + n), at),
    );
  }

  fillElements(view: BlockView, pattern: Uint8Array): void {
    const bytes = this.#bytes;
    const size = view.shape.reduce((a, b) => a * b, 1);
    forEachRun(view.byteOffset, view.shape, view.strides, view.itemSize, 0, size, (at, _done, n) => {
      for (let k = 0; k < n; k += pattern.length) bytes.set(pattern, at + k);
    });
  }

  convertElements(view: BlockView, first: number, cast: CastSpec, target: Uint8Array): void {
    callNative(() => binding.convertBuffer(asBuffer(this.#bytes), view, first, cast, asBuffer(target)));
  }

  markRefused(): void {
    // The JavaScript heap is never refused.
  }

  /** A reduction along axes over these bytes, read in place (ts/reduce.ts). */
  reduceAxes(request: AxisReduceRequest, target: Uint8Array): void {
    callNative(() => binding.reduceAxesIn(Buffer.from(this.buffer), request, asBuffer(target)));
  }

  /** The same on memmap's threads, over a copy of the bytes made now (this buffer may change or detach meanwhile). */
  reduceAxesAsync(request: AxisReduceRequest, control: ReduceControl): Promise<Buffer> {
    return callNative(() => binding.reduceAxesInAsync(Buffer.from(this.buffer), request, control));
  }
}

/** The abort flag and progress counter of one async reduction (crates/memmap-node/src/reductions.rs). */
export function reduceControl(): ReduceControl {
  return new binding.ReduceControl();
}

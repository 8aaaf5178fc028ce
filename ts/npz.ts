/**
 * `.npz` archives (numpy's `savez`/`load`) with every stored member mapped in
 * place: `openNpz` and `NpzArchive`. The ZIP structures are ts/zip.ts's (pure);
 * this module opens the file, maps members as Memmaps over exactly their
 * bytes, inflates compressed ones on request, creates archives in numpy's
 * layout, and keeps each written member's CRC-32 true.
 */
import { closeSync, constants, fdatasyncSync, fstatSync, readSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { constants as zlibConstants, crc32 as zlibCrc32, inflateRawSync } from 'node:zlib';
import { Accessor } from './access';
import { DTypeLike, parseDType } from './dtype';
import { memmapError, MemmapError, noMoreArguments, proxyArgumentError, show } from './errors';
import { Memmap, memmapWith } from './memmap';
import { accessorOf, NDArray } from './ndarray';
import { descrOf, descrToDType, MAGIC, npyHeaderBytes, parseNpyHeader, parseNpyPrefix } from './npyformat';
import { openNonBlocking } from './npy';
import { checkOptionNames, Mode, ModeLike, parseFile, parseMode } from './options';
import { contiguousStrides, normalizeShape, sizeOf } from './shape';
import type { ShapeLike } from './dtype/types';
import { FileStorage, HeapStorage } from './storage';
import {
  crc32,
  DEFLATED,
  entryRefusal,
  methodName,
  npzLayout,
  readMember,
  readZipDirectory,
  STORED,
  ZipEntry,
  ZipSource,
} from './zip';

/**
 * One member of a new archive (openNpz's `w+`): as numpy's `open_memmap` takes it.
 *
 * @example
 * openNpz('run.npz', { mode: 'w+', members: { weights: { dtype: 'float32', shape: [100, 3] } } });
 */
export interface NpzMemberSpec {
  /** Any numpy spelling; default `'float64'` (numpy's `open_memmap`). */
  dtype?: DTypeLike;
  /** The member's shape. */
  shape: ShapeLike;
  /** Column-major layout; default false. */
  fortranOrder?: boolean;
}

/**
 * openNpz()'s options.
 *
 * @example
 * const options: OpenNpzOptions = { mode: 'r+' };
 * openNpz('data.npz', options);
 */
export interface OpenNpzOptions {
  /**
   * `'r'` (default), `'r+'` (members written in place, CRCs rewritten at
   * flush and close), `'c'` (copy-on-write: the file never changes) or
   * `'w+'` (a new archive laid out as numpy's `savez`, from `members`), or
   * numpy's long names.
   */
  mode?: ModeLike;
  /**
   * For `w+`: each member's dtype and shape, in archive order (an object, or
   * a Map where keys that look like integers must keep their place). The
   * names are numpy's keys: `x` is stored as `x.npy`.
   */
  members?: Readonly<Record<string, NpzMemberSpec>> | ReadonlyMap<string, NpzMemberSpec>;
}

/**
 * NpzArchive.get()'s options.
 *
 * @example
 * const options: NpzGetOptions = { decompress: true };
 * openNpz('compressed.npz').get('x', options); // NDArray in memory
 */
export interface NpzGetOptions {
  /**
   * A compressed member (`np.savez_compressed`) is inflated into memory and
   * returned as an NDArray, instead of ERR_NPZ_COMPRESSED. A stored member is
   * still mapped.
   */
  decompress?: boolean;
  /**
   * Reads the member once to check its CRC-32 against the archive's (a
   * damaged member is ERR_NPZ_BAD_CRC), as np.load does. Mode `r+` always
   * checks a member when it first maps it; `r` and `c` map without reading
   * unless asked.
   */
  verify?: boolean;
}

const OPEN_OPTIONS = new Set(['mode', 'members']);
const GET_OPTIONS = new Set(['decompress', 'verify']);
const SPEC_OPTIONS = new Set(['dtype', 'shape', 'fortranOrder']);

/** What the archive knows of a member it has handed out. */
interface Handed {
  readonly entry: ZipEntry;
  readonly memmap: Memmap;
  /** Offset in the file of the array's first byte. */
  readonly arrayStart: number;
  readonly nbytes: number;
  /** The CRC of the member's bytes before the array (its `.npy` header). */
  readonly headerCrc: number;
  /** Bytes of the member after the array (none where numpy wrote it). */
  readonly trailing: number;
  /** Where the CRC is stored: central directory, local header and data descriptor. */
  readonly crcOffsets: readonly number[];
  /** The local header's CRC differs from the central directory's: stored again at the next flush/close. */
  localStale: boolean;
}

// Archives dropped without close() give their descriptor back when collected
// (their members' maps have finalizers of their own).
const descriptors = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    // Already closed: nothing to give back.
  }
});

/**
 * A `.npz` archive, open: numpy's `NpzFile`, with members mapped in place
 * instead of read into memory. `files` lists the members as numpy does;
 * `get(name)` maps one; iterating gives `[name, Memmap]` pairs; `close()`
 * closes every member handed out (and, in mode `r+`/`w+`, stores their CRCs).
 *
 * @example
 * using archive = openNpz('data.npz');
 * archive.files;                 // ['x', 'y']
 * const x = archive.get('x');    // Memmap over x.npy's bytes in the archive
 * x.sum();
 */
export class NpzArchive implements Iterable<[string, Memmap]> {
  readonly #path: string | Buffer;
  /** The absolute path, for messages (computed when first needed). */
  #filename: string | undefined = undefined;
  readonly #mode: Mode;
  readonly #fileId: string;
  #source: ZipSource;
  readonly #entries: ZipEntry[];
  /** numpy's `NpzFile._files`: a listed name or a full name, to the full name. */
  readonly #lookup: Map<string, string>;
  /** A full name to its entry (the last of that name, as zipfile's NameToInfo). */
  readonly #byName: Map<string, ZipEntry>;
  readonly #handed = new Map<string, Handed>();
  /** The CRC stored now, for each member whose CRC this archive rewrote. */
  readonly #stored = new Map<string, number>();
  readonly #files: readonly string[];
  #fd: number;

  /** @internal Use `openNpz()`. */
  constructor(path: string | Buffer, mode: Mode, fd: number, fileId: string, size: number) {
    this.#path = path;
    this.#mode = mode;
    this.#fd = fd;
    this.#fileId = fileId;
    this.#source = blockSource(fd, size);
    this.#entries = [...readZipDirectory(this.#source).entries];
    const full = this.#entries.map((entry) => entry.name);
    this.#files = Object.freeze(full.map((name) => (name.endsWith('.npy') ? name.slice(0, -4) : name)));
    this.#lookup = new Map(this.#files.map((name, i) => [name, full[i]]));
    for (const name of full) this.#lookup.set(name, name);
    this.#byName = new Map(this.#entries.map((entry) => [entry.name, entry]));
    // Registered last: a constructor that throws leaves the descriptor to openNpz.
    descriptors.register(this, fd, this);
  }

  /**
   * The members' names as numpy's `NpzFile.files` gives them: in archive
   * order, `.npy` removed.
   *
   * @example
   * openNpz('data.npz').files; // ['x', 'y', 'notes.txt']
   */
  get files(): string[] {
    return [...this.#files];
  }

  /**
   * Absolute path of the archive.
   *
   * @example
   * openNpz('data.npz').filename; // '/abs/path/data.npz'
   */
  get filename(): string {
    this.#filename ??= resolve(this.#path.toString());
    return this.#filename;
  }

  /**
   * `'r'`, `'r+'`, `'c'` or `'w+'`, as opened (aliases canonical).
   *
   * @example
   * openNpz('data.npz', { mode: 'readwrite' }).mode; // 'r+'
   */
  get mode(): Mode {
    return this.#mode;
  }

  /**
   * True after close().
   *
   * @example
   * const archive = openNpz('data.npz');
   * archive.close();
   * archive.closed; // true
   */
  get closed(): boolean {
    return this.#fd < 0;
  }

  /**
   * Whether `name` is a member: a name `files` lists, or a full name
   * (`'x.npy'`), as numpy's `name in npz`.
   *
   * @example
   * openNpz('data.npz').has('x'); // true
   */
  has(name: string, ...extra: never[]): boolean {
    noMoreArguments('has', 1, extra);
    return typeof name === 'string' && this.#lookup.has(name);
  }

  /**
   * The member `name` (as `files` lists it, or its full name) mapped in
   * place: a Memmap over exactly the array's bytes in the archive, with the
   * archive's mode (`w+` members are `r+`). The same open Memmap is returned
   * while it stays open. A compressed member is ERR_NPZ_COMPRESSED unless
   * `{ decompress: true }`, which returns it inflated into memory as an
   * NDArray; a member that holds no `.npy` array is ERR_NPZ_NOT_NPY.
   *
   * @example
   * const archive = openNpz('data.npz', { mode: 'r+' });
   * archive.get('x').set(0, 1.5);
   * archive.close(); // x's CRC-32 is stored again: np.load accepts the archive
   * openNpz('small.npz').get('y', { decompress: true }); // from np.savez_compressed: an NDArray
   */
  get(name: string): Memmap;
  get(name: string, options: NpzGetOptions): NDArray;
  get(name: string, options?: NpzGetOptions, ...extra: never[]): NDArray {
    noMoreArguments('get', 2, extra);
    this.#checkOpen();
    const given = checkOptionNames(options, GET_OPTIONS, 'get');
    // Absent is false; null is no boolean (it would hand out a member unchecked).
    const decompress = given.decompress === undefined ? false : given.decompress;
    if (typeof decompress !== 'boolean') {
      throw memmapError('ERR_MEMMAP_INVALID_ARG', `decompress must be a boolean; got ${show(decompress)}`);
    }
    const verify = given.verify === undefined ? false : given.verify;
    if (typeof verify !== 'boolean') {
      throw memmapError('ERR_MEMMAP_INVALID_ARG', `verify must be a boolean; got ${show(verify)}`);
    }
    const writes = this.#mode === 'r+' || this.#mode === 'w+';
    let entry = this.#entry(name);
    const open = this.#handed.get(entry.name);
    if (open !== undefined && !open.memmap.closed) {
      // r+ checked it when it first mapped it; since then its bytes are the caller's.
      if (verify && !writes) this.#checkCrc(entry, `member ${show(entry.name)} of ${show(this.#path.toString())}`);
      return open.memmap;
    }
    // A member the caller closed: its CRC is stored before it is mapped again
    // (and the entry then says the CRC stored now).
    if (open !== undefined && writes) {
      this.#storeCrcs([open]);
      entry = this.#entry(name);
    }
    const where = `member ${show(entry.name)} of ${show(this.#path.toString())}`;
    const refusal = entryRefusal(entry);
    if (refusal !== null) throw memmapError('ERR_NPZ_ENCRYPTED', `${where} cannot be read: ${refusal}`);
    if (entry.name.endsWith('/') && entry.size === 0) {
      throw memmapError('ERR_NPZ_NOT_NPY', `${where} is a directory, not a .npy array`);
    }
    if (entry.method === DEFLATED) {
      if (decompress) return this.#inflate(entry, where);
      throw memmapError(
        'ERR_NPZ_COMPRESSED',
        `${where} is compressed (deflate, as np.savez_compressed writes it): its bytes on disk are not the array's, so it cannot be mapped. get(${show(name)}, { decompress: true }) reads it into memory instead`,
      );
    }
    if (entry.method !== STORED) {
      throw memmapError(
        'ERR_NPZ_UNSUPPORTED_COMPRESSION',
        `${where} is compressed with ${methodName(entry.method)}, which memmap cannot map or inflate (np.savez writes stored members, np.savez_compressed deflate)`,
      );
    }
    // r+: the CRC stored at close will vouch for these bytes, so they are
    // checked first (once per member: one handed out again had its CRC
    // stored above). r and c when asked. Before the .npy header is parsed:
    // a damaged header is damage, as np.load's Bad CRC-32 says, not a header
    // error.
    if ((this.#mode === 'r+' && open === undefined) || (verify && !writes)) this.#checkCrc(entry, where);
    return this.#map(entry, where);
  }

  /** ERR_NPZ_BAD_CRC unless the stored member's bytes in the file have the CRC-32 the archive gives. */
  #checkCrc(entry: ZipEntry, where: string): void {
    const { dataStart } = readMember(this.#source, entry);
    const crc = this.#fileCrc(dataStart, entry.compressedSize, 0);
    if (crc !== entry.crc) {
      throw memmapError(
        'ERR_NPZ_BAD_CRC',
        `${where}: its bytes have CRC-32 ${hex(crc)}, the archive says ${hex(entry.crc)}: the member is damaged${this.#mode === 'r+' ? ", and mode 'r+' will not store a CRC that vouches for it" : ''}`,
      );
    }
  }

  /** The CRC-32 (from `seed`) of `length` bytes of the file at `start`, through a read-only map of its own. */
  #fileCrc(start: number, length: number, seed: number): number {
    if (length === 0) return seed;
    const storage = FileStorage.open(this.#path, 'r', start, length, 1, null, {
      neverGrow: true,
      fileId: this.#fileId,
    });
    try {
      return storage.crc32(0, length, seed);
    } finally {
      storage.close();
    }
  }

  /**
   * `[name, Memmap]` for each member in `files` order, each mapped as
   * `get(name)` maps it (a member that cannot be mapped throws its error
   * when reached).
   *
   * @example
   * for (const [name, array] of openNpz('data.npz')) console.log(name, array.shape);
   */
  [Symbol.iterator](...extra: never[]): Iterator<[string, Memmap]> {
    noMoreArguments('[Symbol.iterator]', 0, extra);
    return this.#members();
  }

  *#members(): Generator<[string, Memmap], void, undefined> {
    for (const name of this.#files) yield [name, this.get(name)];
  }

  /**
   * Mode `r+`/`w+`: flushes every member handed out and stores its CRC-32
   * again (central directory, local header, data descriptor), so that
   * `np.load`, `zipfile.testzip()` and `unzip -t` accept the archive. A no-op
   * for modes `r` and `c`.
   *
   * @example
   * const archive = openNpz('data.npz', { mode: 'r+' });
   * archive.get('x').fill(0);
   * archive.flush();
   */
  flush(...extra: never[]): void {
    noMoreArguments('flush', 0, extra);
    this.#checkOpen();
    if (this.#mode === 'r+' || this.#mode === 'w+') this.#storeCrcs();
  }

  /**
   * Closes every member handed out (ERR_MEMMAP_CLOSED from them afterwards),
   * then (mode `r+`/`w+`) stores the CRCs of the bytes the file now holds,
   * then closes the archive; idempotent. A write still in flight into a
   * member (Node's thread pool) lands in the zero pages that replace its map,
   * never in the file, so the stored CRCs match the file.
   *
   * @example
   * const archive = openNpz('data.npz');
   * const x = archive.get('x');
   * archive.close(); // x.closed === true
   */
  close(...extra: never[]): void {
    noMoreArguments('close', 0, extra);
    if (this.closed) return;
    const errors: unknown[] = [];
    // The members close first: a Node operation still writing into one (the
    // thread pool's randomFill, fs.read) then writes into the zero pages that
    // replace its map, never the file, so the CRCs computed next, over what
    // the file holds, are of its final bytes.
    for (const handed of this.#handed.values()) {
      try {
        handed.memmap.close();
      } catch (error) {
        errors.push(error);
      }
    }
    if (this.#mode === 'r+' || this.#mode === 'w+') {
      try {
        this.#storeCrcs();
      } catch (error) {
        errors.push(error);
      }
    }
    this.#handed.clear();
    const fd = this.#fd;
    this.#fd = -1;
    descriptors.unregister(this);
    try {
      closeSync(fd);
    } catch (error) {
      errors.push(error);
    }
    if (errors.length > 0) throw errors[0];
  }

  /**
   * `close()`, for `using archive = openNpz(...)`.
   *
   * @example
   * {
   *   using archive = openNpz('data.npz');
   *   archive.get('x').sum();
   * } // closed here, with every member
   */
  [Symbol.dispose](...extra: never[]): void {
    noMoreArguments('[Symbol.dispose]', 0, extra);
    this.close();
  }

  #checkOpen(): void {
    if (this.closed) throw memmapError('ERR_MEMMAP_CLOSED', `the archive ${show(this.filename)} is closed`);
  }

  #entry(name: string): ZipEntry {
    if (typeof name !== 'string') {
      throw memmapError('ERR_MEMMAP_INVALID_ARG', `name must be a string; got ${show(name)}`);
    }
    const full = this.#lookup.get(name);
    const found = full === undefined ? undefined : this.#byName.get(full);
    // The CRC this archive stored last, if it rewrote one (the local header says so now).
    const stored = found === undefined ? undefined : this.#stored.get(found.name);
    const entry = found === undefined || stored === undefined ? found : { ...found, crc: stored };
    if (entry === undefined) {
      const listed = this.#files.slice(0, 10).map(show).join(', ');
      throw memmapError(
        'ERR_NPZ_NO_MEMBER',
        `${show(name)} is not a member of ${show(this.filename)}; it holds ${this.#files.length === 0 ? 'none' : `${listed}${this.#files.length > 10 ? ', ...' : ''}`}`,
      );
    }
    return entry;
  }

  /** A stored member's `.npy` header, checked, and where its array lies. */
  #header(entry: ZipEntry, dataStart: number, where: string) {
    const size = entry.compressedSize;
    if (entry.size !== size) {
      throw memmapError(
        'ERR_NPZ_BAD_ARCHIVE',
        `${where} is stored (not compressed) but its size (${entry.size}) differs from its stored size (${size})`,
      );
    }
    const first = this.#source.read(dataStart, Math.min(size, 12));
    if (first.length < MAGIC.length || MAGIC.some((byte, i) => first[i] !== byte)) {
      const start = Buffer.from(first.subarray(0, 8)).toString('latin1');
      throw memmapError(
        'ERR_NPZ_NOT_NPY',
        `${where} is not a .npy array: it holds ${size} bytes starting with ${show(start)} (np.load would give these bytes, not an array)`,
      );
    }
    const header = inMember(where, () => {
      const { prefix, headerLength } = parseNpyPrefix(first, size);
      return parseNpyHeader(this.#source.read(dataStart, prefix + headerLength), size);
    });
    const dtype = inMember(where, () => descrToDType(header.descr));
    const nbytes = sizeOf(header.shape, dtype.itemsize) * dtype.itemsize;
    if (header.dataOffset + nbytes > size) {
      throw memmapError(
        'ERR_NPY_TRUNCATED',
        `${where}: its .npy header promises ${nbytes} bytes of data (shape ${show(header.shape)}, ${dtype.str}) but the member has ${size - header.dataOffset} after the header`,
      );
    }
    return { header, dtype, nbytes };
  }

  #map(entry: ZipEntry, where: string): Memmap {
    const data = readMember(this.#source, entry);
    const { header, dtype, nbytes } = this.#header(entry, data.dataStart, where);
    const arrayStart = data.dataStart + header.dataOffset;
    // memmap()'s options are known good here: the storage is opened directly.
    const storage = FileStorage.open(
      this.#path,
      this.#mode === 'w+' ? 'r+' : this.#mode,
      arrayStart,
      nbytes,
      dtype.itemsize,
      null,
      { neverGrow: true, fileId: this.#fileId },
    );
    const strides = contiguousStrides(header.shape, dtype.itemsize, header.fortranOrder ? 'F' : 'C');
    const memmap = new Memmap(new Accessor(storage, dtype, header.shape, strides, 0), true);
    const writes = this.#mode === 'r+' || this.#mode === 'w+';
    const handed: Handed = {
      entry,
      memmap,
      arrayStart,
      nbytes,
      headerCrc: writes ? crc32(this.#source.read(data.dataStart, header.dataOffset)) : 0,
      trailing: entry.compressedSize - header.dataOffset - nbytes,
      crcOffsets: [entry.centralOffset + 16, data.localCrcOffset, data.descriptorCrcOffset].filter((at) => at >= 0),
      localStale: data.localCrcStale,
    };
    this.#handed.set(entry.name, handed);
    return memmap;
  }

  /**
   * A deflated member inflated into memory: the `.npy` header first (from as
   * few compressed bytes as it takes), then exactly the bytes it promises,
   * into one buffer of that size; more or fewer is an error, as is a CRC
   * that disagrees. The compressed bytes are mapped, not read into the heap.
   */
  #inflate(entry: ZipEntry, where: string): NDArray {
    const data = readMember(this.#source, entry);
    const compressed = this.#compressed(data.dataStart, entry.compressedSize);
    try {
      return this.#inflateFrom(compressed.bytes, entry, where);
    } finally {
      compressed.release();
    }
  }

  /** A member's compressed bytes: mapped read-only, or read where no TypedArray over the map can be had. */
  #compressed(start: number, length: number): { bytes: Uint8Array; release: () => void } {
    if (length === 0) return { bytes: new Uint8Array(0), release: () => {} };
    const map = memmapWith(
      this.#path,
      { dtype: 'uint8', mode: 'r', offset: start, shape: [length] },
      { neverGrow: true, fileId: this.#fileId },
    );
    try {
      return { bytes: map.data as Uint8Array, release: () => map.close() };
    } catch {
      map.close();
      return { bytes: readAt(this.#fd, start, length), release: () => {} };
    }
  }

  #inflateFrom(input: Uint8Array, entry: ZipEntry, where: string): NDArray {
    /** Inflates `bytes` into at most `limit` bytes: null if it would take more. */
    const inflate = (bytes: Uint8Array, limit: number, whole: boolean): Buffer | null => {
      try {
        return inflateRawSync(bytes, {
          // A prefix of the stream inflates as far as it goes; the whole stream must end.
          finishFlush: whole ? zlibConstants.Z_FINISH : zlibConstants.Z_SYNC_FLUSH,
          maxOutputLength: Math.max(1, limit),
          // The whole member into one buffer of its size (no second copy).
          ...(whole ? { chunkSize: Math.max(64, limit + 1) } : {}),
        });
      } catch (error) {
        if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') return null;
        if (error instanceof RangeError && /alloc/i.test(error.message)) {
          throw memmapError(
            'ERR_MEMMAP_TOO_LARGE',
            `${where}: ${limit} bytes to inflate it into could not be allocated in memory (${error.message})`,
            error,
          );
        }
        throw memmapError(
          'ERR_NPZ_BAD_ARCHIVE',
          `${where} is not valid deflate data: ${(error as Error).message}`,
          error,
        );
      }
    };
    // The header, from the fewest compressed bytes that hold it: the prefix
    // of the input doubles until its output holds `want` bytes; where it would
    // inflate to more than a little past that (one input byte gives at most
    // 1032), the prefix is bisected instead.
    const prefixOf = (want: number): Buffer => {
      const limit = want + 65536;
      let best: Buffer = Buffer.alloc(0);
      let low = 0;
      let high = Infinity;
      let n = Math.min(input.length, 256);
      while (n > low) {
        const out = inflate(input.subarray(0, n), limit, false);
        if (out === null) high = n;
        else {
          best = out;
          low = n;
        }
        if (best.length >= want || low >= input.length) break;
        n = high === Infinity ? Math.min(input.length, low * 2) : Math.floor((low + high) / 2);
      }
      return best;
    };
    let head = prefixOf(16);
    const magic = head.length >= MAGIC.length && MAGIC.every((byte, i) => head[i] === byte);
    if (!magic) {
      throw memmapError(
        'ERR_NPZ_NOT_NPY',
        `${where} is not a .npy array (it inflates to bytes that do not start with \\x93NUMPY)`,
      );
    }
    const { prefix, headerLength } = inMember(where, () => parseNpyPrefix(head, entry.size));
    const headerBytes = prefix + headerLength;
    if (head.length < headerBytes) head = prefixOf(headerBytes);
    const header = inMember(where, () => parseNpyHeader(head.subarray(0, headerBytes), entry.size));
    const dtype = inMember(where, () => descrToDType(header.descr));
    const nbytes = sizeOf(header.shape, dtype.itemsize) * dtype.itemsize;
    const total = header.dataOffset + nbytes;
    // Bytes after the array are inflated (the CRC covers them) and left out,
    // as np.load reads a member: numpy reads the array and stops.
    if (total > entry.size) {
      throw memmapError(
        'ERR_NPZ_BAD_ARCHIVE',
        `${where}: its .npy header promises ${total} bytes (shape ${show(header.shape)}, ${dtype.str}) but the archive says it inflates to ${entry.size}`,
      );
    }
    if (entry.size + 1 > 2 ** 32) {
      throw memmapError(
        'ERR_MEMMAP_TOO_LARGE',
        `${where} inflates to ${entry.size} bytes, more than one in-memory buffer holds (2^32 - 1): it cannot be read into memory`,
      );
    }
    const out = inflate(input, entry.size, true);
    if (out === null) {
      throw memmapError(
        'ERR_NPZ_BAD_ARCHIVE',
        `${where} inflates to more than the ${entry.size} bytes the archive says`,
      );
    }
    if (out.length !== entry.size) {
      throw memmapError(
        'ERR_NPZ_TRUNCATED',
        `${where} inflates to ${out.length} bytes, not the ${entry.size} the archive says`,
      );
    }
    const crc = zlibCrc32 === undefined ? crc32(out) : zlibCrc32(out);
    if (crc !== entry.crc) {
      throw memmapError(
        'ERR_NPZ_BAD_CRC',
        `${where}: its CRC-32 is ${hex(crc)}, the archive says ${hex(entry.crc)} (the member is damaged)`,
      );
    }
    // A small result may sit in Node's shared pool: give it a buffer of its own.
    const own =
      out.byteOffset === 0 && out.buffer.byteLength <= total + 1
        ? (out.buffer as ArrayBuffer)
        : (out.buffer.slice(out.byteOffset, out.byteOffset + total) as ArrayBuffer);
    const strides = contiguousStrides(header.shape, dtype.itemsize, header.fortranOrder ? 'F' : 'C');
    return new NDArray(new Accessor(new HeapStorage(own), dtype, header.shape, strides, header.dataOffset));
  }

  /** Each written member's CRC, from its bytes as they are now; stored where it differs. */
  #storeCrcs(members: Iterable<Handed> = this.#handed.values()): void {
    const word = new Uint8Array(4);
    let wrote = false;
    for (const handed of members) {
      if (!handed.memmap.closed) handed.memmap.flush();
      const crc = this.#memberCrc(handed);
      if (crc === (this.#stored.get(handed.entry.name) ?? handed.entry.crc) && !handed.localStale) continue;
      new DataView(word.buffer).setUint32(0, crc, true);
      // The central directory first: it is the CRC readers trust (zipfile,
      // and here), so a store cut short between the two leaves an archive
      // both open, and the next r+ flush/close makes them agree again.
      try {
        for (const at of handed.crcOffsets) writeAll(this.#fd, word, at);
      } catch (error) {
        throw this.#crcNotStored(handed.entry.name, error);
      }
      this.#stored.set(handed.entry.name, crc);
      handed.localStale = false;
      wrote = true;
    }
    if (wrote) {
      try {
        fdatasyncSync(this.#fd);
      } catch (error) {
        throw this.#crcNotStored(null, error);
      }
      this.#source = blockSource(this.#fd, this.#source.size); // its block may hold an old CRC
    }
  }

  /**
   * A CRC store that failed (a full disk, RLIMIT_FSIZE below the central
   * directory, EIO): coded, and saying what the archive is left with.
   */
  #crcNotStored(name: string | null, error: unknown): Error {
    const errno = (error as NodeJS.ErrnoException).code;
    const what = name === null ? 'the CRC-32s written' : `the CRC-32 of member ${show(name)}`;
    return memmapError(
      errno === 'ENOSPC' || errno === 'EFBIG' ? 'ERR_MEMMAP_NO_SPACE' : 'ERR_MEMMAP_IO',
      `cannot store ${what} in ${show(this.#path.toString())}: ${(error as Error).message}. The members' bytes are written; until a flush() or close() stores their CRC-32s, np.load and zipfile refuse the archive (Bad CRC-32)`,
      error,
    );
  }

  /** A member's CRC-32 from its bytes as they are now: its `.npy` header's, its array's, what follows. */
  #memberCrc(handed: Handed): number {
    let crc = handed.nbytes === 0 ? handed.headerCrc : this.#arrayCrc(handed);
    if (handed.trailing > 0) crc = crc32(readAt(this.#fd, handed.arrayStart + handed.nbytes, handed.trailing), crc);
    return crc;
  }

  /** The CRC of a handed-out member's array bytes: through its map, or from the file if the caller closed it. */
  #arrayCrc(handed: Handed): number {
    if (!handed.memmap.closed) {
      return (accessorOf(handed.memmap).storage as FileStorage).crc32(0, handed.nbytes, handed.headerCrc);
    }
    return this.#fileCrc(handed.arrayStart, handed.nbytes, handed.headerCrc);
  }
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/** Runs a `.npy` header check, naming the member in what it throws. */
function inMember<T>(where: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    const coded = error as MemmapError;
    if (typeof coded.code === 'string') throw memmapError(coded.code, `${where}: ${coded.message}`);
    throw error;
  }
}

/**
 * A ZipSource over the descriptor that reads small requests a block at a
 * time: a member's local header, name, extra field and `.npy` header are
 * one `pread`, not four.
 */
function blockSource(fd: number, size: number): ZipSource {
  const BLOCK = 2048;
  let start = 0;
  let block: Uint8Array = new Uint8Array(0);
  return {
    size,
    read(position, length) {
      if (length > BLOCK) return readAt(fd, position, length);
      if (position < start || position + length > start + block.length) {
        start = position;
        block = readAt(fd, position, Math.min(BLOCK, size - position));
      }
      return block.subarray(position - start, position - start + length);
    },
  };
}

/** `length` bytes at `position` (fewer only at the end of the file). */
function readAt(fd: number, position: number, length: number): Uint8Array {
  // Small reads come from Node's buffer pool: a new backing store per read
  // made the garbage collector a sixth of openNpz + get. Only the bytes read
  // are ever handed on.
  const buffer = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buffer, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done === length ? buffer : buffer.subarray(0, done);
}

function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, position + done);
}

/**
 * Opens a `.npz` archive: numpy's `np.load(path)` for a `.npz`, with members
 * mapped in place instead of read. Modes: `'r'` (default), `'r+'` (write
 * members in place; their CRC-32s are stored at flush() and close()), `'c'`
 * (copy-on-write: the file never changes), `'w+'` (a new archive of
 * `members`, laid out byte for byte as `np.savez` lays it out, zeros in every
 * array). The directory is read and checked at open; a hostile archive is a
 * coded error, and a failed open changes nothing on disk.
 *
 * @example
 * using archive = openNpz('data.npz');        // from np.savez(path, x=..., y=...)
 * archive.get('x').get(0);
 * using out = openNpz('new.npz', { mode: 'w+', members: { x: { dtype: 'int32', shape: [3] } } });
 * out.get('x').assign([1, 2, 3]);             // np.load('new.npz')['x'] -> array([1, 2, 3], dtype=int32)
 */
export function openNpz(path: string | URL | Buffer, options?: OpenNpzOptions, ...extra: never[]): NpzArchive {
  noMoreArguments('openNpz', 2, extra);
  try {
    return openNpzOf(path, options);
  } catch (error) {
    throw proxyArgumentError(error, 'openNpz options');
  }
}

function openNpzOf(path: string | URL | Buffer, options?: OpenNpzOptions): NpzArchive {
  const file = parseFile(path);
  if (typeof file === 'number') {
    throw memmapError('ERR_MEMMAP_INVALID_ARG', `openNpz needs a path, not a file descriptor; got ${file}`);
  }
  const given = checkOptionNames(options, OPEN_OPTIONS, 'openNpz') as OpenNpzOptions;
  const mode = parseMode(given.mode ?? 'r');
  if (mode !== 'w+' && given.members !== undefined) {
    throw memmapError(
      'ERR_MEMMAP_INVALID_ARG',
      `members is only for mode 'w+' (a new archive); mode ${show(given.mode ?? 'r')} reads them from the file`,
    );
  }
  if (mode === 'w+') create(file, given.members);
  const fd = openFile(file, mode === 'r+' || mode === 'w+');
  try {
    const stat = fstatSync(fd, { bigint: true });
    if (stat.isDirectory())
      throw memmapError('ERR_MEMMAP_IS_DIRECTORY', `${show(file)} is a directory, not a .npz archive`);
    if (!stat.isFile()) throw memmapError('ERR_MEMMAP_NOT_REGULAR_FILE', `${show(file)} is not a regular file`);
    return new NpzArchive(file, mode, fd, `${stat.dev}:${stat.ino}`, Number(stat.size));
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

function openFile(file: string | Buffer, write: boolean): number {
  try {
    return openNonBlocking(file, write ? constants.O_RDWR : constants.O_RDONLY);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw memmapError('ERR_MEMMAP_FILE_NOT_FOUND', `file ${show(file)} does not exist`, error);
    if (code === 'EISDIR')
      throw memmapError('ERR_MEMMAP_IS_DIRECTORY', `${show(file)} is a directory, not a .npz archive`, error);
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw memmapError(
        'ERR_MEMMAP_PERMISSION_DENIED',
        `cannot open ${show(file)}${write ? ' for writing' : ''}: permission denied`,
        error,
      );
    }
    throw memmapError('ERR_MEMMAP_IO', `cannot open ${show(file)}: ${(error as Error).message}`, error);
  }
}

/**
 * Creates the archive of `members` in numpy's layout: every option is checked
 * and the layout computed first, then one `w+` open (the core's transaction:
 * a failure before its commit leaves the old file, or none), then the
 * headers and directory are written into the zeroed file.
 */
function create(file: string | Buffer, members: OpenNpzOptions['members']): void {
  if (members === undefined || members === null || typeof members !== 'object' || Array.isArray(members)) {
    throw memmapError(
      'ERR_MEMMAP_INVALID_ARG',
      `mode 'w+' needs members: { name: { dtype, shape, fortranOrder? } } (an object or a Map); got ${show(members)}`,
    );
  }
  const pairs: [unknown, unknown][] = members instanceof Map ? [...members] : Object.entries(members);
  const layoutMembers = pairs.map(([name, spec]) => {
    if (typeof name !== 'string' || name.includes('\0') || !wellFormed(name)) {
      throw memmapError(
        'ERR_MEMMAP_INVALID_ARG',
        `member names must be strings without NUL or lone surrogates (zipfile cannot store them); got ${show(name)}`,
      );
    }
    const where = `members[${show(name)}]`;
    const parsed = checkOptionNames(spec, SPEC_OPTIONS, where) as Partial<NpzMemberSpec>;
    const dtype = parseDType(parsed.dtype ?? 'float64', `${where}.dtype`);
    if (parsed.shape === undefined || parsed.shape === null) {
      throw memmapError(
        'ERR_MEMMAP_SHAPE_REQUIRED',
        `${where}.shape must be given: the member is created with exactly that shape`,
      );
    }
    const shape = normalizeShape(parsed.shape, `${where}.shape`);
    const fortranOrder = parsed.fortranOrder ?? false;
    if (typeof fortranOrder !== 'boolean') {
      throw memmapError('ERR_MEMMAP_INVALID_ARG', `${where}.fortranOrder must be a boolean; got ${show(fortranOrder)}`);
    }
    const header = npyHeaderBytes(descrOf(dtype), fortranOrder, shape);
    return { name: `${name}.npy`, header, dataLength: sizeOf(shape, dtype.itemsize) * dtype.itemsize };
  });
  const layout = npzLayout(layoutMembers);
  if (layout.size > Number.MAX_SAFE_INTEGER) {
    throw memmapError('ERR_MEMMAP_TOO_LARGE', `the archive would be ${layout.size} bytes, past 2^53 - 1`);
  }
  const skeleton = memmapWith(file, { dtype: 'uint8', mode: 'w+', shape: [layout.size] }, undefined);
  try {
    const storage = accessorOf(skeleton).storage;
    for (const piece of layout.pieces) storage.poke(piece.offset, piece.bytes);
    skeleton.flush();
  } finally {
    skeleton.close();
  }
}

function wellFormed(text: string): boolean {
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text);
}

/**
 * `openMemmap`: numpy's `numpy.lib.format.open_memmap`, a Memmap over the data
 * of a `.npy` file; the header itself is ts/npyformat.ts's.
 */
import { closeSync, constants, fstatSync, openSync, readSync, Stats } from 'node:fs';
import { DType, DTypeLike, parseDType } from './dtype';
import type { DTypeChecked, DTypeTag, NdimOf, ShapeLike, TagOf } from './dtype/types';
import { memmapError, noMoreArguments, refuseRevoked, proxyArgumentError, show } from './errors';
import { Memmap, memmapWith } from './memmap';
import {
  descrOf,
  descrToDType,
  NpyHeader,
  npyHeaderBytes,
  NpyVersion,
  parseNpyHeader,
  parseNpyPrefix,
  parsePyLiteral,
  PyTuple,
  pyRepr,
} from './npyformat';
import { ModeLike, parseFile, parseMode } from './options';
import { ownOptions } from './own-options';
import type { PyValue } from './pyliteral';
import { normalizeShape, sizeOf } from './shape';

export { npyHeaderBytes, parseNpyHeader, parsePyLiteral, PyTuple, pyRepr };
export type { NpyHeader, NpyVersion };

/**
 * openMemmap()'s options. `D`, `S` and `M` are the `dtype`, `shape` and
 * `mode` as written (inferred by openMemmap(); the defaults take any value).
 *
 * @example
 * const options: OpenMemmapOptions = { mode: 'r' };
 * openMemmap('points.npy', options);
 */
export interface OpenMemmapOptions<
  D extends DTypeLike | undefined = DTypeLike | undefined,
  S extends ShapeLike | undefined = ShapeLike | undefined,
  M extends ModeLike = ModeLike,
> {
  /** `'r'`, `'r+'`, `'w+'`, `'c'` or numpy's long names; default `'r+'`. */
  mode?: M;
  /**
   * For `w+`: the dtype (default float64, as numpy's `open_memmap`). For the
   * other modes: the dtype the file must hold (checked against its header at
   * open: ERR_NPY_DTYPE_MISMATCH), which types the result.
   */
  dtype?: D;
  /**
   * For `w+`: required. For the other modes: the shape the file must hold
   * (checked at open: ERR_NPY_SHAPE_MISMATCH), which types `ndim`.
   */
  shape?: S;
  /** For `w+`: column-major layout; default false. */
  fortranOrder?: boolean;
  /** For `w+`: `[1, 0]`, `[2, 0]` or `[3, 0]`; default the smallest that fits. */
  version?: NpyVersion | null;
  /** Extend without reserving disk blocks (`w+`, and growth in `r+`/`w+`): see memmap()'s `sparse`. */
  sparse?: boolean;
}

/**
 * The dtype tag openMemmap() gives: the given dtype's, float64 for a new file without one, else any.
 *
 * @example
 * type A = OpenMemmapTag<'f4', 'r'>;        // 'float32'
 * type B = OpenMemmapTag<undefined, 'w+'>;  // 'float64' (numpy's default)
 * type C = OpenMemmapTag<undefined, 'r'>;   // DTypeTag: as the file says
 */
export type OpenMemmapTag<D, M> = [D] extends [undefined]
  ? M extends 'w+' | 'write'
    ? 'float64'
    : DTypeTag
  : TagOf<D>;

/**
 * `ndim` of what openMemmap() gives: from the given shape, else as the file says.
 *
 * @example
 * type A = OpenMemmapNdim<readonly [100, 3]>; // 2
 * type B = OpenMemmapNdim<undefined>;         // number: as the file says
 */
export type OpenMemmapNdim<S> = [S] extends [undefined] ? number : NdimOf<S>;

const OPEN_OPTIONS = new Set(['mode', 'dtype', 'shape', 'fortranOrder', 'version', 'sparse']);

function parseVersion(version: unknown): NpyVersion | null {
  if (version === undefined || version === null) return null;
  if (Array.isArray(version) && version.length === 2 && [1, 2, 3].includes(version[0]) && version[1] === 0)
    return [version[0], 0] as NpyVersion;
  throw memmapError('ERR_MEMMAP_INVALID_ARG', `version must be [1, 0], [2, 0] or [3, 0]; got ${show(version)}`);
}

/** How long an open waits for another process's lease to be let go: past the kernel's default `lease-break-time` (45 s). */
const LEASE_BREAK_WAIT_MS = 50_000;

/**
 * `openSync` with `O_NONBLOCK` (a FIFO opens at once instead of waiting for a
 * writer), waiting as a blocking open would for a write lease another
 * process holds (an appending memmap holds one for the microseconds of a
 * reservation): such an open fails with EAGAIN after starting the lease's
 * break, which the holder answers by letting go (or the kernel forces after
 * `lease-break-time`). Only regular files carry leases, so it is tried again.
 */
export function openNonBlocking(path: string | Buffer, flags: number): number {
  const started = Date.now();
  let pause = 1;
  for (;;) {
    try {
      return openSync(path, flags | constants.O_NONBLOCK);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN' || Date.now() - started > LEASE_BREAK_WAIT_MS) throw error;
      Atomics.wait(PAUSE, 0, 0, pause);
      pause = Math.min(pause * 2, 20);
    }
  }
}
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/**
 * Reads the header of the file at `path`, reading only the header's bytes.
 * Opened non-blocking: a FIFO is refused at once instead of waiting for a writer.
 */
export function readNpyHeader(path: string | Buffer): NpyHeader {
  let fd: number;
  try {
    fd = openNonBlocking(path, constants.O_RDONLY);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw memmapError('ERR_MEMMAP_FILE_NOT_FOUND', `file ${show(path)} does not exist`, error);
    if (code === 'EACCES' || code === 'EPERM')
      throw memmapError('ERR_MEMMAP_PERMISSION_DENIED', `cannot open file ${show(path)}: permission denied`, error);
    throw memmapError('ERR_MEMMAP_IO', `cannot open file ${show(path)}: ${(error as Error).message}`, error);
  }
  // A failing fstat or read (EIO on a bad disk) is a coded error too.
  const statOf = (): Stats => {
    try {
      return fstatSync(fd);
    } catch (error) {
      throw memmapError('ERR_MEMMAP_IO', `cannot stat file ${show(path)}: ${(error as Error).message}`, error);
    }
  };
  try {
    const stat = statOf();
    if (stat.isDirectory())
      throw memmapError('ERR_MEMMAP_IS_DIRECTORY', `file ${show(path)} is a directory, not a .npy file`);
    if (!stat.isFile()) throw memmapError('ERR_MEMMAP_NOT_REGULAR_FILE', `file ${show(path)} is not a regular file`);
    const read = (length: number, position: number): Uint8Array => {
      const buffer = new Uint8Array(Math.min(length, Math.max(0, stat.size - position)));
      let done = 0;
      while (done < buffer.length) {
        let n: number;
        try {
          n = readSync(fd, buffer, done, buffer.length - done, position + done);
        } catch (error) {
          throw memmapError('ERR_MEMMAP_IO', `cannot read file ${show(path)}: ${(error as Error).message}`, error);
        }
        if (n === 0) break;
        done += n;
      }
      return buffer.subarray(0, done);
    };
    // The prefix says how long the header is (checked against the file size
    // and MAX_HEADER_BYTES); then the header is read once.
    const { prefix, headerLength } = parseNpyPrefix(read(12, 0), stat.size);
    const bytes = read(prefix + headerLength, 0);
    const header = parseNpyHeader(bytes, stat.size);
    // The size now, after the header was read: a file growing meanwhile got
    // its rows before the header that counts them (append() writes in that
    // order), so this size holds every row the header counts.
    return { ...header, fileSize: statOf().size, bytes };
  } finally {
    try {
      closeSync(fd);
    } catch {
      // A descriptor only read from loses nothing if its close fails (EIO).
    }
  }
}

/**
 * numpy.lib.format.open_memmap: maps the data of a `.npy` file. For the
 * modes that open an existing file, a `dtype` and `shape` given are what the
 * file must hold: the header is checked at open (a coded error naming what
 * the file holds, and nothing changes on disk), and the result is typed by
 * them.
 *
 * @example
 * const a = openMemmap('weights.npy');              // written by np.save: Memmap (any dtype)
 * const w = openMemmap('weights.npy', { mode: 'r', dtype: 'float32', shape: [100, 3] }); // Memmap<'float32', 2>
 * const b = openMemmap('out.npy', { mode: 'w+', dtype: 'int32', shape: [100] });          // Memmap<'int32', 1>
 */
export function openMemmap<
  const D extends DTypeLike | undefined = undefined,
  const S extends ShapeLike | undefined = undefined,
  const M extends ModeLike = 'r+',
>(
  path: string | URL | Buffer,
  options?: OpenMemmapOptions<D, S, M> & DTypeChecked<D>,
): Memmap<OpenMemmapTag<D, M>, OpenMemmapNdim<S>> {
  // A rest parameter here would change how TypeScript infers D and S.
  // eslint-disable-next-line prefer-rest-params
  noMoreArguments('openMemmap', 2, [...arguments].slice(2));
  return openNpy(path, options as OpenMemmapOptions | undefined) as Memmap<OpenMemmapTag<D, M>, OpenMemmapNdim<S>>;
}

function openNpy(path: string | URL | Buffer, options?: OpenMemmapOptions): Memmap {
  try {
    return openNpyOf(path, options);
  } catch (error) {
    throw proxyArgumentError(error, 'openMemmap options');
  }
}

function openNpyOf(path: string | URL | Buffer, options?: OpenMemmapOptions): Memmap {
  const file = parseFile(path);
  refuseRevoked(options, 'openMemmap options');
  if (typeof file === 'number')
    throw memmapError('ERR_MEMMAP_INVALID_ARG', `openMemmap needs a path, not a file descriptor; got ${file}`);
  const raw: unknown = options ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw memmapError('ERR_MEMMAP_INVALID_ARG', `options must be an object; got ${show(options)}`);
  const given = ownOptions(
    raw,
    'openMemmap options',
    (key) => OPEN_OPTIONS.has(key),
    (key) =>
      memmapError(
        'ERR_MEMMAP_UNKNOWN_OPTION',
        `unknown option ${show(key)}: openMemmap takes ${[...OPEN_OPTIONS].join(', ')}`,
      ),
  ) as OpenMemmapOptions;
  // The mode first: a misspelt one is named, whatever the file holds.
  const mode = parseMode(given.mode ?? 'r+');
  if (mode === 'w+') {
    const dtype = parseDType(given.dtype ?? 'float64');
    if (given.shape === undefined || given.shape === null)
      throw memmapError('ERR_MEMMAP_SHAPE_REQUIRED', "shape must be given if mode is 'w+'");
    const shape = normalizeShape(given.shape);
    sizeOf(shape, dtype.itemsize);
    const fortranOrder = given.fortranOrder ?? false;
    if (typeof fortranOrder !== 'boolean')
      throw memmapError('ERR_MEMMAP_INVALID_ARG', `fortranOrder must be a boolean; got ${show(fortranOrder)}`);
    const descr = descrOf(dtype);
    const header = npyHeaderBytes(descr, fortranOrder, shape, parseVersion(given.version));
    // One transaction, as numpy's two steps (write the header, reopen r+ to
    // extend) are not: the header is written when the open commits, so a
    // failure leaves the old file (or none) in place, never a header alone.
    return memmapWith(
      file,
      {
        dtype,
        shape,
        order: fortranOrder ? 'F' : 'C',
        mode: 'w+',
        offset: header.length,
        ...(given.sparse === undefined ? {} : { sparse: given.sparse }),
      },
      { prefix: Buffer.from(header.buffer, header.byteOffset, header.byteLength) },
      { descr, fortranOrder, major: header[6] as 1 | 2 | 3, headerLength: header.length, current: header.slice() },
    );
  }
  if (given.fortranOrder !== undefined || given.version !== undefined) {
    throw memmapError(
      'ERR_MEMMAP_INVALID_ARG',
      `fortranOrder and version are only for mode 'w+'; mode ${show(mode)} reads them from the file`,
    );
  }
  const expected = expectedLayout(given);
  const header = readNpyHeader(file);
  const dtype = descrToDType(header.descr);
  checkExpected(file, header, dtype, expected);
  const nbytes = sizeOf(header.shape, dtype.itemsize) * dtype.itemsize;
  if (header.dataOffset + nbytes > header.fileSize) {
    throw memmapError(
      'ERR_NPY_TRUNCATED',
      `the .npy header promises ${nbytes} bytes of data (shape ${show(header.shape)}, ${dtype.str}) but the file has ${header.fileSize - header.dataOffset} after the header`,
    );
  }
  return memmapWith(
    file,
    {
      dtype,
      shape: header.shape,
      order: header.fortranOrder ? 'F' : 'C',
      mode,
      offset: header.dataOffset,
      ...(given.sparse === undefined ? {} : { sparse: given.sparse }),
    },
    undefined,
    {
      descr: header.descr as PyValue,
      fortranOrder: header.fortranOrder,
      major: header.version[0],
      headerLength: header.dataOffset,
      current: header.bytes?.slice() ?? new Uint8Array(0),
    },
  );
}

/** What a read-mode caller says the file holds (dtype, shape), parsed before anything is opened. */
interface Expected {
  dtype: DType | null;
  shape: number[] | null;
}

function expectedLayout(given: OpenMemmapOptions): Expected {
  return {
    dtype: given.dtype === undefined ? null : parseDType(given.dtype),
    shape: given.shape === undefined || given.shape === null ? null : normalizeShape(given.shape),
  };
}

/**
 * A dtype or shape given for an existing file is a promise about its header:
 * a difference is an error naming what the file holds, raised before the
 * data is mapped (nothing on disk changes).
 */
function checkExpected(file: string | Buffer, header: NpyHeader, dtype: DType, expected: Expected): void {
  if (expected.dtype !== null && expected.dtype.str !== dtype.str) {
    throw memmapError(
      'ERR_NPY_DTYPE_MISMATCH',
      `dtype ${show(expected.dtype.str)} was given, but ${show(file)} holds ${show(dtype.str)} (descr ${show(dtype.descr)})`,
    );
  }
  const shape = header.shape;
  if (
    expected.shape !== null &&
    (expected.shape.length !== shape.length || expected.shape.some((n, axis) => n !== shape[axis]))
  ) {
    throw memmapError(
      'ERR_NPY_SHAPE_MISMATCH',
      `shape ${show(expected.shape)} was given, but ${show(file)} holds shape ${show(shape)}`,
    );
  }
}

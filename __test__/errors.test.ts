/**
 * Bad input: each case asserts the error class, the stable code, that the
 * message names the value, and that the disk is exactly as before.
 */
import { lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { DType, memmap, NDArray, openMemmap, openNpz, parseDType, MemmapOptions } from '../ts/index';
import { Advice, binding, Mode, ReduceRequest } from '../ts/binding';
import { ERROR_CLASSES, ErrorCode, fromNative } from '../ts/errors';
import { PACKAGE, runNode, tempDir } from './helpers';

const dir = tempDir();
const existing = join(dir, 'existing.bin');
const short = join(dir, 'short.bin');
const empty = join(dir, 'empty.bin');
const odd = join(dir, 'odd.bin');
const subdir = join(dir, 'subdir');
const fifo = join(dir, 'fifo');
const missing = join(dir, 'missing.bin');
writeFileSync(existing, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]));
writeFileSync(short, Buffer.from([9, 9, 9]));
writeFileSync(empty, '');
writeFileSync(odd, Buffer.alloc(7, 1));
mkdirSync(subdir);
symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling'));
try {
  execFileSync('mkfifo', [fifo]);
} catch {
  /* no mkfifo: the FIFO case is skipped below */
}

function snapshot(): string {
  return readdirSync(dir)
    .sort()
    .map((name) => {
      const stat = lstatSync(join(dir, name));
      return `${name}:${stat.isFile() ? readFileSync(join(dir, name)).toString('hex') : stat.isDirectory() ? 'dir' : 'other'}`;
    })
    .join('\n');
}

type Case = [string, () => unknown, string, 'TypeError' | 'RangeError' | 'Error', RegExp?];
const open = (file: unknown, options?: unknown) => () => memmap(file as string, options as MemmapOptions);

const cases: Case[] = [
  ['file is an object', open({}), 'ERR_MEMMAP_INVALID_ARG', 'TypeError', /\{\}/],
  ['file is undefined', open(undefined), 'ERR_MEMMAP_INVALID_ARG', 'TypeError', /undefined/],
  ['file is a negative fd', open(-1), 'ERR_MEMMAP_INVALID_ARG', 'TypeError', /-1/],
  ['file is a fractional fd', open(3.5), 'ERR_MEMMAP_INVALID_ARG', 'TypeError', /3\.5/],
  ['file is an empty path', open(''), 'ERR_MEMMAP_INVALID_ARG', 'TypeError'],
  [
    'file path has a NUL byte',
    open(`${missing}\0x`, { mode: 'w+', shape: 1 }),
    'ERR_MEMMAP_INVALID_ARG',
    'TypeError',
    /NUL/,
  ],
  [
    'file is an http URL',
    open(new URL('http://example.invalid/x')),
    'ERR_MEMMAP_INVALID_ARG',
    'TypeError',
    /file: protocol/,
  ],
  ['file descriptor is not open', open(987654), 'ERR_MEMMAP_BAD_FD', 'Error', /987654/],
  ['options is a string', open(existing, 'r'), 'ERR_MEMMAP_INVALID_ARG', 'TypeError', /"r"/],
  ['unknown option', open(existing, { dtpye: 'f4' }), 'ERR_MEMMAP_UNKNOWN_OPTION', 'TypeError', /dtpye/],
  ['unknown dtype', open(existing, { dtype: 'float33' }), 'ERR_MEMMAP_INVALID_DTYPE', 'TypeError', /float33/],
  ['dtype is a number', open(existing, { dtype: 4 }), 'ERR_MEMMAP_INVALID_DTYPE', 'TypeError', /4/],
  ['object dtype', open(existing, { dtype: 'O' }), 'ERR_MEMMAP_INVALID_DTYPE', 'TypeError', /"O"/],
  ['unknown mode', open(existing, { mode: 'rw' }), 'ERR_MEMMAP_INVALID_MODE', 'TypeError', /"rw"/],
  ['mode in capitals', open(existing, { mode: 'R' }), 'ERR_MEMMAP_INVALID_MODE', 'TypeError', /"R"/],
  ['negative offset', open(existing, { offset: -1 }), 'ERR_MEMMAP_OUT_OF_RANGE', 'RangeError', /-1/],
  ['fractional offset', open(existing, { offset: 1.5 }), 'ERR_MEMMAP_OUT_OF_RANGE', 'RangeError', /1\.5/],
  ['NaN offset', open(existing, { offset: NaN }), 'ERR_MEMMAP_OUT_OF_RANGE', 'RangeError', /NaN/],
  ['Infinity offset', open(existing, { offset: Infinity }), 'ERR_MEMMAP_OUT_OF_RANGE', 'RangeError', /Infinity/],
  ['negative bigint offset', open(existing, { offset: -1n }), 'ERR_MEMMAP_OUT_OF_RANGE', 'RangeError', /-1n/],
  [
    'huge bigint offset',
    open(existing, { offset: 2n ** 64n }),
    'ERR_MEMMAP_OUT_OF_RANGE',
    'RangeError',
    /18446744073709551616n/,
  ],
  ['offset is a string', open(existing, { offset: '8' }), 'ERR_MEMMAP_INVALID_ARG', 'TypeError', /"8"/],
  ['negative shape', open(existing, { shape: -1 }), 'ERR_MEMMAP_OUT_OF_RANGE', 'RangeError', /-1/],
  // A bigint is an integer: out of range, as the number is.
  ['negative bigint shape', open(existing, { shape: [-1n, 3] }), 'ERR_MEMMAP_OUT_OF_RANGE', 'RangeError', /-1n/],
  [
    'bigint shape past 2^53 - 1',
    open(existing, { shape: [2n ** 60n] }),
    'ERR_MEMMAP_OUT_OF_RANGE',
    'RangeError',
    /1152921504606846976n/,
  ],
  ['fractional shape', open(existing, { shape: [2, 1.5] }), 'ERR_MEMMAP_INVALID_ARG', 'TypeError', /1\.5/],
  ['NaN in shape', open(existing, { shape: [NaN] }), 'ERR_MEMMAP_INVALID_ARG', 'TypeError', /NaN/],
  ['shape is a string', open(existing, { shape: '3' }), 'ERR_MEMMAP_INVALID_ARG', 'TypeError', /"3"/],
  [
    'shape overflows 2^53 bytes',
    open(missing, { mode: 'w+', shape: [2 ** 30, 2 ** 30, 2 ** 10], dtype: 'f8' }),
    'ERR_MEMMAP_TOO_LARGE',
    'RangeError',
  ],
  [
    // numpy: "array is too big" (its strides would overflow).
    'no elements, but strides past 2^53 bytes',
    open(existing, { mode: 'r', shape: [0, 2 ** 40, 2 ** 40], dtype: 'f8' }),
    'ERR_MEMMAP_TOO_LARGE',
    'RangeError',
    /strides past 2\^53 - 1 bytes.*array is too big/,
  ],
  [
    'offset + nbytes past 2^53',
    open(missing, { mode: 'w+', shape: 16, offset: Number.MAX_SAFE_INTEGER - 8 }),
    'ERR_MEMMAP_TOO_LARGE',
    'RangeError',
  ],
  [
    'shape past the address space',
    open(missing, { mode: 'w+', shape: [2 ** 52], dtype: 'u1' }),
    'ERR_MEMMAP_',
    'Error',
  ],
  ['unknown order', open(existing, { order: 'K' }), 'ERR_MEMMAP_INVALID_ORDER', 'TypeError', /"K"/],
  ['unknown advice', open(existing, { advice: 'fast' }), 'ERR_MEMMAP_INVALID_ADVICE', 'TypeError', /"fast"/],
  ['w+ without shape', open(missing, { mode: 'w+' }), 'ERR_MEMMAP_SHAPE_REQUIRED', 'TypeError', /w\+/],
  ['missing file in r', open(missing, { mode: 'r' }), 'ERR_MEMMAP_FILE_NOT_FOUND', 'Error', /missing\.bin/],
  ['missing file in r+', open(missing, { mode: 'r+', shape: 4 }), 'ERR_MEMMAP_FILE_NOT_FOUND', 'Error', /missing\.bin/],
  ['missing file in c', open(missing, { mode: 'c' }), 'ERR_MEMMAP_FILE_NOT_FOUND', 'Error', /missing\.bin/],
  ['empty file in r', open(empty, { mode: 'r' }), 'ERR_MEMMAP_EMPTY_FILE', 'Error', /empty/],
  ['empty file in r+ without shape', open(empty, { mode: 'r+' }), 'ERR_MEMMAP_EMPTY_FILE', 'Error', /empty/],
  ['empty file in c', open(empty, { mode: 'c', shape: 1 }), 'ERR_MEMMAP_EMPTY_FILE', 'Error', /empty/],
  ['short file in r', open(short, { mode: 'r', shape: 4 }), 'ERR_MEMMAP_FILE_TOO_SHORT', 'Error', /3 bytes/],
  [
    'short file in c',
    open(short, { mode: 'c', shape: 1, offset: 3 }),
    'ERR_MEMMAP_FILE_TOO_SHORT',
    'Error',
    /offset 3/,
  ],
  [
    'offset past the end, no shape',
    open(short, { mode: 'r', offset: 10 }),
    'ERR_MEMMAP_FILE_TOO_SHORT',
    'Error',
    /offset 10/,
  ],
  [
    'not a whole number of items',
    open(odd, { mode: 'r', dtype: 'f4' }),
    'ERR_MEMMAP_NOT_WHOLE_ITEMS',
    'Error',
    /7 bytes/,
  ],
  [
    'not whole items after offset',
    open(existing, { mode: 'r', dtype: 'i2', offset: 1 }),
    'ERR_MEMMAP_NOT_WHOLE_ITEMS',
    'Error',
    /offset 1/,
  ],
  ['a directory in r', open(subdir, { mode: 'r' }), 'ERR_MEMMAP_IS_DIRECTORY', 'Error', /subdir/],
  ['a directory in r+', open(subdir, { mode: 'r+', shape: 1 }), 'ERR_MEMMAP_IS_DIRECTORY', 'Error', /subdir/],
  ['a directory in w+', open(subdir, { mode: 'w+', shape: 1 }), 'ERR_MEMMAP_IS_DIRECTORY', 'Error', /subdir/],
  ['a /proc file', open('/proc/self/status', { mode: 'r' }), 'ERR_MEMMAP_', 'Error'],
  ['/dev/null', open('/dev/null', { mode: 'r' }), 'ERR_MEMMAP_NOT_REGULAR_FILE', 'Error', /dev\/null/],
  ['a path through a file', open(join(existing, 'x'), { mode: 'w+', shape: 1 }), 'ERR_MEMMAP_', 'Error'],
  ['a dangling symlink in r', open(join(dir, 'dangling'), { mode: 'r' }), 'ERR_MEMMAP_FILE_NOT_FOUND', 'Error'],
  ['openMemmap of a raw file', () => openMemmap(existing, { mode: 'r' }), 'ERR_NPY_', 'Error'],
  ['openMemmap with a descriptor', () => openMemmap(3 as unknown as string), 'ERR_MEMMAP_INVALID_ARG', 'TypeError'],
  ['openMemmap w+ without shape', () => openMemmap(missing, { mode: 'w+' }), 'ERR_MEMMAP_SHAPE_REQUIRED', 'TypeError'],
  [
    'openMemmap with a bad version',
    () => openMemmap(missing, { mode: 'w+', shape: 1, version: [4, 0] as never }),
    'ERR_MEMMAP_INVALID_ARG',
    'TypeError',
    /\[4, 0\]/,
  ],
  [
    'openMemmap with fortranOrder in r',
    () => openMemmap(existing, { mode: 'r', fortranOrder: true }),
    'ERR_MEMMAP_INVALID_ARG',
    'TypeError',
  ],
];
if (statSync(fifo, { throwIfNoEntry: false })?.isFIFO()) {
  cases.push([
    'a FIFO (numpy hangs forever)',
    open(fifo, { mode: 'r' }),
    'ERR_MEMMAP_NOT_REGULAR_FILE',
    'Error',
    /FIFO/,
  ]);
}

test(`at least 50 bad inputs are tabled (${cases.length})`, () => {
  expect(cases.length).toBeGreaterThanOrEqual(50);
});

test.each(cases.map((row) => [row[0], row] as const))('%s', (_name, [, call, code, errorClass, message]) => {
  const before = snapshot();
  let thrown: unknown;
  try {
    (call() as { close?: () => void } | undefined)?.close?.();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeDefined();
  const error = thrown as Error & { code: string };
  if (errorClass !== 'Error') expect(error.name).toBe(errorClass);
  expect(error.code.startsWith(code)).toBe(true);
  if (message) expect(error.message).toMatch(message);
  expect(snapshot()).toBe(before);
});

describe('misuse of an open map', () => {
  const path = join(dir, 'open.bin');
  writeFileSync(path, Buffer.alloc(48));

  test('set on a mode r map is a TypeError and writes nothing', () => {
    const fp = memmap(path, { mode: 'r', dtype: 'f4', shape: [3, 4] });
    expect(() => fp.set(0, 0, 1)).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_MEMMAP_READ_ONLY' }));
    expect(() => fp.fill(1)).toThrow(expect.objectContaining({ code: 'ERR_MEMMAP_READ_ONLY' }));
    expect(() => fp.assign([1, 2, 3, 4])).toThrow(expect.objectContaining({ code: 'ERR_MEMMAP_READ_ONLY' }));
    fp.close();
    expect(readFileSync(path)).toEqual(Buffer.alloc(48));
  });

  test('get with the wrong number of indices, or out of range', () => {
    const fp = memmap(path, { mode: 'r', dtype: 'f4', shape: [3, 4] });
    // @ts-expect-error: a 2-D map's get() takes two indices (the types say so; the runtime checks too)
    expect(() => fp.get(0)).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_MEMMAP_INVALID_INDEX' }));
    expect(() => fp.get(3, 0)).toThrow(
      expect.objectContaining({
        name: 'RangeError',
        code: 'ERR_MEMMAP_INDEX_OUT_OF_RANGE',
        message: 'index 3 is out of bounds for axis 0 with size 3',
      }),
    );
    expect(() => fp.get(-4, 0)).toThrow(expect.objectContaining({ name: 'RangeError' }));
    expect(() => fp.get(0.5, 0)).toThrow(expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_INDEX' }));
    expect(fp.get(-1, -1)).toBe(0);
    fp.close();
  });

  test('values out of a dtype range are refused (numpy 2 raises OverflowError)', () => {
    const fp = memmap(path, { mode: 'r+', dtype: 'u1', shape: 4 });
    expect(() => fp.set(0, 256)).toThrow(
      expect.objectContaining({
        name: 'RangeError',
        code: 'ERR_MEMMAP_VALUE_OUT_OF_RANGE',
        message: expect.stringMatching(/256.*uint8/),
      }),
    );
    expect(() => fp.set(0, -1)).toThrow(expect.objectContaining({ code: 'ERR_MEMMAP_VALUE_OUT_OF_RANGE' }));
    // @ts-expect-error: a string is not a value of an integer dtype
    expect(() => fp.set(0, 'x')).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'ERR_MEMMAP_INVALID_ARG' }),
    );
    fp.set(0, 2.9); // numpy truncates toward zero
    expect(fp.get(0)).toBe(2);
    const big = memmap(path, { mode: 'r+', dtype: 'i8', shape: 2 });
    expect(() => big.set(0, 2n ** 63n)).toThrow(expect.objectContaining({ code: 'ERR_MEMMAP_VALUE_OUT_OF_RANGE' }));
    big.set(0, -(2n ** 63n));
    expect(big.get(0)).toBe(-(2n ** 63n));
    big.close();
    fp.close();
  });

  test('assign with a shape that does not broadcast', () => {
    const fp = memmap(path, { mode: 'r+', dtype: 'f4', shape: [3, 4] });
    expect(() => fp.assign([1, 2, 3])).toThrow(
      expect.objectContaining({
        name: 'RangeError',
        code: 'ERR_MEMMAP_SHAPE_MISMATCH',
        message: expect.stringMatching(/\[3\].*\[3, 4\]/),
      }),
    );
    expect(() => fp.assign([[1, 2], [3]])).toThrow(expect.objectContaining({ code: 'ERR_MEMMAP_SHAPE_MISMATCH' }));
    fp.assign([1, 2, 3, 4]); // broadcasts over rows, as numpy
    expect(fp.toArray()).toEqual([
      [1, 2, 3, 4],
      [1, 2, 3, 4],
      [1, 2, 3, 4],
    ]);
    fp.assign([[1], [2], [3]]);
    expect(fp.get(2, 3)).toBe(3);
    fp.close();
  });

  test('data refuses strided and non-native views, saying what to use instead', () => {
    writeFileSync(path, Buffer.alloc(48));
    const fp = memmap(path, { mode: 'r', dtype: 'f4', shape: [3, 4] });
    expect(() => fp.slice(':, ::2').data).toThrow(
      expect.objectContaining({
        name: 'TypeError',
        code: 'ERR_MEMMAP_NO_TYPED_ARRAY',
        message: expect.stringMatching(/toArray/),
      }),
    );
    const be = memmap(path, { mode: 'r', dtype: '>f4', shape: [3, 4] });
    expect(() => be.data).toThrow(
      expect.objectContaining({ code: 'ERR_MEMMAP_NO_TYPED_ARRAY', message: expect.stringMatching(/byte order/) }),
    );
    expect(fp.slice('1').data).toHaveLength(4);
    expect(fp.slice(':, 1:2').toArray()).toEqual([[0], [0], [0]]);
    be.close();
    fp.close();
  });
});

describe('a revoked Proxy as any argument', () => {
  // Any touch of a revoked Proxy throws V8's own TypeError, even
  // Array.isArray: every argument parser turns it into a coded error that
  // names the argument, and nothing on disk changes.
  const revoked = <T extends object>(target: T): T => {
    const { proxy, revoke } = Proxy.revocable(target, {});
    revoke();
    return proxy;
  };
  const path = join(dir, 'revoked.f8');
  const npy = join(dir, 'revoked.npy');
  const fresh = () => {
    writeFileSync(path, Buffer.alloc(48));
    return memmap(path, { mode: 'r+', dtype: 'float64', shape: [2, 3] });
  };
  /* eslint-disable @typescript-eslint/no-explicit-any */
  const cases: [string, (a: any) => unknown, string][] = [
    ['memmap options', () => memmap(path, revoked({}) as MemmapOptions), 'memmap options'],
    ['path', () => memmap(revoked([1]) as any, { mode: 'r', shape: [1] }), 'path'],
    ['shape', () => memmap(path, { mode: 'r', dtype: 'f8', shape: revoked([3]) }), 'shape'],
    ['dtype', () => memmap(path, { mode: 'r', dtype: revoked({}) as any, shape: [3] }), 'dtype'],
    ['openMemmap options', () => openMemmap(npy, revoked({})), 'options'],
    ['reduction options', (a) => a.sum(revoked({})), 'sum() options'],
    ['axis', (a) => a.sum({ axis: revoked([0]) }), 'sum() options'],
    ['where', (a) => a.mean({ where: revoked([true, false, true]) }), 'where'],
    ['a where row', (a) => a.mean({ where: [revoked([true, false, true]), [true, true, true]] }), 'where'],
    ['async options', (a) => a.sumAsync(revoked({})), 'sumAsync() options'],
    ['assign source', (a) => a.assign(revoked([1, 2, 3])), 'source'],
    ['slice index', (a) => a.slice(revoked([0]) as any), 'index'],
    ['toArray options', (a) => a.toArray(revoked({})), 'options'],
    ['blocks options', (a) => [...a.blocks(revoked({}))], 'options'],
    ['astype dtype', (a) => a.astype(revoked({})), 'dtype'],
    // Found by review: option values, write() and descriptors.
    ['openMemmap version', () => openMemmap(npy, { mode: 'w+', shape: [4], version: revoked({}) as never }), 'options'],
    ['write values', (a) => a.write(0, revoked([1, 2])), 'values'],
    ['fromDescriptor', () => memmap.fromDescriptor(revoked({}) as never), 'descriptor'],
  ];
  /* eslint-enable @typescript-eslint/no-explicit-any */
  test.each(cases)('%s', async (_, call, argument) => {
    const a = fresh();
    a.set(1, 2, 7);
    const before = readFileSync(path);
    let error: unknown;
    try {
      // A throw, or an async call's rejection.
      await call(a);
    } catch (e) {
      error = e;
    }
    expect(error).toEqual(
      expect.objectContaining({
        name: 'TypeError',
        // An index that is not one: numpy's IndexError, as for any other value.
        code: argument === 'index' ? 'ERR_MEMMAP_INVALID_INDEX' : 'ERR_MEMMAP_INVALID_ARG',
        message: expect.stringContaining(argument === 'index' ? '[revoked Proxy]' : argument),
      }),
    );
    expect(readFileSync(path)).toEqual(before);
    a.close();
  });

  test('a huge array in an error message is cut, not walked (it hung the call)', () => {
    // A child: a walk over 2^32 - 1 holes would hang this test's process.
    const result = runNode(
      `const { memmap } = require(${PACKAGE});
      const a = memmap(${JSON.stringify(path)}, { mode: 'r+', dtype: 'float64', shape: [2, 3] });
      const big = () => new Array(2 ** 32 - 1);
      const lengthy = new Proxy([], { get: (t, k) => (k === 'length' ? 2 ** 32 - 1 : Reflect.get(t, k)) });
      for (const call of [() => a.sum(big()), () => a.var({ ddof: big() }), () => a.fill(big()), () => a.slice(lengthy),
                          () => memmap(${JSON.stringify(path)}, { mode: 'r', shape: new Array(2e7).fill(1.5) })]) {
        try { call(); console.log('no error'); } catch (e) { console.log(e.code, e.message.length < 1000); }
      }`,
      { timeout: 120000 },
    );
    expect(result.signal).toBeNull();
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(5);
    for (const line of lines) expect(line).toMatch(/^ERR_MEMMAP_\w+ true$/);
  });

  test('a Proxy of an array passes instanceof but holds none of its state: a coded error, nothing written', () => {
    const a = fresh();
    a.set(1, 2, 7);
    const before = readFileSync(path);
    const source = new Proxy(a.copy(), {});
    const grown = openMemmap(npy, { mode: 'w+', dtype: 'float64', shape: [0, 3] });
    const calls: (() => unknown)[] = [
      () => a.assign(source),
      () => grown.append(source),
      () => a.sum({ where: new Proxy(a.copy().astype('bool'), {}) }),
    ];
    for (const call of calls) {
      expect(call).toThrow(
        expect.objectContaining({
          code: 'ERR_MEMMAP_INVALID_ARG',
          message: expect.stringContaining('a Proxy of an array'),
        }),
      );
    }
    expect(readFileSync(path)).toEqual(before);
    expect(grown.shape).toEqual([0, 3]);
    grown.close();
    a.close();
  });

  test('write() reads the length of its values once: a Proxy changing it writes what it said first', () => {
    const a = fresh();
    const view = a.slice('0').slice('0:2');
    let reads = 0;
    const values = new Proxy([1, 2, 3], {
      get: (target, key) => (key === 'length' ? (reads++ === 0 ? 1 : 3) : Reflect.get(target, key)),
    });
    view.write(1, values);
    expect(a.toArray()).toEqual([
      [0, 1, 0],
      [0, 0, 0],
    ]);
    a.close();
  });

  test('a revoked Proxy in an error message is shown, not touched', () => {
    const a = fresh();
    expect(() => a.fill(revoked({}) as never)).toThrow(expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_ARG' }));
    a.close();
  });
});

describe('an argument a function does not take', () => {
  // memmap(path, options, ...) once ignored what came after the options; a
  // refused call must not create the file it names either.
  const npz = join(dir, 'extra.npz');
  const x = { junk: 1 };
  const grow = join(dir, 'extra-grow.npy');
  openMemmap(grow, { mode: 'w+', dtype: 'float64', shape: [1] }).close();
  const callable = (f: unknown) => f as (...args: unknown[]) => unknown;
  const onArchive = (method: 'has' | 'get' | 'flush' | 'close' | 'iterator', ...args: unknown[]) => {
    const archive = openNpz(npz, { mode: 'r+' });
    try {
      const f = method === 'iterator' ? archive[Symbol.iterator] : archive[method];
      return callable(f.bind(archive))(...args);
    } finally {
      archive.close();
    }
  };
  const cases: [string, () => unknown, string][] = [
    [
      'memmap',
      () => callable(memmap)(join(dir, 'extra-new.bin'), { mode: 'w+', shape: [4] }, x),
      'memmap() takes 2 arguments',
    ],
    [
      'openMemmap',
      () => callable(openMemmap)(join(dir, 'extra-new.npy'), { mode: 'w+', shape: [4] }, x),
      'openMemmap() takes 2 arguments',
    ],
    [
      'openNpz',
      () => callable(openNpz)(join(dir, 'extra-new.npz'), { mode: 'w+', members: {} }, x),
      'openNpz() takes 2 arguments',
    ],
    ['parseDType', () => callable(parseDType)('f8', 'float32'), 'parseDType() takes one argument'],
    [
      'fromDescriptor',
      () => callable(memmap.fromDescriptor)(memmap(existing, { mode: 'r' }).descriptor(), x),
      'memmap.fromDescriptor() takes one argument',
    ],
    ['npz.has', () => onArchive('has', 'x', x), 'has() takes one argument'],
    ['npz.get', () => onArchive('get', 'x', {}, x), 'get() takes 2 arguments'],
    ['npz.flush', () => onArchive('flush', x), 'flush() takes no arguments'],
    ['npz.close', () => onArchive('close', x), 'close() takes no arguments'],
    [
      'append',
      () => {
        const grown = openMemmap(grow, { mode: 'r+' });
        return callable(grown.append.bind(grown))([1], {}, x);
      },
      'append() takes 2 arguments',
    ],
    [
      'toString',
      () => {
        const a = memmap(existing, { mode: 'r' });
        return callable(a.toString.bind(a))(16);
      },
      'toString() takes no arguments',
    ],
    [
      'an iterator',
      () => memmap(existing, { mode: 'r' })[Symbol.iterator](x as never),
      '[Symbol.iterator]() takes no arguments',
    ],
    [
      'dispose',
      () => memmap(existing, { mode: 'r' })[Symbol.dispose](x as never),
      '[Symbol.dispose]() takes no arguments',
    ],
    ['an archive iterator', () => onArchive('iterator' as never, x), '[Symbol.iterator]() takes no arguments'],
    ['new NDArray', () => new NDArray('x' as never), 'an array is not made with new'],
    ['new DType', () => new DType('f4' as never, 'x' as never), 'a DType is not made with new'],
  ];
  test.each(cases)('%s', (_, call, message) => {
    openNpz(npz, { mode: 'w+', members: { x: { dtype: 'int32', shape: [3] } } }).close();
    const before = snapshot();
    expect(call).toThrow(
      expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_ARG', message: expect.stringContaining(message) }),
    );
    expect(snapshot()).toEqual(before);
  });
});

describe('codes from the native binding, as data', () => {
  const raw = (call: () => unknown): { code?: unknown; message?: unknown } => {
    try {
      call();
    } catch (error) {
      return error as { code?: unknown; message?: unknown };
    }
    throw new Error('expected a throw');
  };

  test('every code Rust can produce is in ERROR_CLASSES, with its class', () => {
    const codes = binding.errorCodes();
    expect(codes.length).toBeGreaterThanOrEqual(19);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) {
      expect([code, Object.hasOwn(ERROR_CLASSES, code)]).toEqual([code, true]);
      const converted = fromNative(Object.assign(new Error('from Rust'), { code }));
      expect(converted).toBeInstanceOf(ERROR_CLASSES[code as ErrorCode]);
      expect(converted).toEqual(expect.objectContaining({ code, message: 'from Rust' }));
    }
    // The classes of the codes whose class carries meaning.
    expect(ERROR_CLASSES.ERR_MEMMAP_INVALID_ARG).toBe(TypeError);
    expect(ERROR_CLASSES.ERR_MEMMAP_INVALID_DTYPE).toBe(TypeError);
    expect(ERROR_CLASSES.ERR_MEMMAP_TOO_LARGE).toBe(RangeError);
    expect(ERROR_CLASSES.ERR_MEMMAP_CLOSED).toBe(Error);
  });

  test('the native side sets error.code itself; the message carries no code to parse', () => {
    const missingError = raw(() => binding.open({}, missing, 'r', 0, null, 1, 2 ** 32));
    expect(missingError.code).toBe('ERR_MEMMAP_FILE_NOT_FOUND');
    expect(missingError.message).toMatch(/^file '.*missing\.bin' does not exist/);
    const badOffset = raw(() => binding.open({}, existing, 'r', -1, null, 1, 2 ** 32));
    expect(badOffset).toEqual(expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_ARG' }));
    const converted = fromNative(badOffset);
    expect(converted).toBeInstanceOf(TypeError);
    expect(converted).toEqual(
      expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_ARG', message: expect.stringMatching(/offset .* -1/) }),
    );
  });

  test("napi-rs's own argument errors (a call from outside the package) become ERR_MEMMAP_INVALID_ARG", () => {
    for (const call of [
      () => binding.open({}, existing, 'readonly' as Mode, 0, null, 1, 2 ** 32), // an alias: TypeScript parses those
      () => binding.open({}, existing, 'r', '0' as unknown as number, null, 1, 2 ** 32),
      () => binding.advise(0, 'often' as Advice, 0, 0),
    ]) {
      const error = raw(call);
      expect(typeof error.code).toBe('string');
      expect(error.code).not.toMatch(/^ERR_/);
      const converted = fromNative(error);
      expect(converted).toBeInstanceOf(TypeError);
      expect(converted).toEqual(expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_ARG' }));
    }
    // A code that is neither ours nor napi-rs's is left alone, as is a prototype key.
    for (const code of ['ECONNRESET', '__proto__', 'toString']) {
      const error = Object.assign(new Error('x'), { code });
      expect(fromNative(error)).toBe(error);
    }
  });

  test('async rejections carry codes too: raw from the binding, and with their class from the API', async () => {
    const path = join(dir, 'async-codes.bin');
    const owner = {};
    const handle = binding.open(owner, path, 'w+', 0, 1 << 24, 1, 2 ** 32);
    const request: ReduceRequest = {
      op: 'sum',
      element: 'u1',
      littleEndian: true,
      byteOffset: 0,
      shape: [1 << 24],
      strides: [1],
    };
    // The library's threads parked first, so that the tasks below start
    // after close(), whatever the machine's speed.
    binding.holdThreads();
    const pending = binding.reduceAsync(handle, request).catch((e: unknown) => e);
    const flushing = binding.flushAsync(handle, 0, 1 << 24).catch((e: unknown) => e);
    binding.close(owner, handle);
    binding.releaseThreads();
    expect(await pending).toEqual(expect.objectContaining({ code: 'ERR_MEMMAP_CLOSED' }));
    expect(await flushing).toEqual(expect.objectContaining({ code: 'ERR_MEMMAP_CLOSED' }));
    const fp = memmap(path, { dtype: 'uint8', mode: 'r' });
    binding.holdThreads();
    const sum = fp.sumAsync().catch((e: unknown) => e);
    fp.close();
    binding.releaseThreads();
    const error = await sum;
    expect(error).toBeInstanceOf(Error);
    expect(error).toEqual(expect.objectContaining({ code: 'ERR_MEMMAP_CLOSED' }));
  });
});

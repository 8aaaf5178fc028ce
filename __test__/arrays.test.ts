/**
 * copy(), astype(), flags, base, length, blocks() and dates (issue 13)
 * against live numpy: every numeric dtype pair in both byte orders with edge
 * values, every kind of view, bad input, and arrays past 4 GiB in a child
 * process.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DTypeLike, memmap, NDArray, openMemmap } from '../ts/index';
import { describeNumpy, PACKAGE, python, pythonJson, runNode, tempDir } from './helpers';

const dir = tempDir();

const NUMERIC = ['b1', 'i1', 'u1', 'i2', 'u2', 'i4', 'u4', 'i8', 'u8', 'f2', 'f4', 'f8', 'c8', 'c16'];

/** The bytes of an array's values in this machine's order (read() swaps non-native lanes). */
function nativeBytes(array: NDArray): string {
  const lanes = array.read();
  return Buffer.from(lanes.buffer, lanes.byteOffset, lanes.byteLength).toString('hex');
}

function code(error: unknown): string | undefined {
  return (error as { code?: string }).code;
}

function thrown(f: () => unknown): { name: string; code?: string } {
  try {
    f();
  } catch (error) {
    return { name: (error as Error).constructor.name, code: code(error) };
  }
  return { name: 'nothing' };
}

describeNumpy('astype against numpy', () => {
  test('every numeric dtype pair, both byte orders, edge values', () => {
    // numpy writes each source (edge values cast unsafely into it) and its
    // astype into every target, as native-order bytes.
    const expected = pythonJson<Record<string, string>>(
      `
import json, sys, warnings
import numpy as np
warnings.simplefilter('ignore')
d = sys.argv[1]
codes = ${JSON.stringify(NUMERIC)}
floats = [np.nan, np.inf, -np.inf, -0.0, 0.0, 0.5, 1.5, 2.5, -2.5, 300.7, -300.7, 65504.0, 65519.0, 65520.0,
          70000.5, 3e9, -3e9, 1e19, -1e19, 2e19, 9.3e18, 1e-8, 6e-8, 3e-5, 1.7976931348623157e308, 5e-324,
          2.0**31, 2.0**32, -2.0**31 - 1, 2.0**63, 2.0**64, -1.0, 0.1, 16777217.0]
ints = [0, 1, -1, 127, 128, -128, -129, 255, 256, 32767, 32768, -32769, 65535, 65536, 2**31 - 1, -2**31,
        2**32 - 1, 2**32, 2**53 + 1, -2**53 - 1, 2**63 - 1, -2**63]
bigs = [2**63, 2**64 - 1, 2**63 + 2**40 + 1]
out = {}
for c in codes:
    if c[0] in 'fc':
        src = np.array(floats, dtype='f8').astype(c)
        if c[0] == 'c':
            src = src + 1j * np.array(floats[::-1], dtype='f8').astype(c)
    else:
        src = np.concatenate([np.array(ints, dtype='i8').astype(c), np.array(bigs, dtype='u8').astype(c)])
    for order in '<>':
        s = src.astype(np.dtype(c).newbyteorder(order))
        s.tofile(f'{d}/{c}{order}.bin')
        for t in codes:
            for order2 in '<>':
                r = s.astype(np.dtype(t).newbyteorder(order2))
                if t == 'u4' and c[0] in 'fc' and c != 'f2':
                    # Out-of-range floats to uint32: numpy's SIMD loop and its scalar
                    # tail disagree (the result depends on the element's position);
                    # memmap's documented rule (convert.rs) there, numpy's elsewhere.
                    x = np.real(s).astype('f8')
                    bad = ~(np.isfinite(x) & (x > -2.0**31 - 1) & (x < 2.0**32))
                    def rule(v):
                        t32 = lambda y: int(y) if (y == y and -2147483649.0 < y < 2147483648.0) else -2**31
                        return ((t32(v - 2.0**31) % 2**32) ^ 2**31) if v >= 2.0**31 else t32(v) % 2**32
                    r = r.copy()
                    r[bad] = [rule(v) for v in x[bad]]
                out[f'{c}{order}>{t}{order2}'] = r.astype(np.dtype(t).newbyteorder('=')).tobytes().hex()
print(json.dumps(out))
`,
      dir,
    );
    const failures: string[] = [];
    for (const from of NUMERIC) {
      for (const order of ['<', '>']) {
        const source = memmap(join(dir, `${from}${order}.bin`), { dtype: `${order}${from}`, mode: 'r' });
        for (const to of NUMERIC) {
          for (const order2 of ['<', '>']) {
            const key = `${from}${order}>${to}${order2}`;
            const result = source.astype(`${order2}${to}`);
            if (nativeBytes(result) !== expected[key]) failures.push(key);
          }
        }
        source.close();
      }
    }
    expect(failures).toEqual([]);
    expect(Object.keys(expected)).toHaveLength(NUMERIC.length ** 2 * 4);
  });

  test('strided and reversed views convert in C order; datetime64 to its unit and to counts', () => {
    const path = join(dir, 'grid.f8');
    const expected = pythonJson<Record<string, string>>(
      `
import json, sys
import numpy as np
a = np.arange(-30, 30, dtype='f8').reshape(6, 10) * 1.25
a.tofile(sys.argv[1])
t = np.array(['2020-01-01T00:00:00.123456789', 'NaT', '1969-12-31T23:59:59.999999999'], dtype='M8[ns]')
t.tofile(sys.argv[1] + '.M8')
print(json.dumps({
  'view': a[::-2, 1::3].astype('i2').tobytes().hex(),
  'fortran': a.T.astype('f2').tobytes().hex(),
  'counts': t.astype('i8').tobytes().hex(),
  'big': t.astype('>M8[ns]').astype('M8[ns]').tobytes().hex(),
}))
`,
      path,
    );
    const a = memmap(path, { dtype: 'float64', mode: 'r', shape: [6, 10] });
    expect(nativeBytes(a.slice('::-2, 1::3').astype('int16'))).toBe(expected.view);
    const fortran = memmap(path, { dtype: 'float64', mode: 'r', shape: [10, 6], order: 'F' });
    expect(nativeBytes(fortran.astype('float16'))).toBe(expected.fortran);
    const t = memmap(`${path}.M8`, { dtype: 'datetime64[ns]', mode: 'r' });
    expect(nativeBytes(t.astype('int64'))).toBe(expected.counts);
    expect(nativeBytes(t.astype('>M8[ns]'))).toBe(expected.big);
    expect(t.astype('>M8[ns]').dtype).toBe('>M8[ns]');
    expect(thrown(() => t.astype('M8[ms]'))).toEqual({ name: 'TypeError', code: 'ERR_MEMMAP_INVALID_DTYPE' });
    for (const array of [a, fortran, t]) array.close();
  });
});

describeNumpy('copy against numpy', () => {
  test('every kind of view: strided, reversed, Fortran, fields, records, strings, other byte order', () => {
    const base = join(dir, 'copy');
    const expected = pythonJson<Record<string, string>>(
      `
import json, sys
import numpy as np
b = sys.argv[1]
a = (np.arange(120, dtype='i4') * 7 - 300).reshape(4, 5, 6)
a.tofile(b + '.i4')
r = np.zeros(7, dtype=[('x', '<f4'), ('v', '<i2', (3,)), ('s', 'S3')])
r['x'] = np.arange(7) / 3; r['v'] = np.arange(21).reshape(7, 3); r['s'] = [b'a', b'bc', b'def', b'', b'x', b'yz', b'q']
r.tofile(b + '.rec')
u = np.array(['ab', 'cde', '', 'f'], dtype='<U3'); u.tofile(b + '.U')
e = np.arange(10, dtype='>i4'); e.tofile(b + '.be')
f = np.asfortranarray(a)
f.T.tofile(b + '.F')  # its bytes in Fortran order
hexes = {
  'whole': a.copy(), 'strided': a[::2, 1:, ::-3], 'reversed': a[::-1, ::-1, ::-1], 'row': a[2],
  'fortran': f[1:, :, ::2], 'field': r['x'][::2], 'subarray': r['v'][1:], 'records': r[::-3],
  'strings': r['s'], 'unicode': u[::-1], 'big': e[::3].astype('<i4'), 'empty': a[:, 2:2],
}
print(json.dumps({k: np.ascontiguousarray(v).tobytes().hex() for k, v in hexes.items()}))
`,
      base,
    );
    const a = memmap(`${base}.i4`, { dtype: 'int32', mode: 'r', shape: [4, 5, 6] });
    const f = memmap(`${base}.F`, { dtype: 'int32', mode: 'r', shape: [4, 5, 6], order: 'F' });
    const r = memmap(`${base}.rec`, {
      dtype: [
        ['x', '<f4'],
        ['v', '<i2', [3]],
        ['s', 'S3'],
      ],
      mode: 'r',
    });
    const u = memmap(`${base}.U`, { dtype: '<U3', mode: 'r' });
    const e = memmap(`${base}.be`, { dtype: '>i4', mode: 'r' });
    const views: Record<string, NDArray> = {
      whole: a,
      strided: a.slice('::2, 1:, ::-3'),
      reversed: a.slice('::-1, ::-1, ::-1'),
      row: a.slice(2),
      fortran: f.slice('1:, :, ::2'),
      field: r.field('x').slice('::2') as unknown as NDArray,
      subarray: r.field('v').slice('1:') as unknown as NDArray,
      records: r.slice('::-3') as unknown as NDArray,
      strings: r.field('s') as unknown as NDArray,
      unicode: u.slice('::-1'),
      big: e.slice('::3'),
      empty: a.slice(':, 2:2'),
    };
    for (const [name, view] of Object.entries(views)) {
      const copy = view.copy();
      expect([name, nativeBytes(copy)]).toEqual([name, expected[name]]);
      expect(copy).toBeInstanceOf(NDArray);
      expect(copy.dtype).toBe(view.dtype);
      expect(copy.shape).toEqual(view.shape);
      const long = copy.shape.filter((d) => d > 1).length;
      expect(copy.flags).toEqual({
        cContiguous: true,
        fContiguous: long <= 1 || copy.size === 0,
        writeable: true,
        ownData: true,
      });
      expect(copy.base).toBeNull();
      expect(copy.toArray()).toEqual(view.toArray());
    }
    // A copy of a copy (in-memory storage) and its own views.
    const twice = views.strided.copy().slice('::-1').copy();
    expect(twice.toArray()).toEqual(views.strided.slice('::-1').toArray());
    expect(views.strided.copy().astype('float64').toArray()).toEqual(views.strided.toArray());
    for (const array of [a, f, r, u, e]) array.close();
  });
});

describeNumpy('flags, base and length against numpy', () => {
  test('every kind of view', () => {
    const path = join(dir, 'flags.npy');
    python(
      `
import sys
import numpy as np
np.save(sys.argv[1], np.zeros((4, 1, 6), dtype='<f4'))
`,
      path,
    );
    const specs = [
      '...',
      '::2',
      ':, :, ::-1',
      '0',
      '1:2',
      ':, 0, :1',
      ':, :, 3',
      ':0',
      '::-1, :, 1:',
      'None, ...',
      '0, 0, 0, ...',
    ];
    const expected = pythonJson<unknown[]>(
      `
import json, sys
import numpy as np
a = np.load(sys.argv[1], mmap_mode='r')
specs = [(Ellipsis,), (slice(None, None, 2),), (slice(None), slice(None), slice(None, None, -1)), (0,), (slice(1, 2),),
         (slice(None), 0, slice(None, 1)), (slice(None), slice(None), 3), (slice(None, 0),), (slice(None, None, -1), slice(None), slice(1, None)),
         (None, Ellipsis), (0, 0, 0, Ellipsis)]
out = []
for s in specs:
    v = a[s]
    f = v.flags
    out.append([f.c_contiguous, f.f_contiguous, f.writeable, f.owndata, len(v) if v.ndim else None])
c = np.ascontiguousarray(a.transpose(2, 0, 1))
out.append([a.flags.c_contiguous, a.flags.f_contiguous, a.flags.writeable, a.flags.owndata, len(a)])
out.append([a.T.flags.c_contiguous, a.T.flags.f_contiguous, a.T.flags.writeable, a.T.flags.owndata, len(a.T)])
print(json.dumps(out))
`,
      path,
    );
    const a = openMemmap(path, { mode: 'r' });
    const f = memmap(path, { dtype: 'float32', mode: 'r', offset: 128, shape: [6, 1, 4], order: 'F' });
    const actual = [
      ...specs.map((spec) => {
        const v = a.slice(spec);
        return [...Object.values(v.flags), v.ndim === 0 ? null : v.length];
      }),
      [...Object.values(a.flags), a.length],
      [...Object.values(f.flags), f.length],
    ];
    expect(actual).toEqual(expected);
    expect(thrown(() => a.slice('0, 0, 0, ...').length)).toEqual({
      name: 'TypeError',
      code: 'ERR_MEMMAP_NOT_ITERABLE',
    });
    // Writable maps, and arrays in memory.
    const w = openMemmap(path, { mode: 'r+' });
    expect(w.flags.writeable).toBe(true);
    expect(w.copy().slice(0).flags).toEqual({ cContiguous: true, fContiguous: true, writeable: true, ownData: false });
    for (const array of [a, f, w]) array.close();
  });

  test('base: the original array, through views of views and fields', () => {
    const a = memmap(join(dir, 'base.bin'), {
      dtype: [
        ['x', '<f4'],
        ['y', '<i2'],
      ],
      mode: 'w+',
      shape: [4, 3],
    });
    expect(a.base).toBeNull();
    const v = a.slice('1:').slice('::-1');
    expect(v.base).toBe(a);
    expect(v.field('y').slice(0).base).toBe(a);
    expect([...a][2].base).toBe(a);
    const c = v.copy();
    expect(c.base).toBeNull();
    expect(c.slice(0).slice(1).base).toBe(c);
    for (const block of a.blocks({ rows: 3 })) expect(block.base).toBe(a);
    a.close();
  });
});

describe('blocks()', () => {
  test('consecutive views along the first axis, rows validated', () => {
    const a = memmap(join(dir, 'blocks.bin'), { dtype: 'int16', mode: 'w+', shape: [10, 3] });
    a.write(
      0,
      Int16Array.from({ length: 30 }, (_, i) => i),
    );
    const blocks = [...a.blocks({ rows: 4 })];
    expect(blocks.map((b) => b.shape)).toEqual([
      [4, 3],
      [4, 3],
      [2, 3],
    ]);
    expect(blocks.flatMap((b) => Array.from(b.data))).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect([...a.blocks()].map((b) => b.shape)).toEqual([[10, 3]]);
    expect([...a.slice('::-1').blocks({ rows: 7 })].map((b) => b.get(0, 0))).toEqual([27, 6]);
    expect([...a.slice('3:3').blocks()]).toEqual([]);
    a.close();
  });

  test('a block ends at a boundary between buffers where it can (child process, small chunks)', () => {
    const result = runNode(
      `
const { memmap } = require(${PACKAGE});
const path = require('node:path').join(require('node:os').tmpdir(), 'memmap-blocks-' + process.pid);
// 5 float32 per row (20 bytes): rows straddle the 12288-byte buffers now and then.
const a = memmap(path, { dtype: 'float32', mode: 'w+', shape: [3000, 5] });
const out = [];
for (const b of a.blocks({ rows: 1000 })) {
  let ok = true;
  try { b.data; } catch (e) { ok = e.code; }
  out.push([b.shape[0], ok]);
}
a.close();
require('node:fs').rmSync(path);
console.log(JSON.stringify(out));
`,
      { env: { MEMMAP_CHUNK_BYTES: '12288' } },
    );
    expect(result.stderr).toBe('');
    const out = JSON.parse(result.stdout) as [number, true | string][];
    expect(out.reduce((n, [rows]) => n + rows, 0)).toBe(3000);
    // Every block of more than one row fits one buffer.
    for (const [rows, ok] of out) if (rows > 1) expect(ok).toBe(true);
  });

  test('over a sparse file past 4 GiB: every default block has data (child process)', () => {
    const result = runNode(`
const { memmap } = require(${PACKAGE});
const fs = require('node:fs');
const path = require('node:path').join(require('node:os').tmpdir(), 'memmap-blocks-big-' + process.pid);
fs.writeFileSync(path, '');
fs.truncateSync(path, 5 * 2 ** 30);
const a = memmap(path, { dtype: 'float32', mode: 'r', shape: [5 * 2 ** 26, 4] });
let rows = 0, blocks = 0, bad = 0;
for (const b of a.blocks()) { rows += b.shape[0]; blocks++; if (b.data.length !== b.size) bad++; }
let tooLarge;
try { a.copy(); } catch (e) { tooLarge = [e.constructor.name, e.code]; }
a.close();
fs.rmSync(path);
console.log(JSON.stringify({ rows, blocks, bad, tooLarge }));
`);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({
      rows: 5 * 2 ** 26,
      blocks: 5,
      bad: 0,
      tooLarge: ['RangeError', 'ERR_MEMMAP_TOO_LARGE'],
    });
  });
});

describeNumpy('datetime64 as Date', () => {
  // -1920 years and -23000 months reach years 0-99, which Date.UTC would take as 1900-1999.
  test('every unit, NaT as null, finer units floored to the millisecond', () => {
    const base = join(dir, 'dates');
    const units = ['Y', 'M', 'W', 'D', 'h', 'm', 's', 'ms', 'us', 'ns'];
    const expected = pythonJson<Record<string, (number | null)[]>>(
      `
import json, sys
import numpy as np
out = {}
for u in ${JSON.stringify(units)}:
    t = np.array([0, 1, -1, 123456, -7, 'NaT'], dtype=f'M8[{u}]') if False else np.array([0, 1, -1, 123456, -7, -1920, -1971, -23000, np.iinfo('i8').min], dtype='i8').view(f'M8[{u}]')
    t.tofile(f'{sys.argv[1]}.{u}')
    ms = t.astype('M8[ms]').astype('i8')
    out[u] = [None if np.isnat(x) else int(m) for x, m in zip(t, ms)]
print(json.dumps(out))
`,
      base,
    );
    for (const unit of units) {
      const t = memmap(`${base}.${unit}`, { dtype: `datetime64[${unit}]` as 'datetime64[ns]', mode: 'r' });
      const dates = t.toArray({ dates: true });
      expect([unit, dates.map((d) => (d === null ? null : d.getTime()))]).toEqual([unit, expected[unit]]);
      t.close();
    }
  });

  test('a value past the range of a Date is a coded error naming it', () => {
    const path = join(dir, 'far.M8');
    writeFileSync(path, new BigInt64Array([0n, 300000n]));
    const t = memmap(path, { dtype: 'datetime64[Y]', mode: 'r' });
    expect(() => t.toArray({ dates: true })).toThrow(
      expect.objectContaining({ code: 'ERR_MEMMAP_VALUE_OUT_OF_RANGE', message: expect.stringContaining('300000') }),
    );
    t.close();
  });
});

describe('bad input', () => {
  const path = join(dir, 'bad.f4');
  writeFileSync(path, Buffer.alloc(24));

  test.each([
    [
      'astype with a misspelt dtype',
      (a: NDArray) => a.astype('flaot32' as 'float32'),
      'TypeError',
      'ERR_MEMMAP_INVALID_DTYPE',
    ],
    [
      'astype with an unknown option',
      (a: NDArray) => a.astype('f4', { order: 'C' } as object),
      'TypeError',
      'ERR_MEMMAP_UNKNOWN_OPTION',
    ],
    [
      'astype with casting other than unsafe',
      (a: NDArray) => a.astype('f4', { casting: 'safe' as 'unsafe' }),
      'TypeError',
      'ERR_MEMMAP_INVALID_ARG',
    ],
    [
      'astype with options not an object',
      (a: NDArray) => a.astype('f4', 'unsafe' as unknown as object),
      'TypeError',
      'ERR_MEMMAP_INVALID_ARG',
    ],
    ['astype of numbers to bytes', (a: NDArray) => a.astype('S4'), 'TypeError', 'ERR_MEMMAP_INVALID_DTYPE'],
    ['astype of numbers to datetime64', (a: NDArray) => a.astype('M8[s]'), 'TypeError', 'ERR_MEMMAP_INVALID_DTYPE'],
    [
      'copy with an argument',
      (a: NDArray) => (a.copy as (x: number) => unknown)(1),
      'TypeError',
      'ERR_MEMMAP_INVALID_ARG',
    ],
    ['blocks with rows 0', (a: NDArray) => a.blocks({ rows: 0 }), 'RangeError', 'ERR_MEMMAP_OUT_OF_RANGE'],
    ['blocks with rows -1', (a: NDArray) => a.blocks({ rows: -1 }), 'RangeError', 'ERR_MEMMAP_OUT_OF_RANGE'],
    ['blocks with rows null', (a: NDArray) => a.blocks({ rows: null as never }), 'TypeError', 'ERR_MEMMAP_INVALID_ARG'],
    ['blocks with rows 1.5', (a: NDArray) => a.blocks({ rows: 1.5 }), 'TypeError', 'ERR_MEMMAP_INVALID_ARG'],
    [
      'blocks with rows as a string',
      (a: NDArray) => a.blocks({ rows: '2' as unknown as number }),
      'TypeError',
      'ERR_MEMMAP_INVALID_ARG',
    ],
    [
      'blocks with an unknown option',
      (a: NDArray) => a.blocks({ row: 2 } as object),
      'TypeError',
      'ERR_MEMMAP_UNKNOWN_OPTION',
    ],
    ['blocks of a 0-d array', (a: NDArray) => a.slice(0).blocks(), 'TypeError', 'ERR_MEMMAP_NOT_ITERABLE'],
    ['toArray dates on float32', (a: NDArray) => a.toArray({ dates: true }), 'TypeError', 'ERR_MEMMAP_INVALID_ARG'],
    [
      'toArray dates not a boolean',
      (a: NDArray) => a.toArray({ dates: 1 as unknown as boolean }),
      'TypeError',
      'ERR_MEMMAP_INVALID_ARG',
    ],
    [
      'toArray with an unknown option',
      (a: NDArray) => a.toArray({ date: true } as object),
      'TypeError',
      'ERR_MEMMAP_UNKNOWN_OPTION',
    ],
    ['length of a 0-d array', (a: NDArray) => a.slice(0).length, 'TypeError', 'ERR_MEMMAP_NOT_ITERABLE'],
  ])('%s', (_name, call, name, errorCode) => {
    const a = memmap(path, { dtype: 'float32', mode: 'r' });
    expect(thrown(() => call(a as NDArray))).toEqual({ name, code: errorCode });
    a.close();
  });

  test('a complex value with a part other than re and im is refused, nothing written; a plain number is re', () => {
    const c = memmap(join(dir, 'complex.c16'), { dtype: 'complex128', mode: 'w+', shape: 2 });
    c.set(0, { re: 1, im: 2 });
    expect(thrown(() => c.set(0, { re: 5, img: 6 } as never))).toEqual({
      name: 'TypeError',
      code: 'ERR_MEMMAP_INVALID_ARG',
    });
    expect(thrown(() => c.assign([{ re: 1, im: 1, imag: 1 } as never, 0]))).toEqual({
      name: 'TypeError',
      code: 'ERR_MEMMAP_INVALID_ARG',
    });
    expect(c.toArray()).toEqual([
      { re: 1, im: 2 },
      { re: 0, im: 0 },
    ]);
    c.set(1, 3);
    expect(c.get(1)).toEqual({ re: 3, im: 0 });
    c.close();
  });

  test('a closed array: copy and astype throw ERR_MEMMAP_CLOSED', () => {
    const a = memmap(path, { dtype: 'float32', mode: 'r' });
    a.close();
    expect(thrown(() => a.copy()).code).toBe('ERR_MEMMAP_CLOSED');
    expect(thrown(() => a.astype('int8')).code).toBe('ERR_MEMMAP_CLOSED');
  });
});

describe('assign() from an array of the same shape and dtype', () => {
  test('natively, a block at a time: strided, reversed, other byte order, overlapping its own storage', () => {
    const a = memmap(join(dir, 'assign-a.i4'), { mode: 'w+', dtype: '<i4', shape: [6, 4] });
    a.assign(Int32Array.from({ length: 24 }, (_, k) => k));
    const c = memmap(join(dir, 'assign-c.i4'), { mode: 'w+', dtype: '>i4', shape: [6, 4] });
    // c[::-1] = a[:, ::-1]: a strided big-endian target from a strided little-endian source.
    (c.slice('::-1') as NDArray).assign(a.slice(':, ::-1'));
    const expected = Array.from({ length: 6 }, (_, i) => Array.from({ length: 4 }, (_, j) => (5 - i) * 4 + 3 - j));
    expect(c.toArray()).toEqual(expected);
    // numpy's a[:] = a[::-1] reads all of the source first.
    a.assign(a.slice('::-1'));
    expect(a.get(0, 0)).toBe(20);
    expect(a.get(5, 3)).toBe(3);
    expect((a.slice('0') as NDArray).toArray()).toEqual([20, 21, 22, 23]);
    // Two maps of one file overlap too (numpy's overlap test does not see
    // it), over more than one 16 MiB block of the native copy.
    const n = 9 << 20;
    const shift = 1 << 20;
    const path = join(dir, 'overlap.i4');
    const one = memmap(path, { mode: 'w+', dtype: '<i4', shape: [n] });
    one.assign(Int32Array.from({ length: n }, (_, k) => k));
    const two = memmap(path, { mode: 'r+', dtype: '<i4', shape: [n] });
    (one.slice(`${shift}:`) as NDArray).assign(two.slice(`:-${shift}`));
    const after = two.data as Int32Array;
    const wrong = after.findIndex((value, k) => value !== (k < shift ? k : k - shift));
    expect(wrong).toBe(-1);
    one.close();
    two.close();
    a.close();
    c.close();
  });

  test('records and unicode go natively only when identical: numpy converts fields and swaps code points', () => {
    const path = (name: string) => join(dir, name);
    const from = memmap(path('rec-a.bin'), {
      mode: 'w+',
      dtype: [
        ['x', '<i4'],
        ['y', '<f4'],
      ],
      shape: [2],
    });
    from.field('x').assign([1, 2]);
    from.field('y').assign([0.5, 1.5]);
    const to = memmap(path('rec-b.bin'), {
      mode: 'w+',
      dtype: [
        ['x', '<f4'],
        ['y', '<i4'],
      ],
      shape: [2],
    });
    to.assign(from);
    // numpy: field by field, by position: x 1.0 and 2.0, y 0 and 1.
    expect([to.field('x').toArray(), to.field('y').toArray()]).toEqual([
      [1, 2],
      [0, 1],
    ]);
    const big = memmap(path('rec-c.bin'), { mode: 'w+', dtype: [['x', '>i4']], shape: [1] });
    big.field('x').assign([7]);
    const little = memmap(path('rec-d.bin'), { mode: 'w+', dtype: [['x', '<i4']], shape: [1] });
    little.assign(big);
    expect(little.field('x').get(0)).toBe(7);
    const ub = memmap(path('u-b.bin'), { mode: 'w+', dtype: '>U3', shape: [2] });
    ub.assign(['xyz', 'ab']);
    const ul = memmap(path('u-l.bin'), { mode: 'w+', dtype: '<U3', shape: [2] });
    ul.assign(ub);
    expect(ul.toArray()).toEqual(['xyz', 'ab']);
    for (const fp of [from, to, big, little, ub, ul]) fp.close();
  });

  test('an array of 192M elements is assigned without a JavaScript value per element (child process)', () => {
    const n = 2 ** 27 + 2 ** 26;
    const result = runNode(
      `const mm = require(${PACKAGE} + '/dist/index.js');
       const a = mm.memmap(${JSON.stringify(join(dir, 'big-a.f4'))}, { mode: 'w+', dtype: 'float32', shape: [${n}], sparse: true });
       const b = mm.memmap(${JSON.stringify(join(dir, 'big-b.f4'))}, { mode: 'w+', dtype: '>f4', shape: [${n}], sparse: true });
       b.set(7, 1.5); b.set(${n - 1}, -2);
       a.assign(b);
       console.log(JSON.stringify([a.get(7), a.get(${n - 1}), a.get(12345)]));`,
    );
    expect(result.signal).toBeNull();
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual([1.5, -2, 0]);
  });
});

describeNumpy("nested arrays whose rows are TypedArrays or arrays, as numpy's np.array([...]) reads them", () => {
  test('assign() and append() take a list of rows of any kind; numpy gives the same bytes', () => {
    const path = join(dir, 'rows.npy');
    const a = openMemmap(path, { mode: 'w+', dtype: '<f4', shape: [0, 2, 3] });
    const inMemory = memmap(join(dir, 'rows-src.f8'), { mode: 'w+', dtype: '<f8', shape: [2, 3] }).copy();
    inMemory.assign([
      [7, 8, 9],
      [10, 11, 12],
    ]);
    // A row of TypedArrays, an array (of another dtype numpy's same_kind allows), nested numbers.
    expect(a.append([[Float32Array.of(1, 2, 3), Int16Array.of(4, 5, 6)], inMemory.astype('<f4')])).toEqual([2, 2, 3]);
    expect(a.append([[[13, 14, 15], Uint8Array.of(16, 17, 18)]])).toEqual([3, 2, 3]);
    (a.slice('2') as NDArray).assign([Float64Array.of(0.5, 1.5, 2.5), Float64Array.of(3, 4, 5)]);
    a.flush();
    const numpy = python(
      `
import numpy as np, sys
a = np.zeros((3, 2, 3), '<f4')
a[:2] = [[np.array([1, 2, 3], 'f4'), np.array([4, 5, 6], 'i2')], np.array([[7, 8, 9], [10, 11, 12]], 'f4')]
a[2] = [np.array([0.5, 1.5, 2.5]), np.array([3, 4, 5.0])]
b = np.load(sys.argv[1])
print(b.shape, b.dtype, np.array_equal(a, b))
`,
      path,
    );
    expect(numpy.trim()).toBe('(3, 2, 3) float32 True');
    a.close();
  });

  test('rows of the wrong length are ragged, a dtype same_kind refuses is refused, and nothing is written', () => {
    const path = join(dir, 'rows-bad.npy');
    const a = openMemmap(path, { mode: 'w+', dtype: '<i4', shape: [1, 2] });
    const calls: [() => unknown, string][] = [
      [() => a.append([Int32Array.of(1, 2), Int32Array.of(3, 4, 5)]), 'ERR_MEMMAP_SHAPE_MISMATCH'],
      [() => a.append([Int32Array.of(1, 2), [3]]), 'ERR_MEMMAP_SHAPE_MISMATCH'],
      [() => a.append([[1, 2], Int32Array.of(3, 4, 5)]), 'ERR_MEMMAP_SHAPE_MISMATCH'],
      [() => a.append([Int32Array.of(1, 2), Float64Array.of(3, 4)]), 'ERR_MEMMAP_INVALID_DTYPE'],
      [() => a.assign([[Int32Array.of(1, 2)], [Int32Array.of(1, 2)]]), 'ERR_MEMMAP_SHAPE_MISMATCH'],
      [() => a.assign([Int32Array.of(1), 2]), 'ERR_MEMMAP_SHAPE_MISMATCH'],
    ];
    for (const [call, expected] of calls) expect(thrown(call).code).toBe(expected);
    expect(() => a.assign([[1, 2], new DataView(new ArrayBuffer(8)) as never])).toThrow(/holds a DataView/);
    expect(a.shape).toEqual([1, 2]);
    expect(a.toArray()).toEqual([[0, 0]]);
    a.close();
  });

  test('datetime64/timedelta64 fields, in sub-arrays and nested records, convert their unit as numpy does', () => {
    const [from, into] = [join(dir, 'rec-units-from.npy'), join(dir, 'rec-units-into.npy')];
    const numpy = pythonJson<number[]>(
      `
import json, sys, numpy as np
src = np.zeros(2, [('a', '<i4'), ('b', '<M8[s]'), ('c', '<m8[s]', (2,)), ('d', [('t', '<M8[D]')])])
src['a'] = [1, 2]; src['b'] = np.array([25, -28]).view('M8[s]')
src['c'] = np.array([[3, 4], [-5, 6]]).view('m8[s]'); src['d']['t'] = np.array([1, -2]).view('M8[D]')
np.save(sys.argv[1], src)
into = np.dtype([('a', '<i4'), ('b', '<M8[ms]'), ('c', '<m8[ms]', (2,)), ('d', [('t', '<M8[h]')])])
np.save(sys.argv[2], np.zeros(0, into))
print(json.dumps(src.astype(into).view('<i4').tolist()))
`,
      from,
      into,
    );
    const source = openMemmap(from, { mode: 'r' });
    const target = openMemmap(into, { mode: 'r+' });
    target.append(source);
    const words = (a: NDArray) => Array.from(new Int32Array(a.copy().data.buffer as ArrayBuffer));
    expect(words(target)).toEqual(numpy);
    target.assign(source.slice('::-1'));
    target.assign(source);
    expect(words(target)).toEqual(numpy);
    source.close();
    target.close();
  });

  // Plain numbers are judged by kind, as numpy judges Python numbers: [1.5, 2.7] is a
  // float, which same_kind refuses into int32, where assign() casts; integers take the
  // target's width (range-checked) but are refused into bool.
  test('plain numbers are judged by kind, as numpy judges Python numbers', () => {
    const ints = openMemmap(join(dir, 'plain-i4.npy'), { mode: 'w+', dtype: '<i4', shape: [0, 2] });
    expect(() => ints.append([[1.5, 2.7]])).toThrow(/float64 to int32/);
    expect(thrown(() => ints.append([[1, NaN]])).code).toBe('ERR_MEMMAP_INVALID_DTYPE');
    expect(
      ints.append([
        [1, 2],
        [3n, -4],
      ]),
    ).toEqual([2, 2]);
    const small = openMemmap(join(dir, 'plain-u2.npy'), { mode: 'w+', dtype: '<u2', shape: [0] });
    expect(small.append([1, 65535])).toEqual([2]);
    expect(thrown(() => small.append([-1])).code).toBe('ERR_MEMMAP_VALUE_OUT_OF_RANGE');
    expect(small.shape).toEqual([2]);
    small.close();
    ints.assign([
      [1.5, 2.7],
      [3, 4],
    ]);
    expect(ints.toArray()).toEqual([
      [1, 2],
      [3, 4],
    ]);
    ints.close();
    const flags = openMemmap(join(dir, 'plain-b1.npy'), { mode: 'w+', dtype: 'bool', shape: [0] });
    expect(() => flags.append([1, 0])).toThrow(/int64 to bool/);
    expect(flags.append([true, false])).toEqual([2]);
    flags.close();
    const times = openMemmap(join(dir, 'plain-M8.npy'), { mode: 'w+', dtype: '<M8[s]', shape: [0] });
    expect(() => times.append([1.5])).toThrow(/float64 to datetime64\[s\]/);
    expect(times.append([1, '2020-01-01'])).toEqual([2]);
    times.close();
    const floats = openMemmap(join(dir, 'plain-f4.npy'), { mode: 'w+', dtype: '<f4', shape: [0] });
    expect(floats.append([1.5, 2, 7n])).toEqual([3]);
    floats.close();
  });

  test('datetime64 rows of another unit are converted as numpy converts them', () => {
    const seconds = memmap(join(dir, 'rows-s.M8'), { mode: 'w+', dtype: '<M8[s]', shape: [2] });
    seconds.assign([5n, -1n]);
    const ms = memmap(join(dir, 'rows-ms.M8'), { mode: 'w+', dtype: '<M8[ms]', shape: [2, 2] });
    ms.assign([seconds, seconds.slice('::-1')]);
    expect(ms.toArray()).toEqual([
      [5000n, -1000n],
      [-1000n, 5000n],
    ]);
    ms.close();
    seconds.close();
  });
});

describeNumpy('found by review of the nested rows', () => {
  test('bytes and void elements are Uint8Arrays, not rows: lists of them assign and append as numpy', () => {
    const path = join(dir, 'rows-s3.npy');
    const s = openMemmap(path, { mode: 'w+', dtype: 'S3', shape: [0] });
    expect(s.append([Uint8Array.of(97, 98, 99), Uint8Array.of(100)])).toEqual([2]);
    s.assign(s.toArray());
    (s.slice('1:') as NDArray).assign([Uint8Array.of(101, 102)]);
    s.flush();
    expect(python(`import numpy as np, sys; print(np.load(sys.argv[1]).tolist())`, path).trim()).toBe(
      "[b'abc', b'ef']",
    );
    s.close();
  });

  test("NaN stored into bool is True, as numpy's bool(nan)", () => {
    const path = join(dir, 'nan.b1');
    const b = memmap(path, { mode: 'w+', dtype: 'bool', shape: [5] });
    b.assign([NaN, -0, 0.5, 0, 0n]);
    expect(b.toArray()).toEqual([true, false, true, false, false]);
    b.fill(NaN);
    b.set(1, 0);
    b.assign(Float64Array.of(NaN, 0, 1, -0, Infinity));
    b.flush();
    expect(
      python(`import numpy as np; print(np.array([np.nan, 0, 1, -0.0, np.inf]).astype(bool).tolist())`).trim(),
    ).toBe(JSON.stringify(b.toArray()).replace(/true/g, 'True').replace(/false/g, 'False').replace(/,/g, ', '));
    b.close();
  });

  test('shape and size cannot be overwritten, so append() writes the header for the rows it wrote', () => {
    const path = join(dir, 'lying.npy');
    const rec = openMemmap(path, { mode: 'w+', dtype: '<f8', shape: [0, 2] });
    const source = memmap(join(dir, 'lying-src.f8'), { mode: 'w+', dtype: '<f8', shape: [1, 2] });
    source.assign([[1, 2]]);
    expect(() => {
      (source as { shape: readonly number[] }).shape = [100, 2];
    }).toThrow(TypeError);
    expect(source.shape).toEqual([1, 2]);
    expect(rec.append(source)).toEqual([1, 2]);
    rec.flush();
    expect(python(`import numpy as np, sys; print(np.load(sys.argv[1]).tolist())`, path).trim()).toBe('[[1.0, 2.0]]');
    rec.close();
    source.close();
  });

  test('append() reads a row once: a getter that answers differently later cannot dodge the dtype check', () => {
    const rec = openMemmap(join(dir, 'getter.npy'), { mode: 'w+', dtype: '<i4', shape: [0, 2] });
    let reads = 0;
    const rows: unknown[] = [];
    Object.defineProperty(rows, 0, {
      get: () => (reads++ < 2 ? Int16Array.of(1, -2) : Float64Array.of(7.5, 8.5)),
      enumerable: true,
    });
    rows.length = 1;
    rec.append(rows as never);
    expect(rec.toArray()).toEqual([[1, -2]]);
    rec.close();
  });
});

describeNumpy('append() casting refusals say whose rule refuses', () => {
  test("numpy's same_kind refusals cite numpy; casts numpy makes and memmap does not (text, raw bytes, records by position) say so", () => {
    const records: DTypeLike[] = [
      [
        ['a', '<i2'],
        ['b', '<f4'],
      ],
      [
        ['a', '<i4'],
        ['b', '<f8'],
      ],
      [
        ['x', '<i2'],
        ['y', '<f4'],
      ],
      [
        ['a', '<f4'],
        ['b', '<f4'],
      ],
      [['a', '<i2', [2]]],
    ];
    const targets: DTypeLike[] = ['<U5', 'S5', '<i4', '<f4', 'V4', records[1], [['a', '<i4', [2]]]];
    const sources: DTypeLike[] = ['<i4', '<f8', '|b1', '<c8', 'S3', '<U3', '<M8[s]', ...records];
    const pairs = targets.flatMap((t) => sources.map((s) => [s, t]));
    const numpy = pythonJson<boolean[]>(
      `import json, sys, numpy as np
d = lambda x: np.dtype([tuple(f[:2]) + tuple(tuple(v) for v in f[2:]) for f in x]) if isinstance(x, list) else np.dtype(x)
print(json.dumps([bool(np.can_cast(d(s), d(t), 'same_kind')) for s, t in json.loads(sys.argv[1])]))`,
      JSON.stringify(pairs),
    );
    pairs.forEach(([s, t], k) => {
      const a = openMemmap(join(dir, 'cast-target.npy'), { mode: 'w+', dtype: t, shape: [0] });
      const row = memmap(join(dir, 'cast-row.bin'), { mode: 'w+', dtype: s, shape: [1] });
      let message = 'appended';
      try {
        a.append(row);
      } catch (error) {
        message = (error as Error).message;
      }
      // Where numpy casts, the refusal is memmap's own and says so; where numpy refuses,
      // a refusal never claims numpy would cast.
      if (numpy[k] && message !== 'appended')
        expect([s, t, message]).toEqual([s, t, expect.stringMatching(/: memmap (does not|pairs|casts)/)]);
      if (!numpy[k]) {
        expect([s, t, message]).toEqual([
          s,
          t,
          expect.stringMatching(/: (numpy's 'same_kind' casting refuses|memmap)/),
        ]);
        expect([s, t, message]).toEqual([s, t, expect.not.stringMatching(/would/)]);
      }
      a.close();
      row.close();
    });
    const wide = openMemmap(join(dir, 'cast-records.npy'), { mode: 'w+', dtype: records[1], shape: [0] });
    const narrow = memmap(join(dir, 'cast-narrow.bin'), { mode: 'w+', dtype: records[0], shape: [2] });
    narrow.assign([
      { a: -2, b: 1.5 },
      { a: 300, b: 0.1 },
    ]);
    wide.append(narrow);
    expect(wide.toArray()).toEqual([
      { a: -2, b: 1.5 },
      { a: 300, b: Math.fround(0.1) },
    ]);
    wide.close();
    narrow.close();
  });
});

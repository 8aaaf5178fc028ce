/**
 * Issue 11's TypeScript-side reproducers, each a test that failed before its
 * fix: allocations that ended the process, dtypes that overflowed the stack or
 * changed silently, arguments that were ignored, errors without a code,
 * elements straddling a 4 GiB buffer boundary, descriptors that lost record
 * dtypes, postMessage of a memmap. What could crash runs in a child process.
 */
import { closeSync, ftruncateSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { MessageChannel } from 'node:worker_threads';
import { memmap, openMemmap, openNpz, parseDType, StructuredDict } from '../ts/index';
import { cachedCounts } from '../ts/dtype/table';
import { describeNumpy, PACKAGE, python, runNode, tempDir } from './helpers';

const dir = tempDir();
let n = 0;
const temp = (name: string) => join(dir, `${n++}-${name}`);
const coded = (code: string, name?: string) => expect.objectContaining(name ? { code, name } : { code });

describe('copies that would not fit the heap', () => {
  test('toArray() of [1e8, 0] is a RangeError, not a fatal out-of-memory (child process)', () => {
    const path = temp('empty.bin');
    writeFileSync(path, Buffer.alloc(8));
    const result = runNode(
      `const mm = require(${PACKAGE} + '/dist/index.js');
       const fp = mm.memmap(${JSON.stringify(path)}, { dtype: 'uint8', mode: 'r', shape: [1e8, 0] });
       try { fp.toArray(); console.log('no error'); } catch (e) { console.log(e.name, e.code); }`,
      { args: ['--max-old-space-size=256'] },
    );
    expect(result.signal).toBeNull();
    expect(result.stdout.trim()).toBe('RangeError ERR_MEMMAP_TOO_LARGE');
  });

  test('a copy that fits still works, and the empty shapes numpy gives', () => {
    const path = temp('small.bin');
    writeFileSync(path, Buffer.alloc(8));
    expect(memmap(path, { dtype: 'uint8', mode: 'r', shape: [2, 0, 3] }).toArray()).toEqual([[], []]);
    expect(memmap(path, { dtype: 'uint8', mode: 'r', shape: [2, 4] }).toArray()).toEqual([
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ]);
  });
});

describe('dtypes', () => {
  test('a record dtype nested 5000 deep is a coded error, not a stack overflow', () => {
    let spec: unknown = 'u1';
    for (let i = 0; i < 5000; i++) spec = [['f', spec]];
    expect(() => parseDType(spec)).toThrow(coded('ERR_MEMMAP_INVALID_DTYPE', 'TypeError'));
    let fine: unknown = 'u1';
    for (let i = 0; i < 60; i++) fine = [['f', fine]];
    expect(parseDType(fine).itemsize).toBe(1);
  });

  test('every spelling nested 20,000 deep (sub-array form included) is coded ERR_MEMMAP_INVALID_DTYPE', () => {
    const deep = (wrap: (inner: unknown) => unknown, depth: number): unknown => {
      let spec: unknown = 'f8';
      for (let i = 0; i < depth; i++) spec = wrap(spec);
      return spec;
    };
    const forms: [string, (inner: unknown) => unknown][] = [
      ['[format, shape]', (inner) => [inner, [1]]],
      ['list', (inner) => [['a', inner]]],
      ['dict', (inner) => ({ names: ['a'], formats: [inner] })],
      ['field of a sub-array', (inner) => [['a', inner, [1]]]],
    ];
    const codeOf = (spec: unknown): unknown => {
      try {
        parseDType(spec);
        return 'no error';
      } catch (error) {
        return [(error as Error).name, (error as { code?: string }).code];
      }
    };
    for (const [name, wrap] of forms) {
      const expected = [name, ['TypeError', 'ERR_MEMMAP_INVALID_DTYPE']];
      expect([name, codeOf(deep(wrap, 20000))]).toEqual(expected);
      expect([name, codeOf([['a', deep(wrap, 20000)]])]).toEqual(expected);
    }
    // Within the limit: a field that is a sub-array of a sub-array ... 60 deep.
    expect(parseDType([['a', deep((inner) => [inner, [1]], 60)]]).itemsize).toBe(8);
  });

  test('sizes are exact: S9007199254740993 is refused, not rounded to S9007199254740992', () => {
    for (const spelling of ['S9007199254740993', 'S2147483648', 'U536870912', 'V2147483648'])
      expect(() => parseDType(spelling)).toThrow(coded('ERR_MEMMAP_INVALID_DTYPE'));
    expect(parseDType('S2147483647').itemsize).toBe(2147483647);
    expect(parseDType('U536870911').itemsize).toBe(2147483644);
    expect(parseDType('S007').itemsize).toBe(7);
  });

  test('titles equal to a name or another title are refused, as numpy refuses them', () => {
    expect(() => parseDType([[['a', 'a'], 'i4']])).toThrow(coded('ERR_MEMMAP_INVALID_DTYPE'));
    expect(() =>
      parseDType([
        [['b', 'a'], 'i4'],
        ['b', 'i4'],
      ]),
    ).toThrow(coded('ERR_MEMMAP_INVALID_DTYPE'));
    expect(() =>
      parseDType([
        [['t', 'a'], 'i4'],
        [['t', 'b'], 'i4'],
      ]),
    ).toThrow(coded('ERR_MEMMAP_INVALID_DTYPE'));
    expect(
      parseDType([
        [['title', 'a'], 'i4'],
        ['b', 'u1'],
      ]).itemsize,
    ).toBe(5);
  });

  test('a field named __proto__ reads, writes and copies like any other', () => {
    const fp = memmap(temp('proto.bin'), {
      dtype: [
        ['__proto__', '<i4'],
        ['x', 'u1'],
      ],
      mode: 'w+',
      shape: 2,
    });
    fp.set(1, { ['__proto__']: 7, x: 3 });
    const record = fp.get(1) as Record<string, unknown>;
    expect(Object.keys(record)).toEqual(['__proto__', 'x']);
    expect(Object.getOwnPropertyDescriptor(record, '__proto__')?.value).toBe(7);
    expect(Object.getPrototypeOf(record)).toBe(Object.prototype);
    expect(fp.field('__proto__').toArray()).toEqual([0, 7]);
    fp.close();
  });

  test('made dtypes are cached up to a bound: a million widths do not stay in memory', () => {
    for (let i = 1; i <= 5000; i++) parseDType(`S${i}`);
    const { rows, dtypes } = cachedCounts();
    expect(rows).toBeLessThanOrEqual(1024);
    expect(dtypes).toBeLessThanOrEqual(1024);
  });

  test('more than 64 dimensions is numpy\'s error, in shapes and through "None" indices', () => {
    const path = temp('dims.bin');
    writeFileSync(path, Buffer.alloc(1));
    expect(() => memmap(path, { mode: 'r', shape: new Array(65).fill(1) })).toThrow(
      coded('ERR_MEMMAP_OUT_OF_RANGE', 'RangeError'),
    );
    const fp = memmap(path, { mode: 'r', shape: new Array(64).fill(1) });
    expect(fp.ndim).toBe(64);
    expect(() => fp.slice('None, ...')).toThrow(coded('ERR_MEMMAP_INVALID_INDEX'));
    fp.close();
  });
});

describe('arguments', () => {
  const path = temp('args.f32');
  writeFileSync(path, Buffer.from(new Float32Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]).buffer));

  test.each(['__proto__', 'constructor', 'valueOf', 'toString', 'hasOwnProperty'])(
    'mode %j is a coded TypeError, not a lookup of Object.prototype',
    (mode) => {
      expect(() => memmap(path, { mode: mode as 'r' })).toThrow(coded('ERR_MEMMAP_INVALID_MODE', 'TypeError'));
    },
  );

  test.each(['constructor', '__proto__', 'toString'])('dtype %j is a coded TypeError', (dtype) => {
    expect(() => memmap(path, { dtype, mode: 'r' })).toThrow(coded('ERR_MEMMAP_INVALID_DTYPE', 'TypeError'));
  });

  test.each(['file://server/share/x.bin', 'file:///tmp/a%2Fb.bin'])('file URL %s names no local path: coded', (url) => {
    expect(() => memmap(new URL(url), { mode: 'r' })).toThrow(coded('ERR_MEMMAP_INVALID_ARG', 'TypeError'));
  });

  test('bigint indices work on every path (1-D, 2-D, cold or bound), bad ones are coded errors', () => {
    const file = temp('bigint-index.f32');
    writeFileSync(file, new Uint8Array(Float32Array.from({ length: 12 }, (_, k) => k).buffer));
    const one = memmap(file, { dtype: 'float32', mode: 'r+' });
    const two = memmap(file, { dtype: 'float32', mode: 'r+', shape: [3, 4] });
    for (let round = 0; round < 2; round++) {
      expect(one.get(5n)).toBe(5);
      expect(one.get(-1n)).toBe(round === 0 ? 11 : 99);
      expect(two.get(1n, 0)).toBe(4);
      expect(two.get(1, -1n)).toBe(7);
      two.set(2n, 3n, 99 + round);
      expect(one.get(11)).toBe(99 + round);
      for (const bad of [12n, -13n, 2n ** 64n, -(2n ** 70n)]) {
        expect(() => one.get(bad)).toThrow(coded('ERR_MEMMAP_INDEX_OUT_OF_RANGE', 'RangeError'));
        expect(() => two.set(0, bad, 1)).toThrow(coded('ERR_MEMMAP_INDEX_OUT_OF_RANGE', 'RangeError'));
      }
      expect(() => two.get(1n, 0.5)).toThrow(coded('ERR_MEMMAP_INVALID_INDEX', 'TypeError'));
      expect(() => (two.get as (...i: unknown[]) => unknown)(1n)).toThrow(
        coded('ERR_MEMMAP_INVALID_INDEX', 'TypeError'),
      );
      void one.data; // bound on the second round
      void two.data;
    }
    one.close();
    two.close();
  });

  test('arguments a method does not take are errors, never silently ignored', () => {
    const fp = memmap(path, { dtype: 'float32', mode: 'r+', shape: [3, 4] });
    const rejects = (call: () => unknown) => expect(call).toThrow(coded('ERR_MEMMAP_INVALID_ARG', 'TypeError'));
    const any = fp as unknown as Record<string, (...args: unknown[]) => unknown>;
    rejects(() => any.slice.call(fp, 0, 10)); // not rows 0-9
    rejects(() => any.sum.call(fp, {}, 0)); // a second argument
    expect(fp.sum({ axis: 0 }).shape).toEqual([4]); // not the whole-array sum
    rejects(() => any.mean.call(fp, 0));
    rejects(() => any.min.call(fp, 1));
    rejects(() => any.max.call(fp, 1));
    rejects(() => any.fill.call(fp, 1, 2));
    rejects(() => any.toArray.call(fp, 1));
    rejects(() => any.flush.call(fp, true));
    rejects(() => any.close.call(fp, true));
    expect(fp.closed).toBe(false);
    expect(fp.slice('0:2').shape).toEqual([2, 4]);
    fp.close();
  });

  test('async reductions reject unknown arguments too', async () => {
    const fp = memmap(path, { dtype: 'float32', mode: 'r' });
    const any = fp as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    await expect(any.sumAsync.call(fp, {}, 0)).rejects.toEqual(coded('ERR_MEMMAP_INVALID_ARG'));
    await expect(any.sumAsync.call(fp, { axes: 0 })).rejects.toEqual(coded('ERR_MEMMAP_UNKNOWN_OPTION'));
    await expect(any.meanAsync.call(fp, 0)).rejects.toEqual(coded('ERR_MEMMAP_INVALID_ARG'));
    fp.close();
  });

  test('.data of an unaligned one-element field is a coded error, and get() still reads it', () => {
    const file = temp('unaligned.bin');
    const bytes = Buffer.alloc(9);
    bytes.writeDoubleLE(2.5, 1);
    writeFileSync(file, bytes);
    const fp = memmap(file, {
      dtype: [
        ['a', 'u1'],
        ['b', '<f8'],
      ],
      mode: 'r',
      shape: 1,
    });
    const field = fp.field('b');
    expect(() => field.data).toThrow(coded('ERR_MEMMAP_NO_TYPED_ARRAY', 'TypeError'));
    expect(field.get(0)).toBe(2.5);
    fp.close();
  });
});

describe('workers', () => {
  const path = temp('rec.bin');
  const dtype: StructuredDict = {
    names: ['t', 'p', 'sub', 'flags'],
    formats: ['<M8[ns]', '>f8', [[['x', '<i2']], [2]], ['S2', [2]]] as StructuredDict['formats'],
    titles: ['time', null, null, null],
    offsets: [0, 8, 16, 24],
    itemsize: 32,
  };

  test('descriptor() keeps a record dtype (padding, titles, nesting, sub-arrays) through structured clone', () => {
    const fp = memmap(path, { dtype, mode: 'w+', shape: 3 });
    fp.set(2, { t: 5n, p: 1.5, sub: [{ x: 1 }, { x: -2 }], flags: [Uint8Array.of(65), Uint8Array.of(66, 67)] });
    fp.flush();
    const d = structuredClone(fp.slice('1:').descriptor());
    const other = memmap.fromDescriptor(d);
    expect(other.dtype).toBe(fp.dtype);
    expect(other.itemsize).toBe(32);
    expect(other.field('p').get(1)).toBe(1.5);
    expect(other.field('time').get(1)).toBe(5n);
    expect(other.toArray()).toEqual(fp.slice('1:').toArray());
    other.close();
    fp.close();
  });

  test('fromDescriptor refuses a key it does not know (ERR_MEMMAP_UNKNOWN_OPTION), opening nothing', () => {
    const fp = memmap(path, { dtype, mode: 'r' });
    const d = fp.descriptor();
    expect(() => memmap.fromDescriptor({ ...d, extra: 1 } as never)).toThrow(
      coded('ERR_MEMMAP_UNKNOWN_OPTION', 'TypeError'),
    );
    expect(() => memmap.fromDescriptor({ ...d, extra: 1 } as never)).toThrow(/"extra"/);
    const same = memmap.fromDescriptor(d);
    expect(same.shape).toEqual(fp.shape);
    same.close();
    fp.close();
  });

  test('postMessage(fp) is a DataCloneError that says to send descriptor(), not a dump of get()', () => {
    const fp = memmap(path, { dtype, mode: 'r' });
    const { port1, port2 } = new MessageChannel();
    try {
      let thrown: unknown = null;
      try {
        port1.postMessage(fp);
      } catch (error) {
        thrown = error;
      }
      expect((thrown as Error).name).toBe('DataCloneError');
      expect((thrown as Error).message).toMatch(/descriptor\(\)/);
      expect((thrown as Error).message).not.toMatch(/function|=>/);
    } finally {
      port1.close();
      port2.close();
      fp.close();
    }
  });
});

describe('elements that straddle a buffer boundary', () => {
  // Small chunks stand for 4 GiB ones: the arithmetic is the same (and the
  // sparse 8 GiB test below checks the real boundaries).
  const itemsizes = [
    'S3',
    'V5',
    'S7',
    'U3',
    'S20',
    [
      ['t', '<i8'],
      ['p', '<f8'],
      ['s', '<u4'],
      ['f', 'S4'],
    ],
  ];

  test('with 4096-byte chunks, records of every awkward itemsize read and write whole (child process)', () => {
    const path = temp('straddle.bin');
    const result = runNode(
      `const mm = require(${PACKAGE} + '/dist/index.js');
       const fs = require('fs');
       const out = [];
       for (const dtype of ${JSON.stringify(itemsizes)}) {
         const fp = mm.memmap(${JSON.stringify(path)}, { dtype, mode: 'w+', shape: 3000 });
         const isize = fp.itemsize;
         const text = fp.dtype.includes('U');
         const value = (i) => fp.dtypeObject.fields ? { t: BigInt(i), p: i / 2, s: i, f: Uint8Array.from(Buffer.from('ab' + (i % 10))) }
           : text ? 'x' + (i % 100) : Uint8Array.from([1 + (i % 200), 2, 3, 4, 5, 6, 7].slice(0, Math.min(isize, 7)));
         for (let i = 0; i < 3000; i++) fp.set(i, value(i));
         // Elements around each 4096-byte boundary, and every element once, read back.
         let bad = 0;
         for (let i = 0; i < 3000; i++) if (JSON.stringify(fp.get(i), (k, v) => typeof v === 'bigint' ? String(v) : v) !== JSON.stringify(value(i), (k, v) => typeof v === 'bigint' ? String(v) : v)) bad++;
         // A view through a descriptor at an odd offset: its elements straddle chunks, and still read whole.
         const view = mm.memmap.fromDescriptor(fp.slice('1:').descriptor());
         let badView = 0;
         for (let i = 0; i < 2999; i++) if (JSON.stringify(view.get(i), (k, v) => typeof v === 'bigint' ? String(v) : v) !== JSON.stringify(fp.get(i + 1), (k, v) => typeof v === 'bigint' ? String(v) : v)) badView++;
         const copy = view.toArray().length;
         view.close();
         fp.close();
         out.push([isize, bad, badView, copy]);
       }
       console.log(JSON.stringify(out));`,
      { env: { MEMMAP_CHUNK_BYTES: '4096' } },
    );
    expect(result.stderr).toBe('');
    const rows = JSON.parse(result.stdout) as number[][];
    for (const [, bad, badView, copy] of rows) expect([bad, badView, copy]).toEqual([0, 0, 2999]);
    expect(rows.map((r) => r[0])).toEqual([3, 5, 7, 12, 20, 24]);
  });

  test('a failed record write across a boundary leaves the record as it was', () => {
    const path = temp('half.bin');
    const result = runNode(
      `const mm = require(${PACKAGE} + '/dist/index.js');
       const fp = mm.memmap(${JSON.stringify(path)}, { dtype: [['a', '<i8'], ['b', '<i8'], ['c', '<i8']], mode: 'w+', shape: 400 });
       const d = mm.memmap.fromDescriptor(fp.slice('1:').descriptor());
       const i = 169; // its record spans the 4096-byte boundary of the view's chunks
       try { d.set(i, { a: 1, b: 2, c: 'not a number' }); } catch (e) { console.log(e.code); }
       console.log(JSON.stringify(d.get(i), (k, v) => typeof v === 'bigint' ? String(v) : v));
       fp.close();`,
      { env: { MEMMAP_CHUNK_BYTES: '4096' } },
    );
    expect(result.stdout.trim().split('\n')).toEqual(['ERR_MEMMAP_INVALID_ARG', '{"a":"0","b":"0","c":"0"}']);
  });

  test.each([3, 5, 7, 12, 20, 24])('itemsize %i at the 4 GiB and 8 GiB boundaries of a sparse file', (itemsize) => {
    const path = temp(`sparse-${itemsize}.bin`);
    const fd = openSync(path, 'w');
    ftruncateSync(fd, 9 * 2 ** 30);
    closeSync(fd);
    const fp = memmap(path, {
      dtype: `V${itemsize}`,
      mode: 'r+',
      shape: Math.floor((9 * 2 ** 30) / itemsize),
      sparse: true, // r+ would reserve the 9 GiB of holes otherwise
    });
    const marks: number[] = [];
    for (const boundary of [2 ** 32, 2 ** 33]) {
      const first = Math.floor(boundary / itemsize) - 1;
      for (let i = first; i < first + 3; i++) marks.push(i);
    }
    for (const i of marks)
      fp.set(
        i,
        Uint8Array.from({ length: itemsize }, (_, k) => 1 + ((i + k) % 250)),
      );
    for (const i of marks)
      expect(Array.from(fp.get(i) as Uint8Array)).toEqual(
        Array.from({ length: itemsize }, (_, k) => 1 + ((i + k) % 250)),
      );
    // The buffers end on the element grid: the two elements before the first
    // buffer's end have data, and the element after it starts the next buffer.
    const perBuffer = Math.floor(2 ** 32 / itemsize);
    expect(fp.slice(`${perBuffer - 2}:${perBuffer}`).data.length).toBe(2 * itemsize);
    expect(fp.slice(`${perBuffer}:${perBuffer + 2}`).data.length).toBe(2 * itemsize);
    fp.flush();
    fp.close();
    const check = openSync(path, 'r');
    for (const i of marks) {
      const bytes = Buffer.alloc(itemsize);
      readSync(check, bytes, 0, itemsize, i * itemsize);
      expect(Array.from(bytes)).toEqual(Array.from({ length: itemsize }, (_, k) => 1 + ((i + k) % 250)));
    }
    closeSync(check);
  });
});

describeNumpy('numpy agrees', () => {
  test('numpy refuses the titles and sizes refused here', () => {
    const out = python(`
import numpy as np
for spec in [[(('a','a'),'i4')], [(('b','a'),'i4'),('b','i4')], 'S9007199254740993', 'S2147483648']:
    try:
        np.dtype(spec); print('ok')
    except (TypeError, ValueError):
        print('refused')
`);
    expect(out.trim().split('\n')).toEqual(['refused', 'refused', 'refused', 'refused']);
  });

  test('the record descriptor round trip matches the file numpy reads', () => {
    const path = temp('np-rec.bin');
    const fp = memmap(path, {
      dtype: [
        ['a', '<i4'],
        ['b', '<f8'],
      ],
      mode: 'w+',
      shape: 2,
    });
    fp.set(1, { a: 3, b: 0.25 });
    fp.flush();
    const other = memmap.fromDescriptor(fp.descriptor());
    const seen = python(`import numpy as np; print(np.fromfile('${path}', dtype=[('a','<i4'),('b','<f8')]).tolist())`);
    expect(seen.trim()).toBe('[(0, 0.0), (3, 0.25)]');
    expect(other.toArray()).toEqual([
      { a: 0, b: 0 },
      { a: 3, b: 0.25 },
    ]);
    other.close();
    fp.close();
    void readFileSync;
  });
});

/**
 * A TypedArray's own properties may lie (`length`, `byteLength`,
 * `byteOffset`, `buffer`, `constructor`, even its prototype): every path
 * that reads or writes its bytes takes them from the engine's getters, so
 * it is treated exactly as the real one, or refused with a code, never
 * counted one way and written another.
 */
describe('TypedArrays whose own properties lie', () => {
  const lie = <T extends object>(typed: T, key: string, value: unknown): T => {
    Object.defineProperty(typed, key, { value });
    return typed;
  };

  test('append(): the rows in the header are the rows written (length, constructor, bytes, prototype)', () => {
    const path = temp('lying.npy');
    const a = openMemmap(path, { mode: 'w+', dtype: 'float64', shape: [0] });
    a.append(Float64Array.of(1, 2));
    expect(a.append(lie(Float64Array.of(3, 4), 'length', 4096))).toEqual([4]);
    // A Float32Array that says it is a Float64Array: its four float32 values, cast.
    expect(a.append(lie(Float32Array.of(5, 6, 7, 8), 'constructor', Float64Array))).toEqual([8]);
    const liar = Float64Array.of(9, 10);
    lie(liar, 'byteLength', 4096);
    lie(liar, 'byteOffset', 8);
    lie(liar, 'buffer', new ArrayBuffer(64));
    expect(a.append(liar)).toEqual([10]);
    expect(a.append(Object.setPrototypeOf(Float32Array.of(11), Float64Array.prototype) as Float64Array)).toEqual([11]);
    expect(a.toArray()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(a.nbytes).toBe(88);
    a.close();
    const header = readFileSync(path).length - 88;
    const again = openMemmap(path, { mode: 'r' });
    expect(again.shape).toEqual([11]);
    expect(again.offset).toBe(header);
    expect(again.get(-1)).toBe(11);
    again.close();
  });

  test("append(): a constructor claiming an allowed kind does not get a refused one in (nor a row's)", () => {
    const a = openMemmap(temp('ints.npy'), { mode: 'w+', dtype: 'int32', shape: [0, 2] });
    expect(() => a.append(lie(Float64Array.of(1.5, 2.5), 'constructor', Int32Array))).toThrow(
      coded('ERR_MEMMAP_INVALID_DTYPE'),
    );
    expect(() => a.append([lie(Float64Array.of(1.5, 2.5), 'constructor', Int32Array)])).toThrow(
      coded('ERR_MEMMAP_INVALID_DTYPE'),
    );
    expect(a.shape).toEqual([0, 2]);
    // A row whose length lies is its real length: one row of two.
    expect(a.append([lie(Int32Array.of(1, 2), 'length', 1)])).toEqual([1, 2]);
    expect(() => a.append([lie(Int32Array.of(1, 2, 3), 'length', 2)])).toThrow(coded('ERR_MEMMAP_SHAPE_MISMATCH'));
    expect(a.toArray()).toEqual([[1, 2]]);
    a.close();
  });

  test('assign(): the values are the real ones, however many the length says', () => {
    const a = memmap(temp('assign.f8'), { dtype: 'float64', mode: 'w+', shape: [4] });
    a.assign(lie(Float64Array.of(1, 2, 3, 4), 'length', 2));
    expect(a.toArray()).toEqual([1, 2, 3, 4]);
    expect(() => a.assign(lie(Float64Array.of(5, 6), 'length', 4))).toThrow(coded('ERR_MEMMAP_SHAPE_MISMATCH'));
    a.assign(lie(Float32Array.of(1.5, 2.5, 3.5, 4.5), 'constructor', Float64Array));
    expect(a.toArray()).toEqual([1.5, 2.5, 3.5, 4.5]);
    a.assign(lie(lie(Float64Array.of(9, 8, 7, 6), 'byteLength', 8), 'byteOffset', 16));
    expect(a.toArray()).toEqual([9, 8, 7, 6]);
    const b = memmap(temp('assign2.f8'), { dtype: 'float64', mode: 'w+', shape: [2, 2] });
    b.assign([lie(Float64Array.of(1, 2), 'length', 1), Float64Array.of(3, 4)]);
    expect(b.toArray()).toEqual([
      [1, 2],
      [3, 4],
    ]);
    a.close();
    b.close();
  });

  test('write(): the count written is the real length; a lying kind is refused by its real name', () => {
    const a = memmap(temp('write.f8'), { dtype: 'float64', mode: 'w+', shape: [4] });
    a.write(0, lie(Float64Array.of(7, 8), 'length', 4));
    expect(a.toArray()).toEqual([7, 8, 0, 0]);
    a.write(0, lie(Float64Array.of(1, 2, 3, 4), 'byteLength', 8));
    expect(a.toArray()).toEqual([1, 2, 3, 4]);
    expect(() => a.write(2, lie(Float64Array.of(1, 2, 3), 'length', 2))).toThrow(coded('ERR_MEMMAP_OUT_OF_RANGE'));
    const posing = lie(Float32Array.of(5, 6), 'constructor', Float64Array);
    expect(() => a.write(0, posing as unknown as Float64Array)).toThrow(coded('ERR_MEMMAP_INVALID_ARG'));
    expect(() => a.write(0, posing as unknown as Float64Array)).toThrow(/got \[object Float32Array\]/);
    const swapped = Object.setPrototypeOf(Float32Array.of(5, 6), Float64Array.prototype) as Float64Array;
    expect(() => a.write(0, swapped)).toThrow(coded('ERR_MEMMAP_INVALID_ARG'));
    expect(a.toArray()).toEqual([1, 2, 3, 4]);
    a.close();
  });

  test('fill() and set() of bytes take the real bytes; record sub-arrays the real values', () => {
    const s = memmap(temp('bytes.S4'), { dtype: 'S4', mode: 'w+', shape: [2] });
    s.fill(lie(lie(Uint8Array.of(65, 66), 'byteLength', 4096), 'length', 4096));
    s.set(1, lie(Uint8Array.of(67), 'buffer', Uint8Array.of(1, 2, 3, 4).buffer));
    expect(s.toArray().map((v) => Buffer.from(v as Uint8Array).toString('latin1'))).toEqual(['AB', 'C']);
    s.close();
    const r = memmap(temp('rec.bin'), { dtype: [['v', '<f8', [2]]], mode: 'w+', shape: [1] });
    const values = lie(Float64Array.of(1, 2), 'length', 1);
    lie(values, Symbol.iterator as unknown as string, function* () {
      yield 99;
    });
    r.set(0, { v: values as never });
    expect(r.get(0)).toEqual({ v: [1, 2] });
    r.close();
  });

  test('a shape given as a TypedArray is its real values; a descriptor path its real bytes', () => {
    const path = temp('shape.f8');
    const a = memmap(path, { dtype: 'float64', mode: 'w+', shape: lie(Int32Array.of(2, 3), 'length', 1) as never });
    expect(a.shape).toEqual([2, 3]);
    const d = a.descriptor();
    const b = memmap.fromDescriptor({ ...d, pathBytes: lie(Buffer.from(d.path), 'length', 1) });
    expect(b.shape).toEqual([2, 3]);
    b.close();
    a.close();
  });
});

/**
 * Every options object of the API is a plain object whose own properties are
 * the options: an inherited property is never read (nor a typo in one
 * ignored), a Map or class instance is ERR_MEMMAP_INVALID_ARG, a symbol key
 * ERR_MEMMAP_UNKNOWN_OPTION.
 */
describe('options objects: own properties of a plain object only', () => {
  const path = temp('opts.f8');
  const invalid = coded('ERR_MEMMAP_INVALID_ARG', 'TypeError');
  const unknown = coded('ERR_MEMMAP_UNKNOWN_OPTION', 'TypeError');
  class Options {
    axis = 0;
  }

  test('reductions: inherited, Map, class instance and symbol keys are errors naming the argument', async () => {
    const a = memmap(path, { dtype: 'float64', mode: 'w+', shape: [2, 4] });
    a.assign([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ]);
    const any = a as unknown as Record<string, (options: unknown) => unknown>;
    for (const op of ['sum', 'mean', 'max', 'argmin', 'std', 'countNonzero']) {
      expect(() => any[op].call(a, Object.create({ axes: 0 }))).toThrow(invalid);
      expect(() => any[op].call(a, Object.create({ axis: 0 }))).toThrow(invalid);
      expect(() => any[op].call(a, new Map([['axis', 0]]))).toThrow(invalid);
      expect(() => any[op].call(a, new Options())).toThrow(invalid);
      expect(() => any[op].call(a, { [Symbol('axis')]: 0 })).toThrow(unknown);
    }
    expect(() => any.sum.call(a, new Map([['axis', 0]]))).toThrow(/sum\(\) options must be a plain object/);
    expect(() => any.sum.call(a, { [Symbol('axis')]: 0 })).toThrow(/Symbol\(axis\)/);
    const hidden = {};
    Object.defineProperty(hidden, 'axes', { value: 0 });
    expect(() => any.sum.call(a, hidden)).toThrow(unknown);
    await expect(
      (a as unknown as Record<string, (o: unknown) => Promise<unknown>>).sumAsync.call(a, Object.create({ axis: 0 })),
    ).rejects.toEqual(invalid);
    await expect(
      (a as unknown as Record<string, (o: unknown) => Promise<unknown>>).sumAsync.call(a, { [Symbol('signal')]: 0 }),
    ).rejects.toEqual(unknown);
    // Plain objects of every making still work: spread, Object.create(null), another realm's.
    expect(a.sum({ ...{ axis: 0 } }).toArray()).toEqual([6, 8, 10, 12]);
    expect(a.sum(Object.assign(Object.create(null) as object, { axis: 1 }) as { axis: number }).toArray()).toEqual([
      10, 26,
    ]);
    expect(a.sum(runInNewContext('({ axis: 0, keepdims: true })') as { axis: 0; keepdims: true }).shape).toEqual([
      1, 4,
    ]);
    expect(a.sum(structuredClone({ axis: 0 })).toArray()).toEqual([6, 8, 10, 12]);
    // A polluted Object.prototype is not an option.
    const proto = Object.prototype as Record<string, unknown>;
    proto.axis = 1;
    try {
      expect(a.sum({})).toBe(36);
    } finally {
      delete proto.axis;
    }
    a.close();
  });

  test('where that does not broadcast names the option and the method', () => {
    const a = memmap(path, { dtype: 'float64', mode: 'r', shape: [2, 4] });
    const mismatch = coded('ERR_MEMMAP_SHAPE_MISMATCH');
    expect(() => a.sum({ where: [true, false, true] })).toThrow(mismatch);
    expect(() => a.sum({ where: [true, false, true] })).toThrow(
      "sum(): where of shape [3] cannot be broadcast to the array's shape [2, 4]",
    );
    expect(() => a.mean({ where: [[true], [false], [true]] })).toThrow(
      "mean(): where of shape [3, 1] cannot be broadcast to the array's shape [2, 4]",
    );
    expect(() => a.any({ where: [[[true, true, true, true]]] })).toThrow(
      "any(): where of shape [1, 1, 4] cannot be broadcast to the array's shape [2, 4]",
    );
    expect(a.sum({ where: [true, false, true, false] })).toBe(1 + 3 + 5 + 7);
    a.close();
  });

  test('memmap, openMemmap, append, toArray, astype, blocks, openNpz, fromDescriptor follow the same rule', () => {
    const npy = temp('opts.npy');
    openMemmap(npy, { mode: 'w+', dtype: 'float64', shape: [0] }).close();
    expect(() => memmap(path, Object.create({ mode: 'r' }) as never)).toThrow(invalid);
    expect(() => memmap(path, new Map([['mode', 'r']]) as never)).toThrow(invalid);
    expect(() => memmap(path, { [Symbol('mode')]: 'r' } as never)).toThrow(unknown);
    expect(() => openMemmap(npy, Object.create({ mode: 'r' }) as never)).toThrow(invalid);
    expect(() => openMemmap(npy, { [Symbol('mode')]: 'r' } as never)).toThrow(unknown);
    const g = openMemmap(npy, { ...{ mode: 'r+' as const } });
    expect(() => g.append([1], Object.create({ sync: true }) as never)).toThrow(invalid);
    expect(() => g.append([1], { [Symbol('sync')]: true } as never)).toThrow(unknown);
    expect(g.shape).toEqual([0]);
    expect(g.append([1], Object.assign(Object.create(null) as object, { sync: false }))).toEqual([1]);
    g.close();
    const a = memmap(
      path,
      Object.assign(Object.create(null) as object, { dtype: 'float64', mode: 'r', shape: [2, 4] } as const),
    );
    expect(() => a.toArray(new Map() as never)).toThrow(invalid);
    expect(() => a.toArray(Object.create({ dates: true }) as never)).toThrow(invalid);
    expect(() => a.astype('float32', Object.create({ casting: 'unsafe' }) as never)).toThrow(invalid);
    expect(() => a.blocks(Object.create({ rows: 1 }) as never)).toThrow(invalid);
    expect(() => a.blocks({ [Symbol('rows')]: 1 } as never)).toThrow(unknown);
    expect([...a.blocks({ ...{ rows: 1 } })].length).toBe(2);
    const d = a.descriptor();
    expect(() => memmap.fromDescriptor(Object.create(d) as never)).toThrow(invalid);
    expect(() => memmap.fromDescriptor({ ...d, [Symbol('extra')]: 1 })).toThrow(unknown);
    a.close();
    const npz = temp('opts.npz');
    const spec = Object.create({ dtype: 'f8' }) as { shape: number[] };
    spec.shape = [2];
    expect(() => openNpz(npz, { mode: 'w+', members: { x: spec } })).toThrow(invalid);
    openNpz(npz, { mode: 'w+', members: { x: { dtype: 'f8', shape: [2] } } }).close();
    expect(() => openNpz(npz, Object.create({ mode: 'r' }) as never)).toThrow(invalid);
    const archive = openNpz(npz, { ...{ mode: 'r' as const } });
    expect(() => archive.get('x', Object.create({ decompress: true }) as never)).toThrow(invalid);
    expect(archive.get('x').shape).toEqual([2]);
    archive.close();
  });
});

/**
 * Issue 11's TypeScript-side reproducers, each a test that failed before its
 * fix: allocations that ended the process, dtypes that overflowed the stack or
 * changed silently, arguments that were ignored, errors without a code,
 * elements straddling a 4 GiB buffer boundary, descriptors that lost record
 * dtypes, postMessage of a memmap. What could crash runs in a child process.
 */
import { closeSync, ftruncateSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { memmap, parseDType, StructuredDict } from '../ts/index';
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

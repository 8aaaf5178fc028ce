/**
 * numpy is the oracle. Files numpy wrote (committed fixtures, and live ones
 * when numpy imports) read back equal here; files written here read back
 * equal in numpy; file sizes after w+ and r+ match numpy's.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { memmap, openMemmap } from '../ts/index';
import { describeNumpy, FIXTURES, python, pythonJson, tempDir, toJson } from './helpers';

interface RawFixture {
  file: string;
  dtype: string;
  str: string;
  shape: number[];
  order: 'C' | 'F';
  offset: number;
  values: unknown;
}

const raw: RawFixture[] = JSON.parse(readFileSync(join(FIXTURES, 'raw', 'manifest.json'), 'utf8'));
const dir = tempDir();

describe('files written by numpy (committed fixtures)', () => {
  test.each(raw.map((f) => [f.file, f] as const))('%s reads back equal', (_name, fixture) => {
    const fp = memmap(join(FIXTURES, 'raw', fixture.file), {
      dtype: fixture.dtype,
      mode: 'r',
      shape: fixture.shape,
      order: fixture.order,
      offset: fixture.offset,
    });
    expect(fp.dtype).toBe(fixture.str);
    expect(toJson(fp.toArray())).toEqual(fixture.values);
    fp.close();
  });

  test('every dtype is covered in both byte orders and both orders', () => {
    const dtypes = new Set(raw.map((f) => f.dtype));
    expect(dtypes.size).toBe(25);
    expect(new Set(raw.map((f) => f.order))).toEqual(new Set(['C', 'F']));
  });
});

describeNumpy('live round trips with numpy', () => {
  const DTYPES = pythonJson<string[]>('import json, numpy_json; print(json.dumps(numpy_json.DTYPES))');

  test.each(DTYPES)('numpy writes %s (random, both orders, odd offsets); memmap reads it equal', (descr) => {
    for (const [order, offset, shape] of [
      ['C', 0, [5, 3]],
      ['F', 7, [2, 3, 4]],
      ['C', 4097, [11]],
    ] as const) {
      const path = join(dir, `np-${descr.replace(/[<>|]/g, '_')}-${order}-${offset}.bin`);
      const expected = JSON.parse(
        python(
          `
import sys, json, numpy as np, numpy_json
path, descr, order, offset, shape = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), tuple(json.loads(sys.argv[5]))
data = numpy_json.sample(descr, shape, seed=offset)
fp = np.memmap(path, dtype=descr, mode='w+', shape=shape, order=order, offset=offset)
fp[...] = data
fp.flush()
print(json.dumps(numpy_json.to_json(np.asarray(fp))))
`,
          path,
          descr,
          order,
          String(offset),
          JSON.stringify(shape),
        ),
      );
      const fp = memmap(path, { dtype: descr, mode: 'r', shape: [...shape], order, offset });
      expect(toJson(fp.toArray())).toEqual(expected);
      fp.close();
    }
  });

  test.each(DTYPES)('memmap writes %s; numpy reads it equal', (descr) => {
    const source = join(FIXTURES, 'raw', raw.find((f) => f.dtype === descr)!.file);
    const fixture = raw.find((f) => f.dtype === descr)!;
    const path = join(dir, `js-${descr.replace(/[<>|]/g, '_')}.bin`);
    const src = memmap(source, {
      dtype: descr,
      mode: 'r',
      shape: fixture.shape,
      order: fixture.order,
      offset: fixture.offset,
    });
    const out = memmap(path, { dtype: descr, mode: 'w+', shape: [3, 4], order: 'F', offset: 5 });
    out.assign(src);
    out.close();
    src.close();
    const numpySees = pythonJson(
      `
import sys, json, numpy as np, numpy_json
fp = np.memmap(sys.argv[1], dtype=sys.argv[2], mode='r', shape=(3, 4), order='F', offset=5)
print(json.dumps(numpy_json.to_json(np.asarray(fp))))
`,
      path,
      descr,
    );
    expect(numpySees).toEqual(fixture.values);
  });

  test('file sizes after w+ and r+ match numpy', () => {
    const cases: [string, string, number, number[], number][] = [
      ['w+', 'float32', 0, [3, 4], 0],
      ['w+', 'int16', 3, [7], 0],
      ['w+', 'complex128', 4096, [2, 2], 0],
      ['r+', 'float64', 0, [10], 5],
      ['r+', 'uint8', 100, [1], 10],
      ['r+', 'int32', 8, [2], 100], // already long enough: unchanged
    ];
    for (const [mode, dtype, offset, shape, initial] of cases) {
      const ours = join(dir, `size-js-${mode}-${dtype}-${offset}`);
      const theirs = join(dir, `size-np-${mode}-${dtype}-${offset}`);
      writeFileSync(ours, Buffer.alloc(initial, 1));
      writeFileSync(theirs, Buffer.alloc(initial, 1));
      memmap(ours, { mode: mode as 'w+', dtype, offset, shape }).close();
      python(
        `
import sys, json, numpy as np
fp = np.memmap(sys.argv[1], mode=sys.argv[2], dtype=sys.argv[3], offset=int(sys.argv[4]), shape=tuple(json.loads(sys.argv[5])))
fp.flush(); del fp
`,
        theirs,
        mode,
        dtype,
        String(offset),
        JSON.stringify(shape),
      );
      expect([mode, dtype, statSync(ours).size]).toEqual([mode, dtype, statSync(theirs).size]);
      expect(readFileSync(ours)).toEqual(readFileSync(theirs));
    }
  });

  test('copy-on-write and read-only maps leave the file exactly as numpy leaves it', () => {
    const path = join(dir, 'cow.bin');
    python(`import numpy as np, sys; np.arange(6, dtype='<i4').tofile(sys.argv[1])`, path);
    const before = readFileSync(path);
    const fpc = memmap(path, { dtype: 'int32', mode: 'c' });
    fpc.fill(-1);
    fpc.flush();
    expect(fpc.get(5)).toBe(-1);
    fpc.close();
    const fpr = memmap(path, { dtype: 'int32', mode: 'r' });
    (fpr.data as Int32Array)[0] = 99; // a stray write through data: private memory only
    fpr.close();
    expect(readFileSync(path)).toEqual(before);
    expect(
      pythonJson(
        `import numpy as np, sys, json; print(json.dumps(np.fromfile(sys.argv[1], dtype='<i4').tolist()))`,
        path,
      ),
    ).toEqual([0, 1, 2, 3, 4, 5]);
  });
});

describeNumpy('property-based: generated dtype/shape/order/offset/slice combinations against numpy', () => {
  const DTYPES = ['|b1', '|i1', '<u2', '>i4', '<i8', '>u8', '<f2', '>f4', '<f8', '<c8', '>c16'];
  const dim = fc.integer({ min: 0, max: 5 });
  const bound = fc.option(fc.integer({ min: -6, max: 6 }), { nil: undefined });
  const sliceItem = fc.oneof(
    fc.integer({ min: -2, max: 1 }).map(String),
    fc
      .tuple(bound, bound, fc.constantFrom(undefined, 1, 2, -1, -2))
      .map(([a, b, c]) => `${a ?? ''}:${b ?? ''}${c === undefined ? '' : `:${c}`}`),
  );
  const combos = fc.sample(
    fc.record({
      dtype: fc.constantFrom(...DTYPES),
      shape: fc.array(dim, { minLength: 0, maxLength: 3 }),
      order: fc.constantFrom('C' as const, 'F' as const),
      offset: fc.integer({ min: 0, max: 70 }),
      index: fc.array(sliceItem, { maxLength: 3 }),
      seed: fc.nat(1000),
    }),
    { numRuns: 120, seed: 7 },
  );
  const cases = combos.map((c, i) => ({
    ...c,
    path: join(dir, `prop${i}.bin`),
    index: c.index.slice(0, c.shape.length).join(', '),
  }));
  const numpy = pythonJson<({ values: unknown; shape: number[]; strides: number[] } | { error: string })[]>(
    `
import sys, json, numpy as np, numpy_json
out = []
for c in json.loads(sys.argv[1]):
    shape = tuple(c['shape'])
    fp = np.memmap(c['path'], dtype=c['dtype'], mode='w+', shape=shape, order=c['order'], offset=c['offset'])
    fp[...] = numpy_json.sample(c['dtype'], shape, seed=c['seed'])
    fp.flush()
    try:
        v = eval('fp[' + c['index'] + ']') if c['index'] else fp[...]
        v = np.asarray(v)
        out.append({'values': numpy_json.to_json(v), 'shape': list(v.shape), 'strides': list(v.strides) if v.ndim else []})
    except IndexError as e:
        out.append({'error': str(e)})
    del fp
print(json.dumps(out))
`,
    JSON.stringify(cases),
  );

  test.each(cases.map((c, i) => [i, c.dtype, c.order, c.offset, c.shape.join('x'), c.index, c] as const))(
    '#%i %s %s offset %i shape %s [%s]',
    (i, _d, _o, _off, _s, _idx, c) => {
      const expected = numpy[i];
      const fp = memmap(c.path, { dtype: c.dtype, mode: 'r', shape: c.shape, order: c.order, offset: c.offset });
      try {
        if ('error' in expected) {
          expect(() => fp.slice(c.index)).toThrow(expect.objectContaining({ code: 'ERR_MEMMAP_INDEX_OUT_OF_RANGE' }));
          return;
        }
        const view = c.index ? fp.slice(c.index) : fp;
        expect(view.shape).toEqual(expected.shape);
        if (view.ndim && view.size) expect(view.strides).toEqual(expected.strides);
        expect(toJson(view.toArray())).toEqual(expected.values);
      } finally {
        fp.close();
      }
    },
  );
});

describeNumpy('bigints into float32 and complex64 round once, as numpy casts int64 and uint64', () => {
  // Number() first rounds to float64, and the store rounds again: 2^60 + 2^36 + 1
  // became 2^60 where numpy gives 2^60 + 2^37 (an adversarial review).
  test('set, fill, assign and append against np.float32(np.int64(v)) / np.uint64', () => {
    const values: bigint[] = [2n ** 60n + 2n ** 36n + 1n, -(2n ** 60n + 2n ** 36n + 1n), 2n ** 63n - 1n, -(2n ** 63n)];
    for (let k = 0; k < 300; k++) {
      // Random magnitudes, many just past a halfway point between two float32 values.
      const bits = 54 + (k % 10);
      let v = 0n;
      for (let b = 0; b < bits; b++) v = (v << 1n) | (Math.random() < 0.5 ? 1n : 0n);
      if (k % 3 === 0) v = ((v >> 40n) << 40n) | (1n << 39n) | BigInt(k % 2);
      values.push(k % 2 === 0 ? v : -v);
    }
    const unsigned = [2n ** 64n - 1n, 2n ** 63n + 2n ** 39n + 1n, 2n ** 64n - 2n ** 39n];
    const want = pythonJson<string[][]>(
      `
import json, sys, numpy as np
signed, unsigned = json.loads(sys.argv[1]), json.loads(sys.argv[2])
f4 = lambda a: [repr(float(x)) for x in a.astype(np.float32)]
print(json.dumps([f4(np.array([int(v) for v in signed], np.int64)), f4(np.array([int(v) for v in unsigned], np.uint64))]))`,
      JSON.stringify(values.map(String)),
      JSON.stringify(unsigned.map(String)),
    );
    const expected = [...want[0], ...want[1]].map(Number);
    const all = [...values, ...unsigned];
    const f = memmap(join(dir, 'bigint-f4.bin'), { dtype: 'float32', mode: 'w+', shape: [all.length] });
    const c = memmap(join(dir, 'bigint-c8.bin'), { dtype: '>c8', mode: 'w+', shape: [all.length] });
    all.forEach((v, i) => {
      f.set(i, v);
      c.set(i, v);
    });
    expect(Array.from(f.data as Float32Array)).toEqual(expected);
    expect(Array.from(c.toArray() as { re: number }[], (z) => z.re)).toEqual(expected);
    f.fill(0);
    f.slice(`:${values.length}`).assign(BigInt64Array.from(values));
    f.slice(`${values.length}:`).assign(BigUint64Array.from(unsigned));
    expect(Array.from(f.data as Float32Array)).toEqual(expected);
    const one = f.slice('0:1');
    one.fill(values[0]);
    expect(one.get(0)).toBe(expected[0]);
    f.close();
    c.close();
    const rows = openMemmap(join(dir, 'bigint-c8.npy'), { mode: 'w+', dtype: 'complex64', shape: [0] });
    rows.append(BigInt64Array.from(values));
    expect(Array.from(rows.toArray() as { re: number }[], (z) => z.re)).toEqual(want[0].map(Number));
    rows.close();
  });

  test('past int64 and uint64 a bigint is a Python int: rounded through float64, as numpy stores one', () => {
    const values = [2n ** 127n + 2n ** 103n + 1n, -(2n ** 100n + 2n ** 76n + 1n), 2n ** 64n + 2n ** 40n + 1n];
    const want = pythonJson<string[]>(
      `
import json, sys, numpy as np
a = np.zeros(3, np.float32)
for i, v in enumerate(json.loads(sys.argv[1])): a[i] = int(v)
print(json.dumps([repr(float(x)) for x in a]))`,
      JSON.stringify(values.map(String)),
    );
    const f = memmap(join(dir, 'python-int-f4.bin'), { dtype: 'float32', mode: 'w+', shape: [values.length] });
    values.forEach((v, i) => f.set(i, v));
    expect(Array.from(f.data as Float32Array)).toEqual(want.map(Number));
    f.assign(values);
    expect(Array.from(f.data as Float32Array)).toEqual(want.map(Number));
    f.close();
  });
});

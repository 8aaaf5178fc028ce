/** Native reductions against numpy: every dtype, strided views, NaN, empty views, async. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DTypeLike, memmap, Memmap } from '../ts/index';
import { describeNumpy, pythonJson, tempDir, toJson } from './helpers';

const dir = tempDir();

function close(actual: unknown, expected: unknown, descr: string): void {
  const tolerance = descr.endsWith('f2') ? 1e-2 : descr.endsWith('f4') || descr.endsWith('c8') ? 1e-5 : 1e-12;
  if (typeof expected === 'number') {
    if (Number.isNaN(expected)) return expect(actual).toBeNaN();
    return expect(Math.abs((actual as number) - expected)).toBeLessThanOrEqual(
      tolerance * Math.max(1, Math.abs(expected)),
    );
  }
  if (Array.isArray(expected) && expected.length === 2 && typeof expected[0] === 'number') {
    const [re, im] = actual as [number, number];
    close(re, expected[0], descr);
    return close(im, expected[1], descr);
  }
  expect(actual).toEqual(expected);
}

describe('reductions', () => {
  const path = join(dir, 'r.f64');
  writeFileSync(path, Buffer.from(new Float64Array([3, -1, NaN, 7, 2, 0]).buffer));

  test('NaN propagates through min and max; sum and mean follow', () => {
    const fp = memmap(path, { dtype: 'float64', mode: 'r' });
    expect(fp.min()).toBeNaN();
    expect(fp.max()).toBeNaN();
    expect(fp.sum()).toBeNaN();
    const clean = fp.slice('3:');
    expect([clean.sum(), clean.min(), clean.max(), clean.mean()]).toEqual([9, 0, 7, 3]);
    expect(fp.slice('::-2').toArray()).toEqual([0, 7, -1]);
    expect(fp.slice('::-2').sum()).toBe(6);
    fp.close();
  });

  test("float32 sums and means come back as float32, as numpy's: past float32's range is Infinity", () => {
    const f4 = join(dir, 'big.f4');
    writeFileSync(f4, Buffer.from(new Float32Array([3e38, 3e38, 3e38, 1]).buffer));
    const fp = memmap(f4, { dtype: 'float32', mode: 'r' });
    // numpy: np.float32(inf) for both (the float64 sum is 9e38).
    expect(fp.sum()).toBe(Infinity);
    expect(fp.slice(':3').mean()).toBe(Math.fround(3e38));
    expect(fp.slice('3:').sum()).toBe(1);
    fp.close();
    const c8 = join(dir, 'nan.c8');
    writeFileSync(c8, Buffer.from(new Float32Array([NaN, 1, 2, -3]).buffer));
    const z = memmap(c8, { dtype: 'complex64', mode: 'r' });
    // numpy: nan+nanj (the count divides as the complex n + 0j).
    const mean = z.mean() as { re: number; im: number };
    expect([Number.isNaN(mean.re), Number.isNaN(mean.im)]).toEqual([true, true]);
    z.close();
  });

  test('empty views: sum is 0, mean is NaN, min/max are RangeErrors (numpy: no identity)', () => {
    const fp = memmap(path, { dtype: 'float64', mode: 'r' });
    const empty = fp.slice('2:2');
    expect(empty.sum()).toBe(0);
    expect(empty.mean()).toBeNaN();
    expect(() => empty.min()).toThrow(
      expect.objectContaining({ name: 'RangeError', code: 'ERR_MEMMAP_EMPTY_REDUCTION' }),
    );
    fp.close();
  });

  test('async reductions give the same values; in flight during close(), the value or ERR_MEMMAP_CLOSED', async () => {
    const fp = memmap(path, { dtype: 'float64', mode: 'r' });
    const view = fp.slice('3:');
    const expected = [view.sum(), view.min(), view.max(), view.mean()];
    expect(await Promise.all([view.sumAsync(), view.minAsync(), view.maxAsync(), view.meanAsync()])).toEqual(expected);
    const pending = [view.sumAsync(), view.minAsync(), view.maxAsync(), view.meanAsync()].map((p) =>
      p.catch((error: { code?: string }) => error.code),
    );
    fp.close();
    const outcomes = await Promise.all(pending);
    outcomes.forEach((outcome, i) => expect([expected[i], 'ERR_MEMMAP_CLOSED']).toContainEqual(outcome));
    await expect(view.sumAsync()).rejects.toEqual(expect.objectContaining({ code: 'ERR_MEMMAP_CLOSED' }));
  });

  const record: DTypeLike = [
    ['a', '<i4'],
    ['b', '<f8'],
  ];
  test.each<[DTypeLike]>([['S5'], ['U3'], ['V4'], [record]])(
    'dtype %j has no reductions: ERR_MEMMAP_INVALID_DTYPE naming it, sync and async, even when empty',
    async (dtype) => {
      const p = join(dir, 'no-reduction.bin');
      writeFileSync(p, Buffer.alloc(60));
      const fp = memmap(p, { dtype, mode: 'r' });
      const refused = expect.objectContaining({
        name: 'TypeError',
        code: 'ERR_MEMMAP_INVALID_DTYPE',
        message: expect.stringContaining(fp.dtype),
      });
      for (const view of [fp, fp.slice('0:0')]) {
        for (const op of ['sum', 'min', 'max', 'mean'] as const) {
          expect(() => view[op]()).toThrow(refused);
          await expect(view[`${op}Async`]()).rejects.toEqual(refused);
        }
      }
      fp.close();
    },
  );

  test('64-bit integer sums wrap as numpy int64 does, and stay exact as bigint', () => {
    const p = join(dir, 'i8.bin');
    const fp = memmap(p, { dtype: 'int64', mode: 'w+', shape: 3 });
    fp.assign([2n ** 62n, 2n ** 62n, 5n]);
    expect(fp.sum()).toBe(-(2n ** 63n) + 5n);
    expect(fp.max()).toBe(2n ** 62n);
    fp.close();
  });
});

describeNumpy('reductions against numpy', () => {
  const DTYPES = [
    '|b1',
    '|i1',
    '|u1',
    '<i2',
    '>i2',
    '<u2',
    '<i4',
    '>u4',
    '<i8',
    '>i8',
    '<u8',
    '<f2',
    '>f2',
    '<f4',
    '>f4',
    '<f8',
    '>f8',
    '<c8',
    '>c16',
  ];
  const SPECS = ['...', '::-1', '1:, ::2', '::2, ::-3', '-1', ':, 0'];
  const cases = pythonJson<{ descr: string; path: string; results: Record<string, Record<string, unknown>> }[]>(
    `
import sys, json, os, numpy as np, numpy_json
out = []
for i, descr in enumerate(json.loads(sys.argv[2])):
    path = os.path.join(sys.argv[1], f'red{i}.bin')
    a = numpy_json.sample(descr, (7, 9), seed=i)
    fp = np.memmap(path, dtype=descr, mode='w+', shape=(7, 9), order='F' if i % 2 else 'C'); fp[...] = a; fp.flush()
    results = {}
    for spec in json.loads(sys.argv[3]):
        v = eval('fp[' + spec + ']')
        r = {}
        for op in ('sum', 'min', 'max', 'mean'):
            x = getattr(np, op)(v.astype(np.float64) if (op in ('sum', 'mean') and v.dtype.kind == 'f') else v.astype(np.complex128) if (op in ('sum', 'mean') and v.dtype.kind == 'c') else v)
            r[op] = numpy_json.to_json(np.asarray(x)) if v.dtype.kind != 'b' or op != 'sum' else int(x)
            if op == 'sum' and v.dtype.kind in 'iub': r[op] = str(int(x))
        results[spec] = r
    out.append({'descr': descr, 'path': path, 'results': results})
    del fp
print(json.dumps(out))
`,
    dir,
    JSON.stringify(DTYPES),
    JSON.stringify(SPECS),
  );

  test.each(cases.map((c) => [c.descr, c] as const))(
    '%s: sum, min, max, mean of six views (strided, reversed, Fortran)',
    async (descr, c) => {
      const i = DTYPES.indexOf(descr);
      const fp = memmap(c.path, { dtype: descr, mode: 'r', shape: [7, 9], order: i % 2 ? 'F' : 'C' });
      for (const spec of SPECS) {
        const view: Memmap = fp.slice(spec);
        const expected = c.results[spec];
        const sum = view.sum();
        if (typeof sum === 'bigint') expect(sum.toString()).toBe(expected.sum);
        else close(toJson(sum), expected.sum, descr);
        close(toJson(view.min()), expected.min, descr);
        close(toJson(view.max()), expected.max, descr);
        if (/[iu]8$/.test(descr)) {
          // The sample holds int64 extremes that cancel: float64 accumulation of
          // terms near 2^63 is only exact to an ulp there (2048), whatever the order.
          expect(Math.abs((view.mean() as number) - (expected.mean as number))).toBeLessThanOrEqual(4 * 2048);
        } else close(toJson(view.mean()), expected.mean, descr);
        expect(toJson(await view.sumAsync())).toEqual(toJson(sum));
      }
      fp.close();
    },
  );
});

describeNumpy('datetime64 and timedelta64 reductions against numpy (NaT wins; datetimes have no sum)', () => {
  const DTYPES = ['<m8[s]', '>m8[ms]', '<m8[ns]', '<M8[D]', '>M8[s]'];
  const SPECS = ['...', '::-1', '1:, ::2', ':, 0', '0, 1:1'];
  const cases = pythonJson<
    { descr: string; path: string; nat: boolean; results: Record<string, Record<string, string | null>> }[]
  >(
    `
import sys, json, os, numpy as np
out = []
for i, descr in enumerate(json.loads(sys.argv[2])):
  for nat in (False, True):
    path = os.path.join(sys.argv[1], f'time{i}{int(nat)}.bin')
    rng = np.random.default_rng(i)
    counts = rng.integers(-10**12, 10**12, size=(6, 5))
    if nat: counts[4, 3] = np.iinfo(np.int64).min
    fp = np.memmap(path, dtype=descr, mode='w+', shape=(6, 5)); fp[...] = counts.astype(np.int64).view(np.dtype(descr).newbyteorder('=')); fp.flush()
    results = {}
    for spec in json.loads(sys.argv[3]):
        v = eval('fp[' + spec + ']')
        r = {}
        for op in ('sum', 'min', 'max', 'mean'):
            try:
                with np.errstate(all='ignore'):
                    import warnings; warnings.simplefilter('ignore')
                    r[op] = str(int(np.asarray(getattr(v, op)()).astype(np.int64)))
            except TypeError: r[op] = 'TypeError'
            except ValueError: r[op] = 'ValueError'
        results[spec] = r
    out.append({'descr': descr, 'path': path, 'nat': nat, 'results': results})
    del fp
print(json.dumps(out))
`,
    dir,
    JSON.stringify(DTYPES),
    JSON.stringify(SPECS),
  );

  test.each(cases.map((c) => [c.descr, c.nat ? 'with a NaT' : 'no NaT', c] as const))(
    '%s, %s: sum, min, max, mean of five views, sync and async',
    async (descr, _nat, c) => {
      const fp = memmap(c.path, { dtype: descr, mode: 'r', shape: [6, 5] });
      for (const spec of SPECS) {
        const view = fp.slice(spec);
        for (const op of ['sum', 'min', 'max', 'mean'] as const) {
          const expected = c.results[spec][op];
          const asyncOp = `${op}Async` as const;
          if (expected === 'TypeError') {
            expect(() => view[op]()).toThrow(
              expect.objectContaining({ name: 'TypeError', code: 'ERR_MEMMAP_INVALID_DTYPE' }),
            );
            await expect(view[asyncOp]()).rejects.toEqual(
              expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_DTYPE' }),
            );
          } else if (expected === 'ValueError') {
            expect(() => view[op]()).toThrow(
              expect.objectContaining({ name: 'RangeError', code: 'ERR_MEMMAP_EMPTY_REDUCTION' }),
            );
          } else {
            expect(String(view[op]())).toBe(expected);
            expect(String(await view[asyncOp]())).toBe(expected);
          }
        }
      }
      fp.close();
    },
  );
});

describeNumpy('sums where values cancel, against numpy and the exact sum', () => {
  // Found by review: lanes met in a plain tree before the compensated merge,
  // so [1e8, -1e8, 0.1, 0.2] summed to 0.29999999701976776; and a timedelta
  // mean whose wrapped sum is NaT's bit pattern was that count over n where
  // numpy's is NaT.
  const want = pythonJson<{ sums: [number, number, number][]; means: string[] }>(
    `
import sys, json, math, os, numpy as np
cases = [[1e8, -1e8, 0.1, 0.2], [1e8, -1e8, 0.1, 0.2] * 16, [1e16, 1.0, -1e16, 1.0] * 3, [1e300, 3.5, -1e300, 1e-300] * 50]
sums = []
for i, c in enumerate(cases):
    np.array(c).tofile(os.path.join(sys.argv[1], f'cancel{i}.f8'))
    sums.append([float(np.sum(c)), math.fsum(c), len(c)])
t = np.array([2**62, 2**62, 0, 0], dtype='<m8[s]')
t.tofile(os.path.join(sys.argv[1], 'wrap.m8'))
m = t.reshape(2, 2)
means = [str(int(np.asarray(x).astype(np.int64))) for x in (t.mean(), m.mean(axis=1)[0], m.mean(axis=0)[0], t.sum())]
print(json.dumps({'sums': sums, 'means': means}))
`,
    dir,
  );

  test.each(want.sums.map((s, i) => [i, ...s] as const))(
    'case %i: within an ulp of the exact sum (numpy %d, exact %d)',
    (i, _numpy, exact, n) => {
      const fp = memmap(join(dir, `cancel${i}.f8`), { dtype: 'float64', mode: 'r', shape: n });
      const ulp = Math.abs(exact) * 2 ** -52 || Number.MIN_VALUE;
      expect(Math.abs((fp.sum() as number) - exact)).toBeLessThanOrEqual(ulp);
      expect(Math.abs((fp.mean() as number) - exact / n)).toBeLessThanOrEqual(Math.abs(exact / n) * 2 ** -51);
      fp.close();
    },
  );

  test('a timedelta64 mean whose wrapped sum is NaT is NaT, whole and along an axis', async () => {
    const fp = memmap(join(dir, 'wrap.m8'), { dtype: '<m8[s]', mode: 'r', shape: [2, 2] });
    const flat = memmap(join(dir, 'wrap.m8'), { dtype: '<m8[s]', mode: 'r', shape: [4] });
    const got = [flat.mean(), fp.mean({ axis: 1 }).get(0), fp.mean({ axis: 0 }).get(0), flat.sum()];
    expect(got.map(String)).toEqual(want.means);
    expect(String(await flat.meanAsync())).toBe(want.means[0]);
    expect(String(flat.mean({ where: [true, true, true, true] }))).toBe(want.means[0]);
    fp.close();
    flat.close();
  });
});

/** numpy basic indexing: the parser and the view geometry, against numpy. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { memmap } from '../ts/index';
import { describeNumpy, pythonJson, tempDir } from './helpers';

const dir = tempDir();

const bound = fc.option(fc.integer({ min: -7, max: 7 }), { nil: undefined });
const item = fc.oneof(
  fc.integer({ min: -3, max: 2 }).map(String),
  fc
    .tuple(
      bound,
      bound,
      fc.option(
        fc.integer({ min: -3, max: 3 }).filter((n) => n !== 0),
        { nil: undefined },
      ),
    )
    .map(([a, b, c]) => `${a ?? ''}:${b ?? ''}${c === undefined ? '' : `:${c}`}`),
  fc.constant('None'),
);
const specs = fc.sample(
  fc.tuple(fc.array(item, { maxLength: 3 }), fc.boolean(), fc.nat(3)).map(([items, ellipsis, at]) => {
    const parts = [...items];
    if (ellipsis) parts.splice(Math.min(at, parts.length), 0, '...');
    return parts.join(', ');
  }),
  { numRuns: 300, seed: 42 },
);

describeNumpy('slice() against numpy basic indexing (300 generated specs, views of views)', () => {
  const shape = [3, 4, 5];
  const path = join(dir, 'cube.bin');
  writeFileSync(path, Buffer.from(new Float64Array(60).map((_, i) => i).buffer));
  const numpy = pythonJson<
    ({ shape: number[]; strides: number[]; values: unknown; again: unknown } | { error: string })[]
  >(
    `
import sys, json, numpy as np
a = np.memmap(sys.argv[1], dtype='<f8', mode='r', shape=(3, 4, 5))
out = []
for spec in json.loads(sys.argv[2]):
    try:
        v = eval(f'a[{spec}]', {'a': a, 'None': None}) if spec.strip() else a[()]
        w = v[..., ::-1] if v.ndim else v
        out.append({'shape': list(v.shape), 'strides': list(v.strides), 'values': np.asarray(v).tolist(), 'again': np.asarray(w).tolist()})
    except IndexError as e:
        out.append({'error': str(e)})
print(json.dumps(out))
`,
    path,
    JSON.stringify(specs),
  );
  const fp = memmap(path, { dtype: 'float64', mode: 'r', shape });
  afterAll(() => fp.close());

  test.each(specs.map((spec, i) => [spec, i] as const))('a[%s]', (spec, i) => {
    const expected = numpy[i];
    if ('error' in expected) {
      expect(() => fp.slice(spec)).toThrow(
        expect.objectContaining({ code: expect.stringMatching(/^ERR_MEMMAP_(INVALID_INDEX|INDEX_OUT_OF_RANGE)$/) }),
      );
      return;
    }
    const view = fp.slice(spec);
    expect(view.shape).toEqual(expected.shape);
    expect(view.strides).toEqual(expected.strides);
    expect(view.toArray()).toEqual(expected.values);
    expect((view.ndim ? view.slice('..., ::-1') : view).toArray()).toEqual(expected.again);
  });
});

describe('get() over every kind of view, before and after it binds a buffer, and after close', () => {
  // 24 float32 values 0..23 (a 4 x 6 grid), and the same bytes behind a 1-byte header.
  const path = join(dir, 'get-views.f32');
  const shifted = join(dir, 'get-views-shifted.bin');
  const values = Float32Array.from({ length: 24 }, (_, i) => i);
  writeFileSync(path, Buffer.from(values.buffer));
  writeFileSync(shifted, Buffer.concat([Buffer.alloc(1), Buffer.from(values.buffer)]));

  // [how the view is made, its expected elements as nested arrays]
  const grid = (rows: number[], cols: number[]) => rows.map((r) => cols.map((c) => r * 6 + c));
  const cases: [string, () => ReturnType<typeof memmap>, unknown][] = [
    ['1-D base', () => memmap(path, { dtype: 'float32', mode: 'r' }), [...values]],
    ['1-D ::3', () => memmap(path, { dtype: 'float32', mode: 'r' }).slice('::3'), [0, 3, 6, 9, 12, 15, 18, 21]],
    ['1-D ::-5', () => memmap(path, { dtype: 'float32', mode: 'r' }).slice('::-5'), [23, 18, 13, 8, 3]],
    ['1-D 5:9', () => memmap(path, { dtype: 'float32', mode: 'r' }).slice('5:9'), [5, 6, 7, 8]],
    ['1-D unaligned (offset 1)', () => memmap(shifted, { dtype: 'float32', mode: 'r', offset: 1 }), [...values]],
    [
      '2-D C',
      () => memmap(path, { dtype: 'float32', mode: 'r', shape: [4, 6] }),
      grid([0, 1, 2, 3], [0, 1, 2, 3, 4, 5]),
    ],
    [
      '2-D F',
      () => memmap(path, { dtype: 'float32', mode: 'r', shape: [6, 4], order: 'F' }),
      [0, 1, 2, 3, 4, 5].map((r) => [0, 1, 2, 3].map((c) => c * 6 + r)),
    ],
    [
      '2-D 1:3, 2:5',
      () => memmap(path, { dtype: 'float32', mode: 'r', shape: [4, 6] }).slice('1:3, 2:5'),
      grid([1, 2], [2, 3, 4]),
    ],
    [
      '2-D ::-1, ::2',
      () => memmap(path, { dtype: 'float32', mode: 'r', shape: [4, 6] }).slice('::-1, ::2'),
      grid([3, 2, 1, 0], [0, 2, 4]),
    ],
    ['2-D int16 pairs', () => memmap(path, { dtype: '<i2', mode: 'r', shape: [24, 2] }), null],
    ['2-D big-endian', () => memmap(path, { dtype: '>f4', mode: 'r', shape: [4, 6] }), null],
  ];

  test.each(cases)('%s', (_name, open, expected) => {
    const view = open();
    const want = (expected ?? view.toArray()) as unknown[];
    const read = () =>
      view.ndim === 1
        ? Array.from({ length: view.shape[0] }, (_, i) => view.get(i))
        : Array.from({ length: view.shape[0] }, (_, i) =>
            Array.from({ length: view.shape[1] }, (_, j) => view.get(i, j)),
          );
    // Cold reads first (no buffer yet), then enough to bind one, then bound.
    for (let round = 0; round < 40; round++) expect(read()).toEqual(want);
    expect(view.toArray()).toEqual(want);
    const last = view.shape.map((d) => d - 1);
    const lastValue = view.ndim === 1 ? (want as unknown[])[last[0]] : (want as unknown[][])[last[0]][last[1]];
    expect(view.get(...last.map(() => -1))).toEqual(lastValue); // negative indices count from the end
    for (let axis = 0; axis < view.ndim; axis++) {
      const outside = [...last];
      outside[axis] = view.shape[axis];
      expect(() => view.get(...outside)).toThrow(
        expect.objectContaining({ name: 'RangeError', code: 'ERR_MEMMAP_INDEX_OUT_OF_RANGE' }),
      );
    }
    expect(() => view.get(...last, 0)).toThrow(expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_INDEX' }));
    expect(() => view.get(...last.slice(1))).toThrow(expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_INDEX' }));
    expect(() => view.get(...last.map(() => 0.5))).toThrow(
      expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_INDEX' }),
    );
    expect(() => (view.get as (...index: unknown[]) => unknown)(...last.map(() => '0'))).toThrow(
      expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_INDEX' }),
    );
    view.close();
    expect(() => view.get(...last)).toThrow(expect.objectContaining({ code: 'ERR_MEMMAP_CLOSED' }));
  });

  test('closing the base makes its bound views throw ERR_MEMMAP_CLOSED, never read', () => {
    const base = memmap(path, { dtype: 'float32', mode: 'r', shape: [4, 6] });
    const views = [base.slice('1:'), base.slice(':, ::2'), base.slice('0'), base.slice('::-1, 1')];
    for (let round = 0; round < 40; round++) for (const view of views) view.get(...view.shape.map(() => 0));
    base.close();
    for (const view of [base, ...views])
      expect(() => view.get(...view.shape.map(() => 0))).toThrow(
        expect.objectContaining({ code: 'ERR_MEMMAP_CLOSED' }),
      );
  });
});

describe('integers given as bigint (int64 results index directly, as numpy int64 scalars do)', () => {
  const path = join(dir, 'bigint.f32');
  const values = [1, 5, 2, 0, 3, 1, 9, 2, 0, 0, 0, 8];
  writeFileSync(path, new Uint8Array(Float32Array.from(values).buffer));
  const coded = (code: string, name: string) => expect.objectContaining({ code, name });

  test("argmax's indices select the maxima they name", () => {
    const a = memmap(path, { dtype: 'float32', mode: 'r', shape: [3, 4] });
    const rows = a.argmax({ axis: 0 });
    expect(rows.toArray()).toEqual([1n, 0n, 1n, 2n]);
    expect(Array.from({ length: 4 }, (_, j) => a.get(rows.get(j), j))).toEqual([3, 5, 9, 8]);
    expect(a.slice(rows.get(2)).toArray()).toEqual([3, 1, 9, 2]);
    a.close();
  });

  test('slice, axis, ddof, read/write start and length, blocks rows', () => {
    const a = memmap(path, { dtype: 'float32', mode: 'r+', shape: [3, 4] });
    expect(a.slice(-1n).toArray()).toEqual([0, 0, 0, 8]);
    expect(a.sum({ axis: 1n }).toArray()).toEqual(a.sum({ axis: 1 }).toArray());
    expect(a.sum({ axis: [0n, -1n] })).toBe(a.sum());
    expect(a.max({ axis: -2n, keepdims: true }).shape).toEqual([1, 4]);
    expect(a.argmin({ axis: 1n }).toArray()).toEqual(a.argmin({ axis: 1 }).toArray());
    expect(a.std({ ddof: 1n })).toBe(a.std({ ddof: 1 }));
    expect(Array.from(a.read(4n, 2n))).toEqual([3, 1]);
    a.write(11n, [7]);
    expect(a.get(2, 3)).toBe(7);
    expect([...a.blocks({ rows: 2n })].map((b) => b.shape)).toEqual([
      [2, 4],
      [1, 4],
    ]);
    expect(() => a.slice(3n)).toThrow(coded('ERR_MEMMAP_INDEX_OUT_OF_RANGE', 'RangeError'));
    expect(() => a.slice(2n ** 63n)).toThrow(coded('ERR_MEMMAP_INDEX_OUT_OF_RANGE', 'RangeError'));
    // The same integers as numbers: out of range too, not a wrong type.
    for (const huge of [2 ** 53, -(2 ** 60), 1e300])
      expect(() => a.slice(huge)).toThrow(coded('ERR_MEMMAP_INDEX_OUT_OF_RANGE', 'RangeError'));
    expect(() => a.sum({ axis: 2n })).toThrow(coded('ERR_MEMMAP_AXIS_OUT_OF_RANGE', 'RangeError'));
    expect(() => a.sum({ axis: [1n, -1n] })).toThrow(expect.objectContaining({ code: 'ERR_MEMMAP_DUPLICATE_AXIS' }));
    expect(() => a.read(13n)).toThrow(expect.objectContaining({ code: 'ERR_MEMMAP_OUT_OF_RANGE' }));
    expect(() => a.blocks({ rows: 0n })).toThrow(coded('ERR_MEMMAP_OUT_OF_RANGE', 'RangeError'));
    a.close();
  });

  test("a 0-d array takes axis 0n where numpy's legacy rule takes 0", () => {
    const a = memmap(path, { dtype: 'float32', mode: 'r', shape: [] });
    expect(a.sum({ axis: 0n })).toBe(a.sum({ axis: 0 }));
    a.close();
  });
});

describe('steps of any size', () => {
  const H = '99999999999999999999'; // clamped to 2^53 - 1, as Python clamps to sys.maxsize

  test("one element taken with a huge step: writes land in the view, numpy's bytes", () => {
    // Found by review: the stride of such an axis was past 2^53, and walking
    // it rounded, so assign() wrote rows outside the view.
    const path = join(dir, 'huge-step.i4');
    writeFileSync(path, new Uint8Array(32));
    const a = memmap(path, { dtype: 'int32', mode: 'r+', shape: [8, 1] });
    const v = a.slice(`4:, ::${H}`).slice(`:, ::${H}`);
    expect(v.shape).toEqual([4, 1]);
    expect(v.strides.every((stride) => Number.isSafeInteger(stride))).toBe(true);
    v.assign([[1], [2], [3], [4]]);
    expect(Array.from(a.read())).toEqual([0, 0, 0, 0, 1, 2, 3, 4]);
    const cube = memmap(path, { dtype: 'int32', mode: 'r+', shape: [4, 1, 1], offset: 16 });
    cube.slice(`:, ::${H}, ::-${H}`).assign([[[5]], [[6]], [[7]], [[8]]]);
    expect(Array.from(a.read())).toEqual([0, 0, 0, 0, 5, 6, 7, 8]);
    // The view describes itself in safe integers, so it travels.
    const again = memmap.fromDescriptor(v.descriptor());
    expect(again.toArray()).toEqual([[5], [6], [7], [8]]);
    again.close();
    cube.close();
    a.close();
  });

  test('a field past 64 dimensions is refused, as numpy refuses it', () => {
    const path = join(dir, 'deep.rec');
    writeFileSync(path, new Uint8Array(16));
    const deep = memmap(path, { dtype: [['c', '<f4', [2, 2]]], mode: 'r', shape: Array(63).fill(1) });
    expect(() => deep.field('c')).toThrow(expect.objectContaining({ code: 'ERR_MEMMAP_OUT_OF_RANGE' }));
    expect(deep.slice('...').ndim).toBe(63);
    deep.close();
  });
});

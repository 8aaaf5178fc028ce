/** numpy basic indexing: the parser and the view geometry, against numpy. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { memmap } from '../ts/index';
import { applyIndex, parseIndex, resolveSlice } from '../ts/indexing';
import { describeNumpy, pythonJson, tempDir } from './helpers';

const dir = tempDir();

describe('parseIndex', () => {
  test('numpy spellings', () => {
    expect(parseIndex('1:, ::2')).toEqual([
      { kind: 'slice', start: 1, stop: null, step: null },
      { kind: 'slice', start: null, stop: null, step: 2 },
    ]);
    expect(parseIndex('-1, 1:3')).toEqual([{ kind: 'integer', value: -1 }, { kind: 'slice', start: 1, stop: 3, step: null }]);
    expect(parseIndex('...')).toEqual([{ kind: 'ellipsis' }]);
    expect(parseIndex('None, 0,')).toEqual([{ kind: 'newaxis' }, { kind: 'integer', value: 0 }]);
    expect(parseIndex('')).toEqual([]);
    expect(parseIndex(3)).toEqual([{ kind: 'integer', value: 3 }]);
  });

  test.each(['a', '1:2:3:4', '::0', '1.5', '[0]', '..., ...'])('%j is refused with a coded error', (spec) => {
    expect(() => applyIndex(parseIndex(spec), { shape: [4, 4], strides: [16, 4], byteOffset: 0 })).toThrow(expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_INDEX' }));
  });

  test('out of range integers are RangeErrors naming the axis', () => {
    expect(() => applyIndex(parseIndex('0, 5'), { shape: [4, 4], strides: [16, 4], byteOffset: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_MEMMAP_INDEX_OUT_OF_RANGE', name: 'RangeError', message: 'index 5 is out of bounds for axis 1 with size 4' }),
    );
  });

  test("resolveSlice is Python's slice.indices", () => {
    expect(resolveSlice(null, null, -1, 5)).toEqual([4, -1, 5]);
    expect(resolveSlice(-100, 100, 2, 5)).toEqual([0, 2, 3]);
    expect(resolveSlice(3, 1, null, 5)).toEqual([3, 1, 0]);
  });
});

const bound = fc.option(fc.integer({ min: -7, max: 7 }), { nil: undefined });
const item = fc.oneof(
  fc.integer({ min: -3, max: 2 }).map(String),
  fc.tuple(bound, bound, fc.option(fc.integer({ min: -3, max: 3 }).filter((n) => n !== 0), { nil: undefined })).map(
    ([a, b, c]) => `${a ?? ''}:${b ?? ''}${c === undefined ? '' : `:${c}`}`,
  ),
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
  const numpy = pythonJson<({ shape: number[]; strides: number[]; values: unknown; again: unknown } | { error: string })[]>(
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
      expect(() => fp.slice(spec)).toThrow(expect.objectContaining({ code: expect.stringMatching(/^ERR_MEMMAP_(INVALID_INDEX|INDEX_OUT_OF_RANGE)$/) }));
      return;
    }
    const view = fp.slice(spec);
    expect(view.shape).toEqual(expected.shape);
    expect(view.strides).toEqual(expected.strides);
    expect(view.toArray()).toEqual(expected.values);
    expect((view.ndim ? view.slice('..., ::-1') : view).toArray()).toEqual(expected.again);
  });
});

/**
 * .npy files: numpy's fixtures open with the right dtype, shape, order and
 * values; files written here are byte-identical to numpy's; damaged headers
 * give coded errors (fuzzed; the cases that once failed are kept below).
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { openMemmap } from '../ts/index';
import { npyHeaderBytes } from '../ts/npyformat';
import { describeNumpy, FIXTURES, python, pythonJson, tempDir, toJson } from './helpers';

interface NpyFixture {
  file: string;
  dtype: string;
  str: string;
  shape: number[];
  fortranOrder: boolean;
  version: [number, number] | null;
  values: unknown;
}

const fixtures: NpyFixture[] = JSON.parse(readFileSync(join(FIXTURES, 'npy', 'manifest.json'), 'utf8'));
const dir = tempDir();
let n = 0;
const temp = (name = 'x.npy') => join(dir, `${n++}-${name}`);

describe('files written by numpy (committed fixtures)', () => {
  test.each(fixtures.map((f) => [f.file, f.dtype, f.shape.join('x') || '0-d', f] as const))(
    '%s (%s, %s) opens with the right dtype, shape, order and values',
    (_f, _d, _s, fixture) => {
      const path = join(FIXTURES, 'npy', fixture.file);
      const before = readFileSync(path);
      for (const mode of ['r', 'c', 'r+'] as const) {
        const fp = openMemmap(path, { mode });
        expect(fp.dtype).toBe(fixture.str);
        expect(fp.shape).toEqual(fixture.shape);
        expect(fp.mode).toBe(mode);
        expect(toJson(fp.toArray())).toEqual(fixture.values);
        if (fixture.fortranOrder && fp.ndim > 1) expect(fp.strides[0]).toBe(fp.itemsize);
        fp.close();
      }
      expect(readFileSync(path)).toEqual(before);
    },
  );

  test.each(fixtures.map((f) => [f.file, f] as const))(
    '%s: writing the same dtype, shape and order here gives the same header bytes',
    (_f, fixture) => {
      const numpyBytes = readFileSync(join(FIXTURES, 'npy', fixture.file));
      const ours = npyHeaderBytes(
        fixture.dtype.replace(/^[<>|]?/, (p) => p),
        fixture.fortranOrder,
        fixture.shape,
        fixture.version as never,
      );
      expect(Buffer.from(ours)).toEqual(numpyBytes.subarray(0, ours.length));
      // ... and the whole file, values included, when written through openMemmap.
      const path = temp();
      const fp = openMemmap(path, {
        mode: 'w+',
        dtype: fixture.dtype,
        shape: fixture.shape,
        fortranOrder: fixture.fortranOrder,
        version: fixture.version as never,
      });
      expect(fp.mode).toBe('r+'); // numpy reopens a new file in r+
      const source = openMemmap(join(FIXTURES, 'npy', fixture.file), { mode: 'r' });
      if (fp.size > 0) fp.assign(source);
      fp.close();
      source.close();
      expect(readFileSync(path)).toEqual(numpyBytes);
    },
  );

  test('fixtures cover every dtype, both orders, the three versions, 0-d, empty and a 0 in the shape', () => {
    expect(new Set(fixtures.map((f) => f.dtype)).size).toBe(25);
    expect(new Set(fixtures.map((f) => f.fortranOrder))).toEqual(new Set([false, true]));
    expect(fixtures.map((f) => readFileSync(join(FIXTURES, 'npy', f.file))[6]).sort()).toEqual(
      expect.arrayContaining([1, 2, 3]),
    );
    expect(fixtures.some((f) => f.shape.length === 0)).toBe(true);
    expect(fixtures.some((f) => f.shape.includes(0))).toBe(true);
  });
});

/** A file with a valid prefix and the given header text (version 1.0). */
function withHeader(text: string, extra = 0): Buffer {
  const body = Buffer.from(text, 'latin1');
  const prefix = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, body.length & 0xff, body.length >> 8]);
  return Buffer.concat([prefix, body, Buffer.alloc(extra)]);
}

const good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
const damaged: [string, Buffer, string][] = [
  ['wrong magic', Buffer.from('\x93NUMPX\x01\x00\x10\x00' + ' '.repeat(16), 'latin1'), 'ERR_NPY_BAD_MAGIC'],
  ['not a .npy at all', Buffer.from('hello world, this is text'), 'ERR_NPY_BAD_MAGIC'],
  [
    'unknown version 4.0',
    Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 4, 0, 0, 0]), Buffer.alloc(64)]),
    'ERR_NPY_UNSUPPORTED_VERSION',
  ],
  [
    'version 1.1',
    Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 1, 0, 0]), Buffer.alloc(64)]),
    'ERR_NPY_UNSUPPORTED_VERSION',
  ],
  ['truncated inside the magic', Buffer.from([0x93, 0x4e, 0x55]), 'ERR_NPY_TRUNCATED'],
  ['truncated inside the length', Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0, 5]), 'ERR_NPY_TRUNCATED'],
  [
    'header length past the end of the file',
    Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0xff, 0xff]), Buffer.alloc(100)]),
    'ERR_NPY_TRUNCATED',
  ],
  [
    'version 2 header length of 4 GiB',
    Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0, 0xff, 0xff, 0xff, 0xff]), Buffer.alloc(100)]),
    'ERR_NPY_BAD_HEADER',
  ],
  [
    'dict that does not parse',
    withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2,"),
    'ERR_NPY_BAD_HEADER',
  ],
  ['not a dict', withHeader("['descr', '<f4']"), 'ERR_NPY_BAD_HEADER'],
  ['missing key', withHeader("{'descr': '<f4', 'shape': (2,)}"), 'ERR_NPY_BAD_HEADER'],
  ['extra key', withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}"), 'ERR_NPY_BAD_HEADER'],
  ['shape is a list', withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': [2]}"), 'ERR_NPY_BAD_HEADER'],
  ['negative shape', withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}"), 'ERR_NPY_BAD_HEADER'],
  ['fortran_order not a bool', withHeader("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}"), 'ERR_NPY_BAD_HEADER'],
  ['unknown descr', withHeader("{'descr': '<q7', 'fortran_order': False, 'shape': (2,)}", 8), 'ERR_NPY_BAD_HEADER'],
  ['object dtype', withHeader("{'descr': '|O', 'fortran_order': False, 'shape': (2,)}", 16), 'ERR_NPY_OBJECT_DTYPE'],
  // A dict where numpy writes a string or a list: quoted in a coded error (it was a bare TypeError).
  [
    'descr a dict',
    withHeader("{'descr': {'names': ['a'], 'formats': ['<f4']}, 'fortran_order': False, 'shape': (1,)}", 4),
    'ERR_NPY_BAD_HEADER',
  ],
  [
    'a dict in a record descr',
    withHeader("{'descr': [('a', {'x': 1})], 'fortran_order': False, 'shape': (1,)}", 4),
    'ERR_NPY_BAD_HEADER',
  ],
  ['data longer than the file', withHeader(good, 7), 'ERR_NPY_TRUNCATED'],
  [
    'shape whose bytes overflow',
    withHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (9007199254740991, 9007199254740991)}", 8),
    'ERR_MEMMAP_TOO_LARGE',
  ],
  ['nesting 10000 deep', withHeader('('.repeat(10000)), 'ERR_NPY_BAD_HEADER'],
  ['bad escape', withHeader("{'descr': '<f\\q4', 'fortran_order': False, 'shape': (2,)}"), 'ERR_NPY_BAD_HEADER'],
  [
    'invalid UTF-8 in a 3.0 header',
    Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 3, 0, 4, 0, 0, 0, 0xff, 0xfe, 0xfd, 0x0a])]),
    'ERR_NPY_BAD_HEADER',
  ],
];

describe('damaged files: a clear coded error, never a crash, hang or huge allocation', () => {
  test.each(damaged)('%s → %s', (_name, bytes, code) => {
    const path = temp('damaged.npy');
    writeFileSync(path, bytes);
    for (const mode of ['r', 'r+', 'c'] as const) {
      expect(() => openMemmap(path, { mode })).toThrow(expect.objectContaining({ code }));
    }
    expect(readFileSync(path)).toEqual(bytes); // r+ never "repairs" a damaged file
  });
});

describeNumpy('live round trips with numpy', () => {
  test('numpy writes random arrays; memmap reads them equal', () => {
    const cases = pythonJson<{ path: string; values: unknown; str: string; shape: number[] }[]>(
      `
import sys, json, os, numpy as np, numpy_json
from numpy.lib.format import open_memmap
rng = np.random.default_rng(11)
out = []
for i, descr in enumerate(numpy_json.DTYPES):
    shape = tuple(int(x) for x in rng.integers(1, 5, int(rng.integers(0, 4))))
    path = os.path.join(sys.argv[1], f'live{i}.npy')
    data = numpy_json.sample(descr, shape, seed=i)
    np.save(path, np.asfortranarray(data) if i % 2 and data.ndim > 1 else data)
    out.append({'path': path, 'values': numpy_json.to_json(data), 'str': str(np.dtype(descr)), 'shape': list(shape)})
print(json.dumps(out))
`,
      dir,
    );
    for (const c of cases) {
      const fp = openMemmap(c.path, { mode: 'r' });
      expect([c.path, fp.dtype, fp.shape]).toEqual([c.path, c.str, c.shape]);
      expect(toJson(fp.toArray())).toEqual(c.values);
      fp.close();
    }
  });

  test('memmap writes; numpy reads equal; headers byte-identical to open_memmap', () => {
    const specs = [
      ['<f4', [3, 4], false, null],
      ['>i2', [5], true, null],
      ['<c16', [2, 2], true, [2, 0]],
      ['|b1', [], false, null],
      ['<u8', [0, 3], false, [3, 0]],
      ['<f2', [7, 1, 2], true, null],
      ['>f8', [1], false, [1, 0]],
    ] as const;
    for (const [descr, shape, fortranOrder, version] of specs) {
      const ours = temp('ours.npy');
      const theirs = temp('theirs.npy');
      const fp = openMemmap(ours, {
        mode: 'w+',
        dtype: descr,
        shape: [...shape],
        fortranOrder,
        version: version as never,
      });
      if (fp.size > 0)
        fp.assign(
          Array.from({ length: fp.size }, (_, i) =>
            descr === '|b1' ? i % 2 === 0 : descr === '<u8' ? BigInt(i) : i + 0.5,
          ),
        );
      else if (fp.ndim === 0) fp.fill(true);
      fp.close();
      const numpySees = pythonJson<{ values: unknown; fortran: boolean }>(
        `
import sys, json, warnings, numpy as np, numpy_json
from numpy.lib.format import open_memmap
a = np.load(sys.argv[1])
warnings.simplefilter('ignore')
v = json.loads(sys.argv[5])
m = open_memmap(sys.argv[2], mode='w+', dtype=sys.argv[3], shape=tuple(json.loads(sys.argv[4])), fortran_order=sys.argv[6] == 'true', version=tuple(v) if v else None)
m[...] = a; m.flush(); del m
print(json.dumps({'values': numpy_json.to_json(a), 'fortran': bool(a.flags.f_contiguous)}))
`,
        ours,
        theirs,
        descr,
        JSON.stringify(shape),
        JSON.stringify(version),
        String(fortranOrder),
      );
      expect(existsSync(theirs)).toBe(true);
      const check = openMemmap(ours, { mode: 'r' });
      expect(numpySees.values).toEqual(toJson(check.toArray()));
      check.close();
      expect([descr, readFileSync(ours)]).toEqual([descr, readFileSync(theirs)]);
    }
  });

  test('headers spelled as no numpy writes them: read exactly when np.load reads them, to the same array', () => {
    const dicts = [
      "{'descr': '<' 'f4', 'fortran_order': False, 'shape': (0x2, 3), }",
      "{'descr': '<f4', # a comment\n 'fortran_order': False, 'shape': (2, 3,), }",
      "{'descr': [('\\141\\142', '<i2'), (u'c', '>u1', (2,))], 'fortran_order': False, 'shape': (1_0,), }",
      "{'descr': r'<f8', 'fortran_order': True, 'shape': (2, \\\n3), }",
      "{'descr': b'<f4', 'fortran_order': False, 'shape': (2, 3), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (02, 3), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'descr': '<i4'}",
      "{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3), }",
      // A nameless sub-array field is padding to numpy (its dtype's type is np.void).
      "{'descr': [('', '<i4', (2,)), ('a', '<i4')], 'fortran_order': False, 'shape': (2,), }",
      "{b'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
      "{'descr': [(('t', 'a', 'x'), '<i4')], 'fortran_order': False, 'shape': (2,), }",
    ];
    const paths = dicts.map((dict) => {
      const body = Buffer.from(dict.padEnd(245, ' ') + '\n', 'latin1');
      const path = temp('spelled.npy');
      const prefix = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, body.length, 0]);
      writeFileSync(path, Buffer.concat([prefix, body, Buffer.alloc(64, 7)]));
      return path;
    });
    const theirs = pythonJson<({ dtype: string; shape: number[]; fortran: boolean } | null)[]>(
      `
import sys, json, numpy as np
out = []
for path in sys.argv[1:]:
    try:
        a = np.load(path, mmap_mode='r')
        out.append({'dtype': str(a.dtype), 'shape': list(a.shape), 'fortran': bool(a.ndim > 1 and a.flags.f_contiguous)})
    except (ValueError, TypeError):
        out.append(None)
print(json.dumps(out))`,
      ...paths,
    );
    const ours = paths.map((path) => {
      try {
        const fp = openMemmap(path, { mode: 'r' });
        const seen = { dtype: fp.dtype, shape: fp.shape, fortran: fp.ndim > 1 && fp.flags.fContiguous };
        fp.close();
        return seen;
      } catch (error) {
        expect((error as { code?: string }).code).toBe('ERR_NPY_BAD_HEADER');
        return null;
      }
    });
    expect(ours).toEqual(theirs);
    // The forms numpy reads are really exercised, not only refusals.
    expect(theirs.filter((t) => t !== null).length).toBe(6);
  });

  test('numpy refuses to memory-map object arrays, and so does memmap', () => {
    const path = temp('objects.npy');
    python(
      `import sys, numpy as np; np.save(sys.argv[1], np.array([1, 'a', None], dtype=object), allow_pickle=True)`,
      path,
    );
    expect(() => openMemmap(path, { mode: 'r' })).toThrow(
      expect.objectContaining({ code: 'ERR_NPY_OBJECT_DTYPE', name: 'TypeError' }),
    );
  });
});

describe('records numpy has no descr for are refused by w+, as np.save and open_memmap refuse them', () => {
  // numpy 2.4.6: open_memmap(..., mode='w+', dtype=...) raises "dtype.descr is not defined for
  // types with overlapping or out-of-order fields". memmap wrote the fields sorted by offset, so
  // the file came back with its fields in another order (an adversarial review).
  const specs = [
    { names: ['x', 'y'], formats: ['u1', '<f4'], offsets: [4, 0], itemsize: 8 },
    { names: ['x', 'y'], formats: ['<i4', '<i2'], offsets: [0, 2], itemsize: 4 },
    { names: ['o', 'n'], formats: ['u1', { names: ['a', 'b'], formats: ['u1', 'u1'], offsets: [1, 0] }], itemsize: 3 },
  ];
  test.each(specs.map((spec, i) => [i, spec]))('spec %i: ERR_MEMMAP_INVALID_DTYPE, no file made', (i, spec) => {
    const path = join(dir, `unordered-${i}.npy`);
    expect(() => openMemmap(path, { mode: 'w+', dtype: spec as never, shape: [2] })).toThrow(
      expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_DTYPE', message: expect.stringMatching(/out-of-order/) }),
    );
    expect(existsSync(path)).toBe(false);
  });
  describeNumpy('numpy refuses them too', () => {
    test('open_memmap w+', () => {
      const refused = pythonJson<boolean[]>(
        `
import json, sys, os, numpy as np
out = []
def spec(s):
    return {k: (spec(v) if isinstance(v, dict) else [spec(f) if isinstance(f, dict) else f for f in v] if k == 'formats' else v) for k, v in s.items()}
for i, s in enumerate(json.loads(sys.argv[1])):
    path = os.path.join(sys.argv[2], 'np-unordered-%d.npy' % i)
    try:
        np.lib.format.open_memmap(path, mode='w+', dtype=np.dtype(spec(s)), shape=(2,))
        out.append(False)
    except ValueError as e:
        out.append('out-of-order' in str(e))
print(json.dumps(out))`,
        JSON.stringify(specs),
        dir,
      );
      expect(refused).toEqual([true, true, true]);
    });
  });
});

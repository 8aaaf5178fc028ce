/**
 * Structured (record) dtypes against numpy: layout, str(dtype), descr, record
 * get/set, field views, repr, and .npy files byte-identical to numpy's. Ports
 * numpy/lib/tests/test_format.py's record cases (test_memmap_roundtrip's
 * record arrays, test_descr_to_dtype, test_load_padded_dtype,
 * test_unicode_field_names, test_version_2_0_memmap).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { memmap, openMemmap, parseDType } from '../ts/index';
import { descrOf } from '../ts/dtype';
import { pyRepr } from '../ts/pyliteral';
import { describeNumpy, pythonJson, tempDir, toJson } from './helpers';

const dir = tempDir();
let n = 0;
const temp = (name: string) => join(dir, `${n++}-${name}`);

// numpy/lib/tests/test_format.py's record dtypes, spelled for memmap.
const Pdescr = [
  ['x', 'i4', [2]],
  ['y', 'f8', [2, 2]],
  ['z', 'u1'],
] as const;
const Ndescr = [
  ['x', 'i4', [2]],
  [
    'Info',
    [
      ['value', 'c16'],
      ['y2', 'f8'],
      [
        'Info2',
        [
          ['name', 'S2'],
          ['value', 'c16', [2]],
          ['y3', 'f8', [2]],
          ['z3', 'u4', [2]],
        ],
      ],
      ['name', 'S2'],
      ['z2', 'b1'],
    ],
  ],
  ['color', 'S2'],
  [
    'info',
    [
      ['Name', 'U8'],
      ['Value', 'c16'],
    ],
  ],
  ['y', 'f8', [2, 2]],
  ['z', 'u1'],
] as const;

describe('records without numpy', () => {
  test("test_format.py's nested record (Ndescr) has numpy's layout and str", () => {
    // numpy 2.4: np.dtype(Ndescr).itemsize == 176 and str() as below.
    const fp = memmap(temp('n.bin'), { dtype: Ndescr, mode: 'w+', shape: 1 });
    expect(fp.itemsize).toBe(176);
    expect(fp.dtype).toBe(
      "[('x', '<i4', (2,)), ('Info', [('value', '<c16'), ('y2', '<f8'), ('Info2', [('name', 'S2'), ('value', '<c16', (2,)), ('y3', '<f8', (2,)), ('z3', '<u4', (2,))]), ('name', 'S2'), ('z2', '?')]), ('color', 'S2'), ('info', [('Name', '<U8'), ('Value', '<c16')]), ('y', '<f8', (2, 2)), ('z', 'u1')]",
    );
    fp.close();
  });

  test('get gives a plain object, set writes one, field() is a view sharing the mapping', () => {
    const fp = memmap(temp('p.bin'), { dtype: Pdescr, mode: 'w+', shape: 2 });
    expect(fp.dtype).toBe("[('x', '<i4', (2,)), ('y', '<f8', (2, 2)), ('z', 'u1')]");
    expect(fp.itemsize).toBe(41);
    fp.set(0, {
      x: [3, 2],
      y: [
        [6, 4],
        [6, 4],
      ],
      z: 8,
    });
    fp.set(1, [
      [4, 3],
      [
        [7, 5],
        [7, 5],
      ],
      9,
    ]); // or an array in field order
    expect(fp.get(1)).toEqual({
      x: [4, 3],
      y: [
        [7, 5],
        [7, 5],
      ],
      z: 9,
    });
    const y = fp.field('y');
    expect(y.shape).toEqual([2, 2, 2]);
    expect(y.strides).toEqual([41, 16, 8]);
    expect(y.dtype).toBe('float64');
    y.set(1, 0, 1, -1);
    expect((fp.get(1) as { y: number[][] }).y).toEqual([
      [7, -1],
      [7, 5],
    ]);
    expect(fp.field('z').toArray()).toEqual([8, 9]);
    // @ts-expect-error: 'nope' is not a field of this record dtype
    expect(() => fp.field('nope')).toThrow(
      expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_ARG', message: expect.stringMatching(/"x", "y", "z"/) }),
    );
    // @ts-expect-error: a record value needs every field
    expect(() => fp.set(0, { x: [1, 2] })).toThrow(
      expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_ARG', message: expect.stringMatching(/no field "y"/) }),
    );
    // A name the dtype has no field for, or an item too many, is refused, never dropped.
    const before = fp.toArray();
    const y2: number[][] = [
      [1, 2],
      [3, 4],
    ];
    // @ts-expect-error: 'w' is not a field
    expect(() => fp.set(0, { x: [1, 2], y: y2, z: 1, w: 5 })).toThrow(
      expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_ARG', message: expect.stringMatching(/field "w"/) }),
    );
    expect(() => fp.assign([{ x: [1, 2], y: y2, z: 1, zz: 2 } as never, before[1]])).toThrow(
      expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_ARG', message: expect.stringMatching(/field "zz"/) }),
    );
    expect(() => fp.set(0, [[1, 2], y2, 1, 9] as never)).toThrow(
      expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_ARG', message: expect.stringMatching(/4 items.*3 fields/) }),
    );
    expect(fp.toArray()).toEqual(before);
    // numpy 2.4's repr of the same records, character for character.
    expect(inspect(fp)).toBe(
      "memmap([([3, 2], [[ 6.,  4.], [ 6.,  4.]], 8),\n        ([4, 3], [[ 7., -1.], [ 7.,  5.]], 9)],\n       dtype=[('x', '<i4', (2,)), ('y', '<f8', (2, 2)), ('z', 'u1')])",
    );
    fp.close();
  });

  test("align: true pads as numpy's align=True", () => {
    const dtype = parseDType({ names: ['a', 'b', 'c'], formats: ['u1', '<i4', '<f8'], aligned: true });
    expect(dtype.fields!.map((f) => f.offset)).toEqual([0, 4, 8]);
    expect(dtype.itemsize).toBe(16);
    expect(pyRepr(descrOf(dtype))).toBe("[('a', '|u1'), ('', '|V3'), ('b', '<i4'), ('c', '<f8')]");
    const same = parseDType({
      fields: [
        ['a', 'u1'],
        ['b', '<i4'],
        ['c', '<f8'],
      ],
      align: true,
    });
    expect(same.str).toBe(dtype.str);
    expect(same.str).toBe(
      "{'names': ['a', 'b', 'c'], 'formats': ['u1', '<i4', '<f8'], 'offsets': [0, 4, 8], 'itemsize': 16, 'aligned': True}",
    );
  });

  test('align reaches nested records spelled inline, as numpy passes align to each format', () => {
    // numpy 2.4.6: np.dtype([('x', 'u1'), ('n', [('a', 'u1'), ('b', '<i4')])], align=True) puts n at 4
    // (the inner record aligned: b at 4, itemsize 8) in a 12-byte record; memmap put n at 1 in 6 bytes.
    const want = {
      offsets: [0, 4],
      inner: [0, 4],
      itemsize: 12,
      str: "{'names': ['x', 'n'], 'formats': ['u1', [('a', 'u1'), ('b', '<i4')]], 'offsets': [0, 4], 'itemsize': 12, 'aligned': True}",
    };
    for (const spec of [
      {
        fields: [
          ['x', 'u1'],
          [
            'n',
            [
              ['a', 'u1'],
              ['b', '<i4'],
            ],
          ],
        ],
        align: true,
      },
      {
        names: ['x', 'n'],
        formats: [
          'u1',
          [
            ['a', 'u1'],
            ['b', '<i4'],
          ],
        ],
        aligned: true,
      },
      { names: ['x', 'n'], formats: ['u1', { names: ['a', 'b'], formats: ['u1', '<i4'] }], aligned: true },
    ]) {
      const dtype = parseDType(spec as never);
      expect({
        offsets: dtype.fields!.map((f) => f.offset),
        inner: dtype.fields![1].dtype.fields!.map((f) => f.offset),
        itemsize: dtype.itemsize,
        str: dtype.str,
      }).toEqual(want);
    }
    // A sub-array of records, and a record given as a DType (made unaligned), as numpy keeps it.
    const sub = parseDType({
      fields: [
        ['x', 'u1'],
        [
          'n',
          [
            [
              ['a', 'u1'],
              ['b', '<i2'],
            ],
            [2],
          ],
        ],
      ],
      align: true,
    } as never);
    expect([sub.fields![1].offset, sub.itemsize]).toEqual([2, 10]);
    const made = parseDType([
      ['a', 'u1'],
      ['b', '<i4'],
    ]);
    const kept = parseDType({
      fields: [
        ['x', 'u1'],
        ['n', made],
      ],
      align: true,
    } as never);
    expect([kept.fields![1].offset, kept.itemsize, made.itemsize]).toEqual([1, 6, 5]);
  });

  // Each expectation is numpy 2.4.6's np.dtype of the same spec (the list form with align: true
  // standing for np.dtype(list, align=True)): a refusal there is a refusal here.
  test.each<[string, unknown, { offsets: number[]; itemsize: number; str?: string } | RegExp]>([
    [
      'an offset not a multiple of the field alignment',
      { names: ['a', 'b'], formats: ['u1', '<i4'], offsets: [0, 2], aligned: true },
      /^dtype\.offsets\[1\] 2 \(field "b"\) is not a multiple of the field's alignment 4/,
    ],
    [
      'an itemsize not a multiple of the record alignment',
      { names: ['a', 'b'], formats: ['u1', '<i4'], itemsize: 9, aligned: true },
      /^dtype\.itemsize 9 is not a multiple of the record's alignment 4/,
    ],
    [
      'aligned offsets, but an itemsize short of the padded end',
      { names: ['a', 'b'], formats: ['<i4', 'u1'], offsets: [0, 4], itemsize: 5, aligned: true },
      /^dtype\.itemsize 5 is smaller than the fields need \(8 bytes, padded to the alignment 4\)/,
    ],
    [
      'the same, aligned: false',
      { names: ['a', 'b'], formats: ['<i4', 'u1'], offsets: [0, 4], itemsize: 5, aligned: false },
      { offsets: [0, 4], itemsize: 5, str: "[('a', '<i4'), ('b', 'u1')]" },
    ],
    [
      'aligned: false inside a record with align: true (the outer align wins)',
      {
        fields: [
          ['x', 'u1'],
          ['n', { names: ['a', 'b'], formats: ['<i4', 'u1'], offsets: [0, 4], itemsize: 5, aligned: false }],
        ],
        align: true,
      },
      /^dtype\[1\] format\.itemsize 5 is smaller than the fields need \(8 bytes/,
    ],
    [
      'inner offsets under an outer align: true',
      {
        fields: [
          ['x', 'u1'],
          ['n', { names: ['a', 'b'], formats: ['u1', '<i4'], offsets: [0, 2] }],
        ],
        align: true,
      },
      /^dtype\[1\] format\.offsets\[1\] 2 \(field "b"\) is not a multiple of the field's alignment 4/,
    ],
    [
      'an inner itemsize under an outer align: true',
      {
        fields: [
          ['x', 'u1'],
          ['n', { names: ['a', 'b'], formats: ['u1', '<i2'], itemsize: 5 }],
        ],
        align: true,
      },
      /^dtype\[1\] format\.itemsize 5 is not a multiple of the record's alignment 2/,
    ],
    [
      'an inner itemsize in a sub-array under an outer align: true',
      {
        fields: [
          ['x', 'u1'],
          ['n', [{ names: ['a', 'b'], formats: ['u1', '<i2'], itemsize: 6 }, [2]]],
        ],
        align: true,
      },
      {
        offsets: [0, 2],
        itemsize: 14,
        str: "{'names': ['x', 'n'], 'formats': ['u1', ({'names': ['a', 'b'], 'formats': ['u1', '<i2'], 'offsets': [0, 2], 'itemsize': 6}, (2,))], 'offsets': [0, 2], 'itemsize': 14, 'aligned': True}",
      },
    ],
    [
      'a sub-array field aligns as its base',
      { names: ['a', 'b'], formats: ['<i4', ['<i2', [3]]], offsets: [4, 9], aligned: true },
      /^dtype\.offsets\[1\] 9 \(field "b"\) is not a multiple of the field's alignment 2/,
    ],
    [
      'a sub-array of bytes at an odd offset, fields out of order',
      { names: ['a', 'b'], formats: ['<i4', ['u1', [3]]], offsets: [4, 1], aligned: true },
      {
        offsets: [4, 1],
        itemsize: 8,
        str: "{'names': ['a', 'b'], 'formats': ['<i4', ('u1', (3,))], 'offsets': [4, 1], 'itemsize': 8, 'aligned': True}",
      },
    ],
    [
      'unicode aligns to 4, bytes to 1',
      { names: ['a', 'b'], formats: ['S3', '<U1'], offsets: [0, 3], aligned: true },
      /^dtype\.offsets\[1\] 3 \(field "b"\) is not a multiple of the field's alignment 4/,
    ],
    [
      'fields of alignment 1 take any itemsize',
      { names: ['a', 'b'], formats: ['S3', 'u1'], itemsize: 5, aligned: true },
      {
        offsets: [0, 3],
        itemsize: 5,
        str: "{'names': ['a', 'b'], 'formats': ['S3', 'u1'], 'offsets': [0, 3], 'itemsize': 5, 'aligned': True}",
      },
    ],
    [
      'no offsets, an itemsize that is a multiple of the alignment',
      { names: ['a', 'b'], formats: ['u1', '<i4'], itemsize: 12, aligned: true },
      { offsets: [0, 4], itemsize: 12 },
    ],
    [
      'no offsets, an itemsize that is not',
      { names: ['a', 'b'], formats: ['u1', '<i4'], itemsize: 10, aligned: true },
      /^dtype\.itemsize 10 is not a multiple of the record's alignment 4/,
    ],
    [
      'a nested record spelled inline is aligned, so aligns to 4',
      {
        names: ['a', 'n'],
        formats: [
          'u1',
          [
            ['a', 'u1'],
            ['b', '<i4'],
          ],
        ],
        offsets: [0, 1],
        aligned: true,
      },
      /^dtype\.offsets\[1\] 1 \(field "n"\) is not a multiple of the field's alignment 4/,
    ],
    [
      'titles',
      { names: ['a', 'b'], formats: ['u1', '<i4'], titles: ['first', null], offsets: [0, 2], aligned: true },
      /^dtype\.offsets\[1\] 2 \(field "b"\)/,
    ],
    [
      'titles, aligned',
      {
        names: ['a', 'b'],
        formats: ['u1', '<i4'],
        titles: ['first', null],
        offsets: [0, 8],
        itemsize: 12,
        aligned: true,
      },
      {
        offsets: [0, 8],
        itemsize: 12,
        str: "{'names': ['a', 'b'], 'formats': ['u1', '<i4'], 'offsets': [0, 8], 'titles': ['first', None], 'itemsize': 12, 'aligned': True}",
      },
    ],
    ['aligned: 1', { names: ['a'], formats: ['<i4'], aligned: 1 }, /^dtype\.aligned must be true or false; got 1/],
    [
      'aligned: null',
      { names: ['a'], formats: ['<i4'], aligned: null },
      /^dtype\.aligned must be true or false; got null/,
    ],
  ])('align: true with explicit offsets or itemsize as numpy: %s', (_label, spec, want) => {
    if (want instanceof RegExp) {
      expect(() => parseDType(spec as never)).toThrow(
        expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_DTYPE', message: expect.stringMatching(want) }),
      );
      return;
    }
    const dtype = parseDType(spec as never);
    expect(dtype.fields!.map((f) => f.offset)).toEqual(want.offsets);
    expect(dtype.itemsize).toBe(want.itemsize);
    if (want.str !== undefined) expect(dtype.str).toBe(want.str);
  });

  test('a record made unaligned keeps alignment 1 inside an aligned dict, as numpy', () => {
    const made = parseDType([
      ['a', 'u1'],
      ['b', '<i4'],
    ]);
    const dtype = parseDType({ names: ['a', 'n'], formats: ['u1', made], offsets: [0, 1], aligned: true });
    expect([dtype.itemsize, dtype.str]).toEqual([
      6,
      "{'names': ['a', 'n'], 'formats': ['u1', [('a', 'u1'), ('b', '<i4')]], 'offsets': [0, 1], 'itemsize': 6, 'aligned': True}",
    ]);
  });

  test("a sub-array field whose format is a sub-array keeps numpy's nesting in str and descr; its values are (2, 5)", () => {
    // numpy: np.dtype([('a', '<i4'), ('c', ('<f8', (5,)), (2,))])
    const dtype = parseDType([
      ['a', '<i4'],
      ['c', ['<f8', [5]], [2]],
    ]);
    expect(dtype.str).toBe("[('a', '<i4'), ('c', ('<f8', (5,)), (2,))]");
    expect(pyRepr(descrOf(dtype))).toBe("[('a', '<i4'), ('c', ('<f8', (5,)), (2,))]");
    expect(dtype.itemsize).toBe(84);
    expect(dtype.fields![1].shape).toEqual([2, 5]);
    // Without an outer shape it is a plain sub-array, as numpy prints it.
    expect(parseDType([['c', ['<f8', [5]]]]).str).toBe("[('c', '<f8', (5,))]");
    const fp = memmap(temp('nested.bin'), { dtype, mode: 'w+', shape: 1 });
    const c = [
      [0, 1, 2, 3, 4],
      [5, 6, 7, 8, 9],
    ];
    fp.set(0, { a: 7, c });
    expect(fp.get(0)).toEqual({ a: 7, c });
    expect(fp.field('c').shape).toEqual([1, 2, 5]);
    fp.close();
  });

  test('bad record specs are coded TypeErrors', () => {
    expect(() =>
      parseDType([
        ['x', 'f4'],
        ['x', 'i4'],
      ]),
    ).toThrow(expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_DTYPE', message: expect.stringMatching(/twice/) }));
    expect(() => parseDType([['x']])).toThrow(expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_DTYPE' }));
    expect(() => parseDType({ names: ['x'], formats: ['f4', 'i4'] })).toThrow(
      expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_DTYPE' }),
    );
    expect(() => parseDType([['x', 'O']])).toThrow(expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_DTYPE' }));
  });
});

describeNumpy('records against live numpy', () => {
  const cases = pythonJson<
    {
      label: string;
      path: string;
      str: string;
      descr: string;
      itemsize: number;
      offsets: number[];
      values: unknown;
      repr: string;
    }[]
  >(
    `
import sys, json, os, numpy as np, numpy_json
Pdescr = [('x', 'i4', (2,)), ('y', 'f8', (2, 2)), ('z', 'u1')]
PbufferT = [([3, 2], [[6., 4.], [6., 4.]], 8), ([4, 3], [[7., 5.], [7., 5.]], 9)]
Ndescr = [('x', 'i4', (2,)), ('Info', [('value', 'c16'), ('y2', 'f8'), ('Info2', [('name', 'S2'), ('value', 'c16', (2,)), ('y3', 'f8', (2,)), ('z3', 'u4', (2,))]), ('name', 'S2'), ('z2', 'b1')]), ('color', 'S2'), ('info', [('Name', 'U8'), ('Value', 'c16')]), ('y', 'f8', (2, 2)), ('z', 'u1')]
NbufferT = [([3, 2], (6j, 6., (b'nn', [6j, 4j], [6., 4.], [1, 2]), b'NN', True), b'cc', ('NN', 6j), [[6., 4.], [6., 4.]], 8),
            ([4, 3], (7j, 7., (b'oo', [7j, 5j], [7., 5.], [2, 1]), b'OO', False), b'dd', ('OO', 7j), [[7., 5.], [7., 5.]], 9)]
arrays = {
  'P little': np.array(PbufferT, dtype=np.dtype(Pdescr).newbyteorder('<')),
  'N little': np.array(NbufferT, dtype=np.dtype(Ndescr).newbyteorder('<')),
  'P big': np.array(PbufferT, dtype=np.dtype(Pdescr).newbyteorder('>')),
  'N big': np.array(NbufferT, dtype=np.dtype(Ndescr).newbyteorder('>')),
  'aligned': np.array([(1, 2.5, b'ab'), (3, -1.0, b'')], dtype=np.dtype([('a', 'u1'), ('b', '<f8'), ('c', 'S3')], align=True)),
  'padded': np.array([(1, 2), (3, 4)], dtype=np.dtype({'names': ['x', 'y'], 'formats': ['<f4', '>i4'], 'offsets': [4, 12], 'itemsize': 20})),
  'titles, strings, datetimes': np.array([(1.5, 'é', np.datetime64('2020-01-02T03:04:05', 's'), True)], dtype=[(('a title', 't'), '<f8'), ('u', '<U2'), ('d', '>M8[s]'), ('b', '?')]),
  # The last of test_format.py's record_arrays: a sub-array field whose format is itself a sub-array.
  'nested sub-array': np.array([(1, np.arange(10.).reshape(2, 5)), (-2, -np.arange(10.).reshape(2, 5))], dtype=[('a', '<i4'), ('c', ('<f8', (5,)), (2,))]),
}
out = []
for i, (label, a) in enumerate(arrays.items()):
    path = os.path.join(sys.argv[1], f'rec{i}.npy')
    np.save(path, a)
    b = np.load(path, mmap_mode='r')  # what numpy itself makes of the file
    out.append({'label': label, 'path': path, 'str': str(b.dtype), 'descr': repr(b.dtype.descr), 'itemsize': b.dtype.itemsize,
                'offsets': [b.dtype.fields[k][1] for k in b.dtype.names], 'values': numpy_json.to_json(b), 'repr': repr(b)})
print(json.dumps(out))
`,
    dir,
  );

  test.each(cases.map((c) => [c.label, c] as const))(
    "%s: numpy's .npy opens with the same dtype, values, fields and repr",
    (_label, c) => {
      const fp = openMemmap(c.path, { mode: 'r' });
      expect(fp.itemsize).toBe(c.itemsize);
      expect(pyRepr(descrOf(parseDTypeOf(fp)))).toBe(c.descr);
      expect(toJson(fp.toArray())).toEqual(c.values);
      for (const field of parseDTypeOf(fp).fields!) {
        expect(toJson(fp.field(field.name).toArray())).toEqual(
          (c.values as Record<string, unknown>[]).map((record) => record[field.name]),
        );
      }
      expect(inspect(fp)).toBe(c.repr);
      fp.close();
    },
  );

  test.each(cases.map((c) => [c.label, c] as const))(
    "%s: written here, byte-identical to numpy's open_memmap, and numpy reads it back",
    (_label, c) => {
      const source = openMemmap(c.path, { mode: 'r' });
      const ours = temp('ours.npy');
      const out = openMemmap(ours, { mode: 'w+', dtype: parseDTypeOf(source), shape: [...source.shape] });
      out.assign(source.toArray());
      out.close();
      source.close();
      const theirs = temp('theirs.npy');
      const numpySees = pythonJson(
        `
import sys, json, numpy as np, numpy_json
from numpy.lib.format import open_memmap
a = np.load(sys.argv[1])
m = open_memmap(sys.argv[2], mode='w+', dtype=a.dtype, shape=a.shape); m[...] = a; m.flush(); del m
print(json.dumps(numpy_json.to_json(a)))
`,
        ours,
        theirs,
      );
      expect(numpySees).toEqual(c.values);
      expect(readFileSync(ours)).toEqual(readFileSync(theirs));
    },
  );

  test('test_descr_to_dtype: descr lists round-trip as numpy does', () => {
    const descrs = [
      "'<i8'",
      "'<f4'",
      "[('x', '<i4', (2,)), ('y', '<f8')]",
      "[('x', '|u1'), ('', '|V3'), ('y', '<i4')]",
      "[(('a title', 't'), '<f8'), ('', '|V8')]",
      "[('n', [('a', '<f4'), ('', '|V4'), ('b', '|u1')]), ('c', '>f8')]",
      "[('a', '<i4'), ('c', ('<f8', (5,)), (2,))]",
      "[('c', ('>i2', (3,)))]",
    ];
    const expected = pythonJson<{ str: string; descr: string }[]>(
      `
import sys, json, ast, numpy as np
from numpy.lib.format import descr_to_dtype, dtype_to_descr
print(json.dumps([{'str': str(descr_to_dtype(ast.literal_eval(d))), 'descr': repr(dtype_to_descr(descr_to_dtype(ast.literal_eval(d))))} for d in json.loads(sys.argv[1])]))
`,
      JSON.stringify(descrs),
    );
    const { parsePyLiteral } = jest.requireActual('../ts/pyliteral') as typeof import('../ts/pyliteral');
    const { descrToDType } = jest.requireActual('../ts/npyformat') as typeof import('../ts/npyformat');
    descrs.forEach((text, i) => {
      const dtype = descrToDType(parsePyLiteral(text));
      expect([text, dtype.str]).toEqual([text, expected[i].str]);
      const descr = descrOf(dtype);
      expect([text, typeof descr === 'string' ? `'${descr}'` : pyRepr(descr)]).toEqual([text, expected[i].descr]);
    });
  });

  test('test_unicode_field_names: a non-latin-1 name makes version 3.0, as numpy writes it', () => {
    const ours = temp('ours.npy');
    const theirs = temp('theirs.npy');
    const fp = openMemmap(ours, {
      mode: 'w+',
      dtype: [
        ['int', 'i4'],
        ['int_\u1234', 'i4'],
      ] as const,
      shape: 2,
    });
    fp.set(1, { int: 1, 'int_\u1234': 2 });
    fp.close();
    pythonJson(
      `
import sys, json, warnings, numpy as np
from numpy.lib.format import open_memmap
warnings.simplefilter('ignore')
m = open_memmap(sys.argv[1], mode='w+', dtype=[('int', 'i4'), ('int_\\u1234', 'i4')], shape=(2,)); m[1] = (1, 2); m.flush(); del m
print('{}')`,
      theirs,
    );
    expect(readFileSync(ours)[6]).toBe(3);
    expect(readFileSync(ours)).toEqual(readFileSync(theirs));
  });

  test('test_version_2_0_memmap: a header past 65535 bytes makes version 2.0, as numpy writes it', () => {
    const fields = Array.from({ length: 3000 }, (_, i) => [String(i).padStart(20, '0'), '<f8'] as const);
    const ours = temp('ours.npy');
    const theirs = temp('theirs.npy');
    const fp = openMemmap(ours, { mode: 'w+', dtype: fields, shape: 2 });
    fp.close();
    pythonJson(
      `
import sys, json, warnings, numpy as np
from numpy.lib.format import open_memmap
warnings.simplefilter('ignore')
dt = [('%020d' % i, '<f8') for i in range(3000)]
m = open_memmap(sys.argv[1], mode='w+', dtype=dt, shape=(2,)); m.flush(); del m
print('{}')`,
      theirs,
    );
    expect(readFileSync(ours)[6]).toBe(2);
    expect(readFileSync(ours)).toEqual(readFileSync(theirs));
    const again = openMemmap(ours, { mode: 'r' });
    expect(again.itemsize).toBe(3000 * 8);
    again.close();
  });
});

/** The DType of an open map, re-parsed from its fields (the public dtype is numpy's str). */
function parseDTypeOf(fp: ReturnType<typeof memmap>) {
  return fp.dtypeObject;
}

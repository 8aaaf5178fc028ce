/**
 * Bytes S<n>, unicode U<n>, void V<n>, datetime64[unit] and timedelta64[unit]
 * (issue 4, first part), against numpy: values, repr, writes, and .npy files.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { memmap, openMemmap, parseDType } from '../ts/index';
import { describeNumpy, pythonJson, tempDir, toJson } from './helpers';

const dir = tempDir();
const json = (value: unknown): unknown =>
  value instanceof Uint8Array ? Array.from(value) : Array.isArray(value) ? value.map(json) : toJson(value);

describe('spellings and str(dtype), as numpy prints them', () => {
  test.each([
    ['S5', '|S5', '|S5', 5],
    ['a5', '|S5', '|S5', 5],
    ['<U3', '<U3', '<U3', 12],
    ['>U3', '>U3', '>U3', 12],
    ['V8', '|V8', '|V8', 8],
    ['M8[ns]', 'datetime64[ns]', '<M8[ns]', 8],
    ['datetime64[ms]', 'datetime64[ms]', '<M8[ms]', 8],
    ['>M8[D]', '>M8[D]', '>M8[D]', 8],
    ['m8[us]', 'timedelta64[us]', '<m8[us]', 8],
    ['timedelta64[h]', 'timedelta64[h]', '<m8[h]', 8],
  ] as const)('%s', (spelling, str, descr, itemsize) => {
    const dtype = parseDType(spelling);
    expect([dtype.str, dtype.descr, dtype.itemsize]).toEqual([str, descr, itemsize]);
  });
});

describe('values, without numpy', () => {
  test('bytes trim trailing NULs, refuse non-ASCII text, truncate long values as numpy does', () => {
    const fp = memmap(join(dir, 's.bin'), { dtype: 'S4', mode: 'w+', shape: 3 });
    fp.set(0, 'ab');
    fp.set(1, Uint8Array.of(0x63, 0, 0x64));
    fp.set(2, 'abcdef');
    expect(json(fp.toArray())).toEqual([
      [0x61, 0x62],
      [0x63, 0, 0x64],
      [0x61, 0x62, 0x63, 0x64],
    ]);
    expect(() => fp.set(0, 'é')).toThrow(expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_ARG' }));
    expect(Array.from(fp.data as Uint8Array)).toEqual([0x61, 0x62, 0, 0, 0x63, 0, 0x64, 0, 0x61, 0x62, 0x63, 0x64]);
    fp.close();
  });

  test('unicode is UTF-32: astral characters, both byte orders, data as Uint32Array', () => {
    for (const dtype of ['<U3', '>U3']) {
      const fp = memmap(join(dir, `u${dtype[0] === '<' ? 'le' : 'be'}.bin`), { dtype, mode: 'w+', shape: 2 });
      fp.assign(['é😀', 'abcd']);
      expect(fp.toArray()).toEqual(['é😀', 'abc']);
      if (dtype === '<U3') expect(Array.from(fp.data as Uint32Array)).toEqual([0xe9, 0x1f600, 0, 0x61, 0x62, 0x63]);
      else expect(() => fp.data).toThrow(expect.objectContaining({ code: 'ERR_MEMMAP_NO_TYPED_ARRAY' }));
      fp.close();
    }
  });

  test('datetime64 values are bigint counts of the unit; NaT as numpy stores it', () => {
    const fp = memmap(join(dir, 'm.bin'), { dtype: 'M8[s]', mode: 'w+', shape: 3 });
    fp.assign([1577836800n, 'NaT', -1]);
    expect(fp.toArray()).toEqual([1577836800n, -(2n ** 63n), -1n]);
    // numpy 2.4's repr of the same values, character for character.
    expect(inspect(fp)).toBe(
      "memmap(['2020-01-01T00:00:00',                 'NaT',\n        '1969-12-31T23:59:59'], dtype='datetime64[s]')",
    );
    // @ts-expect-error: numpy does not add datetimes, and sum() of one does not compile
    expect(() => fp.sum()).toThrow(expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_DTYPE' }));
    fp.close();
  });
});

describeNumpy('against live numpy', () => {
  const EXTRA = pythonJson<string[]>('import json, numpy_json; print(json.dumps(numpy_json.EXTRA_DTYPES))');

  test.each(EXTRA)('%s: numpy writes (C and F, offset 3) and memmap reads equal, with the same repr', (descr) => {
    for (const order of ['C', 'F'] as const) {
      const path = join(dir, `np-${descr.replace(/[<>|[\]]/g, '_')}-${order}.bin`);
      const expected = pythonJson<{ values: unknown; repr: string }>(
        `
import sys, json, numpy as np, numpy_json
path, descr, order = sys.argv[1], sys.argv[2], sys.argv[3]
data = numpy_json.sample(descr, (3, 4), seed=5)
fp = np.memmap(path, dtype=descr, mode='w+', shape=(3, 4), order=order, offset=3)
fp[...] = data; fp.flush()
print(json.dumps({'values': numpy_json.to_json(np.asarray(fp)), 'repr': repr(fp)}))
`,
        path,
        descr,
        order,
      );
      const fp = memmap(path, { dtype: descr, mode: 'r', shape: [3, 4], order, offset: 3 });
      expect(json(fp.toArray())).toEqual(expected.values);
      expect(inspect(fp)).toBe(expected.repr);
      fp.close();
    }
  });

  test.each(EXTRA)('%s: memmap writes, numpy reads equal; .npy files byte-identical to open_memmap', (descr) => {
    const source = join(dir, `src-${descr.replace(/[<>|[\]]/g, '_')}.bin`);
    const values = pythonJson(
      `
import sys, json, numpy as np, numpy_json
data = numpy_json.sample(sys.argv[2], (2, 5), seed=9)
data.tofile(sys.argv[1])
print(json.dumps(numpy_json.to_json(data)))
`,
      source,
      descr,
    );
    const src = memmap(source, { dtype: descr, mode: 'r', shape: [2, 5] });
    const ours = join(dir, `ours-${descr.replace(/[<>|[\]]/g, '_')}.npy`);
    const out = openMemmap(ours, { mode: 'w+', dtype: descr, shape: [2, 5], fortranOrder: true });
    out.assign(src);
    out.close();
    src.close();
    const theirs = ours.replace('ours-', 'theirs-');
    const numpySees = pythonJson(
      `
import sys, json, numpy as np, numpy_json
from numpy.lib.format import open_memmap
a = np.load(sys.argv[1])
m = open_memmap(sys.argv[2], mode='w+', dtype=sys.argv[3], shape=(2, 5), fortran_order=True); m[...] = a; m.flush(); del m
print(json.dumps(numpy_json.to_json(a)))
`,
      ours,
      theirs,
      descr,
    );
    expect(numpySees).toEqual(values);
    expect(readFileSync(ours)).toEqual(readFileSync(theirs));
  });
});

describeNumpy('datetime64/timedelta64 of another unit: append() and assign() convert as numpy', () => {
  const VALUES = ['-1500', '-1000', '-61', '-1', '0', '1', '59', '1500', '123456789', 'NaT'];
  const PAIRS: [string, string][] = [
    ['M8[s]', 'M8[ms]'],
    ['M8[ms]', 'M8[s]'],
    ['M8[h]', 'M8[s]'],
    ['M8[D]', 'M8[W]'],
    ['M8[W]', 'M8[D]'],
    ['M8[Y]', 'M8[M]'],
    ['M8[M]', 'M8[Y]'],
    ['M8[M]', 'M8[D]'],
    ['M8[D]', 'M8[M]'],
    ['M8[h]', 'M8[M]'],
    ['M8[Y]', 'M8[D]'],
    ['M8[ns]', 'M8[D]'],
    ['M8[us]', 'M8[Y]'],
    ['m8[s]', 'm8[ms]'],
    ['m8[ms]', 'm8[s]'],
    ['m8[h]', 'm8[s]'],
    ['m8[ns]', 'm8[m]'],
    ['m8[Y]', 'm8[M]'],
    ['m8[M]', 'm8[Y]'],
  ];

  test('the counts in the file are what numpy astype (and np.append) give: floor, NaT kept, calendar months', () => {
    const cases = PAIRS.map(([from, to], k) => {
      const source = memmap(join(dir, `tu-src-${k}.bin`), { dtype: from, mode: 'w+', shape: [VALUES.length] });
      VALUES.forEach((value, i) => source.set(i, value === 'NaT' ? 'NaT' : BigInt(value)));
      const assigned = join(dir, `tu-assign-${k}.bin`);
      const target = memmap(assigned, { dtype: to, mode: 'w+', shape: [VALUES.length] });
      target.assign(source);
      target.close();
      const appended = join(dir, `tu-append-${k}.npy`);
      const grown = openMemmap(appended, { mode: 'w+', dtype: to, shape: [0] });
      grown.append(source);
      grown.close();
      source.close();
      return { from, to, assigned, appended };
    });
    const got = pythonJson<{ expected: string[]; assigned: string[]; appended: string[] }[]>(
      `
import sys, json, numpy as np
values, cases = json.loads(sys.argv[1]), json.loads(sys.argv[2])
out = []
for c in cases:
    src = np.array([np.iinfo('i8').min if v == 'NaT' else int(v) for v in values], dtype='i8').view(c['from'])
    expected = np.append(np.zeros(0, c['to']), src).astype(c['to']).view('i8')
    out.append({
        'expected': [str(x) for x in expected],
        'assigned': [str(x) for x in np.fromfile(c['assigned'], dtype='i8')],
        'appended': [str(x) for x in np.load(c['appended']).view('i8')],
    })
print(json.dumps(out))
`,
      JSON.stringify(VALUES),
      JSON.stringify(cases),
    );
    cases.forEach(({ from, to }, k) => {
      expect([from, to, got[k].assigned]).toEqual([from, to, got[k].expected]);
      expect([from, to, got[k].appended]).toEqual([from, to, got[k].expected]);
    });
  });

  test('refused, coded, naming both units, the file unchanged: m8 in months to days (numpy same_kind refuses), overflow', () => {
    const months = memmap(join(dir, 'tu-months.bin'), { dtype: 'm8[M]', mode: 'w+', shape: [1] });
    months.set(0, 1n);
    const days = memmap(join(dir, 'tu-days.bin'), { dtype: 'm8[D]', mode: 'w+', shape: [1] });
    days.set(0, 7n);
    expect(() => days.assign(months)).toThrow(
      expect.objectContaining({
        code: 'ERR_MEMMAP_INVALID_DTYPE',
        message: expect.stringMatching(/timedelta64\[M\].*timedelta64\[D\]/),
      }),
    );
    const grown = openMemmap(join(dir, 'tu-days.npy'), { mode: 'w+', dtype: 'm8[D]', shape: [0] });
    expect(() => grown.append(months)).toThrow(expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_DTYPE' }));
    expect(grown.shape).toEqual([0]);
    const far = memmap(join(dir, 'tu-far.bin'), { dtype: 'M8[s]', mode: 'w+', shape: [2] });
    far.set(0, 1n);
    far.set(1, 2n ** 62n);
    const fine = memmap(join(dir, 'tu-fine.bin'), { dtype: 'M8[ns]', mode: 'w+', shape: [2] });
    fine.set(0, 5n);
    expect(() => fine.assign(far)).toThrow(
      expect.objectContaining({
        code: 'ERR_MEMMAP_VALUE_OUT_OF_RANGE',
        message: expect.stringMatching(/datetime64\[s\].*datetime64\[ns\]/),
      }),
    );
    expect(days.get(0)).toBe(7n);
    expect(fine.get(0)).toBe(5n);
    for (const fp of [months, days, grown, far, fine]) fp.close();
  });
});

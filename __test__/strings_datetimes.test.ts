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
    ['M8[10s]', 'datetime64[10s]', '<M8[10s]', 8],
    ['>m8[250ms]', '>m8[250ms]', '>m8[250ms]', 8],
    ['datetime64[007D]', 'datetime64[7D]', '<M8[7D]', 8],
    ['M8[+3M]', 'datetime64[3M]', '<M8[3M]', 8],
    ['M8[1s]', 'datetime64[s]', '<M8[s]', 8],
    // numpy takes a byte order before the long names too.
    ['>datetime64[ns]', '>M8[ns]', '>M8[ns]', 8],
    ['<timedelta64[10s]', 'timedelta64[10s]', '<m8[10s]', 8],
  ] as const)('%s', (spelling, str, descr, itemsize) => {
    const dtype = parseDType(spelling);
    expect([dtype.str, dtype.descr, dtype.itemsize]).toEqual([str, descr, itemsize]);
  });
});

describe('multiples of a time unit', () => {
  test.each([
    ['M8[0s]', /from 1 to 2\^31 - 1.*got 0/],
    ['m8[2147483648ms]', /from 1 to 2\^31 - 1.*got 2147483648/],
    ['M8[-1s]', /not a data type/],
    ['M8[10]', /not a data type/],
    ['M8[10 s]', /not a data type/],
    ['M8[10x]', /not a data type/],
  ])('%s is refused, coded, naming the spelling', (spelling, message) => {
    expect(() => parseDType(spelling)).toThrow(
      expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_DTYPE', message: expect.stringMatching(message) }),
    );
  });

  test('a count is that many of the unit: values, Dates, strings and repr', () => {
    const fp = memmap(join(dir, 'multiple-10s.bin'), { dtype: 'M8[10s]', mode: 'w+', shape: 3 });
    fp.assign([3n, -2n, 'NaT']);
    expect(fp.toArray({ dates: true })).toEqual([new Date(30_000), new Date(-20_000), null]);
    // numpy 2.4's repr of the same values.
    expect(inspect(fp)).toBe(
      "memmap(['1970-01-01T00:00:30', '1969-12-31T23:59:40',\n                        'NaT'], dtype='datetime64[10s]')",
    );
    fp.set(0, '2020-01-01T00:00:15');
    fp.set(1, new Date(-15_000));
    expect(fp.toArray()).toEqual([157783681n, -2n, -(2n ** 63n)]);
    fp.close();
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

  // numpy's str holds any 32-bit code unit; a JavaScript string cannot hold one past U+10FFFF,
  // nor tell a surrogate pair from the character it encodes: a coded error, never another value.
  test('code points a JavaScript string cannot hold are refused on read; a lone surrogate reads and writes back', () => {
    const fp = memmap(join(dir, 'u-odd.bin'), { dtype: '<U2', mode: 'w+', shape: 3 });
    const units = fp.data as Uint32Array;
    units.set([0x110000, 0x41, 0xd800, 0xdc00, 0xd800, 0x41]);
    for (const i of [0, 1]) {
      expect(() => fp.get(i)).toThrow(expect.objectContaining({ code: 'ERR_MEMMAP_VALUE_OUT_OF_RANGE' }));
    }
    expect(() => fp.toArray()).toThrow(/0x110000 at character 0, past U\+10FFFF/);
    expect(fp.get(2)).toBe('\ud800A');
    fp.set(2, fp.get(2) as string);
    expect(Array.from(units.subarray(4))).toEqual([0xd800, 0x41]);
    fp.close();
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

  test('a fractional number is no count: refused as numpy refuses a float, the file unchanged', () => {
    // numpy: a[0] = 1.5 and a.fill(2.5) raise "Could not convert object to
    // NumPy timedelta"; storing 1 for 1.5 seconds would lose the half.
    for (const dtype of ['m8[s]', 'M8[ms]', '>m8[10us]'] as const) {
      const fp = memmap(join(dir, 'frac.bin'), { dtype, mode: 'w+', shape: 3 });
      fp.assign([1, 2n, true]);
      for (const attempt of [
        () => fp.set(0, 1.5),
        () => fp.fill(-0.5),
        () => fp.assign([1, 2, 2.5]),
        () => fp.assign(new Float64Array([1, 2, 1e-9])),
      ]) {
        expect(attempt).toThrow(expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_ARG' }));
        expect(fp.toArray()).toEqual([1n, 2n, 1n]);
      }
      fp.assign(new Float64Array([4, -5, 6])); // whole numbers are counts
      expect(fp.toArray()).toEqual([4n, -5n, 6n]);
      fp.close();
    }
  });
});

describeNumpy('datetime64 from Date objects and ISO strings, as numpy assigns them', () => {
  const strings = [
    '2020-01-01T12',
    '2020-01-01T23:59:59.999',
    '2020-01',
    '2020',
    '-0001-03-01',
    '+10000-01-01',
    'nat',
    'NaT',
    '',
    ' 2020-02-29',
    '2020-01-01 12:00',
    '1969-12-31T23:59:59.999999999999',
    '2020-01-01T12:00:00.123456789123',
    '2020-01-01T00:00:00Z',
    '2020-01-01T00:00+01:00',
    '2020-01-01T00:00-0130',
    '1',
    '400',
    '-44',
    '+0',
    '2020-01-01T00:00:00.',
    '2020-01-01T05 ',
    '2020-01-01T00+05',
    '2020-01-01T00:00:00.5Z\t',
  ];
  const bad = [
    ' NaT',
    'NaT ',
    '  ',
    '\u00a02020-01-01',
    '2020-01-01T00:00+24:00',
    '2020-01-01T00:00:00.1234567890123456789',
    '2020-01-01 ',
    '2020-1-1',
    '2020-01-01Z',
    '2020-02-30',
    '2021-02-29',
    '2020-13-01',
    '2020-01-01T24',
    'yesterday',
  ];
  // The units down to ns (numpy's strings need a Date's range), then multiples.
  const units = 'Y M W D h m s ms us ns 3Y 5M 2W 10D 7h 15m 10s 250ms'.split(' ');
  test('strings and Dates give numpy counts in every unit; what numpy refuses is a coded error', () => {
    const expected = pythonJson<{
      strings: Record<string, (string | null)[]>;
      bad: boolean[];
      dates: Record<string, string[]>;
    }>(
      `
import json, sys, warnings
import numpy as np
warnings.simplefilter('ignore')
strings, bad, units, dates = (json.loads(a) for a in sys.argv[1:5])
out = {'strings': {}, 'dates': {}, 'bad': []}
for u in units:
    a = np.zeros(len(strings), f'M8[{u}]')
    for i, t in enumerate(strings): a[i] = t
    out['strings'][u] = [None if np.isnat(x) else str(x.astype('i8')) for x in a]
    # A Date is a count of milliseconds: numpy converts M8[ms] to the unit.
    out['dates'][u] = [str(x) for x in np.array(dates, 'i8').view('M8[ms]').astype(f'M8[{u}]').astype('i8')]
for t in bad:
    try:
        np.datetime64(t, 'ns'); out['bad'].append(False)
    except ValueError:
        out['bad'].append(True)
print(json.dumps(out))
`,
      JSON.stringify(strings),
      JSON.stringify(bad),
      JSON.stringify(units),
      JSON.stringify([0, -1, 1577836800123, -1000000000001]),
    );
    expect(expected.bad.every(Boolean)).toBe(true);
    const dates = [0, -1, 1577836800123, -1000000000001].map((ms) => new Date(ms));
    // Years before 1678 or after 2261 do not fit datetime64[ns]: numpy wraps them, memmap refuses.
    const far = ['-0001-03-01', '+10000-01-01', '1', '400', '-44', '+0'];
    for (const unit of units) {
      const fp = memmap(join(dir, `iso-${unit}.bin`), {
        dtype: `datetime64[${unit}]` as 'datetime64[s]',
        mode: 'w+',
        shape: strings.length,
      });
      const fits = (text: string) => unit !== 'ns' || !far.includes(text);
      fp.assign(strings.map((text) => (fits(text) ? text : 'NaT')));
      const counts = (fp.toArray() as bigint[]).map((n) => (n === -(2n ** 63n) ? null : String(n)));
      const numpy = expected.strings[unit].map((count, i) => (fits(strings[i]) ? count : null));
      expect([unit, counts]).toEqual([unit, numpy]);
      for (const text of strings.filter((t) => !fits(t))) {
        expect(() => fp.set(0, text)).toThrow(expect.objectContaining({ code: 'ERR_MEMMAP_VALUE_OUT_OF_RANGE' }));
      }
      fp.slice(':4').assign(dates);
      expect([unit, (fp.slice(':4').toArray() as bigint[]).map(String)]).toEqual([unit, expected.dates[unit]]);
      for (const text of bad) {
        expect(() => fp.set(0, text)).toThrow(expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_ARG' }));
      }
      expect(() => fp.set(0, new Date(NaN))).toThrow(expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_ARG' }));
      // numpy reads this as year 2145, dropping the sign: refused instead.
      expect(() => fp.set(0, ' -2145-02-28')).toThrow(/sign numpy would drop/);
      fp.close();
    }
    // numpy's 'today' (a UTC day) and 'now' (a UTC second), in any case.
    const today = memmap(join(dir, 'iso-today.bin'), { dtype: 'M8[D]', mode: 'w+', shape: 2 });
    const before = BigInt(Math.floor(Date.now() / 864e5));
    today.assign(['Today', 'NOW']);
    const after = BigInt(Math.floor(Date.now() / 864e5));
    for (const day of today.toArray() as bigint[]) expect(day >= before && day <= after).toBe(true);
    today.close();
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
    // Multiples of a unit.
    ['M8[s]', 'M8[10s]'],
    ['M8[10s]', 'M8[s]'],
    ['M8[10s]', 'M8[7s]'],
    ['M8[250ms]', 'M8[m]'],
    ['M8[3M]', 'M8[D]'],
    ['M8[D]', 'M8[3M]'],
    ['M8[2Y]', 'M8[5M]'],
    ['M8[10h]', 'M8[2M]'],
    ['M8[2W]', 'M8[3D]'],
    ['m8[s]', 'm8[10s]'],
    ['m8[10s]', 'm8[7s]'],
    ['m8[3M]', 'm8[2Y]'],
    ['m8[2W]', 'm8[h]'],
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

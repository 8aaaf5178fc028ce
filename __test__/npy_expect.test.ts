/**
 * openMemmap(path, { mode: 'r', dtype, shape }): a dtype or shape given for an
 * existing file is checked against its header at open, a difference is a
 * coded error naming what the file holds, and nothing on disk changes.
 */
import { copyFileSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openMemmap } from '../ts/index';
import { describeNumpy, FIXTURES, python, tempDir } from './helpers';

interface NpyFixture {
  file: string;
  dtype: unknown;
  str: string;
  shape: number[];
}

const fixtures: NpyFixture[] = JSON.parse(readFileSync(join(FIXTURES, 'npy', 'manifest.json'), 'utf8'));
const dir = tempDir();
let n = 0;
/** A private copy of a fixture, so that a mode that could write never touches the committed one. */
const copy = (file: string) => {
  const path = join(dir, `${n++}-${file}`);
  copyFileSync(join(FIXTURES, 'npy', file), path);
  return path;
};

/** The file's bytes and times, to prove a failed open changed nothing. */
const snapshot = (path: string) => {
  const { size, mtimeMs, ctimeMs } = statSync(path);
  return { bytes: readFileSync(path).toString('base64'), size, mtimeMs, ctimeMs };
};

const MODES = ['r', 'c', 'r+', 'readonly', 'copyonwrite', 'readwrite'] as const;

describe('a dtype and shape given for an existing .npy file', () => {
  test.each(fixtures.map((f) => [f.file, f.str, f] as const))(
    '%s (%s): its own dtype and shape open it, in every mode that opens a file',
    (file, _str, fixture) => {
      const path = copy(file);
      const found = openMemmap(path, { mode: 'r' });
      const spelling = typeof fixture.dtype === 'string' ? fixture.dtype : found.dtypeObject;
      found.close();
      for (const mode of MODES) {
        const fp = openMemmap(path, { mode, dtype: spelling, shape: fixture.shape });
        expect([fp.dtype, fp.shape]).toEqual([fixture.str, fixture.shape]);
        fp.close();
      }
    },
  );

  test.each(fixtures.filter((f) => typeof f.dtype === 'string').map((f) => [f.file, f.str, f] as const))(
    '%s (%s): another dtype is ERR_NPY_DTYPE_MISMATCH naming what the file holds; the file is unchanged',
    (file, str, fixture) => {
      const path = copy(file);
      const other = fixture.str === 'int8' ? 'uint8' : 'int8';
      const before = snapshot(path);
      for (const mode of MODES) {
        expect(() => openMemmap(path, { mode, dtype: other })).toThrow(
          expect.objectContaining({
            name: 'TypeError',
            code: 'ERR_NPY_DTYPE_MISMATCH',
            message: expect.stringContaining(`holds "${str}"`),
          }),
        );
      }
      expect(snapshot(path)).toEqual(before);
    },
  );

  test('byte order is part of the dtype: <f4 is not >f4, and float32 is <f4 here', () => {
    const little = copy(fixtures.find((f) => f.dtype === '<f4')!.file);
    const big = copy(fixtures.find((f) => f.dtype === '>f4')!.file);
    expect(openMemmap(little, { mode: 'r', dtype: 'float32' }).dtype).toBe('float32');
    expect(openMemmap(little, { mode: 'r', dtype: Float32Array }).dtype).toBe('float32');
    expect(openMemmap(big, { mode: 'r', dtype: '>f4' }).dtype).toBe('>f4');
    expect(() => openMemmap(big, { mode: 'r', dtype: 'float32' })).toThrow(
      expect.objectContaining({ code: 'ERR_NPY_DTYPE_MISMATCH', message: expect.stringContaining('holds ">f4"') }),
    );
    expect(() => openMemmap(little, { mode: 'r', dtype: '>f4' })).toThrow(
      expect.objectContaining({ code: 'ERR_NPY_DTYPE_MISMATCH' }),
    );
  });

  test('another shape is ERR_NPY_SHAPE_MISMATCH naming the file’s; a number is a 1-D shape', () => {
    const fixture = fixtures.find((f) => f.shape.length === 2)!;
    const path = copy(fixture.file);
    const before = snapshot(path);
    const [rows, cols] = fixture.shape as [number, number];
    for (const shape of [[cols, rows], [rows * cols], [rows, cols, 1], [], rows]) {
      if (shape instanceof Array && shape.length === 2 && shape[0] === rows && shape[1] === cols) continue;
      expect(() => openMemmap(path, { mode: 'r+', shape })).toThrow(
        expect.objectContaining({
          name: 'RangeError',
          code: 'ERR_NPY_SHAPE_MISMATCH',
          message: expect.stringContaining(`holds shape [${rows}, ${cols}]`),
        }),
      );
    }
    expect(snapshot(path)).toEqual(before);
    const flat = fixtures.find((f) => f.shape.length === 1)!;
    expect(openMemmap(copy(flat.file), { mode: 'r', shape: flat.shape[0] }).shape).toEqual(flat.shape);
  });

  test('a bad dtype or shape is refused before the file is opened', () => {
    const missing = join(dir, 'does-not-exist.npy');
    expect(() => openMemmap(missing, { mode: 'r', dtype: 'float33' as string })).toThrow(
      expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_DTYPE' }),
    );
    expect(() => openMemmap(missing, { mode: 'r', shape: [-1] })).toThrow(
      expect.objectContaining({ code: 'ERR_MEMMAP_OUT_OF_RANGE' }),
    );
  });

  test('fortranOrder and version stay for mode w+ only', () => {
    const path = copy(fixtures[0].file);
    expect(() => openMemmap(path, { mode: 'r', fortranOrder: false })).toThrow(
      expect.objectContaining({
        code: 'ERR_MEMMAP_INVALID_ARG',
        message: expect.stringMatching(/only for mode 'w\+'/),
      }),
    );
    expect(() => openMemmap(path, { mode: 'r', version: [1, 0] })).toThrow(
      expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_ARG' }),
    );
  });
});

describeNumpy('against numpy (live)', () => {
  test('a record file written by numpy opens with the record spelled in list form, and refuses another layout', () => {
    const path = join(dir, 'ticks.npy');
    python(
      `import numpy as np, sys
a = np.zeros(3, dtype=[('time', '<M8[ns]'), ('price', '<f8'), ('flags', 'S2', (2,))])
a['price'] = [1.5, 2.5, 3.5]
np.save(sys.argv[1], a)`,
      path,
    );
    const ticks = openMemmap(path, {
      mode: 'r',
      dtype: [
        ['time', '<M8[ns]'],
        ['price', '<f8'],
        ['flags', 'S2', [2]],
      ],
      shape: [3],
    });
    const price: number = ticks.get(1).price;
    expect(price).toBe(2.5);
    expect(ticks.field('price').toArray()).toEqual([1.5, 2.5, 3.5]);
    ticks.close();
    expect(() =>
      openMemmap(path, {
        mode: 'r',
        dtype: [
          ['time', '<M8[ns]'],
          ['price', '<f4'],
        ],
      }),
    ).toThrow(
      expect.objectContaining({
        code: 'ERR_NPY_DTYPE_MISMATCH',
        message: expect.stringContaining("('price', '<f8')"),
      }),
    );
  });
});

/** Type-level tests: the public API compiles as documented (ts-jest type-checks this file). */
import { Memmap, memmap, openMemmap, MemmapOptions, Scalar, ERROR_CLASSES } from '../ts/index';

test('the public names and their types', () => {
  const options: MemmapOptions = {
    dtype: Float32Array,
    mode: 'readonly',
    offset: 16n,
    shape: [3, 4],
    order: 'F',
    advice: 'random',
  };
  // @ts-expect-error: mode must be a numpy spelling
  const badMode: MemmapOptions = { mode: 'rw' };
  // @ts-expect-error: order is C or F
  const badOrder: MemmapOptions = { order: 'K' };
  void [options, badMode, badOrder];
  const open: (file: string, options?: MemmapOptions) => Memmap = memmap;
  const npy: typeof openMemmap = openMemmap;
  const value: Scalar = 1n;
  expect([typeof open, typeof npy, typeof value, typeof ERROR_CLASSES.ERR_MEMMAP_CLOSED]).toEqual([
    'function',
    'function',
    'bigint',
    'function',
  ]);
  const check = (fp: Memmap) => {
    const shape: readonly number[] = fp.shape;
    // @ts-expect-error: shape is read-only
    fp.shape = [1];
    // @ts-expect-error: dtype is read-only
    fp.dtype = 'int8';
    return shape;
  };
  void check;
});

/**
 * Type tests of copy(), astype(), flags, base, length, blocks() and dates
 * (issue 13): compiled, never run.
 */
import { ArrayFlags, memmap, NDArray } from '../../ts/index';
import { exactly } from './expect';

export function arrays() {
  const f4 = memmap('x', { dtype: 'float32', shape: [2, 3] });
  exactly<NDArray<'float32', 2>>()(f4.copy());
  exactly<NDArray<'float16', 2>>()(f4.astype('float16'));
  exactly<NDArray<'float16', 2>>()(f4.astype('f2'));
  exactly<NDArray<'int64', 2>>()(f4.astype('<i8', { casting: 'unsafe' }));
  exactly<NDArray<'>f4', 2>>()(f4.astype('>f4'));
  exactly<Uint16Array>()(f4.astype('float16').data);
  exactly<BigInt64Array>()(f4.astype('int64').data);
  exactly<number>()(f4.length);
  exactly<ArrayFlags>()(f4.flags);
  exactly<boolean>()(f4.flags.ownData);
  exactly<NDArray | null>()(f4.base);
  for (const block of f4.blocks({ rows: 1 })) exactly<NDArray<'float32', 2>>()(block);
  exactly<number[][]>()(f4.toArray());
  // @ts-expect-error: a misspelt dtype does not compile
  f4.astype('flaot32');
  // @ts-expect-error: only numpy's 'unsafe' casting
  f4.astype('f2', { casting: 'safe' });
  // @ts-expect-error: copy() takes nothing
  f4.copy(1);

  const t = memmap('t', { dtype: 'datetime64[ns]' });
  exactly<(Date | null)[]>()(t.toArray({ dates: true }));
  exactly<bigint[]>()(t.toArray());
  exactly<NDArray<'int64', 1>>()(t.astype('int64'));

  const r = memmap('r', {
    dtype: [
      ['x', '<f4'],
      ['y', '<i2'],
    ],
  });
  exactly<NDArray<'float32', 1>>()(r.field('x').copy());
}

/**
 * Type tests: record dtypes written as literals (list form, dict form,
 * `{ fields, align }`, nested records, sub-arrays, titles), their fields, and
 * openMemmap's narrowing. Checked by tsc; never run.
 */
import { Complex, memmap, Memmap, openMemmap, RecordValue } from '../../ts/index';
import { exactly, given } from './expect';

export function listForm() {
  const ticks = memmap('ticks.bin', {
    dtype: [
      ['time', '<M8[ns]'],
      ['price', '<f8'],
      ['size', '<u4'],
      ['flags', 'S2', [2]],
      ['grid', 'i2', [2, 3]],
      [
        'pos',
        [
          ['x', 'f4'],
          ['y', 'f4'],
        ],
      ],
      ['z', 'c8'],
    ],
    mode: 'r',
  });
  exactly<
    Memmap<
      {
        time: 'datetime64[ns]';
        price: 'float64';
        size: 'uint32';
        flags: readonly ['|S2', [2]];
        grid: readonly ['int16', [2, 3]];
        pos: { x: 'float32'; y: 'float32' };
        z: 'complex64';
      },
      1
    >
  >()(ticks);
  const tick = ticks.get(0);
  exactly<bigint>()(tick.time);
  exactly<number>()(tick.price);
  exactly<number>()(tick.size);
  exactly<Uint8Array[]>()(tick.flags);
  exactly<number[][]>()(tick.grid);
  exactly<{ x: number; y: number }>()(tick.pos);
  exactly<Complex>()(tick.z);
  exactly<string>()(ticks.dtype);
  exactly<Uint8Array>()(ticks.data);

  exactly<Memmap<'float64', 1>>()(ticks.field('price'));
  exactly<number>()(ticks.field('price').max());
  exactly<bigint>()(ticks.field('time').min());
  exactly<Memmap<'|S2', 2>>()(ticks.field('flags'));
  exactly<Memmap<'int16', 3>>()(ticks.field('grid'));
  exactly<number[][][]>()(ticks.field('grid').toArray());
  exactly<Memmap<'float32', 1>>()(ticks.field('pos').field('y'));
  // @ts-expect-error: no field 'prices'
  ticks.field('prices');
  // @ts-expect-error: a scalar dtype has no fields
  ticks.field('price').field('x');
  // @ts-expect-error: numpy does not add records
  ticks.sum();

  ticks.set(0, {
    time: 1n,
    price: 1.5,
    size: 3,
    flags: ['ab', Uint8Array.of(1)],
    grid: [
      [1, 2, 3],
      [4, 5, 6],
    ],
    pos: { x: 1, y: 2 },
    z: { re: 1, im: 0 },
  });
  // @ts-expect-error: every field is needed
  ticks.set(0, { time: 1n, price: 1.5 });
  // @ts-expect-error: price is a number
  ticks.fill({ time: 1n, price: 'high', size: 3, flags: [], grid: [], pos: { x: 1, y: 2 }, z: 0 });
}

export function otherForms() {
  const dict = memmap('x', { dtype: { names: ['a', 'b'], formats: ['i8', ['f4', [2]]] }, shape: [5] });
  exactly<Memmap<{ a: 'int64'; b: readonly ['float32', [2]] }, 1>>()(dict);
  exactly<{ a: bigint; b: number[] }>()(dict.get(0));
  exactly<Memmap<'float32', 2>>()(dict.field('b'));

  const aligned = memmap('x', {
    dtype: {
      fields: [
        ['a', 'u1'],
        ['b', 'f8'],
      ],
      align: true,
    },
  });
  exactly<{ a: number; b: number }>()(aligned.get(0));

  // A field named '' is numpy's f<i>; [title, name] names the field by name.
  const named = memmap('x', {
    dtype: [
      ['', 'i4'],
      [['Price in USD', 'price'], 'f8'],
    ],
  });
  exactly<{ f0: number; price: number }>()(named.get(0));

  // A format nested as [base, shape] adds its shape inside the field's.
  const nested = memmap('x', { dtype: [['c', ['<f8', [5]], [2]]] });
  exactly<number[][]>()(nested.get(0).c);
  exactly<Memmap<'float64', 3>>()(nested.field('c'));

  // @ts-expect-error: a misspelt format inside a record does not compile either
  memmap('x', { dtype: [['a', 'flaot32']] });
  // @ts-expect-error: nor inside a nested record
  memmap('x', { dtype: [['a', [['b', 'S5x']]]] });
  // @ts-expect-error: nor in dict form
  memmap('x', { dtype: { names: ['a'], formats: ['int33'] } });

  // A record spelled through variables is a record of unknown fields.
  const fields = given<[string, string][]>();
  const loose = memmap('x', { dtype: fields });
  exactly<RecordValue>()(loose.get(0));
  loose.field('anything');
}

export function openMemmapNarrows() {
  const any = openMemmap('w.npy');
  exactly<Memmap>()(any);
  const read = openMemmap('w.npy', { mode: 'r', dtype: 'float32', shape: [100, 3] });
  exactly<Memmap<'float32', 2>>()(read);
  exactly<readonly [number, number]>()(read.shape);
  exactly<Float32Array>()(read.data);
  exactly<Memmap<'int64', number>>()(openMemmap('w.npy', { mode: 'r', dtype: 'int64' }));
  exactly<Memmap<'float64', 1>>()(openMemmap('new.npy', { mode: 'w+', shape: [10] }));
  exactly<Memmap<'int32', 2>>()(openMemmap('new.npy', { mode: 'write', dtype: 'i4', shape: [2, 2] }));
  const ticks = openMemmap('ticks.npy', {
    mode: 'r',
    dtype: [
      ['time', '<M8[ns]'],
      ['price', '<f8'],
    ],
  });
  exactly<number>()(ticks.get(0).price);
  // @ts-expect-error: misspelt
  openMemmap('w.npy', { mode: 'r', dtype: 'flaot32' });
  // @ts-expect-error: no such mode
  openMemmap('w.npy', { mode: 'rw' });
}

export function recordsAreArrays() {
  const ticks = memmap('x', {
    dtype: [
      ['time', '<M8[ns]'],
      ['price', '<f8'],
    ],
    mode: 'r',
    shape: [2, 2],
  });
  const wide: Memmap = ticks;
  const oneAxis: Memmap<{ time: 'datetime64[ns]'; price: 'float64' }> = ticks;
  void [wide, oneAxis];
}

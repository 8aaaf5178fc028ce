/**
 * Type tests, every dtype family: what each spelling gives (`dtype`, element,
 * what set() takes, `data`, reductions) and what must not compile. Checked
 * by tsc (npx tsc --noEmit, and __test__/types.test.ts with the strictest
 * options); never run.
 */
import { Complex, DType, memmap, Memmap, NDArray, RecordValue, Scalar } from '../../ts/index';
import { exactly, given } from './expect';

// ----- Numeric names, type characters, byte orders --------------------------------

export function numeric() {
  const f4 = memmap('x', { dtype: 'float32' });
  exactly<Memmap<'float32', 1>>()(f4);
  exactly<'float32'>()(f4.dtype);
  exactly<number>()(f4.get(0));
  exactly<Float32Array>()(f4.data);
  exactly<number>()(f4.sum());
  exactly<number>()(f4.min());
  exactly<number>()(f4.mean());
  exactly<Promise<number>>()(f4.sumAsync());
  f4.set(0, 1.5);
  f4.set(0, 2n);
  f4.fill(true);
  // @ts-expect-error: a string is not a float32 value
  f4.set(0, '1.5');
  // @ts-expect-error: a 1-D map's set() takes one index and the value
  f4.set(0, 0, 1.5);

  exactly<Memmap<'float32', 1>>()(memmap('x', { dtype: 'f4' }));
  exactly<Memmap<'float32', 1>>()(memmap('x', { dtype: '<f4' }));
  exactly<Memmap<'float32', 1>>()(memmap('x', { dtype: '=f4' }));
  exactly<Memmap<'float32', 1>>()(memmap('x', { dtype: '|f4' }));
  exactly<Memmap<'float32', 1>>()(memmap('x', { dtype: 'f' }));
  exactly<Memmap<'float32', 1>>()(memmap('x', { dtype: 'single' }));
  exactly<Memmap<'float32', 1>>()(memmap('x', { dtype: Float32Array }));

  exactly<Memmap<'float64', 1>>()(memmap('x', { dtype: 'float' }));
  exactly<Memmap<'float64', 1>>()(memmap('x', { dtype: 'd' }));
  exactly<Float64Array>()(memmap('x', { dtype: Float64Array }).data);

  exactly<Memmap<'int32', 1>>()(memmap('x', { dtype: 'intc' }));
  exactly<Memmap<'int32', 1>>()(memmap('x', { dtype: 'i' }));
  exactly<Int32Array>()(memmap('x', { dtype: 'i4' }).data);
  exactly<bigint>()(memmap('x', { dtype: 'int32' }).sum());
  exactly<number>()(memmap('x', { dtype: 'int32' }).max());
  exactly<number>()(memmap('x', { dtype: 'int32' }).mean());

  exactly<Memmap<'uint8', 1>>()(memmap('x'));
  exactly<Memmap<'uint8', 1>>()(memmap('x', { dtype: 'B' }));
  exactly<Memmap<'int8', 1>>()(memmap('x', { dtype: 'b' }));
  exactly<Int8Array>()(memmap('x', { dtype: 'byte' }).data);
  exactly<Memmap<'int16', 1>>()(memmap('x', { dtype: 'short' }));
  exactly<Uint16Array>()(memmap('x', { dtype: 'H' }).data);
  exactly<Uint32Array>()(memmap('x', { dtype: 'uintc' }).data);
}

export function sixtyFourBit() {
  const i8 = memmap('x', { dtype: 'int64', mode: 'w+', shape: 3 });
  exactly<bigint>()(i8.get(0));
  exactly<BigInt64Array>()(i8.data);
  exactly<bigint>()(i8.sum());
  exactly<bigint>()(i8.max());
  exactly<number>()(i8.mean());
  i8.set(0, 5n);
  i8.set(0, 5);
  exactly<Memmap<'int64', 1>>()(memmap('x', { dtype: 'q' }));
  exactly<Memmap<'int64', 1>>()(memmap('x', { dtype: 'intp' }));
  exactly<Memmap<'int64', 1>>()(memmap('x', { dtype: BigInt64Array }));
  exactly<BigUint64Array>()(memmap('x', { dtype: 'u8' }).data);
  exactly<bigint>()(memmap('x', { dtype: 'ulonglong' }).min());
}

export function boolAndHalf() {
  const b = memmap('x', { dtype: 'bool' });
  exactly<boolean>()(b.get(0));
  exactly<Uint8Array>()(b.data);
  exactly<bigint>()(b.sum());
  exactly<boolean>()(b.max());
  b.set(0, true);
  exactly<Memmap<'bool', 1>>()(memmap('x', { dtype: '?' }));
  exactly<Memmap<'bool', 1>>()(memmap('x', { dtype: 'b1' }));
  exactly<Memmap<'bool', 1>>()(memmap('x', { dtype: '|b1' }));
  exactly<Memmap<'bool', 1>>()(memmap('x', { dtype: 'bool_' }));

  const h = memmap('x', { dtype: 'float16' });
  exactly<number>()(h.get(0));
  exactly<Uint16Array>()(h.data);
  exactly<Memmap<'float16', 1>>()(memmap('x', { dtype: 'e' }));
  exactly<Memmap<'float16', 1>>()(memmap('x', { dtype: 'half' }));
}

export function complexNumbers() {
  const c = memmap('x', { dtype: 'complex64', mode: 'w+', shape: 2 });
  exactly<Complex>()(c.get(0));
  exactly<Float32Array>()(c.data);
  exactly<Complex>()(c.sum());
  exactly<Complex>()(c.mean());
  c.set(0, { re: 1, im: -1 });
  c.set(0, { re: 1 });
  c.set(0, 2);
  // @ts-expect-error: a complex value is { re, im }, not a pair
  c.set(0, [1, 2]);
  exactly<Float64Array>()(memmap('x', { dtype: 'D' }).data);
  exactly<Memmap<'complex128', 1>>()(memmap('x', { dtype: 'complex' }));
  exactly<Memmap<'complex64', 1>>()(memmap('x', { dtype: '<c8' }));
}

export function bigEndian() {
  const be = memmap('x', { dtype: '>f4' });
  exactly<Memmap<'>f4', 1>>()(be);
  exactly<'>f4'>()(be.dtype);
  exactly<number>()(be.get(0));
  exactly<number>()(be.sum());
  exactly<never>()(be.data);
  // @ts-expect-error: data of a big-endian dtype throws (its bytes are swapped here): no property compiles
  void be.data.length;
  exactly<Memmap<'>i2', 1>>()(memmap('x', { dtype: '>h' }));
  exactly<bigint>()(memmap('x', { dtype: '>i8' }).get(0));
  // One-byte dtypes have no byte order: '>i1' is int8, with data.
  exactly<Memmap<'int8', 1>>()(memmap('x', { dtype: '>i1' }));
  exactly<Int8Array>()(memmap('x', { dtype: '>i1' }).data);
  // A big-endian map is still a map of the wide type.
  const wide: Memmap = be;
  void wide;
}

// ----- Bytes, unicode, void, datetime64, timedelta64 --------------------------------

export function sized() {
  const s = memmap('x', { dtype: 'S5' });
  exactly<Memmap<'|S5', 1>>()(s);
  exactly<Uint8Array>()(s.get(0));
  exactly<Uint8Array>()(s.data);
  s.set(0, 'abc');
  s.set(0, Uint8Array.of(1, 2));
  exactly<Memmap<'|S5', 1>>()(memmap('x', { dtype: 'a5' }));
  exactly<Memmap<'|S5', 1>>()(memmap('x', { dtype: '|S5' }));
  exactly<Memmap<'|S5', 1>>()(memmap('x', { dtype: 'S05' }));
  // @ts-expect-error: numpy's bytes have no sum
  s.sum();
  // @ts-expect-error: nor min
  s.min();

  const u = memmap('x', { dtype: '<U3' });
  exactly<Memmap<'<U3', 1>>()(u);
  exactly<string>()(u.get(0));
  exactly<Uint32Array>()(u.data);
  u.set(0, 'héllo');
  // @ts-expect-error: unicode takes a string
  u.set(0, 5);
  exactly<Memmap<'<U3', 1>>()(memmap('x', { dtype: 'U3' }));
  exactly<Memmap<'>U3', 1>>()(memmap('x', { dtype: '>U3' }));
  exactly<never>()(memmap('x', { dtype: '>U3' }).data);

  const v = memmap('x', { dtype: 'V8' });
  exactly<Memmap<'|V8', 1>>()(v);
  exactly<Uint8Array>()(v.get(0));
  // @ts-expect-error: void takes bytes, not text
  v.set(0, 'text');
}

export function times() {
  const t = memmap('x', { dtype: 'M8[ns]' });
  exactly<Memmap<'datetime64[ns]', 1>>()(t);
  exactly<bigint>()(t.get(0));
  exactly<BigInt64Array>()(t.data);
  exactly<bigint>()(t.min());
  exactly<Promise<bigint>>()(t.maxAsync());
  t.set(0, 'NaT');
  t.set(0, 1700000000000000000n);
  t.set(0, new Date());
  t.set(0, '2024-02-29T12:00');
  t.assign([new Date(), '2024-02-29', 'NaT', 5n]);
  // @ts-expect-error: numpy does not add datetimes
  t.sum();
  // @ts-expect-error: nor average them
  t.mean();
  exactly<Memmap<'datetime64[ms]', 1>>()(memmap('x', { dtype: 'datetime64[ms]' }));
  exactly<Memmap<'datetime64[s]', 1>>()(memmap('x', { dtype: '<M8[s]' }));
  exactly<Memmap<'>M8[s]', 1>>()(memmap('x', { dtype: '>M8[s]' }));

  const d = memmap('x', { dtype: 'timedelta64[h]' });
  exactly<Memmap<'timedelta64[h]', 1>>()(d);
  exactly<bigint>()(d.sum());
  exactly<bigint>()(d.mean());
  // @ts-expect-error: a timedelta is a count, not a date
  d.set(0, new Date());
  exactly<Memmap<'timedelta64[us]', 1>>()(memmap('x', { dtype: 'm8[us]' }));

  // Multiples of a unit, read as the runtime reads them.
  const ten = memmap('x', { dtype: 'M8[10s]' });
  exactly<Memmap<'datetime64[10s]', 1>>()(ten);
  exactly<bigint>()(ten.get(0));
  ten.set(0, new Date());
  exactly<Memmap<'timedelta64[250ms]', 1>>()(memmap('x', { dtype: 'timedelta64[250ms]' }));
  exactly<Memmap<'>m8[7D]', 1>>()(memmap('x', { dtype: '>m8[007D]' }));
  exactly<Memmap<'datetime64[s]', 1>>()(memmap('x', { dtype: 'M8[1s]' }));
  exactly<Memmap<'datetime64[10ms]', 1>>()(memmap('x', { dtype: 'datetime64[10ms]' }));
  exactly<bigint>()(memmap('x', { dtype: 'm8[10s]' }).sum());
  // @ts-expect-error: a multiple of 0 has no length
  memmap('x', { dtype: 'M8[0s]' });
}

// ----- What does not compile; what compiles wide ---------------------------------------

export function misspelt() {
  // @ts-expect-error: no such dtype
  memmap('x', { dtype: 'flaot32' });
  // @ts-expect-error: numpy has no float128 here
  memmap('x', { dtype: 'f16' });
  // @ts-expect-error: names take no byte-order prefix
  memmap('x', { dtype: '<float32' });
  // @ts-expect-error: a count is digits
  memmap('x', { dtype: 'S-1' });
  // @ts-expect-error: and not zero
  memmap('x', { dtype: 'U0' });
  // @ts-expect-error: no such unit
  memmap('x', { dtype: 'M8[xs]' });
  // @ts-expect-error: datetime64 needs a unit
  memmap('x', { dtype: 'datetime64' });
  // @ts-expect-error: Uint8ClampedArray is not a dtype
  memmap('x', { dtype: Uint8ClampedArray });
  // @ts-expect-error: no such mode
  memmap('x', { mode: 'rw' });
  // @ts-expect-error: order is C or F
  memmap('x', { order: 'K' });
  // @ts-expect-error: no such advice
  memmap('x', { advice: 'willneeds' });
  // @ts-expect-error: no such option
  memmap('x', { dtyp: 'float32' });
  const fp = memmap('x', { mode: 'r' });
  // @ts-expect-error: madvise takes the same advice
  fp.madvise('fast');
}

export function wide() {
  const spelling = given<string>();
  const fp = memmap('x', { dtype: spelling });
  exactly<Memmap<string, 1>>()(fp);
  exactly<Scalar>()(fp.get(0));
  exactly<string>()(fp.dtype);
  const total: Scalar = fp.sum();
  void total;
  // A held options object is checked at run time too.
  const options = given<{ dtype: string; mode: 'r'; shape: number[] }>();
  const held = memmap('x', options);
  exactly<number>()(held.ndim);
  exactly<readonly number[]>()(held.shape);
  // A DType carries its tag: another map of the same dtype.
  const f4 = memmap('x', { dtype: 'float32', mode: 'w+', shape: [2, 3] });
  exactly<DType<'float32'>>()(f4.dtypeObject);
  exactly<Memmap<'float32', 1>>()(memmap('y', { dtype: f4.dtypeObject }));
  exactly<Memmap<'float32', 2>>()(memmap('y', { dtype: f4.dtypeObject, shape: f4.shape }));
  exactly<Memmap<'float32', 2>>()(memmap('y', { dtype: 'float32', mode: 'w+', shape: [2n, 3] }));
  exactly<Memmap<'float32', 1>>()(memmap('y', { dtype: 'float32', mode: 'w+', shape: 6n }));
  // A parsed DType is wide.
  const parsed = given<DType>();
  exactly<Scalar | RecordValue>()(memmap('x', { dtype: parsed }).get(0));
}

// ----- Shapes, views, copies -----------------------------------------------------------

export function shapes() {
  const a = memmap('x', { dtype: 'float32', mode: 'w+', shape: [3, 4] });
  exactly<Memmap<'float32', 2>>()(a);
  exactly<readonly [number, number]>()(a.shape);
  exactly<2>()(a.ndim);
  exactly<number>()(a.get(1, -1));
  // @ts-expect-error: two indices
  a.get(1);
  exactly<number[][]>()(a.toArray());
  exactly<Memmap<'float32', 1>>()(a.slice(0));
  exactly<Memmap<'float32', 0>>()(a.slice(0).slice(1));
  exactly<number>()(a.slice(0).slice(1).toArray());
  exactly<Memmap<'float32'>>()(a.slice('1:, ::2'));
  exactly<number | import('../../ts/index').NestedArray<number>>()(a.slice('::2').toArray());
  for (const row of a) exactly<Memmap<'float32', 1>>()(row);
  for (const value of a.slice(0)) exactly<number>()(value);
  a.assign([
    [1, 2, 3, 4],
    [5, 6, 7, 8],
    [9, 10, 11, 12],
  ]);
  a.assign([1, 2, 3, 4]);
  a.assign(Float32Array.of(1, 2, 3, 4));
  a.assign(memmap('y', { dtype: 'int16', shape: 4 }));
  // @ts-expect-error: text is not float32
  a.assign([['a']]);

  exactly<Memmap<'uint8', 1>>()(memmap('x', { shape: 10 }));
  exactly<Memmap<'uint8', 3>>()(memmap('x', { shape: [2, 3, 4] }));
  exactly<Memmap<'uint8', 0>>()(memmap('x', { mode: 'w+', shape: [] }));
  exactly<number>()(memmap('x', { mode: 'w+', shape: [] }).toArray());

  // A map whose ndim is known is also a map of any ndim, and an NDArray.
  const any: Memmap<'float32'> = a;
  const array: NDArray<'float32', 2> = a;
  const widest: NDArray = a;
  void [any, array, widest];
}

export function readOnly(fp: Memmap<'float32', 2>) {
  // @ts-expect-error: shape is read-only
  fp.shape = [1, 1];
  // @ts-expect-error: dtype is read-only
  fp.dtype = 'float32';
  // @ts-expect-error: and so is each axis
  fp.shape[0] = 1;
}

// ----- Reductions along axes (issue 13) -----------------------------------------

export function reductions(fp: Memmap<'float32', 2>, line: Memmap<'int16', 1>, when: Memmap<'datetime64[s]', 2>) {
  exactly<number>()(fp.argmax());
  exactly<number>()(fp.countNonzero());
  exactly<boolean>()(fp.any());
  exactly<boolean>()(fp.all({ where: true }));
  exactly<number>()(fp.std());
  exactly<number>()(fp.var({ ddof: 1 }));
  exactly<number>()(fp.prod());
  exactly<NDArray>()(fp.sum({ axis: 0 }));
  exactly<NDArray>()(fp.mean({ axis: -1 }));
  exactly<NDArray<'int64'>>()(fp.argmax({ axis: 0 }));
  exactly<NDArray>()(fp.sum({ keepdims: true }));
  exactly<number | NDArray>()(fp.sum({ axis: [0, 1] }));
  exactly<bigint>()(line.sum({ axis: 0 }));
  exactly<number>()(line.max({ axis: 0 }));
  exactly<Promise<NDArray>>()(fp.stdAsync({ axis: 0, signal: new AbortController().signal }));
  exactly<Promise<number>>()(fp.argminAsync({ onProgress: (fraction: number) => void fraction }));
  exactly<bigint>()(when.max());
  // @ts-expect-error: numpy cannot add datetimes
  when.sum({ axis: 0 });
  // @ts-expect-error: nor take their standard deviation
  when.std();
  // @ts-expect-error: argmax takes one axis, not a list
  fp.argmax({ axis: [0, 1] });
  // @ts-expect-error: ddof is for std and var
  fp.sum({ ddof: 1 });
  // @ts-expect-error: signal is for the async forms
  fp.sum({ signal: new AbortController().signal });
  // @ts-expect-error: a bare axis is not an options object
  fp.mean(0);
  // int64 results index directly: integers may be bigints everywhere
  const peaks = fp.argmax({ axis: 0 });
  exactly<bigint>()(peaks.get(0n));
  exactly<number>()(fp.get(peaks.get(0), 0n));
  exactly<Memmap<'float32', 1>>()(fp.slice(peaks.get(1)));
  exactly<NDArray>()(fp.sum({ axis: -1n }));
  exactly<number>()(fp.std({ ddof: 1n }));
  // @ts-expect-error: but not strings
  fp.get('0', 0);
}

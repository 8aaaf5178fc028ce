/** The dtype table against numpy: every spelling, str(dtype), float16 conversions. */
import { parseDType } from '../../ts/dtype';
import { floatToHalf, halfToFloat } from '../../ts/float16';
import { describeNumpy, pythonJson } from '../helpers';

const SPELLINGS = [
  '?',
  'b1',
  'bool',
  'bool_',
  '|b1',
  'i1',
  'u1',
  '>u1',
  '<i2',
  '>i2',
  '=i2',
  '|i1',
  'f2',
  '>f2',
  'f4',
  '>f4',
  'c8',
  '>c8',
  'c16',
  '<c16',
  'i8',
  '>i8',
  'u8',
  '>u8',
  'single',
  'double',
  'float',
  'int',
  'uint',
  'half',
  'csingle',
  'cdouble',
  'complex',
  'longlong',
  'ulonglong',
  'short',
  'ushort',
  'intc',
  'uintc',
  'intp',
  'uintp',
  'byte',
  'ubyte',
  'l',
  'L',
  'q',
  'Q',
  'h',
  'H',
  'i',
  'I',
  'b',
  'B',
  'e',
  'f',
  'd',
  'F',
  'D',
  'p',
  'P',
  '>f',
  '<d',
  'int8',
  'uint8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
  'float16',
  'float32',
  'float64',
  'complex64',
  'complex128',
  'long',
  'ulong',
];

/** numpy 2.x on little-endian Linux: spelling → [str(dtype), dtype.str]. Regenerated live below. */
const EXPECTED: Record<string, [string, string]> = {
  '?': ['bool', '|b1'],
  '>i2': ['>i2', '>i2'],
  '=i2': ['int16', '<i2'],
  '>u1': ['uint8', '|u1'],
  f2: ['float16', '<f2'],
  '>c8': ['>c8', '>c8'],
  single: ['float32', '<f4'],
  float: ['float64', '<f8'],
  int: ['int64', '<i8'],
  intc: ['int32', '<i4'],
  l: ['int64', '<i8'],
  e: ['float16', '<f2'],
  F: ['complex64', '<c8'],
  '>f': ['>f4', '>f4'],
  complex: ['complex128', '<c16'],
  b: ['int8', '|i1'],
  b1: ['bool', '|b1'],
};

describe('dtype spellings', () => {
  test.each(Object.entries(EXPECTED))('%s → %j', (spelling, [str, descr]) => {
    const dtype = parseDType(spelling);
    expect([dtype.str, dtype.descr]).toEqual([str, descr]);
  });

  test('TypedArray constructors', () => {
    expect(parseDType(Float32Array).str).toBe('float32');
    expect(parseDType(BigUint64Array).str).toBe('uint64');
    expect(parseDType(Uint8Array).str).toBe('uint8');
  });

  test.each([
    'float_',
    '!i4',
    '>bool',
    '>float32',
    'f3',
    'x',
    '',
    'O',
    'object',
    'S0',
    'U',
    'M8',
    'datetime64',
    'M8[0s]',
    'M8[10]',
    'M8[2147483648s]',
    'M8[fortnight]',
  ])('%j is refused with ERR_MEMMAP_INVALID_DTYPE', (spelling) => {
    expect(() => parseDType(spelling)).toThrow(
      expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_DTYPE', name: 'TypeError' }),
    );
  });

  test.each([42, null, {}, Array, Date])('%p is refused with a TypeError', (spec) => {
    expect(() => parseDType(spec)).toThrow(
      expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_DTYPE', name: 'TypeError' }),
    );
  });
});

describe('float16', () => {
  test('every bit pattern round-trips through its value', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = halfToFloat(bits);
      if (Number.isNaN(value)) continue;
      expect(floatToHalf(value)).toBe(bits);
    }
  });

  test('rounds to nearest, ties to even', () => {
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // tie, even stays
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie, odd rounds up
    expect(floatToHalf(65520)).toBe(0x7c00); // overflow
    expect(floatToHalf(2 ** -25)).toBe(0); // tie at the smallest subnormal → 0
    expect(floatToHalf(-0)).toBe(0x8000);
  });
});

describeNumpy('against live numpy', () => {
  const numpy = pythonJson<Record<string, [string, string] | null>>(
    `
import json, sys, numpy as np
out = {}
for s in json.loads(sys.argv[1]):
    try:
        d = np.dtype(s); out[s] = [str(d), d.str]
    except TypeError:
        out[s] = None
print(json.dumps(out))
`,
    JSON.stringify(SPELLINGS),
  );

  test.each(SPELLINGS)('%s parses as numpy parses it', (spelling) => {
    const expected = numpy[spelling];
    expect(expected).not.toBeNull();
    const dtype = parseDType(spelling);
    expect([dtype.str, dtype.descr]).toEqual(expected);
  });

  test('float16 conversion matches numpy for 20000 doubles', () => {
    const { inputs, bits } = pythonJson<{ inputs: number[]; bits: number[] }>(`
import json, numpy as np
rng = np.random.default_rng(3)
x = np.concatenate([rng.standard_normal(10000) * 10.0 ** rng.integers(-9, 6, 10000), rng.uniform(-70000, 70000, 10000)])
print(json.dumps({'inputs': x.tolist(), 'bits': x.astype('<f2').view('<u2').tolist()}))
`);
    expect(inputs.map(floatToHalf)).toEqual(bits);
  });
});

/** The .npy header, read and written as numpy does, byte for byte (pure: no native binary). */
import fc from 'fast-check';
import { descrToDType, npyHeaderBytes, parseNpyHeader, parsePyLiteral } from '../../ts/npyformat';

describe('version choice and header text', () => {
  test('the smallest version that fits, as numpy', () => {
    expect(npyHeaderBytes('<f4', false, [3])[6]).toBe(1);
    const long = Array.from({ length: 25000 }, () => 1);
    expect(npyHeaderBytes('<f4', false, long)[6]).toBe(2); // header past 65535 bytes
    expect(() => npyHeaderBytes('<f4', false, long, [1, 0])).toThrow(
      expect.objectContaining({ code: 'ERR_MEMMAP_OUT_OF_RANGE' }),
    );
  });

  test('headers are padded so the data starts on a 64-byte boundary', () => {
    for (let dims = 0; dims < 40; dims++) {
      const bytes = npyHeaderBytes(
        '<i8',
        dims % 2 === 0,
        Array.from({ length: dims }, (_, i) => i * 97),
      );
      expect(bytes.length % 64).toBe(0);
      expect(bytes[bytes.length - 1]).toBe(0x0a);
      const parsed = parseNpyHeader(bytes, bytes.length);
      expect(parsed.shape).toEqual(Array.from({ length: dims }, (_, i) => i * 97));
      expect(parsed.dataOffset).toBe(bytes.length);
    }
  });

  test("numpy's header variants parse: any key order, whitespace, trailing commas, Python 2 longs, u-strings", () => {
    for (const text of [
      "{'shape': (3,), 'fortran_order': False, 'descr': '<f4'}",
      "{ 'descr' : '<f4' ,\n 'fortran_order':False,'shape':( 3 , ) , }   \n",
      "{'descr': u'<f4', 'fortran_order': False, 'shape': (3L,), }",
      '{"descr": "<f4", "fortran_order": False, "shape": (3,)}',
    ]) {
      const header = Buffer.concat([
        Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, text.length, 0]),
        Buffer.from(text, 'latin1'),
      ]);
      expect(parseNpyHeader(header, header.length)).toMatchObject({ descr: '<f4', fortranOrder: false, shape: [3] });
    }
  });
});

describe("numpy's own header form, read without the general parser", () => {
  // parseNpyHeader reads the exact text numpy writes with a regular
  // expression; the same text with one more space goes through the Python
  // literal parser. Both must agree, and text the fast path must not take
  // (leading zeros, (n) for a 1-d shape) must still go to the parser.
  const relaxed = (bytes: Uint8Array): Uint8Array => {
    const text = Buffer.from(bytes.subarray(10)).toString('latin1').replace("{'descr':", "{ 'descr':");
    const out = Buffer.alloc(bytes.length);
    out.set(bytes.subarray(0, 10));
    out.write(text.slice(0, -2) + '\n', 10, 'latin1'); // one padding space fewer
    return out;
  };

  test('same shape, order, descr and offset as the parser, for random headers', () => {
    const descr = fc.constantFrom('<f4', '>f8', '|b1', '<i8', '|u1', '<c16', '<M8[ms]', '|S7', '<U3', '|V12', '<f2');
    const shape = fc.array(fc.oneof(fc.nat(9), fc.nat(), fc.constant(2 ** 52)), { maxLength: 6 });
    fc.assert(
      fc.property(descr, fc.boolean(), shape, (d, fortran, dims) => {
        const bytes = npyHeaderBytes(d, fortran, dims);
        const fast = parseNpyHeader(bytes, bytes.length);
        const slow = parseNpyHeader(relaxed(bytes), bytes.length);
        expect(fast).toEqual(slow);
        expect(fast).toEqual(expect.objectContaining({ descr: d, fortranOrder: fortran, shape: dims }));
      }),
    );
  });

  test('forms numpy never writes are left to the parser', () => {
    const header = (text: string): Uint8Array => {
      const body = Buffer.from(text.padEnd(117, ' ') + '\n', 'latin1');
      const prefix = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, body.length, 0]);
      return Buffer.concat([prefix, body]);
    };
    const parse = (shape: string) => {
      const bytes = header(`{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`);
      return parseNpyHeader(bytes, bytes.length).shape;
    };
    expect(parse('(3, 4,)')).toEqual([3, 4]);
    expect(parse('(0x10, 1_000)')).toEqual([16, 1000]);
    expect(parse('(3, # rows\n 4)')).toEqual([3, 4]);
    // Python 2's long integers, which numpy drops the L of in versions 1.0 and 2.0 only.
    expect(parse('(3L, 4L)')).toEqual([3, 4]);
    const v3 = (shape: string) => {
      const body = Buffer.from(`{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`.padEnd(115) + '\n');
      const bytes = Buffer.concat([
        Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 3, 0, body.length, 0, 0, 0]),
        body,
      ]);
      return () => parseNpyHeader(bytes, bytes.length).shape;
    };
    expect(v3('(3,)')()).toEqual([3]);
    expect(v3('(3L,)')).toThrow(expect.objectContaining({ code: 'ERR_NPY_BAD_HEADER' }));
    // What numpy reads but memmap cannot represent is refused, never changed:
    // a title that is not a str, a lone surrogate (a JavaScript string would
    // join two into the pair they make).
    const descr = (text: string) => {
      const bytes = header(`{'descr': ${text}, 'fortran_order': False, 'shape': (2,), }`);
      return parseNpyHeader(bytes, bytes.length).descr;
    };
    for (const text of ["[((1, 'a'), '<i4')]", "[('\\ud83d\\ude00', '<i4')]", "'\\U0000d800'"])
      expect(() => descrToDType(descr(text))).toThrow(expect.objectContaining({ code: 'ERR_NPY_BAD_HEADER' }));
    // Python 3 refuses a decimal with a leading zero, and (7) is an int.
    expect(() => parse('(007,)')).toThrow(expect.objectContaining({ code: 'ERR_NPY_BAD_HEADER' }));
    expect(() => parse('(7)')).toThrow(expect.objectContaining({ code: 'ERR_NPY_BAD_HEADER' }));
  });
});

describe('damaged headers: only coded errors', () => {
  test('fuzz: arbitrary bytes and mutated headers only ever give coded errors', () => {
    const valid = Buffer.from(npyHeaderBytes('<f4', false, [2, 3]));
    const mutated = fc
      .tuple(
        fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.nat(valid.length),
      )
      .map(([edits, cut]) => {
        const bytes = Buffer.from(valid);
        for (const [at, value] of edits) bytes[at] = value;
        return bytes.subarray(0, cut);
      });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), mutated), (bytes) => {
        try {
          parseNpyHeader(bytes, bytes.length);
        } catch (error) {
          expect((error as { code?: string }).code).toMatch(/^ERR_(NPY|MEMMAP)_/);
        }
      }),
      { numRuns: 5000, seed: 1 },
    );
  });

  test('fuzz: the header literal parser only ever throws coded errors', () => {
    const tokens = fc.constantFrom(
      '{',
      '}',
      '(',
      ')',
      '[',
      ']',
      ',',
      ':',
      "'",
      '"',
      '\\',
      'True',
      'None',
      '12',
      '-3',
      'L',
      ' ',
      'u',
      "'descr'",
      '\n',
    );
    fc.assert(
      fc.property(fc.array(tokens, { maxLength: 60 }), (parts) => {
        try {
          parsePyLiteral(parts.join(''));
        } catch (error) {
          expect((error as { code?: string }).code).toBe('ERR_NPY_BAD_HEADER');
        }
      }),
      { numRuns: 5000, seed: 2 },
    );
  });
});

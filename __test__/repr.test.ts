/** util.inspect(fp) is numpy's repr: compared with what numpy printed for the same bytes. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { floatToHalf } from '../ts/float16';
import { memmap } from '../ts/index';
import { describeNumpy, FIXTURES, pythonJson, tempDir } from './helpers';

interface ReprCase {
  expr: string;
  dtype: string;
  shape: number[];
  bytes: string;
  repr: string;
}

const cases: ReprCase[] = JSON.parse(readFileSync(join(FIXTURES, 'repr.json'), 'utf8'));
const dir = tempDir();

test.each(cases.map((c, i) => [c.expr, i, c] as const))('repr of %s', (_expr, i, c) => {
  const path = join(dir, `repr${i}.bin`);
  const bytes = Buffer.from(c.bytes, 'hex');
  writeFileSync(path, bytes.length ? bytes : Buffer.alloc(1));
  const fp = memmap(path, { dtype: c.dtype, mode: 'r', shape: c.shape });
  expect(inspect(fp)).toBe(c.repr);
  expect(String(fp)).toBe(c.repr);
  fp.close();
  expect(inspect(fp)).toBe('memmap(<closed>)');
});

/** The bytes numpy stores for `values` (a complex's parts interleaved) as float16/32/64. */
function floatBytes(width: 2 | 4 | 8, values: number[]): Buffer {
  if (width === 2) return Buffer.from(new Uint16Array(values.map(floatToHalf)).buffer);
  return Buffer.from((width === 4 ? new Float32Array(values) : new Float64Array(values)).buffer);
}

describe("repr digits and notation are numpy's (Dragon4 rounding, notation chosen in the array's precision)", () => {
  // [dtype, the values (complex: re, im, re, im, ...), what numpy 2.4 prints]
  const fixed: [string, number[], string][] = [
    // A tie in the shortest digits goes to the even digit, not up.
    [
      'f4',
      [1024.34375, 1024.09375, 1024.15625, 1024.03125],
      'memmap([1024.3438, 1024.0938, 1024.1562, 1024.0312], dtype=float32)',
    ],
    ['f2', [148.75, 150.25, 149.75, -148.25], 'memmap([ 148.8,  150.2,  149.8, -148.2], dtype=float16)'],
    ['c8', [2.125, 1024.03125], 'memmap([2.125+1024.0312j], dtype=complex64)'],
    ['f2', [2 ** -7], 'memmap([0.007812], dtype=float16)'],
    // So does a tie at the cut after 8 fraction digits.
    ['f8', [2 ** -9], 'memmap([0.00195312])'],
    // At a power of two the gap below is half the gap above: Dragon4 rounds up
    // to the one short digit string that still reads back, not to the nearer.
    ['f4', [2 ** 90], 'memmap([1.2379401e+27], dtype=float32)'],
    // The thresholds compare in the array's own type: float32(1e-4) is not below 1e-4 ...
    ['f4', [1e-4, 0], 'memmap([0.0001, 0.    ], dtype=float32)'],
    ['c8', [1e-4, 0, 1e-4, 0, 0, 0], 'memmap([0.0001+0.j, 0.0001+0.j, 0.    +0.j], dtype=complex64)'],
    ['c8', [1, 1e-4], 'memmap([1.+0.0001j], dtype=complex64)'],
    // ... and the ratio rounds in it: to 1000 exactly, which is not above 1000.
    ['f4', [1 + 2 ** -23, 1000 + 2 ** -13], 'memmap([   1.0000001, 1000.0001   ], dtype=float32)'],
    ['f2', [0.1, 100], 'memmap([  0.1, 100. ], dtype=float16)'],
  ];
  test.each(fixed)('%s %j', (dtype, values, repr) => {
    const width = Number(dtype.slice(1)) / (dtype[0] === 'c' ? 2 : 1);
    const path = join(dir, `digits-${dtype}.bin`);
    writeFileSync(path, floatBytes(width as 2 | 4 | 8, values));
    const fp = memmap(path, { dtype, mode: 'r' });
    expect(String(fp)).toBe(repr);
    fp.close();
  });
});

describeNumpy('repr of floats where digits and notation are hard to get right, live against numpy', () => {
  // Short mantissas (exact decimals, so ties), powers of two and their
  // neighbours (unequal margins), values beside the notation thresholds and
  // pairs whose ratio is beside 1000, in every float width, mixed in arrays.
  const live: ReprCase[] = pythonJson(`
import json, numpy as np
rng = np.random.default_rng(20)
W = {2: (np.float16, np.uint16, 10), 4: (np.float32, np.uint32, 23), 8: (np.float64, np.uint64, 52)}
def floats(width, n):
    ft, ut, bits = W[width]
    kind = rng.integers(0, 5)
    if kind == 0:  # a short mantissa: an exact decimal, often a tie
        x = (rng.random(n) + 1) * 2.0 ** rng.integers(-14 if width == 2 else -30, 15 if width == 2 else 40, n)
        u = x.astype(ft).view(ut).copy()
        for i in range(n):
            t = int(rng.integers(0, bits + 1))
            u[i] = (int(u[i]) >> t) << t
        return u.view(ft)
    if kind == 1:  # a power of two or a neighbour
        e = rng.integers(-24 if width == 2 else -140, 16 if width == 2 else 120, n)
        u = np.ldexp(1.0, e).astype(ft).view(ut).astype(np.int64) + rng.integers(-1, 2, n)
        return np.clip(u, 1, None).astype(ut).view(ft)
    if kind == 2:  # beside a notation threshold
        c = np.array(rng.choice([1e-4, 1e3, 1e6, 1e8], n)).astype(ft)
        u = c.view(ut).astype(np.int64) + rng.integers(-2, 3, n)
        return u.astype(ut).view(ft)
    if kind == 3:  # a ratio beside 1000
        lo = np.abs(np.array(rng.random(n) * 4 + 0.01)).astype(ft)
        hi = (lo.astype(np.float64) * 1000).astype(ft).view(ut).astype(np.int64) + rng.integers(-2, 3, n)
        return np.where(np.arange(n) % 2 == 0, lo, hi.astype(ut).view(ft)).astype(ft)
    return rng.integers(0, 2 ** (8 * width - 1), n).astype(ut).view(ft)  # any bits
out = []
with np.errstate(all='ignore'):
    for i in range(3000):
        descr = rng.choice(['<f2', '<f4', '<f8', '<c8', '<c16'])
        dt = np.dtype(descr)
        width = dt.itemsize // 2 if dt.kind == 'c' else dt.itemsize
        n = int(rng.integers(1, 7))
        a = np.empty(n, dt)
        if dt.kind == 'c':
            a.real, a.imag = floats(width, n), floats(width, n)
        else:
            a[:] = floats(width, n)
        out.append({'expr': f'hard {i}', 'dtype': descr, 'shape': [n], 'bytes': a.tobytes().hex(), 'repr': repr(a.view(np.memmap))})
print(json.dumps(out))
`);
  test(`${live.length} arrays of float16/32/64 and complex64/128`, () => {
    // One file for all, each array mapped at its own offset: fast enough for many.
    const path = join(dir, 'hard.bin');
    const offsets: number[] = [];
    let end = 0;
    const chunks = live.map((c) => {
      offsets.push(end);
      const bytes = Buffer.from(c.bytes, 'hex');
      end += bytes.length;
      return bytes;
    });
    writeFileSync(path, Buffer.concat(chunks));
    const wrong = live.flatMap((c, i) => {
      const fp = memmap(path, { dtype: c.dtype, mode: 'r', shape: c.shape, offset: offsets[i] });
      const ours = String(fp);
      fp.close();
      return ours === c.repr ? [] : [{ numpy: c.repr, ours }];
    });
    expect(wrong).toEqual([]);
  });
});

describeNumpy('repr of random arrays, live against numpy', () => {
  const live: ReprCase[] = pythonJson(`
import json, numpy as np
rng = np.random.default_rng(7)
out = []
for i in range(60):
    descr = rng.choice(['<f4', '<f8', '<f2', '<i4', '<u2', '|i1', '<c8', '>f8', '|b1', '<i8'])
    ndim = int(rng.integers(0, 4))
    shape = tuple(int(x) for x in rng.integers(1, 6, ndim))
    scale = 10.0 ** int(rng.integers(-6, 9))
    a = (rng.standard_normal(shape) * scale)
    if np.dtype(descr).kind == 'c':
        a = a + 1j * rng.standard_normal(shape)
    if np.dtype(descr).kind in 'iub':
        a = np.clip(a, -100, 100)
    a = np.asarray(a).astype(descr)
    out.append({'expr': f'random {i}', 'dtype': descr, 'shape': list(shape), 'bytes': a.tobytes().hex(), 'repr': repr(a.view(np.memmap))})
print(json.dumps(out))
`);
  test.each(live.map((c, i) => [i, c.dtype, c.shape.join('x'), c] as const))('random %i: %s %s', (i, _d, _s, c) => {
    const path = join(dir, `live${i}.bin`);
    writeFileSync(path, Buffer.from(c.bytes, 'hex'));
    const fp = memmap(path, { dtype: c.dtype, mode: 'r', shape: c.shape });
    expect(inspect(fp)).toBe(c.repr);
    fp.close();
  });
});

describeNumpy('repr of strings Python escapes, live against numpy', () => {
  // Python's repr escapes what str.isprintable() refuses: controls, format characters
  // (U+200B), separators other than the space (U+00A0, U+2028, U+3000), private use
  // (U+E000), lone surrogates; printable characters past the BMP stay as they are.
  const texts = ['a\u00a0b', '\u200b', '\ud800x', 'x\u2028y', '\ue000', '\u3000', '\u{1F600}', 'é\u0085', 'q"\'', ' '];
  const live: ReprCase[] = pythonJson(
    `
import json, sys, numpy as np
texts = json.loads(sys.argv[1])
a = np.array([t.encode('utf-16', 'surrogatepass').decode('utf-16', 'surrogatepass') for t in texts], dtype='<U3')
print(json.dumps([{'expr': 'U', 'dtype': '<U3', 'shape': [len(texts)], 'bytes': a.tobytes().hex(), 'repr': repr(a.view(np.memmap))}]))
`,
    JSON.stringify(texts),
  );
  test('a <U3 array of them', () => {
    const path = join(dir, 'unprintable.bin');
    writeFileSync(path, Buffer.from(live[0].bytes, 'hex'));
    const fp = memmap(path, { dtype: '<U3', mode: 'r', shape: live[0].shape });
    expect(inspect(fp)).toBe(live[0].repr);
    fp.close();
  });
});

describeNumpy('repr of unicode no JavaScript string holds, and of characters past the BMP', () => {
  // numpy shows a code unit past U+10FFFF and a surrogate pair escaped, where
  // reading them is a coded error; lines wrap by Python's len(), in code points.
  const live: ReprCase[] = pythonJson(`
import json, numpy as np
odd = np.array([[0x41, 0x110000, 0], [0xd800, 0xdc00, 0x42], [0x43, 0, 0]], '<u4').view('<U3').reshape(3)
wide = np.array(['\\U0001F600' * 4] * 9, '<U4')
print(json.dumps([{'expr': e, 'dtype': a.dtype.str, 'shape': list(a.shape), 'bytes': a.tobytes().hex(), 'repr': repr(a.view(np.memmap))} for e, a in (('odd', odd), ('wide', wide))]))
`);
  test.each(live.map((c) => [c.expr, c] as const))('%s', (expr, c) => {
    const path = join(dir, `unicode-${expr}.bin`);
    writeFileSync(path, Buffer.from(c.bytes, 'hex'));
    const fp = memmap(path, { dtype: c.dtype, mode: 'r', shape: c.shape });
    expect(inspect(fp)).toBe(c.repr);
    fp.close();
  });
});

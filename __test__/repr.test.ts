/** util.inspect(fp) is numpy's repr: compared with what numpy printed for the same bytes. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
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

/**
 * Desktop apps: runtimes that refuse external ArrayBuffers (Electron,
 * simulated by the binding's test hook) get every operation through block
 * copies with the same results as the zero-copy path; read()/write() block
 * copies everywhere; closeAsync() and `await using`; async work on the
 * library's own threads, never waiting for libuv's pool. Whatever can crash
 * runs in a child process.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { memmap, Memmap } from '../ts/index';
import { HAVE_NUMPY, PACKAGE, pythonJson, runNode, tempDir } from './helpers';

const dir = tempDir();

/** Runs `body` in a child with `mm` (the package) and `dir` in scope, refusing external buffers if `refuse`. */
function child(body: string, refuse: boolean, env: Record<string, string> = {}) {
  const script =
    `const mm = require(${PACKAGE} + '/dist/index.js');\n` +
    `require(${PACKAGE} + '/dist/binding.js').binding.simulateExternalBufferRefusal(${refuse});\n` +
    `const dir = ${JSON.stringify(dir)};\n${body}`;
  return runNode(script, { env });
}

/**
 * A workout of every bulk and single-element operation over several dtypes,
 * byte orders and strided views; prints its results and the file's bytes.
 * Run with and without refusal, the two outputs must be the same.
 */
const WORKOUT = `
const fs = require('fs');
const path = require('path');
const show = (v) => JSON.stringify(v, (k, x) => typeof x === 'bigint' ? x + 'n' : x instanceof Uint8Array ? Array.from(x) : ArrayBuffer.isView(x) ? Array.from(x, (y) => typeof y === 'bigint' ? y + 'n' : y) : x);
const out = [];
const cases = [
  ['float32', [6, 7], (i) => i * 1.5 - 3],
  ['>f8', [5, 4], (i) => i / 3],
  ['<i2', [40], (i) => i * 97 - 2000],
  ['int64', [3, 5], (i) => BigInt(i) * 1234567890123n - 5n],
  ['bool', [4, 6], (i) => i % 3 === 0],
  ['float16', [9], (i) => i / 4],
  ['complex64', [3, 3], (i) => ({ re: i, im: -i })],
  ['>u4', [2, 3, 4], (i) => i * 1000003],
  ['S5', [7], (i) => 'ab' + i],
  ['U70', [5], (i) => 'text ' + 'x'.repeat(i * 13)],
];
for (const [dtype, shape, value] of cases) {
  const file = path.join(dir, tag + '-' + dtype.replace(/[<>]/g, '_') + '.bin');
  const fp = mm.memmap(file, { dtype, mode: 'w+', shape });
  const n = shape.reduce((a, b) => a * b, 1);
  fp.assign(Array.from({ length: n }, (_, i) => value(i)));
  out.push(dtype, show(fp.toArray()));
  const views = ['...', '::-1', shape.length > 1 ? '1:, ::-2' : '1::3', shape.length > 1 ? '::2, 1' : '::-2'];
  for (const spec of views) {
    const view = fp.slice(spec);
    out.push(spec, show(view.toArray()), show(view.read()), show(view.read(1, Math.max(0, view.size - 2))));
    out.push(show([...view].map((x) => x && x.toArray ? x.toArray() : x)));
  }
  const strided = fp.slice(shape.length > 1 ? '::2, ::-1' : '::-2');
  strided.write(1, [value(100), value(101)]);
  out.push(show(fp.toArray()));
  const block = fp.slice('1:').read();
  fp.slice(shape.length > 1 ? ':-1' : ':-1').write(0, block);
  out.push(show(fp.toArray()));
  fp.slice(shape.length > 1 ? '1, ::2' : '::3').fill(value(7));
  fp.set(...shape.map((d) => d - 1), value(3));
  out.push(show(fp.get(...shape.map(() => 0))), show(fp.get(...shape.map((d) => d - 1))));
  out.push(show(fp.toArray()));
  const other = mm.memmap(file, { dtype, mode: 'r', shape });
  fp.slice('::-1').assign(other);
  if (['float32', '>f8', '<i2', 'int64', '>u4'].includes(dtype)) out.push(show(fp.sum()), show(fp.max()));
  other.close();
  fp.close();
  out.push(fs.readFileSync(file).toString('hex'));
}
console.log(out.join('\\n'));
`;

describe('a runtime that refuses external buffers (Electron)', () => {
  test('every operation gives what the zero-copy path gives, and the files end byte for byte the same', () => {
    const zeroCopy = runNode(`const tag = 'plain'; ${childPrelude(false)}${WORKOUT}`);
    const refused = runNode(`const tag = 'refused'; ${childPrelude(true)}${WORKOUT}`);
    expect(zeroCopy.stderr).toBe('');
    expect(refused.stderr).toBe('');
    expect(zeroCopy.status).toBe(0);
    expect(refused.status).toBe(0);
    const a = zeroCopy.stdout.split('\n');
    const b = refused.stdout.split('\n');
    expect(b.length).toBe(a.length);
    for (let line = 0; line < a.length; line++) expect([line, b[line]]).toEqual([line, a[line]]);
  });

  test('data is refused with a coded error that points at read(); everything else works', () => {
    const result = child(
      `
      const fp = mm.memmap(require('path').join(dir, 'e.f32'), { dtype: 'float32', mode: 'w+', shape: [4, 3] });
      try { fp.data; } catch (e) { console.log(e.code, e.message.includes('read(start, length)')); }
      fp.write(0, new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]));
      console.log(JSON.stringify([Array.from(fp.read(2, 3)), fp.get(3, 2), fp.sum()]));
      fp.close();`,
      true,
    );
    expect(result.stderr).toBe('');
    expect(result.stdout.trim().split('\n')).toEqual(['ERR_MEMMAP_EXTERNAL_BUFFERS_REFUSED true', '[[3,4,5],12,78]']);
  });

  test('data of a view past one chunk: refused as external buffers first (never "use slice()"), read() named', () => {
    const body = `
      const fp = mm.memmap(require('path').join(dir, 'chunks.u1'), { dtype: 'uint8', mode: 'w+', shape: [1 << 18] });
      for (const view of [fp, fp.slice(':10')]) {
        try { view.data; console.log('data'); } catch (e) { console.log(e.code, e.message.includes('read(start, length)')); }
      }
      fp.close();`;
    const env = { MEMMAP_CHUNK_BYTES: String(1 << 16) };
    const refused = child(body, true, env);
    expect(refused.stderr).toBe('');
    expect(refused.stdout.trim().split('\n')).toEqual([
      'ERR_MEMMAP_EXTERNAL_BUFFERS_REFUSED true',
      'ERR_MEMMAP_EXTERNAL_BUFFERS_REFUSED true',
    ]);
    const allowed = child(body, false, env);
    expect(allowed.stderr).toBe('');
    expect(allowed.stdout.trim().split('\n')).toEqual(['ERR_MEMMAP_DATA_TOO_LARGE true', 'data']);
  });

  test('two copies of the package in one thread each keep their own scratch for single elements', () => {
    const result = child(
      `
      const path = require('path').join(dir, 'two.i4');
      const a = mm;
      for (const key of Object.keys(require.cache)) if (key.includes('/dist/')) delete require.cache[key];
      const b = require(${PACKAGE} + '/dist/index.js');
      const fa = a.memmap(path, { dtype: 'int32', mode: 'w+', shape: [64] });
      fa.assign(Int32Array.from({ length: 64 }, (_, i) => i * 3));
      const fb = b.memmap(path, { dtype: 'int32', mode: 'r+', shape: [64] });
      let ok = a !== b;
      for (let i = 0; i < 64; i++) ok = ok && fa.get(i) === i * 3 && fb.get(63 - i) === (63 - i) * 3;
      for (let i = 0; i < 64; i++) fb.set(i, -i);
      for (let i = 63; i >= 0; i--) fa.set(i, fa.get(i) + 1);
      for (let i = 0; i < 64; i++) ok = ok && fb.get(i) === -i + 1 && fa.get(i) === -i + 1;
      console.log(ok);`,
      true,
    );
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('true');
  });

  test('blocks past one native copy (1 MiB) and views past a chunk edge come out whole', () => {
    const result = child(
      `
      const fp = mm.memmap(require('path').join(dir, 'big.f64'), { dtype: 'float64', mode: 'w+', shape: [300000] });
      fp.assign(Float64Array.from({ length: 300000 }, (_, i) => i));
      let ok = fp.read().every((x, i) => x === i);
      let k = 0; for (const x of fp) ok = ok && x === k++;
      ok = ok && k === 300000 && fp.toArray().every((x, i) => x === i);
      fp.fill(-1);
      ok = ok && fp.read().every((x) => x === -1) && fp.sum() === -300000;
      console.log(ok);
      fp.close();`,
      true,
      { MEMMAP_CHUNK_BYTES: String(1 << 16) },
    );
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('true');
  });
});

function childPrelude(refuse: boolean): string {
  return (
    `const mm = require(${PACKAGE} + '/dist/index.js');\n` +
    `require(${PACKAGE} + '/dist/binding.js').binding.simulateExternalBufferRefusal(${refuse});\n` +
    `const dir = ${JSON.stringify(dir)};\n`
  );
}

describe('read() and write()', () => {
  const file = join(dir, 'rw.i4');

  test('read() of any range of any view is the view flattened in C order', () => {
    writeFileSync(file, Buffer.from(Int32Array.from({ length: 360 }, (_, i) => i * 7 - 100).buffer));
    const fp = memmap(file, { dtype: 'int32', mode: 'r', shape: [6, 5, 12] });
    const specs = ['...', '::-1', '1:, ::2, 3', '::-2, :, ::-5', '2', '..., 7', '::3, 4:1:-1, ::4'];
    fc.assert(
      fc.property(fc.constantFrom(...specs), fc.nat(), fc.nat(), (spec, a, b) => {
        const view = fp.slice(spec);
        const flat = [view.toArray() as unknown].flat(Infinity) as number[];
        const start = a % (view.size + 1);
        const length = b % (view.size - start + 1);
        expect(Array.from(view.read(start, length) as Int32Array)).toEqual(flat.slice(start, start + length));
      }),
      { numRuns: 200 },
    );
    expect(Array.from(fp.read() as Int32Array)).toEqual(Array.from({ length: 360 }, (_, i) => i * 7 - 100));
    fp.close();
  });

  test('write() lands exactly where read() finds it, in strided and reversed views, and nowhere else', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('...', '::-1', '1:, ::2', '::-2, 3:', ':, ::-3'),
        fc.nat(),
        fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 40 }),
        (spec, a, values) => {
          writeFileSync(file, Buffer.alloc(4 * 60));
          const fp = memmap(file, { dtype: 'int32', mode: 'r+', shape: [6, 10] });
          const view = fp.slice(spec);
          const start = a % (view.size + 1);
          const taken = values.slice(0, view.size - start);
          const expected = [fp.toArray() as unknown].flat(Infinity) as number[];
          const probe = memmap(file, { dtype: 'int32', mode: 'r', shape: [6, 10] });
          const positions = [probe.slice(spec).toArray() as unknown].flat(Infinity) as number[];
          // Each position of the view, by the flat index it has in the base.
          writeFileSync(file, Buffer.from(Int32Array.from({ length: 60 }, (_, i) => i).buffer));
          const index = [
            memmap(file, { dtype: 'int32', mode: 'r', shape: [6, 10] })
              .slice(spec)
              .toArray() as unknown,
          ].flat(Infinity) as number[];
          writeFileSync(file, Buffer.alloc(4 * 60));
          taken.forEach((v, k) => (expected[index[start + k]] = v));
          view.write(start, Int32Array.from(taken));
          expect([fp.toArray() as unknown].flat(Infinity)).toEqual(expected);
          expect(positions.length).toBe(view.size);
          fp.close();
          probe.close();
        },
      ),
      { numRuns: 60 },
    );
  });

  test('a non-native byte order reads and writes as values, swapped to and from the file', () => {
    const be = join(dir, 'be.f4');
    writeFileSync(be, Buffer.alloc(16));
    const fp = memmap(be, { dtype: '>f4', mode: 'r+' });
    fp.write(1, new Float32Array([1.5, -2, 3.25]));
    expect(readFileSync(be).toString('hex')).toBe('000000003fc00000c000000040500000');
    expect(Array.from(fp.read() as Float32Array)).toEqual([0, 1.5, -2, 3.25]);
    fp.close();
  });

  test('complex lanes, int64 as bigint, float16 bits, bytes: the kinds data gives', () => {
    const c = memmap(join(dir, 'c.c8'), { dtype: 'complex64', mode: 'w+', shape: [2] });
    c.write(0, new Float32Array([1, 2, 3, 4]));
    expect(c.get(1)).toEqual({ re: 3, im: 4 });
    expect(c.read(1)).toEqual(new Float32Array([3, 4]));
    const q = memmap(join(dir, 'q.i8'), { dtype: 'int64', mode: 'w+', shape: [3] });
    q.write(1, [2n ** 62n, -5]);
    expect(q.read()).toEqual(new BigInt64Array([0n, 2n ** 62n, -5n]));
    const h = memmap(join(dir, 'h.f2'), { dtype: 'float16', mode: 'w+', shape: [2] });
    h.write(0, [1.5, 65504]);
    expect(h.read()).toEqual(new Uint16Array([0x3e00, 0x7bff]));
    const s = memmap(join(dir, 's.S3'), { dtype: 'S3', mode: 'w+', shape: [2] });
    s.write(0, ['ab', 'xyz']);
    expect(Array.from(s.read() as Uint8Array)).toEqual([97, 98, 0, 120, 121, 122]);
    for (const fp of [c, q, h, s]) fp.close();
  });

  const numpyTest = HAVE_NUMPY ? test : test.skip;
  numpyTest('numpy reads what write() wrote through a strided view, and read() matches numpy ravel()', () => {
    const np = join(dir, 'np.f8');
    writeFileSync(np, Buffer.alloc(8 * 24));
    const fp = memmap(np, { dtype: '<f8', mode: 'r+', shape: [4, 6] });
    fp.slice('::-1, 1::2').write(
      0,
      Float64Array.from({ length: 12 }, (_, i) => i + 0.5),
    );
    fp.flush();
    const seen = pythonJson<number[]>(
      `import numpy as np, json, sys
a = np.memmap(sys.argv[1], dtype='<f8', mode='r', shape=(4, 6))
print(json.dumps([a.tolist(), a[::-2, ::-3].ravel()[1:4].tolist()]))`,
      np,
    );
    expect(seen).toEqual([fp.toArray(), Array.from(fp.slice('::-2, ::-3').read(1, 3) as Float64Array)]);
    fp.close();
  });

  test('bad arguments are coded errors naming the value, and change nothing on disk', () => {
    writeFileSync(file, Buffer.from(Int32Array.from({ length: 8 }, (_, i) => i).buffer));
    const before = readFileSync(file);
    const fp = memmap(file, { dtype: 'int32', mode: 'r+' });
    const bad = (code: string, pattern: RegExp) =>
      expect.objectContaining({ code, message: expect.stringMatching(pattern) });
    expect(() => fp.read(-1)).toThrow(bad('ERR_MEMMAP_OUT_OF_RANGE', /start -1/));
    expect(() => fp.read(9)).toThrow(bad('ERR_MEMMAP_OUT_OF_RANGE', /start 9/));
    expect(() => fp.read(2, 7)).toThrow(bad('ERR_MEMMAP_OUT_OF_RANGE', /7 elements from element 2/));
    expect(() => fp.read(1.5)).toThrow(bad('ERR_MEMMAP_INVALID_ARG', /start must be an integer; got 1.5/));
    expect(() => fp.read(0, '2' as unknown as number)).toThrow(bad('ERR_MEMMAP_INVALID_ARG', /length .* got "2"/));
    expect(() => (fp.read as (...a: unknown[]) => unknown)(0, 1, 2)).toThrow(bad('ERR_MEMMAP_INVALID_ARG', /read\(\)/));
    expect(() => fp.write(6, new Int32Array(3))).toThrow(bad('ERR_MEMMAP_OUT_OF_RANGE', /3 elements from element 6/));
    expect(() => fp.write(0, new Float32Array(2) as unknown as Int32Array)).toThrow(
      bad('ERR_MEMMAP_INVALID_ARG', /Int32Array/),
    );
    expect(() => fp.write(0, [1, 2 ** 40])).toThrow(expect.objectContaining({ code: 'ERR_MEMMAP_VALUE_OUT_OF_RANGE' }));
    expect(() => fp.write(0, 5 as unknown as number[])).toThrow(bad('ERR_MEMMAP_INVALID_ARG', /got 5/));
    expect(fp.read(8)).toEqual(new Int32Array(0));
    fp.write(8, []);
    fp.close();
    expect(readFileSync(file)).toEqual(before);
    const ro = memmap(file, { dtype: 'int32', mode: 'r' });
    expect(() => ro.write(0, new Int32Array(1))).toThrow(expect.objectContaining({ code: 'ERR_MEMMAP_READ_ONLY' }));
    ro.close();
    expect(() => ro.read()).toThrow(expect.objectContaining({ code: 'ERR_MEMMAP_CLOSED' }));
    expect(readFileSync(file)).toEqual(before);
  });
});

describe('closeAsync() and await using', () => {
  test('the map closes at once (buffers detached, methods refused) and the Promise settles after the flush', async () => {
    const path = join(dir, 'ca.f32');
    const fp = memmap(path, { dtype: 'float32', mode: 'w+', shape: [1 << 16] });
    const data = fp.data as Float32Array;
    fp.fill(3);
    const view = fp.slice('::2');
    const closing = fp.closeAsync();
    expect(fp.closed).toBe(true);
    expect(view.closed).toBe(true);
    expect(data.length).toBe(0);
    expect(() => fp.get(0)).toThrow(expect.objectContaining({ code: 'ERR_MEMMAP_CLOSED' }));
    await closing;
    const bytes = readFileSync(path);
    expect(new Float32Array(bytes.buffer, bytes.byteOffset, 4)).toEqual(new Float32Array([3, 3, 3, 3]));
    await fp.closeAsync(); // idempotent
    fp.close();
    await expect((fp.closeAsync as (...a: unknown[]) => Promise<void>)(1)).rejects.toMatchObject({
      code: 'ERR_MEMMAP_INVALID_ARG',
    });
  });

  test('on a view, only the view closes, after flushing its bytes', async () => {
    const fp = memmap(join(dir, 'cv.u1'), { dtype: 'uint8', mode: 'w+', shape: [64] });
    const view = fp.slice('8:16');
    view.fill(9);
    await view.closeAsync();
    expect(view.closed).toBe(true);
    expect(fp.closed).toBe(false);
    expect(fp.get(8)).toBe(9);
    await fp.closeAsync();
  });

  test('await using closes asynchronously at the end of the block', async () => {
    const path = join(dir, 'au.i2');
    let kept: Memmap | undefined;
    {
      await using fp = memmap(path, { dtype: 'int16', mode: 'w+', shape: [4] });
      fp.assign([1, 2, 3, 4]);
      kept = fp;
    }
    expect(kept.closed).toBe(true);
    const bytes = readFileSync(path);
    expect(Array.from(new Int16Array(bytes.buffer, bytes.byteOffset, 4))).toEqual([1, 2, 3, 4]);
  });

  test('a reduction in flight when closeAsync() starts gives the right value or ERR_MEMMAP_CLOSED, never zeros', () => {
    const result = child(
      `
      const path = require('path').join(dir, 'race.f32');
      (async () => {
        const outcomes = { right: 0, closed: 0, wrong: 0 };
        for (let round = 0; round < 20; round++) {
          const fp = mm.memmap(path, { dtype: 'float32', mode: 'w+', shape: [1 << 22] });
          fp.fill(1);
          // Each outcome taken as it comes: one may reject while the other is awaited.
          const sums = [fp.sumAsync(), fp.slice('::3').meanAsync()].map((p, k) =>
            p.then((v) => (v === (k === 0 ? 4194304 : 1) ? 'right' : 'wrong'), (e) => (e.code === 'ERR_MEMMAP_CLOSED' ? 'closed' : 'wrong')));
          await new Promise((r) => setImmediate(r));
          const closing = fp.closeAsync();
          for (const outcome of await Promise.all(sums)) outcomes[outcome]++;
          await closing;
        }
        console.log(JSON.stringify(outcomes));
      })();`,
      false,
    );
    expect(result.stderr).toBe('');
    const outcomes = JSON.parse(result.stdout);
    expect(outcomes.wrong).toBe(0);
    expect(outcomes.right + outcomes.closed).toBe(40);
  });
});

describe("async work runs on the library's own threads", () => {
  test("with libuv's only thread blocked, reductions, flushes and closeAsync still settle", () => {
    const fifo = join(dir, 'blocker.fifo');
    execFileSync('mkfifo', [fifo]);
    const result = child(
      `
      const fs = require('fs');
      // Opening a FIFO for reading blocks until a writer comes: it holds
      // libuv's only thread (UV_THREADPOOL_SIZE=1) until this script opens one.
      const blocked = fs.promises.readFile(${JSON.stringify(fifo)}, 'utf8');
      const fp = mm.memmap(require('path').join(dir, 'pool.f64'), { dtype: 'float64', mode: 'w+', shape: [1 << 20] });
      fp.fill(0.5);
      (async () => {
        const results = await Promise.all([fp.sumAsync(), fp.slice('::-7').maxAsync(), fp.flushAsync(), ...Array.from({ length: 16 }, () => fp.meanAsync())]);
        await fp.closeAsync();
        console.log(JSON.stringify(results.slice(0, 4)));
        fs.writeFileSync(${JSON.stringify(fifo)}, 'unblocked');
        console.log(await blocked);
      })();`,
      false,
      { UV_THREADPOOL_SIZE: '1' },
    );
    expect(result.stderr).toBe('');
    expect(result.stdout.trim().split('\n')).toEqual(['[524288,0.5,null,0.5]', 'unblocked']);
  });

  test('a worker terminated with async work in flight ends cleanly, and the process goes on', () => {
    const result = child(
      `
      const { Worker } = require('worker_threads');
      const path = require('path').join(dir, 'w.f32');
      mm.memmap(path, { dtype: 'float32', mode: 'w+', shape: [1 << 22] }).close();
      (async () => {
        for (let round = 0; round < 6; round++) {
          const worker = new Worker(\`
            const mm = require(\${JSON.stringify(${PACKAGE} + '/dist/index.js')});
            const fp = mm.memmap(\${JSON.stringify(path)}, { dtype: 'float32', mode: 'r+' });
            for (let i = 0; i < 8; i++) fp.sumAsync().then(() => {}, () => {});
            fp.closeAsync().then(() => {}, () => {});
            require('worker_threads').parentPort.postMessage('started');\`, { eval: true });
          await new Promise((r) => worker.once('message', r));
          await worker.terminate();
        }
        const fp = mm.memmap(path, { dtype: 'float32', mode: 'r' });
        console.log(await fp.sumAsync());
        await fp.closeAsync();
      })();`,
      false,
    );
    expect(result.signal).toBeNull();
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('0');
  });
});

/**
 * The binding's guards against what JavaScript (or a second copy of the
 * package) can do to the memory native code uses: the single-element
 * scratch buffer, another copy's maps of a file, the library's threads.
 * Whatever can crash runs in a child process.
 */
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE, ROOT, runNode, tempDir } from './helpers';

const dir = tempDir();

describe('the single-element scratch buffer', () => {
  test.each(['cold', 'refuse'])(
    'a scratch captured through a replaced ArrayBuffer and detached is refused, never used after it is freed (%s)',
    (how) => {
      const file = join(dir, `scratch-${how}.f64`);
      const child = runNode(
        `
      let captured = null;
      const RealAB = ArrayBuffer;
      globalThis.ArrayBuffer = class extends RealAB {
        constructor(n, o) { super(n, o); if (n === 256 && !captured) captured = this; }
      };
      const { memmap } = require(${PACKAGE} + '/dist/index.js');
      globalThis.ArrayBuffer = RealAB;
      // As Electron: every single element then goes through the scratch.
      if (process.env.GUARD_HOW === 'refuse') require(${PACKAGE} + '/dist/binding.js').binding.simulateExternalBufferRefusal(true);
      const b = memmap(${JSON.stringify(file)}, { dtype: 'float64', mode: 'w+', shape: [1 << 16] });
      // A set() binds the write path before the detach (a detached scratch fails
        // TypeScript's own setup first); without refusal it would give the map a
        // buffer, and the get() after the detach would not be cold.
        if (process.env.GUARD_HOW === 'refuse') b.set(4, 2);
        const out = [String(captured !== null), String(b.get(5))];
      let clone = structuredClone(captured, { transfer: [captured] });
      clone = null; global.gc(); global.gc();
      const junk = []; for (let i = 0; i < 10000; i++) junk.push(new Float64Array(32).fill(7));
      const attempt = (f) => { try { return 'value ' + f(); } catch (e) { return e.code; } };
      out.push(attempt(() => b.get(6)));
      for (let i = 0; i < 50; i++) out.push(attempt(() => { b.set(i, 1e300); return 'set'; }));
      out.push('junk ' + junk.filter((t) => t.some((x) => x !== 7)).length);
      b.close();
      console.log(JSON.stringify(out));
      `,
        { args: ['--expose-gc'], env: { GUARD_HOW: how } },
      );
      expect(child.stderr).toBe('');
      expect(child.status).toBe(0);
      const out = JSON.parse(child.stdout) as string[];
      expect(out.slice(0, 3)).toEqual(['true', '0', 'ERR_MEMMAP_BUFFER_FAILED']);
      // Without refusal a set() goes through the map's own buffer once it has one.
      expect(new Set(out.slice(3, 53))).toEqual(new Set([how === 'refuse' ? 'ERR_MEMMAP_BUFFER_FAILED' : 'value set']));
      expect(out[53]).toBe('junk 0');
    },
  );
});

describe('the single-element scratch buffer, detached before the first access', () => {
  test.each(['detach', 'resize'])('is ERR_MEMMAP_BUFFER_FAILED, not an engine error (%s)', (how) => {
    const file = join(dir, `scratch-first-${how}.f64`);
    const child = runNode(
      `
      const RealAB = ArrayBuffer;
      let captured = null;
      globalThis.ArrayBuffer = new Proxy(RealAB, { construct(t, a, n) {
        if (a[0] === 256) return (captured = new RealAB(256, { maxByteLength: 4096 }));
        return Reflect.construct(t, a, n);
      } });
      require(${PACKAGE} + '/dist/binding.js').binding.simulateExternalBufferRefusal(true);
      const { memmap } = require(${PACKAGE} + '/dist/index.js');
      globalThis.ArrayBuffer = RealAB;
      const m = memmap(${JSON.stringify(file)}, { dtype: 'float64', mode: 'w+', shape: [16] });
      if (process.env.GUARD_HOW === 'resize') captured.resize(4);
      else structuredClone(captured, { transfer: [captured] });
      const out = [];
      for (const f of [() => m.get(3), () => m.set(3, 1), () => [...m]])
        try { out.push('value ' + f()); } catch (e) { out.push(e.code); }
      m.close();
      console.log(JSON.stringify(out));
      `,
      { env: { GUARD_HOW: how } },
    );
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    expect(JSON.parse(child.stdout)).toEqual(Array(3).fill('ERR_MEMMAP_BUFFER_FAILED'));
  });
});

describe('two copies of the package in one process', () => {
  // npm installs two versions side by side: two addons, each with its own
  // table of live maps. A byte-identical copy stands in for the other version.
  const copy = join(dir, 'copy');
  beforeAll(() => {
    mkdirSync(copy);
    for (const part of ['package.json', 'dist', 'native'])
      cpSync(join(ROOT, part), join(copy, part), { recursive: true });
  });

  test.each([
    ['r+', 'resize'],
    ['r+', 'w+'],
    ['c', 'resize'],
    ['c', 'w+'],
  ])(
    "a cut by one copy under the other's live map (mode %s) is ERR_MEMMAP_FILE_IN_USE, never SIGBUS (%s)",
    (mode, cut) => {
      const file = join(dir, `two-${mode}-${cut}.f32`);
      const child = runNode(`
        const A = require(${PACKAGE} + '/dist/index.js');
        const B = require(${JSON.stringify(copy)} + '/dist/index.js');
        const fs = require('fs');
        const file = ${JSON.stringify(file)};
        const N = 1 << 20;
        const w = A.memmap(file, { dtype: 'float32', mode: 'w+', shape: [N] });
        w.fill(1);
        w.close();
        const a = A.memmap(file, { dtype: 'float32', mode: ${JSON.stringify(mode)} });
        const d = a.data;
        const out = [];
        const cut = () => {
          if (${JSON.stringify(cut)} === 'w+') return B.memmap(file, { dtype: 'float32', mode: 'w+', shape: [16] }).close();
          const b = B.memmap(file, { dtype: 'float32', mode: 'r+' });
          try { b.resize([16]); } finally { b.close(); }
        };
        try { cut(); out.push('cut'); } catch (e) { out.push(e.code); }
        out.push(fs.statSync(file).size, a.get(N - 1), d[N - 1]);
        a.close();
        // Once A's map is gone, nothing stands in the way.
        cut();
        out.push(fs.statSync(file).size);
        console.log(JSON.stringify(out));
      `);
      expect(child.stderr).toBe('');
      expect(child.status).toBe(0);
      expect(JSON.parse(child.stdout)).toEqual(['ERR_MEMMAP_FILE_IN_USE', 4 << 20, 1, 1, 64]);
    },
  );
});

describe("this copy's own maps are never taken for another copy's", () => {
  test('two of its maps the kernel merged into one mapping do not refuse a cut past both', () => {
    const file = join(dir, 'merged.u8');
    const child = runNode(`
      const { memmap } = require(${PACKAGE} + '/dist/index.js');
      const fs = require('fs');
      const P = ${JSON.stringify(file)};
      fs.writeFileSync(P, Buffer.alloc(65536, 1));
      const ino = fs.statSync(P).ino;
      const merged = () => fs.readFileSync('/proc/self/maps', 'utf8').split('\\n')
        .filter((l) => l.includes(' ' + ino + ' '))
        .some((l) => { const [a, b] = l.split(' ')[0].split('-').map((h) => parseInt(h, 16)); return b - a === 12288; });
      // Maps of one open file (a descriptor: memmap duplicates it) placed side
      // by side are one mapping to the kernel; try until a pair lands so.
      const fd = fs.openSync(P, 'r+');
      const keep = [];
      let adjacent = false;
      for (let i = 0; i < 20 && !adjacent; i++) {
        keep.push(memmap(fd, { dtype: 'uint8', mode: 'r+', offset: 8192, shape: [4000] }));
        keep.push(memmap(fd, { dtype: 'uint8', mode: 'r+', shape: [8192] }));
        adjacent = merged();
      }
      const y = memmap(P, { dtype: 'uint8', mode: 'r+' });
      let outcome;
      try { y.resize([12200]); outcome = 'resized'; } catch (e) { outcome = e.code; }
      console.log(JSON.stringify([outcome, keep[0].get(3999)]));
    `);
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    expect(JSON.parse(child.stdout)).toEqual(['resized', 1]);
  });
});

describe("the library's threads", () => {
  test('flushAsync() and closeAsync() settle before reductions queued ahead of them', () => {
    const child = runNode(`
      const { memmap } = require(${PACKAGE} + '/dist/index.js');
      const fs = require('fs');
      const big = ${JSON.stringify(join(dir, 'lanes.big'))}, small = ${JSON.stringify(join(dir, 'lanes.small'))};
      fs.closeSync(fs.openSync(big, 'w')); fs.truncateSync(big, 2 ** 32); // sparse: reads as zero pages
      const order = [];
      (async () => {
        const b = memmap(big, { dtype: 'float32', mode: 'r' });
        const controller = new AbortController();
        // More reductions than threads, each long: before, the flush queued behind all of them.
        const sums = Array.from({ length: 8 }, (_, i) =>
          b.sumAsync({ signal: controller.signal }).then(() => order.push('sum'), () => order.push('sum')));
        const s = memmap(small, { dtype: 'float32', mode: 'w+', shape: [1024] });
        s.fill(1);
        await s.flushAsync();
        order.push('flush');
        s.fill(2);
        await s.closeAsync();
        order.push('close');
        controller.abort();
        await Promise.all(sums);
        b.close();
        fs.rmSync(big);
        console.log(JSON.stringify({ order, bytes: [...new Float32Array(fs.readFileSync(small).buffer, 0, 2)] }));
      })();
    `);
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    const { order, bytes } = JSON.parse(child.stdout) as { order: string[]; bytes: number[] };
    expect(order.slice(0, 2)).toEqual(['flush', 'close']);
    expect(order.filter((o) => o === 'sum')).toHaveLength(8);
    expect(bytes).toEqual([2, 2]);
  });

  test("terminating a worker stops the reductions it started, so they do not hold up other threads' work", () => {
    const child = runNode(`
      const { Worker } = require('worker_threads');
      const fs = require('fs');
      const file = ${JSON.stringify(join(dir, 'worker.big'))};
      fs.closeSync(fs.openSync(file, 'w')); fs.truncateSync(file, 2 ** 32); // sparse: reads as zero pages
      const mm = require(${PACKAGE} + '/dist/index.js');
      (async () => {
        // How long one reduction of the whole file takes here.
        const whole = mm.memmap(file, { dtype: 'float32', mode: 'r' });
        let t = process.hrtime.bigint();
        await whole.sumAsync();
        const one = Number(process.hrtime.bigint() - t) / 1e6;
        whole.close();
        const w = new Worker(\`
          const { parentPort } = require('worker_threads');
          const mm = require(\${JSON.stringify(${PACKAGE})} + '/dist/index.js');
          const f = mm.memmap(\${JSON.stringify(file)}, { dtype: 'float32', mode: 'r' });
          for (let i = 0; i < 4; i++) f.sumAsync().catch(() => {});
          for (let i = 0; i < 4; i++) f.sumAsync({ axis: 0 }).catch(() => {});
          parentPort.postMessage('started');
        \`, { eval: true });
        await new Promise((resolve) => w.once('message', resolve));
        await w.terminate();
        const small = mm.memmap(file, { dtype: 'float32', mode: 'r', shape: [1024] });
        t = process.hrtime.bigint();
        await small.sumAsync();
        const after = Number(process.hrtime.bigint() - t) / 1e6;
        small.close();
        fs.rmSync(file);
        console.log(JSON.stringify({ one, after }));
      })();
    `);
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    const { one, after } = JSON.parse(child.stdout) as { one: number; after: number };
    // Before, the tiny reduction waited for the eight whole-file ones (at
    // least two rounds of them on the threads); now they stop within one
    // check of a mebibyte each.
    expect(after).toBeLessThan(one / 2);
  });
});

describe('opens, growth and cuts racing on threads, copies and processes', () => {
  // The file's gate (ARCHITECTURE.md, "The gate"): an open's size, map and
  // registration never fall between a cut's check and the cut, and a resize's
  // size cannot go stale before its ftruncate. Counted iterations, not time:
  // on a slow machine the race is rarer, never a failure.
  const copy = join(dir, 'race-copy');
  beforeAll(() => {
    mkdirSync(copy);
    for (const part of ['package.json', 'dist', 'native'])
      cpSync(join(ROOT, part), join(copy, part), { recursive: true });
  });
  const pkg = (which: string) =>
    which === 'this copy' ? JSON.parse(PACKAGE) + '/dist/index.js' : copy + '/dist/index.js';

  test.each(['this copy', 'another copy'])(
    'a worker opening and reading the last byte while the main thread grows and shrinks (%s): refused or fine, never SIGBUS',
    (which) => {
      const file = join(dir, `race-open-${which.replace(' ', '-')}.u8`);
      const child = runNode(`
        const { Worker } = require('worker_threads');
        const fs = require('fs');
        const A = require(${PACKAGE} + '/dist/index.js');
        const file = ${JSON.stringify(file)};
        fs.writeFileSync(file, Buffer.alloc(4096));
        const m = A.memmap(file, { dtype: 'uint8', mode: 'r+' });
        const flags = new Int32Array(new SharedArrayBuffer(8));
        const w = new Worker(\`
          const { workerData, parentPort } = require('worker_threads');
          const B = require(workerData.pkg);
          const flags = new Int32Array(workerData.flags);
          let n = 0;
          while (Atomics.load(flags, 0) === 0) {
            const b = B.memmap(workerData.file, { dtype: 'uint8', mode: 'r' });
            b.get(b.shape[0] - 1);
            b.close();
            if (++n === 1) Atomics.store(flags, 1, 1);
          }
          parentPort.postMessage(n);
        \`, { eval: true, workerData: { pkg: ${JSON.stringify(pkg(which))}, file, flags: flags.buffer } });
        while (Atomics.load(flags, 1) === 0) Atomics.wait(flags, 1, 0, 10);
        const out = { cut: 0, refused: 0, other: [] };
        for (let i = 0; i < 4000; i++) {
          m.resize([1 << 20]);
          try { m.resize([4096]); out.cut++; }
          catch (e) { if (e.code === 'ERR_MEMMAP_FILE_IN_USE') out.refused++; else out.other.push(e.code); }
        }
        Atomics.store(flags, 0, 1);
        w.on('message', (n) => { out.opened = n > 0; m.close(); console.log(JSON.stringify(out)); });
      `);
      expect(child.stderr).toBe('');
      expect({ signal: child.signal, status: child.status }).toEqual({ signal: null, status: 0 });
      const out = JSON.parse(child.stdout) as { cut: number; refused: number; other: string[]; opened: boolean };
      expect(out).toEqual({ cut: out.cut, refused: out.refused, other: [], opened: true });
      expect(out.cut + out.refused).toBe(4000);
    },
  );

  // Each grows from the size it read; one that read it before the other grew
  // the file would cut the file under the other's map.
  const grower = (pkgPath: string, file: string, k: number) => `
    const M = require(${JSON.stringify(pkgPath)});
    const codes = {}; let m = null, grown = 0;
    for (let i = 0; i < 2500; i++) {
      try {
        if (!m) m = M.memmap(${JSON.stringify(file)}, { dtype: 'uint8', mode: 'r+' });
        m.resize([m.shape[0] + 1 + ((i * 2654435761 + ${k} * 977) % 8192)]);
        m.get(m.shape[0] - 1);
        grown++;
      } catch (e) {
        codes[e.code] = (codes[e.code] || 0) + 1;
        try { m.close(); } catch {}
        m = null;
      }
    }
  `;

  test.each([
    ['this copy', 'this copy'],
    ['this copy', 'another copy'],
  ])('two workers (%s, %s) that only grow the file never cut it under each other', (a, b) => {
    const file = join(dir, `race-grow-${b.replace(' ', '-')}.u8`);
    const child = runNode(`
      const { Worker } = require('worker_threads');
      require('fs').writeFileSync(${JSON.stringify(file)}, Buffer.alloc(4096));
      const out = [];
      for (const [k, code] of ${JSON.stringify([grower(pkg(a), file, 0), grower(pkg(b), file, 1)])}.entries())
        new Worker(code + "; require('worker_threads').parentPort.postMessage({ grown, codes })", { eval: true })
          .on('message', (m) => { out.push(m); if (out.length === 2) console.log(JSON.stringify(out)); });
    `);
    expect(child.stderr).toBe('');
    expect({ signal: child.signal, status: child.status }).toEqual({ signal: null, status: 0 });
    for (const { codes } of JSON.parse(child.stdout) as { codes: Record<string, number> }[])
      // Only "the other grew the file past this map's end": reopened.
      expect(Object.keys(codes).filter((code) => code !== 'ERR_MEMMAP_NOT_AT_END')).toEqual([]);
  });

  test('two processes that only grow the file never cut it under each other', () => {
    const file = join(dir, 'race-grow-processes.u8');
    const child = runNode(`
      const { spawn } = require('child_process');
      require('fs').writeFileSync(${JSON.stringify(file)}, Buffer.alloc(4096));
      const out = [];
      for (const code of ${JSON.stringify([grower(pkg('this copy'), file, 0), grower(pkg('this copy'), file, 1)])}) {
        const p = spawn(process.execPath, ['-e', code + '; console.log(JSON.stringify(codes))'], { stdio: ['ignore', 'pipe', 'inherit'] });
        let text = '';
        p.stdout.on('data', (d) => (text += d));
        p.on('exit', (status, signal) => {
          out.push({ status, signal, codes: status === 0 ? JSON.parse(text) : null });
          if (out.length === 2) console.log(JSON.stringify(out));
        });
      }
    `);
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    for (const { status, signal, codes } of JSON.parse(child.stdout) as {
      status: number;
      signal: string | null;
      codes: Record<string, number>;
    }[]) {
      expect({ status, signal }).toEqual({ status: 0, signal: null });
      expect(Object.keys(codes).filter((code) => code !== 'ERR_MEMMAP_NOT_AT_END')).toEqual([]);
    }
  });
});

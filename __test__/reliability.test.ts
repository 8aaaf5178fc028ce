/**
 * Reliability under faults and load, each fault really provoked, in a child
 * process so that a crash is a failure: several workers and processes writing
 * one file, SIGKILL after flush, the system calls flush() issues, a full disk,
 * truncation by another process, an unprivileged user, a million cycles.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
  openSync,
  closeSync,
} from 'node:fs';
import { join } from 'node:path';
import { memmap } from '../ts/index';
import { PACKAGE, runNode, tempDir } from './helpers';

const dir = tempDir();
chmodSync(dir, 0o755);
const REQUIRE = `const mm = require(${PACKAGE} + '/dist/index.js');`;

describe('several workers and processes write one file (descriptors, Atomics)', () => {
  test('4 worker threads and 2 processes: every Atomics.add and every plain write meets in the file', () => {
    const path = join(dir, 'counters.i32');
    const fp = memmap(path, { dtype: 'int32', mode: 'w+', shape: [8] });
    const descriptor = fp.slice('...').descriptor();
    expect(JSON.parse(JSON.stringify(descriptor))).toEqual(descriptor); // structured-cloneable
    const body = `
      const fp = mm.memmap.fromDescriptor(descriptor);
      const data = fp.data;
      for (let i = 0; i < 20000; i++) Atomics.add(data, 0, 1);
      fp.set(1 + slot, 100 + slot);
      fp.flush();
      fp.close();`;
    const result = runNode(`
      ${REQUIRE}
      const { Worker } = require('worker_threads');
      const { spawnSync } = require('child_process');
      const descriptor = ${JSON.stringify(descriptor)};
      const workerCode = ${JSON.stringify(`const { workerData: { descriptor, slot } } = require('worker_threads'); ${REQUIRE} ${body}`)};
      const processes = [4, 5].map((slot) => new Promise((resolve) => {
        const child = require('child_process').spawn(process.execPath, ['-e', ${JSON.stringify(REQUIRE)} + 'const descriptor = ' + JSON.stringify(descriptor) + '; const slot = ' + slot + ';' + ${JSON.stringify(body)}], { stdio: 'inherit' });
        child.on('exit', resolve);
      }));
      const workers = [0, 1, 2, 3].map((slot) => new Promise((resolve, reject) => {
        const w = new Worker(workerCode, { eval: true, workerData: { descriptor, slot } });
        w.on('exit', resolve); w.on('error', reject);
      }));
      Promise.all([...workers, ...processes]).then((codes) => console.log(JSON.stringify(codes)));
    `);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(fp.toArray()).toEqual([6 * 20000, 100, 101, 102, 103, 104, 105, 0]);
    fp.close();
  });

  test('a strided view reopens as the same elements', () => {
    const path = join(dir, 'strided.f64');
    const fp = memmap(path, { dtype: '>f8', mode: 'w+', shape: [4, 5], order: 'F' });
    fp.assign(Array.from({ length: 20 }, (_, i) => i));
    const view = fp.slice('::-2, 1::2');
    const again = memmap.fromDescriptor(view.descriptor());
    expect(again.dtype).toBe('>f8');
    expect(again.strides).toEqual(view.strides);
    expect(again.toArray()).toEqual(view.toArray());
    again.set(0, 0, -1);
    expect(view.get(0, 0)).toBe(-1);
    again.close();
    fp.close();
  });
});

describe('durability', () => {
  test('written, flushed, then SIGKILL: the data and the grown size are in the file', () => {
    const path = join(dir, 'killed.bin');
    const result = runNode(`${REQUIRE}
      const fp = mm.memmap(${JSON.stringify(path)}, { dtype: 'uint32', mode: 'w+', shape: [3, 1000], offset: 7 });
      for (let i = 0; i < 3000; i++) fp.set(Math.floor(i / 1000), i % 1000, i * 7);
      fp.flush();
      process.kill(process.pid, 'SIGKILL');`);
    expect(result.signal).toBe('SIGKILL');
    expect(statSync(path).size).toBe(7 + 12000);
    const bytes = readFileSync(path);
    for (const i of [0, 1, 999, 1000, 2999]) expect(bytes.readUInt32LE(7 + 4 * i)).toBe(i * 7);
  });

  test('strace: flush() issues msync(MS_SYNC) over the view and fdatasync after growth; flushAsync too', () => {
    const path = join(dir, 'traced.bin');
    const trace = join(dir, 'trace.txt');
    const script = `${REQUIRE}
      const fp = mm.memmap(${JSON.stringify(path)}, { dtype: 'uint8', mode: 'w+', shape: 1 << 20 });
      fp.fill(1);
      process.stdout.write('FLUSH-BASE\\n');
      fp.flush();
      const view = fp.slice('8192:12288');
      view.fill(2);
      view.flush();
      fp.flushAsync().then(() => fp.close());`;
    const result = spawnSync(
      'strace',
      ['-f', '-e', 'trace=msync,fdatasync,fsync', '-o', trace, process.execPath, '-e', script],
      { encoding: 'utf8' },
    );
    expect(result.status).toBe(0);
    const calls = readFileSync(trace, 'utf8')
      .split('\n')
      .filter((line) => /msync|fdatasync|fsync/.test(line) && !/resumed|unfinished/.test(line));
    const msyncs = calls.filter((line) => line.includes('msync('));
    expect(msyncs.length).toBeGreaterThanOrEqual(3);
    expect(msyncs.every((line) => line.includes('MS_SYNC'))).toBe(true);
    expect(msyncs.some((line) => /, 1048576, MS_SYNC/.test(line))).toBe(true); // the whole base
    expect(msyncs.some((line) => /, 4096, MS_SYNC/.test(line))).toBe(true); // the view's own page
    expect(calls.filter((line) => line.includes('fdatasync(')).length).toBe(1); // the size grew once
  });

  test('strace: append(rows, { sync: true }) syncs the data and then the header, rows of no bytes included', () => {
    const trace = join(dir, 'trace-append.txt');
    const count = (shape: string, rows: string) => {
      const path = join(dir, `synced-${shape.replace(/\W/g, '')}.npy`);
      const script = `${REQUIRE}
        const fp = mm.openMemmap(${JSON.stringify(path)}, { mode: 'w+', dtype: 'float32', shape: ${shape} });
        fp.flush();
        process.stdout.write('APPEND\\n');
        const out = fp.append(${rows}, { sync: true });
        process.stdout.write('DONE\\n');
        fp.close();
        console.log(JSON.stringify(out));`;
      const result = spawnSync(
        'strace',
        ['-f', '-e', 'trace=fdatasync,write,writev', '-o', trace, process.execPath, '-e', script],
        { encoding: 'utf8' },
      );
      expect(result.status).toBe(0);
      const lines = readFileSync(trace, 'utf8').split('\n');
      const from = lines.findIndex((line) => line.includes('APPEND'));
      const to = lines.findIndex((line) => line.includes('DONE'));
      const syncs = lines.slice(from, to).filter((line) => /fdatasync\(/.test(line) && !/resumed/.test(line));
      return { syncs: syncs.length, shape: JSON.parse(result.stdout.trim().split('\n').pop() as string) as number[] };
    };
    // Rows, then the header: one fdatasync after each.
    expect(count('[0, 2]', '[[1, 2], [3, 4]]')).toEqual({ syncs: 2, shape: [2, 2] });
    // Rows of no bytes change only the header, which is synced all the same.
    expect(count('[0, 0]', '[[], [], []]')).toEqual({
      syncs: 1,
      shape: [3, 0],
    });
  });
});

describe('a full disk is an error at open, never a SIGBUS later', () => {
  test('RLIMIT_FSIZE: w+ past the limit is ERR_MEMMAP_NO_SPACE and leaves no file', () => {
    const path = join(dir, 'too-big.bin');
    const result = spawnSync(
      'prlimit',
      [
        `--fsize=${1 << 20}`,
        process.execPath,
        '-e',
        `${REQUIRE}
      try { mm.memmap(${JSON.stringify(path)}, { mode: 'w+', shape: 4 << 20 }); console.log('opened'); }
      catch (e) { console.log(e.code); }`,
      ],
      { encoding: 'utf8' },
    );
    expect(result.signal).toBeNull();
    expect(result.stdout.trim()).toBe('ERR_MEMMAP_NO_SPACE');
    expect(existsSync(path)).toBe(false);
  });

  const mountPoint = join(dir, 'tiny');
  mkdirSync(mountPoint);
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountPoint]).status === 0;
  afterAll(() => {
    if (mounted) spawnSync('umount', [mountPoint]);
  });
  (mounted ? test : test.skip)(
    'a 1 MiB tmpfs: a map larger than the disk fails at open; a reserved map survives the disk filling up',
    () => {
      const result = runNode(`${REQUIRE}
      const fs = require('fs');
      const out = [];
      try { mm.memmap(${JSON.stringify(join(mountPoint, 'huge'))}, { mode: 'w+', shape: 4 << 20 }); out.push('opened'); } catch (e) { out.push(e.code); }
      out.push(fs.existsSync(${JSON.stringify(join(mountPoint, 'huge'))}));
      const fp = mm.memmap(${JSON.stringify(join(mountPoint, 'kept'))}, { mode: 'w+', shape: 256 << 10 });
      try { fs.writeFileSync(${JSON.stringify(join(mountPoint, 'filler'))}, Buffer.alloc(4 << 20, 1)); } catch (e) { out.push(e.code); }
      fp.fill(7);              // every page of the map: blocks reserved at open, so no SIGBUS
      fp.flush();
      fp.close();
      out.push(fs.readFileSync(${JSON.stringify(join(mountPoint, 'kept'))}).every((b) => b === 7));
      console.log(JSON.stringify(out));`);
      expect(result.signal).toBeNull();
      expect(JSON.parse(result.stdout)).toEqual(['ERR_MEMMAP_NO_SPACE', false, 'ENOSPC', true]);
    },
  );
});

test('a file truncated by another process under a live map: flush() says so (ERR_MEMMAP_FILE_SHRUNK)', () => {
  const path = join(dir, 'shrunk.bin');
  const result = runNode(`${REQUIRE}
    const fp = mm.memmap(${JSON.stringify(path)}, { dtype: 'uint8', mode: 'w+', shape: 1 << 16 });
    fp.set(0, 1);
    require('child_process').execFileSync('truncate', ['-s', '4096', ${JSON.stringify(path)}]);
    fp.set(10, 2); // still inside the file
    try { fp.flush(); console.log('flushed'); } catch (e) { console.log(e.code); }
    try { fp.close(); } catch (e) { console.log('close: ' + e.code); }`);
  expect(result.signal).toBeNull();
  expect(result.stdout.trim().split('\n')).toEqual(['ERR_MEMMAP_FILE_SHRUNK', 'close: ERR_MEMMAP_FILE_SHRUNK']);
});

const isRoot = process.getuid?.() === 0;
(isRoot ? describe : describe.skip)('as an unprivileged user (nobody): permission errors change nothing', () => {
  test('no read permission, a read-only file in r+, a read-only directory in w+', () => {
    const area = join(dir, 'perm');
    mkdirSync(area);
    const secret = join(area, 'secret.bin');
    const readOnly = join(area, 'readonly.bin');
    const lockedDir = join(area, 'locked');
    mkdirSync(lockedDir);
    writeFileSync(secret, Buffer.alloc(16, 3));
    writeFileSync(readOnly, Buffer.alloc(16, 4));
    chmodSync(secret, 0o000);
    chmodSync(readOnly, 0o444);
    chmodSync(lockedDir, 0o555);
    chmodSync(area, 0o755);
    const before = readdirSync(area).map((name) => `${name}:${statSync(join(area, name)).mtimeMs}`);
    const result = spawnSync(
      process.execPath,
      [
        '-e',
        `${REQUIRE}
      const out = [];
      const attempt = (f) => { try { f(); out.push('opened'); } catch (e) { out.push(e.code); } };
      attempt(() => mm.memmap(${JSON.stringify(secret)}, { mode: 'r' }));
      attempt(() => mm.memmap(${JSON.stringify(readOnly)}, { mode: 'r+' }));
      attempt(() => mm.memmap(${JSON.stringify(join(lockedDir, 'new.bin'))}, { mode: 'w+', shape: 8 }));
      attempt(() => mm.memmap(${JSON.stringify(readOnly)}, { mode: 'r' }).close());
      console.log(JSON.stringify(out));`,
      ],
      { encoding: 'utf8', uid: 65534, gid: 65534 },
    );
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual([
      'ERR_MEMMAP_PERMISSION_DENIED',
      'ERR_MEMMAP_PERMISSION_DENIED',
      'ERR_MEMMAP_PERMISSION_DENIED',
      'opened',
    ]);
    expect(readdirSync(area).map((name) => `${name}:${statSync(join(area, name)).mtimeMs}`)).toEqual(before);
    expect(readdirSync(lockedDir)).toEqual([]);
  });
});

test('a descriptor open read-only cannot be mapped r+ (ERR_MEMMAP_BAD_FD), and stays open', () => {
  const path = join(dir, 'fd-ro.bin');
  writeFileSync(path, Buffer.alloc(8));
  const fd = openSync(path, 'r');
  expect(() => memmap(fd, { mode: 'r+' })).toThrow(
    expect.objectContaining({ code: 'ERR_MEMMAP_BAD_FD', message: expect.stringMatching(/reading and writing/) }),
  );
  expect(memmap(fd, { mode: 'r' }).size).toBe(8);
  closeSync(fd);
});

test('leaks: 60k open/close cycles and 200k get/set calls keep RSS and /proc/self/maps flat (npm run soak: a million)', () => {
  const path = join(dir, 'leak.f32');
  writeFileSync(path, Buffer.alloc(4096));
  const result = runNode(
    `${REQUIRE}
    const CYCLES = 60000; const CALLS = 200000;
    const fs = require('fs');
    const maps = () => fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').length;
    // After a collection, finalizers (which release placeholders) run on the
    // following turns: sample once they have.
    const sample = async () => { global.gc(); await turn(); await turn(); global.gc(); await turn(); return { rss: process.memoryUsage().rss, maps: maps() }; };
    // Buffers detached by close() are finalized on the event loop (Node-API runs
    // external-buffer finalizers from SetImmediate), so the loop yields now and then.
    const turn = () => new Promise((resolve) => setImmediate(resolve));
    const cycles = async (n) => {
      for (let i = 0; i < n; i++) {
        const fp = mm.memmap(${JSON.stringify(path)}, { dtype: 'float32', mode: i & 1 ? 'r+' : 'r' });
        if (i % 8 === 0) fp.data;
        fp.close();
        if (i % 5000 === 4999) await turn();
      }
      await turn();
    };
    (async () => {
      await cycles(CYCLES / 10);
      const warm = await sample();
      await cycles(CYCLES - CYCLES / 10);
      const after = await sample();
      const fp = mm.memmap(${JSON.stringify(path)}, { dtype: 'float32', mode: 'r+' });
      for (let i = 0; i < CALLS; i++) fp.set(i & 1023, fp.get((i * 7) & 1023) + 1);
      const touched = await sample();
      fp.close();
      console.log(JSON.stringify({ warm, after, touched }));
    })();`,
    { args: ['--expose-gc'], timeout: 600000 },
  );
  expect(result.stderr).toBe('');
  const { warm, after, touched } = JSON.parse(result.stdout);
  expect(after.rss - warm.rss).toBeLessThan(16 << 20);
  expect(after.maps - warm.maps).toBeLessThan(16);
  expect(touched.rss - warm.rss).toBeLessThan(24 << 20);
}, 620000);

/**
 * close() while work still uses the map: Node's thread pool reading or
 * writing a view (zlib, crypto, fs, a socket), and memmap's own async
 * reductions and flushes. Every case runs many rounds in a child process, so
 * a crash is a failed test; each round calls close() right after starting the
 * work and then collects garbage while the work runs, so that only what Node
 * itself holds keeps the buffer (and the placeholder under it) alive.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE, runNode, tempDir } from './helpers';

const dir = tempDir();

/** Runs `body` in a child with `mm`, `dir`, `live()` and `settle(promise)` in scope; parses its last line. */
function child(body: string) {
  const script = `
    const mm = require(${PACKAGE} + '/dist/index.js');
    const { binding } = require(${PACKAGE} + '/dist/binding.js');
    const dir = ${JSON.stringify(dir)};
    const live = () => binding.liveMaps()[0];
    const turn = () => new Promise((resolve) => setImmediate(resolve));
    /**
     * Turns the event loop until 'promise' settles, collecting garbage every
     * few ms after the first few (quick turns first: that is when a buffer's
     * backing-store finalizer runs); returns the outcome.
     */
    async function settle(promise) {
      let done = false;
      const outcome = promise.then((value) => ({ value }), (error) => ({ error }));
      outcome.then(() => (done = true));
      for (let last = Date.now() + 5; !done; await turn()) {
        if (Date.now() - last >= 5) { global.gc(); last = Date.now(); }
      }
      return outcome;
    }
    /** The placeholders go once nothing holds them: collect until the live count is back. */
    async function released() {
      for (let i = 0; i < 20 && live() > 0; i++) { global.gc(); await new Promise((r) => setTimeout(r, 10)); }
      return live();
    }
    (async () => {
      ${body}
    })().catch((error) => { console.log(JSON.stringify({ failed: String(error && error.stack || error) })); process.exitCode = 1; });
  `;
  const result = runNode(script, { args: ['--expose-gc'] });
  const lines = result.stdout.trim().split('\n');
  return { ...result, report: result.status === 0 ? JSON.parse(lines[lines.length - 1]) : null };
}

/**
 * A Node API started on `data` (the view of a fresh map filled with ones),
 * calling `done(error, check)` when it ends; `check` says whether its result
 * is whole (every byte accounted for, each a one from the file or a zero from
 * the placeholder).
 */
const NODE_APIS: Record<string, { size: number; rounds: number; start: string; prepare?: string }> = {
  'zlib.deflate (one 64 MiB chunk)': {
    size: 8 << 20,
    rounds: 10,
    start: `(data, done) => zlib.deflate(data, { chunkSize: 64 << 20 }, (e, out) => (e ? done(e) : done(null, wholeBytes(zlib.inflateSync(out)))))`,
  },
  'zlib.gzip (one 64 MiB chunk)': {
    size: 8 << 20,
    rounds: 10,
    start: `(data, done) => zlib.gzip(data, { chunkSize: 64 << 20 }, (e, out) => (e ? done(e) : done(null, wholeBytes(zlib.gunzipSync(out)))))`,
  },
  'zlib.brotliCompress (one 64 MiB chunk)': {
    size: 4 << 20,
    rounds: 8,
    start: `(data, done) => zlib.brotliCompress(data, { chunkSize: 64 << 20 }, (e, out) => (e ? done(e) : done(null, wholeBytes(zlib.brotliDecompressSync(out)))))`,
  },
  'crypto.randomFill': {
    size: 64 << 20,
    rounds: 10,
    start: `(data, done) => crypto.randomFill(data, (e) => done(e, true))`,
  },
  'fs.write': {
    size: 64 << 20,
    rounds: 10,
    start: `(data, done) => {
      const fd = fs.openSync(path.join(dir, 'copy.bin'), 'w');
      fs.write(fd, data, 0, data.length, 0, (e, written) => { fs.closeSync(fd); done(e, written === SIZE); });
    }`,
  },
  'a socket write': {
    size: 32 << 20,
    rounds: 10,
    // One connection for every round; the write starts before close().
    prepare: `
      let received = 0;
      let waiting = null;
      const server = net.createServer((socket) => socket.on('data', (chunk) => {
        received += chunk.length;
        if (waiting && received >= waiting.total) waiting.resolve();
      }));
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
      const client = net.connect(server.address().port, '127.0.0.1');
      await new Promise((resolve) => client.on('connect', resolve));
      let sent = 0;`,
    start: `(data, done) => {
      const total = (sent += SIZE);
      const arrived = new Promise((resolve) => (waiting = { total, resolve }));
      client.write(data, (e) => (e ? done(e) : arrived.then(() => done(null, received === total))));
    }`,
  },
};

describe('close() while a Node API on the thread pool still uses a view: never a signal', () => {
  test.each(Object.entries(NODE_APIS))('%s', (_, { size, rounds, start, prepare = '' }) => {
    const { signal, status, stderr, report } = child(`
      const zlib = require('zlib'), crypto = require('crypto'), fs = require('fs'), net = require('net'), path = require('path');
      const SIZE = ${size};
      const wholeBytes = (bytes) => bytes.length === SIZE && bytes.every((b) => b === 0 || b === 1);
      ${prepare}
      const start = ${start};
      const outcomes = {};
      for (let round = 0; round < ${rounds}; round++) {
        const fp = mm.memmap(path.join(dir, 'io-' + round % 2 + '.bin'), { dtype: 'uint8', mode: 'w+', shape: SIZE });
        fp.fill(1);
        // The view is passed straight on: no variable here keeps it alive.
        const work = new Promise((resolve, reject) => start(fp.data, (e, whole) => (e ? reject(e) : resolve(whole))));
        fp.close();
        const { value, error } = await settle(work);
        const key = error ? 'error ' + (error.code || error.message) : value === true ? 'whole' : 'short';
        outcomes[key] = (outcomes[key] || 0) + 1;
      }
      if (typeof client !== 'undefined') { client.destroy(); server.close(); }
      console.log(JSON.stringify({ outcomes, liveAfter: await released() }));
    `);
    expect({ signal, stderr }).toEqual({ signal: null, stderr: '' });
    expect(status).toBe(0);
    expect(report).toEqual({ outcomes: { whole: rounds }, liveAfter: 0 });
  });
});

describe('the placeholder lives exactly as long as something can reach it', () => {
  test('kept while a TypedArray over a closed map is reachable, released once it is collected', () => {
    const { signal, report } = child(`
      const fp = mm.memmap(require('path').join(dir, 'kept.bin'), { dtype: 'float64', mode: 'w+', shape: 1024 });
      let data = fp.data;
      fp.close();
      const afterClose = live();
      for (let i = 0; i < 5; i++) { global.gc(); await new Promise((r) => setTimeout(r, 10)); }
      const whileReachable = live();
      const detached = data.length;
      data = null;
      const liveAfter = await released();
      // The closed Memmap itself is still reachable here: it does not keep the buffer.
      console.log(JSON.stringify({ afterClose, whileReachable, detached, liveAfter, closed: fp.closed }));
    `);
    expect(signal).toBeNull();
    expect(report).toEqual({ afterClose: 1, whileReachable: 1, detached: 0, liveAfter: 0, closed: true });
  });

  test('a map closed with no buffer handed out is unmapped at once', () => {
    const { signal, report } = child(`
      const fp = mm.memmap(require('path').join(dir, 'none.bin'), { dtype: 'float64', mode: 'w+', shape: 1024 });
      fp.get(3);
      fp.close();
      console.log(JSON.stringify({ afterClose: live() }));
    `);
    expect(signal).toBeNull();
    expect(report).toEqual({ afterClose: 0 });
  });
});

describe('async work in flight during close(): the right value or ERR_MEMMAP_CLOSED, never placeholder data', () => {
  const ones = join(dir, 'ones.u8');
  const minusOnes = join(dir, 'minus-ones.i8');
  writeFileSync(ones, Buffer.alloc(32 << 20, 1));
  writeFileSync(minusOnes, Buffer.alloc(32 << 20, 0xff));

  test.each([
    ['uint8 ones', ones, 'uint8', { sumAsync: '33554432', minAsync: '1', maxAsync: '1', meanAsync: '1' }],
    ['int8 minus ones', minusOnes, 'int8', { sumAsync: '-33554432', minAsync: '-1', maxAsync: '-1', meanAsync: '-1' }],
  ])('%s: sumAsync, minAsync, maxAsync, meanAsync over 32 MiB, 20 rounds each', (_, file, dtype, expected) => {
    const { signal, stderr, report } = child(`
      const expected = ${JSON.stringify(expected)};
      const outcomes = {};
      for (let round = 0; round < 20; round++) {
        for (const op of Object.keys(expected)) {
          const fp = mm.memmap(${JSON.stringify(file)}, { dtype: ${JSON.stringify(dtype)}, mode: 'r' });
          if (round % 4 === 3) fp.data; // a buffer handed out too
          const pending = fp[op]();
          // Close at once, or a little later: some rounds finish first.
          if (round % 2 === 1) await new Promise((r) => setTimeout(r, (round * 3) % 25));
          fp.close();
          const { value, error } = await settle(pending);
          const key = error ? op + ' ' + error.code : String(value) === expected[op] ? op + ' right' : op + ' WRONG ' + value;
          outcomes[key] = (outcomes[key] || 0) + 1;
        }
      }
      console.log(JSON.stringify({ outcomes, liveAfter: await released() }));
    `);
    expect({ signal, stderr }).toEqual({ signal: null, stderr: '' });
    const { outcomes, liveAfter } = report;
    expect(liveAfter).toBe(0);
    for (const [key, count] of Object.entries(outcomes as Record<string, number>)) {
      expect([key, count]).toEqual([expect.stringMatching(/^\w+Async (right|ERR_MEMMAP_CLOSED)$/), expect.any(Number)]);
    }
    const total = Object.values(outcomes as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(total).toBe(80);
  });

  test('flushAsync in flight during close(): resolves or rejects with ERR_MEMMAP_CLOSED, and the bytes reach the file', () => {
    const { signal, stderr, report } = child(`
      const fs = require('fs'), path = require('path');
      const file = path.join(dir, 'flush.u8');
      const outcomes = {};
      let bad = 0;
      for (let round = 0; round < 40; round++) {
        const fp = mm.memmap(file, { dtype: 'uint8', mode: 'w+', shape: 4 << 20 });
        fp.fill(round + 1);
        const pending = fp.flushAsync();
        if (round % 2 === 1) await new Promise((r) => setTimeout(r, (round * 3) % 25));
        fp.close();
        const { error } = await settle(pending);
        const key = error ? error.code + (error instanceof Error ? '' : ' (not an Error)') : 'resolved';
        outcomes[key] = (outcomes[key] || 0) + 1;
        if (!fs.readFileSync(file).every((b) => b === round + 1)) bad++;
      }
      console.log(JSON.stringify({ outcomes, bad }));
    `);
    expect({ signal, stderr }).toEqual({ signal: null, stderr: '' });
    expect(report.bad).toBe(0);
    for (const key of Object.keys(report.outcomes)) expect(['resolved', 'ERR_MEMMAP_CLOSED']).toContain(key);
  });
});

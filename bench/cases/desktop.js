// Desktop apps: the Electron fallback (a runtime that refuses external
// ArrayBuffers, simulated by the binding's test hook in a process of its own,
// bench/electron.js) against the zero-copy path, round by round side by side;
// fs staying responsive while the library's async work runs; closeAsync()
// against close() on a dirty map.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { memmap } = require('../..');
const { quick, ROUNDS, GiB, dir, floats, paired, report } = require('../lib');

/** One process per round and mode, alternating which goes first (see bench/electron.js). */
function electronRounds() {
  const rounds = [];
  for (let round = 0; round < ROUNDS; round++) {
    const run = (mode) =>
      JSON.parse(
        execFileSync(
          process.execPath,
          [path.join(__dirname, '..', 'electron.js'), path.join(dir, `e-${mode}.f32`), mode],
          {
            encoding: 'utf8',
          },
        ),
      );
    const [first, second] = round % 2 === 0 ? ['refuse', 'zero-copy'] : ['zero-copy', 'refuse'];
    const a = run(first);
    const b = run(second);
    rounds.push(first === 'refuse' ? { refused: a, zeroCopy: b } : { refused: b, zeroCopy: a });
  }
  return rounds;
}

/** The paired rounds of one case, as report() takes them. */
function pairs(rounds, name) {
  const ours = rounds.map((r) => r.refused[name]);
  const theirs = rounds.map((r) => r.zeroCopy[name]);
  return { ours, theirs, ratios: ours.map((x, i) => x / theirs[i]) };
}

module.exports = async function desktop() {
  // 1. Electron: single elements under 150 ns, bulk operations within 2x of zero-copy.
  const rounds = electronRounds();
  for (const name of ['get(i)', 'get(i, j)', 'set(i, v)']) {
    report(
      `Electron fallback: ${name}`,
      'ns',
      'zero-copy path',
      pairs(rounds, name),
      '< 150 ns per call',
      (_r, ns) => ns < 150,
      'one native call per element, numbers only',
    );
  }
  for (const name of [
    'assign(Float32Array)',
    'toArray()',
    'fill(v)',
    'iteration (for...of)',
    'read(0, n)',
    'write(0, Float32Array)',
    'sum()',
  ]) {
    report(
      `Electron fallback: ${name}, 1M float32`,
      'ms',
      'zero-copy path',
      pairs(rounds, name),
      '<= 2x zero-copy',
      (r) => r <= 2,
    );
  }

  // 2. fs while async work runs: a 4 KiB readFile behind eight sumAsync()
  // calls of a whole map, against the same readFile with nothing in flight.
  const bytes = quick ? GiB / 4 : GiB;
  const data = floats('desktop.f32', bytes);
  const small = path.join(dir, 'small.bin');
  fs.writeFileSync(small, Buffer.alloc(4096, 7));
  const map = memmap(data, { dtype: 'float32', mode: 'r' });
  await map.sumAsync(); // the pages in memory, as for every round after
  const readTime = async () => {
    const t = process.hrtime.bigint();
    await fs.promises.readFile(small);
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  const busy = async () => {
    const sums = Array.from({ length: 8 }, () => map.sumAsync());
    const ms = await readTime();
    await Promise.all(sums);
    return ms;
  };
  report(
    `fs.promises.readFile(4 KiB) behind 8 sumAsync() of ${bytes / GiB} GiB`,
    'ms',
    'readFile alone',
    await paired(busy, readTime),
    '< 20 ms',
    (_r, ms) => ms < 20,
    "async work on the library's own threads; libuv's pool stays Node's",
  );
  map.close();

  // 3. closeAsync() of a dirty writable map: time on the main thread, against close().
  const dirtyBytes = quick ? 64 << 20 : 256 << 20;
  const dirtyFile = path.join(dir, 'dirty-close.bin');
  const dirtied = () => {
    const fp = memmap(dirtyFile, { dtype: 'uint8', mode: 'w+', shape: dirtyBytes });
    fp.fill(Math.floor(Math.random() * 255));
    return fp;
  };
  const asyncClose = async () => {
    const fp = dirtied();
    const t = process.hrtime.bigint();
    const closing = fp.closeAsync();
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    await closing;
    return Math.max(ms, 0.001);
  };
  const syncClose = () => {
    const fp = dirtied();
    const t = process.hrtime.bigint();
    fp.close();
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  report(
    `closeAsync() of ${dirtyBytes >> 20} MiB dirty: main-thread time`,
    'ms',
    'close() blocking',
    await paired(asyncClose, syncClose),
    '< 5 ms on the main thread',
    (_r, ms) => ms < 5,
  );
};

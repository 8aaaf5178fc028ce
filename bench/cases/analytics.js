// The analytics targets (issue 13), side by side with numpy in the same run:
// axis reductions of (2^24, 16) and (2^26, 4) float32 .npy files (1 GiB each)
// at least 3x faster than numpy's same call and at least half the bandwidth
// of the whole-array sum() measured in the same run; whole-array reductions
// of each numeric dtype at least as fast as numpy's; and an aborted 16 GiB
// sumAsync settling in under 50 ms.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { openMemmap, memmap } = require('../..');
const { execFileSync } = require('node:child_process');
const { quick, GiB, dir, py, seconds, sparse, paired, report, median, ROUNDS } = require('../lib');

/**
 * numpy's times (ms) for each of `calls` (expressions over `a`) on the .npy
 * at `file`, mapped, warm: one python3 process per round for all of them
 * (a process per call per round made the run take most of an hour).
 */
const numpyBatch = (file, calls) =>
  JSON.parse(
    execFileSync(
      'python3',
      [
        '-c',
        `
import sys, time, json, numpy as np
a = np.load(sys.argv[1], mmap_mode='r')
a.sum()  # the page cache and numpy's code warm
out = []
for call in json.loads(sys.argv[2]):
    t = time.perf_counter()
    eval(call)
    out.append((time.perf_counter() - t) * 1e3)
print(json.dumps(out))`,
        file,
        JSON.stringify(calls),
      ],
      { encoding: 'utf8' },
    ),
  );

/**
 * Side by side, round by round in alternating order: each of `ours` (one
 * function per case) against numpy's batch of the same calls.
 */
function pairedBatch(file, ours, calls) {
  const results = ours.map(() => ({ ours: [], theirs: [], ratios: [] }));
  for (let round = 0; round < ROUNDS; round++) {
    let theirs = null;
    if (round % 2 === 1) theirs = numpyBatch(file, calls);
    const mine = ours.map((f) => ms(f));
    if (theirs === null) theirs = numpyBatch(file, calls);
    results.forEach((r, i) => {
      r.ours.push(mine[i]);
      r.theirs.push(theirs[i]);
      r.ratios.push(mine[i] / theirs[i]);
    });
  }
  return results;
}

const ms = (f) => seconds(f) * 1e3;

module.exports = async function analytics() {
  const load = `load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`;
  // 1. Axis reductions of two 1 GiB float32 .npy files written by numpy.
  const rows = quick ? 2 ** 22 : 2 ** 24;
  for (const [n, m] of [
    [rows, 16],
    [rows * 4, 4],
  ]) {
    const file = path.join(dir, `a${n}x${m}.npy`);
    py(
      `
import sys, numpy as np
a = np.lib.format.open_memmap(sys.argv[1], mode='w+', dtype='<f4', shape=(int(sys.argv[2]), int(sys.argv[3])))
rng = np.random.default_rng(0)
step = 1 << 20
for i in range(0, a.shape[0], step):
    a[i:i + step] = rng.random((min(step, a.shape[0] - i), a.shape[1]), dtype=np.float32)
a.flush()
print(0)`,
      file,
      n,
      m,
    );
    const a = openMemmap(file, { mode: 'r' });
    const bytes = a.nbytes;
    // The ceiling, whole-array sum(), is measured in the same rounds as the
    // cases (first in each), under the same conditions: right after numpy's
    // process, not in a warm run of its own.
    const cases = [
      ['sum()', () => a.sum(), 'a.sum()'],
      ['sum(axis=0)', () => a.sum({ axis: 0 }), 'a.sum(axis=0)'],
      ['mean(axis=0)', () => a.mean({ axis: 0 }), 'a.mean(axis=0)'],
      ['max(axis=0)', () => a.max({ axis: 0 }), 'a.max(axis=0)'],
      ['sum(axis=1)', () => a.sum({ axis: 1 }), 'a.sum(axis=1)'],
      ['min(axis=1)', () => a.min({ axis: 1 }), 'a.min(axis=1)'],
      ['argmax()', () => a.argmax(), 'a.argmax()'],
      ['argmax(axis=0)', () => a.argmax({ axis: 0 }), 'a.argmax(axis=0)'],
      ['std()', () => a.std(), 'a.std()'],
      ['std(axis=0)', () => a.std({ axis: 0 }), 'a.std(axis=0)'],
    ];
    for (const [, ours] of cases) ours();
    const measured = pairedBatch(
      file,
      cases.map(([, ours]) => ours),
      cases.map(([, , theirs]) => theirs),
    );
    const ceiling = bytes / 1e6 / median(measured[0].ours); // GB/s of the whole-array sum()
    for (const [k, [name, , theirs]] of cases.entries()) {
      if (k === 0) continue;
      const result = measured[k];
      const gbs = bytes / 1e6 / median(result.ours);
      report(
        `${name}, (${n}, ${m}) float32`,
        'ms',
        `numpy ${theirs}`,
        result,
        '≤ 1/3 of numpy, ≥ 0.5× sum() bandwidth',
        (ratio) => ratio <= 1 / 3 && gbs >= 0.5 * ceiling,
        `${gbs.toFixed(1)} GB/s; whole-array sum() ${ceiling.toFixed(1)} GB/s; ${load}`,
      );
    }
    a.close();
  }

  // 2. Whole-array reductions, dtype × operation, 1 GiB each (the issue's
  // size; one file at a time, removed after its row).
  const tableBytes = quick ? 32 * 2 ** 20 : GiB;
  const dtypes = ['<i1', '<u1', '<i2', '<u2', '<i4', '<u4', '<i8', '<u8', '<f4', '<f8', '>f4', '>i4'];
  const ops = [
    ['sum', 'a.sum()'],
    ['mean', 'a.mean()'],
    ['min', 'a.min()'],
    ['max', 'a.max()'],
    ['argmax', 'a.argmax()'],
    ['std', 'a.std()'],
    ['any', 'a.any()'],
    ['countNonzero', 'np.count_nonzero(a)'],
  ];
  for (const descr of dtypes) {
    const itemsize = Number(descr.slice(2));
    const file = path.join(dir, `t${descr.replace(/[<>]/, (c) => (c === '<' ? 'le' : 'be'))}.npy`);
    py(
      `
import sys, numpy as np
n = int(sys.argv[2]) // np.dtype(sys.argv[3]).itemsize
a = np.lib.format.open_memmap(sys.argv[1], mode='w+', dtype=sys.argv[3], shape=(n,))
step = 1 << 24
for i in range(0, n, step):
    a[i:i + step] = (np.arange(i, min(n, i + step)) % 97).astype(sys.argv[3])
a.flush()
print(0)`,
      file,
      tableBytes,
      descr,
    );
    const a = openMemmap(file, { mode: 'r' });
    for (const [op] of ops) a[op]();
    const measured = pairedBatch(
      file,
      ops.map(
        ([op]) =>
          () =>
            a[op](),
      ),
      ops.map(([, theirs]) => theirs),
    );
    for (const [k, [op, theirs]] of ops.entries()) {
      const result = measured[k];
      report(
        `${op}() ${descr}, ${tableBytes / 2 ** 20} MiB`,
        'ms',
        `numpy ${theirs}`,
        result,
        '≤ numpy',
        (ratio) => ratio <= 1,
        `${(tableBytes / 1e6 / median(result.ours)).toFixed(1)} GB/s (itemsize ${itemsize})`,
      );
    }
    a.close();
    fs.rmSync(file);
  }

  // 3. Aborting a 16 GiB sumAsync: from abort() to the Promise settled.
  const hugeFile = sparse('huge.f4', 16 * GiB);
  const huge = memmap(hugeFile, { dtype: 'float32', mode: 'r' });
  const abortMs = async () => {
    const controller = new globalThis.AbortController();
    const pending = huge.sumAsync({ axis: null, signal: controller.signal }).catch((e) => e);
    await new Promise((resolve) => setTimeout(resolve, 30));
    const t = process.hrtime.bigint();
    controller.abort();
    const outcome = await pending;
    if (outcome?.name !== 'AbortError') throw new Error(`abort did not reject with an AbortError: ${outcome}`);
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  report(
    'abort of a 16 GiB sumAsync (sparse file) until the Promise settles',
    'ms',
    'the 50 ms target',
    await paired(abortMs, async () => 50),
    '< 50 ms',
    (_ratio, ours) => ours < 50,
    'numpy has no cancellable reduction',
  );
  huge.close();
};

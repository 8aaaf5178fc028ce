// Growth (issue 15): append() against npy-append-array (from PyPI, installed
// here if missing) and fs.writeSync of the same bytes, with and without a
// flush every 64 MiB; w+ of a 16 GiB sparse file against C; resize() that
// doubles a 1 GiB map against the fallocate it needs.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { quick, GiB, dir, c, median, seconds, paired, report } = require('../lib');
const { memmap, openMemmap } = require('../..');

const MiB = 2 ** 20;

function ensureNpyAppendArray() {
  try {
    execFileSync('python3', ['-c', 'import npy_append_array'], { stdio: 'ignore' });
  } catch {
    execFileSync('python3', ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', 'npy-append-array'], {
      stdio: 'inherit',
    });
  }
}

/** Seconds for npy-append-array to append `total` bytes of float32 rows in `block`-byte appends (timed inside Python). */
function npyAppendArray(file, total, block) {
  const code = `import sys, time, numpy as np
from npy_append_array import NpyAppendArray
path, total, block = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = np.arange(block // 4, dtype='<f4').reshape(-1, 64)
npaa = NpyAppendArray(path)
npaa.append(rows)  # creates the file (np.save), untimed as memmap's open is
t = time.perf_counter()
for _ in range(total // block - 1):
    npaa.append(rows)
t = time.perf_counter() - t
npaa.close()
print(t * (total // block) / (total // block - 1))`;
  return Number(execFileSync('python3', ['-c', code, file, String(total), String(block)], { encoding: 'utf8' }));
}

module.exports = async function growth() {
  ensureNpyAppendArray();
  const total = quick ? GiB / 8 : GiB;
  const file = path.join(dir, 'appended.npy');
  const plain = path.join(dir, 'plain.bin');
  const gone = (f) => fs.rmSync(f, { force: true });

  for (const block of [256 * 1024, 16 * MiB]) {
    const rows = new Float32Array(block / 4).map((_, i) => i);
    const blocks = total / block;
    // The appends (and flushes) are timed, not the open and close around
    // them: close() makes the file durable (fdatasync), which neither
    // baseline does; the flush variant times that against fdatasync.
    /** Appends every block; with `flushEvery`, flush() at each such many bytes. */
    const ours = (flushEvery = 0) => {
      gone(file);
      const fp = openMemmap(file, { mode: 'w+', dtype: '<f4', shape: [0, 64] });
      const t = seconds(() => {
        for (let k = 1; k <= blocks; k++) {
          fp.append(rows);
          if (flushEvery > 0 && (k * block) % flushEvery === 0) fp.flush();
        }
      });
      fp.close();
      gone(file);
      return t;
    };
    const writeSync = (syncEvery = 0) => {
      gone(plain);
      const bytes = new Uint8Array(rows.buffer);
      const fd = fs.openSync(plain, 'w');
      const t = seconds(() => {
        for (let k = 1; k <= blocks; k++) {
          fs.writeSync(fd, bytes);
          if (syncEvery > 0 && (k * block) % syncEvery === 0) fs.fdatasyncSync(fd);
        }
      });
      fs.closeSync(fd);
      gone(plain);
      return t;
    };
    const size = `${total / GiB} GiB in ${block >= MiB ? `${block / MiB} MiB` : `${block / 1024} KiB`} blocks`;
    ours();
    report(
      `append ${size} to a .npy`,
      's',
      'npy-append-array',
      await paired(ours, () => {
        gone(file);
        const t = npyAppendArray(file, total, block);
        gone(file);
        return t;
      }),
      '>= 2x throughput (time ratio <= 0.5)',
      (r) => r <= 0.5,
    );
    // The system calls a crash-consistent append cannot do without (fstat
    // for a file cut by someone else, the rows, then the header), from C.
    const floor = median(Array.from({ length: 5 }, () => c('append', plain, total, block)));
    report(
      `append ${size} to a .npy`,
      's',
      'fs.writeSync',
      await paired(ours, writeSync),
      '>= 0.8x throughput (time ratio <= 1.25)',
      (r) => r <= 1.25,
      `C fstat + pwrite of the rows + pwrite of the header: ${floor.toFixed(3)} s`,
    );
    report(
      `append ${size}, flush() every 64 MiB`,
      's',
      'writeSync + fdatasync every 64 MiB',
      await paired(
        () => ours(64 * MiB),
        () => writeSync(64 * MiB),
      ),
      '>= 0.8x throughput (time ratio <= 1.25)',
      (r) => r <= 1.25,
    );
  }

  // w+ of a 16 GiB sparse file: numpy's way, against C's open + ftruncate + mmap.
  const huge = 16 * GiB;
  const sparseFile = path.join(dir, 'sparse.bin');
  const N = quick ? 50 : 200;
  let diskUse = 0;
  let rssGrowth = 0;
  // N files made in a row, each open timed; then all closed and removed,
  // untimed, on both sides (close() makes the new size durable with
  // fdatasync, which C's munmap + close does not).
  const sparseOurs = () => {
    const before = process.memoryUsage().rss;
    const maps = [];
    let t = 0;
    for (let i = 0; i < N; i++)
      t += seconds(() => maps.push(memmap(`${sparseFile}.${i}`, { mode: 'w+', shape: huge, sparse: true })));
    diskUse = Math.max(...maps.map((fp) => fs.statSync(fp.filename).blocks * 512));
    // Per map: what one 16 GiB sparse map costs in memory (JavaScript objects included).
    rssGrowth = Math.max(rssGrowth, (process.memoryUsage().rss - before) / N);
    for (const fp of maps) {
      fp.close();
      fs.unlinkSync(fp.filename);
    }
    return (t / N) * 1e6;
  };
  sparseOurs();
  report(
    'w+ of a 16 GiB file, sparse: true (the open)',
    'us',
    'C open + ftruncate + mmap',
    await paired(sparseOurs, () => c('sparse', sparseFile, huge, N)),
    '<= 1.5x C; RSS and disk use < 1 MB',
    (r) => r <= 1.5 && diskUse < MiB && rssGrowth < MiB,
    `disk use ${(diskUse / 1e3).toFixed(0)} kB, RSS growth per map ${(rssGrowth / 1e3).toFixed(1)} kB`,
  );

  // resize() that doubles a 1 GiB map: what it costs beyond the fallocate.
  const mapFile = path.join(dir, 'doubled.bin');
  const cFile = path.join(dir, 'doubled-c.bin');
  const doubling = () => {
    gone(mapFile);
    const fp = memmap(mapFile, { mode: 'w+', shape: GiB });
    const t = seconds(() => fp.resize([2 * GiB]));
    fp.close();
    gone(mapFile);
    return t;
  };
  const fallocate = () => {
    gone(cFile);
    fs.closeSync(fs.openSync(cFile, 'w'));
    fs.truncateSync(cFile, GiB);
    const t = c('reserve', cFile, GiB);
    gone(cFile);
    return t;
  };
  doubling();
  const doubled = await paired(doubling, fallocate);
  const beyond = median(doubled.ours) - median(doubled.theirs);
  report(
    'resize() doubling a 1 GiB map',
    's',
    'ftruncate + fallocate of 1 GiB',
    doubled,
    'under 1 ms beyond the fallocate',
    () => beyond < 1e-3,
    `${(beyond * 1e3).toFixed(3)} ms beyond`,
  );
};

// open + map + close of a 1 GiB read-only file: memmap against numpy.memmap,
// several rounds in alternating order, medians and the paired ratio.
// Run: node bench/open-close.js [--quick]   (needs `npm run build` and numpy)
const { execFileSync } = require('node:child_process');
const { closeSync, ftruncateSync, openSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { memmap } = require('..');

const quick = process.argv.includes('--quick');
const rounds = quick ? 3 : 9;
const iterations = quick ? 2000 : 20000;
const path = join(tmpdir(), `memmap-bench-${process.pid}.f32`);
const fd = openSync(path, 'w');
ftruncateSync(fd, 2 ** 30);
closeSync(fd);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function memmapMicros() {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) memmap(path, { dtype: 'float32', mode: 'r' }).close();
  return Number(process.hrtime.bigint() - start) / 1e3 / iterations;
}

function numpyMicros() {
  const code = `
import sys, time, numpy as np
path, n = sys.argv[1], int(sys.argv[2])
t = time.perf_counter()
for _ in range(n):
    m = np.memmap(path, dtype='float32', mode='r'); m._mmap.close(); del m
print((time.perf_counter() - t) / n * 1e6)`;
  return Number(execFileSync('python3', ['-c', code, path, String(iterations)], { encoding: 'utf8' }));
}

try {
  const ours = [];
  const theirs = [];
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      ours.push(memmapMicros());
      theirs.push(numpyMicros());
    } else {
      theirs.push(numpyMicros());
      ours.push(memmapMicros());
    }
  }
  const ratios = ours.map((o, i) => o / theirs[i]);
  console.log(`open+close 1 GiB r, ${rounds} rounds x ${iterations}:`);
  console.log(`  memmap  median ${median(ours).toFixed(2)} us  (min ${Math.min(...ours).toFixed(2)}, max ${Math.max(...ours).toFixed(2)})`);
  console.log(`  numpy   median ${median(theirs).toFixed(2)} us  (min ${Math.min(...theirs).toFixed(2)}, max ${Math.max(...theirs).toFixed(2)})`);
  console.log(`  ratio memmap/numpy median ${median(ratios).toFixed(3)} (min ${Math.min(...ratios).toFixed(3)}, max ${Math.max(...ratios).toFixed(3)}); target <= 0.5: ${median(ratios) <= 0.5 ? 'PASS' : 'FAIL'}`);
} finally {
  rmSync(path, { force: true });
}

/**
 * The live-mapping guard counts what the kernel counts (issue 11, item 2):
 * madvise over part of a map splits it into several kernel areas (VMAs), and
 * at `vm.max_map_count` areas the next allocation anywhere in the process
 * aborts it. memmap refuses the open or the madvise that would pass its share
 * of the limit with ERR_MEMMAP_TOO_MANY_MAPS.
 */
import { writeFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE, runNode, tempDir } from './helpers';

const dir = tempDir();
const REQUIRE = `const mm = require(${PACKAGE} + '/dist/index.js');`;

// vm.max_map_count and /proc/self/maps are Linux's.
(process.platform === 'linux' ? test : test.skip)(
  'the issue reproducer: madvise on every other page-sized view of one map refuses before the limit, and the process lives on',
  () => {
    const file = join(dir, 'sparse.bin');
    writeFileSync(file, '');
    truncateSync(file, 65536 * 2 * 4096); // 512 MiB, sparse: 65536 page pairs
    const result = runNode(`${REQUIRE}
    const fs = require('fs');
    const areasOfProcess = () => fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').length - 1;
    const fp = mm.memmap(${JSON.stringify(file)}, { mode: 'r' });
    let advised = 0, code = null;
    try {
      for (let i = 0; i < 65536; i++) {
        fp.slice((i * 8192) + ':' + (i * 8192 + 4096)).madvise('random');
        advised++;
      }
    } catch (e) { code = e.code; }
    const peak = areasOfProcess();
    // The next allocations: 2000 malloc'd (mmap'd) buffers, a worker thread, a child's pipes.
    const kept = [];
    for (let i = 0; i < 2000; i++) kept.push(Buffer.allocUnsafeSlow(1 << 20));
    const { Worker } = require('worker_threads');
    new Worker('require("worker_threads").parentPort.postMessage(1)', { eval: true }).once('message', () => {
      // Advice back to normal over the whole map merges its areas again.
      fp.madvise('normal');
      const merged = areasOfProcess();
      fp.close();
      console.log(JSON.stringify({ advised, code, peak, merged }));
    });`);
    expect(result.signal).toBeNull();
    expect(result.status).toBe(0);
    const { advised, code, peak, merged } = JSON.parse(result.stdout);
    expect(code).toBe('ERR_MEMMAP_TOO_MANY_MAPS');
    // Half of vm.max_map_count (65530) for maps, each advised page two more areas.
    expect(advised).toBeGreaterThan(15000);
    expect(peak).toBeLessThan(65530 - 2000);
    // (the buffers and the worker added at most a few thousand areas of their own)
    expect(merged).toBeLessThan(peak - 2 * advised + 2500);
  },
  120000,
);

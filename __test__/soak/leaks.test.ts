/**
 * Soak runs: the long versions of the suite's leak and stress tests, run by
 * `npm run soak` (and .ci/run), not by `npm test`. No verdict depends on
 * speed: the time limits are generous, the checks are counts and sizes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE, runNode, tempDir } from '../helpers';

const dir = tempDir();
const REQUIRE = `const mm = require(${PACKAGE} + '/dist/index.js');`;

test('leaks: a million open/close cycles and a million get/set calls keep RSS and /proc/self/maps flat', () => {
  const path = join(dir, 'leak.f32');
  writeFileSync(path, Buffer.alloc(4096));
  const result = runNode(
    `${REQUIRE}
    const fs = require('fs');
    const maps = () => fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').length;
    // After a collection, finalizers (which release placeholders) run on the
    // following turns: sample once they have.
    const sample = async () => { global.gc(); await turn(); await turn(); global.gc(); await turn(); return { rss: process.memoryUsage().rss, maps: maps(), heap: process.memoryUsage().heapTotal }; };
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
      await cycles(100000);
      const warm = await sample();
      await cycles(900000);
      const after = await sample();
      const fp = mm.memmap(${JSON.stringify(path)}, { dtype: 'float32', mode: 'r+' });
      for (let i = 0; i < 1000000; i++) fp.set(i & 1023, fp.get((i * 7) & 1023) + 1);
      const touched = await sample();
      fp.close();
      console.log(JSON.stringify({ warm, after, touched }));
    })();`,
    { args: ['--expose-gc'], timeout: 1800000 },
  );
  expect(result.stderr).toBe('');
  const { warm, after, touched } = JSON.parse(result.stdout);
  expect(after.rss - warm.rss).toBeLessThan(16 << 20);
  // V8 maps its heap in pages of 256 KiB, one mapping each: a heap that V8
  // chose to grow (4 MiB once, past 600k cycles, with heapUsed flat) is not
  // a leak of maps, so its pages are not counted.
  const heapPages = Math.max(0, after.heap - warm.heap) / (256 << 10);
  expect(after.maps - warm.maps - heapPages).toBeLessThan(16);
  expect(touched.rss - warm.rss).toBeLessThan(24 << 20);
}, 1810000);

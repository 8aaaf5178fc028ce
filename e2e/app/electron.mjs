// The README's Electron snippet, run by e2e/run.sh under Node with the
// binding refusing external ArrayBuffers (refuse.cjs), as Electron does.
import { memmap } from 'memmap';

const frames = memmap('frames.f32', { dtype: 'float32', mode: 'w+', shape: [1000, 1024] });
try {
  frames.write(0, new Float32Array(1024).fill(0.5)); // row 0: one block copy
  frames.slice('1:').fill(1); // one native call
  const row = frames.slice('0').read(); // Float32Array(1024): one block copy
  const total = await frames.sumAsync(); // off the main thread, not on libuv's pool
  console.log(row[0], total);
} finally {
  await frames.closeAsync(); // the flush off the main thread too
}

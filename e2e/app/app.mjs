// The ESM face of app.js, for the ESM recipes (README, Bundling).
import path from 'node:path';
import { memmap } from 'memmap';

const file = path.join(process.argv[2] || import.meta.dirname || '.', 'bundled-esm.f32');
const fp = memmap(file, { dtype: 'float32', mode: 'w+', shape: [2, 3] });
fp.assign([
  [1, 2, 3],
  [4, 5, 6],
]);
console.log(JSON.stringify({ sum: fp.sum(), row: Array.from(fp.slice('1').read()), get: fp.get(0, 2) }));
fp.close();

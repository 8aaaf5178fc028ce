// The small app the bundler recipes build (README, Bundling): opens a real
// file, writes, reads and reduces it, and prints what it saw.
const path = require('node:path');
const { memmap } = require('memmap');

const file = path.join(process.argv[2] || __dirname, 'bundled-cjs.f32');
const fp = memmap(file, { dtype: 'float32', mode: 'w+', shape: [2, 3] });
fp.assign([
  [1, 2, 3],
  [4, 5, 6],
]);
console.log(JSON.stringify({ sum: fp.sum(), row: Array.from(fp.slice('1').read()), get: fp.get(0, 2) }));
fp.close();

// One round of the Electron-fallback cases of bench/cases/desktop.js, in a
// process of its own: the binding's test hook makes the runtime refuse
// external ArrayBuffers (as Electron's V8 memory cage does) or not, from the
// first open on, and each operation is timed over a file of float32 values
// (warmed first, then the best of five passes: the machine's other load only
// ever adds time). Prints {"case": cost, ...}: ns per element for get/set,
// ms for the bulk operations.
// Run: node bench/electron.js FILE refuse|zero-copy
const fs = require('node:fs');
const path = require('node:path');
const { memmap } = require(path.join(__dirname, '..'));
const { binding } = require(path.join(__dirname, '..', 'dist', 'binding.js'));

const [file, mode] = process.argv.slice(2);
binding.simulateExternalBufferRefusal(mode === 'refuse');
const side = 1000;
const n = side * side;
const source = Float32Array.from({ length: n }, (_, i) => i % 4096);
fs.writeFileSync(file, Buffer.alloc(n * 4));
const fp = memmap(file, { dtype: 'float32', mode: 'r+', shape: [side, side] });
const flat = memmap(file, { dtype: 'float32', mode: 'r+' });
if (mode === 'refuse') {
  try {
    void fp.data;
    throw new Error('the runtime did not refuse: the bench would measure the zero-copy path twice');
  } catch (error) {
    if (error.code !== 'ERR_MEMMAP_EXTERNAL_BUFFERS_REFUSED') throw error;
  }
}

const best = (passes, f) => {
  f();
  let min = Infinity;
  for (let k = 0; k < passes; k++) {
    const t = process.hrtime.bigint();
    f();
    min = Math.min(min, Number(process.hrtime.bigint() - t));
  }
  return min;
};
const reads = 1 << 20;
const mask = (1 << 16) - 1;
let sink = 0;
const out = {
  'get(i)':
    best(5, () => {
      let s = 0;
      for (let i = 0; i < reads; i++) s += flat.get((i * 7919) & mask);
      sink += s;
    }) / reads,
  'get(i, j)':
    best(5, () => {
      let s = 0;
      for (let i = 0; i < reads; i++) {
        const x = (i * 7919) & mask;
        s += fp.get(x >> 10, x & 1023 & 511);
      }
      sink += s;
    }) / reads,
  'set(i, v)':
    best(5, () => {
      for (let i = 0; i < reads; i++) flat.set((i * 7919) & mask, i);
    }) / reads,
  'assign(Float32Array)': best(5, () => fp.assign(source)) / 1e6,
  'toArray()':
    best(5, () => {
      sink += fp.toArray().length;
    }) / 1e6,
  'fill(v)': best(5, () => fp.fill(1.5)) / 1e6,
  'iteration (for...of)':
    best(5, () => {
      let s = 0;
      for (const x of flat) s += x;
      sink += s;
    }) / 1e6,
  'read(0, n)':
    best(5, () => {
      sink += flat.read(0, n).length;
    }) / 1e6,
  'write(0, Float32Array)': best(5, () => flat.write(0, source)) / 1e6,
  'sum()':
    best(5, () => {
      sink += flat.sum();
    }) / 1e6,
};
fp.close();
flat.close();
fs.rmSync(file, { force: true });
if (sink === 0.5) console.error(sink);
console.log(JSON.stringify(out));

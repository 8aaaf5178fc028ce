// One round of the hot-scan case of bench/run.js, in a process of its own:
// the same JS loop over a mapped Float32Array (`data` of a read-only map) and
// over an in-heap Float32Array of the same length, warmed, then timed in
// alternating order. Prints {"mapped": s, "heap": s} (medians of 3 each).
// Run: node bench/hot-scan.js FILE ORDER   (ORDER 0: mapped first, 1: heap first)
const path = require('node:path');
const { memmap } = require(path.join(__dirname, '..'));

const [file, order] = process.argv.slice(2);
const mapped = memmap(file, { dtype: 'float32', mode: 'r' });
const view = mapped.data;
const heap = new Float32Array(view.length);
for (let i = 0; i < heap.length; i++) heap[i] = i % 1000;

const scan = (array) => {
  const start = process.hrtime.bigint();
  let s = 0;
  for (let i = 0; i < array.length; i++) s += array[i];
  if (s < 0) console.log(s);
  return Number(process.hrtime.bigint() - start) / 1e9;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

scan(view);
scan(heap);
const times = { mapped: [], heap: [] };
for (let k = 0; k < 3; k++) {
  const first = (k + Number(order)) % 2 === 0 ? 'mapped' : 'heap';
  const second = first === 'mapped' ? 'heap' : 'mapped';
  times[first].push(scan(first === 'mapped' ? view : heap));
  times[second].push(scan(second === 'mapped' ? view : heap));
}
mapped.close();
console.log(JSON.stringify({ mapped: median(times.mapped), heap: median(times.heap) }));

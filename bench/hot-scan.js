// One round of the hot-scan case of bench/run.js, in a process of its own:
// the same JS loop over a mapped Float32Array (`data` of a read-only map) and
// over an in-heap Float32Array of the same length, warmed, then timed in
// alternating order. Prints {"mapped": s, "heap": s} (medians of 3 each).
//
// Both memories are fresh, made side by side in this process: the file is
// written here (its page cache pages allocated now) and the heap array filled
// here, the first of the two alternating by round. On a VM the speed of a
// scan depends on which physical pages it lands on (the same bytes in three
// files scanned by one C loop: 0.62, 0.79, 0.88 s, stable across reloads), so
// a file made once for the whole bench would decide every round alike.
// Run: node bench/hot-scan.js FILE BYTES ORDER   (ORDER 0: file first, 1: heap first)
const fs = require('node:fs');
const path = require('node:path');
const { memmap } = require(path.join(__dirname, '..'));
const { writeFloats } = require('./floats');

const [file, bytesArg, order] = process.argv.slice(2);
const bytes = Number(bytesArg);
const n = bytes / 4;

function fillHeap() {
  const heap = new Float32Array(n);
  for (let i = 0; i < n; i++) heap[i] = i % 1000;
  return heap;
}

let heap;
if (order === '0') {
  writeFloats(file, bytes);
  heap = fillHeap();
} else {
  heap = fillHeap();
  writeFloats(file, bytes);
}
const mapped = memmap(file, { dtype: 'float32', mode: 'r' });
const view = mapped.data;

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
  const mappedFirst = (k + Number(order)) % 2 === 0;
  if (mappedFirst) times.mapped.push(scan(view));
  times.heap.push(scan(heap));
  if (!mappedFirst) times.mapped.push(scan(view));
}
mapped.close();
fs.rmSync(file);
console.log(JSON.stringify({ mapped: median(times.mapped), heap: median(times.heap) }));

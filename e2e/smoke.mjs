// A smoke test of the public API as a new user meets it, for every runtime
// the README names (Node 20/22/24/26, Bun, Deno): open, views, data,
// reductions, read/write, close detaching, closeAsync, .npy. Run from a
// project where `memmap` is installed: `<runtime> smoke.mjs DIR`. Prints one
// line naming the runtime; any failure throws (a non-zero exit).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { memmap, openMemmap } from 'memmap';

const dir = process.argv[2] ?? '.';
const runtime = globalThis.Bun
  ? `bun ${globalThis.Bun.version}`
  : globalThis.Deno
    ? `deno ${globalThis.Deno.version.deno}`
    : `node ${process.version}`;
const check = (what, ok) => {
  if (!ok) throw new Error(`smoke (${runtime}): ${what}`);
};
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// The README's quick start.
const path = join(dir, 'smoke.dat');
const fp = memmap(path, { dtype: 'float32', mode: 'w+', shape: [3, 4] });
fp.assign([
  [0, 1, 2, 3],
  [4, 5, 6, 7],
  [8, 9, 10, 11],
]);
check('get', fp.get(1, -1) === 7);
check(
  'slice',
  same(fp.slice('1:, ::2').toArray(), [
    [4, 6],
    [8, 10],
  ]),
);
const data = fp.data;
check('data', data instanceof Float32Array && data.length === 12 && data[11] === 11);
data[0] = 100;
check('data writes through', fp.get(0, 0) === 100);
check('sum', fp.sum() === 166 && fp.min() === 1 && fp.max() === 100 && fp.slice('::2, 1').mean() === 5);
check('sumAsync', (await fp.slice('2').sumAsync()) === 38);
check('read', same(Array.from(fp.slice('::-1, 3').read()), [11, 7, 3]));
fp.write(4, new Float32Array([-1, -2]));
check('write', fp.get(1, 0) === -1 && fp.get(1, 1) === -2);
check('iteration', same([...fp.slice('0')], [100, 1, 2, 3]));
fp.flush();
const bytes = readFileSync(path);
check('the file has the bytes', new Float32Array(bytes.buffer, bytes.byteOffset, 12)[5] === -2);
fp.close();
check('close detaches', data.length === 0 && fp.closed);
let code = null;
try {
  fp.get(0, 0);
} catch (error) {
  code = error.code;
}
check('closed', code === 'ERR_MEMMAP_CLOSED');

// Read-only, and closeAsync.
const ro = memmap(path, { dtype: 'float32', mode: 'r', shape: [3, 4] });
check('mode r', ro.get(2, 3) === 11 && !ro.writable);
await ro.closeAsync();
check('closeAsync', ro.closed);

// .npy, as numpy writes it.
const npy = join(dir, 'smoke.npy');
const out = openMemmap(npy, { mode: 'w+', dtype: 'int32', shape: [5] });
out.assign(Int32Array.from([3, 1, 4, 1, 5]));
out.close();
const header = readFileSync(npy).subarray(0, 10);
check('.npy magic', header[0] === 0x93 && header.subarray(1, 6).toString() === 'NUMPY');
const back = openMemmap(npy, { mode: 'r' });
check('.npy back', back.dtype === 'int32' && same(back.shape, [5]) && back.sum() === 14n);
back.close();
console.log(`smoke ok: ${runtime}`);

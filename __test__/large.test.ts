/**
 * Arrays larger than one ArrayBuffer or TypedArray can hold (4 GiB, 2^32
 * elements on Node 20): the map opens, get/set/slice reach every element,
 * views that fit have `data`, and `data` on one that does not is a RangeError
 * pointing at slice(). The file is sparse, so this costs no disk.
 */
import { closeSync, ftruncateSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { memmap } from '../ts/index';
import { PACKAGE, runNode, tempDir } from './helpers';

const dir = tempDir();

test('a 6 GiB float32 map: every element reachable, data per chunk, RangeError across chunks', () => {
  const path = join(dir, 'big.f32');
  const fd = openSync(path, 'w');
  ftruncateSync(fd, 6 * 2 ** 30);
  closeSync(fd);
  const fp = memmap(path, { dtype: 'float32', mode: 'r+', sparse: true }); // holes left unreserved
  const n = (6 * 2 ** 30) / 4;
  expect(fp.shape).toEqual([n]);
  fp.set(n - 1, 1.5);
  fp.set(2 ** 30, 2.5); // first element of the second 4 GiB chunk
  fp.set(2 ** 30 - 1, 3.5); // last of the first
  expect(fp.get(-1)).toBe(1.5);
  expect(fp.get(2 ** 30)).toBe(2.5);
  expect(() => fp.data).toThrow(
    expect.objectContaining({
      name: 'RangeError',
      code: 'ERR_MEMMAP_DATA_TOO_LARGE',
      message: expect.stringMatching(/slice\(\)/),
    }),
  );
  const tail = fp.slice(`${2 ** 30}:`);
  expect(tail.data.length).toBe(n - 2 ** 30);
  expect(tail.data[0]).toBe(2.5);
  expect(fp.slice(`:${2 ** 30}`).data[2 ** 30 - 1]).toBe(3.5);
  const strided = fp.slice(`${2 ** 30 - 2}:${2 ** 30 + 2}`); // straddles the boundary: get/toArray still work
  expect(strided.toArray()).toEqual([0, 3.5, 2.5, 0]);
  expect(() => strided.data).toThrow(expect.objectContaining({ code: 'ERR_MEMMAP_DATA_TOO_LARGE' }));
  fp.flush();
  fp.close();
  const check = openSync(path, 'r');
  const bytes = Buffer.alloc(4);
  readSync(check, bytes, 0, 4, 2 ** 32);
  closeSync(check);
  expect(bytes.readFloatLE(0)).toBe(2.5);
  expect(statSync(path).size).toBe(6 * 2 ** 30);
});

test('chunk arithmetic with small chunks (MEMMAP_CHUNK_BYTES) matches a plain read of the file', () => {
  const result = runNode(
    `
    const mm = require(${PACKAGE} + '/dist/index.js');
    const fs = require('fs');
    const path = require('path').join(${JSON.stringify(dir)}, 'small-chunks.bin');
    const fp = mm.memmap(path, { dtype: 'int16', mode: 'w+', shape: [100, 333], order: 'F' });
    for (let i = 0; i < 100; i++) for (let j = 0; j < 333; j++) fp.set(i, j, (i * 333 + j) % 32000);
    const view = fp.slice('::-3, 5::7');
    const expected = [];
    for (let i = 99; i >= 0; i -= 3) { const row = []; for (let j = 5; j < 333; j += 7) row.push((i * 333 + j) % 32000); expected.push(row); }
    const ok = JSON.stringify(view.toArray()) === JSON.stringify(expected);
    fp.close();
    const raw = new Int16Array(fs.readFileSync(path).buffer.slice(0));
    console.log(JSON.stringify({ ok, disk: raw[5 * 100 + 7] === (7 * 333 + 5) % 32000 }));
  `,
    { env: { MEMMAP_CHUNK_BYTES: '4096' } },
  );
  expect(result.stderr).toBe('');
  expect(JSON.parse(result.stdout)).toEqual({ ok: true, disk: true });
});

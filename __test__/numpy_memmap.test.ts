/**
 * numpy/_core/tests/test_memmap.py, ported test by test (same names). Where
 * memmap deliberately does better (close() exists, madvise works on a view's
 * own range), the test asserts the better behaviour.
 */
import { closeSync, openSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Memmap, memmap } from '../ts/index';
import { tempDir } from './helpers';

const dir = tempDir();
const shape = [3, 4];
const dtype = 'float32';
const data = Array.from({ length: 12 }, (_, i) => i);
const rows = [
  [0, 1, 2, 3],
  [4, 5, 6, 7],
  [8, 9, 10, 11],
];
let counter = 0;
let tmpfp: string;

beforeEach(() => {
  tmpfp = join(dir, `mmap${counter++}`);
  writeFileSync(tmpfp, ''); // NamedTemporaryFile: an existing empty file
});

describe('TestMemmap', () => {
  test('test_roundtrip', () => {
    const fp = memmap(tmpfp, { dtype, mode: 'w+', shape });
    fp.assign(data);
    fp.close();
    const newfp = memmap(tmpfp, { dtype, mode: 'r', shape });
    expect(newfp.toArray()).toEqual(rows);
    expect(newfp.writable).toBe(false);
    newfp.close();
  });

  test('test_open_with_filename', () => {
    const fp = memmap(join(dir, `named${counter}`), { dtype, mode: 'w+', shape });
    fp.assign(data);
    expect(fp.get(2, 3)).toBe(11);
    fp.close();
  });

  test('test_unnamed_file', () => {
    // TemporaryFile(): an fd whose name is already unlinked; default mode r+ extends it.
    const path = join(dir, `unnamed${counter}`);
    const fd = openSync(path, 'w+');
    unlinkSync(path);
    const fp = memmap(fd, { dtype, shape });
    expect(fp.filename).toBeNull();
    expect(fp.shape).toEqual(shape);
    fp.close();
    // close() leaves the caller's descriptor open.
    expect(() => closeSync(fd)).not.toThrow();
  });

  test('test_attributes', () => {
    const fp = memmap(tmpfp, { dtype, mode: 'w+', shape, offset: 1 });
    expect(fp.offset).toBe(1);
    expect(fp.mode).toBe('w+');
    fp.assign(data);
    fp.close();
    // offset may be a bigint; offset 1 is not item-aligned and data still works
    const again = memmap(tmpfp, { dtype, mode: 'r', shape, offset: 1n });
    expect(again.offset).toBe(1);
    expect(Array.from(again.data as Float32Array)).toEqual(data);
    again.close();
  });

  test('test_filename', () => {
    const tmpname = join(dir, `fname${counter}`);
    const fp = memmap(tmpname, { dtype, mode: 'w+', shape });
    fp.assign(data);
    expect(fp.filename).toBe(resolve(tmpname));
    const b = fp.slice(':1');
    expect(b.filename).toBe(resolve(tmpname));
    fp.close();
  });

  test('test_path', () => {
    const tmpname = join(dir, `path${counter}`);
    const fp = memmap(pathToFileURL(tmpname), { dtype, mode: 'w+', shape });
    fp.assign(data);
    expect(fp.filename).toBe(resolve(tmpname));
    expect(fp.slice(':1').filename).toBe(resolve(tmpname));
    fp.close();
    const fromBuffer = memmap(Buffer.from(tmpname), { dtype, mode: 'r', shape });
    expect(fromBuffer.get(1, 1)).toBe(5);
    fromBuffer.close();
  });

  test('test_filename_fileobj', () => {
    const fd = openSync(tmpfp, 'r+');
    const fp = memmap(fd, { dtype, mode: 'w+', shape });
    expect(fp.filename).toBe(resolve(tmpfp));
    fp.close();
    closeSync(fd);
  });

  test('test_flush', () => {
    const fp = memmap(tmpfp, { dtype, mode: 'w+', shape });
    fp.assign(data);
    expect((fp.slice(0) as Memmap).toArray()).toEqual(rows[0]);
    fp.flush();
    fp.close();
  });

  test('test_del', () => {
    // Closing a view does not close the mapping under its base.
    const fpBase = memmap(tmpfp, { dtype, mode: 'w+', shape });
    fpBase.slice(0).fill(5);
    const fpView = fpBase.slice('0:1');
    expect(fpView.get(0, 0)).toBe(5);
    fpView.close();
    expect(fpView.closed).toBe(true);
    expect(fpBase.get(0, 0)).toBe(5);
    fpBase.slice(0).fill(6);
    expect(fpBase.get(0, 0)).toBe(6);
    fpBase.close();
  });

  test('test_arithmetic_drops_references', () => {
    // No arithmetic on memmaps: results are copies (toArray), never the mapping.
    const fp = memmap(tmpfp, { dtype, mode: 'w+', shape });
    const tmp = (fp.toArray() as number[][]).map((row) => row.map((x) => x + 10));
    fp.fill(1);
    expect(tmp[0][0]).toBe(10);
    fp.close();
  });

  test('test_indexing_drops_references', () => {
    // Fancy indexing is not basic indexing: refused, never a hidden copy posing as a view.
    const fp = memmap(tmpfp, { dtype, mode: 'w+', shape });
    expect(() => fp.slice('(1, 2), (2, 3)')).toThrow(expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_INDEX' }));
    fp.close();
  });

  test('test_slicing_keeps_references', () => {
    const fp = memmap(tmpfp, { dtype, mode: 'w+', shape });
    const view = fp.slice(':2, :2');
    view.set(1, 1, 42);
    expect(fp.get(1, 1)).toBe(42);
    fp.close();
  });

  test('test_view', () => {
    const fp = memmap(tmpfp, { dtype, shape });
    const new1 = fp.slice('...');
    const new2 = new1.slice('...');
    new2.set(2, 3, 7);
    expect(fp.get(2, 3)).toBe(7);
    expect(new1.filename).toBe(fp.filename);
    fp.close();
    expect(new2.closed).toBe(true);
  });

  test('test_ufunc_return_ndarray', () => {
    // Reductions live in their own issue; what the core promises is that
    // copies (toArray) are plain arrays, and writes go through the map.
    const fp = memmap(tmpfp, { dtype, shape });
    fp.assign(data);
    const copy = fp.toArray();
    expect(Array.isArray(copy)).toBe(true);
    expect(copy).not.toBeInstanceOf(Memmap);
    fp.fill(2);
    expect(fp).toBeInstanceOf(Memmap);
    expect(fp.get(0, 0)).toBe(2);
    fp.close();
  });

  test('test_getitem', () => {
    const fp = memmap(tmpfp, { dtype, shape });
    fp.assign(data);
    expect(fp.slice('1:, :-1')).toBeInstanceOf(Memmap);
    expect(fp.slice('1:, :-1').toArray()).toEqual([
      [4, 5, 6],
      [8, 9, 10],
    ]);
    expect(() => fp.slice('[0, 1]')).toThrow(expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_INDEX' }));
    fp.close();
  });

  test('test_memmap_subclass', () => {
    // Views are Memmap instances with the same prototype chain as their base.
    const fp = memmap(tmpfp, { dtype, shape });
    expect(Object.getPrototypeOf(fp.slice('1:, :-1'))).toBe(Object.getPrototypeOf(fp));
    fp.close();
  });

  test('test_mmap_offset_greater_than_allocation_granularity', () => {
    const granularity = 4096;
    const size = 5 * granularity;
    const offset = granularity + 1;
    const fp = memmap(tmpfp, { shape: size, mode: 'w+', offset });
    expect(fp.offset).toBe(offset);
    fp.set(size - 1, 9);
    fp.close();
    expect(statSync(tmpfp).size).toBe(offset + size);
  });

  test('test_empty_array_with_offset_multiple_of_allocation_granularity', () => {
    writeFileSync(tmpfp, Buffer.alloc(4096, 'a'));
    const fp = memmap(tmpfp, { shape: 0, mode: 'w+', offset: 4096 });
    expect(fp.offset).toBe(4096);
    expect(fp.size).toBe(0);
    fp.close();
  });

  test('test_no_shape', () => {
    writeFileSync(tmpfp, Buffer.alloc(16, 'a'));
    const mm = memmap(tmpfp, { dtype: 'float64' });
    expect(mm.shape).toEqual([2]);
    mm.close();
  });

  test('test_empty_array', () => {
    expect(() => memmap(tmpfp, { shape: [0, 4], mode: 'r' })).toThrow(
      expect.objectContaining({ code: 'ERR_MEMMAP_EMPTY_FILE', message: expect.stringMatching(/empty file/) }),
    );
    memmap(tmpfp, { shape: [0, 4], mode: 'w+' }).close();
    memmap(tmpfp, { shape: [0, 4], mode: 'w+' }).close();
  });

  test('test_shape_type', () => {
    memmap(tmpfp, { shape: 3, mode: 'w+' }).close();
    memmap(tmpfp, { shape: [3, 4], mode: 'w+' }).close();
    memmap(tmpfp, { shape: Object.freeze([3, 4]), mode: 'w+' }).close();
    memmap(tmpfp, { shape: Int32Array.of(3, 4) as unknown as number[], mode: 'w+' }).close();
    expect(statSync(tmpfp).size).toBe(12);
  });

  test('test_madvise_normal', () => {
    const fp = memmap(tmpfp, { dtype, mode: 'w+', shape });
    fp.assign(data);
    expect(() => fp.madvise('normal')).not.toThrow();
    fp.close();
  });

  test('test_madvise_no_mmap', () => {
    const fp = memmap(tmpfp, { dtype, mode: 'w+', shape });
    fp.close();
    expect(() => fp.madvise('normal')).toThrow(expect.objectContaining({ code: 'ERR_MEMMAP_CLOSED' }));
  });

  test('test_madvise_on_view', () => {
    // numpy refuses madvise on a view; memmap advises exactly the view's bytes.
    const fp = memmap(tmpfp, { dtype, mode: 'w+', shape });
    const view = fp.slice('1:');
    expect(() => view.madvise('normal')).not.toThrow();
    expect(() => view.madvise('willneed')).not.toThrow();
    fp.close();
  });
});

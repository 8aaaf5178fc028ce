/**
 * Which file a map names (issue 11, items 6 and 8): a map opened from a
 * caller's descriptor names the file it mapped, taken from our own duplicate
 * when it was opened, never from the caller's descriptor number later;
 * `fromDescriptor` refuses a different file at the same path; a `Buffer` path is
 * bytes, not UTF-8.
 */
import { closeSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { memmap, openMemmap, MemmapDescriptor } from '../ts/index';
import { tempDir } from './helpers';

const dir = tempDir();
const code = (c: string) => expect.objectContaining({ code: c });

describe('a map opened from a descriptor names its own file (item 6)', () => {
  (process.platform === 'win32' ? test.skip : test)(
    'after the caller closes its descriptor and the number is reused, filename and descriptor() still name the mapped file',
    () => {
      const mapped = join(dir, 'mapped.bin');
      const other = join(dir, 'other.bin');
      writeFileSync(mapped, Buffer.alloc(64, 1));
      writeFileSync(other, Buffer.alloc(8, 2));
      const fd = openSync(mapped, 'r+');
      const fp = memmap(fd, { mode: 'r+' });
      closeSync(fd);
      const reused = openSync(other, 'r+');
      try {
        expect(reused).toBe(fd); // the number now names another file
        expect(fp.filename).toBe(mapped);
        const described = fp.descriptor();
        expect(described.path).toBe(mapped);
        const again = memmap.fromDescriptor(described);
        again.set(63, 9);
        again.close();
        expect(readFileSync(other)).toEqual(Buffer.alloc(8, 2));
        expect(readFileSync(mapped)[63]).toBe(9);
      } finally {
        closeSync(reused);
        fp.close();
      }
    },
  );

  test('fromDescriptor refuses another file at the described path (ERR_MEMMAP_FILE_REPLACED) and changes nothing', () => {
    const path = join(dir, 'replaced.bin');
    writeFileSync(path, Buffer.alloc(4096, 1));
    const fp = memmap(path, { mode: 'r+' });
    const described = fp.descriptor();
    expect(typeof described.fileId).toBe('string');
    fp.close();
    const impostor = join(dir, 'impostor.bin');
    writeFileSync(impostor, Buffer.alloc(16, 7));
    renameSync(impostor, path);
    expect(() => memmap.fromDescriptor(described)).toThrow(code('ERR_MEMMAP_FILE_REPLACED'));
    expect(readFileSync(path)).toEqual(Buffer.alloc(16, 7));
    // Without the identity (a descriptor written by hand), the path alone is trusted.
    const { fileId: _ignored, ...byPath } = described;
    expect(() => memmap.fromDescriptor(byPath as MemmapDescriptor)).toThrow(code('ERR_MEMMAP_FILE_TOO_SHORT'));
    expect(readFileSync(path)).toEqual(Buffer.alloc(16, 7));
  });

  test('the identity survives structured cloning and JSON', () => {
    const path = join(dir, 'cloned.bin');
    writeFileSync(path, Buffer.alloc(16, 3));
    const fp = memmap(path, { mode: 'r' });
    const described = fp.descriptor();
    fp.close();
    for (const copy of [structuredClone(described), JSON.parse(JSON.stringify(described)) as MemmapDescriptor]) {
      const again = memmap.fromDescriptor(copy);
      expect(again.get(0)).toBe(3);
      again.close();
    }
  });

  // Windows cannot delete an open file, nor map a descriptor.
  (process.platform === 'win32' ? test.skip : test)(
    'a descriptor of a deleted file has no path: filename null, descriptor() a coded error',
    () => {
      const path = join(dir, 'deleted.bin');
      writeFileSync(path, Buffer.alloc(16, 3));
      const fd = openSync(path, 'r');
      rmSync(path);
      const fp = memmap(fd, { mode: 'r' });
      closeSync(fd);
      expect(fp.filename).toBeNull();
      expect(() => fp.descriptor()).toThrow(code('ERR_MEMMAP_UNSUPPORTED'));
      fp.close();
    },
  );
});

// Linux file names are any bytes; macOS (APFS) and Windows refuse names that are not UTF-8.
(process.platform === 'linux' ? describe : describe.skip)('a Buffer path is bytes, not UTF-8 (item 8)', () => {
  const name = Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x2e, 0x62, 0x69, 0x6e]); // "caf\xe9.bin", not UTF-8
  const path = Buffer.concat([Buffer.from(`${dir}/`), name]);
  const names = () => readdirSync(dir, { encoding: 'buffer' }).map((n) => n.toString('hex'));

  test('a file named with byte 0xE9 opens in every mode', () => {
    writeFileSync(path, Buffer.from([1, 2, 3, 4]));
    for (const mode of ['r', 'r+', 'c'] as const) {
      const fp = memmap(path, { mode });
      expect(fp.toArray()).toEqual([1, 2, 3, 4]);
      fp.close();
    }
    const fp = memmap(path, { mode: 'w+', shape: [2] });
    fp.set(1, 7);
    fp.close();
    expect(readFileSync(path)).toEqual(Buffer.from([0, 7]));
  });

  test('w+ creates exactly that name, and descriptor() gives the bytes back', () => {
    rmSync(path, { force: true });
    const before = names();
    const fp = memmap(path, { mode: 'w+', shape: [4] });
    expect(names()).toEqual([...before, name.toString('hex')].sort());
    const described = fp.descriptor();
    expect(Buffer.from(described.pathBytes as Uint8Array)).toEqual(path);
    expect(described.path).toBe(fp.filename);
    fp.close();
    for (const copy of [described, structuredClone(described)]) {
      const again = memmap.fromDescriptor(copy);
      expect(again.size).toBe(4);
      again.close();
    }
    expect(statSync(path).size).toBe(4);
  });

  test('openMemmap reads and writes such a name', () => {
    const npy = Buffer.concat([Buffer.from(`${dir}/`), Buffer.from([0xff, 0x2e, 0x6e, 0x70, 0x79])]);
    openMemmap(npy, { mode: 'w+', dtype: 'i2', shape: [3] }).close();
    const fp = openMemmap(npy, { mode: 'r' });
    expect(fp.dtype).toBe('int16');
    expect(fp.shape).toEqual([3]);
    fp.close();
    expect(readdirSync(dir, { encoding: 'buffer' }).some((n) => n.equals(npy.subarray(dir.length + 1)))).toBe(true);
  });
});

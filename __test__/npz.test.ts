/**
 * .npz archives (issue 17) against numpy: committed archives written by
 * numpy and zipfile, live round trips (r+ edits and w+ archives read back by
 * np.load, zipfile.testzip() and unzip -t), hostile archives on disk, and a
 * > 4 GiB member.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { NDArray, openNpz } from '../ts';
import { crc32 } from '../ts/zip';
import { freeBlocks, mountTmpfs, snapshot } from './disk';
import {
  describeNumpy,
  FIXTURES,
  HAVE_STRACE,
  nodeUnderStrace,
  PACKAGE,
  python,
  pythonJson,
  runNode,
  tempDir,
  toJson,
} from './helpers';

interface Member {
  name: string;
  kind: string;
  str?: string;
  shape?: number[];
  fortranOrder?: boolean;
  values?: unknown;
}
interface Archive {
  file: string;
  files: string[];
  members: Member[];
}
const NPZ = join(FIXTURES, 'npz');
const manifest = JSON.parse(readFileSync(join(NPZ, 'manifest.json'), 'utf8')) as Archive[];
const dir = tempDir();
let copies = 0;
/** A fresh copy of a committed archive. */
function copy(file: string): string {
  const path = join(dir, `${copies++}-${file}`);
  copyFileSync(join(NPZ, file), path);
  return path;
}
function codeOf(run: () => unknown): string | null {
  try {
    run();
    return null;
  } catch (error) {
    return (error as { code?: string }).code ?? `uncoded: ${String(error)}`;
  }
}
const HAVE_UNZIP = spawnSync('unzip', ['-v']).status === 0;
// .ci/run installs unzip (and sets MEMMAP_REQUIRE_NUMPY): there its absence is a failure, not a skip.
if (!HAVE_UNZIP && process.env.MEMMAP_REQUIRE_NUMPY === '1')
  throw new Error('unzip is required in CI (apt-get install unzip)');

/** What numpy and zipfile make of an archive: each member's values, testzip()'s verdict. */
function numpyReads(path: string): { files: string[]; values: Record<string, unknown>; testzip: string | null } {
  return pythonJson(
    `
import sys, json, zipfile, numpy as np
from numpy_json import to_json
path = sys.argv[1]
with open(path, 'rb') as f, np.lib.npyio.NpzFile(f) as z:
    values = {}
    for name in z.files:
        v = z[name]
        values[name] = to_json(v) if isinstance(v, np.ndarray) else None
    files = list(z.files)
with zipfile.ZipFile(path) as zf:
    bad = zf.testzip()
print(json.dumps({'files': files, 'values': values, 'testzip': bad}))
`,
    path,
  );
}

/** A value of the same kind that differs. */
function otherValue(value: unknown): unknown {
  if (typeof value === 'boolean') return !value;
  if (typeof value === 'bigint') return value === 7n ? 8n : 7n;
  if (typeof value === 'number') return value === 7 ? 8 : 7;
  return { re: 7, im: -1 };
}

function unzipTest(path: string): void {
  if (!HAVE_UNZIP) return;
  const result = spawnSync('unzip', ['-t', path], { encoding: 'utf8' });
  expect([result.status, result.stdout]).toEqual([0, expect.stringContaining('No errors detected')]);
}

describe('committed archives (numpy, mmnpz, zipfile): what np.load gives', () => {
  test.each(manifest.map((m) => [m.file, m] as const))('%s', (file, m) => {
    using archive = openNpz(join(NPZ, file));
    expect(archive.files).toEqual(m.files);
    for (const member of m.members) {
      expect(archive.has(member.name)).toBe(true);
      if (member.kind === 'array') {
        const array: NDArray =
          file === 'compressed.npz' ? archive.get(member.name, { decompress: true }) : archive.get(member.name);
        expect([member.name, array.dtype, array.shape]).toEqual([member.name, member.str, member.shape]);
        expect(toJson(array.toArray())).toEqual(member.values);
        if (file === 'compressed.npz') {
          expect(array.constructor.name).toBe('NDArray');
          expect(codeOf(() => archive.get(member.name))).toBe('ERR_NPZ_COMPRESSED');
        } else {
          expect(array.ndim > 1 && array.strides[array.ndim - 1] > array.strides[0] ? 'F' : 'C').toBe(
            member.fortranOrder ? 'F' : 'C',
          );
        }
      } else {
        const code = {
          'not npy': 'ERR_NPZ_NOT_NPY',
          directory: 'ERR_NPZ_NOT_NPY',
          bzip2: 'ERR_NPZ_UNSUPPORTED_COMPRESSION',
          lzma: 'ERR_NPZ_UNSUPPORTED_COMPRESSION',
          encrypted: 'ERR_NPZ_ENCRYPTED',
        }[member.kind];
        expect([member.name, codeOf(() => archive.get(member.name))]).toEqual([member.name, code]);
      }
    }
  });

  test('a member is a Memmap over exactly its bytes in the archive (any alignment)', () => {
    const path = join(NPZ, 'dtypes.npz');
    const bytes = readFileSync(path);
    using archive = openNpz(path);
    for (const name of archive.files) {
      const array = archive.get(name);
      expect(array.filename).toBe(path);
      expect(array.mode).toBe('r');
      const start = array.offset;
      expect(bytes.subarray(start - 10, start)).toEqual(Buffer.from(' '.repeat(9) + '\n'));
      const end = start + array.nbytes;
      // The next member's local header, or the central directory, follows at once.
      expect([0x04034b50, 0x02014b50]).toContain(bytes.readUInt32LE(end));
    }
  });

  test('names as numpy takes them: listed, full, missing', () => {
    using archive = openNpz(join(NPZ, 'special.npz'));
    expect(archive.get('dir/sub/é.npy')).toBe(archive.get('dir/sub/é'));
    expect(archive.has('nope')).toBe(false);
    const error = (() => {
      try {
        archive.get('nope');
      } catch (e) {
        return e as Error & { code: string };
      }
    })();
    expect(error?.code).toBe('ERR_NPZ_NO_MEMBER');
    expect(error?.message).toContain('"nope"');
    expect(archive.get('scalar').toArray()).toBe(2.5);
    expect(archive.get('empty3d').shape).toEqual([2, 0, 3]);
  });

  test('iteration gives [name, Memmap] in files order', () => {
    using archive = openNpz(join(NPZ, 'savez-10.npz'));
    const seen = [...archive].map(([name, array]) => [name, array.shape[0]]);
    expect(seen).toEqual(archive.files.map((name, i) => [name, i + 1]));
  });

  test('1000 members: each mapped on demand', () => {
    using archive = openNpz(join(NPZ, 'savez-1000.npz'));
    expect(archive.files.length).toBe(1000);
    expect(archive.get('m0999').toArray()).toEqual([999, -999]);
    expect(archive.get('m0000').toArray()).toEqual([0, 0]);
  });
});

describe('close() and Symbol.dispose', () => {
  test('closing the archive closes every member it handed out', () => {
    const archive = openNpz(join(NPZ, 'savez-10.npz'));
    const a = archive.get('a3');
    const data = a.data;
    const view = a.slice('1:');
    archive.close();
    archive.close();
    expect([a.closed, view.closed, archive.closed]).toEqual([true, true, true]);
    expect(data.length).toBe(0);
    expect(codeOf(() => a.get(0))).toBe('ERR_MEMMAP_CLOSED');
    expect(codeOf(() => archive.get('a3'))).toBe('ERR_MEMMAP_CLOSED');
    expect(codeOf(() => archive.flush())).toBe('ERR_MEMMAP_CLOSED');
  });

  test('using closes it', () => {
    let outside;
    {
      using archive = openNpz(join(NPZ, 'savez-1.npz'));
      outside = archive.get('x');
    }
    expect(outside.closed).toBe(true);
  });

  test('a member closed by the caller is mapped again by get()', () => {
    using archive = openNpz(join(NPZ, 'savez-1.npz'));
    const first = archive.get('x');
    first.close();
    const second = archive.get('x');
    expect(second).not.toBe(first);
    expect(second.toArray()).toEqual([0, 1, 2, 3, 4]);
  });
});

describe("modes r+ and c: the archive's bytes", () => {
  test('c: writes stay in memory, the file never changes', () => {
    const path = copy('savez-10.npz');
    const before = readFileSync(path);
    {
      using archive = openNpz(path, { mode: 'c' });
      archive.get('a2').fill(77);
      expect(archive.get('a2').toArray()).toEqual([77, 77, 77]);
      archive.flush();
    }
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  test('r: members are read-only maps', () => {
    using archive = openNpz(join(NPZ, 'savez-1.npz'));
    expect(codeOf(() => archive.get('x').set(0, 9))).toBe('ERR_MEMMAP_READ_ONLY');
  });

  test('r+: an unwritten archive keeps its bytes (CRCs equal: nothing rewritten)', () => {
    const path = copy('dtypes.npz');
    const before = readFileSync(path);
    {
      using archive = openNpz(path, { mode: 'r+' });
      for (const [, array] of archive) array.flush();
    }
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  test('r+: CRCs stored in the central directory and the local header', () => {
    const path = copy('savez-10.npz');
    const archive = openNpz(path, { mode: 'r+' });
    archive.get('a4').set(2, 123456);
    archive.flush();
    const bytes = readFileSync(path);
    const lh = bytes.indexOf('a4.npy') - 30;
    const cd = bytes.lastIndexOf('a4.npy') - 46;
    const start = lh + 30 + 6 + 20;
    const size = bytes.readUInt32LE(cd + 20);
    const crc = crc32(bytes.subarray(start, start + size));
    expect([bytes.readUInt32LE(lh + 14), bytes.readUInt32LE(cd + 16)]).toEqual([crc, crc]);
    archive.close();
  });

  test('members cannot grow or shrink inside the archive: refused, nothing changed', () => {
    const path = copy('savez-10.npz');
    const before = readFileSync(path);
    {
      using archive = openNpz(path, { mode: 'r+' });
      const names = archive.files;
      const last = archive.get(names[names.length - 1]);
      const first = archive.get(names[0]);
      for (const member of [first, last]) {
        const shape = member.shape;
        expect(codeOf(() => member.resize([shape[0] + 1, ...shape.slice(1)]))).toBe('ERR_MEMMAP_UNSUPPORTED');
        expect(codeOf(() => member.resize([0, ...shape.slice(1)]))).toBe('ERR_MEMMAP_UNSUPPORTED');
        expect(codeOf(() => member.append(member.toArray()))).toBe('ERR_MEMMAP_UNSUPPORTED');
        expect(member.shape).toEqual(shape);
      }
    }
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  test('r+ on a read-only file: permission denied, nothing changed', () => {
    const path = copy('savez-1.npz');
    spawnSync('chmod', ['444', path]);
    if (process.getuid?.() === 0) return; // root writes anyway
    expect(codeOf(() => openNpz(path, { mode: 'r+' }))).toBe('ERR_MEMMAP_PERMISSION_DENIED');
  });
});

describe('hostile archives on disk: coded errors, nothing changed', () => {
  const damage: [string, (b: Buffer) => Buffer, string][] = [
    ['truncated', (b) => b.subarray(0, b.length - 30), 'ERR_NPZ_NOT_ZIP'],
    ['not a zip', (b) => Buffer.alloc(b.length, 1), 'ERR_NPZ_NOT_ZIP'],
    ['central directory outside the file', (b) => (b.writeUInt32LE(1e8, b.length - 10), b), 'ERR_NPZ_BAD_ARCHIVE'],
    ['multi-disk', (b) => (b.writeUInt16LE(2, b.length - 18), b), 'ERR_NPZ_MULTI_DISK'],
    [
      'absurd count',
      (b) => (b.writeUInt16LE(60000, b.length - 14), b.writeUInt16LE(60000, b.length - 12), b),
      'ERR_NPZ_BAD_ARCHIVE',
    ],
  ];
  test.each(damage)('%s', (_, mutate, code) => {
    for (const mode of ['r', 'r+', 'c'] as const) {
      const path = copy('savez-10.npz');
      writeFileSync(path, mutate(readFileSync(path)));
      const before = readFileSync(path);
      expect([mode, codeOf(() => openNpz(path, { mode }))]).toEqual([mode, code]);
      expect(readFileSync(path).equals(before)).toBe(true);
    }
  });

  test('a local header whose sizes disagree with the central directory: refused at get, nothing changed', () => {
    const path = copy('savez-10.npz');
    const bytes = readFileSync(path);
    const lh = bytes.indexOf('a5.npy') - 30;
    // numpy's local headers give the sizes in their ZIP64 extra field (after the 6-byte name and its 4-byte header).
    const sizeAt = bytes.readUInt32LE(lh + 22) === 0xffffffff ? lh + 30 + 6 + 4 : lh + 22;
    bytes.writeUInt32LE(bytes.readUInt32LE(sizeAt) + 1, sizeAt);
    writeFileSync(path, bytes);
    {
      using archive = openNpz(path, { mode: 'r+' });
      expect(codeOf(() => archive.get('a5'))).toBe('ERR_NPZ_BAD_ARCHIVE');
      expect(archive.get('a6').shape).toEqual([7]);
    }
    expect(readFileSync(path).equals(bytes)).toBe(true);
  });

  test("a local header CRC other than the central directory's (an r+ close killed between its stores): the central one is trusted, r+ repairs the local one", () => {
    // As zipfile (so np.load) reads it: the CRC comes from the central directory.
    const path = copy('savez-10.npz');
    const bytes = readFileSync(path);
    const lh = bytes.indexOf('a5.npy') - 30;
    const cd = bytes.lastIndexOf('a5.npy') - 46;
    const central = bytes.readUInt32LE(cd + 16);
    bytes.writeUInt32LE(0xdeadbeef, lh + 14);
    writeFileSync(path, bytes);
    for (const mode of ['r', 'c'] as const) {
      {
        using archive = openNpz(path, { mode });
        expect([mode, archive.get('a5').shape]).toEqual([mode, [6]]);
      }
      expect(readFileSync(path).equals(bytes)).toBe(true);
    }
    {
      using archive = openNpz(path, { mode: 'r+' });
      archive.get('a5').sum(); // read only: the local CRC is still stored again
    }
    const after = readFileSync(path);
    expect([after.readUInt32LE(lh + 14), after.readUInt32LE(cd + 16)]).toEqual([central, central]);
    unzipTest(path);
  });

  test('r+ refuses a member whose bytes disagree with its CRC (never vouches for damage); r maps it', () => {
    const path = copy('savez-10.npz');
    const bytes = readFileSync(path);
    const at = bytes.indexOf('a7.npy') - 30 + 30 + 6 + 20 + 128;
    bytes[at] ^= 1;
    writeFileSync(path, bytes);
    {
      using archive = openNpz(path, { mode: 'r+' });
      expect(codeOf(() => archive.get('a7'))).toBe('ERR_NPZ_BAD_CRC');
      archive.get('a8').set(0, 1); // the others still work
    }
    const after = readFileSync(path);
    expect(
      after.subarray(0, bytes.indexOf('a8.npy') - 30).equals(bytes.subarray(0, bytes.indexOf('a8.npy') - 30)),
    ).toBe(true);
    using archive = openNpz(path);
    expect(archive.get('a7').shape).toEqual([8]);
    // Asked, r and c read it once and refuse it, as np.load does; before and after it is mapped.
    expect(codeOf(() => archive.get('a7', { verify: true }))).toBe('ERR_NPZ_BAD_CRC');
    using copyOnWrite = openNpz(path, { mode: 'c' });
    expect(codeOf(() => copyOnWrite.get('a7', { verify: true }))).toBe('ERR_NPZ_BAD_CRC');
    // A sound member passes, and a c map's own writes are not the file's damage.
    const a8 = copyOnWrite.get('a8', { verify: true });
    a8.set(0, 99);
    expect(copyOnWrite.get('a8', { verify: true })).toBe(a8);
    expect(codeOf(() => archive.get('a8', { verify: 1 } as never))).toBe('ERR_MEMMAP_INVALID_ARG');
    // null is no boolean: it would hand the member out unchecked.
    expect(codeOf(() => archive.get('a7', { verify: null } as never))).toBe('ERR_MEMMAP_INVALID_ARG');
    expect(codeOf(() => archive.get('a7', { decompress: null } as never))).toBe('ERR_MEMMAP_INVALID_ARG');
  });

  test('a member damaged in its .npy header is ERR_NPZ_BAD_CRC where its CRC is checked', () => {
    // Found by review: the header was parsed first, so the damage showed as
    // a header error (ERR_NPY_BAD_HEADER, ERR_NPZ_NOT_NPY), not as np.load's Bad CRC-32.
    const path = copy('savez-10.npz');
    const bytes = readFileSync(path);
    const magic = bytes.indexOf('NUMPY', bytes.indexOf('a3.npy'));
    for (const at of [magic, magic + 20]) {
      const damaged = Buffer.from(bytes);
      damaged[at] ^= 4;
      writeFileSync(path, damaged);
      for (const mode of ['r', 'c'] as const) {
        using archive = openNpz(path, { mode });
        expect(codeOf(() => archive.get('a3'))).toMatch(/^ERR_NP[YZ]_/);
        expect(codeOf(() => archive.get('a3', { verify: true }))).toBe('ERR_NPZ_BAD_CRC');
      }
      using writable = openNpz(path, { mode: 'r+' });
      expect(codeOf(() => writable.get('a3'))).toBe('ERR_NPZ_BAD_CRC');
    }
  });

  test('a .npy header promising more than the member holds', () => {
    const path = copy('savez-1.npz');
    const bytes = readFileSync(path);
    const at = bytes.indexOf("'shape': (5,)");
    bytes.write("'shape': (9,)", at, 'latin1');
    writeFileSync(path, bytes);
    using archive = openNpz(path);
    expect(codeOf(() => archive.get('x'))).toBe('ERR_NPY_TRUNCATED');
  });

  test('bad arguments', () => {
    expect(codeOf(() => openNpz(join(dir, 'missing.npz')))).toBe('ERR_MEMMAP_FILE_NOT_FOUND');
    expect(codeOf(() => openNpz(dir))).toBe('ERR_MEMMAP_IS_DIRECTORY');
    expect(codeOf(() => openNpz(join(NPZ, 'savez-1.npz'), { mode: 'x' as never }))).toBe('ERR_MEMMAP_INVALID_MODE');
    expect(codeOf(() => openNpz(join(NPZ, 'savez-1.npz'), { nope: 1 } as never))).toBe('ERR_MEMMAP_UNKNOWN_OPTION');
    expect(codeOf(() => openNpz(join(NPZ, 'savez-1.npz'), { members: {} }))).toBe('ERR_MEMMAP_INVALID_ARG');
    expect(codeOf(() => openNpz(3 as never))).toBe('ERR_MEMMAP_INVALID_ARG');
    using archive = openNpz(join(NPZ, 'savez-1.npz'));
    expect(codeOf(() => archive.get('x', { decompress: 1 } as never))).toBe('ERR_MEMMAP_INVALID_ARG');
    expect(codeOf(() => archive.get('x', { mmap: true } as never))).toBe('ERR_MEMMAP_UNKNOWN_OPTION');
    expect(codeOf(() => archive.get(5 as never))).toBe('ERR_MEMMAP_INVALID_ARG');
  });

  test('a compressed member whose data is damaged: a coded error, never a crash', () => {
    const path = copy('compressed.npz');
    const bytes = readFileSync(path);
    const lh = bytes.indexOf('x.npy') - 30;
    const start = lh + 30 + 5 + bytes.readUInt16LE(lh + 28);
    for (let i = 40; i < 200; i++) bytes[start + i] ^= 0x5a;
    writeFileSync(path, bytes);
    using archive = openNpz(path);
    expect(codeOf(() => archive.get('x', { decompress: true }))).toMatch(
      /^ERR_NPZ_(BAD_ARCHIVE|BAD_CRC|TRUNCATED|NOT_NPY)$|^ERR_NPY_/,
    );
  });
});

describe('fuzzing the whole path on disk, in a child process (a crash fails the test)', () => {
  test('mutated archives through openNpz, get and decompress: only coded errors, the file unchanged', () => {
    const script = `
      const fs = require('node:fs');
      const path = require('node:path');
      const { openNpz } = require(${PACKAGE});
      const npz = ${JSON.stringify(NPZ)};
      const out = ${JSON.stringify(dir)};
      const seeds = ['savez-10.npz', 'dtypes.npz', 'special.npz', 'compressed.npz', 'stream.npz', 'mmnpz.npz', 'writestr.npz']
        .map((f) => fs.readFileSync(path.join(npz, f)));
      let x = 12345;
      const rand = (n) => { x = (x * 1103515245 + 12345) % 2147483648; return x % n; };
      const codes = {};
      for (let run = 0; run < 400; run++) {
        const bytes = Buffer.from(seeds[run % seeds.length]);
        for (let k = 0, edits = 1 + rand(6); k < edits; k++) {
          const at = rand(bytes.length);
          if (rand(3) === 0 && at + 4 <= bytes.length) bytes.writeUInt32LE([0, 0xffffffff, rand(1 << 30)][rand(3)], at);
          else bytes[at] = rand(256);
        }
        const file = path.join(out, 'fuzz-' + run + '.npz');
        fs.writeFileSync(file, bytes);
        for (const mode of ['r', 'r+', 'c']) {
          try {
            const archive = openNpz(file, { mode });
            for (const name of archive.files) {
              try {
                const array = archive.get(name, { decompress: true });
                if (array.size > 0) array.get(...Array(array.ndim).fill(0));
              } catch (error) {
                if (!/^ERR_/.test(error.code)) throw error;
                codes[error.code] = (codes[error.code] || 0) + 1;
              }
            }
            archive.close();
          } catch (error) {
            if (!/^ERR_/.test(error.code)) { console.log('UNCODED', error.stack); process.exit(2); }
            codes[error.code] = (codes[error.code] || 0) + 1;
          }
        }
        // r+ may store again a local header CRC that differs from the central
        // directory's (as after an interrupted store): the only change allowed.
        const after = fs.readFileSync(file);
        if (after.length !== bytes.length) { console.log('CHANGED', file); process.exit(3); }
        for (let i = 0; i < after.length; i++) {
          if (after[i] === bytes[i]) continue;
          let crcField = false;
          for (let j = i - 3; j <= i; j++) if (j >= 14 && after.readUInt32LE(j - 14) === 0x04034b50) crcField = true;
          if (!crcField) { console.log('CHANGED', file, i); process.exit(3); }
        }
        fs.rmSync(file);
      }
      console.log(JSON.stringify(codes));
    `;
    const result = runNode(script);
    expect([result.status, result.signal, result.stderr]).toEqual([0, null, '']);
    const codes = JSON.parse(result.stdout) as Record<string, number>;
    expect(Object.keys(codes).length).toBeGreaterThan(3);
  });
});

const full = mountTmpfs('npz-full', '16m');
(full ? describe : describe.skip)('a full disk (a 16 MiB tmpfs): a failed w+ changes nothing', () => {
  test('w+ of an archive larger than the disk, over an existing archive and over nothing', () => {
    const disk = full as string;
    const old = join(disk, 'old.npz');
    copyFileSync(join(NPZ, 'savez-10.npz'), old);
    const members = { a: { dtype: 'float64', shape: [1 << 20] }, b: { dtype: 'float64', shape: [2 << 20] } };
    for (const path of [old, join(disk, 'new.npz')]) {
      const before = snapshot(disk);
      const blocks = freeBlocks(disk);
      expect(codeOf(() => openNpz(path, { mode: 'w+', members }))).toBe('ERR_MEMMAP_NO_SPACE');
      expect(snapshot(disk)).toEqual(before);
      expect(freeBlocks(disk)).toBe(blocks);
    }
    using archive = openNpz(old);
    expect(archive.files.length).toBe(10);
  });
});

describe('w+: archives laid out as np.savez lays them out', () => {
  test('a failed w+ creates nothing and changes nothing', () => {
    const path = join(dir, 'never.npz');
    const bad = [
      { x: { shape: [2], dtype: 'nope' } },
      { x: { dtype: 'f4' } },
      { x: { shape: [2], fortranOrder: 'yes' } },
      { x: { shape: [2], extra: 1 } },
      { 'a\0b': { shape: [2] } },
    ];
    for (const members of bad) {
      expect(codeOf(() => openNpz(path, { mode: 'w+', members: members as never }))).toMatch(/^ERR_MEMMAP_/);
      expect(existsSync(path)).toBe(false);
    }
    expect(codeOf(() => openNpz(path, { mode: 'w+' }))).toBe('ERR_MEMMAP_INVALID_ARG');
    const existing = copy('savez-1.npz');
    const before = readFileSync(existing);
    expect(codeOf(() => openNpz(existing, { mode: 'w+', members: { x: { shape: [-1] } } }))).toMatch(/^ERR_MEMMAP_/);
    expect(readFileSync(existing).equals(before)).toBe(true);
    expect(codeOf(() => openNpz(join(dir, 'no', 'such', 'dir.npz'), { mode: 'w+', members: {} }))).toBe(
      'ERR_MEMMAP_FILE_NOT_FOUND',
    );
  });

  test('every member mapped writable; the archive valid before and after writing', () => {
    const path = join(dir, 'made.npz');
    const archive = openNpz(path, {
      mode: 'w+',
      members: new Map([
        ['b', { dtype: 'int16', shape: [2, 3] }],
        ['1', { dtype: '>f4', shape: [3], fortranOrder: true }],
      ]),
    });
    expect(archive.files).toEqual(['b', '1']);
    expect(archive.mode).toBe('w+');
    const b = archive.get('b');
    expect([b.mode, b.writable, b.toArray()]).toEqual([
      'r+',
      true,
      [
        [0, 0, 0],
        [0, 0, 0],
      ],
    ]);
    b.assign([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    archive.get('1').assign([0.5, 1.5, 2.5]);
    archive.close();
    using again = openNpz(path);
    expect(again.get('b').toArray()).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(again.get('1').dtype).toBe('>f4');
  });
});

describeNumpy('live numpy', () => {
  const DTYPES = [
    '|b1',
    '|i1',
    '|u1',
    '<i2',
    '>u2',
    '<i4',
    '>i4',
    '<u4',
    '<i8',
    '>u8',
    '<f2',
    '<f4',
    '>f8',
    '<c8',
    '>c16',
  ];

  test('w+ is byte for byte np.savez of zeros of the same dtypes, shapes and orders', () => {
    const members: Record<string, { dtype: string; shape: number[]; fortranOrder?: boolean }> = {};
    DTYPES.forEach((dtype, i) => {
      // numpy writes fortran_order only for arrays F- and not C-contiguous.
      members[`m${i}`] =
        i % 2 === 1 ? { dtype, shape: [2 + (i % 3), 4], fortranOrder: true } : { dtype, shape: [i % 3, 4] };
    });
    members.scalar = { dtype: '<f8', shape: [] };
    members.empty = { dtype: '<i4', shape: [0] };
    members['dir/é'] = { dtype: '<u2', shape: [2, 2] };
    const ours = join(dir, 'ours.npz');
    openNpz(ours, { mode: 'w+', members }).close();
    const theirs = join(dir, 'theirs.npz');
    python(
      `
import sys, json, numpy as np
members = json.loads(sys.argv[2])
arrays = {name: np.zeros(m['shape'], dtype=m['dtype'], order='F' if m.get('fortranOrder') else 'C') for name, m in members.items()}
np.savez(sys.argv[1], **arrays)
`,
      theirs,
      JSON.stringify(members),
    );
    expect(readFileSync(ours).equals(readFileSync(theirs))).toBe(true);
  });

  test('w+ archives written here: np.load reads the values, testzip() and unzip -t pass', () => {
    const path = join(dir, 'written.npz');
    {
      using archive = openNpz(path, {
        mode: 'w+',
        members: {
          x: { dtype: 'float32', shape: [2, 3] },
          y: { dtype: 'int64', shape: [4], fortranOrder: true },
          z: { dtype: 'complex128', shape: [] },
          big: { dtype: 'uint8', shape: [3 * 1024 * 1024 + 7] },
        },
      });
      archive.get('x').assign([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      archive.get('y').assign([1n, -2n, 3n, -(2n ** 62n)]);
      archive.get('z').set({ re: 1.5, im: -2 });
      const big = archive.get('big');
      big.set(0, 1);
      big.set(-1, 255);
    }
    const read = numpyReads(path);
    expect(read.testzip).toBeNull();
    expect(read.values.x).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(read.values.y).toEqual(['1', '-2', '3', String(-(2n ** 62n))]);
    expect(read.values.z).toEqual([1.5, -2]);
    unzipTest(path);
  });

  test.each(['savez-10.npz', 'dtypes.npz', 'mmnpz.npz', 'stream.npz', 'prefixed.npz', 'comment.npz', 'writestr.npz'])(
    'r+ edits of %s: read back by numpy, accepted by testzip() and unzip -t',
    (file) => {
      const path = copy(file);
      const expected = numpyReads(path).values;
      {
        using archive = openNpz(path, { mode: 'r+' });
        for (const [name, array] of archive.files.flatMap((n) => {
          try {
            return [[n, archive.get(n)] as const];
          } catch {
            return [];
          }
        })) {
          if (array.size === 0 || !array.writable) continue;
          const index = Array.from({ length: array.ndim }, () => 0);
          array.set(...index, otherValue(array.get(...index)) as never);
          let target = expected[name];
          if (array.ndim === 0) expected[name] = toJson(array.get());
          else {
            const path = index.slice(0, -1);
            for (const k of path) target = (target as unknown[])[k];
            (target as unknown[])[0] = toJson(array.get(...index));
          }
        }
      }
      const read = numpyReads(path);
      expect(read.testzip).toBeNull();
      expect(read.values).toEqual(expected);
      if (file !== 'prefixed.npz') unzipTest(path); // unzip warns about the stub, as for any such archive
    },
  );

  test('r+ on a member the caller closed first: its CRC is still stored', () => {
    const path = copy('savez-10.npz');
    const archive = openNpz(path, { mode: 'r+' });
    const a = archive.get('a1');
    a.set(0, -5);
    a.close();
    archive.close();
    const read = numpyReads(path);
    expect(read.testzip).toBeNull();
    expect(read.values.a1).toEqual([-5, (read.values.a1 as number[])[1]]);
  });

  test('r+ and w+: a member written, closed by the caller and got again', () => {
    for (const mode of ['r+', 'w+'] as const) {
      const path = mode === 'r+' ? copy('savez-10.npz') : join(dir, 'again.npz');
      const archive =
        mode === 'r+'
          ? openNpz(path, { mode })
          : openNpz(path, { mode, members: { a1: { dtype: '<i4', shape: [2] } } });
      const first = archive.get('a1');
      first.set(1, 31);
      first.close();
      const second = archive.get('a1');
      expect(second.get(1)).toBe(31);
      second.set(0, 30);
      archive.close();
      const read = numpyReads(path);
      expect([mode, read.testzip, read.values.a1]).toEqual([mode, null, [30, 31]]);
    }
  });

  test('r+ close() while a thread-pool write into a member is in flight: the stored CRC matches the file', () => {
    // crypto.randomFill writes into a member's data off the main thread while
    // the archive closes: the members close first (the write then lands in
    // zero pages, never the file) and the CRCs are of the file's final bytes.
    for (const how of ['close', 'flush']) {
      const path = join(dir, `in-flight-${how}.npz`);
      const child = runNode(
        `
const { openNpz } = require(${PACKAGE});
const crypto = require('node:crypto');
const p = ${JSON.stringify(path)};
openNpz(p, { mode: 'w+', members: { a: { dtype: 'uint8', shape: [16 << 20] }, b: { dtype: 'f8', shape: [4] } } }).close();
const z = openNpz(p, { mode: 'r+' });
crypto.randomFill(z.get('a').data, () => {
  setTimeout(() => {
    const again = openNpz(p, { mode: 'r+' });
    again.get('a');
    again.close();
    console.log('done');
  }, 20);
});
if (${JSON.stringify(how)} === 'flush') z.flush();
z.close();
`,
      );
      expect([how, child.status, child.stderr, child.stdout.trim()]).toEqual([how, 0, '', 'done']);
      // np.load checks the CRC as zipfile does: testzip() names a bad member.
      expect(python('import sys, zipfile; print(zipfile.ZipFile(sys.argv[1]).testzip())', path).trim()).toBe('None');
      unzipTest(path);
    }
  });

  (HAVE_STRACE ? test : test.skip)(
    'r+ close() killed between its two CRC stores (strace SIGKILL): numpy and memmap open it, r+ repairs it',
    () => {
      const path = copy('savez-10.npz');
      // The first pwrite64 stores the central directory's CRC, the second the local header's: killed there.
      const killed = nodeUnderStrace(
        ['-e', 'trace=pwrite64', '-e', 'inject=pwrite64:signal=SIGKILL:when=2'],
        `const { openNpz } = require(${PACKAGE}); const z = openNpz(${JSON.stringify(path)}, { mode: 'r+' }); z.get('a1').set(0, -5); z.close(); console.log('not killed');`,
      );
      expect(killed.stdout).toBe('');
      const bytes = readFileSync(path);
      const [lh, cd] = [bytes.indexOf('a1.npy') - 30, bytes.lastIndexOf('a1.npy') - 46];
      expect(bytes.readUInt32LE(lh + 14)).not.toBe(bytes.readUInt32LE(cd + 16));
      expect(numpyReads(path).testzip).toBeNull();
      for (const mode of ['r', 'c', 'r+'] as const) {
        using archive = openNpz(path, { mode });
        expect([mode, archive.get('a1').get(0)]).toEqual([mode, -5]);
      }
      const after = readFileSync(path);
      expect(after.readUInt32LE(lh + 14)).toBe(after.readUInt32LE(cd + 16));
      unzipTest(path);
    },
  );

  test('np.savez_compressed: decompressed values equal numpy', () => {
    const path = join(dir, 'live-compressed.npz');
    python(
      `
import sys, numpy as np
from numpy_json import sample
np.savez_compressed(sys.argv[1], a=sample('<f8', (50, 40)), b=sample('>i4', (7,)), c=np.array(3))
`,
      path,
    );
    const expected = numpyReads(path).values;
    using archive = openNpz(path);
    for (const name of archive.files) {
      expect(toJson(archive.get(name, { decompress: true }).toArray())).toEqual(expected[name]);
    }
  });

  test('bytes after the array in a member, stored or deflated: read as np.load reads them', () => {
    const paths = ['trailing-stored.npz', 'trailing-deflated.npz'].map((name) => join(dir, name));
    python(
      `
import io, sys, zipfile, numpy as np
b = io.BytesIO(); np.save(b, np.arange(10, dtype='<f8'))
for path, how in zip(sys.argv[1:], (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)):
    with zipfile.ZipFile(path, 'w', compression=how) as z: z.writestr('a.npy', b.getvalue() + b'\\0' * 16)
    assert list(np.load(path)['a']) == list(range(10))
`,
      ...paths,
    );
    for (const path of paths) {
      using archive = openNpz(path);
      expect(archive.get('a', { decompress: true }).toArray()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
  });
});

describe('a member past 4 GiB (ZIP64), from np.savez', () => {
  // The archive numpy wrote (big-member.json keeps its bytes around the
  // zeros), rebuilt as a sparse file: 4 GiB of holes, no disk blocks.
  const big = JSON.parse(readFileSync(join(NPZ, 'big-member.json'), 'utf8')) as {
    size: number;
    head: string;
    tailStart: number;
    tail: string;
  };
  const N = 2 ** 32 + 24;

  function rebuild(path: string): void {
    const fd = openSync(path, 'w');
    try {
      writeSync(fd, Buffer.from(big.head, 'base64'), 0, undefined, 0);
      writeSync(fd, Buffer.from(big.tail, 'base64'), 0, undefined, big.tailStart);
    } finally {
      closeSync(fd);
    }
  }

  test('mapped in place: the last elements, and a member after it (ZIP64 offsets)', () => {
    const path = join(dir, 'big.npz');
    rebuild(path);
    using archive = openNpz(path);
    expect(archive.files).toEqual(['small', 'big', 'after']);
    const member = archive.get('big');
    expect([member.shape, member.get(N - 1), member.get(N - 3), member.get(2 ** 32)]).toEqual([[N], 3, 1, 0]);
    expect(archive.get('after').toArray()).toEqual([7.5]);
    expect(archive.get('small').toArray()).toEqual([0, 1, 2]);
  });

  describeNumpy('live', () => {
    test('r+ past 4 GiB: the CRC of the whole member stored again; zipfile agrees', () => {
      const path = join(dir, 'big-live.npz');
      python(
        `
import sys, importlib.util, os
spec = importlib.util.spec_from_file_location('fixtures', os.path.join(os.environ['PYTHONPATH'], 'make-npz-fixtures.py'))
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
m.write_big(sys.argv[1])
`,
        path,
      );
      {
        using archive = openNpz(path, { mode: 'r+' });
        const member = archive.get('big');
        member.set(2 ** 32 + 5, 9);
        member.set(0, 4);
      }
      const check = pythonJson<{ bad: string | null; values: number[]; after: number }>(
        `
import sys, json, zipfile, numpy as np
path = sys.argv[1]
with zipfile.ZipFile(path) as zf:
    info = zf.getinfo('big.npy')
    bad = zf.testzip()
    with zf.open('after.npy') as f:
        after = float(np.lib.format.read_array(f)[0])
with open(path, 'rb') as f:
    f.seek(info.header_offset + 26)
    n, e = np.frombuffer(f.read(4), '<u2')
start = info.header_offset + 30 + int(n) + int(e) + 128
m = np.memmap(path, dtype='u1', mode='r', offset=start, shape=(2**32 + 24,))
print(json.dumps({'bad': bad, 'values': [int(m[0]), int(m[2**32 + 5]), int(m[-1])], 'after': after}))
`,
        path,
      );
      expect(check).toEqual({ bad: null, values: [4, 9, 3], after: 7.5 });
    });
  });
});

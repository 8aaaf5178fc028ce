/** The ZIP reader and writer of .npz archives (pure: no native binary). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  bytesSource,
  crc32,
  crc32Zeros,
  decodeName,
  entryRefusal,
  Layout,
  npzLayout,
  readMember,
  readZipDirectory,
  ZipSource,
} from '../../ts/zip';
import { npyHeaderBytes } from '../../ts/npyformat';

const FIXTURES = join(__dirname, '..', 'fixtures', 'npz');
interface ManifestEntry {
  file: string;
  files: string[];
  members: { name: string; kind: string }[];
}
const manifest = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')) as ManifestEntry[];
const fixture = (file: string) => new Uint8Array(readFileSync(join(FIXTURES, file)));

/** A source that is `layout`'s pieces over zeros, of any size, reading only what is asked. */
function layoutSource(layout: Layout): ZipSource {
  return {
    size: layout.size,
    read(position, length) {
      const out = new Uint8Array(Math.min(length, layout.size - position));
      for (const { offset, bytes } of layout.pieces) {
        const from = Math.max(offset, position);
        const to = Math.min(offset + bytes.length, position + out.length);
        if (from < to) out.set(bytes.subarray(from - offset, to - offset), from - position);
      }
      return out;
    },
  };
}

function codeOf(run: () => unknown): string | null {
  try {
    run();
    return null;
  } catch (error) {
    return (error as { code?: string }).code ?? `uncoded: ${String(error)}`;
  }
}

const le32 = (bytes: Uint8Array, at: number, value: number) => new DataView(bytes.buffer).setUint32(at, value, true);
const le16 = (bytes: Uint8Array, at: number, value: number) => new DataView(bytes.buffer).setUint16(at, value, true);
const find = (bytes: Uint8Array, signature: number, from = 0) => {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  for (let i = from; i + 4 <= bytes.length; i++) if (view.getUint32(i, true) === signature) return i;
  return -1;
};

describe('CRC-32', () => {
  test("zlib's values", () => {
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(Buffer.from('56789'), crc32(Buffer.from('1234')))).toBe(0xcbf43926);
  });

  test('zeros appended without reading them agree with reading them', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.nat({ max: 5000 }), (head, n) => {
        const whole = new Uint8Array(head.length + n);
        whole.set(head);
        expect(crc32Zeros(crc32(head), n)).toBe(crc32(whole));
      }),
    );
    // Past 2^32 bytes: composition (a + b zeros = a zeros, then b zeros).
    const start = crc32(Buffer.from('x'));
    expect(crc32Zeros(crc32Zeros(start, 2 ** 32), 2 ** 33 + 5)).toBe(crc32Zeros(start, 3 * 2 ** 32 + 5));
    expect(crc32Zeros(start, 0)).toBe(start);
  });
});

describe('reading the committed archives (written by numpy and zipfile)', () => {
  test.each(manifest.map((m) => [m.file, m] as const))('%s: names as np.load lists them', (file, m) => {
    const bytes = fixture(file);
    const directory = readZipDirectory(bytesSource(bytes));
    expect(directory.entries.map((e) => (e.name.endsWith('.npy') ? e.name.slice(0, -4) : e.name))).toEqual(m.files);
    for (const entry of directory.entries) {
      if (entryRefusal(entry) !== null || entry.name.endsWith('/')) continue;
      const data = readMember(bytesSource(bytes), entry);
      expect(data.dataStart + entry.compressedSize).toBeLessThanOrEqual(entry.limit);
      if (entry.method === 0 && !['notes.txt', 'raw.npy'].includes(entry.name)) {
        expect(Array.from(bytes.subarray(data.dataStart, data.dataStart + 6))).toEqual([0x93, 78, 85, 77, 80, 89]);
        expect(crc32(bytes.subarray(data.dataStart, data.dataStart + entry.compressedSize))).toBe(entry.crc);
      }
    }
  });

  test('names: UTF-8 under flag 11, cp437 otherwise, cut at NUL (as zipfile)', () => {
    expect(decodeName(Buffer.from('dir/é.npy'), 0x800, 'x')).toBe('dir/é.npy');
    expect(decodeName(Uint8Array.of(0x82, 0x41), 0, 'x')).toBe('éA');
    expect(decodeName(Uint8Array.of(0x61, 0, 0x62), 0, 'x')).toBe('a');
    expect(codeOf(() => decodeName(Uint8Array.of(0xff), 0x800, 'x'))).toBe('ERR_NPZ_BAD_ARCHIVE');
  });

  test('data descriptors (zipfile writing to a stream) are found after the data', () => {
    const bytes = fixture('stream.npz');
    for (const entry of readZipDirectory(bytesSource(bytes)).entries) {
      const data = readMember(bytesSource(bytes), entry);
      expect(entry.flags & 8).toBe(8);
      expect(data.localCrcOffset).toBe(-1); // zero in the local header: stays zero
      expect(new DataView(bytes.buffer).getUint32(data.descriptorCrcOffset, true)).toBe(entry.crc);
    }
  });

  test('an archive with a stub in front: every offset shifted ("concat")', () => {
    const directory = readZipDirectory(bytesSource(fixture('prefixed.npz')));
    expect(directory.entries[0].localHeaderOffset).toBe(7 * 20);
  });
});

describe("writing numpy's savez layout", () => {
  const header = (shape: number[]) => npyHeaderBytes('<f8', false, shape);

  test('byte for byte the archive np.savez wrote, but for the array data and CRC', () => {
    const numpy = fixture('savez-1.npz');
    const layout = npzLayout([{ name: 'x.npy', header: header([5]), dataLength: 40 }]);
    const ours = layoutSource(layout).read(0, layout.size);
    expect(ours.length).toBe(numpy.length);
    const [member] = layout.members;
    for (const bytes of [numpy, ours]) {
      bytes.fill(0, member.arrayStart, member.arrayStart + 40);
      le32(bytes, member.localCrcOffset, 0);
      le32(bytes, member.centralCrcOffset, 0);
    }
    expect(Buffer.from(ours).equals(Buffer.from(numpy))).toBe(true);
  });

  test('reads back, CRCs of the zeros included', () => {
    const names = ['a.npy', 'dir/é.npy', 'x'.repeat(300) + '.npy', '.npy'];
    const layout = npzLayout(names.map((name, i) => ({ name, header: header([i * 3]), dataLength: i * 24 })));
    const source = layoutSource(layout);
    const { entries } = readZipDirectory(source);
    expect(entries.map((e) => e.name)).toEqual(names);
    entries.forEach((entry, i) => {
      const data = readMember(source, entry);
      expect(data.dataStart).toBe(layout.members[i].dataStart);
      expect(entry.crc).toBe(crc32(source.read(data.dataStart, entry.compressedSize)));
      expect(entry.centralOffset + 16).toBe(layout.members[i].centralCrcOffset);
    });
  });

  test('past 4 GiB: ZIP64 fields in the central directory, a ZIP64 end record', () => {
    const big = 5 * 2 ** 30;
    const layout = npzLayout([
      { name: 'a.npy', header: header([big / 8]), dataLength: big },
      { name: 'b.npy', header: header([2]), dataLength: 16 },
    ]);
    const { entries } = readZipDirectory(layoutSource(layout));
    expect(entries[0].compressedSize).toBe(big + 128);
    expect(entries[1].localHeaderOffset).toBe(layout.members[1].localHeaderOffset);
    expect(entries[1].localHeaderOffset).toBeGreaterThan(2 ** 32);
    expect(readMember(layoutSource(layout), entries[1]).dataStart).toBe(layout.members[1].dataStart);
  });

  test('more than 65535 members: the ZIP64 end record holds the count', () => {
    const members = Array.from({ length: 65537 }, (_, i) => ({
      name: `m${i}`,
      header: new Uint8Array(0),
      dataLength: 0,
    }));
    const layout = npzLayout(members);
    expect(readZipDirectory(layoutSource(layout)).entries.length).toBe(65537);
  });
});

describe('hostile archives: coded errors', () => {
  const base = () => fixture('savez-10.npz');
  const end = (bytes: Uint8Array) => find(bytes, 0x06054b50, bytes.length - 22);
  const central = (bytes: Uint8Array) => find(bytes, 0x02014b50);
  const cases: [string, (b: Uint8Array) => Uint8Array, string][] = [
    ['empty', () => new Uint8Array(0), 'ERR_NPZ_NOT_ZIP'],
    ['not a zip', (b) => b.fill(7), 'ERR_NPZ_NOT_ZIP'],
    ['truncated before the end record', (b) => b.subarray(0, b.length - 1), 'ERR_NPZ_NOT_ZIP'],
    ['cut inside the central directory', (b) => b.slice(0, central(b) + 10), 'ERR_NPZ_NOT_ZIP'],
    ['central directory past the end record', (b) => (le32(b, end(b) + 12, 1e6), b), 'ERR_NPZ_BAD_ARCHIVE'],
    ['central directory offset past it', (b) => (le32(b, end(b) + 16, 0xfffffff0), b), 'ERR_NPZ_BAD_ARCHIVE'],
    ['absurd entry count', (b) => (le16(b, end(b) + 8, 65000), le16(b, end(b) + 10, 65000), b), 'ERR_NPZ_BAD_ARCHIVE'],
    ['count disagrees', (b) => (le16(b, end(b) + 8, 9), le16(b, end(b) + 10, 9), b), 'ERR_NPZ_BAD_ARCHIVE'],
    ['multi-disk', (b) => (le16(b, end(b) + 4, 1), b), 'ERR_NPZ_MULTI_DISK'],
    ['entries on another disk', (b) => (le16(b, end(b) + 8, 3), b), 'ERR_NPZ_MULTI_DISK'],
    ['bad central signature', (b) => (le32(b, central(b), 0x12345678), b), 'ERR_NPZ_BAD_ARCHIVE'],
    ['name length past the directory', (b) => (le16(b, central(b) + 28, 60000), b), 'ERR_NPZ_TRUNCATED'],
    ['member past the central directory', (b) => (le32(b, central(b) + 20, 1e6), b), 'ERR_NPZ_BAD_ARCHIVE'],
    ['local header offset past the file', (b) => (le32(b, central(b) + 42, 0x7fffffff), b), 'ERR_NPZ_BAD_ARCHIVE'],
    [
      'two members at one offset (overlapping)',
      (b) => (le32(b, find(b, 0x02014b50, central(b) + 4) + 42, 0), b),
      'ERR_NPZ_BAD_ARCHIVE',
    ],
    ['ZIP64 extra field too short', (b) => (le32(b, central(b) + 20, 0xffffffff), b), 'ERR_NPZ_BAD_ARCHIVE'],
  ];
  test.each(cases)('%s', (_, mutate, code) => {
    expect(codeOf(() => readZipDirectory(bytesSource(mutate(base()))))).toBe(code);
  });

  const local: [string, (b: Uint8Array, at: number) => void][] = [
    ['bad local signature', (b, at) => le32(b, at, 0)],
    ['local name differs', (b, at) => (b[at + 30] = 0x7a)],
    ['local method differs', (b, at) => le16(b, at + 8, 8)],
    ['local sizes differ', (b, at) => le32(b, at + 18, 1)],
    ['local extra field runs into the next member', (b, at) => le16(b, at + 28, 60000)],
  ];
  test.each(local)('%s: refused when the member is read', (_, mutate) => {
    const bytes = base();
    const { entries } = readZipDirectory(bytesSource(bytes));
    mutate(bytes, entries[1].localHeaderOffset);
    expect(codeOf(() => readMember(bytesSource(bytes), entries[1]))).toMatch(/^ERR_NPZ_(BAD_ARCHIVE|TRUNCATED)$/);
    expect(codeOf(() => readMember(bytesSource(bytes), entries[0]))).toBeNull();
  });

  test("a local CRC other than the central directory's is read as zipfile reads it: the central one; marked stale", () => {
    const bytes = base();
    const { entries } = readZipDirectory(bytesSource(bytes));
    const at = entries[1].localHeaderOffset;
    le32(bytes, at + 14, 1);
    const member = readMember(bytesSource(bytes), entries[1]);
    expect([member.localCrcOffset, member.localCrcStale]).toEqual([at + 14, true]);
    expect(readMember(bytesSource(bytes), entries[0]).localCrcStale).toBe(false);
  });

  test('encrypted members are known as such', () => {
    const { entries } = readZipDirectory(bytesSource(fixture('methods.npz')));
    expect(entries.map((e) => entryRefusal(e))).toEqual([null, null, null, 'it is encrypted']);
  });
});

describe('fuzzing: thousands of mutated numpy archives', () => {
  const seeds = manifest.filter((m) => m.file !== 'savez-1000.npz').map((m) => fixture(m.file));
  const mutation = fc.record({
    seed: fc.nat({ max: seeds.length - 1 }),
    edits: fc.array(
      fc.record({ at: fc.nat(), value: fc.oneof(fc.nat({ max: 255 }), fc.constant(0xff), fc.constant(0)) }),
      {
        maxLength: 8,
      },
    ),
    fields: fc.array(fc.record({ at: fc.nat(), value: fc.oneof(fc.nat(), fc.constant(0xffffffff), fc.constant(0)) }), {
      maxLength: 3,
    }),
    cut: fc.option(fc.nat()),
  });

  test('only coded errors; every read inside the file; nothing allocated past its size', () => {
    fc.assert(
      fc.property(mutation, ({ seed, edits, fields, cut }) => {
        const original = seeds[seed];
        let bytes = original.slice();
        for (const { at, value } of edits) bytes[at % bytes.length] = value;
        for (const { at, value } of fields) {
          const where = at % Math.max(1, bytes.length - 4);
          if (bytes.length >= 4) le32(bytes, where, value >>> 0);
        }
        if (cut !== null) bytes = bytes.slice(0, cut % (bytes.length + 1));
        let read = 0;
        const source: ZipSource = {
          size: bytes.length,
          read(position, length) {
            expect(position).toBeGreaterThanOrEqual(0);
            expect(position + length).toBeLessThanOrEqual(bytes.length);
            read += length;
            return bytes.subarray(position, position + length);
          },
        };
        try {
          const { entries } = readZipDirectory(source);
          expect(entries.length).toBeLessThanOrEqual(bytes.length / 46);
          for (const entry of entries) {
            try {
              const data = readMember(source, entry);
              expect(data.dataStart + entry.compressedSize).toBeLessThanOrEqual(bytes.length);
            } catch (error) {
              expect((error as { code?: string }).code).toMatch(/^ERR_NPZ_/);
            }
          }
        } catch (error) {
          expect((error as { code?: string }).code).toMatch(/^ERR_NPZ_/);
        }
        // The directory is read once, each local header once: a bounded multiple of the file.
        expect(read).toBeLessThanOrEqual(4 * bytes.length + 200);
      }),
      { numRuns: 3000 },
    );
  });
});

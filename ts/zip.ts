/**
 * ZIP archives as `.npz` files use them, pure: bytes in, values out, no file
 * and no binding, so it can be fuzzed and tested without a native build.
 *
 * Reading follows Python's `zipfile` (which `np.load` uses) where the ZIP
 * specification (PKWARE's APPNOTE) leaves a choice: where the end record is
 * looked for, how a ZIP64 end record is found, how names are decoded, which of
 * two entries of one name wins. Where zipfile trusts what it reads, this
 * module checks it first (every offset and length against the file's size,
 * members against each other and against the central directory), because a
 * member here becomes a memory map, not a stream. Writing lays an archive out
 * byte for byte as numpy's `savez` does (stored members, a ZIP64 extra field
 * in every local header, 1980-01-01 timestamps).
 */
import { memmapError, show } from './errors';

// ----- Record signatures and sizes (APPNOTE 4.3) -----

const LOCAL_SIG = 0x04034b50;
const CENTRAL_SIG = 0x02014b50;
const END_SIG = 0x06054b50;
const END64_SIG = 0x06064b50;
const LOCATOR64_SIG = 0x07064b50;
const DESCRIPTOR_SIG = 0x08074b50;
const LOCAL_SIZE = 30;
const CENTRAL_SIZE = 46;
const END_SIZE = 22;
const END64_SIZE = 56;
const LOCATOR64_SIZE = 20;
/** The end record's comment is at most 64 KiB: the end record lies in the file's last END_SIZE + 65535 bytes. */
const MAX_COMMENT = 0xffff;
/** Python's zipfile writes ZIP64 fields past this (2^31 - 1), not past 2^32 - 1. */
const ZIP64_LIMIT = 0x7fffffff;
const FILECOUNT_LIMIT = 0xffff;
/** How much of the end of a file the first read takes. */
const TAIL_READ = 2048;

/** General purpose flag bits (APPNOTE 4.4.4). */
export const FLAG_ENCRYPTED = 0x0001;
export const FLAG_DATA_DESCRIPTOR = 0x0008;
const FLAG_PATCHED = 0x0020;
const FLAG_STRONG_ENCRYPTION = 0x0040;
const FLAG_UTF8 = 0x0800;

/** Compression methods (APPNOTE 4.4.5). */
export const STORED = 0;
export const DEFLATED = 8;
const METHOD_NAMES: Record<number, string> = {
  1: 'shrunk',
  6: 'imploded',
  9: 'deflate64',
  12: 'bzip2',
  14: 'lzma',
  93: 'zstandard',
  95: 'xz',
  98: 'ppmd',
  99: 'AES-encrypted',
};

/** How a compression method is called in messages. */
export function methodName(method: number): string {
  if (method === STORED) return 'stored';
  if (method === DEFLATED) return 'deflate';
  return METHOD_NAMES[method] ?? `method ${method}`;
}

// ----- Reading -----

/**
 * Where the bytes come from: a file read with `pread`, or bytes in memory.
 * `read` returns the `length` bytes at `position`, fewer only at the end of
 * the source; it is only ever asked for ranges inside `[0, size)`.
 */
export interface ZipSource {
  readonly size: number;
  read(position: number, length: number): Uint8Array;
}

/** A source over bytes in memory. */
export function bytesSource(bytes: Uint8Array): ZipSource {
  return {
    size: bytes.length,
    read: (position, length) => bytes.subarray(position, position + length),
  };
}

/** One member as the central directory describes it. */
export interface ZipEntry {
  /** The name as Python's zipfile gives it (UTF-8 or cp437, cut at a NUL). */
  readonly name: string;
  /** The name's bytes as stored. */
  readonly rawName: Uint8Array;
  readonly flags: number;
  readonly method: number;
  readonly crc: number;
  readonly compressedSize: number;
  readonly size: number;
  /** Absolute file offset of the member's local header. */
  readonly localHeaderOffset: number;
  /** Absolute file offset of this entry in the central directory (its CRC is at +16). */
  readonly centralOffset: number;
  /** Where the member's bytes must end at the latest: the next member's local header, or the central directory. */
  readonly limit: number;
}

/** What the end records and the central directory say. */
export interface ZipDirectory {
  readonly entries: readonly ZipEntry[];
  /** Absolute offset of the central directory (bytes before the first member, if any, shift every offset). */
  readonly centralStart: number;
  readonly centralSize: number;
}

/** A stored member's bytes, found through its local header. */
export interface MemberData {
  /** Absolute offset of the member's first byte (after its local header). */
  readonly dataStart: number;
  /** Absolute offset of the local header's CRC field, or -1 where it stays 0 (data descriptor). */
  readonly localCrcOffset: number;
  /** Absolute offset of the data descriptor's CRC field, or -1 without one. */
  readonly descriptorCrcOffset: number;
  /** The local header holds a CRC other than the central directory's (a store cut short): r+ rewrites it. */
  readonly localCrcStale: boolean;
}

const bad = (message: string) => memmapError('ERR_NPZ_BAD_ARCHIVE', message);
const truncated = (message: string) => memmapError('ERR_NPZ_TRUNCATED', message);

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A 64-bit field as a number; past 2^53 it is no offset or size of a real file, so Infinity (which every bound refuses). */
function u64(data: DataView, at: number): number {
  const value = data.getBigUint64(at, true);
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(value);
}

function readExactly(source: ZipSource, position: number, length: number, what: string): Uint8Array {
  if (position < 0 || length < 0 || position + length > source.size) {
    throw truncated(`${what} (bytes ${position} to ${position + length}) lies outside the ${source.size}-byte file`);
  }
  const bytes = source.read(position, length);
  if (bytes.length !== length) throw truncated(`${what}: the file ended after ${bytes.length} of ${length} bytes`);
  return bytes;
}

/** numpy's (Python's) reading of an archive's directory, checked. */
export function readZipDirectory(source: ZipSource): ZipDirectory {
  const size = source.size;
  if (size < END_SIZE) {
    throw memmapError('ERR_NPZ_NOT_ZIP', `not a zip archive: ${size} bytes is too short for the end record (22)`);
  }
  // zipfile: the end record without a comment is the last 22 bytes; else the
  // last signature in the final 64 KiB. The first read also takes what
  // precedes the end record (ZIP64 records, the central directory of a small
  // archive), so a numpy archive's directory costs one read.
  let tailStart = Math.max(0, size - TAIL_READ);
  let tail = readExactly(source, tailStart, size - tailStart, 'the end of the archive');
  let tailView = view(tail);
  let end = tail.length - END_SIZE;
  if (!(tailView.getUint32(end, true) === END_SIG && tailView.getUint16(end + 20, true) === 0)) {
    tailStart = Math.max(0, size - END_SIZE - MAX_COMMENT);
    tail = readExactly(source, tailStart, size - tailStart, 'the end of the archive');
    tailView = view(tail);
    end = -1;
    for (let i = tail.length - 4; i >= 0; i--) {
      if (tail[i] === 0x50 && tailView.getUint32(i, true) === END_SIG) {
        end = i;
        break;
      }
    }
    if (end < 0 || end + END_SIZE > tail.length) {
      throw memmapError(
        'ERR_NPZ_NOT_ZIP',
        `not a zip archive: no end of central directory record in the last ${tail.length} bytes`,
      );
    }
  }
  const endOffset = tailStart + end;
  // What the tail already holds is not read again.
  const near = (position: number, length: number, what: string): Uint8Array =>
    position >= tailStart && position + length <= tailStart + tail.length
      ? tail.subarray(position - tailStart, position - tailStart + length)
      : readExactly(source, position, length, what);
  let disk = tailView.getUint16(end + 4, true);
  let centralDisk = tailView.getUint16(end + 6, true);
  let entriesHere = tailView.getUint16(end + 8, true);
  let entriesTotal = tailView.getUint16(end + 10, true);
  let centralSize = tailView.getUint32(end + 12, true);
  let centralOffset = tailView.getUint32(end + 16, true);
  let endRecords = endOffset;
  let zip64 = false;

  // A ZIP64 locator just before the end record; the ZIP64 end record just
  // before the locator (zipfile's assumption: no extensible data).
  if (endOffset >= LOCATOR64_SIZE) {
    const locator = view(near(endOffset - LOCATOR64_SIZE, LOCATOR64_SIZE, 'the ZIP64 locator'));
    if (locator.getUint32(0, true) === LOCATOR64_SIG) {
      const locatorDisk = locator.getUint32(4, true);
      const disks = locator.getUint32(16, true);
      if (locatorDisk !== 0 || disks > 1) {
        throw memmapError(
          'ERR_NPZ_MULTI_DISK',
          `the archive spans ${disks} disks (ZIP64 locator): multi-disk archives are not supported`,
        );
      }
      const at = endOffset - LOCATOR64_SIZE - END64_SIZE;
      if (at >= 0) {
        const record = view(near(at, END64_SIZE, 'the ZIP64 end record'));
        if (record.getUint32(0, true) === END64_SIG) {
          zip64 = true;
          disk = record.getUint32(16, true);
          centralDisk = record.getUint32(20, true);
          entriesHere = u64(record, 24);
          entriesTotal = u64(record, 32);
          centralSize = u64(record, 40);
          centralOffset = u64(record, 48);
          endRecords = at;
        }
      }
    }
  }
  if (disk !== 0 || centralDisk !== 0 || entriesHere !== entriesTotal) {
    throw memmapError(
      'ERR_NPZ_MULTI_DISK',
      `the archive is part of a multi-disk set (disk ${disk}, central directory on disk ${centralDisk}, ${entriesHere} of ${entriesTotal} entries here): not supported`,
    );
  }
  // zipfile's "concat": bytes before the archive (a prepended stub) shift
  // every offset; the central directory ends where the end records begin.
  const centralStart = endRecords - centralSize;
  if (!(centralStart >= 0) || !(centralOffset <= centralStart)) {
    throw bad(
      `the central directory (${centralSize} bytes at offset ${centralOffset}) does not fit before the end record at ${endRecords}`,
    );
  }
  const concat = centralStart - centralOffset;
  if (entriesTotal > centralSize / CENTRAL_SIZE) {
    throw bad(
      `the end record counts ${entriesTotal} entries, more than a ${centralSize}-byte central directory can hold`,
    );
  }
  const central = near(centralStart, centralSize, 'the central directory');
  const entries = parseCentral(central, centralStart, concat);
  // zipfile reads entries until the directory's bytes run out; the count must
  // agree (modulo 2^16 where an old writer had no ZIP64 to store more).
  if (entries.length !== entriesTotal && (zip64 || entries.length % 0x10000 !== entriesTotal)) {
    throw bad(`the end record counts ${entriesTotal} entries, the central directory holds ${entries.length}`);
  }
  return { entries: withLimits(entries, centralStart), centralStart, centralSize };
}

/** An entry while it is read: its limit is set once every entry is known. */
type Parsed = { -readonly [K in keyof ZipEntry]: ZipEntry[K] };

function parseCentral(central: Uint8Array, centralStart: number, concat: number): Parsed[] {
  const data = view(central);
  const entries: Parsed[] = [];
  let at = 0;
  while (at < central.length) {
    if (at + CENTRAL_SIZE > central.length)
      throw truncated(`the central directory ends inside entry ${entries.length}`);
    if (data.getUint32(at, true) !== CENTRAL_SIG) {
      throw bad(
        `entry ${entries.length} of the central directory has a bad signature (at offset ${centralStart + at})`,
      );
    }
    const flags = data.getUint16(at + 8, true);
    const method = data.getUint16(at + 10, true);
    const crc = data.getUint32(at + 16, true);
    let compressedSize = data.getUint32(at + 20, true);
    let size = data.getUint32(at + 24, true);
    const nameLength = data.getUint16(at + 28, true);
    const extraLength = data.getUint16(at + 30, true);
    const commentLength = data.getUint16(at + 32, true);
    let offset = data.getUint32(at + 42, true);
    const next = at + CENTRAL_SIZE + nameLength + extraLength + commentLength;
    if (next > central.length) {
      throw truncated(
        `entry ${entries.length} of the central directory runs past its end (name, extra field and comment)`,
      );
    }
    const rawName = central.slice(at + CENTRAL_SIZE, at + CENTRAL_SIZE + nameLength);
    const name = decodeName(rawName, flags, `entry ${entries.length} of the central directory`);
    const extra = central.subarray(at + CENTRAL_SIZE + nameLength, at + CENTRAL_SIZE + nameLength + extraLength);
    // zipfile's _decodeExtra: the ZIP64 field holds, in order, the sizes and
    // offset whose 32-bit fields are all ones.
    forEachExtra(extra, name, (id, field) => {
      if (id !== 1) return;
      let k = 0;
      const take = (what: string): number => {
        if (k + 8 > field.byteLength) throw bad(`member ${show(name)}: its ZIP64 extra field lacks the ${what}`);
        const value = u64(field, k);
        k += 8;
        return value;
      };
      if (size === 0xffffffff) size = take('size');
      if (compressedSize === 0xffffffff) compressedSize = take('compressed size');
      if (offset === 0xffffffff) offset = take('local header offset');
    });
    const localHeaderOffset = offset + concat;
    entries.push({
      name,
      rawName,
      flags,
      method,
      crc,
      compressedSize,
      size,
      localHeaderOffset,
      centralOffset: centralStart + at,
      limit: 0,
    });
    at = next;
  }
  return entries;
}

/** Calls `visit` for each (id, data) of an extra field, checking that each fits. */
function forEachExtra(extra: Uint8Array, name: string, visit: (id: number, data: DataView) => void): void {
  const data = view(extra);
  let at = 0;
  while (at + 4 <= extra.length) {
    const id = data.getUint16(at, true);
    const length = data.getUint16(at + 2, true);
    if (at + 4 + length > extra.length) {
      throw bad(`member ${show(name)}: its extra field 0x${id.toString(16).padStart(4, '0')} runs past the extra data`);
    }
    visit(id, new DataView(extra.buffer, extra.byteOffset + at + 4, length));
    at += 4 + length;
  }
}

/**
 * Each member must lie in its own bytes: before the next member's local
 * header and before the central directory. Checked here with the least a
 * member can take (a local header, its name, its data); the local header's
 * extra field and a data descriptor are checked against `limit` by
 * `readMember`.
 */
function withLimits(entries: Parsed[], centralStart: number): readonly ZipEntry[] {
  const order = entries.map((_, i) => i).sort((a, b) => entries[a].localHeaderOffset - entries[b].localHeaderOffset);
  for (let k = 0; k < order.length; k++) {
    const entry = entries[order[k]];
    const limit = k + 1 < order.length ? entries[order[k + 1]].localHeaderOffset : centralStart;
    const least = entry.localHeaderOffset + LOCAL_SIZE + entry.rawName.length + entry.compressedSize;
    if (!(entry.localHeaderOffset >= 0) || !(least <= limit)) {
      const other = k + 1 < order.length ? `member ${show(entries[order[k + 1]].name)}` : 'the central directory';
      throw bad(
        `member ${show(entry.name)} (local header at ${entry.localHeaderOffset}, ${entry.compressedSize} bytes) overlaps ${other} at ${limit}`,
      );
    }
    entry.limit = limit;
  }
  return entries;
}

/** cp437, the upper half (zipfile's default for names without the UTF-8 flag). */
const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

/** A name as zipfile decodes it: UTF-8 under flag 11, else cp437; cut at the first NUL (ZipInfo does). */
export function decodeName(raw: Uint8Array, flags: number, where: string): string {
  let name: string;
  if (flags & FLAG_UTF8) {
    try {
      name = new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch {
      throw bad(`${where}: the name is flagged UTF-8 but is not valid UTF-8`);
    }
  } else {
    name = '';
    for (const byte of raw) name += byte < 0x80 ? String.fromCharCode(byte) : CP437_HIGH[byte - 0x80];
  }
  const nul = name.indexOf('\0');
  return nul >= 0 ? name.slice(0, nul) : name;
}

/**
 * Reads a member's local header and finds its bytes, checking the header
 * against the central directory (signature, name, method, and the sizes
 * unless a data descriptor carries them) and the bytes against the member's
 * limit. The CRC is the central directory's, as for zipfile.
 */
export function readMember(source: ZipSource, entry: ZipEntry): MemberData {
  const where = `member ${show(entry.name)}`;
  const fixed = view(readExactly(source, entry.localHeaderOffset, LOCAL_SIZE, `the local header of ${where}`));
  if (fixed.getUint32(0, true) !== LOCAL_SIG) {
    throw bad(`${where}: no local header at offset ${entry.localHeaderOffset} (bad signature)`);
  }
  const flags = fixed.getUint16(6, true);
  const method = fixed.getUint16(8, true);
  const crc = fixed.getUint32(14, true);
  let compressedSize = fixed.getUint32(18, true);
  let size = fixed.getUint32(22, true);
  const nameLength = fixed.getUint16(26, true);
  const extraLength = fixed.getUint16(28, true);
  const dataStart = entry.localHeaderOffset + LOCAL_SIZE + nameLength + extraLength;
  if (dataStart + entry.compressedSize > entry.limit) {
    throw bad(
      `${where}: its local header and ${entry.compressedSize} bytes of data (to ${dataStart + entry.compressedSize}) run past the next member or the central directory at ${entry.limit}`,
    );
  }
  const variable = readExactly(
    source,
    entry.localHeaderOffset + LOCAL_SIZE,
    nameLength + extraLength,
    `the local header of ${where}`,
  );
  const name = decodeName(variable.subarray(0, nameLength), flags, `the local header of ${where}`);
  if (name !== entry.name) {
    throw bad(
      `${where}: the local header names it ${show(name)} (the central directory and the local header disagree)`,
    );
  }
  if (method !== entry.method) {
    throw bad(
      `${where}: the local header says ${methodName(method)}, the central directory ${methodName(entry.method)}`,
    );
  }
  forEachExtra(variable.subarray(nameLength), name, (id, field) => {
    if (id !== 1) return;
    let k = 0;
    if (size === 0xffffffff && k + 8 <= field.byteLength) {
      size = u64(field, k);
      k += 8;
    }
    if (compressedSize === 0xffffffff && k + 8 <= field.byteLength) compressedSize = u64(field, k);
  });
  const descriptor = ((flags | entry.flags) & FLAG_DATA_DESCRIPTOR) !== 0;
  // With a data descriptor the local header may hold zeros (or ZIP64's all-ones) instead.
  const placeholder = (local: number) => descriptor && (local === 0 || local === 0xffffffff);
  const agrees = (local: number, central: number) => local === central || placeholder(local);
  // The CRC is the central directory's, as zipfile (so np.load) reads it: a
  // local header left with another one (a writer killed between the two
  // stores of an r+ close) is no reason to refuse what numpy opens.
  if (!agrees(compressedSize, entry.compressedSize) || !agrees(size, entry.size)) {
    throw bad(
      `${where}: the local header (CRC ${hex(crc)}, ${compressedSize} bytes, ${size} uncompressed) disagrees with the central directory (CRC ${hex(entry.crc)}, ${entry.compressedSize} bytes, ${entry.size} uncompressed)`,
    );
  }
  const keepsPlaceholder = placeholder(crc) && crc !== entry.crc;
  return {
    dataStart,
    localCrcOffset: keepsPlaceholder ? -1 : entry.localHeaderOffset + 14,
    descriptorCrcOffset: descriptor ? findDescriptor(source, entry, dataStart) : -1,
    localCrcStale: !keepsPlaceholder && crc !== entry.crc,
  };
}

/** The data descriptor after a member's bytes (its signature is optional): the offset of its CRC, or -1 if none agrees with the central directory. */
function findDescriptor(source: ZipSource, entry: ZipEntry, dataStart: number): number {
  const at = dataStart + entry.compressedSize;
  const bytes = source.read(at, Math.max(0, Math.min(16, entry.limit - at)));
  const data = view(bytes);
  if (bytes.length >= 8 && data.getUint32(0, true) === DESCRIPTOR_SIG && data.getUint32(4, true) === entry.crc) {
    return at + 4;
  }
  if (bytes.length >= 4 && data.getUint32(0, true) === entry.crc) return at;
  return -1;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/**
 * Whether an entry is encrypted (traditional PKWARE encryption, strong
 * encryption, AES as method 99) or uses a feature zipfile refuses (patched data).
 */
export function entryRefusal(entry: ZipEntry): string | null {
  if (entry.flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION) || entry.method === 99) return 'it is encrypted';
  if (entry.flags & FLAG_PATCHED) return 'it holds compressed patched data (flag bit 5)';
  return null;
}

// ----- CRC-32 -----

const POLY = 0xedb88320;
const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    table[b] = c >>> 0;
  }
  return table;
})();

/** zlib's `crc32(crc, bytes)`: the CRC-32 of `bytes` continuing `crc` (0 to start). */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** `a * b` modulo the CRC polynomial, both bit-reflected (zlib's multmodp). */
function multiplyModP(a: number, b: number): number {
  let product = 0;
  for (let m = 0x80000000; m !== 0; m >>>= 1) {
    if (a & m) {
      product ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return product >>> 0;
}

/** x^(2^k) modulo P, k = 0..63. */
const X_POW_2K = (() => {
  const table = new Uint32Array(64);
  table[0] = 0x40000000; // x^1
  for (let k = 1; k < 64; k++) table[k] = multiplyModP(table[k - 1], table[k - 1]);
  return table;
})();

/**
 * The CRC-32 of what `crc` covered followed by `count` zero bytes, in
 * O(log count): the CRC of a new member (a header, then zeros) without
 * reading the zeros.
 */
export function crc32Zeros(crc: number, count: number): number {
  // Each zero byte multiplies the register by x^8: x^(8 * count) by squaring.
  let power = 0x80000000; // x^0
  let k = 3;
  for (let n = count; n > 0; n = Math.floor(n / 2), k++) {
    if (n % 2 === 1) power = multiplyModP(X_POW_2K[k % 64], power);
  }
  return ~multiplyModP(power, ~crc >>> 0) >>> 0;
}

// ----- Writing numpy's layout -----

/** A member to lay out: its name in the archive (`'x.npy'`), its `.npy` header, and how many data bytes follow it. */
export interface LayoutMember {
  readonly name: string;
  readonly header: Uint8Array;
  readonly dataLength: number;
}

/** Where a laid-out member lies. */
export interface PlacedMember {
  readonly name: string;
  readonly localHeaderOffset: number;
  /** Offset of the member's first byte (its `.npy` header). */
  readonly dataStart: number;
  /** Offset of the array's first byte. */
  readonly arrayStart: number;
  /** The member's size: header and data. */
  readonly size: number;
  /** The CRC of the header followed by zeros. */
  readonly crc: number;
  readonly localCrcOffset: number;
  readonly centralCrcOffset: number;
}

/** An archive laid out: its size, the bytes to write where (all else is zeros), and its members. */
export interface Layout {
  readonly size: number;
  readonly pieces: readonly { readonly offset: number; readonly bytes: Uint8Array }[];
  readonly members: readonly PlacedMember[];
}

/** numpy's timestamp: zipfile.ZipInfo's default, 1980-01-01 00:00:00 (DOS date 0x0021, time 0). */
const DOS_DATE = 0x0021;
const VERSION_ZIP64 = 45;
/** Python on POSIX: made by "Unix" (3), version 4.5. */
const MADE_BY = (3 << 8) | VERSION_ZIP64;
/** zipfile's default for a member opened for writing: ?rw------- */
const EXTERNAL_ATTR = 0o600 << 16;

/** A name's bytes and flags as zipfile stores them: ASCII as is, anything else UTF-8 with flag 11. */
export function encodeName(name: string): { bytes: Uint8Array; flags: number } {
  const bytes = Buffer.from(name, 'utf8');
  // UTF-8 is as long as UTF-16 exactly when every character is ASCII.
  const ascii = bytes.length === name.length;
  return { bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), flags: ascii ? 0 : FLAG_UTF8 };
}

/**
 * numpy's `savez` layout for these members, byte for byte: each member a
 * local header (version 4.5, a ZIP64 extra field holding the sizes, as
 * `zipf.open(name, 'w', force_zip64=True)` writes it) and its bytes; then the
 * central directory, ZIP64 end records where zipfile writes them, and the
 * end record. CRCs are those of each header followed by zeros.
 */
export function npzLayout(members: readonly LayoutMember[]): Layout {
  const pieces: { offset: number; bytes: Uint8Array }[] = [];
  const placed: PlacedMember[] = [];
  const centrals: Uint8Array[] = [];
  let position = 0;
  for (const member of members) {
    const { bytes: name, flags } = encodeName(member.name);
    if (name.length > 0xffff) {
      throw memmapError(
        'ERR_MEMMAP_INVALID_ARG',
        `member name ${show(member.name.slice(0, 40))}... is longer than 65535 bytes`,
      );
    }
    const size = member.header.length + member.dataLength;
    const crc = crc32Zeros(crc32(member.header), member.dataLength);
    const local = new Uint8Array(LOCAL_SIZE + name.length + 20 + member.header.length);
    const l = view(local);
    l.setUint32(0, LOCAL_SIG, true);
    l.setUint16(4, VERSION_ZIP64, true);
    l.setUint16(6, flags, true);
    l.setUint16(8, STORED, true);
    l.setUint16(10, 0, true);
    l.setUint16(12, DOS_DATE, true);
    l.setUint32(14, crc, true);
    l.setUint32(18, 0xffffffff, true);
    l.setUint32(22, 0xffffffff, true);
    l.setUint16(26, name.length, true);
    l.setUint16(28, 20, true);
    local.set(name, LOCAL_SIZE);
    const extra = LOCAL_SIZE + name.length;
    l.setUint16(extra, 1, true);
    l.setUint16(extra + 2, 16, true);
    l.setBigUint64(extra + 4, BigInt(size), true);
    l.setBigUint64(extra + 12, BigInt(size), true);
    local.set(member.header, extra + 20);
    pieces.push({ offset: position, bytes: local });
    const dataStart = position + LOCAL_SIZE + name.length + 20;

    // The central directory entry: ZIP64 fields only past zipfile's limit.
    const zip64: number[] = [];
    if (size > ZIP64_LIMIT) zip64.push(size, size);
    if (position > ZIP64_LIMIT) zip64.push(position);
    const central = new Uint8Array(CENTRAL_SIZE + name.length + (zip64.length ? 4 + 8 * zip64.length : 0));
    const c = view(central);
    c.setUint32(0, CENTRAL_SIG, true);
    c.setUint16(4, MADE_BY, true);
    c.setUint16(6, VERSION_ZIP64, true);
    c.setUint16(8, flags, true);
    c.setUint16(10, STORED, true);
    c.setUint16(12, 0, true);
    c.setUint16(14, DOS_DATE, true);
    c.setUint32(16, crc, true);
    c.setUint32(20, size > ZIP64_LIMIT ? 0xffffffff : size, true);
    c.setUint32(24, size > ZIP64_LIMIT ? 0xffffffff : size, true);
    c.setUint16(28, name.length, true);
    c.setUint16(30, zip64.length ? 4 + 8 * zip64.length : 0, true);
    c.setUint32(38, EXTERNAL_ATTR, true);
    c.setUint32(42, position > ZIP64_LIMIT ? 0xffffffff : position, true);
    central.set(name, CENTRAL_SIZE);
    if (zip64.length) {
      const at = CENTRAL_SIZE + name.length;
      c.setUint16(at, 1, true);
      c.setUint16(at + 2, 8 * zip64.length, true);
      zip64.forEach((value, k) => c.setBigUint64(at + 4 + 8 * k, BigInt(value), true));
    }
    centrals.push(central);
    placed.push({
      name: member.name,
      localHeaderOffset: position,
      dataStart,
      arrayStart: dataStart + member.header.length,
      size,
      crc,
      localCrcOffset: position + 14,
      centralCrcOffset: -1, // set below, once the directory's place is known
    });
    position = dataStart + size;
  }
  const centralStart = position;
  let centralSize = 0;
  for (const central of centrals) centralSize += central.length;
  const count = members.length;
  const needs64 = count > FILECOUNT_LIMIT || centralStart > ZIP64_LIMIT || centralSize > ZIP64_LIMIT;
  const tail = new Uint8Array(centralSize + (needs64 ? END64_SIZE + LOCATOR64_SIZE : 0) + END_SIZE);
  const t = view(tail);
  let at = 0;
  centrals.forEach((central, i) => {
    tail.set(central, at);
    placed[i] = { ...placed[i], centralCrcOffset: centralStart + at + 16 };
    at += central.length;
  });
  if (needs64) {
    t.setUint32(at, END64_SIG, true);
    t.setBigUint64(at + 4, 44n, true);
    t.setUint16(at + 12, VERSION_ZIP64, true);
    t.setUint16(at + 14, VERSION_ZIP64, true);
    t.setBigUint64(at + 24, BigInt(count), true);
    t.setBigUint64(at + 32, BigInt(count), true);
    t.setBigUint64(at + 40, BigInt(centralSize), true);
    t.setBigUint64(at + 48, BigInt(centralStart), true);
    const locator = at + END64_SIZE;
    t.setUint32(locator, LOCATOR64_SIG, true);
    t.setBigUint64(locator + 8, BigInt(centralStart + at), true);
    t.setUint32(locator + 16, 1, true);
    at = locator + LOCATOR64_SIZE;
  }
  t.setUint32(at, END_SIG, true);
  t.setUint16(at + 8, Math.min(count, 0xffff), true);
  t.setUint16(at + 10, Math.min(count, 0xffff), true);
  t.setUint32(at + 12, Math.min(centralSize, 0xffffffff), true);
  t.setUint32(at + 16, Math.min(centralStart, 0xffffffff), true);
  pieces.push({ offset: centralStart, bytes: tail });
  return { size: centralStart + tail.length, pieces, members: placed };
}

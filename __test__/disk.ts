/**
 * What a failed call must leave as it was, for the tests of the open
 * transaction and of fault injection: every entry under a directory (its type,
 * size, bytes and symlink target) and the file system's free blocks. Also small
 * file systems of our own (a tmpfs mounted as root) to fill up.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  lstatSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  rmdirSync,
  statfsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Every entry under `dir` (recursively, names as bytes shown in latin1) with
 * what it is: `file <size> <sha1>`, `dir`, `link -> <target>` or `other`.
 */
export function snapshot(dir: string | Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (at: Buffer, prefix: string): void => {
    for (const name of readdirSync(at, { encoding: 'buffer' }).sort(Buffer.compare)) {
      const path = Buffer.concat([at, Buffer.from('/'), name]);
      const key = prefix + name.toString('latin1');
      const stat = lstatSync(path);
      if (stat.isSymbolicLink()) out[key] = `link -> ${readlinkSync(path, { encoding: 'buffer' }).toString('latin1')}`;
      else if (stat.isDirectory()) {
        out[key] = 'dir';
        walk(path, `${key}/`);
      } else if (stat.isFile()) out[key] = `file ${stat.size} ${hashOf(path)}`;
      else out[key] = 'other';
    }
  };
  walk(Buffer.isBuffer(dir) ? dir : Buffer.from(dir), '');
  return out;
}

/** sha1 of a file's bytes, read in pieces (files past 2 GiB included). */
function hashOf(path: Buffer): string {
  const hash = createHash('sha1');
  const piece = Buffer.allocUnsafe(1 << 20);
  const fd = openSync(path, 'r');
  try {
    for (let n; (n = readSync(fd, piece, 0, piece.length, null)) > 0;) hash.update(piece.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/** Free blocks of the file system that holds `dir`: what a failed call must give back. */
export function freeBlocks(dir: string): number {
  return statfsSync(dir).bfree;
}

/**
 * A tmpfs of `size` (for example `'16m'`) with extra mount options, mounted on
 * a directory of its own (not inside a test's temp directory, which is removed
 * first), unmounted and removed after the test file. null where mounting is
 * not permitted (not root): those tests fall back or skip.
 */
export function mountTmpfs(name: string, size: string, options = ''): string | null {
  const point = mkdtempSync(join(tmpdir(), `memmap-${name}-`));
  const opts = [`size=${size}`, options].filter(Boolean).join(',');
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', point]).status !== 0) {
    rmdirSync(point);
    return null;
  }
  afterAll(() => {
    spawnSync('umount', ['-l', point]);
    rmdirSync(point);
  });
  return point;
}

/**
 * An ext4 file system of `sizeMiB` with `blockSize`-byte blocks, loop-mounted
 * from an image (1 KiB blocks, smaller than a page, are what mkfs gives
 * below 512 MB) and mkfs's `-O` `features`, unmounted and removed after the
 * test file. null where that is not possible (not root, no loop devices, no
 * mkfs.ext4): those tests skip.
 */
export function mountExt4(name: string, sizeMiB: number, blockSize: 1024 | 4096, features?: string): string | null {
  const options = features === undefined ? [] : ['-O', features];
  return mountImage(name, sizeMiB, ['mkfs.ext4', '-q', '-F', '-b', String(blockSize), ...options]);
}

/**
 * An XFS file system of `sizeMiB` (300 at least), with reflinks (mkfs's
 * default: `cp` makes reflinked copies there), as `mountExt4` mounts it.
 */
export function mountXfs(name: string, sizeMiB: number): string | null {
  return mountImage(name, sizeMiB, ['mkfs.xfs', '-q', '-f', '-m', 'reflink=1']);
}

function mountImage(name: string, sizeMiB: number, mkfs: string[]): string | null {
  const point = mkdtempSync(join(tmpdir(), `memmap-${name}-`));
  const image = `${point}.img`;
  const run = (command: string, args: string[]): boolean => spawnSync(command, args).status === 0;
  if (
    !run('truncate', ['-s', `${sizeMiB}M`, image]) ||
    !run(mkfs[0], [...mkfs.slice(1), image]) ||
    !run('mount', ['-o', 'loop', image, point])
  ) {
    spawnSync('rm', ['-f', image]);
    rmdirSync(point);
    return null;
  }
  afterAll(() => {
    spawnSync('umount', ['-l', point]);
    rmdirSync(point);
    spawnSync('rm', ['-f', image]);
  });
  return point;
}

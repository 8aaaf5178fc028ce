// The .npz targets (issue 17): a member of a 4 GiB archive mapped and read in
// under 100 us (numpy's np.load(...)['x'] reads the whole member), and the
// CRC-32 an r+ close stores again at 5 GB/s or more (zlib's crc32 over the
// same bytes for scale: numpy offers nothing to compare).
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const { openNpz, memmap } = require('../..');
const { quick, GiB, dir, py, seconds, paired, report } = require('../lib');

module.exports = async function npz() {
  // 1. openNpz + get + first element of one member of a 10-member archive.
  const total = quick ? GiB : 4 * GiB;
  const memberBytes = Math.floor(total / 10 / 4096) * 4096;
  const archivePath = path.join(dir, 'ten.npz');
  const members = {};
  for (let i = 0; i < 10; i++) members[`m${i}`] = { dtype: 'float32', shape: [memberBytes / 4] };
  openNpz(archivePath, { mode: 'w+', members }).close();
  const opens = quick ? 200 : 2000;
  const ours = () =>
    (seconds(() => {
      for (let i = 0; i < opens; i++) {
        const archive = openNpz(archivePath);
        archive.get('m5').get(0);
        archive.close();
      }
    }) /
      opens) *
    1e6;
  const numpy = () =>
    py(
      `
import sys, time, numpy as np
t = time.perf_counter()
with np.load(sys.argv[1]) as z:
    x = z['m5']
    x[0]
print((time.perf_counter() - t) * 1e6)`,
      archivePath,
    );
  ours(); // warm the JIT and the page cache of the directory
  report(
    `openNpz + get + first element, ${total / GiB} GiB archive of 10 members`,
    'us',
    "np.load(path)['x']",
    await paired(ours, numpy),
    '< 100 us',
    (_, median) => median < 100,
    `with close(); numpy reads the whole member; load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`,
  );

  // 2. r+ close after writing one element of a 1 GiB member: the CRC-32 of
  // the whole member, stored again (local header and central directory).
  const size = quick ? GiB / 4 : GiB;
  const crcPath = path.join(dir, 'crc.npz');
  {
    const archive = openNpz(crcPath, {
      mode: 'w+',
      members: { small: { dtype: 'int32', shape: [4] }, big: { dtype: 'uint8', shape: [size] } },
    });
    const big = archive.get('big');
    for (let at = 0; at < size; at += GiB / 4) big.slice(`${at}:${at + GiB / 4}`).data.fill(0x5a);
    archive.close();
  }
  let value = 0;
  const closeRate = () => {
    const archive = openNpz(crcPath, { mode: 'r+' });
    archive.get('big').set(12345, ++value % 256);
    return (seconds(() => archive.close()) / size) * 1e9; // ns per byte
  };
  const bytes = memmap(crcPath, { mode: 'r' });
  const zlibRate = () =>
    typeof zlib.crc32 === 'function'
      ? (seconds(() => zlib.crc32(bytes.data.subarray(0, size))) / size) * 1e9
      : py(
          `
import sys, time, zlib, mmap
f = open(sys.argv[1], 'rb'); m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
t = time.perf_counter(); zlib.crc32(memoryview(m)[:int(sys.argv[2])]); print((time.perf_counter() - t) / int(sys.argv[2]) * 1e9)`,
          crcPath,
          size,
        );
  closeRate();
  const rates = await paired(closeRate, zlibRate);
  const gbps = (nsPerByte) => 1 / nsPerByte;
  report(
    `r+ close after one write to a ${size / GiB} GiB member (CRC-32 stored again)`,
    'ns/B',
    'zlib crc32, same bytes',
    rates,
    '>= 5 GB/s (<= 0.2 ns/B)',
    (_, median) => gbps(median) >= 5,
    `${gbps([...rates.ours].sort((a, b) => a - b)[rates.ours.length >> 1]).toFixed(1)} GB/s; load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`,
  );
  bytes.close();
};

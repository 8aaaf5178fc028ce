// The float32 files the benchmarks read: values 0, 1, ..., 999, 0, 1, ...
// written in 64 MiB pieces and written back (fsync) before anything is timed,
// so that no flusher thread competes with the cases that follow.
const fs = require('node:fs');

/** Writes `bytes` bytes of float32 values `i % 1000` to `file`; returns `file`. */
function writeFloats(file, bytes) {
  const fd = fs.openSync(file, 'w');
  const piece = new Float32Array(16 << 20);
  for (let done = 0; done < bytes; done += piece.byteLength) {
    for (let i = 0; i < piece.length; i++) piece[i] = (done / 4 + i) % 1000;
    fs.writeSync(fd, piece, 0, Math.min(piece.byteLength, bytes - done));
  }
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  return file;
}

module.exports = { writeFloats };

/**
 * forEachRun (ts/shape.ts), the walk of a view's bytes in C order that the
 * in-heap block copies use (the native one is tested in memmap-core): every
 * range of strided, reversed and contiguous views against index arithmetic.
 */
import fc from 'fast-check';
import { forEachRun } from '../../ts/shape';

/** The bytes elements `first..first + count` occupy, one element at a time. */
function naive(offset: number, shape: number[], strides: number[], itemsize: number, first: number, count: number) {
  const out: number[] = [];
  for (let flat = first; flat < first + count; flat++) {
    let rest = flat;
    let at = offset;
    for (let axis = shape.length - 1; axis >= 0; axis--) {
      at += (rest % shape[axis]) * strides[axis];
      rest = Math.floor(rest / shape[axis]);
    }
    for (let b = 0; b < itemsize; b++) out.push(at + b);
  }
  return out;
}

test('the runs cover exactly the bytes of each element, in order', () => {
  const views: [number, number[], number[], number][] = [
    [0, [60], [4], 4],
    [0, [5, 12], [48, 4], 4],
    [4, [5, 6], [48, 8], 4],
    [236, [60], [-4], 4],
    [192, [5, 3, 4], [-48, 16, 4], 4],
    [3, [4, 1, 7], [50, 9, 3], 3],
    [0, [2, 1, 3], [12, 99, 4], 4],
    [10, [], [], 8],
  ];
  fc.assert(
    fc.property(fc.constantFrom(...views), fc.nat(), fc.nat(), ([offset, shape, strides, itemsize], a, b) => {
      const size = shape.reduce((x, y) => x * y, 1);
      const first = a % (size + 1);
      const count = b % (size - first + 1);
      const seen: number[] = [];
      let expectedDone = 0;
      forEachRun(offset, shape, strides, itemsize, first, count, (byte, done, bytes) => {
        expect(done).toBe(expectedDone);
        expectedDone += bytes;
        for (let k = 0; k < bytes; k++) seen.push(byte + k);
      });
      expect(seen).toEqual(naive(offset, shape, strides, itemsize, first, count));
    }),
    { numRuns: 500 },
  );
});

/** numpy basic-index parsing and slice arithmetic (pure: no native binary). */
import { applyIndex, parseIndex, resolveSlice } from '../../ts/indexing';

describe('parseIndex', () => {
  test('numpy spellings', () => {
    expect(parseIndex('1:, ::2')).toEqual([
      { kind: 'slice', start: 1, stop: null, step: null },
      { kind: 'slice', start: null, stop: null, step: 2 },
    ]);
    expect(parseIndex('-1, 1:3')).toEqual([
      { kind: 'integer', value: -1 },
      { kind: 'slice', start: 1, stop: 3, step: null },
    ]);
    expect(parseIndex('...')).toEqual([{ kind: 'ellipsis' }]);
    expect(parseIndex('None, 0,')).toEqual([{ kind: 'newaxis' }, { kind: 'integer', value: 0 }]);
    expect(parseIndex('')).toEqual([]);
    expect(parseIndex(3)).toEqual([{ kind: 'integer', value: 3 }]);
  });

  test.each(['a', '1:2:3:4', '::0', '1.5', '[0]', '..., ...'])('%j is refused with a coded error', (spec) => {
    expect(() => applyIndex(parseIndex(spec), { shape: [4, 4], strides: [16, 4], byteOffset: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_MEMMAP_INVALID_INDEX' }),
    );
  });

  test('out of range integers are RangeErrors naming the axis', () => {
    expect(() => applyIndex(parseIndex('0, 5'), { shape: [4, 4], strides: [16, 4], byteOffset: 0 })).toThrow(
      expect.objectContaining({
        code: 'ERR_MEMMAP_INDEX_OUT_OF_RANGE',
        name: 'RangeError',
        message: 'index 5 is out of bounds for axis 1 with size 4',
      }),
    );
  });

  // What numpy 2.4 gives for a[spec] of a length-5 array: slice bounds and steps of
  // any size clamp; an integer index that large is out of range.
  test.each([
    ['9007199254740992:', [5, 1, 0]],
    [':-9007199254740993', [0, 1, 0]],
    ['::9223372036854775807', [0, 1, 1]],
    ['::-9223372036854775808', [4, -1, 1]],
    ['-99999999999999999999999:3', [0, 1, 3]],
  ])('slice %j of 5 elements clamps as numpy does', (spec, expected) => {
    const geometry = applyIndex(parseIndex(spec), { shape: [5], strides: [1], byteOffset: 0 });
    const [start, , count] = expected;
    expect([geometry.shape[0], count === 0 ? null : geometry.byteOffset]).toEqual([count, count === 0 ? null : start]);
    if (count > 1) expect(Math.sign(geometry.strides[0])).toBe(Math.sign(expected[1]));
  });

  test('an integer index past 2^53 is out of range', () => {
    expect(() => parseIndex('9007199254740993')).toThrow(
      expect.objectContaining({ code: 'ERR_MEMMAP_INDEX_OUT_OF_RANGE' }),
    );
  });

  test("resolveSlice is Python's slice.indices", () => {
    expect(resolveSlice(null, null, -1, 5)).toEqual([4, -1, 5]);
    expect(resolveSlice(-100, 100, 2, 5)).toEqual([0, 2, 3]);
    expect(resolveSlice(3, 1, null, 5)).toEqual([3, 1, 0]);
  });
});

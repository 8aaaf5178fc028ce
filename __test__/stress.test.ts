/**
 * issue 11's state-machine test: random operation sequences in child
 * processes (the sequences are in stress.ts).
 */
import { tempDir } from './helpers';
import { stress } from './stress';

const dir = tempDir();

describe('random operation sequences in child processes: no signal, right or coded, the file as modelled', () => {
  test.each([
    [1, 2, 3, 4],
    [5, 6, 7, 8],
    [9, 10, 11, 12],
  ])('seeds %i, %i, %i, %i: 400 operations each', (...seeds) => {
    const { result, report } = stress(seeds, 400, dir);
    expect(result.signal).toBeNull();
    expect(result.stderr).toBe('');
    expect(report).toEqual(Object.fromEntries(seeds.map((seed) => [seed, []])));
  });
});

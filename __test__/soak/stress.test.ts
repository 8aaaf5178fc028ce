/** The state-machine test of stress.test.ts, longer: 48 sequences of 1500 operations. */
import { tempDir } from '../helpers';
import { stress } from '../stress';

const dir = tempDir();

test.each(Array.from({ length: 12 }, (_, k) => [100 + 4 * k, 101 + 4 * k, 102 + 4 * k, 103 + 4 * k]))(
  'seeds %i-%i-%i-%i: 1500 operations each, no signal, right or coded, the file as modelled',
  (...seeds) => {
    const { result, report } = stress(seeds, 1500, dir);
    expect(result.signal).toBeNull();
    expect(result.stderr).toBe('');
    expect(report).toEqual(Object.fromEntries(seeds.map((seed) => [seed, []])));
  },
);

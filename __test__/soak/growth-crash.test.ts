/**
 * The long variant of __test__/growth-crash.test.ts: 1000 SIGKILLs (CI's
 * npm test runs 200), and the concurrent readers again.
 */
process.env.MEMMAP_CRASH_ROUNDS ??= '1000';
// eslint-disable-next-line @typescript-eslint/no-require-imports
require('../growth-crash.test');

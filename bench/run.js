// memmap's benchmarks, each against its baseline in the same run: numpy
// (python3), C over mmap(2) compiled on the spot, an in-heap TypedArray, fs,
// or the named peer. Several rounds in alternating order; medians, min-max
// and the paired ratio, PASS/FAIL per target. Writes bench/results.md and
// bench/results.svg. Each file in bench/cases/ is one group of targets.
//
//   npm run bench                     the full run (tens of minutes; needs ~20 GB of free disk)
//   npm run bench -- --quick          a smoke test (smaller files, fewer rounds)
//   npm run bench -- --only analytics one group (bench/cases/analytics.js); results in bench/results-<group>.md
const fs = require('node:fs');
const path = require('node:path');
const { dir, results, writeReports } = require('./lib');

const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : null;
const groups = fs
  .readdirSync(path.join(__dirname, 'cases'))
  .filter((name) => name.endsWith('.js'))
  .map((name) => name.slice(0, -3))
  // core first, then the others by name: a stable order for the results table.
  .sort((a, b) => (a === 'core' ? -1 : b === 'core' ? 1 : a.localeCompare(b)))
  .filter((name) => only === null || name === only);

async function main() {
  if (groups.length === 0) throw new Error(`no bench group ${only}: see bench/cases/`);
  for (const group of groups) {
    console.log(`\n== ${group}`);
    await require(`./cases/${group}`)();
  }
  writeReports(only === null ? undefined : `results-${only}`);
  fs.rmSync(dir, { recursive: true, force: true });
  const failed = results.filter((r) => !r.pass).length;
  console.log(`\n${results.length - failed} targets passed, ${failed} failed`);
}

main().catch((error) => {
  console.error(error);
  fs.rmSync(dir, { recursive: true, force: true });
  process.exit(1);
});

/**
 * Fault injection into the real addon (issue 11, "How to make it stay
 * fixed"): each system call that `memmap()`, `openMemmap()`,
 * `fromDescriptor()`, `flush()` and `close()` make on the file fails in turn,
 * injected by `strace -e inject=` into a child process. A failed open must be
 * a coded error that leaves the directory listing and every file's bytes and
 * size as they were; an EINTR must be retried to the same result as a clean
 * run; a failed flush or close must be a coded error that a second flush
 * recovers from. The core's cargo tests inject every errno into every call
 * (fault_tests.rs); here each call fails once with the errno most like a real
 * failure of it, and in three scenarios once more with EINTR.
 *
 * strace's path filter (`-P`) limits tracing, and so injection, to calls on
 * the test's files (by path or by a descriptor of them), so Node's own calls
 * never fail. `msync` names no file: it is injected on its own (Node makes none).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { openMemmap } from '../ts/index';
import { snapshot } from './disk';
import { HAVE_NUMPY, HAVE_STRACE, nodeUnderStrace, PACKAGE, python, tempDir } from './helpers';

const dir = tempDir();
// strace is Linux's; CI installs it there (.ci/run, the workflow), so its absence fails.
if (!HAVE_STRACE && process.platform === 'linux' && process.env.CI)
  throw new Error('strace is required in CI (.ci/run installs it)');

/** The calls traced (and so injected): every call the core makes on a file. */
const TRACED = 'openat,statx,newfstatat,fstat,ftruncate,fallocate,lseek,pread64,pwrite64,mmap,fdatasync,close';
/** The errno each call fails with: the likeliest real failure of it. */
const ERRNO: Record<string, string> = {
  openat: 'EACCES',
  statx: 'EIO',
  newfstatat: 'EIO',
  fstat: 'EIO',
  ftruncate: 'EFBIG',
  fallocate: 'ENOSPC',
  lseek: 'EIO',
  pread64: 'EIO',
  pwrite64: 'ENOSPC',
  mmap: 'ENOMEM',
  msync: 'EIO',
  fdatasync: 'EIO',
  close: 'EIO',
};
const CODE: Record<string, string> = {
  EACCES: 'ERR_MEMMAP_PERMISSION_DENIED',
  ENOSPC: 'ERR_MEMMAP_NO_SPACE',
  EFBIG: 'ERR_MEMMAP_NO_SPACE',
  EIO: 'ERR_MEMMAP_IO',
  ENOMEM: 'ERR_MEMMAP_TOO_LARGE',
};

interface Scenario {
  name: string;
  /** Files to make in the scenario's directory. */
  prepare(at: string): void;
  /** Paths (under the directory) whose calls are traced. */
  paths: string[];
  /** JavaScript run in the child first, with `mm`, `fs`, `at` (the directory): never injected. */
  before?: string;
  /** Then the open. */
  open: string;
  /** Then, with `fp` the map: a flush, a close, a resize (retried once if it fails). */
  then?: string;
  /** The retry after `then` failed (default: a flush, which a failed flush needs). */
  retry?: string;
  /**
   * Whether each call is also interrupted (EINTR, retried to the same result):
   * for a few scenarios here, to keep the suite quick; fault_tests.rs
   * interrupts every call of every scenario.
   */
  interrupted?: boolean;
}

const pattern = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + 3) & 255));

const scenarios: Scenario[] = [
  {
    name: 'memmap w+ over a smaller file',
    prepare: (at) => writeFileSync(join(at, 'f'), pattern(10000)),
    paths: ['f'],
    open: `mm.memmap(at + '/f', { mode: 'w+', shape: [70000] })`,
  },
  {
    name: 'memmap w+ over a larger file',
    prepare: (at) => writeFileSync(join(at, 'f'), pattern(100000)),
    paths: ['f'],
    open: `mm.memmap(at + '/f', { mode: 'w+', shape: [30000], offset: 10 })`,
  },
  {
    name: 'memmap w+ over a sparse file',
    prepare: (at) => {
      writeFileSync(join(at, 'f'), pattern(8192));
      truncateSync(join(at, 'f'), 1 << 20);
    },
    paths: ['f'],
    open: `mm.memmap(at + '/f', { mode: 'w+', shape: [2 << 20] })`,
  },
  {
    name: 'memmap w+ of a new file',
    prepare: () => {},
    paths: ['f'],
    open: `mm.memmap(at + '/f', { mode: 'w+', shape: [20000] })`,
  },
  {
    name: 'memmap w+ through a dangling symlink',
    interrupted: true,
    prepare: (at) => symlinkSync('target', join(at, 'link')),
    paths: ['link', 'target'],
    open: `mm.memmap(at + '/link', { mode: 'w+', shape: [5000] })`,
  },
  {
    name: 'openMemmap w+ over a .npy file',
    interrupted: true,
    prepare: (at) => writeFileSync(join(at, 'f'), pattern(50000)),
    paths: ['f'],
    open: `mm.openMemmap(at + '/f', { mode: 'w+', dtype: 'f4', shape: [5000] })`,
  },
  {
    name: 'memmap r+ that grows the file',
    prepare: (at) => writeFileSync(join(at, 'f'), pattern(10000)),
    paths: ['f'],
    open: `mm.memmap(at + '/f', { mode: 'r+', shape: [50000], offset: 5000 })`,
  },
  {
    name: 'memmap w+ by descriptor',
    prepare: (at) => writeFileSync(join(at, 'f'), pattern(10000)),
    paths: ['f'],
    before: `const fd = fs.openSync(at + '/f', 'r+');`,
    open: `mm.memmap(fd, { mode: 'w+', shape: [30000] })`,
  },
  {
    name: 'fromDescriptor r+',
    prepare: (at) => writeFileSync(join(at, 'f'), pattern(10000)),
    paths: ['f'],
    before: `const base = mm.memmap(at + '/f', { mode: 'r' });
      const described = { ...base.slice('100:200').descriptor(), mode: 'r+' };
      base.close();`,
    open: `mm.memmap.fromDescriptor(described)`,
  },
  {
    name: 'memmap r+ that grows, written, flushed',
    interrupted: true,
    prepare: (at) => writeFileSync(join(at, 'f'), pattern(10000)),
    paths: ['f'],
    open: `mm.memmap(at + '/f', { mode: 'r+', shape: [30000] })`,
    then: `fp.set(29999, 7); fp.flush()`,
  },
  {
    name: 'memmap w+ new, written, closed',
    prepare: () => {},
    paths: ['f'],
    open: `mm.memmap(at + '/f', { mode: 'w+', shape: [30000] })`,
    then: `fp.set(29999, 7); fp.close()`,
  },
  {
    name: 'openMemmap r+ appended to with sync, then shrunk while a view is held',
    prepare: (at) => openMemmap(join(at, 'f'), { mode: 'w+', dtype: 'u1', shape: [1000] }).close(),
    paths: ['f'],
    open: `mm.openMemmap(at + '/f')`,
    // A failed append or resize changes nothing, so doing it again succeeds.
    then: `fp.append(new Uint8Array(5000).fill(9), { sync: true }); const v = fp.slice(':10'); v.get(0); fp.resize([3000])`,
    retry: `if (fp.shape[0] === 1000) fp.append(new Uint8Array(5000).fill(9), { sync: true }); fp.resize([3000])`,
  },
  {
    name: 'memmap r+ grown by resize',
    prepare: (at) => writeFileSync(join(at, 'f'), pattern(10000)),
    paths: ['f'],
    open: `mm.memmap(at + '/f', { mode: 'r+' })`,
    then: `fp.resize([1 << 20])`,
    retry: `fp.resize([1 << 20])`,
  },
];

/**
 * The child's script: what comes before (not injected), a marker, the open, a
 * marker, then the rest and a final close. The markers are stat calls on a
 * path of their own that the trace shows.
 */
function script(scenario: Scenario): string {
  return `
    const mm = require(${PACKAGE} + '/dist/index.js');
    const fs = require('fs');
    const at = process.argv[1];
    const mark = (name) => fs.statSync(at + '/' + name, { throwIfNoEntry: false });
    const out = {};
    const attempt = (f) => { try { f(); return 'ok'; } catch (e) { return e.code || 'uncoded: ' + e.message; } };
    ${scenario.before ?? ''}
    mark('start');
    let fp;
    out.open = attempt(() => { fp = ${scenario.open}; });
    mark('phase');
    if (fp && ${JSON.stringify(scenario.then ?? '')}) {
      out.then = attempt(() => { ${scenario.then ?? ''} });
      // A failed flush leaves the pages dirty: a second one writes them. (A
      // failed close has closed the map all the same: nothing to retry.)
      if (out.then !== 'ok') out.retry = attempt(() => { ${scenario.retry ?? 'fp.closed || fp.flush()'} });
      out.close = attempt(() => fp.close());
    }
    console.log(JSON.stringify(out));`;
}

interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  out: { open: string; then?: string; retry?: string; close?: string };
  stderr: string;
  /** The traced calls, in order (syscall name and the path or descriptor they name). */
  calls: string[];
}

function run(scenario: Scenario, at: string, inject: string[]): Run {
  const log = join(dir, 'trace.log');
  const paths = [...scenario.paths, 'start', 'phase'].flatMap((p) => ['-P', join(at, p)]);
  const result = spawnSync(
    'strace',
    [
      '-f',
      '-qq',
      '-o',
      log,
      '-e',
      `trace=${TRACED}`,
      ...paths,
      ...inject,
      process.execPath,
      '-e',
      script(scenario),
      at,
    ],
    { encoding: 'utf8', timeout: 30000 },
  );
  const trace = spawnSync('cat', [log], { encoding: 'utf8' }).stdout;
  const calls = trace
    .split('\n')
    .map((line) => /^\d+\s+(\w+)\((.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => {
      const marker = /\/(start|phase)"/.exec(m[2]);
      const commit = /FALLOC_FL_(ZERO_RANGE|PUNCH_HOLE)/.test(m[2]);
      // Blocks reserved past the end of the file (after the open: an append's reservation ahead).
      const ahead = /^\d+, FALLOC_FL_KEEP_SIZE,/.test(m[2]);
      return `${m[1]}${marker ? ` ${marker[1]}` : commit ? ' commit' : ahead ? ' ahead' : ''}`;
    });
  let out = { open: 'no output' };
  try {
    out = JSON.parse(result.stdout);
  } catch {
    // left as 'no output': the assertions below say what the child printed
  }
  return { status: result.status, signal: result.signal, out, stderr: result.stderr, calls };
}

(HAVE_STRACE ? describe : describe.skip).each(scenarios)('$name', (scenario) => {
  const at = join(dir, scenario.name.replace(/\W+/g, '-'));
  const fresh = (): void => {
    rmSync(at, { recursive: true, force: true });
    mkdirSync(at);
    scenario.prepare(at);
  };

  test('every call on the file fails in turn: a coded error, nothing changed (or recovered)', () => {
    fresh();
    const clean = run(scenario, at, []);
    expect(clean.out.open).toBe('ok');
    if (scenario.then) expect([clean.out.then, clean.out.close]).toEqual(['ok', 'ok']);
    const succeeded = snapshot(at);
    const start = clean.calls.indexOf('statx start');
    const phase = clean.calls.indexOf('statx phase');
    // w+ by path gives up the old contents when the zeroing succeeds.
    const commit = clean.calls.findIndex((call, index) => index < phase && call.endsWith(' commit'));
    expect(phase).toBeGreaterThan(start + 1);
    // The n-th call of each name is injected with strace's when=n.
    const seen: Record<string, number> = {};
    const cases = clean.calls.map((call, index) => {
      const name = call.split(' ')[0];
      seen[name] = (seen[name] ?? 0) + 1;
      return { index, name, nth: seen[name], ahead: index > phase && call.endsWith(' ahead') };
    });
    let injected = 0;
    for (const { index, name, nth, ahead } of cases) {
      if (index <= start || index === phase) continue;
      if (ahead) {
        // An append's reservation ahead is best effort: the append goes on
        // without it (its pwrite reserves the rows' blocks), as if it had
        // not been made.
        fresh();
        const result = run(scenario, at, ['-e', `inject=${name}:error=ENOSPC:when=${nth}`]);
        const what = `${name} #${nth} (ahead) failing with ENOSPC: ${result.stderr}`;
        injected++;
        expect({ what, out: result.out }).toEqual({ what, out: clean.out });
        expect({ what, files: snapshot(at) }).toEqual({ what, files: succeeded });
        continue;
      }
      for (const errno of scenario.interrupted ? [ERRNO[name], 'EINTR'] : [ERRNO[name]]) {
        fresh();
        const before = snapshot(at);
        const result = run(scenario, at, ['-e', `inject=${name}:error=${errno}:when=${nth}`]);
        const what = `${name} #${nth} failing with ${errno}: ${JSON.stringify(result.out)} ${result.stderr}`;
        injected++;
        expect({ what, signal: result.signal, status: result.status }).toEqual({ what, signal: null, status: 0 });
        if (errno === 'EINTR') {
          expect({ what, out: result.out }).toEqual({ what, out: clean.out });
          expect({ what, files: snapshot(at) }).toEqual({ what, files: succeeded });
        } else if (index < phase) {
          // A read-only descriptor closed at the end of an open loses nothing if close fails.
          if (result.out.open === 'ok' && name === 'close') continue;
          expect({ what, code: result.out.open }).toEqual({ what, code: CODE[errno] });
          if (commit >= 0 && index > commit) givenUp(at, succeeded);
          else expect({ what, files: snapshot(at) }).toEqual({ what, files: before });
        } else if (!scenario.then) {
          // The descriptor of a map released at exit, when nothing is left to lose.
          expect({ what, out: result.out.open }).toEqual({ what, out: 'ok' });
          expect({ what, files: snapshot(at) }).toEqual({ what, files: succeeded });
        } else {
          const failed = [result.out.then, result.out.close].find((step) => step !== 'ok');
          expect({ what, code: failed }).toEqual({ what, code: CODE[errno] });
          if (result.out.then !== 'ok') expect({ what, retry: result.out.retry }).toEqual({ what, retry: 'ok' });
          expect({ what, files: snapshot(at) }).toEqual({ what, files: succeeded });
        }
      }
    }
    expect(injected).toBeGreaterThanOrEqual(3);
  }, 120000);
});

/**
 * Past the point of no return of a w+ by path (a call after the zeroing
 * failed: only a failing disk can make them fail): the data reads as zeros
 * (after a header of at most 128 bytes, up to the size a clean run gives).
 */
function givenUp(at: string, succeeded: Record<string, string>): void {
  for (const [name, what] of Object.entries(succeeded)) {
    const size = Number(what.split(' ')[1]);
    const bytes = readFileSync(join(at, name));
    expect(bytes.subarray(128, Math.min(size, bytes.length)).every((b) => b === 0)).toBe(true);
  }
}

(HAVE_STRACE ? test : test.skip)(
  'msync fails during flush(): ERR_MEMMAP_IO, and the next flush writes the data',
  () => {
    const scenario = scenarios.find((s) => s.name === 'memmap r+ that grows, written, flushed') as Scenario;
    const at = join(dir, 'msync');
    rmSync(at, { recursive: true, force: true });
    mkdirSync(at);
    scenario.prepare(at);
    // msync names no file, so it is injected without the path filter (Node makes no msync of its own).
    const result = nodeUnderStrace(['-e', 'inject=msync:error=EIO:when=1'], script(scenario), [at], 30000);
    expect(result.signal).toBeNull();
    expect(JSON.parse(result.stdout)).toEqual({ open: 'ok', then: 'ERR_MEMMAP_IO', retry: 'ok', close: 'ok' });
  },
);

(HAVE_STRACE && HAVE_NUMPY ? test : test.skip)(
  'kill -9 at each call of openMemmap w+ over an old .npy: numpy reads the old array, zeros, or refuses; never a new header over old bytes',
  () => {
    const at = join(dir, 'kill-npy');
    rmSync(at, { recursive: true, force: true });
    mkdirSync(at);
    const path = join(at, 'old.npy');
    const outcomes = new Set<string>();
    // fallocate (the zeroing), ftruncate (the size) and pwrite64 (the
    // header), each killed at its first and second call under the path.
    for (const call of ['fallocate', 'ftruncate', 'pwrite64']) {
      for (const when of [1, 2]) {
        python(`import numpy as np; np.save(${JSON.stringify(path)}, np.arange(1, 1501, dtype='<f8'))`);
        const result = nodeUnderStrace(
          ['-P', path, '-e', `inject=${call}:signal=SIGKILL:when=${when}`],
          `require(${PACKAGE} + '/dist/index.js').openMemmap(${JSON.stringify(path)}, { mode: 'w+', dtype: '<f4', shape: [3, 1000] }).close()`,
          [],
          60000,
        );
        expect(result.status === 0 || result.status === 137 || result.signal === 'SIGKILL').toBe(true);
        const seen = python(
          `import numpy as np
try:
    a = np.load(${JSON.stringify(path)})
except Exception as e:
    print('refused')
else:
    old = a.dtype == np.dtype('<f8') and a.shape == (1500,)
    new = a.dtype == np.dtype('<f4') and a.shape == (3, 1000)
    if old and (a == np.arange(1, 1501)).all(): print('old')
    elif (old or new) and not a.any(): print('zeros')
    else: print('garbage', a.dtype, a.shape, int((a != 0).sum()))`,
        ).trim();
        outcomes.add(seen);
        expect([call, when, seen]).toEqual([call, when, expect.stringMatching(/^(old|zeros|refused)$/)]);
      }
    }
    // The kills landed at different moments: more than one outcome was seen.
    expect(outcomes.size).toBeGreaterThan(1);
  },
);

/** Shared by the tests: temp dirs, numpy as the oracle, child processes. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..');
export const FIXTURES = join(__dirname, 'fixtures');

/** A fresh directory, removed after the test file. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'memmap-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const probe = spawnSync('python3', ['-c', 'import numpy; print(numpy.__version__)'], { encoding: 'utf8' });
/** Whether numpy imports here. CI sets MEMMAP_REQUIRE_NUMPY=1 so that its absence fails. */
export const HAVE_NUMPY = probe.status === 0;
if (!HAVE_NUMPY && process.env.MEMMAP_REQUIRE_NUMPY === '1') {
  throw new Error(`numpy is required (MEMMAP_REQUIRE_NUMPY=1) but does not import: ${probe.stderr}`);
}
/** `describe` for live numpy round trips: skipped only where numpy is absent and not required. */
export const describeNumpy = HAVE_NUMPY ? describe : describe.skip;

/** Runs Python with the helpers of scripts/numpy_json.py importable; returns stdout. */
export function python(code: string, ...args: string[]): string {
  const result = spawnSync('python3', ['-c', code, ...args], {
    encoding: 'utf8',
    env: { ...process.env, PYTHONPATH: join(ROOT, 'scripts') },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`python failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

/** Runs Python and parses its stdout as JSON. */
export function pythonJson<T = unknown>(code: string, ...args: string[]): T {
  return JSON.parse(python(code, ...args)) as T;
}

/** JSON form of memmap values, the same as numpy_json.to_json's. */
export function toJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Array.from(value);
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 2 && keys[0] === 're' && keys[1] === 'im') {
      const c = value as { re: number; im: number };
      return [c.re, c.im];
    }
    // A record: each field's value in the same JSON form.
    return Object.fromEntries(keys.map((key) => [key, toJson((value as Record<string, unknown>)[key])]));
  }
  return value;
}

/** Runs a Node script in a child process (so a crash is a failure, not the end of jest). */
export function runNode(
  script: string,
  options: { args?: string[]; env?: Record<string, string>; timeout?: number } = {},
) {
  return spawnSync(process.execPath, [...(options.args ?? []), '-e', script], {
    encoding: 'utf8',
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    // Generous: a child's verdict is what it prints, never how fast it ran.
    timeout: options.timeout ?? 300000,
  });
}

/** Whether strace can run here (Linux, installed): the fault-injection tests need it. */
export const HAVE_STRACE = process.platform === 'linux' && spawnSync('strace', ['-V']).status === 0;

/**
 * Runs a Node script under `strace -f` with `straceArgs` (`-e inject=...`,
 * `-e trace=...`), its trace discarded, and `args` after the script.
 */
export function nodeUnderStrace(straceArgs: string[], script: string, args: string[] = [], timeout?: number) {
  return spawnSync('strace', ['-f', '-qq', '-o', '/dev/null', ...straceArgs, process.execPath, '-e', script, ...args], {
    encoding: 'utf8',
    ...(timeout === undefined ? {} : { timeout }),
  });
}

/** The compiled package, for child processes (npm test builds it first). */
export const PACKAGE = JSON.stringify(ROOT);

/**
 * ARCHITECTURE.md's invariants that a program can check: the import graph of
 * ts/ has no cycles, only ts/storage.ts calls the binding, the pure modules
 * reach no binding, memmap-core knows no napi, and every source file is named
 * in the codemap.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
const TS = join(ROOT, 'ts');

function files(dir: string, ext: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path, ext) : name.endsWith(ext) ? [path] : [];
  });
}

/** The modules a module imports at run time (`import type` and `export type` are erased). */
function runtimeImports(path: string): string[] {
  const source = readFileSync(path, 'utf8');
  const out: string[] = [];
  for (const match of source.matchAll(/^(?:import|export)\s+(type\s+)?[^;]*?from\s+'(\.[^']+)'/gm)) {
    if (match[1]) continue;
    let target = resolve(dirname(path), match[2]);
    try {
      if (statSync(target).isDirectory()) target = join(target, 'index');
    } catch {
      // a file
    }
    out.push(`${target}.ts`);
  }
  return out;
}

const modules = files(TS, '.ts');
const graph = new Map(modules.map((m) => [m, runtimeImports(m)]));
const name = (m: string) => relative(ROOT, m);

test('every import resolves to a module', () => {
  for (const [from, targets] of graph)
    for (const to of targets) expect([name(from), graph.has(to)]).toEqual([name(from), true]);
});

test('the import graph of ts/ has no cycles', () => {
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (m: string, path: string[]) => {
    if (state.get(m) === 'done') return;
    if (state.get(m) === 'open') {
      cycles.push([...path.slice(path.indexOf(m)), m].map(name).join(' -> '));
      return;
    }
    state.set(m, 'open');
    for (const next of graph.get(m) ?? []) visit(next, [...path, m]);
    state.set(m, 'done');
  };
  for (const m of modules) visit(m, []);
  expect(cycles).toEqual([]);
});

test('only ts/storage.ts calls the binding (ts/binding.ts loads it)', () => {
  const callers = modules.filter((m) => graph.get(m)!.some((to) => to.endsWith('/ts/binding.ts')));
  expect(callers.map(name)).toEqual(['ts/storage.ts']);
});

test('the pure modules reach neither the binding nor a storage', () => {
  const pure = [
    'shape',
    'indexing',
    'pyliteral',
    'format',
    'float16',
    'errors',
    'broadcast',
    'npyformat',
    'zip',
    'dtype/index',
  ];
  for (const start of pure) {
    const seen = new Set<string>();
    const walk = (m: string) => {
      if (seen.has(m)) return;
      seen.add(m);
      graph.get(m)?.forEach(walk);
    };
    walk(join(TS, `${start}.ts`));
    const impure = [...seen].filter((m) => /\/ts\/(binding|storage|libc)\.ts$/.test(m)).map(name);
    expect([start, impure]).toEqual([start, []]);
  }
});

test('memmap-core knows nothing of napi; memmap-node is the only crate that does', () => {
  const core = readFileSync(join(ROOT, 'crates/memmap-core/Cargo.toml'), 'utf8');
  expect(core).not.toMatch(/napi/);
  for (const path of files(join(ROOT, 'crates/memmap-core/src'), '.rs'))
    expect([name(path), /\bnapi\b/.test(readFileSync(path, 'utf8'))]).toEqual([name(path), false]);
});

test('ARCHITECTURE.md names every TypeScript module and Rust source file', () => {
  const architecture = readFileSync(join(ROOT, 'ARCHITECTURE.md'), 'utf8');
  const sources = [...modules, ...files(join(ROOT, 'crates'), '.rs')].map(name);
  const missing = sources.filter((path) => {
    // The full path, or the file's name in backquotes in its directory's row.
    return !architecture.includes(path) && !architecture.includes(`\`${path.split('/').pop()}\``);
  });
  expect(missing).toEqual([]);
});

/**
 * The types, tested by the compiler: the type tests in __test__/types/ (what
 * must compile and what must not) under the strictest options; the
 * type-level dtype table against the runtime parser, spelling by spelling;
 * README's TypeScript examples in a strict consumer project against the
 * published dist/index.d.ts; and that .d.ts holding nothing internal.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ts from 'typescript';
import { DTYPE_ROWS, parseDType, TIME_UNITS } from '../ts/dtype';
import { CHAR_CODES, NAME_CODES } from '../ts/dtype/parse';
import { ERROR_CLASSES, memmap, openMemmap } from '../ts/index';
import { ROOT, tempDir } from './helpers';

/** What a strict consumer turns on beyond `strict`. */
const STRICTEST: ts.CompilerOptions = {
  strict: true,
  noUncheckedIndexedAccess: true,
  exactOptionalPropertyTypes: true,
  noImplicitOverride: true,
  noEmit: true,
  skipLibCheck: false,
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2022.d.ts', 'lib.esnext.disposable.d.ts'],
  types: ['node'],
  typeRoots: [join(ROOT, 'node_modules', '@types')],
};

/**
 * Compiles `files`; returns each diagnostic in them as `file:line: message`.
 * (The library's own sources are compiled with its tsconfig by `npm run
 * lint`; what is tested here is how its types look from these files.)
 */
function compile(files: string[], options: ts.CompilerOptions): string[] {
  const program = ts.createProgram(files, options);
  const diagnostics = [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...files.flatMap((f) => [
      ...program.getSyntacticDiagnostics(program.getSourceFile(f)),
      ...program.getSemanticDiagnostics(program.getSourceFile(f)),
    ]),
  ];
  return diagnostics.map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (d.file === undefined || d.start === undefined) return text;
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    return `${d.file.fileName.replace(ROOT, '.')}:${line + 1}: ${text}`;
  });
}

const dir = tempDir();

test('the type tests compile under strict, noUncheckedIndexedAccess and exactOptionalPropertyTypes', () => {
  const folder = join(__dirname, 'types');
  const files = readdirSync(folder)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(folder, f));
  expect(files.length).toBeGreaterThanOrEqual(3);
  expect(
    compile(files, { ...STRICTEST, module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10 }),
  ).toEqual([]);
});

describe('the type-level dtype table agrees with the runtime, spelling by spelling', () => {
  // Every string the runtime might be asked: numpy's names and characters with
  // every prefix and size, counts, units, and near misses.
  const prefixes = ['', '<', '>', '=', '|'];
  const letters = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ?'];
  const sizes = ['', '0', '1', '2', '3', '4', '8', '16', '05'];
  const counts = ['1', '5', '05', '10', '0', '00', '-1', '1.5', 'x', ''];
  // Multiples too: numpy's '10s', '010s' and '+10s' are one dtype, '1s' is 's', '0s' is refused here.
  const multiples = ['1', '10', '010', '+10', '0', '-2', '2147483647', '2147483648', '1.5'];
  const units = [
    ...TIME_UNITS,
    ...multiples.flatMap((n) => ['s', 'ms', 'M', 'W'].map((unit) => `${n}${unit}`)),
    '10',
    '10xs',
    'xs',
    'Ms',
    '',
  ];
  const candidates = new Set<string>();
  for (const prefix of prefixes) {
    for (const name of Object.keys(NAME_CODES)) candidates.add(`${prefix}${name}`);
    for (const letter of letters) for (const size of sizes) candidates.add(`${prefix}${letter}${size}`);
    for (const kind of 'SaUV') for (const count of counts) candidates.add(`${prefix}${kind}${count}`);
    for (const kind of 'Mm') for (const unit of units) candidates.add(`${prefix}${kind}8[${unit}]`);
    for (const name of ['datetime64', 'timedelta64']) {
      candidates.add(`${prefix}${name}`);
      for (const unit of units) candidates.add(`${prefix}${name}[${unit}]`);
    }
  }
  for (const near of ['flaot32', 'Float32', 'float', 'float128', 'int', 'uint', 'bool8', 'f4 ', ' f4', 'M8', 'S'])
    candidates.add(near);

  type Runtime = { str: string; kind: string; data: string; value: string } | null;
  const runtime = (spelling: string): Runtime => {
    let dtype;
    try {
      dtype = parseDType(spelling);
    } catch {
      return null;
    }
    const { row } = dtype;
    // One zero element, read as get() reads it.
    const sample = row.codec.laneAccess(new row.TypedArray(Math.max(2, row.lanes)), row).read(0);
    const value =
      sample instanceof Uint8Array
        ? 'Uint8Array'
        : typeof sample === 'object' && sample !== null
          ? 'complex'
          : typeof sample;
    return { str: dtype.str, kind: row.kind, data: dtype.native ? row.TypedArray.name : 'none', value };
  };

  test('every candidate: accepted by both or refused by both; tag, kind, data and value types as at run time', () => {
    const lines = [
      `import type { Complex } from ${JSON.stringify(join(ROOT, 'ts', 'dtype', 'dtype'))};`,
      `import type { DataOf, ElementOf, KindOf, SpellingTag } from ${JSON.stringify(join(ROOT, 'ts', 'dtype', 'types'))};`,
      'type Accepts<S extends string> = [SpellingTag<S>] extends [never] ? false : true;',
      "type DataName<T> = [DataOf<T>] extends [never] ? 'none' : DataOf<T>[typeof Symbol.toStringTag];",
      'type ValueName<T> = ElementOf<T> extends boolean ? "boolean" : ElementOf<T> extends number ? "number" : ElementOf<T> extends bigint ? "bigint" : ElementOf<T> extends string ? "string" : ElementOf<T> extends Uint8Array ? "Uint8Array" : ElementOf<T> extends Complex ? "complex" : never;',
      'declare function accepts<S extends string>(accepted: Accepts<S>): void;',
      'declare function facts<S extends string>(tag: SpellingTag<S>, kind: KindOf<SpellingTag<S>>, data: DataName<SpellingTag<S>>, value: ValueName<SpellingTag<S>>): void;',
    ];
    const header = lines.length;
    const spellings = [...candidates];
    let accepted = 0;
    for (const spelling of spellings) {
      const facts = runtime(spelling);
      const s = JSON.stringify(spelling);
      if (facts === null) lines.push(`accepts<${s}>(false);`);
      else {
        accepted++;
        const args = [facts.str, facts.kind, facts.data, facts.value].map((a) => JSON.stringify(a)).join(', ');
        lines.push(`accepts<${s}>(true); facts<${s}>(${args});`);
      }
    }
    // The net must catch both: some of each.
    expect(accepted).toBeGreaterThan(400);
    expect(spellings.length - accepted).toBeGreaterThan(1000);
    const file = join(dir, 'spellings.ts');
    writeFileSync(file, lines.join('\n'));
    const problems = compile([file], { ...STRICTEST, module: ts.ModuleKind.CommonJS }).map((message) => {
      const line = Number(/:(\d+):/.exec(message)?.[1] ?? 0);
      const spelling = spellings[line - header - 1];
      return `${JSON.stringify(spelling)} (runtime: ${JSON.stringify(runtime(spelling ?? ''))}): ${message.split(': ').slice(1).join(': ')}`;
    });
    expect(problems).toEqual([]);
  });

  test('the tables the types mirror are what the compiler checked', () => {
    // The compile-time checks (satisfies NumericTypes / NameCodes / CharCodes) cover names and
    // rows; these pin the sizes, so an emptied table cannot pass them vacuously.
    expect(Object.keys(DTYPE_ROWS)).toHaveLength(14);
    expect(Object.keys(NAME_CODES)).toHaveLength(36);
    expect(Object.keys(CHAR_CODES)).toHaveLength(18);
    expect(TIME_UNITS).toHaveLength(13);
  });
});

/** README's ```ts blocks, each a module of a strict consumer project that imports 'memmap'. */
function readmeBlocks(): { name: string; code: string }[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  return [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m, i) => ({ name: `readme-${i + 1}.ts`, code: m[1] }));
}

describe('the published types', () => {
  const published = join(ROOT, 'dist', 'index.d.ts');

  test('README’s TypeScript examples compile in a strict consumer, with no casts', () => {
    expect(existsSync(published)).toBe(true); // npm test builds it first (pretest)
    const blocks = readmeBlocks();
    expect(blocks.length).toBeGreaterThanOrEqual(6);
    const project = join(dir, 'consumer');
    mkdirSync(project, { recursive: true });
    const files = blocks.map(({ name, code }) => {
      // A block names what it uses; the few names a block takes from its surroundings
      // (a worker, a file's path) are declared here, as a reader would have them.
      const prelude = [
        /^import /m.test(code) ? '' : "import { memmap, openMemmap } from 'memmap';",
        'declare const worker: import("node:worker_threads").Worker;',
        'declare const workerData: any;',
        'export {};',
      ];
      const file = join(project, name);
      writeFileSync(file, `${prelude.join('\n')}\n${code}`);
      return file;
    });
    const casts = blocks.filter(({ code }) => /\bas [A-Z]\w*(?:Array|<)|<[A-Z]\w*>\s*\w/.test(code));
    expect(casts.map((b) => b.name)).toEqual([]);
    const problems = compile(files, {
      ...STRICTEST,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      noUnusedLocals: false,
      paths: { memmap: [published] },
      baseUrl: project,
    });
    expect(problems).toEqual([]);
  });

  test('dist/index.d.ts declares nothing internal: no class, interface, function or value that is not exported', () => {
    const source = ts.createSourceFile(published, readFileSync(published, 'utf8'), ts.ScriptTarget.ES2022, true);
    const exported = new Set<string>();
    const declared: { name: string; kind: string }[] = [];
    for (const statement of source.statements) {
      if (ts.isExportDeclaration(statement) && statement.exportClause && ts.isNamedExports(statement.exportClause))
        for (const e of statement.exportClause.elements) exported.add(e.name.text);
      const isExported = (ts.canHaveModifiers(statement) ? (ts.getModifiers(statement) ?? []) : []).some(
        (m) => m.kind === ts.SyntaxKind.ExportKeyword,
      );
      const named = statement as ts.Statement & { name?: ts.Identifier };
      if (ts.isVariableStatement(statement)) {
        for (const d of statement.declarationList.declarations)
          declared.push({ name: d.name.getText(), kind: isExported ? 'exported' : 'variable' });
      } else if (named.name !== undefined) {
        const kind = isExported ? 'exported' : ts.SyntaxKind[statement.kind];
        declared.push({ name: named.name.text, kind });
      }
    }
    const internal = declared.filter(
      (d) => d.kind !== 'exported' && d.kind !== 'TypeAliasDeclaration' && !exported.has(d.name),
    );
    expect(internal).toEqual([]);
    const text = readFileSync(published, 'utf8');
    for (const name of ['Accessor', 'FileStorage', 'HeapStorage', 'Storage', 'Codec', 'DTypeRow', 'LaneAccess']) {
      expect([name, new RegExp(`\\b${name}\\b`).test(text)]).toEqual([name, false]);
    }
    // No constructor (arrays are made by memmap(), openMemmap() and views) and no @internal member.
    expect(text).not.toMatch(/constructor\(|notCloneable|_derive\(|_release\(|_reprName\(|readonly row\b/);
  });
});

test('the public names keep their runtime shapes', () => {
  expect([typeof memmap, typeof memmap.fromDescriptor, typeof openMemmap]).toEqual([
    'function',
    'function',
    'function',
  ]);
  expect(ERROR_CLASSES.ERR_NPY_DTYPE_MISMATCH).toBe(TypeError);
  expect(ERROR_CLASSES.ERR_NPY_SHAPE_MISMATCH).toBe(RangeError);
});

/**
 * The release, rehearsed locally: `npm pack` the root package and the
 * linux-x64-gnu platform package, install both into an empty project with no
 * Rust on PATH and no registry, then require() and import the package, open a
 * memmap and check values. Prints the tarball and binary sizes.
 */
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { ROOT, tempDir } from './helpers';

const platformDir = process.platform === 'linux' && process.arch === 'x64' ? 'linux-x64-gnu' : null;
const describeRelease =
  platformDir && existsSync(join(ROOT, 'native', `memmap.${platformDir}.node`)) ? describe : describe.skip;

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: 180000 });
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

describeRelease('release rehearsal', () => {
  const work = tempDir();
  let rootTarball = '';
  let platformTarball = '';

  beforeAll(() => {
    // The root tarball, from the files list in package.json (dist built by pretest).
    const packed = JSON.parse(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT));
    rootTarball = join(work, packed[0].filename);
    // The platform package, with the binary napi built.
    const staged = join(work, 'platform');
    cpSync(join(ROOT, 'npm', platformDir!), staged, { recursive: true });
    copyFileSync(join(ROOT, 'native', `memmap.${platformDir}.node`), join(staged, `memmap.${platformDir}.node`));
    const packedPlatform = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], staged));
    platformTarball = join(work, packedPlatform[0].filename);
    const rootSize = statSync(rootTarball).size;
    const platformSize = statSync(platformTarball).size;
    const binarySize = statSync(join(staged, `memmap.${platformDir}.node`)).size;
    process.stdout.write(
      `release sizes: root tarball ${rootSize} B, platform tarball ${platformSize} B, binary ${binarySize} B\n`,
    );
    (globalThis as Record<string, unknown>).releaseSizes = { rootSize, platformSize, binarySize };
  });

  test('the root tarball holds only what users need', () => {
    const listed = JSON.parse(run('npm', ['pack', '--ignore-scripts', '--dry-run', '--json'], ROOT))[0].files.map(
      (f: { path: string }) => f.path,
    ) as string[];
    expect(listed).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'LICENSE',
        'CHANGELOG.md',
        'dist/index.js',
        'dist/index.mjs',
        'dist/index.d.ts',
        'native/index.js',
      ]),
    );
    expect(listed.filter((f) => /^(ts|crates|__test__|scripts|bench|examples)\/|\.node$|\.rs$|\.map$/.test(f))).toEqual(
      [],
    );
  });

  test('installs offline with no Rust on PATH; require() and import both work and read a memmap', () => {
    const project = join(work, 'app');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    const env = {
      PATH: [dirname(process.execPath), '/usr/bin', '/bin'].join(':'),
      HOME: project,
      npm_config_cache: join(work, 'npm-cache'),
      npm_config_registry: 'http://127.0.0.1:9/', // no registry: only the local tarballs can be installed
    };
    expect(spawnSync('cargo', ['--version'], { env }).error).toBeDefined(); // really no Rust
    run(
      process.execPath,
      [
        join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'),
        'install',
        '--offline',
        '--no-audit',
        '--no-fund',
        rootTarball,
        platformTarball,
      ],
      project,
      env,
    );
    expect(
      readdirSync(join(project, 'node_modules'))
        .filter((name) => !name.startsWith('.'))
        .sort(),
    ).toEqual(['memmap', `memmap-${platformDir}`]);
    const data = join(project, 'data.f32');
    const cjs = run(
      process.execPath,
      [
        '-e',
        `
      const { memmap } = require('memmap');
      const fp = memmap(${JSON.stringify(data)}, { dtype: 'float32', mode: 'w+', shape: [2, 3] });
      fp.assign([[1, 2, 3], [4, 5, 6]]); fp.close();
      const again = memmap(${JSON.stringify(data)}, { dtype: 'float32', mode: 'r', shape: [2, 3] });
      console.log(JSON.stringify(again.toArray())); again.close();`,
      ],
      project,
      env,
    );
    expect(JSON.parse(cjs)).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const esm = run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `
      import { memmap, Memmap } from 'memmap';
      import cjs from 'memmap';
      const fp = memmap(${JSON.stringify(data)}, { dtype: 'float32', mode: 'r' });
      console.log(JSON.stringify({ sum: [...fp].reduce((a, b) => a + b, 0), same: fp instanceof cjs.Memmap && Memmap === cjs.Memmap }));
      fp.close();`,
      ],
      project,
      env,
    );
    expect(JSON.parse(esm)).toEqual({ sum: 21, same: true });
    // A strict TypeScript consumer compiles against the shipped types.
    writeFileSync(
      join(project, 'use.ts'),
      `import { memmap, Memmap } from 'memmap';\nconst fp: Memmap = memmap('x', { dtype: 'float32', mode: 'r' });\nconst n: number = fp.size;\nexport { n };\n`,
    );
    run(
      process.execPath,
      [
        join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
        '--strict',
        '--noEmit',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--types',
        'node',
        '--typeRoots',
        join(ROOT, 'node_modules', '@types'),
        'use.ts',
      ],
      project,
      env,
    );
  });
});

describe('the loader when no binary fits', () => {
  const work = tempDir();
  /** Loads a copy of the package with no binary beside it and no platform package; returns the error. */
  function loadError(pkg: string) {
    const result = spawnSync(
      process.execPath,
      [
        '-e',
        `
      try { require(${JSON.stringify(join(pkg, 'dist', 'index.js'))}); console.log('loaded?!'); }
      catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message, cause: String(e.cause && (e.cause.message || e.cause)) })); }`,
      ],
      { encoding: 'utf8', cwd: work },
    );
    return JSON.parse(result.stdout) as { code: string; message: string; cause: string };
  }

  test('names the optional package npm skipped and how to install it, as it works from an installed package', () => {
    const pkg = join(work, 'node_modules', 'memmap');
    mkdirSync(join(pkg, 'native'), { recursive: true });
    cpSync(join(ROOT, 'dist'), join(pkg, 'dist'), { recursive: true });
    copyFileSync(join(ROOT, 'native', 'index.js'), join(pkg, 'native', 'index.js')); // no .node beside it, no platform package
    copyFileSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
    const { code, message, cause } = loadError(pkg);
    expect(code).toBe('ERR_MEMMAP_NO_BINARY');
    expect(message).toContain(`${process.platform}-${process.arch}`);
    if (platformDir) {
      expect(message).toContain(`npm install memmap-${platformDir}@0.1.0`);
      expect(message).toMatch(/--omit=optional/);
    }
    // Nothing that needs the sources, which an installed package does not have.
    expect(message).not.toMatch(/npm run build|cargo/);
    expect(cause).toMatch(/Cannot find|native binding|memmap/i);
  });

  test('where no binary is published for the platform, says so and how to build one', () => {
    const pkg = join(work, 'other');
    mkdirSync(join(pkg, 'native'), { recursive: true });
    cpSync(join(ROOT, 'dist'), join(pkg, 'dist'), { recursive: true });
    copyFileSync(join(ROOT, 'native', 'index.js'), join(pkg, 'native', 'index.js'));
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    manifest.napi.targets = ['aarch64-apple-darwin'];
    writeFileSync(join(pkg, 'package.json'), JSON.stringify(manifest));
    const { code, message } = loadError(pkg);
    expect(code).toBe('ERR_MEMMAP_NO_BINARY');
    expect(message).toMatch(/No prebuilt binary is published for .* \(there are: darwin-arm64\)/);
    expect(message).toMatch(/NAPI_RS_NATIVE_LIBRARY_PATH/);
  });
});

/**
 * Crash consistency and concurrent readers of a growing `.npy` (issue 15,
 * item 3). A writer appends rows whose values say their index; it is killed
 * with SIGKILL at random moments, and after every kill numpy (and
 * openMemmap) must load the file with a row count the writer had reached and
 * every counted row exactly as written. Readers in other processes (numpy and
 * Node) poll the file while it grows and must never see a torn or missing
 * row. CI runs `ROUNDS` kills; `npm run soak` runs the long variant
 * (`MEMMAP_CRASH_ROUNDS`).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openMemmap } from '../ts/index';
import { describeNumpy, PACKAGE, pythonJson, tempDir } from './helpers';

const dir = tempDir();
// Windows cannot grow a mapped file (growth.test.ts tests the refusal).
const describeGrowth = process.platform === 'win32' ? describe.skip : describeNumpy;
const ROUNDS = Number(process.env.MEMMAP_CRASH_ROUNDS ?? 200);
const COLUMNS = 16;

/**
 * The writer: reopens `path` in r+ (or creates it), then appends blocks of
 * rows forever; row i holds i * COLUMNS + c in column c. Before each append it
 * writes the count it is about to reach to fd 1 synchronously, so the parent
 * knows every count the file may show.
 */
const WRITER = `
const mm = require(${PACKAGE} + '/dist/index.js');
const fs = require('fs');
const [path, seedText, limitText] = process.argv.slice(1);
let seed = Number(seedText);
const next = (m) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % m; };
const limit = Number(limitText || Infinity);
const fp = fs.existsSync(path)
  ? mm.openMemmap(path, { mode: 'r+' })
  : mm.openMemmap(path, { mode: 'w+', dtype: '<u4', shape: [0, ${COLUMNS}] });
fs.writeSync(1, 'ready ' + fp.shape[0] + '\\n');
let rows = fp.shape[0];
while (rows < limit) {
  const n = 1 + next(next(8) === 0 ? 2000 : 40);
  const block = new Uint32Array(n * ${COLUMNS});
  for (let i = 0; i < block.length; i++) block[i] = rows * ${COLUMNS} + i;
  fs.writeSync(1, 'to ' + (rows + n) + '\\n');
  const how = next(20);
  if (how === 0) fp.append(block, { sync: true });
  else if (how === 1) { fp.append(block); fp.flush(); }
  else if (how === 2) {
    // A row at a time, as nested arrays.
    for (let r = 0; r < n; r++) {
      fs.writeSync(1, 'to ' + (rows + r + 1) + '\\n');
      fp.append([Array.from(block.subarray(r * ${COLUMNS}, (r + 1) * ${COLUMNS}))]);
    }
  } else fp.append(block);
  rows += n;
  // Keep the files small: start over past 64k rows.
  if (rows > 65536 && limit === Infinity) { fs.writeSync(1, 'to 0\\n'); fp.resize([0, ${COLUMNS}]); rows = 0; }
}
fp.close();
fs.writeSync(1, 'done ' + rows + '\\n');
`;

function run(args: string[]): { child: ChildProcess; lines: string[]; ready: Promise<void>; exited: Promise<void> } {
  const child = spawn(process.execPath, ['-e', WRITER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let buffered = '';
  let stderr = '';
  let onReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      if (line.startsWith('ready')) onReady();
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve, reject) =>
    child.on('exit', (status, signal) => {
      onReady();
      if (status !== 0 && signal !== 'SIGKILL') reject(new Error(`writer failed (${status}): ${stderr}`));
      else resolve();
    }),
  );
  return { child, lines, ready, exited };
}

describeGrowth('SIGKILL at random moments while appending', () => {
  test(`${ROUNDS} kills: numpy loads every file, with a count the writer reached and every row as written`, async () => {
    const chains = 2;
    const checks: { file: string; allowed: number[] }[] = [];
    let seed = 12345;
    const random = (m: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % m;
    };
    const chain = async (c: number): Promise<void> => {
      const path = join(dir, `chain-${c}.npy`);
      for (let round = c; round < ROUNDS; round += chains) {
        const writer = run([path, String(round + 1)]);
        await writer.ready;
        // A random moment within the first 150 ms of appending.
        await new Promise((resolve) => setTimeout(resolve, random(150)));
        writer.child.kill('SIGKILL');
        await writer.exited;
        const start = writer.lines.find((line) => line.startsWith('ready'));
        const allowed = [
          Number(start?.split(' ')[1] ?? 0),
          ...writer.lines.filter((line) => line.startsWith('to ')).map((line) => Number(line.slice(3))),
        ];
        const file = join(dir, `round-${round}.npy`);
        copyFileSync(path, file);
        checks.push({ file, allowed });
        // openMemmap agrees, here and now.
        const fp = openMemmap(file, { mode: 'r' });
        expect(allowed).toContain(fp.shape[0]);
        fp.close();
      }
    };
    await Promise.all(Array.from({ length: chains }, (_, c) => chain(c)));
    const list = join(dir, 'checks.json');
    writeFileSync(list, JSON.stringify(checks));
    const verdicts = pythonJson<{ file: string; rows: number; ok: boolean; why: string }[]>(
      `import sys, json, numpy as np
out = []
for check in json.load(open(sys.argv[1])):
    try:
        a = np.load(check['file'])
        m = np.load(check['file'], mmap_mode='r')
        n = a.shape[0]
        expected = np.arange(n * ${COLUMNS}, dtype='<u4').reshape(n, ${COLUMNS})
        ok = a.dtype.str == '<u4' and a.shape == (n, ${COLUMNS}) and m.shape == a.shape \\
            and (a == expected).all() and (m == expected).all() and n in check['allowed']
        out.append({'file': check['file'], 'rows': n, 'ok': bool(ok), 'why': ''})
    except Exception as e:
        out.append({'file': check['file'], 'rows': -1, 'ok': False, 'why': repr(e)})
print(json.dumps(out))`,
      list,
    );
    expect(verdicts).toHaveLength(ROUNDS);
    expect(verdicts.filter((v) => !v.ok)).toEqual([]);
    // The kills landed while rows were being written, not only before.
    expect(verdicts.filter((v) => v.rows > 0).length).toBeGreaterThan(ROUNDS / 2);
  }, 600000);
});

describeGrowth('readers in other processes poll the file while it grows', () => {
  test('numpy and openMemmap in another Node process never see a torn or missing row', async () => {
    const path = join(dir, 'polled.npy');
    openMemmap(path, { mode: 'w+', dtype: '<u4', shape: [0, COLUMNS] }).close();
    const done = join(dir, 'polled.done');
    const numpyReader = spawn(
      'python3',
      [
        '-c',
        `import sys, os, json, numpy as np
path, done = sys.argv[1], sys.argv[2]
polls = bad = last = 0
errors = []
while True:
    finished = os.path.exists(done)
    try:
        a = np.load(path, mmap_mode='r')
        n = a.shape[0]
        b = np.load(path)
        polls += 1
        if n < last or b.shape[0] < n or not (np.asarray(a) == np.arange(n * ${COLUMNS}, dtype='<u4').reshape(n, ${COLUMNS})).all() \\
                or not (b == np.arange(b.shape[0] * ${COLUMNS}, dtype='<u4').reshape(-1, ${COLUMNS})).all():
            bad += 1
        last = n
        del a
    except Exception as e:
        errors.append(repr(e))
    if polls == 1:
        open(path + '.numpy-started', 'w').close()
    if finished:
        break
print(json.dumps({'polls': polls, 'bad': bad, 'last': last, 'errors': errors[:5]}))`,
        path,
        done,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const nodeReader = spawn(
      process.execPath,
      [
        '-e',
        `const mm = require(${PACKAGE} + '/dist/index.js');
        const fs = require('fs');
        const [path, done] = process.argv.slice(1);
        let polls = 0, bad = 0, last = 0; const errors = [];
        for (;;) {
          const finished = fs.existsSync(done);
          try {
            const fp = mm.openMemmap(path, { mode: 'r' });
            const n = fp.shape[0];
            const data = fp.data;
            polls++;
            let ok = n >= last;
            for (let i = 0; ok && i < data.length; i++) ok = data[i] === i;
            if (!ok) bad++;
            last = n;
            fp.close();
          } catch (e) { errors.push(e.code + ' ' + e.message); }
          if (polls === 1) fs.writeFileSync(path + '.node-started', '');
          if (finished) break;
        }
        console.log(JSON.stringify({ polls, bad, last, errors: errors.slice(0, 5) }));`,
        path,
        done,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const output = (child: ChildProcess): Promise<string> =>
      new Promise((resolve) => {
        let text = '';
        child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
        child.on('exit', () => resolve(text));
      });
    const numpyOut = output(numpyReader);
    const nodeOut = output(nodeReader);
    // Both readers have read the empty file before the first row is written.
    while (!existsSync(`${path}.numpy-started`) || !existsSync(`${path}.node-started`)) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const writer = run([path, '7', '100000']);
    await writer.exited;
    expect(writer.lines.at(-1)).toMatch(/^done \d+$/);
    const rows = Number(writer.lines.at(-1)!.split(' ')[1]);
    writeFileSync(done, '');
    for (const verdict of [JSON.parse(await numpyOut), JSON.parse(await nodeOut)]) {
      expect(verdict).toEqual(expect.objectContaining({ bad: 0, errors: [], last: rows }));
      expect(verdict.polls).toBeGreaterThan(1);
    }
    expect(existsSync(path)).toBe(true);
  }, 600000);
});

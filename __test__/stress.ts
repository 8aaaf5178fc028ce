/**
 * Random operation sequences against one file, each run in a child process
 * (a signal is a failed test): open, views, TypedArrays kept past close and
 * resize, set/fill through views, async reductions and flushes, Node's
 * thread pool reading views (zlib, fs.write), resize, close, reopen and
 * garbage collection, interleaved with event-loop turns. Every result must
 * be right (equal to a model of the file when nothing wrote meanwhile) or a
 * coded error, and the file's final bytes must equal the model. Used by
 * stress.test.ts and, with many more sequences, soak/stress.test.ts.
 */
import { PACKAGE, runNode } from './helpers';

/** The child's script: `SEEDS` sequences of `STEPS` operations each. */
export function stressScript(dir: string, seeds: number[], steps: number): string {
  return `
  const mm = require(${PACKAGE} + '/dist/index.js');
  const fs = require('fs'), path = require('path'), zlib = require('zlib');
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  const CODED = /^ERR_MEMMAP_/;
  function rng(seed) {
    let s = seed >>> 0 || 1;
    return (n) => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s % n; };
  }
  async function sequence(seed) {
    const pick = rng(seed);
    const file = path.join(${JSON.stringify(dir)}, 'stress-' + seed + '.i4');
    let model = new Int32Array(4096 + pick(4096));
    let fp = mm.memmap(file, { dtype: 'int32', mode: 'w+', shape: [model.length] });
    let epoch = 0;          // bumps on every write to the file, so a pending result knows whether it may be checked
    let views = [];         // [view, start, step, length] over the current map
    const stale = [];       // TypedArrays handed out earlier: detached or still right, never a crash
    const pending = [];
    const failures = [];
    const copies = [];      // one file per fs.write, so that two in flight never share one
    const coded = (error, what) => { if (!CODED.test(error && error.code || '')) failures.push(what + ': uncoded ' + (error && error.stack || error)); };
    const sumOf = (start, step, length) => { let s = 0n; for (let k = 0; k < length; k++) s += BigInt(model[start + k * step]); return s; };
    const randomView = () => {
      const n = model.length, step = 1 + pick(3), start = pick(n), length = Math.max(0, Math.floor((n - 1 - start) / step) + 1);
      const count = pick(length + 1);
      return [fp.slice(start + ':' + (start + count * step) + ':' + step), start, step, count];
    };
    for (let i = 0; i < ${steps}; i++) {
      const op = pick(15);
      try {
        if (fp === null) {
          fp = mm.memmap(file, { dtype: 'int32', mode: 'r+' });
          if (fp.size !== model.length) failures.push('reopened size ' + fp.size + ' != ' + model.length);
          views = [];
          continue;
        }
        if (op === 0) views.push(randomView());
        else if (op === 1 || op === 2) {
          const at = pick(model.length), value = pick(2001) - 1000;
          fp.set(at, value); model[at] = value; epoch++;
        } else if (op === 3 && views.length) {
          const [view, start, step, length] = views[pick(views.length)];
          if (length) { const value = pick(100); view.fill(value); for (let k = 0; k < length; k++) model[start + k * step] = value; epoch++; }
        } else if (op === 4) {
          const data = fp.data; stale.push([data, 0, data.length]);
          const at = pick(data.length); data[at] = 7; model[at] = 7; epoch++;
        } else if (op === 5 && views.length) {
          const [view, start, step, length] = views[pick(views.length)];
          const expected = sumOf(start, step, length), since = epoch;
          pending.push(view.sumAsync().then(
            (sum) => { if (epoch === since && sum !== expected) failures.push('sumAsync ' + sum + ' != ' + expected); },
            (error) => coded(error, 'sumAsync')));
        } else if (op === 6) {
          pending.push(fp.flushAsync().catch((error) => coded(error, 'flushAsync')));
        } else if (op === 7) {
          const data = fp.data, since = epoch, expected = Buffer.from(model.buffer.slice(0));
          stale.push([data, 0, data.length]);
          pending.push(new Promise((resolve) => zlib.deflate(data, { chunkSize: 64 << 20 }, (error, out) => {
            if (error) failures.push('deflate: ' + error.message);
            else if (epoch === since && !zlib.inflateSync(out).equals(expected)) failures.push('deflate read other bytes');
            resolve();
          })));
        } else if (op === 8) {
          const data = fp.data, since = epoch, expected = Buffer.from(model.buffer.slice(0));
          const copy = file + '.copy' + i; copies.push(copy);
          const fd = fs.openSync(copy, 'w');
          pending.push(new Promise((resolve) => fs.write(fd, data, 0, data.byteLength, 0, (error, written) => {
            fs.closeSync(fd);
            if (error) failures.push('fs.write: ' + error.message);
            else if (written !== data.byteLength && data.byteLength !== 0) failures.push('fs.write wrote ' + written + ' of ' + data.byteLength);
            else if (epoch === since && !fs.readFileSync(copy).equals(expected)) failures.push('fs.write read other bytes');
            resolve();
          })));
        } else if (op === 9) {
          const n = Math.max(1, model.length + pick(4096) - 2048);
          fp.resize([n]);
          const grown = new Int32Array(n); grown.set(model.subarray(0, n)); model = grown; epoch++;
          views = [];
        } else if (op === 10) {
          fp.close(); fp = null; epoch++;
        } else if (op === 11) {
          global.gc();
        } else if (op === 12 && stale.length) {
          // An old TypedArray: detached (length 0) once its map closed or shrank past it, else the file's bytes.
          const [data] = stale[pick(stale.length)];
          if (data.length) { const at = pick(data.length); void data[at]; }
        } else if (op === 13 && views.length) {
          const [view, start, step, length] = views[pick(views.length)];
          const got = view.toArray();
          for (let k = 0; k < length; k++) if (got[k] !== model[start + k * step]) { failures.push('toArray differs at ' + k); break; }
        } else {
          await turn();
        }
      } catch (error) {
        coded(error, 'op ' + op);
      }
    }
    await Promise.all(pending);
    if (fp !== null) fp.close();
    const bytes = fs.readFileSync(file);
    if (!bytes.equals(Buffer.from(model.buffer))) failures.push('final bytes differ from the model (' + bytes.length + ' vs ' + model.byteLength + ')');
    fs.rmSync(file, { force: true }); for (const copy of copies) fs.rmSync(copy, { force: true });
    return failures;
  }
  (async () => {
    const report = {};
    for (const seed of ${JSON.stringify(seeds)}) report[seed] = await sequence(seed);
    console.log(JSON.stringify(report));
  })();
  `;
}

/** Runs the seeds in one child; returns its failures by seed (an empty list each when all held). */
export function stress(seeds: number[], steps: number, where: string) {
  const result = runNode(stressScript(where, seeds, steps), { args: ['--expose-gc'] });
  return {
    result,
    report:
      result.status === 0 ? (JSON.parse(result.stdout.trim().split('\n').pop()!) as Record<string, string[]>) : null,
  };
}

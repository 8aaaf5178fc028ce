// numpy's own memmap example (numpy.memmap docstring), step by step in Node.
// Each `>>>` line is the numpy statement; what follows is what memmap prints,
// which is what numpy prints.
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');
const { inspect } = require('node:util');
const { memmap } = require('..');

const show = (numpy, value) => {
  console.log(`>>> ${numpy}`);
  if (value !== undefined) console.log(typeof value === 'string' ? value : inspect(value));
};

const dir = mkdtempSync(join(tmpdir(), 'memmap-example-'));
const filename = join(dir, 'newfile.dat');
try {
  const data = Float32Array.from({ length: 12 }, (_, i) => i); // np.arange(12, dtype='float32').resize((3, 4))

  const fp = memmap(filename, { dtype: 'float32', mode: 'w+', shape: [3, 4] });
  show("fp = np.memmap(filename, dtype='float32', mode='w+', shape=(3,4))");
  show('fp', fp);
  fp.assign(data);
  show('fp[:] = data[:]');
  show('fp', fp);
  show('fp.filename == path.abspath(filename)', fp.filename === resolve(filename) ? 'True' : 'False');
  fp.flush();
  show('fp.flush()');
  fp.close();
  show('del fp');

  const newfp = memmap(filename, { dtype: 'float32', mode: 'r', shape: [3, 4] });
  show("newfp = np.memmap(filename, dtype='float32', mode='r', shape=(3,4))");
  show('newfp', newfp);

  const fpr = memmap(filename, { dtype: 'float32', mode: 'r', shape: [3, 4] });
  show("fpr = np.memmap(filename, dtype='float32', mode='r', shape=(3,4))");
  show('fpr.flags.writeable', fpr.writable ? 'True' : 'False');

  const fpc = memmap(filename, { dtype: 'float32', mode: 'c', shape: [3, 4] });
  show("fpc = np.memmap(filename, dtype='float32', mode='c', shape=(3,4))");
  show('fpc.flags.writeable', fpc.writable ? 'True' : 'False');
  fpc.slice('0, :').fill(0);
  show('fpc[0,:] = 0');
  show('fpc', fpc);
  show('fpr', fpr);

  const fpo = memmap(filename, { dtype: 'float32', mode: 'r', offset: 16 });
  show("fpo = np.memmap(filename, dtype='float32', mode='r', offset=16)");
  show('fpo', fpo);

  for (const m of [newfp, fpr, fpc, fpo]) m.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// Preloaded (node --require) before e2e/app/electron.mjs: makes the installed
// package's binding refuse external ArrayBuffers, as Electron's V8 memory
// cage does, and checks that it does.
const path = require('node:path');
const dist = path.dirname(require.resolve('memmap', { paths: [process.cwd()] }));
require(path.join(dist, 'binding.js')).binding.simulateExternalBufferRefusal(true);

// webpack: bundle the app, keep memmap a runtime require (it loads its native binary itself).
const path = require('node:path');

module.exports = {
  target: 'node',
  mode: 'production',
  entry: './app.js',
  output: { path: path.resolve(__dirname, 'out-webpack'), filename: 'app.js' },
  externals: { memmap: 'commonjs memmap' },
};

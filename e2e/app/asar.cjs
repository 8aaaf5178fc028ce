// Electron packaging: the app and its node_modules packed into app.asar with
// the unpack glob the README gives for Electron Forge
// (`packagerConfig.asar.unpack`, which Forge hands to @electron/asar, as
// here); the native binaries must land outside the archive, where
// process.dlopen can load them. Run: node asar.cjs APP_DIR
const asar = require('@electron/asar');
const fs = require('node:fs');
const path = require('node:path');

async function main() {
  const app = process.argv[2];
  const archive = path.join(app, '..', 'app.asar');
  await asar.createPackageWithOptions(app, archive, { unpack: '*.node' });
  const binaries = asar.listPackage(archive).filter((file) => file.endsWith('.node'));
  if (binaries.length === 0) throw new Error('no .node file in the archive listing');
  for (const file of binaries) {
    const relative = file.replace(/^[\\/]/, '');
    if (!asar.statFile(archive, relative).unpacked) throw new Error(`${relative} is packed inside app.asar`);
    if (!fs.existsSync(path.join(`${archive}.unpacked`, relative)))
      throw new Error(`${relative} is not in app.asar.unpacked`);
  }
  console.log(`asar: ${binaries.length} .node files unpacked: ${binaries.join(', ')}`);
}
main().catch((error) => {
  console.error(error);
  process.exit(1);
});

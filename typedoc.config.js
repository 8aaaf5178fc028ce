// TypeDoc (npm run docs): the API reference from the doc comments of ts/index.ts's exports,
// into docs/api (not committed) and temp/api.json (read by scripts/check-docs.js). A warning,
// such as an undocumented public member, is an error.
const { ERROR_CLASSES } = require('./dist/errors.js');

/** @type {Partial<import('typedoc').TypeDocOptions>} */
module.exports = {
  entryPoints: ['ts/index.ts'],
  tsconfig: 'tsconfig.build.json',
  out: 'docs/api',
  json: 'temp/api.json',
  name: 'memmap',
  readme: 'none',
  excludeInternal: true,
  excludePrivate: true,
  excludeProtected: true,
  excludeExternals: true,
  validation: { notExported: false, invalidLink: true, notDocumented: true, rewrittenLink: true },
  requiredToBeDocumented: [
    'Enum',
    'Variable',
    'Function',
    'Class',
    'Interface',
    'Property',
    'Method',
    'Accessor',
    'TypeAlias',
  ],
  // The error codes are one table: ERROR_CLASSES' comment and README's Errors section say what each is.
  intentionallyNotDocumented: Object.keys(ERROR_CLASSES).map((code) => `ERROR_CLASSES.__type.${code}`),
  // Source links need a hosted git remote (a clone's origin may be a local path): none.
  disableSources: true,
  treatWarningsAsErrors: true,
};

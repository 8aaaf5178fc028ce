# esbuild, ESM: the same, with a require() for the CommonJS code inside the bundle.
esbuild app.mjs --bundle --platform=node --format=esm --loader:.node=copy --outdir=out-esm --out-extension:.js=.mjs \
  --banner:js="import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);"

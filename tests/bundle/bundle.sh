#!/usr/bin/env bash
# Builds the desktop app's Linux installers, a .deb and an .rpm, with Tauri's own bundler, and
# prints their paths (one a line, .deb first).
#
#   bash tests/bundle/bundle.sh             release build (`tauri build`), what a user installs
#   bash tests/bundle/bundle.sh --debug     bundles the debug build cargo already made (the
#                                           install test: no second build of the app)
#
# The Tauri CLI comes from npm (tests/bundle/tauri-cli.sh), installed once into the cache
# folder. Tauri's bundler writes which format an app came in into the binary itself (the
# updater reads it back), so `--debug` bundles a copy: the debug binary in the target folder may be running under another
# test, and is left as cargo made it. The bundles land in
# ${PIER_BUNDLE_DIR:-$CARGO_TARGET_DIR/bundle}/{deb,rpm}/.
#
# Settings (environment): CARGO_TARGET_DIR, PIER_CACHE_DIR, PIER_BUNDLE_DIR, PIER_TAURI_CLI
# (the npm version); with --debug, PIER_BUNDLE_APP bundles another binary and
# PIER_BUNDLE_VERSION names the packages' version (the updater test's 0.1.1 build).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
mode=release
case "${1:-}" in
  "" | --release) ;;
  --debug) mode=debug ;;
  *)
    echo "usage: bash tests/bundle/bundle.sh [--release|--debug]" >&2
    exit 2
    ;;
esac
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
out="${PIER_BUNDLE_DIR:-$target_dir/bundle}"
tauri=$(bash "$repo/tests/bundle/tauri-cli.sh")

case "$mode" in
  release)
    [ -f ui/dist/index.html ] || bash ui/build.sh >&2
    CARGO_TARGET_DIR="$target_dir" "$tauri" build --ci --bundles deb,rpm >&2
    built="$target_dir/release/bundle"
    ;;
  debug)
    app="${PIER_BUNDLE_APP:-$target_dir/debug/pier-desktop}"
    [ -x "$app" ] || {
      echo "bundle: $app is missing; build it first (cargo build -p pier-desktop)" >&2
      exit 1
    }
    staging=$(mktemp -d "${TMPDIR:-/tmp}/pier-bundle.XXXXXX")
    trap 'rm -rf "$staging"' EXIT
    mkdir -p "$staging/debug"
    cp "$app" "$staging/debug/pier-desktop"
    # The .rpm uncompressed: Tauri's rpm writer compresses at about 1 MB/s whatever the codec
    # (the 173 MB debug binary: gzip 6 took 4 min, gzip 1 2 min 42 s, zstd 3 2 min 45 s,
    # none 3 s), while the .deb's gzip takes 4 s.
    config='{"bundle":{"linux":{"rpm":{"compression":{"type":"none"}}}}}'
    [ -z "${PIER_BUNDLE_VERSION:-}" ] || config="${config%\}},\"version\":\"$PIER_BUNDLE_VERSION\"}"
    CARGO_TARGET_DIR="$staging" "$tauri" bundle --ci --debug --bundles deb,rpm --config "$config" >&2
    built="$staging/debug/bundle"
    ;;
esac
mkdir -p "$out/deb" "$out/rpm"
deb=$(find "$built/deb" -maxdepth 1 -name '*.deb' -print -quit)
rpm=$(find "$built/rpm" -maxdepth 1 -name '*.rpm' -print -quit)
[ -n "$deb" ] && [ -n "$rpm" ] || {
  echo "bundle: tauri finished without a .deb and an .rpm under $built" >&2
  exit 1
}
mv -f "$deb" "$out/deb/"
mv -f "$rpm" "$out/rpm/"
echo "$out/deb/$(basename "$deb")"
echo "$out/rpm/$(basename "$rpm")"

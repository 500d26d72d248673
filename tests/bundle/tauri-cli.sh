#!/usr/bin/env bash
# Prints the path of the Tauri CLI (`tauri`), installing it first when missing: npm's
# `@tauri-apps/cli`, whose package carries a prebuilt binary (no 10-minute
# `cargo install tauri-cli`), into the cache folder. Used by bundle.sh and by the updater test
# (`tauri signer` makes and uses its keys). PIER_TAURI_CLI names the npm version.
set -euo pipefail
cli_version="${PIER_TAURI_CLI:-2.11.5}"
cli_home="${PIER_CACHE_DIR:-$HOME/.cache/pier}/tauri-cli-$cli_version"
tauri="$cli_home/node_modules/.bin/tauri"
if [ ! -x "$tauri" ]; then
  command -v npm >/dev/null || {
    echo "tauri-cli: npm is missing; install it (apt-get install npm) and run this again" >&2
    exit 1
  }
  mkdir -p "$cli_home"
  # One install at a time (the bundle and updater tests may ask together).
  exec 9>"$cli_home.lock"
  flock 9
  [ -x "$tauri" ] || npm install --prefix "$cli_home" --no-audit --no-fund --silent "@tauri-apps/cli@$cli_version" >&2
fi
echo "$tauri"

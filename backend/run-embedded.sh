#!/usr/bin/env bash
# Pier's desktop app on its embedded default, from a fresh Debian/Ubuntu machine with a
# display: no AWS, nothing to configure. The store is a folder under your data directory
# (~/.local/share/pier/store) and the app serves every deployment in-process at
# http://<project>.localhost:4800 (PIER_PORT for another port). Installs what the build needs
# (tests/scripts/setup.sh), builds the wasm UI and the app in release mode, and starts it.
# Drop a folder onto the window, or pass one to deploy the example site first:
#   bash backend/run-embedded.sh [--example]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
source tests/scripts/setup.sh
target="${CARGO_TARGET_DIR:-$repo/target}"
if [ "${1:-}" = "--example" ]; then
  cargo build --release --locked -p pier-cli --bin pier
  "$target/release/pier" --base-url "http://localhost:${PIER_PORT:-4800}" deploy "$repo/backend/examples/hello" --prod
fi
cargo build --release --locked -p pier-desktop
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "run-embedded: no display; run it in a desktop session (or under xvfb-run)" >&2
  exit 1
fi
exec "$target/release/pier-desktop"

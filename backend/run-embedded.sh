#!/usr/bin/env bash
# Pier on its embedded default, from a fresh Debian/Ubuntu machine: no AWS; the store is a
# folder under your data directory (~/.local/share/pier/store). Builds the `pier` CLI, deploys
# the example site (or the folder you pass) to production, then serves every deployment at
# http://<project>.localhost:4800 until Ctrl-C (set PIER_PORT to use another port).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
source tests/scripts/setup.sh
cargo build --release --locked -p pier-cli --bin pier
pier="${CARGO_TARGET_DIR:-$repo/target}/release/pier"
site="${1:-$repo/backend/examples/hello}"
port="${PIER_PORT:-4800}"
"$pier" --base-url "http://localhost:$port" deploy "$site" --prod
echo
exec "$pier" serve --port "$port"

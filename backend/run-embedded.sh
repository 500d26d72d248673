#!/usr/bin/env bash
# Pier on its embedded default, from a fresh Debian/Ubuntu machine: no AWS, the store is a
# folder under your data directory (~/.local/share/pier/store). Builds the `pier` CLI, deploys
# the example site (or the folder you pass) to production, and lists what is deployed.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
source tests/scripts/setup.sh
cargo build --release --locked -p pier-core --bin pier
pier="${CARGO_TARGET_DIR:-$repo/target}/release/pier"
site="${1:-$repo/backend/examples/hello}"
"$pier" deploy "$site" --prod
"$pier" ls
echo
echo "The CLI is at $pier; try \`$pier --help\`."

#!/usr/bin/env bash
# Desktop benchmark (runnable, not a test): builds the release app and the benchmark, then
# prints cold start to first paint, idle memory (PSS of the app and its WebKit processes) beside
# WebKit's MiniBrowser on an empty page (the floor under any WebKitGTK window), Pier's share
# above that floor, and the log viewer's frame times at 10,000 lines/s. Goals: ≤ 1.5 s, a share
# of ≤ 30 MB above the floor, no frame over 50 ms. Needs what tests/scripts/setup.sh installs with PIER_SETUP_TESTS=1.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
PIER_SETUP_TESTS=1 source tests/scripts/setup.sh
target="${CARGO_TARGET_DIR:-$repo/target}"
cargo build --release --locked -p pier-desktop -p pier-e2e
"$target/release/desktop_bench" "$target/release/pier-desktop"

#!/usr/bin/env bash
# The whole test suite, from a fresh Debian/Ubuntu machine: installs what it needs, checks
# formatting, builds every target with clippy's lints as errors, and runs every test (unit,
# store suite on a folder and on moto's S3, deploy engine, CLI, proxy, builder, containers,
# desktop) with cargo-nextest.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
PIER_SETUP_TESTS=1 source tests/scripts/setup.sh

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== actionlint (.github/workflows)"
bash tests/scripts/actionlint.sh
# Clippy lints while the tests compile: clippy-driver wraps rustc for the workspace's own
# crates only (RUSTC_WORKSPACE_WRAPPER, what `cargo clippy` itself sets), so every dependency
# is compiled once, for the tests, instead of once in check mode for clippy and again for the
# tests. `-D warnings` goes through CLIPPY_ARGS, as `cargo clippy -- -D warnings` passes it.
RUSTC_WORKSPACE_WRAPPER="$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver)"
export RUSTC_WORKSPACE_WRAPPER
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
# The tests' build of the desktop app carries the tests' updater public key, given the way
# the release workflow gives the real one (src-tauri/tests/update.rs signs with its private
# half); a build from source carries none and never looks for updates.
updater_key=$(cat tests/fixtures/updater/pier-tests.key.pub)
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
mkdir -p "$target_dir"
# The updater test's newer release: the same app compiled as 0.1.1 (an app's version is
# compiled in), copied aside before the build below compiles 0.1.0 over it. Same command and
# targets, so only pier-desktop recompiles (26 s, and 11 s back).
echo "== the desktop app as 0.1.1, for the updater test"
TAURI_CONFIG=$(printf '{"version":"0.1.1","plugins":{"updater":{"pubkey":"%s"}}}' "$updater_key") \
  cargo build --workspace --all-targets --locked --quiet
mkdir -p "$target_dir/debug/updater-next"
cp "$target_dir/debug/pier-desktop" "$target_dir/debug/updater-next/pier-desktop"
TAURI_CONFIG=$(printf '{"plugins":{"updater":{"pubkey":"%s"}}}' "$updater_key")
export TAURI_CONFIG
echo "== cargo build --all-targets, linted (clippy -D warnings)"
build_messages="$(mktemp)"
build_start=$(($(date +%s) - 1))
# Cargo's own list of every unit this build uses (stdout); lints and errors still print.
cargo build --workspace --all-targets --locked --message-format=json-render-diagnostics >"$build_messages"
# Cargo never deletes what a build stopped using, so a reused target folder grows until the
# disk is full (.ci/run's did: 50 GB, then ENOSPC in the middle of the tests). Prune it to what
# this build uses: always on CI (PIER_PRUNE_TARGET=always), when the disk runs low otherwise.
free_gb=$(df -P -BG "$target_dir" | awk 'NR == 2 { sub("G", "", $4); print $4 }')
case "${PIER_PRUNE_TARGET:-auto}" in
    always) prune=1 ;;
    never) prune=0 ;;
    *) prune=$((free_gb < 30)) ;;
esac
if [ "$prune" = 1 ]; then
    python3 tests/scripts/prune_target.py "$target_dir/debug" "$build_start" "$build_messages"
    free_gb=$(df -P -BG "$target_dir" | awk 'NR == 2 { sub("G", "", $4); print $4 }')
fi
rm -f "$build_messages"
if [ "$free_gb" -lt 10 ]; then
    echo "Only ${free_gb} GB is free on the disk holding $target_dir; the tests need about 10 GB" >&2
    echo "(npm installs, container images, stores). Free some space, then run this again." >&2
    exit 1
fi
# The hosted half's tests run the proxy and builder images in a real Docker Engine: start one
# (installing Debian's docker.io and mmdebstrap when missing) unless one answers already, and
# stop at the end only what was started here. overlay2 where it works (a builder container
# starts in 0.25 s instead of 6 s on vfs), else vfs.
echo "== container engine"
export PIER_ENGINE_STORAGE_DRIVER="${PIER_ENGINE_STORAGE_DRIVER:-auto}"
source tests/containers/engine.sh
trap pier_engine_stop_if_started EXIT
echo "== cargo nextest"
cargo nextest run --workspace --locked --no-fail-fast "$@"

#!/usr/bin/env bash
# Installs what building and testing Pier needs on a fresh Debian or Ubuntu machine, and skips
# whatever is already there: Debian packages, a Rust toolchain check, cargo-nextest, and a
# Python venv with moto's server (the AWS emulator the tests start on loopback ports).
# Sourced by tests/run-all.sh and backend/run-embedded.sh; safe to run again.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

need_packages=()
for package in build-essential pkg-config python3-venv python3-pip curl ca-certificates git; do
  dpkg -s "$package" >/dev/null 2>&1 || need_packages+=("$package")
done
if [ "${PIER_SETUP_TESTS:-0}" = 1 ]; then
  # The build tests run real node/npm builds and follow logs through a real redis-server.
  command -v redis-server >/dev/null 2>&1 || need_packages+=(redis-server)
  command -v node >/dev/null 2>&1 || need_packages+=(nodejs)
  command -v npm >/dev/null 2>&1 || need_packages+=(npm)
fi
if [ "${#need_packages[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_packages[*]}"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_packages[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "setup: installing Rust with rustup"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component rustfmt,clippy
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true

if [ "${PIER_SETUP_TESTS:-0}" = 1 ]; then
  if ! cargo nextest --version >/dev/null 2>&1; then
    echo "setup: installing cargo-nextest"
    cargo install --locked cargo-nextest
  fi
  if [ ! -x "$repo/.venv/bin/moto_server" ]; then
    echo "setup: creating .venv with moto[server]"
    python3 -m venv "$repo/.venv"
    "$repo/.venv/bin/pip" install --quiet 'moto[server]>=5.1,<6'
  fi
  export PIER_MOTO_SERVER="$repo/.venv/bin/moto_server"
fi

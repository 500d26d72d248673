#!/usr/bin/env bash
# Installs what building and testing Pier needs on a fresh Debian or Ubuntu machine, and skips
# whatever is already there: Debian packages (WebKitGTK and friends for the desktop app), a
# Rust toolchain check with the wasm32 target, wasm-bindgen-cli at the exact version in
# Cargo.lock, cargo-nextest, tauri-driver and Xvfb for the desktop's end-to-end tests, and a
# Python venv with moto's server (the AWS emulator the tests start on loopback ports), and
# axe-core from npm for the desktop's accessibility check. Last,
# it builds the wasm UI into ui/dist, which the desktop app embeds at compile time.
# Sourced by tests/run-all.sh and backend/run-embedded.sh; safe to run again.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

need_packages=()
for package in build-essential pkg-config python3-venv python3-pip curl ca-certificates git \
  libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev libayatana-appindicator3-dev libxdo-dev \
  libssl-dev file; do
  dpkg -s "$package" >/dev/null 2>&1 || need_packages+=("$package")
done
if [ "${PIER_SETUP_TESTS:-0}" = 1 ]; then
  # The build tests run real node/npm builds and follow logs through a real redis-server.
  command -v redis-server >/dev/null 2>&1 || need_packages+=(redis-server)
  command -v node >/dev/null 2>&1 || need_packages+=(nodejs)
  command -v npm >/dev/null 2>&1 || need_packages+=(npm)
  # The desktop's end-to-end tests: a private X server and WebKit's WebDriver.
  command -v Xvfb >/dev/null 2>&1 || need_packages+=(xvfb)
  command -v WebKitWebDriver >/dev/null 2>&1 || need_packages+=(webkit2gtk-driver)
  # OS notifications are checked on a private session bus, and so are `pier env`'s secrets in
  # a real GNOME Keyring (read back with libsecret's secret-tool).
  command -v dbus-daemon >/dev/null 2>&1 || need_packages+=(dbus-daemon)
  command -v gnome-keyring-daemon >/dev/null 2>&1 || need_packages+=(gnome-keyring)
  command -v secret-tool >/dev/null 2>&1 || need_packages+=(libsecret-tools)
  # The image mirror's tests: real registries (one behind htpasswd, as ECR answers), and
  # skopeo, which puts images in and reads them back (and is the mirror benchmark's peer).
  [ -x /usr/bin/docker-registry ] || need_packages+=(docker-registry)
  command -v htpasswd >/dev/null 2>&1 || need_packages+=(apache2-utils)
  command -v skopeo >/dev/null 2>&1 || need_packages+=(skopeo)
  # The desktop's install test reads the .rpm back with rpm itself.
  command -v rpm >/dev/null 2>&1 || need_packages+=(rpm)
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
# The tools below are compiled once per machine, on the cold run's critical path; at cargo
# install's opt-level 3 that is minutes a test run never gets back. wasm-bindgen (which
# rewrites the UI's module on every UI build) is built at opt-level 1; cargo-nextest and
# tauri-driver only start processes, so they are built at opt-level 0. None gets LTO.
install_tool() {
  local opt_level="$1"
  shift
  CARGO_PROFILE_RELEASE_OPT_LEVEL="$opt_level" CARGO_PROFILE_RELEASE_LTO=false \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 cargo install --quiet "$@"
}
# The test tools build in the background while wasm-bindgen and the UI build in front: one
# cargo build alone leaves a core idle through its serial stretches (big crates, linking).
background_jobs=()
in_background() {
  "$@" &
  background_jobs+=("$!")
}
wait_for_background() {
  local failed=0
  for job in "${background_jobs[@]}"; do
    wait "$job" || failed=1
  done
  background_jobs=()
  if [ "$failed" != 0 ]; then
    echo "setup: a tool install failed (its output is above)" >&2
    exit 1
  fi
}
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  echo "setup: adding the wasm32-unknown-unknown target (the desktop UI)"
  rustup target add wasm32-unknown-unknown
fi
export PATH="$HOME/.cargo/bin:$PATH"

if [ "${PIER_SETUP_TESTS:-0}" = 1 ]; then
  if ! cargo nextest --version >/dev/null 2>&1; then
    echo "setup: installing cargo-nextest (in the background)"
    # Without its default features: self-update (an HTTP client and TLS stack) and USDT
    # probes are a third of its build, and CI never uses them.
    in_background install_tool 0 --locked --no-default-features cargo-nextest
  fi
  if ! command -v tauri-driver >/dev/null 2>&1; then
    echo "setup: installing tauri-driver (in the background)"
    in_background install_tool 0 --locked tauri-driver
  fi
  if [ ! -x "$repo/.venv/bin/moto_server" ]; then
    echo "setup: creating .venv with moto[server]"
    python3 -m venv "$repo/.venv"
    "$repo/.venv/bin/pip" install --quiet 'moto[server]>=5.1,<6'
  fi
  # The test notification service (tests/fixtures/notification_server.py).
  "$repo/.venv/bin/python" -c 'import dbus_next' 2>/dev/null \
    || "$repo/.venv/bin/pip" install --quiet 'dbus-next>=0.2.3,<0.3'
  export PIER_MOTO_SERVER="$repo/.venv/bin/moto_server"
  # The desktop's accessibility check runs axe-core, from npm, inside the app's own WebKit.
  axe_dir="${XDG_CACHE_HOME:-$HOME/.cache}/pier/axe-core-4.10"
  if [ ! -f "$axe_dir/node_modules/axe-core/axe.min.js" ]; then
    echo "setup: installing axe-core from npm"
    mkdir -p "$axe_dir"
    npm install --silent --no-audit --no-fund --no-save --prefix "$axe_dir" 'axe-core@~4.10.0'
  fi
  export PIER_AXE_JS="$axe_dir/node_modules/axe-core/axe.min.js"
fi

# wasm-bindgen's CLI must match the crate exactly. Installed without --locked: its own
# lockfile pins a crate version some registry mirrors do not serve.
wasm_bindgen_version="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$repo/Cargo.lock")"
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wasm_bindgen_version" ]; then
  echo "setup: installing wasm-bindgen-cli $wasm_bindgen_version"
  install_tool 1 --force "wasm-bindgen-cli@$wasm_bindgen_version"
fi

# The desktop app embeds ui/dist when it compiles (tauri's generate_context!), so the UI is
# built before anything builds or lints src-tauri. About a second when nothing changed.
echo "setup: building the desktop UI (ui/build.sh)"
bash "$repo/ui/build.sh"
wait_for_background


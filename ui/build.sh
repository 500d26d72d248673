#!/usr/bin/env bash
# Builds the wasm UI into ui/dist without trunk (see the field notes): cargo builds the
# cdylib for wasm32, wasm-bindgen (the CLI at the crate's exact version) makes the JS glue,
# and the static files are copied beside it. `generate_context!` in src-tauri needs
# ui/dist to exist, so this runs before src-tauri is built or linted. The default profile,
# `ui-release` (Cargo.toml), optimises for size and the name section is dropped: WebKit keeps
# a module's code and names in the web process's memory for as long as the window is open
# (1.8 MB → 0.9 MB of wasm, see the desktop benchmark). PIER_UI_PROFILE=dev for a debug build.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$repo/target}"
profile="${PIER_UI_PROFILE:-ui-release}"
cargo build -p pier-ui --lib --target wasm32-unknown-unknown --locked --profile "$profile"
output="$profile"; [ "$profile" = dev ] && output=debug
mkdir -p "$repo/ui/dist"
wasm-bindgen --target web --no-typescript --remove-name-section --out-dir "$repo/ui/dist" \
  "$target/wasm32-unknown-unknown/$output/pier_ui.wasm"
cp "$repo/ui/index.html" "$repo/ui/style.css" "$repo/ui/boot.js" "$repo/ui/dist/"

#!/usr/bin/env bash
# Builds the wasm UI into ui/dist without trunk (see the field notes): cargo builds the
# cdylib for wasm32, wasm-bindgen (the CLI at the crate's exact version) makes the JS glue,
# and the static files are copied beside it. `generate_context!` in src-tauri needs
# ui/dist to exist, so this runs before src-tauri is built or linted. PIER_UI_PROFILE=release
# for an optimised build.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$repo/target}"
profile="${PIER_UI_PROFILE:-release}"
flag=(); [ "$profile" = release ] && flag=(--release)
cargo build -p pier-ui --lib --target wasm32-unknown-unknown --locked "${flag[@]}"
mkdir -p "$repo/ui/dist"
wasm-bindgen --target web --no-typescript --out-dir "$repo/ui/dist" \
  "$target/wasm32-unknown-unknown/$profile/pier_ui.wasm"
cp "$repo/ui/index.html" "$repo/ui/style.css" "$repo/ui/boot.js" "$repo/ui/dist/"

//! Pier's desktop UI (to be built under the "Desktop app" issue): Leptos 0.8 compiled to wasm,
//! talking to the Tauri shell only through its commands and events. It never sees a
//! credential.

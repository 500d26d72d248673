//! Pier's desktop app (to be built under the "Desktop app" issue): a Tauri v2 shell whose
//! commands are two-line shims over `pier_core`. Until then it prints where the engine is.

fn main() {
    println!(
        "The Pier desktop app is not built yet; use the `pier` CLI (pier-core {}).",
        env!("CARGO_PKG_VERSION")
    );
}

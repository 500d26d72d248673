//! The window opens where and as large as the user left it: tauri-plugin-window-state
//! restores its size, position and maximized state when it is made, and saves them on a
//! clean exit. The app also saves shortly after the window stops moving or resizing, so a
//! crash, a kill or a logout keeps the last place too.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tauri::plugin::TauriPlugin;
use tauri_plugin_window_state::{AppHandleExt, StateFlags};

/// Visibility is left out: the window starts shown whatever it was at exit.
fn remembered() -> StateFlags {
    StateFlags::SIZE | StateFlags::POSITION | StateFlags::MAXIMIZED
}

/// How long the window must stay still before its place is written (a drag sends many events).
const SETTLE: Duration = Duration::from_millis(400);

/// Counts moves and resizes, so only the last one of a burst writes.
static CHANGES: AtomicU64 = AtomicU64::new(0);

pub fn plugin() -> TauriPlugin<tauri::Wry> {
    tauri_plugin_window_state::Builder::default()
        .with_state_flags(remembered())
        .build()
}

/// Called on every move or resize: saves once the window has settled.
pub fn moved_or_resized(window: &tauri::Window) {
    let change = CHANGES.fetch_add(1, Ordering::SeqCst) + 1;
    let app = tauri::Manager::app_handle(window).clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(SETTLE).await;
        if CHANGES.load(Ordering::SeqCst) == change
            && let Err(error) = app.save_window_state(remembered())
        {
            tracing::warn!(%error, "could not save the window's size and place");
        }
    });
}

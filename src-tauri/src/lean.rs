//! Keeps the window's WebKit lean (Linux, WebKitGTK). Measured under Xvfb: accelerated
//! compositing alone costs the web process about 80 MB (193 → 116 MB PSS) and buys Pier's UI
//! nothing (flat panels, no 3D transforms or video), so it is off unless the user sets
//! `WEBKIT_DISABLE_COMPOSITING_MODE` themselves. The page cache and WebKit's large memory
//! caches serve back/forward browsing, which a one-page app never does, so the cache model is
//! the smallest ("document viewer"). Once the window has settled, and every ten minutes
//! after, the process lets go of the pages of code it ran only to start and hands its
//! allocator's free memory back (`pier_app::trim`).

/// Before the first webview exists: WebKit reads the variable when its web process starts.
pub fn before_webview() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
        // SAFETY: called first thing in `main`, before any thread is spawned.
        unsafe { std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1") };
    }
}

/// Once the main window exists.
pub fn tune(window: &tauri::WebviewWindow) {
    #[cfg(target_os = "linux")]
    {
        let tuned = window.with_webview(|webview| {
            use webkit2gtk::{CacheModel, SettingsExt, WebContextExt, WebViewExt};
            let view = webview.inner();
            if let Some(context) = view.context() {
                context.set_cache_model(CacheModel::DocumentViewer);
            }
            if let Some(settings) = WebViewExt::settings(&view) {
                settings.set_enable_page_cache(false);
            }
        });
        if let Err(error) = tuned {
            tracing::info!(%error, "the webview could not be tuned");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = window;
}

/// When the first release runs: the window is up within a second or two of the start.
const FIRST_RELEASE: std::time::Duration = std::time::Duration::from_secs(5);
/// Code run for a deploy or a screen opened since is mapped again; let go of it now and then.
const RELEASE_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// Starts releasing the start-up pages in the background (see `pier_app::trim`).
pub fn release_pages_in_background() {
    tauri::async_runtime::spawn(async {
        tokio::time::sleep(FIRST_RELEASE).await;
        loop {
            pier_app::trim::release_free_heap();
            match pier_app::trim::release_clean_file_pages() {
                Ok(released) => tracing::debug!(
                    mappings = released.mappings,
                    resident_bytes = released.resident_bytes,
                    "released pages nothing wrote"
                ),
                Err(error) => {
                    tracing::info!(%error, "cannot read this process's mappings; keeping them");
                    return;
                }
            }
            tokio::time::sleep(RELEASE_EVERY).await;
        }
    });
}

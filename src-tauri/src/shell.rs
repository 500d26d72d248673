//! Wires the engine to the window: starts the engine and the in-process proxy, forwards
//! every engine event to the window (`pier://event`), refreshes the proxy after changes,
//! raises OS notifications when a deploy finishes or fails, keeps the tray's status, and
//! hands native folder drops to the same engine call as the Deploy screen's button.

use pier_app::{App, AppEvent, EventSink};
use tauri::{AppHandle, DragDropEvent, Emitter, Manager, WindowEvent};
use tauri_plugin_notification::NotificationExt;

use crate::{serve, tray};

/// What the commands reach through Tauri's state.
pub struct Desktop {
    pub engine: App,
    pub serve: serve::Serve,
}

pub fn setup(app: &mut tauri::App) -> Result<(), Box<dyn std::error::Error>> {
    let handle = app.handle().clone();
    let listener = serve::bind()?;
    let port = listener.local_addr()?.port();
    let events = {
        let handle = handle.clone();
        EventSink::new(move |event| forward(&handle, event))
    };
    let engine = tauri::async_runtime::block_on(App::start(port, events))?;
    let target = engine.target();
    let serve = serve::start(listener, target.store.clone(), target.base_url.host())?;
    app.manage(Desktop { engine, serve });
    if let Some(window) = app.get_webview_window("main") {
        // `with_webview` waits for the event loop, which runs only after setup returns.
        std::thread::spawn(move || crate::lean::tune(&window));
    }
    crate::lean::release_pages_in_background();
    crate::updates::start(&handle);
    if let Err(error) = tray::build(app) {
        // Not every desktop has a tray (GNOME without the extension, bare X servers).
        tracing::info!(%error, "no tray icon");
    }
    Ok(())
}

fn forward(handle: &AppHandle, event: AppEvent) {
    if let Err(error) = handle.emit("pier://event", &event) {
        tracing::warn!(%error, "an event could not reach the window");
    }
    let desktop = handle.try_state::<Desktop>();
    match &event {
        AppEvent::Changed { .. } => {
            if let Some(desktop) = desktop {
                desktop.serve.proxy.refresh();
            }
        }
        AppEvent::TargetChanged => {
            if let Some(desktop) = desktop {
                let target = desktop.engine.target();
                desktop.serve.store.switch_to(target.store);
                desktop
                    .serve
                    .proxy
                    .set_base_domains(serve::base_domains(target.base_url.host()));
                desktop.serve.proxy.refresh();
            }
        }
        AppEvent::DeployFinished {
            project,
            preview_url,
            ..
        } => {
            notify(handle, format!("Deployed {project}"), preview_url.clone());
            tray::status(handle, &format!("Pier: deployed {project}"));
        }
        AppEvent::DeployFailed { project, error, .. } => {
            let project = project.as_deref().unwrap_or("the folder");
            notify(
                handle,
                format!("Deploying {project} failed"),
                format!("{} {}", error.message, error.hint),
            );
            tray::status(handle, &format!("Pier: deploying {project} failed"));
        }
        AppEvent::DeployProgress(snapshot) if snapshot.fraction == 0.0 => {
            tray::status(handle, &format!("Pier: deploying {}…", snapshot.project));
        }
        _ => {}
    }
}

/// Notifications go through the desktop's notification service, which may be slow or
/// absent: never on the caller's thread.
fn notify(handle: &AppHandle, title: String, body: String) {
    let handle = handle.clone();
    std::thread::spawn(move || {
        if let Err(error) = handle
            .notification()
            .builder()
            .title(title)
            .body(body)
            .show()
        {
            tracing::info!(%error, "no notification service");
        }
    });
}

pub fn on_window_event(window: &tauri::Window, event: &WindowEvent) {
    match event {
        WindowEvent::DragDrop(DragDropEvent::Drop { paths, .. }) => {
            let Some(desktop) = window.try_state::<Desktop>() else {
                return;
            };
            let engine = desktop.engine.clone();
            let paths = paths.clone();
            let window = window.clone();
            tauri::async_runtime::spawn(async move {
                let _ = window.emit("pier://dropped", engine.deploy_native_drop(paths));
            });
        }
        WindowEvent::Moved(_) | WindowEvent::Resized(_) => {
            crate::window_place::moved_or_resized(window)
        }
        WindowEvent::Destroyed => {
            if let Some(desktop) = window.try_state::<Desktop>() {
                desktop.engine.shutdown();
            }
        }
        _ => {}
    }
}

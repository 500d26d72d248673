//! Pier's desktop app: a Tauri v2 shell around `pier-core`. The window (the Leptos UI in
//! `../ui`) calls the commands in [`commands`], each a two-line shim over
//! `pier_app::App`; the engine's events go back to the window, to OS notifications and
//! to the tray ([`shell`]). The embedded default needs nothing configured: the proxy runs
//! in-process ([`serve`]) and links read `http://<project>.localhost:<port>`.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;
mod lean;
mod serve;
mod shell;
mod tray;
mod updates;
mod window_place;

fn main() {
    lean::before_webview();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PIER_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_clipboard_manager::init())
        .plugin(tauri_plugin_updater::Builder::new().build())
        .plugin(window_place::plugin())
        .setup(shell::setup)
        .on_window_event(shell::on_window_event)
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::projects,
            commands::deployments,
            commands::builds,
            commands::promote,
            commands::rollback,
            commands::sync_regions,
            commands::remove,
            commands::deploy_folder,
            commands::deploy_example,
            commands::pick_folder,
            commands::watches,
            commands::watch_add,
            commands::watch_remove,
            commands::follow_log,
            commands::follow_functions,
            commands::env_vars,
            commands::env_set,
            commands::env_remove,
            commands::stop_following,
            commands::settings,
            commands::save_settings,
            commands::test_connection,
            commands::aws_profiles,
            commands::open_url,
            commands::copy_text,
            commands::cancel_deploy,
            commands::setup_form,
            commands::setup_run,
            commands::domains,
            commands::domain_add,
            commands::domain_verify,
            commands::domain_remove,
            commands::update_offered,
            commands::update_install,
        ])
        .run(tauri::generate_context!())
        .expect(
            "Pier's window could not start; is a display available (DISPLAY or WAYLAND_DISPLAY)?",
        );
}

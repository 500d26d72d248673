//! The window's commands: each is a two-line shim over `pier_app::App` (or a Tauri
//! plugin for dialogs, the clipboard and the browser). All are async, so they run on the
//! async runtime and never on the window's thread. Errors are `UserError`: a sentence and
//! what to do next.

use std::path::PathBuf;

use pier_app::aws_setup::{SetupForm, SetupRun};
use pier_app::check::CheckReport;
use pier_app::custom_domains::{DomainsView, RemoveOutcome, StepReport};
use pier_app::project_env::{EnvSetForm, EnvVarView};
use pier_app::settings::{SettingsForm, SettingsView};
use pier_app::views::{DeploymentView, ProjectView};
use pier_app::watches::WatchView;
use pier_app::{AppInfo, UpdateOffer, UserError};
use pier_core::alias::AliasChange;
use pier_core::manifest::Summary;
use pier_core::region_state::RegionReport;
use tauri::{AppHandle, State};
use tauri_plugin_clipboard_manager::ClipboardExt;
use tauri_plugin_dialog::DialogExt;
use tauri_plugin_opener::OpenerExt;

use crate::shell::Desktop;

type Engine<'a> = State<'a, Desktop>;
type Answer<T> = Result<T, UserError>;

#[tauri::command]
pub async fn app_info(desktop: Engine<'_>) -> Answer<AppInfo> {
    Ok(desktop.engine.info())
}

#[tauri::command]
pub async fn projects(desktop: Engine<'_>) -> Answer<Vec<ProjectView>> {
    desktop.engine.projects().await
}

/// Recent builds, newest first (the Logs screen's list).
#[tauri::command]
pub async fn builds(desktop: Engine<'_>) -> Answer<Vec<pier_core::logs::history::BuildSummary>> {
    desktop.engine.builds().await
}

#[tauri::command]
pub async fn deployments(desktop: Engine<'_>, project: String) -> Answer<Vec<DeploymentView>> {
    desktop.engine.deployments(&project).await
}

#[tauri::command]
pub async fn promote(desktop: Engine<'_>, deployment: String) -> Answer<AliasChange> {
    desktop.engine.promote(&deployment).await
}

#[tauri::command]
pub async fn rollback(desktop: Engine<'_>, project: String) -> Answer<AliasChange> {
    desktop.engine.rollback(&project).await
}

#[tauri::command]
pub async fn sync_regions(desktop: Engine<'_>, project: String) -> Answer<Vec<RegionReport>> {
    desktop.engine.sync_regions(&project).await
}

#[tauri::command]
pub async fn remove(desktop: Engine<'_>, deployment: String) -> Answer<Summary> {
    desktop.engine.remove(&deployment).await
}

/// The same engine call as a native drop (see `shell::on_window_event`).
#[tauri::command]
pub async fn deploy_folder(
    desktop: Engine<'_>,
    paths: Vec<PathBuf>,
    project: Option<String>,
) -> Answer<String> {
    desktop.engine.deploy_dropped(paths, project)
}

/// First run: deploys the site that ships with the app.
#[tauri::command]
pub async fn deploy_example(desktop: Engine<'_>) -> Answer<String> {
    desktop.engine.deploy_example()
}

/// Stops a running deploy or build; nothing half-made is ever served.
#[tauri::command]
pub async fn cancel_deploy(desktop: Engine<'_>, job: String) -> Answer<()> {
    desktop.engine.cancel_deploy(&job);
    Ok(())
}

#[tauri::command]
pub async fn pick_folder(app: AppHandle) -> Answer<Option<String>> {
    let (sender, picked) = tokio::sync::oneshot::channel();
    app.dialog().file().pick_folder(move |folder| {
        let _ = sender.send(folder.and_then(|f| f.into_path().ok()));
    });
    Ok(picked
        .await
        .ok()
        .flatten()
        .map(|path| path.display().to_string()))
}

#[tauri::command]
pub async fn watches(desktop: Engine<'_>) -> Answer<Vec<WatchView>> {
    Ok(desktop.engine.watches())
}

#[tauri::command]
pub async fn watch_add(desktop: Engine<'_>, dir: PathBuf, build: bool) -> Answer<WatchView> {
    desktop.engine.watch_add(dir, build)
}

#[tauri::command]
pub async fn watch_remove(desktop: Engine<'_>, dir: PathBuf) -> Answer<()> {
    desktop.engine.watch_remove(dir)
}

#[tauri::command]
pub async fn follow_log(desktop: Engine<'_>, deployment: String, after: u64) -> Answer<()> {
    desktop.engine.follow_log(deployment, after);
    Ok(())
}

#[tauri::command]
pub async fn follow_functions(desktop: Engine<'_>, project: String, after: u64) -> Answer<()> {
    desktop.engine.follow_functions(project, after)
}

#[tauri::command]
pub async fn env_vars(desktop: Engine<'_>, project: String) -> Answer<Vec<EnvVarView>> {
    desktop.engine.env_vars(&project)
}

#[tauri::command]
pub async fn env_set(desktop: Engine<'_>, form: EnvSetForm) -> Answer<Vec<EnvVarView>> {
    desktop.engine.env_set(form)
}

#[tauri::command]
pub async fn env_remove(
    desktop: Engine<'_>,
    project: String,
    name: String,
) -> Answer<Vec<EnvVarView>> {
    desktop.engine.env_remove(&project, &name)
}

#[tauri::command]
pub async fn stop_following(desktop: Engine<'_>) -> Answer<()> {
    desktop.engine.stop_following();
    Ok(())
}

#[tauri::command]
pub async fn settings(desktop: Engine<'_>) -> Answer<SettingsView> {
    Ok(desktop.engine.settings())
}

#[tauri::command]
pub async fn save_settings(desktop: Engine<'_>, form: SettingsForm) -> Answer<SettingsView> {
    desktop.engine.save_settings(form).await
}

#[tauri::command]
pub async fn test_connection(desktop: Engine<'_>, form: SettingsForm) -> Answer<CheckReport> {
    desktop.engine.test_connection(form).await
}

#[tauri::command]
pub async fn aws_profiles(desktop: Engine<'_>) -> Answer<Vec<String>> {
    Ok(desktop.engine.aws_profiles())
}

#[tauri::command]
pub async fn setup_form(desktop: Engine<'_>) -> Answer<SetupForm> {
    Ok(desktop.engine.setup_form())
}

/// Plan, apply or teardown; steps arrive as `setup_step` events.
#[tauri::command]
pub async fn setup_run(desktop: Engine<'_>, form: SetupForm, run: SetupRun) -> Answer<()> {
    desktop.engine.setup(form, run)
}

#[tauri::command]
pub async fn domains(desktop: Engine<'_>) -> Answer<DomainsView> {
    desktop.engine.domains().await
}

/// Starts the wizard; steps arrive as `domain_step` events.
#[tauri::command]
pub async fn domain_add(
    desktop: Engine<'_>,
    domain: String,
    project: String,
    distribution: Option<String>,
) -> Answer<()> {
    desktop.engine.domain_add(domain, project, distribution)
}

#[tauri::command]
pub async fn domain_verify(desktop: Engine<'_>, domain: String) -> Answer<Vec<StepReport>> {
    desktop.engine.domain_verify(&domain).await
}

#[tauri::command]
pub async fn domain_remove(desktop: Engine<'_>, domain: String) -> Answer<RemoveOutcome> {
    desktop.engine.domain_remove(&domain).await
}

/// Opens a site in the system browser; only http(s) URLs, so the window cannot launch files.
#[tauri::command]
pub async fn open_url(app: AppHandle, url: String) -> Answer<()> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(UserError::new(
            format!("`{url}` is not a web address"),
            "only http and https links open",
        ));
    }
    app.opener().open_url(&url, None::<&str>).map_err(|e| {
        UserError::new(
            format!("Could not open {url}: {e}"),
            "copy the URL and open it in your browser",
        )
    })
}

#[tauri::command]
pub async fn copy_text(app: AppHandle, text: String) -> Answer<()> {
    app.clipboard().write_text(text).map_err(|e| {
        UserError::new(
            format!("Could not copy to the clipboard: {e}"),
            "select the URL and copy it by hand",
        )
    })
}

/// The newer release found at start or by the daily check, if any.
#[tauri::command]
pub async fn update_offered(app: AppHandle) -> Answer<Option<UpdateOffer>> {
    Ok(crate::updates::offered(&app))
}

/// Installs the offered release (its signature checked first) and restarts as it.
#[tauri::command]
pub async fn update_install(app: AppHandle) -> Answer<()> {
    crate::updates::install(&app).await
}

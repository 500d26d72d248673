//! Updates that arrive by themselves, through tauri-plugin-updater: the app asks its update
//! endpoint at start and then once a day; a newer release is offered to the window
//! (`pier://update`: "Update to X.Y.Z" with its notes) and installed only on the user's
//! click. The plugin downloads the bundle and checks its minisign signature against the
//! public key built into the app before anything is installed; a bundle signed with another
//! key is refused and the running version stays.
//!
//! Where updates come from is set when the app is built: the release workflow gives the
//! endpoint (the newest release's `latest.json`) and the public key (`plugins.updater` in the
//! Tauri config). A build from source has no endpoint and never asks. `PIER_UPDATE_ENDPOINT`
//! points a build at another `latest.json` (a mirror of the releases); the key cannot be
//! changed at run time.

use std::sync::Mutex;
use std::time::Duration;

use pier_app::{UpdateOffer, UserError};
use tauri::{AppHandle, Emitter, Manager};
use tauri_plugin_updater::{Update, UpdaterExt};

const CHECK_EVERY: Duration = Duration::from_secs(24 * 60 * 60);

/// The newest release found and not yet installed.
#[derive(Default)]
pub struct Updates {
    offered: Mutex<Option<Update>>,
}

pub fn start(app: &AppHandle) {
    app.manage(Updates::default());
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            if let Err(error) = check(&app).await {
                // A network that is down now is not worth a banner: the next day's check
                // tries again, and "Install" reports its own failures.
                tracing::info!(%error, "no update check");
            }
            tokio::time::sleep(CHECK_EVERY).await;
        }
    });
}

fn updater(app: &AppHandle) -> Result<Option<tauri_plugin_updater::Updater>, String> {
    let mut builder = app.updater_builder();
    if let Some(endpoint) = std::env::var_os("PIER_UPDATE_ENDPOINT") {
        let endpoint = endpoint.to_string_lossy().parse().map_err(|error| {
            format!(
                "PIER_UPDATE_ENDPOINT is not a URL ({error}); give the address of a latest.json"
            )
        })?;
        builder = builder
            .endpoints(vec![endpoint])
            .map_err(|error| error.to_string())?;
    }
    match builder.build() {
        Ok(updater) => Ok(Some(updater)),
        Err(tauri_plugin_updater::Error::EmptyEndpoints) => Ok(None),
        Err(error) => Err(error.to_string()),
    }
}

async fn check(app: &AppHandle) -> Result<(), String> {
    let Some(updater) = updater(app)? else {
        return Ok(());
    };
    let Some(update) = updater.check().await.map_err(|error| error.to_string())? else {
        return Ok(());
    };
    let offer = offer_of(&update);
    *app.state::<Updates>().offered.lock().unwrap() = Some(update);
    let _ = app.emit("pier://update", &offer);
    Ok(())
}

fn offer_of(update: &Update) -> UpdateOffer {
    UpdateOffer {
        version: update.version.clone(),
        current_version: update.current_version.clone(),
        notes: update.body.clone().filter(|notes| !notes.trim().is_empty()),
        date: update
            .raw_json
            .get("pub_date")
            .and_then(|date| date.as_str())
            .map(str::to_string),
    }
}

/// The release on offer, for a window that opened after the check.
pub fn offered(app: &AppHandle) -> Option<UpdateOffer> {
    app.state::<Updates>()
        .offered
        .lock()
        .unwrap()
        .as_ref()
        .map(offer_of)
}

/// Downloads the offered release, checks its signature, installs it and restarts as it.
pub async fn install(app: &AppHandle) -> Result<(), UserError> {
    let Some(update) = app.state::<Updates>().offered.lock().unwrap().clone() else {
        return Err(UserError::new(
            "There is no update to install.",
            "Pier checks for updates at start and once a day; this version is the newest it found.",
        ));
    };
    let (version, current) = (update.version.clone(), update.current_version.clone());
    let bytes = update
        .download(|_, _| {}, || {})
        .await
        .map_err(|error| refused(&version, &current, &error))?;
    // Installing runs the package manager and may wait on a password prompt: off the async
    // workers, which keep serving the window and the proxy meanwhile.
    tauri::async_runtime::spawn_blocking(move || update.install(bytes))
        .await
        .map_err(|error| {
            UserError::new(
                format!("The update to {version} stopped: {error}. Pier {current} keeps running."),
                "Try again, or install the package yourself.",
            )
        })?
        .map_err(|error| refused(&version, &current, &error))?;
    app.restart()
}

fn refused(version: &str, current: &str, error: &tauri_plugin_updater::Error) -> UserError {
    use tauri_plugin_updater::Error;
    match error {
        Error::Minisign(_) | Error::SignatureUtf8(_) | Error::Base64(_) => UserError::new(
            format!(
                "The update to {version} is not signed with Pier's key, so it was not installed. Pier {current} keeps running."
            ),
            "Download Pier from its releases page yourself, and tell the maintainers: an update that fails its signature check may have been tampered with.",
        ),
        Error::PackageInstallFailed
        | Error::DebInstallFailed
        | Error::AuthenticationFailed
        | Error::InvalidUpdaterFormat => UserError::new(
            format!(
                "The update to {version} could not be installed: {error}. Pier {current} keeps running."
            ),
            "Installing needs an administrator's approval; try again and approve it, or install the package yourself.",
        ),
        _ => UserError::new(
            format!(
                "The update to {version} could not be downloaded: {error}. Pier {current} keeps running."
            ),
            "Check the network connection and try again.",
        ),
    }
}

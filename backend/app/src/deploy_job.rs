//! A deploy started from the window: what was dropped (or picked) is checked, then Pier tells
//! a built site from a source tree and either deploys it or builds it first, on a tokio task,
//! reporting progress (files hashed, bytes uploaded, ETA) and the outcome as events. The same
//! [`dropped_folder`] check runs for a native drop and for the "pick a folder" button, so the
//! end-to-end tests drive exactly the drop handler's path. Deploys never touch production
//! (promotion is its own, confirmed step), so a failure here never loses what is live.

use pier_core::project_env::ProjectEnvs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::App;
use super::events::{AppEvent, UserError};
use super::meter::{Meter, Phase};
use super::views::{JobState, Status, now_ms};
use pier_core::builds::detect::{self, BuildOverrides};
use pier_core::builds::{self, BuildRequest};
use pier_core::deploy::{DeployOutcome, DeployRequest, default_project};
use pier_core::error::PierError;
use pier_core::logs::{BuildStatus, LogStream, LogWriter};
use pier_core::progress::Progress;

/// Progress events go to the window at most this often (plus phase changes and the end).
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// The one folder a drop or pick names, or what to do instead.
pub fn dropped_folder(paths: &[PathBuf]) -> Result<PathBuf, UserError> {
    let [path] = paths else {
        return Err(if paths.is_empty() {
            UserError::new(
                "Nothing was dropped",
                "drag a folder from your file manager onto the window",
            )
        } else {
            UserError::new(
                format!(
                    "{} items were dropped; Pier deploys one folder at a time",
                    paths.len()
                ),
                "drop the one folder that holds your site",
            )
        });
    };
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(UserError::new(
                format!("`{}` is a file, not a folder", path.display()),
                "drop the folder that holds your site (with its index.html), or its source tree (with package.json)",
            ));
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(UserError::new(
                format!("`{}` does not exist", path.display()),
                "pick the folder again; it may have been moved",
            ));
        }
        Err(error) => {
            return Err(UserError::new(
                format!("Cannot read `{}`: {error}", path.display()),
                "check the folder's permissions",
            ));
        }
    }
    let mut entries = std::fs::read_dir(path).map_err(|error| {
        UserError::new(
            format!("Cannot read `{}`: {error}", path.display()),
            "check the folder's permissions",
        )
    })?;
    if entries.next().is_none() {
        return Err(UserError::new(
            format!("`{}` is empty", path.display()),
            "build your site first, or drop the folder that holds its files (an index.html at least)",
        ));
    }
    Ok(path.clone())
}

fn new_job_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("job-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

pub fn spawn(app: App, dir: PathBuf, project: Option<String>) -> String {
    let job = new_job_id();
    // Registered before the task first runs, so a cancel sent right after the drop is kept.
    let cancel = app.register_job(&job);
    let job_id = job.clone();
    tokio::spawn(async move { run(app, job_id, dir, project, cancel).await });
    job
}

async fn run(
    app: App,
    job: String,
    dir: PathBuf,
    project: Option<String>,
    cancel: tokio_util::sync::CancellationToken,
) {
    run_job(&app, &job, dir, project, &cancel).await;
    app.forget_job(&job);
}

/// One deploy job; `cancel` stops it (a build is stopped with its process tree; a deploy
/// stops before its manifest is written, so nothing half-made is ever served).
async fn run_job(
    app: &App,
    job: &str,
    dir: PathBuf,
    project: Option<String>,
    cancel: &tokio_util::sync::CancellationToken,
) {
    let app = app.clone();
    let job = job.to_string();
    let events = app.events().clone();
    let project = match project.filter(|p| !p.trim().is_empty()) {
        Some(name) => pier_core::project_name::validate(&name).map(|()| name),
        None => default_project(&dir),
    };
    let project = match project {
        Ok(project) => project,
        Err(error) => {
            events.emit(AppEvent::DeployFailed {
                job,
                project: None,
                deployment: None,
                error: UserError::from(error).into(),
            });
            return;
        }
    };
    // Reading the folder to tell a built site from a source tree can take a while on a huge
    // folder: off the async threads.
    let detect_dir = dir.clone();
    let plan = tokio::task::spawn_blocking(move || {
        detect::detect(&detect_dir, &BuildOverrides::default())
    })
    .await
    .expect("detection does not panic");
    let plan = match plan {
        Ok(plan) => plan,
        Err(error) => {
            fail(&app, &job, &project, None, PierError::from(error).into());
            return;
        }
    };
    let env = match ProjectEnvs::for_this_machine().resolve(&project) {
        Ok(env) => env,
        Err(error) => {
            fail(&app, &job, &project, None, PierError::from(error).into());
            return;
        }
    };
    let target = app.target();
    let deployment = plan
        .needs_build()
        .then(|| pier_core::manifest::new_id(time::OffsetDateTime::now_utc()));
    let meter = Arc::new(Mutex::new((
        Meter::new(&job, &project, deployment.clone()),
        Instant::now() - PROGRESS_INTERVAL,
        Phase::Starting,
    )));
    let progress = {
        let meter = meter.clone();
        let events = events.clone();
        Progress::new(move |event| {
            let mut guard = meter.lock().expect("not poisoned");
            let now = Instant::now();
            guard.0.apply(&event, now);
            let phase = guard.0.snapshot().phase;
            if phase != guard.2 || now.duration_since(guard.1) >= PROGRESS_INTERVAL {
                guard.1 = now;
                guard.2 = phase;
                events.emit(AppEvent::DeployProgress(guard.0.snapshot().clone()));
            }
        })
    };
    // A build's log exists, with its Queued status, before the window first hears the
    // deployment's id: a follow started at once finds it.
    let build_log = match &deployment {
        Some(id) => {
            let (live, warning) = target.build_logs().await;
            let secrets = env
                .as_ref()
                .map(|env| env.secret_values())
                .unwrap_or_default();
            let log = LogWriter::new(id, live.as_backend(), secrets);
            log.status(BuildStatus::Queued, None).await;
            if let Some(warning) = warning {
                log.line(
                    LogStream::System,
                    &format!("warning: {warning}; {}", warning.hint),
                )
                .await;
            }
            Some(log)
        }
        None => None,
    };
    let first = meter.lock().expect("not poisoned").0.snapshot().clone();
    events.emit(AppEvent::DeployProgress(first));
    let status = if deployment.is_some() {
        Status::Building
    } else {
        Status::Deploying
    };
    app.record_job(
        &project,
        JobState {
            status,
            message: None,
            at_ms: now_ms(),
        },
    );
    events.emit(AppEvent::Changed {
        project: Some(project.clone()),
    });

    let result: Result<DeployOutcome, PierError> = match &build_log {
        Some(log) => {
            let request = BuildRequest {
                dir: dir.clone(),
                project: project.clone(),
                production: false,
                overrides: BuildOverrides::default(),
                env: env.as_ref().map(|env| env.to_vars()).unwrap_or_default(),
                timeout: builds::DEFAULT_TIMEOUT,
                source: None,
                store_cache: false,
                env_revision: env.as_ref().map(|env| env.revision.clone()),
            };
            builds::build_and_deploy(&target.regions, &request, log, cancel, &progress).await
        }
        None => {
            let request = DeployRequest {
                env,
                ..DeployRequest::folder(&dir, Some(project.clone()), false)
            };
            tokio::select! {
                outcome = target.regions.deploy(&request, &progress) => outcome,
                () = cancel.cancelled() => Err(PierError::DeployCanceled),
            }
        }
    };
    match result {
        Ok(outcome) => {
            app.record_job(
                &project,
                JobState {
                    status: Status::Ready,
                    message: None,
                    at_ms: now_ms(),
                },
            );
            events.emit(AppEvent::DeployFinished {
                job,
                project: project.clone(),
                preview_url: target.url_for(&outcome.summary.preview),
                deployment: outcome.summary.id.clone(),
                built: deployment.is_some(),
            });
            events.emit(AppEvent::Changed {
                project: Some(project),
            });
        }
        Err(error) => fail(&app, &job, &project, deployment, error.into()),
    }
}

fn fail(app: &App, job: &str, project: &str, deployment: Option<String>, error: UserError) {
    app.record_job(
        project,
        JobState {
            status: Status::Failed,
            message: Some(error.message.clone()),
            at_ms: now_ms(),
        },
    );
    app.events().emit(AppEvent::DeployFailed {
        job: job.to_string(),
        project: Some(project.to_string()),
        deployment,
        error: error.into(),
    });
    app.events().emit(AppEvent::Changed {
        project: Some(project.to_string()),
    });
}

/// Whether `dir` is a source tree Pier would build before deploying (shown before a deploy).
pub fn needs_build(dir: &Path) -> bool {
    detect::detect(dir, &BuildOverrides::default()).is_ok_and(|plan| plan.needs_build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_empty_folders_and_many_items_are_refused_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("index.html");
        std::fs::write(&file, "<h1>hi</h1>").unwrap();
        let error = dropped_folder(std::slice::from_ref(&file)).unwrap_err();
        assert!(
            error.message.contains("is a file, not a folder"),
            "{error:?}"
        );
        assert!(error.hint.contains("drop the folder"));
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        let error = dropped_folder(std::slice::from_ref(&empty)).unwrap_err();
        assert!(error.message.ends_with("is empty"), "{error:?}");
        let error = dropped_folder(&[file.clone(), empty.clone()]).unwrap_err();
        assert!(error.message.contains("2 items"), "{error:?}");
        assert!(dropped_folder(&[]).is_err());
        assert!(
            dropped_folder(&[dir.path().join("gone")])
                .unwrap_err()
                .message
                .contains("does not exist")
        );
        assert_eq!(
            dropped_folder(&[dir.path().to_path_buf()]).unwrap(),
            dir.path()
        );
    }
}

//! Builds: detect how a source tree builds, run its install and build with the project's
//! environment (secrets masked in every log line), a time limit and cancel, then deploy the
//! output through the deploy engine. Status changes and every output line go to the build's
//! log ([`crate::logs`]), which is archived beside the deployment at the end. Nothing is
//! deployed, let alone promoted, from a failed, timed-out or canceled build.
//!
//! The output lands in every region at once ([`Regions::deploy`]); the log, the source archive
//! and the build cache live in the primary's store only. The log ends with a line per region
//! that did not get the deployment, and says how it catches up.

pub mod archive;
pub mod cache;
pub mod detect;
pub mod git;
pub mod job;
#[cfg(feature = "queue")]
pub mod queue;
pub mod runner;
#[cfg(feature = "queue")]
pub mod worker;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::deploy::{DeployOutcome, DeployRequest};
use crate::error::PierError;
use crate::logs::{BuildStatus, LogStream, LogWriter};
use crate::manifest::Source;
use crate::progress::Progress;
use crate::project_env::FunctionEnv;
use crate::regions::Regions;
use crate::store::Store;
use detect::{BuildOverrides, BuildPlan, Step};
use runner::{RunOptions, RunOutcome};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvVar {
    pub name: String,
    pub value: String,
    /// Masked in every log line.
    #[serde(default)]
    pub secret: bool,
}

#[derive(Debug, Clone)]
pub struct BuildRequest {
    /// The source tree; the build runs in it.
    pub dir: PathBuf,
    pub project: String,
    pub production: bool,
    pub overrides: BuildOverrides,
    pub env: Vec<EnvVar>,
    pub timeout: Duration,
    pub source: Option<Source>,
    /// Save the package manager's cache to the store and restore it next time. Worth it where
    /// the disk starts empty (builder tasks); a machine's own cache is faster where it exists.
    pub store_cache: bool,
    /// When `env` is the project's `pier env` (at this revision), its functions get it too.
    pub env_revision: Option<String>,
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15 * 60);

impl FunctionEnv {
    /// The variables a build runs with, as its functions get them.
    pub fn from_vars(revision: &str, vars: &[EnvVar]) -> FunctionEnv {
        let mut env = FunctionEnv {
            revision: revision.to_string(),
            ..FunctionEnv::default()
        };
        for var in vars {
            let side = if var.secret {
                &mut env.secrets
            } else {
                &mut env.plain
            };
            side.insert(var.name.clone(), var.value.clone());
        }
        env
    }

    /// The variables as a build gets them, secrets marked to be masked.
    pub fn to_vars(&self) -> Vec<EnvVar> {
        let plain = self.plain.iter().map(|(name, value)| (name, value, false));
        let secrets = self.secrets.iter().map(|(name, value)| (name, value, true));
        plain
            .chain(secrets)
            .map(|(name, value, secret)| EnvVar {
                name: name.clone(),
                value: value.clone(),
                secret,
            })
            .collect()
    }
}

/// The secrets a log writer for this build must mask.
pub fn secrets(env: &[EnvVar]) -> Vec<String> {
    env.iter()
        .filter(|var| var.secret)
        .map(|var| var.value.clone())
        .collect()
}

/// Builds and deploys to every region; the log writer's deployment id becomes the
/// deployment's id.
pub async fn build_and_deploy(
    regions: &Regions,
    request: &BuildRequest,
    log: &LogWriter,
    cancel: &CancellationToken,
    progress: &Progress,
) -> Result<DeployOutcome, PierError> {
    let owner = Owner {
        project: &request.project,
        production: request.production,
    };
    owner.started(regions.primary_store(), log).await;
    let result = run_build(regions, request, log, cancel, progress).await;
    conclude(
        regions.primary_store(),
        log,
        owner,
        result.as_ref().map(|_| ()),
    )
    .await;
    result
}

/// Whose build it is, as the build history records it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Owner<'a> {
    pub project: &'a str,
    pub production: bool,
}

impl Owner<'_> {
    /// Puts the build in the history as running.
    pub(crate) async fn started(self, store: &dyn Store, log: &LogWriter) {
        self.record(store, log, BuildStatus::Building, None).await;
    }

    /// Writes the build's history record as it stands: `status`, and why when it failed.
    async fn record(
        self,
        store: &dyn Store,
        log: &LogWriter,
        status: BuildStatus,
        message: Option<String>,
    ) {
        let summary = crate::logs::history::summary(
            log.deployment(),
            self.project,
            self.production,
            status,
            message,
        );
        crate::logs::history::record(store, &summary).await;
    }
}

/// Writes the terminal status for `result`, archives the whole log, and records the end in
/// the build history.
pub(crate) async fn conclude(
    store: &dyn Store,
    log: &LogWriter,
    owner: Owner<'_>,
    outcome: Result<(), &PierError>,
) {
    let (status, message) = match outcome {
        Ok(_) => (BuildStatus::Ready, None),
        Err(PierError::BuildCanceled) => (BuildStatus::Canceled, None),
        Err(error) => (BuildStatus::Failed, Some(error.to_string())),
    };
    log.status(status, message.clone()).await;
    if let Err(error) = log.finish(store).await {
        tracing::warn!(%error, "could not archive the build log");
    }
    owner.record(store, log, status, message).await;
}

/// `.vercel/output`, when this build wrote it (a framework's Vercel adapter) and no output
/// folder was chosen by hand: it holds the functions as well as the files. One left from an
/// earlier build is not used.
fn fresh_build_output(
    request: &BuildRequest,
    build_started: std::time::SystemTime,
) -> Option<std::path::PathBuf> {
    if request.overrides.output_dir.is_some() {
        return None;
    }
    let output = request.dir.join(crate::functions::build_output::OUTPUT_DIR);
    let written = std::fs::metadata(output.join("config.json"))
        .and_then(|meta| meta.modified())
        .ok()?;
    (written >= build_started).then_some(output)
}

pub(crate) async fn run_build(
    regions: &Regions,
    request: &BuildRequest,
    log: &LogWriter,
    cancel: &CancellationToken,
    progress: &Progress,
) -> Result<DeployOutcome, PierError> {
    let store = regions.primary_store();
    let plan: BuildPlan = detect::detect(&request.dir, &request.overrides)?;
    log.line(
        LogStream::System,
        &format!(
            "Detected {:?}; output folder `{}`",
            plan.framework, plan.output_dir
        ),
    )
    .await;
    let deadline = tokio::time::Instant::now() + request.timeout;
    let build_started = std::time::SystemTime::now();
    let mut env: Vec<(String, String)> = request
        .env
        .iter()
        .map(|var| (var.name.clone(), var.value.clone()))
        .collect();
    let cache_home = tempfile::tempdir().map_err(|source| PierError::Unreadable {
        path: std::env::temp_dir(),
        source,
    })?;
    let cache = match (request.store_cache, plan.package_manager, &plan.install) {
        (true, Some(manager), Some(_)) => {
            restore_cache(store, &request.dir, manager, cache_home.path(), log).await
        }
        _ => None,
    };
    if let Some(cache) = &cache {
        env.extend(cache.environment());
    }
    for (status, step) in [
        (BuildStatus::Installing, &plan.install),
        (BuildStatus::Building, &plan.build),
    ] {
        let Some(step) = step else { continue };
        log.status(status, None).await;
        log.line(LogStream::System, &format!("$ {}", step.display()))
            .await;
        let started = Instant::now();
        let outcome = runner::run(
            step,
            RunOptions {
                dir: &request.dir,
                env: &env,
                deadline,
                cancel,
                log,
            },
        )
        .await
        .map_err(|detail| PierError::BuildFailed {
            step: step.display(),
            detail,
        })?;
        check(step, outcome, request.timeout)?;
        log.line(
            LogStream::System,
            &format!("Finished in {:.1} s", started.elapsed().as_secs_f64()),
        )
        .await;
    }
    let build_output = fresh_build_output(request, build_started);
    let output = match build_output.clone() {
        Some(build_output) => {
            log.line(
                LogStream::System,
                "The build wrote a Build Output API folder: deploying `.vercel/output` (files and functions)",
            )
            .await;
            build_output
        }
        None => request.dir.join(&plan.output_dir),
    };
    if !output.is_dir() {
        return Err(PierError::BuildFailed {
            step: "output".into(),
            detail: format!(
                "the build left no `{}` folder; set the output folder in the project's settings",
                plan.output_dir
            ),
        });
    }
    log.status(BuildStatus::Uploading, None).await;
    let deploy_request = DeployRequest {
        id: Some(log.deployment().to_string()),
        source: Some(request.source.clone().unwrap_or_else(|| {
            Source::Folder {
                path: std::path::absolute(&request.dir)
                    .unwrap_or_else(|_| request.dir.clone())
                    .display()
                    .to_string(),
                host: None,
            }
        })),
        env: request
            .env_revision
            .as_ref()
            .map(|revision| FunctionEnv::from_vars(revision, &request.env)),
        // The project's own `api/`, beside the output folder, unless the adapter's Build
        // Output already holds the functions.
        project_root: build_output.is_none().then(|| request.dir.clone()),
        ..DeployRequest::folder(output, Some(request.project.clone()), request.production)
    };
    // A cancel while the output uploads stops the deploy before its manifest is written, so
    // nothing half-made is ever listed or served.
    let outcome = tokio::select! {
        outcome = regions.deploy(&deploy_request, progress) => outcome?,
        () = cancel.cancelled() => return Err(PierError::BuildCanceled),
    };
    log.line(
        LogStream::System,
        &format!(
            "Deployed {} files ({} new)",
            outcome.summary.file_count, outcome.uploaded_blobs
        ),
    )
    .await;
    log_regions(log, &outcome).await;
    if let Some(cache) = &cache {
        match cache.save(store).await {
            Ok(0) => {}
            Ok(bytes) => {
                log.line(
                    LogStream::System,
                    &format!(
                        "Saved the build cache ({:.1} MiB)",
                        bytes as f64 / 1048576.0
                    ),
                )
                .await
            }
            Err(error) => {
                log.line(
                    LogStream::System,
                    &format!("warning: could not save the build cache: {error}"),
                )
                .await
            }
        }
    }
    Ok(outcome)
}

/// One line per other region: where the deployment landed, and what a region that did not
/// get it lacks (it keeps serving what it had, complete).
async fn log_regions(log: &LogWriter, outcome: &DeployOutcome) {
    for report in &outcome.regions {
        let line = if report.state.in_sync() {
            format!("Region {}: in sync", report.region)
        } else {
            format!(
                "warning: region {} is {}; it catches up on the project's next deploy or with \
                 `pier regions sync`",
                report.region,
                report.state.describe()
            )
        };
        log.line(LogStream::System, &line).await;
    }
}

/// A cache problem is never a build failure: the install just downloads everything.
async fn restore_cache(
    store: &dyn Store,
    source: &std::path::Path,
    manager: detect::PackageManager,
    cache_home: &std::path::Path,
    log: &LogWriter,
) -> Option<cache::BuildCache> {
    let found = cache::BuildCache::for_source(source, manager, cache_home.join("packages"));
    let cache = match found {
        Ok(Some(cache)) => cache,
        Ok(None) => return None,
        Err(error) => {
            log.line(
                LogStream::System,
                &format!("warning: no build cache: {error}"),
            )
            .await;
            return None;
        }
    };
    let message = match cache.restore(store).await {
        Ok(true) => "Restored the build cache for this lockfile".to_string(),
        Ok(false) => "No build cache for this lockfile yet; it is saved after the build".into(),
        Err(error) => format!("warning: could not restore the build cache: {error}"),
    };
    log.line(LogStream::System, &message).await;
    Some(cache)
}

fn check(step: &Step, outcome: RunOutcome, timeout: Duration) -> Result<(), PierError> {
    match outcome {
        RunOutcome::Succeeded => Ok(()),
        RunOutcome::Failed { code } => Err(PierError::BuildFailed {
            step: step.display(),
            detail: match code {
                Some(code) => format!("it exited with status {code}"),
                None => "it was killed by a signal".into(),
            },
        }),
        RunOutcome::TimedOut => Err(PierError::BuildFailed {
            step: step.display(),
            detail: format!("it ran past the {} s time limit", timeout.as_secs()),
        }),
        RunOutcome::Canceled => Err(PierError::BuildCanceled),
    }
}

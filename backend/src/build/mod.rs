//! Builds: detect how a source tree builds, run its install and build with the project's
//! environment (secrets masked in every log line), a time limit and cancel, then deploy the
//! output through the deploy engine. Status changes and every output line go to the build's
//! log ([`crate::logs`]), which is archived beside the deployment at the end. Nothing is
//! deployed, let alone promoted, from a failed, timed-out or canceled build.

pub mod detect;
pub mod ecs;
pub mod git;
pub mod runner;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::deploy::{self, DeployOutcome, DeployRequest};
use crate::error::PierError;
use crate::logs::{BuildStatus, LogStream, LogWriter};
use crate::manifest::Source;
use crate::progress::Progress;
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
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// The secrets a log writer for this build must mask.
pub fn secrets(env: &[EnvVar]) -> Vec<String> {
    env.iter()
        .filter(|var| var.secret)
        .map(|var| var.value.clone())
        .collect()
}

/// Builds and deploys; the log writer's deployment id becomes the deployment's id.
pub async fn build_and_deploy(
    store: &dyn Store,
    request: &BuildRequest,
    log: &LogWriter,
    cancel: &CancellationToken,
    progress: &Progress,
) -> Result<DeployOutcome, PierError> {
    let result = run_build(store, request, log, cancel, progress).await;
    match &result {
        Ok(_) => log.status(BuildStatus::Ready, None).await,
        Err(PierError::BuildCanceled) => log.status(BuildStatus::Canceled, None).await,
        Err(error) => {
            log.status(BuildStatus::Failed, Some(error.to_string()))
                .await
        }
    }
    if let Err(error) = log.finish(store).await {
        tracing::warn!(%error, "could not archive the build log");
    }
    result
}

async fn run_build(
    store: &dyn Store,
    request: &BuildRequest,
    log: &LogWriter,
    cancel: &CancellationToken,
    progress: &Progress,
) -> Result<DeployOutcome, PierError> {
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
    let env: Vec<(String, String)> = request
        .env
        .iter()
        .map(|var| (var.name.clone(), var.value.clone()))
        .collect();
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
    let output = request.dir.join(&plan.output_dir);
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
        ..DeployRequest::folder(output, Some(request.project.clone()), request.production)
    };
    let outcome = deploy::deploy(store, &deploy_request, progress).await?;
    log.line(
        LogStream::System,
        &format!(
            "Deployed {} files ({} new)",
            outcome.summary.file_count, outcome.uploaded_blobs
        ),
    )
    .await;
    Ok(outcome)
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

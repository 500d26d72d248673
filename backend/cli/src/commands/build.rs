//! The builds `pier deploy` runs: a job (a shallow git clone or the folder itself), run here
//! with its log on the terminal (Ctrl-C cancels the whole process group), or handed to builder
//! workers through the SQS queue or to a one-off ECS task, then followed through Redis until
//! it ends. Nothing from a failed build is deployed.

use pier_core::deploy::default_project;
use pier_core::logs::LIVE_LOG_RETENTION;
use pier_core::regions::Regions;
use pier_core::store::DynStore;
use pier_core::{PierError, deployments};
use serde_json::json;

use super::logs::{live_logs, print_follow};
use crate::bars;
use crate::output::Output;

/// The job for `pier deploy`: a git clone, or the folder itself.
pub fn build_job(
    dir: &std::path::Path,
    project: Option<String>,
    prod: bool,
    git: Option<String>,
    git_ref: Option<String>,
) -> anyhow::Result<pier_core::builds::job::BuildJob> {
    use pier_core::builds::job::{BuildJob, JobSource};
    let (source, default_name) = match git {
        Some(url) => {
            let name = url
                .trim_end_matches('/')
                .trim_end_matches(".git")
                .rsplit(['/', ':'])
                .next()
                .unwrap_or("site")
                .to_string();
            (
                JobSource::Git {
                    url,
                    reference: git_ref,
                },
                pier_core::project_name::from_folder_name(&name),
            )
        }
        None => {
            pier_core::scan::check_folder(dir)?;
            (
                JobSource::Folder {
                    path: std::path::absolute(dir)?,
                },
                default_project(dir).ok(),
            )
        }
    };
    let Some(project) = project.or(default_name) else {
        anyhow::bail!("cannot make a project name from the source; pass --project NAME")
    };
    let job = BuildJob::new(&project, prod, source);
    job.validate()?;
    Ok(job)
}

/// Live logs for a build run here: Redis when it answers; otherwise a warning, and the log
/// stays in-process (it is archived to the store either way).
async fn build_logs(
    redis: Option<&str>,
) -> anyhow::Result<std::sync::Arc<dyn pier_core::logs::LiveAndBackend>> {
    if let Some(url) = redis {
        let logs = pier_core::logs::redis::RedisLogs::open(url, LIVE_LOG_RETENTION)?;
        match logs.check().await {
            Ok(()) => return Ok(std::sync::Arc::new(logs)),
            Err(error) => eprintln!(
                "warning: {error}; live logs stay in this terminal, and the whole log is archived \
                 to the store (`pier logs ID`)"
            ),
        }
    }
    live_logs(None)
}

/// Runs the build on this machine with its log on the terminal; Ctrl-C cancels it.
pub async fn build_here(
    regions: &Regions,
    out: &Output<'_>,
    redis: Option<&str>,
    job: pier_core::builds::job::BuildJob,
    env: Option<&pier_core::project_env::FunctionEnv>,
) -> anyhow::Result<()> {
    use pier_core::builds::job::{self, JobContext};
    use pier_core::logs::{self, LogWriter};
    let live = build_logs(redis).await?;
    let secrets = env.map(|env| env.secret_values()).unwrap_or_default();
    let log = LogWriter::new(&job.deployment, live.clone().as_backend(), secrets);
    // The log exists from here on, so the follower below never mistakes it for a missing one.
    log.status(logs::BuildStatus::Queued, None).await;
    let checkout = tempfile::tempdir()?;
    let cancel = tokio_util::sync::CancellationToken::new();
    let on_interrupt = cancel.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        on_interrupt.cancel();
    });
    let follower = print_follow(
        live.clone().as_live(),
        regions.store(),
        &job.deployment,
        out.json,
    );
    let (progress, _bar) = bars::deploy_progress(false);
    let result = job::run(
        regions,
        &job,
        JobContext {
            log: &log,
            // The project's secrets from the keychain; a job's own from this environment.
            env: job.environment(|name| {
                env.and_then(|env| env.secrets.get(name).cloned())
                    .or_else(|| std::env::var(name).ok())
            })?,
            cancel: &cancel,
            progress: &progress,
            workdir: checkout.path(),
            store_cache: false,
            retry_on_transient: false,
        },
    )
    .await;
    let _ = follower.await;
    let outcome = result?;
    if out.json {
        let mut deployed = out.deployed_json(&outcome);
        deployed["log"] = json!(log.records());
        out.print(deployed);
    } else {
        let (preview_url, production_url) = out.urls(&outcome);
        println!(
            "Built and deployed {} as {}",
            outcome.summary.project, outcome.summary.id
        );
        println!("  preview     {preview_url}");
        if let Some(url) = production_url {
            println!("  production  {url}");
        }
        out.region_lines(&outcome.regions);
    }
    Ok(())
}

/// Hands the build to builder workers (the SQS queue) or a one-off ECS task, then follows
/// its log through Redis until it ends. A local folder travels as a source archive.
pub async fn build_remotely(
    store: &DynStore,
    out: &Output<'_>,
    redis: Option<&str>,
    builds: &pier_core::config::BuildsConfig,
    runner: &str,
    mut job: pier_core::builds::job::BuildJob,
) -> anyhow::Result<()> {
    use pier_core::builds::job::JobSource;
    use pier_core::logs::{self, LogWriter};
    if let JobSource::Folder { path } = &job.source {
        eprintln!("Uploading the source of {}…", path.display());
        let key = pier_core::builds::archive::upload(store.as_ref(), path).await?;
        job.source = JobSource::Archive {
            key,
            folder: path.display().to_string(),
        };
    }
    let live = live_logs(redis)?;
    let id = job.deployment.clone();
    let mut stop_task = None;
    match runner {
        "queue" => {
            let url =
                builds
                    .queue_url
                    .as_deref()
                    .ok_or_else(|| PierError::RemoteBuildsNotSetUp {
                        what: "a build queue (`[builds] queue_url` in the config)".into(),
                    })?;
            let queue = pier_core::builds::queue::BuildQueue::connect(url, None).await;
            queue.submit(&job, live.clone().as_backend()).await?;
        }
        _ => {
            let target = builds
                .ecs
                .clone()
                .ok_or_else(|| PierError::RemoteBuildsNotSetUp {
                    what: "an ECS target (`[builds.ecs]` in the config)".into(),
                })?;
            let runner = pier_aws::ecs_builds::EcsRunner::connect(target, None).await;
            let log = LogWriter::new(&id, live.clone().as_backend(), Vec::new());
            log.status(
                logs::BuildStatus::Queued,
                Some("starting a builder task".into()),
            )
            .await;
            log.flush().await;
            let task = runner
                .start(&pier_aws::ecs_builds::EcsBuild {
                    deployment: id.clone(),
                    environment: vec![("PIER_BUILD_JOB".into(), serde_json::to_string(&job)?)],
                })
                .await?;
            stop_task = Some((runner, task));
        }
    }
    if redis.is_none() {
        if out.json {
            out.print(json!({ "deployment": id, "status": "queued" }));
        } else {
            println!("Queued the build of {} as {id}", job.project);
            println!(
                "  follow it with `pier logs {id} --follow` (live with --redis-url), or see it in \
                 `pier ls {}` when it is done",
                job.project
            );
        }
        return Ok(());
    }
    let follower = print_follow(live.as_live(), store, &id, out.json);
    let aborted = tokio::select! {
        seen = follower => seen.ok(),
        _ = tokio::signal::ctrl_c() => None,
    };
    let Some(seen) = aborted else {
        if let Some((runner, task)) = &stop_task {
            runner.stop(task, "canceled from pier deploy").await?;
            anyhow::bail!("canceled: the builder task is stopping and nothing is deployed");
        }
        anyhow::bail!(
            "stopped following; the build goes on (`pier logs {id} --follow` to watch it again)"
        );
    };
    let last = seen.iter().rev().find_map(|record| match &record.kind {
        logs::LogKind::Status { status, message } => Some((*status, message.clone())),
        _ => None,
    });
    match last {
        Some((logs::BuildStatus::Ready, _)) => {
            let manifest = deployments::resolve(store.as_ref(), &id).await?;
            let summary = manifest.summary();
            let preview_url = out.settings.base_url.for_label(&summary.preview);
            let production_url = job
                .production
                .then(|| out.settings.base_url.for_label(&summary.project));
            if out.json {
                out.print(json!({
                    "deployment": summary,
                    "preview_url": preview_url,
                    "production_url": production_url,
                    "log": seen,
                }));
            } else {
                println!("Built and deployed {} as {id}", summary.project);
                println!("  preview     {preview_url}");
                if let Some(url) = production_url {
                    println!("  production  {url}");
                }
            }
            Ok(())
        }
        Some((status, message)) => Err(PierError::BuildFailed {
            step: format!("{status:?}").to_lowercase(),
            detail: message.unwrap_or_else(|| "see the log above".into()),
        }
        .into()),
        None => anyhow::bail!("the build's log ended without a status; see `pier logs {id}`"),
    }
}

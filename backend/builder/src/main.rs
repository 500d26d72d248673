//! `pier-builder`: the builder image's entry point. `run` performs the one build job ECS hands
//! it in `PIER_BUILD_JOB`; `worker` takes jobs from the SQS build queue until stopped. Either
//! way the build streams its log to Redis (when `PIER_REDIS_URL` is set), archives it in the
//! store, and deploys through the same engine as `pier deploy`.
//!
//! With other regions (`PIER_REGIONS`, which `pier setup aws --regions` sets), each build's
//! output lands in every region at once, as `pier deploy` does; a region that does not answer is
//! named in the build's log and does not fail the build.
//!
//! SIGTERM (what ECS StopTask sends) cancels a `run` build, which is then marked canceled; a
//! `worker` stops taking jobs and finishes the ones it has.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use pier_core::builds::job::{self, BuildJob, JobContext};
use pier_core::builds::queue::BuildQueue;
use pier_core::builds::worker::{self, WorkerOptions, WorkerStats};
use pier_core::logs::{LiveAndBackend, LogWriter};
use pier_core::regions::{Region, Regions};
use pier_core::store::{self, StoreUrl};
use tokio_util::sync::CancellationToken;

use pier_core::logs::LIVE_LOG_RETENTION;

#[derive(Parser)]
#[command(name = "pier-builder", version, about = "Runs Pier build jobs.")]
struct Cli {
    /// The store deployments go to (s3://bucket[/prefix], or a folder).
    #[arg(long, env = "PIER_STORE")]
    store: String,
    /// The primary region's name (the one `--store` is in).
    #[arg(long, env = "PIER_REGION", default_value = pier_core::regions::PRIMARY)]
    region: String,
    /// Other regions the output also lands in: `name=store` pairs separated by commas.
    #[arg(long, env = "PIER_REGIONS", default_value = "")]
    regions: String,
    /// Redis for live build logs; without it the log is only archived at the end.
    #[arg(long, env = "PIER_REDIS_URL", hide_env_values = true)]
    redis_url: Option<String>,
    /// Where checkouts go.
    #[arg(long, env = "PIER_WORKDIR")]
    workdir: Option<std::path::PathBuf>,
    /// Do not save or restore the package manager's cache in the store.
    #[arg(long)]
    no_store_cache: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one job (JSON), then exit: 0 when deployed, 1 when the build failed.
    Run {
        #[arg(long, env = "PIER_BUILD_JOB", hide_env_values = true)]
        job: String,
    },
    /// Take jobs from the SQS build queue until SIGTERM.
    Worker {
        #[arg(long, env = "PIER_BUILD_QUEUE")]
        queue: String,
        /// Builds at once on this worker.
        #[arg(long, env = "PIER_BUILD_CONCURRENCY", default_value_t = 2)]
        concurrency: usize,
        /// The queue's visibility timeout, in seconds (setup's task definition sets it).
        #[arg(long, env = "PIER_BUILD_VISIBILITY_SECS", default_value_t = 120)]
        visibility: u64,
        /// The queue's maxReceiveCount (setup's task definition sets it).
        #[arg(long, env = "PIER_BUILD_MAX_ATTEMPTS", default_value_t = 3)]
        max_attempts: u32,
        /// Seconds one receive waits for a job (long poll, at most 20).
        #[arg(long, default_value_t = 20)]
        poll: u64,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PIER_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        // Escape codes are noise in CloudWatch and `docker logs`: colour only on a terminal.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(Cli::parse()).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            if let Some(pier) = error.downcast_ref::<pier_core::PierError>() {
                eprintln!("hint: {}", pier.hint());
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let primary = Region {
        name: cli.region.clone(),
        store: store::open(&StoreUrl::parse(&cli.store)?).await?,
    };
    let regions = Regions::from_list(primary, &cli.regions).await?;
    let logs = live_logs(cli.redis_url.as_deref()).await?;
    let workdir = cli.workdir.clone().unwrap_or_else(std::env::temp_dir);
    let stop = CancellationToken::new();
    {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM can be handled");
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            stop.cancel();
        });
    }
    match cli.command {
        Command::Run { job } => {
            let job: BuildJob =
                serde_json::from_str(&job).context("PIER_BUILD_JOB is not a build job")?;
            job.validate()?;
            let env = job.environment(|name| std::env::var(name).ok())?;
            let log = LogWriter::new(
                &job.deployment,
                logs.as_backend(),
                pier_core::builds::secrets(&env),
            );
            let checkout = tempfile_in(&workdir)?;
            let result = job::run(
                &regions,
                &job,
                JobContext {
                    log: &log,
                    env,
                    cancel: &stop,
                    progress: &pier_core::progress::Progress::silent(),
                    workdir: checkout.path(),
                    store_cache: !cli.no_store_cache,
                    retry_on_transient: false,
                },
            )
            .await;
            match result {
                Ok(outcome) => {
                    println!("{}", serde_json::to_string(&outcome)?);
                    Ok(ExitCode::SUCCESS)
                }
                Err(error) => {
                    eprintln!("error: {error}\nhint: {}", error.hint());
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Worker {
            queue,
            concurrency,
            visibility,
            max_attempts,
            poll,
        } => {
            let queue = BuildQueue::connect(&queue, None).await;
            let stats = Arc::new(WorkerStats::default());
            let serving: Vec<&str> = regions.all().map(|region| region.name.as_str()).collect();
            tracing::info!(queue = queue.url(), concurrency, regions = ?serving, "taking build jobs");
            worker::work(
                queue,
                regions,
                logs,
                WorkerOptions {
                    concurrency,
                    visibility: Duration::from_secs(visibility),
                    max_attempts,
                    poll: Duration::from_secs(poll),
                    workdir,
                    store_cache: !cli.no_store_cache,
                },
                stats.clone(),
                stop,
            )
            .await?;
            tracing::info!(?stats, "stopped");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn tempfile_in(dir: &std::path::Path) -> anyhow::Result<tempfile::TempDir> {
    tempfile::tempdir_in(dir)
        .with_context(|| format!("cannot make a checkout folder in {}", dir.display()))
}

/// Redis when configured: a builder whose Redis is down still builds, and its log is archived.
async fn live_logs(redis: Option<&str>) -> anyhow::Result<Arc<dyn LiveAndBackend>> {
    if let Some(url) = redis {
        let logs = pier_core::logs::redis::RedisLogs::open(url, LIVE_LOG_RETENTION)?;
        if let Err(error) = logs.check().await {
            tracing::warn!(%error, "live logs unavailable; the log is archived to the store at the end");
        }
        return Ok(Arc::new(logs));
    }
    Ok(Arc::new(pier_core::logs::memory::LogBus::new()))
}

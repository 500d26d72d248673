//! `pier`: deploy folders as immutable deployments, promote, roll back, list, remove, collect.
//!
//! A thin edge over `pier_core`: parse arguments, resolve settings, call the engine, print.
//! Human output goes to stdout, warnings and progress to stderr; `--json` prints one JSON
//! document on stdout instead, errors included, for scripts. Errors exit with status 1 and a
//! hint of what to do next.

mod bars;
mod domains_cmd;
mod setup_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use indicatif::HumanBytes;
use pier_core::config::{ConfigFile, Settings, config_path};
use pier_core::deploy::{DeployRequest, default_project};
use pier_core::store::{self, DynStore};
use pier_core::{PierError, alias, deployments, gc};
use serde_json::json;

#[derive(Parser)]
#[command(
    name = "pier",
    version,
    about = "Deploy static sites as immutable deployments."
)]
struct Cli {
    /// Where deployments live: a folder, file:///path, or s3://bucket[/prefix].
    #[arg(long, env = "PIER_STORE", global = true)]
    store: Option<String>,
    /// The origin sites are served under, e.g. https://sites.example.com.
    #[arg(long, env = "PIER_BASE_URL", global = true)]
    base_url: Option<String>,
    /// Redis for live build logs (redis:// or rediss://); without it, logs stay in-process.
    #[arg(long, env = "PIER_REDIS_URL", global = true, hide_env_values = true)]
    redis_url: Option<String>,
    /// Print one JSON document instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Deploy a folder as a new immutable deployment.
    Deploy {
        /// A built site, or a source tree with a build script (built first).
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Project name (a DNS label); defaults to the folder's (or repository's) name.
        #[arg(long)]
        project: Option<String>,
        /// Also make it the project's production deployment.
        #[arg(long)]
        prod: bool,
        /// Deploy the folder as it is, even if it has a build script.
        #[arg(long)]
        no_build: bool,
        /// Clone this repository (shallow) and build it instead of a local folder.
        #[arg(long, conflicts_with = "no_build")]
        git: Option<String>,
        /// The branch or tag to clone with --git.
        #[arg(long = "ref", requires = "git")]
        git_ref: Option<String>,
        /// Where a build runs: `local` (this machine), `queue` (builder workers through the SQS
        /// build queue) or `ecs` (a one-off Fargate task). Defaults to the config's
        /// `[builds] runner`, else local.
        #[arg(long, env = "PIER_BUILD_RUNNER", value_parser = ["local", "queue", "ecs"])]
        runner: Option<String>,
    },
    /// Show a build's log; --follow streams it live until the build ends.
    Logs {
        deployment: String,
        #[arg(long, short)]
        follow: bool,
    },
    /// List projects, or one project's deployments.
    Ls { project: Option<String> },
    /// Show a deployment's files and metadata.
    Inspect {
        /// Deployment id, preview name or preview URL.
        deployment: String,
    },
    /// Make a deployment its project's production deployment.
    Promote { deployment: String },
    /// Put the previous production deployment back.
    Rollback {
        /// Defaults to the current folder's project.
        project: Option<String>,
    },
    /// Remove a deployment (not the production one); its files go at the next gc.
    Rm { deployment: String },
    /// Watch folders and deploy every saved change (Ctrl-C stops). Without folders, watches the
    /// folders watched before.
    Watch {
        /// Folders to watch; each is remembered for the next `pier watch` and the desktop app.
        dirs: Vec<PathBuf>,
        /// Project name (only with one folder); defaults to the folder's name.
        #[arg(long)]
        project: Option<String>,
        /// Make each change live in production, not at <project>-watch.
        #[arg(long)]
        prod: bool,
        /// Run the folder's build on each change and deploy its output; a failed build
        /// leaves the last good deployment live.
        #[arg(long)]
        build: bool,
        /// Stop remembering these folders instead of watching them.
        #[arg(long)]
        forget: bool,
        /// List the remembered folders.
        #[arg(long, conflicts_with = "forget")]
        list: bool,
    },
    /// Serve every deployment locally at http://<project>.localhost:<port>.
    Serve {
        /// Port to listen on (loopback only); defaults to the base URL's port, else 4800.
        #[arg(long)]
        port: Option<u16>,
        /// Listen on this address instead, e.g. 0.0.0.0:8080 to serve your network.
        #[arg(long, conflicts_with = "port")]
        listen: Option<String>,
    },
    /// Make an AWS account ready for Pier: store bucket, build queue, IAM roles, ECS, load
    /// balancer, CloudFront with a certificate, DNS. Idempotent; --plan shows what it would do.
    Setup {
        #[command(subcommand)]
        target: SetupTarget,
    },
    /// Remove exactly what `pier setup` made (a bucket holding deployments is kept).
    Teardown {
        #[command(subcommand)]
        target: TeardownTarget,
    },
    /// Custom domains on the CloudFront distribution: add, ls, rm, verify.
    Domains {
        #[command(subcommand)]
        command: domains_cmd::DomainsCommand,
    },
    /// Delete stored files that no deployment uses.
    Gc {
        /// Report what would be deleted, delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum SetupTarget {
    /// Set up (or check, with --plan) Pier in an AWS account.
    Aws {
        /// Print what would be created or changed, and change nothing.
        #[arg(long)]
        plan: bool,
        #[command(flatten)]
        args: setup_cmd::AwsArgs,
    },
}

#[derive(Subcommand)]
enum TeardownTarget {
    /// Remove what `pier setup aws` made.
    Aws {
        #[command(flatten)]
        args: setup_cmd::AwsArgs,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("PIER_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let json = cli.json;
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let hint = error
                .downcast_ref::<PierError>()
                .map(PierError::hint)
                .or_else(|| {
                    error
                        .downcast_ref::<pier_core::StoreError>()
                        .map(|e| e.hint())
                })
                .or_else(|| {
                    error
                        .downcast_ref::<pier_aws::domain_wizard::DomainError>()
                        .map(|e| e.hint())
                });
            if json {
                println!("{}", json!({ "error": format!("{error:#}"), "hint": hint }));
            } else {
                eprintln!("error: {error:#}");
                if let Some(hint) = hint {
                    eprintln!("  hint: {hint}");
                }
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    // Setup works on an account, not a store: it runs before there is one to open.
    match cli.command {
        Command::Setup {
            target: SetupTarget::Aws { plan, args },
        } => return setup_cmd::setup(args, plan, cli.json).await,
        Command::Teardown {
            target: TeardownTarget::Aws { args },
        } => return setup_cmd::teardown(args, cli.json).await,
        _ => {}
    }
    let file = ConfigFile::load(&config_path())?;
    let settings = Settings::resolve(cli.store.as_deref(), cli.base_url.as_deref(), &file)?;
    let cli_redis = cli.redis_url.clone().or(file.redis_url.clone());
    let store = store::open(&settings.store).await?;
    let out = Output {
        json: cli.json,
        settings: &settings,
    };
    match cli.command {
        Command::Deploy {
            dir,
            project,
            prod,
            no_build,
            git,
            git_ref,
            runner,
        } => {
            let plan = match &git {
                Some(_) => None,
                None if no_build => None,
                None => pier_core::builds::detect::detect(&dir, &Default::default())
                    .ok()
                    .filter(|plan| plan.needs_build()),
            };
            if git.is_some() || plan.is_some() {
                let runner = runner
                    .or(file.builds.runner.clone())
                    .unwrap_or_else(|| "local".into());
                let redis = cli_redis.as_deref();
                let job = build_job(&dir, project, prod, git, git_ref)?;
                match runner.as_str() {
                    "local" => build(&store, &out, redis, job).await?,
                    remote => {
                        build_remotely(&store, &out, redis, &file.builds, remote, job).await?
                    }
                }
            } else {
                deploy(&store, &out, dir, project, prod).await?
            }
        }
        Command::Logs { deployment, follow } => {
            logs(&store, &out, cli_redis.as_deref(), &deployment, follow).await?
        }
        Command::Ls { project: None } => {
            let projects = deployments::list_projects(store.as_ref()).await?;
            if out.json {
                out.print(json!({ "projects": projects }));
            } else if projects.is_empty() {
                println!("No projects yet. Deploy one with `pier deploy DIR`.");
            } else {
                println!(
                    "{:<28} {:>5}  {:<21} URL",
                    "PROJECT", "DEPLOY", "PRODUCTION"
                );
                for project in projects {
                    println!(
                        "{:<28} {:>5}  {:<21} {}",
                        project.name,
                        project.deployments,
                        project.production.as_deref().unwrap_or("-"),
                        settings.base_url.for_label(&project.name)
                    );
                }
            }
        }
        Command::Ls {
            project: Some(project),
        } => {
            pier_core::project_name::validate(&project)?;
            let rows = deployments::list_deployments(store.as_ref(), &project).await?;
            if rows.is_empty() && alias::read(store.as_ref(), &project).await?.is_none() {
                return Err(PierError::UnknownProject { project }.into());
            }
            if out.json {
                out.print(json!({ "project": project, "deployments": rows }));
            } else {
                println!(
                    "{:<21} {:<20} {:>6} {:>10}  PREVIEW",
                    "ID", "CREATED", "FILES", "SIZE"
                );
                for row in rows {
                    let marker = if row.production { " (production)" } else { "" };
                    println!(
                        "{:<21} {:<20} {:>6} {:>10}  {}{marker}",
                        row.summary.id,
                        short_time(row.summary.created),
                        row.summary.file_count,
                        HumanBytes(row.summary.total_bytes).to_string(),
                        settings.base_url.for_label(&row.summary.preview),
                    );
                }
            }
        }
        Command::Inspect { deployment } => {
            let found = deployments::inspect(store.as_ref(), &deployment).await?;
            if out.json {
                out.print(json!({
                    "deployment": found.manifest,
                    "preview_url": settings.base_url.for_label(&found.preview),
                    "production": found.production,
                }));
            } else {
                let manifest = &found.manifest;
                println!("id          {}", manifest.id);
                println!("project     {}", manifest.project);
                println!("created     {}", short_time(manifest.created));
                println!("source      {}", manifest.source.describe());
                println!(
                    "files       {} ({})",
                    manifest.file_count,
                    HumanBytes(manifest.total_bytes)
                );
                println!(
                    "preview     {}",
                    settings.base_url.for_label(&found.preview)
                );
                if found.production {
                    println!(
                        "production  {}",
                        settings.base_url.for_label(&manifest.project)
                    );
                }
                println!();
                for file in &manifest.files {
                    println!(
                        "  {:>10}  {}  {}",
                        HumanBytes(file.size).to_string(),
                        &file.sha256[..12],
                        file.path
                    );
                }
            }
        }
        Command::Promote { deployment } => {
            let manifest = deployments::resolve(store.as_ref(), &deployment).await?;
            let change = alias::promote(
                store.as_ref(),
                &manifest.project,
                &manifest.id,
                alias::Action::Promote,
            )
            .await?;
            out.alias_change(&change);
        }
        Command::Rollback { project } => {
            let project = match project {
                Some(project) => project,
                None => default_project(&PathBuf::from("."))?,
            };
            pier_core::project_name::validate(&project)?;
            let change = alias::rollback(store.as_ref(), &project).await?;
            out.alias_change(&change);
        }
        Command::Rm { deployment } => {
            let removed = deployments::remove(store.as_ref(), &deployment).await?;
            if out.json {
                out.print(json!({ "removed": removed }));
            } else {
                println!(
                    "Removed {} ({}). Its files are freed by the next `pier gc`.",
                    removed.id, removed.preview
                );
            }
        }
        Command::Watch {
            dirs,
            project,
            prod,
            build,
            forget,
            list,
        } => watch(store, &out, dirs, project, prod, build, forget, list).await?,
        Command::Serve { port, listen } => serve(store, &settings, port, listen).await?,
        Command::Setup { .. } | Command::Teardown { .. } => unreachable!("handled above"),
        Command::Domains { command } => domains_cmd::run(store, out.json, command).await?,
        Command::Gc { dry_run } => {
            let report = gc::collect(store.as_ref(), dry_run).await?;
            if out.json {
                out.print(json!({ "gc": report }));
            } else {
                let verb = if dry_run { "Would delete" } else { "Deleted" };
                println!(
                    "{verb} {} unused blobs ({}); kept {} used by {} deployments.",
                    report.blobs_deleted,
                    HumanBytes(report.bytes_freed),
                    report.blobs_kept,
                    report.deployments
                );
            }
        }
    }
    Ok(())
}

async fn deploy(
    store: &DynStore,
    out: &Output<'_>,
    dir: PathBuf,
    project: Option<String>,
    prod: bool,
) -> anyhow::Result<()> {
    let (progress, bar) = bars::deploy_progress(!out.json);
    // Hashes remembered from the last deploy of this folder: unchanged files are not read again.
    let hash_cache = std::sync::Arc::new(pier_core::scan::HashCache::load_for(&dir));
    let request = DeployRequest {
        hash_cache: Some(hash_cache.clone()),
        ..DeployRequest::folder(&dir, project, prod)
    };
    let result = pier_core::deploy::deploy(store.as_ref(), &request, &progress).await;
    if result.is_ok() {
        hash_cache.save_for(&dir);
    }
    if let Some(bar) = bar.lock().expect("not poisoned").take() {
        bar.finish_and_clear();
    }
    let outcome = result?;
    let (preview_url, production_url) = out.urls(&outcome);
    if out.json {
        out.print(json!({
            "deployment": outcome,
            "preview_url": preview_url,
            "production_url": production_url,
        }));
        return Ok(());
    }
    println!(
        "Deployed {} ({} files, {}) in {:.1} s; uploaded {} new of {} distinct files ({}).",
        outcome.summary.project,
        outcome.summary.file_count,
        HumanBytes(outcome.summary.total_bytes),
        outcome.elapsed_ms as f64 / 1000.0,
        outcome.uploaded_blobs,
        outcome.uploaded_blobs + outcome.reused_blobs,
        HumanBytes(outcome.uploaded_bytes),
    );
    println!("  id          {}", outcome.summary.id);
    println!("  preview     {preview_url}");
    match production_url {
        Some(url) => println!("  production  {url}"),
        None => println!("  promote with `pier promote {}`", outcome.summary.id),
    }
    Ok(())
}

use pier_core::logs::LIVE_LOG_RETENTION;

fn live_logs(
    redis: Option<&str>,
) -> anyhow::Result<std::sync::Arc<dyn pier_core::logs::LiveAndBackend>> {
    Ok(match redis {
        Some(url) => std::sync::Arc::new(pier_core::logs::redis::RedisLogs::open(
            url,
            LIVE_LOG_RETENTION,
        )?),
        None => std::sync::Arc::new(pier_core::logs::memory::LogBus::new()),
    })
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

/// The job for `pier deploy`: a git clone, or the folder itself.
fn build_job(
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

/// Follows a build's log on the terminal until it ends; returns its last status.
fn print_follow(
    live: std::sync::Arc<dyn pier_core::logs::LiveLogs>,
    store: &DynStore,
    id: &str,
    json: bool,
) -> tokio::task::JoinHandle<Vec<pier_core::logs::LogRecord>> {
    let stream = pier_core::logs::follow(Some(live), store.clone(), id.to_string(), 0);
    tokio::spawn(async move {
        use futures::StreamExt;
        let mut stream = stream;
        let mut seen = Vec::new();
        while let Some(Ok(record)) = stream.next().await {
            if !json {
                print_records(std::slice::from_ref(&record), false);
            }
            seen.push(record);
        }
        seen
    })
}

async fn build(
    store: &DynStore,
    out: &Output<'_>,
    redis: Option<&str>,
    job: pier_core::builds::job::BuildJob,
) -> anyhow::Result<()> {
    use pier_core::builds::job::{self, JobContext};
    use pier_core::logs::{self, LogWriter};
    let live = build_logs(redis).await?;
    let log = LogWriter::new(&job.deployment, live.clone().as_backend(), Vec::new());
    // The log exists from here on, so the follower below never mistakes it for a missing one.
    log.status(logs::BuildStatus::Queued, None).await;
    let checkout = tempfile::tempdir()?;
    let cancel = tokio_util::sync::CancellationToken::new();
    let on_interrupt = cancel.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        on_interrupt.cancel();
    });
    let follower = print_follow(live.clone().as_live(), store, &job.deployment, out.json);
    let (progress, _bar) = bars::deploy_progress(false);
    let result = job::run(
        store.as_ref(),
        &job,
        JobContext {
            log: &log,
            env: job.environment(|name| std::env::var(name).ok())?,
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
    let (preview_url, production_url) = out.urls(&outcome);
    if out.json {
        out.print(json!({
            "deployment": outcome,
            "preview_url": preview_url,
            "production_url": production_url,
            "log": log.records(),
        }));
    } else {
        println!(
            "Built and deployed {} as {}",
            outcome.summary.project, outcome.summary.id
        );
        println!("  preview     {preview_url}");
        if let Some(url) = production_url {
            println!("  production  {url}");
        }
    }
    Ok(())
}

/// Hands the build to builder workers (the SQS queue) or a one-off ECS task, then follows
/// its log through Redis until it ends. A local folder travels as a source archive.
async fn build_remotely(
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
                "  follow it with `pier logs {id} --follow` (live with --redis-url), or see it in                  `pier ls {}` when it is done",
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

async fn logs(
    store: &DynStore,
    out: &Output<'_>,
    redis: Option<&str>,
    deployment: &str,
    follow: bool,
) -> anyhow::Result<()> {
    use futures::StreamExt;
    let live = match redis {
        Some(_) => Some(live_logs(redis)?.as_live()),
        None => None,
    };
    let mut stream = pier_core::logs::follow(live, store.clone(), deployment.to_string(), 0);
    let mut all = Vec::new();
    while let Some(record) = stream.next().await {
        let record = record?;
        if follow && !out.json {
            print_records(std::slice::from_ref(&record), false);
        }
        all.push(record);
    }
    if out.json {
        out.print(json!({ "deployment": deployment, "log": all }));
    } else if !follow {
        print_records(&all, false);
    }
    Ok(())
}

/// Prints log records as a terminal reader wants them: output lines as they were, Pier's own
/// lines and status changes marked.
fn print_records(records: &[pier_core::logs::LogRecord], json: bool) {
    use pier_core::logs::{LogKind, LogStream};
    if json {
        return;
    }
    for record in records {
        match &record.kind {
            LogKind::Line {
                stream: LogStream::Stdout,
                text,
            } => eprintln!("  │ {text}"),
            LogKind::Line {
                stream: LogStream::Stderr,
                text,
            } => eprintln!("  ┃ {text}"),
            LogKind::Line {
                stream: LogStream::System,
                text,
            } => eprintln!("  ▸ {text}"),
            LogKind::Status { status, message } => match message {
                Some(message) => eprintln!("  ● {status:?}: {message}"),
                None => eprintln!("  ● {status:?}"),
            },
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn watch(
    store: DynStore,
    out: &Output<'_>,
    dirs: Vec<PathBuf>,
    project: Option<String>,
    prod: bool,
    build: bool,
    forget: bool,
    list: bool,
) -> anyhow::Result<()> {
    use pier_core::watch::{self, WatchEvent, WatchOptions, WatchSpec};
    let list_file = watch::list::path();
    if list {
        let specs = watch::list::load(&list_file)?;
        if out.json {
            out.print(json!({ "watches": specs }));
        } else if specs.is_empty() {
            println!("No folders are watched. Start with `pier watch DIR`.");
        }
        if !out.json {
            for spec in specs {
                println!(
                    "{}  →  {}",
                    spec.dir.display(),
                    out.settings.base_url.for_label(&spec.label())
                );
            }
        }
        return Ok(());
    }
    if forget {
        for dir in &dirs {
            let was = watch::list::forget(&list_file, dir)?;
            println!(
                "{} {}",
                if was { "Forgot" } else { "Was not watching" },
                dir.display()
            );
        }
        return Ok(());
    }
    if project.is_some() && dirs.len() > 1 {
        anyhow::bail!("--project names one folder's project; watch several folders without it");
    }
    let specs = if dirs.is_empty() {
        let remembered = watch::list::load(&list_file)?;
        if remembered.is_empty() {
            anyhow::bail!("no folders to watch: pass one, as in `pier watch ./site`");
        }
        remembered
    } else {
        let mut specs = Vec::new();
        for dir in &dirs {
            let spec = WatchSpec::new(dir, project.clone(), prod, build)?;
            watch::list::remember(&list_file, &spec)?;
            specs.push(spec);
        }
        specs
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        let _ = stop.send(true);
    });
    let json = out.json;
    let base_url = out.settings.base_url.clone();
    let watches = specs.into_iter().map(|spec| {
        let store = store.clone();
        let base_url = base_url.clone();
        let mut stopped = stopped.clone();
        let project = spec.project.clone();
        async move {
            let report =
                move |event: WatchEvent| print_watch_event(&project, &base_url, json, &event);
            let shutdown = async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            };
            watch::watch(store, spec, WatchOptions::default(), report, shutdown).await
        }
    });
    for result in futures::future::join_all(watches).await {
        result?;
    }
    Ok(())
}

fn print_watch_event(
    project: &str,
    base_url: &pier_core::config::BaseUrl,
    json: bool,
    event: &pier_core::watch::WatchEvent,
) {
    use pier_core::watch::WatchEvent;
    if json {
        println!(
            "{}",
            serde_json::to_string(event).expect("events serialise")
        );
        return;
    }
    match event {
        WatchEvent::Watching { dir, label } => {
            println!("Watching {} → {}", dir.display(), base_url.for_label(label))
        }
        WatchEvent::Deploying { changes } => println!("{project}: deploying {changes} changes"),
        WatchEvent::Building { deployment } => {
            println!("{project}: building (log: `pier logs {deployment}`)")
        }
        WatchEvent::Deployed {
            outcome,
            diff,
            save_to_live_ms,
            label,
        } => {
            let mut names: Vec<&str> = diff
                .added
                .iter()
                .chain(&diff.changed)
                .chain(&diff.removed)
                .map(String::as_str)
                .take(3)
                .collect();
            if diff.count() > 3 {
                names.push("…");
            }
            println!(
                "{project}: {} file(s) changed{}; {} uploaded; live in {save_to_live_ms} ms at {}",
                diff.count(),
                if names.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", names.join(", "))
                },
                HumanBytes(outcome.uploaded_bytes),
                base_url.for_label(label)
            )
        }
        WatchEvent::Failed {
            error,
            hint,
            retry_in_ms,
        } => eprintln!(
            "{project}: deploy failed: {error}\n  hint: {hint}\n  the last good deployment stays live; retrying in {:.1} s",
            *retry_in_ms as f64 / 1000.0
        ),
        WatchEvent::FolderGone => {
            eprintln!("{project}: the folder is gone; waiting for it to come back")
        }
        WatchEvent::FolderBack => println!("{project}: the folder is back"),
        WatchEvent::Stopped => println!("{project}: stopped watching"),
    }
}

async fn serve(
    store: DynStore,
    settings: &Settings,
    port: Option<u16>,
    listen: Option<String>,
) -> anyhow::Result<()> {
    let address = match listen {
        Some(address) => address,
        None => format!(
            "127.0.0.1:{}",
            port.or(settings.base_url.port())
                .unwrap_or(pier_core::config::DEFAULT_PORT)
        ),
    };
    let listener = tokio::net::TcpListener::bind(&address)
        .await
        .with_context(|| {
            format!("cannot listen on {address}; is another `pier serve` running? Try --port")
        })?;
    let bound = listener.local_addr()?;
    let mut base_domains = vec!["localhost".to_string()];
    if settings.base_url.host() != "localhost" {
        base_domains.push(settings.base_url.host().to_string());
    }
    // A local store answers in microseconds: re-reading aliases often makes a `pier watch` in
    // another terminal show up almost at once.
    let target_ttl = match settings.store {
        pier_core::store::StoreUrl::Local(_) => std::time::Duration::from_millis(150),
        pier_core::store::StoreUrl::S3 { .. } => pier_proxy::ProxyConfig::default().target_ttl,
    };
    let proxy = pier_proxy::Proxy::new(
        store.clone(),
        pier_proxy::ProxyConfig {
            base_domains,
            target_ttl,
            ..Default::default()
        },
    );
    let local = pier_core::config::BaseUrl::local(bound.port());
    println!("Serving {} on {bound}", store.url());
    for project in deployments::list_projects(store.as_ref()).await? {
        if project.production.is_some() {
            println!("  {}", local.for_label(&project.name));
        }
    }
    println!(
        "Any project: {}  (Ctrl-C stops)",
        local.for_label("<project>")
    );
    proxy
        .serve(listener, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

struct Output<'a> {
    json: bool,
    settings: &'a Settings,
}

impl Output<'_> {
    fn print(&self, value: serde_json::Value) {
        println!(
            "{}",
            serde_json::to_string_pretty(&value).expect("values serialise")
        );
    }

    /// The preview URL of a new deployment, and the production URL when it was promoted.
    fn urls(&self, outcome: &pier_core::deploy::DeployOutcome) -> (String, Option<String>) {
        let base = &self.settings.base_url;
        let production = outcome
            .promoted
            .as_ref()
            .map(|change| base.for_label(&change.project));
        (base.for_label(&outcome.summary.preview), production)
    }

    fn alias_change(&self, change: &alias::AliasChange) {
        let url = self.settings.base_url.for_label(&change.project);
        if self.json {
            self.print(json!({ "alias": change, "production_url": url }));
        } else if change.from.as_deref() == Some(change.to.as_str()) {
            println!("{} already serves {} at {url}", change.project, change.to);
        } else {
            println!(
                "{} now serves {} (was {}) at {url}",
                change.project,
                change.to,
                change.from.as_deref().unwrap_or("nothing")
            );
        }
    }
}

fn short_time(at: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    at.format(&format).unwrap_or_default()
}

//! `pier`: deploy folders as immutable deployments, promote, roll back, list, remove, collect.
//!
//! A thin edge over `pier_core`: parse arguments, resolve settings, call the engine, print.
//! Human output goes to stdout, warnings and progress to stderr; `--json` prints one JSON
//! document on stdout instead, errors included, for scripts. Errors exit with status 1 and a
//! hint of what to do next. This file is the arguments and the dispatch; each command's body
//! is in `commands/`, the printing they share in `output.rs`.

mod bars;
mod commands;
mod domains_cmd;
mod output;
mod setup_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use pier_core::PierError;
use pier_core::config::{ConfigFile, Settings, config_path};
use serde_json::json;

use output::Output;

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
    Deploy(commands::deploy::DeployArgs),
    /// Show a build's log (--follow streams it live until the build ends), or with --functions
    /// a project's function output (--follow keeps printing it as it comes); with neither, the
    /// recent builds.
    Logs {
        /// The build's deployment id (none: list the recent builds).
        #[arg(conflicts_with = "functions")]
        deployment: Option<String>,
        /// A project's function output instead: from CloudWatch when the store's functions run
        /// on Lambda, else what `pier serve` and the desktop app ran on this machine.
        #[arg(long, value_name = "PROJECT")]
        functions: Option<String>,
        /// With --functions: from this long ago (30s, 15m, 2h, 1d).
        #[arg(long, default_value = "1h", requires = "functions")]
        since: String,
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
    Watch(commands::watch::WatchArgs),
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
    /// The hosted half's container images: `build` makes them with the local Docker or Podman.
    Images {
        #[command(subcommand)]
        command: ImagesCommand,
    },
    /// A project's environment variables, for its functions and builds: ls, set, rm.
    Env {
        #[command(subcommand)]
        command: commands::env::EnvCommand,
    },
    /// Other regions' copies of the store: `status` shows what each lacks, `sync` brings
    /// them up to the primary region.
    Regions {
        #[command(subcommand)]
        command: commands::regions::RegionsCommand,
    },
    /// Delete stored files that no deployment uses (in every region, each on its own).
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
enum ImagesCommand {
    /// Build the proxy and builder images here (and push them with --push).
    Build {
        #[command(flatten)]
        args: commands::images::BuildArgs,
    },
    /// Copy an image pinned by digest from one registry to another, with no container engine.
    Mirror {
        #[command(flatten)]
        args: commands::images::MirrorArgs,
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
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
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
                })
                .or_else(|| {
                    error
                        .downcast_ref::<pier_aws::image_build::ImageBuildError>()
                        .map(|e| e.hint())
                })
                .or_else(|| {
                    error
                        .downcast_ref::<pier_aws::images::ImageError>()
                        .map(|e| e.hint())
                })
                .or_else(|| {
                    error
                        .downcast_ref::<pier_core::project_env::EnvError>()
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
        Command::Images {
            command: ImagesCommand::Build { args },
        } => return commands::images::build(args, cli.json),
        Command::Images {
            command: ImagesCommand::Mirror { args },
        } => return commands::images::mirror(args, cli.json).await,
        // Variables live on this machine, not in a store.
        Command::Env { command } => return commands::env::run(command, cli.json),
        _ => {}
    }
    let file = ConfigFile::load(&config_path())?;
    let settings = Settings::resolve(cli.store.as_deref(), cli.base_url.as_deref(), &file)?;
    let redis_url = cli.redis_url.clone().or(file.redis_url.clone());
    let regions = pier_core::regions::Regions::open(&settings, &file).await?;
    let store = regions.store().clone();
    let out = Output {
        json: cli.json,
        settings: &settings,
    };
    let redis = redis_url.as_deref();
    match cli.command {
        Command::Deploy(args) => {
            commands::deploy::run(&regions, &out, &file.builds, redis, args).await
        }
        Command::Logs {
            functions: Some(project),
            since,
            follow,
            ..
        } => commands::function_logs::run(&store, &out, &project, &since, follow).await,
        Command::Logs {
            deployment: Some(deployment),
            follow,
            ..
        } => commands::logs::run(&store, &out, redis, &deployment, follow).await,
        Command::Logs { follow, .. } => commands::logs::list(&store, &out, follow).await,
        Command::Ls { project } => commands::ls::run(&store, &out, project).await,
        Command::Inspect { deployment } => commands::inspect::run(&store, &out, &deployment).await,
        Command::Promote { deployment } => {
            commands::aliases::promote(&regions, &out, &deployment).await
        }
        Command::Rollback { project } => commands::aliases::rollback(&regions, &out, project).await,
        Command::Rm { deployment } => commands::rm::run(&regions, &out, &deployment).await,
        Command::Regions { command } => commands::regions::run(&regions, &out, command).await,
        Command::Watch(args) => commands::watch::run(&regions, &out, args).await,
        Command::Serve { port, listen } => {
            commands::serve::run(store, &settings, port, listen).await
        }
        Command::Setup { .. }
        | Command::Teardown { .. }
        | Command::Images { .. }
        | Command::Env { .. } => {
            unreachable!("handled above")
        }
        Command::Domains { command } => domains_cmd::run(store, out.json, command).await,
        Command::Gc { dry_run } => commands::gc::run(&regions, &out, dry_run).await,
    }
}

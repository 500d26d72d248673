//! `pier-proxy`: the edge proxy as a server process (the image that runs in the user's AWS
//! account, behind CloudFront). Settings come from flags or the environment.
//! `pier-proxy health` is the image's health check (see `health.rs`).

use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use pier_core::store::{self, StoreUrl};
use pier_proxy::functions::local::LocalConfig;
use pier_proxy::{Proxy, ProxyConfig};

// Every request allocates its head, headers and futures and frees them soon after; with
// glibc's allocator that churn was ~11% of the CPU of a 2 KB request (malloc, free,
// malloc_consolidate). mimalloc served 5–10% more 2 KB requests a second for 5–15% less CPU
// each (tests/bench/proxy.sh, same run) for 0.15 MB of binary. Only this binary: the
// libraries that embed the proxy (pier serve, the desktop) keep their own allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "pier-proxy",
    version,
    about = "Serve Pier deployments by host.",
    subcommand_negates_reqs = true
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// The store to serve from (read-only): a folder, file:///path or s3://bucket[/prefix].
    #[arg(long, env = "PIER_STORE", required = true)]
    store: Option<String>,
    /// Address for site traffic.
    #[arg(long, env = "PIER_LISTEN", default_value = "0.0.0.0:8080")]
    listen: String,
    /// Address for /health, /metrics and POST /refresh; keep it private.
    #[arg(long, env = "PIER_ADMIN_LISTEN")]
    admin_listen: Option<String>,
    /// Sites are served at <project>.<base domain>; repeat or comma-separate for several.
    #[arg(long, env = "PIER_BASE_DOMAIN", value_delimiter = ',', required = true)]
    base_domain: Vec<String>,
    /// Seconds a host's deployment is trusted before the aliases are read again.
    #[arg(long, env = "PIER_ALIAS_TTL_SECS", default_value_t = 2.0)]
    alias_ttl_secs: f64,
    /// Memory for cached files, in MiB.
    #[arg(long, env = "PIER_CACHE_MIB", default_value_t = 256)]
    cache_mib: u64,
    /// Run deployments' functions in Node processes on this machine, copying their bundles
    /// into this folder; without it, requests for functions get 501.
    #[arg(long, env = "PIER_FUNCTIONS_DIR")]
    functions_dir: Option<std::path::PathBuf>,
    /// Invoke deployments' functions as the AWS Lambda versions their deploys published (the
    /// store must be the S3 bucket `pier setup aws` made); wins over --functions-dir.
    #[arg(long, env = "PIER_FUNCTIONS_LAMBDA")]
    functions_lambda: bool,
    /// The `node` the functions run with.
    #[arg(long, env = "PIER_NODE", default_value = "node")]
    node: std::path::PathBuf,
    /// Log as JSON lines instead of text.
    #[arg(long, env = "PIER_LOG_JSON")]
    log_json: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Exit 0 when the running proxy answers GET /health with 200 (the container's health
    /// check): asks the admin listener, else the site listener, on loopback.
    Health {
        /// Seconds to wait for the answer.
        #[arg(long, default_value_t = 3)]
        timeout_secs: u64,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(Command::Health { timeout_secs }) = args.command {
        let listener = args.admin_listen.as_deref().unwrap_or(&args.listen);
        let address = pier_proxy::health::probe_address(listener)?;
        pier_proxy::health::check(address, Duration::from_secs(timeout_secs)).await?;
        println!("healthy: {address} answered GET /health with 200");
        return Ok(());
    }
    let filter = tracing_subscriber::EnvFilter::try_from_env("PIER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    if args.log_json {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .init();
    } else {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .init();
    }
    let url = StoreUrl::parse(args.store.as_deref().expect("clap requires --store"))?;
    let store = store::open_read_only(&url).await?;
    store
        .check()
        .await
        .with_context(|| format!("cannot read the store {url}"))?;
    let config = ProxyConfig {
        base_domains: args
            .base_domain
            .iter()
            .map(|d| d.trim().trim_end_matches('.').to_ascii_lowercase())
            .collect(),
        target_ttl: Duration::from_secs_f64(args.alias_ttl_secs.max(0.0)),
        blob_cache_bytes: args.cache_mib * 1024 * 1024,
        functions: args.functions_dir.map(|work_dir| LocalConfig {
            node: args.node.clone(),
            ..LocalConfig::new(work_dir)
        }),
        lambda: args.functions_lambda,
        ..ProxyConfig::default()
    };
    let proxy = Proxy::new(store, config);
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    tracing::info!(listen = %listener.local_addr()?, store = %url, "pier-proxy serving");
    if let Some(admin) = &args.admin_listen {
        let admin_listener = tokio::net::TcpListener::bind(admin)
            .await
            .with_context(|| format!("cannot listen on {admin}"))?;
        let admin_proxy = proxy.clone();
        tokio::spawn(async move {
            admin_proxy
                .serve_admin(admin_listener, shutdown_signal())
                .await
        });
    }
    proxy.serve(listener, shutdown_signal()).await?;
    tracing::info!("pier-proxy stopped");
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("signal handlers install");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

//! `pier logs`: with no id, the recent builds (the store's build history, as the desktop's
//! Logs screen lists them); with one, a build's log from its first line, from Redis while it is live (when a Redis URL
//! is set) and from the store's archive once it is not; `--follow` streams it until the build
//! ends. Also the terminal form of log records, which `pier deploy`'s builds share.

use pier_core::logs::LIVE_LOG_RETENTION;
use pier_core::store::DynStore;
use serde_json::json;

use crate::output::Output;

pub async fn run(
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
            print_records(std::slice::from_ref(&record));
        }
        all.push(record);
    }
    if out.json {
        out.print(json!({ "deployment": deployment, "log": all }));
    } else if !follow {
        print_records(&all);
    }
    Ok(())
}

/// How many builds `pier logs` lists.
const LISTED: usize = 20;

/// The recent builds, newest first: id, project, status, when it started, how long it took.
pub async fn list(store: &DynStore, out: &Output<'_>, follow: bool) -> anyhow::Result<()> {
    if follow {
        anyhow::bail!(
            "--follow needs a build to follow: `pier logs ID --follow` (`pier logs` lists the recent builds and their ids)"
        );
    }
    let builds = pier_core::logs::history::recent(store.as_ref(), LISTED).await?;
    if out.json {
        out.print(json!({ "builds": builds }));
        return Ok(());
    }
    if builds.is_empty() {
        println!("No builds yet. A source tree with a build script is built by `pier deploy DIR`.");
        return Ok(());
    }
    println!(
        "{:<20}  {:<24}  {:<10}  {:<19}  TOOK",
        "ID", "PROJECT", "STATUS", "STARTED"
    );
    for build in &builds {
        let started = time::OffsetDateTime::from_unix_timestamp_nanos(
            i128::from(build.started_ms) * 1_000_000,
        )
        .map(crate::output::short_time)
        .unwrap_or_default();
        let took = match build.ended_ms {
            Some(ended) => format!("{:.1} s", (ended - build.started_ms).max(0) as f64 / 1000.0),
            None => "running".into(),
        };
        println!(
            "{:<20}  {:<24}  {:<10}  {started:<19}  {took}",
            build.deployment,
            build.project,
            build.status.name()
        );
        if let Some(message) = &build.message {
            println!("{:<20}  {message}", "");
        }
    }
    Ok(())
}

/// Prints log records as a terminal reader wants them: output lines as they were, Pier's own
/// lines and status changes marked.
fn print_records(records: &[pier_core::logs::LogRecord]) {
    use pier_core::logs::{LogKind, LogStream};
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

pub fn live_logs(
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

/// Follows a build's log on the terminal until it ends; returns its last status.
pub fn print_follow(
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
                print_records(std::slice::from_ref(&record));
            }
            seen.push(record);
        }
        seen
    })
}

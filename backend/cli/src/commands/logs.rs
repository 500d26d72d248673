//! `pier logs`: a build's log from its first line, from Redis while it is live (when a Redis URL
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

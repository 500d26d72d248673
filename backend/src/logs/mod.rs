//! Build logs: every line a build prints and every status change, numbered in order.
//!
//! A [`LogWriter`] numbers records (`seq` from 1), keeps the whole log in memory for the
//! archive, and hands each record to a [`LogBackend`] as it happens: in-process for the
//! embedded default ([`memory::LogBus`]), Redis Streams otherwise ([`redis::RedisLogs`]). At
//! the end the whole log is archived to the store as `logs/<deployment id>.jsonl`, so logs
//! outlive Redis. Followers resume from any `seq`, get each record once and in order, and fall
//! back to the archive when the live stream is gone. Each build also has a small record in
//! the build history ([`history`]), for lists of recent builds.

pub mod history;
pub mod mask;
pub mod memory;
#[cfg(feature = "redis")]
pub mod redis;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use futures::Stream;

use crate::error::PierError;
use crate::store::{PutOptions, Store};

// The records' types are the wire's: the window renders the same JSON the archive holds.
pub use mask::{MASK, Masker};
pub use pier_wire::logs::{BuildStatus, LogKind, LogRecord, LogStream};

/// A time as the records carry it: milliseconds since the Unix epoch.
pub fn unix_ms(time: time::OffsetDateTime) -> i64 {
    (time.unix_timestamp_nanos() / 1_000_000) as i64
}

pub fn now_ms() -> i64 {
    unix_ms(time::OffsetDateTime::now_utc())
}

/// Where live records go. Publishing never fails the build: a backend that cannot deliver
/// buffers and retries, and the archive has everything anyway.
#[async_trait]
pub trait LogBackend: Send + Sync {
    async fn publish(&self, deployment: &str, record: &LogRecord);
    /// Waits until everything published so far is delivered (or delivery gave up).
    async fn flush(&self, deployment: &str);
}

pub type RecordStream = std::pin::Pin<Box<dyn Stream<Item = Result<LogRecord, PierError>> + Send>>;

/// A log service that both takes records and serves them live (in-process or Redis).
pub trait LiveAndBackend: LogBackend + LiveLogs {
    fn as_backend(self: Arc<Self>) -> Arc<dyn LogBackend>;
    fn as_live(self: Arc<Self>) -> Arc<dyn LiveLogs>;
}

impl<T: LogBackend + LiveLogs + 'static> LiveAndBackend for T {
    fn as_backend(self: Arc<Self>) -> Arc<dyn LogBackend> {
        self
    }

    fn as_live(self: Arc<Self>) -> Arc<dyn LiveLogs> {
        self
    }
}

/// The build side of a log.
#[derive(Clone)]
pub struct LogWriter {
    deployment: String,
    backend: Arc<dyn LogBackend>,
    records: Arc<Mutex<Vec<LogRecord>>>,
    masker: Masker,
}

/// How long Redis keeps a build's live log; the store's archive keeps it for good.
pub const LIVE_LOG_RETENTION: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

impl LogWriter {
    pub fn new(deployment: &str, backend: Arc<dyn LogBackend>, secrets: Vec<String>) -> LogWriter {
        LogWriter {
            deployment: deployment.to_string(),
            backend,
            records: Arc::default(),
            masker: Masker::new(secrets),
        }
    }

    /// Continues a log an earlier attempt started (a retried queue job): numbering goes on
    /// after `previous`, and the archive holds every attempt.
    pub fn resume(
        deployment: &str,
        backend: Arc<dyn LogBackend>,
        secrets: Vec<String>,
        previous: Vec<LogRecord>,
    ) -> LogWriter {
        let writer = LogWriter::new(deployment, backend, secrets);
        *writer.records.lock().expect("not poisoned") = previous;
        writer
    }

    pub fn deployment(&self) -> &str {
        &self.deployment
    }

    /// Waits until the live backend has everything written so far.
    pub async fn flush(&self) {
        self.backend.flush(&self.deployment).await;
    }

    pub async fn line(&self, stream: LogStream, text: &str) {
        let text = self.masker.mask(text).into_owned();
        self.push(LogKind::Line { stream, text }).await;
    }

    pub async fn status(&self, status: BuildStatus, message: Option<String>) {
        let message = message.map(|m| self.masker.mask(&m).into_owned());
        self.push(LogKind::Status { status, message }).await;
    }

    async fn push(&self, kind: LogKind) {
        let record = {
            let mut records = self.records.lock().expect("not poisoned");
            let record = LogRecord {
                seq: records.last().map_or(0, |last| last.seq) + 1,
                at_ms: now_ms(),
                kind,
            };
            records.push(record.clone());
            record
        };
        self.backend.publish(&self.deployment, &record).await;
    }

    pub fn records(&self) -> Vec<LogRecord> {
        self.records.lock().expect("not poisoned").clone()
    }

    /// Delivers what is pending and writes the whole log to the store.
    pub async fn finish(&self, store: &dyn Store) -> Result<(), PierError> {
        self.backend.flush(&self.deployment).await;
        archive(store, &self.deployment, &self.records()).await
    }
}

pub fn archive_key(deployment: &str) -> String {
    format!("logs/{deployment}.jsonl")
}

pub async fn archive(
    store: &dyn Store,
    deployment: &str,
    records: &[LogRecord],
) -> Result<(), PierError> {
    let mut body = Vec::new();
    for record in records {
        serde_json::to_writer(&mut body, record).expect("records serialise");
        body.push(b'\n');
    }
    let options = PutOptions {
        content_type: Some("application/x-ndjson".into()),
        ..Default::default()
    };
    store
        .put(&archive_key(deployment), Bytes::from(body), options)
        .await?;
    Ok(())
}

/// The archived log, or `None` when there is none.
pub async fn read_archive(
    store: &dyn Store,
    deployment: &str,
) -> Result<Option<Vec<LogRecord>>, PierError> {
    let key = archive_key(deployment);
    let Some(object) = store.get(&key).await? else {
        return Ok(None);
    };
    let mut records = Vec::new();
    for line in object.body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        records.push(crate::records::parse_json(&key, line)?);
    }
    Ok(Some(records))
}

/// Follows a log from just after `after` (0 for the start): live records from `live` while the
/// build runs, else the archive. Ends after the terminal status.
pub fn follow(
    live: Option<Arc<dyn LiveLogs>>,
    store: crate::store::DynStore,
    deployment: String,
    after: u64,
) -> RecordStream {
    Box::pin(async_stream_follow(live, store, deployment, after))
}

/// How long a live log may be missing mid-build before the follower gives up on it.
const LIVE_GAP_TOLERANCE: std::time::Duration = std::time::Duration::from_secs(30);

/// A source of live records.
#[async_trait]
pub trait LiveLogs: Send + Sync {
    /// Records after `after`, waiting up to `wait` for at least one. `Ok(None)` means the live
    /// log does not exist (never started here, or expired).
    async fn read_after(
        &self,
        deployment: &str,
        after: u64,
        wait: std::time::Duration,
    ) -> Result<Option<Vec<LogRecord>>, PierError>;
}

fn async_stream_follow(
    live: Option<Arc<dyn LiveLogs>>,
    store: crate::store::DynStore,
    deployment: String,
    after: u64,
) -> impl Stream<Item = Result<LogRecord, PierError>> + Send {
    struct State {
        live: Option<Arc<dyn LiveLogs>>,
        store: crate::store::DynStore,
        deployment: String,
        after: u64,
        queue: std::collections::VecDeque<LogRecord>,
        done: bool,
        /// When the live log was last seen; a log that vanishes mid-build (Redis restarting
        /// empty) is waited for, not mistaken for a finished one.
        live_seen: Option<std::time::Instant>,
    }
    let state = State {
        live,
        store,
        deployment,
        after,
        queue: Default::default(),
        done: false,
        live_seen: None,
    };
    futures::stream::unfold(state, |mut state| async move {
        loop {
            if let Some(record) = state.queue.pop_front() {
                state.after = record.seq;
                if record.terminal_status().is_some() {
                    state.done = true;
                    state.queue.clear();
                }
                return Some((Ok(record), state));
            }
            if state.done {
                return None;
            }
            let live = match &state.live {
                Some(live) => {
                    live.read_after(
                        &state.deployment,
                        state.after,
                        std::time::Duration::from_secs(2),
                    )
                    .await
                }
                None => Ok(None),
            };
            match live {
                Ok(Some(records)) => {
                    state.live_seen = Some(std::time::Instant::now());
                    state
                        .queue
                        .extend(records.into_iter().filter(|r| r.seq > state.after));
                }
                Ok(None) => {
                    let archived = read_archive(state.store.as_ref(), &state.deployment).await;
                    let vanished_recently = state
                        .live_seen
                        .is_some_and(|seen| seen.elapsed() < LIVE_GAP_TOLERANCE);
                    if matches!(archived, Ok(None)) && vanished_recently {
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        continue;
                    }
                    state.done = true;
                    match archived {
                        Ok(Some(records)) => state
                            .queue
                            .extend(records.into_iter().filter(|r| r.seq > state.after)),
                        Ok(None) => {
                            return Some((
                                Err(PierError::UnknownDeployment {
                                    reference: format!("{} (no build log)", state.deployment),
                                }),
                                state,
                            ));
                        }
                        Err(e) => return Some((Err(e), state)),
                    }
                }
                Err(e) => {
                    // The live source hiccupped (Redis restarting): try again shortly.
                    tracing::debug!(error = %e, "live log read failed; retrying");
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_back_as_written_and_malformed_ones_are_refused() {
        let records = [
            LogRecord {
                seq: 7,
                at_ms: 1_700_000_000_000,
                kind: LogKind::Line {
                    stream: LogStream::Stderr,
                    text: "error: \"quoted\" ✗".into(),
                },
            },
            LogRecord {
                seq: 8,
                at_ms: 1,
                kind: LogKind::Status {
                    status: BuildStatus::Failed,
                    message: Some("exit 1".into()),
                },
            },
            LogRecord {
                seq: 9,
                at_ms: 2,
                kind: LogKind::Status {
                    status: BuildStatus::Ready,
                    message: None,
                },
            },
        ];
        for record in &records {
            let json = serde_json::to_string(record).unwrap();
            assert_eq!(&serde_json::from_str::<LogRecord>(&json).unwrap(), record);
        }
        // The archive format of earlier versions reads the same.
        let archived = r#"{"seq":1,"at_ms":5,"type":"line","stream":"stdout","text":"hi"}"#;
        assert_eq!(
            serde_json::from_str::<LogRecord>(archived).unwrap().kind,
            LogKind::Line {
                stream: LogStream::Stdout,
                text: "hi".into()
            }
        );
        let error = serde_json::from_str::<LogRecord>(r#"{"seq":1,"at_ms":5,"type":"line"}"#)
            .unwrap_err()
            .to_string();
        assert!(error.contains("lacks its fields"), "{error}");
    }
}

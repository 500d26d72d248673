//! In-process live logs for the embedded default: no Redis, the same follow semantics.
//! Each deployment's records sit in memory while the process runs; followers wait on a
//! version counter, so a record published between a read and the wait is never missed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use super::{LiveLogs, LogBackend, LogRecord};
use crate::error::PierError;

#[derive(Default)]
pub struct LogBus {
    logs: Mutex<HashMap<String, Channel>>,
}

struct Channel {
    records: Vec<LogRecord>,
    version: tokio::sync::watch::Sender<u64>,
}

impl LogBus {
    pub fn new() -> LogBus {
        LogBus::default()
    }

    /// Whether this process logged `deployment` here (a build that ran while Redis was down
    /// logs in-process, and is followed here, not in Redis).
    pub fn has(&self, deployment: &str) -> bool {
        self.logs
            .lock()
            .expect("not poisoned")
            .contains_key(deployment)
    }
}

#[async_trait]
impl LogBackend for LogBus {
    async fn publish(&self, deployment: &str, record: &LogRecord) {
        let mut logs = self.logs.lock().expect("not poisoned");
        let channel = logs
            .entry(deployment.to_string())
            .or_insert_with(|| Channel {
                records: Vec::new(),
                version: tokio::sync::watch::channel(0).0,
            });
        channel.records.push(record.clone());
        channel.version.send_replace(record.seq);
    }

    async fn flush(&self, _deployment: &str) {}
}

#[async_trait]
impl LiveLogs for LogBus {
    async fn read_after(
        &self,
        deployment: &str,
        after: u64,
        wait: Duration,
    ) -> Result<Option<Vec<LogRecord>>, PierError> {
        let mut version = {
            let logs = self.logs.lock().expect("not poisoned");
            let Some(channel) = logs.get(deployment) else {
                return Ok(None);
            };
            let newer: Vec<LogRecord> = channel
                .records
                .iter()
                .filter(|r| r.seq > after)
                .cloned()
                .collect();
            if !newer.is_empty() {
                return Ok(Some(newer));
            }
            channel.version.subscribe()
        };
        let _ = tokio::time::timeout(wait, version.changed()).await;
        let logs = self.logs.lock().expect("not poisoned");
        Ok(logs.get(deployment).map(|channel| {
            channel
                .records
                .iter()
                .filter(|r| r.seq > after)
                .cloned()
                .collect()
        }))
    }
}

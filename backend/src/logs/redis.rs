//! Live logs through Redis Streams.
//!
//! Each deployment's log is the stream `pier:log:<id>`; record `seq` n is entry id `n-0`, so a
//! follower resumes exactly after the last id it saw, and a publisher that re-sends after a
//! reconnect cannot add a record twice (Redis refuses ids at or below the top). Entries hold
//! the record as JSON in field `r`; the stream is capped with `MAXLEN ~` and expires after the
//! retention period, as does the status key `pier:status:<id>`.
//!
//! Publishing runs in a task per deployment that owns the whole log: when Redis goes away it
//! reconnects with backoff, asks the stream for its top id, and re-sends everything after it
//! (all of it, if Redis lost its data). The URL may be `redis://` or `rediss://` (TLS); its
//! password never appears in messages ([`display_url`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use redis::AsyncConnectionConfig;
use redis::aio::MultiplexedConnection;

use super::{LiveLogs, LogBackend, LogKind, LogRecord};
use crate::error::PierError;

const MAX_ENTRIES: u64 = 200_000;
const BATCH: usize = 512;

pub struct RedisLogs {
    client: redis::Client,
    display: String,
    retention: Duration,
    publishers: Mutex<HashMap<String, tokio::sync::mpsc::UnboundedSender<Message>>>,
    reader: tokio::sync::Mutex<Option<MultiplexedConnection>>,
}

enum Message {
    Record(LogRecord),
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// `redis://:secret@host:6379/0` → `redis://:***@host:6379/0`.
pub fn display_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            let user = credentials.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

fn stream_key(deployment: &str) -> String {
    format!("pier:log:{deployment}")
}

fn status_key(deployment: &str) -> String {
    format!("pier:status:{deployment}")
}

impl RedisLogs {
    pub fn open(url: &str, retention: Duration) -> Result<RedisLogs, PierError> {
        let display = display_url(url);
        let client = redis::Client::open(url).map_err(|e| PierError::BadConfig {
            path: "PIER_REDIS_URL".into(),
            detail: format!(
                "`{display}` is not a Redis URL ({})",
                display_url(&e.to_string())
            ),
        })?;
        Ok(RedisLogs {
            client,
            display,
            retention,
            publishers: Mutex::default(),
            reader: tokio::sync::Mutex::new(None),
        })
    }

    pub fn display(&self) -> &str {
        &self.display
    }

    async fn connect(&self) -> Result<MultiplexedConnection, PierError> {
        connect(&self.client, &self.display).await
    }

    /// Answers PING, for "test connection" and early, clear errors.
    pub async fn check(&self) -> Result<(), PierError> {
        let mut connection = self.connect().await?;
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
            .map(drop)
            .map_err(|e| unreachable_redis(&self.display, &e))
    }

    fn publisher(&self, deployment: &str) -> tokio::sync::mpsc::UnboundedSender<Message> {
        let mut publishers = self.publishers.lock().expect("not poisoned");
        publishers
            .entry(deployment.to_string())
            .or_insert_with(|| {
                let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
                tokio::spawn(publish_loop(
                    self.client.clone(),
                    self.display.clone(),
                    deployment.to_string(),
                    self.retention,
                    receiver,
                ));
                sender
            })
            .clone()
    }
}

async fn connect(
    client: &redis::Client,
    display: &str,
) -> Result<MultiplexedConnection, PierError> {
    // Blocking reads wait longer than the default response timeout; each reader has its own
    // connection, so no other command waits behind them.
    let config = AsyncConnectionConfig::new()
        .set_response_timeout(None)
        .set_connection_timeout(Some(Duration::from_secs(3)));
    client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .map_err(|e| unreachable_redis(display, &e))
}

fn unreachable_redis(display: &str, error: &redis::RedisError) -> PierError {
    PierError::Redis {
        url: display.to_string(),
        detail: display_url(&error.to_string()),
    }
}

async fn publish_loop(
    client: redis::Client,
    display: String,
    deployment: String,
    retention: Duration,
    mut inbox: tokio::sync::mpsc::UnboundedReceiver<Message>,
) {
    let key = stream_key(&deployment);
    let mut log: Vec<LogRecord> = Vec::new();
    let mut delivered: u64 = 0;
    let mut connection: Option<MultiplexedConnection> = None;
    let mut waiting: Vec<tokio::sync::oneshot::Sender<()>> = Vec::new();
    let mut backoff = Duration::from_millis(50);
    let mut closed = false;
    loop {
        // Take everything queued without waiting, or wait when there is nothing to send.
        // Records are kept by `seq`, which need not start at 1 (a resumed log).
        let newest = log.last().map_or(0, |record| record.seq);
        let idle = delivered >= newest;
        if idle {
            for flushed in waiting.drain(..) {
                let _ = flushed.send(());
            }
            if closed {
                return;
            }
        }
        let message = if idle {
            inbox.recv().await
        } else {
            inbox.try_recv().ok()
        };
        match message {
            Some(Message::Record(record)) => {
                log.push(record);
                continue;
            }
            Some(Message::Flush(done)) => {
                waiting.push(done);
                continue;
            }
            None if idle => {
                closed = true;
                continue;
            }
            None => {}
        }
        if connection.is_none() {
            match connect(&client, &display).await {
                Ok(mut fresh) => {
                    // Redis may have restarted empty: re-send from what the stream holds.
                    delivered = top_seq(&mut fresh, &key).await.unwrap_or(0).min(newest);
                    connection = Some(fresh);
                    backoff = Duration::from_millis(50);
                }
                Err(error) => {
                    tracing::warn!(%error, "live logs: Redis unreachable; buffering");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    continue;
                }
            }
        }
        let active = connection.as_mut().expect("connected above");
        let start = log.partition_point(|record| record.seq <= delivered);
        let batch = &log[start..(start + BATCH).min(log.len())];
        let mut pipe = redis::pipe();
        for record in batch {
            pipe.cmd("XADD")
                .arg(&key)
                .arg("MAXLEN")
                .arg("~")
                .arg(MAX_ENTRIES)
                .arg(format!("{}-0", record.seq))
                .arg("r")
                .arg(serde_json::to_string(record).expect("records serialise"))
                .ignore();
            if let LogKind::Status { .. } = record.kind {
                pipe.cmd("SET")
                    .arg(status_key(&deployment))
                    .arg(serde_json::to_string(record).expect("records serialise"))
                    .arg("EX")
                    .arg(retention.as_secs())
                    .ignore();
            }
        }
        pipe.cmd("EXPIRE")
            .arg(&key)
            .arg(retention.as_secs())
            .ignore();
        match pipe.query_async::<()>(active).await {
            Ok(()) => delivered = batch.last().map_or(delivered, |record| record.seq),
            Err(error) if error.to_string().contains("equal or smaller") => {
                // Already there (sent before a reconnect): find out how far the stream is.
                delivered = top_seq(active, &key).await.unwrap_or(delivered).min(newest);
            }
            Err(error) => {
                tracing::warn!(error = %display_url(&error.to_string()), "live logs: Redis write failed; reconnecting");
                connection = None;
            }
        }
    }
}

/// The highest `seq` the stream holds (0 when it is empty or missing).
async fn top_seq(connection: &mut MultiplexedConnection, key: &str) -> Option<u64> {
    let reply: redis::Value = redis::cmd("XREVRANGE")
        .arg(key)
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .query_async(connection)
        .await
        .ok()?;
    let redis::Value::Array(entries) = reply else {
        return Some(0);
    };
    let Some(redis::Value::Array(entry)) = entries.first() else {
        return Some(0);
    };
    let id: String = redis::from_redis_value(entry.first()?.clone()).ok()?;
    id.split('-').next()?.parse().ok()
}

#[async_trait]
impl LogBackend for RedisLogs {
    async fn publish(&self, deployment: &str, record: &LogRecord) {
        let _ = self
            .publisher(deployment)
            .send(Message::Record(record.clone()));
    }

    async fn flush(&self, deployment: &str) {
        let (done, flushed) = tokio::sync::oneshot::channel();
        if self
            .publisher(deployment)
            .send(Message::Flush(done))
            .is_ok()
        {
            // Give up after a while: the archive holds the log whatever Redis does.
            let _ = tokio::time::timeout(Duration::from_secs(10), flushed).await;
        }
    }
}

#[async_trait]
impl LiveLogs for RedisLogs {
    async fn read_after(
        &self,
        deployment: &str,
        after: u64,
        wait: Duration,
    ) -> Result<Option<Vec<LogRecord>>, PierError> {
        let mut reader = self.reader.lock().await;
        if reader.is_none() {
            *reader = Some(self.connect().await?);
        }
        let connection = reader.as_mut().expect("connected above");
        let key = stream_key(deployment);
        let mut xread = redis::cmd("XREAD");
        xread.arg("COUNT").arg(BATCH * 4);
        // `BLOCK 0` would wait forever: a zero wait means "do not block".
        if !wait.is_zero() {
            xread.arg("BLOCK").arg(wait.as_millis().max(1) as u64);
        }
        let result: Result<redis::Value, _> = xread
            .arg("STREAMS")
            .arg(&key)
            .arg(format!("{after}-0"))
            .query_async(connection)
            .await;
        let reply = match result {
            Ok(reply) => reply,
            Err(error) => {
                *reader = None;
                return Err(unreachable_redis(&self.display, &error));
            }
        };
        let mut records = Vec::new();
        for body in record_bodies(&reply) {
            records.push(crate::records::parse_json(&key, body)?);
        }
        if records.is_empty() {
            let exists: bool = redis::cmd("EXISTS")
                .arg(&key)
                .query_async(connection)
                .await
                .map_err(|e| unreachable_redis(&self.display, &e))?;
            if !exists {
                return Ok(None);
            }
        }
        Ok(Some(records))
    }
}

/// The `r` field of every entry in an XREAD reply, in order, borrowed from the reply. The
/// reply is walked as it comes (RESP2 arrays or RESP3 maps) instead of through the crate's
/// `StreamReadReply`, which builds a map and copies each value: following a chatty build
/// decodes tens of thousands of entries a second.
fn record_bodies(reply: &redis::Value) -> Vec<&[u8]> {
    use redis::Value;
    fn items(value: &Value) -> Vec<&Value> {
        match value {
            Value::Array(items) | Value::Set(items) => items.iter().collect(),
            Value::Map(pairs) => pairs.iter().flat_map(|(k, v)| [k, v]).collect(),
            _ => Vec::new(),
        }
    }
    let mut bodies = Vec::new();
    // [key, entries] per stream (an array of pairs in RESP2, a map in RESP3).
    let streams = items(reply);
    let pairs: Vec<&Value> = match reply {
        Value::Map(_) => streams,
        _ => streams.into_iter().flat_map(items).collect(),
    };
    for entries in pairs.into_iter().skip(1).step_by(2) {
        for entry in items(entries) {
            // [id, [field, value, ...]]
            let Some(fields) = items(entry).get(1).copied() else {
                continue;
            };
            let fields = items(fields);
            for pair in fields.chunks(2) {
                if let [Value::BulkString(name), Value::BulkString(body)] = pair
                    && name.as_slice() == b"r"
                {
                    bodies.push(body.as_slice());
                }
            }
        }
    }
    bodies
}

#[cfg(test)]
mod tests {
    use super::display_url;

    #[test]
    fn xread_replies_yield_their_record_bodies_in_order() {
        use redis::Value::{Array, BulkString, Map};
        let entry = |id: &str, body: &str| {
            Array(vec![
                BulkString(id.into()),
                Array(vec![BulkString(b"r".to_vec()), BulkString(body.into())]),
            ])
        };
        let entries = Array(vec![entry("1-0", "one"), entry("2-0", "two")]);
        let resp2 = Array(vec![Array(vec![
            BulkString(b"pier:log:x".to_vec()),
            entries.clone(),
        ])]);
        let resp3 = Map(vec![(BulkString(b"pier:log:x".to_vec()), entries)]);
        for reply in [resp2, resp3] {
            assert_eq!(
                super::record_bodies(&reply),
                [b"one".as_slice(), b"two".as_slice()]
            );
        }
        assert!(super::record_bodies(&redis::Value::Nil).is_empty());
    }

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            display_url("redis://:hunter2@cache.internal:6379/0"),
            "redis://:***@cache.internal:6379/0"
        );
        assert_eq!(
            display_url("rediss://pier:hunter2@cache:6380"),
            "rediss://pier:***@cache:6380"
        );
        assert_eq!(
            display_url("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
    }
}

//! Build log records: every line a build prints and every status change, numbered from 1.
//! The same JSON is a line of the archived `logs/<deployment>.jsonl`, an entry of the Redis
//! stream, and what the window renders: `{"seq":…,"at_ms":…,"type":"line","stream":…,"text":…}`
//! or `{"seq":…,"at_ms":…,"type":"status","status":…,"message":…}`.

use serde::{Deserialize, Serialize};

named_enum! {
    pub enum BuildStatus {
        Queued => "queued",
        Cloning => "cloning",
        Installing => "installing",
        Building => "building",
        Uploading => "uploading",
        Ready => "ready",
        Failed => "failed",
        Canceled => "canceled",
    }
}

impl BuildStatus {
    /// Whether the build is over (nothing follows this status).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            BuildStatus::Ready | BuildStatus::Failed | BuildStatus::Canceled
        )
    }
}

/// One build as the history lists it (`logs/builds/<deployment>.json` in the store): what the
/// Logs screen shows without reading the build's whole log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildSummary {
    pub deployment: String,
    pub project: String,
    /// The last status written: a build still running shows where it is.
    pub status: BuildStatus,
    /// Why it failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Whether it goes to production once deployed.
    #[serde(default)]
    pub production: bool,
    /// When the build was asked for (its id's time), in milliseconds since the Unix epoch.
    pub started_ms: i64,
    /// When it ended; none while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_ms: Option<i64>,
}

named_enum! {
    pub enum LogStream {
        Stdout => "stdout",
        Stderr => "stderr",
        /// Pier's own lines: which command runs, how long it took.
        System => "system",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum LogKind {
    Line {
        stream: LogStream,
        text: String,
    },
    Status {
        status: BuildStatus,
        message: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "FlatRecord")]
pub struct LogRecord {
    pub seq: u64,
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
    #[serde(flatten)]
    pub kind: LogKind,
}

/// A record as it is written, read as one flat struct: serde's `flatten` over a tagged enum
/// buffers every field first, which made decoding the slowest step of following a chatty
/// build (and a 100 ms frame in the window for the first batch of a busy log).
#[derive(Deserialize)]
struct FlatRecord {
    seq: u64,
    at_ms: i64,
    #[serde(rename = "type")]
    kind: String,
    stream: Option<LogStream>,
    text: Option<String>,
    status: Option<BuildStatus>,
    message: Option<String>,
}

impl TryFrom<FlatRecord> for LogRecord {
    type Error = String;

    fn try_from(flat: FlatRecord) -> Result<LogRecord, String> {
        let kind = match (flat.kind.as_str(), flat.stream, flat.text, flat.status) {
            ("line", Some(stream), Some(text), _) => LogKind::Line { stream, text },
            ("status", _, _, Some(status)) => LogKind::Status {
                status,
                message: flat.message,
            },
            (other, ..) => {
                return Err(format!(
                    "a log record of type `{other}` lacks its fields (a line needs stream and \
                     text, a status needs status)"
                ));
            }
        };
        Ok(LogRecord {
            seq: flat.seq,
            at_ms: flat.at_ms,
            kind,
        })
    }
}

impl LogRecord {
    /// The build's final status, when this record is the one that ends it.
    pub fn terminal_status(&self) -> Option<BuildStatus> {
        match &self.kind {
            LogKind::Status { status, .. } if status.is_terminal() => Some(*status),
            _ => None,
        }
    }
}

/// Records of a followed log, in order, as one JSON array in a string. They cross to the
/// window as text, which the wasm UI parses itself: converting each record's fields from
/// JavaScript objects one by one made the first batch of a chatty log a 100 ms frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LogBatch(String);

impl LogBatch {
    pub fn of(records: &[LogRecord]) -> LogBatch {
        // A Vec of these records always serializes: every field is a string, number or enum.
        LogBatch(serde_json::to_string(records).unwrap_or_else(|_| "[]".into()))
    }

    pub fn records(&self) -> Result<Vec<LogRecord>, serde_json::Error> {
        serde_json::from_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_back_as_written() {
        let text = r#"[{"seq":1,"at_ms":1700000000000,"type":"status","status":"building","message":null},
            {"seq":2,"at_ms":1700000000001,"type":"line","stream":"stderr","text":"\u001b[31merror\u001b[0m"}]"#;
        let records: Vec<LogRecord> = serde_json::from_str(text).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(
            records[1].kind,
            LogKind::Line {
                stream: LogStream::Stderr,
                text: "\u{1b}[31merror\u{1b}[0m".into()
            }
        );
        assert_eq!(LogBatch::of(&records).records().unwrap(), records);
        let written = serde_json::to_string(&records[1]).unwrap();
        assert_eq!(
            written,
            r#"{"seq":2,"at_ms":1700000000001,"type":"line","stream":"stderr","text":"\u001b[31merror\u001b[0m"}"#
        );
    }

    #[test]
    fn only_ready_failed_and_canceled_end_a_build() {
        let status = |status| LogRecord {
            seq: 1,
            at_ms: 0,
            kind: LogKind::Status {
                status,
                message: None,
            },
        };
        assert_eq!(
            status(BuildStatus::Failed).terminal_status(),
            Some(BuildStatus::Failed)
        );
        assert_eq!(status(BuildStatus::Building).terminal_status(), None);
        assert_eq!(BuildStatus::Canceled.name(), "canceled");
    }
}

//! What the engine sends, as the window reads it (mirrors `pier_app`'s JSON; the wasm
//! UI cannot link the engine itself).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct UserError {
    pub message: String,
    pub hint: String,
    /// The engine's stable error code (`expired_credentials`, `no_such_bucket`, `app`).
    #[serde(default)]
    pub code: String,
}

impl UserError {
    pub fn internal(detail: &str) -> UserError {
        UserError {
            message: format!("The app could not talk to its engine: {detail}"),
            hint: "restart Pier; if it happens again, report it with this message".into(),
            code: "internal".into(),
        }
    }

    /// Whether the fix is in Settings (the AWS profile or credentials).
    pub fn wants_settings(&self) -> bool {
        matches!(
            self.code.as_str(),
            "expired_credentials" | "no_credentials" | "bad_credentials" | "access_denied"
        )
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DeploymentView {
    pub id: String,
    pub project: String,
    pub preview: String,
    pub preview_url: String,
    pub created_ms: f64,
    pub source: String,
    pub file_count: u64,
    pub total_bytes: u64,
    pub production: bool,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ProjectView {
    pub name: String,
    pub production_url: Option<String>,
    pub production: Option<String>,
    pub deployments: usize,
    pub status: String,
    pub status_message: Option<String>,
    pub latest: Option<DeploymentView>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DeploySnapshot {
    pub job: String,
    pub project: String,
    pub phase: String,
    pub files_total: u64,
    pub files_hashed: u64,
    pub bytes_total: u64,
    pub bytes_hashed: u64,
    pub upload_bytes_total: u64,
    pub bytes_uploaded: u64,
    pub fraction: f64,
    pub eta_ms: Option<f64>,
    pub deployment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WatchDeploy {
    pub deployment: String,
    pub preview_url: String,
    pub at_ms: f64,
    pub changes: usize,
    pub save_to_live_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WatchView {
    pub dir: String,
    pub project: String,
    pub url: String,
    pub state: String,
    pub message: Option<String>,
    pub history: Vec<WatchDeploy>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum LogKind {
    Line {
        stream: String,
        text: String,
    },
    Status {
        status: String,
        message: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "FlatRecord")]
pub struct LogRecord {
    pub seq: u64,
    pub at_ms: f64,
    pub kind: LogKind,
}

/// A record as the engine writes it, read as one flat struct (serde's `flatten` over a tagged
/// enum buffers every field first: too slow for 10,000 lines a second).
#[derive(Deserialize)]
struct FlatRecord {
    seq: u64,
    at_ms: f64,
    #[serde(rename = "type")]
    kind: String,
    stream: Option<String>,
    text: Option<String>,
    status: Option<String>,
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
            (other, ..) => return Err(format!("a log record of type `{other}` lacks its fields")),
        };
        Ok(LogRecord {
            seq: flat.seq,
            at_ms: flat.at_ms,
            kind,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AppEvent {
    DeployProgress(DeploySnapshot),
    DeployFinished {
        job: String,
        project: String,
        deployment: String,
        preview_url: String,
        built: bool,
    },
    DeployFailed {
        job: String,
        project: Option<String>,
        deployment: Option<String>,
        error: UserError,
    },
    Changed {
        project: Option<String>,
    },
    Watch(WatchView),
    /// `records` is a JSON array of [`LogRecord`] (parsed in wasm, see the engine's event).
    LogRecords {
        deployment: String,
        records: String,
    },
    LogEnded {
        deployment: String,
        error: Option<UserError>,
    },
    LogReconnecting {
        deployment: String,
    },
    TargetChanged,
    SetupStep {
        run: String,
        change: SetupChange,
    },
    SetupEnded {
        run: String,
        outcome: Option<SetupOutcome>,
        error: Option<UserError>,
    },
    DomainStep {
        domain: String,
        step: DomainStep,
    },
    DomainEnded {
        domain: String,
        attached: bool,
        error: Option<UserError>,
    },
}

/// What the AWS setup screen sends (`pier_app::aws_setup::SetupForm`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SetupForm {
    pub base_domain: String,
    pub profile: String,
    pub region: String,
    pub bucket: String,
    pub name: String,
    pub proxy_min: u32,
    pub proxy_max: u32,
    pub builders_min: u32,
    pub builders_max: u32,
    pub log_days: i32,
}

/// One setup step: `action` is exists, create, update or waiting.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SetupChange {
    pub resource: String,
    pub name: String,
    pub action: String,
    #[serde(default)]
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SetupOutcome {
    pub run: String,
    pub changes: Vec<SetupChange>,
    pub waiting: bool,
    pub bucket: String,
    pub base_domain: String,
    pub region: String,
    pub record: String,
    pub switched: bool,
}

/// One domain-wizard step: `status` is done, changed, waiting, skipped or failed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DomainStep {
    pub step: String,
    pub status: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DomainListing {
    pub domain: String,
    pub project: String,
    pub attached: bool,
    pub reached: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DomainsView {
    pub domains: Vec<DomainListing>,
    pub distribution_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RemoveOutcome {
    pub domain: String,
    pub steps: Vec<DomainStep>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SettingsForm {
    pub target: String,
    pub profile: String,
    pub region: String,
    pub bucket: String,
    pub prefix: String,
    pub endpoint: String,
    pub redis_url: String,
    pub redis_password: Option<String>,
    pub base_url: String,
    /// Shown only (from the engine): whether the keychain holds a Redis password.
    #[serde(skip_serializing)]
    pub redis_password_saved: bool,
    #[serde(skip_serializing)]
    pub store: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CheckItem {
    pub what: String,
    pub ok: bool,
    pub message: String,
    pub hint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CheckReport {
    pub ok: bool,
    pub items: Vec<CheckItem>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AppInfo {
    pub serve_url: String,
    pub store: String,
    pub startup_problem: Option<UserError>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_batches_parse_as_the_engine_writes_them() {
        let text = r#"[{"seq":1,"at_ms":1700000000000,"type":"status","status":"building","message":null},
            {"seq":2,"at_ms":1700000000001,"type":"line","stream":"stderr","text":"\u001b[31merror\u001b[0m"}]"#;
        let records: Vec<LogRecord> = serde_json::from_str(text).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(
            records[1].kind,
            LogKind::Line {
                stream: "stderr".into(),
                text: "\u{1b}[31merror\u{1b}[0m".into()
            }
        );
        let event: AppEvent = serde_json::from_value(serde_json::json!({
            "kind": "log_records", "deployment": "d1", "records": text
        }))
        .unwrap();
        assert!(matches!(event, AppEvent::LogRecords { .. }));
        assert!(
            serde_json::from_str::<Vec<LogRecord>>(r#"[{"seq":1,"at_ms":1,"type":"line"}]"#)
                .is_err()
        );
    }
}

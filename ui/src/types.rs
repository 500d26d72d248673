//! What the engine sends, as the window reads it (mirrors `pier_core::app`'s JSON; the wasm
//! UI cannot link the engine itself).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct UserError {
    pub message: String,
    pub hint: String,
}

impl UserError {
    pub fn internal(detail: &str) -> UserError {
        UserError {
            message: format!("The app could not talk to its engine: {detail}"),
            hint: "restart Pier; if it happens again, report it with this message".into(),
        }
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
pub struct LogRecord {
    pub seq: u64,
    pub at_ms: f64,
    #[serde(flatten)]
    pub kind: LogKind,
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
    LogRecords {
        deployment: String,
        records: Vec<LogRecord>,
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

/// What the AWS setup screen sends (`pier_core::app::aws_setup::SetupForm`).
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

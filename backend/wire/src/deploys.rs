//! What the Projects, Project and Deploy screens show: each project with its production URL
//! and its newest deployment's status; each deployment with its source, size, time and
//! preview URL; a deploy job's progress. Times are milliseconds since the Unix epoch; the
//! window renders ages.

use serde::{Deserialize, Serialize};

named_enum! {
    /// Where a project stands: its newest deploy job's state, or `ready` once a deployment
    /// exists and no newer job runs.
    pub enum Status {
        Ready => "ready",
        Building => "building",
        Deploying => "deploying",
        Failed => "failed",
        /// No deployment yet.
        Empty => "empty",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectView {
    pub name: String,
    pub production_url: Option<String>,
    pub production: Option<String>,
    pub deployments: usize,
    pub status: Status,
    pub status_message: Option<String>,
    pub latest: Option<DeploymentView>,
    /// Each other region's state for the project (none with one region).
    #[serde(default)]
    pub regions: Vec<crate::regions::RegionReport>,
    /// Its deployments and failed builds over the last [`ACTIVITY_DAYS`] days, newest first.
    #[serde(default)]
    pub activity: Vec<Activity>,
}

/// How far back a project's activity goes.
pub const ACTIVITY_DAYS: i64 = 30;

/// One event on a project's timeline: a deployment made (`ok`) or a build that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    pub at_ms: i64,
    pub ok: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentView {
    pub id: String,
    pub project: String,
    pub preview: String,
    pub preview_url: String,
    pub created_ms: i64,
    pub source: String,
    pub file_count: u64,
    pub total_bytes: u64,
    pub production: bool,
    /// A deployment exists only once complete, so this is always `ready`.
    pub status: Status,
}

named_enum! {
    pub enum Phase {
        Starting => "starting",
        Building => "building",
        Hashing => "hashing",
        Uploading => "uploading",
        Finalizing => "finalizing",
    }
}

/// A deploy job's progress, throttled to a few a second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploySnapshot {
    pub job: String,
    pub project: String,
    pub phase: Phase,
    pub files_total: u64,
    pub files_hashed: u64,
    pub bytes_total: u64,
    pub bytes_hashed: u64,
    pub upload_bytes_total: u64,
    pub bytes_uploaded: u64,
    /// 0.0 to 1.0 across hashing and uploading.
    pub fraction: f64,
    /// Estimated time left, once there is a rate to go by.
    pub eta_ms: Option<u64>,
    /// The build log to follow, when the folder is being built first.
    pub deployment: Option<String>,
}

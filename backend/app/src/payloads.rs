//! What events carry about watches and setup runs, apart from the modules that emit them:
//! [`super::events`] names these types, and the emitters ([`super::watches`],
//! [`super::aws_setup`]) name the events, so keeping the payloads here keeps the module graph
//! free of cycles.

use serde::{Deserialize, Serialize};

use super::watch_history::WatchDeploy;
use pier_aws::setup::Change;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WatchState {
    Starting,
    Idle,
    Building,
    Deploying,
    Failed,
    /// The folder was deleted or moved; the watch waits for it to come back.
    FolderGone,
    Stopped,
}

#[derive(Debug, Clone, Serialize)]
pub struct WatchView {
    pub dir: String,
    pub project: String,
    pub url: String,
    pub state: WatchState,
    pub message: Option<String>,
    /// Newest first.
    pub history: Vec<WatchDeploy>,
}

/// Which run an event belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SetupRun {
    Plan,
    Apply,
    Teardown,
}

/// How a run ended.
#[derive(Debug, Clone, Serialize)]
pub struct SetupOutcome {
    pub run: SetupRun,
    pub changes: Vec<Change>,
    /// A step waits on something outside Pier (DNS validation): run the apply again later.
    pub waiting: bool,
    pub bucket: String,
    pub base_domain: String,
    pub region: String,
    /// Where the record of what was made is kept.
    pub record: String,
    /// The app now works against the new bucket.
    pub switched: bool,
}

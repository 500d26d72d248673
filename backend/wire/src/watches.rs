//! What the Watch screen shows: each watched folder, its state, and its recent deploys with
//! how long each took from the save to live.

use serde::{Deserialize, Serialize};

named_enum! {
    pub enum WatchState {
        Starting => "starting",
        Idle => "idle",
        Building => "building",
        Deploying => "deploying",
        Failed => "failed",
        /// The folder was deleted or moved; the watch waits for it to come back.
        FolderGone => "folder_gone",
        Stopped => "stopped",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchView {
    pub dir: String,
    pub project: String,
    pub url: String,
    pub state: WatchState,
    pub message: Option<String>,
    /// Newest first.
    pub history: Vec<WatchDeploy>,
}

/// One deploy a watch made (also kept on disk, in `watch-history.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchDeploy {
    pub deployment: String,
    pub preview_url: String,
    pub at_ms: i64,
    pub changes: usize,
    pub save_to_live_ms: u64,
}

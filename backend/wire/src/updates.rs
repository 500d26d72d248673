//! A newer release of the desktop app, as the shell offers it to the window: found by the
//! updater's check of the release endpoint (`latest.json`), installed only on the user's
//! click.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateOffer {
    /// The release on offer, as `latest.json` names it.
    pub version: String,
    /// The version running now.
    pub current_version: String,
    /// The release notes, when the release has any.
    pub notes: Option<String>,
    /// When it was published (RFC 3339), as `latest.json` says.
    pub date: Option<String>,
}

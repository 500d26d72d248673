//! A region's state for a project, as a deploy, `pier regions status` and the desktop report
//! it: in sync with the primary region, lagging behind it (and by what), or unreachable.
//! A leaf: `deploy` reports it and `regions` computes it, so neither depends on the other.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionReport {
    pub region: String,
    #[serde(flatten)]
    pub state: RegionState,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RegionState {
    /// Every deployment, removal and alias change of the primary is there.
    InSync,
    /// The region serves what it has, complete, but lacks some of the primary's changes.
    Lagging {
        /// Deployments the primary has and this region does not.
        missing: u64,
        /// Whether its production alias is older than the primary's.
        alias_behind: bool,
        /// Removals made in the primary and not yet here.
        removals_pending: u64,
        /// Why the last attempt to bring it up to date stopped, when one did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Its store did not answer.
    Unreachable { detail: String },
}

impl RegionState {
    pub fn in_sync(&self) -> bool {
        matches!(self, RegionState::InSync)
    }

    /// One line for a terminal or a status cell.
    pub fn describe(&self) -> String {
        match self {
            RegionState::InSync => "in sync".into(),
            RegionState::Lagging {
                missing,
                alias_behind,
                removals_pending,
                reason,
            } => {
                let mut parts = Vec::new();
                if *missing > 0 {
                    let plural = if *missing == 1 { "" } else { "s" };
                    parts.push(format!("{missing} deployment{plural} missing"));
                }
                if *alias_behind {
                    parts.push("production alias behind".into());
                }
                if *removals_pending > 0 {
                    parts.push(format!("{removals_pending} removal(s) pending"));
                }
                let mut line = format!("lagging: {}", parts.join(", "));
                if parts.is_empty() {
                    line = "lagging".into();
                }
                if let Some(reason) = reason {
                    line.push_str(&format!(" ({reason})"));
                }
                line
            }
            RegionState::Unreachable { detail } => format!("unreachable: {detail}"),
        }
    }
}

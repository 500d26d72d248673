//! A region's state for a project, as a deploy, `pier regions status` and the desktop's
//! Projects and Project screens report it: in sync with the primary region, lagging behind it
//! (and by what), or unreachable. Here rather than in the engine so the window draws the very
//! type the engine computes; pier-core re-exports it as `region_state` (a leaf: `deploy`
//! reports it and `regions` computes it, so neither depends on the other).

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

    /// The state's wire name, for a CSS class: `in_sync`, `lagging`, `unreachable`.
    pub fn kind(&self) -> &'static str {
        match self {
            RegionState::InSync => "in_sync",
            RegionState::Lagging { .. } => "lagging",
            RegionState::Unreachable { .. } => "unreachable",
        }
    }

    /// A few words for a badge: `in sync`, `lagging by 2`, `alias behind`, `unreachable`.
    pub fn short(&self) -> String {
        match self {
            RegionState::InSync => "in sync".into(),
            RegionState::Lagging { missing, .. } if *missing > 0 => format!("lagging by {missing}"),
            RegionState::Lagging {
                alias_behind: true, ..
            } => "alias behind".into(),
            RegionState::Lagging { .. } => "lagging".into(),
            RegionState::Unreachable { .. } => "unreachable".into(),
        }
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

/// The region codes in a list as a user types it (`eu-west-1, ap-southeast-1`, commas or
/// spaces between them), lowercased, in order, each once.
pub fn parse_list(text: &str) -> Vec<String> {
    let mut regions: Vec<String> = Vec::new();
    for region in text
        .split(|c: char| c == ',' || c.is_whitespace())
        .map(|part| part.trim().to_ascii_lowercase())
        .filter(|part| !part.is_empty())
    {
        if !regions.contains(&region) {
            regions.push(region);
        }
    }
    regions
}

/// The first of `others` that is not another AWS region: not shaped like a region code, or
/// the primary itself.
pub fn not_another_region<'a>(primary: Option<&str>, others: &'a [String]) -> Option<&'a str> {
    others
        .iter()
        .map(String::as_str)
        .find(|region| !looks_like_region(region) || Some(*region) == primary)
}

/// Whether `code` is shaped like an AWS region code (`eu-west-1`, `us-gov-east-1`).
pub fn looks_like_region(code: &str) -> bool {
    let parts: Vec<&str> = code.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|last| last.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_lists_are_read_as_typed() {
        assert_eq!(
            parse_list(" EU-west-1,ap-southeast-1  eu-west-1,,"),
            ["eu-west-1", "ap-southeast-1"]
        );
        assert!(parse_list("  ").is_empty());
        assert!(looks_like_region("us-gov-east-1"));
        assert!(looks_like_region("eu-west-1"));
        for bad in ["eu-west", "europe", "eu_west_1", "eu--1", "eu-west-x"] {
            assert!(!looks_like_region(bad), "{bad}");
        }
        let others = parse_list("eu-west-1, us-east-1");
        assert_eq!(
            not_another_region(Some("us-east-1"), &others),
            Some("us-east-1")
        );
        assert_eq!(not_another_region(Some("ap-south-1"), &others), None);
    }
}

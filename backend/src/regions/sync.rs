//! Bringing one project in another region up to the primary region's state, and telling how
//! far behind it is.
//!
//! Order, so that a region never serves what it does not hold whole: the production
//! deployment is copied first (blobs, then manifest), then the alias record is mirrored
//! (only forward: `alias::mirror`), then the other deployments the region lacks, newest first;
//! removals last, once the mirrored record lists them, as `pier rm` does in the primary.

use std::collections::BTreeSet;

use serde::Serialize;

use super::copy::{Copied, copy_deployment};
use crate::alias::{self, AliasRecord, Mirrored};
use crate::error::{PierError, StoreError};
use crate::region_state::RegionState;
use crate::store::{Store, keys, list_all};

/// What one project's sync changed in one region.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncOutcome {
    pub copied_deployments: u64,
    pub copied_blobs: u64,
    pub copied_bytes: u64,
    pub removed_deployments: u64,
    /// Whether the region's production alias moved.
    pub alias_moved: bool,
}

/// What the two stores hold of a project.
struct Compared {
    truth: Option<AliasRecord>,
    region_alias: Option<AliasRecord>,
    /// In the primary and not in the region, newest first (removed ones left out).
    missing: Vec<String>,
    /// In the region and removed in the primary.
    to_remove: Vec<String>,
}

impl Compared {
    async fn read(
        primary: &dyn Store,
        region: &dyn Store,
        project: &str,
    ) -> Result<Self, PierError> {
        let (truth, in_primary, region_alias, in_region) = tokio::join!(
            alias::read(primary, project),
            deployment_ids(primary, project),
            alias::read(region, project),
            deployment_ids(region, project),
        );
        let (truth, in_primary) = (truth?, in_primary?);
        let (region_alias, in_region) = (region_alias?, in_region?);
        let removed: BTreeSet<&str> = truth
            .iter()
            .flat_map(|record| record.removed.iter().map(String::as_str))
            .collect();
        let mut missing: Vec<String> = in_primary
            .difference(&in_region)
            .filter(|id| !removed.contains(id.as_str()))
            .cloned()
            .collect();
        missing.reverse();
        let to_remove = in_region
            .iter()
            .filter(|id| removed.contains(id.as_str()))
            .cloned()
            .collect();
        Ok(Compared {
            truth,
            region_alias,
            missing,
            to_remove,
        })
    }

    fn alias_behind(&self) -> bool {
        match (&self.truth, &self.region_alias) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(truth), Some(copy)) => {
                copy.generation < truth.generation || (truth.generation == 0 && copy != truth)
            }
        }
    }

    fn state(&self) -> RegionState {
        if self.missing.is_empty() && self.to_remove.is_empty() && !self.alias_behind() {
            RegionState::InSync
        } else {
            RegionState::Lagging {
                missing: self.missing.len() as u64,
                alias_behind: self.alias_behind(),
                removals_pending: self.to_remove.len() as u64,
                reason: None,
            }
        }
    }
}

async fn deployment_ids(store: &dyn Store, project: &str) -> Result<BTreeSet<String>, PierError> {
    Ok(list_all(store, &keys::project_deployments(project))
        .await?
        .iter()
        .map(|meta| keys::stem(&meta.key).to_string())
        .collect())
}

/// How far `region` is behind `primary` for `project`; a store that does not answer makes the
/// region unreachable (any other error is returned).
pub async fn project_state(
    primary: &dyn Store,
    region: &dyn Store,
    project: &str,
) -> Result<RegionState, PierError> {
    match Compared::read(primary, region, project).await {
        Ok(compared) => Ok(compared.state()),
        Err(error) => unreachable_or(error, region),
    }
}

/// Turns a region's outage into its state; anything else stays an error.
pub fn unreachable_or(error: PierError, region: &dyn Store) -> Result<RegionState, PierError> {
    match error {
        PierError::Store(StoreError::Unreachable { detail, .. }) => Ok(RegionState::Unreachable {
            detail: format!("{}: {detail}", region.url()),
        }),
        other => Err(other),
    }
}

/// Makes `region` hold every deployment, removal and alias change `primary` has for `project`.
pub async fn sync_project(
    primary: &dyn Store,
    region: &dyn Store,
    project: &str,
) -> Result<SyncOutcome, PierError> {
    let compared = Compared::read(primary, region, project).await?;
    let mut outcome = SyncOutcome::default();
    let count = |copied: Copied, outcome: &mut SyncOutcome| {
        outcome.copied_deployments += 1;
        outcome.copied_blobs += copied.blobs;
        outcome.copied_bytes += copied.bytes;
    };
    let production = compared
        .truth
        .as_ref()
        .and_then(|record| record.production.clone());
    if let Some(production) = &production {
        // Copied before the alias can name it: missing by its index entry, or (when the alias
        // is about to move) by its manifest. One the primary lacks too (removed outside Pier)
        // fails the copy, so the region is never pointed at nothing.
        let lacking = compared.missing.contains(production)
            || (compared.alias_behind()
                && region.head(&keys::manifest(production)).await?.is_none());
        if lacking {
            count(
                copy_deployment(primary, region, production).await?,
                &mut outcome,
            );
        }
    }
    if let Some(truth) = &compared.truth
        && compared.alias_behind()
    {
        outcome.alias_moved = alias::mirror(region, truth).await? == Mirrored::Replaced;
    }
    for id in compared
        .missing
        .iter()
        .filter(|id| Some(*id) != production.as_ref())
    {
        count(copy_deployment(primary, region, id).await?, &mut outcome);
    }
    for id in &compared.to_remove {
        remove_copy(region, project, id).await?;
        outcome.removed_deployments += 1;
    }
    Ok(outcome)
}

/// A removal the primary made, made here: the manifest first, then its records (found from
/// the index entry, which outlives the manifest when an earlier try stopped between them).
async fn remove_copy(region: &dyn Store, project: &str, id: &str) -> Result<(), PierError> {
    let index_key = keys::index_entry(project, id);
    let summary = crate::records::read_json::<crate::manifest::Summary>(region, &index_key).await?;
    region.delete(&[keys::manifest(id)]).await?;
    let mut records = vec![index_key];
    if let Some(summary) = summary {
        records.insert(0, keys::preview(&summary.preview));
    }
    region.delete(&records).await?;
    Ok(())
}

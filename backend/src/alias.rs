//! The production alias of a project: the one mutable record that decides what is live.
//!
//! `projects/<project>/alias.json` holds the production deployment, a rollback stack of the
//! earlier ones, a history of every change, and the ids removed from the project. Every change
//! is a compare-and-swap: read with its ETag, change, write with `If-Match` (or
//! `If-None-Match: *` for a project's first record), and start over on 412. Concurrent
//! promotes, rollbacks and removals are therefore serialised by the store itself, and none is
//! lost. A removed id is recorded here in the same swap that checks it is not live, so a
//! racing promote can never point production at a deployment being removed.
//!
//! With several regions (see `regions`), the primary region's record is the truth: every change
//! there bumps its `generation`, and another region's copy is replaced only by a record of a
//! higher generation ([`mirror`]), so a region's alias only moves forward, whatever order
//! concurrent syncs arrive in.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{PierError, StoreError};
use crate::records::{parse_json, write_json};
use crate::store::{Condition, PutOptions, ReadStore, Store, keys};

const MAX_ATTEMPTS: u32 = 64;
const HISTORY_KEPT: usize = 200;
const ROLLBACK_DEPTH: usize = 50;
const REMOVED_KEPT: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `pier deploy --prod`.
    Deploy,
    Promote,
    Rollback,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub action: Action,
    pub deployment: String,
    pub previous: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AliasRecord {
    pub project: String,
    pub production: Option<String>,
    /// Earlier production deployments, most recent last; `rollback` pops from here.
    #[serde(default)]
    pub rollback_stack: Vec<String>,
    /// Every change, most recent last.
    #[serde(default)]
    pub history: Vec<HistoryEntry>,
    /// Ids removed from the project; they can never be promoted again.
    #[serde(default)]
    pub removed: Vec<String>,
    /// Bumped by every change in the primary region; 0 for a record from before regions.
    #[serde(default)]
    pub generation: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AliasChange {
    pub project: String,
    pub action: Action,
    pub from: Option<String>,
    pub to: String,
}

/// The project's alias record, or `None` when nothing was ever promoted or removed.
pub async fn read(store: &dyn ReadStore, project: &str) -> Result<Option<AliasRecord>, PierError> {
    Ok(read_versioned(store, project)
        .await?
        .map(|(record, _)| record))
}

async fn read_versioned(
    store: &dyn ReadStore,
    project: &str,
) -> Result<Option<(AliasRecord, String)>, PierError> {
    let key = keys::alias(project);
    match store.get(&key).await? {
        Some(object) => Ok(Some((parse_json(&key, &object.body)?, object.etag))),
        None => Ok(None),
    }
}

/// Applies `change` to the record with compare-and-swap, retrying on lost races. `change`
/// gets the current record and returns it changed with an outcome, or `None` when there is
/// nothing to write.
async fn update<T, F, Fut>(
    store: &dyn Store,
    project: &str,
    change: F,
) -> Result<Option<T>, PierError>
where
    F: FnMut(AliasRecord) -> Fut,
    Fut: Future<Output = Result<Option<(AliasRecord, T)>, PierError>>,
{
    swap(store, project, Write::Change, change).await
}

/// What a swap writes: a change made here (trimmed, its generation bumped), or the primary
/// region's record copied as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Write {
    Change,
    Copy,
}

async fn swap<T, F, Fut>(
    store: &dyn Store,
    project: &str,
    write: Write,
    mut change: F,
) -> Result<Option<T>, PierError>
where
    F: FnMut(AliasRecord) -> Fut,
    Fut: Future<Output = Result<Option<(AliasRecord, T)>, PierError>>,
{
    let key = keys::alias(project);
    for attempt in 0..MAX_ATTEMPTS {
        let (record, condition) = match read_versioned(store, project).await? {
            Some((record, etag)) => (record, Condition::IfMatch(etag)),
            None => (
                AliasRecord {
                    project: project.to_string(),
                    ..Default::default()
                },
                Condition::IfNoneMatch,
            ),
        };
        let Some((mut record, outcome)) = change(record).await? else {
            return Ok(None);
        };
        if write == Write::Change {
            trim(&mut record);
            record.generation += 1;
        }
        match write_json(
            store,
            &key,
            &record,
            PutOptions::json().with_condition(condition),
        )
        .await
        {
            Ok(_) => return Ok(Some(outcome)),
            Err(PierError::Store(StoreError::PreconditionFailed { .. })) => {
                let jitter = rand::random_range(0..=10u64 * u64::from(attempt.min(10) + 1));
                tokio::time::sleep(Duration::from_millis(jitter)).await;
            }
            Err(e) => return Err(e),
        }
    }
    Err(PierError::AliasContention {
        project: project.to_string(),
    })
}

fn trim(record: &mut AliasRecord) {
    fn keep_last<T>(list: &mut Vec<T>, kept: usize) {
        if list.len() > kept {
            list.drain(..list.len() - kept);
        }
    }
    keep_last(&mut record.history, HISTORY_KEPT);
    keep_last(&mut record.rollback_stack, ROLLBACK_DEPTH);
    keep_last(&mut record.removed, REMOVED_KEPT);
}

/// Points production at `id`, a deployment of `project` whose manifest is in the store.
pub async fn promote(
    store: &dyn Store,
    project: &str,
    id: &str,
    action: Action,
) -> Result<AliasChange, PierError> {
    let change = update(store, project, |mut record| async move {
        if record.removed.iter().any(|removed| removed == id) {
            return Err(PierError::UnknownDeployment {
                reference: id.to_string(),
            });
        }
        let from = record.production.clone();
        if from.as_deref() == Some(id) {
            let unchanged = AliasChange {
                project: project.to_string(),
                action,
                from,
                to: id.to_string(),
            };
            return Ok(Some((record, unchanged)));
        }
        if let Some(previous) = &from {
            record.rollback_stack.retain(|entry| entry != id);
            record.rollback_stack.push(previous.clone());
        }
        record.production = Some(id.to_string());
        record.history.push(HistoryEntry {
            action,
            deployment: id.to_string(),
            previous: from.clone(),
            at: OffsetDateTime::now_utc(),
        });
        let change = AliasChange {
            project: project.to_string(),
            action,
            from,
            to: id.to_string(),
        };
        Ok(Some((record, change)))
    })
    .await?;
    Ok(change.expect("promote always yields a change"))
}

/// Points production back at the most recent earlier production deployment still present.
pub async fn rollback(store: &dyn Store, project: &str) -> Result<AliasChange, PierError> {
    if read(store, project).await?.is_none() {
        return Err(PierError::UnknownProject {
            project: project.to_string(),
        });
    }
    let change = update(store, project, |mut record| async move {
        let current = record.production.clone();
        while let Some(candidate) = record.rollback_stack.pop() {
            let present = store.head(&keys::manifest(&candidate)).await?.is_some();
            if !present
                || record.removed.contains(&candidate)
                || Some(&candidate) == current.as_ref()
            {
                continue;
            }
            record.production = Some(candidate.clone());
            record.history.push(HistoryEntry {
                action: Action::Rollback,
                deployment: candidate.clone(),
                previous: current.clone(),
                at: OffsetDateTime::now_utc(),
            });
            let change = AliasChange {
                project: project.to_string(),
                action: Action::Rollback,
                from: current,
                to: candidate,
            };
            return Ok(Some((record, change)));
        }
        Err(PierError::NothingToRollBack {
            project: project.to_string(),
        })
    })
    .await?;
    Ok(change.expect("rollback always yields a change"))
}

/// Records `id` as removed, refusing when it is production. After this returns, no promote
/// can make `id` live.
pub async fn retire(store: &dyn Store, project: &str, id: &str) -> Result<(), PierError> {
    update(store, project, |mut record| async move {
        if record.production.as_deref() == Some(id) {
            return Err(PierError::DeploymentIsLive {
                id: id.to_string(),
                project: project.to_string(),
            });
        }
        if record.removed.iter().any(|removed| removed == id) {
            return Ok(None);
        }
        record.rollback_stack.retain(|entry| entry != id);
        record.removed.push(id.to_string());
        Ok(Some((record, ())))
    })
    .await?;
    Ok(())
}

/// What [`mirror`] did to a region's copy of an alias record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mirrored {
    /// The region's copy was older and is now `truth`.
    Replaced,
    /// The region's copy was already at `truth`'s generation or a newer one.
    AlreadyCurrent,
}

/// Makes `store`'s copy of the project's record `truth` (the primary region's), unless the
/// copy is already of that generation or newer: a region's alias only moves forward. The
/// caller makes sure every deployment `truth` names as production is complete in `store`.
pub async fn mirror(store: &dyn Store, truth: &AliasRecord) -> Result<Mirrored, PierError> {
    let outcome = swap(store, &truth.project, Write::Copy, |current| async move {
        // A region with no record yet reads as an empty one of generation 0.
        let newer = truth.generation > current.generation
            // Records from before generations: copy while they differ.
            || (truth.generation == 0 && current.generation == 0 && *truth != current);
        if !newer {
            return Ok(None);
        }
        Ok(Some((truth.clone(), Mirrored::Replaced)))
    })
    .await?;
    Ok(outcome.unwrap_or(Mirrored::AlreadyCurrent))
}

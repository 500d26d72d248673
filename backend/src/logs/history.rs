//! The build history: one small record per build, `logs/builds/<deployment id>.json`, written
//! when the build starts and again when it ends, so the desktop's Logs screen (or anyone with
//! the store) lists recent builds (project, status, start, duration, why one failed) without
//! reading whole logs. Ids begin with their creation time in a fixed-width base 36, so the
//! keys sort oldest first and the newest are the last ones listed.
//!
//! A record is a convenience beside the log, never a condition for a build: a write that
//! fails is logged and the build goes on.

use futures::future::join_all;

use crate::error::PierError;
use crate::records::{read_json, write_json};
use crate::store::{PutOptions, Store, list_all};

pub use pier_wire::logs::BuildSummary;

/// Where the history's records live.
pub const PREFIX: &str = "logs/builds/";

pub fn key(deployment: &str) -> String {
    format!("{PREFIX}{deployment}.json")
}

/// A build's record as it starts or ends: `status` now, the project and whether it goes to
/// production; its start is its id's time.
pub fn summary(
    deployment: &str,
    project: &str,
    production: bool,
    status: crate::logs::BuildStatus,
    message: Option<String>,
) -> BuildSummary {
    let now_ms = crate::logs::now_ms();
    BuildSummary {
        deployment: deployment.to_string(),
        project: project.to_string(),
        status,
        message,
        production,
        started_ms: crate::manifest::id_time_ms(deployment).unwrap_or(now_ms),
        ended_ms: status.is_terminal().then_some(now_ms),
    }
}

/// Writes a build's record; a failure is only logged (see the module's note).
pub async fn record(store: &dyn Store, summary: &BuildSummary) {
    let written = write_json(
        store,
        &key(&summary.deployment),
        summary,
        PutOptions::default(),
    )
    .await;
    if let Err(error) = written {
        tracing::warn!(deployment = %summary.deployment, %error, "could not record the build in the history");
    }
}

/// The newest `limit` builds, newest first. A record that vanished or cannot be read is left
/// out rather than hiding the others.
pub async fn recent(store: &dyn Store, limit: usize) -> Result<Vec<BuildSummary>, PierError> {
    started_since(store, i64::MIN, limit).await
}

/// As [`recent`], for builds started at or after `since_ms` only: older ones are told apart
/// by their keys (an id begins with its time), so their records are never read.
pub async fn started_since(
    store: &dyn Store,
    since_ms: i64,
    limit: usize,
) -> Result<Vec<BuildSummary>, PierError> {
    let mut keys: Vec<String> = list_all(store, PREFIX)
        .await?
        .into_iter()
        .map(|meta| meta.key)
        .filter(|key| {
            key.strip_prefix(PREFIX)
                .and_then(|name| name.strip_suffix(".json"))
                .is_some_and(|id| {
                    crate::manifest::id_time_ms(id).is_none_or(|started| started >= since_ms)
                })
        })
        .collect();
    keys.sort_unstable_by(|a, b| b.cmp(a));
    keys.truncate(limit);
    let read = join_all(keys.iter().map(|key| read_json::<BuildSummary>(store, key))).await;
    Ok(read
        .into_iter()
        .zip(&keys)
        .filter_map(|(record, key)| match record {
            Ok(record) => record,
            Err(error) => {
                tracing::warn!(%key, %error, "skipping an unreadable build record");
                None
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::BuildStatus;
    use crate::manifest::new_id;
    use crate::store::local::LocalStore;

    #[tokio::test]
    async fn the_newest_builds_come_first_with_their_last_status() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        let at = |seconds| new_id(time::OffsetDateTime::from_unix_timestamp(seconds).unwrap());
        let (old, middle, new) = (at(1_700_000_000), at(1_700_000_100), at(1_700_000_200));
        record(
            &store,
            &summary(&old, "blog", false, BuildStatus::Building, None),
        )
        .await;
        record(
            &store,
            &summary(&old, "blog", false, BuildStatus::Ready, None),
        )
        .await;
        let failed = Some("the build step `npm run build` failed".to_string());
        record(
            &store,
            &summary(&middle, "shop", true, BuildStatus::Failed, failed.clone()),
        )
        .await;
        record(
            &store,
            &summary(&new, "blog", false, BuildStatus::Installing, None),
        )
        .await;
        // Not a record: the history leaves it out.
        store
            .put(
                &format!("{PREFIX}notes.txt"),
                bytes::Bytes::from_static(b"x"),
                PutOptions::default(),
            )
            .await
            .unwrap();

        let builds = recent(&store, 10).await.unwrap();
        let listed: Vec<(&str, BuildStatus)> = builds
            .iter()
            .map(|b| (b.deployment.as_str(), b.status))
            .collect();
        assert_eq!(
            listed,
            [
                (new.as_str(), BuildStatus::Installing),
                (middle.as_str(), BuildStatus::Failed),
                (old.as_str(), BuildStatus::Ready),
            ]
        );
        assert_eq!(builds[1].message, failed);
        assert!(builds[1].production);
        assert_eq!(builds[2].started_ms, 1_700_000_000_000);
        assert!(builds[2].ended_ms.is_some(), "an ended build has its end");
        assert_eq!(builds[0].ended_ms, None, "a running one has none");
        assert_eq!(recent(&store, 1).await.unwrap().len(), 1);
        let since_middle = started_since(&store, 1_700_000_100_000, 10).await.unwrap();
        assert_eq!(since_middle.len(), 2, "the old build is left out");
    }
}

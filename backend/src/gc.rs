//! Garbage collection of blobs, and the fence that keeps it from racing a deploy.
//!
//! gc deletes every blob that no manifest and no live lease names. A deploy writes a lease
//! naming all its blobs *before* it asks the store which it holds, so a gc that reads the
//! leases after that moment keeps them. The one dangerous interleaving is a gc that read the
//! leases just before the lease was written and deletes a blob the deploy then saw as present.
//! The fence closes it: gc holds `gc/lock.json` (a conditional create) while it runs and bumps
//! `gc/epoch.json` before reading leases; a deploy reads both before its lease and again before
//! its manifest. If a gc ran or is running in between, the deploy waits for it to finish,
//! checks every blob again and re-uploads what went missing, then checks the fence once more.

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::deployments::PreviewRecord;
use crate::error::{PierError, StoreError};
use crate::manifest::{Manifest, is_id};
use crate::records::{parse_json, read_all, write_json};
use crate::store::{Condition, PutOptions, Store, keys, list_all};

/// A gc lock older than this was left by a crashed gc and may be taken over.
const LOCK_TTL: Duration = Duration::from_secs(3600);
/// A lease older than this was left by a crashed deploy and no longer protects its blobs.
pub const LEASE_TTL: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Clone, Serialize, Deserialize)]
struct GcLock {
    #[serde(with = "time::serde::rfc3339")]
    started: OffsetDateTime,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct GcEpoch {
    epoch: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Lease {
    pub deployment: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    pub blobs: Vec<String>,
    /// The `(project, bundle id)` pairs whose Lambda versions the deploy is publishing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<(String, String)>,
}

/// What a deploy saw of gc before writing its lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    epoch: u64,
    gc_running: bool,
}

impl Fence {
    pub async fn observe(store: &dyn Store) -> Result<Fence, PierError> {
        Ok(Fence {
            epoch: read_epoch(store).await?,
            gc_running: live_lock(store).await?.is_some(),
        })
    }

    /// True when no gc ran since `self` was observed and none runs now.
    pub async fn still_clear(&self, store: &dyn Store) -> Result<bool, PierError> {
        let now = Fence::observe(store).await?;
        Ok(!self.gc_running && !now.gc_running && now.epoch == self.epoch)
    }

    /// Waits until no gc holds the lock, then observes afresh.
    pub async fn wait_for_gc(store: &dyn Store) -> Result<Fence, PierError> {
        while live_lock(store).await?.is_some() {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Fence::observe(store).await
    }
}

async fn read_epoch(store: &dyn Store) -> Result<u64, PierError> {
    Ok(match store.get(keys::GC_EPOCH).await? {
        Some(object) => parse_json::<GcEpoch>(keys::GC_EPOCH, &object.body)?.epoch,
        None => 0,
    })
}

/// The gc lock if it is held and not expired, with its ETag.
async fn live_lock(store: &dyn Store) -> Result<Option<(GcLock, String)>, PierError> {
    let Some(object) = store.get(keys::GC_LOCK).await? else {
        return Ok(None);
    };
    let lock: GcLock = parse_json(keys::GC_LOCK, &object.body)?;
    let expired = OffsetDateTime::now_utc() - lock.started > LOCK_TTL;
    Ok((!expired).then_some((lock, object.etag)))
}

pub async fn write_lease(store: &dyn Store, lease: &Lease) -> Result<(), PierError> {
    write_json(
        store,
        &keys::lease(&lease.deployment),
        lease,
        PutOptions::json(),
    )
    .await?;
    Ok(())
}

pub async fn drop_lease(store: &dyn Store, deployment: &str) -> Result<(), PierError> {
    store.delete(&[keys::lease(deployment)]).await?;
    Ok(())
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GcReport {
    pub deployments: u64,
    pub blobs_kept: u64,
    pub blobs_deleted: u64,
    pub bytes_freed: u64,
    pub stale_leases_removed: u64,
    pub orphan_records_removed: u64,
    /// Lambda versions no deployment uses (deleted, or that would be).
    pub lambda_versions_deleted: u64,
    pub dry_run: bool,
}

/// Deletes blobs no manifest or live lease uses, and records left behind by interrupted
/// removals. With `dry_run`, only reports what it would delete.
pub async fn collect(store: &dyn Store, dry_run: bool) -> Result<GcReport, PierError> {
    acquire_lock(store).await?;
    let result = collect_locked(store, dry_run, Scope::Everything).await;
    let released = store.delete(&[keys::GC_LOCK.to_string()]).await;
    let report = result?;
    released?;
    Ok(report)
}

/// Deletes only the Lambda versions no deployment uses (what `pier rm` frees at once; blobs
/// wait for `pier gc`), under the same lock and fence as a full collection. Returns how many;
/// nothing to do (and no lock taken) when the store's functions do not run on Lambda.
pub async fn collect_functions(store: &dyn Store) -> Result<u64, PierError> {
    if crate::lambda::read_runtime(store).await?.is_none() {
        return Ok(0);
    }
    acquire_lock(store).await?;
    let result = collect_locked(store, false, Scope::FunctionsOnly).await;
    let released = store.delete(&[keys::GC_LOCK.to_string()]).await;
    let report = result?;
    released?;
    Ok(report.lambda_versions_deleted)
}

/// What a collection deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Everything,
    FunctionsOnly,
}

async fn acquire_lock(store: &dyn Store) -> Result<(), PierError> {
    let body = Bytes::from(
        serde_json::to_vec(&GcLock {
            started: OffsetDateTime::now_utc(),
        })
        .expect("locks serialise"),
    );
    let create = PutOptions::json().with_condition(Condition::IfNoneMatch);
    match store.put(keys::GC_LOCK, body.clone(), create).await {
        Ok(_) => Ok(()),
        Err(StoreError::PreconditionFailed { .. }) => match live_lock(store).await? {
            Some((lock, _)) => Err(PierError::GcRunning {
                started: lock.started.to_string(),
            }),
            None => {
                // Take over an expired lock, but only the exact version we judged expired.
                let stale = store.get(keys::GC_LOCK).await?;
                let condition = match stale {
                    Some(object) => Condition::IfMatch(object.etag),
                    None => Condition::IfNoneMatch,
                };
                store
                    .put(
                        keys::GC_LOCK,
                        body,
                        PutOptions::json().with_condition(condition),
                    )
                    .await
                    .map_err(|e| match e {
                        StoreError::PreconditionFailed { .. } => PierError::GcRunning {
                            started: "just now".into(),
                        },
                        other => other.into(),
                    })?;
                Ok(())
            }
        },
        Err(e) => Err(e.into()),
    }
}

async fn collect_locked(
    store: &dyn Store,
    dry_run: bool,
    scope: Scope,
) -> Result<GcReport, PierError> {
    let mut report = GcReport {
        dry_run,
        ..Default::default()
    };
    let epoch = read_epoch(store).await? + 1;
    write_json(
        store,
        keys::GC_EPOCH,
        &GcEpoch { epoch },
        PutOptions::json(),
    )
    .await?;

    // Blobs are listed first: a blob uploaded after this listing is never a candidate. So are
    // Lambda versions (their records), for the same reason.
    let blobs = match scope {
        Scope::Everything => list_all(store, keys::BLOBS).await?,
        Scope::FunctionsOnly => Vec::new(),
    };
    let runtime = crate::lambda::read_runtime(store).await?;
    let lambda_versions = match runtime {
        Some(_) => list_all(store, keys::LAMBDA_VERSIONS).await?,
        None => Vec::new(),
    };

    let mut live: HashSet<String> = HashSet::new();
    let manifest_keys: Vec<String> = list_all(store, keys::DEPLOYMENTS)
        .await?
        .into_iter()
        .map(|meta| meta.key)
        .collect();
    let manifests = read_all::<Manifest>(store, &manifest_keys).await?;
    let present: HashSet<String> = manifests.iter().map(|(_, m)| m.id.clone()).collect();
    report.deployments = manifests.len() as u64;
    let mut live_functions: HashSet<(String, String)> = HashSet::new();
    for (_, manifest) in &manifests {
        live.extend(manifest.blob_hashes().map(str::to_string));
        live_functions.extend(
            manifest
                .bundles
                .keys()
                .map(|bundle| (manifest.project.clone(), bundle.clone())),
        );
    }

    let lease_keys: Vec<String> = list_all(store, keys::LEASES)
        .await?
        .into_iter()
        .map(|meta| meta.key)
        .collect();
    let mut stale = Vec::new();
    for (key, lease) in read_all::<Lease>(store, &lease_keys).await? {
        if OffsetDateTime::now_utc() - lease.created > LEASE_TTL {
            stale.push(key);
        } else {
            live.extend(lease.blobs);
            live_functions.extend(lease.functions);
        }
    }

    let mut doomed = Vec::new();
    for blob in blobs {
        let hash = blob.key.trim_start_matches(keys::BLOBS);
        if live.contains(hash) {
            report.blobs_kept += 1;
        } else {
            report.blobs_deleted += 1;
            report.bytes_freed += blob.size;
            doomed.push(blob.key);
        }
    }

    report.lambda_versions_deleted =
        prune_lambda(store, runtime, lambda_versions, &live_functions, dry_run).await?;

    if scope == Scope::FunctionsOnly {
        return Ok(report);
    }
    let orphans = orphan_records(store, &present).await?;
    report.stale_leases_removed = stale.len() as u64;
    report.orphan_records_removed = orphans.len() as u64;
    if !dry_run {
        store.delete(&doomed).await?;
        store.delete(&stale).await?;
        store.delete(&orphans).await?;
    }
    Ok(report)
}

/// Deletes the Lambda versions no deployment and no deploy in flight uses, when the store's
/// functions run on Lambda.
async fn prune_lambda(
    store: &dyn Store,
    runtime: Option<crate::lambda::FunctionsRuntime>,
    candidates: Vec<crate::store::ObjectMeta>,
    live: &HashSet<(String, String)>,
    dry_run: bool,
) -> Result<u64, PierError> {
    let Some(crate::lambda::FunctionsRuntime::Lambda(settings)) = runtime else {
        return Ok(0);
    };
    #[cfg(feature = "lambda")]
    {
        let place = store
            .aws()
            .ok_or_else(|| crate::lambda::LambdaError::NotS3 { store: store.url() })?;
        crate::lambda::publish::Publisher::new(place, settings)
            .prune(store, candidates, live, dry_run)
            .await
    }
    #[cfg(not(feature = "lambda"))]
    {
        let _ = (store, settings, candidates, live, dry_run);
        Err(crate::lambda::LambdaError::NotBuiltIn.into())
    }
}

/// Index entries and preview names whose manifest is gone (a removal that was interrupted).
async fn orphan_records(
    store: &dyn Store,
    present: &HashSet<String>,
) -> Result<Vec<String>, PierError> {
    let mut orphans: Vec<String> = list_all(store, keys::PROJECTS)
        .await?
        .into_iter()
        .map(|meta| meta.key)
        .filter(|key| key.contains("/deployments/"))
        .filter(|key| {
            let id = keys::stem(key);
            is_id(id) && !present.contains(id)
        })
        .collect();
    let preview_keys: Vec<String> = list_all(store, keys::PREVIEWS)
        .await?
        .into_iter()
        .map(|meta| meta.key)
        .collect();
    for (key, preview) in read_all::<PreviewRecord>(store, &preview_keys).await? {
        if !present.contains(&preview.deployment) {
            orphans.push(key);
        }
    }
    Ok(orphans)
}

//! A deploy's blobs into one store: which the store lacks (by content hash: those named by
//! the project's recent manifests are known present; the rest are found by listing `blobs/`
//! when that is cheaper than asking one by one, else by HEAD), then the uploads (48 in
//! flight, each verified against its SHA-256 as it is read, retried on transient failures),
//! then the gc fence (see `gc`), re-checking every blob if a gc ran meanwhile.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::OnceCell;

use crate::alias;
use crate::error::{PierError, StoreError};
use crate::gc::Fence;
use crate::manifest::Manifest;
use crate::progress::{Progress, ProgressEvent};
use crate::records::read_json;
use crate::scan::ScannedFile;
use crate::store::{FileBody, PutOptions, Store, keys};

const UPLOADS_IN_FLIGHT: usize = 48;
const CHECKS_IN_FLIGHT: usize = 64;
/// Files at most this large are read whole and verified before the upload.
const SMALL_FILE: u64 = 4 * 1024 * 1024;
/// One listing page names up to 1,000 blobs; asking about blobs one by one costs about this
/// many times less per request, so listing pays off once there are this many unknowns a page.
const HEADS_PER_LIST_PAGE: usize = 100;
const UPLOAD_ATTEMPTS: u32 = 3;

/// Puts every blob the store lacks and publishes the functions, then passes the gc fence;
/// returns blobs and bytes sent.
pub(super) async fn upload_blobs(
    store: &dyn Store,
    known: &HashSet<String>,
    unique: &HashMap<String, &ScannedFile>,
    mut fence: Fence,
    functions: &crate::lambda::ToPublish<'_>,
    progress: &Progress,
) -> Result<(u64, u64), PierError> {
    let unknown: Vec<&str> = unique
        .keys()
        .map(String::as_str)
        .filter(|hash| !known.contains(*hash))
        .collect();
    let missing = missing_blobs(store, &unknown).await?;
    let mut to_upload: Vec<&ScannedFile> =
        missing.iter().map(|hash| unique[hash.as_str()]).collect();
    progress.emit(ProgressEvent::Uploading {
        blobs: to_upload.len() as u64,
        bytes: to_upload.iter().map(|file| file.size).sum(),
    });
    let (mut blobs, mut bytes) = (0u64, 0u64);
    loop {
        upload_all(store, &to_upload, progress).await?;
        crate::lambda::publish_deployment(store, functions, unique, progress).await?;
        blobs += to_upload.len() as u64;
        bytes += to_upload.iter().map(|file| file.size).sum::<u64>();
        if fence.still_clear(store).await? {
            return Ok((blobs, bytes));
        }
        // A gc ran while we uploaded: it may have deleted blobs we counted as present, and the
        // Lambda versions of bundles an earlier deployment published.
        fence = Fence::wait_for_gc(store).await?;
        let all: Vec<&str> = unique.keys().map(String::as_str).collect();
        let lost = missing_blobs_by_head(store, &all).await?;
        to_upload = lost.iter().map(|hash| unique[hash.as_str()]).collect();
    }
}

/// One file per distinct content, by hash.
pub(super) fn unique_blobs(files: &[ScannedFile]) -> HashMap<String, &ScannedFile> {
    let mut unique = HashMap::with_capacity(files.len());
    for file in files {
        unique.entry(file.sha256_hex()).or_insert(file);
    }
    unique
}

/// Manifests the probes of one deploy have read, by deployment id. A deployment's manifest is
/// the same in every region (copied, never rewritten), so a deploy to several regions reads and
/// parses each once; another region only confirms it holds that manifest (a HEAD), since the
/// blobs it names are kept in a store exactly while its manifest is there.
#[derive(Default)]
pub struct ManifestReads {
    read: std::sync::Mutex<HashMap<String, Arc<OnceCell<BlobSet>>>>,
}

/// The blobs one manifest names.
type BlobSet = Arc<HashSet<String>>;

impl ManifestReads {
    fn cell(&self, id: &str) -> Arc<OnceCell<BlobSet>> {
        let mut read = self.read.lock().expect("not poisoned");
        read.entry(id.to_string()).or_default().clone()
    }

    /// The blobs deployment `id`'s manifest names, when `store` holds that manifest.
    async fn blobs_of(&self, store: &dyn Store, id: &str) -> Result<Option<BlobSet>, PierError> {
        let key = keys::manifest(id);
        let cell = self.cell(id);
        let read_here = AtomicBool::new(false);
        let shared = cell
            .get_or_try_init(|| async {
                read_here.store(true, Ordering::Relaxed);
                match read_json::<Manifest>(store, &key).await.map_err(Some)? {
                    Some(manifest) => Ok(Arc::new(
                        manifest.blob_hashes().map(str::to_string).collect(),
                    )),
                    None => Err(None),
                }
            })
            .await;
        match shared {
            Ok(blobs) if read_here.load(Ordering::Relaxed) => Ok(Some(blobs.clone())),
            // Read from another store: this one must hold the manifest too.
            Ok(blobs) => Ok(store.head(&key).await?.map(|_| blobs.clone())),
            Err(None) => Ok(None),
            Err(Some(error)) => Err(error),
        }
    }
}

/// Blobs the store is known to hold: those of the project's production deployment and its
/// newest one. A manifest exists only once all its blobs do, and gc keeps them while it does.
pub(super) async fn known_blobs(
    store: &dyn Store,
    project: &str,
    manifests: &ManifestReads,
) -> Result<HashSet<String>, PierError> {
    let index_prefix = keys::project_deployments(project);
    let (record, index) = tokio::join!(
        alias::read(store, project),
        crate::store::list_all(store, &index_prefix)
    );
    let mut ids = Vec::new();
    if let Some(production) = record?.and_then(|r| r.production) {
        ids.push(production);
    }
    let index = index?;
    if let Some(newest) = index.last() {
        let newest = keys::stem(&newest.key).to_string();
        if !ids.contains(&newest) {
            ids.push(newest);
        }
    }
    let mut known = HashSet::new();
    for id in ids {
        if let Some(blobs) = manifests.blobs_of(store, &id).await? {
            known.extend(blobs.iter().cloned());
        }
    }
    Ok(known)
}

/// Which of `unknown` the store lacks (also what a region's catch-up copies): listing `blobs/` within a page budget scaled to the
/// number of unknowns, then HEAD for whatever the budget did not cover.
pub async fn missing_blobs(store: &dyn Store, unknown: &[&str]) -> Result<Vec<String>, PierError> {
    if unknown.is_empty() {
        return Ok(Vec::new());
    }
    let budget = unknown.len() / HEADS_PER_LIST_PAGE;
    if budget == 0 {
        return missing_blobs_by_head(store, unknown).await;
    }
    let wanted: HashSet<&str> = unknown.iter().copied().collect();
    let mut present = HashSet::new();
    let mut token = None;
    for _ in 0..budget {
        let page = store.list_page(keys::BLOBS, token).await?;
        for object in &page.objects {
            let hash = object.key.trim_start_matches(keys::BLOBS);
            if wanted.contains(hash) {
                present.insert(hash.to_string());
            }
        }
        token = page.next;
        if token.is_none() {
            return Ok(unknown
                .iter()
                .filter(|hash| !present.contains(**hash))
                .map(|hash| hash.to_string())
                .collect());
        }
    }
    let unlisted: Vec<&str> = unknown
        .iter()
        .copied()
        .filter(|hash| !present.contains(*hash))
        .collect();
    missing_blobs_by_head(store, &unlisted).await
}

pub async fn missing_blobs_by_head(
    store: &dyn Store,
    hashes: &[&str],
) -> Result<Vec<String>, PierError> {
    // Owned items: a stream of futures over borrowed items is not `Send` for every lifetime,
    // which spawning a deploy needs.
    let owned: Vec<String> = hashes.iter().map(|hash| hash.to_string()).collect();
    let checks: Vec<Result<Option<String>, StoreError>> = futures::stream::iter(owned)
        .map(|hash| async move {
            Ok(match store.head(&keys::blob(&hash)).await? {
                Some(_) => None,
                None => Some(hash),
            })
        })
        .buffer_unordered(CHECKS_IN_FLIGHT)
        .collect()
        .await;
    let mut missing = Vec::new();
    for check in checks {
        missing.extend(check?);
    }
    Ok(missing)
}

async fn upload_all(
    store: &dyn Store,
    files: &[&ScannedFile],
    progress: &Progress,
) -> Result<(), PierError> {
    // Owned items, as in `missing_blobs_by_head`.
    let owned: Vec<ScannedFile> = files.iter().map(|file| (*file).clone()).collect();
    let mut uploads = futures::stream::iter(owned)
        .map(|file| async move {
            upload_one(store, &file).await?;
            progress.emit(ProgressEvent::Uploaded { bytes: file.size });
            Ok::<_, PierError>(())
        })
        .buffer_unordered(UPLOADS_IN_FLIGHT);
    while let Some(result) = uploads.next().await {
        result?;
    }
    Ok(())
}

/// Uploads one blob, retrying transient failures with backoff (the SDK retries each request
/// too; this covers a connection dropped mid-body and local I/O hiccups).
async fn upload_one(store: &dyn Store, file: &ScannedFile) -> Result<(), PierError> {
    let key = keys::blob(&file.sha256_hex());
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = if file.size <= SMALL_FILE {
            upload_small(store, &key, file).await
        } else {
            store
                .put_file(
                    &key,
                    FileBody {
                        path: &file.source,
                        size: file.size,
                        sha256: file.sha256,
                    },
                )
                .await
                .map_err(PierError::from)
        };
        match result {
            Err(PierError::Store(StoreError::Unreachable { .. } | StoreError::Other { .. }))
                if attempt < UPLOAD_ATTEMPTS =>
            {
                tokio::time::sleep(Duration::from_millis(200 * 2u64.pow(attempt))).await;
            }
            other => return other,
        }
    }
}

async fn upload_small(store: &dyn Store, key: &str, file: &ScannedFile) -> Result<(), PierError> {
    let body = tokio::fs::read(&file.source)
        .await
        .map_err(|source| PierError::Unreadable {
            path: file.source.clone(),
            source,
        })?;
    use sha2::Digest;
    if sha2::Sha256::digest(&body).as_slice() != file.sha256 {
        return Err(StoreError::ContentChanged {
            path: file.path.clone(),
        }
        .into());
    }
    store
        .put(key, bytes::Bytes::from(body), PutOptions::default())
        .await?;
    Ok(())
}

//! The deploy engine: a folder in, an immutable deployment out.
//!
//! Order of writes, each step safe to interrupt:
//! 1. lease (the blobs this deploy relies on, so gc keeps them);
//! 2. the blobs the store lacks, decided by content hash: those named by the project's recent
//!    manifests are known present; the rest are found by listing `blobs/` when that is cheaper
//!    than asking one by one, else by HEAD; 48 uploads in flight, multipart for large files;
//! 3. the gc fence check (see `gc`), re-checking every blob if a gc ran meanwhile;
//! 4. the manifest (`If-None-Match: *`), which makes the deployment exist;
//! 5. its index entry and preview name, then the lease is dropped;
//! 6. with `--prod`, the production alias, by compare-and-swap.
//!
//! A deploy killed anywhere before 4 leaves nothing visible; production is untouched until 6.

mod walk;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::Serialize;
use time::OffsetDateTime;

use crate::alias::{self, Action, AliasChange};
use crate::content_type;
use crate::deployments::PreviewRecord;
use crate::error::{PierError, StoreError};
use crate::functions::{self, FunctionBundle, FunctionsError};
use crate::gc::{self, Fence, Lease};
use crate::manifest::{self, FileEntry, Manifest, Source, Summary};
use crate::progress::{Progress, ProgressEvent};
use crate::project_name;
use crate::records::{read_json, write_json};
use crate::scan::{self, ScannedFile};
use crate::site_config;
use crate::store::{Condition, FileBody, PutOptions, Store, keys};

const UPLOADS_IN_FLIGHT: usize = 48;
const CHECKS_IN_FLIGHT: usize = 64;
/// Files at most this large are read whole and verified before the upload.
const SMALL_FILE: u64 = 4 * 1024 * 1024;
/// One listing page names up to 1,000 blobs; asking about blobs one by one costs about this
/// many times less per request, so listing pays off once there are this many unknowns a page.
const HEADS_PER_LIST_PAGE: usize = 100;
const UPLOAD_ATTEMPTS: u32 = 3;

#[derive(Debug, Clone)]
pub struct DeployRequest {
    pub dir: PathBuf,
    pub project: Option<String>,
    pub production: bool,
    /// Where the files came from, when not the folder itself (a build's output).
    pub source: Option<Source>,
    /// Hashes remembered from earlier deploys of the same folder (folder watch).
    pub hash_cache: Option<std::sync::Arc<scan::HashCache>>,
    /// The id to use, when chosen up front (a build names its log after it).
    pub id: Option<String>,
    /// The project's `pier env` variables, frozen into its functions.
    pub env: Option<crate::project_env::FunctionEnv>,
    /// The project a build wrote `dir` in, whose `api/` functions deploy with it.
    pub project_root: Option<PathBuf>,
}

impl DeployRequest {
    /// A plain deploy of a folder: its own source, a fresh id, no remembered hashes.
    pub fn folder(dir: impl Into<PathBuf>, project: Option<String>, production: bool) -> Self {
        DeployRequest {
            dir: dir.into(),
            project,
            production,
            source: None,
            hash_cache: None,
            id: None,
            env: None,
            project_root: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DeployOutcome {
    #[serde(flatten)]
    pub summary: Summary,
    pub uploaded_blobs: u64,
    pub uploaded_bytes: u64,
    pub reused_blobs: u64,
    pub promoted: Option<AliasChange>,
    pub warnings: Vec<String>,
    pub elapsed_ms: u128,
}

/// The project name a folder deploys as when none is given.
pub fn default_project(dir: &Path) -> Result<String, PierError> {
    let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let folder = absolute
        .canonicalize()
        .unwrap_or(absolute)
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    project_name::from_folder_name(&folder).ok_or(PierError::BadProjectName {
        name: folder,
        rule: "the folder's name has no letters or digits to make one from; pass --project",
    })
}

pub async fn deploy(
    store: &dyn Store,
    request: &DeployRequest,
    progress: &Progress,
) -> Result<DeployOutcome, PierError> {
    let started = Instant::now();
    scan::check_folder(&request.dir)?;
    let project = match &request.project {
        Some(name) => {
            project_name::validate(name)?;
            name.clone()
        }
        None => default_project(&request.dir)?,
    };
    let warnings = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let progress = {
        let warnings = warnings.clone();
        let outer = progress.clone();
        Progress::new(move |event| {
            if let ProgressEvent::Warning(message) = &event {
                warnings.lock().expect("not poisoned").push(message.clone());
            }
            outer.emit(event);
        })
    };

    // Asking the store what it holds overlaps with reading the folder. The fence is observed
    // first: blobs found present after it are re-checked if a gc runs before the manifest.
    let scanning = scan_folder(request, &progress);
    let probing = async {
        let reading = async {
            let fence = Fence::observe(store).await?;
            let (known, runtime) = tokio::join!(
                known_blobs(store, &project),
                crate::lambda::read_runtime(store)
            );
            Ok::<_, PierError>((fence, known?, runtime?))
        };
        // The check's error, when there is one, is the clearest (bucket, region, credentials).
        let (checked, read) = tokio::join!(store.check(), reading);
        checked?;
        read
    };
    let (scanned, probed) = tokio::join!(scanning, probing);
    let scanned = scanned?;
    let (fence, known, runtime) = probed?;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        files = scanned.files.len(),
        known = known.len(),
        "scanned and probed"
    );

    let created = OffsetDateTime::now_utc();
    let id = match &request.id {
        Some(id) if manifest::is_id(id) => id.clone(),
        Some(id) => {
            return Err(PierError::UnknownDeployment {
                reference: format!("{id} (not a deployment id)"),
            });
        }
        None => manifest::new_id(created),
    };
    let unique = unique_blobs(&scanned.blobs);

    gc::write_lease(
        store,
        &Lease {
            deployment: id.clone(),
            created,
            blobs: unique.keys().cloned().collect(),
            functions: scanned
                .bundles
                .keys()
                .map(|bundle| (project.clone(), bundle.clone()))
                .collect(),
        },
    )
    .await?;

    let functions = crate::lambda::ToPublish {
        runtime,
        project: &project,
        functions: &scanned.functions,
        bundles: &scanned.bundles,
        secrets: request.env.as_ref().map(|env| &env.secrets),
    };
    let uploaded = upload_blobs(store, &known, &unique, fence, &functions, &progress).await;
    if uploaded.is_err() {
        // Best effort: a lease left behind only delays gc of these blobs until it expires.
        let _ = gc::drop_lease(store, &id).await;
    }
    let (uploaded_blobs, uploaded_bytes) = uploaded?;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        uploaded_blobs,
        "blobs in place"
    );

    progress.emit(ProgressEvent::Finalizing);
    let manifest = Manifest {
        format: 1,
        id: id.clone(),
        project: project.clone(),
        created,
        source: request
            .source
            .clone()
            .unwrap_or_else(|| folder_source(&request.dir)),
        file_count: scanned.files.len() as u64,
        total_bytes: scanned.files.iter().map(|file| file.size).sum(),
        files: scanned.files,
        config: scanned.config,
        functions: scanned.functions,
        bundles: scanned.bundles,
    };
    let create = || PutOptions::json().with_condition(Condition::IfNoneMatch);
    write_json(store, &keys::manifest(&id), &manifest, create()).await?;
    let summary = manifest.summary();
    // The deployment exists now; its listing entry, preview name and the lease's release do
    // not depend on each other.
    let index_key = keys::index_entry(&project, &id);
    let preview_key = keys::preview(&summary.preview);
    let preview = PreviewRecord {
        project: project.clone(),
        deployment: id.clone(),
    };
    let (indexed, named, released) = tokio::join!(
        write_json(store, &index_key, &summary, create()),
        write_json(store, &preview_key, &preview, create()),
        gc::drop_lease(store, &id),
    );
    indexed?;
    named?;
    released?;

    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "manifest written"
    );
    let promoted = if request.production {
        Some(alias::promote(store, &project, &id, Action::Deploy).await?)
    } else {
        None
    };
    let warnings = warnings.lock().expect("not poisoned").clone();
    Ok(DeployOutcome {
        reused_blobs: (unique.len() as u64).saturating_sub(uploaded_blobs),
        summary,
        uploaded_blobs,
        uploaded_bytes,
        promoted,
        warnings,
        elapsed_ms: started.elapsed().as_millis(),
    })
}

/// What a folder deploys: its files' entries, its functions, and every file to upload.
struct Scanned {
    config: site_config::SiteConfig,
    files: Vec<FileEntry>,
    functions: BTreeMap<String, String>,
    bundles: BTreeMap<String, FunctionBundle>,
    /// The static files and the functions' files, as read.
    blobs: Vec<ScannedFile>,
    /// The compiled functions' modules, which `blobs` reads until the upload ends.
    _compiled: Option<tempfile::TempDir>,
}

/// Works out what the folder deploys as (files, a Build Output, `api/` functions), reads its
/// serving config, walks it and hashes what it deploys.
async fn scan_folder(request: &DeployRequest, progress: &Progress) -> Result<Scanned, PierError> {
    let dir = request.dir.clone();
    let project_root = request.project_root.clone();
    let (plan, compiled) = tokio::task::spawn_blocking(move || {
        let mut plan = functions::plan(&dir, project_root.as_deref())?;
        let compiled = functions::compile::compile(&mut plan)?;
        Ok::<_, FunctionsError>((plan, compiled))
    })
    .await
    .expect("planning does not panic")?;
    let mut site_config = match plan.config.clone() {
        Some(config) => config,
        None => {
            let root = plan.static_root.clone();
            tokio::task::spawn_blocking(move || site_config::read(&root))
                .await
                .expect("reading config does not panic")?
        }
    };
    functions::add_filesystem_routes(&mut site_config.routes, &plan.function_routes);
    let (static_walk, bundle_walks) = {
        let progress = progress.clone();
        let plan = plan.clone();
        let limit = request.dir.clone();
        tokio::task::spawn_blocking(move || walk::walk_plan(&plan, &limit, &progress))
            .await
            .expect("walking does not panic")?
    };
    walk::check_bundles(&plan, &bundle_walks)?;
    if static_walk.is_empty() && plan.functions.is_empty() {
        return Err(PierError::EmptyFolder {
            path: request.dir.clone(),
        });
    }
    let mut everything: Vec<(String, PathBuf, u64)> = static_walk
        .iter()
        .chain(bundle_walks.iter().flatten())
        .cloned()
        .collect();
    everything.sort_by(|a, b| a.1.cmp(&b.1));
    everything.dedup_by(|a, b| a.1 == b.1);
    progress.emit(ProgressEvent::Hashing {
        files: everything.len() as u64,
        bytes: everything.iter().map(|(_, _, size)| size).sum(),
    });
    let hashed = scan::hash_all(everything, request.hash_cache.clone(), progress).await?;
    let by_source: HashMap<&Path, &ScannedFile> = hashed
        .iter()
        .map(|file| (file.source.as_path(), file))
        .collect();
    let scanned_as = |(path, source, _): &(String, PathBuf, u64)| ScannedFile {
        path: path.clone(),
        ..by_source[source.as_path()].clone()
    };

    let mut files: Vec<FileEntry> = static_walk
        .iter()
        .map(|walked| {
            let file = scanned_as(walked);
            let over = plan.overrides.get(&file.path);
            let content_type = over
                .and_then(|o| o.content_type.clone())
                .unwrap_or_else(|| content_type::for_path(&file.path));
            FileEntry {
                path: over
                    .and_then(|o| o.path.clone())
                    .unwrap_or_else(|| file.path.clone()),
                size: file.size,
                sha256: file.sha256_hex(),
                content_type,
            }
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    // An override may name a path another file has: the override wins, as on Vercel.
    files.dedup_by(|later, earlier| later.path == earlier.path);

    let mut functions = BTreeMap::new();
    let mut bundles = BTreeMap::new();
    for (planned, walked) in plan.functions.iter().zip(&bundle_walks) {
        let mut bundle = FunctionBundle {
            settings: planned.settings.clone(),
            files: walked
                .iter()
                .map(|walked| {
                    let file = scanned_as(walked);
                    FileEntry {
                        content_type: content_type::for_path(&file.path),
                        path: file.path.clone(),
                        size: file.size,
                        sha256: file.sha256_hex(),
                    }
                })
                .collect(),
        };
        if let Some(env) = &request.env {
            env.apply(&mut bundle.settings);
        }
        let id = bundle.id();
        for path in &planned.paths {
            functions.insert(path.clone(), id.clone());
        }
        bundles.insert(id, bundle);
    }
    Ok(Scanned {
        config: site_config,
        files,
        functions,
        bundles,
        blobs: hashed,
        _compiled: compiled,
    })
}

/// Puts every blob the store lacks and publishes the functions, then passes the gc fence;
/// returns blobs and bytes sent.
async fn upload_blobs(
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

fn folder_source(dir: &Path) -> Source {
    let path = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    Source::Folder {
        path: path.display().to_string(),
        host: std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()),
    }
}

/// One file per distinct content, by hash.
fn unique_blobs(files: &[ScannedFile]) -> HashMap<String, &ScannedFile> {
    let mut unique = HashMap::with_capacity(files.len());
    for file in files {
        unique.entry(file.sha256_hex()).or_insert(file);
    }
    unique
}

/// Blobs the store is known to hold: those of the project's production deployment and its
/// newest one. A manifest exists only once all its blobs do, and gc keeps them while it does.
async fn known_blobs(store: &dyn Store, project: &str) -> Result<HashSet<String>, PierError> {
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
        if let Some(manifest) = read_json::<Manifest>(store, &keys::manifest(&id)).await? {
            known.extend(manifest.blob_hashes().map(str::to_string));
        }
    }
    Ok(known)
}

/// Which of `unknown` the store lacks: listing `blobs/` within a page budget scaled to the
/// number of unknowns, then HEAD for whatever the budget did not cover.
async fn missing_blobs(store: &dyn Store, unknown: &[&str]) -> Result<Vec<String>, PierError> {
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

async fn missing_blobs_by_head(
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

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
//!
//! The phases are public ([`prepare`] once, then [`Prepared::land`], [`Prepared::write_records`]
//! and [`Prepared::promote`] per store) so that `regions` lands one reading of a folder in
//! several regions' stores at once; [`deploy`] is the one-store run of the same phases.

mod blobs;
mod walk;

pub use blobs::{ManifestReads, missing_blobs, missing_blobs_by_head};

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

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
use crate::records::write_json;
use crate::scan::{self, ScannedFile};
use crate::site_config;
use crate::store::{Condition, PutOptions, Store, keys};

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
    /// Each other region's state after the deploy (empty with one region).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<crate::region_state::RegionReport>,
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
    let (progress, warnings) = collecting_warnings(progress);
    let project = project_of(request)?;
    // Asking the store what it holds overlaps with reading the folder.
    let manifests = ManifestReads::default();
    let (prepared, probed) = tokio::join!(
        prepare(request, &project, &progress),
        probe(store, &project, &manifests)
    );
    let (prepared, probed) = (prepared?, probed?);
    let landed = prepared.land(store, probed, &progress).await?;
    progress.emit(ProgressEvent::Finalizing);
    prepared.write_records(store).await?;
    let promoted = prepared.promote(store).await?;
    Ok(prepared.outcome(landed, promoted, &warnings))
}

/// A progress that also keeps the warnings it passes on, for the outcome.
pub fn collecting_warnings(progress: &Progress) -> (Progress, Warnings) {
    let warnings = Warnings::default();
    let kept = warnings.clone();
    let outer = progress.clone();
    let progress = Progress::new(move |event| {
        if let ProgressEvent::Warning(message) = &event {
            kept.0.lock().expect("not poisoned").push(message.clone());
        }
        outer.emit(event);
    });
    (progress, warnings)
}

/// The warnings a deploy printed, for its outcome.
#[derive(Debug, Clone, Default)]
pub struct Warnings(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

/// The project a request deploys as, once its folder is known to be there.
pub fn project_of(request: &DeployRequest) -> Result<String, PierError> {
    scan::check_folder(&request.dir)?;
    match &request.project {
        Some(name) => {
            project_name::validate(name)?;
            Ok(name.clone())
        }
        None => default_project(&request.dir),
    }
}

/// What a store said before a deploy's lease: the gc fence (blobs found present after it are
/// re-checked if a gc runs before the manifest), the blobs known present, where its functions run.
pub struct Probe {
    fence: Fence,
    known: HashSet<String>,
    runtime: Option<crate::lambda::FunctionsRuntime>,
}

/// `manifests` is shared by the probes of one deploy to several stores.
pub async fn probe(
    store: &dyn Store,
    project: &str,
    manifests: &ManifestReads,
) -> Result<Probe, PierError> {
    let reading = async {
        let fence = Fence::observe(store).await?;
        let (known, runtime) = tokio::join!(
            blobs::known_blobs(store, project, manifests),
            crate::lambda::read_runtime(store)
        );
        Ok::<_, PierError>(Probe {
            fence,
            known: known?,
            runtime: runtime?,
        })
    };
    // The check's error, when there is one, is the clearest (bucket, region, credentials).
    let (checked, read) = tokio::join!(store.check(), reading);
    checked?;
    read
}

/// A folder read, hashed and made into its manifest: ready to land in any number of stores.
pub struct Prepared {
    started: Instant,
    production: bool,
    manifest: Manifest,
    /// The static files and the functions' files, as read.
    blobs: Vec<ScannedFile>,
    /// How many distinct contents `blobs` holds.
    distinct_blobs: u64,
    secrets: Option<BTreeMap<String, String>>,
    /// The compiled functions' modules, which `blobs` reads until the deploy ends.
    _compiled: Option<tempfile::TempDir>,
}

/// What landing in one store sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct Landed {
    pub blobs: u64,
    pub bytes: u64,
}

pub async fn prepare(
    request: &DeployRequest,
    project: &str,
    progress: &Progress,
) -> Result<Prepared, PierError> {
    let started = Instant::now();
    let scanned = scan_folder(request, progress).await?;
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
    let manifest = Manifest {
        format: 1,
        id,
        project: project.to_string(),
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
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        files = manifest.file_count,
        "scanned"
    );
    let distinct_blobs = blobs::unique_blobs(&scanned.blobs).len() as u64;
    Ok(Prepared {
        started,
        production: request.production,
        manifest,
        blobs: scanned.blobs,
        distinct_blobs,
        secrets: request.env.as_ref().map(|env| env.secrets.clone()),
        _compiled: scanned._compiled,
    })
}

impl Prepared {
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Steps 1 to 3 in `store`: the lease, the blobs it lacks (and the functions, where they
    /// run on Lambda), the gc fence. On failure the lease is dropped, best effort.
    pub async fn land(
        &self,
        store: &dyn Store,
        probe: Probe,
        progress: &Progress,
    ) -> Result<Landed, PierError> {
        let unique = blobs::unique_blobs(&self.blobs);
        let (id, project) = (&self.manifest.id, &self.manifest.project);
        gc::write_lease(
            store,
            &Lease {
                deployment: id.clone(),
                created: self.manifest.created,
                blobs: unique.keys().cloned().collect(),
                functions: self
                    .manifest
                    .bundles
                    .keys()
                    .map(|bundle| (project.clone(), bundle.clone()))
                    .collect(),
            },
        )
        .await?;
        let functions = crate::lambda::ToPublish {
            runtime: probe.runtime,
            project,
            functions: &self.manifest.functions,
            bundles: &self.manifest.bundles,
            secrets: self.secrets.as_ref(),
        };
        let uploaded = blobs::upload_blobs(
            store,
            &probe.known,
            &unique,
            probe.fence,
            &functions,
            progress,
        )
        .await;
        if uploaded.is_err() {
            // Best effort: a lease left behind only delays gc of these blobs until it expires.
            let _ = gc::drop_lease(store, id).await;
        }
        let (blobs, bytes) = uploaded?;
        tracing::debug!(
            elapsed_ms = self.started.elapsed().as_millis() as u64,
            blobs,
            store = %store.url(),
            "blobs in place"
        );
        Ok(Landed { blobs, bytes })
    }

    /// Steps 4 and 5 in `store`, once it holds every blob: the manifest (which makes the
    /// deployment exist there), its index entry and preview name; then the lease goes.
    pub async fn write_records(&self, store: &dyn Store) -> Result<(), PierError> {
        write_deployment_records(store, &self.manifest).await?;
        gc::drop_lease(store, &self.manifest.id).await
    }

    /// Step 6: with `--prod`, the production alias.
    pub async fn promote(&self, store: &dyn Store) -> Result<Option<AliasChange>, PierError> {
        if !self.production {
            return Ok(None);
        }
        let (project, id) = (&self.manifest.project, &self.manifest.id);
        Ok(Some(
            alias::promote(store, project, id, Action::Deploy).await?,
        ))
    }

    pub fn outcome(
        &self,
        landed: Landed,
        promoted: Option<AliasChange>,
        warnings: &Warnings,
    ) -> DeployOutcome {
        DeployOutcome {
            reused_blobs: self.distinct_blobs.saturating_sub(landed.blobs),
            summary: self.manifest.summary(),
            uploaded_blobs: landed.blobs,
            uploaded_bytes: landed.bytes,
            promoted,
            warnings: warnings.0.lock().expect("not poisoned").clone(),
            elapsed_ms: self.started.elapsed().as_millis(),
            regions: Vec::new(),
        }
    }
}

/// A manifest into a store that holds all its blobs (`If-None-Match: *`: an existing one is
/// the same deployment, written by an earlier try), then its index entry and preview name.
pub async fn write_deployment_records(
    store: &dyn Store,
    manifest: &Manifest,
) -> Result<(), PierError> {
    let create = || PutOptions::json().with_condition(Condition::IfNoneMatch);
    let created = |written: Result<_, PierError>| match written {
        Ok(_) | Err(PierError::Store(StoreError::PreconditionFailed { .. })) => Ok(()),
        Err(e) => Err(e),
    };
    created(write_json(store, &keys::manifest(&manifest.id), manifest, create()).await)?;
    let summary = manifest.summary();
    let preview = PreviewRecord {
        project: manifest.project.clone(),
        deployment: manifest.id.clone(),
    };
    // The deployment exists now; its listing entry and preview name do not depend on each other.
    let (index_key, preview_key) = (
        keys::index_entry(&manifest.project, &manifest.id),
        keys::preview(&summary.preview),
    );
    let (indexed, named) = tokio::join!(
        write_json(store, &index_key, &summary, create()),
        write_json(store, &preview_key, &preview, create()),
    );
    created(indexed)?;
    created(named)
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

fn folder_source(dir: &Path) -> Source {
    let path = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    Source::Folder {
        path: path.display().to_string(),
        host: std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()),
    }
}

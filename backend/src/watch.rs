//! Folder watch: every settled change to a folder becomes a new immutable deployment, and the
//! watch's alias moves to it.
//!
//! Changes come from `notify`. Events for paths the deploy would leave out (`.pierignore`,
//! the built-in ignores) and editors' scratch files (`*.swp`, `*~`, `.#*`, `4913`) are
//! dropped. A batch settles once the folder is quiet for `settle`, or after `max_wait` of
//! continuous writes (a log file growing inside the folder cannot hold deploys off for
//! ever). One deploy runs at a time; changes arriving meanwhile queue and coalesce into the
//! next. Hashes are remembered between deploys, so only changed files are read again.
//!
//! The alias is a stable preview name, `<project>-watch`, or production with `--prod`. A
//! deploy that fails (store unreachable, unreadable file) leaves the last good deployment live
//! and is retried with backoff; a folder that disappears is waited for. Superseded watch
//! deployments beyond the newest `keep` are removed, so a day of saves does not pile up.
//!
//! With several regions each change lands in all of them (`Regions::deploy`, a build's output
//! too), production moves everywhere through `Regions::promote`, and the watch's
//! preview name is written in every region that holds the deployment, so a viewer routed to
//! any region sees the same save.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use serde::{Deserialize, Serialize};

use crate::alias::Action;
use crate::deploy::{DeployOutcome, DeployRequest, default_project};
use crate::deployments::PreviewRecord;
use crate::error::PierError;
use crate::manifest::Manifest;
use crate::progress::Progress;
use crate::records::{read_json, write_json};
use crate::regions::Regions;
use crate::scan::{self, HashCache};
use crate::store::{PutOptions, Store, keys};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchSpec {
    pub dir: PathBuf,
    pub project: String,
    pub production: bool,
    /// Run the folder's build on each change and deploy its output.
    #[serde(default)]
    pub build: bool,
}

impl WatchSpec {
    pub fn new(
        dir: &Path,
        project: Option<String>,
        production: bool,
        build: bool,
    ) -> Result<Self, PierError> {
        scan::check_folder(dir)?;
        let dir = dir.canonicalize().map_err(|source| PierError::Unreadable {
            path: dir.to_path_buf(),
            source,
        })?;
        let project = match project {
            Some(project) => {
                crate::project_name::validate(&project)?;
                project
            }
            None => default_project(&dir)?,
        };
        Ok(WatchSpec {
            dir,
            project,
            production,
            build,
        })
    }

    /// The host label this watch keeps up to date.
    pub fn label(&self) -> String {
        if self.production {
            self.project.clone()
        } else {
            watch_preview_name(&self.project)
        }
    }
}

pub fn watch_preview_name(project: &str) -> String {
    format!("{project}-watch")
}

#[derive(Clone)]
pub struct WatchOptions {
    /// Where build logs go live (in-process by default).
    pub logs: Arc<dyn crate::logs::LogBackend>,
    pub settle: Duration,
    pub max_wait: Duration,
    /// Watch deployments kept after they are superseded.
    pub keep: usize,
    pub retry_max: Duration,
    /// The projects' `pier env`, read again for every deploy so a changed value reaches the
    /// next one.
    pub envs: Option<crate::project_env::ProjectEnvs>,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            logs: Arc::new(crate::logs::memory::LogBus::new()),
            settle: Duration::from_millis(60),
            max_wait: Duration::from_secs(1),
            keep: 5,
            retry_max: Duration::from_secs(30),
            envs: None,
        }
    }
}

/// What changed between two deployments, by path.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Diff {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
}

impl Diff {
    pub fn between(before: Option<&Manifest>, after: &Manifest) -> Diff {
        let old: HashMap<&str, &str> = before
            .map(|m| {
                m.files
                    .iter()
                    .map(|f| (f.path.as_str(), f.sha256.as_str()))
                    .collect()
            })
            .unwrap_or_default();
        let mut diff = Diff::default();
        for file in &after.files {
            match old.get(file.path.as_str()) {
                None => diff.added.push(file.path.clone()),
                Some(hash) if *hash != file.sha256 => diff.changed.push(file.path.clone()),
                Some(_) => {}
            }
        }
        let new: std::collections::HashSet<&str> =
            after.files.iter().map(|f| f.path.as_str()).collect();
        diff.removed = old
            .keys()
            .filter(|path| !new.contains(**path))
            .map(|path| path.to_string())
            .collect();
        // Functions are named by path and compared by bundle: a change to any file a function
        // carries (its handler, a helper, `package.json`) shows as that function changed.
        let empty = std::collections::BTreeMap::new();
        let old_functions = before.map_or(&empty, |m| &m.functions);
        let shown = |path: &str| format!("{path} (function)");
        for (path, bundle) in &after.functions {
            match old_functions.get(path) {
                None => diff.added.push(shown(path)),
                Some(earlier) if earlier != bundle => diff.changed.push(shown(path)),
                Some(_) => {}
            }
        }
        diff.removed.extend(
            old_functions
                .keys()
                .filter(|path| !after.functions.contains_key(*path))
                .map(|path| shown(path)),
        );
        diff.removed.sort();
        diff
    }

    pub fn count(&self) -> usize {
        self.added.len() + self.changed.len() + self.removed.len()
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum WatchEvent {
    Watching {
        dir: PathBuf,
        label: String,
    },
    Deploying {
        changes: usize,
    },
    /// A build started; follow its log by this id.
    Building {
        deployment: String,
    },
    Deployed {
        outcome: Box<DeployOutcome>,
        diff: Diff,
        /// From the first change of the batch to the alias pointing at the new deployment.
        save_to_live_ms: u128,
        label: String,
    },
    Failed {
        error: String,
        hint: String,
        retry_in_ms: u128,
    },
    FolderGone,
    FolderBack,
    Stopped,
}

/// Watches until `shutdown` resolves, deploying each settled change to every region.
pub async fn watch(
    regions: Regions,
    spec: WatchSpec,
    options: WatchOptions,
    report: impl Fn(WatchEvent) + Send + Sync,
    shutdown: impl Future<Output = ()>,
) -> Result<(), PierError> {
    let (sender, mut changes) = tokio::sync::mpsc::unbounded_channel::<PathBuf>();
    let mut watcher = start_watcher(&spec.dir, sender.clone())?;
    let mut filter = Filter::new(&spec.dir, &build_output(&spec));
    let cache = Arc::new(HashCache::default());
    let mut state = WatchState::default();
    let mut shutdown = std::pin::pin!(shutdown);
    report(WatchEvent::Watching {
        dir: spec.dir.clone(),
        label: spec.label(),
    });

    let mut pending_since = Some(Instant::now());
    let mut folder_present = true;
    let mut retry_delay = Duration::from_millis(500);
    let mut poll = tokio::time::interval(Duration::from_millis(500));
    loop {
        let present = spec.dir.is_dir();
        if present != folder_present {
            folder_present = present;
            if present {
                report(WatchEvent::FolderBack);
                // The old watch followed the vanished folder's inode; start afresh.
                watcher = start_watcher(&spec.dir, sender.clone())?;
                pending_since = Some(Instant::now());
            } else {
                report(WatchEvent::FolderGone);
            }
        }
        if let Some(since) = pending_since.filter(|_| folder_present) {
            match deploy_once(&regions, &spec, &options, &cache, &mut state, &report).await {
                Ok((outcome, diff)) => {
                    report(WatchEvent::Deployed {
                        outcome: Box::new(outcome),
                        diff,
                        save_to_live_ms: since.elapsed().as_millis(),
                        label: spec.label(),
                    });
                    pending_since = None;
                    retry_delay = Duration::from_millis(500);
                }
                Err(error @ (PierError::BuildFailed { .. } | PierError::Detect(_))) => {
                    // The site's own fault: retrying cannot help; the next change might.
                    report(WatchEvent::Failed {
                        error: error.to_string(),
                        hint: error.hint().to_string(),
                        retry_in_ms: 0,
                    });
                    pending_since = None;
                }
                Err(error) => {
                    report(WatchEvent::Failed {
                        error: error.to_string(),
                        hint: error.hint().to_string(),
                        retry_in_ms: retry_delay.as_millis(),
                    });
                    tokio::select! {
                        () = tokio::time::sleep(retry_delay) => {}
                        () = &mut shutdown => break,
                    }
                    retry_delay = (retry_delay * 2).min(options.retry_max);
                    // A change during the wait joins this retry.
                    while changes.try_recv().is_ok() {}
                    continue;
                }
            }
        }
        tokio::select! {
            changed = changes.recv() => {
                let Some(path) = changed else { break };
                if path.ends_with(scan::IGNORE_FILE) {
                    filter = Filter::new(&spec.dir, &build_output(&spec));
                }
                if !filter.matters(&path) {
                    continue;
                }
                let first = Instant::now();
                let count = 1 + settle(&mut changes, &options, first).await;
                report(WatchEvent::Deploying { changes: count });
                pending_since = Some(first);
            }
            // Wakes the loop to notice a folder that vanished or came back.
            _ = poll.tick() => {}
            () = &mut shutdown => break,
        }
    }
    drop(watcher);
    report(WatchEvent::Stopped);
    Ok(())
}

/// Drains events until the folder is quiet for `settle`, or `max_wait` has passed; returns
/// how many more paths changed meanwhile.
async fn settle(
    changes: &mut tokio::sync::mpsc::UnboundedReceiver<PathBuf>,
    options: &WatchOptions,
    first: Instant,
) -> usize {
    let mut more = 0;
    loop {
        let left = options.max_wait.saturating_sub(first.elapsed());
        if left.is_zero() {
            return more;
        }
        match tokio::time::timeout(options.settle.min(left), changes.recv()).await {
            Ok(Some(_)) => more += 1,
            _ => return more,
        }
    }
}

#[derive(Default)]
struct WatchState {
    last: Option<Manifest>,
    /// This watch's deployments, oldest first.
    history: Vec<String>,
}

async fn deploy_once(
    regions: &Regions,
    spec: &WatchSpec,
    options: &WatchOptions,
    cache: &Arc<HashCache>,
    state: &mut WatchState,
    report: &(impl Fn(WatchEvent) + Send + Sync),
) -> Result<(DeployOutcome, Diff), PierError> {
    let env = match &options.envs {
        Some(envs) => envs.resolve(&spec.project)?,
        None => None,
    };
    let outcome = if spec.build {
        let id = crate::manifest::new_id(time::OffsetDateTime::now_utc());
        report(WatchEvent::Building {
            deployment: id.clone(),
        });
        let secrets = env
            .as_ref()
            .map(|env| env.secret_values())
            .unwrap_or_default();
        let log = crate::logs::LogWriter::new(&id, options.logs.clone(), secrets);
        let request = crate::builds::BuildRequest {
            dir: spec.dir.clone(),
            project: spec.project.clone(),
            production: false,
            overrides: Default::default(),
            env: env.as_ref().map(|env| env.to_vars()).unwrap_or_default(),
            env_revision: env.as_ref().map(|env| env.revision.clone()),
            timeout: crate::builds::DEFAULT_TIMEOUT,
            source: None,
            store_cache: false,
        };
        let cancel = tokio_util::sync::CancellationToken::new();
        crate::builds::build_and_deploy(regions, &request, &log, &cancel, &Progress::silent())
            .await?
    } else {
        let request = DeployRequest {
            hash_cache: Some(cache.clone()),
            env,
            ..DeployRequest::folder(&spec.dir, Some(spec.project.clone()), false)
        };
        regions.deploy(&request, &Progress::silent()).await?
    };
    let id = outcome.summary.id.clone();
    if spec.production {
        regions.promote(&spec.project, &id, Action::Deploy).await?;
    } else {
        let name = watch_preview_name(&spec.project);
        point_preview(regions.primary_store(), &name, &spec.project, &id).await?;
        // Only where the deployment is whole: a lagging region keeps the previous save.
        for region in &regions.others {
            let holds = outcome
                .regions
                .iter()
                .any(|report| report.region == region.name && report.state.in_sync());
            if holds {
                let written = point_preview(region.store.as_ref(), &name, &spec.project, &id).await;
                if let Err(error) = written {
                    tracing::warn!(region = %region.name, %error, "watch preview not moved");
                }
            }
        }
    }
    let manifest: Manifest = read_json(regions.primary_store(), &keys::manifest(&id))
        .await?
        .ok_or_else(|| PierError::UnknownDeployment {
            reference: id.clone(),
        })?;
    let diff = Diff::between(state.last.as_ref(), &manifest);
    state.last = Some(manifest);
    state.history.push(id);
    prune(regions, options, state).await;
    Ok((outcome, diff))
}

/// Points a named preview at a deployment (the watch's own alias; only the watch writes it).
pub async fn point_preview(
    store: &dyn Store,
    name: &str,
    project: &str,
    deployment: &str,
) -> Result<(), PierError> {
    let record = PreviewRecord {
        project: project.to_string(),
        deployment: deployment.to_string(),
    };
    write_json(store, &keys::preview(name), &record, PutOptions::json()).await?;
    Ok(())
}

/// Removes superseded watch deployments beyond `keep`; failures only delay the cleanup.
async fn prune(regions: &Regions, options: &WatchOptions, state: &mut WatchState) {
    while state.history.len() > options.keep + 1 {
        let oldest = state.history.remove(0);
        if let Err(error) = regions.remove(&oldest).await {
            tracing::debug!(%error, deployment = %oldest, "kept a superseded watch deployment");
        }
    }
}

fn start_watcher(
    dir: &Path,
    sender: tokio::sync::mpsc::UnboundedSender<PathBuf>,
) -> Result<notify::RecommendedWatcher, PierError> {
    use notify::Watcher;
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event {
            // Reads (our own hashing, the build opening its sources) change nothing.
            if matches!(
                event.kind,
                notify::EventKind::Access(_)
                    | notify::EventKind::Modify(notify::event::ModifyKind::Metadata(
                        notify::event::MetadataKind::AccessTime
                    ))
            ) {
                return;
            }
            for path in event.paths {
                let _ = sender.send(path);
            }
        }
    })
    .map_err(|e| watch_error(dir, e))?;
    watcher
        .watch(dir, notify::RecursiveMode::Recursive)
        .map_err(|e| watch_error(dir, e))?;
    Ok(watcher)
}

fn watch_error(dir: &Path, error: notify::Error) -> PierError {
    let detail = match &error.kind {
        notify::ErrorKind::MaxFilesWatch => {
            "the system's limit of watched folders was reached; raise it with \
             `sudo sysctl fs.inotify.max_user_watches=1048576`"
                .to_string()
        }
        _ => error.to_string(),
    };
    PierError::Unreadable {
        path: dir.to_path_buf(),
        source: std::io::Error::other(detail),
    }
}

/// The build output folder, relative, when the watch builds: its own writes must not
/// trigger another build.
fn build_output(spec: &WatchSpec) -> Vec<String> {
    if !spec.build {
        return Vec::new();
    }
    match crate::builds::detect::detect(&spec.dir, &Default::default()) {
        Ok(plan) if plan.output_dir != "." => {
            vec![format!("/{}/", plan.output_dir.trim_matches('/'))]
        }
        _ => Vec::new(),
    }
}

/// Which changed paths can change a deployment.
struct Filter {
    root: PathBuf,
    ignores: Gitignore,
}

impl Filter {
    fn new(root: &Path, extra: &[String]) -> Filter {
        let mut builder = GitignoreBuilder::new(root);
        for line in [".git/", "node_modules/", ".DS_Store"]
            .into_iter()
            .chain(extra.iter().map(String::as_str))
        {
            let _ = builder.add_line(None, line);
        }
        // A broken .pierignore is reported by the deploy itself; here it only filters events.
        let _ = builder.add(root.join(scan::IGNORE_FILE));
        Filter {
            root: root.to_path_buf(),
            ignores: builder.build().unwrap_or_else(|_| Gitignore::empty()),
        }
    }

    fn matters(&self, path: &Path) -> bool {
        let Ok(relative) = path.strip_prefix(&self.root) else {
            return false;
        };
        if relative.as_os_str().is_empty() {
            return true;
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        let scratch = name.ends_with(".swp")
            || name.ends_with(".swx")
            || name.ends_with('~')
            || name.starts_with(".#")
            || name == "4913"
            || name.ends_with(".crswap");
        if scratch {
            return false;
        }
        let is_dir = path.is_dir();
        !self
            .ignores
            .matched_path_or_any_parents(relative, is_dir)
            .is_ignore()
    }
}

/// The folders `pier watch` (and the desktop app) watch, kept in `<config dir>/pier/watches.json`.
pub mod list {
    use std::path::{Path, PathBuf};

    use super::WatchSpec;
    use crate::error::PierError;

    pub fn path() -> PathBuf {
        crate::config::beside_config("watches.json")
    }

    pub fn load(file: &Path) -> Result<Vec<WatchSpec>, PierError> {
        match std::fs::read(file) {
            Ok(body) => serde_json::from_slice(&body).map_err(|e| PierError::BadConfig {
                path: file.to_path_buf(),
                detail: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(PierError::BadConfig {
                path: file.to_path_buf(),
                detail: e.to_string(),
            }),
        }
    }

    /// Adds or replaces the entry for `spec.dir`.
    pub fn remember(file: &Path, spec: &WatchSpec) -> Result<(), PierError> {
        let mut specs = load(file)?;
        specs.retain(|existing| existing.dir != spec.dir);
        specs.push(spec.clone());
        save(file, &specs)
    }

    /// Removes `dir` from the list; returns whether it was there.
    pub fn forget(file: &Path, dir: &Path) -> Result<bool, PierError> {
        let mut specs = load(file)?;
        let before = specs.len();
        let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        specs.retain(|existing| existing.dir != dir);
        save(file, &specs)?;
        Ok(specs.len() != before)
    }

    fn save(file: &Path, specs: &[WatchSpec]) -> Result<(), PierError> {
        let bad = |e: std::io::Error| PierError::BadConfig {
            path: file.to_path_buf(),
            detail: e.to_string(),
        };
        let parent = file.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(bad)?;
        let mut temp = tempfile::NamedTempFile::new_in(parent).map_err(bad)?;
        serde_json::to_writer_pretty(&mut temp, specs).map_err(|e| bad(e.into()))?;
        temp.persist(file).map_err(|e| bad(e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_files_and_ignored_paths_do_not_matter() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".pierignore"), "logs/\n*.tmp\n").unwrap();
        let filter = Filter::new(dir.path(), &["/dist/".to_string()]);
        let root = dir.path();
        assert!(filter.matters(&root.join("index.html")));
        assert!(filter.matters(&root.join("css/site.css")));
        for quiet in [
            ".git/index",
            "node_modules/x/y.js",
            ".index.html.swp",
            "index.html~",
            ".#index.html",
            "4913",
            "logs/today.log",
            "upload.tmp",
            "dist/index.html",
        ] {
            assert!(!filter.matters(&root.join(quiet)), "{quiet}");
        }
        assert!(!filter.matters(Path::new("/elsewhere/file")));
    }
}

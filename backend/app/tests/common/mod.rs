//! What the windowless app tests share: an [`App`] started as the window starts it, with its
//! config, watch list, history and store in a temporary folder, and a sink that collects every
//! event it sends, so a test waits on what the window would have been told (with a generous
//! timeout, never on a sleep alone). Plus the fixtures: a built site, a source tree whose
//! `npm run build` runs a node script, and readers for what ended up in the store.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pier_app::{App, AppEvent, EventSink};
use pier_core::logs::{BuildStatus, LogKind, LogRecord, LogStream};
use pier_core::manifest::Manifest;
use pier_core::store::{DynStore, keys};

/// How long a test waits for what a user would wait for (a deploy, a watch, a follow).
pub const WAIT: Duration = Duration::from_secs(90);

type Hook = Arc<dyn Fn(&AppEvent) + Send + Sync>;

/// Every event the app sent, in order, and a counter that moves on each one.
#[derive(Clone)]
pub struct Events {
    seen: Arc<Mutex<Vec<AppEvent>>>,
    version: Arc<tokio::sync::watch::Sender<usize>>,
    hook: Arc<Mutex<Option<Hook>>>,
}

impl Events {
    fn new() -> Events {
        Events {
            seen: Arc::default(),
            version: Arc::new(tokio::sync::watch::channel(0).0),
            hook: Arc::default(),
        }
    }

    fn sink(&self) -> EventSink {
        let events = self.clone();
        EventSink::new(move |event| {
            // The hook runs as the engine emits, on the engine's own task: what a window that
            // answers at once would do.
            // Taken out first, so a hook may wait for events other tasks send meanwhile.
            let hook = events.hook.lock().unwrap().clone();
            if let Some(hook) = hook {
                hook(&event);
            }
            let count = {
                let mut seen = events.seen.lock().unwrap();
                seen.push(event);
                seen.len()
            };
            events.version.send_replace(count);
        })
    }

    /// Runs `hook` on each event as it is emitted (before it is recorded).
    pub fn on_event(&self, hook: impl Fn(&AppEvent) + Send + Sync + 'static) {
        *self.hook.lock().unwrap() = Some(Arc::new(hook));
    }

    pub fn clear_hook(&self) {
        self.hook.lock().unwrap().take();
    }

    /// How many events so far: a mark to wait for what comes after.
    pub fn mark(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    /// The events from `from` on.
    pub fn since(&self, from: usize) -> Vec<AppEvent> {
        self.seen.lock().unwrap()[from..].to_vec()
    }

    pub fn all(&self) -> Vec<AppEvent> {
        self.since(0)
    }

    /// Waits (up to `timeout`) for the first event from `from` on that `found` picks.
    pub async fn until_within<T>(
        &self,
        what: &str,
        from: usize,
        timeout: Duration,
        mut found: impl FnMut(&AppEvent) -> Option<T>,
    ) -> T {
        self.until_seen(what, from, timeout, |events| {
            events.iter().find_map(&mut found)
        })
        .await
    }

    /// Waits (up to `timeout`) until `found` picks something from the events since `from`,
    /// looked at together.
    pub async fn until_seen<T>(
        &self,
        what: &str,
        from: usize,
        timeout: Duration,
        mut found: impl FnMut(&[AppEvent]) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        let mut changed = self.version.subscribe();
        loop {
            changed.borrow_and_update();
            if let Some(value) = found(&self.seen.lock().unwrap()[from..]) {
                return value;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || tokio::time::timeout(left, changed.changed()).await.is_err() {
                let seen = self.since(from);
                let tail: Vec<String> = seen.iter().rev().take(15).rev().map(short).collect();
                panic!(
                    "no {what} within {} s; the last of {} events since the mark:\n{}",
                    timeout.as_secs(),
                    seen.len(),
                    tail.join("\n")
                );
            }
        }
    }

    /// As [`Events::until_within`], with [`WAIT`].
    pub async fn until<T>(
        &self,
        what: &str,
        from: usize,
        found: impl FnMut(&AppEvent) -> Option<T>,
    ) -> T {
        self.until_within(what, from, WAIT, found).await
    }

    /// Waits for the lists to be told to reload `project`, in an event from `from` on.
    pub async fn until_reload(&self, what: &str, from: usize, project: &str) {
        self.until(what, from, |event| match event {
            AppEvent::Changed { project: Some(p) } if p == project => Some(()),
            _ => None,
        })
        .await
    }

    /// Waits for a deploy job's end: `Ok(finished)` or `Err(failed)`.
    pub async fn job_end(&self, job: &str, from: usize) -> Result<Finished, Failed> {
        self.until(&format!("end of {job}"), from, |event| job_end(event, job))
            .await
    }
}

/// One event in a line, for a failure message (log batches are summarised).
fn short(event: &AppEvent) -> String {
    match event {
        AppEvent::LogRecords {
            deployment,
            records,
        } => {
            let records = records.records().unwrap_or_default();
            format!(
                "LogRecords {deployment}: {} records, seq {:?}..={:?}",
                records.len(),
                records.first().map(|r| r.seq),
                records.last().map(|r| r.seq)
            )
        }
        other => format!("{other:?}"),
    }
}

#[derive(Debug, Clone)]
pub struct Finished {
    pub project: String,
    pub deployment: String,
    pub preview_url: String,
    pub built: bool,
}

#[derive(Debug, Clone)]
pub struct Failed {
    pub project: Option<String>,
    pub deployment: Option<String>,
    pub error: pier_wire::UserError,
}

pub fn job_end(event: &AppEvent, job: &str) -> Option<Result<Finished, Failed>> {
    match event {
        AppEvent::DeployFinished {
            job: j,
            project,
            deployment,
            preview_url,
            built,
        } if j == job => Some(Ok(Finished {
            project: project.clone(),
            deployment: deployment.clone(),
            preview_url: preview_url.clone(),
            built: *built,
        })),
        AppEvent::DeployFailed {
            job: j,
            project,
            deployment,
            error,
        } if j == job => Some(Err(Failed {
            project: project.clone(),
            deployment: deployment.clone(),
            error: error.clone(),
        })),
        _ => None,
    }
}

/// The app as the window starts it, in a private temporary home. Stops its watches and
/// follows when dropped (the folder goes after).
pub struct Harness {
    pub app: App,
    pub events: Events,
    /// The in-process proxy's port the app's links name.
    pub port: u16,
    pub work: tempfile::TempDir,
}

impl Harness {
    /// Points the app's config (`desktop.json`, `watches.json`, `watch-history.json`), its
    /// embedded store and the XDG and home folders into a new temporary folder, as the
    /// end-to-end harness does for the real app, then starts it.
    pub async fn start() -> Harness {
        let work = tempfile::tempdir().unwrap();
        let root = work.path();
        let home = root.join("home");
        std::fs::create_dir_all(&home).unwrap();
        // SAFETY: set before the app starts; nextest runs each test in its own process and
        // nothing else in it reads the environment meanwhile.
        unsafe {
            std::env::set_var("PIER_CONFIG", root.join("config/config.toml"));
            std::env::set_var("PIER_STORE", root.join("store"));
            std::env::set_var("XDG_CONFIG_HOME", root.join("xdg/config"));
            std::env::set_var("XDG_DATA_HOME", root.join("xdg/data"));
            std::env::set_var("XDG_CACHE_HOME", root.join("xdg/cache"));
            std::env::set_var("HOME", &home);
            // npm's own cache and logs stay in the temporary home too.
            std::env::set_var("npm_config_cache", home.join(".npm"));
            std::env::remove_var("PIER_REDIS_URL");
        }
        Harness::open(work).await
    }

    async fn open(work: tempfile::TempDir) -> Harness {
        let events = Events::new();
        let port = 4800;
        let app = App::start(port, events.sink()).await.unwrap();
        assert_eq!(
            app.info().startup_problem,
            None,
            "a fresh home has nothing wrong"
        );
        Harness {
            app,
            events,
            port,
            work,
        }
    }

    /// Stops this app and starts another on the same home, as a restart of the window does.
    pub async fn restart(&mut self) {
        self.events.clear_hook();
        self.app.shutdown();
        let events = Events::new();
        self.app = App::start(self.port, events.sink()).await.unwrap();
        self.events = events;
    }

    pub fn store(&self) -> DynStore {
        self.app.target().store
    }

    /// A new folder under the temporary home.
    pub fn folder(&self, relative: &str) -> PathBuf {
        let dir = self.work.path().join("sites").join(relative);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A built site: `files` (path, content) in a new folder.
    pub fn site(&self, name: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = self.folder(name);
        for (path, body) in files {
            write(&dir.join(path), body);
        }
        dir
    }

    /// A source tree whose build (`npm run build`) runs `script` with node; no dependencies,
    /// so nothing is installed and nothing leaves the machine.
    pub fn source_tree(&self, name: &str, script: &str) -> PathBuf {
        let dir = self.folder(name);
        let package = serde_json::json!({
            "name": name,
            "version": "1.0.0",
            "private": true,
            "scripts": { "build": "node build.js" },
        });
        write(&dir.join("package.json"), &package.to_string());
        write(&dir.join("build.js"), script);
        dir
    }

    /// The link the app gives for a host label.
    pub fn url(&self, label: &str) -> String {
        format!("http://{label}.localhost:{}", self.port)
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.events.clear_hook();
        self.app.shutdown();
    }
}

pub fn write(path: &Path, body: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, body).unwrap();
}

/// A path as a JavaScript string literal, for node scripts.
pub fn js(path: &Path) -> String {
    serde_json::to_string(&path.display().to_string()).unwrap()
}

/// The deployment's manifest, or `None` when it does not exist.
pub async fn manifest(store: &DynStore, deployment: &str) -> Option<Manifest> {
    pier_core::records::read_json(store.as_ref(), &keys::manifest(deployment))
        .await
        .unwrap()
}

/// What a deployment serves at `path` (read through its manifest and the blob store).
pub async fn deployed_file(store: &DynStore, reference: &str, path: &str) -> String {
    let manifest = pier_core::deployments::resolve(store.as_ref(), reference)
        .await
        .unwrap_or_else(|e| panic!("`{reference}` resolves: {e}"));
    let file = manifest
        .files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("{path} in {reference}: {:?}", manifest.files));
    let blob = store
        .get(&keys::blob(&file.sha256))
        .await
        .unwrap()
        .expect("the blob a manifest names exists");
    String::from_utf8(blob.body.to_vec()).unwrap()
}

/// The stdout lines of a log, in order.
pub fn stdout_lines(records: &[LogRecord]) -> Vec<String> {
    records
        .iter()
        .filter_map(|record| match &record.kind {
            LogKind::Line {
                stream: LogStream::Stdout,
                text,
            } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

pub fn statuses(records: &[LogRecord]) -> Vec<BuildStatus> {
    records
        .iter()
        .filter_map(|record| match &record.kind {
            LogKind::Status { status, .. } => Some(*status),
            _ => None,
        })
        .collect()
}

/// The log records the app sent for `deployment` from `from` on, each batch checked to be
/// in order and at most the window's batch size.
pub fn followed(events: &[AppEvent], deployment: &str) -> Vec<LogRecord> {
    let mut records = Vec::new();
    for event in events {
        if let AppEvent::LogRecords {
            deployment: d,
            records: batch,
        } = event
            && d == deployment
        {
            // Decoded as the window decodes it.
            let batch = batch.records().expect("a batch the window can read");
            assert!(!batch.is_empty(), "an empty batch was sent");
            assert!(batch.len() <= 500, "a batch of {} records", batch.len());
            records.extend(batch);
        }
    }
    records
}

/// Follows a finished build's whole log through the app and returns it.
pub async fn whole_log(harness: &Harness, deployment: &str) -> Vec<LogRecord> {
    let mark = harness.events.mark();
    harness.app.follow_log(deployment.to_string(), 0);
    let error = harness
        .events
        .until("the follow's end", mark, |event| match event {
            AppEvent::LogEnded {
                deployment: d,
                error,
            } if d == deployment => Some(error.clone()),
            _ => None,
        })
        .await;
    assert_eq!(error, None, "the log of {deployment} can be followed");
    followed(&harness.events.since(mark), deployment)
}

/// Whether process `pid` is running (a zombie waiting to be reaped has stopped).
pub fn running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .unwrap_or("X");
            !matches!(state, "Z" | "X")
        }
        Err(_) => false,
    }
}

/// The process group of `pid`.
pub fn process_group(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    // After the name: state, ppid, pgrp.
    rest.split_whitespace().nth(2)?.parse().ok()
}

/// The running processes of group `pgid`.
pub fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| process_group(*pid) == Some(pgid) && running(*pid))
        .collect()
}

/// Waits until the build log `deployment` exists in the app's live logs (in-process or
/// Redis), so a follow started now finds it.
pub async fn until_log_started(harness: &Harness, deployment: &str) {
    let live = harness.app.target().live();
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(Some(_)) = live.read_after(deployment, 0, Duration::ZERO).await {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the log {deployment} never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `done` holds, checking every 20 ms, for at most `timeout`.
pub async fn eventually(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "{what} did not happen in time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

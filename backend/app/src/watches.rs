//! The Watch screen's engine: the remembered folder list (`watches.json`, shared with
//! `pier watch`, so it survives restarts), one watch task per folder, and what each shows:
//! its URL, its state (idle, building, deploying, failed) and a history of its deploys (kept
//! on disk by [`super::watch_history`], so it survives restarts too).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::events::{AppEvent, EventSink, UserError};
use super::target::Target;
use super::views::now_ms;
pub use super::watch_history::WatchDeploy;
use super::watch_history::{self, WatchHistory};
use pier_core::watch::{self, WatchEvent, WatchOptions, WatchSpec};
pub use pier_wire::watches::{WatchState, WatchView};

struct Running {
    view: Arc<Mutex<WatchView>>,
    stop: tokio::sync::watch::Sender<bool>,
}

pub struct Watches {
    list_file: PathBuf,
    events: EventSink,
    running: Mutex<HashMap<PathBuf, Running>>,
    history: Arc<WatchHistory>,
}

impl Watches {
    pub fn new(list_file: PathBuf, events: EventSink) -> Watches {
        Watches {
            history: Arc::new(WatchHistory::open(watch_history::path_beside(&list_file))),
            list_file,
            events,
            running: Mutex::default(),
        }
    }

    /// Starts every remembered watch against `target`.
    pub fn resume(&self, target: &Target) {
        match watch::list::load(&self.list_file) {
            Ok(specs) => {
                for spec in specs {
                    self.start(target, spec);
                }
            }
            Err(error) => tracing::warn!(%error, "the watch list could not be read"),
        }
    }

    pub fn add(&self, target: &Target, dir: &Path, build: bool) -> Result<WatchView, UserError> {
        let spec = WatchSpec::new(dir, None, false, build)?;
        watch::list::remember(&self.list_file, &spec)?;
        Ok(self.start(target, spec))
    }

    pub fn remove(&self, dir: &Path) -> Result<(), UserError> {
        watch::list::forget(&self.list_file, dir)?;
        let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        self.history.forget(&dir.display().to_string());
        if let Some(running) = self.running.lock().expect("not poisoned").remove(&dir) {
            let _ = running.stop.send(true);
        }
        Ok(())
    }

    pub fn stop_all(&self) {
        for (_, running) in self.running.lock().expect("not poisoned").drain() {
            let _ = running.stop.send(true);
        }
    }

    /// Every watch, in the order of their folders.
    pub fn views(&self) -> Vec<WatchView> {
        let mut views: Vec<WatchView> = self
            .running
            .lock()
            .expect("not poisoned")
            .values()
            .map(|running| running.view.lock().expect("not poisoned").clone())
            .collect();
        views.sort_by(|a, b| a.dir.cmp(&b.dir));
        views
    }

    fn start(&self, target: &Target, spec: WatchSpec) -> WatchView {
        let dir = spec.dir.display().to_string();
        let view = Arc::new(Mutex::new(WatchView {
            history: self.history.of(&dir),
            dir,
            project: spec.project.clone(),
            url: target.url_for(&spec.label()),
            state: WatchState::Starting,
            message: None,
        }));
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        if let Some(previous) = self.running.lock().expect("not poisoned").insert(
            spec.dir.clone(),
            Running {
                view: view.clone(),
                stop,
            },
        ) {
            let _ = previous.stop.send(true);
        }
        let options = WatchOptions {
            logs: target.live().as_backend(),
            envs: Some(pier_core::project_env::ProjectEnvs::for_this_machine()),
            ..WatchOptions::default()
        };
        let regions = target.regions.clone();
        let events = self.events.clone();
        let base_url = target.base_url.clone();
        let task_view = view.clone();
        let asked_to_stop = stopped.clone();
        let report = {
            let asked_to_stop = asked_to_stop.clone();
            let view = view.clone();
            let events = events.clone();
            let project = spec.project.clone();
            let history = self.history.clone();
            move |event: WatchEvent| {
                // Removed, replaced by a new watch of the folder, or stopped for a new target:
                // the window already shows what comes next, and a last "stopped" view of this
                // one would bring a removed watch back into the list.
                if *asked_to_stop.borrow() {
                    return;
                }
                let snapshot = {
                    let mut view = view.lock().expect("not poisoned");
                    apply(&mut view, &event, &base_url, &history);
                    view.clone()
                };
                events.emit(AppEvent::Watch(snapshot));
                if matches!(event, WatchEvent::Deployed { .. }) {
                    events.emit(AppEvent::Changed {
                        project: Some(project.clone()),
                    });
                }
            }
        };
        tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            };
            let result = watch::watch(regions, spec, options, report, shutdown).await;
            if *asked_to_stop.borrow() {
                return;
            }
            let snapshot = {
                let mut view = task_view.lock().expect("not poisoned");
                match result {
                    Ok(()) => view.state = WatchState::Stopped,
                    Err(error) => {
                        view.state = WatchState::Failed;
                        view.message = Some(format!("{error}; {}", error.hint()));
                    }
                }
                view.clone()
            };
            events.emit(AppEvent::Watch(snapshot));
        });
        view.lock().expect("not poisoned").clone()
    }
}

fn apply(
    view: &mut WatchView,
    event: &WatchEvent,
    base_url: &pier_core::config::BaseUrl,
    history: &WatchHistory,
) {
    match event {
        WatchEvent::Watching { .. } | WatchEvent::FolderBack => {
            view.state = WatchState::Idle;
            view.message = None;
        }
        WatchEvent::Deploying { .. } => view.state = WatchState::Deploying,
        WatchEvent::Building { .. } => view.state = WatchState::Building,
        WatchEvent::Deployed {
            outcome,
            diff,
            save_to_live_ms,
            ..
        } => {
            view.state = WatchState::Idle;
            view.message = None;
            view.history = history.record(
                &view.dir,
                WatchDeploy {
                    deployment: outcome.summary.id.clone(),
                    preview_url: base_url.for_label(&outcome.summary.preview),
                    at_ms: now_ms(),
                    changes: diff.count(),
                    save_to_live_ms: *save_to_live_ms as u64,
                },
            );
        }
        WatchEvent::Failed {
            error,
            hint,
            retry_in_ms,
        } => {
            view.state = WatchState::Failed;
            view.message = Some(format!(
                "{error}; {hint} (retrying in {} s)",
                retry_in_ms.div_ceil(1000)
            ));
        }
        WatchEvent::FolderGone => {
            view.state = WatchState::FolderGone;
            view.message = Some("The folder is gone; the watch resumes when it comes back".into());
        }
        WatchEvent::Stopped => view.state = WatchState::Stopped,
    }
}

//! The desktop app's engine, with no window: everything the Tauri shell's commands call.
//!
//! The shell (`src-tauri`) owns the window, the tray and the in-process proxy; each of its
//! commands is a two-line call into [`App`]. Long work (deploys, builds, watches, log
//! follows) runs on tokio tasks and reports through the [`EventSink`], so the window never
//! waits on it. Errors cross to the window as [`UserError`]: a sentence and what to do next,
//! never a credential.

pub mod aws_profiles;
pub mod aws_setup;
pub mod check;
pub mod custom_domains;
pub mod deploy_job;
pub mod events;
pub mod example_site;
pub mod log_follow;
pub mod meter;
pub mod project_env;
pub mod secrets;
pub mod settings;
pub mod switch_store;
pub mod target;
pub mod trim;
pub mod views;
pub mod watch_history;
pub mod watches;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

pub use events::{AppEvent, EventSink, UserError};
pub use settings::DesktopSettings;
pub use target::Target;

use pier_core::alias::{self, AliasChange};
use pier_core::deployments;
use pier_core::manifest::Summary;
use pier_core::region_state::RegionReport;

/// The engine behind the desktop window; cheap to clone.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    settings_file: PathBuf,
    /// The port the in-process proxy listens on, for `http://<label>.localhost:<port>` links.
    serve_port: u16,
    target: RwLock<Target>,
    events: EventSink,
    /// The newest deploy job per project, so the Projects screen can show a failure.
    jobs: Mutex<std::collections::HashMap<String, views::JobState>>,
    watches: watches::Watches,
    follow: log_follow::Follower,
    /// Why the saved settings could not be used at start (the app runs on the embedded
    /// default meanwhile, so it always opens).
    startup_problem: Option<UserError>,
    /// One AWS setup run at a time: two applies racing would both create.
    setup_busy: Arc<AtomicBool>,
    /// Running deploy jobs, for their Cancel button.
    cancels: Mutex<std::collections::HashMap<String, tokio_util::sync::CancellationToken>>,
}

/// Held while a setup run goes; frees the slot when dropped (even on a panic).
pub(crate) struct SetupSlot(Arc<AtomicBool>);

impl Drop for SetupSlot {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

pub use pier_wire::events::Dropped;
pub use pier_wire::settings::AppInfo;
pub use pier_wire::updates::UpdateOffer;

impl App {
    /// Opens the settings (`desktop.json` beside the config file) and resumes the remembered
    /// watches. Nothing configured means the embedded default: a local store.
    pub async fn start(serve_port: u16, events: EventSink) -> Result<App, UserError> {
        let settings_file = settings::path();
        let opened = match DesktopSettings::load(&settings_file) {
            Ok(desktop) => Target::open(&desktop, serve_port).await,
            Err(error) => Err(error),
        };
        let (target, startup_problem) = match opened {
            Ok(target) => (target, None),
            Err(error) => {
                tracing::warn!(%error, "the saved settings cannot be used; starting on the embedded default");
                (
                    Target::open(&DesktopSettings::default(), serve_port).await?,
                    Some(error),
                )
            }
        };
        let app = App {
            inner: Arc::new(Inner {
                settings_file,
                serve_port,
                target: RwLock::new(target),
                events: events.clone(),
                jobs: Mutex::default(),
                watches: watches::Watches::new(pier_core::watch::list::path(), events.clone()),
                follow: log_follow::Follower::default(),
                startup_problem,
                setup_busy: Arc::default(),
                cancels: Mutex::default(),
            }),
        };
        app.inner.watches.resume(&app.target());
        Ok(app)
    }

    /// The store, URLs and live logs in use now.
    pub fn target(&self) -> Target {
        self.inner.target.read().expect("not poisoned").clone()
    }

    pub fn info(&self) -> AppInfo {
        let target = self.target();
        AppInfo {
            serve_url: target.url_for("<project>"),
            store: target.store.url(),
            startup_problem: self.inner.startup_problem.clone().map(Into::into),
        }
    }

    pub fn events(&self) -> &EventSink {
        &self.inner.events
    }

    pub async fn projects(&self) -> Result<Vec<views::ProjectView>, UserError> {
        let jobs = self.inner.jobs.lock().expect("not poisoned").clone();
        views::projects(&self.target(), &jobs).await
    }

    /// The newest builds in the store's build history, newest first: the Logs screen's list.
    pub async fn builds(&self) -> Result<Vec<pier_wire::logs::BuildSummary>, UserError> {
        const SHOWN: usize = 50;
        let store = self.target().store.clone();
        Ok(pier_core::logs::history::recent(store.as_ref(), SHOWN).await?)
    }

    pub async fn deployments(
        &self,
        project: &str,
    ) -> Result<Vec<views::DeploymentView>, UserError> {
        views::deployments(&self.target(), project).await
    }

    /// Brings every other region up to the primary for `project`; each region's state after.
    pub async fn sync_regions(&self, project: &str) -> Result<Vec<RegionReport>, UserError> {
        let synced = self.target().regions.sync_others(project).await;
        self.inner.events.emit(AppEvent::Changed {
            project: Some(project.to_string()),
        });
        Ok(synced)
    }

    pub async fn promote(&self, deployment: &str) -> Result<AliasChange, UserError> {
        let target = self.target();
        let manifest = deployments::resolve(target.store.as_ref(), deployment).await?;
        // Every other region follows; one that lags shows as such on the Projects screen.
        let (change, _regions) = target
            .regions
            .promote(&manifest.project, &manifest.id, alias::Action::Promote)
            .await?;
        self.inner.events.emit(AppEvent::Changed {
            project: Some(manifest.project),
        });
        Ok(change)
    }

    pub async fn rollback(&self, project: &str) -> Result<AliasChange, UserError> {
        let (change, _regions) = self.target().regions.rollback(project).await?;
        self.inner.events.emit(AppEvent::Changed {
            project: Some(project.to_string()),
        });
        Ok(change)
    }

    pub async fn remove(&self, deployment: &str) -> Result<Summary, UserError> {
        let regions = self.target().regions;
        let (summary, _regions) = regions.remove(deployment).await?;
        // Lambda versions only this deployment used go now; if a gc holds the lock, it (or
        // the next one) deletes them.
        if let Err(error) = regions.collect_functions().await {
            tracing::warn!(%error, "Lambda versions stay until the next gc");
        }
        self.inner.events.emit(AppEvent::Changed {
            project: Some(summary.project.clone()),
        });
        Ok(summary)
    }

    /// Starts deploying what was dropped (or picked); progress and the outcome arrive as
    /// events. Returns the job id at once.
    pub fn deploy_dropped(
        &self,
        paths: Vec<PathBuf>,
        project: Option<String>,
    ) -> Result<String, UserError> {
        let dir = deploy_job::dropped_folder(&paths)?;
        Ok(deploy_job::spawn(self.clone(), dir, project))
    }

    /// Writes the bundled example site beside Pier's config and deploys it as the project
    /// `example`, as a drop of that folder would; the job's id.
    pub fn deploy_example(&self) -> Result<String, UserError> {
        let dir = example_site::write(&example_site::folder())?;
        Ok(deploy_job::spawn(
            self.clone(),
            dir,
            Some(example_site::PROJECT.into()),
        ))
    }

    /// A native drop on the window: starts the deploy and says what `pier://dropped` tells
    /// the window (the job, or why none started).
    pub fn deploy_native_drop(&self, paths: Vec<PathBuf>) -> Dropped {
        match self.deploy_dropped(paths, None) {
            Ok(job) => Dropped {
                job: Some(job),
                error: None,
            },
            Err(error) => Dropped {
                job: None,
                error: Some(error.into()),
            },
        }
    }

    /// Cancels a running deploy job; a job that already ended is not an error.
    pub fn cancel_deploy(&self, job: &str) {
        if let Some(cancel) = self.inner.cancels.lock().expect("not poisoned").get(job) {
            cancel.cancel();
        }
    }

    pub(crate) fn register_job(&self, job: &str) -> tokio_util::sync::CancellationToken {
        let cancel = tokio_util::sync::CancellationToken::new();
        self.inner
            .cancels
            .lock()
            .expect("not poisoned")
            .insert(job.to_string(), cancel.clone());
        cancel
    }

    pub(crate) fn forget_job(&self, job: &str) {
        self.inner.cancels.lock().expect("not poisoned").remove(job);
    }

    pub(crate) fn record_job(&self, project: &str, state: views::JobState) {
        self.inner
            .jobs
            .lock()
            .expect("not poisoned")
            .insert(project.to_string(), state);
    }

    pub fn watches(&self) -> Vec<watches::WatchView> {
        self.inner.watches.views()
    }

    pub fn watch_add(&self, dir: PathBuf, build: bool) -> Result<watches::WatchView, UserError> {
        self.inner.watches.add(&self.target(), &dir, build)
    }

    pub fn watch_remove(&self, dir: PathBuf) -> Result<(), UserError> {
        self.inner.watches.remove(&dir)
    }

    /// Follows a build's log from just after `after`; records arrive as events in batches.
    pub fn follow_log(&self, deployment: String, after: u64) {
        self.inner
            .follow
            .start(&self.target(), self.inner.events.clone(), deployment, after);
    }

    /// A project's `pier env` variables; secrets by name only.
    pub fn env_vars(&self, project: &str) -> Result<Vec<pier_wire::env::EnvVarView>, UserError> {
        project_env::list(
            &pier_core::project_env::ProjectEnvs::for_this_machine(),
            project,
        )
    }

    /// Sets a variable for the project's next deploys (a secret's value goes to the keychain).
    pub fn env_set(
        &self,
        form: pier_wire::env::EnvSetForm,
    ) -> Result<Vec<pier_wire::env::EnvVarView>, UserError> {
        project_env::set(
            &pier_core::project_env::ProjectEnvs::for_this_machine(),
            form,
        )
    }

    pub fn env_remove(
        &self,
        project: &str,
        name: &str,
    ) -> Result<Vec<pier_wire::env::EnvVarView>, UserError> {
        project_env::remove(
            &pier_core::project_env::ProjectEnvs::for_this_machine(),
            project,
            name,
        )
    }

    /// Follows a project's function output in the Logs screen.
    pub fn follow_functions(&self, project: String, after: u64) -> Result<(), UserError> {
        pier_core::project_name::validate(&project).map_err(UserError::from)?;
        self.inner.follow.start_functions(
            &self.target(),
            self.inner.events.clone(),
            project,
            after,
        );
        Ok(())
    }

    pub fn stop_following(&self) {
        self.inner.follow.stop();
    }

    pub fn settings(&self) -> settings::SettingsView {
        settings::view_of(&self.target().settings)
    }

    /// Checks the settings without saving them: store, credentials, bucket, region, Redis.
    pub async fn test_connection(
        &self,
        form: settings::SettingsForm,
    ) -> Result<check::CheckReport, UserError> {
        let desktop = settings::validated(form)?;
        Ok(check::run(&desktop, self.inner.serve_port).await)
    }

    /// Saves the settings (the Redis password to the keychain), then switches to them:
    /// watches restart against the new store. Deployments already made are untouched.
    pub async fn save_settings(
        &self,
        form: settings::SettingsForm,
    ) -> Result<settings::SettingsView, UserError> {
        let password = form.redis_password.clone();
        let desktop = settings::validated(form)?;
        if let Some(password) = password.filter(|p| !p.is_empty()) {
            secrets::set_redis_password(&password)?;
        }
        self.switch_to(desktop.clone()).await?;
        Ok(settings::view_of(&desktop))
    }

    /// Opens `desktop`'s target, saves it, and works against it from now on: watches restart
    /// against the new store. Deployments already made are untouched.
    pub(crate) async fn switch_to(&self, desktop: DesktopSettings) -> Result<(), UserError> {
        let target = Target::open(&desktop, self.inner.serve_port).await?;
        desktop.save(&self.inner.settings_file)?;
        self.inner.watches.stop_all();
        *self.inner.target.write().expect("not poisoned") = target.clone();
        self.inner.watches.resume(&target);
        self.inner.events.emit(AppEvent::TargetChanged);
        self.inner.events.emit(AppEvent::Changed { project: None });
        Ok(())
    }

    /// The setup form, prefilled from the settings in use.
    pub fn setup_form(&self) -> aws_setup::SetupForm {
        aws_setup::prefilled(&self.target().settings)
    }

    /// Starts a setup plan, apply or teardown; each step and the outcome arrive as events.
    pub fn setup(
        &self,
        form: aws_setup::SetupForm,
        run: aws_setup::SetupRun,
    ) -> Result<(), UserError> {
        aws_setup::spawn(self.clone(), form, run)
    }

    pub(crate) fn setup_slot(&self) -> Result<SetupSlot, UserError> {
        if self.inner.setup_busy.swap(true, Ordering::SeqCst) {
            return Err(UserError::new(
                "A setup run is already going",
                "wait for it to end; its steps show on the AWS setup screen",
            ));
        }
        Ok(SetupSlot(self.inner.setup_busy.clone()))
    }

    pub async fn domains(&self) -> Result<custom_domains::DomainsView, UserError> {
        custom_domains::list(self).await
    }

    /// Starts (or resumes) the domain wizard; steps and the outcome arrive as events.
    pub fn domain_add(
        &self,
        domain: String,
        project: String,
        distribution: Option<String>,
    ) -> Result<(), UserError> {
        custom_domains::spawn_add(self.clone(), domain, project, distribution)
    }

    pub async fn domain_verify(
        &self,
        domain: &str,
    ) -> Result<Vec<pier_aws::domain_wizard::StepReport>, UserError> {
        custom_domains::verify(self, domain).await
    }

    pub async fn domain_remove(
        &self,
        domain: &str,
    ) -> Result<pier_aws::domain_wizard::RemoveOutcome, UserError> {
        custom_domains::remove(self, domain).await
    }

    pub fn aws_profiles(&self) -> Vec<String> {
        aws_profiles::names(
            &aws_profiles::config_path(),
            &aws_profiles::credentials_path(),
        )
    }

    /// Stops watches, follows and running deploy jobs (a build with its process tree); deployments
    /// already made are untouched, and a deploy stopped half way leaves nothing listed.
    pub fn shutdown(&self) {
        self.inner.watches.stop_all();
        self.inner.follow.stop();
        for cancel in self.inner.cancels.lock().expect("not poisoned").values() {
            cancel.cancel();
        }
    }
}

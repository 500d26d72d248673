//! Deploy: drop a folder onto the window (or pick one, or type its path) → Pier tells a built
//! site from a source tree → deploys it, or builds then deploys it, with a progress bar
//! (files hashed, bytes uploaded, ETA) → the preview URL and "promote to production".

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Serialize;

use super::confirm::{Action, Confirm};
use super::url_actions::UrlActions;
use crate::types::{DeploySnapshot, Phase, UserError};
use crate::{Ctx, Screen, bridge, format};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeployState {
    pub job: Option<String>,
    pub running: bool,
    pub snapshot: Option<DeploySnapshot>,
    /// (project, deployment id, preview URL, built first).
    pub done: Option<(String, String, String, bool)>,
    pub error: Option<UserError>,
    /// The build log of this job, when it was built first.
    pub log: Option<String>,
    /// Open the preview in the browser when this job is deployed (the example site).
    pub open_when_done: bool,
}

impl DeployState {
    fn mine(&mut self, job: &str) -> bool {
        match &self.job {
            Some(current) => current == job,
            None if self.running => {
                self.job = Some(job.to_string());
                true
            }
            None => false,
        }
    }

    pub fn starting(&mut self) {
        *self = DeployState {
            running: true,
            ..Default::default()
        };
    }

    pub fn started(&mut self, job: String) {
        if self.job.as_deref() != Some(job.as_str()) {
            self.starting();
            self.job = Some(job);
        }
    }

    /// Whether `job` is this screen's job and its preview should open once deployed.
    pub fn opens(&self, job: &str) -> bool {
        let mine = match &self.job {
            Some(current) => current == job,
            // The job's id has not come back yet; its first event makes it this screen's.
            None => self.running,
        };
        self.open_when_done && mine
    }

    pub fn refused(&mut self, error: UserError) {
        *self = DeployState {
            error: Some(error),
            ..Default::default()
        };
    }

    pub fn progress(&mut self, snapshot: DeploySnapshot) {
        if self.mine(&snapshot.job) && self.running {
            if snapshot.deployment.is_some() {
                self.log = snapshot.deployment.clone();
            }
            self.snapshot = Some(snapshot);
        }
    }

    pub fn finished(
        &mut self,
        job: String,
        project: String,
        deployment: String,
        url: String,
        built: bool,
    ) {
        if self.mine(&job) {
            self.running = false;
            if built {
                self.log = Some(deployment.clone());
            }
            self.done = Some((project, deployment, url, built));
        }
    }

    pub fn failed(&mut self, job: String, deployment: Option<String>, error: UserError) {
        if self.mine(&job) {
            self.running = false;
            if deployment.is_some() {
                self.log = deployment;
            }
            self.error = Some(error);
        }
    }
}

#[derive(Serialize)]
struct DeployArgs {
    paths: Vec<String>,
    project: Option<String>,
}

/// Starts a deploy exactly as a native drop does (the shell's drop handler calls the same
/// engine function with the dropped paths).
pub fn start(ctx: Ctx, path: String, project: String) {
    ctx.deploy.update(DeployState::starting);
    spawn_local(async move {
        let args = DeployArgs {
            paths: vec![path],
            project: Some(project).filter(|p| !p.trim().is_empty()),
        };
        match bridge::call::<String>("deploy_folder", args).await {
            Ok(job) => ctx.deploy.update(|d| d.started(job)),
            Err(error) => ctx.deploy.update(|d| d.refused(error)),
        }
    });
}

fn progress_text(s: &DeploySnapshot) -> String {
    let eta = s
        .eta_ms
        .map(|ms| format!(" · about {} left", format::duration_ms(ms)))
        .unwrap_or_default();
    match s.phase {
        Phase::Building => {
            "Building (installing dependencies and running the build script)…".into()
        }
        Phase::Hashing => format!(
            "Hashing files: {} of {} ({} of {}){eta}",
            s.files_hashed,
            s.files_total,
            format::bytes(s.bytes_hashed),
            format::bytes(s.bytes_total)
        ),
        Phase::Uploading => format!(
            "Uploading: {} of {}{eta}",
            format::bytes(s.bytes_uploaded),
            format::bytes(s.upload_bytes_total)
        ),
        Phase::Finalizing => "Writing the manifest…".into(),
        Phase::Starting => "Reading the folder…".into(),
    }
}

#[derive(serde::Serialize)]
struct JobArgs {
    job: String,
}

/// Asks for a folder (the system's picker) and deploys it, as a drop does (the button, and
/// Ctrl+O from any screen).
/// `shown` is the path box, which then holds the folder picked.
pub fn pick_and_deploy(ctx: Ctx, project: String, shown: Option<RwSignal<String>>) {
    spawn_local(async move {
        match bridge::call::<Option<String>>("pick_folder", bridge::NoArgs {}).await {
            Ok(Some(folder)) => {
                if let Some(shown) = shown {
                    shown.set(folder.clone());
                }
                start(ctx, folder, project)
            }
            Ok(None) => {}
            Err(error) => ctx.fail(error),
        }
    });
}

#[component]
pub fn Deploy() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let path = RwSignal::new(String::new());
    let project = RwSignal::new(String::new());
    let pick = move |_| pick_and_deploy(ctx, project.get_untracked(), Some(path));
    view! {
        <h1>"Deploy"</h1>
        <div class="dropzone" id="dropzone" class:active=move || ctx.dragging.get()>
            <p class="big">"Drop a folder here"</p>
            <p class="muted">"A built site (with index.html) is deployed as it is; a source tree (with a build script) is built first."</p>
            <button class="primary" id="deploy-pick" on:click=pick>"Choose a folder…"</button>
        </div>
        <div class="row form">
            <input id="deploy-path" type="text" aria-label="Folder to deploy" placeholder="or type a folder's path" prop:value=move || path.get() on:input=move |ev| path.set(event_target_value(&ev))/>
            <input id="deploy-project" type="text" aria-label="Project name" placeholder="project name (default: the folder's)" prop:value=move || project.get() on:input=move |ev| project.set(event_target_value(&ev))/>
            <button id="deploy-start" disabled=move || ctx.deploy.with(|d| d.running) on:click=move |_| start(ctx, path.get_untracked(), project.get_untracked())>"Deploy"</button>
        </div>
        {move || {
            let state = ctx.deploy.get();
            let log = state.log.clone();
            let log_link = log.map(|id| view! {
                <button class="link" id="deploy-log" on:click=move |_| {
                    ctx.log.open(id.clone());
                    ctx.screen.set(Screen::Logs);
                }>"View the build log"</button>
            });
            let progress = state.running.then(|| {
                let snapshot = state.snapshot.clone();
                let fraction = snapshot.as_ref().map_or(0.0, |s| s.fraction);
                let text = snapshot.as_ref().map(progress_text).unwrap_or_else(|| "Starting…".into());
                let building = snapshot.as_ref().is_some_and(|s| s.phase == Phase::Building);
                let job = state.job.clone();
                view! {
                    <div class="progress" id="deploy-progress">
                        <div class="bar" class:indeterminate=building><div class="fill" style:width=format!("{:.1}%", fraction * 100.0)></div></div>
                        <div class="row">
                            <div class="muted" id="deploy-progress-text">{text}</div>
                            <span class="spacer"></span>
                            {job.map(|job| view! {
                                <button class="small danger" id="deploy-cancel" on:click=move |_| {
                                    let job = job.clone();
                                    spawn_local(async move {
                                        if let Err(error) = bridge::run("cancel_deploy", JobArgs { job }).await {
                                            ctx.fail(error);
                                        }
                                    });
                                }>"Cancel"</button>
                            })}
                        </div>
                    </div>
                }
            });
            let done = state.done.clone().map(|(project, deployment, url, built)| {
                let promote = (deployment.clone(), project.clone());
                view! {
                    <div class="result ok" id="deploy-result" data-deployment=deployment.clone()>
                        <p><strong>{if built { "Built and deployed " } else { "Deployed " }}{project.clone()}</strong>" as "<code>{deployment.clone()}</code></p>
                        <p>"Preview: "<span id="deploy-preview-url"><UrlActions url=url/></span></p>
                        <div class="row">
                            <button class="primary" id="deploy-promote" on:click=move |_| ctx.confirm.set(Some(Confirm {
                                question: format!("Make {} what {} serves in production?", promote.0, promote.1),
                                action: Action::Promote { deployment: promote.0.clone(), project: promote.1.clone() },
                            }))>"Promote to production"</button>
                            <button id="deploy-open-project" on:click=move |_| ctx.screen.set(Screen::Project(project.clone()))>"Open the project"</button>
                        </div>
                    </div>
                }
            });
            let error = state.error.clone().map(|error| view! {
                <div class="result failed" id="deploy-error">
                    <p><strong>{error.message.clone()}</strong></p>
                    <p class="hint">{error.hint.clone()}</p>
                </div>
            });
            view! { {progress} {done} {error} {log_link} }
        }}
    }
}

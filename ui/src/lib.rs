//! Pier's desktop UI: Leptos 0.8 rendered in the browser (CSR), compiled to wasm and served
//! by the Tauri shell. Screens: Projects, Project, Deploy, Watch, Logs, Domains, AWS setup,
//! Settings, each a keyboard shortcut away ([`shortcuts`]). State lives
//! in signals shared through [`Ctx`]; the engine's events (deploy progress, watch states,
//! log records) update it, so long work never blocks the window.

pub mod ansi;
pub mod bridge;
pub mod format;
pub mod screens;
pub mod shortcuts;
pub mod types;
pub mod update_banner;

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::prelude::*;

use screens::confirm::{Confirm, ConfirmDialog};
use screens::deploy::DeployState;
use screens::logs::LogState;
use types::{AppEvent, AppInfo, Dropped, ProjectView, UserError, WatchView};

#[derive(Debug, Clone, PartialEq)]
pub enum Screen {
    Projects,
    Project(String),
    Deploy,
    Watch,
    Logs,
    Domains,
    Setup,
    Settings,
}

/// Everything the screens share; all signals, so it is `Copy`.
#[derive(Clone, Copy)]
pub struct Ctx {
    pub screen: RwSignal<Screen>,
    pub projects: RwSignal<Vec<ProjectView>>,
    /// The error banner: what went wrong and what to do.
    pub error: RwSignal<Option<UserError>>,
    pub notice: RwSignal<Option<String>>,
    /// Bumped whenever deployments change; lists reload on it.
    pub revision: RwSignal<u64>,
    pub deploy: RwSignal<DeployState>,
    pub watches: RwSignal<Vec<WatchView>>,
    pub log: LogState,
    pub confirm: RwSignal<Option<Confirm>>,
    pub info: RwSignal<Option<AppInfo>>,
    pub dragging: RwSignal<bool>,
    pub setup: RwSignal<screens::setup_run::SetupState>,
    pub domain_run: RwSignal<screens::domains::DomainRun>,
}

impl Ctx {
    pub fn fail(&self, error: UserError) {
        self.error.set(Some(error));
    }

    pub fn say(&self, notice: impl Into<String>) {
        self.notice.set(Some(notice.into()));
    }

    pub fn reload_info(&self) {
        let ctx = *self;
        spawn_local(async move {
            match bridge::call::<AppInfo>("app_info", bridge::NoArgs {}).await {
                Ok(info) => {
                    if let Some(problem) = info.startup_problem.clone() {
                        ctx.fail(problem);
                    }
                    ctx.info.set(Some(info));
                }
                Err(error) => ctx.fail(error),
            }
        });
    }
}

/// Brings a result the user just asked for into view once it is drawn (a report below the
/// fold is a report not seen).
pub fn reveal(id: &'static str) {
    request_animation_frame(move || {
        if let Some(element) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(id))
        {
            element.scroll_into_view();
        }
    });
}

/// Milliseconds since the Unix epoch, as the engine stamps its times.
pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

fn on_event(ctx: Ctx, event: AppEvent) {
    match event {
        AppEvent::DeployProgress(snapshot) => {
            let before = ctx.deploy.with_untracked(|d| d.log.clone());
            ctx.deploy.update(|d| d.progress(snapshot));
            // The Deploy screen's job has just become a build with a log of its own.
            let after = ctx.deploy.with_untracked(|d| d.log.clone());
            if let Some(build) = after.filter(|build| before.as_ref() != Some(build)) {
                screens::logs::build_started(ctx, build);
            }
        }
        AppEvent::DeployFinished {
            job,
            project,
            deployment,
            preview_url,
            built,
        } => {
            let open = ctx.deploy.with_untracked(|d| d.opens(&job));
            if open {
                screens::url_actions::open(ctx, preview_url.clone());
            }
            ctx.deploy
                .update(|d| d.finished(job, project, deployment, preview_url, built));
            ctx.revision.update(|r| *r += 1);
        }
        AppEvent::DeployFailed {
            job,
            deployment,
            error,
            ..
        } => {
            ctx.deploy.update(|d| d.failed(job, deployment, error));
            ctx.revision.update(|r| *r += 1);
        }
        AppEvent::Changed { .. } => ctx.revision.update(|r| *r += 1),
        AppEvent::Watch(view) => {
            ctx.watches.update(
                |watches| match watches.iter_mut().find(|w| w.dir == view.dir) {
                    Some(existing) => *existing = view,
                    None => watches.push(view),
                },
            )
        }
        AppEvent::LogRecords {
            deployment,
            records,
        } => match records.records() {
            Ok(records) => ctx.log.append(&deployment, records),
            Err(error) => {
                web_sys::console::warn_1(&format!("unreadable log records: {error}").into())
            }
        },
        AppEvent::LogEnded { deployment, error } => ctx.log.ended(&deployment, error),
        AppEvent::LogReconnecting { deployment } => ctx.log.reconnecting(&deployment),
        AppEvent::TargetChanged => {
            ctx.reload_info();
            ctx.watches.set(Vec::new());
            screens::watch::reload(ctx);
        }
        AppEvent::SetupStep { run, change } => ctx.setup.update(|s| s.step(run, change)),
        AppEvent::SetupEnded { outcome, error, .. } => {
            ctx.setup.update(|s| s.ended(outcome, error));
            reveal("setup-result");
        }
        AppEvent::DomainStep { domain, step } => {
            ctx.domain_run.update(|r| r.step(domain, step));
        }
        AppEvent::DomainEnded {
            domain,
            attached,
            error,
        } => {
            ctx.domain_run.update(|r| r.ended(domain, attached, error));
            ctx.revision.update(|r| *r += 1);
        }
    }
}

#[component]
fn App() -> impl IntoView {
    let ctx = Ctx {
        screen: RwSignal::new(Screen::Projects),
        projects: RwSignal::new(Vec::new()),
        error: RwSignal::new(None),
        notice: RwSignal::new(None),
        revision: RwSignal::new(0),
        deploy: RwSignal::new(DeployState::default()),
        watches: RwSignal::new(Vec::new()),
        log: LogState::new(),
        confirm: RwSignal::new(None),
        info: RwSignal::new(None),
        dragging: RwSignal::new(false),
        setup: RwSignal::new(Default::default()),
        domain_run: RwSignal::new(Default::default()),
    };
    provide_context(ctx);
    bridge::listen("pier://event", move |event: AppEvent| on_event(ctx, event));
    // The shell handles native drops (the same function as the Deploy screen's button) and
    // says which job started, or why nothing did.
    bridge::listen("pier://dropped", move |dropped: Dropped| {
        ctx.dragging.set(false);
        ctx.screen.set(Screen::Deploy);
        match (dropped.job, dropped.error) {
            (Some(job), _) => ctx.deploy.update(|d| d.started(job)),
            (None, Some(error)) => ctx.deploy.update(|d| d.refused(error)),
            (None, None) => {}
        }
    });
    bridge::listen("tauri://drag-enter", move |_: serde_json::Value| {
        ctx.dragging.set(true)
    });
    bridge::listen("tauri://drag-leave", move |_: serde_json::Value| {
        ctx.dragging.set(false)
    });
    ctx.reload_info();
    screens::watch::reload(ctx);

    shortcuts::install(ctx);
    let modifier = shortcuts::modifier();
    let nav = move |number: usize, (screen, id, label): (Screen, &'static str, &'static str)| {
        let target = screen.clone();
        let keys = format!("{modifier}+{number}");
        let title = format!(
            "{label} ({}+{number})",
            if modifier == "Meta" { "⌘" } else { "Ctrl" }
        );
        view! {
            <button
                id=id
                aria-keyshortcuts=keys
                title=title
                class="nav"
                class:active=move || {
                    let current = ctx.screen.get();
                    current == target
                        || (matches!(target, Screen::Projects) && matches!(current, Screen::Project(_)))
                }
                on:click=move |_| {
                    ctx.notice.set(None);
                    ctx.screen.set(screen.clone());
                }
            >
                {label}
            </button>
        }
    };
    view! {
        <div id="app" class:dragging=move || ctx.dragging.get() data-ready="true">
            <nav class="sidebar">
                <div class="brand">"Pier"</div>
                {shortcuts::sidebar()
                    .into_iter()
                    .enumerate()
                    .map(|(index, entry)| nav(index + 1, entry))
                    .collect_view()}
                <div class="serving">
                    {move || ctx.info.get().map(|info| view! {
                        <div class="muted small" id="store-label" title=info.store.clone()>{info.store.clone()}</div>
                        <div class="muted small">{info.serve_url.clone()}</div>
                    })}
                </div>
            </nav>
            <main>
                <update_banner::UpdateBanner/>
                {move || ctx.error.get().map(|error| view! {
                    <div class="banner error" id="error-banner" data-code=error.code.clone()>
                        <div><strong>{error.message.clone()}</strong></div>
                        <div class="hint">{error.hint.clone()}</div>
                        {error.wants_settings().then(|| view! {
                            <button class="link" id="error-open-settings" on:click=move |_| {
                                ctx.error.set(None);
                                ctx.screen.set(Screen::Settings);
                            }>"Open Settings"</button>
                        })}
                        <button class="link" on:click=move |_| ctx.error.set(None)>"Dismiss"</button>
                    </div>
                })}
                {move || ctx.notice.get().map(|notice| view! {
                    <div class="banner notice" id="notice-banner">
                        <span>{notice}</span>
                        <button class="link" on:click=move |_| ctx.notice.set(None)>"Dismiss"</button>
                    </div>
                })}
                {move || match ctx.screen.get() {
                    Screen::Projects => view! { <screens::projects::Projects/> }.into_any(),
                    Screen::Project(name) => view! { <screens::project::Project name=name/> }.into_any(),
                    Screen::Deploy => view! { <screens::deploy::Deploy/> }.into_any(),
                    Screen::Watch => view! { <screens::watch::Watch/> }.into_any(),
                    Screen::Logs => view! { <screens::logs::Logs/> }.into_any(),
                    Screen::Domains => view! { <screens::domains::Domains/> }.into_any(),
                    Screen::Setup => view! { <screens::setup::Setup/> }.into_any(),
                    Screen::Settings => view! { <screens::settings::Settings/> }.into_any(),
                }}
            </main>
            <ConfirmDialog/>
        </div>
    }
}

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook_lite();
    leptos::mount::mount_to_body(App);
}

/// Panics show in the devtools console instead of as `unreachable`.
fn console_error_panic_hook_lite() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&info.to_string().into());
    }));
}

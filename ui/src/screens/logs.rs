//! Logs: recent builds (project, status, when, how long; failed ones marked), and a live
//! viewer for the build clicked, or for what a project's functions print (their output,
//! followed live). A build that starts while this screen is open is followed at once. The
//! viewer follows as lines arrive, shows ANSI colours, marks stderr, searches and filters, pauses and follows, jumps to the first error, and
//! stays smooth at 100,000 lines because only the rows in view exist in the DOM (fixed-height
//! rows over a spacer). Records carry `seq`, so reconnecting asks for everything after the
//! last one held and never loses or repeats a line. Batches that arrive between two frames
//! (a backlog, a reconnect's catch-up) are drawn once, on the next animation frame, instead
//! of once per batch.

use std::sync::OnceLock;

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Serialize;

use crate::types::{BuildStatus, BuildSummary, LogKind, LogRecord, LogStream, UserError};
use crate::{Ctx, ansi, bridge, format, now_ms};

/// How often the list of builds is read again while the screen is open (builds run elsewhere
/// too: on builder tasks, or another machine).
const BUILDS_REFRESH_MS: u32 = 4000;

/// Row height in pixels; the stylesheet's `.log-line` uses the same.
const ROW: f64 = 18.0;
/// Rows rendered above and below the visible ones, so fast scrolling shows no gaps.
const OVERSCAN: usize = 10;

#[derive(Debug, Clone)]
pub struct Line {
    pub seq: u64,
    pub stream: LogStream,
    pub text: String,
    /// Lower-case text without escapes, for search and "first error": worked out the first
    /// time either asks, so following a build costs nothing per line for them.
    plain: OnceLock<String>,
}

impl Line {
    fn from_record(record: LogRecord) -> Line {
        let (stream, text) = match record.kind {
            LogKind::Line { stream, text } => (stream, text),
            LogKind::Status { status, message } => (
                LogStream::System,
                match message {
                    Some(message) => format!("── {status}: {message}"),
                    None => format!("── {status}"),
                },
            ),
        };
        Line {
            seq: record.seq,
            plain: OnceLock::new(),
            stream,
            text,
        }
    }

    fn plain(&self) -> &str {
        self.plain
            .get_or_init(|| ansi::plain(&self.text).to_lowercase())
    }

    fn is_error(&self) -> bool {
        self.stream == LogStream::Stderr
            || self.plain().contains("error")
            || self.plain().contains("── failed")
    }
}

#[derive(Clone, Copy)]
pub struct LogState {
    pub deployment: RwSignal<String>,
    pub lines: RwSignal<Vec<Line>>,
    /// Indexes into `lines` that pass the search and filter.
    pub shown: RwSignal<Vec<u32>>,
    pub search: RwSignal<String>,
    /// `all`, `stdout`, `stderr` or `system`.
    pub filter: RwSignal<String>,
    pub following: RwSignal<bool>,
    /// `idle`, `following`, `ended`, `reconnecting`.
    pub status: RwSignal<String>,
    pub error: RwSignal<Option<UserError>>,
    pub scroll_top: RwSignal<f64>,
    /// Set when the view should jump to a row (first error).
    pub jump: RwSignal<Option<usize>>,
    /// Records received since the last frame, not yet drawn; a flush is due whenever this
    /// is not empty.
    pending: StoredValue<Vec<LogRecord>>,
}

#[derive(Serialize)]
struct FollowArgs {
    deployment: String,
    after: u64,
}

#[derive(Serialize)]
struct FunctionsArgs {
    project: String,
    after: u64,
}

/// What names a project's function output in the id box (the engine's `functions_log_name`).
const FUNCTIONS_PREFIX: &str = "functions:";

impl LogState {
    pub fn new() -> LogState {
        LogState {
            deployment: RwSignal::new(String::new()),
            lines: RwSignal::new(Vec::new()),
            shown: RwSignal::new(Vec::new()),
            search: RwSignal::new(String::new()),
            filter: RwSignal::new("all".into()),
            following: RwSignal::new(true),
            status: RwSignal::new("idle".into()),
            error: RwSignal::new(None),
            scroll_top: RwSignal::new(0.0),
            jump: RwSignal::new(None),
            pending: StoredValue::new(Vec::new()),
        }
    }

    fn passes(&self, line: &Line, search: &str, filter: &str) -> bool {
        // The filter is `all` or a stream's wire name (the select's option values).
        let stream_ok = filter == "all" || line.stream.name() == filter;
        stream_ok && (search.is_empty() || line.plain().contains(search))
    }

    fn refilter(&self) {
        let search = self.search.get_untracked().to_lowercase();
        let filter = self.filter.get_untracked();
        let shown: Vec<u32> = self.lines.with_untracked(|lines| {
            lines
                .iter()
                .enumerate()
                .filter(|(_, line)| self.passes(line, &search, &filter))
                .map(|(i, _)| i as u32)
                .collect()
        });
        self.shown.set(shown);
    }

    /// Starts following a deployment's log from the start.
    pub fn open(&self, deployment: String) {
        self.deployment.set(deployment.clone());
        self.lines.set(Vec::new());
        self.shown.set(Vec::new());
        self.pending.update_value(Vec::clear);
        self.error.set(None);
        self.following.set(true);
        self.follow_from(0);
    }

    /// Follows `deployment` unless a live log is being followed already.
    fn open_unless_following(&self, deployment: String) {
        if self.status.get_untracked() != "following" {
            self.open(deployment);
        }
    }

    /// Follows from just after `after` (0: from the start). A name `functions:<project>` is a
    /// project's function output rather than a build's log.
    pub fn follow_from(&self, after: u64) {
        let state = *self;
        let deployment = self.deployment.get_untracked().trim().to_string();
        if deployment.is_empty() {
            return;
        }
        state.status.set("following".into());
        spawn_local(async move {
            let followed = match deployment.strip_prefix(FUNCTIONS_PREFIX) {
                Some(project) => {
                    let project = project.to_string();
                    bridge::run("follow_functions", FunctionsArgs { project, after }).await
                }
                None => bridge::run("follow_log", FollowArgs { deployment, after }).await,
            };
            if let Err(error) = followed {
                state.error.set(Some(error));
                state.status.set("ended".into());
            }
        });
    }

    /// Reconnects, asking only for the lines after the last one held.
    pub fn reconnect(&self) {
        self.flush();
        let last = self
            .lines
            .with_untracked(|lines| lines.last().map_or(0, |l| l.seq));
        self.error.set(None);
        self.follow_from(last);
    }

    /// Queues a batch for the next frame.
    pub fn append(&self, deployment: &str, records: Vec<LogRecord>) {
        if deployment != self.deployment.get_untracked().trim() {
            return;
        }
        let mut was_empty = false;
        self.pending.update_value(|pending| {
            was_empty = pending.is_empty();
            pending.extend(records);
        });
        if was_empty {
            let state = *self;
            request_animation_frame(move || state.flush());
        }
    }

    /// Turns every queued record into a line and updates the view once.
    fn flush(&self) {
        let started = bridge::busy_since();
        let records = self
            .pending
            .try_update_value(std::mem::take)
            .unwrap_or_default();
        if records.is_empty() {
            return;
        }
        let search = self.search.get_untracked().to_lowercase();
        let filter = self.filter.get_untracked();
        let mut added = Vec::new();
        self.lines.update(|lines| {
            for record in records {
                if lines.last().is_some_and(|l| record.seq <= l.seq) {
                    continue;
                }
                let line = Line::from_record(record);
                if self.passes(&line, &search, &filter) {
                    added.push(lines.len() as u32);
                }
                lines.push(line);
            }
        });
        if !added.is_empty() {
            self.shown.update(|shown| shown.extend(added));
        }
        if self.status.get_untracked() == "reconnecting" {
            self.status.set("following".into());
        }
        bridge::note_busy("log flush", started);
        // Leptos redraws the rows in tasks queued by the updates above; this one runs after.
        spawn_local(async move { bridge::note_busy("log flush and redraw", started) });
    }

    pub fn ended(&self, deployment: &str, error: Option<UserError>) {
        if deployment != self.deployment.get_untracked().trim() {
            return;
        }
        match error {
            Some(error) if error.message.ends_with("(still trying)") => self.error.set(Some(error)),
            Some(error) => {
                self.error.set(Some(error));
                self.status.set("ended".into());
            }
            None => self.status.set("ended".into()),
        }
    }

    pub fn reconnecting(&self, deployment: &str) {
        if deployment == self.deployment.get_untracked().trim() {
            self.status.set("reconnecting".into());
        }
    }

    fn first_error(&self) -> Option<usize> {
        let shown = self.shown.get_untracked();
        self.lines
            .with_untracked(|lines| shown.iter().position(|&i| lines[i as usize].is_error()))
    }
}

impl Default for LogState {
    fn default() -> Self {
        LogState::new()
    }
}

fn render_row(position: usize, line: &Line) -> impl IntoView + use<> {
    let mut html = format!(r#"<span class="seq">{}</span>"#, line.seq);
    if line.stream == LogStream::Stderr {
        html.push_str(r#"<span class="stream-mark" title="stderr">E</span>"#);
    }
    html.push_str(&ansi::html(&line.text));
    view! {
        <div
            class="log-line"
            class:stderr=line.stream == LogStream::Stderr
            class:system=line.stream == LogStream::System
            style:top=format!("{}px", position as f64 * ROW)
            data-seq=line.seq
            inner_html=html
        ></div>
    }
}

/// A build this window started is under way: the list shows it, and an open Logs screen
/// that is not following another live log follows it.
pub fn build_started(ctx: Ctx, deployment: String) {
    ctx.revision.update(|r| *r += 1);
    if ctx.screen.get_untracked() == crate::Screen::Logs {
        ctx.log.open_unless_following(deployment);
    }
}

/// Reads the recent builds into `builds`.
fn reload_builds(ctx: Ctx, builds: RwSignal<Option<Vec<BuildSummary>>>) {
    spawn_local(async move {
        match bridge::call::<Vec<BuildSummary>>("builds", bridge::NoArgs {}).await {
            Ok(list) => builds.set(Some(list)),
            Err(error) => ctx.log.error.set(Some(error)),
        }
    });
}

/// "2 min ago · 41 s", or "· running" for a build still going.
fn when(build: &BuildSummary, now: i64) -> String {
    let took = match build.ended_ms {
        Some(ended) => format::duration_ms(ended.saturating_sub(build.started_ms).max(0) as u64),
        None => "running".into(),
    };
    format!("{} · {took}", format::age(build.started_ms, now))
}

/// The recent builds, newest first: a click follows one.
#[component]
fn RecentBuilds() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let log = ctx.log;
    let builds = RwSignal::new(None::<Vec<BuildSummary>>);
    Effect::new(move |_| {
        ctx.revision.track();
        reload_builds(ctx, builds);
    });
    let refresh = set_interval_with_handle(
        move || reload_builds(ctx, builds),
        std::time::Duration::from_millis(BUILDS_REFRESH_MS.into()),
    )
    .ok();
    on_cleanup(move || {
        if let Some(refresh) = refresh {
            refresh.clear();
        }
    });
    view! {
        <aside class="builds" aria-label="Recent builds">
            <h2>"Recent builds"</h2>
            {move || match builds.get() {
                None => view! { <p class="muted small">"Reading…"</p> }.into_any(),
                Some(list) if list.is_empty() => view! {
                    <p class="muted small" id="builds-empty">"No builds yet. A source tree (with a build script) dropped on the window is built first, and its log shows here."</p>
                }.into_any(),
                Some(list) => {
                    let now = now_ms();
                    view! {
                        <ul class="build-list" id="builds-list">
                            {list.into_iter().map(|build| {
                                let id = build.deployment.clone();
                                let current = id.clone();
                                let failed = build.status == BuildStatus::Failed;
                                let label = format!(
                                    "{}, {}, {}",
                                    build.project,
                                    build.status,
                                    when(&build, now)
                                );
                                view! {
                                    <li>
                                        <button
                                            class="build"
                                            class:failed=failed
                                            class:current=move || log.deployment.with(|d| d.trim() == current)
                                            data-deployment=id.clone()
                                            data-status=build.status.name()
                                            aria-label=label
                                            title=build.message.clone().unwrap_or_else(|| id.clone())
                                            on:click=move |_| log.open(id.clone())
                                        >
                                            <span class="build-project">{build.project.clone()}</span>
                                            <span class=format!("badge status-{}", build.status.name())>{build.status.to_string()}</span>
                                            <span class="muted small build-when">{when(&build, now)}</span>
                                        </button>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }
            }}
        </aside>
    }
}

#[component]
pub fn Logs() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let log = ctx.log;
    // Opened while this window's build runs, and following nothing live: follow the build.
    let running_build = ctx
        .deploy
        .with_untracked(|d| d.running.then(|| d.log.clone()).flatten());
    if let Some(build) = running_build {
        log.open_unless_following(build);
    }
    let viewport = NodeRef::<leptos::html::Div>::new();
    let functions_project = RwSignal::new(String::new());
    let height = RwSignal::new(560.0);
    // Follow: after new rows, keep the newest in view.
    Effect::new(move |_| {
        let count = log.shown.with(Vec::len);
        if log.following.get()
            && let Some(element) = viewport.get()
        {
            let bottom = (count as f64 * ROW - element.client_height() as f64).max(0.0);
            element.set_scroll_top(bottom as i32);
            log.scroll_top.set(bottom);
        }
    });
    Effect::new(move |_| {
        if let Some(row) = log.jump.get()
            && let Some(element) = viewport.get()
        {
            let top = (row as f64 * ROW - 3.0 * ROW).max(0.0);
            element.set_scroll_top(top as i32);
            log.scroll_top.set(top);
        }
    });
    // Which rows are in view changes only when the first visible row does, not on every
    // pixel of scrolling; rows already on screen are kept (keyed by position and seq), so a
    // batch of new lines creates only the new rows.
    let first_row =
        Memo::new(move |_| ((log.scroll_top.get() / ROW) as usize).saturating_sub(OVERSCAN));
    let row_count = Memo::new(move |_| (height.get() / ROW) as usize + 2 * OVERSCAN);
    let visible_rows = move || {
        let (first, count) = (first_row.get(), row_count.get());
        log.shown.with(|shown| {
            log.lines.with(|lines| {
                shown
                    .iter()
                    .enumerate()
                    .skip(first)
                    .take(count)
                    .map(|(position, &index)| (position, lines[index as usize].clone()))
                    .collect::<Vec<_>>()
            })
        })
    };
    let jump_to_error = move |_| match log.first_error() {
        Some(row) => {
            log.following.set(false);
            log.jump.set(Some(row));
        }
        None => ctx.say("No error in the lines shown"),
    };
    view! {
        <h1>"Logs"</h1>
        <div class="logs-layout">
        <RecentBuilds/>
        <section class="log-pane">
        <div class="row form">
            <input id="log-deployment" type="text" aria-label="Deployment id" placeholder="a build's deployment id" prop:value=move || log.deployment.get() on:input=move |ev| log.deployment.set(event_target_value(&ev))/>
            <button id="log-follow" class="primary" on:click=move |_| log.open(log.deployment.get_untracked().trim().to_string())>"Follow"</button>
        </div>
        <div class="row form">
            <input id="log-functions-project" type="text" aria-label="project whose function output to follow" placeholder="a project, for what its functions print" prop:value=move || functions_project.get() on:input=move |ev| functions_project.set(event_target_value(&ev))/>
            <button id="log-follow-functions" on:click=move |_| {
                let project = functions_project.get_untracked().trim().to_string();
                if !project.is_empty() {
                    log.open(format!("{FUNCTIONS_PREFIX}{project}"));
                }
            }>"Function output"</button>
        </div>
        <div class="row toolbar">
            <input id="log-search" type="search" aria-label="Search the log" placeholder="search" prop:value=move || log.search.get() on:input=move |ev| {
                log.search.set(event_target_value(&ev));
                log.refilter();
            }/>
            <select id="log-filter" aria-label="Show streams" on:change=move |ev| {
                log.filter.set(event_target_value(&ev));
                log.refilter();
            }>
                <option value="all">"all output"</option>
                <option value="stdout">"stdout"</option>
                <option value="stderr">"stderr"</option>
                <option value="system">"Pier"</option>
            </select>
            <button id="log-pause" on:click=move |_| log.following.update(|f| *f = !*f)>
                {move || if log.following.get() { "Pause" } else { "Follow" }}
            </button>
            <button id="log-first-error" on:click=jump_to_error>"First error"</button>
            <button id="log-reconnect" on:click=move |_| log.reconnect()>"Reconnect"</button>
            <span class="spacer"></span>
            <span class="muted" id="log-status" data-status=move || log.status.get() data-lines=move || log.lines.with(Vec::len)>
                {move || format!(
                    "{} · {} lines{}",
                    log.status.get(),
                    log.lines.with(Vec::len),
                    if log.following.get() { "" } else { " · paused" },
                )}
            </span>
        </div>
        {move || log.error.get().map(|error| view! {
            <div class="banner error" id="log-error"><strong>{error.message.clone()}</strong><div class="hint">{error.hint.clone()}</div></div>
        })}
        <div
            id="log-view"
            class="log-view"
            node_ref=viewport
            on:scroll=move |_| {
                if let Some(element) = viewport.get() {
                    log.scroll_top.set(element.scroll_top() as f64);
                    height.set(element.client_height() as f64);
                }
            }
            on:wheel=move |ev| {
                if ev.delta_y() < 0.0 {
                    log.following.set(false);
                }
            }
        >
            <div class="log-spacer" style:height=move || format!("{}px", log.shown.with(Vec::len) as f64 * ROW)>
                <For
                    each=visible_rows
                    key=|(position, line)| (*position, line.seq)
                    children=|(position, line)| render_row(position, &line)
                />
            </div>
        </div>
        </section>
        </div>
    }
}

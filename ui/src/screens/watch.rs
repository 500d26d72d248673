//! Watch: add or remove watched folders; each shows its URL, its state (idle, building,
//! deploying, failed) and a history of its deploys. The list is the engine's, kept on disk,
//! so it survives restarts.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Serialize;

use super::url_actions::UrlActions;
use crate::types::WatchView;
use crate::{Ctx, bridge, format, now_ms};

#[derive(Serialize)]
struct AddArgs {
    dir: String,
    build: bool,
}

#[derive(Serialize)]
struct DirArgs {
    dir: String,
}

pub fn reload(ctx: Ctx) {
    spawn_local(async move {
        match bridge::call::<Vec<WatchView>>("watches", bridge::NoArgs {}).await {
            Ok(watches) => ctx.watches.set(watches),
            Err(error) => ctx.fail(error),
        }
    });
}

fn add(ctx: Ctx, dir: String, build: bool) {
    spawn_local(async move {
        match bridge::call::<WatchView>("watch_add", AddArgs { dir, build }).await {
            // The answer is the watch as it started; its first deploy is quick, and that
            // event may already be here. Never let the older snapshot replace it.
            Ok(view) => ctx.watches.update(|watches| {
                if !watches.iter().any(|w| w.dir == view.dir) {
                    watches.push(view);
                }
            }),
            Err(error) => ctx.fail(error),
        }
    });
}

#[component]
pub fn Watch() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let path = RwSignal::new(String::new());
    let build = RwSignal::new(false);
    let pick = move |_| {
        spawn_local(async move {
            match bridge::call::<Option<String>>("pick_folder", bridge::NoArgs {}).await {
                Ok(Some(folder)) => add(ctx, folder, build.get_untracked()),
                Ok(None) => {}
                Err(error) => ctx.fail(error),
            }
        });
    };
    view! {
        <h1>"Watch"</h1>
        <p class="muted">"Every saved change to a watched folder becomes a new deployment at the folder's watch URL."</p>
        <div class="row form">
            <input id="watch-path" type="text" aria-label="Folder to watch" placeholder="a folder's path" prop:value=move || path.get() on:input=move |ev| path.set(event_target_value(&ev))/>
            <label class="check"><input id="watch-build" type="checkbox" prop:checked=move || build.get() on:change=move |ev| build.set(event_target_checked(&ev))/>" build on each change"</label>
            <button id="watch-add" on:click=move |_| add(ctx, path.get_untracked(), build.get_untracked())>"Watch"</button>
            <button id="watch-pick" on:click=pick>"Choose a folder…"</button>
        </div>
        <Show when=move || ctx.watches.with(Vec::is_empty)>
            <p class="muted" id="watch-empty">"No watched folders."</p>
        </Show>
        <div id="watches">
            <For
                each=move || ctx.watches.get()
                key=|w| format!("{w:?}")
                children=move |w| view! { <WatchRow watch=w/> }
            />
        </div>
    }
}

#[component]
fn WatchRow(watch: WatchView) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let dir = watch.dir.clone();
    let state = watch.state;
    view! {
        <div class="card watch-row" data-dir=watch.dir.clone() data-state=state.name()>
            <div class="row">
                <strong>{watch.project.clone()}</strong>
                <span class=format!("badge watch-state status-{state}")>{state.name().replace('_', " ")}</span>
                <span class="spacer"></span>
                <button class="watch-remove danger" on:click=move |_| {
                    let dir = dir.clone();
                    spawn_local(async move {
                        match bridge::run("watch_remove", DirArgs { dir: dir.clone() }).await {
                            Ok(()) => ctx.watches.update(|w| w.retain(|w| w.dir != dir)),
                            Err(error) => ctx.fail(error),
                        }
                    });
                }>"Stop watching"</button>
            </div>
            <div class="muted small">{watch.dir.clone()}</div>
            <div class="watch-url"><UrlActions url=watch.url.clone()/></div>
            {watch.message.clone().map(|m| view! { <div class="hint watch-message">{m}</div> })}
            <ul class="watch-history">
                {watch.history.iter().map(|h| view! {
                    <li data-deployment=h.deployment.clone()>
                        <code>{h.deployment.clone()}</code>
                        {format!(" · {} change{} · live in {} ms · {}", h.changes, if h.changes == 1 { "" } else { "s" }, h.save_to_live_ms, format::age(h.at_ms, now_ms()))}
                    </li>
                }).collect_view()}
            </ul>
        </div>
    }
}

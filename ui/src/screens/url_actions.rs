//! A URL with one-click "open" (the system browser, through the opener plugin) and "copy"
//! (the clipboard plugin), as every list shows them.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Serialize;

use crate::Ctx;
use crate::bridge;

#[derive(Serialize)]
struct UrlArgs {
    url: String,
}

#[derive(Serialize)]
struct TextArgs {
    text: String,
}

/// Opens `url` in the system browser; a failure says to copy it instead.
pub fn open(ctx: Ctx, url: String) {
    spawn_local(async move {
        if let Err(error) = bridge::run("open_url", UrlArgs { url }).await {
            ctx.fail(error);
        }
    });
}

#[component]
pub fn UrlActions(url: String) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let open_url = url.clone();
    let copy_url = url.clone();
    view! {
        <span class="url">
            <a class="url-text" href=url.clone() on:click=move |ev| {
                ev.prevent_default();
                open(ctx, open_url.clone());
            }>{url.clone()}</a>
            <button class="small copy-url" title="Copy the URL" on:click=move |_| {
                let text = copy_url.clone();
                spawn_local(async move {
                    match bridge::run("copy_text", TextArgs { text: text.clone() }).await {
                        Ok(()) => ctx.say(format!("Copied {text}")),
                        Err(error) => ctx.fail(error),
                    }
                });
            }>"Copy"</button>
        </span>
    }
}

//! The update offer: when the shell has found a newer release (at start or by its daily
//! check, `pier://update`), a banner says "Update to X.Y.Z" with the release notes, and one
//! click installs it and restarts the app. Nothing is installed without that click. A
//! refused update (a bad signature, a failed install) shows why in the error banner, and the
//! offer goes away: the running version stays.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::types::UpdateOffer;
use crate::{Ctx, bridge};

#[component]
pub fn UpdateBanner() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let offer = RwSignal::new(None::<UpdateOffer>);
    let installing = RwSignal::new(false);
    bridge::listen("pier://update", move |found: UpdateOffer| {
        offer.set(Some(found))
    });
    // The check may have answered before this window listened.
    spawn_local(async move {
        if let Ok(Some(found)) =
            bridge::call::<Option<UpdateOffer>>("update_offered", bridge::NoArgs {}).await
        {
            offer.set(Some(found));
        }
    });
    let install = move |_| {
        installing.set(true);
        spawn_local(async move {
            // On success the app restarts as the new version and this never returns.
            if let Err(error) = bridge::run("update_install", bridge::NoArgs {}).await {
                offer.set(None);
                ctx.fail(error);
            }
            installing.set(false);
        });
    };
    move || {
        offer.get().map(|found| {
            let title = format!("Update to {}", found.version);
            let button_label = title.clone();
            view! {
                <section class="banner update" id="update-banner" data-version=found.version.clone()
                    aria-label=title.clone()>
                    <div>
                        <strong>{format!("Pier {} is available", found.version)}</strong>
                        <span class="muted">{format!(" (this is {})", found.current_version)}</span>
                    </div>
                    {found.notes.clone().map(|notes| view! {
                        <div class="update-notes" id="update-notes">{notes}</div>
                    })}
                    <div class="row">
                        <button class="primary" id="update-install"
                            disabled=move || installing.get() on:click=install>
                            {move || if installing.get() { "Installing…".to_string() } else { button_label.clone() }}
                        </button>
                        <button class="link" id="update-later" on:click=move |_| offer.set(None)>"Later"</button>
                    </div>
                </section>
            }
        })
    }
}

//! Settings: the target (the embedded default, or AWS with a profile from `~/.aws/config`,
//! a region, a bucket and an endpoint override), the Redis URL, the base URL. The Redis
//! password is write-only here: it goes to the OS keychain and never comes back; the screen
//! only learns whether one is saved. "Test connection" reports each check with what to do.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Serialize;

use super::profile_picker::ProfilePicker;
use super::text_field::text_field;
use crate::types::{CheckReport, SettingsForm, SettingsView};
use crate::{Ctx, bridge};

#[derive(Serialize)]
struct FormArgs {
    form: SettingsForm,
}

#[component]
pub fn Settings() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let form = RwSignal::new(SettingsForm::default());
    // What the engine last said of the saved settings: where deployments go, and whether the
    // keychain holds a Redis password (the password itself never comes back).
    let saved = RwSignal::new(SettingsView::default());
    let report = RwSignal::new(None::<CheckReport>);
    let busy = RwSignal::new(false);
    spawn_local(async move {
        match bridge::call::<SettingsView>("settings", bridge::NoArgs {}).await {
            Ok(loaded) => {
                form.set(loaded.form.clone());
                saved.set(loaded);
            }
            Err(error) => ctx.fail(error),
        }
    });
    let test = move |_| {
        busy.set(true);
        report.set(None);
        spawn_local(async move {
            match bridge::call::<CheckReport>(
                "test_connection",
                FormArgs {
                    form: form.get_untracked(),
                },
            )
            .await
            {
                Ok(checked) => {
                    report.set(Some(checked));
                    crate::reveal("settings-report");
                }
                Err(error) => ctx.fail(error),
            }
            busy.set(false);
        });
    };
    let save = move |_| {
        busy.set(true);
        spawn_local(async move {
            match bridge::call::<SettingsView>(
                "save_settings",
                FormArgs {
                    form: form.get_untracked(),
                },
            )
            .await
            {
                Ok(view) => {
                    form.set(view.form.clone());
                    saved.set(view);
                    ctx.say("Settings saved; the app now works against them");
                }
                Err(error) => ctx.fail(error),
            }
            busy.set(false);
        });
    };
    let aws = move || form.with(|f| f.target == "aws");
    view! {
        <h1>"Settings"</h1>
        <section class="card">
            <h2>"Where deployments go"</h2>
            <label class="check"><input type="radio" name="target" id="target-embedded" prop:checked=move || !aws() on:change=move |_| form.update(|f| f.target = "embedded".into())/>
                " This machine (the embedded default: no account needed)"</label>
            <label class="check"><input type="radio" name="target" id="target-aws" prop:checked=aws on:change=move |_| form.update(|f| f.target = "aws".into())/>
                " An S3 bucket in your AWS account"</label>
            <Show when=aws>
                <ProfilePicker id="aws-profile" selected=Signal::derive(move || form.with(|f| f.profile.clone())) on_pick=Callback::new(move |v| form.update(|f| f.profile = v))/>
                {text_field(form, "aws-region", "Region", "us-east-1", |f| f.region.clone(), |f, v| f.region = v)}
                {text_field(form, "aws-bucket", "Bucket", "my-sites", |f| f.bucket.clone(), |f, v| f.bucket = v)}
                {text_field(form, "aws-prefix", "Prefix (optional)", "pier", |f| f.prefix.clone(), |f, v| f.prefix = v)}
                {text_field(form, "aws-regions", "Other regions (optional; each bucket is <bucket>-<region>)", "ap-southeast-1, us-west-2", |f| f.regions.clone(), |f, v| f.regions = v)}
                {text_field(form, "aws-endpoint", "Endpoint override (optional)", "http://127.0.0.1:9000", |f| f.endpoint.clone(), |f, v| f.endpoint = v)}
            </Show>
            <p class="muted small">"Now: "<span id="settings-store">{move || saved.with(|s| s.store.clone())}</span></p>
        </section>
        <section class="card">
            <h2>"Live logs and links"</h2>
            {text_field(form, "redis-url", "Redis URL (optional)", "redis://127.0.0.1:6379", |f| f.redis_url.clone(), |f, v| f.redis_url = v)}
            <label class="field">
                <span>"Redis password"</span>
                <input id="redis-password" type="password" autocomplete="off"
                    placeholder=move || if saved.with(|s| s.redis_password_saved) { "saved in the keychain" } else { "none" }
                    on:input=move |ev| { let v = event_target_value(&ev); form.update(|f| f.redis_password = Some(v)); }/>
            </label>
            {text_field(form, "base-url", "Base URL (optional)", "https://sites.example.com", |f| f.base_url.clone(), |f, v| f.base_url = v)}
        </section>
        <div class="row">
            <button id="settings-test" disabled=move || busy.get() on:click=test>"Test connection"</button>
            <button id="settings-save" class="primary" disabled=move || busy.get() on:click=save>"Save"</button>
            {move || busy.get().then(|| view! { <span class="muted">"Checking…"</span> })}
        </div>
        {move || report.get().map(|report| view! {
            <ul class="report" id="settings-report" data-ok=report.ok.to_string()>
                {report.items.into_iter().map(|item| view! {
                    <li class:ok=item.ok class:failed=!item.ok data-what=item.what.clone()>
                        <strong>{if item.ok { "✓ " } else { "✗ " }}{item.message.clone()}</strong>
                        {item.hint.clone().map(|h| view! { <div class="hint">{h}</div> })}
                    </li>
                }).collect_view()}
            </ul>
        })}
    }
}

//! AWS setup: the answers `pier setup aws` asks for (base domain, profile, region, bucket,
//! task limits, log retention), then a plan of what would be made, the apply with each step
//! shown as it ends, and teardown behind a confirmation. The engine keeps a record of what
//! it made, so a run stopped by an error or a closed window resumes where it was.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::confirm::{Action, Confirm};
use super::profile_picker::ProfilePicker;
use super::setup_run::start;
use super::text_field::text_field;
use crate::types::{self, SetupForm, SetupRun};
use crate::{Ctx, bridge};

/// CloudWatch Logs' allowed retentions, in days (the engine refuses others).
const LOG_DAYS: [i32; 12] = [1, 3, 5, 7, 14, 30, 60, 90, 180, 365, 731, 3653];

/// How a step's row says what the run did (or will do) to its resource.
fn verb(action: types::Action, run: SetupRun) -> &'static str {
    match (action, run) {
        (_, SetupRun::Teardown) => "removed",
        (types::Action::Create, SetupRun::Plan) => "will create",
        (types::Action::Update, SetupRun::Plan) => "will update",
        (types::Action::Working, _) => "working…",
        (action, _) => action.verb(false),
    }
}

#[component]
pub fn Setup() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let form = RwSignal::new(SetupForm::default());
    spawn_local(async move {
        match bridge::call::<SetupForm>("setup_form", bridge::NoArgs {}).await {
            Ok(loaded) => form.set(loaded),
            Err(error) => ctx.fail(error),
        }
    });
    let number = move |id: &'static str,
                       label: &'static str,
                       get: fn(&SetupForm) -> u32,
                       set: fn(&mut SetupForm, u32)| {
        view! {
            <input id=id aria-label=label class="count" type="number" min="0" max="100" prop:value=move || form.with(get).to_string() on:input=move |ev| {
                let value = event_target_value(&ev).parse().unwrap_or(0);
                form.update(|f| set(f, value));
            }/>
        }
    };
    let busy = move || ctx.setup.with(|s| s.running);
    let run = move |kind: SetupRun| move |_| start(ctx, form.get_untracked(), kind);
    let teardown = move |_| {
        let form = form.get_untracked();
        ctx.confirm.set(Some(Confirm {
            question: format!(
                "Tear down what Pier set up as `{}`? Services, the load balancer, the \
                 distribution and the records it made are deleted; a bucket that holds \
                 deployments is kept.",
                if form.name.is_empty() {
                    "pier"
                } else {
                    &form.name
                }
            ),
            action: Action::Teardown(form),
        }))
    };
    let bucket_hint = move || {
        form.with(|f| {
            let name = if f.name.is_empty() { "pier" } else { &f.name };
            if f.base_domain.is_empty() {
                format!("{name}-<base domain with dashes>")
            } else {
                format!(
                    "{name}-{}",
                    f.base_domain.trim().to_lowercase().replace('.', "-")
                )
            }
        })
    };
    view! {
        <h1>"AWS setup"</h1>
        <p class="muted">"Makes your AWS account ready for Pier: a private bucket, the build queue, the proxy on ECS Fargate behind a load balancer, CloudFront with a certificate for *.your-domain, and the DNS records. Plan first: nothing changes until you set up."</p>
        <section class="card">
            <h2>"Where"</h2>
            {text_field(form, "setup-domain", "Base domain (its Route53 zone must be in the account)", "sites.example.com", |f| f.base_domain.clone(), |f, v| f.base_domain = v)}
            <ProfilePicker id="setup-profile" selected=Signal::derive(move || form.with(|f| f.profile.clone())) on_pick=Callback::new(move |v| form.update(|f| f.profile = v))/>
            {text_field(form, "setup-region", "Region (empty: the profile's)", "eu-west-1", |f| f.region.clone(), |f, v| f.region = v)}
            {text_field(form, "setup-regions", "Other regions serving the sites (optional)", "ap-southeast-1, us-west-2", |f| f.regions.clone(), |f, v| f.regions = v)}
            <p class="muted small">"The region above is the primary: builds, the build queue and CloudFront live there. Each other region gets its own bucket, load balancer and proxies; CloudFront reaches the nearest healthy one, and every deploy lands in all of them. Remove a region from the list and set up again to tear it down."</p>
            <label class="field">
                <span>"Bucket (empty: the default)"</span>
                <input id="setup-bucket" type="text" placeholder=bucket_hint prop:value=move || form.with(|f| f.bucket.clone()) on:input=move |ev| {
                    let value = event_target_value(&ev);
                    form.update(|f| f.bucket = value);
                }/>
            </label>
            {text_field(form, "setup-name", "Name prefix of every resource", "pier", |f| f.name.clone(), |f, v| f.name = v)}
        </section>
        <section class="card">
            <h2>"Limits"</h2>
            <div class="row">
                <span class="limit-label">"Proxy tasks"</span>
                {number("setup-proxy-min", "Proxy tasks, at least", |f| f.proxy_min, |f, v| f.proxy_min = v)}
                <span>"to"</span>
                {number("setup-proxy-max", "Proxy tasks, at most", |f| f.proxy_max, |f, v| f.proxy_max = v)}
            </div>
            <div class="row">
                <span class="limit-label">"Builders"</span>
                {number("setup-builders-min", "Builders, at least", |f| f.builders_min, |f, v| f.builders_min = v)}
                <span>"to"</span>
                {number("setup-builders-max", "Builders, at most", |f| f.builders_max, |f, v| f.builders_max = v)}
                <span class="muted small">"0 lets the fleet sleep when no build waits"</span>
            </div>
            <div class="row">
                <span class="limit-label">"Keep task logs"</span>
                <select id="setup-log-days" aria-label="Keep task logs" on:change=move |ev| {
                    let days = event_target_value(&ev).parse().unwrap_or(30);
                    form.update(|f| f.log_days = days);
                }>
                    {LOG_DAYS.iter().map(|days| {
                        let days = *days;
                        view! { <option value=days.to_string() selected=move || form.with(|f| f.log_days == days)>{format!("{days} days")}</option> }
                    }).collect_view()}
                </select>
            </div>
        </section>
        <div class="row">
            <button id="setup-plan" disabled=busy on:click=run(SetupRun::Plan)>"Plan"</button>
            <button id="setup-apply" class="primary" disabled=busy on:click=run(SetupRun::Apply)>"Set up"</button>
            <span class="spacer"></span>
            <button id="setup-teardown" class="danger" disabled=busy on:click=teardown>"Tear down…"</button>
        </div>
        {move || ctx.setup.get().going().map(|run| view! {
            <div class="progress" id="setup-running">
                <div class="bar indeterminate"><div class="fill"></div></div>
                <div class="muted small">{match run { SetupRun::Plan => "Looking at your account…", SetupRun::Apply => "Setting up; each step shows as it ends…", SetupRun::Teardown => "Tearing down…" }}</div>
            </div>
        })}
        <div id="setup-result"></div>
        {move || ctx.setup.get().error.map(|error| view! {
            <div class="result failed" id="setup-error">
                <strong>{error.message.clone()}</strong>
                <div class="hint">{error.hint.clone()}</div>
                <div class="hint">"What was made so far is recorded; running again continues from there."</div>
            </div>
        })}
        {move || ctx.setup.get().outcome.map(|outcome| {
            let message = match (outcome.run, outcome.waiting, outcome.switched) {
                (SetupRun::Plan, _, _) => format!("Plan for {} in {}: nothing was changed. Set up to apply it.", outcome.base_domain, outcome.region),
                (SetupRun::Apply, true, _) => "Some steps wait on something outside Pier (marked waiting). Run Set up again in a minute to continue.".to_string(),
                (SetupRun::Apply, false, true) => format!("Done. The app now deploys to s3://{} and links to https://<project>.{}.", outcome.bucket, outcome.base_domain),
                (SetupRun::Apply, false, false) => "Done.".to_string(),
                (SetupRun::Teardown, _, true) => "Torn down. The bucket is gone, so the app is back on this machine's store.".to_string(),
                (SetupRun::Teardown, _, false) => "Torn down: what setup made is removed; nothing else was touched.".to_string(),
            };
            view! {
                <div class="result ok" id="setup-outcome" data-run=outcome.run.name() data-waiting=outcome.waiting.to_string() data-switched=outcome.switched.to_string()>
                    <strong>{message}</strong>
                    <div class="muted small">"Record: "<code>{outcome.record.clone()}</code></div>
                </div>
            }
        })}
        <Show when=move || ctx.setup.with(|s| !s.steps.is_empty())>
            <table class="list" id="setup-steps">
                <thead><tr><th>"Resource"</th><th>"Name"</th><th></th></tr></thead>
                <tbody>
                    {move || {
                        let state = ctx.setup.get();
                        let run = state.run.unwrap_or(SetupRun::Plan);
                        state.steps.into_iter().map(|change| view! {
                            <tr class="setup-step" data-resource=change.resource.clone() data-action=change.action.name() data-region=change.region.clone().unwrap_or_default()>
                                <td class="nowrap">{change.resource.clone()}{change.region.clone().map(|region| view! { <div class="muted small step-region">{region}</div> })}</td>
                                <td><code>{change.name.clone()}</code>{change.detail.clone().map(|d| view! { <div class="muted small">{d}</div> })}</td>
                                <td class="nowrap"><span class=format!("badge action-{}", change.action)>{verb(change.action, run)}</span></td>
                            </tr>
                        }).collect_view()
                    }}
                </tbody>
            </table>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screens::setup_run::SetupState;
    use crate::types::{Change, UserError};

    #[test]
    fn the_steps_of_a_failed_apply_still_say_what_was_done() {
        let mut state = SetupState::default();
        state.step(
            SetupRun::Apply,
            Change::new("bucket", "sites", types::Action::Create),
        );
        assert_eq!(state.going(), Some(SetupRun::Apply));
        state.ended(None, Some(UserError::new("AccessDenied", "check the role")));
        assert_eq!(state.going(), None);
        assert_eq!(state.run, Some(SetupRun::Apply));
        assert_eq!(verb(state.steps[0].action, SetupRun::Apply), "created");
        assert_eq!(verb(types::Action::Create, SetupRun::Plan), "will create");
    }
}

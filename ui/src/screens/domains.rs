//! Domains: put a project on a domain of your own. The wizard finds the Route53 zone, gets
//! an ACM certificate (creating its validation records and waiting for it), adds the domain
//! to the CloudFront distribution, writes the A/AAAA records and attaches the domain in the
//! store; each step shows as it ends. Listed domains can be verified (with public-DNS
//! diagnostics: delegation, CAA, propagation) or removed. Progress is kept in the store, so
//! a stopped wizard resumes, from here or from `pier domains add`.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Serialize;

use super::confirm::{Action, Confirm};
use super::url_actions::UrlActions;
use crate::types::{DomainsView, StepReport, StepStatus, UserError};
use crate::{Ctx, bridge};

/// The wizard run in progress or last ended; kept in [`Ctx`] so leaving the screen loses
/// nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DomainRun {
    pub domain: Option<String>,
    pub running: bool,
    pub steps: Vec<StepReport>,
    pub attached: Option<bool>,
    pub error: Option<UserError>,
}

impl DomainRun {
    /// Polls of the certificate repeat a step: the newest report replaces the older one.
    pub fn step(&mut self, domain: String, step: StepReport) {
        if self.domain.as_deref() != Some(domain.as_str()) {
            *self = DomainRun {
                domain: Some(domain),
                running: true,
                ..DomainRun::default()
            };
        }
        match self.steps.iter_mut().find(|s| s.step == step.step) {
            Some(existing) => *existing = step,
            None => self.steps.push(step),
        }
    }

    pub fn ended(&mut self, domain: String, attached: bool, error: Option<UserError>) {
        if self.domain.as_deref() != Some(domain.as_str()) {
            self.steps.clear();
            self.domain = Some(domain);
        }
        self.running = false;
        self.attached = Some(attached);
        self.error = error;
    }
}

#[derive(Serialize)]
struct AddArgs {
    domain: String,
    project: String,
    distribution: Option<String>,
}

#[derive(Serialize)]
struct DomainArgs {
    domain: String,
}

fn steps_view(steps: Vec<StepReport>, id: &'static str) -> impl IntoView {
    view! {
        <ul class="report steps" id=id>
            {steps.into_iter().map(|step| view! {
                <li class=format!("step-{} {}", step.status, if step.status == StepStatus::Failed { "failed" } else { "ok" })
                    data-step=step.step.name() data-status=step.status.name()>
                    <strong>{step.status.mark()}" "{step.step.title()}</strong>
                    <div class="hint">{step.detail.clone()}</div>
                </li>
            }).collect_view()}
        </ul>
    }
}

#[component]
pub fn Domains() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let listing = RwSignal::new(None::<DomainsView>);
    let domain = RwSignal::new(String::new());
    let project = RwSignal::new(String::new());
    let distribution = RwSignal::new(String::new());
    let checks = RwSignal::new(None::<(String, Vec<StepReport>)>);
    Effect::new(move |_| {
        ctx.revision.track();
        spawn_local(async move {
            match bridge::call::<DomainsView>("domains", bridge::NoArgs {}).await {
                Ok(view) => listing.set(Some(view)),
                Err(error) => ctx.fail(error),
            }
        });
        // The project picker lists what the store holds now.
        super::projects::reload(ctx);
    });
    let add = move |_| {
        let args = AddArgs {
            domain: domain.get_untracked().trim().to_string(),
            project: project.get_untracked(),
            distribution: Some(distribution.get_untracked()).filter(|d| !d.trim().is_empty()),
        };
        if args.project.is_empty() {
            ctx.fail(UserError {
                message: "Choose the project to serve there".into(),
                hint: "deploy one first if the list is empty".into(),
                code: "app".into(),
            });
            return;
        }
        ctx.domain_run.set(DomainRun {
            domain: Some(args.domain.clone()),
            running: true,
            ..DomainRun::default()
        });
        spawn_local(async move {
            if let Err(error) = bridge::run("domain_add", args).await {
                ctx.domain_run.update(|r| {
                    r.running = false;
                    r.error = Some(error);
                });
            }
        });
    };
    let verify = move |name: String| {
        checks.set(Some((name.clone(), Vec::new())));
        spawn_local(async move {
            match bridge::call::<Vec<StepReport>>(
                "domain_verify",
                DomainArgs {
                    domain: name.clone(),
                },
            )
            .await
            {
                Ok(steps) => {
                    checks.set(Some((name, steps)));
                    crate::reveal("domain-checks");
                }
                Err(error) => {
                    checks.set(None);
                    ctx.fail(error)
                }
            }
        });
    };
    let running = move || ctx.domain_run.with(|r| r.running);
    view! {
        <h1>"Domains"</h1>
        <p class="muted">"Serve a project at a domain of your own. Its hosted zone must be in Route53 in your account; the wizard does the rest, and can be run again to continue."</p>
        <section class="card">
            <h2>"Add a domain"</h2>
            <div class="row form">
                <input id="domain-name" type="text" aria-label="Domain" placeholder="www.example.com" prop:value=move || domain.get() on:input=move |ev| domain.set(event_target_value(&ev))/>
                <select id="domain-project" aria-label="Project" on:change=move |ev| project.set(event_target_value(&ev))>
                    <option value="" selected=move || project.with(String::is_empty)>"(choose a project)"</option>
                    {move || ctx.projects.get().into_iter().map(|p| {
                        let name = p.name.clone();
                        let value = p.name.clone();
                        view! { <option value=p.name selected=move || project.with(|chosen| *chosen == value)>{name}</option> }
                    }).collect_view()}
                </select>
            </div>
            <label class="field">
                <span>"CloudFront distribution"</span>
                <input id="domain-distribution" type="text"
                    placeholder=move || listing.with(|l| l.as_ref().and_then(|l| l.distribution_id.clone()).map(|d| format!("{d} (from AWS setup)")).unwrap_or_else(|| "run AWS setup first, or type its id".into()))
                    prop:value=move || distribution.get() on:input=move |ev| distribution.set(event_target_value(&ev))/>
            </label>
            <button id="domain-add" class="primary" disabled=running on:click=add>"Add domain"</button>
        </section>
        {move || {
            let run = ctx.domain_run.get();
            run.domain.clone().map(|name| view! {
                <section class="card" id="domain-run" data-domain=name.clone() data-running=run.running.to_string()
                    data-attached=run.attached.map(|a| a.to_string()).unwrap_or_default()>
                    <h2>{name.clone()}</h2>
                    {run.running.then(|| view! { <div class="bar indeterminate"><div class="fill"></div></div> })}
                    {steps_view(run.steps.clone(), "domain-steps")}
                    {match (run.attached, run.error.clone()) {
                        (_, Some(error)) => view! {
                            <div class="result failed" id="domain-error"><strong>{error.message}</strong><div class="hint">{error.hint}</div></div>
                        }.into_any(),
                        (Some(true), None) => view! { <div class="result ok" id="domain-result"><strong>{format!("{name} is attached; the proxy serves it now.")}</strong></div> }.into_any(),
                        (Some(false), None) => view! { <div class="result" id="domain-result"><strong>"Still waiting for the certificate. Add the domain again later to continue."</strong></div> }.into_any(),
                        _ => ().into_any(),
                    }}
                </section>
            })
        }}
        <h2>"Your domains"</h2>
        {move || match listing.get() {
            None => view! { <p class="muted">"Loading…"</p> }.into_any(),
            Some(view) if view.domains.is_empty() => view! { <p class="muted" id="domains-empty">"No custom domains yet."</p> }.into_any(),
            Some(view) => view! {
                <table class="list" id="domains-list">
                    <thead><tr><th>"Domain"</th><th>"Project"</th><th>"Status"</th><th></th></tr></thead>
                    <tbody>
                        {view.domains.into_iter().map(|d| {
                            let for_verify = d.domain.clone();
                            let for_remove = d.domain.clone();
                            let status = if d.attached { "attached".to_string() } else {
                                d.reached.map(|r| format!("in progress (after {})", r.title())).unwrap_or_else(|| "in progress".into())
                            };
                            view! {
                                <tr class="domain-row" data-domain=d.domain.clone() data-attached=d.attached.to_string()>
                                    <td><UrlActions url=format!("https://{}", d.domain)/></td>
                                    <td>{d.project.clone()}</td>
                                    <td><span class="badge" class:status-ready=d.attached>{status}</span></td>
                                    <td class="actions">
                                        <button class="small domain-verify" on:click=move |_| verify(for_verify.clone())>"Verify"</button>
                                        <button class="small danger domain-remove" on:click=move |_| ctx.confirm.set(Some(Confirm {
                                            question: format!("Take {for_remove} off? Its CloudFront alias and A/AAAA records are removed and the proxy stops serving it; other domains stay."),
                                            action: Action::RemoveDomain { domain: for_remove.clone() },
                                        }))>"Remove"</button>
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any(),
        }}
        {move || checks.get().map(|(name, steps)| {
            let done = !steps.is_empty();
            view! {
                <section class="card" id="domain-checks" data-domain=name.clone() data-done=done.to_string()>
                    <h2>{format!("Checks for {name}")}</h2>
                    {(!done).then(|| view! { <div class="bar indeterminate"><div class="fill"></div></div> })}
                    {steps_view(steps, "domain-check-steps")}
                </section>
            }
        })}
    }
}

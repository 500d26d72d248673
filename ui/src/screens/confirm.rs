//! The confirmation step before promote, rollback, remove, teardown and taking a domain off: a modal that names exactly
//! what will change. Actions are data (not closures), so the dialog is plain state.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Serialize;

use crate::Ctx;
use crate::bridge;

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Promote { deployment: String, project: String },
    Rollback { project: String },
    Remove { deployment: String, project: String },
    Teardown(crate::types::SetupForm),
    RemoveDomain { domain: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Confirm {
    pub question: String,
    pub action: Action,
}

#[derive(Serialize)]
struct DeploymentArgs {
    deployment: String,
}

#[derive(Serialize)]
struct DomainArgs {
    domain: String,
}

#[derive(Serialize)]
struct ProjectArgs {
    project: String,
}

#[derive(serde::Deserialize)]
struct AliasChange {
    project: String,
    to: String,
}

async fn perform(ctx: Ctx, action: Action) {
    let result = match action {
        Action::Promote { deployment, .. } => {
            bridge::call::<AliasChange>("promote", DeploymentArgs { deployment })
                .await
                .map(|c| format!("{} now serves {} in production", c.project, c.to))
        }
        Action::Rollback { project } => {
            bridge::call::<AliasChange>("rollback", ProjectArgs { project })
                .await
                .map(|c| format!("{} rolled back to {}", c.project, c.to))
        }
        Action::Remove {
            deployment,
            project,
        } => bridge::run(
            "remove",
            DeploymentArgs {
                deployment: deployment.clone(),
            },
        )
        .await
        .map(|()| format!("Removed {deployment} from {project}")),
        Action::Teardown(form) => {
            // Its steps and outcome show on the AWS setup screen as they come.
            super::setup_run::start(ctx, form, crate::types::SetupRun::Teardown);
            return;
        }
        Action::RemoveDomain { domain } => bridge::run(
            "domain_remove",
            DomainArgs {
                domain: domain.clone(),
            },
        )
        .await
        .map(|()| format!("{domain} is no longer served")),
    };
    match result {
        Ok(notice) => {
            ctx.say(notice);
            ctx.revision.update(|r| *r += 1);
        }
        Err(error) => ctx.fail(error),
    }
}

#[component]
pub fn ConfirmDialog() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    move || {
        ctx.confirm.get().map(|confirm| {
            let action = confirm.action.clone();
            view! {
                <div class="modal-backdrop">
                    <div class="modal" id="confirm-dialog">
                        <p>{confirm.question.clone()}</p>
                        <div class="row end">
                            <button id="confirm-no" on:click=move |_| ctx.confirm.set(None)>"Cancel"</button>
                            <button id="confirm-yes" class="primary" on:click=move |_| {
                                ctx.confirm.set(None);
                                let action = action.clone();
                                spawn_local(perform(ctx, action));
                            }>"Yes, do it"</button>
                        </div>
                    </div>
                </div>
            }
        })
    }
}

//! Project: its deployments (status, source, time, size, preview URL), newest first;
//! promote, roll back and remove, each after a confirmation that names what will change; and
//! each other region's state with "Sync now" (`regions.rs`); its variables (`project_env.rs`).

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Serialize;

use super::confirm::{Action, Confirm};
use super::project_env::ProjectEnv;
use super::regions::ProjectRegions;
use super::url_actions::UrlActions;
use crate::types::DeploymentView;
use crate::{Ctx, Screen, bridge, format, now_ms};

#[derive(Serialize)]
struct ProjectArgs {
    project: String,
}

#[component]
pub fn Project(name: String) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let deployments = RwSignal::new(Vec::<DeploymentView>::new());
    let loaded = RwSignal::new(false);
    let project = name.clone();
    Effect::new(move |_| {
        ctx.revision.track();
        // The production URL and the regions' states come from the projects list.
        super::projects::reload(ctx);
        let project = project.clone();
        spawn_local(async move {
            match bridge::call::<Vec<DeploymentView>>("deployments", ProjectArgs { project }).await
            {
                Ok(rows) => {
                    deployments.set(rows);
                    loaded.set(true);
                }
                Err(error) => ctx.fail(error),
            }
        });
    });
    let url_project = name.clone();
    let production_url = move || {
        ctx.projects.with(|projects| {
            projects
                .iter()
                .find(|p| p.name == url_project)
                .and_then(|p| p.production_url.clone())
        })
    };
    let rollback_project = name.clone();
    view! {
        <div class="row">
            <button class="link" id="back-to-projects" on:click=move |_| ctx.screen.set(Screen::Projects)>"← Projects"</button>
        </div>
        <h1 id="project-title">{name.clone()}</h1>
        <div class="row">
            {move || production_url().map(|url| view! { <span class="muted">"Production: "</span><UrlActions url=url/> })}
            <span class="spacer"></span>
            <button id="rollback" on:click=move |_| ctx.confirm.set(Some(Confirm {
                question: format!("Roll {} back to its previous production deployment?", rollback_project),
                action: Action::Rollback { project: rollback_project.clone() },
            }))>"Roll back"</button>
        </div>
        <table class="list" id="deployments">
            <thead><tr><th>"Deployment"</th><th>"Status"</th><th>"Created"</th><th>"Preview URL"</th><th></th></tr></thead>
            <tbody>
                <For
                    each=move || deployments.get()
                    key=|d| format!("{d:?}")
                    children=move |d| view! { <DeploymentRow deployment=d/> }
                />
            </tbody>
        </table>
        <Show when=move || loaded.get() && deployments.with(Vec::is_empty)>
            <p class="muted">"No deployments."</p>
        </Show>
        <ProjectRegions project=name.clone()/>
        <ProjectEnv project=name.clone()/>
    }
}

#[component]
fn DeploymentRow(deployment: DeploymentView) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let d = deployment;
    let promote = (d.id.clone(), d.project.clone());
    let remove = promote.clone();
    view! {
        <tr class="deployment-row" data-id=d.id.clone() class:production=d.production>
            <td class="deployment-cell">
                <code>{d.id.clone()}</code>{d.production.then(|| view! { <span class="badge production-badge">"production"</span> })}
                <div class="muted small source" title=d.source.clone()>{d.source.clone()}</div>
            </td>
            <td><span class=format!("badge status-{}", d.status)>{d.status.name()}</span></td>
            <td class="nowrap">
                {format::age(d.created_ms, now_ms())}
                <div class="muted small">{format!("{} · {} file{}", format::bytes(d.total_bytes), d.file_count, if d.file_count == 1 { "" } else { "s" })}</div>
            </td>
            <td class="preview-cell"><UrlActions url=d.preview_url.clone()/></td>
            <td class="actions">
                <Show when=move || !d.production>
                    <button class="promote small" on:click={
                        let (id, project) = promote.clone();
                        move |_| ctx.confirm.set(Some(Confirm {
                            question: format!("Make {id} what {project} serves in production?"),
                            action: Action::Promote { deployment: id.clone(), project: project.clone() },
                        }))
                    }>"Promote"</button>
                    <button class="remove small danger" on:click={
                        let (id, project) = remove.clone();
                        move |_| ctx.confirm.set(Some(Confirm {
                            question: format!("Remove {id} from {project}? Its preview URL stops working."),
                            action: Action::Remove { deployment: id.clone(), project: project.clone() },
                        }))
                    }>"Remove"</button>
                </Show>
            </td>
        </tr>
    }
}

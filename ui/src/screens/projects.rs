//! Projects: each project with its production URL, its newest deployment's status and age;
//! open or copy a URL with one click; a click on the name opens the project. Where other
//! regions serve, each region's state for the project under its status; each row's last 30
//! days as a small timeline.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::regions::RegionBadges;
use super::timeline::Timeline;
use super::url_actions::UrlActions;
use crate::types::ProjectView;
use crate::{Ctx, Screen, bridge, format, now_ms};

pub fn reload(ctx: Ctx) {
    spawn_local(async move {
        match bridge::call::<Vec<ProjectView>>("projects", bridge::NoArgs {}).await {
            Ok(projects) => ctx.projects.set(projects),
            Err(error) => ctx.fail(error),
        }
    });
}

/// First run: the site that ships with the app, deployed and opened in the browser; the
/// Deploy screen shows its progress and its preview URL.
fn deploy_example(ctx: Ctx) {
    ctx.deploy.update(|d| {
        d.starting();
        d.open_when_done = true;
    });
    ctx.screen.set(Screen::Deploy);
    spawn_local(async move {
        match bridge::call::<String>("deploy_example", bridge::NoArgs {}).await {
            Ok(job) => ctx.deploy.update(|d| {
                d.started(job);
                d.open_when_done = true;
            }),
            Err(error) => ctx.deploy.update(|d| d.refused(error)),
        }
    });
}

#[component]
pub fn Projects() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    Effect::new(move |_| {
        ctx.revision.track();
        reload(ctx);
    });
    view! {
        <h1>"Projects"</h1>
        <Show
            when=move || !ctx.projects.with(Vec::is_empty)
            fallback=move || view! {
                <div class="empty" id="projects-empty">
                    <p class="big">"No projects yet."</p>
                    <p class="muted">"Drop a folder onto this window to deploy it, or start with the example site: it deploys in a second and opens in your browser."</p>
                    <div class="row center">
                        <button class="primary" id="deploy-example" on:click=move |_| deploy_example(ctx)>"Deploy an example site"</button>
                        <button id="projects-deploy-folder" on:click=move |_| ctx.screen.set(Screen::Deploy)>"Deploy a folder"</button>
                    </div>
                </div>
            }
        >
            <table class="list" id="projects">
                <thead><tr><th>"Project"</th><th>"Production URL"</th><th>"Status"</th><th>"Last 30 days"</th><th>"Last deploy"</th></tr></thead>
                <tbody>
                    <For
                        each=move || ctx.projects.get()
                        key=|p| format!("{p:?}")
                        children=move |project| view! { <ProjectRow project=project/> }
                    />
                </tbody>
            </table>
        </Show>
    }
}

#[component]
fn ProjectRow(project: ProjectView) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let name = project.name.clone();
    let open = name.clone();
    let status = project.status;
    view! {
        <tr class="project-row" data-project=name.clone()>
            <td><button class="link project-name" on:click=move |_| ctx.screen.set(Screen::Project(open.clone()))>{name.clone()}</button>
                <div class="muted small">{format!("{} deployment{}", project.deployments, if project.deployments == 1 { "" } else { "s" })}</div></td>
            <td>{match project.production_url.clone() {
                Some(url) => view! { <UrlActions url=url/> }.into_any(),
                None => view! { <span class="muted">"not promoted yet"</span> }.into_any(),
            }}</td>
            <td><span class=format!("badge status-{status}") title=project.status_message.clone().unwrap_or_default()>{status.name()}</span>
                <RegionBadges regions=project.regions.clone()/></td>
            <td><Timeline activity=project.activity.clone()/></td>
            <td>{project.latest.as_ref().map(|l| format::age(l.created_ms, now_ms())).unwrap_or_default()}</td>
        </tr>
    }
}

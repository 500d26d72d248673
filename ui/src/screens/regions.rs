//! Each other region's state for a project, where several regions serve: a badge per region
//! on the Projects screen (in sync, lagging by N deployments, unreachable), and on the
//! Project screen a row per region saying what it lacks, with "Sync now" to bring lagging
//! regions up to the primary (what `pier regions sync <project>` does).

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Serialize;

use crate::types::RegionReport;
use crate::{Ctx, bridge};

#[derive(Serialize)]
struct ProjectArgs {
    project: String,
}

/// One badge per other region, its state's few words, the whole description on hover.
#[component]
pub fn RegionBadges(regions: Vec<RegionReport>) -> impl IntoView {
    (!regions.is_empty()).then(|| {
        view! {
            <div class="regions">
                {regions.into_iter().map(|report| view! {
                    <span class=format!("badge region region-{}", report.state.kind())
                        data-region=report.region.clone() data-state=report.state.kind()
                        title=report.state.describe()>
                        {format!("{}: {}", report.region, report.state.short())}
                    </span>
                }).collect_view()}
            </div>
        }
    })
}

/// The Project screen's regions: shown only when other regions serve the project.
#[component]
pub fn ProjectRegions(project: String) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let syncing = RwSignal::new(false);
    let of_project = project.clone();
    let regions = Memo::new(move |_| {
        ctx.projects.with(|projects| {
            projects
                .iter()
                .find(|p| p.name == of_project)
                .map(|p| p.regions.clone())
                .unwrap_or_default()
        })
    });
    let lagging = move || regions.with(|r| r.iter().any(|r| !r.state.in_sync()));
    let sync = move |_| {
        let project = project.clone();
        syncing.set(true);
        spawn_local(async move {
            match bridge::call::<Vec<RegionReport>>("sync_regions", ProjectArgs { project }).await {
                Ok(reports) if reports.iter().all(|r| r.state.in_sync()) => {
                    ctx.say("Every region serves what the primary serves")
                }
                Ok(_) => ctx.say("Some regions are still behind: see why in their rows"),
                Err(error) => ctx.fail(error),
            }
            syncing.set(false);
        });
    };
    view! {
        <Show when=move || !regions.with(Vec::is_empty)>
            <h2>"Regions"</h2>
            <div class="row">
                <p class="muted small">"Each region serves its own copy; the primary's is the truth. A region that was down catches up on the next deploy, or now:"</p>
                <span class="spacer"></span>
                <button id="regions-sync" disabled=move || syncing.get() || !lagging() on:click=sync.clone()>
                    {move || if syncing.get() { "Syncing…" } else { "Sync now" }}
                </button>
            </div>
            <table class="list" id="project-regions">
                <tbody>
                    {move || regions.get().into_iter().map(|report| view! {
                        <tr class="region-row" data-region=report.region.clone() data-state=report.state.kind()>
                            <td class="nowrap"><strong>{report.region.clone()}</strong></td>
                            <td><span class=format!("badge region region-{}", report.state.kind())>{report.state.short()}</span></td>
                            <td class="muted small">{report.state.describe()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </Show>
    }
}

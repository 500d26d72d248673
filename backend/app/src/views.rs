//! What the Projects and Project screens list: each project with its production URL, its
//! newest deployment's status and age; each deployment with its source, size, time and
//! preview URL; with other regions, each region's state for each project (in sync, lagging
//! by what, unreachable). Times go out as milliseconds since the epoch; the window renders
//! ages.

use std::collections::HashMap;

use super::events::UserError;
use super::target::Target;
use futures::future::join_all;
use pier_core::deployments::{self, DeploymentRow};

/// The newest deploy job the app ran for a project.
#[derive(Debug, Clone)]
pub struct JobState {
    /// Building, deploying, ready or failed.
    pub status: Status,
    pub message: Option<String>,
    pub at_ms: i64,
}

use pier_core::logs::BuildStatus;
use pier_core::logs::history::{self, BuildSummary};
pub use pier_wire::deploys::{ACTIVITY_DAYS, Activity, DeploymentView, ProjectView, Status};

pub use pier_core::logs::now_ms;
use pier_core::logs::unix_ms;

/// Builds read from the history for the timelines' failures.
const FAILED_SCANNED: usize = 200;

/// A project's deployments and failed builds since `since`, newest first.
fn activity(
    project: &str,
    created: &[time::OffsetDateTime],
    failed: &[BuildSummary],
    since: i64,
) -> Vec<Activity> {
    let mut events: Vec<Activity> = created
        .iter()
        .map(|at| Activity {
            at_ms: unix_ms(*at),
            ok: true,
        })
        .chain(
            failed
                .iter()
                .filter(|build| build.project == project)
                .map(|build| Activity {
                    at_ms: build.started_ms,
                    ok: false,
                }),
        )
        .filter(|event| event.at_ms >= since)
        .collect();
    events.sort_by_key(|event| std::cmp::Reverse(event.at_ms));
    events
}

fn deployment_view(target: &Target, row: &DeploymentRow) -> DeploymentView {
    let summary = &row.summary;
    DeploymentView {
        id: summary.id.clone(),
        project: summary.project.clone(),
        preview: summary.preview.clone(),
        preview_url: target.url_for(&summary.preview),
        created_ms: unix_ms(summary.created),
        source: summary.source.describe(),
        file_count: summary.file_count,
        total_bytes: summary.total_bytes,
        production: row.production,
        status: Status::Ready,
    }
}

pub async fn projects(
    target: &Target,
    jobs: &HashMap<String, JobState>,
) -> Result<Vec<ProjectView>, UserError> {
    let mut views = Vec::new();
    let projects = deployments::list_projects(target.store.as_ref()).await?;
    let since = now_ms() - ACTIVITY_DAYS * 86_400_000;
    // Failed builds leave no deployment: the build history has them. Listing it is only for
    // the timelines, so one that cannot be read leaves them without failures.
    let failed: Vec<BuildSummary> =
        history::started_since(target.store.as_ref(), since, FAILED_SCANNED)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|build| build.status == BuildStatus::Failed)
            .collect();
    let states = join_all(
        projects
            .iter()
            .map(|project| target.regions.project_states(&project.name)),
    )
    .await;
    for (project, regions) in projects.into_iter().zip(states) {
        let latest = project.latest.as_ref().map(|summary| {
            deployment_view(
                target,
                &DeploymentRow {
                    production: project.production.as_deref() == Some(summary.id.as_str()),
                    summary: summary.clone(),
                },
            )
        });
        let job = jobs
            .get(&project.name)
            .filter(|job| latest.as_ref().is_none_or(|l| job.at_ms > l.created_ms));
        let (status, status_message) = match (job, &latest) {
            (Some(job), _) => (job.status, job.message.clone()),
            (None, Some(_)) => (Status::Ready, None),
            (None, None) => (Status::Empty, None),
        };
        views.push(ProjectView {
            production_url: project
                .production
                .as_ref()
                .map(|_| target.url_for(&project.name)),
            production: project.production.clone(),
            deployments: project.deployments,
            status,
            status_message,
            latest,
            activity: activity(&project.name, &project.created, &failed, since),
            name: project.name,
            regions,
        });
    }
    // Projects the app is deploying for the first time show up at once, with their status.
    for (name, job) in jobs {
        if !views.iter().any(|view| &view.name == name) {
            views.push(ProjectView {
                name: name.clone(),
                production_url: None,
                production: None,
                deployments: 0,
                status: job.status,
                status_message: job.message.clone(),
                latest: None,
                regions: Vec::new(),
                activity: Vec::new(),
            });
        }
    }
    views.sort_by(|a, b| {
        let newest = |v: &ProjectView| v.latest.as_ref().map_or(i64::MAX, |l| l.created_ms);
        newest(b).cmp(&newest(a)).then_with(|| a.name.cmp(&b.name))
    });
    Ok(views)
}

pub async fn deployments(target: &Target, project: &str) -> Result<Vec<DeploymentView>, UserError> {
    let rows = deployments::list_deployments(target.store.as_ref(), project).await?;
    Ok(rows
        .iter()
        .map(|row| deployment_view(target, row))
        .collect())
}

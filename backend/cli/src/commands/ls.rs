//! `pier ls`: every project with its deployment count, production deployment and URL; or one
//! project's deployments, newest first, from the index entries (no manifest is read).

use indicatif::HumanBytes;
use pier_core::store::DynStore;
use pier_core::{PierError, alias, deployments};
use serde_json::json;

use crate::output::{Output, short_time};

pub async fn run(
    store: &DynStore,
    out: &Output<'_>,
    project: Option<String>,
) -> anyhow::Result<()> {
    match project {
        None => list_projects(store, out).await,
        Some(project) => list_deployments(store, out, project).await,
    }
}

async fn list_projects(store: &DynStore, out: &Output<'_>) -> anyhow::Result<()> {
    let projects = deployments::list_projects(store.as_ref()).await?;
    if out.json {
        out.print(json!({ "projects": projects }));
    } else if projects.is_empty() {
        println!("No projects yet. Deploy one with `pier deploy DIR`.");
    } else {
        println!(
            "{:<28} {:>5}  {:<21} URL",
            "PROJECT", "DEPLOY", "PRODUCTION"
        );
        for project in projects {
            println!(
                "{:<28} {:>5}  {:<21} {}",
                project.name,
                project.deployments,
                project.production.as_deref().unwrap_or("-"),
                out.settings.base_url.for_label(&project.name)
            );
        }
    }
    Ok(())
}

async fn list_deployments(
    store: &DynStore,
    out: &Output<'_>,
    project: String,
) -> anyhow::Result<()> {
    pier_core::project_name::validate(&project)?;
    let rows = deployments::list_deployments(store.as_ref(), &project).await?;
    if rows.is_empty() && alias::read(store.as_ref(), &project).await?.is_none() {
        return Err(PierError::UnknownProject { project }.into());
    }
    if out.json {
        out.print(json!({ "project": project, "deployments": rows }));
    } else {
        println!(
            "{:<21} {:<20} {:>6} {:>10}  PREVIEW",
            "ID", "CREATED", "FILES", "SIZE"
        );
        for row in rows {
            let marker = if row.production { " (production)" } else { "" };
            println!(
                "{:<21} {:<20} {:>6} {:>10}  {}{marker}",
                row.summary.id,
                short_time(row.summary.created),
                row.summary.file_count,
                HumanBytes(row.summary.total_bytes).to_string(),
                out.settings.base_url.for_label(&row.summary.preview),
            );
        }
    }
    Ok(())
}

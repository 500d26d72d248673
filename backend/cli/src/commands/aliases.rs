//! `pier promote` and `pier rollback`: the two commands that change what a project serves in
//! production, each one compare-and-swap of the project's alias record in the primary region,
//! then the same record in every other region (which only ever moves forward).

use std::path::PathBuf;

use pier_core::deploy::default_project;
use pier_core::regions::Regions;
use pier_core::{alias, deployments};

use crate::output::Output;

/// Makes `deployment` its project's production deployment.
pub async fn promote(regions: &Regions, out: &Output<'_>, deployment: &str) -> anyhow::Result<()> {
    let manifest = deployments::resolve(regions.primary_store(), deployment).await?;
    let (change, reports) = regions
        .promote(&manifest.project, &manifest.id, alias::Action::Promote)
        .await?;
    out.alias_change(&change, &reports);
    Ok(())
}

/// Puts the previous production deployment of `project` (by default the current folder's)
/// back.
pub async fn rollback(
    regions: &Regions,
    out: &Output<'_>,
    project: Option<String>,
) -> anyhow::Result<()> {
    let project = match project {
        Some(project) => project,
        None => default_project(&PathBuf::from("."))?,
    };
    pier_core::project_name::validate(&project)?;
    let (change, reports) = regions.rollback(&project).await?;
    out.alias_change(&change, &reports);
    Ok(())
}

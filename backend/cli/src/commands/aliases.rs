//! `pier promote` and `pier rollback`: the two commands that change what a project serves in
//! production, each one compare-and-swap of the project's alias record.

use std::path::PathBuf;

use pier_core::deploy::default_project;
use pier_core::store::DynStore;
use pier_core::{alias, deployments};

use crate::output::Output;

/// Makes `deployment` its project's production deployment.
pub async fn promote(store: &DynStore, out: &Output<'_>, deployment: &str) -> anyhow::Result<()> {
    let manifest = deployments::resolve(store.as_ref(), deployment).await?;
    let change = alias::promote(
        store.as_ref(),
        &manifest.project,
        &manifest.id,
        alias::Action::Promote,
    )
    .await?;
    out.alias_change(&change);
    Ok(())
}

/// Puts the previous production deployment of `project` (by default the current folder's)
/// back.
pub async fn rollback(
    store: &DynStore,
    out: &Output<'_>,
    project: Option<String>,
) -> anyhow::Result<()> {
    let project = match project {
        Some(project) => project,
        None => default_project(&PathBuf::from("."))?,
    };
    pier_core::project_name::validate(&project)?;
    let change = alias::rollback(store.as_ref(), &project).await?;
    out.alias_change(&change);
    Ok(())
}

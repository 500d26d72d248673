//! Listing, inspecting, resolving and removing deployments.
//!
//! A deployment exists exactly when its manifest does. Removal goes in the order that keeps
//! every reader consistent: retire the id in the alias record (refused when live), delete the
//! manifest (the deployment is gone), then its preview name and index entry. An interrupted
//! removal leaves only orphan records, which `gc` clears.

use serde::{Deserialize, Serialize};

use crate::alias::{self, AliasRecord};
use crate::error::PierError;
use crate::manifest::{Manifest, Summary, is_id};
use crate::records::{read_all, read_json};
use crate::store::{Store, keys, list_all};

/// `previews/<project>-<short id>.json`: which deployment a preview host serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewRecord {
    pub project: String,
    pub deployment: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProjectSummary {
    pub name: String,
    pub production: Option<String>,
    pub deployments: usize,
    pub latest: Option<Summary>,
    /// When each deployment was made, newest first (for activity views; not in `--json`).
    #[serde(skip)]
    pub created: Vec<time::OffsetDateTime>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeploymentRow {
    #[serde(flatten)]
    pub summary: Summary,
    pub production: bool,
}

pub async fn list_projects(store: &dyn Store) -> Result<Vec<ProjectSummary>, PierError> {
    let mut projects = Vec::new();
    for name in store.list_children(keys::PROJECTS).await? {
        let rows = list_deployments(store, &name).await?;
        let record = alias::read(store, &name).await?;
        projects.push(ProjectSummary {
            production: record.and_then(|r| r.production),
            deployments: rows.len(),
            latest: rows.first().map(|row| row.summary.clone()),
            created: rows.iter().map(|row| row.summary.created).collect(),
            name,
        });
    }
    Ok(projects)
}

/// The project's deployments, newest first.
pub async fn list_deployments(
    store: &dyn Store,
    project: &str,
) -> Result<Vec<DeploymentRow>, PierError> {
    let index_keys: Vec<String> = list_all(store, &keys::project_deployments(project))
        .await?
        .into_iter()
        .map(|meta| meta.key)
        .collect();
    let production = alias::read(store, project)
        .await?
        .and_then(|record| record.production);
    let mut rows: Vec<DeploymentRow> = read_all::<Summary>(store, &index_keys)
        .await?
        .into_iter()
        .map(|(_, summary)| DeploymentRow {
            production: production.as_deref() == Some(summary.id.as_str()),
            summary,
        })
        .collect();
    rows.sort_by(|a, b| b.summary.id.cmp(&a.summary.id));
    Ok(rows)
}

/// Finds a deployment by id or preview name (`blog-1a2b3c4d`), or by a preview URL.
pub async fn resolve(store: &dyn Store, reference: &str) -> Result<Manifest, PierError> {
    let label = preview_label(reference);
    let id = if is_id(label) {
        label.to_string()
    } else {
        match read_json::<PreviewRecord>(store, &keys::preview(label)).await? {
            Some(record) => record.deployment,
            None => {
                return Err(PierError::UnknownDeployment {
                    reference: reference.to_string(),
                });
            }
        }
    };
    match read_json::<Manifest>(store, &keys::manifest(&id)).await? {
        Some(manifest) => Ok(manifest),
        None => Err(PierError::UnknownDeployment {
            reference: reference.to_string(),
        }),
    }
}

/// `https://blog-1a2b3c4d.example.com/x` → `blog-1a2b3c4d`; anything else unchanged.
fn preview_label(reference: &str) -> &str {
    let without_scheme = reference
        .split_once("://")
        .map_or(reference, |(_, rest)| rest);
    if without_scheme.len() == reference.len() {
        return reference.trim();
    }
    without_scheme
        .split(['/', ':', '.'])
        .next()
        .unwrap_or(without_scheme)
}

#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    pub manifest: Manifest,
    pub preview: String,
    pub production: bool,
    pub alias: Option<AliasRecord>,
}

pub async fn inspect(store: &dyn Store, reference: &str) -> Result<Inspection, PierError> {
    let manifest = resolve(store, reference).await?;
    let alias = alias::read(store, &manifest.project).await?;
    Ok(Inspection {
        preview: manifest.summary().preview,
        production: alias
            .as_ref()
            .is_some_and(|record| record.production.as_deref() == Some(manifest.id.as_str())),
        manifest,
        alias,
    })
}

/// Removes a deployment that is not production. Its blobs stay until `gc`.
pub async fn remove(store: &dyn Store, reference: &str) -> Result<Summary, PierError> {
    let manifest = resolve(store, reference).await?;
    let summary = manifest.summary();
    alias::retire(store, &manifest.project, &manifest.id).await?;
    store.delete(&[keys::manifest(&manifest.id)]).await?;
    store
        .delete(&[
            keys::preview(&summary.preview),
            keys::index_entry(&manifest.project, &manifest.id),
        ])
        .await?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::preview_label;

    #[test]
    fn preview_urls_resolve_to_their_label() {
        assert_eq!(
            preview_label("https://blog-1a2b3c4d.example.com/x"),
            "blog-1a2b3c4d"
        );
        assert_eq!(
            preview_label("http://blog-1a2b3c4d.localhost:4800"),
            "blog-1a2b3c4d"
        );
        assert_eq!(preview_label("blog-1a2b3c4d"), "blog-1a2b3c4d");
    }
}

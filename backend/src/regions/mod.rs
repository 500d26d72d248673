//! Several regions, each with its own store, kept in step by Pier itself.
//!
//! The first region is the primary: its store is the truth (its alias records carry the
//! generation every other region's copy is compared with). Pier writes to every region rather
//! than leaving it to S3 Cross-Region Replication, which is asynchronous and does not order
//! objects: a manifest could arrive before its blobs, or an alias before its manifest. Here
//! each region gets a deployment the way a deploy writes one: blobs, then manifest, then
//! alias, so a region never serves a deployment that is not complete in it.
//!
//! - [`Regions::deploy`] reads the folder once and lands it in every region at once; the
//!   primary promotes as soon as it holds the deployment, whatever another region does, and a
//!   region that fails is reported lagging (or unreachable), never waited for.
//! - Promote, rollback and rm change the primary, then bring each other region up to it
//!   (`sync::sync_project`), which is also what `pier regions sync` runs: a lagging region
//!   catches up on the next change to its project, or when asked.
//! - gc runs in each region on its own store, with its own leases: a sync holds a lease on
//!   what it copies, as a deploy does.

mod copy;
mod sync;

use futures::future::join_all;
use serde::Serialize;

pub use copy::{Copied, copy_deployment};
pub use sync::{SyncOutcome, project_state, sync_project};

use crate::alias::{self, Action, AliasChange};
use crate::config::{ConfigFile, Settings};
use crate::deploy::{self, DeployOutcome, DeployRequest};
use crate::deployments;
use crate::error::PierError;
use crate::gc::{self, GcReport};
use crate::manifest::Summary;
use crate::progress::{Progress, ProgressEvent};
use crate::region_state::{RegionReport, RegionState};
use crate::store::{self, DynStore, Store, StoreUrl};

/// The primary region's name when the config file does not give one.
pub const PRIMARY: &str = "primary";

/// One region: its name (an AWS region, or any label) and its store.
#[derive(Debug, Clone)]
pub struct Region {
    pub name: String,
    pub store: DynStore,
}

/// The primary region and the others.
#[derive(Debug, Clone)]
pub struct Regions {
    pub primary: Region,
    pub others: Vec<Region>,
}

/// How far the primary is in a deploy to several regions: the other regions write their
/// records once it holds the deployment, and follow its alias once its promote has ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum PrimaryStage {
    Landing,
    /// Its manifest and records are written.
    Holds,
    /// Promoted (or not asked to).
    Done,
    Failed,
}

/// Waits until the primary has reached `stage`; false when it failed first.
async fn primary_reached(
    progress: &mut tokio::sync::watch::Receiver<PrimaryStage>,
    stage: PrimaryStage,
) -> bool {
    match progress.wait_for(|now| *now >= stage).await {
        Ok(now) => *now != PrimaryStage::Failed,
        Err(_) => false,
    }
}

/// One project's state in every other region.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectRegions {
    pub project: String,
    pub regions: Vec<RegionReport>,
}

/// A region's gc.
#[derive(Debug, Clone, Serialize)]
pub struct RegionGc {
    pub region: String,
    pub report: GcReport,
}

impl Regions {
    /// One region: everything a single store does.
    pub fn single(store: DynStore) -> Regions {
        Regions {
            primary: Region {
                name: PRIMARY.into(),
                store,
            },
            others: Vec::new(),
        }
    }

    /// The settings' store as the primary, and the config file's `[[regions]]` as the others,
    /// when that store is the file's own (a `--store` pointing elsewhere gets that store alone).
    pub async fn open(settings: &Settings, file: &ConfigFile) -> Result<Regions, PierError> {
        let primary = Region {
            name: file.region.clone().unwrap_or_else(|| PRIMARY.into()),
            store: store::open(&settings.store).await?,
        };
        let file_store = file.store.as_deref().map(StoreUrl::parse).transpose()?;
        let mut others = Vec::new();
        if file_store.as_ref() == Some(&settings.store) {
            for region in &file.regions {
                others.push(Region {
                    name: region.name.clone(),
                    store: store::open(&StoreUrl::parse(&region.store)?).await?,
                });
            }
        }
        Ok(Regions { primary, others })
    }

    /// The primary and the other regions a list names (the builder's `PIER_REGIONS`):
    /// `name=store` pairs separated by commas, as `eu-west-1=s3://site-eu-west-1?region=eu-west-1`.
    pub async fn from_list(primary: Region, list: &str) -> Result<Regions, PierError> {
        let mut others: Vec<Region> = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let bad = |rule: &str| PierError::BadRegionList {
                entry: entry.into(),
                rule: rule.into(),
            };
            let (name, url) = entry
                .split_once('=')
                .ok_or_else(|| bad("it has no `=` between the region's name and its store"))?;
            let (name, url) = (name.trim(), url.trim());
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(bad("the region's name is empty or has spaces"));
            }
            if name == primary.name || others.iter().any(|region| region.name == name) {
                return Err(bad("that region is named twice"));
            }
            let url = StoreUrl::parse(url).map_err(|error| bad(&error.to_string()))?;
            others.push(Region {
                name: name.into(),
                store: store::open(&url).await?,
            });
        }
        Ok(Regions { primary, others })
    }

    /// Every region, the primary first.
    pub fn all(&self) -> impl Iterator<Item = &Region> {
        std::iter::once(&self.primary).chain(&self.others)
    }

    pub fn primary_store(&self) -> &dyn Store {
        self.primary.store.as_ref()
    }

    pub fn store(&self) -> &DynStore {
        &self.primary.store
    }

    /// Only the other region called `name` (`pier regions sync --region`).
    pub fn only(&self, name: &str) -> Result<Regions, PierError> {
        let region = self
            .others
            .iter()
            .find(|region| region.name == name)
            .cloned()
            .ok_or_else(|| PierError::UnknownRegion { name: name.into() })?;
        Ok(Regions {
            primary: self.primary.clone(),
            others: vec![region],
        })
    }

    /// Deploys a folder to every region: read and hashed once, landed in each store at once.
    pub async fn deploy(
        &self,
        request: &DeployRequest,
        progress: &Progress,
    ) -> Result<DeployOutcome, PierError> {
        if self.others.is_empty() {
            return deploy::deploy(self.primary_store(), request, progress).await;
        }
        let (progress, warnings) = deploy::collecting_warnings(progress);
        let project = deploy::project_of(request)?;
        let manifests = deploy::ManifestReads::default();
        let (prepared, probed, others_probed) = tokio::join!(
            deploy::prepare(request, &project, &progress),
            deploy::probe(self.primary_store(), &project, &manifests),
            join_all(self.others.iter().map(|region| deploy::probe(
                region.store.as_ref(),
                &project,
                &manifests
            ))),
        );
        let (prepared, probed) = (prepared?, probed?);
        let (primary_stage, primary_progress) = tokio::sync::watch::channel(PrimaryStage::Landing);
        let primary = async {
            let result = async {
                let landed = prepared
                    .land(self.primary_store(), probed, &progress)
                    .await?;
                progress.emit(ProgressEvent::Finalizing);
                prepared.write_records(self.primary_store()).await?;
                primary_stage.send_replace(PrimaryStage::Holds);
                let promoted = prepared.promote(self.primary_store()).await?;
                Ok::<_, PierError>((landed, promoted))
            }
            .await;
            primary_stage.send_replace(match result {
                Ok(_) => PrimaryStage::Done,
                Err(_) => PrimaryStage::Failed,
            });
            result
        };
        let others = join_all(
            self.others
                .iter()
                .zip(others_probed)
                .map(|(region, probed)| {
                    let (prepared, project) = (&prepared, &project);
                    let mut primary_progress = primary_progress.clone();
                    async move {
                        let store = region.store.as_ref();
                        let landed = match probed {
                            Ok(probed) => prepared.land(store, probed, &Progress::silent()).await,
                            Err(error) => Err(error),
                        };
                        // A region writes its manifest only once the primary holds the deployment,
                        // so no region has a deployment the truth does not; it does so while the
                        // primary promotes.
                        if !primary_reached(&mut primary_progress, PrimaryStage::Holds).await {
                            let _ = gc::drop_lease(store, &prepared.manifest().id).await;
                            return None;
                        }
                        let result = async {
                            landed?;
                            prepared.write_records(store).await?;
                            // Then the region follows the primary's alias as it is once the
                            // promote has ended (moved or not), and catches up on whatever else
                            // it lacks.
                            primary_reached(&mut primary_progress, PrimaryStage::Done).await;
                            sync_project(self.primary_store(), store, project).await?;
                            Ok(())
                        }
                        .await;
                        Some(self.report(region, project, result).await)
                    }
                }),
        );
        let (primary, reports) = tokio::join!(primary, others);
        let (landed, promoted) = primary?;
        let mut outcome = prepared.outcome(landed, promoted, &warnings);
        outcome.regions = reports.into_iter().flatten().collect();
        Ok(outcome)
    }

    /// Points production at `id` in the primary, then in every other region.
    pub async fn promote(
        &self,
        project: &str,
        id: &str,
        action: Action,
    ) -> Result<(AliasChange, Vec<RegionReport>), PierError> {
        let change = alias::promote(self.primary_store(), project, id, action).await?;
        Ok((change, self.sync_others(project).await))
    }

    pub async fn rollback(
        &self,
        project: &str,
    ) -> Result<(AliasChange, Vec<RegionReport>), PierError> {
        let change = alias::rollback(self.primary_store(), project).await?;
        Ok((change, self.sync_others(project).await))
    }

    /// Removes a deployment in the primary (which refuses a live one), then in every other
    /// region.
    pub async fn remove(&self, reference: &str) -> Result<(Summary, Vec<RegionReport>), PierError> {
        let summary = deployments::remove(self.primary_store(), reference).await?;
        let reports = self.sync_others(&summary.project).await;
        Ok((summary, reports))
    }

    /// Collects garbage in each region's store, on its own aliases and leases.
    pub async fn collect_garbage(&self, dry_run: bool) -> Result<Vec<RegionGc>, PierError> {
        let mut reports = Vec::new();
        for region in self.all() {
            reports.push(RegionGc {
                region: region.name.clone(),
                report: gc::collect(region.store.as_ref(), dry_run).await?,
            });
        }
        Ok(reports)
    }

    /// Frees Lambda versions no deployment uses, in every region; the count freed.
    pub async fn collect_functions(&self) -> Result<u64, PierError> {
        let mut freed = 0;
        for region in self.all() {
            freed += gc::collect_functions(region.store.as_ref()).await?;
        }
        Ok(freed)
    }

    /// Brings every other region up to the primary, for one project or all; a region that
    /// fails is reported and the others go on.
    pub async fn sync(&self, project: Option<&str>) -> Result<Vec<ProjectRegions>, PierError> {
        let mut projects = Vec::new();
        for project in self.projects(project).await? {
            let regions = self.sync_others(&project).await;
            projects.push(ProjectRegions { project, regions });
        }
        Ok(projects)
    }

    /// Every other region's state, for one project or all. A region whose state cannot be
    /// read (its store is down, or refuses) is reported unreachable, with why; the others are
    /// still told.
    pub async fn status(&self, project: Option<&str>) -> Result<Vec<ProjectRegions>, PierError> {
        let mut projects = Vec::new();
        for project in self.projects(project).await? {
            let regions = self.project_states(&project).await;
            projects.push(ProjectRegions { project, regions });
        }
        Ok(projects)
    }

    /// Every other region's state for one project (none with one region).
    pub async fn project_states(&self, project: &str) -> Vec<RegionReport> {
        join_all(self.others.iter().map(|region| async {
            let store = region.store.as_ref();
            let state = match project_state(self.primary_store(), store, project).await {
                Ok(state) => state,
                Err(error) => RegionState::Unreachable {
                    detail: format!("{}: {error}", store.url()),
                },
            };
            RegionReport {
                region: region.name.clone(),
                state,
            }
        }))
        .await
    }

    async fn projects(&self, project: Option<&str>) -> Result<Vec<String>, PierError> {
        Ok(match project {
            Some(project) => vec![project.to_string()],
            None => {
                self.primary_store()
                    .list_children(store::keys::PROJECTS)
                    .await?
            }
        })
    }

    /// Brings every other region up to the primary for one project; each region's state
    /// after (none with one region).
    pub async fn sync_others(&self, project: &str) -> Vec<RegionReport> {
        join_all(self.others.iter().map(|region| async move {
            let synced = sync_project(self.primary_store(), region.store.as_ref(), project)
                .await
                .map(|_| ());
            self.report(region, project, synced).await
        }))
        .await
    }

    /// A region's state after an attempt to bring it up to date.
    async fn report(
        &self,
        region: &Region,
        project: &str,
        attempt: Result<(), PierError>,
    ) -> RegionReport {
        let store = region.store.as_ref();
        let state = match attempt {
            Ok(()) => RegionState::InSync,
            Err(error) => {
                tracing::warn!(region = %region.name, %error, "region not brought up to date");
                let reason = format!("{error}");
                match sync::unreachable_or(error, store) {
                    Ok(unreachable) => unreachable,
                    Err(_) => match project_state(self.primary_store(), store, project).await {
                        Ok(RegionState::Lagging {
                            missing,
                            alias_behind,
                            removals_pending,
                            ..
                        }) => RegionState::Lagging {
                            missing,
                            alias_behind,
                            removals_pending,
                            reason: Some(reason),
                        },
                        Ok(other) => other,
                        Err(_) => RegionState::Lagging {
                            missing: 0,
                            alias_behind: false,
                            removals_pending: 0,
                            reason: Some(reason),
                        },
                    },
                }
            }
        };
        RegionReport {
            region: region.name.clone(),
            state,
        }
    }
}

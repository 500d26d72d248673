//! The setup record: what `pier setup aws` created, in order, written after every creation so
//! an interrupted apply loses nothing. `pier teardown aws` walks it backwards and deletes
//! exactly those resources; anything that existed before setup is never in it, so it is never
//! touched. The record holds names and ARNs only, never a credential.
//!
//! It lives beside the config file (`<config dir>/pier/aws-<name>-<region>.json`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::setup::spec::Outputs;
use pier_core::error::PierError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "resource", rename_all = "snake_case")]
pub enum Created {
    Bucket {
        name: String,
    },
    Queue {
        url: String,
    },
    Role {
        name: String,
    },
    SecurityGroup {
        id: String,
    },
    Cluster {
        name: String,
    },
    TaskDefinition {
        arn: String,
    },
    LoadBalancer {
        arn: String,
    },
    TargetGroup {
        arn: String,
    },
    Service {
        cluster: String,
        name: String,
    },
    ScalableTarget {
        resource_id: String,
    },
    Certificate {
        arn: String,
    },
    Distribution {
        id: String,
    },
    RecordSet {
        zone: String,
        name: String,
        kind: String,
    },
    /// One region's latency record for the origin name (`set_identifier` is the region).
    LatencyRecord {
        zone: String,
        name: String,
        kind: String,
        set_identifier: String,
    },
    LogGroup {
        name: String,
    },
    Secret {
        arn: String,
    },
    /// A private ECR repository holding a copy of one of the images.
    EcrRepository {
        name: String,
    },
    /// `settings/functions.json` in the store: deploys publish functions to Lambda. Teardown
    /// deletes the Lambda functions named with `prefix` (deploys made them), the store's
    /// Lambda records, then this record.
    FunctionsRuntime {
        bucket: String,
        key: String,
        prefix: String,
    },
}

impl Created {
    /// The kind of resource and its name, as a teardown reports it.
    pub fn describe(&self) -> (&'static str, String) {
        match self {
            Created::Bucket { name } => ("bucket", name.clone()),
            Created::Queue { url } => ("queue", url.clone()),
            Created::Role { name } => ("iam role", name.clone()),
            Created::SecurityGroup { id } => ("security group", id.clone()),
            Created::Cluster { name } => ("ecs cluster", name.clone()),
            Created::TaskDefinition { arn } => ("task definition", arn.clone()),
            Created::LoadBalancer { arn } => ("load balancer", arn.clone()),
            Created::TargetGroup { arn } => ("target group", arn.clone()),
            Created::Service { name, .. } => ("ecs service", name.clone()),
            Created::ScalableTarget { resource_id } => ("scaling target", resource_id.clone()),
            Created::Certificate { arn } => ("certificate", arn.clone()),
            Created::Distribution { id } => ("distribution", id.clone()),
            Created::RecordSet { name, kind, .. } => ("dns record", format!("{name} {kind}")),
            Created::LatencyRecord {
                name,
                kind,
                set_identifier,
                ..
            } => (
                "latency record",
                format!("{name} {kind} ({set_identifier})"),
            ),
            Created::LogGroup { name } => ("log group", name.clone()),
            Created::Secret { arn } => ("secret", arn.clone()),
            Created::EcrRepository { name } => ("ecr repository", name.clone()),
            Created::FunctionsRuntime { prefix, .. } => (
                "lambda functions",
                format!("{prefix}* and settings/functions.json"),
            ),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupRecord {
    #[serde(skip)]
    path: PathBuf,
    pub name: String,
    pub region: String,
    pub created: Vec<Created>,
    /// In another region's record: the primary region it serves for. Only such records are
    /// torn down when their region leaves `--regions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<String>,
    /// The last apply's outputs, for the config and the domain wizard.
    #[serde(default)]
    pub outputs: Outputs,
}

pub fn default_path(name: &str, region: &str) -> PathBuf {
    pier_core::config::beside_config(&format!("aws-{name}-{region}.json"))
}

impl SetupRecord {
    /// Reads the record at `path`, or starts an empty one.
    pub fn open(path: &Path, name: &str, region: &str) -> Result<SetupRecord, PierError> {
        let mut record = match std::fs::read(path) {
            Ok(bytes) => {
                serde_json::from_slice::<SetupRecord>(&bytes).map_err(|e| PierError::BadConfig {
                    path: path.to_path_buf(),
                    detail: e.to_string(),
                })?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => SetupRecord {
                name: name.to_string(),
                region: region.to_string(),
                ..Default::default()
            },
            Err(e) => {
                return Err(PierError::BadConfig {
                    path: path.to_path_buf(),
                    detail: e.to_string(),
                });
            }
        };
        record.path = path.to_path_buf();
        Ok(record)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Notes a creation and writes the record before anything else happens.
    pub fn created(&mut self, resource: Created) -> Result<(), PierError> {
        if !self.created.contains(&resource) {
            self.created.push(resource);
        }
        self.save()
    }

    pub fn save(&self) -> Result<(), PierError> {
        let fail = |e: std::io::Error| PierError::BadConfig {
            path: self.path.clone(),
            detail: e.to_string(),
        };
        if let Some(parent) = self.path.parent() {
            std::fs::create_dir_all(parent).map_err(fail)?;
        }
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec_pretty(self).expect("records serialise"),
        )
        .map_err(fail)?;
        std::fs::rename(&tmp, &self.path).map_err(fail)
    }
}

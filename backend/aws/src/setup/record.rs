//! The setup record: what `pier setup aws` created, in order, written after every creation so
//! an interrupted apply loses nothing. `pier teardown aws` walks it backwards and deletes
//! exactly those resources; anything that existed before setup is never in it, so it is never
//! touched. The record holds names and ARNs only, never a credential.
//!
//! It lives beside the config file (`<config dir>/pier/aws-<name>-<region>.json`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::setup::{Action, Change, Clients, Outputs, aws_error, code_of};
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
    LogGroup {
        name: String,
    },
}

impl Created {
    fn describe(&self) -> (&'static str, String) {
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
            Created::LogGroup { name } => ("log group", name.clone()),
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
    /// The last apply's outputs, for the config and the domain wizard.
    #[serde(default)]
    pub outputs: Outputs,
}

pub fn default_path(name: &str, region: &str) -> PathBuf {
    pier_core::config::config_path()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
        .join(format!("aws-{name}-{region}.json"))
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

/// Deletes recorded resources newest first. Each deletion is removed from the record as soon
/// as it is done, so an interrupted teardown resumes too. A bucket that still holds objects is
/// kept (deployments are the user's data) and reported.
pub async fn teardown(
    clients: &Clients,
    record: &mut SetupRecord,
) -> Result<Vec<Change>, PierError> {
    let mut changes = Vec::new();
    while let Some(resource) = record.created.last().cloned() {
        let (kind, name) = resource.describe();
        let kept = delete(clients, &resource).await?;
        record.created.pop();
        record.save()?;
        let change = Change::new(kind, &name, Action::Update);
        changes.push(match kept {
            Some(reason) => change.with_detail(format!("kept: {reason}")),
            None => change.with_detail("deleted"),
        });
    }
    record.outputs = Outputs::default();
    record.save()?;
    Ok(changes)
}

/// Deletes one resource; `Some(reason)` when it was deliberately kept. Already gone counts
/// as deleted.
async fn delete(clients: &Clients, resource: &Created) -> Result<Option<String>, PierError> {
    match resource {
        Created::Bucket { name } => {
            let listing = clients
                .s3
                .list_objects_v2()
                .bucket(name)
                .max_keys(1)
                .send()
                .await;
            match listing {
                Ok(page) if page.key_count().unwrap_or(0) > 0 => {
                    return Ok(Some(
                        "it holds deployments; empty it yourself if you mean to delete them".into(),
                    ));
                }
                Err(e) if code_of(&e) == "NoSuchBucket" => return Ok(None),
                Err(e) => return Err(aws_error("ListObjectsV2", e)),
                Ok(_) => {}
            }
            match clients.s3.delete_bucket().bucket(name).send().await {
                Ok(_) => Ok(None),
                Err(e) if code_of(&e) == "NoSuchBucket" => Ok(None),
                Err(e) => Err(aws_error("DeleteBucket", e)),
            }
        }
        Created::Queue { url } => match clients.sqs.delete_queue().queue_url(url).send().await {
            Ok(_) => Ok(None),
            Err(e) if code_of(&e).contains("NonExistentQueue") => Ok(None),
            Err(e) => Err(aws_error("DeleteQueue", e)),
        },
        Created::Role { name } => crate::setup::iam::delete_role(clients, name).await,
        Created::LogGroup { name } => crate::setup::logging::delete(clients, name).await,
        Created::SecurityGroup { id } => {
            match clients
                .ec2
                .delete_security_group()
                .group_id(id)
                .send()
                .await
            {
                Ok(_) => Ok(None),
                Err(e) if code_of(&e).contains("NotFound") => Ok(None),
                Err(e) => Err(aws_error("DeleteSecurityGroup", e)),
            }
        }
        Created::Cluster { name } => {
            match clients.ecs.delete_cluster().cluster(name).send().await {
                Ok(_) => Ok(None),
                Err(e) if code_of(&e) == "ClusterNotFoundException" => Ok(None),
                Err(e) => Err(aws_error("DeleteCluster", e)),
            }
        }
        Created::TaskDefinition { arn } => {
            match clients
                .ecs
                .deregister_task_definition()
                .task_definition(arn)
                .send()
                .await
            {
                Ok(_) => Ok(None),
                Err(e) if code_of(&e).contains("Client") => Ok(None),
                Err(e) => Err(aws_error("DeregisterTaskDefinition", e)),
            }
        }
        Created::LoadBalancer { arn } => {
            match clients
                .elb
                .delete_load_balancer()
                .load_balancer_arn(arn)
                .send()
                .await
            {
                Ok(_) => Ok(None),
                Err(e) if code_of(&e) == "LoadBalancerNotFound" => Ok(None),
                Err(e) => Err(aws_error("DeleteLoadBalancer", e)),
            }
        }
        Created::TargetGroup { arn } => {
            // The listener setup made forwards here and goes first (it belongs to the
            // balancer, which is deleted after this group).
            if let Ok(groups) = clients
                .elb
                .describe_target_groups()
                .target_group_arns(arn)
                .send()
                .await
            {
                for balancer in groups
                    .target_groups()
                    .iter()
                    .flat_map(|g| g.load_balancer_arns())
                {
                    let listeners = clients
                        .elb
                        .describe_listeners()
                        .load_balancer_arn(balancer)
                        .send()
                        .await
                        .map_err(|e| aws_error("DescribeListeners", e))?;
                    for listener in listeners.listeners() {
                        let forwards_here = listener
                            .default_actions()
                            .iter()
                            .any(|a| a.target_group_arn() == Some(arn.as_str()));
                        if let (true, Some(listener)) = (forwards_here, listener.listener_arn()) {
                            clients
                                .elb
                                .delete_listener()
                                .listener_arn(listener)
                                .send()
                                .await
                                .map_err(|e| aws_error("DeleteListener", e))?;
                        }
                    }
                }
            }
            match clients
                .elb
                .delete_target_group()
                .target_group_arn(arn)
                .send()
                .await
            {
                Ok(_) => Ok(None),
                Err(e) if code_of(&e) == "TargetGroupNotFound" => Ok(None),
                Err(e) => Err(aws_error("DeleteTargetGroup", e)),
            }
        }
        Created::Service { cluster, name } => {
            match clients
                .ecs
                .delete_service()
                .cluster(cluster)
                .service(name)
                .force(true)
                .send()
                .await
            {
                Ok(_) => Ok(None),
                Err(e)
                    if matches!(
                        code_of(&e),
                        "ServiceNotFoundException" | "ClusterNotFoundException"
                    ) =>
                {
                    Ok(None)
                }
                Err(e) => Err(aws_error("DeleteService", e)),
            }
        }
        Created::ScalableTarget { resource_id } => {
            match clients
                .scaling
                .deregister_scalable_target()
                .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
                .scalable_dimension(
                    aws_sdk_applicationautoscaling::types::ScalableDimension::EcsServiceDesiredCount,
                )
                .resource_id(resource_id)
                .send()
                .await
            {
                Ok(_) => Ok(None),
                Err(e) if code_of(&e) == "ObjectNotFoundException" => Ok(None),
                Err(e) => Err(aws_error("DeregisterScalableTarget", e)),
            }
        }
        Created::Certificate { arn } => {
            match clients
                .acm
                .delete_certificate()
                .certificate_arn(arn)
                .send()
                .await
            {
                Ok(_) => Ok(None),
                Err(e) if code_of(&e) == "ResourceNotFoundException" => Ok(None),
                Err(e) => Err(aws_error("DeleteCertificate", e)),
            }
        }
        Created::Distribution { id } => crate::setup::cdn::delete_distribution(clients, id).await,
        Created::RecordSet { zone, name, kind } => {
            crate::setup::cdn::delete_record(clients, zone, name, kind).await
        }
    }
}

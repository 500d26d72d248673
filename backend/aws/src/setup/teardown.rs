//! `pier teardown aws`: deletes what the setup record says setup created, newest first, and
//! nothing else. Each deletion leaves the record as soon as it is done, so an interrupted
//! teardown resumes too; a resource already gone counts as deleted; the store bucket is kept
//! while it holds objects (deployments are the user's data).

use crate::setup::record::{Created, SetupRecord};
use crate::setup::spec::{Action, Change, Clients, Outputs, aws_error, code_of};
use pier_core::error::PierError;

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
        Created::LatencyRecord {
            zone,
            name,
            kind,
            set_identifier,
        } => {
            crate::setup::cdn::delete_record(clients, zone, name, kind, Some(set_identifier)).await
        }
        Created::LogGroup { name } => crate::setup::logging::delete(clients, name).await,
        Created::FunctionsRuntime {
            bucket,
            key,
            prefix,
        } => crate::setup::functions::delete(clients, bucket, key, prefix).await,
        Created::Secret { arn } => crate::setup::secrets::delete(clients, arn).await,
        Created::EcrRepository { name } => {
            crate::setup::registry::delete_repository(clients, name).await?;
            Ok(None)
        }
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
            crate::setup::cdn::delete_record(clients, zone, name, kind, None).await
        }
    }
}

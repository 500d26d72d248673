//! Auto-scaling within the limits the user sets:
//! - the proxy service tracks requests per task (`ALBRequestCountPerTarget`);
//! - the builder workers track the build queue's visible jobs (`ApproximateNumberOfMessages
//!   Visible`), so the fleet grows when jobs wait and shrinks to the minimum (0 is allowed)
//!   when the queue is empty.

use aws_sdk_applicationautoscaling::types::{
    CustomizedMetricSpecification, MetricDimension, MetricStatistic, MetricType, PolicyType,
    PredefinedMetricSpecification, ScalableDimension, ServiceNamespace,
    TargetTrackingScalingPolicyConfiguration,
};

use crate::setup::record::{Created, SetupRecord};
use crate::setup::{Action, Change, Clients, Mode, Outputs, SetupSpec, TaskRange, aws_error};
use pier_core::error::PierError;

pub async fn ensure(
    clients: &Clients,
    spec: &SetupSpec,
    mode: Mode,
    record: &mut SetupRecord,
    out: &mut Outputs,
) -> Result<Vec<Change>, PierError> {
    let cluster = spec.resource("");
    let mut changes = Vec::new();
    let invalid = |e: aws_sdk_applicationautoscaling::error::BuildError| PierError::BadSetup {
        detail: e.to_string(),
    };
    let proxy_metric = match (&out.balancer_arn, &out.target_group_arn) {
        (Some(balancer), Some(group)) => {
            let label = format!(
                "{}/{}",
                balancer.split("loadbalancer/").nth(1).unwrap_or_default(),
                group.rsplit(':').next().unwrap_or_default()
            );
            Some(
                TargetTrackingScalingPolicyConfiguration::builder()
                    .target_value(f64::from(spec.proxy_requests_per_task))
                    .predefined_metric_specification(
                        PredefinedMetricSpecification::builder()
                            .predefined_metric_type(MetricType::AlbRequestCountPerTarget)
                            .resource_label(label)
                            .build()
                            .map_err(invalid)?,
                    )
                    .build()
                    .map_err(invalid)?,
            )
        }
        _ => None,
    };
    let builder_metric = TargetTrackingScalingPolicyConfiguration::builder()
        .target_value(f64::from(spec.jobs_per_builder.max(1)))
        .customized_metric_specification(
            CustomizedMetricSpecification::builder()
                .metric_name("ApproximateNumberOfMessagesVisible")
                .namespace("AWS/SQS")
                .dimensions(
                    MetricDimension::builder()
                        .name("QueueName")
                        .value(spec.resource("builds"))
                        .build()
                        .map_err(invalid)?,
                )
                .statistic(MetricStatistic::Average)
                .build(),
        )
        .build()
        .map_err(invalid)?;
    for (service, range, policy) in [
        (spec.resource("proxy"), spec.proxy_tasks, proxy_metric),
        (
            spec.resource("builders"),
            spec.builder_tasks,
            Some(builder_metric),
        ),
    ] {
        let resource_id = format!("service/{cluster}/{service}");
        let change = target(clients, &resource_id, range, policy, mode, record).await?;
        changes.push(change);
    }
    Ok(changes)
}

async fn target(
    clients: &Clients,
    resource_id: &str,
    range: TaskRange,
    policy: Option<TargetTrackingScalingPolicyConfiguration>,
    mode: Mode,
    record: &mut SetupRecord,
) -> Result<Change, PierError> {
    let scaling = &clients.scaling;
    let existing = scaling
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_ids(resource_id)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .send()
        .await
        .map_err(|e| aws_error("DescribeScalableTargets", e))?;
    let current = existing.scalable_targets().first();
    let action = match current {
        Some(t) if t.min_capacity() == range.min as i32 && t.max_capacity() == range.max as i32 => {
            Action::Exists
        }
        Some(_) => Action::Update,
        None => Action::Create,
    };
    let name = format!("{resource_id} ({}–{} tasks)", range.min, range.max);
    if !mode.applies() || action == Action::Exists {
        return Ok(Change::new("auto-scaling", &name, action));
    }
    scaling
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(resource_id)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .min_capacity(range.min as i32)
        .max_capacity(range.max as i32)
        .send()
        .await
        .map_err(|e| aws_error("RegisterScalableTarget", e))?;
    if action == Action::Create {
        record.created(Created::ScalableTarget {
            resource_id: resource_id.to_string(),
        })?;
    }
    if let Some(policy) = policy {
        // Policies go with their target on deregistration, so they are not recorded alone.
        scaling
            .put_scaling_policy()
            .policy_name("pier-target-tracking")
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(resource_id)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .policy_type(PolicyType::TargetTrackingScaling)
            .target_tracking_scaling_policy_configuration(policy)
            .send()
            .await
            .map_err(|e| aws_error("PutScalingPolicy", e))?;
    }
    Ok(Change::new("auto-scaling", &name, action))
}

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

use crate::setup::record::Created;
use crate::setup::spec::{Change, TaskRange, aws_error};
use crate::setup::step::{Found, Step};
use pier_core::error::PierError;

pub async fn ensure(step: &mut Step<'_>) -> Result<(), PierError> {
    let spec = step.spec;
    let cluster = spec.resource("");
    let invalid = |e: aws_sdk_applicationautoscaling::error::BuildError| PierError::BadSetup {
        detail: e.to_string(),
    };
    let proxy_metric = match (&step.out.balancer_arn, &step.out.target_group_arn) {
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
        if spec.serving_only && service != spec.resource("proxy") {
            continue; // the builders: the primary region's only
        }
        let resource_id = format!("service/{cluster}/{service}");
        target(step, &resource_id, range, policy).await?;
    }
    Ok(())
}

/// The service's scalable target with the user's task range, and its tracking policy.
async fn target(
    step: &mut Step<'_>,
    resource_id: &str,
    range: TaskRange,
    policy: Option<TargetTrackingScalingPolicyConfiguration>,
) -> Result<(), PierError> {
    let clients = step.clients;
    let scaling = &clients.scaling;
    let existing = scaling
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_ids(resource_id)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .send()
        .await
        .map_err(|e| aws_error("DescribeScalableTargets", e))?;
    let found = match existing.scalable_targets().first() {
        Some(t) if t.min_capacity() == range.min as i32 && t.max_capacity() == range.max as i32 => {
            Found::AsWanted(())
        }
        Some(_) => Found::Differs(()),
        None => Found::Missing,
    };
    let name = format!("{resource_id} ({}–{} tasks)", range.min, range.max);
    let corrects = !matches!(found, Found::AsWanted(_));
    step.ensure(
        Change::about("auto-scaling", &name),
        found,
        |existing| async move {
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
            let created = existing.is_none().then(|| Created::ScalableTarget {
                resource_id: resource_id.to_string(),
            });
            Ok(((), created))
        },
    )
    .await?;
    if let (true, true, Some(policy)) = (corrects, step.mode.applies(), policy) {
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
    Ok(())
}

//! The ECS Fargate runner: a build runs as a task of the builder task definition, with the
//! build's settings as container environment overrides. Status comes from DescribeTasks,
//! cancel is StopTask. The builder inside the task streams its log and uploads through the
//! same engine, so this side only starts, watches and stops tasks.
//!
//! Overrides are visible to anyone who may describe the task: secrets belong in the task
//! definition's `secrets` (Secrets Manager or SSM), never in [`EcsBuild::environment`].

use std::time::Duration;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, ContainerOverride, KeyValuePair, LaunchType,
    NetworkConfiguration, TaskOverride,
};

use pier_core::PierError;
pub use pier_core::config::EcsTarget;

/// One build to run remotely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsBuild {
    /// The deployment id the build will produce; tasks are tagged with it.
    pub deployment: String,
    pub environment: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    Starting,
    Running,
    Stopped,
}

pub struct EcsRunner {
    client: Client,
    target: EcsTarget,
}

impl EcsRunner {
    /// A runner through the standard AWS chain; `endpoint` points at an emulator in tests.
    pub async fn connect(target: EcsTarget, endpoint: Option<&str>) -> EcsRunner {
        let config = pier_core::aws::load(endpoint, None).await;
        EcsRunner {
            client: Client::new(&config),
            target,
        }
    }

    /// Starts the build's task; returns its ARN.
    pub async fn start(&self, build: &EcsBuild) -> Result<String, PierError> {
        let environment = build
            .environment
            .iter()
            .map(|(name, value)| KeyValuePair::builder().name(name).value(value).build())
            .chain(std::iter::once(
                KeyValuePair::builder()
                    .name("PIER_DEPLOYMENT_ID")
                    .value(&build.deployment)
                    .build(),
            ))
            .collect();
        let network = AwsVpcConfiguration::builder()
            .set_subnets(Some(self.target.subnets.clone()))
            .set_security_groups(Some(self.target.security_groups.clone()))
            .assign_public_ip(if self.target.assign_public_ip {
                AssignPublicIp::Enabled
            } else {
                AssignPublicIp::Disabled
            })
            .build()
            .map_err(|e| ecs_error("RunTask", e))?;
        let output = self
            .client
            .run_task()
            .cluster(&self.target.cluster)
            .task_definition(&self.target.task_definition)
            .launch_type(LaunchType::Fargate)
            .count(1)
            .started_by(format!(
                "pier-{}",
                &build.deployment[..build.deployment.len().min(30)]
            ))
            .network_configuration(
                NetworkConfiguration::builder()
                    .awsvpc_configuration(network)
                    .build(),
            )
            .overrides(
                TaskOverride::builder()
                    .container_overrides(
                        ContainerOverride::builder()
                            .name(&self.target.container)
                            .set_environment(Some(environment))
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .map_err(|e| ecs_error("RunTask", aws_sdk_ecs::error::DisplayErrorContext(e)))?;
        if let Some(failure) = output.failures().first() {
            return Err(PierError::BuildFailed {
                step: "start the builder task".into(),
                detail: failure
                    .reason()
                    .unwrap_or("ECS refused the task")
                    .to_string(),
            });
        }
        output
            .tasks()
            .first()
            .and_then(|task| task.task_arn())
            .map(str::to_string)
            .ok_or_else(|| PierError::BuildFailed {
                step: "start the builder task".into(),
                detail: "ECS started no task".into(),
            })
    }

    pub async fn state(&self, task: &str) -> Result<TaskState, PierError> {
        let output = self
            .client
            .describe_tasks()
            .cluster(&self.target.cluster)
            .tasks(task)
            .send()
            .await
            .map_err(|e| ecs_error("DescribeTasks", aws_sdk_ecs::error::DisplayErrorContext(e)))?;
        let status = output
            .tasks()
            .first()
            .and_then(|t| t.last_status())
            .unwrap_or("STOPPED");
        Ok(match status {
            "RUNNING" => TaskState::Running,
            "STOPPED" | "DEPROVISIONING" | "DEACTIVATING" | "STOPPING" => TaskState::Stopped,
            _ => TaskState::Starting,
        })
    }

    /// Cancels the build: ECS sends SIGTERM, then SIGKILL after the stop timeout.
    pub async fn stop(&self, task: &str, reason: &str) -> Result<(), PierError> {
        self.client
            .stop_task()
            .cluster(&self.target.cluster)
            .task(task)
            .reason(reason)
            .send()
            .await
            .map_err(|e| ecs_error("StopTask", aws_sdk_ecs::error::DisplayErrorContext(e)))?;
        Ok(())
    }

    /// Polls until the task stops or `limit` passes.
    pub async fn wait_stopped(&self, task: &str, limit: Duration) -> Result<bool, PierError> {
        let deadline = tokio::time::Instant::now() + limit;
        while tokio::time::Instant::now() < deadline {
            if self.state(task).await? == TaskState::Stopped {
                return Ok(true);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Ok(false)
    }
}

fn ecs_error(call: &str, error: impl std::fmt::Display) -> PierError {
    PierError::BuildFailed {
        step: format!("ECS {call}"),
        detail: error.to_string().chars().take(300).collect(),
    }
}

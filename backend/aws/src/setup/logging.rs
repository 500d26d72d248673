//! The CloudWatch Logs group the ECS tasks write to (`/pier/<name>`), with a retention the
//! user chooses, so a builder that dies before it reaches Redis, or a proxy that will not
//! start, still leaves its stderr somewhere. Each task writes under its own stream prefix
//! (`builder/…`, `proxy/…`) through the `awslogs` driver; the execution role's managed policy
//! already allows `logs:CreateLogStream` and `logs:PutLogEvents`.
//!
//! Build logs proper go through Redis and the store ([`pier_core::logs`]); this group is for the
//! container's own output.

use crate::setup::record::Created;
use crate::setup::spec::{Change, Clients, SetupSpec, aws_error, code_of};
use crate::setup::step::{Found, Step};
use pier_core::error::PierError;

pub use super::spec::RETENTION_DAYS;

pub fn group_name(spec: &SetupSpec) -> String {
    format!("/pier/{}", spec.name)
}

pub async fn ensure(step: &mut Step<'_>) -> Result<(), PierError> {
    step.out.log_group = ensure_group(step, &group_name(step.spec)).await?;
    Ok(())
}

/// A log group named `name`, kept as many days as the spec says; returns its name (none when a
/// plan found it missing).
pub async fn ensure_group(step: &mut Step<'_>, name: &str) -> Result<Option<String>, PierError> {
    let (clients, spec) = (step.clients, step.spec);
    let name = name.to_string();
    let found = clients
        .logs
        .describe_log_groups()
        .log_group_name_prefix(&name)
        .send()
        .await
        .map_err(|e| aws_error("DescribeLogGroups", e))?;
    let found = match found
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(name.as_str()))
    {
        Some(group) if group.retention_in_days() == Some(spec.log_retention_days) => {
            Found::AsWanted(name.clone())
        }
        Some(_) => Found::Differs(name.clone()),
        None => Found::Missing,
    };
    let about = Change::about("log group", &name)
        .with_detail(format!("kept {} days", spec.log_retention_days));
    step.ensure(about, found, |existing| async move {
        let mut created = None;
        if existing.is_none() {
            match clients
                .logs
                .create_log_group()
                .log_group_name(&name)
                .send()
                .await
            {
                // Made by a run that stopped before recording it: adopt it.
                Ok(_) => {}
                Err(e) if code_of(&e) == "ResourceAlreadyExistsException" => {}
                Err(e) => return Err(aws_error("CreateLogGroup", e)),
            }
            created = Some(Created::LogGroup { name: name.clone() });
        }
        clients
            .logs
            .put_retention_policy()
            .log_group_name(&name)
            .retention_in_days(spec.log_retention_days)
            .send()
            .await
            .map_err(|e| aws_error("PutRetentionPolicy", e))?;
        Ok((name.clone(), created))
    })
    .await
}

pub async fn delete(clients: &Clients, name: &str) -> Result<Option<String>, PierError> {
    match clients
        .logs
        .delete_log_group()
        .log_group_name(name)
        .send()
        .await
    {
        Ok(_) => Ok(None),
        Err(e) if code_of(&e) == "ResourceNotFoundException" => Ok(None),
        Err(e) => Err(aws_error("DeleteLogGroup", e)),
    }
}

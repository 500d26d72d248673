//! The CloudWatch Logs group the ECS tasks write to (`/pier/<name>`), with a retention the
//! user chooses, so a builder that dies before it reaches Redis, or a proxy that will not
//! start, still leaves its stderr somewhere. Each task writes under its own stream prefix
//! (`builder/…`, `proxy/…`) through the `awslogs` driver; the execution role's managed policy
//! already allows `logs:CreateLogStream` and `logs:PutLogEvents`.
//!
//! Build logs proper go through Redis and the store ([`pier_core::logs`]); this group is for the
//! container's own output.

use crate::setup::record::{Created, SetupRecord};
use crate::setup::{Action, Change, Clients, Mode, Outputs, SetupSpec, aws_error, code_of};
use pier_core::error::PierError;

/// Retention values CloudWatch Logs accepts, in days.
pub const RETENTION_DAYS: [i32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

pub fn group_name(spec: &SetupSpec) -> String {
    format!("/pier/{}", spec.name)
}

pub async fn ensure(
    clients: &Clients,
    spec: &SetupSpec,
    mode: Mode,
    record: &mut SetupRecord,
    out: &mut Outputs,
) -> Result<Vec<Change>, PierError> {
    let name = group_name(spec);
    let found = clients
        .logs
        .describe_log_groups()
        .log_group_name_prefix(&name)
        .send()
        .await
        .map_err(|e| aws_error("DescribeLogGroups", e))?;
    let existing = found
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(name.as_str()));
    let action = match existing {
        Some(group) if group.retention_in_days() == Some(spec.log_retention_days) => Action::Exists,
        Some(_) => Action::Update,
        None => Action::Create,
    };
    let retention = format!("kept {} days", spec.log_retention_days);
    if !mode.applies() {
        if existing.is_some() {
            out.log_group = Some(name.clone());
        }
        return Ok(vec![
            Change::new("log group", &name, action).with_detail(retention),
        ]);
    }
    if action == Action::Create {
        match clients
            .logs
            .create_log_group()
            .log_group_name(&name)
            .send()
            .await
        {
            Ok(_) => record.created(Created::LogGroup { name: name.clone() })?,
            // Made by a run that stopped before recording it: adopt it.
            Err(e) if code_of(&e) == "ResourceAlreadyExistsException" => {
                record.created(Created::LogGroup { name: name.clone() })?
            }
            Err(e) => return Err(aws_error("CreateLogGroup", e)),
        }
    }
    if action != Action::Exists {
        clients
            .logs
            .put_retention_policy()
            .log_group_name(&name)
            .retention_in_days(spec.log_retention_days)
            .send()
            .await
            .map_err(|e| aws_error("PutRetentionPolicy", e))?;
    }
    out.log_group = Some(name.clone());
    Ok(vec![
        Change::new("log group", &name, action).with_detail(retention),
    ])
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

//! The builders' secrets in AWS Secrets Manager: today the Redis URL live build logs go to,
//! which may carry a password. The value goes from the user's command line straight into a
//! secret `<name>-redis-url`; the builder task definition names the secret (`secrets` with
//! `valueFrom`), ECS resolves it with the execution role when a task starts, and the value is
//! never in a task definition, the setup record, a file or a log.
//!
//! Given a URL, setup creates the secret or corrects its value; without one, an existing
//! secret is kept and still used, so a re-run without `--redis-url` changes nothing.

use std::fmt;

use crate::setup::record::{Created, SetupRecord};
use crate::setup::{Action, Change, Clients, Mode, Outputs, SetupSpec, aws_error, code_of};
use pier_core::error::PierError;

/// A secret value on its way into Secrets Manager: never printed, serialised or logged.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    pub fn new(value: impl Into<String>) -> SecretValue {
        SecretValue(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(••••••)")
    }
}

/// The environment variable the builder reads the Redis URL from.
pub const REDIS_URL_VARIABLE: &str = "PIER_REDIS_URL";

pub async fn ensure(
    clients: &Clients,
    spec: &SetupSpec,
    mode: Mode,
    record: &mut SetupRecord,
    out: &mut Outputs,
) -> Result<Vec<Change>, PierError> {
    let name = spec.resource("redis-url");
    let secrets = &clients.secrets;
    let existing = match secrets.describe_secret().secret_id(&name).send().await {
        Ok(found) if found.deleted_date().is_none() => found.arn().map(str::to_string),
        Ok(_) => None,
        Err(e) if code_of(&e) == "ResourceNotFoundException" => None,
        Err(e) => return Err(aws_error("DescribeSecret", e)),
    };
    let change = match (existing, &spec.redis_url) {
        (None, None) => return Ok(Vec::new()),
        (Some(arn), None) => {
            out.redis_secret_arn = Some(arn);
            Change::new("secret", &name, Action::Exists)
        }
        (Some(arn), Some(wanted)) => {
            let current = secrets
                .get_secret_value()
                .secret_id(&arn)
                .send()
                .await
                .map_err(|e| aws_error("GetSecretValue", e))?;
            out.redis_secret_arn = Some(arn.clone());
            if current.secret_string() == Some(wanted.expose()) {
                Change::new("secret", &name, Action::Exists)
            } else {
                if mode.applies() {
                    secrets
                        .put_secret_value()
                        .secret_id(&arn)
                        .secret_string(wanted.expose())
                        .send()
                        .await
                        .map_err(|e| aws_error("PutSecretValue", e))?;
                }
                Change::new("secret", &name, Action::Update).with_detail("new value")
            }
        }
        (None, Some(wanted)) => {
            if mode.applies() {
                let created = secrets
                    .create_secret()
                    .name(&name)
                    .description("The Redis URL Pier's builders stream live build logs to")
                    .secret_string(wanted.expose())
                    .send()
                    .await
                    .map_err(|e| aws_error("CreateSecret", e))?;
                let arn = created.arn().unwrap_or_default().to_string();
                record.created(Created::Secret { arn: arn.clone() })?;
                out.redis_secret_arn = Some(arn);
            }
            Change::new("secret", &name, Action::Create)
        }
    };
    Ok(vec![change])
}

/// Deletes a secret setup made, at once (no recovery window: setup can make it again).
pub async fn delete(clients: &Clients, arn: &str) -> Result<Option<String>, PierError> {
    match clients
        .secrets
        .delete_secret()
        .secret_id(arn)
        .force_delete_without_recovery(true)
        .send()
        .await
    {
        Ok(_) => Ok(None),
        Err(e) if code_of(&e) == "ResourceNotFoundException" => Ok(None),
        Err(e) => Err(aws_error("DeleteSecret", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_value_never_prints() {
        let value = SecretValue::new("redis://:hunter2@cache.internal:6379");
        assert!(!format!("{value:?}").contains("hunter2"));
    }
}

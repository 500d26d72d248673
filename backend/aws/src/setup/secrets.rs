//! The builders' secrets in AWS Secrets Manager: today the Redis URL live build logs go to,
//! which may carry a password. The value goes from the user's command line straight into a
//! secret `<name>-redis-url`; the builder task definition names the secret (`secrets` with
//! `valueFrom`), ECS resolves it with the execution role when a task starts, and the value is
//! never in a task definition, the setup record, a file or a log.
//!
//! Given a URL, setup creates the secret or corrects its value; without one, an existing
//! secret is kept and still used, so a re-run without `--redis-url` changes nothing.

use crate::setup::record::Created;
use crate::setup::spec::{Change, Clients, aws_error, code_of};
use crate::setup::step::{Found, Step};
use pier_core::error::PierError;

pub use super::spec::SecretValue;

/// The environment variable the builder reads the Redis URL from.
pub const REDIS_URL_VARIABLE: &str = "PIER_REDIS_URL";

pub async fn ensure(step: &mut Step<'_>) -> Result<(), PierError> {
    let (clients, spec) = (step.clients, step.spec);
    let name = spec.resource("redis-url");
    let secrets = &clients.secrets;
    let existing = match secrets.describe_secret().secret_id(&name).send().await {
        Ok(found) if found.deleted_date().is_none() => found.arn().map(str::to_string),
        Ok(_) => None,
        Err(e) if code_of(&e) == "ResourceNotFoundException" => None,
        Err(e) => return Err(aws_error("DescribeSecret", e)),
    };
    let about = Change::about("secret", &name);
    let (found, wanted) = match (existing, &spec.redis_url) {
        (None, None) => return Ok(()),
        // Without a URL an existing secret is kept as it is.
        (Some(arn), None) => (Found::AsWanted(arn), None),
        (Some(arn), Some(wanted)) => {
            let current = secrets
                .get_secret_value()
                .secret_id(&arn)
                .send()
                .await
                .map_err(|e| aws_error("GetSecretValue", e))?;
            if current.secret_string() == Some(wanted.expose()) {
                (Found::AsWanted(arn), Some(wanted))
            } else {
                (Found::Differs(arn), Some(wanted))
            }
        }
        (None, Some(wanted)) => (Found::Missing, Some(wanted)),
    };
    let about = match found {
        Found::Differs(_) => about.with_detail("new value"),
        _ => about,
    };
    let arn = step
        .ensure(about, found, |existing| async move {
            let wanted = wanted.expect("a secret is only written when a value is given");
            if let Some(arn) = existing {
                secrets
                    .put_secret_value()
                    .secret_id(&arn)
                    .secret_string(wanted.expose())
                    .send()
                    .await
                    .map_err(|e| aws_error("PutSecretValue", e))?;
                return Ok((arn, None));
            }
            let created = secrets
                .create_secret()
                .name(&name)
                .description("The Redis URL Pier's builders stream live build logs to")
                .secret_string(wanted.expose())
                .send()
                .await
                .map_err(|e| aws_error("CreateSecret", e))?;
            let arn = created.arn().unwrap_or_default().to_string();
            Ok((arn.clone(), Some(Created::Secret { arn })))
        })
        .await?;
    step.out.redis_secret_arn = arn;
    Ok(())
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

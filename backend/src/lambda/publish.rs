//! Puts bundles on Lambda and takes unused versions off it (feature `lambda`).
//!
//! Publishing a bundle as a version of its project's function: the zip goes into the store
//! (`lambda/code/<sha256>.zip`, deleted once Lambda has copied it), then either
//! `CreateFunction` with `Publish`, or `UpdateFunctionCode` → `UpdateFunctionConfiguration` →
//! `PublishVersion`, each step waiting until Lambda has applied the one before (an update in
//! progress refuses the next with `ResourceConflictException`). `PublishVersion` names the
//! `CodeSha256` and the `RevisionId` the last update returned, so a concurrent deploy of the
//! same project that changed `$LATEST` in between makes it fail (and start over) instead of
//! publishing the other deploy's code under this bundle.
//!
//! gc deletes a version (`DeleteFunction` with its qualifier) once no manifest and no live
//! lease names its bundle, then its record.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use aws_sdk_lambda::Client;
use aws_sdk_lambda::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::types::{
    Environment, FunctionCode, FunctionConfiguration, LastUpdateStatus, LogFormat, LoggingConfig,
    Runtime, State,
};
use bytes::Bytes;

use super::package::Packed;
use super::{
    ENTRY_HANDLER, LambdaError, LambdaSettings, LambdaVersion, MAX_TIMEOUT_SECS, MEMORY_MB,
    read_version,
};
use crate::error::PierError;
use crate::manifest::FunctionBundle;
use crate::records::write_json;
use crate::store::{AwsPlace, Condition, PutOptions, Store, StoreError, keys, list_all};

/// How often a publish starts over after another deploy changed the function under it.
const ATTEMPTS: u32 = 5;
/// How long Lambda may take to apply one update.
const UPDATE_LIMIT: Duration = Duration::from_secs(120);

/// Publishes bundles of one store's projects.
pub struct Publisher {
    client: Client,
    settings: LambdaSettings,
    place: AwsPlace,
}

impl Publisher {
    pub fn new(place: AwsPlace, settings: LambdaSettings) -> Publisher {
        Publisher {
            client: Client::new(&place.config),
            settings,
            place,
        }
    }

    /// The version `bundle_id` is in the project's function, publishing it first when it has
    /// none. `pack` is called only then, on a blocking thread (it reads and compresses the
    /// bundle, up to 250 MiB).
    pub async fn ensure(
        &self,
        store: &dyn Store,
        project: &str,
        bundle_id: &str,
        bundle: &FunctionBundle,
        variables: &BTreeMap<String, String>,
        pack: impl FnOnce() -> Result<Packed, LambdaError> + Send + 'static,
    ) -> Result<LambdaVersion, PierError> {
        if let Some(version) = read_version(store, project, bundle_id).await? {
            return Ok(version);
        }
        let packed =
            tokio::task::spawn_blocking(pack)
                .await
                .map_err(|e| LambdaError::Package {
                    function: bundle.settings.handler.clone(),
                    detail: e.to_string(),
                })??;
        let code_key = keys::lambda_code(&packed.sha256_hex);
        store
            .put(&code_key, Bytes::from(packed.bytes), PutOptions::default())
            .await?;
        let published = self
            .publish(project, bundle, variables, &code_key, &packed.sha256_base64)
            .await;
        // Lambda holds its own copy now; a zip left by a failure is collected by gc.
        let _ = store.delete(std::slice::from_ref(&code_key)).await;
        let version = published?;
        let create = PutOptions::json().with_condition(Condition::IfNoneMatch);
        match write_json(
            store,
            &keys::lambda_version(project, bundle_id),
            &version,
            create,
        )
        .await
        {
            Ok(_) => Ok(version),
            // Another deploy of the same bundle recorded it first: the same code and settings.
            Err(PierError::Store(StoreError::PreconditionFailed { .. })) => {
                Ok(read_version(store, project, bundle_id)
                    .await?
                    .unwrap_or(version))
            }
            Err(other) => Err(other),
        }
    }

    async fn publish(
        &self,
        project: &str,
        bundle: &FunctionBundle,
        variables: &BTreeMap<String, String>,
        code_key: &str,
        code_sha256: &str,
    ) -> Result<LambdaVersion, LambdaError> {
        let name = self.settings.function_name(project);
        let s3_key = format!("{}{code_key}", self.place.prefix);
        for _ in 0..ATTEMPTS {
            let current = match self
                .client
                .get_function_configuration()
                .function_name(&name)
                .send()
                .await
            {
                Ok(current) => Some(current),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_resource_not_found_exception()) =>
                {
                    None
                }
                Err(e) => return Err(refused("GetFunctionConfiguration", &name, e)),
            };
            let Some(_) = current else {
                match self
                    .create(&name, project, bundle, variables, &s3_key)
                    .await
                {
                    Ok(created) => return self.version_of(&name, created),
                    // Another deploy created it a moment ago: update it instead.
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|e| e.is_resource_conflict_exception()) =>
                    {
                        continue;
                    }
                    Err(e) => return Err(refused("CreateFunction", &name, e)),
                }
            };
            self.settled(&name).await?;
            let updated = self
                .client
                .update_function_code()
                .function_name(&name)
                .s3_bucket(&self.place.bucket)
                .s3_key(&s3_key)
                .send()
                .await;
            match updated {
                Ok(_) => {}
                Err(e) if conflict(&e) => continue,
                Err(e) => return Err(refused("UpdateFunctionCode", &name, e)),
            }
            self.settled(&name).await?;
            let configured = self
                .client
                .update_function_configuration()
                .function_name(&name)
                .role(&self.settings.role_arn)
                .handler(ENTRY_HANDLER)
                .runtime(Runtime::from(bundle.settings.runtime.as_str()))
                .memory_size(memory(bundle))
                .timeout(timeout(bundle))
                .environment(environment(variables))
                .set_logging_config(self.logging())
                .send()
                .await;
            match configured {
                Ok(_) => {}
                Err(e) if conflict(&e) => continue,
                Err(e) => return Err(refused("UpdateFunctionConfiguration", &name, e)),
            }
            let revision = self.settled(&name).await?.revision_id;
            let published = self
                .client
                .publish_version()
                .function_name(&name)
                .code_sha256(code_sha256)
                .set_revision_id(revision)
                .send()
                .await;
            match published {
                Ok(published) => {
                    return self.version_of(
                        &name,
                        FunctionConfiguration::builder()
                            .set_version(published.version)
                            .set_function_arn(published.function_arn)
                            .set_code_sha256(published.code_sha256)
                            .build(),
                    );
                }
                Err(e)
                    if conflict(&e)
                        || e.as_service_error()
                            .is_some_and(|e| e.is_precondition_failed_exception())
                        || code_changed_underneath(e.code(), e.message()) =>
                {
                    continue;
                }
                Err(e) => return Err(refused("PublishVersion", &name, e)),
            }
        }
        Err(LambdaError::Contended { function: name })
    }

    async fn create(
        &self,
        name: &str,
        project: &str,
        bundle: &FunctionBundle,
        variables: &BTreeMap<String, String>,
        s3_key: &str,
    ) -> Result<
        FunctionConfiguration,
        SdkError<aws_sdk_lambda::operation::create_function::CreateFunctionError>,
    > {
        let created = self
            .client
            .create_function()
            .function_name(name)
            .description(format!("Pier functions of the project {project}"))
            .role(&self.settings.role_arn)
            .handler(ENTRY_HANDLER)
            .runtime(Runtime::from(bundle.settings.runtime.as_str()))
            .memory_size(memory(bundle))
            .timeout(timeout(bundle))
            .environment(environment(variables))
            .set_logging_config(self.logging())
            .code(
                FunctionCode::builder()
                    .s3_bucket(&self.place.bucket)
                    .s3_key(s3_key)
                    .build(),
            )
            .tags("pier:project", project)
            .publish(true)
            .send()
            .await?;
        Ok(FunctionConfiguration::builder()
            .set_version(created.version)
            .set_function_arn(created.function_arn)
            .set_code_sha256(created.code_sha256)
            .build())
    }

    fn logging(&self) -> Option<LoggingConfig> {
        self.settings.log_group.as_ref().map(|group| {
            LoggingConfig::builder()
                .log_format(LogFormat::Text)
                .log_group(group)
                .build()
        })
    }

    fn version_of(
        &self,
        name: &str,
        published: FunctionConfiguration,
    ) -> Result<LambdaVersion, LambdaError> {
        let incomplete = || LambdaError::Refused {
            action: "PublishVersion",
            function: name.to_string(),
            detail: "the answer named no version".into(),
        };
        let version = published.version.ok_or_else(incomplete)?;
        let unqualified = published.function_arn.ok_or_else(incomplete)?;
        // CreateFunction answers with the unqualified ARN; PublishVersion with the version's.
        let arn = if unqualified.ends_with(&format!(":{version}")) {
            unqualified
        } else {
            format!("{unqualified}:{version}")
        };
        Ok(LambdaVersion {
            function_name: name.to_string(),
            version,
            arn,
            code_sha256: published.code_sha256.unwrap_or_default(),
        })
    }

    /// Waits until the function is not being updated, and returns its configuration.
    async fn settled(&self, name: &str) -> Result<FunctionConfiguration, LambdaError> {
        let started = tokio::time::Instant::now();
        loop {
            let current = self
                .client
                .get_function_configuration()
                .function_name(name)
                .send()
                .await
                .map_err(|e| refused("GetFunctionConfiguration", name, e))?;
            let updating = current.last_update_status == Some(LastUpdateStatus::InProgress)
                || current.state == Some(State::Pending);
            if current.last_update_status == Some(LastUpdateStatus::Failed) {
                return Err(LambdaError::Refused {
                    action: "UpdateFunction",
                    function: name.to_string(),
                    detail: current
                        .last_update_status_reason
                        .unwrap_or_else(|| "the last update failed".into()),
                });
            }
            if !updating {
                return Ok(FunctionConfiguration::builder()
                    .set_revision_id(current.revision_id)
                    .build());
            }
            if started.elapsed() > UPDATE_LIMIT {
                return Err(LambdaError::Refused {
                    action: "UpdateFunction",
                    function: name.to_string(),
                    detail: format!("still updating after {} s", UPDATE_LIMIT.as_secs()),
                });
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Of `candidates` (records under `lambda/versions/`, listed before the manifests and
    /// leases were read), deletes the versions whose `(project, bundle)` is not in `live`, then
    /// their records; returns how many. Also removes zips that an interrupted publish left under
    /// `lambda/code/` more than an hour ago (a publish takes seconds).
    pub async fn prune(
        &self,
        store: &dyn Store,
        candidates: Vec<crate::store::ObjectMeta>,
        live: &HashSet<(String, String)>,
        dry_run: bool,
    ) -> Result<u64, PierError> {
        let mut removed = 0;
        for meta in candidates {
            let Some((project, file)) = meta
                .key
                .strip_prefix(keys::LAMBDA_VERSIONS)
                .and_then(|rest| rest.split_once('/'))
            else {
                continue;
            };
            let bundle = keys::stem(file);
            if live.contains(&(project.to_string(), bundle.to_string())) {
                continue;
            }
            removed += 1;
            if dry_run {
                continue;
            }
            if let Some(version) = read_version(store, project, bundle).await? {
                let deleted = self
                    .client
                    .delete_function()
                    .function_name(&version.function_name)
                    .qualifier(&version.version)
                    .send()
                    .await;
                match deleted {
                    Ok(_) => {}
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|e| e.is_resource_not_found_exception()) => {}
                    Err(e) => {
                        return Err(refused("DeleteFunction", &version.function_name, e).into());
                    }
                }
            }
            store.delete(std::slice::from_ref(&meta.key)).await?;
        }
        if !dry_run {
            let an_hour_ago = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
            let stale: Vec<String> = list_all(store, keys::LAMBDA_CODE)
                .await?
                .into_iter()
                .filter(|meta| meta.last_modified.is_some_and(|at| at < an_hour_ago))
                .map(|meta| meta.key)
                .collect();
            store.delete(&stale).await?;
        }
        Ok(removed)
    }
}

fn memory(bundle: &FunctionBundle) -> i32 {
    bundle
        .settings
        .memory_mb
        .clamp(*MEMORY_MB.start(), *MEMORY_MB.end()) as i32
}

fn timeout(bundle: &FunctionBundle) -> i32 {
    bundle.settings.max_duration_secs.clamp(1, MAX_TIMEOUT_SECS) as i32
}

fn environment(variables: &BTreeMap<String, String>) -> Environment {
    Environment::builder()
        .set_variables(Some(variables.clone().into_iter().collect()))
        .build()
}

fn conflict<E: ProvideErrorMetadata>(error: &SdkError<E>) -> bool {
    error.code() == Some("ResourceConflictException")
}

/// Whether PublishVersion refused because the code changed after this deploy updated it
/// (another deploy of the same project got in between): Lambda says so with an
/// InvalidParameterValueException naming CodeSHA256. Any other invalid value is this deploy's
/// own mistake, and trying again would not mend it.
fn code_changed_underneath(code: Option<&str>, message: Option<&str>) -> bool {
    code == Some("InvalidParameterValueException")
        && message.is_some_and(|message| message.to_ascii_lowercase().contains("codesha256"))
}

fn refused<E>(action: &'static str, function: &str, error: SdkError<E>) -> LambdaError
where
    E: std::error::Error + Send + Sync + 'static,
{
    LambdaError::Refused {
        action,
        function: function.to_string(),
        detail: DisplayErrorContext(&error).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::code_changed_underneath;

    #[test]
    fn only_a_changed_code_hash_is_worth_another_try() {
        let invalid = Some("InvalidParameterValueException");
        assert!(code_changed_underneath(
            invalid,
            Some(
                "CodeSHA256 (abc=) is different from current CodeSHA256 in $LATEST (def=). Please try again with the CodeSHA256 in $LATEST."
            )
        ));
        assert!(!code_changed_underneath(
            invalid,
            Some("The runtime parameter of nodejs99.x is not supported")
        ));
        assert!(!code_changed_underneath(invalid, None));
        assert!(!code_changed_underneath(
            Some("ServiceException"),
            Some("CodeSHA256")
        ));
    }
}

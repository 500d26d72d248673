//! Build jobs: one build, described completely enough to run anywhere. The CLI runs a job on
//! this machine; the builder image runs one handed to it by ECS (`PIER_BUILD_JOB`) or taken
//! from the SQS build queue. Whatever runs it, the same code fetches the source (a shallow git
//! clone, an uploaded source archive, or a local folder), builds, deploys under the job's
//! deployment id, and writes the log.
//!
//! A job travels as JSON through places other people can read (task overrides, queue
//! messages), so it never holds a secret value: secrets are named in
//! [`BuildJob::secret_names`] and the builder takes their values from its own environment,
//! where the task definition puts them from Secrets Manager or SSM.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::builds::detect::BuildOverrides;
use crate::builds::{BuildRequest, EnvVar};
use crate::deploy::DeployOutcome;
use crate::error::PierError;
use crate::logs::{BuildStatus, LogWriter};
use crate::manifest::Source;
use crate::progress::Progress;
use crate::regions::Regions;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JobSource {
    /// A shallow clone of `reference` (the default branch when `None`).
    Git {
        url: String,
        reference: Option<String>,
    },
    /// A source archive in the store ([`crate::builds::archive`]); `folder` is where it was
    /// packed, for the deployment's record.
    Archive { key: String, folder: String },
    /// A folder on this machine, built in place (local runner only).
    Folder { path: PathBuf },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildJob {
    /// The id the deployment will have; the build log lives under it from the start.
    pub deployment: String,
    pub project: String,
    #[serde(default)]
    pub production: bool,
    pub source: JobSource,
    #[serde(default)]
    pub overrides: BuildOverrides,
    /// Plain (non-secret) variables.
    #[serde(default)]
    pub env: Vec<EnvVar>,
    /// Secret variables, by name; their values come from the runner's environment.
    #[serde(default)]
    pub secret_names: Vec<String>,
    /// Set when `env` and `secret_names` are the project's `pier env` at this revision: its
    /// functions then get the same variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_revision: Option<String>,
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

fn default_timeout_secs() -> u64 {
    crate::builds::DEFAULT_TIMEOUT.as_secs()
}

impl BuildJob {
    /// Whose build this is, as the build history records it.
    pub(crate) fn owner(&self) -> crate::builds::Owner<'_> {
        crate::builds::Owner {
            project: &self.project,
            production: self.production,
        }
    }

    /// A job for `source` with a fresh deployment id.
    pub fn new(project: &str, production: bool, source: JobSource) -> BuildJob {
        BuildJob {
            deployment: crate::manifest::new_id(time::OffsetDateTime::now_utc()),
            project: project.to_string(),
            production,
            source,
            overrides: BuildOverrides::default(),
            env: Vec::new(),
            secret_names: Vec::new(),
            env_revision: None,
            timeout_secs: default_timeout_secs(),
        }
    }

    /// Gives the build, and the functions it deploys, the project's `pier env`: plain values
    /// travel in the job, secrets by name only.
    pub fn with_project_env(mut self, env: &crate::project_env::FunctionEnv) -> BuildJob {
        self.env = env
            .plain
            .iter()
            .map(|(name, value)| EnvVar {
                name: name.clone(),
                value: value.clone(),
                secret: false,
            })
            .collect();
        self.secret_names = env.secrets.keys().cloned().collect();
        self.env_revision = Some(env.revision.clone());
        self
    }

    /// Refuses a job that is malformed, or that carries a secret value where others can read
    /// it. Runners call this before doing anything, so a bad message fails fast and clearly.
    pub fn validate(&self) -> Result<(), PierError> {
        if !crate::manifest::is_id(&self.deployment) {
            return Err(PierError::BadJob {
                detail: format!("`{}` is not a deployment id", self.deployment),
            });
        }
        crate::project_name::validate(&self.project)?;
        match &self.source {
            JobSource::Git { url, reference } => {
                crate::builds::git::validate_url(url)?;
                if let Some(reference) = reference {
                    crate::builds::git::validate_ref(reference)?;
                }
            }
            JobSource::Archive { key, .. } => {
                let hex = key
                    .strip_prefix("sources/")
                    .and_then(|rest| rest.strip_suffix(".tar.gz"))
                    .unwrap_or("");
                if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(PierError::BadJob {
                        detail: format!("`{key}` is not a source archive key"),
                    });
                }
            }
            JobSource::Folder { .. } => {}
        }
        if let Some(var) = self.env.iter().find(|var| var.secret) {
            return Err(PierError::BadJob {
                detail: format!(
                    "the secret `{}` has its value in the job; name it in secret_names instead",
                    var.name
                ),
            });
        }
        if self.timeout_secs == 0 {
            return Err(PierError::BadJob {
                detail: "the time limit is 0 s".into(),
            });
        }
        Ok(())
    }

    /// The build's environment: the plain variables, then each named secret read from
    /// `lookup` (the runner's own environment).
    pub fn environment(
        &self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Vec<EnvVar>, PierError> {
        let mut env = self.env.clone();
        for name in &self.secret_names {
            let value = lookup(name).ok_or_else(|| PierError::BuildFailed {
                step: "read secrets".into(),
                detail: format!(
                    "the secret `{name}` is not in the builder's environment; add it to the \
                     builder task definition's secrets"
                ),
            })?;
            env.push(EnvVar {
                name: name.clone(),
                value,
                secret: true,
            });
        }
        Ok(env)
    }
}

/// How a job runs here.
pub struct JobContext<'a> {
    /// The log, opened by the caller with the job's secrets to mask.
    pub log: &'a LogWriter,
    pub env: Vec<EnvVar>,
    pub cancel: &'a CancellationToken,
    pub progress: &'a Progress,
    /// Where clones and unpacked archives go; removed by the caller.
    pub workdir: &'a Path,
    /// See [`BuildRequest::store_cache`].
    pub store_cache: bool,
    /// When a transient failure (store or network) may be retried by the caller, it leaves the
    /// log open with a non-terminal status instead of marking the build failed.
    pub retry_on_transient: bool,
}

/// Fetches the source, builds and deploys. Writes the terminal status and archives the log,
/// except for a transient failure the caller retries.
pub async fn run(
    regions: &Regions,
    job: &BuildJob,
    context: JobContext<'_>,
) -> Result<DeployOutcome, PierError> {
    let owner = job.owner();
    owner.started(regions.primary_store(), context.log).await;
    let result = fetch_and_build(regions, job, &context).await;
    match &result {
        Err(error) if context.retry_on_transient && error.is_transient() => {
            context
                .log
                .status(
                    BuildStatus::Queued,
                    Some(format!("{error}; the build will be retried")),
                )
                .await;
            context.log.flush().await;
        }
        _ => {
            let outcome = result.as_ref().map(|_| ());
            crate::builds::conclude(regions.primary_store(), context.log, owner, outcome).await
        }
    }
    result
}

async fn fetch_and_build(
    regions: &Regions,
    job: &BuildJob,
    context: &JobContext<'_>,
) -> Result<DeployOutcome, PierError> {
    job.validate()?;
    let timeout = Duration::from_secs(job.timeout_secs);
    let checkout = context.workdir.join("source");
    let (dir, source) = match &job.source {
        JobSource::Git { url, reference } => {
            crate::builds::git::clone(url, reference.as_deref(), &checkout, context.log, timeout)
                .await?;
            (
                checkout,
                Source::Git {
                    url: url.clone(),
                    reference: reference.clone().unwrap_or_else(|| "HEAD".into()),
                },
            )
        }
        JobSource::Archive { key, folder } => {
            context.log.status(BuildStatus::Cloning, None).await;
            context
                .log
                .line(
                    crate::logs::LogStream::System,
                    &format!("Unpacking the uploaded source of {folder}"),
                )
                .await;
            crate::builds::archive::download(regions.primary_store(), key, &checkout).await?;
            (
                checkout,
                Source::Folder {
                    path: folder.clone(),
                    host: None,
                },
            )
        }
        JobSource::Folder { path } => {
            crate::scan::check_folder(path)?;
            let absolute = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            (
                path.clone(),
                Source::Folder {
                    path: absolute.display().to_string(),
                    host: None,
                },
            )
        }
    };
    let request = BuildRequest {
        dir,
        project: job.project.clone(),
        production: job.production,
        overrides: job.overrides.clone(),
        env: context.env.clone(),
        timeout,
        source: Some(source),
        store_cache: context.store_cache,
        env_revision: job.env_revision.clone(),
    };
    crate::builds::run_build(
        regions,
        &request,
        context.log,
        context.cancel,
        context.progress,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(source: JobSource) -> BuildJob {
        BuildJob::new("site", false, source)
    }

    #[test]
    fn malformed_jobs_are_refused_before_anything_runs() {
        let git = JobSource::Git {
            url: "https://example.com/site.git".into(),
            reference: Some("main".into()),
        };
        job(git.clone()).validate().unwrap();
        let mut bad_id = job(git.clone());
        bad_id.deployment = "../../etc".into();
        assert!(bad_id.validate().is_err());
        let mut leaked = job(git.clone());
        leaked.env.push(EnvVar {
            name: "TOKEN".into(),
            value: "s3cr3t".into(),
            secret: true,
        });
        let error = leaked.validate().unwrap_err().to_string();
        assert!(
            error.contains("TOKEN") && !error.contains("s3cr3t"),
            "{error}"
        );
        let sneaky_key = job(JobSource::Archive {
            key: "deployments/x.json".into(),
            folder: "/tmp".into(),
        });
        assert!(sneaky_key.validate().is_err());
        let option_url = job(JobSource::Git {
            url: "--upload-pack=touch /tmp/x".into(),
            reference: None,
        });
        assert!(option_url.validate().is_err());
    }

    #[test]
    fn secrets_come_from_the_runner_and_a_missing_one_is_named() {
        let mut with_secret = job(JobSource::Folder { path: ".".into() });
        with_secret.secret_names = vec!["API_TOKEN".into()];
        let env = with_secret
            .environment(|name| (name == "API_TOKEN").then(|| "tok-123".to_string()))
            .unwrap();
        assert_eq!(env.len(), 1);
        assert!(env[0].secret && env[0].value == "tok-123");
        let missing = with_secret.environment(|_| None).unwrap_err().to_string();
        assert!(missing.contains("API_TOKEN"), "{missing}");
    }

    #[test]
    fn jobs_round_trip_as_json() {
        let original = job(JobSource::Archive {
            key: format!("sources/{}.tar.gz", "a".repeat(64)),
            folder: "/home/me/site".into(),
        });
        let text = serde_json::to_string(&original).unwrap();
        assert_eq!(serde_json::from_str::<BuildJob>(&text).unwrap(), original);
    }
}

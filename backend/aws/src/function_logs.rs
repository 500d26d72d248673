//! `pier logs --functions` on AWS: a project's function output, from CloudWatch Logs. Every
//! version logs to the functions' log group `pier setup aws` made (Lambda's `LoggingConfig`),
//! where Lambda names each stream `<date>/<function name>[<version>]<instance>`, so the
//! project's lines are those whose stream names its function; a store whose settings name no
//! group uses Lambda's default, `/aws/lambda/<function name>`, which holds that function alone.
//! Lines come in time order; `follow` polls from the newest one seen. [`FunctionOutput`] picks
//! CloudWatch or this machine's function log for a store, and masks secrets.

use std::borrow::Cow;
use std::collections::HashSet;

use aws_sdk_cloudwatchlogs::Client;
use pier_core::error::PierError;
use pier_core::functions::log::FunctionLogLine;
use pier_core::lambda::LambdaSettings;

use crate::setup::aws_error;
use time::OffsetDateTime;

/// Reads a project's function output from CloudWatch.
pub struct FunctionLogs {
    client: Client,
    group: String,
    function: String,
    /// Only streams of this function, in a group shared by every project.
    shared: bool,
    /// Event ids already returned at the newest timestamp, so a poll repeats none.
    seen: HashSet<String>,
    since_ms: i64,
}

impl FunctionLogs {
    pub fn new(
        config: &aws_config::SdkConfig,
        settings: &LambdaSettings,
        project: &str,
        since: OffsetDateTime,
    ) -> FunctionLogs {
        let function = settings.function_name(project);
        let (group, shared) = match &settings.log_group {
            Some(group) => (group.clone(), true),
            None => (format!("/aws/lambda/{function}"), false),
        };
        FunctionLogs {
            client: Client::new(config),
            group,
            function,
            shared,
            seen: HashSet::new(),
            since_ms: (since.unix_timestamp_nanos() / 1_000_000) as i64,
        }
    }

    /// The lines logged since the last call (or since `since`, the first time).
    pub async fn next_batch(&mut self) -> Result<Vec<FunctionLogLine>, PierError> {
        let mut lines = Vec::new();
        let mut token = None;
        let mut newest = self.since_ms;
        let mut newest_ids = HashSet::new();
        loop {
            let page = match self
                .client
                .filter_log_events()
                .log_group_name(&self.group)
                .start_time(self.since_ms)
                .set_next_token(token)
                .send()
                .await
            {
                Ok(page) => page,
                // No function has logged yet: nothing to show.
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_resource_not_found_exception()) =>
                {
                    return Ok(Vec::new());
                }
                Err(e) => return Err(aws_error("FilterLogEvents", e)),
            };
            for event in page.events() {
                let (Some(id), Some(at), Some(message)) =
                    (event.event_id(), event.timestamp(), event.message())
                else {
                    continue;
                };
                let stream = event.log_stream_name().unwrap_or_default();
                if self.shared && !stream.contains(&format!("/{}[", self.function)) {
                    continue;
                }
                if self.seen.contains(id) {
                    continue;
                }
                match at.cmp(&newest) {
                    std::cmp::Ordering::Greater => {
                        newest = at;
                        newest_ids.clear();
                        newest_ids.insert(id.to_string());
                    }
                    std::cmp::Ordering::Equal => {
                        newest_ids.insert(id.to_string());
                    }
                    std::cmp::Ordering::Less => {}
                }
                let version = stream
                    .split_once('[')
                    .and_then(|(_, rest)| rest.split_once(']'))
                    .map_or("", |(version, _)| version);
                lines.push(FunctionLogLine {
                    at: OffsetDateTime::from_unix_timestamp_nanos(i128::from(at) * 1_000_000)
                        .unwrap_or(OffsetDateTime::UNIX_EPOCH),
                    function: format!("{} version {version}", self.function),
                    stream: "stdout".into(),
                    text: message.trim_end().to_string(),
                });
            }
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        if newest > self.since_ms {
            self.seen = newest_ids;
        } else {
            self.seen.extend(newest_ids);
        }
        self.since_ms = newest;
        lines.sort_by_key(|line| line.at);
        Ok(lines)
    }
}

/// A project's function output wherever its functions run: CloudWatch when the store's
/// functions are on Lambda, else this machine's function log (`work_dir` is the local runtime's
/// folder). What `pier logs --functions` and the desktop's Logs screen both read; every secret
/// value named in `secrets` is masked in what it returns.
pub struct FunctionOutput {
    source: Source,
    masker: pier_core::logs::Masker,
}

enum Source {
    CloudWatch(FunctionLogs),
    Local {
        path: std::path::PathBuf,
        offset: u64,
        since: OffsetDateTime,
    },
}

/// How often to ask this machine's log again when following.
const POLL_LOCAL: std::time::Duration = std::time::Duration::from_millis(500);
/// CloudWatch is asked less often: it is a paid API, and lines arrive there in batches.
const POLL_CLOUDWATCH: std::time::Duration = std::time::Duration::from_secs(2);

impl FunctionOutput {
    pub async fn open(
        store: &dyn pier_core::store::Store,
        work_dir: &std::path::Path,
        project: &str,
        since: OffsetDateTime,
        secrets: Vec<String>,
    ) -> Result<FunctionOutput, PierError> {
        use pier_core::lambda::{FunctionsRuntime, read_runtime};
        pier_core::project_name::validate(project)?;
        let source = match read_runtime(store).await? {
            Some(FunctionsRuntime::Lambda(settings)) => {
                let place = store
                    .aws()
                    .ok_or_else(|| pier_core::error::LambdaError::NotS3 { store: store.url() })?;
                Source::CloudWatch(FunctionLogs::new(&place.config, &settings, project, since))
            }
            None => Source::Local {
                path: pier_core::functions::log::path(work_dir, project),
                offset: 0,
                since,
            },
        };
        Ok(FunctionOutput {
            source,
            masker: pier_core::logs::Masker::new(secrets),
        })
    }

    /// The lines after those already returned.
    pub async fn next_batch(&mut self) -> Result<Vec<FunctionLogLine>, PierError> {
        let mut lines =
            match &mut self.source {
                Source::CloudWatch(logs) => logs.next_batch().await?,
                Source::Local {
                    path,
                    offset,
                    since,
                } => {
                    let (lines, next) = pier_core::functions::log::read_from(path, *offset)
                        .map_err(|source| PierError::Unreadable {
                            path: path.clone(),
                            source,
                        })?;
                    *offset = next;
                    lines.into_iter().filter(|line| line.at >= *since).collect()
                }
            };
        for line in &mut lines {
            if let Cow::Owned(masked) = self.masker.mask(&line.text) {
                line.text = masked;
            }
        }
        Ok(lines)
    }

    /// How long to wait between two batches when following.
    pub fn poll_every(&self) -> std::time::Duration {
        match self.source {
            Source::CloudWatch(_) => POLL_CLOUDWATCH,
            Source::Local { .. } => POLL_LOCAL,
        }
    }
}

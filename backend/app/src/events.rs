//! What the engine tells the window: events pushed as work happens, and [`UserError`], the
//! one error shape the window shows (what went wrong, what to do next). No event or error
//! ever carries a credential: Redis URLs are shown through `display_url`, and AWS access comes
//! from the AWS chain at the moment of use.

use std::sync::Arc;

use serde::Serialize;

use pier_aws::domain_wizard::DomainError;
use pier_core::error::{PierError, StoreError};
use pier_core::logs::LogRecord;

use super::meter::DeploySnapshot;
use super::payloads::{SetupOutcome, SetupRun, WatchView};

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AppEvent {
    /// A deploy job moved on (throttled to a few per second).
    DeployProgress(DeploySnapshot),
    DeployFinished {
        job: String,
        project: String,
        deployment: String,
        preview_url: String,
        /// The build's log, when the folder was built first.
        built: bool,
    },
    DeployFailed {
        job: String,
        project: Option<String>,
        /// The build's log id, when a build had started.
        deployment: Option<String>,
        error: UserError,
    },
    /// Projects or deployments changed; lists should reload (and the proxy forget its cache).
    Changed {
        project: Option<String>,
    },
    Watch(WatchView),
    /// New records of the followed log, in order, batched. They cross to the window as one
    /// JSON string, which the wasm UI parses itself: converting each record's fields from
    /// JavaScript objects one by one made the first batch of a chatty log a 100 ms frame.
    LogRecords {
        deployment: String,
        #[serde(serialize_with = "as_json_text")]
        records: Vec<LogRecord>,
    },
    /// The follow ended: the build finished, or it failed with `error`.
    LogEnded {
        deployment: String,
        error: Option<UserError>,
    },
    /// The live source hiccupped; the follow is retrying from the last line it has.
    LogReconnecting {
        deployment: String,
    },
    /// The settings changed: the store (and so the proxy) is another one now.
    TargetChanged,
    /// A setup run (plan, apply or teardown) finished a step.
    SetupStep {
        run: SetupRun,
        change: pier_aws::setup::Change,
    },
    /// A setup run ended, with what it did or why it stopped (what it made so far is
    /// recorded; running it again resumes).
    SetupEnded {
        run: SetupRun,
        outcome: Option<SetupOutcome>,
        error: Option<UserError>,
    },
    /// The domain wizard finished a step (or polled the certificate again).
    DomainStep {
        domain: String,
        step: pier_aws::domain_wizard::StepReport,
    },
    /// The wizard stopped: attached, or waiting (run it again), or failed with `error`.
    DomainEnded {
        domain: String,
        attached: bool,
        error: Option<UserError>,
    },
}

fn as_json_text<S: serde::Serializer>(records: &[LogRecord], out: S) -> Result<S::Ok, S::Error> {
    let text = serde_json::to_string(records).map_err(serde::ser::Error::custom)?;
    out.serialize_str(&text)
}

/// Where events go: the shell forwards them to the window; tests collect them.
#[derive(Clone)]
pub struct EventSink(Arc<dyn Fn(AppEvent) + Send + Sync>);

impl EventSink {
    pub fn new(sink: impl Fn(AppEvent) + Send + Sync + 'static) -> EventSink {
        EventSink(Arc::new(sink))
    }

    pub fn emit(&self, event: AppEvent) {
        (self.0)(event)
    }
}

/// An error as the window shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct UserError {
    pub message: String,
    /// What to do next.
    pub hint: String,
    /// What went wrong, for the window to act on (`expired_credentials` offers Settings):
    /// the engine error's variant in snake_case (`no_such_bucket`), through any wrapper, or
    /// `app` for the app's own checks. Stable as long as the variant's name is.
    pub code: String,
}

impl UserError {
    pub fn new(message: impl Into<String>, hint: impl Into<String>) -> UserError {
        UserError {
            message: message.into(),
            hint: hint.into(),
            code: "app".into(),
        }
    }

    fn of<E: std::fmt::Display + std::fmt::Debug>(error: &E, hint: &str) -> UserError {
        UserError {
            message: capitalized(&error.to_string()),
            hint: hint.to_string(),
            code: error_code(&format!("{error:?}")),
        }
    }
}

/// The innermost error variant's name in a `Debug` rendering, in snake_case:
/// `Store(NoSuchBucket { bucket: "x" })` → `no_such_bucket`. Wrappers (`Core(…)`, `Store(…)`)
/// are looked through, so the code names the cause.
fn error_code(debug: &str) -> String {
    const WRAPPERS: [&str; 5] = ["Core", "Store", "SiteConfig", "Detect", "Domain"];
    let mut rest = debug;
    loop {
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let after = &rest[name.len()..];
        if WRAPPERS.contains(&name.as_str())
            && let Some(inner) = after.strip_prefix('(')
            && inner.starts_with(|c: char| c.is_ascii_uppercase())
        {
            rest = inner;
            continue;
        }
        let mut code = String::new();
        for (index, c) in name.chars().enumerate() {
            if c.is_ascii_uppercase() && index > 0 {
                code.push('_');
            }
            code.push(c.to_ascii_lowercase());
        }
        return if code.is_empty() { "app".into() } else { code };
    }
}

impl From<PierError> for UserError {
    fn from(error: PierError) -> UserError {
        UserError::of(&error, error.hint())
    }
}

impl From<StoreError> for UserError {
    fn from(error: StoreError) -> UserError {
        UserError::of(&error, error.hint())
    }
}

impl From<DomainError> for UserError {
    fn from(error: DomainError) -> UserError {
        UserError::of(&error, error.hint())
    }
}

fn capitalized(sentence: &str) -> String {
    let mut chars = sentence.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_name_the_cause_through_wrappers() {
        let missing = PierError::Store(StoreError::NoSuchBucket {
            bucket: "sites".into(),
        });
        let error = UserError::from(missing);
        assert_eq!(error.code, "no_such_bucket");
        assert_eq!(error.message, "The bucket `sites` does not exist");
        assert_eq!(
            UserError::from(PierError::Store(StoreError::ExpiredCredentials)).code,
            "expired_credentials"
        );
        assert_eq!(
            UserError::from(DomainError::Core(PierError::BuildCanceled)).code,
            "build_canceled"
        );
        assert_eq!(UserError::new("x", "y").code, "app");
    }
}

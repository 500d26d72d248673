//! [`AppEvent`]: what the engine pushes to the window as work happens (Tauri's `pier://event`),
//! tagged by `kind`. No event carries a credential.

use serde::{Deserialize, Serialize};

use crate::UserError;
use crate::deploys::DeploySnapshot;
use crate::domains::StepReport;
use crate::logs::LogBatch;
use crate::setup::{Change, SetupOutcome, SetupRun};
use crate::watches::WatchView;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// New records of the followed log, in order, batched.
    LogRecords {
        deployment: String,
        records: LogBatch,
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
        change: Change,
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
        step: StepReport,
    },
    /// The wizard stopped: attached, or waiting (run it again), or failed with `error`.
    DomainEnded {
        domain: String,
        attached: bool,
        error: Option<UserError>,
    },
}

/// What `pier://dropped` says after folders were dropped on the window: the deploy job that
/// started, or why none did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dropped {
    pub job: Option<String>,
    pub error: Option<UserError>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::{LogKind, LogRecord, LogStream};

    #[test]
    fn events_read_back_as_the_engine_wrote_them() {
        let records = [LogRecord {
            seq: 7,
            at_ms: 1_700_000_000_000,
            kind: LogKind::Line {
                stream: LogStream::Stdout,
                text: "done".into(),
            },
        }];
        let sent = AppEvent::LogRecords {
            deployment: "d1".into(),
            records: LogBatch::of(&records),
        };
        let json = serde_json::to_value(&sent).unwrap();
        assert_eq!(json["kind"], "log_records");
        assert!(json["records"].is_string(), "{json}");
        let read: AppEvent = serde_json::from_value(json).unwrap();
        let AppEvent::LogRecords { records: batch, .. } = &read else {
            panic!("{read:?}")
        };
        assert_eq!(batch.records().unwrap(), records);

        let step = AppEvent::SetupStep {
            run: SetupRun::Apply,
            change: Change::new("bucket", "sites", crate::setup::Action::Create),
        };
        let json = serde_json::to_value(&step).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind": "setup_step", "run": "apply",
                "change": {"resource": "bucket", "name": "sites", "action": "create"}})
        );
        assert_eq!(serde_json::from_value::<AppEvent>(json).unwrap(), step);
    }
}

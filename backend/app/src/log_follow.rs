//! Follows one build's log for the Logs screen: records from the live source (Redis or
//! in-process), then the archive, sent to the window in batches (every 50 ms, or 500
//! records) so 10,000 lines a second cost the window a few updates a second, not 10,000,
//! and no one update holds a frame for long (a 1,000-record first batch took 59 ms).
//! Following resumes after any `seq`, so a window that reconnects asks for what it lacks and
//! never loses or repeats a line; the core's follower retries a live source that hiccups. A
//! build logged in the app (Redis was down when it started) is followed in the app. A
//! project's function output is followed the same way, under the name `functions:<project>`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;

use super::events::{AppEvent, EventSink, UserError};
use super::target::Target;
use pier_core::logs;
use pier_wire::logs::LogBatch;

const BATCH_INTERVAL: Duration = Duration::from_millis(50);
const BATCH_MAX: usize = 500;

#[derive(Default)]
pub struct Follower {
    current: Mutex<Option<(tokio::task::AbortHandle, Arc<Mutex<bool>>)>>,
}

impl Follower {
    /// Follows `deployment` from just after `after`, replacing any follow in progress.
    pub fn start(&self, target: &Target, events: EventSink, deployment: String, after: u64) {
        self.stop();
        // A build that ran while Redis was down logged in the app: it is followed there.
        let logged_in_app = target.memory_logs.has(&deployment);
        let live = if logged_in_app {
            pier_core::logs::LiveAndBackend::as_live(target.memory_logs.clone())
        } else {
            target.live().as_live()
        };
        let store = target.store.clone();
        let redis = target.redis.clone().filter(|_| !logged_in_app);
        // An aborted task stops only at its next await, and may be mid-loop on another thread:
        // every event goes out under this flag, which `stop` clears before it returns, so a
        // replaced follow never sends another record (the window would show it twice).
        let following = Arc::new(Mutex::new(true));
        let events = {
            let following = following.clone();
            EventSink::new(move |event| {
                let following = following.lock().expect("not poisoned");
                if *following {
                    events.emit(event);
                }
            })
        };
        let task = tokio::spawn(async move {
            if let Some(redis) = &redis
                && let Err(error) = redis.check().await
            {
                // The follow below keeps retrying; say why nothing arrives meanwhile.
                let error: UserError = error.into();
                events.emit(AppEvent::LogEnded {
                    deployment: deployment.clone(),
                    error: Some(pier_wire::UserError::new(
                        format!("{} (still trying)", error.message),
                        error.hint.clone(),
                    )),
                });
                events.emit(AppEvent::LogReconnecting {
                    deployment: deployment.clone(),
                });
            }
            let mut stream = logs::follow(Some(live), store, deployment.clone(), after);
            let mut batch = Vec::new();
            let mut tick = tokio::time::interval(BATCH_INTERVAL);
            let flush = |batch: &mut Vec<logs::LogRecord>| {
                if !batch.is_empty() {
                    events.emit(AppEvent::LogRecords {
                        deployment: deployment.clone(),
                        records: LogBatch::of(batch),
                    });
                    batch.clear();
                }
            };
            let ended = loop {
                tokio::select! {
                    next = stream.next() => match next {
                        Some(Ok(record)) => {
                            batch.push(record);
                            if batch.len() >= BATCH_MAX {
                                flush(&mut batch);
                            }
                        }
                        Some(Err(error)) => break Some(UserError::from(error)),
                        None => break None,
                    },
                    _ = tick.tick() => flush(&mut batch),
                }
            };
            flush(&mut batch);
            events.emit(AppEvent::LogEnded {
                deployment,
                error: ended.map(Into::into),
            });
        });
        *self.current.lock().expect("not poisoned") = Some((task.abort_handle(), following));
    }

    /// Follows what a project's functions print (CloudWatch on Lambda, else this machine's
    /// function log) from the last day on, live, replacing any follow in progress. The window
    /// sees it as the log named [`functions_log_name`]; `seq` counts lines from the start of
    /// that day, so a reconnect after `after` repeats none.
    pub fn start_functions(&self, target: &Target, events: EventSink, project: String, after: u64) {
        self.stop();
        let following = Arc::new(Mutex::new(true));
        let events = {
            let following = following.clone();
            EventSink::new(move |event| {
                if *following.lock().expect("not poisoned") {
                    events.emit(event);
                }
            })
        };
        let store = target.store.clone();
        let task = tokio::spawn(async move {
            let name = functions_log_name(&project);
            let secrets = pier_core::project_env::ProjectEnvs::for_this_machine()
                .known_secret_values(&project);
            let since = time::OffsetDateTime::now_utc() - time::Duration::days(1);
            let opened = pier_aws::function_logs::FunctionOutput::open(
                store.as_ref(),
                &pier_core::functions::log::default_work_dir(),
                &project,
                since,
                secrets,
            )
            .await;
            let mut output = match opened {
                Ok(output) => output,
                Err(error) => {
                    return events.emit(AppEvent::LogEnded {
                        deployment: name,
                        error: Some(UserError::from(error).into()),
                    });
                }
            };
            let mut seq = 0;
            loop {
                let lines = match output.next_batch().await {
                    Ok(lines) => lines,
                    Err(error) => {
                        return events.emit(AppEvent::LogEnded {
                            deployment: name,
                            error: Some(UserError::from(error).into()),
                        });
                    }
                };
                let records: Vec<logs::LogRecord> = lines
                    .into_iter()
                    .filter_map(|line| {
                        seq += 1;
                        (seq > after).then(|| function_record(seq, line))
                    })
                    .collect();
                if !records.is_empty() {
                    events.emit(AppEvent::LogRecords {
                        deployment: name.clone(),
                        records: LogBatch::of(&records),
                    });
                }
                tokio::time::sleep(output.poll_every()).await;
            }
        });
        *self.current.lock().expect("not poisoned") = Some((task.abort_handle(), following));
    }

    pub fn stop(&self) {
        if let Some((task, following)) = self.current.lock().expect("not poisoned").take() {
            *following.lock().expect("not poisoned") = false;
            task.abort();
        }
    }
}

/// The name the window follows a project's function output under (a build's log is named by
/// its deployment id, which never has a `:`).
pub fn functions_log_name(project: &str) -> String {
    format!("functions:{project}")
}

/// A function's output line as a log record: its function and deployment before the text.
fn function_record(seq: u64, line: pier_core::functions::log::FunctionLogLine) -> logs::LogRecord {
    let stream = if line.stream == "stderr" {
        logs::LogStream::Stderr
    } else {
        logs::LogStream::Stdout
    };
    logs::LogRecord {
        seq,
        at_ms: logs::unix_ms(line.at),
        kind: logs::LogKind::Line {
            stream,
            text: format!("{} │ {}", line.function, line.text),
        },
    }
}

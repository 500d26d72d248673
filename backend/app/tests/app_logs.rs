//! The Logs screen's engine without a window: `App::follow_log` sends a build's log as
//! batches of records, in order, never more than the window's batch size; a follow stopped
//! part way and started again from the last `seq` it delivered gets exactly the rest (live
//! while the build runs, and from the archive after it ended), whether the live log is
//! in-process or in a real `redis-server` set in the app's settings. Nothing is lost or
//! repeated. The build pauses at two gates (files the test creates), so "part way" is a
//! known point, not a race.

mod common;

use std::path::Path;

use common::{Harness, followed, js, statuses, stdout_lines};
use pier_app::AppEvent;
use pier_app::settings::SettingsForm;
use pier_core::logs::{BuildStatus, LogRecord};

/// Lines printed before the first gate, between the gates, and after the second.
const PARTS: [(u32, u32); 3] = [(1, 1200), (1201, 2000), (2001, 2600)];

fn gated_build(gate1: &Path, gate2: &Path) -> String {
    format!(
        r#"
const fs = require('fs');
const gate = (file) => new Promise((open) => {{
  const poll = setInterval(() => {{
    if (fs.existsSync(file)) {{ clearInterval(poll); open(); }}
    // The test's folder gone (a failed test cleaned up): stop rather than wait for ever.
    else if (!fs.existsSync(require('path').dirname(file))) process.exit(1);
  }}, 10);
}});
const lines = (from, to) => {{
  let text = '';
  for (let i = from; i <= to; i++) text += 'line ' + i + '\n';
  process.stdout.write(text);
}};
(async () => {{
  lines({a0}, {a1});
  console.log('waiting at gate 1');
  await gate({gate1});
  lines({b0}, {b1});
  console.log('waiting at gate 2');
  await gate({gate2});
  lines({c0}, {c1});
  fs.mkdirSync('dist', {{ recursive: true }});
  fs.writeFileSync('dist/index.html', '<h1>logged</h1>');
  console.log('build done');
}})();
"#,
        a0 = PARTS[0].0,
        a1 = PARTS[0].1,
        b0 = PARTS[1].0,
        b1 = PARTS[1].1,
        c0 = PARTS[2].0,
        c1 = PARTS[2].1,
        gate1 = js(gate1),
        gate2 = js(gate2),
    )
}

/// Waits until the records the app sent for `deployment` since `from` include a stdout line
/// `text`; returns them.
async fn until_line(
    harness: &Harness,
    deployment: &str,
    from: usize,
    text: &str,
) -> Vec<LogRecord> {
    harness
        .events
        .until_seen(
            &format!("the log line `{text}`"),
            from,
            common::WAIT,
            |events| {
                let records = followed(events, deployment);
                stdout_lines(&records)
                    .iter()
                    .any(|line| line == text)
                    .then_some(records)
            },
        )
        .await
}

/// The lines the build script printed (npm prints its own first).
fn script_lines(records: &[LogRecord]) -> Vec<String> {
    stdout_lines(records)
        .into_iter()
        .filter(|line| line.starts_with("line ") || line.starts_with("waiting at gate"))
        .collect()
}

fn seqs(records: &[LogRecord]) -> Vec<u64> {
    records.iter().map(|r| r.seq).collect()
}

/// Waits for the follow of `deployment` to end after `from`; its error, if it ended with one.
async fn until_follow_ended(
    harness: &Harness,
    deployment: &str,
    from: usize,
    what: &str,
) -> Option<pier_wire::UserError> {
    harness
        .events
        .until(what, from, |event| match event {
            AppEvent::LogEnded {
                deployment: d,
                error,
            } if d == deployment => Some(error.clone()),
            _ => None,
        })
        .await
}

fn ended(events: &[AppEvent], deployment: &str) -> Vec<Option<pier_wire::UserError>> {
    events
        .iter()
        .filter_map(|event| match event {
            AppEvent::LogEnded {
                deployment: d,
                error,
            } if d == deployment => Some(error.clone()),
            _ => None,
        })
        .collect()
}

async fn follow_stop_and_resume(harness: &Harness) {
    let app = &harness.app;
    let gates = harness.folder("gates");
    let (gate1, gate2) = (gates.join("one"), gates.join("two"));
    let tree = harness.source_tree("chatty", &gated_build(&gate1, &gate2));

    let mark = harness.events.mark();
    let job = app.deploy_dropped(vec![tree], None).unwrap();
    let log_id = harness
        .events
        .until("the build's log id", mark, |event| match event {
            AppEvent::DeployProgress(s) if s.job == job => s.deployment.clone(),
            _ => None,
        })
        .await;

    // Follow from the start until the build waits at the first gate, then stop. (A follow
    // started as soon as the build is announced has its own test below.)
    common::until_log_started(harness, &log_id).await;
    let first_follow = harness.events.mark();
    app.follow_log(log_id.clone(), 0);
    let first = until_line(harness, &log_id, first_follow, "waiting at gate 1").await;
    app.stop_following();
    assert_eq!(
        seqs(&first),
        (1..=first.len() as u64).collect::<Vec<_>>(),
        "from seq 1, in order, nothing repeated"
    );
    let printed = script_lines(&first);
    let expected: Vec<String> = (PARTS[0].0..=PARTS[0].1)
        .map(|i| format!("line {i}"))
        .chain(["waiting at gate 1".to_string()])
        .collect();
    assert_eq!(printed, expected);
    assert!(
        harness
            .events
            .since(first_follow)
            .iter()
            .filter(|e| matches!(e, AppEvent::LogRecords { .. }))
            .count()
            >= 3,
        "1,200 lines arrive in several batches of at most 500"
    );
    let last_seen = first.last().unwrap().seq;

    // While nobody follows, the build goes on to the second gate.
    std::fs::write(&gate1, "").unwrap();
    // Follow again from the last seq seen: exactly the rest, live.
    let second_follow = harness.events.mark();
    app.follow_log(log_id.clone(), last_seen);
    let second = until_line(harness, &log_id, second_follow, "waiting at gate 2").await;
    assert_eq!(
        seqs(&second),
        ((last_seen + 1)..=(last_seen + second.len() as u64)).collect::<Vec<_>>(),
        "resumed right after seq {last_seen}"
    );
    let expected: Vec<String> = (PARTS[1].0..=PARTS[1].1)
        .map(|i| format!("line {i}"))
        .chain(["waiting at gate 2".to_string()])
        .collect();
    assert_eq!(script_lines(&second), expected);

    // The build finishes while followed: the follow ends with the build.
    std::fs::write(&gate2, "").unwrap();
    let done = harness
        .events
        .job_end(&job, mark)
        .await
        .expect("it deploys");
    assert_eq!(done.deployment, log_id);
    let end = until_follow_ended(harness, &log_id, second_follow, "the follow's end").await;
    assert_eq!(end, None);
    let resumed = followed(&harness.events.since(second_follow), &log_id);
    assert_eq!(
        ended(&harness.events.since(first_follow), &log_id).len(),
        1,
        "the stopped follow sent no end of its own"
    );

    // Both follows together are the whole log: every seq once, in order, every line once.
    let mut whole = first.clone();
    whole.extend(resumed.iter().cloned());
    assert_eq!(seqs(&whole), (1..=whole.len() as u64).collect::<Vec<_>>());
    let lines: Vec<String> = stdout_lines(&whole)
        .into_iter()
        .filter(|l| l.starts_with("line "))
        .collect();
    let all: Vec<String> = (PARTS[0].0..=PARTS[2].1)
        .map(|i| format!("line {i}"))
        .collect();
    assert_eq!(lines, all);
    assert_eq!(statuses(&whole).last(), Some(&BuildStatus::Ready));
    let archived = pier_core::logs::read_archive(harness.store().as_ref(), &log_id)
        .await
        .unwrap()
        .expect("archived at the end");
    assert_eq!(archived, whole, "the window saw exactly the archived log");

    // After the build, following again from any seq gets exactly the rest.
    let from = last_seen + 250;
    let third_follow = harness.events.mark();
    app.follow_log(log_id.clone(), from);
    let end = until_follow_ended(
        harness,
        &log_id,
        third_follow,
        "the follow of the ended log",
    )
    .await;
    assert_eq!(end, None);
    let rest = followed(&harness.events.since(third_follow), &log_id);
    assert_eq!(rest[..], archived[from as usize..]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_followed_build_log_resumes_after_the_last_seq_with_in_process_logs() {
    let harness = Harness::start().await;
    assert!(harness.app.target().redis.is_none(), "the embedded default");
    follow_stop_and_resume(&harness).await;

    // A log that does not exist ends the follow with what went wrong.
    let mark = harness.events.mark();
    harness.app.follow_log("0000000000nosuchbuild".into(), 0);
    let error = harness
        .events
        .until("the unknown log's end", mark, |event| match event {
            AppEvent::LogEnded { deployment, error } if deployment == "0000000000nosuchbuild" => {
                Some(error.clone())
            }
            _ => None,
        })
        .await
        .expect("an unknown log is an error");
    assert!(error.message.contains("no build log"), "{error:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_followed_build_log_resumes_after_the_last_seq_with_redis_from_the_settings() {
    let redis = pier_tests::Redis::start();
    let harness = Harness::start().await;
    assert_eq!(
        pier_app::secrets::redis_password().ok().flatten(),
        None,
        "this machine's keychain holds a Redis password; the test's Redis has none"
    );
    let saved = harness
        .app
        .save_settings(SettingsForm {
            target: "embedded".into(),
            redis_url: redis.url(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(saved.form.redis_url, redis.url());
    assert!(harness.app.target().redis.is_some());
    follow_stop_and_resume(&harness).await;

    // The live log is in Redis, where any other follower (the CLI, another window) reads it.
    let log_id = harness
        .events
        .all()
        .iter()
        .find_map(|event| match event {
            AppEvent::DeployFinished { deployment, .. } => Some(deployment.clone()),
            _ => None,
        })
        .unwrap();
    let live =
        pier_core::logs::redis::RedisLogs::open(&redis.url(), pier_app::target::LIVE_LOG_RETENTION)
            .unwrap();
    let mut records: Vec<LogRecord> = Vec::new();
    loop {
        let after = records.last().map_or(0, |r| r.seq);
        let batch =
            pier_core::logs::LiveLogs::read_after(&live, &log_id, after, std::time::Duration::ZERO)
                .await
                .unwrap()
                .expect("the live log is in Redis");
        if batch.is_empty() {
            break;
        }
        records.extend(batch);
    }
    let archived = pier_core::logs::read_archive(harness.store().as_ref(), &log_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(records, archived);
}

const SMALL_BUILD: &str = r#"
const fs = require('fs');
console.log('building');
fs.mkdirSync('dist', { recursive: true });
fs.writeFileSync('dist/index.html', '<h1>small</h1>');
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_followed_as_soon_as_its_build_is_announced_is_found() {
    let harness = Harness::start().await;
    let app = harness.app.clone();
    let tree = harness.source_tree("eager", SMALL_BUILD);
    // The window follows the log the moment the Deploy screen shows its link; the job goes on
    // only once that follow has said something (as when the Redis check takes a moment).
    {
        let app = app.clone();
        let events = harness.events.clone();
        harness.events.on_event(move |event| {
            let AppEvent::DeployProgress(s) = event else {
                return;
            };
            let Some(log_id) = s.deployment.clone() else {
                return;
            };
            if s.phase != pier_app::meter::Phase::Building {
                return;
            }
            let from = events.mark();
            app.follow_log(log_id.clone(), 0);
            tokio::task::block_in_place(|| {
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
                while std::time::Instant::now() < deadline
                    && !events.since(from).iter().any(|e| {
                        matches!(e, AppEvent::LogRecords { deployment, .. }
                            | AppEvent::LogEnded { deployment, .. } if deployment == &log_id)
                    })
                {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
            });
        });
    }
    let mark = harness.events.mark();
    let job = app.deploy_dropped(vec![tree], None).unwrap();
    let done = harness
        .events
        .job_end(&job, mark)
        .await
        .expect("it deploys");
    harness.events.clear_hook();
    let end = harness
        .events
        .until("the follow's end", mark, |event| match event {
            AppEvent::LogEnded { deployment, error } if deployment == &done.deployment => {
                Some(error.clone())
            }
            _ => None,
        })
        .await;
    assert_eq!(end, None, "the announced log can be followed");
    let log = followed(&harness.events.since(mark), &done.deployment);
    assert_eq!(seqs(&log), (1..=log.len() as u64).collect::<Vec<_>>());
    assert_eq!(statuses(&log).last(), Some(&BuildStatus::Ready));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_build_logged_in_the_app_while_redis_is_down_can_be_followed() {
    let harness = Harness::start().await;
    let down = format!("redis://127.0.0.1:{}", pier_tests::free_port());
    harness
        .app
        .save_settings(SettingsForm {
            target: "embedded".into(),
            redis_url: down,
            ..Default::default()
        })
        .await
        .unwrap();
    let tree = harness.source_tree("offline", SMALL_BUILD);
    let mark = harness.events.mark();
    let job = harness.app.deploy_dropped(vec![tree], None).unwrap();
    let done = harness
        .events
        .job_end(&job, mark)
        .await
        .expect("it deploys");
    let archived = pier_core::logs::read_archive(harness.store().as_ref(), &done.deployment)
        .await
        .unwrap()
        .expect("archived in the store");
    assert!(
        archived.iter().any(|r| matches!(
            &r.kind,
            pier_core::logs::LogKind::Line { text, .. } if text.starts_with("warning: Redis at")
        )),
        "the log warns that Redis is down: {archived:?}"
    );

    let mark = harness.events.mark();
    harness.app.follow_log(done.deployment.clone(), 0);
    harness
        .events
        .until_within(
            "the follow's end without an error",
            mark,
            std::time::Duration::from_secs(30),
            |event| match event {
                AppEvent::LogEnded {
                    deployment,
                    error: None,
                } if deployment == &done.deployment => Some(()),
                _ => None,
            },
        )
        .await;
    assert_eq!(
        followed(&harness.events.since(mark), &done.deployment),
        archived
    );
}

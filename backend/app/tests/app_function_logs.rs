//! The Logs screen's function output without a window: `App::follow_functions` sends what a
//! project's functions printed (the local runtime's log, as `pier serve` and the app's own
//! proxy append to it) as batches of records, live, with every `pier env` secret of the
//! project masked (a line as CloudWatch would hold it, unmasked, arrives masked), and a follow
//! resumed after the last `seq` it delivered repeats nothing.

mod common;

use std::time::Duration;

use common::{Harness, followed, stdout_lines};
use pier_core::functions::log::{FunctionLogLine, append, default_work_dir};
use pier_core::project_env::ProjectEnvs;

const PROJECT_SECRET: &str = "sk-live-0a9b8c7d";

fn print(project: &str, text: &str) {
    append(
        &default_work_dir(),
        project,
        &FunctionLogLine {
            at: time::OffsetDateTime::now_utc(),
            function: format!("/api/pay ({project}-1a2b3c4d)"),
            stream: "stdout".into(),
            text: text.into(),
        },
    )
    .unwrap();
}

async fn lines_until(harness: &Harness, name: &str, from: usize, count: usize) -> Vec<String> {
    harness
        .events
        .until_seen(
            &format!("{count} function lines"),
            from,
            Duration::from_secs(10),
            |events| {
                let lines = stdout_lines(&followed(events, name));
                (lines.len() >= count).then_some(lines)
            },
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn function_output_is_followed_live_masked_and_resumed_without_repeats() {
    let harness = Harness::start().await;
    // Unique per run: the keychain is the user's, shared by every test run here.
    let project = format!("fnlogs-{}", pier_tests::free_port());
    let envs = ProjectEnvs::for_this_machine();
    envs.set(&project, "STRIPE_KEY", PROJECT_SECRET, true)
        .unwrap();
    let name = format!("functions:{project}");

    print(&project, "started");
    print(&project, &format!("charging with {PROJECT_SECRET}"));
    let mark = harness.events.mark();
    harness.app.follow_functions(project.clone(), 0).unwrap();
    let first = lines_until(&harness, &name, mark, 2).await;
    let prefix = format!("/api/pay ({project}-1a2b3c4d) │ ");
    assert_eq!(
        first,
        [
            format!("{prefix}started"),
            format!("{prefix}charging with ••••••"),
        ]
    );

    // Live: a line printed while the screen follows arrives without asking again.
    print(&project, "paid");
    let live = lines_until(&harness, &name, mark, 3).await;
    assert_eq!(live[2], format!("{prefix}paid"));

    // Stopped, two more lines, then resumed after the last seq held: exactly those two.
    harness.app.stop_following();
    let held = followed(&harness.events.since(mark), &name)
        .last()
        .map(|record| record.seq)
        .unwrap();
    assert_eq!(held, 3);
    print(&project, "refunded");
    print(&project, "done");
    let resumed = harness.events.mark();
    harness.app.follow_functions(project.clone(), held).unwrap();
    let rest = lines_until(&harness, &name, resumed, 2).await;
    assert_eq!(rest, [format!("{prefix}refunded"), format!("{prefix}done")]);
    let seqs: Vec<u64> = followed(&harness.events.since(resumed), &name)
        .iter()
        .map(|record| record.seq)
        .collect();
    assert_eq!(seqs, [4, 5]);
    harness.app.stop_following();

    // A name that is not a project is refused before anything is followed.
    let refused = harness
        .app
        .follow_functions("../etc".into(), 0)
        .unwrap_err();
    assert!(
        refused.message.contains("not a valid project name"),
        "{refused:?}"
    );
    envs.remove(&project, "STRIPE_KEY").unwrap();
}

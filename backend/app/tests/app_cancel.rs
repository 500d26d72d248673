//! Cancel without a window: `App::cancel_deploy` on a running job. A build that would run for
//! minutes stops with its whole process tree (npm, node and the grandchild it started), the
//! events say it was canceled and that nothing was deployed, its log ends canceled, and the
//! store holds no deployment and no production alias for it; a plain deploy canceled while it
//! hashes leaves nothing listed either. Canceling an ended or unknown job changes nothing.

mod common;

use std::time::Duration;

use common::{Harness, eventually, group_members, js, process_group, running, whole_log};
use pier_app::AppEvent;
use pier_app::meter::Phase;
use pier_app::views::Status;
use pier_core::logs::{BuildStatus, LogKind};

/// A build that starts a grandchild, says which processes it made, and never ends (unless the
/// test's folder goes: a failed test leaves nothing running).
fn endless_build(pids: &std::path::Path) -> String {
    format!(
        r#"
const fs = require('fs');
const {{ spawn }} = require('child_process');
const pids = {pids};
const folder = require('path').dirname(pids);
const idle = "const fs = require('fs'); setInterval(() => {{ if (!fs.existsSync(process.argv[1])) process.exit(0); }}, 200);";
const grandchild = spawn(process.execPath, ['-e', idle, folder], {{ stdio: 'ignore' }});
console.log('building for a long time');
fs.writeFileSync(pids + '.tmp', JSON.stringify({{ build: process.pid, grandchild: grandchild.pid }}));
fs.renameSync(pids + '.tmp', pids);
setInterval(() => {{ if (!fs.existsSync(folder)) process.exit(1); }}, 200);
"#,
        pids = js(pids)
    )
}

/// The processes of a build, read from what `endless_build` wrote.
struct BuildTree {
    build: u32,
    grandchild: u32,
    group: u32,
}

async fn started(pids_file: &std::path::Path) -> BuildTree {
    eventually("the build script to start", common::WAIT, || {
        pids_file.exists()
    })
    .await;
    let pids: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pids_file).unwrap()).unwrap();
    let build = pids["build"].as_u64().unwrap() as u32;
    let grandchild = pids["grandchild"].as_u64().unwrap() as u32;
    let group = process_group(build).expect("the build runs");
    BuildTree {
        build,
        grandchild,
        group,
    }
}

/// Kills what is left of a build's process group when a test ends, passed or not.
struct KillOnDrop(u32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if !group_members(self.0).is_empty() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.0)])
                .status();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canceled_build_stops_its_process_tree_and_deploys_nothing() {
    let harness = Harness::start().await;
    let app = &harness.app;
    let pids_file = harness.work.path().join("pids.json");
    let tree = harness.source_tree("slow", &endless_build(&pids_file));

    let mark = harness.events.mark();
    let job = app.deploy_dropped(vec![tree.clone()], None).unwrap();
    let log_id = harness
        .events
        .until("the build's start", mark, |event| match event {
            AppEvent::DeployProgress(s) if s.job == job && s.phase == Phase::Building => {
                s.deployment.clone()
            }
            _ => None,
        })
        .await;
    let BuildTree {
        build,
        grandchild,
        group,
    } = started(&pids_file).await;
    let _cleanup = KillOnDrop(group);
    assert_ne!(
        Some(group),
        process_group(std::process::id()),
        "the build has its own process group"
    );
    let members = group_members(group);
    assert!(
        members.contains(&build) && members.contains(&grandchild),
        "{members:?}"
    );
    assert!(
        members.len() >= 3,
        "npm, node and the grandchild: {members:?}"
    );
    assert_eq!(
        app.projects().await.unwrap()[0].status,
        Status::Building,
        "the Projects screen shows the build going"
    );

    let canceled_at = harness.events.mark();
    app.cancel_deploy(&job);
    let failed = harness
        .events
        .job_end(&job, mark)
        .await
        .expect_err("a canceled build does not deploy");
    assert_eq!(failed.error.message, "The build was canceled");
    assert!(
        failed.error.hint.contains("nothing was deployed"),
        "{:?}",
        failed.error
    );
    assert_eq!(failed.project.as_deref(), Some("slow"));
    assert_eq!(failed.deployment.as_deref(), Some(log_id.as_str()));
    assert!(
        !harness
            .events
            .since(mark)
            .iter()
            .any(|e| matches!(e, AppEvent::DeployFinished { .. })),
        "no deployment was announced"
    );
    // The lists are told to reload.
    harness
        .events
        .until_reload("a reload after the cancel", canceled_at, "slow")
        .await;

    // The whole tree is gone (SIGTERM, then SIGKILL after a 3 s grace).
    eventually(
        "the build's processes to stop",
        Duration::from_secs(20),
        || group_members(group).is_empty(),
    )
    .await;
    assert!(!running(build) && !running(grandchild));

    // Nothing was deployed, nothing is live, and the screens say it failed.
    let store = harness.store();
    assert!(common::manifest(&store, &log_id).await.is_none());
    assert!(!tree.join("dist").exists());
    assert!(app.deployments("slow").await.unwrap().is_empty());
    assert_eq!(
        pier_core::alias::read(store.as_ref(), "slow")
            .await
            .unwrap(),
        None,
        "nothing was promoted"
    );
    let projects = app.projects().await.unwrap();
    assert_eq!(projects.len(), 1);
    let row = &projects[0];
    assert_eq!((row.name.as_str(), row.status.name()), ("slow", "failed"));
    assert!(
        row.status_message
            .as_deref()
            .unwrap_or("")
            .contains("canceled"),
        "{row:?}"
    );
    assert_eq!((row.deployments, row.production.as_deref()), (0, None));

    // Its log says so, and keeps what the build printed.
    let log = whole_log(&harness, &log_id).await;
    assert_eq!(
        log.last().and_then(|r| r.terminal_status()),
        Some(BuildStatus::Canceled)
    );
    assert!(log.iter().any(|r| matches!(
        &r.kind,
        LogKind::Line { text, .. } if text == "building for a long time"
    )));

    // Canceling it again, or a job that never was, changes nothing.
    let mark = harness.events.mark();
    app.cancel_deploy(&job);
    app.cancel_deploy("job-that-never-ran");
    let site = harness.site("after", &[("index.html", "<h1>after</h1>")]);
    let next = app.deploy_dropped(vec![site], None).unwrap();
    harness
        .events
        .job_end(&next, mark)
        .await
        .expect("the next drop deploys");
    let others: Vec<AppEvent> = harness
        .events
        .since(mark)
        .into_iter()
        .filter(|e| match e {
            AppEvent::DeployProgress(s) => s.job != next,
            AppEvent::DeployFinished { job, .. } | AppEvent::DeployFailed { job, .. } => {
                job != &next
            }
            _ => false,
        })
        .collect();
    assert!(others.is_empty(), "{others:?}");
}

/// The user presses Cancel as soon as the progress bar says hashing, until the hook is
/// cleared.
fn cancel_once_hashing(harness: &Harness) {
    let app = harness.app.clone();
    harness.events.on_event(move |event| {
        if let AppEvent::DeployProgress(s) = event
            && s.phase == Phase::Hashing
        {
            app.cancel_deploy(&s.job);
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_canceled_while_it_hashes_leaves_nothing_listed() {
    let harness = Harness::start().await;
    let app = &harness.app;
    let files: Vec<(String, String)> = (0..200)
        .map(|i| (format!("page{i}/index.html"), format!("<h1>page {i}</h1>")))
        .collect();
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_str()))
        .collect();
    let site = harness.site("catalog", &files);
    common::write(&site.join("index.html"), "<h1>catalog</h1>");

    cancel_once_hashing(&harness);
    let mark = harness.events.mark();
    let job = app.deploy_dropped(vec![site.clone()], None).unwrap();
    let failed = harness
        .events
        .job_end(&job, mark)
        .await
        .expect_err("a canceled deploy does not finish");
    harness.events.clear_hook();
    assert_eq!(failed.error.message, "The deploy was canceled");
    assert!(
        failed.error.hint.starts_with("nothing was deployed"),
        "{:?}",
        failed.error
    );
    assert_eq!(failed.deployment, None, "no build, so no log");
    assert!(app.deployments("catalog").await.unwrap().is_empty());
    let projects = app.projects().await.unwrap();
    assert_eq!(projects.len(), 1, "{projects:?}");
    assert_eq!(
        (projects[0].status.name(), projects[0].deployments),
        ("failed", 0)
    );
    assert_eq!(
        pier_core::alias::read(harness.store().as_ref(), "catalog")
            .await
            .unwrap(),
        None
    );

    // Deploying again goes through.
    let mark = harness.events.mark();
    let job = app.deploy_dropped(vec![site], None).unwrap();
    let done = harness.events.job_end(&job, mark).await.unwrap();
    let rows = app.deployments("catalog").await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].id, done.deployment);
    assert_eq!(rows[0].file_count, 201);
}

/// A build whose output is many small files, so its upload is a phase of its own.
const MANY_PAGES: &str = r#"
const fs = require('fs');
for (let i = 0; i < 200; i++) {
  fs.mkdirSync('dist/page' + i, { recursive: true });
  fs.writeFileSync('dist/page' + i + '/index.html', '<h1>page ' + i + '</h1>');
}
console.log('built 200 pages');
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_build_canceled_while_its_output_uploads_deploys_nothing() {
    let harness = Harness::start().await;
    let app = &harness.app;
    let tree = harness.source_tree("pages", MANY_PAGES);
    // Hashing the output comes after the build is done.
    cancel_once_hashing(&harness);
    let mark = harness.events.mark();
    let job = app.deploy_dropped(vec![tree], None).unwrap();
    let end = harness.events.job_end(&job, mark).await;
    harness.events.clear_hook();
    let failed = end.expect_err("canceled before its manifest, it deploys nothing");
    assert!(failed.error.message.contains("canceled"), "{failed:?}");
    let log_id = failed.deployment.expect("the build's log");
    assert!(common::manifest(&harness.store(), &log_id).await.is_none());
    assert!(app.deployments("pages").await.unwrap().is_empty());
    let log = whole_log(&harness, &log_id).await;
    assert_eq!(
        log.last().and_then(|r| r.terminal_status()),
        Some(BuildStatus::Canceled)
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_deploy_canceled_right_after_the_drop_deploys_nothing() {
    let harness = Harness::start().await;
    let site = harness.site("quick", &[("index.html", "<h1>quick</h1>")]);
    let mark = harness.events.mark();
    let job = harness.app.deploy_dropped(vec![site], None).unwrap();
    harness.app.cancel_deploy(&job);
    let end = harness.events.job_end(&job, mark).await;
    let failed = end.expect_err("canceled before it started, it deploys nothing");
    assert_eq!(failed.error.message, "The deploy was canceled");
    assert!(harness.app.deployments("quick").await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutting_the_app_down_stops_a_running_build() {
    let harness = Harness::start().await;
    let pids_file = harness.work.path().join("pids.json");
    let tree = harness.source_tree("left-running", &endless_build(&pids_file));
    let mark = harness.events.mark();
    let job = harness.app.deploy_dropped(vec![tree], None).unwrap();
    let BuildTree { group, .. } = started(&pids_file).await;
    let _cleanup = KillOnDrop(group);
    harness.app.shutdown();
    eventually(
        "the build's processes to stop after the app's shutdown",
        Duration::from_secs(20),
        || group_members(group).is_empty(),
    )
    .await;
    let failed = harness
        .events
        .job_end(&job, mark)
        .await
        .expect_err("a build stopped by the shutdown deploys nothing");
    assert!(failed.error.message.contains("canceled"), "{failed:?}");
}

//! Drop → deploy without a window: what the window's drop handler calls
//! (`App::deploy_dropped(paths, None)`) and the events it draws from. A built site deploys with
//! its progress and ends with the deployment's preview URL, which names what the store now
//! holds and what the Projects and Project screens list; every bad drop is refused at once with
//! what to drop instead, and starts nothing; a source tree is built first (node through
//! `npm run build`) and its log can be followed from the start.

mod common;

use common::{Finished, Harness, deployed_file, stdout_lines, whole_log};
use pier_app::AppEvent;
use pier_app::meter::Phase;
use pier_core::logs::{BuildStatus, LogStream};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_site_folder_deploys_with_progress_and_is_listed() {
    let harness = Harness::start().await;
    let app = &harness.app;
    let site = harness.site(
        "Marketing Site",
        &[
            ("index.html", "<h1>launch day</h1>"),
            ("about/index.html", "<h1>about us</h1>"),
            ("assets/site.css", "h1 { color: teal }"),
        ],
    );

    let mark = harness.events.mark();
    let job = app.deploy_dropped(vec![site.clone()], None).unwrap();
    let Finished {
        project,
        deployment,
        preview_url,
        built,
    } = harness
        .events
        .job_end(&job, mark)
        .await
        .expect("the drop deploys");
    assert_eq!(project, "marketing-site", "named after the folder");
    assert!(!built, "a built site is deployed as it is");

    // Progress: the bar moves through its phases in order, counts every file, and the job's
    // last word is the deployment.
    let events = harness.events.since(mark);
    let progress: Vec<_> = events
        .iter()
        .filter_map(|event| match event {
            AppEvent::DeployProgress(snapshot) if snapshot.job == job => Some(snapshot.clone()),
            _ => None,
        })
        .collect();
    let phases: Vec<Phase> = progress.iter().map(|s| s.phase).collect();
    assert_eq!(phases.first(), Some(&Phase::Starting), "{phases:?}");
    for phase in [Phase::Hashing, Phase::Uploading, Phase::Finalizing] {
        assert!(phases.contains(&phase), "{phase:?} missing from {phases:?}");
    }
    let rank = |phase: &Phase| match phase {
        Phase::Starting | Phase::Building => 0,
        Phase::Hashing => 1,
        Phase::Uploading => 2,
        Phase::Finalizing => 3,
    };
    assert!(
        phases.windows(2).all(|w| rank(&w[0]) <= rank(&w[1])),
        "phases go forward: {phases:?}"
    );
    let last = progress.last().unwrap();
    assert_eq!((last.files_total, last.files_hashed), (3, 3), "{last:?}");
    assert_eq!(last.fraction, 1.0);
    assert!(progress.iter().all(|s| s.project == project));
    assert!(
        progress.iter().all(|s| (0.0..=1.0).contains(&s.fraction)),
        "{progress:?}"
    );
    let job_events: Vec<&AppEvent> = events
        .iter()
        .filter(|event| match event {
            AppEvent::DeployProgress(s) => s.job == job,
            AppEvent::DeployFinished { job: j, .. } | AppEvent::DeployFailed { job: j, .. } => {
                j == &job
            }
            _ => false,
        })
        .collect();
    assert!(
        matches!(job_events.last(), Some(AppEvent::DeployFinished { .. })),
        "the job ends with its deployment"
    );
    // The lists are told to reload (just after the job's end).
    harness
        .events
        .until_reload("a reload of the lists", mark, &project)
        .await;

    // The preview URL names the deployment, and it serves what was dropped.
    let store = harness.store();
    let manifest = pier_core::deployments::resolve(store.as_ref(), &preview_url)
        .await
        .unwrap();
    assert_eq!(manifest.id, deployment);
    assert!(
        preview_url.starts_with(&format!("http://{project}-"))
            && preview_url.ends_with(&format!(".localhost:{}", harness.port)),
        "{preview_url}"
    );
    assert_eq!(manifest.file_count, 3);
    assert_eq!(
        deployed_file(&store, &preview_url, "index.html").await,
        "<h1>launch day</h1>"
    );
    assert_eq!(
        deployed_file(&store, &deployment, "assets/site.css").await,
        "h1 { color: teal }"
    );

    // The Projects and Project screens list it, ready, and not live (promotion is its own step).
    let projects = app.projects().await.unwrap();
    assert_eq!(projects.len(), 1, "{projects:?}");
    let row = &projects[0];
    assert_eq!(row.name, project);
    assert_eq!((row.status.name(), row.deployments), ("ready", 1));
    assert_eq!(row.production, None, "a deploy never goes live by itself");
    assert_eq!(row.production_url, None);
    let latest = row.latest.as_ref().unwrap();
    assert_eq!(latest.id, deployment);
    assert_eq!(latest.preview_url, preview_url);
    let rows = app.deployments(&project).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].id, deployment);
    assert_eq!(rows[0].preview_url, preview_url);
    assert_eq!((rows[0].file_count, rows[0].production), (3, false));
    assert!(
        rows[0].source.contains("Marketing Site"),
        "{}",
        rows[0].source
    );

    // Dropping the same folder again is a new deployment, listed newest first.
    let mark = harness.events.mark();
    let again = app.deploy_dropped(vec![site], None).unwrap();
    assert_ne!(again, job, "each drop is its own job");
    let second = harness.events.job_end(&again, mark).await.unwrap();
    assert_ne!(second.deployment, deployment);
    let rows = app.deployments(&project).await.unwrap();
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, [second.deployment.as_str(), deployment.as_str()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_drops_are_refused_with_what_to_drop_instead() {
    let harness = Harness::start().await;
    let app = &harness.app;
    let site = harness.site("blog", &[("index.html", "<h1>blog</h1>")]);
    let file = site.join("index.html");
    let empty = harness.folder("empty");
    let missing = harness.work.path().join("sites/moved-away");
    let mark = harness.events.mark();

    let refused = |paths: Vec<std::path::PathBuf>| {
        app.deploy_dropped(paths.clone(), None)
            .expect_err(&format!("{paths:?} is refused"))
    };
    let error = refused(vec![file.clone()]);
    assert_eq!(
        error.message,
        format!("`{}` is a file, not a folder", file.display())
    );
    assert!(
        error
            .hint
            .contains("drop the folder that holds your site (with its index.html)"),
        "{error:?}"
    );
    let error = refused(vec![empty.clone()]);
    assert_eq!(error.message, format!("`{}` is empty", empty.display()));
    assert!(error.hint.contains("build your site first"), "{error:?}");
    let error = refused(vec![site.clone(), empty.clone(), file.clone()]);
    assert_eq!(
        error.message,
        "3 items were dropped; Pier deploys one folder at a time"
    );
    assert_eq!(error.hint, "drop the one folder that holds your site");
    let error = refused(vec![missing.clone()]);
    assert_eq!(
        error.message,
        format!("`{}` does not exist", missing.display())
    );
    assert!(error.hint.contains("pick the folder again"), "{error:?}");
    let error = refused(Vec::new());
    assert_eq!(error.message, "Nothing was dropped");
    assert!(error.hint.contains("drag a folder"), "{error:?}");

    // Nothing started: no job events, nothing in the store, no project listed.
    assert!(
        harness.events.since(mark).is_empty(),
        "a refused drop starts nothing: {:?}",
        harness.events.since(mark)
    );
    assert!(app.projects().await.unwrap().is_empty());

    // The folder the refusals pointed at deploys.
    let job = app.deploy_dropped(vec![site], None).unwrap();
    let done = harness.events.job_end(&job, mark).await.unwrap();
    assert_eq!(done.project, "blog");
}

const BUILD: &str = r#"
const fs = require('fs');
console.log('compiling 3 pages');
console.error('warning: no favicon');
fs.mkdirSync('dist/docs', { recursive: true });
fs.writeFileSync('dist/index.html', '<h1>built by node</h1>');
fs.writeFileSync('dist/docs/index.html', '<h1>docs</h1>');
for (let i = 1; i <= 40; i++) console.log('page ' + i);
console.log('build done');
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_source_tree_builds_then_deploys_and_its_log_can_be_followed() {
    let harness = Harness::start().await;
    let app = &harness.app;
    let tree = harness.source_tree("docs-src", BUILD);

    let mark = harness.events.mark();
    let job = app
        .deploy_dropped(vec![tree.clone()], Some("handbook".into()))
        .unwrap();
    // The first word is the build, with the log to follow.
    let (phase, log_id) = harness
        .events
        .until("the first progress", mark, |event| match event {
            AppEvent::DeployProgress(s) if s.job == job => Some((s.phase, s.deployment.clone())),
            _ => None,
        })
        .await;
    assert_eq!(phase, Phase::Building);
    let log_id = log_id.expect("a build names its log");
    let done = harness
        .events
        .job_end(&job, mark)
        .await
        .expect("the build deploys");
    assert!(done.built);
    assert_eq!(done.project, "handbook");
    assert_eq!(
        done.deployment, log_id,
        "the deployment carries the log's id"
    );

    // What was deployed is the build's output, not the source tree.
    let store = harness.store();
    let manifest = common::manifest(&store, &done.deployment).await.unwrap();
    let mut paths: Vec<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
    paths.sort();
    assert_eq!(paths, ["docs/index.html", "index.html"]);
    assert_eq!(
        deployed_file(&store, &done.preview_url, "index.html").await,
        "<h1>built by node</h1>"
    );
    let projects = app.projects().await.unwrap();
    assert_eq!(projects[0].name, "handbook");
    assert_eq!(projects[0].status.name(), "ready");
    assert_eq!(
        projects[0].latest.as_ref().map(|l| l.id.as_str()),
        Some(done.deployment.as_str())
    );

    // The build's log, from the start: every line the script printed, in order, numbered
    // from 1 without a gap, ending ready.
    let log = whole_log(&harness, &log_id).await;
    let seqs: Vec<u64> = log.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=log.len() as u64).collect::<Vec<_>>());
    let printed = stdout_lines(&log);
    let mut expected = vec!["compiling 3 pages".to_string()];
    expected.extend((1..=40).map(|i| format!("page {i}")));
    expected.push("build done".into());
    let from_script: Vec<String> = printed
        .iter()
        .filter(|line| expected.contains(line))
        .cloned()
        .collect();
    assert_eq!(from_script, expected);
    assert!(log.iter().any(|r| matches!(
        &r.kind,
        pier_core::logs::LogKind::Line { stream: LogStream::Stderr, text } if text == "warning: no favicon"
    )));
    let statuses = common::statuses(&log);
    assert_eq!(statuses.first(), Some(&BuildStatus::Queued));
    assert!(statuses.contains(&BuildStatus::Building), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&BuildStatus::Ready));
    assert_eq!(
        log.last().unwrap().terminal_status(),
        Some(BuildStatus::Ready),
        "the log ends with its outcome"
    );

    // The archive in the store holds the same log the app sent.
    let archived = pier_core::logs::read_archive(store.as_ref(), &log_id)
        .await
        .unwrap()
        .expect("the log is archived");
    assert_eq!(archived, log);
}

//! Builds with real child processes (node, sh) and live logs through the in-process bus and
//! a real redis-server.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use pier_core::builds::detect::BuildOverrides;
use pier_core::builds::{self, BuildRequest, EnvVar};
use pier_core::logs::memory::LogBus;
use pier_core::logs::redis::RedisLogs;
use pier_core::logs::{
    self, BuildStatus, LiveAndBackend, LogBackend, LogKind, LogRecord, LogStream, LogWriter,
};
use pier_core::progress::Progress;
use pier_core::regions::Regions;
use pier_core::store::{DynStore, keys};
use pier_core::{PierError, alias};
use tokio_util::sync::CancellationToken;

use pier_tests::local_store;

/// A source tree whose build script is `script` (run by node), with no dependencies.
fn source(script: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let package = serde_json::json!({
        "name": "fixture",
        "scripts": { "build": format!("node build.js") },
    });
    std::fs::write(dir.path().join("package.json"), package.to_string()).unwrap();
    std::fs::write(dir.path().join("build.js"), script).unwrap();
    dir
}

fn request(dir: &Path, env: Vec<EnvVar>, timeout: Duration) -> BuildRequest {
    BuildRequest {
        dir: dir.to_path_buf(),
        project: "built".into(),
        production: true,
        overrides: BuildOverrides::default(),
        env,
        timeout,
        source: None,
        store_cache: false,
        env_revision: None,
    }
}

/// Builds `dir` with no environment until the build ends or `timeout` stops it.
async fn run_uncanceled(store: &DynStore, dir: &Path, timeout: Duration) -> Run {
    run_build(
        store,
        request(dir, vec![], timeout),
        CancellationToken::new(),
    )
    .await
}

struct Run {
    result: Result<pier_core::deploy::DeployOutcome, PierError>,
    log: Vec<LogRecord>,
    id: String,
}

async fn run_build(store: &DynStore, request: BuildRequest, cancel: CancellationToken) -> Run {
    let bus = Arc::new(LogBus::new());
    let id = pier_core::manifest::new_id(time::OffsetDateTime::now_utc());
    let writer = LogWriter::new(&id, bus.as_backend(), builds::secrets(&request.env));
    let result = builds::build_and_deploy(
        &Regions::single(store.clone()),
        &request,
        &writer,
        &cancel,
        &Progress::silent(),
    )
    .await;
    Run {
        result,
        log: writer.records(),
        id,
    }
}

fn lines(log: &[LogRecord], stream: LogStream) -> Vec<String> {
    log.iter()
        .filter_map(|record| match &record.kind {
            LogKind::Line { stream: s, text } if *s == stream => Some(text.clone()),
            _ => None,
        })
        .collect()
}

fn statuses(log: &[LogRecord]) -> Vec<BuildStatus> {
    log.iter()
        .filter_map(|record| match &record.kind {
            LogKind::Status { status, .. } => Some(*status),
            _ => None,
        })
        .collect()
}

const WRITE_SITE: &str = r#"
const fs = require('fs');
fs.mkdirSync('dist/assets', { recursive: true });
fs.writeFileSync('dist/index.html', '<h1>built by node</h1>');
fs.writeFileSync('dist/assets/app.js', 'console.log(1)');
console.log('token is ' + process.env.API_TOKEN);
console.error('a warning on stderr');
"#;

#[tokio::test]
async fn a_build_deploys_its_output_and_archives_its_log_with_secrets_masked() {
    let (store, _dir) = local_store().await;
    let tree = source(WRITE_SITE);
    let env = vec![EnvVar {
        name: "API_TOKEN".into(),
        value: "tok-7f3a9c-secret".into(),
        secret: true,
    }];
    let run = run_build(
        &store,
        request(tree.path(), env, Duration::from_secs(60)),
        CancellationToken::new(),
    )
    .await;
    let outcome = run.result.expect("the build succeeds");
    assert_eq!(
        outcome.summary.id, run.id,
        "the deployment carries the build's id"
    );
    assert_eq!(outcome.summary.file_count, 2);
    assert_eq!(
        alias::read(store.as_ref(), "built")
            .await
            .unwrap()
            .unwrap()
            .production,
        Some(run.id.clone())
    );
    assert_eq!(
        statuses(&run.log),
        [
            BuildStatus::Building,
            BuildStatus::Uploading,
            BuildStatus::Ready
        ]
    );
    let stdout = lines(&run.log, LogStream::Stdout).join("\n");
    assert!(stdout.contains("token is ••••••"), "{stdout}");
    assert!(!format!("{:?}", run.log).contains("tok-7f3a9c-secret"));
    assert_eq!(lines(&run.log, LogStream::Stderr), ["a warning on stderr"]);

    let archived = logs::read_archive(store.as_ref(), &run.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(archived, run.log, "the archive holds the whole log");
    let seqs: Vec<u64> = archived.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=archived.len() as u64).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_failing_build_is_marked_failed_with_its_stderr_and_nothing_goes_live() {
    let (store, _dir) = local_store().await;
    let tree = source("console.error('Module not found: ./missing'); process.exit(3);");
    let run = run_uncanceled(&store, tree.path(), Duration::from_secs(60)).await;
    let error = run.result.unwrap_err();
    assert!(
        error.to_string().contains("exited with status 3"),
        "{error}"
    );
    assert!(error.hint().contains("nothing was deployed"));
    assert_eq!(
        lines(&run.log, LogStream::Stderr),
        ["Module not found: ./missing"]
    );
    assert_eq!(statuses(&run.log).last(), Some(&BuildStatus::Failed));
    assert!(store.get(&keys::manifest(&run.id)).await.unwrap().is_none());
    assert!(
        alias::read(store.as_ref(), "built")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        logs::read_archive(store.as_ref(), &run.id)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn long_lines_and_lines_without_newlines_are_logged_whole() {
    let (store, _dir) = local_store().await;
    let tree = source(
        "process.stdout.write('x'.repeat(1000000) + '\\n');\n\
         process.stdout.write('waiting without a newline');\n\
         setTimeout(() => { console.log(' ...done'); require('fs').mkdirSync('dist'); require('fs').writeFileSync('dist/index.html', 'ok'); }, 1500);",
    );
    let run = run_uncanceled(&store, tree.path(), Duration::from_secs(60)).await;
    run.result.unwrap();
    let stdout = lines(&run.log, LogStream::Stdout);
    let xs: usize = stdout
        .iter()
        .filter(|l| l.starts_with('x'))
        .map(String::len)
        .sum();
    assert_eq!(xs, 1_000_000, "a 1 MB line arrives whole, in pieces");
    assert!(
        stdout
            .iter()
            .all(|l| l.len() <= pier_core::builds::runner::MAX_LINE)
    );
    let partial = stdout
        .iter()
        .position(|l| l == "waiting without a newline")
        .unwrap();
    assert_eq!(
        stdout[partial + 1],
        " ...done",
        "the partial line was logged before the rest"
    );
}

#[tokio::test]
async fn time_limits_and_cancel_stop_the_whole_process_tree() {
    let (store, _dir) = local_store().await;
    let marker = tempfile::tempdir().unwrap();
    let survivor = marker.path().join("grandchild-survived");
    let script = format!(
        "require('child_process').spawn('sh', ['-c', 'sleep 3; touch {}'], {{ stdio: 'ignore' }});\n\
         console.log('started'); setTimeout(() => {{}}, 60000);",
        survivor.display()
    );
    let tree = source(&script);
    let run = run_uncanceled(&store, tree.path(), Duration::from_secs(1)).await;
    let error = run.result.unwrap_err();
    assert!(error.to_string().contains("time limit"), "{error}");

    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(700)).await;
        trigger.cancel();
    });
    let run = run_build(
        &store,
        request(tree.path(), vec![], Duration::from_secs(60)),
        cancel,
    )
    .await;
    assert!(matches!(run.result, Err(PierError::BuildCanceled)));
    assert_eq!(statuses(&run.log).last(), Some(&BuildStatus::Canceled));
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(!survivor.exists(), "the build's grandchild was stopped too");
}

/// Publishes `count` lines, restarting Redis in the middle, while a follower reads from the
/// start: it must see every record exactly once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarting_mid_build_loses_and_repeats_nothing() {
    let (store, _dir) = local_store().await;
    let mut redis = pier_tests::Redis::start();
    let live = Arc::new(RedisLogs::open(&redis.url(), Duration::from_secs(3600)).unwrap());
    let id = pier_core::manifest::new_id(time::OffsetDateTime::now_utc());
    let writer = LogWriter::new(&id, live.clone().as_backend(), vec![]);
    writer.status(BuildStatus::Building, None).await;

    let follower = {
        let stream = logs::follow(Some(live.clone().as_live()), store.clone(), id.clone(), 0);
        tokio::spawn(async move { stream.collect::<Vec<_>>().await })
    };
    let count = 3000;
    for i in 0..count {
        writer.line(LogStream::Stdout, &format!("line {i}")).await;
        if i == count / 2 {
            live.flush(&id).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            redis.restart();
        }
        if i % 200 == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    writer.status(BuildStatus::Ready, None).await;
    writer.finish(store.as_ref()).await.unwrap();

    let received = tokio::time::timeout(Duration::from_secs(60), follower)
        .await
        .expect("the follower finishes")
        .unwrap();
    let seqs: Vec<u64> = received.iter().map(|r| r.as_ref().unwrap().seq).collect();
    assert_eq!(
        seqs,
        (1..=count + 2).collect::<Vec<_>>(),
        "every record once, in order"
    );

    // From a position, after the fact: the stream (re-filled after the restart) or the archive.
    let resumed: Vec<u64> = logs::follow(Some(live.as_live()), store.clone(), id.clone(), 2990)
        .map(|r| r.unwrap().seq)
        .collect()
        .await;
    assert_eq!(resumed, (2991..=count + 2).collect::<Vec<_>>());
}

#[tokio::test]
async fn without_a_live_log_followers_read_the_archive() {
    let (store, _dir) = local_store().await;
    let tree = source(WRITE_SITE);
    let run = run_uncanceled(&store, tree.path(), Duration::from_secs(60)).await;
    run.result.unwrap();
    let redis = pier_tests::Redis::start();
    let live = Arc::new(RedisLogs::open(&redis.url(), Duration::from_secs(3600)).unwrap());
    let followed: Vec<LogRecord> =
        logs::follow(Some(live.as_live()), store.clone(), run.id.clone(), 0)
            .map(|r| r.unwrap())
            .collect()
            .await;
    assert_eq!(followed, run.log);
    let unknown = logs::follow(None, store.clone(), "0000000000nope00000".into(), 0)
        .collect::<Vec<_>>()
        .await;
    assert!(matches!(
        unknown.as_slice(),
        [Err(PierError::UnknownDeployment { .. })]
    ));
}

/// Every path under `dir` with its size and modification time.
fn snapshot(dir: &Path) -> Vec<(String, u64, std::time::SystemTime)> {
    let mut all = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            let relative = entry
                .path()
                .strip_prefix(dir)
                .unwrap()
                .display()
                .to_string();
            all.push((relative, meta.len(), meta.modified().unwrap()));
            if meta.is_dir() {
                pending.push(entry.path());
            }
        }
    }
    all.sort();
    all
}

#[tokio::test]
async fn a_built_site_with_a_package_json_deploys_as_is_and_its_folder_is_untouched() {
    let (store, _dir) = local_store().await;
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "<div id=swagger-ui></div>").unwrap();
    std::fs::write(site.path().join("swagger-ui.js"), "/* bundle */").unwrap();
    std::fs::write(
        site.path().join("package.json"),
        r#"{"name":"swagger-ui-dist","dependencies":{"@scarf/scarf":"=1.4.0"}}"#,
    )
    .unwrap();
    let before = snapshot(site.path());
    let run = run_uncanceled(&store, site.path(), Duration::from_secs(60)).await;
    let outcome = run.result.expect("deploys");
    assert_eq!(
        snapshot(site.path()),
        before,
        "the folder is exactly as it was"
    );
    assert!(!site.path().join("node_modules").exists());
    assert_eq!(outcome.summary.file_count, 3);
    let installs = lines(&run.log, LogStream::Stdout)
        .into_iter()
        .chain(lines(&run.log, LogStream::Stderr))
        .filter(|line| line.contains("npm"))
        .count();
    assert_eq!(installs, 0, "no npm step ran: {:?}", run.log);
}

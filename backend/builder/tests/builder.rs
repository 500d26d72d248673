//! The builder end to end with real parts: jobs taken from SQS (moto), logs through a real
//! `redis-server`, real `npm ci` and `npm run build`, and the `pier-builder` binary itself for
//! ECS-style one-shot runs, cancel by SIGTERM, and the build cache in the store.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::StreamExt;
use pier_core::builds::archive;
use pier_core::builds::job::{BuildJob, JobSource};
use pier_core::builds::queue::BuildQueue;
use pier_core::builds::worker::{self, WorkerOptions, WorkerStats};
use pier_core::logs::{self, BuildStatus, LiveAndBackend, LogKind, LogRecord, LogStream};
use pier_core::regions::Regions;
use pier_core::store::DynStore;
use pier_tests::queues::BuildQueues;
use pier_tests::{Moto, Redis};
use tokio_util::sync::CancellationToken;

/// A source tree whose build needs no downloads: `npm install` of no dependencies, then a
/// script that writes `dist/`.
fn source_tree(dir: &Path, title: &str, build: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("package.json"),
        format!(
            r#"{{"name":"site","version":"1.0.0","private":true,"scripts":{{"build":"{build}"}}}}"#
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("build.js"),
        format!(
            "require('fs').mkdirSync('dist',{{recursive:true}});\
             require('fs').writeFileSync('dist/index.html','<h1>{title}</h1>');\
             console.log('built {title}');"
        ),
    )
    .unwrap();
}

fn git_repo(dir: &Path) -> String {
    source_tree(dir, "from git", "node build.js");
    for args in [
        &["init", "-q", "-b", "main"][..],
        &["add", "."],
        &[
            "-c",
            "user.name=pier",
            "-c",
            "user.email=pier@example.com",
            "commit",
            "-q",
            "-m",
            "site",
        ],
    ] {
        assert!(
            Command::new("git")
                .args(args)
                .current_dir(dir)
                .status()
                .unwrap()
                .success()
        );
    }
    format!("file://{}", dir.display())
}

fn worker_options(workdir: &Path, max_attempts: u32) -> WorkerOptions {
    WorkerOptions {
        concurrency: 2,
        visibility: Duration::from_secs(30),
        max_attempts,
        poll: Duration::from_secs(1),
        workdir: workdir.to_path_buf(),
        store_cache: false,
    }
}

async fn wait_until(limit: Duration, mut done: impl AsyncFnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if done().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    false
}

async fn archived(store: &DynStore, deployment: &str) -> Vec<LogRecord> {
    logs::read_archive(store.as_ref(), deployment)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no archived log for {deployment}"))
}

fn last_status(records: &[LogRecord]) -> Option<(BuildStatus, Option<String>)> {
    records.iter().rev().find_map(|record| match &record.kind {
        LogKind::Status { status, message } => Some((*status, message.clone())),
        _ => None,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn queue_worker_builds_jobs_fails_bad_builds_and_dead_letters_garbage() {
    let moto = Moto::start();
    let redis = Redis::start();
    let queues = BuildQueues::create(&moto, 2).await;
    let (store, _store_dir) = pier_tests::local_store().await;
    let work = tempfile::tempdir().unwrap();
    let live: Arc<dyn LiveAndBackend> =
        Arc::new(logs::redis::RedisLogs::open(&redis.url(), Duration::from_secs(600)).unwrap());

    // A dropped source folder travels as an archive in the store.
    let dropped = work.path().join("dropped site");
    source_tree(&dropped, "from a dropped folder", "node build.js");
    let key = archive::upload(store.as_ref(), &dropped).await.unwrap();
    let from_archive = BuildJob::new(
        "dropped",
        true,
        JobSource::Archive {
            key,
            folder: dropped.display().to_string(),
        },
    );
    let from_git = BuildJob::new(
        "from-git",
        false,
        JobSource::Git {
            url: git_repo(&work.path().join("repo")),
            reference: Some("main".into()),
        },
    );
    let broken_dir = work.path().join("broken");
    source_tree(
        &broken_dir,
        "never",
        "node -e \\\"console.error('syntax error in app.js'); process.exit(3)\\\"",
    );
    let broken = BuildJob::new(
        "broken",
        true,
        JobSource::Archive {
            key: archive::upload(store.as_ref(), &broken_dir).await.unwrap(),
            folder: broken_dir.display().to_string(),
        },
    );
    let queue = BuildQueue::connect(&queues.work, Some(&moto.endpoint)).await;
    for job in [&from_archive, &from_git, &broken] {
        queue.submit(job, live.clone().as_backend()).await.unwrap();
    }
    queues
        .client
        .send_message()
        .queue_url(&queues.work)
        .message_body("{not a job")
        .send()
        .await
        .unwrap();

    // A follower attached before the build starts sees it from the first line.
    let follower = {
        let stream = logs::follow(
            Some(live.clone().as_live()),
            store.clone(),
            from_git.deployment.clone(),
            0,
        );
        tokio::spawn(async move { stream.collect::<Vec<_>>().await })
    };

    let stats = Arc::new(WorkerStats::default());
    let shutdown = CancellationToken::new();
    let worker = tokio::spawn(worker::work(
        queue,
        Regions::single(store.clone()),
        live.clone(),
        worker_options(work.path(), 2),
        stats.clone(),
        shutdown.clone(),
    ));
    let settled = wait_until(Duration::from_secs(180), async || {
        stats.deployed.load(Ordering::Relaxed) == 2
            && stats.failed.load(Ordering::Relaxed) == 1
            && queues.depth(&queues.dead).await == 1
    })
    .await;
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(60), worker)
        .await
        .expect("the worker stops once its builds finish")
        .unwrap()
        .unwrap();
    assert!(settled, "worker did not settle: {stats:?}");

    // Built jobs are deployed under their ids; production moved only for the one that asked.
    let manifest = pier_core::deployments::resolve(store.as_ref(), &from_archive.deployment)
        .await
        .unwrap();
    assert!(manifest.files.iter().any(|f| f.path == "index.html"));
    let alias = pier_core::alias::read(store.as_ref(), "dropped")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        alias.production.as_deref(),
        Some(from_archive.deployment.as_str())
    );
    pier_core::deployments::resolve(store.as_ref(), &from_git.deployment)
        .await
        .unwrap();

    // The failed build is marked failed with its stderr, and nothing was deployed or promoted.
    let broken_log = archived(&store, &broken.deployment).await;
    let (status, message) = last_status(&broken_log).unwrap();
    assert_eq!(status, BuildStatus::Failed);
    assert!(message.unwrap().contains("exited with status 3"));
    assert!(broken_log.iter().any(|r| matches!(&r.kind,
        LogKind::Line { stream: LogStream::Stderr, text } if text.contains("syntax error in app.js"))));
    assert!(
        pier_core::deployments::resolve(store.as_ref(), &broken.deployment)
            .await
            .is_err()
    );
    assert!(
        pier_core::alias::read(store.as_ref(), "broken")
            .await
            .unwrap()
            .is_none()
    );

    // The follower saw the git build live, every record once, in order, ending with ready.
    let followed: Vec<LogRecord> = tokio::time::timeout(Duration::from_secs(30), follower)
        .await
        .unwrap()
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let seqs: Vec<u64> = followed.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=followed.len() as u64).collect::<Vec<_>>());
    assert_eq!(
        followed.last().unwrap().terminal_status(),
        Some(BuildStatus::Ready)
    );
    assert!(followed.iter().any(|r| matches!(&r.kind,
        LogKind::Line { text, .. } if text.contains("built from git"))));

    // Finished jobs left the work queue; the garbage is in the dead-letter queue.
    assert_eq!(queues.depth(&queues.work).await, 0);
    assert!(stats.rejected.load(Ordering::Relaxed) >= 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_outage_is_retried_then_the_job_is_dead_lettered_with_one_continuous_log() {
    let moto = Moto::start();
    let queues = BuildQueues::create(&moto, 2).await;
    let (inner, _store_dir) = pier_tests::local_store().await;
    let work = tempfile::tempdir().unwrap();
    let dropped = work.path().join("site");
    source_tree(&dropped, "never", "node build.js");
    let key = archive::upload(inner.as_ref(), &dropped).await.unwrap();
    let job = BuildJob::new(
        "site",
        false,
        JobSource::Archive {
            key,
            folder: dropped.display().to_string(),
        },
    );
    let spy = Arc::new(pier_tests::spy::Spy::new(inner.clone()));
    spy.set_outage(true);
    let store: DynStore = spy.clone();
    let bus = Arc::new(logs::memory::LogBus::new());
    let live: Arc<dyn LiveAndBackend> = bus.clone();
    let queue = BuildQueue::connect(&queues.work, Some(&moto.endpoint)).await;
    queue.enqueue(&job).await.unwrap();

    let stats = Arc::new(WorkerStats::default());
    let shutdown = CancellationToken::new();
    let worker = tokio::spawn(worker::work(
        queue,
        Regions::single(store),
        live.clone(),
        worker_options(work.path(), 2),
        stats.clone(),
        shutdown.clone(),
    ));
    let settled = wait_until(Duration::from_secs(60), async || {
        queues.depth(&queues.dead).await == 1
    })
    .await;
    shutdown.cancel();
    worker.await.unwrap().unwrap();
    assert!(
        settled,
        "the job never reached the dead-letter queue: {stats:?}"
    );
    assert_eq!(stats.retried.load(Ordering::Relaxed), 1);
    assert_eq!(stats.failed.load(Ordering::Relaxed), 1);
    assert_eq!(stats.deployed.load(Ordering::Relaxed), 0);

    // One log across both attempts, numbered without gaps, ending in a failure that says
    // what happened.
    let records = live
        .as_live()
        .read_after(&job.deployment, 0, Duration::ZERO)
        .await
        .unwrap()
        .unwrap();
    let seqs: Vec<u64> = records.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=records.len() as u64).collect::<Vec<_>>());
    assert!(records.iter().any(|r| matches!(&r.kind,
        LogKind::Status { status: BuildStatus::Queued, message: Some(m) } if m.contains("retried"))));
    assert!(records.iter().any(|r| matches!(&r.kind,
        LogKind::Status { message: Some(m), .. } if m.contains("attempt 2 of 2"))));
    let (status, message) = last_status(&records).unwrap();
    assert_eq!(status, BuildStatus::Failed);
    assert!(message.unwrap().contains("dead-letter"));
    spy.set_outage(false);
    assert!(
        pier_core::deployments::resolve(inner.as_ref(), &job.deployment)
            .await
            .is_err()
    );
}

fn builder(store: &str, job: &BuildJob) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pier-builder"));
    command
        .args(["--store", store, "run"])
        .env("PIER_BUILD_JOB", serde_json::to_string(job).unwrap())
        .env_remove("PIER_REDIS_URL");
    command
}

#[tokio::test(flavor = "multi_thread")]
async fn the_build_cache_in_the_store_lets_the_next_install_run_offline() {
    let (store, store_dir) = pier_tests::local_store().await;
    let fixture = pier_tests::repo_root().join("backend/builder/tests/fixtures/cached-site");
    let key = archive::upload(store.as_ref(), &fixture).await.unwrap();
    let job = |offline: bool| {
        let mut job = BuildJob::new(
            "cached",
            false,
            JobSource::Archive {
                key: key.clone(),
                folder: fixture.display().to_string(),
            },
        );
        if offline {
            // npm may not touch the network: only the restored cache can satisfy `npm ci`.
            job.env.push(pier_core::builds::EnvVar {
                name: "npm_config_offline".into(),
                value: "true".into(),
                secret: false,
            });
        }
        job
    };
    let store_path = store_dir.path().display().to_string();
    let first = job(false);
    let output = builder(&store_path, &first).output().unwrap();
    assert!(
        output.status.success(),
        "first build failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let caches = pier_core::store::list_all(store.as_ref(), "cache/npm/")
        .await
        .unwrap();
    assert_eq!(caches.len(), 1, "the first build saves one cache");
    let first_log = archived(&store, &first.deployment).await;
    assert!(first_log.iter().any(|r| matches!(&r.kind,
        LogKind::Line { text, .. } if text.contains("Saved the build cache"))));

    let second = job(true);
    let output = builder(&store_path, &second).output().unwrap();
    let second_log = archived(&store, &second.deployment).await;
    assert!(
        output.status.success(),
        "offline build failed: {:#?}",
        second_log
    );
    assert!(second_log.iter().any(|r| matches!(&r.kind,
        LogKind::Line { text, .. } if text.contains("Restored the build cache"))));
    let manifest = pier_core::deployments::resolve(store.as_ref(), &second.deployment)
        .await
        .unwrap();
    assert!(manifest.files.iter().any(|f| f.path == "index.html"));

    // Without the cache the same offline build cannot install: the cache is what made it work.
    pier_core::store::Store::delete(store.as_ref(), &[caches[0].key.clone()])
        .await
        .unwrap();
    let third = job(true);
    let output = builder(&store_path, &third).output().unwrap();
    assert!(!output.status.success());
    let (status, _) = last_status(&archived(&store, &third.deployment).await).unwrap();
    assert_eq!(status, BuildStatus::Failed);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_cancels_a_one_shot_build_and_nothing_is_deployed() {
    let (store, store_dir) = pier_tests::local_store().await;
    let work = tempfile::tempdir().unwrap();
    let slow = work.path().join("slow");
    source_tree(
        &slow,
        "never",
        "node -e \\\"require('fs').writeFileSync(process.env.MARKER, ''); setTimeout(() => {}, 60000)\\\"",
    );
    let marker = work.path().join("build-started");
    let mut job = BuildJob::new(
        "slow",
        true,
        JobSource::Archive {
            key: archive::upload(store.as_ref(), &slow).await.unwrap(),
            folder: slow.display().to_string(),
        },
    );
    job.env.push(pier_core::builds::EnvVar {
        name: "MARKER".into(),
        value: marker.display().to_string(),
        secret: false,
    });
    let mut child = builder(&store_dir.path().display().to_string(), &job)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(60), async || marker.exists()).await,
        "the build never started"
    );
    // SAFETY: sending a signal to our own child process.
    unsafe { libc_kill(child.id() as i32, 15) };
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(!status.success());
    let (last, _) = last_status(&archived(&store, &job.deployment).await).unwrap();
    assert_eq!(last, BuildStatus::Canceled);
    assert!(
        pier_core::deployments::resolve(store.as_ref(), &job.deployment)
            .await
            .is_err()
    );
}

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, signal: i32) -> i32;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_other_regions_a_build_lands_in_each_and_one_that_does_not_answer_is_named() {
    let (primary, primary_dir) = pier_tests::local_store().await;
    let (europe, europe_dir) = pier_tests::local_store().await;
    let work = tempfile::tempdir().unwrap();
    let site = work.path().join("site");
    source_tree(&site, "in every region", "node build.js");
    let job = BuildJob::new("everywhere", true, JobSource::Folder { path: site });
    let closed = pier_tests::free_port();
    let regions = format!(
        "eu-west-1={}, ap-south-1=s3://pier-ap-south-1?endpoint=http://127.0.0.1:{closed}&region=ap-south-1",
        europe_dir.path().display()
    );
    let output = builder(&primary_dir.path().display().to_string(), &job)
        .env("PIER_REGION", "us-east-1")
        .env("PIER_REGIONS", &regions)
        .envs(pier_tests::aws_test_env())
        .output()
        .unwrap();
    let log = archived(&primary, &job.deployment).await;
    assert!(output.status.success(), "{log:#?}");
    assert_eq!(last_status(&log).unwrap().0, BuildStatus::Ready);

    // The output is production in the primary and in the region that answered, complete there.
    for store in [&primary, &europe] {
        let alias = pier_core::alias::read(store.as_ref(), "everywhere")
            .await
            .unwrap()
            .expect("a production alias");
        assert_eq!(alias.production.as_deref(), Some(job.deployment.as_str()));
    }
    let state = pier_core::regions::project_state(primary.as_ref(), europe.as_ref(), "everywhere")
        .await
        .unwrap();
    assert!(state.in_sync(), "{state:?}");
    // The log stays in the primary alone.
    assert!(
        pier_core::logs::read_archive(europe.as_ref(), &job.deployment)
            .await
            .unwrap()
            .is_none()
    );
    // The region that did not answer is named in the log, with how it catches up.
    let lines: Vec<&str> = log
        .iter()
        .filter_map(|record| match &record.kind {
            LogKind::Line { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert!(lines.contains(&"Region eu-west-1: in sync"), "{lines:#?}");
    assert!(
        lines.iter().any(
            |line| line.starts_with("warning: region ap-south-1 is unreachable")
                && line.contains("pier regions sync")
        ),
        "{lines:#?}"
    );

    // A list the builder cannot read stops it before anything is built, saying what to write.
    let output = builder(&primary_dir.path().display().to_string(), &job)
        .env("PIER_REGIONS", "eu-west-1")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`eu-west-1`") && stderr.contains("name=store"),
        "{stderr}"
    );
}

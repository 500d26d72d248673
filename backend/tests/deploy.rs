//! The deploy engine against real stores: what lands, what is reused, what survives failures
//! and races. The S3 cases run on moto's server.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use pier_core::alias::{self, Action};
use pier_core::deploy::{DeployOutcome, DeployRequest, deploy};
use pier_core::manifest::Manifest;
use pier_core::progress::{Progress, ProgressEvent};
use pier_core::records::read_json;
use pier_core::store::{self, DynStore, StoreUrl, keys};
use pier_core::{PierError, deployments, gc};
use pier_tests::spy::Spy;
use pier_tests::{Moto, fixture_tree, many_files};
use sha2::{Digest, Sha256};

use pier_tests::local_store;

async fn moto_store(moto: &Moto, bucket: &str) -> DynStore {
    let url = StoreUrl::parse(&moto.bucket(bucket).await).unwrap();
    store::open(&url).await.unwrap()
}

async fn deploy_dir(
    store: &DynStore,
    dir: &Path,
    project: &str,
    production: bool,
) -> Result<DeployOutcome, PierError> {
    let request = DeployRequest::folder(dir.to_path_buf(), Some(project.into()), production);
    deploy(store.as_ref(), &request, &Progress::silent()).await
}

async fn manifest(store: &DynStore, id: &str) -> Manifest {
    read_json(store.as_ref(), &keys::manifest(id))
        .await
        .unwrap()
        .expect("manifest exists")
}

async fn production(store: &DynStore, project: &str) -> Option<String> {
    alias::read(store.as_ref(), project)
        .await
        .unwrap()
        .and_then(|record| record.production)
}

/// Every file of the deployment reads back from the store with its recorded hash and size.
async fn assert_complete(store: &DynStore, id: &str) {
    let manifest = manifest(store, id).await;
    for file in &manifest.files {
        let blob = store
            .get(&keys::blob(&file.sha256))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("blob of {} is missing", file.path));
        assert_eq!(blob.body.len() as u64, file.size, "{}", file.path);
        assert_eq!(
            hex::encode(Sha256::digest(&blob.body)),
            file.sha256,
            "{}",
            file.path
        );
    }
}

async fn awkward_tree_deploys_completely(store: DynStore) {
    let site = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    fixture_tree(site.path(), outside.path());
    let warnings = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = warnings.clone();
    let progress = Progress::new(move |event| {
        if let ProgressEvent::Warning(message) = event {
            sink.lock().unwrap().push(message);
        }
    });
    let request = DeployRequest::folder(site.path().to_path_buf(), Some("awkward".into()), true);
    let outcome = deploy(store.as_ref(), &request, &progress).await.unwrap();
    let manifest = manifest(&store, &outcome.summary.id).await;
    let paths: BTreeSet<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
    let expected: BTreeSet<&str> = [
        ".hidden",
        ".well-known/security.txt",
        "deep/er/than/you/think/page.html",
        "empty.txt",
        "home.html",
        "index.html",
        "media/large video.bin",
        "weird #name%20&?.txt",
        "with space/style sheet.css",
        "with space/ünïcödé 日本/ファイル.txt",
    ]
    .into();
    assert_eq!(paths, expected);
    let by_path = |path: &str| manifest.files.iter().find(|f| f.path == path).unwrap();
    assert_eq!(by_path("empty.txt").size, 0);
    assert_eq!(by_path("home.html").sha256, by_path("index.html").sha256);
    assert_eq!(
        by_path("index.html").content_type,
        "text/html; charset=utf-8"
    );
    assert_eq!(
        by_path("media/large video.bin").size,
        pier_tests::LARGE_FILE_BYTES as u64
    );
    assert_eq!(manifest.file_count, 10);
    assert_complete(&store, &outcome.summary.id).await;
    let warnings = warnings.lock().unwrap().join("\n");
    assert!(
        warnings.contains("leak.txt"),
        "the outside link is reported: {warnings}"
    );
    assert_eq!(
        production(&store, "awkward").await.as_deref(),
        Some(outcome.summary.id.as_str())
    );
}

#[tokio::test]
async fn awkward_tree_deploys_completely_to_a_folder() {
    let (store, _dir) = local_store().await;
    awkward_tree_deploys_completely(store).await;
}

#[tokio::test]
async fn awkward_tree_deploys_completely_to_s3() {
    let moto = Moto::start();
    awkward_tree_deploys_completely(moto_store(&moto, "awkward").await).await;
}

#[tokio::test]
async fn a_one_file_change_uploads_one_blob_plus_the_manifest_and_alias() {
    let moto = Moto::start();
    let store = moto_store(&moto, "dedupe").await;
    let site = tempfile::tempdir().unwrap();
    many_files(site.path(), 300, 700);
    let first = deploy_dir(&store, site.path(), "docs", true).await.unwrap();
    assert_eq!(first.uploaded_blobs, 300);

    std::fs::write(site.path().join("pages/07/page-7.html"), "changed").unwrap();
    let spy = Arc::new(Spy::new(store.clone()));
    let spied: DynStore = spy.clone();
    let second = deploy_dir(&spied, site.path(), "docs", true).await.unwrap();
    let puts = spy.puts();
    let blob_puts: Vec<&String> = puts.iter().filter(|k| k.starts_with(keys::BLOBS)).collect();
    assert_eq!(blob_puts.len(), 1, "exactly one new blob: {blob_puts:?}");
    assert_eq!(
        *blob_puts[0],
        keys::blob(&hex::encode(Sha256::digest(b"changed")))
    );
    let count = |key: String| puts.iter().filter(|k| **k == key).count();
    assert_eq!(count(keys::manifest(&second.summary.id)), 1);
    assert_eq!(count(keys::alias("docs")), 1);
    assert_eq!(second.uploaded_blobs, 1);
    assert_eq!(second.reused_blobs, 299);
    assert_complete(&store, &second.summary.id).await;
}

#[tokio::test]
async fn a_store_failing_mid_deploy_leaves_production_whole_and_a_rerun_succeeds() {
    let moto = Moto::start();
    let store = moto_store(&moto, "failing").await;
    let site = tempfile::tempdir().unwrap();
    many_files(site.path(), 60, 300);
    let v1 = deploy_dir(&store, site.path(), "shop", true).await.unwrap();

    many_files(site.path(), 60, 400);
    let spy = Arc::new(Spy::new(store.clone()));
    spy.fail_blob_puts_after(10);
    let spied: DynStore = spy.clone();
    let failed = deploy_dir(&spied, site.path(), "shop", true).await;
    assert!(failed.is_err(), "the deploy reports the failure");
    assert_eq!(
        production(&store, "shop").await,
        Some(v1.summary.id.clone())
    );
    assert_complete(&store, &v1.summary.id).await;
    let listed = deployments::list_deployments(store.as_ref(), "shop")
        .await
        .unwrap();
    assert_eq!(
        listed.len(),
        1,
        "the failed deploy left no deployment behind"
    );
    assert!(
        store::list_all(store.as_ref(), keys::LEASES)
            .await
            .unwrap()
            .is_empty(),
        "the failed deploy dropped its lease"
    );

    let v2 = deploy_dir(&store, site.path(), "shop", true).await.unwrap();
    assert!(v2.uploaded_blobs < 60, "the rerun reuses what did land");
    assert_eq!(
        production(&store, "shop").await,
        Some(v2.summary.id.clone())
    );
    assert_complete(&store, &v2.summary.id).await;
}

#[tokio::test]
async fn concurrent_promotes_and_deploys_lose_no_alias_change() {
    let moto = Moto::start();
    let store = moto_store(&moto, "races").await;
    let mut ids = Vec::new();
    for i in 0..8 {
        let site = tempfile::tempdir().unwrap();
        std::fs::write(site.path().join("index.html"), format!("v{i}")).unwrap();
        ids.push(
            deploy_dir(&store, site.path(), "race", false)
                .await
                .unwrap()
                .summary
                .id,
        );
    }
    let promotes = ids.iter().map(|id| {
        let store = store.clone();
        let id = id.clone();
        tokio::spawn(
            async move { alias::promote(store.as_ref(), "race", &id, Action::Promote).await },
        )
    });
    for promote in promotes.collect::<Vec<_>>() {
        promote.await.unwrap().unwrap();
    }
    let record = alias::read(store.as_ref(), "race").await.unwrap().unwrap();
    assert_eq!(record.history.len(), 8, "every promote is in the history");
    let promoted: BTreeSet<&String> = record.history.iter().map(|h| &h.deployment).collect();
    assert_eq!(promoted.len(), 8);
    assert_eq!(
        record.production.as_ref(),
        Some(&record.history[7].deployment)
    );
    assert_eq!(record.rollback_stack.len(), 7);

    let sites: Vec<tempfile::TempDir> = (0..5)
        .map(|i| {
            let site = tempfile::tempdir().unwrap();
            std::fs::write(site.path().join("index.html"), format!("parallel {i}")).unwrap();
            site
        })
        .collect();
    let deploys = sites.iter().map(|site| {
        let store = store.clone();
        let dir = site.path().to_path_buf();
        tokio::spawn(async move { deploy_dir(&store, &dir, "race", true).await })
    });
    let mut deployed = Vec::new();
    for handle in deploys.collect::<Vec<_>>() {
        deployed.push(handle.await.unwrap().unwrap().summary.id);
    }
    let record = alias::read(store.as_ref(), "race").await.unwrap().unwrap();
    assert_eq!(record.history.len(), 13);
    assert!(deployed.contains(record.production.as_ref().unwrap()));
    assert_eq!(
        deployments::list_deployments(store.as_ref(), "race")
            .await
            .unwrap()
            .len(),
        13
    );
}

#[tokio::test]
async fn rollback_promote_and_remove_follow_the_rules() {
    let (store, _dir) = local_store().await;
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "a").unwrap();
    let a = deploy_dir(&store, site.path(), "blog", true)
        .await
        .unwrap()
        .summary
        .id;
    std::fs::write(site.path().join("index.html"), "b").unwrap();
    let b = deploy_dir(&store, site.path(), "blog", true)
        .await
        .unwrap()
        .summary
        .id;

    let back = alias::rollback(store.as_ref(), "blog").await.unwrap();
    assert_eq!(
        (back.from.as_deref(), back.to.as_str()),
        (Some(b.as_str()), a.as_str())
    );
    let again = alias::rollback(store.as_ref(), "blog").await.unwrap_err();
    assert!(
        matches!(again, PierError::NothingToRollBack { .. }),
        "{again}"
    );

    let live = deployments::remove(store.as_ref(), &a).await.unwrap_err();
    assert!(matches!(live, PierError::DeploymentIsLive { .. }), "{live}");
    assert!(live.hint().contains("promote another"));
    let preview = manifest(&store, &b).await.summary().preview;
    deployments::remove(store.as_ref(), &preview).await.unwrap();
    let gone = deployments::inspect(store.as_ref(), &b).await.unwrap_err();
    assert!(matches!(gone, PierError::UnknownDeployment { .. }));
    let revived = alias::promote(store.as_ref(), "blog", &b, Action::Promote).await;
    assert!(revived.is_err(), "a removed deployment can never go live");
    assert_eq!(production(&store, "blog").await, Some(a.clone()));
    assert_complete(&store, &a).await;
}

async fn gc_frees_only_unused_blobs(store: DynStore) {
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("shared.css"), "shared").unwrap();
    std::fs::write(site.path().join("index.html"), "first").unwrap();
    let first = deploy_dir(&store, site.path(), "gc", true)
        .await
        .unwrap()
        .summary
        .id;
    std::fs::write(site.path().join("index.html"), "second").unwrap();
    std::fs::write(site.path().join("extra.js"), "only in second").unwrap();
    let second = deploy_dir(&store, site.path(), "gc", false)
        .await
        .unwrap()
        .summary
        .id;
    deployments::remove(store.as_ref(), &second).await.unwrap();

    let dry = gc::collect(store.as_ref(), true).await.unwrap();
    assert_eq!((dry.blobs_deleted, dry.blobs_kept), (2, 2));
    let blob_count = store::list_all(store.as_ref(), keys::BLOBS)
        .await
        .unwrap()
        .len();
    assert_eq!(blob_count, 4, "a dry run deletes nothing");

    let report = gc::collect(store.as_ref(), false).await.unwrap();
    assert_eq!(report.blobs_deleted, 2);
    assert_eq!(
        report.bytes_freed,
        ("second".len() + "only in second".len()) as u64
    );
    assert_complete(&store, &first).await;
    assert_eq!(
        store::list_all(store.as_ref(), keys::BLOBS)
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(
        store.get(keys::GC_LOCK).await.unwrap().is_none(),
        "gc releases its lock"
    );
}

#[tokio::test]
async fn gc_frees_only_unused_blobs_in_a_folder() {
    let (store, _dir) = local_store().await;
    gc_frees_only_unused_blobs(store).await;
}

#[tokio::test]
async fn gc_frees_only_unused_blobs_in_s3() {
    let moto = Moto::start();
    gc_frees_only_unused_blobs(moto_store(&moto, "gc-blobs").await).await;
}

/// The dangerous interleaving: a gc read the leases before this deploy wrote its own, and
/// deletes a blob right after the deploy saw it present. The fence must catch it.
#[tokio::test]
async fn a_gc_racing_a_deploy_never_leaves_it_incomplete() {
    let (store, _dir) = local_store().await;
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("logo.svg"), "<svg/>").unwrap();
    let old = deploy_dir(&store, site.path(), "other", false)
        .await
        .unwrap()
        .summary
        .id;
    deployments::remove(store.as_ref(), &old).await.unwrap();

    std::fs::write(site.path().join("index.html"), "new").unwrap();
    let spy = Arc::new(Spy::new(store.clone()));
    spy.delete_after_seen_present(&hex::encode(Sha256::digest(b"<svg/>")));
    let spied: DynStore = spy.clone();
    let outcome = deploy_dir(&spied, site.path(), "racing", true)
        .await
        .unwrap();
    assert!(spy.sabotaged(), "the simulated gc did delete the blob");
    assert_complete(&store, &outcome.summary.id).await;
}

#[tokio::test]
async fn a_running_deploys_lease_keeps_its_blobs_through_gc() {
    let (store, _dir) = local_store().await;
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "leased").unwrap();
    let spy = Arc::new(Spy::new(store.clone()));
    spy.collect_garbage_before_manifest();
    let spied: DynStore = spy.clone();
    let outcome = deploy_dir(&spied, site.path(), "leased", true)
        .await
        .unwrap();
    let report = spy.gc_report().expect("gc ran mid-deploy");
    assert_eq!(report.blobs_deleted, 0, "{report:?}");
    assert_complete(&store, &outcome.summary.id).await;
}

#[tokio::test]
async fn bad_folders_get_clear_errors_and_change_nothing() {
    let (store, _dir) = local_store().await;
    let root = tempfile::tempdir().unwrap();
    let missing = deploy_dir(&store, &root.path().join("nope"), "x", true).await;
    assert!(matches!(missing, Err(PierError::MissingFolder { .. })));
    let file = root.path().join("file.html");
    std::fs::write(&file, "x").unwrap();
    assert!(matches!(
        deploy_dir(&store, &file, "x", true).await,
        Err(PierError::NotAFolder { .. })
    ));
    let empty = root.path().join("empty");
    std::fs::create_dir_all(empty.join("only/folders")).unwrap();
    std::fs::write(empty.join(".pierignore"), "*\n").unwrap();
    assert!(matches!(
        deploy_dir(&store, &empty, "x", true).await,
        Err(PierError::EmptyFolder { .. })
    ));
    let bad = deploy_dir(&store, root.path(), "Not_A_Label", true).await;
    assert!(matches!(bad, Err(PierError::BadProjectName { .. })));
    assert!(
        store::list_all(store.as_ref(), "")
            .await
            .unwrap()
            .is_empty()
    );
}

//! Two regions as two stores, one real `pier-proxy` per region, kept in step by
//! `pier_core::regions`: deploys, promotes, rollbacks and removals reach both; a region whose
//! store is unreachable during a deploy keeps serving its previous deployment, complete, and
//! catches up on `sync`; a deploy stopped at any moment leaves no region serving a partial
//! deployment; concurrent promotes from two machines end with one alias everywhere; a gc in a
//! region during a sync keeps what the sync copies. The failures come from the test kit's
//! `Spy` wrapping real stores (a folder, and S3 on moto's server).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use pier_core::alias::{self, Action};
use pier_core::deploy::DeployRequest;
use pier_core::manifest::Manifest;
use pier_core::progress::Progress;
use pier_core::records::read_json;
use pier_core::region_state::RegionState;
use pier_core::regions::{Region, Regions};
use pier_core::store::{self, DynStore, Store, StoreUrl, keys};
use pier_proxy::ProxyConfig;
use pier_tests::spy::Spy;
use pier_tests::{Moto, local_store};
use support::{Serving, get, write};

mod support;

/// A proxy serving one region's store, with a short alias TTL so promotes show quickly.
async fn proxy_for(store: DynStore) -> Serving {
    let config = ProxyConfig {
        target_ttl: Duration::from_millis(100),
        ..ProxyConfig::default()
    };
    support::serve(store, config).await
}

fn two_regions(a: DynStore, b: DynStore) -> Regions {
    Regions {
        primary: Region {
            name: "us-east-1".into(),
            store: a,
        },
        others: vec![Region {
            name: "eu-west-1".into(),
            store: b,
        }],
    }
}

/// A site whose every page says `version`, with a shared asset that dedupes across versions.
fn site(version: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "index.html", &format!("<h1>{version}</h1>"));
    write(dir.path(), "about/index.html", &format!("about {version}"));
    write(dir.path(), "assets/shared.css", "body { margin: 0 }");
    write(dir.path(), &format!("assets/{version}.js"), version);
    dir
}

async fn deploy(
    regions: &Regions,
    version: &str,
    production: bool,
) -> pier_core::deploy::DeployOutcome {
    let dir = site(version);
    let request = DeployRequest::folder(dir.path(), Some("shop".into()), production);
    regions.deploy(&request, &Progress::silent()).await.unwrap()
}

/// What the proxy serves as `shop`'s production, after its alias TTL.
async fn production_page(serving: &Serving) -> String {
    tokio::time::sleep(Duration::from_millis(150)).await;
    get(serving.addr, "shop.localhost", "/").await.text()
}

/// Every manifest in `store` has all its blobs, and production names a manifest there.
async fn assert_complete(store: &dyn Store) {
    for object in store::list_all(store, keys::DEPLOYMENTS).await.unwrap() {
        let manifest: Manifest = read_json(store, &object.key).await.unwrap().unwrap();
        for hash in manifest.blob_hashes() {
            assert!(
                store.head(&keys::blob(hash)).await.unwrap().is_some(),
                "{} names blob {hash}, missing from {}",
                manifest.id,
                store.url()
            );
        }
    }
    for project in store.list_children(keys::PROJECTS).await.unwrap() {
        if let Some(production) = alias::read(store, &project)
            .await
            .unwrap()
            .and_then(|record| record.production)
        {
            assert!(
                store
                    .head(&keys::manifest(&production))
                    .await
                    .unwrap()
                    .is_some(),
                "production {production} has no manifest in {}",
                store.url()
            );
        }
    }
}

async fn generation(store: &dyn Store) -> u64 {
    alias::read(store, "shop")
        .await
        .unwrap()
        .unwrap()
        .generation
}

#[tokio::test]
async fn deploys_promotes_rollbacks_and_removals_reach_every_region() {
    let moto = Moto::start();
    let (a, _a_dir) = local_store().await;
    let b = store::open(&StoreUrl::parse(&moto.bucket("pier-eu-west-1").await).unwrap())
        .await
        .unwrap();
    let regions = two_regions(a.clone(), b.clone());
    let (proxy_a, proxy_b) = (proxy_for(a.clone()).await, proxy_for(b.clone()).await);

    let v1 = deploy(&regions, "v1", true).await;
    assert_eq!(v1.regions.len(), 1);
    assert_eq!(v1.regions[0].state, RegionState::InSync, "{:?}", v1.regions);
    assert_eq!(production_page(&proxy_a).await, "<h1>v1</h1>");
    assert_eq!(production_page(&proxy_b).await, "<h1>v1</h1>");

    let v2 = deploy(&regions, "v2", false).await;
    let preview = format!("{}.localhost", v2.summary.preview);
    for proxy in [&proxy_a, &proxy_b] {
        let page = get(proxy.addr, &preview, "/assets/v2.js").await;
        assert_eq!((page.status, page.text()), (200, "v2".to_string()));
    }
    assert_eq!(
        production_page(&proxy_b).await,
        "<h1>v1</h1>",
        "not promoted yet"
    );

    let (change, reports) = regions
        .promote("shop", &v2.summary.id, Action::Promote)
        .await
        .unwrap();
    assert_eq!(change.to, v2.summary.id);
    assert!(
        reports.iter().all(|report| report.state.in_sync()),
        "{reports:?}"
    );
    assert_eq!(production_page(&proxy_a).await, "<h1>v2</h1>");
    assert_eq!(production_page(&proxy_b).await, "<h1>v2</h1>");
    assert_eq!(generation(a.as_ref()).await, generation(b.as_ref()).await);

    regions.rollback("shop").await.unwrap();
    assert_eq!(production_page(&proxy_a).await, "<h1>v1</h1>");
    assert_eq!(production_page(&proxy_b).await, "<h1>v1</h1>");

    let (removed, reports) = regions.remove(&v2.summary.id).await.unwrap();
    assert_eq!(removed.id, v2.summary.id);
    assert!(
        reports.iter().all(|report| report.state.in_sync()),
        "{reports:?}"
    );
    for (store, proxy) in [(&a, &proxy_a), (&b, &proxy_b)] {
        assert!(
            store
                .head(&keys::manifest(&v2.summary.id))
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(get(proxy.addr, &preview, "/").await.status, 404);
    }
    assert_eq!(production_page(&proxy_b).await, "<h1>v1</h1>");
    assert_eq!(
        alias::read(a.as_ref(), "shop").await.unwrap(),
        alias::read(b.as_ref(), "shop").await.unwrap(),
        "the region's record is the primary's"
    );

    // Each region collects on its own: v2's three files of its own go in both, v1's stay.
    let collected = regions.collect_garbage(false).await.unwrap();
    assert_eq!(collected.len(), 2);
    for gc in &collected {
        assert_eq!(gc.report.blobs_deleted, 3, "{}: {:?}", gc.region, gc.report);
    }
    for store in [&a, &b] {
        assert_complete(store.as_ref()).await;
    }
    assert_eq!(production_page(&proxy_b).await, "<h1>v1</h1>");
}

#[tokio::test]
async fn a_region_unreachable_during_a_deploy_keeps_serving_then_catches_up() {
    let (a, _a_dir) = local_store().await;
    let (b_store, _b_dir) = local_store().await;
    // The deploying machine reaches region B through the spy; B's proxy reads B directly.
    let b_link = Arc::new(Spy::new(b_store.clone()));
    let regions = two_regions(a.clone(), b_link.clone());
    let (proxy_a, proxy_b) = (proxy_for(a.clone()).await, proxy_for(b_store.clone()).await);
    deploy(&regions, "v1", true).await;

    b_link.set_outage(true);
    let v2 = deploy(&regions, "v2", true).await;
    assert!(
        matches!(v2.regions[0].state, RegionState::Unreachable { .. }),
        "{:?}",
        v2.regions
    );
    assert_eq!(
        production_page(&proxy_a).await,
        "<h1>v2</h1>",
        "A is not held back"
    );
    assert_eq!(
        production_page(&proxy_b).await,
        "<h1>v1</h1>",
        "B keeps its own"
    );
    assert_eq!(
        get(proxy_b.addr, "shop.localhost", "/assets/v1.js")
            .await
            .text(),
        "v1"
    );
    assert_complete(b_store.as_ref()).await;
    let status = regions.status(Some("shop")).await.unwrap();
    assert!(
        matches!(status[0].regions[0].state, RegionState::Unreachable { .. }),
        "{status:?}"
    );

    b_link.set_outage(false);
    let status = regions.status(Some("shop")).await.unwrap();
    assert_eq!(
        status[0].regions[0].state,
        RegionState::Lagging {
            missing: 1,
            alias_behind: true,
            removals_pending: 0,
            reason: None
        }
    );
    let synced = regions.sync(None).await.unwrap();
    assert!(synced[0].regions[0].state.in_sync(), "{synced:?}");
    assert_eq!(production_page(&proxy_b).await, "<h1>v2</h1>");
    assert_complete(b_store.as_ref()).await;

    // The next deploy also brings a lagging region up: v3 lands while B is down, v4 after.
    b_link.set_outage(true);
    let v3 = deploy(&regions, "v3", false).await;
    b_link.set_outage(false);
    let v4 = deploy(&regions, "v4", false).await;
    assert!(v4.regions[0].state.in_sync(), "{:?}", v4.regions);
    for id in [&v3.summary.id, &v4.summary.id] {
        assert!(b_store.head(&keys::manifest(id)).await.unwrap().is_some());
    }
    let status = regions.status(None).await.unwrap();
    assert!(status[0].regions[0].state.in_sync(), "{status:?}");
}

/// The deployments a store holds, by id.
async fn manifests(store: &dyn Store) -> BTreeSet<String> {
    store::list_all(store, keys::DEPLOYMENTS)
        .await
        .unwrap()
        .iter()
        .map(|object| keys::stem(&object.key).to_string())
        .collect()
}

/// The deployments `shop` lists in a store.
async fn listed(store: &dyn Store) -> BTreeSet<String> {
    pier_core::deployments::list_deployments(store, "shop")
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.summary.id)
        .collect()
}

#[tokio::test]
async fn a_deploy_stopped_at_any_moment_leaves_no_region_serving_a_partial_deployment() {
    let (a, _a_dir) = local_store().await;
    let (b_store, _b_dir) = local_store().await;
    let b_link = Arc::new(Spy::new(b_store.clone()));
    let regions = Arc::new(two_regions(a.clone(), b_link.clone()));
    let (proxy_a, proxy_b) = (proxy_for(a.clone()).await, proxy_for(b_store.clone()).await);
    deploy(&regions, "v0", true).await;

    // B's link drops after two of v1's new files: B has part of v1's blobs and no manifest.
    let blob_puts = b_link
        .puts()
        .iter()
        .filter(|key| key.starts_with(keys::BLOBS))
        .count();
    b_link.fail_blob_puts_after(blob_puts + 2);
    let big = tempfile::tempdir().unwrap();
    for i in 0..40 {
        write(
            big.path(),
            &format!("page-{i}.html"),
            &format!("v1 page {i}"),
        );
    }
    write(big.path(), "index.html", "<h1>v1</h1>");
    let request = DeployRequest::folder(big.path(), Some("shop".into()), true);
    let v1 = regions.deploy(&request, &Progress::silent()).await.unwrap();
    assert!(!v1.regions[0].state.in_sync(), "{:?}", v1.regions);
    assert!(!manifests(b_store.as_ref()).await.contains(&v1.summary.id));
    assert_eq!(production_page(&proxy_b).await, "<h1>v0</h1>");
    assert_eq!(production_page(&proxy_a).await, "<h1>v1</h1>");
    b_link.fail_blob_puts_after(usize::MAX);

    // Deploys killed after 0, 5, 10, ... ms: whatever each region holds is whole.
    for (round, after_ms) in (0..60).step_by(5).enumerate() {
        let regions = regions.clone();
        let dir = site(&format!("k{round}"));
        let task = tokio::spawn(async move {
            let request = DeployRequest::folder(dir.path(), Some("shop".into()), true);
            regions.deploy(&request, &Progress::silent()).await
        });
        tokio::time::sleep(Duration::from_millis(after_ms)).await;
        task.abort();
        let _ = task.await;
        for store in [&a, &b_store] {
            assert_complete(store.as_ref()).await;
        }
        for proxy in [&proxy_a, &proxy_b] {
            let page = production_page(proxy).await;
            assert!(page.starts_with("<h1>"), "round {round}: {page}");
        }
    }
    // A region never holds a deployment the primary does not.
    let in_a = manifests(a.as_ref()).await;
    assert!(manifests(b_store.as_ref()).await.is_subset(&in_a));
    let synced = regions.sync(None).await.unwrap();
    assert!(synced[0].regions[0].state.in_sync(), "{synced:?}");
    // Every deployment the primary lists is in B now. (A deploy killed between its manifest
    // and its index entry left one the primary does not list, and which no sync copies.)
    assert_eq!(listed(b_store.as_ref()).await, listed(a.as_ref()).await);
    assert!(manifests(b_store.as_ref()).await.is_subset(&in_a));
    assert_eq!(
        alias::read(a.as_ref(), "shop").await.unwrap(),
        alias::read(b_store.as_ref(), "shop").await.unwrap()
    );
}

#[tokio::test]
async fn concurrent_promotes_from_two_machines_end_with_the_same_alias_in_every_region() {
    let (a, a_dir) = local_store().await;
    let (b, b_dir) = local_store().await;
    let first = two_regions(a.clone(), b.clone());
    let mut ids = Vec::new();
    for version in ["p1", "p2", "p3", "p4"] {
        ids.push(deploy(&first, version, false).await.summary.id);
    }
    // The second machine opens the same stores on its own.
    let open = |dir: &tempfile::TempDir| {
        let url = StoreUrl::Local(dir.path().to_path_buf());
        async move { store::open(&url).await.unwrap() }
    };
    let second = two_regions(open(&a_dir).await, open(&b_dir).await);
    for round in 0..12 {
        let (x, y) = (&ids[round % 4], &ids[(round * 3 + 1) % 4]);
        let (one, two) = tokio::join!(
            first.promote("shop", x, Action::Promote),
            second.promote("shop", y, Action::Promote),
        );
        one.unwrap();
        two.unwrap();
        let truth = alias::read(a.as_ref(), "shop").await.unwrap().unwrap();
        let copy = alias::read(b.as_ref(), "shop").await.unwrap().unwrap();
        assert_eq!(copy, truth, "round {round}");
        assert!(truth.production == Some(x.clone()) || truth.production == Some(y.clone()));
    }
    // A sync carrying an older record never moves a region back.
    let newest = alias::read(a.as_ref(), "shop").await.unwrap().unwrap();
    let mut older = newest.clone();
    older.generation -= 1;
    older.production = Some(ids[0].clone());
    assert_eq!(
        alias::mirror(b.as_ref(), &older).await.unwrap(),
        alias::Mirrored::AlreadyCurrent
    );
    assert_eq!(
        alias::read(b.as_ref(), "shop").await.unwrap().unwrap(),
        newest
    );
}

#[tokio::test]
async fn a_gc_in_a_region_during_a_sync_keeps_what_the_sync_copies() {
    let (a, _a_dir) = local_store().await;
    let (b_store, _b_dir) = local_store().await;
    let primary_only = Regions::single(a.clone());
    let only_a = deploy(&primary_only, "v1", true).await;
    // B gets v1 by a sync, and a real gc runs in B just before the sync writes v1's manifest.
    let b_link = Arc::new(Spy::new(b_store.clone()));
    b_link.collect_garbage_before_manifest();
    let regions = two_regions(a.clone(), b_link.clone());
    let synced = regions.sync(Some("shop")).await.unwrap();
    assert!(synced[0].regions[0].state.in_sync(), "{synced:?}");
    let report = b_link.gc_report().expect("the gc ran during the sync");
    assert_eq!(report.blobs_deleted, 0, "{report:?}");
    assert!(
        report.blobs_kept >= 4,
        "the sync's lease kept its blobs: {report:?}"
    );
    assert_complete(b_store.as_ref()).await;
    let proxy_b = proxy_for(b_store.clone()).await;
    assert_eq!(production_page(&proxy_b).await, "<h1>v1</h1>");
    assert_eq!(
        get(proxy_b.addr, "shop.localhost", "/assets/shared.css")
            .await
            .text(),
        "body { margin: 0 }"
    );
    assert!(
        b_store
            .head(&keys::manifest(&only_a.summary.id))
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn a_region_gets_every_blob_it_lacks_though_the_primary_read_their_manifest() {
    let (a, _a_dir) = local_store().await;
    let (b, _b_dir) = local_store().await;
    let regions = two_regions(a.clone(), b.clone());
    let v1 = deploy(&regions, "v1", true).await;
    let v2 = deploy(&regions, "v2", false).await;
    // In B, a removal of v2 stopped after its manifest went (its index entry is still there),
    // and a gc then deleted what only v2 used. The primary still has v2 whole.
    let named = |manifest: Manifest| manifest.blob_hashes().map(String::from).collect();
    let v1_blobs: BTreeSet<String> = named(
        read_json(b.as_ref(), &keys::manifest(&v1.summary.id))
            .await
            .unwrap()
            .unwrap(),
    );
    let v2_blobs: BTreeSet<String> = named(
        read_json(b.as_ref(), &keys::manifest(&v2.summary.id))
            .await
            .unwrap()
            .unwrap(),
    );
    let only_v2: Vec<String> = v2_blobs
        .difference(&v1_blobs)
        .map(|hash| keys::blob(hash))
        .collect();
    assert!(!only_v2.is_empty());
    b.delete(&[keys::manifest(&v2.summary.id)]).await.unwrap();
    b.delete(&only_v2).await.unwrap();

    // The same content again: the probes share what they read of v2's manifest (the primary's
    // read comes first: B answers late), and B, which no longer holds it, is not taken to hold
    // its blobs.
    let b_far = Arc::new(Spy::new(b.clone()));
    b_far.set_read_latency(Duration::from_millis(200));
    let regions = two_regions(a.clone(), b_far.clone());
    let again = deploy(&regions, "v2", true).await;
    assert!(again.regions[0].state.in_sync(), "{:?}", again.regions);
    assert!(
        b.head(&keys::manifest(&again.summary.id))
            .await
            .unwrap()
            .is_some()
    );
    for blob in &only_v2 {
        assert!(
            b.head(blob).await.unwrap().is_some(),
            "{blob} not sent to B"
        );
    }
    let proxy_b = proxy_for(b.clone()).await;
    assert_eq!(production_page(&proxy_b).await, "<h1>v2</h1>");
    assert_eq!(
        get(proxy_b.addr, "shop.localhost", "/assets/v2.js")
            .await
            .text(),
        "v2"
    );
}

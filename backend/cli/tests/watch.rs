//! Folder watch end to end: edits in a real folder, deployed by the real engine, served by the
//! real proxy over HTTP.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pier_core::regions::{Region, Regions};
use pier_core::store::{self, DynStore, StoreUrl};
use pier_core::watch::{self, WatchEvent, WatchOptions, WatchSpec};
use pier_proxy::functions::local::LocalConfig;
use pier_proxy::{Proxy, ProxyConfig};
use pier_tests::http::get;
use pier_tests::spy::Spy;

struct Harness {
    /// One proxy per region, each serving its region's store.
    proxies: Vec<Serving>,
    events: Arc<Mutex<Vec<WatchEvent>>>,
    _stop_watch: tokio::sync::oneshot::Sender<()>,
}

/// A real proxy on a store in a folder of its own.
struct Serving {
    addr: SocketAddr,
    store: DynStore,
    _stop: tokio::sync::oneshot::Sender<()>,
    _store_dir: tempfile::TempDir,
    _functions_dir: tempfile::TempDir,
}

async fn serve_new_store() -> Serving {
    let store_dir = tempfile::tempdir().unwrap();
    let url = StoreUrl::parse(store_dir.path().to_str().unwrap()).unwrap();
    let store = store::open(&url).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let functions_dir = tempfile::tempdir().unwrap();
    let proxy = Proxy::new(
        store.clone(),
        ProxyConfig {
            target_ttl: Duration::from_millis(50),
            functions: Some(LocalConfig::new(functions_dir.path().to_path_buf())),
            ..ProxyConfig::default()
        },
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        proxy
            .serve(listener, async {
                let _ = stopped.await;
            })
            .await
    });
    Serving {
        addr,
        store,
        _stop: stop,
        _store_dir: store_dir,
        _functions_dir: functions_dir,
    }
}

impl Harness {
    fn deployed(&self) -> usize {
        self.count(|event| matches!(event, WatchEvent::Deployed { .. }))
    }

    fn failures(&self) -> usize {
        self.count(|event| matches!(event, WatchEvent::Failed { .. }))
    }

    /// How many of the watch's events so far are of the kind `is_kind` picks.
    fn count(&self, is_kind: impl Fn(&WatchEvent) -> bool) -> usize {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|event| is_kind(event))
            .count()
    }

    /// Polls the watch's preview host until `path` answers `expected` (status, body) in every
    /// region.
    async fn eventually(&self, path: &str, status: u16, body: Option<&str>) {
        for proxy in &self.proxies {
            self.eventually_at(proxy.addr, path, status, body).await;
        }
    }

    async fn eventually_at(&self, addr: SocketAddr, path: &str, status: u16, body: Option<&str>) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let path_owned = path.to_string();
            let response =
                tokio::task::spawn_blocking(move || get(addr, "site-watch.localhost", &path_owned))
                    .await
                    .unwrap();
            if response.status == status && body.is_none_or(|b| response.text() == b) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{path} never became {status} {body:?}; last: {} {:?}; events: {:?}",
                response.status,
                response.text(),
                self.events.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn start(dir: &Path, wrap: impl FnOnce(DynStore) -> DynStore) -> Harness {
    start_with(dir, false, 1, wrap).await
}

/// A watch of `dir` into `regions` stores (the first wrapped by `wrap`), each with its proxy.
async fn start_with(
    dir: &Path,
    build: bool,
    regions: usize,
    wrap: impl FnOnce(DynStore) -> DynStore,
) -> Harness {
    let mut proxies = Vec::new();
    for _ in 0..regions {
        proxies.push(serve_new_store().await);
    }
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let spec = WatchSpec::new(dir, Some("site".into()), false, build).unwrap();
    let options = WatchOptions {
        settle: Duration::from_millis(100),
        retry_max: Duration::from_millis(400),
        ..WatchOptions::default()
    };
    let (stop_watch, watch_stopped) = tokio::sync::oneshot::channel::<()>();
    let mut watched = Regions::single(wrap(proxies[0].store.clone()));
    for (n, other) in proxies.iter().enumerate().skip(1) {
        watched.others.push(Region {
            name: format!("region-{n}"),
            store: other.store.clone(),
        });
    }
    tokio::spawn(async move {
        watch::watch(
            watched,
            spec,
            options,
            move |event| sink.lock().unwrap().push(event),
            async {
                let _ = watch_stopped.await;
            },
        )
        .await
    });
    Harness {
        proxies,
        events,
        _stop_watch: stop_watch,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_creates_deletes_and_renames_go_live() {
    let site = tempfile::tempdir().unwrap();
    let root = site.path();
    std::fs::write(root.join("index.html"), "v1").unwrap();
    std::fs::write(root.join("a.html"), "page a").unwrap();
    let harness = start(root, |store| store).await;
    harness.eventually("/", 200, Some("v1")).await;

    std::fs::write(root.join("index.html"), "v2").unwrap();
    harness.eventually("/", 200, Some("v2")).await;

    std::fs::write(root.join("new.html"), "brand new").unwrap();
    harness
        .eventually("/new.html", 200, Some("brand new"))
        .await;

    std::fs::remove_file(root.join("new.html")).unwrap();
    harness.eventually("/new.html", 404, None).await;

    std::fs::rename(root.join("a.html"), root.join("b.html")).unwrap();
    harness.eventually("/b.html", 200, Some("page a")).await;
    harness.eventually("/a.html", 404, None).await;

    // An editor's atomic save: write a temp file, then rename it over the original.
    std::fs::write(root.join(".index.html.swp"), "swap").unwrap();
    std::fs::write(root.join("index.html.tmp~"), "v3").unwrap();
    std::fs::rename(root.join("index.html.tmp~"), root.join("index.html")).unwrap();
    harness.eventually("/", 200, Some("v3")).await;
    harness
        .eventually("/.index.html.swp", 200, Some("swap"))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_two_regions_each_save_goes_live_in_both() {
    let site = tempfile::tempdir().unwrap();
    let root = site.path();
    std::fs::write(root.join("index.html"), "v1").unwrap();
    let harness = start_with(root, false, 2, |store| store).await;
    harness.eventually("/", 200, Some("v1")).await;

    std::fs::write(root.join("index.html"), "v2").unwrap();
    std::fs::write(root.join("new.html"), "brand new").unwrap();
    harness.eventually("/", 200, Some("v2")).await;
    harness
        .eventually("/new.html", 200, Some("brand new"))
        .await;
    // The watch's deployments are whole in the other region too.
    let other = harness.proxies[1].store.as_ref();
    let deployments = store::list_all(other, store::keys::DEPLOYMENTS)
        .await
        .unwrap();
    assert!(deployments.len() >= 2, "{deployments:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watched_function_runs_its_new_code_on_the_next_request() {
    let site = tempfile::tempdir().unwrap();
    let root = site.path();
    std::fs::write(root.join("index.html"), "home").unwrap();
    std::fs::create_dir(root.join("api")).unwrap();
    let handler =
        |version: &str| format!("module.exports = (req, res) => res.send('{version}');\n");
    std::fs::write(root.join("api/version.js"), handler("v1")).unwrap();
    let harness = start(root, |store| store).await;
    harness.eventually("/api/version", 200, Some("v1")).await;

    std::fs::write(root.join("api/version.js"), handler("v2")).unwrap();
    harness.eventually("/api/version", 200, Some("v2")).await;
    let changed = harness.events.lock().unwrap().iter().any(|event| {
        matches!(event, WatchEvent::Deployed { diff, .. } if diff.changed.contains(&"api/version (function)".to_string()))
    });
    assert!(changed, "the watch names the changed function");

    std::fs::write(root.join("api/added.js"), handler("added")).unwrap();
    harness.eventually("/api/added", 200, Some("added")).await;
    std::fs::remove_file(root.join("api/added.js")).unwrap();
    harness.eventually("/api/added", 404, None).await;
    harness.eventually("/", 200, Some("home")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_500_writes_yields_a_few_deploys() {
    let site = tempfile::tempdir().unwrap();
    let root = site.path();
    std::fs::write(root.join("index.html"), "start").unwrap();
    let harness = start(root, |store| store).await;
    harness.eventually("/", 200, Some("start")).await;
    let before = harness.deployed();

    for i in 0..500 {
        std::fs::write(root.join(format!("burst-{i}.html")), format!("file {i}")).unwrap();
    }
    harness
        .eventually("/burst-499.html", 200, Some("file 499"))
        .await;
    harness
        .eventually("/burst-0.html", 200, Some("file 0"))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let burst_deploys = harness.deployed() - before;
    assert!(
        (1..=5).contains(&burst_deploys),
        "500 writes became {burst_deploys} deploys"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_outage_keeps_the_last_deploy_live_then_catches_up() {
    let site = tempfile::tempdir().unwrap();
    let root = site.path();
    std::fs::write(root.join("index.html"), "before the outage").unwrap();
    let spy_slot: Arc<Mutex<Option<Arc<Spy>>>> = Arc::default();
    let slot = spy_slot.clone();
    let harness = start(root, move |store| {
        let spy = Arc::new(Spy::new(store));
        *slot.lock().unwrap() = Some(spy.clone());
        spy
    })
    .await;
    harness
        .eventually("/", 200, Some("before the outage"))
        .await;
    let spy = spy_slot.lock().unwrap().clone().unwrap();

    spy.set_outage(true);
    std::fs::write(root.join("index.html"), "written during the outage").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while harness.failures() < 2 {
        assert!(
            Instant::now() < deadline,
            "the watch never reported the outage"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    harness
        .eventually("/", 200, Some("before the outage"))
        .await;

    spy.set_outage(false);
    harness
        .eventually("/", 200, Some("written during the outage"))
        .await;
}

#[test]
fn the_watch_list_survives_restarts() {
    let config = tempfile::tempdir().unwrap();
    let file = config.path().join("watches.json");
    let site = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let spec = WatchSpec::new(site.path(), Some("one".into()), true, false).unwrap();
    watch::list::remember(&file, &spec).unwrap();
    watch::list::remember(
        &file,
        &WatchSpec::new(other.path(), Some("two".into()), false, true).unwrap(),
    )
    .unwrap();
    watch::list::remember(&file, &spec).unwrap();
    let loaded = watch::list::load(&file).unwrap();
    assert_eq!(loaded.len(), 2, "re-adding a folder replaces its entry");
    assert!(loaded.contains(&spec));
    assert!(watch::list::forget(&file, site.path()).unwrap());
    assert_eq!(watch::list::load(&file).unwrap().len(), 1);
    assert!(!watch::list::forget(&file, site.path()).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_that_vanishes_keeps_its_site_live_and_is_picked_up_again() {
    let parent = tempfile::tempdir().unwrap();
    let root = parent.path().join("site");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("index.html"), "original").unwrap();
    let harness = start(&root, |store| store).await;
    harness.eventually("/", 200, Some("original")).await;

    std::fs::remove_dir_all(&root).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !harness
        .events
        .lock()
        .unwrap()
        .iter()
        .any(|event| matches!(event, WatchEvent::FolderGone))
    {
        assert!(
            Instant::now() < deadline,
            "the vanished folder was not noticed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    harness.eventually("/", 200, Some("original")).await;

    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("index.html"), "restored").unwrap();
    harness.eventually("/", 200, Some("restored")).await;
    std::fs::write(root.join("index.html"), "edited after").unwrap();
    harness.eventually("/", 200, Some("edited after")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_building_watch_deploys_build_output_and_survives_a_failing_build() {
    let site = tempfile::tempdir().unwrap();
    let root = site.path();
    std::fs::write(
        root.join("package.json"),
        r#"{"name":"w","scripts":{"build":"node build.js"}}"#,
    )
    .unwrap();
    let build_script = |body: &str| {
        format!(
            "const fs = require('fs'); const page = fs.readFileSync('page.txt', 'utf8');\n\
             if (page.includes('BROKEN')) {{ console.error('cannot build: BROKEN'); process.exit(1); }}\n\
             fs.mkdirSync('dist', {{ recursive: true }}); fs.writeFileSync('dist/index.html', '{body}' + page);"
        )
    };
    std::fs::write(root.join("build.js"), build_script("built: ")).unwrap();
    std::fs::write(root.join("page.txt"), "one").unwrap();
    let harness = start_with(root, true, 1, |store| store).await;
    harness.eventually("/", 200, Some("built: one")).await;

    std::fs::write(root.join("page.txt"), "two").unwrap();
    harness.eventually("/", 200, Some("built: two")).await;

    let failures = harness.failures();
    std::fs::write(root.join("page.txt"), "BROKEN").unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while harness.failures() == failures {
        assert!(
            Instant::now() < deadline,
            "the failed build was not reported"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    harness.eventually("/", 200, Some("built: two")).await;

    std::fs::write(root.join("page.txt"), "three").unwrap();
    harness.eventually("/", 200, Some("built: three")).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let settled = harness.deployed();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        harness.deployed(),
        settled,
        "the build's own output does not trigger more builds"
    );
}

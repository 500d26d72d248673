//! Real frameworks from npm, built for real and served with their server code by the real
//! proxy and the local function runtime; each build writes Vercel's Build Output API folder:
//! - a SvelteKit app with `@sveltejs/adapter-vercel` (`tests/fixtures/frameworks/sveltekit`: a
//!   server-rendered page, a prerendered page, a `+server.js` endpoint);
//! - an Astro app with `@astrojs/vercel` (`tests/fixtures/frameworks/astro`: a prerendered home
//!   page and one page rendered on every request).
//!
//! Each build's output is also deployed to an S3 store whose functions run on moto's Lambda
//! (in containers of the test engine, `tests/containers/lambda.sh`) and served by a proxy that
//! invokes them there: the same pages, assets and rollback as locally.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use pier_core::alias;
use pier_core::builds::detect::BuildOverrides;
use pier_core::builds::{self, BuildRequest, EnvVar};
use pier_core::deploy::{DeployOutcome, DeployRequest, deploy};
use pier_core::logs::memory::LogBus;
use pier_core::logs::{LiveAndBackend, LogWriter};
use pier_core::progress::Progress;
use pier_core::store::DynStore;
use pier_proxy::ProxyConfig;
use pier_tests::containers::Engine;
use pier_tests::http::Response;
use pier_tests::{copy_tree, local_store, repo_root};
use tokio_util::sync::CancellationToken;

mod support;

/// Builds `dir` as `pier deploy` would (install, build, deploy) and says what the log said if
/// it fails.
async fn build(store: &DynStore, dir: &Path, project: &str) -> DeployOutcome {
    let request = BuildRequest {
        dir: dir.to_path_buf(),
        project: project.into(),
        production: true,
        overrides: BuildOverrides::default(),
        // Astro would try to send telemetry, which this machine cannot reach.
        env: vec![EnvVar {
            name: "ASTRO_TELEMETRY_DISABLED".into(),
            value: "1".into(),
            secret: false,
        }],
        timeout: Duration::from_secs(600),
        source: None,
        store_cache: false,
        env_revision: None,
    };
    let id = pier_core::manifest::new_id(time::OffsetDateTime::now_utc());
    let bus = Arc::new(LogBus::new());
    let writer = LogWriter::new(&id, bus.as_backend(), vec![]);
    let outcome = builds::build_and_deploy(
        &pier_core::regions::Regions::single(store.clone()),
        &request,
        &writer,
        &CancellationToken::new(),
        &Progress::silent(),
    )
    .await;
    match outcome {
        Ok(outcome) => outcome,
        Err(error) => panic!("{error}\n{:#?}", writer.records()),
    }
}

/// Deploys a built Build Output folder as it is (no build) to `store`.
async fn deploy_output(store: &DynStore, output: &Path, project: &str) -> DeployOutcome {
    let request = DeployRequest::folder(output.to_path_buf(), Some(project.into()), true);
    deploy(store.as_ref(), &request, &Progress::silent())
        .await
        .unwrap_or_else(|e| panic!("{e} ({})", e.hint()))
}

/// A proxy that invokes the store's functions on Lambda.
async fn serve_on_lambda(store: DynStore) -> support::Serving {
    let config = ProxyConfig {
        target_ttl: Duration::from_millis(100),
        lambda: true,
        ..ProxyConfig::default()
    };
    support::serve(store, config).await
}

async fn call_host(
    addr: SocketAddr,
    host: &str,
    method: &str,
    target: &str,
    body: &[u8],
) -> Response {
    let origin = format!("http://{host}");
    let headers = [
        ("Content-Type", "application/json"),
        ("Origin", origin.as_str()),
    ];
    support::send(addr, method, host, target, &headers, body).await
}

async fn call(addr: SocketAddr, method: &str, target: &str, body: &[u8]) -> Response {
    call_host(addr, "kit.localhost", method, target, body).await
}

/// The path of the first script a SvelteKit page loads from its immutable asset folder.
fn immutable_script(html: &str) -> String {
    let asset = html
        .split('"')
        .find(|part| part.contains("/_app/immutable/") && part.ends_with(".js"))
        .unwrap_or_else(|| panic!("no immutable script in {html}"));
    format!(
        "/_app/immutable/{}",
        asset.split("/_app/immutable/").nth(1).unwrap()
    )
}

fn set_version(dir: &Path, version: &str) {
    let page = dir.join("src/routes/+page.server.js");
    let text = std::fs::read_to_string(&page).unwrap();
    let marked = text.replace("VERSION_MARK", version).replace("v1", version);
    std::fs::write(page, marked).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sveltekit_app_renders_on_the_server_serves_its_assets_and_rolls_back() {
    let (store, _store_dir) = local_store().await;
    let project = tempfile::tempdir().unwrap();
    copy_tree(
        &repo_root().join("tests/fixtures/frameworks/sveltekit"),
        project.path(),
    );
    set_version(project.path(), "v1");
    let first = build(&store, project.path(), "kit").await;
    assert!(
        std::fs::metadata(project.path().join(".vercel/output/config.json")).is_ok(),
        "adapter-vercel wrote the Build Output API folder"
    );
    // The output links its routes' `.func` folders to one: `cp -a` keeps the links.
    let first_output = tempfile::tempdir().unwrap();
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(project.path().join(".vercel/output/."))
        .arg(first_output.path())
        .status()
        .unwrap();
    assert!(copied.success());
    let work = tempfile::tempdir().unwrap();
    let serving = support::serve_local(store.clone(), work.path()).await;
    let addr = serving.addr;

    let page = call(addr, "GET", "/?name=pier", b"").await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(
        page.text().contains("server-rendered v1 for pier"),
        "{}",
        page.text()
    );
    let about = call(addr, "GET", "/about", b"").await;
    assert_eq!(about.status, 200);
    assert!(about.text().contains("about, prerendered at build time"));

    // The page's own scripts, from the immutable asset folder, with the adapter's header.
    let asset = immutable_script(&page.text());
    let script = call(addr, "GET", &asset, b"").await;
    assert_eq!(script.status, 200, "{asset}");
    assert_eq!(
        script.header("cache-control"),
        Some("public, immutable, max-age=31536000")
    );
    let missing = call(addr, "GET", "/_app/immutable/missing-asset.js", b"").await;
    assert_eq!(
        missing.status, 404,
        "a missing asset is not rendered by the app"
    );

    let echoed = call(addr, "POST", "/api/echo", br#"{"order":7}"#).await;
    assert_eq!(echoed.status, 200, "{}", echoed.text());
    let echoed: serde_json::Value = serde_json::from_slice(&echoed.body).unwrap();
    assert_eq!(echoed["echoed"]["order"], 7);
    assert_eq!(echoed["method"], "POST");

    set_version(project.path(), "v2");
    let second = build(&store, project.path(), "kit").await;
    assert_ne!(first.summary.id, second.summary.id);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        call(addr, "GET", "/", b"")
            .await
            .text()
            .contains("server-rendered v2")
    );
    alias::rollback(store.as_ref(), "kit").await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        call(addr, "GET", "/", b"")
            .await
            .text()
            .contains("server-rendered v1")
    );

    // The same two builds on Lambda.
    let moto = Engine::get().moto_with_lambda();
    let (aws_store, _) = support::lambda_store(&moto, "kit-on-lambda").await;
    deploy_output(&aws_store, first_output.path(), "kit").await;
    deploy_output(&aws_store, &project.path().join(".vercel/output"), "kit").await;
    let on_lambda = serve_on_lambda(aws_store.clone()).await;
    let page = call(on_lambda.addr, "GET", "/?name=lambda", b"").await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(
        page.text().contains("server-rendered v2 for lambda"),
        "{}",
        page.text()
    );
    let asset = immutable_script(&page.text());
    let script = call(on_lambda.addr, "GET", &asset, b"").await;
    assert_eq!(script.status, 200, "{asset}");
    let about = call(on_lambda.addr, "GET", "/about", b"").await;
    assert!(about.text().contains("about, prerendered at build time"));
    let echoed = call(on_lambda.addr, "POST", "/api/echo", br#"{"order":8}"#).await;
    assert_eq!(echoed.status, 200, "{}", echoed.text());
    let echoed: serde_json::Value = serde_json::from_slice(&echoed.body).unwrap();
    assert_eq!(echoed["echoed"]["order"], 8);
    alias::rollback(aws_store.as_ref(), "kit").await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rolled_back = call(on_lambda.addr, "GET", "/", b"").await;
    assert!(
        rolled_back.text().contains("server-rendered v1"),
        "{}",
        rolled_back.text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_astro_app_serves_its_prerendered_pages_and_renders_the_others() {
    let (store, _store_dir) = local_store().await;
    let project = tempfile::tempdir().unwrap();
    copy_tree(
        &repo_root().join("tests/fixtures/frameworks/astro"),
        project.path(),
    );
    build(&store, project.path(), "stars").await;
    let work = tempfile::tempdir().unwrap();
    let serving = support::serve_local(store.clone(), work.path()).await;
    let addr = serving.addr;

    let home = call_host(addr, "stars.localhost", "GET", "/", b"").await;
    assert_eq!(home.status, 200, "{}", home.text());
    assert!(
        home.text().contains("astro home, prerendered"),
        "{}",
        home.text()
    );
    let rendered = call_host(addr, "stars.localhost", "GET", "/ssr?name=pier", b"").await;
    assert_eq!(rendered.status, 200, "{}", rendered.text());
    assert!(
        rendered.text().contains("astro server-rendered for pier"),
        "{}",
        rendered.text()
    );
    let missing = call_host(addr, "stars.localhost", "GET", "/no-such-page", b"").await;
    assert_eq!(missing.status, 404, "{}", missing.text());

    // The same build on Lambda.
    let moto = Engine::get().moto_with_lambda();
    let (aws_store, _) = support::lambda_store(&moto, "stars-on-lambda").await;
    deploy_output(&aws_store, &project.path().join(".vercel/output"), "stars").await;
    let on_lambda = serve_on_lambda(aws_store).await;
    let home = call_host(on_lambda.addr, "stars.localhost", "GET", "/", b"").await;
    assert!(
        home.text().contains("astro home, prerendered"),
        "{}",
        home.text()
    );
    let rendered = call_host(
        on_lambda.addr,
        "stars.localhost",
        "GET",
        "/ssr?name=lambda",
        b"",
    )
    .await;
    assert_eq!(rendered.status, 200, "{}", rendered.text());
    assert!(
        rendered.text().contains("astro server-rendered for lambda"),
        "{}",
        rendered.text()
    );
}

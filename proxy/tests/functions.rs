//! Server code through the real proxy on loopback: sites with `api/` functions and Build
//! Output folders deployed to a folder store, run by the local runtime in real Node processes.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use pier_core::alias;
use pier_core::deploy::{DeployOutcome, DeployRequest, deploy};
use pier_core::manifest::preview_name;
use pier_core::progress::Progress;
use pier_core::store::DynStore;
use pier_proxy::ProxyConfig;
use pier_proxy::functions::local::LocalConfig;
use pier_tests::http;
use pier_tests::local_store;

mod support;

use support::{get, json, write};

struct Running {
    addr: SocketAddr,
    work: tempfile::TempDir,
    _serving: support::Serving,
}

async fn start(store: DynStore, idle: Duration) -> Running {
    let work = tempfile::tempdir().unwrap();
    let config = ProxyConfig {
        target_ttl: Duration::from_millis(100),
        functions: Some(LocalConfig {
            idle,
            ..LocalConfig::new(work.path().to_path_buf())
        }),
        ..ProxyConfig::default()
    };
    start_with(store, config, work).await
}

async fn start_with(store: DynStore, config: ProxyConfig, work: tempfile::TempDir) -> Running {
    let serving = support::serve(store, config).await;
    Running {
        addr: serving.addr,
        work,
        _serving: serving,
    }
}

async fn deploy_dir(
    store: &DynStore,
    dir: &Path,
    project: &str,
    production: bool,
) -> DeployOutcome {
    let request = DeployRequest::folder(dir.to_path_buf(), Some(project.into()), production);
    deploy(store.as_ref(), &request, &Progress::silent())
        .await
        .unwrap()
}

/// The first line of the project's function log holding `text`, once the runtime wrote it.
async fn logged_line(
    work: &Path,
    project: &str,
    text: &str,
) -> pier_core::functions::log::FunctionLogLine {
    let file = pier_core::functions::log::path(work, project);
    for _ in 0..100 {
        let (lines, _) = pier_core::functions::log::read_from(&file, 0).unwrap();
        if let Some(line) = lines.into_iter().find(|line| line.text.contains(text)) {
            return line;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("`{text}` never reached {}", file.display());
}

/// A plain site with zero-config functions in both handler styles, as people write them.
fn api_site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "index.html", "home");
    write(root, "about.html", "about");
    write(
        root,
        "api/_lib.js",
        "module.exports = { greet: (name) => `hello ${name}` };\n",
    );
    write(
        root,
        "api/hello.js",
        r#"const { greet } = require('./_lib');
module.exports = (req, res) => {
  res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/; HttpOnly']);
  res.setHeader('x-from', 'hello');
  res.status(200).json({
    greeting: greet(req.query.name || 'world'),
    method: req.method,
    url: req.url,
    cookies: req.cookies,
    body: req.body === undefined ? null : req.body,
    forwardedHost: req.headers['x-forwarded-host'],
    forwardedFor: req.headers['x-forwarded-for'],
  });
};
"#,
    );
    write(
        root,
        "api/time.mjs",
        r#"export function GET(request) {
  const url = new URL(request.url);
  return Response.json({ path: url.pathname, query: url.search, host: url.host });
}
export async function POST(request) {
  const text = await request.text();
  return new Response(`got ${text.length} bytes`, { status: 201, headers: { 'x-style': 'web' } });
}
"#,
    );
    write(
        root,
        "api/throws.js",
        "module.exports = () => { throw new Error('secret-detail-4711'); };\n",
    );
    write(
        root,
        "api/exits.js",
        "module.exports = (req, res) => { process.exit(3); };\n",
    );
    write(
        root,
        "api/users/[id].js",
        "module.exports = (req, res) => res.json({ id: req.query.id, url: req.url });\n",
    );
    write(
        root,
        "api/files/[...path].js",
        "module.exports = (req, res) => res.json({ path: req.query.path });\n",
    );
    write(
        root,
        "api/count.js",
        "let count = 0;\nmodule.exports = (req, res) => res.send(String(++count));\n",
    );
    write(
        root,
        "api/env.js",
        "module.exports = (req, res) => res.json({ keys: Object.keys(process.env), nodeEnv: process.env.NODE_ENV, cwdHasApi: require('fs').existsSync('api') });\n",
    );
    dir
}

#[tokio::test]
async fn api_functions_answer_in_both_styles_with_status_headers_and_cookies() {
    let (store, _dir) = local_store().await;
    let site = api_site();
    deploy_dir(&store, site.path(), "shop", true).await;
    let server = start(store, Duration::from_secs(60)).await;
    let addr = server.addr;
    let host = "shop.localhost";

    let hello = support::send(
        addr,
        "GET",
        host,
        "/api/hello?name=pier",
        &[("Cookie", "theme=dark")],
        b"",
    )
    .await;
    assert_eq!(hello.status, 200, "{}", hello.text());
    let answer = json(&hello);
    assert_eq!(answer["greeting"], "hello pier");
    assert_eq!(answer["method"], "GET");
    assert_eq!(answer["url"], "/api/hello?name=pier");
    assert_eq!(answer["cookies"]["theme"], "dark");
    assert_eq!(answer["forwardedHost"], "shop.localhost");
    assert_eq!(answer["forwardedFor"], "127.0.0.1");
    assert_eq!(hello.header("x-from"), Some("hello"));
    assert_eq!(
        support::cookies(&hello),
        ["a=1; Path=/", "b=2; Path=/; HttpOnly"]
    );

    let posted = support::send(
        addr,
        "POST",
        host,
        "/api/hello",
        &[("Content-Type", "application/json")],
        br#"{"order":42}"#,
    )
    .await;
    let answer = json(&posted);
    assert_eq!(answer["method"], "POST");
    assert_eq!(answer["body"]["order"], 42);

    let time = get(addr, host, "/api/time?x=1").await;
    assert_eq!(time.status, 200, "{}", time.text());
    assert_eq!(json(&time)["path"], "/api/time");
    assert_eq!(json(&time)["query"], "?x=1");
    assert_eq!(json(&time)["host"], "shop.localhost");
    let upload = vec![b'x'; 3 * 1024 * 1024];
    let posted = support::send(addr, "POST", host, "/api/time", &[], &upload).await;
    assert_eq!(
        (posted.status, posted.text().as_str()),
        (201, "got 3145728 bytes")
    );
    assert_eq!(posted.header("x-style"), Some("web"));
    let deleted = support::send(addr, "DELETE", host, "/api/time", &[], b"").await;
    assert_eq!(
        deleted.status, 405,
        "a Web handler without DELETE refuses it"
    );

    // Dynamic segments, named as on Vercel, reach their function with the value in the query.
    let user = json(&get(addr, host, "/api/users/42?tab=posts").await);
    assert_eq!(user["id"], "42");
    assert_eq!(user["url"], "/api/users/42?tab=posts&id=42");
    let file = json(&get(addr, host, "/api/files/docs/a%20b.txt").await);
    assert_eq!(file["path"], "docs/a b.txt");
    assert_eq!(get(addr, host, "/api/users/42/more").await.status, 404);

    // The sources and helpers are not files of the site; the site's files still are.
    assert_eq!(get(addr, host, "/api/hello.js").await.status, 404);
    assert_eq!(get(addr, host, "/api/_lib").await.status, 404);
    assert_eq!(get(addr, host, "/api/_lib.js").await.status, 404);
    assert_eq!(get(addr, host, "/").await.text(), "home");
    assert_eq!(get(addr, host, "/about").await.text(), "about");
    let post_to_file = support::send(addr, "POST", host, "/about", &[], b"").await;
    assert_eq!(post_to_file.status, 405);
    assert_eq!(post_to_file.header("allow"), Some("GET, HEAD"));

    // A function sees its own environment, not the proxy's.
    let env = json(&get(addr, host, "/api/env").await);
    assert_eq!(env["nodeEnv"], "production");
    assert_eq!(env["cwdHasApi"], true, "it runs in its bundle's folder");
    let keys: Vec<&str> = env["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key.as_str().unwrap())
        .collect();
    assert!(
        keys.iter()
            .all(|key| !key.starts_with("AWS_") && !key.starts_with("PIER_")),
        "{keys:?}"
    );
}

#[tokio::test]
async fn failures_become_pages_the_error_stays_in_the_log_and_the_process_comes_back() {
    let (store, _dir) = local_store().await;
    let site = api_site();
    deploy_dir(&store, site.path(), "shop", true).await;
    let server = start(store, Duration::from_secs(60)).await;
    let (addr, host) = (server.addr, "shop.localhost");

    let thrown = get(addr, host, "/api/throws").await;
    assert_eq!(thrown.status, 502);
    assert!(
        thrown.text().contains("Function failed"),
        "{}",
        thrown.text()
    );
    assert!(!thrown.text().contains("secret-detail-4711"));
    assert!(thrown.header("x-pier-function-error").is_none());
    // The error is in the project's function log, which `pier logs --functions` reads.
    let logged = logged_line(server.work.path(), "shop", "secret-detail-4711").await;
    assert_eq!(logged.stream, "stderr");
    assert!(
        logged.function.starts_with("/api/throws (shop-"),
        "{logged:?}"
    );
    // A handler that threw leaves its process serving.
    assert_eq!(get(addr, host, "/api/count").await.text(), "1");
    assert_eq!(get(addr, host, "/api/count").await.text(), "2");

    for _ in 0..2 {
        let exited = get(addr, host, "/api/exits").await;
        assert_eq!(exited.status, 502, "{}", exited.text());
    }
    assert_eq!(get(addr, host, "/api/hello").await.status, 200);

    let too_large = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .write_all(b"POST /api/hello HTTP/1.1\r\nHost: shop.localhost\r\nContent-Length: 5000000\r\nConnection: close\r\n\r\npartial")
            .unwrap();
        let mut all = Vec::new();
        let _ = stream.read_to_end(&mut all);
        http::parse(&all, false)
    })
    .await
    .unwrap();
    assert_eq!(too_large.status, 413);
    assert!(too_large.text().contains("4.5 MB"), "{}", too_large.text());
}

/// A Build Output folder as adapters write one: static files, routes with phases, a linked
/// `.func`, an `index.func` for `/`, a streaming function and one that never answers.
fn build_output_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join(".vercel/output");
    write(dir.path(), "package.json", r#"{"name":"app"}"#);
    write(
        &out,
        "config.json",
        r#"{
  "version": 3,
  "routes": [
    { "src": "/_app/immutable/.+", "headers": { "cache-control": "public, immutable, max-age=31536000" } },
    { "handle": "filesystem" },
    { "src": "/slow", "dest": "/slow" },
    { "src": "/stream", "dest": "/render" },
    { "src": "/(.*)", "dest": "/render?page=$1" }
  ],
  "overrides": { "about.html": { "path": "about" } }
}"#,
    );
    write(&out, "static/_app/immutable/app.js", "console.log('app')");
    write(&out, "static/about.html", "<h1>about (prerendered)</h1>");
    let node = r#"{"runtime":"nodejs20.x","handler":"index.mjs","launcherType":"Nodejs","supportsResponseStreaming":true,"maxDuration":2,"environment":{"GREETING":"from config"}}"#;
    write(&out, "functions/render.func/.vc-config.json", node);
    write(
        &out,
        "functions/render.func/package.json",
        r#"{"type":"module"}"#,
    );
    write(
        &out,
        "functions/render.func/index.mjs",
        r#"let release;
const released = new Promise((resolve) => (release = resolve));
export default async function (req, res) {
  const url = new URL(req.url, 'http://x');
  if (url.searchParams.get('page') === 'release') {
    release();
    return res.end('released');
  }
  if (url.pathname === '/stream') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first;');
    await released;
    return res.end('second');
  }
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end(`<h1>rendered ${url.pathname} page=${url.searchParams.get('page')} ${process.env.GREETING}</h1>`);
}
"#,
    );
    write(
        &out,
        "functions/slow.func/.vc-config.json",
        r#"{"runtime":"nodejs20.x","handler":"index.js","launcherType":"Nodejs","maxDuration":1}"#,
    );
    write(
        &out,
        "functions/slow.func/index.js",
        "module.exports = () => { /* never answers */ };\n",
    );
    #[cfg(unix)]
    std::os::unix::fs::symlink("render.func", out.join("functions/index.func")).unwrap();
    dir
}

#[tokio::test]
async fn a_build_output_serves_files_routes_and_functions_streams_and_times_out() {
    let (store, _dir) = local_store().await;
    let project = build_output_project();
    let outcome = deploy_dir(&store, project.path(), "app", true).await;
    assert_eq!(
        outcome.summary.file_count, 2,
        "static files only: {outcome:?}"
    );
    let server = start(store, Duration::from_secs(60)).await;
    let (addr, host) = (server.addr, "app.localhost");

    let asset = get(addr, host, "/_app/immutable/app.js").await;
    assert_eq!(asset.text(), "console.log('app')");
    assert_eq!(
        asset.header("cache-control"),
        Some("public, immutable, max-age=31536000")
    );
    assert_eq!(
        get(addr, host, "/about").await.text(),
        "<h1>about (prerendered)</h1>"
    );
    let page = get(addr, host, "/blog/post?ref=x").await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.text(),
        "<h1>rendered /blog/post page=blog/post from config</h1>"
    );
    // `/` reaches the function linked as `index.func` through the catch-all.
    assert!(
        get(addr, host, "/")
            .await
            .text()
            .starts_with("<h1>rendered / ")
    );

    // The first bytes arrive while the function is still producing the rest.
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET /stream HTTP/1.1\r\nHost: app.localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let streamed = tokio::task::spawn_blocking(move || {
        let mut seen = Vec::new();
        let mut buffer = [0u8; 4096];
        while !String::from_utf8_lossy(&seen).contains("first;") {
            let read = stream.read(&mut buffer).expect("the first chunk arrives");
            assert!(read > 0, "closed before the first chunk");
            seen.extend_from_slice(&buffer[..read]);
        }
        (stream, seen)
    })
    .await
    .unwrap();
    assert_eq!(get(addr, host, "/release").await.text(), "released");
    let (mut stream, mut seen) = streamed;
    let rest = tokio::task::spawn_blocking(move || {
        stream.read_to_end(&mut seen).unwrap();
        seen
    })
    .await
    .unwrap();
    let whole = http::parse(&rest, false);
    assert_eq!(whole.text(), "first;second");

    let started = std::time::Instant::now();
    let slow = get(addr, host, "/slow").await;
    assert_eq!(slow.status, 504);
    assert!(
        slow.text().contains("within its limit of 1 seconds"),
        "{}",
        slow.text()
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn previews_run_their_own_functions_and_a_rollback_switches_them() {
    let (store, _dir) = local_store().await;
    let site = tempfile::tempdir().unwrap();
    write(site.path(), "index.html", "v1");
    write(
        site.path(),
        "api/version.js",
        "module.exports = (req, res) => res.send('api v1');\n",
    );
    let v1 = deploy_dir(&store, site.path(), "blog", true).await;
    write(site.path(), "index.html", "v2");
    write(
        site.path(),
        "api/version.js",
        "module.exports = (req, res) => res.send('api v2');\n",
    );
    let v2 = deploy_dir(&store, site.path(), "blog", true).await;
    let server = start(store.clone(), Duration::from_secs(60)).await;
    let addr = server.addr;

    assert_eq!(
        get(addr, "blog.localhost", "/api/version").await.text(),
        "api v2"
    );
    let v1_preview = format!("{}.localhost", preview_name("blog", &v1.summary.id));
    assert_eq!(
        get(addr, &v1_preview, "/api/version").await.text(),
        "api v1"
    );
    assert_eq!(get(addr, &v1_preview, "/").await.text(), "v1");

    alias::rollback(store.as_ref(), "blog").await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        get(addr, "blog.localhost", "/api/version").await.text(),
        "api v1"
    );
    assert_eq!(get(addr, "blog.localhost", "/").await.text(), "v1");
    assert_ne!(v1.summary.id, v2.summary.id);
}

#[tokio::test]
async fn a_redeploy_that_changes_nothing_uploads_nothing_and_reuses_the_warm_process() {
    let (store, _dir) = local_store().await;
    let site = api_site();
    let first = deploy_dir(&store, site.path(), "shop", true).await;
    assert!(first.uploaded_blobs > 0);
    let server = start(store.clone(), Duration::from_secs(60)).await;
    let (addr, host) = (server.addr, "shop.localhost");
    assert_eq!(get(addr, host, "/api/count").await.text(), "1");
    let second = deploy_dir(&store, site.path(), "shop", true).await;
    assert_eq!(second.uploaded_blobs, 0, "{second:?}");
    assert_ne!(first.summary.id, second.summary.id);
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Same bundle, same process: its memory carries on.
    assert_eq!(get(addr, host, "/api/count").await.text(), "2");
}

#[tokio::test]
async fn where_no_socket_address_fits_functions_answer_over_loopback_tcp() {
    let (store, _dir) = local_store().await;
    let site = api_site();
    deploy_dir(&store, site.path(), "shop", true).await;
    let work = tempfile::tempdir().unwrap();
    // Deeper than a Unix socket's address can name (108 bytes on Linux).
    let deep = work.path().join("sockets-".repeat(16));
    std::fs::create_dir(&deep).unwrap();
    let config = ProxyConfig {
        target_ttl: Duration::from_millis(100),
        functions: Some(LocalConfig {
            sockets_in: deep.clone(),
            ..LocalConfig::new(work.path().join("work"))
        }),
        ..ProxyConfig::default()
    };
    let server = start_with(store, config, work).await;
    let (addr, host) = (server.addr, "shop.localhost");
    assert_eq!(get(addr, host, "/api/count").await.text(), "1");
    assert_eq!(get(addr, host, "/api/count").await.text(), "2");
    let hello = get(addr, host, "/api/hello?name=tcp").await;
    assert_eq!(json(&hello)["greeting"], "hello tcp");
    assert_eq!(
        std::fs::read_dir(&deep).unwrap().count(),
        0,
        "no socket folder"
    );
}

#[tokio::test]
async fn an_idle_process_is_stopped_and_the_next_request_starts_a_fresh_one() {
    let (store, _dir) = local_store().await;
    let site = api_site();
    deploy_dir(&store, site.path(), "shop", true).await;
    let server = start(store, Duration::from_millis(300)).await;
    let (addr, host) = (server.addr, "shop.localhost");
    assert_eq!(get(addr, host, "/api/count").await.text(), "1");
    assert_eq!(get(addr, host, "/api/count").await.text(), "2");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(get(addr, host, "/api/count").await.text(), "1");
}

#[tokio::test]
async fn a_proxy_without_a_runtime_says_so_and_still_serves_files() {
    let (store, _dir) = local_store().await;
    let site = api_site();
    deploy_dir(&store, site.path(), "shop", true).await;
    let server = start_with(store, ProxyConfig::default(), tempfile::tempdir().unwrap()).await;
    let answer = get(server.addr, "shop.localhost", "/api/hello").await;
    assert_eq!(answer.status, 501);
    assert!(
        answer.text().contains("server functions"),
        "{}",
        answer.text()
    );
    assert_eq!(get(server.addr, "shop.localhost", "/").await.text(), "home");
}

#[tokio::test]
async fn bad_functions_fail_the_deploy_and_production_keeps_serving() {
    let (store, _dir) = local_store().await;
    let site = api_site();
    deploy_dir(&store, site.path(), "shop", true).await;

    let broken = tempfile::tempdir().unwrap();
    let out = broken.path().join(".vercel/output");
    write(&out, "config.json", r#"{"version":3}"#);
    write(
        &out,
        "functions/api.func/.vc-config.json",
        r#"{"runtime":"nodejs20.x","handler":"missing.js","launcherType":"Nodejs"}"#,
    );
    write(&out, "functions/api.func/index.js", "");
    let deploy_broken = |dir: &Path| {
        let request = DeployRequest::folder(dir.to_path_buf(), Some("shop".into()), true);
        let store = store.clone();
        async move { deploy(store.as_ref(), &request, &Progress::silent()).await }
    };
    let error = deploy_broken(broken.path()).await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("names the handler `missing.js`, which is not in its folder"),
        "{error}"
    );

    write(
        &out,
        "functions/api.func/.vc-config.json",
        r#"{"runtime":"nodejs20.x","handler":"index.js"}"#,
    );
    let big = std::fs::File::create(out.join("functions/api.func/model.bin")).unwrap();
    big.set_len(251 * 1024 * 1024).unwrap();
    let error = deploy_broken(broken.path()).await.unwrap_err();
    assert!(
        error.to_string().contains("over Lambda's 250 MiB limit"),
        "{error}"
    );
    assert!(error.hint().contains("static files"), "{}", error.hint());

    write(&out, "config.json", r#"{"version":2}"#);
    let error = deploy_broken(broken.path()).await.unwrap_err();
    assert!(error.to_string().contains("version 2"), "{error}");

    let server = start(store, Duration::from_secs(60)).await;
    assert_eq!(get(server.addr, "shop.localhost", "/").await.text(), "home");
    assert_eq!(
        get(server.addr, "shop.localhost", "/api/count")
            .await
            .text(),
        "1"
    );
}

#[tokio::test]
async fn a_function_that_does_not_load_gets_a_502_and_the_deploy_did_not_break_files() {
    let (store, _dir) = local_store().await;
    let site = tempfile::tempdir().unwrap();
    write(site.path(), "index.html", "home");
    write(
        site.path(),
        "api/broken.js",
        "module.exports = (req, res) => {\n",
    );
    write(site.path(), "api/nothing.js", "module.exports = 42;\n");
    deploy_dir(&store, site.path(), "odd", true).await;
    let server = start(store, Duration::from_secs(60)).await;
    for path in ["/api/broken", "/api/nothing"] {
        let answer = get(server.addr, "odd.localhost", path).await;
        assert_eq!(answer.status, 502, "{path}: {}", answer.text());
    }
    assert_eq!(get(server.addr, "odd.localhost", "/").await.text(), "home");
}

#[tokio::test]
async fn bundle_copies_unused_for_a_week_and_abandoned_copies_are_pruned() {
    let (store, _dir) = local_store().await;
    let site = api_site();
    deploy_dir(&store, site.path(), "shop", true).await;
    let work = tempfile::tempdir().unwrap();
    let aged = |path: &Path, age: Duration| {
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(std::time::SystemTime::now() - age)
            .unwrap();
    };
    let day = Duration::from_secs(24 * 3600);
    let copy = |name: &str, age: Duration| {
        let dir = work.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("index.js"), "").unwrap();
        std::fs::write(dir.join(".pier-complete"), "").unwrap();
        aged(&dir.join(".pier-complete"), age);
        dir
    };
    let unused = copy(&"a".repeat(64), 8 * day);
    let recent = copy(&"b".repeat(64), day);
    let not_a_bundle = copy("notes", 30 * day);
    let in_progress = work.path().join(".copying-cccc-x1");
    std::fs::create_dir_all(&in_progress).unwrap();
    let abandoned = work.path().join(".copying-dddd-x2");
    std::fs::create_dir_all(&abandoned).unwrap();
    std::fs::File::open(&abandoned)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - 2 * Duration::from_secs(3600))
        .unwrap();
    let config = ProxyConfig {
        target_ttl: Duration::from_millis(100),
        functions: Some(LocalConfig::new(work.path().to_path_buf())),
        ..ProxyConfig::default()
    };
    let server = start_with(store, config, tempfile::tempdir().unwrap()).await;
    assert_eq!(
        get(server.addr, "shop.localhost", "/api/hello")
            .await
            .status,
        200
    );
    // One pass removes both; it may be part way through when the request is answered.
    for _ in 0..100 {
        if !unused.exists() && !abandoned.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!unused.exists(), "a copy unused for 8 days is pruned");
    assert!(!abandoned.exists(), "a half copy two hours old is pruned");
    assert!(recent.exists() && not_a_bundle.exists());
    assert!(
        in_progress.exists(),
        "a fresh .copying folder may be a copy in progress"
    );
    // The copy the request just used is there, and marked as used now.
    let used: Vec<_> = std::fs::read_dir(work.path())
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.len() == 64 && name != &"b".repeat(64))
        .collect();
    assert_eq!(used.len(), 1, "{used:?}");
}

//! The proxy over real HTTP on loopback, serving real deployments from a folder store and
//! from S3 on moto's server.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use pier_core::alias::{self, Action};
use pier_core::deploy::{DeployRequest, deploy};
use pier_core::progress::Progress;
use pier_core::store::{self, DynStore, StoreUrl};
use pier_core::{deployments, domains};
use pier_proxy::ProxyConfig;
use pier_tests::http::{self, Response, get, request};
use pier_tests::{Moto, fixture_tree};
use support::Serving;

mod support;

use support::write;

async fn start(store: DynStore, config: ProxyConfig) -> Serving {
    support::serve(store, config).await
}

fn test_config() -> ProxyConfig {
    ProxyConfig {
        target_ttl: Duration::from_millis(300),
        max_cached_file: 1024 * 1024,
        header_read_timeout: Duration::from_secs(1),
        ..ProxyConfig::default()
    }
}

use pier_tests::local_store;

async fn deploy_site(store: &DynStore, dir: &Path, project: &str, production: bool) -> String {
    let request = DeployRequest::folder(dir.to_path_buf(), Some(project.into()), production);
    deploy(store.as_ref(), &request, &Progress::silent())
        .await
        .unwrap()
        .summary
        .id
}

/// Runs blocking HTTP calls off the runtime's threads.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work).await.unwrap()
}

async fn fetch(addr: SocketAddr, host: &str, target: &str) -> Response {
    let (host, target) = (host.to_string(), target.to_string());
    blocking(move || get(addr, &host, &target)).await
}

async fn fetch_with(
    addr: SocketAddr,
    method: &str,
    host: &str,
    target: &str,
    headers: &[(&str, &str)],
) -> Response {
    let (method, host, target) = (method.to_string(), host.to_string(), target.to_string());
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    blocking(move || {
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        request(addr, &method, &host, &target, &headers)
    })
    .await
}

#[tokio::test]
async fn hosts_route_to_production_previews_and_custom_domains_only() {
    let (store, _dir) = local_store().await;
    let blog = tempfile::tempdir().unwrap();
    write(blog.path(), "index.html", "blog v1");
    write(blog.path(), "secret-draft.html", "blog draft");
    let v1 = deploy_site(&store, blog.path(), "blog", true).await;
    write(blog.path(), "index.html", "blog v2 preview");
    let v2 = deploy_site(&store, blog.path(), "blog", false).await;
    let shop = tempfile::tempdir().unwrap();
    write(shop.path(), "index.html", "shop");
    deploy_site(&store, shop.path(), "shop", true).await;
    domains::attach(store.as_ref(), "www.blog-example.com", "blog")
        .await
        .unwrap();
    let server = start(store.clone(), test_config()).await;
    let addr = server.addr;

    assert_eq!(
        fetch(addr, "blog.localhost:4800", "/").await.text(),
        "blog v1"
    );
    let preview = deployments::inspect(store.as_ref(), &v2)
        .await
        .unwrap()
        .preview;
    let preview_host = format!("{preview}.localhost");
    assert_eq!(
        fetch(addr, &preview_host, "/").await.text(),
        "blog v2 preview"
    );
    let v1_preview = deployments::inspect(store.as_ref(), &v1)
        .await
        .unwrap()
        .preview;
    assert_eq!(
        fetch(addr, &format!("{v1_preview}.localhost"), "/")
            .await
            .text(),
        "blog v1"
    );
    assert_eq!(fetch(addr, "shop.localhost", "/").await.text(), "shop");
    assert_eq!(
        fetch(addr, "WWW.Blog-Example.com.", "/").await.text(),
        "blog v1"
    );

    for unknown in ["nope.localhost", "www.other.com", "blog-zzzzzzzz.localhost"] {
        for path in ["/", "/secret-draft.html", "/index.html"] {
            let response = fetch(addr, unknown, path).await;
            assert_eq!(response.status, 404, "{unknown}{path}");
            let text = response.text();
            assert!(!text.contains("blog") && !text.contains("shop"), "{text}");
        }
    }
    let shop_asks_for_blog = fetch(addr, "shop.localhost", "/secret-draft.html").await;
    assert_eq!(
        shop_asks_for_blog.status, 404,
        "one project never sees another's files"
    );
    assert_eq!(fetch(addr, "bad host", "/").await.status, 400);
    assert_eq!(fetch(addr, "a.b.localhost", "/").await.status, 400);
    let health = fetch(addr, "127.0.0.1", "/health").await;
    assert_eq!((health.status, health.text().as_str()), (200, "ok\n"));
}

#[tokio::test]
async fn serving_follows_vercel_and_netlify_conventions() {
    let (store, _dir) = local_store().await;
    let site = tempfile::tempdir().unwrap();
    let root = site.path();
    write(root, "index.html", "home");
    write(root, "about.html", "about page");
    write(root, "docs/index.html", "docs index");
    write(root, "404.html", "custom not found");
    write(
        root,
        "assets/app-3f2a9b1c.js",
        &"console.log('pier');".repeat(100),
    );
    write(
        root,
        "pier.json",
        r#"{"redirects":[{"source":"/old/:slug","destination":"/new/:slug","permanent":true}],
            "headers":[{"source":"/assets/(.*)","headers":[{"key":"X-Asset","value":"yes"}]}]}"#,
    );
    write(
        root,
        "_redirects",
        "/go/* /docs/:splat 302\n/app/* /index.html 200\n",
    );
    deploy_site(&store, root, "conv", true).await;
    let server = start(store.clone(), test_config()).await;
    let addr = server.addr;
    let host = "conv.localhost";

    assert_eq!(fetch(addr, host, "/").await.text(), "home");
    assert_eq!(fetch(addr, host, "/about").await.text(), "about page");
    assert_eq!(fetch(addr, host, "/about.html").await.text(), "about page");
    assert_eq!(fetch(addr, host, "/docs/").await.text(), "docs index");
    let folder = fetch(addr, host, "/docs?tab=1").await;
    assert_eq!(folder.status, 308);
    assert_eq!(folder.header("location"), Some("/docs/?tab=1"));
    let missing = fetch(addr, host, "/nothing/here").await;
    assert_eq!(
        (missing.status, missing.text().as_str()),
        (404, "custom not found")
    );
    let redirect = fetch(addr, host, "/old/hello").await;
    assert_eq!(
        (redirect.status, redirect.header("location")),
        (308, Some("/new/hello"))
    );
    let splat = fetch(addr, host, "/go/intro").await;
    assert_eq!(
        (splat.status, splat.header("location")),
        (302, Some("/docs/intro"))
    );
    assert_eq!(
        fetch(addr, host, "/app/settings/profile").await.text(),
        "home"
    );
    assert_eq!(
        fetch(addr, host, "/assets/app-3f2a9b1c.js")
            .await
            .header("x-asset"),
        Some("yes")
    );
    assert_eq!(
        fetch(addr, host, "/pier.json").await.status,
        404,
        "config files are read at deploy time and not served"
    );
}

#[tokio::test]
async fn clean_urls_trailing_slash_and_spa_are_opt_in() {
    let (store, _dir) = local_store().await;
    let site = tempfile::tempdir().unwrap();
    let root = site.path();
    write(root, "index.html", "app shell");
    write(root, "about.html", "about");
    write(root, "docs/index.html", "docs");
    write(
        root,
        "pier.json",
        r#"{"cleanUrls": true, "trailingSlash": false, "spa": true}"#,
    );
    deploy_site(&store, root, "spa", true).await;
    let server = start(store.clone(), test_config()).await;
    let addr = server.addr;
    let host = "spa.localhost";

    let clean = fetch(addr, host, "/about.html").await;
    assert_eq!(
        (clean.status, clean.header("location")),
        (308, Some("/about"))
    );
    let slash = fetch(addr, host, "/about/").await;
    assert_eq!(
        (slash.status, slash.header("location")),
        (308, Some("/about"))
    );
    assert_eq!(fetch(addr, host, "/docs").await.text(), "docs");
    let spa = fetch(addr, host, "/users/42").await;
    assert_eq!((spa.status, spa.text().as_str()), (200, "app shell"));
    assert_eq!(
        fetch(addr, host, "/missing.png").await.status,
        404,
        "assets do not fall back"
    );
}

#[tokio::test]
async fn http_semantics_etag_ranges_head_compression_and_caching() {
    let (store, _dir) = local_store().await;
    let site = tempfile::tempdir().unwrap();
    let root = site.path();
    let page = format!("<!doctype html>{}", "<p>pier</p>".repeat(300));
    write(root, "index.html", &page);
    write(
        root,
        "assets/index-BdF3k2Lq.js",
        &"let x = 1;\n".repeat(500),
    );
    let large: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(root.join("video.bin"), &large).unwrap();
    deploy_site(&store, root, "http", true).await;
    let server = start(store.clone(), test_config()).await;
    let addr = server.addr;
    let host = "http.localhost";

    let plain = fetch(addr, host, "/").await;
    assert_eq!(plain.status, 200);
    assert_eq!(plain.text(), page);
    assert_eq!(
        plain.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(
        plain.header("cache-control"),
        Some("public, max-age=0, must-revalidate")
    );
    assert_eq!(plain.header("vary"), Some("Accept-Encoding"));
    let etag = plain.header("etag").unwrap().to_string();
    assert!(etag.starts_with('"') && etag.len() > 20, "{etag}");

    let revalidated = fetch_with(addr, "GET", host, "/", &[("If-None-Match", &etag)]).await;
    assert_eq!(revalidated.status, 304);
    assert!(revalidated.body.is_empty());
    assert_eq!(revalidated.header("etag"), Some(etag.as_str()));

    let head = fetch_with(addr, "HEAD", host, "/", &[]).await;
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length"),
        Some(page.len().to_string().as_str())
    );

    let brotli = fetch_with(addr, "GET", host, "/", &[("Accept-Encoding", "gzip, br")]).await;
    assert_eq!(brotli.header("content-encoding"), Some("br"));
    assert_ne!(
        brotli.header("etag"),
        Some(etag.as_str()),
        "each encoding has its own tag"
    );
    let mut decoded = Vec::new();
    brotli::BrotliDecompress(&mut &brotli.body[..], &mut decoded).unwrap();
    assert_eq!(decoded, page.as_bytes());
    let gzip = fetch_with(addr, "GET", host, "/", &[("Accept-Encoding", "gzip")]).await;
    assert_eq!(gzip.header("content-encoding"), Some("gzip"));
    assert!(gzip.body.len() < page.len() / 5);

    let asset = fetch(addr, host, "/assets/index-BdF3k2Lq.js").await;
    assert_eq!(
        asset.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(
        asset.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );

    let part = fetch_with(addr, "GET", host, "/", &[("Range", "bytes=0-14")]).await;
    assert_eq!(part.status, 206);
    assert_eq!(part.text(), "<!doctype html>");
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes 0-14/{}", page.len()).as_str())
    );
    let beyond = fetch_with(addr, "GET", host, "/", &[("Range", "bytes=999999-")]).await;
    assert_eq!(beyond.status, 416);
    assert_eq!(
        beyond.header("content-range"),
        Some(format!("bytes */{}", page.len()).as_str())
    );
    let stale = fetch_with(
        addr,
        "GET",
        host,
        "/",
        &[("Range", "bytes=0-9"), ("If-Range", "\"old\"")],
    )
    .await;
    assert_eq!(
        stale.status, 200,
        "If-Range with another tag sends the whole file"
    );

    // Above max_cached_file: streamed from the store, ranges included.
    let streamed = fetch(addr, host, "/video.bin").await;
    assert_eq!(streamed.status, 200);
    assert!(streamed.body == large, "the large file streams intact");
    let tail = fetch_with(addr, "GET", host, "/video.bin", &[("Range", "bytes=-1000")]).await;
    assert_eq!(tail.status, 206);
    assert!(tail.body[..] == large[large.len() - 1000..]);

    let post = fetch_with(addr, "POST", host, "/", &[("Content-Length", "0")]).await;
    assert_eq!(
        (post.status, post.header("allow")),
        (405, Some("GET, HEAD"))
    );
}

#[tokio::test]
async fn hostile_paths_and_clients_are_refused() {
    let (store, _dir) = local_store().await;
    let site = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    fixture_tree(site.path(), outside.path());
    deploy_site(&store, site.path(), "safe", true).await;
    let other = tempfile::tempdir().unwrap();
    write(other.path(), "private.html", "other project's secret");
    deploy_site(&store, other.path(), "other", true).await;
    let server = start(store.clone(), test_config()).await;
    let addr = server.addr;
    let host = "safe.localhost";

    assert_eq!(
        fetch(
            addr,
            host,
            "/with%20space/%C3%BC%6Ei%CC%88c%C3%B6d%C3%A9%20%E6%97%A5%E6%9C%AC/"
        )
        .await
        .status,
        404
    );
    assert_eq!(
        fetch(addr, host, "/with%20space/style%20sheet.css")
            .await
            .text(),
        "body{color:#333}\n"
    );
    assert_eq!(
        fetch(addr, host, "/weird%20%23name%2520%26%3F.txt")
            .await
            .text(),
        "#!/bin/sh\n"
    );
    assert_eq!(
        fetch(addr, host, "/.well-known/security.txt").await.status,
        200
    );
    for attack in [
        "/../other/private.html",
        "/%2e%2e/private.html",
        "/..%2fprivate.html",
        "/..%5cprivate.html",
        "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/index.html%00.png",
        "/a\\..\\private.html",
        "//..//private.html",
        "/leak.txt",
        "/%252e%252e/private.html",
    ] {
        let response = fetch(addr, host, attack).await;
        assert!(
            response.status == 400 || response.status == 404,
            "{attack}: {}",
            response.status
        );
        let text = response.text();
        assert!(
            !text.contains("secret") && !text.contains("never be deployed"),
            "{attack}"
        );
    }

    let crowded: String = (0..100).map(|i| format!("X-Filler-{i}: {i}\r\n")).collect();
    let raw = format!("GET / HTTP/1.1\r\nHost: {host}\r\n{crowded}Connection: close\r\n\r\n");
    let too_many = blocking(move || http::send_raw(addr, raw.as_bytes(), false)).await;
    assert_eq!(too_many.status, 431);

    // A client that sends its headers slowly is cut off after the header timeout.
    let cut_off = blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: safe.localhost\r\n")
            .unwrap();
        let started = std::time::Instant::now();
        for _ in 0..30 {
            std::thread::sleep(Duration::from_millis(200));
            if stream.write_all(b"X-Slow: 1\r\n").is_err() {
                break;
            }
        }
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
        (started.elapsed(), rest)
    })
    .await;
    assert!(
        cut_off.0 < Duration::from_secs(4),
        "cut off after {:?}",
        cut_off.0
    );
    assert!(
        !String::from_utf8_lossy(&cut_off.1).contains("200 OK"),
        "the slow request was never answered"
    );
}

#[tokio::test]
async fn a_promote_is_visible_within_the_alias_ttl() {
    let (store, _dir) = local_store().await;
    let site = tempfile::tempdir().unwrap();
    write(site.path(), "index.html", "one");
    deploy_site(&store, site.path(), "live", true).await;
    write(site.path(), "index.html", "two");
    let two = deploy_site(&store, site.path(), "live", false).await;
    let server = start(store.clone(), test_config()).await;
    let addr = server.addr;
    assert_eq!(fetch(addr, "live.localhost", "/").await.text(), "one");

    alias::promote(store.as_ref(), "live", &two, Action::Promote)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(fetch(addr, "live.localhost", "/").await.text(), "two");

    alias::rollback(store.as_ref(), "live").await.unwrap();
    server.proxy.refresh();
    assert_eq!(
        fetch(addr, "live.localhost", "/").await.text(),
        "one",
        "an explicit refresh is immediate"
    );
    let metrics = server.proxy.metrics_text();
    assert!(
        metrics.contains("pier_proxy_requests_total{status=\"200\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("pier_proxy_cache_hits_total{cache=\"mapped\"}"),
        "a folder store's files are kept mapped: {metrics}"
    );
}

#[tokio::test]
async fn an_s3_store_outage_still_serves_what_is_cached() {
    let mut moto = Moto::start();
    let url = StoreUrl::parse(&moto.bucket("outage").await).unwrap();
    let store = store::open(&url).await.unwrap();
    let site = tempfile::tempdir().unwrap();
    write(site.path(), "index.html", "cached page");
    write(site.path(), "other.html", "never fetched");
    deploy_site(&store, site.path(), "steady", true).await;
    let config = ProxyConfig {
        store_timeout: Duration::from_secs(2),
        ..test_config()
    };
    let server = start(store.clone(), config).await;
    let addr = server.addr;
    assert_eq!(
        fetch(addr, "steady.localhost", "/").await.text(),
        "cached page"
    );

    moto.stop();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let during = fetch(addr, "steady.localhost", "/").await;
    assert_eq!(
        (during.status, during.text().as_str()),
        (200, "cached page"),
        "past the alias TTL, the last known alias and cached files still serve"
    );
    let uncached = fetch(addr, "steady.localhost", "/other.html").await;
    assert!(
        uncached.status == 502 || uncached.status == 504,
        "{}",
        uncached.status
    );
    let text = uncached.text();
    assert!(
        !text.contains("127.0.0.1") && !text.contains("outage"),
        "{text}"
    );
}

/// A file not yet in memory goes out as it is read: its first bytes arrive while the store
/// still holds the rest back. Once read whole it is kept, so the next request is a hit; a
/// range of a file whose whole read is still held back is served from its own bytes.
#[tokio::test]
async fn a_file_not_yet_cached_is_sent_while_it_is_read() {
    use pier_tests::spy::Spy;
    use std::io::{Read, Write};

    let (folder_store, _dir) = local_store().await;
    let site = tempfile::tempdir().unwrap();
    // 768 KiB of bytes that do not repeat, in a type the proxy never compresses.
    let big: Vec<u8> = (0..768 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(site.path().join("big.bin"), &big).unwrap();
    deploy_site(&folder_store, site.path(), "stream", true).await;
    let spy = std::sync::Arc::new(Spy::new(folder_store));
    let server = start(spy.clone(), test_config()).await;
    let addr = server.addr;

    spy.hold_streams_after_first_chunk();
    let reads_before = spy.blob_reads();
    let mut socket = std::net::TcpStream::connect(addr).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    socket
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: stream.localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut received = Vec::new();
    let head_end = blocking(move || {
        let mut buffer = [0u8; 16 * 1024];
        loop {
            let read = socket
                .read(&mut buffer)
                .expect("the first bytes come while the rest is held");
            assert!(read > 0, "the proxy closed before sending the body");
            received.extend_from_slice(&buffer[..read]);
            if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n")
                && received.len() > end + 4
            {
                return (socket, received, end + 4);
            }
        }
    })
    .await;
    let (socket, received, body_start) = head_end;
    // Nothing more comes while the store holds the rest back: the response is the read.
    let (mut socket, mut received) = blocking(move || {
        let (mut socket, mut received) = (socket, received);
        socket
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let mut buffer = [0u8; 64 * 1024];
        while let Ok(read @ 1..) = socket.read(&mut buffer) {
            received.extend_from_slice(&buffer[..read]);
        }
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        (socket, received)
    })
    .await;
    let head = String::from_utf8_lossy(&received[..body_start]).to_string();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains(&format!("content-length: {}", big.len())),
        "{head}"
    );
    let first_part = received.len() - body_start;
    assert!(
        first_part > 0 && first_part <= pier_core::store::STREAM_CHUNK,
        "the first chunk came, and only it, while the store held the rest ({first_part} bytes)"
    );

    // A range of another uncached request, while that whole read is still held back.
    let range = fetch_with(
        addr,
        "GET",
        "stream.localhost",
        "/big.bin",
        &[("Range", "bytes=1000-1999")],
    )
    .await;
    assert_eq!(range.status, 206);
    assert_eq!(range.body, big[1000..2000]);

    spy.open_streams();
    let body = blocking(move || {
        socket.read_to_end(&mut received).unwrap();
        received
    })
    .await;
    assert_eq!(body[body_start..], big[..], "every byte, in order");

    // Read whole once, kept: the next request and a range of it read no blob.
    let reads_after_first = spy.blob_reads();
    assert_eq!(
        reads_after_first,
        reads_before + 2,
        "the whole read and the range read"
    );
    let again = fetch(addr, "stream.localhost", "/big.bin").await;
    assert_eq!(again.body, big);
    let range = fetch_with(
        addr,
        "GET",
        "stream.localhost",
        "/big.bin",
        &[("Range", "bytes=-10")],
    )
    .await;
    assert_eq!(range.body, big[big.len() - 10..]);
    assert_eq!(spy.blob_reads(), reads_after_first, "both from memory");
}

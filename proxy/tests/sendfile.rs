//! A folder store's files go to the client from their mappings, with `sendfile` between
//! `SENDFILE_MIN` and `SENDFILE_MAX` (Linux): every byte as deployed, whole or as a range, to
//! one client or many, to a slow reader, and several on one keep-alive connection; the
//! proxy's metrics say how many bytes the kernel sent from files.
#![cfg(target_os = "linux")]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use pier_core::deploy::{DeployRequest, deploy};
use pier_core::progress::Progress;
use pier_core::store::{self, DynStore, StoreUrl};
use pier_proxy::ProxyConfig;
use pier_tests::http::{self, Response};

mod support;

const HOST: &str = "files.localhost";

/// Bytes no two offsets of which repeat within a few MB, so a chunk sent from the wrong
/// offset never passes for the right one.
fn content(len: usize, seed: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}

struct Site {
    files: Vec<(&'static str, Vec<u8>)>,
    serving: support::Serving,
    _store_dir: tempfile::TempDir,
}

impl Site {
    fn file(&self, path: &str) -> &[u8] {
        &self.files.iter().find(|(p, _)| *p == path).unwrap().1
    }
}

/// Deploys files of sizes around the `sendfile` threshold and beyond the memory cache's
/// limit to a folder store, and serves it.
async fn served_site() -> Site {
    let files: Vec<(&'static str, Vec<u8>)> = vec![
        ("tiny.bin", content(10, 1)),
        ("under threshold.bin", content(16 * 1024 - 1, 2)),
        ("at-threshold.bin", content(16 * 1024, 3)),
        ("app ünïcode.js", content(100 * 1024, 4)),
        ("half-mb.bin", content(512 * 1024, 6)),
        ("just over.bin", content(512 * 1024 + 1, 7)),
        ("big.bin", content(5 * 1024 * 1024 + 3, 5)),
    ];
    let site = tempfile::tempdir().unwrap();
    for (path, bytes) in &files {
        std::fs::write(site.path().join(path), bytes).unwrap();
    }
    let store_dir = tempfile::tempdir().unwrap();
    let store: DynStore = store::open(&StoreUrl::Local(store_dir.path().to_path_buf()))
        .await
        .unwrap();
    let request = DeployRequest::folder(site.path().to_path_buf(), Some("files".into()), true);
    deploy(store.as_ref(), &request, &Progress::silent())
        .await
        .unwrap();
    let config = ProxyConfig {
        // Below big.bin's size: a file too big to keep in memory is still sent from the file.
        max_cached_file: 1024 * 1024,
        ..ProxyConfig::default()
    };
    Site {
        files,
        serving: support::serve(store, config).await,
        _store_dir: store_dir,
    }
}

fn encoded(path: &str) -> String {
    percent_encoding::utf8_percent_encode(path, percent_encoding::NON_ALPHANUMERIC)
        .to_string()
        .replace("%2E", ".")
}

async fn fetch(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
    let target = format!("/{}", encoded(path));
    support::send(addr, method, HOST, &target, headers, b"").await
}

async fn ranged(addr: SocketAddr, path: &str, range: &str) -> Response {
    fetch(addr, "GET", path, &[("Range", range)]).await
}

/// Whether a whole file goes out with `sendfile`.
fn goes_by_sendfile(len: usize) -> bool {
    (pier_proxy::sendfile::SENDFILE_MIN..=pier_proxy::sendfile::SENDFILE_MAX).contains(&len)
}

fn sent_from_file(site: &Site) -> u64 {
    let metrics = site.serving.proxy.metrics_text();
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("pier_proxy_sent_from_file_bytes_total "))
        .unwrap_or_else(|| panic!("no sendfile counter in {metrics}"))
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn every_file_arrives_byte_for_byte_and_the_middle_sized_come_from_the_file() {
    let site = served_site().await;
    let addr = site.serving.addr;
    let mut expected_from_file = 0;
    for (path, bytes) in &site.files {
        for attempt in ["first", "second (an open file)"] {
            let before = sent_from_file(&site);
            let response = fetch(addr, "GET", path, &[]).await;
            assert_eq!(response.status, 200, "{path}, {attempt}");
            assert_eq!(response.body.len(), bytes.len(), "{path}, {attempt}");
            assert!(response.body == *bytes, "{path} arrived changed, {attempt}");
            let from_file = sent_from_file(&site) - before;
            if goes_by_sendfile(bytes.len()) {
                assert_eq!(
                    from_file,
                    bytes.len() as u64,
                    "{path} is sent by the kernel"
                );
                expected_from_file += from_file;
            } else {
                assert_eq!(from_file, 0, "{path} is copied from its mapping");
            }
        }
    }
    assert_eq!(sent_from_file(&site), expected_from_file);
    let metrics = site.serving.proxy.metrics_text();
    let hits = format!(
        "pier_proxy_cache_hits_total{{cache=\"mapped\"}} {}",
        site.files.len()
    );
    assert!(metrics.contains(&hits), "{metrics}");
}

#[tokio::test]
async fn ranges_validators_and_head_behave_as_for_memory() {
    let site = served_site().await;
    let addr = site.serving.addr;
    let big = site.file("big.bin");
    let len = big.len();

    let middle = ranged(addr, "big.bin", "bytes=1000003-4000000").await;
    assert_eq!(middle.status, 206);
    assert_eq!(
        middle.header("content-range"),
        Some(format!("bytes 1000003-4000000/{len}").as_str())
    );
    assert!(middle.body[..] == big[1_000_003..=4_000_000]);

    let suffix = ranged(addr, "big.bin", "bytes=-70000").await;
    assert_eq!(suffix.status, 206);
    assert!(suffix.body[..] == big[len - 70_000..]);

    // A part of a file sendfile takes starts at its own offset in the file; a part of a file
    // over the limit is copied, however small.
    let half = site.file("half-mb.bin");
    let before = sent_from_file(&site);
    let part = ranged(addr, "half-mb.bin", "bytes=100001-400000").await;
    assert_eq!(part.status, 206);
    assert!(part.body[..] == half[100_001..=400_000]);
    assert_eq!(sent_from_file(&site) - before, 300_000);
    let part = ranged(addr, "big.bin", "bytes=3000001-3400000").await;
    assert!(part.body[..] == big[3_000_001..=3_400_000]);
    assert_eq!(sent_from_file(&site) - before, 300_000);

    let small_part = ranged(addr, "big.bin", "bytes=17-99").await;
    assert!(small_part.body[..] == big[17..=99]);

    let past_the_end = format!("bytes={len}-");
    let unsatisfiable = ranged(addr, "big.bin", &past_the_end).await;
    assert_eq!(unsatisfiable.status, 416);

    let head = fetch(addr, "HEAD", "big.bin", &[]).await;
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length"),
        Some(len.to_string().as_str())
    );

    let etag = head.header("etag").unwrap().to_string();
    let not_modified = fetch(addr, "GET", "big.bin", &[("If-None-Match", &etag)]).await;
    assert_eq!(not_modified.status, 304);
    assert!(not_modified.body.is_empty());

    // Compression reads the mapped file; what goes out is the compressed copy, from memory.
    let before = sent_from_file(&site);
    let gzipped = fetch(
        addr,
        "GET",
        "app ünïcode.js",
        &[("Accept-Encoding", "gzip")],
    )
    .await;
    assert_eq!(gzipped.header("content-encoding"), Some("gzip"));
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(&gzipped.body[..])
        .read_to_end(&mut plain)
        .unwrap();
    assert!(plain == site.file("app ünïcode.js"));
    assert_eq!(sent_from_file(&site), before);
}

#[tokio::test]
async fn many_clients_at_once_and_a_slow_reader_each_get_their_bytes() {
    let site = served_site().await;
    let addr = site.serving.addr;
    let paths = ["big.bin", "app ünïcode.js", "half-mb.bin"];
    let clients: Vec<_> = (0..12)
        .map(|client| tokio::spawn(fetch(addr, "GET", paths[client % 3], &[])))
        .collect();
    for (client, handle) in clients.into_iter().enumerate() {
        let response = handle.await.unwrap();
        let path = paths[client % 3];
        assert!(
            response.body == site.file(path),
            "client {client} got other bytes of {path}"
        );
    }

    // A reader with a small window that stops now and then: the kernel sends part of the
    // file, the socket fills, and sending resumes from the right offset when it drains.
    for path in ["half-mb.bin", "big.bin"] {
        let slow = slow_read(addr, path).await;
        assert_eq!(slow.status, 200);
        assert!(
            slow.body == site.file(path),
            "the slow reader's {path} differs"
        );
    }
}

async fn slow_read(addr: SocketAddr, path: &'static str) -> Response {
    tokio::task::spawn_blocking(move || {
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        socket.connect(&addr.into()).unwrap();
        let mut stream: TcpStream = socket.into();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let request = format!("GET /{path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).unwrap();
        let mut all = Vec::new();
        let mut chunk = [0u8; 64 * 1024];
        let mut reads = 0;
        loop {
            let n = stream.read(&mut chunk).unwrap();
            if n == 0 {
                break;
            }
            all.extend_from_slice(&chunk[..n]);
            reads += 1;
            if reads % 16 == 0 {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        http::parse(&all, false)
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn requests_pipelined_on_one_connection_get_their_answers_in_order() {
    let site = served_site().await;
    let addr = site.serving.addr;
    let order = [
        "big.bin",
        "tiny.bin",
        "app ünïcode.js",
        "half-mb.bin",
        "at-threshold.bin",
        "half-mb.bin",
        "big.bin",
    ];
    let targets: Vec<String> = order.iter().map(|p| format!("/{}", encoded(p))).collect();
    let raw = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut requests = String::new();
        for (index, target) in targets.iter().enumerate() {
            let close = if index + 1 == targets.len() {
                "Connection: close\r\n"
            } else {
                ""
            };
            requests.push_str(&format!(
                "GET {target} HTTP/1.1\r\nHost: {HOST}\r\n{close}\r\n"
            ));
        }
        // All at once: the next request is already waiting while a file is being sent.
        stream.write_all(requests.as_bytes()).unwrap();
        let mut all = Vec::new();
        stream.read_to_end(&mut all).unwrap();
        all
    })
    .await
    .unwrap();

    let mut rest = &raw[..];
    for path in order {
        let head_end = rest.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let head = String::from_utf8_lossy(&rest[..head_end]).to_lowercase();
        assert!(head.starts_with("http/1.1 200"), "{path}: {head}");
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length: "))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let body = &rest[head_end..head_end + length];
        assert!(body == site.file(path), "{path} arrived changed");
        rest = &rest[head_end + length..];
    }
    assert!(
        rest.is_empty(),
        "{} bytes after the last answer",
        rest.len()
    );
}

//! Save → live latency of folder watch (a benchmark, not a test; `cargo bench -p pier-cli
//! --bench watch_latency`).
//!
//! A 1,000-file site is watched; each of 50 saves rewrites `index.html` with a new marker,
//! and the clock runs from the write to the first response of the proxy (over HTTP on
//! loopback) that carries the marker. The proxy runs in the same process and is refreshed
//! when the watch reports a deploy, as in the desktop app. Measured on the local store and,
//! when `s3s-fs` is installed (`tests/bench/deploy.sh` installs it), on S3 through s3s-fs.
//! Beside each, the time of a plain full deploy of the same site. Goals: local p50 ≤ 300 ms
//! and p99 ≤ 1 s; S3 p50 ≤ 1 s.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pier_core::deploy::{DeployRequest, deploy};
use pier_core::progress::Progress;
use pier_core::store::{self, StoreUrl};
use pier_core::watch::{self, WatchEvent, WatchOptions, WatchSpec};
use pier_proxy::{Proxy, ProxyConfig};

const FILES: usize = 1000;
const SAVES: usize = 50;

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    println!("watch save→live latency: {FILES}-file site, {SAVES} saves, release build, 2 cores");
    println!(
        "{:<26} {:>9} {:>9} {:>9} {:>16}",
        "store", "p50 (ms)", "p99 (ms)", "max (ms)", "full deploy (ms)"
    );
    let local = tempfile::tempdir().unwrap();
    let url = StoreUrl::parse(local.path().to_str().unwrap()).unwrap();
    runtime.block_on(measure("local folder", url, "≤ 300 / ≤ 1000"));

    match S3sFs::start() {
        Some(server) => {
            let url = StoreUrl::parse(&server.store_url()).unwrap();
            runtime.block_on(measure("s3 (s3s-fs)", url, "≤ 1000 (p50)"));
        }
        None => println!(
            "{:<26} skipped: s3s-fs not found (run tests/bench/deploy.sh once, or set PIER_BENCH_S3S_FS)",
            "s3 (s3s-fs)"
        ),
    }
}

async fn measure(name: &str, url: StoreUrl, goal: &str) {
    let store = store::open(&url).await.unwrap();
    let site = tempfile::tempdir().unwrap();
    generate(site.path());

    let full = {
        let copy = tempfile::tempdir().unwrap();
        generate(copy.path());
        let started = Instant::now();
        let request = DeployRequest::folder(copy.path(), Some("full".into()), true);
        deploy(store.as_ref(), &request, &Progress::silent())
            .await
            .unwrap();
        started.elapsed()
    };

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let proxy = Proxy::new(store.clone(), ProxyConfig::default());
    let serving = proxy.clone();
    tokio::spawn(async move { serving.serve(listener, std::future::pending()).await });

    let deployed = Arc::new(Mutex::new(0usize));
    let counter = deployed.clone();
    let refresher = proxy.clone();
    let spec = WatchSpec::new(site.path(), Some("bench".into()), false, false).unwrap();
    tokio::spawn(watch::watch(
        pier_core::regions::Regions::single(store.clone()),
        spec,
        WatchOptions::default(),
        move |event| {
            if let WatchEvent::Deployed { .. } = event {
                refresher.refresh();
                *counter.lock().unwrap() += 1;
            }
        },
        std::future::pending(),
    ));
    while *deployed.lock().unwrap() == 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Let the first deploy's hashes age past the racy window so they are trusted.
    tokio::time::sleep(pier_core::scan::RACY_WINDOW + Duration::from_millis(200)).await;

    let mut latencies = Vec::with_capacity(SAVES);
    for save in 0..SAVES {
        let marker = format!("save-{save}-{}", rand_suffix());
        let started = Instant::now();
        std::fs::write(
            site.path().join("index.html"),
            format!("<!doctype html><p>{marker}</p>"),
        )
        .unwrap();
        loop {
            let body = tokio::task::spawn_blocking(move || fetch(addr))
                .await
                .unwrap();
            if body.contains(&marker) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "save {save} never went live"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        latencies.push(started.elapsed());
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p50 = latencies[latencies.len() / 2];
    let p99 = latencies[(latencies.len() * 99 / 100).min(latencies.len() - 1)];
    println!(
        "{name:<26} {:>9.0} {:>9.0} {:>9.0} {:>16.0}   goal {goal}",
        ms(p50),
        ms(p99),
        ms(*latencies.last().unwrap()),
        ms(full)
    );
}

fn fetch(addr: SocketAddr) -> String {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return String::new();
    };
    let request = "GET / HTTP/1.1\r\nHost: bench-watch.localhost\r\nConnection: close\r\n\r\n";
    let mut response = String::new();
    if stream.write_all(request.as_bytes()).is_ok() {
        let _ = stream.read_to_string(&mut response);
    }
    response
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// 1,000 files of 1–20 KB in 20 folders, the same every time.
fn generate(root: &Path) {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..FILES {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let size = 1024 + (state % (19 * 1024)) as usize;
        let path = root.join(format!("section-{:02}/page-{i}.html", i % 20));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut body = format!("<!doctype html><title>{i}</title>").into_bytes();
        body.resize(size, b'a' + (i % 26) as u8);
        std::fs::write(path, body).unwrap();
    }
    std::fs::write(root.join("index.html"), "<!doctype html><p>start</p>").unwrap();
}

/// s3s-fs on a free loopback port, if installed.
struct S3sFs {
    child: Child,
    port: u16,
    _data: tempfile::TempDir,
}

impl S3sFs {
    fn start() -> Option<S3sFs> {
        let binary = std::env::var_os("PIER_BENCH_S3S_FS")
            .map(PathBuf::from)
            .or_else(|| dirs_home().map(|h| h.join(".cache/pier-bench/bin/s3s-fs")))
            .filter(|path| path.exists())?;
        let data = tempfile::tempdir().ok()?;
        std::fs::create_dir_all(data.path().join("watch-bench")).ok()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let child = Command::new(binary)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", "test", "--secret-key", "test"])
            .arg(data.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        std::thread::sleep(Duration::from_millis(300));
        // SAFETY: set before any other thread reads the environment of this benchmark.
        unsafe {
            std::env::set_var("AWS_ACCESS_KEY_ID", "test");
            std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
            std::env::set_var("AWS_REGION", "us-east-1");
            std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        }
        Some(S3sFs {
            child,
            port,
            _data: data,
        })
    }

    fn store_url(&self) -> String {
        format!(
            "s3://watch-bench/pier?endpoint=http://127.0.0.1:{}",
            self.port
        )
    }
}

impl Drop for S3sFs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn dirs_home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

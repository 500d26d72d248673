//! Live build logs under a chatty build (a benchmark, not a test; `cargo bench -p
//! pier-builder --bench log_latency`).
//!
//! A real `redis-server` on a free port. Three figures from the same run:
//! - **raw Redis** (the peer): XADD of 100,000 entries by one client, read back by a blocked
//!   XREAD on another connection; latency from XADD to arrival.
//! - **pier-builder**: the `pier-builder run` binary builds a source tree whose build script
//!   prints 100,000 lines (each carrying the wall-clock time it was printed, flushed one by
//!   one); this process follows the log through `pier_core::logs::follow` like `pier logs -f`
//!   and times every line from print to arrival. Also the sustained rate (lines / span from
//!   first print to last arrival) and a check that every line arrived once, in order. Run
//!   twice: paced at the goal's 50,000 lines/s (the latency figure), and as fast as the script
//!   can print (the throughput figure; its latency is the backlog of a producer that outruns
//!   the pipeline on 2 shared cores, so it is not the goal's measure).
//! - **overhead**: the builder's wall time against running the same install and build command
//!   directly with output to /dev/null.
//!
//! Goals: p99 ≤ 2 ms, ≥ 50,000 lines/s, overhead ≤ 1 s.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use pier_core::builds::archive;
use pier_core::builds::job::{BuildJob, JobSource};
use pier_core::logs::{self, LogKind};

const LINES: usize = 100_000;
/// The goal's rate: latency is judged while the build prints this many lines a second.
const PACED_RATE: u32 = 50_000;

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let redis = pier_tests::Redis::start();
    println!("live build logs: {LINES} lines, redis-server on loopback, 2 cores");
    println!(
        "{:<28} {:>9} {:>9} {:>9} {:>12} {:>6}",
        "path", "p50 (ms)", "p99 (ms)", "max (ms)", "lines/s", "lost"
    );
    runtime.block_on(raw_redis(&redis.url()));
    runtime.block_on(builder(&redis.url(), Some(PACED_RATE)));
    runtime.block_on(builder(&redis.url(), None));
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn report(name: &str, mut latencies_ns: Vec<u128>, rate: f64, lost: usize, goal: &str) {
    latencies_ns.sort_unstable();
    let pick = |q: f64| {
        latencies_ns
            .get(((latencies_ns.len() as f64 - 1.0) * q) as usize)
            .map_or(f64::NAN, |ns| *ns as f64 / 1e6)
    };
    println!(
        "{:<28} {:>9.3} {:>9.3} {:>9.3} {:>12.0} {:>6}   {goal}",
        name,
        pick(0.5),
        pick(0.99),
        pick(1.0),
        rate,
        lost
    );
}

async fn raw_redis(url: &str) {
    let client = redis::Client::open(url).unwrap();
    let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
    let mut writer = client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .unwrap();
    let mut reader = client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .unwrap();
    let key = "bench:raw";
    let started = Instant::now();
    let consumer = tokio::spawn(async move {
        let mut last = "0-0".to_string();
        let mut latencies = Vec::with_capacity(LINES);
        while latencies.len() < LINES {
            let reply: redis::streams::StreamReadReply = redis::cmd("XREAD")
                .arg("COUNT")
                .arg(1000)
                .arg("BLOCK")
                .arg(2000)
                .arg("STREAMS")
                .arg(key)
                .arg(&last)
                .query_async(&mut reader)
                .await
                .unwrap();
            let arrived = now_ns();
            for stream in reply.keys {
                for entry in stream.ids {
                    let sent: String = entry.get("t").unwrap();
                    latencies.push(arrived - sent.parse::<u128>().unwrap());
                    last = entry.id;
                }
            }
        }
        latencies
    });
    for i in 0..LINES {
        let _: String = redis::cmd("XADD")
            .arg(key)
            .arg("MAXLEN")
            .arg("~")
            .arg(200_000)
            .arg("*")
            .arg("t")
            .arg(now_ns().to_string())
            .arg("l")
            .arg(format!(
                "line {i} of a chatty build, padded to a typical log line length"
            ))
            .query_async(&mut writer)
            .await
            .unwrap();
    }
    let latencies = consumer.await.unwrap();
    let rate = LINES as f64 / started.elapsed().as_secs_f64();
    report("raw XADD → XREAD", latencies, rate, 0, "(peer)");
}

/// A source tree whose build prints `LINES` timestamped lines, then writes `dist/`: as fast
/// as it can (`rate` None), or paced at `rate` lines per second in 1 ms bursts.
fn chatty_tree(dir: &Path, rate: Option<u32>) {
    let per_ms = rate.map_or(0, |r| r / 1000);
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("package.json"),
        r#"{"name":"chatty","version":"1.0.0","private":true,"scripts":{"build":"python3 chatty.py"}}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("chatty.py"),
        format!(
            "import os, sys, time\n\
             per_ms = {per_ms}\n\
             start = time.monotonic()\n\
             for i in range({LINES}):\n\
             \x20   if per_ms and i % per_ms == 0:\n\
             \x20       delay = start + (i // per_ms) / 1000 - time.monotonic()\n\
             \x20       if delay > 0: time.sleep(delay)\n\
             \x20   sys.stdout.write(f'line {{i}} {{time.time_ns()}} of a chatty build\\n')\n\
             \x20   sys.stdout.flush()\n\
             os.makedirs('dist', exist_ok=True)\n\
             open('dist/index.html', 'w').write('<h1>chatty</h1>')\n"
        ),
    )
    .unwrap();
}

async fn builder(url: &str, rate: Option<u32>) {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("chatty");
    chatty_tree(&source, rate);

    // The same commands, run directly.
    let direct = {
        let copy = work.path().join("direct");
        chatty_tree(&copy, rate);
        let started = Instant::now();
        let status = Command::new("sh")
            .args(["-c", "npm install --no-audit --no-fund && npm run build"])
            .current_dir(&copy)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        started.elapsed()
    };

    let store_dir = tempfile::tempdir().unwrap();
    let store = pier_core::store::open(
        &pier_core::store::StoreUrl::parse(store_dir.path().to_str().unwrap()).unwrap(),
    )
    .await
    .unwrap();
    let key = archive::upload(store.as_ref(), &source).await.unwrap();
    let job = BuildJob::new(
        "chatty",
        false,
        JobSource::Archive {
            key,
            folder: source.display().to_string(),
        },
    );
    let live: Arc<dyn logs::LiveLogs> =
        Arc::new(logs::redis::RedisLogs::open(url, Duration::from_secs(600)).unwrap());
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pier-builder"))
        .args(["--store", store_dir.path().to_str().unwrap(), "run"])
        .env("PIER_BUILD_JOB", serde_json::to_string(&job).unwrap())
        .env("PIER_REDIS_URL", url)
        .env("PIER_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Attach as soon as the log exists, as `pier logs -f` would.
    let mut stream = loop {
        if live
            .read_after(&job.deployment, 0, Duration::ZERO)
            .await
            .unwrap()
            .is_some()
        {
            break logs::follow(Some(live.clone()), store.clone(), job.deployment.clone(), 0);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let mut latencies = Vec::with_capacity(LINES);
    let mut next_line = 0usize;
    let mut out_of_order = 0usize;
    let mut first_print: Option<u128> = None;
    let mut last_arrival = 0u128;
    while let Some(record) = stream.next().await {
        let record = record.unwrap();
        let arrived = now_ns();
        if let LogKind::Line { text, .. } = &record.kind {
            let mut words = text.split(' ');
            if words.next() != Some("line") {
                continue;
            }
            let index: usize = words.next().unwrap().parse().unwrap();
            let printed: u128 = words.next().unwrap().parse().unwrap();
            if index != next_line {
                out_of_order += 1;
            }
            next_line = index + 1;
            first_print.get_or_insert(printed);
            last_arrival = arrived;
            latencies.push(arrived.saturating_sub(printed));
        }
    }
    let status = child.wait().unwrap();
    let total = started.elapsed();
    assert!(status.success(), "the chatty build failed");
    let span = (last_arrival - first_print.unwrap_or(last_arrival)) as f64 / 1e9;
    let lost = LINES - latencies.len() + out_of_order;
    let (name, goal) = match rate {
        Some(_) => (
            "pier-builder, paced 50k/s",
            "goal: p99 ≤ 2 ms at 50,000 lines/s",
        ),
        None => (
            "pier-builder, flood",
            "goal: ≥ 50,000 lines/s sustained (latency here is queueing)",
        ),
    };
    report(name, latencies, LINES as f64 / span, lost, goal);
    println!(
        "{:<28} direct {:.2} s, pier-builder {:.2} s, overhead {:+.2} s   goal: ≤ 1 s",
        "  build wall time",
        direct.as_secs_f64(),
        total.as_secs_f64(),
        total.as_secs_f64() - direct.as_secs_f64()
    );
}

//! The desktop benchmark (runnable, not a test): cold start to first paint, idle memory of
//! the app with all its processes (PSS), and the log viewer's frame times while 10,000
//! lines a second arrive through Redis for 10 s (100,000 lines). Goals: ≤ 1.5 s, ≤ 150 MB,
//! no frame over 50 ms. Usage: `desktop_bench PATH_TO_APP` (tests/bench/desktop.sh builds
//! the release app and runs this).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pier_core::logs::redis::RedisLogs;
use pier_core::logs::{BuildStatus, LogBackend, LogStream, LogWriter};
use pier_e2e::Desktop;

const STARTS: usize = 3;
const LINES_PER_SECOND: usize = 10_000;
const SECONDS: usize = 10;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let app = PathBuf::from(
        std::env::args()
            .nth(1)
            .expect("usage: desktop_bench PATH_TO_APP"),
    );

    let mut starts = Vec::new();
    for _ in 0..STARTS {
        let desktop = Desktop::launch_as_shipped(&app, &[]).await;
        desktop.find("#app[data-ready]").await;
        starts.push(desktop.started.elapsed());
        desktop.close().await;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    starts.sort();
    println!(
        "cold start to first paint: median {:.2} s (runs: {})",
        starts[STARTS / 2].as_secs_f64(),
        starts
            .iter()
            .map(|d| format!("{:.2}", d.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let redis = pier_tests::Redis::start();
    let desktop = Desktop::launch_as_shipped(&app, &[]).await;
    desktop.find("#app[data-ready]").await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let processes = desktop.app_processes(&app);
    let pss: Vec<(u32, u64, String)> = processes
        .iter()
        .map(|&pid| {
            let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            (pid, pier_e2e::pss_kib(pid), name.trim().to_string())
        })
        .collect();
    let total: u64 = pss.iter().map(|(_, kib, _)| kib).sum();
    println!(
        "idle memory (PSS, all processes): {:.1} MB ({})",
        total as f64 / 1024.0,
        pss.iter()
            .map(|(_, kib, name)| format!("{name} {:.1} MB", *kib as f64 / 1024.0))
            .collect::<Vec<_>>()
            .join(", ")
    );

    desktop.click("#nav-settings").await;
    desktop.type_into("#redis-url", &redis.url()).await;
    desktop.click("#settings-save").await;
    desktop.find("#notice-banner").await;
    let logs = Arc::new(RedisLogs::open(&redis.url(), Duration::from_secs(600)).unwrap());
    let id = pier_core::manifest::new_id(time::OffsetDateTime::now_utc());
    let writer = LogWriter::new(&id, logs.clone(), Vec::new());
    writer.status(BuildStatus::Building, None).await;
    logs.flush(&id).await;
    desktop.click("#nav-logs").await;
    desktop.type_into("#log-deployment", &id).await;
    desktop.click("#log-follow").await;
    desktop
        .until("the follow to start", || async {
            (desktop.attr("#log-status", "data-lines").await? != "0").then_some(())
        })
        .await;
    reset_frames(&desktop).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = frame_times(&desktop).await;
    println!(
        "idle frames (baseline, 2 s): {} frames, median {:.1} ms, max {:.1} ms",
        idle.len(),
        idle.get(idle.len() / 2).copied().unwrap_or(0.0),
        idle.last().copied().unwrap_or(0.0)
    );
    reset_frames(&desktop).await;
    let started = Instant::now();
    let tick = Duration::from_millis(10);
    let per_tick = LINES_PER_SECOND / 100;
    let mut n = 0;
    for step in 0..SECONDS * 100 {
        for _ in 0..per_tick {
            n += 1;
            let stream = if n % 50 == 0 {
                LogStream::Stderr
            } else {
                LogStream::Stdout
            };
            writer
                .line(
                    stream,
                    &format!(
                        "\u{1b}[36m[{n:>6}]\u{1b}[0m compiling module_{n} … \u{1b}[32mok\u{1b}[0m"
                    ),
                )
                .await;
        }
        let due = started + tick * (step as u32 + 1);
        tokio::time::sleep_until(due.into()).await;
    }
    writer.status(BuildStatus::Ready, None).await;
    logs.flush(&id).await;
    let publish = started.elapsed();
    desktop
        .until("every line to arrive", || async {
            let lines: usize = desktop
                .attr("#log-status", "data-lines")
                .await?
                .parse()
                .ok()?;
            (lines > SECONDS * LINES_PER_SECOND).then_some(())
        })
        .await;
    let caught_up = started.elapsed();
    let raw = recorded_frames(&desktop).await;
    let slow: Vec<String> = raw
        .iter()
        .scan(0.0, |at, &f| {
            *at += f;
            Some((*at, f))
        })
        .filter(|&(_, f)| f > 50.0)
        .map(|(at, f)| format!("{f:.0} ms at {:.1} s", at / 1000.0))
        .collect();
    let frames = frame_times(&desktop).await;
    let over_50 = frames.iter().filter(|&&f| f > 50.0).count();
    println!(
        "log viewer at {LINES_PER_SECOND} lines/s for {SECONDS} s: {} frames, median {:.1} ms, p99 {:.1} ms, max {:.1} ms, {over_50} over 50 ms; published in {:.1} s, all {} lines shown after {:.1} s",
        frames.len(),
        frames[frames.len() / 2],
        frames[(frames.len() * 99 / 100).min(frames.len() - 1)],
        frames.last().copied().unwrap_or(0.0),
        publish.as_secs_f64(),
        n,
        caught_up.as_secs_f64(),
    );
    if !slow.is_empty() {
        println!("  frames over 50 ms: {}", slow.join(", "));
    }
    desktop.close().await;
}

/// The frame intervals the UI recorded since the last reset, in order.
async fn recorded_frames(desktop: &Desktop) -> Vec<f64> {
    let frames = desktop
        .client
        .execute("return window.__pierFrames;", vec![])
        .await
        .unwrap();
    frames
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_f64())
        .collect()
}

/// The frame intervals the UI recorded since the last reset, sorted.
async fn frame_times(desktop: &Desktop) -> Vec<f64> {
    let mut frames = recorded_frames(desktop).await;
    frames.sort_by(|a, b| a.partial_cmp(b).unwrap());
    frames
}

async fn reset_frames(desktop: &Desktop) {
    desktop
        .client
        .execute("window.__pierFrames = []; return 0;", vec![])
        .await
        .unwrap();
}

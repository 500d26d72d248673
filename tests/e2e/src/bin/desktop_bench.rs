//! The desktop benchmark (runnable, not a test): cold start to first paint, idle memory of
//! the app with all its processes (PSS) beside the same figure for WebKit's MiniBrowser on
//! an empty page (the floor under any WebKitGTK app here), and the log viewer's frame times
//! while 10,000 lines a second arrive through Redis for 10 s (100,000 lines). Goals:
//! ≤ 1.5 s, a share of ≤ 30 MB above MiniBrowser's, no frame over 50 ms. Usage:
//! `desktop_bench PATH_TO_APP` (tests/bench/desktop.sh builds the release app and runs this).

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

    let others = other_webkit_processes();
    if others > 0 {
        println!(
            "warning: {others} other WebKit processes are running; PSS splits shared pages with them, so the memory figures below read low (close them and run again)"
        );
    }
    let settle = Duration::from_secs(8);
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config.toml").display().to_string();
    let store = home.path().join("store").display().to_string();
    let app_env = [
        ("PIER_CONFIG", config.as_str()),
        ("PIER_STORE", store.as_str()),
        ("PIER_PORT", "0"),
    ];
    let app_memory = pier_e2e::idle_memory(&app, &[], &app_env, settle);
    print_memory("idle memory of the app", &app_memory);
    let peer_env = [("WEBKIT_DISABLE_COMPOSITING_MODE", "1")];
    let floor = pier_e2e::idle_memory(
        std::path::Path::new(pier_e2e::MINI_BROWSER),
        &["about:blank"],
        &peer_env,
        settle,
    );
    print_memory(
        "peer: WebKit's MiniBrowser on about:blank, compositing off as in the app",
        &floor,
    );
    print_share_above_floor(&app_memory, &floor);

    let redis = pier_tests::Redis::start();
    let desktop = Desktop::launch_as_shipped(&app, &[]).await;
    desktop.find("#app[data-ready]").await;
    print_wasm_memory(&desktop, "at start").await;
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
    let work = recorded_work(&desktop).await;
    let first = raw.first().map_or(0.0, |&(at, interval)| at - interval);
    let slow: Vec<String> = raw
        .iter()
        .filter(|&&(_, interval)| interval > 50.0)
        .map(|&(at, interval)| {
            format!(
                "{interval:.0} ms at {:.1} s ({})",
                (at - first) / 1000.0,
                busy_during(&work, at - interval, at)
            )
        })
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
        println!("  frames over 50 ms, with what the UI thread ran during them:");
        for frame in slow {
            println!("    {frame}");
        }
    }
    print_wasm_memory(&desktop, "with the 100,000 lines shown").await;
    desktop.close().await;
}

/// WebKit processes already running (another app's window, a test suite): the memory
/// measured next shares library pages with them.
fn other_webkit_processes() -> usize {
    std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .flatten()
                .filter(|entry| {
                    std::fs::read_to_string(entry.path().join("comm"))
                        .is_ok_and(|name| name.starts_with("WebKit"))
                })
                .count()
        })
        .unwrap_or(0)
}

/// The size of the UI's wasm memory (the Rust heap inside the web process; it only grows).
async fn print_wasm_memory(desktop: &Desktop, when: &str) {
    let bytes = desktop
        .client
        .execute("return window.__pierWasmBytes();", vec![])
        .await
        .unwrap();
    println!(
        "the UI's wasm memory {when}: {:.1} MB",
        bytes.as_f64().unwrap_or(0.0) / 1e6
    );
}

fn print_memory(what: &str, processes: &[(String, u64)]) {
    let total: u64 = processes.iter().map(|(_, kib)| kib).sum();
    println!(
        "{what} (PSS, all processes, 8 s after launch): {:.1} MB ({})",
        total as f64 / 1024.0,
        processes
            .iter()
            .map(|(name, kib)| format!("{name} {:.1} MB", *kib as f64 / 1024.0))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

/// Which of a WebKitGTK program's processes `name` is: the program's own, its web process or
/// its network process. Names are the kernel's, cut to 15 bytes ("WebKitWebProces").
fn process_role(name: &str) -> &'static str {
    if name.starts_with("WebKitWebProc") {
        "web process"
    } else if name.starts_with("WebKitNetwork") {
        "network process"
    } else {
        "app process"
    }
}

/// Pier's share: what the app's processes take above MiniBrowser's, role by role (the goal is
/// at most 30 MB; the floor itself is WebKit's, whatever the app).
fn print_share_above_floor(app: &[(String, u64)], floor: &[(String, u64)]) {
    let by_role = |processes: &[(String, u64)], role: &str| -> f64 {
        processes
            .iter()
            .filter(|(name, _)| process_role(name) == role)
            .map(|(_, kib)| *kib as f64 / 1024.0)
            .sum()
    };
    let roles = ["app process", "web process", "network process"];
    let parts: Vec<String> = roles
        .iter()
        .map(|role| format!("{role} {:+.1}", by_role(app, role) - by_role(floor, role)))
        .collect();
    let share: f64 = roles
        .iter()
        .map(|role| by_role(app, role) - by_role(floor, role))
        .sum();
    println!(
        "Pier's share above the WebKit floor: {share:.1} MB ({}); goal <= 30 MB: {}",
        parts.join(", "),
        if share <= 30.0 { "met" } else { "not met" }
    );
}

/// The frames the UI recorded since the last reset, in order: (when it was drawn, the
/// interval since the one before), in ms by the page's clock.
async fn recorded_frames(desktop: &Desktop) -> Vec<(f64, f64)> {
    let frames = desktop
        .client
        .execute("return window.__pierFrames;", vec![])
        .await
        .unwrap();
    frames
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|frame| Some((frame.get(0)?.as_f64()?, frame.get(1)?.as_f64()?)))
        .collect()
}

/// The frame intervals the UI recorded since the last reset, sorted.
async fn frame_times(desktop: &Desktop) -> Vec<f64> {
    let mut frames: Vec<f64> = recorded_frames(desktop)
        .await
        .into_iter()
        .map(|(_, interval)| interval)
        .collect();
    frames.sort_by(|a, b| a.partial_cmp(b).unwrap());
    frames
}

/// What kept the UI thread busy since the last reset (the UI's bridge notes it): (when it
/// started, what, how long), in ms.
async fn recorded_work(desktop: &Desktop) -> Vec<(f64, String, f64)> {
    let work = desktop
        .client
        .execute("return window.__pierWork;", vec![])
        .await
        .unwrap();
    work.as_array()
        .unwrap()
        .iter()
        .filter_map(|item| {
            Some((
                item.get(0)?.as_f64()?,
                item.get(1)?.as_str()?.to_string(),
                item.get(2)?.as_f64()?,
            ))
        })
        .collect()
}

/// The work that started between `from` and `to`, summed by kind ("3 × pier://event 12 ms").
fn busy_during(work: &[(f64, String, f64)], from: f64, to: f64) -> String {
    let mut kinds: Vec<(&str, usize, f64)> = Vec::new();
    for (_, what, took) in work.iter().filter(|(at, _, _)| *at >= from && *at < to) {
        match kinds.iter_mut().find(|(kind, _, _)| kind == what) {
            Some((_, count, total)) => {
                *count += 1;
                *total += took;
            }
            None => kinds.push((what, 1, *took)),
        }
    }
    if kinds.is_empty() {
        return "no noted work: layout, paint or WebKit itself".into();
    }
    kinds
        .iter()
        .map(|(what, count, total)| format!("{count} × {what} {total:.0} ms"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Starts the UI's recording of frames and busy work (boot.js), or empties it.
async fn reset_frames(desktop: &Desktop) {
    desktop
        .client
        .execute("window.__pierRecord(); return 0;", vec![])
        .await
        .unwrap();
}

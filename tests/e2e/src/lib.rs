//! The desktop app under WebDriver, for the end-to-end tests and the desktop benchmark: a
//! private Xvfb on a free display, `tauri-driver` (with `WebKitWebDriver`) on free ports,
//! the app launched by the session with its own config folder, store and proxy port, and
//! helpers to click, type, wait, screenshot, fetch served URLs and measure memory (PSS).

pub mod installed;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use fantoccini::{Client, Locator, elements::Element};

/// How long any one UI condition may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub struct Desktop {
    pub client: Client,
    /// The in-process proxy's port (`PIER_PORT` given to the app).
    pub port: u16,
    /// Holds the app's config folder and store.
    pub home: tempfile::TempDir,
    driver: Child,
    xvfb: Child,
    pub display: String,
    /// When the WebDriver session (which launches the app) was asked for, once the driver
    /// was listening: cold start is measured from here.
    pub started: Instant,
}

/// What one launch was given, for the command that starts its WebDriver.
pub struct Launch {
    /// The private X display (`:N`; its socket is in `/tmp/.X11-unix`).
    pub display: String,
    /// The port the app's proxy is to serve on (`PIER_PORT`).
    pub port: u16,
    /// tauri-driver's port and WebKitWebDriver's, both free on loopback.
    pub driver_port: u16,
    pub native_port: u16,
    /// An empty folder of this launch's own, removed with it.
    pub home: PathBuf,
}

impl Launch {
    /// tauri-driver's arguments: its port and the native driver's.
    pub fn driver_args(&self) -> [String; 4] {
        [
            "--port".into(),
            self.driver_port.to_string(),
            "--native-port".into(),
            self.native_port.to_string(),
        ]
    }
}

/// A program on this machine: in `~/.cargo/bin` or on the PATH; fails with `hint` otherwise.
pub fn program(name: &str, hint: &str) -> PathBuf {
    let cargo_bin = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default()
        .join(".cargo/bin")
        .join(name);
    if cargo_bin.exists() {
        return cargo_bin;
    }
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        if dir.join(name).exists() {
            return dir.join(name);
        }
    }
    panic!("`{name}` is missing: {hint} (tests/scripts/setup.sh installs it)");
}

/// Starts Xvfb on the first free display from 90 up.
fn start_xvfb() -> (Child, String) {
    for number in 90..190 {
        if Path::new(&format!("/tmp/.X{number}-lock")).exists()
            || Path::new(&format!("/tmp/.X11-unix/X{number}")).exists()
        {
            continue;
        }
        let display = format!(":{number}");
        let mut child = Command::new(program("Xvfb", "apt-get install xvfb"))
            .args([
                display.as_str(),
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb starts");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if Path::new(&format!("/tmp/.X11-unix/X{number}")).exists() {
                return (child, display);
            }
            if let Ok(Some(_)) = child.try_wait() {
                break; // lost a race for this display; try the next one
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("no free X display between :90 and :189");
}

impl Desktop {
    /// Launches `app` under WebDriver with a fresh config folder and local store; `env`
    /// adds variables for the app. WebKit's accelerated compositing is turned back on (the
    /// app turns it off to save memory, see `src-tauri/src/lean.rs`): WebKitWebDriver's
    /// screenshot never returns for a non-composited view under Xvfb.
    pub async fn launch(app: &Path, env: &[(&str, String)]) -> Desktop {
        let mut env = env.to_vec();
        env.push(("WEBKIT_DISABLE_COMPOSITING_MODE", "0".to_string()));
        Desktop::launch_as_shipped(app, &env).await
    }

    /// As [`Desktop::launch`], with WebKit as the app configures it (no screenshots).
    pub async fn launch_as_shipped(app: &Path, env: &[(&str, String)]) -> Desktop {
        let app = app
            .canonicalize()
            .expect("the app binary exists (cargo builds it)");
        let application = app.display().to_string();
        Desktop::launch_through(&application, |launch| {
            let mut command = Command::new(program("tauri-driver", "cargo install tauri-driver"));
            command
                .args(launch.driver_args())
                .env("DISPLAY", &launch.display)
                .env("PIER_CONFIG", launch.home.join("config/config.toml"))
                .env("PIER_STORE", launch.home.join("store"))
                .env("PIER_PORT", launch.port.to_string())
                // The window's remembered place (and anything else the shell keeps in the
                // platform's config folder) stays in this launch's home, not the user's.
                .env("XDG_CONFIG_HOME", launch.home.join("xdg-config"))
                .env_remove("WAYLAND_DISPLAY");
            for (name, value) in env {
                command.env(name, value);
            }
            command
        })
        .await
    }

    /// Starts a private display and the WebDriver that `driver` makes for this [`Launch`]
    /// (anywhere that shares this machine's network and X socket: a container, say), then
    /// opens a session on it, which starts `application` (its path as the driver sees it).
    pub async fn launch_through(
        application: &str,
        driver: impl FnOnce(&Launch) -> Command,
    ) -> Desktop {
        let home = tempfile::tempdir().unwrap();
        let (xvfb, display) = start_xvfb();
        let launch = Launch {
            display,
            port: pier_tests::free_port(),
            driver_port: pier_tests::free_port(),
            native_port: pier_tests::free_port(),
            home: home.path().to_path_buf(),
        };
        let driver = driver(&launch)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the WebDriver starts");
        let capabilities: serde_json::Map<String, serde_json::Value> =
            serde_json::from_value(serde_json::json!({
                "browserName": "wry",
                "tauri:options": { "application": application }
            }))
            .unwrap();
        let driver_port = launch.driver_port;
        let url = format!("http://127.0.0.1:{driver_port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", driver_port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "tauri-driver did not listen on {driver_port}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let started = Instant::now();
        let client = loop {
            match fantoccini::ClientBuilder::native()
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(error) if Instant::now() > deadline => panic!("no WebDriver session: {error}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        Desktop {
            client,
            port: launch.port,
            home,
            driver,
            xvfb,
            display: launch.display,
            started,
        }
    }

    /// The deployment the Deploy screen reports once the deploy it runs has finished.
    pub async fn finished_deployment(&self, limit: Duration) -> String {
        self.until_within(limit, "the deploy to finish", || async {
            let result = self
                .client
                .find(Locator::Css("#deploy-result"))
                .await
                .ok()?;
            result.attr("data-deployment").await.ok().flatten()
        })
        .await
    }

    pub async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("`{css}` did not appear: {e}"))
    }

    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("cannot click `{css}`: {e}"));
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let input = self.find(css).await;
        input.clear().await.unwrap();
        input
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("cannot type into `{css}`: {e}"));
    }

    /// Polls `check` until it gives `Some`, or fails the test saying what was awaited.
    pub async fn until<T, F, Fut>(&self, what: &str, check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        self.until_within(PATIENCE, what, check).await
    }

    /// As [`Desktop::until`], for work known to take longer.
    pub async fn until_within<T, F, Fut>(&self, limit: Duration, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(value) = check().await {
                return value;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap_or_default()
    }

    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.find(css).await.attr(name).await.ok().flatten()
    }

    pub async fn count(&self, css: &str) -> usize {
        self.client
            .find_all(Locator::Css(css))
            .await
            .map(|all| all.len())
            .unwrap_or(0)
    }

    /// Saves a PNG of the window to `$PIER_SCREENSHOT_DIR/<name>.png` (or a temp folder) and
    /// returns its path; fails unless it is a real PNG.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self
            .client
            .screenshot()
            .await
            .expect("WebDriver takes a screenshot");
        assert!(
            png.starts_with(b"\x89PNG"),
            "the screenshot of {name} is not a PNG"
        );
        let dir = std::env::var_os("PIER_SCREENSHOT_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| self.home.path().join("screenshots"));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// Presses Ctrl+`key` as a user does: the modifier held while the key goes down, on the
    /// page's body (where a window-wide shortcut is heard).
    pub async fn press_ctrl(&self, key: &str) {
        let body = self.find("body").await;
        body.send_keys(&(fantoccini::key::Key::Control + key))
            .await
            .unwrap_or_else(|e| panic!("Ctrl+{key} not pressed: {e}"));
    }

    /// The serious and critical accessibility violations axe-core (`PIER_AXE_JS`, which
    /// tests/scripts/setup.sh installs from npm) finds in the window as it is now, one line
    /// each: the rule, its impact, what it asks for, and the elements that break it.
    pub async fn accessibility_violations(&self) -> Vec<String> {
        let path = std::env::var_os("PIER_AXE_JS").map(PathBuf::from).expect(
            "PIER_AXE_JS names axe.min.js (tests/scripts/setup.sh installs axe-core from npm)",
        );
        let axe = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        self.client
            .execute(&format!("{axe}\nreturn typeof window.axe;"), vec![])
            .await
            .expect("axe-core loads in the window");
        let found = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                   .then(result => done(result.violations
                     .filter(v => v.impact === 'serious' || v.impact === 'critical')
                     .map(v => `${v.id} (${v.impact}): ${v.help}: ` +
                        v.nodes.map(n => n.target.join(' ')).join(', '))))
                   .catch(error => done([`axe-core failed: ${error}`]));",
                vec![],
            )
            .await
            .expect("axe-core runs");
        serde_json::from_value(found).expect("axe's findings as strings")
    }

    /// Ends the session (the app exits) and stops the driver and the display.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        stop(&mut self.driver);
        stop(&mut self.xvfb);
    }
}

fn stop(child: &mut Child) {
    // SIGTERM lets tauri-driver take WebKitWebDriver down with it.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for Desktop {
    fn drop(&mut self) {
        stop(&mut self.driver);
        stop(&mut self.xvfb);
    }
}

/// `roots` and every process under them, sorted.
fn with_descendants(mut all: Vec<u32>) -> Vec<u32> {
    let parents = process_parents();
    let mut i = 0;
    while i < all.len() {
        let parent = all[i];
        all.extend(
            parents
                .iter()
                .filter(|(_, p)| **p == parent)
                .map(|(c, _)| *c),
        );
        i += 1;
    }
    all.sort();
    all.dedup();
    all
}

fn process_parents() -> std::collections::HashMap<u32, u32> {
    let mut parents = std::collections::HashMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The command may hold spaces and parentheses; fields resume after the last ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
            continue;
        };
        if let Some(ppid) = rest.split_whitespace().nth(1).and_then(|p| p.parse().ok()) {
            parents.insert(pid, ppid);
        }
    }
    parents
}

/// WebKit's own minimal browser, the peer for the app's memory: what any WebKitGTK window
/// costs on this machine before an app adds anything.
pub const MINI_BROWSER: &str = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser";

/// Runs `program args` alone under a private Xvfb with `env` and no WebDriver (as a user
/// starts it), waits `settle`, and returns each of its processes' (name, PSS in KiB). Alone,
/// because PSS splits a page shared by two running programs between them and would flatter
/// both.
pub fn idle_memory(
    program: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    settle: Duration,
) -> Vec<(String, u64)> {
    let (mut xvfb, display) = start_xvfb();
    let mut child = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .env("DISPLAY", &display)
        .env_remove("WAYLAND_DISPLAY")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|error| panic!("{} does not start: {error}", program.display()));
    std::thread::sleep(settle);
    let measured = with_descendants(vec![child.id()])
        .iter()
        .map(|&pid| {
            let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            (name.trim().to_string(), pss_kib(pid))
        })
        .collect();
    stop(&mut child);
    stop(&mut xvfb);
    measured
}

/// Proportional set size in KiB (`/proc/<pid>/smaps_rollup`): shared pages split fairly.
fn pss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("Pss:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// GETs a served URL (`http://<label>.localhost:<port>/path`) on loopback, as a browser
/// resolving `*.localhost` does.
pub fn fetch(url: &str) -> pier_tests::http::Response {
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let port: u16 = authority
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .expect("a port");
    pier_tests::http::get(([127, 0, 0, 1], port).into(), authority, path)
}

/// A private D-Bus session bus with a notification service on it
/// (`tests/fixtures/notification_server.py`), so a test sees the OS notifications the app
/// raises. Give the app `env()`; read what it showed with `shown()`.
pub struct NotificationBus {
    address: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
    daemon: Child,
    server: Child,
}

impl NotificationBus {
    pub fn start() -> NotificationBus {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("bus");
        let address = format!("unix:path={}", socket.display());
        let mut daemon = Command::new(program("dbus-daemon", "apt-get install dbus-daemon"))
            .args(["--session", "--nofork", "--nopidfile"])
            .arg(format!("--address={address}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon starts");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() {
            assert!(Instant::now() < deadline, "dbus-daemon made no socket");
            std::thread::sleep(Duration::from_millis(20));
        }
        let log = dir.path().join("notifications.jsonl");
        let python = pier_tests::repo_root().join(".venv/bin/python");
        let mut server = Command::new(&python)
            .arg(pier_tests::repo_root().join("tests/fixtures/notification_server.py"))
            .arg(&log)
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "{} runs ({e}); run tests/scripts/setup.sh",
                    python.display()
                )
            });
        let mut ready = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(server.stdout.take().unwrap()),
            &mut ready,
        )
        .unwrap();
        if ready.trim() != "ready" {
            let _ = daemon.kill();
            panic!("the notification service did not start (is dbus-next in .venv?)");
        }
        NotificationBus {
            address,
            log,
            _dir: dir,
            daemon,
            server,
        }
    }

    /// What the app needs to reach this bus.
    pub fn env(&self) -> (&'static str, String) {
        ("DBUS_SESSION_BUS_ADDRESS", self.address.clone())
    }

    /// Every notification shown so far, as (summary, body).
    pub fn shown(&self) -> Vec<(String, String)> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .map(|n| {
                (
                    n["summary"].as_str().unwrap_or_default().to_string(),
                    n["body"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }
}

impl Drop for NotificationBus {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

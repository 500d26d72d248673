//! Updates as a user meets them, through tauri-plugin-updater and a real WebKit window.
//!
//! The test command builds the app with the tests' updater key (`tests/fixtures/updater/`,
//! given as `TAURI_CONFIG` the way the release workflow gives the real one), so this build
//! checks signatures against a real public key. A loopback HTTP server (Python's
//! `http.server`) publishes a `latest.json` for 0.1.1 in the format the release workflow
//! uploads, beside the `.deb` Tauri's bundler made; the app is pointed at it with
//! `PIER_UPDATE_ENDPOINT`. At start the window offers "Update to 0.1.1" with the release notes
//! (screenshot `update-offered`; axe-core finds no serious or critical violation) and installs
//! nothing by itself. The `.deb` on offer is signed
//! with another key (`tauri signer`): one click downloads it, the signature check refuses it
//! with a message that says so, the offer goes away, and the running app and its binary stay
//! as they were.
//!
//! The successful update runs where an update really lands, an installed `.deb`: 0.1.0 is
//! installed with apt in a clean Debian container (`pier_e2e::installed`) and started there by
//! a user; the release on offer is the app compiled as 0.1.1 (run-all.sh builds it), bundled by
//! Tauri as `Pier_0.1.1_amd64.deb` and signed with the tests' key. One click: the updater
//! downloads and verifies it, installs it with `sudo dpkg -i` (the container's stand-in for the
//! desktop's password prompt), and restarts; dpkg then says 0.1.1, a new process runs from
//! `/usr/bin/pier-desktop`, whose bytes are the 0.1.1 package's, and it serves again.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use pier_e2e::Desktop;
use pier_e2e::installed::Debian;
use pier_tests::repo_root;

fn app() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_pier-desktop"))
}

fn tauri_cli() -> PathBuf {
    PathBuf::from(pier_tests::run_script(
        "tests/bundle/tauri-cli.sh",
        &[],
        &[],
        "no Tauri CLI",
    ))
}

fn run(command: &mut Command) {
    let output = command.output().expect("the command runs");
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `python3 -m http.server` over `dir` on a free loopback port; its request log in `log`.
struct FileServer {
    child: Child,
    port: u16,
}

impl FileServer {
    fn start(dir: &Path, log: &Path) -> FileServer {
        let port = pier_tests::free_port();
        let child = Command::new("python3")
            .args(["-m", "http.server", "--bind", "127.0.0.1"])
            .arg(port.to_string())
            .arg("--directory")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .expect("python3 runs");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "http.server did not listen"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        FileServer { child, port }
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `.deb` that `tests/bundle/bundle.sh --debug` makes of `binary` (this build's app when
/// `None`) as `version`, in `out`.
fn bundled_deb(out: &Path, binary: Option<&Path>, version: &str) -> PathBuf {
    let (deb, _rpm) = pier_e2e::installed::bundle(out, binary, Some(version));
    assert!(
        deb.file_name()
            .is_some_and(|name| name.to_string_lossy() == format!("Pier_{version}_amd64.deb")),
        "{deb:?}"
    );
    deb
}

/// A release folder as the release workflow publishes one: `deb` signed with `key` (a
/// `tauri signer` private key without a password), and `latest.json` offering it as 0.1.1.
fn publish(site: &Path, deb: &Path, key: &Path, server_port: u16) {
    std::fs::create_dir_all(site).unwrap();
    let offered = site.join("Pier_0.1.1_amd64.deb");
    std::fs::copy(deb, &offered).unwrap();
    run(Command::new(tauri_cli())
        .args(["signer", "sign", "-p", ""])
        .arg("-f")
        .arg(key)
        .arg(&offered));
    let signature = std::fs::read_to_string(offered.with_extension("deb.sig")).unwrap();
    let url = format!("http://127.0.0.1:{server_port}/Pier_0.1.1_amd64.deb");
    let platform = serde_json::json!({ "signature": signature, "url": url });
    let latest = serde_json::json!({
        "version": "0.1.1",
        "notes": "Faster deploys.\nThe Logs screen lists recent builds.",
        "pub_date": "2026-12-01T12:00:00Z",
        "platforms": {
            "linux-x86_64": platform.clone(),
            "linux-x86_64-deb": platform,
        }
    });
    std::fs::write(site.join("latest.json"), latest.to_string()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_release_is_offered_and_one_signed_with_another_key_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let tauri = tauri_cli();
    let deb = bundled_deb(&work.path().join("bundles"), None, "0.1.1");

    // The release on offer is signed with a key that is not the one this build carries.
    let other_key = work.path().join("other.key");
    run(Command::new(&tauri)
        .args(["signer", "generate", "--ci", "-p", ""])
        .arg("-w")
        .arg(&other_key));
    let site = work.path().join("releases");
    std::fs::create_dir_all(&site).unwrap();
    let server_log = work.path().join("requests.log");
    let server = FileServer::start(&site, &server_log);
    publish(&site, &deb, &other_key, server.port);

    let binary_before = std::fs::read(app()).unwrap();
    let endpoint = format!("http://127.0.0.1:{}/latest.json", server.port);
    let desktop = Desktop::launch(app(), &[("PIER_UPDATE_ENDPOINT", endpoint)]).await;

    // Offered at start, with its notes; nothing is fetched beyond latest.json until asked.
    let banner = desktop.find("#update-banner[data-version='0.1.1']").await;
    let text = banner.text().await.unwrap();
    assert!(text.contains("Pier 0.1.1 is available"), "{text}");
    assert!(text.contains("(this is 0.1.0)"), "{text}");
    assert_eq!(
        desktop.text("#update-notes").await,
        "Faster deploys.\nThe Logs screen lists recent builds."
    );
    assert_eq!(desktop.text("#update-install").await, "Update to 0.1.1");
    desktop.screenshot("update-offered").await;
    let violations = desktop.accessibility_violations().await;
    assert!(violations.is_empty(), "{}", violations.join("\n"));
    let requests = std::fs::read_to_string(&server_log).unwrap();
    assert!(requests.contains("GET /latest.json"), "{requests}");
    assert!(!requests.contains(".deb"), "downloaded unasked: {requests}");

    // The user's click: downloaded, refused at the signature check, and said so.
    desktop.click("#update-install").await;
    let error = desktop.text("#error-banner").await;
    assert!(
        error.contains("The update to 0.1.1 is not signed with Pier's key, so it was not installed. Pier 0.1.0 keeps running."),
        "{error}"
    );
    let requests = std::fs::read_to_string(&server_log).unwrap();
    assert!(requests.contains("GET /Pier_0.1.1_amd64.deb"), "{requests}");
    assert_eq!(desktop.count("#update-banner").await, 0);
    desktop.screenshot("update-refused").await;
    // The same app goes on: its window answers and its binary is untouched.
    desktop.click("#nav-deploy").await;
    desktop.find("#deploy-path").await;
    assert!(std::fs::read(app()).unwrap() == binary_before);
    desktop.close().await;
    drop(server);
}

/// The release after this one, as run-all.sh compiled it (0.1.1, with the tests' key).
fn next_release_binary() -> PathBuf {
    let binary = app().parent().unwrap().join("updater-next/pier-desktop");
    assert!(
        binary.is_file(),
        "{} is missing: the test command (tests/run-all.sh) compiles the app as 0.1.1 there",
        binary.display()
    );
    binary
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_installed_app_updates_itself_on_a_click_and_restarts_as_the_new_version() {
    let work = tempfile::tempdir().unwrap();
    let current = bundled_deb(&work.path().join("current"), None, "0.1.0");
    let next = bundled_deb(
        &work.path().join("next"),
        Some(&next_release_binary()),
        "0.1.1",
    );
    let site = work.path().join("releases");
    std::fs::create_dir_all(&site).unwrap();
    let server_log = work.path().join("requests.log");
    let server = FileServer::start(&site, &server_log);
    let tests_key = repo_root().join("tests/fixtures/updater/pier-tests.key");
    publish(&site, &next, &tests_key, server.port);

    let debian = Debian::start(current.parent().unwrap());
    debian.apt_install("/pkg/Pier_0.1.0_amd64.deb");
    assert_eq!(debian.installed_version("pier"), "0.1.0");
    debian.add_user("pat");
    // Installing a package needs root: the updater asks through pkexec, then a password dialog
    // for sudo, then sudo itself. This container has only sudo, which lets pat run dpkg without
    // a password, as an administrator's desktop session would after the password prompt.
    debian.apt_install("sudo");
    debian.shell(
        "echo 'pat ALL=(root) NOPASSWD: /usr/bin/dpkg' >/etc/sudoers.d/pier-updates \
         && chmod 0440 /etc/sudoers.d/pier-updates",
    );
    let endpoint = format!("http://127.0.0.1:{}/latest.json", server.port);
    let desktop = debian
        .launch("pat", &[("PIER_UPDATE_ENDPOINT", endpoint)])
        .await;
    desktop.find("#update-banner[data-version='0.1.1']").await;
    let before = debian.shell("pgrep -u pat -x pier-desktop");
    assert!(!before.is_empty(), "the app is not running as pat");
    desktop.click("#update-install").await;

    // Installed by dpkg, and running again from the new binary.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let restarted = loop {
        let version = debian.shell("dpkg-query -W -f '${Version}' pier");
        let running = debian.shell("pgrep -u pat -x pier-desktop || true");
        // For a moment both the old process and its replacement run: wait for the old one to be
        // gone, or the check below may read the executable of a process that just exited.
        let old_gone = !running
            .lines()
            .any(|pid| before.lines().any(|old| old == pid));
        if version == "0.1.1" && !running.is_empty() && old_gone {
            break running;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no restart as 0.1.1 within 60 s: dpkg says {version}, pier-desktop runs as {running:?} (was {before})"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    let pid = restarted.lines().next().unwrap();
    // Still running a moment later: a restart, not a start that dies.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let processes = debian.shell("ps -eo pid,ppid,user,stat,lstart,args");
    // Read as pat: in the container root may not look into another user's process.
    let exe = debian.shell(&format!(
        "runuser -u pat -- readlink /proc/{pid}/exe || true"
    ));
    assert_eq!(exe, "/usr/bin/pier-desktop", "{processes}");
    let installed = debian.shell("sha256sum /usr/bin/pier-desktop | cut -d' ' -f1");
    let shipped = {
        let output = Command::new("bash")
            .args(["-o", "pipefail", "-c"])
            .arg("dpkg-deb --fsys-tarfile \"$0\" | tar -xO usr/bin/pier-desktop | sha256sum | cut -d' ' -f1")
            .arg(&next)
            .output()
            .expect("dpkg-deb runs");
        assert!(
            output.status.success(),
            "the 0.1.1 package holds no /usr/bin/pier-desktop"
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    };
    assert_eq!(installed, shipped, "the running binary is not 0.1.1's");
    // The restarted app serves again on the port it was given.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", desktop.port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the restarted app does not serve on {}",
            desktop.port
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let requests = std::fs::read_to_string(&server_log).unwrap();
    assert!(requests.contains("GET /Pier_0.1.1_amd64.deb"), "{requests}");
    drop(desktop);
    drop(debian);
}

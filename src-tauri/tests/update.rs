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

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use pier_e2e::Desktop;
use pier_tests::repo_root;

fn app() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_pier-desktop"))
}

fn tauri_cli() -> PathBuf {
    let output = Command::new("bash")
        .arg(repo_root().join("tests/bundle/tauri-cli.sh"))
        .stderr(Stdio::inherit())
        .output()
        .expect("bash runs");
    assert!(
        output.status.success(),
        "no Tauri CLI; run `bash tests/bundle/tauri-cli.sh`"
    );
    PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_release_is_offered_and_one_signed_with_another_key_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let tauri = tauri_cli();
    let bundles = work.path().join("bundles");
    let output = Command::new("bash")
        .arg(repo_root().join("tests/bundle/bundle.sh"))
        .arg("--debug")
        .env("PIER_BUNDLE_DIR", &bundles)
        .stderr(Stdio::inherit())
        .output()
        .expect("bash runs");
    assert!(output.status.success(), "bundle.sh --debug failed");
    let deb = PathBuf::from(
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .next()
            .expect("the .deb's path"),
    );

    // The release on offer: the .deb under 0.1.1's name, signed with a key that is not the
    // one this build carries.
    let site = work.path().join("releases");
    std::fs::create_dir_all(&site).unwrap();
    let offered = site.join("Pier_0.1.1_amd64.deb");
    std::fs::copy(&deb, &offered).unwrap();
    let other_key = work.path().join("other.key");
    run(Command::new(&tauri)
        .args(["signer", "generate", "--ci", "-p", ""])
        .arg("-w")
        .arg(&other_key));
    run(Command::new(&tauri)
        .args(["signer", "sign", "-p", ""])
        .arg("-f")
        .arg(&other_key)
        .arg(&offered));
    let signature = std::fs::read_to_string(offered.with_extension("deb.sig")).unwrap();
    let server_log = work.path().join("requests.log");
    let server = FileServer::start(&site, &server_log);
    let url = format!("http://127.0.0.1:{}/Pier_0.1.1_amd64.deb", server.port);
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

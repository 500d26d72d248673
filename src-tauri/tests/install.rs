//! The desktop app as a user gets it: installers made by Tauri's own bundler, installed with
//! apt on a clean Debian, started there by a new user.
//!
//! `tests/bundle/bundle.sh --debug` bundles the debug build the tests already made (no second
//! compile) into a `.deb` and an `.rpm`. The `.deb` goes into a stand-in for `debian:bookworm`
//! made from Debian packages (`tests/containers/bases.sh`): `apt-get install ./Pier_….deb`
//! resolves the app's dependencies (WebKitGTK and the rest) from the mirror, with no
//! recommends, so the package's own `Depends` must be enough: the installed binary then finds
//! every library it links. A new user with an empty home starts `/usr/bin/pier-desktop` under
//! a private Xvfb (WebKitWebDriver from Debian's `webkit2gtk-driver`, tauri-driver from this
//! machine); the window shows the first-run screen of the embedded default (screenshot
//! `installed-first-run`), and one click deploys the example site the package carries, which
//! the installed app serves. The `.rpm` is read back with rpm(8), which no one here wrote: its
//! files and what it requires.

use std::path::{Path, PathBuf};
use std::process::Command;

use pier_e2e::{Desktop, Launch, fetch};
use pier_tests::containers::{Engine, cache_dir};
use pier_tests::repo_root;

/// Runs the bundle script over this build's debug binary; the `.deb` and the `.rpm` in `out`.
fn bundle(out: &Path) -> (PathBuf, PathBuf) {
    let output = Command::new("bash")
        .arg(repo_root().join("tests/bundle/bundle.sh"))
        .arg("--debug")
        .env("PIER_BUNDLE_DIR", out)
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("bash runs");
    assert!(
        output.status.success(),
        "the bundles were not made; run `bash tests/bundle/bundle.sh --debug`"
    );
    let printed = String::from_utf8_lossy(&output.stdout);
    let mut paths = printed.lines().map(PathBuf::from);
    let deb = paths.next().expect("the .deb's path");
    let rpm = paths.next().expect("the .rpm's path");
    assert!(deb.extension().is_some_and(|e| e == "deb"), "{deb:?}");
    assert!(rpm.extension().is_some_and(|e| e == "rpm"), "{rpm:?}");
    (deb, rpm)
}

fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deb_installs_with_apt_on_a_clean_debian_and_the_app_deploys_and_serves_there() {
    let out = tempfile::tempdir().unwrap();
    let (deb, rpm) = bundle(out.path());

    // The .rpm, read by rpm itself: the app, its desktop entry and icon, and WebKitGTK 4.1.
    let files = run("rpm", &["-qlp", rpm.to_str().unwrap()]);
    for expected in [
        "/usr/bin/pier-desktop",
        "/usr/share/applications/Pier.desktop",
        "/usr/share/icons/hicolor/128x128/apps/pier-desktop.png",
    ] {
        assert!(
            files.lines().any(|line| line == expected),
            "the .rpm lacks {expected}: {files}"
        );
    }
    let requires = run("rpm", &["-qp", "--requires", rpm.to_str().unwrap()]);
    assert!(
        requires
            .lines()
            .any(|line| line.starts_with("libwebkit2gtk-4.1.so.0")),
        "the .rpm does not require WebKitGTK 4.1: {requires}"
    );

    let engine = Engine::get();
    let base = engine.debian_base();
    let apt_archives = cache_dir().join("apt-archives");
    std::fs::create_dir_all(&apt_archives).unwrap();
    let tauri_driver = pier_e2e::program("tauri-driver", "cargo install tauri-driver");
    // The X sockets' folder is shared with the container before the display starts; made here
    // as X makes it (sticky, open to all), not by the engine as a root-only folder.
    let x11_sockets = Path::new("/tmp/.X11-unix");
    if !x11_sockets.exists() {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(x11_sockets).unwrap();
        std::fs::set_permissions(x11_sockets, std::fs::Permissions::from_mode(0o1777)).unwrap();
    }
    let mounts = [
        format!("{}:/pkg:ro", deb.parent().unwrap().display()),
        // Downloaded packages are kept between runs; apt still resolves and installs them.
        format!("{}:/var/cache/apt/archives", apt_archives.display()),
        "/tmp/.X11-unix:/tmp/.X11-unix".to_string(),
        format!("{}:/usr/local/bin/tauri-driver:ro", tauri_driver.display()),
    ];
    let mut args = vec!["--network", "host"];
    for mount in &mounts {
        args.extend(["-v", mount.as_str()]);
    }
    args.extend([base.as_str(), "sleep", "infinity"]);
    let debian = engine
        .run_detached(&args)
        .expect("the Debian container starts");
    let shell = |script: &str| {
        debian
            .exec(&["sh".into(), "-c".into(), script.into()])
            .unwrap_or_else(|e| panic!("`{script}` in the Debian container: {e}"))
    };

    assert!(
        shell("dpkg-query -W libwebkit2gtk-4.1-0 2>/dev/null || true").is_empty(),
        "the clean Debian already has WebKitGTK"
    );
    let package = format!("/pkg/{}", deb.file_name().unwrap().to_string_lossy());
    shell(&format!(
        "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
         --no-install-recommends {package} >/tmp/apt.log 2>&1 || (cat /tmp/apt.log; exit 1)"
    ));
    let status = shell("dpkg-query -W -f '${Status} ${Version}' pier");
    assert_eq!(status, "install ok installed 0.1.0");
    shell("dpkg-query -W libwebkit2gtk-4.1-0 libgtk-3-0");
    let missing = shell("ldd /usr/bin/pier-desktop | grep 'not found' || true");
    assert!(
        missing.is_empty(),
        "the package's dependencies leave libraries missing:\n{missing}"
    );

    // What the test drives the app with (not part of what a user installs), and the new user.
    shell(
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
         webkit2gtk-driver >/tmp/apt-driver.log 2>&1 || (cat /tmp/apt-driver.log; exit 1)",
    );
    shell("useradd --create-home --shell /bin/bash pat");

    let container = debian.id.clone();
    let client = engine.docker();
    let docker = client.get_program().to_owned();
    let docker_host = client
        .get_envs()
        .find(|(name, _)| *name == "DOCKER_HOST")
        .and_then(|(_, value)| value.map(|v| v.to_owned()));
    let desktop = Desktop::launch_through("/usr/bin/pier-desktop", |launch: &Launch| {
        let mut command = Command::new(&docker);
        if let Some(host) = &docker_host {
            command.env("DOCKER_HOST", host);
        }
        command.args([
            "exec",
            "--user",
            "pat",
            "--workdir",
            "/home/pat",
            "--env",
            "HOME=/home/pat",
            "--env",
            &format!("DISPLAY={}", launch.display),
            "--env",
            &format!("PIER_PORT={}", launch.port),
            // Screenshots need WebKit's compositing back on (see `Desktop::launch`).
            "--env",
            "WEBKIT_DISABLE_COMPOSITING_MODE=0",
            &container,
            "tauri-driver",
        ]);
        command.args(launch.driver_args());
        command
    })
    .await;

    // First run on the embedded default: no projects, the example one click away.
    desktop.find("#deploy-example").await;
    desktop.screenshot("installed-first-run").await;
    desktop.click("#deploy-example").await;
    desktop
        .until("the example's deploy to finish", || async {
            let result = desktop
                .client
                .find(pier_e2e::Locator::Css("#deploy-result"))
                .await
                .ok()?;
            result.attr("data-deployment").await.ok().flatten()
        })
        .await;
    let preview = desktop.text("#deploy-preview-url a").await;
    assert!(preview.starts_with("http://example-"), "{preview}");
    desktop
        .until(&format!("{preview} to be served"), || async {
            let response = fetch(&preview);
            (response.status == 200 && response.text().contains("Hello from Pier")).then_some(())
        })
        .await;
    desktop.screenshot("installed-example-deployed").await;
    // The example and its deployment live in the new user's home, as on any first run.
    let stored = shell("ls /home/pat/.config/pier");
    assert!(stored.contains("example-site"), "{stored}");
    desktop.close().await;
}

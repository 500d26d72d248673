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
//! the installed app serves. `apt-get remove` then takes the app away and leaves the user's
//! config and store as they were. The `.rpm` is read back with rpm(8), which no one here
//! wrote: its files and what it requires.

use std::process::Command;

use pier_e2e::fetch;
use pier_e2e::installed::{Debian, bundle};

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
    let (deb, rpm) = bundle(out.path(), None, None);

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

    let debian = Debian::start(deb.parent().unwrap());
    assert!(
        debian
            .shell("dpkg-query -W libwebkit2gtk-4.1-0 2>/dev/null || true")
            .is_empty(),
        "the clean Debian already has WebKitGTK"
    );
    debian.apt_install(&format!(
        "/pkg/{}",
        deb.file_name().unwrap().to_string_lossy()
    ));
    assert_eq!(debian.installed_version("pier"), "0.1.0");
    debian.installed_version("libwebkit2gtk-4.1-0");
    debian.installed_version("libgtk-3-0");
    let missing = debian.shell("ldd /usr/bin/pier-desktop | grep 'not found' || true");
    assert!(
        missing.is_empty(),
        "the package's dependencies leave libraries missing:\n{missing}"
    );
    debian.add_user("pat");
    let desktop = debian.launch("pat", &[]).await;

    // First run on the embedded default: no projects, the example one click away.
    desktop.find("#deploy-example").await;
    desktop.screenshot("installed-first-run").await;
    desktop.click("#deploy-example").await;
    desktop.finished_deployment(pier_e2e::PATIENCE).await;
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
    let stored = debian.shell("ls /home/pat/.config/pier");
    assert!(stored.contains("example-site"), "{stored}");
    let deployments = debian.shell("find /home/pat/.local/share/pier/store -type f | wc -l");
    assert!(
        deployments.parse::<u32>().unwrap() > 0,
        "no store in pat's home"
    );
    desktop.close().await;

    // Removing the app removes the app, never what the user deployed with it.
    debian.apt_remove("pier");
    let status = debian.shell("dpkg-query -W -f '${Status}' pier 2>&1 || true");
    assert!(
        !status.contains("ok installed"),
        "still installed: {status}"
    );
    assert_eq!(
        debian.shell("test -e /usr/bin/pier-desktop && echo present || echo gone"),
        "gone"
    );
    assert_eq!(
        debian.shell("find /home/pat/.local/share/pier/store -type f | wc -l"),
        deployments,
        "removing the package touched the user's store"
    );
}

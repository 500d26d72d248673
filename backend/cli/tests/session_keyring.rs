//! `pier env`'s secrets on a Linux desktop: in the session's Secret Service (a real GNOME
//! Keyring on a private D-Bus session bus), where `secret-tool` (libsecret, written by no one
//! here) finds them, never in the kernel keyring; still there for a `pier serve` started after
//! the keyring daemon was restarted (as after a reboot, which empties the kernel keyring); gone
//! after `pier env rm`.

#![cfg(target_os = "linux")]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "login-password-of-the-test";
const TOKEN: &str = "tok-session-5e1d0c";

fn program(name: &str) -> &str {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|output| output.status.success());
    assert!(
        found,
        "`{name}` is missing: run tests/scripts/setup.sh (apt-get install gnome-keyring libsecret-tools dbus-daemon)"
    );
    name
}

/// A private session bus (no service activation, so nothing but this test starts a keyring on
/// it) and GNOME Keyring's secrets component, unlocked, its files in `home`.
struct SessionKeyring {
    dir: tempfile::TempDir,
    address: String,
    bus: Child,
    daemon: Option<Child>,
}

impl SessionKeyring {
    fn start() -> SessionKeyring {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("bus");
        let address = format!("unix:path={}", socket.display());
        let config = dir.path().join("bus.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>{address}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#
            ),
        )
        .unwrap();
        let bus = Command::new(program("dbus-daemon"))
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--nopidfile"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() {
            assert!(Instant::now() < deadline, "dbus-daemon made no socket");
            std::thread::sleep(Duration::from_millis(20));
        }
        for folder in ["home", "run"] {
            std::fs::create_dir_all(dir.path().join(folder)).unwrap();
        }
        std::fs::set_permissions(
            dir.path().join("run"),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        let mut keyring = SessionKeyring {
            dir,
            address,
            bus,
            daemon: None,
        };
        keyring.start_daemon();
        keyring
    }

    fn env(&self) -> [(&'static str, PathBuf); 3] {
        [
            ("HOME", self.dir.path().join("home")),
            ("XDG_DATA_HOME", self.dir.path().join("home/.local/share")),
            ("XDG_RUNTIME_DIR", self.dir.path().join("run")),
        ]
    }

    /// Starts the keyring daemon, unlocked with the login password, and waits until it stores.
    fn start_daemon(&mut self) {
        let mut daemon = Command::new(program("gnome-keyring-daemon"))
            .args(["--foreground", "--components=secrets", "--unlock"])
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .envs(self.env())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        daemon
            .stdin
            .take()
            .unwrap()
            .write_all(PASSWORD.as_bytes())
            .unwrap();
        self.daemon = Some(daemon);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let stored = self
                .secret_tool(&["store", "--label=ready", "service", "pier-test"], "ready")
                .status
                .success();
            if stored {
                break;
            }
            assert!(Instant::now() < deadline, "GNOME Keyring did not come up");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn stop_daemon(&mut self) {
        if let Some(mut daemon) = self.daemon.take() {
            let _ = daemon.kill();
            let _ = daemon.wait();
        }
    }

    fn secret_tool(&self, args: &[&str], input: &str) -> Output {
        let mut child = Command::new(program("secret-tool"))
            .args(args)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .envs(self.env())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// What libsecret finds under Pier's attributes for `key`.
    fn lookup(&self, key: &str) -> Option<String> {
        let output = self.secret_tool(&["lookup", "service", "dev.pier", "username", key], "");
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

impl Drop for SessionKeyring {
    fn drop(&mut self) {
        self.stop_daemon();
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

/// Whether this user's kernel keyring holds Pier's key for `key`.
fn in_kernel_keyring(key: &str) -> bool {
    use linux_keyutils::{KeyRing, KeyRingIdentifier};
    KeyRing::from_special_id(KeyRingIdentifier::User, false)
        .and_then(|ring| ring.search(&format!("pier-{key}")))
        .is_ok()
}

fn pier(keyring: &SessionKeyring, config: &Path, store: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pier"));
    command
        .args(["--store", store.to_str().unwrap()])
        .args(args)
        .env("PIER_CONFIG", config.join("config.toml"))
        .env("XDG_CACHE_HOME", config.join("cache"))
        .env("DBUS_SESSION_BUS_ADDRESS", &keyring.address)
        .env_remove("PIER_STORE")
        .env_remove("PIER_BASE_URL")
        .envs(pier_tests::aws_test_env());
    command
}

fn succeeded(output: Output) -> Output {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[test]
fn a_secret_lives_in_the_session_keyring_and_outlives_its_daemon() {
    let mut keyring = SessionKeyring::start();
    let config = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    let project = format!("ringtest-{}", pier_tests::free_port());
    let key = format!("env:{project}/API_TOKEN");
    let run = |keyring: &SessionKeyring, args: &[&str]| {
        succeeded(
            pier(keyring, config.path(), store.path(), args)
                .output()
                .unwrap(),
        )
    };

    let mut set = pier(
        &keyring,
        config.path(),
        store.path(),
        &["env", "set", "API_TOKEN", "--secret", "--project", &project],
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    writeln!(set.stdin.take().unwrap(), "{TOKEN}").unwrap();
    succeeded(set.wait_with_output().unwrap());
    assert_eq!(keyring.lookup(&key).as_deref(), Some(TOKEN));
    assert!(
        !in_kernel_keyring(&key),
        "with a Secret Service, the kernel keyring is not used"
    );

    // The daemon goes away and comes back (the keyring file stays): the secret is still there
    // for the function a later `pier serve` starts.
    keyring.stop_daemon();
    keyring.start_daemon();
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(site.path().join("api")).unwrap();
    std::fs::write(site.path().join("index.html"), "home").unwrap();
    std::fs::write(
        site.path().join("api/token.js"),
        "module.exports = (req, res) => res.end(process.env.API_TOKEN || 'none');\n",
    )
    .unwrap();
    let site_arg = site.path().to_str().unwrap();
    run(
        &keyring,
        &["deploy", site_arg, "--project", &project, "--prod"],
    );
    let port = pier_tests::free_port();
    let mut server = pier(&keyring, config.path(), store.path(), &[])
        .args(["serve", "--port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(pier_tests::wait_for_http(
        port,
        "/health",
        Duration::from_secs(20)
    ));
    let answer = pier_tests::http::get(
        format!("127.0.0.1:{port}").parse().unwrap(),
        &format!("{project}.localhost:{port}"),
        "/api/token",
    );
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!((answer.status, answer.text()), (200, TOKEN.to_string()));

    run(&keyring, &["env", "rm", "API_TOKEN", "--project", &project]);
    assert_eq!(keyring.lookup(&key), None, "`pier env rm` deleted it");
}

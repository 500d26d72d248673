//! The desktop app as a user installs it: a clean Debian container (the stand-in for
//! `debian:bookworm`, `tests/containers/bases.sh`) on the host's network, with a folder of
//! packages at `/pkg`, apt's download cache kept between runs, the host's X sockets (the
//! private Xvfb each launch starts) and this machine's tauri-driver. The installed app is
//! driven through WebKitWebDriver from Debian's `webkit2gtk-driver`, as a user of the
//! container with their own home.

use std::path::{Path, PathBuf};
use std::process::Command;

use pier_tests::containers::{Container, Engine, cache_dir};

use crate::{Desktop, Launch};

/// The `.deb` and `.rpm` that `tests/bundle/bundle.sh --debug` makes in `out` of `binary`
/// (this build's app when `None`), named as `version` (the config's when `None`).
pub fn bundle(out: &Path, binary: Option<&Path>, version: Option<&str>) -> (PathBuf, PathBuf) {
    let mut env = vec![("PIER_BUNDLE_DIR", out.as_os_str())];
    if let Some(binary) = binary {
        env.push(("PIER_BUNDLE_APP", binary.as_os_str()));
    }
    if let Some(version) = version {
        env.push(("PIER_BUNDLE_VERSION", version.as_ref()));
    }
    let printed = pier_tests::run_script(
        "tests/bundle/bundle.sh",
        &["--debug"],
        &env,
        "the bundles were not made",
    );
    let mut paths = printed.lines().map(PathBuf::from);
    let deb = paths.next().expect("the .deb's path");
    let rpm = paths.next().expect("the .rpm's path");
    assert!(deb.extension().is_some_and(|e| e == "deb"), "{deb:?}");
    assert!(rpm.extension().is_some_and(|e| e == "rpm"), "{rpm:?}");
    (deb, rpm)
}

pub struct Debian {
    pub container: Container,
    engine: &'static Engine,
}

impl Debian {
    /// Starts the container with `packages` (a folder of this machine) at `/pkg`.
    pub fn start(packages: &Path) -> Debian {
        let engine = Engine::get();
        let base = engine.debian_base();
        let apt_archives = cache_dir().join("apt-archives");
        std::fs::create_dir_all(&apt_archives).unwrap();
        let tauri_driver = crate::program("tauri-driver", "cargo install tauri-driver");
        // The X sockets' folder is shared before the display starts; made here as X makes it
        // (sticky, open to all), not by the engine as a root-only folder.
        let x11_sockets = Path::new("/tmp/.X11-unix");
        if !x11_sockets.exists() {
            use std::os::unix::fs::PermissionsExt;
            std::fs::create_dir_all(x11_sockets).unwrap();
            std::fs::set_permissions(x11_sockets, std::fs::Permissions::from_mode(0o1777)).unwrap();
        }
        let mounts = [
            format!("{}:/pkg:ro", packages.display()),
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
        let container = engine
            .run_detached(&args)
            .expect("the Debian container starts");
        Debian { container, engine }
    }

    /// Runs `script` with `sh -c` as root; its output, or the test fails with its error.
    pub fn shell(&self, script: &str) -> String {
        self.container
            .exec(&["sh".into(), "-c".into(), script.into()])
            .unwrap_or_else(|e| panic!("`{script}` in the Debian container: {e}"))
    }

    /// `apt-get install` with no recommends, as the packages' own `Depends` must suffice;
    /// the test fails with apt's whole log if it does.
    pub fn apt_install(&self, what: &str) {
        self.apt(&format!(
            "apt-get update -qq && apt-get install -y -qq --no-install-recommends {what}"
        ));
    }

    /// `apt-get remove` of `package`.
    pub fn apt_remove(&self, package: &str) {
        self.apt(&format!("apt-get remove -y -qq {package}"));
    }

    /// Runs an apt script, one at a time across tests: containers share the download cache,
    /// and apt locks it for every install and remove (an flock beside the cache).
    fn apt(&self, script: &str) {
        use std::os::fd::AsRawFd;
        let lock = std::fs::File::create(cache_dir().join("apt-archives.lock")).unwrap();
        // SAFETY: flock on a descriptor this function owns; released when `lock` drops.
        assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);
        self.shell(&format!(
            "export DEBIAN_FRONTEND=noninteractive; ({script}) >/tmp/apt.log 2>&1 \
             || (cat /tmp/apt.log >&2; exit 1)"
        ));
        drop(lock);
    }

    /// The version of an installed package (`dpkg-query`), or the test fails.
    pub fn installed_version(&self, package: &str) -> String {
        let status = self.shell(&format!(
            "dpkg-query -W -f '${{Status}} ${{Version}}' {package}"
        ));
        status
            .strip_prefix("install ok installed ")
            .unwrap_or_else(|| panic!("{package} is not installed: {status}"))
            .to_string()
    }

    /// Adds a user with an empty home, and WebKit's WebDriver to drive the app with.
    pub fn add_user(&self, user: &str) {
        self.apt_install("webkit2gtk-driver");
        self.shell(&format!("useradd --create-home --shell /bin/bash {user}"));
    }

    /// Starts the installed `/usr/bin/pier-desktop` as `user` under a private Xvfb, with
    /// `env` added, through tauri-driver in the container.
    pub async fn launch(&self, user: &str, env: &[(&str, String)]) -> Desktop {
        let client = self.engine.docker();
        let docker = client.get_program().to_owned();
        let docker_host = client
            .get_envs()
            .find(|(name, _)| *name == "DOCKER_HOST")
            .and_then(|(_, value)| value.map(|v| v.to_owned()));
        let container = self.container.id.clone();
        let home = format!("/home/{user}");
        Desktop::launch_through("/usr/bin/pier-desktop", |launch: &Launch| {
            let mut command = Command::new(&docker);
            if let Some(host) = &docker_host {
                command.env("DOCKER_HOST", host);
            }
            let mut variables = vec![
                format!("HOME={home}"),
                format!("DISPLAY={}", launch.display),
                format!("PIER_PORT={}", launch.port),
                // Screenshots need WebKit's compositing back on (see `Desktop::launch`).
                "WEBKIT_DISABLE_COMPOSITING_MODE=0".to_string(),
            ];
            variables.extend(env.iter().map(|(name, value)| format!("{name}={value}")));
            command.args(["exec", "--user", user, "--workdir", &home]);
            for variable in &variables {
                command.args(["--env", variable]);
            }
            command.args([container.as_str(), "tauri-driver"]);
            command.args(launch.driver_args());
            command
        })
        .await
    }
}

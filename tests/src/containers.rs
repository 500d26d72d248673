//! Containers for the hosted half's tests: a real Docker Engine (`tests/containers/engine.sh`),
//! the proxy and builder images built from this build's binaries on stand-in bases made from
//! Debian packages (`tests/containers/images.sh`), and [`run_task_definition`], which starts a
//! container from a task definition registered in moto the way ECS would start it.
//!
//! Every container runs with `--network host` (the engine has no bridge, and tests talk only
//! to loopback). Task definitions name fixed ports (the proxy's 8080 and 9090), so container
//! tests hold [`exclusive`] while they run: one at a time on a machine, whatever the runner.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::{Moto, TEST_ACCESS_KEY, TEST_REGION, TEST_SECRET_KEY, repo_root};

/// The engine the tests use: its socket and the client that builds with BuildKit.
#[derive(Debug, Clone)]
pub struct Engine {
    host: String,
    client: PathBuf,
}

/// The images under test, built from this build's binaries.
#[derive(Debug, Clone)]
pub struct Images {
    pub proxy: String,
    pub builder: String,
}

impl Engine {
    /// Starts (or reuses) the engine once per test process. Storage is overlay2 where an
    /// overlay mount works (a builder container starts in 0.25 s instead of 6 s on vfs),
    /// else vfs; `PIER_ENGINE_STORAGE_DRIVER` overrides.
    pub fn get() -> &'static Engine {
        static ENGINE: OnceLock<Engine> = OnceLock::new();
        ENGINE.get_or_init(|| {
            let script = repo_root().join("tests/containers/engine.sh");
            let driver =
                std::env::var("PIER_ENGINE_STORAGE_DRIVER").unwrap_or_else(|_| "auto".into());
            let output = Command::new("bash")
                .arg(&script)
                .arg("start")
                .env("PIER_ENGINE_STORAGE_DRIVER", driver)
                .stderr(Stdio::inherit())
                .output()
                .expect("bash runs");
            assert!(
                output.status.success(),
                "the container engine did not start ({}); run `bash {}` to see why",
                output.status,
                script.display()
            );
            let exports = String::from_utf8_lossy(&output.stdout);
            let value = |name: &str| {
                exports
                    .split_whitespace()
                    .find_map(|word| word.strip_prefix(&format!("{name}=")))
                    .map(|v| v.trim_matches('\'').to_string())
                    .unwrap_or_else(|| panic!("engine.sh printed no {name}: {exports}"))
            };
            Engine {
                host: value("DOCKER_HOST"),
                client: PathBuf::from(value("PIER_DOCKER")),
            }
        })
    }

    /// A `docker` command against this engine.
    pub fn docker(&self) -> Command {
        let mut command = Command::new(&self.client);
        command.env("DOCKER_HOST", &self.host);
        command
    }

    /// What a program needs to use this engine as `pier images build` would: its socket, and
    /// the client that builds with BuildKit.
    pub fn client_environment(&self) -> Vec<(&'static str, String)> {
        vec![
            ("DOCKER_HOST", self.host.clone()),
            ("PIER_CONTAINER_ENGINE", self.client.display().to_string()),
        ]
    }

    /// Runs a docker command to the end; `Err` carries its stderr.
    pub fn run(&self, args: &[&str]) -> Result<String, String> {
        let output = self.docker().args(args).output().expect("docker runs");
        text_of(&output, args)
    }

    /// A moto whose Lambda runs functions in this engine's containers: the busybox and Node
    /// runtime images are made first (`tests/containers/lambda.sh`, about a second when they
    /// exist), and every function container runs with the host's network.
    pub fn moto_with_lambda(&self) -> Moto {
        let repository = self.script("lambda.sh", &[], "the Lambda runtime image did not build");
        Moto::start_with_lambda(&[
            ("DOCKER_HOST", self.host.clone()),
            ("MOTO_DOCKER_LAMBDA_IMAGE", repository),
            ("MOTO_DOCKER_NETWORK_MODE", "host".into()),
        ])
    }

    /// Runs `tests/containers/<name>` against this engine and returns what it printed; fails
    /// the test with `failure` and the command to run by hand.
    fn script(&self, name: &str, args: &[&Path], failure: &str) -> String {
        let script = repo_root().join("tests/containers").join(name);
        let output = Command::new("bash")
            .arg(&script)
            .args(args)
            .env("DOCKER_HOST", &self.host)
            .env("PIER_DOCKER", &self.client)
            .stderr(Stdio::inherit())
            .output()
            .expect("bash runs");
        let by_hand: Vec<String> = args.iter().map(|arg| arg.display().to_string()).collect();
        assert!(
            output.status.success(),
            "{failure}; run `bash {} {}`",
            script.display(),
            by_hand.join(" ")
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    /// The stand-in for Docker Hub's `debian:bookworm` (`tests/containers/bases.sh`): a clean
    /// minbase system with apt pointed at the Debian mirror. Made once, then reused.
    pub fn debian_base(&self) -> String {
        let printed = crate::run_script(
            "tests/containers/bases.sh",
            &[],
            &[
                ("PIER_BASES_DEBIAN", "1".as_ref()),
                ("DOCKER_HOST", self.host.as_ref()),
                ("PIER_DOCKER", self.client.as_os_str()),
            ],
            "the Debian base did not build (with PIER_BASES_DEBIAN=1)",
        );
        printed
            .lines()
            .last()
            .expect("bases.sh prints the tags it made")
            .trim()
            .to_string()
    }

    /// `docker run --detach` with `args` (options, image, command): the container, removed on
    /// drop.
    pub fn run_detached(&self, args: &[&str]) -> Result<Container, String> {
        let mut all = vec!["run", "--detach"];
        all.extend_from_slice(args);
        let id = self.run(&all)?;
        Ok(Container {
            id,
            engine: self.clone(),
        })
    }

    /// Builds the images from the binaries beside this test (fast when nothing changed).
    pub fn images(&self) -> Images {
        let proxy = workspace_binary("pier-proxy");
        let builder = workspace_binary("pier-builder");
        self.script(
            "images.sh",
            &[proxy.as_path(), builder.as_path()],
            "the images did not build",
        );
        Images {
            proxy: "pier-proxy:test".into(),
            builder: "pier-builder:test".into(),
        }
    }
}

fn text_of(output: &Output, args: &[&str]) -> Result<String, String> {
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    } else {
        Err(format!(
            "docker {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// A binary of this workspace, from the folder the running test was built into
/// (`target/<profile>/`): the tests' own build made it.
pub fn workspace_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("tests run from target/<profile>/deps");
    let binary = profile_dir.join(name);
    assert!(
        binary.is_file(),
        "{} is missing; build it first (`cargo build --workspace`)",
        binary.display()
    );
    binary
}

/// Holds the machine's container slot: task definitions use fixed ports, so container tests
/// run one at a time across test processes (an `flock` on a file in the cache folder).
pub struct Exclusive {
    _file: File,
}

pub fn exclusive() -> Exclusive {
    use std::os::fd::AsRawFd;
    let dir = cache_dir();
    std::fs::create_dir_all(&dir).expect("the cache folder can be made");
    let file = File::create(dir.join("containers.lock")).expect("the lock file opens");
    // SAFETY: flock on a file descriptor this function owns; it blocks until granted.
    let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
    assert_eq!(locked, 0, "flock failed");
    Exclusive { _file: file }
}

/// A running container, removed (with `docker rm -f`) on drop.
#[derive(Debug)]
pub struct Container {
    pub id: String,
    engine: Engine,
}

impl Container {
    pub fn logs(&self) -> String {
        let output = self
            .engine
            .docker()
            .args(["logs", &self.id])
            .output()
            .expect("docker runs");
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    }

    pub fn is_running(&self) -> bool {
        self.engine
            .run(&["inspect", "-f", "{{.State.Running}}", &self.id])
            .is_ok_and(|state| state == "true")
    }

    /// `docker kill`: SIGKILL, as a crashed host or an out-of-memory kill would.
    pub fn kill(&self) {
        let _ = self.engine.run(&["kill", &self.id]);
    }

    /// Runs a command inside the container; `Ok` with its output when it exits 0.
    pub fn exec(&self, command: &[String]) -> Result<String, String> {
        let mut args = vec!["exec", self.id.as_str()];
        args.extend(command.iter().map(String::as_str));
        self.engine.run(&args)
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = self
            .engine
            .docker()
            .args(["rm", "-f", &self.id])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// What a test adds to a task definition's container that ECS would not: things of this
/// machine only, never of Pier's (the CA bundle of a TLS-intercepting network, say).
#[derive(Debug, Clone, Default)]
pub struct HostAdapter {
    pub environment: Vec<(String, String)>,
    /// `(host path, container path)`, mounted read-only.
    pub mounts: Vec<(PathBuf, String)>,
}

impl HostAdapter {
    /// This machine's CA bundle for npm and git inside a builder: where registry traffic goes
    /// through a TLS-intercepting proxy, its CA is only in the host's bundle.
    pub fn host_certificates() -> HostAdapter {
        let bundle = ["/etc/ssl/certs/ca-certificates.crt"]
            .iter()
            .map(PathBuf::from)
            .find(|path| path.is_file());
        let Some(bundle) = bundle else {
            return HostAdapter::default();
        };
        let inside = "/etc/pier-host-ca.crt".to_string();
        HostAdapter {
            environment: vec![
                ("NODE_EXTRA_CA_CERTS".into(), inside.clone()),
                ("GIT_SSL_CAINFO".into(), inside.clone()),
                ("COREPACK_INTEGRITY_CHECK".into(), "0".into()),
            ],
            mounts: vec![(bundle, inside)],
        }
    }
}

/// The container part of a registered task definition, as ECS reads it.
#[derive(Debug, Clone)]
pub struct TaskContainer {
    pub family: String,
    pub image: String,
    pub entry_point: Vec<String>,
    pub command: Vec<String>,
    pub environment: Vec<(String, String)>,
    /// `(variable, valueFrom)`.
    pub secrets: Vec<(String, String)>,
    pub user: Option<String>,
    pub ports: Vec<u16>,
    pub health_check: Option<Vec<String>>,
    pub read_only_root: bool,
}

impl TaskContainer {
    /// Reads the newest active revision of `family` (or an ARN) from moto's ECS.
    pub async fn describe(moto: &Moto, family: &str) -> TaskContainer {
        let ecs = aws_sdk_ecs::Client::new(&moto.sdk_config().await);
        let definition = ecs
            .describe_task_definition()
            .task_definition(family)
            .send()
            .await
            .unwrap_or_else(|e| panic!("no task definition {family}: {e:?}"))
            .task_definition
            .expect("a task definition");
        let container = definition
            .container_definitions()
            .iter()
            .find(|c| c.essential().unwrap_or(true))
            .expect("an essential container")
            .clone();
        TaskContainer {
            family: definition.family().unwrap_or(family).to_string(),
            image: container.image().unwrap_or_default().to_string(),
            entry_point: container.entry_point().to_vec(),
            command: container.command().to_vec(),
            environment: container
                .environment()
                .iter()
                .map(|kv| {
                    (
                        kv.name().unwrap_or_default().to_string(),
                        kv.value().unwrap_or_default().to_string(),
                    )
                })
                .collect(),
            secrets: container
                .secrets()
                .iter()
                .map(|s| (s.name().to_string(), s.value_from().to_string()))
                .collect(),
            user: container.user().map(str::to_string),
            ports: container
                .port_mappings()
                .iter()
                .filter_map(|p| p.container_port())
                .map(|port| port as u16)
                .collect(),
            health_check: container
                .health_check()
                .map(|h| h.command().to_vec())
                .filter(|command| !command.is_empty()),
            read_only_root: container.readonly_root_filesystem().unwrap_or(false),
        }
    }

    /// Registers this container as a new revision of `family` in moto (a test's way to make a
    /// broken definition from a good one).
    pub async fn register_as(&self, moto: &Moto, family: &str) {
        use aws_sdk_ecs::types::{ContainerDefinition, KeyValuePair, PortMapping};
        let ecs = aws_sdk_ecs::Client::new(&moto.sdk_config().await);
        let container = ContainerDefinition::builder()
            .name("main")
            .image(&self.image)
            .essential(true)
            .memory(512)
            .set_user(self.user.clone())
            .set_entry_point((!self.entry_point.is_empty()).then(|| self.entry_point.clone()))
            .set_command((!self.command.is_empty()).then(|| self.command.clone()))
            .set_environment(Some(
                self.environment
                    .iter()
                    .map(|(k, v)| KeyValuePair::builder().name(k).value(v).build())
                    .collect(),
            ))
            .set_port_mappings(Some(
                self.ports
                    .iter()
                    .map(|p| PortMapping::builder().container_port(*p as i32).build())
                    .collect(),
            ))
            .build();
        ecs.register_task_definition()
            .family(family)
            .container_definitions(container)
            .send()
            .await
            .expect("moto registers task definitions");
    }
}

/// Starts the container of a task definition as ECS would: its image (never pulled), entry
/// point and command, environment, secrets resolved from Secrets Manager, user, read-only
/// root; then waits until every mapped port takes connections and the health check passes.
/// The AWS endpoint and test credentials stand in for the task role. `Err` says which part of
/// the definition does not hold, with the container's own output.
pub async fn run_task_definition(
    engine: &Engine,
    moto: &Moto,
    task: &TaskContainer,
    adapter: &HostAdapter,
    limit: Duration,
) -> Result<Container, String> {
    let secrets = resolve_secrets(moto, &task.secrets).await?;
    let mut args: Vec<String> = ["run", "-d", "--network", "host", "--pull", "never"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    if let Some(user) = &task.user {
        args.extend(["--user".into(), user.clone()]);
    }
    if task.read_only_root {
        args.push("--read-only".into());
    }
    let stand_in_for_task_role = [
        ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", TEST_ACCESS_KEY),
        ("AWS_SECRET_ACCESS_KEY", TEST_SECRET_KEY),
        ("AWS_DEFAULT_REGION", TEST_REGION),
    ];
    let environment = task
        .environment
        .iter()
        .chain(secrets.iter())
        .chain(adapter.environment.iter())
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain(stand_in_for_task_role);
    for (name, value) in environment {
        args.extend(["-e".into(), format!("{name}={value}")]);
    }
    for (host, inside) in &adapter.mounts {
        args.extend(["-v".into(), format!("{}:{inside}:ro", host.display())]);
    }
    let mut command = task.command.clone();
    if let Some((first, rest)) = task.entry_point.split_first() {
        args.extend(["--entrypoint".into(), first.clone()]);
        command.splice(0..0, rest.iter().cloned());
    }
    args.push(task.image.clone());
    args.extend(command);
    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let id = engine
        .run(&arg_refs)
        .map_err(|e| format!("the task definition {} could not start: {e}", task.family))?;
    let container = Container {
        id,
        engine: engine.clone(),
    };
    let deadline = Instant::now() + limit;
    for port in &task.ports {
        while std::net::TcpStream::connect(("127.0.0.1", *port)).is_err() {
            if !container.is_running() {
                return Err(format!(
                    "the task definition {} maps port {port}, but its container exited first; its output:\n{}",
                    task.family,
                    container.logs()
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "the task definition {} maps port {port}, but nothing listened on it within {} s; the container's output:\n{}",
                    task.family,
                    limit.as_secs(),
                    container.logs()
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    if let Some(check) = &task.health_check {
        let command = health_command(check)?;
        loop {
            match container.exec(&command) {
                Ok(_) => break,
                Err(error) if Instant::now() > deadline => {
                    return Err(format!(
                        "the task definition {}'s health check {check:?} never passed: {error}",
                        task.family
                    ));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }
    if task.ports.is_empty() && !container.is_running() {
        return Err(format!(
            "the task definition {}'s container exited at once; its output:\n{}",
            task.family,
            container.logs()
        ));
    }
    Ok(container)
}

/// ECS's health-check forms: `["CMD", argv…]` runs argv; `["CMD-SHELL", line]` runs it with
/// the image's `/bin/sh`.
fn health_command(check: &[String]) -> Result<Vec<String>, String> {
    match check.split_first() {
        Some((form, argv)) if form == "CMD" && !argv.is_empty() => Ok(argv.to_vec()),
        Some((form, line)) if form == "CMD-SHELL" && line.len() == 1 => {
            Ok(vec!["/bin/sh".into(), "-c".into(), line[0].clone()])
        }
        _ => Err(format!("{check:?} is not a health check ECS runs")),
    }
}

async fn resolve_secrets(
    moto: &Moto,
    secrets: &[(String, String)],
) -> Result<Vec<(String, String)>, String> {
    let client = aws_sdk_secretsmanager::Client::new(&moto.sdk_config().await);
    let mut resolved = Vec::new();
    for (name, value_from) in secrets {
        if !value_from.starts_with("arn:aws:secretsmanager:") {
            return Err(format!(
                "the secret {name} comes from {value_from}; this helper resolves Secrets Manager ARNs"
            ));
        }
        let value = client
            .get_secret_value()
            .secret_id(value_from)
            .send()
            .await
            .map_err(|e| format!("the secret {name} ({value_from}) cannot be read: {e:?}"))?;
        resolved.push((
            name.clone(),
            value.secret_string().unwrap_or_default().to_string(),
        ));
    }
    Ok(resolved)
}

/// Where the images' stand-in bases and contexts are cached between runs.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("PIER_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(&std::env::var_os("HOME").expect("HOME")).join(".cache/pier"))
}

//! Pier's test kit: real servers on loopback ports, and fixture trees.
//!
//! - [`Moto`] starts moto's server (the AWS emulator) from the venv `.ci/run` makes
//!   (`$PIER_MOTO_SERVER`, else `<repo>/.venv/bin/moto_server`, else `moto_server` on PATH) on
//!   a free port, and stops it on drop.
//! - [`fixture_tree`] copies `tests/fixtures/awkward` (spaces, unicode, dotfiles, deep folders,
//!   an empty file) and adds what git cannot carry portably: symlinks and a large file.
//!
//! - [`http`] is a raw HTTP/1.1 client for exact requests.
//! - [`spy::Spy`] wraps a real store to count writes and inject failures and races.
//!
//! Tests talk to loopback only. Credentials are moto's fixed test values.

pub mod containers;
pub mod http;
pub mod queues;
pub mod registry;
pub mod spy;

use std::ffi::OsStr;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const TEST_ACCESS_KEY: &str = "test";
pub const TEST_SECRET_KEY: &str = "test";
pub const TEST_REGION: &str = "us-east-1";

/// A store in a fresh temporary folder; keep the folder alive as long as the store.
pub async fn local_store() -> (pier_core::store::DynStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dirs can be made");
    let url = pier_core::store::StoreUrl::Local(dir.path().to_path_buf());
    let store = pier_core::store::open(&url)
        .await
        .expect("a local store opens");
    (store, dir)
}

/// Deploys `dir` as `project` straight to `store`, as a machine with only that store in its
/// config would (promoted when `production`); the new deployment's id.
pub async fn deploy_folder(
    store: &pier_core::store::DynStore,
    dir: &Path,
    project: &str,
    production: bool,
) -> String {
    let request =
        pier_core::deploy::DeployRequest::folder(dir, Some(project.to_string()), production);
    pier_core::deploy::deploy(
        store.as_ref(),
        &request,
        &pier_core::progress::Progress::silent(),
    )
    .await
    .expect("the folder deploys")
    .summary
    .id
}

/// A free TCP port on 127.0.0.1, as the kernel hands out.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("loopback has free ports")
}

/// A command's stdout as JSON (a `--json` run), or a panic showing both of its streams.
pub fn stdout_json(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// The checkout under test, found when the test runs: from the package folder cargo and
/// nextest start each test in (`CARGO_MANIFEST_DIR` at run time) or the working folder, up to
/// the folder holding `ARCHITECTURE.md`. Not `env!`: a compiled-in path goes stale when a
/// build cache is shared by two checkouts, and cargo does not rebuild for that.
pub fn repo_root() -> PathBuf {
    let start = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok());
    start
        .iter()
        .flat_map(|dir| dir.ancestors())
        .find(|dir| dir.join("ARCHITECTURE.md").is_file() && dir.join("tests/fixtures").is_dir())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .expect("tests/ sits in the repo")
                .to_path_buf()
        })
}

/// Runs `bash <repo>/<script> args…` with `env` added (its stderr shown), and returns what it
/// printed, trimmed; fails the test with `failure` and the command to run by hand.
pub fn run_script(script: &str, args: &[&str], env: &[(&str, &OsStr)], failure: &str) -> String {
    let mut command = Command::new("bash");
    command
        .arg(repo_root().join(script))
        .args(args)
        .stderr(Stdio::inherit());
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("bash runs");
    assert!(
        output.status.success(),
        "{failure}; run `bash {script} {}`",
        args.join(" ")
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// The environment a child `pier` (or any AWS client) needs to reach moto with test
/// credentials and nothing from the developer's own AWS setup.
pub fn aws_test_env() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", TEST_ACCESS_KEY.into()),
        ("AWS_SECRET_ACCESS_KEY", TEST_SECRET_KEY.into()),
        ("AWS_REGION", TEST_REGION.into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        (
            "AWS_CONFIG_FILE",
            "/nonexistent/pier-test-aws-config".into(),
        ),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/pier-test-aws-credentials".into(),
        ),
    ]
}

/// Points this test process's AWS chain at the test credentials. Call before starting any
/// runtime threads (nextest runs each test in its own process).
pub fn use_test_credentials() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for (name, value) in aws_test_env() {
            // SAFETY: called once, at the start of a test process, before it spawns threads
            // that read the environment.
            unsafe { std::env::set_var(name, value) };
        }
        // SAFETY: as above.
        unsafe { std::env::remove_var("AWS_PROFILE") };
    });
}

/// A moto server on a free loopback port, stopped on drop.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Moto {
        Moto::launch(&moto_program(), &[])
    }

    /// A moto that answers one request at a time (`tests/fixtures/moto_serial.py`). moto's
    /// threaded server checks a conditional write's precondition and then writes without a
    /// lock, so two racing compare-and-swaps can both win there; real S3 fails the loser. Tests
    /// of Pier's compare-and-swap rule run here, so they test Pier, not moto's race.
    pub fn start_serial() -> Moto {
        Moto::launch_fixture("moto_serial.py", &[])
    }

    /// A moto whose Lambda runs functions in containers of a real engine, and that answers
    /// `InvokeWithResponseStream` (`tests/fixtures/moto_lambda.py`); `environment` names the
    /// engine and the runtime image (`containers::Engine::moto_with_lambda` gives both).
    pub fn start_with_lambda(environment: &[(&str, String)]) -> Moto {
        Moto::launch_fixture("moto_lambda.py", environment)
    }

    /// Runs a launcher script of `tests/fixtures/` with the python of moto's venv (else
    /// `python3`).
    fn launch_fixture(script: &str, environment: &[(&str, String)]) -> Moto {
        let beside_moto = moto_program().with_file_name("python");
        let python = if beside_moto.exists() {
            beside_moto
        } else {
            PathBuf::from("python3")
        };
        let script = repo_root().join("tests/fixtures").join(script);
        let script = script.to_str().expect("the checkout's path is UTF-8");
        Moto::launch_with(&python, &[script], environment)
    }

    fn launch(program: &Path, leading_args: &[&str]) -> Moto {
        Moto::launch_with(program, leading_args, &[])
    }

    fn launch_with(program: &Path, leading_args: &[&str], environment: &[(&str, String)]) -> Moto {
        use_test_credentials();
        let mut last_error = String::new();
        for _ in 0..5 {
            let port = free_port();
            let mut child = match Command::new(program)
                .args(leading_args)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                // Certificates validate after 1 s instead of a minute.
                .env("MOTO_ACM_VALIDATION_WAIT", "1")
                // AWS's managed IAM policies exist in every real account.
                .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
                .envs(environment.iter().map(|(name, value)| (name, value)))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
            {
                Ok(child) => child,
                Err(e) => panic!(
                    "cannot start moto ({}): {e}; run .ci/run once, or set PIER_MOTO_SERVER",
                    program.display()
                ),
            };
            let endpoint = format!("http://127.0.0.1:{port}");
            if wait_for_http(port, "/moto-api/", Duration::from_secs(20)) {
                return Moto { child, endpoint };
            }
            let _ = child.kill();
            let _ = child.wait();
            last_error = format!("moto did not answer on port {port}");
        }
        panic!("{last_error}");
    }

    /// The SDK configuration that reaches this emulator with the test credentials.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        pier_core::aws::loader()
            .region(aws_config::Region::new(TEST_REGION))
            .endpoint_url(&self.endpoint)
            .load()
            .await
    }

    /// Whether the emulator holds a bucket of that name (HeadBucket answers).
    pub async fn has_bucket(&self, name: &str) -> bool {
        let s3 = self.s3_client().await;
        s3.head_bucket().bucket(name).send().await.is_ok()
    }

    /// An S3 client for setting up and inspecting the emulator directly.
    pub async fn s3_client(&self) -> aws_sdk_s3::Client {
        let config = pier_core::aws::loader()
            .region(aws_config::Region::new(TEST_REGION))
            .endpoint_url(&self.endpoint)
            .load()
            .await;
        let s3 = aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(s3)
    }

    /// Creates a bucket and returns the store URL for it (with a prefix, to prove prefixes
    /// work everywhere).
    pub async fn bucket(&self, name: &str) -> String {
        self.s3_client()
            .await
            .create_bucket()
            .bucket(name)
            .send()
            .await
            .expect("moto creates buckets");
        self.store_url(name)
    }

    /// Creates a public Route53 hosted zone, as the user's own, and returns its id (without
    /// the `/hostedzone/` prefix).
    pub async fn hosted_zone(&self, name: &str) -> String {
        let config = pier_core::aws::loader()
            .region(aws_config::Region::new(TEST_REGION))
            .endpoint_url(&self.endpoint)
            .load()
            .await;
        aws_sdk_route53::Client::new(&config)
            .create_hosted_zone()
            .name(name)
            .caller_reference(format!("pier-test-{name}"))
            .send()
            .await
            .expect("moto creates hosted zones")
            .hosted_zone()
            .expect("a created zone")
            .id()
            .trim_start_matches("/hostedzone/")
            .to_string()
    }

    /// Creates an IAM role Lambda may assume (what `pier setup aws` makes for functions) and
    /// returns its ARN; moto's Lambda refuses a role that does not exist.
    pub async fn function_role(&self, name: &str) -> String {
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        aws_sdk_iam::Client::new(&self.sdk_config().await)
            .create_role()
            .role_name(name)
            .assume_role_policy_document(trust)
            .send()
            .await
            .expect("moto creates roles")
            .role()
            .expect("a created role")
            .arn()
            .to_string()
    }

    /// A Lambda client for inspecting the emulator directly.
    pub async fn lambda_client(&self) -> aws_sdk_lambda::Client {
        aws_sdk_lambda::Client::new(&self.sdk_config().await)
    }

    pub fn store_url(&self, bucket: &str) -> String {
        format!(
            "s3://{bucket}/pier?endpoint={}&region={TEST_REGION}",
            self.endpoint
        )
    }
}

impl Moto {
    /// Stops the server, as an outage would.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A real `redis-server` on a free loopback port, without persistence (a restart loses
/// everything, as a crashed cache would), stopped on drop.
pub struct Redis {
    child: Option<Child>,
    pub port: u16,
}

impl Redis {
    pub fn start() -> Redis {
        let mut redis = Redis {
            child: None,
            port: free_port(),
        };
        redis.spawn();
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server runs (apt-get install redis-server; .ci/run installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if ping(self.port) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server did not answer on port {}", self.port);
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops and starts it again on the same port, empty.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

fn ping(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let mut reply = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG\r\n"
}

fn moto_program() -> PathBuf {
    if let Some(path) = std::env::var_os("PIER_MOTO_SERVER") {
        return PathBuf::from(path);
    }
    let venv = repo_root().join(".venv/bin/moto_server");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("moto_server")
}

/// Polls `GET path` on a loopback port until it answers with any HTTP status.
pub fn wait_for_http(port: u16, path: &str, limit: Duration) -> bool {
    use std::io::{Read, Write};
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
            let mut head = [0u8; 12];
            if stream.write_all(request.as_bytes()).is_ok()
                && stream.read_exact(&mut head).is_ok()
                && head.starts_with(b"HTTP/")
            {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// Bytes of the large file in a fixture tree: above the S3 store's multipart threshold
/// (16 MiB) and not a multiple of the part size.
pub const LARGE_FILE_BYTES: usize = 17 * 1024 * 1024 + 12345;

/// A copy of `tests/fixtures/awkward` in `into`, plus a symlink to a file inside, a symlink
/// leading outside (to `outside`), and `media/large video.bin` of [`LARGE_FILE_BYTES`].
pub fn fixture_tree(into: &Path, outside: &Path) {
    copy_tree(&repo_root().join("tests/fixtures/awkward"), into);
    let large: Vec<u8> = (0..LARGE_FILE_BYTES)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::create_dir_all(into.join("media")).unwrap();
    std::fs::write(into.join("media/large video.bin"), large).unwrap();
    std::fs::write(outside.join("secret.txt"), "must never be deployed").unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(into.join("index.html"), into.join("home.html")).unwrap();
        std::os::unix::fs::symlink(outside.join("secret.txt"), into.join("leak.txt")).unwrap();
    }
}

pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Writes `count` small distinct files under `dir` (a site for dedupe and interruption tests).
pub fn many_files(dir: &Path, count: usize, size: usize) {
    for i in 0..count {
        let path = dir.join(format!("pages/{:02}/page-{i}.html", i % 20));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut body = format!("<!doctype html><p>page {i}</p>").into_bytes();
        body.resize(size.max(body.len()), b'.');
        std::fs::write(path, body).unwrap();
    }
}

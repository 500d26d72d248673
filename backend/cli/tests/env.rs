//! `pier env` as a user runs it: variables set from the terminal reach the project's functions
//! under `pier serve` and its builds; a secret's value is in the OS keychain (this machine's
//! kernel keyring), masked in `pier env ls`, function logs and build logs, and in no file of
//! the config folder or the store.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

struct Setup {
    config: tempfile::TempDir,
    store: tempfile::TempDir,
    cache: tempfile::TempDir,
    /// Unique per run: keychain entries are per user, shared by every test run here.
    project: String,
}

impl Setup {
    fn new() -> Setup {
        Setup {
            config: tempfile::tempdir().unwrap(),
            store: tempfile::tempdir().unwrap(),
            cache: tempfile::tempdir().unwrap(),
            project: format!("envtest-{}", pier_tests::free_port()),
        }
    }

    fn pier(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_pier"));
        command
            .args(["--store", self.store.path().to_str().unwrap()])
            .args(args)
            .env("PIER_CONFIG", self.config.path().join("config.toml"))
            .env("XDG_CACHE_HOME", self.cache.path())
            .env_remove("PIER_STORE")
            .env_remove("PIER_BASE_URL")
            .envs(pier_tests::aws_test_env());
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        let output = self.pier(args).output().unwrap();
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    fn set_secret(&self, name: &str, value: &str) -> Output {
        let mut child = self
            .pier(&["env", "set", name, "--secret", "--project", &self.project])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{value}").unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{output:?}");
        output
    }
}

impl Drop for Setup {
    /// The keychain outlives the test: its entries go with it.
    fn drop(&mut self) {
        for name in ["API_TOKEN", "GREETING"] {
            let _ = self
                .pier(&["env", "rm", name, "--project", &self.project])
                .output();
        }
    }
}

fn text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Every file under `dir` whose bytes hold `needle`.
fn files_holding(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in walk(dir) {
        if std::fs::read(&entry)
            .unwrap_or_default()
            .windows(needle.len())
            .any(|window| window == needle.as_bytes())
        {
            found.push(entry.display().to_string());
        }
    }
    found
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

const FIRST_TOKEN: &str = "tok-first-3f9a1c";
const SECOND_TOKEN: &str = "tok-second-77b2e0d4";

#[test]
fn pier_env_gives_functions_their_variables_and_masks_secrets_everywhere() {
    let setup = Setup::new();
    let project = setup.project.as_str();
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "home").unwrap();
    std::fs::create_dir(site.path().join("api")).unwrap();
    std::fs::write(
        site.path().join("api/whoami.js"),
        "module.exports = (req, res) => {\n  console.log('calling the bank with', process.env.API_TOKEN);\n  res.setHeader('content-type', 'application/json');\n  res.end(JSON.stringify({ greeting: process.env.GREETING, token: process.env.API_TOKEN }));\n};\n",
    )
    .unwrap();

    let added = setup.run(&["env", "set", "GREETING", "hello", "--project", project]);
    assert!(text(&added).contains("GREETING added"), "{}", text(&added));
    setup.set_secret("API_TOKEN", FIRST_TOKEN);
    let listed = text(&setup.run(&["env", "ls", "--project", project]));
    assert!(listed.contains("GREETING   hello"), "{listed}");
    assert!(listed.contains("API_TOKEN  •••••• (secret)"), "{listed}");
    assert!(!listed.contains(FIRST_TOKEN), "{listed}");
    let as_json: Value =
        pier_tests::stdout_json(&setup.run(&["--json", "env", "ls", "--project", project]));
    assert_eq!(
        as_json["variables"],
        serde_json::json!([
            { "name": "API_TOKEN", "secret": true },
            { "name": "GREETING", "secret": false, "value": "hello" },
        ])
    );
    // A name a function could not be given is refused, with what to do instead.
    let refused = setup
        .pier(&["env", "set", "AWS_REGION", "x", "--project", project])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{said}");
    assert!(
        said.contains("`AWS_REGION` is not a variable name"),
        "{said}"
    );
    assert!(said.contains("hint: use letters, digits"), "{said}");

    let site_arg = site.path().to_str().unwrap();
    setup.run(&["deploy", site_arg, "--project", project, "--prod"]);
    let mut server = setup.pier(&[]);
    let port = pier_tests::free_port();
    let mut server = server
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
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let whoami = |host: &str| -> Value {
        let answer = pier_tests::http::get(addr, &format!("{host}:{port}"), "/api/whoami");
        assert_eq!(answer.status, 200, "{}", answer.text());
        serde_json::from_str(&answer.text()).unwrap()
    };
    let production = whoami(&format!("{project}.localhost"));
    assert_eq!(production["greeting"], "hello");
    assert_eq!(production["token"], FIRST_TOKEN);

    // What the function printed is masked where Pier keeps and shows it.
    let deadline = Instant::now() + Duration::from_secs(5);
    let printed = loop {
        let printed = text(&setup.run(&["logs", "--functions", project]));
        if printed.contains("calling the bank") || Instant::now() > deadline {
            break printed;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        printed.contains("calling the bank with ••••••"),
        "{printed}"
    );
    for dir in [setup.config.path(), setup.store.path(), setup.cache.path()] {
        assert_eq!(files_holding(dir, FIRST_TOKEN), Vec::<String>::new());
    }

    // A new value reaches the next deployment.
    setup.set_secret("API_TOKEN", SECOND_TOKEN);
    let preview: Value =
        pier_tests::stdout_json(&setup.run(&["--json", "deploy", site_arg, "--project", project]));
    let preview_host = preview["preview_url"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://")
        .split(':')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(whoami(&preview_host)["token"], SECOND_TOKEN);

    // Removed: the next deployment's function no longer has it.
    setup.run(&["env", "rm", "API_TOKEN", "--project", project]);
    let listed = text(&setup.run(&["env", "ls", "--project", project]));
    assert!(!listed.contains("API_TOKEN"), "{listed}");
    setup.run(&["deploy", site_arg, "--project", project, "--prod"]);
    // `pier serve` re-reads a project's production alias after 150 ms, so the promote may take
    // that long to show.
    let deadline = Instant::now() + Duration::from_secs(2);
    let production = loop {
        let production = whoami(&format!("{project}.localhost"));
        if production.get("token").is_none() || Instant::now() > deadline {
            break production;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(production["greeting"], "hello");
    assert_eq!(production.get("token"), None, "{production}");
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn a_build_gets_the_variables_and_its_log_masks_the_secrets() {
    let setup = Setup::new();
    let project = setup.project.as_str();
    let source = tempfile::tempdir().unwrap();
    std::fs::write(
        source.path().join("package.json"),
        r#"{ "name": "env-build", "private": true, "scripts": { "build": "node build.js" } }"#,
    )
    .unwrap();
    std::fs::write(
        source.path().join("build.js"),
        "const fs = require('fs');\nconsole.log('using token', process.env.API_TOKEN);\nfs.mkdirSync('dist', { recursive: true });\nfs.writeFileSync('dist/index.html', `greeting: ${process.env.GREETING}, token length: ${process.env.API_TOKEN.length}`);\n",
    )
    .unwrap();
    setup.run(&["env", "set", "GREETING", "hi", "--project", project]);
    setup.set_secret("API_TOKEN", FIRST_TOKEN);
    let built = setup.run(&[
        "deploy",
        source.path().to_str().unwrap(),
        "--project",
        project,
        "--prod",
    ]);
    let terminal = format!("{}{}", text(&built), String::from_utf8_lossy(&built.stderr));
    assert!(terminal.contains("using token ••••••"), "{terminal}");
    assert!(!terminal.contains(FIRST_TOKEN), "{terminal}");
    let site = std::fs::read_to_string(
        walk(setup.store.path())
            .into_iter()
            .find(|path| {
                std::fs::read_to_string(path).is_ok_and(|text| text.starts_with("greeting:"))
            })
            .expect("the built page is in the store"),
    )
    .unwrap();
    assert_eq!(
        site,
        format!("greeting: hi, token length: {}", FIRST_TOKEN.len())
    );
    // The archived build log is masked too.
    assert_eq!(
        files_holding(setup.store.path(), FIRST_TOKEN),
        Vec::<String>::new()
    );
}

//! The `pier` binary as a user runs it: exit codes, messages with hints, `--json`, and a
//! deploy killed part way.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use pier_tests::{Moto, aws_test_env, many_files};
use serde_json::Value;

fn pier(store: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pier"));
    command
        .args(["--store", store])
        .args(args)
        .env("PIER_CONFIG", "/nonexistent/pier-test-config.toml")
        .env_remove("PIER_STORE")
        .env_remove("PIER_BASE_URL")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .envs(aws_test_env());
    command
}

/// `pier serve` on a free port, started from `command` (`pier` with its store), once it answers.
fn serve(mut command: Command, stdout: Stdio) -> (std::process::Child, u16) {
    let port = pier_tests::free_port();
    let server = command
        .args(["serve", "--port", &port.to_string()])
        .stdout(stdout)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        pier_tests::wait_for_http(port, "/health", Duration::from_secs(20)),
        "pier serve did not start"
    );
    (server, port)
}

fn run(store: &str, args: &[&str]) -> Output {
    pier(store, args).output().expect("pier runs")
}

fn json(output: &Output) -> Value {
    pier_tests::stdout_json(output)
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs and expects failure with a message and a hint on stderr.
fn fails_with(store: &str, args: &[&str], message: &str, hint: &str) {
    let output = run(store, args);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{args:?}: {text}");
    assert!(
        text.contains(message),
        "{args:?}: expected `{message}` in: {text}"
    );
    assert!(
        text.contains(&format!("hint: {hint}")),
        "{args:?}: expected hint `{hint}` in: {text}"
    );
}

#[test]
fn deploy_promote_rollback_and_remove_from_the_command_line() {
    let store = tempfile::tempdir().unwrap();
    let store = store.path().to_str().unwrap();
    let parent = tempfile::tempdir().unwrap();
    let site = parent.path().join("My Site");
    std::fs::create_dir(&site).unwrap();
    std::fs::write(site.join("index.html"), "one").unwrap();
    let site_arg = site.to_str().unwrap();

    let first = run(store, &["deploy", site_arg, "--prod", "--json"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let first = json(&first);
    assert_eq!(
        first["deployment"]["project"], "my-site",
        "named after the folder"
    );
    let first_id = first["deployment"]["id"].as_str().unwrap().to_string();
    let preview = first["deployment"]["preview"].as_str().unwrap();
    assert_eq!(
        first["preview_url"],
        format!("http://{preview}.localhost:4800")
    );
    assert_eq!(first["production_url"], "http://my-site.localhost:4800");

    std::fs::write(site.join("index.html"), "two").unwrap();
    let second = run(store, &["deploy", site_arg]);
    let text = String::from_utf8_lossy(&second.stdout).into_owned();
    assert!(second.status.success());
    assert!(
        text.contains("uploaded 1 new of 1 distinct files"),
        "{text}"
    );
    assert!(
        text.contains("pier promote"),
        "a preview deploy says how to promote: {text}"
    );

    let listing = json(&run(store, &["ls", "my-site", "--json"]));
    let rows = listing["deployments"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[1]["production"], true,
        "the first deploy is still live"
    );
    let second_id = rows[0]["id"].as_str().unwrap().to_string();

    let promoted = json(&run(store, &["promote", &second_id, "--json"]));
    assert_eq!(promoted["alias"]["to"], second_id.as_str());
    let rolled = json(&run(store, &["rollback", "my-site", "--json"]));
    assert_eq!(rolled["alias"]["to"], first_id.as_str());

    let inspected = json(&run(store, &["inspect", preview, "--json"]));
    assert_eq!(inspected["deployment"]["files"][0]["path"], "index.html");
    assert_eq!(inspected["production"], true);

    fails_with(
        store,
        &["rm", &first_id],
        "is what `my-site` serves in production",
        "promote another deployment or roll back first",
    );
    assert!(run(store, &["rm", &second_id]).status.success());
    let gc = json(&run(store, &["gc", "--json"]));
    assert_eq!(gc["gc"]["blobs_deleted"], 1);
    let projects = json(&run(store, &["ls", "--json"]));
    assert_eq!(projects["projects"][0]["name"], "my-site");
    assert_eq!(projects["projects"][0]["deployments"], 1);
}

#[test]
fn bad_input_gets_one_clear_message_a_hint_and_a_failure_code() {
    let store = tempfile::tempdir().unwrap();
    let store = store.path().to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("page.html");
    std::fs::write(&file, "x").unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();

    fails_with(
        store,
        &["deploy", "/no/such/folder"],
        "does not exist",
        "check the path",
    );
    fails_with(
        store,
        &["deploy", file.to_str().unwrap()],
        "is not a folder",
        "pass the folder",
    );
    fails_with(
        store,
        &["deploy", empty.to_str().unwrap()],
        "has no files",
        "add your built site",
    );
    fails_with(
        store,
        &["deploy", dir.path().to_str().unwrap(), "--project=-bad-"],
        "may not start or end with '-'",
        "use 1-54 characters",
    );
    fails_with(
        store,
        &["deploy", dir.path().to_str().unwrap(), "--project", "UPPER"],
        "upper-case",
        "use 1-54 characters",
    );
    fails_with(
        store,
        &["inspect", "nope-12345678"],
        "no deployment `nope-12345678`",
        "run `pier ls`",
    );
    fails_with(
        store,
        &["promote", "0000000000aaaaaaaaaa"],
        "no deployment",
        "run `pier ls`",
    );
    fails_with(
        store,
        &["ls", "ghost"],
        "no project `ghost`",
        "run `pier ls`",
    );
    fails_with(
        store,
        &["rollback", "ghost"],
        "no project `ghost`",
        "run `pier ls`",
    );
    fails_with(
        "s3://Bad_Bucket",
        &["ls"],
        "is not valid",
        "use a folder path",
    );

    let output = run(store, &["inspect", "nope-12345678", "--json"]);
    assert_eq!(output.status.code(), Some(1));
    let error = json(&output);
    assert!(error["error"].as_str().unwrap().contains("no deployment"));
    assert_eq!(error["hint"], "run `pier ls` to see deployment ids");
    assert!(
        std::fs::read_dir(store).unwrap().all(|entry| {
            let name = entry.unwrap().file_name();
            name == ".tmp" || name == ".lock"
        }),
        "nothing was written"
    );
}

#[test]
fn s3_problems_are_named_with_what_to_do() {
    let moto = Moto::start();
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "x").unwrap();
    let site = site.path().to_str().unwrap();

    fails_with(
        &moto.store_url("missing-bucket"),
        &["deploy", site],
        "the bucket `missing-bucket` does not exist",
        "check the bucket name",
    );
    let closed = format!(
        "s3://bucket/pier?endpoint=http://127.0.0.1:{}",
        pier_tests::free_port()
    );
    fails_with(
        &closed,
        &["deploy", site],
        "could not be reached",
        "check your network",
    );

    let output = pier(&moto.store_url("any-bucket"), &["deploy", site])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .output()
        .unwrap();
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("no usable AWS credentials"), "{text}");
    assert!(text.contains("hint: set AWS_PROFILE"), "{text}");
}

#[test]
fn expired_credentials_say_sign_in_again() {
    let moto = Moto::start();
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config");
    // A credential process that hands out credentials which expired long ago, as an SSO
    // session does once its token lapses.
    std::fs::write(
        &config,
        "[profile stale]\nregion = us-east-1\ncredential_process = printf '{\"Version\":1,\"AccessKeyId\":\"AKIASTALE\",\"SecretAccessKey\":\"s\",\"SessionToken\":\"t\",\"Expiration\":\"2001-01-01T00:00:00Z\"}'\n",
    )
    .unwrap();
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "x").unwrap();
    let output = pier(
        &moto.store_url("any-bucket"),
        &["deploy", site.path().to_str().unwrap()],
    )
    .env_remove("AWS_ACCESS_KEY_ID")
    .env_remove("AWS_SECRET_ACCESS_KEY")
    .env("AWS_CONFIG_FILE", &config)
    .env("AWS_PROFILE", "stale")
    .output()
    .unwrap();
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("expired"), "{text}");
    assert!(text.contains("hint: sign in again"), "{text}");
}

/// A deploy killed in the middle of its uploads leaves production serving the previous
/// deployment, complete; running it again finishes the job.
#[test]
fn a_killed_deploy_leaves_production_whole_and_a_rerun_finishes() {
    let moto = Moto::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store = runtime.block_on(moto.bucket("killed"));
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "v1").unwrap();
    let site_arg = site.path().to_str().unwrap();
    let v1 = json(&run(
        &store,
        &["deploy", site_arg, "--project", "app", "--prod", "--json"],
    ));
    let v1_id = v1["deployment"]["id"].as_str().unwrap().to_string();

    many_files(site.path(), 1500, 2000);
    let mut child = pier(&store, &["deploy", site_arg, "--project", "app", "--prod"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = runtime.block_on(moto.s3_client());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let listed = runtime
            .block_on(
                client
                    .list_objects_v2()
                    .bucket("killed")
                    .prefix("pier/blobs/")
                    .send(),
            )
            .unwrap();
        if listed.key_count().unwrap_or(0) > 50 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the deploy never started uploading"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the deploy finished too fast to kill"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let listing = json(&run(&store, &["ls", "app", "--json"]));
    let rows = listing["deployments"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "the killed deploy is not a deployment");
    assert_eq!(rows[0]["id"], v1_id.as_str());
    assert_eq!(rows[0]["production"], true);
    assert_blobs_present(&runtime, &client, &store, &v1_id);

    let v2 = run(
        &store,
        &["deploy", site_arg, "--project", "app", "--prod", "--json"],
    );
    assert!(v2.status.success(), "{}", stderr(&v2));
    let v2 = json(&v2);
    let uploaded = v2["deployment"]["uploaded_blobs"].as_u64().unwrap();
    assert!(
        uploaded < 1500,
        "the rerun reuses the blobs that landed ({uploaded})"
    );
    let v2_id = v2["deployment"]["id"].as_str().unwrap().to_string();
    assert_eq!(v2["deployment"]["promoted"]["to"], v2_id.as_str());
    assert_blobs_present(&runtime, &client, &store, &v2_id);
}

fn assert_blobs_present(
    runtime: &tokio::runtime::Runtime,
    client: &aws_sdk_s3::Client,
    store: &str,
    id: &str,
) {
    let inspected = json(&run(store, &["inspect", id, "--json"]));
    for file in inspected["deployment"]["files"].as_array().unwrap() {
        let key = format!("pier/blobs/{}", file["sha256"].as_str().unwrap());
        runtime
            .block_on(client.head_object().bucket("killed").key(&key).send())
            .unwrap_or_else(|_| panic!("blob of {} is missing", file["path"]));
    }
}

/// The embedded default end to end: deploy, then `pier serve` answers on
/// `<project>.localhost:<port>`, and a promote shows up without restarting it.
#[test]
fn pier_serve_serves_what_pier_deploy_deployed() {
    let store = tempfile::tempdir().unwrap();
    let store = store.path().to_str().unwrap();
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "<h1>first</h1>").unwrap();
    let site_arg = site.path().to_str().unwrap();
    let first = json(&run(
        store,
        &["deploy", site_arg, "--project", "hello", "--prod", "--json"],
    ));
    assert_eq!(first["production_url"], "http://hello.localhost:4800");

    let (mut server, port) = serve(pier(store, &[]), Stdio::piped());
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let host = format!("hello.localhost:{port}");
    let page = pier_tests::http::get(addr, &host, "/");
    assert_eq!((page.status, page.text().as_str()), (200, "<h1>first</h1>"));

    std::fs::write(site.path().join("index.html"), "<h1>second</h1>").unwrap();
    let second = json(&run(
        store,
        &["deploy", site_arg, "--project", "hello", "--json"],
    ));
    let preview = second["deployment"]["preview"].as_str().unwrap();
    let preview_page = pier_tests::http::get(addr, &format!("{preview}.localhost:{port}"), "/");
    assert_eq!(preview_page.text(), "<h1>second</h1>");
    assert!(run(store, &["promote", preview]).status.success());
    let deadline = Instant::now() + Duration::from_secs(5);
    while pier_tests::http::get(addr, &host, "/").text() != "<h1>second</h1>" {
        assert!(
            Instant::now() < deadline,
            "the promote never became visible"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server.kill().unwrap();
    let mut banner = String::new();
    std::io::Read::read_to_string(server.stdout.as_mut().unwrap(), &mut banner).unwrap();
    server.wait().unwrap();
    assert!(
        banner.contains(&format!("http://hello.localhost:{port}")),
        "{banner}"
    );
}

/// `pier serve` runs a function; `pier logs --functions` (another process) shows what it printed.
#[test]
fn pier_logs_functions_shows_what_the_served_functions_printed() {
    let store = tempfile::tempdir().unwrap();
    let store = store.path().to_str().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "home").unwrap();
    std::fs::create_dir(site.path().join("api")).unwrap();
    std::fs::write(
        site.path().join("api/hello.js"),
        "module.exports = (req, res) => { console.log('order', req.query.id, 'paid');\n  console.error('card declined once'); res.end('ok'); };\n",
    )
    .unwrap();
    let site_arg = site.path().to_str().unwrap();
    assert!(
        run(store, &["deploy", site_arg, "--project", "shop", "--prod"])
            .status
            .success()
    );
    let mut command = pier(store, &[]);
    command.env("XDG_CACHE_HOME", cache.path());
    let (mut server, port) = serve(command, Stdio::null());
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let answer = pier_tests::http::get(addr, &format!("shop.localhost:{port}"), "/api/hello?id=42");
    assert_eq!((answer.status, answer.text().as_str()), (200, "ok"));

    let logs = |args: &[&str]| {
        let mut all = vec!["logs", "--functions", "shop"];
        all.extend(args);
        pier(store, &all)
            .env("XDG_CACHE_HOME", cache.path())
            .output()
            .unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    let printed = loop {
        let output = logs(&[]);
        assert!(output.status.success(), "{}", stderr(&output));
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        if text.contains("card declined once") || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(printed.contains("/api/hello (shop-"), "{printed}");
    assert!(printed.contains("│ order 42 paid"), "{printed}");
    assert!(printed.contains("┃ card declined once"), "{printed}");
    // stdout and stderr arrive through two pipes: their order between each other is not kept.
    let as_json = json(&logs(&["--json"]));
    let lines = as_json["lines"].as_array().unwrap();
    let stream_of = |text: &str| {
        lines
            .iter()
            .find(|line| line["text"] == text)
            .map(|line| line["stream"].clone())
    };
    assert_eq!(
        stream_of("order 42 paid"),
        Some("stdout".into()),
        "{lines:?}"
    );
    assert_eq!(
        stream_of("card declined once"),
        Some("stderr".into()),
        "{lines:?}"
    );
    // Nothing from before --since.
    std::thread::sleep(Duration::from_millis(1100));
    let none = json(&logs(&["--since", "1s", "--json"]));
    assert_eq!(none["lines"], serde_json::json!([]));
    server.kill().unwrap();
    server.wait().unwrap();
}

/// A real Vite project, installed from the npm registry and built by `pier deploy`.
#[test]
fn pier_deploy_builds_a_vite_source_tree_and_keeps_its_log() {
    let store = tempfile::tempdir().unwrap();
    let store = store.path().to_str().unwrap();
    let source = tempfile::tempdir().unwrap();
    let root = source.path();
    std::fs::write(
        root.join("package.json"),
        r#"{"name":"vite-app","private":true,"type":"module",
            "scripts":{"build":"vite build"},"devDependencies":{"vite":"^5.4.0"}}"#,
    )
    .unwrap();
    std::fs::write(
        root.join("index.html"),
        "<!doctype html><title>vite</title><div id=app></div><script type=module src=/main.js></script>",
    )
    .unwrap();
    std::fs::write(
        root.join("main.js"),
        "document.querySelector('#app').textContent = 'built with ' + 'vite';",
    )
    .unwrap();

    let output = run(
        store,
        &["deploy", root.to_str().unwrap(), "--prod", "--json"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let deployed = json(&output);
    let id = deployed["deployment"]["id"].as_str().unwrap().to_string();
    let project = deployed["deployment"]["project"].as_str().unwrap();
    assert!(
        !project.is_empty() && project != "dist",
        "named after the source folder, not its output: {project}"
    );
    let inspected = json(&run(store, &["inspect", &id, "--json"]));
    let paths: Vec<&str> = inspected["deployment"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"index.html"), "{paths:?}");
    assert!(
        paths
            .iter()
            .any(|p| p.starts_with("assets/index-") && p.ends_with(".js")),
        "the bundle is deployed: {paths:?}"
    );
    assert!(!paths.iter().any(|p| p.contains("node_modules")));

    // The build is the newest in the list of builds, ready, with how long it took.
    let builds = json(&run(store, &["logs", "--json"]));
    let newest = &builds["builds"][0];
    assert_eq!(newest["deployment"], id.as_str(), "{builds}");
    assert_eq!(newest["project"], project);
    assert_eq!(newest["status"], "ready");
    assert!(newest["ended_ms"].as_i64() >= newest["started_ms"].as_i64());
    let listed = run(store, &["logs"]);
    let table = String::from_utf8_lossy(&listed.stdout);
    assert!(
        table
            .lines()
            .nth(1)
            .is_some_and(|line| line.starts_with(&id) && line.contains("ready")),
        "{table}"
    );
    let log = json(&run(store, &["logs", &id, "--json"]));
    let text = log["log"].to_string();
    assert!(text.contains("npm install"), "the install is in the log");
    assert!(
        text.contains("vite build") || text.contains("vite v5"),
        "{text}"
    );
    assert!(text.contains("\"ready\""), "the log ends ready");
}

#[test]
fn a_failing_build_from_the_cli_says_why_and_deploys_nothing() {
    let store = tempfile::tempdir().unwrap();
    let store = store.path().to_str().unwrap();
    let source = tempfile::tempdir().unwrap();
    std::fs::write(
        source.path().join("package.json"),
        r#"{"name":"broken","scripts":{"build":"node -e \"console.error('SyntaxError: nope'); process.exit(2)\""}}"#,
    )
    .unwrap();
    let output = run(
        store,
        &[
            "deploy",
            source.path().to_str().unwrap(),
            "--project",
            "broken",
            "--prod",
        ],
    );
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("SyntaxError: nope"),
        "stderr is streamed: {text}"
    );
    assert!(text.contains("exited with status 2"), "{text}");
    assert!(text.contains("hint: read the build log"), "{text}");
    let listing = run(store, &["ls", "broken", "--json"]);
    assert_eq!(listing.status.code(), Some(1), "no deployment, no project");
}

#[test]
fn git_sources_are_cloned_shallow_and_bad_ones_explained() {
    let store = tempfile::tempdir().unwrap();
    let store = store.path().to_str().unwrap();
    let repo = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let status = Command::new("git")
            .args(args)
            .current_dir(repo.path())
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .unwrap();
        assert!(
            status.status.success(),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );
    };
    git(&["init", "-q", "-b", "main"]);
    std::fs::write(repo.path().join("index.html"), "<h1>from git</h1>").unwrap();
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "site"]);
    let url = format!("file://{}", repo.path().display());

    let output = run(
        store,
        &[
            "deploy",
            "--git",
            &url,
            "--ref",
            "main",
            "--project",
            "from-git",
            "--json",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let deployed = json(&output);
    assert_eq!(deployed["deployment"]["source"]["kind"], "git");
    assert_eq!(deployed["deployment"]["file_count"], 1);

    fails_with(
        store,
        &[
            "deploy",
            "--git",
            &url,
            "--ref",
            "no-such-branch",
            "--project",
            "from-git",
        ],
        "does not exist",
        "read the build log",
    );
    fails_with(
        store,
        &[
            "deploy",
            "--git",
            "file:///nowhere/repo.git",
            "--project",
            "from-git",
        ],
        "cannot be reached or does not exist",
        "read the build log",
    );
    fails_with(
        store,
        &[
            "deploy",
            "--git=--upload-pack=touch /tmp/pwned",
            "--project",
            "x",
        ],
        "not allowed",
        "pass a repository URL",
    );
}

/// Builds publish to Redis when it answers, so `pier logs` elsewhere can follow; with Redis
/// down they warn, keep going, and the log is still archived.
#[test]
fn build_logs_go_to_redis_when_it_answers_and_are_archived_either_way() {
    let store = tempfile::tempdir().unwrap();
    let store = store.path().to_str().unwrap();
    let source = tempfile::tempdir().unwrap();
    std::fs::write(
        source.path().join("package.json"),
        r#"{"name":"logged","scripts":{"build":"node -e \"require('fs').mkdirSync('dist',{recursive:true});require('fs').writeFileSync('dist/index.html','ok');console.log('hello from the build')\""}}"#,
    )
    .unwrap();
    let dir = source.path().to_str().unwrap();

    let redis = pier_tests::Redis::start();
    let output = pier(store, &["deploy", dir, "--project", "logged", "--json"])
        .env("PIER_REDIS_URL", redis.url())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let id = json(&output)["deployment"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let from_redis = pier(store, &["logs", &id, "--json"])
        .env("PIER_REDIS_URL", redis.url())
        .output()
        .unwrap();
    assert!(
        json(&from_redis)["log"]
            .to_string()
            .contains("hello from the build")
    );

    let down = format!("redis://:hunter2@127.0.0.1:{}", pier_tests::free_port());
    let output = pier(store, &["deploy", dir, "--project", "logged", "--json"])
        .env("PIER_REDIS_URL", &down)
        .output()
        .unwrap();
    let text = stderr(&output);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("warning: Redis at"), "{text}");
    assert!(
        !text.contains("hunter2"),
        "the password never shows: {text}"
    );
    let id = json(&output)["deployment"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let archived = json(&run(store, &["logs", &id, "--json"]));
    assert!(archived["log"].to_string().contains("hello from the build"));
}

#[tokio::test(flavor = "multi_thread")]
async fn deploy_with_the_queue_runner_ships_the_folder_to_a_builder_worker_and_follows_it() {
    use std::sync::Arc;
    let moto = Moto::start();
    let redis = pier_tests::Redis::start();
    let queues = pier_tests::queues::BuildQueues::create(&moto, 3).await;
    let (store, store_dir) = pier_tests::local_store().await;
    let source = tempfile::tempdir().unwrap();
    std::fs::write(
        source.path().join("package.json"),
        r#"{"name":"queued","scripts":{"build":"node -e \"require('fs').mkdirSync('dist',{recursive:true});require('fs').writeFileSync('dist/index.html','built remotely');console.log('hello from the builder')\""}}"#,
    )
    .unwrap();
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        config.path(),
        format!(
            "[builds]\nrunner = \"queue\"\nqueue_url = \"{}\"\n",
            queues.work
        ),
    )
    .unwrap();

    // A builder worker, as the builder image runs it, on the same store and Redis.
    let shutdown = tokio_util::sync::CancellationToken::new();
    let work = tempfile::tempdir().unwrap();
    let worker = tokio::spawn(pier_core::builds::worker::work(
        pier_core::builds::queue::BuildQueue::connect(&queues.work, Some(&moto.endpoint)).await,
        pier_core::regions::Regions::single(store.clone()),
        Arc::new(
            pier_core::logs::redis::RedisLogs::open(&redis.url(), Duration::from_secs(600))
                .unwrap(),
        ),
        pier_core::builds::worker::WorkerOptions {
            poll: Duration::from_secs(1),
            workdir: work.path().to_path_buf(),
            store_cache: false,
            ..Default::default()
        },
        Arc::default(),
        shutdown.clone(),
    ));

    let store_path = store_dir.path().to_str().unwrap().to_string();
    let dir = source.path().to_str().unwrap().to_string();
    let (endpoint, redis_url, config_path) = (
        moto.endpoint.clone(),
        redis.url(),
        config.path().to_path_buf(),
    );
    let output = tokio::task::spawn_blocking(move || {
        pier(
            &store_path,
            &["deploy", &dir, "--project", "queued", "--prod"],
        )
        .env("PIER_CONFIG", config_path)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("PIER_REDIS_URL", redis_url)
        .output()
        .unwrap()
    })
    .await
    .unwrap();
    shutdown.cancel();
    worker.await.unwrap().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", stderr(&output));
    // The worker's build log reached this terminal live, and the result names its URLs.
    let streamed = format!("{stdout}{}", stderr(&output));
    assert!(streamed.contains("hello from the builder"), "{streamed}");
    assert!(stdout.contains("Built and deployed queued"), "{stdout}");
    assert!(stdout.contains("http://queued.localhost:4800"), "{stdout}");
    let alias = pier_core::alias::read(store.as_ref(), "queued")
        .await
        .unwrap()
        .unwrap();
    let live =
        pier_core::deployments::resolve(store.as_ref(), alias.production.as_deref().unwrap())
            .await
            .unwrap();
    assert!(matches!(
        live.source,
        pier_core::manifest::Source::Folder { .. }
    ));
    assert_eq!(queues.depth(&queues.work).await, 0);

    // Without a queue configured, the runner says what to set up.
    let bare = run(
        store_dir.path().to_str().unwrap(),
        &[
            "deploy",
            source.path().to_str().unwrap(),
            "--runner",
            "queue",
        ],
    );
    assert_eq!(bare.status.code(), Some(1));
    assert!(
        stderr(&bare).contains("hint: run `pier setup aws` first"),
        "{}",
        stderr(&bare)
    );
}

//! The hosted half as a user's account runs it, on this machine: `pier setup aws` against
//! moto registers the task definitions, and the proxy and builder images (this build's
//! binaries on stand-in bases made from Debian packages) run from those definitions in a real
//! Docker Engine, exactly as ECS would start them. Then the cloud in a box: a Vite template
//! from npm, deployed with `--runner queue`, is built inside a builder container, served by
//! the proxy container, promoted and rolled back; a builder killed mid-build gives its job
//! back, and the other builder finishes it with a log that has every line once, in order.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use pier_tests::containers::{
    Container, Engine, HostAdapter, Images, TaskContainer, exclusive, run_task_definition,
};
use pier_tests::{Moto, Redis, aws_test_env, http};
use serde_json::Value;

const BASE_DOMAIN: &str = "sites.example.com";
/// Where the proxy's task definition listens (`setup::network::PROXY_PORT`).
const PROXY: ([u8; 4], u16) = ([127, 0, 0, 1], 8080);

/// An AWS account in moto after `pier setup aws`, with Pier's config pointing at it.
struct Account {
    moto: Moto,
    redis: Redis,
    config_dir: tempfile::TempDir,
}

impl Account {
    /// Runs `pier setup aws` as a user would (again while a step waits on the certificate).
    fn set_up(images: &Images, job_visibility_secs: u32) -> Account {
        let moto = Moto::start();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(moto.hosted_zone("example.com"));
        let redis = Redis::start();
        let account = Account {
            moto,
            redis,
            config_dir: tempfile::tempdir().unwrap(),
        };
        let record = account.config_dir.path().join("aws-record.json");
        let visibility = job_visibility_secs.to_string();
        let redis_url = account.redis.url();
        let args = [
            "setup",
            "aws",
            "--base-domain",
            BASE_DOMAIN,
            "--region",
            "us-east-1",
            "--proxy-image",
            &images.proxy,
            "--builder-image",
            &images.builder,
            "--builder-redis-url",
            &redis_url,
            "--job-visibility-secs",
            &visibility,
            "--record",
            record.to_str().unwrap(),
        ];
        for attempt in 0.. {
            let output = account.pier(&args).output().unwrap();
            let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
            assert!(output.status.success(), "{stdout}\n{}", stderr(&output));
            if !stdout.contains("run the same command again") {
                break;
            }
            assert!(attempt < 10, "setup kept waiting: {stdout}");
            std::thread::sleep(Duration::from_millis(1500));
        }
        account
    }

    fn pier(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_pier"));
        command
            .args(args)
            .env("PIER_CONFIG", self.config_dir.path().join("config.toml"))
            .env("AWS_ENDPOINT_URL", &self.moto.endpoint)
            .env("PIER_REDIS_URL", self.redis.url())
            .env_remove("PIER_STORE")
            .env_remove("PIER_BASE_URL")
            .env_remove("AWS_PROFILE")
            .envs(aws_test_env());
        command
    }

    fn pier_json(&self, args: &[&str]) -> Value {
        let output = self.pier(args).arg("--json").output().unwrap();
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        serde_json::from_slice(&output.stdout).unwrap()
    }

    async fn task(&self, family: &str) -> TaskContainer {
        TaskContainer::describe(&self.moto, family).await
    }
}

/// Starts `task` in the engine as ECS would start it, or panics saying why it did not start.
async fn start_task(
    engine: &Engine,
    moto: &Moto,
    task: &TaskContainer,
    adapter: &HostAdapter,
) -> Container {
    run_task_definition(engine, moto, task, adapter, Duration::from_secs(60))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn proxy_get(host: &str, path: &str) -> http::Response {
    http::get(SocketAddr::from(PROXY), host, path)
}

/// Polls the proxy until `host` answers 200 with `expected` in its body.
fn wait_until_served(host: &str, expected: &str, limit: Duration) -> http::Response {
    let deadline = Instant::now() + limit;
    loop {
        let response = proxy_get(host, "/");
        if response.status == 200 && response.text().contains(expected) {
            return response;
        }
        assert!(
            Instant::now() < deadline,
            "{host} did not serve `{expected}` within {} s; last answer {}: {}",
            limit.as_secs(),
            response.status,
            response.text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn static_site(dir: &Path, text: &str) {
    std::fs::write(
        dir.join("index.html"),
        format!("<!doctype html><title>{text}</title><p>{text}</p>"),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_task_definitions_setup_registers_run_as_ecs_would_start_them() {
    let _slot = exclusive();
    let engine = Engine::get();
    let images = engine.images();
    let account = tokio::task::block_in_place(|| Account::set_up(&images, 120));
    let moto = &account.moto;

    // The proxy: its image, non-root user, read-only root, ports and health check.
    let proxy_task = account.task("pier-proxy").await;
    assert_eq!(proxy_task.user.as_deref(), Some("65532:65532"));
    assert!(proxy_task.read_only_root);
    assert_eq!(proxy_task.ports, [8080, 9090]);
    let proxy = start_task(engine, moto, &proxy_task, &HostAdapter::default()).await;
    let inside = engine
        .run(&["inspect", "-f", "{{.Config.User}}", &proxy.id])
        .unwrap();
    assert_eq!(inside, "65532:65532", "the proxy never runs as root");

    // What it serves comes from the store setup made, read with the task's own settings.
    let site = tempfile::tempdir().unwrap();
    static_site(site.path(), "hello from the hosted proxy");
    tokio::task::block_in_place(|| {
        account.pier_json(&[
            "deploy",
            site.path().to_str().unwrap(),
            "--project",
            "hello",
            "--prod",
        ])
    });
    let host = format!("hello.{BASE_DOMAIN}");
    wait_until_served(
        &host,
        "hello from the hosted proxy",
        Duration::from_secs(10),
    );
    assert_eq!(proxy_get(&format!("nobody.{BASE_DOMAIN}"), "/").status, 404);

    // The builder: non-root, the Redis URL resolved from Secrets Manager (never plain in the
    // definition), the queue settings setup made; it keeps running, waiting for jobs.
    let builder_task = account.task("pier-builder").await;
    assert_eq!(builder_task.user.as_deref(), Some("10001:10001"));
    assert_eq!(builder_task.command, ["worker"]);
    assert!(
        builder_task
            .environment
            .iter()
            .all(|(_, value)| !value.contains("redis://")),
        "no Redis URL in plain environment: {:?}",
        builder_task.environment
    );
    assert_eq!(builder_task.secrets.len(), 1, "{:?}", builder_task.secrets);
    assert_eq!(builder_task.secrets[0].0, "PIER_REDIS_URL");
    let builder = start_task(
        engine,
        moto,
        &builder_task,
        &HostAdapter::host_certificates(),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        builder.is_running(),
        "the builder worker stays up waiting for jobs: {}",
        builder.logs()
    );
    drop(builder);
    drop(proxy);

    // A definition that names a missing image, a port the image does not listen on, or a
    // command the binary does not know fails here, saying which.
    let start_broken = async |family: &str, broken: TaskContainer, wait_secs: u64| {
        broken.register_as(moto, family).await;
        let task = account.task(family).await;
        let wait = Duration::from_secs(wait_secs);
        run_task_definition(engine, moto, &task, &HostAdapter::default(), wait)
            .await
            .unwrap_err()
    };
    let mut missing_image = proxy_task.clone();
    missing_image.image = "pier-proxy:never-built".into();
    let error = start_broken("broken-image", missing_image, 20).await;
    assert!(
        error.contains("could not start") && error.contains("never-built"),
        "{error}"
    );

    let mut wrong_port = proxy_task.clone();
    wrong_port.ports = vec![8081];
    let error = start_broken("broken-port", wrong_port, 10).await;
    assert!(error.contains("maps port 8081"), "{error}");

    let mut wrong_command = proxy_task.clone();
    wrong_command.command = vec!["serve-everything".into()];
    let error = start_broken("broken-command", wrong_command, 20).await;
    assert!(
        error.contains("exited") && error.contains("serve-everything"),
        "{error}"
    );
}

/// `npm create vite` (the React template, create-vite 7 from npm's registry) into `dir/site`.
fn vite_template(dir: &Path) -> PathBuf {
    let output = Command::new("npm")
        .current_dir(dir)
        .args([
            "create",
            "-y",
            "vite@7.1.3",
            "site",
            "--",
            "--template",
            "react",
        ])
        .env("npm_config_update_notifier", "false")
        .output()
        .expect("npm runs");
    assert!(output.status.success(), "create-vite: {}", stderr(&output));
    let site = dir.join("site");
    assert!(site.join("package.json").is_file());
    site
}

fn set_title(site: &Path, title: &str) {
    let index = site.join("index.html");
    let html = std::fs::read_to_string(&index).unwrap();
    let start = html.find("<title>").unwrap() + "<title>".len();
    let end = html.find("</title>").unwrap();
    std::fs::write(&index, format!("{}{title}{}", &html[..start], &html[end..])).unwrap();
}

/// Which builder's own output says it took `deployment`.
fn holder<'a>(builders: &'a [Container], deployment: &str) -> Option<&'a Container> {
    builders.iter().find(|builder| {
        builder
            .logs()
            .lines()
            .any(|line| line.contains("building") && line.contains(deployment))
    })
}

/// The build's whole log, from the archive in the store, as `(seq, text)`.
async fn archived_log(account: &Account, deployment: &str) -> Vec<(u64, String)> {
    let config = std::fs::read_to_string(account.config_dir.path().join("config.toml")).unwrap();
    let bucket = config
        .lines()
        .find_map(|line| line.strip_prefix("store = \"s3://"))
        .map(|rest| rest.trim_end_matches('"').to_string())
        .expect("setup wrote the store");
    let url = pier_core::store::StoreUrl::parse(&account.moto.store_url(&bucket)).unwrap();
    let url = match url {
        // Setup's store has no prefix; the kit's URL adds one.
        pier_core::store::StoreUrl::S3 {
            bucket, options, ..
        } => pier_core::store::StoreUrl::S3 {
            bucket,
            prefix: String::new(),
            options,
        },
        other => other,
    };
    let store = pier_core::store::open(&url).await.unwrap();
    pier_core::logs::read_archive(store.as_ref(), deployment)
        .await
        .unwrap()
        .expect("the log is archived")
        .into_iter()
        .map(|record| {
            let text = match record.kind {
                pier_core::logs::LogKind::Line { text, .. } => text,
                pier_core::logs::LogKind::Status { message, .. } => message.unwrap_or_default(),
            };
            (record.seq, text)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn cloud_in_a_box_builds_in_a_builder_container_serves_from_the_proxy_container_and_survives_a_killed_builder()
 {
    let _slot = exclusive();
    let engine = Engine::get();
    let images = engine.images();
    // Short enough that a killed builder's job comes back within the test.
    let account = tokio::task::block_in_place(|| Account::set_up(&images, 20));
    let moto = &account.moto;
    let proxy = start_task(
        engine,
        moto,
        &account.task("pier-proxy").await,
        &HostAdapter::default(),
    )
    .await;
    let builder_task = account.task("pier-builder").await;
    let mut builders = Vec::new();
    for _ in 0..2 {
        builders.push(
            start_task(
                engine,
                moto,
                &builder_task,
                &HostAdapter::host_certificates(),
            )
            .await,
        );
    }

    // 1. A source folder, built in a builder container, its log followed live by the CLI.
    let work = tempfile::tempdir().unwrap();
    let site = vite_template(work.path());
    set_title(&site, "Pier in a box, first");
    let site_arg = site.to_str().unwrap().to_string();
    let deploy_on_the_queue = |options: &[&str]| {
        let mut args = vec![
            "deploy",
            &site_arg,
            "--project",
            "boxed",
            "--runner",
            "queue",
        ];
        args.extend_from_slice(options);
        account.pier(&args)
    };
    let first = tokio::task::block_in_place(|| deploy_on_the_queue(&[]).output().unwrap());
    // The build's own lines go to stderr as they arrive; the outcome to stdout.
    let followed = stderr(&first);
    assert!(
        first.status.success(),
        "{}\n{followed}",
        String::from_utf8_lossy(&first.stdout)
    );
    assert!(
        followed.contains("vite") && followed.contains("built in"),
        "the CLI followed the build live: {followed}"
    );
    let rows = tokio::task::block_in_place(|| account.pier_json(&["ls", "boxed"]));
    let first_row = rows["deployments"][0].clone();
    let first_id = first_row["id"].as_str().unwrap().to_string();
    assert!(
        holder(&builders, &first_id).is_some(),
        "a builder container took the job"
    );

    // 2. The proxy container serves it on its preview host, then in production.
    let preview = format!("{}.{BASE_DOMAIN}", first_row["preview"].as_str().unwrap());
    let page = wait_until_served(&preview, "Pier in a box, first", Duration::from_secs(10));
    let script = page
        .text()
        .split("src=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(str::to_string)
        .expect("the built page loads its bundle");
    let bundle = proxy_get(&preview, &script);
    assert_eq!(bundle.status, 200, "the bundle {script} is served");
    assert!(
        bundle
            .header("cache-control")
            .unwrap_or("")
            .contains("immutable")
    );
    tokio::task::block_in_place(|| account.pier_json(&["promote", &first_id]));
    let production = format!("boxed.{BASE_DOMAIN}");
    wait_until_served(&production, "Pier in a box, first", Duration::from_secs(10));

    // 3. A second deployment goes live; a rollback puts the first back within the alias TTL.
    set_title(&site, "Pier in a box, second");
    let second = tokio::task::block_in_place(|| deploy_on_the_queue(&["--prod"]).output().unwrap());
    assert!(second.status.success(), "{}", stderr(&second));
    wait_until_served(
        &production,
        "Pier in a box, second",
        Duration::from_secs(10),
    );
    tokio::task::block_in_place(|| account.pier_json(&["rollback", "boxed"]));
    wait_until_served(&production, "Pier in a box, first", Duration::from_secs(5));

    // 4. The builder that holds a job is killed mid-build: the job comes back after its
    // visibility timeout, the other builder finishes it, and the log has every line once.
    set_title(&site, "Pier in a box, survived");
    let third = deploy_on_the_queue(&[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let (killed_index, deployment) = loop {
        let rows = tokio::task::block_in_place(|| account.pier_json(&["ls", "boxed"]));
        let ids: Vec<String> = rows["deployments"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|row| row["id"].as_str().map(str::to_string))
            .collect();
        // The build has no deployment yet; find the job by the builders' own output.
        let taken = builders.iter().enumerate().find_map(|(index, builder)| {
            builder.logs().lines().rev().find_map(|line| {
                let id = line
                    .split("deployment=")
                    .nth(1)?
                    .split_whitespace()
                    .next()?;
                let id = id.trim_matches('"').to_string();
                (line.contains("building") && !ids.contains(&id)).then_some((index, id))
            })
        });
        if let Some((index, id)) = taken {
            // Let npm get going, so the kill lands in the middle of the build.
            tokio::time::sleep(Duration::from_secs(3)).await;
            break (index, id);
        }
        assert!(Instant::now() < deadline, "no builder took the third job");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    builders[killed_index].kill();
    let survivor = &builders[1 - killed_index];
    let output = tokio::task::spawn_blocking(move || third.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "the deploy finished after the kill: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        stderr(&output)
    );
    assert!(
        survivor
            .logs()
            .lines()
            .any(|line| line.contains("building") && line.contains(&deployment)),
        "the other builder finished the job: {}",
        survivor.logs()
    );
    let rows = tokio::task::block_in_place(|| account.pier_json(&["ls", "boxed"]));
    let third_row = rows["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["id"] == deployment.as_str())
        .cloned()
        .expect("the killed build was deployed in the end");
    let preview = format!("{}.{BASE_DOMAIN}", third_row["preview"].as_str().unwrap());
    wait_until_served(&preview, "Pier in a box, survived", Duration::from_secs(10));
    let log = archived_log(&account, &deployment).await;
    let seqs: Vec<u64> = log.iter().map(|(seq, _)| *seq).collect();
    let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
    assert_eq!(seqs, expected, "every line once, in order");
    assert!(
        log.iter().any(|(_, text)| text.contains("built in")),
        "the log ends with the finished build"
    );
    drop(proxy);
}

/// `pier images build` with the local engine: from binaries built beforehand on the stand-in
/// bases (the default bases and the rust image cannot be pulled here), and a clear refusal
/// where there is no engine at all.
#[tokio::test(flavor = "multi_thread")]
async fn pier_images_build_makes_both_images_or_says_what_to_install() {
    let empty_path = tempfile::tempdir().unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_pier"))
        .args(["images", "build"])
        .env("PATH", empty_path.path())
        .env_remove("PIER_CONTAINER_ENGINE")
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let text = stderr(&refused);
    assert!(text.contains("no container engine here"), "{text}");
    assert!(text.contains("hint: install Docker Engine"), "{text}");

    let _slot = exclusive();
    let engine = Engine::get();
    // The stand-in bases are made (and cached) with the test images.
    engine.images();
    let repo = pier_tests::repo_root();
    let proxy_binary = pier_tests::containers::workspace_binary("pier-proxy");
    let builder_binary = pier_tests::containers::workspace_binary("pier-builder");
    let output = Command::new(env!("CARGO_BIN_EXE_pier"))
        .args(["images", "build"])
        .envs(engine.client_environment())
        .args([
            "--source",
            repo.to_str().unwrap(),
            "--tag",
            "cli-test",
            "--json",
        ])
        .args(["--proxy-binary", proxy_binary.to_str().unwrap()])
        .args(["--builder-binary", builder_binary.to_str().unwrap()])
        .args(["--proxy-base", "pier-stand-in/cc:debian12"])
        .args(["--builder-base", "pier-stand-in/node:20-trixie"])
        .args(["--network", "host"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let built: Value = serde_json::from_slice(&output.stdout).unwrap();
    let built = built["images"].as_array().unwrap();
    assert_eq!(built.len(), 2);
    for (image, name) in built.iter().zip(["pier-proxy", "pier-builder"]) {
        assert_eq!(image["reference"], format!("{name}:cli-test").as_str());
        assert!(
            image["version"].as_str().unwrap().starts_with(name),
            "it answers --version: {image}"
        );
        let labels = engine
            .run(&[
                "image",
                "inspect",
                "--format",
                "{{index .Config.Labels \"org.opencontainers.image.version\"}} {{.Config.User}}",
                &format!("{name}:cli-test"),
            ])
            .unwrap();
        let (version, user) = labels.split_once(' ').unwrap();
        assert_eq!(version, "cli-test");
        assert!(
            !user.is_empty() && !user.starts_with('0'),
            "non-root: {user}"
        );
    }
}

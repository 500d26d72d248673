//! `pier domains add|ls|rm` as a user runs them, against moto's Route53, ACM and CloudFront
//! (reached through `AWS_ENDPOINT_URL`, as the SDK reads it): a stop while ACM validates, the
//! resumed run, the listing, removal, and the message for a zone the account does not own.

use std::process::{Command, Output};

use aws_sdk_cloudfront::types::{
    CustomOriginConfig, DefaultCacheBehavior, DistributionConfig, Origin, OriginProtocolPolicy,
    Origins, ViewerProtocolPolicy,
};
use pier_tests::{Moto, aws_test_env};
use serde_json::Value;

fn pier(store: &str, endpoint: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pier"))
        .args(["--store", store])
        .args(args)
        .env("PIER_CONFIG", "/nonexistent/pier-test-config.toml")
        .env_remove("PIER_STORE")
        .env_remove("PIER_DISTRIBUTION_ID")
        .env_remove("AWS_PROFILE")
        .envs(aws_test_env())
        .env("AWS_ENDPOINT_URL", endpoint)
        .output()
        .expect("pier runs")
}

fn json(output: &Output) -> Value {
    pier_tests::stdout_json(output)
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

async fn set_up_aws(moto: &Moto) -> String {
    let config = pier_core::aws::loader()
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(&moto.endpoint)
        .load()
        .await;
    moto.hosted_zone("example.com").await;
    let origin = Origin::builder()
        .id("pier-proxy")
        .domain_name("pier-proxy.us-east-1.elb.amazonaws.com")
        .custom_origin_config(
            CustomOriginConfig::builder()
                .http_port(80)
                .https_port(443)
                .origin_protocol_policy(OriginProtocolPolicy::HttpsOnly)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let distribution = DistributionConfig::builder()
        .caller_reference("cli-test")
        .comment("pier")
        .enabled(true)
        .origins(
            Origins::builder()
                .quantity(1)
                .items(origin)
                .build()
                .unwrap(),
        )
        .default_cache_behavior(
            DefaultCacheBehavior::builder()
                .target_origin_id("pier-proxy")
                .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    aws_sdk_cloudfront::Client::new(&config)
        .create_distribution()
        .distribution_config(distribution)
        .send()
        .await
        .unwrap()
        .distribution
        .unwrap()
        .id
}

#[tokio::test]
async fn domains_add_resumes_lists_and_removes_from_the_command_line() {
    // SAFETY: set before moto (a child that inherits it) starts, on the test's one thread.
    unsafe { std::env::set_var("MOTO_ACM_VALIDATION_WAIT", "1") };
    let moto = Moto::start();
    let distribution = set_up_aws(&moto).await;
    let endpoint = moto.endpoint.clone();
    let store_dir = tempfile::tempdir().unwrap();
    let store = store_dir.path().to_str().unwrap().to_string();
    let store_for_serve = store.clone();
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "blog").unwrap();
    let run = move |args: &[&str]| pier(&store, &endpoint, args);
    let add_www_for_blog = |options: &[&str]| {
        let mut args = vec![
            "domains",
            "add",
            "www.example.com",
            "--project",
            "blog",
            "--distribution",
            &distribution,
        ];
        args.extend_from_slice(options);
        run(&args)
    };

    let deployed = run(&[
        "deploy",
        site.path().to_str().unwrap(),
        "--project",
        "blog",
        "--prod",
    ]);
    assert!(deployed.status.success(), "{}", text(&deployed));

    let first = add_www_for_blog(&["--no-wait", "--json"]);
    assert!(first.status.success(), "{}", text(&first));
    let first = json(&first);
    assert_eq!(first["attached"], false);
    assert!(
        first["certificate_arn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:acm:us-east-1")
    );

    let listed = json(&run(&["domains", "ls", "--json"]));
    assert_eq!(listed["domains"][0]["domain"], "www.example.com");
    assert_eq!(listed["domains"][0]["attached"], false);

    let second = add_www_for_blog(&["--wait", "30"]);
    let output = text(&second);
    assert!(second.status.success(), "{output}");
    assert!(output.contains("✓ certificate issued"), "{output}");
    assert!(output.contains("+ CloudFront alias"), "{output}");
    assert!(output.contains("www.example.com serves blog"), "{output}");

    let listed = run(&["domains", "ls"]);
    let output = text(&listed);
    assert!(
        output.contains("www.example.com") && output.contains("attached"),
        "{output}"
    );

    // What CloudFront forwards (its Host header kept) reaches the proxy, which serves the
    // project on the custom host from the store record the wizard wrote.
    let port = pier_tests::free_port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_pier"))
        .args([
            "--store",
            &store_for_serve,
            "serve",
            "--port",
            &port.to_string(),
        ])
        .env("PIER_CONFIG", "/nonexistent/pier-test-config.toml")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        pier_tests::wait_for_http(port, "/health", std::time::Duration::from_secs(20)),
        "pier serve did not start"
    );
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let page = pier_tests::http::get(addr, "www.example.com", "/");
    assert_eq!((page.status, page.text().as_str()), (200, "blog"));
    let stranger = pier_tests::http::get(addr, "shop.example.com", "/");
    assert_eq!(stranger.status, 404, "{}", stranger.text());

    let foreign = run(&[
        "domains",
        "add",
        "shop.example.org",
        "--project",
        "blog",
        "--distribution",
        &distribution,
    ]);
    let output = text(&foreign);
    assert_eq!(foreign.status.code(), Some(1), "{output}");
    assert!(
        output.contains("error: no public Route53 hosted zone"),
        "{output}"
    );
    assert!(output.contains("shop.example.org. CNAME "), "{output}");
    assert!(
        output.contains("hint: create a public hosted zone"),
        "{output}"
    );

    let missing = run(&["domains", "add", "www.example.com", "--project", "blog"]);
    let output = text(&missing);
    assert_eq!(missing.status.code(), Some(1), "{output}");
    assert!(output.contains("hint: pass --distribution ID"), "{output}");

    let removed = run(&["domains", "rm", "www.example.com", "--json"]);
    assert!(removed.status.success(), "{}", text(&removed));
    assert_eq!(json(&removed)["domain"], "www.example.com");
    let listed = json(&run(&["domains", "ls", "--json"]));
    assert_eq!(listed["domains"], Value::Array(vec![]));
    // The proxy follows the store: the removed domain is no longer served.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while pier_tests::http::get(addr, "www.example.com", "/").status != 404 {
        assert!(
            std::time::Instant::now() < deadline,
            "the proxy still serves a removed domain"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    server.kill().unwrap();
    let _ = server.wait();
}

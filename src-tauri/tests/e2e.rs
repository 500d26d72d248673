//! End to end through real WebKit: `tauri-driver` and `WebKitWebDriver` drive the built app
//! under a private Xvfb, against a real local store, a real redis-server and the app's own
//! in-process proxy, fetching deployed URLs over HTTP. One app session walks every screen:
//! bad input, deploy (the drop handler's engine call) → preview served, promote and roll back
//! from the UI, watch → edit → new deployment served, Redis-published log lines appearing as
//! they arrive, OS notifications (through a private D-Bus session with a test notification
//! service). A screenshot of each screen is saved (`PIER_SCREENSHOT_DIR`). Another session
//! checks the habits: the dark palette, the keyboard shortcuts, axe-core on every screen in
//! both themes, and the window's place kept across starts.

use std::path::Path;
use std::time::Duration;

use pier_core::logs::redis::RedisLogs;
use pier_core::logs::{BuildStatus, LogBackend, LogStream, LogWriter};
use pier_e2e::{Desktop, fetch};

fn app() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_pier-desktop"))
}

fn write_site(dir: &Path, body: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("index.html"),
        format!("<!doctype html><h1>{body}</h1>\n"),
    )
    .unwrap();
}

/// Types `dir` on the Deploy screen and starts its deploy (or build).
async fn start_deploy(desktop: &Desktop, dir: &Path) {
    desktop.click("#nav-deploy").await;
    desktop
        .type_into("#deploy-path", &dir.display().to_string())
        .await;
    desktop.click("#deploy-start").await;
}

async fn deploy_from_ui(desktop: &Desktop, dir: &Path) -> (String, String) {
    start_deploy(desktop, dir).await;
    let id = desktop.finished_deployment(pier_e2e::PATIENCE).await;
    let url = desktop.text("#deploy-preview-url a").await;
    (id, url)
}

async fn served_body(desktop: &Desktop, url: &str, expected: &str) -> String {
    desktop
        .until(&format!("{url} to serve `{expected}`"), || async {
            let response = fetch(url);
            let body = response.text();
            (response.status == 200 && body.contains(expected)).then_some(body)
        })
        .await
}

async fn confirm(desktop: &Desktop) {
    desktop.find("#confirm-dialog").await;
    desktop.click("#confirm-yes").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desktop_app_deploys_promotes_watches_and_follows_logs() {
    let redis = pier_tests::Redis::start();
    let notifications = pier_e2e::NotificationBus::start();
    let work = tempfile::tempdir().unwrap();
    let desktop = Desktop::launch(app(), &[notifications.env()]).await;
    desktop.find("#app[data-ready]").await;

    // Bad input: a file instead of a folder, and an empty folder, each say what to do.
    let file = work.path().join("notes.txt");
    std::fs::write(&file, "not a site").unwrap();
    desktop.click("#nav-deploy").await;
    desktop
        .type_into("#deploy-path", &file.display().to_string())
        .await;
    desktop.click("#deploy-start").await;
    let refusal = desktop.text("#deploy-error").await;
    assert!(refusal.contains("is a file, not a folder"), "{refusal}");
    assert!(
        refusal.contains("drop the folder that holds your site"),
        "{refusal}"
    );
    let empty = work.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    desktop
        .type_into("#deploy-path", &empty.display().to_string())
        .await;
    desktop.click("#deploy-start").await;
    desktop
        .until("the empty-folder message", || async {
            let text = desktop.text("#deploy-error").await;
            text.contains("is empty").then_some(())
        })
        .await;

    // Deploy a fixture folder; its preview URL serves it.
    let site = work.path().join("site");
    write_site(&site, "version one");
    let (first, preview) = deploy_from_ui(&desktop, &site).await;
    assert!(preview.starts_with("http://site-"), "{preview}");
    assert!(
        preview.ends_with(&format!(".localhost:{}", desktop.port)),
        "{preview}"
    );
    served_body(&desktop, &preview, "version one").await;
    desktop.screenshot("deploy").await;
    // The desktop's notification service was told, with the preview URL.
    let told = desktop
        .until("a deploy notification", || async {
            notifications
                .shown()
                .into_iter()
                .find(|(summary, _)| summary == "Deployed site")
        })
        .await;
    assert_eq!(told.1, preview);

    // Promote from the Deploy screen: production serves it.
    desktop.click("#deploy-promote").await;
    confirm(&desktop).await;
    let production = format!("http://site.localhost:{}/", desktop.port);
    served_body(&desktop, &production, "version one").await;

    // A second deployment, promoted from the Project screen, then rolled back.
    write_site(&site, "version two");
    let (second, _) = deploy_from_ui(&desktop, &site).await;
    assert_ne!(first, second);
    desktop.click("#nav-projects").await;
    desktop
        .find(".project-row[data-project='site'] .url-text")
        .await;
    assert_eq!(
        desktop
            .text(".project-row[data-project='site'] .url-text")
            .await,
        production.trim_end_matches('/')
    );
    desktop.screenshot("projects").await;
    desktop
        .click(".project-row[data-project='site'] .project-name")
        .await;
    desktop
        .click(&format!(".deployment-row[data-id='{second}'] .promote"))
        .await;
    confirm(&desktop).await;
    served_body(&desktop, &production, "version two").await;
    desktop
        .find(&format!(".deployment-row.production[data-id='{second}']"))
        .await;
    desktop.click("#rollback").await;
    confirm(&desktop).await;
    served_body(&desktop, &production, "version one").await;
    desktop
        .find(&format!(".deployment-row.production[data-id='{first}']"))
        .await;
    desktop.screenshot("project").await;

    // Watch a folder, edit a file: a new deployment appears and serves the change.
    let watched = work.path().join("watched");
    write_site(&watched, "watch one");
    desktop.click("#nav-watch").await;
    desktop
        .type_into("#watch-path", &watched.display().to_string())
        .await;
    desktop.click("#watch-add").await;
    let watch_url = format!("http://watched-watch.localhost:{}/", desktop.port);
    desktop.find(".watch-row .watch-history li").await;
    served_body(&desktop, &watch_url, "watch one").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    write_site(&watched, "watch two");
    desktop
        .until("a second watch deployment", || async {
            (desktop.count(".watch-row .watch-history li").await >= 2).then_some(())
        })
        .await;
    served_body(&desktop, &watch_url, "watch two").await;
    assert_eq!(
        desktop.attr(".watch-row", "data-state").await.as_deref(),
        Some("idle")
    );
    desktop.screenshot("watch").await;
    // Stop watching: the row goes and stays gone; what the watch deployed stays served.
    desktop.click(".watch-row .watch-remove").await;
    desktop
        .until("the watch row to go", || async {
            (desktop.count(".watch-row").await == 0).then_some(())
        })
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        desktop.count(".watch-row").await,
        0,
        "a removed watch came back"
    );
    served_body(&desktop, &watch_url, "watch two").await;

    // Settings: point live logs at Redis, test the connection, save.
    desktop.click("#nav-settings").await;
    desktop.type_into("#redis-url", &redis.url()).await;
    desktop.click("#settings-test").await;
    desktop
        .find("#settings-report[data-ok='true'] li[data-what='redis']")
        .await;
    desktop.screenshot("settings").await;
    desktop.click("#settings-save").await;
    desktop.find("#notice-banner").await;

    // Logs: lines published to Redis show up as they arrive, stderr marked.
    let logs =
        std::sync::Arc::new(RedisLogs::open(&redis.url(), Duration::from_secs(600)).unwrap());
    let id = pier_core::manifest::new_id(time::OffsetDateTime::now_utc());
    let writer = LogWriter::new(&id, logs.clone(), Vec::new());
    writer.status(BuildStatus::Building, None).await;
    for n in 1..=40 {
        writer
            .line(
                LogStream::Stdout,
                &format!("\u{1b}[32mstep {n}\u{1b}[0m compiled"),
            )
            .await;
    }
    writer
        .line(LogStream::Stderr, "error: something went wrong in step 41")
        .await;
    LogBackend::flush(logs.as_ref(), &id).await;
    desktop.click("#nav-logs").await;
    desktop.type_into("#log-deployment", &id).await;
    desktop.click("#log-follow").await;
    desktop
        .until("the first 42 records", || async {
            let lines = desktop.attr("#log-status", "data-lines").await?;
            (lines.parse::<usize>().ok()? >= 42).then_some(())
        })
        .await;
    for n in 43..=300 {
        writer
            .line(LogStream::Stdout, &format!("live line {n}"))
            .await;
    }
    LogBackend::flush(logs.as_ref(), &id).await;
    desktop
        .until("the live lines", || async {
            let lines = desktop.attr("#log-status", "data-lines").await?;
            (lines.parse::<usize>().ok()? >= 300).then_some(())
        })
        .await;
    // Following keeps the newest line in view.
    desktop.find(".log-line[data-seq='300']").await;
    assert!(
        desktop
            .text(".log-line[data-seq='300']")
            .await
            .contains("live line 300")
    );
    desktop.click("#log-first-error").await;
    desktop.find(".log-line.stderr[data-seq='42']").await;
    desktop.screenshot("logs").await;
    writer.status(BuildStatus::Ready, None).await;
    LogBackend::flush(logs.as_ref(), &id).await;
    desktop
        .until("the follow to end", || async {
            (desktop.attr("#log-status", "data-status").await? == "ended").then_some(())
        })
        .await;

    // A project's variables, set on its Project screen: the secret shows masked, reaches the
    // function the app serves, and is masked in the function output the Logs screen follows.
    let functions_project = format!("fn-{}", desktop.port);
    let api_site = work.path().join(&functions_project);
    write_site(&api_site, "functions");
    std::fs::create_dir_all(api_site.join("api")).unwrap();
    std::fs::write(
        api_site.join("api/pay.js"),
        "module.exports = (req, res) => { console.log('paying with', process.env.API_TOKEN); res.end(`${process.env.GREETING}:${process.env.API_TOKEN === 'tok-e2e-4c3b2a'}`); };\n",
    )
    .unwrap();
    let (_, _) = deploy_from_ui(&desktop, &api_site).await;
    desktop.click("#nav-projects").await;
    desktop
        .click(&format!(
            ".project-row[data-project='{functions_project}'] .project-name"
        ))
        .await;
    desktop.type_into("#env-name", "GREETING").await;
    desktop.type_into("#env-value", "hello").await;
    desktop.click("#env-add").await;
    desktop.find(".env-var[data-name='GREETING']").await;
    desktop.click("#env-secret").await;
    assert_eq!(
        desktop.attr("#env-value", "type").await.as_deref(),
        Some("password")
    );
    desktop.type_into("#env-name", "API_TOKEN").await;
    desktop.type_into("#env-value", "tok-e2e-4c3b2a").await;
    desktop.click("#env-add").await;
    desktop
        .find(".env-var[data-name='API_TOKEN'][data-secret='true']")
        .await;
    assert_eq!(
        desktop
            .text(".env-var[data-name='API_TOKEN'] .env-value")
            .await,
        "•••••• (secret)"
    );
    // Once saved, the secret's value is nowhere in the window: not in its text, its markup
    // or the form's input.
    let in_window = desktop
        .client
        .execute(
            "return document.body.innerText + document.documentElement.outerHTML + document.getElementById('env-value').value",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        !in_window.as_str().unwrap().contains("tok-e2e-4c3b2a"),
        "the secret's value stayed in the window"
    );
    desktop.screenshot("project-variables").await;
    let (_, with_env) = deploy_from_ui(&desktop, &api_site).await;
    served_body(
        &desktop,
        &format!("{}/api/pay", with_env.trim_end_matches('/')),
        "hello:true",
    )
    .await;
    desktop.click("#nav-logs").await;
    desktop
        .type_into("#log-functions-project", &functions_project)
        .await;
    desktop.click("#log-follow-functions").await;
    let printed = desktop
        .until("the function's output", || async {
            let text = desktop.text("#log-view").await;
            text.contains("paying with").then_some(text)
        })
        .await;
    assert!(printed.contains("paying with ••••••"), "{printed}");
    assert!(!printed.contains("tok-e2e-4c3b2a"), "{printed}");
    desktop.screenshot("function-output").await;
    for name in ["API_TOKEN", "GREETING"] {
        let _ = pier_core::project_env::ProjectEnvs::new(
            desktop.home.path().join("config/env"),
            std::sync::Arc::new(pier_core::project_env::keychain::KeychainVault),
        )
        .remove(&functions_project, name);
    }

    // A build that would run for minutes is canceled from the Deploy screen: its process
    // stops, the screen says so, and nothing is deployed.
    let slow = work.path().join("slow");
    std::fs::create_dir_all(&slow).unwrap();
    // A duration no other process on the machine is sleeping (a shell's `sleep 300` once
    // matched the pgrep below), so the check sees this build's process only.
    let sleeper = format!("sleep 300.{}", std::process::id());
    std::fs::write(
        slow.join("package.json"),
        format!(
            r#"{{"name":"slow","version":"1.0.0","private":true,"scripts":{{"build":"{sleeper}"}}}}"#
        ),
    )
    .unwrap();
    start_deploy(&desktop, &slow).await;
    desktop
        .until("the build to start", || async {
            let text = desktop.text("#deploy-progress-text").await;
            text.starts_with("Building").then_some(())
        })
        .await;
    desktop.click("#deploy-cancel").await;
    let canceled = desktop.text("#deploy-error").await;
    assert!(canceled.contains("canceled"), "{canceled}");
    assert!(canceled.contains("nothing was deployed"), "{canceled}");
    // The cancel signals the build's process group; its last process may take a moment to go.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let sleeping = std::process::Command::new("pgrep")
            .args(["-f", &sleeper])
            .output()
            .unwrap();
        if sleeping.stdout.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the build's process tree is stopped"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let told = desktop
        .until("a failure notification", || async {
            notifications
                .shown()
                .into_iter()
                .find(|(summary, _)| summary == "Deploying slow failed")
        })
        .await;
    assert!(told.1.contains("canceled"), "{told:?}");

    desktop.close().await;
}

/// Test credentials for moto, plus an AWS config whose `expired` profile signs in through an
/// SSO session whose cached token expired (no refresh token, so no network is tried).
fn expired_sso_profile(work: &Path) -> Vec<(&'static str, String)> {
    let config = work.join("aws-config");
    std::fs::write(
        &config,
        "[profile expired]\nsso_session = corp\nsso_account_id = 123456789012\n\
         sso_role_name = Developer\nregion = us-east-1\n\n\
         [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n\
         sso_region = us-east-1\n",
    )
    .unwrap();
    let home = work.join("home");
    let cache = home.join(".aws/sso/cache");
    std::fs::create_dir_all(&cache).unwrap();
    // The SDK names the cache file after the SHA-1 of the session name.
    std::fs::write(
        cache.join("ee0bfd2552fbd840c02cc48b6e823320543c450f.json"),
        r#"{"accessToken":"expired-token","expiresAt":"2021-01-01T00:00:00Z","region":"us-east-1","startUrl":"https://corp.awsapps.com/start"}"#,
    )
    .unwrap();
    let mut env = pier_tests::aws_test_env();
    env.retain(|(name, _)| *name != "AWS_CONFIG_FILE");
    env.push(("AWS_CONFIG_FILE", config.display().to_string()));
    env.push(("HOME", home.display().to_string()));
    env
}

/// Settings that cannot work (an expired SSO sign-in, a missing bucket), then the AWS setup
/// and Domains screens against moto, reached through the settings' endpoint override: plan, apply (resumed while the certificate validates), the app switched to the
/// new bucket; a deploy into it; the domain wizard to "attached"; then the app's own proxy
/// serves the project on that host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desktop_app_sets_up_aws_and_puts_a_project_on_a_domain() {
    let moto = pier_tests::Moto::start();
    for zone in ["example.com", "example.org"] {
        moto.hosted_zone(zone).await;
    }
    moto.bucket("scratch").await;
    let work = tempfile::tempdir().unwrap();
    let env = expired_sso_profile(work.path());
    let desktop = Desktop::launch(app(), &env).await;
    desktop.find("#app[data-ready]").await;

    // Bad settings say what is wrong in the window: an expired SSO sign-in, then a bucket
    // that does not exist.
    desktop.click("#nav-settings").await;
    desktop.click("#target-aws").await;
    desktop.click("#aws-profile option[value='expired']").await;
    desktop.type_into("#aws-region", "us-east-1").await;
    desktop.type_into("#aws-bucket", "scratch").await;
    desktop.type_into("#aws-endpoint", &moto.endpoint).await;
    desktop.click("#settings-test").await;
    let expired = desktop
        .text("#settings-report[data-ok='false'] li.failed[data-what='store']")
        .await;
    assert!(expired.contains("expired"), "{expired}");
    assert!(expired.contains("aws sso login"), "{expired}");
    desktop.screenshot("settings-expired").await;
    desktop.click("#aws-profile option[value='']").await;
    desktop.type_into("#aws-bucket", "no-such-bucket").await;
    desktop.click("#settings-test").await;
    let missing = desktop
        .until("the missing bucket's report", || async {
            let text = desktop
                .text("#settings-report[data-ok='false'] li.failed[data-what='store']")
                .await;
            text.contains("no-such-bucket").then_some(text)
        })
        .await;
    assert!(missing.contains("check the bucket name"), "{missing}");

    // The account: AWS, through the endpoint override, on a scratch bucket.
    desktop.type_into("#aws-bucket", "scratch").await;
    desktop.click("#settings-save").await;
    desktop.find("#notice-banner").await;

    // Plan: every step listed, nothing made.
    desktop.click("#nav-setup").await;
    assert_eq!(
        desktop.attr("#setup-region", "value").await.as_deref(),
        Some("us-east-1"),
        "the region comes from the settings"
    );
    desktop
        .type_into("#setup-domain", "sites.example.com")
        .await;
    // A second region serving the sites: its own bucket, load balancer and proxies.
    desktop.type_into("#setup-regions", "eu-west-1").await;
    desktop.click("#setup-plan").await;
    desktop.find("#setup-outcome[data-run='plan']").await;
    assert!(desktop.count(".setup-step[data-action='create']").await >= 10);
    assert!(
        desktop
            .count(".setup-step[data-region='eu-west-1'][data-action='create']")
            .await
            >= 5,
        "the other region's steps are listed, each marked with its region"
    );
    let europe_bucket = desktop
        .text(".setup-step[data-region='eu-west-1'][data-resource='bucket']")
        .await;
    assert!(
        europe_bucket.contains("pier-sites-example-com-eu-west-1"),
        "{europe_bucket}"
    );
    // The image step says which image each service will run (this build publishes none, so
    // the local names `pier images build` gives, used as given).
    assert_eq!(
        desktop
            .count(".setup-step[data-region=''][data-resource='image']")
            .await,
        2
    );
    assert_eq!(
        desktop
            .count(".setup-step[data-region='eu-west-1'][data-resource='image']")
            .await,
        1,
        "the other region runs proxies only: no builder image there"
    );
    let proxy_image = desktop.text(".setup-step[data-resource='image']").await;
    assert!(
        proxy_image.contains("pier-proxy:") && proxy_image.contains("used as given"),
        "{proxy_image}"
    );
    assert!(
        !moto.has_bucket("pier-sites-example-com").await,
        "a plan creates nothing"
    );

    // Apply; the certificate step waits a moment, and Set up again continues.
    let mut switched = false;
    for _ in 0..10 {
        desktop.click("#setup-apply").await;
        desktop.find("#setup-outcome[data-run='apply']").await;
        if desktop
            .attr("#setup-outcome", "data-switched")
            .await
            .as_deref()
            == Some("true")
        {
            switched = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    assert!(
        switched,
        "setup finished and the app switched to its bucket"
    );
    desktop
        .until("the sidebar to name the new bucket", || async {
            let store = desktop.attr("#store-label", "title").await?;
            store.contains("pier-sites-example-com").then_some(())
        })
        .await;
    desktop
        .client
        .execute(
            "document.querySelector('#setup-outcome').scrollIntoView()",
            vec![],
        )
        .await
        .unwrap();
    desktop.screenshot("setup").await;

    // A project in the new bucket, then the wizard.
    let site = work.path().join("shop");
    write_site(&site, "the shop");
    deploy_from_ui(&desktop, &site).await;
    desktop.click("#deploy-promote").await;
    confirm(&desktop).await;
    desktop.find("#notice-banner").await;

    // Both regions got the deployment and the promote: the Projects screen says so.
    desktop.click("#nav-projects").await;
    desktop
        .find(".project-row[data-project='shop'] .region[data-region='eu-west-1'][data-state='in_sync']")
        .await;
    // Another machine, without the regions in its config, deploys to the primary alone: the
    // Project screen shows eu-west-1 lagging by one deployment, and Sync now catches it up.
    let store_at = |bucket: &str, region: &str| {
        pier_core::store::StoreUrl::parse(&format!(
            "s3://{bucket}?endpoint={}&region={region}",
            moto.endpoint
        ))
        .unwrap()
    };
    let primary = pier_core::store::open(&store_at("pier-sites-example-com", "us-east-1"))
        .await
        .unwrap();
    let europe = pier_core::store::open(&store_at("pier-sites-example-com-eu-west-1", "eu-west-1"))
        .await
        .unwrap();
    write_site(&site, "the shop, second edition");
    let second = pier_tests::deploy_folder(&primary, &site, "shop", true).await;
    desktop
        .click(".project-row[data-project='shop'] .project-name")
        .await;
    let lagging = desktop
        .text(".region-row[data-region='eu-west-1'][data-state='lagging']")
        .await;
    assert!(lagging.contains("1 deployment missing"), "{lagging}");
    desktop.screenshot("project-regions-lagging").await;
    desktop.click("#regions-sync").await;
    desktop
        .find(".region-row[data-region='eu-west-1'][data-state='in_sync']")
        .await;
    let europe_alias = pier_core::alias::read(europe.as_ref(), "shop")
        .await
        .unwrap()
        .and_then(|record| record.production);
    assert_eq!(
        europe_alias,
        Some(second),
        "eu-west-1 serves the new deployment"
    );
    desktop.screenshot("project-regions").await;

    desktop.click("#nav-domains").await;
    desktop.find("#domains-empty").await;
    desktop.type_into("#domain-name", "www.example.org").await;
    desktop.click("#domain-project option[value='shop']").await;
    desktop.click("#domain-add").await;
    desktop.find("#domain-run[data-attached='true']").await;
    assert_eq!(
        desktop
            .attr("#domain-steps li[data-step='attach']", "data-status")
            .await
            .as_deref(),
        Some("changed")
    );
    desktop
        .find(".domain-row[data-domain='www.example.org'][data-attached='true']")
        .await;
    desktop.screenshot("domains").await;

    // The app's proxy serves the project on that host, as CloudFront would forward it.
    let addr = format!("127.0.0.1:{}", desktop.port).parse().unwrap();
    desktop
        .until("the custom host to serve the shop", || async {
            let page = pier_tests::http::get(addr, "www.example.org", "/");
            (page.status == 200 && page.text().contains("the shop")).then_some(())
        })
        .await;
    // And under the base domain setup made, which the proxy took on when the app switched.
    let page = pier_tests::http::get(addr, "shop.sites.example.com", "/");
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(page.text().contains("the shop"));

    desktop.close().await;
}

/// The app as it ships (WebKit without accelerated compositing; the other tests turn it back
/// on for screenshots): it starts, deploys a folder and serves it; a folder of 100,000 files
/// deploys with its progress shown while the window keeps answering; an unreachable Redis
/// gets a message saying what to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_as_shipped_deploys_and_serves() {
    let work = tempfile::tempdir().unwrap();
    let desktop = Desktop::launch_as_shipped(app(), &[]).await;
    desktop.find("#app[data-ready]").await;
    let site = work.path().join("shipped");
    write_site(&site, "as shipped");
    let (_, preview) = deploy_from_ui(&desktop, &site).await;
    served_body(&desktop, &preview, "as shipped").await;

    let huge = work.path().join("huge");
    pier_tests::many_files(&huge, 100_000, 64);
    write_site(&huge, "one of 100,001 files");
    desktop.click("#nav-deploy").await;
    desktop
        .type_into("#deploy-path", &huge.display().to_string())
        .await;
    desktop.click("#deploy-start").await;
    let progress = desktop
        .until("progress with the file count", || async {
            let text = desktop.text("#deploy-progress-text").await;
            text.contains("of 100001").then_some(text)
        })
        .await;
    assert!(progress.starts_with("Hashing files"), "{progress}");
    // The window answers while the deploy runs: another screen opens, and back.
    desktop.click("#nav-watch").await;
    desktop.find("#watch-path").await;
    desktop.click("#nav-deploy").await;
    let deployed = desktop.finished_deployment(Duration::from_secs(300)).await;
    assert!(!deployed.is_empty());
    let url = desktop.text("#deploy-preview-url a").await;
    served_body(&desktop, &url, "one of 100,001 files").await;
    let page = fetch(&format!(
        "{}/pages/07/page-99987.html",
        url.trim_end_matches('/')
    ));
    assert_eq!(page.status, 200);
    assert!(page.text().starts_with("<!doctype html><p>page 99987</p>"));

    desktop.click("#nav-settings").await;
    desktop.type_into("#redis-url", "redis://127.0.0.1:1").await;
    desktop.click("#settings-test").await;
    let redis = desktop
        .text("#settings-report[data-ok='false'] li.failed[data-what='redis']")
        .await;
    assert!(redis.contains("127.0.0.1:1"), "{redis}");
    assert!(redis.contains("check"), "{redis}");
    desktop.close().await;
}

/// A source tree whose build script is `script` (node), with no dependencies to install.
fn source_tree(dir: &Path, script: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("package.json"),
        r#"{"name":"site","version":"1.0.0","private":true,"scripts":{"build":"node build.js"}}"#,
    )
    .unwrap();
    std::fs::write(dir.join("build.js"), script).unwrap();
}

/// An input's current value (the property a user's typing or the app sets).
async fn value(desktop: &Desktop, css: &str) -> String {
    desktop
        .find(css)
        .await
        .prop("value")
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// The page's computed background and whether WebKit reports the OS's dark preference.
async fn appearance(desktop: &Desktop) -> (bool, String) {
    let found = desktop
        .client
        .execute(
            "return [window.matchMedia('(prefers-color-scheme: dark)').matches, \
             getComputedStyle(document.body).backgroundColor];",
            vec![],
        )
        .await
        .unwrap();
    (
        found[0].as_bool().unwrap(),
        found[1].as_str().unwrap().to_string(),
    )
}

/// Each sidebar screen: its shortcut's digit, its nav button, and an element only it shows.
const SCREENS: [(&str, &str, &str); 7] = [
    ("1", "#nav-projects", "#projects-empty"),
    ("2", "#nav-deploy", "#deploy-path"),
    ("3", "#nav-watch", "#watch-path"),
    ("4", "#nav-logs", "#log-deployment"),
    ("5", "#nav-domains", "#domain-name"),
    ("6", "#nav-setup", "#setup-bucket"),
    ("7", "#nav-settings", "#redis-url"),
];

async fn shows(desktop: &Desktop, nav: &str, only_there: &str) {
    desktop
        .until(&format!("{nav}'s screen"), || async {
            let class = desktop.attr(nav, "class").await.unwrap_or_default();
            (class.contains("active") && desktop.count(only_there).await == 1).then_some(())
        })
        .await;
}

/// No serious or critical accessibility violation on the screen shown.
async fn accessible(desktop: &Desktop, screen: &str, theme: &str) {
    let violations = desktop.accessibility_violations().await;
    assert!(
        violations.is_empty(),
        "{screen} ({theme}):\n{}",
        violations.join("\n")
    );
}

/// Habits of a desktop app: the theme follows the OS's dark setting, Ctrl+1…7 open the
/// sidebar's screens (each button names its shortcut), every screen passes axe-core with no
/// serious or critical violation in either theme, and the window opens where and as large as
/// it was left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_follows_the_dark_setting_answers_shortcuts_and_keeps_its_place() {
    let config = tempfile::tempdir().unwrap();
    let xdg = ("XDG_CONFIG_HOME", config.path().display().to_string());
    // GTK's dark variant is what WebKitGTK reports as `prefers-color-scheme: dark`.
    let dark_theme = ("GTK_THEME", "Adwaita:dark".to_string());
    // The system's "open in the browser" (xdg-open), replaced by one that writes down what it
    // was asked to open.
    let browser = config.path().join("bin");
    let opened = config.path().join("opened.txt");
    std::fs::create_dir_all(&browser).unwrap();
    let xdg_open = browser.join("xdg-open");
    std::fs::write(
        &xdg_open,
        format!("#!/bin/sh\necho \"$1\" >> '{}'\n", opened.display()),
    )
    .unwrap();
    let mut permissions = std::fs::metadata(&xdg_open).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&xdg_open, permissions).unwrap();
    let path = format!(
        "{}:{}",
        browser.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let desktop = Desktop::launch(app(), &[xdg.clone(), dark_theme, ("PATH", path)]).await;
    desktop.find("#app[data-ready]").await;
    let (dark, background) = appearance(&desktop).await;
    assert!(dark, "WebKit did not report the dark setting");
    assert_eq!(
        background, "rgb(18, 22, 29)",
        "the dark palette's background"
    );
    desktop.screenshot("projects-dark").await;

    // Shortcuts, pressed as a user does (the modifier held while the digit goes down), from
    // the last screen back to the first.
    for (digit, nav, only_there) in SCREENS.iter().rev() {
        desktop.press_ctrl(digit).await;
        shows(&desktop, nav, only_there).await;
        accessible(&desktop, nav, "dark").await;
    }
    assert_eq!(
        desktop
            .attr("#nav-logs", "aria-keyshortcuts")
            .await
            .as_deref(),
        Some("Control+4")
    );

    // First run: one click on the empty Projects screen deploys the example site that ships
    // with the app, and opens its preview in the browser.
    desktop.click("#deploy-example").await;
    desktop.finished_deployment(pier_e2e::PATIENCE).await;
    let preview = desktop.text("#deploy-preview-url a").await;
    assert!(preview.starts_with("http://example-"), "{preview}");
    served_body(&desktop, &preview, "Hello from Pier").await;
    let asked = desktop
        .until("the browser to be asked to open the preview", || async {
            std::fs::read_to_string(&opened)
                .ok()
                .filter(|s| !s.is_empty())
        })
        .await;
    assert_eq!(asked.trim(), preview.trim());
    accessible(&desktop, "the Deploy screen with a result", "dark").await;
    desktop.screenshot("example-deployed").await;

    // Logs lists recent builds, newest first. A build started from the Deploy screen is
    // followed as soon as the Logs screen opens; the list shows it running, then ready with
    // how long it took; a failing build is marked; a click follows a build.
    desktop.press_ctrl("4").await;
    desktop.find("#builds-empty").await;
    let slow = config.path().join("slow-build");
    source_tree(
        &slow,
        concat!(
            "setTimeout(() => { require('fs').mkdirSync('dist'); ",
            "require('fs').writeFileSync('dist/index.html', 'built slowly'); ",
            "console.log('wrote dist'); }, 3000); console.log('building slowly');"
        ),
    );
    start_deploy(&desktop, &slow).await;
    desktop
        .until("the build to start", || async {
            let text = desktop.text("#deploy-progress-text").await;
            (text.starts_with("Building") || text.starts_with("Installing")).then_some(())
        })
        .await;
    desktop.press_ctrl("4").await;
    let built = desktop
        .until("the Logs screen to follow the running build", || async {
            let id = value(&desktop, "#log-deployment").await;
            let status = desktop.attr("#log-status", "data-status").await?;
            (!id.is_empty() && status != "idle").then_some(id)
        })
        .await;
    let row = format!(".build[data-deployment='{built}']");
    desktop.find(&row).await;
    desktop
        .until(
            "the build to be listed ready, with its duration",
            || async {
                let status = desktop.attr(&row, "data-status").await?;
                let text = desktop.text(&row).await;
                (status == "ready" && !text.contains("running")).then_some(())
            },
        )
        .await;
    desktop
        .until("the followed log to hold the build's output", || async {
            let text = desktop.text("#log-view").await;
            text.contains("wrote dist").then_some(())
        })
        .await;
    let broken = config.path().join("broken-build");
    source_tree(
        &broken,
        "console.error('broken on purpose'); process.exit(1);",
    );
    // Built as the project the slow build made, so its timeline shows a failure too.
    desktop.click("#nav-deploy").await;
    desktop
        .type_into("#deploy-path", &broken.display().to_string())
        .await;
    desktop.type_into("#deploy-project", "slow-build").await;
    desktop.click("#deploy-start").await;
    desktop.find("#deploy-error").await;
    desktop.click("#nav-logs").await;
    let newest = desktop
        .until("the failed build at the top, marked", || async {
            let first = desktop.find(".build").await;
            let status = first.attr("data-status").await.ok()??;
            let class = first.attr("class").await.ok()??;
            let id = first.attr("data-deployment").await.ok()??;
            (status == "failed" && class.contains("failed")).then_some(id)
        })
        .await;
    assert_ne!(newest, built);
    desktop.click(&row).await;
    desktop
        .until("the clicked build followed", || async {
            (value(&desktop, "#log-deployment").await == built).then_some(())
        })
        .await;
    desktop.screenshot("logs-builds").await;
    accessible(&desktop, "Logs with builds", "dark").await;

    // Projects: each row's last 30 days, today's deployments and failed builds in its cells.
    desktop.press_ctrl("1").await;
    let timeline = |project: &str| format!(".project-row[data-project='{project}'] .timeline");
    for (project, deployed, failed) in [("slow-build", "1", "1"), ("example", "1", "0")] {
        let strip = timeline(project);
        desktop.find(&strip).await;
        assert_eq!(
            (
                desktop.attr(&strip, "data-deployed").await.as_deref(),
                desktop.attr(&strip, "data-failed").await.as_deref()
            ),
            (Some(deployed), Some(failed)),
            "{project}"
        );
    }
    let today = format!("{} .day:last-child", timeline("slow-build"));
    let class = desktop.attr(&today, "class").await.unwrap_or_default();
    assert!(
        class.contains("deployed") && class.contains("failed"),
        "{class}"
    );
    let label = desktop
        .attr(&timeline("slow-build"), "aria-label")
        .await
        .unwrap_or_default();
    assert_eq!(label, "Last 30 days: 1 deployment, 1 failed build");
    desktop.screenshot("projects-timeline").await;
    accessible(&desktop, "Projects with timelines", "dark").await;

    // Moved and resized, then closed: the next start opens it there, at that size.
    desktop
        .client
        .set_window_rect(70, 40, 960, 640)
        .await
        .unwrap();
    let placed = desktop.client.get_window_rect().await.unwrap();
    assert_eq!((placed.2, placed.3), (960, 640), "{placed:?}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    desktop.close().await;
    let desktop = Desktop::launch(app(), &[xdg]).await;
    desktop.find("#app[data-ready]").await;
    let reopened = desktop.client.get_window_rect().await.unwrap();
    assert_eq!((reopened.2, reopened.3), (960, 640), "{reopened:?}");
    assert!(
        reopened.0.abs_diff(placed.0) <= 2 && reopened.1.abs_diff(placed.1) <= 2,
        "opened at {reopened:?}, left at {placed:?}"
    );
    // Without the dark setting, the light palette, as accessible.
    let (dark, background) = appearance(&desktop).await;
    assert!(!dark);
    assert_eq!(background, "rgb(246, 247, 249)");
    for (_, nav, only_there) in SCREENS {
        desktop.click(nav).await;
        shows(&desktop, nav, only_there).await;
        accessible(&desktop, nav, "light").await;
    }
    desktop.close().await;
}

//! Functions on AWS Lambda, end to end against moto: deploys publish each bundle as a version of
//! the project's function (zip through the S3 store), and the proxy invokes those versions with
//! `InvokeWithResponseStream`. moto runs every invocation in a real container on the test
//! engine (`tests/containers/lambda.sh`: a Node runtime image made from Debian packages), so the
//! handler code, Pier's entry in the zip and the launcher all really run; moto's streaming
//! route is `tests/fixtures/moto_lambda.py` (moto has none of its own).

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use pier_core::alias;
use pier_core::deploy::{DeployOutcome, DeployRequest, deploy};
use pier_core::deployments;
use pier_core::gc;
use pier_core::lambda::{FunctionsRuntime, LambdaSettings, read_version};
use pier_core::manifest::preview_name;
use pier_core::progress::Progress;
use pier_core::records::write_json;
use pier_core::store::{DynStore, PutOptions, keys};
use pier_proxy::ProxyConfig;
use pier_tests::containers::Engine;

mod support;

use support::{get, json, write};

const PROJECT: &str = "shop";

/// A plain site with `api/` functions in both handler styles, and one that throws.
fn site(greeting: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "index.html", "<h1>shop</h1>");
    write(
        root,
        "api/hello.js",
        &format!(
            r#"module.exports = (req, res) => {{
  console.log('hello was asked for', req.query.name);
  res.setHeader('set-cookie', ['seen=1; Path=/', 'theme=dark; Path=/']);
  res.status(201).json({{ greeting: '{greeting}', name: req.query.name || null,
    method: req.method, body: req.body || null, host: req.headers['x-forwarded-host'],
    inAws: Boolean(process.env.AWS_LAMBDA_FUNCTION_NAME) }});
}};
"#
        ),
    );
    // TypeScript that imports a package from npm: compiled into one module at deploy time.
    write(root, "package.json", r#"{"dependencies":{"ms":"2.1.3"}}"#);
    write(
        root,
        "api/time.ts",
        r#"import ms from "ms";
export function GET(request: Request): Response {
  const url: URL = new URL(request.url);
  return new Response(JSON.stringify({ path: url.pathname, style: 'web', ttl: ms('2h') }), {
    headers: { 'content-type': 'application/json', 'x-style': 'web' },
  });
}
"#,
    );
    write(
        root,
        "api/boom.js",
        "module.exports = () => { throw new Error('secret database password is hunter2'); };\n",
    );
    // Fails as its module loads: the invocation itself fails on Lambda.
    write(
        root,
        "api/broken.js",
        "throw new Error('cannot connect with password hunter2');\n",
    );
    dir
}

async fn deploy_dir(store: &DynStore, dir: &Path, production: bool) -> DeployOutcome {
    let request = DeployRequest::folder(dir.to_path_buf(), Some(PROJECT.into()), production);
    deploy(store.as_ref(), &request, &Progress::silent())
        .await
        .unwrap_or_else(|e| panic!("deploy failed: {e} ({})", e.hint()))
}

/// The proxy over `store`, invoking functions on Lambda, re-reading aliases every 100 ms.
async fn serve_on_lambda(store: &DynStore) -> support::Serving {
    support::serve(
        store.clone(),
        ProxyConfig {
            target_ttl: Duration::from_millis(100),
            lambda: true,
            ..ProxyConfig::default()
        },
    )
    .await
}

async fn versions(lambda: &aws_sdk_lambda::Client, function: &str) -> BTreeSet<String> {
    lambda
        .list_versions_by_function()
        .function_name(function)
        .send()
        .await
        .unwrap()
        .versions()
        .iter()
        .filter_map(|v| v.version().map(str::to_string))
        .filter(|v| v != "$LATEST")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_run_as_lambda_versions_that_switch_with_their_deployments() {
    let engine = Engine::get();
    let moto = engine.moto_with_lambda();
    let (store, settings) = support::lambda_store(&moto, "lambda-site").await;
    let lambda = moto.lambda_client().await;
    let function = settings.function_name(PROJECT);

    let first_site = site("hello");
    let first = deploy_dir(&store, first_site.path(), true).await;
    assert_eq!(
        versions(&lambda, &function).await.len(),
        4,
        "each of the four functions is one version of the project's function"
    );

    let serving = serve_on_lambda(&store).await;
    let addr = serving.addr;
    let host = format!("{PROJECT}.localhost");

    let home = get(addr, &host, "/").await;
    assert_eq!((home.status, home.text().as_str()), (200, "<h1>shop</h1>"));

    let hello = get(addr, &host, "/api/hello?name=ada").await;
    assert_eq!(hello.status, 201, "{}", hello.text());
    let answer = json(&hello);
    assert_eq!(answer["greeting"], "hello");
    assert_eq!(answer["name"], "ada");
    assert_eq!(answer["host"], host.as_str());
    assert_eq!(
        answer["inAws"], true,
        "it ran in the Lambda runtime, not here"
    );
    assert_eq!(
        support::cookies(&hello),
        ["seen=1; Path=/", "theme=dark; Path=/"]
    );

    let posted = support::send(
        addr,
        "POST",
        &host,
        "/api/hello",
        &[("content-type", "application/json")],
        br#"{"order":42}"#,
    )
    .await;
    assert_eq!(posted.status, 201, "{}", posted.text());
    assert_eq!(json(&posted)["body"]["order"], 42);
    assert_eq!(json(&posted)["method"], "POST");

    let time = get(addr, &host, "/api/time").await;
    assert_eq!(time.status, 200, "{}", time.text());
    assert_eq!(time.header("x-style"), Some("web"));
    assert_eq!(json(&time)["path"], "/api/time");
    assert_eq!(
        json(&time)["ttl"],
        7_200_000,
        "the npm package is in the module"
    );

    // What the function printed is in CloudWatch, where `pier logs --functions` reads it.
    let mut logs = pier_aws::function_logs::FunctionLogs::new(
        &moto.sdk_config().await,
        &settings,
        PROJECT,
        time::OffsetDateTime::now_utc() - time::Duration::minutes(5),
    );
    let lines = logs.next_batch().await.unwrap();
    assert!(
        lines
            .iter()
            .any(|line| line.text == "hello was asked for ada"
                && line.function.starts_with(&function)),
        "{lines:#?}"
    );
    assert!(
        logs.next_batch().await.unwrap().is_empty(),
        "a second read repeats nothing"
    );

    let boom = get(addr, &host, "/api/boom").await;
    assert_eq!(boom.status, 502);
    assert!(
        !boom.text().contains("hunter2"),
        "the error stays in the log: {}",
        boom.text()
    );
    let broken = get(addr, &host, "/api/broken").await;
    assert_eq!(broken.status, 502, "{}", broken.text());
    assert!(!broken.text().contains("hunter2"), "{}", broken.text());

    // A redeploy that changes one function publishes one version; the others are reused.
    let second_site = site("welcome back");
    let second = deploy_dir(&store, second_site.path(), true).await;
    assert_eq!(versions(&lambda, &function).await.len(), 5);
    // And one that changes nothing publishes nothing.
    let third = deploy_dir(&store, second_site.path(), false).await;
    assert_eq!(versions(&lambda, &function).await.len(), 5);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        json(&get(addr, &host, "/api/hello").await)["greeting"],
        "welcome back"
    );
    // The first deployment's preview keeps its own code.
    let first_preview = format!("{}.localhost", preview_name(PROJECT, &first.summary.id));
    assert_eq!(
        json(&get(addr, &first_preview, "/api/hello").await)["greeting"],
        "hello"
    );

    // Rollback switches the functions with the files.
    alias::rollback(store.as_ref(), PROJECT).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        json(&get(addr, &host, "/api/hello").await)["greeting"],
        "hello"
    );

    // Once the deployments with the changed code are gone (`pier rm` runs the functions' part
    // of gc), the version only they used is deleted.
    let only_second = second.summary.id.clone();
    let second_manifest = deployments::resolve(store.as_ref(), &only_second)
        .await
        .unwrap();
    let changed_bundle = second_manifest.functions["api/hello"].clone();
    let changed = read_version(store.as_ref(), PROJECT, &changed_bundle)
        .await
        .unwrap()
        .expect("the deploy recorded its version");
    deployments::remove(store.as_ref(), &only_second)
        .await
        .unwrap();
    deployments::remove(store.as_ref(), &third.summary.id)
        .await
        .unwrap();
    assert_eq!(gc::collect_functions(store.as_ref()).await.unwrap(), 1);
    let left = versions(&lambda, &function).await;
    assert_eq!(left.len(), 4);
    assert!(!left.contains(&changed.version), "{left:?}");
    assert!(
        read_version(store.as_ref(), PROJECT, &changed_bundle)
            .await
            .unwrap()
            .is_none()
    );
    let report = gc::collect(store.as_ref(), false).await.unwrap();
    assert_eq!(report.lambda_versions_deleted, 0, "nothing left to delete");
    // Production still answers from the versions that stayed.
    assert_eq!(
        json(&get(addr, &host, "/api/hello").await)["greeting"],
        "hello"
    );
}

#[tokio::test]
async fn a_store_whose_functions_run_on_lambda_must_be_in_s3_and_nothing_is_deployed_otherwise() {
    let (store, _store_dir) = pier_tests::local_store().await;
    let settings = FunctionsRuntime::Lambda(LambdaSettings {
        role_arn: "arn:aws:iam::123456789012:role/pier-functions".into(),
        function_prefix: "pier-fn-".into(),
        log_group: None,
    });
    write_json(
        store.as_ref(),
        keys::FUNCTIONS_RUNTIME,
        &settings,
        PutOptions::json(),
    )
    .await
    .unwrap();
    let dir = site("hello");
    let request = DeployRequest::folder(dir.path().to_path_buf(), Some(PROJECT.into()), true);
    let error = deploy(store.as_ref(), &request, &Progress::silent())
        .await
        .expect_err("a folder store cannot hand code to Lambda");
    assert!(error.to_string().contains("not in S3"), "{error}");
    assert!(
        error.hint().contains("settings/functions.json"),
        "{}",
        error.hint()
    );
    assert!(
        deployments::list_projects(store.as_ref())
            .await
            .unwrap()
            .is_empty(),
        "nothing was deployed"
    );
}

/// `pier env` on Lambda: each version is published with the variables of its deployment, the
/// secret's value included (Lambda keeps it encrypted), and no manifest holds the value; a
/// preview keeps the values it was deployed with, as its code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_variables_are_frozen_into_each_lambda_version() {
    use pier_core::project_env::FunctionEnv;
    let engine = Engine::get();
    let moto = engine.moto_with_lambda();
    let (store, settings) = support::lambda_store(&moto, "lambda-env").await;
    let lambda = moto.lambda_client().await;
    let function = settings.function_name(PROJECT);
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "index.html", "home");
    write(
        dir.path(),
        "api/env.js",
        "module.exports = (req, res) => res.json({ greeting: process.env.GREETING, token: process.env.API_TOKEN });\n",
    );
    let env = |revision: &str, token: &str| FunctionEnv {
        revision: revision.into(),
        plain: [("GREETING".to_string(), "hi".to_string())].into(),
        secrets: [("API_TOKEN".to_string(), token.to_string())].into(),
    };
    let deploy_with = |env: FunctionEnv, production: bool| {
        let store = store.clone();
        let request = DeployRequest {
            env: Some(env),
            ..DeployRequest::folder(dir.path().to_path_buf(), Some(PROJECT.into()), production)
        };
        async move {
            deploy(store.as_ref(), &request, &Progress::silent())
                .await
                .unwrap_or_else(|e| panic!("deploy failed: {e} ({})", e.hint()))
        }
    };
    let first = deploy_with(env("r1", "tok-first-8d1e"), true).await;
    let manifest = deployments::resolve(store.as_ref(), &first.summary.id)
        .await
        .unwrap();
    let described = serde_json::to_string(&manifest).unwrap();
    assert!(!described.contains("tok-first-8d1e"), "{described}");
    let bundle = manifest.functions["api/env"].clone();
    assert_eq!(manifest.bundles[&bundle].settings.secrets, ["API_TOKEN"]);
    let version = read_version(store.as_ref(), PROJECT, &bundle)
        .await
        .unwrap()
        .expect("published");
    let configured = lambda
        .get_function_configuration()
        .function_name(&function)
        .qualifier(&version.version)
        .send()
        .await
        .unwrap();
    let variables = configured
        .environment()
        .and_then(|env| env.variables())
        .cloned()
        .unwrap_or_default();
    assert_eq!(variables["GREETING"], "hi");
    assert_eq!(variables["API_TOKEN"], "tok-first-8d1e");

    // A new secret value is a new version; the first deployment's preview keeps the old one.
    let second = deploy_with(env("r2", "tok-second-51aa"), true).await;
    assert_ne!(
        deployments::resolve(store.as_ref(), &second.summary.id)
            .await
            .unwrap()
            .functions["api/env"],
        bundle
    );
    assert_eq!(versions(&lambda, &function).await.len(), 2);
    let serving = serve_on_lambda(&store).await;
    let production = get(serving.addr, &format!("{PROJECT}.localhost"), "/api/env").await;
    assert_eq!(json(&production)["token"], "tok-second-51aa");
    assert_eq!(json(&production)["greeting"], "hi");
    let first_preview = format!("{}.localhost", preview_name(PROJECT, &first.summary.id));
    assert_eq!(
        json(&get(serving.addr, &first_preview, "/api/env").await)["token"],
        "tok-first-8d1e"
    );
}

//! The Project screen's Variables section without a window: variables set through the app are
//! the CLI's (`pier env`) and reach what the app deploys; a secret's value goes to the keychain
//! and is never in what the window gets back or in the env file.

mod common;

use common::Harness;
use pier_app::project_env::EnvSetForm;
use pier_core::project_env::ProjectEnvs;

const TOKEN: &str = "tok-desktop-5e6f7a";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variables_set_in_the_app_reach_its_deploys_and_secrets_never_come_back() {
    let harness = Harness::start().await;
    let app = &harness.app;
    // Unique per run: the keychain is the user's, shared by every test run here.
    let project = format!("appenv-{}", pier_tests::free_port());
    let form = |name: &str, value: &str, secret: bool| EnvSetForm {
        project: project.clone(),
        name: name.into(),
        value: value.into(),
        secret,
    };
    app.env_set(form("GREETING", "hello", false)).unwrap();
    let listed = app.env_set(form(" API_TOKEN ", TOKEN, true)).unwrap();
    let shown = serde_json::to_string(&listed).unwrap();
    assert!(!shown.contains(TOKEN), "{shown}");
    assert_eq!(listed.len(), 2);
    assert_eq!(
        (
            listed[0].name.as_str(),
            listed[0].secret,
            listed[0].value.as_deref()
        ),
        ("API_TOKEN", true, None)
    );
    assert_eq!(listed[1].value.as_deref(), Some("hello"));
    let bad = app
        .env_set(form("AWS_SECRET_ACCESS_KEY", "x", true))
        .unwrap_err();
    assert!(bad.message.contains("not a variable name"), "{bad:?}");
    assert!(!bad.hint.is_empty());

    // The CLI sees them, with the secret's value from the keychain.
    let resolved = ProjectEnvs::for_this_machine()
        .resolve(&project)
        .unwrap()
        .unwrap();
    assert_eq!(resolved.secrets["API_TOKEN"], TOKEN);
    let env_file =
        std::fs::read_to_string(ProjectEnvs::default_dir().join(format!("{project}.json")))
            .unwrap();
    assert!(!env_file.contains(TOKEN), "{env_file}");

    // A site the app deploys freezes them into its function: the names and the plain value.
    let site = harness.site(
        &project,
        &[
            ("index.html", "home"),
            (
                "api/hello.js",
                "module.exports = (req, res) => res.end('hi');\n",
            ),
        ],
    );
    let mark = harness.events.mark();
    let job = app.deploy_dropped(vec![site], None).unwrap();
    let finished = harness.events.job_end(&job, mark).await.unwrap();
    let manifest = pier_core::deployments::resolve(harness.store().as_ref(), &finished.deployment)
        .await
        .unwrap();
    let bundle = &manifest.bundles[&manifest.functions["api/hello"]];
    assert_eq!(bundle.settings.secrets, ["API_TOKEN"]);
    assert_eq!(bundle.settings.environment["GREETING"], "hello");
    assert!(!serde_json::to_string(&manifest).unwrap().contains(TOKEN));

    let left = app.env_remove(&project, "API_TOKEN").unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(
        pier_core::project_env::keychain::get(&format!("env:{project}/API_TOKEN")).unwrap(),
        None
    );
    app.env_remove(&project, "GREETING").unwrap();
}

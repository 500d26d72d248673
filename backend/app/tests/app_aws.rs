//! The desktop app's AWS setup and domain screens, without a window, against moto: what the
//! screens call (`App::setup`, `App::domain_add`, …) and the events they draw from. A plan
//! reports every step and creates nothing; an apply that waits on the certificate resumes;
//! the finished apply switches the app to the new bucket and writes the config the CLI reads;
//! the domain wizard reports each step and attaches the domain in the store the app now
//! uses; teardown removes what setup made and takes the app back to this machine's store.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pier_app::aws_setup::{SetupForm, SetupOutcome, SetupRun};
use pier_app::settings::SettingsForm;
use pier_app::{App, AppEvent, EventSink};
use pier_aws::setup::Action;
use pier_tests::Moto;

type Seen = Arc<Mutex<Vec<AppEvent>>>;

async fn until<T>(seen: &Seen, what: &str, mut found: impl FnMut(&AppEvent) -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(value) = seen.lock().unwrap().iter().find_map(&mut found) {
            return value;
        }
        assert!(Instant::now() < deadline, "no {what} event");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs setup from `form` and waits for its end: what it did, or the error it stopped at.
async fn setup_ended(
    app: &App,
    seen: &Seen,
    form: &SetupForm,
    run: SetupRun,
) -> (Option<SetupOutcome>, Option<pier_wire::UserError>) {
    seen.lock().unwrap().clear();
    app.setup(form.clone(), run).unwrap();
    until(seen, "setup end", |event| match event {
        AppEvent::SetupEnded { outcome, error, .. } => Some((outcome.clone(), error.clone())),
        _ => None,
    })
    .await
}

fn steps(seen: &Seen) -> Vec<pier_aws::setup::Change> {
    seen.lock()
        .unwrap()
        .iter()
        .filter_map(|event| match event {
            AppEvent::SetupStep { change, .. } => Some(change.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_app_sets_up_aws_puts_a_domain_on_a_project_and_tears_down() {
    let moto = Moto::start();
    let home = tempfile::tempdir().unwrap();
    // SAFETY: set before the app (and its threads) start; nextest gives each test a process.
    unsafe {
        std::env::set_var("PIER_CONFIG", home.path().join("config/config.toml"));
        std::env::set_var("PIER_STORE", home.path().join("store"));
        std::env::set_var("XDG_CONFIG_HOME", home.path().join("xdg"));
    }
    for zone in ["example.com", "example.org"] {
        moto.hosted_zone(zone).await;
    }
    moto.bucket("scratch").await;

    let seen: Seen = Arc::default();
    let sink = seen.clone();
    let app = App::start(
        0,
        EventSink::new(move |event| sink.lock().unwrap().push(event)),
    )
    .await
    .unwrap();
    // The user points the app at their account first (here: moto, through the endpoint
    // override), as the Settings screen does.
    app.save_settings(SettingsForm {
        target: "aws".into(),
        bucket: "scratch".into(),
        region: "us-east-1".into(),
        endpoint: moto.endpoint.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    let form = SetupForm {
        base_domain: "Sites.Example.com".into(),
        proxy_max: 2,
        log_days: 7,
        ..app.setup_form()
    };
    assert_eq!(form.region, "us-east-1", "prefilled from the settings");

    // Bad input says what to do, before anything runs.
    let bad = SetupForm {
        log_days: 10,
        ..form.clone()
    };
    let (_, error) = setup_ended(&app, &seen, &bad, SetupRun::Plan).await;
    assert!(
        error.unwrap().message.contains("cannot keep logs 10 days"),
        "a clear refusal"
    );

    // The plan reports every step and changes nothing.
    let (outcome, error) = setup_ended(&app, &seen, &form, SetupRun::Plan).await;
    assert_eq!(error, None);
    let plan = outcome.unwrap();
    assert_eq!(plan.bucket, "pier-sites-example-com");
    assert!(!plan.switched);
    let planned = steps(&seen);
    assert_eq!(planned.len(), plan.changes.len(), "one event per step");
    assert!(
        planned
            .iter()
            .any(|c| c.resource == "bucket" && c.action == Action::Create)
    );
    assert!(planned.iter().any(|c| c.resource == "log group"));
    assert!(
        !moto.has_bucket("pier-sites-example-com").await,
        "a plan creates nothing"
    );

    // A second run while one goes is refused.
    app.setup(form.clone(), SetupRun::Apply).unwrap();
    let busy = app.setup(form.clone(), SetupRun::Apply).unwrap_err();
    assert!(busy.message.contains("already going"), "{busy:?}");
    let mut applied = until(&seen, "apply end", |event| match event {
        AppEvent::SetupEnded {
            run: SetupRun::Apply,
            outcome,
            error,
        } => Some((outcome.clone(), error.clone())),
        _ => None,
    })
    .await;
    // ACM issues after a moment; the waiting step resumes on the next apply.
    for _ in 0..10 {
        let (outcome, error) = &applied;
        assert_eq!(error, &None);
        if !outcome.as_ref().unwrap().waiting {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        applied = setup_ended(&app, &seen, &form, SetupRun::Apply).await;
    }
    let done = applied.0.unwrap();
    assert!(!done.waiting && done.switched, "{done:?}");
    assert!(app.target().store.url().contains("pier-sites-example-com"));
    assert_eq!(app.settings().form.base_url, "https://sites.example.com");
    let config = pier_core::config::ConfigFile::load(&pier_core::config::config_path()).unwrap();
    let distribution = config.distribution_id.clone().expect("setup recorded it");
    assert_eq!(config.store.as_deref(), Some("s3://pier-sites-example-com"));

    // A project in the new store, then the domain wizard from the app.
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "<h1>shop</h1>").unwrap();
    let store = app.target().store;
    pier_core::deploy::deploy(
        store.as_ref(),
        &pier_core::deploy::DeployRequest::folder(site.path(), Some("shop".into()), true),
        &pier_core::progress::Progress::silent(),
    )
    .await
    .unwrap();
    assert_eq!(
        app.domains().await.unwrap().distribution_id,
        Some(distribution)
    );
    let missing = app
        .domain_add("www.example.net".into(), "shop".into(), None)
        .map(|_| ());
    assert_eq!(
        missing,
        Ok(()),
        "the wizard starts; its error comes as an event"
    );
    let refusal = until(&seen, "a refused domain", |event| match event {
        AppEvent::DomainEnded { domain, error, .. } if domain == "www.example.net" => error.clone(),
        _ => None,
    })
    .await;
    assert!(refusal.message.contains("hosted zone"), "{refusal:?}");
    assert!(refusal.hint.contains("hosted zone"), "{refusal:?}");

    app.domain_add("www.example.org".into(), "shop".into(), None)
        .unwrap();
    let attached = until(&seen, "the domain attached", |event| match event {
        AppEvent::DomainEnded {
            domain,
            attached,
            error,
        } if domain == "www.example.org" => Some((*attached, error.clone())),
        _ => None,
    })
    .await;
    assert_eq!(attached, (true, None));
    let titles: Vec<&str> = seen
        .lock()
        .unwrap()
        .iter()
        .filter_map(|event| match event {
            AppEvent::DomainStep { domain, step } if domain == "www.example.org" => {
                Some(step.step.title())
            }
            _ => None,
        })
        .collect();
    for step in [
        "hosted zone",
        "certificate",
        "CloudFront alias",
        "attached to project",
    ] {
        assert!(titles.contains(&step), "{step} missing from {titles:?}");
    }
    let record = pier_core::domains::lookup(store.as_ref(), "www.example.org")
        .await
        .unwrap()
        .expect("the proxy's record");
    assert_eq!(record.project, "shop");
    let listed = app.domains().await.unwrap().domains;
    assert_eq!(
        (listed[0].domain.as_str(), listed[0].attached),
        ("www.example.org", true)
    );
    let removed = app.domain_remove("www.example.org").await.unwrap();
    assert_eq!(removed.domain, "www.example.org");
    assert!(app.domains().await.unwrap().domains.is_empty());

    // Teardown keeps the bucket (it holds a deployment) and so the app stays on it.
    let (outcome, error) = setup_ended(&app, &seen, &form, SetupRun::Teardown).await;
    assert_eq!(error, None);
    let teardown = outcome.unwrap();
    let bucket = teardown
        .changes
        .iter()
        .find(|c| c.resource == "bucket")
        .unwrap();
    assert!(
        bucket.detail.as_deref().unwrap().starts_with("kept"),
        "{bucket:?}"
    );
    assert!(!teardown.switched);
    let (_, error) = setup_ended(&app, &seen, &form, SetupRun::Teardown).await;
    assert!(error.unwrap().message.contains("Nothing that Pier made"));
}

//! The desktop app with other regions, without a window, against moto: what the Settings,
//! Projects and Project screens call. Bad region lists are refused with what to type; a
//! dropped folder lands in every region's bucket and promotes there too; a change made to the
//! primary alone (a machine without the regions in its config) shows the other region as
//! lagging by what it lacks, still serving its previous deployment, until "Sync now" brings it
//! up; a region whose bucket is gone is reported, and deploys go on everywhere else.

mod common;

use common::Harness;
use pier_app::settings::SettingsForm;
use pier_core::region_state::{RegionReport, RegionState};
use pier_core::store::DynStore;
use pier_tests::Moto;

async fn production(store: &DynStore, project: &str) -> Option<String> {
    pier_core::alias::read(store.as_ref(), project)
        .await
        .unwrap()
        .and_then(|record| record.production)
}

async fn regions_of(harness: &Harness, project: &str) -> Vec<RegionReport> {
    let projects = harness.app.projects().await.unwrap();
    projects
        .into_iter()
        .find(|view| view.name == project)
        .unwrap_or_else(|| panic!("{project} is listed"))
        .regions
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_deploys_to_every_region_and_shows_what_each_lacks() {
    let moto = Moto::start();
    moto.bucket("sites").await;
    moto.bucket("sites-eu-west-1").await;
    let harness = Harness::start().await;
    let app = &harness.app;
    let form = |region: &str, regions: &str| SettingsForm {
        target: "aws".into(),
        bucket: "sites".into(),
        region: region.into(),
        regions: regions.into(),
        endpoint: moto.endpoint.clone(),
        ..Default::default()
    };

    // Bad lists are refused before anything is saved, with what to type instead.
    let not_a_region = app
        .save_settings(form("us-east-1", "eu-west-1, europe"))
        .await
        .unwrap_err();
    assert!(
        not_a_region
            .message
            .contains("`europe` is not another AWS region"),
        "{not_a_region:?}"
    );
    assert!(not_a_region.hint.contains("eu-west-1"), "{not_a_region:?}");
    let the_primary_again = app
        .save_settings(form("us-east-1", "us-east-1"))
        .await
        .unwrap_err();
    assert!(
        the_primary_again.message.contains("`us-east-1`"),
        "{the_primary_again:?}"
    );
    let no_primary = app.save_settings(form("", "eu-west-1")).await.unwrap_err();
    assert!(
        no_primary.message.contains("primary's region"),
        "{no_primary:?}"
    );
    assert_eq!(app.settings().form.target, "embedded", "nothing was saved");

    app.save_settings(form("us-east-1", " EU-West-1 "))
        .await
        .unwrap();
    assert_eq!(app.settings().form.regions, "eu-west-1", "saved as a code");
    let target = app.target();
    assert_eq!(target.regions.primary.name, "us-east-1");
    let eu = target.regions.others[0].store.clone();
    assert!(eu.url().contains("sites-eu-west-1"), "{}", eu.url());

    // A dropped folder lands in both buckets, and the promote reaches both.
    let site = harness.site("shop", &[("index.html", "<h1>first</h1>")]);
    let mark = harness.events.mark();
    let job = app
        .deploy_dropped(vec![site.clone()], Some("shop".into()))
        .unwrap();
    let first = harness.events.job_end(&job, mark).await.unwrap().deployment;
    app.promote(&first).await.unwrap();
    assert_eq!(production(&eu, "shop").await, Some(first.clone()));
    assert_eq!(
        regions_of(&harness, "shop").await,
        [RegionReport {
            region: "eu-west-1".into(),
            state: RegionState::InSync
        }]
    );

    // Another machine deploys and promotes to the primary alone: the Projects screen says
    // by how much the other region lags, and that region still serves the first deployment.
    std::fs::write(site.join("index.html"), "<h1>second</h1>").unwrap();
    let primary = target.store.clone();
    let second = pier_tests::deploy_folder(&primary, &site, "shop", true).await;
    let lagging = regions_of(&harness, "shop").await;
    assert_eq!(
        lagging[0].state,
        RegionState::Lagging {
            missing: 1,
            alias_behind: true,
            removals_pending: 0,
            reason: None
        }
    );
    assert_eq!(lagging[0].state.short(), "lagging by 1");
    assert_eq!(production(&eu, "shop").await, Some(first.clone()));

    // Sync now: the region gets the deployment, then the alias.
    let synced = app.sync_regions("shop").await.unwrap();
    assert!(synced.iter().all(|r| r.state.in_sync()), "{synced:?}");
    assert_eq!(production(&eu, "shop").await, Some(second.clone()));
    assert!(regions_of(&harness, "shop").await[0].state.in_sync());

    // A region whose bucket is gone: the deploy goes on in the others, and the screens say
    // which region and why.
    app.save_settings(form("us-east-1", "eu-west-1, ap-southeast-1"))
        .await
        .unwrap();
    std::fs::write(site.join("index.html"), "<h1>third</h1>").unwrap();
    let mark = harness.events.mark();
    let job = app
        .deploy_dropped(vec![site.clone()], Some("shop".into()))
        .unwrap();
    let third = harness
        .events
        .job_end(&job, mark)
        .await
        .expect("a missing region does not fail the deploy")
        .deployment;
    app.promote(&third).await.unwrap();
    assert_eq!(production(&eu, "shop").await, Some(third.clone()));
    let states = regions_of(&harness, "shop").await;
    assert_eq!(states.len(), 2, "{states:?}");
    assert!(states[0].state.in_sync(), "{states:?}");
    assert_eq!(states[1].region, "ap-southeast-1");
    assert!(!states[1].state.in_sync(), "{states:?}");
    assert!(
        states[1].state.describe().contains("sites-ap-southeast-1"),
        "says which bucket: {states:?}"
    );
}

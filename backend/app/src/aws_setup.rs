//! The app's AWS setup screen: a plan of what `pier setup aws` would make in the user's
//! account, the apply (each step reported as it ends), and teardown. It is the CLI's engine
//! ([`pier_aws::setup`]) with the same record, so a setup started in one is resumed or torn down
//! from the other. After a complete apply the app switches to the new bucket and base URL,
//! and Pier's config file points there too ([`pier_aws::setup::adopt`]).
//!
//! Other regions (the form's `regions`) get what serves sites, each with its own record, as
//! `pier setup aws --regions` does; a region left out of a later apply is torn down, and the
//! app's settings name the regions it now deploys to.
//!
//! AWS access is the AWS chain's, for the profile the form names: no key ever crosses to or
//! from the window.

use super::events::{AppEvent, UserError};
use super::settings::{AwsTarget, DesktopSettings, StoreTarget};
use pier_aws::setup::regions::Connection;
use pier_aws::setup::{self, Change, Mode, SetupSpec, TaskRange, record::SetupRecord};
pub use pier_wire::setup::{SetupForm, SetupOutcome, SetupRun};

/// The form prefilled from the settings: the profile and regions already in use.
pub fn prefilled(settings: &DesktopSettings) -> SetupForm {
    let mut form = SetupForm::default();
    if let Some(aws) = settings.aws() {
        form.profile = aws.profile.clone().unwrap_or_default();
        form.region = aws.region.clone().unwrap_or_default();
        form.regions = aws.regions.join(", ");
    }
    form
}

/// The form's AWS profile; none is the chain's default.
fn profile(form: &SetupForm) -> Option<&str> {
    Some(form.profile.trim()).filter(|p| !p.is_empty())
}

/// The spec `pier setup aws` would build from the same answers.
async fn spec(form: &SetupForm, endpoint: Option<&str>) -> Result<SetupSpec, UserError> {
    let base_domain = form.base_domain.trim();
    if base_domain.is_empty() {
        return Err(UserError::new(
            "Setup needs a base domain",
            "type the domain sites go under, as in sites.example.com; its Route53 zone \
                 must be in the account",
        ));
    }
    let base_domain = pier_core::domains::normalize(base_domain)?;
    let region = match Some(form.region.trim()).filter(|r| !r.is_empty()) {
        Some(region) => region.to_string(),
        None => pier_core::aws::load_as(profile(form), endpoint, None)
            .await
            .region()
            .map(|r| r.to_string())
            .ok_or_else(|| {
                UserError::new(
                    "No AWS region is set",
                    "type a region, as in eu-west-1, or set one in your AWS profile",
                )
            })?,
    };
    let name = Some(form.name.trim())
        .filter(|n| !n.is_empty())
        .unwrap_or("pier")
        .to_string();
    let bucket = Some(form.bucket.trim())
        .filter(|b| !b.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| setup::default_bucket(&name, &base_domain));
    let spec = SetupSpec {
        name,
        region,
        bucket,
        base_domain,
        builder_image: setup::default_builder_image(),
        proxy_image: setup::default_proxy_image(),
        proxy_tasks: TaskRange {
            min: form.proxy_min,
            max: form.proxy_max,
        },
        builder_tasks: TaskRange {
            min: form.builders_min,
            max: form.builders_max,
        },
        proxy_requests_per_task: 1000,
        jobs_per_builder: 2,
        log_retention_days: form.log_days,
        job_visibility_secs: setup::DEFAULT_JOB_VISIBILITY_SECS,
        redis_url: None,
        images: setup::ImageSource::Mirror,
        cpu_architecture: setup::DEFAULT_CPU_ARCHITECTURE.into(),
        other_regions: pier_wire::regions::parse_list(&form.regions),
        serving_only: false,
    };
    spec.validate()?;
    Ok(spec)
}

/// One setup run, start to end; steps go to `on_change` as they end.
pub(super) async fn run(
    app: &super::App,
    form: &SetupForm,
    run: SetupRun,
    on_change: &mut (dyn FnMut(&Change) + Send),
) -> Result<SetupOutcome, UserError> {
    let settings = app.target().settings;
    // The settings' endpoint override (an emulator), else AWS.
    let endpoint = settings.aws().and_then(|aws| aws.endpoint.clone());
    let spec = spec(form, endpoint.as_deref()).await?;
    let connection = Connection {
        profile: profile(form),
        endpoint: endpoint.as_deref(),
    };
    let path = setup::record::default_path(&spec.name, &spec.region);
    let records = path.parent().unwrap_or(std::path::Path::new("."));
    let (changes, waiting) = match run {
        SetupRun::Plan | SetupRun::Apply => {
            let mode = if run == SetupRun::Plan {
                Mode::Plan
            } else {
                Mode::Apply
            };
            let runs = setup::regions::run(connection, &spec, mode, records, on_change).await?;
            if mode.applies() {
                setup::adopt(&spec, &runs[0].report.outputs)?;
            }
            let waiting = runs.iter().any(|run| run.report.waiting());
            let changes = runs
                .into_iter()
                .flat_map(|run| run.report.changes)
                .collect();
            (changes, waiting)
        }
        SetupRun::Teardown => {
            let mut record = SetupRecord::open(&path, &spec.name, &spec.region)?;
            if record.created.is_empty() {
                return Err(UserError::new(
                    format!(
                        "Nothing that Pier made is recorded for `{}` in {}",
                        spec.name, spec.region
                    ),
                    "check the name and region; teardown only removes what setup made",
                ));
            }
            // The regions that serve for this one go first, each from its own record.
            let mut changes =
                setup::regions::teardown_others(connection, &spec.name, &spec.region, records)
                    .await?;
            let clients = connection.clients(&spec.region).await;
            changes.extend(setup::teardown(&clients, &mut record).await?);
            changes.iter().for_each(&mut *on_change);
            (changes, false)
        }
    };
    let switched = match run {
        SetupRun::Apply if !waiting => {
            let mut next = settings.clone();
            next.target = StoreTarget::Aws(AwsTarget {
                profile: profile(form).map(str::to_string),
                region: Some(spec.region.clone()),
                bucket: spec.bucket.clone(),
                prefix: None,
                endpoint: endpoint.clone(),
                regions: spec.other_regions.clone(),
            });
            next.base_url = Some(format!("https://{}", spec.base_domain));
            app.switch_to(next).await?;
            true
        }
        // The bucket the app works against is gone: back to this machine's store.
        SetupRun::Teardown if bucket_deleted(&settings, &spec, &changes) => {
            app.switch_to(DesktopSettings {
                target: StoreTarget::Embedded,
                base_url: None,
                ..settings.clone()
            })
            .await?;
            true
        }
        _ => false,
    };
    Ok(SetupOutcome {
        run,
        changes,
        waiting,
        bucket: spec.bucket,
        base_domain: spec.base_domain,
        region: spec.region,
        record: path.display().to_string(),
        switched,
    })
}

fn bucket_deleted(settings: &DesktopSettings, spec: &SetupSpec, changes: &[Change]) -> bool {
    let in_use = settings.aws().is_some_and(|aws| aws.bucket == spec.bucket);
    in_use
        && changes.iter().any(|c| {
            c.resource == "bucket"
                && c.name == spec.bucket
                && c.detail.as_deref() == Some("deleted")
        })
}

/// Starts a run on its own task; steps and the outcome arrive as events.
pub(super) fn spawn(app: super::App, form: SetupForm, run_kind: SetupRun) -> Result<(), UserError> {
    let guard = app.setup_slot()?;
    tokio::spawn(async move {
        let _guard = guard;
        let events = app.events().clone();
        let mut on_change = |change: &Change| {
            events.emit(AppEvent::SetupStep {
                run: run_kind,
                change: change.clone(),
            })
        };
        let ended = run(&app, &form, run_kind, &mut on_change).await;
        let (outcome, error) = match ended {
            Ok(outcome) => (Some(outcome), None),
            Err(error) => (None, Some(error.into())),
        };
        app.events().emit(AppEvent::SetupEnded {
            run: run_kind,
            outcome,
            error,
        });
    });
    Ok(())
}

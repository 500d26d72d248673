//! `pier setup aws`: makes the user's AWS account ready, one idempotent step at a time.
//!
//! Every resource has a fixed name derived from [`SetupSpec::name`], so each step first looks
//! for its resource by name and only creates (or corrects) what is missing. A plan runs the
//! same steps without changing anything. What a step creates is recorded at once in the
//! setup record ([`record`]), so an apply that stops half way (an error, a closed app) is
//! resumed by running it again, and `pier teardown aws` deletes exactly what setup created,
//! in reverse order, and nothing that was there before.
//!
//! Steps, in order: the store bucket, the build queues, the builders' secrets, IAM roles, the network (default VPC,
//! security groups), the tasks' log group, functions on Lambda (their log group, role and the store's settings record), the images (copied into the account's ECR), the ECS cluster and task definitions, the load balancer, the ECS services,
//! auto-scaling, the certificate, the CloudFront distribution, and the wildcard DNS record.
//! With other regions (`regions`), each gets the steps that serve sites, and Route53 latency
//! records send CloudFront's origin name to the nearest healthy one.

pub mod cdn;
pub mod compute;
pub mod functions;
pub mod iam;
pub mod logging;
pub mod network;
pub mod record;
pub mod regions;
pub mod registry;
pub mod scaling;
pub mod secrets;
pub mod spec;
pub mod step;
pub mod storage;
pub mod teardown;
pub mod work_queue;

use pier_core::error::PierError;
use record::SetupRecord;
pub use spec::*;
use step::Step;

/// Runs every step: a plan (`Mode::Plan`) or an apply. Apply stops at the first error; what
/// it created so far is in the record, and running it again resumes.
pub async fn run(
    clients: &Clients,
    spec: &SetupSpec,
    mode: Mode,
    record: &mut SetupRecord,
) -> Result<Report, PierError> {
    run_reporting(clients, spec, mode, record, &mut |_| {}).await
}

/// As [`run`], calling `on_change` with each change as it is known (an apply on real AWS
/// takes minutes; CloudFront alone several), and with the image copy's progress.
pub async fn run_reporting(
    clients: &Clients,
    spec: &SetupSpec,
    mode: Mode,
    record: &mut SetupRecord,
    on_change: &mut (dyn FnMut(&Change) + Send),
) -> Result<Report, PierError> {
    spec.validate()?;
    let mut outputs = Outputs::default();
    let mut step = Step::new(clients, spec, mode, record, &mut outputs, on_change);
    storage::ensure(&mut step).await?;
    // Builds run in the primary region only: the other regions have no queue of their own.
    if !spec.serving_only {
        work_queue::ensure(&mut step).await?;
        secrets::ensure(&mut step).await?;
    }
    iam::ensure(&mut step).await?;
    network::ensure(&mut step).await?;
    logging::ensure(&mut step).await?;
    functions::ensure(&mut step).await?;
    registry::ensure(&mut step).await?;
    compute::ensure_cluster_and_tasks(&mut step).await?;
    network::ensure_balancer(&mut step).await?;
    compute::ensure_services(&mut step).await?;
    scaling::ensure(&mut step).await?;
    // One distribution for every region, made by the primary's run.
    if !spec.serving_only {
        cdn::ensure(&mut step).await?;
    }
    let changes = step.into_changes();
    Ok(Report { changes, outputs })
}

/// Points Pier's config file at what an apply made: the store bucket, the base URL, the
/// distribution, and remote builds on the queue (or ECS). The CLI and the app both call it,
/// so either sees the other's setup.
pub fn adopt(spec: &SetupSpec, outputs: &Outputs) -> Result<std::path::PathBuf, PierError> {
    let path = pier_core::config::config_path();
    let mut file = pier_core::config::ConfigFile::load(&path)?;
    file.store = Some(format!("s3://{}", spec.bucket));
    file.base_url = Some(format!("https://{}", spec.base_domain));
    file.distribution_id = outputs.distribution_id.clone();
    file.builds.runner = Some("queue".into());
    file.builds.queue_url = outputs.queue_url.clone();
    file.builds.ecs = Some(compute::ecs_target(spec, outputs));
    // Every other region's store, which deploys keep in step with the primary's.
    file.region = (!spec.other_regions.is_empty()).then(|| spec.region.clone());
    file.regions = spec
        .other_region_stores()
        .into_iter()
        .map(|(name, store)| pier_core::config::RegionConfig { name, store })
        .collect();
    file.save(&path)?;
    Ok(path)
}

/// The default store bucket for a base domain: `<name>-<domain with dashes>`.
pub fn default_bucket(name: &str, base_domain: &str) -> String {
    format!("{name}-{}", base_domain.replace('.', "-"))
}

/// Deletes what the record says setup created, newest first; returns what was deleted.
pub async fn teardown(
    clients: &Clients,
    record: &mut SetupRecord,
) -> Result<Vec<Change>, PierError> {
    teardown::teardown(clients, record).await
}

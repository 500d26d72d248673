//! `pier gc`: deletes the blobs no deployment or live lease names (`--dry-run` only counts
//! them); the engine's fence keeps it from racing deploys. Each region collects on its own
//! store, keeping what its own aliases, manifests and leases (an unfinished sync's) name.

use indicatif::HumanBytes;
use pier_core::regions::Regions;
use serde_json::json;

use crate::output::Output;

pub async fn run(regions: &Regions, out: &Output<'_>, dry_run: bool) -> anyhow::Result<()> {
    let reports = regions.collect_garbage(dry_run).await?;
    if out.json {
        // One region keeps the shape scripts already read.
        match reports.as_slice() {
            [only] => out.print(json!({ "gc": only.report })),
            _ => out.print(json!({ "gc": reports[0].report, "regions": reports })),
        }
        return Ok(());
    }
    let verb = if dry_run { "Would delete" } else { "Deleted" };
    for gc in &reports {
        let report = &gc.report;
        let place = if reports.len() > 1 {
            format!("{}: ", gc.region)
        } else {
            String::new()
        };
        println!(
            "{place}{verb} {} unused blobs ({}); kept {} used by {} deployments.",
            report.blobs_deleted,
            HumanBytes(report.bytes_freed),
            report.blobs_kept,
            report.deployments
        );
    }
    Ok(())
}

//! `pier gc`: deletes the blobs no deployment or live lease names (`--dry-run` only counts
//! them); the engine's fence keeps it from racing deploys.

use indicatif::HumanBytes;
use pier_core::gc;
use pier_core::store::DynStore;
use serde_json::json;

use crate::output::Output;

pub async fn run(store: &DynStore, out: &Output<'_>, dry_run: bool) -> anyhow::Result<()> {
    let report = gc::collect(store.as_ref(), dry_run).await?;
    if out.json {
        out.print(json!({ "gc": report }));
    } else {
        let verb = if dry_run { "Would delete" } else { "Deleted" };
        println!(
            "{verb} {} unused blobs ({}); kept {} used by {} deployments.",
            report.blobs_deleted,
            HumanBytes(report.bytes_freed),
            report.blobs_kept,
            report.deployments
        );
    }
    Ok(())
}

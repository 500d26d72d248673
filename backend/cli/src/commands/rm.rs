//! `pier rm`: removes a deployment that is not live; its blobs stay until the next `pier gc`,
//! and the Lambda versions no deployment uses any more are deleted at once (a gc of functions
//! only, under gc's lock; if a gc is running, that gc or the next one deletes them). With
//! several regions, the primary removes first, then every other region.

use pier_core::regions::Regions;
use serde_json::json;

use crate::output::Output;

pub async fn run(regions: &Regions, out: &Output<'_>, deployment: &str) -> anyhow::Result<()> {
    let (removed, reports) = regions.remove(deployment).await?;
    let versions = regions.collect_functions().await;
    if out.json {
        out.print(json!({
            "removed": removed,
            "lambda_versions_deleted": versions.as_ref().ok(),
            "regions": reports,
        }));
    } else {
        println!(
            "Removed {} ({}). Its files are freed by the next `pier gc`.",
            removed.id, removed.preview
        );
        match &versions {
            Ok(0) => {}
            Ok(count) => println!("Deleted {count} Lambda version(s) no deployment uses."),
            Err(error) => eprintln!(
                "warning: its Lambda versions stay until `pier gc`: {error} ({})",
                error.hint()
            ),
        }
        out.region_lines(&reports);
    }
    Ok(())
}

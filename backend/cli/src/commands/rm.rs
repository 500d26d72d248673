//! `pier rm`: removes a deployment that is not live; its blobs stay until the next `pier gc`.

use pier_core::deployments;
use pier_core::store::DynStore;
use serde_json::json;

use crate::output::Output;

pub async fn run(store: &DynStore, out: &Output<'_>, deployment: &str) -> anyhow::Result<()> {
    let removed = deployments::remove(store.as_ref(), deployment).await?;
    if out.json {
        out.print(json!({ "removed": removed }));
    } else {
        println!(
            "Removed {} ({}). Its files are freed by the next `pier gc`.",
            removed.id, removed.preview
        );
    }
    Ok(())
}

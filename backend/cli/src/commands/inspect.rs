//! `pier inspect`: a deployment (by id, preview name or preview URL) with its metadata, URLs
//! and every file's size and content hash.

use indicatif::HumanBytes;
use pier_core::deployments;
use pier_core::store::DynStore;
use serde_json::json;

use crate::output::{Output, short_time};

pub async fn run(store: &DynStore, out: &Output<'_>, deployment: &str) -> anyhow::Result<()> {
    let found = deployments::inspect(store.as_ref(), deployment).await?;
    if out.json {
        out.print(json!({
            "deployment": found.manifest,
            "preview_url": out.settings.base_url.for_label(&found.preview),
            "production": found.production,
        }));
    } else {
        let manifest = &found.manifest;
        println!("id          {}", manifest.id);
        println!("project     {}", manifest.project);
        println!("created     {}", short_time(manifest.created));
        println!("source      {}", manifest.source.describe());
        println!(
            "files       {} ({})",
            manifest.file_count,
            HumanBytes(manifest.total_bytes)
        );
        println!(
            "preview     {}",
            out.settings.base_url.for_label(&found.preview)
        );
        if found.production {
            println!(
                "production  {}",
                out.settings.base_url.for_label(&manifest.project)
            );
        }
        println!();
        for file in &manifest.files {
            println!(
                "  {:>10}  {}  {}",
                HumanBytes(file.size).to_string(),
                &file.sha256[..12],
                file.path
            );
        }
    }
    Ok(())
}

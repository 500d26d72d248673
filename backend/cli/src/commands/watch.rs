//! `pier watch`: deploys every saved change of one or more folders (or builds it first, with
//! `--build`) to `<project>-watch`, or to production with `--prod`, until Ctrl-C; a failed
//! deploy leaves the last good one live. The folders are remembered for the next `pier watch`
//! and the desktop app. With several regions, each change reaches all of them.

use std::path::PathBuf;

use clap::Args;
use indicatif::HumanBytes;
use pier_core::regions::Regions;
use pier_core::watch::{self, WatchEvent, WatchOptions, WatchSpec};
use serde_json::json;

use crate::output::Output;

#[derive(Args)]
pub struct WatchArgs {
    /// Folders to watch; each is remembered for the next `pier watch` and the desktop app.
    pub dirs: Vec<PathBuf>,
    /// Project name (only with one folder); defaults to the folder's name.
    #[arg(long)]
    pub project: Option<String>,
    /// Make each change live in production, not at <project>-watch.
    #[arg(long)]
    pub prod: bool,
    /// Run the folder's build on each change and deploy its output; a failed build
    /// leaves the last good deployment live.
    #[arg(long)]
    pub build: bool,
    /// Stop remembering these folders instead of watching them.
    #[arg(long)]
    pub forget: bool,
    /// List the remembered folders.
    #[arg(long, conflicts_with = "forget")]
    pub list: bool,
}

pub async fn run(regions: &Regions, out: &Output<'_>, args: WatchArgs) -> anyhow::Result<()> {
    let WatchArgs {
        dirs,
        project,
        prod,
        build,
        forget,
        list,
    } = args;
    let list_file = watch::list::path();
    if list {
        let specs = watch::list::load(&list_file)?;
        if out.json {
            out.print(json!({ "watches": specs }));
        } else if specs.is_empty() {
            println!("No folders are watched. Start with `pier watch DIR`.");
        }
        if !out.json {
            for spec in specs {
                println!(
                    "{}  →  {}",
                    spec.dir.display(),
                    out.settings.base_url.for_label(&spec.label())
                );
            }
        }
        return Ok(());
    }
    if forget {
        for dir in &dirs {
            let was = watch::list::forget(&list_file, dir)?;
            println!(
                "{} {}",
                if was { "Forgot" } else { "Was not watching" },
                dir.display()
            );
        }
        return Ok(());
    }
    if project.is_some() && dirs.len() > 1 {
        anyhow::bail!("--project names one folder's project; watch several folders without it");
    }
    let specs = if dirs.is_empty() {
        let remembered = watch::list::load(&list_file)?;
        if remembered.is_empty() {
            anyhow::bail!("no folders to watch: pass one, as in `pier watch ./site`");
        }
        remembered
    } else {
        let mut specs = Vec::new();
        for dir in &dirs {
            let spec = WatchSpec::new(dir, project.clone(), prod, build)?;
            watch::list::remember(&list_file, &spec)?;
            specs.push(spec);
        }
        specs
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        let _ = stop.send(true);
    });
    let json = out.json;
    let base_url = out.settings.base_url.clone();
    let watches = specs.into_iter().map(|spec| {
        let regions = regions.clone();
        let base_url = base_url.clone();
        let mut stopped = stopped.clone();
        let project = spec.project.clone();
        async move {
            let report =
                move |event: WatchEvent| print_watch_event(&project, &base_url, json, &event);
            let shutdown = async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            };
            let options = WatchOptions {
                envs: Some(pier_core::project_env::ProjectEnvs::for_this_machine()),
                ..WatchOptions::default()
            };
            watch::watch(regions, spec, options, report, shutdown).await
        }
    });
    for result in futures::future::join_all(watches).await {
        result?;
    }
    Ok(())
}

fn print_watch_event(
    project: &str,
    base_url: &pier_core::config::BaseUrl,
    json: bool,
    event: &WatchEvent,
) {
    if json {
        println!(
            "{}",
            serde_json::to_string(event).expect("events serialise")
        );
        return;
    }
    match event {
        WatchEvent::Watching { dir, label } => {
            println!("Watching {} → {}", dir.display(), base_url.for_label(label))
        }
        WatchEvent::Deploying { changes } => println!("{project}: deploying {changes} changes"),
        WatchEvent::Building { deployment } => {
            println!("{project}: building (log: `pier logs {deployment}`)")
        }
        WatchEvent::Deployed {
            outcome,
            diff,
            save_to_live_ms,
            label,
        } => {
            let mut names: Vec<&str> = diff
                .added
                .iter()
                .chain(&diff.changed)
                .chain(&diff.removed)
                .map(String::as_str)
                .take(3)
                .collect();
            if diff.count() > 3 {
                names.push("…");
            }
            println!(
                "{project}: {} file(s) changed{}; {} uploaded; live in {save_to_live_ms} ms at {}",
                diff.count(),
                if names.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", names.join(", "))
                },
                HumanBytes(outcome.uploaded_bytes),
                base_url.for_label(label)
            )
        }
        WatchEvent::Failed {
            error,
            hint,
            retry_in_ms,
        } => eprintln!(
            "{project}: deploy failed: {error}\n  hint: {hint}\n  the last good deployment stays live; retrying in {:.1} s",
            *retry_in_ms as f64 / 1000.0
        ),
        WatchEvent::FolderGone => {
            eprintln!("{project}: the folder is gone; waiting for it to come back")
        }
        WatchEvent::FolderBack => println!("{project}: the folder is back"),
        WatchEvent::Stopped => println!("{project}: stopped watching"),
    }
}

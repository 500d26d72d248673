//! `pier deploy`: a built folder is deployed as it is, with progress on stderr; a source tree
//! with a build script, or a `--git` repository, is built first, on this machine or by a remote
//! runner (`build.rs`). Either way the deployment is immutable and reaches production
//! only with `--prod`. With several regions, a folder or a build's output lands in all of them
//! at once (a builder elsewhere lands it in the regions it was set up with; the others are
//! then brought up to the primary).

use std::path::PathBuf;

use clap::Args;
use indicatif::HumanBytes;
use pier_core::config::BuildsConfig;
use pier_core::deploy::DeployRequest;
use pier_core::project_env::ProjectEnvs;
use pier_core::regions::Regions;

use super::build::{build_here, build_job, build_remotely};
use crate::bars;
use crate::output::Output;

#[derive(Args)]
pub struct DeployArgs {
    /// A built site, or a source tree with a build script (built first).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Project name (a DNS label); defaults to the folder's (or repository's) name.
    #[arg(long)]
    pub project: Option<String>,
    /// Also make it the project's production deployment.
    #[arg(long)]
    pub prod: bool,
    /// Deploy the folder as it is, even if it has a build script.
    #[arg(long)]
    pub no_build: bool,
    /// Clone this repository (shallow) and build it instead of a local folder.
    #[arg(long, conflicts_with = "no_build")]
    pub git: Option<String>,
    /// The branch or tag to clone with --git.
    #[arg(long = "ref", requires = "git")]
    pub git_ref: Option<String>,
    /// Where a build runs: `local` (this machine), `queue` (builder workers through the SQS
    /// build queue) or `ecs` (a one-off Fargate task). Defaults to the config's
    /// `[builds] runner`, else local.
    #[arg(long, env = "PIER_BUILD_RUNNER", value_parser = ["local", "queue", "ecs"])]
    pub runner: Option<String>,
}

pub async fn run(
    regions: &Regions,
    out: &Output<'_>,
    builds: &BuildsConfig,
    redis: Option<&str>,
    args: DeployArgs,
) -> anyhow::Result<()> {
    let DeployArgs {
        dir,
        project,
        prod,
        no_build,
        git,
        git_ref,
        runner,
    } = args;
    let plan = match &git {
        Some(_) => None,
        None if no_build => None,
        None => pier_core::builds::detect::detect(&dir, &Default::default())
            .ok()
            .filter(|plan| plan.needs_build()),
    };
    if git.is_some() || plan.is_some() {
        let runner = runner
            .or(builds.runner.clone())
            .unwrap_or_else(|| "local".into());
        let mut job = build_job(&dir, project, prod, git, git_ref)?;
        let env = ProjectEnvs::for_this_machine().resolve(&job.project)?;
        if let Some(env) = &env {
            job = job.with_project_env(env);
        }
        if runner == "local" {
            return build_here(regions, out, redis, job, env.as_ref()).await;
        }
        let project = job.project.clone();
        build_remotely(regions.store(), out, redis, builds, &runner, job).await?;
        // The builder lands the output in the regions it was set up with; a region this
        // machine's config names beyond those is brought up here.
        if !regions.others.is_empty() {
            let synced = regions.sync(Some(&project)).await?;
            if !out.json {
                for project in &synced {
                    out.region_lines(&project.regions);
                }
            }
        }
        Ok(())
    } else {
        deploy_folder(regions, out, dir, project, prod).await
    }
}

/// Deploys `dir` as it is, with a progress bar on stderr unless the output is JSON.
async fn deploy_folder(
    regions: &Regions,
    out: &Output<'_>,
    dir: PathBuf,
    project: Option<String>,
    prod: bool,
) -> anyhow::Result<()> {
    let (progress, bar) = bars::deploy_progress(!out.json);
    // Hashes remembered from the last deploy of this folder: unchanged files are not read again.
    let hash_cache = std::sync::Arc::new(pier_core::scan::HashCache::load_for(&dir));
    let project = match project {
        Some(project) => project,
        None => pier_core::deploy::default_project(&dir)?,
    };
    let env = ProjectEnvs::for_this_machine().resolve(&project)?;
    let request = DeployRequest {
        hash_cache: Some(hash_cache.clone()),
        env,
        ..DeployRequest::folder(&dir, Some(project), prod)
    };
    let result = regions.deploy(&request, &progress).await;
    if result.is_ok() {
        hash_cache.save_for(&dir);
    }
    if let Some(bar) = bar.lock().expect("not poisoned").take() {
        bar.finish_and_clear();
    }
    let outcome = result?;
    if out.json {
        out.print(out.deployed_json(&outcome));
        return Ok(());
    }
    let (preview_url, production_url) = out.urls(&outcome);
    println!(
        "Deployed {} ({} files, {}) in {:.1} s; uploaded {} new of {} distinct files ({}).",
        outcome.summary.project,
        outcome.summary.file_count,
        HumanBytes(outcome.summary.total_bytes),
        outcome.elapsed_ms as f64 / 1000.0,
        outcome.uploaded_blobs,
        outcome.uploaded_blobs + outcome.reused_blobs,
        HumanBytes(outcome.uploaded_bytes),
    );
    println!("  id          {}", outcome.summary.id);
    println!("  preview     {preview_url}");
    match production_url {
        Some(url) => println!("  production  {url}"),
        None => println!("  promote with `pier promote {}`", outcome.summary.id),
    }
    out.region_lines(&outcome.regions);
    Ok(())
}

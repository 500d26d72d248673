//! `pier setup aws` and `pier teardown aws`: argument parsing and printing over
//! `pier_aws::setup`. After an apply, the config file points Pier at what was made (the
//! store bucket, the base URL, the build queue and the ECS target).

use pier_aws::setup::{self, Change, Clients, Mode, SetupSpec, TaskRange, record};
use pier_core::PierError;
use pier_core::config::config_path;
use serde_json::json;

#[derive(clap::Args)]
pub struct AwsArgs {
    /// Sites are served at <project>.<base-domain>; its Route53 zone must be in the account.
    #[arg(long, env = "PIER_BASE_DOMAIN")]
    base_domain: Option<String>,
    /// The AWS region; defaults to the AWS profile's region.
    #[arg(long, env = "AWS_REGION")]
    region: Option<String>,
    /// Serve from several regions, the first the primary (builders and the CDN live there):
    /// us-east-1,eu-west-1. Run again with a region added or left out to add or remove
    /// exactly that region.
    #[arg(long, value_delimiter = ',', conflicts_with = "region")]
    regions: Vec<String>,
    /// The store bucket; defaults to <name>-<base domain with dashes>.
    #[arg(long)]
    bucket: Option<String>,
    /// The prefix of every resource name.
    #[arg(long, default_value = "pier")]
    name: String,
    /// The builder image; defaults to this release's, pinned by digest. One pinned by digest
    /// (registry/repository@sha256:…) is copied into your ECR; any other is used as given.
    #[arg(long)]
    builder_image: Option<String>,
    /// The proxy image (as --builder-image).
    #[arg(long)]
    proxy_image: Option<String>,
    /// `mirror` copies the images into private ECR repositories in the account (no Docker
    /// needed here); `public` has the tasks pull them from where they are published.
    #[arg(long, default_value = "mirror", value_parser = ["mirror", "public"])]
    images: String,
    /// The tasks' CPU architecture: X86_64, or ARM64 (Graviton).
    #[arg(long, default_value = setup::DEFAULT_CPU_ARCHITECTURE, value_parser = ["X86_64", "ARM64"])]
    cpu_architecture: String,
    /// Proxy tasks, as MIN-MAX.
    #[arg(long, default_value = "1-4", value_parser = parse_range)]
    proxy_tasks: TaskRange,
    /// Builder workers, as MIN-MAX (0 lets the fleet sleep when no build waits).
    #[arg(long, default_value = "0-4", value_parser = parse_range)]
    builders: TaskRange,
    /// Scale the proxy out above this many requests per task per minute.
    #[arg(long, default_value_t = 1000)]
    proxy_requests_per_task: u32,
    /// Scale builders out above this many waiting jobs per worker.
    #[arg(long, default_value_t = 2)]
    jobs_per_builder: u32,
    /// Days CloudWatch keeps the tasks' own output (1, 3, 5, 7, 14, 30, 60, 90, … 3653).
    #[arg(long, default_value_t = setup::DEFAULT_LOG_RETENTION_DAYS)]
    log_days: i32,
    /// Seconds a build job stays with the builder that took it before another may take it (a
    /// builder that died gives its job back after this long).
    #[arg(long, default_value_t = setup::DEFAULT_JOB_VISIBILITY_SECS)]
    job_visibility_secs: u32,
    /// The Redis the builders stream live logs to (redis:// or rediss://, e.g. ElastiCache);
    /// kept in Secrets Manager, never in a file. Without it, logs are archived when a build
    /// ends, and an earlier setup's URL stays in use.
    #[arg(long, env = "PIER_BUILDER_REDIS_URL", hide_env_values = true)]
    builder_redis_url: Option<String>,
    /// Where the setup record lives; defaults beside the config file.
    #[arg(long, hide = true)]
    record: Option<std::path::PathBuf>,
}

fn parse_range(text: &str) -> Result<TaskRange, String> {
    let (min, max) = text
        .split_once('-')
        .ok_or_else(|| format!("`{text}` is not MIN-MAX, as in 1-4"))?;
    let number = |n: &str| {
        n.trim()
            .parse::<u32>()
            .map_err(|_| format!("`{n}` is not a whole number"))
    };
    Ok(TaskRange {
        min: number(min)?,
        max: number(max)?,
    })
}

async fn region(args: &AwsArgs) -> anyhow::Result<String> {
    if let Some(primary) = args.regions.first() {
        return Ok(primary.clone());
    }
    if let Some(region) = &args.region {
        return Ok(region.clone());
    }
    let config = pier_core::aws::load(None, None).await;
    config.region().map(|r| r.to_string()).ok_or_else(|| {
        PierError::BadSetup {
            detail: "no AWS region is set; pass --region or set one in your AWS profile".into(),
        }
        .into()
    })
}

fn record_path(args: &AwsArgs, region: &str) -> std::path::PathBuf {
    args.record
        .clone()
        .unwrap_or_else(|| record::default_path(&args.name, region))
}

pub async fn setup(args: AwsArgs, plan: bool, json: bool) -> anyhow::Result<()> {
    let region = region(&args).await?;
    let Some(base_domain) = args.base_domain.clone() else {
        return Err(PierError::BadSetup {
            detail: "--base-domain is required, as in --base-domain sites.example.com".into(),
        }
        .into());
    };
    let base_domain = pier_core::domains::normalize(&base_domain)?;
    let spec = SetupSpec {
        name: args.name.clone(),
        region: region.clone(),
        bucket: args
            .bucket
            .clone()
            .unwrap_or_else(|| setup::default_bucket(&args.name, &base_domain)),
        base_domain: base_domain.clone(),
        builder_image: args
            .builder_image
            .clone()
            .unwrap_or_else(setup::default_builder_image),
        proxy_image: args
            .proxy_image
            .clone()
            .unwrap_or_else(setup::default_proxy_image),
        proxy_tasks: args.proxy_tasks,
        builder_tasks: args.builders,
        proxy_requests_per_task: args.proxy_requests_per_task,
        jobs_per_builder: args.jobs_per_builder,
        log_retention_days: args.log_days,
        job_visibility_secs: args.job_visibility_secs,
        redis_url: args
            .builder_redis_url
            .clone()
            .map(setup::secrets::SecretValue::new),
        images: match args.images.as_str() {
            "public" => setup::ImageSource::Public,
            _ => setup::ImageSource::Mirror,
        },
        cpu_architecture: args.cpu_architecture.clone(),
        other_regions: args.regions.iter().skip(1).cloned().collect(),
        serving_only: false,
    };
    let mode = if plan { Mode::Plan } else { Mode::Apply };
    if !args.regions.is_empty() {
        return setup_regions(&args, &spec, mode, json).await;
    }
    let clients = Clients::connect(&region, None).await;
    let mut record = record::SetupRecord::open(&record_path(&args, &region), &spec.name, &region)?;
    if !json {
        println!(
            "{} for {base_domain} in {region}:",
            if plan { "Plan" } else { "Setup" }
        );
    }
    let report = setup::run_reporting(&clients, &spec, mode, &mut record, &mut |change| {
        if !json {
            print_change(change, plan)
        }
    })
    .await?;
    if !plan {
        record.outputs = report.outputs.clone();
        record.save()?;
        setup::adopt(&spec, &report.outputs)?;
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "plan": plan,
                "changes": report.changes,
                "outputs": report.outputs,
                "record": record.path(),
            }))?
        );
        return Ok(());
    }
    if plan {
        println!("\nNothing was changed. Run `pier setup aws` without --plan to apply.");
    } else if report.waiting() {
        println!(
            "\nSome steps wait on something outside Pier (above); run the same command again to continue."
        );
    } else {
        println!(
            "\nDone. Pier now deploys to s3://{} and builds on the queue; the config is {}.",
            spec.bucket,
            config_path().display()
        );
    }
    Ok(())
}

/// `--regions`: every region's run, the routing, and the removal of regions left out.
async fn setup_regions(
    args: &AwsArgs,
    spec: &SetupSpec,
    mode: Mode,
    json: bool,
) -> anyhow::Result<()> {
    let plan = mode == Mode::Plan;
    let records = records_folder(args, &spec.region);
    if !json {
        let verb = if plan { "Plan" } else { "Setup" };
        println!(
            "{verb} for {} in {} (primary) and {}:",
            spec.base_domain,
            spec.region,
            spec.other_regions.join(", ")
        );
    }
    let runs = setup::regions::run(
        setup::regions::Connection::default(),
        spec,
        mode,
        &records,
        &mut |change| {
            if !json {
                print_change(change, plan)
            }
        },
    )
    .await?;
    if !plan {
        setup::adopt(spec, &runs[0].report.outputs)?;
    }
    let waiting = runs.iter().any(|run| run.report.waiting());
    if json {
        let regions: Vec<_> = runs
            .iter()
            .map(|run| json!({ "region": run.region, "changes": run.report.changes, "outputs": run.report.outputs }))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "plan": plan, "regions": regions }))?
        );
    } else if plan {
        println!("\nNothing was changed. Run `pier setup aws` without --plan to apply.");
    } else if waiting {
        println!(
            "\nSome steps wait on something outside Pier (above); run the same command again to continue."
        );
    } else {
        println!(
            "\nDone. Pier deploys to every region's bucket; `pier regions status` shows them."
        );
    }
    Ok(())
}

fn records_folder(args: &AwsArgs, region: &str) -> std::path::PathBuf {
    record_path(args, region)
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_else(|| std::path::PathBuf::from("."))
}

pub async fn teardown(args: AwsArgs, json: bool) -> anyhow::Result<()> {
    let region = region(&args).await?;
    let path = record_path(&args, &region);
    if !path.exists() {
        return Err(PierError::BadSetup {
            detail: format!(
                "there is no setup record at {}; nothing that Pier made is known here",
                path.display()
            ),
        }
        .into());
    }
    // The regions that serve for this one go first, each from its own record.
    let mut changes = setup::regions::teardown_others(
        setup::regions::Connection::default(),
        &args.name,
        &region,
        &records_folder(&args, &region),
    )
    .await?;
    let clients = Clients::connect(&region, None).await;
    let mut record = record::SetupRecord::open(&path, &args.name, &region)?;
    changes.extend(setup::teardown(&clients, &mut record).await?);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "changes": changes }))?
        );
    } else {
        println!("Teardown in {region}:");
        for change in &changes {
            println!(
                "  {:<18} {:<40} {}",
                change.resource,
                change.name,
                change.detail.as_deref().unwrap_or("")
            );
        }
        println!("\nRemoved what `pier setup aws` made; nothing else was touched.");
    }
    Ok(())
}

fn print_change(change: &Change, plan: bool) {
    use std::io::{IsTerminal, Write};
    // Progress (the image copy) rewrites one line on a terminal, and is left out of logs.
    if change.action == setup::Action::Working {
        if std::io::stdout().is_terminal() {
            let detail = change.detail.as_deref().unwrap_or_default();
            print!(
                "\r  {:<8} {:<18} {detail}\x1b[K",
                "working", change.resource
            );
            let _ = std::io::stdout().flush();
        }
        return;
    }
    if std::io::stdout().is_terminal() {
        print!("\r\x1b[K");
    }
    println!(
        "  {:<8} {:<18} {}",
        change.action.verb(plan),
        change.resource,
        change.name
    );
    if let Some(detail) = &change.detail {
        println!("           {detail}");
    }
}

//! `pier regions status` (each other region's state per project: in sync, lagging and by what,
//! or unreachable) and `pier regions sync` (brings them up to the primary region; a region that
//! still does not answer is reported and the others go on).

use clap::Subcommand;
use pier_core::regions::{ProjectRegions, Regions};
use serde_json::json;

use crate::output::Output;

#[derive(Subcommand)]
pub enum RegionsCommand {
    /// Show what each region lacks of the primary, per project.
    Status {
        /// One project; all by default.
        project: Option<String>,
    },
    /// Copy to each region what it lacks of the primary: deployments (blobs first), removals,
    /// production aliases.
    Sync {
        /// One project; all by default.
        project: Option<String>,
        /// Only this region.
        #[arg(long)]
        region: Option<String>,
    },
}

pub async fn run(
    regions: &Regions,
    out: &Output<'_>,
    command: RegionsCommand,
) -> anyhow::Result<()> {
    let (projects, synced) = match command {
        RegionsCommand::Status { project } => (regions.status(project.as_deref()).await?, false),
        RegionsCommand::Sync { project, region } => {
            let regions = match region {
                Some(name) => regions.only(&name)?,
                None => regions.clone(),
            };
            (regions.sync(project.as_deref()).await?, true)
        }
    };
    if out.json {
        out.print(json!({ "primary": regions.primary.name, "projects": projects }));
        return Ok(());
    }
    if regions.others.is_empty() {
        println!(
            "One region ({}): add others with `pier setup aws --regions` or [[regions]] in the config file.",
            regions.primary.name
        );
        return Ok(());
    }
    print_table(regions, &projects, synced);
    Ok(())
}

fn print_table(regions: &Regions, projects: &[ProjectRegions], synced: bool) {
    println!("primary: {}", regions.primary.name);
    for project in projects {
        println!("{}", project.project);
        for report in &project.regions {
            println!("  {:<16} {}", report.region, report.state.describe());
        }
    }
    let lagging = projects
        .iter()
        .flat_map(|project| &project.regions)
        .filter(|report| !report.state.in_sync())
        .count();
    match (lagging, synced) {
        (0, _) => println!("Every region is in sync."),
        (_, false) => println!("`pier regions sync` brings lagging regions up to date."),
        (_, true) => {
            println!("Some regions could not be brought up to date; run it again once they answer.")
        }
    }
}

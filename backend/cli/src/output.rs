//! What every command prints the same way: one pretty JSON document for `--json`, the URLs of a
//! new deployment, an alias change, and times as `YYYY-MM-DD HH:MM:SS`.

use pier_core::alias;
use pier_core::config::Settings;
use pier_core::region_state::RegionReport;
use serde_json::json;

/// How a command prints: text or one JSON document, with URLs under the settings' base URL.
pub struct Output<'a> {
    pub json: bool,
    pub settings: &'a Settings,
}

impl Output<'_> {
    pub fn print(&self, value: serde_json::Value) {
        println!(
            "{}",
            serde_json::to_string_pretty(&value).expect("values serialise")
        );
    }

    /// The preview URL of a new deployment, and the production URL when it was promoted.
    pub fn urls(&self, outcome: &pier_core::deploy::DeployOutcome) -> (String, Option<String>) {
        let base = &self.settings.base_url;
        let production = outcome
            .promoted
            .as_ref()
            .map(|change| base.for_label(&change.project));
        (base.for_label(&outcome.summary.preview), production)
    }

    /// A new deployment as `--json` prints it: the outcome and where it is served.
    pub fn deployed_json(&self, outcome: &pier_core::deploy::DeployOutcome) -> serde_json::Value {
        let (preview_url, production_url) = self.urls(outcome);
        json!({
            "deployment": outcome,
            "preview_url": preview_url,
            "production_url": production_url,
        })
    }

    pub fn alias_change(&self, change: &alias::AliasChange, regions: &[RegionReport]) {
        let url = self.settings.base_url.for_label(&change.project);
        if self.json {
            self.print(json!({ "alias": change, "production_url": url, "regions": regions }));
            return;
        }
        if change.from.as_deref() == Some(change.to.as_str()) {
            println!("{} already serves {} at {url}", change.project, change.to);
        } else {
            println!(
                "{} now serves {} (was {}) at {url}",
                change.project,
                change.to,
                change.from.as_deref().unwrap_or("nothing")
            );
        }
        self.region_lines(regions);
    }

    /// Each other region's state, one line each (nothing with one region).
    pub fn region_lines(&self, regions: &[RegionReport]) {
        for report in regions {
            println!("  region {:<14} {}", report.region, report.state.describe());
        }
        if regions.iter().any(|report| !report.state.in_sync()) {
            println!("  `pier regions sync` brings lagging regions up to date once they answer.");
        }
    }
}

pub fn short_time(at: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    at.format(&format).unwrap_or_default()
}

//! What the AWS setup screen sends and is told: the form (the same answers `pier setup aws`
//! takes as flags), each step's change as it ends, and how a run ended.

use serde::{Deserialize, Serialize};

/// How long CloudWatch keeps the tasks' output unless told otherwise (the CLI's default too).
pub const DEFAULT_LOG_RETENTION_DAYS: i32 = 30;

/// What the setup screen sends. Empty fields take the defaults `pier setup aws` uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SetupForm {
    /// Sites are served at `<project>.<base_domain>`.
    pub base_domain: String,
    /// An AWS profile from `~/.aws/config`; empty is the chain's default.
    pub profile: String,
    /// Empty is the profile's region. The primary region: builders, the queue and the CDN.
    pub region: String,
    /// Other regions that serve the sites, as `eu-west-1, ap-southeast-1` (`--regions` after
    /// the primary): each gets its own bucket, load balancer and proxies. Empty is one region.
    pub regions: String,
    /// Empty is `<name>-<base domain with dashes>`.
    pub bucket: String,
    pub name: String,
    pub proxy_min: u32,
    pub proxy_max: u32,
    pub builders_min: u32,
    pub builders_max: u32,
    pub log_days: i32,
}

impl Default for SetupForm {
    fn default() -> SetupForm {
        SetupForm {
            base_domain: String::new(),
            profile: String::new(),
            region: String::new(),
            regions: String::new(),
            bucket: String::new(),
            name: "pier".into(),
            proxy_min: 1,
            proxy_max: 4,
            builders_min: 0,
            builders_max: 4,
            log_days: DEFAULT_LOG_RETENTION_DAYS,
        }
    }
}

named_enum! {
    /// What a setup step found or did.
    pub enum Action {
        /// Already there as wanted.
        Exists => "exists",
        /// Missing: a plan would create it, an apply did.
        Create => "create",
        /// There but different: a plan would correct it, an apply did.
        Update => "update",
        /// Cannot be done yet (waits on something outside Pier, like DNS validation).
        Waiting => "waiting",
        /// Under way: a long step's progress (the image copy), sent as it goes and followed by
        /// the step's final change; never in a setup report.
        Working => "working",
    }
}

impl Action {
    /// How a plan (future tense) or an apply (past tense) says it.
    pub fn verb(self, plan: bool) -> &'static str {
        match (self, plan) {
            (Action::Exists, _) => "exists",
            (Action::Create, true) => "create",
            (Action::Create, false) => "created",
            (Action::Update, true) => "update",
            (Action::Update, false) => "updated",
            (Action::Waiting, _) => "waiting",
            (Action::Working, _) => "working",
        }
    }
}

/// One resource a setup step looked at, and what it found or did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub resource: String,
    pub name: String,
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The region it is in, for another region's steps (none: the primary's, or global).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

impl Change {
    pub fn new(resource: &str, name: &str, action: Action) -> Change {
        Change {
            resource: resource.to_string(),
            name: name.to_string(),
            action,
            detail: None,
            region: None,
        }
    }

    /// Names a resource for a step that decides its action later (setup's `Step::ensure`).
    pub fn about(resource: &str, name: &str) -> Change {
        Change::new(resource, name, Action::Exists)
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Change {
        self.detail = Some(detail.into());
        self
    }

    pub fn in_region(mut self, region: &str) -> Change {
        self.region = Some(region.to_string());
        self
    }
}

named_enum! {
    /// Which run an event belongs to.
    pub enum SetupRun {
        Plan => "plan",
        Apply => "apply",
        Teardown => "teardown",
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupOutcome {
    pub run: SetupRun,
    pub changes: Vec<Change>,
    /// A step waits on something outside Pier (DNS validation): run the apply again later.
    pub waiting: bool,
    pub bucket: String,
    pub base_domain: String,
    pub region: String,
    /// Where the record of what was made is kept.
    pub record: String,
    /// The app now works against the new bucket.
    pub switched: bool,
}

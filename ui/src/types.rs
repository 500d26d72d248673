//! What the engine sends, as the window reads it: the wire's own types (`pier-wire`), which
//! the engine serializes, so the two sides cannot drift apart. Gathered here so the screens
//! name them in one place.

pub use pier_wire::UserError;
pub use pier_wire::deploys::{
    ACTIVITY_DAYS, Activity, DeploySnapshot, DeploymentView, Phase, ProjectView,
};
pub use pier_wire::domains::{DomainsView, StepReport, StepStatus};
pub use pier_wire::env::{EnvSetForm, EnvVarView};
pub use pier_wire::events::{AppEvent, Dropped};
pub use pier_wire::logs::{BuildStatus, BuildSummary, LogKind, LogRecord, LogStream};
pub use pier_wire::regions::RegionReport;
pub use pier_wire::settings::{AppInfo, CheckReport, SettingsForm, SettingsView};
pub use pier_wire::setup::{Action, Change, SetupForm, SetupOutcome, SetupRun};
pub use pier_wire::updates::UpdateOffer;
pub use pier_wire::watches::WatchView;

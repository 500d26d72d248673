//! What the Settings screen loads, sends and checks, and what the sidebar shows. The Redis
//! password goes one way only: typed into the form, it goes to the keychain; the view says
//! only whether one is saved.

use serde::{Deserialize, Serialize};

use crate::UserError;

/// What the Settings screen sends: the settings plus, write-only, a new Redis password.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SettingsForm {
    /// `embedded` or `aws`.
    pub target: String,
    pub profile: String,
    pub region: String,
    pub bucket: String,
    pub prefix: String,
    /// Other regions serving copies of the store, as `eu-west-1, ap-southeast-1`: each
    /// region's bucket is `<bucket>-<region>` (what AWS setup makes); deploys, promotes and
    /// removals reach them all. Empty is one region.
    pub regions: String,
    pub endpoint: String,
    pub redis_url: String,
    /// Goes straight to the keychain; never stored in a file nor sent back (so a view's form
    /// never has one, and none is written out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis_password: Option<String>,
    pub base_url: String,
}

/// What the Settings screen shows: the saved settings as the form starts (never with a
/// password), whether the keychain holds one, and where deployments go.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsView {
    #[serde(flatten)]
    pub form: SettingsForm,
    pub redis_password_saved: bool,
    /// Where deployments go now, as a store URL.
    pub store: String,
}

/// One check of "Test connection".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckItem {
    /// `store`, `redis`, `base_url`.
    pub what: String,
    pub ok: bool,
    pub message: String,
    pub hint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckReport {
    pub ok: bool,
    pub items: Vec<CheckItem>,
}

/// What the sidebar shows: where deployments go and where they are served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppInfo {
    pub serve_url: String,
    pub store: String,
    pub startup_problem: Option<UserError>,
}

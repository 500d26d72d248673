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
    pub endpoint: String,
    pub redis_url: String,
    /// Goes straight to the keychain; never stored in a file nor sent back.
    pub redis_password: Option<String>,
    pub base_url: String,
}

/// What the Settings screen shows: no secret, only whether one is saved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsView {
    pub target: String,
    pub profile: String,
    pub region: String,
    pub bucket: String,
    pub prefix: String,
    pub endpoint: String,
    pub redis_url: String,
    pub redis_password_saved: bool,
    pub base_url: String,
    /// Where deployments go now, as a store URL.
    pub store: String,
}

impl SettingsView {
    /// The form as it starts on screen: these settings, and no new password.
    pub fn form(&self) -> SettingsForm {
        SettingsForm {
            target: self.target.clone(),
            profile: self.profile.clone(),
            region: self.region.clone(),
            bucket: self.bucket.clone(),
            prefix: self.prefix.clone(),
            endpoint: self.endpoint.clone(),
            redis_url: self.redis_url.clone(),
            redis_password: None,
            base_url: self.base_url.clone(),
        }
    }
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

//! [`UserError`]: the one error shape the window shows. What went wrong, what to do next,
//! and a stable `code` the window can act on (an expired session offers Settings).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserError {
    pub message: String,
    /// What to do next.
    pub hint: String,
    /// What went wrong, for the window to act on: the engine error's variant in snake_case
    /// (`no_such_bucket`), through any wrapper, or `app` for the app's own checks, or
    /// `internal` when the window could not reach the engine at all. Stable as long as the
    /// variant's name is.
    #[serde(default)]
    pub code: String,
}

/// The codes whose fix is in Settings (the AWS profile or the credentials).
const SETTINGS_CODES: [&str; 4] = [
    "expired_credentials",
    "no_credentials",
    "bad_credentials",
    "access_denied",
];

impl UserError {
    /// An error of the app's own checks (`code` is `app`).
    pub fn new(message: impl Into<String>, hint: impl Into<String>) -> UserError {
        UserError {
            message: message.into(),
            hint: hint.into(),
            code: "app".into(),
        }
    }

    /// The window could not talk to the engine (IPC failed, or an answer did not decode).
    pub fn internal(detail: &str) -> UserError {
        UserError {
            message: format!("The app could not talk to its engine: {detail}"),
            hint: "restart Pier; if it happens again, report it with this message".into(),
            code: "internal".into(),
        }
    }

    /// Whether the fix is in Settings (the AWS profile or credentials).
    pub fn wants_settings(&self) -> bool {
        SETTINGS_CODES.contains(&self.code.as_str())
    }
}

impl std::fmt::Display for UserError {
    fn fmt(&self, out: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        out.write_str(&self.message)
    }
}

impl std::error::Error for UserError {}

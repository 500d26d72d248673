//! What the Project screen's Variables section shows and sends: a project's `pier env`
//! variables. A secret crosses one way only: its value goes in [`EnvSetForm`] from the window
//! to the keychain, and a [`EnvVarView`] of it never carries one back.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvVarView {
    pub name: String,
    pub secret: bool,
    /// The value of a plain variable; `None` for a secret.
    pub value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvSetForm {
    pub project: String,
    pub name: String,
    pub value: String,
    pub secret: bool,
}

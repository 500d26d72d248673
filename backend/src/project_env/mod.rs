//! `pier env`: each project's environment variables, which its functions and its builds get.
//!
//! - A variable is plain or secret. Plain values live in the project's env file
//!   (`<config folder>/pier/env/<project>.json`, owner-only). A secret's value lives in a
//!   [`SecretVault`] (the OS keychain, [`keychain`]); the file only names it, so a secret never
//!   reaches a plain file.
//! - The file carries a `revision`, a random id renewed whenever a value changes. A deployment
//!   freezes its functions' variables as a Lambda version does: the plain values and the
//!   secrets' names and the revision go into each function bundle's settings (so the bundle's
//!   id, and with it the Lambda version or the local process, changes with them); a secret's
//!   value never goes into a manifest.
//! - On Lambda, the deploy writes the values into the version's configuration. The local runtime
//!   reads secrets from the vault when it starts a process ([`SecretSource`]); one started for a
//!   deployment made at another revision runs with today's values, and says so in its log.
//! - Whatever prints a function's or a build's output masks every secret value in it
//!   ([`crate::logs::Masker`]).

pub mod file;
#[cfg(feature = "keychain")]
pub mod keychain;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

pub use crate::error::EnvError;
pub use file::{EnvFile, Listed};

/// Names Lambda reserves, or that would change how Node or Pier run the function.
const RESERVED_NAMES: [&str; 4] = ["_HANDLER", "_X_AMZN_TRACE_ID", "NODE_OPTIONS", "PATH"];
const RESERVED_PREFIXES: [&str; 3] = ["AWS_", "LAMBDA_", "PIER_"];

/// Refuses a name a function could not be given: not a shell-style identifier, or reserved by
/// Lambda (`AWS_*`, `LAMBDA_*`, `_HANDLER`), Node (`NODE_OPTIONS`) or Pier (`PIER_*`).
pub fn validate_name(name: &str) -> Result<(), EnvError> {
    let bad = |rule| {
        Err(EnvError::BadName {
            name: name.to_string(),
            rule,
        })
    };
    let mut chars = name.chars();
    match chars.next() {
        None => return bad("it is empty"),
        Some(first) if first.is_ascii_digit() => return bad("it starts with a digit"),
        Some(_) => {}
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return bad("only ASCII letters, digits and `_` may be used");
    }
    if RESERVED_NAMES.contains(&name)
        || RESERVED_PREFIXES
            .iter()
            .any(|prefix| name.starts_with(prefix))
    {
        return bad("AWS Lambda, Node or Pier reserves it");
    }
    Ok(())
}

/// Where secret values are kept, by project and name.
pub trait SecretVault: Send + Sync {
    fn get(&self, project: &str, name: &str) -> Result<Option<String>, EnvError>;
    fn set(&self, project: &str, name: &str, value: &str) -> Result<(), EnvError>;
    /// Removing what is not there is not an error.
    fn delete(&self, project: &str, name: &str) -> Result<(), EnvError>;
    /// Where the values are, for messages ("the OS keychain").
    fn place(&self) -> String;
}

/// A project's variables with their values, as a deploy gives them to its functions.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct FunctionEnv {
    /// The env file's revision the values were read at.
    pub revision: String,
    pub plain: BTreeMap<String, String>,
    pub secrets: BTreeMap<String, String>,
}

impl std::fmt::Debug for FunctionEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FunctionEnv")
            .field("revision", &self.revision)
            .field("plain", &self.plain)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl FunctionEnv {
    /// Freezes the variables into a function bundle's settings: plain values are set over the
    /// function's own (the project's win), secrets are named, and the revision is recorded.
    pub fn apply(&self, settings: &mut crate::manifest::FunctionSettings) {
        settings.environment.extend(self.plain.clone());
        settings.secrets = self.secrets.keys().cloned().collect();
        settings.env_revision = Some(self.revision.clone());
    }

    /// Every secret value, for a [`crate::logs::Masker`].
    pub fn secret_values(&self) -> Vec<String> {
        self.secrets.values().cloned().collect()
    }
}

/// What the local function runtime asks for a project's secrets when it starts a process.
pub trait SecretSource: Send + Sync + std::fmt::Debug {
    /// The values of `names`; a missing one is an error that says how to set it.
    fn secrets(
        &self,
        project: &str,
        names: &[String],
    ) -> Result<BTreeMap<String, String>, EnvError>;
    /// The project's env revision today, if it has variables.
    fn revision(&self, project: &str) -> Option<String>;
}

/// The env files of one config folder, with their vault.
#[derive(Clone)]
pub struct ProjectEnvs {
    dir: PathBuf,
    vault: Arc<dyn SecretVault>,
}

impl std::fmt::Debug for ProjectEnvs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProjectEnvs")
            .field("dir", &self.dir)
            .field("vault", &self.vault.place())
            .finish()
    }
}

/// A change `pier env set` made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Added,
    Updated,
    Unchanged,
}

impl ProjectEnvs {
    pub fn new(dir: PathBuf, vault: Arc<dyn SecretVault>) -> ProjectEnvs {
        ProjectEnvs { dir, vault }
    }

    /// This machine's: the env folder beside the config file, secrets in the OS keychain.
    #[cfg(feature = "keychain")]
    pub fn for_this_machine() -> ProjectEnvs {
        ProjectEnvs::new(
            ProjectEnvs::default_dir(),
            Arc::new(keychain::KeychainVault),
        )
    }

    /// The env folder beside the config file (`PIER_CONFIG` moves both).
    pub fn default_dir() -> PathBuf {
        crate::config::beside_config("env")
    }

    fn file(&self, project: &str) -> Result<EnvFile, EnvError> {
        // The name becomes a file name: nothing but a valid project name may reach the path.
        if let Err(crate::PierError::BadProjectName { name, rule }) =
            crate::project_name::validate(project)
        {
            return Err(EnvError::BadProject { name, rule });
        }
        EnvFile::load(&self.dir, project)
    }

    /// The project's variables, sorted by name; secrets without their values.
    pub fn list(&self, project: &str) -> Result<Vec<Listed>, EnvError> {
        Ok(self.file(project)?.listed())
    }

    /// Sets a variable. A secret's value goes to the vault before the file names it, and a
    /// plain one replacing a secret leaves the vault only after the file no longer names it.
    pub fn set(
        &self,
        project: &str,
        name: &str,
        value: &str,
        secret: bool,
    ) -> Result<Change, EnvError> {
        validate_name(name)?;
        let mut file = self.file(project)?;
        let before = file.get(name);
        let same = match (&before, secret) {
            (Some(file::Var::Plain(old)), false) => old == value,
            (Some(file::Var::Secret), true) => {
                self.vault.get(project, name)?.as_deref() == Some(value)
            }
            _ => false,
        };
        if same {
            return Ok(Change::Unchanged);
        }
        if secret {
            self.vault.set(project, name, value)?;
            file.set(name, file::Var::Secret);
        } else {
            file.set(name, file::Var::Plain(value.to_string()));
        }
        file.save(&self.dir, project)?;
        if !secret && matches!(before, Some(file::Var::Secret)) {
            self.vault.delete(project, name)?;
        }
        Ok(match before {
            Some(_) => Change::Updated,
            None => Change::Added,
        })
    }

    /// Removes a variable; its secret value leaves the vault after the file forgets it.
    pub fn remove(&self, project: &str, name: &str) -> Result<(), EnvError> {
        let mut file = self.file(project)?;
        let Some(removed) = file.remove(name) else {
            return Err(EnvError::NoSuchVariable {
                project: project.to_string(),
                name: name.to_string(),
            });
        };
        file.save(&self.dir, project)?;
        if matches!(removed, file::Var::Secret) {
            self.vault.delete(project, name)?;
        }
        Ok(())
    }

    /// The project's variables with their values, for a deploy or a build; `None` when it has
    /// none.
    pub fn resolve(&self, project: &str) -> Result<Option<FunctionEnv>, EnvError> {
        let file = self.file(project)?;
        if file.is_empty() {
            return Ok(None);
        }
        let mut env = FunctionEnv {
            revision: file.revision().to_string(),
            ..FunctionEnv::default()
        };
        for (name, var) in file.vars() {
            match var {
                file::Var::Plain(value) => {
                    env.plain.insert(name.clone(), value.clone());
                }
                file::Var::Secret => {
                    let value = self.secret(project, name)?;
                    env.secrets.insert(name.clone(), value);
                }
            }
        }
        Ok(Some(env))
    }

    /// Every secret value of the project the vault can give, for masking what was printed
    /// before now: a missing or unreadable one is skipped, never an error.
    pub fn known_secret_values(&self, project: &str) -> Vec<String> {
        let Ok(file) = self.file(project) else {
            return Vec::new();
        };
        file.vars()
            .filter(|(_, var)| *var == file::Var::Secret)
            .filter_map(|(name, _)| self.vault.get(project, name).ok().flatten())
            .collect()
    }

    fn secret(&self, project: &str, name: &str) -> Result<String, EnvError> {
        self.vault
            .get(project, name)?
            .ok_or_else(|| EnvError::MissingSecret {
                project: project.to_string(),
                name: name.to_string(),
                place: self.vault.place(),
            })
    }
}

impl SecretSource for ProjectEnvs {
    fn secrets(
        &self,
        project: &str,
        names: &[String],
    ) -> Result<BTreeMap<String, String>, EnvError> {
        names
            .iter()
            .map(|name| Ok((name.clone(), self.secret(project, name)?)))
            .collect()
    }

    fn revision(&self, project: &str) -> Option<String> {
        let file = self.file(project).ok()?;
        (!file.is_empty()).then(|| file.revision().to_string())
    }
}

#[cfg(test)]
mod tests;

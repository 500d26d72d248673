//! A project's env file, `<env folder>/<project>.json`: plain values, the names of secrets
//! (their values are in the vault), and the revision. Written whole into a temporary file that
//! replaces the old one, readable by its owner only (mode 0600 on Unix), so a crash leaves the
//! old file or the new one, never half of either.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::EnvError;

/// One variable as the file holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Var {
    Plain(String),
    /// The value is in the vault.
    Secret,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
enum StoredVar {
    Plain { value: String },
    Secret { secret: bool },
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    revision: String,
    vars: BTreeMap<String, StoredVar>,
}

/// What `pier env ls` shows of a variable: a secret's value is never read for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listed {
    pub name: String,
    pub secret: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct EnvFile {
    stored: Stored,
    changed: bool,
}

fn path(dir: &Path, project: &str) -> PathBuf {
    dir.join(format!("{project}.json"))
}

fn new_revision() -> String {
    hex::encode(rand::random::<[u8; 8]>())
}

impl EnvFile {
    /// Reads the project's file; a missing one is an empty env.
    pub fn load(dir: &Path, project: &str) -> Result<EnvFile, EnvError> {
        let path = path(dir, project);
        let failed = |detail: String| EnvError::File {
            path: path.clone(),
            detail,
        };
        match std::fs::read(&path) {
            Ok(bytes) => {
                let stored: Stored = serde_json::from_slice(&bytes)
                    .map_err(|e| failed(format!("not a Pier env file ({e})")))?;
                for name in stored.vars.keys() {
                    super::validate_name(name)?;
                }
                Ok(EnvFile {
                    stored,
                    changed: false,
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(EnvFile::default()),
            Err(e) => Err(failed(e.to_string())),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.stored.vars.is_empty()
    }

    pub fn revision(&self) -> &str {
        &self.stored.revision
    }

    pub fn get(&self, name: &str) -> Option<Var> {
        self.stored.vars.get(name).map(to_var)
    }

    pub fn vars(&self) -> impl Iterator<Item = (&String, Var)> {
        self.stored
            .vars
            .iter()
            .map(|(name, var)| (name, to_var(var)))
    }

    pub fn listed(&self) -> Vec<Listed> {
        self.vars()
            .map(|(name, var)| Listed {
                name: name.clone(),
                secret: var == Var::Secret,
                value: match var {
                    Var::Plain(value) => Some(value),
                    Var::Secret => None,
                },
            })
            .collect()
    }

    /// Sets a variable; the revision is renewed when the file is saved.
    pub fn set(&mut self, name: &str, var: Var) {
        let stored = match var {
            Var::Plain(value) => StoredVar::Plain { value },
            Var::Secret => StoredVar::Secret { secret: true },
        };
        self.stored.vars.insert(name.to_string(), stored);
        self.changed = true;
    }

    pub fn remove(&mut self, name: &str) -> Option<Var> {
        let removed = self.stored.vars.remove(name).map(|var| to_var(&var));
        self.changed |= removed.is_some();
        removed
    }

    /// Writes the file with a new revision if anything changed; an env emptied of its last
    /// variable removes the file.
    pub fn save(&mut self, dir: &Path, project: &str) -> Result<(), EnvError> {
        if !self.changed {
            return Ok(());
        }
        let path = path(dir, project);
        let failed = |e: std::io::Error| EnvError::File {
            path: path.clone(),
            detail: e.to_string(),
        };
        if self.stored.vars.is_empty() {
            return match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(failed(e)),
                _ => Ok(()),
            };
        }
        self.stored.revision = new_revision();
        std::fs::create_dir_all(dir).map_err(failed)?;
        // tempfile creates its files owner-only (0600) on Unix.
        let temporary = tempfile::NamedTempFile::new_in(dir).map_err(failed)?;
        let text = serde_json::to_vec_pretty(&self.stored).expect("an env file serializes");
        std::fs::write(temporary.path(), text).map_err(failed)?;
        temporary.persist(&path).map_err(|e| failed(e.error))?;
        self.changed = false;
        Ok(())
    }
}

fn to_var(stored: &StoredVar) -> Var {
    match stored {
        StoredVar::Plain { value } => Var::Plain(value.clone()),
        StoredVar::Secret { .. } => Var::Secret,
    }
}

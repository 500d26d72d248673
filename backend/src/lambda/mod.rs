//! Functions on AWS Lambda: what the store records about them, shared by the deploy (which
//! publishes), gc (which deletes) and the proxy (which invokes).
//!
//! - `settings/functions.json` ([`FunctionsRuntime`]), written by `pier setup aws`: this
//!   store's functions run on Lambda, with this execution role and this name prefix. A store
//!   without it runs functions only where it is served locally (`pier serve`, the desktop).
//! - Each project is one Lambda function, `<prefix><project>`; each distinct bundle the
//!   project deploys is one published version of it. A version freezes code and configuration
//!   (handler, memory, timeout, environment), so previews keep their own code, a rollback
//!   switches functions with the files, and an idle version costs nothing.
//! - `lambda/<project>/<bundle id>.json` ([`LambdaVersion`]) names the version a bundle became.
//!   It is written before the manifest that uses it, so the proxy can always invoke what a
//!   deployment names; gc deletes the versions that no deployment (and no deploy in flight)
//!   uses, then their records.
//! - The code is a zip ([`package`]): the bundle's files at its root, Pier's entry beside them.

pub mod package;
#[cfg(feature = "lambda")]
pub mod publish;

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

pub use crate::error::LambdaError;
use crate::error::PierError;
use crate::manifest::FunctionBundle;
use crate::progress::Progress;
use crate::records::read_json;
use crate::scan::ScannedFile;
use crate::store::ReadStore;
use crate::store::Store;
use crate::store::keys;

/// The handler every Pier Lambda version names: `___pier/lambda.mjs`'s `handler`.
pub const ENTRY_HANDLER: &str = "___pier/lambda.handler";
/// Lambda's limits on what a version may ask for.
pub const MEMORY_MB: std::ops::RangeInclusive<u32> = 128..=10_240;
pub const MAX_TIMEOUT_SECS: u32 = 900;

/// Where a store's functions run besides locally; absent means nowhere else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "runtime", rename_all = "snake_case")]
pub enum FunctionsRuntime {
    Lambda(LambdaSettings),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LambdaSettings {
    /// The execution role every version runs as (logs only).
    pub role_arn: String,
    /// Function names start with it; the proxy may invoke only these.
    pub function_prefix: String,
    /// Where the functions' output goes (set up with a retention), when not Lambda's default
    /// `/aws/lambda/<name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_group: Option<String>,
}

/// Lambda's longest function name.
const MAX_FUNCTION_NAME: usize = 64;

impl LambdaSettings {
    /// The project's Lambda function: the prefix and the project's name; when that is longer
    /// than Lambda allows, the name is cut and ends in a hash of the whole project name, so
    /// two long names never share a function.
    pub fn function_name(&self, project: &str) -> String {
        let whole = format!("{}{project}", self.function_prefix);
        if whole.len() <= MAX_FUNCTION_NAME {
            return whole;
        }
        use sha2::Digest;
        let hash = hex::encode(&sha2::Sha256::digest(project.as_bytes())[..4]);
        let room = MAX_FUNCTION_NAME.saturating_sub(self.function_prefix.len() + hash.len() + 1);
        let cut = project.get(..room).unwrap_or(project).trim_end_matches('-');
        format!("{}{cut}-{hash}", self.function_prefix)
    }
}

/// The version a bundle became in its project's function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LambdaVersion {
    pub function_name: String,
    pub version: String,
    /// The qualified ARN (`…:function:<name>:<version>`), which the proxy invokes.
    pub arn: String,
    /// Base64 SHA-256 of the zip, as Lambda reports it.
    pub code_sha256: String,
}

/// Reads `settings/functions.json`; `None` when the store's functions run only locally.
pub async fn read_runtime(store: &dyn ReadStore) -> Result<Option<FunctionsRuntime>, PierError> {
    read_json(store, keys::FUNCTIONS_RUNTIME).await
}

/// Reads the version a project's bundle became; `None` when it was never published.
pub async fn read_version(
    store: &dyn ReadStore,
    project: &str,
    bundle_id: &str,
) -> Result<Option<LambdaVersion>, PierError> {
    read_json(store, &keys::lambda_version(project, bundle_id)).await
}

/// The functions a deploy publishes, and where (`runtime: None`: nowhere but locally).
pub struct ToPublish<'a> {
    pub runtime: Option<FunctionsRuntime>,
    pub project: &'a str,
    /// Served path → bundle id, as the manifest will say.
    pub functions: &'a BTreeMap<String, String>,
    pub bundles: &'a BTreeMap<String, FunctionBundle>,
    /// The values of the secrets the bundles name (`pier env`).
    pub secrets: Option<&'a BTreeMap<String, String>>,
}

/// Lambda's limit on a function's variables, names and values together.
pub const MAX_VARIABLES_BYTES: usize = 4 * 1024;

/// A bundle's variables as its version gets them: its plain ones and its secrets' values.
pub fn variables(
    project: &str,
    bundle: &FunctionBundle,
    secrets: Option<&BTreeMap<String, String>>,
) -> Result<BTreeMap<String, String>, PierError> {
    let mut variables = bundle.settings.environment.clone();
    for name in &bundle.settings.secrets {
        let value = secrets
            .and_then(|secrets| secrets.get(name))
            .ok_or_else(|| crate::project_env::EnvError::MissingSecret {
                project: project.to_string(),
                name: name.clone(),
                place: "what this deploy was given".into(),
            })?;
        variables.insert(name.clone(), value.clone());
    }
    let bytes: usize = variables.iter().map(|(k, v)| k.len() + v.len()).sum();
    if bytes > MAX_VARIABLES_BYTES {
        return Err(LambdaError::Package {
            function: bundle.settings.handler.clone(),
            detail: format!(
                "its variables take {bytes} bytes, over AWS Lambda's {MAX_VARIABLES_BYTES}"
            ),
        }
        .into());
    }
    Ok(variables)
}

/// Publishes each function bundle of a deployment as a Lambda version when the store's
/// functions run on Lambda, before the manifest that names them exists; `sources` has the
/// deploy's files by their hash, to pack from. A bundle published earlier (by this project, in
/// any deployment) is not packed again, so the deploy runs it again after a gc that ran
/// meanwhile: a version that gc deleted is published again.
pub async fn publish_deployment(
    store: &dyn Store,
    to: &ToPublish<'_>,
    sources: &HashMap<String, &ScannedFile>,
    progress: &Progress,
) -> Result<(), PierError> {
    let Some(FunctionsRuntime::Lambda(settings)) = &to.runtime else {
        return Ok(());
    };
    if to.bundles.is_empty() {
        return Ok(());
    }
    #[cfg(not(feature = "lambda"))]
    {
        let _ = (store, sources, progress, settings);
        Err(LambdaError::NotBuiltIn.into())
    }
    #[cfg(feature = "lambda")]
    {
        use crate::progress::ProgressEvent;
        let place = store
            .aws()
            .ok_or_else(|| LambdaError::NotS3 { store: store.url() })?;
        let publisher = publish::Publisher::new(place, settings.clone());
        for (bundle_id, bundle) in to.bundles {
            let variables = variables(to.project, bundle, to.secrets)?;
            let function = to
                .functions
                .iter()
                .find(|(_, id)| *id == bundle_id)
                .map_or_else(|| bundle.settings.handler.clone(), |(path, _)| path.clone());
            let paths: HashMap<String, std::path::PathBuf> = bundle
                .files
                .iter()
                .filter_map(|file| {
                    let source = sources.get(&file.sha256)?;
                    Some((file.sha256.clone(), source.source.clone()))
                })
                .collect();
            let (owned, progress) = (bundle.clone(), progress.clone());
            let pack = move || {
                progress.emit(ProgressEvent::Publishing {
                    function: function.clone(),
                });
                package::pack(&function, &owned, |file| match paths.get(&file.sha256) {
                    Some(path) => std::fs::read(path),
                    None => Err(std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "not among the files this deploy read",
                    )),
                })
            };
            publisher
                .ensure(store, to.project, bundle_id, bundle, &variables, pack)
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::LambdaSettings;

    #[test]
    fn function_names_stay_within_lambdas_limit_and_apart() {
        let settings = LambdaSettings {
            role_arn: String::new(),
            function_prefix: "a-twenty-char-setup-fn-".into(),
            log_group: None,
        };
        let long = "p".repeat(54);
        let other = format!("{}q", "p".repeat(53));
        let (one, two) = (
            settings.function_name(&long),
            settings.function_name(&other),
        );
        assert!(one.len() <= 64 && two.len() <= 64, "{one} {two}");
        assert_ne!(one, two);
        assert!(one.starts_with("a-twenty-char-setup-fn-ppp"), "{one}");
        assert_eq!(
            settings.function_name("shop"),
            "a-twenty-char-setup-fn-shop"
        );
    }
}

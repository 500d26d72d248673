//! Settings: flags beat environment variables, which beat the config file, which beats the
//! defaults. The file is TOML at `$PIER_CONFIG`, else `<config dir>/pier/config.toml`:
//!
//! ```toml
//! store = "s3://my-bucket/pier"          # or a folder path; default: <data dir>/pier/store
//! base_url = "https://sites.example.com" # where deployments are served; default below
//! redis_url = "redis://127.0.0.1:6379"   # live build logs; default: in-process
//!
//! region = "us-east-1"                  # the store's region, when there are others
//! [[regions]]                            # other regions, each with its own store
//! name = "eu-west-1"
//! store = "s3://my-bucket-eu-west-1/pier?region=eu-west-1"
//!
//! [builds]                               # written by `pier setup aws`
//! runner = "queue"                       # local (default), queue or ecs
//! queue_url = "https://sqs.eu-west-1.amazonaws.com/123456789012/pier-builds"
//! [builds.ecs]                           # where one-off builder tasks run
//! cluster = "pier"
//! task_definition = "pier-builder"
//! container = "builder"
//! subnets = ["subnet-0abc"]
//! security_groups = ["sg-0abc"]
//! assign_public_ip = true
//! ```
//!
//! The file never holds a secret: AWS credentials come from the AWS chain.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::PierError;
use crate::store::StoreUrl;

/// The port `pier serve` listens on by default.
pub const DEFAULT_PORT: u16 = 4800;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub store: Option<String>,
    pub base_url: Option<String>,
    /// `redis://` or `rediss://`; a password here is read but never printed. Prefer the
    /// environment (`PIER_REDIS_URL`) for URLs with passwords.
    pub redis_url: Option<String>,
    /// The CloudFront distribution `pier setup aws` made; custom domains go on it.
    pub distribution_id: Option<String>,
    /// The name of the region `store` is in, when `regions` names others.
    pub region: Option<String>,
    /// Other regions, each with its own store, which Pier keeps in step with `store`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<RegionConfig>,
    #[serde(default)]
    pub builds: BuildsConfig,
}

/// A region besides the primary (`pier setup aws --regions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionConfig {
    pub name: String,
    pub store: String,
}

/// Where builds run when not on this machine.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildsConfig {
    /// `local`, `queue` or `ecs`; `--runner` overrides it.
    pub runner: Option<String>,
    pub queue_url: Option<String>,
    pub ecs: Option<EcsTarget>,
}

/// Where builder tasks run; written by `pier setup aws`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EcsTarget {
    pub cluster: String,
    pub task_definition: String,
    /// The builder's container name in the task definition.
    pub container: String,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    /// Fargate tasks in public subnets need a public IP to reach git hosts and npm.
    pub assign_public_ip: bool,
}

pub fn config_path() -> PathBuf {
    match std::env::var_os("PIER_CONFIG") {
        Some(path) => PathBuf::from(path),
        None => dirs::config_dir()
            .unwrap_or_else(|| PathBuf::from("."))
            .join("pier")
            .join("config.toml"),
    }
}

/// A file or folder in the config file's folder: Pier keeps what it writes for this machine
/// together, and `PIER_CONFIG` moves all of it.
pub fn beside_config(name: &str) -> PathBuf {
    config_path()
        .parent()
        .map_or_else(|| PathBuf::from(name), |folder| folder.join(name))
}

impl ConfigFile {
    /// Reads the file; a missing file is an empty config.
    pub fn load(path: &Path) -> Result<ConfigFile, PierError> {
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).map_err(|e| PierError::BadConfig {
                path: path.to_path_buf(),
                detail: e.message().to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ConfigFile::default()),
            Err(e) => Err(PierError::BadConfig {
                path: path.to_path_buf(),
                detail: e.to_string(),
            }),
        }
    }

    /// Writes the file whole (temp file, then rename), creating its folder.
    pub fn save(&self, path: &Path) -> Result<(), PierError> {
        let fail = |detail: String| PierError::BadConfig {
            path: path.to_path_buf(),
            detail,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| fail(e.to_string()))?;
        }
        let text = toml::to_string(self).map_err(|e| fail(e.to_string()))?;
        let tmp = path.with_extension("toml.tmp");
        std::fs::write(&tmp, text).map_err(|e| fail(e.to_string()))?;
        std::fs::rename(&tmp, path).map_err(|e| fail(e.to_string()))
    }
}

/// The resolved settings a command runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub store: StoreUrl,
    pub base_url: BaseUrl,
}

impl Settings {
    /// `store` and `base_url` are what flags or environment gave, if anything.
    pub fn resolve(
        store: Option<&str>,
        base_url: Option<&str>,
        file: &ConfigFile,
    ) -> Result<Settings, PierError> {
        let store = match store.or(file.store.as_deref()) {
            Some(url) => StoreUrl::parse(url)?,
            None => StoreUrl::default_local(),
        };
        let base_url = match base_url.or(file.base_url.as_deref()) {
            Some(url) => BaseUrl::parse(url).map_err(|detail| PierError::BadConfig {
                path: config_path(),
                detail,
            })?,
            None => BaseUrl::local(DEFAULT_PORT),
        };
        Ok(Settings { store, base_url })
    }
}

/// Where sites are served: `<scheme>://<label>.<host>[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    scheme: String,
    host: String,
    port: Option<u16>,
}

impl BaseUrl {
    pub fn local(port: u16) -> BaseUrl {
        BaseUrl {
            scheme: "http".into(),
            host: "localhost".into(),
            port: Some(port),
        }
    }

    pub fn parse(input: &str) -> Result<BaseUrl, String> {
        let (scheme, rest) = input.split_once("://").ok_or_else(|| {
            format!("base_url `{input}` needs a scheme, as in https://example.com")
        })?;
        if scheme != "http" && scheme != "https" {
            return Err(format!(
                "base_url `{input}` must start with http:// or https://"
            ));
        }
        let authority = rest.trim_end_matches('/');
        if authority.is_empty() || authority.contains('/') {
            return Err(format!(
                "base_url `{input}` must be a bare origin, with no path"
            ));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (
                host,
                Some(
                    port.parse::<u16>()
                        .map_err(|_| format!("base_url `{input}` has a bad port"))?,
                ),
            ),
            None => (authority, None),
        };
        Ok(BaseUrl {
            scheme: scheme.into(),
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The URL of a host label: a project (production) or a preview name.
    pub fn for_label(&self, label: &str) -> String {
        match self.port {
            Some(port) => format!("{}://{label}.{}:{port}", self.scheme, self.host),
            None => format!("{}://{label}.{}", self.scheme, self.host),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_the_file_and_the_file_beats_defaults() {
        let file = ConfigFile {
            store: Some("s3://from-file".into()),
            base_url: Some("https://sites.example.com".into()),
            redis_url: None,
            distribution_id: None,
            ..Default::default()
        };
        let settings = Settings::resolve(Some("/tmp/flag-store"), None, &file).unwrap();
        assert_eq!(settings.store, StoreUrl::Local("/tmp/flag-store".into()));
        assert_eq!(
            settings.base_url.for_label("blog"),
            "https://blog.sites.example.com"
        );
        let defaults = Settings::resolve(None, None, &ConfigFile::default()).unwrap();
        assert_eq!(
            defaults.base_url.for_label("blog"),
            "http://blog.localhost:4800"
        );
        assert_eq!(defaults.store, StoreUrl::default_local());
    }

    #[test]
    fn bad_base_urls_say_why() {
        assert!(
            BaseUrl::parse("example.com")
                .unwrap_err()
                .contains("scheme")
        );
        assert!(BaseUrl::parse("ftp://x").unwrap_err().contains("http"));
        assert!(
            BaseUrl::parse("https://x.com/path")
                .unwrap_err()
                .contains("no path")
        );
        assert!(
            BaseUrl::parse("https://x.com:99999")
                .unwrap_err()
                .contains("port")
        );
    }

    #[test]
    fn unknown_settings_in_the_file_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "stor = \"typo\"\n").unwrap();
        let err = ConfigFile::load(&path).unwrap_err().to_string();
        assert!(err.contains("invalid"), "{err}");
    }
}

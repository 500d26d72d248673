//! The desktop's settings: where deployments go (the embedded local store, or an S3 bucket
//! reached with an AWS profile), the Redis URL for live logs, and the base URL sites are
//! served under. Kept as JSON in `desktop.json` beside Pier's config file; the file never
//! holds a secret: a Redis password goes to the OS keychain ([`super::secrets`]) and AWS
//! access comes from the AWS chain (profiles, SSO) at the moment of use.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::events::UserError;
use pier_core::config::BaseUrl;
use pier_core::store::{StoreUrl, url::S3Options};

/// `<config dir>/pier/desktop.json` (beside `config.toml`; `PIER_CONFIG` moves both).
pub fn path() -> PathBuf {
    pier_core::config::beside_config("desktop.json")
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesktopSettings {
    #[serde(default)]
    pub target: StoreTarget,
    /// Without a password; that is in the keychain.
    #[serde(default)]
    pub redis_url: Option<String>,
    #[serde(default)]
    pub base_url: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StoreTarget {
    /// A folder on this machine (`PIER_STORE`, else `~/.local/share/pier/store`).
    #[default]
    Embedded,
    Aws(AwsTarget),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsTarget {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub bucket: String,
    pub prefix: Option<String>,
    /// An S3-compatible endpoint instead of AWS's.
    pub endpoint: Option<String>,
    /// Other regions serving copies of the store, each from `<bucket>-<region>` with the same
    /// profile, prefix and endpoint; `region` is the primary's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
}

impl StoreTarget {
    pub fn store_url(&self) -> Result<StoreUrl, UserError> {
        self.store_url_in(None)
    }

    /// Each other region's name and store.
    pub fn other_regions(&self) -> Result<Vec<(String, StoreUrl)>, UserError> {
        let StoreTarget::Aws(aws) = self else {
            return Ok(Vec::new());
        };
        aws.regions
            .iter()
            .map(|region| Ok((region.clone(), self.store_url_in(Some(region))?)))
            .collect()
    }

    /// The primary's store, or another region's copy of it (`<bucket>-<region>`).
    fn store_url_in(&self, other_region: Option<&str>) -> Result<StoreUrl, UserError> {
        match self {
            StoreTarget::Embedded => match std::env::var("PIER_STORE") {
                Ok(url) if !url.is_empty() => Ok(StoreUrl::parse(&url)?),
                _ => Ok(StoreUrl::default_local()),
            },
            StoreTarget::Aws(aws) => {
                let bucket = match other_region {
                    Some(region) => pier_aws::setup::region_bucket(aws.bucket.trim(), region),
                    None => aws.bucket.trim().to_string(),
                };
                let url = format!(
                    "s3://{bucket}/{}",
                    aws.prefix.as_deref().unwrap_or("").trim()
                );
                match StoreUrl::parse(&url)? {
                    StoreUrl::S3 { bucket, prefix, .. } => Ok(StoreUrl::S3 {
                        bucket,
                        prefix,
                        options: S3Options {
                            endpoint: aws.endpoint.clone(),
                            region: other_region
                                .map(str::to_string)
                                .or_else(|| aws.region.clone()),
                            profile: aws.profile.clone(),
                        },
                    }),
                    StoreUrl::Local(_) => Err(UserError::new(
                        "The bucket name is not valid",
                        "use the bucket's name only, as in my-sites",
                    )),
                }
            }
        }
    }
}

impl DesktopSettings {
    /// The AWS target's settings, when deployments go to S3.
    pub fn aws(&self) -> Option<&AwsTarget> {
        match &self.target {
            StoreTarget::Aws(aws) => Some(aws),
            StoreTarget::Embedded => None,
        }
    }

    /// A missing file is the embedded default.
    pub fn load(file: &Path) -> Result<DesktopSettings, UserError> {
        let bad = |detail: String| {
            UserError::new(
                format!(
                    "The settings file `{}` is invalid: {detail}",
                    file.display()
                ),
                "fix or delete the file; the app starts on the embedded default without it",
            )
        };
        match std::fs::read(file) {
            Ok(body) => serde_json::from_slice(&body).map_err(|e| bad(e.to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(DesktopSettings::default()),
            Err(e) => Err(bad(e.to_string())),
        }
    }

    pub fn save(&self, file: &Path) -> Result<(), UserError> {
        let bad = |e: std::io::Error| {
            UserError::new(
                format!("Cannot save the settings to `{}`: {e}", file.display()),
                "check that your config folder is writable",
            )
        };
        let parent = file.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(bad)?;
        let mut temp = tempfile::NamedTempFile::new_in(parent).map_err(bad)?;
        serde_json::to_writer_pretty(&mut temp, self).map_err(|e| bad(e.into()))?;
        temp.persist(file).map_err(|e| bad(e.error))?;
        Ok(())
    }
}

pub use pier_wire::settings::{SettingsForm, SettingsView};

fn given(value: &str) -> Option<String> {
    Some(value.trim().to_string()).filter(|v| !v.is_empty())
}

/// Validates the form. A password typed into the Redis URL is moved to `redis_password`, so
/// the saved URL never holds one.
pub fn validated(mut form: SettingsForm) -> Result<DesktopSettings, UserError> {
    let target = match form.target.as_str() {
        "" | "embedded" => StoreTarget::Embedded,
        "aws" => {
            let Some(bucket) = given(&form.bucket) else {
                return Err(UserError::new(
                    "An S3 target needs a bucket",
                    "type the bucket's name, as in my-sites",
                ));
            };
            let region = given(&form.region);
            let regions = pier_wire::regions::parse_list(&form.regions);
            if !regions.is_empty() && region.is_none() {
                return Err(UserError::new(
                    "Other regions need the primary's region",
                    "type the primary bucket's region, as in us-east-1",
                ));
            }
            if let Some(bad) = pier_wire::regions::not_another_region(region.as_deref(), &regions) {
                return Err(UserError::new(
                    format!("`{bad}` is not another AWS region"),
                    "list the other regions' codes, as in eu-west-1, ap-southeast-1; the \
                     region above is the primary",
                ));
            }
            StoreTarget::Aws(AwsTarget {
                profile: given(&form.profile),
                region,
                bucket,
                prefix: given(&form.prefix),
                endpoint: given(&form.endpoint),
                regions,
            })
        }
        other => {
            return Err(UserError::new(
                format!("Unknown target `{other}`"),
                "choose the embedded default or AWS",
            ));
        }
    };
    target.store_url()?;
    target.other_regions()?;
    let redis_url = match given(&form.redis_url) {
        Some(url) => {
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                return Err(UserError::new(
                    format!(
                        "`{}` is not a Redis URL",
                        pier_core::logs::redis::display_url(&url)
                    ),
                    "use redis://host:6379 or rediss://host:6380 (TLS)",
                ));
            }
            let (bare, password) = super::secrets::split_password(&url);
            if password.is_some() && form.redis_password.is_none() {
                form.redis_password = password;
            }
            Some(bare)
        }
        None => None,
    };
    let base_url = match given(&form.base_url) {
        Some(url) => {
            BaseUrl::parse(&url).map_err(|detail| {
                UserError::new(
                    format!("The base URL `{url}` is not valid: {detail}"),
                    "use the origin sites are served under, as in https://sites.example.com",
                )
            })?;
            Some(url)
        }
        None => None,
    };
    Ok(DesktopSettings {
        target,
        redis_url,
        base_url,
    })
}

/// What the Settings screen shows of `settings`: no secret, only whether one is saved.
pub fn view_of(settings: &DesktopSettings) -> SettingsView {
    let aws = match &settings.target {
        StoreTarget::Aws(aws) => aws.clone(),
        StoreTarget::Embedded => AwsTarget::default(),
    };
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    SettingsView {
        form: SettingsForm {
            target: match settings.target {
                StoreTarget::Embedded => "embedded".into(),
                StoreTarget::Aws(_) => "aws".into(),
            },
            profile: text(&aws.profile),
            region: text(&aws.region),
            bucket: aws.bucket.clone(),
            prefix: text(&aws.prefix),
            regions: aws.regions.join(", "),
            endpoint: text(&aws.endpoint),
            redis_url: text(&settings.redis_url),
            redis_password: None,
            base_url: text(&settings.base_url),
        },
        redis_password_saved: matches!(super::secrets::redis_password(), Ok(Some(_))),
        store: settings
            .target
            .store_url()
            .map(|url| url.to_string())
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_typed_into_the_redis_url_never_reaches_the_file() {
        let form = SettingsForm {
            redis_url: "redis://:hunter2@127.0.0.1:6379/0".into(),
            ..Default::default()
        };
        let mut form_copy = form.clone();
        let settings = validated(form).unwrap();
        assert_eq!(
            settings.redis_url.as_deref(),
            Some("redis://127.0.0.1:6379/0")
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("desktop.json");
        settings.save(&file).unwrap();
        let written = std::fs::read_to_string(&file).unwrap();
        assert!(!written.contains("hunter2"), "{written}");
        assert_eq!(DesktopSettings::load(&file).unwrap(), settings);
        form_copy.redis_password = None;
        let (_, password) = super::super::secrets::split_password(&form_copy.redis_url);
        assert_eq!(password.as_deref(), Some("hunter2"));
    }

    #[test]
    fn aws_targets_need_a_valid_bucket_and_base_urls_are_checked() {
        let missing = SettingsForm {
            target: "aws".into(),
            ..Default::default()
        };
        assert!(validated(missing).unwrap_err().message.contains("bucket"));
        let bad_bucket = SettingsForm {
            target: "aws".into(),
            bucket: "No_Such".into(),
            ..Default::default()
        };
        assert!(validated(bad_bucket).is_err());
        let good = SettingsForm {
            target: "aws".into(),
            bucket: "my-sites".into(),
            prefix: "pier".into(),
            region: "eu-west-1".into(),
            profile: "work".into(),
            base_url: "https://sites.example.com".into(),
            ..Default::default()
        };
        let settings = validated(good).unwrap();
        match settings.target.store_url().unwrap() {
            StoreUrl::S3 {
                bucket,
                prefix,
                options,
            } => {
                assert_eq!((bucket.as_str(), prefix.as_str()), ("my-sites", "pier/"));
                assert_eq!(options.profile.as_deref(), Some("work"));
                assert_eq!(options.region.as_deref(), Some("eu-west-1"));
            }
            other => panic!("{other:?}"),
        }
        let bad_base = SettingsForm {
            base_url: "sites.example.com".into(),
            ..Default::default()
        };
        assert!(
            validated(bad_base)
                .unwrap_err()
                .message
                .contains("base URL")
        );
    }
}

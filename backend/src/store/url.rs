//! Parsing of store URLs: a folder path, `file:///path`, or `s3://bucket[/prefix][?query]`.
//!
//! Bucket names follow the S3 naming rules (3–63 characters of `a-z 0-9 . -`, starting and
//! ending with a letter or digit). The optional query carries `endpoint`, `region` and
//! `profile`, so one string can name an S3-compatible store completely; without them the
//! standard AWS chain (`AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL`) decides.

use std::fmt;
use std::path::{Path, PathBuf};

use super::StoreError;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S3Options {
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub profile: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    Local(PathBuf),
    S3 {
        bucket: String,
        /// Empty, or ends with `/`.
        prefix: String,
        options: S3Options,
    },
}

impl StoreUrl {
    pub fn parse(input: &str) -> Result<StoreUrl, StoreError> {
        let bad = |reason: &str| StoreError::BadUrl {
            url: input.to_string(),
            reason: reason.to_string(),
        };
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(bad("it is empty"));
        }
        if let Some(path) = trimmed.strip_prefix("file://") {
            if !path.starts_with('/') {
                return Err(bad(
                    "a file:// URL needs an absolute path, as in file:///srv/pier",
                ));
            }
            return Ok(StoreUrl::Local(PathBuf::from(path)));
        }
        if let Some(rest) = trimmed.strip_prefix("s3://") {
            let (location, query) = match rest.split_once('?') {
                Some((location, query)) => (location, Some(query)),
                None => (rest, None),
            };
            let (bucket, prefix) = match location.split_once('/') {
                Some((bucket, prefix)) => (bucket, prefix.trim_matches('/')),
                None => (location, ""),
            };
            if let Some(rule) = bucket_rule_broken(bucket) {
                return Err(bad(rule));
            }
            if prefix
                .split('/')
                .any(|segment| segment == "." || segment == "..")
            {
                return Err(bad("the prefix may not contain `.` or `..` segments"));
            }
            let mut options = S3Options::default();
            for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                let value = Some(value.to_string()).filter(|v| !v.is_empty());
                match name {
                    "endpoint" => options.endpoint = value,
                    "region" => options.region = value,
                    "profile" => options.profile = value,
                    _ => return Err(bad("known query settings are endpoint, region and profile")),
                }
            }
            let prefix = if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            };
            return Ok(StoreUrl::S3 {
                bucket: bucket.to_string(),
                prefix,
                options,
            });
        }
        if trimmed.contains("://") {
            return Err(bad("only file:// and s3:// URLs are supported"));
        }
        Ok(StoreUrl::Local(PathBuf::from(trimmed)))
    }

    /// The default store: a folder under the user's data directory.
    pub fn default_local() -> StoreUrl {
        let base = dirs::data_dir().unwrap_or_else(|| PathBuf::from("."));
        StoreUrl::Local(base.join("pier").join("store"))
    }

    pub fn local_path(&self) -> Option<&Path> {
        match self {
            StoreUrl::Local(path) => Some(path),
            StoreUrl::S3 { .. } => None,
        }
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUrl::Local(path) => write!(f, "{}", path.display()),
            StoreUrl::S3 { bucket, prefix, .. } => {
                write!(f, "s3://{bucket}/{}", prefix.trim_end_matches('/'))
            }
        }
    }
}

fn bucket_rule_broken(bucket: &str) -> Option<&'static str> {
    if bucket.len() < 3 || bucket.len() > 63 {
        return Some("a bucket name has 3 to 63 characters");
    }
    if !bucket
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return Some("a bucket name uses only a-z, 0-9, '.' and '-'");
    }
    let first = bucket.as_bytes()[0];
    let last = bucket.as_bytes()[bucket.len() - 1];
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return Some("a bucket name starts and ends with a letter or digit");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        assert_eq!(
            StoreUrl::parse("/srv/pier").unwrap(),
            StoreUrl::Local("/srv/pier".into())
        );
        assert_eq!(
            StoreUrl::parse("file:///srv/pier").unwrap(),
            StoreUrl::Local("/srv/pier".into())
        );
        assert_eq!(
            StoreUrl::parse("s3://my-bucket/sites/prod/?region=eu-west-1").unwrap(),
            StoreUrl::S3 {
                bucket: "my-bucket".into(),
                prefix: "sites/prod/".into(),
                options: S3Options {
                    region: Some("eu-west-1".into()),
                    ..Default::default()
                }
            }
        );
        assert_eq!(
            StoreUrl::parse("s3://my-bucket").unwrap().to_string(),
            "s3://my-bucket/"
        );
    }

    #[test]
    fn rejects_bad_urls_with_the_rule() {
        for (input, needle) in [
            ("", "empty"),
            ("s3://B", "3 to 63"),
            ("s3://Big_Bucket", "a-z"),
            ("s3://-bucket", "starts and ends"),
            ("s3://bucket/../x", "`..`"),
            ("s3://bucket?color=red", "endpoint, region"),
            ("http://example.com", "file:// and s3://"),
            ("file://relative", "absolute"),
        ] {
            let err = StoreUrl::parse(input).unwrap_err().to_string();
            assert!(err.contains(needle), "{input}: {err}");
        }
    }
}

//! Deployment manifests and ids.
//!
//! A manifest lists every file of a deployment (path, size, SHA-256, content type) and the
//! deployment's metadata. It is written once, after every blob it names is in the store, and
//! never changed. Ids are 20 characters of `0-9a-z`: nine of milliseconds since the epoch (so
//! ids sort by creation time, in listings too) and eleven random; the first eight random ones
//! are the short id used in preview names. Paths are `/`-separated and relative, with no `.`
//! or `..` segments, as RFC 3986 §3.3 path segments after decoding.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::site_config::SiteConfig;

pub const ID_LEN: usize = 20;
const TIME_LEN: usize = 9;
pub const SHORT_ID_LEN: usize = 8;
const ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub size: u64,
    /// Lower-case hex SHA-256 of the content; the blob's key.
    pub sha256: String,
    pub content_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// A folder on the deploying machine.
    Folder { path: String, host: Option<String> },
    /// A git repository at a ref (builds).
    Git { url: String, reference: String },
}

impl Source {
    pub fn describe(&self) -> String {
        match self {
            Source::Folder { path, .. } => path.clone(),
            Source::Git { url, reference } => format!("{url}#{reference}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub id: String,
    pub project: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    pub source: Source,
    pub file_count: u64,
    pub total_bytes: u64,
    pub files: Vec<FileEntry>,
    /// Serving settings read from the site's `pier.json`, `vercel.json`, `_redirects` and
    /// `_headers` when it was deployed.
    #[serde(default)]
    pub config: SiteConfig,
    /// Served path (relative, no leading `/`) → the id of the bundle that answers it. Several
    /// paths may share one bundle (an adapter's catch-all function linked under each route).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub functions: BTreeMap<String, String>,
    /// The deployment's function bundles by id ([`FunctionBundle::id`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub bundles: BTreeMap<String, FunctionBundle>,
}

/// How a function bundle runs: the part of `.vc-config.json` Pier reads (`crate::functions`
/// finds bundles; this is what a manifest stores of them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionSettings {
    /// A Lambda Node runtime id, `nodejs<major>.x`.
    pub runtime: String,
    /// The handler's path inside the bundle, `/`-separated.
    pub handler: String,
    pub memory_mb: u32,
    pub max_duration_secs: u32,
    /// Plain variables: the function's config's, with the project's `pier env` ones over them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, String>,
    /// The names of the project's secret variables; their values are never in a manifest
    /// (`crate::project_env`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
    /// The `pier env` revision the variables were read at, so a changed value makes another
    /// bundle (another Lambda version, another local process).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_revision: Option<String>,
    /// The function sends its body as it is produced (Lambda's response streaming).
    pub streaming: bool,
    /// Vercel's Node helpers on `req` and `res` (`req.query`, `req.body`, `res.json()`, …).
    pub helpers: bool,
}

/// A function as a deployment stores it: its settings and its files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionBundle {
    #[serde(flatten)]
    pub settings: FunctionSettings,
    /// Paths relative to the bundle's root, sorted.
    pub files: Vec<FileEntry>,
}

impl FunctionBundle {
    /// The bundle's name: a SHA-256 over its settings and files, so equal bundles share it
    /// across deployments and projects.
    pub fn id(&self) -> String {
        let described = serde_json::to_vec(self).expect("a bundle serializes");
        hex::encode(Sha256::digest(&described))
    }

    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|file| file.size).sum()
    }
}

/// What `pier ls` shows of a deployment; stored as its index entry so listing reads no
/// manifests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub id: String,
    pub project: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    pub source: Source,
    pub file_count: u64,
    pub total_bytes: u64,
    pub preview: String,
}

impl Manifest {
    /// Every blob the deployment needs: its files' and its functions' files'.
    pub fn blob_hashes(&self) -> impl Iterator<Item = &str> {
        self.files
            .iter()
            .chain(self.bundles.values().flat_map(|bundle| bundle.files.iter()))
            .map(|file| file.sha256.as_str())
    }

    pub fn summary(&self) -> Summary {
        Summary {
            id: self.id.clone(),
            project: self.project.clone(),
            created: self.created,
            source: self.source.clone(),
            file_count: self.file_count,
            total_bytes: self.total_bytes,
            preview: preview_name(&self.project, &self.id),
        }
    }
}

/// `<project>-<short id>`, the preview host label of a deployment.
pub fn preview_name(project: &str, id: &str) -> String {
    format!("{project}-{}", short_id(id))
}

pub fn short_id(id: &str) -> &str {
    &id[TIME_LEN..TIME_LEN + SHORT_ID_LEN]
}

pub fn new_id(created: OffsetDateTime) -> String {
    let mut millis = (created.unix_timestamp_nanos() / 1_000_000).max(0) as u128;
    let mut time_part = [b'0'; TIME_LEN];
    for slot in time_part.iter_mut().rev() {
        *slot = ALPHABET[(millis % 36) as usize];
        millis /= 36;
    }
    let mut id = String::from_utf8(time_part.to_vec()).expect("ascii");
    id.extend((0..ID_LEN - TIME_LEN).map(|_| ALPHABET[rand::random_range(0..36)] as char));
    id
}

/// When an id was made (its leading time part), in milliseconds since the Unix epoch.
pub fn id_time_ms(id: &str) -> Option<i64> {
    let time_part = id.get(..TIME_LEN)?;
    time_part.bytes().try_fold(0i64, |millis, byte| {
        let digit = ALPHABET.iter().position(|&b| b == byte)? as i64;
        millis.checked_mul(36)?.checked_add(digit)
    })
}

pub fn is_id(candidate: &str) -> bool {
    candidate.len() == ID_LEN && candidate.bytes().all(|b| ALPHABET.contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_time_and_have_a_short_form() {
        let earlier = new_id(OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap());
        let later = new_id(OffsetDateTime::from_unix_timestamp(1_700_000_001).unwrap());
        assert!(earlier < later);
        assert!(is_id(&earlier) && is_id(&later));
        assert_eq!(short_id(&earlier).len(), SHORT_ID_LEN);
        assert_eq!(
            preview_name("blog", &earlier),
            format!("blog-{}", &earlier[9..17])
        );
        assert!(!is_id("blog-12345678"));
        assert_eq!(id_time_ms(&earlier), Some(1_700_000_000_000));
        assert_eq!(id_time_ms(&later), Some(1_700_000_001_000));
        assert_eq!(id_time_ms("NOT-AN-ID"), None);
    }
}

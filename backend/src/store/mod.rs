//! The store: one interface over a local folder and an S3 bucket, with one key layout.
//!
//! Keys are `/`-separated ASCII paths (see [`keys`]). Conditional writes follow the S3
//! semantics of RFC 9110 §13.1: `If-None-Match: *` creates only when absent, `If-Match: <etag>`
//! replaces only the version that was read. Both implementations pass the same test suite
//! (`tests/tests/store_suite.rs`).

pub mod keys;
pub mod local;
pub mod s3;
pub mod url;

use std::fmt::Debug;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::Stream;
use time::OffsetDateTime;

pub use crate::error::StoreError;
pub use url::StoreUrl;

/// A precondition on a write.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Condition {
    #[default]
    None,
    /// Create only if the key does not exist.
    IfNoneMatch,
    /// Replace only if the stored version still has this ETag.
    IfMatch(String),
}

#[derive(Debug, Clone, Default)]
pub struct PutOptions {
    pub condition: Condition,
    pub content_type: Option<String>,
}

impl PutOptions {
    pub fn json() -> Self {
        PutOptions {
            condition: Condition::None,
            content_type: Some("application/json".into()),
        }
    }

    pub fn with_condition(mut self, condition: Condition) -> Self {
        self.condition = condition;
        self
    }
}

/// An object read whole, with the version tag to pass back in [`Condition::IfMatch`].
#[derive(Debug, Clone)]
pub struct Object {
    pub body: Bytes,
    pub etag: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub key: String,
    pub size: u64,
    pub last_modified: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Default)]
pub struct ListPage {
    pub objects: Vec<ObjectMeta>,
    /// Pass back to get the next page; `None` on the last page.
    pub next: Option<String>,
}

/// A large body, read from a file in order. The store hashes what it reads and refuses to
/// commit the object unless the SHA-256 matches, so a file edited mid-upload never lands
/// under the wrong content address.
#[derive(Debug, Clone)]
pub struct FileBody<'a> {
    pub path: &'a Path,
    pub size: u64,
    pub sha256: [u8; 32],
}

/// An object's bytes, as they arrive.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, StoreError>> + Send>>;

/// Reading in chunks of this size keeps memory flat however large the object.
pub const STREAM_CHUNK: usize = 64 * 1024;

/// What reading a store takes. The proxy holds only this, so "the proxy never writes to the
/// store" is checked by the compiler, and read-only credentials suffice for it.
#[async_trait]
pub trait ReadStore: Send + Sync + Debug {
    /// The store's URL, for messages (never contains a credential).
    fn url(&self) -> String;

    /// Confirms the store exists and can be listed; gives the clearest error for a wrong bucket,
    /// region, endpoint or credentials before any work starts.
    async fn check(&self) -> Result<(), StoreError>;

    async fn get(&self, key: &str) -> Result<Option<Object>, StoreError>;

    /// Streams an object, or only its bytes `first..=last`; `None` when the key is absent.
    async fn get_stream(
        &self,
        key: &str,
        range: Option<(u64, u64)>,
    ) -> Result<Option<ByteStream>, StoreError>;

    /// Whether the key exists, and its size.
    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, StoreError>;

    /// One page (at most 1,000 keys) of the keys under `prefix`, in ascending order.
    async fn list_page(&self, prefix: &str, token: Option<String>) -> Result<ListPage, StoreError>;

    /// The next path segment of every key under `prefix` (which ends in `/`), like S3's
    /// delimiter listing: `projects/` → `["blog", "docs"]`.
    async fn list_children(&self, prefix: &str) -> Result<Vec<String>, StoreError>;

    /// The file that holds `key` in a folder store, for a reader that hands files to the
    /// kernel (the proxy's `sendfile`); `None` for S3, and for a key no store could hold.
    fn local_file(&self, _key: &str) -> Option<std::path::PathBuf> {
        None
    }

    /// Where an S3 store lives and the SDK configuration that reaches it, for the AWS services
    /// that work beside the store (Lambda); `None` for a folder.
    fn aws(&self) -> Option<AwsPlace> {
        None
    }
}

/// An S3 store's bucket, key prefix and SDK configuration.
#[derive(Debug, Clone)]
pub struct AwsPlace {
    pub config: aws_config::SdkConfig,
    pub bucket: String,
    /// What the store puts before every key.
    pub prefix: String,
}

/// A store that can also be written: the engine's deploys, aliases, removals and gc.
#[async_trait]
pub trait Store: ReadStore {
    /// Writes a small object whole; returns the new ETag.
    async fn put(&self, key: &str, body: Bytes, options: PutOptions) -> Result<String, StoreError>;

    /// Streams a file into `key` (multipart on S3 above the threshold), verifying its hash.
    async fn put_file(&self, key: &str, body: FileBody<'_>) -> Result<(), StoreError>;

    /// Deletes keys; a missing key is not an error.
    async fn delete(&self, keys: &[String]) -> Result<(), StoreError>;
}

pub type DynStore = Arc<dyn Store>;
/// A store as the proxy holds it: reads only.
pub type DynReadStore = Arc<dyn ReadStore>;

/// Every key under `prefix`, following pages.
pub async fn list_all(store: &dyn ReadStore, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
    let mut all = Vec::new();
    let mut token = None;
    loop {
        let page = store.list_page(prefix, token).await?;
        all.extend(page.objects);
        match page.next {
            Some(next) => token = Some(next),
            None => return Ok(all),
        }
    }
}

/// Opens the store a URL names for reading only: a folder store is not created or written
/// (no `.tmp`), so it may be a read-only mount.
pub async fn open_read_only(url: &StoreUrl) -> Result<DynReadStore, StoreError> {
    Ok(match url {
        StoreUrl::Local(path) => Arc::new(local::LocalStore::open_read_only(path)?),
        StoreUrl::S3 { .. } => open(url).await?,
    })
}

/// Opens the store a URL names.
pub async fn open(url: &StoreUrl) -> Result<DynStore, StoreError> {
    Ok(match url {
        StoreUrl::Local(path) => Arc::new(local::LocalStore::open(path)?),
        StoreUrl::S3 {
            bucket,
            prefix,
            options,
        } => Arc::new(s3::S3Store::connect(bucket, prefix, options).await?),
    })
}

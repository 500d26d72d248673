//! Store lookups behind caches.
//!
//! - Host targets (label or custom domain → deployment id) live for a short TTL, then are
//!   fetched again; if the store cannot answer, the last known target keeps being served.
//!   `refresh` drops them all at once (after a promote, say).
//! - Sites (manifests) are immutable: cached by id with no expiry, bounded in count.
//! - Blobs and their compressed variants are immutable: cached by content hash, bounded in
//!   bytes. Files above `max_cached_file` are never cached; they are streamed.
//! - A folder store's blobs are mapped instead (Linux, `mapped.rs`), whatever their size: the
//!   cache keeps up to `max_open_files` of them open, like nginx's `open_file_cache`, and
//!   reopens each after ten minutes (so a blob gc removed frees its disk space by then; an
//!   idle-time expiry cost ~3% on small files, as every hit would write its access time),
//!   and their bytes stay in the page cache, where the connection sends them from.
//!
//! Every store call has a time limit; a timeout and a store error are told apart so the
//! server can answer 504 or 502.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use moka::future::Cache;
use pier_core::deployments::PreviewRecord;
use pier_core::domains::DomainRecord;
use pier_core::manifest::Manifest;
use pier_core::records::read_json;
use pier_core::store::{ByteStream, DynReadStore, keys};
use pier_core::{PierError, alias, project_name};

use crate::compress::{self, Encoding};
use crate::mapped;
use crate::metrics::Metrics;
use crate::site::Site;

#[derive(Debug, Clone, thiserror::Error)]
pub enum LookupError {
    #[error("the store did not answer in time")]
    Timeout,
    #[error("the store failed: {0}")]
    Store(String),
}

#[derive(Debug, Clone)]
pub struct LookupConfig {
    pub target_ttl: Duration,
    pub store_timeout: Duration,
    pub blob_cache_bytes: u64,
    pub max_cached_file: u64,
    /// How many mapped blobs of a folder store stay open.
    pub max_open_files: u64,
}

#[derive(Debug, Clone)]
struct Timed {
    deployment: Option<Arc<str>>,
    fetched: Instant,
}

pub struct Lookups {
    store: DynReadStore,
    config: LookupConfig,
    label_targets: Cache<String, Timed>,
    domain_targets: Cache<String, Timed>,
    sites: Cache<String, Arc<Site>>,
    blobs: Cache<String, Bytes>,
    variants: Cache<(String, Encoding), Bytes>,
    mapped: Cache<String, Bytes>,
    metrics: Arc<Metrics>,
}

impl Lookups {
    pub fn new(store: DynReadStore, config: LookupConfig, metrics: Arc<Metrics>) -> Lookups {
        let weigh = |_: &_, body: &Bytes| u32::try_from(body.len()).unwrap_or(u32::MAX);
        Lookups {
            store,
            label_targets: Cache::builder().max_capacity(100_000).build(),
            domain_targets: Cache::builder().max_capacity(100_000).build(),
            sites: Cache::builder().max_capacity(2_000).build(),
            blobs: Cache::builder()
                .max_capacity(config.blob_cache_bytes * 3 / 4)
                .weigher(weigh)
                .build(),
            variants: Cache::builder()
                .max_capacity(config.blob_cache_bytes / 4)
                .weigher(|_: &(String, Encoding), body: &Bytes| {
                    u32::try_from(body.len()).unwrap_or(u32::MAX)
                })
                .build(),
            mapped: Cache::builder()
                .max_capacity(config.max_open_files)
                .time_to_live(Duration::from_secs(600))
                .build(),
            config,
            metrics,
        }
    }

    pub fn max_cached_file(&self) -> u64 {
        self.config.max_cached_file
    }

    /// Forgets every host target, so the next request reads the aliases again.
    pub fn refresh(&self) {
        self.label_targets.invalidate_all();
        self.domain_targets.invalidate_all();
    }

    async fn timed<T>(
        &self,
        work: impl Future<Output = Result<T, PierError>>,
    ) -> Result<T, LookupError> {
        match tokio::time::timeout(self.config.store_timeout, work).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(LookupError::Store(e.to_string())),
            Err(_) => Err(LookupError::Timeout),
        }
    }

    /// The deployment a label under the base domain serves: a preview name's deployment, or a
    /// project's production deployment.
    pub async fn deployment_for_label(&self, label: &str) -> Result<Option<Arc<str>>, LookupError> {
        let store = self.store.as_ref();
        self.cached_target(&self.label_targets, label, async {
            if looks_like_preview(label)
                && let Some(preview) =
                    read_json::<PreviewRecord>(store, &keys::preview(label)).await?
            {
                return Ok(Some(preview.deployment));
            }
            production_of(store, label).await
        })
        .await
    }

    /// The deployment a custom domain serves: its project's production deployment.
    pub async fn deployment_for_domain(&self, host: &str) -> Result<Option<Arc<str>>, LookupError> {
        let store = self.store.as_ref();
        self.cached_target(&self.domain_targets, host, async {
            match read_json::<DomainRecord>(store, &keys::domain(host)).await? {
                Some(record) => production_of(store, &record.project).await,
                None => Ok(None),
            }
        })
        .await
    }

    /// A cached answer while it is fresh, else `fetch`'s. A hit allocates nothing: the key is
    /// looked up as the borrowed label or host, and the id is shared.
    async fn cached_target(
        &self,
        targets: &Cache<String, Timed>,
        key: &str,
        fetch: impl Future<Output = Result<Option<String>, PierError>>,
    ) -> Result<Option<Arc<str>>, LookupError> {
        let cached = targets.get(key).await;
        if let Some(entry) = &cached
            && entry.fetched.elapsed() < self.config.target_ttl
        {
            self.metrics.cache("target", true);
            return Ok(entry.deployment.clone());
        }
        self.metrics.cache("target", false);
        match self.timed(fetch).await {
            Ok(deployment) => {
                let deployment: Option<Arc<str>> = deployment.map(Arc::from);
                let entry = Timed {
                    deployment: deployment.clone(),
                    fetched: Instant::now(),
                };
                targets.insert(key.to_string(), entry).await;
                Ok(deployment)
            }
            Err(error) => match cached {
                Some(stale) => {
                    tracing::warn!(%error, target = %key, "store unavailable; serving the last known target");
                    Ok(stale.deployment)
                }
                None => Err(error),
            },
        }
    }

    pub async fn site(&self, id: &str) -> Result<Option<Arc<Site>>, LookupError> {
        if let Some(site) = self.sites.get(id).await {
            self.metrics.cache("manifest", true);
            return Ok(Some(site));
        }
        self.metrics.cache("manifest", false);
        let manifest = self
            .timed(read_json::<Manifest>(
                self.store.as_ref(),
                &keys::manifest(id),
            ))
            .await?;
        Ok(match manifest {
            Some(manifest) => {
                let site = Arc::new(Site::new(manifest));
                self.sites.insert(id.to_string(), site.clone()).await;
                Some(site)
            }
            None => None,
        })
    }

    /// A whole blob, from memory when it has been read before.
    pub async fn blob(&self, sha256: &str) -> Result<Bytes, LookupError> {
        if let Some(mapped) = self.mapped_blob(sha256).await? {
            return Ok(mapped);
        }
        if let Some(body) = self.blobs.get(sha256).await {
            self.metrics.cache("blob", true);
            return Ok(body);
        }
        self.metrics.cache("blob", false);
        let key = keys::blob(sha256);
        let object = self
            .timed(async { Ok(self.store.get(&key).await?) })
            .await?
            .ok_or_else(|| LookupError::Store(format!("blob {sha256} is missing")))?;
        self.blobs
            .insert(sha256.to_string(), object.body.clone())
            .await;
        Ok(object.body)
    }

    /// A whole blob of a folder store, mapped; `None` where blobs are not mapped (S3, or not
    /// Linux), for [`Lookups::cached_blob`] and [`Lookups::stream`] to answer.
    pub async fn mapped_blob(&self, sha256: &str) -> Result<Option<Bytes>, LookupError> {
        if !cfg!(target_os = "linux") {
            return Ok(None);
        }
        // The cache first: asking the store for a path costs two allocations a request.
        if let Some(hit) = self.mapped.get(sha256).await {
            self.metrics.cache("mapped", true);
            return Ok(Some(hit));
        }
        let Some(path) = self.store.local_file(&keys::blob(sha256)) else {
            return Ok(None);
        };
        self.metrics.cache("mapped", false);
        let opened =
            tokio::task::spawn_blocking(move || std::fs::File::open(path).and_then(mapped::map));
        let bytes = match tokio::time::timeout(self.config.store_timeout, opened).await {
            Err(_) => return Err(LookupError::Timeout),
            Ok(Err(panicked)) => return Err(LookupError::Store(panicked.to_string())),
            Ok(Ok(Err(e))) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(LookupError::Store(format!("blob {sha256} is missing")));
            }
            Ok(Ok(Err(e))) => return Err(LookupError::Store(e.to_string())),
            Ok(Ok(Ok(bytes))) => bytes,
        };
        self.mapped.insert(sha256.to_string(), bytes.clone()).await;
        Ok(Some(bytes))
    }

    /// A whole blob if it is in memory; `None` is a miss to stream ([`Lookups::stream_and_keep`]).
    pub async fn cached_blob(&self, sha256: &str) -> Option<Bytes> {
        let hit = self.blobs.get(sha256).await;
        self.metrics.cache("blob", hit.is_some());
        hit
    }

    /// Streams a whole blob from the store as it is read, and keeps a copy in memory once the
    /// last byte has gone out, so the first byte never waits for the last and the next request
    /// is a hit. A stream that fails or is dropped half way keeps nothing.
    pub async fn stream_and_keep(
        &self,
        sha256: &str,
        size: u64,
    ) -> Result<ByteStream, LookupError> {
        let stream = self.stream(sha256, None).await?;
        let keeping = Keeping {
            kept: Vec::with_capacity(usize::try_from(size).unwrap_or(0)),
            size,
            key: sha256.to_string(),
            cache: self.blobs.clone(),
        };
        Ok(Box::pin(futures::stream::unfold(
            (stream, Some(keeping)),
            |(mut stream, mut keeping)| async move {
                match stream.next().await {
                    Some(Ok(chunk)) => {
                        if let Some(keeping) = &mut keeping {
                            keeping.kept.extend_from_slice(&chunk);
                        }
                        // Kept as soon as the last byte is read, before it goes out: the
                        // server need not poll the body to its end.
                        if let Some(whole) = keeping.take_if(|k| k.kept.len() as u64 >= k.size) {
                            whole.keep().await;
                        }
                        Some((Ok(chunk), (stream, keeping)))
                    }
                    Some(Err(error)) => Some((Err(error), (stream, None))),
                    None => None,
                }
            },
        )))
    }

    /// A blob compressed with `encoding`, compressed once and then served from memory.
    pub async fn variant(&self, sha256: &str, encoding: Encoding) -> Result<Bytes, LookupError> {
        let key = (sha256.to_string(), encoding);
        if let Some(body) = self.variants.get(&key).await {
            self.metrics.cache("compressed", true);
            return Ok(body);
        }
        self.metrics.cache("compressed", false);
        let plain = self.blob(sha256).await?;
        let compressed = tokio::task::spawn_blocking(move || compress::compress(&plain, encoding))
            .await
            .map_err(|e| LookupError::Store(e.to_string()))?;
        let compressed = Bytes::from(compressed);
        self.variants.insert(key, compressed.clone()).await;
        Ok(compressed)
    }

    /// Streams a blob (or a byte range of it) straight from the store.
    pub async fn stream(
        &self,
        sha256: &str,
        range: Option<(u64, u64)>,
    ) -> Result<ByteStream, LookupError> {
        let key = keys::blob(sha256);
        self.timed(async { Ok(self.store.get_stream(&key, range).await?) })
            .await?
            .ok_or_else(|| LookupError::Store(format!("blob {sha256} is missing")))
    }
}

/// What a streamed blob has read so far, for the cache.
struct Keeping {
    kept: Vec<u8>,
    size: u64,
    key: String,
    cache: Cache<String, Bytes>,
}

impl Keeping {
    async fn keep(self) {
        // A store that gave fewer or more bytes than the manifest says is not cached.
        if self.kept.len() as u64 == self.size {
            self.cache.insert(self.key, Bytes::from(self.kept)).await;
        }
    }
}

async fn production_of(
    store: &dyn pier_core::store::ReadStore,
    project: &str,
) -> Result<Option<String>, PierError> {
    if project_name::validate(project).is_err() {
        return Ok(None);
    }
    Ok(alias::read(store, project)
        .await?
        .and_then(|record| record.production))
}

/// Preview names are `<project>-<suffix>`: a deployment's short id, or a watch's `watch`.
fn looks_like_preview(label: &str) -> bool {
    label.rsplit_once('-').is_some_and(|(project, suffix)| {
        !suffix.is_empty() && project_name::validate(project).is_ok()
    })
}

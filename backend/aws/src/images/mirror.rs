//! The copy itself: one image, pinned by digest, from a source registry to a destination
//! repository, registry to registry, with nothing written on this machine.
//!
//! The order keeps the destination consistent at every instant (OCI Distribution Spec v1.1,
//! "Pushing Manifests": a registry may refuse a manifest whose references it lacks): blobs
//! first, then each image manifest, then the index that names them. The top manifest is
//! pushed last, so a destination that has it has the whole image, and a mirror stopped half
//! way (a closed laptop, a network cut) leaves only unreferenced blobs, which the next run
//! finds with `HEAD` and skips: rerunning resumes.
//!
//! Every byte is checked against its digest on the way through: a blob is hashed as it
//! streams from the source to the destination, and a blob whose bytes do not match is aborted
//! mid-upload, so the destination never stores it under that digest.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt, stream};
use sha2::Digest as _;

use super::client::{Manifest, RepoClient, http_client};
use super::media::{self, Descriptor, Parsed};
use super::{Arch, Credentials, Digest, ImageError, ImageRef, Registry, Side, check_platform};

/// How many blobs travel at once. Registries serve layers from object storage, so a few
/// streams in parallel fill a link that one would not; skopeo copies up to six.
pub const DEFAULT_PARALLEL_BLOBS: usize = 6;

/// What to copy, and where.
#[derive(Debug, Clone)]
pub struct MirrorOptions {
    pub source: ImageRef,
    pub source_credentials: Credentials,
    pub destination: Registry,
    /// The repository in the destination (`pier/proxy`).
    pub destination_repository: String,
    pub destination_credentials: Credentials,
    /// The CPU architecture the image must run on (the task definition's), checked before
    /// anything is copied.
    pub arch: Option<Arch>,
    /// A tag to give the image in the destination as well (its version), for people browsing
    /// the repository; tasks always pull by digest.
    pub tag: Option<String>,
    pub parallel_blobs: usize,
}

impl MirrorOptions {
    pub fn new(source: ImageRef, destination: Registry, destination_repository: &str) -> Self {
        MirrorOptions {
            source,
            source_credentials: Credentials::Anonymous,
            destination,
            destination_repository: destination_repository.to_string(),
            destination_credentials: Credentials::Anonymous,
            arch: None,
            tag: None,
            parallel_blobs: DEFAULT_PARALLEL_BLOBS,
        }
    }

    /// Where the image ends up: the destination repository, pinned by the same digest.
    pub fn destination_image(&self) -> Result<ImageRef, ImageError> {
        ImageRef::new(
            self.destination.clone(),
            &self.destination_repository,
            self.source.digest.clone(),
        )
    }
}

/// What a mirror did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorReport {
    /// The copy, pinned by the source's digest.
    pub image: ImageRef,
    /// Whether the destination already had the whole image (nothing was sent).
    pub already_there: bool,
    pub manifests_pushed: usize,
    pub blobs_copied: usize,
    pub blobs_present: usize,
    pub bytes_copied: u64,
}

/// What a mirror reports as it goes, for a progress bar or the desktop's setup screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Every blob is known: how many, and their total size.
    Planned { blobs: usize, bytes: u64 },
    /// One blob is in the destination: copied now (`copied`) or found there.
    Blob {
        digest: String,
        size: u64,
        copied: bool,
    },
    /// A manifest was pushed.
    Manifest { digest: String },
}

pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// Copies `options.source` into the destination repository. Returns the image there, pinned
/// by the same digest; the destination's own answer for that digest is checked at the end.
pub async fn mirror(
    options: &MirrorOptions,
    progress: Option<ProgressFn>,
) -> Result<MirrorReport, ImageError> {
    let report = |progress_event: Progress| {
        if let Some(progress) = &progress {
            progress(progress_event);
        }
    };
    let http = http_client()?;
    let source = RepoClient::new(
        http.clone(),
        options.source.registry.clone(),
        &options.source.repository,
        options.source_credentials.clone(),
        Side::Source,
    );
    let destination = RepoClient::new(
        http,
        options.destination.clone(),
        &options.destination_repository,
        options.destination_credentials.clone(),
        Side::Destination,
    );
    super::check_repository(&options.destination_repository)?;
    // Both logins first: refused credentials fail before a byte moves.
    source.prepare().await?;
    destination.prepare().await?;

    let image = options.destination_image()?;
    let top = source.get_manifest(&options.source.digest, None).await?;
    let top_parsed = media::parse(&top.bytes, &top.media_type, &options.source.to_string())?;

    // The image manifests (one, or each an index names) and the platform check.
    let mut manifests: Vec<Manifest> = Vec::new();
    match &top_parsed {
        Parsed::Index { manifests: entries } => {
            if let Some(arch) = options.arch {
                check_platform(&options.source, &media::runnable(entries), arch)?;
            }
            for entry in entries {
                let digest = Digest::parse(&entry.digest)?;
                let child = source
                    .get_manifest(&digest, entry.media_type.as_deref())
                    .await?;
                if media::is_index_type(&child.media_type) {
                    return Err(ImageError::Unsupported {
                        image: options.source.to_string(),
                        detail: "an index inside an index".into(),
                    });
                }
                manifests.push(child);
            }
        }
        Parsed::Image { config, .. } => {
            if let (Some(arch), Some(config)) = (options.arch, config) {
                let config = source
                    .get_small_blob(&Digest::parse(&config.digest)?)
                    .await?;
                let platforms: Vec<_> = media::config_platform(&config).into_iter().collect();
                check_platform(&options.source, &platforms, arch)?;
            }
        }
    }

    if destination
        .manifest_exists(options.source.digest.as_str())
        .await?
        .is_some()
    {
        if let Some(tag) = &options.tag {
            destination.put_manifest(tag, &top).await?;
        }
        return Ok(MirrorReport {
            image,
            already_there: true,
            manifests_pushed: 0,
            blobs_copied: 0,
            blobs_present: 0,
            bytes_copied: 0,
        });
    }

    // Every blob once, even when several platforms share a layer.
    let mut seen = BTreeSet::new();
    let mut blobs: Vec<Descriptor> = Vec::new();
    let image_manifests = if manifests.is_empty() {
        vec![(top.clone(), top_parsed)]
    } else {
        let mut parsed = Vec::new();
        for manifest in &manifests {
            let what = format!("{}@{}", options.source.repository, manifest.digest);
            parsed.push((
                manifest.clone(),
                media::parse(&manifest.bytes, &manifest.media_type, &what)?,
            ));
        }
        parsed
    };
    for (_, parsed) in &image_manifests {
        for blob in parsed.blobs() {
            if seen.insert(blob.digest.clone()) {
                blobs.push(blob);
            }
        }
    }
    report(Progress::Planned {
        blobs: blobs.len(),
        bytes: blobs.iter().map(|b| b.size).sum(),
    });

    let copied: Vec<Option<u64>> = stream::iter(blobs)
        .map(|blob| {
            let (source, destination, report) = (&source, &destination, &report);
            async move {
                let digest = Digest::parse(&blob.digest)?;
                let copied = if destination.blob_exists(&digest).await? {
                    None
                } else {
                    copy_blob(source, destination, &digest, blob.size).await?;
                    Some(blob.size)
                };
                report(Progress::Blob {
                    digest: digest.to_string(),
                    size: blob.size,
                    copied: copied.is_some(),
                });
                Ok::<_, ImageError>(copied)
            }
        })
        .buffer_unordered(options.parallel_blobs.max(1))
        .try_collect()
        .await?;

    let mut manifests_pushed = 0;
    if !manifests.is_empty() {
        for (manifest, _) in &image_manifests {
            if destination
                .manifest_exists(manifest.digest.as_str())
                .await?
                .is_none()
            {
                destination
                    .put_manifest(manifest.digest.as_str(), manifest)
                    .await?;
                manifests_pushed += 1;
            }
            report(Progress::Manifest {
                digest: manifest.digest.to_string(),
            });
        }
    }
    destination
        .put_manifest(options.source.digest.as_str(), &top)
        .await?;
    manifests_pushed += 1;
    report(Progress::Manifest {
        digest: top.digest.to_string(),
    });
    if let Some(tag) = &options.tag {
        destination.put_manifest(tag, &top).await?;
    }

    match destination
        .manifest_exists(options.source.digest.as_str())
        .await?
    {
        Some(stored) if stored.is_empty() || stored == options.source.digest.as_str() => {}
        stored => {
            return Err(ImageError::DigestMismatch {
                registry: options.destination.to_string(),
                what: "manifest",
                digest: options.source.digest.to_string(),
                detail: format!(
                    "after the push the destination answers {}",
                    stored.unwrap_or_else(|| "that it does not have it".into())
                ),
            });
        }
    }

    Ok(MirrorReport {
        image,
        already_there: false,
        manifests_pushed,
        blobs_copied: copied.iter().flatten().count(),
        blobs_present: copied.iter().filter(|c| c.is_none()).count(),
        bytes_copied: copied.iter().flatten().sum(),
    })
}

/// What a blob's bytes hashed to on the way through, and how many there were.
#[derive(Default)]
struct Tally {
    hasher: sha2::Sha256,
    bytes: u64,
    /// Set when the stream was cut because the bytes did not match.
    mismatch: Option<String>,
}

/// Streams one blob from `source` into a monolithic upload to `destination`, hashing it on the
/// way; the body ends in an error (which aborts the upload) if the bytes do not match.
async fn copy_blob(
    source: &RepoClient,
    destination: &RepoClient,
    digest: &Digest,
    size: u64,
) -> Result<(), ImageError> {
    let response = source.get_blob(digest).await?;
    let location = destination.start_upload().await?;
    let tally = Arc::new(Mutex::new(Tally::default()));
    let counting = Arc::clone(&tally);
    let source_name = source.registry().to_string();
    let chunks = response.bytes_stream().map(move |chunk| {
        let chunk = chunk.map_err(std::io::Error::other)?;
        let mut tally = counting.lock().unwrap_or_else(|p| p.into_inner());
        tally.hasher.update(&chunk);
        tally.bytes += chunk.len() as u64;
        if tally.bytes > size {
            tally.mismatch = Some(format!(
                "it is longer than the {size} bytes its manifest says"
            ));
            return Err(std::io::Error::other("blob longer than its descriptor"));
        }
        Ok::<Bytes, std::io::Error>(chunk)
    });
    let checking = Arc::clone(&tally);
    let expected = digest.clone();
    let end = stream::once(async move {
        let mut tally = checking.lock().unwrap_or_else(|p| p.into_inner());
        let hasher = std::mem::take(&mut tally.hasher);
        let actual = Digest::from_sha256(hasher.finalize().into());
        if tally.bytes != size {
            tally.mismatch = Some(format!(
                "the source sent {} bytes, its manifest says {size}",
                tally.bytes
            ));
        } else if actual != expected {
            tally.mismatch = Some(format!("the bytes served hash to {actual}"));
        }
        match &tally.mismatch {
            Some(_) => Err(std::io::Error::other("blob does not match its digest")),
            None => Ok(Bytes::new()),
        }
    });
    let body = reqwest::Body::wrap_stream(chunks.chain(end));
    let result = destination
        .finish_upload(location, digest, size, body)
        .await;
    let mismatch = tally
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .mismatch
        .take();
    match (result, mismatch) {
        (_, Some(detail)) => Err(ImageError::DigestMismatch {
            registry: source_name,
            what: "blob",
            digest: digest.to_string(),
            detail,
        }),
        (result, None) => result,
    }
}

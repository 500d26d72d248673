//! One deployment copied from the primary region's store into another region's, with the
//! deploy's own rules: the lease first (so that region's gc keeps the blobs), the blobs that
//! region lacks (each checked against its SHA-256 on the way), the gc fence, and only then the
//! manifest, its index entry and its preview name. A copy stopped anywhere leaves the region
//! serving what it served, complete; the next sync starts over and skips what is there.

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::deploy::{missing_blobs, missing_blobs_by_head, write_deployment_records};
use crate::error::{PierError, StoreError};
use crate::gc::{self, Fence, Lease};
use crate::lambda::FunctionsRuntime;
use crate::manifest::Manifest;
use crate::records::read_json;
use crate::store::{FileBody, PutOptions, Store, keys};

const COPIES_IN_FLIGHT: usize = 32;
/// Blobs at most this large are copied through memory; larger ones through a temporary file.
const IN_MEMORY: u64 = 8 * 1024 * 1024;

/// What one copy moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Copied {
    pub blobs: u64,
    pub bytes: u64,
}

/// Copies deployment `id` from `from` into `to`. Returns what was sent; nothing when `to`
/// holds it already.
pub async fn copy_deployment(
    from: &dyn Store,
    to: &dyn Store,
    id: &str,
) -> Result<Copied, PierError> {
    if to.head(&keys::manifest(id)).await?.is_some() {
        // Its manifest is there, so its blobs are; its records may not be (a stopped copy).
        let manifest: Manifest = read_json(to, &keys::manifest(id)).await?.ok_or_else(|| {
            PierError::UnknownDeployment {
                reference: id.to_string(),
            }
        })?;
        write_deployment_records(to, &manifest).await?;
        return Ok(Copied::default());
    }
    let manifest: Manifest = read_json(from, &keys::manifest(id)).await?.ok_or_else(|| {
        PierError::UnknownDeployment {
            reference: id.to_string(),
        }
    })?;
    refuse_functions_on_lambda(to, &manifest).await?;
    let hashes: BTreeSet<String> = manifest.blob_hashes().map(str::to_string).collect();
    let mut fence = Fence::observe(to).await?;
    gc::write_lease(
        to,
        &Lease {
            deployment: id.to_string(),
            created: time::OffsetDateTime::now_utc(),
            blobs: hashes.iter().cloned().collect(),
            functions: Vec::new(),
        },
    )
    .await?;
    let copied = async {
        let all: Vec<&str> = hashes.iter().map(String::as_str).collect();
        let mut to_copy = missing_blobs(to, &all).await?;
        let mut copied = Copied::default();
        loop {
            let sent = copy_blobs(from, to, &to_copy).await?;
            copied.blobs += sent.blobs;
            copied.bytes += sent.bytes;
            if fence.still_clear(to).await? {
                return Ok::<_, PierError>(copied);
            }
            // A gc ran in that region meanwhile: it may have deleted blobs found present.
            fence = Fence::wait_for_gc(to).await?;
            to_copy = missing_blobs_by_head(to, &all).await?;
        }
    }
    .await;
    let copied = match copied {
        Ok(copied) => copied,
        Err(e) => {
            let _ = gc::drop_lease(to, id).await;
            return Err(e);
        }
    };
    write_deployment_records(to, &manifest).await?;
    gc::drop_lease(to, id).await?;
    Ok(copied)
}

/// A deployment whose functions run on Lambda needs them published in the region's own
/// Lambda, with the project's secrets, which only a deploy from the machine holding them has.
async fn refuse_functions_on_lambda(to: &dyn Store, manifest: &Manifest) -> Result<(), PierError> {
    if manifest.bundles.is_empty() {
        return Ok(());
    }
    if let Some(FunctionsRuntime::Lambda(_)) = crate::lambda::read_runtime(to).await? {
        for bundle in manifest.bundles.keys() {
            let record = keys::lambda_version(&manifest.project, bundle);
            if to.head(&record).await?.is_none() {
                return Err(PierError::FunctionsNeedADeploy {
                    id: manifest.id.clone(),
                    store: to.url(),
                });
            }
        }
    }
    Ok(())
}

async fn copy_blobs(
    from: &dyn Store,
    to: &dyn Store,
    hashes: &[String],
) -> Result<Copied, PierError> {
    let sizes: Vec<Result<u64, PierError>> = futures::stream::iter(hashes.iter().cloned())
        .map(|hash| async move { copy_blob(from, to, &hash).await })
        .buffer_unordered(COPIES_IN_FLIGHT)
        .collect()
        .await;
    let mut copied = Copied::default();
    for size in sizes {
        copied.blobs += 1;
        copied.bytes += size?;
    }
    Ok(copied)
}

/// One blob, retried on a transient failure; returns its size.
async fn copy_blob(from: &dyn Store, to: &dyn Store, hash: &str) -> Result<u64, PierError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match copy_blob_once(from, to, hash).await {
            Err(PierError::Store(StoreError::Unreachable { .. } | StoreError::Other { .. }))
                if attempt < 3 =>
            {
                tokio::time::sleep(Duration::from_millis(200 * 2u64.pow(attempt))).await;
            }
            other => return other,
        }
    }
}

async fn copy_blob_once(from: &dyn Store, to: &dyn Store, hash: &str) -> Result<u64, PierError> {
    let key = keys::blob(hash);
    let lost = || PierError::MissingBlob {
        key: key.clone(),
        store: from.url(),
    };
    let size = from.head(&key).await?.ok_or_else(lost)?.size;
    let mut stream = from.get_stream(&key, None).await?.ok_or_else(lost)?;
    let expected = hex::decode(hash).map_err(|_| lost())?;
    let changed = || StoreError::ContentChanged { path: key.clone() };
    if size <= IN_MEMORY {
        let mut body = Vec::with_capacity(size as usize);
        while let Some(chunk) = stream.try_next().await? {
            body.extend_from_slice(&chunk);
        }
        if Sha256::digest(&body).as_slice() != expected.as_slice() {
            return Err(changed().into());
        }
        to.put(&key, Bytes::from(body), PutOptions::default())
            .await?;
        return Ok(size);
    }
    let spool =
        tempfile::NamedTempFile::new().map_err(|e| spool_error(&std::env::temp_dir(), e))?;
    let io = |source| spool_error(spool.path(), source);
    let mut file = tokio::fs::File::from_std(spool.reopen().map_err(io)?);
    let mut hasher = Sha256::new();
    while let Some(chunk) = stream.try_next().await? {
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(io)?;
    }
    file.flush().await.map_err(io)?;
    let sha256: [u8; 32] = hasher.finalize().into();
    if sha256.as_slice() != expected.as_slice() {
        return Err(changed().into());
    }
    to.put_file(
        &key,
        FileBody {
            path: spool.path(),
            size,
            sha256,
        },
    )
    .await?;
    Ok(size)
}

fn spool_error(path: &std::path::Path, source: std::io::Error) -> PierError {
    PierError::Store(StoreError::Io {
        path: path.to_path_buf(),
        source,
    })
}

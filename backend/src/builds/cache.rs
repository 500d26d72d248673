//! The build cache: the package manager's download cache, saved to the store after a build
//! and restored before the next install, keyed by the package manager and the SHA-256 of the
//! lockfile (`cache/<manager>/<sha256>.tar.gz`). A fresh builder task has an empty disk, so
//! without this every build downloads every package again.
//!
//! The same lockfile always maps to the same key, so a cache is written once and never
//! replaced: a cache can never be half-written under a key another build is reading. Only
//! the download cache is kept (never `node_modules`), so a restored cache cannot carry a
//! previous build's state into this one; the package manager still verifies every package
//! against the lockfile's integrity hashes.

use std::path::{Path, PathBuf};

use crate::builds::detect::PackageManager;
use crate::error::PierError;
use crate::store::{FileBody, Store};

/// The build's cache: where the package manager keeps downloads, and the store key for them.
pub struct BuildCache {
    pub key: String,
    pub dir: PathBuf,
    pub manager: PackageManager,
}

impl BuildCache {
    /// The cache for the lockfile in `source`; `None` when there is no lockfile to key it by.
    pub fn for_source(
        source: &Path,
        manager: PackageManager,
        dir: PathBuf,
    ) -> Result<Option<BuildCache>, PierError> {
        let Some(lockfile) = manager
            .lockfile()
            .iter()
            .map(|name| source.join(name))
            .find(|path| path.is_file())
        else {
            return Ok(None);
        };
        let (sha256, _) = crate::scan::hash_file(&lockfile)?;
        let name = serde_json::to_value(manager)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| "npm".into());
        Ok(Some(BuildCache {
            key: format!("cache/{name}/{}.tar.gz", hex::encode(sha256)),
            dir,
            manager,
        }))
    }

    /// The environment that points the package manager at [`BuildCache::dir`].
    pub fn environment(&self) -> Vec<(String, String)> {
        let dir = self.dir.display().to_string();
        match self.manager {
            PackageManager::Npm => vec![
                ("npm_config_cache".into(), dir),
                // Take what the cache holds without asking the registry whether it is fresh.
                ("npm_config_prefer_offline".into(), "true".into()),
            ],
            PackageManager::Pnpm => vec![("npm_config_store_dir".into(), dir)],
            PackageManager::Yarn => vec![("YARN_CACHE_FOLDER".into(), dir)],
            PackageManager::Bun => vec![("BUN_INSTALL_CACHE_DIR".into(), dir)],
        }
    }

    /// Restores the saved cache; `Ok(false)` on a miss.
    pub async fn restore(&self, store: &dyn Store) -> Result<bool, PierError> {
        if store.head(&self.key).await?.is_none() {
            return Ok(false);
        }
        crate::builds::archive::download(store, &self.key, &self.dir).await?;
        Ok(true)
    }

    /// Saves the cache unless the store has one for this lockfile already; returns the bytes
    /// written (0 when nothing was saved).
    pub async fn save(&self, store: &dyn Store) -> Result<u64, PierError> {
        if !self.dir.is_dir() || store.head(&self.key).await?.is_some() {
            return Ok(0);
        }
        let dir = self.dir.clone();
        let packed = tokio::task::spawn_blocking(move || crate::builds::archive::pack(&dir))
            .await
            .expect("packing does not panic")?;
        store
            .put_file(
                &self.key,
                FileBody {
                    path: packed.file.path(),
                    size: packed.size,
                    sha256: packed.sha256,
                },
            )
            .await?;
        Ok(packed.size)
    }
}

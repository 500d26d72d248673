//! The local folder store: the embedded default, and a store for single-machine setups.
//!
//! Every write goes to a temporary file in `<root>/.tmp`, is synced, then renamed over its key,
//! so a reader sees the old object or the new one and never a torn one (POSIX `rename(2)` is
//! atomic). Conditional writes take an exclusive lock on `<root>/.lock` around the check and
//! the rename, which gives the same `If-Match` / `If-None-Match` guarantees as S3 between
//! processes on one machine. An ETag names the file version (inode, mtime, size), read without
//! touching the content.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{
    ByteStream, Condition, FileBody, ListPage, Object, ObjectMeta, PutOptions, ReadStore, Store,
    StoreError,
};

const TMP_DIR: &str = ".tmp";
const LOCK_FILE: &str = ".lock";

#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
    /// Opened for reading only: nothing was created, and `check` asks only to list.
    read_only: bool,
}

impl LocalStore {
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        if root.exists() && !root.is_dir() {
            return Err(StoreError::BadUrl {
                url: root.display().to_string(),
                reason: "it is a file, and a local store must be a folder".into(),
            });
        }
        std::fs::create_dir_all(root.join(TMP_DIR)).map_err(|e| StoreError::io(root, e))?;
        Ok(LocalStore {
            root: root.to_path_buf(),
            read_only: false,
        })
    }

    /// Opens an existing store folder for reading only (the proxy's way): creates nothing, so
    /// a read-only mount or a folder owned by someone else serves as well as any.
    pub fn open_read_only(root: &Path) -> Result<Self, StoreError> {
        if !root.is_dir() {
            return Err(StoreError::BadUrl {
                url: root.display().to_string(),
                reason: "there is no store folder there to read".into(),
            });
        }
        Ok(LocalStore {
            root: root.to_path_buf(),
            read_only: true,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path_of(&self, key: &str) -> Result<PathBuf, StoreError> {
        let valid = !key.is_empty()
            && !key.starts_with('/')
            && !key.contains('\\')
            && !key.contains('\0')
            && key
                .split('/')
                .all(|segment| !segment.is_empty() && segment != "." && segment != "..")
            && !key.starts_with(TMP_DIR)
            && key != LOCK_FILE;
        if !valid {
            return Err(StoreError::Other {
                key: key.to_string(),
                detail: "not a valid store key".into(),
            });
        }
        Ok(self.root.join(key))
    }

    fn temp_file(&self) -> Result<tempfile::NamedTempFile, StoreError> {
        let dir = self.root.join(TMP_DIR);
        tempfile::NamedTempFile::new_in(&dir).map_err(|e| StoreError::io(dir, e))
    }

    /// Renames a finished temp file over `target`, honouring the condition under the lock.
    fn commit(
        &self,
        key: &str,
        temp: tempfile::NamedTempFile,
        target: &Path,
        condition: &Condition,
    ) -> Result<String, StoreError> {
        let parent = target.parent().expect("keys have a parent");
        std::fs::create_dir_all(parent).map_err(|e| StoreError::io(parent, e))?;
        let _lock = match condition {
            Condition::None => None,
            _ => Some(self.lock()?),
        };
        match condition {
            Condition::None => {}
            Condition::IfNoneMatch => {
                if target.exists() {
                    return Err(StoreError::PreconditionFailed { key: key.into() });
                }
            }
            Condition::IfMatch(expected) => match std::fs::metadata(target) {
                Ok(current) if &version_of(&current) == expected => {}
                Ok(_) => return Err(StoreError::PreconditionFailed { key: key.into() }),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(StoreError::PreconditionFailed { key: key.into() });
                }
                Err(e) => return Err(StoreError::io(target, e)),
            },
        }
        // The tag is read from the file before the rename, while it is ours alone.
        let version = temp
            .as_file()
            .metadata()
            .map(|meta| version_of(&meta))
            .map_err(|e| StoreError::io(temp.path(), e))?;
        temp.persist(target)
            .map_err(|e| StoreError::io(target, e.error))?;
        Ok(version)
    }

    fn lock(&self) -> Result<std::fs::File, StoreError> {
        let path = self.root.join(LOCK_FILE);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| StoreError::io(&path, e))?;
        file.lock().map_err(|e| StoreError::io(&path, e))?;
        Ok(file)
    }

    fn put_blocking(
        &self,
        key: &str,
        body: &[u8],
        options: &PutOptions,
    ) -> Result<String, StoreError> {
        let target = self.path_of(key)?;
        let mut temp = self.temp_file()?;
        temp.write_all(body)
            .and_then(|_| temp.as_file().sync_data())
            .map_err(|e| StoreError::io(temp.path(), e))?;
        let written = self.commit(key, temp, &target, &options.condition)?;
        Ok(written)
    }

    fn put_file_blocking(&self, key: &str, body: &FileBody<'_>) -> Result<(), StoreError> {
        let target = self.path_of(key)?;
        let mut source =
            std::fs::File::open(body.path).map_err(|e| StoreError::io(body.path, e))?;
        let mut temp = self.temp_file()?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 256 * 1024];
        loop {
            let read = source
                .read(&mut buffer)
                .map_err(|e| StoreError::io(body.path, e))?;
            if read == 0 {
                break;
            }
            hasher.update(&buffer[..read]);
            temp.write_all(&buffer[..read])
                .map_err(|e| StoreError::io(temp.path(), e))?;
        }
        if hasher.finalize().as_slice() != body.sha256 {
            return Err(StoreError::ContentChanged {
                path: body.path.display().to_string(),
            });
        }
        temp.as_file()
            .sync_data()
            .map_err(|e| StoreError::io(temp.path(), e))?;
        self.commit(key, temp, &target, &Condition::None).map(drop)
    }

    fn list_blocking(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        // Walk only the deepest folder the prefix names, then filter by the rest.
        let folder = match prefix.rfind('/') {
            Some(end) => self.root.join(&prefix[..end]),
            None => self.root.clone(),
        };
        let mut found = Vec::new();
        let mut pending = vec![folder];
        while let Some(dir) = pending.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(StoreError::io(&dir, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| StoreError::io(&dir, e))?;
                let path = entry.path();
                let Some(key) = self.key_of(&path) else {
                    continue;
                };
                if key.starts_with(TMP_DIR) || key == LOCK_FILE {
                    continue;
                }
                let meta = entry.metadata().map_err(|e| StoreError::io(&path, e))?;
                if meta.is_dir() {
                    pending.push(path);
                } else if key.starts_with(prefix) {
                    found.push(ObjectMeta {
                        key,
                        size: meta.len(),
                        last_modified: meta.modified().ok().map(OffsetDateTime::from),
                    });
                }
            }
        }
        found.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(found)
    }

    fn key_of(&self, path: &Path) -> Option<String> {
        let relative = path.strip_prefix(&self.root).ok()?;
        let parts: Option<Vec<&str>> = relative
            .components()
            .map(|c| c.as_os_str().to_str())
            .collect();
        Some(parts?.join("/"))
    }

    /// Removes folders left empty by a delete, so listings match S3, which has no folders.
    fn prune_empty_parents(&self, mut path: &Path) {
        while let Some(parent) = path.parent() {
            if parent == self.root || std::fs::remove_dir(parent).is_err() {
                break;
            }
            path = parent;
        }
    }
}

/// A version tag from the file's identity: every write renames a new file into place, so a
/// new inode (or, on reuse, a new mtime) marks every version, and no content is read.
pub fn version_of(meta: &std::fs::Metadata) -> String {
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(meta);
    #[cfg(not(unix))]
    let inode = 0u64;
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!("\"{inode:x}-{modified:x}-{:x}\"", meta.len())
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|join| {
            Err(StoreError::Other {
                key: String::new(),
                detail: format!("a store task failed: {join}"),
            })
        })
}

#[async_trait]
impl ReadStore for LocalStore {
    fn url(&self) -> String {
        self.root.display().to_string()
    }

    async fn check(&self) -> Result<(), StoreError> {
        if self.read_only {
            let root = self.root.clone();
            return blocking(move || {
                std::fs::read_dir(&root)
                    .map(drop)
                    .map_err(|e| match e.kind() {
                        std::io::ErrorKind::PermissionDenied => StoreError::AccessDenied {
                            target: root.display().to_string(),
                        },
                        _ => StoreError::io(root, e),
                    })
            })
            .await;
        }
        let probe = self.root.join(TMP_DIR);
        blocking(move || {
            tempfile::tempfile_in(&probe)
                .map(drop)
                .map_err(|e| match e.kind() {
                    std::io::ErrorKind::PermissionDenied => StoreError::AccessDenied {
                        target: probe.display().to_string(),
                    },
                    _ => StoreError::io(probe, e),
                })
        })
        .await
    }

    fn local_file(&self, key: &str) -> Option<PathBuf> {
        self.path_of(key).ok()
    }

    async fn get(&self, key: &str) -> Result<Option<Object>, StoreError> {
        use tokio::io::AsyncReadExt;
        let path = self.path_of(key)?;
        let mut file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::io(path, e)),
        };
        // The tag comes from the open file, so it names exactly the version being read.
        let meta = file
            .metadata()
            .await
            .map_err(|e| StoreError::io(&path, e))?;
        let mut body = Vec::with_capacity(meta.len() as usize);
        file.read_to_end(&mut body)
            .await
            .map_err(|e| StoreError::io(&path, e))?;
        Ok(Some(Object {
            etag: version_of(&meta),
            body: Bytes::from(body),
        }))
    }

    async fn get_stream(
        &self,
        key: &str,
        range: Option<(u64, u64)>,
    ) -> Result<Option<ByteStream>, StoreError> {
        use futures::TryStreamExt;
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        let path = self.path_of(key)?;
        let mut file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::io(path, e)),
        };
        let reader: Box<dyn tokio::io::AsyncRead + Send + Unpin> = match range {
            Some((first, last)) => {
                file.seek(std::io::SeekFrom::Start(first))
                    .await
                    .map_err(|e| StoreError::io(&path, e))?;
                Box::new(file.take(last.saturating_sub(first) + 1))
            }
            None => Box::new(file),
        };
        let stream = tokio_util::io::ReaderStream::with_capacity(reader, super::STREAM_CHUNK)
            .map_err(move |e| StoreError::io(&path, e));
        Ok(Some(Box::pin(stream)))
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, StoreError> {
        let path = self.path_of(key)?;
        match tokio::fs::metadata(&path).await {
            Ok(meta) if meta.is_file() => Ok(Some(ObjectMeta {
                key: key.to_string(),
                size: meta.len(),
                last_modified: meta.modified().ok().map(OffsetDateTime::from),
            })),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io(path, e)),
        }
    }

    async fn list_page(&self, prefix: &str, token: Option<String>) -> Result<ListPage, StoreError> {
        // A folder lists cheaply, so the local store answers in one page.
        if token.is_some() {
            return Ok(ListPage::default());
        }
        let store = self.clone();
        let prefix = prefix.to_string();
        let objects = blocking(move || store.list_blocking(&prefix)).await?;
        Ok(ListPage {
            objects,
            next: None,
        })
    }

    async fn list_children(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let dir = self.root.join(prefix.trim_end_matches('/'));
        let mut names = Vec::new();
        let mut entries = match tokio::fs::read_dir(&dir).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(names),
            Err(e) => return Err(StoreError::io(dir, e)),
        };
        while let Some(entry) = entries
            .next_entry()
            .await
            .map_err(|e| StoreError::io(&dir, e))?
        {
            let is_dir = entry.file_type().await.map(|t| t.is_dir()).unwrap_or(false);
            if let (true, Some(name)) = (is_dir, entry.file_name().to_str())
                && !name.starts_with('.')
            {
                names.push(name.to_string());
            }
        }
        names.sort();
        Ok(names)
    }
}

#[async_trait]
impl Store for LocalStore {
    async fn put(&self, key: &str, body: Bytes, options: PutOptions) -> Result<String, StoreError> {
        let store = self.clone();
        let key = key.to_string();
        blocking(move || store.put_blocking(&key, &body, &options)).await
    }

    async fn put_file(&self, key: &str, body: FileBody<'_>) -> Result<(), StoreError> {
        let store = self.clone();
        let key = key.to_string();
        let path = body.path.to_path_buf();
        let (size, sha256) = (body.size, body.sha256);
        blocking(move || {
            store.put_file_blocking(
                &key,
                &FileBody {
                    path: &path,
                    size,
                    sha256,
                },
            )
        })
        .await
    }

    async fn delete(&self, keys: &[String]) -> Result<(), StoreError> {
        let store = self.clone();
        let keys = keys.to_vec();
        blocking(move || {
            for key in &keys {
                let path = store.path_of(key)?;
                match std::fs::remove_file(&path) {
                    Ok(()) => store.prune_empty_parents(&path),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(StoreError::io(path, e)),
                }
            }
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_read_only_open_creates_nothing_and_reads_what_is_there() {
        let dir = tempfile::tempdir().unwrap();
        let writer = LocalStore::open(dir.path()).unwrap();
        writer
            .put(
                "domains/x.json",
                Bytes::from_static(b"{}"),
                PutOptions::json(),
            )
            .await
            .unwrap();
        std::fs::remove_dir(dir.path().join(TMP_DIR)).unwrap();

        let reader = LocalStore::open_read_only(dir.path()).unwrap();
        reader.check().await.expect("a readable folder passes");
        let object = reader.get("domains/x.json").await.unwrap().unwrap();
        assert_eq!(&object.body[..], b"{}");
        assert!(
            !dir.path().join(TMP_DIR).exists(),
            "reading never makes the writers' temp folder"
        );
        let missing = LocalStore::open_read_only(&dir.path().join("absent"));
        assert!(matches!(missing, Err(StoreError::BadUrl { .. })));
    }
}

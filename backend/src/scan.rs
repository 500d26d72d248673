//! Walking a site folder and hashing its files.
//!
//! What is deployed: every regular file under the folder, dotfiles included (a site may need
//! `.well-known/`), except what `.pierignore` excludes (gitignore syntax, via the `ignore`
//! crate) and the built-in ignores `.git/`, `node_modules/`, `.DS_Store` and `.pierignore`
//! itself, and the serving config files at the top (`pier.json`, `vercel.json`, `_redirects`,
//! `_headers`), which go into the manifest instead. `.gitignore` is not honoured: it often lists the very build output being deployed.
//!
//! Symlinks are never followed out of the folder: a link to a file inside the folder deploys
//! that file's content under the link's path; links that leave the folder, dangle, or point at
//! folders are skipped with a warning. Names that are not UTF-8 are skipped with a warning.

use std::path::{Path, PathBuf};

use futures::StreamExt;
use ignore::WalkBuilder;
use ignore::overrides::OverrideBuilder;
use sha2::{Digest, Sha256};

use crate::error::PierError;
use crate::progress::{Progress, ProgressEvent};

pub const IGNORE_FILE: &str = ".pierignore";
/// Version control, dependencies, OS litter, and the config files read at deploy time (only
/// at the top: a `pier.json` deeper down is content).
const BUILT_IN_IGNORES: [&str; 8] = [
    "!.git/",
    "!node_modules/",
    "!.DS_Store",
    "!.pierignore",
    "!/pier.json",
    "!/vercel.json",
    "!/_redirects",
    "!/_headers",
];
const HASHES_IN_FLIGHT: usize = 8;

/// A file to deploy: where it is read from, and the path it is served under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannedFile {
    pub path: String,
    pub source: PathBuf,
    pub size: u64,
    pub sha256: [u8; 32],
}

impl ScannedFile {
    pub fn sha256_hex(&self) -> String {
        hex::encode(self.sha256)
    }
}

/// Checks that `dir` is an existing, readable folder.
pub fn check_folder(dir: &Path) -> Result<(), PierError> {
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {
            std::fs::read_dir(dir)
                .map(drop)
                .map_err(|source| PierError::Unreadable {
                    path: dir.to_path_buf(),
                    source,
                })
        }
        Ok(_) => Err(PierError::NotAFolder {
            path: dir.to_path_buf(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(PierError::MissingFolder {
            path: dir.to_path_buf(),
        }),
        Err(source) => Err(PierError::Unreadable {
            path: dir.to_path_buf(),
            source,
        }),
    }
}

/// Lists the files to deploy, sorted by path; the sizes are those seen while walking.
pub fn walk(dir: &Path, progress: &Progress) -> Result<Vec<(String, PathBuf, u64)>, PierError> {
    check_folder(dir)?;
    let root = dir.canonicalize().map_err(|source| PierError::Unreadable {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut overrides = OverrideBuilder::new(&root);
    for glob in BUILT_IN_IGNORES {
        overrides.add(glob).expect("built-in globs are valid");
    }
    let walker = WalkBuilder::new(&root)
        .standard_filters(false)
        .hidden(false)
        .follow_links(false)
        .add_custom_ignore_filename(IGNORE_FILE)
        .overrides(overrides.build().expect("built-in globs are valid"))
        .build();
    let warn = |message: String| progress.emit(ProgressEvent::Warning(message));
    let mut files = Vec::new();
    for entry in walker {
        let entry = entry.map_err(|e| walk_error(&root, e))?;
        let Some(file_type) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if file_type.is_dir() {
            continue;
        }
        let relative = path.strip_prefix(&root).expect("walk stays under the root");
        let Some(served) = served_path(relative) else {
            warn(format!(
                "skipped `{}`: its name is not valid UTF-8",
                relative.display()
            ));
            continue;
        };
        let source = if file_type.is_symlink() {
            match path.canonicalize() {
                Ok(target) if !target.starts_with(&root) => {
                    warn(format!("skipped `{served}`: it links outside the folder"));
                    continue;
                }
                Ok(target) if target.is_dir() => {
                    warn(format!("skipped `{served}`: it links to a folder"));
                    continue;
                }
                Ok(target) => target,
                Err(_) => {
                    warn(format!(
                        "skipped `{served}`: its link target does not exist"
                    ));
                    continue;
                }
            }
        } else if file_type.is_file() {
            path.to_path_buf()
        } else {
            warn(format!("skipped `{served}`: not a regular file"));
            continue;
        };
        let size = std::fs::metadata(&source)
            .map_err(|source_error| PierError::Unreadable {
                path: path.to_path_buf(),
                source: source_error,
            })?
            .len();
        files.push((served, source, size));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(files)
}

/// Lists every file of a function bundle under `dir`, sorted by path: no ignore rules (an
/// adapter put exactly what the function needs there, `node_modules/` included), and links
/// followed as long as they resolve inside `limit` (packages linked by pnpm, `.func` folders
/// linked by adapters); a link that leaves it is skipped with a warning.
pub fn walk_bundle(
    dir: &Path,
    limit: &Path,
    progress: &Progress,
) -> Result<Vec<(String, PathBuf, u64)>, PierError> {
    check_folder(dir)?;
    let unreadable = |path: &Path, source| PierError::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    let root = dir.canonicalize().map_err(|e| unreadable(dir, e))?;
    let limit = limit.canonicalize().map_err(|e| unreadable(limit, e))?;
    let walker = WalkBuilder::new(&root)
        .standard_filters(false)
        .hidden(false)
        .follow_links(true)
        .build();
    let mut files = Vec::new();
    for entry in walker {
        let entry = entry.map_err(|e| walk_error(&root, e))?;
        if !entry.file_type().is_some_and(|kind| kind.is_file()) {
            continue;
        }
        let path = entry.path();
        let relative = path.strip_prefix(&root).expect("walk stays under the root");
        let Some(served) = served_path(relative) else {
            progress.emit(ProgressEvent::Warning(format!(
                "skipped `{}`: its name is not valid UTF-8",
                relative.display()
            )));
            continue;
        };
        let source = path.canonicalize().map_err(|e| unreadable(path, e))?;
        if !source.starts_with(&limit) {
            progress.emit(ProgressEvent::Warning(format!(
                "skipped `{served}` in a function: it links outside the folder"
            )));
            continue;
        }
        let size = std::fs::metadata(&source)
            .map_err(|e| unreadable(path, e))?
            .len();
        files.push((served, source, size));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(files)
}

/// Remembers file hashes by path, size, times and inode, so a watched folder re-hashes only
/// what changed. Entries whose mtime is within [`RACY_WINDOW`] of when they were hashed are not
/// trusted later (git's "racy" rule): a write in the same clock tick could keep the same
/// metadata. Whatever a cached hash says, every uploaded blob is verified against its content.
#[derive(Debug, Default)]
pub struct HashCache {
    entries: std::sync::Mutex<std::collections::HashMap<PathBuf, (FileStamp, [u8; 32])>>,
}

pub const RACY_WINDOW: std::time::Duration = std::time::Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct FileStamp {
    size: u64,
    modified: Option<std::time::SystemTime>,
    changed: i64,
    inode: u64,
}

impl FileStamp {
    fn of(path: &Path) -> Option<FileStamp> {
        let meta = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        let (changed, inode) = {
            use std::os::unix::fs::MetadataExt;
            (meta.ctime() * 1_000_000_000 + meta.ctime_nsec(), meta.ino())
        };
        #[cfg(not(unix))]
        let (changed, inode) = (0, 0);
        Some(FileStamp {
            size: meta.len(),
            modified: meta.modified().ok(),
            changed,
            inode,
        })
    }
}

impl HashCache {
    fn lookup(&self, path: &Path) -> Option<([u8; 32], u64)> {
        let stamp = FileStamp::of(path)?;
        let entries = self.entries.lock().expect("not poisoned");
        let (cached, hash) = entries.get(path)?;
        (*cached == stamp).then_some((*hash, stamp.size))
    }

    fn remember(&self, path: &Path, hash: [u8; 32], before: Option<FileStamp>) {
        let (Some(before), Some(after)) = (before, FileStamp::of(path)) else {
            return;
        };
        let settled = after.modified.is_some_and(|modified| {
            std::time::SystemTime::now()
                .duration_since(modified)
                .is_ok_and(|age| age > RACY_WINDOW)
        });
        let mut entries = self.entries.lock().expect("not poisoned");
        if before == after && settled {
            entries.insert(path.to_path_buf(), (after, hash));
        } else {
            entries.remove(path);
        }
    }

    /// The cache saved for `dir` by an earlier run (empty when there is none or it is unreadable:
    /// it only saves time).
    pub fn load_for(dir: &Path) -> HashCache {
        let entries = Self::file_for(dir)
            .and_then(|file| std::fs::read(file).ok())
            .and_then(|body| {
                serde_json::from_slice::<Vec<(PathBuf, FileStamp, String)>>(&body).ok()
            })
            .map(|rows| {
                rows.into_iter()
                    .filter_map(|(path, stamp, hash)| {
                        let mut bytes = [0u8; 32];
                        hex::decode_to_slice(&hash, &mut bytes).ok()?;
                        Some((path, (stamp, bytes)))
                    })
                    .collect()
            })
            .unwrap_or_default();
        HashCache {
            entries: std::sync::Mutex::new(entries),
        }
    }

    /// Saves the cache for the next run over `dir`; failures are ignored (it only saves time).
    pub fn save_for(&self, dir: &Path) {
        let Some(file) = Self::file_for(dir) else {
            return;
        };
        let rows: Vec<(PathBuf, FileStamp, String)> = self
            .entries
            .lock()
            .expect("not poisoned")
            .iter()
            .map(|(path, (stamp, hash))| (path.clone(), *stamp, hex::encode(hash)))
            .collect();
        let Some(parent) = file.parent() else { return };
        if std::fs::create_dir_all(parent).is_err() {
            return;
        }
        let Ok(temp) = tempfile::NamedTempFile::new_in(parent) else {
            return;
        };
        let mut writer = std::io::BufWriter::new(temp);
        if serde_json::to_writer(&mut writer, &rows).is_ok()
            && let Ok(temp) = writer.into_inner()
        {
            let _ = temp.persist(&file);
        }
    }

    /// `<cache dir>/pier/hashes/<digest of the folder's path>.json`.
    fn file_for(dir: &Path) -> Option<PathBuf> {
        let dir = dir.canonicalize().ok()?;
        let digest = Sha256::digest(dir.as_os_str().as_encoded_bytes());
        Some(
            dirs::cache_dir()?
                .join("pier")
                .join("hashes")
                .join(format!("{}.json", &hex::encode(digest)[..24])),
        )
    }

    /// How many files have a trusted hash.
    pub fn len(&self) -> usize {
        self.entries.lock().expect("not poisoned").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Hashes the walked files, a few at a time off the async threads, reusing `cache` hits.
pub async fn hash_all(
    files: Vec<(String, PathBuf, u64)>,
    cache: Option<std::sync::Arc<HashCache>>,
    progress: &Progress,
) -> Result<Vec<ScannedFile>, PierError> {
    // Cache hits cost one stat each: check them all in one blocking task, not a task a file.
    let (mut hashed, misses) = match cache.clone() {
        Some(cache) => tokio::task::spawn_blocking(move || {
            let mut hits = Vec::new();
            let mut misses = Vec::new();
            for (path, source, size) in files {
                match cache.lookup(&source) {
                    Some((sha256, size)) => hits.push(ScannedFile {
                        path,
                        source,
                        size,
                        sha256,
                    }),
                    None => misses.push((path, source, size)),
                }
            }
            (hits, misses)
        })
        .await
        .expect("cache lookups do not panic"),
        None => (Vec::new(), files),
    };
    for hit in &hashed {
        progress.emit(ProgressEvent::Hashed { bytes: hit.size });
    }
    let fresh: Vec<ScannedFile> = futures::stream::iter(misses)
        .map(|(path, source, _)| {
            let cache = cache.clone();
            async move {
                tokio::task::spawn_blocking(move || {
                    let before = cache.as_ref().and_then(|_| FileStamp::of(&source));
                    let (sha256, size) = hash_file(&source)?;
                    if let Some(cache) = &cache {
                        cache.remember(&source, sha256, before);
                    }
                    Ok::<_, PierError>(ScannedFile {
                        path,
                        source,
                        size,
                        sha256,
                    })
                })
                .await
                .expect("hashing does not panic")
            }
        })
        .buffer_unordered(HASHES_IN_FLIGHT)
        .map(|result| {
            if let Ok(file) = &result {
                progress.emit(ProgressEvent::Hashed { bytes: file.size });
            }
            result
        })
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    hashed.extend(fresh);
    hashed.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(hashed)
}

/// SHA-256 and length of a file, read in 256 KiB chunks.
pub fn hash_file(path: &Path) -> Result<([u8; 32], u64), PierError> {
    use std::io::Read;
    let unreadable = |source| PierError::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(unreadable)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let read = file.read(&mut buffer).map_err(unreadable)?;
        if read == 0 {
            return Ok((hasher.finalize().into(), size));
        }
        size += read as u64;
        hasher.update(&buffer[..read]);
    }
}

fn served_path(relative: &Path) -> Option<String> {
    let parts: Option<Vec<&str>> = relative
        .components()
        .map(|component| component.as_os_str().to_str())
        .collect();
    Some(parts?.join("/"))
}

fn walk_error(root: &Path, error: ignore::Error) -> PierError {
    let mut path = root.to_path_buf();
    let mut current = &error;
    loop {
        match current {
            ignore::Error::WithPath { path: at, err } => {
                path = at.clone();
                current = err;
            }
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                current = err;
            }
            ignore::Error::Io(io) => {
                return PierError::Unreadable {
                    path,
                    source: std::io::Error::new(io.kind(), io.to_string()),
                };
            }
            other => {
                return PierError::Unreadable {
                    path,
                    source: std::io::Error::other(other.to_string()),
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, relative: &str, body: &str) {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }

    fn served(dir: &Path) -> (Vec<String>, Vec<String>) {
        let warnings = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = warnings.clone();
        let progress = Progress::new(move |event| {
            if let ProgressEvent::Warning(w) = event {
                sink.lock().unwrap().push(w);
            }
        });
        let paths = walk(dir, &progress)
            .unwrap()
            .into_iter()
            .map(|(path, _, _)| path)
            .collect();
        let warnings = warnings.lock().unwrap().clone();
        (paths, warnings)
    }

    #[test]
    fn honours_pierignore_and_built_in_ignores_but_keeps_dotfiles() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "index.html", "hi");
        write(root, ".well-known/security.txt", "x");
        write(root, ".git/HEAD", "ref");
        write(root, "node_modules/a/index.js", "x");
        write(root, "deep/node_modules/b.js", "x");
        write(root, ".DS_Store", "x");
        write(root, "drafts/post.md", "x");
        write(root, "notes.log", "x");
        write(root, ".gitignore", "index.html\n");
        write(root, ".pierignore", "drafts/\n*.log\n");
        let (paths, _) = served(root);
        assert_eq!(
            paths,
            [".gitignore", ".well-known/security.txt", "index.html"]
        );
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_never_lead_out_of_the_folder() {
        let outside = tempfile::tempdir().unwrap();
        write(outside.path(), "secret.txt", "secret");
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "real.txt", "real");
        write(root, "sub/page.html", "page");
        std::os::unix::fs::symlink(root.join("real.txt"), root.join("alias.txt")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret.txt"), root.join("leak.txt"))
            .unwrap();
        std::os::unix::fs::symlink(root.join("sub"), root.join("folder-link")).unwrap();
        std::os::unix::fs::symlink(root.join("gone"), root.join("dangling")).unwrap();
        std::os::unix::fs::symlink(root, root.join("sub/loop")).unwrap();
        let (paths, warnings) = served(root);
        assert_eq!(paths, ["alias.txt", "real.txt", "sub/page.html"]);
        let joined = warnings.join("\n");
        assert!(joined.contains("`leak.txt`: it links outside"), "{joined}");
        assert!(
            joined.contains("`folder-link`: it links to a folder"),
            "{joined}"
        );
        assert!(joined.contains("`dangling`"), "{joined}");
        assert!(joined.contains("`sub/loop`"), "{joined}");
    }

    #[test]
    fn missing_and_non_folders_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        assert!(matches!(
            check_folder(&missing),
            Err(PierError::MissingFolder { .. })
        ));
        write(dir.path(), "file.txt", "x");
        assert!(matches!(
            check_folder(&dir.path().join("file.txt")),
            Err(PierError::NotAFolder { .. })
        ));
    }
}

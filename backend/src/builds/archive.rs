//! Source archives: a dropped source folder travels to a remote builder as one gzipped tar,
//! content-addressed in the store as `sources/<sha256>.tar.gz`, so uploading the same tree
//! twice costs one HEAD.
//!
//! Packing honours `.gitignore`, `.pierignore` and skips `node_modules` and `.git` (the
//! builder installs and never needs history). Symlinks travel as symlinks. Unpacking goes
//! through `tar`'s `unpack`, which refuses absolute paths, `..` and writes through symlinks
//! that lead outside the target folder, so a hostile archive cannot escape the checkout.

use std::io::Write;
use std::path::{Path, PathBuf};

use futures::StreamExt;
use ignore::WalkBuilder;

use crate::error::PierError;
use crate::store::{FileBody, Store};

/// Source archives larger than this are refused: a source tree that big almost always carries
/// build output or dependencies that belong in `.gitignore`.
pub const MAX_ARCHIVE_BYTES: u64 = 512 * 1024 * 1024;

/// Folders never sent to a builder, whatever the ignore files say.
const NEVER_PACKED: [&str; 2] = ["node_modules", ".git"];

pub fn archive_key(sha256_hex: &str) -> String {
    format!("sources/{sha256_hex}.tar.gz")
}

/// A packed source tree on local disk.
pub struct PackedSource {
    pub file: tempfile::NamedTempFile,
    pub size: u64,
    pub sha256: [u8; 32],
    pub files: usize,
}

impl PackedSource {
    pub fn key(&self) -> String {
        archive_key(&hex::encode(self.sha256))
    }
}

/// Packs `dir` into a temporary tar.gz.
pub fn pack(dir: &Path) -> Result<PackedSource, PierError> {
    crate::scan::check_folder(dir)?;
    let root = dir.to_path_buf();
    let unreadable = |path: &Path, source: std::io::Error| PierError::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    let file = tempfile::NamedTempFile::new().map_err(|e| unreadable(dir, e))?;
    let encoder = flate2::write::GzEncoder::new(
        std::io::BufWriter::new(file.reopen().map_err(|e| unreadable(dir, e))?),
        flate2::Compression::fast(),
    );
    let mut builder = tar::Builder::new(encoder);
    builder.follow_symlinks(false);
    let walker = WalkBuilder::new(&root)
        .hidden(false)
        .git_ignore(true)
        .git_global(false)
        .git_exclude(false)
        .require_git(false)
        .add_custom_ignore_filename(crate::scan::IGNORE_FILE)
        .filter_entry(|entry| {
            !NEVER_PACKED
                .iter()
                .any(|name| entry.file_name() == std::ffi::OsStr::new(name))
        })
        .sort_by_file_name(|a, b| a.cmp(b))
        .build();
    let mut files = 0;
    for entry in walker {
        let entry = entry.map_err(|e| unreadable(&root, std::io::Error::other(e.to_string())))?;
        let path = entry.path();
        let Ok(relative) = path.strip_prefix(&root) else {
            continue;
        };
        if relative.as_os_str().is_empty() {
            continue;
        }
        let kind = entry.file_type();
        if kind.is_some_and(|k| k.is_dir()) {
            builder
                .append_dir(relative, path)
                .map_err(|e| unreadable(path, e))?;
        } else {
            builder
                .append_path_with_name(path, relative)
                .map_err(|e| unreadable(path, e))?;
            files += 1;
        }
    }
    let encoder = builder.into_inner().map_err(|e| unreadable(dir, e))?;
    let mut writer = encoder.finish().map_err(|e| unreadable(dir, e))?;
    writer.flush().map_err(|e| unreadable(dir, e))?;
    drop(writer);
    let (sha256, size) = crate::scan::hash_file(file.path())?;
    if size > MAX_ARCHIVE_BYTES {
        return Err(PierError::SourceTooLarge {
            path: root,
            bytes: size,
        });
    }
    Ok(PackedSource {
        file,
        size,
        sha256,
        files,
    })
}

/// Packs `dir` and uploads it unless the store already holds the same archive; returns its key.
pub async fn upload(store: &dyn Store, dir: &Path) -> Result<String, PierError> {
    let dir = dir.to_path_buf();
    let packed = tokio::task::spawn_blocking(move || pack(&dir))
        .await
        .expect("packing does not panic")?;
    let key = packed.key();
    if store.head(&key).await?.is_none() {
        store
            .put_file(
                &key,
                FileBody {
                    path: packed.file.path(),
                    size: packed.size,
                    sha256: packed.sha256,
                },
            )
            .await?;
    }
    Ok(key)
}

/// Downloads the archive at `key` and unpacks it into `into` (created if needed).
pub async fn download(store: &dyn Store, key: &str, into: &Path) -> Result<(), PierError> {
    let Some(mut body) = store.get_stream(key, None).await? else {
        return Err(PierError::BuildFailed {
            step: "fetch the source".into(),
            detail: format!("the store has no source archive `{key}` (was it removed?)"),
        });
    };
    let unwritable = |source: std::io::Error| PierError::Unreadable {
        path: std::env::temp_dir(),
        source,
    };
    let local = tempfile::NamedTempFile::new().map_err(unwritable)?;
    let mut writer = std::io::BufWriter::new(local.reopen().map_err(unwritable)?);
    while let Some(chunk) = body.next().await {
        writer.write_all(&chunk?).map_err(unwritable)?;
    }
    writer.flush().map_err(unwritable)?;
    drop(writer);
    let into: PathBuf = into.to_path_buf();
    let key = key.to_string();
    tokio::task::spawn_blocking(move || unpack(local.path(), &into, &key))
        .await
        .expect("unpacking does not panic")
}

fn unpack(archive: &Path, into: &Path, key: &str) -> Result<(), PierError> {
    let corrupt = |detail: String| PierError::Corrupt {
        key: key.to_string(),
        detail,
    };
    std::fs::create_dir_all(into).map_err(|e| corrupt(e.to_string()))?;
    let file = std::fs::File::open(archive).map_err(|e| corrupt(e.to_string()))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file)));
    tar.set_preserve_permissions(true);
    tar.set_overwrite(true);
    tar.unpack(into).map_err(|e| corrupt(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_skips_dependencies_history_and_ignored_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (path, body) in [
            ("package.json", "{}"),
            ("src/main.js", "x"),
            ("src/héllo wörld.txt", "unicode"),
            (".npmrc", "registry=x"),
            (".gitignore", "dist/\n"),
            ("dist/app.js", "built"),
            ("node_modules/left-pad/index.js", "dep"),
            (".git/HEAD", "ref"),
        ] {
            std::fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
            std::fs::write(root.join(path), body).unwrap();
        }
        let packed = pack(root).unwrap();
        let out = tempfile::tempdir().unwrap();
        unpack(packed.file.path(), out.path(), "test").unwrap();
        let mut found: Vec<String> = walkdir(out.path());
        found.sort();
        assert_eq!(
            found,
            [
                ".gitignore",
                ".npmrc",
                "package.json",
                "src/héllo wörld.txt",
                "src/main.js"
            ]
        );
        assert_eq!(packed.files, 5);
        // Same tree, same address.
        assert_eq!(pack(root).unwrap().sha256, packed.sha256);
    }

    fn walkdir(root: &Path) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    out.push(
                        path.strip_prefix(root)
                            .unwrap()
                            .to_string_lossy()
                            .into_owned(),
                    );
                }
            }
        }
        out
    }
}

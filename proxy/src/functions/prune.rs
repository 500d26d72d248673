//! Keeps the local runtime's work folder from growing for ever: a bundle copy no process has
//! started from for [`super::local::LocalConfig::keep_unused`] is deleted (a later request
//! copies it again from the store), and so is a `.copying-*` folder a killed proxy left half
//! way. A copy's `.pier-complete` marker is touched each time a process starts from it, so its
//! time says when it was last used; copies of bundles with a process are never touched.

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// Written last into a copied bundle: a folder without it is not used. Its time says when a
/// process last started from the copy.
pub const COMPLETE: &str = ".pier-complete";

/// How old a `.copying-*` folder must be to be someone's leftover, not a copy in progress.
const ABANDONED_COPY: Duration = Duration::from_secs(3600);

/// Records that a process starts from the bundle copy in `dir` now.
pub fn mark_used(dir: &Path) {
    if let Ok(marker) = std::fs::File::options()
        .write(true)
        .open(dir.join(COMPLETE))
    {
        let _ = marker.set_modified(SystemTime::now());
    }
}

/// Deletes copies unused for `keep` (not those named in `in_use`) and abandoned partial
/// copies; says how many folders went.
pub fn prune(work_dir: &Path, keep: Duration, in_use: &HashSet<String>) -> usize {
    let Ok(entries) = std::fs::read_dir(work_dir) else {
        return 0;
    };
    let now = SystemTime::now();
    let older_than = |path: &Path, limit: Duration| {
        std::fs::metadata(path)
            .and_then(|meta| meta.modified())
            .is_ok_and(|at| now.duration_since(at).unwrap_or_default() > limit)
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !path.is_dir() || name == "logs" {
            continue;
        }
        let stale = if name.starts_with(".copying-") {
            older_than(&path, ABANDONED_COPY)
        } else if is_bundle_id(&name) && !in_use.contains(&name) {
            let marker = path.join(COMPLETE);
            let dated = if marker.exists() {
                marker
            } else {
                path.clone()
            };
            older_than(&dated, keep)
        } else {
            false
        };
        if stale && std::fs::remove_dir_all(&path).is_ok() {
            tracing::info!(target: "pier_proxy::function", folder = %path.display(), "removed an unused bundle copy");
            removed += 1;
        }
    }
    removed
}

/// A bundle id is a SHA-256 in hex: nothing else in the folder is ever taken for one.
fn is_bundle_id(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

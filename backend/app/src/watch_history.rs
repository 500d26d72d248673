//! Each watched folder's recent deploys, kept on disk (`watch-history.json` beside
//! `watches.json`) so the Watch screen shows them again after a restart. Newest first, a
//! bounded number per folder; a folder that stops being watched loses its history. Written
//! whole through a temporary file and a rename, so a crash never leaves half a file, and an
//! unreadable file is only an empty history (the watches themselves are in `watches.json`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Deploys kept per folder.
pub const KEPT: usize = 20;

pub use pier_wire::watches::WatchDeploy;

/// `watch-history.json` beside the watch list.
pub fn path_beside(list_file: &Path) -> PathBuf {
    list_file.with_file_name("watch-history.json")
}

pub struct WatchHistory {
    file: PathBuf,
    /// Folder → deploys, newest first; the file's content.
    folders: Mutex<BTreeMap<String, Vec<WatchDeploy>>>,
}

impl WatchHistory {
    pub fn open(file: PathBuf) -> WatchHistory {
        let folders = match std::fs::read(&file) {
            Ok(body) => serde_json::from_slice(&body).unwrap_or_else(|error| {
                tracing::warn!(%error, file = %file.display(), "watch history unreadable; starting empty");
                BTreeMap::new()
            }),
            Err(_) => BTreeMap::new(),
        };
        WatchHistory {
            file,
            folders: Mutex::new(folders),
        }
    }

    pub fn of(&self, dir: &str) -> Vec<WatchDeploy> {
        self.folders
            .lock()
            .expect("not poisoned")
            .get(dir)
            .cloned()
            .unwrap_or_default()
    }

    /// Records a deploy and returns the folder's history, newest first.
    pub fn record(&self, dir: &str, deploy: WatchDeploy) -> Vec<WatchDeploy> {
        let mut folders = self.folders.lock().expect("not poisoned");
        let history = folders.entry(dir.to_string()).or_default();
        history.insert(0, deploy);
        history.truncate(KEPT);
        let shown = history.clone();
        self.save(&folders);
        shown
    }

    pub fn forget(&self, dir: &str) {
        let mut folders = self.folders.lock().expect("not poisoned");
        if folders.remove(dir).is_some() {
            self.save(&folders);
        }
    }

    /// A history that cannot be saved is a warning, not a failed deploy.
    fn save(&self, folders: &BTreeMap<String, Vec<WatchDeploy>>) {
        let written = (|| -> std::io::Result<()> {
            let parent = self.file.parent().unwrap_or(Path::new("."));
            std::fs::create_dir_all(parent)?;
            let mut temp = tempfile::NamedTempFile::new_in(parent)?;
            serde_json::to_writer(&mut temp, folders)?;
            temp.persist(&self.file).map_err(|e| e.error)?;
            Ok(())
        })();
        if let Err(error) = written {
            tracing::warn!(%error, file = %self.file.display(), "watch history not saved");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deploy(n: usize) -> WatchDeploy {
        WatchDeploy {
            deployment: format!("d{n}"),
            preview_url: format!("http://site-{n}.localhost:4800"),
            at_ms: n as i64,
            changes: 1,
            save_to_live_ms: 90,
        }
    }

    #[test]
    fn history_survives_a_reopen_newest_first_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let file = path_beside(&dir.path().join("watches.json"));
        let history = WatchHistory::open(file.clone());
        for n in 0..KEPT + 5 {
            history.record("/sites/blog", deploy(n));
        }
        history.record("/sites/shop", deploy(99));
        let reopened = WatchHistory::open(file.clone());
        let blog = reopened.of("/sites/blog");
        assert_eq!(blog.len(), KEPT);
        assert_eq!(blog[0].deployment, format!("d{}", KEPT + 4));
        reopened.forget("/sites/blog");
        let again = WatchHistory::open(file.clone());
        assert!(again.of("/sites/blog").is_empty());
        assert_eq!(again.of("/sites/shop")[0].deployment, "d99");
        // A damaged file is an empty history, not an error.
        std::fs::write(&file, b"{not json").unwrap();
        assert!(WatchHistory::open(file).of("/sites/shop").is_empty());
    }
}

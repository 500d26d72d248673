//! A deployment ready to serve: its manifest plus a path index, built once per deployment and
//! shared by every request (manifests are immutable, so it never goes stale).

use std::collections::HashMap;

use pier_core::manifest::{FileEntry, Manifest};

#[derive(Debug)]
pub struct Site {
    pub manifest: Manifest,
    by_path: HashMap<String, usize>,
}

impl Site {
    pub fn new(manifest: Manifest) -> Site {
        let by_path = manifest
            .files
            .iter()
            .enumerate()
            .map(|(index, file)| (file.path.clone(), index))
            .collect();
        Site { manifest, by_path }
    }

    /// The file at a manifest path (relative, no leading `/`).
    pub fn file(&self, path: &str) -> Option<&FileEntry> {
        self.by_path
            .get(path)
            .map(|&index| &self.manifest.files[index])
    }
}

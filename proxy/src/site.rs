//! A deployment ready to serve: its manifest, a path index and its compiled routes, built once
//! per deployment and shared by every request (manifests are immutable, so it never goes
//! stale).

use std::collections::HashMap;

use pier_core::manifest::{FileEntry, Manifest};
use pier_core::routes::{FileLookup, Router};

#[derive(Debug)]
pub struct Site {
    pub manifest: Manifest,
    pub router: Router,
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
        // Deploys compile every route before a manifest is written, so this fails only for a
        // manifest edited by hand; its files are then served without routes.
        let router = Router::new(&manifest.config.route_table()).unwrap_or_else(|error| {
            tracing::warn!(%error, deployment = %manifest.id, "routes do not compile; serving files only");
            Router::default()
        });
        Site {
            manifest,
            router,
            by_path,
        }
    }

    /// The file at a manifest path (relative, no leading `/`).
    pub fn file(&self, path: &str) -> Option<&FileEntry> {
        self.by_path
            .get(path)
            .map(|&index| &self.manifest.files[index])
    }
}

impl<'a> FileLookup for &'a Site {
    type File = &'a FileEntry;

    fn file(&self, path: &str) -> Option<&'a FileEntry> {
        Site::file(self, path)
    }
}

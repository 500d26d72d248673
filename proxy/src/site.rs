//! A deployment ready to serve: its manifest, a path index and its compiled routes, built once
//! per deployment and shared by every request (manifests are immutable, so it never goes
//! stale). Its functions are part of its filesystem, as in Vercel's: a path names a file or a
//! function, and files win.

use std::collections::HashMap;

use pier_core::functions::FunctionBundle;
use pier_core::manifest::{FileEntry, Manifest};
use pier_core::routes::{FileLookup, Router};

#[derive(Debug)]
pub struct Site {
    pub manifest: Manifest,
    pub router: Router,
    by_path: HashMap<String, usize>,
}

/// What a path names in a deployment.
#[derive(Debug, Clone, Copy)]
pub enum Served<'a> {
    File(&'a FileEntry),
    Function {
        path: &'a str,
        bundle_id: &'a str,
        bundle: &'a FunctionBundle,
    },
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

    /// The file or function at a path (relative, no leading `/`).
    pub fn served(&self, path: &str) -> Option<Served<'_>> {
        if let Some(file) = self.file(path) {
            return Some(Served::File(file));
        }
        let (path, bundle_id) = self.manifest.functions.get_key_value(path)?;
        let bundle = self.manifest.bundles.get(bundle_id)?;
        Some(Served::Function {
            path,
            bundle_id,
            bundle,
        })
    }
}

impl<'a> FileLookup for &'a Site {
    type File = Served<'a>;

    fn file(&self, path: &str) -> Option<Served<'a>> {
        Site::served(self, path)
    }
}

//! Which files a deploy reads: the static files to serve, and each planned function's bundle
//! (a Build Output `.func` folder whole, a zero-config function's entry with the helpers and
//! data under `api/`, or a compiled function's one module with the data), checked before
//! anything is hashed or sent.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::error::PierError;
use crate::functions::{self, BundleFiles, FunctionsError, SitePlan};
use crate::progress::Progress;
use crate::scan;

/// Refuses, before anything is hashed or sent, a function whose handler is not among its files
/// or that is over Lambda's size limit.
pub(super) fn check_bundles(
    plan: &SitePlan,
    walks: &[Vec<(String, PathBuf, u64)>],
) -> Result<(), PierError> {
    for (planned, walked) in plan.functions.iter().zip(walks) {
        let function = planned.paths.first().cloned().unwrap_or_default();
        let handler = &planned.settings.handler;
        if !walked.iter().any(|(path, _, _)| path == handler) {
            return Err(FunctionsError::MissingHandler {
                function,
                handler: handler.clone(),
            }
            .into());
        }
        let bytes: u64 = walked.iter().map(|(_, _, size)| size).sum();
        if bytes > functions::MAX_BUNDLE_BYTES {
            return Err(FunctionsError::TooLarge { function, bytes }.into());
        }
    }
    Ok(())
}

/// The static files to serve, and each planned function's files (paths relative to its
/// bundle), as walked.
#[allow(clippy::type_complexity)]
pub(super) fn walk_plan(
    plan: &SitePlan,
    limit: &Path,
    progress: &Progress,
) -> Result<
    (
        Vec<(String, PathBuf, u64)>,
        Vec<Vec<(String, PathBuf, u64)>>,
    ),
    PierError,
> {
    // A Build Output with functions only has no `static/`.
    let walked = if plan.static_root.exists() || plan.functions.is_empty() {
        scan::walk(&plan.static_root, progress)?
    } else {
        Vec::new()
    };
    let entries: HashSet<&str> = plan
        .functions
        .iter()
        .filter(|function| function.files == BundleFiles::ApiFolder)
        .map(|function| function.settings.handler.as_str())
        .collect();
    // A built project's functions are beside its output, not in it.
    let beside =
        match plan.functions.iter().find(|function| {
            function.files != BundleFiles::All && function.root != plan.static_root
        }) {
            Some(function) => walk_api_folder(&function.root, progress)?,
            None => Vec::new(),
        };
    let mut bundles = Vec::with_capacity(plan.functions.len());
    for function in &plan.functions {
        let api_files = if function.root == plan.static_root {
            walked.iter()
        } else {
            beside.iter()
        };
        bundles.push(match &function.files {
            BundleFiles::All => scan::walk_bundle(&function.root, limit, progress)?
                .into_iter()
                .filter(|(path, _, _)| path != ".vc-config.json")
                .collect(),
            BundleFiles::ApiFolder => api_files
                .filter(|(path, _, _)| {
                    functions::zero_config::in_bundle(path, &function.settings.handler, &entries)
                })
                .cloned()
                .collect(),
            BundleFiles::Compiled { module } => {
                let size = std::fs::metadata(module)
                    .map_err(|source| PierError::Unreadable {
                        path: module.clone(),
                        source,
                    })?
                    .len();
                let mut files: Vec<_> = api_files
                    .filter(|(path, _, _)| functions::zero_config::carried_when_compiled(path))
                    .cloned()
                    .collect();
                files.push((function.settings.handler.clone(), module.clone(), size));
                files.sort_by(|a, b| a.0.cmp(&b.0));
                files
            }
        });
    }
    let served = match plan.functions_folder {
        Some(folder) => walked
            .into_iter()
            .filter(|(path, _, _)| {
                path.strip_prefix(folder)
                    .is_none_or(|rest| !rest.starts_with('/'))
            })
            .collect(),
        None => walked,
    };
    Ok((served, bundles))
}

/// The top `package.json` and the files under `api/` of a project, as a static walk names
/// them.
fn walk_api_folder(
    root: &Path,
    progress: &Progress,
) -> Result<Vec<(String, PathBuf, u64)>, PierError> {
    let mut files: Vec<(String, PathBuf, u64)> =
        scan::walk(&root.join(functions::zero_config::API_FOLDER), progress)?
            .into_iter()
            .map(|(path, source, size)| (format!("api/{path}"), source, size))
            .collect();
    let package = root.join("package.json");
    if let Ok(meta) = std::fs::metadata(&package) {
        files.push(("package.json".into(), package, meta.len()));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(files)
}

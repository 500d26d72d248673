//! Server code in a deployment: which functions a site folder holds, found at deploy time.
//!
//! Two sources, tried in this order:
//! - **Vercel's Build Output API v3**, a stated subset ([`build_output`]): a folder with
//!   `.vercel/output/config.json` (or a folder that is such an output itself) is deployed from
//!   it: `static/` as files, `functions/<path>.func/` as Node functions, `config.json`'s routes
//!   as the route list.
//! - **Zero-config `api/`** ([`zero_config`]): each `.js`, `.mjs`, `.cjs` or `.ts` file under
//!   `api/` answers `/api/<name>`, and `api/` itself is not served as files. A built project's
//!   `api/` is at its root, beside the output folder. TypeScript, and functions that import
//!   npm packages, are compiled with esbuild at deploy time ([`compile`]).
//!
//! A function's files are content-addressed blobs like any other file. Its bundle (the files,
//! the handler and the runtime settings) is named by the hash of its description
//! ([`FunctionBundle::id`]), so a redeploy that changes nothing in a function uploads nothing
//! for it and lands on the same warm process (and, on AWS, the same Lambda version).

pub mod build_output;
pub mod compile;
pub mod esbuild;
pub mod log;
pub mod npm;
pub mod runtime;
#[cfg(test)]
mod tests;
pub mod zero_config;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use crate::manifest::{FunctionBundle, FunctionSettings};
use crate::routes::{Phase, Route, RouteEntry, RouteTable};
use crate::site_config::SiteConfig;

/// Lambda's limit on a function's unzipped size; the local runtime keeps it so that what runs
/// here also deploys there.
pub const MAX_BUNDLE_BYTES: u64 = 250 * 1024 * 1024;
/// How long a function may take when its config does not say (Vercel's long-standing default
/// for its free plan; Lambda's own default of 3 s is too short for server-rendered pages).
pub const DEFAULT_MAX_DURATION_SECS: u32 = 10;
pub const DEFAULT_MEMORY_MB: u32 = 1024;
/// The Node runtime functions get when their config does not name one.
pub const DEFAULT_RUNTIME: &str = "nodejs20.x";

/// Which files of a bundle folder belong to the bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BundleFiles {
    /// All of them but `.vc-config.json` (a Build Output function folder).
    All,
    /// The top `package.json` (which says whether `.js` is an ES module), the function's own
    /// file and the files under `api/` that are no function's entry (helpers, data).
    ApiFolder,
    /// A zero-config function compiled to one module (`module`, outside the site folder),
    /// with the files under `api/` that are not code (data it reads at run time).
    Compiled { module: PathBuf },
}

/// A function found at deploy time, before its files are hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFunction {
    /// The paths it answers (relative, no leading `/`); more than one when an output links
    /// several `.func` names to one folder.
    pub paths: Vec<String>,
    /// The folder its files are read from; a name in `settings.handler` is relative to it.
    pub root: PathBuf,
    pub files: BundleFiles,
    pub settings: FunctionSettings,
}

/// A Build Output `overrides` entry: a static file served under another path or type.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Override {
    pub path: Option<String>,
    pub content_type: Option<String>,
}

/// What a site folder deploys as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SitePlan {
    /// The folder whose files are served.
    pub static_root: PathBuf,
    /// A top-level folder of `static_root` that holds function sources, not files to serve.
    pub functions_folder: Option<&'static str>,
    /// Static files to serve under another path or content type, by their path.
    pub overrides: BTreeMap<String, Override>,
    /// The routes, when the output states them (Build Output); `None` reads the site's own
    /// config files from `static_root`.
    pub config: Option<SiteConfig>,
    /// Routes the functions need in the `filesystem` phase, after the site's own config is
    /// read (zero-config dynamic segments, `api/users/[id].js`).
    pub function_routes: Vec<Route>,
    pub functions: Vec<PlannedFunction>,
}

impl SitePlan {
    /// A plain static site.
    pub fn files_only(dir: &Path) -> SitePlan {
        SitePlan {
            static_root: dir.to_path_buf(),
            functions_folder: None,
            overrides: BTreeMap::new(),
            config: None,
            function_routes: Vec::new(),
            functions: Vec::new(),
        }
    }
}

/// Works out what `dir` deploys as: a Build Output, a site with `api/` functions, or files.
/// `project_root` is the project a build wrote `dir` in: its `api/` holds the functions when
/// `dir` has none of its own, as on Vercel.
pub fn plan(dir: &Path, project_root: Option<&Path>) -> Result<SitePlan, FunctionsError> {
    if let Some(output) = build_output::locate(dir) {
        return build_output::read(&output);
    }
    let plan = zero_config::plan(dir)?;
    match project_root {
        Some(root) if plan.functions.is_empty() && root != dir => {
            zero_config::plan_beside(dir, root)
        }
        _ => Ok(plan),
    }
}

/// Puts `routes` at the start of the table's `filesystem` phase (so before the site's own
/// rewrites there), adding the phase where the table has none.
pub fn add_filesystem_routes(table: &mut RouteTable, routes: &[Route]) {
    if routes.is_empty() {
        return;
    }
    let entries = routes.iter().cloned().map(RouteEntry::from);
    let marker = |entry: &RouteEntry| matches!(entry, RouteEntry::Handle { handle } if *handle == Phase::Filesystem);
    match table.routes.iter().position(marker) {
        Some(at) => {
            table.routes.splice(at + 1..at + 1, entries);
        }
        None => {
            // Before any later phase, after the routes that run before the filesystem.
            let at = table
                .routes
                .iter()
                .position(|entry| matches!(entry, RouteEntry::Handle { .. }))
                .unwrap_or(table.routes.len());
            let added: Vec<RouteEntry> = std::iter::once(RouteEntry::Handle {
                handle: Phase::Filesystem,
            })
            .chain(entries)
            .collect();
            table.routes.splice(at..at, added);
        }
    }
}

/// What can be wrong with a site's functions; each names the file, and has a hint.
#[derive(Debug, thiserror::Error)]
pub enum FunctionsError {
    #[error("cannot read `{}`: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{file}` is not valid JSON: {source}")]
    BadJson {
        file: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("`{file}` is version {found} of the Build Output API; Pier reads version 3")]
    WrongVersion { file: String, found: String },
    #[error("`{file}` has `{key}`, which Pier does not support")]
    UnsupportedKey { file: String, key: String },
    #[error("`{file}`: `{key}` {problem}")]
    BadValue {
        file: String,
        key: String,
        problem: String,
    },
    #[error("`{file}`, routes[{index}]: {detail}")]
    BadRoute {
        file: String,
        index: usize,
        detail: String,
    },
    #[error("the function `/{function}` names the handler `{handler}`, which is not in its folder")]
    MissingHandler { function: String, handler: String },
    #[error(
        "the function `/{function}` is {} MiB unzipped, over Lambda's 250 MiB limit",
        bytes / (1024 * 1024)
    )]
    TooLarge { function: String, bytes: u64 },
    #[error("could not {step}: {detail}")]
    Toolchain { step: String, detail: String },
    #[error("esbuild could not compile the functions:\n{detail}")]
    Compile { detail: String },
    #[error("could not install the functions' dependencies ({packages}) from npm:\n{detail}")]
    DependencyInstall { packages: String, detail: String },
    #[error("`{file}` imports `{package}`, which package.json does not list")]
    UndeclaredDependency { file: String, package: String },
}

impl FunctionsError {
    pub fn hint(&self) -> &'static str {
        match self {
            FunctionsError::Unreadable { .. } => "check the file's permissions, then deploy again",
            FunctionsError::BadJson { .. } => {
                "fix the JSON (or build again: the framework's adapter writes this file)"
            }
            FunctionsError::WrongVersion { .. } => {
                "update the framework's Vercel adapter so it writes version 3, or deploy the static files alone"
            }
            FunctionsError::UnsupportedKey { key, .. } if key.starts_with("runtime") => {
                "Pier runs Node functions only: choose a Node runtime in the adapter's options (for example `runtime: 'nodejs20.x'`)"
            }
            FunctionsError::UnsupportedKey { .. } => {
                "remove the key, or the adapter option that writes it; the README's Functions section lists what Pier reads"
            }
            FunctionsError::BadValue { .. } => {
                "fix the value; the README's Functions section lists what Pier reads"
            }
            FunctionsError::BadRoute { .. } => {
                "fix or remove the route; the README's Functions section lists the route keys Pier reads"
            }
            FunctionsError::MissingHandler { .. } => {
                "build again, or fix `handler` in the function's `.vc-config.json`"
            }
            FunctionsError::TooLarge { .. } => {
                "leave development dependencies and large assets out of the function (serve assets as static files)"
            }
            FunctionsError::Toolchain { .. } => {
                "Pier compiles TypeScript and bundles functions' packages with esbuild from npm: install Node.js and npm (Debian: `apt install nodejs npm`) and check that npm's registry is reachable, or set PIER_ESBUILD to an esbuild binary"
            }
            FunctionsError::DependencyInstall { .. } => {
                "check the versions package.json gives these packages (npm's message above says which) and that npm's registry is reachable, then deploy again"
            }
            FunctionsError::Compile { .. } => {
                "fix what esbuild names (file, line and column), then deploy again"
            }
            FunctionsError::UndeclaredDependency { .. } => {
                "add the package to package.json (`npm install <package>` in the project folder), then deploy again; Pier installs it for the functions, not in your folder"
            }
        }
    }
}

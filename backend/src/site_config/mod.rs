//! Per-deployment serving settings, compiled at deploy time into one ordered route list (the
//! route engine in `crate::routes`) and stored in the deployment's manifest, so the edge
//! parses no file per request.
//!
//! Each format follows its owner: `pier.json` and `vercel.json` Vercel's rules (`cleanUrls`,
//! `trailingSlash`, `redirects`, `rewrites`, `headers`, or legacy `routes`), in the order
//! Vercel's routing-utils `getTransformedRoutes` gives them; `_redirects`, `_headers` and
//! `netlify.toml` Netlify's, with forced rules (`!`) before the filesystem and the others after
//! it, which is Netlify's shadowing. Each format is in its own file: `pier_json.rs`,
//! `vercel_json.rs`, `netlify.rs` (`_redirects`, `_headers`), `netlify_toml.rs`; the checks
//! every rule gets are in `checks.rs`. The whole list is compiled once more at the end
//! ([`crate::routes::Router::new`]), so a rule the edge could not run fails the deploy,
//! naming its file and place.
//!
//! The table, in order: `_headers` and `[[headers]]` (headers for every answer, matched on the
//! request path); Vercel's clean-URL, trailing-slash, redirect and header routes; Netlify's
//! forced rules; the filesystem; Vercel's rewrites (`filesystem` phase); Netlify's unforced
//! rules and `spa` (`rewrite` phase, which starts from the path the filesystem was asked for).

mod checks;
mod legacy;
mod netlify;
mod netlify_toml;
mod pier_json;
#[cfg(test)]
mod tests;
mod vercel_json;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::routes::{Route, RouteEntry, RouteTable, Router};

/// The files [`read`] looks for at the top of the site folder, in the order they are read.
pub const CONFIG_FILES: [&str; 5] = [
    "pier.json",
    "vercel.json",
    "_redirects",
    "_headers",
    "netlify.toml",
];

const PIER_JSON: &str = CONFIG_FILES[0];
const VERCEL_JSON: &str = CONFIG_FILES[1];
const NETLIFY_REDIRECTS: &str = CONFIG_FILES[2];
const NETLIFY_HEADERS: &str = CONFIG_FILES[3];
const NETLIFY_TOML: &str = CONFIG_FILES[4];

/// How one deployment is served.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SiteConfig {
    /// The compiled routes the edge runs.
    pub routes: RouteTable,
    /// Which of [`CONFIG_FILES`] were read, in that order.
    pub read_from: Vec<String>,
    /// What manifests written before the route engine hold instead of `routes`; read so those
    /// deployments keep being served as they were, never written.
    #[serde(flatten, skip_serializing)]
    pub legacy: legacy::LegacyConfig,
}

impl SiteConfig {
    /// The routes to serve with: `routes`, or for an older manifest, its settings compiled.
    pub fn route_table(&self) -> RouteTable {
        if self.routes.routes.is_empty() && !self.legacy.is_empty() {
            return self.legacy.compile();
        }
        self.routes.clone()
    }
}

/// Where in a file a rule is: a line of `_redirects`/`_headers`, an entry of a JSON or TOML
/// list, or a top-level key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleLocation {
    Line(usize),
    Entry { list: &'static str, index: usize },
    Key(&'static str),
}

impl std::fmt::Display for RuleLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RuleLocation::Line(line) => write!(f, "line {line}"),
            RuleLocation::Entry { list, index } => write!(f, "{list}[{index}]"),
            RuleLocation::Key(key) => write!(f, "`{key}`"),
        }
    }
}

/// What reading a site's config files can fail with; each names the file and the rule.
#[derive(Debug, thiserror::Error)]
pub enum SiteConfigError {
    #[error("cannot read `{}`: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{file}` is invalid: {source}")]
    BadJson {
        file: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("`{file}` is invalid: {source}")]
    BadToml {
        file: &'static str,
        #[source]
        source: toml::de::Error,
    },
    #[error("`{file}` has an unknown setting `{key}`")]
    UnknownSetting { file: &'static str, key: String },
    #[error("`{file}` line {line}: {problem}")]
    BadLine {
        file: &'static str,
        line: usize,
        problem: String,
    },
    #[error("`{file}` {at}: the source `{pattern}` {problem}")]
    BadSource {
        file: &'static str,
        at: RuleLocation,
        pattern: String,
        problem: String,
    },
    #[error("`{file}` {at}: the destination `{destination}` {problem}")]
    BadDestination {
        file: &'static str,
        at: RuleLocation,
        destination: String,
        problem: &'static str,
    },
    #[error(
        "`{file}` {at}: the rewrite to `{destination}` points at another site, and Pier serves only the deployment's own files"
    )]
    ExternalRewrite {
        file: &'static str,
        at: RuleLocation,
        destination: String,
    },
    #[error("`{file}` {at}: the condition `{condition}` is not supported: {why}")]
    UnsupportedCondition {
        file: &'static str,
        at: RuleLocation,
        condition: String,
        why: &'static str,
    },
    #[error("`{file}` {at}: {problem}")]
    BadRoute {
        file: &'static str,
        at: RuleLocation,
        problem: String,
    },
    #[error("`{file}` {at}: status {status} is not supported")]
    BadStatus {
        file: &'static str,
        at: RuleLocation,
        status: u16,
    },
    #[error("`{file}` {at}: the header `{name}` {problem}")]
    BadHeader {
        file: &'static str,
        at: RuleLocation,
        name: String,
        problem: &'static str,
    },
}

impl SiteConfigError {
    pub fn hint(&self) -> &'static str {
        match self {
            SiteConfigError::Unreadable { .. } => {
                "make the file readable by you and save it as UTF-8 text, or remove it"
            }
            SiteConfigError::BadJson { .. } => {
                "fix the JSON at the line and column shown; the message says what was expected there"
            }
            SiteConfigError::BadToml { .. } => {
                "fix the TOML at the line and column shown; Netlify's `[[redirects]]` take from, to, status, force, query and conditions, `[[headers]]` take for and values"
            }
            SiteConfigError::UnknownSetting { .. } => {
                "check the spelling: pier.json takes cleanUrls, trailingSlash, spa, redirects, rewrites and headers"
            }
            SiteConfigError::BadLine { file, .. } if *file == NETLIFY_HEADERS => {
                "start each block with a path line (`/…`), and put each header under it as a `Name: value` line"
            }
            SiteConfigError::BadLine { .. } => {
                "write one rule a line as `from to [status]`, e.g. `/old /new 301`; start comments with `#`"
            }
            SiteConfigError::BadSource { file, .. }
                if *file == PIER_JSON || *file == VERCEL_JSON =>
            {
                "write the source as path-to-regexp does: literal text, `:name` for one segment, `:name*` or `(.*)` for the rest, `:name?` for an optional one; escape other special characters with `\\`"
            }
            SiteConfigError::BadSource { .. } => {
                "write the path as Netlify does: literal text starting with `/`, `:name` for one segment, `*` for anything"
            }
            SiteConfigError::BadDestination { .. } => {
                "start the destination with `/`, or with `https://` for a redirect to another site"
            }
            SiteConfigError::ExternalRewrite { .. } => {
                "Pier serves static files only: make it a redirect (301 or 308) to send visitors to that site"
            }
            SiteConfigError::UnsupportedCondition { .. } => {
                "remove the condition and handle that case in the site itself; Pier matches on path, host, headers, cookies and query parameters only"
            }
            SiteConfigError::BadRoute { .. } => {
                "fix the rule's pattern: it must be a valid regular expression once compiled"
            }
            SiteConfigError::BadStatus { .. } => {
                "redirects take 301, 302, 303, 307 or 308; in _redirects, 200 makes a rewrite"
            }
            SiteConfigError::BadHeader { name, .. } if name.eq_ignore_ascii_case("basic-auth") => {
                "Pier does not password-protect sites: remove the Basic-Auth line, and keep passwords out of the deployed folder"
            }
            SiteConfigError::BadHeader { .. } => {
                "remove the header or fix it: names are letters, digits and `-`, values printable ASCII, and the server sets Content-Length and other framing headers itself"
            }
        }
    }
}

/// Reads whichever config files exist at the top of `dir` and compiles them into one route
/// table. pier.json wins over vercel.json for scalar settings, and their rule lists are
/// joined in that order; `_redirects` rules come before `netlify.toml`'s, as on Netlify.
pub fn read(dir: &Path) -> Result<SiteConfig, SiteConfigError> {
    let mut reader = Reader::default();
    for file in CONFIG_FILES {
        let Some(text) = read_if_present(&dir.join(file))? else {
            continue;
        };
        match file {
            PIER_JSON => reader.pier_json(&text)?,
            VERCEL_JSON => reader.vercel_json(&text)?,
            NETLIFY_REDIRECTS => reader.netlify_redirects(&text)?,
            NETLIFY_HEADERS => reader.netlify_headers(&text)?,
            _ => reader.netlify_toml(&text)?,
        }
        reader.read_from.push(file.to_string());
    }
    reader.finish()
}

/// A directory that happens to carry a config file's name is site content, not config.
fn read_if_present(path: &Path) -> Result<Option<String>, SiteConfigError> {
    let unreadable = |source| SiteConfigError::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(unreadable(e)),
        Ok(metadata) if !metadata.is_file() => return Ok(None),
        Ok(_) => {}
    }
    let text = std::fs::read_to_string(path).map_err(unreadable)?;
    // Editors on Windows like to add a byte-order mark, which JSON parsers refuse.
    Ok(Some(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    }))
}

/// Collects each file's routes; scalar settings stay unset until a file sets them, so the
/// first file to set one wins.
#[derive(Default)]
struct Reader {
    read_from: Vec<String>,
    vercel: vercel_json::VercelRules,
    /// `_headers` and `[[headers]]`: header routes that apply to every answer.
    netlify_headers: Vec<Located>,
    /// Netlify's forced rules (`!`, `force = true`): before the filesystem.
    netlify_forced: Vec<Located>,
    /// Netlify's other rules: after the filesystem, so a file shadows them.
    netlify_unforced: Vec<Located>,
    spa: Option<bool>,
}

/// A compiled route and where its rule was written, for errors the last compile finds.
struct Located {
    file: &'static str,
    at: RuleLocation,
    route: RouteEntry,
}

impl Reader {
    fn finish(self) -> Result<SiteConfig, SiteConfigError> {
        let vercel = self.vercel.compile()?;
        let spa = (self.spa == Some(true)).then(|| Located {
            file: PIER_JSON,
            at: RuleLocation::Key("spa"),
            route: spa_route().into(),
        });
        // Netlify's unforced rules and `spa` run in the `rewrite` phase, which starts again from
        // the path the filesystem was asked for, whatever a missed Vercel rewrite left.
        let vercel_rewrites = vercel.after_filesystem;
        let later: Vec<Located> = self.netlify_unforced.into_iter().chain(spa).collect();
        let before_filesystem = self
            .netlify_headers
            .into_iter()
            .chain(vercel.before_filesystem)
            .chain(self.netlify_forced);
        let mut located: Vec<Option<(&'static str, RuleLocation)>> = Vec::new();
        let mut routes: Vec<RouteEntry> = Vec::new();
        for entry in before_filesystem {
            located.push(Some((entry.file, entry.at)));
            routes.push(entry.route);
        }
        for (phase, entries) in [
            (crate::routes::Phase::Filesystem, vercel_rewrites),
            (crate::routes::Phase::Rewrite, later),
        ] {
            if entries.is_empty() {
                continue;
            }
            located.push(None);
            routes.push(RouteEntry::Handle { handle: phase });
            for entry in entries {
                located.push(Some((entry.file, entry.at)));
                routes.push(entry.route);
            }
        }
        let routes = RouteTable {
            routes,
            folders_without_slash: vercel.folders_without_slash,
            exact_names: vercel.exact_names,
        };
        if let Err(error) = Router::new(&routes) {
            let (file, at) = located
                .get(error.index)
                .copied()
                .flatten()
                .unwrap_or((PIER_JSON, RuleLocation::Key("routes")));
            return Err(SiteConfigError::BadRoute {
                file,
                at,
                problem: error.problem,
            });
        }
        Ok(SiteConfig {
            routes,
            read_from: self.read_from,
            legacy: Default::default(),
        })
    }
}

/// Pier's `spa`: a path with no file extension that is not a file serves `/index.html`.
fn spa_route() -> Route {
    Route {
        src: r"^/(?:.*/)?\.?[^/.]*$".to_string(),
        dest: Some("/index.html".to_string()),
        check: true,
        ..Route::default()
    }
}

//! Per-deployment serving settings: clean URLs, trailing slashes, SPA fallback, redirects,
//! rewrites and response headers. They are read once, at deploy time, from the top of the site
//! folder and stored in the deployment's manifest, so the edge parses no file per request.
//!
//! It follows Vercel's vercel.json `redirects`/`rewrites`/`headers`/`cleanUrls`/`trailingSlash`
//! and Netlify's `_redirects` and `_headers` file formats, in a subset; each format's rules are
//! in its own file: `pier_json.rs`, `vercel_json.rs`, `netlify.rs` (`_redirects` and
//! `_headers`). Every rule is checked at read time (`checks.rs`), and sources from every file use
//! one segment matcher (`matcher.rs`).
//!
//! How the edge is meant to apply a deployment's settings, in order: [`SiteConfig::redirect_for`]
//! first, before looking for a file, so every redirect behaves like Netlify's forced `!` one
//! (as Vercel's redirects do); then the `trailing_slash` and `clean_urls` redirects; then the
//! file; then [`SiteConfig::rewrite_for`], only when no file matched (Vercel's rewrites and
//! Netlify's 200 rules both work this way; `200!` is accepted and treated the same); then
//! the `spa` fallback; then not found. [`SiteConfig::headers_for`] takes the request path.
//! The request's query string is the edge's to carry over.

mod checks;
mod matcher;
mod netlify;
mod pier_json;
#[cfg(test)]
mod tests;
mod vercel_json;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use matcher::{Target, match_source, substitute};

/// The files [`read`] looks for at the top of the site folder, in the order their rules apply.
pub const CONFIG_FILES: [&str; 4] = ["pier.json", "vercel.json", "_redirects", "_headers"];

const PIER_JSON: &str = CONFIG_FILES[0];
const VERCEL_JSON: &str = CONFIG_FILES[1];
const NETLIFY_REDIRECTS: &str = CONFIG_FILES[2];
const NETLIFY_HEADERS: &str = CONFIG_FILES[3];

/// How one deployment is served.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SiteConfig {
    /// `/about` serves `about.html`; `/about.html` redirects (308) to `/about`.
    pub clean_urls: bool,
    /// `None`: paths are served as requested. `Some(true)`: `/x` redirects (308) to `/x/` for
    /// paths that are not files. `Some(false)`: `/x/` redirects (308) to `/x`.
    pub trailing_slash: Option<bool>,
    /// Unknown paths without a file extension serve `/index.html` with 200.
    pub spa: bool,
    pub redirects: Vec<Redirect>,
    pub rewrites: Vec<Rewrite>,
    pub headers: Vec<HeaderRule>,
    /// Which of [`CONFIG_FILES`] were read, in that order.
    pub read_from: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redirect {
    /// A percent-decoded path pattern.
    pub source: String,
    /// A path or an `http(s)://` URL, as written, with placeholders.
    pub destination: String,
    /// 301, 302, 303, 307 or 308.
    pub status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rewrite {
    /// A percent-decoded path pattern.
    pub source: String,
    /// A percent-decoded path starting with `/`, with placeholders; no query string, since
    /// the deployment's files are all a rewrite can reach.
    pub destination: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderRule {
    /// A percent-decoded path pattern.
    pub source: String,
    pub headers: Vec<(String, String)>,
}

/// Where in a file a rule is: a line of `_redirects`/`_headers`, or an entry of a JSON list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleLocation {
    Line(usize),
    Entry { list: &'static str, index: usize },
}

impl std::fmt::Display for RuleLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RuleLocation::Line(line) => write!(f, "line {line}"),
            RuleLocation::Entry { list, index } => write!(f, "{list}[{index}]"),
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
        problem: &'static str,
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
    #[error("`{file}` {at}: rules with conditions (`{condition}`) are not supported")]
    UnsupportedCondition {
        file: &'static str,
        at: RuleLocation,
        condition: String,
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
            SiteConfigError::UnknownSetting { .. } => {
                "check the spelling: pier.json takes cleanUrls, trailingSlash, spa, redirects, rewrites and headers"
            }
            SiteConfigError::BadLine { file, .. } if *file == NETLIFY_HEADERS => {
                "start each path line at the beginning of the line, and put each header under it as an indented `Name: value` line"
            }
            SiteConfigError::BadLine { .. } => {
                "write one rule a line as `from to [status]`, e.g. `/old /new 301`; start comments with `#`"
            }
            SiteConfigError::BadSource { .. } => {
                "use literal segments, `:name` for one segment, and `*`, `:name*` or `(.*)` as the last segment for the rest of the path"
            }
            SiteConfigError::BadDestination { .. } => {
                "start the destination with `/`, or with `https://` for a redirect to another site"
            }
            SiteConfigError::ExternalRewrite { .. } => {
                "Pier serves static files only: make it a redirect (301 or 308) to send visitors to that site"
            }
            SiteConfigError::UnsupportedCondition { .. } => {
                "remove the condition (query, country, language, role, cookie, `has` or `missing`) and handle that case in the site itself"
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

/// Reads whichever config files exist at the top of `dir`. pier.json wins over vercel.json
/// for scalar settings; rules are concatenated in the order pier.json, vercel.json,
/// _redirects, _headers (first match wins at serve time).
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
            _ => reader.netlify_headers(&text)?,
        }
        reader.config.read_from.push(file.to_string());
    }
    Ok(reader.finish())
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

impl SiteConfig {
    /// The redirect for a request path (already percent-decoded, starting with '/'), with the
    /// Location (placeholders substituted; query strings in destination kept) and status.
    /// Captured parts of the path are percent-encoded again in the Location.
    pub fn redirect_for(&self, path: &str) -> Option<(String, u16)> {
        self.redirects.iter().find_map(|rule| {
            let captures = match_source(&rule.source, path)?;
            let location = substitute(&rule.destination, &captures, Target::Location);
            Some((location, rule.status))
        })
    }

    /// The path a rewrite maps the request to (must start with '/'; external URLs in rewrites
    /// are rejected at read time with a clear error since Pier serves static files only). The
    /// result is percent-decoded, like the request path.
    pub fn rewrite_for(&self, path: &str) -> Option<String> {
        self.rewrites.iter().find_map(|rule| {
            // Read time guarantees this; a hand-edited manifest must still not send the edge
            // anywhere but the deployment's own files.
            if !rule.destination.starts_with('/') {
                return None;
            }
            let captures = match_source(&rule.source, path)?;
            Some(substitute(&rule.destination, &captures, Target::Path))
        })
    }

    /// Every header that applies to the path, in rule order (later rules for the same header
    /// name override earlier ones).
    pub fn headers_for(&self, path: &str) -> Vec<(String, String)> {
        let mut applied: Vec<(String, String)> = Vec::new();
        for rule in &self.headers {
            if match_source(&rule.source, path).is_none() {
                continue;
            }
            for (name, value) in &rule.headers {
                match applied
                    .iter_mut()
                    .find(|(seen, _)| seen.eq_ignore_ascii_case(name))
                {
                    Some(earlier) => earlier.1.clone_from(value),
                    None => applied.push((name.clone(), value.clone())),
                }
            }
        }
        applied
    }
}

/// Collects rules file by file; scalar settings stay unset until a file sets them, so the
/// first file to set one wins.
#[derive(Default)]
struct Reader {
    config: SiteConfig,
    clean_urls: Option<bool>,
    trailing_slash: Option<bool>,
    spa: Option<bool>,
}

impl Reader {
    fn finish(mut self) -> SiteConfig {
        self.config.clean_urls = self.clean_urls.unwrap_or(false);
        self.config.trailing_slash = self.trailing_slash;
        self.config.spa = self.spa.unwrap_or(false);
        self.config
    }
}

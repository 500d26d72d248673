//! Per-deployment serving settings: clean URLs, trailing slashes, SPA fallback, redirects,
//! rewrites and response headers. They are read once, at deploy time, from the top of the site
//! folder and stored in the deployment's manifest, so the edge parses no file per request.
//!
//! It follows Vercel's vercel.json `redirects`/`rewrites`/`headers`/`cleanUrls`/`trailingSlash`
//! and Netlify's `_redirects` and `_headers` file formats, in this subset:
//!
//! - `pier.json`: `cleanUrls`, `trailingSlash`, `spa`, `redirects`
//!   (`{source, destination, permanent?, statusCode?}`), `rewrites` (`{source, destination}`)
//!   and `headers` (`{source, headers: [{key, value}]}`), plus `$schema`. Any other key is an
//!   error, to catch typos.
//! - `vercel.json`: the same keys without `spa`. Every other key (`buildCommand`, `routes`, …)
//!   is ignored: they configure builds and functions, not static serving. `permanent` defaults
//!   to true (308); false is 307; `statusCode` wins over both. Rules with `has` or `missing`
//!   conditions are rejected, since applying them unconditionally would be wrong.
//! - `_redirects`: one `from to [status][!]` rule a line; `#` starts a comment line. No status is
//!   301; 301, 302, 303, 307 and 308 redirect; 200 rewrites; rules with status 404 (Netlify's
//!   custom not-found pages) are skipped without error. Query-parameter, country, language,
//!   role and cookie conditions, other statuses and other domains' URLs as `from` are errors
//!   naming the line. `/* /index.html 200` is the classic SPA rule and works as a rewrite.
//! - `_headers`: a path line at the start of a line, then indented `Name: value` lines; a
//!   repeated name within one block joins its values with `, `, as Netlify does. Netlify's
//!   `Basic-Auth` pseudo-header and the framing headers the server sets (`Content-Length`,
//!   `Transfer-Encoding`, `Connection`, …) are errors.
//!
//! Sources use one small segment matcher whatever file they came from: literal segments,
//! `:name` for one segment, and as the last segment only, the rest of the path (zero or more
//! segments): Netlify's `*` (captured as `splat`), Vercel's `:name*`, `:name(.*)` and `(.*)`
//! (captured as `$1`), and `:name+` (one or more). Matching is on the percent-decoded path and
//! case-sensitive; a trailing slash on the request is tolerated, and a trailing slash on a
//! source is ignored. Sources are stored percent-decoded, since Netlify writes them encoded.
//! Other pattern syntax (regex groups, optional segments, mixed segments like `:slug.html`) is
//! rejected at read time naming the rule. Destinations substitute `:name`, `:name*`, `:splat` and
//! `$1`; names the source does not capture stay as written (so `https://host:8080` is safe).
//!
//! How the edge is meant to apply a deployment's settings, in order: [`SiteConfig::redirect_for`]
//! first, before looking for a file, so every redirect behaves like Netlify's forced `!` one
//! (as Vercel's redirects do); then the `trailing_slash` and `clean_urls` redirects; then the
//! file; then [`SiteConfig::rewrite_for`], only when no file matched (Vercel's rewrites and
//! Netlify's 200 rules both work this way; `200!` is accepted and treated the same); then
//! the `spa` fallback; then not found. [`SiteConfig::headers_for`] takes the request path.
//! The request's query string is the edge's to carry over.

use std::path::{Path, PathBuf};

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

/// The files [`read`] looks for at the top of the site folder, in the order their rules apply.
pub const CONFIG_FILES: [&str; 4] = ["pier.json", "vercel.json", "_redirects", "_headers"];

const PIER_JSON: &str = CONFIG_FILES[0];
const VERCEL_JSON: &str = CONFIG_FILES[1];
const NETLIFY_REDIRECTS: &str = CONFIG_FILES[2];
const NETLIFY_HEADERS: &str = CONFIG_FILES[3];

const PIER_JSON_KEYS: [&str; 7] = [
    "$schema",
    "cleanUrls",
    "trailingSlash",
    "spa",
    "redirects",
    "rewrites",
    "headers",
];

const REDIRECT_STATUSES: [u16; 5] = [301, 302, 303, 307, 308];

/// Headers the server itself must set; a site setting them would corrupt responses.
const SERVER_SET_HEADERS: [&str; 8] = [
    "connection",
    "content-length",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

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

// ---------------------------------------------------------------------------------------------
// Reading the files

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct PierJson {
    clean_urls: Option<bool>,
    trailing_slash: Option<bool>,
    spa: Option<bool>,
    redirects: Vec<JsonRedirect>,
    rewrites: Vec<JsonRewrite>,
    headers: Vec<JsonHeaderRule>,
}

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct VercelJson {
    clean_urls: Option<bool>,
    trailing_slash: Option<bool>,
    redirects: Vec<JsonRedirect>,
    rewrites: Vec<JsonRewrite>,
    headers: Vec<JsonHeaderRule>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct JsonRedirect {
    source: String,
    destination: String,
    permanent: Option<bool>,
    status_code: Option<u16>,
    has: Option<IgnoredAny>,
    missing: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct JsonRewrite {
    source: String,
    destination: String,
    has: Option<IgnoredAny>,
    missing: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct JsonHeaderRule {
    source: String,
    headers: Vec<JsonHeader>,
    has: Option<IgnoredAny>,
    missing: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonHeader {
    key: String,
    value: String,
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

    fn pier_json(&mut self, text: &str) -> Result<(), SiteConfigError> {
        let bad_json = |source| SiteConfigError::BadJson {
            file: PIER_JSON,
            source,
        };
        let keys: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(text).map_err(bad_json)?;
        if let Some(key) = keys
            .keys()
            .find(|key| !PIER_JSON_KEYS.contains(&key.as_str()))
        {
            return Err(SiteConfigError::UnknownSetting {
                file: PIER_JSON,
                key: key.clone(),
            });
        }
        // Parsed again from the text, not from `keys`, so type errors keep their line numbers.
        let settings: PierJson = serde_json::from_str(text).map_err(bad_json)?;
        self.clean_urls = self.clean_urls.or(settings.clean_urls);
        self.trailing_slash = self.trailing_slash.or(settings.trailing_slash);
        self.spa = self.spa.or(settings.spa);
        self.json_rules(
            PIER_JSON,
            settings.redirects,
            settings.rewrites,
            settings.headers,
        )
    }

    fn vercel_json(&mut self, text: &str) -> Result<(), SiteConfigError> {
        let settings: VercelJson =
            serde_json::from_str(text).map_err(|source| SiteConfigError::BadJson {
                file: VERCEL_JSON,
                source,
            })?;
        self.clean_urls = self.clean_urls.or(settings.clean_urls);
        self.trailing_slash = self.trailing_slash.or(settings.trailing_slash);
        self.json_rules(
            VERCEL_JSON,
            settings.redirects,
            settings.rewrites,
            settings.headers,
        )
    }

    fn json_rules(
        &mut self,
        file: &'static str,
        redirects: Vec<JsonRedirect>,
        rewrites: Vec<JsonRewrite>,
        headers: Vec<JsonHeaderRule>,
    ) -> Result<(), SiteConfigError> {
        // Applying a conditional rule unconditionally would be wrong, so conditions are errors.
        let no_conditions = |at, has: Option<IgnoredAny>, missing: Option<IgnoredAny>| {
            let condition = match (has, missing) {
                (Some(_), _) => "has",
                (None, Some(_)) => "missing",
                (None, None) => return Ok(()),
            };
            Err(SiteConfigError::UnsupportedCondition {
                file,
                at,
                condition: condition.to_string(),
            })
        };
        for (index, rule) in redirects.into_iter().enumerate() {
            let at = RuleLocation::Entry {
                list: "redirects",
                index,
            };
            no_conditions(at, rule.has, rule.missing)?;
            let status = match (rule.status_code, rule.permanent) {
                (Some(status), _) => status,
                (None, Some(false)) => 307,
                (None, _) => 308,
            };
            self.config.redirects.push(Redirect {
                source: checked_source(file, at, &rule.source)?,
                destination: checked_redirect_destination(file, at, &rule.destination)?,
                status: checked_redirect_status(file, at, status)?,
            });
        }
        for (index, rule) in rewrites.into_iter().enumerate() {
            let at = RuleLocation::Entry {
                list: "rewrites",
                index,
            };
            no_conditions(at, rule.has, rule.missing)?;
            self.config.rewrites.push(Rewrite {
                source: checked_source(file, at, &rule.source)?,
                destination: checked_rewrite_destination(file, at, &rule.destination)?,
            });
        }
        for (index, rule) in headers.into_iter().enumerate() {
            let at = RuleLocation::Entry {
                list: "headers",
                index,
            };
            no_conditions(at, rule.has, rule.missing)?;
            let source = checked_source(file, at, &rule.source)?;
            let headers = rule
                .headers
                .into_iter()
                .map(|header| checked_header(file, at, &header.key, &header.value))
                .collect::<Result<_, _>>()?;
            self.config.headers.push(HeaderRule { source, headers });
        }
        Ok(())
    }

    fn netlify_redirects(&mut self, text: &str) -> Result<(), SiteConfigError> {
        let file = NETLIFY_REDIRECTS;
        for (index, line) in text.lines().enumerate() {
            let at = RuleLocation::Line(index + 1);
            let bad_line = |problem: String| SiteConfigError::BadLine {
                file,
                line: index + 1,
                problem,
            };
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let tokens: Vec<&str> = line.split_whitespace().collect();
            // Conditions can sit between `from` and `to` (query parameters) or after the
            // status (Country=, Language=, Role=, Cookie=); either way the rule must not apply
            // unconditionally.
            if let Some(condition) = tokens
                .iter()
                .skip(1)
                .find(|token| token.contains('=') && !is_destination_like(token))
            {
                return Err(SiteConfigError::UnsupportedCondition {
                    file,
                    at,
                    condition: condition.to_string(),
                });
            }
            let (from, to, status) = match tokens.as_slice() {
                [from, to] => (*from, *to, None),
                [from, to, status] => (*from, *to, Some(*status)),
                [_] => return Err(bad_line("has a path but no destination".into())),
                [_, _, _, extra, ..] => {
                    return Err(bad_line(format!(
                        "has `{extra}` after the status; a rule is `from to [status]`"
                    )));
                }
                [] => continue,
            };
            let status = match status {
                None => 301,
                // Pier applies redirects before files and rewrites after them whether or not
                // they are forced, so `!` changes nothing.
                Some(token) => match token.trim_end_matches('!').parse::<u16>() {
                    Ok(status) => status,
                    Err(_) => {
                        return Err(bad_line(format!(
                            "`{token}` is not a status code; a rule is `from to [status]`"
                        )));
                    }
                },
            };
            match status {
                200 => self.config.rewrites.push(Rewrite {
                    source: checked_source(file, at, from)?,
                    destination: checked_rewrite_destination(file, at, to)?,
                }),
                404 => continue,
                _ => self.config.redirects.push(Redirect {
                    source: checked_source(file, at, from)?,
                    destination: checked_redirect_destination(file, at, to)?,
                    status: checked_redirect_status(file, at, status)?,
                }),
            }
        }
        Ok(())
    }

    fn netlify_headers(&mut self, text: &str) -> Result<(), SiteConfigError> {
        let file = NETLIFY_HEADERS;
        let mut block: Option<HeaderRule> = None;
        for (index, line) in text.lines().enumerate() {
            let at = RuleLocation::Line(index + 1);
            let bad_line = |problem: &str| SiteConfigError::BadLine {
                file,
                line: index + 1,
                problem: problem.to_string(),
            };
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            if !line.starts_with([' ', '\t']) {
                self.config.headers.extend(block.take().filter(has_headers));
                block = Some(HeaderRule {
                    source: checked_source(file, at, trimmed)?,
                    headers: Vec::new(),
                });
                continue;
            }
            let Some(rule) = block.as_mut() else {
                return Err(bad_line("is an indented header line before any path line"));
            };
            let Some((name, value)) = trimmed.split_once(':') else {
                return Err(bad_line("is indented like a header but has no `:`"));
            };
            let (name, value) = checked_header(file, at, name, value)?;
            match rule
                .headers
                .iter_mut()
                .find(|(seen, _)| seen.eq_ignore_ascii_case(&name))
            {
                Some(earlier) => {
                    earlier.1.push_str(", ");
                    earlier.1.push_str(&value);
                }
                None => rule.headers.push((name, value)),
            }
        }
        self.config.headers.extend(block.filter(has_headers));
        Ok(())
    }
}

fn has_headers(rule: &HeaderRule) -> bool {
    !rule.headers.is_empty()
}

fn is_external_url(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("//")
}

fn is_destination_like(token: &str) -> bool {
    token.starts_with('/') || is_external_url(token)
}

fn checked_source(
    file: &'static str,
    at: RuleLocation,
    source: &str,
) -> Result<String, SiteConfigError> {
    let bad_source = |problem| SiteConfigError::BadSource {
        file,
        at,
        pattern: source.to_string(),
        problem,
    };
    let decoded = percent_decoded(source).ok_or_else(|| bad_source(NOT_UTF8))?;
    match source_problem(&decoded) {
        Some(problem) => Err(bad_source(problem)),
        None => Ok(decoded),
    }
}

fn checked_redirect_destination(
    file: &'static str,
    at: RuleLocation,
    destination: &str,
) -> Result<String, SiteConfigError> {
    if destination.starts_with('/') || is_external_url(destination) {
        Ok(destination.to_string())
    } else {
        Err(SiteConfigError::BadDestination {
            file,
            at,
            destination: destination.to_string(),
            problem: "must start with `/` or be an `https://` URL",
        })
    }
}

/// Returns the destination's path, decoded to match the manifest's file paths. A query string
/// or fragment is dropped: it would never reach the browser, and files do not read it.
fn checked_rewrite_destination(
    file: &'static str,
    at: RuleLocation,
    destination: &str,
) -> Result<String, SiteConfigError> {
    let bad_destination = |problem| SiteConfigError::BadDestination {
        file,
        at,
        destination: destination.to_string(),
        problem,
    };
    if is_external_url(destination) {
        return Err(SiteConfigError::ExternalRewrite {
            file,
            at,
            destination: destination.to_string(),
        });
    }
    if !destination.starts_with('/') {
        return Err(bad_destination("must start with `/`"));
    }
    let path = destination
        .find(['?', '#'])
        .map_or(destination, |end| &destination[..end]);
    percent_decoded(path).ok_or_else(|| bad_destination(NOT_UTF8))
}

fn checked_redirect_status(
    file: &'static str,
    at: RuleLocation,
    status: u16,
) -> Result<u16, SiteConfigError> {
    if REDIRECT_STATUSES.contains(&status) {
        Ok(status)
    } else {
        Err(SiteConfigError::BadStatus { file, at, status })
    }
}

fn checked_header(
    file: &'static str,
    at: RuleLocation,
    name: &str,
    value: &str,
) -> Result<(String, String), SiteConfigError> {
    let (name, value) = (name.trim(), value.trim());
    let bad_header = |problem| SiteConfigError::BadHeader {
        file,
        at,
        name: name.to_string(),
        problem,
    };
    if name.is_empty() || !name.bytes().all(is_header_name_byte) {
        return Err(bad_header("is not a valid header name"));
    }
    if name.eq_ignore_ascii_case("basic-auth") {
        return Err(bad_header(
            "is Netlify's password protection, which Pier does not support",
        ));
    }
    if SERVER_SET_HEADERS
        .iter()
        .any(|server_set| name.eq_ignore_ascii_case(server_set))
    {
        return Err(bad_header("is set by the server, not by the site"));
    }
    if !value
        .bytes()
        .all(|byte| byte == b'\t' || (b' '..=b'~').contains(&byte))
    {
        return Err(bad_header(
            "has a value with characters other than printable ASCII",
        ));
    }
    Ok((name.to_string(), value.to_string()))
}

/// RFC 9110 §5.6.2 `tchar`.
fn is_header_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

const NOT_UTF8: &str = "is percent-encoded to something that is not UTF-8";

const UNSUPPORTED_SYNTAX: &str = "uses pattern syntax Pier does not support: a segment is literal text or `:name`, and only the last may be `*`, `(.*)`, `:name*`, `:name+` or `:name(.*)`";

/// Characters that mean something in Vercel's or Netlify's patterns and that this matcher
/// would otherwise take literally, silently never matching.
const PATTERN_CHARACTERS: [char; 14] = [
    ':', '(', ')', '*', '?', '+', '[', ']', '{', '}', '|', '\\', '^', '$',
];

/// Why a (decoded) source cannot be matched, if it cannot.
fn source_problem(source: &str) -> Option<&'static str> {
    if is_external_url(source) {
        return Some("is a full URL; rules for other domains are not supported");
    }
    let Some(pattern) = source.strip_prefix('/') else {
        return Some("must start with `/`");
    };
    if pattern.contains("//") {
        return Some("has an empty segment (`//`)");
    }
    let pattern = pattern.strip_suffix('/').unwrap_or(pattern);
    if pattern.is_empty() {
        return None;
    }
    let mut segments = pattern.split('/').peekable();
    while let Some(segment) = segments.next() {
        let valid = match classify(segment) {
            Token::Rest { .. } if segments.peek().is_some() => {
                return Some(
                    "may use `*`, `(.*)`, `:name*`, `:name+` and `:name(.*)` only as its last segment",
                );
            }
            Token::Rest {
                name: CaptureName::Named(name),
                ..
            }
            | Token::Segment(name) => is_name(name),
            Token::Rest { .. } => true,
            Token::Literal(text) => !text.contains(PATTERN_CHARACTERS),
        };
        if !valid {
            return Some(UNSUPPORTED_SYNTAX);
        }
    }
    None
}

fn is_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(is_name_byte)
}

fn is_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits stays as it is, as Netlify
/// leaves it. `None` when the bytes are not UTF-8.
fn percent_decoded(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = match bytes.get(index..index + 3) {
            Some([b'%', high, low]) => hex_value(*high).zip(hex_value(*low)),
            _ => None,
        };
        match escaped {
            Some((high, low)) => {
                decoded.push((high << 4) | low);
                index += 3;
            }
            None => {
                decoded.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8(decoded).ok()
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Matching and substitution

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CaptureName<'a> {
    Named(&'a str),
    /// Vercel's unnamed `(.*)`, referenced as `$1`.
    First,
}

#[derive(Debug, Clone, Copy)]
enum Token<'a> {
    Literal(&'a str),
    /// `:name`: one non-empty segment.
    Segment(&'a str),
    /// The rest of the path, from this segment on.
    Rest {
        name: CaptureName<'a>,
        at_least_one: bool,
    },
}

#[derive(Debug, Clone, Copy)]
struct Capture<'a> {
    name: CaptureName<'a>,
    value: &'a str,
    is_rest: bool,
}

fn classify(segment: &str) -> Token<'_> {
    let rest = |name, at_least_one| Token::Rest { name, at_least_one };
    if segment == "*" {
        return rest(CaptureName::Named("splat"), false);
    }
    if segment == "(.*)" {
        return rest(CaptureName::First, false);
    }
    let Some(body) = segment.strip_prefix(':') else {
        return Token::Literal(segment);
    };
    if let Some(name) = body.strip_suffix("(.*)") {
        rest(CaptureName::Named(name), false)
    } else if let Some(name) = body.strip_suffix('*') {
        rest(CaptureName::Named(name), false)
    } else if let Some(name) = body.strip_suffix('+') {
        rest(CaptureName::Named(name), true)
    } else {
        Token::Segment(body)
    }
}

/// Matches a decoded request path against a source, segment by segment. Sources come from the
/// manifest, so this must stay total on anything, valid or not.
fn match_source<'a>(source: &'a str, path: &'a str) -> Option<Vec<Capture<'a>>> {
    let pattern = source.strip_prefix('/')?;
    let pattern = pattern.strip_suffix('/').unwrap_or(pattern);
    // `None` once the path is used up; `Some("")` when only a trailing slash is left.
    let mut unmatched = Some(path.strip_prefix('/')?);
    let mut captures = Vec::new();
    let mut segments = pattern.split('/').peekable();
    while let Some(segment) = segments.next() {
        let token = classify(segment);
        if let Token::Rest { name, at_least_one } = token {
            if segments.peek().is_some() {
                return None;
            }
            let value = unmatched.unwrap_or("");
            if at_least_one && value.trim_matches('/').is_empty() {
                return None;
            }
            captures.push(Capture {
                name,
                value,
                is_rest: true,
            });
            return Some(captures);
        }
        let remaining = unmatched?;
        let (path_segment, after) = match remaining.split_once('/') {
            Some((path_segment, after)) => (path_segment, Some(after)),
            None => (remaining, None),
        };
        match token {
            Token::Literal(text) if text == path_segment => {}
            Token::Segment(name) if !path_segment.is_empty() => captures.push(Capture {
                name: CaptureName::Named(name),
                value: path_segment,
                is_rest: false,
            }),
            _ => return None,
        }
        unmatched = after;
    }
    match unmatched {
        None | Some("") => Some(captures),
        Some(_) => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// A Location header: captured text is percent-encoded, and so is anything never valid in
    /// a URL, so no request path can inject a header or break the URL.
    Location,
    /// A decoded path in the deployment, to look up as a file.
    Path,
}

fn substitute(template: &str, captures: &[Capture<'_>], target: Target) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut in_query = false;
    let mut index = 0;
    while let Some(remaining) = template.get(index..) {
        let Some(next) = remaining.chars().next() else {
            break;
        };
        if let Some((capture, consumed)) = placeholder_at(remaining, captures) {
            let carries_modifier = remaining[..consumed].ends_with(['*', '+']);
            // Vercel's `/:path*` owns its leading slash (path-to-regexp), so `/docs/:path*`
            // with nothing captured is `/docs`, not `/docs/`.
            if carries_modifier && capture.value.is_empty() && out.len() > 1 && out.ends_with('/') {
                out.pop();
            }
            match target {
                Target::Location => push_encoded_capture(&mut out, capture.value, in_query),
                Target::Path => out.push_str(capture.value),
            }
            index += consumed;
            continue;
        }
        if next == '?' || next == '#' {
            in_query = true;
        }
        match target {
            Target::Location => push_url_char(&mut out, next),
            Target::Path => out.push(next),
        }
        index += next.len_utf8();
    }
    out
}

/// The capture a destination refers to at its start (`:name`, `:name*`, `:name+` or `$1`) and
/// how many bytes the reference takes; `None` for text that only looks like one.
fn placeholder_at<'c, 'a>(
    text: &str,
    captures: &'c [Capture<'a>],
) -> Option<(&'c Capture<'a>, usize)> {
    let find = |wanted: CaptureName<'_>| captures.iter().find(|capture| capture.name == wanted);
    if let Some(after) = text.strip_prefix(':') {
        let name_len = after.bytes().take_while(|byte| is_name_byte(*byte)).count();
        if name_len == 0 {
            return None;
        }
        let capture = find(CaptureName::Named(after.get(..name_len)?))?;
        let modifier = capture.is_rest && after[name_len..].starts_with(['*', '+']);
        return Some((capture, 1 + name_len + usize::from(modifier)));
    }
    let digits = text.strip_prefix('$')?;
    let digit_count = digits.bytes().take_while(u8::is_ascii_digit).count();
    if digits.get(..digit_count)? == "1" {
        return Some((find(CaptureName::First)?, 2));
    }
    None
}

fn push_encoded_capture(out: &mut String, value: &str, in_query: bool) {
    let keep = |byte: u8| {
        byte.is_ascii_alphanumeric()
            || b"-._~!$'()*,;:@/".contains(&byte)
            // In a query these separate parameters, so captured ones must stay data.
            || (!in_query && b"&=+".contains(&byte))
    };
    for byte in value.bytes() {
        if keep(byte) {
            out.push(char::from(byte));
        } else {
            push_escape(out, byte);
        }
    }
}

/// Keeps what the user wrote, including their own `%XX` escapes, and escapes only what is
/// never valid in a URL.
fn push_url_char(out: &mut String, character: char) {
    let is_valid = character.is_ascii_graphic() && !"\"<>\\^`{|}".contains(character);
    if is_valid {
        out.push(character);
    } else {
        let mut buffer = [0; 4];
        for byte in character.encode_utf8(&mut buffer).bytes() {
            push_escape(out, byte);
        }
    }
}

fn push_escape(out: &mut String, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(char::from(HEX[usize::from(byte >> 4)]));
    out.push(char::from(HEX[usize::from(byte & 0xf)]));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn site(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    fn read_site(files: &[(&str, &str)]) -> Result<SiteConfig, SiteConfigError> {
        read(site(files).path())
    }

    fn pairs(headers: &[(&str, &str)]) -> Vec<(String, String)> {
        headers
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    fn redirect(location: &str, status: u16) -> Option<(String, u16)> {
        Some((location.to_string(), status))
    }

    #[test]
    fn a_folder_without_config_files_has_the_defaults() {
        let config = read_site(&[("index.html", "<h1>hi</h1>")]).unwrap();
        assert_eq!(config, SiteConfig::default());
        assert_eq!(config.redirect_for("/"), None);
        assert_eq!(config.rewrite_for("/x"), None);
        assert!(config.headers_for("/").is_empty());
    }

    #[test]
    fn a_folder_named_like_a_config_file_is_content() {
        let dir = site(&[]);
        std::fs::create_dir(dir.path().join("_headers")).unwrap();
        assert_eq!(read(dir.path()).unwrap(), SiteConfig::default());
    }

    #[test]
    fn the_netlify_spa_rule_rewrites_every_path_to_index() {
        let config = read_site(&[(
            "_redirects",
            "# single-page app\n\n/*    /index.html   200\n",
        )])
        .unwrap();
        assert_eq!(config.read_from, ["_redirects"]);
        assert!(config.redirects.is_empty());
        for path in ["/", "/about", "/deep/link/", "/with space/ü"] {
            assert_eq!(config.rewrite_for(path).as_deref(), Some("/index.html"));
        }
        assert_eq!(config.redirect_for("/about"), None);
        assert!(!config.spa, "the rule is a rewrite, not the spa flag");
    }

    #[test]
    fn netlify_redirects_take_statuses_splats_and_placeholders() {
        let config = read_site(&[(
            "_redirects",
            "\u{feff}/home              /\n\
             /news/*            /blog/:splat          302\n\
             /blog/:year/:month /archive/:year-:month.html 301!\n\
             /docs/*            /guide/:splat         200\n\
             /en/*              /en/404.html          404\n\
             /authors/c%C3%A9line /authors/about-c%C3%A9line 308\n\
             /go                https://example.com:8443/start?from=pier 307\n",
        )])
        .unwrap();
        assert_eq!(config.redirect_for("/home"), redirect("/", 301));
        assert_eq!(config.redirect_for("/home/"), redirect("/", 301));
        assert_eq!(config.redirect_for("/news/a/b"), redirect("/blog/a/b", 302));
        assert_eq!(config.redirect_for("/news"), redirect("/blog/", 302));
        assert_eq!(
            config.redirect_for("/blog/2024/05"),
            redirect("/archive/2024-05.html", 301)
        );
        assert_eq!(config.redirect_for("/blog/2024"), None);
        assert_eq!(config.redirect_for("/blog/2024/05/extra"), None);
        assert_eq!(
            config.redirect_for("/authors/céline"),
            redirect("/authors/about-c%C3%A9line", 308)
        );
        assert_eq!(
            config.redirect_for("/go"),
            redirect("https://example.com:8443/start?from=pier", 307)
        );
        assert_eq!(
            config.rewrite_for("/docs/a.html").as_deref(),
            Some("/guide/a.html")
        );
        assert_eq!(
            config.rewrite_for("/en/missing"),
            None,
            "404 rules are skipped"
        );
        assert_eq!(config.redirect_for("/en/missing"), None);
        assert_eq!(
            config.redirect_for("/HOME"),
            None,
            "matching is case-sensitive"
        );
    }

    #[test]
    fn vercel_named_and_rest_placeholders_redirect() {
        let config = read_site(&[(
            "vercel.json",
            r#"{
                "buildCommand": "npm run build",
                "routes": [{ "src": "/(.*)", "dest": "/" }],
                "redirects": [
                    { "source": "/blog/:slug", "destination": "/posts/:slug" },
                    { "source": "/docs/:path*", "destination": "/guide/:path*", "permanent": false },
                    { "source": "/old/:slug", "destination": "https://example.com/x?ref=:slug", "statusCode": 301 },
                    { "source": "/tags/:tag+", "destination": "/t/:tag+", "permanent": true }
                ]
            }"#,
        )])
        .unwrap();
        assert_eq!(config.read_from, ["vercel.json"]);
        assert_eq!(
            config.redirect_for("/blog/hello"),
            redirect("/posts/hello", 308)
        );
        assert_eq!(
            config.redirect_for("/blog/hello/"),
            redirect("/posts/hello", 308)
        );
        assert_eq!(config.redirect_for("/blog/a/b"), None);
        assert_eq!(config.redirect_for("/blog"), None);
        assert_eq!(
            config.redirect_for("/docs/a/b"),
            redirect("/guide/a/b", 307)
        );
        assert_eq!(config.redirect_for("/docs"), redirect("/guide", 307));
        assert_eq!(config.redirect_for("/docs/"), redirect("/guide", 307));
        assert_eq!(
            config.redirect_for("/old/a&b=c"),
            redirect("https://example.com/x?ref=a%26b%3Dc", 301)
        );
        assert_eq!(config.redirect_for("/tags/a/b"), redirect("/t/a/b", 308));
        assert_eq!(config.redirect_for("/tags"), None);
        assert_eq!(config.redirect_for("/tags/"), None);
    }

    #[test]
    fn vercel_unnamed_rest_is_dollar_one() {
        let config = read_site(&[(
            "vercel.json",
            r#"{
                "redirects": [{ "source": "/old/(.*)", "destination": "/new/$1?was=$1" }],
                "rewrites": [
                    { "source": "/app/:rest(.*)", "destination": "/app/index.html?r=:rest" },
                    { "source": "/(.*)", "destination": "/fallback.html" }
                ],
                "headers": [{ "source": "/(.*)", "headers": [{ "key": "X-Frame-Options", "value": "DENY" }] }]
            }"#,
        )])
        .unwrap();
        assert_eq!(
            config.redirect_for("/old/a/b"),
            redirect("/new/a/b?was=a/b", 308)
        );
        assert_eq!(config.redirect_for("/old/"), redirect("/new/?was=", 308));
        assert_eq!(config.rewrites[0].destination, "/app/index.html");
        assert_eq!(
            config.rewrite_for("/app/x/y").as_deref(),
            Some("/app/index.html")
        );
        assert_eq!(config.rewrite_for("/").as_deref(), Some("/fallback.html"));
        assert_eq!(
            config.headers_for("/"),
            pairs(&[("X-Frame-Options", "DENY")])
        );
        assert_eq!(config.headers_for("/a/b.css").len(), 1);
    }

    #[test]
    fn netlify_headers_apply_by_path_in_rule_order() {
        let config = read_site(&[(
            "_headers",
            "# every page\n\
             /*\n\
             \x20 X-Frame-Options: DENY\n\
             \x20 Cache-Control: no-cache\n\
             \n\
             /assets/*\n\
             \t# fingerprinted files never change\n\
             \tCache-Control: public, max-age=31536000, immutable\n\
             \x20 Link: </a.css>; rel=preload\n\
             \x20 link: </b.js>; rel=preload\n\
             /empty\n",
        )])
        .unwrap();
        assert_eq!(
            config.headers.len(),
            2,
            "a path with no headers adds no rule"
        );
        assert_eq!(
            config.headers_for("/assets/app.js"),
            pairs(&[
                ("X-Frame-Options", "DENY"),
                ("Cache-Control", "public, max-age=31536000, immutable"),
                ("Link", "</a.css>; rel=preload, </b.js>; rel=preload"),
            ])
        );
        assert_eq!(
            config.headers_for("/index.html"),
            pairs(&[("X-Frame-Options", "DENY"), ("Cache-Control", "no-cache")])
        );
        assert_eq!(
            config.headers_for("/assets").len(),
            3,
            "`/assets/*` covers `/assets`"
        );
    }

    #[test]
    fn pier_json_wins_over_vercel_json_and_rules_keep_file_order() {
        let config = read_site(&[
            (
                "pier.json",
                r#"{ "$schema": "https://pier.dev/schema.json", "cleanUrls": false, "spa": true,
                     "redirects": [{ "source": "/a", "destination": "/from-pier" }] }"#,
            ),
            (
                "vercel.json",
                r#"{ "cleanUrls": true, "trailingSlash": true, "spa": "ignored here",
                     "redirects": [{ "source": "/a", "destination": "/from-vercel" },
                                   { "source": "/b", "destination": "/from-vercel" }] }"#,
            ),
            ("_redirects", "/b /from-netlify\n/c /from-netlify\n"),
            ("_headers", "/*\n  X-Robots-Tag: noindex\n"),
        ])
        .unwrap();
        assert!(!config.clean_urls);
        assert_eq!(config.trailing_slash, Some(true));
        assert!(config.spa);
        assert_eq!(config.read_from, CONFIG_FILES);
        assert_eq!(config.redirect_for("/a"), redirect("/from-pier", 308));
        assert_eq!(config.redirect_for("/b"), redirect("/from-vercel", 308));
        assert_eq!(config.redirect_for("/c"), redirect("/from-netlify", 301));
        assert_eq!(
            config.headers_for("/x"),
            pairs(&[("X-Robots-Tag", "noindex")])
        );
    }

    #[test]
    fn later_header_rules_override_earlier_ones() {
        let config = read_site(&[(
            "vercel.json",
            r#"{ "headers": [
                { "source": "/(.*)", "headers": [{ "key": "Cache-Control", "value": "no-cache" },
                                                 { "key": "X-A", "value": "1" }] },
                { "source": "/assets/:file", "headers": [{ "key": "cache-control", "value": "max-age=60" }] }
            ] }"#,
        )])
        .unwrap();
        assert_eq!(
            config.headers_for("/assets/a.js"),
            pairs(&[("Cache-Control", "max-age=60"), ("X-A", "1")])
        );
        assert_eq!(
            config.headers_for("/assets/deeper/a.js"),
            pairs(&[("Cache-Control", "no-cache"), ("X-A", "1")])
        );
    }

    #[test]
    fn an_unknown_pier_json_key_is_named() {
        let error = read_site(&[("pier.json", r#"{ "cleanUrl": true }"#)]).unwrap_err();
        assert!(
            matches!(&error, SiteConfigError::UnknownSetting { key, .. } if key == "cleanUrl"),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(
            message.contains("pier.json") && message.contains("cleanUrl"),
            "{message}"
        );
        assert!(error.hint().contains("cleanUrls"));
        // vercel.json holds much that is not about serving, so the same typo passes there.
        read_site(&[("vercel.json", r#"{ "cleanUrl": true }"#)]).unwrap();
    }

    #[test]
    fn malformed_json_names_the_file_and_the_place() {
        for (file, text) in [
            (
                "vercel.json",
                "{ \"redirects\": [\n  { \"source\": \"/a\" \n",
            ),
            ("pier.json", "{ \"spa\": \"yes\" }"),
            ("pier.json", "[]"),
            (
                "vercel.json",
                r#"{ "redirects": [{ "source": "/a", "destinaton": "/b" }] }"#,
            ),
        ] {
            let error = read_site(&[(file, text)]).unwrap_err();
            assert!(
                matches!(error, SiteConfigError::BadJson { .. }),
                "{error:?}"
            );
            let message = error.to_string();
            assert!(
                message.contains(file) && message.contains("line"),
                "{message}"
            );
        }
    }

    #[test]
    fn a_bad_redirects_line_is_named_by_number() {
        let cases = [
            (
                "/ok /fine\n# note\n/only-a-source\n",
                "line 3",
                "no destination",
            ),
            ("/a /b 301 extra\n", "line 1", "extra"),
            ("\n/a /b moved\n", "line 2", "`moved`"),
            ("/a /b 418\n", "line 1", "418"),
            ("/store id=:id /blog/:id 301\n", "line 1", "id=:id"),
            ("/ /anz 302 Country=au,nz\n", "line 1", "Country=au,nz"),
            ("/admin/* 200! Role=admin\n", "line 1", "Role=admin"),
            (
                "https://old.example.com/* /:splat 301\n",
                "line 1",
                "other domains",
            ),
            ("/a relative 301\n", "line 1", "must start with"),
            ("/blog/:slug.html /b 301\n", "line 1", "does not support"),
        ];
        for (text, line, detail) in cases {
            let error = read_site(&[("_redirects", text)]).unwrap_err();
            let message = error.to_string();
            assert!(message.starts_with("`_redirects` "), "{message}");
            assert!(
                message.contains(line) && message.contains(detail),
                "{message}"
            );
            assert!(!error.hint().is_empty());
        }
    }

    #[test]
    fn a_bad_headers_file_is_named_by_line() {
        let cases = [
            ("  X-A: 1\n", "line 1", "before any path"),
            ("/*\n  X-A 1\n", "line 2", "no `:`"),
            ("/*\n  Basic-Auth: me:secret\n", "line 2", "password"),
            ("/*\n  Content-Length: 5\n", "line 2", "set by the server"),
            ("/*\n  Bad Name: 5\n", "line 2", "not a valid header name"),
            ("/*\n  X-Name: café\n", "line 2", "printable ASCII"),
            ("/a/*/b\n  X-A: 1\n", "line 1", "last segment"),
        ];
        for (text, line, detail) in cases {
            let error = read_site(&[("_headers", text)]).unwrap_err();
            let message = error.to_string();
            assert!(
                message.contains(line) && message.contains(detail),
                "{message}"
            );
        }
        let basic_auth = read_site(&[("_headers", "/*\n  Basic-Auth: me:secret\n")]).unwrap_err();
        assert!(basic_auth.hint().contains("password-protect"));
    }

    #[test]
    fn external_rewrites_are_rejected() {
        let error = read_site(&[(
            "vercel.json",
            r#"{ "rewrites": [{ "source": "/api/:path*", "destination": "https://api.example.com/:path*" }] }"#,
        )])
        .unwrap_err();
        assert!(
            matches!(error, SiteConfigError::ExternalRewrite { .. }),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(
            message.contains("vercel.json") && message.contains("rewrites[0]"),
            "{message}"
        );
        assert!(error.hint().contains("redirect"));

        let error = read_site(&[(
            "_redirects",
            "/a /b\n/api/* https://api.example.com/:splat 200\n",
        )])
        .unwrap_err();
        assert!(
            matches!(error, SiteConfigError::ExternalRewrite { .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("line 2"));
    }

    #[test]
    fn unsupported_json_rules_are_named() {
        let cases = [
            (
                r#"{ "redirects": [{ "source": "/blog/:id(\\d+)", "destination": "/b" }] }"#,
                "redirects[0]",
                "does not support",
            ),
            (
                r#"{ "redirects": [{ "source": "/x", "destination": "/y" }, { "source": "/(about|team)", "destination": "/b" }] }"#,
                "redirects[1]",
                "does not support",
            ),
            (
                r#"{ "rewrites": [{ "source": "/:lang?/about", "destination": "/about.html" }] }"#,
                "rewrites[0]",
                "does not support",
            ),
            (
                r#"{ "headers": [{ "source": "/a//b", "headers": [] }] }"#,
                "headers[0]",
                "empty segment",
            ),
            (
                r#"{ "redirects": [{ "source": "a", "destination": "/b" }] }"#,
                "redirects[0]",
                "start with `/`",
            ),
            (
                r#"{ "redirects": [{ "source": "/a", "destination": "/b", "statusCode": 200 }] }"#,
                "redirects[0]",
                "status 200",
            ),
            (
                r#"{ "redirects": [{ "source": "/a", "destination": "/b", "has": [{ "type": "query", "key": "x" }] }] }"#,
                "redirects[0]",
                "`has`",
            ),
            (
                r#"{ "rewrites": [{ "source": "/a", "destination": "b.html" }] }"#,
                "rewrites[0]",
                "must start with `/`",
            ),
        ];
        for (text, place, detail) in cases {
            let error = read_site(&[("pier.json", text)]).unwrap_err();
            let message = error.to_string();
            assert!(message.starts_with("`pier.json` "), "{message}");
            assert!(
                message.contains(place) && message.contains(detail),
                "{message}"
            );
        }
    }

    #[test]
    fn captured_text_is_encoded_in_locations_and_raw_in_rewrites() {
        let config = read_site(&[(
            "_redirects",
            "/r/:slug /new/:slug 301\n/w/* /pages/:splat.html 200\n/p/* /caf%C3%A9/:splat?x=1 200\n",
        )])
        .unwrap();
        assert_eq!(
            config.redirect_for("/r/a b?c"),
            redirect("/new/a%20b%3Fc", 301)
        );
        assert_eq!(
            config.redirect_for("/r/x\r\nSet-Cookie: a=b"),
            redirect("/new/x%0D%0ASet-Cookie:%20a=b", 301)
        );
        assert_eq!(config.redirect_for("/r/é"), redirect("/new/%C3%A9", 301));
        assert_eq!(
            config.rewrite_for("/w/a b").as_deref(),
            Some("/pages/a b.html")
        );
        assert_eq!(config.rewrite_for("/p/x").as_deref(), Some("/café/x"));
    }

    #[test]
    fn trailing_slashes_and_the_root_match_as_documented() {
        let config = read_site(&[("_redirects", "/ /home 302\n/about/ /team 302\n")]).unwrap();
        assert_eq!(config.redirect_for("/"), redirect("/home", 302));
        assert_eq!(config.redirect_for("/x"), None);
        assert_eq!(config.redirect_for("/about"), redirect("/team", 302));
        assert_eq!(config.redirect_for("/about/"), redirect("/team", 302));
        assert_eq!(config.redirect_for("/about//"), None);
        assert_eq!(config.redirect_for("about"), None, "paths start with `/`");
        assert_eq!(config.redirect_for(""), None);
    }

    #[test]
    fn the_config_survives_the_manifest() {
        let config = read_site(&[
            ("vercel.json", r#"{ "cleanUrls": true, "rewrites": [{ "source": "/(.*)", "destination": "/index.html" }] }"#),
            ("_headers", "/*\n  X-A: 1\n"),
        ])
        .unwrap();
        let json = serde_json::to_string(&config).unwrap();
        assert_eq!(serde_json::from_str::<SiteConfig>(&json).unwrap(), config);
        assert_eq!(
            serde_json::from_str::<SiteConfig>("{}").unwrap(),
            SiteConfig::default()
        );
    }

    fn literal_segment() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9._~-]{1,6}"
    }

    fn name() -> impl Strategy<Value = String> {
        "[a-z][a-z0-9_]{0,4}"
    }

    /// Valid sources: literal and `:name` segments, an optional rest token, an optional
    /// trailing slash.
    fn valid_source() -> impl Strategy<Value = String> {
        let segment = prop_oneof![
            literal_segment(),
            name().prop_map(|name| format!(":{name}"))
        ];
        let rest = prop_oneof![
            Just(None),
            Just(Some("*".to_string())),
            Just(Some("(.*)".to_string())),
            name().prop_map(|name| Some(format!(":{name}*"))),
            name().prop_map(|name| Some(format!(":{name}+"))),
            name().prop_map(|name| Some(format!(":{name}(.*)"))),
        ];
        (prop::collection::vec(segment, 0..4), rest, any::<bool>()).prop_map(
            |(mut segments, rest, trailing_slash)| {
                segments.extend(rest);
                let mut source = format!("/{}", segments.join("/"));
                if trailing_slash && source.len() > 1 {
                    source.push('/');
                }
                source
            },
        )
    }

    fn destination() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            literal_segment(),
            name().prop_map(|name| format!(":{name}")),
            name().prop_map(|name| format!(":{name}*")),
            Just(":splat".to_string()),
            Just("$1".to_string()),
            Just("?q=".to_string()),
            "\\PC{0,3}",
        ];
        let start = prop_oneof![
            Just("/"),
            Just("https://example.com/"),
            Just("https://example.com:8080/")
        ];
        (start, prop::collection::vec(piece, 0..5))
            .prop_map(|(start, pieces)| format!("{start}{}", pieces.join("/")))
    }

    fn valid_config() -> impl Strategy<Value = SiteConfig> {
        let redirect = (
            valid_source(),
            destination(),
            prop::sample::select(&REDIRECT_STATUSES[..]),
        )
            .prop_map(|(source, destination, status)| Redirect {
                source,
                destination,
                status,
            });
        let rewrite = (valid_source(), destination()).prop_map(|(source, destination)| Rewrite {
            source,
            destination: format!("/{}", destination.trim_start_matches("https://example.com")),
        });
        let header_rule = (
            valid_source(),
            prop::collection::vec(("[A-Za-z-]{1,8}", "[ -~]{0,12}"), 0..3),
        )
            .prop_map(|(source, headers)| HeaderRule { source, headers });
        (
            prop::collection::vec(redirect, 0..5),
            prop::collection::vec(rewrite, 0..5),
            prop::collection::vec(header_rule, 0..5),
        )
            .prop_map(|(redirects, rewrites, headers)| SiteConfig {
                redirects,
                rewrites,
                headers,
                ..SiteConfig::default()
            })
    }

    fn request_path() -> impl Strategy<Value = String> {
        prop_oneof![
            "\\PC{0,30}",
            "(/[a-z0-9._~-]{0,6}){0,5}/?",
            "/[a-zA-Z0-9 %?#:*()$/\r\n\u{e9}\u{1F600}-]{0,30}",
        ]
    }

    proptest! {
        #[test]
        fn serving_never_panics_and_locations_stay_header_safe(
            config in valid_config(),
            path in request_path(),
        ) {
            for rule in &config.redirects {
                prop_assert_eq!(source_problem(&rule.source), None, "{}", rule.source);
            }
            if let Some((location, status)) = config.redirect_for(&path) {
                prop_assert!(REDIRECT_STATUSES.contains(&status));
                prop_assert!(location.bytes().all(|byte| byte.is_ascii_graphic()), "{location:?}");
            }
            if let Some(rewritten) = config.rewrite_for(&path) {
                prop_assert!(rewritten.starts_with('/'), "{rewritten:?}");
            }
            let headers = config.headers_for(&path);
            let total: usize = config.headers.iter().map(|rule| rule.headers.len()).sum();
            prop_assert!(headers.len() <= total);
        }

        #[test]
        fn a_source_matches_the_paths_it_describes(
            fixed in prop::collection::vec((literal_segment(), any::<bool>()), 0..4),
            rest in prop::collection::vec(literal_segment(), 0..3),
            trailing_slash in any::<bool>(),
        ) {
            // `/lit/:p1/*` -> `/to/:p1/:splat`, against a path that fills every segment in.
            let mut source = String::new();
            let mut destination = String::from("/to");
            let mut expected = String::from("/to");
            for (index, (text, is_placeholder)) in fixed.iter().enumerate() {
                if *is_placeholder {
                    source.push_str(&format!("/:p{index}"));
                    destination.push_str(&format!("/:p{index}"));
                    expected.push_str(&format!("/{text}"));
                } else {
                    source.push_str(&format!("/{text}"));
                }
            }
            source.push_str("/*");
            destination.push_str("/:splat");
            let mut splat = rest.join("/");
            let mut path: String = fixed
                .iter()
                .map(|(text, _)| text)
                .chain(&rest)
                .map(|text| format!("/{text}"))
                .collect();
            if path.is_empty() || trailing_slash {
                path.push('/');
                if !rest.is_empty() {
                    splat.push('/');
                }
            }
            expected.push_str(&format!("/{splat}"));

            let mut reader = Reader::default();
            reader.netlify_redirects(&format!("{source} {destination} 302\n")).unwrap();
            let config = reader.finish();
            prop_assert_eq!(config.redirect_for(&path), Some((expected, 302)), "{} {}", source, path);
        }
    }
}

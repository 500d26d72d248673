//! `vercel.json` (and `pier.json`, which takes the same lists): the keys that configure serving,
//! compiled to routes as Vercel's routing-utils `getTransformedRoutes` does:
//!
//! - `cleanUrls`: `/a.html`, `/a/index` and `/a/index.html` redirect (308) to `/a` (`/a/` with
//!   `trailingSlash: true`);
//! - `trailingSlash`: `true` redirects `/a` to `/a/` (paths with an extension, and
//!   `/.well-known/…`, are left alone, and `/a.css/` loses its slash), `false` redirects
//!   `/a/` to `/a`;
//! - `redirects` (`{source, destination, permanent?, statusCode?, has?, missing?}`; permanent
//!   is 308, `permanent: false` 307), then `headers` (`{source, headers: [{key, value}]}`, with
//!   `:param`s substituted in keys and values), all before the filesystem;
//! - `rewrites` (`{source, destination, has?, missing?}`) after it, each served only if its
//!   destination is a file (`check`).
//!
//! Sources are path-to-regexp patterns (`crate::routes::path_to_regex`); a destination's
//! `:param`s become the source's captures. A rewrite whose destination uses none of them gets
//! them as query parameters, as on Vercel. A legacy `routes` list is taken as written and may
//! not be mixed with the keys above. Every other key (`buildCommand`, `functions`, …) is
//! ignored: it configures builds, not serving.

use serde::Deserialize;

use super::checks::{
    checked_header, checked_redirect_destination, checked_redirect_status,
    checked_rewrite_destination, checked_source,
};
use super::{Located, Reader, RuleLocation, SiteConfigError, VERCEL_JSON};
use crate::routes::{Condition, Route, RouteEntry, compile_destination, compile_header_value};

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct VercelJson {
    clean_urls: Option<bool>,
    trailing_slash: Option<bool>,
    redirects: Vec<JsonRedirect>,
    rewrites: Vec<JsonRewrite>,
    headers: Vec<JsonHeaderRule>,
    routes: Option<Vec<RouteEntry>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct JsonRedirect {
    source: String,
    destination: String,
    permanent: Option<bool>,
    status_code: Option<u16>,
    #[serde(default)]
    has: Vec<Condition>,
    #[serde(default)]
    missing: Vec<Condition>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct JsonRewrite {
    source: String,
    destination: String,
    status_code: Option<u16>,
    #[serde(default)]
    has: Vec<Condition>,
    #[serde(default)]
    missing: Vec<Condition>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct JsonHeaderRule {
    source: String,
    headers: Vec<JsonHeader>,
    #[serde(default)]
    has: Vec<Condition>,
    #[serde(default)]
    missing: Vec<Condition>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonHeader {
    key: String,
    value: String,
}

/// The Vercel-style settings of pier.json and vercel.json together.
#[derive(Default)]
pub(super) struct VercelRules {
    clean_urls: Option<bool>,
    trailing_slash: Option<bool>,
    redirects: Vec<(&'static str, usize, JsonRedirect)>,
    rewrites: Vec<(&'static str, usize, JsonRewrite)>,
    headers: Vec<(&'static str, usize, JsonHeaderRule)>,
    routes: Vec<(&'static str, usize, RouteEntry)>,
    /// vercel.json was read: the filesystem follows Vercel (no `.html` guess without
    /// `cleanUrls`, folders served at `/folder`).
    vercel_filesystem: bool,
}

/// Vercel's routes, split where the filesystem goes.
pub(super) struct VercelRoutes {
    pub before_filesystem: Vec<Located>,
    pub after_filesystem: Vec<Located>,
    pub folders_without_slash: bool,
    pub exact_names: bool,
}

impl Reader {
    pub(super) fn vercel_json(&mut self, text: &str) -> Result<(), SiteConfigError> {
        let settings: VercelJson =
            serde_json::from_str(text).map_err(|source| SiteConfigError::BadJson {
                file: VERCEL_JSON,
                source,
            })?;
        let uses_new_keys = settings.clean_urls.is_some()
            || settings.trailing_slash.is_some()
            || !settings.redirects.is_empty()
            || !settings.rewrites.is_empty()
            || !settings.headers.is_empty();
        if let Some(routes) = settings.routes {
            if uses_new_keys {
                return Err(SiteConfigError::BadRoute {
                    file: VERCEL_JSON,
                    at: RuleLocation::Key("routes"),
                    problem: "`routes` cannot be used with `rewrites`, `redirects`, `headers`, `cleanUrls` or `trailingSlash` (Vercel refuses the mix too)".to_string(),
                });
            }
            self.vercel.routes.extend(
                routes
                    .into_iter()
                    .enumerate()
                    .map(|(index, route)| (VERCEL_JSON, index, route)),
            );
        }
        self.vercel.vercel_filesystem = true;
        self.set_vercel_scalars(settings.clean_urls, settings.trailing_slash);
        self.json_rules(
            VERCEL_JSON,
            settings.redirects,
            settings.rewrites,
            settings.headers,
        );
        Ok(())
    }

    pub(super) fn json_rules(
        &mut self,
        file: &'static str,
        redirects: Vec<JsonRedirect>,
        rewrites: Vec<JsonRewrite>,
        headers: Vec<JsonHeaderRule>,
    ) {
        let rules = &mut self.vercel;
        rules.redirects.extend(
            redirects
                .into_iter()
                .enumerate()
                .map(|(i, rule)| (file, i, rule)),
        );
        rules.rewrites.extend(
            rewrites
                .into_iter()
                .enumerate()
                .map(|(i, rule)| (file, i, rule)),
        );
        rules.headers.extend(
            headers
                .into_iter()
                .enumerate()
                .map(|(i, rule)| (file, i, rule)),
        );
    }

    pub(super) fn set_vercel_scalars(&mut self, clean_urls: Option<bool>, trailing: Option<bool>) {
        self.vercel.clean_urls = self.vercel.clean_urls.or(clean_urls);
        self.vercel.trailing_slash = self.vercel.trailing_slash.or(trailing);
    }
}

impl VercelRules {
    pub(super) fn compile(self) -> Result<VercelRoutes, SiteConfigError> {
        let mut before = Vec::new();
        let mut after = Vec::new();
        let builtin = |key, route: Route| Located {
            file: VERCEL_JSON,
            at: RuleLocation::Key(key),
            route: route.into(),
        };
        for (file, index, route) in self.routes {
            let at = RuleLocation::Entry {
                list: "routes",
                index,
            };
            before.push(Located { file, at, route });
        }
        if self.clean_urls == Some(true) {
            let location = if self.trailing_slash == Some(true) {
                "/$1/"
            } else {
                "/$1"
            };
            for src in [r"^/(?:(.+)/)?index(?:\.html)?/?$", r"^/(.*)\.html/?$"] {
                before.push(builtin("cleanUrls", redirect_route(src, location, 308)));
            }
        }
        match self.trailing_slash {
            Some(true) => {
                before.push(builtin(
                    "trailingSlash",
                    Route {
                        src: r"^/\.well-known(?:/.*)?$".to_string(),
                        ..Route::default()
                    },
                ));
                before.push(builtin(
                    "trailingSlash",
                    redirect_route(r"^/((?:[^/]+/)*[^/\.]+)$", "/$1/", 308),
                ));
                before.push(builtin(
                    "trailingSlash",
                    redirect_route(r"^/((?:[^/]+/)*[^/]+\.\w+)/$", "/$1", 308),
                ));
            }
            Some(false) => before.push(builtin(
                "trailingSlash",
                redirect_route(r"^/(.*)\/$", "/$1", 308),
            )),
            None => {}
        }
        for (file, index, rule) in self.redirects {
            let at = RuleLocation::Entry {
                list: "redirects",
                index,
            };
            let (src, keys) = checked_source(file, at, &rule.source, true)?;
            let status = match (rule.status_code, rule.permanent) {
                (Some(status), _) => status,
                (None, Some(false)) => 307,
                (None, _) => 308,
            };
            let destination = checked_redirect_destination(file, at, &rule.destination)?;
            let location = replace_segments(&keys, &rule.has, &destination, true);
            let mut route =
                redirect_route(&src, &location, checked_redirect_status(file, at, status)?);
            route.has = rule.has;
            route.missing = rule.missing;
            before.push(Located {
                file,
                at,
                route: route.into(),
            });
        }
        for (file, index, rule) in self.headers {
            let at = RuleLocation::Entry {
                list: "headers",
                index,
            };
            let (src, keys) = checked_source(file, at, &rule.source, true)?;
            let indexes = segment_indexes(&keys, &rule.has);
            let mut headers = Vec::new();
            for header in rule.headers {
                // A key may take parameters too; it is checked once they are filled in, and
                // the edge drops one that is not a valid name then.
                let key_has_params = !indexes.is_empty()
                    && indexes
                        .iter()
                        .any(|(name, _)| destination_uses(&header.key, name));
                let checked_name = if key_has_params {
                    "x-parameterised"
                } else {
                    header.key.as_str()
                };
                let (name, value) = checked_header(file, at, checked_name, &header.value)?;
                let key = if key_has_params {
                    compile_header_value(header.key.trim(), &indexes)
                } else {
                    name
                };
                let value = if indexes.is_empty() {
                    value
                } else {
                    compile_header_value(&value, &indexes)
                };
                headers.push((key, value));
            }
            let route = Route {
                src,
                headers,
                continue_: true,
                has: rule.has,
                missing: rule.missing,
                ..Route::default()
            };
            before.push(Located {
                file,
                at,
                route: route.into(),
            });
        }
        for (file, index, rule) in self.rewrites {
            let at = RuleLocation::Entry {
                list: "rewrites",
                index,
            };
            let (src, keys) = checked_source(file, at, &rule.source, true)?;
            let destination = checked_rewrite_destination(file, at, &rule.destination)?;
            let route = Route {
                src,
                dest: Some(replace_segments(&keys, &rule.has, &destination, false)),
                status: rule.status_code,
                check: true,
                has: rule.has,
                missing: rule.missing,
                ..Route::default()
            };
            after.push(Located {
                file,
                at,
                route: route.into(),
            });
        }
        Ok(VercelRoutes {
            before_filesystem: before,
            after_filesystem: after,
            folders_without_slash: self.trailing_slash == Some(false)
                || (self.vercel_filesystem && self.trailing_slash != Some(true)),
            exact_names: self.vercel_filesystem && self.clean_urls != Some(true),
        })
    }
}

pub(super) fn redirect_route(src: &str, location: &str, status: u16) -> Route {
    Route {
        src: src.to_string(),
        headers: vec![("Location".to_string(), location.to_string())],
        status: Some(status),
        ..Route::default()
    }
}

/// Each parameter's capture reference: source parameters by position (`$1`, …), and names
/// captured by `has` values (`$name`), which win.
fn segment_indexes(keys: &[Option<String>], has: &[Condition]) -> Vec<(String, String)> {
    let mut indexes: Vec<(String, String)> = keys
        .iter()
        .enumerate()
        .filter_map(|(i, key)| key.as_ref().map(|key| (key.clone(), format!("${}", i + 1))))
        .collect();
    for name in has_segments(has) {
        indexes.retain(|(key, _)| *key != name);
        indexes.push((name.clone(), format!("${name}")));
    }
    indexes
}

/// Names a `has` condition makes available: named groups in values, `host` for a host value,
/// and a key without a value (its value).
fn has_segments(has: &[Condition]) -> Vec<String> {
    let mut names = Vec::new();
    for condition in has {
        let (key, value) = match condition {
            Condition::Host { value } => {
                names.push("host".to_string());
                (None, Some(value))
            }
            Condition::Header { key, value }
            | Condition::Cookie { key, value }
            | Condition::Query { key, value } => (Some(key), value.as_ref()),
        };
        match value {
            Some(value) => {
                let mut rest = value.as_str();
                while let Some(at) = rest.find("(?<") {
                    let after = &rest[at + 3..];
                    let name: String = after
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() && after[name.len()..].starts_with('>') {
                        names.push(name);
                    }
                    rest = after;
                }
            }
            None => names.extend(key.cloned()),
        }
    }
    names
}

/// A destination with the source's `:params` as capture references, as routing-utils'
/// `replaceSegments` does; for a rewrite that uses none of them in its path, they are added
/// as query parameters.
fn replace_segments(
    keys: &[Option<String>],
    has: &[Condition],
    destination: &str,
    is_redirect: bool,
) -> String {
    let indexes = segment_indexes(keys, has);
    let uses_any = indexes
        .iter()
        .any(|(name, _)| destination_uses(destination, name));
    let mut compiled = compile_destination(destination, &indexes);
    if !is_redirect && !uses_any && !indexes.is_empty() {
        let query: Vec<String> = indexes
            .iter()
            .filter(|(name, _)| !query_has(destination, name))
            .map(|(name, index)| format!("{name}={index}"))
            .collect();
        if !query.is_empty() {
            compiled.push(if compiled.contains('?') { '&' } else { '?' });
            compiled.push_str(&query.join("&"));
        }
    }
    compiled
}

fn destination_uses(destination: &str, name: &str) -> bool {
    destination.match_indices(':').any(|(at, _)| {
        let after = &destination[at + 1..];
        after.starts_with(name)
            && !after[name.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
    })
}

fn query_has(destination: &str, name: &str) -> bool {
    destination.split_once('?').is_some_and(|(_, query)| {
        query
            .split('&')
            .any(|pair| pair.split('=').next() == Some(name))
    })
}

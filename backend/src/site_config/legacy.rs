//! The serving settings of manifests written before the route engine (`cleanUrls`,
//! `trailingSlash`, `spa` and checked redirect, rewrite and header lists), compiled to routes
//! when such a deployment is served, so it answers as it did: redirects before files
//! (case-sensitive, a trailing slash on the request tolerated), rewrites after them, headers
//! for every answer. Nothing writes this shape any more.

use serde::{Deserialize, Serialize};

use super::vercel_json::redirect_route;
use crate::routes::{Phase, Route, RouteEntry, RouteTable, compile_destination, path_to_regex};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LegacyConfig {
    pub clean_urls: bool,
    pub trailing_slash: Option<bool>,
    pub spa: bool,
    pub redirects: Vec<LegacyRedirect>,
    pub rewrites: Vec<LegacyRewrite>,
    pub headers: Vec<LegacyHeaders>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacyRedirect {
    pub source: String,
    pub destination: String,
    pub status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacyRewrite {
    pub source: String,
    pub destination: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacyHeaders {
    pub source: String,
    pub headers: Vec<(String, String)>,
}

impl LegacyConfig {
    pub fn is_empty(&self) -> bool {
        *self == LegacyConfig::default()
    }

    pub fn compile(&self) -> RouteTable {
        let mut routes: Vec<RouteEntry> = Vec::new();
        for rule in &self.headers {
            if let Some((src, _)) = legacy_source(&rule.source) {
                routes.push(
                    Route {
                        src,
                        headers: rule.headers.clone(),
                        continue_: true,
                        case_sensitive: true,
                        ..Route::default()
                    }
                    .into(),
                );
            }
        }
        for rule in &self.redirects {
            if let Some((src, indexes)) = legacy_source(&rule.source) {
                let location = compile_destination(&rule.destination, &indexes);
                let mut route = redirect_route(&src, &location, rule.status);
                route.case_sensitive = true;
                routes.push(route.into());
            }
        }
        if self.clean_urls {
            let location = if self.trailing_slash == Some(true) {
                "/$1/"
            } else {
                "/$1"
            };
            routes.push(redirect_route(r"^/(.*)/index\.html$", "/$1/", 308).into());
            routes.push(redirect_route(r"^/(.+)\.html$", location, 308).into());
        }
        match self.trailing_slash {
            Some(true) => {
                routes.push(redirect_route(r"^/((?:[^/]+/)*[^/\.]+)$", "/$1/", 308).into())
            }
            Some(false) => routes.push(redirect_route(r"^/(.+)/$", "/$1", 308).into()),
            None => {}
        }
        routes.push(RouteEntry::Handle {
            handle: Phase::Filesystem,
        });
        for rule in &self.rewrites {
            if let Some((src, indexes)) = legacy_source(&rule.source) {
                let route = Route {
                    src,
                    dest: Some(compile_destination(&rule.destination, &indexes)),
                    check: true,
                    case_sensitive: true,
                    ..Route::default()
                };
                routes.push(route.into());
            }
        }
        if self.spa {
            routes.push(super::spa_route().into());
        }
        RouteTable {
            routes,
            folders_without_slash: self.trailing_slash == Some(false),
            exact_names: false,
        }
    }
}

/// An old source (literal segments, `:name`, and a last `*`, `(.*)`, `:name*`, `:name+` or
/// `:name(.*)`) as a regex tolerating a trailing slash, with each name's capture reference.
fn legacy_source(source: &str) -> Option<(String, Vec<(String, String)>)> {
    let trimmed = source
        .strip_suffix('/')
        .filter(|s| !s.is_empty())
        .unwrap_or(source);
    let pattern = match trimmed.strip_suffix("/*") {
        Some(parent) => format!("{parent}/:splat*"),
        None => trimmed.to_string(),
    };
    let (regex, keys) = path_to_regex(&pattern).ok()?;
    let regex = format!("{}/?$", regex.strip_suffix('$')?);
    let indexes = keys
        .iter()
        .enumerate()
        .filter_map(|(i, key)| key.as_ref().map(|key| (key.clone(), format!("${}", i + 1))))
        .collect();
    Some((regex, indexes))
}

//! Netlify's `_redirects` and `_headers` files, compiled to routes with Netlify's rules (its
//! docs and its `redirect-parser`/`headers-parser`):
//!
//! - `_redirects`: one rule a line, `from [key=value…] to [status][!] [Condition=value…]`; a
//!   `#` at the start of a line or of a word starts a comment. No status is 301; 3xx codes
//!   redirect, 200 rewrites, any other code serves `to` with that status (`/shop/* /closed.html
//!   404`). `!` forces the rule: forced rules run before the filesystem, the others only when
//!   the path is not a file (Netlify's shadowing). `from` may be a full URL (the rule then
//!   applies to that host only); `key=value` words are query conditions (`id=:id` captures).
//!   `Cookie=name` needs the cookie; `Country`, `Language` and `Role` are refused, since Pier
//!   has no geo data and no user identity.
//!   A rule with a status and no `to` (`/blog/* 200`) forwards to `/blog/:splat`; `from` may not
//!   start with `/.netlify`; the same rule given twice (say in `_redirects` and `netlify.toml`)
//!   counts once, at its later place.
//! - `_headers`: a path line (starting with `/`), then `Name: value` lines, indented or not; a
//!   line that is neither is skipped, as Netlify's parser does; a name repeated in one block
//!   joins its values with `, `. A path without headers does nothing. Paths match as Netlify's
//!   `getForRegExp` does: case-insensitively, `*` anywhere. Netlify's `Basic-Auth` and the
//!   framing headers the server sets are refused.
//!
//! Redirect paths use `:name` (one segment) and `*` (anything, anywhere in the path), matched
//! case-sensitively with or without a trailing slash; see `crate::routes::netlify_to_regex`.
//! `to` may use `:name` and `:splat`.

use super::checks::{
    checked_header, checked_redirect_destination, checked_rewrite_destination, checked_source,
    is_external_url,
};
use super::{Located, NETLIFY_HEADERS, NETLIFY_REDIRECTS, Reader, RuleLocation, SiteConfigError};
use crate::routes::{Condition, Route, regex_escape};

/// One redirect rule, however it was written (a `_redirects` line or a `[[redirects]]` table).
pub(super) struct NetlifyRule {
    pub from: String,
    pub to: String,
    pub status: u16,
    pub force: bool,
    pub query: Vec<(String, String)>,
    pub conditions: Vec<(String, Vec<String>)>,
    pub headers: Vec<(String, String)>,
}

type HeaderBlock = (RuleLocation, String, Vec<(String, String)>);

impl Reader {
    pub(super) fn netlify_redirects(&mut self, text: &str) -> Result<(), SiteConfigError> {
        let file = NETLIFY_REDIRECTS;
        for (index, line) in text.lines().enumerate() {
            let at = RuleLocation::Line(index + 1);
            let bad_line = |problem: String| SiteConfigError::BadLine {
                file,
                line: index + 1,
                problem,
            };
            let tokens: Vec<&str> = line
                .split_whitespace()
                .take_while(|token| !token.starts_with('#'))
                .collect();
            let Some((&from, rest)) = tokens.split_first() else {
                continue;
            };
            // `from 200` (no destination) forwards a splat to itself, as Netlify's parser reads it.
            let status_first = rest
                .first()
                .is_some_and(|token| leading_number(token).is_some());
            let to_index = if status_first {
                None
            } else {
                match rest.iter().position(|token| is_destination(token)) {
                    Some(index) => Some(index),
                    None => {
                        return Err(bad_line(match rest.is_empty() {
                            true => "has a path but no destination".to_string(),
                            false => format!(
                                "has no destination: `to` must start with `/` or be a full URL, and `{}` is neither",
                                rest[rest.len() - 1]
                            ),
                        }));
                    }
                }
            };
            let mut query = Vec::new();
            for token in &rest[..to_index.unwrap_or(0)] {
                match token.split_once('=') {
                    Some((key, value)) => query.push((key.to_string(), value.to_string())),
                    None => {
                        return Err(bad_line(format!(
                            "has `{token}` between the path and the destination; only `key=value` query conditions go there"
                        )));
                    }
                }
            }
            let mut after = rest[to_index.map_or(0, |index| index + 1)..]
                .iter()
                .peekable();
            let (status, force) = match after.peek() {
                Some(token) if !token.contains('=') => {
                    let Some(status) = leading_number(token) else {
                        return Err(bad_line(format!(
                            "`{token}` is not a status code; a rule is `from to [status][!]`"
                        )));
                    };
                    let forced = token.ends_with('!');
                    after.next();
                    (status, forced)
                }
                _ => (301, false),
            };
            let mut conditions = Vec::new();
            for token in after {
                let Some((key, values)) = token.split_once('=') else {
                    return Err(bad_line(format!(
                        "has `{token}` after the status; conditions are written `Key=value`"
                    )));
                };
                conditions.push((
                    key.to_string(),
                    values.split(',').map(str::to_string).collect(),
                ));
            }
            let to = match to_index {
                Some(index) => rest[index].to_string(),
                None => forward_target(from, status).ok_or_else(|| {
                    bad_line(
                        "has a status but no destination; only `/path/* 200` may leave it out"
                            .to_string(),
                    )
                })?,
            };
            let rule = NetlifyRule {
                from: from.to_string(),
                to,
                status,
                force,
                query,
                conditions,
                headers: Vec::new(),
            };
            self.push_netlify_rule(file, at, rule)?;
        }
        Ok(())
    }

    pub(super) fn push_netlify_rule(
        &mut self,
        file: &'static str,
        at: RuleLocation,
        rule: NetlifyRule,
    ) -> Result<(), SiteConfigError> {
        let route: crate::routes::RouteEntry = netlify_route(file, at, &rule)?.into();
        // The same rule in `_redirects` and `netlify.toml` counts once, at its later place.
        self.netlify_forced.retain(|earlier| earlier.route != route);
        self.netlify_unforced
            .retain(|earlier| earlier.route != route);
        let located = Located { file, at, route };
        if rule.force {
            self.netlify_forced.push(located);
        } else {
            self.netlify_unforced.push(located);
        }
        Ok(())
    }

    pub(super) fn netlify_headers(&mut self, text: &str) -> Result<(), SiteConfigError> {
        let file = NETLIFY_HEADERS;
        // The block being read: where its path line is, the path, its headers.
        let mut block: Option<HeaderBlock> = None;
        for (index, line) in text.lines().enumerate() {
            let at = RuleLocation::Line(index + 1);
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            if trimmed.starts_with('/') {
                if let Some((at, path, headers)) = block.take() {
                    self.push_netlify_headers(file, at, &path, headers)?;
                }
                block = Some((at, trimmed.to_string(), Vec::new()));
                continue;
            }
            let bad_line = |problem: &str| SiteConfigError::BadLine {
                file,
                line: index + 1,
                problem: problem.to_string(),
            };
            let Some((_, _, headers)) = block.as_mut() else {
                return Err(bad_line(
                    "is a header line before any path line; a block starts with a path like `/*`",
                ));
            };
            // Netlify's parser skips a line that is neither a path nor a header.
            let Some((name, value)) = trimmed.split_once(':') else {
                continue;
            };
            if value.trim().is_empty() {
                return Err(bad_line("is a header with no value"));
            }
            let (name, value) = checked_header(file, at, name, value)?;
            add_joined(headers, name, value);
        }
        if let Some((at, path, headers)) = block {
            self.push_netlify_headers(file, at, &path, headers)?;
        }
        Ok(())
    }

    pub(super) fn push_netlify_headers(
        &mut self,
        file: &'static str,
        at: RuleLocation,
        path: &str,
        headers: Vec<(String, String)>,
    ) -> Result<(), SiteConfigError> {
        if headers.is_empty() {
            return Ok(());
        }
        let route = Route {
            src: headers_path_regex(path),
            headers,
            continue_: true,
            ..Route::default()
        };
        self.netlify_headers.push(Located {
            file,
            at,
            route: route.into(),
        });
        Ok(())
    }
}

/// Adds a header, joining a repeated name's values with `, ` as Netlify does.
pub(super) fn add_joined(headers: &mut Vec<(String, String)>, name: String, value: String) {
    match headers
        .iter_mut()
        .find(|(seen, _)| seen.eq_ignore_ascii_case(&name))
    {
        Some(earlier) => {
            earlier.1.push_str(", ");
            earlier.1.push_str(&value);
        }
        None => headers.push((name, value)),
    }
}

/// The number a status token starts with (`301`, `200!`), as Netlify's `parseInt` reads it.
fn leading_number(token: &str) -> Option<u16> {
    let digits = token.bytes().take_while(u8::is_ascii_digit).count();
    token[..digits].parse().ok()
}

/// A rule without a destination forwards `/path/*` to `/path/:splat` when its status is 2xx.
pub(super) fn forward_target(from: &str, status: u16) -> Option<String> {
    let parent = from.strip_suffix("/*")?;
    (200..300)
        .contains(&status)
        .then(|| format!("{parent}/:splat"))
}

/// A `_headers` path as Netlify's `getForRegExp` matches it: case-insensitively, segment by
/// segment (spaces at a segment's end and empty segments dropped), `:name` one segment, a `*`
/// segment anything at all (the bare parent too), `*` inside a segment anything there.
fn headers_path_regex(path: &str) -> String {
    let parts: Vec<String> = path
        .trim()
        .split('/')
        .map(str::trim_end)
        .filter(|part| !part.is_empty())
        .map(|part| {
            if part.starts_with(':') {
                "([^/]+)".to_string()
            } else if part == "*" {
                "?(.*)".to_string()
            } else {
                part.split('*')
                    .map(regex_escape)
                    .collect::<Vec<_>>()
                    .join("(.*)")
            }
        })
        .collect();
    format!("^/{}/?$", parts.join("/"))
}

fn is_destination(token: &str) -> bool {
    token.starts_with('/') || is_external_url(token)
}

/// `https://host/path` → (`Some(host)`, `/path`); a plain path stays as it is; `None` for a
/// URL without a host.
fn split_host(from: &str) -> Option<(Option<&str>, &str)> {
    if !is_external_url(from) {
        return Some((None, from));
    }
    let after_scheme = from.split_once("//").map_or(from, |(_, rest)| rest);
    let (host, path) = match after_scheme.find('/') {
        Some(slash) => (&after_scheme[..slash], &after_scheme[slash..]),
        None => (after_scheme, "/"),
    };
    let host = host.rsplit('@').next().unwrap_or(host);
    let host = host.split(':').next().unwrap_or(host);
    let valid = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    valid.then_some((Some(host), path))
}

fn host_condition(host: Option<&str>) -> Vec<Condition> {
    host.map(|host| Condition::Host {
        value: regex_escape(&host.to_ascii_lowercase()),
    })
    .into_iter()
    .collect()
}

/// Group names for query captures: letters only, since `$name` references stop at other
/// characters.
fn query_group(index: usize) -> String {
    let mut name = String::from("query");
    let mut rest = index;
    loop {
        name.push(char::from(b'a' + (rest % 26) as u8));
        rest /= 26;
        if rest == 0 {
            break name;
        }
    }
}

fn netlify_route(
    file: &'static str,
    at: RuleLocation,
    rule: &NetlifyRule,
) -> Result<Route, SiteConfigError> {
    let unsupported = |condition: &str, why| SiteConfigError::UnsupportedCondition {
        file,
        at,
        condition: condition.to_string(),
        why,
    };
    let bad_from = |problem: &str| SiteConfigError::BadSource {
        file,
        at,
        pattern: rule.from.clone(),
        problem: problem.to_string(),
    };
    let (host, path) = split_host(&rule.from).ok_or_else(|| bad_from("is not a valid URL"))?;
    if path == "/.netlify" || path.starts_with("/.netlify/") {
        return Err(bad_from(
            "starts with `/.netlify`, which Netlify reserves for its own endpoints",
        ));
    }
    let (src, keys) = checked_source(file, at, path, false)?;
    let mut has = host_condition(host);
    // Placeholders: path ones by capture number, query ones by a generated group name.
    let mut references: Vec<(String, String)> = keys
        .iter()
        .enumerate()
        .filter_map(|(i, key)| key.as_ref().map(|key| (key.clone(), format!("${}", i + 1))))
        .collect();
    for (index, (key, value)) in rule.query.iter().enumerate() {
        let value = match value.strip_prefix(':') {
            Some(name) if !name.is_empty() => {
                let group = query_group(index);
                references.push((name.to_string(), format!("${group}")));
                format!("(?<{group}>.*)")
            }
            _ => regex_escape(value),
        };
        has.push(Condition::Query {
            key: key.clone(),
            value: Some(value),
        });
    }
    for (key, values) in &rule.conditions {
        match key.to_ascii_lowercase().as_str() {
            "country" | "language" => {
                return Err(unsupported(
                    key,
                    "Pier's edge has no geolocation or language data to match it against",
                ));
            }
            "role" => {
                return Err(unsupported(
                    key,
                    "Pier has no user identity (Netlify Identity) to match roles against",
                ));
            }
            "cookie" if values.len() == 1 => has.push(Condition::Cookie {
                key: values[0].clone(),
                value: None,
            }),
            // Signing concerns proxied requests, which Pier refuses anyway.
            "sign" | "signed" => {}
            _ => {
                return Err(unsupported(
                    key,
                    "Pier matches `Cookie=name` (one cookie) and query parameters only",
                ));
            }
        }
    }
    let to = substitute_placeholders(&rule.to, &references);
    let mut headers = rule.headers.clone();
    let mut route = Route {
        src,
        case_sensitive: true,
        has,
        ..Route::default()
    };
    match rule.status {
        300..=399 => {
            checked_redirect_destination(file, at, &rule.to)?;
            headers.insert(0, ("Location".to_string(), to));
            route.status = Some(rule.status);
        }
        200 => {
            checked_rewrite_destination(file, at, &rule.to)?;
            route.dest = Some(decoded_dest(&to));
        }
        status @ 400..=599 => {
            checked_rewrite_destination(file, at, &rule.to)?;
            route.dest = Some(decoded_dest(&to));
            route.status = Some(status);
        }
        status => {
            return Err(SiteConfigError::BadStatus { file, at, status });
        }
    }
    route.headers = headers;
    Ok(route)
}

/// A rewrite target is looked up as a decoded path, like the request.
fn decoded_dest(to: &str) -> String {
    let (path, query) = match to.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (to, None),
    };
    let path = super::checks::percent_decoded(path).unwrap_or_else(|| path.to_string());
    match query {
        Some(query) => format!("{path}?{query}"),
        None => path,
    }
}

/// `:name` and `:splat` in `to`, as capture references; other text is kept.
fn substitute_placeholders(to: &str, references: &[(String, String)]) -> String {
    let mut out = String::with_capacity(to.len());
    let mut rest = to;
    while let Some(colon) = rest.find(':') {
        out.push_str(&rest[..colon]);
        let after = &rest[colon + 1..];
        let name_len = after
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count();
        // The last capture of a name wins (several `*` all capture `splat`).
        match references
            .iter()
            .rev()
            .find(|(name, _)| name == &after[..name_len])
        {
            Some((_, reference)) if name_len > 0 => {
                out.push_str(reference);
                rest = &after[name_len..];
            }
            _ => {
                out.push(':');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

//! `netlify.toml`'s `[[redirects]]` (`from`, `to`, `status`, `force`, `query`, `conditions`,
//! `headers`, and the older names `origin`, `destination`, `params`, `parameters`) and
//! `[[headers]]` (`for`, `values`), with the same rules as `_redirects` and `_headers`
//! (`netlify.rs`); its rules come after `_redirects`' as on Netlify. A header value's
//! comma-separated parts, or an array's items, are joined with `, `. `signed` concerns proxied
//! requests only and is ignored; the file's other tables (`[build]`, `[context]`, plugins, …)
//! configure builds and are ignored too.

use serde::Deserialize;

use super::netlify::{NetlifyRule, add_joined};
use super::{NETLIFY_TOML, Reader, RuleLocation, SiteConfigError};

#[derive(Default, Deserialize)]
#[serde(default)]
struct NetlifyToml {
    redirects: Vec<TomlRedirect>,
    headers: Vec<TomlHeaders>,
}

/// A `[[redirects]]` table with the older names Netlify still reads (`origin`, `destination`,
/// `params`, `parameters`, `sign`, `signing`); other keys are ignored, as Netlify does.
#[derive(Deserialize)]
struct TomlRedirect {
    from: Option<String>,
    origin: Option<String>,
    to: Option<String>,
    destination: Option<String>,
    status: Option<toml::Value>,
    #[serde(default)]
    force: bool,
    query: Option<toml::Table>,
    params: Option<toml::Table>,
    parameters: Option<toml::Table>,
    #[serde(default)]
    conditions: toml::Table,
    #[serde(default)]
    headers: toml::Table,
}

#[derive(Deserialize)]
struct TomlHeaders {
    #[serde(rename = "for")]
    path: String,
    #[serde(default)]
    values: toml::Table,
}

/// A TOML value as text: strings as they are, arrays joined with `, `.
fn text_of(value: &toml::Value) -> String {
    match value {
        toml::Value::String(text) => text.trim().to_string(),
        toml::Value::Array(items) => items.iter().map(text_of).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

fn values_of(value: &toml::Value) -> Vec<String> {
    match value {
        toml::Value::Array(items) => items.iter().map(text_of).collect(),
        other => vec![text_of(other)],
    }
}

/// A header value as Netlify's headers parser normalises it: a string's comma-separated parts
/// (across lines too) joined with `, `, or an array of strings joined with `, `; `None` for
/// any other type.
fn header_value(value: &toml::Value) -> Option<String> {
    let string = |value: &toml::Value| match value {
        toml::Value::String(text) => Some(text.trim().to_string()),
        _ => None,
    };
    match value {
        toml::Value::String(text) => Some(
            text.trim()
                .split(',')
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        toml::Value::Array(items) => Some(
            items
                .iter()
                .map(string)
                .collect::<Option<Vec<_>>>()?
                .join(", "),
        ),
        _ => None,
    }
}

fn status_of(value: &toml::Value) -> Option<u16> {
    match value {
        toml::Value::Integer(code) => u16::try_from(*code).ok(),
        toml::Value::String(text) => {
            let digits = text.bytes().take_while(u8::is_ascii_digit).count();
            text[..digits].parse().ok()
        }
        _ => None,
    }
}

impl Reader {
    pub(super) fn netlify_toml(&mut self, text: &str) -> Result<(), SiteConfigError> {
        let file = NETLIFY_TOML;
        let settings: NetlifyToml =
            toml::from_str(text).map_err(|source| SiteConfigError::BadToml { file, source })?;
        for (index, redirect) in settings.redirects.into_iter().enumerate() {
            let at = RuleLocation::Entry {
                list: "redirects",
                index,
            };
            let bad = |problem: &str| SiteConfigError::BadRoute {
                file,
                at,
                problem: problem.to_string(),
            };
            let Some(from) = redirect.from.or(redirect.origin) else {
                return Err(bad("has no `from`"));
            };
            let status = match &redirect.status {
                Some(value) => status_of(value).ok_or_else(|| {
                    bad(&format!(
                        "has `status = {value}`, which is not a status code"
                    ))
                })?,
                None => 301,
            };
            let to = match redirect.to.or(redirect.destination) {
                Some(to) => to,
                None => super::netlify::forward_target(&from, status).ok_or_else(|| {
                    bad("has no `to`; only `from = \"/path/*\"` with a 200 status may leave it out")
                })?,
            };
            let query = redirect
                .query
                .or(redirect.params)
                .or(redirect.parameters)
                .unwrap_or_default();
            let rule = NetlifyRule {
                from,
                to,
                status,
                force: redirect.force,
                query: query
                    .iter()
                    .map(|(key, value)| (key.clone(), text_of(value)))
                    .collect(),
                conditions: redirect
                    .conditions
                    .iter()
                    .map(|(key, value)| (key.clone(), values_of(value)))
                    .collect(),
                headers: redirect
                    .headers
                    .iter()
                    .map(|(key, value)| (key.clone(), text_of(value)))
                    .collect(),
            };
            self.push_netlify_rule(file, at, rule)?;
        }
        for (index, block) in settings.headers.into_iter().enumerate() {
            let at = RuleLocation::Entry {
                list: "headers",
                index,
            };
            let mut headers = Vec::new();
            for (name, value) in &block.values {
                let Some(text) = header_value(value) else {
                    return Err(SiteConfigError::BadHeader {
                        file,
                        at,
                        name: name.clone(),
                        problem: "has a value that is not a string or a list of strings",
                    });
                };
                let (name, value) = super::checks::checked_header(file, at, name, &text)?;
                add_joined(&mut headers, name, value);
            }
            self.push_netlify_headers(file, at, &block.path, headers)?;
        }
        Ok(())
    }
}

//! `has` and `missing` conditions, compiled once: a value is a regular expression that must
//! match the whole host, header, cookie or query value (Next.js's and Vercel's `matchHas`), and
//! its named groups become captures; a `host` value also captures the host as `$host`. Without
//! a value, the header, cookie or query parameter only has to be present, and its value is
//! captured under its key. Cookie values are
//! compared as sent, query values percent-decoded (`+` as a space), headers by lower-case name.

use fancy_regex::Regex;

use super::Condition;
use super::request::Incoming;

#[derive(Debug)]
pub(super) enum Compiled {
    Host(Regex),
    Header(String, Option<Regex>),
    Cookie(String, Option<Regex>),
    Query(String, Option<Regex>),
}

pub(super) fn compile(condition: &Condition) -> Result<Compiled, String> {
    let whole = |value: &str| {
        Regex::new(&format!("^(?:{value})$"))
            .map_err(|e| format!("the condition's value `{value}` is not a valid regex: {e}"))
    };
    let optional = |value: &Option<String>| value.as_deref().map(whole).transpose();
    Ok(match condition {
        Condition::Host { value } => Compiled::Host(whole(value)?),
        Condition::Header { key, value } => {
            Compiled::Header(key.to_ascii_lowercase(), optional(value)?)
        }
        Condition::Cookie { key, value } => Compiled::Cookie(key.clone(), optional(value)?),
        Condition::Query { key, value } => Compiled::Query(key.clone(), optional(value)?),
    })
}

/// Whether the condition holds; named groups of a matched value go into `named`.
pub(super) fn holds(
    condition: &Compiled,
    request: &dyn Incoming,
    named: &mut Vec<(String, String)>,
) -> bool {
    let (key, value, regex): (&str, Option<String>, Option<&Regex>) = match condition {
        Compiled::Host(regex) => {
            let host = request.host();
            let matched = matches(regex, host, named);
            if matched {
                named.push(("host".to_string(), host.to_string()));
            }
            return matched;
        }
        Compiled::Header(key, regex) => {
            (key, request.header(key).map(str::to_string), regex.as_ref())
        }
        Compiled::Cookie(key, regex) => (key, cookie(request, key), regex.as_ref()),
        Compiled::Query(key, regex) => (key, query_value(request.query(), key), regex.as_ref()),
    };
    match (value, regex) {
        (None, _) => false,
        // A key alone captures its value under its own name.
        (Some(value), None) => {
            named.push((key.to_string(), value));
            true
        }
        (Some(value), Some(regex)) => matches(regex, &value, named),
    }
}

fn matches(regex: &Regex, value: &str, named: &mut Vec<(String, String)>) -> bool {
    let Ok(Some(captures)) = regex.captures(value) else {
        return false;
    };
    for name in regex.capture_names().flatten() {
        if let Some(found) = captures.name(name) {
            named.push((name.to_string(), found.as_str().to_string()));
        }
    }
    true
}

fn cookie(request: &dyn Incoming, key: &str) -> Option<String> {
    let header = request.header("cookie")?;
    header.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name.trim() == key).then(|| value.trim().to_string())
    })
}

/// The first value of a query parameter, decoded.
pub(super) fn query_value(query: Option<&str>, key: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        (decode_query(name) == key).then(|| decode_query(value))
    })
}

fn decode_query(text: &str) -> String {
    let spaced = text.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

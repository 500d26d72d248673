//! What every rule is checked for at read time, whatever file it came from, so a bad rule
//! fails the deploy naming its file and place instead of misbehaving at the edge: sources that
//! compile (path-to-regexp for Vercel's formats, Netlify's paths for Netlify's), matched
//! percent-decoded (Netlify writes them encoded);
//! redirect destinations that are a path or an `http(s)://` URL; rewrite destinations inside
//! the deployment; redirect statuses 301, 302, 303, 307 and 308; and headers with RFC 9110
//! token names, printable ASCII values, and none of the framing headers the server sets
//! (`Content-Length`, `Transfer-Encoding`, `Connection`, …) nor Netlify's `Basic-Auth`.

use super::{RuleLocation, SiteConfigError};
use crate::routes::{netlify_to_regex, path_to_regex};

/// A destination (or source) on another site: `http://`, `https://` or protocol-relative.
pub(super) fn is_external_url(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("//")
}

pub(super) const REDIRECT_STATUSES: [u16; 5] = [301, 302, 303, 307, 308];

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

/// A source, percent-decoded (Netlify writes them encoded, and paths are matched decoded),
/// compiled to a regex: a path-to-regexp pattern for Vercel's formats, a Netlify path
/// otherwise. Returns the regex and the parameter names in capture order.
pub(super) fn checked_source(
    file: &'static str,
    at: RuleLocation,
    source: &str,
    vercel: bool,
) -> Result<(String, Vec<Option<String>>), SiteConfigError> {
    let bad_source = |problem: String| SiteConfigError::BadSource {
        file,
        at,
        pattern: source.to_string(),
        problem,
    };
    if is_external_url(source) {
        return Err(bad_source(
            "is a full URL; a source is a path on this site".to_string(),
        ));
    }
    // Vercel's path-to-regexp takes any source (`(.*)\.woff` too); Netlify's paths are paths.
    if !vercel && !source.starts_with('/') {
        return Err(bad_source("must start with `/`".to_string()));
    }
    let decoded = percent_decoded(source).ok_or_else(|| bad_source(NOT_UTF8.to_string()))?;
    let compiled = if vercel {
        path_to_regex(&decoded)
    } else {
        netlify_to_regex(&decoded)
    };
    compiled.map_err(|e| bad_source(e.0))
}

pub(super) fn checked_redirect_destination(
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

/// Returns the destination with its path decoded to match the manifest's file paths and its
/// query kept (server code will read it); a fragment is dropped, since it never reaches a
/// server.
pub(super) fn checked_rewrite_destination(
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
    let without_fragment = destination.split('#').next().unwrap_or(destination);
    let (path, query) = match without_fragment.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (without_fragment, None),
    };
    let path = percent_decoded(path).ok_or_else(|| bad_destination(NOT_UTF8))?;
    Ok(match query {
        Some(query) => format!("{path}?{query}"),
        None => path,
    })
}

pub(super) fn checked_redirect_status(
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

pub(super) fn checked_header(
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

/// Decodes `%XX` escapes; a `%` not followed by two hex digits stays as it is, as Netlify
/// leaves it. `None` when the bytes are not UTF-8.
pub(super) fn percent_decoded(text: &str) -> Option<String> {
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

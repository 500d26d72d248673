//! What every rule is checked for at read time, whatever file it came from, so a bad rule
//! fails the deploy naming its file and place instead of misbehaving at the edge: sources the
//! matcher (`matcher.rs`) can match, stored percent-decoded (Netlify writes them encoded);
//! redirect destinations that are a path or an `http(s)://` URL; rewrite destinations inside
//! the deployment; redirect statuses 301, 302, 303, 307 and 308; and headers with RFC 9110
//! token names, printable ASCII values, and none of the framing headers the server sets
//! (`Content-Length`, `Transfer-Encoding`, `Connection`, …) nor Netlify's `Basic-Auth`.

use super::matcher::{is_external_url, source_problem};
use super::{RuleLocation, SiteConfigError};

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

pub(super) fn checked_source(
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

/// Returns the destination's path, decoded to match the manifest's file paths. A query string
/// or fragment is dropped: it would never reach the browser, and files do not read it.
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
    let path = destination
        .find(['?', '#'])
        .map_or(destination, |end| &destination[..end]);
    percent_decoded(path).ok_or_else(|| bad_destination(NOT_UTF8))
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

//! Request paths → the one decoded path a request may ask for.
//!
//! One pure function holds every rule (RFC 3986 §3.3 segments, §2.1 percent-encoding):
//! the path must be absolute; it is percent-decoded exactly once and must then be UTF-8;
//! encoded `/`, `\` and NUL (`%2F`, `%5C`, `%00`) are refused before decoding, because after
//! decoding they would change which segments the path has; `.` and `..` segments, backslashes,
//! NUL and other control characters are refused after; runs of `/` collapse to one. The result
//! is only ever looked up in the host's own manifest, so no request can reach outside it.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathError {
    NotAbsolute,
    EncodedSeparator,
    BadEscape,
    NotUtf8,
    DotSegment,
    ForbiddenCharacter,
    TooLong,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathError::NotAbsolute => "the path does not start with /",
            PathError::EncodedSeparator => "the path encodes a separator or NUL",
            PathError::BadEscape => "the path has a malformed %-escape",
            PathError::NotUtf8 => "the path is not UTF-8 once decoded",
            PathError::DotSegment => "the path has a . or .. segment",
            PathError::ForbiddenCharacter => "the path has a backslash or control character",
            PathError::TooLong => "the path is too long",
        })
    }
}

/// Longer paths are refused outright; no deployment has files this deep.
pub const MAX_PATH_BYTES: usize = 4096;

/// The decoded, normalised path of a request target's path part (without `?query`).
/// Always starts with `/`; keeps a trailing `/`.
pub fn normalize(raw: &str) -> Result<String, PathError> {
    if raw.len() > MAX_PATH_BYTES {
        return Err(PathError::TooLong);
    }
    if !raw.starts_with('/') {
        return Err(PathError::NotAbsolute);
    }
    let bytes = raw.as_bytes();
    let mut index = 0;
    while let Some(offset) = bytes[index..].iter().position(|&b| b == b'%') {
        let at = index + offset;
        let escape = bytes.get(at + 1..at + 3).ok_or(PathError::BadEscape)?;
        if !escape.iter().all(u8::is_ascii_hexdigit) {
            return Err(PathError::BadEscape);
        }
        let value = u8::from_str_radix(std::str::from_utf8(escape).expect("hex is ascii"), 16)
            .expect("two hex digits");
        if matches!(value, b'/' | b'\\' | 0) {
            return Err(PathError::EncodedSeparator);
        }
        index = at + 3;
    }
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| PathError::NotUtf8)?;
    if decoded.chars().any(|c| c == '\\' || c.is_control()) {
        return Err(PathError::ForbiddenCharacter);
    }
    let mut normalized = String::with_capacity(decoded.len());
    for segment in decoded.split('/').filter(|segment| !segment.is_empty()) {
        if segment == "." || segment == ".." {
            return Err(PathError::DotSegment);
        }
        normalized.push('/');
        normalized.push_str(segment);
    }
    if normalized.is_empty() || decoded.ends_with('/') {
        normalized.push('/');
    }
    Ok(normalized)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_once_and_keeps_the_shape() {
        assert_eq!(normalize("/").unwrap(), "/");
        assert_eq!(normalize("/a/b/").unwrap(), "/a/b/");
        assert_eq!(normalize("//a///b").unwrap(), "/a/b");
        assert_eq!(
            normalize("/with%20space/%C3%BC.txt").unwrap(),
            "/with space/ü.txt"
        );
        assert_eq!(
            normalize("/%252e%252e/x").unwrap(),
            "/%2e%2e/x",
            "decoded once only"
        );
        assert_eq!(
            normalize("/weird%20%23name%2520").unwrap(),
            "/weird #name%20"
        );
    }

    #[test]
    fn the_traversal_corpus_is_refused() {
        for attack in [
            "/../etc/passwd",
            "/a/../../b",
            "/%2e%2e/secret",
            "/%2E%2E%2Fsecret",
            "/a/%2e/b",
            "/..%2fsecret",
            "/..%5csecret",
            "/a\\..\\b",
            "/%5c..%5cb",
            "/a%00.html",
            "/a%0a",
            "/.",
            "/./a",
            "relative/path",
            "",
            "/%",
            "/%g0",
            "/%c0%ae%c0%ae/overlong",
            "/%ff",
        ] {
            assert!(normalize(attack).is_err(), "{attack:?} must be refused");
        }
    }

    proptest! {
        #[test]
        fn results_never_escape(raw in "/[a-zA-Z0-9%./\\\\ _-]{0,40}") {
            if let Ok(path) = normalize(&raw) {
                prop_assert!(path.starts_with('/'));
                prop_assert!(!path.split('/').any(|s| s == ".." || s == "."));
                prop_assert!(!path.contains('\\') && !path.contains('\0'));
                prop_assert!(!path.contains("//"));
                // Normalising is idempotent once percent signs are re-escaped.
                let again = normalize(&path.replace('%', "%25")).unwrap();
                prop_assert_eq!(again, path);
            }
        }

        #[test]
        fn never_panics(raw in "\\PC{0,64}") {
            let _ = normalize(&raw);
        }
    }
}

//! The one small segment matcher every source uses, whatever file it came from, and the
//! substitution of captures into destinations.
//!
//! Sources are literal segments, `:name` for one segment, and as the last segment only, the
//! rest of the path (zero or more segments): Netlify's `*` (captured as `splat`), Vercel's
//! `:name*`, `:name(.*)` and `(.*)` (captured as `$1`), and `:name+` (one or more), the subset of
//! path-to-regexp (Vercel) and Netlify's splats that needs no regular expressions. Matching is on
//! the percent-decoded path and case-sensitive; a trailing slash on the request is tolerated,
//! and a trailing slash on a source is ignored. Other pattern syntax (regex groups, optional
//! segments, mixed segments like `:slug.html`) is rejected at read time naming the rule.
//! Destinations substitute `:name`, `:name*`, `:splat` and `$1`; names the source does not
//! capture stay as written (so `https://host:8080` is safe). In a Location header, captured text
//! is percent-encoded to RFC 3986 `pchar`s (in a query, `&`, `=` and `+` too), so no request
//! path can inject a header or break the URL.

const UNSUPPORTED_SYNTAX: &str = "uses pattern syntax Pier does not support: a segment is literal text or `:name`, and only the last may be `*`, `(.*)`, `:name*`, `:name+` or `:name(.*)`";

/// Characters that mean something in Vercel's or Netlify's patterns and that this matcher
/// would otherwise take literally, silently never matching.
const PATTERN_CHARACTERS: [char; 14] = [
    ':', '(', ')', '*', '?', '+', '[', ']', '{', '}', '|', '\\', '^', '$',
];

/// Why a (decoded) source cannot be matched, if it cannot.
pub(super) fn source_problem(source: &str) -> Option<&'static str> {
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

/// A destination (or source) on another site: `http://`, `https://` or protocol-relative.
pub(super) fn is_external_url(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("//")
}

fn is_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(is_name_byte)
}

fn is_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

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
pub(super) struct Capture<'a> {
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
pub(super) fn match_source<'a>(source: &'a str, path: &'a str) -> Option<Vec<Capture<'a>>> {
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
pub(super) enum Target {
    /// A Location header: captured text is percent-encoded, and so is anything never valid in
    /// a URL, so no request path can inject a header or break the URL.
    Location,
    /// A decoded path in the deployment, to look up as a file.
    Path,
}

pub(super) fn substitute(template: &str, captures: &[Capture<'_>], target: Target) -> String {
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

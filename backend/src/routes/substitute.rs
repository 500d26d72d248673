//! `$1` and `$name` in a route's `dest` and header values, replaced by what the route's `src`
//! (and its `has` conditions) captured, as Vercel's router does: `$` and then digits or a
//! name (with `_` too); a number beyond the groups is empty; a name nothing captured stays
//! as written.
//!
//! Paths are matched decoded, so in a `Location` header or another header value captured text
//! is percent-encoded again to RFC 3986 `pchar`s (in a query also `&`, `=` and `+`): no request
//! can inject a header or break the URL. The route's own text keeps its `%XX` escapes and
//! only what is never valid in a URL is escaped. A rewrite's destination path is decoded, like
//! the request path, and takes captures as they are; in its query (which a function gets) they
//! are encoded as in a `Location`.

/// What a matched route captured.
#[derive(Debug, Default)]
pub(super) struct Captured<'a> {
    /// Capture groups by number; `groups[0]` is the whole match.
    pub groups: Vec<Option<&'a str>>,
    /// Named groups of `src` and of `has` values (and `host`).
    pub named: Vec<(&'a str, &'a str)>,
}

impl<'a> Captured<'a> {
    fn lookup(&self, reference: &str) -> Option<&'a str> {
        if let Some((_, value)) = self.named.iter().find(|(name, _)| *name == reference) {
            return Some(value);
        }
        if reference.contains(['_', '0']) && !reference.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        let digits = reference.bytes().take_while(u8::is_ascii_digit).count();
        let number: usize = reference[..digits].parse().ok()?;
        Some(self.groups.get(number).copied().flatten().unwrap_or(""))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    /// A `Location` header: captures are percent-encoded, and so is anything in the route's
    /// own text that is never valid in a URL.
    Location,
    /// Another header value: captures are percent-encoded; the route's text is kept.
    HeaderValue,
    /// A decoded path inside the deployment.
    Path,
}

pub(super) fn substitute(template: &str, captured: &Captured<'_>, target: Target) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut in_query = false;
    let mut rest = template;
    while let Some(next) = rest.chars().next() {
        if next == '$' {
            // Vercel's router reads `$` then `[1-9a-zA-Z]+`; a longer name with `_` or `0`
            // (`$sub_domain`) is taken when something captured it.
            let after = &rest[1..];
            let short = after
                .bytes()
                .take_while(|b| b.is_ascii_alphabetic() || (b'1'..=b'9').contains(b))
                .count();
            let long = after
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                .count();
            let found = [long, short]
                .into_iter()
                .filter(|len| *len > 0)
                .find_map(|len| Some((len, captured.lookup(&after[..len])?)));
            if let Some((len, value)) = found {
                match target {
                    Target::Path if !in_query => out.push_str(value),
                    _ => push_encoded_capture(&mut out, value, in_query),
                }
                rest = &after[len..];
                continue;
            }
        }
        if next == '?' || next == '#' {
            in_query = true;
        }
        match target {
            Target::Location => push_url_char(&mut out, next),
            _ => out.push(next),
        }
        rest = &rest[next.len_utf8()..];
    }
    out
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

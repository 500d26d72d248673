//! Source patterns → regular expressions, once, at deploy time.
//!
//! - Vercel's sources (`vercel.json`, `pier.json`) use path-to-regexp 6 as Vercel's
//!   routing-utils calls it (`strict`, `sensitive`, delimiter `/`): `:name` parameters with
//!   an optional `(regex)` and a `?`, `*` or `+` modifier, unnamed `(regex)` groups, `{…}`
//!   groups with a modifier, `\` escapes. Parameters become capture groups `$1`, `$2`, … in
//!   order, and destinations are compiled the same way, so `:name` in a destination becomes
//!   the `$n` of that parameter ([`compile_destination`]).
//! - Netlify's sources (`_redirects`, `_headers`, `netlify.toml`) are literal text with
//!   `:name` placeholders (one segment) and `*` splats (anything, `/` included; a trailing
//!   `/*` also matches the bare parent), matched with or without a trailing slash.

use std::fmt;

/// Why a source pattern cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError(pub String);

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn error(message: impl Into<String>) -> PatternError {
    PatternError(message.into())
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Lexeme {
    Modifier(char),
    Escaped(char),
    Open,
    Close,
    Name(String),
    Pattern(String),
    Char(char),
}

fn lex(source: &str) -> Result<Vec<Lexeme>, PatternError> {
    let chars: Vec<char> = source.chars().collect();
    let mut lexemes = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        let here = chars[at];
        match here {
            '*' | '+' | '?' => lexemes.push(Lexeme::Modifier(here)),
            '\\' => {
                let escaped = *chars
                    .get(at + 1)
                    .ok_or_else(|| error("ends with a lone `\\`"))?;
                lexemes.push(Lexeme::Escaped(escaped));
                at += 1;
            }
            '{' => lexemes.push(Lexeme::Open),
            '}' => lexemes.push(Lexeme::Close),
            ':' => {
                let name: String = chars[at + 1..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                    .collect();
                if name.is_empty() {
                    return Err(error(format!(
                        "has a `:` with no parameter name after it (at character {})",
                        at + 1
                    )));
                }
                at += name.len();
                lexemes.push(Lexeme::Name(name));
            }
            '(' => {
                let (pattern, end) = group_at(&chars, at)?;
                lexemes.push(Lexeme::Pattern(pattern));
                at = end;
                continue;
            }
            _ => lexemes.push(Lexeme::Char(here)),
        }
        at += 1;
    }
    Ok(lexemes)
}

/// The regex inside the group opening at `open`, and the index after its `)`.
fn group_at(chars: &[char], open: usize) -> Result<(String, usize), PatternError> {
    let mut depth = 1;
    let mut pattern = String::new();
    let mut at = open + 1;
    if chars.get(at) == Some(&'?') {
        return Err(error(format!(
            "has a group starting with `?` at character {}; write `(?:…)` only inside a parameter's pattern",
            at + 1
        )));
    }
    while at < chars.len() {
        match chars[at] {
            '\\' => {
                pattern.push('\\');
                if let Some(next) = chars.get(at + 1) {
                    pattern.push(*next);
                }
                at += 2;
                continue;
            }
            ')' => {
                depth -= 1;
                if depth == 0 {
                    at += 1;
                    break;
                }
            }
            '(' => {
                depth += 1;
                if chars.get(at + 1) != Some(&'?') {
                    return Err(error(format!(
                        "has a capturing group inside a pattern at character {}; use `(?:…)`",
                        at + 1
                    )));
                }
            }
            _ => {}
        }
        pattern.push(chars[at]);
        at += 1;
    }
    if depth != 0 {
        return Err(error(format!(
            "has an unbalanced `(` at character {}",
            open + 1
        )));
    }
    if pattern.is_empty() {
        return Err(error(format!(
            "has an empty `()` at character {}",
            open + 1
        )));
    }
    Ok((pattern, at))
}

/// A parsed piece of a path-to-regexp pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Text(String),
    Key {
        name: Option<String>,
        prefix: String,
        suffix: String,
        pattern: String,
        modifier: Option<char>,
    },
}

const DEFAULT_PATTERN: &str = "[^/]+?";

fn parse(source: &str) -> Result<Vec<Token>, PatternError> {
    let lexemes = lex(source)?;
    let mut tokens = Vec::new();
    let mut text = String::new();
    let mut at = 0;
    let take_modifier = |at: &mut usize| match lexemes.get(*at) {
        Some(Lexeme::Modifier(modifier)) => {
            *at += 1;
            Some(*modifier)
        }
        _ => None,
    };
    while at < lexemes.len() {
        let character = match &lexemes[at] {
            Lexeme::Char(c) => Some(*c),
            _ => None,
        };
        let after_char = at + usize::from(character.is_some());
        let name = match lexemes.get(after_char) {
            Some(Lexeme::Name(name)) => Some(name.clone()),
            _ => None,
        };
        let after_name = after_char + usize::from(name.is_some());
        let pattern = match lexemes.get(after_name) {
            Some(Lexeme::Pattern(pattern)) => Some(pattern.clone()),
            _ => None,
        };
        if name.is_some() || pattern.is_some() {
            at = after_name + usize::from(pattern.is_some());
            let mut prefix = character.map(String::from).unwrap_or_default();
            if !matches!(prefix.as_str(), "" | "/" | ".") {
                text.push_str(&prefix);
                prefix.clear();
            }
            if !text.is_empty() {
                tokens.push(Token::Text(std::mem::take(&mut text)));
            }
            tokens.push(Token::Key {
                name,
                prefix,
                suffix: String::new(),
                pattern: pattern.unwrap_or_else(|| DEFAULT_PATTERN.to_string()),
                modifier: take_modifier(&mut at),
            });
            continue;
        }
        match &lexemes[at] {
            Lexeme::Char(c) | Lexeme::Escaped(c) => {
                text.push(*c);
                at += 1;
                continue;
            }
            _ => {}
        }
        if !text.is_empty() {
            tokens.push(Token::Text(std::mem::take(&mut text)));
        }
        match &lexemes[at] {
            Lexeme::Open => {
                at += 1;
                let prefix = plain_text(&lexemes, &mut at);
                let name = match lexemes.get(at) {
                    Some(Lexeme::Name(name)) => {
                        at += 1;
                        Some(name.clone())
                    }
                    _ => None,
                };
                let pattern = match lexemes.get(at) {
                    Some(Lexeme::Pattern(pattern)) => {
                        at += 1;
                        Some(pattern.clone())
                    }
                    _ => None,
                };
                let suffix = plain_text(&lexemes, &mut at);
                if lexemes.get(at) != Some(&Lexeme::Close) {
                    return Err(error("has a `{` without its `}`"));
                }
                at += 1;
                let pattern = match (&name, pattern) {
                    (Some(_), None) => DEFAULT_PATTERN.to_string(),
                    (_, pattern) => pattern.unwrap_or_default(),
                };
                tokens.push(Token::Key {
                    name,
                    prefix,
                    suffix,
                    pattern,
                    modifier: take_modifier(&mut at),
                });
            }
            Lexeme::Modifier(modifier) => {
                return Err(error(format!(
                    "has a `{modifier}` that follows no parameter; escape it as `\\{modifier}` to match it literally"
                )));
            }
            Lexeme::Close => return Err(error("has a `}` without its `{`")),
            _ => unreachable!("names and patterns are handled above"),
        }
    }
    if !text.is_empty() {
        tokens.push(Token::Text(text));
    }
    Ok(tokens)
}

fn plain_text(lexemes: &[Lexeme], at: &mut usize) -> String {
    let mut text = String::new();
    while let Some(Lexeme::Char(c) | Lexeme::Escaped(c)) = lexemes.get(*at) {
        text.push(*c);
        *at += 1;
    }
    text
}

/// A Vercel source as an anchored regex, and each parameter's name in capture order (`None`
/// for an unnamed `(…)` group).
pub fn path_to_regex(source: &str) -> Result<(String, Vec<Option<String>>), PatternError> {
    let tokens = parse(source)?;
    let mut regex = String::from("^");
    let mut keys = Vec::new();
    for token in tokens {
        match token {
            Token::Text(text) => regex.push_str(&regex_escape(&text)),
            Token::Key {
                name,
                prefix,
                suffix,
                pattern,
                modifier,
            } => {
                let (prefix, suffix) = (regex_escape(&prefix), regex_escape(&suffix));
                let modifier = modifier.map(String::from).unwrap_or_default();
                if pattern.is_empty() {
                    regex.push_str(&format!("(?:{prefix}{suffix}){modifier}"));
                    continue;
                }
                keys.push(name);
                let repeats = modifier == "*" || modifier == "+";
                if !prefix.is_empty() || !suffix.is_empty() {
                    if repeats {
                        let optional = if modifier == "*" { "?" } else { "" };
                        regex.push_str(&format!(
                            "(?:{prefix}((?:{pattern})(?:{suffix}{prefix}(?:{pattern}))*){suffix}){optional}"
                        ));
                    } else {
                        regex.push_str(&format!("(?:{prefix}({pattern}){suffix}){modifier}"));
                    }
                } else if repeats {
                    regex.push_str(&format!("((?:{pattern}){modifier})"));
                } else {
                    regex.push_str(&format!("({pattern}){modifier}"));
                }
            }
        }
    }
    regex.push('$');
    Ok((regex, keys))
}

/// A Vercel destination with each source parameter (`:name`, with any modifier) replaced by
/// its capture reference (`$n` from `indexes`), as routing-utils compiles it; parameters the
/// source does not have are left as written.
pub fn compile_destination(destination: &str, indexes: &[(String, String)]) -> String {
    let mut compiled = compile_params(destination, indexes);
    // routing-utils parses the destination as a URL (so `?` is never a modifier there) and
    // formats it again, which drops an empty query.
    if compiled.ends_with('?') {
        compiled.pop();
    }
    compiled
}

/// A header value (or name) with the source's `:params` as capture references; unlike a
/// destination it is not a URL, so a trailing `?` stays.
pub fn compile_header_value(value: &str, indexes: &[(String, String)]) -> String {
    compile_params(value, indexes)
}

fn compile_params(destination: &str, indexes: &[(String, String)]) -> String {
    let lookup = |name: &str| {
        indexes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, index)| index.as_str())
    };
    let mut out = String::with_capacity(destination.len());
    let mut rest = destination;
    while let Some(at) = rest.find([':', '{']) {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if rest[at..].starts_with('{') {
            // `{prefix:name suffix}` groups a parameter with its text; the braces go.
            match after.find('}') {
                Some(close) if has_known_param(&after[..close], &lookup) => {
                    out.push_str(&compile_params(&after[..close], indexes));
                    rest = after[close + 1..].trim_start_matches(['*', '+']);
                }
                _ => {
                    out.push('{');
                    rest = after;
                }
            }
            continue;
        }
        let name_len = param_name_len(after);
        match lookup(&after[..name_len]) {
            Some(index) if name_len > 0 => {
                out.push_str(index);
                let mut consumed = name_len;
                // A parameter's own pattern or modifier describes the source, not the output.
                if after[consumed..].starts_with('(')
                    && let Ok((_, end)) =
                        group_at(&after[consumed..].chars().collect::<Vec<_>>(), 0)
                {
                    consumed += after[consumed..]
                        .chars()
                        .take(end)
                        .map(char::len_utf8)
                        .sum::<usize>();
                }
                if after[consumed..].starts_with(['*', '+']) {
                    consumed += 1;
                }
                rest = &after[consumed..];
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

fn param_name_len(text: &str) -> usize {
    text.bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count()
}

fn has_known_param<'a>(text: &str, lookup: &impl Fn(&str) -> Option<&'a str>) -> bool {
    text.match_indices(':').any(|(at, _)| {
        let after = &text[at + 1..];
        let len = param_name_len(after);
        len > 0 && lookup(&after[..len]).is_some()
    })
}

/// A Netlify path pattern as an anchored regex, and the placeholder names in capture order
/// (`splat` for `*`).
pub fn netlify_to_regex(pattern: &str) -> Result<(String, Vec<Option<String>>), PatternError> {
    if !pattern.starts_with('/') {
        return Err(error("must start with `/`"));
    }
    let trimmed = match pattern.strip_suffix('/') {
        Some(without) if !without.is_empty() => without,
        _ => pattern,
    };
    let mut regex = String::from("^");
    let mut keys = Vec::new();
    let mut rest = trimmed;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("/*")
            && after.is_empty()
        {
            // `/news/*` also matches `/news` and `/news/`.
            regex.push_str("(?:/(.*))?");
            keys.push(Some("splat".to_string()));
            rest = after;
        } else if let Some(after) = rest.strip_prefix('*') {
            regex.push_str("(.*)");
            keys.push(Some("splat".to_string()));
            rest = after;
        } else if let Some(after) = rest.strip_prefix(':') {
            let name_len = after
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                .count();
            if name_len == 0 {
                regex.push(':');
                rest = after;
                continue;
            }
            regex.push_str("([^/]+)");
            keys.push(Some(after[..name_len].to_string()));
            rest = &after[name_len..];
        } else {
            let next = rest.chars().next().expect("not empty");
            regex.push_str(&regex_escape(&next.to_string()));
            rest = &rest[next.len_utf8()..];
        }
    }
    if trimmed != "/" {
        regex.push_str("/?");
    }
    regex.push('$');
    Ok((regex, keys))
}

/// Escapes text so a regex matches it literally.
pub fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

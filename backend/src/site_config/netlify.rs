//! Netlify's `_redirects` and `_headers` files, in this subset:
//!
//! - `_redirects`: one `from to [status][!]` rule a line; `#` starts a comment line. No status is
//!   301; 301, 302, 303, 307 and 308 redirect; 200 rewrites; rules with status 404 (Netlify's
//!   custom not-found pages) are skipped without error. Query-parameter, country, language,
//!   role and cookie conditions, other statuses and other domains' URLs as `from` are errors
//!   naming the line. `/* /index.html 200` is the classic SPA rule and works as a rewrite.
//! - `_headers`: a path line at the start of a line, then indented `Name: value` lines; a
//!   repeated name within one block joins its values with `, `, as Netlify does. Netlify's
//!   `Basic-Auth` pseudo-header and the framing headers the server sets (`Content-Length`,
//!   `Transfer-Encoding`, `Connection`, …) are errors.

use super::checks::{
    checked_header, checked_redirect_destination, checked_redirect_status,
    checked_rewrite_destination, checked_source,
};
use super::matcher::is_external_url;
use super::{
    HeaderRule, NETLIFY_HEADERS, NETLIFY_REDIRECTS, Reader, Redirect, Rewrite, RuleLocation,
    SiteConfigError,
};

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
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let tokens: Vec<&str> = line.split_whitespace().collect();
            // Conditions can sit between `from` and `to` (query parameters) or after the
            // status (Country=, Language=, Role=, Cookie=); either way the rule must not apply
            // unconditionally.
            if let Some(condition) = tokens
                .iter()
                .skip(1)
                .find(|token| token.contains('=') && !is_destination_like(token))
            {
                return Err(SiteConfigError::UnsupportedCondition {
                    file,
                    at,
                    condition: condition.to_string(),
                });
            }
            let (from, to, status) = match tokens.as_slice() {
                [from, to] => (*from, *to, None),
                [from, to, status] => (*from, *to, Some(*status)),
                [_] => return Err(bad_line("has a path but no destination".into())),
                [_, _, _, extra, ..] => {
                    return Err(bad_line(format!(
                        "has `{extra}` after the status; a rule is `from to [status]`"
                    )));
                }
                [] => continue,
            };
            let status = match status {
                None => 301,
                // Pier applies redirects before files and rewrites after them whether or not
                // they are forced, so `!` changes nothing.
                Some(token) => match token.trim_end_matches('!').parse::<u16>() {
                    Ok(status) => status,
                    Err(_) => {
                        return Err(bad_line(format!(
                            "`{token}` is not a status code; a rule is `from to [status]`"
                        )));
                    }
                },
            };
            match status {
                200 => self.config.rewrites.push(Rewrite {
                    source: checked_source(file, at, from)?,
                    destination: checked_rewrite_destination(file, at, to)?,
                }),
                404 => continue,
                _ => self.config.redirects.push(Redirect {
                    source: checked_source(file, at, from)?,
                    destination: checked_redirect_destination(file, at, to)?,
                    status: checked_redirect_status(file, at, status)?,
                }),
            }
        }
        Ok(())
    }

    pub(super) fn netlify_headers(&mut self, text: &str) -> Result<(), SiteConfigError> {
        let file = NETLIFY_HEADERS;
        let mut block: Option<HeaderRule> = None;
        for (index, line) in text.lines().enumerate() {
            let at = RuleLocation::Line(index + 1);
            let bad_line = |problem: &str| SiteConfigError::BadLine {
                file,
                line: index + 1,
                problem: problem.to_string(),
            };
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            if !line.starts_with([' ', '\t']) {
                self.config.headers.extend(block.take().filter(has_headers));
                block = Some(HeaderRule {
                    source: checked_source(file, at, trimmed)?,
                    headers: Vec::new(),
                });
                continue;
            }
            let Some(rule) = block.as_mut() else {
                return Err(bad_line("is an indented header line before any path line"));
            };
            let Some((name, value)) = trimmed.split_once(':') else {
                return Err(bad_line("is indented like a header but has no `:`"));
            };
            let (name, value) = checked_header(file, at, name, value)?;
            match rule
                .headers
                .iter_mut()
                .find(|(seen, _)| seen.eq_ignore_ascii_case(&name))
            {
                Some(earlier) => {
                    earlier.1.push_str(", ");
                    earlier.1.push_str(&value);
                }
                None => rule.headers.push((name, value)),
            }
        }
        self.config.headers.extend(block.filter(has_headers));
        Ok(())
    }
}

fn has_headers(rule: &HeaderRule) -> bool {
    !rule.headers.is_empty()
}

fn is_destination_like(token: &str) -> bool {
    token.starts_with('/') || is_external_url(token)
}

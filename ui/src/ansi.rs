//! ANSI SGR colours in build logs (ECMA-48 §8.3.117: `ESC [ n ; n m`) turned into styled
//! spans: the 8 standard and 8 bright foreground colours, bold, and reset. Other escape
//! sequences are dropped, so cursor movement never garbles the viewer. [`html`] gives a
//! line's markup in one string with the text escaped (HTML's five special characters), so
//! the viewer creates a row with one parse instead of a DOM call per span.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub text: String,
    /// CSS classes, e.g. `fg-1 bold`; empty for plain text.
    pub class: String,
}

#[derive(Default, Clone, Copy)]
struct Style {
    foreground: Option<u8>,
    bold: bool,
}

impl Style {
    fn class(self) -> String {
        let mut class = String::new();
        if let Some(colour) = self.foreground {
            class.push_str(&format!("fg-{colour}"));
        }
        if self.bold {
            if !class.is_empty() {
                class.push(' ');
            }
            class.push_str("bold");
        }
        class
    }

    fn apply(&mut self, codes: &str) {
        for code in codes.split(';') {
            match code.parse::<u8>().unwrap_or(0) {
                0 => *self = Style::default(),
                1 => self.bold = true,
                22 => self.bold = false,
                n @ 30..=37 => self.foreground = Some(n - 30),
                39 => self.foreground = None,
                n @ 90..=97 => self.foreground = Some(n - 90 + 8),
                _ => {}
            }
        }
    }
}

pub fn spans(line: &str) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut style = Style::default();
    let mut text = String::new();
    let mut chars = line.chars().peekable();
    let push = |spans: &mut Vec<Span>, text: &mut String, style: Style| {
        if !text.is_empty() {
            spans.push(Span {
                text: std::mem::take(text),
                class: style.class(),
            });
        }
    };
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            text.push(c);
            continue;
        }
        if chars.peek() != Some(&'[') {
            continue;
        }
        chars.next();
        let mut parameters = String::new();
        let mut last = None;
        for c in chars.by_ref() {
            if c.is_ascii_digit() || c == ';' || c == '?' {
                parameters.push(c);
            } else {
                last = Some(c);
                break;
            }
        }
        if last == Some('m') {
            push(&mut spans, &mut text, style);
            style.apply(&parameters);
        }
    }
    push(&mut spans, &mut text, style);
    spans
}

/// The line as markup: one `<span class>` per styled run, plain runs bare, all text escaped.
pub fn html(line: &str) -> String {
    let mut html = String::with_capacity(line.len() + 32);
    for span in spans(line) {
        if span.class.is_empty() {
            escape_into(&mut html, &span.text);
        } else {
            html.push_str("<span class=\"");
            html.push_str(&span.class);
            html.push_str("\">");
            escape_into(&mut html, &span.text);
            html.push_str("</span>");
        }
    }
    html
}

fn escape_into(html: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => html.push_str("&amp;"),
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '"' => html.push_str("&quot;"),
            '\'' => html.push_str("&#39;"),
            c => html.push(c),
        }
    }
}

/// The line without escape sequences, for search.
pub fn plain(line: &str) -> String {
    spans(line).into_iter().map(|span| span.text).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_bold_and_resets_become_classes() {
        let got = spans("\u{1b}[1;31merror\u{1b}[0m: x \u{1b}[92mok\u{1b}[39m.");
        let classes: Vec<(&str, &str)> = got
            .iter()
            .map(|s| (s.text.as_str(), s.class.as_str()))
            .collect();
        assert_eq!(
            classes,
            vec![
                ("error", "fg-1 bold"),
                (": x ", ""),
                ("ok", "fg-10"),
                (".", "")
            ]
        );
    }

    #[test]
    fn markup_escapes_whatever_the_build_printed() {
        assert_eq!(
            html("\u{1b}[31m<script>alert('x')</script>\u{1b}[0m & \"q\""),
            "<span class=\"fg-1\">&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</span> &amp; &quot;q&quot;"
        );
        assert_eq!(html("plain <b>"), "plain &lt;b&gt;");
    }

    #[test]
    fn other_escapes_are_dropped() {
        assert_eq!(plain("a\u{1b}[2Kb\u{1b}[?25lc"), "abc");
        assert_eq!(plain("plain"), "plain");
    }
}

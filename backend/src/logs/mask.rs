//! Masking secret values in what Pier shows or keeps of a program's output: build logs, a
//! function's log, function output read back from CloudWatch. Each secret is replaced with
//! [`MASK`], longest first, so a secret that holds another is masked whole. Values shorter than
//! 3 characters are left: masking them would garble ordinary output without hiding anything.
//! The secrets are sorted once, when a [`Masker`] is made, not for every line.

use std::borrow::Cow;
use std::sync::Arc;

/// What masks a secret in a line.
pub const MASK: &str = "••••••";

/// A set of secret values, ready to mask lines with.
#[derive(Clone, Default)]
pub struct Masker {
    secrets: Arc<Vec<String>>,
}

impl std::fmt::Debug for Masker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Masker({} secrets)", self.secrets.len())
    }
}

impl Masker {
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Masker {
        let mut secrets: Vec<String> = secrets.into_iter().filter(|s| s.len() >= 3).collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Masker {
            secrets: Arc::new(secrets),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// `text` with every secret replaced by [`MASK`]; borrowed when it holds none.
    pub fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut text = Cow::Borrowed(text);
        for secret in self.secrets.iter() {
            if text.contains(secret.as_str()) {
                text = Cow::Owned(text.replace(secret.as_str(), MASK));
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_hides_every_secret_longest_first() {
        let masker = Masker::new(["abc".to_string(), "abcdef".to_string(), "x".to_string()]);
        assert_eq!(
            masker.mask("token=abcdef and abc, x stays"),
            format!("token={MASK} and {MASK}, x stays")
        );
        assert!(!format!("{masker:?}").contains("abc"));
    }
}

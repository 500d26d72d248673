//! What the engine tells the window: events pushed as work happens, and [`UserError`], the
//! one error shape the window shows (what went wrong, what to do next). No event or error
//! ever carries a credential: Redis URLs are shown through `display_url`, and AWS access comes
//! from the AWS chain at the moment of use.

use std::sync::Arc;

use serde::Serialize;

use pier_aws::domain_wizard::DomainError;
use pier_core::error::{PierError, StoreError};

/// What the engine tells the window: the wire's events, which the window decodes as they are.
pub use pier_wire::AppEvent;

/// Where events go: the shell forwards them to the window; tests collect them.
#[derive(Clone)]
pub struct EventSink(Arc<dyn Fn(AppEvent) + Send + Sync>);

impl EventSink {
    pub fn new(sink: impl Fn(AppEvent) + Send + Sync + 'static) -> EventSink {
        EventSink(Arc::new(sink))
    }

    pub fn emit(&self, event: AppEvent) {
        (self.0)(event)
    }
}

/// An error as the window shows it: the wire's [`pier_wire::UserError`], in a type of this
/// crate's own so that every engine error converts to it with `?`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(transparent)]
#[error("{}", .0.message)]
pub struct UserError(pub pier_wire::UserError);

impl UserError {
    pub fn new(message: impl Into<String>, hint: impl Into<String>) -> UserError {
        UserError(pier_wire::UserError::new(message, hint))
    }

    fn of<E: std::fmt::Display + std::fmt::Debug>(error: &E, hint: &str) -> UserError {
        UserError(pier_wire::UserError {
            message: capitalized(&error.to_string()),
            hint: hint.to_string(),
            code: error_code(&format!("{error:?}")),
        })
    }
}

impl std::ops::Deref for UserError {
    type Target = pier_wire::UserError;

    fn deref(&self) -> &pier_wire::UserError {
        &self.0
    }
}

impl From<UserError> for pier_wire::UserError {
    fn from(error: UserError) -> pier_wire::UserError {
        error.0
    }
}

/// The innermost error variant's name in a `Debug` rendering, in snake_case:
/// `Store(NoSuchBucket { bucket: "x" })` → `no_such_bucket`. Wrappers (`Core(…)`, `Store(…)`)
/// are looked through, so the code names the cause.
fn error_code(debug: &str) -> String {
    const WRAPPERS: [&str; 6] = [
        "Core",
        "Store",
        "SiteConfig",
        "Functions",
        "Detect",
        "Domain",
    ];
    let mut rest = debug;
    loop {
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let after = &rest[name.len()..];
        if WRAPPERS.contains(&name.as_str())
            && let Some(inner) = after.strip_prefix('(')
            && inner.starts_with(|c: char| c.is_ascii_uppercase())
        {
            rest = inner;
            continue;
        }
        let mut code = String::new();
        for (index, c) in name.chars().enumerate() {
            if c.is_ascii_uppercase() && index > 0 {
                code.push('_');
            }
            code.push(c.to_ascii_lowercase());
        }
        return if code.is_empty() { "app".into() } else { code };
    }
}

impl From<PierError> for UserError {
    fn from(error: PierError) -> UserError {
        UserError::of(&error, error.hint())
    }
}

impl From<StoreError> for UserError {
    fn from(error: StoreError) -> UserError {
        UserError::of(&error, error.hint())
    }
}

impl From<DomainError> for UserError {
    fn from(error: DomainError) -> UserError {
        UserError::of(&error, error.hint())
    }
}

fn capitalized(sentence: &str) -> String {
    let mut chars = sentence.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_name_the_cause_through_wrappers() {
        let missing = PierError::Store(StoreError::NoSuchBucket {
            bucket: "sites".into(),
        });
        let error = UserError::from(missing);
        assert_eq!(error.code, "no_such_bucket");
        assert_eq!(error.message, "The bucket `sites` does not exist");
        assert_eq!(
            UserError::from(PierError::Store(StoreError::ExpiredCredentials)).code,
            "expired_credentials"
        );
        assert_eq!(
            UserError::from(DomainError::Core(PierError::BuildCanceled)).code,
            "build_canceled"
        );
        assert_eq!(UserError::new("x", "y").code, "app");
    }
}

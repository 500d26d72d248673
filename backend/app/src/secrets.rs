//! The desktop's one secret of its own, the Redis password, in the OS keychain (pier-core's
//! `project_env::keychain`, which `pier env`'s secrets use too). It is read at the moment a
//! connection is made and never written to a file, a log or the window.

use pier_core::project_env::keychain;

use super::events::UserError;

const REDIS_PASSWORD: &str = "desktop:redis-password";

fn unavailable(error: pier_core::project_env::EnvError) -> UserError {
    UserError::new(
        error.to_string(),
        "unlock or start your keychain (on Linux the kernel keyring must be allowed), or put \
         the Redis password in PIER_REDIS_URL in the environment instead",
    )
}

pub fn set_redis_password(password: &str) -> Result<(), UserError> {
    keychain::set(REDIS_PASSWORD, password).map_err(unavailable)
}

pub fn redis_password() -> Result<Option<String>, UserError> {
    keychain::get(REDIS_PASSWORD).map_err(unavailable)
}

pub fn forget_redis_password() -> Result<(), UserError> {
    keychain::delete(REDIS_PASSWORD).map_err(unavailable)
}

/// `redis://user:pw@host/0` → (`redis://user@host/0`, `pw`).
pub fn split_password(url: &str) -> (String, Option<String>) {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return (url.to_string(), None);
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return (url.to_string(), None);
    };
    let credentials = &rest[..at];
    match credentials.split_once(':') {
        Some((user, password)) => {
            let user_part = if user.is_empty() {
                String::new()
            } else {
                format!("{user}@")
            };
            let bare = format!("{}{user_part}{}", &url[..scheme_end], &rest[at + 1..]);
            (bare, Some(password.to_string()).filter(|p| !p.is_empty()))
        }
        None => (url.to_string(), None),
    }
}

/// Puts `password` back into a URL saved without one.
pub fn with_password(url: &str, password: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!(
            "{}{}:{password}@{}",
            &url[..scheme_end],
            &rest[..at],
            &rest[at + 1..]
        ),
        None => format!("{}:{password}@{rest}", &url[..scheme_end]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_come_out_of_urls_and_go_back_in() {
        for (url, bare, password) in [
            ("redis://:pw@h:6379/0", "redis://h:6379/0", Some("pw")),
            ("rediss://me:pw@h:6380", "rediss://me@h:6380", Some("pw")),
            ("redis://h:6379", "redis://h:6379", None),
        ] {
            let (got_bare, got_password) = split_password(url);
            assert_eq!(got_bare, bare);
            assert_eq!(got_password.as_deref(), password);
            if let Some(password) = password {
                assert_eq!(with_password(&got_bare, password), url);
            }
        }
    }
}

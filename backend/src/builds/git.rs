//! Shallow clones of the source to build. The URL and ref are checked, then passed to `git` as
//! separate arguments after `--`, never through a shell; a ref cannot pose as an option.
//! Accepted URLs: `https://`, `ssh://`, `git@host:path` (scp-like) and `file://`.

use std::path::Path;
use std::time::Duration;

use crate::error::PierError;
use crate::logs::{BuildStatus, LogStream, LogWriter};

pub fn validate_url(url: &str) -> Result<(), PierError> {
    let bad = |rule: &str| PierError::BadGitSource {
        what: format!("repository URL `{url}`"),
        rule: rule.to_string(),
    };
    if url.starts_with('-') || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("it may not start with '-' or contain spaces"));
    }
    let scp_like = url
        .split_once('@')
        .is_some_and(|(user, rest)| !user.contains('/') && rest.contains(':'));
    let known = ["https://", "ssh://", "file://", "git://"]
        .iter()
        .any(|scheme| url.starts_with(scheme));
    if !(known || scp_like) {
        return Err(bad("use https://, ssh://, git@host:path or file://"));
    }
    Ok(())
}

pub fn validate_ref(reference: &str) -> Result<(), PierError> {
    let valid = !reference.is_empty()
        && !reference.starts_with('-')
        && !reference.contains("..")
        && reference
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(PierError::BadGitSource {
            what: format!("ref `{reference}`"),
            rule: "a branch or tag name of letters, digits, '.', '_', '/' and '-'".into(),
        })
    }
}

/// Clones `reference` of `url` into `into` (which must not exist), one commit deep.
pub async fn clone(
    url: &str,
    reference: Option<&str>,
    into: &Path,
    log: &LogWriter,
    timeout: Duration,
) -> Result<(), PierError> {
    validate_url(url)?;
    if let Some(reference) = reference {
        validate_ref(reference)?;
    }
    log.status(BuildStatus::Cloning, None).await;
    let mut command = tokio::process::Command::new("git");
    command
        .args(["clone", "--depth", "1", "--quiet", "--no-tags"])
        .env("GIT_TERMINAL_PROMPT", "0");
    if let Some(reference) = reference {
        command.args(["--branch", reference]);
    }
    command.arg("--").arg(url).arg(into);
    command.kill_on_drop(true);
    log.line(
        LogStream::System,
        &format!(
            "$ git clone --depth 1 {url}{}",
            reference.map(|r| format!(" ({r})")).unwrap_or_default()
        ),
    )
    .await;
    let output = tokio::time::timeout(timeout, command.output())
        .await
        .map_err(|_| PierError::BuildFailed {
            step: "git clone".into(),
            detail: format!("it took longer than {} s", timeout.as_secs()),
        })?
        .map_err(|e| PierError::BuildFailed {
            step: "git clone".into(),
            detail: if e.kind() == std::io::ErrorKind::NotFound {
                "`git` is not installed".into()
            } else {
                e.to_string()
            },
        })?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    for line in stderr.lines() {
        log.line(LogStream::Stderr, line).await;
    }
    if output.status.success() {
        return Ok(());
    }
    let detail = if stderr.contains("Remote branch") || stderr.contains("not found in upstream") {
        format!(
            "the ref `{}` does not exist in {url}",
            reference.unwrap_or("HEAD")
        )
    } else if stderr.contains("does not exist")
        || stderr.contains("not found")
        || stderr.contains("Could not resolve host")
        || stderr.contains("unable to access")
        || stderr.contains("Could not read from remote")
    {
        format!("the repository {url} cannot be reached or does not exist")
    } else {
        stderr.lines().last().unwrap_or("git failed").to_string()
    };
    Err(PierError::BuildFailed {
        step: "git clone".into(),
        detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_refs_cannot_smuggle_options() {
        for good in [
            "https://github.com/acme/site.git",
            "git@github.com:acme/site.git",
            "ssh://git@host/site",
            "file:///srv/repos/site.git",
        ] {
            validate_url(good).unwrap();
        }
        for bad in [
            "--upload-pack=touch /tmp/x",
            "/local/path",
            "https://a b",
            "ext::sh -c x",
        ] {
            assert!(validate_url(bad).is_err(), "{bad}");
        }
        for good in ["main", "v1.2.3", "feature/new-ui", "release_2"] {
            validate_ref(good).unwrap();
        }
        for bad in ["-b", "--exec=x", "a..b", "main;rm", "", "a b"] {
            assert!(validate_ref(bad).is_err(), "{bad}");
        }
    }
}

//! npm, run by Pier for its own folders only: the pinned esbuild in `<cache>/pier/tools/` and
//! the dependencies functions import in `<cache>/pier/function-deps/` ([`super::compile`]).
//! Never in a folder the user deploys: a deploy leaves it exactly as it was.
//!
//! A folder is filled once, in a staging folder beside it that is renamed into place when
//! npm succeeds, so a folder that exists is complete, and two deploys filling the same one at
//! once both end with it (the second rename loses and its copy is dropped).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::FunctionsError;

/// Pier's own cache folder, `<user cache>/pier`.
pub fn cache_dir() -> PathBuf {
    dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("pier")
}

/// Makes `dest` with `populate`, unless it is already there.
pub fn install_once(
    dest: &Path,
    populate: impl FnOnce(&Path) -> Result<(), FunctionsError>,
) -> Result<(), FunctionsError> {
    if dest.is_dir() {
        return Ok(());
    }
    let parent = dest.parent().expect("an install folder has a parent");
    let unwritable = |source: std::io::Error| FunctionsError::Toolchain {
        step: format!("create `{}`", parent.display()),
        detail: source.to_string(),
    };
    std::fs::create_dir_all(parent).map_err(unwritable)?;
    let staging = tempfile::Builder::new()
        .prefix(".installing-")
        .tempdir_in(parent)
        .map_err(unwritable)?;
    populate(staging.path())?;
    match std::fs::rename(staging.path(), dest) {
        Ok(()) => {
            // It is `dest` now: nothing left for the guard to delete.
            let _ = staging.keep();
            Ok(())
        }
        Err(_) if dest.is_dir() => Ok(()),
        Err(source) => Err(FunctionsError::Toolchain {
            step: format!("move the install into `{}`", dest.display()),
            detail: source.to_string(),
        }),
    }
}

/// Why npm did not do its job.
#[derive(Debug)]
pub enum NpmFailure {
    /// npm itself could not be started (not installed, most likely).
    NotStarted(String),
    /// npm ran and failed; the end of what it printed.
    Failed(String),
}

impl NpmFailure {
    /// A toolchain error: Pier could not get its tools.
    pub fn toolchain(self, step: &str) -> FunctionsError {
        let (NpmFailure::NotStarted(detail) | NpmFailure::Failed(detail)) = self;
        FunctionsError::Toolchain {
            step: step.to_string(),
            detail,
        }
    }
}

/// Runs `npm <args>` in `dir`.
pub fn run(dir: &Path, args: &[&str]) -> Result<(), NpmFailure> {
    let output = Command::new("npm")
        .args(args)
        .args(["--no-audit", "--no-fund", "--no-update-notifier"])
        .args(["--loglevel", "error"])
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|source| {
            NpmFailure::NotStarted(match source.kind() {
                std::io::ErrorKind::NotFound => "`npm` is not on PATH".to_string(),
                _ => format!("cannot start npm: {source}"),
            })
        })?;
    if output.status.success() {
        return Ok(());
    }
    let printed = String::from_utf8_lossy(&output.stderr);
    // npm's last line points at its debug log, which says nothing more to the user.
    let printed: Vec<&str> = printed
        .lines()
        .filter(|line| !line.contains("A complete log of this run"))
        .collect();
    Err(NpmFailure::Failed(last_lines(&printed.join("\n"), 12)))
}

/// The end of a tool's error output, where the cause is.
pub fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}

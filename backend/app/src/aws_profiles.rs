//! The AWS profiles the Settings screen offers: the section names of `~/.aws/config`
//! (`[default]`, `[profile NAME]`) and `~/.aws/credentials` (`[NAME]`), as the AWS CLI reads
//! them (`AWS_CONFIG_FILE` and `AWS_SHARED_CREDENTIALS_FILE` move the files). Only names are
//! read here; credentials stay where they are, for the AWS chain to use.

use std::path::{Path, PathBuf};

pub fn config_path() -> PathBuf {
    aws_file("AWS_CONFIG_FILE", "config")
}

pub fn credentials_path() -> PathBuf {
    aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials")
}

fn aws_file(variable: &str, name: &str) -> PathBuf {
    match std::env::var_os(variable) {
        Some(path) => PathBuf::from(path),
        None => dirs::home_dir().unwrap_or_default().join(".aws").join(name),
    }
}

/// Profile names from the config file and the credentials file next to it, sorted, once each.
pub fn names(config: &Path, credentials: &Path) -> Vec<String> {
    let mut names = Vec::new();
    if let Ok(text) = std::fs::read_to_string(config) {
        names.extend(sections(&text).filter_map(|section| {
            if section == "default" {
                Some(section.to_string())
            } else {
                section
                    .strip_prefix("profile ")
                    .map(|name| name.trim().to_string())
            }
        }));
    }
    if let Ok(text) = std::fs::read_to_string(credentials) {
        names.extend(sections(&text).map(str::to_string));
    }
    names.sort();
    names.dedup();
    names
}

fn sections(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter_map(|line| {
        line.trim()
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
            .map(str::trim)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_are_read_from_config_sections_only() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config");
        std::fs::write(
            &config,
            "[default]\nregion = us-east-1\n\n[profile work]\nsso_session = corp\n\
             [sso-session corp]\nsso_region = eu-west-1\n[services local]\n  [profile  spaced ]\n",
        )
        .unwrap();
        let credentials = dir.path().join("credentials");
        assert_eq!(
            names(&config, &credentials),
            vec!["default", "spaced", "work"]
        );
        std::fs::write(&credentials, "[ci]\naws_access_key_id = x\n[work]\n").unwrap();
        assert_eq!(
            names(&config, &credentials),
            vec!["ci", "default", "spaced", "work"]
        );
        assert!(names(&dir.path().join("missing"), &dir.path().join("none")).is_empty());
    }
}

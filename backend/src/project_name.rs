//! Project names: DNS labels (RFC 1035 §2.3.1, as relaxed by RFC 1123 §2.1 to allow a leading
//! digit), short enough that `<project>-<short id>` is still a label of at most 63 octets.

use crate::error::PierError;
use crate::manifest::SHORT_ID_LEN;

/// 63 octets per label, less the `-` and the short id of a preview name.
pub const MAX_LEN: usize = 63 - 1 - SHORT_ID_LEN;

/// Checks a name the user gave, saying which rule it breaks.
pub fn validate(name: &str) -> Result<(), PierError> {
    let broken = |rule| {
        Err(PierError::BadProjectName {
            name: name.to_string(),
            rule,
        })
    };
    if name.is_empty() {
        return broken("it is empty");
    }
    if name.len() > MAX_LEN {
        return broken("it is longer than 54 characters");
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return if c.is_ascii_uppercase() {
            broken("it has upper-case letters; DNS names are lower case")
        } else {
            broken("it may hold only a-z, 0-9 and '-'")
        };
    }
    if name.starts_with('-') || name.ends_with('-') {
        return broken("it may not start or end with '-'");
    }
    Ok(())
}

/// Makes a valid project name out of a folder name: lower-cased, runs of other characters
/// turned into one `-`, trimmed to length. Returns `None` when nothing usable is left.
pub fn from_folder_name(folder: &str) -> Option<String> {
    let mut name = String::new();
    for c in folder.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            name.push(c);
        } else if !name.ends_with('-') {
            name.push('-');
        }
    }
    let name: String = name.trim_matches('-').chars().take(MAX_LEN).collect();
    let name = name.trim_end_matches('-').to_string();
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn says_which_rule_is_broken() {
        for (name, rule) in [
            ("", "empty"),
            ("My-Site", "upper-case"),
            ("my_site", "a-z, 0-9"),
            ("-site", "start or end"),
            ("site-", "start or end"),
            (&"a".repeat(55), "54"),
        ] {
            let message = validate(name).unwrap_err().to_string();
            assert!(message.contains(rule), "{name}: {message}");
        }
        validate("my-site-2").unwrap();
        validate(&"a".repeat(54)).unwrap();
    }

    #[test]
    fn folder_names_become_labels() {
        assert_eq!(from_folder_name("My Site").as_deref(), Some("my-site"));
        assert_eq!(from_folder_name("  __dist__ ").as_deref(), Some("dist"));
        assert_eq!(
            from_folder_name("Café Ünïcode").as_deref(),
            Some("caf-n-code")
        );
        assert_eq!(from_folder_name("日本語"), None);
    }

    proptest! {
        #[test]
        fn any_folder_name_yields_a_valid_name_or_none(folder in "\\PC{0,80}") {
            if let Some(name) = from_folder_name(&folder) {
                prop_assert!(validate(&name).is_ok(), "{name}");
            }
        }
    }
}

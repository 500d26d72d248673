//! "Deploy an example site": the first-run shortcut on an empty Projects screen. A small
//! site ships inside the app; it is written to a folder beside Pier's config (so a user can
//! open it, edit it and drop it again) and deployed like any dropped folder, as the project
//! `example`, never touching production.

use std::path::{Path, PathBuf};

use super::events::UserError;

/// The example's project name.
pub const PROJECT: &str = "example";

/// The example's files, as they ship.
const FILES: [(&str, &str); 2] = [
    ("index.html", include_str!("../example-site/index.html")),
    ("style.css", include_str!("../example-site/style.css")),
];

/// Where the example is written: beside the config file (`PIER_CONFIG` moves both).
pub fn folder() -> PathBuf {
    pier_core::config::beside_config("example-site")
}

/// Writes the example into `dir`, replacing the files it ships with (a user's own additions
/// stay), and returns `dir`.
pub fn write(dir: &Path) -> Result<PathBuf, UserError> {
    let cannot = |error: std::io::Error| {
        UserError::new(
            format!(
                "Cannot write the example site to `{}`: {error}",
                dir.display()
            ),
            "check that Pier's config folder is writable, or deploy a folder of your own",
        )
    };
    std::fs::create_dir_all(dir).map_err(cannot)?;
    for (name, content) in FILES {
        std::fs::write(dir.join(name), content).map_err(cannot)?;
    }
    Ok(dir.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_is_a_built_site_and_a_rewrite_keeps_the_users_own_files() {
        let home = tempfile::tempdir().unwrap();
        let dir = write(&home.path().join("example-site")).unwrap();
        let index = std::fs::read_to_string(dir.join("index.html")).unwrap();
        assert!(index.contains("<link rel=\"stylesheet\" href=\"style.css\">"));
        assert!(dir.join("style.css").is_file());
        std::fs::write(dir.join("mine.html"), "kept").unwrap();
        std::fs::write(dir.join("index.html"), "edited").unwrap();
        write(&dir).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("mine.html")).unwrap(),
            "kept"
        );
        assert!(
            std::fs::read_to_string(dir.join("index.html"))
                .unwrap()
                .contains("Hello from Pier")
        );
    }

    #[test]
    fn an_unwritable_place_says_what_to_do() {
        let home = tempfile::tempdir().unwrap();
        let file = home.path().join("a-file");
        std::fs::write(&file, "").unwrap();
        let error = write(&file.join("example-site")).unwrap_err();
        assert!(
            error.message.contains("Cannot write the example site"),
            "{error:?}"
        );
        assert!(
            error.hint.contains("deploy a folder of your own"),
            "{error:?}"
        );
    }
}

//! Tidy: the documented rules about the source tree, checked so they stay true.
//!
//! - Every Rust file opens with a `//!` doc saying what it does (static-web-server's habit).
//! - No source file is over 700 lines (tests in sibling files and `tests/` folders do not
//!   count): a file that long holds more than one feature.
//! - Every module is named in ARCHITECTURE.md's code map, as `name.rs`, `name/` or `` `name` ``.
//! - The desktop's commands are written out in four places that must agree: the shims in
//!   `src-tauri/src/commands.rs`, `generate_handler!` in `main.rs`, the app manifest in
//!   `build.rs`, and the permission set in `permissions/app-commands.toml`.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use pier_tests::repo_root;

/// The folders holding Pier's Rust code; everything else (target dirs, node_modules, the venv)
/// is not Pier's.
const ROOTS: [&str; 5] = ["backend", "proxy", "src-tauri", "ui", "tests"];
const SKIP: [&str; 6] = ["target", "node_modules", "dist", ".venv", "gen", "fixtures"];

fn rust_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, into: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() && !SKIP.contains(&name.as_str()) && !name.starts_with('.') {
                walk(&path, into);
            } else if kind.is_file() && name.ends_with(".rs") {
                into.push(path);
            }
        }
    }
    let root = repo_root();
    let mut files = Vec::new();
    for dir in ROOTS {
        walk(&root.join(dir), &mut files);
    }
    files.sort();
    assert!(files.len() > 100, "found only {} Rust files", files.len());
    files
}

fn relative(path: &Path) -> String {
    path.strip_prefix(repo_root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Test code: integration tests, benches, and sibling `tests/` folders of a module.
fn is_test_code(relative: &str) -> bool {
    relative.starts_with("tests/")
        || relative.contains("/tests/")
        || relative.contains("/benches/")
        || relative.ends_with("/tests.rs")
}

#[test]
fn every_rust_file_opens_with_a_module_doc() {
    let missing: Vec<String> = rust_files()
        .iter()
        .filter(|path| {
            let text = fs::read_to_string(path).unwrap_or_default();
            !text.trim_start().starts_with("//!")
        })
        .map(|path| relative(path))
        .collect();
    assert!(
        missing.is_empty(),
        "these files need a `//!` doc saying what they do: {missing:#?}"
    );
}

#[test]
fn no_source_file_is_over_700_lines() {
    let long: Vec<String> = rust_files()
        .iter()
        .filter(|path| !is_test_code(&relative(path)))
        .filter_map(|path| {
            let lines = fs::read_to_string(path).unwrap_or_default().lines().count();
            (lines > 700).then(|| format!("{} ({lines} lines)", relative(path)))
        })
        .collect();
    assert!(
        long.is_empty(),
        "split these by feature, one file each: {long:#?}"
    );
}

#[test]
fn every_module_is_in_the_code_map() {
    let map = fs::read_to_string(repo_root().join("ARCHITECTURE.md")).unwrap();
    let missing: Vec<String> = rust_files()
        .iter()
        .filter_map(|path| {
            let relative = relative(path);
            if is_test_code(&relative)
                || relative.contains("/fuzz/")
                || relative.ends_with("build.rs")
            {
                return None;
            }
            let stem = path.file_stem()?.to_string_lossy().into_owned();
            // A folder module is named by its folder; a crate root by its crate's row.
            let name = if matches!(stem.as_str(), "mod" | "lib" | "main") {
                let folder = path.parent()?.file_name()?.to_string_lossy().into_owned();
                if folder == "src" {
                    return None;
                }
                folder
            } else {
                stem
            };
            let named = [
                format!("{name}.rs"),
                format!("{name}/"),
                format!("`{name}`"),
            ]
            .iter()
            .any(|form| map.contains(form.as_str()));
            (!named).then_some(relative)
        })
        .collect();
    assert!(
        missing.is_empty(),
        "name these modules in ARCHITECTURE.md's code map: {missing:#?}"
    );
}

/// The quoted names in `text` between `start` and the next `end`.
fn quoted_between(text: &str, start: &str, end: &str) -> BTreeSet<String> {
    let from = text.find(start).unwrap_or_else(|| panic!("no `{start}`")) + start.len();
    let to = from
        + text[from..]
            .find(end)
            .unwrap_or_else(|| panic!("no `{end}`"));
    text[from..to]
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

#[test]
fn the_four_lists_of_desktop_commands_agree() {
    let tauri = repo_root().join("src-tauri");
    let read = |path: &str| fs::read_to_string(tauri.join(path)).unwrap();

    let commands = read("src/commands.rs");
    let mut shims = BTreeSet::new();
    let mut lines = commands.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim() == "#[tauri::command]" {
            let signature = lines.next().unwrap_or_default();
            let name = signature
                .split("fn ")
                .nth(1)
                .and_then(|rest| rest.split(['(', '<']).next())
                .unwrap_or_default();
            shims.insert(name.to_string());
        }
    }

    let main = read("src/main.rs");
    let handler_from = main.find("generate_handler![").expect("generate_handler!");
    let handler_to = handler_from + main[handler_from..].find(']').unwrap();
    let handlers: BTreeSet<String> = main[handler_from..handler_to]
        .split("commands::")
        .skip(1)
        .map(|rest| {
            rest.split([',', ' ', '\n'])
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect();

    let manifest = quoted_between(&read("build.rs"), ".commands(&[", "]");
    let permitted = quoted_between(
        &read("permissions/app-commands.toml"),
        "commands.allow = [",
        "]",
    );

    assert!(shims.len() > 20, "found only {shims:?} in commands.rs");
    assert_eq!(
        handlers, shims,
        "generate_handler! in main.rs vs commands.rs"
    );
    assert_eq!(manifest, shims, "build.rs's app manifest vs commands.rs");
    assert_eq!(
        permitted, shims,
        "permissions/app-commands.toml vs commands.rs"
    );
}

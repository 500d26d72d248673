//! Zero-config functions: a site with an `api/` folder, as Vercel reads one.
//!
//! Dynamic segments follow Vercel's names: `api/users/[id].js` answers `/api/users/42` with
//! `id=42` in its query, `api/files/[...path].js` any depth below `/api/files/`.
//!
//! Each `.js`, `.mjs`, `.cjs`, `.ts`, `.mts` or `.cts` file under `api/` is a Node function
//! answering its path without the extension (`api/hello.js` → `/api/hello`,
//! `api/users/index.ts` → `/api/users`); a TypeScript file with a compiled `.js` twin beside
//! it is only the twin's source. Files and folders whose names start with `_` or `.` are
//! helpers the functions may import, not endpoints. When `api/` holds at least one function it
//! is not served as files (its sources stay private, as on Vercel); an `api/` with no function
//! in it is plain content. A built project's `api/` is at its root, beside the output folder
//! ([`plan_beside`]). Every function's bundle holds its own entry, the files under `api/` that
//! are no function's entry, and the top `package.json` (whose `type` says whether `.js` is an
//! ES module), and gets Vercel's Node helpers; a compiled function ([`super::compile`]) holds
//! its one module and the files under `api/` that are not code.

use std::collections::BTreeMap;
use std::path::Path;

use crate::routes::{Route, regex_escape};

use super::{
    BundleFiles, DEFAULT_MAX_DURATION_SECS, DEFAULT_MEMORY_MB, DEFAULT_RUNTIME, FunctionSettings,
    FunctionsError, PlannedFunction, SitePlan,
};

pub const API_FOLDER: &str = "api";
const ENTRY_EXTENSIONS: [&str; 3] = ["js", "mjs", "cjs"];
pub const TYPESCRIPT_EXTENSIONS: [&str; 3] = ["ts", "mts", "cts"];
/// Source files a compiled module has inside it already.
const CODE_EXTENSIONS: [&str; 8] = ["js", "mjs", "cjs", "jsx", "ts", "mts", "cts", "tsx"];

/// The site's functions, if it has an `api/` folder.
pub fn plan(dir: &Path) -> Result<SitePlan, FunctionsError> {
    let api = dir.join(API_FOLDER);
    if !api.is_dir() {
        return Ok(SitePlan::files_only(dir));
    }
    let mut entries = Vec::new();
    find_entries(&api, API_FOLDER, &mut entries)?;
    // An `api/` with no function in it (a static JSON API, say) is plain content.
    if entries.is_empty() {
        return Ok(SitePlan::files_only(dir));
    }
    let functions: Vec<PlannedFunction> = entries
        .into_iter()
        .map(|(served, handler)| PlannedFunction {
            paths: vec![served],
            root: dir.to_path_buf(),
            files: BundleFiles::ApiFolder,
            settings: FunctionSettings {
                runtime: DEFAULT_RUNTIME.to_string(),
                handler,
                memory_mb: DEFAULT_MEMORY_MB,
                max_duration_secs: DEFAULT_MAX_DURATION_SECS,
                environment: BTreeMap::new(),
                secrets: Vec::new(),
                env_revision: None,
                streaming: true,
                helpers: true,
            },
        })
        .collect();
    let function_routes = functions
        .iter()
        .filter_map(|function| dynamic_route(&function.paths[0]))
        .collect();
    Ok(SitePlan {
        functions_folder: Some(API_FOLDER),
        function_routes,
        functions,
        ..SitePlan::files_only(dir)
    })
}

/// The functions of a built project: the files are the build's output, `static_root`, and the
/// functions are the project's own `api/` (which the output does not hold).
pub fn plan_beside(static_root: &Path, project_root: &Path) -> Result<SitePlan, FunctionsError> {
    let plan = plan(project_root)?;
    if plan.functions.is_empty() {
        return Ok(SitePlan::files_only(static_root));
    }
    Ok(SitePlan {
        static_root: static_root.to_path_buf(),
        functions_folder: None,
        ..plan
    })
}

/// The route to a function with dynamic segments, as Vercel names them: `[id]` matches one
/// segment and `[...slug]` the rest of the path, each passed on as a query parameter of that
/// name (`/api/users/42` → `/api/users/[id]?id=42`). `None` for a path without any.
fn dynamic_route(served: &str) -> Option<Route> {
    let mut pattern = String::from("^");
    let mut query = Vec::new();
    for segment in served.split('/') {
        pattern.push('/');
        let name = segment
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'));
        let (name, rest_of_path) = match name {
            Some(name) => match name.strip_prefix("...") {
                Some(name) => (name, true),
                None => (name, false),
            },
            None => {
                pattern.push_str(&regex_escape(segment));
                continue;
            }
        };
        let is_identifier = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !is_identifier {
            pattern.push_str(&regex_escape(segment));
            continue;
        }
        pattern.push_str(&format!(
            "(?<{name}>{})",
            if rest_of_path { ".+" } else { "[^/]+" }
        ));
        query.push(format!("{name}=${name}"));
    }
    if query.is_empty() {
        return None;
    }
    pattern.push('$');
    Some(Route {
        src: pattern,
        dest: Some(format!("/{served}?{}", query.join("&"))),
        ..Route::default()
    })
}

/// Whether the bundle of the function whose entry is `handler` keeps the site-relative `path`:
/// the top `package.json`, its own entry, and every file under `api/` that is no function's
/// entry (helpers, data). Other functions' entries stay out, so a change to one function
/// leaves every other bundle (and its warm process or Lambda version) as it was.
pub fn in_bundle(path: &str, handler: &str, entries: &std::collections::HashSet<&str>) -> bool {
    path == "package.json"
        || path == handler
        || (path.starts_with("api/") && !entries.contains(path))
}

/// Whether a compiled function's bundle keeps the site-relative `path`: the files under `api/`
/// that are not code (its module has the code inside it).
pub fn carried_when_compiled(path: &str) -> bool {
    path.starts_with("api/")
        && path
            .rsplit_once('.')
            .is_none_or(|(_, extension)| !CODE_EXTENSIONS.contains(&extension))
}

/// `(served path, handler)` for each entry file under `dir`, sorted.
fn find_entries(
    dir: &Path,
    prefix: &str,
    found: &mut Vec<(String, String)>,
) -> Result<(), FunctionsError> {
    let unreadable = |source| FunctionsError::Unreadable {
        path: dir.to_path_buf(),
        source,
    };
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(unreadable)?
        .map(|entry| entry.map(|entry| entry.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()
        .map_err(unreadable)?;
    names.sort();
    for name in &names {
        if name.starts_with(['_', '.']) || name == "node_modules" {
            continue;
        }
        let path = dir.join(name);
        if path.is_dir() {
            find_entries(&path, &format!("{prefix}/{name}"), found)?;
            continue;
        }
        let Some((stem, extension)) = name.rsplit_once('.') else {
            continue;
        };
        if stem.ends_with(".d") {
            continue;
        }
        let served = match stem {
            "index" => prefix.to_string(),
            _ => format!("{prefix}/{stem}"),
        };
        if ENTRY_EXTENSIONS.contains(&extension) {
            found.push((served, format!("{prefix}/{name}")));
        } else if TYPESCRIPT_EXTENSIONS.contains(&extension) {
            // A compiled twin beside it is the entry; the source is only carried along.
            let twin = ENTRY_EXTENSIONS
                .iter()
                .any(|js| names.contains(&format!("{stem}.{js}")));
            if !twin {
                found.push((served, format!("{prefix}/{name}")));
            }
        }
    }
    Ok(())
}

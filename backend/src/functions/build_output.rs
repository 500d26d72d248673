//! Vercel's Build Output API v3, the subset Pier reads (framework adapters such as
//! `@sveltejs/adapter-vercel` and `@astrojs/vercel` write it).
//!
//! - `config.json`: `version` (must be 3), `routes` (the route engine's `config.json` shape,
//!   `handle` phases included), `overrides` (a static file served under another `path` or
//!   `contentType`), and `framework` (informational).
//! - `static/`: the files, served as any site's.
//! - `functions/<path>.func/`: a Node function answering `/<path>` (`index.func` also answers
//!   `/`), with `.vc-config.json` keys `runtime` (`nodejs<major>.x`), `handler`,
//!   `launcherType` (`Nodejs`), `memory`, `maxDuration`, `environment`,
//!   `supportsResponseStreaming` (or the older `experimentalResponseStreaming`),
//!   `shouldAddHelpers`, and the informational `shouldAddSourcemapSupport` and `framework`.
//!   A `.func` that is a link to another shares its bundle.
//!
//! Any other key, `runtime: "edge"` among them, fails the deploy with a message naming it: a
//! key read silently and ignored would serve something other than what the user built.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::{
    BundleFiles, DEFAULT_MAX_DURATION_SECS, DEFAULT_MEMORY_MB, FunctionSettings, FunctionsError,
    Override, PlannedFunction, SitePlan,
};
use crate::routes::{Route, RouteEntry, RouteTable, Router};
use crate::site_config::SiteConfig;

pub const OUTPUT_DIR: &str = ".vercel/output";
const CONFIG_KEYS: [&str; 4] = ["version", "routes", "overrides", "framework"];
const FUNCTION_KEYS: [&str; 11] = [
    "runtime",
    "handler",
    "launcherType",
    "memory",
    "maxDuration",
    "environment",
    "supportsResponseStreaming",
    "experimentalResponseStreaming",
    "shouldAddHelpers",
    "shouldAddSourcemapSupport",
    "framework",
];

/// The output folder `dir` deploys from: `dir/.vercel/output`, or `dir` itself when it is one
/// (a `config.json` beside `static/` or `functions/`).
pub fn locate(dir: &Path) -> Option<PathBuf> {
    let nested = dir.join(OUTPUT_DIR);
    if nested.join("config.json").is_file() {
        return Some(nested);
    }
    let is_output = dir.join("config.json").is_file()
        && (dir.join("static").is_dir() || dir.join("functions").is_dir());
    is_output.then(|| dir.to_path_buf())
}

/// Reads an output folder into what the deploy serves.
pub fn read(output: &Path) -> Result<SitePlan, FunctionsError> {
    let config_path = output.join("config.json");
    let file = display_name(output, &config_path);
    let config = read_object(&config_path, &file)?;
    refuse_unknown(&config, &CONFIG_KEYS, &file)?;
    match config.get("version") {
        Some(Value::Number(n)) if n.as_u64() == Some(3) => {}
        Some(other) => {
            return Err(FunctionsError::WrongVersion {
                file,
                found: other.to_string(),
            });
        }
        None => {
            return Err(FunctionsError::WrongVersion {
                file,
                found: "(none given)".into(),
            });
        }
    }
    let routes = read_routes(config.get("routes"), &file)?;
    let overrides = read_overrides(config.get("overrides"), &file)?;
    let functions = read_functions(output)?;
    Ok(SitePlan {
        static_root: output.join("static"),
        functions_folder: None,
        function_routes: Vec::new(),
        overrides,
        config: Some(SiteConfig {
            routes,
            read_from: vec![file],
            ..SiteConfig::default()
        }),
        functions,
    })
}

fn display_name(output: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(output).unwrap_or(path);
    let shown = if output.ends_with(OUTPUT_DIR) {
        Path::new(OUTPUT_DIR).join(relative)
    } else {
        relative.to_path_buf()
    };
    shown.to_string_lossy().replace('\\', "/")
}

fn read_object(path: &Path, file: &str) -> Result<Map<String, Value>, FunctionsError> {
    let text = std::fs::read_to_string(path).map_err(|source| FunctionsError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(FunctionsError::BadValue {
            file: file.to_string(),
            key: "(top)".into(),
            problem: "must be a JSON object".into(),
        }),
        Err(source) => Err(FunctionsError::BadJson {
            file: file.to_string(),
            source,
        }),
    }
}

fn refuse_unknown(
    object: &Map<String, Value>,
    known: &[&str],
    file: &str,
) -> Result<(), FunctionsError> {
    match object.keys().find(|key| !known.contains(&key.as_str())) {
        Some(key) => Err(FunctionsError::UnsupportedKey {
            file: file.to_string(),
            key: key.clone(),
        }),
        None => Ok(()),
    }
}

/// The routes as the engine runs them: Vercel's filesystem (names as they are, folders
/// served without a slash redirect), checked by compiling them once.
fn read_routes(routes: Option<&Value>, file: &str) -> Result<RouteTable, FunctionsError> {
    let entries = match routes {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(entries)) => entries.clone(),
        Some(_) => {
            return Err(FunctionsError::BadValue {
                file: file.to_string(),
                key: "routes".into(),
                problem: "must be a list".into(),
            });
        }
    };
    let mut parsed = Vec::with_capacity(entries.len());
    for (index, entry) in entries.into_iter().enumerate() {
        // Read as the one shape it claims to be, so serde's message names the key at fault
        // (an untagged enum's says only that nothing matched).
        let parsed_entry = if entry.get("handle").is_some() {
            serde_json::from_value::<RouteEntry>(entry)
        } else {
            serde_json::from_value::<Route>(entry).map(RouteEntry::from)
        };
        let route = parsed_entry.map_err(|error| FunctionsError::BadRoute {
            file: file.to_string(),
            index,
            detail: error.to_string(),
        })?;
        parsed.push(route);
    }
    let table = RouteTable {
        routes: parsed,
        folders_without_slash: true,
        exact_names: true,
    };
    Router::new(&table).map_err(|error| FunctionsError::BadRoute {
        file: file.to_string(),
        index: error.index,
        detail: format!("`{}`: {}", error.src, error.problem),
    })?;
    Ok(table)
}

fn read_overrides(
    overrides: Option<&Value>,
    file: &str,
) -> Result<BTreeMap<String, Override>, FunctionsError> {
    let bad = |problem: &str| FunctionsError::BadValue {
        file: file.to_string(),
        key: "overrides".into(),
        problem: problem.to_string(),
    };
    let Some(overrides) = overrides else {
        return Ok(BTreeMap::new());
    };
    let Value::Object(entries) = overrides else {
        return Err(bad("must be an object of file paths"));
    };
    let mut read = BTreeMap::new();
    for (path, entry) in entries {
        let Value::Object(entry) = entry else {
            return Err(bad("entries must be objects with `path` or `contentType`"));
        };
        refuse_unknown(entry, &["path", "contentType"], file)?;
        let text = |key: &str| match entry.get(key) {
            None => Ok(None),
            Some(Value::String(value)) => Ok(Some(value.clone())),
            Some(_) => Err(bad("`path` and `contentType` must be strings")),
        };
        read.insert(
            path.trim_start_matches('/').to_string(),
            Override {
                path: text("path")?.map(|path| path.trim_start_matches('/').to_string()),
                content_type: text("contentType")?,
            },
        );
    }
    Ok(read)
}

/// Every `.func` folder under `functions/`; links to the same folder share one function.
fn read_functions(output: &Path) -> Result<Vec<PlannedFunction>, FunctionsError> {
    let functions_dir = output.join("functions");
    if !functions_dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut found: Vec<(String, PathBuf)> = Vec::new();
    find_func_folders(&functions_dir, "", &mut found)?;
    let mut by_folder: HashMap<PathBuf, usize> = HashMap::new();
    let mut planned: Vec<PlannedFunction> = Vec::new();
    for (served, folder) in found {
        let real = folder
            .canonicalize()
            .map_err(|source| FunctionsError::Unreadable {
                path: folder.clone(),
                source,
            })?;
        if let Some(&index) = by_folder.get(&real) {
            planned[index].paths.push(served);
            continue;
        }
        let file = display_name(output, &folder.join(".vc-config.json"));
        let settings = read_function_config(&real.join(".vc-config.json"), &file)?;
        by_folder.insert(real.clone(), planned.len());
        planned.push(PlannedFunction {
            paths: vec![served],
            root: real,
            files: BundleFiles::All,
            settings,
        });
    }
    Ok(planned)
}

fn find_func_folders(
    dir: &Path,
    prefix: &str,
    found: &mut Vec<(String, PathBuf)>,
) -> Result<(), FunctionsError> {
    let unreadable = |source| FunctionsError::Unreadable {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(unreadable)?
        .collect::<Result<_, _>>()
        .map_err(unreadable)?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        // `metadata` follows links: adapters link route names to one shared function folder.
        if !path.metadata().is_ok_and(|meta| meta.is_dir()) {
            continue;
        }
        match name.strip_suffix(".func") {
            Some(function) => found.push((format!("{prefix}{function}"), path)),
            None if !entry.file_type().is_ok_and(|kind| kind.is_symlink()) => {
                find_func_folders(&path, &format!("{prefix}{name}/"), found)?;
            }
            None => {}
        }
    }
    Ok(())
}

fn read_function_config(path: &Path, file: &str) -> Result<FunctionSettings, FunctionsError> {
    if !path.is_file() {
        return Err(FunctionsError::BadValue {
            file: file.to_string(),
            key: "(file)".into(),
            problem: "is missing: every .func folder needs one".into(),
        });
    }
    let config = read_object(path, file)?;
    // An edge function also has keys a Node one lacks (`entrypoint`): its runtime is the clearer
    // thing to name.
    if let Some(Value::String(runtime)) = config.get("runtime")
        && !is_node_runtime(runtime)
    {
        return Err(FunctionsError::UnsupportedKey {
            file: file.to_string(),
            key: format!("runtime: \"{runtime}\""),
        });
    }
    refuse_unknown(&config, &FUNCTION_KEYS, file)?;
    let bad = |key: &str, problem: &str| FunctionsError::BadValue {
        file: file.to_string(),
        key: key.to_string(),
        problem: problem.to_string(),
    };
    let text = |key: &str| match config.get(key) {
        None => Ok(None),
        Some(Value::String(value)) => Ok(Some(value.clone())),
        Some(_) => Err(bad(key, "must be a string")),
    };
    let flag = |key: &str| match config.get(key) {
        None => Ok(None),
        Some(Value::Bool(value)) => Ok(Some(*value)),
        Some(_) => Err(bad(key, "must be true or false")),
    };
    let number = |key: &str, range: std::ops::RangeInclusive<u64>| match config.get(key) {
        None => Ok(None),
        Some(Value::Number(n)) => match n.as_u64().filter(|n| range.contains(n)) {
            Some(n) => Ok(Some(n as u32)),
            None => Err(bad(
                key,
                &format!(
                    "must be a whole number from {} to {}",
                    range.start(),
                    range.end()
                ),
            )),
        },
        Some(_) => Err(bad(key, "must be a number")),
    };
    let runtime = text("runtime")?.ok_or_else(|| bad("runtime", "is missing"))?;
    match text("launcherType")?.as_deref() {
        None | Some("Nodejs") => {}
        Some(other) => {
            return Err(bad(
                "launcherType",
                &format!("is `{other}`; Pier launches `Nodejs` functions only"),
            ));
        }
    }
    let handler = text("handler")?.ok_or_else(|| bad("handler", "is missing"))?;
    let handler = handler.trim_start_matches("./").replace('\\', "/");
    if handler
        .split('/')
        .any(|part| part == ".." || part.is_empty())
    {
        return Err(bad(
            "handler",
            "must be a path inside the function's folder",
        ));
    }
    let environment = match config.get("environment") {
        None => BTreeMap::new(),
        Some(Value::Object(variables)) => variables
            .iter()
            .map(|(name, value)| match value {
                Value::String(value) => Ok((name.clone(), value.clone())),
                _ => Err(bad("environment", "values must be strings")),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(bad("environment", "must be an object of strings")),
    };
    Ok(FunctionSettings {
        runtime,
        handler,
        memory_mb: number("memory", 128..=10_240)?.unwrap_or(DEFAULT_MEMORY_MB),
        max_duration_secs: number("maxDuration", 1..=900)?.unwrap_or(DEFAULT_MAX_DURATION_SECS),
        environment,
        secrets: Vec::new(),
        env_revision: None,
        streaming: flag("supportsResponseStreaming")?
            .or(flag("experimentalResponseStreaming")?)
            .unwrap_or(false),
        helpers: flag("shouldAddHelpers")?.unwrap_or(false),
    })
}

/// `nodejs20.x` and the like: the Lambda runtime ids Vercel's configs use.
pub fn is_node_runtime(runtime: &str) -> bool {
    runtime
        .strip_prefix("nodejs")
        .and_then(|rest| rest.strip_suffix(".x"))
        .is_some_and(|major| !major.is_empty() && major.bytes().all(|b| b.is_ascii_digit()))
}

//! Zero-config functions compiled at deploy time: TypeScript, and functions that import npm
//! packages, become one self-contained ES module each ([`esbuild`]), written to a scratch
//! folder that lives as long as the deploy. A site whose functions are plain JavaScript and
//! whose `package.json` declares no dependency is deployed as written, with no tool fetched.
//!
//! Dependencies come from the project's own `node_modules` when it has one (a built
//! project's install). When it has none (a plain folder), Pier installs exactly the packages
//! the functions import, at the ranges `package.json` gives them (and the versions
//! `package-lock.json` pins), into its cache (`<cache>/pier/function-deps/<digest>/`), never
//! into the user's folder: a deploy leaves the folder as it was. An import `package.json`
//! does not declare is refused, naming the file.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::esbuild::{self, Run};
use super::zero_config::TYPESCRIPT_EXTENSIONS;
use super::{BundleFiles, FunctionsError, SitePlan, npm};

/// The sections of `package.json` an imported package may be declared in.
const DEPENDENCY_SECTIONS: [&str; 4] = [
    "dependencies",
    "devDependencies",
    "optionalDependencies",
    "peerDependencies",
];

/// Compiles the plan's zero-config functions when they need it, pointing each at its compiled
/// module; the returned folder holds the modules and must outlive the deploy's upload.
pub fn compile(plan: &mut SitePlan) -> Result<Option<tempfile::TempDir>, FunctionsError> {
    let zero_config: Vec<usize> = (0..plan.functions.len())
        .filter(|&at| plan.functions[at].files == BundleFiles::ApiFolder)
        .collect();
    let Some(&first) = zero_config.first() else {
        return Ok(None);
    };
    let root = plan.functions[first].root.clone();
    let package = read_package(&root)?;
    let entries: Vec<String> = zero_config
        .iter()
        .map(|&at| plan.functions[at].settings.handler.clone())
        .collect();
    let typescript = entries.iter().any(|entry| is_typescript(entry));
    if !typescript && !declares_dependencies(&package) {
        return Ok(None);
    }
    let esbuild = esbuild::binary()?;
    let work = tempfile::Builder::new()
        .prefix("pier-functions-")
        .tempdir()
        .map_err(|source| FunctionsError::Unreadable {
            path: std::env::temp_dir(),
            source,
        })?;
    let out_dir = work.path().join("out");
    let target = node_target(&plan.functions[first].settings.runtime);
    let run = |packages_external: bool, node_path: Option<&Path>| {
        esbuild::run(
            &esbuild,
            &Run {
                root: &root,
                entries: &entries,
                out_dir: &out_dir,
                target: &target,
                packages_external,
                node_path,
            },
        )
    };
    let has_node_modules = root
        .ancestors()
        .any(|dir| dir.join("node_modules").is_dir());
    if has_node_modules {
        run(false, None)?;
    } else {
        // A first pass learns which packages the functions import; without any, its output is
        // the compiled site already.
        let imports = run(true, None)?.packages();
        if !imports.is_empty() {
            let node_modules = install_dependencies(&root, &package, &imports)?;
            run(false, Some(&node_modules))?;
        }
    }
    for (&at, entry) in zero_config.iter().zip(&entries) {
        let handler = compiled_name(entry);
        let function = &mut plan.functions[at];
        function.files = BundleFiles::Compiled {
            module: out_dir.join(&handler),
        };
        function.settings.handler = handler;
    }
    Ok(Some(work))
}

/// The compiled module's name for an entry: `api/time.ts` → `api/time.mjs`.
pub fn compiled_name(entry: &str) -> String {
    let (folder, file) = entry.rsplit_once('/').unwrap_or(("", entry));
    let stem = file.rsplit_once('.').map_or(file, |(stem, _)| stem);
    match folder {
        "" => format!("{stem}.mjs"),
        folder => format!("{folder}/{stem}.mjs"),
    }
}

fn is_typescript(entry: &str) -> bool {
    entry
        .rsplit_once('.')
        .is_some_and(|(_, extension)| TYPESCRIPT_EXTENSIONS.contains(&extension))
}

/// esbuild's target for a Lambda runtime name: `nodejs20.x` → `node20`.
fn node_target(runtime: &str) -> String {
    let major = runtime
        .strip_prefix("nodejs")
        .and_then(|rest| rest.strip_suffix(".x"))
        .filter(|major| !major.is_empty() && major.chars().all(|c| c.is_ascii_digit()));
    format!("node{}", major.unwrap_or("20"))
}

fn read_package(root: &Path) -> Result<serde_json::Value, FunctionsError> {
    let path = root.join("package.json");
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(serde_json::Value::Null);
        }
        Err(source) => return Err(FunctionsError::Unreadable { path, source }),
    };
    serde_json::from_slice(&text).map_err(|source| FunctionsError::BadJson {
        file: "package.json".into(),
        source,
    })
}

fn declares_dependencies(package: &serde_json::Value) -> bool {
    DEPENDENCY_SECTIONS.iter().any(|section| {
        package[section]
            .as_object()
            .is_some_and(|declared| !declared.is_empty())
    })
}

/// Installs the imported packages into Pier's cache; returns their `node_modules`.
fn install_dependencies(
    root: &Path,
    package: &serde_json::Value,
    imports: &[(String, String)],
) -> Result<PathBuf, FunctionsError> {
    let mut wanted = serde_json::Map::new();
    for (file, name) in imports {
        let range = DEPENDENCY_SECTIONS
            .iter()
            .find_map(|section| package[section][name.as_str()].as_str());
        let Some(range) = range else {
            return Err(FunctionsError::UndeclaredDependency {
                file: file.clone(),
                package: name.clone(),
            });
        };
        wanted.insert(name.clone(), range.into());
    }
    let manifest = serde_json::json!({
        "name": "pier-function-dependencies",
        "private": true,
        "dependencies": wanted,
    });
    let manifest = serde_json::to_vec_pretty(&manifest).expect("JSON values serialize");
    let lockfile = std::fs::read(root.join("package-lock.json")).ok();
    let mut digest = Sha256::new();
    digest.update(&manifest);
    if let Some(lockfile) = &lockfile {
        digest.update(lockfile);
    }
    let key = hex::encode(&digest.finalize()[..8]);
    let folder = npm::cache_dir().join("function-deps").join(key);
    let names: Vec<&str> = wanted.keys().map(String::as_str).collect();
    npm::install_once(&folder, |staging| {
        let write = |name: &str, bytes: &[u8]| {
            std::fs::write(staging.join(name), bytes).map_err(|source| FunctionsError::Toolchain {
                step: format!("write `{name}` in `{}`", staging.display()),
                detail: source.to_string(),
            })
        };
        write("package.json", &manifest)?;
        if let Some(lockfile) = &lockfile {
            write("package-lock.json", lockfile)?;
        }
        npm::run(staging, &["install", "--omit=dev"]).map_err(|failure| match failure {
            npm::NpmFailure::Failed(detail) => FunctionsError::DependencyInstall {
                packages: names.join(", "),
                detail,
            },
            not_started => not_started.toolchain("install the functions' dependencies"),
        })
    })?;
    Ok(folder.join("node_modules"))
}

#[cfg(test)]
mod tests {
    use super::{compiled_name, node_target};

    #[test]
    fn compiled_modules_keep_the_entry_path_with_mjs() {
        assert_eq!(compiled_name("api/time.ts"), "api/time.mjs");
        assert_eq!(compiled_name("api/users/[id].mts"), "api/users/[id].mjs");
        assert_eq!(compiled_name("api/v1.2/x.cjs"), "api/v1.2/x.mjs");
        assert_eq!(node_target("nodejs22.x"), "node22");
        assert_eq!(node_target("something"), "node20");
    }
}

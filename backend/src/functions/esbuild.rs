//! esbuild, the compiler of zero-config functions: the npm package `esbuild`, pinned to
//! [`VERSION`], fetched once into `<cache>/pier/tools/esbuild-<version>/` (or the binary
//! `PIER_ESBUILD` names, for a machine without npm's registry). Pier runs its command line
//! and reads back its metafile (which inputs import what).
//!
//! Each function becomes one ES module for Node (`--platform=node --format=esm`), whatever it
//! was written as: TypeScript, an ES module or CommonJS. The banner gives the module the
//! `require`, `__filename` and `__dirname` a CommonJS dependency expects (esbuild renames a
//! function's own top-level `require` away from it).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use super::{FunctionsError, npm};

/// The esbuild release Pier compiles with: one version, so a redeploy of unchanged sources
/// writes the same bytes and uploads nothing.
pub const VERSION: &str = "0.28.2";
/// Names an esbuild binary to use instead of fetching one.
pub const BINARY_VARIABLE: &str = "PIER_ESBUILD";

const BANNER: &str = "import { createRequire as __pierCreateRequire } from 'node:module'; \
import { fileURLToPath as __pierFileURLToPath } from 'node:url'; \
import { dirname as __pierDirname } from 'node:path'; \
const require = __pierCreateRequire(import.meta.url); \
const __filename = __pierFileURLToPath(import.meta.url); \
const __dirname = __pierDirname(__filename);";

/// Node's built-in modules (Node 20's `builtinModules`, top names): an import of one of these
/// needs nothing installed.
const NODE_BUILTINS: [&str; 42] = [
    "assert",
    "async_hooks",
    "buffer",
    "child_process",
    "cluster",
    "console",
    "constants",
    "crypto",
    "dgram",
    "diagnostics_channel",
    "dns",
    "domain",
    "events",
    "fs",
    "http",
    "http2",
    "https",
    "inspector",
    "module",
    "net",
    "os",
    "path",
    "perf_hooks",
    "process",
    "punycode",
    "querystring",
    "readline",
    "repl",
    "stream",
    "string_decoder",
    "sys",
    "timers",
    "tls",
    "trace_events",
    "tty",
    "url",
    "util",
    "v8",
    "vm",
    "wasi",
    "worker_threads",
    "zlib",
];

/// The esbuild binary: `PIER_ESBUILD`'s, or the pinned one, fetched from npm on first use.
pub fn binary() -> Result<PathBuf, FunctionsError> {
    if let Some(path) = std::env::var_os(BINARY_VARIABLE).filter(|path| !path.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let folder = npm::cache_dir()
        .join("tools")
        .join(format!("esbuild-{VERSION}"));
    npm::install_once(&folder, |staging| {
        npm::run(
            staging,
            &[
                "install",
                "--no-save",
                "--no-package-lock",
                &format!("esbuild@{VERSION}"),
            ],
        )
        .map_err(|failure| failure.toolchain(&format!("fetch esbuild {VERSION} from npm")))
    })?;
    Ok(folder.join("node_modules/esbuild/bin/esbuild"))
}

/// One esbuild run over every function of a site.
pub struct Run<'a> {
    /// The folder the entries are relative to; esbuild runs there.
    pub root: &'a Path,
    pub entries: &'a [String],
    pub out_dir: &'a Path,
    /// esbuild's target, such as `node20`.
    pub target: &'a str,
    /// Leave every package import as it is (to learn which ones the functions make).
    pub packages_external: bool,
    /// A `node_modules` folder to resolve packages from besides the root's own.
    pub node_path: Option<&'a Path>,
}

/// What esbuild's metafile says about the inputs.
#[derive(Debug, Deserialize)]
pub struct Metafile {
    pub inputs: BTreeMap<String, Input>,
}

#[derive(Debug, Deserialize)]
pub struct Input {
    #[serde(default)]
    pub imports: Vec<Import>,
}

#[derive(Debug, Deserialize)]
pub struct Import {
    pub path: String,
    #[serde(default)]
    pub external: bool,
}

impl Metafile {
    /// `(importing file, package name)` for every package the inputs import, sorted.
    pub fn packages(&self) -> Vec<(String, String)> {
        let mut found: Vec<(String, String)> = self
            .inputs
            .iter()
            .flat_map(|(file, input)| {
                input
                    .imports
                    .iter()
                    .filter(|import| import.external)
                    .filter_map(|import| package_name(&import.path))
                    .map(move |package| (file.clone(), package))
            })
            .collect();
        found.sort();
        found.dedup();
        found
    }
}

/// The npm package a bare import names (`@scope/name/sub` → `@scope/name`), or `None` for a
/// Node built-in, a relative path or a URL.
pub fn package_name(specifier: &str) -> Option<String> {
    if specifier.starts_with(['.', '/']) || specifier.contains(':') {
        return None;
    }
    let mut parts = specifier.split('/');
    let first = parts.next()?;
    let name = if first.starts_with('@') {
        format!("{first}/{}", parts.next()?)
    } else {
        first.to_string()
    };
    (!NODE_BUILTINS.contains(&name.as_str())).then_some(name)
}

/// Runs esbuild; the output is `<out_dir>/<entry without extension>.mjs` for each entry.
pub fn run(esbuild: &Path, run: &Run) -> Result<Metafile, FunctionsError> {
    let metafile = run.out_dir.with_extension("meta.json");
    let mut command = Command::new(esbuild);
    command
        .args(run.entries)
        .args([
            "--bundle",
            "--platform=node",
            "--format=esm",
            "--charset=utf8",
            "--log-level=error",
            "--out-extension:.js=.mjs",
            "--outbase=.",
        ])
        .arg(format!("--target={}", run.target))
        .arg(format!("--banner:js={BANNER}"))
        .arg(format!("--outdir={}", run.out_dir.display()))
        .arg(format!("--metafile={}", metafile.display()))
        .current_dir(run.root)
        .stdin(std::process::Stdio::null())
        .env_remove("NODE_PATH");
    if run.packages_external {
        command.arg("--packages=external");
    }
    if let Some(node_path) = run.node_path {
        command.env("NODE_PATH", node_path);
    }
    let output = command
        .output()
        .map_err(|source| FunctionsError::Toolchain {
            step: format!("start esbuild (`{}`)", esbuild.display()),
            detail: source.to_string(),
        })?;
    if !output.status.success() {
        return Err(FunctionsError::Compile {
            detail: npm::last_lines(&String::from_utf8_lossy(&output.stderr), 40),
        });
    }
    let text = std::fs::read(&metafile).map_err(|source| FunctionsError::Unreadable {
        path: metafile.clone(),
        source,
    })?;
    serde_json::from_slice(&text).map_err(|source| FunctionsError::BadJson {
        file: metafile.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::package_name;

    #[test]
    fn bare_imports_name_their_package_and_builtins_name_none() {
        for (specifier, package) in [
            ("ms", Some("ms")),
            ("nanoid/non-secure", Some("nanoid")),
            ("@vercel/node", Some("@vercel/node")),
            ("@scope/pkg/deep/file.js", Some("@scope/pkg")),
            ("fs", None),
            ("fs/promises", None),
            ("node:crypto", None),
            ("./_lib.js", None),
            ("../x", None),
            ("/abs", None),
            ("@broken", None),
        ] {
            assert_eq!(package_name(specifier).as_deref(), package, "{specifier}");
        }
    }
}

//! Framework detection, as Vercel does it: from `package.json` dependencies and the files at
//! the top of a source tree, decide the framework, the install command (from the lockfile),
//! the build command and the output folder. Every choice can be overridden by
//! [`BuildOverrides`]. Detected commands are argument vectors, never shell strings; an
//! override is the user's own command line and runs under `sh -c`.

use std::path::Path;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Framework {
    Next,
    Astro,
    SvelteKit,
    Docusaurus,
    Gatsby,
    Eleventy,
    CreateReactApp,
    Vite,
    Hugo,
    Jekyll,
    /// A package.json with a `build` script and no framework Pier knows.
    Other,
    /// Ready-to-serve files: an `index.html` and nothing to build.
    Static,
}

impl Framework {
    /// Where the framework writes its site.
    fn output(self) -> &'static str {
        match self {
            Framework::Next => "out",
            Framework::Astro | Framework::Vite => "dist",
            Framework::SvelteKit | Framework::Docusaurus | Framework::CreateReactApp => "build",
            Framework::Gatsby | Framework::Hugo => "public",
            Framework::Eleventy | Framework::Jekyll => "_site",
            Framework::Other => "dist",
            Framework::Static => ".",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageManager {
    Npm,
    Pnpm,
    Yarn,
    Bun,
}

impl PackageManager {
    fn from_lockfile(dir: &Path) -> (PackageManager, bool) {
        for (file, manager) in [
            ("pnpm-lock.yaml", PackageManager::Pnpm),
            ("yarn.lock", PackageManager::Yarn),
            ("bun.lockb", PackageManager::Bun),
            ("bun.lock", PackageManager::Bun),
            ("package-lock.json", PackageManager::Npm),
            ("npm-shrinkwrap.json", PackageManager::Npm),
        ] {
            if dir.join(file).is_file() {
                return (manager, true);
            }
        }
        (PackageManager::Npm, false)
    }

    pub fn lockfile(self) -> &'static [&'static str] {
        match self {
            PackageManager::Npm => &["package-lock.json", "npm-shrinkwrap.json"],
            PackageManager::Pnpm => &["pnpm-lock.yaml"],
            PackageManager::Yarn => &["yarn.lock"],
            PackageManager::Bun => &["bun.lockb", "bun.lock"],
        }
    }

    fn install(self, locked: bool) -> Vec<String> {
        let words: &[&str] = match (self, locked) {
            (PackageManager::Npm, true) => &["npm", "ci", "--no-audit", "--no-fund"],
            (PackageManager::Npm, false) => &["npm", "install", "--no-audit", "--no-fund"],
            (PackageManager::Pnpm, true) => &["pnpm", "install", "--frozen-lockfile"],
            (PackageManager::Pnpm, false) => &["pnpm", "install"],
            (PackageManager::Yarn, true) => &["yarn", "install", "--frozen-lockfile"],
            (PackageManager::Yarn, false) => &["yarn", "install"],
            (PackageManager::Bun, true) => &["bun", "install", "--frozen-lockfile"],
            (PackageManager::Bun, false) => &["bun", "install"],
        };
        words.iter().map(|w| w.to_string()).collect()
    }

    fn run(self, script: &str) -> Vec<String> {
        let manager = match self {
            PackageManager::Npm => "npm",
            PackageManager::Pnpm => "pnpm",
            PackageManager::Yarn => "yarn",
            PackageManager::Bun => "bun",
        };
        vec![manager.to_string(), "run".to_string(), script.to_string()]
    }
}

/// A command to run: detected (argv) or the user's own line (run by `sh -c`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Argv(Vec<String>),
    Shell(String),
}

impl Step {
    pub fn display(&self) -> String {
        match self {
            Step::Argv(words) => words.join(" "),
            Step::Shell(line) => line.clone(),
        }
    }
}

/// Project settings that win over detection; empty strings mean "skip this step".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BuildOverrides {
    pub install_command: Option<String>,
    pub build_command: Option<String>,
    pub output_dir: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildPlan {
    pub framework: Framework,
    pub package_manager: Option<PackageManager>,
    pub install: Option<Step>,
    pub build: Option<Step>,
    /// Relative to the source folder.
    pub output_dir: String,
}

impl BuildPlan {
    /// Whether anything runs before deploying.
    pub fn needs_build(&self) -> bool {
        self.install.is_some() || self.build.is_some()
    }
}

pub use crate::error::DetectError;

/// Looks at a source folder and decides how to build it.
pub fn detect(dir: &Path, overrides: &BuildOverrides) -> Result<BuildPlan, DetectError> {
    let package_path = dir.join("package.json");
    let mut plan = if package_path.is_file() {
        let text =
            std::fs::read_to_string(&package_path).map_err(|e| DetectError::BadPackageJson {
                path: package_path.clone(),
                detail: e.to_string(),
            })?;
        let package: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| DetectError::BadPackageJson {
                path: package_path.clone(),
                detail: e.to_string(),
            })?;
        node_plan(dir, &package)
    } else if ["hugo.toml", "hugo.yaml", "hugo.json"]
        .iter()
        .any(|f| dir.join(f).is_file())
        || (dir.join("config.toml").is_file() && dir.join("content").is_dir())
    {
        BuildPlan {
            framework: Framework::Hugo,
            package_manager: None,
            install: None,
            build: Some(Step::Argv(vec!["hugo".into(), "--minify".into()])),
            output_dir: Framework::Hugo.output().into(),
        }
    } else if dir.join("_config.yml").is_file() && dir.join("Gemfile").is_file() {
        BuildPlan {
            framework: Framework::Jekyll,
            package_manager: None,
            install: Some(Step::Argv(vec!["bundle".into(), "install".into()])),
            build: Some(Step::Argv(
                ["bundle", "exec", "jekyll", "build"]
                    .map(String::from)
                    .to_vec(),
            )),
            output_dir: Framework::Jekyll.output().into(),
        }
    } else if dir.join("index.html").is_file() {
        BuildPlan {
            framework: Framework::Static,
            package_manager: None,
            install: None,
            build: None,
            output_dir: ".".into(),
        }
    } else {
        return Err(DetectError::NothingToDeploy {
            dir: dir.to_path_buf(),
        });
    };
    let step = |line: &str| (!line.trim().is_empty()).then(|| Step::Shell(line.to_string()));
    if let Some(line) = &overrides.install_command {
        plan.install = step(line);
    }
    if let Some(line) = &overrides.build_command {
        plan.build = step(line);
    }
    if let Some(output) = &overrides.output_dir {
        plan.output_dir = output.clone();
    }
    Ok(plan)
}

fn node_plan(dir: &Path, package: &serde_json::Value) -> BuildPlan {
    let has = |name: &str| {
        ["dependencies", "devDependencies"]
            .iter()
            .any(|section| package[section].get(name).is_some())
    };
    let framework = if has("next") {
        Framework::Next
    } else if has("astro") {
        Framework::Astro
    } else if has("@sveltejs/kit") {
        Framework::SvelteKit
    } else if has("@docusaurus/core") {
        Framework::Docusaurus
    } else if has("gatsby") {
        Framework::Gatsby
    } else if has("@11ty/eleventy") {
        Framework::Eleventy
    } else if has("react-scripts") {
        Framework::CreateReactApp
    } else if has("vite") {
        Framework::Vite
    } else if package["scripts"].get("build").is_some() {
        Framework::Other
    } else {
        Framework::Static
    };
    let (manager, locked) = PackageManager::from_lockfile(dir);
    let has_build_script = package["scripts"].get("build").is_some();
    let output_dir = match framework {
        Framework::Other => ["dist", "build", "out", "public"]
            .into_iter()
            .find(|candidate| dir.join(candidate).is_dir())
            .unwrap_or("dist"),
        Framework::Static => ".",
        known => known.output(),
    };
    let dependencies = package["dependencies"]
        .as_object()
        .is_some_and(|d| !d.is_empty())
        || package["devDependencies"]
            .as_object()
            .is_some_and(|d| !d.is_empty());
    // Dependencies are installed only for a build that uses them: a built site that ships a
    // package.json (npm's `swagger-ui-dist`, say) deploys as it is, and its folder is left as
    // it was (no `node_modules/`, no install scripts run).
    BuildPlan {
        framework,
        package_manager: Some(manager),
        install: (dependencies && has_build_script).then(|| Step::Argv(manager.install(locked))),
        build: has_build_script.then(|| Step::Argv(manager.run("build"))),
        output_dir: output_dir.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, body) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, body).unwrap();
        }
        dir
    }

    fn plan(files: &[(&str, &str)]) -> BuildPlan {
        detect(tree(files).path(), &BuildOverrides::default()).unwrap()
    }

    fn package(deps: &str) -> String {
        format!(r#"{{"scripts":{{"build":"x"}},"devDependencies":{{{deps}}}}}"#)
    }

    #[test]
    fn frameworks_are_told_apart_by_their_dependencies() {
        for (deps, framework, output) in [
            (r#""vite":"5""#, Framework::Vite, "dist"),
            (r#""next":"14","react":"18""#, Framework::Next, "out"),
            (r#""astro":"4","vite":"5""#, Framework::Astro, "dist"),
            (
                r#""@sveltejs/kit":"2","vite":"5""#,
                Framework::SvelteKit,
                "build",
            ),
            (r#""@docusaurus/core":"3""#, Framework::Docusaurus, "build"),
            (r#""gatsby":"5""#, Framework::Gatsby, "public"),
            (r#""@11ty/eleventy":"2""#, Framework::Eleventy, "_site"),
            (r#""react-scripts":"5""#, Framework::CreateReactApp, "build"),
        ] {
            let plan = plan(&[("package.json", &package(deps))]);
            assert_eq!(
                (plan.framework, plan.output_dir.as_str()),
                (framework, output),
                "{deps}"
            );
            assert_eq!(
                plan.build,
                Some(Step::Argv(vec!["npm".into(), "run".into(), "build".into()]))
            );
        }
    }

    #[test]
    fn the_lockfile_picks_the_install_command() {
        let vite = package(r#""vite":"5""#);
        for (lockfile, install) in [
            ("package-lock.json", "npm ci --no-audit --no-fund"),
            ("pnpm-lock.yaml", "pnpm install --frozen-lockfile"),
            ("yarn.lock", "yarn install --frozen-lockfile"),
            ("bun.lockb", "bun install --frozen-lockfile"),
        ] {
            let plan = plan(&[("package.json", &vite), (lockfile, "")]);
            assert_eq!(plan.install.unwrap().display(), install, "{lockfile}");
        }
        let unlocked = plan(&[("package.json", &vite)]);
        assert_eq!(
            unlocked.install.unwrap().display(),
            "npm install --no-audit --no-fund"
        );
    }

    #[test]
    fn hugo_jekyll_and_plain_html_need_no_package_json() {
        assert_eq!(plan(&[("hugo.toml", "")]).framework, Framework::Hugo);
        assert_eq!(
            plan(&[("_config.yml", ""), ("Gemfile", "")]).framework,
            Framework::Jekyll
        );
        let html = plan(&[("index.html", "<p>hi")]);
        assert_eq!(
            (html.framework, html.needs_build()),
            (Framework::Static, false)
        );
    }

    #[test]
    fn a_built_site_with_dependencies_and_no_build_script_installs_nothing() {
        // The shape of npm's swagger-ui-dist: files ready to serve, one dependency, no scripts.
        let site = plan(&[
            ("index.html", "<div id=swagger-ui>"),
            (
                "package.json",
                r#"{"name":"swagger-ui-dist","dependencies":{"@scarf/scarf":"=1.4.0"}}"#,
            ),
        ]);
        assert_eq!(site.framework, Framework::Static);
        assert_eq!((site.install, site.build), (None, None));
        assert_eq!(site.output_dir, ".");
    }

    #[test]
    fn overrides_win_and_nothing_to_deploy_is_an_error() {
        let dir = tree(&[("package.json", &package(r#""vite":"5""#))]);
        let overrides = BuildOverrides {
            install_command: Some(String::new()),
            build_command: Some("make site".into()),
            output_dir: Some("public/site".into()),
        };
        let plan = detect(dir.path(), &overrides).unwrap();
        assert_eq!(plan.install, None);
        assert_eq!(plan.build, Some(Step::Shell("make site".into())));
        assert_eq!(plan.output_dir, "public/site");

        let empty = tree(&[("README.md", "hi")]);
        let err = detect(empty.path(), &BuildOverrides::default()).unwrap_err();
        assert!(
            err.to_string()
                .contains("no package.json and no index.html")
        );
        let broken = tree(&[("package.json", "{nope")]);
        assert!(matches!(
            detect(broken.path(), &BuildOverrides::default()),
            Err(DetectError::BadPackageJson { .. })
        ));
    }
}

//! What a folder deploys as: Build Output folders as framework adapters write them (the
//! shapes below are those `@sveltejs/adapter-vercel` 6 and `@astrojs/vercel` 11 write), zero-
//! config `api/` folders, and every refusal naming its file and key.

use std::path::Path;

use super::*;
use crate::routes::{Phase, Route, RouteEntry, RouteTable};

fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

const NODE_FUNCTION: &str = r#"{"runtime":"nodejs20.x","handler":"index.js","launcherType":"Nodejs","supportsResponseStreaming":true,"maxDuration":5}"#;

fn refusal(files: &[(&str, &str)]) -> String {
    let dir = tree(files);
    let error = plan(dir.path(), None).expect_err("the folder is refused");
    format!("{error} | {}", error.hint())
}

#[test]
fn a_project_with_a_build_output_deploys_from_it() {
    let dir = tree(&[
        ("package.json", "{}"),
        ("src/app.js", "not deployed"),
        (
            ".vercel/output/config.json",
            r#"{"version":3,"routes":[{"src":"/_app/immutable/.+","headers":{"cache-control":"immutable"}},{"handle":"filesystem"},{"src":"/.*","dest":"/render"}],"overrides":{"about.html":{"path":"about"}},"framework":{"version":"5.0.0"}}"#,
        ),
        (".vercel/output/static/about.html", "<h1>About</h1>"),
        (
            ".vercel/output/functions/render.func/.vc-config.json",
            NODE_FUNCTION,
        ),
        (
            ".vercel/output/functions/render.func/index.js",
            "export default () => {}",
        ),
    ]);
    let plan = plan(dir.path(), None).unwrap();
    assert_eq!(plan.static_root, dir.path().join(".vercel/output/static"));
    assert_eq!(plan.overrides["about.html"].path.as_deref(), Some("about"));
    let config = plan.config.expect("the output's routes");
    assert_eq!(config.read_from, [".vercel/output/config.json"]);
    assert!(config.routes.exact_names && config.routes.folders_without_slash);
    assert_eq!(config.routes.routes.len(), 3);
    assert!(matches!(
        config.routes.routes[1],
        RouteEntry::Handle {
            handle: Phase::Filesystem
        }
    ));
    assert_eq!(plan.functions.len(), 1);
    let function = &plan.functions[0];
    assert_eq!(function.paths, ["render"]);
    assert_eq!(function.files, BundleFiles::All);
    assert_eq!(
        function.settings,
        FunctionSettings {
            runtime: "nodejs20.x".into(),
            handler: "index.js".into(),
            memory_mb: DEFAULT_MEMORY_MB,
            max_duration_secs: 5,
            environment: Default::default(),
            secrets: Vec::new(),
            env_revision: None,
            streaming: true,
            helpers: false,
        }
    );
}

#[test]
fn a_folder_that_is_an_output_deploys_as_one() {
    let dir = tree(&[
        ("config.json", r#"{"version":3}"#),
        ("static/index.html", "hi"),
    ]);
    let plan = plan(dir.path(), None).unwrap();
    assert_eq!(plan.static_root, dir.path().join("static"));
    assert_eq!(plan.config.unwrap().read_from, ["config.json"]);
    // A site that merely has a config.json is a site.
    let site = tree(&[("config.json", "{}"), ("index.html", "hi")]);
    assert_eq!(
        super::plan(site.path(), None).unwrap(),
        SitePlan::files_only(site.path())
    );
}

#[cfg(unix)]
#[test]
fn linked_func_folders_share_one_function() {
    let dir = tree(&[
        (".vercel/output/config.json", r#"{"version":3}"#),
        (
            ".vercel/output/functions/![-].func/.vc-config.json",
            NODE_FUNCTION,
        ),
        (
            ".vercel/output/functions/![-].func/index.js",
            "export default () => {}",
        ),
    ]);
    let functions = dir.path().join(".vercel/output/functions");
    std::os::unix::fs::symlink("![-].func", functions.join("index.func")).unwrap();
    std::fs::create_dir_all(functions.join("about")).unwrap();
    std::os::unix::fs::symlink("../![-].func", functions.join("about/__data.json.func")).unwrap();
    let plan = plan(dir.path(), None).unwrap();
    assert_eq!(plan.functions.len(), 1, "{:?}", plan.functions);
    let mut paths = plan.functions[0].paths.clone();
    paths.sort();
    assert_eq!(paths, ["![-]", "about/__data.json", "index"]);
}

#[test]
fn other_versions_and_unknown_keys_are_refused_by_name() {
    let refused = refusal(&[(".vercel/output/config.json", r#"{"version":2}"#)]);
    assert!(
        refused.contains("`.vercel/output/config.json` is version 2"),
        "{refused}"
    );
    let refused = refusal(&[(
        ".vercel/output/config.json",
        r#"{"version":3,"images":{"sizes":[640]}}"#,
    )]);
    assert!(
        refused.contains("has `images`, which Pier does not support"),
        "{refused}"
    );
    let refused = refusal(&[(
        ".vercel/output/config.json",
        r#"{"version":3,"routes":[{"src":"/a","middlewarePath":"mw"}]}"#,
    )]);
    assert!(
        refused.contains("routes[0]: unknown field `middlewarePath`"),
        "{refused}"
    );
    let refused = refusal(&[(
        ".vercel/output/config.json",
        r#"{"version":3,"routes":[{"src":"/(a","dest":"/b"}]}"#,
    )]);
    assert!(refused.contains("routes[0]"), "{refused}");
}

#[test]
fn edge_functions_and_unknown_function_keys_are_refused_by_name() {
    let output = |config: &'static str| {
        vec![
            (".vercel/output/config.json", r#"{"version":3}"#),
            (".vercel/output/functions/mw.func/.vc-config.json", config),
            (".vercel/output/functions/mw.func/index.js", ""),
        ]
    };
    let refused = refusal(&output(r#"{"runtime":"edge","entrypoint":"index.js"}"#));
    assert!(
        refused
            .contains("`.vercel/output/functions/mw.func/.vc-config.json` has `runtime: \"edge\"`")
            && refused.contains("Pier runs Node functions only"),
        "{refused}"
    );
    let refused = refusal(&output(
        r#"{"runtime":"nodejs20.x","handler":"index.js","filePathMap":{}}"#,
    ));
    assert!(refused.contains("has `filePathMap`"), "{refused}");
    let refused = refusal(&output(r#"{"runtime":"nodejs20.x"}"#));
    assert!(refused.contains("`handler` is missing"), "{refused}");
    let refused = refusal(&output(
        r#"{"runtime":"nodejs20.x","handler":"index.js","memory":64}"#,
    ));
    assert!(
        refused.contains("`memory` must be a whole number from 128"),
        "{refused}"
    );
    let refused = refusal(&output(
        r#"{"runtime":"nodejs20.x","handler":"../../x.js"}"#,
    ));
    assert!(
        refused.contains("inside the function's folder"),
        "{refused}"
    );
    let refused = refusal(&[
        (".vercel/output/config.json", r#"{"version":3}"#),
        (".vercel/output/functions/a.func/index.js", ""),
    ]);
    assert!(
        refused.contains("every .func folder needs one"),
        "{refused}"
    );
}

#[test]
fn api_files_become_functions_and_helpers_do_not() {
    let dir = tree(&[
        ("index.html", "hi"),
        ("api/hello.js", ""),
        ("api/time.mjs", ""),
        ("api/index.cjs", ""),
        ("api/users/index.js", ""),
        ("api/users/list.js", ""),
        ("api/_lib/db.js", ""),
        ("api/_util.js", ""),
        ("api/.hidden.js", ""),
        ("api/types.d.ts", ""),
        ("api/data.json", "{}"),
        ("api/typed.ts", ""),
        ("api/typed.mjs", ""),
        ("api/clock.mts", ""),
    ]);
    let plan = plan(dir.path(), None).unwrap();
    assert_eq!(plan.functions_folder, Some("api"));
    assert_eq!(plan.config, None, "the site's own config files are read");
    let found: Vec<(&str, &str)> = plan
        .functions
        .iter()
        .map(|f| (f.paths[0].as_str(), f.settings.handler.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("api/clock", "api/clock.mts"),
            ("api/hello", "api/hello.js"),
            ("api", "api/index.cjs"),
            ("api/time", "api/time.mjs"),
            ("api/typed", "api/typed.mjs"),
            ("api/users", "api/users/index.js"),
            ("api/users/list", "api/users/list.js"),
        ]
    );
    assert!(plan.functions.iter().all(|f| f.settings.helpers
        && f.files == BundleFiles::ApiFolder
        && f.settings.runtime == DEFAULT_RUNTIME));
}

#[test]
fn a_built_project_serves_its_output_and_runs_the_api_folder_beside_it() {
    let project = tree(&[
        ("package.json", r#"{"scripts":{"build":"vite build"}}"#),
        ("index.html", "<script src=src/main.js>"),
        ("api/hello.ts", "export const GET = () => new Response('x')"),
        ("api/_db.ts", ""),
        ("dist/index.html", "built"),
        ("dist/api/openapi.json", "{}"),
    ]);
    let output = project.path().join("dist");
    let built = plan(&output, Some(project.path())).unwrap();
    assert_eq!(built.static_root, output);
    assert_eq!(
        built.functions_folder, None,
        "the output's own api/ is files"
    );
    let found: Vec<(&str, &str, &Path)> = built
        .functions
        .iter()
        .map(|f| {
            (
                f.paths[0].as_str(),
                f.settings.handler.as_str(),
                f.root.as_path(),
            )
        })
        .collect();
    assert_eq!(found, [("api/hello", "api/hello.ts", project.path())]);

    // Functions the output holds itself win, and a project without `api/` is files.
    let output_functions = tree(&[("index.html", ""), ("api/own.js", "")]);
    let own = plan(output_functions.path(), Some(project.path())).unwrap();
    assert_eq!(own.functions[0].paths, ["api/own"]);
    let plain = tree(&[("package.json", "{}"), ("dist/index.html", "")]);
    let dist = plain.path().join("dist");
    assert_eq!(
        plan(&dist, Some(plain.path())).unwrap(),
        SitePlan::files_only(&dist)
    );
}

#[test]
fn a_compiled_function_carries_the_data_under_api_and_no_code() {
    for (path, carried) in [
        ("api/_data.json", true),
        ("api/templates/page.html", true),
        ("api/README", true),
        ("api/_lib.ts", false),
        ("api/helpers/x.js", false),
        ("api/view.tsx", false),
        ("package.json", false),
        ("index.html", false),
    ] {
        assert_eq!(zero_config::carried_when_compiled(path), carried, "{path}");
    }
}

#[test]
fn a_site_without_api_or_output_is_files_only() {
    let dir = tree(&[("index.html", "hi"), ("apis/x.js", "")]);
    assert_eq!(
        plan(dir.path(), None).unwrap(),
        SitePlan::files_only(dir.path())
    );
}

#[test]
fn bundle_ids_follow_content_and_settings() {
    let file = |sha: &str| crate::manifest::FileEntry {
        path: "index.js".into(),
        size: 1,
        sha256: sha.into(),
        content_type: "text/javascript".into(),
    };
    let settings = FunctionSettings {
        runtime: DEFAULT_RUNTIME.into(),
        handler: "index.js".into(),
        memory_mb: 1024,
        max_duration_secs: 10,
        environment: Default::default(),
        secrets: Vec::new(),
        env_revision: None,
        streaming: true,
        helpers: true,
    };
    let bundle = FunctionBundle {
        settings: settings.clone(),
        files: vec![file("aa")],
    };
    assert_eq!(bundle.id(), bundle.clone().id());
    assert_eq!(bundle.id().len(), 64);
    let changed_file = FunctionBundle {
        files: vec![file("bb")],
        ..bundle.clone()
    };
    assert_ne!(bundle.id(), changed_file.id());
    let longer = FunctionBundle {
        settings: FunctionSettings {
            max_duration_secs: 11,
            ..settings
        },
        ..bundle.clone()
    };
    assert_ne!(bundle.id(), longer.id());
    assert!(Path::new(&bundle.id()).components().count() == 1);
}

#[test]
fn dynamic_segments_get_a_route_in_the_filesystem_phase() {
    let dir = tree(&[
        ("api/users/[id].js", ""),
        ("api/files/[...path].js", ""),
        ("api/[bad-name].js", ""),
        ("api/plain.js", ""),
    ]);
    let plan = plan(dir.path(), None).unwrap();
    let routes: Vec<(&str, Option<&str>)> = plan
        .function_routes
        .iter()
        .map(|route| (route.src.as_str(), route.dest.as_deref()))
        .collect();
    assert_eq!(
        routes,
        [
            (
                r"^/api/files/(?<path>.+)$",
                Some("/api/files/[...path]?path=$path")
            ),
            (r"^/api/users/(?<id>[^/]+)$", Some("/api/users/[id]?id=$id")),
        ]
    );
    // The site's own rewrites come after them; a table with no phase gets one.
    let mut table = RouteTable {
        routes: vec![
            Route {
                src: "^/old$".into(),
                ..Route::default()
            }
            .into(),
            RouteEntry::Handle {
                handle: Phase::Rewrite,
            },
        ],
        ..RouteTable::default()
    };
    add_filesystem_routes(&mut table, &plan.function_routes);
    assert!(matches!(
        table.routes[1],
        RouteEntry::Handle {
            handle: Phase::Filesystem
        }
    ));
    assert!(matches!(&table.routes[2], RouteEntry::Route(route) if route.src.contains("files")));
    assert!(matches!(
        table.routes[4],
        RouteEntry::Handle {
            handle: Phase::Rewrite
        }
    ));
    crate::routes::Router::new(&table).expect("the routes compile");
}

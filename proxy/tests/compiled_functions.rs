//! Zero-config functions that need compiling, deployed and served for real: TypeScript and
//! CommonJS compiled by esbuild (fetched from npm), an npm package a function imports
//! installed into Pier's cache rather than the user's folder, a built project's `api/` beside
//! its output, and every refusal with production still serving.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use pier_core::builds::{self, BuildRequest, detect::BuildOverrides};
use pier_core::deploy::{DeployOutcome, DeployRequest, deploy};
use pier_core::deployments;
use pier_core::logs::memory::LogBus;
use pier_core::logs::{LiveAndBackend, LogWriter};
use pier_core::progress::Progress;
use pier_core::store::DynStore;
use pier_tests::local_store;
use tokio_util::sync::CancellationToken;

mod support;

use support::{get, json, write};

async fn deploy_to(
    store: &DynStore,
    dir: &Path,
    project: &str,
) -> Result<DeployOutcome, pier_core::PierError> {
    let request = DeployRequest::folder(dir.to_path_buf(), Some(project.into()), true);
    deploy(store.as_ref(), &request, &Progress::silent()).await
}

/// Every file and folder under `root` with its size and modification time.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, (u64, SystemTime)> {
    let mut found = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                pending.push(entry.path());
            }
            let path = entry.path().strip_prefix(root).unwrap().to_path_buf();
            found.insert(path, (meta.len(), meta.modified().unwrap()));
        }
    }
    found
}

/// A plain folder (no `node_modules`): a TypeScript Web handler and a Node handler that both
/// import `ms` from npm, a CommonJS one, a TypeScript helper and a data file.
fn typed_site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "index.html", "home");
    write(
        root,
        "package.json",
        r#"{"type":"module","dependencies":{"ms":"2.1.3"},"devDependencies":{"typescript":"^5.6.0"}}"#,
    );
    write(
        root,
        "api/time.ts",
        r#"import ms from "ms";
import { readFileSync } from "node:fs";
import { label } from "./_lib/label";

interface Answer {
  in: string;
  label: string;
  data: { source: string };
  path: string;
}

export function GET(request: Request): Response {
  const data = JSON.parse(readFileSync(new URL("./_data.json", import.meta.url), "utf8"));
  const answer: Answer = { in: ms(90_000), label: label("time"), data, path: new URL(request.url).pathname };
  return Response.json(answer);
}
"#,
    );
    write(
        root,
        "api/_lib/label.ts",
        "export const label = (name: string): string => `[${name.toUpperCase()}]`;\n",
    );
    write(root, "api/_data.json", r#"{"source":"a data file"}"#);
    write(
        root,
        "api/hello.js",
        r#"import ms from "ms";
export default function handler(req, res) {
  res.status(200).json({ hello: req.query.name, ttl: ms("1h") });
}
"#,
    );
    write(
        root,
        "api/legacy.cjs",
        "const path = require('node:path');\nexports.GET = () => new Response(path.basename(__dirname));\n",
    );
    dir
}

#[tokio::test]
async fn typescript_and_imported_packages_are_compiled_and_the_folder_is_left_as_it_was() {
    let (store, _dir) = local_store().await;
    let site = typed_site();
    let before = snapshot(site.path());
    let first = deploy_to(&store, site.path(), "typed")
        .await
        .unwrap_or_else(|e| panic!("{e} ({})", e.hint()));
    assert_eq!(
        snapshot(site.path()),
        before,
        "the deploy wrote nothing in the folder (no node_modules/, no lockfile)"
    );

    let work = tempfile::tempdir().unwrap();
    let server = support::serve_local(store.clone(), work.path()).await;
    let host = "typed.localhost";
    let time = get(server.addr, host, "/api/time").await;
    assert_eq!(time.status, 200, "{}", time.text());
    assert_eq!(
        json(&time),
        serde_json::json!({"in": "2m", "label": "[TIME]", "data": {"source": "a data file"}, "path": "/api/time"})
    );
    let hello = json(&get(server.addr, host, "/api/hello?name=ada").await);
    assert_eq!(hello, serde_json::json!({"hello": "ada", "ttl": 3_600_000}));
    let legacy = get(server.addr, host, "/api/legacy").await;
    assert_eq!(
        (legacy.status, legacy.text()),
        (200, "api".to_string()),
        "CommonJS gets require and __dirname"
    );
    for private in ["/api/time.ts", "/api/_data.json", "/api/_lib/label.ts"] {
        assert_eq!(
            get(server.addr, host, private).await.status,
            404,
            "{private}"
        );
    }
    assert_eq!(get(server.addr, host, "/").await.text(), "home");

    // Each bundle is its one module and the data under api/: no sources, no node_modules.
    let manifest = deployments::resolve(store.as_ref(), &first.summary.id)
        .await
        .unwrap();
    let files: Vec<&str> = manifest.bundles[&manifest.functions["api/time"]]
        .files
        .iter()
        .map(|file| file.path.as_str())
        .collect();
    assert_eq!(files, ["api/_data.json", "api/time.mjs"]);

    // Compiling is deterministic: an unchanged redeploy uploads nothing.
    let again = deploy_to(&store, site.path(), "typed").await.unwrap();
    assert_eq!(again.uploaded_blobs, 0);
    let again = deployments::resolve(store.as_ref(), &again.summary.id)
        .await
        .unwrap();
    assert_eq!(again.functions, manifest.functions);

    // Only what the functions import was installed: `ms`, not the unused devDependency.
    let installs = pier_core::functions::npm::cache_dir().join("function-deps");
    let ours = std::fs::read_dir(&installs)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|folder| {
            std::fs::read_to_string(folder.join("package.json")).is_ok_and(|text| {
                serde_json::from_str::<serde_json::Value>(&text).unwrap()["dependencies"]
                    == serde_json::json!({"ms": "2.1.3"})
            })
        })
        .expect("an install of exactly `ms`");
    assert!(ours.join("node_modules/ms/package.json").is_file());
    assert!(!ours.join("node_modules/typescript").exists());
}

#[tokio::test]
async fn compile_errors_and_undeclared_packages_fail_the_deploy_and_production_keeps_serving() {
    let (store, _dir) = local_store().await;
    let site = tempfile::tempdir().unwrap();
    let root = site.path();
    write(root, "index.html", "home");
    write(
        root,
        "api/ok.ts",
        "export const GET = (): Response => new Response('fine');\n",
    );
    deploy_to(&store, root, "shop").await.unwrap();

    let refusal = |error: pier_core::PierError| format!("{error} | {}", error.hint());
    write(
        root,
        "api/ok.ts",
        "export const GET = (): Response => {\n  return new Response('x'\n};\n",
    );
    let broken = refusal(deploy_to(&store, root, "shop").await.unwrap_err());
    assert!(
        broken.contains("esbuild could not compile") && broken.contains("api/ok.ts:3:0"),
        "{broken}"
    );

    write(
        root,
        "api/ok.ts",
        "import pad from 'left-pad';\nexport const GET = () => new Response(pad('x', 3));\n",
    );
    let undeclared = refusal(deploy_to(&store, root, "shop").await.unwrap_err());
    assert!(
        undeclared.contains("`api/ok.ts` imports `left-pad`, which package.json does not list")
            && undeclared.contains("npm install <package>"),
        "{undeclared}"
    );

    write(
        root,
        "package.json",
        r#"{"dependencies":{"left-pad":"0.0.0-pier-no-such-version"}}"#,
    );
    let uninstallable = refusal(deploy_to(&store, root, "shop").await.unwrap_err());
    assert!(
        uninstallable.contains("could not install the functions' dependencies (left-pad) from npm")
            && uninstallable.contains("left-pad@0.0.0-pier-no-such-version")
            && uninstallable.contains("check the versions package.json gives"),
        "{uninstallable}"
    );
    assert!(!root.join("node_modules").exists() && !root.join("package-lock.json").exists());

    let work = tempfile::tempdir().unwrap();
    let server = support::serve_local(store, work.path()).await;
    assert_eq!(get(server.addr, "shop.localhost", "/").await.text(), "home");
    assert_eq!(
        get(server.addr, "shop.localhost", "/api/ok").await.text(),
        "fine"
    );
}

#[tokio::test]
async fn a_built_project_serves_its_output_and_the_api_folder_beside_it() {
    let (store, _dir) = local_store().await;
    let project = tempfile::tempdir().unwrap();
    let root = project.path();
    write(
        root,
        "package.json",
        r#"{"name":"built","scripts":{"build":"node build.js"}}"#,
    );
    write(
        root,
        "build.js",
        "require('fs').mkdirSync('dist', { recursive: true });\nrequire('fs').writeFileSync('dist/index.html', 'built page');\n",
    );
    write(
        root,
        "api/hello.ts",
        "export default { fetch: (request: Request): Response => Response.json({ from: 'api beside dist', method: request.method }) };\n",
    );
    let request = BuildRequest {
        dir: root.to_path_buf(),
        project: "built".into(),
        production: true,
        overrides: BuildOverrides::default(),
        env: Vec::new(),
        timeout: Duration::from_secs(120),
        source: None,
        store_cache: false,
        env_revision: None,
    };
    let bus = Arc::new(LogBus::new());
    let id = pier_core::manifest::new_id(time::OffsetDateTime::now_utc());
    let log = LogWriter::new(&id, bus.as_backend(), builds::secrets(&request.env));
    builds::build_and_deploy(
        &pier_core::regions::Regions::single(store.clone()),
        &request,
        &log,
        &CancellationToken::new(),
        &Progress::silent(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e} ({})", e.hint()));

    let work = tempfile::tempdir().unwrap();
    let server = support::serve_local(store, work.path()).await;
    assert_eq!(
        get(server.addr, "built.localhost", "/").await.text(),
        "built page"
    );
    let answer = get(server.addr, "built.localhost", "/api/hello").await;
    assert_eq!(
        json(&answer),
        serde_json::json!({"from": "api beside dist", "method": "GET"})
    );
    assert_eq!(
        get(server.addr, "built.localhost", "/build.js")
            .await
            .status,
        404,
        "the project's own files are not served, only its output"
    );
}

//! `pier env` in the local runtime, through the real proxy and real Node processes: a function
//! gets its deployment's plain variables and its secrets' values from the runtime's secret
//! source as its process starts; what it prints is masked; a process started after the values
//! changed runs with today's and says so in its log; a proxy with no source refuses to start a
//! function that needs secrets (502), and still serves the rest.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pier_core::deploy::{DeployRequest, deploy};
use pier_core::progress::Progress;
use pier_core::project_env::{EnvError, FunctionEnv, SecretSource};
use pier_core::store::DynStore;
use pier_proxy::ProxyConfig;
use pier_proxy::functions::local::LocalConfig;
use pier_tests::local_store;

mod support;

/// Secrets as the keychain would give them: the seam `pier serve` fills with `ProjectEnvs`.
#[derive(Debug, Default)]
struct Secrets {
    values: Mutex<BTreeMap<String, String>>,
    revision: Mutex<String>,
}

impl SecretSource for Secrets {
    fn secrets(
        &self,
        project: &str,
        names: &[String],
    ) -> Result<BTreeMap<String, String>, EnvError> {
        let values = self.values.lock().unwrap();
        names
            .iter()
            .map(|name| {
                let value = values.get(name).ok_or_else(|| EnvError::MissingSecret {
                    project: project.into(),
                    name: name.clone(),
                    place: "the test".into(),
                })?;
                Ok((name.clone(), value.clone()))
            })
            .collect()
    }

    fn revision(&self, _project: &str) -> Option<String> {
        Some(self.revision.lock().unwrap().clone())
    }
}

fn env(revision: &str, token: &str) -> FunctionEnv {
    FunctionEnv {
        revision: revision.into(),
        plain: [("GREETING".to_string(), "hi".to_string())].into(),
        secrets: [("API_TOKEN".to_string(), token.to_string())].into(),
    }
}

async fn deploy_with(store: &DynStore, dir: &Path, env: FunctionEnv) {
    let request = DeployRequest {
        env: Some(env),
        ..DeployRequest::folder(dir.to_path_buf(), Some("shop".into()), true)
    };
    deploy(store.as_ref(), &request, &Progress::silent())
        .await
        .unwrap();
}

async fn serve(store: &DynStore, work: &Path, secrets: Option<Arc<Secrets>>) -> support::Serving {
    support::serve(
        store.clone(),
        ProxyConfig {
            target_ttl: Duration::from_millis(100),
            functions: Some(LocalConfig {
                secrets: secrets.map(|secrets| secrets as Arc<dyn SecretSource>),
                ..LocalConfig::new(work.to_path_buf())
            }),
            ..ProxyConfig::default()
        },
    )
    .await
}

async fn whoami(addr: SocketAddr) -> (u16, serde_json::Value) {
    let answer = support::send(addr, "GET", "shop.localhost", "/api/whoami", &[], b"").await;
    let body = serde_json::from_slice(&answer.body).unwrap_or(serde_json::Value::Null);
    (answer.status, body)
}

/// Every line of the project's function log, once one holds `text`.
async fn log_with(work: &Path, text: &str) -> Vec<String> {
    let file = pier_core::functions::log::path(work, "shop");
    for _ in 0..100 {
        let (lines, _) = pier_core::functions::log::read_from(&file, 0).unwrap();
        let texts: Vec<String> = lines.into_iter().map(|line| line.text).collect();
        if texts.iter().any(|line| line.contains(text)) {
            return texts;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("`{text}` never reached {}", file.display());
}

#[tokio::test]
async fn functions_get_their_secrets_from_the_runtime_masked_in_their_output() {
    let (store, _dir) = local_store().await;
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "home").unwrap();
    std::fs::create_dir(site.path().join("api")).unwrap();
    std::fs::write(
        site.path().join("api/whoami.js"),
        "console.log('loaded with', process.env.API_TOKEN);\nmodule.exports = (req, res) => res.json({ greeting: process.env.GREETING, token: process.env.API_TOKEN });\n",
    )
    .unwrap();
    deploy_with(&store, site.path(), env("r1", "tok-abc123")).await;
    let secrets = Arc::new(Secrets::default());
    secrets
        .values
        .lock()
        .unwrap()
        .insert("API_TOKEN".into(), "tok-abc123".into());
    *secrets.revision.lock().unwrap() = "r1".into();

    let work = tempfile::tempdir().unwrap();
    let serving = serve(&store, work.path(), Some(secrets.clone())).await;
    let (status, body) = whoami(serving.addr).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["greeting"].as_str(), body["token"].as_str()),
        (Some("hi"), Some("tok-abc123"))
    );
    let log = log_with(work.path(), "loaded with").await;
    assert!(log.contains(&"loaded with ••••••".to_string()), "{log:?}");
    assert!(
        !log.iter().any(|line| line.contains("tok-abc123")),
        "{log:?}"
    );
    assert!(!log.iter().any(|line| line.contains("[pier]")), "{log:?}");
    drop(serving);

    // The value changed after the deploy: a fresh process gets today's, and its log says so.
    secrets
        .values
        .lock()
        .unwrap()
        .insert("API_TOKEN".into(), "tok-rotated-9".into());
    *secrets.revision.lock().unwrap() = "r2".into();
    let later = tempfile::tempdir().unwrap();
    let serving = serve(&store, later.path(), Some(secrets.clone())).await;
    assert_eq!(whoami(serving.addr).await.1["token"], "tok-rotated-9");
    let log = log_with(later.path(), "[pier]").await;
    assert!(
        log.iter()
            .any(|line| line.contains("the project's variables changed after this deployment")),
        "{log:?}"
    );
    drop(serving);

    // A secret the source does not have, or no source at all: the function does not start.
    secrets.values.lock().unwrap().clear();
    let missing = tempfile::tempdir().unwrap();
    let serving = serve(&store, missing.path(), Some(secrets)).await;
    assert_eq!(whoami(serving.addr).await.0, 502);
    drop(serving);
    let none = tempfile::tempdir().unwrap();
    let serving = serve(&store, none.path(), None).await;
    assert_eq!(whoami(serving.addr).await.0, 502);
    let home = support::send(serving.addr, "GET", "shop.localhost", "/", &[], b"").await;
    assert_eq!((home.status, home.text().as_str()), (200, "home"));
}

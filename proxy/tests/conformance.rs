//! The routing conformance suite: cases ported from the peers' own tests (Vercel's
//! routing-utils and serve-handler, Netlify's redirect and header parsers and its CLI), in
//! `tests/conformance/cases/*.json` (the format and sources are in `SOURCES.md` there). Each
//! case's site is deployed to a local store as `pier deploy` does it and served by the real
//! proxy over HTTP; each request's answer is compared with the peer's expectation.
//!
//! The test fails when fewer than 95% of the cases pass, and when the cases that fail are not
//! exactly those listed, with their reasons, in the README's conformance section, so the list
//! stays true in both directions.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use pier_core::deploy::{DeployRequest, deploy};
use pier_core::domains::DomainRecord;
use pier_core::progress::Progress;
use pier_core::records::write_json;
use pier_core::store::DynStore;
use pier_core::store::{PutOptions, keys};
use pier_proxy::ProxyConfig;
use pier_tests::http::request;
use pier_tests::local_store;
use serde::Deserialize;

mod support;

#[derive(Deserialize)]
struct CaseFile {
    peer: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    source: String,
    files: BTreeMap<String, String>,
    #[serde(default)]
    requests: Vec<CaseRequest>,
    #[serde(default)]
    deploy_error: Option<String>,
}

#[derive(Deserialize)]
struct CaseRequest {
    path: String,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    host: Option<String>,
    expect: Expect,
}

#[derive(Deserialize)]
struct Expect {
    status: u16,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    absent_headers: Vec<String>,
}

/// Not `localhost`, which some cases use as a custom host.
const BASE_DOMAIN: &str = "conformance.test";

fn cases_dir() -> PathBuf {
    pier_tests::repo_root().join("tests/conformance/cases")
}

fn write_site(root: &Path, files: &BTreeMap<String, String>) {
    for (relative, body) in files {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
}

async fn start(store: DynStore) -> support::Serving {
    let config = ProxyConfig {
        target_ttl: Duration::from_secs(60),
        base_domains: vec![BASE_DOMAIN.into()],
        ..ProxyConfig::default()
    };
    support::serve(store, config).await
}

/// Runs one case; `Err` says which request answered what.
async fn run_case(case: &Case) -> Result<(), String> {
    let (store, _store_dir) = local_store().await;
    let site = tempfile::tempdir().unwrap();
    write_site(site.path(), &case.files);
    let deploying = DeployRequest::folder(site.path().to_path_buf(), Some("site".into()), true);
    let deployed = deploy(store.as_ref(), &deploying, &Progress::silent()).await;
    match (&case.deploy_error, deployed) {
        (Some(_), Err(_)) => return Ok(()),
        (Some(why), Ok(_)) => return Err(format!("deployed, but the peer refuses it ({why})")),
        (None, Err(error)) => return Err(format!("the deploy failed: {error}")),
        (None, Ok(_)) => {}
    }
    // Peers' tests use hosts `pier domains add` would refuse (`localhost`), so the records
    // the proxy reads are written directly.
    for host in case.requests.iter().filter_map(|r| r.host.as_deref()) {
        let domain = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
        let record = DomainRecord {
            domain: domain.clone(),
            project: "site".into(),
            attached: time::OffsetDateTime::now_utc(),
        };
        write_json(
            store.as_ref(),
            &keys::domain(&domain),
            &record,
            PutOptions::json(),
        )
        .await
        .unwrap();
    }
    let serving = start(store).await;
    let addr = serving.addr;
    let mut problems = Vec::new();
    for sent in &case.requests {
        let host = sent
            .host
            .clone()
            .unwrap_or_else(|| format!("site.{BASE_DOMAIN}"));
        let method = sent.method.clone().unwrap_or_else(|| "GET".into());
        let (target, headers) = (sent.path.clone(), sent.headers.clone());
        let answer = tokio::task::spawn_blocking(move || {
            let headers: Vec<(&str, &str)> = headers
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str()))
                .collect();
            request(addr, &method, &host, &target, &headers)
        })
        .await
        .unwrap();
        let expect = &sent.expect;
        let mut wrong = Vec::new();
        if answer.status != expect.status {
            wrong.push(format!("status {} (want {})", answer.status, expect.status));
        }
        if let Some(location) = &expect.location
            && answer.header("location") != Some(location.as_str())
        {
            wrong.push(format!(
                "location {:?} (want {location:?})",
                answer.header("location")
            ));
        }
        if let Some(body) = &expect.body
            && answer.text() != *body
        {
            wrong.push(format!("body {:?} (want {body:?})", answer.text()));
        }
        for (name, value) in &expect.headers {
            if answer.header(name) != Some(value.as_str()) {
                wrong.push(format!(
                    "{name}: {:?} (want {value:?})",
                    answer.header(name)
                ));
            }
        }
        for name in &expect.absent_headers {
            if let Some(value) = answer.header(name) {
                wrong.push(format!("{name}: {value:?} (want none)"));
            }
        }
        if !wrong.is_empty() {
            problems.push(format!("{} → {}", sent.path, wrong.join(", ")));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// The failures the README lists: lines `` - `file › case` `` in its conformance section.
fn listed_failures() -> Vec<String> {
    let readme = std::fs::read_to_string(pier_tests::repo_root().join("README.md")).unwrap();
    let section = readme
        .split("<!-- conformance-failures -->")
        .nth(1)
        .unwrap_or_default();
    section
        .lines()
        .take_while(|line| !line.contains("<!-- /conformance-failures -->"))
        .filter_map(|line| {
            let quoted = line.trim().strip_prefix("- `")?;
            Some(quoted.split('`').next()?.to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_peers_own_routing_tests_pass() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("tests/conformance/cases exists")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    let (mut passed, mut total) = (0, 0);
    let mut failed: Vec<String> = Vec::new();
    for path in &files {
        let file_name = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(path).unwrap();
        let cases: CaseFile = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{file_name} is not a case file: {e}"));
        let mut file_passed = 0;
        for case in &cases.cases {
            total += 1;
            match run_case(case).await {
                Ok(()) => {
                    passed += 1;
                    file_passed += 1;
                }
                Err(problem) => {
                    println!(
                        "FAIL {file_name} › {} ({}): {problem}",
                        case.name, case.source
                    );
                    failed.push(format!("{file_name} › {}", case.name));
                }
            }
        }
        println!(
            "{file_name} ({}): {file_passed} of {} cases pass",
            cases.peer,
            cases.cases.len()
        );
    }
    let rate = f64::from(passed) / f64::from(total.max(1));
    println!(
        "conformance: {passed} of {total} cases pass ({:.1}%)",
        rate * 100.0
    );
    assert!(total > 0, "no cases found in {}", cases_dir().display());
    let listed = listed_failures();
    let unlisted: Vec<&String> = failed.iter().filter(|f| !listed.contains(f)).collect();
    let passing_but_listed: Vec<&String> = listed.iter().filter(|l| !failed.contains(l)).collect();
    assert!(
        unlisted.is_empty(),
        "these cases fail and the README does not list them with a reason: {unlisted:#?}"
    );
    assert!(
        passing_but_listed.is_empty(),
        "these cases pass now; take them off the README's list: {passing_but_listed:#?}"
    );
    assert!(
        rate >= 0.95,
        "only {:.1}% of the ported cases pass; the goal is 95%",
        rate * 100.0
    );
}

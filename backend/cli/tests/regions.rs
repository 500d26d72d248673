//! `pier` with several regions in its config file, as a user runs it: a deploy lands in every
//! region that answers and reports the one that does not; `pier regions status` says what a
//! region lacks; `pier regions sync` brings it up; an unknown region is refused with a hint.

use std::path::Path;
use std::process::{Command, Output};

use pier_tests::aws_test_env;
use serde_json::Value;

/// `pier` reading `config`, with no store flag, so the config's regions apply.
fn pier(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pier"))
        .args(args)
        .env("PIER_CONFIG", config)
        .env_remove("PIER_STORE")
        .env_remove("PIER_BASE_URL")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .envs(aws_test_env())
        .output()
        .expect("pier runs")
}

fn ok_json(config: &Path, args: &[&str]) -> Value {
    let output = pier(config, args);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    pier_tests::stdout_json(&output)
}

/// Each region's state in a `regions` list, by name.
fn states(regions: &Value) -> Vec<(String, String)> {
    regions
        .as_array()
        .expect("a list of regions")
        .iter()
        .map(|report| {
            (
                report["region"].as_str().unwrap().to_string(),
                report["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn site(parent: &Path, text: &str) -> String {
    let dir = parent.join(text);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), text).unwrap();
    dir.to_str().unwrap().to_string()
}

#[test]
fn regions_from_the_config_file_get_every_deploy_and_catch_up_on_sync() {
    let work = tempfile::tempdir().unwrap();
    let (a, b) = (work.path().join("store-a"), work.path().join("store-b"));
    // A region whose endpoint refuses connections: an outage, as the SDK sees one.
    let closed = pier_tests::free_port();
    let c = format!("s3://pier-ap-south-1?endpoint=http://127.0.0.1:{closed}&region=ap-south-1");
    let full = work.path().join("config.toml");
    std::fs::write(
        &full,
        format!(
            "store = \"{}\"\nregion = \"us-east-1\"\n\n[[regions]]\nname = \"eu-west-1\"\nstore = \"{}\"\n\n[[regions]]\nname = \"ap-south-1\"\nstore = \"{c}\"\n",
            a.display(),
            b.display()
        ),
    )
    .unwrap();
    // Another machine's config that names only the primary.
    let primary_only = work.path().join("primary-only.toml");
    std::fs::write(&primary_only, format!("store = \"{}\"\n", a.display())).unwrap();

    let v1 = ok_json(
        &full,
        &[
            "deploy",
            &site(work.path(), "one"),
            "--project",
            "docs",
            "--prod",
            "--json",
        ],
    );
    let id1 = v1["deployment"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        states(&v1["deployment"]["regions"]),
        [
            ("eu-west-1".to_string(), "in_sync".to_string()),
            ("ap-south-1".to_string(), "unreachable".to_string())
        ]
    );
    assert!(b.join("deployments").join(format!("{id1}.json")).exists());

    let v2 = ok_json(
        &primary_only,
        &[
            "deploy",
            &site(work.path(), "two"),
            "--project",
            "docs",
            "--prod",
            "--json",
        ],
    );
    let id2 = v2["deployment"]["id"].as_str().unwrap().to_string();
    assert!(
        v2["deployment"].get("regions").is_none(),
        "one region reports none"
    );

    let status = ok_json(&full, &["regions", "status", "--json"]);
    assert_eq!(status["primary"], "us-east-1");
    let docs = &status["projects"][0];
    assert_eq!(docs["project"], "docs");
    let eu = &docs["regions"][0];
    assert_eq!(
        (
            eu["state"].as_str(),
            eu["missing"].as_u64(),
            eu["alias_behind"].as_bool()
        ),
        (Some("lagging"), Some(1), Some(true)),
        "{eu}"
    );
    assert_eq!(docs["regions"][1]["state"], "unreachable");
    let text = pier(&full, &["regions", "status"]);
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(
        text.contains("eu-west-1")
            && text.contains("lagging: 1 deployment missing, production alias behind"),
        "{text}"
    );

    let synced = ok_json(
        &full,
        &["regions", "sync", "--region", "eu-west-1", "--json"],
    );
    assert_eq!(
        states(&synced["projects"][0]["regions"]),
        [("eu-west-1".to_string(), "in_sync".to_string())]
    );
    assert!(b.join("deployments").join(format!("{id2}.json")).exists());
    let alias = |store: &Path| -> Value {
        let text = std::fs::read(store.join("projects/docs/alias.json")).unwrap();
        serde_json::from_slice(&text).unwrap()
    };
    assert_eq!(alias(&b), alias(&a));
    assert_eq!(alias(&b)["production"], id2.as_str());

    // Promote and rm reach the region too, and say where they could not.
    let promoted = ok_json(&full, &["promote", &id1, "--json"]);
    assert_eq!(
        states(&promoted["regions"]),
        [
            ("eu-west-1".to_string(), "in_sync".to_string()),
            ("ap-south-1".to_string(), "unreachable".to_string())
        ]
    );
    assert_eq!(alias(&b)["production"], id1.as_str());
    let removed = ok_json(&full, &["rm", &id2, "--json"]);
    assert_eq!(states(&removed["regions"])[0].1, "in_sync");
    assert!(!b.join("deployments").join(format!("{id2}.json")).exists());

    let unknown = pier(&full, &["regions", "sync", "--region", "mars-1"]);
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(stderr.contains("no region `mars-1`"), "{stderr}");
    assert!(
        stderr.contains("hint: `pier regions status` lists the regions"),
        "{stderr}"
    );
}

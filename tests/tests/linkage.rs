//! Each binary links what it uses (ARCHITECTURE.md, "Invariants"): read from `cargo tree`, the
//! normal dependencies each package would be built with on its own, features resolved as
//! cargo resolves them for that package alone. A new dependency that breaks a rule fails here
//! with the package and the path that pulled it in.

use std::collections::BTreeSet;
use std::process::Command;

use pier_tests::repo_root;

/// The packages `package` links, with the features cargo enables for it when built alone.
fn linked(package: &str) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(repo_root())
        .args(["tree", "--locked", "--offline", "-p", package])
        .args(["-e", "normal", "--prefix", "none", "--format", "{p}"])
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo tree -p {package} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// The AWS service SDKs a package links. STS is left out: aws-config's credential chain
/// always carries it (assumed roles, web identity), whatever the package calls itself.
fn aws_sdks(packages: &BTreeSet<String>) -> Vec<&str> {
    packages
        .iter()
        .map(String::as_str)
        .filter(|name| name.starts_with("aws-sdk-") && *name != "aws-sdk-sts")
        .collect()
}

fn refuse(package: &str, packages: &BTreeSet<String>, forbidden: &[&str]) {
    let found: Vec<&&str> = forbidden
        .iter()
        .filter(|name| packages.contains(**name))
        .collect();
    assert!(
        found.is_empty(),
        "{package} links {found:?}; see why with `cargo tree -p {package} -e normal -i <name>`"
    );
}

#[test]
fn the_proxy_links_s3_and_lambda_and_nothing_that_manages_an_account() {
    let packages = linked("pier-proxy");
    // Lambda to invoke functions; it never publishes them (pier-core's `lambda` feature is off).
    assert_eq!(aws_sdks(&packages), ["aws-sdk-lambda", "aws-sdk-s3"]);
    refuse(
        "pier-proxy",
        &packages,
        &[
            "pier-aws", "pier-app", "redis", "notify", "keyring", "tauri",
        ],
    );
}

#[test]
fn the_builder_links_s3_sqs_and_lambda_only() {
    let packages = linked("pier-builder");
    // Lambda because it deploys what it builds, and a deploy publishes functions.
    assert_eq!(
        aws_sdks(&packages),
        ["aws-sdk-lambda", "aws-sdk-s3", "aws-sdk-sqs"]
    );
    refuse(
        "pier-builder",
        &packages,
        &[
            "pier-aws",
            "pier-app",
            "pier-proxy",
            "notify",
            "keyring",
            "tauri",
        ],
    );
}

#[test]
fn the_core_links_no_desktop_and_no_account_engine() {
    let packages = linked("pier-core");
    assert_eq!(aws_sdks(&packages), ["aws-sdk-s3"]);
    refuse(
        "pier-core",
        &packages,
        &[
            "pier-aws",
            "pier-app",
            "keyring",
            "notify",
            "redis",
            "pier-proxy",
            "tauri",
        ],
    );
}

#[test]
fn only_the_desktop_shell_links_tauri_and_only_keyboard_crates_the_keychain() {
    for package in [
        "pier-core",
        "pier-aws",
        "pier-app",
        "pier-cli",
        "pier-proxy",
        "pier-builder",
    ] {
        refuse(package, &linked(package), &["tauri", "leptos"]);
    }
    // Secrets are read from the OS keychain by what a person runs (the CLI and the desktop
    // app, for `pier env` and the Redis password); the hosted half gets its own from the task.
    for package in ["pier-core", "pier-aws", "pier-proxy", "pier-builder"] {
        refuse(
            package,
            &linked(package),
            &["keyring", "linux-keyutils", "secret-service", "zbus"],
        );
    }
    assert!(linked("pier-desktop").contains("tauri"));
    // On Linux the keychain is the session's Secret Service (secret-service, over zbus) with
    // the kernel's (linux-keyutils) when there is none; `keyring` serves macOS and Windows,
    // and `cargo tree` here shows this platform's dependencies.
    for package in ["pier-app", "pier-cli"] {
        let packages = linked(package);
        for keychain in ["linux-keyutils", "secret-service"] {
            assert!(packages.contains(keychain), "{package} links {keychain}");
        }
    }
}

#[test]
fn the_ui_links_no_engine() {
    let packages = linked("pier-ui");
    refuse(
        "pier-ui",
        &packages,
        &["pier-core", "pier-app", "pier-aws", "tokio", "aws-config"],
    );
}

#[test]
fn every_binary_has_one_tls_crypto_provider_ring() {
    // Two providers linked leave rustls without a default, and a client that asks for it
    // (redis's TLS connections) would panic; aws-lc also costs the edge binaries ~2 MB.
    for package in ["pier-proxy", "pier-builder", "pier-cli", "pier-desktop"] {
        let packages = linked(package);
        refuse(package, &packages, &["aws-lc-rs", "aws-lc-sys", "openssl"]);
        assert!(packages.contains("ring"), "{package} links ring");
    }
}

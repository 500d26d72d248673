//! `pier env` without a keychain: names, the file, revisions and freezing into a bundle,
//! over an in-memory vault.

use std::collections::HashMap;
use std::sync::Mutex;

use super::*;

/// The unit tests' vault; the keychain itself is exercised by the CLI's tests.
#[derive(Default)]
struct MemoryVault(Mutex<HashMap<String, String>>);

impl SecretVault for MemoryVault {
    fn get(&self, project: &str, name: &str) -> Result<Option<String>, EnvError> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .get(&format!("{project}/{name}"))
            .cloned())
    }
    fn set(&self, project: &str, name: &str, value: &str) -> Result<(), EnvError> {
        self.0
            .lock()
            .unwrap()
            .insert(format!("{project}/{name}"), value.into());
        Ok(())
    }
    fn delete(&self, project: &str, name: &str) -> Result<(), EnvError> {
        self.0.lock().unwrap().remove(&format!("{project}/{name}"));
        Ok(())
    }
    fn place(&self) -> String {
        "memory".into()
    }
}

fn envs() -> (tempfile::TempDir, Arc<MemoryVault>, ProjectEnvs) {
    let dir = tempfile::tempdir().unwrap();
    let vault = Arc::new(MemoryVault::default());
    let envs = ProjectEnvs::new(dir.path().join("env"), vault.clone());
    (dir, vault, envs)
}

#[test]
fn names_follow_the_shell_and_leave_reserved_ones_alone() {
    for good in ["API_TOKEN", "_private", "a1", "TZ"] {
        validate_name(good).unwrap();
    }
    for bad in [
        "",
        "1ST",
        "WITH-DASH",
        "WITH SPACE",
        "ÜBER",
        "AWS_REGION",
        "LAMBDA_TASK_ROOT",
        "_HANDLER",
        "PIER_STORE",
        "NODE_OPTIONS",
    ] {
        let error = validate_name(bad).unwrap_err();
        assert!(matches!(error, EnvError::BadName { .. }), "{bad}: {error}");
    }
}

#[test]
fn secrets_go_to_the_vault_and_only_their_names_to_the_file() {
    let (dir, vault, envs) = envs();
    assert_eq!(
        envs.set("shop", "API_TOKEN", "tok-9f8e7d", true).unwrap(),
        Change::Added
    );
    assert_eq!(
        envs.set("shop", "GREETING", "hello", false).unwrap(),
        Change::Added
    );
    let text = std::fs::read_to_string(dir.path().join("env/shop.json")).unwrap();
    assert!(!text.contains("tok-9f8e7d"), "{text}");
    assert!(
        text.contains("API_TOKEN") && text.contains("hello"),
        "{text}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("env/shop.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "readable by others: {mode:o}");
    }
    assert_eq!(
        vault.get("shop", "API_TOKEN").unwrap().as_deref(),
        Some("tok-9f8e7d")
    );
    let listed = envs.list("shop").unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(
        (
            listed[0].name.as_str(),
            listed[0].secret,
            listed[0].value.as_deref()
        ),
        ("API_TOKEN", true, None)
    );
    assert_eq!(listed[1].value.as_deref(), Some("hello"));
    let resolved = envs.resolve("shop").unwrap().unwrap();
    assert_eq!(resolved.secrets["API_TOKEN"], "tok-9f8e7d");
    assert_eq!(resolved.plain["GREETING"], "hello");
    assert!(!format!("{resolved:?}").contains("tok-9f8e7d"));
    // Another project does not see them.
    assert!(envs.resolve("blog").unwrap().is_none());
}

#[test]
fn the_revision_changes_with_a_value_and_only_then() {
    let (_dir, _vault, envs) = envs();
    envs.set("shop", "API_TOKEN", "one", true).unwrap();
    let first = envs.revision("shop").unwrap();
    assert_eq!(
        envs.set("shop", "API_TOKEN", "one", true).unwrap(),
        Change::Unchanged
    );
    assert_eq!(envs.revision("shop").unwrap(), first);
    assert_eq!(
        envs.set("shop", "API_TOKEN", "two", true).unwrap(),
        Change::Updated
    );
    let second = envs.revision("shop").unwrap();
    assert_ne!(second, first);
    // Secret to plain: the vault forgets the value.
    envs.set("shop", "API_TOKEN", "two", false).unwrap();
    assert_ne!(envs.revision("shop").unwrap(), second);
    assert_eq!(
        envs.secrets("shop", &["API_TOKEN".into()])
            .unwrap_err()
            .to_string(),
        "the secret `API_TOKEN` of project `shop` has no value in memory"
    );
}

#[test]
fn removing_the_last_variable_removes_the_file_and_the_secret() {
    let (dir, vault, envs) = envs();
    envs.set("shop", "API_TOKEN", "tok-1", true).unwrap();
    envs.remove("shop", "API_TOKEN").unwrap();
    assert!(!dir.path().join("env/shop.json").exists());
    assert_eq!(vault.get("shop", "API_TOKEN").unwrap(), None);
    assert!(envs.resolve("shop").unwrap().is_none());
    let error = envs.remove("shop", "API_TOKEN").unwrap_err();
    assert!(matches!(error, EnvError::NoSuchVariable { .. }), "{error}");
}

#[test]
fn a_secret_missing_from_the_vault_fails_resolve_with_a_hint() {
    let (_dir, vault, envs) = envs();
    envs.set("shop", "API_TOKEN", "tok-1", true).unwrap();
    vault.delete("shop", "API_TOKEN").unwrap();
    let error = envs.resolve("shop").unwrap_err();
    assert!(matches!(error, EnvError::MissingSecret { .. }), "{error}");
    assert!(error.hint().contains("pier env set"));
}

#[test]
fn a_hand_edited_file_with_a_bad_name_is_refused() {
    let (dir, _vault, envs) = envs();
    std::fs::create_dir_all(dir.path().join("env")).unwrap();
    std::fs::write(
        dir.path().join("env/shop.json"),
        r#"{"revision":"r","vars":{"AWS_SECRET_ACCESS_KEY":{"value":"x"}}}"#,
    )
    .unwrap();
    assert!(matches!(
        envs.list("shop").unwrap_err(),
        EnvError::BadName { .. }
    ));
}

#[test]
fn apply_freezes_names_and_revision_into_the_bundle() {
    let env = FunctionEnv {
        revision: "r1".into(),
        plain: [("GREETING".to_string(), "hi".to_string())].into(),
        secrets: [("API_TOKEN".to_string(), "tok".to_string())].into(),
    };
    let mut settings = crate::manifest::FunctionSettings {
        runtime: "nodejs20.x".into(),
        handler: "index.js".into(),
        memory_mb: 1024,
        max_duration_secs: 10,
        environment: [("GREETING".to_string(), "adapter".to_string())].into(),
        secrets: Vec::new(),
        env_revision: None,
        streaming: false,
        helpers: true,
    };
    env.apply(&mut settings);
    assert_eq!(settings.environment["GREETING"], "hi");
    assert_eq!(settings.secrets, ["API_TOKEN"]);
    assert_eq!(settings.env_revision.as_deref(), Some("r1"));
    assert!(!serde_json::to_string(&settings).unwrap().contains("tok"));
}

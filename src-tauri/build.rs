//! Generates Tauri's context (config, capabilities, the app-command permission set) and
//! embeds the UI from `../ui/dist`, which `ui/build.sh` must have built first.

fn main() {
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(
        tauri_build::AppManifest::new().commands(&[
            "app_info",
            "projects",
            "deployments",
            "builds",
            "promote",
            "rollback",
            "sync_regions",
            "remove",
            "deploy_folder",
            "deploy_example",
            "pick_folder",
            "watches",
            "watch_add",
            "watch_remove",
            "follow_log",
            "follow_functions",
            "env_vars",
            "env_set",
            "env_remove",
            "stop_following",
            "settings",
            "save_settings",
            "test_connection",
            "aws_profiles",
            "open_url",
            "copy_text",
            "cancel_deploy",
            "setup_form",
            "setup_run",
            "domains",
            "domain_add",
            "domain_verify",
            "domain_remove",
            "update_offered",
            "update_install",
        ]),
    ))
    .expect("tauri-build: ui/dist must exist (run ui/build.sh first)");
}

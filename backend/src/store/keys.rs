//! The store's key layout, in one place. ARCHITECTURE.md documents the same table.
//!
//! ```text
//! blobs/<sha256>                              file contents, immutable, shared by all
//! deployments/<id>.json                       manifest, immutable, written after its blobs
//! projects/<project>/alias.json               production alias + rollback stack (CAS)
//! projects/<project>/deployments/<id>.json    index entry (summary) of a deployment
//! previews/<project>-<short id>.json          preview name → deployment id
//! domains/<host>.json                         custom domain → project
//! leases/<id>.json                            blobs an unfinished deploy relies on
//! gc/lock.json, gc/epoch.json                 the garbage collector's fence
//! settings/functions.json                     where functions run besides locally (setup)
//! lambda/versions/<project>/<bundle>.json     the Lambda version a bundle became
//! lambda/code/<sha256>.zip                    a zip on its way into Lambda (deleted after)
//! ```

pub const BLOBS: &str = "blobs/";
pub const DEPLOYMENTS: &str = "deployments/";
pub const PROJECTS: &str = "projects/";
pub const PREVIEWS: &str = "previews/";
pub const LEASES: &str = "leases/";
pub const DOMAINS: &str = "domains/";
pub const GC_LOCK: &str = "gc/lock.json";
pub const GC_EPOCH: &str = "gc/epoch.json";
pub const FUNCTIONS_RUNTIME: &str = "settings/functions.json";
pub const LAMBDA_VERSIONS: &str = "lambda/versions/";
pub const LAMBDA_CODE: &str = "lambda/code/";

pub fn blob(sha256_hex: &str) -> String {
    format!("{BLOBS}{sha256_hex}")
}

pub fn manifest(id: &str) -> String {
    format!("{DEPLOYMENTS}{id}.json")
}

pub fn alias(project: &str) -> String {
    format!("{PROJECTS}{project}/alias.json")
}

pub fn project_deployments(project: &str) -> String {
    format!("{PROJECTS}{project}/deployments/")
}

pub fn index_entry(project: &str, id: &str) -> String {
    format!("{PROJECTS}{project}/deployments/{id}.json")
}

pub fn preview(name: &str) -> String {
    format!("{PREVIEWS}{name}.json")
}

pub fn domain(host: &str) -> String {
    format!("{DOMAINS}{host}.json")
}

pub fn lease(id: &str) -> String {
    format!("{LEASES}{id}.json")
}

/// The last segment of a key without its `.json`, e.g. the id of a manifest key.
pub fn lambda_version(project: &str, bundle_id: &str) -> String {
    format!("{LAMBDA_VERSIONS}{project}/{bundle_id}.json")
}

pub fn lambda_code(sha256_hex: &str) -> String {
    format!("{LAMBDA_CODE}{sha256_hex}.zip")
}

pub fn stem(key: &str) -> &str {
    let name = key.rsplit('/').next().unwrap_or(key);
    name.strip_suffix(".json").unwrap_or(name)
}

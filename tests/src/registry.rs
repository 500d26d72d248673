//! Real OCI registries for the image mirror's tests: Debian's `docker-registry` (CNCF
//! Distribution 2.8) on a free loopback port, optionally behind htpasswd basic auth the way ECR
//! answers; and images put into them by `skopeo` (Debian), a client no one here wrote, from an
//! OCI image layout ([`OciLayout`]) written to disk.
//!
//! The layouts are small but real: each platform has an image config naming its `os` and
//! `architecture` and real tar layers, one layer shared between the platforms (as a base
//! image's layers are), and the index names each platform, so a copy can be checked digest by
//! digest against files on disk.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sha2::Digest as _;

use crate::{free_port, wait_for_http};

/// Where a registry keeps blobs on disk, under its root (Distribution's filesystem driver).
const BLOB_DIR: &str = "docker/registry/v2/blobs/sha256";

/// A `docker-registry` on a free loopback port, stopped on drop.
pub struct LocalRegistry {
    child: Child,
    pub port: u16,
    root: tempfile::TempDir,
    login: Option<(String, String)>,
}

impl LocalRegistry {
    /// A registry anyone may push to.
    pub fn open() -> LocalRegistry {
        LocalRegistry::start(None)
    }

    /// A registry that answers 401 with `WWW-Authenticate: Basic` until given this login
    /// (ECR's way: `AWS` and a password from `GetAuthorizationToken`).
    pub fn with_login(username: &str, password: &str) -> LocalRegistry {
        LocalRegistry::start(Some((username.to_string(), password.to_string())))
    }

    fn start(login: Option<(String, String)>) -> LocalRegistry {
        let root = tempfile::tempdir().expect("a temporary folder");
        let auth = match &login {
            Some((username, password)) => {
                let output = Command::new("htpasswd")
                    .args(["-Bbn", username, password])
                    .output()
                    .expect("htpasswd runs (apache2-utils; run .ci/run once)");
                assert!(output.status.success(), "htpasswd failed");
                let file = root.path().join("htpasswd");
                fs::write(&file, &output.stdout).unwrap();
                format!(
                    "auth:\n  htpasswd:\n    realm: pier-test\n    path: {}\n",
                    file.display()
                )
            }
            None => String::new(),
        };
        let storage = root.path().join("storage");
        fs::create_dir_all(&storage).unwrap();
        for _ in 0..5 {
            let port = free_port();
            let config = root.path().join("config.yml");
            fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n\
                     storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
                     http:\n  addr: 127.0.0.1:{port}\n{auth}",
                    storage.display()
                ),
            )
            .unwrap();
            let mut child = Command::new(registry_program())
                .arg("serve")
                .arg(&config)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("docker-registry runs (the Debian package; run .ci/run once)");
            if wait_for_http(port, "/v2/", Duration::from_secs(20)) {
                return LocalRegistry {
                    child,
                    port,
                    root,
                    login,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("docker-registry did not start");
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `127.0.0.1:<port>`, as image names and skopeo write it.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `skopeo copy` of every platform, digests preserved, with this registry as its `side`
    /// (`src` or `dest`): over plain HTTP, and with the registry's login when it has one.
    fn skopeo_copy(&self, side: &str) -> Command {
        let mut command = Command::new("skopeo");
        command.args(["copy", "--all", "--preserve-digests"]);
        command.arg(format!("--{side}-tls-verify=false"));
        if let Some((username, password)) = &self.login {
            command.arg(format!("--{side}-creds={username}:{password}"));
        }
        command
    }

    /// Puts every platform of `layout` into `repository` with skopeo, digests preserved.
    pub fn push(&self, layout: &OciLayout, repository: &str) {
        let mut command = self.skopeo_copy("dest");
        command
            .arg(format!("oci:{}:latest", layout.dir.display()))
            .arg(format!("docker://{}/{repository}:latest", self.host()));
        run(command, "skopeo copy into the registry");
    }

    /// The raw manifest `reference` of `repository` as skopeo reads it, or `None` when the
    /// registry does not have it.
    pub fn manifest(&self, repository: &str, reference: &str) -> Option<Vec<u8>> {
        let separator = if reference.starts_with("sha256:") {
            '@'
        } else {
            ':'
        };
        let mut command = Command::new("skopeo");
        command.args(["inspect", "--raw", "--tls-verify=false"]);
        if let Some((username, password)) = &self.login {
            command.arg(format!("--creds={username}:{password}"));
        }
        command.arg(format!(
            "docker://{}/{repository}{separator}{reference}",
            self.host()
        ));
        let output = command.output().expect("skopeo runs");
        output.status.success().then_some(output.stdout)
    }

    /// Copies `repository@digest` out of the registry into a fresh OCI layout with skopeo, and
    /// returns the digests of every blob and manifest it holds: what a puller would get.
    pub fn pull_digests(&self, repository: &str, digest: &str) -> Vec<String> {
        let out = tempfile::tempdir().unwrap();
        let mut command = self.skopeo_copy("src");
        command
            .arg(format!("docker://{}/{repository}@{digest}", self.host()))
            .arg(format!("oci:{}:pulled", out.path().display()));
        run(command, "skopeo copy out of the registry");
        blob_digests(out.path())
    }

    /// The blobs this registry stores (every repository), as `sha256:<hex>`.
    pub fn stored_blobs(&self) -> Vec<String> {
        let dir = self.root.path().join("storage").join(BLOB_DIR);
        let mut digests = Vec::new();
        for prefix in fs::read_dir(&dir).into_iter().flatten().flatten() {
            for blob in fs::read_dir(prefix.path()).into_iter().flatten().flatten() {
                if blob.path().join("data").exists() {
                    digests.push(format!("sha256:{}", blob.file_name().to_string_lossy()));
                }
            }
        }
        digests.sort();
        digests
    }

    /// Overwrites the stored bytes of `digest` (same length, different content), as a bad
    /// disk or a tampering cache would: the registry still serves it under the old digest.
    pub fn corrupt_blob(&self, digest: &str) {
        let hex = digest.trim_start_matches("sha256:");
        let path = self
            .root
            .path()
            .join("storage")
            .join(BLOB_DIR)
            .join(&hex[..2])
            .join(hex)
            .join("data");
        let mut bytes = fs::read(&path).expect("the registry stores the blob");
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        fs::write(&path, bytes).unwrap();
    }
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn registry_program() -> PathBuf {
    ["/usr/bin/docker-registry", "/usr/sbin/docker-registry"]
        .iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
        .unwrap_or_else(|| PathBuf::from("docker-registry"))
}

fn run(mut command: Command, what: &str) {
    let output = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// An OCI image layout on disk (image-spec v1.1 "image layout"): `oci-layout`, `index.json`
/// and `blobs/sha256/*`, holding one image index.
pub struct OciLayout {
    pub dir: PathBuf,
    _keep: tempfile::TempDir,
    /// The image index's digest: what a mirror is pinned by.
    pub index_digest: String,
    /// Each platform's image manifest digest, in index order.
    pub manifests: Vec<String>,
    /// Every layer's digest (the shared one once).
    pub layers: Vec<String>,
}

impl OciLayout {
    /// An index over `platforms` (`("linux", "amd64")`, …). Each platform gets the shared
    /// layer and its own layer of `layer_bytes` random bytes, so images of any size can be
    /// made.
    pub fn new(platforms: &[(&str, &str)], layer_bytes: usize) -> OciLayout {
        let keep = tempfile::tempdir().unwrap();
        let dir = keep.path().join("layout");
        let blobs = dir.join("blobs/sha256");
        fs::create_dir_all(&blobs).unwrap();
        let put = |bytes: &[u8]| -> (String, usize) {
            let hex = hex(&sha2::Sha256::digest(bytes));
            fs::write(blobs.join(&hex), bytes).unwrap();
            (format!("sha256:{hex}"), bytes.len())
        };
        let shared = tar_layer(keep.path(), "shared", 4096);
        let (shared_digest, shared_size) = put(&shared);
        let mut entries = Vec::new();
        let mut manifests = Vec::new();
        let mut layers = vec![shared_digest.clone()];
        for (os, arch) in platforms {
            let own = tar_layer(keep.path(), &format!("{os}-{arch}"), layer_bytes);
            let (layer_digest, layer_size) = put(&own);
            layers.push(layer_digest.clone());
            let config = format!(
                r#"{{"architecture":"{arch}","os":"{os}","config":{{"Entrypoint":["/bin/true"]}},"rootfs":{{"type":"layers","diff_ids":["{shared_digest}","{layer_digest}"]}}}}"#
            );
            let (config_digest, config_size) = put(config.as_bytes());
            let manifest = format!(
                r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":{config_size}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{shared_digest}","size":{shared_size}}},{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{layer_digest}","size":{layer_size}}}]}}"#
            );
            let (manifest_digest, manifest_size) = put(manifest.as_bytes());
            entries.push(format!(
                r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{manifest_digest}","size":{manifest_size},"platform":{{"architecture":"{arch}","os":"{os}"}}}}"#
            ));
            manifests.push(manifest_digest);
        }
        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{}]}}"#,
            entries.join(",")
        );
        let (index_digest, index_size) = put(index.as_bytes());
        fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        fs::write(
            dir.join("index.json"),
            format!(
                r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"{index_digest}","size":{index_size},"annotations":{{"org.opencontainers.image.ref.name":"latest"}}}}]}}"#
            ),
        )
        .unwrap();
        OciLayout {
            dir,
            _keep: keep,
            index_digest,
            manifests,
            layers,
        }
    }

    /// Every blob and manifest the layout holds, as `sha256:<hex>`, sorted.
    pub fn digests(&self) -> Vec<String> {
        blob_digests(&self.dir)
    }
}

fn blob_digests(layout: &Path) -> Vec<String> {
    let mut digests: Vec<String> = fs::read_dir(layout.join("blobs/sha256"))
        .expect("an OCI layout")
        .flatten()
        .map(|entry| format!("sha256:{}", entry.file_name().to_string_lossy()))
        .collect();
    digests.sort();
    digests
}

/// A real tar archive of one file of `size` random bytes, made by `tar`.
fn tar_layer(scratch: &Path, name: &str, size: usize) -> Vec<u8> {
    let content = scratch.join(format!("content-{name}"));
    fs::create_dir_all(&content).unwrap();
    let mut bytes = vec![0u8; size];
    let mut state = seed(name);
    for chunk in bytes.chunks_mut(8) {
        // xorshift64: fast, and random enough that no two layers share a digest.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let word = state.to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
    fs::write(content.join(name), bytes).unwrap();
    let archive = scratch.join(format!("{name}.tar"));
    let mut command = Command::new("tar");
    command
        .arg("--sort=name")
        .arg("--mtime=@0")
        .arg("--owner=0")
        .arg("--group=0")
        .arg("-C")
        .arg(&content)
        .arg("-cf")
        .arg(&archive)
        .arg(".");
    run(command, "tar");
    fs::read(archive).unwrap()
}

fn seed(name: &str) -> u64 {
    let hash = sha2::Sha256::digest(name.as_bytes());
    u64::from_le_bytes(hash[..8].try_into().unwrap()) | 1
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

//! What a manifest is and what it references, per the OCI image-spec v1.1 (image index,
//! image manifest, descriptors) and Docker's schema 2 (manifest list, image manifest), and
//! the platform check: which `os/architecture` entries an index has, and whether the task's
//! CPU architecture (ECS's `X86_64` / `ARM64`) is one of them.
//!
//! Manifests are read only to find their references; the bytes pushed are always the bytes
//! fetched, so the digest is the same at both ends.

use std::fmt;

use serde::Deserialize;

use super::{Digest, ImageError, ImageRef};

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// The `Accept` header for manifests: the four types Pier copies.
pub(crate) const ACCEPT_MANIFESTS: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// Registries refuse manifests over 4 MiB; so does Pier, before reading more.
pub(crate) const MANIFEST_LIMIT: u64 = 4 * 1024 * 1024;

/// A descriptor: what a manifest says about something it references.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Descriptor {
    #[serde(default)]
    pub media_type: Option<String>,
    pub digest: String,
    pub size: u64,
    #[serde(default)]
    pub platform: Option<Platform>,
    #[serde(default)]
    pub annotations: Option<std::collections::BTreeMap<String, String>>,
}

/// An index entry's platform (or an image config's `os`/`architecture`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default)]
    pub variant: Option<String>,
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        match &self.variant {
            Some(variant) if !variant.is_empty() => write!(f, "/{variant}"),
            _ => Ok(()),
        }
    }
}

/// The fields of an index or a manifest that matter for copying.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    #[serde(default)]
    schema_version: Option<u32>,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
    /// The (withdrawn) OCI artifact manifest's references.
    #[serde(default)]
    blobs: Option<Vec<Descriptor>>,
}

/// A manifest, parsed for its references.
#[derive(Debug)]
pub(crate) enum Parsed {
    /// An image index / manifest list: other manifests.
    Index { manifests: Vec<Descriptor> },
    /// An image manifest: a config blob and layer blobs.
    Image {
        config: Option<Descriptor>,
        blobs: Vec<Descriptor>,
    },
}

impl Parsed {
    /// Every blob an image manifest references (config first).
    pub fn blobs(&self) -> Vec<Descriptor> {
        match self {
            Parsed::Index { .. } => Vec::new(),
            Parsed::Image { config, blobs } => config.iter().chain(blobs).cloned().collect(),
        }
    }
}

/// Whether a media type names an index (OCI) or a manifest list (Docker).
pub(crate) fn is_index_type(media_type: &str) -> bool {
    media_type == OCI_INDEX || media_type == DOCKER_MANIFEST_LIST
}

/// The media type of fetched manifest bytes: the one inside them (digest-covered, and what
/// the registry checks a push's Content-Type against), else the referencing descriptor's,
/// else the registry's Content-Type, else inferred from the fields (an OCI manifest may
/// omit `mediaType`).
pub(crate) fn manifest_media_type(
    bytes: &[u8],
    descriptor_type: Option<&str>,
    content_type: Option<&str>,
) -> Option<String> {
    let raw: Raw = serde_json::from_slice(bytes).ok()?;
    let header = content_type
        .map(|value| value.split(';').next().unwrap_or_default().trim())
        .filter(|value| value.starts_with("application/vnd."));
    raw.media_type
        .filter(|t| !t.is_empty())
        .or(descriptor_type.map(str::to_string))
        .or(header.map(str::to_string))
        .or_else(|| {
            if raw.manifests.is_some() {
                Some(OCI_INDEX.to_string())
            } else if raw.config.is_some() {
                Some(OCI_MANIFEST.to_string())
            } else {
                None
            }
        })
}

/// Reads a manifest's references. `image` names it in errors.
pub(crate) fn parse(bytes: &[u8], media_type: &str, image: &str) -> Result<Parsed, ImageError> {
    let unsupported = |detail: String| ImageError::Unsupported {
        image: image.to_string(),
        detail,
    };
    let raw: Raw = serde_json::from_slice(bytes)
        .map_err(|e| unsupported(format!("its manifest is not valid JSON ({e})")))?;
    if raw.schema_version != Some(2) {
        return Err(unsupported(format!(
            "manifest schema version {} (only schema 2 is supported; schema 1 is long deprecated)",
            raw.schema_version
                .map_or("missing".into(), |v| v.to_string())
        )));
    }
    let check = |descriptors: &[Descriptor]| -> Result<(), ImageError> {
        for descriptor in descriptors {
            Digest::parse(&descriptor.digest)
                .map_err(|_| unsupported(format!("it references `{}`", descriptor.digest)))?;
        }
        Ok(())
    };
    if is_index_type(media_type) {
        let manifests = raw.manifests.unwrap_or_default();
        check(&manifests)?;
        return Ok(Parsed::Index { manifests });
    }
    if media_type == OCI_MANIFEST || media_type == DOCKER_MANIFEST || raw.config.is_some() {
        let blobs: Vec<Descriptor> = raw
            .layers
            .unwrap_or_default()
            .into_iter()
            .chain(raw.blobs.unwrap_or_default())
            .collect();
        check(&blobs)?;
        check(raw.config.as_slice())?;
        return Ok(Parsed::Image {
            config: raw.config,
            blobs,
        });
    }
    Err(unsupported(format!(
        "unknown manifest media type `{media_type}`"
    )))
}

/// A CPU architecture as ECS names it in a task definition's `runtimePlatform`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Arm64,
}

impl Arch {
    /// `X86_64` or `ARM64` (ECS's `CpuArchitecture` values).
    pub fn from_ecs(name: &str) -> Option<Arch> {
        match name {
            "X86_64" => Some(Arch::X86_64),
            "ARM64" => Some(Arch::Arm64),
            _ => None,
        }
    }

    /// The same, from the ECS SDK's type.
    pub fn from_ecs_type(architecture: &aws_sdk_ecs::types::CpuArchitecture) -> Option<Arch> {
        Arch::from_ecs(architecture.as_str())
    }

    pub fn ecs_name(self) -> &'static str {
        match self {
            Arch::X86_64 => "X86_64",
            Arch::Arm64 => "ARM64",
        }
    }

    /// The OCI image-spec's (Go's) name: `amd64` / `arm64`.
    pub fn oci_name(self) -> &'static str {
        match self {
            Arch::X86_64 => "amd64",
            Arch::Arm64 => "arm64",
        }
    }

    /// Whether an image for `platform` runs on this architecture under Linux.
    pub fn runs(self, platform: &Platform) -> bool {
        platform.os == "linux" && platform.architecture == self.oci_name()
    }
}

/// The runnable platforms an index lists, in its order. Entries that are not images to run
/// (BuildKit's attestation manifests, `unknown/unknown`) are left out.
pub fn index_platforms(index: &[u8]) -> Result<Vec<Platform>, ImageError> {
    let raw: Raw = serde_json::from_slice(index).map_err(|e| ImageError::Unsupported {
        image: "index".into(),
        detail: format!("not valid JSON ({e})"),
    })?;
    Ok(runnable(raw.manifests.as_deref().unwrap_or_default()))
}

pub(crate) fn runnable(manifests: &[Descriptor]) -> Vec<Platform> {
    manifests
        .iter()
        .filter(|d| {
            !d.annotations
                .as_ref()
                .is_some_and(|a| a.contains_key("vnd.docker.reference.type"))
        })
        .filter_map(|d| d.platform.clone())
        .filter(|p| p.os != "unknown" && p.architecture != "unknown")
        .collect()
}

/// Refuses when none of `platforms` runs on `arch`, naming the ones there are.
pub fn check_platform(
    image: &ImageRef,
    platforms: &[Platform],
    arch: Arch,
) -> Result<(), ImageError> {
    if platforms.iter().any(|p| arch.runs(p)) {
        return Ok(());
    }
    Err(ImageError::PlatformMissing {
        image: image.to_string(),
        wanted: arch.oci_name(),
        ecs: arch.ecs_name(),
        available: platforms.iter().map(Platform::to_string).collect(),
    })
}

/// An image config's platform (`os`, `architecture`, `variant` at its top level).
pub(crate) fn config_platform(config: &[u8]) -> Option<Platform> {
    serde_json::from_slice(config).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    fn index() -> String {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[
              {{"mediaType":"{OCI_MANIFEST}","digest":"{D1}","size":10,"platform":{{"os":"linux","architecture":"arm64","variant":"v8"}}}},
              {{"mediaType":"{OCI_MANIFEST}","digest":"{D2}","size":10,"platform":{{"os":"unknown","architecture":"unknown"}},
                "annotations":{{"vnd.docker.reference.type":"attestation-manifest"}}}}]}}"#
        )
    }

    #[test]
    fn index_platforms_skip_attestations_and_the_check_names_what_exists() {
        let platforms = index_platforms(index().as_bytes()).unwrap();
        assert_eq!(
            platforms
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["linux/arm64/v8"]
        );
        let image = ImageRef::parse(&format!("ghcr.io/a/b@{D1}")).unwrap();
        assert!(check_platform(&image, &platforms, Arch::Arm64).is_ok());
        let refused = check_platform(&image, &platforms, Arch::X86_64).unwrap_err();
        let message = refused.to_string();
        assert!(
            message.contains("linux/amd64") && message.contains("X86_64"),
            "{message}"
        );
        assert!(message.contains("linux/arm64/v8"), "{message}");
        assert!(refused.hint().contains("arm64-only"));
    }

    #[test]
    fn media_types_come_from_the_bytes_first() {
        let bytes = index();
        assert_eq!(
            manifest_media_type(bytes.as_bytes(), None, Some("application/json")).as_deref(),
            Some(OCI_INDEX)
        );
        let bare =
            format!(r#"{{"schemaVersion":2,"config":{{"digest":"{D1}","size":1}},"layers":[]}}"#);
        assert_eq!(
            manifest_media_type(bare.as_bytes(), None, Some("text/plain")).as_deref(),
            Some(OCI_MANIFEST)
        );
        assert_eq!(
            manifest_media_type(
                bare.as_bytes(),
                None,
                Some(&format!("{DOCKER_MANIFEST}; charset=utf-8"))
            )
            .as_deref(),
            Some(DOCKER_MANIFEST)
        );
        let parsed = parse(bare.as_bytes(), OCI_MANIFEST, "x").unwrap();
        assert_eq!(parsed.blobs().len(), 1);
        let schema1 = r#"{"schemaVersion":1,"fsLayers":[]}"#;
        assert!(matches!(
            parse(
                schema1.as_bytes(),
                "application/vnd.docker.distribution.manifest.v1+json",
                "x"
            ),
            Err(ImageError::Unsupported { .. })
        ));
    }

    #[test]
    fn ecs_names_map_both_ways() {
        assert_eq!(Arch::from_ecs("X86_64"), Some(Arch::X86_64));
        assert_eq!(
            Arch::from_ecs_type(&aws_sdk_ecs::types::CpuArchitecture::Arm64),
            Some(Arch::Arm64)
        );
        assert_eq!(Arch::from_ecs("x86"), None);
        assert_eq!(Arch::Arm64.oci_name(), "arm64");
    }
}

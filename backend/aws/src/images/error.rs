//! What mirroring an image can fail with ([`ImageError`]), each with a `hint()` of what to do
//! next. Registry answers are read as the OCI Distribution Spec describes them: 401 and 403
//! are refused credentials, 404 a missing image or repository, and a JSON `errors` body
//! (`{"errors":[{"code","message"}]}`) gives the detail shown.

use std::fmt;

/// Which end of a mirror a registry is: where the image comes from, or the user's own
/// registry it goes to. The hints differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Source,
    Destination,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Source => "source",
            Side::Destination => "destination",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("the {side} registry {registry} refused the credentials (HTTP {status}){}", colon_then(.detail))]
    AuthRefused {
        side: Side,
        registry: String,
        status: u16,
        detail: String,
    },
    #[error(
        "{what} {digest} from {registry} does not match its digest ({detail}); nothing was pushed under that digest"
    )]
    DigestMismatch {
        registry: String,
        what: &'static str,
        digest: String,
        detail: String,
    },
    #[error("{what} is not in the {side} registry {registry}{}", colon_then(.detail))]
    NotFound {
        side: Side,
        registry: String,
        what: String,
        detail: String,
    },
    #[error("{image} has no linux/{wanted} image, so a {ecs} task cannot run it; it has: {}", list(.available))]
    PlatformMissing {
        image: String,
        wanted: &'static str,
        ecs: &'static str,
        available: Vec<String>,
    },
    #[error("network failure talking to {registry}: {detail}")]
    Network { registry: String, detail: String },
    #[error("{registry} answered HTTP {status} to {action}{}", colon_then(.detail))]
    Registry {
        registry: String,
        action: String,
        status: u16,
        detail: String,
    },
    #[error("{image} cannot be mirrored: {detail}")]
    Unsupported { image: String, detail: String },
    #[error("`{input}` is not a valid {what}: {reason}")]
    BadReference {
        input: String,
        what: &'static str,
        reason: String,
    },
    #[error("ECR did not give a usable login: {detail}")]
    EcrLogin { detail: String },
}

impl ImageError {
    /// Whether the source could not give the image at all (unreachable, refusing, or without
    /// it), so the same digest may still come from another repository that publishes it. A
    /// digest that does not match, or a platform missing, would be the same anywhere.
    pub fn source_unavailable(&self, source: &super::Registry) -> bool {
        let from_source = |registry: &str| registry == source.to_string();
        match self {
            ImageError::AuthRefused { side, .. } | ImageError::NotFound { side, .. } => {
                *side == Side::Source
            }
            ImageError::Network { registry, .. } => from_source(registry),
            ImageError::Registry {
                registry, status, ..
            } => from_source(registry) && (*status >= 500 || *status == 429),
            _ => false,
        }
    }
}

fn colon_then(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!(": {text}")
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "no platform entries".into()
    } else {
        items.join(", ")
    }
}

impl ImageError {
    pub fn hint(&self) -> &'static str {
        match self {
            ImageError::AuthRefused {
                side: Side::Destination,
                ..
            } => {
                "run setup again: it asks ECR for a fresh login (GetAuthorizationToken; it lasts 12 hours); if it is refused again, the AWS identity needs ecr:GetAuthorizationToken and push rights on the repository (ecr:InitiateLayerUpload, ecr:UploadLayerPart, ecr:CompleteLayerUpload, ecr:PutImage, ecr:BatchCheckLayerAvailability)"
            }
            ImageError::AuthRefused {
                side: Side::Source, ..
            } => {
                "Pier's published images need no login; check the image name and digest (GHCR answers 401 or 403 for names that do not exist), or your network's proxy, then run setup again"
            }
            ImageError::DigestMismatch { .. } => {
                "something between you and the registry changed the bytes (a proxy or a corrupt cache); nothing wrong was stored, so run setup again, and report it if it repeats"
            }
            ImageError::NotFound {
                side: Side::Source, ..
            } => {
                "check the image reference and its digest: this Pier version names images that must exist in the public registry; update Pier, or build your own images with `pier images build`"
            }
            ImageError::NotFound {
                side: Side::Destination,
                ..
            } => "create the repository first (setup does, in its ECR step), then run setup again",
            ImageError::PlatformMissing { .. } => {
                "use an image built for the task's CPU architecture (e.g. an arm64-only image cannot run on an X86_64 task), or set the task definition's runtimePlatform.cpuArchitecture to one the image has"
            }
            ImageError::Network { .. } => {
                "check the connection (and HTTPS_PROXY, if you use one), then run setup again; it resumes, copying only what is still missing"
            }
            ImageError::Registry { .. } => {
                "the registry refused or failed a request; run setup again (it resumes), and if it repeats, check the registry's status page"
            }
            ImageError::Unsupported { .. } => {
                "use an image in OCI or Docker schema 2 format with sha256 digests (any current build tool produces one)"
            }
            ImageError::BadReference { .. } => {
                "write images as registry/repository@sha256:<64 hex>, e.g. ghcr.io/owner/pier-proxy@sha256:…"
            }
            ImageError::EcrLogin { .. } => {
                "check the AWS identity may call ecr:GetAuthorizationToken in this region, then run setup again"
            }
        }
    }

    /// Whether running again may succeed without changing anything (a network failure, a
    /// registry's 5xx, a corrupt transfer): what the caller may retry on its own.
    pub fn is_transient(&self) -> bool {
        match self {
            ImageError::Network { .. } | ImageError::DigestMismatch { .. } => true,
            ImageError::Registry { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}

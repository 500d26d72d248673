//! Pier's published container images (the proxy and the builder) copied into the user's own
//! account: registry to registry, pinned by digest, with no container engine on this machine.
//! `pier setup aws` mirrors them from the public registries they are published in (GHCR, ECR
//! Public) into private ECR repositories it creates, so the account's tasks never pull from
//! outside it.
//!
//! The wire is the OCI Distribution Spec v1.1 (the Docker Registry HTTP API v2 it grew from);
//! what an index and a manifest name is the OCI image-spec v1.1, plus Docker's schema 2
//! media types, which registries still serve for images built by Docker. Everything is
//! addressed by digest, and every byte is checked against it.
//!
//! - `mirror.rs`: [`mirror`], the copy: an index or a single manifest, every manifest it names,
//!   every config and layer blob, skipping what the destination has (so a re-run resumes).
//! - `client.rs`: the registry client (one repository on one registry), on `reqwest`.
//! - `auth.rs`: [`Credentials`], the bearer-token and basic flows, and [`ecr_login`] (ECR's
//!   `GetAuthorizationToken` → basic credentials).
//! - `media.rs`: media types, what a manifest references, and the platform check
//!   ([`index_platforms`], [`check_platform`], [`Arch`]).
//! - `error.rs`: [`ImageError`], each with a hint of what to do next.
//! - `published.rs`: [`published`], the digests this release's images were published under
//!   (`backend/aws/images.json`, written by the release workflow).

mod auth;
mod client;
mod error;
mod media;
mod mirror;
mod published;

use std::fmt;

pub use auth::{Credentials, EcrLogin, ecr_login, ecr_login_from};
pub use error::{ImageError, Side};
pub use media::{
    Arch, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST, Platform, check_platform,
    index_platforms,
};
pub use mirror::{
    DEFAULT_PARALLEL_BLOBS, MirrorOptions, MirrorReport, Progress, ProgressFn, mirror,
};
pub use published::{Published, PublishedImage, published};

/// A registry's base address: `https://ghcr.io`, `https://<account>.dkr.ecr.<region>.amazonaws.com`,
/// or (tests, local mirrors) `http://127.0.0.1:5000`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    base: reqwest::Url,
}

impl Registry {
    /// A registry from its host (`ghcr.io`, `public.ecr.aws`: HTTPS) or from a URL with its
    /// scheme (`http://127.0.0.1:5000`). Plain HTTP is used only when asked for by name.
    pub fn parse(input: &str) -> Result<Registry, ImageError> {
        let bad = |reason: &str| ImageError::BadReference {
            input: input.to_string(),
            what: "registry",
            reason: reason.to_string(),
        };
        let text = input.trim().trim_end_matches('/');
        let with_scheme = if text.contains("://") {
            text.to_string()
        } else {
            format!("https://{text}")
        };
        let base = reqwest::Url::parse(&with_scheme).map_err(|e| bad(&e.to_string()))?;
        if !matches!(base.scheme(), "https" | "http") {
            return Err(bad(
                "the scheme must be https (or http for a local registry)",
            ));
        }
        if base.host_str().is_none_or(str::is_empty) {
            return Err(bad("no host"));
        }
        if base.path() != "/" || base.query().is_some() {
            return Err(bad("a registry is a host (and port), with no path"));
        }
        Ok(Registry { base })
    }

    /// `host[:port]`, as it appears in an image name.
    pub fn host(&self) -> String {
        let host = self.base.host_str().unwrap_or_default();
        match self.base.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        }
    }

    /// The base URL (`https://ghcr.io/`).
    pub fn url(&self) -> &reqwest::Url {
        &self.base
    }

    /// `<base>/v2/<repository>/<rest>`.
    pub(crate) fn endpoint(&self, repository: &str, rest: &str) -> reqwest::Url {
        let mut url = self.base.clone();
        url.set_path(&format!("/v2/{repository}/{rest}"));
        url
    }

    /// Whether `url` is on this registry (same scheme, host and port), so it may carry the
    /// registry's credentials. Upload locations and redirects can point elsewhere (a CDN, S3).
    pub(crate) fn owns(&self, url: &reqwest::Url) -> bool {
        url.scheme() == self.base.scheme()
            && url.host_str() == self.base.host_str()
            && url.port_or_known_default() == self.base.port_or_known_default()
    }
}

impl fmt::Display for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.host())
    }
}

/// A content digest, `sha256:<64 lowercase hex>` (the only algorithm registries use for
/// images; the image-spec's sha512 is refused as unsupported).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

impl Digest {
    pub fn parse(input: &str) -> Result<Digest, ImageError> {
        let bad = |reason: &str| ImageError::BadReference {
            input: input.to_string(),
            what: "digest",
            reason: reason.to_string(),
        };
        let Some(hex) = input.strip_prefix("sha256:") else {
            return Err(bad("only sha256:<64 hex> digests are supported"));
        };
        if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(bad("a sha256 digest is 64 lowercase hex characters"));
        }
        Ok(Digest(input.to_string()))
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        use sha2::Digest as _;
        Digest::from_sha256(sha2::Sha256::digest(bytes).into())
    }

    pub(crate) fn from_sha256(hash: [u8; 32]) -> Digest {
        Digest(format!("sha256:{}", hex::encode(hash)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 64 hex characters after `sha256:`.
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An image pinned by digest: `ghcr.io/owner/pier-proxy@sha256:…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    pub registry: Registry,
    pub repository: String,
    pub digest: Digest,
}

impl ImageRef {
    pub fn new(
        registry: Registry,
        repository: &str,
        digest: Digest,
    ) -> Result<ImageRef, ImageError> {
        check_repository(repository)?;
        Ok(ImageRef {
            registry,
            repository: repository.to_string(),
            digest,
        })
    }

    /// `registry/repository@sha256:…`, with an optional `http://` or `https://` in front (for a
    /// local registry). The registry part is required: Pier never guesses Docker Hub.
    pub fn parse(input: &str) -> Result<ImageRef, ImageError> {
        let bad = |reason: &str| ImageError::BadReference {
            input: input.to_string(),
            what: "image reference",
            reason: reason.to_string(),
        };
        let (scheme, rest) = match input.split_once("://") {
            Some((scheme, rest)) => (Some(scheme), rest),
            None => (None, input),
        };
        let Some((name, digest)) = rest.split_once('@') else {
            return Err(bad("pin it by digest: registry/repository@sha256:…"));
        };
        let Some((host, repository)) = name.split_once('/') else {
            return Err(bad("name the registry: registry/repository@sha256:…"));
        };
        let registry = match scheme {
            Some(scheme) => Registry::parse(&format!("{scheme}://{host}"))?,
            None => Registry::parse(host)?,
        };
        let digest = Digest::parse(digest)?;
        ImageRef::new(registry, repository, digest).map_err(|_| bad("bad repository name"))
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}@{}", self.registry, self.repository, self.digest)
    }
}

/// A repository name as the Distribution Spec allows it: path components of lowercase
/// letters and digits, joined inside by `.`, `_`, `__` or dashes.
pub(crate) fn check_repository(name: &str) -> Result<(), ImageError> {
    let component_ok = |part: &str| {
        let bytes = part.as_bytes();
        !bytes.is_empty()
            && bytes[0].is_ascii_alphanumeric()
            && bytes[bytes.len() - 1].is_ascii_alphanumeric()
            && bytes.iter().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            })
            && !part.contains("..")
            && !part.contains("___")
    };
    if name.len() <= 255 && name.split('/').all(component_ok) {
        Ok(())
    } else {
        Err(ImageError::BadReference {
            input: name.to_string(),
            what: "repository name",
            reason: "use lowercase letters, digits and . _ - inside, / between parts".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn image_refs_parse_and_print() {
        let image = ImageRef::parse(&format!("ghcr.io/pier-dev/pier-proxy@{D}")).unwrap();
        assert_eq!(image.registry.url().as_str(), "https://ghcr.io/");
        assert_eq!(image.repository, "pier-dev/pier-proxy");
        assert_eq!(
            image.to_string(),
            format!("ghcr.io/pier-dev/pier-proxy@{D}")
        );

        let local = ImageRef::parse(&format!("http://127.0.0.1:5000/a/b@{D}")).unwrap();
        assert_eq!(local.registry.url().as_str(), "http://127.0.0.1:5000/");
        assert_eq!(local.registry.host(), "127.0.0.1:5000");
        assert_eq!(
            local.registry.endpoint("a/b", "blobs/uploads/").as_str(),
            "http://127.0.0.1:5000/v2/a/b/blobs/uploads/"
        );

        assert!(ImageRef::parse("ghcr.io/a/b:latest").is_err());
        assert!(ImageRef::parse(&format!("pier-proxy@{D}")).is_err());
        assert!(ImageRef::parse(&format!("ghcr.io/A/b@{D}")).is_err());
        assert!(ImageRef::parse("ghcr.io/a/b@sha256:abc").is_err());
        assert!(Registry::parse("ftp://x").is_err());
        assert!(Registry::parse("https://x/path").is_err());
    }

    #[test]
    fn registries_own_only_their_origin() {
        let ecr = Registry::parse("https://1.dkr.ecr.us-east-1.amazonaws.com").unwrap();
        let url = |s: &str| reqwest::Url::parse(s).unwrap();
        assert!(ecr.owns(&url("https://1.dkr.ecr.us-east-1.amazonaws.com:443/v2/x")));
        assert!(!ecr.owns(&url(
            "https://prod-us-east-1-starport-layer-bucket.s3.amazonaws.com/x"
        )));
        assert!(!ecr.owns(&url("http://1.dkr.ecr.us-east-1.amazonaws.com/v2/x")));
    }

    #[test]
    fn repository_names_follow_the_spec() {
        for ok in ["pier/proxy", "a", "a.b_c-d/e__f", "pier-dev/pier-builder"] {
            assert!(check_repository(ok).is_ok(), "{ok}");
        }
        for bad in ["", "/a", "a/", "a//b", "A", "a-", "-a", "a b", "a..b"] {
            assert!(check_repository(bad).is_err(), "{bad}");
        }
    }
}

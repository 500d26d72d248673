//! The images this Pier version was released with: `backend/aws/images.json`, which the
//! release workflow (`.github/workflows/release.yml`) writes after it pushes both images to GHCR
//! and ECR Public, and which is compiled in. Each image is one digest (a multi-platform index,
//! linux/amd64 and linux/arm64) published under several repositories; setup pins the task
//! definitions to that digest whichever repository it copies from.
//!
//! A build from an unreleased checkout has no digests (`null`): setup then uses the images it
//! is given (`--proxy-image`, `--builder-image`, e.g. from `pier images build --push`).

use serde::Deserialize;

use super::{Digest, ImageError, ImageRef};

const PUBLISHED: &str = include_str!("../../images.json");

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Published {
    pub version: Option<String>,
    pub proxy: Option<PublishedImage>,
    pub builder: Option<PublishedImage>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PublishedImage {
    pub digest: String,
    /// Where it is published, in the order to try (`ghcr.io/owner/pier-proxy`, …).
    pub repositories: Vec<String>,
}

impl PublishedImage {
    /// The image in each repository, pinned by its digest, in the order to try.
    pub fn references(&self) -> Result<Vec<ImageRef>, ImageError> {
        let digest = Digest::parse(&self.digest)?;
        self.repositories
            .iter()
            .map(|repository| ImageRef::parse(&format!("{repository}@{digest}")))
            .collect()
    }
}

/// What `images.json` says for this build.
pub fn published() -> Published {
    parse(PUBLISHED).expect("backend/aws/images.json is checked by its unit test")
}

fn parse(text: &str) -> Result<Published, serde_json::Error> {
    serde_json::from_str(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_in_file_parses_and_every_reference_is_pinned() {
        let published = parse(PUBLISHED).expect("images.json is valid");
        for image in published.proxy.iter().chain(&published.builder) {
            let references = image.references().expect("each repository pins by digest");
            assert!(!references.is_empty());
        }
    }

    #[test]
    fn a_release_record_gives_one_pinned_reference_per_repository() {
        let digest = format!("sha256:{}", "0f".repeat(32));
        let text = format!(
            r#"{{"version":"1.2.3","proxy":{{"digest":"{digest}","repositories":["ghcr.io/pier-dev/pier-proxy","public.ecr.aws/pier/pier-proxy"]}},"builder":null}}"#
        );
        let published = parse(&text).unwrap();
        let references = published.proxy.unwrap().references().unwrap();
        assert_eq!(
            references
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            [
                format!("ghcr.io/pier-dev/pier-proxy@{digest}"),
                format!("public.ecr.aws/pier/pier-proxy@{digest}")
            ]
        );
        assert!(published.builder.is_none());
    }
}

//! Adds and removes one alternate domain name (alias) on the CloudFront distribution and
//! points its viewer certificate at Pier's certificate. Every change is a read
//! (GetDistribution, with its ETag) followed by UpdateDistribution with `If-Match`, so a
//! concurrent edit makes the update fail instead of being overwritten; the caller re-reads
//! and tries again. Only the alias list and the viewer certificate change: every other
//! setting goes back exactly as it was read. CloudFront allows 100 aliases per distribution
//! by default, and the wizard refuses the 101st with its own error instead of AWS's.

use aws_sdk_cloudfront::Client;
use aws_sdk_cloudfront::types::{
    Aliases, DistributionConfig, MinimumProtocolVersion, SslSupportMethod, ViewerCertificate,
};

use super::{DomainError, aws_failure};

/// CloudFront's default quota of alternate domain names per distribution.
pub const ALIAS_QUOTA: usize = 100;

/// What the wizard needs to know about the distribution.
#[derive(Debug, Clone)]
pub struct DistributionView {
    pub id: String,
    /// `dxxxx.cloudfront.net`: where alias records and foreign CNAMEs point.
    pub domain_name: String,
    /// `InProgress` while a change rolls out to the edge, then `Deployed`.
    pub status: String,
    pub aliases: Vec<String>,
    pub certificate_arn: Option<String>,
    config: DistributionConfig,
    etag: String,
}

pub async fn read(cloudfront: &Client, id: &str) -> Result<DistributionView, DomainError> {
    let found =
        cloudfront
            .get_distribution()
            .id(id)
            .send()
            .await
            .map_err(|e| match aws_failure("CloudFront", "GetDistribution", e) {
                DomainError::Aws { detail, .. } if detail.contains("NoSuchDistribution") => {
                    DomainError::NoSuchDistribution { id: id.to_string() }
                }
                other => other,
            })?;
    let etag = found.e_tag.clone().unwrap_or_default();
    let distribution = found
        .distribution
        .ok_or_else(|| DomainError::NoSuchDistribution { id: id.to_string() })?;
    let config = distribution
        .distribution_config
        .ok_or_else(|| DomainError::Aws {
            service: "CloudFront",
            action: "GetDistribution",
            detail: "the answer had no distribution config".into(),
            source: None,
        })?;
    let aliases = config
        .aliases
        .as_ref()
        .and_then(|aliases| aliases.items.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|alias| alias.to_ascii_lowercase())
        .collect();
    let certificate_arn = config
        .viewer_certificate
        .as_ref()
        .and_then(|certificate| certificate.acm_certificate_arn.clone())
        .filter(|arn| !arn.is_empty());
    Ok(DistributionView {
        id: distribution.id,
        domain_name: distribution.domain_name,
        status: distribution.status,
        aliases,
        certificate_arn,
        config,
        etag,
    })
}

impl DistributionView {
    pub fn has_alias(&self, host: &str) -> bool {
        self.aliases.iter().any(|alias| alias == host)
    }

    /// Whether `host` fits under the alias quota.
    pub fn check_quota(&self, host: &str) -> Result<(), DomainError> {
        if !self.has_alias(host) && self.aliases.len() >= ALIAS_QUOTA {
            return Err(DomainError::AliasQuota {
                id: self.id.clone(),
                count: self.aliases.len(),
            });
        }
        Ok(())
    }
}

fn viewer_certificate(arn: &str) -> ViewerCertificate {
    ViewerCertificate::builder()
        .cloud_front_default_certificate(false)
        .acm_certificate_arn(arn)
        .ssl_support_method(SslSupportMethod::SniOnly)
        .minimum_protocol_version(MinimumProtocolVersion::TlSv122021)
        .build()
}

fn with_aliases(config: &DistributionConfig, aliases: Vec<String>) -> DistributionConfig {
    let mut config = config.clone();
    config.aliases = Some(
        Aliases::builder()
            .quantity(aliases.len() as i32)
            .set_items(Some(aliases))
            .build()
            .expect("quantity is set"),
    );
    config
}

async fn update(
    cloudfront: &Client,
    view: &DistributionView,
    config: DistributionConfig,
    host: &str,
) -> Result<(), DomainError> {
    cloudfront
        .update_distribution()
        .id(&view.id)
        .if_match(&view.etag)
        .distribution_config(config)
        .send()
        .await
        .map_err(
            |e| match aws_failure("CloudFront", "UpdateDistribution", e) {
                DomainError::Aws { detail, .. } if detail.contains("PreconditionFailed") => {
                    DomainError::DistributionChanged {
                        id: view.id.clone(),
                    }
                }
                DomainError::Aws { detail, .. } if detail.contains("CNAMEAlreadyExists") => {
                    DomainError::AliasTaken {
                        domain: host.to_string(),
                    }
                }
                other => other,
            },
        )?;
    Ok(())
}

/// Adds `host` as an alias and makes `certificate_arn` the viewer certificate. Returns whether
/// anything changed.
pub async fn add_alias(
    cloudfront: &Client,
    view: &DistributionView,
    host: &str,
    certificate_arn: &str,
) -> Result<bool, DomainError> {
    if view.has_alias(host) && view.certificate_arn.as_deref() == Some(certificate_arn) {
        return Ok(false);
    }
    view.check_quota(host)?;
    let mut aliases = view.aliases.clone();
    if !view.has_alias(host) {
        aliases.push(host.to_string());
    }
    let mut config = with_aliases(&view.config, aliases);
    config.viewer_certificate = Some(viewer_certificate(certificate_arn));
    update(cloudfront, view, config, host).await?;
    Ok(true)
}

/// Removes `host` from the aliases, leaving every other alias and the certificate (which still
/// covers the rest) alone. Returns whether anything changed.
pub async fn remove_alias(
    cloudfront: &Client,
    view: &DistributionView,
    host: &str,
) -> Result<bool, DomainError> {
    if !view.has_alias(host) {
        return Ok(false);
    }
    let aliases = view
        .aliases
        .iter()
        .filter(|alias| *alias != host)
        .cloned()
        .collect();
    update(cloudfront, view, with_aliases(&view.config, aliases), host).await?;
    Ok(true)
}

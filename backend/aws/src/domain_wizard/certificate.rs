//! The ACM certificate CloudFront shows for the distribution's custom domains. CloudFront only
//! takes certificates from us-east-1, and a distribution has exactly one viewer certificate,
//! so Pier's certificate names every alias of the distribution as a subject alternative name
//! (the SAN approach): adding a domain means a certificate for the old aliases plus the new
//! one. An existing ISSUED or PENDING_VALIDATION certificate that already covers the names is
//! reused before anything is requested, and requests carry an idempotency token derived from
//! the names, so a re-run never makes a second certificate. Validation is by DNS (the CNAME
//! records ACM names, RFC 1034 §3.6.2); wildcard coverage follows RFC 6125 §6.4.3 (one label).

use aws_sdk_acm::Client;
use aws_sdk_acm::types::{CertificateStatus, CertificateType, ValidationMethod};
use sha2::{Digest, Sha256};

use super::{DomainError, aws_failure};

/// CloudFront reads viewer certificates from this region only.
pub const CERTIFICATE_REGION: &str = "us-east-1";

/// A certificate as the wizard sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Certificate {
    pub arn: String,
    /// `ISSUED`, `PENDING_VALIDATION`, `FAILED`, …, as ACM spells it.
    pub status: String,
    /// Every name it covers: the subject and the alternative names.
    pub names: Vec<String>,
    /// The CNAME records ACM wants for DNS validation: (name, value), both without the
    /// trailing dot.
    pub validation_records: Vec<(String, String)>,
}

impl Certificate {
    pub fn is_issued(&self) -> bool {
        self.status == CertificateStatus::Issued.as_str()
    }

    pub fn is_usable_or_pending(&self) -> bool {
        self.is_issued() || self.status == CertificateStatus::PendingValidation.as_str()
    }

    pub fn covers_all<'a>(&self, hosts: impl IntoIterator<Item = &'a String>) -> bool {
        hosts.into_iter().all(|host| covers(&self.names, host))
    }
}

/// Whether a certificate naming `names` is valid for `host`; `*.example.com` covers exactly
/// one label more (`www.example.com`, not `example.com` or `a.b.example.com`).
pub fn covers(names: &[String], host: &str) -> bool {
    names.iter().any(|name| {
        let name = name.trim_end_matches('.');
        match name.strip_prefix("*.") {
            Some(parent) => host
                .split_once('.')
                .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(parent)),
            None => name.eq_ignore_ascii_case(host),
        }
    })
}

/// The idempotency token for a request for `names`: ACM accepts up to 32 word characters,
/// and the same names always give the same token.
pub fn idempotency_token(names: &[String]) -> String {
    let mut sorted = names.to_vec();
    sorted.sort();
    let digest = Sha256::digest(sorted.join(",").as_bytes());
    hex::encode(digest)[..32].to_string()
}

/// The ACM client for us-east-1, whatever region the rest of the configuration uses.
pub fn client(config: &aws_config::SdkConfig) -> Client {
    let acm = aws_sdk_acm::config::Builder::from(config)
        .region(aws_config::Region::new(CERTIFICATE_REGION))
        .build();
    Client::from_conf(acm)
}

pub async fn describe(acm: &Client, arn: &str) -> Result<Certificate, DomainError> {
    let found = acm
        .describe_certificate()
        .certificate_arn(arn)
        .send()
        .await
        .map_err(|e| aws_failure("ACM", "DescribeCertificate", e))?;
    let detail = found.certificate.ok_or_else(|| DomainError::Aws {
        service: "ACM",
        action: "DescribeCertificate",
        detail: format!("no certificate in the answer for {arn}"),
        source: None,
    })?;
    let mut names: Vec<String> = detail.domain_name.clone().into_iter().collect();
    for name in detail.subject_alternative_names.unwrap_or_default() {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let validation_records = detail
        .domain_validation_options
        .unwrap_or_default()
        .into_iter()
        .filter_map(|option| option.resource_record)
        .map(|record| {
            (
                record.name.trim_end_matches('.').to_ascii_lowercase(),
                record.value.trim_end_matches('.').to_string(),
            )
        })
        .fold(Vec::new(), |mut records, record| {
            if !records.contains(&record) {
                records.push(record);
            }
            records
        });
    Ok(Certificate {
        arn: arn.to_string(),
        status: detail
            .status
            .map(|status| status.as_str().to_string())
            .unwrap_or_else(|| "UNKNOWN".into()),
        names,
        validation_records,
    })
}

/// An Amazon-issued certificate, issued or on its way, that covers every one of `hosts`;
/// issued ones first.
pub async fn find_covering(
    acm: &Client,
    hosts: &[String],
) -> Result<Option<Certificate>, DomainError> {
    let mut pending = None;
    let mut token = None;
    loop {
        let page = acm
            .list_certificates()
            .certificate_statuses(CertificateStatus::Issued)
            .certificate_statuses(CertificateStatus::PendingValidation)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| aws_failure("ACM", "ListCertificates", e))?;
        for summary in page.certificate_summary_list() {
            if summary
                .r#type()
                .is_some_and(|kind| *kind != CertificateType::AmazonIssued)
            {
                continue;
            }
            let Some(arn) = summary.certificate_arn() else {
                continue;
            };
            let certificate = describe(acm, arn).await?;
            if !certificate.is_usable_or_pending() || !certificate.covers_all(hosts) {
                continue;
            }
            if certificate.is_issued() {
                return Ok(Some(certificate));
            }
            pending.get_or_insert(certificate);
        }
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_string()),
            _ => return Ok(pending),
        }
    }
}

/// Requests a DNS-validated certificate for `primary` plus `hosts` as alternative names.
pub async fn request(acm: &Client, primary: &str, hosts: &[String]) -> Result<String, DomainError> {
    let mut alternative_names = vec![primary.to_string()];
    alternative_names.extend(hosts.iter().filter(|host| *host != primary).cloned());
    let requested = acm
        .request_certificate()
        .domain_name(primary)
        .validation_method(ValidationMethod::Dns)
        .set_subject_alternative_names(Some(alternative_names.clone()))
        .idempotency_token(idempotency_token(&alternative_names))
        .send()
        .await
        .map_err(|e| {
            let failure = aws_failure("ACM", "RequestCertificate", e);
            match &failure {
                DomainError::Aws { detail, .. } if detail.contains("LimitExceeded") => {
                    DomainError::CertificateQuota {
                        names: alternative_names.len(),
                    }
                }
                _ => failure,
            }
        })?;
    requested.certificate_arn.ok_or_else(|| DomainError::Aws {
        service: "ACM",
        action: "RequestCertificate",
        detail: "the answer named no certificate".into(),
        source: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_cover_one_label_only() {
        let names = vec!["*.example.com".to_string(), "example.org".to_string()];
        assert!(covers(&names, "www.example.com"));
        assert!(!covers(&names, "example.com"));
        assert!(!covers(&names, "a.b.example.com"));
        assert!(covers(&names, "EXAMPLE.org"));
        assert!(!covers(&names, "www.example.org"));
    }

    #[test]
    fn tokens_depend_on_the_names_not_their_order() {
        let a = idempotency_token(&["a.com".into(), "b.com".into()]);
        let b = idempotency_token(&["b.com".into(), "a.com".into()]);
        let c = idempotency_token(&["a.com".into()]);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|byte| byte.is_ascii_alphanumeric()));
    }
}

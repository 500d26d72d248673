//! The custom-domain wizard: puts a project on a host name of the user's own through their
//! AWS account, one idempotent step at a time:
//!
//! 1. read the CloudFront distribution (its domain name, aliases and certificate);
//! 2. find the public Route53 hosted zone that holds the host ([`zone`]);
//! 3. find or request an ACM certificate in us-east-1 that covers every alias ([`certificate`]);
//! 4. UPSERT its DNS validation CNAMEs into the zone ([`dns`]);
//! 5. wait until ACM has issued it (or stop, resumable, with `wait` zero);
//! 6. add the alias and the certificate to the distribution ([`distribution`]);
//! 7. UPSERT alias A and AAAA records to the distribution ([`dns`]);
//! 8. attach the host to the project in the store, so the proxy serves it ([`pier_core::domains`]);
//! 9. verify all of the above.
//!
//! Every step first looks at what is there and changes only what is missing, so a re-run
//! after any failure or timeout continues where the last one stopped, and a re-run after
//! success changes nothing. Progress (the certificate ARN above all, so a re-run never asks
//! for a second one) is kept in the store at `domains/wizard/<host>.json`. A host is attached
//! in the store only after its certificate is issued and the distribution serves it.
//! [`diagnose`] adds what only public DNS can tell: delegation, CAA (RFC 8659), propagation.
//!
//! [`Wizard::add`] is in `add.rs`, [`Wizard::verify`] in `verify.rs`, [`Wizard::remove`] in
//! `remove.rs`; the step reports and the stored progress are in `state.rs`. This file holds
//! what they share: the error type and the AWS clients.

pub mod certificate;
pub mod diagnose;
pub mod distribution;
pub mod dns;
pub mod zone;

mod add;
mod remove;
mod state;
mod verify;

use aws_sdk_route53::error::{DisplayErrorContext, ProvideErrorMetadata};

use pier_core::error::PierError;

pub use add::{AddOutcome, AddRequest, certificate_names};
pub use remove::RemoveOutcome;
pub use state::{
    DomainListing, Step, StepReport, StepStatus, WizardState, list, read_state, state_key,
};

/// What the wizard can fail with; each carries what to do next in [`DomainError::hint`].
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error(
        "no public Route53 hosted zone in this AWS account holds `{domain}`: either delegate \
         the domain to a Route53 zone (create the zone, then set its NS records at your \
         registrar), or at your DNS host create `{domain}. CNAME {target}.` and the \
         certificate's validation CNAME"
    )]
    ZoneNotInAccount { domain: String, target: String },
    #[error("no CloudFront distribution was given")]
    NoDistribution,
    #[error("the CloudFront distribution `{id}` does not exist in this account")]
    NoSuchDistribution { id: String },
    #[error(
        "the CloudFront distribution `{id}` already has {count} alternate domain names, its quota"
    )]
    AliasQuota { id: String, count: usize },
    #[error("`{domain}` is already an alternate domain name of another CloudFront distribution")]
    AliasTaken { domain: String },
    #[error("the CloudFront distribution `{id}` kept changing while Pier updated it")]
    DistributionChanged { id: String },
    #[error(
        "ACM refused a certificate for {names} names: over the account's quota of names per certificate"
    )]
    CertificateQuota { names: usize },
    #[error("the certificate `{arn}` for `{domain}` is {status}")]
    CertificateFailed {
        domain: String,
        arn: String,
        status: String,
    },
    #[error("`{domain}` is not set up with Pier (no wizard progress and no domain record)")]
    NotManaged { domain: String },
    #[error("CAA records at `{at}` allow only {issuers} to issue certificates, not Amazon")]
    CaaBlocksAmazon { at: String, issuers: String },
    #[error("the DNS resolver {resolver} failed: {detail}")]
    Resolver { resolver: String, detail: String },
    /// The engine under the wizard (the store, a bad name) failed.
    #[error(transparent)]
    Core(#[from] PierError),
    #[error(transparent)]
    Store(#[from] pier_core::StoreError),
    #[error("{service} {action} failed: {detail}")]
    Aws {
        service: &'static str,
        action: &'static str,
        detail: String,
        /// The SDK's error, when there was one (an answer missing a field has none).
        #[source]
        source: Option<pier_core::error::Cause>,
    },
}

impl DomainError {
    pub fn hint(&self) -> &'static str {
        match self {
            DomainError::ZoneNotInAccount { .. } => {
                "create a public hosted zone for the domain in Route53 and set its NS records at your registrar, or create the CNAME records named above at your DNS host; then run `pier domains add` again"
            }
            DomainError::NoDistribution => {
                "pass --distribution ID or set PIER_DISTRIBUTION_ID (`pier setup aws` creates the distribution)"
            }
            DomainError::NoSuchDistribution { .. } => {
                "check the id (`aws cloudfront list-distributions`) and that your credentials are for the right account"
            }
            DomainError::AliasQuota { .. } => {
                "remove a domain you no longer use (`pier domains rm`), or ask AWS Support to raise the alternate domain names quota"
            }
            DomainError::AliasTaken { .. } => {
                "remove the domain from the other distribution first (CloudFront allows each name on one distribution only)"
            }
            DomainError::DistributionChanged { .. } => {
                "someone else is editing the distribution; run the same command again, it continues where it stopped"
            }
            DomainError::CertificateQuota { .. } => {
                "ask AWS Support to raise ACM's \"domain names per certificate\" quota (up to 100), or remove unused domains"
            }
            DomainError::CertificateFailed { .. } => {
                "look at the certificate in the ACM console (us-east-1); CAA records or a wrong validation CNAME are the usual causes; `pier domains verify` checks both"
            }
            DomainError::NotManaged { .. } => "add it first: `pier domains add DOMAIN --project P`",
            DomainError::CaaBlocksAmazon { .. } => {
                "add a CAA record `0 issue \"amazon.com\"` at that name, or remove the CAA records, then retry"
            }
            DomainError::Resolver { .. } => {
                "pass a reachable resolver with --resolver IP:PORT (or PIER_DNS_RESOLVER); the AWS-side checks do not need one"
            }
            DomainError::Core(error) => error.hint(),
            DomainError::Store(error) => error.hint(),
            DomainError::Aws { .. } => {
                "check your AWS credentials and that they may use Route53, ACM and CloudFront; then run the same command again, it continues where it stopped"
            }
        }
    }
}

/// Turns an SDK failure into [`DomainError::Aws`], keeping the service's error code and
/// message (never the request, which carries no secrets either).
pub(crate) fn aws_failure<E>(service: &'static str, action: &'static str, error: E) -> DomainError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let detail = match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_string(),
        _ => DisplayErrorContext(&error).to_string(),
    };
    DomainError::Aws {
        service,
        action,
        detail,
        source: Some(Box::new(error)),
    }
}

/// The distribution `pier setup aws` (or the app's setup screen) made, from the config file
/// it wrote.
pub fn recorded_distribution() -> Option<String> {
    pier_core::config::ConfigFile::load(&pier_core::config::config_path())
        .ok()
        .and_then(|file| file.distribution_id)
}

/// The wizard's AWS clients (Route53 and CloudFront are global; ACM is pinned to us-east-1).
#[derive(Clone)]
pub struct Wizard {
    route53: aws_sdk_route53::Client,
    cloudfront: aws_sdk_cloudfront::Client,
    acm: aws_sdk_acm::Client,
}

impl Wizard {
    /// Clients from the standard chain; `endpoint` points them at an emulator such as moto.
    pub async fn connect(endpoint: Option<&str>) -> Wizard {
        Wizard::connect_as(None, endpoint).await
    }

    /// With a named AWS profile instead of the chain's default.
    pub async fn connect_as(profile: Option<&str>, endpoint: Option<&str>) -> Wizard {
        let mut config = pier_core::aws::load_as(profile, endpoint, None).await;
        if config.region().is_none() {
            // Route53 and CloudFront are global; any region signs their requests.
            config =
                pier_core::aws::load_as(profile, endpoint, Some(certificate::CERTIFICATE_REGION))
                    .await;
        }
        Wizard::from_config(&config)
    }

    pub fn from_config(config: &aws_config::SdkConfig) -> Wizard {
        Wizard {
            route53: aws_sdk_route53::Client::new(config),
            cloudfront: aws_sdk_cloudfront::Client::new(config),
            acm: certificate::client(config),
        }
    }
}

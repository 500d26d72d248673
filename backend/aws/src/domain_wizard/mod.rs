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

pub mod certificate;
pub mod diagnose;
pub mod distribution;
pub mod dns;
pub mod zone;

use std::time::{Duration, Instant};

use aws_sdk_route53::error::{DisplayErrorContext, ProvideErrorMetadata};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use certificate::Certificate;
use distribution::DistributionView;
use pier_core::domains;
use pier_core::error::PierError;
use pier_core::project_name;
use pier_core::records::{read_json, write_json};
use pier_core::store::{self, PutOptions, Store, keys};
use zone::Zone;

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
    E: ProvideErrorMetadata + std::error::Error,
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
    }
}

/// The wizard's steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Distribution,
    Zone,
    Certificate,
    ValidationRecords,
    Issued,
    CloudFront,
    DnsRecords,
    Attach,
    Verify,
    Delegation,
    Caa,
    Propagation,
}

impl Step {
    pub fn title(self) -> &'static str {
        match self {
            Step::Distribution => "distribution",
            Step::Zone => "hosted zone",
            Step::Certificate => "certificate",
            Step::ValidationRecords => "validation records",
            Step::Issued => "certificate issued",
            Step::CloudFront => "CloudFront alias",
            Step::DnsRecords => "A/AAAA records",
            Step::Attach => "attached to project",
            Step::Verify => "verified",
            Step::Delegation => "delegation (public DNS)",
            Step::Caa => "CAA (public DNS)",
            Step::Propagation => "propagation (public DNS)",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Already as it should be; nothing changed.
    Done,
    /// Changed now.
    Changed,
    /// Waiting on something outside Pier (ACM validation, CloudFront rollout).
    Waiting,
    /// Not checked, with the reason in the detail.
    Skipped,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepReport {
    pub step: Step,
    pub status: StepStatus,
    pub detail: String,
}

impl StepReport {
    fn new(step: Step, status: StepStatus, detail: impl Into<String>) -> StepReport {
        StepReport {
            step,
            status,
            detail: detail.into(),
        }
    }
}

/// The wizard's progress for one host, kept in the store so a re-run resumes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WizardState {
    pub domain: String,
    pub project: String,
    pub distribution_id: String,
    pub zone: Option<Zone>,
    pub certificate_arn: Option<String>,
    /// The last step that succeeded.
    pub reached: Option<Step>,
    pub attached: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub updated: OffsetDateTime,
}

/// Where the wizard keeps a host's progress; beside `domains/<host>.json`, which it never
/// shadows (host names hold no `/`).
pub fn state_key(host: &str) -> String {
    format!("{}wizard/{host}.json", keys::DOMAINS)
}

pub async fn read_state(store: &dyn Store, host: &str) -> Result<Option<WizardState>, DomainError> {
    Ok(read_json(store, &state_key(host)).await?)
}

async fn save_state(store: &dyn Store, state: &mut WizardState) -> Result<(), DomainError> {
    state.updated = OffsetDateTime::now_utc();
    write_json(store, &state_key(&state.domain), state, PutOptions::json()).await?;
    Ok(())
}

/// The distribution `pier setup aws` (or the app's setup screen) made, from the config file
/// it wrote.
pub fn recorded_distribution() -> Option<String> {
    pier_core::config::ConfigFile::load(&pier_core::config::config_path())
        .ok()
        .and_then(|file| file.distribution_id)
}

/// What `pier domains add` asks for.
#[derive(Debug, Clone)]
pub struct AddRequest {
    pub domain: String,
    pub project: String,
    pub distribution_id: String,
    /// How long to wait for ACM to issue the certificate; zero returns at once, resumable.
    pub wait: Duration,
    pub poll_every: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct AddOutcome {
    pub domain: String,
    pub project: String,
    /// Whether the proxy serves the project there now; `false` means re-run to continue.
    pub attached: bool,
    pub distribution_domain: String,
    pub certificate_arn: Option<String>,
    pub steps: Vec<StepReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RemoveOutcome {
    pub domain: String,
    pub steps: Vec<StepReport>,
}

/// A custom domain as `pier domains ls` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct DomainListing {
    pub domain: String,
    pub project: String,
    pub attached: bool,
    /// The last wizard step reached, when the wizard set it up.
    pub reached: Option<Step>,
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

    /// Runs (or resumes) every step for `request`, calling `report` as each one ends (and on
    /// each poll while waiting for the certificate).
    pub async fn add(
        &self,
        store: &dyn Store,
        request: &AddRequest,
        report: &mut (dyn FnMut(&StepReport) + Send),
    ) -> Result<AddOutcome, DomainError> {
        let host = domains::normalize(&request.domain)?;
        project_name::validate(&request.project)?;
        if request.distribution_id.trim().is_empty() {
            return Err(DomainError::NoDistribution);
        }
        let mut state = match read_state(store, &host).await? {
            Some(state) => WizardState {
                project: request.project.clone(),
                distribution_id: request.distribution_id.clone(),
                ..state
            },
            None => WizardState {
                domain: host.clone(),
                project: request.project.clone(),
                distribution_id: request.distribution_id.clone(),
                zone: None,
                certificate_arn: None,
                reached: None,
                attached: false,
                updated: OffsetDateTime::now_utc(),
            },
        };
        let mut steps = Vec::new();
        let mut emit = |steps: &mut Vec<StepReport>, step: StepReport| {
            report(&step);
            steps.push(step);
        };

        let view = distribution::read(&self.cloudfront, &request.distribution_id).await?;
        view.check_quota(&host)?;
        emit(
            &mut steps,
            StepReport::new(
                Step::Distribution,
                StepStatus::Done,
                format!(
                    "{} ({}, {} of {} aliases)",
                    view.domain_name,
                    view.status,
                    view.aliases.len(),
                    distribution::ALIAS_QUOTA
                ),
            ),
        );
        state.reached = Some(Step::Distribution);

        let Some(zone) = zone::find(&self.route53, &host).await? else {
            emit(
                &mut steps,
                StepReport::new(Step::Zone, StepStatus::Failed, "not in this account"),
            );
            return Err(DomainError::ZoneNotInAccount {
                domain: host,
                target: view.domain_name,
            });
        };
        emit(
            &mut steps,
            StepReport::new(
                Step::Zone,
                StepStatus::Done,
                format!("{} ({})", zone.name, zone.id),
            ),
        );
        state.zone = Some(zone.clone());
        state.reached = Some(Step::Zone);
        save_state(store, &mut state).await?;

        let names = certificate_names(&view, &host);
        let (certificate, requested) = self.certificate_for(&state, &view, &names).await?;
        state.certificate_arn = Some(certificate.arn.clone());
        state.reached = Some(Step::Certificate);
        save_state(store, &mut state).await?;
        emit(
            &mut steps,
            StepReport::new(
                Step::Certificate,
                if requested {
                    StepStatus::Changed
                } else {
                    StepStatus::Done
                },
                format!(
                    "{} {} ({}; covers {})",
                    if requested { "requested" } else { "using" },
                    certificate.arn,
                    certificate.status,
                    certificate.names.join(", ")
                ),
            ),
        );

        let certificate = if certificate.is_issued() {
            emit(
                &mut steps,
                StepReport::new(
                    Step::ValidationRecords,
                    StepStatus::Done,
                    "not needed: the certificate is issued",
                ),
            );
            certificate
        } else {
            let certificate = self.wait_for_validation_records(certificate).await?;
            let (written, elsewhere) = self.write_validation_records(&certificate).await?;
            let mut detail = format!(
                "{} of {} CNAME(s) written",
                written,
                certificate.validation_records.len()
            );
            for (name, value) in &elsewhere {
                detail.push_str(&format!(
                    "; create at your DNS host: {name}. CNAME {value}."
                ));
            }
            emit(
                &mut steps,
                StepReport::new(
                    Step::ValidationRecords,
                    if written > 0 {
                        StepStatus::Changed
                    } else {
                        StepStatus::Done
                    },
                    detail,
                ),
            );
            certificate
        };
        state.reached = Some(Step::ValidationRecords);
        save_state(store, &mut state).await?;

        let certificate = self
            .wait_until_issued(&host, certificate, request, &mut |step| {
                emit(&mut steps, step)
            })
            .await?;
        let Some(certificate) = certificate else {
            return Ok(AddOutcome {
                domain: host,
                project: state.project,
                attached: false,
                distribution_domain: view.domain_name,
                certificate_arn: state.certificate_arn,
                steps,
            });
        };
        state.reached = Some(Step::Issued);
        save_state(store, &mut state).await?;

        let (changed, view) = self
            .add_to_distribution(&request.distribution_id, &host, &certificate)
            .await?;
        emit(
            &mut steps,
            StepReport::new(
                Step::CloudFront,
                if changed {
                    StepStatus::Changed
                } else {
                    StepStatus::Done
                },
                format!(
                    "{host} on {} with {} ({})",
                    view.id, certificate.arn, view.status
                ),
            ),
        );
        state.reached = Some(Step::CloudFront);
        save_state(store, &mut state).await?;

        let changed = dns::upsert_aliases(&self.route53, &zone, &host, &view.domain_name).await?;
        emit(
            &mut steps,
            StepReport::new(
                Step::DnsRecords,
                if changed {
                    StepStatus::Changed
                } else {
                    StepStatus::Done
                },
                format!("{host} A/AAAA alias → {}", view.domain_name),
            ),
        );
        state.reached = Some(Step::DnsRecords);
        save_state(store, &mut state).await?;

        let current = domains::lookup(store, &host).await?;
        let changed = current.is_none_or(|record| record.project != state.project);
        if changed {
            domains::attach(store, &host, &state.project).await?;
        }
        emit(
            &mut steps,
            StepReport::new(
                Step::Attach,
                if changed {
                    StepStatus::Changed
                } else {
                    StepStatus::Done
                },
                format!("{host} → {}", state.project),
            ),
        );
        state.attached = true;
        state.reached = Some(Step::Attach);
        save_state(store, &mut state).await?;

        let checks = self.check(store, &state).await?;
        let failed: Vec<&StepReport> = checks
            .iter()
            .filter(|check| check.status == StepStatus::Failed)
            .collect();
        emit(
            &mut steps,
            StepReport::new(
                Step::Verify,
                if failed.is_empty() {
                    StepStatus::Done
                } else {
                    StepStatus::Failed
                },
                if failed.is_empty() {
                    format!("{} checks passed", checks.len())
                } else {
                    failed
                        .iter()
                        .map(|check| format!("{}: {}", check.step.title(), check.detail))
                        .collect::<Vec<_>>()
                        .join("; ")
                },
            ),
        );
        if failed.is_empty() {
            state.reached = Some(Step::Verify);
            save_state(store, &mut state).await?;
        }
        Ok(AddOutcome {
            domain: host,
            project: state.project,
            attached: true,
            distribution_domain: view.domain_name,
            certificate_arn: state.certificate_arn,
            steps,
        })
    }

    /// The certificate to use: the one a previous run requested, the distribution's own, any
    /// other that covers `names`, or a new request, in that order.
    async fn certificate_for(
        &self,
        state: &WizardState,
        view: &DistributionView,
        names: &[String],
    ) -> Result<(Certificate, bool), DomainError> {
        for arn in state.certificate_arn.iter().chain(&view.certificate_arn) {
            // A certificate deleted by hand since is simply not a candidate any more.
            if let Ok(known) = certificate::describe(&self.acm, arn).await
                && known.is_usable_or_pending()
                && known.covers_all(names)
            {
                return Ok((known, false));
            }
        }
        if let Some(found) = certificate::find_covering(&self.acm, names).await? {
            return Ok((found, false));
        }
        let arn = certificate::request(&self.acm, &state.domain, names).await?;
        Ok((certificate::describe(&self.acm, &arn).await?, true))
    }

    /// ACM fills in the validation records a few seconds after a request.
    async fn wait_for_validation_records(
        &self,
        mut certificate: Certificate,
    ) -> Result<Certificate, DomainError> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while certificate.validation_records.is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_secs(2)).await;
            certificate = certificate::describe(&self.acm, &certificate.arn).await?;
        }
        Ok(certificate)
    }

    /// UPSERTs each validation CNAME into the zone that holds it; returns how many were
    /// written and the records no zone of this account holds.
    async fn write_validation_records(
        &self,
        certificate: &Certificate,
    ) -> Result<(usize, Vec<(String, String)>), DomainError> {
        let mut written = 0;
        let mut elsewhere = Vec::new();
        for record in &certificate.validation_records {
            match zone::find(&self.route53, &record.0).await? {
                Some(zone) => {
                    written +=
                        dns::upsert_validation(&self.route53, &zone, std::slice::from_ref(record))
                            .await?
                }
                None => elsewhere.push(record.clone()),
            }
        }
        Ok((written, elsewhere))
    }

    /// Polls ACM until the certificate is issued; `None` when `request.wait` ran out first.
    async fn wait_until_issued(
        &self,
        host: &str,
        mut certificate: Certificate,
        request: &AddRequest,
        emit: &mut (dyn FnMut(StepReport) + Send),
    ) -> Result<Option<Certificate>, DomainError> {
        let started = Instant::now();
        loop {
            if certificate.is_issued() {
                emit(StepReport::new(Step::Issued, StepStatus::Done, "ISSUED"));
                return Ok(Some(certificate));
            }
            if !certificate.is_usable_or_pending() {
                return Err(DomainError::CertificateFailed {
                    domain: host.to_string(),
                    arn: certificate.arn,
                    status: certificate.status,
                });
            }
            let waited = started.elapsed();
            if waited >= request.wait {
                emit(StepReport::new(
                    Step::Issued,
                    StepStatus::Waiting,
                    format!(
                        "{} after {} s; ACM validates within minutes once the CNAMEs resolve; run the same command again to continue",
                        certificate.status,
                        waited.as_secs()
                    ),
                ));
                return Ok(None);
            }
            emit(StepReport::new(
                Step::Issued,
                StepStatus::Waiting,
                format!("{} ({} s)", certificate.status, waited.as_secs()),
            ));
            tokio::time::sleep(request.poll_every.min(request.wait - waited)).await;
            certificate = certificate::describe(&self.acm, &certificate.arn).await?;
        }
    }

    /// Adds the alias and certificate, re-reading and retrying when someone else changed the
    /// distribution in between.
    async fn add_to_distribution(
        &self,
        id: &str,
        host: &str,
        certificate: &Certificate,
    ) -> Result<(bool, DistributionView), DomainError> {
        let mut attempts = 0;
        loop {
            let view = distribution::read(&self.cloudfront, id).await?;
            let mut aliases = view.aliases.clone();
            aliases.push(host.to_string());
            if !certificate.covers_all(&aliases) {
                // Another alias arrived since the certificate was chosen: a re-run picks a
                // certificate for the new set.
                return Err(DomainError::DistributionChanged { id: id.to_string() });
            }
            match distribution::add_alias(&self.cloudfront, &view, host, &certificate.arn).await {
                Ok(changed) => {
                    let view = distribution::read(&self.cloudfront, id).await?;
                    return Ok((changed, view));
                }
                Err(DomainError::DistributionChanged { .. }) if attempts < 3 => attempts += 1,
                Err(error) => return Err(error),
            }
        }
    }

    /// Checks every step's outcome as it is now, without changing anything.
    async fn check(
        &self,
        store: &dyn Store,
        state: &WizardState,
    ) -> Result<Vec<StepReport>, DomainError> {
        let host = &state.domain;
        let mut checks = Vec::new();
        let view = distribution::read(&self.cloudfront, &state.distribution_id).await?;
        let pass = |ok: bool| {
            if ok {
                StepStatus::Done
            } else {
                StepStatus::Failed
            }
        };
        checks.push(StepReport::new(
            Step::Distribution,
            StepStatus::Done,
            format!("{} ({})", view.domain_name, view.status),
        ));
        let zone = zone::find(&self.route53, host).await?;
        checks.push(StepReport::new(
            Step::Zone,
            pass(zone.is_some()),
            zone.as_ref()
                .map(|zone| format!("{} ({})", zone.name, zone.id))
                .unwrap_or_else(|| "no public hosted zone in this account holds it".into()),
        ));
        let certificate = match &view.certificate_arn {
            Some(arn) => Some(certificate::describe(&self.acm, arn).await?),
            None => None,
        };
        let certificate_ok = certificate
            .as_ref()
            .is_some_and(|c| c.is_issued() && c.covers_all(&view.aliases));
        checks.push(StepReport::new(
            Step::Certificate,
            pass(certificate_ok),
            match &certificate {
                Some(c) => format!("{} ({}; covers {})", c.arn, c.status, c.names.join(", ")),
                None => "the distribution uses CloudFront's default certificate".into(),
            },
        ));
        if let (Some(zone), Some(certificate)) = (&zone, &certificate) {
            let mut missing = Vec::new();
            for (name, value) in &certificate.validation_records {
                if zone::is_within(name, &zone.name)
                    && !dns::has_cname(&self.route53, zone, name, value).await?
                {
                    missing.push(name.clone());
                }
            }
            checks.push(StepReport::new(
                Step::ValidationRecords,
                pass(missing.is_empty()),
                if missing.is_empty() {
                    "present".to_string()
                } else {
                    format!("missing in the zone: {}", missing.join(", "))
                },
            ));
        }
        checks.push(StepReport::new(
            Step::CloudFront,
            pass(view.has_alias(host)),
            if view.has_alias(host) {
                format!("{host} is an alias of {}", view.id)
            } else {
                format!("{host} is not an alias of {}", view.id)
            },
        ));
        if let Some(zone) = &zone {
            let missing =
                dns::missing_aliases(&self.route53, zone, host, &view.domain_name).await?;
            checks.push(StepReport::new(
                Step::DnsRecords,
                pass(missing.is_empty()),
                if missing.is_empty() {
                    format!("A and AAAA alias {}", view.domain_name)
                } else {
                    format!(
                        "missing: {}",
                        missing
                            .iter()
                            .map(|kind| kind.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
            ));
        }
        let record = domains::lookup(store, host).await?;
        checks.push(StepReport::new(
            Step::Attach,
            pass(record.as_ref().is_some_and(|r| r.project == state.project)),
            match record {
                Some(record) => format!("{host} → {}", record.project),
                None => "no domain record in the store".into(),
            },
        ));
        Ok(checks)
    }

    /// Re-checks every step for `domain` (AWS side), then what public DNS says through
    /// `resolver` when one is given.
    pub async fn verify(
        &self,
        store: &dyn Store,
        domain: &str,
        distribution_id: Option<&str>,
        resolver: Option<&diagnose::Resolver>,
    ) -> Result<Vec<StepReport>, DomainError> {
        let host = domains::normalize(domain)?;
        let state = self.known_state(store, &host, distribution_id).await?;
        let mut checks = self.check(store, &state).await?;
        let view = distribution::read(&self.cloudfront, &state.distribution_id).await?;
        match resolver {
            Some(resolver) => {
                let zone = zone::find(&self.route53, &host).await?;
                let expected = match &zone {
                    Some(zone) => zone::name_servers(&self.route53, zone).await?,
                    None => Vec::new(),
                };
                checks.extend(
                    diagnose::diagnose(
                        resolver,
                        &host,
                        zone.as_ref().map(|zone| zone.name.as_str()),
                        &expected,
                        &view.domain_name,
                    )
                    .await,
                );
            }
            None => checks.push(StepReport::new(
                Step::Propagation,
                StepStatus::Skipped,
                "no DNS resolver given (--resolver IP:PORT); public DNS was not checked",
            )),
        }
        Ok(checks)
    }

    /// The wizard state for `host`, or one made from the domain record when the host was
    /// attached by hand.
    async fn known_state(
        &self,
        store: &dyn Store,
        host: &str,
        distribution_id: Option<&str>,
    ) -> Result<WizardState, DomainError> {
        let record = domains::lookup(store, host).await?;
        let state = read_state(store, host).await?;
        let distribution_id = distribution_id
            .map(str::to_string)
            .or(state.as_ref().map(|state| state.distribution_id.clone()))
            .filter(|id| !id.is_empty());
        match (state, record) {
            (Some(state), _) => Ok(WizardState {
                distribution_id: distribution_id.unwrap_or(state.distribution_id.clone()),
                ..state
            }),
            (None, Some(record)) => Ok(WizardState {
                domain: host.to_string(),
                project: record.project,
                distribution_id: distribution_id.ok_or(DomainError::NoDistribution)?,
                zone: None,
                certificate_arn: None,
                reached: None,
                attached: true,
                updated: record.attached,
            }),
            (None, None) => Err(DomainError::NotManaged {
                domain: host.to_string(),
            }),
        }
    }

    /// Takes `domain` off: the store record first (the proxy stops serving it), then its
    /// alias on the distribution, then the A/AAAA records that alias the distribution. Other
    /// aliases, other records and the certificate (which still covers the other aliases) stay.
    pub async fn remove(
        &self,
        store: &dyn Store,
        domain: &str,
        distribution_id: Option<&str>,
    ) -> Result<RemoveOutcome, DomainError> {
        let host = domains::normalize(domain)?;
        let state = self.known_state(store, &host, distribution_id).await?;
        let mut steps = Vec::new();
        let attached = domains::lookup(store, &host).await?.is_some();
        domains::detach(store, &host).await?;
        steps.push(StepReport::new(
            Step::Attach,
            if attached {
                StepStatus::Changed
            } else {
                StepStatus::Done
            },
            format!("{host} detached from {}", state.project),
        ));
        let view = distribution::read(&self.cloudfront, &state.distribution_id).await?;
        let mut removed = distribution::remove_alias(&self.cloudfront, &view, &host).await;
        for _ in 0..3 {
            if !matches!(removed, Err(DomainError::DistributionChanged { .. })) {
                break;
            }
            let view = distribution::read(&self.cloudfront, &state.distribution_id).await?;
            removed = distribution::remove_alias(&self.cloudfront, &view, &host).await;
        }
        steps.push(StepReport::new(
            Step::CloudFront,
            if removed? {
                StepStatus::Changed
            } else {
                StepStatus::Done
            },
            format!("{host} is not an alias of {}", view.id),
        ));
        match zone::find(&self.route53, &host).await? {
            Some(zone) => {
                let deleted =
                    dns::delete_aliases(&self.route53, &zone, &host, &view.domain_name).await?;
                steps.push(StepReport::new(
                    Step::DnsRecords,
                    if deleted > 0 {
                        StepStatus::Changed
                    } else {
                        StepStatus::Done
                    },
                    format!("{deleted} alias record(s) deleted from {}", zone.name),
                ));
            }
            None => steps.push(StepReport::new(
                Step::DnsRecords,
                StepStatus::Skipped,
                "no hosted zone in this account holds it; remove the CNAME at your DNS host",
            )),
        }
        store.delete(&[state_key(&host)]).await?;
        Ok(RemoveOutcome {
            domain: host,
            steps,
        })
    }
}

/// Every name the distribution's certificate must cover once `host` is added.
pub fn certificate_names(view: &DistributionView, host: &str) -> Vec<String> {
    let mut names = vec![host.to_string()];
    for alias in &view.aliases {
        if !names.contains(alias) {
            names.push(alias.clone());
        }
    }
    names
}

/// Custom domains in the store: attached ones, and those the wizard has not finished.
pub async fn list(store: &dyn Store) -> Result<Vec<DomainListing>, DomainError> {
    let objects = store::list_all(store, keys::DOMAINS).await?;
    let mut listings: Vec<DomainListing> = Vec::new();
    for object in &objects {
        let rest = &object.key[keys::DOMAINS.len()..];
        if let Some(host) = rest
            .strip_suffix(".json")
            .filter(|host| !host.contains('/'))
            && let Some(record) = domains::lookup(store, host).await?
        {
            listings.push(DomainListing {
                domain: record.domain,
                project: record.project,
                attached: true,
                reached: None,
            });
        }
    }
    for object in &objects {
        let rest = &object.key[keys::DOMAINS.len()..];
        let Some(host) = rest
            .strip_prefix("wizard/")
            .and_then(|rest| rest.strip_suffix(".json"))
        else {
            continue;
        };
        if let Some(state) = read_state(store, host).await? {
            match listings.iter_mut().find(|listing| listing.domain == host) {
                Some(listing) => listing.reached = state.reached,
                None => listings.push(DomainListing {
                    domain: state.domain,
                    project: state.project,
                    attached: false,
                    reached: state.reached,
                }),
            }
        }
    }
    listings.sort_by(|a, b| a.domain.cmp(&b.domain));
    Ok(listings)
}

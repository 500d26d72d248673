//! `pier domains add`: runs or resumes steps 1 to 9 of the wizard (see the module's
//! documentation), each reading first and changing only what is missing, and saving the
//! progress after each. The host is attached in the store only once its certificate is issued
//! and the distribution has it as an alias, so the proxy never serves a host CloudFront
//! cannot. A distribution has one viewer certificate, so the certificate names every alias
//! (ACM's SANs); the distribution is changed with `If-Match` on its ETag.

use std::time::{Duration, Instant};

use serde::Serialize;
use time::OffsetDateTime;

use super::certificate::{self, Certificate};
use super::distribution::{self, DistributionView};
use super::state::save_state;
use super::{
    DomainError, Step, StepReport, StepStatus, Wizard, WizardState, dns, read_state, zone,
};
use pier_core::domains;
use pier_core::project_name;
use pier_core::store::Store;

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

impl Wizard {
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

//! `pier domains verify`: re-checks every step's outcome as it is now, changing nothing: the
//! distribution, the zone, the certificate (issued, covering every alias), its validation
//! CNAMEs, the alias, the A/AAAA records and the store record; then, through a resolver given
//! by address, what public DNS says (delegation, CAA per RFC 8659, propagation), or `skipped`
//! when there is none, never a guess.

use super::{
    DomainError, Step, StepReport, StepStatus, Wizard, WizardState, certificate, diagnose,
    distribution, dns, read_state, zone,
};
use pier_core::domains;
use pier_core::store::Store;

impl Wizard {
    /// Checks every step's outcome as it is now, without changing anything.
    pub(super) async fn check(
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
    pub(super) async fn known_state(
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
}

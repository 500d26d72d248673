//! `pier domains rm`: takes one domain off, touching only what is its own: the store record
//! first (the proxy stops serving it), then its alias on the distribution (`If-Match`,
//! retried when someone else changed it), then the A/AAAA records that alias this
//! distribution, then the wizard's progress. Other aliases, other records and the certificate
//! (which still covers the other aliases) stay.

use super::{
    DomainError, Step, StepReport, StepStatus, Wizard, distribution, dns, state_key, zone,
};
use pier_core::domains;
use pier_core::store::Store;

pub use pier_wire::domains::RemoveOutcome;

impl Wizard {
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

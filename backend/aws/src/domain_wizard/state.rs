//! The wizard's stored progress and its step reports: `domains/wizard/<host>.json` holds how
//! far a host got (the certificate ARN above all, so a re-run never requests a second one),
//! beside the `domains/<host>.json` records it never shadows; and the listing of both for
//! `pier domains ls`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::DomainError;
use super::zone::Zone;
use pier_core::domains;
use pier_core::records::{read_json, write_json};
use pier_core::store::{self, PutOptions, Store, keys};

// The steps and their reports cross to the desktop's window as they are: the wire's types.
pub use pier_wire::domains::{DomainListing, Step, StepReport, StepStatus};

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

pub(super) async fn save_state(
    store: &dyn Store,
    state: &mut WizardState,
) -> Result<(), DomainError> {
    state.updated = OffsetDateTime::now_utc();
    write_json(store, &state_key(&state.domain), state, PutOptions::json()).await?;
    Ok(())
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

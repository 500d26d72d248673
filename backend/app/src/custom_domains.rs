//! The app's custom-domain wizard: the domains the store serves, adding one (zone,
//! certificate, CloudFront alias, DNS records, then the store; each step reported as it ends,
//! the certificate's wait included), verifying one with public-DNS diagnostics, and removing
//! one. It is `pier domains`' engine ([`pier_aws::domain_wizard`]), with its progress kept in the
//! store, so a wizard stopped in the app resumes from the CLI or the other way round.

use std::time::Duration;

use super::events::{AppEvent, UserError};
use pier_aws::domain_wizard::diagnose::Resolver;
use pier_aws::domain_wizard::{self, AddRequest, Wizard, recorded_distribution};

/// How long one add waits for ACM before it stops (resumable) and says so.
pub const CERTIFICATE_WAIT: Duration = Duration::from_secs(15 * 60);
const POLL_EVERY: Duration = Duration::from_secs(5);

pub use pier_wire::domains::{DomainsView, RemoveOutcome, StepReport};

/// Clients with the settings' AWS profile and endpoint override, else the default chain.
async fn wizard(app: &super::App) -> Wizard {
    let settings = app.target().settings;
    let aws = settings.aws();
    Wizard::connect_as(
        aws.and_then(|aws| aws.profile.as_deref()),
        aws.and_then(|aws| aws.endpoint.as_deref()),
    )
    .await
}

fn distribution(given: Option<String>) -> Option<String> {
    given
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty())
        .or_else(recorded_distribution)
}

pub(super) async fn list(app: &super::App) -> Result<DomainsView, UserError> {
    Ok(DomainsView {
        domains: domain_wizard::list(app.target().store.as_ref()).await?,
        distribution_id: recorded_distribution(),
    })
}

/// Starts (or resumes) the wizard for `domain` on its own task; steps and the outcome arrive
/// as events.
pub(super) fn spawn_add(
    app: super::App,
    domain: String,
    project: String,
    distribution_id: Option<String>,
) -> Result<(), UserError> {
    let Some(distribution_id) = distribution(distribution_id) else {
        return Err(UserError::new(
            "No CloudFront distribution is known",
            "run AWS setup first, or type the distribution id in front of Pier's proxy",
        ));
    };
    tokio::spawn(async move {
        let wizard = wizard(&app).await;
        let request = AddRequest {
            domain: domain.clone(),
            project,
            distribution_id,
            wait: CERTIFICATE_WAIT,
            poll_every: POLL_EVERY,
        };
        let events = app.events().clone();
        let step_domain = domain.clone();
        let mut report = |step: &StepReport| {
            events.emit(AppEvent::DomainStep {
                domain: step_domain.clone(),
                step: step.clone(),
            })
        };
        let store = app.target().store;
        let ended = wizard.add(store.as_ref(), &request, &mut report).await;
        let (attached, error) = match ended {
            Ok(outcome) => (outcome.attached, None),
            Err(error) => (false, Some(UserError::from(error).into())),
        };
        app.events().emit(AppEvent::DomainEnded {
            domain,
            attached,
            error,
        });
        app.events().emit(AppEvent::Changed { project: None });
    });
    Ok(())
}

/// Re-checks every step, then public DNS through the system's resolver.
pub(super) async fn verify(app: &super::App, domain: &str) -> Result<Vec<StepReport>, UserError> {
    let wizard = wizard(app).await;
    let resolver = Resolver::system();
    Ok(wizard
        .verify(
            app.target().store.as_ref(),
            domain,
            recorded_distribution().as_deref(),
            resolver.as_ref(),
        )
        .await?)
}

pub(super) async fn remove(app: &super::App, domain: &str) -> Result<RemoveOutcome, UserError> {
    let wizard = wizard(app).await;
    let outcome = wizard
        .remove(
            app.target().store.as_ref(),
            domain,
            recorded_distribution().as_deref(),
        )
        .await?;
    app.events().emit(AppEvent::Changed { project: None });
    Ok(outcome)
}

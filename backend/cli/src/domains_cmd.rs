//! `pier domains add|ls|rm|verify`: the custom-domain wizard from a terminal. Each step prints
//! one line as it ends (`✓` already so, `+` changed now, `…` waiting, `-` skipped, `✗`
//! failed); `--json` prints one document instead. The engine is
//! `pier_aws::domain_wizard`; this file only parses and prints.

use std::time::Duration;

use clap::Subcommand;
use pier_aws::domain_wizard::diagnose::Resolver;
use pier_aws::domain_wizard::{
    self, AddRequest, StepReport, StepStatus, Wizard, recorded_distribution,
};
use pier_core::store::DynStore;
use serde_json::json;

#[derive(Subcommand)]
pub enum DomainsCommand {
    /// Put a project on a domain: Route53 zone, ACM certificate, CloudFront alias, A/AAAA
    /// records, then the store. Re-run it to continue after a stop; it changes only what is
    /// missing.
    Add {
        /// The host name, e.g. www.example.com.
        domain: String,
        /// The project to serve there.
        #[arg(long)]
        project: String,
        /// The CloudFront distribution in front of Pier's proxy.
        #[arg(long, env = "PIER_DISTRIBUTION_ID")]
        distribution: Option<String>,
        /// Longest wait for ACM to issue the certificate, in seconds.
        #[arg(long, default_value_t = 600)]
        wait: u64,
        /// Do not wait for the certificate: stop after requesting it (run again to continue).
        #[arg(long, conflicts_with = "wait")]
        no_wait: bool,
    },
    /// List custom domains and the project each serves.
    Ls,
    /// Take a domain off: the store record, its CloudFront alias and its A/AAAA records (other
    /// domains are left alone).
    Rm {
        domain: String,
        #[arg(long, env = "PIER_DISTRIBUTION_ID")]
        distribution: Option<String>,
    },
    /// Re-check every step, then public DNS (delegation, CAA, propagation) through a resolver.
    Verify {
        domain: String,
        #[arg(long, env = "PIER_DISTRIBUTION_ID")]
        distribution: Option<String>,
        /// The DNS resolver to ask, IP:PORT; defaults to the system's (/etc/resolv.conf).
        #[arg(long, env = "PIER_DNS_RESOLVER")]
        resolver: Option<std::net::SocketAddr>,
    },
}

fn print_step(step: &StepReport) {
    println!(
        "  {} {:<26} {}",
        step.status.mark(),
        step.step.title(),
        step.detail
    );
}

pub async fn run(store: DynStore, json: bool, command: DomainsCommand) -> anyhow::Result<()> {
    let wizard = Wizard::connect(None).await;
    match command {
        DomainsCommand::Add {
            domain,
            project,
            distribution,
            wait,
            no_wait,
        } => {
            let request = AddRequest {
                domain,
                project,
                distribution_id: distribution
                    .or_else(recorded_distribution)
                    .unwrap_or_default(),
                wait: if no_wait {
                    Duration::ZERO
                } else {
                    Duration::from_secs(wait)
                },
                poll_every: Duration::from_secs(3),
            };
            if !json {
                println!("Setting up {} for {}", request.domain, request.project);
            }
            let outcome = wizard
                .add(store.as_ref(), &request, &mut |step: &StepReport| {
                    if !json {
                        print_step(step)
                    }
                })
                .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&outcome)?);
            } else if outcome.attached {
                println!(
                    "{} serves {} (through {})",
                    outcome.domain, outcome.project, outcome.distribution_domain
                );
            } else {
                println!(
                    "Not finished: waiting for ACM. Run `pier domains add {} --project {}` again to continue.",
                    outcome.domain, outcome.project
                );
            }
        }
        DomainsCommand::Ls => {
            let listings = domain_wizard::list(store.as_ref()).await?;
            if json {
                println!("{}", json!({ "domains": listings }));
            } else if listings.is_empty() {
                println!("No custom domains. Add one with `pier domains add DOMAIN --project P`.");
            } else {
                println!("{:<40} {:<28} STATUS", "DOMAIN", "PROJECT");
                for listing in listings {
                    let status = match (listing.attached, listing.reached) {
                        (true, _) => "attached".to_string(),
                        (false, Some(step)) => format!("in progress (after {})", step.title()),
                        (false, None) => "in progress".to_string(),
                    };
                    println!("{:<40} {:<28} {status}", listing.domain, listing.project);
                }
            }
        }
        DomainsCommand::Rm {
            domain,
            distribution,
        } => {
            let outcome = wizard
                .remove(
                    store.as_ref(),
                    &domain,
                    distribution.or_else(recorded_distribution).as_deref(),
                )
                .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&outcome)?);
            } else {
                println!("Removed {}", outcome.domain);
                outcome.steps.iter().for_each(print_step);
                println!(
                    "  the certificate stays: it also covers the distribution's other domains"
                );
            }
        }
        DomainsCommand::Verify {
            domain,
            distribution,
            resolver,
        } => {
            let resolver = resolver.map(Resolver::new).or_else(Resolver::system);
            let checks = wizard
                .verify(
                    store.as_ref(),
                    &domain,
                    distribution.or_else(recorded_distribution).as_deref(),
                    resolver.as_ref(),
                )
                .await?;
            let failed = checks
                .iter()
                .filter(|check| check.status == StepStatus::Failed)
                .count();
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({
                        "domain": domain,
                        "ok": failed == 0,
                        "checks": checks,
                    }))?
                );
            } else {
                println!("Checking {domain}");
                checks.iter().for_each(print_step);
            }
            if failed > 0 {
                anyhow::bail!("{failed} check(s) failed for {domain}; see above");
            }
        }
    }
    Ok(())
}

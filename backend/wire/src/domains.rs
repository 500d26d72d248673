//! What the custom-domain wizard reports, step by step, and what the Domains screen lists.
//! The CLI prints the same reports (`pier domains add`), with the same titles and marks.

use serde::{Deserialize, Serialize};

named_enum! {
    /// The wizard's steps, in order.
    pub enum Step {
        Distribution => "distribution",
        Zone => "zone",
        Certificate => "certificate",
        ValidationRecords => "validation_records",
        Issued => "issued",
        CloudFront => "cloud_front",
        DnsRecords => "dns_records",
        Attach => "attach",
        Verify => "verify",
        Delegation => "delegation",
        Caa => "caa",
        Propagation => "propagation",
    }
}

impl Step {
    /// How the CLI and the window name the step.
    pub fn title(self) -> &'static str {
        match self {
            Step::Distribution => "CloudFront distribution",
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

named_enum! {
    pub enum StepStatus {
        /// Already as it should be; nothing changed.
        Done => "done",
        /// Changed now.
        Changed => "changed",
        /// Waiting on something outside Pier (ACM validation, CloudFront rollout).
        Waiting => "waiting",
        /// Not checked, with the reason in the detail.
        Skipped => "skipped",
        Failed => "failed",
    }
}

impl StepStatus {
    /// One character before the step's title: `✓` already so, `+` changed now, `…` waiting,
    /// `-` skipped, `✗` failed.
    pub fn mark(self) -> &'static str {
        match self {
            StepStatus::Done => "✓",
            StepStatus::Changed => "+",
            StepStatus::Waiting => "…",
            StepStatus::Skipped => "-",
            StepStatus::Failed => "✗",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepReport {
    pub step: Step,
    pub status: StepStatus,
    pub detail: String,
}

impl StepReport {
    pub fn new(step: Step, status: StepStatus, detail: impl Into<String>) -> StepReport {
        StepReport {
            step,
            status,
            detail: detail.into(),
        }
    }
}

/// A custom domain as `pier domains ls` and the Domains screen show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainListing {
    pub domain: String,
    pub project: String,
    pub attached: bool,
    /// The last wizard step reached, when the wizard set it up.
    pub reached: Option<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainsView {
    pub domains: Vec<DomainListing>,
    /// The distribution setup made, when the config file names one.
    pub distribution_id: Option<String>,
}

/// What `pier domains rm` (and the screen's Remove) did, step by step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoveOutcome {
    pub domain: String,
    pub steps: Vec<StepReport>,
}

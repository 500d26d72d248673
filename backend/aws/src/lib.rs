//! Pier's AWS account engine: what manages the user's account rather than serving or building
//! sites. `setup` is `pier setup aws` and `pier teardown aws` (one file per step group, a
//! resumable record of what it made); `domain_wizard` is `pier domains` (Route53, ACM,
//! CloudFront); `ecs_builds` starts, watches and stops one-off builder tasks on Fargate;
//! `image_build` builds the hosted half's images with the local Docker or Podman; `images`
//! copies published images registry to registry (setup's mirror into the account's ECR);
//! `function_logs` reads a project's function output from CloudWatch (`pier logs --functions`).
//!
//! The CLI and the desktop engine link this crate; the proxy and the builder never do, so the
//! code on the edge cannot create an IAM role.

pub mod domain_wizard;
pub mod ecs_builds;
pub mod function_logs;
pub mod image_build;
pub mod images;
pub mod setup;

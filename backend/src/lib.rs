//! Pier's core: the deploy engine behind the `pier` CLI, the desktop app, the edge proxy and
//! the builder. It holds only what those share: the store, deployments, aliases, site config
//! and routes, functions (what a deployment's server code is), builds and logs. Managing an AWS account lives in `pier-aws`, the desktop's engine in
//! `pier-app`. Optional parts follow what needs them: `redis` (live logs in Redis Streams),
//! `queue` (the SQS build queue and its workers) and `watch` (folder watch).
//!
//! Deployments are immutable and content-addressed; aliases are the only mutable records and
//! change by compare-and-swap. See ARCHITECTURE.md at the repository root for the code map,
//! the store's key layout and the invariants.

pub mod alias;
pub mod aws;
pub mod builds;
pub mod config;
pub mod content_type;
pub mod deploy;
pub mod deployments;
pub mod domains;
pub mod error;
pub mod functions;
pub mod gc;
pub mod lambda;
pub mod logs;
pub mod manifest;
pub mod progress;
pub mod project_env;
pub mod project_name;
pub mod records;
/// A region's state for a project: the wire type the desktop draws, computed by [`regions`].
pub use pier_wire::regions as region_state;
pub mod regions;
pub mod routes;
pub mod scan;
pub mod site_config;
pub mod store;
#[cfg(feature = "watch")]
pub mod watch;

pub use error::{PierError, StoreError};

//! Pier's core: the deploy engine behind the `pier` CLI and the desktop app.
//!
//! Deployments are immutable and content-addressed; aliases are the only mutable records and
//! change by compare-and-swap. See ARCHITECTURE.md at the repository root for the code map,
//! the store's key layout and the invariants.

pub mod alias;
pub mod app;
pub mod aws;
pub mod build;
pub mod config;
pub mod content_type;
pub mod deploy;
pub mod deployments;
pub mod domain_wizard;
pub mod domains;
pub mod error;
pub mod gc;
pub mod logs;
pub mod manifest;
pub mod progress;
pub mod project_name;
pub mod records;
pub mod scan;
pub mod setup;
pub mod site_config;
pub mod store;
pub mod watch;

pub use error::{PierError, StoreError};

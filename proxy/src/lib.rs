//! Pier's edge proxy: serves every deployment by Host, from the store, read-only.
//!
//! `host` routes a Host header to a site, `path` normalises the request path (the only
//! place that does), `resolve` picks the file (index, clean URLs, trailing slash, rewrites,
//! SPA, 404 page), `respond` builds the response (ETag, ranges, compression, Cache-Control),
//! `lookup` reads the store through caches (a folder store's blobs are mapped, `mapped`, and
//! sent with `sendfile`, `sendfile`), `functions` runs deployments' server code (Node
//! processes here, `functions/local.rs`), `server` runs hyper within its limits, and
//! `metrics` counts. The same code runs as `pier-proxy`, behind `pier serve`, and inside the
//! desktop app.

pub mod cache_control;
pub mod compress;
pub mod functions;
pub mod health;
pub mod host;
pub mod lookup;
pub mod mapped;
pub mod metrics;
pub mod path;
pub mod resolve;
pub mod respond;
pub mod sendfile;
pub mod server;
pub mod site;

pub use server::{Proxy, ProxyConfig};

//! Which answer a request gets: the deployment's compiled routes (`pier_core::routes`, Vercel's
//! phases, whatever config format they came from) run over the request and the deployment's
//! files. This file only shows the engine the request: its method, decoded path, query, host
//! (lower-case, no port) and headers.

use http::HeaderMap;
use pier_core::routes::{Incoming, Outcome};

use crate::site::{Served, Site};

pub struct RequestView<'a> {
    pub method: &'a str,
    /// Normalised by `path::normalize`.
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub host: &'a str,
    pub headers: &'a HeaderMap,
}

impl Incoming for RequestView<'_> {
    fn method(&self) -> &str {
        self.method
    }
    fn path(&self) -> &str {
        self.path
    }
    fn query(&self) -> Option<&str> {
        self.query
    }
    fn host(&self) -> &str {
        self.host
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

pub fn resolve<'a>(site: &'a Site, request: &RequestView<'_>) -> Outcome<Served<'a>> {
    site.router.route(request, &site)
}

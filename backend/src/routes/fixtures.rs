//! Test doubles for the route engine, shared by its own tests and the site config's: a request
//! given as plain values and a file set given as a list of paths.

use super::{FileLookup, Incoming};

/// A request as the engine sees it: the path decoded, the query raw.
#[derive(Default)]
pub(crate) struct TestRequest<'a> {
    /// Empty means `GET`.
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub host: &'a str,
    pub headers: Vec<(&'a str, &'a str)>,
}

impl<'a> TestRequest<'a> {
    /// `GET target`, where `target` is a path with an optional `?query`.
    pub fn get(target: &'a str) -> TestRequest<'a> {
        let (path, query) = match target.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (target, None),
        };
        TestRequest {
            path,
            query,
            ..TestRequest::default()
        }
    }

    pub fn host(mut self, host: &'a str) -> TestRequest<'a> {
        self.host = host;
        self
    }

    pub fn header(mut self, name: &'a str, value: &'a str) -> TestRequest<'a> {
        self.headers.push((name, value));
        self
    }
}

impl Incoming for TestRequest<'_> {
    fn method(&self) -> &str {
        if self.method.is_empty() {
            "GET"
        } else {
            self.method
        }
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
        self.headers
            .iter()
            .find(|(seen, _)| seen.eq_ignore_ascii_case(name))
            .map(|(_, value)| *value)
    }
}

/// The deployment's files, by path.
pub(crate) struct TestFiles<'a>(pub &'a [&'a str]);

impl FileLookup for TestFiles<'_> {
    type File = String;
    fn file(&self, path: &str) -> Option<String> {
        self.0.contains(&path).then(|| path.to_string())
    }
}

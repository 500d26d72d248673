//! One route engine for every config format: an ordered list of routes split into phases by
//! `handle` markers, the shape of Vercel's Build Output API v3 `config.json` `routes`. Each
//! format's rules are compiled into this list at deploy time (`site_config`), stored in the
//! manifest, and run per request by [`Router`] (`engine.rs`) with no parsing.
//!
//! A route matches when its `src` regular expression matches the percent-decoded request path
//! (case-insensitively unless `caseSensitive`), its `methods` include the method, and every
//! `has` condition holds and no `missing` one does. What a match does follows Vercel's router:
//! `headers` are added (`$1`/`$name` substituted); with `continue` the path becomes `dest` and
//! matching goes on; otherwise a 3xx `status` with a `Location` header redirects, and anything
//! else ends the phase with the path set to `dest` (and the status kept). A `check` route whose
//! `dest` is not a file does not end the phase. The phases run in the order `null` (before any
//! marker), the filesystem, `filesystem` routes, `rewrite` routes, `miss`, then `error` for a
//! 404; `hit` routes add headers to a found file. See `engine.rs` for the details.

mod conditions;
mod engine;
#[cfg(test)]
pub(crate) mod fixtures;
mod path_pattern;
mod request;
mod substitute;
#[cfg(test)]
mod tests;
pub mod transforms;

use serde::{Deserialize, Serialize};

pub use engine::{FileLookup, Outcome, Router, RouterError};
pub use path_pattern::{
    PatternError, compile_destination, compile_header_value, netlify_to_regex, path_to_regex,
    regex_escape,
};
pub use request::Incoming;

/// The phase markers of a route list (`{"handle": "filesystem"}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Look the path up as a file; routes after this run only when it is not one.
    Filesystem,
    /// Routes that run after the `filesystem` routes found nothing.
    Rewrite,
    /// Routes that run when a `check` route's destination is not a file, and at the end.
    Miss,
    /// Routes that run (headers only) when a file was found.
    Hit,
    /// Routes that run when the answer is an error status (404).
    Error,
}

/// One entry of a route list: a phase marker or a route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RouteEntry {
    Handle { handle: Phase },
    Route(Box<Route>),
}

impl From<Route> for RouteEntry {
    fn from(route: Route) -> RouteEntry {
        RouteEntry::Route(Box::new(route))
    }
}

/// A route, as in `config.json` (a subset: no `middlewarePath`, `locale` or `override`;
/// `transforms` with plain keys, see `transforms.rs`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Route {
    /// A regular expression (JavaScript syntax, lookarounds included) over the decoded path.
    pub src: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dest: Option<String>,
    /// Response headers to add, in order; values may use `$1` and `$name`.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        with = "ordered_headers"
    )]
    pub headers: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, rename = "continue", skip_serializing_if = "is_false")]
    pub continue_: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub check: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub case_sensitive: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub has: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<Condition>,
    /// Changes to the request a function gets and to the answer's headers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transforms: Vec<transforms::Transform>,
}

fn is_false(value: &bool) -> bool {
    !value
}

/// A `has`/`missing` condition. A `value` is a regular expression that must match the whole
/// value; its named groups (and, for `host`, the whole host as `$host`) can be used in `dest`
/// and header values. Without a `value` the key only has to be present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum Condition {
    Host {
        value: String,
    },
    Header {
        key: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<String>,
    },
    Cookie {
        key: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<String>,
    },
    Query {
        key: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<String>,
    },
}

/// A deployment's compiled routes and the one filesystem setting routes cannot express.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RouteTable {
    pub routes: Vec<RouteEntry>,
    /// `trailingSlash: false`: a folder's `index.html` is served at `/folder` instead of
    /// redirecting there to `/folder/`.
    #[serde(skip_serializing_if = "is_false")]
    pub folders_without_slash: bool,
    /// `/a` is not served from `a.html` (Vercel without `cleanUrls`).
    #[serde(skip_serializing_if = "is_false")]
    pub exact_names: bool,
}

/// `headers` as a JSON object whose key order is kept, as `config.json` writes it.
mod ordered_headers {
    use serde::de::{MapAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        headers: &[(String, String)],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(headers.len()))?;
        for (name, value) in headers {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<(String, String)>, D::Error> {
        struct InOrder;
        impl<'de> Visitor<'de> for InOrder {
            type Value = Vec<(String, String)>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of header names to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut headers = Vec::new();
                while let Some(entry) = map.next_entry::<String, String>()? {
                    headers.push(entry);
                }
                Ok(headers)
            }
        }
        deserializer.deserialize_map(InOrder)
    }
}

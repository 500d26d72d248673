//! Route `transforms` (Build Output API v3): what a matched route changes in the request a
//! function gets (`request.query`, `request.headers`) and in the answer's headers
//! (`response.headers`), with `set`, `append` or `delete`. A subset: the target `key` is a plain
//! name (Vercel's key matchers such as `{ "pre": "x-" }` fail the deploy), and `args` a string
//! or a list of strings. SvelteKit's adapter starts every route list with one, deleting the
//! `__pathname` query parameter it reserves.
//!
//! Queries are `application/x-www-form-urlencoded` pairs (keys compared after decoding,
//! `+` as a space); header names are compared without case (RFC 9110 §5.1).

use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transform {
    #[serde(rename = "type")]
    pub applies_to: TransformTarget,
    pub op: TransformOp,
    pub target: TransformKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<TransformArgs>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransformTarget {
    #[serde(rename = "request.headers")]
    RequestHeaders,
    #[serde(rename = "request.query")]
    RequestQuery,
    #[serde(rename = "response.headers")]
    ResponseHeaders,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransformOp {
    Set,
    Append,
    Delete,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransformKey {
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TransformArgs {
    One(String),
    Many(Vec<String>),
}

impl Transform {
    /// The values `set` and `append` add.
    pub fn values(&self) -> Vec<&str> {
        match &self.args {
            None => Vec::new(),
            Some(TransformArgs::One(value)) => vec![value.as_str()],
            Some(TransformArgs::Many(values)) => values.iter().map(String::as_str).collect(),
        }
    }
}

/// Whether a header transform's key can be a header name (RFC 9110 §5.6.2 `token`).
pub fn is_header_name(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// The query string after the `request.query` transforms, in order; `None` when none is left.
pub fn apply_to_query(transforms: &[Transform], query: Option<&str>) -> Option<String> {
    let mut pairs: Vec<String> = query
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(str::to_string)
        .collect();
    let is_key = |pair: &str, key: &str| {
        let name = pair.split('=').next().unwrap_or_default().replace('+', " ");
        percent_decode_str(&name).decode_utf8_lossy() == key
    };
    for transform in transforms {
        if transform.applies_to != TransformTarget::RequestQuery {
            continue;
        }
        let key = transform.target.key.as_str();
        if transform.op != TransformOp::Append {
            pairs.retain(|pair| !is_key(pair, key));
        }
        if transform.op != TransformOp::Delete {
            let encoded_key = utf8_percent_encode(key, NON_ALPHANUMERIC).to_string();
            for value in transform.values() {
                let encoded = utf8_percent_encode(value, NON_ALPHANUMERIC);
                pairs.push(format!("{encoded_key}={encoded}"));
            }
        }
    }
    (!pairs.is_empty()).then(|| pairs.join("&"))
}

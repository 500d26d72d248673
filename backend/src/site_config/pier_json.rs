//! `pier.json`: Pier's own settings file. It takes vercel.json's serving keys (`cleanUrls`,
//! `trailingSlash`, `redirects`, `rewrites`, `headers`, with Vercel's rules) plus `spa` (a path
//! with no extension that is not a file serves `/index.html`) and
//! `$schema`. Unlike vercel.json, which holds much that is not about serving, any other key is
//! an error, to catch typos. It is read first, so its scalar settings win.

use serde::Deserialize;

use super::vercel_json::{JsonHeaderRule, JsonRedirect, JsonRewrite};
use super::{PIER_JSON, Reader, SiteConfigError};

const PIER_JSON_KEYS: [&str; 7] = [
    "$schema",
    "cleanUrls",
    "trailingSlash",
    "spa",
    "redirects",
    "rewrites",
    "headers",
];

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct PierJson {
    clean_urls: Option<bool>,
    trailing_slash: Option<bool>,
    spa: Option<bool>,
    redirects: Vec<JsonRedirect>,
    rewrites: Vec<JsonRewrite>,
    headers: Vec<JsonHeaderRule>,
}

impl Reader {
    pub(super) fn pier_json(&mut self, text: &str) -> Result<(), SiteConfigError> {
        let bad_json = |source| SiteConfigError::BadJson {
            file: PIER_JSON,
            source,
        };
        let keys: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(text).map_err(bad_json)?;
        if let Some(key) = keys
            .keys()
            .find(|key| !PIER_JSON_KEYS.contains(&key.as_str()))
        {
            return Err(SiteConfigError::UnknownSetting {
                file: PIER_JSON,
                key: key.clone(),
            });
        }
        // Parsed again from the text, not from `keys`, so type errors keep their line numbers.
        let settings: PierJson = serde_json::from_str(text).map_err(bad_json)?;
        self.set_vercel_scalars(settings.clean_urls, settings.trailing_slash);
        self.spa = self.spa.or(settings.spa);
        self.json_rules(
            PIER_JSON,
            settings.redirects,
            settings.rewrites,
            settings.headers,
        );
        Ok(())
    }
}

//! `vercel.json`: the keys that configure static serving, as Vercel documents them:
//! `cleanUrls`, `trailingSlash`, `redirects` (`{source, destination, permanent?, statusCode?}`),
//! `rewrites` (`{source, destination}`) and `headers` (`{source, headers: [{key, value}]}`).
//! Every other key (`buildCommand`, `routes`, …) is ignored: they configure builds and
//! functions, not static serving. `permanent` defaults to true (308); false is 307;
//! `statusCode` wins over both. Rules with `has` or `missing` conditions are rejected, since
//! applying them unconditionally would be wrong. `pier.json` takes the same rule lists, read
//! here too.

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::checks::{
    checked_header, checked_redirect_destination, checked_redirect_status,
    checked_rewrite_destination, checked_source,
};
use super::{HeaderRule, Reader, Redirect, Rewrite, RuleLocation, SiteConfigError, VERCEL_JSON};

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct VercelJson {
    clean_urls: Option<bool>,
    trailing_slash: Option<bool>,
    redirects: Vec<JsonRedirect>,
    rewrites: Vec<JsonRewrite>,
    headers: Vec<JsonHeaderRule>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct JsonRedirect {
    source: String,
    destination: String,
    permanent: Option<bool>,
    status_code: Option<u16>,
    has: Option<IgnoredAny>,
    missing: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct JsonRewrite {
    source: String,
    destination: String,
    has: Option<IgnoredAny>,
    missing: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct JsonHeaderRule {
    source: String,
    headers: Vec<JsonHeader>,
    has: Option<IgnoredAny>,
    missing: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonHeader {
    key: String,
    value: String,
}

impl Reader {
    pub(super) fn vercel_json(&mut self, text: &str) -> Result<(), SiteConfigError> {
        let settings: VercelJson =
            serde_json::from_str(text).map_err(|source| SiteConfigError::BadJson {
                file: VERCEL_JSON,
                source,
            })?;
        self.clean_urls = self.clean_urls.or(settings.clean_urls);
        self.trailing_slash = self.trailing_slash.or(settings.trailing_slash);
        self.json_rules(
            VERCEL_JSON,
            settings.redirects,
            settings.rewrites,
            settings.headers,
        )
    }

    pub(super) fn json_rules(
        &mut self,
        file: &'static str,
        redirects: Vec<JsonRedirect>,
        rewrites: Vec<JsonRewrite>,
        headers: Vec<JsonHeaderRule>,
    ) -> Result<(), SiteConfigError> {
        // Applying a conditional rule unconditionally would be wrong, so conditions are errors.
        let no_conditions = |at, has: Option<IgnoredAny>, missing: Option<IgnoredAny>| {
            let condition = match (has, missing) {
                (Some(_), _) => "has",
                (None, Some(_)) => "missing",
                (None, None) => return Ok(()),
            };
            Err(SiteConfigError::UnsupportedCondition {
                file,
                at,
                condition: condition.to_string(),
            })
        };
        for (index, rule) in redirects.into_iter().enumerate() {
            let at = RuleLocation::Entry {
                list: "redirects",
                index,
            };
            no_conditions(at, rule.has, rule.missing)?;
            let status = match (rule.status_code, rule.permanent) {
                (Some(status), _) => status,
                (None, Some(false)) => 307,
                (None, _) => 308,
            };
            self.config.redirects.push(Redirect {
                source: checked_source(file, at, &rule.source)?,
                destination: checked_redirect_destination(file, at, &rule.destination)?,
                status: checked_redirect_status(file, at, status)?,
            });
        }
        for (index, rule) in rewrites.into_iter().enumerate() {
            let at = RuleLocation::Entry {
                list: "rewrites",
                index,
            };
            no_conditions(at, rule.has, rule.missing)?;
            self.config.rewrites.push(Rewrite {
                source: checked_source(file, at, &rule.source)?,
                destination: checked_rewrite_destination(file, at, &rule.destination)?,
            });
        }
        for (index, rule) in headers.into_iter().enumerate() {
            let at = RuleLocation::Entry {
                list: "headers",
                index,
            };
            no_conditions(at, rule.has, rule.missing)?;
            let source = checked_source(file, at, &rule.source)?;
            let headers = rule
                .headers
                .into_iter()
                .map(|header| checked_header(file, at, &header.key, &header.value))
                .collect::<Result<_, _>>()?;
            self.config.headers.push(HeaderRule { source, headers });
        }
        Ok(())
    }
}

//! Custom domains: `domains/<host>.json` attaches a host name to a project, so the proxy
//! serves the project's production deployment there. Host names are checked as DNS names
//! (RFC 1035 §2.3.4: labels of 1–63 octets, 253 in all) and stored lower-case.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::PierError;
use crate::project_name;
use crate::records::{read_json, write_json};
use crate::store::{PutOptions, Store, keys};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainRecord {
    pub domain: String,
    pub project: String,
    #[serde(with = "time::serde::rfc3339")]
    pub attached: OffsetDateTime,
}

/// Lower-cases a host name and checks it is a multi-label DNS name.
pub fn normalize(domain: &str) -> Result<String, PierError> {
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    let bad = |rule| PierError::BadDomain {
        domain: domain.clone(),
        rule,
    };
    if domain.len() > 253 {
        return Err(bad("it is longer than 253 characters"));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err(bad("it needs at least two labels, as in www.example.com"));
    }
    for label in labels {
        let valid = !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !valid {
            return Err(bad(
                "each label has 1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'",
            ));
        }
    }
    Ok(domain)
}

/// Attaches `domain` to `project` (replacing an earlier attachment).
pub async fn attach(
    store: &dyn Store,
    domain: &str,
    project: &str,
) -> Result<DomainRecord, PierError> {
    let domain = normalize(domain)?;
    project_name::validate(project)?;
    let record = DomainRecord {
        domain: domain.clone(),
        project: project.to_string(),
        attached: OffsetDateTime::now_utc(),
    };
    write_json(store, &keys::domain(&domain), &record, PutOptions::json()).await?;
    Ok(record)
}

pub async fn lookup(store: &dyn Store, domain: &str) -> Result<Option<DomainRecord>, PierError> {
    read_json(store, &keys::domain(domain)).await
}

pub async fn detach(store: &dyn Store, domain: &str) -> Result<(), PierError> {
    let domain = normalize(domain)?;
    store.delete(&[keys::domain(&domain)]).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn domains_are_checked_and_lower_cased() {
        assert_eq!(normalize("WWW.Example.COM.").unwrap(), "www.example.com");
        for bad in ["localhost", "a..b", "-a.com", "a_b.com", "ex ample.com"] {
            assert!(normalize(bad).is_err(), "{bad}");
        }
    }
}

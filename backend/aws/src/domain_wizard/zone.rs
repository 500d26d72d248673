//! Finds the Route53 hosted zone that holds a host name: the public zone whose name is the
//! longest suffix of the host on label boundaries (RFC 1034 §4.3.2: the closest enclosing
//! zone is authoritative). Private zones are left out: the public internet never sees them.

use aws_sdk_route53::Client;

use super::{DomainError, aws_failure};

/// A public hosted zone in this account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Zone {
    /// The bare id (`Z…`), without Route53's `/hostedzone/` prefix.
    pub id: String,
    /// The zone's name without the trailing dot, as in `example.com`.
    pub name: String,
}

/// Whether `host` is `zone` or lies under it, comparing whole labels (`myexample.com` is not
/// under `example.com`).
pub fn is_within(host: &str, zone: &str) -> bool {
    let (host, zone) = (host.trim_end_matches('.'), zone.trim_end_matches('.'));
    host.eq_ignore_ascii_case(zone)
        || (host.len() > zone.len()
            && host.as_bytes()[host.len() - zone.len() - 1] == b'.'
            && host[host.len() - zone.len()..].eq_ignore_ascii_case(zone))
}

/// The closest enclosing public zone among `zones` (name, id, private?).
pub fn closest<'a>(
    host: &str,
    zones: impl IntoIterator<Item = (&'a str, &'a str, bool)>,
) -> Option<Zone> {
    zones
        .into_iter()
        .filter(|(name, _, private)| !private && is_within(host, name))
        .max_by_key(|(name, _, _)| name.trim_end_matches('.').len())
        .map(|(name, id, _)| Zone {
            id: id.trim_start_matches("/hostedzone/").to_string(),
            name: name.trim_end_matches('.').to_ascii_lowercase(),
        })
}

/// Every hosted zone in the account, following pagination.
async fn all_zones(route53: &Client) -> Result<Vec<(String, String, bool)>, DomainError> {
    let mut zones = Vec::new();
    let mut marker = None;
    loop {
        let page = route53
            .list_hosted_zones()
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| aws_failure("Route53", "ListHostedZones", e))?;
        for zone in page.hosted_zones() {
            let private = zone.config().is_some_and(|config| config.private_zone());
            zones.push((zone.name().to_string(), zone.id().to_string(), private));
        }
        match page.next_marker() {
            Some(next) if page.is_truncated() => marker = Some(next.to_string()),
            _ => return Ok(zones),
        }
    }
}

/// The public zone that holds `host`, if this account has one.
pub async fn find(route53: &Client, host: &str) -> Result<Option<Zone>, DomainError> {
    let zones = all_zones(route53).await?;
    Ok(closest(
        host,
        zones
            .iter()
            .map(|(name, id, private)| (name.as_str(), id.as_str(), *private)),
    ))
}

/// The name servers Route53 gives the zone: what the parent zone must delegate to.
pub async fn name_servers(route53: &Client, zone: &Zone) -> Result<Vec<String>, DomainError> {
    let found = route53
        .get_hosted_zone()
        .id(&zone.id)
        .send()
        .await
        .map_err(|e| aws_failure("Route53", "GetHostedZone", e))?;
    Ok(found
        .delegation_set()
        .map(|set| {
            set.name_servers()
                .iter()
                .map(|ns| ns.trim_end_matches('.').to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_public_zone_suffix_wins_on_label_boundaries() {
        let zones = [
            ("example.com.", "/hostedzone/ZPARENT", false),
            ("www.example.com.", "/hostedzone/ZPRIVATE", true),
            ("shop.example.com.", "/hostedzone/ZSHOP", false),
            ("myexample.com.", "/hostedzone/ZOTHER", false),
        ];
        let found = |host| closest(host, zones).map(|zone| zone.id);
        assert_eq!(found("www.example.com").as_deref(), Some("ZPARENT"));
        assert_eq!(found("a.shop.example.com").as_deref(), Some("ZSHOP"));
        assert_eq!(found("example.com").as_deref(), Some("ZPARENT"));
        assert_eq!(found("www.myexample.com").as_deref(), Some("ZOTHER"));
        assert_eq!(found("example.org"), None);
        assert!(!is_within("badexample.com", "example.com"));
    }
}

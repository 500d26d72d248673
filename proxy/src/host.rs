//! The Host header → which site a request is for.
//!
//! Host syntax per RFC 9110 §7.2 and RFC 3986 §3.2.2: `name[:port]` or `[ipv6][:port]`. Names
//! are compared lower-case without a trailing dot. Under a base domain, exactly one more label
//! names a site (`blog.example.com`, `blog-1a2b3c4d.example.com`); the base domain itself and
//! IP literals are the proxy's own (health checks); any other valid name may be a custom
//! domain. Anything malformed is refused.

use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// One label under a base domain: a project's production, or a preview name.
    Label(String),
    /// Any other host name: a custom domain, if one is attached.
    Custom(String),
    /// A base domain itself, or an IP address: the proxy's own host.
    Own,
}

/// Parses a Host header value and routes it; `None` when it is not a valid host.
pub fn route(raw: &str, base_domains: &[String]) -> Option<Route> {
    let host = parse(raw)?;
    let Host::Name(name) = host else {
        return Some(Route::Own);
    };
    for base in base_domains {
        if name == *base {
            return Some(Route::Own);
        }
        if let Some(label) = name
            .strip_suffix(base.as_str())
            .and_then(|rest| rest.strip_suffix('.'))
        {
            return (!label.contains('.')).then(|| Route::Label(label.to_string()));
        }
    }
    Some(Route::Custom(name))
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Host {
    Name(String),
    Ip,
}

fn parse(raw: &str) -> Option<Host> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > 260 {
        return None;
    }
    if let Some(rest) = raw.strip_prefix('[') {
        let (address, after) = rest.split_once(']')?;
        address.parse::<std::net::Ipv6Addr>().ok()?;
        return (after.is_empty() || valid_port(after.strip_prefix(':')?)).then_some(Host::Ip);
    }
    let name = match raw.rsplit_once(':') {
        Some((name, port)) => {
            if !valid_port(port) {
                return None;
            }
            name
        }
        None => raw,
    };
    if name.parse::<IpAddr>().is_ok() {
        return Some(Host::Ip);
    }
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    valid.then_some(Host::Name(name))
}

fn valid_port(port: &str) -> bool {
    !port.is_empty() && port.len() <= 5 && port.parse::<u16>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bases() -> Vec<String> {
        vec!["localhost".into(), "sites.example.com".into()]
    }

    #[test]
    fn routes_labels_custom_domains_and_own_hosts() {
        let route = |raw| super::route(raw, &bases());
        assert_eq!(
            route("blog.localhost:4800"),
            Some(Route::Label("blog".into()))
        );
        assert_eq!(
            route("Blog-1a2b3c4d.Sites.Example.com."),
            Some(Route::Label("blog-1a2b3c4d".into()))
        );
        assert_eq!(
            route("www.shop.com"),
            Some(Route::Custom("www.shop.com".into()))
        );
        assert_eq!(route("localhost:4800"), Some(Route::Own));
        assert_eq!(route("sites.example.com"), Some(Route::Own));
        assert_eq!(route("10.0.0.7:80"), Some(Route::Own));
        assert_eq!(route("[::1]:4800"), Some(Route::Own));
        assert_eq!(
            route("a.b.sites.example.com"),
            None,
            "only one label names a site"
        );
        for bad in [
            "",
            "exa mple.com",
            "a..b",
            "host:99999",
            "host:",
            "[::1",
            "[nope]",
            "a/b",
        ] {
            assert_eq!(route(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_lookalike_suffix_is_not_the_base_domain() {
        assert_eq!(
            route("evilsites.example.com", &bases()),
            Some(Route::Custom("evilsites.example.com".into()))
        );
    }

    proptest! {
        #[test]
        fn labels_are_single_dns_labels(raw in "\\PC{0,80}") {
            if let Some(Route::Label(label)) = route(&raw, &bases()) {
                prop_assert!(!label.is_empty() && !label.contains('.') && !label.contains(':'));
                prop_assert!(label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'));
            }
        }
    }
}

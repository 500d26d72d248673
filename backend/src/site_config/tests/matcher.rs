//! The segment matcher and substitution: encoding of captured text, trailing slashes and the
//! root, and properties over generated rules and paths (serving never panics, Locations stay
//! header-safe, a source matches the paths it describes).

use proptest::prelude::*;

use super::{read_site, redirect};
use crate::site_config::checks::REDIRECT_STATUSES;
use crate::site_config::matcher::source_problem;
use crate::site_config::{HeaderRule, Reader, Redirect, Rewrite, SiteConfig};

#[test]
fn captured_text_is_encoded_in_locations_and_raw_in_rewrites() {
    let config = read_site(&[(
        "_redirects",
        "/r/:slug /new/:slug 301\n/w/* /pages/:splat.html 200\n/p/* /caf%C3%A9/:splat?x=1 200\n",
    )])
    .unwrap();
    assert_eq!(
        config.redirect_for("/r/a b?c"),
        redirect("/new/a%20b%3Fc", 301)
    );
    assert_eq!(
        config.redirect_for("/r/x\r\nSet-Cookie: a=b"),
        redirect("/new/x%0D%0ASet-Cookie:%20a=b", 301)
    );
    assert_eq!(config.redirect_for("/r/é"), redirect("/new/%C3%A9", 301));
    assert_eq!(
        config.rewrite_for("/w/a b").as_deref(),
        Some("/pages/a b.html")
    );
    assert_eq!(config.rewrite_for("/p/x").as_deref(), Some("/café/x"));
}

#[test]
fn trailing_slashes_and_the_root_match_as_documented() {
    let config = read_site(&[("_redirects", "/ /home 302\n/about/ /team 302\n")]).unwrap();
    assert_eq!(config.redirect_for("/"), redirect("/home", 302));
    assert_eq!(config.redirect_for("/x"), None);
    assert_eq!(config.redirect_for("/about"), redirect("/team", 302));
    assert_eq!(config.redirect_for("/about/"), redirect("/team", 302));
    assert_eq!(config.redirect_for("/about//"), None);
    assert_eq!(config.redirect_for("about"), None, "paths start with `/`");
    assert_eq!(config.redirect_for(""), None);
}

fn literal_segment() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9._~-]{1,6}"
}

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,4}"
}

/// Valid sources: literal and `:name` segments, an optional rest token, an optional
/// trailing slash.
fn valid_source() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        literal_segment(),
        name().prop_map(|name| format!(":{name}"))
    ];
    let rest = prop_oneof![
        Just(None),
        Just(Some("*".to_string())),
        Just(Some("(.*)".to_string())),
        name().prop_map(|name| Some(format!(":{name}*"))),
        name().prop_map(|name| Some(format!(":{name}+"))),
        name().prop_map(|name| Some(format!(":{name}(.*)"))),
    ];
    (prop::collection::vec(segment, 0..4), rest, any::<bool>()).prop_map(
        |(mut segments, rest, trailing_slash)| {
            segments.extend(rest);
            let mut source = format!("/{}", segments.join("/"));
            if trailing_slash && source.len() > 1 {
                source.push('/');
            }
            source
        },
    )
}

fn destination() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        literal_segment(),
        name().prop_map(|name| format!(":{name}")),
        name().prop_map(|name| format!(":{name}*")),
        Just(":splat".to_string()),
        Just("$1".to_string()),
        Just("?q=".to_string()),
        "\\PC{0,3}",
    ];
    let start = prop_oneof![
        Just("/"),
        Just("https://example.com/"),
        Just("https://example.com:8080/")
    ];
    (start, prop::collection::vec(piece, 0..5))
        .prop_map(|(start, pieces)| format!("{start}{}", pieces.join("/")))
}

fn valid_config() -> impl Strategy<Value = SiteConfig> {
    let redirect = (
        valid_source(),
        destination(),
        prop::sample::select(&REDIRECT_STATUSES[..]),
    )
        .prop_map(|(source, destination, status)| Redirect {
            source,
            destination,
            status,
        });
    let rewrite = (valid_source(), destination()).prop_map(|(source, destination)| Rewrite {
        source,
        destination: format!("/{}", destination.trim_start_matches("https://example.com")),
    });
    let header_rule = (
        valid_source(),
        prop::collection::vec(("[A-Za-z-]{1,8}", "[ -~]{0,12}"), 0..3),
    )
        .prop_map(|(source, headers)| HeaderRule { source, headers });
    (
        prop::collection::vec(redirect, 0..5),
        prop::collection::vec(rewrite, 0..5),
        prop::collection::vec(header_rule, 0..5),
    )
        .prop_map(|(redirects, rewrites, headers)| SiteConfig {
            redirects,
            rewrites,
            headers,
            ..SiteConfig::default()
        })
}

fn request_path() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,30}",
        "(/[a-z0-9._~-]{0,6}){0,5}/?",
        "/[a-zA-Z0-9 %?#:*()$/\r\n\u{e9}\u{1F600}-]{0,30}",
    ]
}

proptest! {
    #[test]
    fn serving_never_panics_and_locations_stay_header_safe(
        config in valid_config(),
        path in request_path(),
    ) {
        for rule in &config.redirects {
            prop_assert_eq!(source_problem(&rule.source), None, "{}", rule.source);
        }
        if let Some((location, status)) = config.redirect_for(&path) {
            prop_assert!(REDIRECT_STATUSES.contains(&status));
            prop_assert!(location.bytes().all(|byte| byte.is_ascii_graphic()), "{location:?}");
        }
        if let Some(rewritten) = config.rewrite_for(&path) {
            prop_assert!(rewritten.starts_with('/'), "{rewritten:?}");
        }
        let headers = config.headers_for(&path);
        let total: usize = config.headers.iter().map(|rule| rule.headers.len()).sum();
        prop_assert!(headers.len() <= total);
    }

    #[test]
    fn a_source_matches_the_paths_it_describes(
        fixed in prop::collection::vec((literal_segment(), any::<bool>()), 0..4),
        rest in prop::collection::vec(literal_segment(), 0..3),
        trailing_slash in any::<bool>(),
    ) {
        // `/lit/:p1/*` -> `/to/:p1/:splat`, against a path that fills every segment in.
        let mut source = String::new();
        let mut destination = String::from("/to");
        let mut expected = String::from("/to");
        for (index, (text, is_placeholder)) in fixed.iter().enumerate() {
            if *is_placeholder {
                source.push_str(&format!("/:p{index}"));
                destination.push_str(&format!("/:p{index}"));
                expected.push_str(&format!("/{text}"));
            } else {
                source.push_str(&format!("/{text}"));
            }
        }
        source.push_str("/*");
        destination.push_str("/:splat");
        let mut splat = rest.join("/");
        let mut path: String = fixed
            .iter()
            .map(|(text, _)| text)
            .chain(&rest)
            .map(|text| format!("/{text}"))
            .collect();
        if path.is_empty() || trailing_slash {
            path.push('/');
            if !rest.is_empty() {
                splat.push('/');
            }
        }
        expected.push_str(&format!("/{splat}"));

        let mut reader = Reader::default();
        reader.netlify_redirects(&format!("{source} {destination} 302\n")).unwrap();
        let config = reader.finish();
        prop_assert_eq!(config.redirect_for(&path), Some((expected, 302)), "{} {}", source, path);
    }
}

//! Source and destination patterns: Netlify's paths (`:name`, `*`, trailing slashes, the root,
//! case-sensitive), Vercel's path-to-regexp sources (groups, modifiers, `{…}`, escapes,
//! case-insensitive), captured text encoded in Locations and raw in rewrites, and properties
//! over generated rules and paths (serving never panics, answers stay header-safe, a source
//! matches the paths it describes), with a fixed seed.

use proptest::prelude::*;
use proptest::test_runner::RngSeed;

use super::*;
use crate::site_config::checks::REDIRECT_STATUSES;

/// How the deployment answers a decoded path taken as it is (`?` included).
fn answer_path(config: &SiteConfig, files: &[&str], path: &str) -> Outcome<String> {
    ask(
        config,
        files,
        &Request {
            path,
            ..Request::default()
        },
    )
}

#[test]
fn captured_text_is_encoded_in_locations_and_raw_in_rewrites() {
    let config = read_site(&[(
        "_redirects",
        "/r/:slug /new/:slug 301\n/w/* /pages/:splat.html 200\n/p/* /caf%C3%A9/:splat?x=1 200\n",
    )])
    .unwrap();
    let location = |path| as_redirect(answer_path(&config, &[], path));
    assert_eq!(location("/r/a b?c"), redirect("/new/a%20b%3Fc", 301));
    assert_eq!(
        location("/r/x\r\nSet-Cookie: a=b"),
        redirect("/new/x%0D%0ASet-Cookie:%20a=b", 301)
    );
    assert_eq!(location("/r/é"), redirect("/new/%C3%A9", 301));
    assert_eq!(
        served(answer(&config, &["pages/a b.html"], "/w/a b")),
        file("pages/a b.html", 200)
    );
    assert_eq!(
        served(answer(&config, &["café/x"], "/p/x")),
        file("café/x", 200)
    );
}

#[test]
fn trailing_slashes_and_the_root_match_as_documented() {
    let config = read_site(&[("_redirects", "/ /home 302\n/about/ /team 302\n")]).unwrap();
    assert_eq!(redirect_for(&config, "/"), redirect("/home", 302));
    assert_eq!(redirect_for(&config, "/x"), None);
    assert_eq!(redirect_for(&config, "/about"), redirect("/team", 302));
    assert_eq!(redirect_for(&config, "/about/"), redirect("/team", 302));
    assert_eq!(redirect_for(&config, "/about//"), None);
    assert_eq!(redirect_for(&config, "about"), None, "paths start with `/`");
    assert_eq!(redirect_for(&config, ""), None);
}

#[test]
fn netlify_paths_are_case_sensitive_and_take_a_splat_anywhere() {
    let config = read_site(&[(
        "_redirects",
        "/Docs/:page /guide/:page 301\n/a/*/c /x/:splat 302\n/files/:name.pdf /pdf/:name 302\n",
    )])
    .unwrap();
    assert_eq!(
        redirect_for(&config, "/Docs/intro"),
        redirect("/guide/intro", 301)
    );
    assert_eq!(
        redirect_for(&config, "/Docs/intro/"),
        redirect("/guide/intro", 301)
    );
    assert_eq!(redirect_for(&config, "/docs/intro"), None);
    assert_eq!(redirect_for(&config, "/DOCS/intro"), None);
    assert_eq!(
        redirect_for(&config, "/Docs/a/b"),
        None,
        "`:name` is one segment"
    );
    assert_eq!(redirect_for(&config, "/a/b/c"), redirect("/x/b", 302));
    assert_eq!(redirect_for(&config, "/a/b/b2/c"), redirect("/x/b/b2", 302));
    assert_eq!(
        redirect_for(&config, "/files/report.pdf"),
        redirect("/pdf/report", 302)
    );
}

#[test]
fn vercel_sources_are_path_to_regexp_patterns() {
    let config = read_site(&[(
        "vercel.json",
        r#"{ "redirects": [
            { "source": "/post/:slug.html", "destination": "/posts/:slug" },
            { "source": "/items/:id?", "destination": "/list/:id" },
            { "source": "/v{-:version}?/docs", "destination": "/docs/:version" },
            { "source": "/num/:id(\\d+)", "destination": "/n/:id" },
            { "source": "/lit\\(x\\)", "destination": "/escaped" },
            { "source": "/files/(.*)\\.pdf", "destination": "/pdf/$1" },
            { "source": "/many/:seg+", "destination": "/m/:seg+" }
        ] }"#,
    )])
    .unwrap();
    assert_eq!(
        redirect_for(&config, "/post/hello.html"),
        redirect("/posts/hello", 308)
    );
    assert_eq!(
        redirect_for(&config, "/POST/Hello.HTML"),
        redirect("/posts/Hello", 308),
        "Vercel matches case-insensitively"
    );
    assert_eq!(redirect_for(&config, "/items"), redirect("/list/", 308));
    assert_eq!(redirect_for(&config, "/items/3"), redirect("/list/3", 308));
    assert_eq!(redirect_for(&config, "/items/3/4"), None);
    assert_eq!(redirect_for(&config, "/v-2/docs"), redirect("/docs/2", 308));
    assert_eq!(redirect_for(&config, "/v/docs"), redirect("/docs/", 308));
    assert_eq!(redirect_for(&config, "/num/42"), redirect("/n/42", 308));
    assert_eq!(redirect_for(&config, "/num/4x"), None);
    assert_eq!(redirect_for(&config, "/lit(x)"), redirect("/escaped", 308));
    assert_eq!(redirect_for(&config, "/litx"), None);
    assert_eq!(
        redirect_for(&config, "/files/a/b.pdf"),
        redirect("/pdf/a/b", 308)
    );
    assert_eq!(redirect_for(&config, "/many/a/b"), redirect("/m/a/b", 308));
    assert_eq!(redirect_for(&config, "/many"), None);
}

#[test]
fn captured_text_in_a_query_stays_data() {
    let config = read_site(&[(
        "vercel.json",
        r#"{ "redirects": [{ "source": "/s/:q", "destination": "/search?q=:q&page=1" }] }"#,
    )])
    .unwrap();
    assert_eq!(
        redirect_for(&config, "/s/a&page=9"),
        redirect("/search?q=a%26page%3D9&page=1", 308)
    );
    assert_eq!(
        redirect_for(&config, "/s/1+1"),
        redirect("/search?q=1%2B1&page=1", 308)
    );
}

fn literal_segment() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9._~-]{1,6}"
}

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,4}"
}

/// Literal and `:name` segments, then maybe one of `rests`, then maybe a trailing slash.
fn source(rests: Vec<String>) -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        literal_segment(),
        name().prop_map(|name| format!(":{name}"))
    ];
    let rest = prop::option::of(
        (prop::sample::select(rests), name()).prop_map(|(rest, name)| rest.replace("NAME", &name)),
    );
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

fn vercel_source() -> impl Strategy<Value = String> {
    source(
        ["(.*)", ":NAME*", ":NAME+", ":NAME(.*)", ":NAME?"]
            .map(String::from)
            .to_vec(),
    )
}

fn netlify_source() -> impl Strategy<Value = String> {
    source(["*", ":NAME", "NAME-*"].map(String::from).to_vec())
}

/// Destination text after its start: literal text, parameters, `$1`, a query, anything
/// printable but `%` (escapes must decode to UTF-8), whitespace and `#`.
fn destination_tail() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        literal_segment(),
        name().prop_map(|name| format!(":{name}")),
        name().prop_map(|name| format!(":{name}*")),
        Just(":splat".to_string()),
        Just("$1".to_string()),
        Just("?q=".to_string()),
        "[^%#\\s\\p{C}]{0,3}",
    ];
    prop::collection::vec(piece, 0..5).prop_map(|pieces| pieces.join("/"))
}

fn redirect_destination() -> impl Strategy<Value = String> {
    let start = prop_oneof![
        Just("/"),
        Just("https://example.com/"),
        Just("https://example.com:8080/")
    ];
    (start, destination_tail()).prop_map(|(start, tail)| format!("{start}{tail}"))
}

fn header() -> impl Strategy<Value = (String, String)> {
    ("X-[A-Za-z-]{1,8}", "[!-~]([ -~]{0,10}[!-~])?")
}

/// A vercel.json with redirects, rewrites and headers, as text.
fn vercel_json() -> impl Strategy<Value = String> {
    let redirect = (
        vercel_source(),
        redirect_destination(),
        prop::sample::select(&REDIRECT_STATUSES[..]),
    )
        .prop_map(|(source, destination, status)| {
            serde_json::json!({ "source": source, "destination": destination, "statusCode": status })
        });
    let rewrite = (vercel_source(), destination_tail()).prop_map(|(source, tail)| {
        serde_json::json!({ "source": source, "destination": format!("/r/{tail}") })
    });
    let header_rule =
        (vercel_source(), prop::collection::vec(header(), 0..3)).prop_map(|(source, headers)| {
            let headers: Vec<_> = headers
                .into_iter()
                .map(|(key, value)| serde_json::json!({ "key": key, "value": value }))
                .collect();
            serde_json::json!({ "source": source, "headers": headers })
        });
    (
        prop::collection::vec(redirect, 0..5),
        prop::collection::vec(rewrite, 0..5),
        prop::collection::vec(header_rule, 0..5),
        prop::option::of(any::<bool>()),
        prop::option::of(any::<bool>()),
    )
        .prop_map(
            |(redirects, rewrites, headers, clean_urls, trailing_slash)| {
                serde_json::json!({
                    "redirects": redirects, "rewrites": rewrites, "headers": headers,
                    "cleanUrls": clean_urls, "trailingSlash": trailing_slash,
                })
                .to_string()
            },
        )
}

/// A `_redirects` and a `_headers` file, as text.
fn netlify_files() -> impl Strategy<Value = (String, String)> {
    let status = prop::sample::select(vec![
        "301", "302", "307", "308", "200", "404", "200!", "301!",
    ]);
    let rule = (
        netlify_source(),
        redirect_destination(),
        destination_tail(),
        status,
    )
        .prop_map(|(source, redirect_to, rewrite_tail, status)| {
            let to = if status.starts_with('3') {
                redirect_to
            } else {
                format!("/r/{rewrite_tail}")
            };
            format!("{source} {to} {status}\n")
        });
    let block =
        (netlify_source(), prop::collection::vec(header(), 0..3)).prop_map(|(source, headers)| {
            let lines: String = headers
                .iter()
                .map(|(name, value)| format!("  {name}: {value}\n"))
                .collect();
            format!("{source}\n{lines}")
        });
    (
        prop::collection::vec(rule, 0..6),
        prop::collection::vec(block, 0..4),
    )
        .prop_map(|(rules, blocks)| (rules.concat(), blocks.concat()))
}

fn request_path() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,30}",
        "(/[a-z0-9._~-]{0,6}){0,5}/?",
        "/[a-zA-Z0-9 %?#:*()$/\r\n\u{e9}\u{1F600}-]{0,30}",
    ]
}

/// The answer's status and headers are fit to send: a redirect status and a Location of
/// visible ASCII, header values without line breaks.
fn check_answer(outcome: &Outcome<String>) -> Result<(), TestCaseError> {
    let headers = match outcome {
        Outcome::Redirect {
            location,
            status,
            headers,
        } => {
            prop_assert!(REDIRECT_STATUSES.contains(status), "{status}");
            prop_assert!(
                location.bytes().all(|byte| byte.is_ascii_graphic()),
                "{location:?}"
            );
            headers
        }
        Outcome::File { headers, .. } | Outcome::Error { headers, .. } => headers,
    };
    for (name, value) in headers {
        prop_assert!(
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic()),
            "{name:?}"
        );
        prop_assert!(
            value
                .bytes()
                .all(|b| b == b'\t' || (b' '..=b'~').contains(&b)),
            "{name}: {value:?}"
        );
    }
    Ok(())
}

fn read_text(read_files: impl FnOnce(&mut Reader) -> Result<(), SiteConfigError>) -> SiteConfig {
    let mut reader = Reader::default();
    read_files(&mut reader).unwrap();
    reader.finish().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 128,
        rng_seed: RngSeed::Fixed(0x5eed_5173),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn vercel_rules_read_and_serve_without_panicking_and_stay_header_safe(
        text in vercel_json(),
        paths in prop::collection::vec(request_path(), 1..6),
    ) {
        let mut reader = Reader::default();
        let read = reader.vercel_json(&text).and_then(|()| reader.finish());
        prop_assert!(read.is_ok(), "{text}: {:?}", read.err());
        let config = read.unwrap();
        for path in &paths {
            check_answer(&answer_path(&config, &[], path))?;
            check_answer(&answer_path(&config, &["index.html", "a.html"], path))?;
        }
    }

    #[test]
    fn netlify_rules_read_and_serve_without_panicking_and_stay_header_safe(
        (redirects, headers) in netlify_files(),
        paths in prop::collection::vec(request_path(), 1..6),
    ) {
        let mut reader = Reader::default();
        let read = reader
            .netlify_redirects(&redirects)
            .and_then(|()| reader.netlify_headers(&headers))
            .and_then(|()| reader.finish());
        prop_assert!(read.is_ok(), "{redirects}{headers}: {:?}", read.err());
        let config = read.unwrap();
        for path in &paths {
            check_answer(&answer_path(&config, &[], path))?;
            check_answer(&answer_path(&config, &["index.html", "404.html"], path))?;
        }
    }

    #[test]
    fn a_netlify_source_matches_the_paths_it_describes(
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

        let config = read_text(|reader| {
            reader.netlify_redirects(&format!("{source} {destination} 302\n"))
        });
        prop_assert_eq!(redirect_for(&config, &path), Some((expected, 302)), "{} {}", source, path);
    }

    #[test]
    fn a_vercel_source_matches_the_paths_it_describes(
        fixed in prop::collection::vec((literal_segment(), any::<bool>()), 0..4),
        rest in prop::collection::vec(literal_segment(), 0..3),
    ) {
        // `/lit/:p1/:rest*` -> `/to/:p1/:rest*`, against a path that fills every segment in.
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
        source.push_str("/:rest*");
        destination.push_str("/:rest*");
        expected.push_str(&format!("/{}", rest.join("/")));
        let mut path: String = fixed
            .iter()
            .map(|(text, _)| text)
            .chain(&rest)
            .map(|text| format!("/{text}"))
            .collect();
        let root = path.is_empty();
        if root {
            path.push('/');
        }

        let text = serde_json::json!({
            "redirects": [{ "source": source, "destination": destination, "permanent": false }]
        })
        .to_string();
        let config = read_text(|reader| reader.vercel_json(&text));
        // path-to-regexp's `strict`: `/:rest*` matches `` and `/a`, not `/`.
        let expected = (!root).then_some((expected, 307));
        prop_assert_eq!(redirect_for(&config, &path), expected, "{} {}", source, path);
    }
}

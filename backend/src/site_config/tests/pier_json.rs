//! pier.json: its strict keys, `spa`, the filesystem it keeps, and the errors for JSON rules
//! (malformed JSON, unknown settings, bad sources, statuses and destinations), each naming the
//! file and the rule; the Vercel patterns it now takes.

use super::*;

#[test]
fn an_unknown_pier_json_key_is_named() {
    let error = read_site(&[("pier.json", r#"{ "cleanUrl": true }"#)]).unwrap_err();
    assert!(
        matches!(&error, SiteConfigError::UnknownSetting { key, .. } if key == "cleanUrl"),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("pier.json") && message.contains("cleanUrl"),
        "{message}"
    );
    assert!(error.hint().contains("cleanUrls"));
    // vercel.json holds much that is not about serving, so the same typo passes there.
    read_site(&[("vercel.json", r#"{ "cleanUrl": true }"#)]).unwrap();
}

#[test]
fn malformed_json_names_the_file_and_the_place() {
    for (file, text) in [
        (
            "vercel.json",
            "{ \"redirects\": [\n  { \"source\": \"/a\" \n",
        ),
        ("pier.json", "{ \"spa\": \"yes\" }"),
        ("pier.json", "[]"),
        (
            "vercel.json",
            r#"{ "redirects": [{ "source": "/a", "destinaton": "/b" }] }"#,
        ),
        (
            "pier.json",
            r#"{ "redirects": [{ "source": "/a", "destination": "/b", "has": [{ "type": "country", "value": "nz" }] }] }"#,
        ),
    ] {
        let error = read_site(&[(file, text)]).unwrap_err();
        assert!(
            matches!(error, SiteConfigError::BadJson { .. }),
            "{error:?}"
        );
        assert_error(&error, file, "line", "");
    }
}

#[test]
fn bad_json_rules_are_named() {
    let cases = [
        (
            r#"{ "redirects": [{ "source": "/x", "destination": "/y" }, { "source": "/a/:", "destination": "/b" }] }"#,
            "redirects[1]",
            "no parameter name",
        ),
        (
            r#"{ "rewrites": [{ "source": "/a?", "destination": "/a.html" }] }"#,
            "rewrites[0]",
            "follows no parameter",
        ),
        (
            r#"{ "headers": [{ "source": "/a{", "headers": [] }] }"#,
            "headers[0]",
            "without its `}`",
        ),
        (
            r#"{ "redirects": [{ "source": "/a", "destination": "/b", "statusCode": 200 }] }"#,
            "redirects[0]",
            "status 200",
        ),
        (
            r#"{ "redirects": [{ "source": "/a", "destination": "b" }] }"#,
            "redirects[0]",
            "must start with `/`",
        ),
        (
            r#"{ "rewrites": [{ "source": "/a", "destination": "b.html" }] }"#,
            "rewrites[0]",
            "must start with `/`",
        ),
        (
            r#"{ "redirects": [{ "source": "https://example.com/a", "destination": "/b" }] }"#,
            "redirects[0]",
            "full URL",
        ),
    ];
    for (text, place, detail) in cases {
        let error = read_site(&[("pier.json", text)]).unwrap_err();
        assert_error(&error, "pier.json", place, detail);
    }
}

#[test]
fn vercel_patterns_once_refused_are_taken() {
    // Regex groups, optional parameters, empty segments and `has` conditions were errors
    // before the route engine; they follow Vercel's routing-utils now.
    let config = read_site(&[(
        "pier.json",
        r#"{
            "redirects": [
                { "source": "/blog/:id(\\d+)", "destination": "/posts/:id" },
                { "source": "/(about|team)", "destination": "/people" },
                { "source": "/a", "destination": "/b", "has": [{ "type": "query", "key": "x" }] }
            ],
            "rewrites": [{ "source": "/:lang?/about", "destination": "/about-:lang.html" }],
            "headers": [{ "source": "/a//b", "headers": [{ "key": "X-A", "value": "1" }] }]
        }"#,
    )])
    .unwrap();
    assert_eq!(
        redirect_for(&config, "/blog/42"),
        redirect("/posts/42", 308)
    );
    assert_eq!(redirect_for(&config, "/blog/hello"), None);
    assert_eq!(redirect_for(&config, "/team"), redirect("/people", 308));
    assert_eq!(redirect_for(&config, "/a?x=1"), redirect("/b?x=1", 308));
    assert_eq!(redirect_for(&config, "/a"), None);
    assert_eq!(
        served(answer(&config, &["about-fr.html"], "/fr/about")),
        file("about-fr.html", 200)
    );
    assert_eq!(headers_at(&config, "a//b", "/a//b"), pairs(&[("X-A", "1")]));
}

#[test]
fn a_source_need_not_start_with_a_slash() {
    // Vercel's path-to-regexp takes any source; one that cannot match a path is harmless.
    let config = read_site(&[(
        "pier.json",
        r#"{ "headers": [{ "source": "(.*)\\.woff2", "headers": [{ "key": "X-Font", "value": "1" }] },
                        { "source": "a", "headers": [{ "key": "X-Never", "value": "1" }] }] }"#,
    )])
    .unwrap();
    assert_eq!(
        headers_at(&config, "fonts/a.woff2", "/fonts/a.woff2"),
        pairs(&[("X-Font", "1")])
    );
    assert_eq!(headers_at(&config, "a", "/a"), pairs(&[]));
}

#[test]
fn spa_serves_index_for_paths_without_an_extension_that_are_not_files() {
    let config = read_site(&[("pier.json", r#"{ "spa": true }"#)]).unwrap();
    let files = ["index.html", "about.html", "app.js"];
    for path in ["/dashboard", "/deep/link", "/deep/link/", "/.hidden"] {
        assert_eq!(
            served(answer(&config, &files, path)),
            file("index.html", 200),
            "{path}"
        );
    }
    assert_eq!(
        served(answer(&config, &files, "/about")),
        file("about.html", 200)
    );
    assert_eq!(
        served(answer(&config, &files, "/app.js")),
        file("app.js", 200)
    );
    assert_eq!(served(answer(&config, &files, "/missing.js")), None);
    // Without index.html there is nothing to fall back to.
    assert_eq!(served(answer(&config, &["about.html"], "/dashboard")), None);
}

#[test]
fn pier_json_keeps_piers_filesystem() {
    // Only vercel.json switches to Vercel's filesystem (no `.html` guess, folders without a
    // slash); pier.json keeps Pier's.
    let config = read_site(&[("pier.json", r#"{ "redirects": [] }"#)]).unwrap();
    assert_eq!(
        served(answer(&config, &["about.html"], "/about")),
        file("about.html", 200)
    );
    assert_eq!(
        as_redirect(answer(&config, &["dir/index.html"], "/dir")),
        redirect("/dir/", 308)
    );
}

#[test]
fn pier_json_takes_vercels_settings() {
    let config = read_site(&[(
        "pier.json",
        r#"{ "cleanUrls": true, "trailingSlash": false,
             "redirects": [{ "source": "/old", "destination": "/new", "permanent": false }],
             "rewrites": [{ "source": "/app/(.*)", "destination": "/app.html" }],
             "headers": [{ "source": "/(.*)", "headers": [{ "key": "X-A", "value": "1" }] }] }"#,
    )])
    .unwrap();
    assert_eq!(redirect_for(&config, "/a.html"), redirect("/a", 308));
    assert_eq!(redirect_for(&config, "/a/"), redirect("/a", 308));
    assert_eq!(redirect_for(&config, "/old"), redirect("/new", 307));
    assert_eq!(
        served(answer(&config, &["app.html"], "/app/x")),
        file("app.html", 200)
    );
    assert_eq!(headers_at(&config, "a.html", "/a"), pairs(&[("X-A", "1")]));
}

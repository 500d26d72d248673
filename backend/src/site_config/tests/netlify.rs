//! `_redirects` and `_headers` as Netlify documents them: statuses, splats, placeholders,
//! comments, header blocks, and errors that name the line.

use super::{pairs, read_site, redirect};

#[test]
fn the_netlify_spa_rule_rewrites_every_path_to_index() {
    let config = read_site(&[(
        "_redirects",
        "# single-page app\n\n/*    /index.html   200\n",
    )])
    .unwrap();
    assert_eq!(config.read_from, ["_redirects"]);
    assert!(config.redirects.is_empty());
    for path in ["/", "/about", "/deep/link/", "/with space/ü"] {
        assert_eq!(config.rewrite_for(path).as_deref(), Some("/index.html"));
    }
    assert_eq!(config.redirect_for("/about"), None);
    assert!(!config.spa, "the rule is a rewrite, not the spa flag");
}

#[test]
fn netlify_redirects_take_statuses_splats_and_placeholders() {
    let config = read_site(&[(
        "_redirects",
        "\u{feff}/home              /\n\
         /news/*            /blog/:splat          302\n\
         /blog/:year/:month /archive/:year-:month.html 301!\n\
         /docs/*            /guide/:splat         200\n\
         /en/*              /en/404.html          404\n\
         /authors/c%C3%A9line /authors/about-c%C3%A9line 308\n\
         /go                https://example.com:8443/start?from=pier 307\n",
    )])
    .unwrap();
    assert_eq!(config.redirect_for("/home"), redirect("/", 301));
    assert_eq!(config.redirect_for("/home/"), redirect("/", 301));
    assert_eq!(config.redirect_for("/news/a/b"), redirect("/blog/a/b", 302));
    assert_eq!(config.redirect_for("/news"), redirect("/blog/", 302));
    assert_eq!(
        config.redirect_for("/blog/2024/05"),
        redirect("/archive/2024-05.html", 301)
    );
    assert_eq!(config.redirect_for("/blog/2024"), None);
    assert_eq!(config.redirect_for("/blog/2024/05/extra"), None);
    assert_eq!(
        config.redirect_for("/authors/céline"),
        redirect("/authors/about-c%C3%A9line", 308)
    );
    assert_eq!(
        config.redirect_for("/go"),
        redirect("https://example.com:8443/start?from=pier", 307)
    );
    assert_eq!(
        config.rewrite_for("/docs/a.html").as_deref(),
        Some("/guide/a.html")
    );
    assert_eq!(
        config.rewrite_for("/en/missing"),
        None,
        "404 rules are skipped"
    );
    assert_eq!(config.redirect_for("/en/missing"), None);
    assert_eq!(
        config.redirect_for("/HOME"),
        None,
        "matching is case-sensitive"
    );
}

#[test]
fn netlify_headers_apply_by_path_in_rule_order() {
    let config = read_site(&[(
        "_headers",
        "# every page\n\
         /*\n\
         \x20 X-Frame-Options: DENY\n\
         \x20 Cache-Control: no-cache\n\
         \n\
         /assets/*\n\
         \t# fingerprinted files never change\n\
         \tCache-Control: public, max-age=31536000, immutable\n\
         \x20 Link: </a.css>; rel=preload\n\
         \x20 link: </b.js>; rel=preload\n\
         /empty\n",
    )])
    .unwrap();
    assert_eq!(
        config.headers.len(),
        2,
        "a path with no headers adds no rule"
    );
    assert_eq!(
        config.headers_for("/assets/app.js"),
        pairs(&[
            ("X-Frame-Options", "DENY"),
            ("Cache-Control", "public, max-age=31536000, immutable"),
            ("Link", "</a.css>; rel=preload, </b.js>; rel=preload"),
        ])
    );
    assert_eq!(
        config.headers_for("/index.html"),
        pairs(&[("X-Frame-Options", "DENY"), ("Cache-Control", "no-cache")])
    );
    assert_eq!(
        config.headers_for("/assets").len(),
        3,
        "`/assets/*` covers `/assets`"
    );
}

#[test]
fn a_bad_redirects_line_is_named_by_number() {
    let cases = [
        (
            "/ok /fine\n# note\n/only-a-source\n",
            "line 3",
            "no destination",
        ),
        ("/a /b 301 extra\n", "line 1", "extra"),
        ("\n/a /b moved\n", "line 2", "`moved`"),
        ("/a /b 418\n", "line 1", "418"),
        ("/store id=:id /blog/:id 301\n", "line 1", "id=:id"),
        ("/ /anz 302 Country=au,nz\n", "line 1", "Country=au,nz"),
        ("/admin/* 200! Role=admin\n", "line 1", "Role=admin"),
        (
            "https://old.example.com/* /:splat 301\n",
            "line 1",
            "other domains",
        ),
        ("/a relative 301\n", "line 1", "must start with"),
        ("/blog/:slug.html /b 301\n", "line 1", "does not support"),
    ];
    for (text, line, detail) in cases {
        let error = read_site(&[("_redirects", text)]).unwrap_err();
        let message = error.to_string();
        assert!(message.starts_with("`_redirects` "), "{message}");
        assert!(
            message.contains(line) && message.contains(detail),
            "{message}"
        );
        assert!(!error.hint().is_empty());
    }
}

#[test]
fn a_bad_headers_file_is_named_by_line() {
    let cases = [
        ("  X-A: 1\n", "line 1", "before any path"),
        ("/*\n  X-A 1\n", "line 2", "no `:`"),
        ("/*\n  Basic-Auth: me:secret\n", "line 2", "password"),
        ("/*\n  Content-Length: 5\n", "line 2", "set by the server"),
        ("/*\n  Bad Name: 5\n", "line 2", "not a valid header name"),
        ("/*\n  X-Name: café\n", "line 2", "printable ASCII"),
        ("/a/*/b\n  X-A: 1\n", "line 1", "last segment"),
    ];
    for (text, line, detail) in cases {
        let error = read_site(&[("_headers", text)]).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains(line) && message.contains(detail),
            "{message}"
        );
    }
    let basic_auth = read_site(&[("_headers", "/*\n  Basic-Auth: me:secret\n")]).unwrap_err();
    assert!(basic_auth.hint().contains("password-protect"));
}

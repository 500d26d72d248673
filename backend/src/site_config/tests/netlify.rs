//! `_redirects` and `_headers` as Netlify documents them: statuses (3xx redirect, 200 rewrite,
//! other codes serve `to` with that status), forced rules and shadowing, splats, placeholders,
//! query, cookie and host conditions, comments, header blocks, and errors that name the line.

use super::*;

#[test]
fn the_netlify_spa_rule_rewrites_every_path_to_index() {
    let config = read_site(&[(
        "_redirects",
        "# single-page app\n\n/*    /index.html   200\n",
    )])
    .unwrap();
    assert_eq!(config.read_from, ["_redirects"]);
    // Paths with an extension too: the rule is a rewrite, not pier.json's `spa`.
    for path in ["/", "/about", "/deep/link/", "/with space/ü", "/app.js"] {
        assert_eq!(
            served(answer(&config, &["index.html"], path)),
            file("index.html", 200),
            "{path}"
        );
        assert_eq!(redirect_for(&config, path), None, "{path}");
    }
    // An unforced rule: a file at the path shadows it.
    assert_eq!(
        served(answer(&config, &["index.html", "about.html"], "/about")),
        file("about.html", 200)
    );
}

#[test]
fn netlify_redirects_take_statuses_splats_and_placeholders() {
    let config = read_site(&[(
        "_redirects",
        "\u{feff}/home              /\n\
         /news/*            /blog/:splat          302\n\
         /blog/:year/:month /archive/:year-:month.html 301!\n\
         /docs/*            /guide/:splat         200\n\
         /authors/c%C3%A9line /authors/about-c%C3%A9line 308\n\
         /go                https://example.com:8443/start?from=pier 307\n",
    )])
    .unwrap();
    assert_eq!(redirect_for(&config, "/home"), redirect("/", 301));
    assert_eq!(redirect_for(&config, "/home/"), redirect("/", 301));
    assert_eq!(
        redirect_for(&config, "/news/a/b"),
        redirect("/blog/a/b", 302)
    );
    assert_eq!(redirect_for(&config, "/news"), redirect("/blog/", 302));
    assert_eq!(
        redirect_for(&config, "/blog/2024/05"),
        redirect("/archive/2024-05.html", 301)
    );
    assert_eq!(redirect_for(&config, "/blog/2024"), None);
    assert_eq!(redirect_for(&config, "/blog/2024/05/extra"), None);
    assert_eq!(
        redirect_for(&config, "/authors/céline"),
        redirect("/authors/about-c%C3%A9line", 308)
    );
    assert_eq!(
        redirect_for(&config, "/go"),
        redirect("https://example.com:8443/start?from=pier", 307)
    );
    assert_eq!(
        served(answer(&config, &["guide/a.html"], "/docs/a.html")),
        file("guide/a.html", 200)
    );
    assert_eq!(
        redirect_for(&config, "/HOME"),
        None,
        "matching is case-sensitive"
    );
}

#[test]
fn an_error_status_rule_serves_its_page_with_that_status() {
    let config = read_site(&[(
        "_redirects",
        "/en/*  /en/404.html  404\n/gone  /410.html  410\n/shop/* /closed.html 503!\n",
    )])
    .unwrap();
    assert_eq!(
        served(answer(&config, &["en/404.html"], "/en/missing")),
        file("en/404.html", 404)
    );
    assert_eq!(redirect_for(&config, "/en/missing"), None);
    // Unforced: an existing file is served as usual.
    assert_eq!(
        served(answer(
            &config,
            &["en/404.html", "en/about.html"],
            "/en/about.html"
        )),
        file("en/about.html", 200)
    );
    assert_eq!(
        served(answer(&config, &["410.html"], "/gone")),
        file("410.html", 410)
    );
    // Forced: over the file that is there.
    assert_eq!(
        served(answer(
            &config,
            &["closed.html", "shop/cart.html"],
            "/shop/cart.html"
        )),
        file("closed.html", 503)
    );
    // When `to` is not a file, the answer is the site's 404 page.
    assert_eq!(
        answer(&config, &["404.html"], "/en/missing"),
        Outcome::Error {
            status: 404,
            page: Some("404.html".into()),
            headers: vec![]
        }
    );
}

#[test]
fn forced_rules_run_before_files_and_unforced_ones_only_for_missing_paths() {
    let config = read_site(&[(
        "_redirects",
        "/a  /b       301\n\
         /c  /d       301!\n\
         /e  /f.html  200!\n\
         /g  /h.html  200\n",
    )])
    .unwrap();
    let files = ["a", "c", "e", "g", "f.html", "h.html"];
    assert_eq!(served(answer(&config, &files, "/a")), file("a", 200));
    assert_eq!(redirect_for(&config, "/a"), redirect("/b", 301));
    assert_eq!(
        as_redirect(answer(&config, &files, "/c")),
        redirect("/d", 301)
    );
    assert_eq!(served(answer(&config, &files, "/e")), file("f.html", 200));
    assert_eq!(served(answer(&config, &files, "/g")), file("g", 200));
    assert_eq!(
        served(answer(&config, &["h.html"], "/g")),
        file("h.html", 200)
    );
}

#[test]
fn comments_may_follow_a_rule() {
    let config = read_site(&[(
        "_redirects",
        "/a /b 302 # moved in 2024\n   # an indented comment\n/c /d#top 302 #note\n/e /f #301\n",
    )])
    .unwrap();
    assert_eq!(redirect_for(&config, "/a"), redirect("/b", 302));
    assert_eq!(redirect_for(&config, "/c"), redirect("/d#top", 302));
    assert_eq!(redirect_for(&config, "/e"), redirect("/f", 301));
}

#[test]
fn query_parameters_are_conditions_and_captures() {
    let config = read_site(&[(
        "_redirects",
        "/store id=:id  /blog/:id  301\n/search q=rust  /rust  302\n",
    )])
    .unwrap();
    // The request's query is passed on, as Netlify does.
    assert_eq!(
        redirect_for(&config, "/store?id=42"),
        redirect("/blog/42?id=42", 301)
    );
    assert_eq!(
        redirect_for(&config, "/store?x=1&id=a%20b"),
        redirect("/blog/a%20b?x=1&id=a%20b", 301)
    );
    assert_eq!(redirect_for(&config, "/store"), None);
    assert_eq!(
        redirect_for(&config, "/search?q=rust"),
        redirect("/rust?q=rust", 302)
    );
    assert_eq!(redirect_for(&config, "/search?q=go"), None);
}

#[test]
fn a_cookie_condition_needs_the_cookie() {
    let config = read_site(&[("_redirects", "/beta  /beta-on.html  200!  Cookie=beta\n")]).unwrap();
    let files = ["beta.html", "beta-on.html"];
    let with = Request::get("/beta").header("cookie", "theme=dark; beta=1");
    assert_eq!(
        served(ask(&config, &files, &with)),
        file("beta-on.html", 200)
    );
    let other = Request::get("/beta").header("cookie", "theme=dark");
    assert_eq!(served(ask(&config, &files, &other)), file("beta.html", 200));
    assert_eq!(
        served(answer(&config, &files, "/beta")),
        file("beta.html", 200)
    );
}

#[test]
fn a_full_url_from_applies_to_that_host_only() {
    let config = read_site(&[(
        "_redirects",
        "https://old.example.com/*  https://new.example.com/:splat  301!\n",
    )])
    .unwrap();
    let old = Request::get("/a/b?x=1").host("old.example.com");
    assert_eq!(
        as_redirect(ask(&config, &["a/b"], &old)),
        redirect("https://new.example.com/a/b?x=1", 301)
    );
    let new = Request::get("/a/b").host("new.example.com");
    assert_eq!(served(ask(&config, &["a/b"], &new)), file("a/b", 200));
}

#[test]
fn geo_language_and_role_conditions_are_refused() {
    for (text, condition) in [
        ("/ /anz 302 Country=au,nz\n", "`Country`"),
        ("/ /fr 302 Language=fr\n", "`Language`"),
        ("/admin/* /admin/:splat 200! Role=admin\n", "`Role`"),
        ("/a /b 302 Cookie=a,b\n", "`Cookie`"),
    ] {
        let error = read_site(&[("_redirects", text)]).unwrap_err();
        assert!(
            matches!(error, SiteConfigError::UnsupportedCondition { .. }),
            "{error:?}"
        );
        assert_error(&error, "_redirects", "line 1", condition);
    }
}

#[test]
fn a_rule_with_a_status_and_no_destination_forwards_its_splat() {
    let config = read_site(&[("_redirects", "/blog/* 200\n")]).unwrap();
    assert_eq!(
        served(answer(&config, &["blog/a.html"], "/blog/a.html")),
        file("blog/a.html", 200)
    );
    let error = read_site(&[("_redirects", "/blog 200\n")]).unwrap_err();
    assert_error(&error, "_redirects", "line 1", "no destination");
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
        config.routes.routes.len(),
        2,
        "a path with no headers adds no rule"
    );
    assert_eq!(
        headers_at(&config, "assets/app.js", "/assets/app.js"),
        pairs(&[
            ("X-Frame-Options", "DENY"),
            ("Cache-Control", "public, max-age=31536000, immutable"),
            ("Link", "</a.css>; rel=preload, </b.js>; rel=preload"),
        ])
    );
    assert_eq!(
        headers_at(&config, "index.html", "/index.html"),
        pairs(&[("X-Frame-Options", "DENY"), ("Cache-Control", "no-cache")])
    );
    assert_eq!(
        headers_at(&config, "assets.html", "/assets").len(),
        3,
        "`/assets/*` covers `/assets`"
    );
    assert_eq!(headers_at(&config, "empty", "/empty").len(), 2);
}

#[test]
fn header_lines_need_no_indent_and_paths_take_a_star_anywhere() {
    let config = read_site(&[(
        "_headers",
        "/a/*/b\nX-A: 1\n/test-*\nX-B: 2\n/posts/:slug\nX-C: 3\n",
    )])
    .unwrap();
    assert_eq!(
        headers_at(&config, "a/x/y/b", "/a/x/y/b"),
        pairs(&[("X-A", "1")])
    );
    assert_eq!(
        headers_at(&config, "test-page.html", "/test-page.html"),
        pairs(&[("X-B", "2")])
    );
    assert_eq!(headers_at(&config, "test.html", "/test.html"), pairs(&[]));
    assert_eq!(
        headers_at(&config, "posts/hello", "/posts/hello"),
        pairs(&[("X-C", "3")])
    );
    assert_eq!(headers_at(&config, "posts/a/b", "/posts/a/b"), pairs(&[]));
}

#[test]
fn header_paths_match_as_netlify_matches_them() {
    // Netlify's headers-parser matches header paths case-insensitively, unlike redirects.
    let config = read_site(&[("_headers", "/Docs/*\n  X-A: 1\n")]).unwrap();
    assert_eq!(
        headers_at(&config, "docs/a.html", "/docs/a.html"),
        pairs(&[("X-A", "1")])
    );
    assert_eq!(
        headers_at(&config, "DOCS/a.html", "/DOCS/a.html"),
        pairs(&[("X-A", "1")])
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
        ("/a /b 301 extra\n", "line 1", "`extra`"),
        ("\n/a /b moved\n", "line 2", "`moved`"),
        ("/a /b 100\n", "line 1", "status 100"),
        ("/a relative 301\n", "line 1", "must start with"),
        ("/a nowhere\n", "line 1", "`nowhere`"),
        (
            "/a x /b\n",
            "line 1",
            "`x` between the path and the destination",
        ),
        ("old /new\n", "line 1", "must start with `/`"),
        ("/.netlify/functions/x /y 200\n", "line 1", "`/.netlify`"),
        ("https://:80/* /b 301\n", "line 1", "not a valid URL"),
    ];
    for (text, line, detail) in cases {
        let error = read_site(&[("_redirects", text)]).unwrap_err();
        assert_error(&error, "_redirects", line, detail);
    }
}

#[test]
fn rules_once_refused_now_read() {
    // 4xx and 5xx statuses, query conditions, a full-URL `from` and a placeholder followed by
    // text were errors before the route engine; see the tests above for how they behave.
    for text in [
        "/a /b 418\n",
        "/store id=:id /blog/:id 301\n",
        "https://old.example.com/* /:splat 301\n",
        "/blog/:slug.html /b 301\n",
    ] {
        read_site(&[("_redirects", text)]).unwrap();
    }
    let config = read_site(&[("_redirects", "/blog/:slug.html /posts/:slug 301\n")]).unwrap();
    assert_eq!(
        redirect_for(&config, "/blog/hello.html"),
        redirect("/posts/hello", 301)
    );
}

#[test]
fn a_bad_headers_file_is_named_by_line() {
    let cases = [
        ("  X-A: 1\n", "line 1", "before any path"),
        ("/*\n  X-A:\n", "line 2", "no value"),
        ("/*\n  Basic-Auth: me:secret\n", "line 2", "password"),
        ("/*\n  Content-Length: 5\n", "line 2", "set by the server"),
        ("/*\n  Bad Name: 5\n", "line 2", "not a valid header name"),
        ("/*\n  X-Name: café\n", "line 2", "printable ASCII"),
    ];
    for (text, line, detail) in cases {
        let error = read_site(&[("_headers", text)]).unwrap_err();
        assert_error(&error, "_headers", line, detail);
    }
    let basic_auth = read_site(&[("_headers", "/*\n  Basic-Auth: me:secret\n")]).unwrap_err();
    assert!(basic_auth.hint().contains("password-protect"));
}

#[test]
fn a_headers_line_that_is_neither_path_nor_header_is_skipped() {
    // Netlify's parser skips it; the old reader refused it.
    let config = read_site(&[("_headers", "/*\n  X-A 1\n  X-B: 2\n")]).unwrap();
    assert_eq!(headers_at(&config, "a", "/a"), pairs(&[("X-B", "2")]));
}

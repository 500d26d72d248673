//! vercel.json as Vercel's routing-utils compiles it: path-to-regexp placeholders (`:name`,
//! `:name*`, `:name+`, `(.*)` as `$1`) matched strictly and case-insensitively, `permanent`
//! and `statusCode`, header order and parameters, `cleanUrls`, `trailingSlash`, Vercel's
//! filesystem, `has`/`missing` conditions, rewrites after the filesystem, and legacy `routes`.

use super::*;
use crate::routes::RouteEntry;

/// The compiled `dest` of the route whose `src` is `src`.
fn dest_of(config: &SiteConfig, src: &str) -> Option<String> {
    config.routes.routes.iter().find_map(|entry| match entry {
        RouteEntry::Route(route) if route.src == src => route.dest.clone(),
        _ => None,
    })
}

#[test]
fn vercel_placeholders_redirect_strictly_as_path_to_regexp_matches() {
    let config = read_site(&[(
        "vercel.json",
        r#"{
            "buildCommand": "npm run build",
            "redirects": [
                { "source": "/blog/:slug", "destination": "/posts/:slug" },
                { "source": "/docs/:path*", "destination": "/guide/:path*", "permanent": false },
                { "source": "/old/:slug", "destination": "https://example.com/x?ref=:slug", "statusCode": 301 },
                { "source": "/tags/:tag+", "destination": "/t/:tag+", "permanent": true }
            ]
        }"#,
    )])
    .unwrap();
    assert_eq!(config.read_from, ["vercel.json"]);
    assert_eq!(
        redirect_for(&config, "/blog/hello"),
        redirect("/posts/hello", 308)
    );
    // path-to-regexp's `strict`: a trailing slash is not matched.
    assert_eq!(redirect_for(&config, "/blog/hello/"), None);
    assert_eq!(redirect_for(&config, "/blog/a/b"), None);
    assert_eq!(redirect_for(&config, "/blog"), None);
    assert_eq!(
        redirect_for(&config, "/docs/a/b"),
        redirect("/guide/a/b", 307)
    );
    // Nothing captured: the destination keeps its `/`, as path-to-regexp's compile gives.
    assert_eq!(redirect_for(&config, "/docs"), redirect("/guide/", 307));
    assert_eq!(redirect_for(&config, "/docs/"), None);
    assert_eq!(
        redirect_for(&config, "/old/a&b=c"),
        redirect("https://example.com/x?ref=a%26b%3Dc", 301)
    );
    assert_eq!(redirect_for(&config, "/tags/a/b"), redirect("/t/a/b", 308));
    assert_eq!(redirect_for(&config, "/tags"), None);
    assert_eq!(redirect_for(&config, "/tags/"), None);
}

#[test]
fn vercel_sources_match_case_insensitively() {
    let config = read_site(&[(
        "vercel.json",
        r#"{ "redirects": [{ "source": "/Blog/:slug", "destination": "/posts/:slug" }],
             "headers": [{ "source": "/assets/(.*)", "headers": [{ "key": "X-A", "value": "1" }] }] }"#,
    )])
    .unwrap();
    assert_eq!(
        redirect_for(&config, "/BLOG/Hello"),
        redirect("/posts/Hello", 308)
    );
    assert_eq!(
        redirect_for(&config, "/blog/hello"),
        redirect("/posts/hello", 308)
    );
    assert_eq!(
        headers_at(&config, "ASSETS/a.js", "/ASSETS/a.js"),
        pairs(&[("X-A", "1")])
    );
}

#[test]
fn vercel_unnamed_rest_is_dollar_one() {
    let config = read_site(&[(
        "vercel.json",
        r#"{
            "redirects": [{ "source": "/old/(.*)", "destination": "/new/$1?was=$1" }],
            "rewrites": [
                { "source": "/app/:rest(.*)", "destination": "/app/index.html?r=:rest" },
                { "source": "/(.*)", "destination": "/fallback.html" }
            ],
            "headers": [{ "source": "/(.*)", "headers": [{ "key": "X-Frame-Options", "value": "DENY" }] }]
        }"#,
    )])
    .unwrap();
    assert_eq!(
        redirect_for(&config, "/old/a/b"),
        redirect("/new/a/b?was=a/b", 308)
    );
    assert_eq!(redirect_for(&config, "/old/"), redirect("/new/?was=", 308));
    // A rewrite's query is kept for the page; the file is looked up by the path.
    assert_eq!(
        dest_of(&config, "^/app(?:/(.*))$").as_deref(),
        Some("/app/index.html?r=$1")
    );
    assert_eq!(
        served(answer(&config, &["app/index.html"], "/app/x/y")),
        file("app/index.html", 200)
    );
    assert_eq!(
        served(answer(&config, &["fallback.html"], "/")),
        file("fallback.html", 200)
    );
    assert_eq!(
        headers_at(&config, "index.html", "/"),
        pairs(&[("X-Frame-Options", "DENY")])
    );
    assert_eq!(headers_at(&config, "a/b.css", "/a/b.css").len(), 1);
}

#[test]
fn later_header_rules_override_earlier_ones() {
    let config = read_site(&[(
        "vercel.json",
        r#"{ "headers": [
            { "source": "/(.*)", "headers": [{ "key": "Cache-Control", "value": "no-cache" },
                                             { "key": "X-A", "value": "1" }] },
            { "source": "/assets/:file", "headers": [{ "key": "cache-control", "value": "max-age=60" }] }
        ] }"#,
    )])
    .unwrap();
    assert_eq!(
        headers_at(&config, "assets/a.js", "/assets/a.js"),
        pairs(&[("Cache-Control", "max-age=60"), ("X-A", "1")])
    );
    assert_eq!(
        headers_at(&config, "assets/deeper/a.js", "/assets/deeper/a.js"),
        pairs(&[("Cache-Control", "no-cache"), ("X-A", "1")])
    );
}

#[test]
fn header_values_take_the_sources_parameters() {
    let config = read_site(&[(
        "vercel.json",
        r#"{ "headers": [{ "source": "/blog/:slug", "headers": [
            { "key": "X-Slug", "value": ":slug" },
            { "key": "Link", "value": "</og/:slug.png>; rel=preload" },
            { "key": "X-Time", "value": "12:30" }
        ] }] }"#,
    )])
    .unwrap();
    assert_eq!(
        headers_at(&config, "blog/hello", "/blog/hello"),
        pairs(&[
            ("X-Slug", "hello"),
            ("Link", "</og/hello.png>; rel=preload"),
            ("X-Time", "12:30"),
        ])
    );
    // Captured text is percent-encoded, so a request cannot break the header.
    assert_eq!(
        headers_at(&config, "blog/a b", "/blog/a b")[0],
        ("X-Slug".to_string(), "a%20b".to_string())
    );
}

#[test]
fn clean_urls_redirect_html_and_index_paths_whether_or_not_the_file_exists() {
    let config = read_site(&[("vercel.json", r#"{ "cleanUrls": true }"#)]).unwrap();
    for files in [&[][..], &["about.html", "index.html", "a/index.html"][..]] {
        let redirect_at = |path| as_redirect(answer(&config, files, path));
        assert_eq!(redirect_at("/about.html"), redirect("/about", 308));
        assert_eq!(redirect_at("/about.html/"), redirect("/about", 308));
        assert_eq!(redirect_at("/a/index"), redirect("/a", 308));
        assert_eq!(redirect_at("/a/index.html"), redirect("/a", 308));
        assert_eq!(redirect_at("/index.html"), redirect("/", 308));
        assert_eq!(redirect_at("/index"), redirect("/", 308));
        assert_eq!(redirect_at("/someindex"), None);
    }
    let files = ["about.html", "index.html", "a/index.html"];
    assert_eq!(
        served(answer(&config, &files, "/about")),
        file("about.html", 200)
    );
    assert_eq!(
        served(answer(&config, &files, "/a")),
        file("a/index.html", 200)
    );
}

#[test]
fn clean_urls_with_a_trailing_slash_redirect_to_the_folder() {
    let config = read_site(&[(
        "vercel.json",
        r#"{ "cleanUrls": true, "trailingSlash": true }"#,
    )])
    .unwrap();
    assert_eq!(
        redirect_for(&config, "/about.html"),
        redirect("/about/", 308)
    );
    assert_eq!(redirect_for(&config, "/a/index.html"), redirect("/a/", 308));
    assert_eq!(redirect_for(&config, "/a/index/"), redirect("/a/", 308));
    assert_eq!(
        served(answer(&config, &["about.html"], "/about/")),
        file("about.html", 200)
    );
}

#[test]
fn clean_urls_with_a_trailing_slash_redirect_the_root_index_to_the_root() {
    let config = read_site(&[(
        "vercel.json",
        r#"{ "cleanUrls": true, "trailingSlash": true }"#,
    )])
    .unwrap();
    assert_eq!(redirect_for(&config, "/index.html"), redirect("/", 308));
    assert_eq!(redirect_for(&config, "/index"), redirect("/", 308));
}

#[test]
fn trailing_slash_true_adds_a_slash_except_to_files_and_well_known() {
    let config = read_site(&[("vercel.json", r#"{ "trailingSlash": true }"#)]).unwrap();
    assert_eq!(redirect_for(&config, "/about"), redirect("/about/", 308));
    assert_eq!(redirect_for(&config, "/a/b"), redirect("/a/b/", 308));
    assert_eq!(redirect_for(&config, "/"), None);
    assert_eq!(redirect_for(&config, "/a.css"), None);
    assert_eq!(redirect_for(&config, "/a.css/"), redirect("/a.css", 308));
    assert_eq!(
        redirect_for(&config, "/dir/a.min.js/"),
        redirect("/dir/a.min.js", 308)
    );
    assert_eq!(redirect_for(&config, "/.well-known/acme-challenge"), None);
    assert_eq!(redirect_for(&config, "/.well-known"), None);
    assert_eq!(
        served(answer(
            &config,
            &[".well-known/acme-challenge"],
            "/.well-known/acme-challenge"
        )),
        file(".well-known/acme-challenge", 200)
    );
    assert_eq!(
        served(answer(&config, &["about/index.html"], "/about/")),
        file("about/index.html", 200)
    );
    // The query is kept.
    assert_eq!(
        redirect_for(&config, "/about?x=1"),
        redirect("/about/?x=1", 308)
    );
}

#[test]
fn trailing_slash_false_removes_the_slash_and_serves_folders_without_it() {
    let config = read_site(&[("vercel.json", r#"{ "trailingSlash": false }"#)]).unwrap();
    assert_eq!(redirect_for(&config, "/about/"), redirect("/about", 308));
    assert_eq!(redirect_for(&config, "/a/b/"), redirect("/a/b", 308));
    assert_eq!(redirect_for(&config, "/"), None);
    assert_eq!(
        served(answer(&config, &["docs/index.html"], "/docs")),
        file("docs/index.html", 200)
    );
}

#[test]
fn vercel_json_serves_files_as_vercel_does() {
    // Without `cleanUrls` no `.html` is guessed; a folder is served without a redirect.
    let config = read_site(&[("vercel.json", "{}")]).unwrap();
    assert_eq!(served(answer(&config, &["about.html"], "/about")), None);
    assert_eq!(
        served(answer(&config, &["about.html"], "/about.html")),
        file("about.html", 200)
    );
    assert_eq!(
        served(answer(&config, &["docs/index.html"], "/docs")),
        file("docs/index.html", 200)
    );
    assert_eq!(
        served(answer(&config, &["docs/index.html"], "/docs/")),
        file("docs/index.html", 200)
    );
}

#[test]
fn has_and_missing_conditions_select_rules_and_capture() {
    let config = read_site(&[(
        "vercel.json",
        r#"{ "redirects": [
            { "source": "/(.*)", "destination": "https://www.example.com/$1",
              "has": [{ "type": "host", "value": "example.com" }] },
            { "source": "/lang", "destination": "/:lang/home",
              "has": [{ "type": "header", "key": "accept-language", "value": "(?<lang>[a-z]{2}).*" }] },
            { "source": "/beta", "destination": "/beta/on",
              "has": [{ "type": "cookie", "key": "beta", "value": "yes" }] },
            { "source": "/q", "destination": "/found/:page",
              "has": [{ "type": "query", "key": "page" }] },
            { "source": "/m", "destination": "/login",
              "missing": [{ "type": "cookie", "key": "session" }] }
        ] }"#,
    )])
    .unwrap();
    let redirect_of = |request: Request| as_redirect(ask(&config, &[], &request));
    assert_eq!(
        redirect_of(Request::get("/a/b").host("example.com")),
        redirect("https://www.example.com/a/b", 308)
    );
    assert_eq!(
        redirect_of(Request::get("/a/b").host("www.example.com")),
        None
    );
    assert_eq!(
        redirect_of(Request::get("/lang").header("accept-language", "fr-FR,fr;q=0.9")),
        redirect("/fr/home", 308)
    );
    assert_eq!(redirect_of(Request::get("/lang")), None);
    assert_eq!(
        redirect_of(Request::get("/beta").header("cookie", "a=1; beta=yes")),
        redirect("/beta/on", 308)
    );
    assert_eq!(
        redirect_of(Request::get("/beta").header("cookie", "beta=no")),
        None
    );
    assert_eq!(
        redirect_of(Request::get("/q?page=2")),
        redirect("/found/2?page=2", 308)
    );
    assert_eq!(redirect_of(Request::get("/q")), None);
    assert_eq!(redirect_of(Request::get("/m")), redirect("/login", 308));
    assert_eq!(
        redirect_of(Request::get("/m").header("cookie", "session=abc")),
        None
    );
}

#[test]
fn a_rewrite_applies_only_when_no_file_matches_and_its_destination_is_a_file() {
    let config = read_site(&[(
        "vercel.json",
        r#"{ "rewrites": [
            { "source": "/blog/:slug", "destination": "/posts/:slug.html" },
            { "source": "/p/:id", "destination": "/p.html" },
            { "source": "/(.*)", "destination": "/index.html" }
        ] }"#,
    )])
    .unwrap();
    let files = ["index.html", "posts/a.html", "blog/c", "p.html"];
    assert_eq!(
        served(answer(&config, &files, "/blog/a")),
        file("posts/a.html", 200)
    );
    assert_eq!(
        served(answer(&config, &files, "/blog/b")),
        file("index.html", 200)
    );
    assert_eq!(
        served(answer(&config, &files, "/blog/c")),
        file("blog/c", 200)
    );
    assert_eq!(served(answer(&config, &["posts/a.html"], "/x")), None);
    // Parameters the destination does not use are passed as query parameters.
    assert_eq!(
        dest_of(&config, "^/p(?:/([^/]+?))$").as_deref(),
        Some("/p.html?id=$1")
    );
    assert_eq!(served(answer(&config, &files, "/p/7")), file("p.html", 200));
}

#[test]
fn legacy_routes_are_taken_as_written() {
    let config = read_site(&[(
        "vercel.json",
        r#"{ "routes": [
            { "src": "/old/(.*)", "status": 308, "headers": { "Location": "/new/$1" } },
            { "handle": "filesystem" },
            { "src": "/(.*)", "dest": "/index.html" }
        ] }"#,
    )])
    .unwrap();
    assert_eq!(redirect_for(&config, "/old/a"), redirect("/new/a", 308));
    let files = ["index.html", "app.js"];
    assert_eq!(
        served(answer(&config, &files, "/app.js")),
        file("app.js", 200)
    );
    assert_eq!(
        served(answer(&config, &files, "/x/y")),
        file("index.html", 200)
    );
}

#[test]
fn legacy_routes_do_not_mix_with_the_newer_keys() {
    let error = read_site(&[(
        "vercel.json",
        r#"{
            "buildCommand": "npm run build",
            "routes": [{ "src": "/(.*)", "dest": "/" }],
            "redirects": [{ "source": "/blog/:slug", "destination": "/posts/:slug" }]
        }"#,
    )])
    .unwrap_err();
    assert!(
        matches!(error, SiteConfigError::BadRoute { .. }),
        "{error:?}"
    );
    assert_error(&error, "vercel.json", "`routes`", "cannot be used with");
}

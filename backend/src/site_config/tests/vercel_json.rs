//! vercel.json's redirects, rewrites and headers with Vercel's placeholders (`:name`,
//! `:name*`, `:name+`, `(.*)` as `$1`), its `permanent` and `statusCode`, and header order.

use super::{pairs, read_site, redirect};

#[test]
fn vercel_named_and_rest_placeholders_redirect() {
    let config = read_site(&[(
        "vercel.json",
        r#"{
            "buildCommand": "npm run build",
            "routes": [{ "src": "/(.*)", "dest": "/" }],
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
        config.redirect_for("/blog/hello"),
        redirect("/posts/hello", 308)
    );
    assert_eq!(
        config.redirect_for("/blog/hello/"),
        redirect("/posts/hello", 308)
    );
    assert_eq!(config.redirect_for("/blog/a/b"), None);
    assert_eq!(config.redirect_for("/blog"), None);
    assert_eq!(
        config.redirect_for("/docs/a/b"),
        redirect("/guide/a/b", 307)
    );
    assert_eq!(config.redirect_for("/docs"), redirect("/guide", 307));
    assert_eq!(config.redirect_for("/docs/"), redirect("/guide", 307));
    assert_eq!(
        config.redirect_for("/old/a&b=c"),
        redirect("https://example.com/x?ref=a%26b%3Dc", 301)
    );
    assert_eq!(config.redirect_for("/tags/a/b"), redirect("/t/a/b", 308));
    assert_eq!(config.redirect_for("/tags"), None);
    assert_eq!(config.redirect_for("/tags/"), None);
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
        config.redirect_for("/old/a/b"),
        redirect("/new/a/b?was=a/b", 308)
    );
    assert_eq!(config.redirect_for("/old/"), redirect("/new/?was=", 308));
    assert_eq!(config.rewrites[0].destination, "/app/index.html");
    assert_eq!(
        config.rewrite_for("/app/x/y").as_deref(),
        Some("/app/index.html")
    );
    assert_eq!(config.rewrite_for("/").as_deref(), Some("/fallback.html"));
    assert_eq!(
        config.headers_for("/"),
        pairs(&[("X-Frame-Options", "DENY")])
    );
    assert_eq!(config.headers_for("/a/b.css").len(), 1);
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
        config.headers_for("/assets/a.js"),
        pairs(&[("Cache-Control", "max-age=60"), ("X-A", "1")])
    );
    assert_eq!(
        config.headers_for("/assets/deeper/a.js"),
        pairs(&[("Cache-Control", "no-cache"), ("X-A", "1")])
    );
}

//! netlify.toml: `[[redirects]]` (from, to, status, force, query, conditions, headers, and the
//! older names) and `[[headers]]` (for, values) with `_redirects`' and `_headers`' rules, their
//! order after `_redirects`, the build tables it ignores, and errors naming `redirects[i]`.

use super::*;

#[test]
fn redirects_take_from_to_status_and_force() {
    let config = read_site(&[(
        "netlify.toml",
        r#"
[build]
command = "npm run build"
publish = "dist"

[[redirects]]
from = "/old/*"
to = "/new/:splat"

[[redirects]]
from = "/moved"
to = "https://example.com/moved"
status = 302
force = true

[[redirects]]
from = "/app/*"
to = "/app/index.html"
status = 200

[[redirects]]
from = "/closed/*"
to = "/closed.html"
status = 410
"#,
    )])
    .unwrap();
    assert_eq!(config.read_from, ["netlify.toml"]);
    assert_eq!(redirect_for(&config, "/old/a/b"), redirect("/new/a/b", 301));
    // Forced: over the file that is there.
    assert_eq!(
        as_redirect(answer(&config, &["moved"], "/moved")),
        redirect("https://example.com/moved", 302)
    );
    assert_eq!(
        served(answer(&config, &["app/index.html"], "/app/x")),
        file("app/index.html", 200)
    );
    assert_eq!(
        served(answer(
            &config,
            &["app/index.html", "app/a.js"],
            "/app/a.js"
        )),
        file("app/a.js", 200)
    );
    assert_eq!(
        served(answer(&config, &["closed.html"], "/closed/x")),
        file("closed.html", 410)
    );
}

#[test]
fn redirects_take_query_and_cookie_conditions_and_headers() {
    let config = read_site(&[(
        "netlify.toml",
        r#"
[[redirects]]
from = "/store"
to = "/blog/:id"
query = { id = ":id" }

[[redirects]]
from = "/beta"
to = "/beta-on.html"
status = 200
force = true
conditions = { Cookie = ["beta"] }

[[redirects]]
from = "/go"
to = "/there"
status = 302
[redirects.headers]
X-From = "netlify"
"#,
    )])
    .unwrap();
    assert_eq!(
        redirect_for(&config, "/store?id=7"),
        redirect("/blog/7?id=7", 301)
    );
    assert_eq!(redirect_for(&config, "/store"), None);
    let with_cookie = Request::get("/beta").header("cookie", "beta=1");
    assert_eq!(
        served(ask(&config, &["beta-on.html"], &with_cookie)),
        file("beta-on.html", 200)
    );
    assert_eq!(served(answer(&config, &["beta-on.html"], "/beta")), None);
    assert_eq!(
        answer(&config, &[], "/go"),
        Outcome::Redirect {
            location: "/there".into(),
            status: 302,
            headers: pairs(&[("X-From", "netlify")])
        }
    );
}

#[test]
fn redirects_take_the_older_names() {
    let config = read_site(&[(
        "netlify.toml",
        r#"
[[redirects]]
origin = "/a"
destination = "/b"
status = "302"

[[redirects]]
from = "/s"
to = "/t/:q"
params = { q = ":q" }
"#,
    )])
    .unwrap();
    assert_eq!(redirect_for(&config, "/a"), redirect("/b", 302));
    assert_eq!(redirect_for(&config, "/s?q=x"), redirect("/t/x?q=x", 301));
}

#[test]
fn headers_take_for_and_values() {
    let config = read_site(&[(
        "netlify.toml",
        r#"
[[headers]]
for = "/*"
[headers.values]
X-Frame-Options = "DENY"
Cache-Control = "public,  max-age=0"

[[headers]]
for = "/assets/*"
[headers.values]
Cache-Control = ["public", "max-age=31536000", "immutable"]
"#,
    )])
    .unwrap();
    // A TOML table's keys come sorted, so only the set of headers is asserted.
    let sorted = |mut headers: Vec<(String, String)>| {
        headers.sort();
        headers
    };
    assert_eq!(
        sorted(headers_at(&config, "assets/a.js", "/assets/a.js")),
        pairs(&[
            ("Cache-Control", "public, max-age=31536000, immutable"),
            ("X-Frame-Options", "DENY"),
        ])
    );
    assert_eq!(
        sorted(headers_at(&config, "index.html", "/")),
        pairs(&[
            ("Cache-Control", "public, max-age=0"),
            ("X-Frame-Options", "DENY"),
        ])
    );
}

#[test]
fn its_rules_come_after_the_redirects_file_and_a_repeated_rule_counts_once() {
    let config = read_site(&[
        (
            "_redirects",
            "/a /from-file 302\n/b /same 302\n/c /c-file 302\n",
        ),
        (
            "netlify.toml",
            "[[redirects]]\nfrom = \"/a\"\nto = \"/from-toml\"\n\n\
             [[redirects]]\nfrom = \"/*\"\nto = \"/catch-all\"\nstatus = 302\n\n\
             [[redirects]]\nfrom = \"/b\"\nto = \"/same\"\nstatus = 302\n",
        ),
    ])
    .unwrap();
    assert_eq!(config.read_from, ["_redirects", "netlify.toml"]);
    assert_eq!(redirect_for(&config, "/a"), redirect("/from-file", 302));
    assert_eq!(redirect_for(&config, "/c"), redirect("/c-file", 302));
    assert_eq!(redirect_for(&config, "/d"), redirect("/catch-all", 302));
    // `/b` is in both files; it counts once, at its later place, after the catch-all.
    assert_eq!(redirect_for(&config, "/b"), redirect("/catch-all", 302));
    let rules = config
        .routes
        .routes
        .iter()
        .filter(|entry| matches!(entry, crate::routes::RouteEntry::Route(_)))
        .count();
    assert_eq!(rules, 5, "the repeated `/b` rule is kept once");
}

#[test]
fn a_toml_syntax_error_names_the_file_and_the_line() {
    let error =
        read_site(&[("netlify.toml", "[[redirects]]\nfrom = \"/a\"\nto = /b\n")]).unwrap_err();
    assert!(
        matches!(error, SiteConfigError::BadToml { .. }),
        "{error:?}"
    );
    assert_error(&error, "netlify.toml", "line 3", "");
    assert!(error.hint().contains("[[redirects]]"));
    // A well-formed file of the wrong shape is named the same way.
    let error = read_site(&[("netlify.toml", "redirects = \"/a /b\"\n")]).unwrap_err();
    assert!(
        matches!(error, SiteConfigError::BadToml { .. }),
        "{error:?}"
    );
    assert_error(&error, "netlify.toml", "line 1", "");
}

#[test]
fn signed_is_ignored_and_the_proxy_it_would_sign_is_refused() {
    // `signed` only concerns proxied requests; Pier refuses proxies, so the key changes nothing.
    let config = read_site(&[(
        "netlify.toml",
        "[[redirects]]\nfrom = \"/a\"\nto = \"/b\"\nsigned = \"API_SECRET\"\n",
    )])
    .unwrap();
    assert_eq!(redirect_for(&config, "/a"), redirect("/b", 301));
    let error = read_site(&[(
        "netlify.toml",
        "[[redirects]]\nfrom = \"/a\"\nto = \"/b\"\n\n\
         [[redirects]]\nfrom = \"/api/*\"\nto = \"https://api.example.com/:splat\"\nstatus = 200\nsigned = \"API_SECRET\"\n",
    )])
    .unwrap_err();
    assert!(
        matches!(error, SiteConfigError::ExternalRewrite { .. }),
        "{error:?}"
    );
    assert_error(&error, "netlify.toml", "redirects[1]", "another site");
}

#[test]
fn bad_rules_are_named_by_their_place() {
    let cases = [
        (
            "[[redirects]]\nfrom = \"/a\"\nto = \"/b\"\n\n[[redirects]]\nto = \"/b\"\n",
            "redirects[1]",
            "no `from`",
        ),
        ("[[redirects]]\nfrom = \"/a\"\n", "redirects[0]", "no `to`"),
        (
            "[[redirects]]\nfrom = \"/a\"\nto = \"/b\"\nstatus = \"moved\"\n",
            "redirects[0]",
            "not a status code",
        ),
        (
            "[[redirects]]\nfrom = \"/a\"\nto = \"/b\"\nstatus = 100\n",
            "redirects[0]",
            "status 100",
        ),
        (
            "[[redirects]]\nfrom = \"/\"\nto = \"/anz\"\nconditions = { Country = [\"au\", \"nz\"] }\n",
            "redirects[0]",
            "`Country`",
        ),
        (
            "[[redirects]]\nfrom = \"/admin/*\"\nto = \"/admin/:splat\"\nstatus = 200\nforce = true\nconditions = { Role = [\"admin\"] }\n",
            "redirects[0]",
            "`Role`",
        ),
        (
            "[[redirects]]\nfrom = \"a\"\nto = \"/b\"\n",
            "redirects[0]",
            "must start with `/`",
        ),
        (
            "[[headers]]\nfor = \"/*\"\n[headers.values]\nX-A = \"1\"\n\n[[headers]]\nfor = \"/b\"\n[headers.values]\nX-B = 2\n",
            "headers[1]",
            "not a string",
        ),
        (
            "[[headers]]\nfor = \"/*\"\n[headers.values]\nTransfer-Encoding = \"chunked\"\n",
            "headers[0]",
            "set by the server",
        ),
    ];
    for (text, place, detail) in cases {
        let error = read_site(&[("netlify.toml", text)]).unwrap_err();
        assert_error(&error, "netlify.toml", place, detail);
    }
}

//! The site config's tests, one file per feature file; here the harness (each format compiled
//! to routes and run by the route engine over a small file set, as the edge runs them) and what
//! crosses files: the defaults, which file wins and in what order rules run, the errors every
//! format shares (file, place, hint), and the round trip through the manifest.

mod netlify;
mod netlify_toml;
mod patterns;
mod pier_json;
mod vercel_json;

use super::*;
use crate::routes::Outcome;
use crate::routes::fixtures::{TestFiles as Files, TestRequest as Request};

fn site(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn read_site(files: &[(&str, &str)]) -> Result<SiteConfig, SiteConfigError> {
    read(site(files).path())
}

/// How the deployment answers `request` when it holds `files`.
fn ask(config: &SiteConfig, files: &[&str], request: &Request) -> Outcome<String> {
    let router = crate::routes::Router::new(&config.route_table()).unwrap();
    router.route(request, &Files(files))
}

/// How the deployment answers `target` (a path, optionally with `?query`) when it holds `files`.
fn answer(config: &SiteConfig, files: &[&str], target: &str) -> Outcome<String> {
    ask(config, files, &Request::get(target))
}

/// The redirect a path gets when no file is there.
fn redirect_for(config: &SiteConfig, target: &str) -> Option<(String, u16)> {
    as_redirect(answer(config, &[], target))
}

fn as_redirect(outcome: Outcome<String>) -> Option<(String, u16)> {
    match outcome {
        Outcome::Redirect {
            location, status, ..
        } => Some((location, status)),
        _ => None,
    }
}

fn redirect(location: &str, status: u16) -> Option<(String, u16)> {
    Some((location.to_string(), status))
}

/// Which file is served, with what status, ignoring headers; `None` for anything else.
fn served(outcome: Outcome<String>) -> Option<(String, u16)> {
    match outcome {
        Outcome::File { file, status, .. } => Some((file, status)),
        _ => None,
    }
}

/// What `served` gives for `name` served with `status`.
fn file(name: &str, status: u16) -> Option<(String, u16)> {
    Some((name.to_string(), status))
}

fn pairs(headers: &[(&str, &str)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

/// The headers sent with the file `name` when it is requested at `path`.
fn headers_at(config: &SiteConfig, name: &str, path: &str) -> Vec<(String, String)> {
    match answer(config, &[name], path) {
        Outcome::File { file, headers, .. } if file == name => headers,
        other => panic!("{path} should serve {name}: {other:?}"),
    }
}

/// The error, checked to name `file` and `place` and to carry `detail` and a hint.
#[track_caller]
fn assert_error(error: &SiteConfigError, file: &str, place: &str, detail: &str) {
    let message = error.to_string();
    assert!(message.starts_with(&format!("`{file}` ")), "{message}");
    assert!(message.contains(place), "{message} should name {place}");
    assert!(message.contains(detail), "{message} should say {detail}");
    assert!(!error.hint().is_empty(), "{message} has no hint");
}

#[test]
fn a_folder_without_config_files_has_the_defaults() {
    let config = read_site(&[("index.html", "<h1>hi</h1>")]).unwrap();
    assert_eq!(config, SiteConfig::default());
    assert_eq!(redirect_for(&config, "/"), None);
    assert_eq!(served(answer(&config, &["index.html"], "/x")), None);
    assert_eq!(headers_at(&config, "index.html", "/"), pairs(&[]));
    // The engine's own defaults: `/about` is `about.html`, `/dir` redirects to `/dir/`, and a
    // missing path is the deployment's 404 page.
    assert_eq!(
        served(answer(&config, &["about.html"], "/about")),
        file("about.html", 200)
    );
    assert_eq!(
        as_redirect(answer(&config, &["dir/index.html"], "/dir")),
        redirect("/dir/", 308)
    );
    assert_eq!(
        answer(&config, &["404.html"], "/missing"),
        Outcome::Error {
            status: 404,
            page: Some("404.html".into()),
            headers: vec![]
        }
    );
}

#[test]
fn a_folder_named_like_a_config_file_is_content() {
    let dir = site(&[]);
    std::fs::create_dir(dir.path().join("_headers")).unwrap();
    assert_eq!(read(dir.path()).unwrap(), SiteConfig::default());
}

#[test]
fn pier_json_wins_over_vercel_json_and_rules_keep_file_order() {
    // Sources with an extension, which `trailingSlash: true` leaves alone.
    let config = read_site(&[
        (
            "pier.json",
            r#"{ "$schema": "https://pier.dev/schema.json", "cleanUrls": false, "spa": true,
                 "redirects": [{ "source": "/a.php", "destination": "/from-pier" }] }"#,
        ),
        (
            "vercel.json",
            r#"{ "cleanUrls": true, "trailingSlash": true, "spa": "ignored here",
                 "redirects": [{ "source": "/a.php", "destination": "/from-vercel" },
                               { "source": "/b.php", "destination": "/from-vercel" }] }"#,
        ),
        ("_redirects", "/b.php /from-netlify\n/c.php /from-netlify\n"),
        ("_headers", "/*\n  X-Robots-Tag: noindex\n"),
        ("netlify.toml", "[build]\ncommand = \"make\"\n"),
    ])
    .unwrap();
    assert_eq!(config.read_from, CONFIG_FILES);
    // pier.json's `cleanUrls: false` wins: `.html` paths are served, not redirected.
    assert_eq!(
        served(answer(&config, &["page.html"], "/page.html")),
        file("page.html", 200)
    );
    // vercel.json's `trailingSlash: true` applies, as pier.json leaves it unset.
    assert_eq!(redirect_for(&config, "/about"), redirect("/about/", 308));
    // pier.json's `spa`.
    assert_eq!(
        served(answer(&config, &["index.html"], "/deep/route/")),
        file("index.html", 200)
    );
    assert_eq!(redirect_for(&config, "/a.php"), redirect("/from-pier", 308));
    assert_eq!(
        redirect_for(&config, "/b.php"),
        redirect("/from-vercel", 308)
    );
    assert_eq!(
        redirect_for(&config, "/c.php"),
        redirect("/from-netlify", 301)
    );
    assert_eq!(
        headers_at(&config, "x.txt", "/x.txt"),
        pairs(&[("X-Robots-Tag", "noindex")])
    );
}

#[test]
fn vercel_rewrites_run_before_netlify_unforced_rules_and_files_before_both() {
    let config = read_site(&[
        (
            "vercel.json",
            r#"{ "rewrites": [{ "source": "/x", "destination": "/v.html" }] }"#,
        ),
        ("_redirects", "/x /n.html 200\n"),
    ])
    .unwrap();
    assert_eq!(
        served(answer(&config, &["v.html", "n.html"], "/x")),
        file("v.html", 200)
    );
    // vercel.json: Vercel's filesystem, where `/x` is the file `x`.
    assert_eq!(
        served(answer(&config, &["x", "v.html", "n.html"], "/x")),
        file("x", 200)
    );
}

#[test]
fn a_netlify_rule_still_applies_when_a_vercel_rewrite_before_it_misses() {
    let config = read_site(&[
        (
            "vercel.json",
            r#"{ "rewrites": [{ "source": "/x", "destination": "/v.html" }] }"#,
        ),
        ("_redirects", "/x /n.html 200\n"),
    ])
    .unwrap();
    // `/x` is not a file, so Netlify's unforced rule for `/x` applies.
    assert_eq!(
        served(answer(&config, &["n.html"], "/x")),
        file("n.html", 200)
    );
}

#[test]
fn netlify_headers_apply_to_every_answer() {
    let config = read_site(&[
        ("_headers", "/*\n  X-A: 1\n"),
        ("_redirects", "/old /new 301\n"),
    ])
    .unwrap();
    assert_eq!(
        answer(&config, &[], "/old"),
        Outcome::Redirect {
            location: "/new".into(),
            status: 301,
            headers: pairs(&[("X-A", "1")])
        }
    );
    assert_eq!(
        answer(&config, &["404.html"], "/missing"),
        Outcome::Error {
            status: 404,
            page: Some("404.html".into()),
            headers: pairs(&[("X-A", "1")])
        }
    );
}

#[test]
fn external_rewrites_are_rejected() {
    let error = read_site(&[(
        "vercel.json",
        r#"{ "rewrites": [{ "source": "/api/:path*", "destination": "https://api.example.com/:path*" }] }"#,
    )])
    .unwrap_err();
    assert!(
        matches!(error, SiteConfigError::ExternalRewrite { .. }),
        "{error:?}"
    );
    assert_error(&error, "vercel.json", "rewrites[0]", "another site");
    assert!(error.hint().contains("redirect"));

    let error = read_site(&[(
        "_redirects",
        "/a /b\n/api/* https://api.example.com/:splat 200\n",
    )])
    .unwrap_err();
    assert!(
        matches!(error, SiteConfigError::ExternalRewrite { .. }),
        "{error:?}"
    );
    assert_error(&error, "_redirects", "line 2", "another site");
}

#[test]
fn every_error_names_its_file_and_place_and_has_a_hint() {
    let cases = [
        ("pier.json", "{\n  \"spa\": true,\n", "line 3", "EOF"),
        (
            "pier.json",
            r#"{ "cleanUrl": true }"#,
            "`cleanUrl`",
            "unknown setting",
        ),
        (
            "vercel.json",
            r#"{ "redirects": [{ "source": "/ok", "destination": "/b" }, { "source": "/a(", "destination": "/b" }] }"#,
            "redirects[1]",
            "unbalanced `(`",
        ),
        (
            "vercel.json",
            r#"{ "redirects": [{ "source": "/a", "destination": "/b", "statusCode": 200 }] }"#,
            "redirects[0]",
            "status 200",
        ),
        (
            "vercel.json",
            r#"{ "rewrites": [{ "source": "/a", "destination": "b.html" }] }"#,
            "rewrites[0]",
            "must start with `/`",
        ),
        (
            "vercel.json",
            r#"{ "headers": [{ "source": "/a", "headers": [{ "key": "Content-Length", "value": "1" }] }] }"#,
            "headers[0]",
            "set by the server",
        ),
        (
            "vercel.json",
            r#"{ "routes": [{ "src": "/a", "dest": "/b" }], "cleanUrls": true }"#,
            "`routes`",
            "cannot be used with",
        ),
        (
            "vercel.json",
            r#"{ "routes": [{ "handle": "filesystem" }, { "src": "/(a[)", "dest": "/b" }] }"#,
            "routes[1]",
            "not a valid regular expression",
        ),
        ("_redirects", "/a /b\n\n/c\n", "line 3", "no destination"),
        ("_redirects", "old /new\n", "line 1", "must start with `/`"),
        ("_redirects", "/a /b 100\n", "line 1", "status 100"),
        (
            "_redirects",
            "# geo\n/ /anz 302 Country=au,nz\n",
            "line 2",
            "`Country`",
        ),
        (
            "_headers",
            "/*\n  X-A: 1\n/b\n  Upgrade: h2c\n",
            "line 4",
            "`Upgrade`",
        ),
        ("_headers", "X-A: 1\n", "line 1", "before any path"),
        (
            "netlify.toml",
            "[[redirects]]\nfrom = \"/a\"\nto = \n",
            "line 3",
            "netlify.toml",
        ),
        (
            "netlify.toml",
            "[[redirects]]\nfrom = \"/a\"\nto = \"/b\"\n\n[[redirects]]\nfrom = \"/c\"\nto = \"/d\"\nconditions = { Language = [\"fr\"] }\n",
            "redirects[1]",
            "`Language`",
        ),
        (
            "netlify.toml",
            "[[headers]]\nfor = \"/*\"\n[headers.values]\nBasic-Auth = \"me:secret\"\n",
            "headers[0]",
            "password",
        ),
    ];
    for (file, text, place, detail) in cases {
        let error = read_site(&[(file, text)]).unwrap_err();
        assert_error(&error, file, place, detail);
    }
}

#[test]
fn a_rule_the_engine_cannot_compile_is_named_past_the_routes_before_it() {
    // The regex is checked only when the whole table is compiled; the error still names the
    // rule, past `_headers`, the clean-URL routes and the filesystem marker before it.
    let error = read_site(&[
        (
            "pier.json",
            r#"{ "cleanUrls": true, "rewrites": [{ "source": "/ok", "destination": "/ok.html" },
                                                   { "source": "/(a[)", "destination": "/x.html" }] }"#,
        ),
        ("_headers", "/*\n  X-A: 1\n"),
    ])
    .unwrap_err();
    assert!(
        matches!(error, SiteConfigError::BadRoute { .. }),
        "{error:?}"
    );
    assert_error(
        &error,
        "pier.json",
        "rewrites[1]",
        "not a valid regular expression",
    );

    let error = read_site(&[(
        "vercel.json",
        r#"{ "redirects": [{ "source": "/a", "destination": "/b", "has": [{ "type": "header", "key": "x", "value": "(" }] }] }"#,
    )])
    .unwrap_err();
    assert_error(&error, "vercel.json", "redirects[0]", "not a valid regex");
}

#[test]
fn an_unreadable_config_file_is_named() {
    let dir = site(&[]);
    std::fs::write(dir.path().join("_redirects"), b"/a /b\n\xff\xfe\n").unwrap();
    let error = read(dir.path()).unwrap_err();
    assert!(
        matches!(error, SiteConfigError::Unreadable { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("_redirects"), "{message}");
    assert!(error.hint().contains("UTF-8"));
}

#[test]
fn a_byte_order_mark_is_ignored() {
    let config = read_site(&[
        ("pier.json", "\u{feff}{ \"cleanUrls\": true }"),
        ("_redirects", "\u{feff}/home /\n"),
    ])
    .unwrap();
    assert_eq!(redirect_for(&config, "/a.html"), redirect("/a", 308));
    assert_eq!(redirect_for(&config, "/home"), redirect("/", 301));
}

#[test]
fn the_config_survives_the_manifest_and_old_manifests_still_serve() {
    let config = read_site(&[
        (
            "vercel.json",
            r#"{ "cleanUrls": true, "rewrites": [{ "source": "/(.*)", "destination": "/index.html" }] }"#,
        ),
        ("_headers", "/*\n  X-A: 1\n"),
    ])
    .unwrap();
    let json = serde_json::to_string(&config).unwrap();
    assert_eq!(serde_json::from_str::<SiteConfig>(&json).unwrap(), config);
    assert_eq!(
        serde_json::from_str::<SiteConfig>("{}").unwrap(),
        SiteConfig::default()
    );
    // A manifest written before the route engine.
    let old: SiteConfig = serde_json::from_str(
        r#"{"clean_urls":true,"trailing_slash":null,"spa":false,
            "redirects":[{"source":"/old/*","destination":"/new/:splat","status":301}],
            "rewrites":[{"source":"/app/*","destination":"/app.html"}],
            "headers":[{"source":"/*","headers":[["X-Old","1"]]}],
            "read_from":["pier.json"]}"#,
    )
    .unwrap();
    assert_eq!(redirect_for(&old, "/old/a/b"), redirect("/new/a/b", 301));
    assert_eq!(
        answer(&old, &["app.html"], "/app/x"),
        Outcome::File {
            file: "app.html".into(),
            status: 200,
            headers: vec![("X-Old".into(), "1".into())],
            query: None,
            transforms: vec![],
        }
    );
    assert_eq!(redirect_for(&old, "/page.html"), redirect("/page", 308));
}

//! The site config's tests, one file per feature file; here what crosses files: the defaults,
//! which file wins, the checks every file shares, and the round trip through the manifest.

mod matcher;
mod netlify;
mod pier_json;
mod vercel_json;

use super::*;

fn site(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn read_site(files: &[(&str, &str)]) -> Result<SiteConfig, SiteConfigError> {
    read(site(files).path())
}

fn pairs(headers: &[(&str, &str)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

fn redirect(location: &str, status: u16) -> Option<(String, u16)> {
    Some((location.to_string(), status))
}

#[test]
fn a_folder_without_config_files_has_the_defaults() {
    let config = read_site(&[("index.html", "<h1>hi</h1>")]).unwrap();
    assert_eq!(config, SiteConfig::default());
    assert_eq!(config.redirect_for("/"), None);
    assert_eq!(config.rewrite_for("/x"), None);
    assert!(config.headers_for("/").is_empty());
}

#[test]
fn a_folder_named_like_a_config_file_is_content() {
    let dir = site(&[]);
    std::fs::create_dir(dir.path().join("_headers")).unwrap();
    assert_eq!(read(dir.path()).unwrap(), SiteConfig::default());
}

#[test]
fn pier_json_wins_over_vercel_json_and_rules_keep_file_order() {
    let config = read_site(&[
        (
            "pier.json",
            r#"{ "$schema": "https://pier.dev/schema.json", "cleanUrls": false, "spa": true,
                 "redirects": [{ "source": "/a", "destination": "/from-pier" }] }"#,
        ),
        (
            "vercel.json",
            r#"{ "cleanUrls": true, "trailingSlash": true, "spa": "ignored here",
                 "redirects": [{ "source": "/a", "destination": "/from-vercel" },
                               { "source": "/b", "destination": "/from-vercel" }] }"#,
        ),
        ("_redirects", "/b /from-netlify\n/c /from-netlify\n"),
        ("_headers", "/*\n  X-Robots-Tag: noindex\n"),
    ])
    .unwrap();
    assert!(!config.clean_urls);
    assert_eq!(config.trailing_slash, Some(true));
    assert!(config.spa);
    assert_eq!(config.read_from, CONFIG_FILES);
    assert_eq!(config.redirect_for("/a"), redirect("/from-pier", 308));
    assert_eq!(config.redirect_for("/b"), redirect("/from-vercel", 308));
    assert_eq!(config.redirect_for("/c"), redirect("/from-netlify", 301));
    assert_eq!(
        config.headers_for("/x"),
        pairs(&[("X-Robots-Tag", "noindex")])
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
    let message = error.to_string();
    assert!(
        message.contains("vercel.json") && message.contains("rewrites[0]"),
        "{message}"
    );
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
    assert!(error.to_string().contains("line 2"));
}

#[test]
fn the_config_survives_the_manifest() {
    let config = read_site(&[
        ("vercel.json", r#"{ "cleanUrls": true, "rewrites": [{ "source": "/(.*)", "destination": "/index.html" }] }"#),
        ("_headers", "/*\n  X-A: 1\n"),
    ])
    .unwrap();
    let json = serde_json::to_string(&config).unwrap();
    assert_eq!(serde_json::from_str::<SiteConfig>(&json).unwrap(), config);
    assert_eq!(
        serde_json::from_str::<SiteConfig>("{}").unwrap(),
        SiteConfig::default()
    );
}

//! pier.json's strict keys and the errors for JSON rules: malformed JSON, unknown settings,
//! unsupported patterns, statuses and conditions, each naming the file and the rule.

use super::read_site;
use crate::site_config::SiteConfigError;

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
    ] {
        let error = read_site(&[(file, text)]).unwrap_err();
        assert!(
            matches!(error, SiteConfigError::BadJson { .. }),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(
            message.contains(file) && message.contains("line"),
            "{message}"
        );
    }
}

#[test]
fn unsupported_json_rules_are_named() {
    let cases = [
        (
            r#"{ "redirects": [{ "source": "/blog/:id(\\d+)", "destination": "/b" }] }"#,
            "redirects[0]",
            "does not support",
        ),
        (
            r#"{ "redirects": [{ "source": "/x", "destination": "/y" }, { "source": "/(about|team)", "destination": "/b" }] }"#,
            "redirects[1]",
            "does not support",
        ),
        (
            r#"{ "rewrites": [{ "source": "/:lang?/about", "destination": "/about.html" }] }"#,
            "rewrites[0]",
            "does not support",
        ),
        (
            r#"{ "headers": [{ "source": "/a//b", "headers": [] }] }"#,
            "headers[0]",
            "empty segment",
        ),
        (
            r#"{ "redirects": [{ "source": "a", "destination": "/b" }] }"#,
            "redirects[0]",
            "start with `/`",
        ),
        (
            r#"{ "redirects": [{ "source": "/a", "destination": "/b", "statusCode": 200 }] }"#,
            "redirects[0]",
            "status 200",
        ),
        (
            r#"{ "redirects": [{ "source": "/a", "destination": "/b", "has": [{ "type": "query", "key": "x" }] }] }"#,
            "redirects[0]",
            "`has`",
        ),
        (
            r#"{ "rewrites": [{ "source": "/a", "destination": "b.html" }] }"#,
            "rewrites[0]",
            "must start with `/`",
        ),
    ];
    for (text, place, detail) in cases {
        let error = read_site(&[("pier.json", text)]).unwrap_err();
        let message = error.to_string();
        assert!(message.starts_with("`pier.json` "), "{message}");
        assert!(
            message.contains(place) && message.contains(detail),
            "{message}"
        );
    }
}

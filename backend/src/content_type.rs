//! Content types from file names, as `mime_guess` knows them, with `charset=utf-8` on text
//! types (RFC 9110 §8.3; RFC 6657 makes UTF-8 the sensible default for `text/*`).

/// The `Content-Type` a file should be served with.
pub fn for_path(path: &str) -> String {
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let essence = mime.essence_str();
    let textual = mime.type_() == mime_guess::mime::TEXT
        || matches!(
            essence,
            "application/javascript"
                | "application/json"
                | "application/xml"
                | "application/manifest+json"
                | "image/svg+xml"
        );
    if textual {
        format!("{essence}; charset=utf-8")
    } else {
        essence.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::for_path;

    #[test]
    fn text_gets_a_charset_and_binaries_do_not() {
        assert_eq!(for_path("index.html"), "text/html; charset=utf-8");
        assert_eq!(for_path("a/b/app.JS"), "text/javascript; charset=utf-8");
        assert_eq!(for_path("style.css"), "text/css; charset=utf-8");
        assert_eq!(for_path("logo.svg"), "image/svg+xml; charset=utf-8");
        assert_eq!(for_path("photo.jpeg"), "image/jpeg");
        assert_eq!(for_path("font.woff2"), "font/woff2");
        assert_eq!(for_path("no-extension"), "application/octet-stream");
    }
}

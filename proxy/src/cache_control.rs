//! Cache-Control by file: content-fingerprinted assets are immutable for a year; everything
//! else (HTML above all) must revalidate, which the strong ETag makes a cheap 304 (RFC 9111
//! §5.2.2, RFC 8246 `immutable`).

pub const REVALIDATE: &str = "public, max-age=0, must-revalidate";
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

pub fn for_path(path: &str, content_type: &str) -> &'static str {
    if content_type.starts_with("text/html") {
        return REVALIDATE;
    }
    if path.starts_with("_next/static/") && !path.contains("/_buildManifest") {
        return IMMUTABLE;
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
    if stem.split(['.', '-', '_']).skip(1).any(looks_like_hash) {
        IMMUTABLE
    } else {
        REVALIDATE
    }
}

/// A bundler's content hash: 8+ characters mixing digits and letters (`3f2a9b1c`, `BdF3k2Lq`).
fn looks_like_hash(part: &str) -> bool {
    part.len() >= 8
        && part.bytes().all(|b| b.is_ascii_alphanumeric())
        && part.bytes().any(|b| b.is_ascii_digit())
        && part.bytes().any(|b| b.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprinted_assets_are_immutable_and_the_rest_revalidates() {
        let js = "text/javascript";
        assert_eq!(for_path("assets/index-BdF3k2Lq.js", js), IMMUTABLE);
        assert_eq!(for_path("static/js/main.3f2a9b1c.chunk.js", js), IMMUTABLE);
        assert_eq!(for_path("_next/static/chunks/app.js", js), IMMUTABLE);
        assert_eq!(
            for_path("index.html", "text/html; charset=utf-8"),
            REVALIDATE
        );
        assert_eq!(for_path("app-3f2a9b1c.html", "text/html"), REVALIDATE);
        assert_eq!(for_path("jquery-3.6.0.js", js), REVALIDATE);
        assert_eq!(for_path("bootstrap-bundle.js", js), REVALIDATE);
        assert_eq!(for_path("logo.png", "image/png"), REVALIDATE);
        assert_eq!(for_path("build-20240101.js", js), REVALIDATE);
    }
}

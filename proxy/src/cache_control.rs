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
    let in_assets_folder = path.starts_with("assets/") || path.contains("/assets/");
    if stem.split(['.', '-', '_']).skip(1).any(looks_like_hash)
        || (in_assets_folder && ends_with_rollup_hash(stem))
    {
        IMMUTABLE
    } else {
        REVALIDATE
    }
}

/// Rollup's (so Vite's) `[name]-[hash]`: the hash is the stem's last 8 characters, in the
/// base64url alphabet, so it may hold `-` or `_` and need not hold a digit (`index-COcDBgFa`,
/// `index-D_3a-Bc1`). Mixed case tells it from a word (`my-dropdown`); it is only trusted in
/// an `assets/` folder, Vite's default, where names are the bundler's.
fn ends_with_rollup_hash(stem: &str) -> bool {
    let Some(split) = stem.len().checked_sub(8) else {
        return false;
    };
    let (head, hash) = stem.split_at(split);
    head.len() > 1
        && head.ends_with('-')
        && hash
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && hash.bytes().any(|b| b.is_ascii_lowercase())
        && hash
            .bytes()
            .any(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
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
        // Names from a real `npm create vite` React build (create-vite 7, Vite 7).
        assert_eq!(for_path("assets/index-CizuXTuG.js", js), IMMUTABLE);
        assert_eq!(for_path("assets/index-COcDBgFa.css", "text/css"), IMMUTABLE);
        assert_eq!(
            for_path("assets/react-CHdo91hT.svg", "image/svg+xml"),
            IMMUTABLE
        );
        assert_eq!(for_path("assets/index-D_3a-Bc1.js", js), IMMUTABLE);
        assert_eq!(for_path("assets/my-dropdown.js", js), REVALIDATE);
        assert_eq!(for_path("assets/vendor.js", js), REVALIDATE);
        assert_eq!(for_path("scripts/index-COcDBgFa.js", js), REVALIDATE);
    }
}

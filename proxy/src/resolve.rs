//! Which file answers a path, as Vercel and Netlify users expect.
//!
//! In order: the deployment's redirects; `cleanUrls` (`/a.html` and `/a/index.html` redirect
//! to `/a`); `trailingSlash` (`true` adds, `false` removes, by redirect); then the files:
//! `/dir/` → `dir/index.html`, `/a` → `a`, else `a.html`, else `a/index.html` (redirecting
//! `/a` → `/a/` so relative links work, unless `trailingSlash` is `false`); then the first
//! matching rewrite, looked up the same way; then, with `spa`, `index.html` for paths without
//! an extension; else the deployment's `404.html` with status 404. Pier's own redirects are
//! 308 (RFC 9110 §15.4.9) and keep the query string.

use pier_core::manifest::FileEntry;

use crate::site::Site;

#[derive(Debug, PartialEq, Eq)]
pub enum Resolution<'a> {
    File(&'a FileEntry),
    Redirect { location: String, status: u16 },
    NotFound(Option<&'a FileEntry>),
}

const PIER_REDIRECT: u16 = 308;

/// `path` is normalised (see `path::normalize`); `query` is the raw query, if any.
pub fn resolve<'a>(site: &'a Site, path: &str, query: Option<&str>) -> Resolution<'a> {
    let config = &site.manifest.config;
    let redirect = |location: String, status: u16| Resolution::Redirect {
        location: match query {
            Some(query) if !location.contains('?') => format!("{location}?{query}"),
            _ => location,
        },
        status,
    };
    if let Some((location, status)) = config.redirect_for(path) {
        return redirect(location, status);
    }
    if config.clean_urls {
        if let Some(dir) = path.strip_suffix("index.html")
            && dir.ends_with('/')
            && site.file(&format!("{}index.html", &dir[1..])).is_some()
        {
            let target = match config.trailing_slash {
                Some(false) if dir.len() > 1 => dir.trim_end_matches('/').to_string(),
                _ => dir.to_string(),
            };
            return redirect(target, PIER_REDIRECT);
        }
        if let Some(stem) = path.strip_suffix(".html")
            && stem.len() > 1
            && site.file(&path[1..]).is_some()
        {
            return redirect(stem.to_string(), PIER_REDIRECT);
        }
    }
    match config.trailing_slash {
        Some(false) if path.len() > 1 && path.ends_with('/') => {
            return redirect(path.trim_end_matches('/').to_string(), PIER_REDIRECT);
        }
        Some(true) if !path.ends_with('/') && !has_extension(path) => {
            return redirect(format!("{path}/"), PIER_REDIRECT);
        }
        _ => {}
    }
    match lookup(site, path) {
        Lookup::File(entry) => return Resolution::File(entry),
        Lookup::Folder(entry) => {
            if config.trailing_slash == Some(false) {
                return Resolution::File(entry);
            }
            return redirect(format!("{path}/"), PIER_REDIRECT);
        }
        Lookup::Missing => {}
    }
    if let Some(destination) = config.rewrite_for(path) {
        match lookup(site, &destination) {
            Lookup::File(entry) | Lookup::Folder(entry) => return Resolution::File(entry),
            Lookup::Missing => {}
        }
    }
    if config.spa
        && !has_extension(path)
        && let Some(index) = site.file("index.html")
    {
        return Resolution::File(index);
    }
    Resolution::NotFound(site.file("404.html"))
}

enum Lookup<'a> {
    File(&'a FileEntry),
    /// `/a` names a folder with an index; served at `/a/`.
    Folder(&'a FileEntry),
    Missing,
}

fn lookup<'a>(site: &'a Site, path: &str) -> Lookup<'a> {
    let relative = path.trim_start_matches('/');
    if relative.is_empty() || relative.ends_with('/') {
        return site
            .file(&format!("{relative}index.html"))
            .map_or(Lookup::Missing, Lookup::File);
    }
    if let Some(entry) = site
        .file(relative)
        .or_else(|| site.file(&format!("{relative}.html")))
    {
        return Lookup::File(entry);
    }
    site.file(&format!("{relative}/index.html"))
        .map_or(Lookup::Missing, Lookup::Folder)
}

fn has_extension(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|name| name.rfind('.').is_some_and(|dot| dot > 0))
}

//! The route engine's own tests: path-to-regexp as Vercel compiles sources, Netlify paths,
//! `$` substitution, and the phases over a small file set. Config formats are tested through
//! `site_config`, and end to end through the proxy's conformance suite.

use super::fixtures::{TestFiles as Files, TestRequest as Request};
use super::substitute::{Captured, Target, substitute};
use super::*;

fn get(path: &'static str) -> Request<'static> {
    Request {
        path,
        ..Request::default()
    }
}

fn table(routes: Vec<RouteEntry>) -> Router {
    Router::new(&RouteTable {
        routes,
        ..RouteTable::default()
    })
    .unwrap()
}

fn route(src: &str) -> Route {
    Route {
        src: src.to_string(),
        ..Route::default()
    }
}

fn filesystem() -> RouteEntry {
    RouteEntry::Handle {
        handle: Phase::Filesystem,
    }
}

fn served(file: &str, status: u16) -> Outcome<String> {
    Outcome::File {
        file: file.to_string(),
        status,
        headers: vec![],
        query: None,
        transforms: vec![],
    }
}

fn matches(source: &str, path: &str) -> Option<Vec<Option<String>>> {
    let (regex, _) = path_to_regex(source).unwrap();
    let regex = fancy_regex::Regex::new(&regex).unwrap();
    let captures = regex.captures(path).unwrap()?;
    Some(
        (1..captures.len())
            .map(|i| captures.get(i).map(|m| m.as_str().to_string()))
            .collect(),
    )
}

fn some(values: &[&str]) -> Option<Vec<Option<String>>> {
    Some(values.iter().map(|v| Some(v.to_string())).collect())
}

#[test]
fn path_to_regexp_compiles_sources_as_vercel_does() {
    // The regexes routing-utils' `sourceToRegex` gives for these sources.
    assert_eq!(path_to_regex("/about").unwrap().0, "^/about$");
    assert_eq!(
        path_to_regex("/blog/:slug").unwrap(),
        (
            "^/blog(?:/([^/]+?))$".to_string(),
            vec![Some("slug".into())]
        )
    );
    assert_eq!(
        path_to_regex("/docs/:path*").unwrap().0,
        "^/docs(?:/((?:[^/]+?)(?:/(?:[^/]+?))*))?$"
    );
    assert_eq!(
        path_to_regex("/(.*)").unwrap(),
        ("^(?:/(.*))$".to_string(), vec![None])
    );
    assert_eq!(path_to_regex("/a.html").unwrap().0, r"^/a\.html$");
}

#[test]
fn path_to_regexp_parameters_match_what_they_say() {
    assert_eq!(matches("/blog/:slug", "/blog/hello"), some(&["hello"]));
    assert_eq!(matches("/blog/:slug", "/blog/a/b"), None);
    assert_eq!(matches("/blog/:slug", "/blog"), None);
    assert_eq!(matches("/docs/:path*", "/docs"), Some(vec![None]));
    assert_eq!(matches("/docs/:path*", "/docs/a/b"), some(&["a/b"]));
    assert_eq!(matches("/docs/:path+", "/docs"), None);
    assert_eq!(matches("/docs/:path+", "/docs/a/b"), some(&["a/b"]));
    assert_eq!(matches("/user/:id?", "/user"), Some(vec![None]));
    assert_eq!(matches("/user/:id?", "/user/7"), some(&["7"]));
    assert_eq!(matches("/post/:id(\\d+)", "/post/12"), some(&["12"]));
    assert_eq!(matches("/post/:id(\\d+)", "/post/ab"), None);
    assert_eq!(matches("/:slug.html", "/page.html"), some(&["page"]));
    assert_eq!(matches("/{:slug}-x", "/abc-x"), some(&["abc"]));
    assert_eq!(matches("/api/(.*)", "/api/a/b"), some(&["a/b"]));
    assert_eq!(
        matches("/:path((?!api$).*)", "/api"),
        None,
        "lookaheads work"
    );
    assert_eq!(matches("/:path((?!api$).*)", "/apis"), some(&["apis"]));
    assert_eq!(matches("/a\\:b", "/a:b"), Some(vec![]), "escaped colon");
}

#[test]
fn bad_sources_say_where() {
    for (source, words) in [
        ("/a/:", "no parameter name"),
        ("/a/(b", "unbalanced"),
        ("/a/(b(c))", "capturing group"),
        ("/a/()", "empty"),
        ("/a/{b", "without its `}`"),
        ("/a/*", "follows no parameter"),
    ] {
        let error = path_to_regex(source).unwrap_err();
        assert!(error.0.contains(words), "{source}: {error}");
    }
}

#[test]
fn destinations_take_parameters_by_capture_number() {
    let indexes = [("slug".to_string(), "$1".to_string())];
    assert_eq!(compile_destination("/new/:slug", &indexes), "/new/$1");
    assert_eq!(compile_destination("/new/:slug*", &indexes), "/new/$1");
    assert_eq!(
        compile_destination("https://x.dev:8443/:slug?ref=:slug", &indexes),
        "https://x.dev:8443/$1?ref=$1"
    );
    assert_eq!(
        compile_destination("/keep/:other", &indexes),
        "/keep/:other"
    );
    assert_eq!(compile_destination("/blog-{:slug}", &indexes), "/blog-$1");
    assert_eq!(compile_destination("/opt/:slug?", &indexes), "/opt/$1");
    assert_eq!(compile_destination("/a#:slug*", &indexes), "/a#$1");
}

#[test]
fn netlify_paths_take_splats_anywhere_and_a_trailing_slash() {
    let compiled = |pattern| {
        let (regex, _) = netlify_to_regex(pattern).unwrap();
        fancy_regex::Regex::new(&regex).unwrap()
    };
    let news = compiled("/news/*");
    for path in ["/news", "/news/", "/news/a/b"] {
        assert!(news.is_match(path).unwrap(), "{path}");
    }
    assert!(!news.is_match("/newsy").unwrap());
    let chunks = compiled("/*/_next/static/chunks/*");
    assert!(chunks.is_match("/en/_next/static/chunks/a.js").unwrap());
    let prefix = compiled("/test-*");
    assert!(prefix.is_match("/test-one").unwrap());
    assert!(!prefix.is_match("/tests").unwrap());
    let placeholder = compiled("/blog/:year/:month");
    assert!(placeholder.is_match("/blog/2024/05/").unwrap());
    assert!(!placeholder.is_match("/blog/2024").unwrap());
}

#[test]
fn substitution_encodes_captures_in_headers_only() {
    let captured = Captured {
        groups: vec![Some("/a b"), Some("a b&c"), None],
        named: vec![("slug", "x/y")],
    };
    assert_eq!(
        substitute("/to/$1?q=$1", &captured, Target::Location),
        "/to/a%20b&c?q=a%20b%26c"
    );
    assert_eq!(substitute("/to/$1", &captured, Target::Path), "/to/a b&c");
    assert_eq!(substitute("/$slug/$2", &captured, Target::Path), "/x/y/");
    assert_eq!(
        substitute("max-age=60, $1", &captured, Target::HeaderValue),
        "max-age=60, a%20b&c"
    );
    assert_eq!(
        substitute("$unknown and $", &captured, Target::Path),
        "$unknown and $"
    );
}

#[test]
fn files_are_found_as_pier_always_found_them() {
    let router = Router::default();
    let files = Files(&["index.html", "about.html", "docs/index.html", "a.txt"]);
    assert_eq!(router.route(&get("/"), &files), served("index.html", 200));
    assert_eq!(
        router.route(&get("/about"), &files),
        served("about.html", 200)
    );
    assert_eq!(
        router.route(&get("/about/"), &files),
        served("about.html", 200)
    );
    assert_eq!(router.route(&get("/a.txt"), &files), served("a.txt", 200));
    assert_eq!(
        router.route(&get("/docs"), &files),
        Outcome::Redirect {
            location: "/docs/".into(),
            status: 308,
            headers: vec![]
        }
    );
    assert_eq!(
        router.route(&get("/missing"), &files),
        Outcome::Error {
            status: 404,
            page: None,
            headers: vec![]
        }
    );
}

#[test]
fn a_redirect_keeps_the_query_unless_it_sets_one() {
    let mut redirect = route("/old/(.*)");
    redirect.headers = vec![("Location".into(), "/new/$1".into())];
    redirect.status = Some(301);
    let mut with_query = route("/q");
    with_query.headers = vec![("Location".into(), "/x?y=1".into())];
    with_query.status = Some(302);
    let router = table(vec![redirect.into(), with_query.into()]);
    let request = Request {
        path: "/old/a",
        query: Some("k=v"),
        ..Request::default()
    };
    let answer = router.route(&request, &Files(&[]));
    assert!(
        matches!(&answer, Outcome::Redirect { location, status: 301, .. } if location == "/new/a?k=v"),
        "{answer:?}"
    );
    let request = Request {
        path: "/q",
        query: Some("k=v"),
        ..Request::default()
    };
    assert!(matches!(
        router.route(&request, &Files(&[])),
        Outcome::Redirect { location, .. } if location == "/x?y=1"
    ));
}

#[test]
fn check_rewrites_fall_through_when_their_destination_is_not_a_file() {
    let mut first = route("/app/(.*)");
    first.dest = Some("/missing.html".into());
    first.check = true;
    // As in Vercel's router, the path is now the missed destination.
    let mut second = route("/missing.html");
    second.dest = Some("/app.html".into());
    second.check = true;
    let router = table(vec![filesystem(), first.into(), second.into()]);
    let files = Files(&["app.html", "app/real.html"]);
    assert_eq!(
        router.route(&get("/app/x"), &files),
        served("app.html", 200)
    );
    assert_eq!(
        router.route(&get("/app/real.html"), &files),
        served("app/real.html", 200),
        "a file shadows routes after the filesystem"
    );
}

#[test]
fn routes_before_the_filesystem_win_over_files_and_can_set_a_status() {
    let mut closed = route("/shop/(.*)");
    closed.dest = Some("/closed.html".into());
    closed.status = Some(404);
    let router = table(vec![closed.into()]);
    let files = Files(&["closed.html", "shop/item.html"]);
    assert_eq!(
        router.route(&get("/shop/item.html"), &files),
        served("closed.html", 404)
    );
}

#[test]
fn header_routes_add_up_and_hit_routes_never_replace() {
    let mut all = route("/(.*)");
    all.headers = vec![("X-A".into(), "1".into()), ("X-B".into(), "1".into())];
    all.continue_ = true;
    let mut later = route("/page");
    later.headers = vec![("x-b".into(), "2".into())];
    later.continue_ = true;
    let mut hit = route("/(.*)");
    hit.headers = vec![("X-A".into(), "hit".into()), ("X-C".into(), "hit".into())];
    hit.continue_ = true;
    let router = table(vec![
        all.into(),
        later.into(),
        RouteEntry::Handle { handle: Phase::Hit },
        hit.into(),
    ]);
    let answer = router.route(&get("/page"), &Files(&["page.html"]));
    assert_eq!(
        answer,
        Outcome::File {
            file: "page.html".to_string(),
            status: 200,
            headers: vec![
                ("X-A".into(), "1".into()),
                ("X-B".into(), "2".into()),
                ("X-C".into(), "hit".into()),
            ],
            query: None,
            transforms: vec![],
        }
    );
}

#[test]
fn conditions_match_host_headers_cookies_and_query() {
    let mut by_cookie = route("/(.*)");
    by_cookie.has = vec![Condition::Cookie {
        key: "lang".into(),
        value: Some("(?<lang>fr|de)".into()),
    }];
    by_cookie.headers = vec![("Location".into(), "/$lang/$1".into())];
    by_cookie.status = Some(307);
    let mut not_for_bots = route("/secret");
    not_for_bots.missing = vec![Condition::Header {
        key: "User-Agent".into(),
        value: Some(".*bot.*".into()),
    }];
    not_for_bots.dest = Some("/hidden/page.html".into());
    let mut by_host = route("/(.*)");
    by_host.has = vec![Condition::Host {
        value: "old\\.example\\.com".into(),
    }];
    by_host.headers = vec![("Location".into(), "https://new.example.com/$1".into())];
    by_host.status = Some(308);
    let mut by_query = route("/search");
    by_query.has = vec![Condition::Query {
        key: "q".into(),
        value: None,
    }];
    by_query.dest = Some("/results.html".into());
    let router = table(vec![
        by_cookie.into(),
        not_for_bots.into(),
        by_host.into(),
        by_query.into(),
    ]);
    let files = Files(&["hidden/page.html", "results.html", "search.html"]);
    let redirect_of = |request: Request| match router.route(&request, &files) {
        Outcome::Redirect { location, .. } => Some(location),
        _ => None,
    };
    assert_eq!(
        redirect_of(Request {
            path: "/page",
            headers: vec![("cookie", "a=1; lang=fr")],
            ..Request::default()
        })
        .as_deref(),
        Some("/fr/page")
    );
    assert_eq!(
        redirect_of(Request {
            path: "/page",
            headers: vec![("cookie", "lang=en")],
            ..Request::default()
        }),
        None
    );
    assert_eq!(
        redirect_of(Request {
            path: "/x",
            host: "old.example.com",
            ..Request::default()
        })
        .as_deref(),
        Some("https://new.example.com/x")
    );
    assert_eq!(
        router.route(&get("/secret"), &files),
        served("hidden/page.html", 200)
    );
    let bot = Request {
        path: "/secret",
        headers: vec![("user-agent", "goodbot/1.0")],
        ..Request::default()
    };
    assert!(matches!(
        router.route(&bot, &files),
        Outcome::Error { status: 404, .. }
    ));
    let search = Request {
        path: "/search",
        query: Some("q=pier"),
        ..Request::default()
    };
    assert_eq!(router.route(&search, &files), served("results.html", 200));
    assert_eq!(
        router.route(&get("/search"), &files),
        served("search.html", 200)
    );
}

#[test]
fn the_error_phase_picks_the_not_found_page() {
    let mut custom = route("/(.*)");
    custom.dest = Some("/errors/404.html".into());
    custom.status = Some(404);
    let router = table(vec![
        RouteEntry::Handle {
            handle: Phase::Error,
        },
        custom.into(),
    ]);
    assert_eq!(
        router.route(&get("/nope"), &Files(&["errors/404.html", "404.html"])),
        Outcome::Error {
            status: 404,
            page: Some("errors/404.html".to_string()),
            headers: vec![]
        }
    );
    assert_eq!(
        Router::default().route(&get("/nope"), &Files(&["404.html"])),
        Outcome::Error {
            status: 404,
            page: Some("404.html".to_string()),
            headers: vec![]
        }
    );
}

#[test]
fn tables_round_trip_as_config_json_writes_them() {
    let text = r#"[{"src":"/a","headers":{"Location":"/b","X-Z":"1"},"status":308},{"handle":"filesystem"},{"src":"/(.*)","dest":"/index.html","check":true}]"#;
    let routes: Vec<RouteEntry> = serde_json::from_str(text).unwrap();
    assert_eq!(routes.len(), 3);
    assert_eq!(serde_json::to_string(&routes).unwrap(), text);
}

#[test]
fn a_bad_regex_is_refused_with_its_place() {
    let error = Router::new(&RouteTable {
        routes: vec![route("/ok").into(), route("/(unclosed").into()],
        ..RouteTable::default()
    })
    .unwrap_err();
    assert_eq!(error.index, 1);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever a config file says, compiling it never panics, and what compiles runs.
        #[test]
        fn any_vercel_source_compiles_or_is_refused(source in "[/:a-z0-9()*+?{}\\\\.|^$\\[\\]-]{0,24}") {
            // A parameter's own `(regex)` may still be invalid; the deploy's final compile
            // refuses that. Everything else lines up: one capture group per parameter.
            if let Ok((regex, keys)) = path_to_regex(&source)
                && let Ok(compiled) = fancy_regex::Regex::new(&regex)
            {
                prop_assert_eq!(compiled.captures_len(), keys.len() + 1, "{:?} → {:?}", source, regex);
            }
        }

        #[test]
        fn any_netlify_path_compiles(path in "/[a-z0-9:*/. %()\\[\\]+?^$|{}-]{0,24}") {
            let (regex, keys) = netlify_to_regex(&path).unwrap();
            let compiled = fancy_regex::Regex::new(&regex).unwrap();
            prop_assert_eq!(compiled.captures_len(), keys.len() + 1);
        }

        #[test]
        fn substitution_never_panics(template in "\\PC{0,32}", value in "\\PC{0,16}") {
            let captured = Captured {
                groups: vec![Some(value.as_str()), Some(value.as_str())],
                named: vec![("name", value.as_str())],
            };
            for target in [Target::Location, Target::HeaderValue, Target::Path] {
                let out = substitute(&template, &captured, target);
                if target == Target::Location {
                    prop_assert!(out.bytes().all(|b| b.is_ascii_graphic()), "{out:?}");
                }
            }
        }
    }
}

//! The route engine: a deployment's [`RouteTable`] compiled once (regexes and conditions) and
//! run for each request, Vercel's phases in order.
//!
//! 1. Routes before any `handle` marker. A redirect or an error status ends the request; a
//!    `check` route whose destination is a file serves it.
//! 2. The filesystem: the path (possibly rewritten) as a file: `/dir/` → `dir/index.html`
//!    (else `dir.html`); `/a` → `a`, else `a.html`, else `a/index.html`, which redirects (308)
//!    to `/a/` unless the table says folders go without a slash. A table with `exact_names`
//!    (Vercel without `cleanUrls`) skips the `.html` guesses.
//! 3. `filesystem` routes, then `rewrite` routes (Vercel's rewrites, Netlify's unforced rules),
//!    4. `miss` routes. A matched route that is not `check` ends routing: its destination is
//!    served if it is a file, and the request is otherwise not found.
//! 5. Not found: `error` routes, then the deployment's own `404.html`, with status 404.
//!
//! `hit` routes add headers to a found file without replacing any. Header routes (`continue`)
//! add or replace headers by name as they match; a redirect keeps the query string of the
//! request unless its `Location` has one (RFC 9110 §10.2.2 leaves this to the server).

use fancy_regex::{Regex, RegexBuilder};

use super::conditions::{self, Compiled as Condition};
use super::request::Incoming;
use super::substitute::{Captured, Target, substitute};
use super::transforms::{Transform, TransformTarget, is_header_name};
use super::{Phase, Route, RouteEntry, RouteTable};

/// The deployment's files, by relative path (no leading `/`).
pub trait FileLookup {
    type File: Clone;
    fn file(&self, path: &str) -> Option<Self::File>;
}

/// How a request is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<F> {
    File {
        file: F,
        status: u16,
        headers: Vec<(String, String)>,
        /// The query the rewrites' destinations added (`dest: "/fn?x=1"`), in order: a
        /// function gets it on top of the request's own.
        query: Option<String>,
        /// The matched routes' `transforms`, in order.
        transforms: Vec<Transform>,
    },
    Redirect {
        location: String,
        status: u16,
        headers: Vec<(String, String)>,
    },
    /// An error status; `page` is the file to show with it, if the deployment has one.
    Error {
        status: u16,
        page: Option<F>,
        headers: Vec<(String, String)>,
    },
}

/// A route that cannot be compiled: its place in the list and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("route {index} (`{src}`): {problem}")]
pub struct RouterError {
    pub index: usize,
    pub src: String,
    pub problem: String,
}

#[derive(Debug)]
struct CompiledRoute {
    regex: Regex,
    route: Route,
    has: Vec<Condition>,
    missing: Vec<Condition>,
}

/// One phase's routes, and a set of their regexes that screens them all in one pass, so a
/// long list costs about what one route does. Routes whose regex only fancy-regex can run
/// (lookarounds) are not in the set and are always tried.
#[derive(Debug, Default)]
struct PhaseRoutes {
    routes: Vec<CompiledRoute>,
    screen: Option<regex::RegexSet>,
    /// For each route, its pattern's index in `screen`.
    in_screen: Vec<Option<usize>>,
}

impl PhaseRoutes {
    fn push(&mut self, route: CompiledRoute) {
        self.routes.push(route);
    }

    fn build_screen(&mut self) {
        let mut patterns = Vec::new();
        self.in_screen = self
            .routes
            .iter()
            .map(|compiled| {
                let flags = if compiled.route.case_sensitive {
                    ""
                } else {
                    "(?i)"
                };
                let pattern = format!("{flags}{}", anchored(&compiled.route.src));
                regex::Regex::new(&pattern).ok()?;
                patterns.push(pattern);
                Some(patterns.len() - 1)
            })
            .collect();
        if patterns.len() > 1 {
            self.screen = regex::RegexSet::new(&patterns).ok();
        }
        if self.screen.is_none() {
            self.in_screen = vec![None; self.routes.len()];
        }
    }
}

/// A deployment's routes, ready to run.
#[derive(Debug, Default)]
pub struct Router {
    main: PhaseRoutes,
    filesystem: PhaseRoutes,
    rewrite: PhaseRoutes,
    miss: PhaseRoutes,
    hit: PhaseRoutes,
    error: PhaseRoutes,
    folders_without_slash: bool,
    exact_names: bool,
}

/// Regexes are the user's; a pathological one gives up instead of stalling the edge.
const BACKTRACK_LIMIT: usize = 100_000;

/// Adds the anchors Vercel's `normalizeRoutes` adds, and drops its needless `\/` escapes.
pub(super) fn anchored(src: &str) -> String {
    let src = src.replace("\\/", "/");
    let start = if src.starts_with('^') { "" } else { "^" };
    let end = if src.ends_with('$') && !src.ends_with("\\$") {
        ""
    } else {
        "$"
    };
    format!("{start}{src}{end}")
}

impl Router {
    pub fn new(table: &RouteTable) -> Result<Router, RouterError> {
        let mut router = Router {
            folders_without_slash: table.folders_without_slash,
            exact_names: table.exact_names,
            ..Router::default()
        };
        let mut phase: Option<Phase> = None;
        for (index, entry) in table.routes.iter().enumerate() {
            let route = match entry {
                RouteEntry::Handle { handle } => {
                    phase = Some(*handle);
                    continue;
                }
                RouteEntry::Route(route) => route,
            };
            let failed = |problem: String| RouterError {
                index,
                src: route.src.clone(),
                problem,
            };
            let regex = RegexBuilder::new(&anchored(&route.src))
                .case_insensitive(!route.case_sensitive)
                .backtrack_limit(BACKTRACK_LIMIT)
                .build()
                .map_err(|e| failed(format!("not a valid regular expression: {e}")))?;
            let compile_all = |list: &[super::Condition]| {
                list.iter()
                    .map(conditions::compile)
                    .collect::<Result<Vec<_>, _>>()
            };
            if let Some(bad) = route.transforms.iter().find(|transform| {
                transform.applies_to != TransformTarget::RequestQuery
                    && !is_header_name(&transform.target.key)
            }) {
                return Err(failed(format!(
                    "transforms: `{}` is not a header name",
                    bad.target.key
                )));
            }
            let compiled = CompiledRoute {
                regex,
                has: compile_all(&route.has).map_err(failed)?,
                missing: compile_all(&route.missing).map_err(failed)?,
                route: (**route).clone(),
            };
            match phase {
                None => router.main.push(compiled),
                Some(Phase::Filesystem) => router.filesystem.push(compiled),
                Some(Phase::Rewrite) => router.rewrite.push(compiled),
                Some(Phase::Miss) => router.miss.push(compiled),
                Some(Phase::Hit) => router.hit.push(compiled),
                Some(Phase::Error) => router.error.push(compiled),
            }
        }
        for phase in [
            &mut router.main,
            &mut router.filesystem,
            &mut router.rewrite,
            &mut router.miss,
            &mut router.hit,
            &mut router.error,
        ] {
            phase.build_screen();
        }
        Ok(router)
    }

    /// How to answer `request` from `files`.
    pub fn route<L: FileLookup>(&self, request: &dyn Incoming, files: &L) -> Outcome<L::File> {
        let mut walk = Walk {
            path: request.path().to_string(),
            moves: 0,
            status: None,
            headers: Vec::new(),
            query: None,
            transforms: Vec::new(),
        };
        match self.run(&self.main, PhaseKind::Main, request, files, &mut walk) {
            End::Ran | End::Matched => {}
            End::Finished(outcome) => return self.finish(outcome, request, files, walk),
        }
        match self.lookup(files, &walk.path) {
            Found::File(file) => return self.found(file, request, files, walk),
            Found::Folder(file) if self.folders_without_slash => {
                return self.found(file, request, files, walk);
            }
            Found::Folder(_) => {
                let location = format!("{}/", walk.path);
                return self.finish(Finish::Redirect(location, 308), request, files, walk);
            }
            Found::Missing => {}
        }
        let looked_up = walk.path.clone();
        for (routes, kind) in [
            (&self.filesystem, PhaseKind::Later),
            (&self.rewrite, PhaseKind::Later),
            (&self.miss, PhaseKind::Miss),
        ] {
            // Each phase starts from the path the filesystem was asked for: a `check` route that
            // missed chains only within its own phase.
            walk.move_to(looked_up.clone());
            match self.run(routes, kind, request, files, &mut walk) {
                End::Ran => {}
                End::Matched => {
                    return match self.lookup(files, &walk.path).file() {
                        Some(file) => self.found(file, request, files, walk),
                        None => self.finish(Finish::Error(404), request, files, walk),
                    };
                }
                End::Finished(outcome) => return self.finish(outcome, request, files, walk),
            }
        }
        let status = walk.status.filter(|status| *status >= 400).unwrap_or(404);
        self.finish(Finish::Error(status), request, files, walk)
    }

    fn found<L: FileLookup>(
        &self,
        file: L::File,
        request: &dyn Incoming,
        files: &L,
        mut walk: Walk,
    ) -> Outcome<L::File> {
        self.run(&self.hit, PhaseKind::Hit, request, files, &mut walk);
        Outcome::File {
            file,
            status: walk.status.unwrap_or(200),
            headers: walk.headers,
            query: walk.query,
            transforms: walk.transforms,
        }
    }

    fn finish<L: FileLookup>(
        &self,
        finish: Finish<L::File>,
        request: &dyn Incoming,
        files: &L,
        mut walk: Walk,
    ) -> Outcome<L::File> {
        match finish {
            Finish::File(file) => self.found(file, request, files, walk),
            Finish::Redirect(location, status) => {
                let location = match request.query() {
                    Some(query) if !location.contains('?') => format!("{location}?{query}"),
                    _ => location,
                };
                walk.headers
                    .retain(|(name, _)| !name.eq_ignore_ascii_case("location"));
                Outcome::Redirect {
                    location,
                    status,
                    headers: walk.headers,
                }
            }
            Finish::Error(status) => {
                walk.status = Some(status);
                if let End::Matched =
                    self.run(&self.error, PhaseKind::Error, request, files, &mut walk)
                    && let Some(page) = self.lookup(files, &walk.path).file()
                {
                    return Outcome::Error {
                        status: walk.status.unwrap_or(status),
                        page: Some(page),
                        headers: walk.headers,
                    };
                }
                let page = (status == 404).then(|| files.file("404.html")).flatten();
                Outcome::Error {
                    status,
                    page,
                    headers: walk.headers,
                }
            }
        }
    }

    fn run<L: FileLookup>(
        &self,
        phase: &PhaseRoutes,
        kind: PhaseKind,
        request: &dyn Incoming,
        files: &L,
        walk: &mut Walk,
    ) -> End<L::File> {
        // Which screened routes can match the path, worked out again when the path changes
        // (`Walk::moves` counts the changes).
        let mut screened: Option<(usize, regex::SetMatches)> = None;
        let mut index = 0;
        while index < phase.routes.len() {
            if let Some(screen) = &phase.screen {
                if screened
                    .as_ref()
                    .is_none_or(|(moves, _)| *moves != walk.moves)
                {
                    screened = Some((walk.moves, screen.matches(&walk.path)));
                }
                let matches = &screened.as_ref().expect("just set").1;
                // Straight to the next route the screen lets through or cannot judge.
                let next = (index..phase.routes.len()).find(|&candidate| {
                    phase.in_screen[candidate].is_none_or(|slot| matches.matched(slot))
                });
                match next {
                    Some(candidate) => index = candidate,
                    None => break,
                }
            }
            let compiled = &phase.routes[index];
            index += 1;
            let route = &compiled.route;
            if !route.methods.is_empty()
                && !route
                    .methods
                    .iter()
                    .any(|method| method.eq_ignore_ascii_case(request.method()))
            {
                continue;
            }
            let Ok(Some(captures)) = compiled.regex.captures(&walk.path) else {
                continue;
            };
            let mut named: Vec<(String, String)> = Vec::new();
            if !compiled
                .has
                .iter()
                .all(|condition| conditions::holds(condition, request, &mut named))
            {
                continue;
            }
            let mut ignored = Vec::new();
            if compiled
                .missing
                .iter()
                .any(|condition| conditions::holds(condition, request, &mut ignored))
            {
                continue;
            }
            for name in compiled.regex.capture_names().flatten() {
                if let Some(found) = captures.name(name) {
                    named.push((name.to_string(), found.as_str().to_string()));
                }
            }
            let captured = Captured {
                groups: (0..captures.len())
                    .map(|index| captures.get(index).map(|found| found.as_str()))
                    .collect(),
                named: named
                    .iter()
                    .map(|(name, value)| (name.as_str(), value.as_str()))
                    .collect(),
            };
            let mut location = None;
            for (name, template) in &route.headers {
                let is_location = name.eq_ignore_ascii_case("location");
                let target = if is_location {
                    Target::Location
                } else {
                    Target::HeaderValue
                };
                let mut value = substitute(template, &captured, target);
                // `/$1/` with nothing captured must not become `//`, which names another host.
                if is_location && value.starts_with("//") && !template.starts_with("//") {
                    value = format!("/{}", value.trim_start_matches('/'));
                }
                if is_location {
                    location = Some(value.clone());
                }
                let keep_earlier = matches!(kind, PhaseKind::Hit | PhaseKind::Miss);
                set_header(&mut walk.headers, name, value, keep_earlier);
            }
            walk.transforms.extend(route.transforms.iter().cloned());
            let dest = route
                .dest
                .as_deref()
                .map(|dest| substitute(dest, &captured, Target::Path));
            if route.continue_ {
                if let Some(dest) = dest {
                    walk.move_to_destination(&dest);
                }
                if route.status.is_some() {
                    walk.status = route.status;
                }
                continue;
            }
            if let (Some(status @ 300..=399), Some(location)) = (route.status, location) {
                return End::Finished(Finish::Redirect(location, status));
            }
            if let Some(dest) = &dest {
                walk.move_to_destination(dest);
            }
            if route.status.is_some() {
                walk.status = route.status;
            }
            if route.check && kind != PhaseKind::Hit {
                if let Some(file) = self.lookup(files, &walk.path).file() {
                    return End::Finished(Finish::File(file));
                }
                match route.status {
                    Some(status) if kind != PhaseKind::Miss => {
                        return End::Finished(Finish::Error(status));
                    }
                    _ => continue,
                }
            }
            if dest.is_none()
                && let Some(status @ 400..) = route.status
            {
                return End::Finished(Finish::Error(status));
            }
            return End::Matched;
        }
        End::Ran
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PhaseKind {
    Main,
    Later,
    Miss,
    Hit,
    Error,
}

enum End<F> {
    /// No route ended the phase.
    Ran,
    /// A route ended the phase with the path set to its destination.
    Matched,
    Finished(Finish<F>),
}

enum Finish<F> {
    File(F),
    Redirect(String, u16),
    Error(u16),
}

struct Walk {
    path: String,
    /// How many times `path` has changed.
    moves: usize,
    status: Option<u16>,
    headers: Vec<(String, String)>,
    query: Option<String>,
    transforms: Vec<Transform>,
}

impl Walk {
    fn move_to(&mut self, path: String) {
        self.path = path;
        self.moves += 1;
    }

    fn move_to_destination(&mut self, dest: &str) {
        self.move_to(path_of(dest));
        let query = dest
            .split_once('?')
            .map(|(_, query)| query.split('#').next().unwrap_or_default())
            .filter(|query| !query.is_empty());
        if let Some(query) = query {
            self.query = Some(match self.query.take() {
                Some(earlier) => format!("{earlier}&{query}"),
                None => query.to_string(),
            });
        }
    }
}

fn set_header(headers: &mut Vec<(String, String)>, name: &str, value: String, keep_earlier: bool) {
    match headers
        .iter_mut()
        .find(|(seen, _)| seen.eq_ignore_ascii_case(name))
    {
        Some(_) if keep_earlier => {}
        Some(earlier) => earlier.1 = value,
        None => headers.push((name.to_string(), value)),
    }
}

/// A destination's path: no query or fragment, a leading `/`.
fn path_of(dest: &str) -> String {
    let path = dest.find(['?', '#']).map_or(dest, |end| &dest[..end]);
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    }
}

enum Found<F> {
    File(F),
    /// `/a` names a folder with an index, served at `/a/`.
    Folder(F),
    Missing,
}

impl<F> Found<F> {
    fn file(self) -> Option<F> {
        match self {
            Found::File(file) | Found::Folder(file) => Some(file),
            Found::Missing => None,
        }
    }
}

impl Router {
    fn lookup<L: FileLookup>(&self, files: &L, path: &str) -> Found<L::File> {
        let relative = path.trim_start_matches('/');
        let html = |name: &str| {
            (!self.exact_names)
                .then(|| files.file(&format!("{name}.html")))
                .flatten()
        };
        if relative.is_empty() {
            // `index` is a Build Output's function for `/` (`functions/index.func`).
            return files
                .file("index.html")
                .or_else(|| files.file("index"))
                .map_or(Found::Missing, Found::File);
        }
        if let Some(folder) = relative.strip_suffix('/') {
            // Vercel's filesystem finds `/about/` at `about` too: SvelteKit's adapter rewrites a
            // prerendered `/about` to `/about/` and serves the page from an override at `about`.
            let exact = || self.exact_names.then(|| files.file(folder)).flatten();
            return files
                .file(&format!("{relative}index.html"))
                .or_else(|| html(folder))
                .or_else(exact)
                .map_or(Found::Missing, Found::File);
        }
        if let Some(file) = files.file(relative).or_else(|| html(relative)) {
            return Found::File(file);
        }
        files
            .file(&format!("{relative}/index.html"))
            .map_or(Found::Missing, Found::Folder)
    }
}

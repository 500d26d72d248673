//! No module of a Pier crate depends, through others, on itself: the graph of `use` edges
//! between the modules of each crate has no cycle (what `cargo modules dependencies --acyclic`
//! checks, done here from the source so the check costs no extra tool in CI).
//!
//! An edge A → B is any path in A's non-test code that names B: `crate::b::…` (also inside
//! `crate::{…}` groups) and `super::…`. A folder module and the modules inside it count as one
//! unit (the folder declares and re-exports them, and what it defines is theirs), so the
//! cycles found are between modules that are not nested in each other: siblings and cousins.
//! Such a cycle means two modules cannot be read, tested or moved apart; the fix is a leaf
//! module holding what both name (as `pier_app::payloads` and `ui::screens::setup_run` do).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use pier_tests::repo_root;

/// Every Pier crate with more than one module (the builder is one `main.rs`).
const CRATES: [&str; 7] = [
    "backend/src",
    "backend/aws/src",
    "backend/app/src",
    "backend/cli/src",
    "proxy/src",
    "src-tauri/src",
    "ui/src",
];

type Graph = BTreeMap<String, BTreeSet<String>>;

/// Module path (`setup::step`, `` for the crate root) → its file, test folders left out.
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, src: &Path, into: &mut BTreeMap<String, PathBuf>) {
        for entry in fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if name != "tests" {
                    walk(&path, src, into);
                }
            } else if let Some(stem) = name.strip_suffix(".rs") {
                // A binary beside a library is a crate of its own that uses the library.
                if stem == "main" && dir.join("lib.rs").exists() {
                    continue;
                }
                let relative = path.parent().unwrap().strip_prefix(src).unwrap();
                let mut segments: Vec<String> = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if !matches!(stem, "mod" | "lib" | "main") {
                    segments.push(stem.to_string());
                }
                into.insert(segments.join("::"), path);
            }
        }
    }
    let mut found = BTreeMap::new();
    walk(src, src, &mut found);
    found
}

/// The code a module compiles outside tests, without line comments.
fn code_of(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap();
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The paths written after `prefix::` at `text[at..]`: `a::b::C`, or each item of a
/// `{a, b::{C, D}}` group (its module prefixes are what matter here).
fn paths_at(text: &str, at: usize, prefix: &[String], into: &mut Vec<Vec<String>>) {
    let mut segments = prefix.to_vec();
    let mut rest = &text[at..];
    loop {
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut item_start = 0;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' | ',' if depth == 1 => {
                        let item = group[item_start..i].trim();
                        if !item.is_empty() && item != "self" {
                            paths_at(item, 0, &segments, into);
                        }
                        item_start = i + 1;
                        if c == '}' {
                            break;
                        }
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            into.push(segments);
            return;
        }
        let end = rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len());
        if end == 0 {
            into.push(segments);
            return;
        }
        segments.push(rest[..end].to_string());
        rest = &rest[end..];
        match rest.strip_prefix("::") {
            Some(next) => rest = next,
            None => {
                into.push(segments);
                return;
            }
        }
    }
}

fn graph(src: &Path) -> Graph {
    let modules = modules(src);
    let mut graph = Graph::new();
    for (module, file) in &modules {
        let code = code_of(file);
        let own: Vec<String> = if module.is_empty() {
            Vec::new()
        } else {
            module.split("::").map(str::to_string).collect()
        };
        let mut paths = Vec::new();
        for (at, _) in code.match_indices("crate::") {
            if code[..at].ends_with(|c: char| is_ident(c) || c == ':') {
                continue;
            }
            paths_at(&code, at + "crate::".len(), &[], &mut paths);
        }
        for (at, _) in code.match_indices("super::") {
            if code[..at].ends_with(|c: char| is_ident(c) || c == ':') {
                continue;
            }
            // Each `super` is one module up from this one (a folder's `mod.rs` is the folder).
            let mut base = own.clone();
            let mut rest = at;
            while code[rest..].starts_with("super::") {
                base.pop();
                rest += "super::".len();
            }
            paths_at(&code, rest, &base, &mut paths);
        }
        graph.entry(module.clone()).or_default();
        for path in paths {
            // The longest prefix of the path that is a module is what it depends on.
            let target = (1..=path.len())
                .rev()
                .map(|n| path[..n].join("::"))
                .find(|candidate| modules.contains_key(candidate));
            if let Some((from, to)) = target.and_then(|target| between_units(&own, &target)) {
                graph.entry(from).or_default().insert(to);
            }
        }
    }
    graph
}

/// The edge `from` → `to` as one between units: a folder module and everything inside it
/// are one unit (the folder declares and re-exports its children, and what it defines is
/// theirs), so `a::x` → `b::y` is the edge `a` → `b`, and `a::x` → `a` is none.
fn between_units(from: &[String], to: &str) -> Option<(String, String)> {
    let to: Vec<&str> = to.split("::").collect();
    let shared = from
        .iter()
        .zip(&to)
        .take_while(|(a, b)| a.as_str() == **b)
        .count();
    if shared == from.len() || shared == to.len() {
        return None;
    }
    Some((from[..=shared].join("::"), to[..=shared].join("::")))
}

/// The strongly connected components with more than one module (Tarjan's algorithm).
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    struct State<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'g>(state: &mut State<'g>, node: &'g str) {
        let next = state.index.len();
        state.index.insert(node, next);
        state.low.insert(node, next);
        state.stack.push(node);
        state.on_stack.insert(node);
        for target in state.graph.get(node).into_iter().flatten() {
            if !state.index.contains_key(target.as_str()) {
                visit(state, target);
                let low = state.low[node].min(state.low[target.as_str()]);
                state.low.insert(node, low);
            } else if state.on_stack.contains(target.as_str()) {
                let low = state.low[node].min(state.index[target.as_str()]);
                state.low.insert(node, low);
            }
        }
        if state.low[node] == state.index[node] {
            let mut component = Vec::new();
            while let Some(member) = state.stack.pop() {
                state.on_stack.remove(member);
                component.push(member.to_string());
                if member == node {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                state.found.push(component);
            }
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !state.index.contains_key(node.as_str()) {
            visit(&mut state, node);
        }
    }
    state.found
}

#[test]
fn no_crate_has_a_cycle_between_its_modules() {
    let mut problems = Vec::new();
    for src in CRATES {
        let graph = graph(&repo_root().join(src));
        assert!(graph.len() > 2, "{src}: found only {:?}", graph.keys());
        for cycle in cycles(&graph) {
            let edges: Vec<String> = cycle
                .iter()
                .map(|module| {
                    let inside: Vec<&String> = graph[module]
                        .iter()
                        .filter(|target| cycle.contains(target))
                        .collect();
                    format!("{module} → {inside:?}")
                })
                .collect();
            problems.push(format!("{src}: {edges:#?}"));
        }
    }
    assert!(
        problems.is_empty(),
        "modules that depend on each other; move what both name into a leaf module:\n{}",
        problems.join("\n")
    );
}

/// The checker itself finds the cycle it is for: the one pier-app had between its events and
/// the modules that emit them; a folder module and its child naming each other is no cycle.
#[test]
fn the_checker_finds_a_known_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    fs::write(
        src.join("lib.rs"),
        "//! x\npub mod events;\npub mod watches;\npub mod setup;\n",
    )
    .unwrap();
    fs::write(
        src.join("events.rs"),
        "//! x\nuse super::watches::WatchView;\npub enum AppEvent { Watch(WatchView) }\n",
    )
    .unwrap();
    fs::write(
        src.join("watches.rs"),
        "//! x\nuse crate::{events::AppEvent, setup};\npub struct WatchView;\n",
    )
    .unwrap();
    fs::create_dir(src.join("setup")).unwrap();
    fs::write(
        src.join("setup/mod.rs"),
        "//! x\npub mod step;\npub struct Change;\npub fn run() { step::ensure() }\n",
    )
    .unwrap();
    fs::write(
        src.join("setup/step.rs"),
        "//! x\nuse crate::setup::Change;\npub fn ensure() {}\n#[cfg(test)]\nmod tests { use crate::events; }\n",
    )
    .unwrap();
    let graph = graph(src);
    assert_eq!(
        cycles(&graph),
        vec![vec!["events".to_string(), "watches".to_string()]]
    );
    assert!(graph["watches"].contains("events") && graph["watches"].contains("setup"));
    // Test code does not count: step's tests name events, and that is no edge.
    assert!(!graph["setup::step"].contains("events"));
}

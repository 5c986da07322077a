//! The repository's own rules, checked by `cargo test`: simulation code has no
//! source of nondeterminism (thread RNGs, the wall clock, hash-ordered maps);
//! wall-clock time is allowed only in files listed in `WALL_CLOCK_OK`. And the
//! layering ARCHITECTURE.md describes: no import cycle between a crate's
//! top-level modules, checkers independent of the scenario format.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const BANNED: [(&str, &str); 8] = [
    ("thread_rng", "use the actor's seeded RNG"),
    ("rand::random", "use the actor's seeded RNG"),
    ("rand::rng()", "use the actor's seeded RNG"),
    ("from_entropy", "seed from the run's seed"),
    ("SystemTime::now", "use simulated time"),
    ("Instant::now", "use simulated time"),
    (
        "HashMap",
        "use BTreeMap or IndexMap: iteration order must not depend on a random hasher",
    ),
    (
        "HashSet",
        "use BTreeSet or IndexSet: iteration order must not depend on a random hasher",
    ),
];

/// Files that may read the wall clock (benchmarks, progress bars).
const WALL_CLOCK_OK: [&str; 1] = ["src/cli/bench.rs"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn simulation_code_has_no_nondeterminism() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in [
        "harness/src",
        "models/src",
        "src",
        "examples/order-service/src",
    ] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(
        files.len() > 10,
        "the tidy test found too few files: {files:?}"
    );
    let mut problems = Vec::new();
    for file in &files {
        let rel = file
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            for (pattern, fix) in BANNED {
                let clock = pattern.ends_with("::now");
                if code.contains(pattern) && !(clock && WALL_CLOCK_OK.contains(&rel.as_str())) {
                    problems.push(format!("{rel}:{}: `{pattern}`: {fix}", n + 1));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "nondeterminism in simulation code:\n{}",
        problems.join("\n")
    );
}

/// Every path a piece of Rust code names: each `use` tree expanded
/// (`use crate::{a::X, b::{c, d}}` names `crate::a::X`, `crate::b::c`,
/// `crate::b::d`, across lines), and every inline `crate::`, `$crate::`,
/// `super::` and `self::` path. Line comments are dropped first.
fn named_paths(text: &str) -> Vec<String> {
    let code: String = (text.lines())
        .map(|l| l.split("//").next().unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = Vec::new();
    fn expand(prefix: &str, tree: &str, out: &mut Vec<String>) {
        let tree = tree.trim();
        if let Some(open) = tree.find('{') {
            let head = tree[..open].trim().trim_end_matches("::");
            let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
            let (mut depth, mut start) = (0, 0);
            let prefix = join(prefix, head);
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand(&prefix, &inner[start..i], out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            expand(&prefix, &inner[start..], out);
        } else if !tree.is_empty() {
            let path = tree.split(" as ").next().unwrap().trim();
            out.push(join(prefix, path));
        }
    }
    fn join(a: &str, b: &str) -> String {
        match (a.is_empty(), b.is_empty()) {
            (true, _) => b.to_string(),
            (_, true) => a.to_string(),
            _ => format!("{a}::{b}"),
        }
    }
    let mut rest = code.as_str();
    while let Some(i) = rest.find("use ") {
        let boundary = i == 0 || !rest.as_bytes()[i - 1].is_ascii_alphanumeric();
        let tail = &rest[i + 4..];
        let end = tail.find(';').unwrap_or(tail.len());
        if boundary {
            expand("", &tail[..end].replace('\n', " "), &mut out);
        }
        rest = &tail[end.min(tail.len())..];
    }
    for prefix in ["$crate::", "crate::", "super::", "self::"] {
        for (i, _) in code.match_indices(prefix) {
            let before = code[..i].chars().last();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':' || c == '$')
            {
                continue;
            }
            let path: String = (code[i..].chars())
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':' || *c == '$')
                .collect();
            out.push(path);
        }
    }
    out
}

/// Each module of the crate under `src` (`check::fate`; a folder's `mod.rs`
/// is the folder's module) and the other modules its code names, resolved
/// from the module's own place (`crate::`, `super::super::`, `self::`, a
/// child named in a `use`) to the longest module path that exists, cut to
/// `depth` segments (1: the top-level modules, folders whole). A module and
/// its own submodules are one unit (a `mod.rs` re-exports its children,
/// they use its items): edges between them do not count.
fn module_imports(src: &Path, depth: usize) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let module_of = |file: &Path| -> Option<Vec<String>> {
        let rel = file.strip_prefix(src).unwrap().with_extension("");
        let mut parts: Vec<String> = (rel.components())
            .map(|c| c.as_os_str().to_string_lossy().to_string())
            .collect();
        if parts.last().is_some_and(|p| p == "mod") {
            parts.pop();
        }
        (parts != ["lib"] && parts != ["main"]).then_some(parts)
    };
    let modules: BTreeSet<Vec<String>> = files.iter().filter_map(|f| module_of(f)).collect();
    let cut = |m: &[String]| m[..m.len().min(depth)].to_vec();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let Some(module) = module_of(file) else {
            continue;
        };
        let here = cut(&module);
        let deps = graph.entry(here.join("::")).or_default();
        let text = std::fs::read_to_string(file).unwrap();
        // A file's unit tests (its trailing `#[cfg(test)] mod tests`) may use
        // any module, as integration tests do: they are not the layering.
        let code = text.split("#[cfg(test)]\nmod tests {").next().unwrap();
        for path in named_paths(code) {
            let mut segs = path.split("::").filter(|s| !s.is_empty()).peekable();
            let mut target: Vec<String> = match segs.peek().copied() {
                Some("crate") | Some("$crate") => {
                    segs.next();
                    Vec::new()
                }
                Some("self") => {
                    segs.next();
                    module.clone()
                }
                Some("super") => {
                    let mut base = module.clone();
                    while segs.peek() == Some(&"super") {
                        segs.next();
                        base.pop();
                    }
                    base
                }
                // A child module named in a `use` (`use fate::Fate` in check/mod.rs).
                Some(first)
                    if modules.contains(&[module.clone(), vec![first.to_string()]].concat()) =>
                {
                    module.clone()
                }
                _ => continue,
            };
            target.extend(segs.map(String::from));
            while !target.is_empty() && !modules.contains(&target) {
                target.pop();
            }
            let there = cut(&target);
            let related = there.starts_with(&here) || here.starts_with(&there);
            if !target.is_empty() && !related {
                deps.insert(there.join("::"));
            }
        }
    }
    graph
}

/// A cycle through `start` in `graph`, if there is one.
fn cycle_through(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    fn walk(
        g: &BTreeMap<String, BTreeSet<String>>,
        start: &str,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        let here = path.last().unwrap().clone();
        for next in g.get(&here).into_iter().flatten() {
            if next == start {
                return true;
            }
            if g.contains_key(next) && seen.insert(next.clone()) {
                path.push(next.clone());
                if walk(g, start, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_string()];
    walk(graph, start, &mut path, &mut BTreeSet::new()).then_some(path)
}

#[test]
fn no_import_cycle_between_modules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for src in ["harness/src", "models/src"] {
        // Top-level modules (a family's folder as a whole), then every module.
        for depth in [1, usize::MAX] {
            let graph = module_imports(&root.join(src), depth);
            assert!(graph.len() > 3, "{src}: too few modules found: {graph:?}");
            for module in graph.keys() {
                if let Some(cycle) = cycle_through(&graph, module) {
                    panic!("{src}: import cycle {} -> {module}", cycle.join(" -> "));
                }
            }
        }
    }
}

#[test]
fn the_checkers_do_not_depend_on_the_scenario_format() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let graph = module_imports(&root.join("harness/src"), 1);
    let check = &graph["check"];
    let mut reach: BTreeSet<&String> = check.iter().collect();
    while let Some(next) = (reach.iter())
        .flat_map(|m| graph.get(*m).into_iter().flatten())
        .find(|m| !reach.contains(m))
    {
        reach.insert(next);
    }
    assert!(
        !reach.iter().any(|m| *m == "scenario"),
        "harness/src/check imports crate::scenario: checkers read the History and \
         harness::metric only ({check:?})"
    );
    // The detector itself sees imports: report renders comparisons, and a
    // family's modules use what all share.
    assert!(graph["report"].contains("compare"));
    let models = module_imports(&root.join("models/src"), usize::MAX);
    assert!(models["queue::broker"].contains("common::wire"));
    assert!(
        models["queue::broker"].contains("queue::rules"),
        "{models:?}"
    );
    // The families import what both share, never each other.
    let families = module_imports(&root.join("models/src"), 1);
    for (a, b) in [
        ("log", "queue"),
        ("queue", "log"),
        ("common", "log"),
        ("common", "queue"),
    ] {
        assert!(!families[a].contains(b), "models/src/{a} imports {b}");
    }
}

/// The detector itself, on a made-up crate with one cycle of each shape it
/// must see: grouped and multi-line `use` trees, `super::super::`, `self::`
/// and siblings through `super::`.
#[test]
fn the_cycle_detector_sees_every_kind_of_path() {
    let dir = std::env::temp_dir().join(format!("mqsim-tidy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let files = [
        ("a.rs", "use crate::{b::X};\n"),
        ("b.rs", "pub fn f() { crate::a::g() }\n"),
        ("c/mod.rs", "mod d;\n"),
        ("c/d.rs", "use super::super::e::Z;\n"),
        ("e.rs", "use crate::{\n    c::d::W,\n};\n"),
        ("h/mod.rs", "mod i;\nmod j;\nuse self::i::Q;\n"),
        ("h/i.rs", "use super::j::R;\n"),
        ("h/j.rs", "use super::{i::S, k};\n"),
        ("h/k.rs", "// use crate::a::Nothing;\n"),
    ];
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let top = module_imports(&dir, 1);
    for (from, to) in [("a", "b"), ("b", "a"), ("c", "e"), ("e", "c")] {
        assert!(top[from].contains(to), "{from} -> {to} missed: {top:?}");
    }
    assert!(
        top["h"].is_empty(),
        "a module and its children are one unit: {top:?}"
    );
    let all = module_imports(&dir, usize::MAX);
    assert!(
        all["h::i"].contains("h::j") && all["h::j"].contains("h::i"),
        "{all:?}"
    );
    assert!(all["h::j"].contains("h::k"), "{all:?}");
    assert!(all["h::k"].is_empty(), "comments do not count: {all:?}");
    assert!(cycle_through(&top, "c").is_some(), "no cycle through c");
    for m in ["a", "c::d", "h::i"] {
        assert!(
            cycle_through(&all, m).is_some(),
            "no cycle found through {m}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

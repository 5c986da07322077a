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
const WALL_CLOCK_OK: [&str; 1] = ["src/bench.rs"];

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
    for dir in ["harness/src", "models/src", "src"] {
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

/// Each module of the crate under `src` (`check::fate`; a folder's `mod.rs`
/// is the folder's module) and the other modules its code names, as
/// `crate::<path>` or `super::<sibling>` resolved to the longest module
/// path that exists, cut to `depth` segments (1: the top-level modules,
/// folders whole); comments do not count.
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
    let cut = |m: &[String]| m[..m.len().min(depth)].join("::");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let Some(module) = module_of(file) else {
            continue;
        };
        let here = cut(&module);
        let deps = graph.entry(here.clone()).or_default();
        let text = std::fs::read_to_string(file).unwrap();
        // A file's unit tests (its trailing `#[cfg(test)] mod tests`) may
        // use any module: they are not part of the layering.
        let code = text.split("#[cfg(test)]\nmod tests {").next().unwrap();
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (prefix, base) in [
                ("crate::", &[][..]),
                ("super::", &module[..module.len() - 1]),
            ] {
                for (i, _) in line.match_indices(prefix) {
                    let path: String = line[i + prefix.len()..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                        .collect();
                    let mut target: Vec<String> = base.to_vec();
                    target.extend(path.split("::").filter(|s| !s.is_empty()).map(String::from));
                    while !target.is_empty() && !modules.contains(&target) {
                        target.pop();
                    }
                    if !target.is_empty() && cut(&target) != here {
                        deps.insert(cut(&target));
                    }
                }
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
    assert!(
        !check.contains("scenario"),
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
}

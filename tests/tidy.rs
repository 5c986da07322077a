//! The repository's own rules, checked by `cargo test`: simulation code has no
//! source of nondeterminism (thread RNGs, the wall clock, hash-ordered maps).
//! Wall-clock time is allowed only in files listed in `WALL_CLOCK_OK`.

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

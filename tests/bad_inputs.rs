//! The bad-input catalog: every file in `tests/bad_inputs/` is a small valid
//! scenario broken in one way, run through the real CLI. Each must be
//! rejected as bad input (exit 2) without a panic, with nothing on stdout and
//! nothing written to `--out`, and with a message that names the file and the
//! offending field; its stderr is pinned as an insta snapshot
//! (`bad_inputs__<name>.snap`; CI=true makes a missing or changed one fail).
//!
//! The first line of each file is a comment `# <where>: <what is wrong>`,
//! `<where>` being the field path the error must name (`fault[1].at`,
//! `topology.partitions`) or, for a TOML syntax error, its `line:col`.
//! Adding a file adds a case.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The catalog, relative to the crate root so messages (and snapshots) do
/// not depend on where the checkout lives.
const DIR: &str = "tests/bad_inputs";

/// Fewest files the catalog may hold.
const MIN_FILES: usize = 30;

fn catalog() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(DIR);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    names
}

/// `# <where>: <what is wrong>` on the first line.
fn header(text: &str) -> Option<(&str, &str)> {
    let line = text.lines().next()?.strip_prefix("# ")?;
    let (at, what) = line.split_once(": ")?;
    (!at.is_empty() && !what.trim().is_empty()).then_some((at, what.trim()))
}

/// A scratch directory for this test run; `--out` goes below it.
fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mqsim-bad-inputs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct Case {
    stem: String,
    what: String,
    stderr: String,
}

#[test]
fn every_bad_input_is_rejected_naming_file_and_field() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let names = catalog();
    assert!(
        names.len() >= MIN_FILES,
        "{DIR} holds {} files, expected at least {MIN_FILES}",
        names.len()
    );
    let scratch = scratch();
    let mut problems: Vec<String> = Vec::new();
    let mut cases: Vec<Case> = Vec::new();
    for name in &names {
        let file = format!("{DIR}/{name}");
        let stem = name.trim_end_matches(".toml").to_string();
        let text = std::fs::read_to_string(root.join(&file)).unwrap();
        let Some((at, what)) = header(&text) else {
            problems.push(format!(
                "{file}: the first line must be `# <field path or line:col>: <what is wrong>`"
            ));
            continue;
        };
        let out_dir = scratch.join(&stem);
        let out = Command::new(env!("CARGO_BIN_EXE_mqsim"))
            .current_dir(root)
            .args(["run", &file, "--out"])
            .arg(&out_dir)
            .output()
            .expect("mqsim runs");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let mut wrong: Vec<String> = Vec::new();
        let mut fail = |why: String| wrong.push(why);
        if stderr.contains("panicked") {
            fail("mqsim panicked".to_string());
        }
        if out.status.code() != Some(2) {
            fail(format!("exit status {:?}, expected 2", out.status.code()));
        }
        if !out.stdout.is_empty() {
            fail(format!("wrote {} bytes to stdout", out.stdout.len()));
        }
        if out_dir.exists() {
            fail(format!("wrote to --out {}", out_dir.display()));
        }
        if stderr.trim().is_empty() {
            fail("no message on stderr".to_string());
        }
        if let Some(l) = stderr.lines().find(|l| !l.starts_with(&file)) {
            fail(format!("a line does not name the file: {l}"));
        }
        // `file: path: message`, or `file:line:col: message` for a syntax error.
        let named = [format!("{file}: {at}: "), format!("{file}:{at}: ")];
        if !stderr
            .lines()
            .any(|l| named.iter().any(|n| l.starts_with(n)))
        {
            fail(format!("no error names {at}"));
        }
        if !wrong.is_empty() {
            problems.push(format!(
                "{file}: {}\n--- stderr:\n{stderr}",
                wrong.join("; ")
            ));
        }
        cases.push(Case {
            stem,
            what: what.to_string(),
            stderr,
        });
    }
    let _ = std::fs::remove_dir_all(&scratch);
    assert!(
        problems.is_empty(),
        "{} of {} bad inputs were not rejected properly:\n\n{}",
        problems.len(),
        names.len(),
        problems.join("\n\n")
    );
    for case in &cases {
        let mut settings = insta::Settings::clone_current();
        settings.set_description(case.what.as_str());
        settings.bind(|| insta::assert_snapshot!(case.stem.as_str(), case.stderr.as_str()));
    }
}

/// Every error of a file in one run: the overlap rules run in the same pass
/// as the key checks, so a typo does not hide an overlapping fault.
#[test]
fn a_typo_and_an_overlapping_fault_are_reported_in_one_run() {
    let file = format!("{DIR}/typo-and-overlapping-faults.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_mqsim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["validate", &file])
        .output()
        .expect("mqsim runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].starts_with(&format!("{file}: broker.fsnyc: unknown field")),
        "{stderr}"
    );
    assert!(
        lines[1].starts_with(&format!("{file}: fault[1]: overlaps fault[0]")),
        "{stderr}"
    );
}

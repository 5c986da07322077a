//! The only code that writes files. Each file is written whole: to a
//! temporary name in the same directory, then renamed over the target, so a
//! reader (or a run killed half-way) never sees half a report.
//!
//! A run's report directory holds `report.json` (the CI contract),
//! `report.txt` (what `mqsim run` printed), `report.md`, `report.html`,
//! `junit.xml`, and on request `history.jsonl` and `trace.json`. Every file
//! is a render of the run's `Outcome` (and, for the last two, its History);
//! none computes a figure of its own.

pub mod html;
pub mod jsonl;
pub mod junit;
pub mod markdown;
pub mod svg;
pub mod trace;

use crate::compare::Comparison;
use crate::history::History;
use crate::outcome::Outcome;
use crate::scenario::PolicyKind;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The optional files: `--history` and `--trace`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Extras {
    pub history: bool,
    pub trace: bool,
}

impl Extras {
    /// The optional files of one run, rendered from its History (done where
    /// the History is, e.g. on a comparison's worker thread).
    pub fn render(self, history: &History, title: &str) -> Vec<(String, String)> {
        let mut files = Vec::new();
        if self.history {
            files.push(("history.jsonl".to_string(), jsonl::history_jsonl(history)));
        }
        if self.trace {
            files.push(("trace.json".to_string(), trace::trace_json(history, title)));
        }
        files
    }
}

/// Every file of one run's report, rendered; `extras` as from [`Extras::render`].
pub fn run_files(
    outcome: &Outcome,
    reproduce: &str,
    extras: Vec<(String, String)>,
) -> Vec<(String, String)> {
    let mut files = vec![
        ("report.json".to_string(), outcome.to_json()),
        ("report.txt".to_string(), outcome.render_text(reproduce)),
        ("report.md".to_string(), markdown::run(outcome, reproduce)),
        (
            "report.html".to_string(),
            html::run_page(outcome, reproduce),
        ),
        ("junit.xml".to_string(), junit::run(outcome, reproduce)),
    ];
    files.extend(extras);
    files
}

/// Writes one run's report into `dir` (created if needed).
pub fn write_run(
    dir: &Path,
    outcome: &Outcome,
    history: &History,
    reproduce: &str,
    extras: Extras,
) -> io::Result<Vec<PathBuf>> {
    let title = format!("{} seed {}", outcome.scenario, outcome.seed);
    write_files(
        dir,
        &run_files(outcome, reproduce, extras.render(history, &title)),
    )
}

/// Where each run of a comparison writes its own report, relative to the
/// comparison's directory: `<policy>/seed-<N>`.
pub fn compare_run_dir(policy: PolicyKind, seed: u64) -> String {
    format!("{}/seed-{seed}", policy.name())
}

/// Writes a comparison: `report.json` (the comparison's JSON), `report.txt`,
/// `report.md`, `report.html` (the policies' curves overlaid) and
/// `junit.xml` at the top, and each run's own report in
/// [`compare_run_dir`] (with its `--history`/`--trace` files, rendered by
/// the comparison). `reproduce_run(policy, seed)` is the command that
/// reproduces one run.
pub fn write_compare(
    dir: &Path,
    c: &Comparison,
    reproduce: &str,
    reproduce_run: &dyn Fn(&str, u64) -> String,
) -> io::Result<Vec<PathBuf>> {
    let mut files = vec![
        ("report.json".to_string(), c.to_json()),
        ("report.txt".to_string(), c.render_text(reproduce)),
        ("report.md".to_string(), markdown::compare(c, reproduce)),
        (
            "report.html".to_string(),
            html::compare_page(c, reproduce, &compare_run_dir),
        ),
        ("junit.xml".to_string(), junit::compare(c, reproduce_run)),
    ];
    for p in &c.policies {
        for r in &p.runs {
            if let Ok(o) = &r.result {
                let sub = compare_run_dir(p.policy, r.seed);
                let run_reproduce = reproduce_run(p.policy.name(), r.seed);
                for (name, text) in run_files(o, &run_reproduce, r.extras.clone()) {
                    files.push((format!("{sub}/{name}"), text));
                }
            }
        }
    }
    write_files(dir, &files)
}

/// Writes each `(name, contents)` atomically into `dir`.
pub fn write_files<N: AsRef<str>>(dir: &Path, files: &[(N, String)]) -> io::Result<Vec<PathBuf>> {
    fs::create_dir_all(dir).map_err(|e| with_path(e, dir))?;
    let mut written = Vec::new();
    for (name, contents) in files {
        let name = name.as_ref();
        // `name` may name a subdirectory (`silent_drop/seed-1/report.html`).
        let target = dir.join(name);
        let parent = target.parent().unwrap_or(dir);
        fs::create_dir_all(parent).map_err(|e| with_path(e, parent))?;
        let file_name = target
            .file_name()
            .map_or_else(|| name.to_string(), |n| n.to_string_lossy().into_owned());
        let tmp = parent.join(format!(".{file_name}.tmp"));
        let result = (|| {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(contents.as_bytes())?;
            f.sync_all()?;
            fs::rename(&tmp, &target)
        })();
        if let Err(e) = result {
            let _ = fs::remove_file(&tmp);
            return Err(with_path(e, &target));
        }
        written.push(target);
    }
    Ok(written)
}

/// Text for HTML, SVG or XML: markup characters as entities, and the control
/// characters XML 1.0 cannot carry at all as `?`.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// The figures beside the counts, as `(name, value)` for the Markdown and
/// HTML tables: lag, recovery, latency, breaker trips.
pub(crate) fn key_figures(o: &Outcome) -> Vec<(&'static str, String)> {
    use crate::units::format_duration;
    let ms = |t: u64| format_duration(std::time::Duration::from_millis(t));
    let l = &o.latency_ms;
    vec![
        (
            "max lag",
            format!("{} messages / {}", o.lag.max_messages, ms(o.lag.max_age_ms)),
        ),
        (
            "recovered in",
            o.recovery_ms.map_or("never".to_string(), ms),
        ),
        (
            "latency p50 / p99 / max",
            match (l.p50, l.p99, l.max) {
                (Some(a), Some(b), Some(c)) => format!("{} / {} / {}", ms(a), ms(b), ms(c)),
                _ => "none (no message had an effect)".to_string(),
            },
        ),
        ("breakers opened", o.breaker_trips.to_string()),
    ]
}

fn with_path(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_files_and_leaves_no_temporaries() {
        let dir = std::env::temp_dir().join(format!("mqsim-report-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let written = write_files(&dir, &[("a.txt", "hello\n".into())]).unwrap();
        assert_eq!(written, vec![dir.join("a.txt")]);
        assert_eq!(fs::read_to_string(dir.join("a.txt")).unwrap(), "hello\n");
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temporary file is left: {names:?}");
        fs::remove_dir_all(&dir).unwrap();
    }
}

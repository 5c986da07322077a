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
pub mod json;
pub mod jsonl;
pub mod junit;
pub mod markdown;
pub mod svg;
pub mod text;
pub mod trace;

use crate::compare::Comparison;
use crate::explore::{SeedResult, SeedVerdict, Sweep};
use crate::history::History;
use crate::outcome::Outcome;
use crate::scenario::Metric;
use crate::scenario::PolicyKind;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The optional files: `--history` and `--trace`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Extras {
    /// Write `history.jsonl` (`--history`).
    pub history: bool,
    /// Write `trace.json` (`--trace`).
    pub trace: bool,
}

impl Extras {
    /// The optional files of one run, rendered from its History.
    pub fn render(self, history: &History, outcome: &Outcome) -> Vec<(&'static str, String)> {
        let mut files = Vec::new();
        if self.history {
            files.push((HISTORY, jsonl::history_jsonl(history)));
        }
        if self.trace {
            let title = format!(
                "{} seed {} policy {}",
                outcome.scenario, outcome.seed, outcome.policy
            );
            files.push((TRACE, trace::trace_json(history, &title)));
        }
        files
    }

    /// Optional files left by an earlier report in the same directory that
    /// this one does not write: removed, so a directory never mixes runs.
    fn remove_stale(self, dir: &Path) -> io::Result<()> {
        for (name, wanted) in [(HISTORY, self.history), (TRACE, self.trace)] {
            if !wanted {
                remove_if_present(&dir.join(name))?;
            }
        }
        Ok(())
    }
}

const HISTORY: &str = "history.jsonl";
const TRACE: &str = "trace.json";

fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(with_path(e, path)),
        _ => Ok(()),
    }
}

/// The files every run's report has, rendered.
pub fn run_files(outcome: &Outcome, reproduce: &str) -> Vec<(&'static str, String)> {
    vec![
        ("report.json", json::run(outcome)),
        ("report.txt", text::run(outcome, reproduce)),
        ("report.md", markdown::run(outcome, reproduce)),
        ("report.html", html::run_page(outcome, reproduce)),
        ("junit.xml", junit::run(outcome, reproduce)),
    ]
}

/// The files a sweep's report has (`mqsim explore --out`, `mqsim merge
/// --out`), rendered.
pub fn sweep_files(sweep: &Sweep) -> Vec<(&'static str, String)> {
    vec![
        ("sweep.json", json::sweep(sweep)),
        ("sweep.txt", text::sweep(sweep)),
        ("sweep.md", markdown::sweep(sweep)),
        ("sweep.html", html::sweep_page(sweep)),
        ("junit.xml", junit::sweep(sweep)),
    ]
}

/// Every failing seed of a `[swarm]` sweep as a plain scenario file that
/// replays it: `(file name, text)`, the schedule that seed drew with a
/// header saying where it came from and why it failed.
pub fn swarm_schedules(scenario: &crate::Scenario, sweep: &Sweep) -> Vec<(String, String)> {
    if scenario.swarm.is_none() {
        return Vec::new();
    }
    (sweep.results.iter())
        .filter(|r| r.verdict != SeedVerdict::Pass)
        .map(|r| {
            let drawn = crate::swarm::instantiate(scenario, r.seed);
            let header = vec![
                format!(
                    "Drawn by the [swarm] of {} for seed {}.",
                    sweep.file, r.seed
                ),
                match r.error {
                    Some(_) => seed_failure(r),
                    None => format!("failed: {}", seed_failure(r)),
                },
                format!("Replay: mqsim run <this file> --seed {}", r.seed),
            ];
            let name = format!("{}-seed-{}.toml", scenario.name, r.seed);
            (name, crate::scenario::render(&drawn, &header))
        })
        .collect()
}

/// `max_deliveries` for people: `12 (p0-4)`, or `0` when nothing was
/// delivered.
pub(crate) fn max_deliveries_text(o: &Outcome) -> String {
    let m = &o.max_deliveries;
    match m.example {
        Some(id) => format!("{} ({id})", m.value),
        None => m.value.to_string(),
    }
}

/// The counts human reports list: every count, without the DLQ ones
/// unless [`Outcome::shows_dlq`].
pub(crate) fn report_counts(o: &Outcome) -> Vec<(Metric, u64)> {
    let dlq = o.shows_dlq();
    (o.counts.iter())
        .filter(|(m, _)| dlq || !crate::metric::DLQ_COUNTS.contains(m))
        .collect()
}

/// Whether a figure counts more ids than the `shown` examples (so a report
/// adds an ellipsis): only counts do; `max_deliveries` names its one message.
pub(crate) fn more_than_shown(metric: Metric, actual: Option<u64>, shown: usize) -> bool {
    crate::metric::COUNTS.contains(&metric) && actual.is_some_and(|n| n > shown as u64)
}

/// An expectation's actual value for people: a recovery that never came
/// is `never`, a figure that does not exist `none`.
pub(crate) fn actual_text(metric: Metric, actual: Option<u64>) -> String {
    match actual {
        Some(v) => v.to_string(),
        None if metric == Metric::RecoveryMs => "never".to_string(),
        None => "none".to_string(),
    }
}

/// Why a seed of a sweep did not pass, in a line: its failed
/// expectations, or its simulation failure.
pub(crate) fn seed_failure(r: &SeedResult) -> String {
    match &r.error {
        Some(e) => format!("simulation failed: {e}"),
        None => r.failed.join("; "),
    }
}

/// Writes one run's report into `dir` (created if needed).
pub fn write_run(
    dir: &Path,
    outcome: &Outcome,
    history: &History,
    reproduce: &str,
    extras: Extras,
) -> io::Result<Vec<PathBuf>> {
    let mut files = run_files(outcome, reproduce);
    files.extend(extras.render(history, outcome));
    let written = write_files(dir, &files)?;
    extras.remove_stale(dir)?;
    Ok(written)
}

/// A run whose simulation failed (exit 3): `junit.xml` with an `<error>`
/// and `report.txt` with the failure, so CI shows what happened; the other
/// files of an earlier report in `dir` are removed, not left to mislead.
pub fn write_failure(
    dir: &Path,
    scenario: &str,
    seed: u64,
    error: &str,
    reproduce: &str,
) -> io::Result<Vec<PathBuf>> {
    let text = format!("seed={seed} scenario={scenario}\nerror: {error}\nreproduce: {reproduce}\n");
    let files = [
        ("report.txt", text),
        (
            "junit.xml",
            junit::failure(scenario, seed, error, reproduce),
        ),
    ];
    let written = write_files(dir, &files)?;
    for name in ["report.json", "report.md", "report.html", HISTORY, TRACE] {
        remove_if_present(&dir.join(name))?;
    }
    Ok(written)
}

/// What a comparison writes for each run as it ends (its `--history` and
/// `--trace` files, in [`compare_run_dir`] under `dir`): the
/// [`crate::compare::AfterRun`] the CLI passes.
pub fn compare_extras(
    dir: &Path,
    extras: Extras,
) -> impl Fn(&crate::Scenario, u64, &crate::Run) -> Result<(), String> + Sync + '_ {
    move |scenario, seed, run| {
        let dir = dir.join(compare_run_dir(scenario.policy.kind, seed));
        let files = extras.render(&run.history, &run.outcome);
        write_files(&dir, &files)
            .map(drop)
            .map_err(|e| e.to_string())
    }
}

/// Where each run of a comparison writes its own report, relative to the
/// comparison's directory: `<policy>/seed-<N>`.
pub fn compare_run_dir(policy: PolicyKind, seed: u64) -> String {
    format!("{}/seed-{seed}", policy.name())
}

/// Writes a comparison: `report.json` (the comparison's JSON), `report.txt`,
/// `report.md`, `report.html` (the policies' curves overlaid) and
/// `junit.xml` at the top, and each run's own report in
/// [`compare_run_dir`] (beside its `--history`/`--trace` files, which the
/// comparison wrote as each run ended). `reproduce_run(policy, seed)` is the
/// command that reproduces one run.
pub fn write_compare(
    dir: &Path,
    c: &Comparison,
    reproduce: &str,
    reproduce_run: &dyn Fn(&str, u64) -> String,
    extras: Extras,
) -> io::Result<Vec<PathBuf>> {
    let mut files = vec![
        ("report.json".to_string(), json::comparison(c)),
        ("report.txt".to_string(), text::comparison(c, reproduce)),
        ("report.md".to_string(), markdown::comparison(c, reproduce)),
        (
            "report.html".to_string(),
            html::comparison_page(c, reproduce, &compare_run_dir),
        ),
        ("junit.xml".to_string(), junit::comparison(c, reproduce_run)),
    ];
    for p in &c.policies {
        for r in &p.runs {
            if let Ok(o) = &r.result {
                let sub = compare_run_dir(p.policy, r.seed);
                let run_reproduce = reproduce_run(p.policy.name(), r.seed);
                for (name, text) in run_files(o, &run_reproduce) {
                    files.push((format!("{sub}/{name}"), text));
                }
                extras.remove_stale(&dir.join(&sub))?;
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
        // The process id keeps two writers of one directory apart.
        let tmp = parent.join(format!(".{file_name}.{}.tmp", std::process::id()));
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
/// One fate of the balance for reports: `(name, metric, messages, detail)`.
pub(crate) type FateRow = (&'static str, Metric, u64, String);

/// The fates with messages in them, in balance order, with the splits that
/// explain them (reasons, told or not, applied though dropped): every
/// created message is in exactly one row.
pub(crate) fn fate_rows(o: &Outcome) -> Vec<FateRow> {
    let c = &o.counts;
    let b = &o.balance;
    let reasons = |by: &crate::outcome::ByReason| {
        let parts: Vec<String> = (by.0.iter())
            .filter(|(_, n)| *n > 0)
            .map(|(r, n)| format!("{} {n}", r.name()))
            .collect();
        parts.join(", ")
    };
    let took_effect = {
        let mut parts = Vec::new();
        if b.took_effect.more_than_once > 0 {
            parts.push(format!("{} more than once", b.took_effect.more_than_once));
        }
        if b.took_effect.dropped_then_applied > 0 {
            parts.push(format!(
                "{} applied though a drop was recorded",
                b.took_effect.dropped_then_applied
            ));
        }
        if c[Metric::Recovered] > 0 {
            parts.push(format!(
                "{} after the producer timed out",
                c[Metric::Recovered]
            ));
        }
        parts.join(", ")
    };
    let abandoned = match (b.abandoned.told, b.abandoned.not_told) {
        (t, 0) => format!("{t} told"),
        (0, n) => format!("{n} not told (a producer crashed holding them)"),
        (t, n) => format!("{t} told, {n} not told (a producer crashed holding them)"),
    };
    let rows = [
        (
            "took effect",
            Metric::TookEffect,
            c[Metric::TookEffect],
            took_effect,
        ),
        (
            "silently dropped",
            Metric::SilentlyDropped,
            c[Metric::SilentlyDropped],
            reasons(&b.silently_dropped),
        ),
        (
            "expired",
            Metric::Expired,
            c[Metric::Expired],
            String::new(),
        ),
        (
            "dead-lettered",
            Metric::DeadLettered,
            c[Metric::DeadLettered],
            String::new(),
        ),
        (
            "stranded",
            Metric::Stranded,
            c[Metric::Stranded],
            "still held by the broker at the end".to_string(),
        ),
        (
            "lost",
            Metric::Lost,
            c[Metric::Lost],
            "acked, then gone".to_string(),
        ),
        ("shed", Metric::Shed, c[Metric::Shed], reasons(&b.shed)),
        (
            "abandoned",
            Metric::Abandoned,
            c[Metric::Abandoned],
            abandoned,
        ),
        (
            "in flight",
            Metric::InFlight,
            c[Metric::InFlight],
            "a producer still held them at the end".to_string(),
        ),
    ];
    rows.into_iter().filter(|r| r.2 > 0).collect()
}

/// Under a skewed load, the hot partitions, the cold ones, the hot keys
/// and the cold ones, each with its figures; empty otherwise.
pub(crate) fn class_rows(o: &Outcome) -> Vec<(String, &crate::check::GroupFigures)> {
    let b = &o.breakdown;
    let (Some(pc), Some(kc)) = (&b.partition_classes, &b.key_classes) else {
        return Vec::new();
    };
    let hot: Vec<String> = b.hot_partitions.iter().map(|p| p.to_string()).collect();
    vec![
        (format!("hot partitions ({})", hot.join(", ")), &pc.hot),
        ("cold partitions".to_string(), &pc.cold),
        ("hot keys".to_string(), &kc.hot),
        ("cold keys".to_string(), &kc.cold),
    ]
}

/// A group's latency p50 / p99 / max for a table cell.
pub(crate) fn latency_cell(g: &crate::check::GroupFigures) -> String {
    let ms = |t: u64| crate::units::format_duration(std::time::Duration::from_millis(t));
    match g.latency_ms {
        Some(l) => format!("{} / {} / {}", ms(l.p50), ms(l.p99), ms(l.max)),
        None => "none".to_string(),
    }
}

/// A partition's or a class's figures as table cells, in the column order
/// of every report's group tables: sent, took effect, lost, dropped (incl.
/// expired), shed, abandoned, max lag, latency.
pub(crate) fn group_cells(g: &crate::check::GroupFigures) -> [String; 8] {
    [
        g.sent.to_string(),
        g.took_effect.to_string(),
        g.lost.to_string(),
        (g.silently_dropped + g.expired).to_string(),
        g.shed.to_string(),
        g.abandoned.to_string(),
        lag_cell(g),
        latency_cell(g),
    ]
}

/// A group's lag (messages / age of the oldest) for a table cell.
pub(crate) fn lag_cell(g: &crate::check::GroupFigures) -> String {
    let ms = |t: u64| crate::units::format_duration(std::time::Duration::from_millis(t));
    match (g.max_lag, g.max_lag_age_ms) {
        (Some(n), Some(a)) => format!("{n} / {}", ms(a)),
        _ => "—".to_string(),
    }
}

pub(crate) fn key_figures(o: &Outcome) -> Vec<(&'static str, String)> {
    use crate::units::format_duration;
    let ms = |t: u64| format_duration(std::time::Duration::from_millis(t));
    let l = &o.latency_ms;
    let mut rows = vec![
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
    ];
    // A queue's consumers are no group.
    if !o.queue {
        rows.push((
            "rebalances",
            format!(
                "{} (partitions unowned for {})",
                o.group.rebalances,
                ms(o.group.unowned_ms)
            ),
        ));
    }
    rows
}

fn with_path(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::check;
    use crate::check::testkit::{m, Hb};
    use crate::scenario::{Cmp, Expectation, Metric, Scope};

    /// p0-0 clean; p0-1 poison, dead-lettered after 3 deliveries; p1-1
    /// healthy, dead-lettered (misrouted) after 3 deliveries, unless
    /// `dlq` is false: then nothing is poison or dead-lettered.
    fn outcome(dlq: bool) -> Outcome {
        let mut h = Hb::new().clean(0, m(0, 0), 0, 1_000);
        for (at, id) in [(2_000, m(0, 1)), (3_000, m(1, 1))] {
            h = h
                .send(at, id, 1)
                .ack(at + 100, id)
                .append(at + 100, id)
                .deliver(at + 200, id)
                .deliver(at + 300, id)
                .deliver(at + 400, id);
            if dlq {
                h = h.dead_letter(at + 500, id);
            }
        }
        if dlq {
            h = h.poison(&[m(0, 1)]);
        }
        let h = h.held(&[m(0, 1), m(1, 1)]).build();
        let expect = [
            Expectation {
                scope: Scope::All,
                metric: Metric::MaxDeliveries,
                cmp: Cmp::Lt,
                value: 3,
            },
            Expectation {
                scope: Scope::All,
                metric: Metric::DuplicateDeliveries,
                cmp: Cmp::Eq,
                value: 0,
            },
        ];
        Outcome::evaluate("q", "unbounded", &expect, 1, &h, &check(&h))
    }

    #[test]
    fn human_reports_show_the_dlq_figures_only_for_dlq_runs() {
        let o = outcome(true);
        let md = markdown::run(&o, "mqsim run q.toml");
        for row in [
            "| dead_lettered | 2 |\n| poison | 1 |\n| poison_dead_lettered | 1 |\n| poison_not_dead_lettered | 0 |\n| misrouted | 1 |\n| max deliveries | 3 (`p0-1`) |\n| max lag |",
            // One message behind max_deliveries: no ellipsis; counts have one.
            "| `max_deliveries < 3` | 3 | **FAIL** | `p0-1` |\n",
            "| `duplicate_deliveries = 0` | 4 | **FAIL** | `p0-1` `p1-1` … |\n",
            "- misrouted 1: `p1-1`\n",
        ] {
            assert!(md.contains(row), "{row} in\n{md}");
        }
        let html = html::run_page(&o, "mqsim run q.toml");
        for part in [
            "<tr><td>misrouted</td><td class=\"n\">1</td></tr>",
            "<tr><td>max deliveries</td><td class=\"n\">3 (<a href=\"#msg-p0-1\"><code>p0-1</code></a>)</td></tr>",
            "<details id=\"msg-p0-1\"",
            ">Drops, rejections and dead letters<",
            ">dead-lettered<",
        ] {
            assert!(html.contains(part), "{part}");
        }

        let o = outcome(false);
        assert_eq!(
            (o.counts[Metric::Poison], o.counts[Metric::DeadLettered]),
            (0, 0)
        );
        let md = markdown::run(&o, "mqsim run q.toml");
        assert!(md.contains("| dead_lettered | 0 |\n| max lag |"), "{md}");
        assert!(!md.contains("poison") && !md.contains("max deliveries"));
        // An expectation on it still names its message.
        assert!(md.contains("| `max_deliveries < 3` | 3 | **FAIL** | `p0-1` |"));
        let html = html::run_page(&o, "mqsim run q.toml");
        assert!(!html.contains("poison") && !html.contains("max deliveries"));
        assert!(!html.contains("dead-lettered") && html.contains(">Drops and rejections<"));
        let text = text::run(&o, "mqsim run q.toml");
        assert!(!text.contains("poison") && !text.contains("deliveries:"));
        // JSON always carries them.
        let json = json::run(&o);
        assert!(json.contains("\"misrouted\": 0") && json.contains("\"max_deliveries\""));
    }

    /// A sweep's report in every format: each seed a testcase (a failed
    /// one with its expectations, a simulation failure an error), each
    /// failing seed with the command that replays it.
    #[test]
    fn a_sweep_renders_in_every_format_with_its_failing_seeds() {
        use crate::explore::{SeedResult, SeedVerdict, Sweep};
        let values = |lost: u64| {
            let mut v = std::collections::BTreeMap::new();
            v.insert("lost".to_string(), Some(lost));
            v
        };
        let pass = SeedResult {
            seed: 1,
            verdict: SeedVerdict::Pass,
            history_hash: "aa".into(),
            values: values(0),
            failed: vec![],
            error: None,
        };
        let fail = SeedResult {
            seed: 2,
            verdict: SeedVerdict::Fail,
            history_hash: "bb".into(),
            values: values(7),
            failed: vec!["lost = 0 (actual 7)".into()],
            error: None,
        };
        let crashed = SeedResult::sim_failure(3, "a model panicked: boom".into());
        let sweep = Sweep::new(
            "s",
            "f",
            "s.toml",
            &(1..=3),
            None,
            false,
            vec![crashed, fail, pass],
        );
        let files = sweep_files(&sweep);
        let names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "sweep.json",
                "sweep.txt",
                "sweep.md",
                "sweep.html",
                "junit.xml"
            ]
        );
        let file = |name: &str| &files.iter().find(|(n, _)| *n == name).unwrap().1;

        let back: Sweep = serde_json::from_str(file("sweep.json")).unwrap();
        assert_eq!(back, sweep);
        let junit = file("junit.xml");
        for part in [
            "tests=\"3\" failures=\"1\" errors=\"1\"",
            "<testcase classname=\"s\" name=\"seed 1\"/>",
            "name=\"seed 2\">\n      <failure type=\"expectation\" message=\"lost = 0 (actual 7)\">lost = 0 (actual 7)\nreproduce: mqsim run s.toml --seed 2\n</failure>",
            "name=\"seed 3\">\n      <error type=\"simulation\" message=\"a model panicked: boom\">a model panicked: boom\nreproduce: mqsim run s.toml --seed 3</error>",
        ] {
            assert!(junit.contains(part), "{part} in\n{junit}");
        }
        let md = file("sweep.md");
        for part in [
            "**SIMULATION FAILED** · 3 seeds run: 1 pass, 1 fail, 1 simulation failures",
            "| lost | 0 | 0 | 7 | 2 |",
            "| 2 | lost = 0 (actual 7) | `mqsim run s.toml --seed 2` |",
            "| 3 | simulation failed: a model panicked: boom | `mqsim run s.toml --seed 3` |",
        ] {
            assert!(md.contains(part), "{part} in\n{md}");
        }
        let html = file("sweep.html");
        for part in [
            "<td class=\"n\">1</td><td class=\"pass\">pass</td><td><code>aa</code></td><td></td>",
            "<td class=\"n\">2</td><td class=\"fail\">fail</td><td><code>bb</code></td><td>lost = 0 (actual 7)<br><code>mqsim run s.toml --seed 2</code></td>",
            "<tr><td>lost</td><td class=\"n\">0</td><td class=\"n\">0</td><td class=\"n\">7</td><td class=\"n\">2</td></tr>",
        ] {
            assert!(html.contains(part), "{part} in\n{html}");
        }
        assert!(file("sweep.txt").contains("seed 2: lost = 0 (actual 7)"));
    }

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

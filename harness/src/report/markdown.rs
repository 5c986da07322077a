//! `report.md`: what a CI step summary or a PR comment shows — the verdict,
//! the expectations, the key counts, the faults, and the command that
//! reproduces the run. GitHub-flavoured Markdown, deterministic.

use super::{actual_text, more_than_shown};
use crate::compare::Comparison;
use crate::explore::{SeedVerdict, Sweep};
use crate::outcome::Outcome;
use crate::scenario::Metric;
use crate::units::format_duration;
use std::fmt::Write as _;
use std::time::Duration;

fn us(t: u64) -> String {
    format_duration(Duration::from_micros(t))
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

fn ids(metric: Metric, ids: &[crate::history::MsgId], total: Option<u64>) -> String {
    let shown: Vec<String> = ids.iter().map(|id| format!("`{id}`")).collect();
    let more = more_than_shown(metric, total, ids.len());
    format!("{}{}", shown.join(" "), if more { " …" } else { "" })
}

/// Partitions listed in `report.md` (a CI summary stays readable; the
/// JSON and HTML reports list them all).
const MAX_PARTITION_ROWS: usize = 32;

/// `report.md` of one run: the verdict, the expectations, the counts, the
/// faults, and the command that reproduces the run (`reproduce`).
pub fn run(o: &Outcome, reproduce: &str) -> String {
    let mut out = String::new();
    let w = &mut out;
    let failed = o.expectations.iter().filter(|e| !e.passed).count();
    let _ = writeln!(
        w,
        "### `{}` seed {} (policy `{}`): **{}**\n",
        o.scenario,
        o.seed,
        o.policy,
        o.verdict.name().to_uppercase()
    );
    let _ = writeln!(
        w,
        "{} of {} expectations failed · history_hash `{}`\n",
        failed,
        o.expectations.len(),
        o.history_hash
    );
    if !o.expectations.is_empty() {
        let _ = writeln!(w, "| expectation | actual | result | example ids |");
        let _ = writeln!(w, "| --- | ---: | --- | --- |");
        for e in &o.expectations {
            let _ = writeln!(
                w,
                "| `{}` | {} | {} | {} |",
                cell(&e.expr),
                actual_text(e.expectation.metric, e.actual),
                if e.passed { "pass" } else { "**FAIL**" },
                if e.passed {
                    String::new()
                } else {
                    ids(e.expectation.metric, &e.examples, e.actual)
                }
            );
        }
        let _ = writeln!(w);
    }
    let _ = writeln!(w, "| figure | value |");
    let _ = writeln!(w, "| --- | ---: |");
    for (m, n) in super::report_counts(o) {
        let _ = writeln!(w, "| {} | {n} |", m.name());
    }
    if o.shows_dlq() {
        let md = &o.max_deliveries;
        let example = md.example.map_or(String::new(), |id| format!(" (`{id}`)"));
        let _ = writeln!(w, "| max deliveries | {}{example} |", md.value);
    }
    for (name, value) in super::key_figures(o) {
        if name != "breakers opened" || o.breaker_trips > 0 {
            let _ = writeln!(w, "| {name} | {} |", cell(&value));
        }
    }
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "Where every message went: {}\n",
        cell(&o.balance.equation)
    );
    let _ = writeln!(w, "| fate | messages | detail | example ids |");
    let _ = writeln!(w, "| --- | ---: | --- | --- |");
    for (name, metric, n, detail) in super::fate_rows(o) {
        let examples = o.examples.0.iter().find(|(m, _)| *m == metric);
        let shown = examples.map_or(String::new(), |(_, e)| ids(metric, e, Some(n)));
        let _ = writeln!(w, "| {name} | {n} | {} | {shown} |", cell(&detail));
    }
    let _ = writeln!(w);
    if !o.stages.is_empty() {
        let _ = writeln!(
            w,
            "By stage (each stage's own balance; a stage before the last forwards):\n"
        );
        let _ = writeln!(w, "| stage | balance | max lag |");
        let _ = writeln!(w, "| --- | --- | ---: |");
        for s in &o.stages {
            let _ = writeln!(
                w,
                "| {} | {} | {} / {} |",
                cell(&s.stage),
                cell(&s.equation),
                s.max_lag,
                format_duration(Duration::from_millis(s.max_lag_age_ms))
            );
        }
        let _ = writeln!(w);
    }
    let parts = &o.breakdown.partitions;
    if parts.len() > 1 {
        let what = if o.queue { "queue" } else { "partition" };
        let _ = writeln!(w, "By {what}:\n");
        let _ = writeln!(
            w,
            "| {what} | sent | took effect | lost | dropped | shed | abandoned | max lag | latency p50 / p99 / max |"
        );
        let _ = writeln!(
            w,
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        for (p, g) in parts.iter().enumerate().take(MAX_PARTITION_ROWS) {
            let hot = if o.breakdown.hot_partitions.contains(&(p as u32)) {
                " (hot)"
            } else {
                ""
            };
            let _ = writeln!(w, "| {p}{hot} | {} |", super::group_cells(g).join(" | "));
        }
        if parts.len() > MAX_PARTITION_ROWS {
            let _ = writeln!(
                w,
                "\n… and {} more {what}s: every one is in report.json (`breakdown.partitions`) and report.html.",
                parts.len() - MAX_PARTITION_ROWS
            );
        }
        let _ = writeln!(w);
    }
    let classes = super::class_rows(o);
    if !classes.is_empty() {
        let _ = writeln!(
            w,
            "By class (a skewed load: its hot keys and the partitions holding them):\n"
        );
        let _ = writeln!(
            w,
            "| messages | sent | took effect | lost | dropped | shed | abandoned | max lag | latency p50 / p99 / max |"
        );
        let _ = writeln!(
            w,
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        for (name, g) in &classes {
            let _ = writeln!(w, "| {name} | {} |", super::group_cells(g).join(" | "));
        }
        let _ = writeln!(w);
    }
    if !o.faults.is_empty() {
        let _ = writeln!(w, "Faults:\n");
        for (i, f) in o.faults.iter().enumerate() {
            let label = o.fault_labels.get(i).unwrap_or(&f.kind);
            let _ = writeln!(
                w,
                "- {} – {}: `{}`",
                us(f.start_us),
                us(f.end_us),
                cell(label)
            );
        }
        let _ = writeln!(w);
    }
    if !o.examples.0.is_empty() {
        let _ = writeln!(
            w,
            "Anomalies (example ids; their events are in report.html):\n"
        );
        for (m, examples) in &o.examples.0 {
            let n = crate::metric::COUNTS.contains(m).then(|| o.counts[*m]);
            let _ = writeln!(
                w,
                "- {} {}: {}",
                m.name(),
                n.unwrap_or(0),
                ids(*m, examples, n)
            );
        }
        let _ = writeln!(w);
    }
    let _ = writeln!(w, "Reproduce:\n\n```sh\n{reproduce}\n```");
    out
}

/// The comparison table as GitHub-flavoured Markdown (`mqsim compare
/// --format markdown`, and the top of a comparison's report.md).
pub fn comparison_table(c: &Comparison, reproduce: &str) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "### `{}`: lag policies compared\n", c.scenario);
    for l in c.header() {
        let _ = writeln!(o, "{l}  ");
    }
    let _ = writeln!(o);
    let rows = c.rows();
    let esc = |s: &str| s.replace('|', "\\|");
    for (i, r) in rows.iter().enumerate() {
        let cells: Vec<String> = r.iter().map(|c| esc(c)).collect();
        let _ = writeln!(o, "| {} |", cells.join(" | "));
        if i == 0 {
            let aligns: Vec<&str> = (0..r.len())
                .map(|j| {
                    if j == 0 || j == r.len() - 1 {
                        "---"
                    } else {
                        "---:"
                    }
                })
                .collect();
            let _ = writeln!(o, "| {} |", aligns.join(" | "));
        }
    }
    let _ = writeln!(o);
    if let Some(h) = c.hashes() {
        let _ = writeln!(o, "`{h}`  ");
    }
    if c.partial {
        let _ = writeln!(o, "**partial**: interrupted before every run finished  ");
    }
    let _ = writeln!(o, "reproduce: `{reproduce}`");
    o
}

/// The comparison table, then each run's failed expectations.
pub fn comparison(c: &Comparison, reproduce: &str) -> String {
    let mut out = comparison_table(c, reproduce);
    let _ = writeln!(out, "\n#### Expectations\n");
    let _ = writeln!(out, "| policy | seed | verdict | failed expectations |");
    let _ = writeln!(out, "| --- | ---: | --- | --- |");
    for p in &c.policies {
        for r in &p.runs {
            let (verdict, failed) = match &r.result {
                Ok(o) => {
                    let failed: Vec<String> = o
                        .expectations
                        .iter()
                        .filter(|e| !e.passed)
                        .map(|e| {
                            format!(
                                "`{}` (actual {})",
                                cell(&e.expr),
                                actual_text(e.expectation.metric, e.actual)
                            )
                        })
                        .collect();
                    (o.verdict.name().to_string(), failed.join(", "))
                }
                Err(e) => ("simulation failed".to_string(), cell(e)),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                p.policy.name(),
                r.seed,
                verdict,
                failed
            );
        }
    }
    out
}

/// A sweep for a CI summary: the verdicts, each figure's spread over the
/// seeds, and every failing seed with the command that replays it.
pub fn sweep(sweep: &Sweep) -> String {
    let mut out = String::new();
    let w = &mut out;
    let shard = sweep
        .shard
        .map(|s| format!(" (shard {}/{})", s.index, s.count))
        .unwrap_or_default();
    let _ = writeln!(
        w,
        "### `{}`: seeds {}..{}{shard}\n",
        cell(&sweep.scenario),
        sweep.seeds_from,
        sweep.seeds_to
    );
    let _ = writeln!(
        w,
        "**{}** · {} seeds run: {} pass, {} fail, {} simulation failures{}\n",
        match sweep.exit_code() {
            0 => "PASS",
            1 => "FAIL",
            _ => "SIMULATION FAILED",
        },
        sweep.results.len(),
        sweep.count(SeedVerdict::Pass),
        sweep.count(SeedVerdict::Fail),
        sweep.count(SeedVerdict::SimFailure),
        if sweep.partial {
            " (partial: not every seed ran)"
        } else {
            ""
        }
    );
    let _ = writeln!(w, "| figure | min | median | max | seeds |");
    let _ = writeln!(w, "| --- | ---: | ---: | ---: | ---: |");
    for m in Metric::ALL {
        if let Some(s) = sweep.figures.get(m.name()) {
            let _ = writeln!(
                w,
                "| {} | {} | {} | {} | {} |",
                m.name(),
                s.min,
                s.median,
                s.max,
                s.seeds
            );
        }
    }
    let failing: Vec<_> = (sweep.results.iter())
        .filter(|r| r.verdict != SeedVerdict::Pass)
        .collect();
    if !failing.is_empty() {
        let _ = writeln!(w, "\n#### Failing seeds\n");
        let _ = writeln!(w, "| seed | why | reproduce |");
        let _ = writeln!(w, "| ---: | --- | --- |");
        for r in failing {
            let _ = writeln!(
                w,
                "| {} | {} | `{}` |",
                r.seed,
                cell(&super::seed_failure(r)),
                sweep.reproduce(r.seed)
            );
        }
    }
    out
}

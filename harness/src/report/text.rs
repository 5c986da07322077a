//! Plain text for the terminal and `report.txt`: a run, a comparison, a
//! sweep. ASCII, no colours, deterministic; the figures come from the data
//! (`Outcome`, `Comparison`, `Sweep`), never computed here.

use super::{actual_text, more_than_shown};
use crate::check::{GroupFigures, MAX_EXAMPLES};
use crate::compare::Comparison;
use crate::explore::{SeedResult, SeedVerdict, Sweep};
use crate::metric::Metric;
use crate::outcome::Outcome;
use crate::units::format_duration;
use std::fmt::Write;
use std::time::Duration;

/// The plain-text report: seed and scenario first, the command that
/// reproduces the run last. ASCII, no colours, deterministic.
pub fn run(outcome: &Outcome, reproduce: &str) -> String {
    let mut out = String::new();
    let o = &mut out;
    let _ = writeln!(
        o,
        "seed={} scenario={} policy={}",
        outcome.seed, outcome.scenario, outcome.policy
    );

    if outcome.faults.is_empty() {
        let _ = writeln!(o, "faults: none");
    } else {
        let _ = writeln!(o, "faults:");
        let rows: Vec<(String, &str, String)> = outcome
            .faults
            .iter()
            .map(|f| (us(f.start_us), f.kind.as_str(), us(f.end_us)))
            .collect();
        let w_at = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
        let w_kind = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
        for (at, kind, end) in &rows {
            let _ = writeln!(o, "  at {at:<w_at$}  {kind:<w_kind$}  until {end}");
        }
    }

    let _ = writeln!(o, "counts:");
    let counts = super::report_counts(outcome);
    let w_name = counts
        .iter()
        .map(|(m, _)| m.name().len())
        .max()
        .unwrap_or(0);
    let w_n = counts
        .iter()
        .map(|(_, n)| n.to_string().len())
        .max()
        .unwrap_or(0);
    for (m, n) in counts {
        let _ = writeln!(o, "  {:<w_name$}  {n:>w_n$}", m.name());
    }

    let label = |o: &mut String, l: &str| {
        let _ = write!(o, "{:<14}", format!("{l}:"));
    };
    label(o, "balance");
    let _ = writeln!(o, "{}", outcome.balance.equation);
    if !outcome.stages.is_empty() {
        let _ = writeln!(o, "stages:");
        let w = outcome
            .stages
            .iter()
            .map(|s| s.stage.len())
            .max()
            .unwrap_or(0);
        for s in &outcome.stages {
            let _ = writeln!(
                o,
                "  {:<w$}  {}  (lag max {} messages / {})",
                s.stage,
                s.equation,
                s.max_lag,
                ms(s.max_lag_age_ms)
            );
        }
    }
    label(o, "lag");
    let _ = writeln!(
        o,
        "max {} messages / {}",
        outcome.lag.max_messages,
        ms(outcome.lag.max_age_ms)
    );
    if outcome.shows_dlq() {
        label(o, "deliveries");
        let _ = writeln!(o, "max {}", super::max_deliveries_text(outcome));
    }
    if outcome.breaker_trips > 0 {
        label(o, "breakers");
        let _ = writeln!(o, "opened {} times", outcome.breaker_trips);
    }
    if outcome.group.rebalances > 0 || outcome.group.unowned_ms > 0 {
        label(o, "group");
        // With a buffer, the one consumer group is the relays'.
        let whose = if outcome.stages.is_empty() {
            ""
        } else {
            " (the relays' group)"
        };
        let _ = writeln!(
            o,
            "{} rebalances, partitions unowned for {}{whose}",
            outcome.group.rebalances,
            ms(outcome.group.unowned_ms)
        );
    }
    if let (Some(pc), Some(kc)) = (
        &outcome.breakdown.partition_classes,
        &outcome.breakdown.key_classes,
    ) {
        let hot: Vec<String> = (outcome.breakdown.hot_partitions.iter())
            .map(|p| p.to_string())
            .collect();
        let _ = writeln!(o, "by class:");
        let rows = [
            (format!("hot partitions ({})", hot.join(",")), &pc.hot),
            ("cold partitions".to_string(), &pc.cold),
            ("hot keys".to_string(), &kc.hot),
            ("cold keys".to_string(), &kc.cold),
        ];
        let w = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
        for (name, g) in rows {
            let _ = writeln!(o, "  {name:<w$}  {}", group_text(g));
        }
    }
    label(o, "recovered_in");
    let _ = writeln!(o, "{}", outcome.recovery_ms.map_or("never".to_string(), ms));
    label(o, "latency");
    match (
        outcome.latency_ms.p50,
        outcome.latency_ms.p99,
        outcome.latency_ms.max,
    ) {
        (Some(p50), Some(p99), Some(max)) => {
            let _ = writeln!(o, "p50 {}  p99 {}  max {}", ms(p50), ms(p99), ms(max));
        }
        _ => {
            let _ = writeln!(o, "none (no message had an effect)");
        }
    }

    if outcome.expectations.is_empty() {
        let _ = writeln!(o, "expectations: none");
    } else {
        let _ = writeln!(o, "expectations:");
        let w_expr = outcome
            .expectations
            .iter()
            .map(|e| e.expr.len())
            .max()
            .unwrap_or(0);
        for e in &outcome.expectations {
            let _ = write!(
                o,
                "  {}  {:<w_expr$}  actual {}",
                if e.passed { "PASS" } else { "FAIL" },
                e.expr,
                actual_text(e.expectation.metric, e.actual)
            );
            if !e.passed && !e.examples.is_empty() {
                let ids: Vec<String> = e
                    .examples
                    .iter()
                    .take(MAX_EXAMPLES)
                    .map(|id| id.to_string())
                    .collect();
                let more = more_than_shown(e.expectation.metric, e.actual, ids.len());
                let _ = write!(
                    o,
                    "  examples: {}{}",
                    ids.join(" "),
                    if more { " ..." } else { "" }
                );
            }
            let _ = writeln!(o);
        }
    }
    let failed = outcome.expectations.iter().filter(|e| !e.passed).count();
    let _ = writeln!(
        o,
        "verdict: {} ({} of {} expectations failed)",
        outcome.verdict.name(),
        failed,
        outcome.expectations.len()
    );
    let _ = writeln!(o, "history_hash: {}", outcome.history_hash);
    let _ = writeln!(o, "reproduce: {reproduce}");
    out
}

/// The plain-text table; ASCII, deterministic.
pub fn comparison(c: &Comparison, reproduce: &str) -> String {
    let mut o = String::new();
    for l in c.header() {
        let _ = writeln!(o, "{l}");
    }
    let _ = writeln!(o);
    let rows = c.rows();
    let cols = rows[0].len();
    let width: Vec<usize> = (0..cols)
        .map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    for r in &rows {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            let w = width[i];
            if i == 0 {
                let _ = write!(line, "{cell:<w$}");
            } else if i == cols - 1 {
                let _ = write!(line, "  {cell}");
            } else {
                let _ = write!(line, "  {cell:>w$}");
            }
        }
        let _ = writeln!(o, "{}", line.trim_end());
    }
    let _ = writeln!(o);
    if let Some(h) = c.hashes() {
        let _ = writeln!(o, "{h}");
    }
    if c.partial {
        let _ = writeln!(o, "partial: interrupted before every run finished");
    }
    let _ = writeln!(o, "reproduce: {reproduce}");
    o
}

/// The plain-text sweep: the verdicts, each figure's spread over the seeds,
/// and every failing seed with the command that replays it.
pub fn sweep(sweep: &Sweep) -> String {
    let mut out = format!(
        "scenario={} seeds={}..{}{}{}\n",
        sweep.scenario,
        sweep.seeds_from,
        sweep.seeds_to,
        sweep
            .shard
            .map(|s| format!(" shard={}/{}", s.index, s.count))
            .unwrap_or_default(),
        if sweep.partial { " (partial)" } else { "" }
    );
    out += &format!(
        "seeds run: {}  pass: {}  fail: {}  sim_failure: {}\n",
        sweep.results.len(),
        sweep.count(SeedVerdict::Pass),
        sweep.count(SeedVerdict::Fail),
        sweep.count(SeedVerdict::SimFailure)
    );
    out += "figure                        min     median        max\n";
    for m in Metric::ALL {
        if let Some(s) = sweep.figures.get(m.name()) {
            out += &format!(
                "{:<24} {:>10} {:>10} {:>10}\n",
                m.name(),
                s.min,
                s.median,
                s.max
            );
        }
    }
    let failing: Vec<&SeedResult> = (sweep.results.iter())
        .filter(|r| r.verdict != SeedVerdict::Pass)
        .collect();
    if !failing.is_empty() {
        out += "failing seeds:\n";
        for r in failing {
            let why = super::seed_failure(r);
            out += &format!(
                "  seed {}: {why}\n    reproduce: {}\n",
                r.seed,
                sweep.reproduce(r.seed)
            );
        }
    }
    out
}

/// One group's figures for people: `sent 1200  took effect 1190  lost 0
/// dropped 10  shed 0  lag 340 / 2s  p99 1s200ms`.
fn group_text(g: &GroupFigures) -> String {
    let mut s = format!(
        "sent {}  took effect {}  lost {}  dropped {}  shed {}  abandoned {}",
        g.sent,
        g.took_effect,
        g.lost,
        g.silently_dropped + g.expired,
        g.shed,
        g.abandoned
    );
    if let (Some(lag), Some(age)) = (g.max_lag, g.max_lag_age_ms) {
        let _ = write!(s, "  lag {lag} / {}", ms(age));
    }
    match g.latency_ms {
        Some(l) => {
            let _ = write!(s, "  p99 {}", ms(l.p99));
        }
        None => s.push_str("  p99 none"),
    }
    s
}

fn us(t: u64) -> String {
    format_duration(Duration::from_micros(t))
}

fn ms(t: u64) -> String {
    format_duration(Duration::from_millis(t))
}

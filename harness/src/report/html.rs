//! `report.html`: one self-contained page per run, comparison or sweep — inline CSS
//! and SVG, no script, font or URL — so it can be attached to a CI run,
//! mailed, or opened years later. Light and dark colour schemes come from
//! the CSS alone (`prefers-color-scheme`).

use super::svg::{self, BandRow, Chart, Series, Window};
use crate::check::timeline::{Bucket, GaugePoint, Timeline};
use crate::compare::Comparison;
use crate::explore::{SeedVerdict, Sweep};
use crate::history::BreakerState;
use crate::metric::Metric;
use crate::outcome::{Outcome, Verdict};
use crate::scenario::PolicyKind;
use crate::units::format_duration;
use std::fmt::Write as _;
use std::time::Duration;

const CSS: &str = r#"
:root{color-scheme:light dark;--bg:#ffffff;--fg:#1b2129;--muted:#5c6773;--grid:#e4e8ed;--border:#d5dbe2;--panel:#f6f8fa;
--pass:#1a7f37;--fail:#cf222e;--fault:rgba(218,120,20,.16);--fault-fg:#9a5400;--open:#d1242f;--half:#d4a72c;--band:#eef1f4;
--s0:#2f6fdb;--s1:#d1242f;--s2:#1a7f37;--s3:#8250df;--s4:#e36209;--s5:#0b8699;--s6:#bf3989;--s7:#6e7781}
@media (prefers-color-scheme:dark){:root{--bg:#0f1318;--fg:#e3e8ee;--muted:#9aa5b1;--grid:#262d36;--border:#38414c;--panel:#161b22;
--pass:#3fb950;--fail:#ff6b6b;--fault:rgba(240,160,60,.18);--fault-fg:#f0a848;--open:#ff6b6b;--half:#e3b341;--band:#1c222a;
--s0:#6ea8fe;--s1:#ff7b72;--s2:#56d364;--s3:#c297ff;--s4:#ffa657;--s5:#39c5cf;--s6:#f778ba;--s7:#a6b0ba}}
body{background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1000px;padding:16px 24px 48px}
h1{font-size:22px;margin:8px 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid var(--border);padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}
code,pre{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}pre{background:var(--panel);border:1px solid var(--border);padding:8px 10px;overflow-x:auto}
table{border-collapse:collapse;margin:6px 0}th,td{border:1px solid var(--border);padding:3px 8px;text-align:left;vertical-align:top}
th{background:var(--panel)}td.n{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:var(--pass);font-weight:600}.fail{color:var(--fail);font-weight:600}.muted{color:var(--muted)}
.badge{display:inline-block;padding:1px 10px;border-radius:10px;color:#fff;font-weight:600}.badge.pass{background:var(--pass);color:var(--bg)}.badge.fail{background:var(--fail);color:var(--bg)}
svg.chart{width:100%;height:auto;display:block;margin:10px 0 18px}
svg text{fill:var(--fg);font:12px system-ui,sans-serif}svg .title{font-weight:600;font-size:13px}svg .tick-label,svg .axis-label,svg .marker-label{fill:var(--muted);font-size:11px}
svg .legend{font-size:12px}svg .grid{stroke:var(--grid)}svg .axis,svg .tick{stroke:var(--muted)}svg .marker{stroke:var(--muted);stroke-dasharray:4 3}
svg .fault{fill:var(--fault)}svg .fault-label{fill:var(--fault-fg);font-size:11px}svg .band-bg{fill:var(--band)}svg .open{fill:var(--open)}svg .half_open{fill:var(--half)}
svg .line{fill:none;stroke-width:1.8;stroke-linejoin:round}svg .faint{stroke-width:1;stroke-opacity:.45}
.s0{stroke:var(--s0)}.s1{stroke:var(--s1)}.s2{stroke:var(--s2)}.s3{stroke:var(--s3)}.s4{stroke:var(--s4)}.s5{stroke:var(--s5)}.s6{stroke:var(--s6)}.s7{stroke:var(--s7)}
details{margin:4px 0}summary{cursor:pointer}
"#;

use super::escape as esc;

fn us(t: u64) -> String {
    format_duration(Duration::from_micros(t))
}

fn page(o: &mut String, title: &str) {
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        esc(title)
    );
}

fn verdict_badge(v: Verdict) -> String {
    format!("<span class=\"badge {0}\">{0}</span>", v.name())
}

/// The fault windows of a run as shaded chart windows.
fn windows(o: &Outcome) -> Vec<Window> {
    o.faults
        .iter()
        .enumerate()
        .map(|(i, f)| Window {
            start_ms: f.start_us / 1_000,
            end_ms: f.end_us.min(o.timeline.end_us) / 1_000,
            label: o
                .fault_labels
                .get(i)
                .cloned()
                .unwrap_or_else(|| f.kind.clone()),
        })
        .collect()
}

/// The charts of one run, each its own `<svg>`. Every figure comes from the
/// run's [`Timeline`].
pub fn run_charts(o: &Outcome) -> Vec<String> {
    let t = &o.timeline;
    let windows = windows(o);
    let markers = [(t.load_end_us / 1_000, "drain")];
    let end_ms = t.end_us / 1_000;
    let gauge = |name: &str, colour: usize, f: &dyn Fn(&GaugePoint) -> Option<u64>| Series {
        name: name.into(),
        colour,
        points: t
            .gauges
            .iter()
            .map(|g| (g.at_ms, f(g).map(|v| v as f64)))
            .collect(),
        faint: false,
    };
    let rate = |name: &str, colour: usize, f: &dyn Fn(&Bucket) -> u64| Series {
        name: name.into(),
        colour,
        points: rate_points(t, f),
        faint: false,
    };
    let latency = |name: &str, colour: usize, f: &dyn Fn(&Bucket) -> Option<u64>| Series {
        name: name.into(),
        colour,
        points: bucket_points(t, |b| f(b).map(|v| v as f64)),
        faint: false,
    };
    let chart = |id: &str, title: &str, unit: &str, series: Vec<Series>| {
        svg::line_chart(&Chart {
            id,
            title,
            unit,
            end_ms,
            series,
            windows: &windows,
            markers: &markers,
        })
    };
    // A queue's lag is its backlog (what it holds, acked or not yet
    // received), so the same gauges read differently.
    let [lag_title, age_title, depth_title] = if o.queue {
        [
            "Queue backlog (messages not yet acked: visible, in flight or delayed, all queues)",
            "Age of the oldest message held",
            "Queue depth (messages held, dead-letter queues apart)",
        ]
    } else {
        [
            "Consumer lag (messages not yet committed, all partitions)",
            "Age of the oldest uncommitted message",
            "Queue depth (messages held by the broker)",
        ]
    };
    let mut charts = vec![
        chart(
            "lag",
            lag_title,
            "messages",
            vec![gauge("lag", 0, &|g| g.lag)],
        ),
        chart(
            "lag-age",
            age_title,
            "ms",
            vec![gauge("lag age", 3, &|g| g.lag_age_ms)],
        ),
        chart(
            "depth",
            depth_title,
            "messages",
            vec![gauge("depth", 5, &|g| g.depth)],
        ),
        chart(
            "throughput",
            "Throughput",
            "msg/s",
            vec![
                rate("sent", 7, &|b| b.sent),
                rate("acked (in)", 0, &|b| b.acked),
                rate("effects (out)", 2, &|b| b.effects),
            ],
        ),
        chart(
            "latency",
            "End-to-end latency (first send to first effect), by effect time",
            "ms",
            vec![
                latency("p50", 0, &|b| b.latency_p50_ms),
                latency("p99", 4, &|b| b.latency_p99_ms),
                latency("max", 1, &|b| b.latency_max_ms),
            ],
        ),
    ];
    // Dead letters only where there are any, so other runs' charts keep
    // their bytes.
    let mut drops = vec![
        rate("dropped", 1, &|b| b.dropped),
        rate("rejected", 4, &|b| b.rejected),
    ];
    let dead_letters = t.buckets.iter().any(|b| b.dead_lettered > 0);
    if dead_letters {
        drops.push(rate("dead-lettered", 3, &|b| b.dead_lettered));
    }
    charts.push(chart(
        "drops",
        if dead_letters {
            "Drops, rejections and dead letters"
        } else {
            "Drops and rejections"
        },
        "msg/s",
        drops,
    ));
    if !t.breakers.is_empty() || o.policy == PolicyKind::CircuitBreaker.name() {
        charts.push(breaker_band(t, &windows, &markers));
    }
    charts
}

/// A point per bucket at its middle.
fn bucket_points(t: &Timeline, f: impl Fn(&Bucket) -> Option<f64>) -> Points {
    (0..t.buckets.len())
        .map(|i| {
            let (start, width) = t.bucket_span_us(i);
            ((start + width / 2) / 1_000, f(&t.buckets[i]))
        })
        .collect()
}

/// A count per bucket as a rate per second of the time the bucket covers
/// (the last bucket may be cut short by the end of the run).
fn rate_points(t: &Timeline, f: impl Fn(&Bucket) -> u64) -> Points {
    (0..t.buckets.len())
        .map(|i| {
            let (start, width) = t.bucket_span_us(i);
            let rate = f(&t.buckets[i]) as f64 / (width.max(1) as f64 / 1e6);
            ((start + width / 2) / 1_000, Some(rate))
        })
        .collect()
}

fn breaker_band(t: &Timeline, windows: &[Window], markers: &[(u64, &str)]) -> String {
    let mut stores: Vec<u32> = t.breakers.iter().map(|b| b.store).collect();
    stores.dedup();
    let rows: Vec<BandRow> = stores
        .iter()
        .map(|&store| BandRow {
            label: format!("store-{store}"),
            spans: t
                .breakers
                .iter()
                .filter(|b| b.store == store)
                .map(|b| {
                    let class = match b.state {
                        BreakerState::Open => "open",
                        _ => "half_open",
                    };
                    let tip = format!(
                        "store-{store} {} {}–{}",
                        b.state.name(),
                        us(b.start_us),
                        us(b.end_us)
                    );
                    (b.start_us / 1_000, b.end_us / 1_000, class, tip)
                })
                .collect(),
        })
        .collect();
    let title = if rows.is_empty() {
        "Circuit breakers (no breaker left the closed state)"
    } else {
        "Circuit breakers by store node (most open breaker of any consumer)"
    };
    svg::band_chart(
        "breakers",
        title,
        t.end_us / 1_000,
        &rows,
        windows,
        markers,
        &[("open", "open"), ("half_open", "half-open")],
    )
}

fn header(o: &mut String, outcome: &Outcome, reproduce: &str) {
    let failed = outcome.expectations.iter().filter(|e| !e.passed).count();
    let _ = write!(
        o,
        "<h1>{}</h1>\n<p>seed <b>{}</b> · policy <b>{}</b> · {} · {} of {} expectations failed</p>\n<p class=\"muted\">history_hash <code>{}</code> · {} events · {} samples</p>\n<pre>{}</pre>\n",
        esc(&outcome.scenario),
        outcome.seed,
        esc(&outcome.policy),
        verdict_badge(outcome.verdict),
        failed,
        outcome.expectations.len(),
        esc(&outcome.history_hash),
        outcome.events,
        outcome.samples,
        esc(reproduce)
    );
}

fn expectations(o: &mut String, outcome: &Outcome) {
    let _ = writeln!(o, "<h2>Expectations</h2>");
    if outcome.expectations.is_empty() {
        let _ = writeln!(o, "<p class=\"muted\">none</p>");
        return;
    }
    let _ = writeln!(
        o,
        "<table><tr><th>expectation</th><th>actual</th><th>result</th><th>example ids</th></tr>"
    );
    for e in &outcome.expectations {
        let actual = super::actual_text(e.expectation.metric, e.actual);
        let ids: Vec<String> = e
            .examples
            .iter()
            .map(|id| id_link(&id.to_string()))
            .collect();
        let _ = writeln!(
            o,
            "<tr><td><code>{}</code></td><td class=\"n\">{}</td><td class=\"{}\">{}</td><td>{}</td></tr>",
            esc(&e.expr),
            esc(&actual),
            if e.passed { "pass" } else { "fail" },
            if e.passed { "pass" } else { "FAIL" },
            if e.passed { String::new() } else { ids.join(" ") }
        );
    }
    let _ = writeln!(o, "</table>");
}

fn id_link(id: &str) -> String {
    format!("<a href=\"#msg-{0}\"><code>{0}</code></a>", esc(id))
}

fn counts(o: &mut String, outcome: &Outcome) {
    let _ = writeln!(
        o,
        "<h2>Counts</h2>\n<table><tr><th>figure</th><th>value</th></tr>"
    );
    for (m, n) in super::report_counts(outcome) {
        let _ = writeln!(o, "<tr><td>{}</td><td class=\"n\">{n}</td></tr>", m.name());
    }
    if outcome.shows_dlq() {
        // The message is among the example histories below: link to it.
        let md = &outcome.max_deliveries;
        let example = md.example.map_or(String::new(), |id| {
            format!(" ({})", id_link(&id.to_string()))
        });
        let _ = writeln!(
            o,
            "<tr><td>max deliveries</td><td class=\"n\">{}{example}</td></tr>",
            md.value
        );
    }
    let rows = super::key_figures(outcome);
    for (name, v) in rows {
        let _ = writeln!(
            o,
            "<tr><td>{name}</td><td class=\"n\">{}</td></tr>",
            esc(&v)
        );
    }
    let _ = writeln!(o, "</table>");
}

/// Where every created message went: one row per fate (they sum to `sent`).
fn balance(o: &mut String, outcome: &Outcome) {
    let _ = writeln!(
        o,
        "<h2>Where every message went</h2>\n<p>{}</p>\n<table><tr><th>fate</th><th>messages</th><th>detail</th><th>example ids</th></tr>",
        esc(&outcome.balance.equation)
    );
    for (name, metric, n, detail) in super::fate_rows(outcome) {
        let examples = outcome.examples.0.iter().find(|(m, _)| *m == metric);
        let links: Vec<String> = examples.map_or(Vec::new(), |(_, ids)| {
            ids.iter().map(|id| id_link(&id.to_string())).collect()
        });
        let more = examples.is_some_and(|(_, ids)| n > ids.len() as u64);
        let _ = writeln!(
            o,
            "<tr><td>{name}</td><td class=\"n\">{n}</td><td>{}</td><td>{}{}</td></tr>",
            esc(&detail),
            links.join(" "),
            if more { " …" } else { "" }
        );
    }
    let _ = writeln!(o, "</table>");
    if !outcome.stages.is_empty() {
        let _ = writeln!(
            o,
            "<h3>By stage</h3>\n<table><tr><th>stage</th><th>balance</th><th>max lag</th></tr>"
        );
        for s in &outcome.stages {
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{} / {}</td></tr>",
                esc(&s.stage),
                esc(&s.equation),
                s.max_lag,
                esc(&crate::units::format_duration(
                    std::time::Duration::from_millis(s.max_lag_age_ms)
                ))
            );
        }
        let _ = writeln!(o, "</table>");
    }
}

/// Under a skewed load the classes, then every partition (its lag, its
/// messages' fates and latency).
fn by_partition(o: &mut String, outcome: &Outcome) {
    let b = &outcome.breakdown;
    if b.partitions.len() < 2 {
        return;
    }
    let head = "<tr><th>messages</th><th>sent</th><th>took effect</th><th>lost</th><th>dropped</th><th>shed</th><th>abandoned</th><th>max lag</th><th>latency p50 / p99 / max</th></tr>";
    let row = |o: &mut String, name: &str, g: &crate::check::GroupFigures| {
        let _ = write!(o, "<tr><td>{}</td>", esc(name));
        for cell in super::group_cells(g) {
            let _ = write!(o, "<td class=\"n\">{}</td>", esc(&cell));
        }
        let _ = writeln!(o, "</tr>");
    };
    let classes = super::class_rows(outcome);
    if !classes.is_empty() {
        let _ = writeln!(o, "<h2>Hot against cold</h2>\n<table>{head}");
        for (name, g) in &classes {
            row(o, name, g);
        }
        let _ = writeln!(o, "</table>");
    }
    let what = if outcome.queue { "queue" } else { "partition" };
    let _ = writeln!(o, "<h2>By {what}</h2>\n<table>{head}");
    for (p, g) in b.partitions.iter().enumerate() {
        let hot = if b.hot_partitions.contains(&(p as u32)) {
            " (hot)"
        } else {
            ""
        };
        row(o, &format!("{what} {p}{hot}"), g);
    }
    let _ = writeln!(o, "</table>");
}

fn faults(o: &mut String, outcome: &Outcome) {
    let _ = writeln!(o, "<h2>Faults</h2>");
    if outcome.faults.is_empty() {
        let _ = writeln!(o, "<p class=\"muted\">none</p>");
        return;
    }
    let _ = writeln!(
        o,
        "<table><tr><th>from</th><th>until</th><th>fault</th></tr>"
    );
    for (i, f) in outcome.faults.iter().enumerate() {
        let label = outcome.fault_labels.get(i).unwrap_or(&f.kind);
        let _ = writeln!(
            o,
            "<tr><td class=\"n\">{}</td><td class=\"n\">{}</td><td><code>{}</code></td></tr>",
            us(f.start_us),
            us(f.end_us),
            esc(label)
        );
    }
    let _ = writeln!(o, "</table>");
}

/// Events shown per example id: a message redelivered thousands of times
/// would otherwise make the page unreadable.
const MAX_EVENTS_SHOWN: usize = 200;

/// Each anomaly's example ids with every event they had.
fn anomalies(o: &mut String, outcome: &Outcome) {
    let _ = writeln!(o, "<h2>Anomalies and their messages</h2>");
    if outcome.examples.0.is_empty() {
        let _ = writeln!(o, "<p class=\"muted\">no anomaly was counted</p>");
        return;
    }
    for (metric, ids) in &outcome.examples.0 {
        let n = outcome.counts[*metric];
        let links: Vec<String> = ids.iter().map(|id| id_link(&id.to_string())).collect();
        let _ = writeln!(
            o,
            "<p><b>{}</b> {n}: {}{}</p>",
            metric.name(),
            links.join(" "),
            if n > ids.len() as u64 { " …" } else { "" }
        );
    }
    let _ = writeln!(o, "<h3>Event histories</h3>");
    for (id, events) in &outcome.example_histories {
        let _ = writeln!(
            o,
            "<details id=\"msg-{id}\" open><summary><code>{id}</code> key {} · {} events</summary>\n<table><tr><th>time</th><th>event</th><th>details</th></tr>",
            events.first().map_or(0, |e| e.key),
            events.len()
        );
        for e in events.iter().take(MAX_EVENTS_SHOWN) {
            // With several stages, say whose event it is (a relay's
            // deliveries are not the consumers').
            let details = match outcome.stages.get(e.stage as usize) {
                Some(s) => format!("{} ({})", e.kind.details(), s.stage),
                None => e.kind.details(),
            };
            let _ = writeln!(
                o,
                "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
                us(e.at_us),
                e.kind.verb(),
                esc(details.trim_start())
            );
        }
        if events.len() > MAX_EVENTS_SHOWN {
            let _ = writeln!(
                o,
                "<tr><td colspan=\"3\" class=\"muted\">… {} more events: run with <code>--history</code> for all of them</td></tr>",
                events.len() - MAX_EVENTS_SHOWN
            );
        }
        let _ = writeln!(o, "</table></details>");
    }
}

/// The page of one run.
pub fn run_page(outcome: &Outcome, reproduce: &str) -> String {
    let mut o = String::new();
    page(
        &mut o,
        &format!("mqsim: {} seed {}", outcome.scenario, outcome.seed),
    );
    header(&mut o, outcome, reproduce);
    expectations(&mut o, outcome);
    let _ = writeln!(o, "<h2>Timeline</h2>");
    for chart in run_charts(outcome) {
        o.push_str(&chart);
        o.push('\n');
    }
    balance(&mut o, outcome);
    counts(&mut o, outcome);
    by_partition(&mut o, outcome);
    faults(&mut o, outcome);
    anomalies(&mut o, outcome);
    let _ = writeln!(
        o,
        "<p class=\"muted\">Every figure on this page was computed from the run's History by mqsim's checkers; shaded: fault windows; dashed: the drain phase begins (faults healed).</p>\n</body>\n</html>"
    );
    o
}

/// A chart line's points: `(at_ms, value)`.
type Points = Vec<(u64, Option<f64>)>;

/// A policy's colour slot, the same on every chart of every comparison.
pub fn policy_colour(p: PolicyKind) -> usize {
    match PolicyKind::ALL.iter().position(|&k| k == p) {
        Some(i) => i,
        // A policy of one's own: one of the other four colours, by name.
        None => {
            let sum: usize = p.name().bytes().map(usize::from).sum();
            PolicyKind::ALL.len() + sum % 4
        }
    }
}

/// The page of a comparison: the table, each policy's curves overlaid, and
/// links to each run's own report.
pub fn comparison_page(
    c: &Comparison,
    reproduce: &str,
    run_dirs: &dyn Fn(PolicyKind, u64) -> String,
) -> String {
    let mut o = String::new();
    page(&mut o, &format!("mqsim compare: {}", c.scenario));
    let seeds = match c.seeds.as_slice() {
        [one] => format!("seed <b>{one}</b>"),
        s => format!(
            "seeds <b>{}..{}</b> (cells: median (min..max))",
            s.first().copied().unwrap_or(0),
            s.last().copied().unwrap_or(0)
        ),
    };
    let _ = write!(
        o,
        "<h1>{}: lag policies compared</h1>\n<p>{seeds} · {} policies · exit {}</p>\n<pre>{}</pre>\n",
        esc(&c.scenario),
        c.policies.len(),
        c.exit_code(),
        esc(reproduce)
    );
    let _ = writeln!(o, "<h2>Side by side</h2>\n<table>");
    for (i, row) in c.rows().iter().enumerate() {
        let cell = if i == 0 { "th" } else { "td" };
        let _ = write!(o, "<tr>");
        for (j, v) in row.iter().enumerate() {
            let class = if i > 0 && j > 0 && j + 1 < row.len() {
                " class=\"n\""
            } else {
                ""
            };
            let _ = write!(o, "<{cell}{class}>{}</{cell}>", esc(v));
        }
        let _ = writeln!(o, "</tr>");
    }
    let _ = writeln!(o, "</table>");

    let outcomes: Vec<(PolicyKind, &Outcome)> = c
        .policies
        .iter()
        .flat_map(|p| {
            p.runs
                .iter()
                .filter_map(move |r| r.result.as_ref().ok().map(|o| (p.policy, o)))
        })
        .collect();
    let several = c.seeds.len() > 1;
    // A `[swarm]` scenario draws its faults per seed: shade them only when
    // every run had the same ones.
    let shared_faults = outcomes
        .first()
        .filter(|(_, first)| outcomes.iter().all(|(_, o)| o.faults == first.faults))
        .map(|(_, first)| *first);
    if let Some((_, first)) = outcomes.first() {
        let wins = shared_faults.map(windows).unwrap_or_default();
        let t = &first.timeline;
        let markers = [(t.load_end_us / 1_000, "drain")];
        let end_ms = outcomes
            .iter()
            .map(|(_, o)| o.timeline.end_us)
            .max()
            .unwrap_or(0)
            / 1_000;
        let series = |f: &dyn Fn(&Outcome) -> Points| -> Vec<Series> {
            outcomes
                .iter()
                .map(|(p, o)| Series {
                    name: p.name().into(),
                    colour: policy_colour(*p),
                    points: f(o),
                    faint: several,
                })
                .collect()
        };
        let chart = |id: &str, title: &str, unit: &str, s: Vec<Series>| {
            svg::line_chart(&Chart {
                id,
                title,
                unit,
                end_ms,
                series: s,
                windows: &wins,
                markers: &markers,
            })
        };
        let _ = writeln!(
            o,
            "<h2>Timelines{}</h2>",
            if several { " (one line per seed)" } else { "" }
        );
        let gauge = |f: fn(&GaugePoint) -> Option<u64>| {
            move |o: &Outcome| {
                o.timeline
                    .gauges
                    .iter()
                    .map(|g| (g.at_ms, f(g).map(|v| v as f64)))
                    .collect()
            }
        };
        let rate = |f: fn(&Bucket) -> u64| move |o: &Outcome| rate_points(&o.timeline, f);
        for svg in [
            chart(
                "lag",
                "Consumer lag by policy (messages not yet committed)",
                "messages",
                series(&gauge(|g| g.lag)),
            ),
            chart(
                "lag-age",
                "Age of the oldest uncommitted message by policy",
                "ms",
                series(&gauge(|g| g.lag_age_ms)),
            ),
            chart(
                "effects",
                "Throughput out (effects) by policy",
                "msg/s",
                series(&rate(|b| b.effects)),
            ),
            chart(
                "drops",
                "Drops and rejections by policy",
                "msg/s",
                series(&rate(|b| b.dropped + b.rejected)),
            ),
        ] {
            o.push_str(&svg);
            o.push('\n');
        }
    }
    let _ = writeln!(o, "<h2>Runs</h2>\n<table><tr><th>policy</th><th>seed</th><th>verdict</th><th>history_hash</th><th>report</th></tr>");
    for p in &c.policies {
        for r in &p.runs {
            let dir = run_dirs(p.policy, r.seed);
            match &r.result {
                Ok(out) => {
                    let _ = writeln!(
                        o,
                        "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"{}\">{}</td><td><code>{}</code></td><td><a href=\"{dir}/report.html\">{dir}/</a></td></tr>",
                        p.policy.name(),
                        r.seed,
                        out.verdict.name(),
                        out.verdict.name(),
                        esc(&out.history_hash)
                    );
                }
                Err(e) => {
                    let _ = writeln!(
                        o,
                        "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"fail\">simulation failed</td><td colspan=\"2\">{}</td></tr>",
                        p.policy.name(),
                        r.seed,
                        esc(e)
                    );
                }
            }
        }
    }
    let _ = writeln!(o, "</table>");
    match shared_faults {
        Some(first) => faults(&mut o, first),
        None if !outcomes.is_empty() => {
            let _ = writeln!(
                o,
                "<h2>Faults</h2>\n<p>The seeds drew different faults (a <code>[swarm]</code> scenario), so the charts shade none: each run's report shows its own.</p>"
            );
        }
        None => {}
    }
    let _ = writeln!(
        o,
        "<p class=\"muted\">Every figure on this page comes from the runs' Histories; the policies saw the same seed, load and faults. Shaded: fault windows; dashed: the drain phase begins.</p>\n</body>\n</html>"
    );
    o
}

/// The page of a sweep: the verdicts, each figure's spread over the
/// seeds, and every seed with its verdict, hash and what failed.
pub fn sweep_page(sweep: &Sweep) -> String {
    let mut o = String::new();
    page(&mut o, &format!("mqsim explore: {}", sweep.scenario));
    let shard = sweep
        .shard
        .map(|s| format!(" · shard {}/{}", s.index, s.count))
        .unwrap_or_default();
    let verdict = if sweep.exit_code() == 0 {
        verdict_badge(Verdict::Pass)
    } else {
        verdict_badge(Verdict::Fail)
    };
    let _ = writeln!(
        o,
        "<h1>{}: seeds {}..{}</h1>\n<p>{verdict} {} seeds run: <span class=\"pass\">{} pass</span>, <span class=\"fail\">{} fail</span>, {} simulation failures{shard}{} · exit {}</p>",
        esc(&sweep.scenario),
        sweep.seeds_from,
        sweep.seeds_to,
        sweep.results.len(),
        sweep.count(SeedVerdict::Pass),
        sweep.count(SeedVerdict::Fail),
        sweep.count(SeedVerdict::SimFailure),
        if sweep.partial { " · partial: not every seed ran" } else { "" },
        sweep.exit_code()
    );
    let _ = writeln!(
        o,
        "<h2>Figures over the seeds</h2>\n<table><tr><th>figure</th><th>min</th><th>median</th><th>max</th><th>seeds</th></tr>"
    );
    for m in Metric::ALL {
        if let Some(s) = sweep.figures.get(m.name()) {
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                m.name(),
                s.min,
                s.median,
                s.max,
                s.seeds
            );
        }
    }
    let _ = writeln!(
        o,
        "</table>\n<h2>Seeds</h2>\n<table><tr><th>seed</th><th>verdict</th><th>history_hash</th><th>what failed, and how to replay it</th></tr>"
    );
    for r in &sweep.results {
        let (class, name) = match r.verdict {
            SeedVerdict::Pass => ("pass", "pass"),
            SeedVerdict::Fail => ("fail", "fail"),
            SeedVerdict::SimFailure => ("fail", "simulation failed"),
        };
        let why = if r.verdict == SeedVerdict::Pass {
            String::new()
        } else {
            format!(
                "{}<br><code>{}</code>",
                esc(&super::seed_failure(r)),
                esc(&sweep.reproduce(r.seed))
            )
        };
        let _ = writeln!(
            o,
            "<tr><td class=\"n\">{}</td><td class=\"{class}\">{name}</td><td><code>{}</code></td><td>{why}</td></tr>",
            r.seed,
            esc(&r.history_hash)
        );
    }
    let _ = writeln!(
        o,
        "</table>\n<p class=\"muted\">Every figure on this page comes from the seeds' Histories; fingerprint <code>{}</code> (the scenario as run and mqsim's version).</p>\n</body>\n</html>",
        esc(&sweep.fingerprint)
    );
    o
}

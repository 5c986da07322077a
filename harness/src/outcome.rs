//! The outcome of one run: the figures the checkers computed, the scenario's
//! expectations evaluated against them, and the verdict. Every report (text,
//! JSON, Markdown, HTML, JUnit) is a render of one `Outcome`.
//!
//! Its serde form is the JSON contract for CI users
//! ([`crate::report::json::run`]): its keys and their order are the field
//! order of the serde structs below.

use crate::check::{Figures, Timeline, COUNTS};
use crate::history::{Event, FaultWindow, History, MsgId};
use crate::scenario::{Cmp, Expectation, Metric, Scenario, Scope};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;

/// Whether every expectation held. Also the exit code of `mqsim run` (DESIGN §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every expectation held (exit code 0).
    Pass,
    /// At least one expectation failed (exit code 1).
    Fail,
}

impl Verdict {
    /// 0 = every expectation held, 1 = an expectation failed.
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Pass => 0,
            Verdict::Fail => 1,
        }
    }

    /// As in the JSON (`pass`, `fail`).
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
        }
    }
}

/// The count figures keyed by metric ([`crate::metric::COUNTS`], the one
/// table of them): JSON writes them as an object in report order, each
/// metric's name a key, so a new count metric appears here without a field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts(BTreeMap<Metric, u64>);

impl Counts {
    /// Every count metric's figure in `figures`.
    pub fn of(figures: &Figures) -> Counts {
        Counts(
            (COUNTS.iter())
                .map(|&m| (m, figures.count(m).map_or(0, |c| c.n)))
                .collect(),
        )
    }

    /// `(metric, count)` in report order.
    pub fn iter(&self) -> impl Iterator<Item = (Metric, u64)> + '_ {
        COUNTS.iter().map(|&m| (m, self[m]))
    }
}

impl std::ops::Index<Metric> for Counts {
    type Output = u64;

    /// A count metric's figure (0 for a metric that is not a count).
    fn index(&self, m: Metric) -> &u64 {
        self.0.get(&m).unwrap_or(&0)
    }
}

impl Serialize for Counts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(COUNTS.len()))?;
        for (m, n) in self.iter() {
            map.serialize_entry(m.name(), &n)?;
        }
        map.end()
    }
}

/// The most deliveries of one message and that message (`null` when nothing
/// was delivered), as text (`"p0-12"`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MaxDeliveriesFigure {
    /// The most `deliver` events of one message (0 when nothing was delivered).
    pub value: u64,
    /// The smallest id delivered that many times.
    #[serde(serialize_with = "id_text")]
    pub example: Option<MsgId>,
}

fn id_text<S: Serializer>(id: &Option<MsgId>, serializer: S) -> Result<S::Ok, S::Error> {
    match id {
        Some(id) => serializer.collect_str(id),
        None => serializer.serialize_none(),
    }
}

/// How the created messages split into fates (see [`crate::check::fate`]):
/// the totals are in `counts`; this carries the equation people read and
/// the splits that explain it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BalanceFigures {
    /// `12000 sent = 10891 took effect + 1109 abandoned (1109 told)`.
    pub equation: String,
    /// What else happened to messages that took effect.
    pub took_effect: TookEffectSplit,
    /// `silently_dropped` by the reason of each message's first `drop`.
    pub silently_dropped: ByReason,
    /// `shed` by the reason of each message's last `reject`.
    pub shed: ByReason,
    /// `abandoned` split by whether anyone was told.
    pub abandoned: AbandonedSplit,
}

/// Of the messages that took effect, those with more to their story
/// (JSON `balance.took_effect`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TookEffectSplit {
    /// Applied more than once (ids).
    pub more_than_once: u64,
    /// A `drop` was recorded for it, and it was applied anyway.
    pub dropped_then_applied: u64,
}

/// The abandoned messages, told and not told (JSON `balance.abandoned`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AbandonedSplit {
    /// The producer gave up and said so (`timeout`).
    pub told: u64,
    /// It vanished with a producer that crashed holding it.
    pub not_told: u64,
}

/// Counts per reason, serialised as an object in a fixed order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ByReason(pub Vec<(crate::history::Reason, u64)>);

impl Serialize for ByReason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (r, n) in &self.0 {
            map.serialize_entry(r.name(), n)?;
        }
        map.end()
    }
}

impl BalanceFigures {
    fn of(b: &crate::check::Balance) -> BalanceFigures {
        let by = |v: &[(crate::history::Reason, crate::check::Count)]| {
            ByReason(v.iter().map(|(r, c)| (*r, c.n)).collect())
        };
        BalanceFigures {
            equation: b.equation(),
            took_effect: TookEffectSplit {
                more_than_once: b.more_than_once.n,
                dropped_then_applied: b.dropped_then_applied.n,
            },
            silently_dropped: by(&b.dropped_by),
            shed: by(&b.shed_by),
            abandoned: AbandonedSplit {
                told: b.abandoned.n - b.abandoned_silently.n,
                not_told: b.abandoned_silently.n,
            },
        }
    }
}

/// One stage of a pipeline with several, as reports show it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StageOutcome {
    /// Its name (`buffer`, `queue`).
    pub stage: String,
    /// Its own balance; a stage that hands messages on "forwarded" them.
    pub equation: String,
    /// Messages that entered the stage: for the first, those the workload
    /// created; for a later one, those the relays published into it (or
    /// still hold to publish).
    pub sent: u64,
    /// Applied (the last stage) or forwarded to the next (an earlier one).
    pub took_effect: u64,
    /// Acked by the stage, then gone from it.
    pub lost: u64,
    /// Still held by the stage's broker at the end.
    pub stranded: u64,
    /// Discarded by the stage without telling its sender.
    pub silently_dropped: u64,
    /// Dropped by the stage for their time to live.
    pub expired: u64,
    /// In the stage's dead-letter queue at the end.
    pub dead_lettered: u64,
    /// Refused by the stage with notice.
    pub shed: u64,
    /// Given up by their sender, or gone with a sender that crashed.
    pub abandoned: u64,
    /// Still held by a live sender (producer or relay) at the end.
    pub in_flight: u64,
    /// Largest lag of the stage's partitions, summed, in messages.
    pub max_lag: u64,
    /// Largest age of the stage's oldest uncommitted message, whole ms.
    pub max_lag_age_ms: u64,
}

impl StageOutcome {
    fn of(s: &crate::check::StageFigures, last: bool) -> StageOutcome {
        let b = &s.balance;
        StageOutcome {
            stage: s.name.clone(),
            equation: b.equation_as(if last { "took effect" } else { "forwarded" }),
            sent: b.sent,
            took_effect: b.took_effect.n,
            lost: b.lost.n,
            stranded: b.stranded.n,
            silently_dropped: b.silently_dropped.n,
            expired: b.expired.n,
            dead_lettered: b.dead_lettered.n,
            shed: b.shed.n,
            abandoned: b.abandoned.n,
            in_flight: b.in_flight.n,
            max_lag: s.max_lag,
            max_lag_age_ms: s.max_lag_age_ms,
        }
    }
}

/// The consumer group's churn.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GroupFigures {
    /// Generations after the group formed (a member expired and rejoining
    /// makes two).
    pub rebalances: u64,
    /// Time during which some partition that had an owner had none, whole ms.
    pub unowned_ms: u64,
}

/// Consumer lag at its worst over the gauge samples (JSON `lag`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LagFigures {
    /// Largest lag of any sample, summed over partitions (and stages), in
    /// messages.
    pub max_messages: u64,
    /// Largest age of the oldest uncommitted message of any sample, whole ms.
    pub max_age_ms: u64,
}

/// End-to-end latency in whole ms; all `None` when no message had an effect.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LatencyFigures {
    /// Median, nearest rank.
    pub p50: Option<u64>,
    /// 99th percentile, nearest rank.
    pub p99: Option<u64>,
    /// The largest.
    pub max: Option<u64>,
}

/// One `[expect]` line and how it fared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExpectationResult {
    /// As written in reports, e.g. `lost = 0`.
    pub expr: String,
    /// The figure; `None` for a recovery that never happened or a latency
    /// without any effect.
    pub actual: Option<u64>,
    /// Whether it held; a missing figure fails every bound except a
    /// never-happened recovery's `>` or `>=`.
    pub passed: bool,
    /// The expectation itself, as parsed.
    #[serde(skip)]
    pub expectation: Expectation,
    /// Up to five ids behind the figure (count metrics, and the message
    /// behind `max_deliveries`).
    #[serde(skip)]
    pub examples: Vec<MsgId>,
}

/// Example ids per count metric, for the counts above 0, in count order.
/// Serialised as a JSON object of metric name → ids as text (`"p0-12"`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Examples(pub Vec<(Metric, Vec<MsgId>)>);

impl Serialize for Examples {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Ids<'a>(&'a [MsgId]);
        impl Serialize for Ids<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
                for id in self.0 {
                    seq.serialize_element(&id.to_string())?;
                }
                seq.end()
            }
        }
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (metric, ids) in &self.0 {
            map.serialize_entry(metric.name(), &Ids(ids))?;
        }
        map.end()
    }
}

/// One run's figures, expectations and verdict, and what the reports draw;
/// its serde form is the JSON contract (docs/json-contract.md).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Outcome {
    /// The scenario's name.
    pub scenario: String,
    /// The lag policy the run used.
    pub policy: String,
    /// The seed the run used.
    pub seed: u64,
    /// The History's version ([`crate::history::HISTORY_VERSION`]): hashes
    /// of different versions are not comparable.
    pub history_version: u32,
    /// [`History::hash`](crate::history::History::hash): the same scenario and
    /// seed give the same hash on every run and machine.
    pub history_hash: String,
    /// Pass when every expectation held.
    pub verdict: Verdict,
    /// Every count metric, by name: `sent`, `acked`, the fates (which sum to
    /// `sent`) and the anomaly counts.
    pub counts: Counts,
    /// The fates as an equation, with drops and refusals by reason and
    /// abandoned told and not told.
    pub balance: BalanceFigures,
    /// Largest consumer lag, in messages and in age.
    pub lag: LagFigures,
    /// `None` = never recovered.
    pub recovery_ms: Option<u64>,
    /// End-to-end latency (first send → first effect), whole ms.
    pub latency_ms: LatencyFigures,
    /// Times a circuit breaker opened.
    pub breaker_trips: u64,
    /// Rebalances of the consumer group (zero for a queue).
    pub group: GroupFigures,
    /// The fates, lag and latency per partition, and — under a skewed load
    /// — the hot partitions and keys against the others.
    pub breakdown: crate::check::Breakdown,
    /// Each stage's own balance and lag (empty for a single-stage pipeline).
    pub stages: Vec<StageOutcome>,
    /// The most deliveries of one message, and that message.
    pub max_deliveries: MaxDeliveriesFigure,
    /// Each `[expect]` line, in file order, with its figure and whether it held.
    pub expectations: Vec<ExpectationResult>,
    /// Up to five ids (the smallest) per count above zero, `sent`, `acked` and
    /// `took_effect` excepted.
    pub examples: Examples,
    /// Number of History events.
    pub events: u64,
    /// Number of gauge samples.
    pub samples: u64,
    /// The fault windows as applied (for reports; not in the JSON).
    #[serde(skip)]
    pub faults: Vec<FaultWindow>,
    /// Each fault window's label for charts (`slow_storage store-1 x60`),
    /// aligned with `faults` (for reports; not in the JSON).
    #[serde(skip)]
    pub fault_labels: Vec<String>,
    /// Rates, gauges and breaker states over time (for reports; not in the JSON).
    #[serde(skip)]
    pub timeline: Timeline,
    /// The broker is a classic queue: the gauges are queue backlogs, not
    /// partition lag (for chart titles; not in the JSON).
    #[serde(skip)]
    pub queue: bool,
    /// Every event of each example id (of `examples` and the expectations),
    /// in `MsgId` order: what a reader needs to trace a figure to its
    /// messages (for reports; not in the JSON).
    #[serde(skip)]
    pub example_histories: Vec<(MsgId, Vec<Event>)>,
}

impl Outcome {
    /// Evaluates `scenario.expect` against `figures` (computed from `history`)
    /// and hashes the History once.
    pub fn new(scenario: &Scenario, seed: u64, history: &History, figures: &Figures) -> Outcome {
        let policy = scenario.policy.kind.name();
        let mut o = Outcome::evaluate(
            &scenario.name,
            policy,
            &scenario.expect,
            seed,
            history,
            figures,
        );
        o.fault_labels = history
            .faults
            .iter()
            .map(|f| match scenario.faults.get(f.index) {
                Some(fault) => fault.kind.label(),
                None => f.kind.clone(),
            })
            .collect();
        o.queue = scenario.broker.kind == crate::scenario::BrokerKind::Queue;
        o
    }

    /// [`Outcome::new`] from a name and expectations (e.g. to compare policies
    /// under the same expectations).
    pub fn evaluate(
        name: &str,
        policy: &str,
        expect: &[Expectation],
        seed: u64,
        history: &History,
        figures: &Figures,
    ) -> Outcome {
        let counts = Counts::of(figures);
        let expectations: Vec<ExpectationResult> = expect
            .iter()
            .map(|&e| {
                let actual = figures.value_in(e.scope, e.metric);
                // Groups carry no example ids; the run's figures do.
                let examples = match e.scope {
                    Scope::All => figures.examples(e.metric).to_vec(),
                    _ => Vec::new(),
                };
                ExpectationResult {
                    expr: e.to_string(),
                    actual,
                    passed: holds(e, actual),
                    expectation: e,
                    examples,
                }
            })
            .collect();
        let verdict = if expectations.iter().all(|e| e.passed) {
            Verdict::Pass
        } else {
            Verdict::Fail
        };
        // `sent`, `acked` and `took_effect` are volumes, not anomalies: no examples for them.
        let examples = COUNTS
            .iter()
            .filter(|&&m| !matches!(m, Metric::Sent | Metric::Acked | Metric::TookEffect))
            .filter_map(|&m| {
                figures
                    .count(m)
                    .filter(|c| c.n > 0)
                    .map(|c| (m, c.examples.clone()))
            })
            .collect();
        Outcome {
            scenario: name.to_string(),
            policy: policy.to_string(),
            seed,
            history_version: crate::history::HISTORY_VERSION,
            history_hash: history.hash(),
            verdict,
            counts,
            balance: BalanceFigures::of(&figures.balance),
            lag: LagFigures {
                max_messages: figures.lag.max_messages,
                max_age_ms: figures.lag.max_age_ms,
            },
            recovery_ms: figures.recovery_ms,
            latency_ms: LatencyFigures {
                p50: figures.latency_ms.map(|l| l.p50),
                p99: figures.latency_ms.map(|l| l.p99),
                max: figures.latency_ms.map(|l| l.max),
            },
            breaker_trips: figures.breaker_trips,
            group: GroupFigures {
                rebalances: figures.group.rebalances,
                unowned_ms: figures.group.unowned_ms,
            },
            breakdown: figures.breakdown.clone(),
            stages: (figures.stages.iter().enumerate())
                .map(|(i, s)| StageOutcome::of(s, i + 1 == figures.stages.len()))
                .collect(),
            max_deliveries: MaxDeliveriesFigure {
                value: figures.max_deliveries.n,
                example: figures.max_deliveries.example,
            },
            expectations,
            examples: Examples(examples),
            events: history.events.len() as u64,
            samples: history.samples.len() as u64,
            faults: history.faults.clone(),
            fault_labels: history.faults.iter().map(|f| f.kind.clone()).collect(),
            timeline: figures.timeline.clone(),
            queue: false,
            example_histories: Vec::new(),
        }
        .with_example_histories(history)
    }

    /// Collects every event of the example ids (and of the message behind
    /// `max_deliveries` when reports show it) in one pass over the History.
    fn with_example_histories(mut self, history: &History) -> Outcome {
        let most_delivered = self.max_deliveries.example.filter(|_| self.shows_dlq());
        let mut ids: Vec<MsgId> = self
            .examples
            .0
            .iter()
            .flat_map(|(_, ids)| ids)
            .chain(self.expectations.iter().flat_map(|e| &e.examples))
            .copied()
            .chain(most_delivered)
            .collect();
        ids.sort();
        ids.dedup();
        let mut events: Vec<Vec<Event>> = vec![Vec::new(); ids.len()];
        if !ids.is_empty() {
            for e in &history.events {
                if let Ok(i) = ids.binary_search(&e.id) {
                    events[i].push(*e);
                }
            }
        }
        self.example_histories = ids.into_iter().zip(events).collect();
        self
    }

    /// The process exit code for this run: 0 pass, 1 fail.
    pub fn exit_code(&self) -> i32 {
        self.verdict.exit_code()
    }

    /// Whether human reports show the DLQ figures (the [`DLQ_COUNTS`](crate::metric::DLQ_COUNTS) and
    /// `max_deliveries`): only for runs with poison or dead-lettered
    /// messages, so reports of runs without a DLQ story stay as they were.
    /// JSON always carries them.
    pub fn shows_dlq(&self) -> bool {
        let c = &self.counts;
        c[Metric::Poison] > 0 || c[Metric::DeadLettered] > 0 || c[Metric::Misrouted] > 0
    }
}

/// Whether `e` holds for `actual`. A recovery that never happened compares as
/// larger than any number; a missing latency fails every comparison.
fn holds(e: Expectation, actual: Option<u64>) -> bool {
    match actual {
        Some(v) => e.cmp.holds(v, e.value),
        None if e.metric == Metric::RecoveryMs => matches!(e.cmp, Cmp::Gt | Cmp::Ge),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::check;
    use crate::check::testkit::{m, Hb};

    fn exp(metric: Metric, cmp: Cmp, value: u64) -> Expectation {
        Expectation {
            scope: Scope::All,
            metric,
            cmp,
            value,
        }
    }

    /// Three messages: p0-0 clean (12.5 ms), p0-1 acked then lost, p1-0 clean
    /// (4 ms); a crash from 1 s to 2 s after which lag never returns to its
    /// baseline of 1.
    fn never_recovers() -> History {
        Hb::new()
            .clean(0, m(0, 0), 0, 12_500)
            .send(1_000, m(0, 1), 0)
            .ack(1_100, m(0, 1))
            .clean(2_000, m(1, 0), 1, 4_000)
            .lag_at(500_000, 1)
            .fault("crash", 1_000_000, 2_000_000)
            .lag_at(2_000_000, 30)
            .lag_at(2_500_000, 2)
            .build()
    }

    fn outcome(expect: &[Expectation]) -> Outcome {
        let h = never_recovers();
        Outcome::evaluate("demo", "unbounded", expect, 7, &h, &check(&h))
    }

    #[test]
    fn expectations_pass_and_fail() {
        let o = outcome(&[
            exp(Metric::Lost, Cmp::Eq, 1),
            exp(Metric::Sent, Cmp::Ge, 3),
            exp(Metric::MaxLag, Cmp::Gt, 30),
            exp(Metric::LatencyP99Ms, Cmp::Lt, 13),
        ]);
        let got: Vec<(&str, Option<u64>, bool)> = o
            .expectations
            .iter()
            .map(|e| (e.expr.as_str(), e.actual, e.passed))
            .collect();
        assert_eq!(
            got,
            vec![
                ("lost = 1", Some(1), true),
                ("sent >= 3", Some(3), true),
                ("max_lag > 30", Some(30), false),
                ("latency_p99_ms < 13", Some(12), true),
            ]
        );
        assert_eq!(o.verdict, Verdict::Fail);
        assert_eq!(o.exit_code(), 1);
        assert_eq!(o.expectations[0].examples, vec![m(0, 1)]);

        let o = outcome(&[exp(Metric::Lost, Cmp::Eq, 1)]);
        assert_eq!((o.verdict, o.exit_code()), (Verdict::Pass, 0));
        // No expectation: nothing can fail.
        assert_eq!(outcome(&[]).verdict, Verdict::Pass);
    }

    #[test]
    fn never_recovering_compares_as_larger_than_any_number() {
        let cases = [
            (Cmp::Gt, true),
            (Cmp::Ge, true),
            (Cmp::Eq, false),
            (Cmp::Lt, false),
            (Cmp::Le, false),
        ];
        for (cmp, passed) in cases {
            let o = outcome(&[exp(Metric::RecoveryMs, cmp, u64::MAX)]);
            assert_eq!(o.recovery_ms, None);
            assert_eq!(o.expectations[0].actual, None);
            assert_eq!(o.expectations[0].passed, passed, "{cmp:?}");
        }
    }

    #[test]
    fn a_missing_latency_fails_every_comparison() {
        let h = Hb::new().send(0, m(0, 0), 0).build();
        for cmp in [Cmp::Gt, Cmp::Ge, Cmp::Eq, Cmp::Lt, Cmp::Le] {
            let e = exp(Metric::LatencyMaxMs, cmp, 0);
            let o = Outcome::evaluate("x", "unbounded", &[e], 1, &h, &check(&h));
            assert_eq!(
                (o.expectations[0].actual, o.expectations[0].passed),
                (None, false)
            );
        }
    }

    #[test]
    fn json_has_the_contract_keys() {
        let o = outcome(&[exp(Metric::RecoveryMs, Cmp::Lt, 1_000)]);
        let json = crate::report::json::run(&o);
        assert!(json.ends_with("}\n"));
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let keys = |v: &serde_json::Value| -> Vec<String> {
            v.as_object().unwrap().keys().cloned().collect()
        };
        // serde_json without preserve_order sorts keys: compare as sets here,
        // and check the textual order below.
        let mut top = vec![
            "scenario",
            "policy",
            "seed",
            "history_version",
            "history_hash",
            "verdict",
            "counts",
            "balance",
            "lag",
            "recovery_ms",
            "latency_ms",
            "breaker_trips",
            "group",
            "breakdown",
            "stages",
            "max_deliveries",
            "expectations",
            "examples",
            "events",
            "samples",
        ];
        let mut counts = vec![
            "sent",
            "acked",
            "took_effect",
            "lost",
            "stranded",
            "silently_dropped",
            "expired",
            "shed",
            "abandoned",
            "abandoned_silently",
            "in_flight",
            "recovered",
            "duplicate_deliveries",
            "duplicate_effects",
            "unexpected",
            "order_violations",
            "dead_lettered",
            "poison",
            "poison_dead_lettered",
            "poison_not_dead_lettered",
            "misrouted",
        ];
        let in_text_order = |names: &[&str]| {
            let pos: Vec<usize> = names
                .iter()
                .map(|n| json.find(&format!("\"{n}\":")).unwrap())
                .collect();
            assert!(
                pos.windows(2).all(|w| w[0] < w[1]),
                "{names:?} out of order"
            );
        };
        in_text_order(&top);
        in_text_order(&counts);
        top.sort();
        counts.sort();
        let mut got_top = keys(&v);
        got_top.sort();
        let mut got_counts = keys(&v["counts"]);
        got_counts.sort();
        assert_eq!(got_top, top);
        assert_eq!(got_counts, counts);
        assert_eq!(keys(&v["lag"]).len(), 2);
        assert_eq!(v["lag"]["max_messages"], 30);
        assert_eq!(v["lag"]["max_age_ms"], 30);
        assert_eq!(v["scenario"], "demo");
        assert_eq!(v["policy"], "unbounded");
        assert_eq!(v["seed"], 7);
        assert_eq!(v["history_hash"], never_recovers().hash());
        assert_eq!(v["verdict"], "fail");
        assert_eq!(v["counts"]["sent"], 3);
        assert_eq!(v["counts"]["lost"], 1);
        assert_eq!(v["recovery_ms"], serde_json::Value::Null);
        assert_eq!(
            v["latency_ms"],
            serde_json::json!({"p50": 4, "p99": 12, "max": 12})
        );
        assert_eq!(
            v["expectations"],
            serde_json::json!([{"expr": "recovery_ms < 1000", "actual": null, "passed": false}])
        );
        assert_eq!(
            v["examples"],
            serde_json::json!({
                "lost": ["p0-1"],
            })
        );
        assert_eq!(
            v["max_deliveries"],
            serde_json::json!({"value": 1, "example": "p0-0"})
        );
        assert_eq!(v["events"], 14);
        assert_eq!(v["samples"], 3);
    }

    #[test]
    fn text_report() {
        let h = never_recovers();
        let mut o = Outcome::evaluate(
            "demo",
            "unbounded",
            &[
                exp(Metric::Lost, Cmp::Eq, 0),
                exp(Metric::RecoveryMs, Cmp::Gt, 0),
            ],
            7,
            &h,
            &check(&h),
        );
        o.faults.push(crate::history::FaultWindow {
            index: 1,
            kind: "slow_storage".to_string(),
            start_us: 90_000_000,
            end_us: 150_500_000,
        });
        let text = crate::report::text::run(&o, "mqsim run scenarios/demo.toml --seed 7");
        let expected = format!(
            "\
seed=7 scenario=demo policy=unbounded
faults:
  at 1s     crash         until 2s
  at 1m30s  slow_storage  until 2m30s500ms
counts:
  sent                  3
  acked                 3
  took_effect           2
  lost                  1
  stranded              0
  silently_dropped      0
  expired               0
  shed                  0
  abandoned             0
  abandoned_silently    0
  in_flight             0
  recovered             0
  duplicate_deliveries  0
  duplicate_effects     0
  unexpected            0
  order_violations      0
  dead_lettered         0
balance:      3 sent = 2 took effect + 1 lost
lag:          max 30 messages / 30ms
recovered_in: never
latency:      p50 4ms  p99 12ms  max 12ms
expectations:
  FAIL  lost = 0         actual 1  examples: p0-1
  PASS  recovery_ms > 0  actual never
verdict: fail (1 of 2 expectations failed)
history_hash: {}
reproduce: mqsim run scenarios/demo.toml --seed 7
",
            h.hash()
        );
        assert_eq!(text, expected);
        assert!(text.is_ascii());
        // No poison, nothing dead-lettered: the DLQ figures are left out.
        assert!(!o.shows_dlq());
        assert_eq!(
            crate::report::report_counts(&o).len(),
            COUNTS.len() - crate::metric::DLQ_COUNTS.len()
        );
        assert_eq!(o.example_histories.len(), 1, "p0-1 only");
    }

    /// A classic queue with a DLQ after 3 receives: p0-1 poison, dead-lettered;
    /// p0-2 poison, never sent; p1-1 healthy but dead-lettered (misrouted);
    /// p1-2 healthy, delivered 4 times before its effect.
    fn dlq_history() -> History {
        let failing = |h: Hb, at: u64, id: MsgId| {
            h.send(at, id, 1)
                .ack(at + 100, id)
                .append(at + 100, id)
                .deliver(at + 200, id)
                .deliver(at + 300, id)
                .deliver(at + 400, id)
                .dead_letter(at + 500, id)
        };
        let h = Hb::new().clean(0, m(0, 0), 0, 1_000);
        let h = failing(h, 2_000, m(0, 1));
        let h = failing(h, 3_000, m(1, 1));
        h.send(4_000, m(1, 2), 2)
            .ack(4_100, m(1, 2))
            .append(4_100, m(1, 2))
            .deliver(4_200, m(1, 2))
            .deliver(4_300, m(1, 2))
            .deliver(4_400, m(1, 2))
            .deliver(4_500, m(1, 2))
            .effect(4_600, m(1, 2))
            .poison(&[m(0, 1), m(0, 2)])
            .build()
    }

    #[test]
    fn dlq_figures_in_json_text_and_expectations() {
        let h = dlq_history();
        let o = Outcome::evaluate(
            "dlq",
            "unbounded",
            &[
                exp(Metric::Misrouted, Cmp::Eq, 0),
                exp(Metric::PoisonNotDeadLettered, Cmp::Eq, 0),
                exp(Metric::MaxDeliveries, Cmp::Le, 3),
            ],
            1,
            &h,
            &check(&h),
        );
        let v: serde_json::Value = serde_json::from_str(&crate::report::json::run(&o)).unwrap();
        let c = &v["counts"];
        let got: Vec<&serde_json::Value> = [
            "dead_lettered",
            "poison",
            "poison_dead_lettered",
            "poison_not_dead_lettered",
            "misrouted",
        ]
        .iter()
        .map(|k| &c[*k])
        .collect();
        assert_eq!(got, [2, 1, 1, 0, 1]);
        assert_eq!(
            v["max_deliveries"],
            serde_json::json!({"value": 4, "example": "p1-2"})
        );
        assert_eq!(
            v["examples"],
            serde_json::json!({
                "duplicate_deliveries": ["p0-1", "p1-1", "p1-2"],
                "dead_lettered": ["p0-1", "p1-1"],
                "poison": ["p0-1"],
                "poison_dead_lettered": ["p0-1"],
                "misrouted": ["p1-1"],
            })
        );
        assert_eq!(
            v["expectations"],
            serde_json::json!([
                {"expr": "misrouted = 0", "actual": 1, "passed": false},
                {"expr": "poison_not_dead_lettered = 0", "actual": 0, "passed": true},
                {"expr": "max_deliveries <= 3", "actual": 4, "passed": false},
            ])
        );
        assert_eq!(o.expectations[0].examples, vec![m(1, 1)]);
        assert_eq!(o.expectations[2].examples, vec![m(1, 2)]);
        // The most delivered message's events are at hand for reports.
        let traced: Vec<MsgId> = o.example_histories.iter().map(|(id, _)| *id).collect();
        assert_eq!(traced, vec![m(0, 1), m(1, 1), m(1, 2)]);
        assert!(o.shows_dlq());

        let text = crate::report::text::run(&o, "mqsim run dlq.toml --seed 1");
        let expected = format!(
            "\
seed=1 scenario=dlq policy=unbounded
faults: none
counts:
  sent                      4
  acked                     4
  took_effect               2
  lost                      0
  stranded                  0
  silently_dropped          0
  expired                   0
  shed                      0
  abandoned                 0
  abandoned_silently        0
  in_flight                 0
  recovered                 0
  duplicate_deliveries      7
  duplicate_effects         0
  unexpected                0
  order_violations          0
  dead_lettered             2
  poison                    1
  poison_dead_lettered      1
  poison_not_dead_lettered  0
  misrouted                 1
balance:      4 sent = 2 took effect + 2 dead-lettered
lag:          max 0 messages / 0s
deliveries:   max 4 (p1-2)
recovered_in: 0s
latency:      p50 0s  p99 1ms  max 1ms
expectations:
  FAIL  misrouted = 0                 actual 1  examples: p1-1
  PASS  poison_not_dead_lettered = 0  actual 0
  FAIL  max_deliveries <= 3           actual 4  examples: p1-2
verdict: fail (2 of 3 expectations failed)
history_hash: {}
reproduce: mqsim run dlq.toml --seed 1
",
            h.hash()
        );
        assert_eq!(text, expected);
    }
}

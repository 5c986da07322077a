//! Checkers (DESIGN §3): pure functions over a [`History`], one module per
//! checker. [`check`] summarises every message in one pass over the events
//! ([`summary`]), runs each checker over that summary (or over the gauge
//! samples and fault windows), and gathers the figures into [`Figures`].
//!
//! Every count carries up to [`MAX_EXAMPLES`] example message ids — the
//! smallest ids (in `MsgId` order) among those counted — so a failure can be
//! traced.

pub mod breakdown;
pub mod breaker;
pub mod dead_letter;
pub mod duplicates;
pub mod fate;
pub mod group;
pub mod lag;
pub mod latency;
pub mod order;
pub mod recovered;
pub mod summary;
pub mod timeline;

pub use breakdown::{Breakdown, Classes, GroupFigures};
pub use dead_letter::MaxDeliveries;
pub use fate::{Balance, Fate};
pub use group::Rebalances;
pub use lag::{Lag, LagPoint};
pub use latency::Latency;
pub use summary::{Summaries, Summary};
pub use timeline::Timeline;

use crate::history::{History, MsgId};
use crate::metric::{Metric, Scope};
use serde::Serialize;
use std::collections::BTreeMap;

/// Most example ids kept per count.
pub const MAX_EXAMPLES: usize = 5;

pub use crate::metric::{COUNTS, DLQ_COUNTS};

/// A count and the smallest (at most [`MAX_EXAMPLES`]) ids among those counted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Count {
    /// How many: messages, or for the duplicate counts, repeats.
    pub n: u64,
    /// Sorted ascending, no repeats.
    pub examples: Vec<MsgId>,
}

impl Count {
    /// Counts `id` once.
    pub fn add(&mut self, id: MsgId) {
        self.add_n(id, 1);
    }

    /// Adds `n` to the count on behalf of `id` (e.g. its deliveries beyond the
    /// first) and keeps `id` as an example if it is among the smallest.
    pub fn add_n(&mut self, id: MsgId, n: u64) {
        self.n += n;
        let ex = &mut self.examples;
        match ex.last() {
            // Checkers mostly count in id order: the cheap cases first.
            Some(last) if ex.len() == MAX_EXAMPLES && id >= *last => {}
            Some(last) if id > *last => ex.push(id),
            None => ex.push(id),
            Some(_) => {
                let pos = ex.partition_point(|e| *e < id);
                if ex.get(pos) != Some(&id) {
                    ex.insert(pos, id);
                    ex.truncate(MAX_EXAMPLES);
                }
            }
        }
    }
}

/// Every figure the checkers compute over one History.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Figures {
    /// Every count metric's count, keyed by metric (the table of them is
    /// [`crate::metric`]'s): the fates from [`fate`] (`took_effect`,
    /// `lost`, `stranded`, …), the others from their own checkers.
    #[serde(skip)]
    pub counts: BTreeMap<Metric, Count>,
    /// How every created message's fate was decided ([`fate`]): the fates'
    /// splits (by reason, told or not) and the conservation check.
    #[serde(skip)]
    pub balance: Balance,
    /// The most deliveries of one message, and that message.
    pub max_deliveries: MaxDeliveries,
    /// Largest lag, in messages and in age, and its timeline.
    pub lag: Lag,
    /// Time from the last fault's end until lag is back to its pre-fault
    /// baseline; `None` = never (a liveness failure); `Some(0)` without faults.
    pub recovery_ms: Option<u64>,
    /// End-to-end latency (send → first effect); `None` when nothing had an effect.
    pub latency_ms: Option<Latency>,
    /// Times a circuit breaker opened (from closed or half-open).
    pub breaker_trips: u64,
    /// Consumer-group rebalances and time with partitions unowned.
    pub group: Rebalances,
    /// The fates, lag and latency per partition, and hot against cold.
    pub breakdown: Breakdown,
    /// Each stage's own balance and lag, when the pipeline has several.
    #[serde(skip)]
    pub stages: Vec<StageFigures>,
    /// Rates, gauges and breaker states over time, for the charts.
    pub timeline: Timeline,
}

impl std::ops::Index<Metric> for Figures {
    type Output = Count;

    /// A count metric's count (panics for a metric that is not a count).
    fn index(&self, metric: Metric) -> &Count {
        self.count(metric)
            .unwrap_or_else(|| panic!("{} is not a count metric", metric.name()))
    }
}

impl Figures {
    /// The count behind a count metric (`None` for max deliveries, lag,
    /// recovery and latency).
    pub fn count(&self, metric: Metric) -> Option<&Count> {
        self.counts.get(&metric)
    }

    /// The figure an expectation tests. `None` only for `recovery_ms` when lag
    /// never recovered, and for the latency metrics when nothing had an effect.
    pub fn value(&self, metric: Metric) -> Option<u64> {
        if let Some(c) = self.count(metric) {
            return Some(c.n);
        }
        match metric {
            Metric::MaxDeliveries => Some(self.max_deliveries.n),
            Metric::MaxLag => Some(self.lag.max_messages),
            Metric::MaxLagAgeMs => Some(self.lag.max_age_ms),
            Metric::RecoveryMs => self.recovery_ms,
            Metric::LatencyP50Ms => self.latency_ms.map(|l| l.p50),
            Metric::LatencyP99Ms => self.latency_ms.map(|l| l.p99),
            Metric::LatencyMaxMs => self.latency_ms.map(|l| l.max),
            Metric::Rebalances => Some(self.group.rebalances),
            Metric::UnownedMs => Some(self.group.unowned_ms),
            _ => unreachable!("count metrics are answered above"),
        }
    }

    /// The figure an expectation on `scope` tests: [`Figures::value`] for
    /// the whole run, else the group's (None when the run has no such
    /// group: keys not tabulated, no skew, or no latency in it).
    pub fn value_in(&self, scope: Scope, metric: Metric) -> Option<u64> {
        let b = &self.breakdown;
        let group = match scope {
            Scope::All => return self.value(metric),
            Scope::Partition(p) => b.partitions.get(p as usize),
            Scope::Partitions(c) => b.partition_classes.as_ref().map(|x| x.of(c)),
            Scope::Keys(c) => b.key_classes.as_ref().map(|x| x.of(c)),
        }?;
        group.value(metric)
    }

    /// The ids behind a metric's figure: a count's examples, the message
    /// that reached `max_deliveries`; none for the other value figures.
    pub fn examples(&self, metric: Metric) -> &[MsgId] {
        match self.count(metric) {
            Some(c) => &c.examples,
            None if metric == Metric::MaxDeliveries => self.max_deliveries.example.as_slice(),
            None => &[],
        }
    }
}

/// One stage of a pipeline with several: its own fates (the first
/// stage's "took effect" is "forwarded to the next") and its lag.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StageFigures {
    /// The stage's name (`buffer`, `queue`).
    pub name: String,
    /// The stage's own fates, for what entered it.
    pub balance: Balance,
    /// Largest lag of the stage's partitions (summed), in messages.
    pub max_lag: u64,
    /// Largest age of the stage's oldest uncommitted message, whole ms.
    pub max_lag_age_ms: u64,
}

fn stages(history: &History) -> Vec<StageFigures> {
    let n = history.stage_count();
    if n <= 1 {
        return Vec::new();
    }
    (0..n)
        .map(|k| {
            let last = k + 1 == n;
            let (mut max_lag, mut max_age) = (0, 0);
            for s in history.samples.iter().filter(|s| s.broker_up) {
                let gauges = if last { &s.partitions } else { &s.upstream };
                max_lag = max_lag.max(gauges.iter().map(|p| p.lag_messages).sum::<u64>());
                let age = gauges.iter().map(|p| p.lag_age_us).max().unwrap_or(0);
                max_age = max_age.max(age / 1_000);
            }
            StageFigures {
                name: history.stages[k as usize].clone(),
                balance: fate::stage_balance(history, k),
                max_lag,
                max_lag_age_ms: max_age,
            }
        })
        .collect()
}

/// Runs every checker over `history`.
pub fn check(history: &History) -> Figures {
    let summaries = Summaries::build(history);
    let (sent, acked) = totals(&summaries, history);
    let inv = &history.inventory;
    let dlq = dead_letter::dlq(&summaries, &history.poison, &inv.dead_letters);
    let mut groups = breakdown::Accumulator::new(&history.keys);
    let balance = fate::balance(&summaries, history, |s, f| groups.add(s, f));
    let mut counts: BTreeMap<Metric, Count> = balance.counts().collect();
    counts.extend([
        (Metric::Sent, sent),
        (Metric::Acked, acked),
        (Metric::Recovered, recovered::recovered(&summaries)),
        (
            Metric::DuplicateDeliveries,
            duplicates::duplicate_deliveries(&summaries),
        ),
        (
            Metric::DuplicateEffects,
            duplicates::duplicate_effects(&summaries),
        ),
        (Metric::OrderViolations, order::order_violations(&summaries)),
        (Metric::Poison, dlq.poison),
        (Metric::PoisonDeadLettered, dlq.poison_dead_lettered),
        (Metric::PoisonNotDeadLettered, dlq.poison_not_dead_lettered),
        (Metric::Misrouted, dlq.misrouted),
    ]);
    Figures {
        counts,
        balance,
        breakdown: groups.finish(history),
        stages: stages(history),
        max_deliveries: dead_letter::max_deliveries(&summaries),
        lag: lag::lag(history),
        recovery_ms: lag::recovery_ms(history),
        latency_ms: latency::latency_ms(&summaries),
        breaker_trips: breaker::trips(history),
        group: group::rebalances(history),
        timeline: timeline::timeline(history, &summaries),
    }
}

/// Ids created and ids acked.
fn totals(summaries: &Summaries, history: &History) -> (Count, Count) {
    let mut sent = Count {
        n: history.created_count(),
        examples: Vec::new(),
    };
    let first = (history.created.iter())
        .flat_map(|c| (c.start..c.end).map(move |seq| MsgId::new(c.producer, seq)));
    sent.examples = first.take(MAX_EXAMPLES).collect();
    sent.examples.sort();
    sent.examples.dedup();
    let mut acked = Count::default();
    for (id, s) in summaries.iter() {
        if s.acked() {
            acked.add(id);
        }
    }
    (sent, acked)
}

/// Builders shared by every checker's tests.
#[cfg(test)]
pub(crate) mod testkit {
    use super::Figures;
    use crate::history::{
        Event, EventKind, FaultWindow, History, MsgId, PartitionGauge, Reason, Sample,
    };
    use crate::metric::Metric;

    pub(crate) fn m(producer: u32, seq: u32) -> MsgId {
        MsgId::new(producer, seq)
    }

    /// Two clean messages, applied (at 1 ms and 2 ms) before any anomaly.
    pub(crate) fn background() -> Hb {
        Hb::new()
            .clean(0, m(0, 0), 1, 1_000)
            .clean(1_000, m(1, 0), 2, 1_000)
    }

    /// A History builder. Events may be added message by message; `build`
    /// sorts them by time (stably, so events at the same time keep call order).
    /// Times are in microseconds.
    #[derive(Default)]
    pub(crate) struct Hb {
        h: History,
        dlq: Option<Vec<MsgId>>,
        /// Ids created besides those with a producer event.
        created: Vec<MsgId>,
    }

    impl Hb {
        pub(crate) fn new() -> Hb {
            Hb::default()
        }

        pub(crate) fn ev(mut self, at_us: u64, id: MsgId, key: u32, kind: EventKind) -> Hb {
            self.h.events.push(Event {
                at_us,
                id,
                key,
                kind,
                stage: 0,
            });
            self
        }

        /// The key of the latest event for `id` (0 if none), so only `send` needs one.
        fn key_of(&self, id: MsgId) -> u32 {
            self.h
                .events
                .iter()
                .rev()
                .find(|e| e.id == id)
                .map_or(0, |e| e.key)
        }

        fn same_key(self, at_us: u64, id: MsgId, kind: EventKind) -> Hb {
            let key = self.key_of(id);
            self.ev(at_us, id, key, kind)
        }

        pub(crate) fn send(self, at_us: u64, id: MsgId, key: u32) -> Hb {
            let attempt = 1 + self
                .h
                .events
                .iter()
                .filter(|e| e.id == id && matches!(e.kind, EventKind::Send { .. }))
                .count() as u32;
            self.ev(at_us, id, key, EventKind::Send { attempt })
        }
        pub(crate) fn ack(self, at_us: u64, id: MsgId) -> Hb {
            self.same_key(at_us, id, EventKind::Ack)
        }
        pub(crate) fn reject(self, at_us: u64, id: MsgId) -> Hb {
            self.same_key(
                at_us,
                id,
                EventKind::Reject {
                    reason: Reason::BreakerOpen,
                },
            )
        }
        pub(crate) fn timeout(self, at_us: u64, id: MsgId) -> Hb {
            self.same_key(at_us, id, EventKind::Timeout)
        }
        pub(crate) fn append(self, at_us: u64, id: MsgId) -> Hb {
            let offset = self
                .h
                .events
                .iter()
                .filter(|e| matches!(e.kind, EventKind::Append { .. }))
                .count() as u64;
            self.same_key(
                at_us,
                id,
                EventKind::Append {
                    partition: 0,
                    offset,
                },
            )
        }
        pub(crate) fn drop_msg(self, at_us: u64, id: MsgId) -> Hb {
            self.same_key(
                at_us,
                id,
                EventKind::Drop {
                    reason: Reason::MaxLag,
                },
            )
        }
        pub(crate) fn deliver(self, at_us: u64, id: MsgId) -> Hb {
            self.same_key(
                at_us,
                id,
                EventKind::Deliver {
                    consumer: 0,
                    attempt: 1,
                },
            )
        }
        pub(crate) fn effect(self, at_us: u64, id: MsgId) -> Hb {
            self.same_key(at_us, id, EventKind::Effect { store: 0 })
        }
        pub(crate) fn commit(self, at_us: u64, id: MsgId) -> Hb {
            self.same_key(at_us, id, EventKind::Commit)
        }
        pub(crate) fn dead_letter(self, at_us: u64, id: MsgId) -> Hb {
            self.same_key(at_us, id, EventKind::DeadLetter { attempts: 3 })
        }

        /// send at `at_us`; ack and append 100us later; deliver at 200us;
        /// effect `latency_us` after the send (must be > 200); commit 100us later.
        pub(crate) fn clean(self, at_us: u64, id: MsgId, key: u32, latency_us: u64) -> Hb {
            assert!(latency_us > 200, "the effect must follow the delivery");
            self.send(at_us, id, key)
                .ack(at_us + 100, id)
                .append(at_us + 100, id)
                .deliver(at_us + 200, id)
                .effect(at_us + latency_us, id)
                .commit(at_us + latency_us + 100, id)
        }

        /// A sample; `partitions` are `(lag_messages, lag_age_us)` for partitions 0, 1, …
        pub(crate) fn sample(
            mut self,
            at_us: u64,
            broker_up: bool,
            partitions: &[(u64, u64)],
        ) -> Hb {
            let partitions = partitions
                .iter()
                .enumerate()
                .map(|(i, &(lag_messages, lag_age_us))| PartitionGauge {
                    partition: i as u32,
                    depth: lag_messages,
                    lag_messages,
                    lag_age_us,
                })
                .collect();
            self.h.samples.push(Sample {
                at_us,
                broker_up,
                partitions,
                upstream: Vec::new(),
            });
            self
        }

        /// A sample whose only partition has `lag` messages (age = lag ms).
        pub(crate) fn lag_at(self, at_us: u64, lag: u64) -> Hb {
            self.sample(at_us, true, &[(lag, lag * 1_000)])
        }

        pub(crate) fn fault(mut self, kind: &str, start_us: u64, end_us: u64) -> Hb {
            let index = self.h.faults.len();
            self.h.faults.push(FaultWindow {
                index,
                kind: kind.to_string(),
                start_us,
                end_us,
            });
            self
        }

        /// `History.poison`, as given (the History promises it sorted).
        pub(crate) fn poison(mut self, ids: &[MsgId]) -> Hb {
            self.h.poison = ids.to_vec();
            self
        }

        /// The final DLQ, instead of the one the events imply.
        pub(crate) fn dlq(mut self, ids: &[MsgId]) -> Hb {
            self.dlq = Some(ids.to_vec());
            self
        }

        /// `id` was created (ids with a `send`, `ack`, `reject` or
        /// `timeout` are created anyway).
        pub(crate) fn create(mut self, id: MsgId) -> Hb {
            self.created.push(id);
            self
        }

        /// What the producers held at the end (the ids are created).
        pub(crate) fn in_flight(mut self, ids: &[MsgId]) -> Hb {
            self.h.inventory.in_flight = ids.to_vec();
            self.h.inventory.in_flight.sort();
            self.created.extend_from_slice(ids);
            self
        }

        pub(crate) fn held(mut self, ids: &[MsgId]) -> Hb {
            self.h.inventory.held = ids.to_vec();
            self.h.inventory.held.sort();
            self
        }

        /// Unless `dlq` said otherwise, the final DLQ is what the events
        /// imply, as a model keeps it: a `dead_letter` puts an id in, a
        /// later `append` (a redrive) takes it out.
        pub(crate) fn build(mut self) -> History {
            self.h.events.sort_by_key(|e| e.at_us);
            let mut dlq = std::collections::BTreeSet::new();
            for e in &self.h.events {
                match e.kind {
                    EventKind::DeadLetter { .. } => {
                        dlq.insert(e.id);
                    }
                    EventKind::Append { .. } => {
                        dlq.remove(&e.id);
                    }
                    _ => {}
                }
            }
            self.h.inventory.dead_letters =
                self.dlq.take().unwrap_or_else(|| dlq.into_iter().collect());
            self.h.inventory.dead_letters.sort();
            let mut created: std::collections::BTreeSet<MsgId> =
                self.created.iter().copied().collect();
            for e in &self.h.events {
                if matches!(
                    e.kind,
                    EventKind::Send { .. }
                        | EventKind::Ack
                        | EventKind::Reject { .. }
                        | EventKind::Timeout
                ) {
                    created.insert(e.id);
                }
            }
            for id in created {
                match self.h.created.last_mut() {
                    Some(c) if c.producer == id.producer && c.end == id.seq => c.end += 1,
                    _ => self.h.created.push(crate::history::Created {
                        producer: id.producer,
                        start: id.seq,
                        end: id.seq + 1,
                    }),
                }
            }
            let last = self.h.events.iter().map(|e| e.at_us);
            let last = last
                .chain(self.h.samples.iter().map(|s| s.at_us))
                .max()
                .unwrap_or(0);
            self.h.load_end_us = last;
            self.h.end_us = last;
            self.h
        }
    }

    /// The headline anomaly counts.
    pub(crate) const ANOMALIES: [Metric; 18] = [
        Metric::Lost,
        Metric::Stranded,
        Metric::SilentlyDropped,
        Metric::Expired,
        Metric::Shed,
        Metric::Abandoned,
        Metric::AbandonedSilently,
        Metric::InFlight,
        Metric::Recovered,
        Metric::DuplicateDeliveries,
        Metric::DuplicateEffects,
        Metric::Unexpected,
        Metric::OrderViolations,
        Metric::DeadLettered,
        Metric::Poison,
        Metric::PoisonDeadLettered,
        Metric::PoisonNotDeadLettered,
        Metric::Misrouted,
    ];

    /// Asserts that every anomaly count not in `except` is 0.
    pub(crate) fn assert_other_anomalies_zero(f: &Figures, except: &[Metric]) {
        for metric in ANOMALIES.into_iter().filter(|m| !except.contains(m)) {
            assert_eq!(
                f.value(metric),
                Some(0),
                "{} should be 0 in {f:#?}",
                metric.name()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testkit::{assert_other_anomalies_zero, m, Hb};
    use super::*;

    fn clean_history() -> History {
        Hb::new()
            .clean(0, m(0, 0), 1, 10_900)
            .clean(5_000, m(0, 1), 1, 20_700)
            .clean(2_000, m(1, 0), 2, 30_000)
            .clean(8_000, m(1, 1), 2, 40_000)
            .sample(0, true, &[(0, 0), (0, 0)])
            .sample(10_000, true, &[(2, 7_500), (1, 9_200)])
            .sample(20_000, true, &[(1, 3_000), (3, 4_000)])
            .sample(30_000, false, &[])
            .sample(40_000, true, &[(0, 0), (0, 0)])
            .build()
    }

    #[test]
    fn a_clean_history_has_no_anomaly() {
        let f = check(&clean_history());
        let all = vec![m(0, 0), m(0, 1), m(1, 0), m(1, 1)];
        assert_eq!(
            f[Metric::Sent],
            Count {
                n: 4,
                examples: all.clone()
            }
        );
        assert_eq!(
            f[Metric::Acked],
            Count {
                n: 4,
                examples: all
            }
        );
        assert_other_anomalies_zero(&f, &[]);
        for metric in testkit::ANOMALIES {
            assert_eq!(
                f.count(metric).unwrap().examples,
                vec![],
                "{}",
                metric.name()
            );
        }
        // Latencies 10.9, 20.7, 30 and 40 ms: whole ms rounded down, nearest rank.
        assert_eq!(
            f.latency_ms,
            Some(Latency {
                p50: 20,
                p99: 40,
                max: 40
            })
        );
        // Lag sums partitions (max 1+3, not 2+3); age is the oldest partition's.
        assert_eq!(f.lag.max_messages, 4);
        assert_eq!(f.lag.max_age_ms, 9);
        assert_eq!(
            f.lag.timeline,
            vec![
                (0, Some(0), Some(0)),
                (10, Some(3), Some(9)),
                (20, Some(4), Some(4)),
                (30, None, None),
                (40, Some(0), Some(0)),
            ]
        );
        assert_eq!(f.recovery_ms, Some(0));
    }

    #[test]
    fn value_answers_every_metric() {
        let f = check(&clean_history());
        let expected = [
            (Metric::Sent, Some(4)),
            (Metric::Acked, Some(4)),
            (Metric::Lost, Some(0)),
            (Metric::Stranded, Some(0)),
            (Metric::Misrouted, Some(0)),
            (Metric::MaxDeliveries, Some(1)),
            (Metric::MaxLag, Some(4)),
            (Metric::MaxLagAgeMs, Some(9)),
            (Metric::RecoveryMs, Some(0)),
            (Metric::LatencyP50Ms, Some(20)),
            (Metric::LatencyP99Ms, Some(40)),
            (Metric::LatencyMaxMs, Some(40)),
        ];
        for (metric, value) in expected {
            assert_eq!(f.value(metric), value, "{}", metric.name());
        }
        for &metric in Metric::ALL {
            assert!(f.value(metric).is_some(), "{}", metric.name());
        }
        let empty = check(&History::default());
        assert_eq!(empty.value(Metric::LatencyP99Ms), None);
        assert_eq!(empty.value(Metric::RecoveryMs), Some(0));
        assert_eq!(empty.value(Metric::Sent), Some(0));
        assert_eq!(empty.value(Metric::MaxDeliveries), Some(0));
        // Every message was delivered once: the smallest id names it.
        assert_eq!(f.examples(Metric::MaxDeliveries), &[m(0, 0)]);
        assert_eq!(f.examples(Metric::MaxLag), &[] as &[MsgId]);
    }

    #[test]
    fn counts_are_the_count_metrics_with_the_dlq_ones_last() {
        let f = check(&History::default());
        for &metric in Metric::ALL {
            assert_eq!(
                f.count(metric).is_some(),
                COUNTS.contains(&metric),
                "{}",
                metric.name()
            );
        }
        assert_eq!(COUNTS[COUNTS.len() - DLQ_COUNTS.len()..], DLQ_COUNTS);
        let dead = COUNTS.iter().position(|&m| m == Metric::DeadLettered);
        assert_eq!(dead, Some(COUNTS.len() - DLQ_COUNTS.len() - 1));
    }

    #[test]
    fn examples_are_the_five_smallest_ids() {
        let mut c = Count::default();
        for id in [
            m(2, 0),
            m(0, 9),
            m(1, 3),
            m(0, 9),
            m(3, 1),
            m(0, 1),
            m(1, 0),
            m(0, 5),
        ] {
            c.add(id);
        }
        assert_eq!(c.n, 8);
        assert_eq!(
            c.examples,
            vec![m(0, 1), m(0, 5), m(0, 9), m(1, 0), m(1, 3)]
        );
        c.add_n(m(0, 0), 3);
        assert_eq!(c.n, 11);
        assert_eq!(
            c.examples,
            vec![m(0, 0), m(0, 1), m(0, 5), m(0, 9), m(1, 0)]
        );
    }

    #[test]
    fn checking_is_deterministic() {
        let h = clean_history();
        assert_eq!(check(&h), check(&h.clone()));
    }

    /// Every count metric of the table has its count, and only those: a
    /// new count metric whose checker is not wired in fails here.
    #[test]
    fn every_count_metric_is_counted() {
        let f = check(&clean_history());
        let counted: Vec<Metric> = f.counts.keys().copied().collect();
        let mut table = COUNTS.to_vec();
        table.sort();
        assert_eq!(counted, table);
    }
}

//! The run as time series, for the charts of the HTML report: message rates
//! and end-to-end latency per time bucket from the events, every gauge
//! sample, and each store node's circuit-breaker state over time. Like every
//! checker it is a pure function of the History; a chart draws these figures
//! and nothing else.

use super::latency::percentiles;
use super::Summaries;
use crate::history::{BreakerState, EventKind, History};
use serde::Serialize;
use std::collections::BTreeMap;

/// At most this many rate buckets: a 20-minute run keeps 1 s buckets, longer
/// runs get wider ones so a chart stays a few hundred points.
pub const MAX_BUCKETS: u64 = 1_200;

/// Message rates and latency in one bucket `[start, start + width)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Bucket {
    /// Messages first sent (offered load).
    pub sent: u64,
    /// `ack` events: writes the broker confirmed (throughput in).
    pub acked: u64,
    /// Messages whose first effect landed here (throughput out).
    pub effects: u64,
    /// `drop` events: messages a policy or the broker discarded.
    pub dropped: u64,
    /// `reject` events: writes refused with notice.
    pub rejected: u64,
    /// `dead_letter` events: messages moved to the dead-letter queue (a
    /// later redrive does not take them out of this count).
    pub dead_lettered: u64,
    /// End-to-end latency (first send → first effect) of the messages whose
    /// first effect landed here, whole ms; `None` without effects.
    pub latency_p50_ms: Option<u64>,
    /// 99th percentile of the same, whole ms.
    pub latency_p99_ms: Option<u64>,
    /// The largest of the same, whole ms.
    pub latency_max_ms: Option<u64>,
}

/// One gauge sample; the figures are `None` while the broker could not be
/// observed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct GaugePoint {
    /// When the sample was taken, ms since the run started.
    pub at_ms: u64,
    /// Messages held, summed over partitions.
    pub depth: Option<u64>,
    /// Consumer lag in messages, summed over partitions.
    pub lag: Option<u64>,
    /// Age of the oldest uncommitted message, ms.
    pub lag_age_ms: Option<u64>,
}

/// A stretch of time in which a store node's breakers were in `state`: the
/// worst state among the consumer members' breakers for that node (open,
/// then half-open, then closed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct BreakerSpan {
    /// The store node (`store-N`).
    pub store: u32,
    /// The worst of its breakers' states throughout.
    pub state: BreakerState,
    /// Where the stretch starts, µs.
    pub start_us: u64,
    /// Where it ends, µs (the run's end if the state lasted until then).
    pub end_us: u64,
}

/// The run as time series: everything the HTML report's charts draw.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Timeline {
    /// Bucket width in µs (a whole number of seconds).
    pub bucket_us: u64,
    /// Rates and latency per bucket, from time 0, `bucket_us` apart.
    pub buckets: Vec<Bucket>,
    /// Every gauge sample, in time order.
    pub gauges: Vec<GaugePoint>,
    /// Non-closed stretches only, by store node, then time.
    pub breakers: Vec<BreakerSpan>,
    /// End of the load phase and of the run, µs.
    pub load_end_us: u64,
    /// End of the run, µs: the drain's end, or just past the last event if
    /// that is later.
    pub end_us: u64,
}

impl Timeline {
    /// Where bucket `i` starts and how long it is, µs: the last one ends
    /// with the run, so it may be shorter than `bucket_us`.
    pub fn bucket_span_us(&self, i: usize) -> (u64, u64) {
        let start = i as u64 * self.bucket_us;
        (start, self.bucket_us.min(self.end_us.saturating_sub(start)))
    }
}

/// The time series of `history` (its events through `summaries`, its
/// samples and its breaker transitions).
pub fn timeline(history: &History, summaries: &Summaries) -> Timeline {
    let end_us = history
        .end_us
        .max(history.events.last().map_or(0, |e| e.at_us + 1));
    let seconds = end_us.div_ceil(1_000_000).max(1);
    let bucket_us = seconds.div_ceil(MAX_BUCKETS) * 1_000_000;
    let n = end_us.div_ceil(bucket_us).max(1) as usize;
    let at = |us: u64| ((us / bucket_us) as usize).min(n - 1);
    let mut buckets = vec![Bucket::default(); n];
    for e in history.events.iter().filter(|e| history.end_to_end(e)) {
        let b = &mut buckets[at(e.at_us)];
        match e.kind {
            EventKind::Ack => b.acked += 1,
            EventKind::Drop { .. } => b.dropped += 1,
            EventKind::Reject { .. } => b.rejected += 1,
            EventKind::DeadLetter { .. } => b.dead_lettered += 1,
            _ => {}
        }
    }
    let mut latencies: Vec<Vec<u64>> = vec![Vec::new(); n];
    for (_, s) in summaries.iter() {
        if s.sent() {
            buckets[at(s.first_send_at_us)].sent += 1;
        }
        if s.has_effect() {
            let i = at(s.first_effect_at_us);
            buckets[i].effects += 1;
            if s.sent() {
                latencies[i].push(s.first_effect_at_us.saturating_sub(s.first_send_at_us));
            }
        }
    }
    for (b, us) in buckets.iter_mut().zip(&mut latencies) {
        if let Some(l) = percentiles(us) {
            (b.latency_p50_ms, b.latency_p99_ms, b.latency_max_ms) =
                (Some(l.p50), Some(l.p99), Some(l.max));
        }
    }
    let gauges = history
        .samples
        .iter()
        .map(|s| {
            let up = |v: u64| s.broker_up.then_some(v);
            GaugePoint {
                at_ms: s.at_us / 1_000,
                depth: up(s.partitions.iter().map(|p| p.depth).sum()),
                lag: up(s.lag_messages()),
                lag_age_ms: up(s.lag_age_us() / 1_000),
            }
        })
        .collect();
    Timeline {
        bucket_us,
        buckets,
        gauges,
        breakers: breaker_spans(history, end_us),
        load_end_us: history.load_end_us,
        end_us,
    }
}

fn severity(s: BreakerState) -> u8 {
    match s {
        BreakerState::Closed => 0,
        BreakerState::HalfOpen => 1,
        BreakerState::Open => 2,
    }
}

/// Folds every member's transitions into one state per store node.
fn breaker_spans(history: &History, end_us: u64) -> Vec<BreakerSpan> {
    // (store, consumer) → state; store → (worst state, since).
    let mut each: BTreeMap<(u32, u32), BreakerState> = BTreeMap::new();
    let mut worst: BTreeMap<u32, (BreakerState, u64)> = BTreeMap::new();
    let mut spans = Vec::new();
    for t in &history.breakers {
        each.insert((t.store, t.consumer), t.to);
        let now = each
            .range((t.store, 0)..=(t.store, u32::MAX))
            .map(|(_, &s)| s)
            .max_by_key(|&s| severity(s))
            .unwrap_or(BreakerState::Closed);
        let (was, since) = worst
            .get(&t.store)
            .copied()
            .unwrap_or((BreakerState::Closed, 0));
        if now != was {
            if was != BreakerState::Closed && t.at_us > since {
                spans.push(BreakerSpan {
                    store: t.store,
                    state: was,
                    start_us: since,
                    end_us: t.at_us,
                });
            }
            worst.insert(t.store, (now, t.at_us));
        }
    }
    for (store, (state, since)) in worst {
        if state != BreakerState::Closed && end_us > since {
            spans.push(BreakerSpan {
                store,
                state,
                start_us: since,
                end_us,
            });
        }
    }
    spans.sort_by_key(|s| (s.store, s.start_us));
    spans
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testkit::*;
    use crate::history::BreakerTransition;

    #[test]
    fn rates_and_latency_per_second() {
        let mut h = Hb::new()
            .send(100_000, m(0, 0), 1)
            .ack(200_000, m(0, 0))
            .effect(1_300_000, m(0, 0))
            .send(1_100_000, m(0, 1), 1)
            .ack(1_200_000, m(0, 1))
            .effect(1_400_000, m(0, 1))
            .send(1_500_000, m(0, 2), 1)
            .append(1_600_000, m(0, 2))
            .dead_letter(2_100_000, m(0, 2))
            .build();
        h.end_us = 2_500_000;
        let t = timeline(&h, &Summaries::build(&h));
        assert_eq!(t.bucket_us, 1_000_000);
        assert_eq!(t.buckets.len(), 3);
        assert_eq!(
            t.bucket_span_us(2),
            (2_000_000, 500_000),
            "cut short by the end"
        );
        assert_eq!((t.buckets[0].sent, t.buckets[0].acked), (1, 1));
        assert_eq!((t.buckets[1].sent, t.buckets[1].effects), (2, 2));
        let dead: Vec<u64> = t.buckets.iter().map(|b| b.dead_lettered).collect();
        assert_eq!(dead, vec![0, 0, 1]);
        assert_eq!(t.buckets[1].latency_max_ms, Some(1_200));
        assert_eq!(t.buckets[1].latency_p50_ms, Some(300));
        assert_eq!(t.buckets[0].latency_p50_ms, None);
    }

    #[test]
    fn long_runs_get_wider_buckets() {
        let mut h = Hb::new().send(0, m(0, 0), 1).build();
        h.end_us = 3 * MAX_BUCKETS * 1_000_000;
        let t = timeline(&h, &Summaries::build(&h));
        assert_eq!(t.bucket_us, 3_000_000);
        assert_eq!(t.buckets.len() as u64, MAX_BUCKETS);
    }

    #[test]
    fn a_store_is_as_open_as_its_most_open_breaker() {
        let b = |at_us, consumer, to| BreakerTransition {
            at_us,
            consumer,
            store: 1,
            to,
        };
        let mut h = History {
            breakers: vec![
                b(10, 0, BreakerState::Open),
                b(20, 1, BreakerState::Open),
                b(30, 0, BreakerState::HalfOpen),
                b(40, 1, BreakerState::Closed),
                b(50, 0, BreakerState::Closed),
                b(60, 0, BreakerState::Open),
            ],
            ..History::default()
        };
        h.end_us = 100;
        let spans = breaker_spans(&h, 100);
        let got: Vec<_> = spans
            .iter()
            .map(|s| (s.state, s.start_us, s.end_us))
            .collect();
        assert_eq!(
            got,
            vec![
                (BreakerState::Open, 10, 40),
                (BreakerState::HalfOpen, 40, 50),
                (BreakerState::Open, 60, 100),
            ]
        );
    }
}

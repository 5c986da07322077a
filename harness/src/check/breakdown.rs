//! **Per-partition and per-class figures**: the same fates, lag and
//! latency, for each partition and — when the workload is skewed — for the
//! hot partitions against the rest and the hot keys against the rest, so
//! "only the hot shard degraded" or "the healthy traffic suffered too" is
//! a number. A message belongs to the partition of its key and to the key
//! class of its key, as the model's [`KeyMap`] says; a message no event
//! names (buffered, never sent) has no known key and is in no group.

use super::fate::Fate;
use super::latency::{percentiles, Latency};
use super::summary::Summary;
use crate::history::{History, KeyMap};
use crate::metric::{Class, Metric};
use serde::Serialize;

/// What one group of messages (a partition, a class) went through.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GroupFigures {
    /// The partition, for a partition's figures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition: Option<u32>,
    /// Created messages in the group; the fates below sum to it.
    pub sent: u64,
    /// Applied to the store at least once.
    pub took_effect: u64,
    /// Acked, then gone: a durability or delivery bug.
    pub lost: u64,
    /// Still held by the broker at the end.
    pub stranded: u64,
    /// Discarded by a policy or limit without the producer being told.
    pub silently_dropped: u64,
    /// Dropped for their time to live.
    pub expired: u64,
    /// In a dead-letter queue at the end.
    pub dead_lettered: u64,
    /// Refused with notice.
    pub shed: u64,
    /// Given up by their producer, told or not.
    pub abandoned: u64,
    /// Still held by a live producer at the end.
    pub in_flight: u64,
    /// Largest lag of the group's partitions together (summed), messages;
    /// None for a key class (lag is a partition's).
    pub max_lag: Option<u64>,
    /// Largest age of the oldest uncommitted message among its partitions.
    pub max_lag_age_ms: Option<u64>,
    /// End-to-end latency of its messages that took effect.
    pub latency_ms: Option<Latency>,
}

/// Hot against cold.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Classes {
    /// The hot partitions, or the hot keys.
    pub hot: GroupFigures,
    /// All the others.
    pub cold: GroupFigures,
}

/// The fates, lag and latency per partition and, under a skewed load, hot
/// against cold (JSON `breakdown`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Breakdown {
    /// Per partition (index = partition); empty when keys are not tabulated.
    pub partitions: Vec<GroupFigures>,
    /// The partitions holding a hot key, sorted (empty without skew).
    pub hot_partitions: Vec<u32>,
    /// Hot partitions against the others; None without skew.
    pub partition_classes: Option<Classes>,
    /// Hot keys against the others; None without skew.
    pub key_classes: Option<Classes>,
}

impl Classes {
    /// The hot or the cold group.
    pub fn of(&self, c: Class) -> &GroupFigures {
        match c {
            Class::Hot => &self.hot,
            Class::Cold => &self.cold,
        }
    }
}

impl GroupFigures {
    /// The figure of a group metric (`metric::GROUP_METRICS`); None for
    /// another metric, or a latency with no message applied.
    pub fn value(&self, metric: Metric) -> Option<u64> {
        Some(match metric {
            Metric::Sent => self.sent,
            Metric::TookEffect => self.took_effect,
            Metric::Lost => self.lost,
            Metric::Stranded => self.stranded,
            Metric::SilentlyDropped => self.silently_dropped,
            Metric::Expired => self.expired,
            Metric::DeadLettered => self.dead_lettered,
            Metric::Shed => self.shed,
            Metric::Abandoned => self.abandoned,
            Metric::InFlight => self.in_flight,
            Metric::MaxLag => return self.max_lag,
            Metric::MaxLagAgeMs => return self.max_lag_age_ms,
            Metric::LatencyP50Ms => return self.latency_ms.map(|l| l.p50),
            Metric::LatencyP99Ms => return self.latency_ms.map(|l| l.p99),
            Metric::LatencyMaxMs => return self.latency_ms.map(|l| l.max),
            _ => return None,
        })
    }

    fn count(&mut self, fate: Fate) {
        self.sent += 1;
        let n = match fate {
            Fate::TookEffect => &mut self.took_effect,
            Fate::Lost => &mut self.lost,
            Fate::Stranded => &mut self.stranded,
            Fate::SilentlyDropped(_) => &mut self.silently_dropped,
            Fate::Expired => &mut self.expired,
            Fate::DeadLettered => &mut self.dead_lettered,
            Fate::Shed(_) => &mut self.shed,
            Fate::Abandoned | Fate::AbandonedSilently => &mut self.abandoned,
            Fate::InFlight => &mut self.in_flight,
        };
        *n += 1;
    }
}

/// Gathers the groups' figures while [`super::fate::balance`] decides
/// each message's fate.
pub struct Accumulator<'a> {
    keys: &'a KeyMap,
    skewed: bool,
    hot_partition: Vec<bool>,
    partitions: Vec<GroupFigures>,
    latencies: Vec<Vec<u64>>,
    /// Partition classes then key classes: hot, cold, hot, cold.
    classes: [GroupFigures; 4],
    class_latencies: [Vec<u64>; 4],
}

impl<'a> Accumulator<'a> {
    /// Nothing gathered yet, for the partitions and classes of `keys` (no
    /// group at all when it tabulates no key).
    pub fn new(keys: &'a KeyMap) -> Accumulator<'a> {
        let n = if keys.partition.is_empty() {
            0
        } else {
            keys.partitions as usize
        };
        let mut hot_partition = vec![false; n];
        for p in keys.hot_partitions() {
            if let Some(h) = hot_partition.get_mut(p as usize) {
                *h = true;
            }
        }
        Accumulator {
            keys,
            skewed: !keys.hot.is_empty() && n > 0,
            hot_partition,
            partitions: vec![GroupFigures::default(); n],
            latencies: vec![Vec::new(); n],
            classes: Default::default(),
            class_latencies: Default::default(),
        }
    }

    /// One created message, its summary (None: no event names it) and fate.
    pub fn add(&mut self, s: Option<&Summary>, fate: Fate) {
        let Some(s) = s else { return };
        let Some(p) = self.keys.partition_of(s.key).map(|p| p as usize) else {
            return;
        };
        if p >= self.partitions.len() {
            return;
        }
        let latency = (s.sent() && s.has_effect())
            .then(|| s.first_effect_at_us.saturating_sub(s.first_send_at_us));
        self.partitions[p].count(fate);
        if let Some(l) = latency {
            self.latencies[p].push(l);
        }
        if self.skewed {
            let pc = if self.hot_partition[p] { 0 } else { 1 };
            let kc = if self.keys.is_hot(s.key) { 2 } else { 3 };
            for c in [pc, kc] {
                self.classes[c].count(fate);
                if let Some(l) = latency {
                    self.class_latencies[c].push(l);
                }
            }
        }
    }

    /// The figures, with lag from the History's gauge samples.
    pub fn finish(self, history: &History) -> Breakdown {
        let Accumulator {
            skewed,
            hot_partition,
            mut partitions,
            latencies,
            mut classes,
            mut class_latencies,
            ..
        } = self;
        let n = partitions.len();
        let mut lag = vec![0u64; n];
        let mut age = vec![0u64; n];
        let (mut class_lag, mut class_age) = ([0u64; 2], [0u64; 2]);
        for sample in history.samples.iter().filter(|s| s.broker_up) {
            let mut sum = [0u64; 2];
            for g in &sample.partitions {
                let p = g.partition as usize;
                if p >= n {
                    continue;
                }
                lag[p] = lag[p].max(g.lag_messages);
                age[p] = age[p].max(g.lag_age_us / 1_000);
                let c = usize::from(!hot_partition[p]);
                sum[c] += g.lag_messages;
                class_age[c] = class_age[c].max(g.lag_age_us / 1_000);
            }
            for c in 0..2 {
                class_lag[c] = class_lag[c].max(sum[c]);
            }
        }
        for (p, (g, mut l)) in partitions.iter_mut().zip(latencies).enumerate() {
            g.partition = Some(p as u32);
            g.max_lag = Some(lag[p]);
            g.max_lag_age_ms = Some(age[p]);
            g.latency_ms = percentiles(&mut l);
        }
        for (c, g) in classes.iter_mut().enumerate() {
            g.latency_ms = percentiles(&mut class_latencies[c]);
            if c < 2 {
                g.max_lag = Some(class_lag[c]);
                g.max_lag_age_ms = Some(class_age[c]);
            }
        }
        let [ph, pc, kh, kc] = classes;
        Breakdown {
            hot_partitions: (0..n as u32)
                .filter(|&p| hot_partition[p as usize])
                .collect(),
            partitions,
            partition_classes: skewed.then_some(Classes { hot: ph, cold: pc }),
            key_classes: skewed.then_some(Classes { hot: kh, cold: kc }),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::check::check;
    use crate::check::testkit::{m, Hb};
    use crate::history::KeyMap;

    /// Keys 0..4 over two partitions (key % 2); key 0 hot, so partition 0
    /// is the hot one.
    fn keys() -> KeyMap {
        KeyMap {
            partitions: 2,
            partition: vec![0, 1, 0, 1],
            hot: vec![0],
        }
    }

    #[test]
    fn figures_by_partition_and_by_class() {
        let mut h = Hb::new()
            // Hot key 0: applied after 30 ms and 50 ms.
            .clean(0, m(0, 0), 0, 30_000)
            .clean(1_000, m(0, 1), 0, 50_000)
            // Key 2, cold but in the hot partition: lost.
            .send(2_000, m(0, 2), 2)
            .ack(2_100, m(0, 2))
            // Keys 1 and 3 (partition 1): applied after 2 ms, and shed.
            .clean(3_000, m(1, 0), 1, 2_000)
            .send(4_000, m(1, 1), 3)
            .reject(4_100, m(1, 1))
            .sample(10_000, true, &[(7, 40_000), (2, 3_000)])
            .sample(20_000, true, &[(5, 60_000), (4, 1_000)])
            .build();
        h.keys = keys();
        let b = check(&h).breakdown;
        assert_eq!(b.partitions.len(), 2);
        let (p0, p1) = (&b.partitions[0], &b.partitions[1]);
        assert_eq!((p0.sent, p0.took_effect, p0.lost), (3, 2, 1));
        assert_eq!((p1.sent, p1.took_effect, p1.shed), (2, 1, 1));
        assert_eq!((p0.max_lag, p0.max_lag_age_ms), (Some(7), Some(60)));
        assert_eq!((p1.max_lag, p1.max_lag_age_ms), (Some(4), Some(3)));
        assert_eq!(p0.latency_ms.unwrap().max, 50);
        assert_eq!(p1.latency_ms.unwrap().max, 2);
        assert_eq!(b.hot_partitions, vec![0]);
        let pc = b.partition_classes.unwrap();
        assert_eq!((pc.hot.sent, pc.cold.sent), (3, 2));
        assert_eq!(pc.hot.max_lag, Some(7));
        let kc = b.key_classes.unwrap();
        // Hot key 0 alone: two messages; the cold keys the other three.
        assert_eq!((kc.hot.sent, kc.hot.took_effect), (2, 2));
        assert_eq!((kc.cold.sent, kc.cold.lost, kc.cold.shed), (3, 1, 1));
        assert_eq!(kc.hot.max_lag, None, "lag is a partition's");
        assert_eq!(kc.cold.latency_ms.unwrap().max, 2);
    }

    #[test]
    fn without_skew_no_classes_and_without_a_map_no_partitions() {
        let mut h = Hb::new().clean(0, m(0, 0), 1, 5_000).build();
        h.keys = KeyMap {
            hot: Vec::new(),
            ..keys()
        };
        let b = check(&h).breakdown;
        assert_eq!(b.partitions.len(), 2);
        assert_eq!(b.partitions[1].took_effect, 1);
        assert!(b.partition_classes.is_none() && b.key_classes.is_none());
        let b = check(&Hb::new().clean(0, m(0, 0), 1, 5_000).build()).breakdown;
        assert!(b.partitions.is_empty());
    }
}

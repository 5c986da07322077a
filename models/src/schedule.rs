//! The load schedule: which messages exist by a given simulated time. A
//! message's id and key are functions of the schedule and the seed, not of a
//! producer's memory, so a restarted producer resumes without reusing ids.

use harness::scenario::{FaultKind, Scenario, Workload};
use harness::MsgId;
use std::collections::BTreeSet;
use std::time::Duration;

pub struct Schedule {
    /// (start, end, rate per second), covering the load phase in order.
    segments: Vec<(Duration, Duration, u64)>,
    producers: u64,
}

impl Schedule {
    pub fn new(w: &Workload, load: Duration) -> Schedule {
        let mut segments = Vec::new();
        let mut t = Duration::ZERO;
        for b in &w.bursts {
            if b.at > t {
                segments.push((t, b.at, w.rate_per_s));
            }
            segments.push((b.at, b.at + b.duration, b.rate_per_s));
            t = b.at + b.duration;
        }
        if load > t {
            segments.push((t, load, w.rate_per_s));
        }
        Schedule {
            segments,
            producers: w.producers as u64,
        }
    }

    /// Messages of the whole workload due by `t` (integer arithmetic only, so
    /// every machine agrees).
    pub fn due(&self, t: Duration) -> u64 {
        let mut milli_messages: u128 = 0;
        for &(start, end, rate) in &self.segments {
            if t <= start {
                break;
            }
            let span = t.min(end) - start;
            milli_messages += span.as_millis() * rate as u128;
        }
        (milli_messages / 1000) as u64
    }

    /// Messages of producer `p` due by `t`: global message `g` belongs to
    /// producer `g % producers` with sequence number `g / producers`.
    pub fn due_for(&self, p: u32, t: Duration) -> u32 {
        let n = self.due(t);
        let p = p as u64;
        ((n + self.producers - 1 - p) / self.producers) as u32
    }
}

/// The run's poison messages (`poison` faults): each message created in a
/// fault's window is poison with the fault's probability, drawn from a hash
/// of `seed` and its place in the schedule; ids a fault lists are poison
/// wherever they fall. A pure function of the scenario and the seed, so
/// the producers, the consumers and the History agree without a word.
pub fn poison_ids(sc: &Scenario, schedule: &Schedule, seed: u64) -> BTreeSet<MsgId> {
    let mut out = BTreeSet::new();
    let producers = schedule.producers;
    for (i, f) in sc.faults.iter().enumerate() {
        let FaultKind::Poison { rate, ids } = &f.kind else {
            continue;
        };
        out.extend(ids.iter().copied());
        if *rate <= 0.0 {
            continue;
        }
        let end = f.until.unwrap_or(sc.duration).min(sc.duration);
        let salt = splitmix64(seed ^ ((i as u64 + 1) << 48));
        for g in schedule.due(f.at)..schedule.due(end) {
            let draw = (splitmix64(salt ^ g) >> 11) as f64 / (1u64 << 53) as f64;
            if draw < *rate {
                out.insert(MsgId::new((g % producers) as u32, (g / producers) as u32));
            }
        }
    }
    out
}

/// A message's key, fixed by the producer's seed and the sequence number.
pub fn key_of(producer_seed: u64, seq: u32, keys: u32) -> u32 {
    (splitmix64(producer_seed ^ seq as u64) % keys as u64) as u32
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use harness::scenario::Burst;

    fn workload(producers: u32, rate: u64, bursts: Vec<Burst>) -> Workload {
        Workload {
            producers,
            rate_per_s: rate,
            keys: 10,
            bursts,
            retries: 3,
            request_timeout: Duration::from_secs(1),
            delivery_timeout: None,
            linger: Duration::from_millis(5),
            buffer_max: 100,
            batch_max: 10,
            idempotent: false,
        }
    }

    #[test]
    fn due_follows_rate_and_bursts() {
        let b = Burst {
            at: Duration::from_secs(10),
            rate_per_s: 1000,
            duration: Duration::from_secs(5),
        };
        let s = Schedule::new(&workload(2, 100, vec![b]), Duration::from_secs(60));
        assert_eq!(s.due(Duration::from_secs(1)), 100);
        assert_eq!(s.due(Duration::from_millis(15)), 1);
        assert_eq!(s.due(Duration::from_secs(10)), 1000);
        assert_eq!(s.due(Duration::from_secs(15)), 6000);
        assert_eq!(s.due(Duration::from_secs(60)), 10500);
        // Nothing after the load phase.
        assert_eq!(s.due(Duration::from_secs(90)), 10500);
        // Producers split the messages round robin.
        assert_eq!(s.due_for(0, Duration::from_millis(30)), 2);
        assert_eq!(s.due_for(1, Duration::from_millis(30)), 1);
    }
}

//! The load schedule: which messages exist by a given simulated time. A
//! message's id and key are functions of the schedule and the seed, not of a
//! producer's memory, so a restarted producer resumes without reusing ids.

use harness::scenario::{FaultKind, HotKeys, KeySkew, Scenario, Workload};
use harness::MsgId;
use std::collections::BTreeSet;
use std::time::Duration;

pub struct Schedule {
    /// (start, end, rate per second), covering the load phase in order.
    segments: Vec<(Duration, Duration, u64)>,
    producers: u64,
    /// How each message's key is drawn.
    pub keys: Keys,
}

impl Schedule {
    /// `partitions`: the topology's (keys are placed by `key % partitions`).
    pub fn new(w: &Workload, load: Duration, partitions: u32) -> Schedule {
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
            keys: Keys::new(w, partitions),
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

    /// When producer `p`'s message `seq` falls due (the schedule moves in
    /// whole milliseconds), or None if it never does.
    pub fn due_at(&self, p: u32, seq: u32) -> Option<Duration> {
        let end = self.segments.last().map_or(Duration::ZERO, |s| s.1);
        let ms = |m: u128| Duration::from_millis(m as u64);
        if self.due_for(p, end) <= seq {
            return None;
        }
        // The first millisecond by which more than `seq` are due.
        let (mut lo, mut hi) = (0u128, end.as_millis());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.due_for(p, ms(mid)) > seq {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        Some(ms(lo))
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
            if unit(splitmix64(salt ^ g)) < *rate {
                out.insert(MsgId::new((g % producers) as u32, (g / producers) as u32));
            }
        }
    }
    out
}

/// How the workload draws its keys: a message's key is a pure function of
/// its producer's seed and its sequence number, so a restarted producer
/// gives an id the key it always had.
pub struct Keys {
    keys: u32,
    partitions: u32,
    draw: Draw,
}

enum Draw {
    Uniform,
    Hot {
        share: f64,
        hot: HotKeys,
    },
    /// Cumulative weights of keys 0, 1, …, normalised to end at 1.
    Zipf {
        cdf: Vec<f64>,
    },
}

impl Keys {
    /// Key `k` is in partition `k % partitions` (the producers' partitioner).
    pub fn new(w: &Workload, partitions: u32) -> Keys {
        let draw = match w.skew {
            None => Draw::Uniform,
            Some(KeySkew::Hot { share, keys }) => Draw::Hot { share, hot: keys },
            Some(KeySkew::Zipf { exponent, .. }) => {
                let mut cdf = Vec::with_capacity(w.keys as usize);
                let mut sum = 0.0;
                for k in 0..w.keys {
                    sum += 1.0 / libm::pow(f64::from(k) + 1.0, exponent);
                    cdf.push(sum);
                }
                for c in &mut cdf {
                    *c /= sum;
                }
                Draw::Zipf { cdf }
            }
        };
        Keys {
            keys: w.keys,
            partitions,
            draw,
        }
    }

    /// The key of producer `producer_seed`'s message `seq`. Without skew
    /// it is what it always was (the same draw), so unskewed runs keep
    /// their keys.
    pub fn key_of(&self, producer_seed: u64, seq: u32) -> u32 {
        let h = splitmix64(producer_seed ^ seq as u64);
        match &self.draw {
            Draw::Uniform => (h % self.keys as u64) as u32,
            Draw::Hot { share, hot } => {
                let h2 = splitmix64(h);
                if unit(h) < *share {
                    match *hot {
                        HotKeys::First(n) => (h2 % n as u64) as u32,
                        HotKeys::Partition(p) => {
                            // The partition's keys are p, p + P, p + 2P, …
                            let n = (self.keys - 1 - p) / self.partitions + 1;
                            p + (h2 % n as u64) as u32 * self.partitions
                        }
                    }
                } else {
                    match *hot {
                        HotKeys::First(n) => n + (h2 % (self.keys - n) as u64) as u32,
                        // Redraw until the key is in another partition
                        // (at most half the keys are in this one).
                        HotKeys::Partition(p) => {
                            let mut x = h2;
                            loop {
                                let k = (x % self.keys as u64) as u32;
                                if k % self.partitions != p {
                                    return k;
                                }
                                x = splitmix64(x);
                            }
                        }
                    }
                }
            }
            Draw::Zipf { cdf } => {
                let u = unit(h);
                (cdf.partition_point(|&c| c <= u) as u32).min(self.keys - 1)
            }
        }
    }

    /// The hot keys, sorted (empty without skew): the hot key class.
    pub fn hot(&self, w: &Workload) -> Vec<u32> {
        match w.skew {
            None => Vec::new(),
            Some(KeySkew::Hot {
                keys: HotKeys::First(n),
                ..
            })
            | Some(KeySkew::Zipf { hot: n, .. }) => (0..n).collect(),
            Some(KeySkew::Hot {
                keys: HotKeys::Partition(p),
                ..
            }) => (p..self.keys).step_by(self.partitions as usize).collect(),
        }
    }
}

/// A uniform draw in [0, 1) from a hash.
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
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
            skew: None,
        }
    }

    /// `due_at` is the first millisecond by which `due_for` counts the
    /// message, for every message of every producer, across a burst.
    #[test]
    fn due_at_inverts_due_for() {
        let b = Burst {
            at: Duration::from_millis(300),
            rate_per_s: 3000,
            duration: Duration::from_millis(100),
        };
        let s = Schedule::new(&workload(3, 70, vec![b]), Duration::from_secs(1), 4);
        for p in 0..3 {
            let total = s.due_for(p, Duration::from_secs(1));
            assert!(total > 100);
            for seq in 0..total {
                let at = s.due_at(p, seq).unwrap();
                assert!(s.due_for(p, at) > seq, "p{p} #{seq} at {at:?}");
                let before = at.saturating_sub(Duration::from_millis(1));
                assert!(at.is_zero() || s.due_for(p, before) <= seq, "p{p} #{seq}");
            }
            assert_eq!(s.due_at(p, total), None);
        }
    }

    #[test]
    fn due_follows_rate_and_bursts() {
        let b = Burst {
            at: Duration::from_secs(10),
            rate_per_s: 1000,
            duration: Duration::from_secs(5),
        };
        let s = Schedule::new(&workload(2, 100, vec![b]), Duration::from_secs(60), 4);
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

    fn draws(skew: Option<KeySkew>, keys: u32, partitions: u32) -> (Keys, Vec<u32>) {
        let mut w = workload(1, 100, vec![]);
        w.keys = keys;
        w.skew = skew;
        let k = Keys::new(&w, partitions);
        let v = (0..20_000).map(|seq| k.key_of(42, seq)).collect();
        (k, v)
    }

    #[test]
    fn uniform_keys_are_the_draw_they_always_were() {
        let (_, v) = draws(None, 10, 4);
        for (seq, key) in v.iter().enumerate() {
            assert_eq!(*key, (splitmix64(42 ^ seq as u64) % 10) as u32);
        }
    }

    #[test]
    fn a_hot_share_goes_to_the_hot_keys() {
        let first = Some(KeySkew::Hot {
            share: 0.5,
            keys: HotKeys::First(2),
        });
        let (k, v) = draws(first, 100, 4);
        let hot = v.iter().filter(|&&key| key < 2).count();
        assert!((9_500..10_500).contains(&hot), "{hot}");
        assert!(v.iter().all(|&key| key < 100));
        let w = Workload {
            skew: first,
            keys: 100,
            ..workload(1, 100, vec![])
        };
        assert_eq!(k.hot(&w), vec![0, 1]);
        // One hot partition: its keys are 3, 7, 11, …; the rest never land there.
        let part = Some(KeySkew::Hot {
            share: 0.3,
            keys: HotKeys::Partition(3),
        });
        let (k, v) = draws(part, 50, 4);
        let in_p3 = v.iter().filter(|&&key| key % 4 == 3).count();
        assert!((5_500..6_500).contains(&in_p3), "{in_p3}");
        let w = Workload {
            skew: part,
            keys: 50,
            ..workload(1, 100, vec![])
        };
        let hot = k.hot(&w);
        assert_eq!(hot.len(), 12);
        assert!(hot.iter().all(|k| k % 4 == 3));
    }

    #[test]
    fn zipf_keys_fall_off_with_their_rank() {
        let zipf = Some(KeySkew::Zipf {
            exponent: 1.0,
            hot: 1,
        });
        let (_, v) = draws(zipf, 100, 4);
        let count = |key: u32| v.iter().filter(|&&k| k == key).count();
        // Weight 1/(k+1): key 0 about twice key 1, ten times key 9.
        let (c0, c1, c9) = (count(0), count(1), count(9));
        assert!(c0 > c1 && c1 > c9, "{c0} {c1} {c9}");
        assert!((1.7..2.3).contains(&(c0 as f64 / c1 as f64)), "{c0} {c1}");
        // H(100) ≈ 5.19: key 0 draws about 19 %.
        assert!((3_500..4_200).contains(&c0), "{c0}");
    }
}

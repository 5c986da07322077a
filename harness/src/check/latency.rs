//! **End-to-end latency**: for every message with an effect (and a send), the
//! time from its first `send` to its first `effect`; p50 and p99 by nearest
//! rank, and the maximum, in whole ms rounded down.

use super::Summaries;
use serde::Serialize;

/// Latency percentiles in whole milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
    /// The largest.
    pub max: u64,
}

/// `None` when no message had an effect.
pub fn latency_ms(summaries: &Summaries) -> Option<Latency> {
    let mut us: Vec<u64> = summaries
        .iter()
        .filter(|(_, s)| s.sent() && s.has_effect())
        .map(|(_, s)| s.first_effect_at_us.saturating_sub(s.first_send_at_us))
        .collect();
    percentiles(&mut us)
}

/// Nearest rank: the p-th percentile of n values is the value of rank
/// ceil(p/100 · n) (1-based). Reorders `us`.
pub(crate) fn percentiles(us: &mut [u64]) -> Option<Latency> {
    let n = us.len();
    if n == 0 {
        return None;
    }
    let index = |p: usize| (p * n).div_ceil(100).max(1) - 1;
    let (i50, i99) = (index(50), index(99));
    let p50 = *us.select_nth_unstable(i50).1;
    // Everything at or above i50 is now in the upper part.
    let p99 = *us[i50..].select_nth_unstable(i99 - i50).1;
    let max = us[i99..].iter().copied().max().unwrap_or(p99);
    Some(Latency {
        p50: p50 / 1_000,
        p99: p99 / 1_000,
        max: max / 1_000,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::check;
    use crate::check::testkit::{m, Hb};

    #[test]
    fn nearest_rank_percentiles() {
        let mut v = vec![9_000, 1_000, 5_000];
        assert_eq!(
            percentiles(&mut v),
            Some(Latency {
                p50: 5,
                p99: 9,
                max: 9
            })
        );
        // 1..=200 ms, shuffled: p50 is rank 100, p99 rank 198.
        let mut v: Vec<u64> = (1..=200u64).map(|i| (i * 7919 % 200 + 1) * 1_000).collect();
        assert_eq!(
            percentiles(&mut v),
            Some(Latency {
                p50: 100,
                p99: 198,
                max: 200
            })
        );
        let mut v = vec![4_999];
        assert_eq!(
            percentiles(&mut v),
            Some(Latency {
                p50: 4,
                p99: 4,
                max: 4
            })
        );
        assert_eq!(percentiles(&mut []), None);
    }

    #[test]
    fn latency_runs_from_the_first_send_to_the_first_effect() {
        let h = Hb::new()
            // A retried message: measured from its first attempt.
            .send(0, m(0, 0), 0)
            .clean(10_000, m(0, 0), 0, 2_000)
            // Applied twice: the first effect counts.
            .clean(1_000, m(0, 1), 0, 3_500)
            .effect(90_000, m(0, 1))
            .build();
        let f = check(&h);
        assert_eq!(
            f.latency_ms,
            Some(Latency {
                p50: 3,
                p99: 12,
                max: 12
            })
        );
    }

    #[test]
    fn no_effect_no_latency() {
        let h = Hb::new().send(0, m(0, 0), 0).ack(100, m(0, 0)).build();
        assert_eq!(check(&h).latency_ms, None);
        assert_eq!(latency_ms(&Summaries::build(&h)), None);
    }
}

//! Repeats: **duplicate deliveries** (deliveries beyond the first — normal
//! under at-least-once, reported, not a failure by default) and **duplicate
//! effects** (effects beyond the first — an idempotency failure).
//! Each count is the number of repeats; its examples are the ids repeated.

use super::{Count, Summaries};

/// `duplicate_deliveries`: every `deliver` beyond a message's first.
pub fn duplicate_deliveries(summaries: &Summaries) -> Count {
    let mut c = Count::default();
    for (id, s) in summaries.iter() {
        if s.deliveries > 1 {
            c.add_n(id, u64::from(s.deliveries - 1));
        }
    }
    c
}

/// `duplicate_effects`: every `effect` beyond a message's first.
pub fn duplicate_effects(summaries: &Summaries) -> Count {
    let mut c = Count::default();
    for (id, s) in summaries.iter() {
        if s.effects > 1 {
            c.add_n(id, u64::from(s.effects - 1));
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use crate::check::check;
    use crate::check::testkit::{assert_other_anomalies_zero, background, m};
    use crate::metric::Metric;

    #[test]
    fn a_message_delivered_three_times_counts_two_duplicate_deliveries() {
        let h = background()
            .clean(2_000, m(0, 1), 1, 5_000)
            .deliver(7_500, m(0, 1))
            .deliver(8_000, m(0, 1))
            .build();
        let f = check(&h);
        assert_eq!(f[Metric::DuplicateDeliveries].n, 2);
        assert_eq!(f[Metric::DuplicateDeliveries].examples, vec![m(0, 1)]);
        assert_other_anomalies_zero(&f, &[Metric::DuplicateDeliveries]);
    }

    #[test]
    fn a_message_applied_twice_counts_one_duplicate_effect() {
        let h = background()
            .clean(2_000, m(1, 1), 2, 5_000)
            .effect(9_000, m(1, 1))
            .build();
        let f = check(&h);
        assert_eq!(f[Metric::DuplicateEffects].n, 1);
        assert_eq!(f[Metric::DuplicateEffects].examples, vec![m(1, 1)]);
        assert_other_anomalies_zero(&f, &[Metric::DuplicateEffects]);
    }
}

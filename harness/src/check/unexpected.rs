//! **Unexpected**: an effect for a message never sent (counted per id).

use super::{Count, Summaries};

pub fn unexpected(summaries: &Summaries) -> Count {
    let mut c = Count::default();
    for (id, s) in summaries.iter() {
        if s.has_effect() && !s.sent() {
            c.add(id);
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use crate::check::check;
    use crate::check::testkit::{assert_other_anomalies_zero, m, Hb};
    use crate::scenario::Metric;

    #[test]
    fn an_effect_for_a_message_never_sent_is_unexpected() {
        let h = Hb::new()
            .clean(0, m(0, 0), 1, 5_000)
            .clean(1_000, m(1, 0), 2, 5_000)
            // Delivered and applied, never sent.
            .deliver(3_000, m(3, 9))
            .effect(4_000, m(3, 9))
            .build();
        let f = check(&h);
        assert_eq!(f.unexpected.n, 1);
        assert_eq!(f.unexpected.examples, vec![m(3, 9)]);
        assert_other_anomalies_zero(&f, &[Metric::Unexpected]);
        assert_eq!(f.sent.n, 2);
        // Not sent: no latency for it (latencies are 5 ms each).
        assert_eq!(f.latency_ms.map(|l| l.max), Some(5));
    }
}

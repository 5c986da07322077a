//! **Recovered**: the producer timed out (outcome indeterminate), never got
//! an ack, yet the message was delivered anyway. Not a fate of its own: such
//! a message usually took effect (see [`super::fate`]); this says how many
//! of the producer's give-ups were not real losses.

use super::{Count, Summaries};

/// `recovered`: messages whose producer timed out, never acked, yet
/// delivered.
pub fn recovered(summaries: &Summaries) -> Count {
    let mut c = Count::default();
    for (id, s) in summaries.iter() {
        if s.timed_out() && !s.acked() && s.deliveries > 0 {
            c.add(id);
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
    fn a_timed_out_message_delivered_anyway_is_recovered() {
        let h = background()
            .send(2_000, m(1, 1), 2)
            .append(2_100, m(1, 1))
            .timeout(3_000, m(1, 1))
            .deliver(3_500, m(1, 1))
            .effect(4_000, m(1, 1))
            .commit(4_100, m(1, 1))
            // Timed out and never delivered: not recovered (abandoned).
            .send(2_000, m(1, 2), 2)
            .timeout(3_000, m(1, 2))
            .build();
        let f = check(&h);
        assert_eq!(f[Metric::Recovered].n, 1);
        assert_eq!(f[Metric::Recovered].examples, vec![m(1, 1)]);
        assert_eq!(f.balance.abandoned.examples, vec![m(1, 2)]);
        assert_other_anomalies_zero(&f, &[Metric::Recovered, Metric::Abandoned]);
    }
}

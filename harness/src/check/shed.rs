//! Outcomes the producer was told about, or could not know:
//! - **shed**: refused with an explicit `reject` and never acked (circuit
//!   breaker, backpressure): the producer knew and could retry;
//! - **recovered**: the producer timed out (outcome indeterminate), never got
//!   an ack, yet the message was delivered anyway.

use super::{Count, Summaries};

pub fn shed(summaries: &Summaries) -> Count {
    let mut c = Count::default();
    for (id, s) in summaries.iter() {
        if s.rejected() && !s.acked() {
            c.add(id);
        }
    }
    c
}

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
    use crate::scenario::Metric;

    #[test]
    fn a_rejected_message_is_shed() {
        let h = background()
            .send(2_000, m(0, 1), 1)
            .reject(2_500, m(0, 1))
            // Rejected, retried, acked and applied: not shed.
            .send(3_000, m(0, 2), 1)
            .reject(3_100, m(0, 2))
            .send(3_200, m(0, 2), 1)
            .ack(3_300, m(0, 2))
            .append(3_300, m(0, 2))
            .deliver(3_400, m(0, 2))
            .effect(3_500, m(0, 2))
            .commit(3_600, m(0, 2))
            .build();
        let f = check(&h);
        assert_eq!(f.shed.n, 1);
        assert_eq!(f.shed.examples, vec![m(0, 1)]);
        assert_other_anomalies_zero(&f, &[Metric::Shed]);
        assert_eq!(f.sent.n, 4);
        assert_eq!(f.acked.n, 3);
    }

    #[test]
    fn a_timed_out_message_delivered_anyway_is_recovered() {
        let h = background()
            .send(2_000, m(1, 1), 2)
            .append(2_100, m(1, 1))
            .timeout(3_000, m(1, 1))
            .deliver(3_500, m(1, 1))
            .effect(4_000, m(1, 1))
            .commit(4_100, m(1, 1))
            // Timed out and never delivered: not recovered (and not acked: not lost).
            .send(2_000, m(1, 2), 2)
            .timeout(3_000, m(1, 2))
            .build();
        let f = check(&h);
        assert_eq!(f.recovered.n, 1);
        assert_eq!(f.recovered.examples, vec![m(1, 1)]);
        assert_other_anomalies_zero(&f, &[Metric::Recovered]);
    }
}

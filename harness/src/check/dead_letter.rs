//! **Dead-lettered**: messages moved to the dead-letter queue. The History
//! does not mark poison messages, so this counts every dead-lettered id; it
//! cannot yet tell poison from healthy (misrouted) ones (DESIGN §3).

use super::{Count, Summaries};

pub fn dead_lettered(summaries: &Summaries) -> Count {
    let mut c = Count::default();
    for (id, s) in summaries.iter() {
        if s.dead_lettered() {
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
    fn a_dead_lettered_message_is_counted_and_not_lost() {
        let h = Hb::new()
            .clean(0, m(0, 0), 1, 5_000)
            .clean(1_000, m(1, 0), 2, 5_000)
            .send(2_000, m(0, 1), 1)
            .ack(2_100, m(0, 1))
            .append(2_100, m(0, 1))
            .deliver(2_200, m(0, 1))
            .dead_letter(3_000, m(0, 1))
            .build();
        let f = check(&h);
        assert_eq!(f.dead_lettered.n, 1);
        assert_eq!(f.dead_lettered.examples, vec![m(0, 1)]);
        assert_other_anomalies_zero(&f, &[Metric::DeadLettered]);
    }
}

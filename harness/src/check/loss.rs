//! Acked messages that never produced an effect (DESIGN §3):
//! - **lost**: not dropped by a recorded policy, not dead-lettered, and no
//!   longer held by the broker at the end — a durability or delivery bug;
//! - **stranded**: the same, but still held by the broker at the end of the
//!   drain — a liveness failure, not loss;
//! - **silently dropped**: discarded by a policy after the producer was told
//!   it succeeded — the system chose it, and it is still data loss.

use super::{Count, Summaries};
use crate::history::MsgId;

/// The three ways an acked message can end without an effect.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Loss {
    pub lost: Count,
    pub stranded: Count,
    pub silently_dropped: Count,
}

/// `held` and `dead_letters` are the broker's final inventory
/// (`history.inventory`), sorted.
pub fn loss(summaries: &Summaries, held: &[MsgId], dead_letters: &[MsgId]) -> Loss {
    let mut out = Loss::default();
    for (id, s) in summaries.iter() {
        if !s.acked() || s.has_effect() {
            continue;
        }
        if s.dropped() {
            out.silently_dropped.add(id);
        } else if dead_letters.binary_search(&id).is_ok() {
            // In a dead-letter queue: the DLQ checkers account for it.
        } else if held.binary_search(&id).is_ok() {
            out.stranded.add(id);
        } else {
            out.lost.add(id);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::check::check;
    use crate::check::testkit::{assert_other_anomalies_zero, background, m};
    use crate::scenario::Metric;

    #[test]
    fn an_acked_message_that_vanished_is_lost() {
        let h = background()
            .send(2_000, m(0, 1), 1)
            .ack(2_100, m(0, 1))
            .append(2_100, m(0, 1))
            // Still held: p1-7 is unrelated, so p0-1 is not stranded.
            .held(&[m(1, 7)])
            .build();
        let f = check(&h);
        assert_eq!(f.lost.n, 1);
        assert_eq!(f.lost.examples, vec![m(0, 1)]);
        assert_other_anomalies_zero(&f, &[Metric::Lost]);
    }

    #[test]
    fn an_acked_message_still_held_is_stranded() {
        let h = background()
            .send(2_000, m(0, 1), 1)
            .ack(2_100, m(0, 1))
            .append(2_100, m(0, 1))
            .send(2_000, m(0, 2), 1)
            .ack(2_100, m(0, 2))
            .held(&[m(0, 2), m(0, 1)])
            .build();
        let f = check(&h);
        assert_eq!(f.stranded.n, 2);
        assert_eq!(f.stranded.examples, vec![m(0, 1), m(0, 2)]);
        assert_other_anomalies_zero(&f, &[Metric::Stranded]);
    }

    #[test]
    fn an_acked_message_dropped_by_a_policy_is_silently_dropped() {
        let h = background()
            .send(2_000, m(1, 1), 2)
            .ack(2_100, m(1, 1))
            .append(2_100, m(1, 1))
            .drop_msg(3_000, m(1, 1))
            // Held or not, a dropped message is not stranded.
            .held(&[m(1, 1)])
            .build();
        let f = check(&h);
        assert_eq!(f.silently_dropped.n, 1);
        assert_eq!(f.silently_dropped.examples, vec![m(1, 1)]);
        assert_other_anomalies_zero(&f, &[Metric::SilentlyDropped]);
    }

    #[test]
    fn a_dropped_message_with_an_effect_is_not_dropped() {
        let h = background()
            .clean(2_000, m(1, 1), 2, 3_000)
            .drop_msg(6_000, m(1, 1))
            .build();
        let f = check(&h);
        assert_other_anomalies_zero(&f, &[]);
    }
}

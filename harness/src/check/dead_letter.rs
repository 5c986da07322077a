//! **DLQ routing** (DESIGN §3): poison messages that reached the dead-letter
//! queue, poison messages that did not, and healthy messages that were
//! dead-lettered (misrouted); beside them the most deliveries of one message,
//! which names the message a run without a DLQ kept retrying.
//!
//! Routing is judged by the dead-letter queue at the end (the broker's final
//! inventory, `Inventory.dead_letters`), like *stranded* is "held at the
//! end": a redrive takes messages out, and a DLQ lost in a crash loses them
//! (then they count as lost). The `dead_letter` events say when and after
//! how many attempts. Which messages are poison is the workload's decision,
//! recorded in `History.poison`. The *dead-lettered* fate (a message whose
//! last word is the DLQ, without an effect) is [`super::fate`]'s.

use super::{Count, Summaries};
use crate::history::MsgId;
use serde::Serialize;
use std::borrow::Cow;

/// The DLQ routing counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dlq {
    /// Poison ids that were sent (at least one `send`).
    pub poison: Count,
    /// Poison ids in the dead-letter queue at the end.
    pub poison_dead_lettered: Count,
    /// Poison ids the broker had (an `append`) that are not in the
    /// dead-letter queue at the end: still retried, or gone. A poison id
    /// that never reached the broker is in neither this nor
    /// `poison_dead_lettered`.
    pub poison_not_dead_lettered: Count,
    /// Healthy (not poison) ids in the dead-letter queue at the end.
    pub misrouted: Count,
}

/// The most `deliver` events of one message, and the smallest id that had
/// that many (`None` when nothing was delivered).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MaxDeliveries {
    /// The most deliveries of one message (0 when nothing was delivered).
    pub n: u64,
    /// The smallest id delivered that many times.
    pub example: Option<MsgId>,
}

/// `poison` is `History.poison` (sorted; sorted here if it is not) and
/// `dead_letters` the final inventory's (sorted).
pub fn dlq(summaries: &Summaries, poison: &[MsgId], dead_letters: &[MsgId]) -> Dlq {
    let poison: Cow<[MsgId]> = if poison.windows(2).all(|w| w[0] < w[1]) {
        Cow::Borrowed(poison)
    } else {
        let mut v = poison.to_vec();
        v.sort();
        v.dedup();
        Cow::Owned(v)
    };
    let mut out = Dlq::default();
    for &id in poison.iter() {
        let Some(s) = summaries.get(id) else { continue };
        if s.sent() {
            out.poison.add(id);
        }
        if dead_letters.binary_search(&id).is_ok() {
            out.poison_dead_lettered.add(id);
        } else if s.appended() {
            out.poison_not_dead_lettered.add(id);
        }
    }
    for &id in dead_letters {
        if poison.binary_search(&id).is_err() {
            out.misrouted.add(id);
        }
    }
    out
}

/// The most deliveries of one message, and the smallest id that had them.
pub fn max_deliveries(summaries: &Summaries) -> MaxDeliveries {
    let mut max = MaxDeliveries::default();
    for (id, s) in summaries.iter() {
        // Strictly more: the smallest id reaching the maximum is kept.
        if u64::from(s.deliveries) > max.n {
            max = MaxDeliveries {
                n: u64::from(s.deliveries),
                example: Some(id),
            };
        }
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::check;
    use crate::check::testkit::{assert_other_anomalies_zero, background, m, Hb};
    use crate::metric::Metric;

    /// Sent, acked, appended and delivered `deliveries` times (no effect).
    fn failing(h: Hb, at_us: u64, id: MsgId, deliveries: u64) -> Hb {
        let mut h = h
            .send(at_us, id, 1)
            .ack(at_us + 100, id)
            .append(at_us + 100, id);
        for i in 0..deliveries {
            h = h.deliver(at_us + 200 + i * 100, id);
        }
        h
    }

    fn counts(f: &crate::check::Figures) -> [u64; 5] {
        [
            f.balance.dead_lettered.n,
            f[Metric::Poison].n,
            f[Metric::PoisonDeadLettered].n,
            f[Metric::PoisonNotDeadLettered].n,
            f[Metric::Misrouted].n,
        ]
    }

    const DLQ: [Metric; 6] = [
        Metric::DeadLettered,
        Metric::Poison,
        Metric::PoisonDeadLettered,
        Metric::PoisonNotDeadLettered,
        Metric::Misrouted,
        Metric::DuplicateDeliveries,
    ];

    #[test]
    fn a_poison_message_in_the_dlq_is_routed_right() {
        let h = failing(background(), 2_000, m(0, 1), 3)
            .dead_letter(3_000, m(0, 1))
            .poison(&[m(0, 1)])
            .build();
        let f = check(&h);
        assert_eq!(counts(&f), [1, 1, 1, 0, 0]);
        assert_eq!(f[Metric::Poison].examples, vec![m(0, 1)]);
        assert_eq!(f[Metric::PoisonDeadLettered].examples, vec![m(0, 1)]);
        assert_eq!(f.balance.dead_lettered.examples, vec![m(0, 1)]);
        assert_eq!(f.value(Metric::Misrouted), Some(0));
        assert_eq!(f.value(Metric::PoisonDeadLettered), Some(1));
        // Dead-lettered, so neither lost nor stranded.
        assert_other_anomalies_zero(&f, &DLQ);
    }

    #[test]
    fn the_final_dlq_decides_not_the_events() {
        // Dead-lettered, then the DLQ was lost (a crash before it was
        // synced): the acked message is gone, so it is lost.
        let h = failing(background(), 2_000, m(0, 1), 3)
            .dead_letter(3_000, m(0, 1))
            .dlq(&[])
            .build();
        let f = check(&h);
        assert_eq!((f.balance.dead_lettered.n, f.balance.lost.n), (0, 1));
        assert_eq!(f.balance.lost.examples, vec![m(0, 1)]);
        // Redriven (a new append), but the redrive did not survive: it is
        // in the DLQ at the end, dead-lettered and not lost.
        let h = failing(background(), 2_000, m(0, 2), 3)
            .dead_letter(3_000, m(0, 2))
            .append(4_000, m(0, 2))
            .dlq(&[m(0, 2)])
            .build();
        let f = check(&h);
        assert_eq!(
            (
                f.balance.dead_lettered.n,
                f[Metric::Misrouted].n,
                f.balance.lost.n
            ),
            (1, 1, 0)
        );
    }

    #[test]
    fn a_poison_message_kept_in_the_queue_is_not_dead_lettered() {
        // No DLQ: retried until the end, still held.
        let h = failing(background(), 2_000, m(0, 1), 4)
            .poison(&[m(0, 1)])
            .held(&[m(0, 1)])
            .build();
        let f = check(&h);
        assert_eq!(counts(&f), [0, 1, 0, 1, 0]);
        assert_eq!(f[Metric::PoisonNotDeadLettered].examples, vec![m(0, 1)]);
        assert_eq!(f.balance.stranded.examples, vec![m(0, 1)]);
        assert_eq!(
            f.max_deliveries,
            MaxDeliveries {
                n: 4,
                example: Some(m(0, 1))
            }
        );
        assert_other_anomalies_zero(&f, &[&DLQ[..], &[Metric::Stranded]].concat());
    }

    #[test]
    fn poison_never_sent_or_never_appended_counts_where_it_should() {
        // p0-1 poison but never sent (the load ended first); p0-2 sent and
        // refused, never in the queue.
        let h = background()
            .send(2_000, m(0, 2), 1)
            .reject(2_100, m(0, 2))
            .poison(&[m(0, 1), m(0, 2)])
            .build();
        let f = check(&h);
        assert_eq!(counts(&f), [0, 1, 0, 0, 0]);
        assert_eq!(f[Metric::Poison].examples, vec![m(0, 2)]);
    }

    #[test]
    fn a_healthy_message_in_the_dlq_is_misrouted() {
        let h = failing(background(), 2_000, m(1, 1), 3)
            .dead_letter(3_000, m(1, 1))
            .poison(&[m(0, 7)])
            .build();
        let f = check(&h);
        assert_eq!(counts(&f), [1, 0, 0, 0, 1]);
        assert_eq!(f[Metric::Misrouted].examples, vec![m(1, 1)]);
        assert_eq!(f.value(Metric::Misrouted), Some(1));
        assert_other_anomalies_zero(&f, &DLQ);
    }

    #[test]
    fn a_redriven_message_is_no_longer_dead_lettered() {
        let redriven = || {
            failing(background(), 2_000, m(0, 1), 3)
                .dead_letter(3_000, m(0, 1))
                .append(4_000, m(0, 1))
        };
        // Redriven and then applied: no anomaly but its repeated deliveries.
        let f = check(
            &redriven()
                .deliver(4_100, m(0, 1))
                .effect(4_200, m(0, 1))
                .build(),
        );
        assert_eq!(counts(&f), [0, 0, 0, 0, 0]);
        assert_other_anomalies_zero(&f, &[Metric::DuplicateDeliveries]);
        // Redriven, then gone with nothing held: lost.
        let f = check(&redriven().held(&[]).build());
        assert_eq!(counts(&f), [0, 0, 0, 0, 0]);
        assert_eq!(f.balance.lost.examples, vec![m(0, 1)]);
        assert_other_anomalies_zero(&f, &[Metric::Lost, Metric::DuplicateDeliveries]);
        // Redriven, still held: stranded.
        let f = check(&redriven().held(&[m(0, 1)]).build());
        assert_eq!(f.balance.stranded.examples, vec![m(0, 1)]);
        assert_eq!(f.balance.lost.n, 0);
        // A redriven poison message that comes back to the DLQ is in it again.
        let f = check(
            &redriven()
                .deliver(4_100, m(0, 1))
                .dead_letter(5_000, m(0, 1))
                .poison(&[m(0, 1)])
                .build(),
        );
        assert_eq!(counts(&f), [1, 1, 1, 0, 0]);
        // Redriven poison still in the queue at the end: not dead-lettered.
        let f = check(&redriven().poison(&[m(0, 1)]).held(&[m(0, 1)]).build());
        assert_eq!(counts(&f), [0, 1, 0, 1, 0]);
    }

    #[test]
    fn max_deliveries_names_the_smallest_id_that_reached_it() {
        let h = failing(background(), 2_000, m(1, 4), 5);
        let h = failing(h, 3_000, m(0, 9), 2);
        let h = failing(h, 4_000, m(1, 2), 5).build();
        let f = check(&h);
        assert_eq!(
            f.max_deliveries,
            MaxDeliveries {
                n: 5,
                example: Some(m(1, 2))
            }
        );
        assert_eq!(f.value(Metric::MaxDeliveries), Some(5));
        assert_eq!(f.examples(Metric::MaxDeliveries), &[m(1, 2)]);
        // Nothing delivered: 0, no example.
        let f = check(&Hb::new().send(0, m(0, 0), 1).build());
        assert_eq!(f.max_deliveries, MaxDeliveries::default());
        assert_eq!(f.value(Metric::MaxDeliveries), Some(0));
        assert!(f.examples(Metric::MaxDeliveries).is_empty());
    }

    #[test]
    fn unsorted_poison_lists_are_sorted() {
        let h = failing(background(), 2_000, m(0, 1), 1);
        let h = failing(h, 2_500, m(0, 2), 1)
            .dead_letter(3_000, m(0, 1))
            .dead_letter(3_000, m(0, 2))
            .poison(&[m(0, 2), m(0, 1), m(0, 2)])
            .build();
        let f = check(&h);
        assert_eq!(counts(&f), [2, 2, 2, 0, 0]);
    }
}

//! **Order violations**: per key, first effects out of send order.
//!
//! Messages with an effect (and a send) are grouped by producer and key; in a
//! group they are ordered by the event index of their first `send`. A message
//! is a violation when its first `effect` comes before (has a smaller event
//! index than) the first effect of some message sent before it in the group:
//! it overtook an earlier message. The count is of messages, so one slow
//! message overtaken by n later ones counts n.
//!
//! Example, one key: a sent, then b, then c; effects in the order b, c, a →
//! b and c are violations (2); effects a, c, b → c is not, b is (1).

use super::{Count, Summaries};
use crate::history::MsgId;

/// One message with an effect, as the order check sees it.
#[derive(Clone, Copy)]
struct Entry {
    first_send: u64,
    first_effect: u64,
    key: u32,
    seq: u32,
}

/// `order_violations`: messages whose first effect came before that of a
/// message sent earlier by the same producer with the same key.
pub fn order_violations(summaries: &Summaries) -> Count {
    let mut c = Count::default();
    let mut entries: Vec<Entry> = Vec::new();
    // Per key: 1 + the largest first-effect index seen so far in the group,
    // 0 = none yet. Reused across producers.
    let mut running: Vec<u64> = Vec::new();
    for (producer, row) in summaries.producers().iter().enumerate() {
        entries.clear();
        entries.extend(row.iter().enumerate().filter_map(|(seq, s)| {
            (s.sent() && s.has_effect()).then_some(Entry {
                first_send: s.first_send,
                first_effect: s.first_effect,
                key: s.key,
                seq: seq as u32,
            })
        }));
        if entries.is_empty() {
            continue;
        }
        // Seq order is nearly always send order: sort only when it is not.
        if !entries.is_sorted_by_key(|e| e.first_send) {
            entries.sort_unstable_by_key(|e| e.first_send);
        }
        let producer = producer as u32;
        let mut violation = |seq: u32| c.add(MsgId::new(producer, seq));
        let max_key = entries.iter().map(|e| e.key).max().unwrap_or(0) as usize;
        if max_key <= entries.len().saturating_mul(4) + 4_096 {
            // Dense keys (the workload's 0..keys): a running max per key.
            running.clear();
            running.resize(max_key + 1, 0);
            for e in &entries {
                let r = &mut running[e.key as usize];
                if e.first_effect + 1 < *r {
                    violation(e.seq);
                } else {
                    *r = e.first_effect + 1;
                }
            }
        } else {
            // Sparse keys: group by sorting (stable, so send order holds in a key).
            entries.sort_by_key(|e| e.key);
            let mut group_key = None;
            let mut max_effect = 0;
            for e in &entries {
                if group_key != Some(e.key) {
                    group_key = Some(e.key);
                    max_effect = e.first_effect;
                } else if e.first_effect < max_effect {
                    violation(e.seq);
                } else {
                    max_effect = e.first_effect;
                }
            }
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use crate::check::check;
    use crate::check::testkit::{assert_other_anomalies_zero, m, Hb};
    use crate::metric::Metric;

    /// Messages of producer 0 with `key`, sent 1 ms apart in `sends` order,
    /// applied in `effects` order, starting at 100 ms.
    fn run(key: u32, sends: &[u32], effects: &[u32]) -> Hb {
        let mut hb = Hb::new();
        for (i, &seq) in sends.iter().enumerate() {
            let t = i as u64 * 1_000;
            hb = hb
                .send(t, m(0, seq), key)
                .ack(t + 100, m(0, seq))
                .deliver(t + 200, m(0, seq));
        }
        for (i, &seq) in effects.iter().enumerate() {
            hb = hb.effect(100_000 + i as u64 * 1_000, m(0, seq));
        }
        hb
    }

    #[test]
    fn a_message_overtaking_an_earlier_one_on_its_key_is_a_violation() {
        let h = run(1, &[0, 1, 2], &[0, 2, 1])
            // Same producer, another key, and another producer on the same
            // key: independent groups, in order.
            .clean(2_000, m(0, 3), 2, 50_000)
            .clean(3_000, m(1, 0), 1, 1_000)
            .build();
        let f = check(&h);
        // p0-2 was applied before p0-1, which was sent before it.
        assert_eq!(f[Metric::OrderViolations].n, 1);
        assert_eq!(f[Metric::OrderViolations].examples, vec![m(0, 2)]);
        assert_other_anomalies_zero(&f, &[Metric::OrderViolations]);
    }

    #[test]
    fn every_message_overtaking_a_slow_one_counts() {
        let f = check(&run(4, &[0, 1, 2], &[1, 2, 0]).build());
        assert_eq!(f[Metric::OrderViolations].n, 2);
        assert_eq!(f[Metric::OrderViolations].examples, vec![m(0, 1), m(0, 2)]);
    }

    #[test]
    fn send_order_not_seq_order_defines_the_group_order() {
        // p0-5 is sent before p0-2; effects in send order: no violation.
        let f = check(&run(0, &[5, 2], &[5, 2]).build());
        assert_eq!(f[Metric::OrderViolations].n, 0);
        // Effects in seq order: p0-2 overtook p0-5.
        let f = check(&run(0, &[5, 2], &[2, 5]).build());
        assert_eq!(f[Metric::OrderViolations].examples, vec![m(0, 2)]);
    }

    #[test]
    fn sparse_keys_give_the_same_answer() {
        for key in [3, 4_000_000_000] {
            let f = check(&run(key, &[0, 1, 2, 3], &[2, 0, 3, 1]).build());
            // In send order: 0 (2nd effect) fine; 1 (4th) fine; 2 (1st)
            // overtook 0 and 1; 3 (3rd) overtook 1.
            assert_eq!(f[Metric::OrderViolations].n, 2, "key {key}");
            assert_eq!(
                f[Metric::OrderViolations].examples,
                vec![m(0, 2), m(0, 3)],
                "key {key}"
            );
        }
    }

    #[test]
    fn messages_never_sent_are_left_out() {
        let f = check(&run(0, &[1], &[0, 1]).build());
        assert_eq!(f[Metric::OrderViolations].n, 0);
        assert_eq!(f.balance.unexpected.examples, vec![m(0, 0)]);
    }
}

//! One classic queue's contents and delivery rules, as pure functions over
//! simulated time (SQS / RabbitMQ semantics): messages are delivered, then
//! deleted when acked; a received message is invisible for the visibility
//! timeout and reappears if not acked by then; a message received more than
//! `max_receives` times goes to the dead-letter queue on its next receive;
//! with FIFO, a message group (the key) with a message invisible delivers
//! nothing more until it is settled. The broker host (`broker.rs`)
//! owns the network, the disk and the mirrors; this module owns the rules.

use crate::common::wire::{Delivery, QMsg, Receipt};
use crate::mutant::{self, Mutant};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Copy, Debug)]
struct Entry {
    msg: QMsg,
    receives: u32,
    /// Invisible until then (in flight, or handed back with a delay); 0 = visible.
    invisible_until: u64,
    /// A consumer holds it (as opposed to a delayed retry).
    in_flight: bool,
}

/// What a receive did besides delivering.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Received {
    pub deliveries: Vec<Delivery>,
    /// Moved to the dead-letter queue instead of delivered: (message, receives so far).
    pub dead_lettered: Vec<(QMsg, u32)>,
}

/// The rules a queue follows (from the scenario's `[broker]`).
#[derive(Clone, Copy, Debug)]
pub struct Rules {
    pub visibility_us: u64,
    pub max_receives: Option<u32>,
    pub fifo: bool,
}

/// One queue and its dead-letter queue.
#[derive(Default)]
pub struct Queue {
    entries: BTreeMap<u64, Entry>,
    /// Visible entries' seqs, in order.
    visible: BTreeSet<u64>,
    /// Invisible entries by (until, seq).
    timers: BTreeSet<(u64, u64)>,
    /// FIFO: invisible entries per group (key).
    blocked: BTreeMap<u32, u32>,
    dlq: BTreeMap<u64, QMsg>,
    /// The next seq to assign.
    pub next_seq: u64,
}

impl Queue {
    /// Messages held (visible, in flight or delayed); the DLQ apart.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn dlq_len(&self) -> usize {
        self.dlq.len()
    }

    /// Every message held, in queue order (visible or not).
    pub fn messages(&self) -> impl Iterator<Item = &QMsg> {
        self.entries.values().map(|e| &e.msg)
    }

    pub fn dead_letters(&self) -> impl Iterator<Item = &QMsg> {
        self.dlq.values()
    }

    /// The oldest message held (by append time of the queue's first entry).
    pub fn oldest(&self) -> Option<&QMsg> {
        self.entries.values().next().map(|e| &e.msg)
    }

    /// Appends a message with the next seq, as a publish does (the node
    /// itself goes through its op log; tests build queues with this).
    #[cfg(test)]
    pub fn push(&mut self, id: harness::MsgId, key: u32, append_us: u64) -> QMsg {
        let msg = QMsg {
            seq: self.next_seq,
            id,
            key,
            append_us,
        };
        self.insert(msg);
        msg
    }

    /// Takes a message in at its own seq (a mirror's copy, a journal
    /// replay), visible, never received.
    pub fn insert(&mut self, msg: QMsg) {
        // A copy of a seq held already replaces it whole (its timer too).
        self.remove(msg.seq);
        self.next_seq = self.next_seq.max(msg.seq + 1);
        self.entries.insert(
            msg.seq,
            Entry {
                msg,
                receives: 0,
                invisible_until: 0,
                in_flight: false,
            },
        );
        self.visible.insert(msg.seq);
    }

    /// Removes a message wherever it is in the queue (acked, dropped).
    pub fn remove(&mut self, seq: u64) -> Option<QMsg> {
        let e = self.entries.remove(&seq)?;
        if e.invisible_until == 0 {
            self.visible.remove(&seq);
        } else {
            self.timers.remove(&(e.invisible_until, seq));
            self.unblock(e.msg.key);
        }
        Some(e.msg)
    }

    /// Moves a message to the DLQ (a mirror applying its master's move).
    pub fn dead_letter(&mut self, seq: u64) -> Option<QMsg> {
        let m = self.remove(seq)?;
        self.dlq.insert(seq, m);
        Some(m)
    }

    /// Takes a dead-lettered message out of the DLQ (redrive).
    pub fn take_dead_letter(&mut self, seq: u64) -> Option<QMsg> {
        self.dlq.remove(&seq)
    }

    /// Every dead-lettered message, oldest first, for a redrive.
    pub fn take_dlq(&mut self) -> Vec<QMsg> {
        std::mem::take(&mut self.dlq).into_values().collect()
    }

    /// The oldest visible message, for a `drop_oldest` overflow (only
    /// visible messages are dropped: one in a consumer's hands is not the
    /// queue's to drop).
    pub fn oldest_visible(&self) -> Option<u64> {
        self.visible.iter().next().copied()
    }

    fn unblock(&mut self, key: u32) {
        if let Some(n) = self.blocked.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                self.blocked.remove(&key);
            }
        }
    }

    fn hide(&mut self, seq: u64, until: u64, in_flight: bool) {
        let e = self.entries.get_mut(&seq).expect("hide an entry held");
        debug_assert_eq!(e.invisible_until, 0);
        e.invisible_until = until;
        e.in_flight = in_flight;
        self.visible.remove(&seq);
        self.timers.insert((until, seq));
        *self.blocked.entry(e.msg.key).or_default() += 1;
    }

    /// Takes out the messages at the head of the queue whose time to live
    /// (`ttl_us` from their append) has run out by `now_us` — into the
    /// dead-letter queue when `dead_letter` (RabbitMQ dead-letters expired
    /// messages to the queue's dead-letter exchange), else discarded — and
    /// returns them with their receive counts. As RabbitMQ does, only the
    /// head expires: a message behind a live one, or in a consumer's hands,
    /// waits until it reaches the head (a handed-back message keeps its
    /// first append time).
    pub fn expire_ttl(&mut self, now_us: u64, ttl_us: u64, dead_letter: bool) -> Vec<(QMsg, u32)> {
        self.expire(now_us);
        let mut out = Vec::new();
        while let Some(&seq) = self.visible.first() {
            let e = &self.entries[&seq];
            if e.msg.append_us.saturating_add(ttl_us) > now_us {
                break;
            }
            let receives = e.receives;
            let m = if dead_letter {
                self.dead_letter(seq)
            } else {
                self.remove(seq)
            };
            out.push((m.expect("a visible entry is held"), receives));
        }
        out
    }

    /// Makes visible again every entry whose invisibility ended by `now`.
    pub fn expire(&mut self, now_us: u64) {
        while let Some(&(until, seq)) = self.timers.first() {
            if until > now_us {
                break;
            }
            self.timers.pop_first();
            let e = self.entries.get_mut(&seq).expect("a timer has its entry");
            e.invisible_until = 0;
            e.in_flight = false;
            let key = e.msg.key;
            self.visible.insert(seq);
            self.unblock(key);
        }
    }

    /// Up to `max` visible messages in queue order, each made invisible
    /// for the visibility timeout. A message already received
    /// `max_receives` times goes to the DLQ instead (SQS moves it when a
    /// receive would exceed the count). With FIFO, a group blocked by an
    /// invisible message is skipped, and a group's messages are taken in
    /// order up to the first that is not taken.
    pub fn receive(&mut self, max: usize, now_us: u64, rules: Rules) -> Received {
        self.expire(now_us);
        let mut out = Received::default();
        let mut skipped: BTreeSet<u32> = BTreeSet::new();
        let mut taken_groups: BTreeSet<u32> = BTreeSet::new();
        let mut cursor = 0u64;
        while out.deliveries.len() < max {
            let Some(&seq) = self.visible.range(cursor..).next() else {
                break;
            };
            cursor = seq + 1;
            let (key, receives) = {
                let e = &self.entries[&seq];
                (e.msg.key, e.receives)
            };
            if rules.fifo
                && (skipped.contains(&key)
                    || (self.blocked.contains_key(&key) && !taken_groups.contains(&key)))
            {
                skipped.insert(key);
                continue;
            }
            if rules.max_receives.is_some_and(|m| receives >= m) && !mutant::active(Mutant::SkipDlq)
            {
                let m = self.dead_letter(seq).expect("a visible entry is held");
                out.dead_lettered.push((m, receives));
                continue;
            }
            let until = now_us + rules.visibility_us.max(1);
            let e = self.entries.get_mut(&seq).expect("a visible entry is held");
            e.receives += 1;
            let d = Delivery {
                msg: e.msg,
                receives: e.receives,
                receipt: Receipt {
                    seq,
                    receives: e.receives,
                    epoch: 0,
                },
            };
            self.hide(seq, until, true);
            taken_groups.insert(key);
            out.deliveries.push(d);
        }
        out
    }

    /// Whether `r` names the message's current delivery, still in flight.
    fn current(&self, r: Receipt) -> bool {
        self.entries
            .get(&r.seq)
            .is_some_and(|e| e.in_flight && e.receives == r.receives)
    }

    /// Deletes an acked message; None for a stale receipt.
    pub fn ack(&mut self, r: Receipt) -> Option<QMsg> {
        if !self.current(r) {
            return None;
        }
        self.remove(r.seq)
    }

    /// Hands a message back, visible again after `delay_us` (0 = now;
    /// with FIFO its group stays blocked meanwhile, so order holds).
    /// Returns whether the receipt was current.
    pub fn nack(&mut self, r: Receipt, delay_us: u64, now_us: u64) -> bool {
        if !self.current(r) {
            return false;
        }
        let e = self.entries.get_mut(&r.seq).expect("current");
        self.timers.remove(&(e.invisible_until, r.seq));
        e.in_flight = false;
        if delay_us == 0 {
            e.invisible_until = 0;
            let key = e.msg.key;
            self.visible.insert(r.seq);
            self.unblock(key);
        } else {
            e.invisible_until = now_us + delay_us;
            self.timers.insert((e.invisible_until, r.seq));
        }
        true
    }

    /// Forgets every delivery: all messages visible, receive counts kept.
    /// What a promoted mirror knows (the old master's in-flight set died
    /// with it, so those messages are delivered again).
    pub fn reset_deliveries(&mut self) {
        let seqs: Vec<u64> = self.timers.iter().map(|&(_, s)| s).collect();
        self.timers.clear();
        self.blocked.clear();
        for s in seqs {
            let e = self.entries.get_mut(&s).expect("timer entry");
            e.invisible_until = 0;
            e.in_flight = false;
            self.visible.insert(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use harness::MsgId;

    const RULES: Rules = Rules {
        visibility_us: 1_000,
        max_receives: None,
        fifo: false,
    };

    fn q(keys: &[u32]) -> Queue {
        let mut q = Queue::default();
        for (i, &k) in keys.iter().enumerate() {
            q.push(MsgId::new(0, i as u32), k, 0);
        }
        q
    }

    fn seqs(r: &Received) -> Vec<u64> {
        r.deliveries.iter().map(|d| d.msg.seq).collect()
    }

    #[test]
    fn an_unacked_message_reappears_after_the_visibility_timeout() {
        let mut q = q(&[1, 2]);
        let r = q.receive(1, 0, RULES);
        assert_eq!(seqs(&r), vec![0]);
        assert_eq!(seqs(&q.receive(10, 500, RULES)), vec![1]);
        assert!(q.receive(10, 999, RULES).deliveries.is_empty());
        let again = q.receive(10, 1_000, RULES);
        assert_eq!(seqs(&again), vec![0]);
        assert_eq!(again.deliveries[0].receives, 2);
        // The first receipt is stale now: its ack deletes nothing.
        assert_eq!(q.ack(r.deliveries[0].receipt), None);
        assert!(q.ack(again.deliveries[0].receipt).is_some());
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn messages_expire_at_the_head_only_and_not_in_a_consumers_hands() {
        // Appended at 0, 10 and 20 us; a time to live of 100 us.
        let mut q = Queue::default();
        for (i, at) in [0u64, 10, 20].into_iter().enumerate() {
            q.push(MsgId::new(0, i as u32), 1, at);
        }
        assert!(q.expire_ttl(99, 100, false).is_empty());
        // The head is received (in flight): it does not expire, and the
        // next one, now at the head of what is visible, does.
        let d = q.receive(1, 50, RULES).deliveries[0];
        let gone: Vec<(u64, u32)> = (q.expire_ttl(115, 100, false).iter())
            .map(|(m, r)| (m.seq, *r))
            .collect();
        assert_eq!(gone, vec![(1, 0)]);
        assert_eq!(q.len(), 2);
        // Handed back, it keeps its first append time: expired at once,
        // into the dead-letter queue when there is one.
        assert!(q.nack(d.receipt, 0, 116));
        let gone: Vec<(u64, u32)> = (q.expire_ttl(116, 100, true).iter())
            .map(|(m, r)| (m.seq, *r))
            .collect();
        assert_eq!(gone, vec![(0, 1)]);
        assert_eq!(q.messages().map(|m| m.seq).collect::<Vec<_>>(), vec![2]);
        assert_eq!(q.dead_letters().map(|m| m.seq).collect::<Vec<_>>(), vec![0]);
    }

    #[test]
    fn a_nack_with_delay_hides_the_message_until_then() {
        let mut q = q(&[1]);
        let d = q.receive(1, 0, RULES).deliveries[0];
        assert!(q.nack(d.receipt, 300, 100));
        assert!(q.receive(1, 399, RULES).deliveries.is_empty());
        let d = q.receive(1, 400, RULES).deliveries[0];
        assert_eq!(d.receives, 2);
        // A nack without delay makes it visible at once.
        assert!(q.nack(d.receipt, 0, 450));
        assert_eq!(seqs(&q.receive(1, 450, RULES)), vec![0]);
    }

    #[test]
    fn past_max_receives_a_message_goes_to_the_dlq_on_its_next_receive() {
        let rules = Rules {
            max_receives: Some(2),
            ..RULES
        };
        let mut q = q(&[1, 2]);
        let first = q.receive(10, 0, rules);
        assert_eq!(seqs(&first), vec![0, 1]);
        q.ack(first.deliveries[1].receipt).unwrap();
        let second = q.receive(10, 1_000, rules);
        assert_eq!(seqs(&second), vec![0]);
        assert_eq!(second.deliveries[0].receives, 2);
        let r = q.receive(10, 2_000, rules);
        assert!(r.deliveries.is_empty());
        assert_eq!(r.dead_lettered.len(), 1);
        assert_eq!(r.dead_lettered[0].0.seq, 0);
        assert_eq!(r.dead_lettered[0].1, 2);
        assert_eq!((q.len(), q.dlq_len()), (0, 1));
        // A redrive takes it back as a new message, never received.
        for m in q.take_dlq() {
            q.push(m.id, m.key, 3_000);
        }
        let r = q.receive(10, 3_000, rules);
        assert_eq!(r.deliveries.len(), 1);
        assert_eq!(r.deliveries[0].receives, 1);
    }

    #[test]
    fn fifo_blocks_a_group_while_one_of_its_messages_is_invisible() {
        let rules = Rules {
            fifo: true,
            ..RULES
        };
        let mut q = q(&[7, 7, 8, 7]);
        // One batch may take a group's messages in order.
        let r = q.receive(2, 0, rules);
        assert_eq!(seqs(&r), vec![0, 1]);
        // Group 7 is blocked now; group 8 is not.
        let r2 = q.receive(10, 10, rules);
        assert_eq!(seqs(&r2), vec![2]);
        // Settling 0 but not 1 keeps 7 blocked.
        q.ack(r.deliveries[0].receipt).unwrap();
        assert!(q.receive(10, 20, rules).deliveries.is_empty());
        q.ack(r.deliveries[1].receipt).unwrap();
        assert_eq!(seqs(&q.receive(10, 30, rules)), vec![3]);
    }

    #[test]
    fn fifo_takes_nothing_of_a_group_after_a_skipped_message() {
        let rules = Rules {
            fifo: true,
            max_receives: Some(1),
            ..RULES
        };
        let mut q = q(&[5, 5]);
        let r = q.receive(1, 0, rules);
        assert_eq!(seqs(&r), vec![0]);
        assert!(q.nack(r.deliveries[0].receipt, 0, 5));
        // 0 goes to the DLQ (received once already) and 1 follows it.
        let r = q.receive(10, 10, rules);
        assert_eq!(r.dead_lettered.len(), 1);
        assert_eq!(seqs(&r), vec![1]);
    }

    #[test]
    fn a_promoted_mirror_delivers_everything_again() {
        let mut q = q(&[1, 2]);
        let r = q.receive(10, 0, RULES);
        assert_eq!(r.deliveries.len(), 2);
        q.reset_deliveries();
        assert_eq!(seqs(&q.receive(10, 1, RULES)), vec![0, 1]);
    }
}

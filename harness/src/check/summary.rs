//! One pass over the History's events building a per-message summary, which
//! every message-level checker then reads. Message ids are dense per producer
//! (`seq` 0..n), so the table is `Vec<Vec<Summary>>` indexed by producer, then
//! by seq: no hashing, and iteration order is `MsgId`'s order.

use crate::history::{EventKind, History, MsgId, Reason};

/// Sentinel for "no such event" in the event-index fields.
pub const NONE: u64 = u64::MAX;

const SENT: u8 = 1 << 0;
const ACKED: u8 = 1 << 1;
const REJECTED: u8 = 1 << 2;
const TIMED_OUT: u8 = 1 << 3;
const DROPPED: u8 = 1 << 4;
const DEAD_LETTERED: u8 = 1 << 5;
/// Set by every event, so a message seen only in `append` or `commit` counts.
const SEEN: u8 = 1 << 6;
const APPENDED: u8 = 1 << 7;

/// What happened to one message over the whole History.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Event index (position in `history.events`) of the first `send`, or [`NONE`].
    pub first_send: u64,
    /// When the first `send` happened, µs (0 when never sent).
    pub first_send_at_us: u64,
    /// Event index of the first `effect`, or [`NONE`].
    pub first_effect: u64,
    /// When the first `effect` happened, µs (0 without one).
    pub first_effect_at_us: u64,
    /// The key of the first `send` (of the first event seen when never sent).
    pub key: u32,
    /// How many `deliver` events name it.
    pub deliveries: u32,
    /// How many `effect` events name it (in a stage's view, `forward`s).
    pub effects: u32,
    flags: u8,
    /// The first `drop`'s reason (index in `Reason::ALL` + 1; 0 = none).
    drop_reason: u8,
    /// The last `reject`'s reason (likewise): the refusal that stood.
    reject_reason: u8,
}

impl Summary {
    /// A message with no event at all (padding between recorded ids).
    pub const EMPTY: Summary = Summary {
        first_send: NONE,
        first_send_at_us: 0,
        first_effect: NONE,
        first_effect_at_us: 0,
        key: 0,
        deliveries: 0,
        effects: 0,
        flags: 0,
        drop_reason: 0,
        reject_reason: 0,
    };

    /// Whether a producer ever sent it (`send`).
    pub fn sent(&self) -> bool {
        self.flags & SENT != 0
    }
    /// Whether the broker ever confirmed it (`ack`).
    pub fn acked(&self) -> bool {
        self.flags & ACKED != 0
    }
    /// Whether it was ever refused with notice (`reject`).
    pub fn rejected(&self) -> bool {
        self.flags & REJECTED != 0
    }
    /// Whether its producer ever gave up on it (`timeout`).
    pub fn timed_out(&self) -> bool {
        self.flags & TIMED_OUT != 0
    }
    /// Whether anything ever discarded it (`drop`).
    pub fn dropped(&self) -> bool {
        self.flags & DROPPED != 0
    }
    /// Why it was first dropped, if it was.
    pub fn drop_reason(&self) -> Option<Reason> {
        reason(self.drop_reason)
    }
    /// Why it was last refused, if it was.
    pub fn reject_reason(&self) -> Option<Reason> {
        reason(self.reject_reason)
    }
    /// Whether it was ever moved to a dead-letter queue (`dead_letter`).
    pub fn dead_lettered(&self) -> bool {
        self.flags & DEAD_LETTERED != 0
    }
    /// Whether the broker ever recorded it (`append`).
    pub fn appended(&self) -> bool {
        self.flags & APPENDED != 0
    }
    /// Whether it took effect at least once.
    pub fn has_effect(&self) -> bool {
        self.effects > 0
    }
    /// Whether any event names this message.
    pub(crate) fn seen(&self) -> bool {
        self.flags & SEEN != 0
    }
}

fn code(r: Reason) -> u8 {
    Reason::ALL
        .iter()
        .position(|&x| x == r)
        .map_or(0, |i| i as u8 + 1)
}

fn reason(code: u8) -> Option<Reason> {
    code.checked_sub(1)
        .and_then(|i| Reason::ALL.get(usize::from(i)).copied())
}

/// Which events a table of summaries reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum View {
    /// The pipeline end to end ([`History::end_to_end`]).
    EndToEnd,
    /// One stage's events, its forwards as its effects.
    Stage(u8),
}

/// The per-message summaries of a History, indexed by producer then seq.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summaries {
    by_producer: Vec<Vec<Summary>>,
}

impl Summaries {
    /// Builds the table in one pass over `history.events`: the whole
    /// pipeline's view of each message (with several stages,
    /// `View::EndToEnd`).
    ///
    /// Memory is proportional to the largest producer index and, per producer,
    /// to the largest seq: ids are assumed dense (assigned from the load
    /// schedule), as the History promises.
    pub fn build(history: &History) -> Summaries {
        Summaries::build_view(history, View::EndToEnd)
    }

    /// One stage's view of each message: its events only, and a `forward`
    /// out of it counts as its effect.
    pub fn build_stage(history: &History, stage: u8) -> Summaries {
        Summaries::build_view(history, View::Stage(stage))
    }

    fn build_view(history: &History, view: View) -> Summaries {
        let mut table = Summaries::default();
        for (index, event) in history.events.iter().enumerate() {
            let reads = match view {
                View::EndToEnd => history.end_to_end(event),
                View::Stage(k) => event.stage == k,
            };
            if !reads {
                continue;
            }
            let index = index as u64;
            let s = table.slot(event.id);
            if s.flags & SEEN == 0 {
                s.flags |= SEEN;
                s.key = event.key;
            }
            match event.kind {
                EventKind::Send { .. } => {
                    if s.flags & SENT == 0 {
                        s.flags |= SENT;
                        s.first_send = index;
                        s.first_send_at_us = event.at_us;
                        s.key = event.key;
                    }
                }
                EventKind::Ack => s.flags |= ACKED,
                EventKind::Reject { reason } => {
                    s.flags |= REJECTED;
                    s.reject_reason = code(reason);
                }
                EventKind::Timeout => s.flags |= TIMED_OUT,
                EventKind::Append { .. } => s.flags |= APPENDED,
                EventKind::Commit => {}
                EventKind::Drop { reason } => {
                    if s.flags & DROPPED == 0 {
                        s.drop_reason = code(reason);
                    }
                    s.flags |= DROPPED;
                }
                EventKind::Deliver { .. } => s.deliveries = s.deliveries.saturating_add(1),
                EventKind::Effect { .. } | EventKind::Forward => {
                    if s.effects == 0 {
                        s.first_effect = index;
                        s.first_effect_at_us = event.at_us;
                    }
                    s.effects = s.effects.saturating_add(1);
                }
                // Whether it is in a DLQ at the end is the inventory's to
                // say; that it went there once is the History's.
                EventKind::DeadLetter { .. } => s.flags |= DEAD_LETTERED,
            }
        }
        table
    }

    fn slot(&mut self, id: MsgId) -> &mut Summary {
        let p = id.producer as usize;
        if p >= self.by_producer.len() {
            self.by_producer.resize_with(p + 1, Vec::new);
        }
        let row = &mut self.by_producer[p];
        let s = id.seq as usize;
        if s >= row.len() {
            // `resize` reserves with amortised growth.
            row.resize(s + 1, Summary::EMPTY);
        }
        &mut row[s]
    }

    /// The summary of `id`, if any event named it.
    pub fn get(&self, id: MsgId) -> Option<&Summary> {
        self.by_producer
            .get(id.producer as usize)?
            .get(id.seq as usize)
            .filter(|s| s.seen())
    }

    /// Every producer's row (index = producer), padding included.
    pub fn producers(&self) -> &[Vec<Summary>] {
        &self.by_producer
    }

    /// Every message some event named, in `MsgId` order.
    pub fn iter(&self) -> impl Iterator<Item = (MsgId, &Summary)> + '_ {
        self.by_producer.iter().enumerate().flat_map(|(p, row)| {
            row.iter()
                .enumerate()
                .filter(|(_, s)| s.seen())
                .map(move |(seq, s)| (MsgId::new(p as u32, seq as u32), s))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testkit::{m, Hb};

    #[test]
    fn one_pass_summarises_each_message() {
        let h = Hb::new()
            .send(1_000, m(0, 2), 7)
            .send(2_000, m(0, 2), 7)
            .ack(3_000, m(0, 2))
            .deliver(4_000, m(0, 2))
            .deliver(5_000, m(0, 2))
            .effect(6_000, m(0, 2))
            .effect(7_000, m(0, 2))
            .timeout(8_000, m(1, 0))
            .ev(9_000, m(2, 1), 3, EventKind::Commit)
            .build();
        let t = Summaries::build(&h);
        let s = t.get(m(0, 2)).unwrap();
        assert_eq!((s.first_send, s.first_send_at_us), (0, 1_000));
        assert_eq!((s.first_effect, s.first_effect_at_us), (5, 6_000));
        assert_eq!((s.key, s.deliveries, s.effects), (7, 2, 2));
        assert!(s.sent() && s.acked() && !s.rejected() && !s.timed_out());
        assert!(!s.dropped() && s.has_effect());
        assert!(!s.appended());
        // Padding below a recorded seq is not a message.
        assert_eq!(t.get(m(0, 0)), None);
        assert_eq!(t.get(m(5, 0)), None);
        let ids: Vec<MsgId> = t.iter().map(|(id, _)| id).collect();
        assert_eq!(ids, vec![m(0, 2), m(1, 0), m(2, 1)]);
        assert_eq!(t.get(m(2, 1)).unwrap().key, 3);
        assert!(t.get(m(1, 0)).unwrap().timed_out());
    }

    #[test]
    fn appends_are_remembered() {
        let h = Hb::new()
            .send(1_000, m(0, 0), 1)
            .append(2_000, m(0, 0))
            .dead_letter(3_000, m(0, 0))
            .build();
        let s = *Summaries::build(&h).get(m(0, 0)).unwrap();
        assert!(s.appended());
        assert!(
            !Summaries::build(&Hb::new().send(1_000, m(0, 1), 1).build())
                .get(m(0, 1))
                .unwrap()
                .appended()
        );
    }
}

//! **Conservation of messages**: every message the workload created
//! (`History.created`) ends in exactly one *fate*, decided by [`fate`] from
//! the History alone, and the fates sum to `sent`. The count figures
//! `took_effect`, `lost`, `stranded`, `silently_dropped`, `expired`,
//! `dead_lettered`, `shed`, `abandoned` and `in_flight` are these fates, so
//! no figure can disagree with another about a message. What fails the run
//! (as a simulation failure: a bug of the model's records or of the
//! checkers, never a finding) is a record that contradicts itself: an id
//! the History names that was never created, a message the broker holds
//! that was never appended, one in a DLQ that was never dead-lettered, one
//! a producer holds after settling it, one that vanished from a producer
//! when no host crashed, a forward the next stage never confirmed, or the
//! fates not adding up to what was created.
//!
//! The rule, first match wins:
//!
//! | # | fate | the message … |
//! |---|---|---|
//! | 1 | took effect | has at least one `effect` (whatever else happened: a drop or a DLQ copy after it reached the store does not undo it) |
//! | 2 | expired | was dropped first for its time to live (`drop`, reason `expired`) |
//! | 3 | silently dropped | was dropped by a policy or limit (`max_lag`, `retention`, `overflow`), by its first `drop` |
//! | 4 | dead-lettered | is in a dead-letter queue at the end |
//! | 5 | stranded | is still held by the broker at the end (not yet consumed) |
//! | 6 | lost | was acked, and is none of the above: gone |
//! | 7 | shed | was refused with notice (`reject`, by its last reason) |
//! | 8 | abandoned, told | the producer gave up on it and said so (`timeout`: retries or delivery timeout exhausted) |
//! | 9 | in flight | a live producer still held it at the end |
//! | 10 | abandoned, not told | none of the above: it vanished with a producer that crashed holding it |
//!
//! Why this order: what reached the store counts first (the data is
//! there); then what the system chose to discard; then where the broker
//! still has it; only then what the producer heard. A message acked and
//! later dropped by retention after it took effect is *took effect* (and
//! counted in `dropped_then_applied`, so the History's drops can be
//! reconciled); one timed out by the producer and then consumed is *took
//! effect* (and `recovered`).

use super::{Count, Summaries, Summary};
use crate::history::{Created, History, MsgId, Reason};
use crate::metric::Metric;
use std::borrow::Cow;
use std::fmt::Write as _;

/// Where one created message ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Applied to the store at least once (for an earlier stage: forwarded
    /// to the next).
    TookEffect,
    /// Dropped first for its time to live.
    Expired,
    /// By the reason of its first `drop`.
    SilentlyDropped(Reason),
    /// In a dead-letter queue at the end, without an effect.
    DeadLettered,
    /// Still held by the broker at the end: a liveness failure.
    Stranded,
    /// Acked, and none of the above: gone.
    Lost,
    /// By the reason of its last `reject`.
    Shed(Reason),
    /// The producer gave up and told its caller (`timeout`).
    Abandoned,
    /// A live producer still held it at the end.
    InFlight,
    /// Gone with a crashed producer: nobody was told.
    AbandonedSilently,
}

/// What the broker and the producers still held at the end, for one id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Held {
    /// It is in a dead-letter queue.
    pub dead_letter: bool,
    /// A broker of the pipeline holds it.
    pub broker: bool,
    /// A live producer (or relay) holds it.
    pub producer: bool,
}

/// The conservation rule (module doc). `s` is `None` for a created message
/// no event names (buffered by a producer, never sent).
pub fn fate(s: Option<&Summary>, held: Held) -> Fate {
    let s = s.copied().unwrap_or(Summary::EMPTY);
    if s.has_effect() {
        return Fate::TookEffect;
    }
    match s.drop_reason() {
        Some(Reason::Expired) => return Fate::Expired,
        Some(reason) => return Fate::SilentlyDropped(reason),
        None => {}
    }
    if held.dead_letter {
        Fate::DeadLettered
    } else if held.broker {
        Fate::Stranded
    } else if s.acked() {
        Fate::Lost
    } else if let Some(reason) = s.reject_reason() {
        Fate::Shed(reason)
    } else if s.timed_out() {
        Fate::Abandoned
    } else if held.producer {
        Fate::InFlight
    } else {
        Fate::AbandonedSilently
    }
}

/// The fates of every created message, with the figures that explain them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Balance {
    /// Messages created (the sum of `History.created`).
    pub sent: u64,
    /// Applied at least once (for an earlier stage: forwarded).
    pub took_effect: Count,
    /// Of `took_effect`: applied more than once (ids, not repeats).
    pub more_than_once: Count,
    /// Of `took_effect`: a `drop` was recorded for it, yet it was applied
    /// (e.g. retention deleted it while the consumer was applying it).
    pub dropped_then_applied: Count,
    /// Dropped first for their time to live.
    pub expired: Count,
    /// Dropped first for `max_lag`, `retention` or `overflow`.
    pub silently_dropped: Count,
    /// `silently_dropped` by reason, in [`Reason::DROPS`] order (without
    /// `expired`, which is its own fate).
    pub dropped_by: Vec<(Reason, Count)>,
    /// In a dead-letter queue at the end.
    pub dead_lettered: Count,
    /// Held by the broker at the end.
    pub stranded: Count,
    /// Acked, then gone.
    pub lost: Count,
    /// Refused with notice.
    pub shed: Count,
    /// `shed` by reason, in [`Reason::REJECTS`] order.
    pub shed_by: Vec<(Reason, Count)>,
    /// Told and not told.
    pub abandoned: Count,
    /// Of `abandoned`: nobody was told (a producer crashed holding it).
    pub abandoned_silently: Count,
    /// Held by a live producer at the end.
    pub in_flight: Count,
    /// Effects for ids never created (counted here because the walk over
    /// ids the History names but `created` does not finds them).
    pub unexpected: Count,
    /// Why conservation does not hold; empty when it does. Anything here
    /// is a bug of the checkers or of the model's records, not a finding.
    pub violations: Vec<String>,
}

/// The reasons a silent drop is split by.
pub const SILENT_DROPS: [Reason; 3] = [Reason::MaxLag, Reason::Retention, Reason::Overflow];

/// Most violations listed (each names an id).
const MAX_VIOLATIONS: usize = 5;

impl Balance {
    /// The fates as count metrics (`Figures::counts` holds them with the
    /// other checkers' counts).
    pub fn counts(&self) -> impl Iterator<Item = (Metric, Count)> + '_ {
        [
            (Metric::TookEffect, &self.took_effect),
            (Metric::Lost, &self.lost),
            (Metric::Stranded, &self.stranded),
            (Metric::SilentlyDropped, &self.silently_dropped),
            (Metric::Expired, &self.expired),
            (Metric::Shed, &self.shed),
            (Metric::Abandoned, &self.abandoned),
            (Metric::AbandonedSilently, &self.abandoned_silently),
            (Metric::InFlight, &self.in_flight),
            (Metric::Unexpected, &self.unexpected),
            (Metric::DeadLettered, &self.dead_lettered),
        ]
        .into_iter()
        .map(|(m, c)| (m, c.clone()))
    }

    fn new() -> Balance {
        Balance {
            dropped_by: SILENT_DROPS.map(|r| (r, Count::default())).to_vec(),
            shed_by: Reason::REJECTS.map(|r| (r, Count::default())).to_vec(),
            ..Balance::default()
        }
    }

    fn add(&mut self, id: MsgId, fate: Fate) {
        let by = |v: &mut Vec<(Reason, Count)>, r: Reason| {
            if let Some((_, c)) = v.iter_mut().find(|(x, _)| *x == r) {
                c.add(id);
                true
            } else {
                false
            }
        };
        match fate {
            Fate::TookEffect => self.took_effect.add(id),
            Fate::Expired => self.expired.add(id),
            Fate::SilentlyDropped(r) => {
                self.silently_dropped.add(id);
                if !by(&mut self.dropped_by, r) {
                    self.violation(format!(
                        "{id} was dropped for `{}`, not a drop reason",
                        r.name()
                    ));
                }
            }
            Fate::DeadLettered => self.dead_lettered.add(id),
            Fate::Stranded => self.stranded.add(id),
            Fate::Lost => self.lost.add(id),
            Fate::Shed(r) => {
                self.shed.add(id);
                if !by(&mut self.shed_by, r) {
                    self.violation(format!(
                        "{id} was refused for `{}`, not a refusal reason",
                        r.name()
                    ));
                }
            }
            Fate::Abandoned => self.abandoned.add(id),
            Fate::AbandonedSilently => {
                self.abandoned.add(id);
                self.abandoned_silently.add(id);
            }
            Fate::InFlight => self.in_flight.add(id),
        }
    }

    fn violation(&mut self, v: String) {
        if self.violations.len() < MAX_VIOLATIONS {
            self.violations.push(v);
        }
    }

    /// The fates in report order with their counts (abandoned once, told
    /// and not told together).
    pub fn terms(&self) -> [(&'static str, &Count); 9] {
        [
            ("took effect", &self.took_effect),
            ("silently dropped", &self.silently_dropped),
            ("expired", &self.expired),
            ("dead-lettered", &self.dead_lettered),
            ("stranded", &self.stranded),
            ("lost", &self.lost),
            ("shed", &self.shed),
            ("abandoned", &self.abandoned),
            ("in flight", &self.in_flight),
        ]
    }

    /// Whether every created message has exactly one fate.
    pub fn holds(&self) -> bool {
        self.violations.is_empty()
    }

    /// `12000 sent = 10891 took effect + 1109 abandoned (1109 told)`: the
    /// fates that are not zero, with the reasons of drops and refusals.
    pub fn equation(&self) -> String {
        self.equation_as("took effect")
    }

    /// [`Balance::equation`] naming the first fate `effect` (a stage that
    /// hands messages on says "forwarded").
    pub fn equation_as(&self, effect: &str) -> String {
        let mut out = format!("{} sent =", self.sent);
        let mut first = true;
        for (name, c) in self.terms() {
            if c.n == 0 {
                continue;
            }
            let name = if name == "took effect" { effect } else { name };
            let _ = write!(out, "{} {} {name}", if first { "" } else { " +" }, c.n);
            first = false;
            let detail = match name {
                "silently dropped" => reasons(&self.dropped_by),
                "shed" => reasons(&self.shed_by),
                "abandoned" => {
                    let silent = self.abandoned_silently.n;
                    let told = c.n - silent;
                    match (told, silent) {
                        (_, 0) => format!("{told} told"),
                        (0, _) => format!("{silent} not told"),
                        _ => format!("{told} told, {silent} not told"),
                    }
                }
                _ => String::new(),
            };
            if !detail.is_empty() {
                let _ = write!(out, " ({detail})");
            }
        }
        if first {
            out.push_str(" 0");
        }
        out
    }
}

/// `max_lag 40, retention 2` for the reasons with a count.
fn reasons(by: &[(Reason, Count)]) -> String {
    let parts: Vec<String> = by
        .iter()
        .filter(|(_, c)| c.n > 0)
        .map(|(r, c)| format!("{} {}", r.name(), c.n))
        .collect();
    parts.join(", ")
}

/// Ids of a sorted list, visited in increasing order.
struct Cursor<'a> {
    ids: &'a [MsgId],
    next: usize,
}

impl<'a> Cursor<'a> {
    fn new(ids: &'a [MsgId]) -> Cursor<'a> {
        Cursor { ids, next: 0 }
    }

    /// Whether `id` is in the list; ids asked must not decrease.
    fn has(&mut self, id: MsgId) -> bool {
        while self.ids.get(self.next).is_some_and(|&x| x < id) {
            self.next += 1;
        }
        self.ids.get(self.next) == Some(&id)
    }
}

/// What a balance accounts for: the messages created (in runs sorted by
/// producer and seq) and what is still held at the end — by the broker, in
/// a dead-letter queue, by the producers — each sorted.
pub struct Ledger<'a> {
    /// The messages to account for, as runs sorted by producer and seq.
    pub created: Cow<'a, [Created]>,
    /// Ids the broker holds at the end.
    pub held: Cow<'a, [MsgId]>,
    /// Ids in a dead-letter queue at the end.
    pub dead_letters: &'a [MsgId],
    /// Ids a live producer (or relay) holds at the end.
    pub in_flight: &'a [MsgId],
    /// What the records must agree with (each a violation when not).
    pub rules: Rules,
}

/// Consistency rules between the inventory and the events: a model whose
/// records break one has a bug (or the checkers do), whatever fate the
/// message would get.
#[derive(Clone, Copy, Debug, Default)]
pub struct Rules {
    /// What the broker holds at the end was appended (the ledger's held ids
    /// are one broker's, whose appends the summaries read).
    pub held_was_appended: bool,
    /// A producer never holds a message it has settled (it does not send
    /// one again; a relay may).
    pub held_unsettled: bool,
    /// The run had a crash: without one, no producer can lose what it
    /// held, so "abandoned, not told" is a bug.
    pub crashes: bool,
}

impl Ledger<'_> {
    /// The whole pipeline: what the workload created; held by any stage.
    pub fn of(history: &History) -> Ledger<'_> {
        let inv = &history.inventory;
        let held = if inv.upstream_held.is_empty() {
            Cow::Borrowed(&inv.held[..])
        } else {
            let mut v: Vec<MsgId> = inv.held.iter().chain(&inv.upstream_held).copied().collect();
            v.sort_unstable();
            v.dedup();
            Cow::Owned(v)
        };
        Ledger {
            created: Cow::Borrowed(&history.created),
            held,
            dead_letters: &inv.dead_letters,
            in_flight: &inv.in_flight,
            rules: Rules {
                // End to end, the buffer's holdings were appended in its
                // stage, which this view does not read.
                held_was_appended: inv.upstream_held.is_empty(),
                held_unsettled: true,
                crashes: crashed(history),
            },
        }
    }

    fn was_created(&self, id: MsgId) -> bool {
        let i = self
            .created
            .partition_point(|c| (c.producer, c.end) <= (id.producer, id.seq));
        self.created.get(i).is_some_and(|c| c.contains(id))
    }

    fn count(&self) -> u64 {
        self.created.iter().map(Created::len).sum()
    }
}

/// Whether any host crashed in the run.
fn crashed(history: &History) -> bool {
    history.faults.iter().any(|f| f.kind == "crash")
}

/// Runs of consecutive ids out of a sorted list.
fn runs(ids: impl IntoIterator<Item = MsgId>) -> Vec<Created> {
    let mut out: Vec<Created> = Vec::new();
    for id in ids {
        match out.last_mut() {
            Some(c) if c.producer == id.producer && c.end == id.seq => c.end += 1,
            _ => out.push(Created {
                producer: id.producer,
                start: id.seq,
                end: id.seq + 1,
            }),
        }
    }
    out
}

/// Decides every created message's fate and checks that they add up, for
/// the whole pipeline; `each` sees every created message's summary (None
/// when no event names it) and fate, in id order.
pub fn balance(
    summaries: &Summaries,
    history: &History,
    each: impl FnMut(Option<&Summary>, Fate),
) -> Balance {
    balance_of(summaries, &Ledger::of(history), each)
}

/// One stage's own balance (of a pipeline with several, see
/// `Event::stage`): the first stage's messages are the workload's and
/// "took effect" means forwarded to the next; a later stage's are those the
/// relays published into it (or still hold), held being its own broker's.
pub fn stage_balance(history: &History, stage: u8) -> Balance {
    let summaries = Summaries::build_stage(history, stage);
    let inv = &history.inventory;
    let last = stage + 1 >= history.stage_count();
    let ledger = if stage == 0 {
        Ledger {
            created: Cow::Borrowed(&history.created),
            held: Cow::Borrowed(if last { &inv.held } else { &inv.upstream_held }),
            dead_letters: if last { &inv.dead_letters } else { &[] },
            in_flight: &inv.in_flight,
            rules: Rules {
                held_was_appended: true,
                held_unsettled: true,
                crashes: crashed(history),
            },
        }
    } else {
        // What the relays published, or hold to publish.
        let mut ids: Vec<MsgId> = (summaries.iter())
            .filter(|(_, s)| s.sent() || s.acked() || s.rejected() || s.timed_out())
            .map(|(id, _)| id)
            .chain(inv.relay_in_flight.iter().copied())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        Ledger {
            created: Cow::Owned(runs(ids)),
            held: Cow::Borrowed(&inv.held),
            dead_letters: &inv.dead_letters,
            in_flight: &inv.relay_in_flight,
            rules: Rules {
                held_was_appended: true,
                // A relay that lost its commit forwards a message again.
                held_unsettled: false,
                crashes: crashed(history),
            },
        }
    };
    let mut out = balance_of(&summaries, &ledger, |_, _| {});
    if stage > 0 {
        // What the previous stage forwarded, this one confirmed: a relay
        // records `forward` on the next stage's `ack`.
        let before = Summaries::build_stage(history, stage - 1);
        for (id, s) in before.iter() {
            if s.has_effect() && !summaries.get(id).is_some_and(Summary::acked) {
                out.violation(format!(
                    "{id} was forwarded by stage {} but stage {stage} never confirmed it",
                    stage - 1
                ));
            }
        }
    }
    out
}

fn balance_of(
    summaries: &Summaries,
    ledger: &Ledger,
    mut each: impl FnMut(Option<&Summary>, Fate),
) -> Balance {
    let mut out = Balance::new();
    out.sent = ledger.count();
    for (name, list) in [
        ("History.created", None),
        ("the final inventory's held ids", Some(&ledger.held[..])),
        (
            "the final inventory's dead letters",
            Some(ledger.dead_letters),
        ),
        ("the producers' final holdings", Some(ledger.in_flight)),
    ] {
        let sorted = match list {
            None => ledger
                .created
                .windows(2)
                .all(|w| (w[0].producer, w[0].end) <= (w[1].producer, w[1].start)),
            Some(ids) => ids.windows(2).all(|w| w[0] < w[1]),
        };
        if !sorted {
            out.violation(format!("{name} are not sorted and distinct"));
        }
    }
    if !out.holds() {
        return out;
    }
    let (mut dlq, mut broker, mut producer) = (
        Cursor::new(ledger.dead_letters),
        Cursor::new(&ledger.held),
        Cursor::new(ledger.in_flight),
    );
    let rows = summaries.producers();
    for run in ledger.created.iter() {
        let row = rows
            .get(run.producer as usize)
            .map_or(&[][..], Vec::as_slice);
        for seq in run.start..run.end {
            let id = MsgId::new(run.producer, seq);
            let s = row.get(seq as usize).filter(|s| s.seen());
            let held = Held {
                dead_letter: dlq.has(id),
                broker: broker.has(id),
                producer: producer.has(id),
            };
            let f = fate(s, held);
            let e = s.copied().unwrap_or(Summary::EMPTY);
            let settled = e.acked() || e.rejected() || e.timed_out();
            let rules = ledger.rules;
            let broken = if held.broker && rules.held_was_appended && !e.appended() {
                Some("is held by the broker at the end, but no append of it is recorded")
            } else if held.dead_letter && !e.dead_lettered() {
                Some("is in a dead-letter queue at the end, but was never dead-lettered")
            } else if held.producer && rules.held_unsettled && settled {
                Some("is held by a producer at the end, which had already settled it")
            } else if f == Fate::AbandonedSilently && !rules.crashes {
                Some("vanished from a producer, yet no host crashed in the run")
            } else {
                None
            };
            if let Some(why) = broken {
                out.violation(format!("{id} {why}"));
            }
            if let (Fate::TookEffect, Some(s)) = (f, s) {
                if s.effects > 1 {
                    out.more_than_once.add(id);
                }
                if s.dropped() {
                    out.dropped_then_applied.add(id);
                }
            }
            out.add(id, f);
            each(s, f);
        }
    }
    let total: u64 = out.terms().iter().map(|(_, c)| c.n).sum();
    if total != out.sent {
        out.violation(format!(
            "the fates add up to {total}, not to the {} messages created",
            out.sent
        ));
    }
    // Ids the History names that were never created: effects for them are
    // `unexpected` (a finding); anything else is a broken record.
    for (id, s) in summaries.iter() {
        if ledger.was_created(id) {
            continue;
        }
        if s.has_effect() {
            out.unexpected.add(id);
        } else {
            out.violation(format!("{id} has events but was never created"));
        }
    }
    for (name, ids) in [
        ("held by the broker", &ledger.held[..]),
        ("dead-lettered", ledger.dead_letters),
        ("held by a producer", ledger.in_flight),
    ] {
        if let Some(id) = ids.iter().find(|&&id| !ledger.was_created(id)) {
            out.violation(format!("{id} is {name} at the end but was never created"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::check;
    use crate::check::testkit::{assert_other_anomalies_zero, background, m, Hb};
    use crate::history::{Created, EventKind};
    use crate::metric::Metric;

    fn drop_for(h: Hb, at_us: u64, id: MsgId, reason: Reason) -> Hb {
        h.ev(at_us, id, 1, EventKind::Drop { reason })
    }

    #[test]
    fn an_acked_message_that_vanished_is_lost() {
        let h = background()
            .send(2_000, m(0, 1), 1)
            .ack(2_100, m(0, 1))
            .append(2_100, m(0, 1))
            // Still held: p1-7 is unrelated, so p0-1 is not stranded.
            .held(&[m(1, 7)])
            .create(m(1, 7))
            .append(1_500, m(1, 7))
            .build();
        let f = check(&h);
        assert_eq!(f.value(Metric::Lost), Some(1));
        assert_eq!(f.examples(Metric::Lost), &[m(0, 1)]);
        assert_eq!(f.balance.stranded.examples, vec![m(1, 7)]);
        assert_other_anomalies_zero(&f, &[Metric::Lost, Metric::Stranded]);
        assert!(f.balance.holds(), "{:?}", f.balance.violations);
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
        assert_eq!(f.value(Metric::Stranded), Some(2));
        assert_eq!(f.examples(Metric::Stranded), &[m(0, 1), m(0, 2)]);
        assert_other_anomalies_zero(&f, &[Metric::Stranded]);
    }

    #[test]
    fn a_message_dropped_by_a_policy_is_silently_dropped_by_its_reason() {
        let h = background()
            .send(2_000, m(1, 1), 2)
            .ack(2_100, m(1, 1))
            .append(2_100, m(1, 1))
            .drop_msg(3_000, m(1, 1))
            // Held or not, a dropped message is not stranded.
            .held(&[m(1, 1)]);
        let h = drop_for(
            h.send(2_000, m(1, 2), 2).ack(2_100, m(1, 2)),
            3_500,
            m(1, 2),
            Reason::Retention,
        );
        // Its first drop decides the reason.
        let h = drop_for(h, 3_600, m(1, 2), Reason::Overflow).build();
        let f = check(&h);
        assert_eq!(f.value(Metric::SilentlyDropped), Some(2));
        assert_eq!(f.examples(Metric::SilentlyDropped), &[m(1, 1), m(1, 2)]);
        let by: Vec<(Reason, u64)> = f
            .balance
            .dropped_by
            .iter()
            .map(|(r, c)| (*r, c.n))
            .collect();
        assert_eq!(
            by,
            vec![
                (Reason::MaxLag, 1),
                (Reason::Retention, 1),
                (Reason::Overflow, 0)
            ]
        );
        assert_other_anomalies_zero(&f, &[Metric::SilentlyDropped]);
    }

    #[test]
    fn a_dropped_message_with_an_effect_took_effect() {
        // Retention deleted it while the consumer was applying it.
        let h = background().clean(2_000, m(1, 1), 2, 30_000).build();
        let h = {
            let mut h = h;
            h.events.push(crate::history::Event {
                at_us: 10_000,
                id: m(1, 1),
                key: 2,
                kind: EventKind::Drop {
                    reason: Reason::Retention,
                },
                stage: 0,
            });
            h.events.sort_by_key(|e| e.at_us);
            h
        };
        let f = check(&h);
        assert_other_anomalies_zero(&f, &[]);
        assert_eq!(f.balance.took_effect.n, 3);
        assert_eq!(f.balance.dropped_then_applied.examples, vec![m(1, 1)]);
        assert_eq!(f.value(Metric::SilentlyDropped), Some(0));
    }

    #[test]
    fn a_rejected_message_is_shed_by_its_last_reason() {
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
            // Refused by its own producer's full buffer: never sent, yet
            // created, and shed.
            .ev(
                4_000,
                m(1, 5),
                3,
                EventKind::Reject {
                    reason: Reason::ProducerBufferFull,
                },
            )
            .build();
        let f = check(&h);
        assert_eq!(f.value(Metric::Shed), Some(2));
        assert_eq!(f.examples(Metric::Shed), &[m(0, 1), m(1, 5)]);
        let by: Vec<(Reason, u64)> = f.balance.shed_by.iter().map(|(r, c)| (*r, c.n)).collect();
        assert_eq!(by[0], (Reason::BreakerOpen, 1));
        assert_eq!(by[2], (Reason::ProducerBufferFull, 1));
        assert_other_anomalies_zero(&f, &[Metric::Shed]);
        assert_eq!(f.value(Metric::Sent), Some(5));
        assert_eq!(f.value(Metric::Acked), Some(3));
    }

    #[test]
    fn a_producer_that_gave_up_abandoned_the_message_and_said_so() {
        let h = background()
            .send(2_000, m(1, 1), 2)
            .timeout(3_000, m(1, 1))
            // Timed out, yet appended and applied: took effect (recovered).
            .send(2_000, m(1, 2), 2)
            .append(2_100, m(1, 2))
            .timeout(3_000, m(1, 2))
            .deliver(3_500, m(1, 2))
            .effect(4_000, m(1, 2))
            .build();
        let f = check(&h);
        assert_eq!(f.value(Metric::Abandoned), Some(1));
        assert_eq!(f.examples(Metric::Abandoned), &[m(1, 1)]);
        assert_eq!(f.value(Metric::AbandonedSilently), Some(0));
        assert_eq!(f.value(Metric::Recovered), Some(1));
        assert_other_anomalies_zero(&f, &[Metric::Abandoned, Metric::Recovered]);
        assert_eq!(
            f.balance.equation(),
            "4 sent = 3 took effect + 1 abandoned (1 told)"
        );
    }

    #[test]
    fn what_a_live_producer_holds_is_in_flight_and_what_a_crashed_one_held_is_abandoned_silently() {
        let h = background()
            // Created, never sent; p0-2 still buffered at the end.
            .create(m(0, 1))
            .create(m(0, 2))
            .in_flight(&[m(0, 2)])
            // Sent, no answer, the producer crashed.
            .send(2_000, m(0, 3), 1)
            .fault("crash", 2_500, 3_000)
            .build();
        let f = check(&h);
        assert_eq!(f.examples(Metric::InFlight), &[m(0, 2)]);
        assert_eq!(f.examples(Metric::AbandonedSilently), &[m(0, 1), m(0, 3)]);
        assert_eq!(f.value(Metric::Abandoned), Some(2));
        assert_other_anomalies_zero(
            &f,
            &[
                Metric::InFlight,
                Metric::Abandoned,
                Metric::AbandonedSilently,
            ],
        );
        assert!(f.balance.holds());
        assert_eq!(
            f.balance.equation(),
            "5 sent = 2 took effect + 2 abandoned (2 not told) + 1 in flight"
        );
    }

    #[test]
    fn an_expired_message_is_expired_not_dropped() {
        let h = background().send(2_000, m(0, 1), 1).ack(2_100, m(0, 1));
        let h = drop_for(h.append(2_100, m(0, 1)), 9_000, m(0, 1), Reason::Expired).build();
        let f = check(&h);
        assert_eq!(f.examples(Metric::Expired), &[m(0, 1)]);
        assert_other_anomalies_zero(&f, &[Metric::Expired]);
    }

    #[test]
    fn the_fates_partition_the_created_messages() {
        // One message of each fate; every fate counts its one id.
        let h = background()
            .clean(2_000, m(2, 0), 1, 5_000)
            .send(2_000, m(2, 1), 1)
            .ack(2_100, m(2, 1))
            .drop_msg(3_000, m(2, 1))
            .send(2_000, m(2, 2), 1)
            .ack(2_100, m(2, 2))
            .dead_letter(3_000, m(2, 2))
            .send(2_000, m(2, 3), 1)
            .ack(2_100, m(2, 3))
            .append(2_100, m(2, 3))
            .send(2_000, m(2, 4), 1)
            .ack(2_100, m(2, 4))
            .send(2_000, m(2, 5), 1)
            .reject(2_100, m(2, 5))
            .send(2_000, m(2, 6), 1)
            .timeout(2_100, m(2, 6))
            .create(m(2, 7))
            .create(m(2, 8))
            .held(&[m(2, 3)])
            .in_flight(&[m(2, 7)])
            .fault("crash", 2_500, 3_000);
        let h = drop_for(
            h.send(2_000, m(2, 9), 1).ack(2_100, m(2, 9)),
            3_000,
            m(2, 9),
            Reason::Expired,
        )
        .build();
        let b = check(&h).balance;
        assert!(b.holds(), "{:?}", b.violations);
        assert_eq!(b.sent, 12);
        let got: Vec<(&str, Vec<MsgId>)> = b
            .terms()
            .iter()
            .map(|(name, c)| (*name, c.examples.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("took effect", vec![m(0, 0), m(1, 0), m(2, 0)]),
                ("silently dropped", vec![m(2, 1)]),
                ("expired", vec![m(2, 9)]),
                ("dead-lettered", vec![m(2, 2)]),
                ("stranded", vec![m(2, 3)]),
                ("lost", vec![m(2, 4)]),
                ("shed", vec![m(2, 5)]),
                ("abandoned", vec![m(2, 6), m(2, 8)]),
                ("in flight", vec![m(2, 7)]),
            ]
        );
        assert_eq!(b.abandoned_silently.examples, vec![m(2, 8)]);
    }

    #[test]
    fn a_broken_record_is_a_violation_not_a_figure() {
        // Events for an id nobody created, without an effect.
        let mut h = background().build();
        h.events.push(crate::history::Event {
            at_us: 5_000,
            id: m(7, 1),
            key: 0,
            kind: EventKind::Deliver {
                consumer: 0,
                attempt: 1,
            },
            stage: 0,
        });
        let b = check(&h).balance;
        assert_eq!(b.violations, vec!["p7-1 has events but was never created"]);
        // An id held at the end that was never created.
        let mut h = background().build();
        h.inventory.held = vec![m(0, 9)];
        let b = check(&h).balance;
        assert_eq!(
            b.violations,
            vec!["p0-9 is held by the broker at the end but was never created"]
        );
        // Overlapping created runs.
        let mut h = background().build();
        h.created = vec![
            Created {
                producer: 0,
                start: 0,
                end: 2,
            },
            Created {
                producer: 0,
                start: 1,
                end: 3,
            },
        ];
        let b = check(&h).balance;
        assert_eq!(
            b.violations,
            vec!["History.created are not sorted and distinct"]
        );
        // Held by the broker without an append; in the DLQ without a
        // dead_letter; held by a producer that settled it; vanished from a
        // producer with no crash in the run.
        let mut h = background()
            .send(2_000, m(0, 1), 1)
            .ack(2_100, m(0, 1))
            .send(2_000, m(0, 2), 1)
            .ack(2_100, m(0, 2))
            .append(2_100, m(0, 2))
            .send(2_000, m(0, 3), 1)
            .timeout(2_100, m(0, 3))
            .create(m(0, 4))
            .held(&[m(0, 1)])
            .build();
        h.inventory.dead_letters = vec![m(0, 2)];
        h.inventory.in_flight = vec![m(0, 3)];
        let b = check(&h).balance;
        assert_eq!(
            b.violations,
            vec![
                "p0-1 is held by the broker at the end, but no append of it is recorded",
                "p0-2 is in a dead-letter queue at the end, but was never dead-lettered",
                "p0-3 is held by a producer at the end, which had already settled it",
                "p0-4 vanished from a producer, yet no host crashed in the run",
            ]
        );
    }

    #[test]
    fn an_effect_for_a_message_never_created_is_unexpected() {
        let h = Hb::new()
            .clean(0, m(0, 0), 1, 5_000)
            .clean(1_000, m(1, 0), 2, 5_000)
            // Delivered and applied, never created.
            .deliver(3_000, m(3, 9))
            .effect(4_000, m(3, 9))
            .build();
        let f = check(&h);
        assert_eq!(f.value(Metric::Unexpected), Some(1));
        assert_eq!(f.examples(Metric::Unexpected), &[m(3, 9)]);
        assert_other_anomalies_zero(&f, &[Metric::Unexpected]);
        assert_eq!(f.value(Metric::Sent), Some(2));
        assert!(f.balance.holds());
        // Not sent: no latency for it (latencies are 5 ms each).
        assert_eq!(f.latency_ms.map(|l| l.max), Some(5));
    }

    #[test]
    fn each_stage_balances_and_a_forward_must_be_confirmed_by_the_next() {
        // Two stages: p0-0 through both; p0-1 forwarded by the buffer, but
        // the queue has no record of it.
        let mut h = Hb::new().clean(0, m(0, 0), 1, 5_000).build();
        h.stages = vec!["buffer".into(), "queue".into()];
        for e in &mut h.events {
            // The producer's side in the buffer's stage, the rest the queue's.
            if !matches!(e.kind, EventKind::Send { .. } | EventKind::Ack) {
                e.stage = 1;
            }
        }
        let at = |at_us, id, kind, stage| crate::history::Event {
            at_us,
            id,
            key: 1,
            kind,
            stage,
        };
        h.events.extend([
            at(100, m(0, 0), EventKind::Forward, 0),
            at(90, m(0, 0), EventKind::Send { attempt: 1 }, 1),
            at(95, m(0, 0), EventKind::Ack, 1),
            at(200, m(0, 1), EventKind::Send { attempt: 1 }, 0),
            at(300, m(0, 1), EventKind::Ack, 0),
            at(400, m(0, 1), EventKind::Forward, 0),
        ]);
        h.events.sort_by_key(|e| e.at_us);
        h.created = vec![Created {
            producer: 0,
            start: 0,
            end: 2,
        }];
        let buffer = stage_balance(&h, 0);
        assert!(buffer.holds(), "{:?}", buffer.violations);
        assert_eq!(buffer.equation_as("forwarded"), "2 sent = 2 forwarded");
        let queue = stage_balance(&h, 1);
        assert_eq!(
            queue.violations,
            vec!["p0-1 was forwarded by stage 0 but stage 1 never confirmed it"]
        );
        // End to end: the producer's ack and the store's effect decide.
        let f = check(&h);
        assert_eq!(f.balance.equation(), "2 sent = 1 took effect + 1 lost");
        assert_eq!(f.stages.len(), 2);
    }
}

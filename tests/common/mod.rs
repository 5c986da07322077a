//! Helpers shared by the integration tests (each test file that needs them
//! says `mod common;`).

use harness::scenario::Metric;

/// Runs `f` over `items` on two threads (CI has two cores), in order.
pub fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut out: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let Some(item) = items.get(i) else {
                            return mine;
                        };
                        mine.push((i, f(item)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a worker panicked"))
            .collect()
    });
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

/// Recounts every created message's fate from the raw History, by a second
/// and simpler implementation of the rule in `harness::check::fate` (maps
/// instead of the checkers' dense tables and cursors), and requires the
/// same counts, conservation (the fates sum to `sent`), and that no message
/// with an effect is counted as dropped or expired.
#[allow(dead_code)]
pub fn assert_accounted(run: &harness::Run, what: &str) {
    use harness::history::Reason;
    use harness::EventKind;
    use std::collections::{BTreeMap, BTreeSet};

    #[derive(Default)]
    struct Seen {
        effects: u32,
        acked: bool,
        timed_out: bool,
        reject: Option<Reason>,
        drop: Option<Reason>,
    }
    let h = &run.history;
    let b = &run.figures.balance;
    assert!(b.holds(), "{what}: conservation broken: {:?}", b.violations);
    let mut seen: BTreeMap<harness::MsgId, Seen> = BTreeMap::new();
    for e in &h.events {
        let s = seen.entry(e.id).or_default();
        match e.kind {
            EventKind::Effect { .. } => s.effects += 1,
            EventKind::Ack => s.acked = true,
            EventKind::Timeout => s.timed_out = true,
            EventKind::Reject { reason } => s.reject = Some(reason),
            EventKind::Drop { reason } => {
                s.drop.get_or_insert(reason);
            }
            _ => {}
        }
    }
    let set = |v: &[harness::MsgId]| v.iter().copied().collect::<BTreeSet<_>>();
    let (held, dlq, producers) = (
        set(&h.inventory.held),
        set(&h.inventory.dead_letters),
        set(&h.inventory.in_flight),
    );
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    let mut sent = 0u64;
    for c in &h.created {
        for seq in c.start..c.end {
            sent += 1;
            let id = harness::MsgId::new(c.producer, seq);
            let none = Seen::default();
            let s = seen.get(&id).unwrap_or(&none);
            let fate = if s.effects > 0 {
                "took_effect"
            } else if s.drop == Some(Reason::Expired) {
                "expired"
            } else if s.drop.is_some() {
                "silently_dropped"
            } else if dlq.contains(&id) {
                "dead_lettered"
            } else if held.contains(&id) {
                "stranded"
            } else if s.acked {
                "lost"
            } else if s.reject.is_some() {
                "shed"
            } else if s.timed_out || !producers.contains(&id) {
                "abandoned"
            } else {
                "in_flight"
            };
            *counts.entry(fate).or_default() += 1;
        }
    }
    let o = &run.outcome.counts;
    let got = [
        ("took_effect", o[Metric::TookEffect]),
        ("expired", o[Metric::Expired]),
        ("silently_dropped", o[Metric::SilentlyDropped]),
        ("dead_lettered", o[Metric::DeadLettered]),
        ("stranded", o[Metric::Stranded]),
        ("lost", o[Metric::Lost]),
        ("shed", o[Metric::Shed]),
        ("abandoned", o[Metric::Abandoned]),
        ("in_flight", o[Metric::InFlight]),
    ];
    for (name, n) in got {
        assert_eq!(
            counts.get(name).copied().unwrap_or(0),
            n,
            "{what}: {name} recounted from the History differs"
        );
    }
    assert_eq!(sent, o[Metric::Sent], "{what}: sent");
    assert_eq!(
        got.iter().map(|(_, n)| n).sum::<u64>(),
        o[Metric::Sent],
        "{what}: the fates do not sum to sent"
    );
    // No message both dropped (or expired) and counted as having taken effect.
    let dropped_without_effect = (seen.values())
        .filter(|s| s.drop.is_some() && s.effects == 0)
        .count() as u64;
    assert_eq!(
        dropped_without_effect,
        o[Metric::SilentlyDropped] + o[Metric::Expired],
        "{what}: drops without an effect"
    );
}

//! `trace.json` (`--trace`): the History in Chrome's trace-event format, which
//! the Perfetto UI (ui.perfetto.dev) and chrome://tracing open. One process
//! track per host (`producer-0`, `consumer-1`, `store-2`), the partitions'
//! logs, and the faults:
//!
//! - a producer's `publish` span runs from a message's first `send` to its
//!   answer (`ack`, `reject`, `timeout`);
//! - a consumer's `handle` span from a `deliver` to the message's next
//!   `effect`, unless the message was delivered again first (then, as
//!   when no effect followed at all, an instant `deliver (no effect)`);
//! - `append` and `drop` are instants on the partition's thread, `effect`
//!   on the store's;
//! - each fault window is a span on the `faults` track, each breaker's
//!   open and half-open stretches spans on its consumer.
//!
//! Spans of many messages overlap, so they are async events (`b`/`e`) with
//! a process-local id (`id2.local`: the message id), which Perfetto files
//! under the host's process; a plain `id` would put them on global tracks.
//! Timestamps are simulated microseconds.

use crate::history::{BreakerState, EventKind, History, MsgId};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Process ids of the tracks (Perfetto orders process tracks by its own rules).
struct Pids {
    faults: u32,
    producers: BTreeMap<u32, u32>,
    partitions: u32,
    consumers: BTreeMap<u32, u32>,
    stores: BTreeMap<u32, u32>,
}

impl Pids {
    fn of(h: &History) -> Pids {
        let (mut producers, mut consumers, mut stores) =
            (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
        for e in &h.events {
            match e.kind {
                EventKind::Send { .. } => {
                    producers.insert(e.id.producer);
                }
                EventKind::Deliver { consumer, .. } => {
                    consumers.insert(consumer);
                }
                EventKind::Effect { store } => {
                    stores.insert(store);
                }
                _ => {}
            }
        }
        for b in &h.breakers {
            consumers.insert(b.consumer);
            stores.insert(b.store);
        }
        let mut next = 1;
        let mut number = |set: BTreeSet<u32>| -> BTreeMap<u32, u32> {
            set.into_iter()
                .map(|i| {
                    next += 1;
                    (i, next)
                })
                .collect()
        };
        let producers = number(producers);
        let consumers = number(consumers);
        let stores = number(stores);
        Pids {
            faults: 1,
            producers,
            partitions: next + 1,
            consumers,
            stores,
        }
    }
}

fn meta(events: &mut Vec<Value>, pid: u32, name: &str, sort: u32) {
    events.push(
        json!({"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "args": {"name": name}}),
    );
    events.push(json!({"ph": "M", "name": "process_sort_index", "pid": pid, "tid": 0, "args": {"sort_index": sort}}));
}

fn thread(events: &mut Vec<Value>, pid: u32, tid: u32, name: &str) {
    events.push(
        json!({"ph": "M", "name": "thread_name", "pid": pid, "tid": tid, "args": {"name": name}}),
    );
}

fn span(
    events: &mut Vec<Value>,
    cat: &str,
    id: String,
    pid: u32,
    start: u64,
    end: u64,
    args: Value,
) {
    let id2 = json!({"local": id});
    events.push(json!({"ph": "b", "cat": cat, "name": cat, "id2": id2, "pid": pid, "tid": 0, "ts": start, "args": args}));
    events.push(
        json!({"ph": "e", "cat": cat, "name": cat, "id2": id2, "pid": pid, "tid": 0, "ts": end}),
    );
}

fn instant(events: &mut Vec<Value>, name: &str, pid: u32, tid: u32, ts: u64, args: Value) {
    events.push(
        json!({"ph": "i", "s": "t", "name": name, "pid": pid, "tid": tid, "ts": ts, "args": args}),
    );
}

/// A delivery that no effect followed: an instant on its consumer.
fn no_effect(events: &mut Vec<Value>, pids: &Pids, id: MsgId, at: u64, consumer: u32, n: u32) {
    let args = json!({"id": id.to_string(), "delivery": n});
    instant(
        events,
        "deliver (no effect)",
        pids.consumers[&consumer],
        1,
        at,
        args,
    );
}

/// `trace.json` of `h`, titled `title`: the History as Chrome trace events
/// (module doc).
pub fn trace_json(h: &History, title: &str) -> String {
    let pids = Pids::of(h);
    let mut events: Vec<Value> = Vec::new();
    meta(&mut events, pids.faults, "faults", 0);
    for (i, pid) in &pids.producers {
        meta(&mut events, *pid, &format!("producer-{i}"), *pid);
    }
    meta(&mut events, pids.partitions, "partitions", pids.partitions);
    for (i, pid) in &pids.consumers {
        meta(&mut events, *pid, &format!("consumer-{i}"), *pid);
    }
    for (i, pid) in &pids.stores {
        meta(&mut events, *pid, &format!("store-{i}"), *pid);
    }

    for f in &h.faults {
        let tid = f.index as u32 + 1;
        thread(
            &mut events,
            pids.faults,
            tid,
            &format!("fault[{}] {}", f.index, f.kind),
        );
        events.push(json!({"ph": "X", "name": f.kind, "pid": pids.faults, "tid": tid, "ts": f.start_us, "dur": f.end_us.saturating_sub(f.start_us), "args": {"fault": f.index}}));
    }

    // Per message: the open publish span (start, attempts) and the open
    // deliveries (start, consumer, delivery number).
    let mut publishing: BTreeMap<MsgId, (u64, u32)> = BTreeMap::new();
    let mut handling: BTreeMap<MsgId, (u64, u32, u32)> = BTreeMap::new();
    let mut deliveries: BTreeMap<MsgId, u32> = BTreeMap::new();
    let mut partition_of: BTreeMap<MsgId, u32> = BTreeMap::new();
    let mut partitions: BTreeSet<u32> = BTreeSet::new();
    let mut store_threads: BTreeSet<u32> = BTreeSet::new();
    for e in h.events.iter().filter(|e| h.end_to_end(e)) {
        let id = e.id;
        match e.kind {
            EventKind::Forward => {}
            EventKind::Send { attempt } => {
                let p = publishing.entry(id).or_insert((e.at_us, 0));
                p.1 = p.1.max(attempt);
            }
            EventKind::Ack | EventKind::Reject { .. } | EventKind::Timeout => {
                if let Some((start, attempts)) = publishing.remove(&id) {
                    let pid = pids.producers[&id.producer];
                    let mut args = json!({"id": id.to_string(), "key": e.key, "attempts": attempts, "outcome": e.kind.verb()});
                    if let EventKind::Reject { reason } = e.kind {
                        args["reason"] = json!(reason.name());
                    }
                    span(
                        &mut events,
                        "publish",
                        id.to_string(),
                        pid,
                        start,
                        e.at_us,
                        args,
                    );
                }
            }
            EventKind::Append { partition, offset } => {
                partition_of.insert(id, partition);
                partitions.insert(partition);
                instant(
                    &mut events,
                    "append",
                    pids.partitions,
                    partition + 1,
                    e.at_us,
                    json!({"id": id.to_string(), "offset": offset}),
                );
            }
            EventKind::Drop { reason } => {
                let tid = partition_of.get(&id).map_or(0, |p| p + 1);
                instant(
                    &mut events,
                    "drop",
                    pids.partitions,
                    tid,
                    e.at_us,
                    json!({"id": id.to_string(), "reason": reason.name()}),
                );
            }
            EventKind::DeadLetter { attempts } => {
                let tid = partition_of.get(&id).map_or(0, |p| p + 1);
                instant(
                    &mut events,
                    "dead_letter",
                    pids.partitions,
                    tid,
                    e.at_us,
                    json!({"id": id.to_string(), "attempts": attempts}),
                );
            }
            EventKind::Deliver { consumer, .. } => {
                let n = deliveries.entry(id).or_insert(0);
                *n += 1;
                // A redelivery means the earlier one ended without an
                // effect (a crash, a revoked partition): the next effect is
                // the latest delivery's.
                if let Some((start, consumer, n)) = handling.insert(id, (e.at_us, consumer, *n)) {
                    no_effect(&mut events, &pids, id, start, consumer, n);
                }
            }
            EventKind::Effect { store } => {
                store_threads.insert(store);
                instant(
                    &mut events,
                    "effect",
                    pids.stores[&store],
                    1,
                    e.at_us,
                    json!({"id": id.to_string(), "key": e.key}),
                );
                if let Some((start, consumer, n)) = handling.remove(&id) {
                    span(
                        &mut events,
                        "handle",
                        format!("{id}/{n}"),
                        pids.consumers[&consumer],
                        start,
                        e.at_us,
                        json!({"id": id.to_string(), "key": e.key, "delivery": n, "store": format!("store-{store}")}),
                    );
                }
            }
            EventKind::Commit => {}
        }
    }
    // Deliveries that no effect followed, and publishes never answered.
    for (id, (start, consumer, n)) in handling {
        no_effect(&mut events, &pids, id, start, consumer, n);
    }
    for (id, (start, attempts)) in publishing {
        instant(
            &mut events,
            "send (no answer)",
            pids.producers[&id.producer],
            1,
            start,
            json!({"id": id.to_string(), "attempts": attempts}),
        );
    }
    thread(&mut events, pids.partitions, 0, "unknown partition");
    for p in partitions {
        thread(
            &mut events,
            pids.partitions,
            p + 1,
            &format!("partition {p}"),
        );
    }
    for pid in pids.consumers.values().chain(pids.producers.values()) {
        thread(&mut events, *pid, 1, "events");
    }
    for s in store_threads {
        thread(&mut events, pids.stores[&s], 1, "effects");
    }

    // Breakers: each (consumer, store) breaker's non-closed stretches.
    let mut state: BTreeMap<(u32, u32), (BreakerState, u64)> = BTreeMap::new();
    let breaker_span = |events: &mut Vec<Value>,
                        (consumer, store): (u32, u32),
                        s: BreakerState,
                        from: u64,
                        to: u64| {
        if s != BreakerState::Closed {
            let pid = pids.consumers[&consumer];
            events.push(json!({"ph": "X", "name": format!("store-{store} {}", s.name()), "pid": pid, "tid": 1000 + store, "ts": from, "dur": to.saturating_sub(from), "args": {"store": format!("store-{store}"), "state": s.name()}}));
        }
    };
    for b in &h.breakers {
        let key = (b.consumer, b.store);
        if let Some((s, from)) = state.insert(key, (b.to, b.at_us)) {
            breaker_span(&mut events, key, s, from, b.at_us);
        } else {
            thread(
                &mut events,
                pids.consumers[&b.consumer],
                1000 + b.store,
                &format!("breaker store-{}", b.store),
            );
        }
    }
    for (key, (s, from)) in state {
        breaker_span(&mut events, key, s, from, h.end_us.max(from));
    }

    let mut out = String::with_capacity(events.len() * 140);
    out.push_str("{\"displayTimeUnit\":\"ms\",\"otherData\":");
    out.push_str(
        &json!({"title": title, "clock": "simulated microseconds since the run started"})
            .to_string(),
    );
    out.push_str(",\"traceEvents\":[\n");
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            out.push_str(",\n");
        }
        out.push_str(&e.to_string());
    }
    out.push_str("\n]}\n");
    out
}

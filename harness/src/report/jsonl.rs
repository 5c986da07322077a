//! `history.jsonl` (`--history`): the whole History, one JSON object per
//! line in time order, for `jq` and friends. Message events carry `id` as
//! text (`"p0-12"`, as in every report) and their fields flat; fault windows
//! and breaker transitions are lines of their own (`fault_start`,
//! `fault_end`, `breaker`) so a reader sees what the system was going
//! through next to each message. Hosts are numbers as in the History
//! (`consumer: 1` is host `consumer-1`). Gauge samples and the final
//! inventory are left to `report.html` and `report.json`.

use crate::history::{Event, EventKind, History};
use serde::Serialize;
use std::fmt::Write as _;

#[derive(Serialize)]
struct MessageLine<'a> {
    at_us: u64,
    id: String,
    key: u32,
    /// The pipeline stage that recorded it, written only for a later
    /// stage (with a `[buffer]`: 1, the queue's side).
    #[serde(skip_serializing_if = "is_zero")]
    stage: u8,
    #[serde(flatten)]
    kind: &'a EventKind,
}

fn is_zero(stage: &u8) -> bool {
    *stage == 0
}

#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum OtherLine<'a> {
    FaultStart {
        at_us: u64,
        fault: usize,
        name: &'a str,
    },
    FaultEnd {
        at_us: u64,
        fault: usize,
        name: &'a str,
    },
    Breaker {
        at_us: u64,
        consumer: u32,
        store: u32,
        to: &'static str,
    },
}

/// `history.jsonl`: every event of `h`, one JSON object per line in time
/// order, with fault and breaker lines before the events of their
/// microsecond.
pub fn history_jsonl(h: &History) -> String {
    // Faults and breakers first within a microsecond: they explain what
    // follows.
    let mut others: Vec<(u64, String)> = Vec::new();
    for f in &h.faults {
        others.push((
            f.start_us,
            line(&OtherLine::FaultStart {
                at_us: f.start_us,
                fault: f.index,
                name: &f.kind,
            }),
        ));
        others.push((
            f.end_us,
            line(&OtherLine::FaultEnd {
                at_us: f.end_us,
                fault: f.index,
                name: &f.kind,
            }),
        ));
    }
    for b in &h.breakers {
        others.push((
            b.at_us,
            line(&OtherLine::Breaker {
                at_us: b.at_us,
                consumer: b.consumer,
                store: b.store,
                to: b.to.name(),
            }),
        ));
    }
    others.sort_by_key(|(at, _)| *at);
    let mut out = String::with_capacity(h.events.len() * 80);
    let mut next = others.iter().peekable();
    for e in &h.events {
        while let Some((_, l)) = next.next_if(|(at, _)| *at <= e.at_us) {
            out.push_str(l);
        }
        out.push_str(&message_line(e));
    }
    for (_, l) in next {
        out.push_str(l);
    }
    out
}

fn message_line(e: &Event) -> String {
    line(&MessageLine {
        at_us: e.at_us,
        id: e.id.to_string(),
        key: e.key,
        stage: e.stage,
        kind: &e.kind,
    })
}

fn line<T: Serialize>(v: &T) -> String {
    let mut s = serde_json::to_string(v).expect("history lines serialise");
    let _ = writeln!(s);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{BreakerState, BreakerTransition, FaultWindow, MsgId};

    #[test]
    fn one_object_per_line_in_time_order() {
        let ev = |at_us, kind| Event {
            at_us,
            id: MsgId::new(0, 7),
            key: 3,
            kind,
            stage: 0,
        };
        let h = History {
            events: vec![
                ev(10, EventKind::Send { attempt: 1 }),
                ev(30, EventKind::Effect { store: 2 }),
            ],
            faults: vec![FaultWindow {
                index: 0,
                kind: "crash".into(),
                start_us: 20,
                end_us: 40,
            }],
            breakers: vec![BreakerTransition {
                at_us: 30,
                consumer: 1,
                store: 2,
                to: BreakerState::Open,
            }],
            ..History::default()
        };
        let text = history_jsonl(&h);
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let kinds: Vec<&str> = lines.iter().map(|l| l["kind"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            ["send", "fault_start", "breaker", "effect", "fault_end"]
        );
        assert_eq!(lines[0]["id"], "p0-7");
        assert_eq!(lines[0]["attempt"], 1);
        assert_eq!(lines[3]["store"], 2);
        assert_eq!(lines[2]["to"], "open");
    }
}

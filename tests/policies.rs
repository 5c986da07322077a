//! Lag policies end to end: the Discord compaction-storm replay under each
//! policy for seeds 1..=10 (one `compare` of all of them), the comparison
//! table pinned for seed 1, and each policy's mechanism traced in the
//! History on a small storm (what was dropped, shed or held back, and the
//! breakers' transitions).

use harness::compare::{compare, Comparison, PolicyRuns};
use harness::history::BreakerState;
use harness::model::Model;
use harness::scenario::Metric;
use harness::scenario::{self, Overrides, PolicyKind, Scenario};
use harness::{EventKind, History, Reason};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
}

fn pipeline() -> Box<dyn Model> {
    Box::new(models::Pipeline::new())
}

/// The scenario `text` (named `file` in messages) under each policy.
fn under_every_policy(file: &Path, text: &str) -> Vec<(PolicyKind, Scenario)> {
    PolicyKind::ALL
        .iter()
        .map(|&k| {
            let o = Overrides {
                policy: Some(k),
                scale: None,
                ..Overrides::default()
            };
            let sc = scenario::parse_with(file, text, &o).unwrap_or_else(|e| panic!("{e}"));
            (k, sc)
        })
        .collect()
}

#[test]
fn discord_storm_silent_drop_drops_and_the_breaker_does_not_for_seeds_1_to_10() {
    let file = shipped("discord-compaction-storm.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let scenarios = under_every_policy(&file, &text);
    let seeds: Vec<u64> = (1..=10).collect();
    let stop = AtomicBool::new(false);
    let c = compare(
        "discord",
        &scenarios,
        &seeds,
        2,
        None,
        &pipeline,
        &stop,
        |_| {},
    );
    assert!(!c.partial);
    // Pinned as tests/scenarios.rs pins every other shipped scenario's.
    let hashes: String = (c.policies.iter())
        .flat_map(|p| p.runs.iter().filter(|r| r.seed <= 3).map(move |r| (p, r)))
        .map(|(p, r)| {
            let o = r.result.as_ref().unwrap_or_else(|e| panic!("{e}"));
            format!("{} seed {}: {}\n", p.policy.name(), r.seed, o.history_hash)
        })
        .collect();
    insta::assert_snapshot!("discord-history-hashes-seeds-1-to-3", hashes);
    for p in &c.policies {
        assert_eq!(p.runs.len(), 10);
        for r in &p.runs {
            let at = format!("{} seed {}", p.policy.name(), r.seed);
            let o = r.result.as_ref().unwrap_or_else(|e| panic!("{at}: {e}"));
            let failed: Vec<_> = o.expectations.iter().filter(|e| !e.passed).collect();
            assert!(failed.is_empty(), "{at}: {failed:?}");
            let n = &o.counts;
            assert_eq!(n[Metric::Lost], 0, "{at}");
            match p.policy {
                PolicyKind::SilentDrop => {
                    assert!(n[Metric::SilentlyDropped] > 1000, "{at}: {n:?}");
                }
                PolicyKind::CircuitBreaker => {
                    assert_eq!(n[Metric::SilentlyDropped], 0, "{at}");
                    assert!(o.breaker_trips > 0, "{at}: the breakers never opened");
                    // Lag bounded and back to baseline within the drain.
                    assert!(o.recovery_ms.is_some(), "{at}: never recovered");
                    assert_eq!(n[Metric::Stranded], 0, "{at}");
                }
                PolicyKind::Backpressure | PolicyKind::Unbounded => {
                    assert_eq!(n[Metric::SilentlyDropped], 0, "{at}");
                }
                PolicyKind::Custom(name) => panic!("{at}: no policy {name} was asked for"),
            }
        }
    }
    // The breaker keeps lag well below what the unprotected pipeline reaches.
    let max_lag = |k: PolicyKind| {
        let p = c.policies.iter().find(|p| p.policy == k).unwrap();
        p.runs
            .iter()
            .map(|r| r.result.as_ref().unwrap().lag.max_messages)
            .max()
            .unwrap()
    };
    assert!(max_lag(PolicyKind::CircuitBreaker) * 2 < max_lag(PolicyKind::Unbounded));
    assert_eq!(c.exit_code(), 0);

    // The table of seed 1, as `mqsim compare … --seed 1` prints it.
    let one = Comparison {
        seeds: vec![1],
        policies: c
            .policies
            .iter()
            .map(|p| PolicyRuns {
                policy: p.policy,
                runs: p.runs.iter().filter(|r| r.seed == 1).cloned().collect(),
            })
            .collect(),
        file: "scenarios/discord-compaction-storm.toml".to_string(),
        ..c.clone()
    };
    insta::assert_snapshot!(
        "discord_compare_seed_1",
        harness::report::text::comparison(
            &one,
            "mqsim compare scenarios/discord-compaction-storm.toml --seed 1"
        )
    );
    // JSON: one seed keeps the run contract per policy.
    let v: serde_json::Value =
        serde_json::from_str(&harness::report::json::comparison(&one)).unwrap();
    assert!(v["policies"]["silent_drop"]["counts"]["silently_dropped"].as_u64() > Some(1000));
    assert_eq!(
        v["policies"]["circuit_breaker"]["counts"]["silently_dropped"],
        0
    );
    assert_eq!(v["policies"]["circuit_breaker"]["counts"]["lost"], 0);
    assert_eq!(
        v["policies"]["circuit_breaker"]["policy"],
        "circuit_breaker"
    );
}

/// A storm small enough to run in a second: one of two store nodes (each
/// key on both) answers 100 times slower for 6 s.
const SMALL: &str = r#"
name = "small-storm"
summary = "one slow store node"
duration = "10s"
drain = "15s"

[topology]
brokers = 1
partitions = 4
stores = 2
store_replication = 2

[workload]
producers = 1
rate = "500/s"
keys = 200

[consumer]
workers = 1
concurrency = 2
reads = 1
idempotent = true

[store]
read_latency = "2ms..4ms"

[policy]
kind = "POLICY"
max_lag = 200

[[fault]]
at = "2s"
kind = "slow_storage"
target = "store-1"
factor = 100.0
for = "6s"
"#;

/// Seed 1 of SMALL under `policy`, each `(from, to)` edit applied to the text.
fn small(policy: &str, edits: &[(&str, &str)]) -> harness::Run {
    let mut text = SMALL.replace("POLICY", policy);
    for (from, to) in edits {
        assert!(text.contains(from), "{from:?} is not in SMALL");
        text = text.replace(from, to);
    }
    let sc = scenario::parse(Path::new("small.toml"), &text).unwrap_or_else(|e| panic!("{e}"));
    harness::run(&sc, 1, &models::Pipeline::new()).unwrap_or_else(|e| panic!("{e}"))
}

fn ids_with(h: &History, f: impl Fn(&EventKind) -> bool) -> Vec<harness::MsgId> {
    let mut ids: Vec<_> = h
        .events
        .iter()
        .filter(|e| f(&e.kind))
        .map(|e| e.id)
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

#[test]
fn silent_drop_records_a_drop_for_every_skipped_message() {
    let run = small("silent_drop", &[]);
    let h = &run.history;
    let dropped = ids_with(h, |k| {
        matches!(
            k,
            EventKind::Drop {
                reason: Reason::MaxLag
            }
        )
    });
    assert!(dropped.len() > 100, "{}", dropped.len());
    // Each was acked and appended, never delivered, and is what the checker
    // counts as silently dropped.
    let delivered = ids_with(h, |k| matches!(k, EventKind::Deliver { .. }));
    let acked = ids_with(h, |k| matches!(k, EventKind::Ack));
    for id in &dropped {
        assert!(
            delivered.binary_search(id).is_err(),
            "{id} dropped and delivered"
        );
        assert!(
            acked.binary_search(id).is_ok(),
            "{id} dropped but never acked"
        );
    }
    assert_eq!(run.figures.balance.silently_dropped.n, dropped.len() as u64);
    assert_eq!(
        run.figures.balance.silently_dropped.examples,
        dropped[..5].to_vec()
    );
    assert_eq!(run.figures.balance.lost.n, 0);
    assert!(h.breakers.is_empty());
}

#[test]
fn silent_drop_by_age_alone() {
    let run = small("silent_drop", &[]).history.hash();
    // 200 messages of a partition's lag are 1.6 s of its traffic; a bound
    // of 3 s acts at other times than the count did (a bound of 1 or 2 s
    // can pass at every fetch a slow batch delays, just as the count does,
    // and drop exactly the same records).
    let by_age = small("silent_drop", &[("max_lag = 200", "max_lag_age = \"3s\"")]);
    assert!(by_age.figures.balance.silently_dropped.n > 100);
    assert_ne!(by_age.history.hash(), run);
    assert_eq!(by_age.figures.balance.lost.n, 0);
}

#[test]
fn the_breaker_opens_on_the_slow_node_only_and_routes_around_it() {
    let run = small("circuit_breaker", &[]);
    let h = &run.history;
    assert!(!h.breakers.is_empty());
    assert!(h.breakers.iter().all(|b| b.store == 1), "{:?}", h.breakers);
    let first = h.breakers[0];
    assert_eq!(first.to, BreakerState::Open);
    let storm = &h.faults[0];
    assert!(first.at_us > storm.start_us && first.at_us < storm.end_us);
    // Open → half-open → (open again while the node is slow) … → closed
    // once it is fast again.
    for w in h.breakers.windows(2) {
        let ok = matches!(
            (w[0].to, w[1].to),
            (BreakerState::Open, BreakerState::HalfOpen)
                | (
                    BreakerState::HalfOpen,
                    BreakerState::Open | BreakerState::Closed
                )
                | (BreakerState::Closed, BreakerState::Open)
        );
        assert!(ok, "{:?} then {:?}", w[0], w[1]);
    }
    assert_eq!(h.breakers.last().unwrap().to, BreakerState::Closed);
    assert!(h.breakers.last().unwrap().at_us >= storm.end_us);
    // While open, effects land on the healthy replica.
    let open_until = h
        .breakers
        .iter()
        .find(|b| b.to != BreakerState::Open)
        .unwrap()
        .at_us;
    let on_slow = h.events.iter().filter(|e| {
        e.at_us > first.at_us + 500_000
            && e.at_us < open_until
            && matches!(e.kind, EventKind::Effect { store: 1 })
    });
    assert_eq!(on_slow.count(), 0);
    assert_eq!(run.figures.balance.silently_dropped.n, 0);
    assert_eq!(run.figures.balance.lost.n, 0);
    assert_eq!(run.figures.breaker_trips, run.outcome.breaker_trips);
    assert!(run.figures.breaker_trips >= 1);
}

#[test]
fn a_restarted_consumer_starts_with_closed_breakers() {
    // consumer-0 loses power while its breaker for the slow node is open.
    let crash = "for = \"6s\"\n\n[[fault]]\nat = \"7s\"\nkind = \"crash\"\ntarget = \"consumer-0\"\nrestart_after = \"1s\"";
    let run = small("circuit_breaker", &[("for = \"6s\"", crash)]);
    let h = &run.history;
    let state_at = |consumer: u32, at_us: u64| {
        h.breakers
            .iter()
            .rev()
            .find(|b| b.consumer == consumer && b.store == 1 && b.at_us <= at_us)
            .map_or(BreakerState::Closed, |b| b.to)
    };
    assert_ne!(
        state_at(0, 7_000_000),
        BreakerState::Closed,
        "the scenario must crash consumer-0 with its breaker not closed: {:?}",
        h.breakers
    );
    // The new incarnation's breakers start closed, and the History says so:
    // no breaker of a dead incarnation stays open in reports.
    assert_eq!(state_at(0, 8_000_000), BreakerState::Closed);
    assert!(
        run.outcome
            .timeline
            .breakers
            .iter()
            .all(|s| s.end_us < h.end_us),
        "{:?}",
        run.outcome.timeline.breakers
    );
}

#[test]
fn the_breaker_sheds_with_notice_when_no_replica_is_healthy() {
    // Each key on one node: open breakers pause the partitions needing
    // store-1, lag passes the bound, and the brokers refuse new messages.
    let run = small(
        "circuit_breaker",
        &[("store_replication = 2", "store_replication = 1")],
    );
    let h = &run.history;
    let refused = ids_with(h, |k| {
        matches!(
            k,
            EventKind::Reject {
                reason: Reason::BreakerOpen
            }
        )
    });
    assert!(!refused.is_empty());
    assert_eq!(run.figures.balance.shed.n, refused.len() as u64);
    let appended = ids_with(h, |k| matches!(k, EventKind::Append { .. }));
    assert!(refused.iter().all(|id| appended.binary_search(id).is_err()));
    assert_eq!(run.figures.balance.silently_dropped.n, 0);
    assert_eq!(run.figures.balance.lost.n, 0);
    assert!(run.figures.recovery_ms.is_some());
}

#[test]
fn backpressure_holds_producers_back_and_drops_nothing() {
    let unbounded = small("unbounded", &[]);
    // A small producer buffer: held-back batches fill it, and new messages
    // are refused locally (shed), never dropped after an ack.
    let run = small(
        "backpressure",
        &[("keys = 200", "keys = 200\nbuffer_max = 500")],
    );
    let h = &run.history;
    let full = ids_with(h, |k| {
        matches!(
            k,
            EventKind::Reject {
                reason: Reason::ProducerBufferFull
            }
        )
    });
    assert!(!full.is_empty());
    assert_eq!(run.figures.balance.shed.n, full.len() as u64);
    assert!(ids_with(h, |k| matches!(k, EventKind::Drop { .. })).is_empty());
    // Held-back batches are re-sent as often as it takes: no retries run out.
    assert!(ids_with(h, |k| matches!(
        k,
        EventKind::Reject {
            reason: Reason::BrokerRefused
        } | EventKind::Timeout
    ))
    .is_empty());
    let resent = h
        .events
        .iter()
        .any(|e| matches!(e.kind, EventKind::Send { attempt } if attempt > 5));
    assert!(resent, "no batch was held back");
    assert_eq!(run.figures.balance.lost.n, 0);
    assert!(run.figures.lag.max_messages < unbounded.figures.lag.max_messages);
}

#[test]
fn compare_runs_every_policy_on_the_same_seed_and_faults() {
    let text = SMALL.replace("POLICY", "silent_drop");
    let scenarios = under_every_policy(Path::new("s.toml"), &text);
    let stop = AtomicBool::new(false);
    let c = compare(
        "s.toml",
        &scenarios,
        &[1, 2],
        2,
        None,
        &pipeline,
        &stop,
        |_| {},
    );
    // Same load: every policy sent the same messages, for each seed.
    for seed in [1, 2] {
        let sent: Vec<u64> = c
            .policies
            .iter()
            .map(|p| {
                let r = p.runs.iter().find(|r| r.seed == seed).unwrap();
                r.result.as_ref().unwrap().counts[Metric::Sent]
            })
            .collect();
        assert!(sent.iter().all(|&s| s == sent[0] && s > 4000), "{sent:?}");
        let faults: Vec<_> = c
            .policies
            .iter()
            .map(|p| p.runs.iter().find(|r| r.seed == seed).unwrap())
            .map(|r| r.result.as_ref().unwrap().faults.clone())
            .collect();
        assert!(faults.iter().all(|f| *f == faults[0]));
    }
    // Several seeds: runs and the spread per policy; cells show the median.
    let v: serde_json::Value =
        serde_json::from_str(&harness::report::json::comparison(&c)).unwrap();
    let sd = &v["policies"]["silent_drop"];
    assert_eq!(sd["runs"].as_array().unwrap().len(), 2);
    let spread = &sd["spread"]["silently_dropped"];
    let per_seed: Vec<u64> = sd["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["counts"]["silently_dropped"].as_u64().unwrap())
        .collect();
    assert_eq!(spread["min"].as_u64(), per_seed.iter().min().copied());
    assert_eq!(spread["max"].as_u64(), per_seed.iter().max().copied());
    let text = harness::report::text::comparison(&c, "r");
    assert!(
        text.starts_with("seeds=1..2 (2) scenario=small-storm"),
        "{text}"
    );
    let md = harness::report::markdown::comparison_table(&c, "r");
    assert!(md.contains("| policy | silently_dropped |"), "{md}");
    assert!(md.contains("| silent_drop |"), "{md}");
}

#[test]
fn scale_multiplies_the_load() {
    let text = SMALL.replace("POLICY", "unbounded")
        + "\n[scale]\ncounts = [\"topology.partitions\", \"workload.keys\"]\n";
    let at = |k: u32| {
        let o = Overrides {
            policy: None,
            scale: Some(k),
            ..Overrides::default()
        };
        let sc = scenario::parse_with(Path::new("s.toml"), &text, &o).unwrap();
        assert_eq!(sc.topology.partitions, 4 * k);
        assert_eq!(sc.workload.keys, 200 * k);
        assert_eq!(sc.scale, k);
        harness::run(&sc, 1, &models::Pipeline::new()).unwrap()
    };
    let (one, three) = (at(1), at(3));
    assert_eq!(
        three.figures[Metric::Sent].n,
        3 * one.figures[Metric::Sent].n
    );
    assert_eq!(three.figures.balance.lost.n, 0);
}

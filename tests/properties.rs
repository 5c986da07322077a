//! Property: every valid scenario simulates. Random small scenarios — a few
//! brokers, producers and workers, a short load with 0 to 3 faults, random
//! acks / fsync / commit / policy settings — are rendered as scenario text,
//! must pass the validator (a rejection is a bug of this generator), and
//! must run to a verdict: `pass` and `fail` are both fine, a `SimFailure`
//! (a model panic, a turmoil error, a limit: `mqsim run`'s exit code 3) is
//! not.
//!
//! Deterministic: the cases come from a fixed ChaCha seed and nothing is
//! persisted, so CI runs the same scenarios every time. To explore further:
//!
//! ```text
//! MQSIM_PROPTEST_CASES=300 MQSIM_PROPTEST_SEED=7 \
//! MQSIM_PROPTEST_FINDINGS=/tmp/property-findings \
//!     cargo test --test properties -- --nocapture
//! ```
//!
//! `MQSIM_PROPTEST_SEED` picks another stream of cases (a u64).
//! `MQSIM_PROPTEST_FINDINGS` names a directory where the failing scenario
//! (after shrinking) is written as `property-<hash>-seed-<N>.toml`; replay it
//! with `mqsim run FILE --seed N`. The failure message holds it too.

use harness::scenario::parse;
use harness::scenario::Metric;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

/// Cases in CI; `MQSIM_PROPTEST_CASES` overrides.
const CI_CASES: u32 = 64;
/// The RNG seed in CI; `MQSIM_PROPTEST_SEED` overrides.
const CI_SEED: u64 = 0x6d71_7369_6d00_0001;

// ---------------------------------------------------------------------------
// The generated scenario, before it is made concrete.

/// Everything but the faults.
#[derive(Clone, Debug)]
struct Setup {
    brokers: u32,
    partitions: u32,
    /// 1 to `brokers`.
    replication: u32,
    /// 1 to `replication`.
    min_insync: u32,
    stores: u32,
    /// 1 to `stores`.
    store_replication: u32,
    producers: u32,
    workers: u32,
    rate: u32,
    keys: u32,
    duration_s: u64,
    drain_s: u64,
    acks: &'static str,
    fsync: String,
    writeback_s: u64,
    unclean: bool,
    broker_session_ms: u64,
    replica_lag_max_ms: u64,
    producer_idempotent: bool,
    retries: u32,
    commit: &'static str,
    consumer_idempotent: bool,
    concurrency: u32,
    assignment: &'static str,
    consumer_session_ms: u64,
    reads: u32,
    read_retry: bool,
    auto_offset_reset: &'static str,
    /// `(kind, max_lag)`.
    policy: (&'static str, Option<u32>),
    seed: u64,
    /// `broker.kind = "queue"` with these settings (log-only keys and the
    /// lag policy are then left out).
    queue: Option<QueueSetup>,
}

#[derive(Clone, Debug)]
struct QueueSetup {
    visibility_ms: u64,
    max_receives: Option<u32>,
    fifo: bool,
    /// `(max_length, overflow)`.
    bound: Option<(u32, &'static str)>,
    handling: &'static str,
    queue_type: &'static str,
    partial_batch_failure: bool,
    retry_backoff_ms: Option<u64>,
    fetch_max: u32,
    /// A poison window `(at, len)` in thousandths of the load phase, and its rate.
    poison: Option<(u32, u32, f64)>,
    /// A redrive at this thousandth of the load phase (with `max_receives`).
    redrive: Option<u32>,
}

fn queue_setup() -> impl Strategy<Value = QueueSetup> {
    (
        (2u64..=20).prop_map(|n| n * 250),
        proptest::option::weighted(0.6, 1u32..=5),
        any::<bool>(),
        proptest::option::weighted(
            0.3,
            (
                20u32..=300,
                prop_oneof![Just("reject_new"), Just("drop_oldest"), Just("block")],
            ),
        ),
        prop_oneof![Just("pause_minority"), Just("autoheal")],
        prop_oneof![2 => Just("classic"), 1 => Just("quorum")],
        any::<bool>(),
        proptest::option::weighted(0.4, (1u64..=8).prop_map(|n| n * 250)),
        1u32..=20,
        proptest::option::weighted(0.5, (0u32..900, 1u32..=1000, 1u32..=50)),
        proptest::option::weighted(0.3, 0u32..1000),
    )
        .prop_map(
            |(
                visibility_ms,
                max_receives,
                fifo,
                bound,
                handling,
                queue_type,
                partial_batch_failure,
                retry_backoff_ms,
                fetch_max,
                poison,
                redrive,
            )| QueueSetup {
                visibility_ms,
                max_receives,
                fifo,
                bound,
                handling,
                queue_type,
                partial_batch_failure,
                retry_backoff_ms,
                fetch_max,
                poison: poison.map(|(at, len, r)| (at, len, f64::from(r) / 100.0)),
                redrive: redrive.filter(|_| max_receives.is_some()),
            },
        )
}

/// One fault as raw choices; [`concrete`] maps them onto the setup's hosts
/// and load phase.
#[derive(Clone, Debug)]
struct RawFault {
    kind: Kind,
    /// Start, in thousandths of the load phase.
    at: u32,
    /// Window (`for`, or a crash's `restart_after`) in thousandths of what
    /// is left of the load phase; `None`: until the drain starts.
    len: Option<u32>,
    /// Picks hosts: the target, or side `a`.
    pick_a: u64,
    /// Picks side `b` among the hosts `a` left.
    pick_b: u64,
    /// A role (`brokers`, ...) rather than one host, for host faults; both
    /// sides left out (every link) for latency and loss.
    wide: bool,
    /// Partition: `oneway`. slow_storage on stores: `factor` rather than
    /// `latency`.
    flag: bool,
    /// Latency (ms), loss rate (percent) or slow-down factor, by kind.
    param: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Partition,
    Crash,
    Pause,
    Latency,
    Loss,
    SlowStorage,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Partition => "partition",
            Kind::Crash => "crash",
            Kind::Pause => "pause",
            Kind::Latency => "latency",
            Kind::Loss => "loss",
            Kind::SlowStorage => "slow_storage",
        }
    }

    fn is_host_fault(self) -> bool {
        matches!(self, Kind::Crash | Kind::Pause | Kind::SlowStorage)
    }
}

#[derive(Clone, Debug)]
struct Case {
    setup: Setup,
    faults: Vec<RawFault>,
}

fn setup() -> impl Strategy<Value = Setup> {
    let topology = (1u32..=3, 1u32..=4, 0u32..3, 0u32..3, 1u32..=2, 0u32..2).prop_map(
        |(brokers, partitions, r, m, stores, sr)| {
            let replication = 1 + r % brokers;
            let min_insync = 1 + m % replication;
            let store_replication = 1 + sr % stores;
            (
                brokers,
                partitions,
                replication,
                min_insync,
                stores,
                store_replication,
            )
        },
    );
    let workload = (
        1u32..=2,
        (20u32..=200).prop_map(|r| r / 10 * 10),
        1u32..=50,
        2u64..=5,
        3u64..=5,
        any::<bool>(),
        0u32..=3,
    );
    let fsync = prop_oneof![
        Just("per_batch".to_string()),
        Just("never".to_string()),
        (1u64..=10).prop_map(|n| format!("interval:{}ms", n * 50)),
    ];
    let broker = (
        prop_oneof![Just("0"), Just("1"), Just("all")],
        fsync,
        1u64..=5,
        any::<bool>(),
        (2u64..=12).prop_map(|n| n * 500),
        (1u64..=10).prop_map(|n| n * 1000),
    );
    let consumer = (
        1u32..=2,
        prop_oneof![Just("after_effect"), Just("before_effect")],
        any::<bool>(),
        1u32..=4,
        prop_oneof![Just("range"), Just("round_robin")],
        (2u64..=20).prop_map(|n| n * 500),
        0u32..=2,
        any::<bool>(),
        prop_oneof![3 => Just("earliest"), 1 => Just("latest")],
    );
    let policy = prop_oneof![
        Just(("unbounded", None)),
        Just(("backpressure", None)),
        (50u32..=500).prop_map(|l| ("backpressure", Some(l))),
        Just(("circuit_breaker", None)),
        (50u32..=500).prop_map(|l| ("circuit_breaker", Some(l))),
        (20u32..=500).prop_map(|l| ("silent_drop", Some(l))),
    ];
    let queue = proptest::option::weighted(0.4, queue_setup());
    (
        topology,
        workload,
        broker,
        consumer,
        policy,
        (0u64..1000, queue),
    )
        .prop_map(
            |(
                (brokers, partitions, replication, min_insync, stores, store_replication),
                (producers, rate, keys, duration_s, drain_s, producer_idempotent, retries),
                (acks, fsync, writeback_s, unclean, broker_session_ms, replica_lag_max_ms),
                (
                    workers,
                    commit,
                    consumer_idempotent,
                    concurrency,
                    assignment,
                    consumer_session_ms,
                    reads,
                    read_retry,
                    auto_offset_reset,
                ),
                policy,
                (seed, queue),
            )| Setup {
                brokers,
                partitions,
                replication,
                min_insync,
                stores,
                store_replication,
                producers,
                workers,
                rate,
                keys,
                duration_s,
                drain_s,
                acks,
                fsync,
                writeback_s,
                unclean,
                broker_session_ms,
                replica_lag_max_ms,
                producer_idempotent,
                retries,
                commit,
                consumer_idempotent,
                concurrency,
                assignment,
                consumer_session_ms,
                reads,
                read_retry,
                auto_offset_reset,
                policy,
                seed,
                queue,
            },
        )
}

fn raw_fault() -> impl Strategy<Value = RawFault> {
    let kind = prop_oneof![
        Just(Kind::Partition),
        Just(Kind::Crash),
        Just(Kind::Pause),
        Just(Kind::Latency),
        Just(Kind::Loss),
        Just(Kind::SlowStorage),
    ];
    (
        kind,
        0u32..1000,
        proptest::option::weighted(0.8, 1u32..=1000),
        any::<u64>(),
        any::<u64>(),
        proptest::bool::weighted(0.25),
        any::<bool>(),
        1u32..=100,
    )
        .prop_map(
            |(kind, at, len, pick_a, pick_b, wide, flag, param)| RawFault {
                kind,
                at,
                len,
                pick_a,
                pick_b,
                wide,
                flag,
                param,
            },
        )
}

fn case() -> impl Strategy<Value = Case> {
    (setup(), proptest::collection::vec(raw_fault(), 0..=3))
        .prop_map(|(setup, faults)| Case { setup, faults })
}

// ---------------------------------------------------------------------------
// Making it concrete: hosts, windows, and no overlaps.

fn hosts(s: &Setup) -> Vec<String> {
    let mut h = Vec::new();
    let mut role = |name: &str, n: u32| (0..n).for_each(|i| h.push(format!("{name}-{i}")));
    role("broker", s.brokers);
    role("store", s.stores);
    role("producer", s.producers);
    role("consumer", s.workers);
    if s.queue.is_none() {
        h.push("controller-0".to_string());
    }
    h
}

/// The role selectors that name hosts of this setup.
fn roles(s: &Setup, of: &'static [&'static str]) -> Vec<&'static str> {
    (of.iter().copied())
        .filter(|r| s.queue.is_none() || *r != "controllers")
        .collect()
}

/// The hosts a role selector stands for.
fn role_hosts(all: &[String], role: &str) -> Vec<String> {
    let prefix = match role {
        "brokers" => "broker-",
        "stores" => "store-",
        "producers" => "producer-",
        "consumers" => "consumer-",
        "controllers" => "controller-",
        _ => unreachable!("{role}"),
    };
    all.iter()
        .filter(|h| h.starts_with(prefix))
        .cloned()
        .collect()
}

/// A non-empty subset of `from` chosen by the bits of `pick`.
fn subset(from: &[String], pick: u64) -> Vec<String> {
    let mut out: Vec<String> = (from.iter().enumerate())
        .filter(|(i, _)| pick >> (i % 64) & 1 == 1)
        .map(|(_, h)| h.clone())
        .collect();
    if out.is_empty() {
        out.push(from[(pick % from.len() as u64) as usize].clone());
    }
    out
}

fn quoted(hs: &[String]) -> String {
    let q: Vec<String> = hs.iter().map(|h| format!("{h:?}")).collect();
    format!("[{}]", q.join(", "))
}

/// A fault placed on the setup's hosts and load phase.
#[derive(Clone, Debug)]
struct Placed {
    kind: Kind,
    at_ms: u64,
    /// Window end (the load phase's end without a window).
    end_ms: u64,
    /// Host faults: the targets, expanded.
    targets: Vec<String>,
    /// Link faults: the two sides, expanded (both every host when left out).
    sides: (Vec<String>, Vec<String>),
    /// The `[[fault]]` table's body.
    toml: String,
}

fn place(s: &Setup, f: &RawFault) -> Placed {
    let all = hosts(s);
    let load_ms = s.duration_s * 1000;
    // Whole 100ms steps, starting before the load phase ends.
    let at_ms = u64::from(f.at) * load_ms / 1000 / 100 * 100;
    let left = load_ms - at_ms;
    let len_ms = f
        .len
        .map(|l| (u64::from(l) * left / 1000 / 100 * 100).max(100))
        .filter(|l| *l <= left);
    let end_ms = at_ms + len_ms.unwrap_or(left);
    let mut t = format!("at = \"{at_ms}ms\"\nkind = \"{}\"\n", f.kind.name());
    let mut targets = Vec::new();
    let mut sides = (Vec::new(), Vec::new());
    let window_key = if f.kind == Kind::Crash {
        "restart_after"
    } else {
        "for"
    };
    if let Some(l) = len_ms {
        let _ = writeln!(t, "{window_key} = \"{l}ms\"");
    }
    if f.kind.is_host_fault() {
        let (pool, roles): (Vec<String>, Vec<&str>) = if f.kind == Kind::SlowStorage {
            let pool = (all.iter())
                .filter(|h| {
                    h.starts_with("broker-")
                        || h.starts_with("store-")
                        || h.starts_with("controller-")
                })
                .cloned()
                .collect();
            (pool, roles(s, &["brokers", "stores", "controllers"]))
        } else {
            (
                all.clone(),
                roles(
                    s,
                    &["brokers", "stores", "producers", "consumers", "controllers"],
                ),
            )
        };
        let target = if f.wide {
            let role = roles[(f.pick_a % roles.len() as u64) as usize];
            targets = role_hosts(&all, role);
            format!("{role:?}")
        } else {
            let h = pool[(f.pick_a % pool.len() as u64) as usize].clone();
            targets = vec![h.clone()];
            format!("{h:?}")
        };
        let _ = writeln!(t, "target = {target}");
        if f.kind == Kind::SlowStorage {
            let stores_only = targets.iter().all(|h| h.starts_with("store-"));
            if stores_only && f.flag {
                // 1.5 to 50.
                let _ = writeln!(t, "factor = {:.1}", 1.0 + f64::from(f.param) / 2.0);
            } else {
                let lo = f.param * 2;
                let _ = writeln!(t, "latency = \"{lo}ms..{}ms\"", lo * 3);
            }
        }
    } else {
        let both_left_out = f.wide && matches!(f.kind, Kind::Latency | Kind::Loss);
        if both_left_out {
            sides = (all.clone(), all.clone());
        } else {
            // Side a: a subset short of every host; side b: among the rest.
            let mut a = subset(&all, f.pick_a);
            if a.len() == all.len() {
                a.pop();
            }
            let rest: Vec<String> = all.iter().filter(|h| !a.contains(h)).cloned().collect();
            let b = subset(&rest, f.pick_b);
            let _ = writeln!(t, "a = {}\nb = {}", quoted(&a), quoted(&b));
            sides = (a, b);
        }
        match f.kind {
            Kind::Partition if f.flag => t.push_str("oneway = true\n"),
            Kind::Latency => {
                let lo = f.param * 3;
                let _ = writeln!(t, "latency = \"{lo}ms..{}ms\"", lo * 2);
            }
            // 0.01 to 0.5.
            Kind::Loss => {
                let _ = writeln!(t, "rate = {:.2}", f64::from(f.param) / 200.0);
            }
            _ => {}
        }
    }
    Placed {
        kind: f.kind,
        at_ms,
        end_ms,
        targets,
        sides,
        toml: t,
    }
}

/// The validator's overlap rule (`overlaps` in validate/faults.rs): same-kind host
/// faults on a shared host, or link faults sharing state (same kind, or any
/// two of partition and loss) on a shared link, must not overlap in time.
fn conflict(f: &Placed, g: &Placed) -> bool {
    if !(g.at_ms < f.end_ms && f.at_ms < g.end_ms) {
        return false;
    }
    match (f.kind.is_host_fault(), g.kind.is_host_fault()) {
        (true, true) => f.kind == g.kind && f.targets.iter().any(|h| g.targets.contains(h)),
        (false, false) => {
            let state = |k: Kind| matches!(k, Kind::Partition | Kind::Loss);
            if f.kind != g.kind && !(state(f.kind) && state(g.kind)) {
                return false;
            }
            let ((fa, fb), (ga, gb)) = (&f.sides, &g.sides);
            fa.iter().any(|x| {
                fb.iter().filter(|y| *y != x).any(|y| {
                    (ga.contains(x) && gb.contains(y)) || (gb.contains(x) && ga.contains(y))
                })
            })
        }
        _ => false,
    }
}

/// The faults in time order, each that would overlap an earlier one on a
/// shared host or link left out.
fn placed_faults(c: &Case) -> Vec<Placed> {
    let mut all: Vec<Placed> = c.faults.iter().map(|f| place(&c.setup, f)).collect();
    all.sort_by_key(|p| p.at_ms);
    let mut kept: Vec<Placed> = Vec::new();
    for p in all {
        if !kept.iter().any(|k| conflict(k, &p)) {
            kept.push(p);
        }
    }
    kept
}

fn render(c: &Case) -> String {
    let s = &c.setup;
    let mut t = String::new();
    let _ = writeln!(t, "name = \"property\"");
    let _ = writeln!(
        t,
        "summary = \"A generated scenario (tests/properties.rs)\""
    );
    let _ = writeln!(t, "duration = \"{}s\"", s.duration_s);
    let _ = writeln!(t, "drain = \"{}s\"", s.drain_s);
    let _ = writeln!(t, "seed = {}", s.seed);
    let _ = writeln!(t, "sample_interval = \"500ms\"");
    let _ = writeln!(t, "\n[topology]");
    let _ = writeln!(t, "brokers = {}", s.brokers);
    let _ = writeln!(t, "partitions = {}", s.partitions);
    if s.queue.is_none() {
        let _ = writeln!(t, "replication = {}", s.replication);
    }
    let _ = writeln!(t, "stores = {}", s.stores);
    let _ = writeln!(t, "store_replication = {}", s.store_replication);
    let _ = writeln!(t, "\n[workload]");
    let _ = writeln!(t, "producers = {}", s.producers);
    let _ = writeln!(t, "rate = \"{}/s\"", s.rate);
    let _ = writeln!(t, "keys = {}", s.keys);
    let _ = writeln!(t, "retries = {}", s.retries);
    let _ = writeln!(t, "idempotent = {}", s.producer_idempotent);
    let _ = writeln!(t, "\n[broker]");
    let acks = match s.acks {
        "all" => "\"all\"",
        n => n,
    };
    let _ = writeln!(t, "acks = {acks}");
    let _ = writeln!(t, "fsync = \"{}\"", s.fsync);
    let _ = writeln!(t, "writeback = \"{}s\"", s.writeback_s);
    let _ = writeln!(t, "session_timeout = \"{}ms\"", s.broker_session_ms);
    if let Some(q) = &s.queue {
        let _ = writeln!(t, "kind = \"queue\"");
        let _ = writeln!(t, "visibility_timeout = \"{}ms\"", q.visibility_ms);
        if let Some(m) = q.max_receives {
            let _ = writeln!(t, "max_receives = {m}");
        }
        let _ = writeln!(t, "fifo = {}", q.fifo);
        if let Some((max, overflow)) = q.bound {
            let _ = writeln!(t, "max_length = {max}\noverflow = \"{overflow}\"");
        }
        let _ = writeln!(t, "partition_handling = \"{}\"", q.handling);
        let _ = writeln!(t, "queue_type = \"{}\"", q.queue_type);
    } else {
        let _ = writeln!(t, "min_insync = {}", s.min_insync);
        let _ = writeln!(t, "unclean_leader_election = {}", s.unclean);
        let _ = writeln!(t, "replica_lag_max = \"{}ms\"", s.replica_lag_max_ms);
    }
    let _ = writeln!(t, "\n[consumer]");
    let _ = writeln!(t, "workers = {}", s.workers);
    let _ = writeln!(t, "commit = \"{}\"", s.commit);
    let _ = writeln!(t, "idempotent = {}", s.consumer_idempotent);
    let _ = writeln!(t, "concurrency = {}", s.concurrency);
    let _ = writeln!(t, "reads = {}", s.reads);
    let _ = writeln!(t, "read_retry = {}", s.read_retry);
    if let Some(q) = &s.queue {
        let _ = writeln!(t, "fetch_max = {}", q.fetch_max);
        let _ = writeln!(t, "partial_batch_failure = {}", q.partial_batch_failure);
        if let Some(b) = q.retry_backoff_ms {
            let _ = writeln!(t, "retry_backoff = \"{b}ms\"");
        }
    } else {
        let _ = writeln!(t, "assignment = \"{}\"", s.assignment);
        let _ = writeln!(t, "session_timeout = \"{}ms\"", s.consumer_session_ms);
        let _ = writeln!(t, "auto_offset_reset = \"{}\"", s.auto_offset_reset);
        let _ = writeln!(t, "\n[policy]");
        let _ = writeln!(t, "kind = \"{}\"", s.policy.0);
        if let Some(l) = s.policy.1 {
            let _ = writeln!(t, "max_lag = {l}");
        }
    }
    // Poison windows and redrives target no host: they overlap nothing,
    // and faults are listed in time order.
    let mut faults: Vec<(u64, String)> = (placed_faults(c).into_iter())
        .map(|f| (f.at_ms, f.toml))
        .collect();
    let load_ms = s.duration_s * 1000;
    let at = |thousandths: u32| u64::from(thousandths) * load_ms / 1000 / 100 * 100;
    if let Some(q) = &s.queue {
        if let Some((from, len, rate)) = q.poison {
            let at_ms = at(from);
            let len_ms = (u64::from(len) * (load_ms - at_ms) / 1000 / 100 * 100).max(100);
            let len_ms = len_ms.min(load_ms - at_ms);
            faults.push((
                at_ms,
                format!(
                    "at = \"{at_ms}ms\"\nkind = \"poison\"\nfor = \"{len_ms}ms\"\nrate = {rate}\n"
                ),
            ));
        }
        if let Some(r) = q.redrive {
            let at_ms = at(r);
            faults.push((at_ms, format!("at = \"{at_ms}ms\"\nkind = \"redrive\"\n")));
        }
    }
    faults.sort_by_key(|(at, _)| *at);
    for (_, f) in faults {
        let _ = write!(t, "\n[[fault]]\n{f}");
    }
    t
}

// ---------------------------------------------------------------------------

fn env<T: std::str::FromStr>(name: &str) -> Option<T> {
    let v = std::env::var(name).ok()?;
    Some(
        v.parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a valid value")),
    )
}

#[derive(Default)]
struct Tally {
    runs: u32,
    verdicts: BTreeMap<&'static str, u32>,
    faults: BTreeMap<&'static str, u32>,
    lost: u32,
}

#[test]
fn every_valid_scenario_runs_to_a_verdict() {
    let cases = env("MQSIM_PROPTEST_CASES").unwrap_or(CI_CASES);
    let seed: u64 = env("MQSIM_PROPTEST_SEED").unwrap_or(CI_SEED);
    let findings: Option<String> = env("MQSIM_PROPTEST_FINDINGS");
    let config = Config {
        cases,
        failure_persistence: None,
        // Each shrink step is a whole simulation.
        max_shrink_iters: 200,
        max_shrink_time: 120_000,
        ..Config::default()
    };
    let mut rng_seed = [0u8; 32];
    rng_seed[..8].copy_from_slice(&seed.to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &rng_seed);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let tally = RefCell::new(Tally::default());
    let started = Instant::now();
    let result = runner.run(&case(), |c| {
        let text = render(&c);
        let sc = parse(Path::new("property.toml"), &text).map_err(|e| {
            TestCaseError::fail(format!(
                "generator bug: the validator rejects a generated scenario:\n{e}"
            ))
        })?;
        let sim_seed = c.setup.seed;
        match harness::run(&sc, sim_seed, &models::Pipeline::new()) {
            Ok(run) => {
                let mut t = tally.borrow_mut();
                t.runs += 1;
                *t.verdicts.entry(run.outcome.verdict.name()).or_default() += 1;
                for f in &sc.faults {
                    *t.faults.entry(f.kind.name()).or_default() += 1;
                }
                if run.outcome.counts[Metric::Lost] > 0 {
                    t.lost += 1;
                }
                Ok(())
            }
            Err(e) => Err(TestCaseError::fail(format!("seed {sim_seed}: {e}"))),
        }
    });
    // Passing runs, shrink steps included.
    let t = tally.borrow();
    eprintln!(
        "properties: {} runs ok in {:.1?} (rng seed {seed:#x}); verdicts {:?}; faults {:?}; runs losing acked messages: {}",
        t.runs,
        started.elapsed(),
        t.verdicts,
        t.faults,
        t.lost
    );
    match result {
        Ok(()) => {}
        Err(TestError::Fail(why, c)) => {
            // The shrunk case.
            let text = render(&c);
            let seed = c.setup.seed;
            let mut saved = String::new();
            if let Some(dir) = &findings {
                let path = Path::new(dir).join(format!(
                    "property-{:016x}-seed-{seed}.toml",
                    text_hash(&text)
                ));
                let first = why.message().lines().next().unwrap_or("");
                let body = format!(
                    "# mqsim run {} --seed {seed}\n# {first}\n{text}",
                    path.display()
                );
                let written =
                    std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&path, body));
                saved = match written {
                    Ok(()) => format!("\n(saved to {})", path.display()),
                    Err(e) => format!("\n(could not save to {}: {e})", path.display()),
                };
            }
            panic!(
                "{}\n--- the scenario (replay: mqsim run FILE --seed {seed}):\n{text}{saved}",
                why.message()
            );
        }
        Err(e) => panic!("{e}"),
    }
}

/// FNV-1a, to name a finding's file.
fn text_hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

//! The mutation suite: a harness is only worth its checkers. Each mutant
//! (`models/src/mutant.rs`) puts back one classic queue-pipeline bug; for
//! each there is a scenario the correct models pass and the mutant must fail
//! on the checker that names the bug, on every seed. The table printed at
//! the end says which checker caught which mutant on how many seeds.

mod common;

use common::par_map;
use harness::scenario::{self, Metric};
use models::mutant::Mutant;
use models::Pipeline;
use std::path::Path;

/// Seeds every mutant must be caught on.
const MUTANT_SEEDS: u64 = 10;
/// Seeds over which the correct models must raise no alarm.
const CLEAN_SEEDS: u64 = 100;

struct Case {
    mutant: Mutant,
    /// The count that must be above 0 under the mutant and 0 without it.
    caught_by: Metric,
    scenario: &'static str,
}

const CRASH_PER_BATCH: &str = r#"
name = "mutant-ack-before-sync"
summary = "a broker power loss under fsync per_batch"
duration = "6s"
drain = "6s"
[topology]
partitions = 2
[workload]
rate = "200/s"
keys = 20
[broker]
fsync = "per_batch"
[[fault]]
at = "1s"
kind = "pause"
target = "consumers"
for = "4s"
[[fault]]
at = "3s"
kind = "crash"
target = "broker-0"
restart_after = "1s"
"#;

const CONSUMER_CRASH: &str = r#"
name = "mutant-commit-before-effect"
summary = "a consumer crash while effects are slow, committing after them"
duration = "6s"
drain = "8s"
[topology]
partitions = 2
[workload]
rate = "300/s"
keys = 50
[consumer]
commit = "after_effect"
idempotent = true
concurrency = 2
fetch_max = 100
session_timeout = "2s"
[store]
latency = "10ms..20ms"
[[fault]]
at = "1s"
kind = "slow_storage"
target = "store-0"
latency = "40ms..80ms"
for = "4s"
[[fault]]
at = "3500ms"
kind = "crash"
target = "consumer-0"
restart_after = "2s"
"#;

const LOST_ACKS: &str = r#"
name = "mutant-no-dedup"
summary = "acknowledgements lost on the way back to an idempotent producer"
duration = "5s"
drain = "6s"
[topology]
brokers = 3
partitions = 2
replication = 3
[workload]
rate = "200/s"
keys = 20
retries = 20
idempotent = true
[broker]
acks = "all"
min_insync = 2
[[fault]]
at = "1s"
kind = "partition"
a = "brokers"
b = "producers"
oneway = true
for = "2s"
"#;

const SLOW_STORE_SILENT_DROP: &str = r#"
name = "mutant-unrecorded-drop"
summary = "a slow store under silent_drop"
duration = "6s"
drain = "6s"
[topology]
partitions = 2
[workload]
rate = "300/s"
keys = 50
[consumer]
concurrency = 2
[store]
latency = "2ms..4ms"
[policy]
kind = "silent_drop"
max_lag = 100
[[fault]]
at = "1s"
kind = "slow_storage"
target = "store-0"
factor = 50.0
for = "4s"
"#;

const STEADY: &str = r#"
name = "mutant-swap-key-order"
summary = "a steady load over a few keys"
duration = "3s"
drain = "3s"
[topology]
partitions = 2
[workload]
rate = "200/s"
keys = 10
[consumer]
concurrency = 2
"#;

const LEADER_CRASH_ACKS_ALL: &str = r#"
name = "mutant-early-high-watermark"
summary = "a slow-replicating leader crashes under acks=all"
duration = "8s"
drain = "8s"
[topology]
brokers = 3
partitions = 1
replication = 3
[workload]
rate = "200/s"
keys = 20
request_timeout = "5s"
[broker]
acks = "all"
min_insync = 2
session_timeout = "2s"
[consumer]
session_timeout = "2s"
[[fault]]
at = "1s"
kind = "pause"
target = "consumers"
for = "6s"
[[fault]]
at = "2s"
kind = "latency"
a = "broker-0"
b = ["broker-1", "broker-2"]
latency = "300ms..600ms"
for = "2s"
[[fault]]
at = "4s"
kind = "crash"
target = "broker-0"
restart_after = "2s"
"#;

const DEPOSED_LEADER: &str = r#"
name = "mutant-no-truncate"
summary = "a deposed leader keeps appending, rejoins, and is the only replica left"
duration = "12s"
drain = "5s"
[topology]
brokers = 3
partitions = 1
replication = 3
[workload]
producers = 3
rate = "300/s"
keys = 20
retries = 0
request_timeout = "1s"
[broker]
acks = "all"
min_insync = 2
session_timeout = "2s"
[consumer]
session_timeout = "2s"
[[fault]]
at = "1s"
kind = "pause"
target = "consumers"
for = "10s"
[[fault]]
at = "2s"
kind = "partition"
a = "broker-0"
b = ["broker-1", "broker-2", "controller-0"]
for = "4s"
# 3 s after the partition heals: at 8 s (2 s after) the divergent tail did
# not always reach a leader, and the mutant escaped on seeds 12 and 13 of
# 1-16 at History version 5.
[[fault]]
at = "9s"
kind = "crash"
target = ["broker-1", "broker-2"]
restart_after = "2s"
"#;

const POISON_WITH_DLQ: &str = r#"
name = "mutant-skip-dlq"
summary = "two poison messages on a queue with a dead-letter queue"
duration = "4s"
drain = "6s"
[topology]
partitions = 1
[workload]
rate = "100/s"
[broker]
kind = "queue"
visibility_timeout = "1s"
max_receives = 2
[consumer]
fetch_max = 10
partial_batch_failure = true
[[fault]]
at = "1s"
kind = "poison"
ids = ["p0-20", "p0-90"]
"#;

fn cases() -> Vec<Case> {
    vec![
        Case {
            mutant: Mutant::AckBeforeSync,
            caught_by: Metric::Lost,
            scenario: CRASH_PER_BATCH,
        },
        Case {
            mutant: Mutant::CommitBeforeEffect,
            caught_by: Metric::Lost,
            scenario: CONSUMER_CRASH,
        },
        Case {
            mutant: Mutant::NoDedup,
            caught_by: Metric::DuplicateDeliveries,
            scenario: LOST_ACKS,
        },
        Case {
            mutant: Mutant::UnrecordedDrop,
            caught_by: Metric::Lost,
            scenario: SLOW_STORE_SILENT_DROP,
        },
        Case {
            mutant: Mutant::SwapKeyOrder,
            caught_by: Metric::OrderViolations,
            scenario: STEADY,
        },
        Case {
            mutant: Mutant::NoTruncate,
            caught_by: Metric::Lost,
            scenario: DEPOSED_LEADER,
        },
        Case {
            mutant: Mutant::EarlyHighWatermark,
            caught_by: Metric::Lost,
            scenario: LEADER_CRASH_ACKS_ALL,
        },
        Case {
            mutant: Mutant::SkipDlq,
            caught_by: Metric::PoisonNotDeadLettered,
            scenario: POISON_WITH_DLQ,
        },
    ]
}

/// The figure `metric` of one run, with an example id when above 0.
fn figure(text: &str, seed: u64, model: &Pipeline, metric: Metric) -> (u64, String) {
    let sc = scenario::parse(Path::new("mutant.toml"), text).unwrap_or_else(|e| panic!("{e}"));
    let run = harness::run(&sc, seed, model).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    let c = run.figures.count(metric).expect("a count metric");
    let example = c
        .examples
        .first()
        .map_or(String::new(), |id| id.to_string());
    (c.n, example)
}

#[test]
fn every_mutant_is_caught_on_every_seed_and_the_correct_models_raise_no_alarm() {
    let cases = cases();
    // (case, mutant or not, seed)
    let mut jobs: Vec<(usize, bool, u64)> = Vec::new();
    for i in 0..cases.len() {
        jobs.extend((1..=MUTANT_SEEDS).map(|s| (i, true, s)));
        jobs.extend((1..=CLEAN_SEEDS).map(|s| (i, false, s)));
    }
    let results = par_map(&jobs, |&(i, mutated, seed)| {
        let c = &cases[i];
        let model = if mutated {
            Pipeline::with_mutant(c.mutant)
        } else {
            Pipeline::new()
        };
        figure(c.scenario, seed, &model, c.caught_by)
    });

    let mut table = String::from(
        "mutant               caught by                 seeds caught  false alarms (correct models)\n",
    );
    let mut problems = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let of = |mutated: bool| {
            jobs.iter()
                .zip(&results)
                .filter(move |((j, m, _), _)| *j == i && *m == mutated)
                .map(|((_, _, seed), r)| (*seed, r))
        };
        let escaped: Vec<u64> = of(true).filter(|(_, r)| r.0 == 0).map(|(s, _)| s).collect();
        let alarms: Vec<(u64, &(u64, String))> = of(false).filter(|(_, r)| r.0 > 0).collect();
        let _ = std::fmt::Write::write_fmt(
            &mut table,
            format_args!(
                "{:<20} {:<25} {:>5} / {:<5}  {} / {}\n",
                format!("{:?}", c.mutant),
                c.caught_by.name(),
                MUTANT_SEEDS - escaped.len() as u64,
                MUTANT_SEEDS,
                alarms.len(),
                CLEAN_SEEDS
            ),
        );
        if !escaped.is_empty() {
            problems.push(format!("{:?} escaped on seeds {escaped:?}", c.mutant));
        }
        for (seed, (n, example)) in alarms {
            problems.push(format!(
                "correct models: {} = {n} on seed {seed} of {} (e.g. {example})",
                c.caught_by.name(),
                c.mutant_scenario_name()
            ));
        }
    }
    println!("{table}");
    assert!(problems.is_empty(), "{table}\n{}", problems.join("\n"));
}

impl Case {
    fn mutant_scenario_name(&self) -> &str {
        self.scenario
            .lines()
            .find_map(|l| l.strip_prefix("name = \""))
            .map_or("?", |n| n.trim_end_matches('"'))
    }
}

#[test]
fn every_mutant_has_a_case() {
    let cases = cases();
    for m in Mutant::ALL {
        assert!(
            cases.iter().any(|c| c.mutant == m),
            "{m:?} has no scenario in the mutation suite"
        );
    }
}

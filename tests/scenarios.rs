//! Every shipped scenario validates and meets its own `[expect]`, accounts
//! for every message it created (recounted independently), and the outcome
//! of seed 1 is pinned as an insta snapshot (CI=true makes a missing or
//! changed snapshot fail).

mod common;

use common::{assert_accounted, par_map};
use harness::scenario;
use harness::scenario::Metric;
use std::path::{Path, PathBuf};

fn scenario_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenarios/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 4,
        "the shipped scenarios are missing: {files:?}"
    );
    files
}

fn run(file: &Path, seed: u64) -> harness::Run {
    let sc = scenario::load(file).unwrap_or_else(|e| panic!("{e}"));
    harness::run(&sc, seed, &models::Pipeline::new())
        .unwrap_or_else(|e| panic!("{}: seed {seed}: {e}", file.display()))
}

fn assert_passes(file: &Path, seed: u64) -> harness::Run {
    let run = run(file, seed);
    let failed: Vec<String> = run
        .outcome
        .expectations
        .iter()
        .filter(|e| !e.passed)
        .map(|e| format!("{} (actual {:?})", e.expr, e.actual))
        .collect();
    assert!(
        failed.is_empty(),
        "{} seed {seed}: expectations failed: {failed:?}",
        file.display()
    );
    run
}

/// Whether a swarm seed drew a crash of a broker (what loses data when the
/// broker never fsyncs).
fn drew_broker_crash(sc: &scenario::Scenario, seed: u64) -> bool {
    harness::swarm::instantiate(sc, seed)
        .faults
        .iter()
        .any(|f| {
            matches!(&f.kind, scenario::FaultKind::Crash { targets }
            if targets.iter().any(|h| h.role == scenario::Role::Broker))
        })
}

/// Scenarios whose seeds 1..=10 run under every lag policy in
/// tests/policies.rs: here only seed 1 (the snapshot), to keep CI short.
const SWEPT_ELSEWHERE: [&str; 1] = ["discord-compaction-storm"];

/// The twins of issue "Every message accounted for": each shows its
/// anomaly on every seed of 1..=10 and its twin none (the queue ones are
/// swept 1..=10 as every queue scenario is).
const TWINS_TEN: [&str; 8] = [
    "producer-delivery-timeout-partition",
    "producer-delivery-timeout-partition-fixed",
    "consumer-cpu-starved-rebalance-loop",
    "consumer-cpu-starved-long-session",
    "consumer-gc-pauses-rebalance",
    "consumer-gc-pauses-long-session",
    "kafka-hot-key-partition",
    "kafka-hot-key-salted",
];

/// Scenarios whose seed-1 `report.md` is pinned too.
const REPORT_MD: [&str; 2] = ["kafka-acks-1-leader-crash", "consumer-commit-before-effect"];

/// Every scenario meets its expectations for seeds 1..=5, the classic
/// queue scenarios (issue #5's acceptance) and [`TWINS_TEN`] for seeds 1..=10.
#[test]
fn every_scenario_meets_its_expectations_for_seeds_1_to_5() {
    let jobs: Vec<(PathBuf, u64)> = scenario_files()
        .into_iter()
        .flat_map(|f| {
            let stem = f.file_stem().unwrap().to_string_lossy().to_string();
            let queue = scenario::load(&f)
                .unwrap_or_else(|e| panic!("{e}"))
                .broker
                .kind
                == scenario::BrokerKind::Queue;
            let last = if SWEPT_ELSEWHERE.contains(&stem.as_str()) {
                1
            } else if queue || TWINS_TEN.contains(&stem.as_str()) {
                10
            } else {
                5
            };
            (1..=last).map(move |seed| (f.clone(), seed))
        })
        .collect();
    let runs = par_map(&jobs, |(file, seed)| run(file, *seed));
    // Every History hash of seeds 1..=3, pinned: a refactor that claims to
    // change no behaviour must leave this file as it is (the Discord storm's
    // seeds 2 and 3 are pinned under every policy in tests/policies.rs).
    let hashes: String = (jobs.iter().zip(&runs))
        .filter(|((_, seed), _)| *seed <= 3)
        .map(|((file, seed), run)| {
            let name = file.file_stem().unwrap().to_string_lossy();
            format!("{name} seed {seed}: {}\n", run.outcome.history_hash)
        })
        .collect();
    insta::assert_snapshot!("history-hashes-seeds-1-to-3", hashes);
    for ((file, seed), run) in jobs.iter().zip(&runs) {
        let sc = scenario::load(file).unwrap();
        assert_accounted(run, &format!("{} seed {seed}", file.display()));
        let failed: Vec<String> = (run.outcome.expectations.iter())
            .filter(|e| !e.passed)
            .map(|e| format!("{} (actual {:?})", e.expr, e.actual))
            .collect();
        // A swarm over a broker that never fsyncs exists to find losses:
        // a seed may fail, but only on `lost` and only if it drew a
        // broker crash. Every other scenario meets all its expectations.
        let explained = sc.swarm.is_some()
            && sc.broker.fsync == scenario::Fsync::Never
            && drew_broker_crash(&sc, *seed)
            && failed.iter().all(|f| f.starts_with("lost"));
        assert!(
            failed.is_empty() || explained,
            "{} seed {seed}: expectations failed: {failed:?}",
            file.display()
        );
        if *seed == 1 {
            let name = file.file_stem().unwrap().to_string_lossy().to_string();
            insta::assert_snapshot!(name.clone(), harness::report::json::run(&run.outcome));
            // report.md, as a CI step summary shows it: one run that
            // loses acked writes, one with duplicates and losses.
            if REPORT_MD.contains(&name.as_str()) {
                let reproduce = format!("mqsim run scenarios/{name}.toml --seed 1");
                let md = harness::report::markdown::run(&run.outcome, &reproduce);
                insta::assert_snapshot!(format!("{name}.report.md"), md);
            }
        }
    }
}

fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
}

#[test]
fn fsync_per_batch_loses_nothing_acked_for_seeds_1_to_20() {
    let file = shipped("broker-crash-fsync-per-batch.toml");
    for seed in 1..=20 {
        let run = assert_passes(&file, seed);
        assert_eq!(run.outcome.counts[Metric::Lost], 0, "seed {seed}");
        assert!(
            run.outcome.counts[Metric::Acked] > 0,
            "seed {seed}: nothing was acked"
        );
    }
}

#[test]
fn fsync_never_loses_acked_messages_on_power_loss() {
    let file = shipped("broker-crash-fsync-never.toml");
    let run = run(&file, 7);
    assert!(
        run.outcome.counts[Metric::Lost] > 0,
        "seed 7: {}",
        harness::report::json::run(&run.outcome)
    );
    // Every lost id is traceable: it was acked and never took effect.
    let (_, lost) = (run.outcome.examples.0.iter())
        .find(|(m, _)| *m == harness::scenario::Metric::Lost)
        .expect("lost has examples");
    let example = lost[0];
    let history: Vec<_> = run
        .history
        .events
        .iter()
        .filter(|e| e.id == example)
        .map(|e| e.kind)
        .collect();
    assert!(history.contains(&harness::EventKind::Ack), "{history:?}");
    assert!(
        !history
            .iter()
            .any(|k| matches!(k, harness::EventKind::Effect { .. })),
        "{history:?}"
    );
}

//! Every shipped scenario validates and meets its own `[expect]`, and the
//! outcome of seed 1 is pinned as an insta snapshot (CI=true makes a missing
//! or changed snapshot fail).

use harness::scenario;
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

#[test]
fn every_scenario_meets_its_expectations_for_seeds_1_to_5() {
    for file in scenario_files() {
        for seed in 1..=5 {
            let run = assert_passes(&file, seed);
            if seed == 1 {
                let name = file.file_stem().unwrap().to_string_lossy().to_string();
                insta::assert_snapshot!(name, run.outcome.to_json());
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
        assert_eq!(run.outcome.counts.lost, 0, "seed {seed}");
        assert!(
            run.outcome.counts.acked > 0,
            "seed {seed}: nothing was acked"
        );
    }
}

#[test]
fn fsync_never_loses_acked_messages_on_power_loss() {
    let file = shipped("broker-crash-fsync-never.toml");
    let run = run(&file, 7);
    assert!(
        run.outcome.counts.lost > 0,
        "seed 7: {}",
        run.outcome.to_json()
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

//! Seed sweeps: the same hashes as single runs, shards that merge into the
//! whole, isolation of a panicking model, shrinking to the cause, and swarm
//! schedules written out as replayable files.

use harness::explore::{sweep, SeedVerdict, Shard, Sweep};
use harness::history::{Inventory, Sample};
use harness::model::{Env, Model};
use harness::scenario::parse;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;

const SMALL: &str = r#"
name = "small"
summary = "a short crash scenario"
duration = "8s"
drain = "4s"
[workload]
rate = "100/s"
[[fault]]
at = "3s"
kind = "crash"
target = "broker-0"
restart_after = "1s"
[expect]
lost = 0
"#;

fn small() -> harness::Scenario {
    parse(Path::new("small.toml"), SMALL).unwrap()
}

fn pipeline() -> Box<dyn Model> {
    Box::new(models::Pipeline::new())
}

#[test]
fn a_sweep_gives_the_hashes_of_single_runs() {
    let sc = small();
    let seeds: Vec<u64> = (1..=20).collect();
    let (results, partial) = sweep(&sc, &seeds, 2, &pipeline, &AtomicBool::new(false), |_| {});
    assert!(!partial);
    assert_eq!(results.len(), 20);
    for r in &results {
        let single = harness::run(&sc, r.seed, &models::Pipeline::new()).unwrap();
        assert_eq!(
            r.history_hash, single.outcome.history_hash,
            "seed {}",
            r.seed
        );
    }
}

/// Panics in every host for seed 3 only.
struct PanicsOnSeed3 {
    seed: u64,
    inner: models::Pipeline,
}

impl Model for PanicsOnSeed3 {
    fn install(&self, sim: &mut turmoil::Sim<'_>, env: &Env) {
        self.inner.install(sim, env);
        if self.seed == 3 {
            sim.host("saboteur", || async {
                mqsim::time::sleep(std::time::Duration::from_millis(500)).await;
                panic!("deliberate model bug");
            });
        }
    }
    fn sample(&self, at_us: u64) -> Sample {
        self.inner.sample(at_us)
    }
    fn inventory(&self) -> Inventory {
        self.inner.inventory()
    }
}

#[test]
fn a_panicking_model_fails_its_seed_and_the_sweep_goes_on() {
    let sc = small();
    let seeds: Vec<u64> = (1..=6).collect();
    // The factory cannot know the seed; each thread takes seeds in order, so
    // count calls: the model is built once per seed, for seeds in order of
    // take-up. One job keeps the order fixed.
    let n = std::sync::atomic::AtomicU64::new(0);
    let factory = || -> Box<dyn Model> {
        let seed = n.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        Box::new(PanicsOnSeed3 {
            seed,
            inner: models::Pipeline::new(),
        })
    };
    let (results, _) = sweep(&sc, &seeds, 1, &factory, &AtomicBool::new(false), |_| {});
    assert_eq!(results.len(), 6, "the sweep went on");
    for r in &results {
        if r.seed == 3 {
            assert_eq!(r.verdict, SeedVerdict::SimFailure);
            let e = r.error.as_deref().unwrap();
            assert!(e.contains("deliberate model bug"), "{e}");
        } else {
            assert_eq!(r.verdict, SeedVerdict::Pass, "seed {}", r.seed);
        }
    }
    let s = Sweep::new("small", "f", "small.toml", &(1..=6), None, false, results);
    assert_eq!(s.exit_code(), 3);
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mqsim-explore-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn mqsim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mqsim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn shards_merge_into_the_whole_sweep() {
    let dir = scratch("shards");
    let file = dir.join("small.toml");
    std::fs::write(&file, SMALL).unwrap();
    let f = file.to_str().unwrap();
    let run = |extra: &[&str], out: &str| {
        let mut args = vec![
            "explore", f, "--seeds", "1..7", "--jobs", "2", "--format", "json",
        ];
        args.extend(extra);
        let o = mqsim(&args);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        std::fs::write(dir.join(out), &o.stdout).unwrap();
        o.stdout
    };
    let whole = run(&[], "whole.json");
    run(&["--shard", "1/2"], "a.json");
    run(&["--shard", "2/2"], "b.json");
    let report = dir.join("merged");
    let merged = mqsim(&[
        "merge",
        dir.join("b.json").to_str().unwrap(),
        dir.join("a.json").to_str().unwrap(),
        "--format",
        "json",
        "--out",
        report.to_str().unwrap(),
    ]);
    assert_eq!(merged.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&merged.stdout),
        String::from_utf8_lossy(&whole)
    );
    // The merged sweep's report: the same JSON, and the CI formats.
    assert_eq!(
        std::fs::read(report.join("sweep.json")).unwrap(),
        merged.stdout
    );
    let junit = std::fs::read_to_string(report.join("junit.xml")).unwrap();
    assert!(
        junit.contains("tests=\"7\" failures=\"0\" errors=\"0\""),
        "{junit}"
    );
    for name in ["sweep.txt", "sweep.md", "sweep.html"] {
        assert!(report.join(name).exists(), "{name}");
    }
    let s: Sweep = serde_json::from_slice(&whole).unwrap();
    assert_eq!(s.results.len(), 7);
    assert_eq!(s.count(SeedVerdict::Pass), 7);
    // One shard alone is partial.
    let part = mqsim(&[
        "merge",
        dir.join("a.json").to_str().unwrap(),
        "--format",
        "json",
    ]);
    let p: Sweep = serde_json::from_slice(&part.stdout).unwrap();
    assert!(p.partial);
    assert_eq!(Shard::parse("2/2").unwrap().seeds(&(1..=7)), vec![2, 4, 6]);
}

#[test]
fn shrink_keeps_the_cause_and_drops_the_noise() {
    let noisy = r#"
name = "noisy"
summary = "one cause of loss among irrelevant faults"
duration = "20s"
drain = "5s"
[workload]
rate = "100/s"
[broker]
fsync = "never"
[consumer]
concurrency = 1
# Consumers fall behind steadily, so the crash finds acked messages that
# live only in the page cache.
[store]
latency = "40ms..60ms"
[[fault]]
at = "2s"
kind = "pause"
target = "consumer-0"
for = "2s"
[[fault]]
at = "5s"
kind = "latency"
a = "producers"
b = "brokers"
latency = "20ms..50ms"
for = "3s"
[[fault]]
at = "10s"
kind = "crash"
target = "broker-0"
restart_after = "3s"
[[fault]]
at = "14s"
kind = "slow_storage"
target = "store-0"
latency = "10ms..30ms"
for = "3s"
[expect]
lost = 0
"#;
    let sc = parse(Path::new("noisy.toml"), noisy).unwrap();
    let shrunk = harness::shrink::shrink(&sc, 2, &|| pipeline(), 80, |_| {}).unwrap();
    let kinds: Vec<&str> = shrunk
        .minimal
        .faults
        .iter()
        .map(|f| f.kind.name())
        .collect();
    assert_eq!(kinds, ["crash"], "the cause stays, the noise goes");
    assert!(shrunk.actual_after.unwrap() > 0);
    // The minimal scenario, written out and read back, still fails on its own.
    let text = harness::scenario::render(&shrunk.minimal, &["shrunk".to_string()]);
    let written = parse(Path::new("minimal.toml"), &text).unwrap();
    let again = harness::run(&written, 2, &models::Pipeline::new()).unwrap();
    assert_eq!(again.outcome.verdict, harness::outcome::Verdict::Fail);
    assert!(shrunk.minimal.duration < sc.duration);
}

#[test]
fn swarm_failures_are_written_as_replayable_scenarios() {
    let dir = scratch("swarm");
    let o = mqsim(&[
        "explore",
        "scenarios/swarm-fsync-never.toml",
        "--seeds",
        "37..39",
        "--jobs",
        "2",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "seed 38 fails: {stdout}");
    assert!(stdout.contains("seed 38: lost = 0"), "{stdout}");
    let drawn = dir.join("swarm-fsync-never-seed-38.toml");
    let text = std::fs::read_to_string(&drawn).expect("the failing seed's schedule is written");
    assert!(text.contains("kind = \"crash\""), "{text}");
    assert!(
        !text.lines().any(|l| l == "[swarm]"),
        "a plain scenario: {text}"
    );
    // Replaying the file gives the same run as the swarm seed.
    let replay = mqsim(&[
        "run",
        drawn.to_str().unwrap(),
        "--seed",
        "38",
        "--format",
        "json",
    ]);
    let swarm = mqsim(&[
        "run",
        "scenarios/swarm-fsync-never.toml",
        "--seed",
        "38",
        "--format",
        "json",
    ]);
    assert_eq!(replay.status.code(), Some(1));
    let hash = |out: &[u8]| {
        serde_json::from_slice::<serde_json::Value>(out).unwrap()["history_hash"].clone()
    };
    assert_eq!(hash(&replay.stdout), hash(&swarm.stdout));
    assert!(dir.join("sweep.json").exists());
}

#[test]
fn ctrl_c_finishes_running_seeds_and_writes_a_partial_summary() {
    let dir = scratch("interrupt");
    let child = Command::new(env!("CARGO_BIN_EXE_mqsim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "explore",
            "scenarios/smoke.toml",
            "--seeds",
            "1..1000",
            "--jobs",
            "2",
        ])
        .args(["--format", "json", "--out", dir.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: Sweep = serde_json::from_slice(&out.stdout).unwrap();
    assert!(s.partial);
    assert!(s.results.len() < 1000);
    let written: Sweep =
        serde_json::from_str(&std::fs::read_to_string(dir.join("sweep.json")).unwrap()).unwrap();
    assert_eq!(written, s, "the partial summary is written too");
}

#[test]
fn sweep_flags_and_partial_merges_are_not_green() {
    let dir = scratch("flags");
    let file = dir.join("small.toml");
    std::fs::write(&file, SMALL).unwrap();
    let f = file.to_str().unwrap();
    for bad in [
        vec!["explore", f, "--seeds", "5..1"],
        vec!["explore", f, "--seeds", "1..3", "--jobs", "0"],
        vec!["explore", f, "--seeds", "1..3", "--shard", "3/2"],
        vec!["explore", f, "--seeds", "0..18446744073709551615"],
        vec!["shrink", f, "--seed", "1", "--max-runs", "0"],
    ] {
        let o = mqsim(&bad);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{bad:?}: {stderr}");
    }
    // One shard of two: the merge is partial and exits 2.
    let a = mqsim(&[
        "explore", f, "--seeds", "1..4", "--shard", "1/2", "--format", "json",
    ]);
    std::fs::write(dir.join("a.json"), &a.stdout).unwrap();
    let m = mqsim(&["merge", dir.join("a.json").to_str().unwrap()]);
    assert_eq!(
        m.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&m.stderr)
    );
    assert!(String::from_utf8_lossy(&m.stdout).contains("(partial)"));
    // A sweep whose --out cannot be written still prints its summary.
    let blocker = dir.join("blocker");
    std::fs::write(&blocker, "").unwrap();
    let out = blocker.join("sub");
    let o = mqsim(&[
        "explore",
        f,
        "--seeds",
        "1..2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stdout).contains("seeds run: 2"));
    // A shrink of a passing seed is bad input, not a crash.
    let o = mqsim(&[
        "shrink",
        f,
        "--seed",
        "1",
        "--out",
        dir.join("m.toml").to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

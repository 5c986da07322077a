//! The command line as a user meets it: exit codes, error messages that name
//! the file and the field, reports written whole, quiet exit on a closed pipe.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn mqsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mqsim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("mqsim runs")
}

/// A scratch directory unique to this test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mqsim-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const VALID: &str = r#"
name = "tiny"
summary = "a small valid scenario"
duration = "5s"
drain = "5s"
[workload]
rate = "100/s"
[[fault]]
at = "1s"
kind = "pause"
target = "consumer-0"
for = "1s"
[expect]
lost = 0
"#;

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

/// Runs `mqsim run` on a broken variant of VALID and returns stderr, after
/// checking exit status 2, no panic, and nothing on stdout.
fn bad(name: &str, text: &str) -> String {
    let dir = scratch(name);
    let file = write(&dir, "s.toml", text);
    let out_dir = dir.join("out");
    let out = mqsim(&["run", &file, "--out", out_dir.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
    assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    assert!(out.stdout.is_empty(), "{name}: wrote to stdout");
    assert!(!out_dir.exists(), "{name}: --out was written for bad input");
    assert!(
        stderr.contains(&file),
        "{name}: the message does not name the file: {stderr}"
    );
    stderr
}

#[test]
fn unknown_field_is_named() {
    let e = bad(
        "unknown",
        &VALID.replace("[workload]", "[workload]\nproducerz = 2"),
    );
    assert!(e.contains("workload.producerz"), "{e}");
    assert!(e.contains("producers"), "the near miss is suggested: {e}");
}

#[test]
fn bad_duration_is_named() {
    let e = bad(
        "duration",
        &VALID.replace("duration = \"5s\"", "duration = \"5 seconds\""),
    );
    assert!(e.contains("duration") && e.contains("5 seconds"), "{e}");
}

#[test]
fn unknown_host_is_named() {
    let e = bad("host", &VALID.replace("consumer-0", "consumer-7"));
    assert!(
        e.contains("fault[0].target") && e.contains("consumer-7"),
        "{e}"
    );
}

#[test]
fn fault_past_the_end_is_named() {
    let e = bad("past", &VALID.replace("at = \"1s\"", "at = \"9s\""));
    assert!(e.contains("fault[0].at"), "{e}");
}

#[test]
fn negative_rate_is_named() {
    let e = bad("rate", &VALID.replace("100/s", "-100/s"));
    assert!(e.contains("workload.rate"), "{e}");
}

#[test]
fn malformed_toml_gives_a_position() {
    let e = bad("syntax", &VALID.replace("[workload]", "[workload"));
    // VALID opens with a newline, so `[workload` is on line 6.
    assert!(
        e.contains("s.toml:6:"),
        "the line of the error is given: {e}"
    );
}

#[test]
fn all_errors_are_reported_at_once() {
    let text = VALID
        .replace("[workload]", "[workload]\nproducerz = 2")
        .replace("consumer-0", "consumer-7")
        .replace("lost = 0", "lsot = 0");
    let e = bad("many", &text);
    for field in ["workload.producerz", "fault[0].target", "expect.lsot"] {
        assert!(e.contains(field), "{field} missing from: {e}");
    }
}

#[test]
fn unreadable_inputs_and_bad_flags_exit_2() {
    let dir = scratch("unreadable");
    for args in [
        vec!["run", "no/such/file.toml"],
        vec!["run", dir.to_str().unwrap()],
        vec!["run", "scenarios/smoke.toml", "--seed", "minus-one"],
        vec!["run", "scenarios/smoke.toml", "--format", "yaml"],
        vec!["frobnicate"],
    ] {
        let out = mqsim(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn a_failed_expectation_exits_1_and_names_it() {
    let dir = scratch("fail");
    let file = write(
        &dir,
        "s.toml",
        &VALID.replace("lost = 0", "lost = 0\nsent = \"> 100000\""),
    );
    let out = mqsim(&["run", &file, "--seed", "5"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.starts_with("seed=5 scenario=tiny policy=unbounded\n"),
        "{stdout}"
    );
    assert!(stdout.contains("FAIL  sent > 100000"), "{stdout}");
    let last = stdout.trim_end().lines().last().unwrap();
    assert_eq!(last, format!("reproduce: mqsim run {file} --seed 5"));
}

#[test]
fn out_writes_whole_reports() {
    let dir = scratch("out");
    let file = write(&dir, "s.toml", VALID);
    let out_dir = dir.join("reports/tiny");
    let out = mqsim(&[
        "run",
        &file,
        "--format",
        "json",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = std::fs::read(out_dir.join("report.json")).unwrap();
    assert_eq!(written, out.stdout, "report.json equals what was printed");
    assert!(out_dir.join("report.txt").exists());
    let mut names: Vec<_> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "junit.xml",
            "report.html",
            "report.json",
            "report.md",
            "report.txt"
        ],
        "no temporary files remain"
    );
}

#[test]
fn unwritable_out_exits_2() {
    let dir = scratch("unwritable");
    let file = write(&dir, "s.toml", VALID);
    // A regular file where the directory should be.
    let blocker = write(&dir, "blocker", "");
    let out = mqsim(&["run", &file, "--out", &format!("{blocker}/sub")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--out"), "{stderr}");
}

#[test]
fn json_contract_keys() {
    let out = mqsim(&[
        "run",
        "scenarios/smoke.toml",
        "--format",
        "json",
        "--seed",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "scenario",
        "seed",
        "history_hash",
        "verdict",
        "counts",
        "lag",
        "recovery_ms",
        "latency_ms",
        "expectations",
        "examples",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    for key in [
        "sent",
        "acked",
        "lost",
        "silently_dropped",
        "shed",
        "recovered",
        "duplicate_deliveries",
        "duplicate_effects",
        "unexpected",
        "order_violations",
        "dead_lettered",
    ] {
        assert!(v["counts"][key].is_u64(), "counts.{key}");
    }
    assert_eq!(v["seed"], 2);
    assert_eq!(v["verdict"], "pass");
}

#[test]
fn validate_and_list() {
    let out = mqsim(&[
        "validate",
        "scenarios/smoke.toml",
        "scenarios/consumer-partition.toml",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let dir = scratch("list");
    write(&dir, "a.toml", VALID);
    write(&dir, "b.toml", &VALID.replace("tiny", "Not A Name"));
    let out = mqsim(&["list", dir.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("tiny  a small valid scenario"), "{stdout}");
    assert_eq!(
        out.status.code(),
        Some(2),
        "an invalid file in the list is bad input"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("b.toml: name"));
    let out = mqsim(&["list"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout.contains("smoke "), "{stdout}");
}

#[test]
fn schema_prints_the_committed_json_schema() {
    let out = mqsim(&["schema"]);
    assert_eq!(out.status.code(), Some(0));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let committed =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scenario.schema.json"))
            .expect("docs/scenario.schema.json");
    let committed: serde_json::Value = serde_json::from_slice(&committed).unwrap();
    assert_eq!(printed, committed);
    assert_eq!(printed["title"], "mqsim scenario");
}

#[test]
fn closed_stdout_exits_quietly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mqsim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["list"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

/// VALID with a lag bound, so every policy can run it.
fn comparable() -> String {
    VALID.replace("[expect]", "[policy]\nmax_lag = 100\n\n[expect]")
}

#[test]
fn compare_prints_every_policy_side_by_side_from_one_command() {
    let dir = scratch("compare");
    let file = write(&dir, "s.toml", &comparable());
    let out_dir = dir.join("out");
    let out = mqsim(&[
        "compare",
        &file,
        "--seed",
        "3",
        "--format",
        "json",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let policies = v["policies"].as_object().unwrap();
    let names: Vec<&str> = policies.keys().map(String::as_str).collect();
    assert_eq!(names.len(), 4, "{names:?}");
    for (name, run) in policies {
        // Each policy's run contract, as `mqsim run --format json` has it.
        assert_eq!(run["policy"], name.as_str());
        assert_eq!(run["seed"], 3);
        assert!(run["counts"]["sent"].as_u64() > Some(0));
    }
    for f in [
        "report.json",
        "report.txt",
        "report.md",
        "report.html",
        "junit.xml",
    ] {
        assert!(out_dir.join(f).is_file(), "{f} missing");
    }
    // The same run of one policy through `mqsim run`, same hash.
    let run = mqsim(&["run", &file, "--seed", "3", "--format", "json"]);
    let r: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(
        r["history_hash"],
        v["policies"]["unbounded"]["history_hash"]
    );

    // A subset, text and Markdown.
    let out = mqsim(&[
        "compare",
        &file,
        "--seeds",
        "1..2",
        "--policy",
        "silent_drop,unbounded",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.starts_with("seeds=1..2 (2) scenario=tiny"), "{text}");
    assert!(
        text.contains("\nsilent_drop ") && text.contains("\nunbounded "),
        "{text}"
    );
    assert!(!text.contains("circuit_breaker"), "{text}");
    assert!(text.contains("reproduce: mqsim compare ",));
    let out = mqsim(&[
        "compare",
        &file,
        "--policy",
        "backpressure",
        "--format",
        "markdown",
    ]);
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(md.contains("| backpressure |"), "{md}");
}

#[test]
fn compare_rejects_bad_input_with_exit_2() {
    let dir = scratch("compare-bad");
    let file = write(&dir, "s.toml", &comparable());
    for (args, wanted) in [
        (vec!["--policy", "silent_dropp"], "silent_drop"),
        (vec!["--scale", "0"], "--scale"),
        (vec!["--seed", "1", "--seeds", "1..3"], "--seeds"),
        (vec!["--seeds", "3..1"], "3..1"),
    ] {
        let mut all = vec!["compare", file.as_str()];
        all.extend(&args);
        let out = mqsim(&all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(wanted), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    // silent_drop needs a lag bound: the file and field are named.
    let unbounded = write(&dir, "u.toml", VALID);
    let out = mqsim(&["compare", &unbounded, "--policy", "silent_drop"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&unbounded) && stderr.contains("policy.max_lag"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn scale_multiplies_rates_and_names_a_limit_it_breaks() {
    let dir = scratch("scale");
    let text = VALID.replace(
        "[expect]",
        "[scale]\ncounts = [\"consumer.workers\"]\n\n[expect]",
    );
    let file = write(&dir, "s.toml", &text);
    let sent = |args: &[&str]| {
        let mut all = vec!["run", file.as_str(), "--format", "json"];
        all.extend(args);
        let out = mqsim(&all);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["counts"]["sent"].as_u64().unwrap()
    };
    assert_eq!(sent(&["--scale", "4"]), 4 * sent(&[]));
    let out = mqsim(&["run", &file, "--scale", "100"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("consumer.workers") && stderr.contains("--scale 100"),
        "{stderr}"
    );
}

#[test]
fn bench_quick_prints_every_figure_with_its_target() {
    let out = mqsim(&["bench", "--quick", "--format", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let figures = v["figures"].as_array().unwrap();
    let names: Vec<&str> = figures
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "floor_messages_per_s",
            "models_vs_floor",
            "flagship_sim_s_per_wall_s",
            "flagship_messages_per_wall_s",
            "flagship_idle_share",
            "idle_busiest_host_tick_share",
            "flagship_traffic_floor_sim_s_per_wall_s",
            "idle_wall_s_per_sim_s_5_hosts",
            "idle_50_vs_5_hosts",
            "idle_200_vs_5_hosts",
            "rate_10x_cost_ratio",
            "history_bytes_per_event",
            "checker_events_per_s",
            "peak_bytes_per_message",
            "projected_peak_gb_20m_messages",
            "explore_seeds_per_min_1_job",
            "explore_2_jobs_vs_1",
        ]
    );
    for f in figures {
        let value = f["value"].as_f64().unwrap();
        assert!(value.is_finite() && value > 0.0, "{f}");
        assert!(f["met"].is_boolean() && f["target"].is_number(), "{f}");
        assert!(!f["how"].as_str().unwrap().is_empty(), "{f}");
    }
}

/// Starts `mqsim args` with its stdout and stderr piped.
fn spawned(args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_mqsim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Sends `child` SIGINT, as ctrl-c does.
fn interrupt(child: &std::process::Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Starts `mqsim args`, sends it SIGINT after `after`, and waits.
fn interrupted(args: &[&str], after: std::time::Duration) -> Output {
    let child = spawned(args);
    std::thread::sleep(after);
    interrupt(&child);
    child.wait_with_output().unwrap()
}

/// Starts `mqsim args`, sends it SIGINT as soon as it prints a line on
/// stderr starting with `mark` (or when stderr ends), and waits: a signal
/// tied to the run's progress, not to a wall time that a faster or slower
/// machine passes with nothing, or everything, done.
fn interrupted_at(args: &[&str], mark: &str) -> Output {
    use std::io::{BufRead, BufReader, Read};
    let mut child = spawned(args);
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            break;
        }
        seen.push_str(&line);
        if line.starts_with(mark) {
            break;
        }
    }
    interrupt(&child);
    stderr.read_to_string(&mut seen).unwrap();
    let mut out = child.wait_with_output().unwrap();
    out.stderr = seen.into_bytes();
    out
}

#[test]
fn ctrl_c_during_a_run_leaves_nothing_behind() {
    use std::os::unix::process::ExitStatusExt;
    let dir = scratch("interrupt-run");
    let out_dir = dir.join("out");
    let out = interrupted(
        &[
            "run",
            "scenarios/discord-compaction-storm.toml",
            // Four times the flagship (about 5 s in a test build), so the
            // signal lands mid-run: the flagship alone is done in 2.5 s.
            "--scale",
            "4",
            "--out",
            out_dir.to_str().unwrap(),
        ],
        std::time::Duration::from_secs(2),
    );
    // Killed by the signal, as a shell reports it (130), never a report
    // written halfway: a run's files are written only once it has finished.
    let by_signal = out.status.signal() == Some(2) || out.status.code() == Some(130);
    assert!(by_signal, "{:?}", out.status);
    let left: Vec<_> = std::fs::read_dir(&out_dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn ctrl_c_during_a_comparison_finishes_running_runs_and_writes_a_partial_report() {
    let dir = scratch("interrupt-compare");
    let out_dir = dir.join("out");
    // Interrupted once the first of the four runs is done: the second is
    // still running (two jobs) and the third has just started.
    let out = interrupted_at(
        &[
            "compare",
            "scenarios/discord-compaction-storm.toml",
            "--seed",
            "1",
            "--jobs",
            "2",
            "--format",
            "json",
            "--out",
            out_dir.to_str().unwrap(),
        ],
        "compare: 1/4",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["partial"], true);
    // A finished policy carries its run contract; one that never started
    // has no runs.
    let policies = v["policies"].as_object().unwrap();
    let finished: Vec<&String> = (policies.iter())
        .filter(|(_, p)| p.get("counts").is_some())
        .map(|(name, _)| name)
        .collect();
    let unstarted =
        (policies.values()).filter(|p| p["runs"].as_array().is_some_and(|r| r.is_empty()));
    assert!(
        !finished.is_empty() && finished.len() + unstarted.count() == 4 && finished.len() < 4,
        "the running runs finish, no new one starts: {policies:?}"
    );
    // The report on disk is the same partial comparison, whole.
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(written, v);
    for name in finished {
        assert!(
            out_dir.join(name).join("seed-1/report.json").exists(),
            "{name}"
        );
    }
}

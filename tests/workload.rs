//! The producer side end to end: bursts follow the schedule, a full buffer
//! sheds with notice, and a request that timed out but landed anyway counts
//! as recovered, not lost.

use harness::scenario::parse;
use harness::scenario::Metric;
use harness::Outcome;
use std::path::Path;

fn run(text: &str, seed: u64) -> Outcome {
    let sc = parse(Path::new("workload.toml"), text).unwrap_or_else(|e| panic!("{e}"));
    harness::run(&sc, seed, &models::Pipeline::new())
        .unwrap_or_else(|e| panic!("{e}"))
        .outcome
}

const BASE: &str = r#"
name = "workload"
summary = "producer behaviour"
duration = "20s"
drain = "20s"
[topology]
partitions = 2
[consumer]
concurrency = 4
"#;

#[test]
fn bursts_follow_the_schedule() {
    let o = run(
        &format!(
            "{BASE}[workload]\nrate = \"100/s\"\nbursts = [{{ at = \"5s\", rate = \"400/s\", for = \"5s\" }}]\n"
        ),
        1,
    );
    // 15 s at 100/s + 5 s at 400/s.
    assert_eq!(
        o.counts[Metric::Sent],
        3_500,
        "{}",
        harness::report::json::run(&o)
    );
    assert_eq!(o.counts[Metric::Acked], 3_500);
    assert_eq!(o.counts[Metric::Lost], 0);
}

#[test]
fn a_full_producer_buffer_sheds_with_notice() {
    let o = run(
        &format!(
            "{BASE}[workload]\nrate = \"200/s\"\nbuffer_max = 100\n[[fault]]\nat = \"5s\"\nkind = \"crash\"\ntarget = \"broker-0\"\nrestart_after = \"8s\"\n"
        ),
        1,
    );
    // ~8 s at 200/s could not be buffered in 100 slots: most were refused.
    assert!(
        o.counts[Metric::Shed] > 1_000,
        "{}",
        harness::report::json::run(&o)
    );
    assert_eq!(
        o.counts[Metric::Lost],
        0,
        "{}",
        harness::report::json::run(&o)
    );
    assert_eq!(o.counts[Metric::SilentlyDropped], 0);
}

#[test]
fn a_timed_out_request_that_landed_counts_as_recovered() {
    // No retries and a hold longer than the request timeout: the producer
    // gives up (timeout), then the held request reaches the broker.
    let o = run(
        &format!(
            "{BASE}[workload]\nrate = \"100/s\"\nretries = 0\n[[fault]]\nat = \"5s\"\nkind = \"hold\"\na = \"producers\"\nb = \"brokers\"\nfor = \"3s\"\n"
        ),
        1,
    );
    assert!(
        o.counts[Metric::Recovered] > 0,
        "{}",
        harness::report::json::run(&o)
    );
    assert_eq!(
        o.counts[Metric::Lost],
        0,
        "{}",
        harness::report::json::run(&o)
    );
}

/// Producers cut off past their delivery timeout abandon messages, the
/// report names them, and expecting `abandoned = 0` fails the run (the
/// issue "Every message accounted for" acceptance).
#[test]
fn producers_cut_off_past_their_delivery_timeout_abandon_messages_and_say_which() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/producer-delivery-timeout-partition.toml");
    let sc = harness::scenario::load(&file).unwrap();
    let r = harness::run(&sc, 1, &models::Pipeline::new()).unwrap();
    let b = &r.figures.balance;
    assert!(
        b.abandoned.n > 0,
        "{}",
        harness::report::json::run(&r.outcome)
    );
    assert_eq!(b.abandoned_silently.n, 0);
    assert_eq!((b.lost.n, b.shed.n), (0, 0));
    // Each example was created, timed out in its producer and never applied.
    for id in &b.abandoned.examples {
        let kinds: Vec<_> = (r.history.events.iter())
            .filter(|e| e.id == *id)
            .map(|e| e.kind)
            .collect();
        assert!(
            kinds.contains(&harness::EventKind::Timeout),
            "{id}: {kinds:?}"
        );
        assert!(
            !kinds
                .iter()
                .any(|k| matches!(k, harness::EventKind::Effect { .. })),
            "{id}: {kinds:?}"
        );
    }
    let json = harness::report::json::run(&r.outcome);
    assert!(
        json.contains(&format!("\"{}\"", b.abandoned.examples[0])),
        "{json}"
    );

    let dir = std::env::temp_dir().join(format!("mqsim-workload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let edited = dir.join("producer-delivery-timeout-partition.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let text = text.replace("abandoned = \"> 0\"", "abandoned = 0");
    std::fs::write(&edited, text).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mqsim"))
        .args(["run", edited.to_str().unwrap(), "--seed", "1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let first = b.abandoned.examples[0].to_string();
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("FAIL  abandoned = 0") && l.contains(&first)),
        "{stdout}"
    );
    assert!(stdout.contains(" abandoned ("), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A producer that crashes holding messages it could not send abandons
/// them without telling anyone; what a live producer still holds when the
/// run ends is in flight.
#[test]
fn a_crashed_producer_abandons_silently_and_a_live_one_holds_in_flight() {
    let o = run(
        &format!(
            r#"{BASE}[workload]
producers = 2
rate = "200/s"
retries = 100
[[fault]]
at = "5s"
kind = "partition"
a = "producer-0"
b = "brokers"
for = "5s"
[[fault]]
at = "7s"
kind = "crash"
target = "producer-0"
restart_after = "2s"
"#
        ),
        1,
    );
    assert!(
        o.counts[Metric::AbandonedSilently] > 0,
        "{}",
        harness::report::json::run(&o)
    );
    assert_eq!(
        o.counts[Metric::Abandoned],
        o.counts[Metric::AbandonedSilently]
    );
    assert_eq!(o.counts[Metric::Lost], 0);
    // Producer 0 was down 2 s: its 100/s share of that time never existed.
    assert_eq!(
        o.counts[Metric::Sent],
        4_000 - 200,
        "{}",
        harness::report::json::run(&o)
    );

    let o = run(
        &BASE
            .replace("drain = \"20s\"", "drain = \"1s\"")
            .replace(
                "[consumer]",
                "[workload]\nrate = \"200/s\"\nretries = 100\nrequest_timeout = \"2s\"\n[[fault]]\nat = \"15s\"\nkind = \"partition\"\na = \"producers\"\nb = \"brokers\"\n[consumer]",
            ),
        1,
    );
    assert!(
        o.counts[Metric::InFlight] > 0,
        "{}",
        harness::report::json::run(&o)
    );
    assert_eq!(
        o.counts[Metric::Abandoned],
        0,
        "{}",
        harness::report::json::run(&o)
    );
}

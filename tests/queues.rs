//! The classic queue model end to end (issue #5): each mechanism —
//! visibility timeout, dead-letter queue, partial batch responses, FIFO
//! groups, redrive, overflow policies, the journal under power loss — against
//! a twin without it, so every checker that should see a difference does.
//! The shipped queue scenarios are swept over seeds 1..=10 in scenarios.rs.

use harness::scenario::{self, Metric};
use harness::Run;
use std::path::Path;
use std::process::Command;

/// A single queue node, 200 msg/s for 30 s; consumers as each test says.
const BASE: &str = r#"
name = "queue-test"
summary = "a queue test"
duration = "30s"
drain = "40s"

[topology]
partitions = 1
stores = 1

[workload]
producers = 2
rate = "200/s"
keys = 50

[broker]
kind = "queue"
visibility_timeout = "3s"

[consumer]
fetch_max = 10
"#;

/// Two consumers with two pollers each, competing on the queue.
const COMPETING: &str = "workers = 2\nconcurrency = 2";

/// BASE with `lines` added to the tables they name (`[broker]` lines go after
/// `[broker]`, …) and `tail` appended (faults, expectations).
fn scenario(broker: &str, consumer: &str, tail: &str) -> scenario::Scenario {
    let text = BASE
        .replace("[broker]\n", &format!("[broker]\n{broker}\n"))
        .replace("[consumer]\n", &format!("[consumer]\n{consumer}\n"))
        + tail;
    scenario::parse(Path::new("queue-test.toml"), &text).unwrap_or_else(|e| panic!("{e}"))
}

fn run(sc: &scenario::Scenario, seed: u64) -> Run {
    harness::run(sc, seed, &models::Pipeline::new()).unwrap_or_else(|e| panic!("seed {seed}: {e}"))
}

fn value(r: &Run, m: Metric) -> u64 {
    r.figures.value(m).unwrap_or(u64::MAX)
}

const POISON: &str = r#"
[[fault]]
at = "5s"
for = "10s"
kind = "poison"
rate = 0.005
"#;

#[test]
fn without_partial_batch_responses_a_dlq_takes_healthy_batch_mates_too() {
    // The poison message fails its whole batch; with one poller, the
    // batch-mates reappear with it and are received with it every time, so
    // they reach max_receives with it.
    let lumped = run(&scenario("max_receives = 3", "workers = 1", POISON), 1);
    let partial = run(
        &scenario(
            "max_receives = 3",
            "workers = 1\npartial_batch_failure = true",
            POISON,
        ),
        1,
    );
    for r in [&lumped, &partial] {
        assert!(value(r, Metric::Poison) > 0);
        assert_eq!(value(r, Metric::PoisonNotDeadLettered), 0);
        assert_eq!(value(r, Metric::Lost), 0);
        assert_eq!(value(r, Metric::Stranded), 0);
    }
    assert!(
        value(&lumped, Metric::Misrouted) > 0,
        "healthy batch-mates dead-lettered"
    );
    assert!(value(&lumped, Metric::DuplicateEffects) > 0);
    assert_eq!(value(&partial, Metric::Misrouted), 0);
    assert_eq!(value(&partial, Metric::DuplicateEffects), 0);
    // Every dead-lettered id was received exactly max_receives times.
    for e in &partial.history.events {
        if let harness::EventKind::DeadLetter { attempts } = e.kind {
            assert_eq!(attempts, 3, "{}", e.id);
        }
    }
}

#[test]
fn a_redrive_puts_dead_letters_back_and_poison_returns_to_the_dlq() {
    let tail = format!("{POISON}\n[[fault]]\nat = \"25s\"\nkind = \"redrive\"\n");
    let r = run(
        &scenario(
            "max_receives = 2",
            &format!("{COMPETING}\npartial_batch_failure = true"),
            &tail,
        ),
        1,
    );
    let poison = value(&r, Metric::Poison);
    assert!(poison > 0);
    // Poison again in the DLQ at the end; each was dead-lettered twice and
    // delivered 2 + 2 times.
    assert_eq!(value(&r, Metric::PoisonDeadLettered), poison);
    assert_eq!(value(&r, Metric::MaxDeliveries), 4);
    let dead_letters = (r.history.events.iter())
        .filter(|e| matches!(e.kind, harness::EventKind::DeadLetter { .. }))
        .count() as u64;
    assert_eq!(dead_letters, 2 * poison);
    assert!(r.history.faults.iter().any(|w| w.kind == "redrive"));
}

#[test]
fn fifo_keeps_each_group_in_order_where_competing_consumers_do_not() {
    let slow_store = "\n[store]\nlatency = \"2ms..12ms\"\n";
    let plain = run(&scenario("", COMPETING, slow_store), 1);
    let fifo = run(&scenario("fifo = true", COMPETING, slow_store), 1);
    assert!(value(&plain, Metric::OrderViolations) > 0);
    assert_eq!(value(&fifo, Metric::OrderViolations), 0);
    for r in [&plain, &fifo] {
        assert_eq!(value(r, Metric::Lost), 0);
        assert_eq!(value(r, Metric::Stranded), 0);
    }
}

#[test]
fn an_unacked_message_comes_back_after_the_visibility_timeout() {
    // consumer-0 stops mid-batch (a long GC pause): what it held reappears
    // after 3 s and consumer-1 delivers it again; consumer-0's late ack
    // carries a stale receipt.
    let tail = r#"
[[fault]]
at = "10s"
for = "10s"
kind = "pause"
target = "consumer-0"
"#;
    // Each message takes 15 ms: the consumers are busy, so the pause
    // catches consumer-0 mid-batch whatever the seed's timing.
    let r = run(&scenario("", "workers = 2\nprocessing = \"15ms\"", tail), 1);
    assert!(value(&r, Metric::DuplicateDeliveries) > 0);
    assert_eq!(value(&r, Metric::Lost), 0);
    assert_eq!(value(&r, Metric::Stranded), 0);
    // The batch in hand was received at most 150 ms (10 messages of 15 ms)
    // before the pause began, so it reappears from 12.85 s on.
    let redelivered_late = r.history.events.iter().any(|e| {
        matches!(e.kind, harness::EventKind::Deliver { attempt: 2, .. })
            && (12_850_000..20_000_000).contains(&e.at_us)
    });
    assert!(redelivered_late, "a second delivery after the timeout");
}

#[test]
fn overflow_policies_reject_drop_or_hold_back() {
    // A store slower than the load: the queue fills to max_length.
    let slow = "\n[store]\nlatency = \"20ms\"\n";
    let with = |overflow: &str| {
        let broker = format!("max_length = 200\noverflow = \"{overflow}\"");
        run(&scenario(&broker, "concurrency = 1", slow), 1)
    };
    let reject = with("reject_new");
    assert!(value(&reject, Metric::Shed) > 0);
    assert_eq!(value(&reject, Metric::SilentlyDropped), 0);
    let drop = with("drop_oldest");
    assert!(value(&drop, Metric::SilentlyDropped) > 0);
    assert_eq!(value(&drop, Metric::Shed), 0);
    let block = with("block");
    assert_eq!(value(&block, Metric::Shed), 0);
    assert_eq!(value(&block, Metric::SilentlyDropped), 0);
    for r in [&reject, &drop, &block] {
        assert_eq!(value(r, Metric::Lost), 0);
        assert!(
            r.figures.lag.max_messages <= 200 + 20,
            "bounded by max_length"
        );
    }
}

#[test]
fn a_journal_synced_per_batch_survives_power_loss_and_one_never_synced_does_not() {
    let crash = r#"
[[fault]]
at = "12s"
kind = "crash"
target = "broker-0"
restart_after = "3s"
"#;
    // Consumers far behind, so the queue holds acked messages at the crash.
    let slow = "\n[store]\nlatency = \"8ms\"\n";
    let tail = format!("{crash}{slow}");
    let synced = run(
        &scenario("fsync = \"per_batch\"", "concurrency = 1", &tail),
        1,
    );
    let never = run(&scenario("fsync = \"never\"", "concurrency = 1", &tail), 1);
    assert_eq!(value(&synced, Metric::Lost), 0);
    assert!(value(&never, Metric::Lost) > 0);
}

#[test]
fn the_no_dlq_report_names_the_poison_ids_and_an_expected_recovery_fails() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/sqs-poison-message.toml");
    let sc = scenario::load(&file).unwrap();
    let r = run(&sc, 1);
    assert_eq!(r.outcome.recovery_ms, None);
    let poison_sent: Vec<_> = (r.history.poison.iter())
        .filter(|id| r.history.events.iter().any(|e| e.id == **id))
        .copied()
        .collect();
    let named = &r.figures[Metric::PoisonNotDeadLettered].examples;
    assert!(!named.is_empty());
    assert!(named.iter().all(|id| poison_sent.contains(id)));
    let json = harness::report::json::run(&r.outcome);
    assert!(json.contains("\"recovery_ms\": null"), "{json}");
    assert!(json.contains(&format!("\"{}\"", named[0])), "{json}");

    // The same file expecting recovery within a minute: exit 1.
    let dir = std::env::temp_dir().join(format!("mqsim-queues-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let edited = dir.join("sqs-poison-message.toml");
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("recovery_ms = \"> 3600000\"", "recovery_ms = \"< 60000\"");
    std::fs::write(&edited, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mqsim"))
        .args(["run", edited.to_str().unwrap(), "--seed", "1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL  recovery_ms < 60000"), "{stdout}");
    assert!(stdout.contains("recovered_in: never"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Three mirrored nodes, `acks = "all"`, a 2 s failure detector.
fn mirrored_text(queue_type: &str, handling: &str, tail: &str) -> String {
    let broker = format!(
        "acks = \"all\"\nqueue_type = \"{queue_type}\"\npartition_handling = \"{handling}\"\nsession_timeout = \"2s\""
    );
    BASE.replace("[topology]\n", "[topology]\nbrokers = 3\n")
        .replace(
            "[workload]\n",
            "[workload]\nrequest_timeout = \"5s\"\nretries = 10\n",
        )
        .replace("[broker]\n", &format!("[broker]\n{broker}\n"))
        .replace(
            "[consumer]\n",
            &format!("[consumer]\n{COMPETING}\nidempotent = true\n"),
        )
        + tail
}

fn mirrored(queue_type: &str, handling: &str, tail: &str) -> scenario::Scenario {
    let text = mirrored_text(queue_type, handling, tail);
    scenario::parse(Path::new("queue-test.toml"), &text).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_master_that_restarts_quickly_hands_over_and_confirms_go_on() {
    // broker-0, the first master, loses power and is back within the
    // failure detector's 2 s: its mirrors must notice the new incarnation,
    // elect, and keep confirming.
    let crash = "\n[[fault]]\nat = \"10s\"\nkind = \"crash\"\ntarget = \"broker-0\"\nrestart_after = \"1s\"\n";
    for (queue_type, handling) in [
        ("classic", "pause_minority"),
        ("classic", "autoheal"),
        ("quorum", "pause_minority"),
    ] {
        // Quorum over more seeds: a follower that kept following the new
        // incarnation must resync from it (seeds 7, 11 and 12 lost
        // confirmed messages when it did not).
        let last = if queue_type == "quorum" { 12 } else { 3 };
        for seed in 1..=last {
            let r = run(&mirrored(queue_type, handling, crash), seed);
            let (sent, acked) = (value(&r, Metric::Sent), value(&r, Metric::Acked));
            assert_eq!(
                value(&r, Metric::Lost),
                0,
                "{queue_type}/{handling} seed {seed}"
            );
            assert_eq!(
                value(&r, Metric::Stranded),
                0,
                "{queue_type}/{handling} seed {seed}"
            );
            assert!(
                acked * 100 >= sent * 95,
                "{queue_type}/{handling} seed {seed}: {acked} of {sent} confirmed"
            );
        }
    }
}

#[test]
fn a_quorum_queue_keeps_what_it_confirmed_when_the_majority_restarts() {
    // broker-0 is cut off while 1 and 2 confirm on their own, then 1 and 2
    // lose power: the stale broker-0 must not lead and wipe them.
    let tail = r#"
[[fault]]
at = "5s"
for = "10s"
kind = "partition"
a = "broker-0"
b = ["broker-1", "broker-2", "producers", "consumers", "stores"]
[[fault]]
at = "16s"
kind = "crash"
target = ["broker-1", "broker-2"]
restart_after = "2s"
"#;
    // Seeds 4, 8, 9 and 11 lost 20-30 confirmed messages before a rejoined
    // node stopped acting on news of its master's restart that predated
    // its sync from it (it elected itself on stale views and wiped the
    // majority's newer ops): a third of all seeds did.
    for seed in 1..=12 {
        let r = run(&mirrored("quorum", "pause_minority", tail), seed);
        assert_eq!(value(&r, Metric::Lost), 0, "seed {seed}");
        assert!(value(&r, Metric::Acked) > 0);
    }
}

#[test]
fn compacted_journals_and_trimmed_op_logs_lose_nothing_across_crashes() {
    // 40,000 messages: the journal passes its compaction threshold (50,000
    // records) and the master's op log its trim length (16,384 ops) well
    // before the crash.
    let busy = |text: String| {
        text.replace("rate = \"200/s\"", "rate = \"1000/s\"")
            .replace("duration = \"30s\"", "duration = \"40s\"")
    };
    let crash = "\n[[fault]]\nat = \"32s\"\nkind = \"crash\"\ntarget = \"broker-0\"\nrestart_after = \"2s\"\n";
    let single = busy(BASE.replace("[consumer]\n", &format!("[consumer]\n{COMPETING}\n")))
        .replace("[broker]\n", "[broker]\nfsync = \"per_batch\"\n")
        + crash;
    let single = scenario::parse(Path::new("single.toml"), &single).unwrap();
    let mirrored = busy(mirrored_text("classic", "pause_minority", crash));
    let mirrored = scenario::parse(Path::new("mirrored.toml"), &mirrored).unwrap();
    for sc in [single, mirrored] {
        let r = run(&sc, 1);
        assert!(value(&r, Metric::Acked) > 35_000, "{}", sc.name);
        assert_eq!(value(&r, Metric::Lost), 0, "{}", sc.name);
        assert_eq!(value(&r, Metric::Stranded), 0, "{}", sc.name);
    }
}

/// A memory alarm that blocks the consumers' connections too leaves the
/// queue stuck after the slowdown ends: recovery never, and an edited copy
/// expecting recovery within a minute fails (exit 1); its twin, where only
/// publishers are blocked, recovers (the issue "Every message accounted
/// for" acceptance; the twin's recovery is in its own `[expect]`, swept by
/// tests/scenarios.rs).
#[test]
fn a_memory_alarm_blocking_consumers_never_recovers_and_an_expected_recovery_fails() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/rabbitmq-memory-alarm-shared-connection.toml");
    let sc = scenario::load(&file).unwrap();
    let r = run(&sc, 1);
    assert_eq!(
        r.outcome.recovery_ms,
        None,
        "{}",
        harness::report::json::run(&r.outcome)
    );
    // Stuck full: the node still holds its memory limit's worth.
    let limit = sc.broker.queue.memory_limit.unwrap();
    assert!(
        r.figures.balance.stranded.n + 100 >= limit,
        "{}",
        harness::report::json::run(&r.outcome)
    );
    let last = r.history.samples.last().unwrap();
    assert!(last.lag_messages() >= limit, "{last:?}");

    let dir = std::env::temp_dir().join(format!("mqsim-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let edited = dir.join("rabbitmq-memory-alarm-shared-connection.toml");
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("recovery_ms = \"> 3600000\"", "recovery_ms = \"< 60000\"");
    std::fs::write(&edited, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mqsim"))
        .args(["run", edited.to_str().unwrap(), "--seed", "1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL  recovery_ms < 60000"), "{stdout}");
    assert!(stdout.contains("recovered_in: never"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A `memory_pressure` window caps what the node holds while it lasts (the
/// alarm holds publishers back, who buffer); once it ends the backlog
/// drains and nothing is lost or refused.
#[test]
fn memory_pressure_caps_the_queue_for_its_window_only() {
    let slow = r#"
[[fault]]
at = "5s"
kind = "pause"
target = "consumers"
for = "10s"
[[fault]]
at = "5s"
kind = "memory_pressure"
target = "broker-0"
limit = 500
for = "10s"
"#;
    let r = run(&scenario("", COMPETING, slow), 1);
    let depth = |from_s: u64, to_s: u64| {
        (r.history.samples.iter())
            .filter(|s| (from_s * 1_000_000..to_s * 1_000_000).contains(&s.at_us))
            .map(|s| s.lag_messages())
            .max()
            .unwrap_or(0)
    };
    // 200/s for 10 s would be 2000 held; the window caps it near 500.
    assert!(depth(5, 15) <= 500 + 100, "{}", depth(5, 15));
    assert!(depth(5, 15) >= 400, "{}", depth(5, 15));
    let c = &r.outcome.counts;
    assert_eq!(
        (
            c[Metric::Lost],
            c[Metric::Shed],
            c[Metric::Stranded],
            c[Metric::InFlight]
        ),
        (0, 0, 0, 0),
        "{}",
        harness::report::json::run(&r.outcome)
    );
    assert_eq!(c[Metric::TookEffect], c[Metric::Sent]);
    assert!(r.outcome.recovery_ms.is_some());
}

/// A buffer in front of the queue: relays forward everything, each stage
/// accounts for its messages, a relay crash re-forwards (duplicates, never
/// losses), and the rate limit bounds what reaches the queue per second.
#[test]
fn a_buffer_and_its_relays_forward_everything_and_each_stage_balances() {
    let buffered = |buffer: &str, tail: &str| {
        let text =
            BASE.replace("[consumer]\n", &format!("[buffer]\n{buffer}\n[consumer]\n")) + tail;
        scenario::parse(Path::new("buffered.toml"), &text).unwrap_or_else(|e| panic!("{e}"))
    };
    // Relay 0 forwards but cannot commit (cut off from the coordinator),
    // then loses power.
    let crash = r#"
[[fault]]
at = "9s"
kind = "partition"
a = "relay-0"
b = "controller-0"
for = "3s"
[[fault]]
at = "11s"
kind = "crash"
target = "relay-0"
restart_after = "2s"
"#;
    let sc = buffered("brokers = 2\npartitions = 2\nrelays = 2", crash);
    let r = run(&sc, 1);
    let o = &r.outcome;
    assert_eq!(
        o.counts[Metric::TookEffect],
        o.counts[Metric::Sent],
        "{}",
        harness::report::json::run(o)
    );
    assert_eq!((o.counts[Metric::Lost], o.counts[Metric::Stranded]), (0, 0));
    assert_eq!(o.stages.len(), 2);
    let (buffer, queue) = (&o.stages[0], &o.stages[1]);
    assert_eq!(
        (buffer.stage.as_str(), queue.stage.as_str()),
        ("buffer", "queue")
    );
    assert_eq!(buffer.sent, o.counts[Metric::Sent]);
    assert_eq!(buffer.took_effect, buffer.sent, "every message forwarded");
    assert_eq!(queue.took_effect, queue.sent);
    assert!(buffer.equation.contains("forwarded"), "{}", buffer.equation);
    // A relay that forwarded a batch and had not committed it when it was
    // cut off forwards it again after its restart (or its successor does),
    // and it is delivered again. Whether the cut-off caught a batch between
    // its forward and its commit depends on the seed's timing: of seeds
    // 1..=3 at least one does, and none loses anything.
    let mut duplicates = vec![o.counts[Metric::DuplicateDeliveries]];
    for seed in 2..=3 {
        let other = run(&sc, seed).outcome;
        assert_eq!(
            (other.counts[Metric::Lost], other.counts[Metric::Stranded]),
            (0, 0),
            "seed {seed}"
        );
        duplicates.push(other.counts[Metric::DuplicateDeliveries]);
    }
    assert!(
        duplicates.iter().any(|&d| d > 0),
        "duplicate deliveries at seeds 1..=3: {duplicates:?}"
    );
    // The stages' events are tagged, the producers' in the buffer's.
    let stage_of = |verb: &str| -> std::collections::BTreeSet<u8> {
        (r.history.events.iter())
            .filter(|e| e.kind.verb() == verb)
            .map(|e| e.stage)
            .collect()
    };
    assert_eq!(stage_of("forward"), [0].into());
    assert_eq!(stage_of("effect"), [1].into());
    assert_eq!(stage_of("send"), [0, 1].into());

    // At most 50/s forwarded: 200/s offered for 30 s piles up in the buffer.
    let slow = run(
        &buffered(
            "brokers = 1\nreplication = 1\nmin_insync = 1\nrate = \"50/s\"",
            "",
        ),
        1,
    );
    let o = &slow.outcome;
    let forwards: Vec<u64> = (slow.history.events.iter())
        .filter(|e| e.kind.verb() == "forward")
        .map(|e| e.at_us)
        .collect();
    let per_second = |s: u64| {
        (forwards.iter())
            .filter(|&&t| (s * 1_000_000..(s + 1) * 1_000_000).contains(&t))
            .count()
    };
    assert!(
        (1..40).all(|s| per_second(s) <= 51),
        "{:?}",
        (0..40).map(per_second).collect::<Vec<_>>()
    );
    assert!(
        o.stages[0].max_lag > 3_000,
        "{}",
        harness::report::json::run(o)
    );
    assert!(
        o.stages[1].max_lag < 100,
        "{}",
        harness::report::json::run(o)
    );
    // 6000 messages at 50/s need 120 s: the 70 s run ends with the rest
    // still in the buffer, stranded there, not lost.
    assert!(
        o.counts[Metric::Stranded] > 1_000,
        "{}",
        harness::report::json::run(o)
    );
    assert_eq!(o.counts[Metric::Lost], 0);
    assert_eq!(o.stages[0].stranded, o.counts[Metric::Stranded]);
}

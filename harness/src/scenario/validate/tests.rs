use super::*;
use crate::metric::Cmp;
use std::collections::BTreeSet;

/// Sets every field of every table and every fault kind.
const FULL: &str = r#"
name = "full-example"
summary = "Every table and field set"
duration = "5m"
drain = "1m"
seed = 42
sample_interval = "500ms"
tick = "2ms"

[topology]
brokers = 3
partitions = 8
stores = 2
replication = 2
store_replication = 2

[network]
latency = "2ms..10ms"

[workload]
producers = 3
rate = "600/m"
keys = 50
bursts = [
  { at = "1m", rate = "500/s", for = "30s" },
  { at = "2m", rate = "1000/s", for = "10s" },
]
retries = 5
request_timeout = "2s"
delivery_timeout = "20s"
linger = "10ms"
buffer_max = 2000
batch_max = 100
idempotent = true

[broker]
kind = "log"
fsync = "interval:100ms"
writeback = "10s"
acks = 1
min_insync = 2
unclean_leader_election = true
replica_lag_max = "5s"
session_timeout = "3s"
processing = "1ms"
cores = 2
retention_messages = 100000
retention_age = "1h"

[consumer]
group = "fanout"
handler = "store_writer"
workers = 4
commit = "before_effect"
idempotent = true
store_timeout = "250ms"
request_timeout = "750ms"
processing = "2ms"
cores = 4
fetch_max = 50
concurrency = 4
assignment = "round_robin"
session_timeout = "15s"
auto_offset_reset = "latest"
reads = 2
read_retry = true

[store]
model = "latency"
latency = "5ms"
read_latency = "2ms..4ms"

[policy]
kind = "silent_drop"
max_lag = 5000
max_lag_age = "10s"

[policy.breaker]
window = "10s"
min_calls = 20
error_rate = 0.25
slow_call = "50ms"
slow_rate = 0.75
open_for = "1s"
probes = 5

[scale]
counts = ["consumer.workers", "policy.max_lag"]

[[fault]]
at = "30s"
kind = "partition"
a = "brokers"
b = ["consumer-1", "consumer-0", "consumer-1"]
oneway = true
for = "20s"

[[fault]]
at = "1m"
kind = "heal"

[[fault]]
at = "1m"
kind = "hold"
a = "producers"
b = "broker-0"

[[fault]]
at = "1m10s"
kind = "release"
a = "producers"
b = "broker-0"

[[fault]]
at = "1m30s"
kind = "latency"
a = "store-0"
b = "consumers"
latency = "100ms..200ms"
for = "1m"

[[fault]]
at = "2m"
kind = "loss"
rate = 0.25
for = "10s"

[[fault]]
at = "3m"
kind = "crash"
target = "broker-0"
restart_after = "30s"

[[fault]]
at = "3m"
kind = "pause"
target = ["consumer-3", "controller-0", "store-1"]
for = "5s"

[[fault]]
at = "4m"
kind = "slow_storage"
target = "stores"
latency = "200ms..800ms"
for = "30s"

[[fault]]
at = "4m40s"
kind = "slow_storage"
target = "store-1"
factor = 8
for = "10s"

[expect]
lost = 0
silently_dropped = "> 0"
max_lag = ">=5000"
recovery_ms = "< 60000"
duplicate_effects = "<=3"
sent = "= 100"

[expect.silent_drop]
silently_dropped = "> 10"

[expect.circuit_breaker]
shed = "> 0"
silently_dropped = 0
"#;

/// A queue scenario: every queue-only field (none of the log's), and
/// the queue-only fault kinds.
const FULL_QUEUE: &str = r#"
name = "full-queue"
summary = "Every queue field set"
duration = "2m"

[topology]
brokers = 3
partitions = 2

[workload]
producers = 2

[broker]
kind = "queue"
fsync = "never"
writeback = "5s"
acks = 1
session_timeout = "60s"
visibility_timeout = "45s"
max_receives = 5
fifo = true
max_length = 2000
overflow = "drop_oldest"
partition_handling = "autoheal"
queue_type = "quorum"
memory_limit = 50000
memory_alarm = "block_all"
message_ttl = "2m"

[buffer]
brokers = 2
partitions = 4
replication = 2
min_insync = 1
relays = 2
rate = "500/s"
max_depth = 1000

[consumer]
workers = 2
commit = "before_effect"
fetch_max = 10
partial_batch_failure = true
retry_backoff = "200ms"

[[fault]]
at = "10s"
kind = "poison"
rate = 0.01
ids = ["p0-17", "p1-0", "p0-3"]
for = "20s"

[[fault]]
at = "15s"
kind = "poison"
ids = ["p1-99"]

[[fault]]
at = "20s"
kind = "partition"
a = "broker-0"
b = ["broker-1", "broker-2"]
for = "10s"

[[fault]]
at = "40s"
kind = "memory_pressure"
target = "broker-1"
limit = 1000
for = "5s"

[[fault]]
at = "1m"
kind = "redrive"

[expect]
poison = "> 0"
poison_dead_lettered = "> 0"
poison_not_dead_lettered = 0
misrouted = 0
max_deliveries = "<= 5"
"#;

const MINIMAL: &str = r#"
name = "minimal"
summary = "Only the required fields"
duration = "2m"
"#;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn ok(text: &str) -> Scenario {
    match parse(Path::new("t.toml"), text) {
        Ok(s) => s,
        Err(e) => panic!("unexpected errors:\n{e}"),
    }
}

fn errs(text: &str) -> Vec<FieldError> {
    match parse(Path::new("t.toml"), text) {
        Ok(s) => panic!("expected errors, parsed {s:?}"),
        Err(e) => e.errors,
    }
}

/// The minimal file plus `extra` (tables go after the top-level keys).
fn with(extra: &str) -> String {
    format!("{MINIMAL}\n{extra}")
}

/// The single error of `text`; it must mention every part of `needles`.
fn one_error(text: &str, path: &str, needles: &[&str]) {
    let e = errs(text);
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(e[0].path, path, "{e:#?}");
    for n in needles {
        assert!(e[0].message.contains(n), "{:?} lacks {n:?}", e[0].message);
    }
}

fn h(role: Role, i: u32) -> Host {
    Host::new(role, i)
}

/// Every declared key of a file, as parsed, is what its rendering says.
/// A snapshot rather than a struct literal, so a new key adds a line to
/// review (`INSTA_UPDATE=always`), not a field to every literal.
fn parsed_keys(s: &Scenario) -> String {
    super::super::render(s, &[])
}

#[test]
fn full_example() {
    let s = ok(FULL);
    insta::assert_snapshot!("full-example-as-parsed", parsed_keys(&s));
    assert_eq!(s.name, "full-example");
    assert_eq!(s.duration, secs(300));
    assert_eq!(s.drain, secs(60));
    assert_eq!(s.seed, 42);
    assert_eq!(s.sample_interval, ms(500));
    assert_eq!(s.tick, ms(2));
    assert_eq!(
        s.network.latency,
        LatencyRange {
            min: ms(2),
            max: ms(10)
        }
    );
    assert_eq!(s.workload.producers, 3);
    assert_eq!(s.workload.rate_per_s, 10);
    assert_eq!(
        s.workload.bursts,
        vec![
            Burst {
                at: secs(60),
                rate_per_s: 500,
                duration: secs(30)
            },
            Burst {
                at: secs(120),
                rate_per_s: 1000,
                duration: secs(10)
            },
        ]
    );
    assert_eq!(s.workload.linger, ms(10));
    assert!(s.workload.idempotent);
    assert_eq!(s.consumer.group, "fanout");
    assert_eq!(s.consumer.commit, CommitMode::BeforeEffect);
    assert!(s.consumer.idempotent);
    assert_eq!(s.consumer.fetch_max, 50);
    assert_eq!(s.consumer.concurrency, 4);
    assert_eq!(s.consumer.assignment, Assignment::RoundRobin);
    assert_eq!(s.consumer.session_timeout, secs(15));
    assert_eq!(s.consumer.auto_offset_reset, OffsetReset::Latest);
    assert_eq!((s.consumer.reads, s.consumer.read_retry), (2, true));
    assert_eq!(
        s.store.latency,
        LatencyRange {
            min: ms(5),
            max: ms(5)
        }
    );
    assert_eq!(
        s.store.read_latency,
        LatencyRange {
            min: ms(2),
            max: ms(4)
        }
    );
    assert_eq!(s.scale_counts, [ScaleCount::Workers, ScaleCount::MaxLag]);
    assert_eq!(s.scale, 1);

    assert_eq!(s.faults.len(), 10);
    let kinds: Vec<&str> = s.faults.iter().map(|f| f.kind.name()).collect();
    assert_eq!(kinds[..9], FAULT_KINDS[..9]);
    assert_eq!(
        s.faults[0],
        Fault {
            at: secs(30),
            until: Some(secs(50)),
            kind: FaultKind::Partition {
                a: vec![h(Role::Broker, 0), h(Role::Broker, 1), h(Role::Broker, 2)],
                b: vec![h(Role::Consumer, 0), h(Role::Consumer, 1)],
                oneway: true,
            },
            repeat: None,
        }
    );
    // heal without a and b: every host on both sides, the controller too.
    match &s.faults[1].kind {
        FaultKind::Heal { a, b } => {
            assert_eq!(a, &s.hosts());
            assert_eq!(b, &s.hosts());
            assert!(a.contains(&h(Role::Controller, 0)));
        }
        k => panic!("{k:?}"),
    }
    assert_eq!(s.faults[1].until, None);
    assert_eq!(s.faults[4].until, Some(secs(150)));
    assert_eq!(
        s.faults[5].kind,
        FaultKind::Loss {
            a: s.hosts(),
            b: s.hosts(),
            rate: 0.25
        }
    );
    assert_eq!(
        s.faults[6],
        Fault {
            at: secs(180),
            until: Some(secs(210)),
            kind: FaultKind::Crash {
                targets: vec![h(Role::Broker, 0)]
            },
            repeat: None,
        }
    );
    assert_eq!(
        s.faults[7].kind,
        FaultKind::Pause {
            targets: vec![
                h(Role::Store, 1),
                h(Role::Consumer, 3),
                h(Role::Controller, 0)
            ]
        }
    );
    assert_eq!(
        s.faults[8].kind,
        FaultKind::SlowStorage {
            targets: vec![h(Role::Store, 0), h(Role::Store, 1)],
            slow: Slowdown::Extra(LatencyRange {
                min: ms(200),
                max: ms(800)
            }),
        }
    );
    assert_eq!(
        s.faults[9].kind,
        FaultKind::SlowStorage {
            targets: vec![h(Role::Store, 1)],
            slow: Slowdown::Factor(8.0),
        }
    );

    let show = |v: &[Expectation]| -> Vec<String> { v.iter().map(|e| e.to_string()).collect() };
    let common = [
        "lost = 0",
        "silently_dropped > 0",
        "max_lag >= 5000",
        "recovery_ms < 60000",
        "duplicate_effects <= 3",
        "sent = 100",
    ];
    assert_eq!(show(&s.expect_common), common);
    // The policy is silent_drop: the common bounds, then its own.
    let mut effective = common.to_vec();
    effective.push("silently_dropped > 10");
    assert_eq!(show(&s.expect), effective);
    let by: Vec<(PolicyKind, Vec<String>)> = (s.expect_by_policy.iter())
        .map(|(k, v)| (*k, show(v)))
        .collect();
    assert_eq!(
        by,
        [
            (
                PolicyKind::SilentDrop,
                vec!["silently_dropped > 10".to_string()]
            ),
            (
                PolicyKind::CircuitBreaker,
                vec!["shed > 0".to_string(), "silently_dropped = 0".to_string()]
            ),
        ]
    );
}

#[test]
fn minimal_file_gets_defaults() {
    let s = ok(MINIMAL);
    // Every default, as the declarations give it.
    insta::assert_snapshot!("minimal-example-as-parsed", parsed_keys(&s));
    assert_eq!((s.name.as_str(), s.duration), ("minimal", secs(120)));
    assert_eq!(s.summary, "Only the required fields");
    assert!(s.faults.is_empty() && s.expect.is_empty() && s.expect_by_policy.is_empty());
    assert_eq!((s.swarm.as_ref(), s.buffer.as_ref()), (None, None));
    assert!(s.scale_counts.is_empty() && s.workload.bursts.is_empty());
    assert_eq!((s.workload.skew, s.scale), (None, 1));
    // The defaults that depend on other keys.
    assert_eq!(
        (s.topology.replication, s.topology.store_replication),
        (1, 1)
    );
}

#[test]
fn required_fields() {
    let e = errs("seed = 3\n");
    let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["name", "summary", "duration"]);
    assert!(e.iter().all(|e| e.message == "missing required field"));
}

#[test]
fn malformed_toml_has_line_and_column() {
    let text = "name = \"x\"\nsummary = \"y\"\nduration = \"1m\n";
    let err = parse(Path::new("bad.toml"), text).unwrap_err();
    assert_eq!(err.errors.len(), 1);
    assert_eq!(err.errors[0].path, "3:15");
    let shown = err.to_string();
    assert!(shown.starts_with("bad.toml:3:15: invalid TOML"), "{shown}");
    assert!(!shown.contains('\n'));

    let err = parse(Path::new("bad.toml"), "a = 1\n[topology\n").unwrap_err();
    assert_eq!(err.errors[0].path, "2:10");
    let err = parse(Path::new("bad.toml"), "x = ").unwrap_err();
    assert_eq!(err.errors[0].path, "1:5");
    assert_eq!(err.errors[0].message, "invalid TOML syntax");
}

#[test]
fn display_is_one_line_per_error() {
    let err = parse(
        Path::new("s/x.toml"),
        &with("[topology]\npartitons = 3\n[workload]\nrate = 5\n"),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "s/x.toml: topology.partitons: unknown field \"partitons\", expected one of: brokers, partitions, stores, replication, store_replication (did you mean \"partitions\"?)\n\
         s/x.toml: workload.rate: expected a rate string such as \"800/s\" or \"30000/m\", found 5"
    );
}

#[test]
fn unknown_top_level_field() {
    one_error(
        &format!("{MINIMAL}durration = \"5m\"\n"),
        "durration",
        &[
            "unknown field \"durration\"",
            "expected one of: name, summary, duration",
            "did you mean \"duration\"?",
        ],
    );
    one_error(
        &format!("{MINIMAL}zzz = 1\n"),
        "zzz",
        &["unknown field \"zzz\""],
    );
    let e = errs(&format!("{MINIMAL}zzz = 1\n"));
    assert!(!e[0].message.contains("did you mean"));
}

#[test]
fn unknown_nested_field_with_suggestion() {
    one_error(
        &with("[topology]\npartitons = 3\n"),
        "topology.partitons",
        &[
            "unknown field \"partitons\", expected one of: brokers, partitions, stores, replication, store_replication",
            "(did you mean \"partitions\"?)",
        ],
    );
    one_error(
        &with("[consumer]\nworkerz = 3\n"),
        "consumer.workerz",
        &["did you mean \"workers\"?"],
    );
    one_error(
        &with("[workload]\nbursts = [{ at = \"1m\", rate = \"5/s\", for = \"1s\", fro = 1 }]\n"),
        "workload.bursts[0].fro",
        &["unknown field \"fro\"", "did you mean \"for\"?"],
    );
    one_error(
        &with("[[fault]]\nat = \"1s\"\nkind = \"crash\"\ntarget = \"all\"\ntargte = 1\n"),
        "fault[0].targte",
        &["did you mean \"target\"?"],
    );
    // Odd keys are quoted in paths.
    one_error(
        &with("[store]\n\"a b\" = 1\n"),
        "store.\"a b\"",
        &["unknown field \"a b\""],
    );
}

#[test]
fn bad_duration() {
    one_error(
        "name = \"x\"\nsummary = \"y\"\nduration = \"5 minutes\"\n",
        "duration",
        &[
            "expected a duration with units such as \"250ms\"",
            "found \"5 minutes\"",
        ],
    );
    one_error(
        &with("[consumer]\nstore_timeout = 500\n"),
        "consumer.store_timeout",
        &["expected a duration string with units", "found 500"],
    );
    one_error(
        &with("[broker]\nwriteback = \"0s\"\n"),
        "broker.writeback",
        &["above 0"],
    );
    one_error(
        &with("tick = \"500us\"\n"),
        "tick",
        &["whole number of milliseconds from 1ms to 100ms"],
    );
    one_error(
        &with("sample_interval = \"3m\"\n"),
        "sample_interval",
        &["at most duration (2m)"],
    );
    one_error(
        "name = \"x\"\nsummary = \"y\"\nduration = \"500ms\"\n",
        "sample_interval",
        &["at most duration (500ms), found 1s (the default)"],
    );
    one_error(
        &with("drain = \"23h59m\"\n"),
        "drain",
        &["above the limit of 24h"],
    );
}

#[test]
fn negative_rate() {
    one_error(
        &with("[workload]\nrate = \"-5/s\"\n"),
        "workload.rate",
        &["expected a rate that is not negative", "found \"-5/s\""],
    );
    one_error(
        &with("[workload]\nrate = -5\n"),
        "workload.rate",
        &["not negative", "found -5"],
    );
    one_error(
        &with("[workload]\nrate = \"2000000/s\"\n"),
        "workload.rate",
        &["at most 1000000/s"],
    );
}

#[test]
fn limits_and_integers() {
    one_error(
        &with("[topology]\npartitions = 2000\n"),
        "topology.partitions",
        &["from 1 to 1024", "found 2000"],
    );
    one_error(
        &with("[topology]\nstores = 0\n"),
        "topology.stores",
        &["from 1 to 64", "found 0"],
    );
    one_error(
        &with("[workload]\nproducers = 65\n"),
        "workload.producers",
        &["from 1 to 64"],
    );
    one_error(
        &with("[consumer]\nworkers = \"2\"\n"),
        "consumer.workers",
        &["found \"2\""],
    );
    one_error(
        &with("[workload]\nretries = 101\n"),
        "workload.retries",
        &["from 0 to 100"],
    );
    assert_eq!(ok(&with("[topology]\nbrokers = 3\n")).topology.brokers, 3);
    assert_eq!(ok(&with("[topology]\nbrokers = 16\n")).topology.brokers, 16);
    one_error(
        &with("[topology]\nbrokers = 17\n"),
        "topology.brokers",
        &["expected an integer from 1 to 16, found 17"],
    );
    one_error(
        &with("[topology]\nbrokers = 0\n"),
        "topology.brokers",
        &["expected an integer from 1 to 16, found 0"],
    );
    one_error(&with("seed = -1\n"), "seed", &["non-negative integer"]);
    one_error(
        &with("[network]\nlatency = \"1ms..20s\"\n"),
        "network.latency",
        &["at most 10s"],
    );
    one_error(
        &with("[store]\nlatency = \"9ms..3ms\"\n"),
        "store.latency",
        &["min is not above its max"],
    );
}

#[test]
fn enums() {
    assert_eq!(
        ok(&with("[broker]\nkind = \"queue\"\n")).broker.kind,
        BrokerKind::Queue
    );
    one_error(
        &with("[broker]\nkind = \"lgo\"\n"),
        "broker.kind",
        &[
            "expected \"log\" or \"queue\"",
            "found \"lgo\"",
            "did you mean \"log\"?",
        ],
    );
    one_error(
        &with("[broker]\nfsync = \"interval:0s\"\n"),
        "broker.fsync",
        &["above 0"],
    );
    one_error(
        &with("[broker]\nfsync = \"sometimes\"\n"),
        "broker.fsync",
        &["\"per_batch\", \"never\""],
    );
    one_error(
        &with("[consumer]\ncommit = \"after_efect\"\n"),
        "consumer.commit",
        &["did you mean \"after_effect\"?"],
    );
    one_error(
        "name = \"Big Name\"\nsummary = \"y\"\nduration = \"1m\"\n",
        "name",
        &["lowercase"],
    );
    one_error(
        "name = \"x\"\nsummary = \"\"\"a\nb\"\"\"\nduration = \"1m\"\n",
        "summary",
        &["one non-empty line"],
    );
    one_error(
        &with("topology = 3\n"),
        "topology",
        &["expected a table [topology], found 3"],
    );
}

#[test]
fn bursts_in_order_inside_load() {
    one_error(
        &with("[workload]\nbursts = [{ at = \"1m\", rate = \"5/s\", for = \"2m\" }]\n"),
        "workload.bursts[0].for",
        &["ends at 3m", "after the load phase ends at 2m"],
    );
    one_error(
        &with("[workload]\nbursts = [{ at = \"10s\", rate = \"5/s\", for = \"20s\" }, { at = \"20s\", rate = \"7/s\", for = \"1s\" }]\n"),
        "workload.bursts[1].at",
        &["not overlap", "starts at 20s, before workload.bursts[0] ends at 30s"],
    );
    one_error(
        &with("[workload]\nbursts = [{ at = \"10s\", rate = \"5/z\", for = \"20s\" }]\n"),
        "workload.bursts[1].rate".replace("[1]", "[0]").as_str(),
        &["expected a rate"],
    );
    one_error(
        &with("[workload]\nbursts = [{ at = \"10s\", rate = \"5/s\" }]\n"),
        "workload.bursts[0].for",
        &["missing"],
    );
}

fn fault(body: &str) -> String {
    with(&format!("[[fault]]\n{body}\n"))
}

#[test]
fn unknown_host() {
    one_error(
        &fault("at = \"1s\"\nkind = \"crash\"\ntarget = \"brokr-0\""),
        "fault[0].target",
        &["unknown host \"brokr-0\"", "(did you mean \"broker-0\"?)"],
    );
    one_error(
        &fault("at = \"1s\"\nkind = \"pause\"\ntarget = [\"store-0\", \"storez\"]"),
        "fault[0].target[1]",
        &["unknown host \"storez\"", "did you mean \"stores\"?"],
    );
    one_error(
        &fault("at = \"1s\"\nkind = \"pause\"\ntarget = []"),
        "fault[0].target",
        &["at least one host"],
    );
}

#[test]
fn host_index_out_of_range() {
    one_error(
        &fault("at = \"1s\"\nkind = \"crash\"\ntarget = \"broker-3\""),
        "fault[0].target",
        &["expected a host such as broker-0 (there is 1 broker), found \"broker-3\""],
    );
    one_error(
        &with("[consumer]\nworkers = 4\n[[fault]]\nat = \"1s\"\nkind = \"pause\"\ntarget = \"consumer-4\"\n"),
        "fault[0].target",
        &["there are 4 consumers, consumer-0 to consumer-3", "found \"consumer-4\""],
    );
    one_error(
        &fault("at = \"1s\"\nkind = \"pause\"\ntarget = \"producer-99999999999999\""),
        "fault[0].target",
        &["there is 1 producer"],
    );
}

#[test]
fn overlapping_faults_on_a_shared_host_or_link() {
    // Two crashes of broker-0: the first restart would end the second.
    one_error(
        &with("[[fault]]\nat = \"10s\"\nkind = \"crash\"\ntarget = \"broker-0\"\nrestart_after = \"10s\"\n[[fault]]\nat = \"15s\"\nkind = \"crash\"\ntarget = \"brokers\"\nrestart_after = \"30s\"\n"),
        "fault[1]",
        &["overlaps fault[0] (crash 10s..20s) on broker-0"],
    );
    // Loss ending would repair a partition still open on the same link.
    one_error(
        &with("[[fault]]\nat = \"10s\"\nkind = \"partition\"\na = \"consumers\"\nb = \"brokers\"\n[[fault]]\nat = \"20s\"\nkind = \"loss\"\na = \"broker-0\"\nb = \"consumer-0\"\nrate = 0.1\nfor = \"5s\"\n"),
        "fault[1]",
        &["overlaps fault[0] (partition 10s..2m)", "consumer-0 <-> broker-0"],
    );
    // Back to back, different hosts, or different kinds on one host: fine.
    for text in [
        "[[fault]]\nat = \"10s\"\nkind = \"pause\"\ntarget = \"consumer-0\"\nfor = \"5s\"\n[[fault]]\nat = \"15s\"\nkind = \"pause\"\ntarget = \"consumer-0\"\nfor = \"5s\"\n",
        "[[fault]]\nat = \"10s\"\nkind = \"pause\"\ntarget = \"consumer-0\"\nfor = \"5s\"\n[[fault]]\nat = \"11s\"\nkind = \"pause\"\ntarget = \"producer-0\"\nfor = \"5s\"\n",
        "[[fault]]\nat = \"10s\"\nkind = \"pause\"\ntarget = \"broker-0\"\nfor = \"5s\"\n[[fault]]\nat = \"11s\"\nkind = \"slow_storage\"\ntarget = \"broker-0\"\nlatency = \"5ms\"\nfor = \"5s\"\n",
    ] {
        assert_eq!(ok(&with(text)).faults.len(), 2, "{text}");
    }
}

#[test]
fn swarm_section() {
    let s = ok(&with("[swarm]\nfaults = 2\nkinds = [\"crash\", \"loss\"]\nwindow = \"1s..5s\"\nrate = \"10/s..20/s\""));
    let sw = s.swarm.unwrap();
    assert_eq!(sw.faults, (2, 2));
    assert_eq!(sw.kinds, ["crash", "loss"]);
    assert_eq!(sw.window, (secs(1), secs(5)));
    assert_eq!(sw.rate, Some((10, 20)));
    let d = ok(&with("[swarm]")).swarm.unwrap();
    assert_eq!(
        (d.faults, d.window, d.rate),
        ((1, 3), (secs(1), secs(10)), None)
    );
    one_error(
        &with("[swarm]\nfaults = \"3..1\""),
        "swarm.faults",
        &["count range"],
    );
    one_error(
        &with("[swarm]\nkinds = [\"heal\"]"),
        "swarm.kinds",
        &["with a window", "\"heal\""],
    );
    one_error(
        &with("[swarm]\nwindow = \"1s..5m\""),
        "swarm.window",
        &["no longer than the load phase (2m)"],
    );
    one_error(
        &with("[swarm]\nrate = \"5/s\""),
        "swarm.rate",
        &["rate range"],
    );
    one_error(
        &with("[swarm]\nwindow = \"500us..900us\""),
        "swarm.window",
        &["whole milliseconds"],
    );
    one_error(
        &with("[swarm]\n[[fault]]\nat = \"1s\"\nkind = \"pause\"\ntarget = \"broker-0\""),
        "swarm",
        &["remove its [[fault]] entries"],
    );
}

#[test]
fn zero_drain_zero_linger_and_too_many_lanes() {
    one_error(&with("drain = \"0\""), "drain", &["at least 1s"]);
    one_error(
        &with("[workload]\nlinger = \"0\""),
        "workload.linger",
        &["above 0"],
    );
    one_error(
        &with("[topology]\npartitions = 1000\n[consumer]\nconcurrency = 8"),
        "consumer.concurrency",
        &["1000 × 8 = 8000"],
    );
}

#[test]
fn fault_past_the_end() {
    one_error(
        &fault("at = \"3m\"\nkind = \"crash\"\ntarget = \"broker-0\""),
        "fault[0].at",
        &["before the end of the load phase (duration = 2m), found 3m"],
    );
    one_error(
        &fault("at = \"90s\"\nkind = \"pause\"\ntarget = \"broker-0\"\nfor = \"1m\""),
        "fault[0].for",
        &["ends at 2m30s (at 1m30s + for 1m), after the load phase ends at 2m"],
    );
    one_error(
        &fault("at = \"90s\"\nkind = \"crash\"\ntarget = \"broker-0\"\nrestart_after = \"31s\""),
        "fault[0].restart_after",
        &["ends at 2m1s", "restart_after 31s"],
    );
    let s = ok(&fault(
        "at = \"90s\"\nkind = \"crash\"\ntarget = \"broker-0\"\nrestart_after = \"30s\"",
    ));
    assert_eq!(s.faults[0].until, Some(secs(120)));
    let s = ok(&fault(
        "at = \"90s\"\nkind = \"crash\"\ntarget = \"broker-0\"",
    ));
    assert_eq!(s.faults[0].until, None);
}

#[test]
fn faults_out_of_order() {
    one_error(
        &with("[[fault]]\nat = \"1m\"\nkind = \"pause\"\ntarget = \"broker-0\"\n[[fault]]\nat = \"30s\"\nkind = \"heal\"\n"),
        "fault[1].at",
        &["time order", "at 30s, before fault[0].at = 1m"],
    );
}

#[test]
fn for_on_crash() {
    one_error(
        &fault("at = \"1s\"\nkind = \"crash\"\ntarget = \"broker-0\"\nfor = \"10s\""),
        "fault[0].for",
        &[
            "field \"for\" does not apply to kind \"crash\"",
            "use restart_after",
        ],
    );
    one_error(
        &fault("at = \"1s\"\nkind = \"heal\"\nfor = \"10s\""),
        "fault[0].for",
        &["does not apply to kind \"heal\""],
    );
}

#[test]
fn field_not_applying_to_kind() {
    one_error(
        &fault("at = \"1s\"\nkind = \"crash\"\ntarget = \"broker-0\"\noneway = true"),
        "fault[0].oneway",
        &["field \"oneway\" does not apply to kind \"crash\""],
    );
    one_error(
        &fault(
            "at = \"1s\"\nkind = \"partition\"\na = \"brokers\"\nb = \"stores\"\nlatency = \"5ms\"",
        ),
        "fault[0].latency",
        &["field \"latency\" does not apply to kind \"partition\""],
    );
}

#[test]
fn unknown_fault_kind_and_missing_fields() {
    one_error(
        &fault("at = \"1s\"\nkind = \"crsh\"\ntarget = \"broker-0\""),
        "fault[0].kind",
        &[
            "unknown fault kind \"crsh\"",
            "expected one of: partition, heal",
            "did you mean \"crash\"?",
        ],
    );
    one_error(
        &fault("at = \"1s\"\nkind = \"partition\"\na = \"brokers\""),
        "fault[0].b",
        &["missing required field"],
    );
    one_error(
        &fault("at = \"1s\"\nkind = \"heal\"\na = \"brokers\""),
        "fault[0].b",
        &["both a and b, or neither"],
    );
    one_error(
        &fault("at = \"1s\"\nkind = \"loss\"\nrate = 1.5"),
        "fault[0].rate",
        &["at most 1"],
    );
    one_error(
        &fault("at = \"1s\"\nkind = \"loss\""),
        "fault[0].rate",
        &["missing required field for kind \"loss\""],
    );
    one_error(
        &fault("at = \"1s\"\nkind = \"latency\""),
        "fault[0].latency",
        &["missing"],
    );
    one_error(
        &fault("kind = \"pause\"\ntarget = \"all\""),
        "fault[0].at",
        &["missing"],
    );
    one_error(&with("[fault]\nat = \"1s\"\n"), "fault", &["[[fault]]"]);
    let s = ok(&fault("at = \"1s\"\nkind = \"loss\"\nrate = 1"));
    assert!(matches!(s.faults[0].kind, FaultKind::Loss { rate, .. } if rate == 1.0));
}

#[test]
fn a_b_overlap() {
    one_error(
        &fault("at = \"1s\"\nkind = \"partition\"\na = \"brokers\"\nb = [\"all\"]"),
        "fault[0].b",
        &["both sides", "broker-0"],
    );
}

#[test]
fn slow_storage_on_a_producer() {
    one_error(
        &fault("at = \"1s\"\nkind = \"slow_storage\"\ntarget = [\"store-0\", \"producer-0\"]\nlatency = \"10ms\""),
        "fault[0].target",
        &["slow_storage applies to brokers, stores and the controller only, found producer-0"],
    );
    let s = ok(&fault(
        "at = \"1s\"\nkind = \"slow_storage\"\ntarget = [\"brokers\", \"controller-0\"]\nlatency = \"10ms\"",
    ));
    assert_eq!(
        s.faults[0].kind,
        FaultKind::SlowStorage {
            targets: vec![h(Role::Broker, 0), h(Role::Controller, 0)],
            slow: Slowdown::Extra(LatencyRange {
                min: ms(10),
                max: ms(10)
            }),
        }
    );
}

#[test]
fn bad_expectation_operator() {
    one_error(
        &with("[expect]\nlost = \"~ 5\"\n"),
        "expect.lost",
        &[
            "comparison such as \"> 0\"",
            "operators =, >, <, <=, >=",
            "found \"~ 5\"",
        ],
    );
    one_error(
        &with("[expect]\nlost = \"== 5\"\n"),
        "expect.lost",
        &["found \"== 5\""],
    );
    one_error(
        &with("[expect]\nlost = -1\n"),
        "expect.lost",
        &["non-negative integer"],
    );
    one_error(
        &with("[expect]\nlost = \">\"\n"),
        "expect.lost",
        &["comparison"],
    );
}

#[test]
fn unknown_metric() {
    one_error(
        &with("[expect]\nlots = 0\n"),
        "expect.lots",
        &[
            "unknown metric \"lots\"",
            "expected one of: sent, acked, took_effect, lost",
            "latency_max_ms",
            "(did you mean \"lost\"?)",
        ],
    );
}

#[test]
fn several_errors_in_one_file_are_all_reported() {
    let text = r#"
name = "several"
summary = "many mistakes"
duration = "5 minutes"
colour = "red"

[topology]
partitons = 3

[workload]
rate = "-5/s"
bursts = [{ at = "1s", rate = "10/s", for = "1s" }, { at = "x", rate = "10/s", for = "1s" }]

[[fault]]
at = "1s"
kind = "crash"
target = "broker-7"
for = "3s"

[[fault]]
at = "2s"
kind = "slow_storage"
target = "producers"
latency = "5ms"

[expect]
lots = "> 0"
"#;
    let e = errs(text);
    assert!(e.len() >= 3, "{e:#?}");
    for path in [
        "duration",
        "colour",
        "topology.partitons",
        "workload.rate",
        "workload.bursts[1].at",
        "fault[0].target",
        "fault[0].for",
        "fault[1].target",
        "expect.lots",
    ] {
        assert!(
            e.iter().any(|e| e.path == path),
            "{path} missing from {e:#?}"
        );
    }
    assert_eq!(e.len(), 9, "{e:#?}");
}

#[test]
fn load_reports_unreadable_files() {
    let dir = std::env::temp_dir();
    let e = load(&dir).unwrap_err();
    assert_eq!(e.errors[0].path, "");
    assert_eq!(e.errors[0].message, "cannot read: is a directory");
    assert_eq!(
        e.to_string(),
        format!("{}: cannot read: is a directory", dir.display())
    );
    let e = load(Path::new("/nonexistent/mqsim/x.toml")).unwrap_err();
    assert_eq!(e.errors[0].message, "cannot read: no such file");
}

#[test]
fn never_panics_on_mutations() {
    let mut inputs: Vec<Vec<u8>> = Vec::new();
    for base in [FULL.as_bytes(), FULL_QUEUE.as_bytes()] {
        // Truncations at every byte boundary.
        for n in 0..=base.len() {
            inputs.push(base[..n].to_vec());
        }
        // Deterministic byte substitutions (a small LCG picks place and byte).
        const BYTES: &[u8] = b"\"[]{}=.,-#0 9\nxa\\'";
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..400 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let at = (x >> 33) as usize % base.len();
            let b = BYTES[(x >> 17) as usize % BYTES.len()];
            let mut v = base.to_vec();
            v[at] = b;
            inputs.push(v);
        }
    }
    for input in inputs {
        let text = String::from_utf8_lossy(&input);
        if let Err(e) = parse(Path::new("m.toml"), &text) {
            assert!(!e.errors.is_empty());
            for fe in &e.errors {
                assert!(!fe.message.is_empty());
                assert!(!fe.message.contains('\n'), "{fe:?}");
            }
        }
    }
}

/// The keys the walker accepts equal the raw types' serde fields.
#[test]
fn walker_and_raw_types_agree() {
    fn serde_keys<T: Default + serde::Serialize>() -> BTreeSet<String> {
        match serde_json::to_value(T::default()) {
            Ok(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
            other => panic!("{other:?}"),
        }
    }
    fn fields<T: Schema>() -> BTreeSet<String> {
        T::fields().iter().map(|s| s.to_string()).collect()
    }
    use super::super::raw::*;
    use super::super::tables::*;
    let schemas: [(&str, BTreeSet<String>, BTreeSet<String>); 19] = [
        (
            "scenario",
            serde_keys::<RawScenario>(),
            fields::<RawScenario>(),
        ),
        (
            "topology",
            serde_keys::<RawTopology>(),
            fields::<RawTopology>(),
        ),
        (
            "network",
            serde_keys::<RawNetwork>(),
            fields::<RawNetwork>(),
        ),
        (
            "workload",
            serde_keys::<RawWorkload>(),
            fields::<RawWorkload>(),
        ),
        ("burst", serde_keys::<RawBurst>(), fields::<RawBurst>()),
        ("broker", serde_keys::<RawBroker>(), fields::<RawBroker>()),
        (
            "consumer",
            serde_keys::<RawConsumer>(),
            fields::<RawConsumer>(),
        ),
        ("store", serde_keys::<RawStore>(), fields::<RawStore>()),
        ("policy", serde_keys::<RawPolicy>(), fields::<RawPolicy>()),
        (
            "breaker",
            serde_keys::<RawBreaker>(),
            fields::<RawBreaker>(),
        ),
        ("scale", serde_keys::<RawScale>(), fields::<RawScale>()),
        ("swarm", serde_keys::<RawSwarm>(), fields::<RawSwarm>()),
        ("buffer", serde_keys::<RawBuffer>(), fields::<RawBuffer>()),
        ("fault", serde_keys::<RawFault>(), fields::<RawFault>()),
        ("expect", serde_keys::<RawExpect>(), fields::<RawExpect>()),
        (
            "policy_expect",
            serde_keys::<RawPolicyExpect>(),
            fields::<RawPolicyExpect>(),
        ),
        (
            "metrics",
            Metric::ALL.iter().map(|m| m.name().to_string()).collect(),
            fields::<RawPolicyExpect>()
                .into_iter()
                .filter(|k| k != "partition" && k != "key")
                .collect(),
        ),
        (
            "group_expect",
            serde_keys::<RawGroupExpect>(),
            fields::<RawGroupExpect>(),
        ),
        (
            "group_metrics",
            GROUP_METRICS.iter().map(|m| m.name().to_string()).collect(),
            fields::<RawGroupExpect>(),
        ),
    ];
    for (name, serde, fields) in &schemas {
        assert_eq!(serde, fields, "schema {name}");
    }
    // `[expect]` holds the metrics, one sub-table per policy kind, and
    // the groups (`partition.<p>`, `key.<class>`).
    let metrics = &RawPolicyExpect::fields()[..RawPolicyExpect::fields().len() - 2];
    let mut expect_keys: Vec<&str> = metrics.to_vec();
    expect_keys.extend(PolicyKind::ALL.iter().map(|k| k.name()));
    expect_keys.extend(["partition", "key"]);
    assert_eq!(RawExpect::fields(), expect_keys);

    // Walking the full example (plus a [swarm], which excludes its
    // faults) reads exactly every schema field.
    let root: Table = FULL.parse().unwrap();
    let mut c = Check::default();
    assert!(c.scenario(&root).is_some(), "{:#?}", c.errors);
    let swarm: Table = with(
        "[swarm]\nfaults = 1\nkinds = [\"crash\"]\nwindow = \"1s..2s\"\nrate = \"1/s..2/s\"\n",
    )
    .parse()
    .unwrap();
    assert!(c.scenario(&swarm).is_some(), "{:#?}", c.errors);
    let queue: Table = FULL_QUEUE.parse().unwrap();
    assert!(c.scenario(&queue).is_some(), "{:#?}", c.errors);
    for (name, _, fields) in &schemas[..16] {
        let read: BTreeSet<String> = c
            .read
            .iter()
            .filter(|(s, _)| s == name)
            .map(|(_, k)| k.clone())
            .collect();
        if *name == "expect" || *name == "policy_expect" {
            assert!(!read.is_empty() && read.is_subset(fields), "{read:?}");
        } else {
            assert_eq!(&read, fields, "fields read by the walker for {name}");
        }
    }

    // The fault kind table covers the kinds, and names only fault fields.
    let kinds: Vec<&str> = FAULT_KIND_FIELDS.iter().map(|(k, _)| *k).collect();
    assert_eq!(kinds, FAULT_KINDS);
    for (_, fs) in FAULT_KIND_FIELDS {
        assert!(fs
            .iter()
            .all(|f| RawFault::fields().contains(f) && *f != "at" && *f != "kind"));
    }

    // Every other key is rejected in every table.
    let text = format!(
        "{MINIMAL}bogus = 1\n[topology]\nbogus = 1\n[network]\nbogus = 1\n[workload]\nbogus = 1\n\
         bursts = [{{ at = \"1s\", rate = \"1/s\", for = \"1s\", bogus = 1 }}]\n[broker]\nbogus = 1\n\
         [consumer]\nbogus = 1\n[store]\nbogus = 1\n[policy]\nbogus = 1\n[policy.breaker]\nbogus = 1\n\
         [scale]\nbogus = 1\n[[fault]]\nat = \"1s\"\nkind = \"heal\"\nbogus = 1\n\
         [expect]\nbogus = 1\n[expect.backpressure]\nbogus = 1\n"
    );
    assert_eq!(errs(&text).len(), 14, "{:#?}", errs(&text));
    let s = ok(&with("[swarm]\n"));
    assert!(s.swarm.is_some());
    one_error(
        &with("[swarm]\nbogus = 1\n"),
        "swarm.bogus",
        &["unknown field"],
    );
}

/// Valid files also deserialise through the serde raw types.
#[test]
fn valid_files_fit_the_raw_types() {
    let mut texts = vec![
        FULL.to_string(),
        FULL_QUEUE.to_string(),
        MINIMAL.to_string(),
    ];
    texts.extend(readme_examples());
    for text in &texts {
        let raw: RawScenario = toml::from_str(text).unwrap();
        assert!(raw.name.is_some());
    }
}

fn readme_section() -> String {
    let readme = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/scenario-format.md"
    ))
    .expect("docs/scenario-format.md");
    let start = readme
        .find("<!-- scenario-reference:start -->")
        .expect("start marker");
    let end = readme
        .find("<!-- scenario-reference:end -->")
        .expect("end marker");
    readme[start..end].to_string()
}

/// Every ```toml block of the reference (docs/scenario-format.md).
fn readme_examples() -> Vec<String> {
    let section = readme_section();
    let mut out = Vec::new();
    let mut rest = section.as_str();
    while let Some(i) = rest.find("```toml\n") {
        rest = &rest[i + "```toml\n".len()..];
        let len = rest.find("```").expect("end of the example");
        out.push(rest[..len].to_string());
        rest = &rest[len + 3..];
    }
    assert!(!out.is_empty(), "a ```toml example");
    out
}

#[test]
fn readme_documents_every_key() {
    use super::super::raw::*;
    use super::super::tables::*;
    let section = readme_section();
    let mut keys: Vec<&str> = Vec::new();
    for fs in [
        &RawScenario::fields(),
        &RawTopology::fields(),
        &RawNetwork::fields(),
        &RawWorkload::fields(),
        &RawBurst::fields(),
        &RawBroker::fields(),
        &RawConsumer::fields(),
        &RawStore::fields(),
        &RawPolicy::fields(),
        &RawBreaker::fields(),
        &RawScale::fields(),
        &RawFault::fields(),
        &RawExpect::fields(),
        &RawPolicyExpect::fields(),
        &RawSwarm::fields(),
    ] {
        keys.extend(fs);
    }
    keys.extend(Metric::ALL.iter().map(|m| m.name()));
    keys.extend(FAULT_KINDS);
    keys.extend(PolicyKind::ALL.iter().map(|k| k.name()));
    keys.extend(ScaleCount::ALL.iter().map(|c| c.path()));
    keys.extend(["[policy.breaker]", "--scale K", "--policy"]);
    keys.extend([
        "per_batch",
        "never",
        "after_effect",
        "before_effect",
        "all",
        "range",
        "round_robin",
        "earliest",
        "latest",
        "controller-0",
        "log",
        "queue",
        "reject_new",
        "drop_oldest",
        "block",
        "pause_minority",
        "autoheal",
        "classic",
        "quorum",
    ]);
    keys.extend(Role::ALL.iter().map(|r| r.plural()));
    let missing: Vec<&str> = keys
        .into_iter()
        .filter(|k| {
            // Tables may be written as their header: `[topology]`, `[[fault]]`.
            [format!("`{k}`"), format!("`[{k}]`"), format!("`[[{k}]]`")]
                .iter()
                .all(|quoted| !section.contains(quoted.as_str()))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "docs/scenario-format.md lacks: {missing:?}"
    );
}

#[test]
fn readme_examples_are_valid() {
    for text in readme_examples() {
        let s = ok(&text);
        assert!(!s.expect.is_empty(), "{text}");
    }
    assert!(readme_examples().iter().any(|t| !ok(t).faults.is_empty()));
}

#[test]
fn replication() {
    // Default min(3, brokers).
    for (brokers, replication) in [(1, 1), (2, 2), (3, 3), (16, 3)] {
        let s = ok(&with(&format!("[topology]\nbrokers = {brokers}\n")));
        assert_eq!(s.topology.replication, replication, "brokers = {brokers}");
    }
    let s = ok(&with("[topology]\nbrokers = 5\nreplication = 5\n"));
    assert_eq!(s.topology.replication, 5);
    one_error(
        &with("[topology]\nbrokers = 3\nreplication = 4\n"),
        "topology.replication",
        &["expected at most topology.brokers (3), found 4"],
    );
    one_error(
        &with("[topology]\nreplication = 2\n"),
        "topology.replication",
        &["expected at most topology.brokers (1), found 2"],
    );
    one_error(
        &with("[topology]\nreplication = 0\n"),
        "topology.replication",
        &["expected an integer of at least 1, found 0"],
    );
    one_error(
        &with("[topology]\nreplication = \"2\"\n"),
        "topology.replication",
        &["expected an integer", "found \"2\""],
    );
    // An invalid broker count is the only error: replication is not
    // judged against it.
    one_error(
        &with("[topology]\nbrokers = 40\nreplication = 20\n"),
        "topology.brokers",
        &["from 1 to 16, found 40"],
    );
}

#[test]
fn idempotent_producer() {
    assert!(!ok(MINIMAL).workload.idempotent);
    assert!(
        ok(&with("[workload]\nidempotent = true\n"))
            .workload
            .idempotent
    );
    one_error(
        &with("[workload]\nidempotent = \"yes\"\n"),
        "workload.idempotent",
        &["expected true or false, found \"yes\""],
    );
}

#[test]
fn acks() {
    for (text, acks) in [
        ("0", Acks::None),
        ("1", Acks::Leader),
        ("\"0\"", Acks::None),
        ("\"1\"", Acks::Leader),
        ("\"all\"", Acks::All),
    ] {
        let s = ok(&with(&format!("[broker]\nacks = {text}\n")));
        assert_eq!(s.broker.acks, acks, "acks = {text}");
    }
    one_error(
        &with("[broker]\nacks = 2\n"),
        "broker.acks",
        &["expected 0, 1 or \"all\", found 2"],
    );
    one_error(
        &with("[broker]\nacks = \"al\"\n"),
        "broker.acks",
        &[
            "expected 0, 1 or \"all\", found \"al\"",
            "(did you mean \"all\"?)",
        ],
    );
    one_error(
        &with("[broker]\nacks = \"leader\"\n"),
        "broker.acks",
        &["expected 0, 1 or \"all\", found \"leader\""],
    );
    one_error(
        &with("[broker]\nacks = true\n"),
        "broker.acks",
        &["expected 0, 1 or \"all\", found true"],
    );
    one_error(
        &with("[broker]\nacks = -1\n"),
        "broker.acks",
        &["found -1", "write \"all\" for Kafka's -1"],
    );
}

#[test]
fn min_insync() {
    let s = ok(&with("[topology]\nbrokers = 3\n[broker]\nmin_insync = 2\n"));
    assert_eq!(s.broker.min_insync, 2);
    let s = ok(&with(
        "[topology]\nbrokers = 5\nreplication = 5\n[broker]\nmin_insync = 5\n",
    ));
    assert_eq!(s.broker.min_insync, 5);
    one_error(
        &with("[topology]\nbrokers = 3\nreplication = 2\n[broker]\nmin_insync = 3\n"),
        "broker.min_insync",
        &["expected at most topology.replication (2), found 3"],
    );
    // Against the default replication, the message says where it came from.
    one_error(
        &with("[topology]\nbrokers = 4\n[broker]\nmin_insync = 4\n"),
        "broker.min_insync",
        &[
            "expected at most topology.replication (3, its default: min(3, topology.brokers)), found 4",
        ],
    );
    one_error(
        &with("[broker]\nmin_insync = 0\n"),
        "broker.min_insync",
        &["expected an integer of at least 1, found 0"],
    );
    one_error(
        &with("[broker]\nmin_insync = 1.5\n"),
        "broker.min_insync",
        &["found 1.5"],
    );
    // An invalid replication is the only error: min_insync is not judged
    // against it.
    one_error(
        &with("[topology]\nreplication = 0\n[broker]\nmin_insync = 3\n"),
        "topology.replication",
        &["at least 1"],
    );
}

#[test]
fn leader_election_and_liveness_timeouts() {
    let s = ok(&with(
        "[broker]\nunclean_leader_election = true\nreplica_lag_max = \"2s\"\nsession_timeout = \"900ms\"\n",
    ));
    assert!(s.broker.unclean_leader_election);
    assert_eq!(s.broker.replica_lag_max, secs(2));
    assert_eq!(s.broker.session_timeout, ms(900));
    one_error(
        &with("[broker]\nunclean_leader_election = 1\n"),
        "broker.unclean_leader_election",
        &["expected true or false, found 1"],
    );
    one_error(
        &with("[broker]\nreplica_lag_max = \"0s\"\n"),
        "broker.replica_lag_max",
        &["above 0"],
    );
    one_error(
        &with("[broker]\nreplica_lag_max = 10\n"),
        "broker.replica_lag_max",
        &["expected a duration string with units", "found 10"],
    );
    one_error(
        &with("[broker]\nsession_timeout = \"0\"\n"),
        "broker.session_timeout",
        &["above 0"],
    );
    one_error(
        &with("[broker]\nsession_timeout = \"6 s\"\n"),
        "broker.session_timeout",
        &["found \"6 s\""],
    );
}

#[test]
fn retention() {
    let b = ok(MINIMAL).broker;
    assert_eq!((b.retention_messages, b.retention_age), (None, None));
    let b = ok(&with(
        "[broker]\nretention_messages = 10000000000\nretention_age = \"1h30m\"\n",
    ))
    .broker;
    assert_eq!(b.retention_messages, Some(10_000_000_000));
    assert_eq!(b.retention_age, Some(secs(5400)));
    assert_eq!(
        ok(&with("[broker]\nretention_messages = 1\n"))
            .broker
            .retention_messages,
        Some(1)
    );
    one_error(
        &with("[broker]\nretention_messages = 0\n"),
        "broker.retention_messages",
        &["expected an integer of at least 1, found 0"],
    );
    one_error(
        &with("[broker]\nretention_messages = \"1000\"\n"),
        "broker.retention_messages",
        &["expected an integer of at least 1, found \"1000\""],
    );
    one_error(
        &with("[broker]\nretention_age = \"0s\"\n"),
        "broker.retention_age",
        &["above 0"],
    );
    one_error(
        &with("[broker]\nretention_age = 3600\n"),
        "broker.retention_age",
        &["expected a duration string with units", "found 3600"],
    );
}

#[test]
fn consumer_group_fields() {
    let c = ok(&with(
        "[consumer]\nassignment = \"round_robin\"\nsession_timeout = \"30s\"\nauto_offset_reset = \"earliest\"\n",
    ))
    .consumer;
    assert_eq!(c.assignment, Assignment::RoundRobin);
    assert_eq!(c.session_timeout, secs(30));
    assert_eq!(c.auto_offset_reset, OffsetReset::Earliest);
    let c = ok(&with(
        "[consumer]\nassignment = \"range\"\nauto_offset_reset = \"latest\"\n",
    ))
    .consumer;
    assert_eq!(c.assignment, Assignment::Range);
    assert_eq!(c.auto_offset_reset, OffsetReset::Latest);
    one_error(
        &with("[consumer]\nassignment = \"round-robin\"\n"),
        "consumer.assignment",
        &[
            "expected \"range\" or \"round_robin\", found \"round-robin\"",
            "(did you mean \"round_robin\"?)",
        ],
    );
    one_error(
        &with("[consumer]\nassignment = \"sticky\"\n"),
        "consumer.assignment",
        &["expected \"range\" or \"round_robin\", found \"sticky\""],
    );
    let e = errs(&with("[consumer]\nassignment = \"sticky\"\n"));
    assert!(!e[0].message.contains("did you mean"));
    one_error(
        &with("[consumer]\nassignment = 1\n"),
        "consumer.assignment",
        &["expected \"range\" or \"round_robin\", found 1"],
    );
    one_error(
        &with("[consumer]\nsession_timeout = \"0ms\"\n"),
        "consumer.session_timeout",
        &["above 0"],
    );
    one_error(
        &with("[consumer]\nsession_timeout = true\n"),
        "consumer.session_timeout",
        &["expected a duration string with units", "found true"],
    );
    one_error(
        &with("[consumer]\nauto_offset_reset = \"earlist\"\n"),
        "consumer.auto_offset_reset",
        &[
            "expected \"earliest\" or \"latest\", found \"earlist\"",
            "(did you mean \"earliest\"?)",
        ],
    );
    one_error(
        &with("[consumer]\nauto_offset_reset = \"none\"\n"),
        "consumer.auto_offset_reset",
        &["expected \"earliest\" or \"latest\", found \"none\""],
    );
}

#[test]
fn controller_hosts() {
    let s = ok(&fault(
        "at = \"1s\"\nkind = \"crash\"\ntarget = \"controller-0\"",
    ));
    assert_eq!(
        s.faults[0].kind,
        FaultKind::Crash {
            targets: vec![h(Role::Controller, 0)]
        }
    );
    let s = ok(&fault(
        "at = \"1s\"\nkind = \"partition\"\na = \"controllers\"\nb = [\"brokers\", \"consumer-0\"]",
    ));
    assert_eq!(
        s.faults[0].kind,
        FaultKind::Partition {
            a: vec![h(Role::Controller, 0)],
            b: vec![h(Role::Broker, 0), h(Role::Consumer, 0)],
            oneway: false,
        }
    );
    let s = ok(&fault("at = \"1s\"\nkind = \"pause\"\ntarget = \"all\""));
    match &s.faults[0].kind {
        FaultKind::Pause { targets } => assert!(targets.contains(&h(Role::Controller, 0))),
        k => panic!("{k:?}"),
    }
    one_error(
        &fault("at = \"1s\"\nkind = \"crash\"\ntarget = \"controller-1\""),
        "fault[0].target",
        &["expected a host such as controller-0 (there is 1 controller), found \"controller-1\""],
    );
    one_error(
        &fault("at = \"1s\"\nkind = \"crash\"\ntarget = \"controler-0\""),
        "fault[0].target",
        &[
            "unknown host \"controler-0\"",
            "a role (brokers, stores, producers, consumers, controllers, buffers, relays) or all",
            "(did you mean \"controller-0\"?)",
        ],
    );
    one_error(
        &fault("at = \"1s\"\nkind = \"pause\"\ntarget = \"controller\""),
        "fault[0].target",
        &["(did you mean \"controllers\"?)"],
    );
    one_error(
        &fault("at = \"1s\"\nkind = \"partition\"\na = \"controller-0\"\nb = \"all\""),
        "fault[0].b",
        &["both sides", "controller-0"],
    );
}

#[test]
fn cluster_errors_are_all_reported_at_once() {
    let e = errs(&with(
        "[topology]\nbrokers = 2\nreplication = 3\n[workload]\nidempotent = 1\n\
         [broker]\nacks = \"none\"\nmin_insync = 0\nretention_messages = -5\n\
         [consumer]\nassignment = \"rnage\"\nauto_offset_reset = 0\nsession_timeout = \"0s\"\n",
    ));
    let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "topology.replication",
            "workload.idempotent",
            "broker.acks",
            "broker.min_insync",
            "broker.retention_messages",
            "consumer.assignment",
            "consumer.session_timeout",
            "consumer.auto_offset_reset",
        ],
        "{e:#?}"
    );
    assert!(e[5].message.contains("did you mean \"range\"?"), "{e:#?}");
}

#[test]
fn store_replication() {
    assert_eq!(ok(MINIMAL).topology.store_replication, 1);
    let t = ok(&with("[topology]\nstores = 3\nstore_replication = 3\n")).topology;
    assert_eq!((t.stores, t.store_replication), (3, 3));
    one_error(
        &with("[topology]\nstores = 2\nstore_replication = 3\n"),
        "topology.store_replication",
        &["expected at most topology.stores (2), found 3"],
    );
    one_error(
        &with("[topology]\nstore_replication = 2\n"),
        "topology.store_replication",
        &["expected at most topology.stores (1, its default), found 2"],
    );
    one_error(
        &with("[topology]\nstore_replication = 0\n"),
        "topology.store_replication",
        &["expected an integer of at least 1, found 0"],
    );
    // An invalid store count is the only error.
    one_error(
        &with("[topology]\nstores = 0\nstore_replication = 2\n"),
        "topology.stores",
        &["from 1 to 64, found 0"],
    );
}

#[test]
fn store_reads() {
    let s = ok(MINIMAL);
    assert_eq!((s.consumer.reads, s.consumer.read_retry), (0, false));
    assert_eq!(s.store.read_latency, ms_range(1, 5));
    let s = ok(&with(
        "[consumer]\nreads = 16\nread_retry = true\n[store]\nread_latency = \"3ms..9ms\"\n",
    ));
    assert_eq!((s.consumer.reads, s.consumer.read_retry), (16, true));
    assert_eq!(s.store.read_latency, ms_range(3, 9));
    // The write latency keeps its own default.
    assert_eq!(s.store.latency, ms_range(1, 3));
    one_error(
        &with("[consumer]\nreads = 17\n"),
        "consumer.reads",
        &["expected an integer from 0 to 16, found 17"],
    );
    one_error(
        &with("[consumer]\nreads = -1\n"),
        "consumer.reads",
        &["from 0 to 16, found -1"],
    );
    one_error(
        &with("[consumer]\nread_retry = \"yes\"\n"),
        "consumer.read_retry",
        &["expected true or false, found \"yes\""],
    );
    one_error(
        &with("[store]\nread_latency = \"1ms..20s\"\n"),
        "store.read_latency",
        &["whose max is at most 10s, found \"1ms..20s\""],
    );
    one_error(
        &with("[store]\nread_latency = 5\n"),
        "store.read_latency",
        &["expected a latency range string", "found 5"],
    );
    one_error(
        &with("[store]\nread_latncy = \"5ms\"\n"),
        "store.read_latncy",
        &["(did you mean \"read_latency\"?)"],
    );
}

#[test]
fn policy_kinds_and_bounds() {
    assert_eq!(
        ok(MINIMAL).policy,
        Policy {
            kind: PolicyKind::Unbounded,
            max_lag: None,
            max_lag_age: None,
            breaker: BreakerConfig::default(),
        }
    );
    for k in PolicyKind::ALL {
        let p = ok(&with(&format!(
            "[policy]\nkind = \"{}\"\nmax_lag = 100\n",
            k.name()
        )))
        .policy;
        assert_eq!((p.kind, p.max_lag), (k, Some(100)));
    }
    // Only silent_drop needs a bound; either sort will do.
    for k in ["circuit_breaker", "backpressure", "unbounded"] {
        assert_eq!(
            ok(&with(&format!("[policy]\nkind = \"{k}\"\n")))
                .policy
                .max_lag,
            None
        );
    }
    let p = ok(&with(
        "[policy]\nkind = \"silent_drop\"\nmax_lag_age = \"5s\"\n",
    ))
    .policy;
    assert_eq!((p.max_lag, p.max_lag_age), (None, Some(secs(5))));
    one_error(
        &with("[policy]\nkind = \"silent_drop\"\n"),
        "policy.max_lag",
        &["required for kind = \"silent_drop\" (or give max_lag_age)"],
    );
    one_error(
        &with("[policy]\nkind = \"silent-drop\"\nmax_lag = 5\n"),
        "policy.kind",
        &[
            "unknown policy kind \"silent-drop\"",
            "expected one of: silent_drop, circuit_breaker, backpressure, unbounded",
            "(did you mean \"silent_drop\"?)",
        ],
    );
    one_error(
        &with("[policy]\nkind = 1\n"),
        "policy.kind",
        &["expected a policy kind, one of: silent_drop", "found 1"],
    );
    one_error(
        &with("[policy]\nmax_lag = 0\n"),
        "policy.max_lag",
        &["expected an integer of at least 1, found 0"],
    );
    one_error(
        &with("[policy]\nmax_lag_age = \"0s\"\n"),
        "policy.max_lag_age",
        &["above 0"],
    );
    one_error(
        &with("[policy]\nmax_lag_age = 5\n"),
        "policy.max_lag_age",
        &["expected a duration string with units", "found 5"],
    );
    one_error(
        &with("[policy]\nmaxlag = 5\n"),
        "policy.maxlag",
        &["unknown field \"maxlag\"", "(did you mean \"max_lag\"?)"],
    );
    one_error(
        &with("policy = \"silent_drop\"\n"),
        "policy",
        &["expected a table [policy], found \"silent_drop\""],
    );
    // A bad bound is reported, not also the missing one.
    one_error(
        &with("[policy]\nkind = \"silent_drop\"\nmax_lag = -3\n"),
        "policy.max_lag",
        &["found -3"],
    );
}

#[test]
fn breaker_settings() {
    // Allowed whatever the kind: compare runs the file under each.
    let b = ok(&with(
        "[policy]\nkind = \"backpressure\"\n[policy.breaker]\nwindow = \"1s\"\nmin_calls = 1\nerror_rate = 1\nslow_call = \"1ms\"\nslow_rate = 0.01\nopen_for = \"500ms\"\nprobes = 100\n",
    ))
    .policy
    .breaker;
    assert_eq!(
        b,
        BreakerConfig {
            window: secs(1),
            min_calls: 1,
            error_rate: 1.0,
            slow_call: ms(1),
            slow_rate: 0.01,
            open_for: ms(500),
            probes: 100,
        }
    );
    // Unset fields keep their defaults.
    let b = ok(&with("[policy.breaker]\nprobes = 7\n")).policy.breaker;
    assert_eq!(
        b,
        BreakerConfig {
            probes: 7,
            ..BreakerConfig::default()
        }
    );
    for (field, value, needle) in [
        ("window", "\"0s\"", "above 0"),
        ("window", "5", "expected a duration string with units"),
        (
            "min_calls",
            "0",
            "expected an integer of at least 1, found 0",
        ),
        (
            "error_rate",
            "0",
            "expected a share of calls above 0 and at most 1 such as 0.5, found 0",
        ),
        ("error_rate", "1.5", "found 1.5"),
        ("error_rate", "\"50%\"", "found \"50%\""),
        ("slow_call", "\"0ms\"", "above 0"),
        ("slow_rate", "-0.5", "found -0.5"),
        ("open_for", "\"0s\"", "above 0"),
        ("probes", "0", "expected an integer from 1 to 100, found 0"),
        ("probes", "101", "found 101"),
    ] {
        one_error(
            &with(&format!("[policy.breaker]\n{field} = {value}\n")),
            &format!("policy.breaker.{field}"),
            &[needle],
        );
    }
    one_error(
        &with("[policy.breaker]\nprobe = 3\n"),
        "policy.breaker.probe",
        &["unknown field \"probe\"", "(did you mean \"probes\"?)"],
    );
    one_error(
        &with("[policy]\nbreaker = true\n"),
        "policy.breaker",
        &["expected a table [breaker], found true"],
    );
}

#[test]
fn slow_storage_factor() {
    let s = ok(&fault(
        "at = \"1s\"\nkind = \"slow_storage\"\ntarget = \"stores\"\nfactor = 4\nfor = \"5s\"",
    ));
    assert_eq!(
        s.faults[0].kind,
        FaultKind::SlowStorage {
            targets: vec![h(Role::Store, 0)],
            slow: Slowdown::Factor(4.0),
        }
    );
    let s = ok(&fault(
        "at = \"1s\"\nkind = \"slow_storage\"\ntarget = \"store-0\"\nfactor = 1000.0",
    ));
    assert!(matches!(
        s.faults[0].kind,
        FaultKind::SlowStorage { slow: Slowdown::Factor(x), .. } if x == 1000.0
    ));
    one_error(
        &fault("at = \"1s\"\nkind = \"slow_storage\"\ntarget = [\"store-0\", \"broker-0\"]\nfactor = 3"),
        "fault[0].factor",
        &[
            "factor applies to stores only",
            "brokers' and the controller's disk writes have no base latency to multiply",
            "found broker-0",
        ],
    );
    one_error(
        &fault("at = \"1s\"\nkind = \"slow_storage\"\ntarget = \"controller-0\"\nfactor = 3"),
        "fault[0].factor",
        &["stores only", "found controller-0"],
    );
    one_error(
        &fault("at = \"1s\"\nkind = \"slow_storage\"\ntarget = \"stores\"\nlatency = \"5ms\"\nfactor = 3"),
        "fault[0].factor",
        &["expected latency or factor, not both"],
    );
    one_error(
        &fault("at = \"1s\"\nkind = \"slow_storage\"\ntarget = \"stores\""),
        "fault[0].latency",
        &[
            "missing required field for kind \"slow_storage\"",
            "give latency",
            "or factor",
        ],
    );
    for bad in ["1", "0.5", "1001", "\"x4\"", "nan", "inf"] {
        one_error(
            &fault(&format!(
                "at = \"1s\"\nkind = \"slow_storage\"\ntarget = \"stores\"\nfactor = {bad}"
            )),
            "fault[0].factor",
            &["expected a factor above 1 and at most 1000 such as 4 or 2.5"],
        );
    }
    one_error(
        &fault("at = \"1s\"\nkind = \"crash\"\ntarget = \"store-0\"\nfactor = 3"),
        "fault[0].factor",
        &["field \"factor\" does not apply to kind \"crash\""],
    );
    // A target that slow_storage cannot hit at all is the only error.
    one_error(
        &fault("at = \"1s\"\nkind = \"slow_storage\"\ntarget = \"producer-0\"\nfactor = 3"),
        "fault[0].target",
        &["brokers, stores and the controller only"],
    );
}

#[test]
fn per_policy_expectations() {
    let text = |kind: &str| {
        with(&format!(
            "[policy]\nkind = \"{kind}\"\nmax_lag = 10\n[expect]\nlost = 0\nmax_lag = \"< 100\"\n\
             [expect.silent_drop]\nsilently_dropped = \"> 0\"\n\
             [expect.circuit_breaker]\nshed = \"> 0\"\nlost = 0\n"
        ))
    };
    let names = |v: &[Expectation]| -> Vec<String> { v.iter().map(|e| e.to_string()).collect() };
    for (kind, effective) in [
        (
            "silent_drop",
            vec!["lost = 0", "max_lag < 100", "silently_dropped > 0"],
        ),
        (
            "circuit_breaker",
            vec!["lost = 0", "max_lag < 100", "shed > 0", "lost = 0"],
        ),
        ("backpressure", vec!["lost = 0", "max_lag < 100"]),
    ] {
        let s = ok(&text(kind));
        assert_eq!(names(&s.expect), effective, "{kind}");
        assert_eq!(names(&s.expect_common), ["lost = 0", "max_lag < 100"]);
        let kinds: Vec<PolicyKind> = s.expect_by_policy.iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, [PolicyKind::SilentDrop, PolicyKind::CircuitBreaker]);
    }
    // Sub-tables alone (no common keys), and empty ones.
    let s = ok(&with(
        "[expect.unbounded]\nmax_lag = \"> 5\"\n[expect.backpressure]\n",
    ));
    assert_eq!(names(&s.expect), ["max_lag > 5"]);
    assert!(s.expect_common.is_empty());
    assert_eq!(
        s.expect_by_policy,
        [
            (
                PolicyKind::Unbounded,
                vec![Expectation {
                    scope: Scope::All,
                    metric: Metric::MaxLag,
                    cmp: Cmp::Gt,
                    value: 5
                }]
            ),
            (PolicyKind::Backpressure, vec![]),
        ]
    );
    one_error(
        &with("[expect.silent_dorp]\nlost = 0\n"),
        "expect.silent_dorp",
        &[
            "unknown policy kind \"silent_dorp\"",
            "named after a policy kind, one of: silent_drop, circuit_breaker, backpressure, unbounded",
            "(did you mean \"silent_drop\"?)",
        ],
    );
    one_error(
        &with("[expect]\nsilent_drop = 5\n"),
        "expect.silent_drop",
        &["expected a table [expect.silent_drop]", "found 5"],
    );
    one_error(
        &with("[expect.backpressure]\nlots = 0\n"),
        "expect.backpressure.lots",
        &["unknown metric \"lots\"", "(did you mean \"lost\"?)"],
    );
    one_error(
        &with("[expect.backpressure]\nlost = \"~ 1\"\n"),
        "expect.backpressure.lost",
        &["comparison such as"],
    );
    one_error(
        &with("[expect.lost]\nx = 1\n"),
        "expect.lost",
        &[
            "expected a non-negative integer or a comparison",
            "found a table",
        ],
    );
}

#[test]
fn scale_section() {
    let s = ok(&with(
        "[scale]\ncounts = [\"workload.keys\", \"topology.stores\"]\n",
    ));
    assert_eq!(s.scale_counts, [ScaleCount::Keys, ScaleCount::Stores]);
    assert!(ok(&with("[scale]\n")).scale_counts.is_empty());
    one_error(
        &with("[scale]\ncounts = [\"topology.partitions\", \"topology.brokers\"]\n"),
        "scale.counts[1]",
        &[
            "unknown field path \"topology.brokers\"",
            "expected one of: topology.partitions, topology.stores, workload.producers, workload.keys, consumer.workers, policy.max_lag",
        ],
    );
    one_error(
        &with("[scale]\ncounts = [\"consumer.worker\"]\n"),
        "scale.counts[0]",
        &["(did you mean \"consumer.workers\"?)"],
    );
    one_error(
        &with("[scale]\ncounts = \"consumer.workers\"\n"),
        "scale.counts",
        &[
            "expected an array of field paths",
            "found \"consumer.workers\"",
        ],
    );
    one_error(
        &with("[scale]\ncounts = [3]\n"),
        "scale.counts[0]",
        &[
            "expected a field path, one of: topology.partitions",
            "found 3",
        ],
    );
    one_error(
        &with("[scale]\ncounts = [\"workload.keys\", \"workload.keys\"]\n"),
        "scale.counts[1]",
        &["\"workload.keys\" is listed twice"],
    );
}

fn scaled(text: &str, k: u32) -> Result<Scenario, Vec<FieldError>> {
    let o = Overrides {
        scale: Some(k),
        ..Overrides::default()
    };
    parse_with(Path::new("t.toml"), text, &o).map_err(|e| e.errors)
}

#[test]
fn scale_multiplies_rates_and_listed_counts() {
    let text = with(
        "[topology]\npartitions = 8\n[workload]\nrate = \"30000/m\"\nkeys = 50\n\
         bursts = [{ at = \"10s\", rate = \"800/s\", for = \"5s\" }, { at = \"20s\", rate = \"60/m\", for = \"5s\" }]\n\
         [consumer]\nworkers = 2\n[policy]\nmax_lag = 1000\n\
         [scale]\ncounts = [\"topology.partitions\", \"workload.keys\", \"consumer.workers\", \"workload.producers\", \"policy.max_lag\"]\n",
    );
    let base = ok(&text);
    assert_eq!(base.scale, 1);
    let s = scaled(&text, 3).unwrap();
    assert_eq!(s.scale, 3);
    assert_eq!(s.workload.rate_per_s, 1500);
    let rates: Vec<u64> = s.workload.bursts.iter().map(|b| b.rate_per_s).collect();
    assert_eq!(rates, [2400, 3]);
    assert_eq!(s.topology.partitions, 24);
    assert_eq!(s.workload.keys, 150);
    assert_eq!(s.consumer.workers, 6);
    // Absent and listed: its default × K.
    assert_eq!(s.workload.producers, 3);
    assert_eq!(s.policy.max_lag, Some(3000));
    // Not listed: unchanged.
    assert_eq!(s.topology.stores, 1);
    // Everything else is the file's.
    let mut back = s.clone();
    back.scale = 1;
    back.workload = base.workload.clone();
    back.topology = base.topology.clone();
    back.consumer = base.consumer.clone();
    back.policy = base.policy.clone();
    assert_eq!(back, base);

    // Scale 1 changes nothing; the default rate scales when absent.
    assert_eq!(scaled(&text, 1).unwrap(), base);
    let s = scaled(&with("[scale]\ncounts = [\"topology.stores\"]\n"), 10).unwrap();
    assert_eq!((s.workload.rate_per_s, s.topology.stores), (1000, 10));
    // An absent max_lag stays absent: no bound is no bound at any scale.
    let s = scaled(&with("[scale]\ncounts = [\"policy.max_lag\"]\n"), 10).unwrap();
    assert_eq!(s.policy.max_lag, None);
    // The swarm's rate range scales with the rest.
    let s = scaled(&with("[swarm]\nrate = \"10/s..600/m\"\n"), 4).unwrap();
    assert_eq!(s.swarm.unwrap().rate, Some((40, 40)));
}

#[test]
fn scale_errors() {
    let e = scaled(MINIMAL, 0).unwrap_err();
    assert_eq!(
        e,
        [FieldError {
            path: "--scale".to_string(),
            message: "expected a scale from 1 to 1000, found 0".to_string(),
        }]
    );
    let e = scaled(MINIMAL, 1001).unwrap_err();
    assert_eq!(e[0].path, "--scale");
    assert_eq!(e[0].message, "expected a scale from 1 to 1000, found 1001");
    // 100/s × 1000 for 10 s: a million messages, inside MAX_MESSAGES.
    assert!(scaled(&MINIMAL.replace("\"2m\"", "\"10s\""), 1000).is_ok());
    // For four minutes it is twenty-four million: the limit names the scaling.
    let e = scaled(&MINIMAL.replace("\"2m\"", "\"4m\""), 1000).unwrap_err();
    assert_eq!(e[0].path, "workload.rate");
    assert!(e[0].message.contains("--scale 1000"), "{}", e[0].message);
    // With a bad file, both are reported (the file's errors unscaled).
    let e = scaled(&with("[consumer]\nworkers = 100\n"), 0).unwrap_err();
    let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["--scale", "consumer.workers"]);
    assert_eq!(e[1].message, "expected an integer from 1 to 64, found 100");

    // A limit broken only by scaling says so.
    let text = with("[consumer]\nworkers = 8\n[scale]\ncounts = [\"consumer.workers\"]\n");
    assert!(scaled(&text, 8).is_ok());
    let e = scaled(&text, 20).unwrap_err();
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(e[0].path, "consumer.workers");
    assert_eq!(
        e[0].message,
        "expected an integer from 1 to 64, found 160 (8 × --scale 20)"
    );
    let e = scaled(&with("[scale]\ncounts = [\"consumer.workers\"]\n"), 80).unwrap_err();
    assert_eq!(
        e[0].message,
        "expected an integer from 1 to 64, found 80 (default 1 × --scale 80)"
    );
    let e = scaled(
        &with("[workload]\nrate = \"100000/s\"\nbursts = [{ at = \"1s\", rate = \"20/s\", for = \"1s\" }]\n")
            .replace("\"2m\"", "\"10s\""),
        20,
    )
    .unwrap_err();
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(e[0].path, "workload.rate");
    assert_eq!(
        e[0].message,
        "expected a rate of at most 1000000/s, found \"2000000/s\" (100000/s × --scale 20)"
    );
    let short = |t: &str| with(t).replace("\"2m\"", "\"10s\"");
    let e = scaled(&short("[swarm]\nrate = \"1/s..2000/s\"\n"), 600).unwrap_err();
    assert_eq!(e[0].path, "swarm.rate");
    assert!(
        e[0].message.ends_with("(1/s..2000/s × --scale 600)"),
        "{e:#?}"
    );
    // A limit on a field that was not itself scaled.
    let e = scaled(
        &with("[topology]\npartitions = 512\n[consumer]\nconcurrency = 8\n[scale]\ncounts = [\"topology.partitions\"]\n"),
        2,
    )
    .unwrap_err();
    assert_eq!(e[0].path, "consumer.concurrency");
    assert!(
        e[0].message.ends_with("1024 × 8 = 8192 (after --scale 2)"),
        "{e:#?}"
    );
    // A count beyond any integer.
    let e = scaled(
        &with("[policy]\nmax_lag = 9223372036854775807\n[scale]\ncounts = [\"policy.max_lag\"]\n"),
        2,
    )
    .unwrap_err();
    assert_eq!(e[0].path, "policy.max_lag");
    assert!(
        e[0].message.contains("beyond the largest integer"),
        "{e:#?}"
    );
}

#[test]
fn policy_override() {
    let o = |p: PolicyKind| Overrides {
        policy: Some(p),
        scale: None,
        ..Overrides::default()
    };
    let text = with(
        "[policy]\nkind = \"backpressure\"\nmax_lag = 50\n[expect]\nlost = 0\n\
         [expect.circuit_breaker]\nshed = \"> 0\"\n",
    );
    assert_eq!(ok(&text).policy.kind, PolicyKind::Backpressure);
    let s = parse_with(Path::new("t.toml"), &text, &o(PolicyKind::CircuitBreaker)).unwrap();
    assert_eq!(s.policy.kind, PolicyKind::CircuitBreaker);
    assert_eq!(s.policy.max_lag, Some(50));
    let e: Vec<String> = s.expect.iter().map(|e| e.to_string()).collect();
    assert_eq!(e, ["lost = 0", "shed > 0"]);
    // Without [policy] in the file, the table is created.
    let s = parse_with(Path::new("t.toml"), MINIMAL, &o(PolicyKind::Backpressure)).unwrap();
    assert_eq!(s.policy.kind, PolicyKind::Backpressure);
    // The result is validated like a file, and says where the kind came from.
    let e = parse_with(Path::new("t.toml"), MINIMAL, &o(PolicyKind::SilentDrop))
        .unwrap_err()
        .errors;
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(e[0].path, "policy.max_lag");
    assert!(
        e[0].message.starts_with(
            "required for kind = \"silent_drop\" (from --policy) (or give max_lag_age)"
        ),
        "{e:#?}"
    );
    // A [policy] that is not a table stays an error.
    let e = parse_with(
        Path::new("t.toml"),
        &with("policy = 3\n"),
        &o(PolicyKind::Unbounded),
    )
    .unwrap_err()
    .errors;
    assert_eq!(e[0].path, "policy");
    // Both overrides at once, through load_with.
    let smoke = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/smoke.toml");
    let s = load_with(
        &smoke,
        &Overrides {
            policy: Some(PolicyKind::CircuitBreaker),
            scale: Some(2),
            ..Overrides::default()
        },
    )
    .unwrap();
    let base = load(&smoke).unwrap();
    assert_eq!(s.policy.kind, PolicyKind::CircuitBreaker);
    assert_eq!(s.workload.rate_per_s, 2 * base.workload.rate_per_s);
    assert_eq!(s.consumer.workers, base.consumer.workers);
    assert_eq!(s.scale, 2);
}

#[test]
fn suggestions() {
    assert_eq!(
        suggest("partitons", ["brokers", "partitions"]),
        Some("partitions")
    );
    assert_eq!(suggest("x", ["a", "b"]), None);
    assert_eq!(suggest("crash", ["crash"]), Some("crash"));
    assert_eq!(edit_distance("kitten", "sitting"), 3);
    assert!(is_position("3:12"));
    assert!(!is_position("fault[0].a"));
    assert!(!is_position("\"3:4\""));
}

/// The minimal file with `[broker] kind = "queue"` plus `extra`
/// (tables after it; `[broker]` keys go in `broker`).
fn queue(broker: &str, extra: &str) -> String {
    with(&format!("[broker]\nkind = \"queue\"\n{broker}\n{extra}"))
}

#[test]
fn queue_full_example() {
    let s = ok(FULL_QUEUE);
    insta::assert_snapshot!("full-queue-example-as-parsed", parsed_keys(&s));
    assert_eq!(s.broker.kind, BrokerKind::Queue);
    assert_eq!(s.broker.fsync, Fsync::Never);
    assert_eq!(s.broker.writeback, secs(5));
    assert_eq!(s.broker.acks, Acks::Leader);
    assert_eq!(s.broker.session_timeout, secs(60));
    // A queue is mirrored on every broker.
    assert_eq!(s.topology.replication, 3);
    assert_eq!(s.topology.partitions, 2);
    assert!(s.consumer.partial_batch_failure);
    assert_eq!(s.consumer.retry_backoff, Some(ms(200)));
    assert_eq!(s.consumer.commit, CommitMode::BeforeEffect);
    assert_eq!(s.consumer.fetch_max, 10);
    // Log-only fields keep their defaults.
    let d = ok(MINIMAL);
    assert_eq!(s.broker.min_insync, d.broker.min_insync);
    assert_eq!(s.broker.retention_age, None);
    assert_eq!(s.consumer.assignment, d.consumer.assignment);
    assert_eq!(s.consumer.session_timeout, d.consumer.session_timeout);
    assert_eq!(s.consumer.auto_offset_reset, d.consumer.auto_offset_reset);
    // The queue has no controller; its buffer (a log) has one.
    let controllers = s
        .hosts()
        .iter()
        .filter(|h| h.role == Role::Controller)
        .count();
    assert_eq!(controllers, 1);
    assert_eq!(
        s.buffer,
        Some(Buffer {
            brokers: 2,
            partitions: 4,
            replication: 2,
            min_insync: 1,
            relays: 2,
            rate_per_s: Some(500),
            max_depth: Some(1000),
        })
    );
    let mut bare = FULL_QUEUE.to_string();
    bare.truncate(FULL_QUEUE.find("[buffer]").unwrap());
    bare += &FULL_QUEUE[FULL_QUEUE.find("[consumer]").unwrap()..];
    assert!(ok(&bare).hosts().iter().all(|h| h.role != Role::Controller));
    // The faults: ids in file order, rate 0 when absent.
    assert_eq!(
        s.faults[0],
        Fault {
            at: secs(10),
            until: Some(secs(30)),
            kind: FaultKind::Poison {
                rate: 0.01,
                ids: vec![MsgId::new(0, 17), MsgId::new(1, 0), MsgId::new(0, 3)],
            },
            repeat: None,
        }
    );
    // Two poison windows may overlap; without `for` it lasts until the drain.
    assert_eq!(
        s.faults[1],
        Fault {
            at: secs(15),
            until: None,
            kind: FaultKind::Poison {
                rate: 0.0,
                ids: vec![MsgId::new(1, 99)],
            },
            repeat: None,
        }
    );
    assert_eq!(
        s.faults[3],
        Fault {
            at: secs(40),
            until: Some(secs(45)),
            kind: FaultKind::MemoryPressure {
                targets: vec![h(Role::Broker, 1)],
                limit: 1000,
            },
            repeat: None,
        }
    );
    assert_eq!(
        s.faults[4],
        Fault {
            at: secs(60),
            until: None,
            kind: FaultKind::Redrive,
            repeat: None,
        }
    );
    let metrics: Vec<&str> = s.expect.iter().map(|e| e.metric.name()).collect();
    assert_eq!(
        metrics,
        [
            "poison",
            "poison_dead_lettered",
            "poison_not_dead_lettered",
            "misrouted",
            "max_deliveries"
        ]
    );
}

#[test]
fn queue_defaults() {
    let s = ok(&queue("", "[topology]\nbrokers = 5\n"));
    assert_eq!(s.broker.queue, QueueConfig::default());
    assert_eq!(s.broker.queue.visibility_timeout, secs(30));
    // Every broker, not min(3, brokers).
    assert_eq!(s.topology.replication, 5);
    assert!(!s.consumer.partial_batch_failure);
    assert_eq!(s.consumer.retry_backoff, None);
    assert_eq!(s.policy.kind, PolicyKind::Unbounded);
    // The log's defaults otherwise, as for a log.
    let mut d = ok(&with("[topology]\nbrokers = 5\nreplication = 5\n"));
    d.broker.kind = BrokerKind::Queue;
    assert_eq!(s, d);
}

#[test]
fn queue_fields_under_a_log() {
    for (table, key, value) in [
        ("broker", "visibility_timeout", "\"10s\""),
        ("broker", "max_receives", "3"),
        ("broker", "fifo", "true"),
        ("broker", "max_length", "100"),
        ("broker", "overflow", "\"block\""),
        ("broker", "partition_handling", "\"autoheal\""),
        ("broker", "queue_type", "\"quorum\""),
        ("consumer", "partial_batch_failure", "true"),
        ("consumer", "retry_backoff", "\"1s\""),
    ] {
        let path = format!("{table}.{key}");
        one_error(
            &with(&format!("[{table}]\n{key} = {value}\n")),
            &path,
            &[&format!(
                "field \"{key}\" applies only to broker.kind = \"queue\", found broker.kind = \"log\" (the default)"
            )],
        );
        // Written out, the kind is not "the default"; a bad value is
        // not judged on top.
        let text = if table == "broker" {
            format!("[broker]\nkind = \"log\"\n{key} = \"nonsense\"\n")
        } else {
            format!("[broker]\nkind = \"log\"\n[{table}]\n{key} = \"nonsense\"\n")
        };
        let e = errs(&with(&text));
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(e[0].path, path);
        assert!(
            e[0].message.ends_with("found broker.kind = \"log\""),
            "{e:#?}"
        );
    }
    // The broker table may hold both kinds' keys only in error.
    let e = errs(&with(
        "[broker]\nfifo = true\nmax_receives = 2\n[consumer]\nretry_backoff = \"1s\"\n",
    ));
    let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "broker.max_receives",
            "broker.fifo",
            "consumer.retry_backoff"
        ]
    );
}

#[test]
fn log_fields_under_a_queue() {
    for (table, key, value, why) in [
        (
            "broker",
            "min_insync",
            "1",
            "broker.acks and broker.queue_type",
        ),
        (
            "broker",
            "unclean_leader_election",
            "true",
            "partition_handling",
        ),
        ("broker", "replica_lag_max", "\"5s\"", "partition_handling"),
        ("broker", "retention_messages", "10", "broker.max_length"),
        ("broker", "retention_age", "\"1m\"", "broker.max_length"),
        ("consumer", "assignment", "\"range\"", "no consumer group"),
        (
            "consumer",
            "session_timeout",
            "\"10s\"",
            "visibility_timeout",
        ),
        (
            "consumer",
            "auto_offset_reset",
            "\"earliest\"",
            "no offsets",
        ),
    ] {
        let text = if table == "broker" {
            queue(&format!("{key} = {value}"), "")
        } else {
            queue("", &format!("[{table}]\n{key} = {value}\n"))
        };
        one_error(
            &text,
            &format!("{table}.{key}"),
            &[
                &format!(
                    "field \"{key}\" applies only to broker.kind = \"log\", found broker.kind = \"queue\": "
                ),
                why,
            ],
        );
    }
    // Shared by both kinds.
    let s = ok(&queue(
        "fsync = \"interval:50ms\"\nwriteback = \"1s\"\nacks = 0\nsession_timeout = \"30s\"",
        "[consumer]\ncommit = \"before_effect\"\nfetch_max = 10000\ngroup = \"g\"\n",
    ));
    assert_eq!(s.broker.fsync, Fsync::Interval(ms(50)));
    assert_eq!(s.broker.acks, Acks::None);
    assert_eq!(s.broker.session_timeout, secs(30));
    assert_eq!(s.consumer.fetch_max, 10_000);
    one_error(
        &queue("", "[consumer]\nfetch_max = 10001\n"),
        "consumer.fetch_max",
        &["expected an integer from 1 to 10000"],
    );
}

#[test]
fn queue_replication() {
    one_error(
        &queue("", "[topology]\nbrokers = 3\nreplication = 3\n"),
        "topology.replication",
        &[
            "field \"replication\" applies only to broker.kind = \"log\", found broker.kind = \"queue\"",
            "a queue is mirrored on every broker, remove topology.replication",
        ],
    );
    // Judged against nothing else: one error even when out of range.
    one_error(
        &queue("", "[topology]\nbrokers = 3\nreplication = 0\n"),
        "topology.replication",
        &["mirrored on every broker"],
    );
    // An invalid kind judges no field against it.
    let e = errs(&with(
        "[broker]\nkind = \"qeueu\"\nfifo = true\n[topology]\nreplication = 1\n",
    ));
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(e[0].path, "broker.kind");
    assert!(e[0].message.contains("did you mean \"queue\"?"), "{e:#?}");
}

#[test]
fn queue_values() {
    for (broker, path, needle) in [
        ("visibility_timeout = \"0s\"", "broker.visibility_timeout", "expected a duration above 0"),
        (
            "visibility_timeout = \"12h1s\"",
            "broker.visibility_timeout",
            "expected a duration above 0 and at most 12h (SQS's limit), found \"12h1s\"",
        ),
        ("visibility_timeout = 30", "broker.visibility_timeout", "expected a duration string"),
        ("max_receives = 0", "broker.max_receives", "expected an integer from 1 to 1000, found 0"),
        ("max_receives = 1001", "broker.max_receives", "expected an integer from 1 to 1000, found 1001"),
        ("max_length = 0", "broker.max_length", "expected an integer of at least 1, found 0"),
        ("fifo = \"yes\"", "broker.fifo", "expected true or false"),
        (
            "overflow = \"reject-new\"",
            "broker.overflow",
            "expected \"reject_new\" or \"drop_oldest\" or \"block\", found \"reject-new\" (did you mean \"reject_new\"?)",
        ),
        (
            "partition_handling = \"pause_majority\"",
            "broker.partition_handling",
            "expected \"pause_minority\" or \"autoheal\", found \"pause_majority\"",
        ),
        (
            "queue_type = \"stream\"",
            "broker.queue_type",
            "expected \"classic\" or \"quorum\", found \"stream\"",
        ),
    ] {
        one_error(&queue(broker, ""), path, &[needle]);
    }
    let s = ok(&queue(
        "visibility_timeout = \"12h\"\nmax_receives = 1000",
        "",
    ));
    assert_eq!(s.broker.queue.visibility_timeout, secs(12 * 3600));
    assert_eq!(s.broker.queue.max_receives, Some(1000));
    for value in ["\"0s\"", "1"] {
        one_error(
            &queue("", &format!("[consumer]\nretry_backoff = {value}\n")),
            "consumer.retry_backoff",
            &["expected"],
        );
    }
    one_error(
        &queue("", "[consumer]\npartial_batch_failure = 1\n"),
        "consumer.partial_batch_failure",
        &["expected true or false, found 1"],
    );
}

#[test]
fn queue_policy() {
    const WHY: &str = "lag policies act on the log model; a bounded queue uses broker.max_length and broker.overflow";
    for kind in ["silent_drop", "circuit_breaker", "backpressure"] {
        one_error(
            &queue("", &format!("[policy]\nkind = \"{kind}\"\nmax_lag = 10\n")),
            "policy.kind",
            &[
                &format!("expected \"unbounded\" with broker.kind = \"queue\", found \"{kind}\": "),
                WHY,
            ],
        );
    }
    // silent_drop without a bound: the kind is the one error.
    one_error(
        &queue("", "[policy]\nkind = \"silent_drop\"\n"),
        "policy.kind",
        &[WHY],
    );
    let s = ok(&queue(
        "",
        "[policy]\nkind = \"unbounded\"\nmax_lag = 10\n[expect.silent_drop]\nlost = 0\n",
    ));
    assert_eq!(s.policy.kind, PolicyKind::Unbounded);
    // --policy gives the same field error, and says where the kind came from.
    for p in [PolicyKind::SilentDrop, PolicyKind::Backpressure] {
        let o = Overrides {
            policy: Some(p),
            scale: None,
            ..Overrides::default()
        };
        let e = parse_with(Path::new("t.toml"), &queue("", ""), &o)
            .unwrap_err()
            .errors;
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(e[0].path, "policy.kind");
        assert!(
            e[0].message
                .contains(&format!("found \"{}\" (from --policy): {WHY}", p.name())),
            "{e:#?}"
        );
    }
    let o = Overrides {
        policy: Some(PolicyKind::Unbounded),
        scale: None,
        ..Overrides::default()
    };
    assert!(parse_with(Path::new("t.toml"), &queue("", ""), &o).is_ok());
}

/// `[[fault]]` `body` in a queue scenario with `[broker]` keys `broker`
/// and two producers.
fn queue_fault(broker: &str, body: &str) -> String {
    queue(
        broker,
        &format!("[workload]\nproducers = 2\n[[fault]]\n{body}\n"),
    )
}

#[test]
fn poison_faults() {
    let poison = |body: &str| queue_fault("", &format!("at = \"1s\"\nkind = \"poison\"\n{body}"));
    let kind = |text: &str| ok(text).faults[0].kind.clone();
    assert_eq!(
        kind(&poison("rate = 1")),
        FaultKind::Poison {
            rate: 1.0,
            ids: vec![]
        }
    );
    assert_eq!(
        kind(&poison("ids = [\"p1-4294967295\", \"p0-0\"]")),
        FaultKind::Poison {
            rate: 0.0,
            ids: vec![MsgId::new(1, u32::MAX), MsgId::new(0, 0)]
        }
    );
    one_error(
        &poison(""),
        "fault[0].rate",
        &[
            "missing required field for kind \"poison\": give rate",
            "ids",
            "or both",
        ],
    );
    for rate in ["1.5", "0", "-0.1", "\"0.5\"", "nan"] {
        one_error(
            &poison(&format!("rate = {rate}")),
            "fault[0].rate",
            &["expected a probability above 0 and at most 1"],
        );
    }
    for id in [
        "x-1",
        "p0",
        "p-1",
        "p0-",
        "p01-1",
        "p0-01",
        "p0-4294967296",
        "P0-1",
        "p0-1 ",
        "p+1-2",
    ] {
        one_error(
            &poison(&format!("ids = [\"p0-1\", \"{id}\"]")),
            "fault[0].ids[1]",
            &[&format!(
                "expected a message id like \"p0-17\" (producer 0, its message 17), found \"{}\"",
                id
            )],
        );
    }
    one_error(
        &poison("ids = [3]"),
        "fault[0].ids[0]",
        &["expected a message id like \"p0-17\"", "found 3"],
    );
    one_error(
        &poison("ids = [\"p2-5\"]"),
        "fault[0].ids[0]",
        &["expected a message id of an existing producer (there are 2 producers, producer-0 to producer-1), found \"p2-5\""],
    );
    one_error(
        &poison("ids = [\"p0-5\", \"p1-5\", \"p0-5\"]"),
        "fault[0].ids[2]",
        &["\"p0-5\" is listed twice (first as fault[0].ids[0])"],
    );
    one_error(
        &poison("rate = 0.5\nids = []"),
        "fault[0].ids",
        &["expected at least one message id such as \"p0-17\", found an empty list"],
    );
    one_error(
        &poison("ids = \"p0-1\""),
        "fault[0].ids",
        &["expected an array of message ids such as [\"p0-17\", \"p1-3\"], found \"p0-1\""],
    );
    let many: Vec<String> = (0..=MAX_POISON_IDS)
        .map(|i| format!("\"p0-{i}\""))
        .collect();
    one_error(
        &poison(&format!("ids = [{}]", many.join(","))),
        "fault[0].ids",
        &["expected at most 10000 message ids, found 10001"],
    );
    let most = &many[..MAX_POISON_IDS];
    assert!(matches!(
        kind(&poison(&format!("ids = [{}]", most.join(",")))),
        FaultKind::Poison { ids, .. } if ids.len() == MAX_POISON_IDS
    ));
    // No host: a target is not a poison field.
    one_error(
        &poison("rate = 0.1\ntarget = \"broker-0\""),
        "fault[0].target",
        &["field \"target\" does not apply to kind \"poison\""],
    );
    one_error(
        &poison("rate = 0.1\nfor = \"2m\""),
        "fault[0].for",
        &["after the load phase ends at 2m"],
    );
    // Under a log: at `kind`; the other fields are still judged.
    one_error(
        &fault("at = \"1s\"\nkind = \"poison\"\nrate = 0.1"),
        "fault[0].kind",
        &["fault kind \"poison\" applies only to broker.kind = \"queue\", found broker.kind = \"log\" (the default)"],
    );
    let e = errs(&with(
        "[broker]\nkind = \"log\"\n[[fault]]\nat = \"1s\"\nkind = \"poison\"\nrate = 2\n",
    ));
    let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["fault[0].kind", "fault[0].rate"], "{e:#?}");
    assert!(
        e[0].message.ends_with("found broker.kind = \"log\""),
        "{e:#?}"
    );
}

#[test]
fn poison_windows_overlap_anything() {
    let s = ok(&queue_fault(
        "",
        "at = \"1s\"\nkind = \"poison\"\nrate = 0.1\nfor = \"20s\"\n\
         [[fault]]\nat = \"2s\"\nkind = \"poison\"\nrate = 0.2\n\
         [[fault]]\nat = \"3s\"\nkind = \"crash\"\ntarget = \"all\"\n\
         [[fault]]\nat = \"4s\"\nkind = \"loss\"\nrate = 0.1\n\
         [[fault]]\nat = \"5s\"\nkind = \"pause\"\ntarget = \"consumers\"",
    ));
    assert_eq!(s.faults.len(), 5);
    assert!(overlaps(&s.faults, Some(s.duration)).is_empty());
}

#[test]
fn redrive_faults() {
    let redrive = |broker: &str, body: &str| {
        queue_fault(broker, &format!("at = \"1s\"\nkind = \"redrive\"\n{body}"))
    };
    let s = ok(&redrive("max_receives = 3", ""));
    assert_eq!(s.faults[0].kind, FaultKind::Redrive);
    assert_eq!(s.faults[0].until, None);
    one_error(
        &redrive("", ""),
        "fault[0].kind",
        &["fault kind \"redrive\" moves dead-lettered messages back to their queue; broker.max_receives is not set, so there is no dead-letter queue"],
    );
    one_error(
        &redrive("max_receives = 3", "for = \"1s\""),
        "fault[0].for",
        &["does not apply to kind \"redrive\" (it is a one-shot action)"],
    );
    one_error(
        &redrive("max_receives = 3", "target = \"brokers\""),
        "fault[0].target",
        &["does not apply to kind \"redrive\""],
    );
    one_error(
        &with("[broker]\nkind = \"log\"\n[[fault]]\nat = \"1s\"\nkind = \"redrive\"\n"),
        "fault[0].kind",
        &["applies only to broker.kind = \"queue\", found broker.kind = \"log\""],
    );
    // An invalid max_receives is its own error only.
    one_error(
        &redrive("max_receives = 0", ""),
        "broker.max_receives",
        &["expected an integer from 1 to 1000"],
    );
    // Two redrives at one time are two one-shot actions.
    assert_eq!(
        ok(&redrive(
            "max_receives = 3",
            "[[fault]]\nat = \"1s\"\nkind = \"redrive\""
        ))
        .faults
        .len(),
        2
    );
}

#[test]
fn a_queue_cluster_has_no_controller() {
    const NONE: &str = "expected a broker, store, producer or consumer host: a queue cluster (broker.kind = \"queue\") has no controller, found ";
    for (body, path, found) in [
        (
            "kind = \"crash\"\ntarget = \"controller-0\"",
            "fault[0].target",
            "\"controller-0\"",
        ),
        (
            "kind = \"pause\"\ntarget = \"controllers\"",
            "fault[0].target",
            "\"controllers\"",
        ),
        (
            "kind = \"pause\"\ntarget = [\"broker-0\", \"controller-0\"]",
            "fault[0].target[1]",
            "\"controller-0\"",
        ),
        (
            "kind = \"partition\"\na = \"controllers\"\nb = \"brokers\"",
            "fault[0].a",
            "\"controllers\"",
        ),
        (
            "kind = \"slow_storage\"\ntarget = \"controller-0\"\nlatency = \"5ms\"",
            "fault[0].target",
            "\"controller-0\"",
        ),
        (
            "kind = \"crash\"\ntarget = \"controller-1\"",
            "fault[0].target",
            "\"controller-1\"",
        ),
    ] {
        one_error(
            &queue_fault("", &format!("at = \"1s\"\n{body}")),
            path,
            &[&format!("{NONE}{found}")],
        );
    }
    // `all`, and a heal or loss without sides, cover every host there is.
    let s = ok(&queue_fault(
        "",
        "at = \"1s\"\nkind = \"pause\"\ntarget = \"all\"\n\
         [[fault]]\nat = \"2s\"\nkind = \"heal\"",
    ));
    match &s.faults[0].kind {
        FaultKind::Pause { targets } => assert_eq!(targets, &s.hosts()),
        k => panic!("{k:?}"),
    }
    match &s.faults[1].kind {
        FaultKind::Heal { a, b } => {
            assert_eq!(a, &s.hosts());
            assert_eq!(b, &s.hosts());
        }
        k => panic!("{k:?}"),
    }
    assert!(s.hosts().iter().all(|h| h.role != Role::Controller));
}

#[test]
fn swarms_do_not_draw_message_faults() {
    for kind in ["poison", "redrive"] {
        one_error(
            &queue("", &format!("[swarm]\nkinds = [\"crash\", \"{kind}\"]\n")),
            "swarm.kinds",
            &[&format!("found \"{kind}\" (a swarm draws host and link faults; poison and redrive act on messages")],
        );
    }
    // A queue swarm draws its host and link faults.
    assert!(
        ok(&queue("", "[swarm]\nkinds = [\"partition\", \"crash\"]\n"))
            .swarm
            .is_some()
    );
}

#[test]
fn queue_errors_are_all_reported_at_once() {
    let e = errs(&with(
        "[topology]\nreplication = 1\n[broker]\nkind = \"queue\"\nmin_insync = 1\n\
         overflow = \"spill\"\n[consumer]\nassignment = \"range\"\n\
         [policy]\nkind = \"backpressure\"\n\
         [[fault]]\nat = \"1s\"\nkind = \"redrive\"\n\
         [[fault]]\nat = \"2s\"\nkind = \"poison\"\nids = [\"p9-1\"]\n\
         [[fault]]\nat = \"3s\"\nkind = \"crash\"\ntarget = \"controllers\"\n",
    ));
    let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "topology.replication",
            "broker.min_insync",
            "broker.overflow",
            "consumer.assignment",
            "policy.kind",
            "fault[0].kind",
            "fault[1].ids[0]",
            "fault[2].target",
        ],
        "{e:#?}"
    );
}

#[test]
fn msg_ids_parse() {
    let id = |s: &str| parse_msg_id(&Value::String(s.to_string()));
    assert_eq!(id("p0-17"), Ok(MsgId::new(0, 17)));
    assert_eq!(id("p63-0"), Ok(MsgId::new(63, 0)));
    assert_eq!(id("p0-17").unwrap().to_string(), "p0-17");
    for bad in [
        "", "p", "p-", "0-17", "p0_17", "p0-17-1", "p00-1", "p1-x", "p٣-1",
    ] {
        assert!(id(bad).is_err(), "{bad}");
    }
}

/// The reference's tables of the declared keys are the declarations
/// themselves, written by `keys::reference_table`: edit the doc comment in
/// `tables.rs`, then run the tests with `MQSIM_BLESS=1` to rewrite them.
#[test]
fn reference_tables_are_written_from_the_declarations() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/scenario-format.md");
    let mut doc = std::fs::read_to_string(path).expect("docs/scenario-format.md");
    let mut stale = Vec::new();
    for super::super::tables::DeclaredTable {
        table,
        reference: md,
        ..
    } in super::super::tables::declared()
    {
        let table = if table.is_empty() { "top-level" } else { table };
        let start = format!("<!-- keys:{table} -->\n");
        let end = format!("<!-- /keys:{table} -->\n");
        let a = doc
            .find(&start)
            .unwrap_or_else(|| panic!("no {start:?} marker"))
            + start.len();
        let b = a + doc[a..]
            .find(&end)
            .unwrap_or_else(|| panic!("no {end:?} marker"));
        if doc[a..b] != md {
            stale.push(table);
            doc.replace_range(a..b, &md);
        }
    }
    if std::env::var_os("MQSIM_BLESS").is_some() {
        std::fs::write(path, &doc).expect("write docs/scenario-format.md");
    } else {
        assert!(
            stale.is_empty(),
            "docs/scenario-format.md: the tables of {stale:?} differ from their declarations \
             (run the tests with MQSIM_BLESS=1 to rewrite them)"
        );
    }
}

/// The full examples give every declared key a value of their own (the
/// log's in `FULL`, the queue's in `FULL_QUEUE`), so each key's check and
/// rendering are exercised off its default: a new key needs a line there.
#[test]
fn the_full_examples_set_every_declared_key() {
    let full: Table = FULL.parse().unwrap();
    let queue: Table = FULL_QUEUE.parse().unwrap();
    let mut missing = Vec::new();
    for t in super::super::tables::declared() {
        let table_of = |root: &Table| -> Option<Table> {
            let mut at = root.clone();
            for part in t.table.split('.').filter(|p| !p.is_empty()) {
                at = at.get(part)?.as_table()?.clone();
            }
            Some(at)
        };
        for k in &t.keys {
            if k.kind == "table" {
                continue;
            }
            // A buffer is in front of a queue only; the key skew's keys
            // exclude one another (the skew tests cover each).
            if ["hot_share", "hot_keys", "hot_partition", "zipf"].contains(&k.name) {
                continue;
            }
            let example = match k.family {
                Some(BrokerKind::Queue) => &queue,
                _ if t.table == "buffer" => &queue,
                _ => &full,
            };
            if !table_of(example).is_some_and(|x| x.contains_key(k.name)) {
                missing.push(format!("{}.{}", t.table, k.name));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "not set in FULL / FULL_QUEUE: {missing:?}"
    );
}

/// `consumer.handler` names mqsim's own handler or one the model running
/// the scenario registered (`Overrides::actors`): an unknown name is an
/// error listing the registered ones; a registered one renders back.
#[test]
fn a_handler_must_be_registered_with_the_model() {
    let text = with("[consumer]\nhandler = \"orders\"\n");
    one_error(
        &text,
        "consumer.handler",
        &[
            "expected a registered handler, one of: store_writer;",
            "found \"orders\"",
            "mqsim::Registry",
        ],
    );
    let actors = Actors {
        handlers: vec!["dedup".to_string(), "orders".to_string()],
        ..Actors::default()
    };
    let o = Overrides {
        actors: actors.clone(),
        ..Overrides::default()
    };
    let s = parse_with(Path::new("t.toml"), &text, &o).unwrap();
    assert_eq!(s.consumer.handler, "orders");
    let back = parse_with(Path::new("t.toml"), &crate::scenario::render(&s, &[]), &o).unwrap();
    assert_eq!(back, s);
    let other = Overrides {
        actors: Actors {
            handlers: vec!["dedup".to_string()],
            ..Actors::default()
        },
        ..Overrides::default()
    };
    let e = parse_with(Path::new("t.toml"), &text, &other)
        .unwrap_err()
        .errors;
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(
        e[0].message,
        "expected a registered handler, one of: store_writer, dedup; found \"orders\""
    );
}

/// `policy.kind` may name a policy the model registered
/// (`Overrides::actors`), with an `[expect.<it>]` table of its own; an
/// unregistered name is an error listing the built-in and registered ones.
#[test]
fn a_policy_of_ones_own_must_be_registered_with_the_model() {
    let text = with(
        "[policy]\nkind = \"shed_early\"\n[expect]\nlost = 0\n[expect.shed_early]\nsilently_dropped = 0\n",
    );
    let e = errs(&text);
    assert_eq!(e.len(), 2, "{e:#?}");
    assert_eq!(e[0].path, "policy.kind");
    assert!(
        e[0].message.starts_with("unknown policy kind \"shed_early\", expected one of: silent_drop, circuit_breaker, backpressure, unbounded"),
        "{e:#?}"
    );
    assert_eq!(e[1].path, "expect.shed_early");
    let o = Overrides {
        actors: Actors {
            policies: vec!["shed_early".to_string()],
            ..Actors::default()
        },
        ..Overrides::default()
    };
    let s = parse_with(Path::new("t.toml"), &text, &o).unwrap();
    assert_eq!(s.policy.kind, PolicyKind::Custom("shed_early"));
    assert_eq!(s.policy.kind.name(), "shed_early");
    assert_eq!(s.expect.len(), 2, "the common bound and the policy's own");
    let back = parse_with(Path::new("t.toml"), &crate::scenario::render(&s, &[]), &o).unwrap();
    assert_eq!(back, s);
    // --policy names one too.
    let o = Overrides {
        policy: Some(PolicyKind::named("shed_early")),
        ..o
    };
    assert!(parse_with(Path::new("t.toml"), MINIMAL, &o).is_ok());
}

/// `store.model` names mqsim's own store model or a registered one.
#[test]
fn a_store_model_must_be_registered_with_the_model() {
    let text = with("[store]\nmodel = \"cachd\"\n");
    one_error(
        &text,
        "store.model",
        &[
            "expected a registered store model, one of: latency;",
            "found \"cachd\"",
        ],
    );
    let o = Overrides {
        actors: Actors {
            stores: vec!["cached".to_string()],
            ..Actors::default()
        },
        ..Overrides::default()
    };
    let e = parse_with(Path::new("t.toml"), &text, &o)
        .unwrap_err()
        .errors;
    assert_eq!(
        e[0].message,
        "expected a registered store model, one of: latency, cached; found \"cachd\" (did you mean \"cached\"?)"
    );
    let text = with("[store]\nmodel = \"cached\"\n");
    let s = parse_with(Path::new("t.toml"), &text, &o).unwrap();
    assert_eq!(s.store.model, "cached");
}

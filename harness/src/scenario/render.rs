//! Writes a validated scenario back out as a scenario file, every field
//! explicit, so a drawn (swarm) or shrunk schedule becomes a plain file a
//! person can read, edit and replay. `parse(render(s)) == s` for a scenario
//! loaded without `--scale`; a scaled one is written with its scaled values,
//! so the file replays the scaled run at scale 1 (`scale` itself is only
//! mentioned in a comment).

use super::keys::Toml;
use super::tables::*;
use super::types::*;
use crate::metric::Expectation;
use crate::units::format_duration;
use std::fmt::Write as _;

fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn dur(d: std::time::Duration) -> String {
    quote(&format_duration(d))
}

fn hosts(h: &[Host]) -> String {
    let names: Vec<String> = h.iter().map(|h| quote(&h.to_string())).collect();
    format!("[{}]", names.join(", "))
}

/// `a` and `b` of a network fault; both sides equal means the default
/// (every host on both sides), which can only be written by leaving them out.
fn sides(a: &[Host], b: &[Host]) -> String {
    if a == b {
        String::new()
    } else {
        format!("a = {}\nb = {}\n", hosts(a), hosts(b))
    }
}

/// The scenario as TOML. `header` lines are written first as comments.
pub fn render(s: &Scenario, header: &[String]) -> String {
    let mut o = String::new();
    // Every line of the header is a comment, whatever a message holds.
    for line in header.iter().flat_map(|h| h.lines()) {
        let _ = writeln!(o, "# {line}");
    }
    if s.scale != 1 {
        let _ = writeln!(
            o,
            "# Rendered at --scale {}: the rates and [scale] counts below are already multiplied.",
            s.scale
        );
    }
    // A field of one broker kind is written only for that kind: given
    // under the other it is an error.
    let kind = s.broker.kind;
    s.render_keys(&mut o, kind);
    let _ = writeln!(o, "\n[topology]");
    s.topology.render_keys(&mut o, kind);
    let _ = writeln!(o, "\n[network]");
    s.network.render_keys(&mut o, kind);
    let w = &s.workload;
    let _ = writeln!(o, "\n[workload]");
    w.render_keys(&mut o, kind);
    match w.skew {
        None => {}
        Some(KeySkew::Hot { share, keys }) => {
            let _ = writeln!(o, "hot_share = {}", share.toml());
            match keys {
                HotKeys::First(n) => {
                    let _ = writeln!(o, "hot_keys = {n}");
                }
                HotKeys::Partition(p) => {
                    let _ = writeln!(o, "hot_partition = {p}");
                }
            }
        }
        Some(KeySkew::Zipf { exponent, hot }) => {
            let _ = writeln!(o, "zipf = {}", exponent.toml());
            let _ = writeln!(o, "hot_keys = {hot}");
        }
    }
    let _ = writeln!(o, "\n[broker]");
    s.broker.render_keys(&mut o, kind);
    let _ = writeln!(o, "\n[consumer]");
    s.consumer.render_keys(&mut o, kind);
    let _ = writeln!(o, "\n[store]");
    s.store.render_keys(&mut o, kind);

    let _ = writeln!(o, "\n[policy]");
    s.policy.render_keys(&mut o, kind);
    let _ = writeln!(o, "\n[policy.breaker]");
    s.policy.breaker.render_keys(&mut o, kind);

    for f in &s.faults {
        let _ = writeln!(o, "\n[[fault]]");
        let _ = writeln!(o, "at = {}", dur(f.at));
        let _ = writeln!(o, "kind = \"{}\"", f.kind.name());
        let window = f.until.map(|u| dur(u - f.at));
        match &f.kind {
            FaultKind::Crash { .. } => {
                if let Some(w) = &window {
                    let _ = writeln!(o, "restart_after = {w}");
                }
            }
            _ => {
                if let Some(w) = &window {
                    let _ = writeln!(o, "for = {w}");
                }
            }
        }
        if let Some(r) = &f.repeat {
            let _ = writeln!(o, "every = {}", dur(r.every));
            let _ = writeln!(o, "count = {}", r.count);
            if r.jitter > std::time::Duration::ZERO {
                let _ = writeln!(o, "jitter = {}", dur(r.jitter));
            }
        }
        match &f.kind {
            FaultKind::Partition { a, b, oneway } => {
                let _ = writeln!(o, "{}oneway = {oneway}", sides(a, b));
            }
            FaultKind::Heal { a, b } | FaultKind::Hold { a, b } | FaultKind::Release { a, b } => {
                o += &sides(a, b);
            }
            FaultKind::Latency { a, b, latency } => {
                o += &sides(a, b);
                let _ = writeln!(o, "latency = {}", quote(&latency.to_string()));
            }
            FaultKind::Loss { a, b, rate } => {
                let _ = writeln!(o, "{}rate = {rate:?}", sides(a, b));
            }
            FaultKind::Crash { targets } | FaultKind::Pause { targets } => {
                let _ = writeln!(o, "target = {}", hosts(targets));
            }
            FaultKind::SlowStorage { targets, slow } => {
                let _ = writeln!(o, "target = {}", hosts(targets));
                match slow {
                    Slowdown::Extra(latency) => {
                        let _ = writeln!(o, "latency = {}", quote(&latency.to_string()));
                    }
                    Slowdown::Factor(x) => {
                        let _ = writeln!(o, "factor = {x:?}");
                    }
                }
            }
            FaultKind::SlowCpu { targets, factor } => {
                let _ = writeln!(o, "target = {}", hosts(targets));
                let _ = writeln!(o, "factor = {factor:?}");
            }
            FaultKind::Poison { rate, ids } => {
                if *rate > 0.0 {
                    let _ = writeln!(o, "rate = {rate:?}");
                }
                if !ids.is_empty() {
                    let ids: Vec<String> = ids.iter().map(|i| quote(&i.to_string())).collect();
                    let _ = writeln!(o, "ids = [{}]", ids.join(", "));
                }
            }
            FaultKind::Redrive => {}
            FaultKind::MemoryPressure { targets, limit } => {
                let _ = writeln!(o, "target = {}", hosts(targets));
                let _ = writeln!(o, "limit = {limit}");
            }
        }
    }

    if let Some(b) = &s.buffer {
        let _ = writeln!(o, "\n[buffer]");
        b.render_keys(&mut o, kind);
    }

    if let Some(sw) = &s.swarm {
        let _ = writeln!(o, "\n[swarm]");
        let _ = writeln!(o, "faults = \"{}..{}\"", sw.faults.0, sw.faults.1);
        let kinds: Vec<String> = sw.kinds.iter().map(|k| quote(k)).collect();
        let _ = writeln!(o, "kinds = [{}]", kinds.join(", "));
        let _ = writeln!(
            o,
            "window = \"{}..{}\"",
            format_duration(sw.window.0),
            format_duration(sw.window.1)
        );
        if let Some((lo, hi)) = sw.rate {
            let _ = writeln!(o, "rate = \"{lo}/s..{hi}/s\"");
        }
    }

    if !s.scale_counts.is_empty() {
        let counts: Vec<String> = s.scale_counts.iter().map(|c| quote(c.path())).collect();
        let _ = writeln!(o, "\n[scale]");
        let _ = writeln!(o, "counts = [{}]", counts.join(", "));
    }

    // The common bounds and every policy's, not the effective list: the
    // file must still hold what a run under another policy checks.
    if !s.expect_common.is_empty() {
        let _ = writeln!(o, "\n[expect]");
        bounds(&mut o, &s.expect_common);
    }
    for (kind, list) in &s.expect_by_policy {
        let _ = writeln!(o, "\n[expect.{}]", kind.name());
        bounds(&mut o, list);
    }
    o
}

fn bounds(o: &mut String, list: &[Expectation]) {
    for e in list {
        // A group's bound as a dotted key: `partition.hot.max_lag`.
        let _ = writeln!(
            o,
            "{}{} = \"{} {}\"",
            e.scope.prefix(),
            e.metric.name(),
            e.cmp.symbol(),
            e.value
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse;
    use std::path::Path;

    #[test]
    fn every_shipped_scenario_round_trips() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        let mut n = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|x| x != "toml") {
                continue;
            }
            let s = crate::scenario::load(&path).unwrap();
            let text = render(&s, &["a header\nover two lines".to_string()]);
            assert!(text.starts_with("# a header\n# over two lines\n"));
            let back = parse(Path::new("rendered.toml"), &text)
                .unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()));
            assert_eq!(back, s, "{}", path.display());
            n += 1;
        }
        assert!(n >= 4);
    }

    #[test]
    fn every_fault_kind_round_trips() {
        let text = r#"
name = "all-faults"
summary = "one of each"
duration = "2m"
[topology]
brokers = 5
replication = 4
stores = 3
store_replication = 2
[workload]
bursts = [{ at = "5s", rate = "300/s", for = "5s" }]
idempotent = true
delivery_timeout = "30s"
hot_share = 0.4
hot_partition = 1
[broker]
fsync = "interval:100ms"
acks = 1
min_insync = 3
unclean_leader_election = true
replica_lag_max = "2s500ms"
session_timeout = "4s"
processing = "300us"
cores = 4
retention_messages = 10000000000
retention_age = "90s"
[consumer]
commit = "before_effect"
workers = 3
processing = "1ms500us"
cores = 2
assignment = "round_robin"
session_timeout = "20s"
auto_offset_reset = "latest"
reads = 3
read_retry = true
[store]
read_latency = "2ms..7ms"
[policy]
kind = "circuit_breaker"
max_lag = 2000
max_lag_age = "1m30s"
[policy.breaker]
window = "2s"
min_calls = 4
error_rate = 0.3
slow_call = "250ms"
slow_rate = 1
open_for = "7s500ms"
probes = 9
[scale]
counts = ["workload.keys", "policy.max_lag", "topology.partitions"]
[[fault]]
at = "1s"
kind = "partition"
a = "consumers"
b = "brokers"
oneway = true
for = "2s"
[[fault]]
at = "4s"
kind = "heal"
[[fault]]
at = "5s"
kind = "hold"
a = "producers"
b = "brokers"
[[fault]]
at = "6s"
kind = "release"
a = "producers"
b = "brokers"
[[fault]]
at = "7s"
kind = "latency"
latency = "10ms..50ms"
for = "1s"
[[fault]]
at = "9s"
kind = "loss"
a = "stores"
b = "consumers"
rate = 1
for = "1s"
[[fault]]
at = "11s"
kind = "crash"
target = "broker-0"
restart_after = "3s"
[[fault]]
at = "12s"
kind = "pause"
target = "all"
[[fault]]
at = "13s"
kind = "slow_storage"
target = ["stores", "controller-0"]
latency = "5ms"
for = "10s"
[[fault]]
at = "14s"
kind = "partition"
a = "controllers"
b = ["broker-4", "consumer-2"]
[[fault]]
at = "20s"
kind = "slow_cpu"
target = ["consumer-1", "brokers"]
factor = 12.5
for = "1s"
every = "2s"
count = 3
jitter = "500ms"
[[fault]]
at = "30s"
kind = "slow_storage"
target = ["store-0", "store-2"]
factor = 2.5
for = "10s"
[expect]
lost = 0
max_lag = "> 10"
[expect.silent_drop]
silently_dropped = "> 0"
[expect.circuit_breaker]
shed = ">= 1"
lost = 0
[expect.unbounded]
"#;
        let s = parse(Path::new("a.toml"), text).unwrap();
        // Every new field above differs from its default.
        let d = parse(
            Path::new("d.toml"),
            "name = \"d\"\nsummary = \"d\"\nduration = \"1m\"\n[topology]\nbrokers = 5\n",
        )
        .unwrap();
        assert_ne!(s.topology.replication, d.topology.replication);
        assert_ne!(s.workload.idempotent, d.workload.idempotent);
        assert_ne!(s.workload.delivery_timeout, d.workload.delivery_timeout);
        assert_ne!(s.workload.skew, d.workload.skew);
        let (b, db) = (&s.broker, &d.broker);
        assert_ne!(b.acks, db.acks);
        assert_ne!(b.min_insync, db.min_insync);
        assert_ne!(b.unclean_leader_election, db.unclean_leader_election);
        assert_ne!(b.replica_lag_max, db.replica_lag_max);
        assert_ne!(b.session_timeout, db.session_timeout);
        assert_ne!(b.retention_messages, db.retention_messages);
        assert_ne!(b.retention_age, db.retention_age);
        assert_ne!((b.processing, b.cores), (db.processing, db.cores));
        let (c, dc) = (&s.consumer, &d.consumer);
        assert_ne!((c.processing, c.cores), (dc.processing, dc.cores));
        assert_ne!(c.assignment, dc.assignment);
        assert_ne!(c.session_timeout, dc.session_timeout);
        assert_ne!(c.auto_offset_reset, dc.auto_offset_reset);
        assert_ne!(c.reads, dc.reads);
        assert_ne!(c.read_retry, dc.read_retry);
        assert_ne!(s.topology.store_replication, d.topology.store_replication);
        assert_ne!(s.store.read_latency, d.store.read_latency);
        assert_ne!(s.scale_counts, d.scale_counts);
        let (p, dp) = (&s.policy, &d.policy);
        assert_ne!(p.kind, dp.kind);
        assert_ne!(p.max_lag, dp.max_lag);
        assert_ne!(p.max_lag_age, dp.max_lag_age);
        let (br, dbr) = (&p.breaker, &dp.breaker);
        assert_ne!(br.window, dbr.window);
        assert_ne!(br.min_calls, dbr.min_calls);
        assert_ne!(br.error_rate, dbr.error_rate);
        assert_ne!(br.slow_call, dbr.slow_call);
        assert_ne!(br.slow_rate, dbr.slow_rate);
        assert_ne!(br.open_for, dbr.open_for);
        assert_ne!(br.probes, dbr.probes);
        assert!(matches!(
            s.faults.last().unwrap().kind,
            FaultKind::SlowStorage {
                slow: Slowdown::Factor(_),
                ..
            }
        ));
        assert_eq!(s.expect_by_policy.len(), 3);
        assert_eq!(s.expect.len(), 4);

        let back = parse(Path::new("b.toml"), &render(&s, &[])).unwrap();
        assert_eq!(back, s);
    }

    /// A queue scenario with every queue field and fault kind, none at its
    /// default: the log's fields are left out of the file (they are errors
    /// for a queue), and it parses back equal.
    #[test]
    fn a_queue_scenario_round_trips() {
        let text = r#"
name = "queue"
summary = "every queue field"
duration = "1m"
[topology]
brokers = 3
partitions = 2
[workload]
producers = 3
[broker]
kind = "queue"
fsync = "never"
acks = 0
session_timeout = "45s"
visibility_timeout = "1m30s"
max_receives = 4
fifo = true
max_length = 10000000000
overflow = "block"
partition_handling = "autoheal"
queue_type = "quorum"
memory_limit = 7000
memory_alarm = "block_all"
message_ttl = "45s"
[buffer]
brokers = 2
partitions = 3
relays = 2
rate = "250/s"
max_depth = 900
[consumer]
workers = 2
commit = "before_effect"
fetch_max = 10
partial_batch_failure = true
retry_backoff = "250ms"
[policy]
max_lag = 5
[[fault]]
at = "1s"
kind = "poison"
rate = 0.05
for = "10s"
[[fault]]
at = "2s"
kind = "poison"
ids = ["p2-7", "p0-0", "p1-4294967295"]
[[fault]]
at = "3s"
kind = "poison"
rate = 1
ids = ["p0-1"]
for = "1s"
[[fault]]
at = "4s"
kind = "heal"
[[fault]]
at = "5s"
kind = "redrive"
[[fault]]
at = "6s"
kind = "pause"
target = "all"
for = "1s"
[[fault]]
at = "7s"
kind = "memory_pressure"
target = ["broker-0", "broker-2"]
limit = 300
for = "2s"
[expect]
poison = "> 0"
poison_dead_lettered = "> 0"
poison_not_dead_lettered = 0
misrouted = 0
max_deliveries = "<= 4"
[expect.silent_drop]
lost = 0
"#;
        let s = parse(Path::new("q.toml"), text).unwrap();
        let d = parse(
            Path::new("d.toml"),
            "name = \"d\"\nsummary = \"d\"\nduration = \"1m\"\n[broker]\nkind = \"queue\"\n",
        )
        .unwrap();
        let (q, dq) = (&s.broker.queue, &d.broker.queue);
        assert_ne!(q.visibility_timeout, dq.visibility_timeout);
        assert_ne!(q.max_receives, dq.max_receives);
        assert_ne!(q.fifo, dq.fifo);
        assert_ne!(q.max_length, dq.max_length);
        assert_ne!(q.overflow, dq.overflow);
        assert_ne!(q.partition_handling, dq.partition_handling);
        assert_ne!(q.queue_type, dq.queue_type);
        assert_ne!(q.memory_limit, dq.memory_limit);
        assert_ne!(q.memory_alarm, dq.memory_alarm);
        assert_ne!(q.message_ttl, dq.message_ttl);
        assert_ne!(s.buffer, d.buffer);
        assert_ne!(
            s.consumer.partial_batch_failure,
            d.consumer.partial_batch_failure
        );
        assert_ne!(s.consumer.retry_backoff, d.consumer.retry_backoff);
        assert_ne!(s.broker.session_timeout, d.broker.session_timeout);
        assert_eq!(s.faults.len(), 7);

        let rendered = render(&s, &[]);
        // The buffer is a log: its own section has replication and min_insync.
        let queue_part = rendered.split("\n[buffer]").next().unwrap();
        for key in [
            "\nreplication =",
            "min_insync",
            "unclean_leader_election",
            "replica_lag_max",
            "retention_",
            "assignment",
            "auto_offset_reset",
        ] {
            assert!(!queue_part.contains(key), "{key} in\n{rendered}");
        }
        // A queue has no controller; only a buffer in front brings one.
        let section = "[buffer]\nbrokers = 2\npartitions = 3\nrelays = 2\nrate = \"250/s\"\nmax_depth = 900\n";
        assert!(text.contains(section));
        let bare = parse(Path::new("q.toml"), &text.replace(section, "")).unwrap();
        assert!(!render(&bare, &[]).contains("controller"));
        let back = parse(Path::new("b.toml"), &rendered).unwrap();
        assert_eq!(back, s);
        // Without any one line (a field left to its default, a fault with
        // fewer fields, or the file made invalid), whatever parses still
        // round-trips.
        let lines: Vec<&str> = text.lines().collect();
        let mut valid = 0;
        for i in 0..lines.len() {
            let mut fewer = lines.clone();
            fewer.remove(i);
            let Ok(s) = parse(Path::new("q.toml"), &fewer.join("\n")) else {
                continue;
            };
            let rendered = render(&s, &[]);
            let back = parse(Path::new("b.toml"), &rendered)
                .unwrap_or_else(|e| panic!("without line {i}: {e}\n{rendered}"));
            assert_eq!(back, s, "without line {i}");
            valid += 1;
        }
        assert!(valid >= 25, "{valid}");
        // And a log scenario writes none of the queue's fields.
        let log = render(
            &parse(
                Path::new("l.toml"),
                "name = \"l\"\nsummary = \"l\"\nduration = \"1m\"\n",
            )
            .unwrap(),
            &[],
        );
        for key in [
            "visibility_timeout",
            "fifo",
            "overflow",
            "partial_batch_failure",
        ] {
            assert!(!log.contains(key), "{key} in\n{log}");
        }
    }

    /// Each value of the enum-like fields (and the defaults, where the
    /// optional retention fields are left out) survives the round trip.
    #[test]
    fn every_enum_value_round_trips() {
        for extra in [
            "[broker]\nacks = 0\n",
            "[broker]\nacks = \"1\"\n",
            "[broker]\nacks = \"all\"\n",
            "[consumer]\nassignment = \"range\"\nauto_offset_reset = \"latest\"\n",
            "[topology]\nbrokers = 16\n",
            "[policy]\nkind = \"silent_drop\"\nmax_lag_age = \"3s\"\n",
            "[policy]\nkind = \"backpressure\"\n[expect.backpressure]\nshed = 0\n",
            "[policy]\nkind = \"unbounded\"\n[scale]\ncounts = []\n",
            "[expect.circuit_breaker]\nlost = 0\n[expect]\nsent = 10\n",
            "[broker]\nkind = \"log\"\n",
            "[broker]\nkind = \"queue\"\n",
            "[broker]\nkind = \"queue\"\noverflow = \"reject_new\"\npartition_handling = \"pause_minority\"\nqueue_type = \"classic\"\n",
            "[broker]\nkind = \"queue\"\noverflow = \"drop_oldest\"\nmax_length = 1\n",
            "[broker]\nkind = \"queue\"\nmax_receives = 1\n[[fault]]\nat = \"1s\"\nkind = \"redrive\"\n",
            "[broker]\nkind = \"queue\"\nmemory_alarm = \"block_publishers\"\n",
            "[workload]\nkeys = 50\nzipf = 1.25\nhot_keys = 3\n",
            "[workload]\nkeys = 50\nhot_share = 0.9\n",
            "",
        ] {
            let text = format!("name = \"e\"\nsummary = \"e\"\nduration = \"1m\"\n{extra}");
            let s = parse(Path::new("a.toml"), &text).unwrap();
            let back = parse(Path::new("b.toml"), &render(&s, &[])).unwrap();
            assert_eq!(back, s, "{extra}");
        }
    }

    /// A scaled scenario renders as its scaled values: the file replays the
    /// same run at scale 1.
    #[test]
    fn a_scaled_scenario_renders_its_scaled_values() {
        use crate::scenario::{parse_with, Overrides};
        let text = "name = \"s\"\nsummary = \"s\"\nduration = \"1m\"\n\
                    [workload]\nrate = \"50/s\"\nbursts = [{ at = \"1s\", rate = \"70/s\", for = \"1s\" }]\n\
                    [scale]\ncounts = [\"consumer.workers\"]\n";
        let o = Overrides {
            policy: Some(PolicyKind::Backpressure),
            scale: Some(4),
            ..Overrides::default()
        };
        let s = parse_with(Path::new("a.toml"), text, &o).unwrap();
        let rendered = render(&s, &[]);
        assert!(
            rendered.starts_with("# Rendered at --scale 4"),
            "{rendered}"
        );
        let back = parse(Path::new("b.toml"), &rendered).unwrap();
        assert_eq!(back.scale, 1);
        assert_eq!(Scenario { scale: 4, ..back }, s);
    }
}

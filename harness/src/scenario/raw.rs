//! The structured tables as written: serde types mirroring `[[fault]]`,
//! `[expect]`, `[swarm]`, `[scale]` and a burst (DESIGN §4), with their
//! docs. The plain tables' raw types (`RawTopology`, `RawBroker`, …) are not
//! written here: `#[derive(Keys)]` writes them from the declarations in
//! `tables.rs`. Together they are what the JSON Schema is derived from
//! (`schema.rs`, `docs/scenario.schema.json`).
//!
//! `validate/` does not deserialise through these types: serde stops at the
//! first error, while the validator must report every error of a file at
//! once. It walks the parsed `toml::Table` instead, accepting exactly the
//! keys each type's [`Schema::fields`] lists. Unit tests in `validate/tests.rs`
//! keep them in step: `fields()` equals the serde field names of each type,
//! the validator rejects any other key, and valid example files deserialise
//! through these types as well (with `deny_unknown_fields`, except
//! `RawBroker`: serde cannot deny unknown keys beside a flattened part, the
//! validator and the schema's `additionalProperties` do).
//!
//! Units: durations are strings with units (`"250ms"`, `"30s"`, `"2m"`,
//! `"1h30m"`); rates are strings `"800/s"` or `"30000/m"` (messages per second
//! or minute); latency ranges are strings `"200ms..800ms"` (inclusive) or one
//! duration for a fixed latency.

// The types are the schema of record and are exercised by the tests; the
// validator reads the TOML tree directly (see above), so outside tests nothing
// constructs them.
#![cfg_attr(not(test), allow(dead_code))]

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A key that takes an integer or a string (`broker.acks`, and what the JSON
/// Schema says of a swarm's `faults`, which serde reads as a `toml::Value`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum IntOrString {
    Int(u64),
    Str(String),
}

/// The key names a table accepts, in schema order (equal to the serde field
/// names of the type; a unit test checks it).
pub trait Schema {
    fn fields() -> Vec<&'static str>;
}

/// `[swarm]`: what each seed may draw. A scenario with `[swarm]` has no
/// `[[fault]]`: the seed picks the faults.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSwarm {
    /// Count range `"A..B"` (inclusive) or an integer, default `"1..3"`: how
    /// many faults each seed draws (at most 16).
    #[schemars(with = "Option<IntOrString>")]
    pub faults: Option<toml::Value>,
    /// Array of fault kinds, default every windowed kind: `crash`, `pause`,
    /// `slow_storage`, `partition`, `hold`, `latency`, `loss` (a swarm draws
    /// host and link faults, not `poison` or `redrive`).
    pub kinds: Option<Vec<String>>,
    /// Duration range, default `"1s..10s"`: each drawn fault's window
    /// (a crash's `restart_after`); at most the load phase.
    pub window: Option<String>,
    /// Rate range such as `"100/s..400/s"` (min at least 1/s), default none
    /// (the workload's rate): the total load each seed draws.
    pub rate: Option<String>,
}

impl Schema for RawSwarm {
    fn fields() -> Vec<&'static str> {
        vec!["faults", "kinds", "window", "rate"]
    }
}

/// One element of `workload.bursts`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBurst {
    /// Required duration: when the burst starts, from the start of the run.
    #[schemars(required)]
    pub at: Option<String>,
    /// Required rate (at most 1000000/s): the total publish rate during the
    /// burst, replacing `workload.rate`.
    #[schemars(required)]
    pub rate: Option<String>,
    /// Required duration > 0: how long the burst lasts; it must end by the end
    /// of the load phase.
    #[schemars(required)]
    #[serde(rename = "for")]
    pub for_: Option<String>,
}

impl Schema for RawBurst {
    fn fields() -> Vec<&'static str> {
        vec!["at", "rate", "for"]
    }
}

/// `[scale]`: `--scale K` on the command line multiplies every rate of the
/// workload (`workload.rate`, each burst's `rate`, the range of
/// `swarm.rate`) by K, and also each count listed here (an absent listed
/// field is its default × K; an absent `policy.max_lag` stays absent).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawScale {
    /// Array of field paths, default `[]`: from `"topology.partitions"`,
    /// `"topology.stores"`, `"workload.producers"`, `"workload.keys"`,
    /// `"consumer.workers"` and `"policy.max_lag"`, each at most once.
    pub counts: Option<Vec<String>>,
}

impl Schema for RawScale {
    fn fields() -> Vec<&'static str> {
        vec!["counts"]
    }
}

/// A host selector: one name or a list. Each name is a host (`broker-0`,
/// `store-1`, `producer-2`, `consumer-3`, with the index below the count of
/// the role, or `controller-0`, the only controller, which a queue cluster
/// does not have), a role (`brokers`, `stores`, `producers`, `consumers`,
/// `controllers`) or `all`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawHosts {
    One(String),
    Many(Vec<String>),
}

/// One `[[fault]]`. Which fields apply depends on `kind` (see
/// [`FAULT_KIND_FIELDS`]); a field that does not apply is an error.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFault {
    /// Required duration: when the fault fires, from the start of the run;
    /// before the end of the load phase and not before the previous fault.
    #[schemars(required)]
    pub at: Option<String>,
    /// Required string: `partition`, `heal`, `hold`, `release`, `latency`,
    /// `loss`, `crash`, `pause`, `slow_storage`, `slow_cpu`, or (with
    /// `broker.kind = "queue"` only) `poison`, `redrive` or
    /// `memory_pressure`.
    #[schemars(required)]
    pub kind: Option<String>,
    /// Duration > 0, optional (partition, hold, latency, loss, pause,
    /// slow_storage, slow_cpu, poison, memory_pressure): the fault's window; it heals by itself at
    /// `at + for`, which must be by the end of the load phase. Without it the
    /// fault lasts until the drain starts.
    #[serde(rename = "for")]
    pub for_: Option<String>,
    /// Host selector, one side of a network fault (partition, hold: required;
    /// heal, release, latency, loss: optional, default every host; give both
    /// `a` and `b` or neither). No host may be on both sides.
    pub a: Option<RawHosts>,
    /// Host selector, the other side of a network fault (see `a`).
    pub b: Option<RawHosts>,
    /// Boolean, default `false` (partition only): cut only the `a → b`
    /// direction.
    pub oneway: Option<bool>,
    /// Latency range (latency: the links' one-way latency during the window,
    /// required; slow_storage: the EXTRA latency of every disk write / store
    /// operation, required unless `factor` is given). Max at most 10s.
    pub latency: Option<String>,
    /// Float, 1 < factor <= 1000. slow_storage (instead of `latency`):
    /// each store operation takes its own latency times `factor` (what a
    /// compaction does to reads that must merge more files); stores only:
    /// brokers' and the controller's disk writes have no base latency to
    /// multiply. slow_cpu (required): the targets' CPU work takes `factor`
    /// times as long.
    pub factor: Option<f64>,
    /// Float, 0 < rate <= 1. Loss (required): per-step probability that a
    /// link between `a` and `b` fails to deliver. Poison (give it, `ids` or
    /// both): the probability that a message created in the window is
    /// poison.
    pub rate: Option<f64>,
    /// Host selector (crash, pause, slow_storage, slow_cpu,
    /// memory_pressure: required): the hosts the fault hits; slow_storage
    /// accepts brokers, stores and the controller only, slow_cpu consumers
    /// and brokers (whose `processing` must be above 0), memory_pressure
    /// brokers (queue nodes) only.
    pub target: Option<RawHosts>,
    /// Duration > 0, optional (crash only): restart the hosts at
    /// `at + restart_after`, which must be by the end of the load phase.
    /// Without it they restart when the drain starts.
    pub restart_after: Option<String>,
    /// Array of message ids `"pN-M"` (producer N's message M, N below
    /// `workload.producers`), each at most once, at most 10000 (poison
    /// only; give it, `rate` or both): messages that are poison wherever
    /// they fall, in the window or not.
    pub ids: Option<Vec<String>>,
    /// Integer >= 1 (memory_pressure only, required): messages the target
    /// queue nodes have memory for during the window.
    pub limit: Option<u64>,
    /// Duration > 0, optional (any kind): the fault repeats, instance `i`
    /// starting at `at + i × every` (plus its jitter), each lasting as the
    /// first (`for`, `restart_after`; a windowed kind needs one). At least
    /// the window plus `jitter`, so repetitions never overlap.
    pub every: Option<String>,
    /// Integer from 1 to 1000, optional (with `every`): instances in all,
    /// the first included; the last must end within the load phase.
    /// Without it, as many as fit.
    pub count: Option<u32>,
    /// Duration, default `"0s"` (with `every`): each instance starts up to
    /// this much later, drawn (whole milliseconds) from the run's seed.
    pub jitter: Option<String>,
}

impl Schema for RawFault {
    fn fields() -> Vec<&'static str> {
        vec![
            "at",
            "kind",
            "for",
            "a",
            "b",
            "oneway",
            "latency",
            "factor",
            "rate",
            "target",
            "restart_after",
            "ids",
            "limit",
            "every",
            "count",
            "jitter",
        ]
    }
}

/// Fields every fault kind accepts: its repetition.
pub const REPEAT_FIELDS: [&str; 3] = ["every", "count", "jitter"];

/// For each fault kind, the fields it accepts besides `at` and `kind`.
pub const FAULT_KIND_FIELDS: &[(&str, &[&str])] = &[
    ("partition", &["for", "a", "b", "oneway"]),
    ("heal", &["a", "b"]),
    ("hold", &["for", "a", "b"]),
    ("release", &["a", "b"]),
    ("latency", &["for", "a", "b", "latency"]),
    ("loss", &["for", "a", "b", "rate"]),
    ("crash", &["target", "restart_after"]),
    ("pause", &["for", "target"]),
    ("slow_storage", &["for", "target", "latency", "factor"]),
    ("slow_cpu", &["for", "target", "factor"]),
    ("poison", &["for", "rate", "ids"]),
    ("redrive", &[]),
    ("memory_pressure", &["for", "target", "limit"]),
];

/// An expectation's bound: an integer `N` (meaning `= N`) or a string
/// `"OP N"` with OP one of `=`, `>`, `<`, `<=`, `>=` (spaces optional).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawBound {
    Exactly(u64),
    Compare(String),
}

/// Defines [`RawExpect`] and [`RawPolicyExpect`] over one list of metric
/// fields, so the top level of `[expect]` and its per-policy sub-tables
/// cannot drift apart.
/// The `[expect]` tables, one bound per metric of [`crate::metric`]'s table
/// (`metric_table!(expect_tables)` below hands it the entries).
macro_rules! expect_tables {
    ($($(#[$doc:meta])* $variant:ident = $field:ident [$($flag:ident),*],)*) => {
        /// `[expect]`: one optional bound per metric, named as in the JSON
        /// report, checked under every policy; and one optional sub-table per
        /// policy kind (`[expect.silent_drop]` ...) with more bounds, checked
        /// only when the run's policy is that kind (after the top-level ones).
        /// Counts are numbers of messages; `_ms` figures are milliseconds of
        /// simulated time. The file's order is kept when checking.
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct RawExpect {
            $($(#[$doc])* pub $field: Option<RawBound>,)*
            /// `[expect.silent_drop]`: bounds checked under `silent_drop` only.
            pub silent_drop: Option<RawPolicyExpect>,
            /// `[expect.circuit_breaker]`: bounds checked under
            /// `circuit_breaker` only.
            pub circuit_breaker: Option<RawPolicyExpect>,
            /// `[expect.backpressure]`: bounds checked under `backpressure` only.
            pub backpressure: Option<RawPolicyExpect>,
            /// `[expect.unbounded]`: bounds checked under `unbounded` only.
            pub unbounded: Option<RawPolicyExpect>,
            /// `partition.<p>.<metric>` (`<p>` a partition number, `hot` or
            /// `cold`): bounds on one partition's figures, or on the hot
            /// partitions' or the others' (those two need a skewed load).
            pub partition: Option<BTreeMap<String, RawGroupExpect>>,
            /// `key.<class>.<metric>` (`hot` or `cold`, with a skewed
            /// load): bounds on the hot keys' figures, or the others'.
            pub key: Option<BTreeMap<String, RawGroupExpect>>,
        }

        impl Schema for RawExpect {
            fn fields() -> Vec<&'static str> {
                vec![
                    $(stringify!($field),)*
                    "silent_drop",
                    "circuit_breaker",
                    "backpressure",
                    "unbounded",
                    "partition",
                    "key",
                ]
            }
        }

        /// `[expect.<policy>]`: the same metric keys as `[expect]`.
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct RawPolicyExpect {
            $($(#[$doc])* pub $field: Option<RawBound>,)*
            /// As in `[expect]`.
            pub partition: Option<BTreeMap<String, RawGroupExpect>>,
            /// As in `[expect]`.
            pub key: Option<BTreeMap<String, RawGroupExpect>>,
        }

        impl Schema for RawPolicyExpect {
            fn fields() -> Vec<&'static str> {
                vec![$(stringify!($field),)* "partition", "key"]
            }
        }
    };
}

crate::metric::metric_table!(expect_tables);

/// `partition.<p>` or `key.<class>` in `[expect]`: bounds on one group's
/// figures (the metrics a group has). `max_lag` and `max_lag_age_ms` are
/// a partition's, so `key.<class>` has neither.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGroupExpect {
    /// Its messages created.
    pub sent: Option<RawBound>,
    /// Its messages applied at least once.
    pub took_effect: Option<RawBound>,
    /// As the run's `lost`, for its messages.
    pub lost: Option<RawBound>,
    /// As the run's `stranded`.
    pub stranded: Option<RawBound>,
    /// As the run's `silently_dropped`.
    pub silently_dropped: Option<RawBound>,
    /// As the run's `expired`.
    pub expired: Option<RawBound>,
    /// As the run's `dead_lettered`.
    pub dead_lettered: Option<RawBound>,
    /// As the run's `shed`.
    pub shed: Option<RawBound>,
    /// As the run's `abandoned`.
    pub abandoned: Option<RawBound>,
    /// As the run's `in_flight`.
    pub in_flight: Option<RawBound>,
    /// Largest lag of its partitions together, in messages (partitions only).
    pub max_lag: Option<RawBound>,
    /// Largest age of its oldest uncommitted message, in ms (partitions only).
    pub max_lag_age_ms: Option<RawBound>,
    /// Median end-to-end latency of its messages, in ms.
    pub latency_p50_ms: Option<RawBound>,
    /// 99th percentile end-to-end latency of its messages, in ms.
    pub latency_p99_ms: Option<RawBound>,
    /// Largest end-to-end latency of its messages, in ms.
    pub latency_max_ms: Option<RawBound>,
}

impl Schema for RawGroupExpect {
    fn fields() -> Vec<&'static str> {
        vec![
            "sent",
            "took_effect",
            "lost",
            "stranded",
            "silently_dropped",
            "expired",
            "dead_lettered",
            "shed",
            "abandoned",
            "in_flight",
            "max_lag",
            "max_lag_age_ms",
            "latency_p50_ms",
            "latency_p99_ms",
            "latency_max_ms",
        ]
    }
}

//! The scenario file as written: serde types mirroring the TOML schema
//! (DESIGN §4). Every field carries its meaning, default and unit; this file
//! is the documented schema, the JSON Schema editors use is derived from it
//! (`schema.rs`, `docs/scenario.schema.json`), and the "Scenario format
//! reference" (docs/scenario-format.md) repeats it for users.
//!
//! `validate.rs` does not deserialise through these types: serde stops at the
//! first error, while the validator must report every error of a file at once.
//! It walks the parsed `toml::Table` instead, accepting exactly the keys listed
//! in each type's [`Schema::FIELDS`]. Unit tests in `validate.rs` keep the three
//! in step: `FIELDS` equals the serde field names of each type, the validator
//! rejects any other key, and valid example files deserialise through these
//! types as well (`deny_unknown_fields`).
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

/// What the JSON Schema says of a key that takes an integer or a string
/// (`acks`, a swarm's `faults`): serde reads these as a `toml::Value`.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum IntOrString {
    Int(u64),
    Str(String),
}

/// The key names a table accepts, in schema order (equal to the serde field
/// names of the type; a unit test checks it).
pub trait Schema {
    const FIELDS: &'static [&'static str];
}

/// A whole scenario file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    /// Required. The scenario's name: lowercase letters, digits and `-`
    /// (e.g. `"broker-crash"`); used in reports and file names.
    #[schemars(required)]
    pub name: Option<String>,
    /// Required. One non-empty line saying what the scenario shows.
    #[schemars(required)]
    pub summary: Option<String>,
    /// Required. Duration (> 0): length of the load phase, during which
    /// producers publish and faults fire.
    #[schemars(required)]
    pub duration: Option<String>,
    /// Duration, default `"30s"`: length of the heal-and-drain phase that
    /// follows the load phase (producers stop, faults heal, crashed hosts
    /// restart, consumers work off the backlog). `duration + drain` is at most
    /// 24h.
    pub drain: Option<String>,
    /// Non-negative integer, default `1`: the seed used when the command line
    /// gives none.
    pub seed: Option<u64>,
    /// Duration, default `"1s"`: simulated time between gauge samples (queue
    /// depth, lag); at least `tick`, at most `duration`.
    pub sample_interval: Option<String>,
    /// Duration, default `"1ms"`: the resolution of simulated time (turmoil's
    /// tick); a whole number of milliseconds from 1ms to 100ms.
    pub tick: Option<String>,
    /// `[topology]`: how many hosts of each server role, and how many copies
    /// of each partition.
    pub topology: Option<RawTopology>,
    /// `[network]`: the default links.
    pub network: Option<RawNetwork>,
    /// `[workload]`: producers and the load they publish.
    pub workload: Option<RawWorkload>,
    /// `[broker]`: the broker model (a replicated log or a classic queue):
    /// durability, acknowledgement, replication, liveness, retention and
    /// queue settings.
    pub broker: Option<RawBroker>,
    /// `[consumer]`: the consumer group and its workers.
    pub consumer: Option<RawConsumer>,
    /// `[store]`: the downstream store consumers apply effects to.
    pub store: Option<RawStore>,
    /// `[policy]`: what the pipeline does when the consumers fall behind
    /// (`--policy` on the command line replaces its `kind`).
    pub policy: Option<RawPolicy>,
    /// `[[fault]]`, zero or more, in time order: the fault schedule.
    pub fault: Option<Vec<RawFault>>,
    /// `[expect]`: assertions on the run's figures; the run fails if any is
    /// false.
    pub expect: Option<RawExpect>,
    /// `[swarm]`: each seed draws its own fault schedule (and load level)
    /// instead of a fixed `[[fault]]` list.
    pub swarm: Option<RawSwarm>,
    /// `[scale]`: which counts `--scale K` multiplies along with the rates.
    pub scale: Option<RawScale>,
    /// `[buffer]`: a durable log in front of the broker (a queue) and the
    /// relays that move messages from it into the queue.
    pub buffer: Option<RawBuffer>,
}

/// `[buffer]` (with `broker.kind = "queue"` only): producers publish into a
/// replicated log (hosts `buffer-0` …, coordinated by `controller-0`,
/// `acks = "all"`, fsync per batch); relays (`relay-0` …), a consumer group
/// of it, forward each message into the queue and commit once the queue
/// confirmed it, so a message the queue cannot take waits, durably, in the
/// log.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBuffer {
    /// Integer from 1 to 16, default `3`: the log's brokers.
    pub brokers: Option<u32>,
    /// Integer from 1 to 1024, default `topology.partitions`: its partitions.
    pub partitions: Option<u32>,
    /// Integer from 1 to `brokers`, default min(3, brokers): replicas per
    /// partition.
    pub replication: Option<u32>,
    /// Integer from 1 to `replication`, default min(2, replication): fewest
    /// in-sync replicas for a write.
    pub min_insync: Option<u32>,
    /// Integer from 1 to 64, default `1`: relay hosts.
    pub relays: Option<u32>,
    /// Rate > 0, optional (default: as fast as the queue takes them): the
    /// most messages the relays forward per second, together.
    pub rate: Option<String>,
    /// Integer >= 1, optional: a relay forwards into a queue only while the
    /// queue holds fewer messages than this (it asks the queue's master).
    pub max_depth: Option<u64>,
}

impl Schema for RawBuffer {
    const FIELDS: &'static [&'static str] = &[
        "brokers",
        "partitions",
        "replication",
        "min_insync",
        "relays",
        "rate",
        "max_depth",
    ];
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
    const FIELDS: &'static [&'static str] = &["faults", "kinds", "window", "rate"];
}

impl Schema for RawScenario {
    const FIELDS: &'static [&'static str] = &[
        "name",
        "summary",
        "duration",
        "drain",
        "seed",
        "sample_interval",
        "tick",
        "topology",
        "network",
        "workload",
        "broker",
        "consumer",
        "store",
        "policy",
        "fault",
        "expect",
        "swarm",
        "scale",
        "buffer",
    ];
}

/// `[topology]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTopology {
    /// Integer from 1 to 16, default `1`: broker nodes (`broker-0` ...) of
    /// the cluster. With `broker.kind = "log"` there is besides them exactly
    /// one controller, `controller-0`; a queue cluster has none (its brokers
    /// coordinate among themselves).
    pub brokers: Option<u32>,
    /// Integer from 1 to 1024, default `4`: partitions; a message's key picks
    /// its partition. With `broker.kind = "queue"`: the number of queues; key
    /// `k` goes to queue `k % partitions`.
    pub partitions: Option<u32>,
    /// Integer from 1 to 64, default `1`: store nodes (`store-0` ...).
    pub stores: Option<u32>,
    /// Integer from 1 to `brokers`, default `min(3, brokers)`: replicas of
    /// each partition, the leader included. Partition `p`'s replicas are
    /// brokers `(p + i) % brokers` for `i < replication`; the first is the
    /// preferred leader. Log only: a queue is mirrored on every broker (its
    /// replication is `brokers`), so with `broker.kind = "queue"` it is an
    /// error.
    pub replication: Option<u32>,
    /// Integer from 1 to `stores`, default `1`: store nodes holding each
    /// key. Key `k`'s replicas are stores `(k % stores + i) % stores` for
    /// `i < store_replication`; a read or write goes to the first unless
    /// `consumer.read_retry` (or a `circuit_breaker` policy) moves it on.
    pub store_replication: Option<u32>,
}

impl Schema for RawTopology {
    const FIELDS: &'static [&'static str] = &[
        "brokers",
        "partitions",
        "stores",
        "replication",
        "store_replication",
    ];
}

/// `[network]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    /// Latency range, default `"1ms..5ms"`: one-way latency of every link
    /// (max at most 10s).
    pub latency: Option<String>,
}

impl Schema for RawNetwork {
    const FIELDS: &'static [&'static str] = &["latency"];
}

/// `[workload]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWorkload {
    /// Integer from 1 to 64, default `1`: producer clients (`producer-0` ...).
    pub producers: Option<u32>,
    /// Rate, default `"100/s"`: total publish rate across all producers outside
    /// bursts; above 0 (a scenario that sends nothing checks nothing), at most
    /// 1000000/s.
    pub rate: Option<String>,
    /// Integer >= 1, default `100`: distinct message keys; a key picks the
    /// partition, and order is checked per key.
    pub keys: Option<u32>,
    /// Array of inline tables `{ at, rate, for }`, default `[]`: periods of a
    /// different rate, inside the load phase, in time order, not overlapping.
    pub bursts: Option<Vec<RawBurst>>,
    /// Integer from 0 to 100, default `3`: retries of a failed or unanswered
    /// produce request.
    pub retries: Option<u32>,
    /// Duration > 0, default `"1s"`: how long a producer waits for an answer
    /// before giving up on an attempt.
    pub request_timeout: Option<String>,
    /// Duration > 0, default none: how long a producer tries to deliver a
    /// message from the moment it was created (Kafka's
    /// `delivery.timeout.ms`); past it the message is abandoned (recorded
    /// as `timeout`: the caller is told) even with retries left. Without
    /// it, `retries` alone decide.
    pub delivery_timeout: Option<String>,
    /// Duration, default `"5ms"`: how long a producer gathers messages into one
    /// request.
    pub linger: Option<String>,
    /// Integer >= 1, default `10000`: messages a producer buffers; beyond it
    /// new messages are rejected locally.
    pub buffer_max: Option<u32>,
    /// Integer >= 1, default `500`: most messages in one produce request.
    pub batch_max: Option<u32>,
    /// Boolean, default `false`: the idempotent producer. Batches carry a
    /// producer id and per-partition sequence numbers, and the partition
    /// leader drops a batch it has already appended, so retries do not
    /// duplicate. Kafka's default since 3.0 is `true`; here it is `false`, so
    /// plain retries duplicate unless asked.
    pub idempotent: Option<bool>,
    /// Float, 0 < share < 1, optional (default: keys drawn uniformly): a
    /// message goes to a hot key with this probability (uniformly among the
    /// hot keys), else uniformly to one of the others. A skewed load
    /// (`hot_share` or `zipf`) allows at most 1000000 `keys`.
    pub hot_share: Option<f64>,
    /// Integer >= 1, below `keys`, default `1` (with `hot_share` or `zipf`):
    /// the hot keys are keys `0..hot_keys`; with `zipf`, the most frequent
    /// `hot_keys` keys form the hot class of the per-class figures.
    pub hot_keys: Option<u32>,
    /// Integer below `topology.partitions`, optional (with `hot_share`,
    /// instead of `hot_keys`): the hot keys are every key of this partition
    /// (key `k` is in partition `k % partitions`): one hot partition.
    pub hot_partition: Option<u32>,
    /// Float, 0 < zipf <= 10, optional (instead of `hot_share`): keys
    /// follow Zipf's law, key `k` drawn with weight
    /// `1 / (k + 1)^zipf` (key 0 the most frequent).
    pub zipf: Option<f64>,
}

impl Schema for RawWorkload {
    const FIELDS: &'static [&'static str] = &[
        "producers",
        "rate",
        "keys",
        "bursts",
        "retries",
        "request_timeout",
        "delivery_timeout",
        "linger",
        "buffer_max",
        "batch_max",
        "idempotent",
        "hot_share",
        "hot_keys",
        "hot_partition",
        "zipf",
    ];
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
    const FIELDS: &'static [&'static str] = &["at", "rate", "for"];
}

/// `[broker]`. Some fields apply to one broker kind only (they say so);
/// given under the other kind they are an error.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBroker {
    /// String, default `"log"`: the broker model. `"log"`: a replicated,
    /// partitioned log with consumer groups and committed offsets,
    /// coordinated by `controller-0`, like Kafka. `"queue"`: a classic queue
    /// (SQS, RabbitMQ): a message is delivered, then deleted when acked; one
    /// not acked within `visibility_timeout` is delivered again; each queue
    /// is mirrored on every broker and there is no controller.
    pub kind: Option<String>,
    /// String, default `"per_batch"`: when the broker fsyncs its log (a
    /// queue: its message store).
    /// `"per_batch"`: before acknowledging each produce request;
    /// `"interval:<duration>"` (e.g. `"interval:100ms"`, > 0): on a timer, acks
    /// do not wait; `"never"`: only the OS writeback makes data durable.
    pub fsync: Option<String>,
    /// Duration > 0, default `"30s"`: period of the simulated OS page-cache
    /// flush (writeback); what survives a crash under `fsync = "never"`.
    pub writeback: Option<String>,
    /// Integer `0` or `1`, or string `"all"` (`"0"` and `"1"` also accepted),
    /// default `"all"`: when a produce request is acknowledged. `0`: the
    /// producer does not wait for an answer; `1`: once the leader has appended
    /// it (and synced it, per `fsync`); `"all"`: once every in-sync replica has
    /// it (the high watermark passed it). With `kind = "queue"` (publisher
    /// confirms): `0`: no confirms; `1`: once the queue's master has it;
    /// `"all"`: once every mirror has it (a quorum queue: a majority).
    #[schemars(with = "Option<IntOrString>")]
    pub acks: Option<toml::Value>,
    /// Log only. Integer from 1 to `topology.replication`, default `1`
    /// (Kafka's default): fewest in-sync replicas, the leader included, for
    /// an `acks = "all"` write to be accepted; with fewer the leader rejects
    /// it.
    pub min_insync: Option<u32>,
    /// Log only. Boolean, default `false`: may the controller elect a
    /// replica that is not in sync (losing what only the in-sync ones had)
    /// rather than leave the partition offline?
    pub unclean_leader_election: Option<bool>,
    /// Log only. Duration > 0, default `"10s"`: a follower that has not
    /// caught up with the leader's log end for this long leaves the in-sync
    /// set (Kafka's `replica.lag.time.max.ms`).
    pub replica_lag_max: Option<String>,
    /// Duration > 0, default `"6s"`: a broker that has not heartbeated the
    /// controller for this long is dead to it and its partitions get new
    /// leaders (brokers heartbeat every third of it, at most every 200ms).
    /// With `kind = "queue"`: the time after which the brokers consider an
    /// unreachable peer down (RabbitMQ's `net_ticktime`).
    pub session_timeout: Option<String>,
    /// Duration from 0 to 10s, default `"0s"` (not modelled): CPU time a
    /// broker spends on each request it serves, on one of its `cores`;
    /// what a `slow_cpu` fault on a broker multiplies. Its heartbeats and
    /// replication wait for a free core too.
    pub processing: Option<String>,
    /// Integer from 1 to 64, default `1`: requests a broker works on at
    /// once (see `processing`).
    pub cores: Option<u32>,
    /// Log only. Integer >= 1, optional (default unlimited): most records a
    /// partition keeps; older ones are deleted (recorded as drops with
    /// reason `retention` when the group had not consumed them).
    pub retention_messages: Option<u64>,
    /// Log only. Duration > 0, optional (default: kept forever): records
    /// older than this are deleted (recorded as drops with reason
    /// `retention` when the group had not consumed them).
    pub retention_age: Option<String>,
    /// Queue only. Duration > 0, at most 12h, default `"30s"`: how long a
    /// received message stays invisible to other receivers; not acked by
    /// then, it is delivered again (SQS's `VisibilityTimeout`).
    pub visibility_timeout: Option<String>,
    /// Queue only. Integer from 1 to 1000, optional (default: no dead-letter
    /// queue): receives after which a message goes to the dead-letter queue
    /// instead of being delivered again (SQS's `maxReceiveCount`).
    pub max_receives: Option<u32>,
    /// Queue only. Boolean, default `false`: FIFO per message group (the
    /// key): while a group has a message in flight, no later message of that
    /// group is delivered.
    pub fifo: Option<bool>,
    /// Queue only. Integer >= 1, optional (default unbounded): most messages
    /// a queue holds, ready and in flight (RabbitMQ's `x-max-length`).
    pub max_length: Option<u64>,
    /// Queue only. String, default `"reject_new"`: what a full queue (see
    /// `max_length`) does with a new message (RabbitMQ's `x-overflow`).
    /// `"reject_new"`: refuse it, the publisher is told (reject, reason
    /// `overflow`); `"drop_oldest"`: accept it and discard the oldest ready
    /// message (drop, reason `overflow`); `"block"`: hold the publisher back
    /// until there is room.
    pub overflow: Option<String>,
    /// Queue only. String, default `"pause_minority"`: what the mirrored
    /// nodes do when the network splits them (RabbitMQ's
    /// `cluster_partition_handling`). `"pause_minority"`: a node that sees no
    /// majority of the cluster stops serving until it does; `"autoheal"`:
    /// every side keeps serving, and when the network heals the losing
    /// side's nodes restart and take the winner's contents, discarding their
    /// own.
    pub partition_handling: Option<String>,
    /// Queue only. String, default `"classic"` (RabbitMQ's `x-queue-type`):
    /// `"classic"`: a mirrored classic queue, its master confirms once the
    /// mirrors it can see have the message; `"quorum"`: a quorum queue, its
    /// leader confirms once a majority of nodes has the message.
    pub queue_type: Option<String>,
    /// Queue only. Integer >= 1, optional (default unbounded): most messages
    /// a node holds — every queue's ready, in flight and delayed messages
    /// and its dead letters — before its memory alarm goes off (RabbitMQ's
    /// `vm_memory_high_watermark`, counted in messages). The alarm clears
    /// once the node holds fewer.
    pub memory_limit: Option<u64>,
    /// Queue only. String, default `"block_publishers"`: what the memory
    /// alarm blocks. `"block_publishers"`: connections that publish are held
    /// back (RabbitMQ's behaviour), consumers keep receiving and acking, so
    /// memory drains; `"block_all"`: every connection, consumers' receives
    /// and acks too — what a consumer that shares its connection with a
    /// publisher suffers, or a broker whose dequeue and ack need memory:
    /// nothing can free memory and the node stays stuck.
    pub memory_alarm: Option<String>,
    /// Queue only. Duration > 0, optional (default: messages never expire):
    /// a message not consumed this long after it was published expires
    /// (RabbitMQ's `x-message-ttl`): it is taken out when it reaches the
    /// head of its queue (a message in a consumer's hands does not expire;
    /// one handed back keeps its first publish time) — into the dead-letter
    /// queue when there is one (`max_receives` set), else discarded,
    /// recorded as a drop with reason `expired` and counted `expired`.
    pub message_ttl: Option<String>,
}

impl Schema for RawBroker {
    const FIELDS: &'static [&'static str] = &[
        "kind",
        "fsync",
        "writeback",
        "acks",
        "min_insync",
        "unclean_leader_election",
        "replica_lag_max",
        "session_timeout",
        "processing",
        "cores",
        "retention_messages",
        "retention_age",
        "visibility_timeout",
        "max_receives",
        "fifo",
        "max_length",
        "overflow",
        "partition_handling",
        "queue_type",
        "memory_limit",
        "memory_alarm",
        "message_ttl",
    ];
}

/// `[consumer]`. Some fields apply to one broker kind only (they say so);
/// given under the other kind they are an error.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawConsumer {
    /// Non-empty string, default `"main"`: the consumer group's name.
    pub group: Option<String>,
    /// Integer from 1 to 64, default `1`: consumer workers (`consumer-0`
    /// ...), the members of the consumer group. The group coordinator (on
    /// `controller-0`) assigns them the partitions (see `assignment`) and
    /// rebalances when a member joins, leaves or crashes. With
    /// `broker.kind = "queue"` the workers receive from the queues directly.
    pub workers: Option<u32>,
    /// String, default `"after_effect"`: when a worker commits a message.
    /// `"after_effect"`: after applying its effect to the store
    /// (at-least-once); `"before_effect"`: before (at-most-once). With
    /// `broker.kind = "queue"` committing is acking: after the effect, or on
    /// receipt.
    pub commit: Option<String>,
    /// Boolean, default `false`: the store ignores an effect whose message id
    /// it has already applied.
    pub idempotent: Option<bool>,
    /// Duration > 0, default `"500ms"`: how long a worker waits for one store
    /// call, a read as well as a write (applying an effect).
    pub store_timeout: Option<String>,
    /// Duration > 0, default `"1s"`: how long a worker waits for a fetch or
    /// commit answer from the broker.
    pub request_timeout: Option<String>,
    /// Integer from 1 to 10000, default `500`: most records per fetch (with
    /// `broker.kind = "queue"`: most messages per receive, the batch size).
    pub fetch_max: Option<u32>,
    /// Integer from 1 to 64, default `1`: effects a partition's worker applies
    /// at once. Records are split into lanes by key, so order per key holds.
    pub concurrency: Option<u32>,
    /// Duration from 0 to 10s, default `"0s"` (not modelled): CPU time the
    /// handler spends on each message before its store calls, on one of the
    /// consumer's `cores`; what a `slow_cpu` fault on a consumer
    /// multiplies. Its heartbeats and fetches wait for a free core too, so
    /// a starved consumer can miss its session timeout.
    pub processing: Option<String>,
    /// Integer from 1 to 64, default `1`: messages a consumer host
    /// processes at once (see `processing`).
    pub cores: Option<u32>,
    /// Log only. String, default `"range"`: how the group coordinator spreads the
    /// partitions over the members. `"range"`: contiguous ranges of
    /// partitions per member, in member order; `"round_robin"`: partition `i`
    /// to member `i % members`.
    pub assignment: Option<String>,
    /// Log only. Duration > 0, default `"10s"`: a member that has not
    /// heartbeated the group coordinator (on `controller-0`) for this long leaves the group
    /// and its partitions are reassigned (members heartbeat every third of
    /// it).
    pub session_timeout: Option<String>,
    /// Log only. String, default `"earliest"` (Kafka's is `"latest"`; a fresh group in
    /// a replay must see the run's first messages): where a worker starts on
    /// a partition with no committed offset, or one outside the log.
    /// `"earliest"`: the oldest record the partition still holds;
    /// `"latest"`: its log end (records already there are skipped).
    pub auto_offset_reset: Option<String>,
    /// Integer from 0 to 16, default `0`: store reads a worker makes per
    /// message before applying its effect (a fan-out worker looks up the
    /// recipients); each is bounded by `store_timeout`.
    pub reads: Option<u32>,
    /// Boolean, default `false`: a store call (read or write) that times out
    /// is retried on the key's next replica (see
    /// `topology.store_replication`) instead of the same one.
    pub read_retry: Option<bool>,
    /// Queue only. Boolean, default `false`: a worker reports which messages
    /// of a received batch failed, so only those come back; without it a
    /// failure makes the whole batch visible again (AWS Lambda on SQS
    /// without `ReportBatchItemFailures`).
    pub partial_batch_failure: Option<bool>,
    /// Queue only. Duration > 0, optional: a failed message is handed back
    /// at once with this delay, doubled at each receive (capped at
    /// `broker.visibility_timeout`); without it, it reappears when its
    /// visibility timeout expires.
    pub retry_backoff: Option<String>,
}

impl Schema for RawConsumer {
    const FIELDS: &'static [&'static str] = &[
        "group",
        "workers",
        "commit",
        "idempotent",
        "store_timeout",
        "request_timeout",
        "fetch_max",
        "concurrency",
        "processing",
        "cores",
        "assignment",
        "session_timeout",
        "auto_offset_reset",
        "reads",
        "read_retry",
        "partial_batch_failure",
        "retry_backoff",
    ];
}

/// `[store]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    /// Latency range, default `"1ms..3ms"`: time to apply one effect (a
    /// write) on a healthy store node (max at most 10s).
    pub latency: Option<String>,
    /// Latency range, default `"1ms..5ms"`: time to serve one read on a
    /// healthy store node (max at most 10s).
    pub read_latency: Option<String>,
}

impl Schema for RawStore {
    const FIELDS: &'static [&'static str] = &["latency", "read_latency"];
}

/// `[policy]`: what the pipeline does when a consumer group falls behind.
/// The whole table is optional; `mqsim compare` runs a scenario under every
/// kind, so the settings of every kind may be given whatever `kind` says.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    /// String, default `"unbounded"`: `"silent_drop"`: past the lag bound the
    /// consumer skips to the log end, every skipped message a recorded drop
    /// (reason `max_lag`) the producer never hears of; `"circuit_breaker"`:
    /// breakers per store node route reads and writes around a failing node
    /// (or pause the work that needs it), and past the lag bound the broker
    /// refuses new messages explicitly (reject, reason `breaker_open`);
    /// `"backpressure"`: past the lag bound the broker holds producers back
    /// (their batches wait and are re-sent) and a producer whose buffer fills
    /// refuses locally; `"unbounded"`: no protection, lag simply grows.
    /// The lag policies act on the log model: with `broker.kind = "queue"`
    /// only `"unbounded"` is allowed (also through `--policy`); a bounded
    /// queue uses `broker.max_length` and `broker.overflow`.
    pub kind: Option<String>,
    /// Integer >= 1, optional: the lag bound in messages, per partition (how
    /// far a partition's consumer may fall behind the log end).
    /// `silent_drop` needs it or `max_lag_age`.
    pub max_lag: Option<u64>,
    /// Duration > 0, optional: the lag bound by age of the oldest message
    /// not yet committed. `silent_drop` needs it or `max_lag`.
    pub max_lag_age: Option<String>,
    /// `[policy.breaker]`: the store-node breakers of `circuit_breaker`.
    pub breaker: Option<RawBreaker>,
}

impl Schema for RawPolicy {
    const FIELDS: &'static [&'static str] = &["kind", "max_lag", "max_lag_age", "breaker"];
}

/// `[policy.breaker]`: a circuit breaker per store node, in each consumer
/// member. Closed → open when, over the last `window`, at least `min_calls`
/// calls were made and the share of failed (timed out) calls reaches
/// `error_rate` or the share of slow calls (over `slow_call`) reaches
/// `slow_rate`; open → half-open after `open_for`; half-open lets `probes`
/// calls through and closes if all succeed fast, else opens again.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBreaker {
    /// Duration > 0, default `"5s"`: the sliding window calls are counted over.
    pub window: Option<String>,
    /// Integer >= 1, default `10`: fewest calls in the window before the
    /// breaker judges the node at all.
    pub min_calls: Option<u32>,
    /// Float, 0 < error_rate <= 1, default `0.5`: share of failed (timed
    /// out) calls that opens the breaker.
    pub error_rate: Option<f64>,
    /// Duration > 0, default `"100ms"`: a call that takes longer is slow.
    pub slow_call: Option<String>,
    /// Float, 0 < slow_rate <= 1, default `0.5`: share of slow calls that
    /// opens the breaker.
    pub slow_rate: Option<f64>,
    /// Duration > 0, default `"2s"`: how long an open breaker stays open
    /// before it lets probes through (half-open).
    pub open_for: Option<String>,
    /// Integer from 1 to 100, default `3`: calls a half-open breaker lets
    /// through; it closes if all succeed fast, else opens again.
    pub probes: Option<u32>,
}

impl Schema for RawBreaker {
    const FIELDS: &'static [&'static str] = &[
        "window",
        "min_calls",
        "error_rate",
        "slow_call",
        "slow_rate",
        "open_for",
        "probes",
    ];
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
    const FIELDS: &'static [&'static str] = &["counts"];
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
    const FIELDS: &'static [&'static str] = &[
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
    ];
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
macro_rules! expect_tables {
    ($($(#[$doc:meta])* $field:ident,)*) => {
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
            const FIELDS: &'static [&'static str] = &[
                $(stringify!($field),)*
                "silent_drop",
                "circuit_breaker",
                "backpressure",
                "unbounded",
                "partition",
                "key",
            ];
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
            const FIELDS: &'static [&'static str] =
                &[$(stringify!($field),)* "partition", "key"];
        }
    };
}

expect_tables! {
    /// Messages the workload created: asked a producer to send them.
    sent,
    /// Messages the broker acknowledged.
    acked,
    /// Messages applied to the store at least once.
    took_effect,
    /// Acked messages that never produced an effect, were not dropped by a
    /// recorded policy, not dead-lettered, and are no longer held by the
    /// broker: a durability or delivery bug.
    lost,
    /// Messages without an effect still held by the broker at the end of
    /// the drain (a liveness failure, not loss).
    stranded,
    /// Messages discarded by a policy or limit (max lag, retention,
    /// overflow) without telling the producer, never applied.
    silently_dropped,
    /// Messages whose time to live ran out before they were consumed.
    expired,
    /// Messages refused with an explicit reject (the producer knew).
    shed,
    /// Messages a producer gave up on (retries or delivery timeout
    /// exhausted), or that vanished with a crashed producer.
    abandoned,
    /// Of `abandoned`, those nobody was told about (a crashed producer's).
    abandoned_silently,
    /// Messages a live producer still held at the end.
    in_flight,
    /// Messages whose publish timed out (indeterminate) but were delivered.
    recovered,
    /// Deliveries beyond the first.
    duplicate_deliveries,
    /// Effects beyond the first (an idempotency failure).
    duplicate_effects,
    /// Effects for messages never created.
    unexpected,
    /// Keys whose first effects are not in send order.
    order_violations,
    /// Messages in a dead-letter queue at the end, never applied.
    dead_lettered,
    /// Poison messages sent (a consumer fails on them every time).
    poison,
    /// Poison messages that reached the dead-letter queue.
    poison_dead_lettered,
    /// Poison messages that did not (still retried at the end, or gone).
    poison_not_dead_lettered,
    /// Healthy messages that were dead-lettered.
    misrouted,
    /// The most deliveries of one message.
    max_deliveries,
    /// Largest consumer lag in messages.
    max_lag,
    /// Largest age of the oldest unprocessed message, in ms.
    max_lag_age_ms,
    /// Time from the last fault's end until lag is back under its pre-fault
    /// baseline, in ms; "never" compares as larger than any number.
    recovery_ms,
    /// Median end-to-end latency (send to first effect), in ms.
    latency_p50_ms,
    /// 99th percentile end-to-end latency, in ms.
    latency_p99_ms,
    /// Largest end-to-end latency, in ms.
    latency_max_ms,
    /// Consumer-group rebalances after the group formed (log brokers).
    rebalances,
    /// Time during which some partition had no owner in the consumer
    /// group, in ms.
    unowned_ms,
}

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
    const FIELDS: &'static [&'static str] = &[
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
    ];
}

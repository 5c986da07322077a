//! The validated scenario and its plain tables, each key declared once on
//! its field (`#[derive(Keys)]`, see `keys.rs`): name, kind, default,
//! broker family, check and doc. The doc comment of a key is its line in
//! the scenario reference (docs/scenario-format.md) and its description in
//! the JSON Schema; the derive also writes the validator's walk of the
//! table and its rendering. Rules between keys (a replication at most the
//! broker count, a default that depends on another key) are the table's
//! code in `validate/`.

use super::convert::*;
use super::keys::{rate, reference_table, Declared, Key, Toml};
use super::limits::*;
use super::types::*;
use crate::metric::Expectation;
use harness_derive::Keys;
use std::time::Duration;

// Defaults of the counts `--scale` multiplies: an absent listed count is its
// default × K, so the declarations and the scaler read the same constants.
pub(crate) const DEFAULT_PARTITIONS: u32 = 4;
pub(crate) const DEFAULT_STORES: u32 = 1;
pub(crate) const DEFAULT_PRODUCERS: u32 = 1;
pub(crate) const DEFAULT_KEYS: u32 = 100;
pub(crate) const DEFAULT_WORKERS: u32 = 1;
pub(crate) const DEFAULT_RATE_PER_S: u64 = 100;

/// `workload.bursts` as an array of inline tables.
fn bursts_toml(bursts: &[Burst]) -> String {
    let items: Vec<String> = (bursts.iter())
        .map(|b| {
            format!(
                "{{ at = {}, rate = {}, for = {} }}",
                b.at.toml(),
                rate(&b.rate_per_s),
                b.duration.toml()
            )
        })
        .collect();
    format!("[{}]", items.join(", "))
}

pub(super) fn ms_range(min: u64, max: u64) -> LatencyRange {
    LatencyRange {
        min: Duration::from_millis(min),
        max: Duration::from_millis(max),
    }
}

/// A whole scenario file, validated: the engine's input.
#[derive(Clone, Debug, PartialEq, Keys)]
#[keys(table = "")]
pub struct Scenario {
    /// the scenario's name: lowercase letters, digits and `-`
    #[key(kind = "string", required, check = name)]
    pub name: String,
    /// one non-empty line saying what the scenario shows
    #[key(kind = "string", required, check = one_line)]
    pub summary: String,
    /// length of the load phase (> 0)
    #[key(kind = "duration", required, check = positive_duration)]
    pub duration: Duration,
    /// length of the heal-and-drain phase, at least `1s` (crashed hosts
    /// restart and the backlog is read then); `duration + drain` is at most
    /// 24h
    #[key(kind = "duration", default = Duration::from_secs(30), check = drain)]
    pub drain: Duration,
    /// seed used when the command line gives none (non-negative)
    #[key(kind = "integer", raw = u64, default = 1, check = seed)]
    pub seed: u64,
    /// simulated time between gauge samples (depth, lag); at least `tick`,
    /// at most `duration`
    #[key(kind = "duration", default = Duration::from_secs(1), check = positive_duration)]
    pub sample_interval: Duration,
    /// resolution of simulated time; whole milliseconds from 1ms to 100ms
    #[key(kind = "duration", default = MIN_TICK, check = tick)]
    pub tick: Duration,
    /// `[topology]`: how many hosts of each server role, and how many copies
    /// of each partition.
    #[key(section, raw = RawTopology)]
    pub topology: Topology,
    /// `[network]`: the default links.
    #[key(section, raw = RawNetwork)]
    pub network: Network,
    /// `[workload]`: producers and the load they publish.
    #[key(section, raw = RawWorkload)]
    pub workload: Workload,
    /// `[broker]`: the broker model (a replicated log or a classic queue):
    /// durability, acknowledgement, replication, liveness, retention and
    /// queue settings.
    #[key(section, raw = RawBroker)]
    pub broker: Broker,
    /// `[consumer]`: the consumer group and its workers.
    #[key(section, raw = RawConsumer)]
    pub consumer: Consumer,
    /// `[store]`: the downstream store consumers apply effects to.
    #[key(section, raw = RawStore)]
    pub store: Store,
    /// `[policy]`: what the pipeline does when the consumers fall behind
    /// (`--policy` on the command line replaces its `kind`).
    #[key(section, raw = RawPolicy)]
    pub policy: Policy,
    /// `[[fault]]`, zero or more, in time order: the fault schedule.
    #[key(section, name = "fault", raw = Vec<super::raw::RawFault>)]
    pub faults: Vec<Fault>,
    // What a run checks: `expect_common`, then the `expect_by_policy`
    // entry for `policy.kind`, each in file order — the one list everything
    // downstream evaluates.
    /// `[expect]`: assertions on the run's figures; the run fails if any is
    /// false.
    #[key(section, raw = super::raw::RawExpect)]
    pub expect: Vec<Expectation>,
    /// The top-level keys of `[expect]`: they apply under every policy.
    /// Kept apart (with `expect_by_policy`) only so `render` can write the
    /// file back; do not evaluate them, evaluate `expect`.
    #[key(skip)]
    pub expect_common: Vec<Expectation>,
    /// The `[expect.<policy>]` sub-tables in file order, for every policy
    /// (not only `policy.kind`): `mqsim compare` runs one file under each
    /// policy, and `render` writes them all back.
    #[key(skip)]
    pub expect_by_policy: Vec<(PolicyKind, Vec<Expectation>)>,
    /// `[swarm]`: each seed draws its own fault schedule (and load level)
    /// instead of a fixed `[[fault]]` list (`crate::swarm`); `faults` is
    /// then empty.
    #[key(section, raw = super::raw::RawSwarm)]
    pub swarm: Option<Swarm>,
    /// `[scale]`: which counts `--scale K` multiplies along with the rates,
    /// in file order.
    #[key(section, name = "scale", raw = super::raw::RawScale)]
    pub scale_counts: Vec<ScaleCount>,
    /// `[buffer]`: a durable log in front of the broker (a queue) and the
    /// relays that move messages from it into the queue: a two-stage
    /// pipeline.
    #[key(section, raw = RawBuffer)]
    pub buffer: Option<Buffer>,
    /// The `--scale` factor this scenario was loaded with (1 = as written).
    /// The values above are already multiplied; `render` writes them as they
    /// are, so a rendered file is the scaled scenario at scale 1.
    #[key(skip)]
    pub scale: u32,
}

impl Scenario {
    /// Every host in the fixed order used to derive actor seeds (the
    /// controller last, so adding it changed no other actor's seed).
    pub fn hosts(&self) -> Vec<Host> {
        let t = &self.topology;
        let mut v = Vec::new();
        for (role, n) in [
            (Role::Broker, t.brokers),
            (Role::Store, t.stores),
            (Role::Producer, self.workload.producers),
            (Role::Consumer, self.consumer.workers),
            // A classic queue cluster has no separate coordinator; a
            // buffer in front of it has one.
            (
                Role::Controller,
                u32::from(self.broker.kind == BrokerKind::Log || self.buffer.is_some()),
            ),
            // After the controller, so a buffer changes no other actor's seed.
            (Role::Buffer, self.buffer.as_ref().map_or(0, |b| b.brokers)),
            (Role::Relay, self.buffer.as_ref().map_or(0, |b| b.relays)),
        ] {
            v.extend((0..n).map(|i| Host::new(role, i)));
        }
        v
    }
}

/// `[topology]`: how many hosts of each server role, and how many copies of
/// each partition.
#[derive(Clone, Debug, PartialEq, Keys)]
#[keys(table = "topology")]
pub struct Topology {
    /// broker nodes `broker-0`... of the cluster, 1 to 16; with `broker.kind
    /// = "log"` there is besides them exactly one controller, `controller-0`;
    /// a queue cluster has none
    #[key(kind = "integer", default = 1, check = int_range(1, MAX_BROKERS))]
    pub brokers: u32,
    /// partitions, 1 to 1024; a message's key picks its partition. With
    /// `broker.kind = "queue"`: the number of queues; key `k` goes to queue
    /// `k % partitions`
    #[key(kind = "integer", default = DEFAULT_PARTITIONS, check = int_range(1, MAX_PARTITIONS))]
    pub partitions: u32,
    /// downstream store nodes `store-0`..., 1 to 64
    #[key(kind = "integer", default = DEFAULT_STORES, check = int_range(1, MAX_STORES))]
    pub stores: u32,
    /// replicas of each partition, the leader included, 1 to `brokers`;
    /// partition `p`'s replicas are brokers `(p + i) % brokers` for `i <
    /// replication`, the first the preferred leader. A queue is mirrored on
    /// every broker (its replication is `brokers`), so with `broker.kind =
    /// "queue"` this field is an error
    // For a queue the field holds `brokers` (the file may not give it).
    #[key(kind = "integer", computed = "`min(3, brokers)`", check = int_range(1, u32::MAX),
          log, why = ": a queue is mirrored on every broker, remove topology.replication")]
    pub replication: u32,
    /// store nodes holding each key, 1 to `stores`; key `k`'s replicas are
    /// stores `(k % stores + i) % stores` for `i < store_replication`. A
    /// read or write goes to the first, unless `consumer.read_retry` or a
    /// `circuit_breaker` policy moves it on to the next
    #[key(kind = "integer", computed = "`1`", check = int_range(1, u32::MAX))]
    pub store_replication: u32,
}

/// `[network]`: the default links.
#[derive(Clone, Debug, PartialEq, Keys)]
#[keys(table = "network")]
pub struct Network {
    /// one-way latency of every link (max at most 10s)
    #[key(kind = "latency range", default = ms_range(1, 5), check = latency)]
    pub latency: LatencyRange,
}

/// `[workload]`: producers and the load they publish.
#[derive(Clone, Debug, PartialEq, Keys)]
#[keys(table = "workload")]
#[keys(extra(
    name = "hot_share",
    raw = f64,
    kind = "float",
    default = "none",
    doc = "a skewed load: a message goes to a hot key with this probability (0 < share < 1; uniformly among the hot keys), else uniformly to one of the others. Without it (and without `zipf`) keys are drawn uniformly. A skewed load allows at most 1000000 `keys`"
))]
#[keys(extra(
    name = "hot_keys",
    raw = u32,
    kind = "integer",
    default = "`1`",
    doc = "with `hot_share` or `zipf`: the hot keys are keys `0..hot_keys` (with `zipf`, the most frequent ones), fewer than `keys`; they form the hot key class of the per-class figures"
))]
#[keys(extra(
    name = "hot_partition",
    raw = u32,
    kind = "integer",
    default = "none",
    doc = "with `hot_share`, instead of `hot_keys`: every key of this partition is hot (key `k` is in partition `k % partitions`): one hot partition. Below `topology.partitions` (at least 2)"
))]
#[keys(extra(
    name = "zipf",
    raw = f64,
    kind = "float",
    default = "none",
    doc = "instead of `hot_share`: keys follow Zipf's law, key `k` drawn with weight `1 / (k + 1)^zipf` (0 < zipf <= 10; key 0 the most frequent)"
))]
pub struct Workload {
    /// producer clients `producer-0`..., 1 to 64
    #[key(kind = "integer", default = DEFAULT_PRODUCERS, check = int_range(1, MAX_PRODUCERS))]
    pub producers: u32,
    /// total publish rate across all producers outside bursts; above 0 (a
    /// scenario that sends nothing checks nothing), at most 1000000/s
    #[key(kind = "rate", name = "rate", default = DEFAULT_RATE_PER_S, check = positive_rate, render = rate)]
    pub rate_per_s: u64,
    /// distinct message keys (>= 1); order is checked per key
    #[key(kind = "integer", default = DEFAULT_KEYS, check = int_range(1, u32::MAX))]
    pub keys: u32,
    /// periods of a different total rate; each inside the load phase, in
    /// time order, not overlapping
    #[key(kind = "array of `{ at, rate, for }`", raw = Vec<super::raw::RawBurst>, by_hand = "`[]`", render = bursts_toml)]
    pub bursts: Vec<Burst>,
    /// retries of a failed or unanswered produce request, 0 to 100
    #[key(kind = "integer", default = 3, check = int_range(0, MAX_RETRIES))]
    pub retries: u32,
    /// how long a producer waits for an answer before giving up on an
    /// attempt (> 0)
    #[key(kind = "duration", default = Duration::from_secs(1), check = positive_duration)]
    pub request_timeout: Duration,
    /// how long a producer tries to deliver a message from its creation,
    /// retries included (Kafka's `delivery.timeout.ms`, > 0): past it the
    /// message is abandoned (`timeout`, the caller is told) even with retries
    /// left; without it `retries` alone decide
    #[key(kind = "duration", optional, check = positive_duration)]
    pub delivery_timeout: Option<Duration>,
    /// how long a producer gathers messages into one request (> 0)
    #[key(kind = "duration", default = Duration::from_millis(5), check = positive_duration)]
    pub linger: Duration,
    /// messages a producer buffers (>= 1); beyond it new messages are
    /// rejected locally
    #[key(kind = "integer", default = 10_000, check = int_range(1, u32::MAX))]
    pub buffer_max: u32,
    /// most messages in one produce request (>= 1)
    #[key(kind = "integer", default = 500, check = int_range(1, u32::MAX))]
    pub batch_max: u32,
    /// the idempotent producer: batches carry a producer id and
    /// per-partition sequence numbers, and the partition leader drops a
    /// batch it has already appended, so retries do not duplicate; Kafka's
    /// default since 3.0 is `true`, here it is `false`, so plain retries
    /// duplicate unless asked
    #[key(kind = "boolean", default = false, check = boolean)]
    pub idempotent: bool,
    /// How keys are drawn (`hot_share`, `hot_keys`, `hot_partition`,
    /// `zipf`): None = uniformly over `keys`.
    #[key(skip)]
    pub skew: Option<KeySkew>,
}

/// `[broker]`: the broker model (a replicated log or a classic queue):
/// durability, acknowledgement, replication, liveness, retention and queue
/// settings.
#[derive(Clone, Debug, PartialEq, Keys)]
#[keys(table = "broker")]
pub struct Broker {
    /// the broker model. `log`: a replicated, partitioned log with consumer
    /// groups and committed offsets, coordinated by `controller-0`, like
    /// Kafka. `queue`: a classic queue (SQS, RabbitMQ): a message is
    /// delivered, then deleted when acked, and one not acked within
    /// `visibility_timeout` is delivered again; each queue is mirrored on
    /// every broker and there is no controller
    #[key(kind = "string", default = BrokerKind::Log, check = named)]
    pub kind: BrokerKind,
    /// `per_batch`: fsync before acknowledging each produce request;
    /// `"interval:<duration>"` (e.g. `"interval:100ms"`, > 0): fsync on a
    /// timer, acks do not wait; `never`: only the OS writeback makes data
    /// durable
    #[key(kind = "string", default = Fsync::PerBatch, check = fsync)]
    pub fsync: Fsync,
    /// period of the simulated OS page-cache flush (> 0); what survives a
    /// crash under `fsync = "never"`
    #[key(kind = "duration", default = Duration::from_secs(30), check = positive_duration)]
    pub writeback: Duration,
    /// when a produce request is acknowledged: `0`: the producer does not
    /// wait for an answer; `1`: once the leader has appended it (and synced
    /// it, per `fsync`); `"all"`: once every in-sync replica has it (the
    /// high watermark passed it); the strings `"0"` and `"1"` are accepted
    /// too. For a queue (publisher confirms): `0`: no confirms; `1`: once
    /// the queue's master has it; `"all"`: once every mirror has it (a
    /// quorum queue: a majority)
    #[key(kind = "integer or string", raw = super::raw::IntOrString, default = Acks::All, check = acks)]
    pub acks: Acks,
    /// fewest in-sync replicas, the leader included, for an `acks = "all"`
    /// write to be accepted (with fewer the leader rejects it); 1 to
    /// `topology.replication`; `1` is Kafka's default
    #[key(kind = "integer", default = 1, check = int_range(1, u32::MAX), log,
          why = ": with a queue, broker.acks and broker.queue_type say which nodes confirm")]
    pub min_insync: u32,
    /// may the controller elect a replica that is not in sync (losing what
    /// only the in-sync ones had) rather than leave the partition offline
    #[key(kind = "boolean", default = false, check = boolean, log,
          why = ": with a queue, broker.partition_handling says what split nodes do")]
    pub unclean_leader_election: bool,
    /// a follower that has not caught up with the leader's log end for this
    /// long leaves the in-sync set (> 0; Kafka's `replica.lag.time.max.ms`)
    #[key(kind = "duration", default = Duration::from_secs(10), check = positive_duration, log,
          why = ": with a queue, broker.partition_handling says what split nodes do")]
    pub replica_lag_max: Duration,
    /// a broker that has not heartbeated the controller for this long is
    /// dead to it and its partitions get new leaders (> 0; brokers heartbeat
    /// every third of it, at most every 200ms). For a queue: the time after
    /// which the brokers consider an unreachable peer down (RabbitMQ's
    /// `net_ticktime`)
    #[key(kind = "duration", default = Duration::from_secs(6), check = positive_duration)]
    pub session_timeout: Duration,
    /// CPU time a broker spends on each request it serves, 0 to 10s (0: not
    /// modelled), on one of its `cores`; its heartbeats and replication wait
    /// for a free core too. What a `slow_cpu` fault multiplies
    #[key(kind = "duration", default = Duration::ZERO, check = processing)]
    pub processing: Duration,
    /// requests a broker works on at once, 1 to 64 (see `processing`)
    #[key(kind = "integer", default = 1, check = int_range(1, MAX_CORES))]
    pub cores: u32,
    /// most records a partition keeps (>= 1); older ones are deleted,
    /// recorded as drops with reason `retention` when the group had not
    /// consumed them
    #[key(kind = "integer", optional = "none (unlimited)", check = positive_count, log,
          why = ": a queue deletes a message once it is acked (bound a queue with broker.max_length)")]
    pub retention_messages: Option<u64>,
    /// records older than this are deleted (> 0), recorded as drops with
    /// reason `retention` when the group had not consumed them
    #[key(kind = "duration", optional = "none (kept)", check = positive_duration, log,
          why = ": a queue deletes a message once it is acked (bound a queue with broker.max_length)")]
    pub retention_age: Option<Duration>,
    /// The classic queue's settings (used when `kind` is `Queue`).
    #[key(flatten)]
    pub queue: QueueConfig,
}

/// A classic queue's settings (`broker.kind = "queue"`): keys of `[broker]`.
#[derive(Clone, Debug, PartialEq, Keys)]
#[keys(table = "broker", default)]
pub struct QueueConfig {
    /// how long a received message stays invisible to other receivers (> 0,
    /// at most 12h); not acked by then, it is delivered again (SQS's
    /// `VisibilityTimeout`)
    #[key(kind = "duration", default = Duration::from_secs(30), check = visibility_timeout, queue)]
    pub visibility_timeout: Duration,
    /// receives after which a message goes to the dead-letter queue instead
    /// of being delivered again, 1 to 1000 (SQS's `maxReceiveCount`)
    #[key(kind = "integer", optional = "none (no dead-letter queue)", check = int_range(1, MAX_RECEIVES), queue)]
    pub max_receives: Option<u32>,
    /// FIFO per message group (the key): while a group has a message in
    /// flight, no later message of that group is delivered
    #[key(kind = "boolean", default = false, check = boolean, queue)]
    pub fifo: bool,
    /// most messages a queue holds, ready and in flight (>= 1; RabbitMQ's
    /// `x-max-length`)
    #[key(kind = "integer", optional = "none (unbounded)", check = positive_count, queue)]
    pub max_length: Option<u64>,
    /// what a full queue does with a new message (RabbitMQ's `x-overflow`):
    /// `reject_new`: refuse it, the publisher is told (a reject, reason
    /// `overflow`); `drop_oldest`: accept it and discard the oldest ready
    /// message (a drop, reason `overflow`); `block`: hold the publisher back
    /// until there is room
    #[key(kind = "string", default = Overflow::RejectNew, check = named, queue)]
    pub overflow: Overflow,
    /// what mirrored nodes do when the network splits them (RabbitMQ's
    /// `cluster_partition_handling`): `pause_minority`: a node that sees no
    /// majority of the cluster stops serving until it does; `autoheal`:
    /// every side keeps serving, and when the network heals the losing
    /// side's nodes restart and take the winner's contents, discarding their
    /// own
    #[key(kind = "string", default = PartitionHandling::PauseMinority, check = named, queue)]
    pub partition_handling: PartitionHandling,
    /// the kind of queue (RabbitMQ's `x-queue-type`): `classic`: a mirrored classic queue, its
    /// master confirms once the mirrors it can see have the message;
    /// `quorum`: a quorum queue, its leader confirms once a majority of
    /// nodes has the message
    #[key(kind = "string", default = QueueType::Classic, check = named, queue)]
    pub queue_type: QueueType,
    /// most messages a node holds — every queue's ready, in flight and
    /// delayed messages and its dead letters — before its memory alarm goes
    /// off (RabbitMQ's `vm_memory_high_watermark`, counted in messages, >=
    /// 1); the alarm clears once the node holds fewer. Without it, unbounded
    /// (a `memory_pressure` fault can still set a bound for its window)
    #[key(kind = "integer", optional, check = positive_count, queue)]
    pub memory_limit: Option<u64>,
    /// what the memory alarm blocks. `block_publishers`: connections that
    /// publish are held back (RabbitMQ's behaviour; producers keep the
    /// messages in their buffers and retry, not counted against `retries`),
    /// consumers keep receiving and acking, so memory drains; `block_all`:
    /// every connection, consumers' receives and acks too — what consumers
    /// that share a connection with publishing suffer, or a broker whose
    /// dequeue and ack need memory: nothing frees memory and the node stays
    /// stuck
    #[key(kind = "string", default = MemoryAlarm::BlockPublishers, check = named, queue)]
    pub memory_alarm: MemoryAlarm,
    /// a message not consumed this long after it was published expires
    /// (RabbitMQ's `x-message-ttl`, > 0): taken out when it reaches the head
    /// of its queue (one in a consumer's hands does not expire; one handed
    /// back keeps its first publish time): into the dead-letter queue when
    /// there is one (`max_receives` set; RabbitMQ dead-letters expired
    /// messages), else discarded — recorded as a `drop` with reason
    /// `expired` and counted `expired`. Without it messages never expire
    #[key(kind = "duration", optional, check = positive_duration, queue)]
    pub message_ttl: Option<Duration>,
}

/// `[consumer]`: the consumer group and its workers.
#[derive(Clone, Debug, PartialEq, Keys)]
#[keys(table = "consumer")]
pub struct Consumer {
    /// the consumer group's name (non-empty)
    #[key(kind = "string", default = "main".to_string(), check = non_empty)]
    pub group: String,
    /// the code each consumer runs per message: `store_writer` (mqsim's
    /// own: `reads` reads, then the effect) or a handler registered under
    /// this name by the test or binary that runs the scenario (see "Test
    /// your own code" in the README)
    #[key(kind = "string", default = BUILTIN_HANDLER.to_string(), check = non_empty)]
    pub handler: String,
    /// consumer workers `consumer-0`..., 1 to 64: the members of the
    /// consumer group; the group coordinator (on `controller-0`) assigns
    /// them the partitions (see `assignment`) and rebalances when a member
    /// joins, leaves or crashes. With `broker.kind = "queue"` the workers
    /// receive from the queues directly
    #[key(kind = "integer", default = DEFAULT_WORKERS, check = int_range(1, MAX_WORKERS))]
    pub workers: u32,
    /// `after_effect`: commit after applying the effect to the store
    /// (at-least-once); `before_effect`: commit before (at-most-once). For a
    /// queue, committing is acking: after the effect, or on receipt
    #[key(kind = "string", default = CommitMode::AfterEffect, check = named)]
    pub commit: CommitMode,
    /// the store ignores an effect whose message id it has already applied
    #[key(kind = "boolean", default = false, check = boolean)]
    pub idempotent: bool,
    /// how long a worker waits for one store call (> 0): a read as well as a
    /// write (applying an effect)
    #[key(kind = "duration", default = Duration::from_millis(500), check = positive_duration)]
    pub store_timeout: Duration,
    /// how long a worker waits for a fetch or commit answer (> 0)
    #[key(kind = "duration", default = Duration::from_secs(1), check = positive_duration)]
    pub request_timeout: Duration,
    /// most records per fetch, 1 to 10000 (for a queue: most messages per
    /// receive, the batch size)
    #[key(kind = "integer", default = 500, check = int_range(1, MAX_FETCH))]
    pub fetch_max: u32,
    /// effects a partition's worker applies at once, 1 to 64; records are
    /// split into lanes by key, so order per key holds; `topology.partitions
    /// × concurrency` is at most 4096 (each lane holds a connection to every
    /// store)
    #[key(kind = "integer", default = 1, check = int_range(1, MAX_CONCURRENCY))]
    pub concurrency: u32,
    /// CPU time the handler spends on each message before its store calls, 0
    /// to 10s (0: not modelled), on one of the consumer's `cores`; its
    /// heartbeats and fetches wait for a free core too. What a `slow_cpu`
    /// fault multiplies
    #[key(kind = "duration", default = Duration::ZERO, check = processing)]
    pub processing: Duration,
    /// messages a consumer host processes at once, 1 to 64 (see
    /// `processing`)
    #[key(kind = "integer", default = 1, check = int_range(1, MAX_CORES))]
    pub cores: u32,
    /// how the group coordinator spreads the partitions over the members:
    /// `range`: contiguous ranges of partitions per member, in member order;
    /// `round_robin`: partition `i` to member `i % members`
    #[key(kind = "string", default = Assignment::Range, check = named, log,
          why = ": a queue has no consumer group to rebalance")]
    pub assignment: Assignment,
    /// a member that has not heartbeated the group coordinator (on
    /// `controller-0`) for this long leaves the group and its partitions are
    /// reassigned (> 0; members heartbeat every third of it, at most every
    /// 200ms)
    #[key(kind = "duration", default = Duration::from_secs(10), check = positive_duration, log,
          why = ": a queue has no group membership (an unacked message is delivered again after broker.visibility_timeout)")]
    pub session_timeout: Duration,
    /// where a worker starts on a partition with no committed offset, or one
    /// outside the log: `earliest`: the oldest record the partition still
    /// holds; `latest`: its log end (records already there are skipped).
    /// Kafka's default is `latest`; ours is `earliest` so a fresh group sees
    /// the run's first messages
    #[key(kind = "string", default = OffsetReset::Earliest, check = named, log,
          why = ": a queue has no offsets (a worker receives what the queue holds)")]
    pub auto_offset_reset: OffsetReset,
    /// store reads a worker makes per message before applying its effect (a
    /// fan-out worker looks up the recipients), 0 to 16; each is bounded by
    /// `store_timeout`
    #[key(kind = "integer", default = 0, check = int_range(0, MAX_READS))]
    pub reads: u32,
    /// a store call (read or write) that times out is retried on the key's
    /// next replica (see `topology.store_replication`) instead of the same
    /// one
    #[key(kind = "boolean", default = false, check = boolean)]
    pub read_retry: bool,
    /// a worker reports which messages of a received batch failed, so only
    /// those come back; without it a failure makes the whole batch visible
    /// again (AWS Lambda on SQS without `ReportBatchItemFailures`)
    #[key(kind = "boolean", default = false, check = boolean, queue)]
    pub partial_batch_failure: bool,
    /// a failed message is handed back at once with this delay (> 0),
    /// doubled at each receive (capped at `broker.visibility_timeout`);
    /// without it, it reappears when its visibility timeout expires
    #[key(kind = "duration", optional, check = positive_duration, queue)]
    pub retry_backoff: Option<Duration>,
}

/// `[store]`: the downstream store consumers apply effects to.
#[derive(Clone, Debug, PartialEq, Keys)]
#[keys(table = "store")]
pub struct Store {
    /// how a store node serves reads and writes: `latency` (mqsim's own:
    /// each takes its latency below, slowed in a `slow_storage` window) or
    /// a store model registered under this name by the test or binary that
    /// runs the scenario
    #[key(kind = "string", default = BUILTIN_STORE.to_string(), check = non_empty)]
    pub model: String,
    /// the write latency: time to apply one effect on a healthy store node
    /// (max at most 10s)
    #[key(kind = "latency range", default = ms_range(1, 3), check = latency)]
    pub latency: LatencyRange,
    /// time to serve one read (see `consumer.reads`) on a healthy store node
    /// (max at most 10s)
    #[key(kind = "latency range", default = ms_range(1, 5), check = latency)]
    pub read_latency: LatencyRange,
}

/// `[buffer]`: producers publish into a replicated log (`buffer-N` hosts,
/// coordinated by `controller-0`); relays (`relay-N`), a consumer group of
/// it, forward each message into the queue and commit once the queue
/// confirmed it. The buffer's brokers take `acks = "all"`, fsync per batch
/// and the broker's session timeout; the relays' group the consumer's
/// session timeout.
#[derive(Clone, Debug, PartialEq, Keys)]
#[keys(table = "buffer")]
pub struct Buffer {
    /// the log's brokers, 1 to 16
    #[key(kind = "integer", default = 3, check = int_range(1, MAX_BROKERS))]
    pub brokers: u32,
    /// the log's partitions, 1 to 1024 (key `k` in partition `k %
    /// partitions`)
    #[key(kind = "integer", computed = "`topology.partitions`", check = int_range(1, MAX_PARTITIONS))]
    pub partitions: u32,
    /// replicas per partition, at most `brokers`
    #[key(kind = "integer", computed = "min(3, brokers)", check = int_range(1, MAX_BROKERS))]
    pub replication: u32,
    /// fewest in-sync replicas for a write, at most `replication`
    #[key(kind = "integer", computed = "min(2, replication)", check = int_range(1, MAX_BROKERS))]
    pub min_insync: u32,
    /// relay hosts, 1 to 64
    #[key(kind = "integer", default = 1, check = int_range(1, MAX_WORKERS))]
    pub relays: u32,
    /// the most messages the relays forward per second, together; without
    /// it, as fast as the queue takes them
    #[key(kind = "rate", name = "rate", optional, check = positive_rate, render = rate)]
    pub rate_per_s: Option<u64>,
    /// a relay forwards into a queue only while the queue holds fewer
    /// messages than this (>= 1; it asks the queue's master before each
    /// batch, as a relay reads a queue's depth, so the queue can exceed it
    /// by up to one batch per relay)
    #[key(kind = "integer", optional, check = positive_count)]
    pub max_depth: Option<u64>,
}

/// Every table declared with `#[derive(Keys)]`: its path and its keys, for
/// the reference (docs/scenario-format.md) and the JSON Schema.
pub(crate) struct DeclaredTable {
    /// Its path (`"policy.breaker"`, `""` for the top level).
    pub table: &'static str,
    /// Its raw mirror's name (`RawBreakerConfig`).
    pub raw: &'static str,
    /// Its rows of the scenario reference (the docs test reads them).
    #[cfg_attr(not(test), allow(dead_code))]
    pub reference: String,
    pub keys: Vec<Key>,
}

pub(crate) fn declared() -> Vec<DeclaredTable> {
    fn one<T: Declared>() -> DeclaredTable {
        DeclaredTable {
            table: T::TABLE,
            raw: T::RAW,
            reference: reference_table::<T>(),
            keys: T::keys(),
        }
    }
    vec![
        one::<Topology>(),
        one::<Network>(),
        one::<Workload>(),
        one::<Broker>(),
        one::<Consumer>(),
        one::<Store>(),
        one::<Buffer>(),
        one::<Policy>(),
        one::<BreakerConfig>(),
        one::<Scenario>(),
    ]
}

/// `[policy]`: what the pipeline does when a consumer group falls behind.
/// The whole table is optional; `mqsim compare` runs a scenario under every
/// kind, so the settings of every kind may be given whatever `kind` says.
#[derive(Clone, Debug, PartialEq, Keys)]
#[keys(table = "policy")]
pub struct Policy {
    /// the lag policy: `silent_drop`, `circuit_breaker`, `backpressure` or
    /// `unbounded` (each described below); with `broker.kind = "queue"` only
    /// `unbounded`
    #[key(kind = "string", default = PolicyKind::Unbounded, check = policy_kind)]
    pub kind: PolicyKind,
    /// the lag bound in messages, per partition: how far a partition's
    /// consumer may fall behind the log end (>= 1); `silent_drop` needs it
    /// or `max_lag_age`
    #[key(kind = "integer", optional, check = positive_count)]
    pub max_lag: Option<u64>,
    /// the lag bound by age of the oldest message not yet committed (> 0)
    #[key(kind = "duration", optional, check = positive_duration)]
    pub max_lag_age: Option<Duration>,
    /// `[policy.breaker]`: the store-node breakers of `circuit_breaker`
    #[key(section = "see below", raw = RawBreakerConfig)]
    pub breaker: BreakerConfig,
}

/// `[policy.breaker]`: a circuit breaker per store node, in each consumer
/// member. Closed → open when, over the last `window`, at least
/// `min_calls` calls were made and the share of failed (timed out) calls
/// reaches `error_rate` or the share of slow calls (over `slow_call`)
/// reaches `slow_rate`; open → half-open after `open_for`; half-open lets
/// `probes` calls through and closes if all succeed fast, else opens again.
#[derive(Clone, Debug, PartialEq, Keys)]
#[keys(table = "policy.breaker", default)]
pub struct BreakerConfig {
    /// the sliding window calls are counted over (> 0)
    #[key(kind = "duration", default = Duration::from_secs(5), check = positive_duration)]
    pub window: Duration,
    /// fewest calls in the window before the breaker judges the node (>= 1)
    #[key(kind = "integer", default = 10, check = int_range(1, u32::MAX))]
    pub min_calls: u32,
    /// share of failed (timed out) calls that opens the breaker, 0 <
    /// error_rate <= 1
    #[key(kind = "float", default = 0.5, check = share)]
    pub error_rate: f64,
    /// a call that takes longer is slow (> 0)
    #[key(kind = "duration", default = Duration::from_millis(100), check = positive_duration)]
    pub slow_call: Duration,
    /// share of slow calls that opens the breaker, 0 < slow_rate <= 1
    #[key(kind = "float", default = 0.5, check = share)]
    pub slow_rate: f64,
    /// how long an open breaker stays open before it lets probes through (>
    /// 0)
    #[key(kind = "duration", default = Duration::from_secs(2), check = positive_duration)]
    pub open_for: Duration,
    /// calls a half-open breaker lets through, 1 to 100
    #[key(kind = "integer", default = 3, check = int_range(1, MAX_PROBES))]
    pub probes: u32,
}

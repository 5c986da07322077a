//! Validated scenario: the engine's internal form. Built once from the serde
//! types in `raw.rs` by `validate.rs`; everything here has already been checked
//! (hosts exist, windows lie inside the load phase, ranges are ordered), so the
//! driver and the models never re-validate and never panic on input.

use crate::history::MsgId;
use crate::metric::Expectation;
use std::fmt;
use std::time::Duration;

/// A host's role; its derived names are `broker-0`, `store-1`, `producer-2`, `consumer-3`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Broker,
    Store,
    Producer,
    Consumer,
    /// The cluster's coordination service (ZooKeeper / KRaft quorum stand-in):
    /// broker liveness, partition leadership, group membership and offsets.
    /// Always exactly one, `controller-0`.
    Controller,
    /// A broker of the durable log in front of the queue (`[buffer]`).
    Buffer,
    /// A relay: consumes the buffer and publishes into the queue.
    Relay,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Broker,
        Role::Store,
        Role::Producer,
        Role::Consumer,
        Role::Controller,
        Role::Buffer,
        Role::Relay,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Role::Broker => "broker",
            Role::Store => "store",
            Role::Producer => "producer",
            Role::Consumer => "consumer",
            Role::Controller => "controller",
            Role::Buffer => "buffer",
            Role::Relay => "relay",
        }
    }

    /// The plural used to target every host of the role in a fault.
    pub fn plural(self) -> &'static str {
        match self {
            Role::Broker => "brokers",
            Role::Store => "stores",
            Role::Producer => "producers",
            Role::Consumer => "consumers",
            Role::Controller => "controllers",
            Role::Buffer => "buffers",
            Role::Relay => "relays",
        }
    }
}

/// One simulated host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Host {
    pub role: Role,
    pub index: u32,
}

impl Host {
    pub fn new(role: Role, index: u32) -> Self {
        Host { role, index }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.role.name(), self.index)
    }
}

/// A latency range `min..max`, both inclusive; `min == max` is a fixed latency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LatencyRange {
    pub min: Duration,
    pub max: Duration,
}

impl fmt::Display for LatencyRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}..{}",
            crate::units::format_duration(self.min),
            crate::units::format_duration(self.max)
        )
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub summary: String,
    /// Length of the load phase.
    pub duration: Duration,
    /// Length of the heal-and-drain phase that follows it.
    pub drain: Duration,
    /// Seed used when the command line gives none.
    pub seed: u64,
    /// Simulated time between gauge samples.
    pub sample_interval: Duration,
    /// turmoil's tick: the resolution of simulated time.
    pub tick: Duration,
    pub topology: Topology,
    pub network: Network,
    pub workload: Workload,
    pub broker: Broker,
    pub consumer: Consumer,
    pub store: Store,
    /// What the pipeline does when consumer lag grows.
    pub policy: Policy,
    /// In time order.
    pub faults: Vec<Fault>,
    /// The expectations a run checks: `expect_common` then the ones of
    /// `expect_by_policy` for `policy.kind`, each in file order. This is the
    /// list everything downstream evaluates.
    pub expect: Vec<Expectation>,
    /// The top-level keys of `[expect]`: they apply under every policy.
    /// Kept apart (with `expect_by_policy`) only so `render` can write the
    /// file back; do not evaluate them, evaluate `expect`.
    pub expect_common: Vec<Expectation>,
    /// The `[expect.<policy>]` sub-tables in file order, for every policy
    /// (not only `policy.kind`): `mqsim compare` runs one file under each
    /// policy, and `render` writes them all back.
    pub expect_by_policy: Vec<(PolicyKind, Vec<Expectation>)>,
    /// When set, each seed draws its own faults (`crate::swarm`); `faults` is empty.
    pub swarm: Option<Swarm>,
    /// A durable log in front of the broker (a queue), and the relays that
    /// move messages from it into the queue: a two-stage pipeline.
    pub buffer: Option<Buffer>,
    /// The counts `--scale` multiplies besides the rates (`[scale] counts`),
    /// in file order.
    pub scale_counts: Vec<ScaleCount>,
    /// The `--scale` factor this scenario was loaded with (1 = as written).
    /// The values above are already multiplied; `render` writes them as they
    /// are, so a rendered file is the scaled scenario at scale 1.
    pub scale: u32,
}

/// A count `--scale K` multiplies by K when `[scale] counts` lists it (the
/// rates are always multiplied): what must grow with the load for a bigger
/// run to be the same scenario, bigger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ScaleCount {
    Partitions,
    Stores,
    Producers,
    Keys,
    Workers,
    MaxLag,
}

impl ScaleCount {
    pub const ALL: [ScaleCount; 6] = [
        ScaleCount::Partitions,
        ScaleCount::Stores,
        ScaleCount::Producers,
        ScaleCount::Keys,
        ScaleCount::Workers,
        ScaleCount::MaxLag,
    ];

    /// The field path as written in `[scale] counts`.
    pub fn path(self) -> &'static str {
        match self {
            ScaleCount::Partitions => "topology.partitions",
            ScaleCount::Stores => "topology.stores",
            ScaleCount::Producers => "workload.producers",
            ScaleCount::Keys => "workload.keys",
            ScaleCount::Workers => "consumer.workers",
            ScaleCount::MaxLag => "policy.max_lag",
        }
    }

    pub fn from_path(s: &str) -> Option<ScaleCount> {
        ScaleCount::ALL.into_iter().find(|c| c.path() == s)
    }
}

/// `[buffer]`: producers publish into a replicated log (`buffer-N` hosts,
/// coordinated by `controller-0`); relays (`relay-N`), a consumer group of
/// it, forward each message into the queue and commit once the queue
/// confirmed it. The buffer's brokers take `acks = "all"`, fsync per batch
/// and the broker's session timeout; the relays' group the consumer's
/// session timeout.
#[derive(Clone, Debug, PartialEq)]
pub struct Buffer {
    pub brokers: u32,
    pub partitions: u32,
    pub replication: u32,
    pub min_insync: u32,
    pub relays: u32,
    /// The most messages the relays forward per second, together; None =
    /// as fast as the queue takes them.
    pub rate_per_s: Option<u64>,
    /// A relay forwards into a queue only while it holds fewer messages
    /// than this; None = whatever it holds.
    pub max_depth: Option<u64>,
}

/// What a seed may draw in a swarm scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Swarm {
    /// How many faults, inclusive.
    pub faults: (u32, u32),
    /// Fault kinds to draw from (names as in `FaultKind::name`).
    pub kinds: Vec<String>,
    /// Each fault's window, inclusive.
    pub window: (Duration, Duration),
    /// The total load, inclusive; None = the workload's rate.
    pub rate: Option<(u64, u64)>,
}

/// The fault kinds a swarm may draw: those with a window.
pub const SWARM_KINDS: [&str; 7] = [
    "crash",
    "pause",
    "slow_storage",
    "partition",
    "hold",
    "latency",
    "loss",
];

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

#[derive(Clone, Debug, PartialEq)]
pub struct Topology {
    pub brokers: u32,
    pub partitions: u32,
    pub stores: u32,
    /// Replicas per partition (1..=brokers); partition `p`'s replicas are
    /// brokers `(p + i) % brokers` for `i < replication`, the first preferred
    /// as leader.
    pub replication: u32,
    /// Store nodes holding each key (1..=stores); key `k`'s replicas are
    /// stores `(k % stores + i) % stores` for `i < store_replication`.
    pub store_replication: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    /// Default one-way latency of every link.
    pub latency: LatencyRange,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Burst {
    pub at: Duration,
    pub rate_per_s: u64,
    pub duration: Duration,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    pub producers: u32,
    /// Total publish rate across all producers, outside bursts.
    pub rate_per_s: u64,
    /// Number of distinct keys; a message's key picks its partition.
    pub keys: u32,
    pub bursts: Vec<Burst>,
    /// Retries of a failed or unanswered produce request.
    pub retries: u32,
    /// How long a producer waits for an answer before giving up on an attempt.
    pub request_timeout: Duration,
    /// How long a producer tries to deliver a message, from its creation
    /// (Kafka's `delivery.timeout.ms`): past it the message is abandoned
    /// (`timeout`) even with retries left. None = retries alone decide.
    pub delivery_timeout: Option<Duration>,
    /// How long a producer gathers messages into one request.
    pub linger: Duration,
    /// Messages a producer buffers; beyond it new messages are rejected locally.
    pub buffer_max: u32,
    /// Most messages in one produce request.
    pub batch_max: u32,
    /// Idempotent producer: batches carry a producer id and per-partition
    /// sequence numbers, and the leader drops a batch it already appended.
    pub idempotent: bool,
    /// How keys are drawn: None = uniformly over `keys`.
    pub skew: Option<KeySkew>,
}

/// A skewed key distribution. Its hot keys are the *hot* key class of the
/// per-class figures, and the partitions holding them the hot partitions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum KeySkew {
    /// A message goes to a hot key with probability `share` (uniformly
    /// among them), else uniformly to one of the others.
    Hot { share: f64, keys: HotKeys },
    /// Key `k` has weight `1 / (k + 1)^exponent` (Zipf's law: key 0 the
    /// most frequent); the `hot` first keys are the hot class.
    Zipf { exponent: f64, hot: u32 },
}

/// Which keys are hot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HotKeys {
    /// Keys `0..n`.
    First(u32),
    /// Every key of this partition (as the partitioner places keys): one
    /// hot partition.
    Partition(u32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrokerKind {
    /// A replicated, partitioned log (Kafka): consumers track offsets.
    Log,
    /// A classic queue (SQS, RabbitMQ): deliver, then delete on ack; a
    /// visibility timeout makes unacked messages reappear.
    Queue,
}

/// A classic queue's settings (`broker.kind = "queue"`).
#[derive(Clone, Debug, PartialEq)]
pub struct QueueConfig {
    /// How long a received message stays invisible to other receivers; not
    /// acked by then, it reappears (SQS's VisibilityTimeout).
    pub visibility_timeout: Duration,
    /// Receives after which a message goes to the dead-letter queue instead
    /// of being delivered again (SQS's maxReceiveCount); None = no DLQ.
    pub max_receives: Option<u32>,
    /// FIFO per message group (the key): while a group has a message in
    /// flight, no later message of that group is delivered.
    pub fifo: bool,
    /// Most messages a queue holds (ready and in flight); None = unbounded.
    pub max_length: Option<u64>,
    /// What a full queue does with a new message.
    pub overflow: Overflow,
    /// What mirrored queue nodes do when the network splits them.
    pub partition_handling: PartitionHandling,
    /// Classic mirrored queue, or a quorum queue (majority-replicated log).
    pub queue_type: QueueType,
    /// Most messages a node holds in memory (every queue's ready, in flight
    /// and delayed messages and its dead letters) before its memory alarm
    /// goes off (RabbitMQ's `vm_memory_high_watermark`, counted in
    /// messages); None = unbounded.
    pub memory_limit: Option<u64>,
    /// What a node's memory alarm blocks.
    pub memory_alarm: MemoryAlarm,
    /// A message not consumed this long after it was published expires
    /// (RabbitMQ's `x-message-ttl`): discarded from the head of the queue,
    /// counted `expired`. None = messages never expire.
    pub message_ttl: Option<Duration>,
}

/// What a queue node does while its memory alarm is on (it clears once the
/// node holds fewer messages than its limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryAlarm {
    /// Publishers are held back (RabbitMQ blocks connections that
    /// publish); consumers keep receiving and acking, so memory drains.
    BlockPublishers,
    /// Every connection is blocked, consumers' receives and acks too: what
    /// a consumer sharing its connection with a publisher suffers (RabbitMQ
    /// stops reading the whole connection), or a broker whose dequeue and
    /// ack need memory. Nothing can free memory: the node stays stuck.
    BlockAll,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            visibility_timeout: Duration::from_secs(30),
            max_receives: None,
            fifo: false,
            max_length: None,
            overflow: Overflow::RejectNew,
            partition_handling: PartitionHandling::PauseMinority,
            queue_type: QueueType::Classic,
            memory_limit: None,
            memory_alarm: MemoryAlarm::BlockPublishers,
            message_ttl: None,
        }
    }
}

/// A full queue's answer to a new message (RabbitMQ's `x-overflow`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    /// Refuse it: the publisher is told (`reject`, reason `overflow`).
    RejectNew,
    /// Accept it and discard the oldest ready message (`drop`, reason `overflow`).
    DropOldest,
    /// Hold the publisher back until there is room (flow control).
    Block,
}

/// RabbitMQ's `cluster_partition_handling` for mirrored classic queues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartitionHandling {
    /// A node that sees no majority of the cluster stops serving until it does.
    PauseMinority,
    /// Every side keeps serving; when the network heals, the losing side's
    /// nodes restart and take the winner's queue contents, discarding their own.
    Autoheal,
}

/// RabbitMQ's `x-queue-type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueType {
    /// Mirrored classic queue: the master confirms once the mirrors it can
    /// see have the message.
    Classic,
    /// Quorum queue: a leader confirms once a majority of nodes has the message.
    Quorum,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fsync {
    /// fsync before acknowledging each produce request.
    PerBatch,
    /// fsync on a timer; acks do not wait for it.
    Interval(Duration),
    /// Never fsync; only the simulated OS's periodic writeback makes data durable.
    Never,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Broker {
    pub kind: BrokerKind,
    pub fsync: Fsync,
    /// Period of the simulated OS page-cache writeback (Linux flushes dirty
    /// pages older than 30 s by default); what survives a crash under `never`.
    pub writeback: Duration,
    /// When a produce request is acknowledged.
    pub acks: Acks,
    /// Fewest in-sync replicas (leader included) for an `acks = all` write
    /// to be accepted.
    pub min_insync: u32,
    /// May the controller elect a replica that is not in sync (losing what
    /// only the in-sync ones had) rather than leave the partition offline?
    pub unclean_leader_election: bool,
    /// A follower that has not caught up with the leader's log end for this
    /// long leaves the in-sync set (Kafka's `replica.lag.time.max.ms`).
    pub replica_lag_max: Duration,
    /// A broker that has not heartbeated the controller for this long is
    /// dead to it; its partitions get new leaders.
    pub session_timeout: Duration,
    /// CPU time a broker spends on each request it serves (0 = not
    /// modelled); what a `slow_cpu` fault multiplies.
    pub processing: Duration,
    /// Requests a broker works on at once (its cores).
    pub cores: u32,
    /// Retention by size: most records a partition keeps (None = unlimited).
    pub retention_messages: Option<u64>,
    /// Retention by age: records older than this are deleted (None = kept).
    pub retention_age: Option<Duration>,
    /// The classic queue's settings (used when `kind` is `Queue`).
    pub queue: QueueConfig,
}

/// When a produce request is acknowledged (Kafka's `acks`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acks {
    /// `0`: the producer does not wait for any answer.
    None,
    /// `1`: once the leader appended it (and synced, per the fsync policy).
    Leader,
    /// `all`: once every in-sync replica has it (the high watermark passed it).
    All,
}

/// How a group's partitions are spread over its members.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Assignment {
    /// Contiguous ranges of partitions per member, in member order.
    Range,
    /// Partition `i` to member `i % members`.
    RoundRobin,
}

/// Where a consumer starts when it has no valid committed offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OffsetReset {
    Earliest,
    Latest,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitMode {
    AfterEffect,
    BeforeEffect,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Consumer {
    pub group: String,
    pub workers: u32,
    pub commit: CommitMode,
    /// The store ignores an effect whose message id it has already applied.
    pub idempotent: bool,
    pub store_timeout: Duration,
    /// How long a worker waits for a fetch or commit answer.
    pub request_timeout: Duration,
    /// Most records per fetch.
    pub fetch_max: u32,
    /// Effects a partition's worker applies at once, in lanes by key.
    pub concurrency: u32,
    /// CPU time the handler spends on each message before its store calls
    /// (0 = not modelled); what a `slow_cpu` fault multiplies.
    pub processing: Duration,
    /// Messages a consumer host processes at once (its cores); its other
    /// tasks (heartbeats, fetches) wait for a free one too.
    pub cores: u32,
    pub assignment: Assignment,
    /// A member that has not heartbeated its coordinator for this long is
    /// removed from the group and its partitions reassigned.
    pub session_timeout: Duration,
    pub auto_offset_reset: OffsetReset,
    /// Store reads a worker makes per message before applying its effect
    /// (a fan-out worker looks up the recipients); 0 = none.
    pub reads: u32,
    /// A read or write that times out is retried on the key's next replica
    /// (else on the same one).
    pub read_retry: bool,
    /// Queue consumers: report which messages of a received batch failed,
    /// so only those come back (else a failure makes the whole batch
    /// visible again, as AWS Lambda does for SQS without
    /// ReportBatchItemFailures).
    pub partial_batch_failure: bool,
    /// Queue consumers: a failed message is handed back at once with this
    /// delay, doubled at each receive (capped at the visibility timeout);
    /// None = it reappears when its visibility timeout expires.
    pub retry_backoff: Option<Duration>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Store {
    /// Latency of applying one effect (a write) on a healthy node.
    pub latency: LatencyRange,
    /// Latency of one read on a healthy node.
    pub read_latency: LatencyRange,
}

/// What the pipeline does when a consumer group falls behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PolicyKind {
    /// Past the lag bound, the consumer skips to the log end; every skipped
    /// message is a recorded `drop` (reason `max_lag`).
    SilentDrop,
    /// Breakers per store node route reads and writes around a failing node
    /// (or pause the work that needs it); past the lag bound, the broker
    /// refuses new messages explicitly (`reject`, reason `breaker_open`).
    CircuitBreaker,
    /// Past the lag bound, the broker holds producers back (their batches wait
    /// and are re-sent); a producer whose buffer fills refuses locally.
    Backpressure,
    /// No protection: lag simply grows.
    Unbounded,
}

impl PolicyKind {
    pub const ALL: [PolicyKind; 4] = [
        PolicyKind::SilentDrop,
        PolicyKind::CircuitBreaker,
        PolicyKind::Backpressure,
        PolicyKind::Unbounded,
    ];

    pub fn name(self) -> &'static str {
        match self {
            PolicyKind::SilentDrop => "silent_drop",
            PolicyKind::CircuitBreaker => "circuit_breaker",
            PolicyKind::Backpressure => "backpressure",
            PolicyKind::Unbounded => "unbounded",
        }
    }

    pub fn from_name(s: &str) -> Option<PolicyKind> {
        PolicyKind::ALL.into_iter().find(|k| k.name() == s)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub kind: PolicyKind,
    /// Lag bound in messages, per partition: how far a partition's consumer
    /// may fall behind the log end. None = no bound by count.
    pub max_lag: Option<u64>,
    /// Lag bound by age of the oldest message not yet committed. None = no
    /// bound by age.
    pub max_lag_age: Option<Duration>,
    /// The store-node breakers (used by `circuit_breaker`).
    pub breaker: BreakerConfig,
}

impl Policy {
    /// Whether a partition `lag` messages behind the log end, whose oldest
    /// uncommitted record is `oldest_age_us` old (None: there is none), is
    /// past the bound. The one definition the consumer (`silent_drop`) and
    /// the partition leader (`circuit_breaker`, `backpressure`) share.
    pub fn exceeded(&self, lag: u64, oldest_age_us: Option<u64>) -> bool {
        let by_count = self.max_lag.is_some_and(|max| lag > max);
        let by_age = self
            .max_lag_age
            .zip(oldest_age_us)
            .is_some_and(|(max, age)| age > max.as_micros() as u64);
        by_count || by_age
    }
}

/// A circuit breaker per store node, in each consumer member: closed →
/// open when, over the last `window`, at least `min_calls` calls were made
/// and the share of failed (timed out) calls reaches `error_rate` or the
/// share of slow calls (over `slow_call`) reaches `slow_rate`; open →
/// half-open after `open_for`; half-open lets `probes` calls through and
/// closes if all succeed fast, else opens again.
#[derive(Clone, Debug, PartialEq)]
pub struct BreakerConfig {
    pub window: Duration,
    pub min_calls: u32,
    pub error_rate: f64,
    pub slow_call: Duration,
    pub slow_rate: f64,
    pub open_for: Duration,
    pub probes: u32,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            window: Duration::from_secs(5),
            min_calls: 10,
            error_rate: 0.5,
            slow_call: Duration::from_millis(100),
            slow_rate: 0.5,
            open_for: Duration::from_secs(2),
            probes: 3,
        }
    }
}

/// One side of a network fault, or a fault's target: resolved host list.
pub type Hosts = Vec<Host>;

#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    pub at: Duration,
    /// When the fault heals by itself (`at + for`, or `at + restart_after` for a
    /// crash); `None` = it lasts until the drain starts.
    pub until: Option<Duration>,
    pub kind: FaultKind,
    /// The fault happens again and again (`every`, `count`, `jitter`); a
    /// run expands it into its instances (`crate::repeat::expand`), so
    /// the driver only ever sees plain faults.
    pub repeat: Option<Repeat>,
}

/// A repeating fault: instance `i` (from 0) starts at
/// `at + i × every + d_i`, `d_i` drawn uniformly in `0..=jitter` (whole
/// milliseconds) from the run's seed, and lasts as the first one does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repeat {
    pub every: Duration,
    /// Instances in all, the first included (>= 1).
    pub count: u32,
    pub jitter: Duration,
}

impl Fault {
    /// A plain fault (no repetition).
    pub fn once(at: Duration, until: Option<Duration>, kind: FaultKind) -> Fault {
        Fault {
            at,
            until,
            kind,
            repeat: None,
        }
    }

    /// Every instance of the fault with its latest possible window (the
    /// most jitter): what validation checks overlaps against, so no draw
    /// of the jitter can make two faults overlap.
    pub fn widest_instances(&self) -> Vec<Fault> {
        let Some(r) = self.repeat else {
            return vec![Fault::once(self.at, self.until, self.kind.clone())];
        };
        (0..r.count)
            .map(|i| {
                let shift = r.every * i;
                Fault::once(
                    self.at + shift,
                    self.until.map(|u| u + shift + r.jitter),
                    self.kind.clone(),
                )
            })
            .collect()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum FaultKind {
    /// Cut the links between `a` and `b` (only `a → b` when `oneway`).
    Partition { a: Hosts, b: Hosts, oneway: bool },
    /// Repair the links between `a` and `b` (both directions).
    Heal { a: Hosts, b: Hosts },
    /// Hold every message between `a` and `b` until released.
    Hold { a: Hosts, b: Hosts },
    /// Deliver everything held between `a` and `b`.
    Release { a: Hosts, b: Hosts },
    /// Set link latency between `a` and `b` for the window.
    Latency {
        a: Hosts,
        b: Hosts,
        latency: LatencyRange,
    },
    /// Per-step link failure probability between `a` and `b` for the window.
    Loss { a: Hosts, b: Hosts, rate: f64 },
    /// Power loss: unsynced writes are gone; restarted at `until`.
    Crash { targets: Hosts },
    /// The host stops processing (a GC pause, SIGSTOP) but keeps its state.
    Pause { targets: Hosts },
    /// Extra latency on every disk write / store operation of the targets.
    SlowStorage { targets: Hosts, slow: Slowdown },
    /// The targets are starved of CPU: their CPU work (`processing`) takes
    /// `factor` times as long, and every task on them, heartbeats
    /// included, waits longer for a core.
    SlowCpu { targets: Hosts, factor: f64 },
    /// Messages created in the window are poison with probability `rate`,
    /// and those listed in `ids` are poison wherever they fall: the
    /// consumer fails on a poison message every time (a malformed payload).
    Poison { rate: f64, ids: Vec<MsgId> },
    /// Move every dead-lettered message back to its queue (SQS's DLQ redrive).
    Redrive,
    /// The targets (queue nodes) have memory for only `limit` messages in
    /// the window (another process, or the OS, took the rest): their memory
    /// alarm goes off sooner.
    MemoryPressure { targets: Hosts, limit: u64 },
}

impl FaultKind {
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Partition { .. } => "partition",
            FaultKind::Heal { .. } => "heal",
            FaultKind::Hold { .. } => "hold",
            FaultKind::Release { .. } => "release",
            FaultKind::Latency { .. } => "latency",
            FaultKind::Loss { .. } => "loss",
            FaultKind::Crash { .. } => "crash",
            FaultKind::Pause { .. } => "pause",
            FaultKind::SlowStorage { .. } => "slow_storage",
            FaultKind::SlowCpu { .. } => "slow_cpu",
            FaultKind::Poison { .. } => "poison",
            FaultKind::Redrive => "redrive",
            FaultKind::MemoryPressure { .. } => "memory_pressure",
        }
    }

    /// A short description for chart labels and traces, e.g.
    /// `slow_storage store-1 x60` or `partition producer-0 | broker-0,broker-1`.
    pub fn label(&self) -> String {
        let name = self.name();
        match self {
            FaultKind::Partition { a, b, oneway } => {
                let sep = if *oneway { "->" } else { "|" };
                format!("{name} {} {sep} {}", hosts_label(a), hosts_label(b))
            }
            FaultKind::Heal { a, b } | FaultKind::Hold { a, b } | FaultKind::Release { a, b } => {
                format!("{name} {} | {}", hosts_label(a), hosts_label(b))
            }
            FaultKind::Latency { a, b, latency } => {
                format!("{name} {} | {} {latency}", hosts_label(a), hosts_label(b))
            }
            FaultKind::Loss { a, b, rate } => {
                format!("{name} {} | {} {rate}", hosts_label(a), hosts_label(b))
            }
            FaultKind::Crash { targets } | FaultKind::Pause { targets } => {
                format!("{name} {}", hosts_label(targets))
            }
            FaultKind::SlowStorage { targets, slow } => {
                format!("{name} {} {slow}", hosts_label(targets))
            }
            FaultKind::SlowCpu { targets, factor } => {
                format!("{name} {} x{factor}", hosts_label(targets))
            }
            FaultKind::Poison { rate, ids } => match (ids.len(), *rate > 0.0) {
                (0, _) => format!("{name} {rate}"),
                (n, false) => format!("{name} {n} ids"),
                (n, true) => format!("{name} {rate} +{n} ids"),
            },
            FaultKind::Redrive => name.to_string(),
            FaultKind::MemoryPressure { targets, limit } => {
                format!("{name} {} {limit} messages", hosts_label(targets))
            }
        }
    }

    /// Whether the fault is a state with a window (as opposed to a one-shot
    /// action such as `heal` or `release`).
    pub fn has_window(&self) -> bool {
        !matches!(
            self,
            FaultKind::Heal { .. } | FaultKind::Release { .. } | FaultKind::Redrive
        )
    }
}

/// Up to three host names, then how many more.
fn hosts_label(hosts: &[Host]) -> String {
    const SHOWN: usize = 3;
    let names: Vec<String> = hosts.iter().take(SHOWN).map(Host::to_string).collect();
    match hosts.len().saturating_sub(SHOWN) {
        0 => names.join(","),
        more => format!("{},… (+{more})", names.join(",")),
    }
}

/// How a `slow_storage` window slows an operation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Slowdown {
    /// Extra latency drawn from the range, added to every operation.
    Extra(LatencyRange),
    /// The operation's own latency multiplied by this factor (> 1): what a
    /// compaction does to reads that must merge more files.
    Factor(f64),
}

impl fmt::Display for Slowdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Slowdown::Extra(r) => write!(f, "+{r}"),
            Slowdown::Factor(x) => write!(f, "x{x}"),
        }
    }
}

/// Whether every link between `pa` and `pb` is also a link between `a` and `b`
/// (so a `heal` of `a`/`b` ends a partition of `pa`/`pb`).
pub fn covers(a: &[Host], b: &[Host], pa: &[Host], pb: &[Host]) -> bool {
    pa.iter().all(|x| {
        pb.iter()
            .all(|y| x == y || (a.contains(x) && b.contains(y)) || (a.contains(y) && b.contains(x)))
    })
}

/// When each fault's window really ends: at `until`, at the first later
/// `heal` (for a partition) or `release` (for a hold) that covers it, or at
/// the end of the load phase — whichever comes first. One-shot faults end
/// where they start.
pub fn window_ends(faults: &[Fault], load_end: Duration) -> Vec<Duration> {
    faults
        .iter()
        .enumerate()
        .map(|(i, f)| {
            if !f.kind.has_window() {
                return f.at;
            }
            let cut = faults[i + 1..].iter().find(|g| match (&g.kind, &f.kind) {
                (FaultKind::Heal { a, b }, FaultKind::Partition { a: pa, b: pb, .. })
                | (FaultKind::Release { a, b }, FaultKind::Hold { a: pa, b: pb }) => {
                    covers(a, b, pa, pb)
                }
                _ => false,
            });
            let end = f.until.unwrap_or(load_end);
            cut.map_or(end, |g| g.at.min(end))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lag_bound_by_count_or_age() {
        let p = |max_lag, age_ms: Option<u64>| Policy {
            kind: PolicyKind::SilentDrop,
            max_lag,
            max_lag_age: age_ms.map(Duration::from_millis),
            breaker: BreakerConfig::default(),
        };
        assert!(!p(Some(100), None).exceeded(100, Some(u64::MAX)));
        assert!(p(Some(100), None).exceeded(101, None));
        assert!(!p(None, Some(1_000)).exceeded(u64::MAX, Some(1_000_000)));
        assert!(p(None, Some(1_000)).exceeded(0, Some(1_000_001)));
        assert!(!p(None, Some(1_000)).exceeded(5, None));
        assert!(p(Some(100), Some(1_000)).exceeded(0, Some(2_000_000)));
        assert!(!p(None, None).exceeded(u64::MAX, Some(u64::MAX)));
    }
}

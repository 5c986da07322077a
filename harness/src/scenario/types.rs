//! The validated scenario's vocabulary: hosts, latency ranges, the enums a
//! key picks from, faults, policy and swarm settings (the declared tables and
//! `Scenario` itself are in `tables.rs`). Built once by `validate/`; everything here has already been checked
//! (hosts exist, windows lie inside the load phase, ranges are ordered), so the
//! driver and the models never re-validate and never panic on input.

use crate::history::MsgId;
use std::fmt;
use std::time::Duration;

/// A host's role; its derived names are `broker-0`, `store-1`, `producer-2`, `consumer-3`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// A broker of the system under test (`broker-N`): a log broker, or a
    /// queue node.
    Broker,
    /// A downstream store node the consumers apply effects to (`store-N`).
    Store,
    /// A producer client (`producer-N`).
    Producer,
    /// A consumer worker (`consumer-N`): a group member on a log, a poller on
    /// a queue.
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
    /// Every role, in the order the `all` selector lists their hosts.
    pub const ALL: [Role; 7] = [
        Role::Broker,
        Role::Store,
        Role::Producer,
        Role::Consumer,
        Role::Controller,
        Role::Buffer,
        Role::Relay,
    ];

    /// The role as host names spell it (`broker` in `broker-0`).
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
    /// What the host is.
    pub role: Role,
    /// Its number within the role, from 0 (`broker-2` → 2).
    pub index: u32,
}

impl Host {
    /// Host number `index` of `role`.
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
    /// The shortest latency drawn.
    pub min: Duration,
    /// The longest latency drawn.
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

/// A count `--scale K` multiplies by K when `[scale] counts` lists it (the
/// rates are always multiplied): what must grow with the load for a bigger
/// run to be the same scenario, bigger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ScaleCount {
    /// `topology.partitions` (with a queue broker, the number of queues).
    Partitions,
    /// `topology.stores`.
    Stores,
    /// `workload.producers`.
    Producers,
    /// `workload.keys`.
    Keys,
    /// `consumer.workers`.
    Workers,
    /// `policy.max_lag` (an absent bound stays absent).
    MaxLag,
}

impl ScaleCount {
    /// Every count `[scale] counts` may list.
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

    /// The count a `[scale] counts` entry names, if it names one.
    pub fn from_path(s: &str) -> Option<ScaleCount> {
        ScaleCount::ALL.into_iter().find(|c| c.path() == s)
    }
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

/// A period of the load phase with a different total rate (`workload.bursts`).
#[derive(Clone, Debug, PartialEq)]
pub struct Burst {
    /// When it starts, from the start of the run.
    pub at: Duration,
    /// The total rate across all producers during the burst, messages per
    /// second (replacing `workload.rate`).
    pub rate_per_s: u64,
    /// How long it lasts (`for`).
    pub duration: Duration,
}

/// A skewed key distribution. Its hot keys are the *hot* key class of the
/// per-class figures, and the partitions holding them the hot partitions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum KeySkew {
    /// A message goes to a hot key with probability `share` (uniformly
    /// among them), else uniformly to one of the others.
    Hot {
        /// The probability that a message goes to a hot key (`hot_share`).
        share: f64,
        /// Which keys are hot.
        keys: HotKeys,
    },
    /// Key `k` has weight `1 / (k + 1)^exponent` (Zipf's law: key 0 the
    /// most frequent); the `hot` first keys are the hot class.
    Zipf {
        /// The exponent of the weights (`zipf`).
        exponent: f64,
        /// How many of the most frequent keys are hot (`hot_keys`).
        hot: u32,
    },
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

/// `name` with a `'static` lifetime, so a [`PolicyKind::Custom`] stays
/// `Copy`: each distinct name is kept once for the life of the process
/// (names come from registrations and scenario files: a handful).
fn intern(name: &str) -> &'static str {
    static NAMES: std::sync::Mutex<std::collections::BTreeSet<&'static str>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(&n) = names.get(name) {
        return n;
    }
    let n: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.insert(n);
    n
}

/// The name of mqsim's own consumer handler (`[consumer] handler`'s
/// default).
pub const BUILTIN_HANDLER: &str = "store_writer";

/// The name of mqsim's own store model (`[store] model`'s default).
pub const BUILTIN_STORE: &str = "latency";

/// The actors of one's own a scenario may name, besides mqsim's: what the
/// model that will run it has registered (`Model::actors`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Actors {
    /// Registered consumer handlers, for `[consumer] handler`.
    pub handlers: Vec<String>,
    /// Registered lag policies, for `[policy] kind` and `--policy`.
    pub policies: Vec<String>,
    /// Registered store models, for `[store] model`.
    pub stores: Vec<String>,
}

/// The broker model the system under test runs (`broker.kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrokerKind {
    /// A replicated, partitioned log (Kafka): consumers track offsets.
    Log,
    /// A classic queue (SQS, RabbitMQ): deliver, then delete on ack; a
    /// visibility timeout makes unacked messages reappear.
    Queue,
}

impl BrokerKind {
    /// The lag policies a scenario of this kind may run under: a queue has
    /// no log end to lag behind (its bound is its own `max_length`), so
    /// only `unbounded`. The validator and `mqsim compare` read this.
    pub fn policies(self) -> &'static [PolicyKind] {
        match self {
            BrokerKind::Log => &PolicyKind::ALL,
            BrokerKind::Queue => &[PolicyKind::Unbounded],
        }
    }
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

/// When a broker syncs its writes to disk (`broker.fsync`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fsync {
    /// fsync before acknowledging each produce request.
    PerBatch,
    /// fsync on a timer; acks do not wait for it.
    Interval(Duration),
    /// Never fsync; only the simulated OS's periodic writeback makes data durable.
    Never,
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
    /// The oldest record the partition still holds.
    Earliest,
    /// The partition's log end: records already there are skipped.
    Latest,
}

/// When a consumer commits, relative to applying a message's effect
/// (`consumer.commit`); on a queue, committing is acking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitMode {
    /// After the effect is applied: at-least-once.
    AfterEffect,
    /// Before the effect (on a queue, on receipt): at-most-once.
    BeforeEffect,
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
    /// A lag policy of one's own, registered under this name with the
    /// model that runs the scenario (`mqsim::Registry::policy`).
    Custom(&'static str),
}

impl PolicyKind {
    /// Every lag policy, in the order `mqsim compare` runs them.
    pub const ALL: [PolicyKind; 4] = [
        PolicyKind::SilentDrop,
        PolicyKind::CircuitBreaker,
        PolicyKind::Backpressure,
        PolicyKind::Unbounded,
    ];

    /// As `policy.kind` and `--policy` spell it (`silent_drop`).
    pub fn name(self) -> &'static str {
        match self {
            PolicyKind::SilentDrop => "silent_drop",
            PolicyKind::CircuitBreaker => "circuit_breaker",
            PolicyKind::Backpressure => "backpressure",
            PolicyKind::Unbounded => "unbounded",
            PolicyKind::Custom(name) => name,
        }
    }

    /// The built-in policy `policy.kind` or `--policy` names, if it names one.
    pub fn from_name(s: &str) -> Option<PolicyKind> {
        PolicyKind::ALL.into_iter().find(|k| k.name() == s)
    }

    /// The policy `name` stands for: a built-in one, or else a policy of
    /// one's own by that name (whether one is registered is the
    /// validator's to say).
    pub fn named(name: &str) -> PolicyKind {
        PolicyKind::from_name(name).unwrap_or_else(|| PolicyKind::Custom(intern(name)))
    }
}

/// One side of a network fault, or a fault's target: resolved host list.
pub type Hosts = Vec<Host>;

/// One `[[fault]]`: what happens, when, and until when.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    /// When it fires, from the start of the run.
    pub at: Duration,
    /// When the fault heals by itself (`at + for`, or `at + restart_after` for a
    /// crash); `None` = it lasts until the drain starts.
    pub until: Option<Duration>,
    /// What it does, and to which hosts or links.
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
    /// From one instance's start to the next one's, before jitter.
    pub every: Duration,
    /// Instances in all, the first included (>= 1).
    pub count: u32,
    /// The most an instance's start is delayed (whole ms, drawn from the
    /// run's seed).
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

/// What a fault does, and to which hosts or links: its `kind` with the
/// fields that kind takes.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultKind {
    /// Cut the links between `a` and `b` (only `a → b` when `oneway`).
    Partition {
        /// One side.
        a: Hosts,
        /// The other side.
        b: Hosts,
        /// Cut only the `a → b` direction.
        oneway: bool,
    },
    /// Repair the links between `a` and `b` (both directions).
    Heal {
        /// One side.
        a: Hosts,
        /// The other side.
        b: Hosts,
    },
    /// Hold every message between `a` and `b` until released.
    Hold {
        /// One side.
        a: Hosts,
        /// The other side.
        b: Hosts,
    },
    /// Deliver everything held between `a` and `b`.
    Release {
        /// One side.
        a: Hosts,
        /// The other side.
        b: Hosts,
    },
    /// Set link latency between `a` and `b` for the window.
    Latency {
        /// One side.
        a: Hosts,
        /// The other side.
        b: Hosts,
        /// The links' one-way latency during the window.
        latency: LatencyRange,
    },
    /// Per-step link failure probability between `a` and `b` for the window.
    Loss {
        /// One side.
        a: Hosts,
        /// The other side.
        b: Hosts,
        /// The probability, per step, that a link fails to deliver.
        rate: f64,
    },
    /// Power loss: unsynced writes are gone; restarted at `until`.
    Crash {
        /// The hosts that lose power.
        targets: Hosts,
    },
    /// The host stops processing (a GC pause, SIGSTOP) but keeps its state.
    Pause {
        /// The hosts that stop.
        targets: Hosts,
    },
    /// Extra latency on every disk write / store operation of the targets.
    SlowStorage {
        /// The brokers, stores or controller slowed.
        targets: Hosts,
        /// How much slower.
        slow: Slowdown,
    },
    /// The targets are starved of CPU: their CPU work (`processing`) takes
    /// `factor` times as long, and every task on them, heartbeats
    /// included, waits longer for a core.
    SlowCpu {
        /// The consumers or brokers starved.
        targets: Hosts,
        /// How many times as long their CPU work takes (> 1).
        factor: f64,
    },
    /// Messages created in the window are poison with probability `rate`,
    /// and those listed in `ids` are poison wherever they fall: the
    /// consumer fails on a poison message every time (a malformed payload).
    Poison {
        /// The probability that a message created in the window is poison
        /// (0: only `ids` are).
        rate: f64,
        /// Messages that are poison wherever they fall.
        ids: Vec<MsgId>,
    },
    /// Move every dead-lettered message back to its queue (SQS's DLQ redrive).
    Redrive,
    /// The targets (queue nodes) have memory for only `limit` messages in
    /// the window (another process, or the OS, took the rest): their memory
    /// alarm goes off sooner.
    MemoryPressure {
        /// The queue nodes squeezed.
        targets: Hosts,
        /// Messages they have memory for during the window.
        limit: u64,
    },
}

impl FaultKind {
    /// The kind as `[[fault]]` spells it (`slow_storage`), and as fault
    /// windows name it.
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

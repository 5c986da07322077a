//! The History: an append-only record of every message's lifecycle (DESIGN §2),
//! gauge samples taken on a fixed simulated interval, and the broker's final
//! inventory. Checkers see nothing else, so anything a figure needs must be
//! recorded here.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A message's identity: the producer that created it and its sequence number
/// within that producer. Ids are assigned from the load schedule, not from a
/// counter in the producer's memory, so a restarted producer never reuses one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MsgId {
    /// The producer that created it (host `producer-N`).
    pub producer: u32,
    /// Its place in that producer's schedule, from 0 (`p0-12` is seq 12).
    pub seq: u32,
}

impl MsgId {
    /// Producer `producer`'s message `seq` (`p{producer}-{seq}`).
    pub fn new(producer: u32, seq: u32) -> Self {
        MsgId { producer, seq }
    }
}

impl fmt::Display for MsgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p{}-{}", self.producer, self.seq)
    }
}

/// Why a policy or the broker discarded a message (`drop`) or refused it (`reject`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// A lag policy skipped past the message (Discord's max-lag drop).
    MaxLag,
    /// A bounded queue or buffer was full.
    Overflow,
    /// Retention removed the message before it was consumed.
    Retention,
    /// The producer's local buffer was full: refused before it reached the broker.
    ProducerBufferFull,
    /// The broker refused the write (not enough in-sync replicas, not leader, …).
    BrokerRefused,
    /// A circuit breaker was open.
    BreakerOpen,
    /// The message's time to live ran out before it was consumed.
    Expired,
}

impl Reason {
    /// Every reason, drops and refusals alike.
    pub const ALL: [Reason; 7] = [
        Reason::MaxLag,
        Reason::Overflow,
        Reason::Retention,
        Reason::ProducerBufferFull,
        Reason::BrokerRefused,
        Reason::BreakerOpen,
        Reason::Expired,
    ];

    /// The reasons a `drop` may carry: why a system discarded a message it
    /// had accepted.
    pub const DROPS: [Reason; 4] = [
        Reason::MaxLag,
        Reason::Retention,
        Reason::Overflow,
        Reason::Expired,
    ];

    /// The reasons a `reject` may carry: why a message was refused.
    pub const REJECTS: [Reason; 4] = [
        Reason::BreakerOpen,
        Reason::Overflow,
        Reason::ProducerBufferFull,
        Reason::BrokerRefused,
    ];

    /// As in the JSON (`max_lag`, `breaker_open`).
    pub fn name(self) -> &'static str {
        match self {
            Reason::MaxLag => "max_lag",
            Reason::Overflow => "overflow",
            Reason::Retention => "retention",
            Reason::ProducerBufferFull => "producer_buffer_full",
            Reason::BrokerRefused => "broker_refused",
            Reason::BreakerOpen => "breaker_open",
            Reason::Expired => "expired",
        }
    }
}

/// One lifecycle step. The variants are the verbs of DESIGN §2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// The producer attempted to publish (attempt 1, 2, …).
    Send {
        /// 1 for the first attempt, one more for each retry.
        attempt: u32,
    },
    /// The broker confirmed the message: definite success.
    Ack,
    /// Refused explicitly: the producer knows it failed.
    Reject {
        /// Why it was refused (one of [`Reason::REJECTS`]).
        reason: Reason,
    },
    /// The producer gave up without an answer: outcome indeterminate.
    Timeout,
    /// Written to a partition at an offset.
    Append {
        /// The partition (or, on a queue, the queue).
        partition: u32,
        /// Its offset in the partition (on a queue, its sequence number).
        offset: u64,
    },
    /// Discarded by a recorded policy, with the reason.
    Drop {
        /// Why it was discarded (one of [`Reason::DROPS`]).
        reason: Reason,
    },
    /// Handed to a consumer worker (delivery attempt n as that worker counts it).
    Deliver {
        /// The consumer worker (host `consumer-N`; in a buffer's stage, the
        /// relay `relay-N`).
        consumer: u32,
        /// The delivery attempt (on a queue, the message's receive count).
        attempt: u32,
    },
    /// The side effect was applied to a store node.
    Effect {
        /// The store node that applied it (host `store-N`).
        store: u32,
    },
    /// The consumer committed the offset covering this message.
    Commit,
    /// Moved to the dead-letter queue after n attempts.
    DeadLetter {
        /// How many times it had been received when it was moved.
        attempts: u32,
    },
    /// A relay handed the message on to the next stage, which confirmed
    /// it: the stage's way out (what an effect is to the last stage).
    Forward,
}

impl EventKind {
    /// The verb as in DESIGN §2 and the JSON (`send`, `dead_letter`).
    pub fn verb(&self) -> &'static str {
        match self {
            EventKind::Send { .. } => "send",
            EventKind::Ack => "ack",
            EventKind::Reject { .. } => "reject",
            EventKind::Timeout => "timeout",
            EventKind::Append { .. } => "append",
            EventKind::Drop { .. } => "drop",
            EventKind::Deliver { .. } => "deliver",
            EventKind::Effect { .. } => "effect",
            EventKind::Commit => "commit",
            EventKind::DeadLetter { .. } => "dead_letter",
            EventKind::Forward => "forward",
        }
    }

    /// The event's details for people, naming hosts as the scenario does
    /// (a `deliver`'s consumer index is host `consumer-N`, an `effect`'s
    /// store index `store-N`): `partition 3 offset 1200`, `consumer-1 attempt 2`.
    pub fn details(&self) -> String {
        match self {
            EventKind::Send { attempt } => format!("attempt {attempt}"),
            EventKind::Reject { reason } | EventKind::Drop { reason } => reason.name().into(),
            EventKind::Append { partition, offset } => {
                format!("partition {partition} offset {offset}")
            }
            EventKind::Deliver { consumer, attempt } => {
                format!("consumer-{consumer} attempt {attempt}")
            }
            EventKind::Effect { store } => format!("store-{store}"),
            EventKind::DeadLetter { attempts } => format!("after {attempts} attempts"),
            EventKind::Ack | EventKind::Timeout | EventKind::Commit | EventKind::Forward => {
                String::new()
            }
        }
    }
}

/// A lifecycle event at a simulated time (microseconds since the run started).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// When it happened, simulated µs since the run started.
    pub at_us: u64,
    /// The message it happened to.
    pub id: MsgId,
    /// The message's key, which decides its partition (see [`History::keys`]).
    pub key: u32,
    /// What happened (in JSON, `kind` plus the step's own fields).
    #[serde(flatten)]
    pub kind: EventKind,
    /// The pipeline stage that recorded it: 0 for the only (or first)
    /// stage; with a `[buffer]`, 0 is the buffer and its relays, 1 the
    /// queue, its consumers and the store.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stage: u8,
}

fn is_zero(n: &u8) -> bool {
    *n == 0
}

/// Gauges of one partition for one consumer group at one sample time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionGauge {
    /// The partition (or queue) the gauges are of.
    pub partition: u32,
    /// Messages held: log end minus log start.
    pub depth: u64,
    /// Log end minus the group's committed offset.
    pub lag_messages: u64,
    /// Age of the oldest message not yet committed by the group (0 when lag is 0).
    pub lag_age_us: u64,
}

/// Every gauge at one sample time. `broker_up = false` means the broker could
/// not be observed (crashed): the sample carries no partition figures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    /// When it was taken, simulated µs since the run started.
    pub at_us: u64,
    /// Whether the gauges could be read at all (false: no partition figures).
    pub broker_up: bool,
    /// The last stage's partitions (the queue's, with a buffer).
    pub partitions: Vec<PartitionGauge>,
    /// With a `[buffer]`: the buffer's partitions, lag being the relays'.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upstream: Vec<PartitionGauge>,
}

impl Sample {
    /// The gauges of every partition (or queue) at `at_us`, read.
    pub fn up(at_us: u64, partitions: Vec<PartitionGauge>) -> Sample {
        Sample {
            at_us,
            broker_up: true,
            partitions,
            upstream: Vec::new(),
        }
    }

    /// At `at_us` the gauges could not be read (the broker is down, or no
    /// replica or master speaks for some partition).
    pub fn down(at_us: u64) -> Sample {
        Sample {
            at_us,
            broker_up: false,
            partitions: Vec::new(),
            upstream: Vec::new(),
        }
    }

    /// The whole pipeline's backlog: every stage's lag.
    pub fn lag_messages(&self) -> u64 {
        self.gauges().map(|p| p.lag_messages).sum()
    }
    /// The oldest message not yet through, in any stage.
    pub fn lag_age_us(&self) -> u64 {
        self.gauges().map(|p| p.lag_age_us).max().unwrap_or(0)
    }
    fn gauges(&self) -> impl Iterator<Item = &PartitionGauge> {
        self.partitions.iter().chain(&self.upstream)
    }
}

/// What the broker still holds at the end of the drain; tells a stranded
/// message (still there, not yet consumed) from a lost one (gone).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    /// Per partition (or queue): where its log starts and ends, and how far the
    /// group committed.
    pub partitions: Vec<PartitionInventory>,
    /// Ids held by the broker that the group has not committed past, sorted.
    pub held: Vec<MsgId>,
    /// Ids in a dead-letter queue at the end, sorted: what the DLQ
    /// checkers count as dead-lettered (a redrive took the others out; a
    /// DLQ lost in a crash lost them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dead_letters: Vec<MsgId>,
    /// Ids a live producer still held at the end (buffered, or sent and
    /// not yet answered), sorted: *in flight at the end*. What a producer
    /// held when it crashed is not here: that vanished with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub in_flight: Vec<MsgId>,
    /// With a `[buffer]`: ids the buffer still holds that the relays had
    /// not committed past, sorted (`held` is then the queue's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upstream_held: Vec<MsgId>,
    /// With a `[buffer]`: ids a live relay still held, not yet confirmed
    /// by the queue, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relay_in_flight: Vec<MsgId>,
}

/// One partition's (or queue's) log at the end, as the replica (or master)
/// that speaks for it has it; offsets on a log, sequence numbers on a queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionInventory {
    /// The partition (or queue).
    pub partition: u32,
    /// The first offset still held (retention deleted those before it; a
    /// queue: its oldest held message's sequence number).
    pub log_start: u64,
    /// The offset the next append would get.
    pub log_end: u64,
    /// The group's committed offset (the log start when it committed nothing;
    /// a queue has no offsets: its log start).
    pub committed: u64,
}

/// A circuit breaker's state (DESIGN §2 gauges: breaker state).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Calls pass.
    Closed,
    /// Calls are refused without being tried.
    Open,
    /// A few probe calls pass; their outcome closes or reopens the breaker.
    HalfOpen,
}

impl BreakerState {
    /// As in `history.jsonl` and the JSON (`half_open`).
    pub fn name(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }
}

/// A breaker of consumer `consumer` guarding store node `store` changed state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakerTransition {
    /// When it changed, simulated µs since the run started.
    pub at_us: u64,
    /// The consumer member whose breaker it is (host `consumer-N`).
    pub consumer: u32,
    /// The store node the breaker guards (host `store-N`).
    pub store: u32,
    /// The state it moved to.
    pub to: BreakerState,
}

/// A change in a consumer group, as its coordinator made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GroupChange {
    /// A new generation: membership changed and the target assignment was
    /// recomputed (the first is the group forming; every later one is a
    /// rebalance).
    Generation {
        /// The coordinator's generation number.
        generation: u64,
        /// Members in the group in this generation.
        members: u32,
    },
    /// Partition `partition` now belongs to consumer `owner` (None: to no
    /// one, so nothing consumes it).
    Owner {
        /// The partition that changed hands.
        partition: u32,
        /// The owning member's host index (`consumer-N`; `relay-N` in a
        /// buffer's group).
        owner: Option<u32>,
    },
}

/// A group change at a simulated time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupEvent {
    /// When the coordinator made it, simulated µs since the run started.
    pub at_us: u64,
    /// What changed.
    #[serde(flatten)]
    pub change: GroupChange,
}

/// A fault window as the driver applied it, so checkers can measure recovery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultWindow {
    /// The fault's index in the scenario (`fault[i]`).
    pub index: usize,
    /// The fault kind as the scenario names it (`crash`, `partition`, …).
    pub kind: String,
    /// When the driver applied it, simulated µs since the run started.
    pub start_us: u64,
    /// When it healed (by itself after `for`, by `restart_after`, or at drain start).
    pub end_us: u64,
}

/// Consecutive sequence numbers `start..end` that producer `producer`
/// created: the messages the workload asked it to send. A restarted
/// producer resumes at the schedule's present, so one producer may have
/// several runs with gaps (what was due while it was down never existed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    /// The producer that created them.
    pub producer: u32,
    /// The run's first sequence number.
    pub start: u32,
    /// One past the run's last sequence number.
    pub end: u32,
}

impl Created {
    /// How many messages the run holds.
    pub fn len(&self) -> u64 {
        u64::from(self.end.saturating_sub(self.start))
    }

    /// Whether the run holds no message.
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// Whether `id` is one of the run's messages.
    pub fn contains(&self, id: MsgId) -> bool {
        id.producer == self.producer && (self.start..self.end).contains(&id.seq)
    }
}

/// Most keys whose partition a [`KeyMap`] tabulates.
pub const MAX_KEY_MAP: u32 = 1 << 20;

/// Where the workload's keys go and which are hot, as the model says: what
/// the per-partition and per-class figures group messages by.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyMap {
    /// Partitions (or queues) of the topology.
    pub partitions: u32,
    /// The partition of each key (index = key); empty when the workload
    /// has more than [`MAX_KEY_MAP`] keys (then no message is attributed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partition: Vec<u32>,
    /// The hot keys, sorted; empty when keys are drawn uniformly.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hot: Vec<u32>,
}

impl KeyMap {
    /// The partition of `key`, if tabulated.
    pub fn partition_of(&self, key: u32) -> Option<u32> {
        self.partition.get(key as usize).copied()
    }

    /// Whether `key` is one of the hot keys.
    pub fn is_hot(&self, key: u32) -> bool {
        self.hot.binary_search(&key).is_ok()
    }

    /// The partitions holding a hot key, sorted.
    pub fn hot_partitions(&self) -> Vec<u32> {
        let mut p: Vec<u32> = (self.hot.iter())
            .filter_map(|&k| self.partition_of(k))
            .collect();
        p.sort_unstable();
        p.dedup();
        p
    }
}

/// The version of the History's content and hash. It is fed into
/// [`History::hash`] and carried in every report, so a hash is only ever
/// compared with hashes of the same version. 2: the History records which
/// messages were created (`created`), what producers held at the end, the
/// consumer group's changes (`group`) and where keys go (`keys`). 3: the
/// engine steps only the hosts with work (turmoil's `skip_idle_hosts`):
/// hosts see the same times and messages, but their runtimes are entered
/// less often, which changes the order `select!` takes ready branches in,
/// so every run of the same seed differs from version 2's. The same version
/// brought models that wait on events instead of polling and log followers
/// that copy a leader's partitions in one fetch session: timings differ.
/// 4: a consumer reaches each store node over one connection shared by all
/// its tasks, requests tagged with ids and those of one step sent in one
/// segment (a slow answer no longer costs the connection), served by the
/// node in one task per connection; and a partition's lanes are polled
/// only when woken: the network's draws and the order of events within a
/// step differ. 5: a host's step moves its clock to the step's time, fires
/// the timers due by then, hands over the messages due and runs its tasks
/// at that time until none is runnable (turmoil's `Rt::step_to`), instead
/// of running its tasks and then sleeping to the tick's end: a host woken
/// by a timer runs once instead of twice, and its runtime is entered less
/// often, so `select!` draws differ. 6: every host's tasks run in one
/// runtime shared by all hosts (each in its own `LocalSet`), entered once
/// per step for every host with work: the clock moves and timers fire once
/// for all of them, then each runs in turn, and what a task deferred (a
/// yield) runs after every host had its turn (or in the next step). The
/// runtime's one seed orders every `select!`, so draws differ.
pub const HISTORY_VERSION: u32 = 6;

/// The whole record of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// Every message the workload created, as runs of sequence numbers
    /// sorted by (producer, start), disjoint: the ids the conservation
    /// check accounts for (each ends in exactly one fate).
    pub created: Vec<Created>,
    /// Every lifecycle event, in time order (within a microsecond, in
    /// turmoil's deterministic step order).
    pub events: Vec<Event>,
    /// The gauge samples, one every `sample_interval`, in time order.
    pub samples: Vec<Sample>,
    /// Every fault window, in the order the driver applied them.
    pub faults: Vec<FaultWindow>,
    /// What was still held at the end of the drain: by the broker, in
    /// dead-letter queues, by live producers.
    pub inventory: Inventory,
    /// Every circuit-breaker state change, in time order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub breakers: Vec<BreakerTransition>,
    /// The consumer group's generations and partition owners over time, in
    /// time order (empty when consumers are not a group, as on a queue).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group: Vec<GroupEvent>,
    /// Each key's partition and the hot keys.
    #[serde(default)]
    pub keys: KeyMap,
    /// Ids the workload made poison (a consumer fails on them every time),
    /// sorted; the DLQ checkers tell poison from healthy messages by it.
    /// Some may never have been sent (the load phase ended first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub poison: Vec<MsgId>,
    /// The pipeline's stages by name, in order, when it has more than one
    /// (`["buffer", "queue"]` with a `[buffer]`; see `Event::stage`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<String>,
    /// End of the load phase (drain start), microseconds.
    pub load_end_us: u64,
    /// End of the run (drain end), microseconds.
    pub end_us: u64,
}

impl History {
    /// Whether `e` belongs to the pipeline's end-to-end story: what its
    /// producers heard (stage 0), what the last stage's broker appended and
    /// its consumers were handed and committed, every stage's drops and
    /// dead letters, and the store's effects — not the relays' own sends,
    /// deliveries and forwards, nor the buffer's appends. Every event of a
    /// single-stage run.
    pub fn end_to_end(&self, e: &Event) -> bool {
        let stages = self.stage_count();
        if stages <= 1 {
            return !matches!(e.kind, EventKind::Forward);
        }
        match e.kind {
            EventKind::Send { .. }
            | EventKind::Ack
            | EventKind::Reject { .. }
            | EventKind::Timeout => e.stage == 0,
            // The last stage's broker is the one its consumers read.
            EventKind::Deliver { .. } | EventKind::Commit | EventKind::Append { .. } => {
                e.stage + 1 == stages
            }
            EventKind::Forward => false,
            _ => true,
        }
    }

    /// How many stages the pipeline has (at least one).
    pub fn stage_count(&self) -> u8 {
        (self.stages.len() as u8).max(1)
    }

    /// Messages created (the sum of `created`).
    pub fn created_count(&self) -> u64 {
        self.created.iter().map(Created::len).sum()
    }

    /// Whether the workload created `id`.
    pub fn was_created(&self, id: MsgId) -> bool {
        let i = self
            .created
            .partition_point(|c| (c.producer, c.end) <= (id.producer, id.seq));
        self.created.get(i).is_some_and(|c| c.contains(id))
    }

    /// Hash over a canonical encoding (fixed-width little-endian fields in
    /// record order), so it is independent of serde's formatting choices.
    pub fn hash(&self) -> String {
        let mut h = Buffered::default();
        let put = |h: &mut Buffered, v: u64| {
            h.update(&v.to_le_bytes());
        };
        put(&mut h, u64::from(HISTORY_VERSION));
        put(&mut h, self.created.len() as u64);
        for c in &self.created {
            put(&mut h, u64::from(c.producer));
            put(&mut h, (u64::from(c.start) << 32) | u64::from(c.end));
        }
        put(&mut h, self.events.len() as u64);
        for e in &self.events {
            put(&mut h, e.at_us);
            put(&mut h, ((e.id.producer as u64) << 32) | e.id.seq as u64);
            put(&mut h, e.key as u64);
            let (tag, a, b) = match e.kind {
                EventKind::Send { attempt } => (0, attempt as u64, 0),
                EventKind::Ack => (1, 0, 0),
                EventKind::Reject { reason } => (2, reason as u64, 0),
                EventKind::Timeout => (3, 0, 0),
                EventKind::Append { partition, offset } => (4, partition as u64, offset),
                EventKind::Drop { reason } => (5, reason as u64, 0),
                EventKind::Deliver { consumer, attempt } => (6, consumer as u64, attempt as u64),
                EventKind::Effect { store } => (7, store as u64, 0),
                EventKind::Commit => (8, 0, 0),
                EventKind::DeadLetter { attempts } => (9, attempts as u64, 0),
                EventKind::Forward => (10, 0, 0),
            };
            // The stage only when above 0: single-stage runs hash as before.
            put(&mut h, tag | (u64::from(e.stage) << 8));
            put(&mut h, a);
            put(&mut h, b);
        }
        put(&mut h, self.samples.len() as u64);
        for s in &self.samples {
            put(&mut h, s.at_us);
            put(&mut h, s.broker_up as u64);
            put(&mut h, s.partitions.len() as u64);
            for p in &s.partitions {
                put(&mut h, p.partition as u64);
                put(&mut h, p.depth);
                put(&mut h, p.lag_messages);
                put(&mut h, p.lag_age_us);
            }
            if !s.upstream.is_empty() {
                put(&mut h, s.upstream.len() as u64);
                for p in &s.upstream {
                    put(&mut h, p.partition as u64);
                    put(&mut h, p.depth);
                    put(&mut h, p.lag_messages);
                    put(&mut h, p.lag_age_us);
                }
            }
        }
        put(&mut h, self.faults.len() as u64);
        for f in &self.faults {
            put(&mut h, f.index as u64);
            put(&mut h, f.start_us);
            put(&mut h, f.end_us);
            h.update(f.kind.as_bytes());
        }
        put(&mut h, self.inventory.partitions.len() as u64);
        for p in &self.inventory.partitions {
            put(&mut h, p.partition as u64);
            put(&mut h, p.log_start);
            put(&mut h, p.log_end);
            put(&mut h, p.committed);
        }
        put(&mut h, self.inventory.held.len() as u64);
        for id in &self.inventory.held {
            put(&mut h, ((id.producer as u64) << 32) | id.seq as u64);
        }
        // Hashed only when present, as the breakers and poison below.
        if !self.inventory.dead_letters.is_empty() {
            put(&mut h, self.inventory.dead_letters.len() as u64);
            for id in &self.inventory.dead_letters {
                put(&mut h, ((id.producer as u64) << 32) | id.seq as u64);
            }
        }
        for (tag, ids) in [
            (1, &self.inventory.in_flight),
            (2, &self.inventory.upstream_held),
            (3, &self.inventory.relay_in_flight),
        ] {
            if !ids.is_empty() {
                put(&mut h, tag);
                put(&mut h, ids.len() as u64);
                for id in ids {
                    put(&mut h, ((id.producer as u64) << 32) | id.seq as u64);
                }
            }
        }
        // Hashed only when present, so runs without breakers keep the
        // hashes they had before breakers were recorded.
        if !self.breakers.is_empty() {
            put(&mut h, self.breakers.len() as u64);
            for b in &self.breakers {
                put(&mut h, b.at_us);
                put(&mut h, b.consumer as u64);
                put(&mut h, b.store as u64);
                put(&mut h, b.to as u64);
            }
        }
        if !self.group.is_empty() {
            put(&mut h, self.group.len() as u64);
            for g in &self.group {
                put(&mut h, g.at_us);
                match g.change {
                    GroupChange::Generation {
                        generation,
                        members,
                    } => {
                        put(&mut h, 0);
                        put(&mut h, generation);
                        put(&mut h, u64::from(members));
                    }
                    GroupChange::Owner { partition, owner } => {
                        put(&mut h, 1);
                        put(&mut h, u64::from(partition));
                        put(&mut h, owner.map_or(u64::MAX, u64::from));
                    }
                }
            }
        }
        put(&mut h, u64::from(self.keys.partitions));
        put(&mut h, self.keys.partition.len() as u64);
        let mut i = 0;
        while i < self.keys.partition.len() {
            let pair = &self.keys.partition[i..(i + 2).min(self.keys.partition.len())];
            let hi = pair.get(1).map_or(0, |&p| u64::from(p) << 32);
            put(&mut h, hi | u64::from(pair[0]));
            i += 2;
        }
        put(&mut h, self.keys.hot.len() as u64);
        for &k in &self.keys.hot {
            put(&mut h, u64::from(k));
        }
        // Likewise only when present.
        if !self.poison.is_empty() {
            put(&mut h, self.poison.len() as u64);
            for id in &self.poison {
                put(&mut h, ((id.producer as u64) << 32) | id.seq as u64);
            }
        }
        if !self.stages.is_empty() {
            put(&mut h, self.stages.len() as u64);
            for name in &self.stages {
                put(&mut h, name.len() as u64);
                h.update(name.as_bytes());
            }
        }
        put(&mut h, self.load_end_us);
        put(&mut h, self.end_us);
        h.finish().to_hex()[..16].to_string()
    }
}

/// blake3 fed in 16 KiB chunks: the hash of a byte stream does not depend on
/// how it is split, but blake3's cost per `update` call made hashing field by
/// field (8 bytes at a time) a tenth of a simple run's wall time.
struct Buffered {
    hasher: blake3::Hasher,
    buf: Vec<u8>,
}

impl Default for Buffered {
    fn default() -> Self {
        Buffered {
            hasher: blake3::Hasher::new(),
            buf: Vec::with_capacity(Self::CHUNK),
        }
    }
}

impl Buffered {
    const CHUNK: usize = 16 * 1024;

    fn update(&mut self, bytes: &[u8]) {
        if self.buf.len() + bytes.len() > Self::CHUNK {
            self.hasher.update(&self.buf);
            self.buf.clear();
        }
        self.buf.extend_from_slice(bytes);
    }

    fn finish(mut self) -> blake3::Hash {
        self.hasher.update(&self.buf);
        self.hasher.finalize()
    }
}

//! The protocol between actors: length-prefixed postcard frames over turmoil
//! TCP. Between clients and brokers: one request, one response, in order on
//! a connection; a timed-out connection is dropped, so a late answer can
//! never be taken for a newer one. Between a consumer and a store node:
//! requests tagged with ids on one shared connection, answered in any order
//! (`mux`).

use harness::scenario::Role;
use harness::MsgId;
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::io;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Port a broker listens on.
pub const BROKER_PORT: u16 = 9092;
/// Port a store node listens on.
pub const STORE_PORT: u16 = 7000;
/// Port the controller listens on.
pub const CONTROLLER_PORT: u16 = 2181;
/// The port a host of `role` listens on (clients have none).
pub fn port_of(role: Role) -> u16 {
    match role {
        Role::Broker | Role::Buffer => BROKER_PORT,
        Role::Store => STORE_PORT,
        Role::Controller => CONTROLLER_PORT,
        Role::Producer | Role::Consumer | Role::Relay => 0,
    }
}

/// Largest frame accepted; a bigger length prefix means a corrupt stream.
const FRAME_MAX: usize = 8 << 20;

/// A message as producers send it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub id: MsgId,
    pub key: u32,
    pub partition: u32,
}

/// Records for one partition in one produce request. An idempotent
/// producer numbers them: `pid` (0 = plain producer) and the sequence of the
/// first record; the batch is re-sent unchanged on retry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    pub partition: u32,
    pub records: Vec<Record>,
    pub pid: u64,
    pub first_seq: u32,
}

/// A record read back from a partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fetched {
    pub offset: u64,
    pub id: MsgId,
    pub key: u32,
    /// When the leader appended it: a lag policy bounds the age of the
    /// oldest record not yet consumed.
    pub append_us: u64,
}

/// A partition's leadership as the controller decided it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionState {
    /// None: offline (no eligible replica is alive).
    pub leader: Option<u32>,
    /// Bumped at every leader change; fences requests of older leaders.
    pub epoch: u32,
    /// In-sync replicas (the leader included while it has one).
    pub isr: Vec<u32>,
    /// Bumped at every change of `isr`, so a leader never replaces a newer
    /// in-sync set with an older one it hears later.
    pub isr_version: u32,
    /// Every replica, preferred leader first.
    pub replicas: Vec<u32>,
}

/// A consumer-group member: consumer index and incarnation.
pub type MemberId = (u32, u64);

/// The outcome of one batch of a produce request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BatchResult {
    /// Appended (and replicated as `acks` asks); also a duplicate of a batch
    /// an idempotent producer already had appended.
    Ok,
    /// This broker does not lead the partition (refresh metadata, retry).
    NotLeader,
    /// `acks = all` and the in-sync set is smaller than `min_insync`:
    /// refused, not appended.
    NotEnoughReplicas,
    /// Appended and replicated to the in-sync set, but that set shrank
    /// below `min_insync` meanwhile (Kafka's
    /// NOT_ENOUGH_REPLICAS_AFTER_APPEND): it may well survive.
    NotEnoughReplicasAfterAppend,
    /// Appended, but this broker stopped leading before the high watermark
    /// passed it: it may or may not survive (Kafka answers
    /// NOT_LEADER_OR_FOLLOWER here too; the outcome is indeterminate).
    LeadershipLost,
    /// Refused, not appended: the partition's consumers are too far behind
    /// (`circuit_breaker` policy). A definite answer: the producer is told.
    Overloaded,
    /// Not appended yet: the partition's consumers are too far behind
    /// (`backpressure` policy), or a full queue blocks publishers
    /// (`overflow = "block"`); send the batch again later.
    Throttled,
    /// Refused, not appended: the queue is full (`overflow = "reject_new"`).
    QueueFull,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Producer → partition leaders. With `acks = 0` the broker never answers.
    Produce {
        batches: Vec<Batch>,
    },
    /// Consumer → partition leader: records below the high watermark.
    Fetch {
        partition: u32,
        offset: u64,
        max: u32,
    },
    /// Follower → leader, one fetch session (as Kafka's replica fetcher):
    /// every partition the follower copies from this leader, each from its
    /// own offset. The leader answers as soon as one of them has something
    /// to say, or after a long poll.
    ReplicaFetch {
        replica: u32,
        /// The follower's incarnation: a restarted follower's position
        /// starts afresh at the leader.
        incarnation: u64,
        parts: Vec<FetchPart>,
        /// Most records per partition.
        max: u32,
        /// Most records in the whole answer (spread in `parts` order, which
        /// the follower rotates from one request to the next).
        total: u32,
    },
    /// Client → any broker: who leads what, as that broker last heard.
    Metadata,
    /// Broker → controller, every third of the session timeout.
    BrokerHeartbeat {
        broker: u32,
        incarnation: u64,
    },
    /// Leader → controller: change a partition's in-sync set.
    AlterIsr {
        partition: u32,
        leader: u32,
        epoch: u32,
        isr: Vec<u32>,
    },
    /// Consumer → group coordinator (the controller): join or stay,
    /// listing the partitions the member's workers still run.
    GroupHeartbeat {
        group: String,
        member: MemberId,
        running: Vec<u32>,
    },
    /// `seq` orders one member incarnation's commits.
    Commit {
        group: String,
        member: MemberId,
        partition: u32,
        offset: u64,
        seq: u64,
    },
    OffsetFetch {
        group: String,
        partitions: Vec<u32>,
    },
    /// Consumer → store: apply a message's effect (a write).
    Apply {
        id: MsgId,
        key: u32,
    },
    /// Consumer → store: read a key (a fan-out worker's lookup).
    Read {
        key: u32,
    },
    /// Queue consumer → queue master: up to `max` messages (long poll).
    Receive {
        queue: u32,
        max: u32,
    },
    /// Queue consumer → queue master: delete the acked deliveries, hand
    /// back the nacked ones after their delay (microseconds).
    Settle {
        queue: u32,
        acks: Vec<Receipt>,
        nacks: Vec<(Receipt, u64)>,
    },
    /// Queue node → queue node: liveness, and who the sender follows.
    NodePing {
        node: u32,
    },
    /// Queue master → a mirror: operations `first..first + ops.len()` of
    /// the master's op log in `epoch`.
    Mirror {
        from: u32,
        epoch: u64,
        first: u64,
        ops: Vec<QueueOp>,
    },
    /// Queue node → its master: everything it holds, to start mirroring it.
    Snapshot,
    /// Relay → a queue node: how many messages do you hold?
    Depth,
    /// Consumer → store: apply a message's effect unless some copy has
    /// already applied that id (an idempotent write keyed by the id).
    /// Last, so the other requests' encodings stay as they were.
    ApplyOnce {
        id: MsgId,
        key: u32,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    /// One result per batch, in request order.
    Produced {
        results: Vec<BatchResult>,
    },
    Records {
        records: Vec<Fetched>,
        high_watermark: u64,
    },
    /// The offset is outside the log (retention deleted it, or the log lost
    /// its tail): `auto_offset_reset` decides where to go.
    OutOfRange {
        log_start: u64,
        log_end: u64,
    },
    NotLeader,
    ReplicaRecords {
        /// Exactly as the leader stores them (epoch and producer ids included).
        records: Vec<Stored>,
        high_watermark: u64,
        log_start: u64,
    },
    /// The follower's log diverges: the leader's largest epoch at most the
    /// follower's last (None: the leader has none) and where it ends.
    Diverged {
        epoch: Option<u32>,
        end_offset: u64,
    },
    /// The answer to a fetch session: one answer per partition asked for,
    /// in the request's order (`ReplicaRecords`, `Diverged`, `OutOfRange`
    /// or `NotLeader`).
    ReplicaFetched {
        parts: Vec<Response>,
    },
    Metadata {
        partitions: Vec<PartitionState>,
    },
    /// The controller's state for a broker: every partition, and the
    /// group's committed offsets (for retention's drop records).
    Cluster {
        partitions: Vec<PartitionState>,
        committed: Vec<Option<u64>>,
    },
    /// The partition's state after an AlterIsr (changed or not).
    Partition {
        state: PartitionState,
        changed: bool,
    },
    /// The partitions the member may run; `settled = false` while the
    /// group is forming or some partition of the member's target is still
    /// held by its previous owner (the member should ask again soon).
    Group {
        generation: u64,
        partitions: Vec<u32>,
        settled: bool,
    },
    /// `accepted = false`: the member does not own the partition (it moved
    /// in a rebalance, or the member's session expired): fenced.
    Committed {
        accepted: bool,
    },
    /// Committed offset per requested partition; None = the group never committed.
    Offsets {
        offsets: Vec<Option<u64>>,
    },
    Applied,
    /// The key was read.
    Read,
    Received {
        deliveries: Vec<Delivery>,
    },
    Settled,
    NodePong {
        node: u32,
        /// The master this node follows (itself included), if any.
        master: Option<u32>,
        epoch: u64,
        /// Length of its master's op log it holds (Raft's "up to date").
        ops: u64,
        /// It sees no majority and has stopped serving.
        paused: bool,
        /// It hears from its master (or is master and serving).
        master_up: bool,
        /// Its incarnation: a changed one means it restarted (lost its
        /// deliveries, maybe unsynced writes).
        incarnation: u64,
        /// It holds its master's contents (not starting, not resyncing).
        synced: bool,
    },
    /// `ok = false`: not a mirror of this master in this epoch, or a gap
    /// in the ops (the mirror then resyncs from a snapshot).
    Mirrored {
        ok: bool,
    },
    QueueSnapshot {
        epoch: u64,
        /// The master's op log length the snapshot reflects.
        ops: u64,
        queues: Vec<QueueImage>,
        /// The master's incarnation: a later restart of it is news.
        incarnation: u64,
    },
    /// The node's memory alarm blocks this connection
    /// (`memory_alarm = "block_all"`): nothing was done; try again.
    Blocked,
    /// A queue node that serves: how many messages it holds (every queue,
    /// its dead letters included), for a relay's `max_depth`.
    Depth {
        messages: u64,
    },
}

/// One partition of a follower's fetch session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchPart {
    pub partition: u32,
    /// The epoch the follower believes the leader leads in; a leader in
    /// another epoch answers NotLeader for this partition.
    pub leader_epoch: u32,
    /// The follower's log end: where it wants records from.
    pub offset: u64,
    /// The epoch of the follower's last record, so the leader can tell it
    /// where their logs diverge.
    pub last_epoch: Option<u32>,
}

/// A record as a broker holds it in memory, and as a follower copies it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stored {
    pub offset: u64,
    pub id: MsgId,
    pub key: u32,
    pub append_us: u64,
    /// Leader epoch under which the record was first appended; how replicas
    /// find where their logs diverge after a leader change.
    pub epoch: u32,
    /// Idempotent producer id (0 = a plain producer) and its per-partition
    /// sequence number: what a new leader rebuilds de-duplication from.
    pub pid: u64,
    pub pseq: u32,
}

/// A message as the queue holds it (and as mirrors copy it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QMsg {
    /// Position in the queue: arrival order, never reused.
    pub seq: u64,
    pub id: MsgId,
    pub key: u32,
    pub append_us: u64,
}

/// A message handed to a consumer. `receipt` names this delivery: an ack
/// or nack with an older receipt (the message was redelivered since) is
/// ignored, as SQS ignores a stale receipt handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub msg: QMsg,
    /// How many times the message has been received, this time included.
    pub receives: u32,
    pub receipt: Receipt,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub seq: u64,
    pub receives: u32,
    /// The master's epoch when it delivered (set by the node): a receipt
    /// of another master, or of an earlier incarnation whose seqs may have
    /// been reused, deletes nothing.
    pub epoch: u64,
}

/// One change to a queue, journaled by the node and shipped to its mirrors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueueOp {
    Add {
        queue: u32,
        msg: QMsg,
    },
    Remove {
        queue: u32,
        seq: u64,
    },
    ToDlq {
        queue: u32,
        seq: u64,
    },
    FromDlq {
        queue: u32,
        seq: u64,
    },
    /// Journal only (never shipped): from here on the node holds its
    /// master's log of `epoch` up to `ops`; each later op adds one.
    Epoch {
        epoch: u64,
        ops: u64,
    },
}

/// A queue's whole contents, for a mirror's resync.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueImage {
    pub messages: Vec<QMsg>,
    pub dead_letters: Vec<QMsg>,
    pub next_seq: u64,
}

thread_local! {
    /// A frame's bytes on their way to the socket (which copies them): kept
    /// for the next frame, so sending one allocates nothing here.
    static FRAME: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
    /// A frame's body as it is read, kept for the next frame.
    static BODY: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Lets postcard serialize onto the end of a borrowed buffer.
struct Append<'a>(&'a mut Vec<u8>);

impl Extend<u8> for Append<'_> {
    fn extend<I: IntoIterator<Item = u8>>(&mut self, bytes: I) {
        self.0.extend(bytes);
    }
}

/// Appends `msg` to `buf` as one frame: its length, then its postcard body.
pub fn encode_frame<T: Serialize>(buf: &mut Vec<u8>, msg: &T) -> io::Result<()> {
    let start = buf.len();
    buf.extend_from_slice(&[0; 4]);
    if let Err(e) = postcard::to_extend(msg, Append(buf)) {
        buf.truncate(start);
        return Err(io::Error::other(e));
    }
    let len = (buf.len() - start - 4) as u32;
    buf[start..start + 4].copy_from_slice(&len.to_le_bytes());
    Ok(())
}

pub async fn write_frame<T: Serialize, W: AsyncWrite + Unpin>(
    stream: &mut W,
    msg: &T,
) -> io::Result<()> {
    // The buffer is taken, not borrowed, across the write: a task that
    // sends meanwhile takes an empty one.
    let mut frame = FRAME.take();
    frame.clear();
    encode_frame(&mut frame, msg)?;
    let sent = stream.write_all(&frame).await;
    // A rare huge frame (a queue image) is not kept.
    if frame.capacity() <= 64 * 1024 {
        FRAME.set(frame);
    }
    sent
}

pub async fn read_frame<T: for<'de> Deserialize<'de>, R: AsyncRead + Unpin>(
    stream: &mut R,
) -> io::Result<T> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).await?;
    let len = u32::from_le_bytes(len) as usize;
    if len > FRAME_MAX {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes is over the {FRAME_MAX}-byte limit"),
        ));
    }
    // A kept buffer, never shrunk: its old bytes are overwritten, not
    // zeroed first (taken, not borrowed, across the read, as in
    // `write_frame`).
    let mut body = BODY.take();
    if body.len() < len {
        body.resize(len, 0);
    }
    let read = stream.read_exact(&mut body[..len]).await;
    let decoded = read.and_then(|_| {
        postcard::from_bytes(&body[..len])
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    });
    if body.len() <= 64 * 1024 {
        BODY.set(body);
    }
    decoded
}

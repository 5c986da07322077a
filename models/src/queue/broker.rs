//! A classic queue node (RabbitMQ / SQS-like). Each node holds a copy of
//! every queue; one node, the *master* as the nodes agree among themselves,
//! serves publishers and consumers and ships every change (its op log) to
//! the others, its mirrors. Queue rules live in `rules.rs`; this module owns
//! the network, the journal on disk, mirroring and what nodes do when the
//! network splits them:
//!
//! - liveness: nodes ping each other; a peer unheard for
//!   `broker.session_timeout` (RabbitMQ's net_ticktime) is down;
//! - `pause_minority`: a node that sees no majority stops serving until it
//!   does, then takes the majority master's contents;
//! - `autoheal`: every side keeps serving, electing its own master; when
//!   they meet again the smaller side's nodes take the larger side's
//!   contents, discarding their own — acknowledged messages included
//!   (Jepsen, "RabbitMQ", 2014);
//! - `quorum` queues: the leader confirms a publish once a majority holds
//!   it and serves only while it sees a majority; a new leader is the most
//!   up-to-date node (Raft's rule), so nothing confirmed is lost.
//!
//! A classic master confirms (`acks = all`) once every mirror it still
//! considers up has the message; a mirror it cannot reach holds confirms
//! back until it is declared down. A new master knows nothing of its
//! predecessor's deliveries: every message it holds is delivered again.

use crate::common::link::{Link, Route};
use crate::common::server::{self, Connection};
use crate::common::wire::{Batch, BatchResult, PartitionState, Request, Response};
use crate::common::wire::{QMsg, QueueImage, QueueOp, Receipt};
use crate::queue::journal::JournalFile;
use crate::queue::rules::{Queue, Rules};
use harness::model::{HostEnv, Recorder};
use harness::scenario::{
    Acks, Fsync, Host, MemoryAlarm, Overflow, PartitionHandling, QueueType, Role, Scenario,
};
use harness::{EventKind, Reason};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;
use std::io;
use std::rc::{Rc, Weak};
use std::time::Duration;
use tokio::sync::Notify;

/// How often a node pings each peer and re-evaluates who is master.
const PING: Duration = Duration::from_millis(100);
/// How long a starting node listens for a master before electing one.
const STARTUP_GRACE: Duration = Duration::from_millis(300);
/// How long a receive with nothing to deliver waits for a publish.
const LONG_POLL: Duration = Duration::from_millis(100);
/// Most ops one mirror message carries.
const MIRROR_MAX: usize = 2_000;
/// Pause of a background task with nothing to do.
const IDLE: Duration = Duration::from_millis(20);
/// Op log length at which a master trims what its mirrors hold.
const LOG_TRIM: usize = 16_384;
/// Journal records beyond which a sync rewrites the journal as the current
/// state, when that is less than a quarter of it.
const JOURNAL_COMPACT: u64 = 50_000;

pub type QueueSlot = Rc<RefCell<Weak<RefCell<Node>>>>;

/// A peer as this node last heard of it.
#[derive(Clone, Copy, Debug, Default)]
struct Peer {
    last_seen: Option<Duration>,
    master: Option<u32>,
    epoch: u64,
    ops: u64,
    paused: bool,
    master_up: bool,
    synced: bool,
}

/// One node incarnation's state.
pub struct Node {
    pub id: u32,
    nodes: u32,
    pub queues: Vec<Queue>,
    journal: JournalFile,
    /// The master this node follows (itself when it is master).
    pub master: Option<u32>,
    pub epoch: u64,
    /// As master: its op log in this epoch from op `log_base` on (a prefix
    /// every mirror holds is trimmed). As mirror: how many of its master's
    /// ops it has applied (`ops`).
    log: Vec<QueueOp>,
    log_base: u64,
    pub ops: u64,
    incarnation: u64,
    /// Records in the journal, for compaction.
    journal_records: u64,
    /// Its master restarted (a new incarnation answered): elect anew.
    master_lost: bool,
    /// The incarnation of `master` this node last synced from (None until
    /// it has): a pong from another incarnation means it restarted since.
    synced_incarnation: Option<u64>,
    /// Sees no majority (`pause_minority`, quorum queues): serves nothing.
    pub paused: bool,
    peers: Vec<Peer>,
    /// As master: ops each peer confirmed holding.
    confirmed: Vec<u64>,
    /// A mirror that must take its master's whole contents before mirroring.
    needs_sync: bool,
    started: Duration,
    /// Woken at every publish (long-polling receives wait on it).
    published: Rc<Notify>,
    /// Woken when a mirror confirms ops or the view changes.
    changed: Rc<Notify>,
}

impl Node {
    fn recover(id: u32, incarnation: u64, sc: &Scenario) -> io::Result<Node> {
        let (journal, records) = JournalFile::recover("/queue.journal")?;
        let mut queues: Vec<Queue> = (0..sc.topology.partitions)
            .map(|_| Queue::default())
            .collect();
        let (mut epoch, mut ops) = (0, 0);
        let journal_records = records.len() as u64;
        for op in records {
            if let QueueOp::Epoch { epoch: e, ops: o } = op {
                (epoch, ops) = (e, o);
            } else {
                apply(&mut queues, &op);
                ops += 1;
            }
        }
        let nodes = sc.topology.brokers;
        if nodes == 1 {
            // Alone, it is master at once, in an epoch of its incarnation.
            epoch = incarnation;
        }
        Ok(Node {
            id,
            nodes,
            queues,
            journal,
            master: (nodes == 1).then_some(0),
            epoch,
            log: Vec::new(),
            log_base: 0,
            ops,
            incarnation,
            journal_records,
            master_lost: false,
            synced_incarnation: None,
            paused: false,
            peers: vec![Peer::default(); nodes as usize],
            confirmed: vec![0; nodes as usize],
            needs_sync: false,
            started: turmoil::elapsed(),
            published: Rc::new(Notify::new()),
            changed: Rc::new(Notify::new()),
        })
    }

    /// Serving as master now.
    /// Messages this node holds in memory: every queue's (ready, in
    /// flight, delayed) and its dead letters.
    pub fn memory_used(&self) -> u64 {
        (self.queues.iter())
            .map(|q| (q.len() + q.dlq_len()) as u64)
            .sum()
    }

    pub fn serving(&self) -> bool {
        self.master == Some(self.id) && !self.paused
    }

    /// Applies `op` as master, then logs it.
    fn commit(&mut self, op: QueueOp) {
        apply(&mut self.queues, &op);
        self.logged(op);
    }

    /// Journals an op already applied to the queues, and puts it in the op
    /// log for the mirrors.
    fn logged(&mut self, op: QueueOp) {
        self.journal.append(&op);
        self.journal_records += 1;
        if self.nodes > 1 {
            self.log.push(op);
            if self.log.len() >= LOG_TRIM {
                self.trim_log();
            }
        }
        self.ops += 1;
    }

    /// Drops the op log's prefix every mirror of this epoch holds; a
    /// mirror further behind gets a gap and resyncs from a snapshot.
    fn trim_log(&mut self) {
        let held = (0..self.nodes)
            .filter(|&p| p != self.id)
            .map(|p| self.confirmed[p as usize])
            .min()
            .unwrap_or(self.ops)
            .max(self.ops.saturating_sub(LOG_TRIM as u64 / 2));
        let cut = held.saturating_sub(self.log_base) as usize;
        if cut > 0 {
            self.log.drain(..cut.min(self.log.len()));
            self.log_base += cut as u64;
        }
    }

    /// Journals a fresh copy of the current state, durably.
    fn write_state(&mut self) -> io::Result<()> {
        self.journal.clear()?;
        self.journal_records = 0;
        for (i, q) in self.queues.iter().enumerate() {
            let queue = i as u32;
            for &msg in q.messages() {
                self.journal.append(&QueueOp::Add { queue, msg });
                self.journal_records += 1;
            }
            for &msg in q.dead_letters() {
                self.journal.append(&QueueOp::Add { queue, msg });
                self.journal.append(&QueueOp::ToDlq {
                    queue,
                    seq: msg.seq,
                });
                self.journal_records += 2;
            }
        }
        let (epoch, ops) = (self.epoch, self.ops);
        self.journal.append(&QueueOp::Epoch { epoch, ops });
        self.journal_records += 1;
        self.journal.0.sync()
    }

    /// Syncs the journal, rewriting it first when it is mostly history.
    fn sync(&mut self) -> io::Result<()> {
        let held: u64 = self
            .queues
            .iter()
            .map(|q| (q.len() + 2 * q.dlq_len()) as u64)
            .sum();
        if self.journal_records > JOURNAL_COMPACT && self.journal_records > 4 * held {
            return self.write_state();
        }
        self.journal.0.sync()
    }

    fn up(&self, p: u32, now: Duration, timeout: Duration) -> bool {
        p == self.id
            || self.peers[p as usize]
                .last_seen
                .is_some_and(|t| now.saturating_sub(t) < timeout)
    }

    fn promote(&mut self) {
        // Epochs are unique per node (`k · nodes + id`), so two masters
        // never share one.
        let top = self.peers.iter().map(|p| p.epoch).max().unwrap_or(0);
        let n = u64::from(self.nodes);
        self.epoch = (self.epoch.max(top) / n + 1) * n + u64::from(self.id);
        self.master = Some(self.id);
        self.log.clear();
        self.log_base = 0;
        self.ops = 0;
        self.master_lost = false;
        self.journal.append(&QueueOp::Epoch {
            epoch: self.epoch,
            ops: 0,
        });
        self.journal_records += 1;
        self.confirmed = vec![0; self.nodes as usize];
        self.needs_sync = false;
        for q in &mut self.queues {
            q.reset_deliveries();
        }
        self.changed.notify_waiters();
    }

    /// Follows `m`, to resync from it; told to follow itself (its peers
    /// still follow it, say after it restarted), it takes over anew.
    fn follow(&mut self, m: u32) {
        if m == self.id {
            if self.master != Some(m) {
                self.promote();
            }
            return;
        }
        if self.master != Some(m) {
            self.master = Some(m);
            self.needs_sync = true;
            // What it knew of the master it followed before is no news
            // about this one, which it syncs from as it is now.
            self.master_lost = false;
            self.synced_incarnation = None;
            self.log.clear();
            self.changed.notify_waiters();
        }
    }

    /// Who is master, as this node now sees the cluster (every `PING`).
    fn evaluate(&mut self, now: Duration, sc: &Scenario) {
        let timeout = sc.broker.session_timeout;
        let q = &sc.broker.queue;
        let up: Vec<u32> = (0..self.nodes)
            .filter(|&p| self.up(p, now, timeout))
            .collect();
        let majority = 2 * up.len() > self.nodes as usize;
        let pausing = q.queue_type == QueueType::Quorum
            || q.partition_handling == PartitionHandling::PauseMinority;
        if pausing {
            if !majority {
                if !self.paused {
                    self.paused = true;
                    self.changed.notify_waiters();
                }
                return;
            }
            if self.paused {
                self.paused = false;
                // Rejoin: the majority's master, whatever this node held.
                self.master = None;
                if let Some(m) = self.reported_master(&up) {
                    self.follow(m);
                }
                return;
            }
        }
        let claimed = self.claimed_master(&up);
        match self.master {
            Some(m) if m == self.id => {
                let Some(other) = claimed.filter(|&o| o != self.id) else {
                    return;
                };
                let yields = if pausing {
                    let o = self.peers[other as usize];
                    (o.epoch, std::cmp::Reverse(other)) > (self.epoch, std::cmp::Reverse(self.id))
                } else {
                    // autoheal: the side with more nodes wins, then the
                    // lower master; the loser takes the winner's contents.
                    let side = |m: u32| {
                        up.iter()
                            .filter(|&&p| {
                                if p == self.id {
                                    self.master == Some(m)
                                } else {
                                    self.peers[p as usize].master == Some(m)
                                }
                            })
                            .count()
                    };
                    (side(other), std::cmp::Reverse(other))
                        > (side(self.id), std::cmp::Reverse(self.id))
                };
                if yields {
                    self.follow(other);
                }
            }
            Some(m) => {
                let seen = self.peers[m as usize];
                let alive = up.contains(&m) && !seen.paused;
                if std::mem::take(&mut self.master_lost) {
                    // It restarted: what it held may be gone, and it knows
                    // nothing of its deliveries. Elect among the synced;
                    // what this node synced from is gone, so if it stays
                    // with the new incarnation it syncs from it again.
                    self.synced_incarnation = None;
                    self.needs_sync = true;
                    self.elect(&up, sc);
                    return;
                }
                if alive && seen.master == Some(m) && seen.epoch != self.epoch {
                    // It leads a newer epoch than this node mirrors.
                    self.needs_sync = true;
                }
                if alive {
                    // Its master follows someone else now: so does it.
                    if let Some(mm) = seen
                        .master
                        .filter(|&mm| mm != m && seen.last_seen.is_some())
                    {
                        if mm == self.id {
                            self.elect(&up, sc);
                        } else {
                            self.follow(mm);
                        }
                    }
                } else if let Some(c) = self.reported_master(&up).filter(|&c| c != m) {
                    self.follow(c);
                } else if up.iter().any(|&p| {
                    let peer = self.peers[p as usize];
                    p != self.id && peer.master == Some(m) && peer.master_up
                }) {
                    // Others still hear from it: the link to it is what failed.
                } else if seen
                    .last_seen
                    .is_none_or(|t| now.saturating_sub(t) >= timeout)
                    || seen.paused
                {
                    self.elect(&up, sc);
                }
            }
            None => {
                let waited = now.saturating_sub(self.started);
                match self.reported_master(&up) {
                    // Peers still follow this node's previous incarnation:
                    // it cannot take over blindly (it lost its deliveries
                    // and perhaps unsynced writes), so it elects like
                    // them — a synced peer for a classic queue, the most
                    // up-to-date node (perhaps itself) for a quorum queue.
                    Some(c) if c == self.id => self.elect(&up, sc),
                    Some(c) => self.follow(c),
                    None if waited >= STARTUP_GRACE => self.elect(&up, sc),
                    None => {}
                }
            }
        }
    }

    /// The master claimed by the up, serving peers (a peer that follows
    /// itself), the newest epoch first.
    fn claimed_master(&self, up: &[u32]) -> Option<u32> {
        up.iter()
            .copied()
            .filter(|&p| p != self.id)
            .filter(|&p| {
                let peer = self.peers[p as usize];
                peer.master == Some(p) && !peer.paused
            })
            .max_by_key(|&p| (self.peers[p as usize].epoch, std::cmp::Reverse(p)))
    }

    /// Whether this node hears from its master (or serves as master).
    fn master_up(&self, now: Duration, timeout: Duration) -> bool {
        match self.master {
            Some(m) if m == self.id => !self.paused,
            Some(m) => self.up(m, now, timeout) && !self.peers[m as usize].paused,
            None => false,
        }
    }

    /// The master the up, serving peers follow (themselves or another),
    /// the newest epoch first: a rejoining or starting node takes the
    /// cluster's master rather than electing one of its own.
    fn reported_master(&self, up: &[u32]) -> Option<u32> {
        up.iter()
            .copied()
            .filter(|&p| p != self.id)
            .filter_map(|p| {
                let peer = self.peers[p as usize];
                let m = peer.master.filter(|_| !peer.paused)?;
                Some((peer.epoch, std::cmp::Reverse(m)))
            })
            .max()
            .map(|(_, std::cmp::Reverse(m))| m)
    }

    /// Picks a master. A classic queue promotes its lowest-numbered synced
    /// node (the oldest mirror, holding the master's contents or not —
    /// RabbitMQ promotes unsynchronised mirrors too); when none is synced
    /// (all restarted), the lowest up node. A quorum queue takes the most
    /// up-to-date node (epoch, then ops held, paused ones included: if that
    /// node is paused, nobody is elected until it rejoins).
    fn elect(&mut self, up: &[u32], sc: &Scenario) {
        let chosen = if sc.broker.queue.queue_type == QueueType::Quorum {
            let state = |p: u32| {
                if p == self.id {
                    (self.epoch, self.ops)
                } else {
                    let peer = self.peers[p as usize];
                    (peer.epoch, peer.ops)
                }
            };
            let best = up
                .iter()
                .copied()
                .max_by_key(|&p| (state(p), std::cmp::Reverse(p)));
            best.filter(|&p| p == self.id || !self.peers[p as usize].paused)
        } else {
            let serving = |p: u32| p == self.id || !self.peers[p as usize].paused;
            let synced = |p: u32| {
                if p == self.id {
                    self.master.is_some() && !self.needs_sync
                } else {
                    self.peers[p as usize].synced
                }
            };
            let candidates: Vec<u32> = up.iter().copied().filter(|&p| serving(p)).collect();
            (candidates.iter().copied().filter(|&p| synced(p)).min())
                .or_else(|| candidates.iter().copied().min())
        };
        match chosen {
            Some(c) if c == self.id => self.promote(),
            Some(c) => self.follow(c),
            None => {}
        }
    }

    /// Whether op `at` (an index into this master's log) is confirmed as
    /// `acks` and the queue type require.
    fn confirmed(&self, at: u64, sc: &Scenario, now: Duration) -> bool {
        let timeout = sc.broker.session_timeout;
        let holders = |p: u32| p == self.id || self.confirmed[p as usize] > at;
        let q = &sc.broker.queue;
        let pausing = q.queue_type == QueueType::Quorum
            || q.partition_handling == PartitionHandling::PauseMinority;
        let seen = (0..self.nodes)
            .filter(|&p| self.up(p, now, timeout))
            .count();
        if pausing && 2 * seen <= self.nodes as usize {
            // About to pause: a minority master confirms nothing.
            return false;
        }
        if sc.broker.queue.queue_type == QueueType::Quorum {
            let n = (0..self.nodes).filter(|&p| holders(p)).count();
            return 2 * n > self.nodes as usize;
        }
        if sc.broker.acks != Acks::All {
            return true;
        }
        (0..self.nodes)
            .all(|p| holders(p) || !self.up(p, now, timeout) || self.peers[p as usize].paused)
    }

    fn image(&self) -> Vec<QueueImage> {
        self.queues
            .iter()
            .map(|q| QueueImage {
                messages: q.messages().copied().collect(),
                dead_letters: q.dead_letters().copied().collect(),
                next_seq: q.next_seq,
            })
            .collect()
    }

    /// Replaces everything with a master's snapshot, durably.
    fn install(&mut self, epoch: u64, ops: u64, images: Vec<QueueImage>) -> io::Result<()> {
        let mut queues = Vec::with_capacity(images.len());
        for img in images {
            let mut q = Queue::default();
            for msg in img.messages {
                q.insert(msg);
            }
            for msg in img.dead_letters {
                q.insert(msg);
                q.dead_letter(msg.seq);
            }
            q.next_seq = q.next_seq.max(img.next_seq);
            queues.push(q);
        }
        self.queues = queues;
        self.epoch = epoch;
        self.ops = ops;
        self.needs_sync = false;
        self.write_state()
    }

    /// The partition table a client sees: every queue led by this node's
    /// master while it serves (None while it is paused or knows none).
    fn table(&self) -> Vec<PartitionState> {
        let leader = if self.paused { None } else { self.master };
        (0..self.queues.len())
            .map(|_| PartitionState {
                leader,
                epoch: self.epoch as u32,
                isr: Vec::new(),
                isr_version: 0,
                replicas: (0..self.nodes).collect(),
            })
            .collect()
    }
}

fn apply(queues: &mut [Queue], op: &QueueOp) {
    match *op {
        QueueOp::Add { queue, msg } => queues[queue as usize].insert(msg),
        QueueOp::Remove { queue, seq } => {
            queues[queue as usize].remove(seq);
        }
        QueueOp::ToDlq { queue, seq } => {
            queues[queue as usize].dead_letter(seq);
        }
        QueueOp::FromDlq { queue, seq } => {
            queues[queue as usize].take_dead_letter(seq);
        }
        QueueOp::Epoch { .. } => {}
    }
}

pub struct QueueBroker {
    pub env: HostEnv,
    pub slot: QueueSlot,
}

impl QueueBroker {
    fn name(&self) -> String {
        self.env.name()
    }

    /// Whether this node's memory alarm is on: it holds as many messages
    /// as it has memory for (the scenario's `memory_limit`, or less inside
    /// a `memory_pressure` window).
    fn memory_alarm(&self, n: &Node) -> bool {
        let limit = self
            .env
            .control
            .memory_limit(self.env.scenario.broker.queue.memory_limit);
        limit.is_some_and(|limit| n.memory_used() >= limit)
    }

    /// Whether the alarm blocks consumers now too (`memory_alarm = "block_all"`).
    fn consumers_blocked(&self, n: &Node) -> bool {
        self.env.scenario.broker.queue.memory_alarm == MemoryAlarm::BlockAll && self.memory_alarm(n)
    }

    fn rules(&self) -> Rules {
        let q = &self.env.scenario.broker.queue;
        Rules {
            visibility_us: q.visibility_timeout.as_micros() as u64,
            max_receives: q.max_receives,
            fifo: q.fifo,
        }
    }

    pub async fn run(self: Rc<Self>, incarnation: u64) -> turmoil::Result {
        let node = Rc::new(RefCell::new(Node::recover(
            self.env.index(),
            incarnation,
            &self.env.scenario,
        )?));
        *self.slot.borrow_mut() = Rc::downgrade(&node);
        let mut root = self.env.rng(incarnation);
        let sc = self.env.scenario.clone();
        let flush_every = match sc.broker.fsync {
            Fsync::PerBatch => None,
            Fsync::Interval(d) => Some(d),
            Fsync::Never => Some(sc.broker.writeback),
        };
        if let Some(period) = flush_every {
            tokio::task::spawn_local(self.clone().flusher(node.clone(), period));
        }
        // Redrives requested before this incarnation started are history.
        tokio::task::spawn_local(
            self.clone()
                .redriver(node.clone(), self.env.control.redrives()),
        );
        if let Some(ttl) = sc.broker.queue.message_ttl {
            tokio::task::spawn_local(self.clone().expirer(node.clone(), ttl));
        }
        if sc.topology.brokers > 1 {
            let routes: Rc<Vec<Rc<Route>>> =
                Rc::new((0..sc.topology.brokers).map(|_| Route::new()).collect());
            for p in (0..sc.topology.brokers).filter(|&p| p != self.env.index()) {
                let rng = ChaCha8Rng::seed_from_u64(root.next_u64());
                tokio::task::spawn_local(self.clone().pinger(node.clone(), p, routes.clone(), rng));
                let rng = ChaCha8Rng::seed_from_u64(root.next_u64());
                tokio::task::spawn_local(self.clone().mirror_to(
                    node.clone(),
                    p,
                    routes.clone(),
                    rng,
                ));
            }
            tokio::task::spawn_local(self.clone().evaluator(node.clone()));
            let rng = ChaCha8Rng::seed_from_u64(root.next_u64());
            tokio::task::spawn_local(self.clone().syncer(node.clone(), routes.clone(), rng));
        }
        server::listen(|| Conn {
            broker: self.clone(),
            node: node.clone(),
        })
        .await?;
        Ok(())
    }

    async fn flusher(self: Rc<Self>, node: Rc<RefCell<Node>>, period: Duration) {
        loop {
            turmoil::time::sleep(period).await;
            self.env.control.gate().await;
            let r = node.borrow_mut().sync();
            if let Err(e) = r {
                panic!("{}: disk error: {e}", self.name());
            }
        }
    }

    /// `message_ttl`: the master discards what expired at the head of each
    /// queue, every little while (and before each receive), freeing its
    /// memory even when nobody receives.
    async fn expirer(self: Rc<Self>, node: Rc<RefCell<Node>>, ttl: Duration) {
        loop {
            turmoil::time::sleep(IDLE).await;
            self.env.control.gate().await;
            let mut n = node.borrow_mut();
            if n.serving() {
                self.expire(&mut n, ttl);
            }
        }
    }

    /// Takes out every message whose time to live ran out at the head of
    /// a queue: into the dead-letter queue when there is one
    /// (`max_receives` set; recorded as `dead_letter`), else discarded
    /// (recorded as `drop`, reason `expired`).
    fn expire(&self, n: &mut Node, ttl: Duration) {
        let now = now_us();
        let at = Recorder::now_us();
        let dlq = self.env.scenario.broker.queue.max_receives.is_some();
        for queue in 0..n.queues.len() as u32 {
            let gone = n.queues[queue as usize].expire_ttl(now, ttl.as_micros() as u64, dlq);
            for (m, receives) in gone {
                let (op, kind) = if dlq {
                    let kind = EventKind::DeadLetter { attempts: receives };
                    (QueueOp::ToDlq { queue, seq: m.seq }, kind)
                } else {
                    let reason = Reason::Expired;
                    (
                        QueueOp::Remove { queue, seq: m.seq },
                        EventKind::Drop { reason },
                    )
                };
                n.logged(op);
                self.env.recorder.record_at(at, m.id, m.key, kind);
            }
        }
    }

    /// Serves each `redrive` the driver requests: the master moves every
    /// dead-lettered message back to its queue (a new append each).
    async fn redriver(self: Rc<Self>, node: Rc<RefCell<Node>>, mut served: u32) {
        loop {
            turmoil::time::sleep(IDLE).await;
            self.env.control.gate().await;
            let wanted = self.env.control.redrives();
            if wanted == served {
                continue;
            }
            let mut n = node.borrow_mut();
            if !n.serving() {
                // The master's job; a paused or starting master does it
                // once it serves.
                if n.master.is_some_and(|m| m != n.id) {
                    served = wanted;
                }
                continue;
            }
            served = wanted;
            let now_us = now_us();
            for queue in 0..n.queues.len() as u32 {
                let dead = n.queues[queue as usize].take_dlq();
                for m in dead {
                    n.logged(QueueOp::FromDlq { queue, seq: m.seq });
                    let seq = n.queues[queue as usize].next_seq;
                    let msg = QMsg {
                        seq,
                        id: m.id,
                        key: m.key,
                        append_us: now_us,
                    };
                    n.commit(QueueOp::Add { queue, msg });
                    self.env.recorder.record(
                        m.id,
                        m.key,
                        EventKind::Append {
                            partition: queue,
                            offset: seq,
                        },
                    );
                }
            }
            n.published.notify_waiters();
        }
    }

    async fn pinger(
        self: Rc<Self>,
        node: Rc<RefCell<Node>>,
        peer: u32,
        routes: Rc<Vec<Rc<Route>>>,
        mut rng: ChaCha8Rng,
    ) {
        let to = Host::new(Role::Broker, peer);
        let mut link = Link::new(to, routes[peer as usize].clone(), PING * 2);
        let me = self.env.index();
        loop {
            self.env.control.gate().await;
            if let Ok(Response::NodePong {
                node: from,
                master,
                epoch,
                ops,
                paused,
                master_up,
                incarnation,
                synced,
            }) = link.call(&mut rng, &Request::NodePing { node: me }).await
            {
                if from == peer {
                    let mut n = node.borrow_mut();
                    // Its master restarted since this node synced from it:
                    // what the master held may be gone. (Not merely since
                    // the last pong: a node that followed the new
                    // incarnation, told by another peer, and synced from it
                    // before this first pong must not act on old news —
                    // electing on a view older than its sync could put it
                    // over a master a majority confirmed with.)
                    if n.master == Some(peer)
                        && n.synced_incarnation.is_some_and(|s| s != incarnation)
                    {
                        n.master_lost = true;
                    }
                    n.peers[peer as usize] = Peer {
                        last_seen: Some(turmoil::elapsed()),
                        master,
                        epoch,
                        ops,
                        paused,
                        master_up,
                        synced,
                    };
                    // A mirror in this master's epoch holds what it says.
                    if n.master == Some(me) && master == Some(me) && epoch == n.epoch && synced {
                        let c = &mut n.confirmed[peer as usize];
                        *c = (*c).max(ops);
                        n.changed.notify_waiters();
                    }
                }
            }
            turmoil::time::sleep(PING).await;
        }
    }

    async fn evaluator(self: Rc<Self>, node: Rc<RefCell<Node>>) {
        loop {
            turmoil::time::sleep(PING).await;
            self.env.control.gate().await;
            let mut n = node.borrow_mut();
            let before = (n.master, n.paused, n.epoch);
            n.evaluate(turmoil::elapsed(), &self.env.scenario);
            if before != (n.master, n.paused, n.epoch) {
                n.changed.notify_waiters();
            }
        }
    }

    /// Ships this master's op log to one peer while the peer mirrors it.
    async fn mirror_to(
        self: Rc<Self>,
        node: Rc<RefCell<Node>>,
        peer: u32,
        routes: Rc<Vec<Rc<Route>>>,
        mut rng: ChaCha8Rng,
    ) {
        let to = Host::new(Role::Broker, peer);
        let timeout = self.env.scenario.workload.request_timeout.min(PING * 5);
        let mut link = Link::new(to, routes[peer as usize].clone(), timeout);
        loop {
            self.env.control.gate().await;
            let req = {
                let n = node.borrow();
                let p = n.peers[peer as usize];
                // A mirror behind the trimmed log gets a gap: it resyncs.
                let from = n.confirmed[peer as usize].max(n.log_base);
                let follows = p.master == Some(self.env.index()) && p.epoch == n.epoch;
                if !n.serving() || !follows || from >= n.ops {
                    None
                } else {
                    let at = (from - n.log_base) as usize;
                    let end = (at + MIRROR_MAX).min(n.log.len());
                    Some(Request::Mirror {
                        from: self.env.index(),
                        epoch: n.epoch,
                        first: from,
                        ops: n.log[at..end].to_vec(),
                    })
                }
            };
            let Some(req) = req else {
                let changed = node.borrow().changed.clone();
                let _ = turmoil::time::timeout(IDLE, changed.notified()).await;
                continue;
            };
            let (epoch, end) = match &req {
                Request::Mirror {
                    epoch, first, ops, ..
                } => (*epoch, first + ops.len() as u64),
                _ => unreachable!("built above"),
            };
            match link.call(&mut rng, &req).await {
                Ok(Response::Mirrored { ok: true }) => {
                    let mut n = node.borrow_mut();
                    if n.epoch == epoch {
                        let c = &mut n.confirmed[peer as usize];
                        *c = (*c).max(end);
                        n.changed.notify_waiters();
                    }
                }
                _ => turmoil::time::sleep(IDLE).await,
            }
        }
    }

    /// A mirror that must resync takes its master's snapshot.
    async fn syncer(
        self: Rc<Self>,
        node: Rc<RefCell<Node>>,
        routes: Rc<Vec<Rc<Route>>>,
        mut rng: ChaCha8Rng,
    ) {
        let timeout = self
            .env
            .scenario
            .workload
            .request_timeout
            .max(Duration::from_secs(1));
        let mut links = Link::to_each(Role::Broker, &routes, timeout);
        loop {
            turmoil::time::sleep(IDLE).await;
            self.env.control.gate().await;
            let target = {
                let n = node.borrow();
                match n.master {
                    Some(m) if n.needs_sync && m != self.env.index() && !n.paused => Some(m),
                    _ => None,
                }
            };
            let Some(m) = target else { continue };
            if let Ok(Response::QueueSnapshot {
                epoch,
                ops,
                queues,
                incarnation,
            }) = links[m as usize].call(&mut rng, &Request::Snapshot).await
            {
                let mut n = node.borrow_mut();
                if n.master == Some(m) && n.needs_sync && queues.len() == n.queues.len() {
                    n.synced_incarnation = Some(incarnation);
                    if let Err(e) = n.install(epoch, ops, queues) {
                        panic!("{}: disk error: {e}", self.name());
                    }
                    n.changed.notify_waiters();
                }
            }
        }
    }
}

/// One connection to the node.
struct Conn {
    broker: Rc<QueueBroker>,
    node: Rc<RefCell<Node>>,
}

impl Connection for Conn {
    fn env(&self) -> &HostEnv {
        &self.broker.env
    }

    async fn handle(&self, req: Request) -> io::Result<Option<Response>> {
        let sc = &self.broker.env.scenario;
        Ok(Some(match req {
            Request::Produce { batches } => {
                let results = self.publish(batches).await?;
                if sc.broker.acks == Acks::None {
                    return Ok(None);
                }
                Response::Produced { results }
            }
            Request::Metadata => Response::Metadata {
                partitions: self.node.borrow().table(),
            },
            Request::Receive { queue, max } => self.receive(queue, max).await,
            Request::Depth => {
                let n = self.node.borrow();
                if n.serving() {
                    Response::Depth {
                        messages: n.memory_used(),
                    }
                } else {
                    Response::NotLeader
                }
            }
            Request::Settle { queue, acks, nacks } => self.settle(queue, acks, nacks),
            Request::NodePing { .. } => {
                let n = self.node.borrow();
                Response::NodePong {
                    node: n.id,
                    master: n.master,
                    epoch: n.epoch,
                    ops: n.ops,
                    paused: n.paused,
                    master_up: n.master_up(turmoil::elapsed(), sc.broker.session_timeout),
                    incarnation: n.incarnation,
                    synced: n.master.is_some() && !n.needs_sync,
                }
            }
            Request::Mirror {
                from,
                epoch,
                first,
                ops,
            } => Response::Mirrored {
                ok: self.mirror(from, epoch, first, ops),
            },
            Request::Snapshot => {
                let n = self.node.borrow();
                if !n.serving() {
                    Response::NotLeader
                } else {
                    Response::QueueSnapshot {
                        epoch: n.epoch,
                        ops: n.ops,
                        queues: n.image(),
                        incarnation: n.incarnation,
                    }
                }
            }
            _ => return Ok(None),
        }))
    }
}

impl Conn {
    /// Appends what fits, syncs as `fsync` says, then waits for the
    /// mirrors or quorum the confirm needs.
    async fn publish(&self, batches: Vec<Batch>) -> io::Result<Vec<BatchResult>> {
        let sc = &self.broker.env.scenario;
        let q = &sc.broker.queue;
        let mut results = Vec::with_capacity(batches.len());
        let (epoch, last) = {
            let mut n = self.node.borrow_mut();
            if !n.serving() {
                return Ok(vec![BatchResult::NotLeader; batches.len()]);
            }
            let now = now_us();
            for b in &batches {
                let queue = b.partition as usize;
                if queue >= n.queues.len() {
                    results.push(BatchResult::NotLeader);
                    continue;
                }
                // The memory alarm holds publishers back until it clears.
                if self.broker.memory_alarm(&n) {
                    results.push(BatchResult::Throttled);
                    continue;
                }
                let len = n.queues[queue].len() as u64;
                let full = q
                    .max_length
                    .is_some_and(|max| len + b.records.len() as u64 > max);
                if full && q.overflow != Overflow::DropOldest {
                    results.push(match q.overflow {
                        Overflow::Block => BatchResult::Throttled,
                        _ => BatchResult::QueueFull,
                    });
                    continue;
                }
                for r in &b.records {
                    let seq = n.queues[queue].next_seq;
                    let msg = QMsg {
                        seq,
                        id: r.id,
                        key: r.key,
                        append_us: now,
                    };
                    n.commit(QueueOp::Add {
                        queue: b.partition,
                        msg,
                    });
                    self.broker.env.recorder.record(
                        r.id,
                        r.key,
                        EventKind::Append {
                            partition: b.partition,
                            offset: seq,
                        },
                    );
                }
                if let Some(max) = q.max_length.filter(|_| full) {
                    while n.queues[queue].len() as u64 > max {
                        let Some(seq) = n.queues[queue].oldest_visible() else {
                            break;
                        };
                        let m = n.queues[queue].remove(seq).expect("visible is held");
                        n.logged(QueueOp::Remove {
                            queue: b.partition,
                            seq,
                        });
                        let reason = Reason::Overflow;
                        self.broker
                            .env
                            .recorder
                            .record(m.id, m.key, EventKind::Drop { reason });
                    }
                }
                results.push(BatchResult::Ok);
            }
            n.published.notify_waiters();
            if sc.broker.fsync == Fsync::PerBatch {
                n.sync()?;
            }
            (n.epoch, n.ops)
        };
        if last == 0 || !results.contains(&BatchResult::Ok) || sc.broker.acks == Acks::None {
            return Ok(results);
        }
        // Wait for the mirrors (or a quorum); a master that stops serving
        // meanwhile cannot say whether the batch survives.
        loop {
            let changed = {
                let n = self.node.borrow();
                if !n.serving() || n.epoch != epoch {
                    for r in results.iter_mut().filter(|r| **r == BatchResult::Ok) {
                        *r = BatchResult::LeadershipLost;
                    }
                    return Ok(results);
                }
                if n.confirmed(last - 1, sc, turmoil::elapsed()) {
                    return Ok(results);
                }
                n.changed.clone()
            };
            let _ = turmoil::time::timeout(IDLE, changed.notified()).await;
        }
    }

    async fn receive(&self, queue: u32, max: u32) -> Response {
        let deadline = turmoil::elapsed() + LONG_POLL;
        loop {
            let published = {
                let mut n = self.node.borrow_mut();
                if !n.serving() || queue as usize >= n.queues.len() {
                    return Response::NotLeader;
                }
                if self.broker.consumers_blocked(&n) {
                    return Response::Blocked;
                }
                if let Some(ttl) = self.broker.env.scenario.broker.queue.message_ttl {
                    self.broker.expire(&mut n, ttl);
                }
                let got =
                    n.queues[queue as usize].receive(max as usize, now_us(), self.broker.rules());
                for (m, receives) in &got.dead_lettered {
                    n.logged(QueueOp::ToDlq { queue, seq: m.seq });
                    self.broker.env.recorder.record(
                        m.id,
                        m.key,
                        EventKind::DeadLetter {
                            attempts: *receives,
                        },
                    );
                }
                if !got.deliveries.is_empty() || turmoil::elapsed() >= deadline {
                    let mut deliveries = got.deliveries;
                    for d in &mut deliveries {
                        d.receipt.epoch = n.epoch;
                    }
                    return Response::Received { deliveries };
                }
                n.published.clone()
            };
            let wait = deadline.saturating_sub(turmoil::elapsed()).min(IDLE);
            let _ = turmoil::time::timeout(wait, published.notified()).await;
        }
    }

    fn settle(&self, queue: u32, acks: Vec<Receipt>, nacks: Vec<(Receipt, u64)>) -> Response {
        let mut n = self.node.borrow_mut();
        if !n.serving() || queue as usize >= n.queues.len() {
            return Response::NotLeader;
        }
        if self.broker.consumers_blocked(&n) {
            return Response::Blocked;
        }
        let now = now_us();
        let epoch = n.epoch;
        for r in acks.into_iter().filter(|r| r.epoch == epoch) {
            if let Some(m) = n.queues[queue as usize].ack(r) {
                n.logged(QueueOp::Remove { queue, seq: m.seq });
            }
        }
        for (r, delay) in nacks.into_iter().filter(|(r, _)| r.epoch == epoch) {
            n.queues[queue as usize].nack(r, delay, now);
        }
        Response::Settled
    }

    /// A master's ops, applied in order by a mirror.
    fn mirror(&self, from: u32, epoch: u64, first: u64, ops: Vec<QueueOp>) -> bool {
        let mut n = self.node.borrow_mut();
        if n.master != Some(from) || n.paused || n.needs_sync {
            return false;
        }
        if n.epoch != epoch || first > n.ops {
            n.needs_sync = true;
            return false;
        }
        let skip = (n.ops - first) as usize;
        for op in ops.into_iter().skip(skip) {
            n.journal.append(&op);
            n.journal_records += 1;
            apply(&mut n.queues, &op);
            n.ops += 1;
        }
        if self.broker.env.scenario.broker.fsync == Fsync::PerBatch {
            if let Err(e) = n.sync() {
                panic!("{}: disk error: {e}", self.broker.name());
            }
        }
        true
    }
}

fn now_us() -> u64 {
    turmoil::sim_elapsed().unwrap_or_default().as_micros() as u64
}

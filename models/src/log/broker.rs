//! A log broker of the cluster (Kafka-like). It holds a replica of every
//! partition assigned to it; for each it is, as the controller last told it
//! in a heartbeat answer, the leader (serving producers, consumers and
//! followers), a follower (copying from the leader), or neither (offline).
//!
//! One incarnation's logs are rebuilt from disk at start, so what a crash
//! loses is decided by what was synced (`files.rs`, over `common/disk.rs`), and a restarted
//! broker serves nothing until the controller has answered its first
//! heartbeat. Durability rules (truncation, high watermark, in-sync set)
//! are pure functions in `replica.rs`.

use crate::common::link::{Link, Route};
use crate::common::policy::{Admission, Lag, LagPolicy, PolicyFactory};
use crate::common::server::{self, Connection};
use crate::common::wire::Stored;
use crate::common::wire::{BatchResult, FetchPart, Fetched, PartitionState, Request, Response};
use crate::log::by_partition::ByPartition;
use crate::log::controller::replicas;
use crate::log::files::OffsetsFile;
use crate::log::replica::{Dedup, Leadership, Replica};
use crate::mutant::{self, Mutant};
use harness::model::{HostEnv, Recorder};
use harness::scenario::{Acks, Fsync, Host, Role, Scenario};
use harness::{EventKind, Reason};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::rc::{Rc, Weak};
use std::time::Duration;
use tokio::sync::Notify;

/// Most records a follower copies per fetch.
const REPLICA_FETCH_MAX: u32 = 2000;
/// Most records in one answer to a fetch session, all partitions together.
const SESSION_FETCH_MAX: u32 = 16_000;
/// How long a fetch with nothing to return waits for new data (Kafka's
/// `fetch.max.wait.ms` / `replica.fetch.wait.max.ms`, shortened).
pub const LONG_POLL: Duration = Duration::from_millis(100);
/// Pause of a follower with no leader to fetch from.
const NO_LEADER_POLL: Duration = Duration::from_millis(20);
/// How often retention runs.
const RETENTION_PERIOD: Duration = Duration::from_secs(1);

/// Heartbeat period for a session timeout: a third of it, and at most
/// 200 ms, because the answer also carries leadership changes (standing
/// for the controller's LeaderAndIsr push).
pub fn heartbeat_period(session_timeout: Duration) -> Duration {
    (session_timeout / 3).min(Duration::from_millis(200))
}

/// The state of one broker incarnation.
pub struct BrokerState {
    pub id: u32,
    /// The partitions this broker replicates.
    pub replicas: ByPartition<Replica>,
    /// The partition table as the controller last answered (None before).
    pub table: Option<Vec<PartitionState>>,
    /// The group's committed offsets as the controller last answered.
    committed: Vec<Option<u64>>,
    /// Partitions this broker leads in the table's current epoch.
    pub leading: ByPartition<Leadership>,
    log_starts: OffsetsFile,
    /// Per partition, woken at every append to it (long-polling fetches of
    /// it wait on it). Per partition, not per broker: a broker-wide signal
    /// woke every fetch of every partition at each append, and at scale
    /// (hundreds of partitions, two replica fetches and a consumer fetch
    /// each) that was most of a broker's work.
    appended: Vec<Rc<Notify>>,
    /// Per partition, woken when its high watermark moves or leadership
    /// changes (consumer fetches wait on it).
    advanced: Vec<Rc<Notify>>,
    /// Woken when any high watermark moves or leadership changes: a produce
    /// request waits on it for the partitions of all its batches.
    advanced_any: Rc<Notify>,
    /// Per broker, woken at every append to a partition it follows here:
    /// its fetch session long-polls on it.
    to_follower: Vec<Rc<Notify>>,
    /// Told when a table from the controller is applied: a follower idle
    /// for want of a leader waits for it instead of polling.
    table_changed: Rc<Notify>,
}

impl BrokerState {
    fn recover(id: u32, sc: &Scenario) -> io::Result<BrokerState> {
        let t = &sc.topology;
        let (log_starts, starts) = OffsetsFile::recover("/log-start.log", t.partitions)?;
        let mut replicas_of = ByPartition::new();
        for p in 0..t.partitions {
            if replicas(p, t.brokers, t.replication).contains(&id) {
                replicas_of.insert(p, Replica::recover(p, starts[p as usize])?);
            }
        }
        Ok(BrokerState {
            id,
            replicas: replicas_of,
            table: None,
            committed: vec![None; t.partitions as usize],
            leading: ByPartition::new(),
            log_starts,
            appended: (0..t.partitions).map(|_| Rc::new(Notify::new())).collect(),
            advanced: (0..t.partitions).map(|_| Rc::new(Notify::new())).collect(),
            advanced_any: Rc::new(Notify::new()),
            to_follower: (0..t.brokers).map(|_| Rc::new(Notify::new())).collect(),
            table_changed: Rc::new(Notify::new()),
        })
    }

    fn sync_all(&mut self) -> io::Result<()> {
        for r in self.replicas.values_mut() {
            r.file().0.sync()?;
        }
        Ok(())
    }

    /// Takes in the controller's answer: starts leading the partitions it
    /// now leads (a new epoch), stops leading the others.
    fn apply_table(&mut self, partitions: Vec<PartitionState>, committed: Vec<Option<u64>>) {
        let now = turmoil::elapsed();
        for (p, st) in partitions.iter().enumerate() {
            let p = p as u32;
            if !self.replicas.contains_key(&p) {
                continue;
            }
            if st.leader == Some(self.id) {
                match self.leading.get_mut(&p) {
                    Some(l) if l.epoch == st.epoch => {
                        // An older answer must not undo a newer change.
                        if st.isr_version > l.isr_version {
                            l.isr = st.isr.clone();
                            l.isr_version = st.isr_version;
                        }
                    }
                    _ => {
                        let start = self.replicas[&p].log_end();
                        let isr = (st.isr.clone(), st.isr_version);
                        let l = Leadership::new(self.id, st.epoch, isr, start, &st.replicas, now);
                        self.leading.insert(p, l);
                    }
                }
            } else {
                self.leading.remove(&p);
            }
        }
        self.table = Some(partitions);
        self.table_changed.notify_waiters();
        self.committed = committed;
        for p in self.leading.keys().copied().collect::<Vec<_>>() {
            self.advance_hw(p);
        }
        for n in &self.advanced {
            n.notify_waiters();
        }
        self.advanced_any.notify_waiters();
    }

    /// What the lag policy says of a new batch for `p`, given how far the
    /// group lags behind it (as of the controller's last word on the
    /// committed offset): a refusal with notice (`circuit_breaker`), one
    /// to send again later (`backpressure`), or None: take it.
    fn admission(&self, p: u32, policy: &dyn LagPolicy, now_us: u64) -> Option<BatchResult> {
        let r = self.replicas.get(&p)?;
        let committed = self
            .committed
            .get(p as usize)
            .copied()
            .flatten()
            .unwrap_or(r.log_start)
            .clamp(r.log_start, r.log_end());
        let oldest_age = (r.read(committed, 1).first())
            .map(|oldest| Duration::from_micros(now_us.saturating_sub(oldest.append_us)));
        let lag = Lag {
            partition: p,
            messages: r.log_end() - committed,
            oldest_age,
            breakers_tripped: 0,
        };
        match policy.admit(&lag) {
            Admission::Take => None,
            Admission::Shed => Some(BatchResult::Overloaded),
            Admission::HoldBack => Some(BatchResult::Throttled),
        }
    }

    /// Wakes what waits for records of `p`: consumer fetches of it and the
    /// fetch sessions of its followers.
    fn note_append(&self, p: u32) {
        self.appended[p as usize].notify_waiters();
        if let Some(l) = self.leading.get(&p) {
            for &f in l.followers.keys() {
                if let Some(n) = self.to_follower.get(f as usize) {
                    n.notify_waiters();
                }
            }
        }
    }

    /// The partitions this broker copies from `leader`, as the last table
    /// says, with the epochs it leads them in.
    fn followed_from(&self, leader: u32) -> Vec<(u32, u32)> {
        self.replicas
            .keys()
            .filter_map(|&p| match self.leader_of(p) {
                Some((Some(l), e)) if l == leader && l != self.id => Some((p, e)),
                _ => None,
            })
            .collect()
    }

    /// One partition of a fetch session: what the leader has to say of it
    /// (None: nothing yet). `note`: the follower's position counts now
    /// (once per request). Records come out of `budget`.
    fn replica_part(
        &mut self,
        part: &FetchPart,
        (replica, incarnation): (u32, u64),
        note: bool,
        now: Duration,
        max: u32,
        budget: &mut usize,
    ) -> Option<Response> {
        let p = part.partition;
        if self.leader_epoch(p) != Some(part.leader_epoch) {
            return Some(Response::NotLeader);
        }
        let r = &self.replicas[&p];
        // NoTruncate: a pre-KIP-101 leader never tells a follower its tail
        // diverged, so the follower never truncates it.
        let last_epoch = part
            .last_epoch
            .filter(|_| !mutant::active(Mutant::NoTruncate));
        if let Some(e) = last_epoch {
            let (found, end) = r.epoch_end(e);
            if found != Some(e) || end < part.offset {
                return Some(Response::Diverged {
                    epoch: found,
                    end_offset: end,
                });
            }
        }
        if part.offset < r.log_start || part.offset > r.log_end() {
            return Some(Response::OutOfRange {
                log_start: r.log_start,
                log_end: r.log_end(),
            });
        }
        let leo = r.log_end();
        if note {
            let l = self.leading.get_mut(&p).expect("led partition");
            l.on_fetch(replica, incarnation, part.offset, leo, now);
            self.advance_hw(p);
        }
        let r = &self.replicas[&p];
        if part.offset < leo && *budget > 0 {
            let records = r.read(part.offset, (max as usize).min(*budget)).to_vec();
            *budget -= records.len();
            return Some(Response::ReplicaRecords {
                records,
                high_watermark: r.hw,
                log_start: r.log_start,
            });
        }
        None
    }

    /// Recomputes a led partition's high watermark (never backwards).
    fn advance_hw(&mut self, p: u32) {
        let (Some(l), Some(r)) = (self.leading.get(&p), self.replicas.get_mut(&p)) else {
            return;
        };
        let hw = l.high_watermark(self.id, r.log_end()).max(r.hw);
        if hw != r.hw {
            r.hw = hw;
            self.advanced[p as usize].notify_waiters();
            self.advanced_any.notify_waiters();
        }
    }

    /// The epoch this broker leads `p` in, if it does.
    fn leader_epoch(&self, p: u32) -> Option<u32> {
        self.leading.get(&p).map(|l| l.epoch)
    }

    /// (leader, epoch) of `p` in the last table heard.
    fn leader_of(&self, p: u32) -> Option<(Option<u32>, u32)> {
        let t = self.table.as_ref()?;
        t.get(p as usize).map(|s| (s.leader, s.epoch))
    }

    /// Retention: deletes what size or age limits say, recording a `drop`
    /// for every deleted record the group had not consumed (leaders only, so
    /// each message is recorded once).
    fn retain(&mut self, sc: &Scenario, recorder: &Recorder, now_us: u64) -> io::Result<()> {
        let (size, age) = (sc.broker.retention_messages, sc.broker.retention_age);
        for (&p, r) in self.replicas.iter_mut() {
            let mut cut = r.log_start;
            if let Some(n) = size {
                cut = cut.max(r.log_end().saturating_sub(n));
            }
            if let Some(age) = age {
                let oldest = now_us.saturating_sub(age.as_micros() as u64);
                let young = r.records.partition_point(|s| s.append_us < oldest);
                cut = cut.max(r.log_start + young as u64);
            }
            let committed = self.committed[p as usize].unwrap_or(0);
            r.forget_deleted_below(committed);
            if cut <= r.log_start {
                continue;
            }
            let gone = r.delete_before(cut);
            let unconsumed = gone.iter().filter(|s| s.offset >= committed);
            r.deleted
                .extend(unconsumed.clone().map(|s| (s.offset, s.append_us)));
            if self.leading.contains_key(&p) {
                for s in unconsumed {
                    let reason = Reason::Retention;
                    recorder.record(s.id, s.key, EventKind::Drop { reason });
                }
            }
            self.log_starts.append(p, r.log_start);
        }
        self.log_starts.0.sync()
    }
}

/// Where the model's probes find a broker's live incarnation.
pub type BrokerSlot = Rc<RefCell<Weak<RefCell<BrokerState>>>>;

pub struct Broker {
    /// `broker-<n>`, or `buffer-<n>` for a buffer's broker.
    pub env: HostEnv,
    pub slot: BrokerSlot,
    /// Builds the lag policy each incarnation asks.
    pub policy: PolicyFactory,
}

impl Broker {
    fn name(&self) -> String {
        self.env.name()
    }

    /// The broker's software; turmoil calls it again on every restart.
    pub async fn run(self: Rc<Self>, incarnation: u64) -> turmoil::Result {
        let state = Rc::new(RefCell::new(BrokerState::recover(
            self.env.index(),
            &self.env.scenario,
        )?));
        *self.slot.borrow_mut() = Rc::downgrade(&state);
        let mut root = self.env.rng(incarnation);
        let mut fork = || ChaCha8Rng::seed_from_u64(root.next_u64());
        let sc = self.env.scenario.clone();

        let flush_every = match sc.broker.fsync {
            Fsync::PerBatch => None,
            Fsync::Interval(d) => Some(d),
            Fsync::Never => Some(sc.broker.writeback),
        };
        if let Some(period) = flush_every {
            tokio::task::spawn_local(self.clone().flusher(state.clone(), period));
        }
        if sc.broker.retention_messages.is_some() || sc.broker.retention_age.is_some() {
            tokio::task::spawn_local(self.clone().retention(state.clone()));
        }
        tokio::task::spawn_local(self.clone().heartbeats(state.clone(), incarnation, fork()));
        tokio::task::spawn_local(self.clone().isr_keeper(state.clone(), fork()));
        // One fetch session per other broker: it copies whatever partitions
        // that broker leads and this one follows, as the table changes.
        for leader in (0..sc.topology.brokers).filter(|&b| b != self.env.index()) {
            let f = self
                .clone()
                .follow(state.clone(), leader, incarnation, fork());
            tokio::task::spawn_local(f);
        }

        let rng = Rc::new(RefCell::new(fork()));
        let policy: Rc<dyn LagPolicy> = (self.policy)(&self.env);
        server::listen(|| Conn {
            broker: self.clone(),
            state: state.clone(),
            rng: rng.clone(),
            policy: policy.clone(),
        })
        .await?;
        Ok(())
    }

    async fn flusher(self: Rc<Self>, state: Rc<RefCell<BrokerState>>, period: Duration) {
        let mut tick = turmoil::time::interval(period);
        tick.tick().await;
        loop {
            tick.tick().await;
            self.env.control.gate().await;
            if let Err(e) = state.borrow_mut().sync_all() {
                panic!("{}: periodic sync failed: {e}", self.name());
            }
        }
    }

    async fn retention(self: Rc<Self>, state: Rc<RefCell<BrokerState>>) {
        loop {
            turmoil::time::sleep(RETENTION_PERIOD).await;
            self.env.control.gate().await;
            let now = now_us();
            if let Err(e) = state
                .borrow_mut()
                .retain(&self.env.scenario, &self.env.recorder, now)
            {
                panic!("{}: retention failed: {e}", self.name());
            }
        }
    }

    /// Heartbeats the controller; its answer is the partition table.
    async fn heartbeats(
        self: Rc<Self>,
        state: Rc<RefCell<BrokerState>>,
        incarnation: u64,
        mut rng: ChaCha8Rng,
    ) {
        let period = heartbeat_period(self.env.scenario.broker.session_timeout);
        let controller = Host::new(Role::Controller, 0);
        let mut link = Link::new(controller, Route::new(), period.max(LONG_POLL));
        let req = Request::BrokerHeartbeat {
            broker: self.env.index(),
            incarnation,
        };
        loop {
            self.env.control.gate().await;
            if let Ok(Response::Cluster {
                partitions,
                committed,
            }) = link.call(&mut rng, &req).await
            {
                state.borrow_mut().apply_table(partitions, committed);
            }
            turmoil::time::sleep(period).await;
        }
    }

    /// As leader: asks the controller to shrink or grow in-sync sets.
    async fn isr_keeper(self: Rc<Self>, state: Rc<RefCell<BrokerState>>, mut rng: ChaCha8Rng) {
        let lag_max = self.env.scenario.broker.replica_lag_max;
        let period = (lag_max / 2).clamp(Duration::from_millis(1), Duration::from_millis(100));
        let controller = Host::new(Role::Controller, 0);
        let timeout = heartbeat_period(self.env.scenario.broker.session_timeout).max(LONG_POLL);
        let mut link = Link::new(controller, Route::new(), timeout);
        loop {
            turmoil::time::sleep(period).await;
            self.env.control.gate().await;
            let now = turmoil::elapsed();
            let wanted: Vec<(u32, u32, Vec<u32>)> = {
                let st = state.borrow();
                st.leading
                    .iter()
                    .filter_map(|(&p, l)| {
                        let hw = st.replicas[&p].hw;
                        let isr = l.wanted_isr(st.id, hw, now, lag_max);
                        (isr != l.isr).then_some((p, l.epoch, isr))
                    })
                    .collect()
            };
            for (partition, epoch, isr) in wanted {
                // Maximal ISR (KIP-497): an expansion counts at once for the
                // high watermark; a shrink only once the controller agreed.
                if let Some(l) = state.borrow_mut().leading.get_mut(&partition) {
                    for &r in &isr {
                        if !l.isr.contains(&r) {
                            l.isr.push(r);
                        }
                    }
                    l.isr.sort();
                }
                let req = Request::AlterIsr {
                    partition,
                    leader: self.env.index(),
                    epoch,
                    isr,
                };
                if let Ok(Response::Partition { state: ps, .. }) = link.call(&mut rng, &req).await {
                    let mut st = state.borrow_mut();
                    if let Some(l) = st.leading.get_mut(&partition) {
                        let current = ps.epoch == l.epoch && ps.leader == Some(self.env.index());
                        if current && ps.isr_version >= l.isr_version {
                            l.isr = ps.isr;
                            l.isr_version = ps.isr_version;
                        }
                    }
                    st.advance_hw(partition);
                }
            }
        }
    }

    /// As follower of the partitions `leader` leads: copies their logs in
    /// one fetch session (as Kafka's replica fetcher does), cutting a
    /// divergent suffix first (leader-epoch protocol). One session per
    /// leader, not one per partition: at hundreds of partitions, per-partition
    /// fetches were most of a cluster's work.
    async fn follow(
        self: Rc<Self>,
        state: Rc<RefCell<BrokerState>>,
        leader: u32,
        incarnation: u64,
        mut rng: ChaCha8Rng,
    ) {
        let sc = self.env.scenario.clone();
        let timeout = sc.workload.request_timeout.max(LONG_POLL * 2);
        let host = Host::new(self.env.host.role, leader);
        let mut link = Link::new(host, Route::new(), timeout);
        let per_batch = sc.broker.fsync == Fsync::PerBatch;
        let table_changed = state.borrow().table_changed.clone();
        // Partitions whose last answer left nothing to do (the leader no
        // longer leads them, or their logs diverge with no progress
        // possible): left out of the session until then.
        let mut resting: BTreeMap<u32, Duration> = BTreeMap::new();
        let mut round = 0usize;
        loop {
            self.env.control.gate().await;
            // Listening before looking, so a table applied in between is
            // not missed.
            let changed = table_changed.notified();
            let mut changed = std::pin::pin!(changed);
            changed.as_mut().enable();
            let now = turmoil::elapsed();
            resting.retain(|_, until| *until > now);
            let mut parts: Vec<FetchPart> = {
                let st = state.borrow();
                st.followed_from(leader)
                    .into_iter()
                    .filter(|(p, _)| !resting.contains_key(p))
                    .map(|(p, leader_epoch)| {
                        let r = &st.replicas[&p];
                        FetchPart {
                            partition: p,
                            leader_epoch,
                            offset: r.log_end(),
                            last_epoch: r.last_epoch(),
                        }
                    })
                    .collect()
            };
            if parts.is_empty() {
                // Nothing to fetch from this broker until the table changes
                // (or a resting partition's pause ends).
                match resting.values().min() {
                    Some(&until) => {
                        tokio::select! {
                            _ = changed => {}
                            _ = turmoil::time::sleep(until - now) => {}
                        }
                    }
                    None => changed.await,
                }
                continue;
            }
            // The answer's record budget is spent in request order: each
            // round starts one partition further on, so none starves.
            let k = round % parts.len();
            parts.rotate_left(k);
            round = round.wrapping_add(1);
            let mut was: Vec<(u32, u32)> = parts
                .iter()
                .map(|x| (x.partition, x.leader_epoch))
                .collect();
            was.sort_unstable();
            let req = Request::ReplicaFetch {
                replica: self.env.index(),
                incarnation,
                parts,
                max: REPLICA_FETCH_MAX,
                total: SESSION_FETCH_MAX,
            };
            // The question goes stale when a new table moves what this
            // session should fetch, or when a resting partition this leader
            // still leads may be asked for again: then the call is dropped
            // (and its connection) rather than waiting out a long poll.
            let stale = |resting: &BTreeMap<u32, Duration>| {
                let now = turmoil::elapsed();
                let mut now_asked = state.borrow().followed_from(leader);
                now_asked.retain(|(p, _)| resting.get(p).is_none_or(|&until| until <= now));
                now_asked.sort_unstable();
                now_asked != was
            };
            let rest_ends = resting.values().min().map(|&until| until - now);
            let resp = {
                let mut call = std::pin::pin!(link.call(&mut rng, &req));
                let rest_end = turmoil::time::sleep(rest_ends.unwrap_or(Duration::ZERO));
                let mut rest_end = std::pin::pin!(rest_end);
                let mut resting_left = rest_ends.is_some();
                loop {
                    tokio::select! {
                        biased;
                        r = &mut call => break Some(r),
                        _ = changed.as_mut() => {
                            if stale(&resting) {
                                break None;
                            }
                            changed.set(table_changed.notified());
                            changed.as_mut().enable();
                        }
                        _ = rest_end.as_mut(), if resting_left => {
                            if stale(&resting) {
                                break None;
                            }
                            // Watch the next rest to end, if any.
                            let now = turmoil::elapsed();
                            match resting.values().filter(|&&u| u > now).min() {
                                Some(&until) => rest_end.set(turmoil::time::sleep(until - now)),
                                None => resting_left = false,
                            }
                        }
                    }
                }
            };
            let Some(resp) = resp else {
                link.disconnect();
                continue;
            };
            let Request::ReplicaFetch { parts, .. } = req else {
                unreachable!("built above")
            };
            let answers = match resp {
                Ok(Response::ReplicaFetched { parts: answers }) if answers.len() == parts.len() => {
                    answers
                }
                _ => {
                    // No answer: the leader is unreachable or down.
                    turmoil::time::sleep(NO_LEADER_POLL).await;
                    continue;
                }
            };
            let now = turmoil::elapsed();
            for (part, answer) in parts.iter().zip(answers) {
                let p = part.partition;
                let result = {
                    let mut st = state.borrow_mut();
                    // The table may have moved on while the fetch was out.
                    if st.leader_of(p) != Some((Some(leader), part.leader_epoch)) {
                        continue;
                    }
                    let r = st.replicas.get_mut(&p).expect("replicated partition");
                    apply_fetched(r, answer, per_batch)
                };
                match result {
                    None => {
                        resting.insert(p, now + NO_LEADER_POLL);
                    }
                    Some(Err(e)) => {
                        panic!("{}: disk error on partition {p}: {e}", self.name())
                    }
                    Some(Ok(())) => {}
                }
            }
        }
    }
}

/// Applies a leader's answer for one partition to its follower replica:
/// None when it leaves nothing to do (wait before asking again).
fn apply_fetched(r: &mut Replica, answer: Response, per_batch: bool) -> Option<io::Result<()>> {
    match answer {
        Response::ReplicaRecords {
            records,
            high_watermark,
            ..
        } => {
            for x in &records {
                if x.offset != r.log_end() {
                    continue;
                }
                r.append(*x);
            }
            r.hw = r.hw.max(high_watermark.min(r.log_end()));
            if per_batch && !records.is_empty() {
                Some(r.file().0.sync())
            } else {
                Some(Ok(()))
            }
        }
        Response::Diverged { epoch, end_offset } => {
            let at = r.divergence_point(epoch, end_offset);
            // No progress possible: wait rather than spin.
            (at < r.log_end()).then(|| r.truncate_to(at))
        }
        // Outside the leader's log: behind its start (retention), or
        // ahead of its end with nothing to compare epochs with.
        Response::OutOfRange { log_start, log_end } => Some(if r.log_end() < log_start {
            r.reset_to(log_start)
        } else {
            r.truncate_to(log_end)
        }),
        _ => None,
    }
}

/// One client connection to the broker.
struct Conn {
    broker: Rc<Broker>,
    state: Rc<RefCell<BrokerState>>,
    rng: Rc<RefCell<ChaCha8Rng>>,
    /// This incarnation's lag policy, asked before each new batch.
    policy: Rc<dyn LagPolicy>,
}

impl Connection for Conn {
    fn env(&self) -> &HostEnv {
        &self.broker.env
    }

    async fn handle(&self, req: Request) -> io::Result<Option<Response>> {
        let sc = &self.broker.env.scenario;
        Ok(Some(match req {
            Request::Produce { batches } => {
                let results = self.produce(batches).await?;
                match (sc.broker.acks, results) {
                    (Acks::None, _) | (_, None) => return Ok(None),
                    (_, Some(results)) => Response::Produced { results },
                }
            }
            Request::Fetch {
                partition,
                offset,
                max,
            } => self.fetch(partition, offset, max).await,
            Request::ReplicaFetch {
                replica,
                incarnation,
                parts,
                max,
                total,
            } => {
                self.replica_fetch((replica, incarnation), &parts, max, total)
                    .await
            }
            Request::Metadata => Response::Metadata {
                partitions: self.state.borrow().table.clone().unwrap_or_default(),
            },
            _ => return Ok(None),
        }))
    }
}

impl Conn {
    /// Appends every batch this broker may take, then waits as `acks` says.
    /// None: `acks = all` and the high watermark did not pass the batches
    /// within the producer's timeout (the producer has given up).
    async fn produce(
        &self,
        batches: Vec<crate::common::wire::Batch>,
    ) -> io::Result<Option<Vec<BatchResult>>> {
        let sc = self.broker.env.scenario.clone();
        self.disk_delay().await;
        let now = now_us();
        let mut results = Vec::with_capacity(batches.len());
        // (result index, partition, epoch, offset the high watermark must pass)
        let mut waits = Vec::new();
        {
            let mut st = self.state.borrow_mut();
            for (i, b) in batches.iter().enumerate() {
                let Some(epoch) = st.leader_epoch(b.partition) else {
                    results.push(BatchResult::NotLeader);
                    continue;
                };
                // A re-sent batch this leader already holds is acked as
                // such; the lag bound only refuses new records.
                let held = matches!(
                    st.replicas[&b.partition].dedup(b.pid, b.first_seq, b.records.len() as u32),
                    Dedup::Duplicate { .. }
                );
                if let Some(refusal) =
                    (st.admission(b.partition, &*self.policy, now)).filter(|_| !held)
                {
                    results.push(refusal);
                    continue;
                }
                let isr = st.leading[&b.partition].isr.len() as u32;
                if sc.broker.acks == Acks::All && isr < sc.broker.min_insync {
                    results.push(BatchResult::NotEnoughReplicas);
                    continue;
                }
                let r = st.replicas.get_mut(&b.partition).expect("led partition");
                let n = b.records.len() as u32;
                // Records of the batch already held (all of a re-sent batch,
                // or the part a newly elected follower had fetched) are
                // not appended again.
                let skip = match r.dedup(b.pid, b.first_seq, n) {
                    Dedup::Duplicate { last_offset } => Err(last_offset + 1),
                    Dedup::Partial { skip } => Ok(skip),
                    Dedup::New => Ok(0),
                };
                let target = match skip {
                    Err(target) => target,
                    Ok(skip) => {
                        let at = Recorder::now_us();
                        for (k, rec) in b.records.iter().enumerate().skip(skip as usize) {
                            let stored = Stored {
                                offset: r.log_end(),
                                id: rec.id,
                                key: rec.key,
                                append_us: now,
                                epoch,
                                pid: b.pid,
                                pseq: b.first_seq.wrapping_add(k as u32),
                            };
                            r.append(stored);
                            let event = EventKind::Append {
                                partition: b.partition,
                                offset: stored.offset,
                            };
                            self.broker
                                .env
                                .recorder
                                .record_at(at, rec.id, rec.key, event);
                        }
                        if sc.broker.fsync == Fsync::PerBatch
                            && !mutant::active(Mutant::AckBeforeSync)
                        {
                            r.file().0.sync()?;
                        }
                        r.log_end()
                    }
                };
                results.push(BatchResult::Ok);
                waits.push((i, b.partition, epoch, target));
            }
            for &(_, p, _, _) in &waits {
                st.advance_hw(p);
                st.note_append(p);
            }
        }
        if sc.broker.acks != Acks::All {
            return Ok(Some(results));
        }
        let advanced = self.state.borrow().advanced_any.clone();
        let deadline = turmoil::elapsed() + sc.workload.request_timeout;
        loop {
            let notified = advanced.notified();
            let mut pending = false;
            {
                let st = self.state.borrow();
                for &(i, p, epoch, target) in &waits {
                    if st.leader_epoch(p) != Some(epoch) {
                        results[i] = BatchResult::LeadershipLost;
                    } else if st.replicas[&p].hw < target {
                        pending = true;
                    } else if (st.leading[&p].isr.len() as u32) < sc.broker.min_insync {
                        // Committed, but by fewer replicas than promised.
                        results[i] = BatchResult::NotEnoughReplicasAfterAppend;
                    }
                }
            }
            if !pending {
                return Ok(Some(results));
            }
            let now = turmoil::elapsed();
            if now >= deadline {
                return Ok(None);
            }
            let _ = turmoil::time::timeout(deadline - now, notified).await;
        }
    }

    /// A consumer's fetch: records below the high watermark, long-polling
    /// when there are none yet.
    async fn fetch(&self, partition: u32, offset: u64, max: u32) -> Response {
        let deadline = turmoil::elapsed() + LONG_POLL;
        loop {
            let (appended, advanced) = {
                let st = self.state.borrow();
                if st.leader_epoch(partition).is_none() {
                    return Response::NotLeader;
                }
                let r = &st.replicas[&partition];
                if offset < r.log_start || offset > r.log_end() {
                    return Response::OutOfRange {
                        log_start: r.log_start,
                        log_end: r.log_end(),
                    };
                }
                if offset < r.hw || turmoil::elapsed() >= deadline {
                    let visible = r.hw.saturating_sub(offset).min(max as u64) as usize;
                    let records = r
                        .read(offset, visible)
                        .iter()
                        .map(|s| Fetched {
                            offset: s.offset,
                            id: s.id,
                            key: s.key,
                            append_us: s.append_us,
                        })
                        .collect();
                    return Response::Records {
                        records,
                        high_watermark: r.hw,
                    };
                }
                let p = partition as usize;
                (st.appended[p].clone(), st.advanced[p].clone())
            };
            let wait = deadline - turmoil::elapsed();
            let _ = turmoil::time::timeout(wait, async {
                tokio::select! {
                    _ = appended.notified() => {},
                    _ = advanced.notified() => {},
                }
            })
            .await;
        }
    }

    /// A follower's fetch session: for each partition, tells it where it
    /// diverges, or hands it records (long-polling while none of them has
    /// any) and notes its position.
    async fn replica_fetch(
        &self,
        follower: (u32, u64),
        parts: &[FetchPart],
        max: u32,
        total: u32,
    ) -> Response {
        let deadline = turmoil::elapsed() + LONG_POLL;
        let mut noted = false;
        loop {
            let signal = {
                let mut st = self.state.borrow_mut();
                let now = turmoil::elapsed();
                let mut budget = total as usize;
                let said: Vec<Option<Response>> = parts
                    .iter()
                    .map(|part| st.replica_part(part, follower, !noted, now, max, &mut budget))
                    .collect();
                noted = true;
                if said.iter().any(Option::is_some) || now >= deadline {
                    // Partitions with nothing new still learn the high
                    // watermark.
                    let parts = parts
                        .iter()
                        .zip(said)
                        .map(|(part, said)| {
                            said.unwrap_or_else(|| {
                                let r = &st.replicas[&part.partition];
                                Response::ReplicaRecords {
                                    records: Vec::new(),
                                    high_watermark: r.hw,
                                    log_start: r.log_start,
                                }
                            })
                        })
                        .collect();
                    return Response::ReplicaFetched { parts };
                }
                match st.to_follower.get(follower.0 as usize) {
                    Some(signal) => signal.clone(),
                    None => return Response::NotLeader,
                }
            };
            let wait = deadline - turmoil::elapsed();
            let _ = turmoil::time::timeout(wait, signal.notified()).await;
        }
    }

    /// Extra disk latency inside a `slow_storage` window.
    async fn disk_delay(&self) {
        let d = self
            .broker
            .env
            .control
            .storage_delay(Duration::ZERO, &mut *self.rng.borrow_mut());
        if d > Duration::ZERO {
            turmoil::time::sleep(d).await;
        }
    }
}

fn now_us() -> u64 {
    turmoil::sim_elapsed().unwrap_or_default().as_micros() as u64
}

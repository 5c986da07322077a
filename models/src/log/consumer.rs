//! A consumer-group member. It heartbeats the group coordinator (on the
//! controller), which answers with the group's generation and this
//! member's partitions; a rebalance (join, leave, crash) changes them, a
//! moved partition being handed over only after this member released it.
//! One worker task per owned partition fetches from the partition's leader
//! at the committed position, runs the consumer's handler on each record
//! (`common/handler.rs`: mqsim's `StoreWriter` unless the scenario names
//! a registered one), in key lanes, and commits after (at-least-once) or
//! before (at-most-once) the batch's effects. A worker whose partition was
//! revoked, or whose commit the coordinator fenced, stops after its current
//! batch and commit; the next owner starts only once it has
//! (revoke-then-assign). A record the handler fails ends the worker, after
//! a short backoff, without committing the batch: the member starts a new
//! one at the committed offset, so everything after it is delivered again
//! (under `before_effect` the batch was committed before the handler ran,
//! so the failed record is not: at most once).
//!
//! Lag policies act here too: under `circuit_breaker` every store call
//! goes through the member's breaker for its store node
//! (`common/store_client.rs`: an open one is passed over for the key's
//! next replica, and a key with no allowed replica waits, pausing its
//! lane); under `silent_drop` a worker that finds itself past the lag
//! bound skips to the high watermark, recording a `drop` for every record
//! it skipped.

use crate::common::handler::{Commit, Context, DynHandler, HandlerFactory, Message};
use crate::common::link::{Link, Route};
use crate::common::metadata::Metadata;
use crate::common::mux::Mux;
use crate::common::policy::{Delivery, Lag, LagPolicy, PolicyFactory};
use crate::common::relay::{Forwarder, RelaySpec};
use crate::common::store_client::{Breakers, StoreClient};
use crate::common::wire::{Fetched, MemberId, Request, Response};
use crate::log::broker::{heartbeat_period, LONG_POLL};
use crate::mutant::{self, Mutant};
use futures::future::LocalBoxFuture;
use futures::StreamExt;
use harness::model::{HostEnv, Recorder};
use harness::scenario::{CommitMode, Host, OffsetReset, Role};
use harness::{EventKind, Reason};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

/// Longest sleep of a worker the lag policy paused, between two looks at
/// whether its partition was revoked.
const PAUSE_SLICE: Duration = Duration::from_millis(100);
/// Pause of a worker whose handler failed a record, before it ends.
const FAILURE_BACKOFF: Duration = Duration::from_millis(100);
/// Pause of a worker whose partition has no known leader.
const NO_LEADER_POLL: Duration = Duration::from_millis(20);

/// Most records one skip fetch asks for (`silent_drop`).
const SKIP_FETCH_MAX: u64 = 100_000;

/// One sequence of effects: the handler runs its records one at a time,
/// over the lane's own store connections.
struct Lane {
    rng: ChaCha8Rng,
    store: StoreClient,
    commit: LogCommit,
}

impl Lane {
    /// Runs the handler on each record in order; false at the first that
    /// fails (the rest of the lane's records are not handled).
    async fn apply(
        &mut self,
        c: &Consumer,
        handler: &dyn DynHandler,
        records: impl Iterator<Item = (&Fetched, u32)>,
    ) -> bool {
        for (r, attempt) in records {
            let msg = Message {
                id: r.id,
                key: r.key,
                partition: self.commit.partition,
                offset: r.offset,
                attempt,
                poison: false,
            };
            let mut cx = Context::new(&c.env, msg, &mut self.store, &mut self.rng, &self.commit);
            if handler.handle(&msg, &mut cx).await.is_err() {
                return false;
            }
        }
        true
    }
}

/// A handler's own commit ([`Context::commit`]): the partition's offset
/// past its message, on a controller link of the lane's own.
struct LogCommit {
    env: HostEnv,
    partition: u32,
    member: MemberId,
    commit_seq: Rc<Cell<u64>>,
    /// The worker's highest committed offset (its own commits and its
    /// lanes'): a commit never moves the group's offset back.
    committed: Rc<Cell<u64>>,
    revoked: Rc<Cell<bool>>,
    /// Locked for a whole call: one commit at a time on the link.
    controller: tokio::sync::Mutex<Link>,
}

impl Commit for LogCommit {
    fn commit<'a>(&'a self, rng: &'a mut ChaCha8Rng, msg: &'a Message) -> LocalBoxFuture<'a, bool> {
        Box::pin(async move {
            let offset = msg.offset + 1;
            if offset <= self.committed.get() {
                // Already committed past it (a later record's commit, or
                // the batch's under `before_effect`).
                return true;
            }
            self.commit_seq.set(self.commit_seq.get() + 1);
            let req = Request::Commit {
                group: self.env.scenario.consumer.group.clone(),
                member: self.member,
                partition: self.partition,
                offset,
                seq: self.commit_seq.get(),
            };
            loop {
                self.env.control.gate().await;
                let answer = self.controller.lock().await.call(rng, &req).await;
                match answer {
                    Ok(Response::Committed { accepted: true }) => break,
                    Ok(Response::Committed { accepted: false }) => return false,
                    _ if self.revoked.get() => return false,
                    _ => {}
                }
            }
            self.committed.set(self.committed.get().max(offset));
            self.env.recorder.record(msg.id, msg.key, EventKind::Commit);
            true
        })
    }
}

pub struct Consumer {
    pub env: HostEnv,
    /// Builds the handler each incarnation runs.
    pub handler: HandlerFactory,
    /// Builds the lag policy each incarnation asks.
    pub policy: PolicyFactory,
    /// The hosts it fetches from: the brokers, or a buffer's.
    pub brokers: Role,
    /// What applying a record means: a store write, or — for a relay —
    /// forwarding it to the next stage.
    pub relay: Option<RelaySpec>,
}

/// Routes of one consumer incarnation, one per destination, shared by all
/// its links to it; and its connections to the store nodes, shared by all
/// its lanes.
struct Routes {
    brokers: Rc<Vec<Rc<Route>>>,
    controller: Rc<Route>,
    stores: Rc<[Mux]>,
}

/// A running worker as the member tracks it.
struct Running {
    revoked: Rc<Cell<bool>>,
    done: Rc<Cell<bool>>,
}

/// What the member and its coordinator last told each other.
#[derive(Default)]
struct Membership {
    /// Partitions the coordinator lets this member run.
    assigned: Vec<u32>,
    /// Whether that is the member's whole target in a formed group.
    settled: bool,
    /// Partitions with a worker still running (reported in heartbeats, so
    /// the coordinator knows when a revoked partition is released).
    running: Vec<u32>,
    /// Told when `assigned` may have changed or a worker ended.
    changed: Rc<tokio::sync::Notify>,
}

/// Heartbeat period while a handover is under way or the group forms.
const UNSETTLED_HEARTBEAT: Duration = Duration::from_millis(20);

impl Consumer {
    pub async fn run(self: Rc<Self>, incarnation: u64) -> turmoil::Result {
        let sc = self.env.scenario.clone();
        let member: MemberId = (self.env.index(), incarnation);
        let mut root = self.env.rng(incarnation);
        let routes = Rc::new(Routes {
            brokers: Rc::new((0..sc.topology.brokers).map(|_| Route::new()).collect()),
            controller: Route::new(),
            stores: StoreClient::connections(&self.env),
        });
        let meta = Metadata::new(sc.topology.partitions);
        let refresh = meta.clone().refresher(
            sc.clone(),
            self.brokers,
            self.env.control.clone(),
            routes.brokers.clone(),
            sc.consumer.request_timeout,
            ChaCha8Rng::seed_from_u64(root.next_u64()),
        );
        tokio::task::spawn_local(refresh);
        let membership = Rc::new(RefCell::new(Membership::default()));
        let hb = self.clone().heartbeats(
            member,
            membership.clone(),
            routes.clone(),
            ChaCha8Rng::seed_from_u64(root.next_u64()),
        );
        tokio::task::spawn_local(hb);
        let commit_seq = Rc::new(Cell::new(0u64));
        let policy: Rc<dyn LagPolicy> = (self.policy)(&self.env);
        let breakers = (policy.breakers()).map(|config| Rc::new(Breakers::new(&self.env, config)));
        let handler: Rc<dyn DynHandler> = (self.handler)(&self.env);
        // A restarted member's breakers start closed: say so, or the
        // History would leave a breaker of the crashed incarnation open.
        if let (Some(_), 1..) = (&breakers, incarnation) {
            for store in 0..sc.topology.stores {
                self.env.recorder.record_breaker(
                    self.env.index(),
                    store,
                    harness::history::BreakerState::Closed,
                );
            }
        }

        // A relay's way into the next stage, for this incarnation.
        let forwarder = self
            .relay
            .as_ref()
            .map(|spec| Forwarder::start(spec, &self.env, incarnation, &mut root));

        let mut running: BTreeMap<u32, Running> = BTreeMap::new();
        let changed = membership.borrow().changed.clone();
        loop {
            // Woken when the assignment changes or a worker ends; a stored
            // permit covers a change made while the loop was busy.
            changed.notified().await;
            running.retain(|_, w| !w.done.get());
            let mine = membership.borrow().assigned.clone();
            for (p, w) in &running {
                if !mine.contains(p) {
                    w.revoked.set(true);
                }
            }
            for &p in &mine {
                if running.contains_key(&p) {
                    continue;
                }
                let (revoked, done) = (Rc::new(Cell::new(false)), Rc::new(Cell::new(false)));
                let mut worker = self.worker(
                    p,
                    member,
                    commit_seq.clone(),
                    &routes,
                    meta.clone(),
                    revoked.clone(),
                    &breakers,
                    handler.clone(),
                    policy.clone(),
                    &mut root,
                );
                worker.forwarder = forwarder.clone();
                let done2 = done.clone();
                let changed = changed.clone();
                tokio::task::spawn_local(async move {
                    worker.run().await;
                    done2.set(true);
                    changed.notify_one();
                });
                running.insert(p, Running { revoked, done });
            }
            membership.borrow_mut().running = running.keys().copied().collect();
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn worker(
        self: &Rc<Self>,
        partition: u32,
        member: MemberId,
        commit_seq: Rc<Cell<u64>>,
        routes: &Rc<Routes>,
        meta: Rc<Metadata>,
        revoked: Rc<Cell<bool>>,
        breakers: &Option<Rc<Breakers>>,
        handler: Rc<dyn DynHandler>,
        policy: Rc<dyn LagPolicy>,
        root: &mut ChaCha8Rng,
    ) -> PartitionWorker {
        let sc = &self.env.scenario;
        let committed = Rc::new(Cell::new(0));
        let lanes = (0..sc.consumer.concurrency)
            .map(|_| Lane {
                rng: ChaCha8Rng::seed_from_u64(root.next_u64()),
                store: StoreClient::new(&self.env, &routes.stores, breakers.clone(), true),
                commit: LogCommit {
                    env: self.env.clone(),
                    partition,
                    member,
                    commit_seq: commit_seq.clone(),
                    committed: committed.clone(),
                    revoked: revoked.clone(),
                    controller: tokio::sync::Mutex::new(Link::new(
                        Host::new(Role::Controller, 0),
                        routes.controller.clone(),
                        sc.consumer.request_timeout,
                    )),
                },
            })
            .collect();
        let timeout = sc.consumer.request_timeout.max(LONG_POLL * 2);
        PartitionWorker {
            consumer: self.clone(),
            partition,
            member,
            commit_seq,
            revoked,
            rng: ChaCha8Rng::seed_from_u64(root.next_u64()),
            meta,
            brokers: Link::to_each(self.brokers, &routes.brokers, timeout),
            controller: Link::new(
                Host::new(Role::Controller, 0),
                routes.controller.clone(),
                sc.consumer.request_timeout,
            ),
            lanes,
            committed,
            handler,
            policy,
            breakers: breakers.clone(),
            attempts: BTreeMap::new(),
            forwarder: None,
        }
    }

    /// Heartbeats the coordinator; its answer is this member's assignment.
    /// While a handover is under way it asks again sooner. A member that
    /// has had no answer for a whole session timeout knows the coordinator
    /// has expired it and given its partitions away: it gives them up
    /// itself (as Kafka's client does when its partitions are lost), so no
    /// worker keeps running on a stale position; when the coordinator
    /// answers again, new workers start at the committed offsets.
    async fn heartbeats(
        self: Rc<Self>,
        member: MemberId,
        membership: Rc<RefCell<Membership>>,
        routes: Rc<Routes>,
        mut rng: ChaCha8Rng,
    ) {
        let sc = &self.env.scenario;
        let period = heartbeat_period(sc.consumer.session_timeout);
        let mut link = Link::new(
            Host::new(Role::Controller, 0),
            routes.controller.clone(),
            sc.consumer.request_timeout,
        );
        let mut last_answer = turmoil::elapsed();
        loop {
            self.env.control.gate().await;
            let req = Request::GroupHeartbeat {
                group: sc.consumer.group.clone(),
                member,
                running: membership.borrow().running.clone(),
            };
            if let Ok(Response::Group {
                partitions,
                settled,
                ..
            }) = link.call(&mut rng, &req).await
            {
                last_answer = turmoil::elapsed();
                let mut m = membership.borrow_mut();
                m.assigned = partitions;
                m.settled = settled;
                m.changed.notify_one();
            } else if turmoil::elapsed() - last_answer >= sc.consumer.session_timeout {
                let mut m = membership.borrow_mut();
                m.assigned.clear();
                m.settled = false;
                m.changed.notify_one();
            }
            let calm = {
                let m = membership.borrow();
                m.settled && m.running == m.assigned
            };
            turmoil::time::sleep(if calm {
                period
            } else {
                UNSETTLED_HEARTBEAT.min(period)
            })
            .await;
        }
    }
}

struct PartitionWorker {
    consumer: Rc<Consumer>,
    partition: u32,
    member: MemberId,
    /// Orders this member incarnation's commits (shared by its workers);
    /// the coordinator ignores an older one that arrives late.
    commit_seq: Rc<Cell<u64>>,
    revoked: Rc<Cell<bool>>,
    rng: ChaCha8Rng,
    meta: Rc<Metadata>,
    /// One link per broker: the partition's leader may move.
    brokers: Vec<Link>,
    controller: Link,
    /// Effect lanes: all records of a key go to one lane, so effects of one
    /// key stay in offset order while different keys proceed in parallel.
    lanes: Vec<Lane>,
    /// The highest offset this worker (or a lane's handler) committed.
    committed: Rc<Cell<u64>>,
    handler: Rc<dyn DynHandler>,
    policy: Rc<dyn LagPolicy>,
    /// The member's store breakers, for the policy's view of them.
    breakers: Option<Rc<Breakers>>,
    /// Deliveries so far per offset not yet committed, for the `attempt` field.
    attempts: BTreeMap<u64, u32>,
    /// A relay's: applying a record is forwarding it to the next stage.
    forwarder: Option<Rc<Forwarder>>,
}

/// What fetching at a position gave.
enum Fetch {
    /// Records from the position on, and the high watermark.
    Records(Vec<Fetched>, u64),
    /// The position is outside the log: move to this offset.
    Reset(u64),
    Retry,
}

impl PartitionWorker {
    async fn run(mut self) {
        let c = self.consumer.clone();
        let Some(committed) = self.committed_position().await else {
            return;
        };
        // No commit yet: Earliest starts at offset 0 (a log start beyond it
        // answers OutOfRange), Latest at the log end (likewise).
        let mut position = committed.unwrap_or(match c.env.scenario.consumer.auto_offset_reset {
            OffsetReset::Earliest => 0,
            OffsetReset::Latest => u64::MAX,
        });
        while !self.revoked.get() {
            c.env.control.gate().await;
            let records = match self.fetch(position).await {
                Fetch::Records(r, hw) => match self.delivery(position, hw, &r) {
                    Delivery::Handle => r,
                    Delivery::Skip => match self.skip(r, hw).await {
                        Some(to) => {
                            position = to;
                            continue;
                        }
                        None => return,
                    },
                    Delivery::Pause(d) => {
                        // In slices, so a revoked partition is let go.
                        let until = turmoil::elapsed() + d;
                        while !self.revoked.get() && turmoil::elapsed() < until {
                            let left = until - turmoil::elapsed();
                            turmoil::time::sleep(left.min(PAUSE_SLICE)).await;
                        }
                        continue;
                    }
                },
                Fetch::Reset(to) => {
                    position = to;
                    continue;
                }
                Fetch::Retry => continue,
            };
            let Some(last) = records.last() else {
                continue;
            };
            let next = last.offset + 1;
            let at = Recorder::now_us();
            for r in &records {
                let attempt = self.attempts.entry(r.offset).or_insert(0);
                *attempt += 1;
                let event = EventKind::Deliver {
                    consumer: c.env.index(),
                    attempt: *attempt,
                };
                c.env.recorder.record_at(at, r.id, r.key, event);
            }
            let mut commit = c.env.scenario.consumer.commit;
            if mutant::active(Mutant::CommitBeforeEffect) {
                commit = CommitMode::BeforeEffect;
            }
            // A refused commit means the partition moved: its new owner
            // handles these records, this worker must not. A record the
            // handler failed ends the worker without committing: the
            // member starts a new one at the committed offset, which
            // delivers everything after it again.
            let handled = match commit {
                CommitMode::AfterEffect => match self.apply_all(&records).await {
                    true => self.commit(next, &records).await.then_some(true),
                    false => Some(false),
                },
                CommitMode::BeforeEffect => match self.commit(next, &records).await {
                    true => Some(self.apply_all(&records).await),
                    false => None,
                },
            };
            match handled {
                // The commit was refused.
                None => return,
                Some(false) => {
                    // Back off first: a poison record is retried for ever,
                    // but not in a hot loop.
                    turmoil::time::sleep(FAILURE_BACKOFF).await;
                    return;
                }
                Some(true) => {}
            }
            position = next;
        }
    }

    async fn fetch(&mut self, position: u64) -> Fetch {
        let c = self.consumer.clone();
        let Some(leader) = self.meta.leader(self.partition) else {
            turmoil::time::sleep(NO_LEADER_POLL).await;
            return Fetch::Retry;
        };
        let req = Request::Fetch {
            partition: self.partition,
            offset: position,
            max: c.env.scenario.consumer.fetch_max,
        };
        match self.brokers[leader as usize]
            .call(&mut self.rng, &req)
            .await
        {
            Ok(Response::Records {
                records,
                high_watermark,
            }) => Fetch::Records(records, high_watermark),
            Ok(Response::OutOfRange { log_start, log_end }) => {
                Fetch::Reset(match c.env.scenario.consumer.auto_offset_reset {
                    OffsetReset::Earliest => log_start,
                    OffsetReset::Latest => log_end,
                })
            }
            Ok(Response::NotLeader) => {
                self.meta.mark_stale();
                turmoil::time::sleep(NO_LEADER_POLL).await;
                Fetch::Retry
            }
            _ => {
                self.meta.mark_stale();
                Fetch::Retry
            }
        }
    }

    /// What the lag policy says of a fetched batch, given the partition's
    /// lag at `position` (the high watermark minus it) and the age of its
    /// oldest record.
    fn delivery(&self, position: u64, hw: u64, records: &[Fetched]) -> Delivery {
        let now_us = turmoil::elapsed().as_micros() as u64;
        let lag = Lag {
            partition: self.partition,
            messages: hw.saturating_sub(position),
            oldest_age: (records.first())
                .map(|r| Duration::from_micros(now_us.saturating_sub(r.append_us))),
            breakers_tripped: self.breakers.as_ref().map_or(0, |b| b.tripped()),
        };
        self.policy.deliver(&lag)
    }

    /// A `Skip` (`silent_drop`): moves past every record below the high watermark
    /// without applying it. Fetches the ids of the records beyond `first`,
    /// records a `drop` for each — the decision is made here, and a commit
    /// whose answer is lost may still have moved the group past them — then
    /// commits the new position. If another owner applies some of them
    /// anyway, their effect wins over the drop in the checkers. The new
    /// position; None if the commit was refused (the partition moved).
    async fn skip(&mut self, first: Vec<Fetched>, hw: u64) -> Option<u64> {
        let c = self.consumer.clone();
        let mut skipped = first;
        while let Some(last) = skipped.last() {
            let from = last.offset + 1;
            if from >= hw {
                break;
            }
            let req = Request::Fetch {
                partition: self.partition,
                offset: from,
                max: (hw - from).min(SKIP_FETCH_MAX) as u32,
            };
            let Some(leader) = self.meta.leader(self.partition) else {
                break;
            };
            match self.brokers[leader as usize]
                .call(&mut self.rng, &req)
                .await
            {
                Ok(Response::Records { records, .. }) if !records.is_empty() => {
                    skipped.extend(records.into_iter().take_while(|r| r.offset < hw));
                }
                // Skip what is known; the next fetch decides again.
                _ => break,
            }
        }
        let Some(last) = skipped.last() else {
            return Some(hw);
        };
        let to = last.offset + 1;
        for r in skipped
            .iter()
            .filter(|_| !mutant::active(Mutant::UnrecordedDrop))
        {
            let event = EventKind::Drop {
                reason: Reason::MaxLag,
            };
            c.env.recorder.record(r.id, r.key, event);
        }
        self.commit(to, &[]).await.then_some(to)
    }

    /// The group's committed offset, retried until the coordinator answers;
    /// None if the partition was revoked meanwhile.
    async fn committed_position(&mut self) -> Option<Option<u64>> {
        let req = Request::OffsetFetch {
            group: self.consumer.env.scenario.consumer.group.clone(),
            partitions: vec![self.partition],
        };
        while !self.revoked.get() {
            self.consumer.env.control.gate().await;
            if let Ok(Response::Offsets { offsets }) =
                self.controller.call(&mut self.rng, &req).await
            {
                return Some(offsets.first().copied().flatten());
            }
        }
        None
    }

    /// Runs the handler on every record: lanes run concurrently, each
    /// handling its records in offset order. Returns when all are handled;
    /// false if the handler failed one. A key's lane is `(key /
    /// partitions) % lanes`: the keys of one partition are congruent
    /// modulo the partition count, so `key % lanes` would put them all in
    /// one lane whenever the two counts share a factor.
    async fn apply_all(&mut self, records: &[Fetched]) -> bool {
        if let Some(f) = &self.forwarder {
            f.forward(records).await;
            return true;
        }
        let n = self.lanes.len() as u32;
        let partitions = self.consumer.env.scenario.topology.partitions;
        let c = &self.consumer;
        let swapped: Vec<Fetched>;
        let records = if mutant::active(Mutant::SwapKeyOrder) {
            swapped = swap_first_pair_of_a_key(records);
            &swapped[..]
        } else {
            records
        };
        let (handler, attempts) = (&*self.handler, &self.attempts);
        let work = self.lanes.iter_mut().enumerate().map(|(i, lane)| {
            let mine = (records.iter())
                .filter(move |r| (r.key / partitions) % n == i as u32)
                .map(|r| (r, attempts.get(&r.offset).copied().unwrap_or(1)));
            lane.apply(c, handler, mine)
        });
        // Only a woken lane is polled again (join_all polls every lane at
        // every wake while there are few of them).
        let mut handled = work.collect::<futures::stream::FuturesOrdered<_>>();
        let mut all = true;
        while let Some(ok) = handled.next().await {
            all &= ok;
        }
        all
    }

    /// Commits `offset` (the next to read), retrying until the coordinator
    /// answers. False: fenced (the partition moved in a rebalance) or
    /// revoked before an answer came.
    async fn commit(&mut self, offset: u64, records: &[Fetched]) -> bool {
        let c = self.consumer.clone();
        self.commit_seq.set(self.commit_seq.get() + 1);
        let req = Request::Commit {
            group: c.env.scenario.consumer.group.clone(),
            member: self.member,
            partition: self.partition,
            offset,
            seq: self.commit_seq.get(),
        };
        loop {
            c.env.control.gate().await;
            match self.controller.call(&mut self.rng, &req).await {
                Ok(Response::Committed { accepted: true }) => break,
                Ok(Response::Committed { accepted: false }) => return false,
                _ if self.revoked.get() => return false,
                _ => {}
            }
        }
        self.committed.set(self.committed.get().max(offset));
        let at = Recorder::now_us();
        for r in records {
            c.env.recorder.record_at(at, r.id, r.key, EventKind::Commit);
        }
        self.attempts = self.attempts.split_off(&offset);
        true
    }
}

/// The `SwapKeyOrder` mutant: the first two records of one key trade places
/// (one lane applies both, so they take effect in swapped order).
fn swap_first_pair_of_a_key(records: &[Fetched]) -> Vec<Fetched> {
    let mut out = records.to_vec();
    for i in 0..out.len() {
        if let Some(j) = (i + 1..out.len()).find(|&j| out[j].key == out[i].key) {
            out.swap(i, j);
            break;
        }
    }
    out
}

//! A consumer-group member. It heartbeats the group coordinator (on the
//! controller), which answers with the group's generation and this
//! member's partitions; a rebalance (join, leave, crash) changes them, a
//! moved partition being handed over only after this member released it.
//! One worker task per owned partition fetches from the partition's leader
//! at the committed position, applies each record's effect to the store
//! that owns its key, and commits after (at-least-once) or before
//! (at-most-once) the effects. A worker whose partition was revoked, or
//! whose commit the coordinator fenced, stops after its current batch and
//! commit; the next owner starts only once it has (revoke-then-assign).

use crate::broker::{heartbeat_period, LONG_POLL};
use crate::link::{Link, Route};
use crate::metadata::Metadata;
use crate::wire::{Fetched, MemberId, Request, Response};
use harness::model::{Control, Recorder};
use harness::scenario::{CommitMode, Host, OffsetReset, Role, Scenario};
use harness::EventKind;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

/// How often the member compares its workers with its assignment.
const ASSIGNMENT_POLL: Duration = Duration::from_millis(10);
/// Pause of a worker whose partition has no known leader.
const NO_LEADER_POLL: Duration = Duration::from_millis(20);

/// One sequence of effects, with its own store connections.
struct Lane {
    rng: ChaCha8Rng,
    stores: Vec<Link>,
}

impl Lane {
    /// Applies effects in order, retrying a store until it answers: an
    /// unanswered apply may still have taken effect, so a retry can duplicate
    /// it unless the store is idempotent.
    async fn apply(&mut self, c: &Consumer, records: impl Iterator<Item = &Fetched>) {
        let stores = self.stores.len() as u32;
        for r in records {
            let req = Request::Apply {
                id: r.id,
                key: r.key,
            };
            let store = &mut self.stores[(r.key % stores) as usize];
            loop {
                c.control.gate().await;
                if let Ok(Response::Applied) = store.call(&mut self.rng, &req).await {
                    break;
                }
            }
        }
    }
}

pub struct Consumer {
    pub index: u32,
    pub scenario: Rc<Scenario>,
    pub recorder: Recorder,
    pub control: Rc<Control>,
    pub seed: u64,
}

/// Routes of one consumer incarnation, one per destination, shared by all
/// its links to it.
struct Routes {
    brokers: Rc<Vec<Rc<Route>>>,
    controller: Rc<Route>,
    stores: Vec<Rc<Route>>,
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
}

/// Heartbeat period while a handover is under way or the group forms.
const UNSETTLED_HEARTBEAT: Duration = Duration::from_millis(20);

impl Consumer {
    pub async fn run(self: Rc<Self>, incarnation: u64) -> turmoil::Result {
        let sc = self.scenario.clone();
        let member: MemberId = (self.index, incarnation);
        let mut root =
            ChaCha8Rng::seed_from_u64(self.seed ^ incarnation.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let routes = Rc::new(Routes {
            brokers: Rc::new((0..sc.topology.brokers).map(|_| Route::new()).collect()),
            controller: Route::new(),
            stores: (0..sc.topology.stores).map(|_| Route::new()).collect(),
        });
        let meta = Metadata::new(sc.topology.partitions);
        let refresh = meta.clone().refresher(
            sc.clone(),
            self.control.clone(),
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

        let mut running: BTreeMap<u32, Running> = BTreeMap::new();
        loop {
            tokio::time::sleep(ASSIGNMENT_POLL).await;
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
                let worker = self.worker(
                    p,
                    member,
                    commit_seq.clone(),
                    &routes,
                    meta.clone(),
                    revoked.clone(),
                    &mut root,
                );
                let done2 = done.clone();
                tokio::task::spawn_local(async move {
                    worker.run().await;
                    done2.set(true);
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
        root: &mut ChaCha8Rng,
    ) -> PartitionWorker {
        let sc = &self.scenario;
        let lanes = (0..sc.consumer.concurrency)
            .map(|_| Lane {
                rng: ChaCha8Rng::seed_from_u64(root.next_u64()),
                stores: (0..sc.topology.stores)
                    .map(|s| {
                        Link::new(
                            Host::new(Role::Store, s),
                            routes.stores[s as usize].clone(),
                            sc.consumer.store_timeout,
                        )
                    })
                    .collect(),
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
            brokers: (0..sc.topology.brokers)
                .map(|b| {
                    let host = Host::new(Role::Broker, b);
                    Link::new(host, routes.brokers[b as usize].clone(), timeout)
                })
                .collect(),
            controller: Link::new(
                Host::new(Role::Controller, 0),
                routes.controller.clone(),
                sc.consumer.request_timeout,
            ),
            lanes,
            attempts: BTreeMap::new(),
        }
    }

    /// Heartbeats the coordinator; its answer is this member's assignment.
    /// While a handover is under way it asks again sooner.
    async fn heartbeats(
        self: Rc<Self>,
        member: MemberId,
        membership: Rc<RefCell<Membership>>,
        routes: Rc<Routes>,
        mut rng: ChaCha8Rng,
    ) {
        let sc = &self.scenario;
        let period = heartbeat_period(sc.consumer.session_timeout);
        let mut link = Link::new(
            Host::new(Role::Controller, 0),
            routes.controller.clone(),
            sc.consumer.request_timeout,
        );
        loop {
            self.control.gate().await;
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
                let mut m = membership.borrow_mut();
                m.assigned = partitions;
                m.settled = settled;
            }
            let calm = {
                let m = membership.borrow();
                m.settled && m.running == m.assigned
            };
            tokio::time::sleep(if calm {
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
    /// Deliveries so far per offset not yet committed, for the `attempt` field.
    attempts: BTreeMap<u64, u32>,
}

/// What fetching at a position gave.
enum Fetch {
    Records(Vec<Fetched>),
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
        let mut position = committed.unwrap_or(match c.scenario.consumer.auto_offset_reset {
            OffsetReset::Earliest => 0,
            OffsetReset::Latest => u64::MAX,
        });
        while !self.revoked.get() {
            c.control.gate().await;
            let records = match self.fetch(position).await {
                Fetch::Records(r) => r,
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
            for r in &records {
                let attempt = self.attempts.entry(r.offset).or_insert(0);
                *attempt += 1;
                let event = EventKind::Deliver {
                    consumer: c.index,
                    attempt: *attempt,
                };
                c.recorder.record(r.id, r.key, event);
            }
            let committed = match c.scenario.consumer.commit {
                CommitMode::AfterEffect => {
                    self.apply_all(&records).await;
                    self.commit(next, &records).await
                }
                CommitMode::BeforeEffect => {
                    // A refused commit means the partition moved: its new
                    // owner applies these records, this worker must not.
                    let ok = self.commit(next, &records).await;
                    if ok {
                        self.apply_all(&records).await;
                    }
                    ok
                }
            };
            if !committed {
                return;
            }
            position = next;
        }
    }

    async fn fetch(&mut self, position: u64) -> Fetch {
        let c = self.consumer.clone();
        let Some(leader) = self.meta.leader(self.partition) else {
            tokio::time::sleep(NO_LEADER_POLL).await;
            return Fetch::Retry;
        };
        let req = Request::Fetch {
            partition: self.partition,
            offset: position,
            max: c.scenario.consumer.fetch_max,
        };
        match self.brokers[leader as usize]
            .call(&mut self.rng, &req)
            .await
        {
            Ok(Response::Records { records, .. }) => Fetch::Records(records),
            Ok(Response::OutOfRange { log_start, log_end }) => {
                Fetch::Reset(match c.scenario.consumer.auto_offset_reset {
                    OffsetReset::Earliest => log_start,
                    OffsetReset::Latest => log_end,
                })
            }
            Ok(Response::NotLeader) => {
                self.meta.mark_stale();
                tokio::time::sleep(NO_LEADER_POLL).await;
                Fetch::Retry
            }
            _ => {
                self.meta.mark_stale();
                Fetch::Retry
            }
        }
    }

    /// The group's committed offset, retried until the coordinator answers;
    /// None if the partition was revoked meanwhile.
    async fn committed_position(&mut self) -> Option<Option<u64>> {
        let req = Request::OffsetFetch {
            group: self.consumer.scenario.consumer.group.clone(),
            partitions: vec![self.partition],
        };
        while !self.revoked.get() {
            self.consumer.control.gate().await;
            if let Ok(Response::Offsets { offsets }) =
                self.controller.call(&mut self.rng, &req).await
            {
                return Some(offsets.first().copied().flatten());
            }
        }
        None
    }

    /// Applies every record's effect: lanes run concurrently, each applying
    /// its records in offset order. Returns when all are applied. A key's
    /// lane is `(key / partitions) % lanes`: the keys of one partition are
    /// congruent modulo the partition count, so `key % lanes` would put
    /// them all in one lane whenever the two counts share a factor.
    async fn apply_all(&mut self, records: &[Fetched]) {
        let n = self.lanes.len() as u32;
        let partitions = self.consumer.scenario.topology.partitions;
        let c = &self.consumer;
        let work = self.lanes.iter_mut().enumerate().map(|(i, lane)| {
            let mine = records
                .iter()
                .filter(move |r| (r.key / partitions) % n == i as u32);
            lane.apply(c, mine)
        });
        futures::future::join_all(work).await;
    }

    /// Commits `offset` (the next to read), retrying until the coordinator
    /// answers. False: fenced (the partition moved in a rebalance) or
    /// revoked before an answer came.
    async fn commit(&mut self, offset: u64, records: &[Fetched]) -> bool {
        let c = self.consumer.clone();
        self.commit_seq.set(self.commit_seq.get() + 1);
        let req = Request::Commit {
            group: c.scenario.consumer.group.clone(),
            member: self.member,
            partition: self.partition,
            offset,
            seq: self.commit_seq.get(),
        };
        loop {
            c.control.gate().await;
            match self.controller.call(&mut self.rng, &req).await {
                Ok(Response::Committed { accepted: true }) => break,
                Ok(Response::Committed { accepted: false }) => return false,
                _ if self.revoked.get() => return false,
                _ => {}
            }
        }
        for r in records {
            c.recorder.record(r.id, r.key, EventKind::Commit);
        }
        self.attempts = self.attempts.split_off(&offset);
        true
    }
}

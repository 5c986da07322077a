//! A consumer worker of the scenario's one group. Partitions are assigned
//! statically (`partition % workers == worker`), like Kafka's static
//! membership; rebalancing on join/leave/crash arrives with the log-based
//! broker model. One task per partition fetches from the committed position,
//! applies each record's effect to the store that owns its key, and commits
//! after (at-least-once) or before (at-most-once) the effects.

use crate::link::{Link, Route};
use crate::wire::{Fetched, Request, Response, BROKER_PORT, STORE_PORT};
use harness::model::{Control, Recorder};
use harness::scenario::{CommitMode, Host, Role, Scenario};
use harness::EventKind;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

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

/// Wait between fetches that returned nothing (a fetch is not a long poll).
const IDLE_POLL: Duration = Duration::from_millis(5);

pub struct Consumer {
    pub index: u32,
    pub scenario: Rc<Scenario>,
    pub recorder: Recorder,
    pub control: Rc<Control>,
    pub seed: u64,
}

impl Consumer {
    pub async fn run(self: Rc<Self>, incarnation: u64) -> turmoil::Result {
        let sc = &self.scenario;
        let workers = sc.consumer.workers;
        // One route per destination, shared by every link of this host to it.
        let broker_route = Route::new();
        let store_routes: Vec<Rc<Route>> = (0..sc.topology.stores).map(|_| Route::new()).collect();
        let mut tasks = Vec::new();
        for partition in (0..sc.topology.partitions).filter(|p| p % workers == self.index) {
            let seed = self.seed
                ^ incarnation.wrapping_mul(0x9e37_79b9_7f4a_7c15)
                ^ (partition as u64).wrapping_mul(0xc2b2_ae3d_27d4_eb4f);
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let lanes = (0..sc.consumer.concurrency)
                .map(|_| Lane {
                    rng: ChaCha8Rng::seed_from_u64(rng.next_u64()),
                    stores: (0..sc.topology.stores)
                        .map(|s| {
                            Link::new(
                                Host::new(Role::Store, s).to_string(),
                                STORE_PORT,
                                store_routes[s as usize].clone(),
                                sc.consumer.store_timeout,
                            )
                        })
                        .collect(),
                })
                .collect();
            let worker = PartitionWorker {
                consumer: self.clone(),
                partition,
                rng,
                broker: Link::new(
                    Host::new(Role::Broker, 0).to_string(),
                    BROKER_PORT,
                    broker_route.clone(),
                    sc.consumer.request_timeout,
                ),
                lanes,
                attempts: BTreeMap::new(),
                commits: incarnation << 32,
            };
            tasks.push(tokio::task::spawn_local(worker.run()));
        }
        for t in tasks {
            t.await?;
        }
        Ok(())
    }
}

struct PartitionWorker {
    consumer: Rc<Consumer>,
    partition: u32,
    rng: ChaCha8Rng,
    broker: Link,
    /// Effect lanes: a record goes to lane `key % lanes`, so effects of one
    /// key stay in offset order while different keys proceed in parallel.
    lanes: Vec<Lane>,
    /// Deliveries so far per offset not yet committed, for the `attempt` field.
    attempts: BTreeMap<u64, u32>,
    /// Generation of the last commit sent: incarnation in the high half, a
    /// counter in the low half. The broker ignores a commit older than one it
    /// applied, so a timed-out commit it processes late cannot move the
    /// committed offset backwards.
    commits: u64,
}

impl PartitionWorker {
    async fn run(mut self) {
        let c = self.consumer.clone();
        let group = c.scenario.consumer.group.clone();
        let mut position = self.committed_position(&group).await;
        loop {
            c.control.gate().await;
            let fetch = Request::Fetch {
                partition: self.partition,
                offset: position,
                max: c.scenario.consumer.fetch_max,
            };
            let records = match self.broker.call(&mut self.rng, &fetch).await {
                Ok(Response::Records { records, .. }) => records,
                // The log lost its tail in a crash: resume at its end.
                Ok(Response::OutOfRange { log_end }) => {
                    position = log_end;
                    continue;
                }
                _ => continue,
            };
            let Some(last) = records.last() else {
                tokio::time::sleep(IDLE_POLL).await;
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
            match c.scenario.consumer.commit {
                CommitMode::AfterEffect => {
                    self.apply_all(&records).await;
                    self.commit(&group, next, &records).await;
                }
                CommitMode::BeforeEffect => {
                    self.commit(&group, next, &records).await;
                    self.apply_all(&records).await;
                }
            }
            position = next;
        }
    }

    /// The group's committed offset, retried until the broker answers.
    async fn committed_position(&mut self, group: &str) -> u64 {
        let req = Request::OffsetFetch {
            group: group.to_string(),
            partitions: vec![self.partition],
        };
        loop {
            if let Ok(Response::Offsets { offsets }) = self.broker.call(&mut self.rng, &req).await {
                return offsets.first().copied().flatten().unwrap_or(0);
            }
        }
    }

    /// Applies every record's effect: lanes run concurrently, each applying
    /// its records in offset order. Returns when all are applied.
    async fn apply_all(&mut self, records: &[Fetched]) {
        let n = self.lanes.len() as u32;
        let c = &self.consumer;
        let work = self.lanes.iter_mut().enumerate().map(|(i, lane)| {
            let mine = records.iter().filter(move |r| r.key % n == i as u32);
            lane.apply(c, mine)
        });
        futures::future::join_all(work).await;
    }

    /// Commits `offset` (the next to read), retrying until the broker answers.
    async fn commit(&mut self, group: &str, offset: u64, records: &[Fetched]) {
        let c = self.consumer.clone();
        self.commits += 1;
        let req = Request::Commit {
            group: group.to_string(),
            partition: self.partition,
            offset,
            generation: self.commits,
        };
        loop {
            c.control.gate().await;
            if let Ok(Response::Committed) = self.broker.call(&mut self.rng, &req).await {
                break;
            }
        }
        for r in records {
            c.recorder.record(r.id, r.key, EventKind::Commit);
        }
        self.attempts = self.attempts.split_off(&offset);
    }
}

//! The systems under test. Actors are async tokio code over `turmoil::net`,
//! written as a real service would be; they know nothing of scenario files,
//! checkers or reports, only the validated [`Scenario`] and the engine's
//! recording and control interface.

mod common;
mod log;
pub mod mutant;
mod queue;

use common::producer::{Producer, ProducerSlot};
use common::relay::RelaySpec;
use common::schedule::Schedule;
use common::store::Store;
use harness::history::{Inventory, PartitionGauge, PartitionInventory, Sample};
use harness::model::{Env, Model};
use harness::scenario::{
    Acks, Assignment, BrokerKind, Buffer, CommitMode, Fsync, Host, OffsetReset, PolicyKind, Role,
    Scenario,
};
use log::broker::{Broker, BrokerSlot, BrokerState};
use log::consumer::Consumer;
use log::controller::{Controller, ControllerSlot, ControllerState};
use queue::broker::{Node, QueueBroker, QueueSlot};
use queue::consumer::{queues_of, QueueConsumer};
use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::rc::{Rc, Weak};
use std::time::Duration;

/// The pipeline under test: producers → a replicated log cluster (brokers
/// and a controller) → a consumer group → store nodes; or, with
/// `broker.kind = "queue"`, producers → classic queue nodes → competing
/// consumers → store nodes.
#[derive(Default)]
pub struct Pipeline {
    brokers: RefCell<Vec<BrokerSlot>>,
    controller: ControllerSlot,
    queue_nodes: RefCell<Vec<QueueSlot>>,
    producers: RefCell<Vec<ProducerSlot>>,
    /// The relays' publishers (with a `[buffer]`).
    relays: RefCell<Vec<ProducerSlot>>,
    #[cfg(feature = "mutants")]
    mutant: Option<mutant::Mutant>,
}

impl Pipeline {
    pub fn new() -> Pipeline {
        Pipeline::default()
    }

    /// The pipeline with one deliberate bug (the mutation suite only).
    #[cfg(feature = "mutants")]
    pub fn with_mutant(m: mutant::Mutant) -> Pipeline {
        Pipeline {
            mutant: Some(m),
            ..Pipeline::default()
        }
    }

    fn controller(&self) -> Option<Rc<RefCell<ControllerState>>> {
        self.controller.borrow().upgrade()
    }

    /// The queue node that speaks for the cluster: a serving master, the
    /// newest epoch first (two may serve at once in a split brain).
    fn queue_master(&self) -> Option<Rc<RefCell<Node>>> {
        self.queue_nodes
            .borrow()
            .iter()
            .filter_map(|s| s.borrow().upgrade())
            .filter(|n| n.borrow().serving())
            .max_by_key(|n| {
                let n = n.borrow();
                (n.epoch, std::cmp::Reverse(n.id))
            })
    }

    fn is_queue(&self) -> bool {
        !self.queue_nodes.borrow().is_empty()
    }

    fn broker(&self, b: u32) -> Option<Rc<RefCell<BrokerState>>> {
        self.brokers.borrow().get(b as usize)?.borrow().upgrade()
    }

    /// The live broker whose replica of `p` speaks for the partition: its
    /// leader in the controller's table, or, while it is offline, the
    /// first live in-sync replica (what a clean election would pick).
    fn speaker(&self, c: &ControllerState, p: usize) -> Option<Rc<RefCell<BrokerState>>> {
        let st = &c.cluster.partitions[p];
        match st.leader {
            Some(l) => self.broker(l),
            None => st.isr.iter().find_map(|&b| self.broker(b)),
        }
    }
}

/// Registers a host whose software is `run(incarnation)`; every restart
/// (turmoil's `bounce`) calls it with the next incarnation number, so the
/// actor's RNG stream differs per incarnation but stays seeded.
fn host<A: 'static, F>(sim: &mut turmoil::Sim<'_>, name: Host, actor: Rc<A>, run: F)
where
    F: Fn(Rc<A>, u64) -> std::pin::Pin<Box<dyn std::future::Future<Output = turmoil::Result>>>
        + 'static,
{
    let incarnation = Cell::new(0u64);
    sim.host(name.to_string(), move || {
        let n = incarnation.get();
        incarnation.set(n + 1);
        run(actor.clone(), n)
    });
}

/// The scenario a buffer's hosts run (its brokers, controller, producers
/// and relays): the buffer as a replicated log (`acks = "all"`, fsync per
/// batch), its relays as a consumer group of it, applying nothing but
/// forwarding; everything else as the scenario says.
fn buffer_stage(sc: &Scenario, b: &Buffer) -> Scenario {
    let mut s = sc.clone();
    s.topology.brokers = b.brokers;
    s.topology.partitions = b.partitions;
    s.topology.replication = b.replication;
    s.broker = harness::scenario::Broker {
        kind: BrokerKind::Log,
        fsync: Fsync::PerBatch,
        acks: Acks::All,
        min_insync: b.min_insync,
        unclean_leader_election: false,
        replica_lag_max: Duration::from_secs(10),
        retention_messages: None,
        retention_age: None,
        processing: Duration::ZERO,
        cores: 1,
        ..sc.broker.clone()
    };
    s.consumer.group = "relays".to_string();
    s.consumer.workers = b.relays;
    s.consumer.commit = CommitMode::AfterEffect;
    s.consumer.concurrency = 1;
    s.consumer.processing = Duration::ZERO;
    s.consumer.cores = 1;
    s.consumer.reads = 0;
    s.consumer.assignment = Assignment::Range;
    s.consumer.auto_offset_reset = OffsetReset::Earliest;
    s.policy.kind = PolicyKind::Unbounded;
    s
}

impl Model for Pipeline {
    fn install(&self, sim: &mut turmoil::Sim<'_>, env: &Env) {
        #[cfg(feature = "mutants")]
        mutant::set(self.mutant);
        let sc: Rc<Scenario> = env.scenario.clone();
        // With a buffer, producers, the controller and the relays live in
        // the buffer's stage (0), the queue and what follows it in stage 1.
        let front: Rc<Scenario> = match &sc.buffer {
            Some(b) => Rc::new(buffer_stage(&sc, b)),
            None => sc.clone(),
        };
        let (first, last) = if sc.buffer.is_some() {
            env.recorder.set_stages(&["buffer", "queue"]);
            (env.recorder.staged(0), env.recorder.staged(1))
        } else {
            (env.recorder.clone(), env.recorder.clone())
        };
        // Keys are drawn against the pipeline's partitions (a hot partition
        // is the queue's, with a buffer), as the key map says.
        let schedule = Rc::new(Schedule::new(
            &sc.workload,
            sc.duration,
            sc.topology.partitions,
        ));
        // Where each key goes (a key's partition, or queue, is `key %
        // partitions`; with a buffer, the queue's) and which keys are hot,
        // for the per-class figures.
        let partitions = sc.topology.partitions;
        let by_key = if sc.workload.keys <= harness::history::MAX_KEY_MAP {
            (0..sc.workload.keys).map(|k| k % partitions).collect()
        } else {
            Vec::new()
        };
        env.recorder.set_keys(harness::history::KeyMap {
            partitions,
            partition: by_key,
            hot: schedule.keys.hot(&sc.workload),
        });
        let applied = Rc::new(RefCell::new(BTreeSet::new()));
        let queue = sc.broker.kind == BrokerKind::Queue;
        // Seeded from the run (through an actor's seed), shared by all.
        let poison_seed = env.seed(Host::new(Role::Producer, 0)) ^ 0x706f_6973_6f6e;
        let poison = Rc::new(common::schedule::poison_ids(&sc, &schedule, poison_seed));
        env.recorder.set_poison(poison.iter().copied().collect());
        for h in sc.hosts() {
            let (control, seed) = (env.control(h), env.seed(h));
            match h.role {
                Role::Broker if queue => {
                    let slot: QueueSlot = Rc::new(RefCell::new(Weak::new()));
                    self.queue_nodes.borrow_mut().push(slot.clone());
                    let actor = Rc::new(QueueBroker {
                        index: h.index,
                        scenario: sc.clone(),
                        recorder: last.clone(),
                        control,
                        seed,
                        slot,
                    });
                    host(sim, h, actor, |a, n| Box::pin(a.run(n)));
                }
                Role::Consumer if queue => {
                    let actor = Rc::new(QueueConsumer {
                        index: h.index,
                        scenario: sc.clone(),
                        recorder: last.clone(),
                        control,
                        seed,
                        poison: poison.clone(),
                    });
                    host(sim, h, actor, |a, n| Box::pin(a.run(n)));
                }
                Role::Broker | Role::Buffer => {
                    // A log broker: the pipeline's, or its buffer's.
                    let slot: BrokerSlot = Rc::new(RefCell::new(Weak::new()));
                    self.brokers.borrow_mut().push(slot.clone());
                    let actor = Rc::new(Broker {
                        role: h.role,
                        index: h.index,
                        scenario: front.clone(),
                        recorder: first.clone(),
                        control,
                        seed,
                        slot,
                    });
                    host(sim, h, actor, |a, n| Box::pin(a.run(n)));
                }
                Role::Controller => {
                    let actor = Rc::new(Controller {
                        scenario: front.clone(),
                        recorder: first.clone(),
                        control,
                        seed,
                        slot: self.controller.clone(),
                    });
                    host(sim, h, actor, |a, n| Box::pin(a.run(n)));
                }
                Role::Store => {
                    let actor = Rc::new(Store {
                        index: h.index,
                        scenario: sc.clone(),
                        recorder: last.clone(),
                        control,
                        seed,
                        applied: applied.clone(),
                    });
                    host(sim, h, actor, |a, n| Box::pin(a.run(n)));
                }
                Role::Producer => {
                    let slot: ProducerSlot = Rc::new(RefCell::new(Weak::new()));
                    self.producers.borrow_mut().push(slot.clone());
                    let target = if sc.buffer.is_some() {
                        Role::Buffer
                    } else {
                        Role::Broker
                    };
                    let actor = Rc::new(Producer {
                        slot,
                        index: h.index,
                        scenario: front.clone(),
                        schedule: schedule.clone(),
                        recorder: first.clone(),
                        control,
                        seed,
                        target,
                        forwarding: None,
                    });
                    host(sim, h, actor, |a, n| Box::pin(a.run(n)));
                }
                Role::Consumer => {
                    let actor = Rc::new(Consumer {
                        index: h.index,
                        scenario: sc.clone(),
                        recorder: last.clone(),
                        control,
                        seed,
                        brokers: Role::Broker,
                        relay: None,
                    });
                    host(sim, h, actor, |a, n| Box::pin(a.run(n)));
                }
                Role::Relay => {
                    let b = sc.buffer.as_ref().expect("relays come with a buffer");
                    let slot: ProducerSlot = Rc::new(RefCell::new(Weak::new()));
                    self.relays.borrow_mut().push(slot.clone());
                    let spec = RelaySpec {
                        next: sc.clone(),
                        recorder: last.clone(),
                        slot,
                        schedule: schedule.clone(),
                        share: b.rate_per_s.map(|r| (r, b.relays)),
                        max_depth: b.max_depth,
                    };
                    let actor = Rc::new(Consumer {
                        index: h.index,
                        scenario: front.clone(),
                        recorder: first.clone(),
                        control,
                        seed,
                        brokers: Role::Buffer,
                        relay: Some(spec),
                    });
                    host(sim, h, actor, |a, n| Box::pin(a.run(n)));
                }
            }
        }
    }

    /// Lag per partition: the log end of the replica that speaks for it
    /// minus the group's committed offset. `broker_up = false` while the
    /// controller is down or some partition has no live replica to speak
    /// for it (the gauges cannot be read, as with a crashed single broker).
    fn sample(&self, at_us: u64) -> Sample {
        if !self.is_queue() {
            return self.log_sample(at_us);
        }
        let mut s = self.queue_sample(at_us);
        // A buffer in front: its lag is the relays' backlog, upstream.
        if !self.brokers.borrow().is_empty() {
            let front = self.log_sample(at_us);
            s.broker_up &= front.broker_up;
            s.upstream = front.partitions;
            if !s.broker_up {
                s.partitions.clear();
                s.upstream.clear();
            }
        }
        s
    }

    /// Connections one host may be asked for at once: a broker gets every
    /// effect-free link of producers, consumer workers, followers and
    /// metadata refreshers; the controller every heartbeat and worker; a
    /// store every effect lane.
    fn max_connections_per_host(&self, sc: &Scenario) -> usize {
        let mut n = self.connections(sc);
        if let Some(b) = &sc.buffer {
            n = n.max(self.connections(&buffer_stage(sc, b)));
        }
        n
    }

    /// What the queue (or the cluster) still holds for its consumers, and
    /// what the producers (and relays) still hold.
    fn inventory(&self) -> Inventory {
        let mut inventory = if self.is_queue() {
            self.queue_inventory()
        } else {
            self.log_inventory()
        };
        if self.is_queue() && !self.brokers.borrow().is_empty() {
            inventory.upstream_held = self.log_inventory().held;
        }
        inventory.in_flight = held_by(&self.producers.borrow());
        inventory.relay_in_flight = held_by(&self.relays.borrow());
        inventory
    }
}

/// Every id the live publishers behind `slots` still hold, sorted.
fn held_by(slots: &[ProducerSlot]) -> Vec<harness::MsgId> {
    let mut ids: Vec<_> = (slots.iter())
        .filter_map(|slot| slot.borrow().upgrade())
        .flat_map(|st| st.borrow().held_ids().collect::<Vec<_>>())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

impl Pipeline {
    /// Lag per partition: the log end of the replica that speaks for it
    /// minus the group's committed offset. `broker_up = false` while the
    /// controller is down or some partition has no live replica to speak
    /// for it (the gauges cannot be read, as with a crashed single broker).
    fn log_sample(&self, at_us: u64) -> Sample {
        let down = Sample {
            at_us,
            broker_up: false,
            partitions: Vec::new(),
            upstream: Vec::new(),
        };
        let Some(c) = self.controller() else {
            return down;
        };
        let c = c.borrow();
        let mut partitions = Vec::with_capacity(c.committed.len());
        for p in 0..c.cluster.partitions.len() {
            let Some(b) = self.speaker(&c, p) else {
                return down;
            };
            let b = b.borrow();
            let r = &b.replicas[&(p as u32)];
            // Not clamped to the log start: records retention deleted
            // before the group committed past them are still lag (Kafka's
            // tools report the same), and one a consumer is still
            // applying is the oldest in flight.
            let committed = c.committed[p].unwrap_or(r.log_start).min(r.log_end());
            let lag = r.log_end() - committed;
            // A restarted broker no longer remembers what it deleted: the
            // oldest record it holds is the best it can say.
            let oldest = r
                .append_us_at(committed)
                .or_else(|| r.append_us_at(r.log_start));
            let lag_age_us = match oldest {
                Some(oldest) if lag > 0 => at_us.saturating_sub(oldest),
                _ => 0,
            };
            partitions.push(PartitionGauge {
                partition: p as u32,
                depth: r.records.len() as u64,
                lag_messages: lag,
                lag_age_us,
            });
        }
        Sample {
            at_us,
            broker_up: true,
            partitions,
            upstream: Vec::new(),
        }
    }

    fn connections(&self, sc: &Scenario) -> usize {
        let t = &sc.topology;
        if sc.broker.kind == BrokerKind::Queue {
            let c = &sc.consumer;
            let pollers: usize = (0..c.workers)
                .map(|w| queues_of(w, c.workers, t.partitions).len() * c.concurrency as usize)
                .sum();
            let producers = sc.workload.producers as usize;
            // A relay publishes into the queue as a producer does, and
            // probes its depth.
            let relays = sc.buffer.as_ref().map_or(0, |b| b.relays as usize);
            let to_broker =
                producers * 2 + relays * 3 + pollers + c.workers as usize + t.brokers as usize * 3;
            return pollers.max(to_broker) + 16;
        }
        let partitions = t.partitions as usize;
        let workers = sc.consumer.workers as usize;
        let producers = sc.workload.producers as usize;
        let lanes = partitions * sc.consumer.concurrency as usize;
        let brokers = t.brokers as usize;
        let to_broker =
            producers * 2 + workers * (partitions + 1) + partitions * t.replication as usize;
        let to_controller = brokers * 2 + workers * (partitions + 1);
        lanes.max(to_broker).max(to_controller) + 16
    }

    /// What the cluster still holds for the group: per partition, the
    /// speaking replica's records from the committed offset on.
    fn log_inventory(&self) -> Inventory {
        let Some(c) = self.controller() else {
            return Inventory::default();
        };
        let c = c.borrow();
        let mut held = Vec::new();
        let mut partitions = Vec::new();
        for p in 0..c.cluster.partitions.len() {
            let Some(b) = self.speaker(&c, p) else {
                continue;
            };
            let b = b.borrow();
            let r = &b.replicas[&(p as u32)];
            let committed = c.committed[p].unwrap_or(r.log_start);
            let from = committed.clamp(r.log_start, r.log_end());
            held.extend(r.read(from, usize::MAX).iter().map(|s| s.id));
            partitions.push(PartitionInventory {
                partition: p as u32,
                log_start: r.log_start,
                log_end: r.log_end(),
                committed,
            });
        }
        held.sort();
        held.dedup();
        Inventory {
            partitions,
            held,
            ..Inventory::default()
        }
    }
}

impl Pipeline {
    /// Per queue: depth = lag = messages held (visible, in flight or
    /// delayed), age of the oldest; `broker_up = false` while no node serves.
    fn queue_sample(&self, at_us: u64) -> Sample {
        let Some(node) = self.queue_master() else {
            return Sample {
                at_us,
                broker_up: false,
                partitions: Vec::new(),
                upstream: Vec::new(),
            };
        };
        let node = node.borrow();
        let partitions = node
            .queues
            .iter()
            .enumerate()
            .map(|(q, queue)| PartitionGauge {
                partition: q as u32,
                depth: queue.len() as u64,
                lag_messages: queue.len() as u64,
                lag_age_us: queue
                    .oldest()
                    .map_or(0, |m| at_us.saturating_sub(m.append_us)),
            })
            .collect();
        Sample {
            at_us,
            broker_up: true,
            partitions,
            upstream: Vec::new(),
        }
    }

    /// What the serving master still holds, and apart what its dead-letter
    /// queues hold (those ids are dead-lettered, not stranded). Per queue,
    /// the "log" is its sequence range: the oldest held seq to the next.
    fn queue_inventory(&self) -> Inventory {
        let Some(node) = self.queue_master() else {
            return Inventory::default();
        };
        let node = node.borrow();
        let mut held = Vec::new();
        let mut dead_letters = Vec::new();
        let mut partitions = Vec::new();
        for (q, queue) in node.queues.iter().enumerate() {
            held.extend(queue.messages().map(|m| m.id));
            dead_letters.extend(queue.dead_letters().map(|m| m.id));
            let start = queue.oldest().map_or(queue.next_seq, |m| m.seq);
            partitions.push(PartitionInventory {
                partition: q as u32,
                log_start: start,
                log_end: queue.next_seq,
                committed: start,
            });
        }
        held.sort();
        held.dedup();
        dead_letters.sort();
        dead_letters.dedup();
        Inventory {
            partitions,
            held,
            dead_letters,
            ..Inventory::default()
        }
    }
}

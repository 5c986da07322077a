//! The systems under test. Actors are async tokio code over `turmoil::net`,
//! written as a real service would be; they know nothing of scenario files,
//! checkers or reports, only the validated [`Scenario`] and the engine's
//! recording and control interface.

mod breaker;
mod broker;
mod consumer;
mod controller;
mod group;
mod link;
mod metadata;
pub mod mutant;
mod producer;
pub mod queue;
mod queue_broker;
mod queue_consumer;
mod replica;
mod schedule;
pub mod storage;
mod store;
pub mod wire;

use broker::{Broker, BrokerSlot, BrokerState};
use consumer::Consumer;
use controller::{Controller, ControllerSlot, ControllerState};
use harness::history::{Inventory, PartitionGauge, PartitionInventory, Sample};
use harness::model::{Env, Model};
use harness::scenario::{BrokerKind, Host, Role, Scenario};
use producer::{Producer, ProducerSlot};
use queue_broker::{Node, QueueBroker, QueueSlot};
use queue_consumer::{queues_of, QueueConsumer};
use schedule::Schedule;
use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::rc::{Rc, Weak};
use store::Store;

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

impl Model for Pipeline {
    fn install(&self, sim: &mut turmoil::Sim<'_>, env: &Env) {
        #[cfg(feature = "mutants")]
        mutant::set(self.mutant);
        let sc: Rc<Scenario> = env.scenario.clone();
        let schedule = Rc::new(Schedule::new(
            &sc.workload,
            sc.duration,
            sc.topology.partitions,
        ));
        // Where each key goes (a key's partition, or queue, is `key %
        // partitions`) and which keys are hot, for the per-class figures.
        let partitions = sc.topology.partitions;
        let by_key = (sc.workload.keys <= harness::history::MAX_KEY_MAP)
            .then(|| (0..sc.workload.keys).map(|k| k % partitions).collect())
            .unwrap_or_default();
        env.recorder.set_keys(harness::history::KeyMap {
            partitions,
            partition: by_key,
            hot: schedule.keys.hot(&sc.workload),
        });
        let applied = Rc::new(RefCell::new(BTreeSet::new()));
        let queue = sc.broker.kind == BrokerKind::Queue;
        // Seeded from the run (through an actor's seed), shared by all.
        let poison_seed = env.seed(Host::new(Role::Producer, 0)) ^ 0x706f_6973_6f6e;
        let poison = Rc::new(schedule::poison_ids(&sc, &schedule, poison_seed));
        env.recorder.set_poison(poison.iter().copied().collect());
        for h in sc.hosts() {
            let (recorder, control, seed) = (env.recorder.clone(), env.control(h), env.seed(h));
            let scenario = sc.clone();
            match h.role {
                Role::Broker if queue => {
                    let slot: QueueSlot = Rc::new(RefCell::new(Weak::new()));
                    self.queue_nodes.borrow_mut().push(slot.clone());
                    let actor = Rc::new(QueueBroker {
                        index: h.index,
                        scenario,
                        recorder,
                        control,
                        seed,
                        slot,
                    });
                    host(sim, h, actor, |a, n| Box::pin(a.run(n)));
                }
                Role::Consumer if queue => {
                    let actor = Rc::new(QueueConsumer {
                        index: h.index,
                        scenario,
                        recorder,
                        control,
                        seed,
                        poison: poison.clone(),
                    });
                    host(sim, h, actor, |a, n| Box::pin(a.run(n)));
                }
                Role::Broker => {
                    let slot: BrokerSlot = Rc::new(RefCell::new(Weak::new()));
                    self.brokers.borrow_mut().push(slot.clone());
                    let actor = Rc::new(Broker {
                        index: h.index,
                        scenario,
                        recorder,
                        control,
                        seed,
                        slot,
                    });
                    host(sim, h, actor, |a, n| Box::pin(a.run(n)));
                }
                Role::Controller => {
                    let actor = Rc::new(Controller {
                        scenario,
                        recorder,
                        control,
                        seed,
                        slot: self.controller.clone(),
                    });
                    host(sim, h, actor, |a, n| Box::pin(a.run(n)));
                }
                Role::Store => {
                    let actor = Rc::new(Store {
                        index: h.index,
                        scenario,
                        recorder,
                        control,
                        seed,
                        applied: applied.clone(),
                    });
                    host(sim, h, actor, |a, n| Box::pin(a.run(n)));
                }
                Role::Producer => {
                    let slot: ProducerSlot = Rc::new(RefCell::new(Weak::new()));
                    self.producers.borrow_mut().push(slot.clone());
                    let actor = Rc::new(Producer {
                        slot,
                        index: h.index,
                        scenario,
                        schedule: schedule.clone(),
                        recorder,
                        control,
                        seed,
                    });
                    host(sim, h, actor, |a, n| Box::pin(a.run(n)));
                }
                Role::Consumer => {
                    let actor = Rc::new(Consumer {
                        index: h.index,
                        scenario,
                        recorder,
                        control,
                        seed,
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
        if self.is_queue() {
            return self.queue_sample(at_us);
        }
        let down = Sample {
            at_us,
            broker_up: false,
            partitions: Vec::new(),
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
        }
    }

    /// Connections one host may be asked for at once: a broker gets every
    /// effect-free link of producers, consumer workers, followers and
    /// metadata refreshers; the controller every heartbeat and worker; a
    /// store every effect lane.
    fn max_connections_per_host(&self, sc: &Scenario) -> usize {
        let t = &sc.topology;
        if sc.broker.kind == BrokerKind::Queue {
            let c = &sc.consumer;
            let pollers: usize = (0..c.workers)
                .map(|w| queues_of(w, c.workers, t.partitions).len() * c.concurrency as usize)
                .sum();
            let producers = sc.workload.producers as usize;
            let to_broker = producers * 2 + pollers + c.workers as usize + t.brokers as usize * 3;
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
    fn inventory(&self) -> Inventory {
        let mut inventory = if self.is_queue() {
            self.queue_inventory()
        } else {
            self.log_inventory()
        };
        let mut in_flight: Vec<_> = (self.producers.borrow().iter())
            .filter_map(|slot| slot.borrow().upgrade())
            .flat_map(|st| st.borrow().held_ids().collect::<Vec<_>>())
            .collect();
        in_flight.sort();
        inventory.in_flight = in_flight;
        inventory
    }
}

impl Pipeline {
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

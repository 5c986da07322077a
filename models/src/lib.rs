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
use harness::scenario::{Host, Role, Scenario};
use producer::Producer;
use schedule::Schedule;
use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::rc::{Rc, Weak};
use store::Store;

/// The pipeline under test: producers → a replicated log cluster (brokers
/// and a controller) → a consumer group → store nodes.
#[derive(Default)]
pub struct Pipeline {
    brokers: RefCell<Vec<BrokerSlot>>,
    controller: ControllerSlot,
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
        let schedule = Rc::new(Schedule::new(&sc.workload, sc.duration));
        let applied = Rc::new(RefCell::new(BTreeSet::new()));
        for h in sc.hosts() {
            let (recorder, control, seed) = (env.recorder.clone(), env.control(h), env.seed(h));
            let scenario = sc.clone();
            match h.role {
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
                    let actor = Rc::new(Producer {
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
            let committed = c.committed[p]
                .unwrap_or(r.log_start)
                .clamp(r.log_start, r.log_end());
            let lag = r.log_end() - committed;
            let lag_age_us = match r.read(committed, 1).first() {
                Some(oldest) if lag > 0 => at_us.saturating_sub(oldest.append_us),
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
        Inventory { partitions, held }
    }
}

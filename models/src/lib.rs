//! The systems under test. Actors are async tokio code over `turmoil::net`,
//! written as a real service would be; they know nothing of scenario files,
//! checkers or reports, only the validated [`Scenario`] and the engine's
//! recording and control interface.

mod broker;
mod consumer;
mod link;
mod producer;
mod schedule;
pub mod storage;
mod store;
pub mod wire;

use broker::{Broker, BrokerSlot};
use consumer::Consumer;
use harness::history::{Inventory, Sample};
use harness::model::{Env, Model};
use harness::scenario::{Host, Role, Scenario};
use producer::Producer;
use schedule::Schedule;
use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::rc::{Rc, Weak};
use store::Store;

/// The pipeline of the engine's first system under test: producers → a
/// single-node log broker → a consumer group → store nodes.
#[derive(Default)]
pub struct Pipeline {
    broker: BrokerSlot,
}

impl Pipeline {
    pub fn new() -> Pipeline {
        Pipeline {
            broker: Rc::new(RefCell::new(Weak::new())),
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
        let sc: Rc<Scenario> = env.scenario.clone();
        let schedule = Rc::new(Schedule::new(&sc.workload, sc.duration));
        for h in sc.hosts() {
            let (recorder, control, seed) = (env.recorder.clone(), env.control(h), env.seed(h));
            let scenario = sc.clone();
            match h.role {
                Role::Broker => {
                    let actor = Rc::new(Broker {
                        scenario,
                        recorder,
                        control,
                        seed,
                        slot: self.broker.clone(),
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
                        applied: Rc::new(RefCell::new(BTreeSet::new())),
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

    fn sample(&self, at_us: u64) -> Sample {
        match self.broker.borrow().upgrade() {
            Some(state) => state.borrow().sample(at_us),
            None => Sample {
                at_us,
                broker_up: false,
                partitions: Vec::new(),
            },
        }
    }

    /// Every effect lane may connect to one store at once, every partition
    /// worker and producer to the broker.
    fn max_connections_per_host(&self, sc: &Scenario) -> usize {
        let partitions = sc.topology.partitions as usize;
        partitions * sc.consumer.concurrency as usize
            + partitions
            + sc.workload.producers as usize
            + 16
    }

    fn inventory(&self) -> Inventory {
        match self.broker.borrow().upgrade() {
            Some(state) => state.borrow().inventory(),
            None => Inventory::default(),
        }
    }
}

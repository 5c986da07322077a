//! The systems under test. Actors are async tokio code over `turmoil::net`,
//! written as a real service would be; they know nothing of scenario files,
//! checkers or reports, only the validated [`Scenario`] and the engine's
//! recording and control interface.

#![warn(missing_docs)]

mod common;
mod log;
pub mod mutant;
mod queue;
mod registry;

pub use common::handler::{Context, Failure, Handler, Message, Store, StoreWriter};
pub use common::policy::{
    Admission, Backpressure, Bound, CircuitBreaker, Delivery, Lag, LagPolicy, SilentDrop, Unbounded,
};
pub use common::store_client::Unanswered;
pub use common::store_model::{LatencyStore, Node, StoreModel, Write};
pub use registry::Registry;

use common::family::{install_host, Family, Shared};
use common::producer::{Producer, ProducerSlot};
use common::relay::RelaySpec;
use common::schedule::Schedule;
use common::store::StoreNode;
use harness::history::{Inventory, Sample};
use harness::model::{Env, HostEnv, Model};
use harness::scenario::{
    Acks, Assignment, BrokerKind, Buffer, CommitMode, Fsync, Host, OffsetReset, PolicyKind, Role,
    Scenario,
};
use log::cluster::LogCluster;
use log::consumer::Consumer;
use queue::cluster::QueueCluster;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::{Rc, Weak};
use std::time::Duration;

/// The pipeline under test: producers → a broker family's cluster and its
/// consumers → store nodes. `broker.kind = "log"`: a replicated log (brokers
/// and a controller) and a consumer group; `"queue"`: classic queue nodes
/// and competing consumers; with a `[buffer]`, a replicated log and its
/// relays in front of the queue.
#[derive(Default)]
pub struct Pipeline {
    /// The family `broker.kind` names, chosen at install.
    family: RefCell<Option<Rc<dyn Family>>>,
    /// With a `[buffer]`: the log cluster in front of the queue.
    buffer: RefCell<Option<Rc<LogCluster>>>,
    producers: RefCell<Vec<ProducerSlot>>,
    /// The relays' publishers (with a `[buffer]`).
    relays: RefCell<Vec<ProducerSlot>>,
    /// The actors of one's own the scenario may name.
    registry: Registry,
    #[cfg(feature = "mutants")]
    mutant: Option<mutant::Mutant>,
}

impl Pipeline {
    /// A pipeline to install: the scenario it is installed with decides
    /// its family, hosts and handlers.
    pub fn new() -> Pipeline {
        Pipeline::default()
    }

    /// A pipeline that runs, besides mqsim's own actors, those `registry`
    /// names: a scenario picks them with `[consumer] handler`, `[policy]
    /// kind` and `[store] model`.
    pub fn with(registry: Registry) -> Pipeline {
        Pipeline {
            registry,
            ..Pipeline::default()
        }
    }

    /// The pipeline with one deliberate bug (the mutation suite only).
    #[cfg(feature = "mutants")]
    pub fn with_mutant(m: mutant::Mutant) -> Pipeline {
        Pipeline {
            mutant: Some(m),
            ..Pipeline::default()
        }
    }
}

/// The family `kind` names: the one place a new family is added.
fn family(kind: BrokerKind) -> Rc<dyn Family> {
    match kind {
        BrokerKind::Log => Rc::new(LogCluster::default()),
        BrokerKind::Queue => Rc::new(QueueCluster::default()),
    }
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
        // Seeded from the run (through an actor's seed), shared by all.
        let poison_seed = env.seed(Host::new(Role::Producer, 0)) ^ 0x706f_6973_6f6e;
        let poison = Rc::new(common::schedule::poison_ids(&sc, &schedule, poison_seed));
        env.recorder.set_poison(poison.iter().copied().collect());
        // Validation admits only registered names; a scenario that was not
        // validated against this pipeline's registry fails here, loudly.
        let name = &sc.consumer.handler;
        let handler = self.registry.handler_factory(name).unwrap_or_else(|| {
            panic!("consumer.handler: no handler named {name:?} is registered with this pipeline")
        });
        let name = &sc.store.model;
        let store = self.registry.store_factory(name).unwrap_or_else(|| {
            panic!("store.model: no store model named {name:?} is registered with this pipeline")
        });
        let shared = Shared {
            poison,
            handler,
            policy: self.registry.policy_factory(),
        };
        let main = family(sc.broker.kind);
        let buffer = sc.buffer.as_ref().map(|_| Rc::new(LogCluster::default()));
        *self.family.borrow_mut() = Some(main.clone());
        *self.buffer.borrow_mut() = buffer.clone();
        for h in sc.hosts() {
            // A host of the front stage (a buffer's, or the only stage's).
            let front_env = HostEnv {
                scenario: front.clone(),
                recorder: first.clone(),
                ..env.host(h)
            };
            let last_env = HostEnv {
                scenario: sc.clone(),
                recorder: last.clone(),
                ..env.host(h)
            };
            match h.role {
                Role::Store => {
                    let applied = applied.clone();
                    let actor = Rc::new(StoreNode {
                        env: last_env,
                        model: store.clone(),
                        applied,
                    });
                    install_host(sim, h, actor, |a, n| Box::pin(a.run(n)));
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
                        env: front_env,
                        schedule: schedule.clone(),
                        slot,
                        target,
                        forwarding: None,
                    });
                    install_host(sim, h, actor, |a, n| Box::pin(a.run(n)));
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
                    // A relay forwards; its handler never runs.
                    let builtin = harness::scenario::BUILTIN_HANDLER;
                    let actor = Rc::new(Consumer {
                        env: front_env,
                        handler: self.registry.handler_factory(builtin).expect("built in"),
                        policy: shared.policy.clone(),
                        brokers: Role::Buffer,
                        relay: Some(spec),
                    });
                    install_host(sim, h, actor, |a, n| Box::pin(a.run(n)));
                }
                // The family's hosts; what it does not run (a queue has no
                // controller) belongs to the buffer in front, if any.
                _ => {
                    let installed = main.install(sim, last_env, &shared)
                        || buffer
                            .as_ref()
                            .is_some_and(|b| b.install(sim, front_env, &shared));
                    assert!(installed, "{h}: no broker family of this pipeline runs it");
                }
            }
        }
    }

    /// The family's gauges; with a buffer in front, its lag is the relays'
    /// backlog, upstream, and the gauges count only while both can be read.
    fn sample(&self, at_us: u64) -> Sample {
        let Some(main) = self.family.borrow().clone() else {
            return Sample::down(at_us);
        };
        let mut s = main.sample(at_us);
        if let Some(buffer) = self.buffer.borrow().as_ref() {
            let front = buffer.sample(at_us);
            s.broker_up &= front.broker_up;
            s.upstream = front.partitions;
            if !s.broker_up {
                s.partitions.clear();
                s.upstream.clear();
            }
        }
        s
    }

    fn actors(&self) -> harness::scenario::Actors {
        self.registry.actors()
    }

    /// Connections one host may be asked for at once: the family's bound,
    /// and its buffer's.
    fn max_connections_per_host(&self, sc: &Scenario) -> usize {
        let mut n = family(sc.broker.kind).connections(sc);
        if let Some(b) = &sc.buffer {
            n = n.max(LogCluster::default().connections(&buffer_stage(sc, b)));
        }
        n
    }

    /// What the family (and a buffer in front) still holds for its
    /// consumers, and what the producers (and relays) still hold.
    fn inventory(&self) -> Inventory {
        let mut inventory = match self.family.borrow().as_ref() {
            Some(main) => main.inventory(),
            None => Inventory::default(),
        };
        if let Some(buffer) = self.buffer.borrow().as_ref() {
            inventory.upstream_held = buffer.inventory().held;
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

//! The log family as the pipeline sees it: which hosts are its (brokers,
//! the controller, the consumer group's members), and how the model reads
//! lag and the final inventory from the replica that speaks for each
//! partition.

use super::broker::{Broker, BrokerSlot, BrokerState};
use super::consumer::Consumer;
use super::controller::{Controller, ControllerSlot, ControllerState};
use crate::common::family::{install_host, Family, Shared};
use harness::history::{Inventory, PartitionGauge, PartitionInventory, Sample};
use harness::model::HostEnv;
use harness::scenario::{Role, Scenario};
use std::cell::RefCell;
use std::rc::{Rc, Weak};

/// A replicated log cluster: brokers (`broker-<n>`, or `buffer-<n>` when
/// it is a buffer in front of a queue), `controller-0`, and its consumer
/// group (`consumer-<n>`; a buffer's relays are installed by the pipeline).
#[derive(Default)]
pub struct LogCluster {
    brokers: RefCell<Vec<BrokerSlot>>,
    controller: ControllerSlot,
}

impl LogCluster {
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

impl Family for LogCluster {
    fn install(&self, sim: &mut turmoil::Sim<'_>, env: HostEnv, shared: &Shared) -> bool {
        let h = env.host;
        match h.role {
            Role::Broker | Role::Buffer => {
                let slot: BrokerSlot = Rc::new(RefCell::new(Weak::new()));
                self.brokers.borrow_mut().push(slot.clone());
                let policy = shared.policy.clone();
                let actor = Rc::new(Broker { env, slot, policy });
                install_host(sim, h, actor, |a, n| Box::pin(a.run(n)));
            }
            Role::Controller => {
                let slot = self.controller.clone();
                let actor = Rc::new(Controller { env, slot });
                install_host(sim, h, actor, |a, n| Box::pin(a.run(n)));
            }
            Role::Consumer => {
                let actor = Rc::new(Consumer {
                    env,
                    handler: shared.handler.clone(),
                    policy: shared.policy.clone(),
                    brokers: Role::Broker,
                    relay: None,
                });
                install_host(sim, h, actor, |a, n| Box::pin(a.run(n)));
            }
            Role::Producer | Role::Store | Role::Relay => return false,
        }
        true
    }

    /// Lag per partition: the log end of the replica that speaks for it
    /// minus the group's committed offset. `broker_up = false` while the
    /// controller is down or some partition has no live replica to speak
    /// for it (the gauges cannot be read, as with a crashed single broker).
    fn sample(&self, at_us: u64) -> Sample {
        let Some(c) = self.controller() else {
            return Sample::down(at_us);
        };
        let c = c.borrow();
        let mut partitions = Vec::with_capacity(c.committed.len());
        for p in 0..c.cluster.partitions.len() {
            let Some(b) = self.speaker(&c, p) else {
                return Sample::down(at_us);
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
        Sample::up(at_us, partitions)
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
        Inventory {
            partitions,
            held,
            ..Inventory::default()
        }
    }

    /// A broker gets every effect-free link of producers, consumer workers,
    /// followers and metadata refreshers; the controller every heartbeat
    /// and worker; a store every effect lane.
    fn connections(&self, sc: &Scenario) -> usize {
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
}

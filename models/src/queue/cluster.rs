//! The classic family as the pipeline sees it: which hosts are its (queue
//! nodes and the consumers that poll them; there is no coordinator), and
//! how the model reads depth, age and the final inventory from the serving
//! master.

use super::broker::{Node, QueueBroker, QueueSlot};
use super::consumer::{queues_of, QueueConsumer};
use crate::common::family::{install_host, Family, Shared};
use harness::history::{Inventory, PartitionGauge, PartitionInventory, Sample};
use harness::model::HostEnv;
use harness::scenario::{Role, Scenario};
use std::cell::RefCell;
use std::rc::{Rc, Weak};

/// Classic queue nodes (`broker-<n>`, mirroring one master) and their
/// competing consumers (`consumer-<n>`).
#[derive(Default)]
pub struct QueueCluster {
    nodes: RefCell<Vec<QueueSlot>>,
}

impl QueueCluster {
    /// The queue node that speaks for the cluster: a serving master, the
    /// newest epoch first (two may serve at once in a split brain).
    fn master(&self) -> Option<Rc<RefCell<Node>>> {
        self.nodes
            .borrow()
            .iter()
            .filter_map(|s| s.borrow().upgrade())
            .filter(|n| n.borrow().serving())
            .max_by_key(|n| {
                let n = n.borrow();
                (n.epoch, std::cmp::Reverse(n.id))
            })
    }
}

impl Family for QueueCluster {
    fn install(&self, sim: &mut turmoil::Sim<'_>, env: HostEnv, shared: &Shared) -> bool {
        let h = env.host;
        match h.role {
            Role::Broker => {
                let slot: QueueSlot = Rc::new(RefCell::new(Weak::new()));
                self.nodes.borrow_mut().push(slot.clone());
                let actor = Rc::new(QueueBroker { env, slot });
                install_host(sim, h, actor, |a, n| Box::pin(a.run(n)));
            }
            Role::Consumer => {
                let actor = Rc::new(QueueConsumer {
                    env,
                    handler: shared.handler.clone(),
                    poison: shared.poison.clone(),
                });
                install_host(sim, h, actor, |a, n| Box::pin(a.run(n)));
            }
            Role::Controller | Role::Buffer | Role::Relay | Role::Producer | Role::Store => {
                return false
            }
        }
        true
    }

    /// Per queue: depth = lag = messages held (visible, in flight or
    /// delayed), age of the oldest; `broker_up = false` while no node serves.
    fn sample(&self, at_us: u64) -> Sample {
        let Some(node) = self.master() else {
            return Sample::down(at_us);
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
        Sample::up(at_us, partitions)
    }

    /// What the serving master still holds, and apart what its dead-letter
    /// queues hold (those ids are dead-lettered, not stranded). Per queue,
    /// the "log" is its sequence range: the oldest held seq to the next.
    fn inventory(&self) -> Inventory {
        let Some(node) = self.master() else {
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

    /// A node gets every poller, producer (and relay: it publishes as a
    /// producer does, and probes the depth) and mirror link.
    fn connections(&self, sc: &Scenario) -> usize {
        let t = &sc.topology;
        let c = &sc.consumer;
        let pollers: usize = (0..c.workers)
            .map(|w| queues_of(w, c.workers, t.partitions).len() * c.concurrency as usize)
            .sum();
        let producers = sc.workload.producers as usize;
        let relays = sc.buffer.as_ref().map_or(0, |b| b.relays as usize);
        let to_broker =
            producers * 2 + relays * 3 + pollers + c.workers as usize + t.brokers as usize * 3;
        pollers.max(to_broker) + 16
    }
}

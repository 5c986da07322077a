//! A classic queue consumer (an SQS poller, a RabbitMQ consumer, a Lambda
//! event-source mapping). It receives batches from the queue master, runs
//! the handler on each message — store reads, then the effect — and settles
//! the batch: acked messages are deleted; failed ones come back, either when
//! their visibility timeout expires or, with `retry_backoff`, after a
//! growing delay.
//!
//! The handler is the consumer's (`common/handler.rs`): mqsim's
//! `StoreWriter` unless the scenario names a registered one. `StoreWriter`
//! fails on a poison message every time (its payload cannot be processed)
//! and on any store call that goes unanswered within `store_timeout`.
//! Without `partial_batch_failure`, one failure fails the whole batch — the
//! messages already processed come back too, so they are delivered (and,
//! without an idempotent store, applied) again: AWS Lambda's semantics for
//! SQS without ReportBatchItemFailures. With FIFO, a group's messages after
//! a failed one in the same batch are not processed (they would overtake
//! it).
//!
//! Which queues a consumer reads: with at least as many queues as
//! consumers, queue `q` belongs to consumer `q % workers` alone (a
//! recipient's queue); with fewer, consumer `c` reads queue `c % queues`,
//! competing with the others on it.

use crate::common::handler::{Commit, Context, DynHandler, HandlerFactory, Message};
use crate::common::link::{Link, Route};
use crate::common::metadata::Metadata;
use crate::common::store_client::StoreClient;
use crate::common::wire::Delivery;
use crate::common::wire::{Request, Response};
use futures::future::LocalBoxFuture;
use harness::model::HostEnv;
use harness::scenario::{CommitMode, Role};
use harness::{EventKind, MsgId};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;

/// Pause of a poller with no master to ask.
const NO_MASTER_POLL: Duration = Duration::from_millis(50);

/// The queues consumer `c` of `workers` reads out of `queues`.
pub fn queues_of(c: u32, workers: u32, queues: u32) -> Vec<u32> {
    if queues >= workers {
        (0..queues).filter(|q| q % workers == c).collect()
    } else {
        vec![c % queues]
    }
}

pub struct QueueConsumer {
    pub env: HostEnv,
    /// Builds the handler each incarnation runs.
    pub handler: HandlerFactory,
    /// The workload's poison ids: the handler fails on them.
    pub poison: Rc<BTreeSet<MsgId>>,
}

impl QueueConsumer {
    pub async fn run(self: Rc<Self>, incarnation: u64) -> turmoil::Result {
        let sc = self.env.scenario.clone();
        let mut root = self.env.rng(incarnation);
        let queues = sc.topology.partitions;
        let meta = Metadata::new(queues);
        let brokers: Rc<Vec<Rc<Route>>> =
            Rc::new((0..sc.topology.brokers).map(|_| Route::new()).collect());
        let stores = StoreClient::connections(&self.env);
        tokio::task::spawn_local(meta.clone().refresher(
            sc.clone(),
            Role::Broker,
            self.env.control.clone(),
            brokers.clone(),
            sc.consumer.request_timeout,
            ChaCha8Rng::seed_from_u64(root.next_u64()),
        ));
        let handler: Rc<dyn DynHandler> = (self.handler)(&self.env);
        for q in queues_of(self.env.index(), sc.consumer.workers, queues) {
            for _ in 0..sc.consumer.concurrency {
                let rng = ChaCha8Rng::seed_from_u64(root.next_u64());
                let store = StoreClient::new(&self.env, &stores, None, false);
                let poller = self.clone().poll(
                    q,
                    meta.clone(),
                    brokers.clone(),
                    store,
                    handler.clone(),
                    rng,
                );
                tokio::task::spawn_local(poller);
            }
        }
        std::future::pending::<()>().await;
        Ok(())
    }

    async fn poll(
        self: Rc<Self>,
        queue: u32,
        meta: Rc<Metadata>,
        brokers: Rc<Vec<Rc<Route>>>,
        mut store: StoreClient,
        handler: Rc<dyn DynHandler>,
        mut rng: ChaCha8Rng,
    ) {
        let sc = self.env.scenario.clone();
        let c = &sc.consumer;
        let mut links = Link::to_each(Role::Broker, &brokers, c.request_timeout);
        // A handler's own acks go on links of their own (connected only
        // when a handler acks), one per node, kept across batches.
        let ack_links =
            tokio::sync::Mutex::new(Link::to_each(Role::Broker, &brokers, c.request_timeout));
        loop {
            self.env.control.gate().await;
            let Some(master) = meta.leader(queue) else {
                turmoil::time::sleep(NO_MASTER_POLL).await;
                continue;
            };
            let req = Request::Receive {
                queue,
                max: c.fetch_max,
            };
            let deliveries = match links[master as usize].call(&mut rng, &req).await {
                Ok(Response::Received { deliveries }) => deliveries,
                // The master's memory alarm blocks this connection.
                Ok(Response::Blocked) => {
                    turmoil::time::sleep(NO_MASTER_POLL).await;
                    continue;
                }
                _ => {
                    meta.mark_stale();
                    turmoil::time::sleep(NO_MASTER_POLL).await;
                    continue;
                }
            };
            if deliveries.is_empty() {
                continue;
            }
            for d in &deliveries {
                let kind = EventKind::Deliver {
                    consumer: self.env.index(),
                    attempt: d.receives,
                };
                self.env.recorder.record(d.msg.id, d.msg.key, kind);
            }
            let ack = QueueAck {
                env: self.env.clone(),
                queue,
                deliveries: &deliveries,
                links: &ack_links,
                master,
                acked: RefCell::new(BTreeSet::new()),
            };
            let link = &mut links[master as usize];
            if c.commit == CommitMode::BeforeEffect {
                // Auto-ack: deleted on receipt, whatever the handler does.
                self.settle(link, &mut rng, queue, &deliveries, &[]).await;
                self.handle(&deliveries, &*handler, &mut store, &mut rng, &ack)
                    .await;
                continue;
            }
            let failed = (self.handle(&deliveries, &*handler, &mut store, &mut rng, &ack)).await;
            // What the handler acked itself is settled already.
            let acked = ack.acked.into_inner();
            let deliveries: Vec<Delivery> = (deliveries.iter())
                .filter(|d| !acked.contains(&d.msg.seq))
                .copied()
                .collect();
            let (acks, nacks): (Vec<Delivery>, Vec<Delivery>) = if failed.is_empty() {
                (deliveries, Vec::new())
            } else if c.partial_batch_failure {
                deliveries
                    .into_iter()
                    .partition(|d| !failed.contains(&d.msg.seq))
            } else {
                (Vec::new(), deliveries)
            };
            self.settle(&mut links[master as usize], &mut rng, queue, &acks, &nacks)
                .await;
        }
    }

    /// Runs the handler on each message; returns the seqs that failed.
    async fn handle(
        &self,
        deliveries: &[Delivery],
        handler: &dyn DynHandler,
        store: &mut StoreClient,
        rng: &mut ChaCha8Rng,
        ack: &QueueAck<'_>,
    ) -> BTreeSet<u64> {
        let sc = &self.env.scenario;
        let mut failed = BTreeSet::new();
        let mut failed_groups = BTreeSet::new();
        for d in deliveries {
            self.env.control.gate().await;
            let m = d.msg;
            // A group's later message must not overtake a failed one.
            let overtakes = sc.broker.queue.fifo && failed_groups.contains(&m.key);
            let ok = !overtakes && {
                let msg = Message {
                    id: m.id,
                    key: m.key,
                    partition: ack.queue,
                    offset: m.seq,
                    attempt: d.receives,
                    poison: self.poison.contains(&m.id),
                };
                let mut cx = Context::new(&self.env, msg, store, rng, ack);
                handler.handle(&msg, &mut cx).await.is_ok()
            };
            if !ok {
                failed.insert(m.seq);
                failed_groups.insert(m.key);
            }
        }
        failed
    }

    /// Deletes `acks` and hands `nacks` back (with `retry_backoff`: after
    /// `backoff · 2^(receives-1)`, at most the visibility timeout; without
    /// it they are left to reappear when their visibility timeout ends).
    /// Records `commit` for each ack the master confirmed.
    async fn settle(
        &self,
        link: &mut Link,
        rng: &mut ChaCha8Rng,
        queue: u32,
        acks: &[Delivery],
        nacks: &[Delivery],
    ) {
        let sc = &self.env.scenario;
        let nacks: Vec<_> = match sc.consumer.retry_backoff {
            None => Vec::new(),
            Some(b) => nacks
                .iter()
                .map(|d| {
                    let exp = d.receives.saturating_sub(1).min(20);
                    let delay = b
                        .saturating_mul(1u32 << exp)
                        .min(sc.broker.queue.visibility_timeout);
                    (d.receipt, delay.as_micros() as u64)
                })
                .collect(),
        };
        if acks.is_empty() && nacks.is_empty() {
            return;
        }
        let req = Request::Settle {
            queue,
            acks: acks.iter().map(|d| d.receipt).collect(),
            nacks,
        };
        if let Ok(Response::Settled) = link.call(rng, &req).await {
            for d in acks {
                self.env
                    .recorder
                    .record(d.msg.id, d.msg.key, EventKind::Commit);
            }
        }
    }
}

/// A handler's own ack ([`Context::commit`]): the message's receipt settled
/// at once, on a link of its own to the master that delivered it.
struct QueueAck<'d> {
    env: HostEnv,
    queue: u32,
    deliveries: &'d [Delivery],
    /// The poller's ack links, one per node; locked for a whole call.
    links: &'d tokio::sync::Mutex<Vec<Link>>,
    /// The node that delivered the batch (its receipts are its).
    master: u32,
    /// Seqs the handler acked (the batch's settle leaves them out).
    acked: RefCell<BTreeSet<u64>>,
}

impl Commit for QueueAck<'_> {
    fn commit<'a>(&'a self, rng: &'a mut ChaCha8Rng, msg: &'a Message) -> LocalBoxFuture<'a, bool> {
        Box::pin(async move {
            let Some(d) = self.deliveries.iter().find(|d| d.msg.seq == msg.offset) else {
                return false;
            };
            let req = Request::Settle {
                queue: self.queue,
                acks: vec![d.receipt],
                nacks: Vec::new(),
            };
            let answer = self.links.lock().await[self.master as usize]
                .call(rng, &req)
                .await;
            if !matches!(answer, Ok(Response::Settled)) {
                return false;
            }
            self.acked.borrow_mut().insert(msg.offset);
            self.env.recorder.record(msg.id, msg.key, EventKind::Commit);
            true
        })
    }
}

#[cfg(test)]
mod tests {
    use super::queues_of;

    #[test]
    fn queues_are_owned_or_shared() {
        assert_eq!(queues_of(1, 3, 7), vec![1, 4]);
        assert_eq!(queues_of(0, 2, 2), vec![0]);
        // Fewer queues than consumers: they compete.
        assert_eq!(queues_of(0, 4, 1), vec![0]);
        assert_eq!(queues_of(3, 4, 1), vec![0]);
        assert_eq!(queues_of(3, 4, 2), vec![1]);
    }
}

//! The downstream store's behaviour, the third seam for code of one's own:
//! a [`StoreModel`] decides how long each read and write takes on a store
//! node and whether a write takes effect. The node around it (`store.rs`)
//! owns what no model may change: the network, the host's pause and CPU,
//! the `slow_storage` windows (through [`Node::io`]), the store's durable
//! contents (which ids are applied, shared by every node and incarnation)
//! and the `effect` record the checkers read. mqsim's own model is
//! [`LatencyStore`].

use harness::model::{draw, HostEnv};
use harness::MsgId;
use rand::RngCore;
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

/// A write a consumer sent: a message's effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Write {
    /// The message whose effect it is.
    pub id: MsgId,
    /// The key it writes.
    pub key: u32,
    /// The writer made the id its idempotency key (`write_once`): apply it
    /// only if no copy has applied the id yet.
    pub once: bool,
}

/// One store node as its model sees it while serving one request.
pub struct Node<'a> {
    env: &'a HostEnv,
    /// Shared by the node's connections, each borrowing it for a draw.
    rng: &'a RefCell<ChaCha8Rng>,
    applied: &'a RefCell<BTreeSet<MsgId>>,
}

impl<'a> Node<'a> {
    pub(crate) fn new(
        env: &'a HostEnv,
        rng: &'a RefCell<ChaCha8Rng>,
        applied: &'a RefCell<BTreeSet<MsgId>>,
    ) -> Node<'a> {
        Node { env, rng, applied }
    }

    /// Waits `base` of storage work, plus what a `slow_storage` window on
    /// this node adds (an extra latency, or `base` times a factor).
    pub async fn io(&mut self, base: Duration) {
        let extra = self
            .env
            .control
            .storage_delay(base, &mut *self.rng.borrow_mut());
        let delay = base + extra;
        if delay > Duration::ZERO {
            turmoil::time::sleep(delay).await;
        }
    }

    /// Waits `d` of simulated time that is not storage work (a cache hit,
    /// a computation): no `slow_storage` window changes it.
    pub async fn sleep(&self, d: Duration) {
        turmoil::time::sleep(d).await;
    }

    /// A write's latency on a healthy node, drawn from `store.latency`.
    pub fn write_latency(&mut self) -> Duration {
        draw(self.env.scenario.store.latency, &mut *self.rng.borrow_mut())
    }

    /// A read's latency on a healthy node, drawn from `store.read_latency`.
    pub fn read_latency(&mut self) -> Duration {
        draw(
            self.env.scenario.store.read_latency,
            &mut *self.rng.borrow_mut(),
        )
    }

    /// Marks `id` applied in the store's durable contents; true if no copy
    /// had applied it before.
    pub fn apply(&mut self, id: MsgId) -> bool {
        self.applied.borrow_mut().insert(id)
    }

    /// Whether some copy has applied `id`.
    pub fn has_applied(&self, id: MsgId) -> bool {
        self.applied.borrow().contains(&id)
    }

    /// Whether the scenario makes every write idempotent
    /// (`consumer.idempotent`: the store ignores an id it has).
    pub fn idempotent(&self) -> bool {
        self.env.scenario.consumer.idempotent
    }

    /// This node's number (`store-1` → 1).
    pub fn index(&self) -> u32 {
        self.env.index()
    }

    /// Simulated time since the run began.
    pub fn now(&self) -> Duration {
        turmoil::elapsed()
    }

    /// Draws from this node incarnation's RNG (seeded from the run), as
    /// `f` does: `node.with_rng(|r| r.random_bool(0.9))`.
    pub fn with_rng<T>(&mut self, f: impl FnOnce(&mut dyn RngCore) -> T) -> T {
        f(&mut *self.rng.borrow_mut())
    }
}

/// How a store node serves reads and writes. A node builds a new model for
/// every incarnation: what a model keeps in memory (a cache) is gone after
/// a crash, while the applied ids ([`Node::apply`]) are durable.
pub trait StoreModel {
    /// Serves a read of `key`: returns when the answer goes out.
    fn read(&self, key: u32, node: &mut Node<'_>) -> impl Future<Output = ()>;

    /// Serves `write`: returns when the answer goes out, and whether the
    /// write took effect (an `effect` the checkers count) or was ignored.
    fn write(&self, write: Write, node: &mut Node<'_>) -> impl Future<Output = bool>;
}

/// A [`StoreModel`] behind a pointer: what the nodes hold.
pub(crate) trait DynStoreModel {
    fn read<'a>(
        &'a self,
        key: u32,
        node: &'a mut Node<'_>,
    ) -> futures::future::LocalBoxFuture<'a, ()>;
    fn write<'a>(
        &'a self,
        write: Write,
        node: &'a mut Node<'_>,
    ) -> futures::future::LocalBoxFuture<'a, bool>;
}

impl<S: StoreModel> DynStoreModel for S {
    fn read<'a>(
        &'a self,
        key: u32,
        node: &'a mut Node<'_>,
    ) -> futures::future::LocalBoxFuture<'a, ()> {
        Box::pin(StoreModel::read(self, key, node))
    }
    fn write<'a>(
        &'a self,
        write: Write,
        node: &'a mut Node<'_>,
    ) -> futures::future::LocalBoxFuture<'a, bool> {
        Box::pin(StoreModel::write(self, write, node))
    }
}

/// Builds the model one store node incarnation runs.
pub type StoreFactory = std::rc::Rc<dyn Fn(&HostEnv) -> std::rc::Rc<dyn DynStoreModel>>;

/// mqsim's own store: every read takes `store.read_latency`, every write
/// `store.latency` (each slowed in a `slow_storage` window), and a write
/// takes effect unless it is idempotent (`write_once`, or
/// `consumer.idempotent`) and some copy has its id already.
pub struct LatencyStore;

impl StoreModel for LatencyStore {
    async fn read(&self, _key: u32, node: &mut Node<'_>) {
        let base = node.read_latency();
        node.io(base).await;
    }

    async fn write(&self, write: Write, node: &mut Node<'_>) -> bool {
        let base = node.write_latency();
        node.io(base).await;
        let new = node.apply(write.id);
        new || !(write.once || node.idempotent())
    }
}

//! The consumer's handler: the code a consumer runs for each message it is
//! delivered, and the one seam through which that code — mqsim's own
//! ([`StoreWriter`]) or a user's — reaches the simulated world. The
//! consumer runtimes (`log/consumer.rs`, `queue/consumer.rs`) own
//! membership, fetching or receiving, effect lanes and settling; for each
//! message they build a [`Context`] and await [`Handler::handle`].
//!
//! Everything a handler can reach through its [`Context`] is simulated and
//! seeded: the store (with the scenario's latencies, slow-storage windows,
//! crashes and partitions), time, the CPU, an RNG of its own. A handler
//! that reaches past it — `std::time`, an unseeded RNG, threads, a
//! `HashMap`'s iteration order feeding what it writes — makes runs of one
//! seed differ.

use crate::common::store_client::{StoreClient, Unanswered};
use crate::common::wire::Request;
use futures::future::LocalBoxFuture;
use harness::model::HostEnv;
use harness::MsgId;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::future::Future;
use std::time::Duration;

/// A message as the consumer was delivered it. mqsim models no payloads:
/// a message is its id and key, and what the checkers judge is which ids
/// took effect in the store, how often, and in which order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Message {
    /// The message's id (`p3-17`: producer 3's message 17).
    pub id: MsgId,
    /// Its key: it decides the partition (or queue) and the store nodes
    /// that hold the key.
    pub key: u32,
    /// The partition (log) or queue it was delivered from.
    pub partition: u32,
    /// Its offset in the partition (log), or its sequence number in the
    /// queue.
    pub offset: u64,
    /// How many times it has been delivered, this delivery included (1:
    /// the first): a queue counts its receives; a log consumer counts its
    /// partition worker's deliveries of the offset (a new worker — after
    /// a rebalance, a restart or a failed record — starts again at 1).
    pub attempt: u32,
    /// Whether its payload is poison: no handler can process it.
    pub poison: bool,
}

/// Why a handler gave up on a message. A queue consumer hands the message
/// back (it is delivered again after its visibility timeout or backoff, or
/// dead-lettered after `max_receives`); a log consumer's worker fetches
/// again from its partition's committed offset (under `before_effect`,
/// past the failed record: it was committed already).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The payload cannot be processed ([`Message::poison`]).
    Poison,
    /// A store call went unanswered (it may have taken effect anyway).
    Unanswered,
    /// The handler's own reason.
    Other(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Poison => f.write_str("the message is poison"),
            Failure::Unanswered => f.write_str("a store call went unanswered"),
            Failure::Other(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for Failure {}

impl From<Unanswered> for Failure {
    fn from(_: Unanswered) -> Failure {
        Failure::Unanswered
    }
}

/// How the runtime that delivered a message commits it: a log consumer
/// commits its partition's offset past it, a queue consumer acks it (the
/// queue deletes it).
pub(crate) trait Commit {
    /// Commits `msg` now; false if the broker refused it (the partition
    /// moved to another member) or did not answer.
    fn commit<'a>(&'a self, rng: &'a mut ChaCha8Rng, msg: &'a Message) -> LocalBoxFuture<'a, bool>;
}

/// What a handler reaches the simulated world through while it handles one
/// message: the store, time, the host's CPU, its RNG, and committing.
pub struct Context<'a> {
    env: &'a HostEnv,
    msg: Message,
    store: &'a mut StoreClient,
    rng: &'a mut ChaCha8Rng,
    commit: &'a dyn Commit,
}

impl<'a> Context<'a> {
    pub(crate) fn new(
        env: &'a HostEnv,
        msg: Message,
        store: &'a mut StoreClient,
        rng: &'a mut ChaCha8Rng,
        commit: &'a dyn Commit,
    ) -> Context<'a> {
        Context {
            env,
            msg,
            store,
            rng,
            commit,
        }
    }

    /// The store nodes, as this consumer reaches them.
    pub fn store(&mut self) -> Store<'_> {
        Store {
            client: self.store,
            rng: self.rng,
        }
    }

    /// Simulated time since the run began.
    pub fn now(&self) -> Duration {
        turmoil::elapsed()
    }

    /// Waits `d` of simulated time.
    pub async fn sleep(&self, d: Duration) {
        turmoil::time::sleep(d).await;
    }

    /// Spends `cost` of CPU on one of the consumer's `cores` (waiting for a
    /// free one; a `slow_cpu` window multiplies it).
    pub async fn work(&self, cost: Duration) {
        self.env.control.work(cost).await;
    }

    /// This consumer task's RNG: seeded from the run's seed, the consumer
    /// and its incarnation, so a handler's draws replay with the seed.
    pub fn rng(&mut self) -> &mut impl Rng {
        &mut *self.rng
    }

    /// The consumer's number (`consumer-2` → 2).
    pub fn consumer(&self) -> u32 {
        self.env.index()
    }

    /// The scenario's `[consumer]` settings.
    pub fn config(&self) -> &harness::scenario::Consumer {
        &self.env.scenario.consumer
    }

    /// How many copies of each key the store keeps (`topology.store_replication`).
    pub fn store_replication(&self) -> u32 {
        self.env.scenario.topology.store_replication
    }

    /// Commits the message now, before the runtime would: a log consumer
    /// commits its partition's offset past it (and so past every earlier
    /// record of the partition, handled or not; never back: if the worker
    /// already committed past it, nothing is sent), retrying until the
    /// coordinator answers; false if it refused (the partition moved to
    /// another member). A queue consumer acks it at once: false if the node
    /// did not answer; a stale receipt is answered but deletes nothing.
    /// A handler that commits before its effect loses the message if it
    /// crashes in between: `lost` counts it.
    pub async fn commit(&mut self) -> bool {
        self.commit.commit(self.rng, &self.msg).await
    }
}

/// The store as one consumer task reaches it. Each call is one attempt,
/// answered within `consumer.store_timeout` or not at all
/// ([`Unanswered`]: it may still have taken effect).
pub struct Store<'c> {
    client: &'c mut StoreClient,
    rng: &'c mut ChaCha8Rng,
}

impl Store<'_> {
    /// Reads `key` from its first copy (or, under `circuit_breaker`, the
    /// first copy whose breaker allows it).
    pub async fn read(&mut self, key: u32) -> Result<(), Unanswered> {
        self.read_replica(key, 0).await
    }

    /// Reads `key` from its `replica`-th copy (0: the first; counting on
    /// wraps around).
    pub async fn read_replica(&mut self, key: u32, replica: u32) -> Result<(), Unanswered> {
        let req = Request::Read { key };
        self.client.call(self.rng, key, replica, &req).await
    }

    /// Writes `msg`'s effect to its key's first copy. The store applies
    /// every write it gets (unless `consumer.idempotent` makes it ignore an
    /// id it already has): a retried write that had taken effect is a
    /// duplicate effect.
    pub async fn write(&mut self, msg: &Message) -> Result<(), Unanswered> {
        self.write_replica(msg, 0).await
    }

    /// [`Store::write`] to the key's `replica`-th copy.
    pub async fn write_replica(&mut self, msg: &Message, replica: u32) -> Result<(), Unanswered> {
        let req = Request::Apply {
            id: msg.id,
            key: msg.key,
        };
        self.client.call(self.rng, msg.key, replica, &req).await
    }

    /// Writes `msg`'s effect with the message id as its idempotency key:
    /// the store applies it only if no copy has applied that id yet, so
    /// retrying is safe.
    pub async fn write_once(&mut self, msg: &Message) -> Result<(), Unanswered> {
        let req = Request::ApplyOnce {
            id: msg.id,
            key: msg.key,
        };
        self.client.call(self.rng, msg.key, 0, &req).await
    }
}

/// The code a consumer runs for each message it is delivered.
///
/// `Ok(())`: the message is handled (the runtime commits or acks it as
/// `consumer.commit` says); `Err`: it failed (see [`Failure`]). A handler
/// holds no state across a crash: the consumer builds a new one for every
/// incarnation, shared by all its partitions and lanes — calls interleave
/// at every `.await`, so a `RefCell` must not stay borrowed across one.
pub trait Handler {
    /// Handles `msg`.
    fn handle(
        &self,
        msg: &Message,
        cx: &mut Context<'_>,
    ) -> impl Future<Output = Result<(), Failure>>;
}

/// A [`Handler`] behind a pointer: what the runtimes hold.
pub(crate) trait DynHandler {
    fn handle<'a>(
        &'a self,
        msg: &'a Message,
        cx: &'a mut Context<'_>,
    ) -> LocalBoxFuture<'a, Result<(), Failure>>;
}

impl<H: Handler> DynHandler for H {
    fn handle<'a>(
        &'a self,
        msg: &'a Message,
        cx: &'a mut Context<'_>,
    ) -> LocalBoxFuture<'a, Result<(), Failure>> {
        Box::pin(Handler::handle(self, msg, cx))
    }
}

/// mqsim's own handler, the one a scenario runs unless it names another:
/// `consumer.processing` of CPU, then `consumer.reads` reads of the key,
/// each from a random copy, then the effect on the key's first copy. A
/// poison message fails it. An unanswered call fails the message when the
/// broker redelivers failed messages (a queue); a log consumer's handler
/// tries again instead — on the next copy with `consumer.read_retry` — as
/// failing would re-fetch the whole partition from its committed offset.
pub struct StoreWriter {
    /// Retry an unanswered store call instead of failing the message.
    pub retry_unanswered: bool,
}

impl StoreWriter {
    /// One store call, retried until answered if the writer retries.
    async fn call(
        &self,
        cx: &mut Context<'_>,
        msg: &Message,
        replica: u32,
        write: bool,
    ) -> Result<(), Failure> {
        let mut i = replica;
        loop {
            let mut store = cx.store();
            let answered = if write {
                store.write_replica(msg, i).await
            } else {
                store.read_replica(msg.key, i).await
            };
            match answered {
                Ok(()) => return Ok(()),
                Err(e) if !self.retry_unanswered => return Err(e.into()),
                Err(_) => {
                    if cx.config().read_retry {
                        i = i.wrapping_add(1);
                    }
                }
            }
        }
    }
}

impl Handler for StoreWriter {
    async fn handle(&self, msg: &Message, cx: &mut Context<'_>) -> Result<(), Failure> {
        cx.work(cx.config().processing).await;
        if msg.poison {
            return Err(Failure::Poison);
        }
        for _ in 0..cx.config().reads {
            let copies = cx.store_replication();
            let first = cx.rng().random_range(0..copies);
            self.call(cx, msg, first, false).await?;
        }
        self.call(cx, msg, 0, true).await
    }
}

/// Builds the handler one consumer incarnation runs (a crashed consumer's
/// handler is gone with whatever it held in memory).
pub type HandlerFactory = std::rc::Rc<dyn Fn(&HostEnv) -> std::rc::Rc<dyn DynHandler>>;

//! A downstream store node (Cassandra-like: each key lives on
//! `store_replication` nodes). Its model (`store_model.rs`: mqsim's
//! `LatencyStore` unless the scenario names a registered one) decides how
//! long each read and write takes — slowed inside a `slow_storage` window
//! (by an extra latency, or a factor: a compaction makes reads merge more
//! files) — and whether a write takes effect; the node records the
//! `effect`. Its contents
//! are durable and survive a crash (a database, not a cache). The applied
//! ids are shared by every node, as replicas converge on one row per
//! message: an idempotent store ignores an id any replica already has.

use crate::common::mux::{Outbox, Tagged};
use crate::common::store_model::{DynStoreModel, Node, StoreFactory, Write};
use crate::common::wire::{read_frame, Request, Response, STORE_PORT};
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use harness::model::HostEnv;
use harness::{EventKind, MsgId};
use rand_chacha::ChaCha8Rng;
use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::rc::Rc;
use tokio::sync::Notify;
use turmoil::net::tcp::OwnedReadHalf;
use turmoil::net::{TcpListener, TcpStream};

pub struct StoreNode {
    pub env: HostEnv,
    /// Builds the model each incarnation serves requests with.
    pub model: StoreFactory,
    /// Ids applied so far, on any node: outlives incarnations, like a
    /// database's data.
    pub applied: Rc<RefCell<BTreeSet<MsgId>>>,
}

impl StoreNode {
    pub async fn run(self: Rc<Self>, incarnation: u64) -> turmoil::Result {
        let rng = Rc::new(RefCell::new(self.env.rng(incarnation)));
        let model = (self.model)(&self.env);
        let listener = TcpListener::bind((IpAddr::V4(Ipv4Addr::UNSPECIFIED), STORE_PORT)).await?;
        loop {
            let (stream, _) = listener.accept().await?;
            let serve = self.clone().serve(stream, model.clone(), rng.clone());
            tokio::task::spawn_local(serve);
        }
    }

    /// Serves one consumer's connection: its requests concurrently (the
    /// calls of a consumer's tasks share the connection), each answer
    /// tagged with its request's id, those ready in one step sent together.
    /// A request is read, and waits at the host's gate, in a reader task;
    /// this one serves them (a set of futures, not a task per request) and
    /// ends when the reader has and every request it passed is answered:
    /// a write whose consumer is gone still takes effect.
    async fn serve(
        self: Rc<Self>,
        stream: TcpStream,
        model: Rc<dyn DynStoreModel>,
        rng: Rc<RefCell<ChaCha8Rng>>,
    ) {
        let (read, write) = stream.into_split();
        let outbox = Rc::new(Outbox::default());
        let out = outbox.clone();
        tokio::task::spawn_local(async move { out.pump(write).await });
        let inbox = Rc::new(Inbox::default());
        tokio::task::spawn_local(self.clone().read(read, inbox.clone()));
        let mut serving = FuturesUnordered::new();
        loop {
            for (id, op) in inbox.ops.borrow_mut().drain(..) {
                let answer = self.clone().answer(op, model.clone(), rng.clone());
                serving.push(answer.map(move |resp| (id, resp)));
            }
            if serving.is_empty() {
                if inbox.done.get() {
                    break;
                }
                inbox.ready.notified().await;
                continue;
            }
            tokio::select! {
                biased;
                Some((id, resp)) = serving.next() => {
                    // The consumer may be gone: its answer is dropped with
                    // the connection.
                    let _ = outbox.push(id, &resp);
                }
                () = inbox.ready.notified() => {}
            }
        }
        outbox.close();
    }

    /// Reads a connection's requests into `inbox` until it ends (or sends
    /// something a store does not serve).
    async fn read(self: Rc<Self>, mut read: OwnedReadHalf, inbox: Rc<Inbox>) {
        while let Ok((id, req)) = read_frame::<Tagged<Request>, _>(&mut read).await {
            self.env.control.gate().await;
            let op = match req {
                Request::Apply { id, key } => Op::Write(Write {
                    id,
                    key,
                    once: false,
                }),
                Request::ApplyOnce { id, key } => Op::Write(Write {
                    id,
                    key,
                    once: true,
                }),
                Request::Read { key } => Op::Read(key),
                _ => break,
            };
            inbox.ops.borrow_mut().push((id, op));
            inbox.ready.notify_one();
        }
        inbox.done.set(true);
        inbox.ready.notify_one();
    }

    /// Serves one request.
    async fn answer(
        self: Rc<Self>,
        op: Op,
        model: Rc<dyn DynStoreModel>,
        rng: Rc<RefCell<ChaCha8Rng>>,
    ) -> Response {
        let mut node = Node::new(&self.env, &rng, &self.applied);
        match op {
            Op::Write(write) => {
                if model.write(write, &mut node).await {
                    let effect = EventKind::Effect {
                        store: self.env.index(),
                    };
                    self.env.recorder.record(write.id, write.key, effect);
                }
                Response::Applied
            }
            Op::Read(key) => {
                model.read(key, &mut node).await;
                Response::Read
            }
        }
    }
}

/// Requests a connection's reader passes to its server.
#[derive(Default)]
struct Inbox {
    ops: RefCell<Vec<(u32, Op)>>,
    ready: Notify,
    /// The connection ended: nothing more will come.
    done: Cell<bool>,
}

/// What a store node is asked to do.
enum Op {
    Write(Write),
    Read(u32),
}

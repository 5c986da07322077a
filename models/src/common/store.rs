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

use crate::common::store_model::{DynStoreModel, Node, StoreFactory, Write};
use crate::common::wire::{read_frame, write_frame, Request, Response, STORE_PORT};
use harness::model::HostEnv;
use harness::{EventKind, MsgId};
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::rc::Rc;
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

    async fn serve(
        self: Rc<Self>,
        mut stream: TcpStream,
        model: Rc<dyn DynStoreModel>,
        rng: Rc<RefCell<ChaCha8Rng>>,
    ) {
        while let Ok(req) = read_frame::<Request>(&mut stream).await {
            self.env.control.gate().await;
            let mut node = Node::new(&self.env, &rng, &self.applied);
            let answer = match req {
                Request::Apply { id, key } | Request::ApplyOnce { id, key } => {
                    let once = matches!(req, Request::ApplyOnce { .. });
                    if model.write(Write { id, key, once }, &mut node).await {
                        let effect = EventKind::Effect {
                            store: self.env.index(),
                        };
                        self.env.recorder.record(id, key, effect);
                    }
                    Response::Applied
                }
                Request::Read { key } => {
                    model.read(key, &mut node).await;
                    Response::Read
                }
                _ => return,
            };
            if write_frame(&mut stream, &answer).await.is_err() {
                return;
            }
        }
    }
}

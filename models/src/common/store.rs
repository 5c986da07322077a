//! A downstream store node (Cassandra-like: each key lives on
//! `store_replication` nodes). It answers reads after its read latency and
//! applies effects (writes) after its write latency, each slowed inside a
//! `slow_storage` window (by an extra latency, or a factor: a compaction
//! makes reads merge more files), and records the `effect`. Its contents
//! are durable and survive a crash (a database, not a cache). The applied
//! ids are shared by every node, as replicas converge on one row per
//! message: an idempotent store ignores an id any replica already has.

use crate::common::wire::{read_frame, write_frame, Request, Response, STORE_PORT};
use harness::model::{draw, HostEnv};
use harness::{EventKind, MsgId};
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::rc::Rc;
use std::time::Duration;
use turmoil::net::{TcpListener, TcpStream};

pub struct StoreNode {
    pub env: HostEnv,
    /// Ids applied so far, on any node: outlives incarnations, like a
    /// database's data.
    pub applied: Rc<RefCell<BTreeSet<MsgId>>>,
}

impl StoreNode {
    pub async fn run(self: Rc<Self>, incarnation: u64) -> turmoil::Result {
        let rng = Rc::new(RefCell::new(self.env.rng(incarnation)));
        let listener = TcpListener::bind((IpAddr::V4(Ipv4Addr::UNSPECIFIED), STORE_PORT)).await?;
        loop {
            let (stream, _) = listener.accept().await?;
            tokio::task::spawn_local(self.clone().serve(stream, rng.clone()));
        }
    }

    async fn serve(self: Rc<Self>, mut stream: TcpStream, rng: Rc<RefCell<ChaCha8Rng>>) {
        let store = &self.env.scenario.store;
        while let Ok(req) = read_frame::<Request>(&mut stream).await {
            self.env.control.gate().await;
            let profile = match req {
                Request::Apply { .. } | Request::ApplyOnce { .. } => store.latency,
                Request::Read { .. } => store.read_latency,
                _ => return,
            };
            let delay = {
                let rng = &mut *rng.borrow_mut();
                let base = draw(profile, rng);
                base + self.env.control.storage_delay(base, rng)
            };
            if delay > Duration::ZERO {
                tokio::time::sleep(delay).await;
            }
            let answer = match req {
                Request::Apply { id, key } | Request::ApplyOnce { id, key } => {
                    let idempotent = self.env.scenario.consumer.idempotent
                        || matches!(req, Request::ApplyOnce { .. });
                    let new = self.applied.borrow_mut().insert(id);
                    if new || !idempotent {
                        self.env.recorder.record(
                            id,
                            key,
                            EventKind::Effect {
                                store: self.env.index(),
                            },
                        );
                    }
                    Response::Applied
                }
                _ => Response::Read,
            };
            if write_frame(&mut stream, &answer).await.is_err() {
                return;
            }
        }
    }
}

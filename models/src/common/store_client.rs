//! A consumer's side of the downstream store: its connection to every store
//! node (one per node, shared by all its tasks: `mux`), and, under the
//! `circuit_breaker` policy, the member's breaker per node in front of them. One call is one attempt: it picks the key's replica (passing over a node whose breaker is
//! open, waiting while every replica's is), sends the request and waits up
//! to `consumer.store_timeout` for the answer. What to do when a call goes
//! unanswered — try again, on the next replica, or give up on the message —
//! is the handler's.

use crate::common::breaker::{Breaker, Call, Permit};
use crate::common::mux::Mux;
use crate::common::wire::{Request, Response};
use harness::model::{HostEnv, Recorder};
use harness::scenario::BreakerConfig;
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// Pause of a store call whose every replica's breaker is open.
const BREAKER_WAIT: Duration = Duration::from_millis(10);

/// A consumer member's circuit breakers, one per store node, shared by its
/// workers (the `circuit_breaker` policy).
pub struct Breakers {
    consumer: u32,
    recorder: Recorder,
    nodes: RefCell<Vec<Breaker>>,
    /// A call slower than this counts as slow (`BreakerConfig::slow_call`).
    slow_call: Duration,
}

impl Breakers {
    /// Closed breakers with `config` for every store node of `consumer`'s
    /// scenario.
    pub fn new(consumer: &HostEnv, config: BreakerConfig) -> Breakers {
        let stores = consumer.scenario.topology.stores;
        Breakers {
            consumer: consumer.index(),
            recorder: consumer.recorder.clone(),
            slow_call: config.slow_call,
            nodes: RefCell::new((0..stores).map(|_| Breaker::new(config.clone())).collect()),
        }
    }

    /// How many of the breakers are not closed now.
    pub fn tripped(&self) -> u32 {
        let nodes = self.nodes.borrow();
        nodes
            .iter()
            .filter(|b| b.state() != harness::history::BreakerState::Closed)
            .count() as u32
    }

    /// A permit for a call to `store` now, recording any state change.
    fn allow(&self, store: u32) -> Option<Permit> {
        let (permit, changed) = self.nodes.borrow_mut()[store as usize].allow(turmoil::elapsed());
        if let Some(to) = changed {
            self.recorder.record_breaker(self.consumer, store, to);
        }
        permit
    }

    fn record(&self, store: u32, permit: Permit, call: Call) {
        let now = turmoil::elapsed();
        if let Some(to) = self.nodes.borrow_mut()[store as usize].record(permit, now, call) {
            self.recorder.record_breaker(self.consumer, store, to);
        }
    }
}

/// The store nodes as one consumer task (a log worker's effect lane, a
/// queue poller) reaches them.
pub struct StoreClient {
    env: HostEnv,
    nodes: Rc<[Mux]>,
    breakers: Option<Rc<Breakers>>,
    /// Wait at the host's gate before every call (a log lane, whose
    /// handler retries unanswered calls: a paused consumer must stop
    /// retrying); a queue poller waits at it once per message instead.
    gate_each_call: bool,
}

/// A store call got no answer in time: it may still have taken effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unanswered;

impl std::fmt::Display for Unanswered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the store did not answer in time")
    }
}

impl std::error::Error for Unanswered {}

impl StoreClient {
    /// Calls over `nodes` (the consumer incarnation's connections, one
    /// per store node: [`StoreClient::connections`]) for consumer `env`,
    /// through `breakers` if any.
    pub fn new(
        env: &HostEnv,
        nodes: &Rc<[Mux]>,
        breakers: Option<Rc<Breakers>>,
        gate_each_call: bool,
    ) -> StoreClient {
        StoreClient {
            env: env.clone(),
            nodes: nodes.clone(),
            breakers,
            gate_each_call,
        }
    }

    /// A consumer incarnation's connections to the store nodes, made as
    /// its tasks first call them.
    pub fn connections(env: &HostEnv) -> Rc<[Mux]> {
        let sc = &env.scenario;
        Mux::to_stores(sc.topology.stores, sc.consumer.store_timeout)
    }

    /// The store node holding `key`'s `i`-th copy (`i` counts on past the
    /// last copy, wrapping to the first).
    fn replica(&self, key: u32, i: u32) -> u32 {
        let t = &self.env.scenario.topology;
        (key % t.stores + i % t.store_replication) % t.stores
    }

    /// One attempt of `req` for `key` at its `replica`-th copy, or — with
    /// breakers — at the first copy from there whose breaker allows a call
    /// (waiting while none does).
    pub async fn call(
        &mut self,
        rng: &mut ChaCha8Rng,
        key: u32,
        replica: u32,
        req: &Request,
    ) -> Result<(), Unanswered> {
        let copies = self.env.scenario.topology.store_replication;
        loop {
            if self.gate_each_call {
                self.env.control.gate().await;
            }
            let (store, permit) = match &self.breakers {
                None => (self.replica(key, replica), None),
                Some(b) => {
                    let found = (0..copies)
                        .map(|j| self.replica(key, replica.wrapping_add(j)))
                        .find_map(|s| b.allow(s).map(|p| (s, p)));
                    match found {
                        Some((s, p)) => (s, Some(p)),
                        None => {
                            turmoil::time::sleep(BREAKER_WAIT).await;
                            continue;
                        }
                    }
                }
            };
            let started = turmoil::elapsed();
            let answered = matches!(
                self.nodes[store as usize].call(rng, req).await,
                Ok(Response::Applied | Response::Read)
            );
            if let (Some(b), Some(p)) = (&self.breakers, permit) {
                let took = turmoil::elapsed() - started;
                b.record(store, p, Call::of(answered, took, b.slow_call));
            }
            return if answered { Ok(()) } else { Err(Unanswered) };
        }
    }
}

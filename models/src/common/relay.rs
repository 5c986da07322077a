//! A relay: the way from a buffer (a replicated log in front of a queue)
//! into the queue. It is a consumer-group member of the buffer
//! (`log/consumer.rs`) whose "effect" is to forward each record through a
//! publisher of its own (`common/producer.rs` in forwarding mode) and wait until
//! the queue confirmed it; only then does it commit in the buffer. So a
//! message the queue cannot take — full, in a memory alarm, down — waits in
//! the buffer, durably, and a relay that crashes leaves its records to the
//! next owner of the partition (at least once: some may reach the queue
//! twice).
//!
//! It forwards at most `[buffer] rate` messages per second (the relays
//! share it) and, with `max_depth`, only while the queue node holds fewer
//! messages than that — checked before each fetched batch, so the queue
//! may pass it by up to a batch (`fetch_max`) per relay: the "controlled
//! rate" that keeps a fragile queue below its limits.

use crate::common::link::{Link, Route};
use crate::common::producer::{Forwarding, Producer, ProducerSlot, State};
use crate::common::schedule::Schedule;
use crate::common::wire::{Fetched, Record, Request, Response};
use harness::model::{Control, HostEnv, Recorder};
use harness::scenario::{Role, Scenario};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

/// Pause between two looks at the queue's depth, or at the confirmations.
const POLL: Duration = Duration::from_millis(20);

/// What a relay host is given at install: how to reach the next stage.
pub struct RelaySpec {
    /// The queue stage's scenario (its topology, broker and workload).
    pub next: Rc<Scenario>,
    /// Records for the queue stage (the publisher's sends and acks).
    pub recorder: Recorder,
    /// Where the model finds what the relay's publisher still holds.
    pub slot: ProducerSlot,
    /// Required by a publisher; a relay publishes what it forwards instead.
    pub schedule: Rc<Schedule>,
    /// `[buffer] rate` and the relays that share it: each forwards at most
    /// `rate / relays` messages per second (a fraction, kept exact).
    pub share: Option<(u64, u32)>,
    pub max_depth: Option<u64>,
}

/// One relay incarnation's way out.
pub struct Forwarder {
    next: Rc<Scenario>,
    control: Rc<Control>,
    state: Rc<RefCell<State>>,
    forwarding: Rc<Forwarding>,
    /// The earliest time the next record may go (the rate limit).
    next_at: Cell<Duration>,
    interval: Option<Duration>,
    max_depth: Option<u64>,
    /// Depth probes, one link per queue node, and their RNG: shared by the
    /// relay's workers, one probe at a time.
    probes: tokio::sync::Mutex<(Vec<Link>, ChaCha8Rng)>,
    probe_next: Cell<u32>,
}

impl Forwarder {
    /// Starts the publisher of relay `relay` (this incarnation): a host of
    /// the buffer's stage that publishes into the next one.
    pub fn start(
        spec: &RelaySpec,
        relay: &HostEnv,
        incarnation: u64,
        root: &mut ChaCha8Rng,
    ) -> Rc<Forwarder> {
        let forwarding = Rc::new(Forwarding {
            outstanding: RefCell::new(Default::default()),
            recorder: relay.recorder.clone(),
        });
        let control = relay.control.clone();
        let publisher = Rc::new(Producer {
            env: HostEnv {
                scenario: spec.next.clone(),
                recorder: spec.recorder.clone(),
                ..relay.clone()
            },
            schedule: spec.schedule.clone(),
            slot: spec.slot.clone(),
            target: Role::Broker,
            forwarding: Some(forwarding.clone()),
        });
        let state = publisher.start(incarnation, root);
        let nodes = spec.next.topology.brokers;
        let routes: Vec<Rc<Route>> = (0..nodes).map(|_| Route::new()).collect();
        let timeout = spec.next.workload.request_timeout;
        Rc::new(Forwarder {
            next: spec.next.clone(),
            control,
            state,
            forwarding,
            next_at: Cell::new(Duration::ZERO),
            interval: spec.share.map(|(rate, relays)| {
                Duration::from_nanos(1_000_000_000 * u64::from(relays) / rate.max(1))
            }),
            max_depth: spec.max_depth,
            probes: tokio::sync::Mutex::new((
                Link::to_each(Role::Broker, &routes, timeout),
                ChaCha8Rng::seed_from_u64(rand::RngCore::next_u64(root)),
            )),
            probe_next: Cell::new(0),
        })
    }

    /// Forwards `records` into the queue and returns once the queue
    /// confirmed every one of them.
    pub async fn forward(&self, records: &[Fetched]) {
        if let Some(max) = self.max_depth {
            while self.depth().await.is_none_or(|d| d >= max) {
                turmoil::time::sleep(POLL).await;
            }
        }
        let queues = self.next.topology.partitions;
        for r in records {
            self.control.gate().await;
            self.take_token().await;
            self.forwarding.outstanding.borrow_mut().insert(r.id);
            let record = Record {
                id: r.id,
                key: r.key,
                partition: r.key % queues,
            };
            Producer::forward(&self.state, record, turmoil::elapsed());
        }
        loop {
            let pending = {
                let out = self.forwarding.outstanding.borrow();
                records.iter().any(|r| out.contains(&r.id))
            };
            if !pending {
                return;
            }
            turmoil::time::sleep(POLL).await;
        }
    }

    /// Waits for the rate limit to let one more record go.
    async fn take_token(&self) {
        let Some(step) = self.interval else { return };
        let now = turmoil::elapsed();
        let at = self.next_at.get().max(now);
        self.next_at.set(at + step);
        if at > now {
            turmoil::time::sleep(at - now).await;
        }
    }

    /// How many messages a queue node that serves holds (asked in turn);
    /// None when none answers.
    async fn depth(&self) -> Option<u64> {
        let nodes = self.next.topology.brokers;
        let mut guard = self.probes.lock().await;
        let (links, rng) = &mut *guard;
        for _ in 0..nodes {
            let n = self.probe_next.get();
            self.probe_next.set((n + 1) % nodes);
            if let Ok(Response::Depth { messages }) =
                links[n as usize].call(rng, &Request::Depth).await
            {
                return Some(messages);
            }
        }
        None
    }
}

//! A client's view of who leads each partition, learned from any broker
//! that answers a metadata request — so a client cut off with a stale
//! broker keeps its stale view, as real clients do. Refreshed when unknown
//! or after an error marks it stale.

use crate::common::link::{Link, Route};
use crate::common::wire::{Request, Response};
use harness::model::Control;
use harness::scenario::{Role, Scenario};
use rand_chacha::ChaCha8Rng;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;
use tokio::sync::Notify;

/// How long the refresher waits before asking again when no broker
/// answered or a leader is still unknown.
const REFRESH_POLL: Duration = Duration::from_millis(50);

pub struct Metadata {
    leaders: RefCell<Vec<Option<u32>>>,
    stale: Cell<bool>,
    /// Wakes the refresher when the view is marked stale.
    marked: Notify,
    /// Told (all waiters) when the view changes.
    pub changed: Notify,
}

impl Metadata {
    pub fn new(partitions: u32) -> Rc<Metadata> {
        Rc::new(Metadata {
            leaders: RefCell::new(vec![None; partitions as usize]),
            stale: Cell::new(true),
            marked: Notify::new(),
            changed: Notify::new(),
        })
    }

    pub fn leader(&self, partition: u32) -> Option<u32> {
        self.leaders.borrow()[partition as usize]
    }

    /// An error says the view may be wrong: refresh soon.
    pub fn mark_stale(&self) {
        self.stale.set(true);
        self.marked.notify_one();
    }

    /// Keeps the view fresh for the life of the host, asking brokers (the
    /// hosts of `role`) in turn until one answers. `routes` are the host's
    /// routes per broker.
    #[allow(clippy::too_many_arguments)]
    pub async fn refresher(
        self: Rc<Self>,
        sc: Rc<Scenario>,
        role: Role,
        control: Rc<Control>,
        routes: Rc<Vec<Rc<Route>>>,
        timeout: Duration,
        mut rng: ChaCha8Rng,
    ) {
        let brokers = sc.topology.brokers;
        let mut links = Link::to_each(role, &routes, timeout);
        let mut next = 0u32;
        loop {
            control.gate().await;
            let unknown = self.leaders.borrow().iter().any(Option::is_none);
            if !(self.stale.get() || unknown) {
                // Fresh: nothing to do until an error marks it stale (a
                // permit stored meanwhile is a mark already acted on, or one
                // to act on; either way the loop looks again).
                self.marked.notified().await;
                continue;
            }
            let b = next % brokers;
            next = next.wrapping_add(1);
            match links[b as usize].call(&mut rng, &Request::Metadata).await {
                Ok(Response::Metadata { partitions }) if !partitions.is_empty() => {
                    let leaders: Vec<Option<u32>> = partitions.iter().map(|p| p.leader).collect();
                    if *self.leaders.borrow() != leaders {
                        *self.leaders.borrow_mut() = leaders;
                        self.changed.notify_waiters();
                    }
                    self.stale.set(false);
                    if self.leaders.borrow().iter().any(Option::is_none) {
                        turmoil::time::sleep(REFRESH_POLL).await;
                    }
                }
                _ => turmoil::time::sleep(REFRESH_POLL).await,
            }
        }
    }
}

//! The seam between the pipeline and a broker family. `Pipeline` (lib.rs)
//! installs what every pipeline has — producers, store nodes, a buffer's
//! relays — and hands every other host to the family the scenario names
//! (`broker.kind`): its brokers, its coordinator if it has one, and the
//! consumers that speak its protocol (with a `[buffer]`, what the queue
//! family does not take — the buffer's brokers and controller — goes to a
//! log family in front). A new family is a folder beside `log/` and
//! `queue/` with one type implementing [`Family`] (its brokers may serve
//! through `server`'s loop with a `Connection`), one line in `Pipeline`'s
//! choice of family, and its `broker.kind` in the scenario format (the
//! name, the keys that apply to it, its hosts and lag policies).

use crate::common::handler::HandlerFactory;
use crate::common::policy::PolicyFactory;
use harness::history::{Inventory, Sample};
use harness::model::HostEnv;
use harness::scenario::{Host, Scenario};
use harness::MsgId;
use std::cell::Cell;
use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

/// A broker family: its hosts' software, and how the model reads its
/// gauges and what it holds at the end.
pub trait Family {
    /// Registers the software of `env.host` if the host is one of the
    /// family's (its brokers, its coordinator, its consumers) and returns
    /// true; false: not the family's (the pipeline offers it to a buffer's
    /// family in front, if any; a host nobody takes is a bug).
    fn install(&self, sim: &mut turmoil::Sim<'_>, env: HostEnv, shared: &Shared) -> bool;

    /// Gauges per partition (or queue) now; `broker_up = false` while the
    /// family cannot say (no leader, no serving master).
    fn sample(&self, at_us: u64) -> Sample;

    /// What the cluster still holds for its consumers after the drain, and
    /// what it dead-lettered.
    fn inventory(&self) -> Inventory;

    /// The most connection requests one of its hosts may receive at once
    /// under `sc` (turmoil refuses more than its `tcp_capacity`).
    fn connections(&self, sc: &Scenario) -> usize;
}

/// What the pipeline shares with every family's hosts.
pub struct Shared {
    /// The workload's poison ids: a consumer's handler fails on them.
    pub poison: Rc<BTreeSet<MsgId>>,
    /// Builds the handler of each consumer incarnation.
    pub handler: HandlerFactory,
    /// Builds the lag policy of each broker and consumer incarnation.
    pub policy: PolicyFactory,
}

/// Registers a host whose software is `run(actor, incarnation)`; every
/// restart (turmoil's `bounce`) calls it with the next incarnation number,
/// so the actor's RNG stream ([`HostEnv::rng`]) differs per incarnation but
/// stays seeded.
pub fn install_host<A: 'static, F>(sim: &mut turmoil::Sim<'_>, name: Host, actor: Rc<A>, run: F)
where
    F: Fn(Rc<A>, u64) -> Pin<Box<dyn Future<Output = turmoil::Result>>> + 'static,
{
    let incarnation = Cell::new(0u64);
    sim.host(name.to_string(), move || {
        let n = incarnation.get();
        incarnation.set(n + 1);
        run(actor.clone(), n)
    });
}

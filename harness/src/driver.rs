//! The driver: the only code that touches the turmoil `Sim`. It derives every
//! actor's seed from the run's seed, steps simulated time, applies and heals
//! faults at exact simulated times, samples gauges on a fixed interval, and
//! runs the three phases of DESIGN §5 (load, heal-and-drain, then hands the
//! History to the checkers).

use crate::history::{FaultWindow, History};
use crate::model::{Env, Model};
use crate::scenario::{covers, Fault, FaultKind, Host, LatencyRange, Scenario};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::Once;
use std::time::{Duration, UNIX_EPOCH};

/// Why a run did not produce a History (verdict 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimFailure {
    /// A model panicked (in a host's task or in the driver's calls into it).
    Panic(String),
    /// turmoil reported an error (a host's software returned one).
    Sim(String),
    /// A limit was reached (History size).
    Limit(String),
    /// The History does not account for every message (the conservation
    /// check): a bug in a model's records or in the checkers, never a
    /// finding about the system under test.
    Conservation(String),
}

impl fmt::Display for SimFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimFailure::Panic(m) => write!(f, "a model panicked: {m}"),
            SimFailure::Sim(m) => write!(f, "the simulation failed: {m}"),
            SimFailure::Limit(m) => write!(f, "a limit was reached: {m}"),
            SimFailure::Conservation(m) => write!(
                f,
                "the conservation check failed (a bug in mqsim or in the model, not a finding): {m}"
            ),
        }
    }
}

impl std::error::Error for SimFailure {}

/// A fixed epoch, so nothing a host sees depends on the real date.
const EPOCH_SECS: u64 = 1_700_000_000;

/// Runs `scenario` with `seed` against `model` and returns the History.
pub fn run(scenario: &Scenario, seed: u64, model: &dyn Model) -> Result<History, SimFailure> {
    run_with_steps(scenario, seed, model).map(|(history, _)| history)
}

/// What a run paid for: how many steps each host ran in (a host runs only
/// in steps where it has work), beside the run's ticks. Not part of the
/// History: it measures the engine, not the system simulated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostSteps {
    /// Steps per host, in the order the hosts were added.
    pub by_host: Vec<(String, u64)>,
    /// The run's ticks: a host at every tick ran this many steps.
    pub ticks: u64,
    /// Messages the hosts put on the simulated network (TCP segments of
    /// every kind): the run's traffic, which `mqsim bench` prices with
    /// bare turmoil sockets.
    pub network_messages: u64,
}

impl HostSteps {
    /// All hosts' steps.
    pub fn total(&self) -> u64 {
        self.by_host.iter().map(|(_, n)| n).sum()
    }

    /// The host that ran in the most steps, and how many.
    pub fn busiest(&self) -> Option<(&str, u64)> {
        (self.by_host.iter())
            .max_by_key(|(_, n)| *n)
            .map(|(name, n)| (name.as_str(), *n))
    }
}

/// [`run`], with what the run paid for in host steps (`mqsim bench`).
pub fn run_with_steps(
    scenario: &Scenario,
    seed: u64,
    model: &dyn Model,
) -> Result<(History, HostSteps), SimFailure> {
    install_panic_capture();
    PANICS.with(|p| *p.borrow_mut() = Some(Vec::new()));
    let outcome = catch_unwind(AssertUnwindSafe(|| run_inner(scenario, seed, model)));
    let panics = PANICS.with(|p| p.borrow_mut().take()).unwrap_or_default();
    // A panic in a task a host spawned reaches us as tokio's generic "a
    // spawned task panicked"; the first captured panic is the model's own.
    let first = || panics.first().cloned();
    match outcome {
        Ok(Err(SimFailure::Sim(m))) => Err(first().map_or(SimFailure::Sim(m), SimFailure::Panic)),
        Ok(r) => r,
        Err(payload) => Err(SimFailure::Panic(
            first().unwrap_or_else(|| panic_message(payload.as_ref())),
        )),
    }
}

thread_local! {
    /// Panics raised on this thread while a run is in progress (None: not running).
    static PANICS: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
}

/// Routes panics raised during a run into `PANICS` (message and location)
/// instead of printing them; other panics go to the previous hook. Runs are
/// one per thread, so parallel seeds never mix their panics.
fn install_panic_capture() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = match info.location() {
                Some(l) => format!(
                    "{} (at {}:{})",
                    panic_message(info.payload()),
                    l.file(),
                    l.line()
                ),
                None => panic_message(info.payload()),
            };
            let captured = PANICS.with(|p| match p.borrow_mut().as_mut() {
                Some(v) => {
                    v.push(message);
                    true
                }
                None => false,
            });
            if !captured {
                previous(info);
            }
        }));
    });
}

pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

/// One scheduled change to the world.
#[derive(Debug)]
enum Action {
    Start(usize),
    End(usize),
    /// Load ends: heal everything, restart crashed hosts.
    HealAll,
}

fn run_inner(
    scenario: &Scenario,
    seed: u64,
    model: &dyn Model,
) -> Result<(History, HostSteps), SimFailure> {
    // Seeds are drawn in a fixed order: turmoil's world first, then each host
    // in `Scenario::hosts` order. Adding a host changes only later seeds.
    let mut root = ChaCha8Rng::seed_from_u64(seed);
    let turmoil_seed = root.next_u64();
    let seeds = scenario
        .hosts()
        .into_iter()
        .map(|h| (h, root.next_u64()))
        .collect();

    let load_end = scenario.duration;
    let end = scenario.duration + scenario.drain;
    let net = scenario.network.latency;

    let mut sim = turmoil::Builder::new()
        .rng_seed(turmoil_seed)
        .epoch(UNIX_EPOCH + Duration::from_secs(EPOCH_SECS))
        // The driver owns the end of the run; turmoil's bound is a backstop.
        .simulation_duration(end + Duration::from_secs(60))
        .tick_duration(scenario.tick)
        // A host runs only in steps where it has work (see ARCHITECTURE.md,
        // "Time"): the run costs what it simulates, not hosts × ticks.
        .skip_idle_hosts(true)
        .min_message_latency(net.min)
        .max_message_latency(net.max)
        .tcp_capacity(model.max_connections_per_host(scenario).max(64))
        // Every failed connect leaks a port in turmoil; the default range
        // (16k) runs out in long outages.
        .ephemeral_ports(1024..=65535)
        .build();

    let env = Env::new(Rc::new(scenario.clone()), seeds);
    model.install(&mut sim, &env);

    let mut plan: Vec<(Duration, Action)> = Vec::new();
    for (i, f) in scenario.faults.iter().enumerate() {
        plan.push((f.at, Action::Start(i)));
        if let Some(until) = f.until {
            plan.push((until, Action::End(i)));
        }
    }
    plan.push((load_end, Action::HealAll));
    // Stable: at equal times, faults keep file order and ends precede HealAll.
    plan.sort_by_key(|(at, _)| *at);
    let mut plan = plan.into_iter().peekable();

    let mut world = World {
        scenario,
        env: &env,
        active: BTreeSet::new(),
        crashed: BTreeSet::new(),
        windows: Vec::new(),
    };
    let mut samples = Vec::new();
    // The first sample comes one interval in: at time zero no host has run
    // yet, and a "broker down" sample there would be noise in every timeline.
    let mut next_sample = scenario.sample_interval;

    loop {
        let now = sim.elapsed();
        while let Some((_, action)) = plan.next_if(|(at, _)| *at <= now) {
            world.apply(&mut sim, action, now);
        }
        if now >= next_sample {
            samples.push(model.sample(now.as_micros() as u64));
            next_sample += scenario.sample_interval;
        }
        if now >= end {
            break;
        }
        sim.step().map_err(sim_failure)?;
        if env.recorder.overflowed() {
            return Err(SimFailure::Limit(format!(
                "the History passed {} events; shorten the scenario or lower its rate",
                crate::model::MAX_EVENTS
            )));
        }
    }

    // A host that waited on a timer the simulation could not see was never
    // woken for it: fail rather than report figures from a stalled host.
    sim.check_unseen_timers().map_err(sim_failure)?;
    let steps = HostSteps {
        by_host: sim.host_steps_by_host(),
        ticks: (end.as_nanos() / scenario.tick.as_nanos().max(1)) as u64,
        network_messages: sim.network_messages(),
    };
    let mut events = env.recorder.take();
    // Hosts record in step order; a stable sort by time keeps that order for
    // events of the same microsecond, which keeps the History canonical.
    // They almost always come in time order already, and a stable sort
    // borrows half the History's size as scratch: look before sorting.
    if !events.is_sorted_by_key(|e| e.at_us) {
        events.sort_by_key(|e| e.at_us);
    }
    events.shrink_to_fit();
    world.windows.sort_by_key(|w| (w.start_us, w.index));
    let history = History {
        created: env.recorder.take_created(),
        events,
        samples,
        faults: world.windows,
        inventory: model.inventory(),
        breakers: env.recorder.take_breakers(),
        group: env.recorder.take_group(),
        keys: env.recorder.take_keys(),
        stages: env.recorder.take_stages(),
        poison: env.recorder.take_poison(),
        load_end_us: load_end.as_micros() as u64,
        end_us: end.as_micros() as u64,
    };
    Ok((history, steps))
}

/// turmoil's error as a run's failure; its word for mqsim's timers is
/// `turmoil::time`, which a model's author knows as `mqsim::time`.
fn sim_failure(e: Box<dyn std::error::Error>) -> SimFailure {
    SimFailure::Sim(e.to_string().replace("turmoil::time", "mqsim::time"))
}

/// Fault bookkeeping while the simulation runs.
struct World<'s> {
    scenario: &'s Scenario,
    env: &'s Env,
    /// Faults started and not yet ended.
    active: BTreeSet<usize>,
    crashed: BTreeSet<Host>,
    windows: Vec<FaultWindow>,
}

impl World<'_> {
    fn apply(&mut self, sim: &mut turmoil::Sim<'_>, action: Action, now: Duration) {
        match action {
            Action::Start(i) => {
                let fault = &self.scenario.faults[i];
                self.start(sim, fault);
                // `heal` ends the partitions it covers and `release` the holds,
                // so their windows (and the recovery measured from the last
                // fault's end) close when the network really came back.
                let covered: Vec<usize> = (self.active.iter().copied())
                    .filter(|&j| match (&fault.kind, &self.scenario.faults[j].kind) {
                        (FaultKind::Heal { a, b }, FaultKind::Partition { a: pa, b: pb, .. })
                        | (FaultKind::Release { a, b }, FaultKind::Hold { a: pa, b: pb }) => {
                            covers(a, b, pa, pb)
                        }
                        _ => false,
                    })
                    .collect();
                for j in covered {
                    self.end(sim, j, now);
                }
                if fault.kind.has_window() {
                    self.active.insert(i);
                    self.windows.push(FaultWindow {
                        index: i,
                        kind: fault.kind.name().to_string(),
                        start_us: now.as_micros() as u64,
                        end_us: u64::MAX,
                    });
                } else if fault.kind == FaultKind::Redrive {
                    // An operator's action that puts messages back: in the
                    // History (and reports) as an instant, and recovery
                    // is measured from it if it comes last.
                    let at = now.as_micros() as u64;
                    self.windows.push(FaultWindow {
                        index: i,
                        kind: fault.kind.name().to_string(),
                        start_us: at,
                        end_us: at,
                    });
                }
            }
            Action::End(i) => self.end(sim, i, now),
            Action::HealAll => {
                let active: Vec<usize> = self.active.iter().copied().collect();
                for i in active {
                    self.end(sim, i, now);
                }
                // One-shot faults (heal, release) have no window, and a fault
                // may have been cut short by a later `heal`: leave nothing
                // behind for the drain.
                let all = self.scenario.hosts();
                for_pairs(&all, &all, |a, b| {
                    sim.repair(a.to_string(), b.to_string());
                    sim.release(a.to_string(), b.to_string());
                });
                self.restart_crashed(sim);
            }
        }
    }

    fn start(&mut self, sim: &mut turmoil::Sim<'_>, fault: &Fault) {
        match &fault.kind {
            FaultKind::Partition { a, b, oneway } => for_pairs(a, b, |x, y| {
                if *oneway {
                    sim.partition_oneway(x.to_string(), y.to_string());
                } else {
                    sim.partition(x.to_string(), y.to_string());
                }
            }),
            FaultKind::Heal { a, b } => {
                for_pairs(a, b, |x, y| sim.repair(x.to_string(), y.to_string()))
            }
            FaultKind::Hold { a, b } => {
                for_pairs(a, b, |x, y| sim.hold(x.to_string(), y.to_string()))
            }
            FaultKind::Release { a, b } => {
                for_pairs(a, b, |x, y| sim.release(x.to_string(), y.to_string()))
            }
            FaultKind::Latency { a, b, latency } => set_latency(sim, a, b, *latency),
            FaultKind::Loss { a, b, rate } => for_pairs(a, b, |x, y| {
                sim.set_link_fail_rate(x.to_string(), y.to_string(), *rate)
            }),
            FaultKind::Crash { targets } => {
                for h in targets {
                    if self.crashed.insert(*h) {
                        sim.crash(h.to_string());
                    }
                }
            }
            FaultKind::Pause { targets } => {
                for h in targets {
                    self.env.control(*h).set_paused(true);
                }
            }
            FaultKind::SlowStorage { targets, slow } => {
                for h in targets {
                    self.env.control(*h).set_slow_storage(Some(*slow));
                }
            }
            FaultKind::SlowCpu { targets, factor } => {
                for h in targets {
                    self.env.control(*h).set_cpu_factor(*factor);
                }
            }
            FaultKind::MemoryPressure { targets, limit } => {
                for h in targets {
                    self.env.control(*h).set_memory_limit(Some(*limit));
                }
            }
            // The producers and consumers read the poison windows from the
            // scenario (which messages are poison is a function of the
            // schedule); the window is recorded for recovery and charts.
            FaultKind::Poison { .. } => {}
            // An operator's request to whoever holds a dead-letter queue:
            // every host's control counts it, and the model decides which
            // of its hosts acts on it (`Control::redrives`).
            FaultKind::Redrive => {
                for h in self.scenario.hosts() {
                    self.env.control(h).request_redrive();
                }
            }
        }
    }

    fn end(&mut self, sim: &mut turmoil::Sim<'_>, i: usize, now: Duration) {
        if !self.active.remove(&i) {
            return;
        }
        if let Some(w) = self.windows.iter_mut().rev().find(|w| w.index == i) {
            w.end_us = now.as_micros() as u64;
        }
        match &self.scenario.faults[i].kind {
            FaultKind::Partition { a, b, oneway } => for_pairs(a, b, |x, y| {
                if *oneway {
                    sim.repair_oneway(x.to_string(), y.to_string());
                } else {
                    sim.repair(x.to_string(), y.to_string());
                }
            }),
            FaultKind::Hold { a, b } => {
                for_pairs(a, b, |x, y| sim.release(x.to_string(), y.to_string()))
            }
            FaultKind::Latency { a, b, .. } => {
                set_latency(sim, a, b, self.scenario.network.latency)
            }
            FaultKind::Loss { a, b, .. } => for_pairs(a, b, |x, y| {
                sim.set_link_fail_rate(x.to_string(), y.to_string(), 0.0);
                // A link the loss left randomly partitioned is healed too.
                sim.repair(x.to_string(), y.to_string());
            }),
            FaultKind::Crash { targets } => {
                for h in targets {
                    if self.crashed.remove(h) {
                        sim.bounce(h.to_string());
                    }
                }
            }
            FaultKind::Pause { targets } => {
                for h in targets {
                    self.env.control(*h).set_paused(false);
                }
            }
            FaultKind::SlowStorage { targets, .. } => {
                for h in targets {
                    self.env.control(*h).set_slow_storage(None);
                }
            }
            FaultKind::SlowCpu { targets, .. } => {
                for h in targets {
                    self.env.control(*h).set_cpu_factor(1.0);
                }
            }
            FaultKind::MemoryPressure { targets, .. } => {
                for h in targets {
                    self.env.control(*h).set_memory_limit(None);
                }
            }
            FaultKind::Heal { .. }
            | FaultKind::Release { .. }
            | FaultKind::Poison { .. }
            | FaultKind::Redrive => {}
        }
    }

    fn restart_crashed(&mut self, sim: &mut turmoil::Sim<'_>) {
        for h in std::mem::take(&mut self.crashed) {
            sim.bounce(h.to_string());
        }
    }
}

fn set_latency(sim: &turmoil::Sim<'_>, a: &[Host], b: &[Host], latency: LatencyRange) {
    for_pairs(a, b, |x, y| {
        // Sets min and max to one value, then widens max.
        sim.set_link_latency(x.to_string(), y.to_string(), latency.min);
        sim.set_link_max_message_latency(x.to_string(), y.to_string(), latency.max);
    });
}

/// Every pair of distinct hosts across the two sides, each unordered pair once
/// when the sides overlap (turmoil has no link from a host to itself).
fn for_pairs(a: &[Host], b: &[Host], mut f: impl FnMut(&Host, &Host)) {
    for x in a {
        for y in b {
            if x == y || (a.contains(y) && b.contains(x) && y < x) {
                continue;
            }
            f(x, y);
        }
    }
}

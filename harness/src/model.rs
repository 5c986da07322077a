//! The seam between the engine and a system under test. A model installs its
//! hosts on the turmoil `Sim`, records lifecycle events through the
//! [`Recorder`], obeys the per-host [`Control`] knobs the driver turns (pause,
//! slow storage), and answers gauge samples and the final inventory. It never
//! touches time, faults or the seed beyond what [`Env`] hands it.

use crate::history::{
    BreakerState, BreakerTransition, Created, Event, EventKind, GroupChange, GroupEvent, Inventory,
    KeyMap, MsgId, Sample,
};
use crate::scenario::{Actors, Host, LatencyRange, Role, Scenario, Slowdown};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

/// Most events one run may record. Beyond it the run stops with a
/// simulation failure instead of exhausting memory (an event takes 40
/// bytes, so this is about 6.4 GB: 20M messages at the usual six events
/// each and a third again for redeliveries and retries).
pub const MAX_EVENTS: usize = 160_000_000;

/// Past this many events the History grows by a quarter at a time, not
/// by doubling: at 20M messages a doubling would reserve gigabytes never
/// used. (Large blocks grow in place or by remapping pages, so growing
/// more often costs no copy.)
const GROW_BY_QUARTER_FROM: usize = 1 << 20;

/// A system under test.
pub trait Model {
    /// Registers every host of `env.scenario.hosts()` on the simulation, named
    /// as `Host`'s `Display` names them.
    fn install(&self, sim: &mut turmoil::Sim<'_>, env: &Env);
    /// Gauges now. Called by the driver between steps.
    fn sample(&self, at_us: u64) -> Sample;
    /// What the broker still holds (called once, after the drain).
    fn inventory(&self) -> Inventory;
    /// The most connection requests one host may receive at once: turmoil
    /// panics when more than its `tcp_capacity` wait to be accepted, so the
    /// driver sizes it from this (never below turmoil's default of 64).
    fn max_connections_per_host(&self, scenario: &Scenario) -> usize {
        let _ = scenario;
        64
    }
    /// The actors of its own (handlers, …) a scenario run by this model may
    /// name; scenarios are validated against them. None by default.
    fn actors(&self) -> Actors {
        Actors::default()
    }
}

/// Everything a model receives from the driver.
pub struct Env {
    /// The validated scenario being run.
    pub scenario: Rc<Scenario>,
    /// Where every actor records; the driver builds the History from it.
    pub recorder: Recorder,
    controls: BTreeMap<Host, Rc<Control>>,
    seeds: BTreeMap<Host, u64>,
}

impl Env {
    pub(crate) fn new(scenario: Rc<Scenario>, seeds: BTreeMap<Host, u64>) -> Env {
        let controls = scenario
            .hosts()
            .into_iter()
            .map(|h| {
                let cores = match h.role {
                    Role::Consumer => scenario.consumer.cores,
                    Role::Broker => scenario.broker.cores,
                    _ => 1,
                };
                (h, Rc::new(Control::new(cores)))
            })
            .collect();
        Env {
            scenario,
            recorder: Recorder::default(),
            controls,
            seeds,
        }
    }

    /// The seed of one actor, derived from the run's seed in a fixed order.
    /// A restarted host should mix in its incarnation number.
    pub fn seed(&self, host: Host) -> u64 {
        self.seeds[&host]
    }

    /// The knobs the driver turns on `host`.
    pub fn control(&self, host: Host) -> Rc<Control> {
        self.controls[&host].clone()
    }

    /// Everything the actor of `host` needs from the run, in one value.
    pub fn host(&self, host: Host) -> HostEnv {
        HostEnv {
            host,
            scenario: self.scenario.clone(),
            recorder: self.recorder.clone(),
            control: self.control(host),
            seed: self.seed(host),
        }
    }
}

/// One host's share of the run, handed to its actor: who it is, the
/// validated scenario it serves, where it records, the knobs the driver
/// turns on it, and its seed. A model with stages gives a stage's hosts
/// their stage's scenario and recorder (`HostEnv { scenario, recorder,
/// ..env.host(h) }`).
#[derive(Clone)]
pub struct HostEnv {
    /// Which host it is.
    pub host: Host,
    /// The scenario it serves (its stage's, in a pipeline with several).
    pub scenario: Rc<Scenario>,
    /// Where it records events (its stage's, in a pipeline with several).
    pub recorder: Recorder,
    /// The knobs the driver turns on this host.
    pub control: Rc<Control>,
    /// The host's seed, the same for every incarnation (what must not
    /// change across a restart, such as the keys it draws, is drawn from
    /// it); [`HostEnv::rng`] gives an incarnation its own stream.
    pub seed: u64,
}

impl HostEnv {
    /// The host's number within its role (`broker-2` → 2).
    pub fn index(&self) -> u32 {
        self.host.index
    }

    /// The host's name on the simulated network (`broker-2`).
    pub fn name(&self) -> String {
        self.host.to_string()
    }

    /// The root RNG of one incarnation: seeded from the host's seed mixed
    /// with the incarnation number, so a restarted host draws a new but
    /// still seeded stream. Actors fork their tasks' RNGs from it.
    pub fn rng(&self, incarnation: u64) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(self.seed ^ incarnation.wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }
}

/// Appends lifecycle events with the current simulated time of the host that
/// records them. Cheap to clone; every actor holds one.
#[derive(Clone, Default)]
pub struct Recorder {
    events: Rc<RefCell<Vec<Event>>>,
    breakers: Rc<RefCell<Vec<BreakerTransition>>>,
    group: Rc<RefCell<Vec<GroupEvent>>>,
    keys: Rc<RefCell<KeyMap>>,
    /// The pipeline stage this handle records for (see `Event::stage`).
    stage: u8,
    /// The model's stages by name, when it has more than one.
    stages: Rc<RefCell<Vec<String>>>,
    poison: Rc<RefCell<Vec<MsgId>>>,
    /// Per producer, its runs of created sequence numbers in order.
    created: Rc<RefCell<CreatedRuns>>,
    overflowed: Rc<Cell<bool>>,
}

/// Per producer, its runs `(start, end)` of created sequence numbers.
type CreatedRuns = BTreeMap<u32, Vec<(u32, u32)>>;

impl Recorder {
    /// Records that `kind` happened to message `id` (with key `key`) now, in
    /// the host's simulated time.
    pub fn record(&self, id: MsgId, key: u32, kind: EventKind) {
        self.record_at(Self::now_us(), id, key, kind);
    }

    /// The host's simulated time in microseconds. Simulated time stands still
    /// while a task runs, so a loop recording one event per record of a batch
    /// reads it once and passes it to [`Recorder::record_at`]: each read is a
    /// host lookup and a lock of tokio's clock (a seventh of a run's time
    /// in `mqsim bench` (b) before batching).
    pub fn now_us() -> u64 {
        turmoil::sim_elapsed().unwrap_or_default().as_micros() as u64
    }

    /// [`Recorder::record`] at a time read by [`Recorder::now_us`] in the
    /// same poll of the same task.
    pub fn record_at(&self, at_us: u64, id: MsgId, key: u32, kind: EventKind) {
        let mut events = self.events.borrow_mut();
        if events.len() >= MAX_EVENTS {
            self.overflowed.set(true);
            return;
        }
        if events.len() == events.capacity() && events.len() >= GROW_BY_QUARTER_FROM {
            let more = (events.len() / 4).min(MAX_EVENTS - events.len()).max(1);
            events.reserve_exact(more);
        }
        events.push(Event {
            at_us,
            id,
            key,
            kind,
            stage: self.stage,
        });
    }

    /// The pipeline has these stages, in order (a model with a buffer in
    /// front says `["buffer", "queue"]`); events say which they are of
    /// through [`Recorder::staged`].
    pub fn set_stages(&self, names: &[&str]) {
        *self.stages.borrow_mut() = names.iter().map(|s| s.to_string()).collect();
    }

    pub(crate) fn take_stages(&self) -> Vec<String> {
        std::mem::take(&mut self.stages.borrow_mut())
    }

    /// The same History, recording for pipeline stage `stage` (0: the only
    /// or first stage).
    pub fn staged(&self, stage: u8) -> Recorder {
        Recorder {
            stage,
            ..self.clone()
        }
    }

    /// A circuit breaker of `consumer` guarding store `store` moved to `to`.
    pub fn record_breaker(&self, consumer: u32, store: u32, to: BreakerState) {
        let at_us = turmoil::sim_elapsed().unwrap_or_default().as_micros() as u64;
        let mut b = self.breakers.borrow_mut();
        if b.len() >= MAX_EVENTS {
            self.overflowed.set(true);
            return;
        }
        b.push(BreakerTransition {
            at_us,
            consumer,
            store,
            to,
        });
    }

    /// Producer `producer` created the messages with sequence numbers
    /// `seqs` (the workload asked it to send them). Every created id must
    /// end in one fate: the conservation check accounts for each. Calls
    /// for one producer come in increasing order; adjacent runs merge.
    pub fn created(&self, producer: u32, seqs: std::ops::Range<u32>) {
        if seqs.is_empty() {
            return;
        }
        let mut c = self.created.borrow_mut();
        let runs = c.entry(producer).or_default();
        match runs.last_mut() {
            Some(last) if last.1 == seqs.start => last.1 = seqs.end,
            _ => runs.push((seqs.start, seqs.end)),
        }
    }

    pub(crate) fn take_created(&self) -> Vec<Created> {
        let c = std::mem::take(&mut *self.created.borrow_mut());
        c.into_iter()
            .flat_map(|(producer, runs)| {
                runs.into_iter().map(move |(start, end)| Created {
                    producer,
                    start,
                    end,
                })
            })
            .collect()
    }

    /// A consumer group's coordinator made `change` now.
    pub fn record_group(&self, change: GroupChange) {
        let mut g = self.group.borrow_mut();
        if g.len() >= MAX_EVENTS {
            self.overflowed.set(true);
            return;
        }
        g.push(GroupEvent {
            at_us: Self::now_us(),
            change,
        });
    }

    pub(crate) fn take_group(&self) -> Vec<GroupEvent> {
        std::mem::take(&mut self.group.borrow_mut())
    }

    /// Where the workload's keys go and which are hot (`hot` in any order;
    /// the History keeps it sorted).
    pub fn set_keys(&self, mut keys: KeyMap) {
        keys.hot.sort_unstable();
        keys.hot.dedup();
        *self.keys.borrow_mut() = keys;
    }

    pub(crate) fn take_keys(&self) -> KeyMap {
        std::mem::take(&mut self.keys.borrow_mut())
    }

    /// The workload's poison ids (any order; the History keeps them sorted).
    pub fn set_poison(&self, mut ids: Vec<MsgId>) {
        ids.sort_unstable();
        ids.dedup();
        *self.poison.borrow_mut() = ids;
    }

    pub(crate) fn take_poison(&self) -> Vec<MsgId> {
        std::mem::take(&mut self.poison.borrow_mut())
    }

    pub(crate) fn take_breakers(&self) -> Vec<BreakerTransition> {
        std::mem::take(&mut self.breakers.borrow_mut())
    }

    pub(crate) fn overflowed(&self) -> bool {
        self.overflowed.get()
    }

    pub(crate) fn take(&self) -> Vec<Event> {
        std::mem::take(&mut self.events.borrow_mut())
    }
}

/// Knobs the driver turns on one host between steps; the host's code reads
/// them. They model faults inside a process, which turmoil has no notion of.
pub struct Control {
    paused: Cell<bool>,
    slow_storage: Cell<Option<Slowdown>>,
    redrives: Cell<u32>,
    /// The host's CPU: `cores` slots, taken first come, first served.
    cpu: tokio::sync::Semaphore,
    /// How many times longer CPU work takes now (1 outside a `slow` window).
    cpu_factor: Cell<f64>,
    /// Messages the host has memory for now, inside a `memory_pressure`
    /// window.
    memory_limit: Cell<Option<u64>>,
}

impl Default for Control {
    fn default() -> Self {
        Control::new(1)
    }
}

impl Control {
    /// A host with `cores` CPU slots for [`Control::work`].
    pub fn new(cores: u32) -> Control {
        Control {
            paused: Cell::new(false),
            slow_storage: Cell::new(None),
            redrives: Cell::new(0),
            cpu: tokio::sync::Semaphore::new(cores.max(1) as usize),
            cpu_factor: Cell::new(1.0),
            memory_limit: Cell::new(None),
        }
    }

    pub(crate) fn set_memory_limit(&self, limit: Option<u64>) {
        self.memory_limit.set(limit);
    }

    /// The memory the host has now, in messages: inside a
    /// `memory_pressure` window the fault's limit, else `configured` (the
    /// scenario's bound, None = unbounded). The smaller one wins.
    pub fn memory_limit(&self, configured: Option<u64>) -> Option<u64> {
        match (self.memory_limit.get(), configured) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub(crate) fn set_cpu_factor(&self, factor: f64) {
        self.cpu_factor.set(factor);
    }

    /// Runs `cost` of CPU work on this host: waits for a free core (behind
    /// every task that asked before it), then holds it for `cost` times the
    /// current `slow` factor. A task with no work of its own (a heartbeat)
    /// passes `Duration::ZERO` and still waits its turn, which is how a
    /// CPU-starved process delays its heartbeats. With a free core and
    /// nothing to do, it returns without yielding.
    pub async fn work(&self, cost: Duration) {
        let permit = match self.cpu.try_acquire() {
            Ok(p) => p,
            Err(_) => match self.cpu.acquire().await {
                Ok(p) => p,
                Err(_) => return,
            },
        };
        let factor = self.cpu_factor.get();
        let took = if factor > 1.0 {
            cost.mul_f64(factor)
        } else {
            cost
        };
        if took > Duration::ZERO {
            turmoil::time::sleep(took).await;
        }
        drop(permit);
    }

    pub(crate) fn set_paused(&self, paused: bool) {
        self.paused.set(paused);
    }

    pub(crate) fn set_slow_storage(&self, slow: Option<Slowdown>) {
        self.slow_storage.set(slow);
    }

    pub(crate) fn request_redrive(&self) {
        self.redrives.set(self.redrives.get() + 1);
    }

    /// How many `redrive` actions the driver has requested so far; a broker
    /// redrives its dead-letter queue once for each it has not yet served.
    pub fn redrives(&self) -> u32 {
        self.redrives.get()
    }

    /// Whether a `pause` window holds the host now.
    pub fn is_paused(&self) -> bool {
        self.paused.get()
    }

    /// Waits while the host is paused, then for a free core. Actors call
    /// it before each unit of work, so a pause stops processing but keeps
    /// state and connections, and on a host whose cores are busy with
    /// [`Control::work`] every task waits its turn.
    pub async fn gate(&self) {
        while self.paused.get() {
            turmoil::time::sleep(Duration::from_millis(1)).await;
        }
        self.work(Duration::ZERO).await;
    }

    /// The extra latency a disk write or store operation whose own latency
    /// is `base` suffers now (zero outside a `slow_storage` window), drawn
    /// from the actor's own RNG.
    pub fn storage_delay(&self, base: Duration, rng: &mut impl Rng) -> Duration {
        match self.slow_storage.get() {
            None => Duration::ZERO,
            Some(Slowdown::Extra(r)) => draw(r, rng),
            Some(Slowdown::Factor(x)) => base.mul_f64((x - 1.0).max(0.0)),
        }
    }
}

/// A latency drawn uniformly from the range (whole microseconds).
pub fn draw(range: LatencyRange, rng: &mut impl Rng) -> Duration {
    if range.min == range.max {
        return range.min;
    }
    let (min, max) = (range.min.as_micros() as u64, range.max.as_micros() as u64);
    Duration::from_micros(rng.random_range(min..=max))
}

//! mqsim: deterministic fault injection for message-queue pipelines.
//!
//! A scenario (a TOML file, or built in Rust) describes a pipeline —
//! producers, a broker cluster, consumers, a downstream store — its load,
//! its faults and what must hold afterwards. [`run`] simulates it for one
//! seed on turmoil's simulated network and clock and checks the recorded
//! History: every message's fate, duplicates, order, lag, recovery. The
//! same scenario and seed give the same History on every machine.
//!
//! ```
//! let scenario = mqsim::scenario::parse(
//!     std::path::Path::new("inline.toml"),
//!     r#"
//!         name = "crash"
//!         summary = "a broker crashes and restarts; nothing acked is lost"
//!         duration = "4s"
//!         drain = "2s"
//!         [[fault]]
//!         at = "1s"
//!         kind = "crash"
//!         target = "broker-0"
//!         restart_after = "500ms"
//!         [expect]
//!         lost = 0
//!     "#,
//! )?;
//! let run = mqsim::run(&scenario, 7, &mqsim::Pipeline::new())?;
//! assert_eq!(run.outcome.verdict, mqsim::Verdict::Pass);
//! assert_eq!(run.outcome.counts[mqsim::Metric::Lost], 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! What is here is the public API: [`scenario`] to load and validate
//! scenarios, [`run`] and its [`Run`] (the [`History`], the [`Outcome`] and
//! its figures: [`outcome`]), [`consumer`], [`policy`] and [`store`] to put
//! your consumer's code, lag policy and store model inside the simulation
//! under names a [`Registry`] gives them, [`testing`] to check them from
//! `cargo test`,
//! [`model`] for putting a whole system of one's own under test, and
//! [`cli`] for giving it mqsim's command line. Everything else in the
//! workspace (the `harness` and `models` crates) is internal and may change
//! without notice.
//!
//! Every build needs `--cfg tokio_unstable` (turmoil seeds each host's
//! runtime from the run's seed only under it): a crate that uses mqsim
//! puts this in its `.cargo/config.toml`, and a build without it fails
//! with a message saying so.
//!
//! ```toml
//! [build]
//! rustflags = ["--cfg", "tokio_unstable"]
//! rustdocflags = ["--cfg", "tokio_unstable"]
//! ```

#![deny(missing_docs)]

pub mod cli;
pub mod testing;

pub use harness::driver::SimFailure;
pub use harness::history::History;
pub use harness::metric::Metric;
pub use harness::outcome::{Outcome, Verdict};
pub use harness::{run, MsgId, Run};
pub use models::Pipeline;

/// Your consumer's code inside the simulation: implement [`Handler`](consumer::Handler),
/// register it under a name, and a scenario that says `[consumer] handler =
/// "that name"` runs it in every consumer, under the scenario's faults,
/// checked by mqsim's checkers.
///
/// The handler gets each delivered [`Message`](consumer::Message) and a
/// [`Context`](consumer::Context): the store (with the scenario's
/// latencies and faults), simulated time, the host's CPU, a seeded RNG, and
/// committing. What the checkers then count is what your code did: a write
/// retried after it had taken effect is a `duplicate_effects`, a commit
/// before the write that a crash interrupts is `lost`.
///
/// ```
/// use mqsim::consumer::{Context, Failure, Handler, Message};
///
/// /// Writes each message with its id as the idempotency key, then
/// /// lets the consumer commit.
/// struct Dedup;
///
/// impl Handler for Dedup {
///     async fn handle(&self, msg: &Message, cx: &mut Context<'_>) -> Result<(), Failure> {
///         loop {
///             match cx.store().write_once(msg).await {
///                 Ok(()) => return Ok(()),
///                 // Unanswered: it may have taken effect; retrying is safe.
///                 Err(_) => cx.sleep(std::time::Duration::from_millis(50)).await,
///             }
///         }
///     }
/// }
///
/// let registry = mqsim::Registry::new().handler("dedup", || Dedup);
/// let scenario = mqsim::scenario::parse_with(
///     std::path::Path::new("inline.toml"),
///     r#"
///         name = "dedup"
///         summary = "a consumer restarts; every message takes effect once"
///         duration = "3s"
///         drain = "2s"
///         [consumer]
///         handler = "dedup"
///         [[fault]]
///         at = "1s"
///         kind = "crash"
///         target = "consumer-0"
///         restart_after = "300ms"
///         [expect]
///         lost = 0
///         duplicate_effects = 0
///     "#,
///     &mqsim::scenario::Overrides { actors: registry.actors(), ..Default::default() },
/// )?;
/// let run = mqsim::run(&scenario, 1, &mqsim::Pipeline::with(registry))?;
/// assert_eq!(run.outcome.verdict, mqsim::Verdict::Pass, "{:?}", run.outcome.expectations);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Determinism holds for your code as long as everything it depends on
/// comes through the [`Context`](consumer::Context): no `std::time`, no
/// unseeded RNG, no threads, no `HashMap` iteration order feeding what it
/// writes.
pub mod consumer {
    pub use models::{Context, Failure, Handler, Message, Store, StoreWriter, Unanswered};
}

/// Lag policies of your own: what the pipeline does when a consumer group
/// falls behind. Implement [`LagPolicy`](policy::LagPolicy) — asked at the
/// partition leader for every producer batch, and at the consumer for
/// every fetched batch — register it, and a scenario runs it with `[policy]
/// kind = "its name"` (or [`testing::Check::policy`]), and `compare` in a
/// binary built on [`cli::main`] puts it beside `silent_drop`,
/// `circuit_breaker`, `backpressure` and `unbounded`, which are
/// implementations of the same trait.
///
/// ```
/// use mqsim::policy::{Admission, Bound, Lag, LagPolicy};
///
/// /// Shed with notice once the oldest waiting message is older than the
/// /// bound: producers learn of it, nothing is dropped silently.
/// struct ShedWhenStale(Bound);
///
/// impl LagPolicy for ShedWhenStale {
///     fn admit(&self, lag: &Lag) -> Admission {
///         if self.0.exceeded(lag) { Admission::Shed } else { Admission::Take }
///     }
/// }
///
/// let registry = mqsim::Registry::new()
///     .policy("shed_when_stale", |p| ShedWhenStale(Bound::of(p)));
/// # let _ = registry;
/// ```
pub mod policy {
    pub use models::{
        Admission, Backpressure, Bound, CircuitBreaker, Delivery, Lag, LagPolicy, SilentDrop,
        Unbounded,
    };
}

/// The downstream store's behaviour of one's own: implement
/// [`StoreModel`](store::StoreModel) — how long a read or a write takes on
/// a node, and whether a write takes effect — register it, and a scenario
/// with `[store] model = "its name"` runs every store node with it, behind
/// the same faults (`slow_storage` through [`Node::io`](store::Node::io),
/// crashes, partitions), its effects counted by the same checkers.
///
/// ```
/// use mqsim::store::{Node, StoreModel, Write};
/// use std::time::Duration;
///
/// /// A cache in front of the database: most reads answer in 100µs; a
/// /// restarted node starts cold (the model is rebuilt per incarnation).
/// struct Cached;
///
/// impl StoreModel for Cached {
///     async fn read(&self, _key: u32, node: &mut Node<'_>) {
///         use mqsim::rand::Rng;
///         let hit = node.with_rng(|r| r.random_bool(0.9));
///         let base = if hit { Duration::from_micros(100) } else { node.read_latency() };
///         node.io(base).await;
///     }
///     async fn write(&self, w: Write, node: &mut Node<'_>) -> bool {
///         let base = node.write_latency();
///         node.io(base).await;
///         let new = node.apply(w.id);
///         new || !(w.once || node.idempotent())
///     }
/// }
///
/// let registry = mqsim::Registry::new().store("cached", || Cached);
/// # let _ = registry;
/// ```
pub mod store {
    pub use models::{LatencyStore, Node, StoreModel, Write};
}

pub use models::Registry;

/// The `turmoil` crate the simulation runs on: a [`Model`](model::Model)
/// installs its hosts on its `Sim` and its actors use its network.
pub use turmoil;

/// Timers for a [`Model`](model::Model)'s actors: `sleep`, `sleep_until`,
/// `timeout` and `interval`, tokio's, made known to the simulation.
///
/// mqsim steps a host only when it has work — a message arrived, a task was
/// woken, or a timer it set is due — so a run costs what it simulates, not
/// hosts × ticks. tokio does not tell when a runtime's next timer is due, so
/// a host's timers must come from here (a [`Handler`](consumer::Handler)'s
/// `Context::sleep` does). A bare `tokio::time::sleep` would not wake an
/// idle host: the run fails instead, naming the host and when the timer
/// was due (best effort: not when its task was already woken). Every host's tasks run in one runtime, so an actor spawns its
/// tasks with `tokio::task::spawn_local`: a task `tokio::spawn`ed would run
/// in no host, and the run fails, naming the host that spawned it.
///
/// ```
/// # async fn actor() {
/// use std::time::Duration;
/// mqsim::time::sleep(Duration::from_millis(5)).await;
/// let answer = mqsim::time::timeout(Duration::from_millis(50), async { 42 }).await;
/// assert_eq!(answer, Ok(42));
/// # }
/// ```
pub mod time {
    pub use turmoil::time::{
        interval, sleep, sleep_until, timeout, Elapsed, Interval, Sleep, Timeout,
    };
}

/// The `rand` crate mqsim's RNGs come from: `use mqsim::rand::Rng` to draw
/// from a [`Context`](consumer::Context)'s or a store [`Node`](store::Node)'s
/// seeded RNG.
pub use rand;

/// A run's figures as [`Outcome`] holds them (its JSON contract), and the
/// checkers' [`Figures`](outcome::Figures) with every count's example ids.
pub mod outcome {
    pub use harness::check::breakdown::{Breakdown, Classes, GroupFigures as BreakdownFigures};
    pub use harness::check::{Count, Figures};
    pub use harness::outcome::{
        AbandonedSplit, BalanceFigures, ByReason, Counts, Examples, ExpectationResult,
        GroupFigures, LagFigures, LatencyFigures, MaxDeliveriesFigure, Outcome, StageOutcome,
        TookEffectSplit, Verdict,
    };
}

/// Scenarios: load a file (every error at once, each naming its field),
/// parse text, or render a scenario back to a file.
pub mod scenario {
    pub use harness::scenario::{
        load, load_with, parse, parse_with, render, Actors, Overrides, Scenario, ScenarioError,
        BUILTIN_HANDLER, BUILTIN_STORE,
    };
    /// The scenario's parts, for building or editing one in Rust (every
    /// field is documented with its key in the file format).
    pub use harness::scenario::{
        Acks, Assignment, BreakerConfig, Broker, BrokerKind, Buffer, Burst, Cmp, CommitMode,
        Consumer, Expectation, Fault, FaultKind, Fsync, Host, HotKeys, KeySkew, LatencyRange,
        MemoryAlarm, Network, OffsetReset, Overflow, PartitionHandling, Policy, PolicyKind,
        QueueConfig, QueueType, Repeat, Role, Scope, Slowdown, Store, Swarm, Topology, Workload,
    };
}

/// The seam for a whole system of one's own — your broker, or your whole
/// pipeline — instead of mqsim's [`Pipeline`]. A [`Model`](model::Model):
///
/// - installs a host on the [`turmoil`] simulation for every host of
///   [`Scenario::hosts`](scenario::Scenario::hosts), named as
///   [`Host`](model::Host) displays (`broker-0`), each actor taking its
///   [`HostEnv`](model::HostEnv) from [`Env::host`](model::Env::host)
///   (scenario, recorder, in-process fault knobs, seed);
/// - records through the [`Recorder`](model::Recorder): the ids each
///   producer created ([`Recorder::created`](model::Recorder::created)), and
///   each message's lifecycle ([`EventKind`](model::EventKind): send, ack,
///   append, deliver, effect, commit, drop, reject, …) — what the checkers
///   read, so every created id must end somewhere;
/// - obeys the [`Control`](model::Control) knobs (pause, slow storage,
///   CPU, memory) its actors read, as turmoil handles the network faults
///   and crashes;
/// - answers gauge [`Sample`](model::Sample)s between steps and the final
///   [`Inventory`](model::Inventory) (what the broker still holds: stranded,
///   not lost).
///
/// Run it with [`run`], with [`testing::Check::model`] from `cargo test`,
/// or with [`cli::main`] for a binary with every command. mqsim's
/// `Pipeline` (the `models` crate) is the reference implementation; an
/// actor's code must take time, randomness and I/O from the simulation
/// (timers from [`time`], turmoil's network, the seeds of its
/// `HostEnv`) for runs to replay.
pub mod model {
    pub use harness::history::{
        EventKind, Inventory, KeyMap, PartitionGauge, PartitionInventory, Reason, Sample,
    };
    pub use harness::model::{draw, Control, Env, HostEnv, Model, Recorder};
    pub use harness::scenario::{Host, Role};
    pub use harness::MsgId;
}

/// The README's examples compile and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}

//! mqsim's engine, independent of any broker: scenario schema and validation,
//! the turmoil driver and fault schedule, the History, checkers and the run
//! outcome. Models plug in through [`model::Model`].

#![warn(missing_docs)]

// turmoil seeds each host's tokio runtime from the run's seed only under this
// cfg (set in .cargo/config.toml); without it task scheduling, and so every
// run, is nondeterministic, and panics in spawned tasks are swallowed. An
// environment RUSTFLAGS silently replaces the config file's flags.
#[cfg(not(tokio_unstable))]
compile_error!(
    "mqsim must be built with `--cfg tokio_unstable`: put `rustflags = [\"--cfg\", \"tokio_unstable\"]` \
     (and the same `rustdocflags`) under `[build]` in your workspace's .cargo/config.toml; \
     if you set RUSTFLAGS, add `--cfg tokio_unstable` to it"
);

pub mod check;
pub mod compare;
pub mod driver;
pub mod explore;
pub mod history;
pub mod metric;
pub mod model;
pub mod outcome;
pub mod parallel;
pub mod repeat;
pub mod report;
pub mod reproduce;
pub mod scenario;
pub mod shrink;
pub mod swarm;
pub mod units;

pub use history::{Event, EventKind, History, MsgId, Reason};
pub use outcome::Outcome;
pub use scenario::Scenario;

/// A finished run: the History, the checkers' figures, and the outcome.
pub struct Run {
    /// Everything that happened, as recorded: what the checkers read.
    pub history: History,
    /// The checkers' figures, each count with example message ids.
    pub figures: check::Figures,
    /// The figures as reported, the expectations evaluated, the verdict.
    pub outcome: Outcome,
}

/// Runs the three phases (load, heal-and-drain, check) of one seed. A
/// `[swarm]` scenario first draws the seed's own fault schedule.
pub fn run(
    scenario: &Scenario,
    seed: u64,
    model: &dyn model::Model,
) -> Result<Run, driver::SimFailure> {
    let scenario = swarm::instantiate(scenario, seed);
    let history = driver::run(&scenario, seed, model)?;
    let figures = check::check(&history);
    let mut violations = figures.balance.violations.clone();
    for s in &figures.stages {
        violations.extend(
            s.balance
                .violations
                .iter()
                .map(|v| format!("{}: {v}", s.name)),
        );
    }
    if !violations.is_empty() {
        return Err(driver::SimFailure::Conservation(violations.join("; ")));
    }
    let outcome = Outcome::new(&scenario, seed, &history, &figures);
    Ok(Run {
        history,
        figures,
        outcome,
    })
}

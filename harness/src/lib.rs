//! mqsim's engine, independent of any broker: scenario schema and validation,
//! the turmoil driver and fault schedule, the History, checkers and the run
//! outcome. Models plug in through [`model::Model`].

pub mod check;
pub mod driver;
pub mod history;
pub mod model;
pub mod outcome;
pub mod report;
pub mod scenario;
pub mod units;

pub use history::{Event, EventKind, History, MsgId, Reason};
pub use outcome::Outcome;
pub use scenario::Scenario;

/// A finished run: the History and what the checkers made of it.
pub struct Run {
    pub history: History,
    pub outcome: Outcome,
}

/// Runs the three phases (load, heal-and-drain, check) of one seed.
pub fn run(
    scenario: &Scenario,
    seed: u64,
    model: &dyn model::Model,
) -> Result<Run, driver::SimFailure> {
    let history = driver::run(scenario, seed, model)?;
    let figures = check::check(&history);
    let outcome = Outcome::new(scenario, seed, &history, &figures);
    Ok(Run { history, outcome })
}

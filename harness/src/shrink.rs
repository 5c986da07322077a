//! Shrinking a failing run: remove faults, shorten and move their windows,
//! lower the load and the duration, keeping each change only while the same
//! expectation still fails with the same seed. Greedy passes until a pass
//! changes nothing or the run budget is spent. Every candidate goes through
//! `render` and `parse`, so it is a valid scenario file by construction.

use crate::model::Model;
use crate::scenario::{parse_with, render, Expectation, Overrides, Scenario};
use std::path::Path;
use std::time::Duration;

/// Why a run cannot be shrunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShrinkError {
    /// The seed passes: nothing to shrink.
    Passes,
    /// The first run failed as a simulation, not on an expectation.
    SimFailure(String),
}

impl std::fmt::Display for ShrinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShrinkError::Passes => write!(
                f,
                "every expectation holds for this seed: nothing to shrink"
            ),
            ShrinkError::SimFailure(e) => write!(f, "the simulation itself failed: {e}"),
        }
    }
}

/// What shrinking found: the smallest scenario that still fails the same
/// expectation with the same seed.
pub struct Shrunk {
    /// The smallest failing scenario found, its `seed` set to the one shrunk.
    pub minimal: Scenario,
    /// The expectation that fails in the original and in the minimal scenario.
    pub target: Expectation,
    /// Its figure in the original run and in the minimal one (`None`: no figure).
    pub actual_before: Option<u64>,
    /// The same figure in the minimal scenario's run.
    pub actual_after: Option<u64>,
    /// Simulations run, the first included.
    pub runs: u32,
}

/// Shrinks `scenario` for `seed`; `max_runs` bounds the simulations.
pub fn shrink(
    scenario: &Scenario,
    seed: u64,
    model: &dyn Fn() -> Box<dyn Model>,
    max_runs: u32,
    mut progress: impl FnMut(&str),
) -> Result<Shrunk, ShrinkError> {
    // A swarm scenario shrinks the schedule this seed draws.
    let scenario = &crate::swarm::instantiate(scenario, seed).into_owned();
    let first = crate::run(scenario, seed, model().as_ref())
        .map_err(|e| ShrinkError::SimFailure(e.to_string()))?;
    let failed = (first.outcome.expectations.iter())
        .find(|e| !e.passed)
        .ok_or(ShrinkError::Passes)?;
    let target = failed.expectation;
    let mut s = Shrinker {
        target,
        seed,
        model,
        runs: 1,
        max_runs,
        best: scenario.clone(),
        actual: failed.actual,
    };
    s.best.seed = seed;
    let actual_before = failed.actual;
    loop {
        let before = s.runs;
        let improved = s.pass(&mut progress);
        if !improved || s.runs >= s.max_runs || s.runs == before {
            break;
        }
    }
    Ok(Shrunk {
        minimal: s.best,
        target,
        actual_before,
        actual_after: s.actual,
        runs: s.runs,
    })
}

struct Shrinker<'m> {
    target: Expectation,
    seed: u64,
    model: &'m dyn Fn() -> Box<dyn Model>,
    runs: u32,
    max_runs: u32,
    best: Scenario,
    actual: Option<u64>,
}

impl Shrinker<'_> {
    /// Runs `candidate` if it is valid; keeps it if the target still fails.
    fn attempt(
        &mut self,
        mut candidate: Scenario,
        what: &str,
        progress: &mut impl FnMut(&str),
    ) -> bool {
        if self.runs >= self.max_runs || candidate == self.best {
            return false;
        }
        candidate.faults.sort_by_key(|f| f.at);
        // Validation is the judge of what is a scenario.
        let model = (self.model)();
        let o = Overrides {
            actors: model.actors(),
            ..Overrides::default()
        };
        let text = render(&candidate, &[]);
        let Ok(candidate) = parse_with(Path::new("candidate.toml"), &text, &o) else {
            return false;
        };
        self.runs += 1;
        let Ok(run) = crate::run(&candidate, self.seed, model.as_ref()) else {
            return false;
        };
        let still = run
            .outcome
            .expectations
            .iter()
            .find(|e| e.expectation == self.target && !e.passed);
        match still {
            Some(e) => {
                progress(&format!("kept: {what}"));
                self.actual = e.actual;
                self.best = candidate;
                true
            }
            None => false,
        }
    }

    /// One pass of every kind of reduction; true if anything was kept.
    fn pass(&mut self, progress: &mut impl FnMut(&str)) -> bool {
        let mut improved = false;
        // Drop faults, last first (later faults more often depend on earlier ones).
        for i in (0..self.best.faults.len()).rev() {
            if i >= self.best.faults.len() {
                continue;
            }
            let mut c = self.best.clone();
            let f = c.faults.remove(i);
            improved |= self.attempt(
                c,
                &format!("without fault[{i}] ({})", f.kind.name()),
                progress,
            );
        }
        // Shorten windows, then move faults earlier. A kept move may reorder
        // the faults, so it ends the pass (the next pass starts afresh).
        for i in 0..self.best.faults.len() {
            let f = &self.best.faults[i];
            if let Some(until) = f.until {
                let len = until - f.at;
                let half = round_ms(len / 2);
                if half >= Duration::from_millis(100) {
                    let mut c = self.best.clone();
                    c.faults[i].until = Some(c.faults[i].at + half);
                    improved |=
                        self.attempt(c, &format!("fault[{i}] window {}", fmt(half)), progress);
                }
            }
            let f = &self.best.faults[i];
            let earlier = round_ms(f.at / 2);
            if earlier < f.at {
                let mut c = self.best.clone();
                let shift = c.faults[i].at - earlier;
                c.faults[i].at = earlier;
                c.faults[i].until = c.faults[i].until.map(|u| u - shift);
                if self.attempt(c, &format!("fault[{i}] at {}", fmt(earlier)), progress) {
                    return true;
                }
            }
        }
        // Lower the load.
        if self.best.workload.rate_per_s > 1 {
            let mut c = self.best.clone();
            c.workload.rate_per_s /= 2;
            let r = c.workload.rate_per_s;
            improved |= self.attempt(c, &format!("rate {r}/s"), progress);
        }
        for i in (0..self.best.workload.bursts.len()).rev() {
            let mut c = self.best.clone();
            c.workload.bursts.remove(i);
            improved |= self.attempt(c, &format!("without burst {i}"), progress);
        }
        // Shorten the run: the load phase to just past the last fault, or half.
        let last = (self.best.faults.iter())
            .map(|f| f.until.unwrap_or(f.at) + Duration::from_secs(1))
            .max()
            .unwrap_or(Duration::from_secs(1));
        for d in [last, round_ms(self.best.duration / 2)] {
            if d < self.best.duration && d >= self.best.sample_interval {
                let mut c = self.best.clone();
                c.duration = d;
                c.workload.bursts.retain(|b| b.at + b.duration <= d);
                improved |= self.attempt(c, &format!("duration {}", fmt(d)), progress);
            }
        }
        let drain = round_ms(self.best.drain / 2);
        if drain >= Duration::from_secs(1) {
            let mut c = self.best.clone();
            c.drain = drain;
            improved |= self.attempt(c, &format!("drain {}", fmt(drain)), progress);
        }
        improved
    }
}

fn round_ms(d: Duration) -> Duration {
    Duration::from_millis(d.as_millis() as u64)
}

fn fmt(d: Duration) -> String {
    crate::units::format_duration(d)
}

/// One line describing a scenario's size, for before/after.
pub fn describe(s: &Scenario) -> String {
    let kinds: Vec<&str> = s.faults.iter().map(|f| f.kind.name()).collect();
    format!(
        "{} fault(s) [{}], load {} at {}/s, drain {}",
        s.faults.len(),
        kinds.join(", "),
        fmt(s.duration),
        s.workload.rate_per_s,
        fmt(s.drain)
    )
}

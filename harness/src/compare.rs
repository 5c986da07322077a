//! `mqsim compare`: one scenario under several lag policies, with the same
//! seeds and so the same load and faults, outcomes side by side. Each
//! (policy, seed) is an ordinary run; this module only schedules them and
//! lays the figures out (the table's header, rows and spreads, which every
//! format in `report/` prints). Nothing here is computed that the runs'
//! outcomes do not already hold.

use crate::explore::Spread;
use crate::model::Model;
use crate::outcome::{Outcome, Verdict};
use crate::scenario::{self, BrokerKind, Metric, Overrides, PolicyKind, Scenario, ScenarioError};
use crate::units::format_duration;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// One (policy, seed) run: its outcome, or why the simulation failed.
#[derive(Clone, Debug)]
pub struct PolicyRun {
    /// The seed it ran with.
    pub seed: u64,
    /// Its outcome, or why the simulation failed (a model panic as `panic: …`).
    pub result: Result<Outcome, String>,
    /// Why the run's `--history`/`--trace` files could not be written.
    pub extras_error: Option<String>,
}

/// Every run of one policy, in seed order.
#[derive(Clone, Debug)]
pub struct PolicyRuns {
    /// The lag policy they ran under.
    pub policy: PolicyKind,
    /// Its runs, one per seed (fewer when interrupted).
    pub runs: Vec<PolicyRun>,
}

/// One scenario under several lag policies, with the same seeds: every
/// run's outcome, laid out side by side (`mqsim compare`).
#[derive(Clone, Debug)]
pub struct Comparison {
    /// The scenario's name.
    pub scenario: String,
    /// The scenario file as given on the command line.
    pub file: String,
    /// The seeds asked for, in order.
    pub seeds: Vec<u64>,
    /// `--scale` (1 = as written).
    pub scale: u32,
    /// Length of the load phase.
    pub duration: Duration,
    /// Length of the heal-and-drain phase.
    pub drain: Duration,
    /// Each policy's runs, in the plan's order.
    pub policies: Vec<PolicyRuns>,
    /// True when interrupted: some runs never started.
    pub partial: bool,
}

/// A column of the table: a figure of one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Column {
    SilentlyDropped,
    Shed,
    Lost,
    MaxLag,
    MaxLagAge,
    Recovery,
    P99,
    DuplicateEffects,
}

impl Column {
    const ALL: [Column; 8] = [
        Column::SilentlyDropped,
        Column::Shed,
        Column::Lost,
        Column::MaxLag,
        Column::MaxLagAge,
        Column::Recovery,
        Column::P99,
        Column::DuplicateEffects,
    ];

    fn value(self, o: &Outcome) -> Option<u64> {
        match self {
            Column::SilentlyDropped => Some(o.counts[Metric::SilentlyDropped]),
            Column::Shed => Some(o.counts[Metric::Shed]),
            Column::Lost => Some(o.counts[Metric::Lost]),
            Column::MaxLag => Some(o.lag.max_messages),
            Column::MaxLagAge => Some(o.lag.max_age_ms),
            Column::Recovery => o.recovery_ms,
            Column::P99 => o.latency_ms.p99,
            Column::DuplicateEffects => Some(o.counts[Metric::DuplicateEffects]),
        }
    }

    /// The JSON key of the figure (as in the run contract's flat names).
    fn key(self) -> &'static str {
        match self {
            Column::SilentlyDropped => "silently_dropped",
            Column::Shed => "shed",
            Column::Lost => "lost",
            Column::MaxLag => "max_lag",
            Column::MaxLagAge => "max_lag_age_ms",
            Column::Recovery => "recovery_ms",
            Column::P99 => "latency_p99_ms",
            Column::DuplicateEffects => "duplicate_effects",
        }
    }

    fn is_ms(self) -> bool {
        matches!(self, Column::MaxLagAge | Column::Recovery | Column::P99)
    }

    /// A value as a cell; a missing recovery is "never", a missing latency "-".
    fn show(self, v: Option<u64>) -> String {
        match v {
            None if self == Column::Recovery => "never".to_string(),
            Some(NEVER) if self == Column::Recovery => "never".to_string(),
            None => "-".to_string(),
            Some(v) if self.is_ms() => ms(v),
            Some(v) => v.to_string(),
        }
    }
}

/// A recovery that never happened, ranked after every time it could take.
const NEVER: u64 = u64::MAX;

fn ms(v: u64) -> String {
    format_duration(Duration::from_millis(v))
}

/// What a comparison does with each run on the worker thread as soon as the
/// run ends, while its History is still at hand (the CLI writes its
/// `--history`/`--trace` files with `report::compare_extras`: a trace is
/// tens of MB, and a comparison of many seeds must not hold them all). An
/// error is kept in the run's [`PolicyRun::extras_error`].
pub type AfterRun<'a> = &'a (dyn Fn(&Scenario, u64, &crate::Run) -> Result<(), String> + Sync);

/// What `mqsim compare` runs: the scenario as loaded under each policy.
#[derive(Debug)]
pub struct Plan {
    /// The scenario as validated under each policy, in the order they run.
    pub scenarios: Vec<(PolicyKind, Scenario)>,
    /// Why the policies are fewer than every kind, for the user.
    pub note: Option<String>,
}

/// The scenario file did not load under one of the policies.
#[derive(Debug)]
pub struct PlanError {
    /// The policy it was loaded under.
    pub policy: PolicyKind,
    /// Why it did not load.
    pub error: ScenarioError,
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}\n(while preparing the scenario for --policy {})",
            self.error,
            self.policy.name()
        )
    }
}

/// Loads `file` (as `base` says: its scale, the model's actors) under each
/// policy to compare: those `asked` for, in order and once each, or else
/// every policy its broker kind allows
/// ([`crate::scenario::BrokerKind::policies`]: a queue runs `unbounded`
/// alone, and the note says so). Each load validates the file with that
/// policy, so a policy the scenario cannot take is an error naming it.
pub fn plan(file: &Path, asked: &[PolicyKind], base: &Overrides) -> Result<Plan, PlanError> {
    let load = |policy: PolicyKind| {
        let overrides = Overrides {
            policy: Some(policy),
            ..base.clone()
        };
        scenario::load_with(file, &overrides).map_err(|error| PlanError { policy, error })
    };
    let mut note = None;
    let mut kinds: Vec<PolicyKind> = Vec::new();
    if asked.is_empty() {
        let as_written = scenario::load_with(
            file,
            &Overrides {
                policy: None,
                ..base.clone()
            },
        );
        let kind = as_written.map_or(BrokerKind::Log, |s| s.broker.kind);
        let mut allowed = kind.policies().to_vec();
        // The model's own policies act on a log, as the built-in ones do.
        if kind == BrokerKind::Log {
            allowed.extend(base.actors.policies.iter().map(|p| PolicyKind::named(p)));
        }
        if allowed.len() < PolicyKind::ALL.len() {
            let names: Vec<&str> = allowed.iter().map(|k| k.name()).collect();
            note = Some(format!(
                "this scenario's broker kind has no other lag policy to compare; running {} only",
                names.join(", ")
            ));
        }
        kinds.extend(allowed);
    } else {
        for &k in asked {
            if !kinds.contains(&k) {
                kinds.push(k);
            }
        }
    }
    let scenarios = (kinds.iter())
        .map(|&k| load(k).map(|s| (k, s)))
        .collect::<Result<_, _>>()?;
    Ok(Plan { scenarios, note })
}

/// Runs every policy's scenario for every seed on `jobs` threads. The
/// scenarios differ only in their policy (and its expectations).
#[allow(clippy::too_many_arguments)]
pub fn compare(
    file: &str,
    scenarios: &[(PolicyKind, Scenario)],
    seeds: &[u64],
    jobs: usize,
    after_run: Option<AfterRun>,
    model: &(dyn Fn() -> Box<dyn Model> + Sync),
    stop: &AtomicBool,
    progress: impl FnMut(&PolicyRun),
) -> Comparison {
    let tasks: Vec<(usize, u64)> = (0..scenarios.len())
        .flat_map(|p| seeds.iter().map(move |&s| (p, s)))
        .collect();
    let one = |&(p, seed): &(usize, u64)| {
        let scenario = &scenarios[p].1;
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let model = model();
            crate::run(scenario, seed, model.as_ref())
                .map(|run| {
                    let written = after_run.map_or(Ok(()), |f| f(scenario, seed, &run));
                    (run.outcome, written.err())
                })
                .map_err(|f| f.to_string())
        }));
        let result = run.unwrap_or_else(|p| {
            Err(format!(
                "panic: {}",
                crate::driver::panic_message(p.as_ref())
            ))
        });
        match result {
            Ok((outcome, extras_error)) => PolicyRun {
                seed,
                result: Ok(outcome),
                extras_error,
            },
            Err(e) => PolicyRun {
                seed,
                result: Err(e),
                extras_error: None,
            },
        }
    };
    let done = crate::parallel::map(&tasks, jobs, stop, one, progress);
    let partial = done.iter().any(Option::is_none);
    let mut policies: Vec<PolicyRuns> = scenarios
        .iter()
        .map(|(policy, _)| PolicyRuns {
            policy: *policy,
            runs: Vec::new(),
        })
        .collect();
    for ((p, _), run) in tasks.iter().zip(done) {
        if let Some(run) = run {
            policies[*p].runs.push(run);
        }
    }
    let first = &scenarios.first().expect("at least one policy").1;
    Comparison {
        scenario: first.name.clone(),
        file: file.to_string(),
        seeds: seeds.to_vec(),
        scale: first.scale,
        duration: first.duration,
        drain: first.drain,
        policies,
        partial,
    }
}

impl Comparison {
    /// 3 if a simulation failed or the comparison was cut short, 1 if an
    /// expectation failed in some run, else 0.
    pub fn exit_code(&self) -> i32 {
        let runs = || self.policies.iter().flat_map(|p| &p.runs);
        if self.partial || runs().any(|r| r.result.is_err()) {
            3
        } else if runs().any(|r| matches!(&r.result, Ok(o) if o.verdict == Verdict::Fail)) {
            1
        } else {
            0
        }
    }

    /// Each table figure's spread over `p`'s seeds (min / median / max
    /// where it exists; a recovery that never happened and a latency
    /// without effects are left out), keyed as in the run contract.
    pub fn spreads(&self, p: &PolicyRuns) -> Vec<(&'static str, Spread)> {
        (Column::ALL.iter())
            .filter_map(|&c| Some((c.key(), Spread::of(self.values(p, c))?)))
            .collect()
    }

    /// The figure `c` of every successful run of `p`.
    fn values<'a>(&'a self, p: &'a PolicyRuns, c: Column) -> impl Iterator<Item = u64> + 'a {
        p.runs
            .iter()
            .filter_map(move |r| r.result.as_ref().ok().and_then(|o| c.value(o)))
    }

    /// One cell: the value for one seed; `median (min..max)` over several.
    fn cell(&self, p: &PolicyRuns, c: Column) -> String {
        let ok: Vec<&Outcome> = p
            .runs
            .iter()
            .filter_map(|r| r.result.as_ref().ok())
            .collect();
        if ok.is_empty() {
            return "-".to_string();
        }
        if ok.len() == 1 {
            return c.show(c.value(ok[0]));
        }
        // A recovery that never happened ranks above any time; a missing
        // latency (nothing took effect) is left out.
        let values = ok.iter().filter_map(|o| match (c, c.value(o)) {
            (Column::Recovery, None) => Some(NEVER),
            (_, v) => v,
        });
        match Spread::of(values) {
            None => c.show(None),
            Some(s) if s.min == s.max => c.show(Some(s.min)),
            Some(s) => format!(
                "{} ({}..{})",
                c.show(Some(s.median)),
                c.show(Some(s.min)),
                c.show(Some(s.max))
            ),
        }
    }

    /// What the policy did, in a line, from its runs' figures.
    fn verdict(&self, p: &PolicyRuns) -> String {
        let n = p.runs.len();
        let failed = p.runs.iter().filter(|r| r.result.is_err()).count();
        let ok: Vec<&Outcome> = p
            .runs
            .iter()
            .filter_map(|r| r.result.as_ref().ok())
            .collect();
        let seeds = |k: usize| {
            if n == 1 {
                String::new()
            } else {
                format!(" in {k}/{n} seeds")
            }
        };
        let count = |f: &dyn Fn(&Outcome) -> u64| -> (usize, u64) {
            let with = ok.iter().filter(|o| f(o) > 0).count();
            (with, ok.iter().map(|o| f(o)).sum())
        };
        let mut parts = Vec::new();
        if failed > 0 {
            parts.push(format!("simulation failed{}", seeds(failed)));
        }
        let (lost_in, lost) = count(&|o| o.counts[Metric::Lost]);
        let (dropped_in, dropped) = count(&|o| o.counts[Metric::SilentlyDropped]);
        let (shed_in, shed) = count(&|o| o.counts[Metric::Shed]);
        let (tripped_in, trips) = count(&|o| o.breaker_trips);
        let never = ok.iter().filter(|o| o.recovery_ms.is_none()).count();
        let expect_failed = ok.iter().filter(|o| o.verdict == Verdict::Fail).count();
        // One seed: the figure; several: the mean over the seeds with any.
        let each = |total: u64, k: usize| {
            if n == 1 {
                total.to_string()
            } else {
                format!("mean {}", total / k.max(1) as u64)
            }
        };
        if lost_in > 0 {
            parts.push(format!(
                "LOSES acked data{} ({} lost)",
                seeds(lost_in),
                each(lost, lost_in)
            ));
        }
        if dropped_in > 0 {
            parts.push(format!(
                "drops data silently{} ({} acked messages discarded)",
                seeds(dropped_in),
                each(dropped, dropped_in)
            ));
        }
        if lost_in == 0 && dropped_in == 0 && !ok.is_empty() {
            parts.push(if shed_in > 0 {
                format!(
                    "no silent loss; {} shed with notice{}",
                    each(shed, shed_in),
                    seeds(shed_in)
                )
            } else {
                "no loss".to_string()
            });
            if p.policy == PolicyKind::Unbounded {
                let max = Spread::of(self.values(p, Column::MaxLag)).map_or(0, |s| s.median);
                let what = if n == 1 { "max" } else { "median max" };
                parts.push(format!("lag unchecked ({what} {max})"));
            }
        }
        if tripped_in > 0 {
            let k = each(trips, tripped_in);
            let times = if k == "1" { "time" } else { "times" };
            parts.push(if n == 1 {
                format!("breakers opened {k} {times}")
            } else {
                format!("breakers opened{} ({k} {times})", seeds(tripped_in))
            });
        }
        if never > 0 {
            parts.push(format!("backlog never drained{}", seeds(never)));
        }
        if expect_failed > 0 {
            parts.push(format!("EXPECTATIONS FAILED{}", seeds(expect_failed)));
        }
        parts.join("; ")
    }

    pub(crate) fn header(&self) -> Vec<String> {
        let seeds = match self.seeds.as_slice() {
            [one] => format!("seed={one}"),
            s => format!(
                "seeds={}..{} ({})",
                s.first().copied().unwrap_or(0),
                s.last().copied().unwrap_or(0),
                s.len()
            ),
        };
        let scale = if self.scale > 1 {
            format!(" scale={}", self.scale)
        } else {
            String::new()
        };
        let mut lines = vec![format!(
            "{seeds} scenario={}{scale}  ({} load + {} drain simulated, {} policies)",
            self.scenario,
            format_duration(self.duration),
            format_duration(self.drain),
            self.policies.len()
        )];
        let first = self
            .policies
            .iter()
            .flat_map(|p| &p.runs)
            .find_map(|r| r.result.as_ref().ok());
        if let Some(o) = first {
            let which = if self.seeds.len() > 1 {
                format!(" (seed {})", o.seed)
            } else {
                String::new()
            };
            let faults: Vec<String> = o
                .faults
                .iter()
                .map(|f| {
                    let at = |us: u64| format_duration(Duration::from_micros(us));
                    format!("{} {} until {}", at(f.start_us), f.kind, at(f.end_us))
                })
                .collect();
            lines.push(if faults.is_empty() {
                format!("faults{which}: none")
            } else {
                format!("faults{which}: {}", faults.join("; "))
            });
        }
        lines
    }

    /// The table's rows: header, then one per policy.
    pub(crate) fn rows(&self) -> Vec<Vec<String>> {
        let mut rows = vec![[
            "policy",
            "silently_dropped",
            "shed",
            "lost",
            "max_lag(msgs/age)",
            "recovered_in",
            "p99_e2e",
            "dup_effects",
            "verdict",
        ]
        .map(String::from)
        .to_vec()];
        for p in &self.policies {
            let c = |col| self.cell(p, col);
            rows.push(vec![
                p.policy.name().to_string(),
                c(Column::SilentlyDropped),
                c(Column::Shed),
                c(Column::Lost),
                format!("{} / {}", c(Column::MaxLag), c(Column::MaxLagAge)),
                c(Column::Recovery),
                c(Column::P99),
                c(Column::DuplicateEffects),
                self.verdict(p),
            ]);
        }
        rows
    }

    /// With one seed, each policy's History hash on one line (`history_hash:
    /// silent_drop=… unbounded=…`); `None` with several seeds.
    pub fn hashes(&self) -> Option<String> {
        if self.seeds.len() != 1 {
            return None;
        }
        let hashes: Vec<String> = self
            .policies
            .iter()
            .filter_map(|p| {
                let o = p.runs.first()?.result.as_ref().ok()?;
                Some(format!("{}={}", p.policy.name(), o.history_hash))
            })
            .collect();
        Some(format!("history_hash: {}", hashes.join(" ")))
    }
}

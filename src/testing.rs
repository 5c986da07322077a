//! Scenarios as `cargo test`s: load a scenario (a file, inline TOML, or one
//! built in Rust), register your actors, run it over a range of seeds in
//! parallel, and assert — or look at every seed's [`Outcome`] yourself.
//!
//! ```
//! use mqsim::testing::Check;
//!
//! let report = Check::text(
//!     r#"
//!         name = "crash"
//!         summary = "a broker crashes; nothing acked is lost"
//!         duration = "3s"
//!         drain = "2s"
//!         [[fault]]
//!         at = "1s"
//!         kind = "crash"
//!         target = "broker-0"
//!         restart_after = "300ms"
//!         [expect]
//!         lost = 0
//!     "#,
//! )
//! .seeds(1..=3)
//! .assert_pass();
//! assert_eq!(report.runs.len(), 3);
//! ```
//!
//! A failing seed's panic names the seed, each broken expectation with its
//! actual figure and example message ids, and how to run that seed alone:
//! `MQSIM_SEEDS=17 cargo test <the test>` (the variable replaces the seeds
//! of every check the test makes, so a test that counts its runs sees
//! one; `MQSIM_SEEDS=3..9` a range).
//!
//! Speed: build mqsim's dependencies optimised even in tests (`[profile.dev.package."*"]
//! opt-level = 2` in your workspace's `Cargo.toml`); a simulation built
//! without optimisation runs several times slower.

use crate::{Metric, Outcome, Pipeline, Registry, Verdict};
use harness::scenario::{self, Overrides, PolicyKind, Scenario, ScenarioError};
use std::fmt::Write as _;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// The environment variable that replaces a check's seeds: `17` or `3..9`.
pub const SEEDS_VAR: &str = "MQSIM_SEEDS";

/// Failing seeds a panic lists before it stops counting them out.
const MAX_SEEDS_LISTED: usize = 10;

/// Builds the system under test for one seed, on that seed's thread.
type ModelFactory = std::sync::Arc<dyn Fn() -> Box<dyn harness::model::Model> + Send + Sync>;

/// Where a check's scenario comes from.
#[derive(Clone)]
enum Source {
    File(PathBuf),
    Text(String),
    Built(Box<Scenario>),
}

/// One scenario to check over a range of seeds, with the actors of your own
/// it names. Built with [`Check::file`], [`Check::text`] or
/// [`Check::scenario`], then run with [`Check::run`] or
/// [`Check::assert_pass`].
#[derive(Clone)]
pub struct Check {
    source: Source,
    registry: Registry,
    /// A model of one's own instead of mqsim's `Pipeline`.
    model: Option<ModelFactory>,
    policy: Option<PolicyKind>,
    seeds: Option<RangeInclusive<u64>>,
    /// Set by [`Check::seed`]: one seed asked for by name, which
    /// `MQSIM_SEEDS` leaves alone.
    pinned: bool,
    jobs: Option<usize>,
    shrink: bool,
}

/// Why a check could not run: its scenario is bad input, or `MQSIM_SEEDS`
/// is malformed.
#[derive(Debug)]
pub enum CheckError {
    /// The scenario did not validate: every error, each naming its field.
    Scenario(ScenarioError),
    /// No seed to run (an empty range), too many, or `MQSIM_SEEDS` is not
    /// a seed or a range `A..B`.
    Seeds(String),
}

impl std::fmt::Display for CheckError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CheckError::Scenario(e) => write!(f, "{e}"),
            CheckError::Seeds(e) => write!(f, "seeds: {e}"),
        }
    }
}

impl std::error::Error for CheckError {}

/// One seed's run.
#[derive(Clone, Debug)]
pub struct SeedRun {
    /// The seed.
    pub seed: u64,
    /// Its outcome, or why the simulation failed (a model panicked, a
    /// limit was reached): a bug, not a finding.
    pub outcome: Result<Outcome, String>,
}

/// Every seed's run, in seed order.
#[derive(Clone, Debug)]
pub struct Report {
    /// The scenario's name.
    pub scenario: String,
    /// Each seed's run.
    pub runs: Vec<SeedRun>,
}

impl Report {
    /// The runs that did not pass: an expectation failed, or the
    /// simulation did.
    pub fn failing(&self) -> impl Iterator<Item = &SeedRun> {
        (self.runs.iter()).filter(|r| !matches!(&r.outcome, Ok(o) if o.verdict == Verdict::Pass))
    }

    /// The outcomes of the runs whose simulation completed.
    pub fn outcomes(&self) -> impl Iterator<Item = &Outcome> {
        self.runs.iter().filter_map(|r| r.outcome.as_ref().ok())
    }

    /// `metric`'s count summed over every completed run (0 for a metric
    /// that is not a count).
    pub fn total(&self, metric: Metric) -> u64 {
        self.outcomes().map(|o| o.counts[metric]).sum()
    }
}

impl Check {
    /// The scenario file at `path` (relative paths from the current
    /// directory: under `cargo test`, the crate's root).
    pub fn file(path: impl AsRef<Path>) -> Check {
        Check::from(Source::File(path.as_ref().to_path_buf()))
    }

    /// A scenario written inline, in the file format.
    pub fn text(toml: &str) -> Check {
        Check::from(Source::Text(toml.to_string()))
    }

    /// A scenario built or edited in Rust (it is validated again, against
    /// the check's registry, when the check runs).
    pub fn scenario(scenario: Scenario) -> Check {
        Check::from(Source::Built(Box::new(scenario)))
    }

    fn from(source: Source) -> Check {
        Check {
            source,
            registry: Registry::new(),
            model: None,
            policy: None,
            seeds: None,
            pinned: false,
            jobs: None,
            shrink: false,
        }
    }

    /// Runs with the actors `registry` names (replacing any registered
    /// before).
    pub fn registry(mut self, registry: Registry) -> Check {
        self.registry = registry;
        self
    }

    /// Registers a handler, as [`Registry::handler`] does. To try two
    /// versions of a consumer on one scenario file, register each under the
    /// name the file gives (`[consumer] handler`) in its own check.
    pub fn handler<H, F>(mut self, name: &str, make: F) -> Check
    where
        H: crate::consumer::Handler + 'static,
        F: Fn() -> H + Send + Sync + 'static,
    {
        self.registry = self.registry.handler(name, make);
        self
    }

    /// Runs under the lag policy `name` (built-in, or registered in the
    /// check's registry) instead of the scenario's `[policy] kind`, as
    /// `--policy` does.
    pub fn policy(mut self, name: &str) -> Check {
        self.policy = Some(PolicyKind::named(name));
        self
    }

    /// Registers a lag policy, as [`Registry::policy`] does.
    pub fn lag_policy<P, F>(mut self, name: &str, make: F) -> Check
    where
        P: crate::policy::LagPolicy + 'static,
        F: Fn(&harness::scenario::Policy) -> P + Send + Sync + 'static,
    {
        self.registry = self.registry.policy(name, make);
        self
    }

    /// Registers a store model, as [`Registry::store`] does.
    pub fn store_model<S, F>(mut self, name: &str, make: F) -> Check
    where
        S: crate::store::StoreModel + 'static,
        F: Fn() -> S + Send + Sync + 'static,
    {
        self.registry = self.registry.store(name, make);
        self
    }

    /// Runs a system of one's own ([`crate::model::Model`]) instead of
    /// mqsim's pipeline: `make` builds it for each seed; the scenario is
    /// validated against its [`actors`](crate::model::Model::actors)
    /// (the check's registry is then unused).
    pub fn model<M, F>(mut self, make: F) -> Check
    where
        M: harness::model::Model + 'static,
        F: Fn() -> M + Send + Sync + 'static,
    {
        self.model = Some(std::sync::Arc::new(move || {
            Box::new(make()) as Box<dyn harness::model::Model>
        }));
        self
    }

    /// A fresh system under test for one seed.
    fn build(&self) -> Box<dyn harness::model::Model> {
        match &self.model {
            Some(make) => make(),
            None => Box::new(Pipeline::with(self.registry.clone())),
        }
    }

    /// Runs this one seed (default: the scenario's `seed`); `MQSIM_SEEDS`
    /// does not replace it (a test that compares two seeds keeps them).
    pub fn seed(mut self, seed: u64) -> Check {
        self.seeds = Some(seed..=seed);
        self.pinned = true;
        self
    }

    /// Runs every seed of `seeds`, inclusive (at most 10,000,000 seeds).
    pub fn seeds(mut self, seeds: RangeInclusive<u64>) -> Check {
        self.seeds = Some(seeds);
        self.pinned = false;
        self
    }

    /// Runs on `jobs` threads (default: one per core; `cargo test` runs
    /// tests in parallel too, so a suite of checks may want fewer).
    pub fn jobs(mut self, jobs: usize) -> Check {
        self.jobs = Some(jobs.max(1));
        self
    }

    /// Before [`Check::assert_pass`] panics, shrinks the first failing
    /// seed's scenario (fewer faults, shorter windows, lower load, while
    /// the same expectation still fails) and writes it to `mqsim-shrink/`
    /// in the build's target directory, naming the file in the panic.
    pub fn shrink_on_failure(mut self) -> Check {
        self.shrink = true;
        self
    }

    /// Validates the scenario against the registry.
    pub fn load(&self) -> Result<Scenario, CheckError> {
        let o = Overrides {
            policy: self.policy,
            actors: self.build().actors(),
            ..Overrides::default()
        };
        let (file, text) = match &self.source {
            Source::File(path) => {
                return scenario::load_with(path, &o).map_err(CheckError::Scenario)
            }
            Source::Text(text) => (PathBuf::from("inline.toml"), text.clone()),
            Source::Built(s) => (
                PathBuf::from(format!("{}.toml", s.name)),
                scenario::render(s, &[]),
            ),
        };
        scenario::parse_with(&file, &text, &o).map_err(CheckError::Scenario)
    }

    /// The seeds to run: `MQSIM_SEEDS` if set (unless one seed is pinned),
    /// else those asked for, else the scenario's own.
    fn seed_range(&self, scenario: &Scenario) -> Result<RangeInclusive<u64>, CheckError> {
        if let (Ok(v), false) = (std::env::var(SEEDS_VAR), self.pinned) {
            let parsed = harness::explore::parse_seeds(&v);
            return parsed.map_err(|e| CheckError::Seeds(format!("{SEEDS_VAR}: {e}")));
        }
        let range = (self.seeds.clone()).unwrap_or(scenario.seed..=scenario.seed);
        let n = harness::explore::range_len(&range);
        if range.is_empty() || n > harness::explore::MAX_SEEDS {
            return Err(CheckError::Seeds(format!(
                "expected 1 to {} seeds, found {}..={}",
                harness::explore::MAX_SEEDS,
                range.start(),
                range.end()
            )));
        }
        Ok(range)
    }

    /// Runs every seed, in parallel. `Err` only for bad input; failing
    /// expectations are in the report.
    pub fn run(&self) -> Result<Report, CheckError> {
        let scenario = self.load()?;
        let seeds: Vec<u64> = self.seed_range(&scenario)?.collect();
        let jobs = self
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        let one = |&seed: &u64| {
            let model = self.build();
            let outcome = harness::run(&scenario, seed, model.as_ref())
                .map(|run| run.outcome)
                .map_err(|e| e.to_string());
            SeedRun { seed, outcome }
        };
        let runs = harness::parallel::map(&seeds, jobs, &AtomicBool::new(false), one, |_| {});
        Ok(Report {
            scenario: scenario.name.clone(),
            runs: runs.into_iter().flatten().collect(),
        })
    }

    /// Runs every seed and panics unless each meets the scenario's
    /// expectations (and its simulation completed). The panic names the
    /// first failing seed, each expectation it broke with the actual figure
    /// and example message ids, and how to run it alone.
    ///
    /// # Panics
    ///
    /// On bad input (the scenario's errors), and on any failing seed.
    #[track_caller]
    pub fn assert_pass(&self) -> Report {
        let report = self.run().unwrap_or_else(|e| panic!("{e}"));
        let failing: Vec<&SeedRun> = report.failing().collect();
        let Some(first) = failing.first() else {
            return report;
        };
        let mut seeds: Vec<String> = (failing.iter().take(MAX_SEEDS_LISTED))
            .map(|r| r.seed.to_string())
            .collect();
        if failing.len() > MAX_SEEDS_LISTED {
            seeds.push("…".to_string());
        }
        let mut msg = format!(
            "scenario {} ({}): {} of {} seeds failed ({})\n",
            report.scenario,
            self.describe(),
            failing.len(),
            report.runs.len(),
            seeds.join(", ")
        );
        let _ = write!(msg, "{}", describe_failure(first));
        let test = std::thread::current()
            .name()
            .filter(|n| *n != "main")
            .map(|n| format!(" {n}"))
            .unwrap_or_default();
        let _ = writeln!(
            msg,
            "reproduce: {SEEDS_VAR}={} cargo test{test}",
            first.seed
        );
        if self.shrink {
            let _ = writeln!(msg, "{}", self.shrunk(first.seed));
        }
        panic!("{msg}");
    }

    fn describe(&self) -> String {
        match &self.source {
            Source::File(p) => p.display().to_string(),
            Source::Text(_) => "inline".to_string(),
            Source::Built(_) => "built in Rust".to_string(),
        }
    }

    /// Shrinks `seed`'s failure and writes the minimal scenario; says where.
    fn shrunk(&self, seed: u64) -> String {
        let Ok(scenario) = self.load() else {
            return String::new();
        };
        let model = || self.build();
        match harness::shrink::shrink(&scenario, seed, &model, 150, |_| {}) {
            Ok(s) => {
                let dir = shrink_dir();
                let name = format!("{}-seed-{seed}.min.toml", scenario.name);
                let header = vec![format!(
                    "`{}` still fails for seed {seed} (shrunk by mqsim::testing)",
                    s.target
                )];
                let text = scenario::render(&s.minimal, &header);
                match harness::report::write_files(&dir, &[(name.as_str(), text)]) {
                    Ok(_) => format!(
                        "shrunk: {} ({})",
                        dir.join(&name).display(),
                        harness::shrink::describe(&s.minimal)
                    ),
                    Err(e) => format!("shrunk, but could not write it: {e}"),
                }
            }
            Err(e) => format!("could not shrink: {e}"),
        }
    }
}

/// `mqsim-shrink/` in the target directory: `CARGO_TARGET_DIR`, else the
/// directory above the running binary that cargo marks as one (its
/// `CACHEDIR.TAG`), else `target/` under the current directory.
fn shrink_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            let exe = std::env::current_exe().ok()?;
            let found = exe.ancestors().find(|d| d.join("CACHEDIR.TAG").is_file());
            found.map(Path::to_path_buf)
        })
        .unwrap_or_else(|| PathBuf::from("target"));
    target.join("mqsim-shrink")
}

/// One failing seed for people: what broke, with example ids.
fn describe_failure(run: &SeedRun) -> String {
    let mut s = format!("seed {}:\n", run.seed);
    match &run.outcome {
        Err(e) => {
            let _ = writeln!(s, "  the simulation failed: {e}");
        }
        Ok(o) => {
            for e in o.expectations.iter().filter(|e| !e.passed) {
                let actual = e.actual.map_or("none".to_string(), |v| v.to_string());
                let ids: Vec<String> = e.examples.iter().map(|id| id.to_string()).collect();
                let ids = if ids.is_empty() {
                    String::new()
                } else {
                    format!(" (example ids: {})", ids.join(" "))
                };
                let _ = writeln!(s, "  expected {}, actual {actual}{ids}", e.expr);
            }
            let _ = writeln!(s, "  balance: {}", o.balance.equation);
            let _ = writeln!(s, "  history_hash: {}", o.history_hash);
        }
    }
    s
}

//! The `mqsim` command line, for any system under test: [`main`] gives a
//! binary `run`, `compare`, `explore`, `merge`, `shrink`, `validate`,
//! `list`, `schema` and `bench` over the model its factory builds. Exit
//! codes: 0 every expectation held, 1 an expectation failed, 2 bad input
//! (a scenario file, a flag), 3 the simulation itself failed; 130 a sweep
//! interrupted by Ctrl-C.
//!
//! ```no_run
//! // src/main.rs of a crate whose system under test is `my_model::System`:
//! # mod my_model { pub use mqsim::Pipeline as System; }
//! fn main() -> std::process::ExitCode {
//!     mqsim::cli::main(|| Box::new(my_model::System::new()))
//! }
//! ```

mod bench;

use clap::{Parser, Subcommand, ValueEnum};
use harness::explore::{SeedVerdict, Shard, Sweep};
use harness::model::Model;
use harness::reproduce::{compare_command, run_command};
use harness::scenario::{self, Overrides, PolicyKind, ScenarioError};
use harness::shrink::{describe, ShrinkError};
use std::io::{self, IsTerminal, Write};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

const EXIT_BAD_INPUT: u8 = 2;
const EXIT_SIM_FAILED: u8 = 3;

#[derive(Parser)]
#[command(
    name = "mqsim",
    version,
    about = "Deterministic fault injection for message-queue pipelines"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where `run` and `compare` write their report files, and which optional
/// ones (declared once: both commands take the same three flags).
#[derive(clap::Args)]
struct ReportArgs {
    /// Write the report (report.json, .txt, .md, .html, junit.xml; a
    /// comparison's with the policies' curves overlaid, and each run's own
    /// in <policy>/seed-<N>/) into DIR; `--out` alone:
    /// reports/<scenario>/seed-<N> or reports/<scenario>/compare-seed-<N>.
    #[arg(long, value_name = "DIR", num_args = 0..=1)]
    #[allow(clippy::option_option)]
    out: Option<Option<PathBuf>>,
    /// Also write history.jsonl (every event, one JSON object per line;
    /// each run's, for a comparison).
    #[arg(long)]
    history: bool,
    /// Also write trace.json (Chrome trace-event format; opens in Perfetto).
    #[arg(long)]
    trace: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Run one scenario with one seed and check its expectations.
    Run {
        /// The scenario file (TOML).
        file: PathBuf,
        /// The seed; defaults to the scenario's `seed`.
        #[arg(long)]
        seed: Option<u64>,
        /// What to print on standard output.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[command(flatten)]
        report: ReportArgs,
        /// Run under this lag policy instead of the scenario's.
        #[arg(long, value_parser = parse_policy)]
        policy: Option<PolicyKind>,
        /// Multiply the workload's rates, and the counts the scenario's
        /// `[scale]` lists, by K (the incident at its real size).
        #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..=1000))]
        scale: Option<u32>,
    },
    /// Run one scenario under several lag policies with the same seed(s) and
    /// faults, and put the outcomes side by side.
    Compare {
        /// The scenario file (TOML).
        file: PathBuf,
        /// Policies to compare, comma-separated (default: the four built-in
        /// ones and every one the binary registered).
        #[arg(long, value_delimiter = ',', value_parser = parse_policy)]
        policy: Vec<PolicyKind>,
        /// One seed; defaults to the scenario's `seed`.
        #[arg(long, conflicts_with = "seeds")]
        seed: Option<u64>,
        /// Seeds, inclusive: `A..B`; cells show the median (min..max).
        #[arg(long, value_parser = harness::explore::parse_seeds)]
        seeds: Option<RangeInclusive<u64>>,
        /// Multiply the workload's rates, and the counts the scenario's
        /// `[scale]` lists, by K.
        #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..=1000))]
        scale: Option<u32>,
        /// Threads, one simulation each (default: the machine's cores).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..1025))]
        jobs: Option<u64>,
        /// What to print on standard output.
        #[arg(long, value_enum, default_value_t = TableFormat::Text)]
        format: TableFormat,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// Run one scenario over a range of seeds, in parallel, and summarise.
    Explore {
        /// The scenario file (TOML).
        file: PathBuf,
        /// Seeds to run, inclusive: `A..B` or one seed.
        #[arg(long, value_parser = harness::explore::parse_seeds)]
        seeds: RangeInclusive<u64>,
        /// Threads, one simulation each (default: the machine's cores).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..1025))]
        jobs: Option<u64>,
        /// Run only the K-th of N disjoint slices of the seeds (`K/N`).
        #[arg(long, value_parser = harness::explore::Shard::parse)]
        shard: Option<harness::explore::Shard>,
        /// What to print on standard output.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Write the sweep's report (sweep.json, .txt, .md, .html,
        /// junit.xml) into DIR.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Combine the JSON outputs of `explore --shard` runs into one summary.
    Merge {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Write the merged sweep's report (sweep.json, .txt, .md, .html,
        /// junit.xml) into DIR.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Minimise a failing run: drop faults, shorten and move windows, lower
    /// load and duration while the same expectation keeps failing.
    Shrink {
        /// The scenario file (TOML).
        file: PathBuf,
        /// The failing seed.
        #[arg(long)]
        seed: u64,
        /// Where to write the minimal scenario (default:
        /// `reports/<name>/shrink/<name>-seed-<N>.min.toml`).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Most simulations to spend.
        #[arg(long, default_value_t = 150, value_parser = clap::value_parser!(u32).range(1..))]
        max_runs: u32,
    },
    /// Measure simulation speed against raw turmoil in the same process.
    Bench {
        /// Small sizes: checks every figure is produced, measures little.
        #[arg(long)]
        quick: bool,
        /// The flagship scenario measured in (c) and (d).
        #[arg(long, default_value = "scenarios/discord-compaction-storm.toml")]
        flagship: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// `bench`'s memory figure, measured in a process of its own: runs
    /// `messages` messages and prints the resident size before the run and
    /// the peak after it, in bytes.
    #[command(hide = true)]
    BenchMemory {
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        messages: u64,
    },
    /// Check scenario files without running them.
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// List the scenarios in a directory with their summaries.
    List {
        #[arg(default_value = "scenarios")]
        dir: PathBuf,
    },
    /// Print the JSON Schema of the scenario format (draft 7), for editors
    /// (taplo / Even Better TOML); docs/scenario.schema.json is this output.
    Schema,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum TableFormat {
    Text,
    Json,
    Markdown,
}

/// A built-in policy, or one of the model's own (an unregistered name is
/// rejected with the scenario's validation, naming the registered ones).
fn parse_policy(s: &str) -> Result<PolicyKind, String> {
    if s.trim().is_empty() {
        let names: Vec<&str> = PolicyKind::ALL.iter().map(|k| k.name()).collect();
        return Err(format!(
            "expected a policy name, one of: {} (or one the binary registered)",
            names.join(", ")
        ));
    }
    Ok(PolicyKind::named(s))
}

/// Builds one fresh system under test per run (runs go on several threads,
/// each building its own).
pub type Factory<'a> = &'a (dyn Fn() -> Box<dyn Model> + Sync);

/// Parses the process's arguments and runs the command over the systems
/// `model` builds; returns the exit code to end the process with.
pub fn main(model: impl Fn() -> Box<dyn Model> + Sync) -> ExitCode {
    let model: Factory = &model;
    // Reproduce lines name the binary that printed them.
    if let Some(name) = std::env::args_os()
        .next()
        .as_deref()
        .and_then(|a| Path::new(a).file_name())
    {
        let name = name.to_string_lossy();
        harness::reproduce::set_program(name.strip_suffix(".exe").unwrap_or(&name));
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // clap: help and version are not errors; usage errors are bad input.
            return ExitCode::from(if e.use_stderr() { EXIT_BAD_INPUT } else { 0 });
        }
    };
    match cli.command {
        Command::Run {
            file,
            seed,
            format,
            report,
            policy,
            scale,
        } => run(
            model,
            &file,
            seed,
            format,
            Output::new(report),
            policy,
            scale,
        ),
        Command::Compare {
            file,
            policy,
            seed,
            seeds,
            scale,
            jobs,
            format,
            report,
        } => compare(
            model,
            &file,
            &policy,
            seed.map(|s| s..=s).or(seeds),
            scale,
            jobs,
            format,
            Output::new(report),
        ),
        Command::Explore {
            file,
            seeds,
            jobs,
            shard,
            format,
            out,
        } => explore(model, &file, seeds, jobs, shard, format, out.as_deref()),
        Command::Merge { files, format, out } => merge(&files, format, out.as_deref()),
        Command::Shrink {
            file,
            seed,
            out,
            max_runs,
        } => shrink(model, &file, seed, out, max_runs),
        Command::Validate { files } => validate(model, &files),
        Command::Bench {
            quick,
            flagship,
            format,
        } => match bench::run(quick, &flagship) {
            Ok(b) => {
                print(&match format {
                    Format::Text => b.render_text(),
                    Format::Json => b.to_json(),
                });
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(EXIT_BAD_INPUT)
            }
        },
        Command::BenchMemory { messages } => match bench::memory_of_run(messages) {
            Ok((before, peak)) => {
                print(&format!("{before} {peak}\n"));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(EXIT_SIM_FAILED)
            }
        },
        Command::List { dir } => list(model, &dir),
        Command::Schema => {
            print(&harness::scenario::json_schema());
            ExitCode::SUCCESS
        }
    }
}

/// Where a run or comparison writes its report, if anywhere.
struct Output {
    /// `None`: no report files; `Some(None)`: the default directory.
    dir: Option<Option<PathBuf>>,
    extras: harness::report::Extras,
}

impl Output {
    /// `--history` and `--trace` imply `--out`.
    fn new(report: ReportArgs) -> Output {
        let ReportArgs {
            out,
            history,
            trace,
        } = report;
        let dir = match out {
            None if history || trace => Some(None),
            out => out,
        };
        Output {
            dir,
            extras: harness::report::Extras { history, trace },
        }
    }

    /// The directory to write into, `default` when `--out` came alone.
    fn dir(&self, default: impl FnOnce() -> PathBuf) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.clone().unwrap_or_else(default))
    }
}

/// Tells where the report went (stderr: stdout is the report itself).
fn wrote(dir: &Path, page: &str) {
    eprintln!("report: {}", dir.join(page).display());
}

fn run(
    model: Factory,
    file: &Path,
    seed: Option<u64>,
    format: Format,
    output: Output,
    policy: Option<PolicyKind>,
    scale: Option<u32>,
) -> ExitCode {
    let overrides = Overrides {
        policy,
        scale,
        actors: model().actors(),
    };
    let scenario = match scenario::load_with(file, &overrides) {
        Ok(s) => s,
        Err(e) => return bad_scenario(&e),
    };
    let seed = seed.unwrap_or(scenario.seed);
    let reproduce = run_command(&file.display().to_string(), seed, policy, scale);
    let dir = output.dir(|| {
        let suffix = policy.map_or(String::new(), |p| format!("-{}", p.name()));
        PathBuf::from(format!("reports/{}/seed-{seed}{suffix}", scenario.name))
    });
    let cannot_write = |e: std::io::Error| {
        eprintln!("error: cannot write the report to --out: {e}");
        ExitCode::from(EXIT_BAD_INPUT)
    };
    let result = harness::run(&scenario, seed, model().as_ref());
    let run = match result {
        Ok(run) => run,
        Err(failure) => {
            eprintln!("seed={seed} scenario={}", scenario.name);
            eprintln!("error: {failure}");
            eprintln!("reproduce: {reproduce}");
            if let Some(dir) = dir {
                let error = failure.to_string();
                let written =
                    harness::report::write_failure(&dir, &scenario.name, seed, &error, &reproduce);
                if let Err(e) = written {
                    return cannot_write(e);
                }
                wrote(&dir, "junit.xml");
            }
            return ExitCode::from(EXIT_SIM_FAILED);
        }
    };
    let outcome = &run.outcome;
    let text = match format {
        Format::Text => harness::report::text::run(outcome, &reproduce),
        Format::Json => harness::report::json::run(outcome),
    };
    // The verdict is printed even when the report cannot be written.
    print(&text);
    if let Some(dir) = dir {
        match harness::report::write_run(&dir, outcome, &run.history, &reproduce, output.extras) {
            Ok(_) => wrote(&dir, "report.html"),
            Err(e) => return cannot_write(e),
        }
    }
    ExitCode::from(outcome.exit_code() as u8)
}

/// `mqsim compare`: the scenario under each policy, side by side.
#[allow(clippy::too_many_arguments)]
fn compare(
    model: Factory,
    file: &Path,
    policies: &[PolicyKind],
    seeds: Option<RangeInclusive<u64>>,
    scale: Option<u32>,
    jobs: Option<u64>,
    format: TableFormat,
    output: Output,
) -> ExitCode {
    let base = Overrides {
        policy: None,
        scale,
        actors: model().actors(),
    };
    let plan = match harness::compare::plan(file, policies, &base) {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    if let Some(note) = &plan.note {
        eprintln!("note: {note}");
    }
    let scenarios = plan.scenarios;
    let range = seeds.unwrap_or_else(|| {
        let s = scenarios[0].1.seed;
        s..=s
    });
    if harness::explore::range_len(&range) > 100_000 {
        eprintln!(
            "error: --seeds: expected at most 100000 seeds, found {}",
            harness::explore::range_len(&range)
        );
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let seeds: Vec<u64> = range.clone().collect();
    let jobs = jobs_or_cores(jobs);
    stop_on_ctrl_c();
    let total = (seeds.len() * scenarios.len()) as u64;
    let mut progress = Progress::new("compare", "runs", total);
    let file_name = file.display().to_string();
    let dir = output.dir(|| {
        let seeds = if seeds.len() == 1 {
            format!("seed-{}", seeds[0])
        } else {
            format!("seeds-{}-{}", range.start(), range.end())
        };
        PathBuf::from(format!("reports/{}/compare-{seeds}", scenarios[0].1.name))
    });
    let extras = output.extras;
    let write_extras = (dir.as_deref())
        .filter(|_| extras.history || extras.trace)
        .map(|d| harness::report::compare_extras(d, extras));
    let comparison = harness::compare::compare(
        &file_name,
        &scenarios,
        &seeds,
        jobs,
        write_extras
            .as_ref()
            .map(|f| f as harness::compare::AfterRun),
        model,
        &INTERRUPTED,
        |r| {
            progress
                .step(!matches!(&r.result, Ok(o) if o.verdict == harness::outcome::Verdict::Pass))
        },
    );
    progress.finish();
    drop(write_extras);
    let asked: Vec<PolicyKind> = if policies.is_empty() {
        Vec::new()
    } else {
        scenarios.iter().map(|(k, _)| *k).collect()
    };
    let reproduce = compare_command(&file_name, &range, &asked, scale);
    let mut code = comparison.exit_code();
    let runs = comparison.policies.iter().flat_map(|p| &p.runs);
    for error in runs.filter_map(|r| r.extras_error.as_ref()) {
        eprintln!("error: cannot write --history/--trace: {error}");
        code = code.max(EXIT_BAD_INPUT as i32);
    }
    if let Some(dir) = dir {
        let reproduce_run = |policy: &str, seed: u64| {
            let policy = PolicyKind::from_name(policy);
            run_command(&file_name, seed, policy, scale)
        };
        match harness::report::write_compare(&dir, &comparison, &reproduce, &reproduce_run, extras)
        {
            Ok(_) => wrote(&dir, "report.html"),
            Err(e) => {
                eprintln!("error: cannot write the comparison to --out: {e}");
                code = code.max(EXIT_BAD_INPUT as i32);
            }
        }
    }
    print(&match format {
        TableFormat::Text => harness::report::text::comparison(&comparison, &reproduce),
        TableFormat::Json => harness::report::json::comparison(&comparison),
        TableFormat::Markdown => {
            harness::report::markdown::comparison_table(&comparison, &reproduce)
        }
    });
    if comparison.partial {
        return ExitCode::from(EXIT_INTERRUPTED);
    }
    ExitCode::from(code as u8)
}

/// `--jobs`, or one per core.
fn jobs_or_cores(jobs: Option<u64>) -> usize {
    jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |j| j as usize,
    )
}

/// The first Ctrl-C sets [`INTERRUPTED`]; a second one leaves at once.
fn stop_on_ctrl_c() {
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(EXIT_INTERRUPTED as i32);
        }
    });
}

/// Set by Ctrl-C: running seeds finish, no new seed starts.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Exit code of a sweep cut short by Ctrl-C (128 + SIGINT, as shells do).
const EXIT_INTERRUPTED: u8 = 130;

fn explore(
    model: Factory,
    file: &Path,
    range: RangeInclusive<u64>,
    jobs: Option<u64>,
    shard: Option<Shard>,
    format: Format,
    out: Option<&Path>,
) -> ExitCode {
    let scenario = match load(model, file) {
        Ok(s) => s,
        Err(e) => return bad_scenario(&e),
    };
    let seeds = match shard {
        Some(s) => s.seeds(&range),
        None => range.clone().collect(),
    };
    let jobs = jobs_or_cores(jobs);
    stop_on_ctrl_c();
    let mut progress = Progress::new("explore", "seeds", seeds.len() as u64);
    let (results, partial) =
        harness::explore::sweep(&scenario, &seeds, jobs, model, &INTERRUPTED, |r| {
            progress.step(r.verdict != SeedVerdict::Pass)
        });
    progress.finish();
    let file_name = file.display().to_string();
    let fingerprint = harness::explore::fingerprint(&scenario);
    let sweep = Sweep::new(
        &scenario.name,
        &fingerprint,
        &file_name,
        &range,
        shard,
        partial,
        results,
    );
    let mut files: Vec<(String, String)> = Vec::new();
    if out.is_some() {
        let report = harness::report::sweep_files(&sweep);
        files.extend(report.into_iter().map(|(n, t)| (n.to_string(), t)));
    }
    // Every failing seed of a swarm becomes a plain, replayable scenario file.
    files.extend(harness::report::swarm_schedules(&scenario, &sweep));
    let dir = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("reports").join(&scenario.name).join("swarm"));
    // A write failure must not hide the sweep: the summary is printed anyway.
    let mut write_error = None;
    if !files.is_empty() {
        let named: Vec<(&str, String)> =
            files.iter().map(|(n, t)| (n.as_str(), t.clone())).collect();
        if let Err(e) = harness::report::write_files(&dir, &named) {
            write_error = Some(format!("error: cannot write to {}: {e}", dir.display()));
            files.clear();
        }
    }
    let mut text = match format {
        Format::Text => harness::report::text::sweep(&sweep),
        Format::Json => harness::report::json::sweep(&sweep),
    };
    let drawn: Vec<&String> = files
        .iter()
        .map(|(n, _)| n)
        .filter(|n| n.ends_with(".toml"))
        .collect();
    if !drawn.is_empty() && matches!(format, Format::Text) {
        text += &format!(
            "schedules of failing seeds, as scenario files, in {}:\n",
            dir.display()
        );
        for n in drawn {
            text += &format!("  {n}\n");
        }
    }
    print(&text);
    if partial {
        note(&format!(
            "interrupted: the summary covers the {} seeds that finished",
            sweep.results.len()
        ));
        return ExitCode::from(EXIT_INTERRUPTED);
    }
    let code = sweep.exit_code() as u8;
    if let Some(e) = write_error {
        note(&e);
        // Failing seeds keep their code; an all-green sweep that could not
        // write what was asked is bad input.
        return ExitCode::from(code.max(EXIT_BAD_INPUT));
    }
    ExitCode::from(code)
}

/// A line on stderr; a closed stderr is ignored rather than a panic.
fn note(line: &str) {
    let _ = writeln!(io::stderr(), "{line}");
}

fn merge(files: &[PathBuf], format: Format, out: Option<&Path>) -> ExitCode {
    let mut parts = Vec::new();
    for f in files {
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{}: cannot read: {e}", f.display());
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        };
        match serde_json::from_str::<Sweep>(&text) {
            Ok(s) => parts.push(s),
            Err(e) => {
                eprintln!("{}: not the JSON of `mqsim explore`: {e}", f.display());
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        }
    }
    let merged = match Sweep::merge(&parts) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    print(&match format {
        Format::Text => harness::report::text::sweep(&merged),
        Format::Json => harness::report::json::sweep(&merged),
    });
    let mut code = merged.exit_code() as u8;
    if let Some(dir) = out {
        match harness::report::write_files(dir, &harness::report::sweep_files(&merged)) {
            Ok(_) => wrote(dir, "sweep.html"),
            Err(e) => {
                note(&format!("error: cannot write to {}: {e}", dir.display()));
                code = code.max(EXIT_BAD_INPUT);
            }
        }
    }
    if merged.partial {
        note(&format!(
            "partial: {} of {} seeds present (a shard is missing or was interrupted)",
            merged.results.len(),
            harness::explore::range_len(&(merged.seeds_from..=merged.seeds_to))
        ));
        // Missing seeds must not pass as green.
        return ExitCode::from(code.max(EXIT_BAD_INPUT));
    }
    ExitCode::from(code)
}

/// Progress on stderr: a bar on a terminal, a plain line every ~5% otherwise
/// (CI logs). Wall-clock time appears only here, never in a summary.
struct Progress {
    /// The command, for the plain-text notes.
    command: &'static str,
    /// What is counted: "seeds" or "runs".
    unit: &'static str,
    total: u64,
    done: u64,
    failed: u64,
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new(command: &'static str, unit: &'static str, total: u64) -> Progress {
        let bar = io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total);
            let template = format!(
                "{{bar:40}} {{pos}}/{{len}} {unit}  {{msg}}  [{{elapsed_precise}}, eta {{eta}}]"
            );
            bar.set_style(
                indicatif::ProgressStyle::with_template(&template).expect("a valid template"),
            );
            bar
        });
        Progress {
            command,
            unit,
            total,
            done: 0,
            failed: 0,
            bar,
        }
    }

    fn step(&mut self, failed: bool) {
        self.done += 1;
        if failed {
            self.failed += 1;
        }
        match &self.bar {
            Some(bar) => {
                bar.set_message(format!("{} failing", self.failed));
                bar.inc(1);
            }
            None => {
                let step = (self.total / 20).max(1);
                if self.done.is_multiple_of(step) || self.done == self.total {
                    note(&format!(
                        "{}: {}/{} {}, {} failing",
                        self.command, self.done, self.total, self.unit, self.failed
                    ));
                }
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn shrink(model: Factory, file: &Path, seed: u64, out: Option<PathBuf>, max_runs: u32) -> ExitCode {
    let scenario = match load(model, file) {
        Ok(s) => s,
        Err(e) => return bad_scenario(&e),
    };
    // Not beside FILE: a deliberately failing scenario in scenarios/ would
    // join the suite that requires every shipped scenario to pass.
    let out = out.unwrap_or_else(|| {
        PathBuf::from("reports")
            .join(&scenario.name)
            .join("shrink")
            .join(format!("{}-seed-{seed}.min.toml", scenario.name))
    });
    eprintln!("seed={seed} scenario={}", scenario.name);
    let result = harness::shrink::shrink(&scenario, seed, model, max_runs, |step| {
        eprintln!("  {step}")
    });
    let shrunk = match result {
        Ok(s) => s,
        Err(ShrinkError::Passes) => {
            eprintln!("error: {}", ShrinkError::Passes);
            return ExitCode::from(EXIT_BAD_INPUT);
        }
        Err(e) => {
            eprintln!("error: {e}");
            let reproduce = run_command(&file.display().to_string(), seed, None, None);
            eprintln!("reproduce: {reproduce}");
            return ExitCode::from(EXIT_SIM_FAILED);
        }
    };
    let actual = |a: Option<u64>| a.map_or("none".to_string(), |v| v.to_string());
    // For a swarm scenario, "before" is the schedule this seed drew.
    let before = harness::swarm::instantiate(&scenario, seed).into_owned();
    let header = vec![
        format!(
            "Shrunk by `{} shrink {} --seed {seed}`:",
            harness::reproduce::program(),
            file.display()
        ),
        format!(
            "`{}` still fails (actual {}; before: {}).",
            shrunk.target,
            actual(shrunk.actual_after),
            actual(shrunk.actual_before)
        ),
        format!("Before: {}", describe(&before)),
        format!("After:  {}", describe(&shrunk.minimal)),
    ];
    let text = scenario::render(&shrunk.minimal, &header);
    let (dir, name) = match (out.parent(), out.file_name()) {
        (Some(d), Some(n)) => (
            if d.as_os_str().is_empty() {
                Path::new(".")
            } else {
                d
            },
            n,
        ),
        _ => {
            eprintln!("error: --out {} is not a file path", out.display());
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let name = name.to_string_lossy().into_owned();
    if let Err(e) = harness::report::write_files(dir, &[(&name, text)]) {
        eprintln!("error: cannot write the minimal scenario: {e}");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    print(&format!(
        "failing: {}\nbefore:  {}\nafter:   {}\nruns:    {}\nwritten: {}\nreproduce: {}\n",
        shrunk.target,
        describe(&before),
        describe(&shrunk.minimal),
        shrunk.runs,
        out.display(),
        run_command(&out.display().to_string(), seed, None, None)
    ));
    ExitCode::SUCCESS
}

fn validate(model: Factory, files: &[PathBuf]) -> ExitCode {
    let mut ok = true;
    let mut out = String::new();
    for file in files {
        match load(model, file) {
            Ok(s) => out += &format!("ok  {}  {}: {}\n", file.display(), s.name, s.summary),
            Err(e) => {
                ok = false;
                eprintln!("{e}");
            }
        }
    }
    print(&out);
    ExitCode::from(if ok { 0 } else { EXIT_BAD_INPUT })
}

fn list(model: Factory, dir: &Path) -> ExitCode {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: cannot list {}: {e}", dir.display());
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut ok = true;
    let mut rows = Vec::new();
    for file in &files {
        match load(model, file) {
            Ok(s) => rows.push((s.name, s.summary)),
            Err(e) => {
                ok = false;
                eprintln!("{e}");
            }
        }
    }
    let width = rows.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (name, summary) in rows {
        out += &format!("{name:width$}  {summary}\n");
    }
    print(&out);
    ExitCode::from(if ok { 0 } else { EXIT_BAD_INPUT })
}

/// Loads `file` as the model that will run it sees it: with the actors it
/// registered.
fn load(model: Factory, file: &Path) -> Result<harness::Scenario, ScenarioError> {
    let o = Overrides {
        actors: model().actors(),
        ..Overrides::default()
    };
    scenario::load_with(file, &o)
}

fn bad_scenario(e: &ScenarioError) -> ExitCode {
    eprintln!("{e}");
    ExitCode::from(EXIT_BAD_INPUT)
}

/// Prints to stdout; a closed pipe (`mqsim … | head`) ends the output quietly.
fn print(text: &str) {
    let mut stdout = io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush());
}

//! `mqsim`: run, validate and list scenarios. Exit codes (DESIGN §5): 0 every
//! expectation held, 1 an expectation failed, 2 bad input, 3 the simulation
//! itself failed.

use clap::{Parser, Subcommand, ValueEnum};
use harness::scenario::{self, ScenarioError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
        /// Also write report.json and report.txt into this directory.
        #[arg(long)]
        out: Option<PathBuf>,
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
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

fn main() -> ExitCode {
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
            out,
        } => run(&file, seed, format, out.as_deref()),
        Command::Validate { files } => validate(&files),
        Command::List { dir } => list(&dir),
    }
}

fn run(file: &Path, seed: Option<u64>, format: Format, out: Option<&Path>) -> ExitCode {
    let scenario = match scenario::load(file) {
        Ok(s) => s,
        Err(e) => return bad_scenario(&e),
    };
    let seed = seed.unwrap_or(scenario.seed);
    let reproduce = format!("mqsim run {} --seed {seed}", file.display());
    let result = harness::run(&scenario, seed, &models::Pipeline::new());
    let run = match result {
        Ok(run) => run,
        Err(failure) => {
            eprintln!("seed={seed} scenario={}", scenario.name);
            eprintln!("error: {failure}");
            eprintln!("reproduce: {reproduce}");
            return ExitCode::from(EXIT_SIM_FAILED);
        }
    };
    let outcome = &run.outcome;
    if let Some(dir) = out {
        if let Err(e) = harness::report::write_run(dir, outcome, &reproduce) {
            eprintln!("error: cannot write the report to --out: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    }
    let text = match format {
        Format::Text => outcome.render_text(&reproduce),
        Format::Json => outcome.to_json(),
    };
    print(&text);
    ExitCode::from(outcome.exit_code() as u8)
}

fn validate(files: &[PathBuf]) -> ExitCode {
    let mut ok = true;
    let mut out = String::new();
    for file in files {
        match scenario::load(file) {
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

fn list(dir: &Path) -> ExitCode {
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
        match scenario::load(file) {
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

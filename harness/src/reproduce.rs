//! The command that reproduces one run, as every report, sweep and error
//! prints it: one spelling, so a line copied from any of them runs the same
//! simulation.

use crate::scenario::PolicyKind;
use std::sync::OnceLock;

/// The command's name in the lines: `mqsim`, or the binary a user built
/// on `mqsim::cli::main` ([`set_program`]).
static PROGRAM: OnceLock<String> = OnceLock::new();

/// Names the program the reproduce lines run (once, at start-up; later
/// calls change nothing).
pub fn set_program(name: &str) {
    let _ = PROGRAM.set(name.to_string());
}

/// The program name the lines use.
pub fn program() -> &'static str {
    PROGRAM.get().map_or("mqsim", String::as_str)
}

/// `mqsim run FILE --seed N [--policy P] [--scale K]`; a scale of 1 is the
/// scenario as written and is left out.
pub fn run_command(
    file: &str,
    seed: u64,
    policy: Option<PolicyKind>,
    scale: Option<u32>,
) -> String {
    format!(
        "{} run {file} --seed {seed}{}{}",
        program(),
        policy.map_or(String::new(), |p| format!(" --policy {}", p.name())),
        scale_flag(scale)
    )
}

/// `mqsim compare FILE --seed N | --seeds A..B [--policy P,Q] [--scale K]`;
/// no policies: every one the scenario allows.
pub fn compare_command(
    file: &str,
    seeds: &std::ops::RangeInclusive<u64>,
    policies: &[PolicyKind],
    scale: Option<u32>,
) -> String {
    let seeds = if seeds.start() == seeds.end() {
        format!("--seed {}", seeds.start())
    } else {
        format!("--seeds {}..{}", seeds.start(), seeds.end())
    };
    let policies = if policies.is_empty() {
        String::new()
    } else {
        let names: Vec<&str> = policies.iter().map(|k| k.name()).collect();
        format!(" --policy {}", names.join(","))
    };
    format!(
        "{} compare {file} {seeds}{policies}{}",
        program(),
        scale_flag(scale)
    )
}

/// ` --scale K` when K > 1, else nothing.
pub fn scale_flag(scale: Option<u32>) -> String {
    scale
        .filter(|&k| k > 1)
        .map_or(String::new(), |k| format!(" --scale {k}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_only_when_they_change_the_run() {
        assert_eq!(
            run_command("s.toml", 3, None, None),
            "mqsim run s.toml --seed 3"
        );
        assert_eq!(
            run_command("s.toml", 3, None, Some(1)),
            "mqsim run s.toml --seed 3"
        );
        assert_eq!(
            run_command("s.toml", 3, Some(PolicyKind::SilentDrop), Some(24)),
            "mqsim run s.toml --seed 3 --policy silent_drop --scale 24"
        );
        assert_eq!(
            compare_command("s.toml", &(4..=4), &[], None),
            "mqsim compare s.toml --seed 4"
        );
        assert_eq!(
            compare_command(
                "s.toml",
                &(1..=9),
                &[PolicyKind::SilentDrop, PolicyKind::Unbounded],
                Some(24)
            ),
            "mqsim compare s.toml --seeds 1..9 --policy silent_drop,unbounded --scale 24"
        );
    }
}

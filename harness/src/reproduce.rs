//! The command that reproduces one run, as every report, sweep and error
//! prints it: one spelling, so a line copied from any of them runs the same
//! simulation.

use crate::scenario::PolicyKind;

/// `mqsim run FILE --seed N [--policy P] [--scale K]`; a scale of 1 is the
/// scenario as written and is left out.
pub fn run_command(
    file: &str,
    seed: u64,
    policy: Option<PolicyKind>,
    scale: Option<u32>,
) -> String {
    format!(
        "mqsim run {file} --seed {seed}{}{}",
        policy.map_or(String::new(), |p| format!(" --policy {}", p.name())),
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
    }
}

//! Repeating faults (`every`, `count`, `jitter`): a run expands each into
//! its instances before the driver sees the schedule, so the driver, the
//! checkers and the reports only ever deal with plain faults. The jitter
//! is drawn from the run's seed (a stream of its own, so a repeating fault
//! changes no actor's randomness): the same seed, the same instants.

use crate::scenario::{Fault, Scenario};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

/// Separates the repetitions' stream from the driver's and the swarm's.
const REPEAT_STREAM: u64 = 0x5245_5045_4154_0001;

/// Whether the scenario has a repeating fault.
pub fn has_repeats(s: &Scenario) -> bool {
    s.faults.iter().any(|f| f.repeat.is_some())
}

/// Replaces every repeating fault by its instances, in time order (stable:
/// at one instant, faults keep file order, a fault's instances theirs).
pub fn expand(s: &mut Scenario, seed: u64) {
    if !has_repeats(s) {
        return;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ REPEAT_STREAM);
    let mut out = Vec::with_capacity(s.faults.len());
    for f in &s.faults {
        let Some(r) = f.repeat else {
            out.push(f.clone());
            continue;
        };
        let jitter_ms = r.jitter.as_millis() as u64;
        for i in 0..r.count {
            let delay = Duration::from_millis(if jitter_ms > 0 {
                rng.random_range(0..=jitter_ms)
            } else {
                0
            });
            let shift = r.every * i + delay;
            out.push(Fault::once(
                f.at + shift,
                f.until.map(|u| u + shift),
                f.kind.clone(),
            ));
        }
    }
    out.sort_by_key(|f| f.at);
    s.faults = out;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{overlaps, parse};
    use std::path::Path;

    fn scenario(faults: &str) -> Scenario {
        let text = format!(
            "name = \"r\"\nsummary = \"r\"\nduration = \"60s\"\n[consumer]\nprocessing = \"1ms\"\n{faults}"
        );
        parse(Path::new("r.toml"), &text).unwrap_or_else(|e| panic!("{e}"))
    }

    const PAUSES: &str = r#"
[[fault]]
at = "5s"
kind = "pause"
target = "consumer-0"
for = "2s"
every = "10s"
count = 4
jitter = "1s"
[[fault]]
at = "6s"
kind = "crash"
target = "broker-0"
restart_after = "1s"
"#;

    #[test]
    fn instances_follow_every_count_and_a_seeded_jitter() {
        let s = scenario(PAUSES);
        let mut a = s.clone();
        expand(&mut a, 7);
        assert_eq!(a.faults.len(), 5);
        let pauses: Vec<&Fault> = a
            .faults
            .iter()
            .filter(|f| f.kind.name() == "pause")
            .collect();
        for (i, f) in pauses.iter().enumerate() {
            let start = Duration::from_secs(5 + 10 * i as u64);
            assert!(
                f.at >= start && f.at <= start + Duration::from_secs(1),
                "{f:?}"
            );
            assert_eq!(f.until, Some(f.at + Duration::from_secs(2)));
            assert!(f.repeat.is_none());
        }
        // Time order, the crash among the pauses.
        assert!(a.faults.windows(2).all(|w| w[0].at <= w[1].at));
        // The same seed draws the same instants; another seed others.
        let mut b = s.clone();
        expand(&mut b, 7);
        assert_eq!(a.faults, b.faults);
        let draws: Vec<Vec<Duration>> = (1..=8)
            .map(|seed| {
                let mut c = s.clone();
                expand(&mut c, seed);
                c.faults.iter().map(|f| f.at).collect()
            })
            .collect();
        assert!(draws.iter().any(|d| *d != draws[0]), "{draws:?}");
        // The expanded schedule never overlaps, whatever the draw.
        for d in 1..=50 {
            let mut c = s.clone();
            expand(&mut c, d);
            assert!(overlaps(&c.faults, Some(c.duration)).is_empty());
        }
    }

    #[test]
    fn without_count_as_many_as_fit() {
        let s = scenario(
            "[[fault]]\nat = \"10s\"\nkind = \"slow_cpu\"\ntarget = \"consumers\"\nfactor = 3\nfor = \"4s\"\nevery = \"15s\"\n",
        );
        // 10, 25, 40 (ends 44); 55 would end at 59: fits; 70 does not.
        assert_eq!(s.faults[0].repeat.unwrap().count, 4);
        let mut e = s.clone();
        expand(&mut e, 1);
        let starts: Vec<u64> = e.faults.iter().map(|f| f.at.as_secs()).collect();
        assert_eq!(starts, vec![10, 25, 40, 55]);
        // A plain scenario is left as it is.
        let mut p = scenario("");
        expand(&mut p, 1);
        assert!(p.faults.is_empty());
    }
}

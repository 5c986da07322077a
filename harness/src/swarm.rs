//! Swarm testing (after TigerBeetle's simulator): a `[swarm]` scenario has no
//! fixed fault list; each seed draws its own — how many faults, which kinds,
//! their windows and targets, and the load level — from its own RNG stream.
//! The drawn scenario is a plain scenario: `render` writes it out, so every
//! random failure becomes a replayable, editable file.

use crate::scenario::{overlaps, Fault, FaultKind, Host, LatencyRange, Role, Scenario, Slowdown};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::borrow::Cow;
use std::time::Duration;

/// Separates the swarm's stream from the driver's, which also starts from the seed.
const SWARM_STREAM: u64 = 0x5357_4152_4d5f_0001;
/// Draws per fault before leaving it out because it keeps overlapping
/// others: the drawn count is an upper bound on crowded schedules.
const ATTEMPTS: u32 = 20;

/// The concrete scenario `seed` runs: the scenario itself without `[swarm]`,
/// or the schedule the seed draws; repeating faults expanded into their
/// instances ([`crate::repeat`]).
pub fn instantiate(scenario: &Scenario, seed: u64) -> Cow<'_, Scenario> {
    let Some(sw) = &scenario.swarm else {
        if crate::repeat::has_repeats(scenario) {
            let mut s = scenario.clone();
            crate::repeat::expand(&mut s, seed);
            return Cow::Owned(s);
        }
        return Cow::Borrowed(scenario);
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ SWARM_STREAM);
    let mut s = scenario.clone();
    s.swarm = None;
    s.seed = seed;
    if let Some((lo, hi)) = sw.rate {
        s.workload.rate_per_s = rng.random_range(lo..=hi);
    }
    let n = rng.random_range(sw.faults.0..=sw.faults.1);
    let hosts = scenario.hosts();
    let of = |roles: &[Role]| -> Vec<Host> {
        (hosts.iter().copied())
            .filter(|h| roles.contains(&h.role))
            .collect()
    };
    let duration_ms = s.duration.as_millis() as u64;
    for _ in 0..n {
        for _ in 0..ATTEMPTS {
            let kind = sw.kinds[rng.random_range(0..sw.kinds.len())].as_str();
            let (wmin, wmax) = (
                sw.window.0.as_millis() as u64,
                sw.window.1.as_millis() as u64,
            );
            let len = rng.random_range(wmin..=wmax).min(duration_ms);
            let at = rng.random_range(0..=duration_ms - len);
            let kind = draw_kind(kind, &mut rng, &of);
            let mut faults = s.faults.clone();
            faults.push(Fault::once(
                Duration::from_millis(at),
                Some(Duration::from_millis(at + len)),
                kind,
            ));
            faults.sort_by_key(|f| f.at);
            if overlaps(&faults, Some(s.duration)).is_empty() {
                s.faults = faults;
                break;
            }
        }
    }
    Cow::Owned(s)
}

fn pick(rng: &mut ChaCha8Rng, hosts: &[Host]) -> Vec<Host> {
    vec![hosts[rng.random_range(0..hosts.len())]]
}

fn range(rng: &mut ChaCha8Rng, choices: &[(u64, u64)]) -> LatencyRange {
    let (min, max) = choices[rng.random_range(0..choices.len())];
    LatencyRange {
        min: Duration::from_millis(min),
        max: Duration::from_millis(max),
    }
}

fn draw_kind(kind: &str, rng: &mut ChaCha8Rng, of: &dyn Fn(&[Role]) -> Vec<Host>) -> FaultKind {
    // Links worth cutting: each side of the pipeline, and in a cluster one
    // broker from the rest of it (other brokers and the controller): the
    // cut that shrinks in-sync sets and moves leaders.
    let pairs = [
        (Role::Producer, Role::Broker),
        (Role::Consumer, Role::Broker),
        (Role::Consumer, Role::Store),
        (Role::Broker, Role::Controller),
    ];
    let brokers = of(&[Role::Broker]);
    // Single-broker scenarios draw among the first three only, as they
    // always did, so their seeds keep their schedules.
    let choices = if brokers.len() > 1 { 4 } else { 3 };
    let (a, b) = match pairs[rng.random_range(0..choices)] {
        (Role::Broker, Role::Controller) => {
            let one = pick(rng, &brokers);
            let rest = of(&[Role::Broker, Role::Controller])
                .into_iter()
                .filter(|h| !one.contains(h))
                .collect();
            (one, rest)
        }
        (ra, rb) => (of(&[ra]), of(&[rb])),
    };
    let all = [Role::Broker, Role::Store, Role::Producer, Role::Consumer];
    match kind {
        "crash" => FaultKind::Crash {
            targets: pick(rng, &of(&all)),
        },
        "pause" => FaultKind::Pause {
            targets: pick(rng, &of(&all)),
        },
        "slow_storage" => FaultKind::SlowStorage {
            targets: pick(rng, &of(&[Role::Broker, Role::Store])),
            slow: Slowdown::Extra(range(rng, &[(5, 50), (50, 500), (200, 2000)])),
        },
        "partition" => FaultKind::Partition {
            a,
            b,
            oneway: rng.random_bool(0.2),
        },
        "hold" => FaultKind::Hold { a, b },
        "latency" => FaultKind::Latency {
            a,
            b,
            latency: range(rng, &[(20, 100), (100, 500)]),
        },
        _ => FaultKind::Loss {
            a,
            b,
            rate: [0.01, 0.05, 0.1][rng.random_range(0..3)],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{parse, render};
    use std::path::Path;

    const SWARM: &str = r#"
name = "swarm"
summary = "draws"
duration = "1m"
[topology]
stores = 2
[consumer]
workers = 2
[swarm]
faults = "2..5"
window = "2s..20s"
rate = "50/s..300/s"
"#;

    #[test]
    fn each_seed_draws_a_valid_replayable_schedule() {
        let s = parse(Path::new("swarm.toml"), SWARM).unwrap();
        let mut distinct = std::collections::BTreeSet::new();
        let mut counts = Vec::new();
        for seed in 1..=50 {
            let drawn = instantiate(&s, seed).into_owned();
            assert!(drawn.swarm.is_none());
            // Up to the drawn count: a fault that keeps overlapping is left out.
            assert!(drawn.faults.len() <= 5, "seed {seed}");
            counts.push(drawn.faults.len());
            assert!((50..=300).contains(&drawn.workload.rate_per_s));
            // The same seed draws the same schedule.
            assert_eq!(instantiate(&s, seed).into_owned(), drawn);
            // Written out, it is a valid scenario file that means the same.
            let text = render(&drawn, &[]);
            let back = parse(Path::new("drawn.toml"), &text)
                .unwrap_or_else(|e| panic!("seed {seed}: {e}\n{text}"));
            assert_eq!(back, drawn, "seed {seed}");
            distinct.insert(text);
        }
        assert!(distinct.len() > 40, "seeds draw different schedules");
        // Most draws fit: overlaps are the exception on a 1-minute load.
        let full = counts.iter().filter(|&&n| n >= 2).count();
        assert!(full >= 45, "{counts:?}");
    }

    #[test]
    fn a_scenario_without_swarm_is_itself() {
        let s = parse(
            Path::new("s.toml"),
            "name = \"s\"\nsummary = \"s\"\nduration = \"10s\"\n",
        )
        .unwrap();
        assert!(matches!(instantiate(&s, 3), Cow::Borrowed(_)));
    }
}

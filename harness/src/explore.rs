//! Seed sweeps: one scenario over many seeds, on several threads (one
//! simulation per thread: turmoil's `Sim` is not `Send`), with a summary per
//! figure and the failing seeds. A sweep can be one shard of a larger range;
//! shard outputs merge into the summary a single run would give, because a
//! summary is a function of its per-seed results only (no wall time, no order
//! of completion).

use crate::check::Figures;
use crate::model::Model;
use crate::outcome::{Outcome, Verdict};
use crate::scenario::{Metric, Scenario};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::sync::atomic::AtomicBool;

/// `K/N`: the K-th (1-based) of N disjoint slices of a seed range. Seeds are
/// dealt round robin, so each shard gets a fair mix of the range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// K: which slice, from 1.
    pub index: u32,
    /// N: how many slices the range is dealt into.
    pub count: u32,
}

impl Shard {
    /// Parses `--shard`'s `K/N` (1 <= K <= N).
    pub fn parse(s: &str) -> Result<Shard, String> {
        let err = || format!("expected K/N with 1 <= K <= N, such as 1/4, found {s:?}");
        let (k, n) = s.split_once('/').ok_or_else(err)?;
        let (index, count) = (
            k.trim().parse::<u32>().map_err(|_| err())?,
            n.trim().parse::<u32>().map_err(|_| err())?,
        );
        if index == 0 || index > count {
            return Err(err());
        }
        Ok(Shard { index, count })
    }

    /// The seeds of `range` in this shard.
    pub fn seeds(&self, range: &RangeInclusive<u64>) -> Vec<u64> {
        let (k, n) = (self.index as u64 - 1, self.count as u64);
        range
            .clone()
            .filter(|s| (s - range.start()) % n == k)
            .collect()
    }
}

/// Most seeds in one sweep (the range is held in memory).
pub const MAX_SEEDS: u64 = 10_000_000;

/// Parses `A..B` (inclusive) or a single seed.
pub fn parse_seeds(s: &str) -> Result<RangeInclusive<u64>, String> {
    let err = || {
        format!("expected a seed range A..B (inclusive, A <= B, at most {MAX_SEEDS} seeds), such as 1..200, found {s:?}")
    };
    let (a, b) = match s.split_once("..") {
        Some((a, b)) => (a, b),
        None => (s, s),
    };
    let (a, b) = (
        a.trim().parse::<u64>().map_err(|_| err())?,
        b.trim().parse::<u64>().map_err(|_| err())?,
    );
    if a > b || b - a >= MAX_SEEDS {
        return Err(err());
    }
    Ok(a..=b)
}

/// Seeds in a range parsed by [`parse_seeds`] (never overflows: it is capped).
pub fn range_len(range: &RangeInclusive<u64>) -> u64 {
    range.end().saturating_sub(*range.start()).saturating_add(1)
}

/// Identifies what a sweep ran: the scenario as rendered (so an edited file
/// with the same name differs) and the tool's version.
pub fn fingerprint(scenario: &Scenario) -> String {
    let text = crate::scenario::render(scenario, &[]);
    let mut h = blake3::Hasher::new();
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.update(text.as_bytes());
    h.finalize().to_hex()[..16].to_string()
}

/// The verdict of one seed, including the simulation failing (exit code 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeedVerdict {
    /// Every expectation held.
    Pass,
    /// An expectation failed.
    Fail,
    /// The simulation failed (a panic, a conservation violation, a run past
    /// its bounds): no figures.
    SimFailure,
}

/// What a sweep keeps of one seed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedResult {
    /// The seed run.
    pub seed: u64,
    /// How the seed's run ended.
    pub verdict: SeedVerdict,
    /// Empty when the simulation failed.
    pub history_hash: String,
    /// Every metric's value; `None` where the figure does not exist (recovery
    /// never happened, no latency, or the simulation failed).
    pub values: BTreeMap<String, Option<u64>>,
    /// The expectations that failed, as `"lost = 0 (actual 12)"`.
    pub failed: Vec<String>,
    /// The simulation failure, when there was one.
    pub error: Option<String>,
}

impl SeedResult {
    /// What a sweep keeps of a finished run.
    pub fn from_run(o: &Outcome, figures: &Figures) -> SeedResult {
        SeedResult {
            seed: o.seed,
            verdict: match o.verdict {
                Verdict::Pass => SeedVerdict::Pass,
                Verdict::Fail => SeedVerdict::Fail,
            },
            history_hash: o.history_hash.clone(),
            values: Metric::ALL
                .iter()
                .map(|m| (m.name().to_string(), figures.value(*m)))
                .collect(),
            failed: o
                .expectations
                .iter()
                .filter(|e| !e.passed)
                .map(|e| match e.actual {
                    Some(a) => format!("{} (actual {a})", e.expr),
                    None => format!("{} (actual none)", e.expr),
                })
                .collect(),
            error: None,
        }
    }

    /// A seed whose simulation failed with `error`.
    pub fn sim_failure(seed: u64, error: String) -> SeedResult {
        SeedResult {
            seed,
            verdict: SeedVerdict::SimFailure,
            history_hash: String::new(),
            values: BTreeMap::new(),
            failed: Vec::new(),
            error: Some(error),
        }
    }
}

/// min / median / max of one figure over the seeds where it exists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spread {
    /// The smallest value.
    pub min: u64,
    /// The median (of an even count, the lower middle value).
    pub median: u64,
    /// The largest value.
    pub max: u64,
    /// Seeds where the figure exists.
    pub seeds: u64,
}

impl Spread {
    /// The spread of `values`; None when there are none.
    pub fn of(values: impl IntoIterator<Item = u64>) -> Option<Spread> {
        let mut v: Vec<u64> = values.into_iter().collect();
        if v.is_empty() {
            return None;
        }
        v.sort_unstable();
        Some(Spread {
            min: v[0],
            median: v[(v.len() - 1) / 2],
            max: v[v.len() - 1],
            seeds: v.len() as u64,
        })
    }
}

/// The JSON contract of `mqsim explore` and `mqsim merge`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sweep {
    /// The scenario's name.
    pub scenario: String,
    /// [`fingerprint`] of the scenario: shards merge only when it matches.
    pub fingerprint: String,
    /// The scenario file as given on the command line.
    pub file: String,
    /// The whole range asked for, inclusive.
    pub seeds_from: u64,
    /// The range's last seed.
    pub seeds_to: u64,
    /// `None` for a whole range (also after `merge`).
    pub shard: Option<Shard>,
    /// True when the sweep was interrupted or shards are missing.
    pub partial: bool,
    /// Seeds per verdict.
    pub verdicts: BTreeMap<SeedVerdict, u64>,
    /// Each metric's spread over the seeds where its figure exists, by name.
    pub figures: BTreeMap<String, Spread>,
    /// Every seed's result, by seed.
    pub results: Vec<SeedResult>,
}

impl Sweep {
    /// Builds the summary from per-seed results (in any order).
    pub fn new(
        scenario: &str,
        fingerprint: &str,
        file: &str,
        range: &RangeInclusive<u64>,
        shard: Option<Shard>,
        partial: bool,
        mut results: Vec<SeedResult>,
    ) -> Sweep {
        results.sort_by_key(|r| r.seed);
        results.dedup_by_key(|r| r.seed);
        let mut verdicts = BTreeMap::new();
        for r in &results {
            *verdicts.entry(r.verdict).or_insert(0) += 1;
        }
        let mut figures = BTreeMap::new();
        for m in Metric::ALL {
            let v = results
                .iter()
                .filter_map(|r| r.values.get(m.name()).copied().flatten());
            if let Some(spread) = Spread::of(v) {
                figures.insert(m.name().to_string(), spread);
            }
        }
        Sweep {
            scenario: scenario.to_string(),
            fingerprint: fingerprint.to_string(),
            file: file.to_string(),
            seeds_from: *range.start(),
            seeds_to: *range.end(),
            shard,
            partial,
            verdicts,
            figures,
            results,
        }
    }

    /// Combines shard outputs of one sweep into the summary of the whole
    /// range. The parts must be of the same scenario (fingerprint) and range;
    /// every result must lie in its part's shard; a seed present twice must
    /// have the same result. The output does not depend on argument order.
    pub fn merge(parts: &[Sweep]) -> Result<Sweep, String> {
        let mut parts: Vec<&Sweep> = parts.iter().collect();
        parts.sort_by_key(|p| (p.shard.map(|s| (s.count, s.index)), p.file.clone()));
        let first = *parts.first().ok_or("nothing to merge")?;
        let range = first.seeds_from..=first.seeds_to;
        let mut results: BTreeMap<u64, SeedResult> = BTreeMap::new();
        for p in &parts {
            if (p.fingerprint.as_str(), p.seeds_from, p.seeds_to)
                != (first.fingerprint.as_str(), first.seeds_from, first.seeds_to)
            {
                return Err(format!(
                    "cannot merge a sweep of {} (fingerprint {}) seeds {}..{} with one of {} (fingerprint {}) seeds {}..{}: not the same scenario, version and range",
                    p.scenario, p.fingerprint, p.seeds_from, p.seeds_to,
                    first.scenario, first.fingerprint, first.seeds_from, first.seeds_to
                ));
            }
            let allowed = |seed: u64| {
                range.contains(&seed)
                    && p.shard.is_none_or(|s| {
                        (seed - range.start()) % s.count as u64 == s.index as u64 - 1
                    })
            };
            for r in &p.results {
                if !allowed(r.seed) {
                    return Err(format!(
                        "seed {} lies outside its part's range or shard",
                        r.seed
                    ));
                }
                match results.get(&r.seed) {
                    Some(prev) if prev != r => {
                        return Err(format!(
                            "seed {} appears twice with different results",
                            r.seed
                        ))
                    }
                    _ => {
                        results.insert(r.seed, r.clone());
                    }
                }
            }
        }
        let results: Vec<SeedResult> = results.into_values().collect();
        let (name, print, file) = (&first.scenario, &first.fingerprint, &first.file);
        let mut merged = Sweep::new(name, print, file, &range, None, false, results);
        merged.partial =
            parts.iter().any(|p| p.partial) || merged.results.len() as u64 != range_len(&range);
        Ok(merged)
    }

    /// How many seeds ended with verdict `v`.
    pub fn count(&self, v: SeedVerdict) -> u64 {
        self.verdicts.get(&v).copied().unwrap_or(0)
    }

    /// 0 all seeds passed; 1 a seed failed an expectation; 3 a simulation
    /// failed (it takes precedence: the harness or a model is broken).
    pub fn exit_code(&self) -> i32 {
        if self.count(SeedVerdict::SimFailure) > 0 {
            3
        } else if self.count(SeedVerdict::Fail) > 0 {
            1
        } else {
            0
        }
    }

    /// The command that reproduces one seed of this sweep.
    pub fn reproduce(&self, seed: u64) -> String {
        crate::reproduce::run_command(&self.file, seed, None, None)
    }
}

/// Runs `scenario` for every seed on `jobs` threads. `model` builds a fresh
/// model per seed on the thread that runs it. `stop` ends the sweep early:
/// running seeds finish, no new one starts. `progress` is called on the
/// caller's thread after each seed.
pub fn sweep(
    scenario: &Scenario,
    seeds: &[u64],
    jobs: usize,
    model: &(dyn Fn() -> Box<dyn Model> + Sync),
    stop: &AtomicBool,
    progress: impl FnMut(&SeedResult),
) -> (Vec<SeedResult>, bool) {
    let one = |&seed: &u64| {
        // Everything of one seed is isolated: a panic anywhere in it
        // (building the model, drawing a swarm, checking) fails that seed
        // only. The driver already captures panics in hosts.
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let model = model();
            match crate::run(scenario, seed, model.as_ref()) {
                Ok(run) => SeedResult::from_run(&run.outcome, &run.figures),
                Err(failure) => SeedResult::sim_failure(seed, failure.to_string()),
            }
        }));
        run.unwrap_or_else(|p| {
            let m = crate::driver::panic_message(p.as_ref());
            SeedResult::sim_failure(seed, format!("panic: {m}"))
        })
    };
    let all = crate::parallel::map(seeds, jobs, stop, one, progress);
    let complete = all.iter().all(Option::is_some);
    let results = all.into_iter().flatten().collect();
    (results, !complete)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_disjoint_and_cover_the_range() {
        let range = 3..=12;
        let a = Shard::parse("1/3").unwrap().seeds(&range);
        let b = Shard::parse("2/3").unwrap().seeds(&range);
        let c = Shard::parse("3/3").unwrap().seeds(&range);
        assert_eq!(a, vec![3, 6, 9, 12]);
        assert_eq!(b, vec![4, 7, 10]);
        assert_eq!(c, vec![5, 8, 11]);
        assert!(Shard::parse("0/3").is_err());
        assert!(Shard::parse("4/3").is_err());
        assert!(Shard::parse("x").is_err());
    }

    #[test]
    fn seed_ranges() {
        assert_eq!(parse_seeds("1..200"), Ok(1..=200));
        assert_eq!(parse_seeds("7"), Ok(7..=7));
        assert!(parse_seeds("5..1").is_err());
        assert!(parse_seeds("-1..3").is_err());
    }

    fn result(seed: u64, verdict: SeedVerdict, lost: Option<u64>) -> SeedResult {
        SeedResult {
            seed,
            verdict,
            history_hash: format!("h{seed}"),
            values: [("lost".to_string(), lost)].into_iter().collect(),
            failed: Vec::new(),
            error: None,
        }
    }

    #[test]
    fn summary_and_merge() {
        let range = 1..=4;
        let all = vec![
            result(4, SeedVerdict::Fail, Some(9)),
            result(1, SeedVerdict::Pass, Some(0)),
            result(3, SeedVerdict::SimFailure, None),
            result(2, SeedVerdict::Pass, Some(1)),
        ];
        let whole = Sweep::new("s", "f", "s.toml", &range, None, false, all.clone());
        assert_eq!(
            whole.results.iter().map(|r| r.seed).collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
        assert_eq!(whole.count(SeedVerdict::Pass), 2);
        assert_eq!(
            whole.figures["lost"],
            Spread {
                min: 0,
                median: 1,
                max: 9,
                seeds: 3
            }
        );
        assert_eq!(whole.exit_code(), 3);
        let (s1, s2) = (Shard::parse("1/2").unwrap(), Shard::parse("2/2").unwrap());
        let part = |s: Shard| {
            let seeds = s.seeds(&range);
            let rs = all
                .iter()
                .filter(|r| seeds.contains(&r.seed))
                .cloned()
                .collect();
            Sweep::new("s", "f", "s.toml", &range, Some(s), false, rs)
        };
        assert_eq!(Sweep::merge(&[part(s2), part(s1)]).unwrap(), whole);
        // A missing shard leaves the merge partial.
        assert!(Sweep::merge(&[part(s1)]).unwrap().partial);
        // A result outside its shard, or a seed twice with different results.
        let mut wrong = part(s1);
        wrong.results.push(result(2, SeedVerdict::Pass, Some(0)));
        assert!(Sweep::merge(&[wrong, part(s2)]).is_err());
        let mut other = part(s2);
        other.results[0].history_hash = "changed".into();
        assert!(Sweep::merge(&[part(s1), part(s2), other]).is_err());
        let other = Sweep::new("t", "g", "t.toml", &range, None, false, Vec::new());
        assert!(Sweep::merge(&[whole, other]).is_err());
    }
}

//! The JSON contracts (docs/json-contract.md), for CI: a run's
//! (`report.json`, `mqsim run --format json`), a comparison's and a
//! sweep's (`sweep.json`, which `mqsim merge` reads back). Each is its
//! data's serde shape, pretty-printed, keys in a fixed order, with a
//! trailing newline.

use crate::compare::{Comparison, PolicyRun};
use crate::explore::Sweep;
use crate::outcome::Outcome;
use serde::Serialize;
use serde_json::{json, Map};

fn pretty(value: &impl Serialize) -> String {
    let mut s = serde_json::to_string_pretty(value).expect("the contracts always serialise");
    s.push('\n');
    s
}

/// One run's contract.
pub fn run(outcome: &Outcome) -> String {
    pretty(outcome)
}

/// A comparison: with one seed, `policies.<name>` is that run's contract
/// (as `mqsim run --format json` prints it); with several,
/// `policies.<name>` holds `runs` (each seed's contract) and `spread` (min
/// / median / max of each table figure over the seeds where it exists:
/// `seeds` says how many).
pub fn comparison(c: &Comparison) -> String {
    let mut policies = Map::new();
    for p in &c.policies {
        let contract = |r: &PolicyRun| match &r.result {
            Ok(o) => serde_json::to_value(o).expect("an Outcome always serialises"),
            Err(e) => json!({ "seed": r.seed, "error": e }),
        };
        let value = match p.runs.as_slice() {
            [one] if c.seeds.len() == 1 => contract(one),
            runs => {
                let spread: Map<String, serde_json::Value> = (c.spreads(p).into_iter())
                    .map(|(key, s)| (key.to_string(), json!(s)))
                    .collect();
                json!({
                    "runs": runs.iter().map(contract).collect::<Vec<_>>(),
                    "spread": spread,
                })
            }
        };
        policies.insert(p.policy.name().to_string(), value);
    }
    pretty(&json!({
        "scenario": c.scenario,
        "file": c.file,
        "seeds": c.seeds,
        "scale": c.scale,
        "partial": c.partial,
        "policies": policies,
    }))
}

/// A sweep: every seed's result and each figure's spread.
pub fn sweep(sweep: &Sweep) -> String {
    pretty(sweep)
}

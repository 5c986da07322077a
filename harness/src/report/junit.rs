//! `junit.xml`: one testcase per expectation, so CI systems that ingest JUnit
//! (GitHub, GitLab, Jenkins, Buildkite) list each expectation as a test. A
//! suite is a scenario (with the policy for comparisons); the seed is in
//! each testcase's name, so the same expectation at two seeds are two tests.

use super::actual_text;
use crate::compare::Comparison;
use crate::explore::{SeedVerdict, Sweep};
use crate::outcome::{ExpectationResult, Outcome};
use std::fmt::Write as _;

use super::escape as esc;

struct Suite {
    name: String,
    properties: Vec<(&'static str, String)>,
    /// `(name, failure: Some((message, body)), error)`.
    cases: Vec<Case>,
}

struct Case {
    name: String,
    failure: Option<(String, String)>,
    error: Option<String>,
}

fn case(seed: u64, e: &ExpectationResult, reproduce: &str) -> Case {
    let actual = actual_text(e.expectation.metric, e.actual);
    let failure = (!e.passed).then(|| {
        let examples: Vec<String> = e.examples.iter().map(|id| id.to_string()).collect();
        let mut body = format!("expected {}, actual {actual}\n", e.expr);
        if !examples.is_empty() {
            let _ = writeln!(body, "example ids: {}", examples.join(" "));
        }
        let _ = writeln!(body, "reproduce: {reproduce}");
        (format!("expected {}, actual {actual}", e.expr), body)
    });
    Case {
        name: format!("seed {seed}: {}", e.expr),
        failure,
        error: None,
    }
}

fn suite_of(o: &Outcome, name: String, reproduce: &str) -> Suite {
    Suite {
        name,
        properties: vec![
            ("seed", o.seed.to_string()),
            ("policy", o.policy.clone()),
            ("history_hash", o.history_hash.clone()),
            ("balance", o.balance.equation.clone()),
            ("reproduce", reproduce.to_string()),
        ],
        cases: o
            .expectations
            .iter()
            .map(|e| case(o.seed, e, reproduce))
            .collect(),
    }
}

fn render(suites: &[Suite]) -> String {
    let count = |f: &dyn Fn(&Case) -> bool| -> usize {
        suites
            .iter()
            .flat_map(|s| &s.cases)
            .filter(|c| f(c))
            .count()
    };
    let mut o = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        o,
        "<testsuites name=\"mqsim\" tests=\"{}\" failures=\"{}\" errors=\"{}\">",
        count(&|_| true),
        count(&|c| c.failure.is_some()),
        count(&|c| c.error.is_some())
    );
    for s in suites {
        let _ = writeln!(
            o,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"0\">",
            esc(&s.name),
            s.cases.len(),
            s.cases.iter().filter(|c| c.failure.is_some()).count(),
            s.cases.iter().filter(|c| c.error.is_some()).count()
        );
        if !s.properties.is_empty() {
            let _ = writeln!(o, "    <properties>");
            for (k, v) in &s.properties {
                let _ = writeln!(o, "      <property name=\"{k}\" value=\"{}\"/>", esc(v));
            }
            let _ = writeln!(o, "    </properties>");
        }
        for c in &s.cases {
            let open = format!(
                "    <testcase classname=\"{}\" name=\"{}\"",
                esc(&s.name),
                esc(&c.name)
            );
            match (&c.failure, &c.error) {
                (None, None) => {
                    let _ = writeln!(o, "{open}/>");
                }
                (Some((message, body)), _) => {
                    let _ = writeln!(
                        o,
                        "{open}>\n      <failure type=\"expectation\" message=\"{}\">{}</failure>\n    </testcase>",
                        esc(message),
                        esc(body)
                    );
                }
                (None, Some(e)) => {
                    let _ = writeln!(
                        o,
                        "{open}>\n      <error type=\"simulation\" message=\"{}\">{}</error>\n    </testcase>",
                        esc(e.lines().next().unwrap_or("")),
                        esc(e)
                    );
                }
            }
        }
        let _ = writeln!(o, "  </testsuite>");
    }
    o.push_str("</testsuites>\n");
    o
}

/// One suite named after the scenario.
pub fn run(o: &Outcome, reproduce: &str) -> String {
    render(&[suite_of(o, o.scenario.clone(), reproduce)])
}

/// A run whose simulation failed: one testcase with an `<error>`.
pub fn failure(scenario: &str, seed: u64, error: &str, reproduce: &str) -> String {
    render(&[Suite {
        name: scenario.to_string(),
        properties: vec![
            ("seed", seed.to_string()),
            ("reproduce", reproduce.to_string()),
        ],
        cases: vec![Case {
            name: format!("seed {seed}: simulation"),
            failure: None,
            error: Some(format!("{error}\nreproduce: {reproduce}")),
        }],
    }])
}

/// One suite per policy (`scenario [policy]`); a run whose simulation
/// failed is one testcase with an `<error>`.
pub fn comparison(c: &Comparison, reproduce_run: &dyn Fn(&str, u64) -> String) -> String {
    let suites: Vec<Suite> = c
        .policies
        .iter()
        .map(|p| {
            let name = format!("{} [{}]", c.scenario, p.policy.name());
            let mut cases = Vec::new();
            for r in &p.runs {
                let reproduce = reproduce_run(p.policy.name(), r.seed);
                match &r.result {
                    Ok(o) => {
                        cases.extend(o.expectations.iter().map(|e| case(r.seed, e, &reproduce)))
                    }
                    Err(e) => cases.push(Case {
                        name: format!("seed {}: simulation", r.seed),
                        failure: None,
                        error: Some(format!("{e}\nreproduce: {reproduce}")),
                    }),
                }
            }
            Suite {
                name,
                properties: vec![("policy", p.policy.name().to_string())],
                cases,
            }
        })
        .collect();
    render(&suites)
}

/// One suite for the sweep, one testcase per seed: a seed that failed an
/// expectation fails with them, one whose simulation failed is an
/// `<error>`; each carries the command that replays it.
pub fn sweep(sweep: &Sweep) -> String {
    let cases = (sweep.results.iter())
        .map(|r| {
            let reproduce = sweep.reproduce(r.seed);
            let (failure, error) = match r.verdict {
                SeedVerdict::Pass => (None, None),
                SeedVerdict::Fail => {
                    let message = r.failed.join("; ");
                    let body = format!("{message}\nreproduce: {reproduce}\n");
                    (Some((message, body)), None)
                }
                SeedVerdict::SimFailure => {
                    let e = r.error.as_deref().unwrap_or("simulation failed");
                    (None, Some(format!("{e}\nreproduce: {reproduce}")))
                }
            };
            Case {
                name: format!("seed {}", r.seed),
                failure,
                error,
            }
        })
        .collect();
    render(&[Suite {
        name: sweep.scenario.clone(),
        properties: vec![
            ("seeds", format!("{}..{}", sweep.seeds_from, sweep.seeds_to)),
            ("fingerprint", sweep.fingerprint.clone()),
            ("partial", sweep.partial.to_string()),
        ],
        cases,
    }])
}

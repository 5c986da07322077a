//! A model that panics fails its run with a simulation failure (verdict 3)
//! carrying the panic message, instead of taking the process down — whether
//! the panic is in a host's main task or in a task it spawned. Also shows that
//! `harness::model::Model` is the whole interface a custom system needs.

use harness::driver::SimFailure;
use harness::history::{Inventory, Sample};
use harness::model::{Env, Model};
use harness::scenario::parse;
use std::path::Path;
use std::time::Duration;

struct Panicky {
    in_spawned_task: bool,
}

impl Model for Panicky {
    fn install(&self, sim: &mut turmoil::Sim<'_>, env: &Env) {
        for h in env.scenario.hosts() {
            let spawned = self.in_spawned_task;
            sim.host(h.to_string(), move || async move {
                mqsim::time::sleep(Duration::from_secs(1)).await;
                if spawned {
                    let task = tokio::task::spawn_local(async { panic!("model bug in a task") });
                    let _ = task.await;
                    // Keep the host alive: the failure must come from the task.
                    std::future::pending::<()>().await;
                }
                panic!("model bug in the main task");
            });
        }
    }

    fn sample(&self, at_us: u64) -> Sample {
        Sample::down(at_us)
    }

    fn inventory(&self) -> Inventory {
        Inventory::default()
    }
}

/// A model whose hosts wait on bare tokio timers, which the simulation
/// cannot see.
struct BareTimer;

impl Model for BareTimer {
    fn install(&self, sim: &mut turmoil::Sim<'_>, env: &Env) {
        for h in env.scenario.hosts() {
            sim.host(h.to_string(), || async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                std::future::pending::<()>().await;
                Ok(())
            });
        }
    }

    fn sample(&self, at_us: u64) -> Sample {
        Sample::down(at_us)
    }

    fn inventory(&self) -> Inventory {
        Inventory::default()
    }
}

/// Such a host would never be woken for its timer, so the run fails
/// instead of reporting figures from a host that stalled, naming the host,
/// when the timer was due and what to use.
#[test]
fn a_bare_tokio_timer_fails_the_run_naming_the_host() {
    let err = harness::run(&scenario(), 1, &BareTimer)
        .err()
        .expect("the run must fail");
    let SimFailure::Sim(m) = err else {
        panic!("expected a simulation failure, got {err:?}")
    };
    let first = format!("host {}:", scenario().hosts()[0]);
    assert!(
        m.contains(&first)
            // Due at 300 ms, seen when the run ended: the host idled after
            // its first step.
            && m.contains("due between 0ns and")
            && m.contains("mqsim::time")
            && !m.contains("turmoil::time"),
        "{m}"
    );
}

fn scenario() -> harness::Scenario {
    let text = "name = \"p\"\nsummary = \"s\"\nduration = \"5s\"\ndrain = \"1s\"\n";
    parse(Path::new("p.toml"), text).unwrap()
}

#[test]
fn a_panic_in_a_host_fails_the_run_with_its_message() {
    let err = harness::run(
        &scenario(),
        1,
        &Panicky {
            in_spawned_task: false,
        },
    )
    .err()
    .expect("the run must fail");
    match err {
        SimFailure::Panic(m) => {
            assert!(m.contains("model bug in the main task"), "{m}");
            assert!(m.contains("model_failure.rs"), "the location is given: {m}");
        }
        other => panic!("unexpected failure: {other}"),
    }
}

#[test]
fn a_panic_in_a_spawned_task_is_not_swallowed() {
    let err = harness::run(
        &scenario(),
        1,
        &Panicky {
            in_spawned_task: true,
        },
    )
    .err()
    .expect("the run must fail");
    assert!(
        matches!(&err, SimFailure::Panic(m) if m.contains("model bug in a task")),
        "{err}"
    );
}

/// A model of one's own runs from `cargo test` through the public API too;
/// its panic is that seed's simulation failure, named in the report.
#[test]
fn a_check_runs_a_model_of_ones_own() {
    let check = mqsim::testing::Check::text(
        "name = \"p\"\nsummary = \"s\"\nduration = \"5s\"\ndrain = \"1s\"\n",
    )
    .model(|| Panicky {
        in_spawned_task: false,
    })
    .seeds(1..=2);
    let report = check.run().unwrap();
    assert_eq!(report.failing().count(), 2);
    for run in &report.runs {
        let e = run.outcome.as_ref().unwrap_err();
        assert!(e.contains("model bug in the main task"), "{e}");
    }
}

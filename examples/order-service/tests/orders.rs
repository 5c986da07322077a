//! The order consumer inside the simulation, judged by mqsim's checkers.

use mqsim::testing::Check;
use mqsim::Metric;
use order_service::{Buggy, Fixed, HANDLER};

const SCENARIO: &str = "scenarios/orders-broker-crash.toml";

#[test]
fn the_buggy_consumer_loses_and_duplicates_orders() {
    let report = Check::file(SCENARIO)
        .handler(HANDLER, || Buggy)
        .seeds(1..=5)
        .run()
        .unwrap();
    // Every seed breaks an expectation, and the figures name the orders.
    assert_eq!(report.failing().count(), report.runs.len());
    for o in report.outcomes() {
        let broken: Vec<_> = o.expectations.iter().filter(|e| !e.passed).collect();
        assert!(!broken.is_empty(), "seed {}", o.seed);
        for e in broken {
            assert!(
                !e.examples.is_empty(),
                "seed {}: {} names no order",
                o.seed,
                e.expr
            );
        }
    }
    for o in report.outcomes() {
        eprintln!(
            "seed {}: {}; duplicate effects {}",
            o.seed,
            o.balance.equation,
            o.counts[Metric::DuplicateEffects]
        );
    }
    assert!(
        report.total(Metric::Lost) > 0,
        "commit-before-write loses orders"
    );
    assert!(
        report.total(Metric::DuplicateEffects) > 0,
        "a blind retry writes orders twice"
    );
}

#[test]
fn the_fixed_consumer_neither_loses_nor_duplicates_over_50_seeds() {
    Check::file(SCENARIO)
        .handler(HANDLER, || Fixed)
        .seeds(1..=50)
        .assert_pass();
}

#[test]
fn the_same_seed_gives_the_same_history_with_our_code_in_the_loop() {
    let run = |seed| {
        let report = Check::file(SCENARIO)
            .handler(HANDLER, || Fixed)
            .seed(seed)
            .run()
            .unwrap();
        let hash = report.outcomes().next().unwrap().history_hash.clone();
        hash
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
}

#[test]
fn a_scenario_naming_an_unregistered_handler_is_an_error_naming_the_field() {
    let err = Check::file(SCENARIO)
        .handler("something-else", || Fixed)
        .run()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("consumer.handler: expected a registered handler, one of: store_writer, something-else; found \"orders\""),
        "{err}"
    );
}

#[test]
fn the_service_binary_runs_the_scenario_with_our_handler() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_order-service"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", SCENARIO, "--seed", "3", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: String = String::from_utf8(out.stdout).unwrap();
    let same = Check::file(SCENARIO)
        .registry(order_service::registry())
        .seed(3)
        .run()
        .unwrap();
    let hash = &same.outcomes().next().unwrap().history_hash;
    assert!(
        json.contains(&format!("\"history_hash\": \"{hash}\"")),
        "{json}"
    );

    // `validate` knows the handler too (the plain `mqsim` binary, which
    // registers none, rejects the file naming consumer.handler).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_order-service"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["validate", "../../scenarios/smoke.toml", SCENARIO])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

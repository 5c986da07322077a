//! Our lag policy against silent drop, on the Discord compaction storm:
//! the same seed, load and faults, each policy in turn.

use mqsim::testing::Check;
use mqsim::Metric;
use order_service::{registry, POLICY};

const DISCORD: &str = "../../scenarios/discord-compaction-storm.toml";

#[test]
fn our_policy_loses_nothing_silently_where_silent_drop_does() {
    let under = |policy: &str| {
        let report = Check::file(DISCORD)
            .registry(registry())
            .policy(policy)
            .seed(1)
            .run()
            .unwrap();
        let outcome = report
            .outcomes()
            .next()
            .expect("the storm simulates")
            .clone();
        outcome
    };
    let ours = under(POLICY);
    let silent = under("silent_drop");
    assert_eq!(ours.policy, POLICY);
    assert!(silent.counts[Metric::SilentlyDropped] > 1000);
    // Ours drops nothing, refuses nothing, and every order takes effect:
    // its breakers route around the compacting node, so lag stays below
    // what silent drop let it reach before dropping.
    for m in [
        Metric::SilentlyDropped,
        Metric::Shed,
        Metric::Lost,
        Metric::Stranded,
    ] {
        assert_eq!(ours.counts[m], 0, "{}: {}", m.name(), ours.balance.equation);
    }
    assert_eq!(ours.counts[Metric::TookEffect], ours.counts[Metric::Sent]);
    assert!(ours.breaker_trips > 0);
    assert!(
        ours.lag.max_messages < silent.lag.max_messages,
        "{:?} against {:?}",
        ours.lag,
        silent.lag
    );
}

#[test]
fn the_service_binary_compares_our_policy_beside_the_built_in_ones() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_order-service"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["compare", DISCORD, "--seed", "1", "--policy"])
        .arg(format!("silent_drop,{POLICY}"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains(&format!("\n{POLICY} ")), "{text}");
    assert!(text.contains("drops data silently"), "{text}");
}

//! A store model of our own behind mqsim's fault knobs: the order database
//! with a read cache in front.

use mqsim::rand::Rng;
use mqsim::store::{Node, StoreModel, Write};
use mqsim::testing::Check;
use std::time::Duration;

/// Nine reads in ten hit the cache (100 µs, untouched by a slow disk); the
/// rest, and every write, go to the database (its latency, slowed in a
/// `slow_storage` window).
struct CachedReads;

impl StoreModel for CachedReads {
    async fn read(&self, _key: u32, node: &mut Node<'_>) {
        if node.with_rng(|r| r.random_bool(0.9)) {
            // A cache hit costs its own time only: no disk, no slow disk.
            node.sleep(Duration::from_micros(100)).await;
        } else {
            let base = node.read_latency();
            node.io(base).await;
        }
    }

    async fn write(&self, w: Write, node: &mut Node<'_>) -> bool {
        let base = node.write_latency();
        node.io(base).await;
        let new = node.apply(w.id);
        new || !(w.once || node.idempotent())
    }
}

const SCENARIO: &str = r#"
name = "orders-lookups"
summary = "each order looks its customer up three times; the database compacts"
duration = "6s"
drain = "4s"
[workload]
rate = "200/s"
[consumer]
reads = 3
concurrency = 4
[[fault]]
at = "2s"
kind = "slow_storage"
target = "store-0"
factor = 20.0
for = "2s"
[expect]
lost = 0
"#;

#[test]
fn a_read_cache_in_front_cuts_latency_under_the_same_compaction() {
    let p99 = |check: Check| {
        let report = check.seeds(1..=3).assert_pass();
        let worst = report.outcomes().filter_map(|o| o.latency_ms.p99).max();
        worst.expect("messages took effect")
    };
    let plain = p99(Check::text(SCENARIO));
    let text = SCENARIO.replace("[workload]", "[store]\nmodel = \"cached\"\n[workload]");
    let cached = p99(Check::text(&text).store_model("cached", || CachedReads));
    // Writes still wait for the compacting disk; the lookups no longer do.
    assert!(
        cached * 3 < plain * 2,
        "cached p99 {cached} ms against {plain} ms"
    );
}

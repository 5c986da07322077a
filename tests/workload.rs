//! The producer side end to end: bursts follow the schedule, a full buffer
//! sheds with notice, and a request that timed out but landed anyway counts
//! as recovered, not lost.

use harness::scenario::parse;
use harness::Outcome;
use std::path::Path;

fn run(text: &str, seed: u64) -> Outcome {
    let sc = parse(Path::new("workload.toml"), text).unwrap_or_else(|e| panic!("{e}"));
    harness::run(&sc, seed, &models::Pipeline::new())
        .unwrap_or_else(|e| panic!("{e}"))
        .outcome
}

const BASE: &str = r#"
name = "workload"
summary = "producer behaviour"
duration = "20s"
drain = "20s"
[topology]
partitions = 2
[consumer]
concurrency = 4
"#;

#[test]
fn bursts_follow_the_schedule() {
    let o = run(
        &format!(
            "{BASE}[workload]\nrate = \"100/s\"\nbursts = [{{ at = \"5s\", rate = \"400/s\", for = \"5s\" }}]\n"
        ),
        1,
    );
    // 15 s at 100/s + 5 s at 400/s.
    assert_eq!(o.counts.sent, 3_500, "{}", o.to_json());
    assert_eq!(o.counts.acked, 3_500);
    assert_eq!(o.counts.lost, 0);
}

#[test]
fn a_full_producer_buffer_sheds_with_notice() {
    let o = run(
        &format!(
            "{BASE}[workload]\nrate = \"200/s\"\nbuffer_max = 100\n[[fault]]\nat = \"5s\"\nkind = \"crash\"\ntarget = \"broker-0\"\nrestart_after = \"8s\"\n"
        ),
        1,
    );
    // ~8 s at 200/s could not be buffered in 100 slots: most were refused.
    assert!(o.counts.shed > 1_000, "{}", o.to_json());
    assert_eq!(o.counts.lost, 0, "{}", o.to_json());
    assert_eq!(o.counts.silently_dropped, 0);
}

#[test]
fn a_timed_out_request_that_landed_counts_as_recovered() {
    // No retries and a hold longer than the request timeout: the producer
    // gives up (timeout), then the held request reaches the broker.
    let o = run(
        &format!(
            "{BASE}[workload]\nrate = \"100/s\"\nretries = 0\n[[fault]]\nat = \"5s\"\nkind = \"hold\"\na = \"producers\"\nb = \"brokers\"\nfor = \"3s\"\n"
        ),
        1,
    );
    assert!(o.counts.recovered > 0, "{}", o.to_json());
    assert_eq!(o.counts.lost, 0, "{}", o.to_json());
}

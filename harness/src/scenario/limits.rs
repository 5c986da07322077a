//! The bounds a scenario's values must stay within: what keeps a run inside
//! memory and simulated time, and what the real systems allow.

use std::time::Duration;

/// Most broker nodes (`topology.brokers`).
pub const MAX_BROKERS: u32 = 16;
/// Most partitions (`topology.partitions`).
pub const MAX_PARTITIONS: u32 = 1024;
/// Most producers (`workload.producers`).
pub const MAX_PRODUCERS: u32 = 64;
/// Most consumer workers (`consumer.workers`).
pub const MAX_WORKERS: u32 = 64;
/// Most store nodes (`topology.stores`).
pub const MAX_STORES: u32 = 64;
/// Highest publish rate, in messages per second (`workload.rate`, burst rates).
pub const MAX_RATE_PER_S: u64 = 1_000_000;
/// Longest simulated time of a run: `duration + drain`.
pub const MAX_SIM_TIME: Duration = Duration::from_secs(24 * 3600);
/// Most retries of a produce request (`workload.retries`).
pub const MAX_RETRIES: u32 = 100;
/// Most records per fetch (`consumer.fetch_max`).
pub const MAX_FETCH: u32 = 10_000;
/// Most effects a partition's worker applies at once (`consumer.concurrency`).
pub const MAX_CONCURRENCY: u32 = 64;
/// Most keys of a skewed workload (`hot_share`, `zipf`).
pub const MAX_SKEWED_KEYS: u32 = 1_000_000;
/// Most instances of one repeating fault (`count`).
pub const MAX_REPEATS: u32 = 1_000;
/// Most cores of one consumer or broker host.
pub const MAX_CORES: u32 = 64;
/// Most effect lanes in all (`topology.partitions × consumer.concurrency`):
/// each lane holds its own connection to every store.
pub const MAX_EFFECT_LANES: u32 = 4096;
/// Shortest drain.
pub const MIN_DRAIN: Duration = Duration::from_secs(1);
/// Largest max of any latency range (network, store, faults).
pub const MAX_LATENCY: Duration = Duration::from_secs(10);
/// Finest tick.
pub const MIN_TICK: Duration = Duration::from_millis(1);
/// Coarsest tick.
pub const MAX_TICK: Duration = Duration::from_millis(100);
/// Most store reads per message (`consumer.reads`).
pub const MAX_READS: u32 = 16;
/// Largest `slow_storage` factor: beyond it a store call is simply down,
/// which `pause` or `crash` say better.
pub const MAX_SLOW_FACTOR: f64 = 1000.0;
/// Most calls a half-open breaker lets through (`policy.breaker.probes`).
pub const MAX_PROBES: u32 = 100;
/// Largest `--scale`: 1000 × a modest file already reaches the rate and
/// host limits, which stay the real bounds.
pub const MAX_SCALE: u32 = 1000;
/// Most messages one run may send (rate × duration, with bursts): about
/// six History events each, inside `harness::model::MAX_EVENTS`, and a
/// run of that size stays under 8 GB (BENCHMARKS.md).
pub const MAX_MESSAGES: u64 = 20_000_000;
/// Longest `broker.visibility_timeout` (SQS's limit).
pub const MAX_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(12 * 3600);
/// Largest `broker.max_receives` (SQS's limit for `maxReceiveCount`).
pub const MAX_RECEIVES: u32 = 1000;
/// Most message ids one `poison` fault lists (`fault[i].ids`).
pub const MAX_POISON_IDS: usize = 10_000;

//! The lag bound of a `[policy]`: when a partition counts as too far
//! behind. One definition for the two places that act on it — the
//! consumer that skips (`silent_drop`) and the partition leader that
//! refuses new records (`circuit_breaker`, `backpressure`) — so the policies
//! compared in `mqsim compare` bound the same lag.

use harness::scenario::Policy;

/// Whether a partition `lag` messages behind the log end, whose oldest
/// uncommitted record is `oldest_age_us` old (None: there is none), is
/// past `policy`'s bound (by count, by age, or either when both are set).
pub fn exceeded(policy: &Policy, lag: u64, oldest_age_us: Option<u64>) -> bool {
    let by_count = policy.max_lag.is_some_and(|max| lag > max);
    let by_age = policy
        .max_lag_age
        .zip(oldest_age_us)
        .is_some_and(|(max, age)| age > max.as_micros() as u64);
    by_count || by_age
}

#[cfg(test)]
mod tests {
    use super::*;
    use harness::scenario::{BreakerConfig, PolicyKind};
    use std::time::Duration;

    #[test]
    fn the_lag_bound_by_count_or_age() {
        let p = |max_lag, age_ms: Option<u64>| Policy {
            kind: PolicyKind::SilentDrop,
            max_lag,
            max_lag_age: age_ms.map(Duration::from_millis),
            breaker: BreakerConfig::default(),
        };
        let exceeded = |p: Policy, lag, age| exceeded(&p, lag, age);
        assert!(!exceeded(p(Some(100), None), 100, Some(u64::MAX)));
        assert!(exceeded(p(Some(100), None), 101, None));
        assert!(!exceeded(p(None, Some(1_000)), u64::MAX, Some(1_000_000)));
        assert!(exceeded(p(None, Some(1_000)), 0, Some(1_000_001)));
        assert!(!exceeded(p(None, Some(1_000)), 5, None));
        assert!(exceeded(p(Some(100), Some(1_000)), 0, Some(2_000_000)));
        assert!(!exceeded(p(None, None), u64::MAX, Some(u64::MAX)));
    }
}

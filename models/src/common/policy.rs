//! Lag policies: what the pipeline does when a consumer group falls
//! behind. A [`LagPolicy`] is asked at two places — the partition leader,
//! for every batch a producer sends ([`LagPolicy::admit`]), and the
//! consumer's partition worker, for every batch it fetches
//! ([`LagPolicy::deliver`]) — and says whether consumers guard their store
//! calls with circuit breakers ([`LagPolicy::breakers`]). mqsim's four
//! (`silent_drop`, `circuit_breaker`, `backpressure`, `unbounded`) are
//! implementations like any other, and `mqsim compare` runs a registered
//! one beside them on the same seeds and faults.
//!
//! What each decision does, and how the checkers count it: `Shed` refuses
//! the batch with notice (the producer records a `reject`: `shed`);
//! `HoldBack` makes the producer wait and send it again (nothing is lost;
//! producers may give up after `workload.retries` or `delivery_timeout`:
//! `abandoned`); `Skip` moves the consumer to the high watermark, recording
//! a `drop` for every record it skips (`silently_dropped`); `Pause` waits
//! and asks again.

use harness::model::HostEnv;
use harness::scenario::{BreakerConfig, Policy};
use std::rc::Rc;
use std::time::Duration;

/// How far behind a partition's consumer group is, as a policy sees it.
/// Built with [`Lag::new`] outside mqsim (to test a policy): fields may be
/// added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Lag {
    /// The partition.
    pub partition: u32,
    /// Records not yet consumed: at the leader, from the group's committed
    /// offset to the log end; at the consumer, from its position to the
    /// high watermark.
    pub messages: u64,
    /// How long the oldest of them has waited (None: there is none, or the
    /// broker no longer has it).
    pub oldest_age: Option<Duration>,
    /// At the consumer, how many of its store breakers are open or
    /// half-open now (0 at the leader, and without breakers).
    pub breakers_tripped: u32,
}

impl Lag {
    /// `messages` behind on `partition`, the oldest waiting `oldest_age`,
    /// no breaker tripped.
    pub fn new(partition: u32, messages: u64, oldest_age: Option<Duration>) -> Lag {
        Lag {
            partition,
            messages,
            oldest_age,
            breakers_tripped: 0,
        }
    }

    /// The same lag with `n` of the consumer's store breakers tripped.
    pub fn with_breakers_tripped(self, n: u32) -> Lag {
        Lag {
            breakers_tripped: n,
            ..self
        }
    }
}

/// What the partition leader does with a producer's new batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Append it.
    Take,
    /// Refuse it with notice: the producer records a `reject` (reason
    /// `breaker_open`) for each of its messages.
    Shed,
    /// Refuse it for now: the producer waits and sends it again.
    HoldBack,
}

/// What a consumer's partition worker does with a batch it fetched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Hand every record to the handler.
    Handle,
    /// Skip to the high watermark without handling anything: every skipped
    /// record is a recorded `drop` (reason `max_lag`), and the new position
    /// is committed.
    Skip,
    /// Handle nothing now: wait this long and fetch again.
    Pause(Duration),
}

/// A lag policy: asked at the partition leader and at the consumer, with
/// the lag as each sees it. Every method has a default that does nothing,
/// so a policy says only what it changes. A policy holds no state across a
/// crash of the host that asks it: each incarnation builds its own.
pub trait LagPolicy {
    /// At the partition leader, before it appends a producer's batch.
    fn admit(&self, lag: &Lag) -> Admission {
        let _ = lag;
        Admission::Take
    }

    /// At the consumer, before it hands a fetched batch to its handler.
    fn deliver(&self, lag: &Lag) -> Delivery {
        let _ = lag;
        Delivery::Handle
    }

    /// Circuit breakers, one per store node in each consumer, around every
    /// store call (an open one routes a call to the key's next copy; with
    /// none allowed, the call waits). None: no breakers.
    fn breakers(&self) -> Option<BreakerConfig> {
        None
    }
}

/// Builds the lag policy one host incarnation asks (a broker or a
/// consumer), from its scenario's `[policy]`.
pub type PolicyFactory = Rc<dyn Fn(&HostEnv) -> Rc<dyn LagPolicy>>;

/// The lag bound of `[policy]` (`max_lag`, `max_lag_age`): past either,
/// a partition is too far behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bound {
    /// Most records behind (None: no bound by count).
    pub max_lag: Option<u64>,
    /// Oldest record's greatest age (None: no bound by age).
    pub max_lag_age: Option<Duration>,
}

impl Bound {
    /// The bound `[policy]` sets.
    pub fn of(policy: &Policy) -> Bound {
        Bound {
            max_lag: policy.max_lag,
            max_lag_age: policy.max_lag_age,
        }
    }

    /// Whether `lag` is past the bound, by count or by age. One definition
    /// for the consumer's skip and the leader's admission, so the policies
    /// `mqsim compare` puts side by side bound the same lag.
    pub fn exceeded(&self, lag: &Lag) -> bool {
        let by_count = self.max_lag.is_some_and(|max| lag.messages > max);
        let by_age = (self.max_lag_age.zip(lag.oldest_age)).is_some_and(|(max, age)| age > max);
        by_count || by_age
    }
}

/// `silent_drop`: past the bound, the consumer skips to the high
/// watermark, dropping what it skips (recorded, not told to anyone).
pub struct SilentDrop(pub Bound);

impl LagPolicy for SilentDrop {
    fn deliver(&self, lag: &Lag) -> Delivery {
        if self.0.exceeded(lag) {
            Delivery::Skip
        } else {
            Delivery::Handle
        }
    }
}

/// `circuit_breaker`: breakers per store node in each consumer, and past
/// the bound the leader sheds new batches with notice.
pub struct CircuitBreaker {
    /// Past it, the leader sheds.
    pub bound: Bound,
    /// The breakers' settings (`[policy.breaker]`).
    pub breaker: BreakerConfig,
}

impl LagPolicy for CircuitBreaker {
    fn admit(&self, lag: &Lag) -> Admission {
        if self.bound.exceeded(lag) {
            Admission::Shed
        } else {
            Admission::Take
        }
    }

    fn breakers(&self) -> Option<BreakerConfig> {
        Some(self.breaker.clone())
    }
}

/// `backpressure`: past the bound, the leader holds producers back.
pub struct Backpressure(pub Bound);

impl LagPolicy for Backpressure {
    fn admit(&self, lag: &Lag) -> Admission {
        if self.0.exceeded(lag) {
            Admission::HoldBack
        } else {
            Admission::Take
        }
    }
}

/// `unbounded`: no protection; lag simply grows.
pub struct Unbounded;

impl LagPolicy for Unbounded {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lag_bound_by_count_or_age() {
        let b = |max_lag, age_ms: Option<u64>| Bound {
            max_lag,
            max_lag_age: age_ms.map(Duration::from_millis),
        };
        let lag = |messages, age_us: Option<u64>| Lag {
            partition: 0,
            messages,
            oldest_age: age_us.map(Duration::from_micros),
            breakers_tripped: 0,
        };
        assert!(!b(Some(100), None).exceeded(&lag(100, Some(u64::MAX))));
        assert!(b(Some(100), None).exceeded(&lag(101, None)));
        assert!(!b(None, Some(1_000)).exceeded(&lag(u64::MAX, Some(1_000_000))));
        assert!(b(None, Some(1_000)).exceeded(&lag(0, Some(1_000_001))));
        assert!(!b(None, Some(1_000)).exceeded(&lag(5, None)));
        assert!(b(Some(100), Some(1_000)).exceeded(&lag(0, Some(2_000_000))));
        assert!(!b(None, None).exceeded(&lag(u64::MAX, Some(u64::MAX))));
    }

    #[test]
    fn the_built_in_policies_act_where_they_should() {
        let bound = Bound {
            max_lag: Some(10),
            max_lag_age: None,
        };
        let behind = Lag {
            partition: 1,
            messages: 11,
            oldest_age: None,
            breakers_tripped: 0,
        };
        let ok = Lag {
            messages: 10,
            ..behind
        };
        assert_eq!(SilentDrop(bound).deliver(&behind), Delivery::Skip);
        assert_eq!(SilentDrop(bound).deliver(&ok), Delivery::Handle);
        assert_eq!(SilentDrop(bound).admit(&behind), Admission::Take);
        let cb = CircuitBreaker {
            bound,
            breaker: BreakerConfig::default(),
        };
        assert_eq!(cb.admit(&behind), Admission::Shed);
        assert_eq!(cb.deliver(&behind), Delivery::Handle);
        assert!(cb.breakers().is_some());
        assert_eq!(Backpressure(bound).admit(&behind), Admission::HoldBack);
        assert_eq!(Backpressure(bound).admit(&ok), Admission::Take);
        assert_eq!(Unbounded.admit(&behind), Admission::Take);
        assert_eq!(Unbounded.deliver(&behind), Delivery::Handle);
        assert!(Unbounded.breakers().is_none());
    }
}

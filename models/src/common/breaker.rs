//! A circuit breaker guarding one store node, as a consumer member sees it.
//! Pure state over simulated time (the caller passes `now`), so it is
//! tested without a simulation. Closed: calls pass and their outcomes are
//! kept for the last `window`; enough failed or slow calls open it. Open:
//! calls are refused without being tried until `open_for` has passed.
//! Half-open: `probes` calls pass; all fast and answered closes it, any
//! failed or slow one opens it again.

use harness::history::BreakerState;
use harness::scenario::BreakerConfig;
use std::collections::VecDeque;
use std::time::Duration;

/// How one call went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// Answered within `slow_call`.
    Fast,
    /// Answered, but after `slow_call`.
    Slow,
    /// Not answered (timed out, connection failed).
    Failed,
}

impl Call {
    pub fn of(answered: bool, latency: Duration, slow_call: Duration) -> Call {
        match (answered, latency > slow_call) {
            (false, _) => Call::Failed,
            (true, true) => Call::Slow,
            (true, false) => Call::Fast,
        }
    }
}

/// Leave to make one call, from [`Breaker::allow`]. It names the breaker's
/// generation, so the outcome of a call admitted before a state change
/// (say, a slow call still in flight when the breaker opened) does not
/// count in the new state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Permit {
    generation: u64,
}

/// The calls of the last `window`, oldest first, with running counts (a
/// breaker sees thousands of calls per window at `--scale`).
#[derive(Clone, Debug, Default)]
struct Window {
    calls: VecDeque<(Duration, Call)>,
    failed: usize,
    slow: usize,
}

impl Window {
    fn push(&mut self, now: Duration, call: Call, window: Duration) {
        self.calls.push_back((now, call));
        self.count(call, true);
        while let Some(&(at, old)) = self.calls.front() {
            if at + window > now {
                break;
            }
            self.calls.pop_front();
            self.count(old, false);
        }
    }

    fn count(&mut self, call: Call, add: bool) {
        let n = match call {
            Call::Failed => &mut self.failed,
            Call::Slow => &mut self.slow,
            Call::Fast => return,
        };
        if add {
            *n += 1;
        } else {
            *n -= 1;
        }
    }
}

#[derive(Clone, Debug)]
enum State {
    Closed(Window),
    Open { until: Duration },
    HalfOpen { admitted: u32, passed: u32 },
}

#[derive(Clone, Debug)]
pub struct Breaker {
    config: BreakerConfig,
    state: State,
    generation: u64,
}

impl Breaker {
    pub fn new(config: BreakerConfig) -> Breaker {
        Breaker {
            config,
            state: State::Closed(Window::default()),
            generation: 0,
        }
    }

    pub fn state(&self) -> BreakerState {
        match self.state {
            State::Closed(_) => BreakerState::Closed,
            State::Open { .. } => BreakerState::Open,
            State::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// Whether a call may be made now, and the permit to report its outcome
    /// with. Moves an open breaker whose time is up to half-open; the second
    /// value is the new state when it changed.
    pub fn allow(&mut self, now: Duration) -> (Option<Permit>, Option<BreakerState>) {
        let mut changed = None;
        if let State::Open { until } = self.state {
            if now < until {
                return (None, None);
            }
            changed = Some(self.set(State::HalfOpen {
                admitted: 0,
                passed: 0,
            }));
        }
        let permit = Permit {
            generation: self.generation,
        };
        match &mut self.state {
            State::Closed(_) => (Some(permit), changed),
            State::HalfOpen { admitted, .. } if *admitted < self.config.probes => {
                *admitted += 1;
                (Some(permit), changed)
            }
            _ => (None, changed),
        }
    }

    /// Reports a permitted call's outcome; the new state when it changed.
    pub fn record(&mut self, permit: Permit, now: Duration, call: Call) -> Option<BreakerState> {
        if permit.generation != self.generation {
            return None;
        }
        let cfg = &self.config;
        let next = match &mut self.state {
            State::Closed(w) => {
                w.push(now, call, cfg.window);
                let n = w.calls.len() as f64;
                let trip = w.calls.len() >= cfg.min_calls as usize
                    && (w.failed as f64 / n >= cfg.error_rate
                        || w.slow as f64 / n >= cfg.slow_rate);
                trip.then_some(State::Open {
                    until: now + cfg.open_for,
                })
            }
            State::HalfOpen { passed, .. } => match call {
                Call::Fast => {
                    *passed += 1;
                    (*passed >= cfg.probes).then(|| State::Closed(Window::default()))
                }
                Call::Slow | Call::Failed => Some(State::Open {
                    until: now + cfg.open_for,
                }),
            },
            State::Open { .. } => None,
        };
        next.map(|s| self.set(s))
    }

    fn set(&mut self, state: State) -> BreakerState {
        self.state = state;
        self.generation += 1;
        self.state()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> BreakerConfig {
        BreakerConfig {
            window: Duration::from_secs(5),
            min_calls: 4,
            error_rate: 0.5,
            slow_call: Duration::from_millis(100),
            slow_rate: 0.75,
            open_for: Duration::from_secs(2),
            probes: 2,
        }
    }

    fn s(secs: f64) -> Duration {
        Duration::from_secs_f64(secs)
    }

    /// Makes one call at `now` with outcome `call`; returns the transitions.
    fn call(b: &mut Breaker, now: Duration, c: Call) -> Vec<BreakerState> {
        let (permit, t1) = b.allow(now);
        let permit = permit.expect("allowed");
        t1.into_iter().chain(b.record(permit, now, c)).collect()
    }

    #[test]
    fn classifies_calls() {
        let slow = Duration::from_millis(100);
        assert_eq!(Call::of(true, Duration::from_millis(100), slow), Call::Fast);
        assert_eq!(Call::of(true, Duration::from_millis(101), slow), Call::Slow);
        assert_eq!(Call::of(false, Duration::ZERO, slow), Call::Failed);
    }

    #[test]
    fn trips_on_error_rate_only_after_min_calls() {
        let mut b = Breaker::new(cfg());
        assert!(call(&mut b, s(1.0), Call::Failed).is_empty());
        assert!(call(&mut b, s(1.1), Call::Failed).is_empty());
        assert!(call(&mut b, s(1.2), Call::Fast).is_empty());
        // 4 calls, 3 failed: 0.75 ≥ 0.5.
        assert_eq!(call(&mut b, s(1.3), Call::Failed), [BreakerState::Open]);
        assert_eq!(b.allow(s(1.4)), (None, None));
        assert_eq!(b.allow(s(3.2)), (None, None));
    }

    #[test]
    fn trips_on_slow_rate() {
        let mut b = Breaker::new(cfg());
        for i in 0..3 {
            assert!(call(&mut b, s(i as f64), Call::Slow).is_empty());
        }
        assert_eq!(call(&mut b, s(3.0), Call::Slow), [BreakerState::Open]);
    }

    #[test]
    fn healthy_and_old_calls_do_not_trip() {
        let mut b = Breaker::new(cfg());
        // Failures spread wider than the window never make min_calls.
        for i in 0..10 {
            assert!(call(&mut b, s(i as f64 * 2.0), Call::Failed).is_empty());
        }
        // Mostly fast: 1 of 4 failed, 1 of 4 slow.
        let mut b = Breaker::new(cfg());
        for c in [Call::Fast, Call::Failed, Call::Slow, Call::Fast, Call::Fast] {
            assert!(call(&mut b, s(30.0), c).is_empty());
        }
        assert_eq!(b.state(), BreakerState::Closed);
    }

    fn opened() -> Breaker {
        let mut b = Breaker::new(cfg());
        for _ in 0..3 {
            call(&mut b, s(10.0), Call::Failed);
        }
        assert_eq!(call(&mut b, s(10.0), Call::Failed), [BreakerState::Open]);
        b
    }

    #[test]
    fn half_open_after_open_for_admits_only_the_probes() {
        let mut b = opened();
        assert_eq!(b.allow(s(11.9)).0, None);
        let (p1, t) = b.allow(s(12.0));
        assert_eq!(t, Some(BreakerState::HalfOpen));
        let (p2, t) = b.allow(s(12.0));
        assert_eq!(t, None);
        assert!(p1.is_some() && p2.is_some());
        assert_eq!(b.allow(s(12.0)), (None, None));
        // Both probes fast: closed, with a fresh window.
        assert_eq!(b.record(p1.unwrap(), s(12.1), Call::Fast), None);
        assert_eq!(
            b.record(p2.unwrap(), s(12.1), Call::Fast),
            Some(BreakerState::Closed)
        );
        assert!(call(&mut b, s(12.2), Call::Failed).is_empty());
    }

    #[test]
    fn a_failed_or_slow_probe_reopens() {
        for bad in [Call::Failed, Call::Slow] {
            let mut b = opened();
            let (p, _) = b.allow(s(12.0));
            assert_eq!(b.record(p.unwrap(), s(12.5), bad), Some(BreakerState::Open));
            // Open for open_for again, from the probe's outcome.
            assert_eq!(b.allow(s(14.4)).0, None);
            assert_eq!(b.allow(s(14.5)).1, Some(BreakerState::HalfOpen));
        }
    }

    #[test]
    fn outcomes_of_calls_from_an_older_state_are_ignored() {
        let mut b = Breaker::new(cfg());
        let (early, _) = b.allow(s(1.0));
        for _ in 0..3 {
            call(&mut b, s(1.0), Call::Failed);
        }
        assert_eq!(call(&mut b, s(1.0), Call::Failed), [BreakerState::Open]);
        // A call admitted while closed answers after the breaker opened, and
        // after it turned half-open: neither counts.
        assert_eq!(b.record(early.unwrap(), s(1.5), Call::Fast), None);
        let (probe, _) = b.allow(s(3.0));
        assert_eq!(b.record(early.unwrap(), s(3.0), Call::Failed), None);
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert_eq!(b.record(probe.unwrap(), s(3.1), Call::Fast), None);
    }
}

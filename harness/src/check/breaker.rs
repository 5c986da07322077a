//! Circuit-breaker trips: how often a breaker opened. A breaker that never
//! trips under a slow store is as telling as one that flaps (Discord's
//! 2018-01-19 breaker had a bug and never tripped).

use crate::history::{BreakerState, History};

/// `breaker_trips`: how many times any breaker opened, from closed or
/// half-open.
pub fn trips(history: &History) -> u64 {
    history
        .breakers
        .iter()
        .filter(|b| b.to == BreakerState::Open)
        .count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::BreakerTransition;

    #[test]
    fn counts_every_opening() {
        let t = |at_us, to| BreakerTransition {
            at_us,
            consumer: 0,
            store: 1,
            to,
        };
        let h = History {
            breakers: vec![
                t(1, BreakerState::Open),
                t(2, BreakerState::HalfOpen),
                t(3, BreakerState::Open),
                t(4, BreakerState::HalfOpen),
                t(5, BreakerState::Closed),
            ],
            ..History::default()
        };
        assert_eq!(trips(&h), 2);
        assert_eq!(trips(&History::default()), 0);
    }
}

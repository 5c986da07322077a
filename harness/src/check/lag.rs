//! Consumer lag from the gauge samples: its maximum (in messages and in age of
//! the oldest unprocessed message), its timeline, and the **time to recover**:
//! from the last fault's end until lag is back under its pre-fault baseline.

use crate::history::History;
use serde::Serialize;

/// One point of the lag timeline: `(at_ms, lag_messages, lag_age_ms)`, the
/// figures `None` where the broker could not be observed.
pub type LagPoint = (u64, Option<u64>, Option<u64>);

/// Consumer lag over the run, every stage's together.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Lag {
    /// Largest total lag (summed over partitions) of any sample.
    pub max_messages: u64,
    /// Largest age of the oldest uncommitted message of any sample, whole ms.
    pub max_age_ms: u64,
    /// Every sample in recorded order.
    pub timeline: Vec<LagPoint>,
}

/// Lag's maxima and timeline over every gauge sample.
pub fn lag(history: &History) -> Lag {
    let mut out = Lag {
        timeline: Vec::with_capacity(history.samples.len()),
        ..Lag::default()
    };
    for s in &history.samples {
        let (messages, age_ms) = (s.lag_messages(), s.lag_age_us() / 1_000);
        out.max_messages = out.max_messages.max(messages);
        out.max_age_ms = out.max_age_ms.max(age_ms);
        out.timeline.push(if s.broker_up {
            (s.at_us / 1_000, Some(messages), Some(age_ms))
        } else {
            (s.at_us / 1_000, None, None)
        });
    }
    out
}

/// Lag (messages) above the baseline that still counts as noise, not relapse,
/// when the baseline is small.
pub const RELAPSE_SLACK: u64 = 10;

/// Time to recover in whole ms; `None` = never (a liveness failure).
///
/// Without faults: `Some(0)`. Otherwise the baseline is the largest lag of the
/// samples (broker up) taken before the first fault started (0 if none); the
/// answer is the time from the last fault's end to the first sample (broker
/// up) whose lag is at most the baseline and after which no sample exceeds
/// the relapse bound, `max(2 × baseline, baseline + RELAPSE_SLACK)`, or has
/// the broker down.
pub fn recovery_ms(history: &History) -> Option<u64> {
    let Some(first_start) = history.faults.iter().map(|f| f.start_us).min() else {
        return Some(0);
    };
    let last_end = history.faults.iter().map(|f| f.end_us).max().unwrap_or(0);
    let baseline = history
        .samples
        .iter()
        .filter(|s| s.broker_up && s.at_us < first_start)
        .map(|s| s.lag_messages())
        .max()
        .unwrap_or(0);
    // Recovered at the first sample at or under the baseline after which lag
    // never relapses: excursions up to the relapse bound are steady-state
    // noise (more samples after the fault than before it will see a few
    // above the pre-fault maximum); anything above it is a backlog again.
    let relapse = (2 * baseline).max(baseline + RELAPSE_SLACK);
    let mut since = None;
    for s in history.samples.iter().filter(|s| s.at_us >= last_end) {
        let lag = s.lag_messages();
        if s.broker_up && lag <= baseline {
            since.get_or_insert(s.at_us);
        } else if !s.broker_up || lag > relapse {
            since = None;
        }
    }
    since.map(|t| (t - last_end) / 1_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::check;
    use crate::check::testkit::{assert_other_anomalies_zero, m, Hb};

    /// Baseline 5 (the larger of the two samples before the fault at 100 ms);
    /// the fault ends at 200 ms.
    fn faulted() -> Hb {
        Hb::new()
            .clean(0, m(0, 0), 0, 5_000)
            .lag_at(50_000, 2)
            .lag_at(90_000, 5)
            .fault("crash", 100_000, 200_000)
            .lag_at(120_000, 1)
            .sample(150_000, false, &[])
    }

    #[test]
    fn recovery_is_measured_from_the_last_fault_end_to_the_baseline() {
        let h = faulted()
            .fault("pause", 110_000, 180_000)
            .lag_at(200_000, 40)
            // Down: no figures, so it cannot count as recovered.
            .sample(220_000, false, &[])
            .lag_at(250_000, 6)
            .lag_at(310_500, 5)
            .lag_at(400_000, 0)
            .build();
        assert_eq!(recovery_ms(&h), Some(110));
        let f = check(&h);
        assert_eq!(f.recovery_ms, Some(110));
        assert_eq!(f.lag.max_messages, 40);
        assert_eq!(f.lag.max_age_ms, 40);
        assert_eq!(f.lag.timeline[3], (150, None, None));
        assert_eq!(f.lag.timeline[4], (200, Some(40), Some(40)));
        assert_other_anomalies_zero(&f, &[]);
    }

    #[test]
    fn a_dip_that_rises_again_is_not_recovery() {
        // Baseline 5, relapse bound 15.
        let h = faulted()
            .lag_at(200_000, 3)
            .lag_at(250_000, 40)
            .lag_at(300_000, 2)
            .lag_at(350_000, 0)
            .build();
        assert_eq!(recovery_ms(&h), Some(100));
        // Back in a backlog at the end: never.
        let h = faulted().lag_at(200_000, 3).lag_at(250_000, 40).build();
        assert_eq!(recovery_ms(&h), None);
    }

    #[test]
    fn steady_state_noise_above_the_baseline_is_not_relapse() {
        let h = faulted()
            .lag_at(200_000, 30)
            .lag_at(250_000, 4)
            .lag_at(300_000, 7)
            .lag_at(350_000, 15)
            .lag_at(400_000, 3)
            .build();
        assert_eq!(recovery_ms(&h), Some(50));
    }

    #[test]
    fn lag_already_at_baseline_when_the_fault_ends_recovers_in_zero() {
        let h = faulted().lag_at(200_000, 3).build();
        assert_eq!(recovery_ms(&h), Some(0));
    }

    #[test]
    fn lag_that_stays_high_never_recovers() {
        let h = faulted()
            .lag_at(200_000, 40)
            .lag_at(300_000, 60)
            .lag_at(400_000, 6)
            .build();
        assert_eq!(recovery_ms(&h), None);
        assert_eq!(check(&h).recovery_ms, None);
    }

    #[test]
    fn no_sample_before_the_fault_means_a_baseline_of_zero() {
        let h = Hb::new()
            .fault("crash", 0, 100_000)
            .lag_at(100_000, 1)
            .lag_at(150_000, 0)
            .build();
        assert_eq!(recovery_ms(&h), Some(50));
    }

    #[test]
    fn without_faults_recovery_is_zero() {
        let h = Hb::new().lag_at(0, 100).lag_at(1_000, 200).build();
        assert_eq!(recovery_ms(&h), Some(0));
        let f = check(&h);
        assert_eq!(f.recovery_ms, Some(0));
        assert_eq!(f.lag.max_messages, 200);
    }
}

//! The users' seams exercised through the public API only: a handler that
//! acks a queue message before failing it, one that fails records on a log
//! and is redelivered them, a lag policy that pauses delivery, and the
//! checks' own bad input.

use mqsim::consumer::{Context, Failure, Handler, Message};
use mqsim::policy::{Bound, Delivery, Lag, LagPolicy};
use mqsim::testing::{Check, CheckError};
use mqsim::{Metric, MsgId};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::time::Duration;

const LOG: &str = r#"
name = "log"
summary = "a small healthy log pipeline"
duration = "3s"
drain = "5s"
[topology]
partitions = 2
[workload]
rate = "200/s"
[consumer]
handler = "h"
"#;

const QUEUE: &str = r#"
name = "queue"
summary = "a small healthy queue"
duration = "3s"
drain = "3s"
[broker]
kind = "queue"
visibility_timeout = "500ms"
[workload]
rate = "200/s"
[consumer]
handler = "h"
"#;

/// Acks every tenth message at once, then fails it: the queue has deleted
/// what the handler never wrote. (The others are written once: a failure
/// hands the rest of its batch back too, to be written again.)
struct AckThenFail;

impl Handler for AckThenFail {
    async fn handle(&self, msg: &Message, cx: &mut Context<'_>) -> Result<(), Failure> {
        if msg.id.seq.is_multiple_of(10) {
            assert!(cx.commit().await, "the queue answers an ack");
            return Err(Failure::Other("crashed after acking".into()));
        }
        cx.store().write_once(msg).await?;
        Ok(())
    }
}

#[test]
fn a_queue_message_acked_before_its_effect_is_lost_when_the_handler_fails() {
    let report = Check::text(QUEUE)
        .handler("h", || AckThenFail)
        .seeds(1..=2)
        .run()
        .unwrap();
    for o in report.outcomes() {
        let sent = o.counts[Metric::Sent];
        let lost = o.counts[Metric::Lost];
        // About a tenth: every id whose sequence number ends in 0.
        assert!(
            lost * 12 > sent && lost * 8 < sent,
            "{}",
            o.balance.equation
        );
        assert_eq!(o.counts[Metric::DuplicateEffects], 0);
        let example = o.examples.0.iter().find(|(m, _)| *m == Metric::Lost);
        let ids = &example.expect("lost names its ids").1;
        assert!(ids.iter().all(|id| id.seq % 10 == 0), "{ids:?}");
    }
}

/// Fails one record in fifty the first time this consumer incarnation sees
/// it: the worker restarts at the committed offset, and the record (with
/// the rest of its batch) comes again.
#[derive(Default)]
struct FailOnce {
    failed: RefCell<BTreeSet<MsgId>>,
}

impl Handler for FailOnce {
    async fn handle(&self, msg: &Message, cx: &mut Context<'_>) -> Result<(), Failure> {
        if msg.id.seq.is_multiple_of(50) && self.failed.borrow_mut().insert(msg.id) {
            return Err(Failure::Other("transient".into()));
        }
        while cx.store().write_once(msg).await.is_err() {}
        Ok(())
    }
}

#[test]
fn a_log_record_the_handler_fails_is_delivered_again_from_the_committed_offset() {
    let report = Check::text(LOG)
        .handler("h", FailOnce::default)
        .seeds(1..=2)
        .assert_pass();
    for o in report.outcomes() {
        assert_eq!(
            o.counts[Metric::TookEffect],
            o.counts[Metric::Sent],
            "{}",
            o.balance.equation
        );
        assert_eq!(o.counts[Metric::DuplicateEffects], 0);
        assert!(o.counts[Metric::DuplicateDeliveries] > 0, "redelivered");
    }
}

/// Waits for batches: a partition's consumer holds off while fewer than
/// `max_lag` records wait and the oldest is younger than `max_lag_age`.
struct WaitForBatches(Bound);

impl LagPolicy for WaitForBatches {
    fn deliver(&self, lag: &Lag) -> Delivery {
        if lag.messages > 0 && !self.0.exceeded(lag) {
            Delivery::Pause(Duration::from_millis(50))
        } else {
            Delivery::Handle
        }
    }
}

#[test]
fn a_policy_that_pauses_delivery_delays_but_drops_nothing() {
    let text = LOG.replace("handler = \"h\"", "")
        + "[policy]\nkind = \"pause\"\nmax_lag = 50\nmax_lag_age = \"300ms\"\n";
    let pause = |p: &mqsim::scenario::Policy| WaitForBatches(Bound::of(p));
    let paused = Check::text(&text)
        .lag_policy("pause", pause)
        .seed(1)
        .assert_pass();
    let plain = Check::text(&text)
        .lag_policy("pause", pause)
        .policy("unbounded")
        .seed(1)
        .run();
    let (paused, plain) = (&paused.runs[0], &plain.unwrap().runs[0]);
    let (paused, plain) = (
        paused.outcome.as_ref().unwrap(),
        plain.outcome.as_ref().unwrap(),
    );
    assert_eq!(paused.policy, "pause");
    assert_eq!(
        paused.counts[Metric::TookEffect],
        paused.counts[Metric::Sent]
    );
    assert_eq!(paused.counts[Metric::SilentlyDropped], 0);
    let p99 = |o: &mqsim::Outcome| o.latency_ms.p99.unwrap();
    assert!(
        p99(paused) > p99(plain) + 100,
        "{} against {}",
        p99(paused),
        p99(plain)
    );
}

#[test]
fn a_check_without_seeds_or_with_an_unknown_actor_is_bad_input() {
    #[allow(clippy::reversed_empty_ranges)]
    let empty = 5..=3;
    let err = Check::text(LOG)
        .handler("h", FailOnce::default)
        .seeds(empty)
        .run();
    assert!(matches!(err, Err(CheckError::Seeds(_))));
    let err = Check::text(LOG)
        .handler("g", FailOnce::default)
        .run()
        .unwrap_err();
    assert!(
        err.to_string().contains(
            "consumer.handler: expected a registered handler, one of: store_writer, g; found \"h\""
        ),
        "{err}"
    );
}

#[test]
#[should_panic(expected = "a policy's name must be letters, digits")]
fn a_name_the_command_line_cannot_spell_is_refused() {
    let _ = mqsim::Registry::new().policy("a,b", |p| WaitForBatches(Bound::of(p)));
}

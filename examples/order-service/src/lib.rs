//! An order service's Kafka consumer, as a team would write it, in two
//! versions: [`Buggy`] commits each order before writing it and retries a
//! write that timed out with a plain write; [`Fixed`] writes with the
//! order's id as its idempotency key and leaves the commit to the
//! consumer, after the write. `tests/orders.rs` runs both inside mqsim's
//! simulated pipeline under a broker crash, consumer restarts and a slow
//! store, and lets mqsim's checkers judge them. [`BreakersOnly`] is the
//! team's lag policy, compared with silent drop in `tests/policy.rs`.
//!
//! Nothing here knows it is simulated beyond the [`Context`] it is given:
//! the same handler logic runs against a real store client in production.

use mqsim::consumer::{Context, Failure, Handler, Message};
use mqsim::policy::LagPolicy;
use mqsim::scenario::BreakerConfig;
use std::time::Duration;

/// The name the scenarios in `scenarios/` give their handler
/// (`[consumer] handler = "orders"`).
pub const HANDLER: &str = "orders";

/// The name our lag policy is registered under.
pub const POLICY: &str = "breakers_only";

/// The service's consumer as its scenarios name it (the fixed version),
/// and our lag policy: what the `order-service` binary runs.
pub fn registry() -> mqsim::Registry {
    mqsim::Registry::new()
        .handler(HANDLER, || Fixed)
        .policy(POLICY, |p| BreakersOnly(p.breaker.clone()))
}

/// The lag policy the order service's team proposes instead of silent
/// drop: guard every store call with a circuit breaker per store node (a
/// slow node is routed around, to the key's other copies), and never
/// refuse or drop an order — a lag that grows is paged on, not hidden.
pub struct BreakersOnly(pub BreakerConfig);

impl LagPolicy for BreakersOnly {
    fn breakers(&self) -> Option<BreakerConfig> {
        Some(self.0.clone())
    }
}

/// Pause between two attempts at an order's write.
const RETRY_BACKOFF: Duration = Duration::from_millis(20);

/// The first version: acknowledge early, write after, retry blindly.
///
/// Two bugs a review can miss and an incident cannot:
/// - it commits the order's offset before writing the order: a consumer
///   that crashes in between never writes it, and no one will deliver it
///   again (`lost`);
/// - a write that timed out may still have been applied; retrying it with
///   a plain write applies it twice (`duplicate_effects`).
pub struct Buggy;

impl Handler for Buggy {
    async fn handle(&self, msg: &Message, cx: &mut Context<'_>) -> Result<(), Failure> {
        cx.commit().await;
        while cx.store().write(msg).await.is_err() {
            cx.sleep(RETRY_BACKOFF).await;
        }
        Ok(())
    }
}

/// The fix: write first, with the order id as the idempotency key, and
/// let the consumer commit once the write is done. A crash before the
/// commit redelivers the order; the store then ignores the second write.
pub struct Fixed;

impl Handler for Fixed {
    async fn handle(&self, msg: &Message, cx: &mut Context<'_>) -> Result<(), Failure> {
        while cx.store().write_once(msg).await.is_err() {
            cx.sleep(RETRY_BACKOFF).await;
        }
        Ok(())
    }
}

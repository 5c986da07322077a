//! A client's connection to one server, made for turmoil's TCP, which never
//! retransmits: a lost segment hangs a stream forever and a connect to a
//! crashed host hangs too. So every connect and every request has a timeout,
//! and a failed connection is dropped and re-established with a jittered,
//! capped backoff.
//!
//! Every failed or timed-out connect leaks a port in turmoil (about 16k per
//! host by default; the driver widens the range to 64k). So the links of one
//! host to one destination share a [`Route`]: after a failure only one of
//! them probes the destination at a time while the others wait, which keeps
//! failed connects to about one per backoff period per destination, however
//! many links a host holds.

use crate::common::wire::{port_of, read_frame, write_frame, Request, Response};
use harness::scenario::{Host, Role};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;
use turmoil::net::TcpStream;
use turmoil::time::{sleep, timeout};

const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(2);
/// How often a link waiting for another's probe looks again.
const PROBE_POLL: Duration = Duration::from_millis(10);

/// Reachability of one destination as one host sees it; shared by that
/// host's links to it (one incarnation's worth: a restart starts afresh).
#[derive(Default)]
pub struct Route {
    /// Consecutive failures; 0 = healthy, connect freely.
    failures: Cell<u32>,
    /// Host time before which nobody connects.
    retry_at: Cell<Duration>,
    /// A link is connecting after a failure; the others wait for it.
    probing: Cell<bool>,
}

impl Route {
    pub fn new() -> Rc<Route> {
        Rc::new(Route::default())
    }

    /// Waits until a link may connect: the mark it holds while it
    /// connects as the probe after a failure, or none.
    pub(crate) async fn admit(&self) -> Option<Probe<'_>> {
        loop {
            if self.failures.get() == 0 {
                return None;
            }
            let now = turmoil::elapsed();
            if now < self.retry_at.get() {
                sleep(self.retry_at.get() - now).await;
            } else if self.probing.get() {
                sleep(PROBE_POLL).await;
            } else {
                self.probing.set(true);
                return Some(Probe(&self.probing));
            }
        }
    }

    pub(crate) fn succeeded(&self) {
        self.failures.set(0);
    }

    pub(crate) fn failed(&self, rng: &mut ChaCha8Rng) {
        let n = self.failures.get().saturating_add(1);
        self.failures.set(n);
        self.retry_at.set(turmoil::elapsed() + backoff(n, rng));
    }
}

/// The mark of a link connecting as its route's probe, cleared however the
/// connect ends: a caller may drop a call mid-connect (its question went
/// stale), and a mark left set would hold every link of the route back for
/// good.
pub(crate) struct Probe<'a>(&'a Cell<bool>);

impl Drop for Probe<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

/// Why a call got no answer. Either way the outcome on the server is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallError {
    /// Could not connect (refused, or no answer within the timeout).
    Unreachable,
    /// Connected, but the answer did not arrive in time or the stream broke.
    NoAnswer,
}

pub struct Link {
    addr: String,
    route: Rc<Route>,
    stream: Option<TcpStream>,
    timeout: Duration,
}

impl Link {
    /// A link to `to` at its role's port (`wire::port_of`).
    pub fn new(to: Host, route: Rc<Route>, timeout: Duration) -> Link {
        Link {
            addr: address(to),
            route,
            stream: None,
            timeout,
        }
    }

    /// A link to each host of `role`, host `i` over `routes[i]`.
    pub fn to_each(role: Role, routes: &[Rc<Route>], timeout: Duration) -> Vec<Link> {
        (0..routes.len() as u32)
            .map(|i| Link::new(Host::new(role, i), routes[i as usize].clone(), timeout))
            .collect()
    }

    /// Connects if needed: after a failure on the route, first waits out a
    /// jittered exponential backoff.
    async fn connect(&mut self, rng: &mut ChaCha8Rng) -> Result<(), CallError> {
        if self.stream.is_some() {
            return Ok(());
        }
        let route = self.route.clone();
        let probe = route.admit().await;
        let connected = timeout(self.timeout, TcpStream::connect(self.addr.as_str())).await;
        drop(probe);
        match connected {
            Ok(Ok(s)) => {
                self.route.succeeded();
                self.stream = Some(s);
                Ok(())
            }
            _ => Err(self.fail(rng, CallError::Unreachable)),
        }
    }

    /// Sends one request and waits for its answer.
    pub async fn call(
        &mut self,
        rng: &mut ChaCha8Rng,
        req: &Request,
    ) -> Result<Response, CallError> {
        self.connect(rng).await?;
        let stream = self.stream.as_mut().expect("connected above");
        let exchange = async {
            write_frame(stream, req).await?;
            read_frame::<Response, _>(stream).await
        };
        match timeout(self.timeout, exchange).await {
            Ok(Ok(resp)) => {
                self.route.succeeded();
                Ok(resp)
            }
            _ => Err(self.fail(rng, CallError::NoAnswer)),
        }
    }

    /// Sends one request that gets no answer (`acks = 0`): success means
    /// only that the bytes left this host.
    pub async fn send(&mut self, rng: &mut ChaCha8Rng, req: &Request) -> Result<(), CallError> {
        self.connect(rng).await?;
        let stream = self.stream.as_mut().expect("connected above");
        match timeout(self.timeout, write_frame(stream, req)).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(self.fail(rng, CallError::NoAnswer)),
        }
    }

    /// Drops the connection without counting a failure: a caller that
    /// gave up waiting for an answer (its question went stale) must not
    /// read that answer as the next call's.
    pub fn disconnect(&mut self) {
        self.stream = None;
    }

    fn fail(&mut self, rng: &mut ChaCha8Rng, e: CallError) -> CallError {
        self.stream = None;
        self.route.failed(rng);
        e
    }
}

/// Where `to` listens: its name and its role's port (`wire::port_of`).
pub(crate) fn address(to: Host) -> String {
    format!("{to}:{}", port_of(to.role))
}

/// `min(50ms · 2^(n-1), 2s)`, scaled by a factor drawn from [0.5, 1.5).
fn backoff(failures: u32, rng: &mut ChaCha8Rng) -> Duration {
    let exp = BACKOFF_MIN.saturating_mul(1u32 << failures.saturating_sub(1).min(10));
    let base = exp.min(BACKOFF_MAX);
    let jitter: f64 = rng.random_range(0.5..1.5);
    Duration::from_micros((base.as_micros() as f64 * jitter) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::wire::Request;
    use rand::SeedableRng;

    /// A call dropped while its route's probe connects (a fetch session
    /// whose question went stale) must not hold the route's other calls
    /// back for good.
    #[test]
    fn a_call_dropped_mid_probe_leaves_the_route_usable() {
        let mut sim = turmoil::Builder::new()
            .skip_idle_hosts(true)
            .rng_seed(1)
            .simulation_duration(Duration::from_secs(60))
            .build();
        sim.host("broker-0", || async {
            std::future::pending::<()>().await;
            Ok(())
        });
        sim.client("client", async {
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            let route = Route::new();
            let to = Host::new(Role::Broker, 0);
            let mut link = Link::new(to, route.clone(), Duration::from_millis(200));
            // Held: a connect neither succeeds nor fails until it times out.
            turmoil::hold("client", "broker-0");
            // A first failure makes the next connect the route's probe.
            assert!(link.call(&mut rng, &Request::Metadata).await.is_err());
            // The probe starts within the backoff (at most 75 ms) and hangs
            // for 200 ms; the caller gives up at 150 ms.
            let gave_up = timeout(
                Duration::from_millis(150),
                link.call(&mut rng, &Request::Metadata),
            )
            .await;
            assert!(gave_up.is_err(), "the call was still connecting");
            assert!(!route.probing.get(), "the probe mark outlived its call");
            // And the next call is let through (and times out connecting).
            let next = timeout(
                Duration::from_secs(5),
                link.call(&mut rng, &Request::Metadata),
            )
            .await;
            assert!(matches!(next, Ok(Err(CallError::Unreachable))), "{next:?}");
            Ok(())
        });
        sim.run().unwrap();
    }
}

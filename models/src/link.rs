//! A client's connection to one server, made for turmoil's TCP, which never
//! retransmits: a lost segment hangs a stream forever and a connect to a
//! crashed host hangs too. So every connect and every request has a timeout,
//! a failed connection is dropped, and reconnects back off with jitter and a
//! bound (each failed connect leaks a socket in turmoil; unbounded retries
//! would exhaust its ports).

use crate::wire::{read_frame, write_frame, Request, Response};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::time::Duration;
use tokio::time::{sleep, timeout};
use turmoil::net::TcpStream;

const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(2);

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
    stream: Option<TcpStream>,
    timeout: Duration,
    failures: u32,
}

impl Link {
    pub fn new(host: String, port: u16, timeout: Duration) -> Link {
        Link {
            addr: format!("{host}:{port}"),
            stream: None,
            timeout,
            failures: 0,
        }
    }

    /// Sends one request and waits for its answer. After a failure the next
    /// call first waits out a jittered exponential backoff.
    pub async fn call(
        &mut self,
        rng: &mut ChaCha8Rng,
        req: &Request,
    ) -> Result<Response, CallError> {
        if self.failures > 0 {
            sleep(backoff(self.failures, rng)).await;
        }
        if self.stream.is_none() {
            match timeout(self.timeout, TcpStream::connect(self.addr.as_str())).await {
                Ok(Ok(s)) => self.stream = Some(s),
                _ => return Err(self.fail(CallError::Unreachable)),
            }
        }
        let stream = self.stream.as_mut().expect("connected above");
        let exchange = async {
            write_frame(stream, req).await?;
            read_frame::<Response>(stream).await
        };
        match timeout(self.timeout, exchange).await {
            Ok(Ok(resp)) => {
                self.failures = 0;
                Ok(resp)
            }
            _ => Err(self.fail(CallError::NoAnswer)),
        }
    }

    fn fail(&mut self, e: CallError) -> CallError {
        self.stream = None;
        self.failures = self.failures.saturating_add(1);
        e
    }
}

/// `min(50ms · 2^(n-1), 2s)`, scaled by a factor drawn from [0.5, 1.5).
fn backoff(failures: u32, rng: &mut ChaCha8Rng) -> Duration {
    let exp = BACKOFF_MIN.saturating_mul(1u32 << failures.saturating_sub(1).min(10));
    let base = exp.min(BACKOFF_MAX);
    let jitter: f64 = rng.random_range(0.5..1.5);
    Duration::from_micros((base.as_micros() as f64 * jitter) as u64)
}

//! A consumer's one connection to a store node, shared by all its tasks, as
//! a Cassandra driver keeps one connection per node and tags each request
//! with a stream id. Calls made in the same step leave in one segment, and
//! the node's answers ready in the same step come back in one: at scale, a
//! connection per task would be hundreds of sockets per consumer, each
//! carrying one small frame at a time.
//!
//! A call that goes unanswered within its timeout abandons its id, not the
//! connection (one timer per connection times its calls out: they share a
//! timeout, so they expire in the order sent): a slow node (a compaction)
//! that still answers some calls within each timeout is still a live one,
//! and a late answer is dropped when it comes. A node slower than the
//! timeout on every call looks silent, and is given up as below (as a
//! connection per call would have been). The connection itself is given up when
//! a call times out and nothing at all has arrived on it since that call
//! was sent: turmoil's TCP never retransmits, so a lost segment or a
//! partition leaves a stream silent for good. Giving it up fails every call
//! still waiting on it (their outcome on the node is unknown) and counts as
//! one failure of the node's [`Route`], as a broken [`Link`] does.
//!
//! [`Link`]: crate::common::link::Link

use crate::common::link::{address, CallError, Route};
use crate::common::wire::{encode_frame, read_frame, Request, Response};
use harness::scenario::{Host, Role};
use rand_chacha::ChaCha8Rng;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::Notify;
use tokio::task::AbortHandle;
use turmoil::net::tcp::OwnedWriteHalf;
use turmoil::net::TcpStream;
use turmoil::time::{sleep, timeout};

/// A request as it travels on a shared connection: tagged with the id its
/// answer carries back.
pub type Tagged<T> = (u32, T);

/// Frames several tasks of one host queued for one connection, written as
/// one segment when the connection's writer next runs (later in the same
/// step: a task woken now runs before the host's step ends).
#[derive(Default)]
pub struct Outbox {
    frames: RefCell<Vec<u8>>,
    wake: Notify,
    /// Nothing more will be queued: the writer sends what is left and ends.
    closed: Cell<bool>,
}

impl Outbox {
    /// Queues `msg` tagged with `id`.
    pub fn push<T: serde::Serialize>(&self, id: u32, msg: &T) -> std::io::Result<()> {
        encode_frame(&mut self.frames.borrow_mut(), &(id, msg))?;
        self.wake.notify_one();
        Ok(())
    }

    /// Lets the writer end once it has sent what is queued.
    pub fn close(&self) {
        self.closed.set(true);
        self.wake.notify_one();
    }

    /// Writes what is queued, one write per wake, until the stream breaks
    /// or the outbox is closed.
    pub async fn pump(&self, mut stream: OwnedWriteHalf) -> std::io::Result<()> {
        let mut sending = Vec::new();
        loop {
            // Frames queued while the last write waited for the socket
            // (turmoil's flow control) go out without another wake.
            if self.frames.borrow().is_empty() {
                if self.closed.get() {
                    return Ok(());
                }
                self.wake.notified().await;
            }
            std::mem::swap(&mut sending, &mut *self.frames.borrow_mut());
            if !sending.is_empty() {
                stream.write_all(&sending).await?;
                sending.clear();
            }
        }
    }
}

/// The state of one call waiting on a connection.
enum Slot {
    Waiting(Option<Waker>),
    Answered(Response),
    /// Its timeout passed first.
    TimedOut,
}

/// Why a call's wait ended without its answer.
enum Unanswered {
    TimedOut,
    /// The stream broke, or the connection was given up.
    Broken,
}

/// What a connection's tasks and its callers share.
#[derive(Default)]
struct Shared {
    outbox: Outbox,
    /// Calls waiting for their answer, by id.
    waiting: RefCell<BTreeMap<u32, Slot>>,
    next_id: Cell<u32>,
    /// Frames received so far: a call that timed out with this unchanged
    /// since it was sent heard nothing at all from the node.
    heard: Cell<u64>,
    /// The stream broke or was given up: no answer will come.
    broken: Cell<bool>,
    /// When each call sent times out, in the order sent: calls share one
    /// timeout, so the front is always the next to expire (a timer per
    /// connection, not per call).
    deadlines: RefCell<VecDeque<(Duration, u32)>>,
    /// A call was sent while no deadline was pending.
    armed: Notify,
}

impl Shared {
    /// Marks the connection broken and wakes every waiting call.
    fn break_all(&self) {
        self.broken.set(true);
        for slot in self.waiting.borrow_mut().values_mut() {
            if let Slot::Waiting(Some(w)) = slot {
                w.wake_by_ref();
            }
        }
    }

    /// Delivers an answer to its call, if that call still waits.
    fn answer(&self, id: u32, resp: Response) {
        self.heard.set(self.heard.get() + 1);
        // A call that timed out stays timed out, even if it has not
        // taken that yet.
        if let Some(slot @ Slot::Waiting(_)) = self.waiting.borrow_mut().get_mut(&id) {
            if let Slot::Waiting(Some(w)) = std::mem::replace(slot, Slot::Answered(resp)) {
                w.wake();
            }
        }
    }

    /// Times out each call whose deadline passes before its answer comes.
    /// Sleeps until the oldest call still waiting is due (an answered
    /// call's deadline is passed over without a wake).
    async fn expire(self: Rc<Self>) {
        loop {
            let next = loop {
                let front = self.deadlines.borrow().front().copied();
                match front {
                    Some((_, id)) if !self.waiting.borrow().contains_key(&id) => {
                        self.deadlines.borrow_mut().pop_front();
                    }
                    other => break other,
                }
            };
            let Some((at, id)) = next else {
                self.armed.notified().await;
                continue;
            };
            let now = turmoil::elapsed();
            if at > now {
                sleep(at - now).await;
                continue;
            }
            self.deadlines.borrow_mut().pop_front();
            let mut waiting = self.waiting.borrow_mut();
            // An answer that came in time but is not taken yet stands.
            if let Some(slot @ Slot::Waiting(_)) = waiting.get_mut(&id) {
                let Slot::Waiting(waker) = std::mem::replace(slot, Slot::TimedOut) else {
                    unreachable!("matched above")
                };
                drop(waiting);
                if let Some(w) = waker {
                    w.wake();
                }
            }
        }
    }

    /// Reads answers until the stream breaks.
    async fn read(self: Rc<Self>, mut stream: turmoil::net::tcp::OwnedReadHalf) {
        while let Ok((id, resp)) = read_frame::<Tagged<Response>, _>(&mut stream).await {
            self.answer(id, resp);
        }
        self.break_all();
    }
}

/// One established connection: its tasks end with it.
struct Conn {
    shared: Rc<Shared>,
    tasks: [AbortHandle; 3],
}

impl Drop for Conn {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Takes a call's slot out however the call ends (answered, timed out, or
/// dropped by a caller whose question went stale).
struct Forget<'a> {
    shared: &'a Shared,
    id: u32,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.shared.waiting.borrow_mut().remove(&self.id);
    }
}

/// How the last connect attempt ended, for the calls that waited on it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Attempt {
    Connected,
    Failed,
    /// Its caller dropped the call mid-connect: a waiter tries itself.
    Abandoned,
}

/// The mark of a call connecting for every caller of its [`Mux`], cleared
/// (and the waiters woken) however the connect ends.
struct Connecting<'a> {
    mux: &'a Mux,
    outcome: Attempt,
}

impl Drop for Connecting<'_> {
    fn drop(&mut self) {
        self.mux.connecting.set(false);
        self.mux.last.set(self.outcome);
        self.mux.connected.notify_waiters();
    }
}

/// A host's shared connection to one store node.
pub struct Mux {
    addr: String,
    route: Rc<Route>,
    timeout: Duration,
    conn: RefCell<Option<Rc<Conn>>>,
    /// A call is connecting; the others wait for it rather than each
    /// opening a connection of its own.
    connecting: Cell<bool>,
    last: Cell<Attempt>,
    connected: Notify,
}

impl Mux {
    /// A connection (made at the first call) to `to`, over `route`; calls
    /// and connects wait at most `timeout`.
    pub fn new(to: Host, route: Rc<Route>, timeout: Duration) -> Mux {
        Mux {
            addr: address(to),
            route,
            timeout,
            conn: RefCell::new(None),
            connecting: Cell::new(false),
            last: Cell::new(Attempt::Abandoned),
            connected: Notify::new(),
        }
    }

    /// A connection to each store node, node `i` over a fresh route.
    pub fn to_stores(stores: u32, timeout: Duration) -> Rc<[Mux]> {
        (0..stores)
            .map(|i| Mux::new(Host::new(Role::Store, i), Route::new(), timeout))
            .collect()
    }

    /// The live connection, connecting first if there is none (one call
    /// connects, the others wait for its outcome).
    async fn connect(&self, rng: &mut ChaCha8Rng) -> Result<Rc<Conn>, CallError> {
        loop {
            if let Some(c) = self.conn.borrow().as_ref() {
                return Ok(c.clone());
            }
            if self.connecting.get() {
                self.connected.notified().await;
                match self.last.get() {
                    Attempt::Failed => return Err(CallError::Unreachable),
                    Attempt::Connected | Attempt::Abandoned => continue,
                }
            }
            let mut mark = Connecting {
                mux: self,
                outcome: Attempt::Abandoned,
            };
            self.connecting.set(true);
            let route = self.route.clone();
            let probe = route.admit().await;
            let connected = timeout(self.timeout, TcpStream::connect(self.addr.as_str())).await;
            drop(probe);
            let Ok(Ok(stream)) = connected else {
                mark.outcome = Attempt::Failed;
                self.route.failed(rng);
                return Err(CallError::Unreachable);
            };
            self.route.succeeded();
            let shared = Rc::new(Shared::default());
            let (read, write) = stream.into_split();
            let reader = tokio::task::spawn_local(shared.clone().read(read));
            let expiry = tokio::task::spawn_local(shared.clone().expire());
            let out = shared.clone();
            let writer = tokio::task::spawn_local(async move {
                if out.outbox.pump(write).await.is_err() {
                    out.break_all();
                }
            });
            let conn = Rc::new(Conn {
                shared,
                tasks: [
                    reader.abort_handle(),
                    writer.abort_handle(),
                    expiry.abort_handle(),
                ],
            });
            *self.conn.borrow_mut() = Some(conn.clone());
            mark.outcome = Attempt::Connected;
            return Ok(conn);
        }
    }

    /// Gives `conn` up, once: later calls connect anew, after the route's
    /// backoff.
    fn give_up(&self, conn: &Rc<Conn>, rng: &mut ChaCha8Rng) {
        conn.shared.break_all();
        let current = self
            .conn
            .borrow()
            .as_ref()
            .is_some_and(|c| Rc::ptr_eq(c, conn));
        if current {
            self.conn.borrow_mut().take();
            self.route.failed(rng);
        }
    }

    /// Sends one request and waits for its answer.
    pub async fn call(&self, rng: &mut ChaCha8Rng, req: &Request) -> Result<Response, CallError> {
        let live = self.conn.borrow().clone();
        let conn = match live {
            // A connection that broke while idle (the node restarted) is
            // given up before anything is sent on it, and this call
            // connects afresh (after the route's backoff).
            Some(c) if c.shared.broken.get() => {
                self.give_up(&c, rng);
                Box::pin(self.connect(rng)).await?
            }
            Some(c) => c,
            // Boxed: a connect's future is large, and kept inline it would
            // be part of (and moved with) every call's.
            None => Box::pin(self.connect(rng)).await?,
        };
        let shared = &*conn.shared;
        let id = shared.next_id.get();
        shared.next_id.set(id.wrapping_add(1));
        shared.waiting.borrow_mut().insert(id, Slot::Waiting(None));
        let _forget = Forget { shared, id };
        if shared.outbox.push(id, req).is_err() {
            self.give_up(&conn, rng);
            return Err(CallError::NoAnswer);
        }
        let heard = shared.heard.get();
        {
            let mut deadlines = shared.deadlines.borrow_mut();
            if deadlines.is_empty() {
                shared.armed.notify_one();
            }
            deadlines.push_back((turmoil::elapsed() + self.timeout, id));
        }
        let answer = poll_fn(|cx| {
            let mut waiting = shared.waiting.borrow_mut();
            match waiting.get_mut(&id) {
                Some(Slot::Answered(_)) => match waiting.remove(&id) {
                    Some(Slot::Answered(r)) => Poll::Ready(Ok(r)),
                    _ => unreachable!("matched above"),
                },
                Some(Slot::TimedOut) => Poll::Ready(Err(Unanswered::TimedOut)),
                _ if shared.broken.get() => Poll::Ready(Err(Unanswered::Broken)),
                Some(Slot::Waiting(w)) => {
                    *w = Some(cx.waker().clone());
                    Poll::Pending
                }
                None => Poll::Ready(Err(Unanswered::Broken)),
            }
        });
        match answer.await {
            Ok(resp) => {
                self.route.succeeded();
                Ok(resp)
            }
            // Timed out: the connection is given up only if nothing at all
            // came on it meanwhile.
            Err(Unanswered::TimedOut) => {
                if shared.heard.get() == heard {
                    self.give_up(&conn, rng);
                }
                Err(CallError::NoAnswer)
            }
            Err(Unanswered::Broken) => {
                self.give_up(&conn, rng);
                Err(CallError::NoAnswer)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::wire::{write_frame, STORE_PORT};
    use rand::SeedableRng;
    use std::net::{IpAddr, Ipv4Addr};
    use turmoil::net::TcpListener;

    const TIMEOUT: Duration = Duration::from_millis(200);

    /// A store node that answers a read of key 0 after 10 ms, of key 3
    /// after 100 ms, of key 1 after 500 ms (past the timeout, and with
    /// `Applied`: a late answer taken for another call would show), and
    /// never a read of key 2.
    async fn node() -> turmoil::Result {
        let listener = TcpListener::bind((IpAddr::V4(Ipv4Addr::UNSPECIFIED), STORE_PORT)).await?;
        loop {
            let (stream, _) = listener.accept().await?;
            tokio::task::spawn_local(async move {
                let (mut read, write) = stream.into_split();
                let write = Rc::new(tokio::sync::Mutex::new(write));
                while let Ok((id, req)) = read_frame::<Tagged<Request>, _>(&mut read).await {
                    let Request::Read { key } = req else { return };
                    let write = write.clone();
                    tokio::task::spawn_local(async move {
                        let (after, answer) = match key {
                            0 => (10, Response::Read),
                            3 => (100, Response::Read),
                            1 => (500, Response::Applied),
                            _ => return,
                        };
                        sleep(Duration::from_millis(after)).await;
                        let mut w = write.lock().await;
                        let _ = write_frame(&mut *w, &(id, answer)).await;
                    });
                }
            });
        }
    }

    fn read(key: u32) -> Request {
        Request::Read { key }
    }

    /// A slow answer costs its call, not the connection, while the node
    /// answers others; a connection that stays silent past a call's
    /// timeout is given up; a late answer is never taken for a newer call.
    #[test]
    fn a_slow_answer_costs_its_call_and_a_silent_connection_is_given_up() {
        // Seeded, and every message 1 ms on the wire: the timings below are
        // exact.
        let mut sim = turmoil::Builder::new()
            .skip_idle_hosts(true)
            .rng_seed(1)
            .min_message_latency(Duration::from_millis(1))
            .max_message_latency(Duration::from_millis(1))
            .simulation_duration(Duration::from_secs(10))
            .build();
        sim.host("store-0", node);
        sim.client("consumer-0", async {
            let mux = Rc::new(Mux::new(Host::new(Role::Store, 0), Route::new(), TIMEOUT));
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            assert_eq!(mux.call(&mut rng, &read(0)).await, Ok(Response::Read));
            let first = mux.conn.borrow().clone().expect("connected");
            // Key 0 answered every 20 ms while key 1's call waits.
            let busy = {
                let mux = mux.clone();
                tokio::task::spawn_local(async move {
                    let mut rng = ChaCha8Rng::seed_from_u64(2);
                    for _ in 0..15 {
                        assert_eq!(mux.call(&mut rng, &read(0)).await, Ok(Response::Read));
                        sleep(Duration::from_millis(10)).await;
                    }
                })
            };
            let started = turmoil::elapsed();
            assert_eq!(mux.call(&mut rng, &read(1)).await, Err(CallError::NoAnswer));
            let waited = turmoil::elapsed() - started;
            assert!(
                waited >= TIMEOUT && waited < TIMEOUT + Duration::from_millis(5),
                "{waited:?}"
            );
            busy.await.unwrap();
            let kept = mux.conn.borrow().clone().expect("still connected");
            assert!(
                Rc::ptr_eq(&first, &kept),
                "a slow answer cost the connection"
            );
            // Key 1's late answer (500 ms after it was asked) lands while
            // key 3's call waits: that call still gets its own answer.
            let at = started + Duration::from_millis(450);
            sleep(at.saturating_sub(turmoil::elapsed())).await;
            let asked = turmoil::elapsed();
            assert_eq!(mux.call(&mut rng, &read(3)).await, Ok(Response::Read));
            assert!(started + Duration::from_millis(500) < turmoil::elapsed());
            assert!(started + Duration::from_millis(500) > asked);
            // Nothing at all comes while key 2 waits: the connection goes.
            assert_eq!(mux.call(&mut rng, &read(2)).await, Err(CallError::NoAnswer));
            assert!(mux.conn.borrow().is_none(), "a silent connection was kept");
            // The next call connects afresh, after the route's backoff.
            assert_eq!(mux.call(&mut rng, &read(0)).await, Ok(Response::Read));
            let fresh = mux.conn.borrow().clone().expect("reconnected");
            assert!(!Rc::ptr_eq(&first, &fresh));
            Ok(())
        });
        sim.run().unwrap();
    }
}

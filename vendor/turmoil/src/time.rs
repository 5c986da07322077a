//! mqsim patch: timers a simulation can see.
//!
//! With [`Builder::skip_idle_hosts`](crate::Builder::skip_idle_hosts) a host
//! is stepped only when it has work: a task was woken, a message arrived, or
//! a timer it set is due. tokio does not say when a runtime's next timer is
//! due, so a host that waits on time must wait through these functions: they
//! are tokio's (`sleep`, `sleep_until`, `timeout`, `interval`) and, inside a
//! simulated host, also tell the simulation the deadline. A host that waits
//! on a bare `tokio::time::sleep` and nothing else is not woken for it while
//! skipping is on (the run fails when the simulation sees it fire, naming
//! the host); outside a simulation, or with skipping off, these behave
//! exactly as tokio's.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;
use tokio::time::{Duration, Instant};

use crate::world::World;

/// The deadlines (simulated time since the start of the simulation) of a
/// host's pending timers, as a multiset: (deadline, count), ascending. A
/// sorted `VecDeque`, not a `BTreeMap`: most timers are set later than all
/// the others (added at the back) and end in about the order they were set
/// (removed near the front, which shifts the shorter side), and adding or
/// removing one allocates nothing once the queue has grown.
#[derive(Default)]
pub(crate) struct Deadlines(std::collections::VecDeque<(Duration, u32)>);

impl Deadlines {
    /// The first deadline after `t`. One at or before the start of a step
    /// the host has just taken needs no wake: if its timer was polled, tokio
    /// fired it in that step; if not (a `select!` branch not polled, a
    /// sleep kept past its deadline), the task sees it elapsed when it next
    /// polls it. Without this, one such sleep kept its host stepping at
    /// every tick.
    pub(crate) fn first_after(&self, t: Duration) -> Option<Duration> {
        let i = self.0.partition_point(|&(at, _)| at <= t);
        self.0.get(i).map(|&(at, _)| at)
    }

    fn add(&mut self, at: Duration) {
        // The usual case first: later than every other.
        if self.0.back().is_none_or(|&(last, _)| last < at) {
            self.0.push_back((at, 1));
            return;
        }
        match self.0.binary_search_by_key(&at, |&(d, _)| d) {
            Ok(i) => self.0[i].1 += 1,
            Err(i) => self.0.insert(i, (at, 1)),
        }
    }

    fn remove(&mut self, at: Duration) {
        // The usual case first: the earliest.
        let found = match self.0.front() {
            Some(&(first, _)) if first == at => Ok(0),
            _ => self.0.binary_search_by_key(&at, |&(d, _)| d),
        };
        if let Ok(i) = found {
            self.0[i].1 -= 1;
            if self.0[i].1 == 0 {
                self.0.remove(i);
            }
        }
    }
}

pub(crate) type SharedDeadlines = Arc<Mutex<Deadlines>>;

/// A pending timer's entry in its host's deadlines, removed on drop.
struct Registration {
    deadlines: SharedDeadlines,
    at: Duration,
}

impl Registration {
    /// Registers `deadline` with the current host, if there is one.
    fn new(deadline: Instant) -> Option<Registration> {
        World::try_current(|world| {
            let host = world.try_current_host().ok()?;
            let at = host.timer.sim_time_of(deadline)?;

            let deadlines = host.deadlines.clone();
            deadlines.lock().unwrap().add(at);
            Some(Registration { deadlines, at })
        })
        .ok()
        .flatten()
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.deadlines.lock().unwrap().remove(self.at);
    }
}

pin_project! {
    /// tokio's [`Sleep`](tokio::time::Sleep), known to the simulation.
    #[must_use = "futures do nothing unless polled"]
    pub struct Sleep {
        #[pin]
        inner: tokio::time::Sleep,
        registration: Option<Registration>,
    }
}

impl Sleep {
    /// When this sleep completes.
    pub fn deadline(&self) -> Instant {
        self.inner.deadline()
    }

    /// Whether it has completed.
    pub fn is_elapsed(&self) -> bool {
        self.inner.is_elapsed()
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.inner.deadline())
            .finish()
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let me = self.project();
        ready!(me.inner.poll(cx));
        me.registration.take();
        Poll::Ready(())
    }
}

/// Waits until `deadline`, as [`tokio::time::sleep_until`].
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        inner: tokio::time::sleep_until(deadline),
        registration: Registration::new(deadline),
    }
}

/// Waits for `duration`, as [`tokio::time::sleep`].
pub fn sleep(duration: Duration) -> Sleep {
    let deadline = Instant::now()
        .checked_add(duration)
        // tokio's own bound for "far in the future".
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(86400 * 365 * 30));
    sleep_until(deadline)
}

/// The error of a [`timeout`] whose deadline passed first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(_: Elapsed) -> std::io::Error {
        std::io::ErrorKind::TimedOut.into()
    }
}

pin_project! {
    /// A future bounded in time: tokio's [`Timeout`](tokio::time::Timeout)
    /// (whose deadline is polled even when the future used up its budget),
    /// its deadline known to the simulation.
    #[must_use = "futures do nothing unless polled"]
    #[derive(Debug)]
    pub struct Timeout<F> {
        #[pin]
        inner: tokio::time::Timeout<F>,
        registration: Option<Registration>,
    }
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("at", &self.at)
            .finish()
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let me = self.project();
        let out = ready!(me.inner.poll(cx));
        me.registration.take();
        Poll::Ready(out.map_err(|_| Elapsed(())))
    }
}

/// Runs `future` for at most `duration`, as [`tokio::time::timeout`].
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    let deadline = Instant::now()
        .checked_add(duration)
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(86400 * 365 * 30));
    Timeout {
        inner: tokio::time::timeout_at(deadline, future),
        registration: Registration::new(deadline),
    }
}

/// Ticks every `period`, the first at once; late ticks fire at once until
/// it has caught up ([`tokio::time::MissedTickBehavior::Burst`], tokio's
/// default).
#[derive(Debug)]
pub struct Interval {
    next: Instant,
    period: Duration,
}

/// An [`Interval`] whose first tick is now.
pub fn interval(period: Duration) -> Interval {
    assert!(period > Duration::ZERO, "`period` must be non-zero.");
    Interval {
        next: Instant::now(),
        period,
    }
}

impl Interval {
    /// Waits for the next tick and returns when it was due.
    pub async fn tick(&mut self) -> Instant {
        let due = self.next;
        sleep_until(due).await;
        self.next = due + self.period;
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Builder;

    /// A timer's deadline is what the simulation sees, and it leaves when
    /// the timer completes or is dropped.
    #[test]
    fn deadlines_are_registered_and_removed() {
        let mut deadlines = Deadlines::default();
        deadlines.add(Duration::from_millis(5));
        deadlines.add(Duration::from_millis(3));
        deadlines.add(Duration::from_millis(3));
        let first = |d: &Deadlines| d.first_after(Duration::ZERO);
        assert_eq!(first(&deadlines), Some(Duration::from_millis(3)));
        assert_eq!(
            deadlines.first_after(Duration::from_millis(3)),
            Some(Duration::from_millis(5))
        );
        deadlines.remove(Duration::from_millis(3));
        assert_eq!(first(&deadlines), Some(Duration::from_millis(3)));
        deadlines.remove(Duration::from_millis(3));
        assert_eq!(first(&deadlines), Some(Duration::from_millis(5)));
        // Set between others, and one never set: the order holds.
        deadlines.add(Duration::from_millis(9));
        deadlines.add(Duration::from_millis(7));
        deadlines.remove(Duration::from_millis(6));
        let ms = |d: &Deadlines| {
            d.0.iter()
                .map(|&(at, n)| (at.as_millis(), n))
                .collect::<Vec<_>>()
        };
        assert_eq!(ms(&deadlines), [(5, 1), (7, 1), (9, 1)]);
        assert_eq!(
            deadlines.first_after(Duration::from_millis(6)),
            Some(Duration::from_millis(7))
        );
        assert_eq!(deadlines.first_after(Duration::from_millis(9)), None);
    }

    /// Hosts' tasks run inside the shared runtime's `block_on`, whose entry
    /// seeds the RNG an unbiased `select!` draws from: the same simulation
    /// seed picks the same branches, run after run on the same thread.
    /// (Polled outside `block_on`, a task draws from the thread's own
    /// generator, randomly seeded and advanced by every earlier run.)
    #[test]
    fn select_picks_the_same_branches_for_the_same_seed() {
        let picks = || {
            let mut sim = Builder::new().skip_idle_hosts(true).rng_seed(7).build();
            let out = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
            let seen = out.clone();
            sim.client("picker", async move {
                for _ in 0..64 {
                    let pick = tokio::select! {
                        _ = std::future::ready(()) => 0,
                        _ = std::future::ready(()) => 1,
                        _ = std::future::ready(()) => 2,
                    };
                    seen.borrow_mut().push(pick);
                    sleep(Duration::from_millis(1)).await;
                }
                Ok(())
            });
            sim.run().unwrap();
            let picks = out.borrow().clone();
            picks
        };
        let first = picks();
        assert!(first.iter().any(|&p| p != first[0]), "{first:?}");
        for _ in 0..3 {
            assert_eq!(picks(), first);
        }
    }

    /// A task that keeps waking itself does not starve one that yielded
    /// to the runtime (`tokio::task::yield_now` defers its wake to the
    /// runtime's next park): a step parks after a bounded number of
    /// batches, as lock-step parks after every one.
    #[test]
    fn a_task_waking_itself_does_not_starve_a_yielded_one() {
        use std::cell::Cell;
        use std::rc::Rc;
        let mut sim = Builder::new().skip_idle_hosts(true).build();
        sim.client("host", async {
            let done = Rc::new(Cell::new(false));
            let flag = done.clone();
            let yielder = tokio::task::spawn_local(async move {
                tokio::task::yield_now().await;
                flag.set(true);
            });
            let mut spins = 0u32;
            std::future::poll_fn(|cx| {
                if done.get() {
                    return Poll::Ready(());
                }
                spins += 1;
                assert!(spins < 100_000, "the yielded task never ran");
                cx.waker().wake_by_ref();
                Poll::Pending
            })
            .await;
            yielder.await.unwrap();
            Ok(())
        });
        sim.run().unwrap();
    }

    /// A sleep kept past its deadline without being polled (a `select!`
    /// branch not taken, a sleep held for later) does not keep its host
    /// stepping at every tick until it is dropped.
    #[test]
    fn a_stale_sleep_does_not_keep_its_host_busy() {
        let mut sim = Builder::new().skip_idle_hosts(true).build();
        sim.host("holder", || async {
            let stale = sleep(Duration::from_millis(1));
            sleep(Duration::from_secs(1)).await;
            // Polled at last, it is long elapsed.
            stale.await;
            Ok(())
        });
        sim.client("client", async {
            sleep(Duration::from_secs(2)).await;
            Ok(())
        });
        sim.run().unwrap();
        let steps = sim.host_steps_by_host();
        let (_, holder) = steps.iter().find(|(name, _)| name == "holder").unwrap();
        // Its first step, the stale deadline's (no longer after it), the
        // one-second wake: 1,000 steps if the stale deadline kept it busy.
        assert!(*holder <= 4, "holder stepped {holder} times");
    }

    /// With idle hosts skipped, a host that only sleeps still wakes on time,
    /// and a timeout still fires.
    #[test]
    fn timers_fire_on_time_when_idle_hosts_are_skipped() {
        let mut sim = Builder::new().skip_idle_hosts(true).build();
        sim.client("sleeper", async {
            let start = crate::elapsed();
            sleep(Duration::from_millis(250)).await;
            assert_eq!(crate::elapsed() - start, Duration::from_millis(250));
            let r = timeout(Duration::from_millis(40), std::future::pending::<()>()).await;
            assert!(r.is_err());
            assert_eq!(crate::elapsed() - start, Duration::from_millis(290));
            let mut every = interval(Duration::from_millis(100));
            for _ in 0..3 {
                every.tick().await;
            }
            assert_eq!(crate::elapsed() - start, Duration::from_millis(490));
            Ok(())
        });
        sim.run().unwrap();
    }

    /// A host that waits on a bare tokio timer fails the run, naming the
    /// host, whether the timer fires while the host runs or while it idles.
    #[test]
    fn a_bare_tokio_timer_fails_the_run() {
        let mut sim = Builder::new().skip_idle_hosts(true).build();
        sim.host("napper", || async {
            tokio::time::sleep(Duration::from_millis(30)).await;
            Ok(())
        });
        sim.client("client", async {
            sleep(Duration::from_millis(100)).await;
            Ok(())
        });
        let err = sim.run().unwrap_err().to_string();
        // It fired as the clock moved to the client's timer, at 100 ms: in
        // the first hop, which ends a tick before.
        assert!(
            err.contains("host napper") && err.contains("between 0ns and 99ms"),
            "{err}"
        );

        // While running: the host is stepped for its own visible timers.
        let mut sim = Builder::new().skip_idle_hosts(true).build();
        sim.client("busy", async {
            let mut every = interval(Duration::from_millis(5));
            let raw = tokio::time::sleep(Duration::from_micros(12_500));
            tokio::pin!(raw);
            loop {
                tokio::select! {
                    _ = &mut raw => return Ok(()),
                    _ = every.tick() => {}
                }
            }
        });
        let err = sim.run().unwrap_err().to_string();
        assert!(err.contains("host busy"), "{err}");
    }

    /// An idle host is woken by a message, at the time it would have read
    /// it had every host been stepped at every tick.
    #[test]
    fn an_idle_host_wakes_for_a_message() {
        use crate::net::{TcpListener, TcpStream};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let read_at = |skip: bool| {
            let mut sim = Builder::new()
                .skip_idle_hosts(skip)
                .min_message_latency(Duration::from_millis(3))
                .max_message_latency(Duration::from_millis(3))
                .build();
            sim.host("server", || async {
                let listener = TcpListener::bind("0.0.0.0:7").await?;
                loop {
                    let (mut s, _) = listener.accept().await?;
                    let mut b = [0u8; 1];
                    s.read_exact(&mut b).await?;
                    let at = crate::elapsed().as_millis() as u64;
                    s.write_all(&at.to_be_bytes()).await?;
                }
            });
            let at = std::rc::Rc::new(std::cell::Cell::new(0));
            let out = at.clone();
            sim.client("client", async move {
                sleep(Duration::from_millis(500)).await;
                let mut s = TcpStream::connect("server:7").await?;
                s.write_all(&[1]).await?;
                let mut b = [0u8; 8];
                s.read_exact(&mut b).await?;
                out.set(u64::from_be_bytes(b));
                Ok(())
            });
            sim.run().unwrap();
            at.get()
        };
        let skipped = read_at(true);
        assert!(skipped > 500, "{skipped}");
        assert_eq!(skipped, read_at(false));
    }

    /// With idle hosts skipped the hosts share one runtime, whose own tasks
    /// would run in no host: a `tokio::spawn` in a host fails the run, by
    /// name, while `spawn_local` runs on the host.
    #[test]
    fn a_tokio_spawn_fails_the_run_when_hosts_share_a_runtime() {
        let mut sim = Builder::new().skip_idle_hosts(true).build();
        sim.client("spawner", async {
            tokio::task::spawn_local(async {}).await?;
            sleep(Duration::from_millis(3)).await;
            tokio::spawn(async {});
            sleep(Duration::from_millis(3)).await;
            Ok(())
        });
        let err = sim.run().unwrap_err().to_string();
        assert!(
            err.contains("host spawner") && err.contains("tokio::spawn"),
            "{err}"
        );
    }

    /// A host's connection to itself (turmoil delivers loopback segments
    /// from a task of the host's) works with idle hosts skipped, and reads
    /// at the same time as in lock-step.
    #[test]
    fn a_host_talks_to_itself_when_idle_hosts_are_skipped() {
        use crate::net::{TcpListener, TcpStream};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let read_at = |skip: bool| {
            let mut sim = Builder::new().skip_idle_hosts(skip).build();
            let at = std::rc::Rc::new(std::cell::Cell::new(0));
            let out = at.clone();
            sim.client("loner", async move {
                let listener = TcpListener::bind("0.0.0.0:7").await?;
                sleep(Duration::from_millis(20)).await;
                let (c, s) = tokio::join!(TcpStream::connect("127.0.0.1:7"), listener.accept());
                let (mut c, (mut s, _)) = (c?, s?);
                c.write_all(&[9]).await?;
                let mut b = [0u8; 1];
                s.read_exact(&mut b).await?;
                assert_eq!(b, [9]);
                out.set(crate::elapsed().as_millis() as u64);
                Ok(())
            });
            sim.run().unwrap();
            at.get()
        };
        let lock_step = read_at(false);
        assert!(lock_step >= 20, "{lock_step}");
        assert_eq!(read_at(true), lock_step);
    }

    /// Many hosts finishing in one step: each finished software's result
    /// is taken inside the shared runtime's `block_on`, whose cooperative
    /// budget (128) must not make it look unfinished.
    #[test]
    fn two_hundred_clients_finish_in_one_step() {
        let mut sim = Builder::new().skip_idle_hosts(true).build();
        for i in 0..200 {
            sim.client(format!("c{i}"), async {
                sleep(Duration::from_millis(5)).await;
                Ok(())
            });
        }
        sim.run().unwrap();
    }

    /// Messages with no latency between two hosts: a reply to a host
    /// already passed in the step waits for the next, as in lock-step, so
    /// a ping-pong moves through time instead of spinning in one step, also
    /// when its tasks yield (the hosts they wake run again in the step).
    #[test]
    fn a_zero_latency_ping_pong_moves_through_time_as_in_lock_step() {
        use crate::net::{TcpListener, TcpStream};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let done_at = |skip: bool| {
            let mut sim = Builder::new()
                .skip_idle_hosts(skip)
                .min_message_latency(Duration::ZERO)
                .max_message_latency(Duration::ZERO)
                .build();
            sim.client("a", async {
                let (mut s, _) = TcpListener::bind("0.0.0.0:7").await?.accept().await?;
                let mut b = [0u8; 1];
                for _ in 0..50 {
                    s.read_exact(&mut b).await?;
                    // A yield: what is deferred runs after the park that
                    // ends the hosts' turns.
                    tokio::task::yield_now().await;
                    s.write_all(&b).await?;
                }
                Ok(())
            });
            let at = std::rc::Rc::new(std::cell::Cell::new(0));
            let out = at.clone();
            sim.client("b", async move {
                let mut s = TcpStream::connect("a:7").await?;
                let mut b = [1u8; 1];
                for _ in 0..50 {
                    s.write_all(&b).await?;
                    s.read_exact(&mut b).await?;
                    tokio::task::yield_now().await;
                }
                out.set(crate::elapsed().as_millis() as u64);
                Ok(())
            });
            sim.run().unwrap();
            at.get()
        };
        let lock_step = done_at(false);
        assert!(lock_step >= 50, "{lock_step}");
        assert_eq!(done_at(true), lock_step);
    }

    /// Steps before any host was added move no clock: a host added later
    /// sees its timers fire when the simulation says.
    #[test]
    fn a_host_added_after_empty_steps_keeps_time() {
        let mut sim = Builder::new().skip_idle_hosts(true).build();
        for _ in 0..5 {
            sim.step().unwrap();
        }
        let at = std::rc::Rc::new(std::cell::Cell::new(Duration::ZERO));
        let out = at.clone();
        sim.client("late", async move {
            let start = Instant::now();
            sleep(Duration::from_millis(10)).await;
            assert_eq!(start.elapsed(), Duration::from_millis(10));
            assert_eq!(crate::elapsed(), Duration::from_millis(10));
            out.set(crate::sim_elapsed().unwrap());
            Ok(())
        });
        sim.run().unwrap();
        assert_eq!(at.get(), Duration::from_millis(15));
    }

    /// A host that yields after it replied runs again in the step (the
    /// park wakes it), but is handed no message that came after its first
    /// turn: a zero-latency exchange still takes one step a round trip.
    #[test]
    fn a_host_run_again_in_a_step_gets_no_later_message() {
        use crate::net::{TcpListener, TcpStream};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let done_at = |skip: bool| {
            let mut sim = Builder::new()
                .skip_idle_hosts(skip)
                .min_message_latency(Duration::ZERO)
                .max_message_latency(Duration::ZERO)
                .build();
            sim.client("a", async {
                let (mut s, _) = TcpListener::bind("0.0.0.0:7").await?.accept().await?;
                let mut b = [0u8; 1];
                for _ in 0..50 {
                    s.read_exact(&mut b).await?;
                    s.write_all(&b).await?;
                    tokio::task::yield_now().await;
                }
                Ok(())
            });
            let at = std::rc::Rc::new(std::cell::Cell::new(0));
            let out = at.clone();
            sim.client("b", async move {
                let mut s = TcpStream::connect("a:7").await?;
                let mut b = [1u8; 1];
                for _ in 0..50 {
                    s.write_all(&b).await?;
                    s.read_exact(&mut b).await?;
                }
                out.set(crate::elapsed().as_millis() as u64);
                Ok(())
            });
            sim.run().unwrap();
            at.get()
        };
        let lock_step = done_at(false);
        assert!(lock_step >= 50, "{lock_step}");
        assert_eq!(done_at(true), lock_step);
    }

    /// Real IO is polled only in steps with work: the two do not mix.
    #[test]
    #[should_panic(expected = "skip_idle_hosts cannot be combined with enable_tokio_io")]
    fn tokio_io_is_refused_with_idle_hosts_skipped() {
        let _ = Builder::new()
            .skip_idle_hosts(true)
            .enable_tokio_io()
            .build();
    }
}

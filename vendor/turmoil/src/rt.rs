use std::future::Future;
use std::mem;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use rand::rngs::SmallRng;
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;
use tokio::task::LocalSet;
use tokio::time::{sleep, Duration, Instant};

use super::Result;
use crate::time::SharedDeadlines;

// To support re-creation, we need to store a factory of the future that
// represents the software. This is somewhat annoying in that it requires
// boxxing to avoid generics.
type Software<'a> = Box<dyn Fn() -> Pin<Box<dyn Future<Output = Result>>> + 'a>;

/// Runtime kinds.
pub enum Kind<'a> {
    /// A runtime for executing test code.
    Client,

    /// A runtime that is running simulated host software.
    Host { software: Software<'a> },

    /// A runtime without any software. The network topology uses this for
    /// time tracking and message delivery.
    NoSoftware,
}

/// Runtime configuration.
#[derive(Clone, Default)]
pub struct Config {
    /// Whether io is enabled on the runtime.
    pub enable_io: bool,

    /// Rng used to seed the tokio runtime.
    ///
    /// Only used if the `tokio_unstable` cfg flag is set.
    #[cfg_attr(not(tokio_unstable), expect(dead_code))]
    pub rng: Option<SmallRng>,

    /// mqsim patch: the host's wake, which also watches its clock (see
    /// [`HostWake::after_park`]).
    pub(crate) wake: Option<Arc<HostWake>>,
}

/// Per host simulated runtime.
///
/// The tokio runtime is paused (see [`Builder::start_paused`]), which gives us
/// control over when and how to advance time. In particular, see [`Rt::tick`],
/// which lets the runtime do a bit more work.
pub struct Rt<'a> {
    pub kind: Kind<'a>,

    /// Handle to the Tokio runtime driving this simulated host. Each runtime
    /// may have a different sense of "now" which simulates clock skew.
    tokio: Runtime,

    /// Local task set used for running !Send tasks.
    local: LocalSet,

    /// A user readable name to identify the node.
    pub nodename: Arc<str>,

    /// Optional handle to a host's software. When software finishes, the handle is
    /// consumed to check for error, which is propagated up to fail the simulation.
    handle: Option<JoinHandle<Result>>,

    /// Runtime configuration.
    config: Config,

    /// mqsim patch: what tells the simulation this host has work.
    pub(crate) wake: Arc<HostWake>,

    /// mqsim patch: `wake` as the waker the host's tasks see.
    waker: Waker,
}

impl Config {
    /// The host's wake, or one that watches nothing.
    fn wake(&self) -> Arc<HostWake> {
        self.wake
            .clone()
            .unwrap_or_else(|| HostWake::new(usize::MAX, Default::default(), None))
    }
}

/// mqsim patch: the waker a host's [`LocalSet`] is polled with, so the
/// simulation learns when something outside the host (a message delivered, a
/// task on another host, the driver) makes one of its tasks runnable.
///
/// While the host runs, a wake is passed on to the runtime's own waker and
/// noted in `woken`; each poll of the host clears it first, so `woken` still
/// set after a step means a task became runnable after the host's last poll.
/// While the host is idle, a wake puts the host on the `ready` list that the
/// simulation reads between hosts.
pub(crate) struct HostWake {
    index: usize,
    woken: AtomicBool,
    /// Whether the host's last poll was owed to a task's wake: if that poll
    /// ended its step, the task has not run yet.
    pending: AtomicBool,
    in_step: AtomicBool,
    /// How many times it was woken.
    wakes: AtomicU64,
    runtime: Mutex<Option<Waker>>,
    ready: Arc<Mutex<Vec<usize>>>,
    /// The host's registered timers (see `crate::time`).
    deadlines: Option<SharedDeadlines>,
    watch: Mutex<ClockWatch>,
}

/// What a host's paused clock may stop at, and the first stop it may not.
#[derive(Default)]
struct ClockWatch {
    /// Off while the runtime is made and between steps.
    armed: bool,
    /// A clock reading and the simulated time it stands for.
    base: Option<(Instant, Duration)>,
    /// Where the current `block_on` ends.
    end: Option<Instant>,
    /// `HostWake::wakes` when the runtime last parked.
    wakes_at_park: u64,
    /// Simulated time of a stop at no timer the simulation knows of.
    unseen: Option<Duration>,
}

impl HostWake {
    pub(crate) fn new(
        index: usize,
        ready: Arc<Mutex<Vec<usize>>>,
        deadlines: Option<SharedDeadlines>,
    ) -> Arc<HostWake> {
        Arc::new(HostWake {
            index,
            woken: AtomicBool::new(false),
            pending: AtomicBool::new(false),
            in_step: AtomicBool::new(false),
            wakes: AtomicU64::new(0),
            runtime: Mutex::new(None),
            ready,
            deadlines,
            watch: Mutex::default(),
        })
    }

    /// Arms the clock watch for a `block_on` that ends at `end`, the clock
    /// now reading `now` for simulated time `sim`.
    fn arm(&self, now: Instant, sim: Duration, end: Instant) {
        let mut w = self.watch.lock().unwrap();
        w.armed = self.deadlines.is_some();
        w.base = Some((now, sim));
        w.end = Some(end);
    }

    fn disarm(&self) {
        self.watch.lock().unwrap().armed = false;
    }

    /// Called by the host's runtime before it parks (it has nothing to run).
    fn before_park(&self) {
        self.watch.lock().unwrap().wakes_at_park = self.wakes.load(Ordering::Relaxed);
    }

    /// Called by the host's runtime when it wakes from parking: a paused
    /// clock moves there, to the next expiry in tokio's timer wheel, and the
    /// timers due fire. If one woke a task at a time that is neither the
    /// `block_on`'s own end nor a registered deadline (tokio rounds those up
    /// to the millisecond), it was a timer the simulation cannot see: had the
    /// host been idle, nothing would have woken it. (The wheel also stops at
    /// times where no timer fires, to cascade; those wake nothing.)
    fn after_park(&self) {
        let mut w = self.watch.lock().unwrap();
        if !w.armed || w.unseen.is_some() || self.wakes.load(Ordering::Relaxed) == w.wakes_at_park {
            return;
        }
        let now = Instant::now();
        if w.end == Some(now) {
            return;
        }
        let Some((base, sim)) = w.base else { return };
        let at = sim + now.saturating_duration_since(base);
        let from = at.saturating_sub(Duration::from_millis(1));
        let seen = self
            .deadlines
            .as_ref()
            .is_some_and(|d| d.lock().unwrap().any_in(from, at));
        if !seen {
            w.unseen = Some(at);
        }
    }

    /// The simulated time a timer the simulation cannot see fired at, once.
    pub(crate) fn take_unseen_timer(&self) -> Option<Duration> {
        self.watch.lock().unwrap().unseen.take()
    }

    /// Whether a task of the host may be runnable after its step.
    pub(crate) fn has_work(&self) -> bool {
        self.pending.load(Ordering::Relaxed) || self.woken.load(Ordering::Relaxed)
    }
}

impl Wake for HostWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::Relaxed);
        let was = self.woken.swap(true, Ordering::Relaxed);
        if self.in_step.load(Ordering::Relaxed) {
            if let Some(w) = self.runtime.lock().unwrap().as_ref() {
                w.wake_by_ref();
            }
        } else if !was {
            self.ready.lock().unwrap().push(self.index);
        }
    }
}

pin_project_lite::pin_project! {
    /// The sleep that ends a host's step, polled with the runtime's own
    /// waker so that its firing is not taken for a task's wake.
    struct StepEnd<'w> {
        duration: Duration,
        // Made at the first poll, inside the runtime; held in place, not
        // boxed (one allocation fewer a step).
        #[pin]
        sleep: Option<tokio::time::Sleep>,
        wake: &'w HostWake,
    }
}

impl Future for StepEnd<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        let runtime = this.wake.runtime.lock().unwrap().clone();
        if this.sleep.is_none() {
            this.sleep.set(Some(sleep(*this.duration)));
        }
        let sleep = this.sleep.as_pin_mut().expect("made above");
        match runtime {
            Some(w) => sleep.poll(&mut Context::from_waker(&w)),
            None => sleep.poll(cx),
        }
    }
}

/// Polls a host's step with its [`HostWake`].
struct Watched<'w, F> {
    wake: &'w HostWake,
    waker: &'w Waker,
    future: Pin<&'w mut F>,
    /// First, with no task run: the walk of a skipped host's clock to the
    /// step's start (see [`Rt::tick_at`]).
    walk: Option<Walk<'w>>,
}

struct Walk<'w> {
    local: &'w LocalSet,
    by: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    /// The step that follows: (simulated start, its length).
    step: (Duration, Duration),
}

impl<F: Future> Future for Watched<'_, F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        {
            let mut runtime = self.wake.runtime.lock().unwrap();
            if !runtime.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *runtime = Some(cx.waker().clone());
            }
        }
        let (wake, waker) = (self.wake, self.waker);
        if let Some(walk) = &mut self.walk {
            if walk.sleep.is_none() {
                if wake.woken.load(Ordering::Relaxed) {
                    // The wake that made the host due took the
                    // `LocalSet`'s waker: give it back so a task woken on the
                    // walk is seen. A finished future runs no task; the
                    // wake stays owed to the step.
                    let rearm = pin!(walk.local.run_until(std::future::ready(())));
                    let _ = rearm.poll(&mut Context::from_waker(waker));
                }
                walk.sleep = Some(Box::pin(sleep(walk.by)));
            }
            let sleep = walk.sleep.as_mut().expect("made above");
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            let (start, length) = walk.step;
            let now = Instant::now();
            wake.arm(now, start, now + length);
            self.walk = None;
        }
        let woken = self.wake.woken.swap(false, Ordering::Relaxed);
        self.wake.pending.store(woken, Ordering::Relaxed);
        let waker = self.waker;
        self.future.as_mut().poll(&mut Context::from_waker(waker))
    }
}

impl<'w, F: Future> Watched<'w, F> {
    /// Only the walk, then done.
    async fn until_walked(mut self) {
        std::future::poll_fn(|cx| {
            let me = Pin::new(&mut self);
            let _ = me.poll(cx);
            if self.walk.is_none() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await
    }
}

/// mqsim patch: what the simulation tells a skipped host's step (see
/// [`Rt::tick_at`]).
#[derive(Clone, Copy)]
pub(crate) struct Watch {
    /// The host's clock reading now.
    pub(crate) now: Instant,
    /// The simulated time the step starts at.
    pub(crate) start: Duration,
    /// How far the host's clock is behind `start`.
    pub(crate) walk: Duration,
}

impl<'a> Rt<'a> {
    pub(crate) fn client<F>(nodename: Arc<str>, client: F, mut config: Config) -> Self
    where
        F: Future<Output = Result> + 'static,
    {
        let (tokio, local) = init(&mut config);

        let handle = with(&tokio, &local, || tokio::task::spawn_local(client));
        let wake = config.wake();

        Self {
            kind: Kind::Client,
            tokio,
            local,
            nodename,
            handle: Some(handle),
            waker: Waker::from(wake.clone()),
            wake,
            config,
        }
    }

    pub(crate) fn host<F, Fut>(nodename: Arc<str>, software: F, mut config: Config) -> Self
    where
        F: Fn() -> Fut + 'a,
        Fut: Future<Output = Result> + 'static,
    {
        let (tokio, local) = init(&mut config);

        let software: Software = Box::new(move || Box::pin(software()));
        let handle = with(&tokio, &local, || tokio::task::spawn_local(software()));
        let wake = config.wake();

        Self {
            kind: Kind::Host { software },
            tokio,
            local,
            nodename,
            handle: Some(handle),
            waker: Waker::from(wake.clone()),
            wake,
            config,
        }
    }

    pub(crate) fn no_software() -> Self {
        let mut config = Config::default();
        let (tokio, local) = init(&mut config);
        let wake = config.wake();

        Self {
            kind: Kind::NoSoftware,
            tokio,
            local,
            nodename: String::new().into(),
            handle: None,
            waker: Waker::from(wake.clone()),
            wake,
            config,
        }
    }

    pub(crate) fn is_client(&self) -> bool {
        matches!(self.kind, Kind::Client)
    }

    fn is_host(&self) -> bool {
        matches!(self.kind, Kind::Host { .. })
    }

    pub(crate) fn is_software_running(&self) -> bool {
        self.handle.is_some()
    }

    pub(crate) fn now(&self) -> Instant {
        let _guard = self.tokio.enter();
        Instant::now()
    }

    // This method is called by [`Sim::run`], which iterates through all the
    // runtimes and ticks each one. The magic of this method is described in the
    // documentation for [`LocalSet::run_until`], but it may not be entirely
    // obvious how things fit together.
    //
    // A [`LocalSet`] tracks the tasks to run, which may in turn spawn more
    // tasks. `run_until` drives a top level task to completion, but not its
    // children. If you look below, you may be confused. The task we run here
    // just sleeps and has no children! However, it's the _same `LocalSet`_ that
    // is used to run software on the host.
    //
    // In this way, every time `tick` is called, the following unfolds:
    //
    // 1. Time advances on the runtime
    // 2. We schedule a new task that simply sleeps
    // 3. Other tasks on the `LocalSet` get a chance to run
    // 4. The sleep finishes
    // 5. The runtime pauses
    //
    // Returns whether the software has finished successfully or the error
    // that caused failure. Subsequent calls do not return the error as it is
    // expected to fail the simulation.
    pub(crate) fn tick(&mut self, duration: Duration) -> Result<bool> {
        self.tick_at(duration, None)
    }

    /// mqsim patch: [`Self::tick`] for a host whose clock reads simulated
    /// time `sim`, with its clock watched.
    pub(crate) fn tick_at(&mut self, duration: Duration, watch: Option<Watch>) -> Result<bool> {
        let walk = watch.and_then(|w| {
            if w.walk.is_zero() {
                self.wake.arm(w.now, w.start, w.now + duration);
                None
            } else {
                self.wake.arm(w.now, w.start - w.walk, w.now + w.walk);
                Some(Walk {
                    local: &self.local,
                    by: w.walk,
                    sleep: None,
                    step: (w.start, duration),
                })
            }
        });
        // mqsim patch: polled through the host's `HostWake`.
        let step = pin!(self.local.run_until(StepEnd {
            duration,
            sleep: None,
            wake: &self.wake,
        }));
        self.wake.in_step.store(true, Ordering::Relaxed);
        self.tokio.block_on(Watched {
            wake: &self.wake,
            waker: &self.waker,
            future: step,
            walk,
        });
        self.wake.in_step.store(false, Ordering::Relaxed);
        self.wake.disarm();

        // pull for software completion
        match &self.handle {
            Some(handle) if handle.is_finished() => {
                // Consume handle to extract task result
                if let Some(h) = self.handle.take() {
                    match self.tokio.block_on(h) {
                        // If the host was crashed the JoinError is cancelled, which
                        // needs to be handled to not fail the simulation.
                        Err(je) if je.is_cancelled() => {}
                        res => res??,
                    }
                };
                Ok(true)
            }
            Some(_) => Ok(false),
            None => Ok(true),
        }
    }

    /// mqsim patch: moves this host's paused clock on by `by`, from
    /// simulated time `sim`, without running any of its tasks, so a host
    /// skipped while idle starts its next step at the simulation's time. No
    /// timer of the host's the simulation knows of is due in that time (that
    /// is why it was skipped); the clock is walked, not set, so that the
    /// watch catches one it does not know of.
    pub(crate) fn walk_clock(&mut self, by: Duration, sim: Duration) {
        if by.is_zero() {
            return;
        }
        let now = self.now();
        self.wake.arm(now, sim, now + by);
        self.wake.in_step.store(true, Ordering::Relaxed);
        let done = pin!(std::future::pending::<()>());
        self.tokio.block_on(Watched {
            wake: &self.wake,
            waker: &self.waker,
            future: done,
            walk: Some(Walk {
                local: &self.local,
                by,
                sleep: None,
                step: (sim + by, Duration::ZERO),
            }),
        }
        .until_walked());
        self.wake.in_step.store(false, Ordering::Relaxed);
        self.wake.disarm();
    }

    pub(crate) fn crash(&mut self) {
        if !self.is_host() {
            panic!("can only crash host's software");
        }

        if self.handle.take().is_some() {
            self.cancel_tasks();
        };
    }

    pub(crate) fn bounce(&mut self) {
        if !self.is_host() {
            panic!("can only bounce host's software");
        }

        self.cancel_tasks();

        if let Kind::Host { software } = &self.kind {
            let handle = with(&self.tokio, &self.local, || {
                tokio::task::spawn_local(software())
            });
            self.handle.replace(handle);
        };
    }

    /// Cancel all tasks within the [`Rt`] by dropping the current tokio
    /// [`Runtime`].
    ///
    /// Dropping the runtime blocks the calling thread until all futures have
    /// completed, which is desired here to ensure host software completes and
    /// all resources are dropped.
    ///
    /// Both the [`Runtime`] and [`LocalSet`] are replaced with new instances.
    fn cancel_tasks(&mut self) {
        let (tokio, local) = init(&mut self.config);

        _ = mem::replace(&mut self.tokio, tokio);
        drop(mem::replace(&mut self.local, local));
    }
}

fn init(config: &mut Config) -> (Runtime, LocalSet) {
    let mut tokio_builder = tokio::runtime::Builder::new_current_thread();

    #[cfg(tokio_unstable)]
    tokio_builder.unhandled_panic(tokio::runtime::UnhandledPanic::ShutdownRuntime);

    if config.enable_io {
        tokio_builder.enable_io();
    }

    if let Some(wake) = &config.wake {
        let before = wake.clone();
        tokio_builder.on_thread_park(move || before.before_park());
        let after = wake.clone();
        tokio_builder.on_thread_unpark(move || after.after_park());
    }

    #[cfg(tokio_unstable)]
    if let Some(rng) = &mut config.rng {
        let bytes: [u8; 32] = rand::Rng::random(rng);
        let seed = tokio::runtime::RngSeed::from_bytes(&bytes);
        tokio_builder.rng_seed(seed);
    }

    let tokio = tokio_builder
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();

    tokio.block_on(async {
        // Sleep to "round" `Instant::now()` to the closest `ms`
        tokio::time::sleep(Duration::from_millis(1)).await;
    });

    (tokio, new_local())
}

fn new_local() -> LocalSet {
    #[cfg(not(tokio_unstable))]
    let local = LocalSet::new();

    #[cfg(tokio_unstable)]
    let mut local = LocalSet::new();

    #[cfg(tokio_unstable)]
    local.unhandled_panic(tokio::runtime::UnhandledPanic::ShutdownRuntime);

    local
}

fn with<R>(tokio: &Runtime, local: &LocalSet, f: impl FnOnce() -> R) -> R {
    tokio.block_on(async { local.run_until(async { f() }).await })
}

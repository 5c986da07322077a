use std::future::Future;
use std::mem;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use rand::rngs::SmallRng;
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;
use tokio::task::LocalSet;
use tokio::time::{sleep, Duration, Instant};

use super::Result;

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

    /// mqsim patch: the host's wake (see [`HostWake`]).
    pub(crate) wake: Option<Arc<HostWake>>,

    /// mqsim patch: the runtime every host's tasks run in when idle hosts
    /// are skipped; its context is where a host's software is made.
    pub(crate) shared: Option<tokio::runtime::Handle>,
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
    /// (mqsim patch: with idle hosts skipped, the host's tasks run in the
    /// simulation's shared runtime instead; this one is not driven.)
    tokio: Runtime,

    /// Local task set used for running !Send tasks. (mqsim patch: with idle
    /// hosts skipped, all of the host's tasks: dropping it cancels them.)
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
            .unwrap_or_else(|| HostWake::new(usize::MAX, Default::default()))
    }
}

/// mqsim patch: the waker a host's [`LocalSet`] is polled with, so the
/// simulation learns when something outside the host (a message delivered, a
/// task on another host, the driver) makes one of its tasks runnable.
///
/// While the host runs, a wake is noted in `woken` (and, in a lock-step
/// `block_on`, passed on to the runtime's own waker); the host polls its
/// tasks until a poll leaves `woken` unset. While the host is idle, a wake
/// puts the host on the `ready` list that the simulation reads between
/// hosts.
pub(crate) struct HostWake {
    index: usize,
    woken: AtomicBool,
    in_step: AtomicBool,
    runtime: Mutex<Option<Waker>>,
    ready: Arc<Mutex<Vec<usize>>>,
}

impl HostWake {
    pub(crate) fn new(index: usize, ready: Arc<Mutex<Vec<usize>>>) -> Arc<HostWake> {
        Arc::new(HostWake {
            index,
            woken: AtomicBool::new(false),
            in_step: AtomicBool::new(false),
            runtime: Mutex::new(None),
            ready,
        })
    }
}

impl Wake for HostWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
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
    /// The sleep that ends a host's lock-step step, polled with the
    /// runtime's own waker so that its firing is not taken for a task's
    /// wake.
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

/// Polls a host's lock-step step with its [`HostWake`].
struct Watched<'w, F> {
    wake: &'w HostWake,
    waker: &'w Waker,
    future: Pin<&'w mut F>,
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
        self.wake.woken.store(false, Ordering::Relaxed);
        let waker = self.waker;
        self.future.as_mut().poll(&mut Context::from_waker(waker))
    }
}

impl<'a> Rt<'a> {
    pub(crate) fn client<F>(nodename: Arc<str>, client: F, mut config: Config) -> Self
    where
        F: Future<Output = Result> + 'static,
    {
        let (tokio, local) = init(&mut config);

        let handle = spawn(&tokio, &local, config.shared.as_ref(), || client);
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
        let handle = spawn(&tokio, &local, config.shared.as_ref(), &software);
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
        {
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
            });
        }
        self.wake.in_step.store(false, Ordering::Relaxed);
        self.software_finished()
    }

    /// mqsim patch (shared runtime): runs the host's tasks, inside the
    /// simulation's one runtime, until none is runnable or
    /// [`BATCHES_PER_PARK`] batches ran. Returns true if a task is still
    /// runnable: the runtime must park (to wake what is deferred) and the
    /// host run again.
    pub(crate) fn run_batches(&mut self) -> bool {
        let (wake, local, waker) = (&*self.wake, &self.local, &self.waker);
        wake.in_step.store(true, Ordering::Relaxed);
        let mut more = false;
        for _ in 0..BATCHES_PER_PARK {
            wake.woken.store(false, Ordering::Relaxed);
            let run = pin!(local.run_until(std::future::pending::<()>()));
            let _ = run.poll(&mut Context::from_waker(waker));
            more = wake.woken.load(Ordering::Relaxed);
            if !more {
                break;
            }
        }
        wake.in_step.store(false, Ordering::Relaxed);
        wake.woken.store(false, Ordering::Relaxed);
        more
    }

    /// Whether the software finished (Err if it failed), taking its result.
    /// mqsim patch: the finished task's handle is polled, not blocked on, as
    /// this runs inside the simulation's runtime when idle hosts are skipped.
    pub(crate) fn software_finished(&mut self) -> Result<bool> {
        match &self.handle {
            Some(handle) if handle.is_finished() => {
                let mut h = self.handle.take().expect("matched");
                // Unconstrained: the budget of the `block_on` this runs in
                // may be spent (many hosts finish in one step).
                let h = pin!(tokio::task::coop::unconstrained(&mut h));
                match h.poll(&mut Context::from_waker(Waker::noop())) {
                    // If the host was crashed the JoinError is cancelled, which
                    // needs to be handled to not fail the simulation.
                    Poll::Ready(Err(je)) if je.is_cancelled() => {}
                    Poll::Ready(res) => res??,
                    Poll::Pending => unreachable!("a finished task's handle is ready"),
                }
                Ok(true)
            }
            Some(_) => Ok(false),
            None => Ok(true),
        }
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
            let shared = self.config.shared.as_ref();
            let handle = spawn(&self.tokio, &self.local, shared, software);
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
    /// (mqsim patch: with idle hosts skipped, the tasks live in the
    /// `LocalSet`, whose drop cancels them.)
    fn cancel_tasks(&mut self) {
        let (tokio, local) = init(&mut self.config);

        _ = mem::replace(&mut self.tokio, tokio);
        drop(mem::replace(&mut self.local, local));
    }
}

thread_local! {
    /// mqsim patch: whether the simulation's shared runtime runs on this
    /// thread (idle hosts skipped), whose hosts' tasks live in their
    /// `LocalSet`s.
    static IN_SHARED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// mqsim patch: marks the shared runtime as running for as long as it
/// lives, then restores what was marked before (a simulation inside
/// another's host).
pub(crate) struct SharedRunning(bool);

impl SharedRunning {
    pub(crate) fn enter() -> SharedRunning {
        SharedRunning(IN_SHARED.with(|s| s.replace(true)))
    }
}

impl Drop for SharedRunning {
    fn drop(&mut self) {
        IN_SHARED.with(|s| s.set(self.0));
    }
}

/// mqsim patch: spawns a task of the current host's: on the host's
/// `LocalSet` when the hosts share a runtime (a task on the runtime itself
/// would run in no host), else on the host's own runtime.
pub(crate) fn spawn_on_host<F>(future: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    if IN_SHARED.with(|s| s.get()) {
        tokio::task::spawn_local(future);
    } else {
        tokio::spawn(future);
    }
}

/// mqsim patch: the one runtime the hosts' tasks run in when idle hosts
/// are skipped (see `Sim::step_hosts_with_work`).
pub(crate) fn shared_runtime(rng: SmallRng) -> Runtime {
    let mut config = Config {
        rng: Some(rng),
        ..Config::default()
    };
    init(&mut config).0
}

fn init(config: &mut Config) -> (Runtime, LocalSet) {
    let mut tokio_builder = tokio::runtime::Builder::new_current_thread();

    #[cfg(tokio_unstable)]
    tokio_builder.unhandled_panic(tokio::runtime::UnhandledPanic::ShutdownRuntime);

    if config.enable_io {
        tokio_builder.enable_io();
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

/// Makes a host's software and spawns it on the host's `LocalSet`. mqsim
/// patch: with a shared runtime (idle hosts skipped) it is made in that
/// runtime's context, where it will run, not in the host's own.
fn spawn<F>(
    tokio: &Runtime,
    local: &LocalSet,
    shared: Option<&tokio::runtime::Handle>,
    make: impl FnOnce() -> F,
) -> JoinHandle<Result>
where
    F: Future<Output = Result> + 'static,
{
    match shared {
        Some(shared) => {
            let _entered = shared.enter();
            local.spawn_local(make())
        }
        None => with(tokio, local, || tokio::task::spawn_local(make())),
    }
}

/// How many `LocalSet` batches [`Rt::run_batches`] runs before the runtime parks.
const BATCHES_PER_PARK: usize = 16;

/// mqsim patch: the error for a timer made outside `crate::time`.
pub(crate) fn unseen_timer(host: &str, from: Duration, to: Duration) -> String {
    format!(
        "host {host}: a timer the simulation cannot see (a bare tokio::time \
         sleep, timeout or interval?) woke it while it had no work; it was due \
         between {from:?} and {to:?}; with idle hosts skipped a host's timers \
         must come from turmoil::time, or the host is not woken for them"
    )
}

//! The actors of one's own a scenario can name: a [`Registry`] maps names
//! to constructors, and a [`Pipeline`](crate::Pipeline) built with it runs
//! whichever the scenario names (`[consumer] handler = "…"`).

use crate::common::handler::{DynHandler, Handler, HandlerFactory, StoreWriter};
use crate::common::policy::{
    Backpressure, Bound, CircuitBreaker, LagPolicy, PolicyFactory, SilentDrop, Unbounded,
};
use crate::common::store_model::{DynStoreModel, LatencyStore, StoreFactory, StoreModel};
use harness::model::HostEnv;
use harness::scenario::{Actors, BrokerKind, Policy, PolicyKind, BUILTIN_HANDLER, BUILTIN_STORE};
use std::rc::Rc;
use std::sync::Arc;

/// A name a scenario file and the command line can spell: letters, digits,
/// `_`, `-` and `.` (no spaces or commas: `--policy a,b` lists names).
fn valid_name(what: &str, name: &str) {
    assert!(
        !name.is_empty() && (name.chars()).all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)),
        "a {what}'s name must be letters, digits, '_', '-' or '.', found {name:?}"
    );
}

/// Builds one handler: called on the simulation's thread, once per
/// consumer incarnation.
type MakeHandler = Arc<dyn Fn() -> Rc<dyn DynHandler> + Send + Sync>;

/// Builds one lag policy from the scenario's `[policy]`: called on the
/// simulation's thread, once per broker and consumer incarnation.
type MakePolicy = Arc<dyn Fn(&Policy) -> Rc<dyn LagPolicy> + Send + Sync>;

/// Builds one store model: once per store node incarnation.
type MakeStore = Arc<dyn Fn() -> Rc<dyn DynStoreModel> + Send + Sync>;

/// Named constructors of consumer handlers, lag policies and store models
/// a scenario can refer to by name. Cheap to clone; shared by the threads
/// a sweep runs on. (Examples: the `mqsim` crate's `consumer`, `policy`
/// and `store` modules.)
#[derive(Clone, Default)]
pub struct Registry {
    handlers: Vec<(String, MakeHandler)>,
    policies: Vec<(String, MakePolicy)>,
    stores: Vec<(String, MakeStore)>,
}

impl Registry {
    /// A registry with nothing registered: scenarios can name only mqsim's
    /// own actors.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Registers `make` as the handler named `name`, which a scenario runs
    /// with `[consumer] handler = "name"`. Each consumer incarnation gets
    /// its own handler (a restart loses what the old one held in memory).
    ///
    /// # Panics
    ///
    /// If `name` is not letters, digits, `_`, `-` or `.`, is mqsim's own
    /// handler's name, or is already registered: a mistake in the test's
    /// set-up, not in its input.
    pub fn handler<H, F>(mut self, name: &str, make: F) -> Registry
    where
        H: Handler + 'static,
        F: Fn() -> H + Send + Sync + 'static,
    {
        valid_name("handler", name);
        assert!(
            name != BUILTIN_HANDLER,
            "\"{name}\" is mqsim's own handler; register yours under another name"
        );
        assert!(
            self.handlers.iter().all(|(n, _)| n != name),
            "a handler named \"{name}\" is already registered"
        );
        let make: MakeHandler = Arc::new(move || Rc::new(make()) as Rc<dyn DynHandler>);
        self.handlers.push((name.to_string(), make));
        self
    }

    /// Registers `make` as the lag policy named `name`, which a scenario
    /// runs with `[policy] kind = "name"` (or `--policy name`), and
    /// `mqsim compare` beside the built-in ones. `make` gets the scenario's
    /// `[policy]` (its `max_lag`, `max_lag_age`, `[policy.breaker]`), once
    /// for each broker and consumer incarnation.
    ///
    /// # Panics
    ///
    /// If `name` is not letters, digits, `_`, `-` or `.`, is a built-in
    /// policy's or a metric's name, or is already registered.
    pub fn policy<P, F>(mut self, name: &str, make: F) -> Registry
    where
        P: LagPolicy + 'static,
        F: Fn(&Policy) -> P + Send + Sync + 'static,
    {
        valid_name("policy", name);
        assert!(
            harness::scenario::Metric::from_name(name).is_none(),
            "\"{name}\" is a metric's name: [expect.{name}] would be its bound, not the policy's table"
        );
        assert!(
            PolicyKind::from_name(name).is_none(),
            "\"{name}\" is a built-in policy; register yours under another name"
        );
        assert!(
            self.policies.iter().all(|(n, _)| n != name),
            "a policy named \"{name}\" is already registered"
        );
        let make: MakePolicy = Arc::new(move |p: &Policy| Rc::new(make(p)) as Rc<dyn LagPolicy>);
        self.policies.push((name.to_string(), make));
        self
    }

    /// Registers `make` as the store model named `name`, which a scenario
    /// runs with `[store] model = "name"`: every store node serves reads
    /// and writes with it, behind the same fault knobs (`slow_storage`
    /// through `Node::io`, crashes, partitions). Each node incarnation gets
    /// its own (a crash loses what it kept in memory; applied ids are
    /// durable).
    ///
    /// # Panics
    ///
    /// If `name` is not letters, digits, `_`, `-` or `.`, is mqsim's own
    /// store model's name, or is already registered.
    pub fn store<S, F>(mut self, name: &str, make: F) -> Registry
    where
        S: StoreModel + 'static,
        F: Fn() -> S + Send + Sync + 'static,
    {
        valid_name("store model", name);
        assert!(
            name != BUILTIN_STORE,
            "\"{name}\" is mqsim's own store model; register yours under another name"
        );
        assert!(
            self.stores.iter().all(|(n, _)| n != name),
            "a store model named \"{name}\" is already registered"
        );
        let make: MakeStore = Arc::new(move || Rc::new(make()) as Rc<dyn DynStoreModel>);
        self.stores.push((name.to_string(), make));
        self
    }

    /// The factory of the store model `name` (mqsim's own for
    /// [`BUILTIN_STORE`]); None if nothing is registered under it.
    pub(crate) fn store_factory(&self, name: &str) -> Option<StoreFactory> {
        if name == BUILTIN_STORE {
            return Some(Rc::new(|_: &HostEnv| -> Rc<dyn DynStoreModel> {
                Rc::new(LatencyStore)
            }));
        }
        let make = self.stores.iter().find(|(n, _)| n == name)?.1.clone();
        Some(Rc::new(move |_: &HostEnv| make()))
    }

    /// The names a scenario may use, for validation.
    pub fn actors(&self) -> Actors {
        Actors {
            handlers: self.handlers.iter().map(|(n, _)| n.clone()).collect(),
            policies: self.policies.iter().map(|(n, _)| n.clone()).collect(),
            stores: self.stores.iter().map(|(n, _)| n.clone()).collect(),
        }
    }

    /// The lag policy `policy.kind` names: a built-in one, or a registered
    /// one; None if nothing is registered under a name of one's own.
    fn lag_policy(&self, policy: &Policy) -> Option<Rc<dyn LagPolicy>> {
        let bound = Bound::of(policy);
        Some(match policy.kind {
            PolicyKind::SilentDrop => Rc::new(SilentDrop(bound)),
            PolicyKind::CircuitBreaker => Rc::new(CircuitBreaker {
                bound,
                breaker: policy.breaker.clone(),
            }),
            PolicyKind::Backpressure => Rc::new(Backpressure(bound)),
            PolicyKind::Unbounded => Rc::new(Unbounded),
            PolicyKind::Custom(name) => {
                let (_, make) = self.policies.iter().find(|(n, _)| n == name)?;
                make(policy)
            }
        })
    }

    /// Builds each host's lag policy from its own scenario's `[policy]` (a
    /// buffer's hosts run `unbounded`).
    pub(crate) fn policy_factory(&self) -> PolicyFactory {
        let registry = self.clone();
        Rc::new(move |env: &HostEnv| {
            let policy = &env.scenario.policy;
            registry.lag_policy(policy).unwrap_or_else(|| {
                panic!(
                    "policy.kind: no lag policy named {:?} is registered with this pipeline",
                    policy.kind.name()
                )
            })
        })
    }

    /// The factory of the handler `name` (mqsim's own for
    /// [`BUILTIN_HANDLER`]); None if nothing is registered under it.
    pub(crate) fn handler_factory(&self, name: &str) -> Option<HandlerFactory> {
        if name == BUILTIN_HANDLER {
            return Some(Rc::new(|env: &HostEnv| -> Rc<dyn DynHandler> {
                // A log consumer retries an unanswered store call in place;
                // a queue consumer fails the message back to the queue.
                let retry_unanswered = env.scenario.broker.kind == BrokerKind::Log;
                Rc::new(StoreWriter { retry_unanswered })
            }));
        }
        let make = self.handlers.iter().find(|(n, _)| n == name)?.1.clone();
        Some(Rc::new(move |_: &HostEnv| make()))
    }
}

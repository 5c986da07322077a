//! Scenario text → validated [`Scenario`].
//!
//! The text is parsed into a `toml::Table` (a syntax error is reported with its
//! line and column), then walked: the declared keys of each table through
//! their generated `read` (`tables.rs`, `walk.rs`), the rules between keys and
//! the structured tables (faults, `[expect]`, bursts, skew, swarm, scale) by
//! the code here, all in one pass that collects every error of the file
//! (every unknown field, every bad value, across all tables) before giving
//! up; only a file without errors is converted. The walk never panics on any
//! input.

use super::raw::{
    RawBurst, RawFault, RawScale, RawSwarm, Schema, FAULT_KIND_FIELDS, REPEAT_FIELDS,
};
use super::tables::*;
use super::tables::{
    RawBreakerConfig as RawBreaker, RawBroker, RawBuffer, RawConsumer, RawNetwork, RawPolicy,
    RawScenario, RawStore, RawTopology, RawWorkload,
};
use super::types::*;
use crate::history::MsgId;
use crate::metric::{Class, Expectation, Metric, Scope, GROUP_METRICS};
use crate::units::{format_duration, parse_rate};
use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::{Table, Value};

/// The default of a count `[scale]` may list; `None` when an absent field
/// means "no bound" (`policy.max_lag`), which scaling leaves absent.
fn count_default(c: ScaleCount) -> Option<u32> {
    match c {
        ScaleCount::Partitions => Some(DEFAULT_PARTITIONS),
        ScaleCount::Stores => Some(DEFAULT_STORES),
        ScaleCount::Producers => Some(DEFAULT_PRODUCERS),
        ScaleCount::Keys => Some(DEFAULT_KEYS),
        ScaleCount::Workers => Some(DEFAULT_WORKERS),
        ScaleCount::MaxLag => None,
    }
}

/// Every problem found in one scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file, as given.
    pub file: PathBuf,
    /// Every error found, in the order found.
    pub errors: Vec<FieldError>,
}

impl fmt::Display for ScenarioError {
    /// One line per error: `{file}: {path}: {message}`, or
    /// `{file}:{line}:{col}: {message}` for a syntax error.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            if e.path.is_empty() {
                write!(f, "{file}: {}", e.message)?;
            } else if is_position(&e.path) {
                write!(f, "{file}:{}: {}", e.path, e.message)?;
            } else {
                write!(f, "{file}: {}: {}", e.path, e.message)?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

/// `line:col`; field paths never look like this (odd keys are quoted).
fn is_position(path: &str) -> bool {
    match path.split_once(':') {
        Some((l, c)) => {
            !l.is_empty()
                && !c.is_empty()
                && l.bytes().all(|b| b.is_ascii_digit())
                && c.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

/// What the command line changes in a scenario file before it is validated
/// (`--policy`, `--scale`). Applied to the TOML tree, so the result is checked
/// like any file, limits included, and errors name the field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    /// Replaces `policy.kind` (the `[policy]` table is created if absent).
    pub policy: Option<PolicyKind>,
    /// Multiplies every workload rate and the counts `[scale] counts` lists;
    /// 1 to [`MAX_SCALE`], 1 changing nothing.
    pub scale: Option<u32>,
    /// The actors of its own the model that will run the scenario has
    /// registered: names the file may use besides mqsim's.
    pub actors: Actors,
}

/// Reads and validates the scenario file at `path`.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    load_with(path, &Overrides::default())
}

/// Reads the scenario file at `path`, applies `o` and validates the result.
pub fn load_with(path: &Path, o: &Overrides) -> Result<Scenario, ScenarioError> {
    let fail = |message: String| ScenarioError {
        file: path.to_path_buf(),
        errors: vec![FieldError {
            path: String::new(),
            message,
        }],
    };
    if path.is_dir() {
        return Err(fail("cannot read: is a directory".to_string()));
    }
    match std::fs::read_to_string(path) {
        Ok(text) => parse_with(path, &text, o),
        Err(e) => Err(fail(match e.kind() {
            std::io::ErrorKind::NotFound => "cannot read: no such file".to_string(),
            std::io::ErrorKind::InvalidData => {
                "cannot read: the file is not UTF-8 text".to_string()
            }
            _ => format!("cannot read: {e}"),
        })),
    }
}

/// Parses and validates scenario `text`; `file` is only used in messages.
pub fn parse(file: &Path, text: &str) -> Result<Scenario, ScenarioError> {
    parse_with(file, text, &Overrides::default())
}

/// Parses scenario `text`, applies `o` to its tree and validates the result;
/// `file` is only used in messages.
///
/// With `--scale K` the file is first validated as written (its own errors
/// are reported as usual), then its rates and listed counts are multiplied
/// in the tree and it is validated again: an error only the scaling caused
/// says so, e.g. `found 160 (8 × --scale 20)`.
pub fn parse_with(file: &Path, text: &str, o: &Overrides) -> Result<Scenario, ScenarioError> {
    let fail = |errors: Vec<FieldError>| ScenarioError {
        file: file.to_path_buf(),
        errors,
    };
    let internal = || {
        fail(vec![FieldError {
            path: String::new(),
            message: "internal error: the scenario was rejected without a reason".to_string(),
        }])
    };
    let mut root = match text.parse::<Table>() {
        Ok(t) => t,
        Err(e) => return Err(fail(vec![syntax_error(text, &e)])),
    };
    let mut errors = Vec::new();
    let k = match o.scale {
        None => 1,
        Some(k) if (1..=MAX_SCALE).contains(&k) => k,
        Some(k) => {
            errors.push(FieldError {
                path: "--scale".to_string(),
                message: format!("expected a scale from 1 to {MAX_SCALE}, found {k}"),
            });
            1
        }
    };
    if let Some(kind) = o.policy {
        override_policy(&mut root, kind);
    }
    let check = || Check {
        policy_from_cli: o.policy.is_some(),
        actors: o.actors.clone(),
        ..Check::default()
    };
    let mut c = check();
    let scenario = c.scenario(&root);
    errors.extend(c.errors);
    if !errors.is_empty() {
        return Err(fail(errors));
    }
    let mut scenario = scenario.ok_or_else(internal)?;
    if k > 1 {
        let notes = match scale_tree(&mut root, k, &scenario.scale_counts) {
            Ok(notes) => notes,
            Err(errors) => return Err(fail(errors)),
        };
        let mut c = check();
        let scaled = c.scenario(&root);
        if !c.errors.is_empty() {
            for e in &mut c.errors {
                match notes.iter().find(|(p, _)| *p == e.path) {
                    Some((_, note)) => e.message += &format!(" ({note})"),
                    None => e.message += &format!(" (after --scale {k})"),
                }
            }
            return Err(fail(c.errors));
        }
        scenario = scaled.ok_or_else(internal)?;
    }
    scenario.scale = k;
    Ok(scenario)
}

/// `--policy`: sets `policy.kind`, creating `[policy]` if needed. A
/// `policy` that is not a table is left alone for the walk to report.
fn override_policy(root: &mut Table, kind: PolicyKind) {
    let entry = root
        .entry("policy")
        .or_insert_with(|| Value::Table(Table::new()));
    if let Value::Table(t) = entry {
        t.insert("kind".to_string(), Value::String(kind.name().to_string()));
    }
}

/// `--scale k` on a tree that validated unscaled: multiplies the workload
/// rates (workload.rate, each burst's rate, swarm.rate) and the listed
/// counts, writing defaults out where a listed field is absent. Returns, for
/// each path it changed, the note an error there carries ("8 × --scale 20").
fn scale_tree(
    root: &mut Table,
    k: u32,
    counts: &[ScaleCount],
) -> Result<Vec<(String, String)>, Vec<FieldError>> {
    let mut notes: Vec<(String, String)> = Vec::new();
    let mut errors = Vec::new();
    let kk = u64::from(k);
    let scaled = |r: u64| format!("{}/s", r.saturating_mul(kk));
    // [workload] rate and bursts.
    if let Value::Table(w) = root
        .entry("workload")
        .or_insert_with(|| Value::Table(Table::new()))
    {
        let (r, note) = match w.get("rate") {
            Some(Value::String(s)) => match parse_rate(s) {
                Ok(r) => (Some(r), format!("{r}/s × --scale {k}")),
                Err(_) => (None, String::new()),
            },
            None => (
                Some(DEFAULT_RATE_PER_S),
                format!("default {DEFAULT_RATE_PER_S}/s × --scale {k}"),
            ),
            Some(_) => (None, String::new()),
        };
        if let Some(r) = r {
            w.insert("rate".to_string(), Value::String(scaled(r)));
            notes.push(("workload.rate".to_string(), note));
        }
        if let Some(Value::Array(bursts)) = w.get_mut("bursts") {
            for (i, b) in bursts.iter_mut().enumerate() {
                let Value::Table(b) = b else { continue };
                if let Some(Value::String(s)) = b.get("rate") {
                    if let Ok(r) = parse_rate(s) {
                        b.insert("rate".to_string(), Value::String(scaled(r)));
                        notes.push((
                            format!("workload.bursts[{i}].rate"),
                            format!("{r}/s × --scale {k}"),
                        ));
                    }
                }
            }
        }
    }
    // [swarm] rate range (absent: the workload's rate, scaled above).
    if let Some(Value::Table(sw)) = root.get_mut("swarm") {
        if let Some(Value::String(s)) = sw.get("rate") {
            let ends = s
                .split_once("..")
                .and_then(|(a, b)| Some((parse_rate(a).ok()?, parse_rate(b).ok()?)));
            if let Some((lo, hi)) = ends {
                let v = format!("{}..{}", scaled(lo), scaled(hi));
                sw.insert("rate".to_string(), Value::String(v));
                notes.push((
                    "swarm.rate".to_string(),
                    format!("{lo}/s..{hi}/s × --scale {k}"),
                ));
            }
        }
    }
    // The listed counts.
    for c in counts {
        let path = c.path();
        let Some((section, key)) = path.split_once('.') else {
            continue;
        };
        let Value::Table(t) = root
            .entry(section)
            .or_insert_with(|| Value::Table(Table::new()))
        else {
            continue;
        };
        let (n, note) = match (t.get(key), count_default(*c)) {
            (Some(Value::Integer(n)), _) => (*n, format!("{n} × --scale {k}")),
            (None, Some(d)) => (i64::from(d), format!("default {d} × --scale {k}")),
            _ => continue,
        };
        match n.checked_mul(i64::from(k)) {
            Some(v) => {
                t.insert(key.to_string(), Value::Integer(v));
                notes.push((path.to_string(), note));
            }
            None => errors.push(FieldError {
                path: path.to_string(),
                message: format!(
                    "expected an integer that can be scaled, found {n} ({note} is beyond the largest integer)"
                ),
            }),
        }
    }
    if errors.is_empty() {
        Ok(notes)
    } else {
        Err(errors)
    }
}

mod expect;
mod faults;
mod tables;
#[cfg(test)]
mod tests;

use super::convert::*;
pub use super::limits::*;
pub use super::walk::FieldError;
use super::walk::*;
use expect::*;
pub(crate) use faults::overlaps;

fn syntax_error(text: &str, e: &toml::de::Error) -> FieldError {
    let lines: Vec<&str> = e
        .message()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let message = if lines.is_empty() {
        "invalid TOML syntax".to_string()
    } else {
        format!("invalid TOML: {}", lines.join("; "))
    };
    let path = match e.span() {
        Some(span) => {
            let (line, col) = line_col(text, span.start);
            format!("{line}:{col}")
        }
        None => String::new(),
    };
    FieldError { path, message }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let (mut line, mut col) = (1, 1);
    for (i, ch) in text.char_indices() {
        if i >= offset {
            break;
        }
        if ch == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    (line, col)
}

// ---------------------------------------------------------------------------
// The walk

/// Host counts per role (`None` when the count itself was invalid: indices of
/// that role are then not range-checked, the file is rejected anyway).
struct Counts {
    brokers: Option<u32>,
    stores: Option<u32>,
    producers: Option<u32>,
    consumers: Option<u32>,
    /// 1 for a log cluster (`controller-0`), 0 for a queue cluster.
    controllers: Option<u32>,
    buffers: Option<u32>,
    relays: Option<u32>,
}

impl Counts {
    fn of(&self, role: Role) -> Option<u32> {
        match role {
            Role::Broker => self.brokers,
            Role::Store => self.stores,
            Role::Producer => self.producers,
            Role::Consumer => self.consumers,
            Role::Controller => self.controllers,
            Role::Buffer => self.buffers,
            Role::Relay => self.relays,
        }
    }

    fn role(&self, role: Role) -> Vec<Host> {
        (0..self.of(role).unwrap_or(0))
            .map(|i| Host::new(role, i))
            .collect()
    }

    fn all(&self) -> Vec<Host> {
        Role::ALL.iter().flat_map(|r| self.role(*r)).collect()
    }

    fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = vec!["all".to_string()];
        v.extend(Role::ALL.iter().map(|r| r.plural().to_string()));
        v.extend(self.all().iter().map(Host::to_string));
        v
    }
}

impl Check {
    fn scenario(&mut self, root: &Table) -> Option<Scenario> {
        let top = Fields {
            path: String::new(),
            schema: "scenario",
            table: Some(root),
        };
        self.unknown_keys(&top, &RawScenario::fields());
        self.broker = peek_broker_kind(root);
        self.broker_given =
            matches!(root.get("broker"), Some(Value::Table(b)) if b.contains_key("kind"));
        self.dead_letter = None;
        const LOG: BrokerKind = BrokerKind::Log;
        const QUEUE: BrokerKind = BrokerKind::Queue;
        let mut scenario = Scenario::read(self, &top);
        let (duration, drain, tick) = (scenario.duration, scenario.drain, scenario.tick);
        let sample_interval = &mut scenario.sample_interval;
        if let Some(s) = *sample_interval {
            let default = if top.has("sample_interval") {
                ""
            } else {
                " (the default)"
            };
            if let Some(t) = tick.filter(|t| s < *t) {
                self.err(
                    top.at("sample_interval"),
                    format!(
                        "expected at least tick ({}), found {}{default}",
                        format_duration(t),
                        format_duration(s)
                    ),
                );
                *sample_interval = None;
            } else if let Some(d) = duration.filter(|d| s > *d) {
                self.err(
                    top.at("sample_interval"),
                    format!(
                        "expected at most duration ({}), found {}{default}",
                        format_duration(d),
                        format_duration(s)
                    ),
                );
                *sample_interval = None;
            }
        }
        if let Some(d) = duration {
            if d > MAX_SIM_TIME {
                self.err(
                    top.at("duration"),
                    format!(
                        "expected at most {} of simulated time, found {}",
                        format_duration(MAX_SIM_TIME),
                        format_duration(d)
                    ),
                );
            } else if let Some(dr) = drain.filter(|dr| d.saturating_add(*dr) > MAX_SIM_TIME) {
                self.err(
                    top.at("drain"),
                    format!(
                        "duration + drain is {}, above the limit of {} of simulated time",
                        format_duration(d.saturating_add(dr)),
                        format_duration(MAX_SIM_TIME)
                    ),
                );
            }
        }

        // [topology]
        let t = self.table(&top, "topology", "topology", &RawTopology::fields());
        let mut topology = Topology::read(self, &t);
        let n_brokers = topology.brokers;
        let partitions = topology.partitions;
        let n_stores = topology.stores;
        // Default min(3, brokers); unknown (and the file rejected) when the
        // broker count is invalid. A queue is mirrored on every broker (given
        // under a queue, the key is reported by the declared walk).
        topology.replication = if self.broker == Some(QUEUE) {
            (!t.has("replication")).then_some(n_brokers).flatten()
        } else if !t.has("replication") {
            n_brokers.map(|b| b.min(3))
        } else {
            match (topology.replication, n_brokers) {
                (Some(r), Some(b)) if r > b => {
                    self.err(
                        t.at("replication"),
                        format!("expected at most topology.brokers ({b}), found {r}"),
                    );
                    None
                }
                (r, _) => r,
            }
        };
        let replication = topology.replication;
        // Judged against the store count only when that is valid.
        topology.store_replication = if !t.has("store_replication") {
            Some(1)
        } else {
            match (topology.store_replication, n_stores) {
                (Some(r), Some(n)) if r > n => {
                    let default = if t.has("stores") { "" } else { ", its default" };
                    self.err(
                        t.at("store_replication"),
                        format!("expected at most topology.stores ({n}{default}), found {r}"),
                    );
                    None
                }
                (r, _) => r,
            }
        };

        // [network]
        let n = self.table(&top, "network", "network", &RawNetwork::fields());
        let network = Network::read(self, &n);

        // [workload]
        let w = self.table(&top, "workload", "workload", &RawWorkload::fields());
        let workload = Workload::read(self, &w);
        let bursts = self.bursts(&w, duration);
        let keys = workload.keys;
        let skew = self.skew(&w, keys, partitions);
        let producers = workload.producers;
        // The whole load, so that a History cannot outgrow memory: refused
        // here, at the field, not as an exit 3 when MAX_EVENTS is reached.
        if let (Some(r), Some(d), Some(bs)) = (workload.rate_per_s, duration, &bursts) {
            let total = total_messages(r, d, bs);
            if total > MAX_MESSAGES {
                self.err(
                    w.at("rate"),
                    format!(
                        "expected a load of at most {MAX_MESSAGES} messages (rate × duration, \
                         with bursts), found {total}"
                    ),
                );
            }
        }

        // [broker]
        let b = self.table(&top, "broker", "broker", &RawBroker::fields());
        let mut broker = Broker::read(self, &b);
        if let (Some(m), Some(r)) = (broker.min_insync, replication) {
            if m > r {
                let default = if t.has("replication") {
                    ""
                } else {
                    ", its default: min(3, topology.brokers)"
                };
                self.err(
                    b.at("min_insync"),
                    format!("expected at most topology.replication ({r}{default}), found {m}"),
                );
                broker.min_insync = None;
            }
        }
        self.dead_letter = broker.queue.max_receives.map(|m| m.is_some());
        let b_processing = broker.processing;

        // [consumer]
        let c = self.table(&top, "consumer", "consumer", &RawConsumer::fields());
        let consumer = Consumer::read(self, &c);
        if let Some(name) = &consumer.handler {
            self.registered_handler(&c, name);
        }
        let workers = consumer.workers;
        let concurrency = consumer.concurrency;
        let c_processing = consumer.processing;

        // [store]
        let s = self.table(&top, "store", "store", &RawStore::fields());
        let store = Store::read(self, &s);
        if let Some(name) = &store.model {
            self.registered_store(&s, name);
        }
        let policy = self.policy(&top);

        let buffer = self.buffer(&top, partitions);
        let (buffers, relays) = match &buffer {
            Some(Some(b)) => (Some(b.brokers), Some(b.relays)),
            Some(None) => (Some(0), Some(0)),
            None => (None, None),
        };
        let counts = Counts {
            brokers: n_brokers,
            stores: n_stores,
            producers,
            consumers: workers,
            controllers: self
                .broker
                .map(|k| u32::from(k == LOG || buffers.is_some_and(|n| n > 0))),
            buffers,
            relays,
        };
        if let (Some(p), Some(c)) = (partitions, concurrency) {
            if p * c > MAX_EFFECT_LANES {
                self.err(
                    "consumer.concurrency".to_string(),
                    format!(
                        "expected topology.partitions × consumer.concurrency at most {MAX_EFFECT_LANES} (each effect lane holds a connection to every store), found {p} × {c} = {}",
                        p * c
                    ),
                );
            }
        }
        let faults = self.faults(&top, duration, &counts);
        if let Some(faults) = &faults {
            for (path, message) in overlaps(faults, duration) {
                self.err(path, message);
            }
            self.cpu_work(faults, c_processing, b_processing);
        }
        let groups = Groups {
            skewed: skew.map(|s| s.is_some()),
            partitions,
            keys,
        };
        let expect = self.expect(&top, policy.as_ref().map(|p| p.kind), groups);
        let swarm = self.swarm(&top, duration);
        let scale_counts = self.scale(&top);
        if let (Some(Some(_)), Some(f)) = (&swarm, &faults) {
            if !f.is_empty() {
                self.err(
                    "swarm".to_string(),
                    "a scenario with [swarm] draws its faults per seed: remove its [[fault]] entries, or remove [swarm]".to_string(),
                );
            }
        }

        let expect = expect?;
        scenario.finish(ScenarioRest {
            topology: topology.finish(),
            network: network.finish(),
            workload: workload.finish(WorkloadRest { bursts, skew }),
            broker: broker.finish(),
            consumer: consumer.finish(),
            store: store.finish(),
            policy,
            faults,
            expect: Some(expect.effective),
            expect_common: Some(expect.common),
            expect_by_policy: Some(expect.by_policy),
            swarm,
            scale_counts,
            buffer,
            scale: Some(1),
        })
    }
}

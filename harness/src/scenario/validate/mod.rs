//! Scenario text → validated [`Scenario`].
//!
//! The text is parsed into a `toml::Table` (a syntax error is reported with its
//! line and column), then walked against the schema of `raw.rs`, collecting
//! every error of the file (every unknown field, every bad value, across all
//! tables) before giving up; only a file without errors is converted. The walk
//! never panics on any input.

use super::raw::{
    RawBreaker, RawBroker, RawBuffer, RawBurst, RawConsumer, RawFault, RawNetwork, RawPolicy,
    RawScale, RawScenario, RawStore, RawSwarm, RawTopology, RawWorkload, Schema, FAULT_KIND_FIELDS,
    REPEAT_FIELDS,
};
use super::types::*;
use crate::history::MsgId;
use crate::metric::{Class, Cmp, Expectation, Metric, Scope, GROUP_METRICS};
use crate::units::{format_duration, parse_duration, parse_latency_range, parse_rate};
use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::{Table, Value};

/// Most broker nodes (`topology.brokers`).
pub const MAX_BROKERS: u32 = 16;
/// Most partitions (`topology.partitions`).
pub const MAX_PARTITIONS: u32 = 1024;
/// Most producers (`workload.producers`).
pub const MAX_PRODUCERS: u32 = 64;
/// Most consumer workers (`consumer.workers`).
pub const MAX_WORKERS: u32 = 64;
/// Most store nodes (`topology.stores`).
pub const MAX_STORES: u32 = 64;
/// Highest publish rate, in messages per second (`workload.rate`, burst rates).
pub const MAX_RATE_PER_S: u64 = 1_000_000;
/// Longest simulated time of a run: `duration + drain`.
pub const MAX_SIM_TIME: Duration = Duration::from_secs(24 * 3600);
/// Most retries of a produce request (`workload.retries`).
pub const MAX_RETRIES: u32 = 100;
/// Most records per fetch (`consumer.fetch_max`).
pub const MAX_FETCH: u32 = 10_000;
/// Most effects a partition's worker applies at once (`consumer.concurrency`).
pub const MAX_CONCURRENCY: u32 = 64;
/// Most keys of a skewed workload (`hot_share`, `zipf`).
pub const MAX_SKEWED_KEYS: u32 = 1_000_000;
/// Most instances of one repeating fault (`count`).
pub const MAX_REPEATS: u32 = 1_000;
/// Most cores of one consumer or broker host.
pub const MAX_CORES: u32 = 64;
/// Most effect lanes in all (`topology.partitions × consumer.concurrency`):
/// each lane holds its own connection to every store.
pub const MAX_EFFECT_LANES: u32 = 4096;
/// Shortest drain.
pub const MIN_DRAIN: Duration = Duration::from_secs(1);
/// Largest max of any latency range (network, store, faults).
pub const MAX_LATENCY: Duration = Duration::from_secs(10);
/// Finest tick.
pub const MIN_TICK: Duration = Duration::from_millis(1);
/// Coarsest tick.
pub const MAX_TICK: Duration = Duration::from_millis(100);
/// Most store reads per message (`consumer.reads`).
pub const MAX_READS: u32 = 16;
/// Largest `slow_storage` factor: beyond it a store call is simply down,
/// which `pause` or `crash` say better.
pub const MAX_SLOW_FACTOR: f64 = 1000.0;
/// Most calls a half-open breaker lets through (`policy.breaker.probes`).
pub const MAX_PROBES: u32 = 100;
/// Largest `--scale`: 1000 × a modest file already reaches the rate and
/// host limits, which stay the real bounds.
pub const MAX_SCALE: u32 = 1000;
/// Most messages one run may send (rate × duration, with bursts): about
/// six History events each, well inside `harness::model::MAX_EVENTS`.
pub const MAX_MESSAGES: u64 = 3_000_000;
/// Longest `broker.visibility_timeout` (SQS's limit).
pub const MAX_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(12 * 3600);
/// Largest `broker.max_receives` (SQS's limit for `maxReceiveCount`).
pub const MAX_RECEIVES: u32 = 1000;
/// Most message ids one `poison` fault lists (`fault[i].ids`).
pub const MAX_POISON_IDS: usize = 10_000;

// Defaults of the fields `--scale` multiplies: an absent listed count is its
// default × K, so the walk and the scaler must agree on them.
const DEFAULT_PARTITIONS: u32 = 4;
const DEFAULT_STORES: u32 = 1;
const DEFAULT_PRODUCERS: u32 = 1;
const DEFAULT_KEYS: u32 = 100;
const DEFAULT_WORKERS: u32 = 1;
const DEFAULT_RATE_PER_S: u64 = 100;

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

/// One problem in a scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// Where: a field path such as `topology.partitions`,
    /// `workload.bursts[1].rate` or `fault[2].target`; `line:col` (1-based)
    /// for a TOML syntax error; empty when the file could not be read.
    pub path: String,
    /// What was expected and what was found, on one line.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Every problem found in one scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    pub file: PathBuf,
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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    /// Replaces `policy.kind` (the `[policy]` table is created if absent).
    pub policy: Option<PolicyKind>,
    /// Multiplies every workload rate and the counts `[scale] counts` lists;
    /// 1 to [`MAX_SCALE`], 1 changing nothing.
    pub scale: Option<u32>,
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

mod convert;
mod expect;
mod faults;
mod tables;
#[cfg(test)]
mod tests;

use convert::*;
use expect::*;
pub(crate) use faults::overlaps;

// ---------------------------------------------------------------------------
// The walk

/// One table of the file being walked.
struct Fields<'a> {
    /// Its path ("" for the top level).
    path: String,
    /// Which schema it follows (for the read bookkeeping the tests check).
    schema: &'static str,
    /// `None` when the table is absent (or was not a table): every field
    /// takes its default.
    table: Option<&'a Table>,
}

impl Fields<'_> {
    fn at(&self, key: &str) -> String {
        join(&self.path, key)
    }

    fn has(&self, key: &str) -> bool {
        self.table.is_some_and(|t| t.contains_key(key))
    }
}

/// A field's value after conversion.
enum Got<T> {
    Absent,
    Bad,
    Ok(T),
}

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

#[derive(Default)]
struct Check {
    errors: Vec<FieldError>,
    /// `(schema, key)` of every field the walk read.
    read: BTreeSet<(&'static str, String)>,
    /// `policy.kind` came from `--policy`, not the file: messages that
    /// depend on the kind say so.
    policy_from_cli: bool,
    /// `broker.kind`, read ahead of the walk (`peek_broker_kind`); `None`
    /// when invalid: then no field is judged against it.
    broker: Option<BrokerKind>,
    /// `broker.kind` is written in the file (else it is the default).
    broker_given: bool,
    /// Whether `broker.max_receives` is set (a queue has a dead-letter
    /// queue); `None` until `[broker]` is walked or when it is invalid.
    dead_letter: Option<bool>,
}

impl Check {
    fn err(&mut self, path: String, message: String) {
        self.errors.push(FieldError { path, message });
    }

    /// How the broker kind reads in messages: `broker.kind = "log" (the
    /// default)`.
    fn found_kind(&self, k: BrokerKind) -> String {
        let default = if self.broker_given {
            ""
        } else {
            " (the default)"
        };
        format!("broker.kind = \"{}\"{default}", kind_name(k))
    }

    /// Whether the field `key` of `f`, which exists for broker kind `only`,
    /// may be judged: given under the other kind it is reported (with
    /// `why`, which starts with ": " or is empty) and its value is not
    /// judged. The field counts as read either way.
    fn applies(&mut self, f: &Fields, key: &str, only: BrokerKind, why: &str) -> bool {
        let given = self.value(f, key).is_some();
        match self.broker {
            Some(k) if given && k != only => {
                let found = self.found_kind(k);
                self.err(
                    f.at(key),
                    format!(
                        "field \"{key}\" applies only to broker.kind = \"{}\", found {found}{why}",
                        kind_name(only)
                    ),
                );
                false
            }
            _ => true,
        }
    }

    /// `or_default` for a field of one broker kind (see `applies`).
    fn or_default_for<'a, T>(
        &mut self,
        f: &Fields<'a>,
        key: &str,
        only: (BrokerKind, &str),
        default: T,
        conv: impl FnOnce(&'a Value) -> Result<T, String>,
    ) -> Option<T> {
        if self.applies(f, key, only.0, only.1) {
            self.or_default(f, key, default, conv)
        } else {
            None
        }
    }

    /// `optional` for a field of one broker kind (see `applies`).
    fn optional_for<'a, T>(
        &mut self,
        f: &Fields<'a>,
        key: &str,
        only: (BrokerKind, &str),
        conv: impl FnOnce(&'a Value) -> Result<T, String>,
    ) -> Option<Option<T>> {
        if self.applies(f, key, only.0, only.1) {
            self.optional(f, key, conv)
        } else {
            None
        }
    }

    fn value<'a>(&mut self, f: &Fields<'a>, key: &str) -> Option<&'a Value> {
        self.read.insert((f.schema, key.to_string()));
        f.table.and_then(|t| t.get(key))
    }

    fn unknown_keys(&mut self, f: &Fields, allowed: &[&str]) {
        let Some(t) = f.table else { return };
        for key in t.keys() {
            if !allowed.contains(&key.as_str()) {
                self.err(f.at(key), unknown("field", key, allowed));
            }
        }
    }

    /// `[key]` of `parent`; unknown keys in it are reported.
    fn table<'a>(
        &mut self,
        parent: &Fields<'a>,
        key: &str,
        schema: &'static str,
        allowed: &[&str],
    ) -> Fields<'a> {
        let path = parent.at(key);
        let table = match self.value(parent, key) {
            None => None,
            Some(Value::Table(t)) => Some(t),
            Some(v) => {
                self.err(
                    path.clone(),
                    format!("expected a table [{key}], found {}", show(v)),
                );
                None
            }
        };
        let f = Fields {
            path,
            schema,
            table,
        };
        self.unknown_keys(&f, allowed);
        f
    }

    fn get<'a, T>(
        &mut self,
        f: &Fields<'a>,
        key: &str,
        conv: impl FnOnce(&'a Value) -> Result<T, String>,
    ) -> Got<T> {
        match self.value(f, key) {
            None => Got::Absent,
            Some(v) => match conv(v) {
                Ok(t) => Got::Ok(t),
                Err(m) => {
                    self.err(f.at(key), m);
                    Got::Bad
                }
            },
        }
    }

    fn or_default<'a, T>(
        &mut self,
        f: &Fields<'a>,
        key: &str,
        default: T,
        conv: impl FnOnce(&'a Value) -> Result<T, String>,
    ) -> Option<T> {
        match self.get(f, key, conv) {
            Got::Absent => Some(default),
            Got::Bad => None,
            Got::Ok(t) => Some(t),
        }
    }

    fn required<'a, T>(
        &mut self,
        f: &Fields<'a>,
        key: &str,
        missing: &str,
        conv: impl FnOnce(&'a Value) -> Result<T, String>,
    ) -> Option<T> {
        match self.get(f, key, conv) {
            Got::Absent => {
                self.err(f.at(key), missing.to_string());
                None
            }
            Got::Bad => None,
            Got::Ok(t) => Some(t),
        }
    }

    /// `Some(None)` when absent.
    fn optional<'a, T>(
        &mut self,
        f: &Fields<'a>,
        key: &str,
        conv: impl FnOnce(&'a Value) -> Result<T, String>,
    ) -> Option<Option<T>> {
        match self.get(f, key, conv) {
            Got::Absent => Some(None),
            Got::Bad => None,
            Got::Ok(t) => Some(Some(t)),
        }
    }

    fn scenario(&mut self, root: &Table) -> Option<Scenario> {
        let top = Fields {
            path: String::new(),
            schema: "scenario",
            table: Some(root),
        };
        self.unknown_keys(&top, RawScenario::FIELDS);
        self.broker = peek_broker_kind(root);
        self.broker_given =
            matches!(root.get("broker"), Some(Value::Table(b)) if b.contains_key("kind"));
        self.dead_letter = None;
        const LOG: BrokerKind = BrokerKind::Log;
        const QUEUE: BrokerKind = BrokerKind::Queue;
        const REQUIRED: &str = "missing required field";
        let name = self.required(&top, "name", REQUIRED, name);
        let summary = self.required(&top, "summary", REQUIRED, one_line);
        let duration = self.required(&top, "duration", REQUIRED, positive_duration);
        let drain = self.or_default(&top, "drain", Duration::from_secs(30), drain);
        let seed = self.or_default(&top, "seed", 1, seed);
        let tick = self.or_default(&top, "tick", MIN_TICK, tick);
        let mut sample_interval = self.or_default(
            &top,
            "sample_interval",
            Duration::from_secs(1),
            positive_duration,
        );
        if let Some(s) = sample_interval {
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
                sample_interval = None;
            } else if let Some(d) = duration.filter(|d| s > *d) {
                self.err(
                    top.at("sample_interval"),
                    format!(
                        "expected at most duration ({}), found {}{default}",
                        format_duration(d),
                        format_duration(s)
                    ),
                );
                sample_interval = None;
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
        let t = self.table(&top, "topology", "topology", RawTopology::FIELDS);
        let n_brokers = self.or_default(&t, "brokers", 1, int_range(1, MAX_BROKERS));
        let partitions = self.or_default(
            &t,
            "partitions",
            DEFAULT_PARTITIONS,
            int_range(1, MAX_PARTITIONS),
        );
        let n_stores = self.or_default(&t, "stores", DEFAULT_STORES, int_range(1, MAX_STORES));
        // Default min(3, brokers); unknown (and the file rejected) when the
        // broker count is invalid. A queue is mirrored on every broker.
        let replication = if self.broker == Some(QUEUE) {
            let why = ": a queue is mirrored on every broker, remove topology.replication";
            self.applies(&t, "replication", LOG, why)
                .then_some(n_brokers)
                .flatten()
        } else {
            match self.get(&t, "replication", int_range(1, u32::MAX)) {
                Got::Absent => n_brokers.map(|b| b.min(3)),
                Got::Bad => None,
                Got::Ok(r) => match n_brokers {
                    Some(b) if r > b => {
                        self.err(
                            t.at("replication"),
                            format!("expected at most topology.brokers ({b}), found {r}"),
                        );
                        None
                    }
                    _ => Some(r),
                },
            }
        };
        // Judged against the store count only when that is valid.
        let store_replication = match self.get(&t, "store_replication", int_range(1, u32::MAX)) {
            Got::Absent => Some(1),
            Got::Bad => None,
            Got::Ok(r) => match n_stores {
                Some(n) if r > n => {
                    let default = if t.has("stores") { "" } else { ", its default" };
                    self.err(
                        t.at("store_replication"),
                        format!("expected at most topology.stores ({n}{default}), found {r}"),
                    );
                    None
                }
                _ => Some(r),
            },
        };

        // [network]
        let n = self.table(&top, "network", "network", RawNetwork::FIELDS);
        let net_latency = self.or_default(&n, "latency", ms_range(1, 5), latency);

        // [workload]
        let w = self.table(&top, "workload", "workload", RawWorkload::FIELDS);
        let producers = self.or_default(
            &w,
            "producers",
            DEFAULT_PRODUCERS,
            int_range(1, MAX_PRODUCERS),
        );
        let rate_per_s = self.or_default(&w, "rate", DEFAULT_RATE_PER_S, positive_rate);
        let keys = self.or_default(&w, "keys", DEFAULT_KEYS, int_range(1, u32::MAX));
        let bursts = self.bursts(&w, duration);
        let retries = self.or_default(&w, "retries", 3, int_range(0, MAX_RETRIES));
        let w_timeout = self.or_default(
            &w,
            "request_timeout",
            Duration::from_secs(1),
            positive_duration,
        );
        let delivery_timeout = self.optional(&w, "delivery_timeout", positive_duration);
        let linger = self.or_default(&w, "linger", Duration::from_millis(5), positive_duration);
        let buffer_max = self.or_default(&w, "buffer_max", 10_000, int_range(1, u32::MAX));
        let batch_max = self.or_default(&w, "batch_max", 500, int_range(1, u32::MAX));
        let w_idempotent = self.or_default(&w, "idempotent", false, boolean);
        let skew = self.skew(&w, keys, partitions);
        // The whole load, so that a History cannot outgrow memory: refused
        // here, at the field, not as an exit 3 when MAX_EVENTS is reached.
        if let (Some(r), Some(d), Some(bs)) = (rate_per_s, duration, &bursts) {
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
        let b = self.table(&top, "broker", "broker", RawBroker::FIELDS);
        let kind = self.or_default(&b, "kind", BrokerKind::Log, broker_kind);
        let fsync = self.or_default(&b, "fsync", Fsync::PerBatch, fsync);
        let writeback =
            self.or_default(&b, "writeback", Duration::from_secs(30), positive_duration);
        let acks = self.or_default(&b, "acks", Acks::All, acks);
        // Fields of the log only, and why (for a file that gives them to a queue).
        let log_only = |why| (LOG, why);
        let mut min_insync = self.or_default_for(
            &b,
            "min_insync",
            log_only(": with a queue, broker.acks and broker.queue_type say which nodes confirm"),
            1,
            int_range(1, u32::MAX),
        );
        if let (Some(m), Some(r)) = (min_insync, replication) {
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
                min_insync = None;
            }
        }
        let split = ": with a queue, broker.partition_handling says what split nodes do";
        let unclean = self.or_default_for(
            &b,
            "unclean_leader_election",
            log_only(split),
            false,
            boolean,
        );
        let replica_lag_max = self.or_default_for(
            &b,
            "replica_lag_max",
            log_only(split),
            Duration::from_secs(10),
            positive_duration,
        );
        let b_session = self.or_default(
            &b,
            "session_timeout",
            Duration::from_secs(6),
            positive_duration,
        );
        let b_processing = self.or_default(&b, "processing", Duration::ZERO, processing);
        let b_cores = self.or_default(&b, "cores", 1, int_range(1, MAX_CORES));
        let acked_away =
            ": a queue deletes a message once it is acked (bound a queue with broker.max_length)";
        let retention_messages = self.optional_for(
            &b,
            "retention_messages",
            log_only(acked_away),
            positive_count,
        );
        let retention_age =
            self.optional_for(&b, "retention_age", log_only(acked_away), positive_duration);
        // Fields of the queue only.
        let q = (QUEUE, "");
        let d = QueueConfig::default();
        let visibility = self.or_default_for(
            &b,
            "visibility_timeout",
            q,
            d.visibility_timeout,
            visibility_timeout,
        );
        let max_receives = self.optional_for(&b, "max_receives", q, int_range(1, MAX_RECEIVES));
        self.dead_letter = max_receives.map(|m| m.is_some());
        let fifo = self.or_default_for(&b, "fifo", q, d.fifo, boolean);
        let max_length = self.optional_for(&b, "max_length", q, positive_count);
        let overflow = self.or_default_for(&b, "overflow", q, d.overflow, overflow);
        let partition_handling = self.or_default_for(
            &b,
            "partition_handling",
            q,
            d.partition_handling,
            partition_handling,
        );
        let queue_type = self.or_default_for(&b, "queue_type", q, d.queue_type, queue_type);
        let memory_limit = self.optional_for(&b, "memory_limit", q, positive_count);
        let memory_alarm = self.or_default_for(&b, "memory_alarm", q, d.memory_alarm, memory_alarm);
        let message_ttl = self.optional_for(&b, "message_ttl", q, positive_duration);

        // [consumer]
        let c = self.table(&top, "consumer", "consumer", RawConsumer::FIELDS);
        let group = self.or_default(&c, "group", "main".to_string(), non_empty);
        let workers = self.or_default(&c, "workers", DEFAULT_WORKERS, int_range(1, MAX_WORKERS));
        let commit = self.or_default(&c, "commit", CommitMode::AfterEffect, commit);
        let idempotent = self.or_default(&c, "idempotent", false, boolean);
        let store_timeout = self.or_default(
            &c,
            "store_timeout",
            Duration::from_millis(500),
            positive_duration,
        );
        let c_timeout = self.or_default(
            &c,
            "request_timeout",
            Duration::from_secs(1),
            positive_duration,
        );
        let fetch_max = self.or_default(&c, "fetch_max", 500, int_range(1, MAX_FETCH));
        let concurrency = self.or_default(&c, "concurrency", 1, int_range(1, MAX_CONCURRENCY));
        let c_processing = self.or_default(&c, "processing", Duration::ZERO, processing);
        let c_cores = self.or_default(&c, "cores", 1, int_range(1, MAX_CORES));
        let assignment = self.or_default_for(
            &c,
            "assignment",
            log_only(": a queue has no consumer group to rebalance"),
            Assignment::Range,
            assignment,
        );
        let c_session = self.or_default_for(
            &c,
            "session_timeout",
            log_only(": a queue has no group membership (an unacked message is delivered again after broker.visibility_timeout)"),
            Duration::from_secs(10),
            positive_duration,
        );
        let offset_reset = self.or_default_for(
            &c,
            "auto_offset_reset",
            log_only(": a queue has no offsets (a worker receives what the queue holds)"),
            OffsetReset::Earliest,
            offset_reset,
        );
        let reads = self.or_default(&c, "reads", 0, int_range(0, MAX_READS));
        let read_retry = self.or_default(&c, "read_retry", false, boolean);
        let partial_batch_failure =
            self.or_default_for(&c, "partial_batch_failure", q, false, boolean);
        let retry_backoff = self.optional_for(&c, "retry_backoff", q, positive_duration);

        // [store]
        let s = self.table(&top, "store", "store", RawStore::FIELDS);
        let store_latency = self.or_default(&s, "latency", ms_range(1, 3), latency);
        let read_latency = self.or_default(&s, "read_latency", ms_range(1, 5), latency);

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
        Some(Scenario {
            name: name?,
            summary: summary?,
            duration: duration?,
            drain: drain?,
            seed: seed?,
            sample_interval: sample_interval?,
            tick: tick?,
            topology: Topology {
                brokers: n_brokers?,
                partitions: partitions?,
                stores: n_stores?,
                replication: replication?,
                store_replication: store_replication?,
            },
            network: Network {
                latency: net_latency?,
            },
            workload: Workload {
                producers: producers?,
                rate_per_s: rate_per_s?,
                keys: keys?,
                bursts: bursts?,
                retries: retries?,
                request_timeout: w_timeout?,
                delivery_timeout: delivery_timeout?,
                linger: linger?,
                buffer_max: buffer_max?,
                batch_max: batch_max?,
                idempotent: w_idempotent?,
                skew: skew?,
            },
            broker: Broker {
                kind: kind?,
                fsync: fsync?,
                writeback: writeback?,
                acks: acks?,
                min_insync: min_insync?,
                unclean_leader_election: unclean?,
                replica_lag_max: replica_lag_max?,
                session_timeout: b_session?,
                processing: b_processing?,
                cores: b_cores?,
                retention_messages: retention_messages?,
                retention_age: retention_age?,
                queue: QueueConfig {
                    visibility_timeout: visibility?,
                    max_receives: max_receives?,
                    fifo: fifo?,
                    max_length: max_length?,
                    overflow: overflow?,
                    partition_handling: partition_handling?,
                    queue_type: queue_type?,
                    memory_limit: memory_limit?,
                    memory_alarm: memory_alarm?,
                    message_ttl: message_ttl?,
                },
            },
            consumer: Consumer {
                group: group?,
                workers: workers?,
                commit: commit?,
                idempotent: idempotent?,
                store_timeout: store_timeout?,
                request_timeout: c_timeout?,
                fetch_max: fetch_max?,
                concurrency: concurrency?,
                processing: c_processing?,
                cores: c_cores?,
                assignment: assignment?,
                session_timeout: c_session?,
                auto_offset_reset: offset_reset?,
                reads: reads?,
                read_retry: read_retry?,
                partial_batch_failure: partial_batch_failure?,
                retry_backoff: retry_backoff?,
            },
            store: Store {
                latency: store_latency?,
                read_latency: read_latency?,
            },
            policy: policy?,
            faults: faults?,
            expect: expect.effective,
            expect_common: expect.common,
            expect_by_policy: expect.by_policy,
            swarm: swarm?,
            buffer: buffer?,
            scale_counts: scale_counts?,
            scale: 1,
        })
    }
}

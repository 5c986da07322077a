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
// Messages

/// A found value as quoted in messages: strings in quotes (escaped, so the
/// message stays on one line, and shortened), other values by their kind.
fn show(v: &Value) -> String {
    match v {
        Value::String(s) => quote(s),
        Value::Integer(i) => i.to_string(),
        Value::Float(x) => x.to_string(),
        Value::Boolean(b) => b.to_string(),
        Value::Datetime(d) => format!("the date-time {d}"),
        Value::Array(_) => "an array".to_string(),
        Value::Table(_) => "a table".to_string(),
    }
}

fn quote(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() > MAX {
        let short: String = s.chars().take(MAX - 3).collect();
        format!("{:?}", short + "...")
    } else {
        format!("{s:?}")
    }
}

/// A key as it appears in a path: bare if it is a TOML bare key, else quoted.
fn key_repr(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        key.to_string()
    } else {
        quote(key)
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key_repr(key)
    } else {
        format!("{prefix}.{}", key_repr(key))
    }
}

/// Levenshtein distance in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest candidate within edit distance 2 (and closer than its own
/// length, so one-letter names do not match everything).
fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    if word.chars().count() > 64 {
        return None;
    }
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = edit_distance(word, c);
        if d <= 2 && d < c.chars().count() && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    match suggest(word, candidates) {
        Some(s) => format!(" (did you mean \"{s}\"?)"),
        None => String::new(),
    }
}

fn unknown(what: &str, word: &str, allowed: &[&str]) -> String {
    format!(
        "unknown {what} {}, expected one of: {}{}",
        quote(word),
        allowed.join(", "),
        did_you_mean(word, allowed.iter().copied())
    )
}

fn plural(n: u32, role: Role) -> String {
    if n == 1 {
        format!("there is 1 {}", role.name())
    } else {
        format!(
            "there are {n} {}, {}-0 to {}-{}",
            role.plural(),
            role.name(),
            role.name(),
            n.saturating_sub(1)
        )
    }
}

// ---------------------------------------------------------------------------
// Value converters: `Err` is the whole message.

const DURATION_EXPECTED: &str = "a duration string with units such as \"250ms\", \"30s\" or \"2m\"";

fn duration(v: &Value) -> Result<Duration, String> {
    match v {
        Value::String(s) => {
            parse_duration(s).map_err(|e| format!("expected {e}, found {}", show(v)))
        }
        _ => Err(format!("expected {DURATION_EXPECTED}, found {}", show(v))),
    }
}

fn positive_duration(v: &Value) -> Result<Duration, String> {
    let d = duration(v)?;
    if d.is_zero() {
        return Err(format!("expected a duration above 0, found {}", show(v)));
    }
    Ok(d)
}

/// The drain is when crashed hosts restart and the backlog is read; without
/// it the broker's final inventory cannot be observed.
fn drain(v: &Value) -> Result<Duration, String> {
    let d = duration(v)?;
    if d < MIN_DRAIN {
        return Err(format!(
            "expected a drain of at least {} (crashed hosts restart and the backlog is read then), found {}",
            format_duration(MIN_DRAIN),
            show(v)
        ));
    }
    Ok(d)
}

/// `"A..B"` (inclusive) or an integer: how many faults a swarm seed draws.
fn count_range(v: &Value) -> Result<(u32, u32), String> {
    const EXPECTED: &str = "a count range such as \"1..3\" (inclusive, at most 16) or an integer";
    match v {
        Value::Integer(n) if (0..=16).contains(n) => Ok((*n as u32, *n as u32)),
        _ => string_range(v, EXPECTED, |x| x.trim().parse::<u32>(), |_, b| b <= 16),
    }
}

fn swarm_kinds(v: &Value) -> Result<Vec<String>, String> {
    let items = match v {
        Value::Array(a) if !a.is_empty() => a,
        _ => {
            return Err(format!(
                "expected a non-empty array of fault kinds from {}, found {}",
                SWARM_KINDS.join(", "),
                show(v)
            ))
        }
    };
    let mut out = Vec::new();
    for item in items {
        match item {
            Value::String(k) if SWARM_KINDS.contains(&k.as_str()) => out.push(k.clone()),
            Value::String(k) if QUEUE_FAULT_KINDS.contains(&k.as_str()) => {
                return Err(format!(
                    "expected fault kinds a swarm draws ({}), found {} (a swarm draws host and link faults; poison and redrive act on messages and are written as [[fault]] entries of a scenario without [swarm])",
                    SWARM_KINDS.join(", "),
                    show(item)
                ))
            }
            _ => {
                return Err(format!(
                    "expected fault kinds with a window ({}), found {}",
                    SWARM_KINDS.join(", "),
                    show(item)
                ))
            }
        }
    }
    Ok(out)
}

/// An inclusive `"A..B"` string whose ends `parse` reads; `ok` judges the pair.
fn string_range<T: PartialOrd + Copy, E>(
    v: &Value,
    expected: &str,
    parse: impl Fn(&str) -> Result<T, E>,
    ok: impl Fn(T, T) -> bool,
) -> Result<(T, T), String> {
    let fail = || format!("expected {expected}, found {}", show(v));
    let Value::String(s) = v else {
        return Err(fail());
    };
    let (a, b) = s.split_once("..").ok_or_else(fail)?;
    let (a, b) = (parse(a).map_err(|_| fail())?, parse(b).map_err(|_| fail())?);
    if a > b || !ok(a, b) {
        return Err(fail());
    }
    Ok((a, b))
}

/// `"1s..10s"`: inclusive, whole milliseconds (swarm draws whole ms), min above 0.
fn duration_range(v: &Value) -> Result<(Duration, Duration), String> {
    let whole_ms = |d: Duration| d.as_micros().is_multiple_of(1000);
    string_range(
        v,
        "a duration range such as \"1s..10s\" (whole milliseconds, min above 0, min <= max)",
        parse_duration,
        |a, b| !a.is_zero() && whole_ms(a) && whole_ms(b),
    )
}

/// `"100/s..400/s"`: inclusive.
fn rate_range(v: &Value) -> Result<(u64, u64), String> {
    string_range(
        v,
        &format!(
            "a rate range such as \"100/s..400/s\" (1/s <= min <= max, at most {MAX_RATE_PER_S}/s)"
        ),
        parse_rate,
        |a, b| a >= 1 && b <= MAX_RATE_PER_S,
    )
}

fn tick(v: &Value) -> Result<Duration, String> {
    let d = duration(v)?;
    if d < MIN_TICK || d > MAX_TICK || d.as_micros() % 1000 != 0 {
        return Err(format!(
            "expected a whole number of milliseconds from {} to {}, found {}",
            format_duration(MIN_TICK),
            format_duration(MAX_TICK),
            show(v)
        ));
    }
    Ok(d)
}

fn rate(v: &Value) -> Result<u64, String> {
    let r = match v {
        Value::String(s) => {
            parse_rate(s).map_err(|e| format!("expected {e}, found {}", show(v)))?
        }
        Value::Integer(i) if *i < 0 => {
            return Err(format!(
                "expected a rate that is not negative, such as \"800/s\", found {i}"
            ))
        }
        _ => {
            return Err(format!(
                "expected a rate string such as \"800/s\" or \"30000/m\", found {}",
                show(v)
            ))
        }
    };
    if r > MAX_RATE_PER_S {
        return Err(format!(
            "expected a rate of at most {MAX_RATE_PER_S}/s, found {}",
            show(v)
        ));
    }
    Ok(r)
}

/// Messages the load phase sends: the base rate outside bursts, each
/// burst's rate inside it.
fn total_messages(rate_per_s: u64, duration: Duration, bursts: &[Burst]) -> u64 {
    let in_bursts: Duration = bursts.iter().map(|b| b.duration).sum();
    let outside = duration.saturating_sub(in_bursts);
    let at = |rate: u64, d: Duration| (rate as u128 * d.as_micros() / 1_000_000) as u64;
    bursts
        .iter()
        .map(|b| at(b.rate_per_s, b.duration))
        .fold(at(rate_per_s, outside), u64::saturating_add)
}

/// The workload's rate: a scenario that sends nothing would pass every
/// expectation while testing nothing. (A burst may be a 0/s lull.)
fn positive_rate(v: &Value) -> Result<u64, String> {
    match rate(v)? {
        0 => Err(format!(
            "expected a rate above 0/s (a scenario that sends nothing checks nothing), found {}",
            show(v)
        )),
        r => Ok(r),
    }
}

fn latency(v: &Value) -> Result<LatencyRange, String> {
    let (min, max) = match v {
        Value::String(s) => {
            parse_latency_range(s).map_err(|e| format!("expected {e}, found {}", show(v)))?
        }
        _ => {
            return Err(format!(
                "expected a latency range string such as \"200ms..800ms\" or \"5ms\", found {}",
                show(v)
            ))
        }
    };
    if max > MAX_LATENCY {
        return Err(format!(
            "expected a latency range whose max is at most {}, found {}",
            format_duration(MAX_LATENCY),
            show(v)
        ));
    }
    Ok(LatencyRange { min, max })
}

fn integer(v: &Value, min: u32, max: u32) -> Result<u32, String> {
    let range = if max == u32::MAX {
        format!("an integer of at least {min}")
    } else {
        format!("an integer from {min} to {max}")
    };
    match v {
        Value::Integer(i) if *i >= i64::from(min) && *i <= i64::from(max) => Ok(*i as u32),
        _ => Err(format!("expected {range}, found {}", show(v))),
    }
}

fn int_range(min: u32, max: u32) -> impl Fn(&Value) -> Result<u32, String> {
    move |v| integer(v, min, max)
}

fn boolean(v: &Value) -> Result<bool, String> {
    match v {
        Value::Boolean(b) => Ok(*b),
        _ => Err(format!("expected true or false, found {}", show(v))),
    }
}

fn string(v: &Value) -> Result<&str, String> {
    match v {
        Value::String(s) => Ok(s),
        _ => Err(format!("expected a string, found {}", show(v))),
    }
}

fn one_of<T: Copy>(v: &Value, options: &[(&str, T)]) -> Result<T, String> {
    let names: Vec<String> = options.iter().map(|(n, _)| format!("\"{n}\"")).collect();
    let s = string(v).map_err(|_| format!("expected {}, found {}", names.join(" or "), show(v)))?;
    match options.iter().find(|(n, _)| *n == s) {
        Some((_, t)) => Ok(*t),
        None => Err(format!(
            "expected {}, found {}{}",
            names.join(" or "),
            show(v),
            did_you_mean(s, options.iter().map(|(n, _)| *n))
        )),
    }
}

fn name(v: &Value) -> Result<String, String> {
    let s = string(v);
    match s {
        Ok(s)
            if !s.is_empty()
                && s
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') =>
        {
            Ok(s.to_string())
        }
        _ => Err(format!(
            "expected a name of lowercase letters, digits and '-' such as \"broker-crash\", found {}",
            show(v)
        )),
    }
}

fn one_line(v: &Value) -> Result<String, String> {
    match string(v) {
        Ok(s) if !s.trim().is_empty() && !s.contains(['\n', '\r']) => Ok(s.to_string()),
        _ => Err(format!("expected one non-empty line, found {}", show(v))),
    }
}

fn non_empty(v: &Value) -> Result<String, String> {
    match string(v) {
        Ok(s) if !s.trim().is_empty() && !s.contains(['\n', '\r']) => Ok(s.to_string()),
        _ => Err(format!(
            "expected a non-empty name on one line, found {}",
            show(v)
        )),
    }
}

fn seed(v: &Value) -> Result<u64, String> {
    match v {
        Value::Integer(i) if *i >= 0 => Ok(*i as u64),
        _ => Err(format!(
            "expected a non-negative integer, found {}",
            show(v)
        )),
    }
}

/// An integer of at least 1 that may exceed `u32` (`broker.retention_messages`).
fn positive_count(v: &Value) -> Result<u64, String> {
    match v {
        Value::Integer(i) if *i >= 1 => Ok(*i as u64),
        _ => Err(format!(
            "expected an integer of at least 1, found {}",
            show(v)
        )),
    }
}

fn broker_kind(v: &Value) -> Result<BrokerKind, String> {
    one_of(v, &[("log", BrokerKind::Log), ("queue", BrokerKind::Queue)])
}

fn kind_name(k: BrokerKind) -> &'static str {
    match k {
        BrokerKind::Log => "log",
        BrokerKind::Queue => "queue",
    }
}

/// `broker.kind` as the file gives it (`log` when absent), read ahead of the
/// walk because `[topology]` and other tables depend on it; `None` when it
/// is not a valid kind (reported where `[broker]` is walked), in which case
/// no field is judged against the kind.
fn peek_broker_kind(root: &Table) -> Option<BrokerKind> {
    match root.get("broker") {
        None => Some(BrokerKind::Log),
        Some(Value::Table(b)) => b
            .get("kind")
            .map_or(Some(BrokerKind::Log), |v| broker_kind(v).ok()),
        Some(_) => None,
    }
}

/// `broker.visibility_timeout`: above 0, at most [`MAX_VISIBILITY_TIMEOUT`].
fn visibility_timeout(v: &Value) -> Result<Duration, String> {
    let d = positive_duration(v)?;
    if d > MAX_VISIBILITY_TIMEOUT {
        return Err(format!(
            "expected a duration above 0 and at most {} (SQS's limit), found {}",
            format_duration(MAX_VISIBILITY_TIMEOUT),
            show(v)
        ));
    }
    Ok(d)
}

fn overflow(v: &Value) -> Result<Overflow, String> {
    one_of(
        v,
        &[
            ("reject_new", Overflow::RejectNew),
            ("drop_oldest", Overflow::DropOldest),
            ("block", Overflow::Block),
        ],
    )
}

fn partition_handling(v: &Value) -> Result<PartitionHandling, String> {
    one_of(
        v,
        &[
            ("pause_minority", PartitionHandling::PauseMinority),
            ("autoheal", PartitionHandling::Autoheal),
        ],
    )
}

fn memory_alarm(v: &Value) -> Result<MemoryAlarm, String> {
    one_of(
        v,
        &[
            ("block_publishers", MemoryAlarm::BlockPublishers),
            ("block_all", MemoryAlarm::BlockAll),
        ],
    )
}

fn queue_type(v: &Value) -> Result<QueueType, String> {
    one_of(
        v,
        &[
            ("classic", QueueType::Classic),
            ("quorum", QueueType::Quorum),
        ],
    )
}

/// A message id `"pN-M"`: producer N's message M (both decimal, without
/// leading zeros, below 2^32), as the History and reports write it.
fn parse_msg_id(v: &Value) -> Result<MsgId, String> {
    let fail = || {
        format!(
            "expected a message id like \"p0-17\" (producer 0, its message 17), found {}",
            show(v)
        )
    };
    let Value::String(s) = v else {
        return Err(fail());
    };
    let number = |t: &str| -> Option<u32> {
        let canonical = !t.is_empty()
            && t.bytes().all(|b| b.is_ascii_digit())
            && (t == "0" || !t.starts_with('0'));
        canonical.then(|| t.parse::<u32>().ok()).flatten()
    };
    let (p, m) = s
        .strip_prefix('p')
        .and_then(|rest| rest.split_once('-'))
        .ok_or_else(fail)?;
    match (number(p), number(m)) {
        (Some(producer), Some(seq)) => Ok(MsgId::new(producer, seq)),
        _ => Err(fail()),
    }
}

fn fsync(v: &Value) -> Result<Fsync, String> {
    const EXPECTED: &str =
        "expected \"per_batch\", \"never\" or \"interval:<duration>\" such as \"interval:100ms\"";
    let s = string(v).map_err(|_| format!("{EXPECTED}, found {}", show(v)))?;
    match s {
        "per_batch" => Ok(Fsync::PerBatch),
        "never" => Ok(Fsync::Never),
        _ => match s.strip_prefix("interval:") {
            Some(d) => match parse_duration(d) {
                Ok(d) if !d.is_zero() => Ok(Fsync::Interval(d)),
                Ok(_) => Err(format!(
                    "expected an interval above 0 such as \"interval:100ms\", found {}",
                    show(v)
                )),
                Err(e) => Err(format!(
                    "expected \"interval:<duration>\" with {e}, found {}",
                    show(v)
                )),
            },
            None => Err(format!(
                "{EXPECTED}, found {}{}",
                show(v),
                did_you_mean(s, ["per_batch", "never"])
            )),
        },
    }
}

/// `0`, `1` or `"all"` (the strings `"0"` and `"1"` too).
fn acks(v: &Value) -> Result<Acks, String> {
    const EXPECTED: &str = "expected 0, 1 or \"all\"";
    match v {
        Value::Integer(0) => Ok(Acks::None),
        Value::Integer(1) => Ok(Acks::Leader),
        Value::String(s) if s == "0" => Ok(Acks::None),
        Value::String(s) if s == "1" => Ok(Acks::Leader),
        Value::String(s) if s == "all" => Ok(Acks::All),
        // Kafka also spells "all" as -1; one spelling keeps files comparable.
        Value::Integer(-1) => Err(format!(
            "{EXPECTED}, found -1 (write \"all\" for Kafka's -1)"
        )),
        Value::String(s) if s == "-1" => Err(format!(
            "{EXPECTED}, found \"-1\" (write \"all\" for Kafka's -1)"
        )),
        Value::String(s) => Err(format!(
            "{EXPECTED}, found {}{}",
            show(v),
            did_you_mean(s, ["all"])
        )),
        _ => Err(format!("{EXPECTED}, found {}", show(v))),
    }
}

fn assignment(v: &Value) -> Result<Assignment, String> {
    one_of(
        v,
        &[
            ("range", Assignment::Range),
            ("round_robin", Assignment::RoundRobin),
        ],
    )
}

fn offset_reset(v: &Value) -> Result<OffsetReset, String> {
    one_of(
        v,
        &[
            ("earliest", OffsetReset::Earliest),
            ("latest", OffsetReset::Latest),
        ],
    )
}

fn commit(v: &Value) -> Result<CommitMode, String> {
    one_of(
        v,
        &[
            ("after_effect", CommitMode::AfterEffect),
            ("before_effect", CommitMode::BeforeEffect),
        ],
    )
}

/// A number (float or integer) `x` with `low < x <= high`; else the error
/// says `expected {what}`.
fn number_in(v: &Value, low: f64, high: f64, what: &str) -> Result<f64, String> {
    let x = match v {
        Value::Float(x) => *x,
        Value::Integer(i) => *i as f64,
        _ => f64::NAN,
    };
    if x > low && x <= high {
        Ok(x)
    } else {
        Err(format!("expected {what}, found {}", show(v)))
    }
}

fn probability(v: &Value) -> Result<f64, String> {
    number_in(
        v,
        0.0,
        1.0,
        "a probability above 0 and at most 1 such as 0.1",
    )
}

/// A share of calls (`policy.breaker.error_rate`, `slow_rate`): 0 would open
/// the breaker on no evidence at all.
fn share(v: &Value) -> Result<f64, String> {
    number_in(
        v,
        0.0,
        1.0,
        "a share of calls above 0 and at most 1 such as 0.5",
    )
}

/// A `slow_storage` factor: above 1 (else it is not slow), at most
/// [`MAX_SLOW_FACTOR`].
/// CPU time of one unit of work: 0 (not modelled) to 10 s.
fn processing(v: &Value) -> Result<Duration, String> {
    let d = duration(v)?;
    if d > Duration::from_secs(10) {
        return Err(format!(
            "expected a CPU time from 0s to 10s, found {}",
            format_duration(d)
        ));
    }
    Ok(d)
}

fn slow_factor(v: &Value) -> Result<f64, String> {
    let what = format!("a factor above 1 and at most {MAX_SLOW_FACTOR} such as 4 or 2.5");
    number_in(v, 1.0, MAX_SLOW_FACTOR, &what)
}

fn policy_names() -> Vec<&'static str> {
    PolicyKind::ALL.iter().map(|k| k.name()).collect()
}

fn policy_kind(v: &Value) -> Result<PolicyKind, String> {
    let names = policy_names();
    match v {
        Value::String(s) => {
            PolicyKind::from_name(s).ok_or_else(|| unknown("policy kind", s, &names))
        }
        _ => Err(format!(
            "expected a policy kind, one of: {}, found {}",
            names.join(", "),
            show(v)
        )),
    }
}

const FAULT_KINDS: [&str; 13] = [
    "partition",
    "heal",
    "hold",
    "release",
    "latency",
    "loss",
    "crash",
    "pause",
    "slow_storage",
    "slow_cpu",
    "poison",
    "redrive",
    "memory_pressure",
];

/// The fault kinds of a queue only (on messages, or on a queue node's memory).
const QUEUE_FAULT_KINDS: [&str; 3] = ["poison", "redrive", "memory_pressure"];

fn fault_kind(v: &Value) -> Result<&'static str, String> {
    match v {
        Value::String(s) => FAULT_KINDS
            .iter()
            .find(|k| **k == s.as_str())
            .copied()
            .ok_or_else(|| unknown("fault kind", s, &FAULT_KINDS)),
        _ => Err(format!(
            "expected a fault kind, one of: {}, found {}",
            FAULT_KINDS.join(", "),
            show(v)
        )),
    }
}

/// `N` (= N) or `"OP N"`; for a metric in milliseconds (`ms`) the number
/// may also be a duration with its unit: `"< 1s"`, `"<= 1m30s"`.
fn bound(v: &Value, ms: bool) -> Result<(Cmp, u64), String> {
    const EXPECTED: &str =
        "expected a non-negative integer or a comparison such as \"> 0\" or \"<= 5000\" (operators =, >, <, <=, >=)";
    let with_unit = if ms {
        " (a time may carry its unit: \"< 1s\")"
    } else {
        ""
    };
    match v {
        Value::Integer(i) if *i >= 0 => Ok((Cmp::Eq, *i as u64)),
        Value::String(s) => {
            let t = s.trim();
            let ops = [
                ("<=", Cmp::Le),
                (">=", Cmp::Ge),
                ("=", Cmp::Eq),
                (">", Cmp::Gt),
                ("<", Cmp::Lt),
            ];
            let parsed = ops.iter().find_map(|(sym, cmp)| {
                let rest = t.strip_prefix(sym)?.trim();
                if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()) {
                    return Some((*cmp, rest.parse::<u64>().ok()?));
                }
                let d = parse_duration(rest).ok().filter(|_| ms)?;
                Some((*cmp, d.as_millis() as u64))
            });
            parsed.ok_or_else(|| format!("{EXPECTED}{with_unit}, found {}", show(v)))
        }
        _ => Err(format!("{EXPECTED}{with_unit}, found {}", show(v))),
    }
}

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

    /// `workload.bursts`: inside the load phase, in time order, not overlapping.
    fn bursts(&mut self, w: &Fields, duration: Option<Duration>) -> Option<Vec<Burst>> {
        let path = w.at("bursts");
        let items = match self.value(w, "bursts") {
            None => return Some(Vec::new()),
            Some(Value::Array(a)) => a,
            Some(v) => {
                self.err(
                    path,
                    format!(
                        "expected an array of {{ at, rate, for }} tables, found {}",
                        show(v)
                    ),
                );
                return None;
            }
        };
        let mut out = Some(Vec::new());
        // (index, end) of the previous valid burst.
        let mut prev: Option<(usize, Duration)> = None;
        for (i, item) in items.iter().enumerate() {
            let ipath = format!("{path}[{i}]");
            let Value::Table(t) = item else {
                self.err(
                    ipath,
                    format!("expected a table {{ at, rate, for }}, found {}", show(item)),
                );
                out = None;
                continue;
            };
            let f = Fields {
                path: ipath,
                schema: "burst",
                table: Some(t),
            };
            self.unknown_keys(&f, RawBurst::FIELDS);
            const REQUIRED: &str = "missing required field of a burst";
            let mut at = self.required(&f, "at", REQUIRED, self::duration);
            let rate = self.required(&f, "rate", REQUIRED, rate);
            let mut len = self.required(&f, "for", REQUIRED, positive_duration);
            if let (Some(a), Some(d)) = (at, duration) {
                if a >= d {
                    self.err(
                        f.at("at"),
                        format!(
                            "expected a time before the end of the load phase (duration = {}), found {}",
                            format_duration(d),
                            format_duration(a)
                        ),
                    );
                    at = None;
                } else if let Some(l) = len.filter(|l| a.saturating_add(*l) > d) {
                    self.err(
                        f.at("for"),
                        format!(
                            "the burst ends at {} (at {} + for {}), after the load phase ends at {} (duration)",
                            format_duration(a.saturating_add(l)),
                            format_duration(a),
                            format_duration(l),
                            format_duration(d)
                        ),
                    );
                    len = None;
                }
            }
            if let (Some(a), Some((j, end))) = (at, prev) {
                if a < end {
                    self.err(
                        f.at("at"),
                        format!(
                            "bursts must be in time order and not overlap: this one starts at {}, before {path}[{j}] ends at {}",
                            format_duration(a),
                            format_duration(end)
                        ),
                    );
                }
            }
            if let (Some(a), Some(l)) = (at, len) {
                prev = Some((i, a.saturating_add(l)));
            }
            match (at, rate, len, &mut out) {
                (Some(at), Some(rate_per_s), Some(duration), Some(v)) => v.push(Burst {
                    at,
                    rate_per_s,
                    duration,
                }),
                _ => out = None,
            }
        }
        out
    }

    fn faults(
        &mut self,
        top: &Fields,
        duration: Option<Duration>,
        counts: &Counts,
    ) -> Option<Vec<Fault>> {
        let items = match self.value(top, "fault") {
            None => return Some(Vec::new()),
            Some(Value::Array(a)) => a,
            Some(v) => {
                self.err(
                    top.at("fault"),
                    format!(
                        "expected an array of tables written [[fault]], found {}",
                        show(v)
                    ),
                );
                return None;
            }
        };
        let mut out = Some(Vec::new());
        let mut prev: Option<(usize, Duration)> = None;
        for (i, item) in items.iter().enumerate() {
            let path = format!("fault[{i}]");
            let Value::Table(t) = item else {
                self.err(
                    path,
                    format!("expected a table written [[fault]], found {}", show(item)),
                );
                out = None;
                continue;
            };
            let f = Fields {
                path,
                schema: "fault",
                table: Some(t),
            };
            let (at, fault) = self.fault(&f, duration, counts);
            if let (Some(a), Some((j, p))) = (at, prev) {
                if a < p {
                    self.err(
                        f.at("at"),
                        format!(
                            "faults must be in time order: this one is at {}, before fault[{j}].at = {}",
                            format_duration(a),
                            format_duration(p)
                        ),
                    );
                }
            }
            if at.is_some() {
                prev = at.map(|a| (i, a));
            }
            match (fault, &mut out) {
                (Some(fault), Some(v)) => v.push(fault),
                _ => out = None,
            }
        }
        out
    }

    /// One `[[fault]]`: its `at` (for the order check) and the fault.
    fn fault(
        &mut self,
        f: &Fields,
        duration: Option<Duration>,
        counts: &Counts,
    ) -> (Option<Duration>, Option<Fault>) {
        self.unknown_keys(f, RawFault::FIELDS);
        let at = self.required(f, "at", "missing required field", self::duration);
        let mut at_ok = at;
        if let (Some(a), Some(d)) = (at, duration) {
            if a >= d {
                self.err(
                    f.at("at"),
                    format!(
                        "expected a time before the end of the load phase (duration = {}), found {}",
                        format_duration(d),
                        format_duration(a)
                    ),
                );
                at_ok = None;
            }
        }
        let missing_kind = format!(
            "missing required field, expected a fault kind, one of: {}",
            FAULT_KINDS.join(", ")
        );
        let Some(kind) = self.required(f, "kind", &missing_kind, fault_kind) else {
            return (at, None);
        };
        // Faults on messages exist for a queue only; a redrive needs a
        // dead-letter queue. Reported at `kind`; the other fields are still
        // judged.
        let mut for_broker = true;
        if QUEUE_FAULT_KINDS.contains(&kind) {
            match (self.broker, self.dead_letter) {
                (Some(k @ BrokerKind::Log), _) => {
                    let found = self.found_kind(k);
                    self.err(
                        f.at("kind"),
                        format!(
                            "fault kind \"{kind}\" applies only to broker.kind = \"queue\", found {found}"
                        ),
                    );
                    for_broker = false;
                }
                (Some(BrokerKind::Queue), Some(false)) if kind == "redrive" => {
                    self.err(
                        f.at("kind"),
                        "fault kind \"redrive\" moves dead-lettered messages back to their queue; broker.max_receives is not set, so there is no dead-letter queue".to_string(),
                    );
                    for_broker = false;
                }
                _ => {}
            }
        }
        let allowed: &[&str] = FAULT_KIND_FIELDS
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, fields)| *fields)
            .unwrap_or(&[]);
        if let Some(t) = f.table {
            for key in t.keys() {
                let key = key.as_str();
                if key == "at"
                    || key == "kind"
                    || REPEAT_FIELDS.contains(&key)
                    || allowed.contains(&key)
                    || !RawFault::FIELDS.contains(&key)
                {
                    continue;
                }
                let hint = match (key, kind) {
                    ("for", "crash") => " (use restart_after)",
                    ("for", _) => " (it is a one-shot action)",
                    ("restart_after", _) => " (only crash restarts hosts)",
                    _ => "",
                };
                self.err(
                    f.at(key),
                    format!("field \"{key}\" does not apply to kind \"{kind}\"{hint}"),
                );
            }
        }
        let missing = format!("missing required field for kind \"{kind}\"");
        // `Some(until)` when the window is valid.
        let until = if allowed.contains(&"for") {
            self.window(f, "for", at_ok, duration)
        } else if allowed.contains(&"restart_after") {
            self.window(f, "restart_after", at_ok, duration)
        } else {
            Some(None)
        };
        let fk = match kind {
            "partition" => {
                let ab = self.pair(f, true, counts);
                let oneway = self.or_default(f, "oneway", false, boolean);
                ab.zip(oneway)
                    .map(|((a, b), oneway)| FaultKind::Partition { a, b, oneway })
            }
            "heal" => self
                .pair(f, false, counts)
                .map(|(a, b)| FaultKind::Heal { a, b }),
            "hold" => self
                .pair(f, true, counts)
                .map(|(a, b)| FaultKind::Hold { a, b }),
            "release" => self
                .pair(f, false, counts)
                .map(|(a, b)| FaultKind::Release { a, b }),
            "latency" => {
                let ab = self.pair(f, false, counts);
                let l = self.required(f, "latency", &missing, latency);
                ab.zip(l)
                    .map(|((a, b), latency)| FaultKind::Latency { a, b, latency })
            }
            "loss" => {
                let ab = self.pair(f, false, counts);
                let r = self.required(f, "rate", &missing, probability);
                ab.zip(r)
                    .map(|((a, b), rate)| FaultKind::Loss { a, b, rate })
            }
            "crash" => self
                .targets(f, &missing, counts)
                .map(|targets| FaultKind::Crash { targets }),
            "pause" => self
                .targets(f, &missing, counts)
                .map(|targets| FaultKind::Pause { targets }),
            "slow_storage" => {
                let targets = self.targets(f, &missing, counts).filter(|targets| {
                    let wrong: Vec<String> = targets
                        .iter()
                        .filter(|h| {
                            !matches!(h.role, Role::Broker | Role::Store | Role::Controller)
                        })
                        .map(Host::to_string)
                        .collect();
                    if wrong.is_empty() {
                        return true;
                    }
                    self.err(
                        f.at("target"),
                        format!(
                            "slow_storage applies to brokers, stores and the controller only, found {}",
                            wrong.join(", ")
                        ),
                    );
                    false
                });
                let slow = self.slowdown(f, targets.as_deref());
                targets
                    .zip(slow)
                    .map(|(targets, slow)| FaultKind::SlowStorage { targets, slow })
            }
            "slow_cpu" => {
                let targets = self.targets(f, &missing, counts).filter(|targets| {
                    let wrong: Vec<String> = (targets.iter())
                        .filter(|h| !matches!(h.role, Role::Consumer | Role::Broker))
                        .map(Host::to_string)
                        .collect();
                    if wrong.is_empty() {
                        return true;
                    }
                    self.err(
                        f.at("target"),
                        format!(
                            "slow_cpu applies to consumers and brokers only (a slow store is slow_storage), found {}",
                            wrong.join(", ")
                        ),
                    );
                    false
                });
                let factor = self.required(f, "factor", &missing, slow_factor);
                targets
                    .zip(factor)
                    .map(|(targets, factor)| FaultKind::SlowCpu { targets, factor })
            }
            "poison" => self.poison(f, counts),
            "redrive" => Some(FaultKind::Redrive),
            "memory_pressure" => {
                let targets = self.targets(f, &missing, counts).filter(|targets| {
                    let wrong: Vec<String> = (targets.iter())
                        .filter(|h| h.role != Role::Broker)
                        .map(Host::to_string)
                        .collect();
                    if wrong.is_empty() {
                        return true;
                    }
                    self.err(
                        f.at("target"),
                        format!(
                            "memory_pressure applies to brokers (queue nodes) only, found {}",
                            wrong.join(", ")
                        ),
                    );
                    false
                });
                let limit = self.required(f, "limit", &missing, positive_count);
                targets
                    .zip(limit)
                    .map(|(targets, limit)| FaultKind::MemoryPressure { targets, limit })
            }
            _ => None,
        };
        let fk = fk.filter(|_| for_broker);
        let repeat = self.repeat(f, at_ok, until, duration, kind);
        let fault = match (at_ok, until, fk) {
            (Some(at), Some(until), Some(kind)) => repeat.map(|repeat| Fault {
                at,
                until,
                kind,
                repeat,
            }),
            _ => None,
        };
        (at, fault)
    }

    /// `[buffer]`: a durable log in front of a queue. `partitions` is the
    /// topology's (the buffer's default), when valid.
    fn buffer(&mut self, top: &Fields, partitions: Option<u32>) -> Option<Option<Buffer>> {
        let b = self.table(top, "buffer", "buffer", RawBuffer::FIELDS);
        if b.table.is_none() {
            return Some(None);
        }
        if let Some(k @ BrokerKind::Log) = self.broker {
            let found = self.found_kind(k);
            self.err(
                top.at("buffer"),
                format!(
                    "a buffer is a durable log in front of a queue: it needs broker.kind = \"queue\", found {found}"
                ),
            );
        }
        let brokers = self.or_default(&b, "brokers", 3, int_range(1, MAX_BROKERS));
        let bp = self.optional(&b, "partitions", int_range(1, MAX_PARTITIONS));
        let replication = self.optional(&b, "replication", int_range(1, MAX_BROKERS));
        let min_insync = self.optional(&b, "min_insync", int_range(1, MAX_BROKERS));
        let relays = self.or_default(&b, "relays", 1, int_range(1, MAX_WORKERS));
        let rate = self.optional(&b, "rate", positive_rate);
        let max_depth = self.optional(&b, "max_depth", positive_count);
        let brokers = brokers?;
        let replication = match replication? {
            Some(r) if r > brokers => {
                self.err(
                    b.at("replication"),
                    format!("expected at most buffer.brokers ({brokers}), found {r}"),
                );
                return None;
            }
            Some(r) => r,
            None => brokers.min(3),
        };
        let min_insync = match min_insync? {
            Some(m) if m > replication => {
                self.err(
                    b.at("min_insync"),
                    format!("expected at most buffer.replication ({replication}), found {m}"),
                );
                return None;
            }
            Some(m) => m,
            None => replication.min(2),
        };
        if self.broker == Some(BrokerKind::Log) {
            return None;
        }
        Some(Some(Buffer {
            brokers,
            partitions: bp?.or(partitions)?,
            replication,
            min_insync,
            relays: relays?,
            rate_per_s: rate?,
            max_depth: max_depth?,
        }))
    }

    /// `hot_share` / `zipf` with `hot_keys` or `hot_partition`: a skewed
    /// key distribution. `keys` and `partitions` are the workload's and the
    /// topology's, when valid.
    fn skew(
        &mut self,
        w: &Fields,
        keys: Option<u32>,
        partitions: Option<u32>,
    ) -> Option<Option<KeySkew>> {
        let share = self.optional(w, "hot_share", |v| {
            number_in(v, 0.0, 1.0, "a share above 0 and below 1, such as 0.5").and_then(|x| {
                if x < 1.0 {
                    Ok(x)
                } else {
                    Err("expected a share above 0 and below 1, such as 0.5, found 1".to_string())
                }
            })
        });
        let zipf = self.optional(w, "zipf", |v| {
            number_in(
                v,
                0.0,
                10.0,
                "a Zipf exponent above 0 and at most 10, such as 1.1",
            )
        });
        let hot_keys = self.optional(w, "hot_keys", int_range(1, u32::MAX));
        let hot_partition = self.optional(w, "hot_partition", int_range(0, u32::MAX));
        let (share, zipf, hot_keys, hot_partition) = (share?, zipf?, hot_keys?, hot_partition?);
        if share.is_some() && zipf.is_some() {
            self.err(
                w.at("zipf"),
                "expected hot_share or zipf, not both: hot_share sends a share of the load to a few hot keys, zipf draws every key by its rank".to_string(),
            );
            return None;
        }
        if share.is_none() && zipf.is_none() {
            for key in ["hot_keys", "hot_partition"] {
                if w.has(key) {
                    self.err(
                        w.at(key),
                        format!("{key} names the hot keys of a skewed load: it needs hot_share (or zipf)"),
                    );
                }
            }
            return if w.has("hot_keys") || w.has("hot_partition") {
                None
            } else {
                Some(None)
            };
        }
        if hot_keys.is_some() && hot_partition.is_some() {
            self.err(
                w.at("hot_partition"),
                "expected hot_keys or hot_partition, not both: hot_keys makes keys 0..hot_keys hot, hot_partition every key of one partition".to_string(),
            );
            return None;
        }
        let keys = keys?;
        if keys > MAX_SKEWED_KEYS {
            self.err(
                w.at("keys"),
                format!("expected at most {MAX_SKEWED_KEYS} keys with a skewed load (its keys and their classes are tabulated), found {keys}"),
            );
            return None;
        }
        if let Some(n) = hot_keys.filter(|&n| n >= keys) {
            self.err(
                w.at("hot_keys"),
                format!("expected fewer hot keys than workload.keys ({keys}), so some traffic is cold, found {n}"),
            );
            return None;
        }
        if let Some(x) = zipf {
            if hot_partition.is_some() {
                self.err(
                    w.at("hot_partition"),
                    "with zipf the hot class is the most frequent keys: use hot_keys, not hot_partition".to_string(),
                );
                return None;
            }
            return Some(Some(KeySkew::Zipf {
                exponent: x,
                hot: hot_keys.unwrap_or(1),
            }));
        }
        let share = share.expect("hot_share or zipf is set");
        let hot = match hot_partition {
            Some(p) => {
                let partitions = partitions?;
                if p >= partitions {
                    self.err(
                        w.at("hot_partition"),
                        format!("expected a partition below topology.partitions ({partitions}), found {p}"),
                    );
                    return None;
                }
                if partitions < 2 || keys <= p {
                    self.err(
                        w.at("hot_partition"),
                        format!("partition {p} must hold some keys and not all of them: it needs topology.partitions >= 2 (found {partitions}) and workload.keys above {p} (found {keys})"),
                    );
                    return None;
                }
                HotKeys::Partition(p)
            }
            None => HotKeys::First(hot_keys.unwrap_or(1)),
        };
        Some(Some(KeySkew::Hot { share, keys: hot }))
    }

    /// `every`, `count` and `jitter`: a fault that happens again and again.
    /// `at` and `until` are the first instance's, when valid. Repetitions
    /// must not overlap one another (`every` at least the window plus the
    /// jitter) and the last must end within the load phase; without
    /// `count`, as many as fit.
    fn repeat(
        &mut self,
        f: &Fields,
        at: Option<Duration>,
        until: Option<Option<Duration>>,
        duration: Option<Duration>,
        kind: &str,
    ) -> Option<Option<Repeat>> {
        let every = self.optional(f, "every", positive_duration);
        let count = self.optional(f, "count", int_range(1, MAX_REPEATS));
        let jitter = self.optional(f, "jitter", |v| {
            let d = self::duration(v)?;
            if d.as_micros() % 1_000 != 0 {
                return Err(format!(
                    "expected a jitter in whole milliseconds (instants are drawn per millisecond), found {}",
                    format_duration(d)
                ));
            }
            Ok(d)
        });
        let (every, count, jitter) = (every?, count?, jitter?);
        let Some(every) = every else {
            for key in ["count", "jitter"] {
                if f.has(key) {
                    self.err(
                        f.at(key),
                        format!("{key} says how a fault repeats: it needs every (the time between one start and the next)"),
                    );
                }
            }
            return if f.has("count") || f.has("jitter") {
                None
            } else {
                Some(None)
            };
        };
        let jitter = jitter.unwrap_or(Duration::ZERO);
        let (at, until) = (at?, until?);
        let window = match until {
            Some(end) => end - at,
            // A one-shot action has no window.
            None if !FAULT_KIND_FIELDS
                .iter()
                .any(|(k, fields)| *k == kind && fields.contains(&"for")) =>
            {
                Duration::ZERO
            }
            None => {
                self.err(
                    f.at("every"),
                    format!(
                        "a repeating {kind} needs a window (for, or restart_after for a crash): without one it lasts until the drain starts, and the next repetition would overlap it"
                    ),
                );
                return None;
            }
        };
        if every < window + jitter {
            self.err(
                f.at("every"),
                format!(
                    "repetitions would overlap: every ({}) must be at least the window ({}) plus the jitter ({})",
                    format_duration(every),
                    format_duration(window),
                    format_duration(jitter)
                ),
            );
            return None;
        }
        let load = duration?;
        // The latest possible end of instance i (0-based).
        let end = |i: u32| at + every * i + jitter + window;
        let count = match count {
            Some(n) => {
                if end(n - 1) > load {
                    self.err(
                        f.at("count"),
                        format!(
                            "the last of {n} repetitions could end at {} (at {} + {} × every {} + jitter {} + window {}), after the load phase ends at {} (duration)",
                            format_duration(end(n - 1)),
                            format_duration(at),
                            n - 1,
                            format_duration(every),
                            format_duration(jitter),
                            format_duration(window),
                            format_duration(load)
                        ),
                    );
                    return None;
                }
                n
            }
            None => {
                if end(0) > load {
                    self.err(
                        f.at("jitter"),
                        format!(
                            "the first repetition could end at {}, after the load phase ends at {} (duration)",
                            format_duration(end(0)),
                            format_duration(load)
                        ),
                    );
                    return None;
                }
                let mut n = 1;
                while n < MAX_REPEATS && end(n) <= load {
                    n += 1;
                }
                n
            }
        };
        Some(Some(Repeat {
            every,
            count,
            jitter,
        }))
    }

    /// A `slow_cpu` fault multiplies CPU work: its targets must do some.
    fn cpu_work(&mut self, faults: &[Fault], consumer: Option<Duration>, broker: Option<Duration>) {
        for (i, f) in faults.iter().enumerate() {
            let FaultKind::SlowCpu { targets, factor } = &f.kind else {
                continue;
            };
            for (role, work, key) in [
                (Role::Consumer, consumer, "consumer.processing"),
                (Role::Broker, broker, "broker.processing"),
            ] {
                let hit = targets.iter().find(|h| h.role == role);
                if let (Some(h), Some(Duration::ZERO)) = (hit, work) {
                    self.err(
                        format!("fault[{i}].target"),
                        format!(
                            "slow_cpu on {h} multiplies its CPU work by {factor}, but {key} is 0s (not modelled): set {key} to the CPU time of one unit of work, such as \"2ms\""
                        ),
                    );
                }
            }
        }
    }

    /// A `poison`'s `rate` and `ids`: at least one of them.
    fn poison(&mut self, f: &Fields, counts: &Counts) -> Option<FaultKind> {
        let rate = self.optional(f, "rate", probability);
        let ids = self.msg_ids(f, counts);
        if !f.has("rate") && !f.has("ids") {
            self.err(
                f.at("rate"),
                "missing required field for kind \"poison\": give rate (the probability that a message created in the window is poison), ids (messages that are poison, such as [\"p0-17\"]) or both".to_string(),
            );
            return None;
        }
        Some(FaultKind::Poison {
            rate: rate?.unwrap_or(0.0),
            ids: ids?.unwrap_or_default(),
        })
    }

    /// A `poison`'s `ids`, in file order: `Some(None)` when absent.
    fn msg_ids(&mut self, f: &Fields, counts: &Counts) -> Option<Option<Vec<MsgId>>> {
        let path = f.at("ids");
        let items = match self.value(f, "ids") {
            None => return Some(None),
            Some(Value::Array(a)) if a.is_empty() => {
                self.err(
                    path,
                    "expected at least one message id such as \"p0-17\", found an empty list"
                        .to_string(),
                );
                return None;
            }
            Some(Value::Array(a)) if a.len() > MAX_POISON_IDS => {
                self.err(
                    path,
                    format!(
                        "expected at most {MAX_POISON_IDS} message ids, found {}",
                        a.len()
                    ),
                );
                return None;
            }
            Some(Value::Array(a)) => a,
            Some(v) => {
                self.err(
                    path,
                    format!(
                        "expected an array of message ids such as [\"p0-17\", \"p1-3\"], found {}",
                        show(v)
                    ),
                );
                return None;
            }
        };
        let mut out = Vec::with_capacity(items.len());
        // Each id's first index, for the duplicate check.
        let mut seen: std::collections::BTreeMap<MsgId, usize> = Default::default();
        let mut ok = true;
        for (j, v) in items.iter().enumerate() {
            let ipath = format!("{path}[{j}]");
            let id = match parse_msg_id(v) {
                Ok(id) => id,
                Err(m) => {
                    self.err(ipath, m);
                    ok = false;
                    continue;
                }
            };
            if let Some(n) = counts.producers.filter(|n| id.producer >= *n) {
                self.err(
                    ipath,
                    format!(
                        "expected a message id of an existing producer ({}), found {}",
                        plural(n, Role::Producer),
                        show(v)
                    ),
                );
                ok = false;
                continue;
            }
            if let Some(first) = seen.get(&id) {
                self.err(
                    ipath,
                    format!("{} is listed twice (first as {path}[{first}])", show(v)),
                );
                ok = false;
                continue;
            }
            seen.insert(id, j);
            out.push(id);
        }
        ok.then_some(Some(out))
    }

    /// A `slow_storage`'s `latency` (extra) or `factor` (multiplier): exactly
    /// one. `targets` are the valid targets, if known.
    fn slowdown(&mut self, f: &Fields, targets: Option<&[Host]>) -> Option<Slowdown> {
        let l = self.optional(f, "latency", latency);
        let x = self.optional(f, "factor", slow_factor);
        match (f.has("latency"), f.has("factor")) {
            (false, false) => {
                self.err(
                    f.at("latency"),
                    "missing required field for kind \"slow_storage\": give latency (extra latency added to each operation) or factor (a multiplier of each store operation's own latency)".to_string(),
                );
                return None;
            }
            (true, true) => {
                self.err(
                    f.at("factor"),
                    "expected latency or factor, not both: latency adds to each operation, factor multiplies each store operation's own latency".to_string(),
                );
                return None;
            }
            _ => {}
        }
        if let (Some(Some(_)), Some(targets)) = (x, targets) {
            let wrong: Vec<String> = (targets.iter())
                .filter(|h| h.role != Role::Store)
                .map(Host::to_string)
                .collect();
            if !wrong.is_empty() {
                self.err(
                    f.at("factor"),
                    format!(
                        "factor applies to stores only (brokers' and the controller's disk writes have no base latency to multiply; use latency), found {}",
                        wrong.join(", ")
                    ),
                );
                return None;
            }
        }
        match (l?, x?) {
            (Some(l), None) => Some(Slowdown::Extra(l)),
            (None, Some(x)) => Some(Slowdown::Factor(x)),
            _ => None,
        }
    }

    /// `[policy]` with its `[policy.breaker]`.
    fn policy(&mut self, top: &Fields) -> Option<Policy> {
        let p = self.table(top, "policy", "policy", RawPolicy::FIELDS);
        let kind = self.or_default(&p, "kind", PolicyKind::Unbounded, policy_kind);
        let max_lag = self.optional(&p, "max_lag", positive_count);
        let max_lag_age = self.optional(&p, "max_lag_age", positive_duration);
        let mut bounded = true;
        let from = if self.policy_from_cli {
            " (from --policy)"
        } else {
            ""
        };
        // A queue has no log end to lag behind: its bound is the queue's own.
        let for_queue = match (self.broker, kind) {
            (Some(BrokerKind::Queue), Some(k)) if k != PolicyKind::Unbounded => {
                self.err(
                    p.at("kind"),
                    format!(
                        "expected \"unbounded\" with broker.kind = \"queue\", found \"{}\"{from}: lag policies act on the log model; a bounded queue uses broker.max_length and broker.overflow",
                        k.name()
                    ),
                );
                false
            }
            _ => true,
        };
        // Dropping "past the lag bound" needs a bound; the other kinds have
        // work to do without one (breakers, or nothing at all).
        if for_queue
            && kind == Some(PolicyKind::SilentDrop)
            && !p.has("max_lag")
            && !p.has("max_lag_age")
        {
            self.err(
                p.at("max_lag"),
                format!(
                    "required for kind = \"silent_drop\"{from} (or give max_lag_age): the lag bound, in messages per partition, past which the consumer skips to the log end"
                ),
            );
            bounded = false;
        }
        let b = self.table(&p, "breaker", "breaker", RawBreaker::FIELDS);
        let d = BreakerConfig::default();
        let window = self.or_default(&b, "window", d.window, positive_duration);
        let min_calls = self.or_default(&b, "min_calls", d.min_calls, int_range(1, u32::MAX));
        let error_rate = self.or_default(&b, "error_rate", d.error_rate, share);
        let slow_call = self.or_default(&b, "slow_call", d.slow_call, positive_duration);
        let slow_rate = self.or_default(&b, "slow_rate", d.slow_rate, share);
        let open_for = self.or_default(&b, "open_for", d.open_for, positive_duration);
        let probes = self.or_default(&b, "probes", d.probes, int_range(1, MAX_PROBES));
        if !bounded || !for_queue {
            return None;
        }
        Some(Policy {
            kind: kind?,
            max_lag: max_lag?,
            max_lag_age: max_lag_age?,
            breaker: BreakerConfig {
                window: window?,
                min_calls: min_calls?,
                error_rate: error_rate?,
                slow_call: slow_call?,
                slow_rate: slow_rate?,
                open_for: open_for?,
                probes: probes?,
            },
        })
    }

    /// `[scale] counts`.
    fn scale(&mut self, top: &Fields) -> Option<Vec<ScaleCount>> {
        let t = self.table(top, "scale", "scale", RawScale::FIELDS);
        let path = t.at("counts");
        let paths: Vec<&str> = ScaleCount::ALL.iter().map(|c| c.path()).collect();
        let items = match self.value(&t, "counts") {
            None => return Some(Vec::new()),
            Some(Value::Array(a)) => a,
            Some(v) => {
                self.err(
                    path,
                    format!(
                        "expected an array of field paths such as [\"topology.partitions\", \"consumer.workers\"], found {}",
                        show(v)
                    ),
                );
                return None;
            }
        };
        let mut out = Vec::new();
        let mut ok = true;
        for (j, item) in items.iter().enumerate() {
            let ipath = format!("{path}[{j}]");
            let count = match item {
                Value::String(s) => match ScaleCount::from_path(s) {
                    Some(c) => Ok(c),
                    None => Err(unknown("field path", s, &paths)),
                },
                _ => Err(format!(
                    "expected a field path, one of: {}, found {}",
                    paths.join(", "),
                    show(item)
                )),
            };
            match count {
                // Twice would not scale by K²; it is a slip either way.
                Ok(c) if out.contains(&c) => {
                    self.err(ipath, format!("{} is listed twice", quote(c.path())));
                    ok = false;
                }
                Ok(c) => out.push(c),
                Err(m) => {
                    self.err(ipath, m);
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    /// An optional window field (`for`, `restart_after`): `Some(until)` when
    /// valid, `until = at + window`, which must be by the end of the load phase.
    fn window(
        &mut self,
        f: &Fields,
        key: &str,
        at: Option<Duration>,
        duration: Option<Duration>,
    ) -> Option<Option<Duration>> {
        let w = self.optional(f, key, positive_duration)?;
        let Some(w) = w else { return Some(None) };
        let at = at?;
        let end = at.saturating_add(w);
        if let Some(d) = duration.filter(|d| end > *d) {
            self.err(
                f.at(key),
                format!(
                    "the fault ends at {} (at {} + {key} {}), after the load phase ends at {} (duration)",
                    format_duration(end),
                    format_duration(at),
                    format_duration(w),
                    format_duration(d)
                ),
            );
            return None;
        }
        Some(Some(end))
    }

    /// `a` and `b` of a network fault. When not `required`, both may be left
    /// out (every host on both sides), but not only one.
    fn pair(&mut self, f: &Fields, required: bool, counts: &Counts) -> Option<(Hosts, Hosts)> {
        let a = self.hosts(f, "a", counts);
        let b = self.hosts(f, "b", counts);
        match (a, b) {
            (Got::Absent, Got::Absent) if !required => Some((counts.all(), counts.all())),
            (Got::Ok(a), Got::Ok(b)) => {
                let both: Vec<String> = a
                    .iter()
                    .filter(|h| b.contains(h))
                    .map(Host::to_string)
                    .collect();
                if both.is_empty() {
                    Some((a, b))
                } else {
                    self.err(
                        f.at("b"),
                        format!(
                            "a host cannot be on both sides (in a and in b), found {}",
                            both.join(", ")
                        ),
                    );
                    None
                }
            }
            (a, b) => {
                for (key, got) in [("a", &a), ("b", &b)] {
                    if matches!(got, Got::Absent) {
                        let msg = if required {
                            "missing required field (give both a and b)"
                        } else {
                            "give both a and b, or neither (neither means every host)"
                        };
                        self.err(f.at(key), msg.to_string());
                    }
                }
                None
            }
        }
    }

    fn targets(&mut self, f: &Fields, missing: &str, counts: &Counts) -> Option<Hosts> {
        match self.hosts(f, "target", counts) {
            Got::Absent => {
                self.err(f.at("target"), missing.to_string());
                None
            }
            Got::Bad => None,
            Got::Ok(h) => Some(h),
        }
    }

    /// A host selector: a name or a list of names, resolved into a sorted,
    /// de-duplicated list of hosts.
    fn hosts(&mut self, f: &Fields, key: &str, counts: &Counts) -> Got<Hosts> {
        let path = f.at(key);
        let names: Vec<(String, &Value)> = match self.value(f, key) {
            None => return Got::Absent,
            Some(v @ Value::String(_)) => vec![(path.clone(), v)],
            Some(Value::Array(items)) if items.is_empty() => {
                self.err(
                    path,
                    "expected at least one host, found an empty list".to_string(),
                );
                return Got::Bad;
            }
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(j, v)| (format!("{path}[{j}]"), v))
                .collect(),
            Some(v) => {
                self.err(
                    path,
                    format!(
                        "expected a host, a role or a list of them, such as \"broker-0\", \"stores\" or [\"producer-0\", \"consumer-1\"], found {}",
                        show(v)
                    ),
                );
                return Got::Bad;
            }
        };
        let mut hosts = Vec::new();
        let mut ok = true;
        for (p, v) in names {
            let resolved = match v {
                Value::String(s) => resolve_host(s, counts),
                _ => Err(format!(
                    "expected a host name such as \"broker-0\", found {}",
                    show(v)
                )),
            };
            match resolved {
                Ok(h) => hosts.extend(h),
                Err(m) => {
                    self.err(p, m);
                    ok = false;
                }
            }
        }
        if !ok {
            return Got::Bad;
        }
        hosts.sort();
        hosts.dedup();
        Got::Ok(hosts)
    }

    /// `[swarm]`: `Some(None)` when absent, `None` when invalid.
    fn swarm(&mut self, top: &Fields, duration: Option<Duration>) -> Option<Option<Swarm>> {
        if !top.has("swarm") {
            let _ = self.value(top, "swarm");
            return Some(None);
        }
        let t = self.table(top, "swarm", "swarm", RawSwarm::FIELDS);
        let faults = self.or_default(&t, "faults", (1, 3), count_range);
        let kinds = self.or_default(
            &t,
            "kinds",
            SWARM_KINDS.iter().map(|k| k.to_string()).collect(),
            swarm_kinds,
        );
        let window = self.or_default(
            &t,
            "window",
            (Duration::from_secs(1), Duration::from_secs(10)),
            duration_range,
        );
        let drawn_rate = self.or_default(&t, "rate", None, |v| rate_range(v).map(Some));
        // The largest load a seed can draw obeys the same limit as a file's.
        if let (Some(Some((_, max))), Some(d)) = (drawn_rate, duration) {
            let total = total_messages(max, d, &[]);
            if total > MAX_MESSAGES {
                self.err(
                    t.at("rate"),
                    format!(
                        "expected a load of at most {MAX_MESSAGES} messages at the range's max \
                         (rate × duration), found {total}"
                    ),
                );
            }
        }
        if let (Some((_, max)), Some(d)) = (window, duration) {
            if max > d {
                self.err(
                    t.at("window"),
                    format!(
                        "expected windows no longer than the load phase ({}), found a max of {}",
                        format_duration(d),
                        format_duration(max)
                    ),
                );
                return None;
            }
        }
        Some(Some(Swarm {
            faults: faults?,
            kinds: kinds?,
            window: window?,
            rate: drawn_rate?,
        }))
    }

    /// `[expect]`: its metric keys (every policy) and its per-policy
    /// sub-tables; `kind` picks the effective list (None: the policy was
    /// invalid and the file is rejected anyway).
    fn expect(&mut self, top: &Fields, kind: Option<PolicyKind>, groups: Groups) -> Option<Expect> {
        let path = top.at("expect");
        let t = match self.value(top, "expect") {
            None => return Some(Expect::default()),
            Some(Value::Table(t)) => t,
            Some(v) => {
                self.err(
                    path,
                    format!("expected a table [expect], found {}", show(v)),
                );
                return None;
            }
        };
        let policies = policy_names();
        let mut common = Some(Vec::new());
        let mut by_policy = Some(Vec::new());
        for (key, v) in t {
            self.read.insert(("expect", key.clone()));
            let kpath = join(&path, key);
            if key == "partition" || key == "key" {
                match (self.scoped(&kpath, key, v, groups), &mut common) {
                    (Some(b), Some(c)) => c.extend(b),
                    _ => common = None,
                }
                continue;
            }
            match (v, PolicyKind::from_name(key)) {
                (Value::Table(sub), Some(p)) => {
                    let f = Fields {
                        path: kpath,
                        schema: "policy_expect",
                        table: Some(sub),
                    };
                    let bounds = self.bounds(&f, groups);
                    match (bounds, &mut by_policy) {
                        (Some(b), Some(v)) => v.push((p, b)),
                        _ => by_policy = None,
                    }
                }
                (_, Some(p)) => {
                    self.err(
                        kpath,
                        format!(
                            "expected a table [expect.{}] of bounds checked under that policy only, found {}",
                            p.name(),
                            show(v)
                        ),
                    );
                    by_policy = None;
                }
                // A table that is no metric's bound: a misspelt policy.
                (Value::Table(_), None) if Metric::from_name(key).is_none() => {
                    self.err(
                        kpath,
                        format!(
                            "unknown policy kind {}: the sub-tables of [expect] are named after a policy kind, one of: {}{}",
                            quote(key),
                            policies.join(", "),
                            did_you_mean(key, policies.iter().copied())
                        ),
                    );
                    by_policy = None;
                }
                _ => match (self.bound_of(&kpath, key, v), &mut common) {
                    (Some(e), Some(c)) => c.push(e),
                    _ => common = None,
                },
            }
        }
        let (common, by_policy) = (common?, by_policy?);
        let mut effective = common.clone();
        for (p, b) in &by_policy {
            if Some(*p) == kind {
                effective.extend(b.iter().copied());
            }
        }
        Some(Expect {
            effective,
            common,
            by_policy,
        })
    }

    /// The metric bounds of an `[expect.<policy>]` table, in file order.
    fn bounds(&mut self, f: &Fields, groups: Groups) -> Option<Vec<Expectation>> {
        let t = f.table?;
        let mut out = Some(Vec::new());
        for (key, v) in t {
            self.read.insert((f.schema, key.clone()));
            if key == "partition" || key == "key" {
                match (self.scoped(&f.at(key), key, v, groups), &mut out) {
                    (Some(b), Some(o)) => o.extend(b),
                    _ => out = None,
                }
                continue;
            }
            match (self.bound_of(&f.at(key), key, v), &mut out) {
                (Some(e), Some(o)) => o.push(e),
                _ => out = None,
            }
        }
        out
    }

    /// `metric = bound` at `path`; both halves are judged (and reported).
    fn bound_of(&mut self, path: &str, key: &str, v: &Value) -> Option<Expectation> {
        let names: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
        let metric = Metric::from_name(key);
        if metric.is_none() {
            self.err(path.to_string(), unknown("metric", key, &names));
        }
        let b = bound(v, key.ends_with("_ms"));
        if let Err(m) = &b {
            self.err(path.to_string(), m.clone());
        }
        let (cmp, value) = b.ok()?;
        Some(Expectation {
            scope: Scope::All,
            metric: metric?,
            cmp,
            value,
        })
    }

    /// `partition.<p>.<metric>` or `key.<class>.<metric>` (`what` is
    /// `partition` or `key`): bounds on a group of messages, in file order.
    fn scoped(
        &mut self,
        path: &str,
        what: &str,
        v: &Value,
        groups: Groups,
    ) -> Option<Vec<Expectation>> {
        let Value::Table(t) = v else {
            self.err(
                path.to_string(),
                format!(
                    "expected a table of groups, such as {what}.{}.latency_p99_ms = \"< 1s\", found {}",
                    if what == "key" { "hot" } else { "cold" },
                    show(v)
                ),
            );
            return None;
        };
        if let Some(k) = groups.keys.filter(|&k| k > crate::history::MAX_KEY_MAP) {
            self.err(
                path.to_string(),
                format!(
                    "{what}.* groups messages by their key's partition, tabulated for at most {} keys; workload.keys is {k}",
                    crate::history::MAX_KEY_MAP
                ),
            );
            return None;
        }
        let mut out = Some(Vec::new());
        for (class, sub) in t {
            let cpath = join(path, class);
            let scope = match (what, class.as_str()) {
                (_, "hot" | "cold") => {
                    let c = if class == "hot" {
                        Class::Hot
                    } else {
                        Class::Cold
                    };
                    if groups.skewed == Some(false) {
                        self.err(
                            cpath.clone(),
                            format!("{what}.{class} needs a skewed load (workload.hot_share or workload.zipf): without it no key is hot"),
                        );
                        None
                    } else if what == "key" {
                        Some(Scope::Keys(c))
                    } else {
                        Some(Scope::Partitions(c))
                    }
                }
                ("partition", n) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                    match (n.parse::<u32>().ok(), groups.partitions) {
                        (Some(p), Some(max)) if p < max => Some(Scope::Partition(p)),
                        (_, None) => None,
                        (_, Some(max)) => {
                            self.err(
                                cpath.clone(),
                                format!("expected a partition below topology.partitions ({max}), found {n}"),
                            );
                            None
                        }
                    }
                }
                _ => {
                    let choices = if what == "key" {
                        "hot or cold"
                    } else {
                        "a partition number, hot or cold"
                    };
                    self.err(
                        cpath.clone(),
                        format!("unknown group {}, expected {choices}", quote(class)),
                    );
                    None
                }
            };
            let Value::Table(bounds) = sub else {
                self.err(
                    cpath,
                    format!(
                        "expected a table of bounds, such as {what}.{class}.lost = 0, found {}",
                        show(sub)
                    ),
                );
                out = None;
                continue;
            };
            for (key, b) in bounds {
                self.read.insert(("group_expect", key.clone()));
                let mpath = join(&cpath, key);
                let allowed: Vec<&str> = (GROUP_METRICS.iter())
                    .filter(|m| what != "key" || !matches!(m, Metric::MaxLag | Metric::MaxLagAgeMs))
                    .map(|m| m.name())
                    .collect();
                let metric = Metric::from_name(key).filter(|m| allowed.contains(&m.name()));
                if metric.is_none() {
                    let why =
                        if what == "key" && matches!(key.as_str(), "max_lag" | "max_lag_age_ms") {
                            format!(
                            "{key} is a partition's figure, not a key class's; expected one of: {}",
                            allowed.join(", ")
                        )
                        } else {
                            unknown("metric of a group", key, &allowed)
                        };
                    self.err(mpath.clone(), why);
                }
                let parsed = bound(b, key.ends_with("_ms"));
                if let Err(m) = &parsed {
                    self.err(mpath, m.clone());
                }
                match (scope, metric, parsed, &mut out) {
                    (Some(scope), Some(metric), Ok((cmp, value)), Some(o)) => o.push(Expectation {
                        scope,
                        metric,
                        cmp,
                        value,
                    }),
                    _ => out = None,
                }
            }
        }
        out
    }
}

/// What scoped expectations are judged against: whether the load is skewed
/// and how many partitions there are (None: unknown, that field invalid).
#[derive(Clone, Copy)]
struct Groups {
    skewed: Option<bool>,
    partitions: Option<u32>,
    keys: Option<u32>,
}

/// `[expect]` as walked.
#[derive(Default)]
struct Expect {
    /// What a run under the scenario's policy checks.
    effective: Vec<Expectation>,
    common: Vec<Expectation>,
    by_policy: Vec<(PolicyKind, Vec<Expectation>)>,
}

fn ms_range(min: u64, max: u64) -> LatencyRange {
    LatencyRange {
        min: Duration::from_millis(min),
        max: Duration::from_millis(max),
    }
}

/// One host name, role plural or `all`.
fn resolve_host(name: &str, counts: &Counts) -> Result<Vec<Host>, String> {
    if name == "all" {
        return Ok(counts.all());
    }
    let controller = Role::Controller;
    let names_controller = name == controller.plural()
        || name
            .strip_prefix(controller.name())
            .is_some_and(|rest| rest.starts_with('-'));
    if names_controller && counts.controllers == Some(0) {
        return Err(format!(
            "expected a broker, store, producer or consumer host: a queue cluster (broker.kind = \"queue\") has no controller, found {}",
            quote(name)
        ));
    }
    if let Some(role) = Role::ALL.into_iter().find(|r| r.plural() == name) {
        return Ok(counts.role(role));
    }
    if let Some((prefix, idx)) = name.split_once('-') {
        let canonical = !idx.is_empty()
            && idx.bytes().all(|b| b.is_ascii_digit())
            && (idx == "0" || !idx.starts_with('0'));
        if let Some(role) = Role::ALL.into_iter().find(|r| r.name() == prefix) {
            if canonical {
                let n = idx.parse::<u32>().ok();
                return match (n, counts.of(role)) {
                    (Some(n), Some(c)) if n < c => Ok(vec![Host::new(role, n)]),
                    (Some(n), None) => Ok(vec![Host::new(role, n)]),
                    (_, Some(c)) => Err(format!(
                        "expected a host such as {}-0 ({}), found {}",
                        role.name(),
                        plural(c, role),
                        quote(name)
                    )),
                    (None, None) => Err(format!("host index out of range, found {}", quote(name))),
                };
            }
        }
    }
    let candidates = counts.names();
    let roles: Vec<&str> = Role::ALL.iter().map(|r| r.plural()).collect();
    Err(format!(
        "unknown host {}, expected a host name such as broker-0, a role ({}) or all{}",
        quote(name),
        roles.join(", "),
        did_you_mean(name, candidates.iter().map(String::as_str))
    ))
}

/// Faults whose windows overlap on a shared host (the same kind of host
/// fault) or a shared link (link faults that share state) are rejected: turmoil keeps one
/// state per link and the driver one per host, so the first to end would
/// silently end the other too.
pub(crate) fn overlaps(faults: &[Fault], duration: Option<Duration>) -> Vec<(String, String)> {
    let Some(load_end) = duration else {
        return Vec::new();
    };
    // Repeating faults are checked instance by instance, each at its
    // latest possible window, so no draw of their jitter can overlap.
    let mut instances: Vec<(usize, Fault)> = (faults.iter().enumerate())
        .flat_map(|(i, f)| f.widest_instances().into_iter().map(move |g| (i, g)))
        .collect();
    instances.sort_by_key(|(_, f)| f.at);
    let plain: Vec<Fault> = instances.iter().map(|(_, f)| f.clone()).collect();
    let ends = window_ends(&plain, load_end);
    let mut out = Vec::new();
    let mut reported = BTreeSet::new();
    for (b, (j, g)) in instances.iter().enumerate() {
        for (a, (i, f)) in instances.iter().enumerate().take(b) {
            if i == j || !f.kind.has_window() || !g.kind.has_window() {
                continue;
            }
            let ((fs, fe), (gs, ge)) = ((f.at, ends[a]), (g.at, ends[b]));
            if !(gs < fe && fs < ge) {
                continue;
            }
            let shared = match (host_targets(&f.kind), host_targets(&g.kind)) {
                (Some(x), Some(y)) if f.kind.name() == g.kind.name() => {
                    x.iter().find(|h| y.contains(h)).map(|h| h.to_string())
                }
                (None, None) if links_conflict(&f.kind, &g.kind) => shared_link(&f.kind, &g.kind),
                _ => None,
            };
            // Named by the later fault in the file, against the earlier one.
            let ((late, _), (early, first)) = if j > i {
                ((j, g), (i, (f, fs, fe)))
            } else {
                ((i, f), (j, (g, gs, ge)))
            };
            if let Some(on) = shared {
                if !reported.insert((late, early)) {
                    continue;
                }
                let (ef, es, ee) = first;
                out.push((
                    format!("fault[{late}]"),
                    format!(
                        "overlaps fault[{early}] ({} {}..{}) on {on}: faults on the same host or link must not overlap; end the first before the second starts",
                        ef.kind.name(),
                        format_duration(es),
                        format_duration(ee)
                    ),
                ));
            }
        }
    }
    out
}

fn host_targets(k: &FaultKind) -> Option<&[Host]> {
    match k {
        FaultKind::Crash { targets }
        | FaultKind::Pause { targets }
        | FaultKind::SlowStorage { targets, .. }
        | FaultKind::SlowCpu { targets, .. }
        | FaultKind::MemoryPressure { targets, .. } => Some(targets),
        _ => None,
    }
}

fn link_sides(k: &FaultKind) -> Option<(&[Host], &[Host])> {
    match k {
        FaultKind::Partition { a, b, .. }
        | FaultKind::Hold { a, b }
        | FaultKind::Latency { a, b, .. }
        | FaultKind::Loss { a, b, .. } => Some((a, b)),
        _ => None,
    }
}

/// Link faults that share turmoil state: two of one kind (the first to end
/// resets the link), and any two of partition, hold and loss (ending one
/// repairs or releases the link under the other). Latency is independent of
/// the others.
fn links_conflict(f: &FaultKind, g: &FaultKind) -> bool {
    let state = |k: &FaultKind| {
        matches!(
            k,
            FaultKind::Partition { .. } | FaultKind::Hold { .. } | FaultKind::Loss { .. }
        )
    };
    // Only link faults share link state: two poison windows never conflict.
    link_sides(f).is_some()
        && link_sides(g).is_some()
        && (f.name() == g.name() || (state(f) && state(g)))
}

/// The first link (as "x <-> y") both faults touch, if any.
fn shared_link(f: &FaultKind, g: &FaultKind) -> Option<String> {
    let ((fa, fb), (ga, gb)) = (link_sides(f)?, link_sides(g)?);
    for x in fa {
        for y in fb.iter().filter(|y| *y != x) {
            let both = |p: &[Host], q: &[Host]| p.contains(x) && q.contains(y);
            if both(ga, gb) || both(gb, ga) {
                return Some(format!("the link {x} <-> {y}"));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::raw::RawScenario;
    use super::*;
    use std::collections::BTreeSet;

    /// Sets every field of every table and every fault kind.
    const FULL: &str = r#"
name = "full-example"
summary = "Every table and field set"
duration = "5m"
drain = "1m"
seed = 42
sample_interval = "500ms"
tick = "2ms"

[topology]
brokers = 3
partitions = 8
stores = 2
replication = 2
store_replication = 2

[network]
latency = "2ms..10ms"

[workload]
producers = 3
rate = "600/m"
keys = 50
bursts = [
  { at = "1m", rate = "500/s", for = "30s" },
  { at = "2m", rate = "1000/s", for = "10s" },
]
retries = 5
request_timeout = "2s"
linger = "10ms"
buffer_max = 2000
batch_max = 100
idempotent = true

[broker]
kind = "log"
fsync = "interval:100ms"
writeback = "10s"
acks = 1
min_insync = 2
unclean_leader_election = true
replica_lag_max = "5s"
session_timeout = "3s"
retention_messages = 100000
retention_age = "1h"

[consumer]
group = "fanout"
workers = 4
commit = "before_effect"
idempotent = true
store_timeout = "250ms"
request_timeout = "750ms"
fetch_max = 50
concurrency = 4
assignment = "round_robin"
session_timeout = "15s"
auto_offset_reset = "latest"
reads = 2
read_retry = true

[store]
latency = "5ms"
read_latency = "2ms..4ms"

[policy]
kind = "silent_drop"
max_lag = 5000
max_lag_age = "10s"

[policy.breaker]
window = "10s"
min_calls = 20
error_rate = 0.25
slow_call = "50ms"
slow_rate = 0.75
open_for = "1s"
probes = 5

[scale]
counts = ["consumer.workers", "policy.max_lag"]

[[fault]]
at = "30s"
kind = "partition"
a = "brokers"
b = ["consumer-1", "consumer-0", "consumer-1"]
oneway = true
for = "20s"

[[fault]]
at = "1m"
kind = "heal"

[[fault]]
at = "1m"
kind = "hold"
a = "producers"
b = "broker-0"

[[fault]]
at = "1m10s"
kind = "release"
a = "producers"
b = "broker-0"

[[fault]]
at = "1m30s"
kind = "latency"
a = "store-0"
b = "consumers"
latency = "100ms..200ms"
for = "1m"

[[fault]]
at = "2m"
kind = "loss"
rate = 0.25
for = "10s"

[[fault]]
at = "3m"
kind = "crash"
target = "broker-0"
restart_after = "30s"

[[fault]]
at = "3m"
kind = "pause"
target = ["consumer-3", "controller-0", "store-1"]
for = "5s"

[[fault]]
at = "4m"
kind = "slow_storage"
target = "stores"
latency = "200ms..800ms"
for = "30s"

[[fault]]
at = "4m40s"
kind = "slow_storage"
target = "store-1"
factor = 8
for = "10s"

[expect]
lost = 0
silently_dropped = "> 0"
max_lag = ">=5000"
recovery_ms = "< 60000"
duplicate_effects = "<=3"
sent = "= 100"

[expect.silent_drop]
silently_dropped = "> 10"

[expect.circuit_breaker]
shed = "> 0"
silently_dropped = 0
"#;

    /// A queue scenario: every queue-only field (none of the log's), and
    /// the queue-only fault kinds.
    const FULL_QUEUE: &str = r#"
name = "full-queue"
summary = "Every queue field set"
duration = "2m"

[topology]
brokers = 3
partitions = 2

[workload]
producers = 2

[broker]
kind = "queue"
fsync = "never"
writeback = "5s"
acks = 1
session_timeout = "60s"
visibility_timeout = "45s"
max_receives = 5
fifo = true
max_length = 2000
overflow = "drop_oldest"
partition_handling = "autoheal"
queue_type = "quorum"
memory_limit = 50000
memory_alarm = "block_all"
message_ttl = "2m"

[buffer]
brokers = 2
partitions = 4
replication = 2
min_insync = 1
relays = 2
rate = "500/s"
max_depth = 1000

[consumer]
workers = 2
commit = "before_effect"
fetch_max = 10
partial_batch_failure = true
retry_backoff = "200ms"

[[fault]]
at = "10s"
kind = "poison"
rate = 0.01
ids = ["p0-17", "p1-0", "p0-3"]
for = "20s"

[[fault]]
at = "15s"
kind = "poison"
ids = ["p1-99"]

[[fault]]
at = "20s"
kind = "partition"
a = "broker-0"
b = ["broker-1", "broker-2"]
for = "10s"

[[fault]]
at = "40s"
kind = "memory_pressure"
target = "broker-1"
limit = 1000
for = "5s"

[[fault]]
at = "1m"
kind = "redrive"

[expect]
poison = "> 0"
poison_dead_lettered = "> 0"
poison_not_dead_lettered = 0
misrouted = 0
max_deliveries = "<= 5"
"#;

    const MINIMAL: &str = r#"
name = "minimal"
summary = "Only the required fields"
duration = "2m"
"#;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn ok(text: &str) -> Scenario {
        match parse(Path::new("t.toml"), text) {
            Ok(s) => s,
            Err(e) => panic!("unexpected errors:\n{e}"),
        }
    }

    fn errs(text: &str) -> Vec<FieldError> {
        match parse(Path::new("t.toml"), text) {
            Ok(s) => panic!("expected errors, parsed {s:?}"),
            Err(e) => e.errors,
        }
    }

    /// The minimal file plus `extra` (tables go after the top-level keys).
    fn with(extra: &str) -> String {
        format!("{MINIMAL}\n{extra}")
    }

    /// The single error of `text`; it must mention every part of `needles`.
    fn one_error(text: &str, path: &str, needles: &[&str]) {
        let e = errs(text);
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(e[0].path, path, "{e:#?}");
        for n in needles {
            assert!(e[0].message.contains(n), "{:?} lacks {n:?}", e[0].message);
        }
    }

    fn h(role: Role, i: u32) -> Host {
        Host::new(role, i)
    }

    #[test]
    fn full_example() {
        let s = ok(FULL);
        assert_eq!(s.name, "full-example");
        assert_eq!(s.duration, secs(300));
        assert_eq!(s.drain, secs(60));
        assert_eq!(s.seed, 42);
        assert_eq!(s.sample_interval, ms(500));
        assert_eq!(s.tick, ms(2));
        assert_eq!(
            s.topology,
            Topology {
                brokers: 3,
                partitions: 8,
                stores: 2,
                replication: 2,
                store_replication: 2,
            }
        );
        assert_eq!(
            s.network.latency,
            LatencyRange {
                min: ms(2),
                max: ms(10)
            }
        );
        assert_eq!(s.workload.producers, 3);
        assert_eq!(s.workload.rate_per_s, 10);
        assert_eq!(
            s.workload.bursts,
            vec![
                Burst {
                    at: secs(60),
                    rate_per_s: 500,
                    duration: secs(30)
                },
                Burst {
                    at: secs(120),
                    rate_per_s: 1000,
                    duration: secs(10)
                },
            ]
        );
        assert_eq!(s.workload.linger, ms(10));
        assert!(s.workload.idempotent);
        assert_eq!(
            s.broker,
            Broker {
                kind: BrokerKind::Log,
                fsync: Fsync::Interval(ms(100)),
                writeback: secs(10),
                acks: Acks::Leader,
                min_insync: 2,
                unclean_leader_election: true,
                replica_lag_max: secs(5),
                session_timeout: secs(3),
                processing: Duration::ZERO,
                cores: 1,
                retention_messages: Some(100_000),
                retention_age: Some(secs(3600)),
                queue: QueueConfig::default(),
            }
        );
        assert_eq!(s.consumer.group, "fanout");
        assert_eq!(s.consumer.commit, CommitMode::BeforeEffect);
        assert!(s.consumer.idempotent);
        assert_eq!(s.consumer.fetch_max, 50);
        assert_eq!(s.consumer.concurrency, 4);
        assert_eq!(s.consumer.assignment, Assignment::RoundRobin);
        assert_eq!(s.consumer.session_timeout, secs(15));
        assert_eq!(s.consumer.auto_offset_reset, OffsetReset::Latest);
        assert_eq!((s.consumer.reads, s.consumer.read_retry), (2, true));
        assert_eq!(
            s.store.latency,
            LatencyRange {
                min: ms(5),
                max: ms(5)
            }
        );
        assert_eq!(
            s.store.read_latency,
            LatencyRange {
                min: ms(2),
                max: ms(4)
            }
        );
        assert_eq!(
            s.policy,
            Policy {
                kind: PolicyKind::SilentDrop,
                max_lag: Some(5000),
                max_lag_age: Some(secs(10)),
                breaker: BreakerConfig {
                    window: secs(10),
                    min_calls: 20,
                    error_rate: 0.25,
                    slow_call: ms(50),
                    slow_rate: 0.75,
                    open_for: secs(1),
                    probes: 5,
                },
            }
        );
        assert_eq!(s.scale_counts, [ScaleCount::Workers, ScaleCount::MaxLag]);
        assert_eq!(s.scale, 1);

        assert_eq!(s.faults.len(), 10);
        let kinds: Vec<&str> = s.faults.iter().map(|f| f.kind.name()).collect();
        assert_eq!(kinds[..9], FAULT_KINDS[..9]);
        assert_eq!(
            s.faults[0],
            Fault {
                at: secs(30),
                until: Some(secs(50)),
                kind: FaultKind::Partition {
                    a: vec![h(Role::Broker, 0), h(Role::Broker, 1), h(Role::Broker, 2)],
                    b: vec![h(Role::Consumer, 0), h(Role::Consumer, 1)],
                    oneway: true,
                },
                repeat: None,
            }
        );
        // heal without a and b: every host on both sides, the controller too.
        match &s.faults[1].kind {
            FaultKind::Heal { a, b } => {
                assert_eq!(a, &s.hosts());
                assert_eq!(b, &s.hosts());
                assert!(a.contains(&h(Role::Controller, 0)));
            }
            k => panic!("{k:?}"),
        }
        assert_eq!(s.faults[1].until, None);
        assert_eq!(s.faults[4].until, Some(secs(150)));
        assert_eq!(
            s.faults[5].kind,
            FaultKind::Loss {
                a: s.hosts(),
                b: s.hosts(),
                rate: 0.25
            }
        );
        assert_eq!(
            s.faults[6],
            Fault {
                at: secs(180),
                until: Some(secs(210)),
                kind: FaultKind::Crash {
                    targets: vec![h(Role::Broker, 0)]
                },
                repeat: None,
            }
        );
        assert_eq!(
            s.faults[7].kind,
            FaultKind::Pause {
                targets: vec![
                    h(Role::Store, 1),
                    h(Role::Consumer, 3),
                    h(Role::Controller, 0)
                ]
            }
        );
        assert_eq!(
            s.faults[8].kind,
            FaultKind::SlowStorage {
                targets: vec![h(Role::Store, 0), h(Role::Store, 1)],
                slow: Slowdown::Extra(LatencyRange {
                    min: ms(200),
                    max: ms(800)
                }),
            }
        );
        assert_eq!(
            s.faults[9].kind,
            FaultKind::SlowStorage {
                targets: vec![h(Role::Store, 1)],
                slow: Slowdown::Factor(8.0),
            }
        );

        let show = |v: &[Expectation]| -> Vec<String> { v.iter().map(|e| e.to_string()).collect() };
        let common = [
            "lost = 0",
            "silently_dropped > 0",
            "max_lag >= 5000",
            "recovery_ms < 60000",
            "duplicate_effects <= 3",
            "sent = 100",
        ];
        assert_eq!(show(&s.expect_common), common);
        // The policy is silent_drop: the common bounds, then its own.
        let mut effective = common.to_vec();
        effective.push("silently_dropped > 10");
        assert_eq!(show(&s.expect), effective);
        let by: Vec<(PolicyKind, Vec<String>)> = (s.expect_by_policy.iter())
            .map(|(k, v)| (*k, show(v)))
            .collect();
        assert_eq!(
            by,
            [
                (
                    PolicyKind::SilentDrop,
                    vec!["silently_dropped > 10".to_string()]
                ),
                (
                    PolicyKind::CircuitBreaker,
                    vec!["shed > 0".to_string(), "silently_dropped = 0".to_string()]
                ),
            ]
        );
    }

    #[test]
    fn minimal_file_gets_defaults() {
        let s = ok(MINIMAL);
        let expected = Scenario {
            name: "minimal".to_string(),
            summary: "Only the required fields".to_string(),
            duration: secs(120),
            drain: secs(30),
            seed: 1,
            sample_interval: secs(1),
            tick: ms(1),
            topology: Topology {
                brokers: 1,
                partitions: 4,
                stores: 1,
                replication: 1,
                store_replication: 1,
            },
            network: Network {
                latency: LatencyRange {
                    min: ms(1),
                    max: ms(5),
                },
            },
            workload: Workload {
                producers: 1,
                rate_per_s: 100,
                keys: 100,
                bursts: vec![],
                retries: 3,
                request_timeout: secs(1),
                delivery_timeout: None,
                linger: ms(5),
                buffer_max: 10_000,
                batch_max: 500,
                idempotent: false,
                skew: None,
            },
            broker: Broker {
                kind: BrokerKind::Log,
                fsync: Fsync::PerBatch,
                writeback: secs(30),
                acks: Acks::All,
                min_insync: 1,
                unclean_leader_election: false,
                replica_lag_max: secs(10),
                session_timeout: secs(6),
                processing: Duration::ZERO,
                cores: 1,
                retention_messages: None,
                retention_age: None,
                queue: QueueConfig::default(),
            },
            consumer: Consumer {
                group: "main".to_string(),
                workers: 1,
                commit: CommitMode::AfterEffect,
                idempotent: false,
                store_timeout: ms(500),
                request_timeout: secs(1),
                fetch_max: 500,
                concurrency: 1,
                processing: Duration::ZERO,
                cores: 1,
                assignment: Assignment::Range,
                session_timeout: secs(10),
                auto_offset_reset: OffsetReset::Earliest,
                reads: 0,
                read_retry: false,
                partial_batch_failure: false,
                retry_backoff: None,
            },
            store: Store {
                latency: LatencyRange {
                    min: ms(1),
                    max: ms(3),
                },
                read_latency: LatencyRange {
                    min: ms(1),
                    max: ms(5),
                },
            },
            policy: Policy {
                kind: PolicyKind::Unbounded,
                max_lag: None,
                max_lag_age: None,
                breaker: BreakerConfig {
                    window: secs(5),
                    min_calls: 10,
                    error_rate: 0.5,
                    slow_call: ms(100),
                    slow_rate: 0.5,
                    open_for: secs(2),
                    probes: 3,
                },
            },
            faults: vec![],
            expect: vec![],
            expect_common: vec![],
            expect_by_policy: vec![],
            swarm: None,
            buffer: None,
            scale_counts: vec![],
            scale: 1,
        };
        assert_eq!(s, expected);
    }

    #[test]
    fn required_fields() {
        let e = errs("seed = 3\n");
        let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["name", "summary", "duration"]);
        assert!(e.iter().all(|e| e.message == "missing required field"));
    }

    #[test]
    fn malformed_toml_has_line_and_column() {
        let text = "name = \"x\"\nsummary = \"y\"\nduration = \"1m\n";
        let err = parse(Path::new("bad.toml"), text).unwrap_err();
        assert_eq!(err.errors.len(), 1);
        assert_eq!(err.errors[0].path, "3:15");
        let shown = err.to_string();
        assert!(shown.starts_with("bad.toml:3:15: invalid TOML"), "{shown}");
        assert!(!shown.contains('\n'));

        let err = parse(Path::new("bad.toml"), "a = 1\n[topology\n").unwrap_err();
        assert_eq!(err.errors[0].path, "2:10");
        let err = parse(Path::new("bad.toml"), "x = ").unwrap_err();
        assert_eq!(err.errors[0].path, "1:5");
        assert_eq!(err.errors[0].message, "invalid TOML syntax");
    }

    #[test]
    fn display_is_one_line_per_error() {
        let err = parse(
            Path::new("s/x.toml"),
            &with("[topology]\npartitons = 3\n[workload]\nrate = 5\n"),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "s/x.toml: topology.partitons: unknown field \"partitons\", expected one of: brokers, partitions, stores, replication, store_replication (did you mean \"partitions\"?)\n\
             s/x.toml: workload.rate: expected a rate string such as \"800/s\" or \"30000/m\", found 5"
        );
    }

    #[test]
    fn unknown_top_level_field() {
        one_error(
            &format!("{MINIMAL}durration = \"5m\"\n"),
            "durration",
            &[
                "unknown field \"durration\"",
                "expected one of: name, summary, duration",
                "did you mean \"duration\"?",
            ],
        );
        one_error(
            &format!("{MINIMAL}zzz = 1\n"),
            "zzz",
            &["unknown field \"zzz\""],
        );
        let e = errs(&format!("{MINIMAL}zzz = 1\n"));
        assert!(!e[0].message.contains("did you mean"));
    }

    #[test]
    fn unknown_nested_field_with_suggestion() {
        one_error(
            &with("[topology]\npartitons = 3\n"),
            "topology.partitons",
            &[
                "unknown field \"partitons\", expected one of: brokers, partitions, stores, replication, store_replication",
                "(did you mean \"partitions\"?)",
            ],
        );
        one_error(
            &with("[consumer]\nworkerz = 3\n"),
            "consumer.workerz",
            &["did you mean \"workers\"?"],
        );
        one_error(
            &with(
                "[workload]\nbursts = [{ at = \"1m\", rate = \"5/s\", for = \"1s\", fro = 1 }]\n",
            ),
            "workload.bursts[0].fro",
            &["unknown field \"fro\"", "did you mean \"for\"?"],
        );
        one_error(
            &with("[[fault]]\nat = \"1s\"\nkind = \"crash\"\ntarget = \"all\"\ntargte = 1\n"),
            "fault[0].targte",
            &["did you mean \"target\"?"],
        );
        // Odd keys are quoted in paths.
        one_error(
            &with("[store]\n\"a b\" = 1\n"),
            "store.\"a b\"",
            &["unknown field \"a b\""],
        );
    }

    #[test]
    fn bad_duration() {
        one_error(
            "name = \"x\"\nsummary = \"y\"\nduration = \"5 minutes\"\n",
            "duration",
            &[
                "expected a duration with units such as \"250ms\"",
                "found \"5 minutes\"",
            ],
        );
        one_error(
            &with("[consumer]\nstore_timeout = 500\n"),
            "consumer.store_timeout",
            &["expected a duration string with units", "found 500"],
        );
        one_error(
            &with("[broker]\nwriteback = \"0s\"\n"),
            "broker.writeback",
            &["above 0"],
        );
        one_error(
            &with("tick = \"500us\"\n"),
            "tick",
            &["whole number of milliseconds from 1ms to 100ms"],
        );
        one_error(
            &with("sample_interval = \"3m\"\n"),
            "sample_interval",
            &["at most duration (2m)"],
        );
        one_error(
            "name = \"x\"\nsummary = \"y\"\nduration = \"500ms\"\n",
            "sample_interval",
            &["at most duration (500ms), found 1s (the default)"],
        );
        one_error(
            &with("drain = \"23h59m\"\n"),
            "drain",
            &["above the limit of 24h"],
        );
    }

    #[test]
    fn negative_rate() {
        one_error(
            &with("[workload]\nrate = \"-5/s\"\n"),
            "workload.rate",
            &["expected a rate that is not negative", "found \"-5/s\""],
        );
        one_error(
            &with("[workload]\nrate = -5\n"),
            "workload.rate",
            &["not negative", "found -5"],
        );
        one_error(
            &with("[workload]\nrate = \"2000000/s\"\n"),
            "workload.rate",
            &["at most 1000000/s"],
        );
    }

    #[test]
    fn limits_and_integers() {
        one_error(
            &with("[topology]\npartitions = 2000\n"),
            "topology.partitions",
            &["from 1 to 1024", "found 2000"],
        );
        one_error(
            &with("[topology]\nstores = 0\n"),
            "topology.stores",
            &["from 1 to 64", "found 0"],
        );
        one_error(
            &with("[workload]\nproducers = 65\n"),
            "workload.producers",
            &["from 1 to 64"],
        );
        one_error(
            &with("[consumer]\nworkers = \"2\"\n"),
            "consumer.workers",
            &["found \"2\""],
        );
        one_error(
            &with("[workload]\nretries = 101\n"),
            "workload.retries",
            &["from 0 to 100"],
        );
        assert_eq!(ok(&with("[topology]\nbrokers = 3\n")).topology.brokers, 3);
        assert_eq!(ok(&with("[topology]\nbrokers = 16\n")).topology.brokers, 16);
        one_error(
            &with("[topology]\nbrokers = 17\n"),
            "topology.brokers",
            &["expected an integer from 1 to 16, found 17"],
        );
        one_error(
            &with("[topology]\nbrokers = 0\n"),
            "topology.brokers",
            &["expected an integer from 1 to 16, found 0"],
        );
        one_error(&with("seed = -1\n"), "seed", &["non-negative integer"]);
        one_error(
            &with("[network]\nlatency = \"1ms..20s\"\n"),
            "network.latency",
            &["at most 10s"],
        );
        one_error(
            &with("[store]\nlatency = \"9ms..3ms\"\n"),
            "store.latency",
            &["min is not above its max"],
        );
    }

    #[test]
    fn enums() {
        assert_eq!(
            ok(&with("[broker]\nkind = \"queue\"\n")).broker.kind,
            BrokerKind::Queue
        );
        one_error(
            &with("[broker]\nkind = \"lgo\"\n"),
            "broker.kind",
            &[
                "expected \"log\" or \"queue\"",
                "found \"lgo\"",
                "did you mean \"log\"?",
            ],
        );
        one_error(
            &with("[broker]\nfsync = \"interval:0s\"\n"),
            "broker.fsync",
            &["above 0"],
        );
        one_error(
            &with("[broker]\nfsync = \"sometimes\"\n"),
            "broker.fsync",
            &["\"per_batch\", \"never\""],
        );
        one_error(
            &with("[consumer]\ncommit = \"after_efect\"\n"),
            "consumer.commit",
            &["did you mean \"after_effect\"?"],
        );
        one_error(
            "name = \"Big Name\"\nsummary = \"y\"\nduration = \"1m\"\n",
            "name",
            &["lowercase"],
        );
        one_error(
            "name = \"x\"\nsummary = \"\"\"a\nb\"\"\"\nduration = \"1m\"\n",
            "summary",
            &["one non-empty line"],
        );
        one_error(
            &with("topology = 3\n"),
            "topology",
            &["expected a table [topology], found 3"],
        );
    }

    #[test]
    fn bursts_in_order_inside_load() {
        one_error(
            &with("[workload]\nbursts = [{ at = \"1m\", rate = \"5/s\", for = \"2m\" }]\n"),
            "workload.bursts[0].for",
            &["ends at 3m", "after the load phase ends at 2m"],
        );
        one_error(
            &with("[workload]\nbursts = [{ at = \"10s\", rate = \"5/s\", for = \"20s\" }, { at = \"20s\", rate = \"7/s\", for = \"1s\" }]\n"),
            "workload.bursts[1].at",
            &["not overlap", "starts at 20s, before workload.bursts[0] ends at 30s"],
        );
        one_error(
            &with("[workload]\nbursts = [{ at = \"10s\", rate = \"5/z\", for = \"20s\" }]\n"),
            "workload.bursts[1].rate".replace("[1]", "[0]").as_str(),
            &["expected a rate"],
        );
        one_error(
            &with("[workload]\nbursts = [{ at = \"10s\", rate = \"5/s\" }]\n"),
            "workload.bursts[0].for",
            &["missing"],
        );
    }

    fn fault(body: &str) -> String {
        with(&format!("[[fault]]\n{body}\n"))
    }

    #[test]
    fn unknown_host() {
        one_error(
            &fault("at = \"1s\"\nkind = \"crash\"\ntarget = \"brokr-0\""),
            "fault[0].target",
            &["unknown host \"brokr-0\"", "(did you mean \"broker-0\"?)"],
        );
        one_error(
            &fault("at = \"1s\"\nkind = \"pause\"\ntarget = [\"store-0\", \"storez\"]"),
            "fault[0].target[1]",
            &["unknown host \"storez\"", "did you mean \"stores\"?"],
        );
        one_error(
            &fault("at = \"1s\"\nkind = \"pause\"\ntarget = []"),
            "fault[0].target",
            &["at least one host"],
        );
    }

    #[test]
    fn host_index_out_of_range() {
        one_error(
            &fault("at = \"1s\"\nkind = \"crash\"\ntarget = \"broker-3\""),
            "fault[0].target",
            &["expected a host such as broker-0 (there is 1 broker), found \"broker-3\""],
        );
        one_error(
            &with("[consumer]\nworkers = 4\n[[fault]]\nat = \"1s\"\nkind = \"pause\"\ntarget = \"consumer-4\"\n"),
            "fault[0].target",
            &["there are 4 consumers, consumer-0 to consumer-3", "found \"consumer-4\""],
        );
        one_error(
            &fault("at = \"1s\"\nkind = \"pause\"\ntarget = \"producer-99999999999999\""),
            "fault[0].target",
            &["there is 1 producer"],
        );
    }

    #[test]
    fn overlapping_faults_on_a_shared_host_or_link() {
        // Two crashes of broker-0: the first restart would end the second.
        one_error(
            &with("[[fault]]\nat = \"10s\"\nkind = \"crash\"\ntarget = \"broker-0\"\nrestart_after = \"10s\"\n[[fault]]\nat = \"15s\"\nkind = \"crash\"\ntarget = \"brokers\"\nrestart_after = \"30s\"\n"),
            "fault[1]",
            &["overlaps fault[0] (crash 10s..20s) on broker-0"],
        );
        // Loss ending would repair a partition still open on the same link.
        one_error(
            &with("[[fault]]\nat = \"10s\"\nkind = \"partition\"\na = \"consumers\"\nb = \"brokers\"\n[[fault]]\nat = \"20s\"\nkind = \"loss\"\na = \"broker-0\"\nb = \"consumer-0\"\nrate = 0.1\nfor = \"5s\"\n"),
            "fault[1]",
            &["overlaps fault[0] (partition 10s..2m)", "consumer-0 <-> broker-0"],
        );
        // Back to back, different hosts, or different kinds on one host: fine.
        for text in [
            "[[fault]]\nat = \"10s\"\nkind = \"pause\"\ntarget = \"consumer-0\"\nfor = \"5s\"\n[[fault]]\nat = \"15s\"\nkind = \"pause\"\ntarget = \"consumer-0\"\nfor = \"5s\"\n",
            "[[fault]]\nat = \"10s\"\nkind = \"pause\"\ntarget = \"consumer-0\"\nfor = \"5s\"\n[[fault]]\nat = \"11s\"\nkind = \"pause\"\ntarget = \"producer-0\"\nfor = \"5s\"\n",
            "[[fault]]\nat = \"10s\"\nkind = \"pause\"\ntarget = \"broker-0\"\nfor = \"5s\"\n[[fault]]\nat = \"11s\"\nkind = \"slow_storage\"\ntarget = \"broker-0\"\nlatency = \"5ms\"\nfor = \"5s\"\n",
        ] {
            assert_eq!(ok(&with(text)).faults.len(), 2, "{text}");
        }
    }

    #[test]
    fn swarm_section() {
        let s = ok(&with("[swarm]\nfaults = 2\nkinds = [\"crash\", \"loss\"]\nwindow = \"1s..5s\"\nrate = \"10/s..20/s\""));
        let sw = s.swarm.unwrap();
        assert_eq!(sw.faults, (2, 2));
        assert_eq!(sw.kinds, ["crash", "loss"]);
        assert_eq!(sw.window, (secs(1), secs(5)));
        assert_eq!(sw.rate, Some((10, 20)));
        let d = ok(&with("[swarm]")).swarm.unwrap();
        assert_eq!(
            (d.faults, d.window, d.rate),
            ((1, 3), (secs(1), secs(10)), None)
        );
        one_error(
            &with("[swarm]\nfaults = \"3..1\""),
            "swarm.faults",
            &["count range"],
        );
        one_error(
            &with("[swarm]\nkinds = [\"heal\"]"),
            "swarm.kinds",
            &["with a window", "\"heal\""],
        );
        one_error(
            &with("[swarm]\nwindow = \"1s..5m\""),
            "swarm.window",
            &["no longer than the load phase (2m)"],
        );
        one_error(
            &with("[swarm]\nrate = \"5/s\""),
            "swarm.rate",
            &["rate range"],
        );
        one_error(
            &with("[swarm]\nwindow = \"500us..900us\""),
            "swarm.window",
            &["whole milliseconds"],
        );
        one_error(
            &with("[swarm]\n[[fault]]\nat = \"1s\"\nkind = \"pause\"\ntarget = \"broker-0\""),
            "swarm",
            &["remove its [[fault]] entries"],
        );
    }

    #[test]
    fn zero_drain_zero_linger_and_too_many_lanes() {
        one_error(&with("drain = \"0\""), "drain", &["at least 1s"]);
        one_error(
            &with("[workload]\nlinger = \"0\""),
            "workload.linger",
            &["above 0"],
        );
        one_error(
            &with("[topology]\npartitions = 1000\n[consumer]\nconcurrency = 8"),
            "consumer.concurrency",
            &["1000 × 8 = 8000"],
        );
    }

    #[test]
    fn fault_past_the_end() {
        one_error(
            &fault("at = \"3m\"\nkind = \"crash\"\ntarget = \"broker-0\""),
            "fault[0].at",
            &["before the end of the load phase (duration = 2m), found 3m"],
        );
        one_error(
            &fault("at = \"90s\"\nkind = \"pause\"\ntarget = \"broker-0\"\nfor = \"1m\""),
            "fault[0].for",
            &["ends at 2m30s (at 1m30s + for 1m), after the load phase ends at 2m"],
        );
        one_error(
            &fault(
                "at = \"90s\"\nkind = \"crash\"\ntarget = \"broker-0\"\nrestart_after = \"31s\"",
            ),
            "fault[0].restart_after",
            &["ends at 2m1s", "restart_after 31s"],
        );
        let s = ok(&fault(
            "at = \"90s\"\nkind = \"crash\"\ntarget = \"broker-0\"\nrestart_after = \"30s\"",
        ));
        assert_eq!(s.faults[0].until, Some(secs(120)));
        let s = ok(&fault(
            "at = \"90s\"\nkind = \"crash\"\ntarget = \"broker-0\"",
        ));
        assert_eq!(s.faults[0].until, None);
    }

    #[test]
    fn faults_out_of_order() {
        one_error(
            &with("[[fault]]\nat = \"1m\"\nkind = \"pause\"\ntarget = \"broker-0\"\n[[fault]]\nat = \"30s\"\nkind = \"heal\"\n"),
            "fault[1].at",
            &["time order", "at 30s, before fault[0].at = 1m"],
        );
    }

    #[test]
    fn for_on_crash() {
        one_error(
            &fault("at = \"1s\"\nkind = \"crash\"\ntarget = \"broker-0\"\nfor = \"10s\""),
            "fault[0].for",
            &[
                "field \"for\" does not apply to kind \"crash\"",
                "use restart_after",
            ],
        );
        one_error(
            &fault("at = \"1s\"\nkind = \"heal\"\nfor = \"10s\""),
            "fault[0].for",
            &["does not apply to kind \"heal\""],
        );
    }

    #[test]
    fn field_not_applying_to_kind() {
        one_error(
            &fault("at = \"1s\"\nkind = \"crash\"\ntarget = \"broker-0\"\noneway = true"),
            "fault[0].oneway",
            &["field \"oneway\" does not apply to kind \"crash\""],
        );
        one_error(
            &fault("at = \"1s\"\nkind = \"partition\"\na = \"brokers\"\nb = \"stores\"\nlatency = \"5ms\""),
            "fault[0].latency",
            &["field \"latency\" does not apply to kind \"partition\""],
        );
    }

    #[test]
    fn unknown_fault_kind_and_missing_fields() {
        one_error(
            &fault("at = \"1s\"\nkind = \"crsh\"\ntarget = \"broker-0\""),
            "fault[0].kind",
            &[
                "unknown fault kind \"crsh\"",
                "expected one of: partition, heal",
                "did you mean \"crash\"?",
            ],
        );
        one_error(
            &fault("at = \"1s\"\nkind = \"partition\"\na = \"brokers\""),
            "fault[0].b",
            &["missing required field"],
        );
        one_error(
            &fault("at = \"1s\"\nkind = \"heal\"\na = \"brokers\""),
            "fault[0].b",
            &["both a and b, or neither"],
        );
        one_error(
            &fault("at = \"1s\"\nkind = \"loss\"\nrate = 1.5"),
            "fault[0].rate",
            &["at most 1"],
        );
        one_error(
            &fault("at = \"1s\"\nkind = \"loss\""),
            "fault[0].rate",
            &["missing required field for kind \"loss\""],
        );
        one_error(
            &fault("at = \"1s\"\nkind = \"latency\""),
            "fault[0].latency",
            &["missing"],
        );
        one_error(
            &fault("kind = \"pause\"\ntarget = \"all\""),
            "fault[0].at",
            &["missing"],
        );
        one_error(&with("[fault]\nat = \"1s\"\n"), "fault", &["[[fault]]"]);
        let s = ok(&fault("at = \"1s\"\nkind = \"loss\"\nrate = 1"));
        assert!(matches!(s.faults[0].kind, FaultKind::Loss { rate, .. } if rate == 1.0));
    }

    #[test]
    fn a_b_overlap() {
        one_error(
            &fault("at = \"1s\"\nkind = \"partition\"\na = \"brokers\"\nb = [\"all\"]"),
            "fault[0].b",
            &["both sides", "broker-0"],
        );
    }

    #[test]
    fn slow_storage_on_a_producer() {
        one_error(
            &fault("at = \"1s\"\nkind = \"slow_storage\"\ntarget = [\"store-0\", \"producer-0\"]\nlatency = \"10ms\""),
            "fault[0].target",
            &["slow_storage applies to brokers, stores and the controller only, found producer-0"],
        );
        let s = ok(&fault(
            "at = \"1s\"\nkind = \"slow_storage\"\ntarget = [\"brokers\", \"controller-0\"]\nlatency = \"10ms\"",
        ));
        assert_eq!(
            s.faults[0].kind,
            FaultKind::SlowStorage {
                targets: vec![h(Role::Broker, 0), h(Role::Controller, 0)],
                slow: Slowdown::Extra(LatencyRange {
                    min: ms(10),
                    max: ms(10)
                }),
            }
        );
    }

    #[test]
    fn bad_expectation_operator() {
        one_error(
            &with("[expect]\nlost = \"~ 5\"\n"),
            "expect.lost",
            &[
                "comparison such as \"> 0\"",
                "operators =, >, <, <=, >=",
                "found \"~ 5\"",
            ],
        );
        one_error(
            &with("[expect]\nlost = \"== 5\"\n"),
            "expect.lost",
            &["found \"== 5\""],
        );
        one_error(
            &with("[expect]\nlost = -1\n"),
            "expect.lost",
            &["non-negative integer"],
        );
        one_error(
            &with("[expect]\nlost = \">\"\n"),
            "expect.lost",
            &["comparison"],
        );
    }

    #[test]
    fn unknown_metric() {
        one_error(
            &with("[expect]\nlots = 0\n"),
            "expect.lots",
            &[
                "unknown metric \"lots\"",
                "expected one of: sent, acked, took_effect, lost",
                "latency_max_ms",
                "(did you mean \"lost\"?)",
            ],
        );
    }

    #[test]
    fn several_errors_in_one_file_are_all_reported() {
        let text = r#"
name = "several"
summary = "many mistakes"
duration = "5 minutes"
colour = "red"

[topology]
partitons = 3

[workload]
rate = "-5/s"
bursts = [{ at = "1s", rate = "10/s", for = "1s" }, { at = "x", rate = "10/s", for = "1s" }]

[[fault]]
at = "1s"
kind = "crash"
target = "broker-7"
for = "3s"

[[fault]]
at = "2s"
kind = "slow_storage"
target = "producers"
latency = "5ms"

[expect]
lots = "> 0"
"#;
        let e = errs(text);
        assert!(e.len() >= 3, "{e:#?}");
        for path in [
            "duration",
            "colour",
            "topology.partitons",
            "workload.rate",
            "workload.bursts[1].at",
            "fault[0].target",
            "fault[0].for",
            "fault[1].target",
            "expect.lots",
        ] {
            assert!(
                e.iter().any(|e| e.path == path),
                "{path} missing from {e:#?}"
            );
        }
        assert_eq!(e.len(), 9, "{e:#?}");
    }

    #[test]
    fn load_reports_unreadable_files() {
        let dir = std::env::temp_dir();
        let e = load(&dir).unwrap_err();
        assert_eq!(e.errors[0].path, "");
        assert_eq!(e.errors[0].message, "cannot read: is a directory");
        assert_eq!(
            e.to_string(),
            format!("{}: cannot read: is a directory", dir.display())
        );
        let e = load(Path::new("/nonexistent/mqsim/x.toml")).unwrap_err();
        assert_eq!(e.errors[0].message, "cannot read: no such file");
    }

    #[test]
    fn never_panics_on_mutations() {
        let mut inputs: Vec<Vec<u8>> = Vec::new();
        for base in [FULL.as_bytes(), FULL_QUEUE.as_bytes()] {
            // Truncations at every byte boundary.
            for n in 0..=base.len() {
                inputs.push(base[..n].to_vec());
            }
            // Deterministic byte substitutions (a small LCG picks place and byte).
            const BYTES: &[u8] = b"\"[]{}=.,-#0 9\nxa\\'";
            let mut x: u64 = 0x2545_f491_4f6c_dd1d;
            for _ in 0..400 {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let at = (x >> 33) as usize % base.len();
                let b = BYTES[(x >> 17) as usize % BYTES.len()];
                let mut v = base.to_vec();
                v[at] = b;
                inputs.push(v);
            }
        }
        for input in inputs {
            let text = String::from_utf8_lossy(&input);
            if let Err(e) = parse(Path::new("m.toml"), &text) {
                assert!(!e.errors.is_empty());
                for fe in &e.errors {
                    assert!(!fe.message.is_empty());
                    assert!(!fe.message.contains('\n'), "{fe:?}");
                }
            }
        }
    }

    /// The keys the walker accepts equal the raw types' serde fields.
    #[test]
    fn walker_and_raw_types_agree() {
        fn serde_keys<T: Default + serde::Serialize>() -> BTreeSet<String> {
            match serde_json::to_value(T::default()) {
                Ok(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
                other => panic!("{other:?}"),
            }
        }
        fn fields<T: Schema>() -> BTreeSet<String> {
            T::FIELDS.iter().map(|s| s.to_string()).collect()
        }
        use super::super::raw::*;
        let schemas: [(&str, BTreeSet<String>, BTreeSet<String>); 19] = [
            (
                "scenario",
                serde_keys::<RawScenario>(),
                fields::<RawScenario>(),
            ),
            (
                "topology",
                serde_keys::<RawTopology>(),
                fields::<RawTopology>(),
            ),
            (
                "network",
                serde_keys::<RawNetwork>(),
                fields::<RawNetwork>(),
            ),
            (
                "workload",
                serde_keys::<RawWorkload>(),
                fields::<RawWorkload>(),
            ),
            ("burst", serde_keys::<RawBurst>(), fields::<RawBurst>()),
            ("broker", serde_keys::<RawBroker>(), fields::<RawBroker>()),
            (
                "consumer",
                serde_keys::<RawConsumer>(),
                fields::<RawConsumer>(),
            ),
            ("store", serde_keys::<RawStore>(), fields::<RawStore>()),
            ("policy", serde_keys::<RawPolicy>(), fields::<RawPolicy>()),
            (
                "breaker",
                serde_keys::<RawBreaker>(),
                fields::<RawBreaker>(),
            ),
            ("scale", serde_keys::<RawScale>(), fields::<RawScale>()),
            ("swarm", serde_keys::<RawSwarm>(), fields::<RawSwarm>()),
            ("buffer", serde_keys::<RawBuffer>(), fields::<RawBuffer>()),
            ("fault", serde_keys::<RawFault>(), fields::<RawFault>()),
            ("expect", serde_keys::<RawExpect>(), fields::<RawExpect>()),
            (
                "policy_expect",
                serde_keys::<RawPolicyExpect>(),
                fields::<RawPolicyExpect>(),
            ),
            (
                "metrics",
                Metric::ALL.iter().map(|m| m.name().to_string()).collect(),
                fields::<RawPolicyExpect>()
                    .into_iter()
                    .filter(|k| k != "partition" && k != "key")
                    .collect(),
            ),
            (
                "group_expect",
                serde_keys::<RawGroupExpect>(),
                fields::<RawGroupExpect>(),
            ),
            (
                "group_metrics",
                GROUP_METRICS.iter().map(|m| m.name().to_string()).collect(),
                fields::<RawGroupExpect>(),
            ),
        ];
        for (name, serde, fields) in &schemas {
            assert_eq!(serde, fields, "schema {name}");
        }
        // `[expect]` holds the metrics, one sub-table per policy kind, and
        // the groups (`partition.<p>`, `key.<class>`).
        let metrics = &RawPolicyExpect::FIELDS[..RawPolicyExpect::FIELDS.len() - 2];
        let mut expect_keys: Vec<&str> = metrics.to_vec();
        expect_keys.extend(PolicyKind::ALL.iter().map(|k| k.name()));
        expect_keys.extend(["partition", "key"]);
        assert_eq!(RawExpect::FIELDS, expect_keys);

        // Walking the full example (plus a [swarm], which excludes its
        // faults) reads exactly every schema field.
        let root: Table = FULL.parse().unwrap();
        let mut c = Check::default();
        assert!(c.scenario(&root).is_some(), "{:#?}", c.errors);
        let swarm: Table = with(
            "[swarm]\nfaults = 1\nkinds = [\"crash\"]\nwindow = \"1s..2s\"\nrate = \"1/s..2/s\"\n",
        )
        .parse()
        .unwrap();
        assert!(c.scenario(&swarm).is_some(), "{:#?}", c.errors);
        let queue: Table = FULL_QUEUE.parse().unwrap();
        assert!(c.scenario(&queue).is_some(), "{:#?}", c.errors);
        for (name, _, fields) in &schemas[..16] {
            let read: BTreeSet<String> = c
                .read
                .iter()
                .filter(|(s, _)| s == name)
                .map(|(_, k)| k.clone())
                .collect();
            if *name == "expect" || *name == "policy_expect" {
                assert!(!read.is_empty() && read.is_subset(fields), "{read:?}");
            } else {
                assert_eq!(&read, fields, "fields read by the walker for {name}");
            }
        }

        // The fault kind table covers the kinds, and names only fault fields.
        let kinds: Vec<&str> = FAULT_KIND_FIELDS.iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, FAULT_KINDS);
        for (_, fs) in FAULT_KIND_FIELDS {
            assert!(fs
                .iter()
                .all(|f| RawFault::FIELDS.contains(f) && *f != "at" && *f != "kind"));
        }

        // Every other key is rejected in every table.
        let text = format!(
            "{MINIMAL}bogus = 1\n[topology]\nbogus = 1\n[network]\nbogus = 1\n[workload]\nbogus = 1\n\
             bursts = [{{ at = \"1s\", rate = \"1/s\", for = \"1s\", bogus = 1 }}]\n[broker]\nbogus = 1\n\
             [consumer]\nbogus = 1\n[store]\nbogus = 1\n[policy]\nbogus = 1\n[policy.breaker]\nbogus = 1\n\
             [scale]\nbogus = 1\n[[fault]]\nat = \"1s\"\nkind = \"heal\"\nbogus = 1\n\
             [expect]\nbogus = 1\n[expect.backpressure]\nbogus = 1\n"
        );
        assert_eq!(errs(&text).len(), 14, "{:#?}", errs(&text));
        let s = ok(&with("[swarm]\n"));
        assert!(s.swarm.is_some());
        one_error(
            &with("[swarm]\nbogus = 1\n"),
            "swarm.bogus",
            &["unknown field"],
        );
    }

    /// Valid files also deserialise through the serde raw types.
    #[test]
    fn valid_files_fit_the_raw_types() {
        let mut texts = vec![
            FULL.to_string(),
            FULL_QUEUE.to_string(),
            MINIMAL.to_string(),
        ];
        texts.extend(readme_examples());
        for text in &texts {
            let raw: RawScenario = toml::from_str(text).unwrap();
            assert!(raw.name.is_some());
        }
    }

    fn readme_section() -> String {
        let readme = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../docs/scenario-format.md"
        ))
        .expect("docs/scenario-format.md");
        let start = readme
            .find("<!-- scenario-reference:start -->")
            .expect("start marker");
        let end = readme
            .find("<!-- scenario-reference:end -->")
            .expect("end marker");
        readme[start..end].to_string()
    }

    /// Every ```toml block of the reference (docs/scenario-format.md).
    fn readme_examples() -> Vec<String> {
        let section = readme_section();
        let mut out = Vec::new();
        let mut rest = section.as_str();
        while let Some(i) = rest.find("```toml\n") {
            rest = &rest[i + "```toml\n".len()..];
            let len = rest.find("```").expect("end of the example");
            out.push(rest[..len].to_string());
            rest = &rest[len + 3..];
        }
        assert!(!out.is_empty(), "a ```toml example");
        out
    }

    #[test]
    fn readme_documents_every_key() {
        use super::super::raw::*;
        let section = readme_section();
        let mut keys: Vec<&str> = Vec::new();
        for fs in [
            RawScenario::FIELDS,
            RawTopology::FIELDS,
            RawNetwork::FIELDS,
            RawWorkload::FIELDS,
            RawBurst::FIELDS,
            RawBroker::FIELDS,
            RawConsumer::FIELDS,
            RawStore::FIELDS,
            RawPolicy::FIELDS,
            RawBreaker::FIELDS,
            RawScale::FIELDS,
            RawFault::FIELDS,
            RawExpect::FIELDS,
            RawPolicyExpect::FIELDS,
            RawSwarm::FIELDS,
        ] {
            keys.extend(fs);
        }
        keys.extend(Metric::ALL.iter().map(|m| m.name()));
        keys.extend(FAULT_KINDS);
        keys.extend(PolicyKind::ALL.iter().map(|k| k.name()));
        keys.extend(ScaleCount::ALL.iter().map(|c| c.path()));
        keys.extend(["[policy.breaker]", "--scale K", "--policy"]);
        keys.extend([
            "per_batch",
            "never",
            "after_effect",
            "before_effect",
            "all",
            "range",
            "round_robin",
            "earliest",
            "latest",
            "controller-0",
            "log",
            "queue",
            "reject_new",
            "drop_oldest",
            "block",
            "pause_minority",
            "autoheal",
            "classic",
            "quorum",
        ]);
        keys.extend(Role::ALL.iter().map(|r| r.plural()));
        let missing: Vec<&str> = keys
            .into_iter()
            .filter(|k| {
                // Tables may be written as their header: `[topology]`, `[[fault]]`.
                [format!("`{k}`"), format!("`[{k}]`"), format!("`[[{k}]]`")]
                    .iter()
                    .all(|quoted| !section.contains(quoted.as_str()))
            })
            .collect();
        assert!(
            missing.is_empty(),
            "docs/scenario-format.md lacks: {missing:?}"
        );
    }

    #[test]
    fn readme_examples_are_valid() {
        for text in readme_examples() {
            let s = ok(&text);
            assert!(!s.expect.is_empty(), "{text}");
        }
        assert!(readme_examples().iter().any(|t| !ok(t).faults.is_empty()));
    }

    #[test]
    fn replication() {
        // Default min(3, brokers).
        for (brokers, replication) in [(1, 1), (2, 2), (3, 3), (16, 3)] {
            let s = ok(&with(&format!("[topology]\nbrokers = {brokers}\n")));
            assert_eq!(s.topology.replication, replication, "brokers = {brokers}");
        }
        let s = ok(&with("[topology]\nbrokers = 5\nreplication = 5\n"));
        assert_eq!(s.topology.replication, 5);
        one_error(
            &with("[topology]\nbrokers = 3\nreplication = 4\n"),
            "topology.replication",
            &["expected at most topology.brokers (3), found 4"],
        );
        one_error(
            &with("[topology]\nreplication = 2\n"),
            "topology.replication",
            &["expected at most topology.brokers (1), found 2"],
        );
        one_error(
            &with("[topology]\nreplication = 0\n"),
            "topology.replication",
            &["expected an integer of at least 1, found 0"],
        );
        one_error(
            &with("[topology]\nreplication = \"2\"\n"),
            "topology.replication",
            &["expected an integer", "found \"2\""],
        );
        // An invalid broker count is the only error: replication is not
        // judged against it.
        one_error(
            &with("[topology]\nbrokers = 40\nreplication = 20\n"),
            "topology.brokers",
            &["from 1 to 16, found 40"],
        );
    }

    #[test]
    fn idempotent_producer() {
        assert!(!ok(MINIMAL).workload.idempotent);
        assert!(
            ok(&with("[workload]\nidempotent = true\n"))
                .workload
                .idempotent
        );
        one_error(
            &with("[workload]\nidempotent = \"yes\"\n"),
            "workload.idempotent",
            &["expected true or false, found \"yes\""],
        );
    }

    #[test]
    fn acks() {
        for (text, acks) in [
            ("0", Acks::None),
            ("1", Acks::Leader),
            ("\"0\"", Acks::None),
            ("\"1\"", Acks::Leader),
            ("\"all\"", Acks::All),
        ] {
            let s = ok(&with(&format!("[broker]\nacks = {text}\n")));
            assert_eq!(s.broker.acks, acks, "acks = {text}");
        }
        one_error(
            &with("[broker]\nacks = 2\n"),
            "broker.acks",
            &["expected 0, 1 or \"all\", found 2"],
        );
        one_error(
            &with("[broker]\nacks = \"al\"\n"),
            "broker.acks",
            &[
                "expected 0, 1 or \"all\", found \"al\"",
                "(did you mean \"all\"?)",
            ],
        );
        one_error(
            &with("[broker]\nacks = \"leader\"\n"),
            "broker.acks",
            &["expected 0, 1 or \"all\", found \"leader\""],
        );
        one_error(
            &with("[broker]\nacks = true\n"),
            "broker.acks",
            &["expected 0, 1 or \"all\", found true"],
        );
        one_error(
            &with("[broker]\nacks = -1\n"),
            "broker.acks",
            &["found -1", "write \"all\" for Kafka's -1"],
        );
    }

    #[test]
    fn min_insync() {
        let s = ok(&with("[topology]\nbrokers = 3\n[broker]\nmin_insync = 2\n"));
        assert_eq!(s.broker.min_insync, 2);
        let s = ok(&with(
            "[topology]\nbrokers = 5\nreplication = 5\n[broker]\nmin_insync = 5\n",
        ));
        assert_eq!(s.broker.min_insync, 5);
        one_error(
            &with("[topology]\nbrokers = 3\nreplication = 2\n[broker]\nmin_insync = 3\n"),
            "broker.min_insync",
            &["expected at most topology.replication (2), found 3"],
        );
        // Against the default replication, the message says where it came from.
        one_error(
            &with("[topology]\nbrokers = 4\n[broker]\nmin_insync = 4\n"),
            "broker.min_insync",
            &[
                "expected at most topology.replication (3, its default: min(3, topology.brokers)), found 4",
            ],
        );
        one_error(
            &with("[broker]\nmin_insync = 0\n"),
            "broker.min_insync",
            &["expected an integer of at least 1, found 0"],
        );
        one_error(
            &with("[broker]\nmin_insync = 1.5\n"),
            "broker.min_insync",
            &["found 1.5"],
        );
        // An invalid replication is the only error: min_insync is not judged
        // against it.
        one_error(
            &with("[topology]\nreplication = 0\n[broker]\nmin_insync = 3\n"),
            "topology.replication",
            &["at least 1"],
        );
    }

    #[test]
    fn leader_election_and_liveness_timeouts() {
        let s = ok(&with(
            "[broker]\nunclean_leader_election = true\nreplica_lag_max = \"2s\"\nsession_timeout = \"900ms\"\n",
        ));
        assert!(s.broker.unclean_leader_election);
        assert_eq!(s.broker.replica_lag_max, secs(2));
        assert_eq!(s.broker.session_timeout, ms(900));
        one_error(
            &with("[broker]\nunclean_leader_election = 1\n"),
            "broker.unclean_leader_election",
            &["expected true or false, found 1"],
        );
        one_error(
            &with("[broker]\nreplica_lag_max = \"0s\"\n"),
            "broker.replica_lag_max",
            &["above 0"],
        );
        one_error(
            &with("[broker]\nreplica_lag_max = 10\n"),
            "broker.replica_lag_max",
            &["expected a duration string with units", "found 10"],
        );
        one_error(
            &with("[broker]\nsession_timeout = \"0\"\n"),
            "broker.session_timeout",
            &["above 0"],
        );
        one_error(
            &with("[broker]\nsession_timeout = \"6 s\"\n"),
            "broker.session_timeout",
            &["found \"6 s\""],
        );
    }

    #[test]
    fn retention() {
        let b = ok(MINIMAL).broker;
        assert_eq!((b.retention_messages, b.retention_age), (None, None));
        let b = ok(&with(
            "[broker]\nretention_messages = 10000000000\nretention_age = \"1h30m\"\n",
        ))
        .broker;
        assert_eq!(b.retention_messages, Some(10_000_000_000));
        assert_eq!(b.retention_age, Some(secs(5400)));
        assert_eq!(
            ok(&with("[broker]\nretention_messages = 1\n"))
                .broker
                .retention_messages,
            Some(1)
        );
        one_error(
            &with("[broker]\nretention_messages = 0\n"),
            "broker.retention_messages",
            &["expected an integer of at least 1, found 0"],
        );
        one_error(
            &with("[broker]\nretention_messages = \"1000\"\n"),
            "broker.retention_messages",
            &["expected an integer of at least 1, found \"1000\""],
        );
        one_error(
            &with("[broker]\nretention_age = \"0s\"\n"),
            "broker.retention_age",
            &["above 0"],
        );
        one_error(
            &with("[broker]\nretention_age = 3600\n"),
            "broker.retention_age",
            &["expected a duration string with units", "found 3600"],
        );
    }

    #[test]
    fn consumer_group_fields() {
        let c = ok(&with(
            "[consumer]\nassignment = \"round_robin\"\nsession_timeout = \"30s\"\nauto_offset_reset = \"earliest\"\n",
        ))
        .consumer;
        assert_eq!(c.assignment, Assignment::RoundRobin);
        assert_eq!(c.session_timeout, secs(30));
        assert_eq!(c.auto_offset_reset, OffsetReset::Earliest);
        let c = ok(&with(
            "[consumer]\nassignment = \"range\"\nauto_offset_reset = \"latest\"\n",
        ))
        .consumer;
        assert_eq!(c.assignment, Assignment::Range);
        assert_eq!(c.auto_offset_reset, OffsetReset::Latest);
        one_error(
            &with("[consumer]\nassignment = \"round-robin\"\n"),
            "consumer.assignment",
            &[
                "expected \"range\" or \"round_robin\", found \"round-robin\"",
                "(did you mean \"round_robin\"?)",
            ],
        );
        one_error(
            &with("[consumer]\nassignment = \"sticky\"\n"),
            "consumer.assignment",
            &["expected \"range\" or \"round_robin\", found \"sticky\""],
        );
        let e = errs(&with("[consumer]\nassignment = \"sticky\"\n"));
        assert!(!e[0].message.contains("did you mean"));
        one_error(
            &with("[consumer]\nassignment = 1\n"),
            "consumer.assignment",
            &["expected \"range\" or \"round_robin\", found 1"],
        );
        one_error(
            &with("[consumer]\nsession_timeout = \"0ms\"\n"),
            "consumer.session_timeout",
            &["above 0"],
        );
        one_error(
            &with("[consumer]\nsession_timeout = true\n"),
            "consumer.session_timeout",
            &["expected a duration string with units", "found true"],
        );
        one_error(
            &with("[consumer]\nauto_offset_reset = \"earlist\"\n"),
            "consumer.auto_offset_reset",
            &[
                "expected \"earliest\" or \"latest\", found \"earlist\"",
                "(did you mean \"earliest\"?)",
            ],
        );
        one_error(
            &with("[consumer]\nauto_offset_reset = \"none\"\n"),
            "consumer.auto_offset_reset",
            &["expected \"earliest\" or \"latest\", found \"none\""],
        );
    }

    #[test]
    fn controller_hosts() {
        let s = ok(&fault(
            "at = \"1s\"\nkind = \"crash\"\ntarget = \"controller-0\"",
        ));
        assert_eq!(
            s.faults[0].kind,
            FaultKind::Crash {
                targets: vec![h(Role::Controller, 0)]
            }
        );
        let s = ok(&fault(
            "at = \"1s\"\nkind = \"partition\"\na = \"controllers\"\nb = [\"brokers\", \"consumer-0\"]",
        ));
        assert_eq!(
            s.faults[0].kind,
            FaultKind::Partition {
                a: vec![h(Role::Controller, 0)],
                b: vec![h(Role::Broker, 0), h(Role::Consumer, 0)],
                oneway: false,
            }
        );
        let s = ok(&fault("at = \"1s\"\nkind = \"pause\"\ntarget = \"all\""));
        match &s.faults[0].kind {
            FaultKind::Pause { targets } => assert!(targets.contains(&h(Role::Controller, 0))),
            k => panic!("{k:?}"),
        }
        one_error(
            &fault("at = \"1s\"\nkind = \"crash\"\ntarget = \"controller-1\""),
            "fault[0].target",
            &["expected a host such as controller-0 (there is 1 controller), found \"controller-1\""],
        );
        one_error(
            &fault("at = \"1s\"\nkind = \"crash\"\ntarget = \"controler-0\""),
            "fault[0].target",
            &[
                "unknown host \"controler-0\"",
                "a role (brokers, stores, producers, consumers, controllers, buffers, relays) or all",
                "(did you mean \"controller-0\"?)",
            ],
        );
        one_error(
            &fault("at = \"1s\"\nkind = \"pause\"\ntarget = \"controller\""),
            "fault[0].target",
            &["(did you mean \"controllers\"?)"],
        );
        one_error(
            &fault("at = \"1s\"\nkind = \"partition\"\na = \"controller-0\"\nb = \"all\""),
            "fault[0].b",
            &["both sides", "controller-0"],
        );
    }

    #[test]
    fn cluster_errors_are_all_reported_at_once() {
        let e = errs(&with(
            "[topology]\nbrokers = 2\nreplication = 3\n[workload]\nidempotent = 1\n\
             [broker]\nacks = \"none\"\nmin_insync = 0\nretention_messages = -5\n\
             [consumer]\nassignment = \"rnage\"\nauto_offset_reset = 0\nsession_timeout = \"0s\"\n",
        ));
        let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "topology.replication",
                "workload.idempotent",
                "broker.acks",
                "broker.min_insync",
                "broker.retention_messages",
                "consumer.assignment",
                "consumer.session_timeout",
                "consumer.auto_offset_reset",
            ],
            "{e:#?}"
        );
        assert!(e[5].message.contains("did you mean \"range\"?"), "{e:#?}");
    }

    #[test]
    fn store_replication() {
        assert_eq!(ok(MINIMAL).topology.store_replication, 1);
        let t = ok(&with("[topology]\nstores = 3\nstore_replication = 3\n")).topology;
        assert_eq!((t.stores, t.store_replication), (3, 3));
        one_error(
            &with("[topology]\nstores = 2\nstore_replication = 3\n"),
            "topology.store_replication",
            &["expected at most topology.stores (2), found 3"],
        );
        one_error(
            &with("[topology]\nstore_replication = 2\n"),
            "topology.store_replication",
            &["expected at most topology.stores (1, its default), found 2"],
        );
        one_error(
            &with("[topology]\nstore_replication = 0\n"),
            "topology.store_replication",
            &["expected an integer of at least 1, found 0"],
        );
        // An invalid store count is the only error.
        one_error(
            &with("[topology]\nstores = 0\nstore_replication = 2\n"),
            "topology.stores",
            &["from 1 to 64, found 0"],
        );
    }

    #[test]
    fn store_reads() {
        let s = ok(MINIMAL);
        assert_eq!((s.consumer.reads, s.consumer.read_retry), (0, false));
        assert_eq!(s.store.read_latency, ms_range(1, 5));
        let s = ok(&with(
            "[consumer]\nreads = 16\nread_retry = true\n[store]\nread_latency = \"3ms..9ms\"\n",
        ));
        assert_eq!((s.consumer.reads, s.consumer.read_retry), (16, true));
        assert_eq!(s.store.read_latency, ms_range(3, 9));
        // The write latency keeps its own default.
        assert_eq!(s.store.latency, ms_range(1, 3));
        one_error(
            &with("[consumer]\nreads = 17\n"),
            "consumer.reads",
            &["expected an integer from 0 to 16, found 17"],
        );
        one_error(
            &with("[consumer]\nreads = -1\n"),
            "consumer.reads",
            &["from 0 to 16, found -1"],
        );
        one_error(
            &with("[consumer]\nread_retry = \"yes\"\n"),
            "consumer.read_retry",
            &["expected true or false, found \"yes\""],
        );
        one_error(
            &with("[store]\nread_latency = \"1ms..20s\"\n"),
            "store.read_latency",
            &["whose max is at most 10s, found \"1ms..20s\""],
        );
        one_error(
            &with("[store]\nread_latency = 5\n"),
            "store.read_latency",
            &["expected a latency range string", "found 5"],
        );
        one_error(
            &with("[store]\nread_latncy = \"5ms\"\n"),
            "store.read_latncy",
            &["(did you mean \"read_latency\"?)"],
        );
    }

    #[test]
    fn policy_kinds_and_bounds() {
        assert_eq!(
            ok(MINIMAL).policy,
            Policy {
                kind: PolicyKind::Unbounded,
                max_lag: None,
                max_lag_age: None,
                breaker: BreakerConfig::default(),
            }
        );
        for k in PolicyKind::ALL {
            let p = ok(&with(&format!(
                "[policy]\nkind = \"{}\"\nmax_lag = 100\n",
                k.name()
            )))
            .policy;
            assert_eq!((p.kind, p.max_lag), (k, Some(100)));
        }
        // Only silent_drop needs a bound; either sort will do.
        for k in ["circuit_breaker", "backpressure", "unbounded"] {
            assert_eq!(
                ok(&with(&format!("[policy]\nkind = \"{k}\"\n")))
                    .policy
                    .max_lag,
                None
            );
        }
        let p = ok(&with(
            "[policy]\nkind = \"silent_drop\"\nmax_lag_age = \"5s\"\n",
        ))
        .policy;
        assert_eq!((p.max_lag, p.max_lag_age), (None, Some(secs(5))));
        one_error(
            &with("[policy]\nkind = \"silent_drop\"\n"),
            "policy.max_lag",
            &["required for kind = \"silent_drop\" (or give max_lag_age)"],
        );
        one_error(
            &with("[policy]\nkind = \"silent-drop\"\nmax_lag = 5\n"),
            "policy.kind",
            &[
                "unknown policy kind \"silent-drop\"",
                "expected one of: silent_drop, circuit_breaker, backpressure, unbounded",
                "(did you mean \"silent_drop\"?)",
            ],
        );
        one_error(
            &with("[policy]\nkind = 1\n"),
            "policy.kind",
            &["expected a policy kind, one of: silent_drop", "found 1"],
        );
        one_error(
            &with("[policy]\nmax_lag = 0\n"),
            "policy.max_lag",
            &["expected an integer of at least 1, found 0"],
        );
        one_error(
            &with("[policy]\nmax_lag_age = \"0s\"\n"),
            "policy.max_lag_age",
            &["above 0"],
        );
        one_error(
            &with("[policy]\nmax_lag_age = 5\n"),
            "policy.max_lag_age",
            &["expected a duration string with units", "found 5"],
        );
        one_error(
            &with("[policy]\nmaxlag = 5\n"),
            "policy.maxlag",
            &["unknown field \"maxlag\"", "(did you mean \"max_lag\"?)"],
        );
        one_error(
            &with("policy = \"silent_drop\"\n"),
            "policy",
            &["expected a table [policy], found \"silent_drop\""],
        );
        // A bad bound is reported, not also the missing one.
        one_error(
            &with("[policy]\nkind = \"silent_drop\"\nmax_lag = -3\n"),
            "policy.max_lag",
            &["found -3"],
        );
    }

    #[test]
    fn breaker_settings() {
        // Allowed whatever the kind: compare runs the file under each.
        let b = ok(&with(
            "[policy]\nkind = \"backpressure\"\n[policy.breaker]\nwindow = \"1s\"\nmin_calls = 1\nerror_rate = 1\nslow_call = \"1ms\"\nslow_rate = 0.01\nopen_for = \"500ms\"\nprobes = 100\n",
        ))
        .policy
        .breaker;
        assert_eq!(
            b,
            BreakerConfig {
                window: secs(1),
                min_calls: 1,
                error_rate: 1.0,
                slow_call: ms(1),
                slow_rate: 0.01,
                open_for: ms(500),
                probes: 100,
            }
        );
        // Unset fields keep their defaults.
        let b = ok(&with("[policy.breaker]\nprobes = 7\n")).policy.breaker;
        assert_eq!(
            b,
            BreakerConfig {
                probes: 7,
                ..BreakerConfig::default()
            }
        );
        for (field, value, needle) in [
            ("window", "\"0s\"", "above 0"),
            ("window", "5", "expected a duration string with units"),
            (
                "min_calls",
                "0",
                "expected an integer of at least 1, found 0",
            ),
            (
                "error_rate",
                "0",
                "expected a share of calls above 0 and at most 1 such as 0.5, found 0",
            ),
            ("error_rate", "1.5", "found 1.5"),
            ("error_rate", "\"50%\"", "found \"50%\""),
            ("slow_call", "\"0ms\"", "above 0"),
            ("slow_rate", "-0.5", "found -0.5"),
            ("open_for", "\"0s\"", "above 0"),
            ("probes", "0", "expected an integer from 1 to 100, found 0"),
            ("probes", "101", "found 101"),
        ] {
            one_error(
                &with(&format!("[policy.breaker]\n{field} = {value}\n")),
                &format!("policy.breaker.{field}"),
                &[needle],
            );
        }
        one_error(
            &with("[policy.breaker]\nprobe = 3\n"),
            "policy.breaker.probe",
            &["unknown field \"probe\"", "(did you mean \"probes\"?)"],
        );
        one_error(
            &with("[policy]\nbreaker = true\n"),
            "policy.breaker",
            &["expected a table [breaker], found true"],
        );
    }

    #[test]
    fn slow_storage_factor() {
        let s = ok(&fault(
            "at = \"1s\"\nkind = \"slow_storage\"\ntarget = \"stores\"\nfactor = 4\nfor = \"5s\"",
        ));
        assert_eq!(
            s.faults[0].kind,
            FaultKind::SlowStorage {
                targets: vec![h(Role::Store, 0)],
                slow: Slowdown::Factor(4.0),
            }
        );
        let s = ok(&fault(
            "at = \"1s\"\nkind = \"slow_storage\"\ntarget = \"store-0\"\nfactor = 1000.0",
        ));
        assert!(matches!(
            s.faults[0].kind,
            FaultKind::SlowStorage { slow: Slowdown::Factor(x), .. } if x == 1000.0
        ));
        one_error(
            &fault("at = \"1s\"\nkind = \"slow_storage\"\ntarget = [\"store-0\", \"broker-0\"]\nfactor = 3"),
            "fault[0].factor",
            &[
                "factor applies to stores only",
                "brokers' and the controller's disk writes have no base latency to multiply",
                "found broker-0",
            ],
        );
        one_error(
            &fault("at = \"1s\"\nkind = \"slow_storage\"\ntarget = \"controller-0\"\nfactor = 3"),
            "fault[0].factor",
            &["stores only", "found controller-0"],
        );
        one_error(
            &fault("at = \"1s\"\nkind = \"slow_storage\"\ntarget = \"stores\"\nlatency = \"5ms\"\nfactor = 3"),
            "fault[0].factor",
            &["expected latency or factor, not both"],
        );
        one_error(
            &fault("at = \"1s\"\nkind = \"slow_storage\"\ntarget = \"stores\""),
            "fault[0].latency",
            &[
                "missing required field for kind \"slow_storage\"",
                "give latency",
                "or factor",
            ],
        );
        for bad in ["1", "0.5", "1001", "\"x4\"", "nan", "inf"] {
            one_error(
                &fault(&format!(
                    "at = \"1s\"\nkind = \"slow_storage\"\ntarget = \"stores\"\nfactor = {bad}"
                )),
                "fault[0].factor",
                &["expected a factor above 1 and at most 1000 such as 4 or 2.5"],
            );
        }
        one_error(
            &fault("at = \"1s\"\nkind = \"crash\"\ntarget = \"store-0\"\nfactor = 3"),
            "fault[0].factor",
            &["field \"factor\" does not apply to kind \"crash\""],
        );
        // A target that slow_storage cannot hit at all is the only error.
        one_error(
            &fault("at = \"1s\"\nkind = \"slow_storage\"\ntarget = \"producer-0\"\nfactor = 3"),
            "fault[0].target",
            &["brokers, stores and the controller only"],
        );
    }

    #[test]
    fn per_policy_expectations() {
        let text = |kind: &str| {
            with(&format!(
                "[policy]\nkind = \"{kind}\"\nmax_lag = 10\n[expect]\nlost = 0\nmax_lag = \"< 100\"\n\
                 [expect.silent_drop]\nsilently_dropped = \"> 0\"\n\
                 [expect.circuit_breaker]\nshed = \"> 0\"\nlost = 0\n"
            ))
        };
        let names =
            |v: &[Expectation]| -> Vec<String> { v.iter().map(|e| e.to_string()).collect() };
        for (kind, effective) in [
            (
                "silent_drop",
                vec!["lost = 0", "max_lag < 100", "silently_dropped > 0"],
            ),
            (
                "circuit_breaker",
                vec!["lost = 0", "max_lag < 100", "shed > 0", "lost = 0"],
            ),
            ("backpressure", vec!["lost = 0", "max_lag < 100"]),
        ] {
            let s = ok(&text(kind));
            assert_eq!(names(&s.expect), effective, "{kind}");
            assert_eq!(names(&s.expect_common), ["lost = 0", "max_lag < 100"]);
            let kinds: Vec<PolicyKind> = s.expect_by_policy.iter().map(|(k, _)| *k).collect();
            assert_eq!(kinds, [PolicyKind::SilentDrop, PolicyKind::CircuitBreaker]);
        }
        // Sub-tables alone (no common keys), and empty ones.
        let s = ok(&with(
            "[expect.unbounded]\nmax_lag = \"> 5\"\n[expect.backpressure]\n",
        ));
        assert_eq!(names(&s.expect), ["max_lag > 5"]);
        assert!(s.expect_common.is_empty());
        assert_eq!(
            s.expect_by_policy,
            [
                (
                    PolicyKind::Unbounded,
                    vec![Expectation {
                        scope: Scope::All,
                        metric: Metric::MaxLag,
                        cmp: Cmp::Gt,
                        value: 5
                    }]
                ),
                (PolicyKind::Backpressure, vec![]),
            ]
        );
        one_error(
            &with("[expect.silent_dorp]\nlost = 0\n"),
            "expect.silent_dorp",
            &[
                "unknown policy kind \"silent_dorp\"",
                "named after a policy kind, one of: silent_drop, circuit_breaker, backpressure, unbounded",
                "(did you mean \"silent_drop\"?)",
            ],
        );
        one_error(
            &with("[expect]\nsilent_drop = 5\n"),
            "expect.silent_drop",
            &["expected a table [expect.silent_drop]", "found 5"],
        );
        one_error(
            &with("[expect.backpressure]\nlots = 0\n"),
            "expect.backpressure.lots",
            &["unknown metric \"lots\"", "(did you mean \"lost\"?)"],
        );
        one_error(
            &with("[expect.backpressure]\nlost = \"~ 1\"\n"),
            "expect.backpressure.lost",
            &["comparison such as"],
        );
        one_error(
            &with("[expect.lost]\nx = 1\n"),
            "expect.lost",
            &[
                "expected a non-negative integer or a comparison",
                "found a table",
            ],
        );
    }

    #[test]
    fn scale_section() {
        let s = ok(&with(
            "[scale]\ncounts = [\"workload.keys\", \"topology.stores\"]\n",
        ));
        assert_eq!(s.scale_counts, [ScaleCount::Keys, ScaleCount::Stores]);
        assert!(ok(&with("[scale]\n")).scale_counts.is_empty());
        one_error(
            &with("[scale]\ncounts = [\"topology.partitions\", \"topology.brokers\"]\n"),
            "scale.counts[1]",
            &[
                "unknown field path \"topology.brokers\"",
                "expected one of: topology.partitions, topology.stores, workload.producers, workload.keys, consumer.workers, policy.max_lag",
            ],
        );
        one_error(
            &with("[scale]\ncounts = [\"consumer.worker\"]\n"),
            "scale.counts[0]",
            &["(did you mean \"consumer.workers\"?)"],
        );
        one_error(
            &with("[scale]\ncounts = \"consumer.workers\"\n"),
            "scale.counts",
            &[
                "expected an array of field paths",
                "found \"consumer.workers\"",
            ],
        );
        one_error(
            &with("[scale]\ncounts = [3]\n"),
            "scale.counts[0]",
            &[
                "expected a field path, one of: topology.partitions",
                "found 3",
            ],
        );
        one_error(
            &with("[scale]\ncounts = [\"workload.keys\", \"workload.keys\"]\n"),
            "scale.counts[1]",
            &["\"workload.keys\" is listed twice"],
        );
    }

    fn scaled(text: &str, k: u32) -> Result<Scenario, Vec<FieldError>> {
        let o = Overrides {
            scale: Some(k),
            ..Overrides::default()
        };
        parse_with(Path::new("t.toml"), text, &o).map_err(|e| e.errors)
    }

    #[test]
    fn scale_multiplies_rates_and_listed_counts() {
        let text = with(
            "[topology]\npartitions = 8\n[workload]\nrate = \"30000/m\"\nkeys = 50\n\
             bursts = [{ at = \"10s\", rate = \"800/s\", for = \"5s\" }, { at = \"20s\", rate = \"60/m\", for = \"5s\" }]\n\
             [consumer]\nworkers = 2\n[policy]\nmax_lag = 1000\n\
             [scale]\ncounts = [\"topology.partitions\", \"workload.keys\", \"consumer.workers\", \"workload.producers\", \"policy.max_lag\"]\n",
        );
        let base = ok(&text);
        assert_eq!(base.scale, 1);
        let s = scaled(&text, 3).unwrap();
        assert_eq!(s.scale, 3);
        assert_eq!(s.workload.rate_per_s, 1500);
        let rates: Vec<u64> = s.workload.bursts.iter().map(|b| b.rate_per_s).collect();
        assert_eq!(rates, [2400, 3]);
        assert_eq!(s.topology.partitions, 24);
        assert_eq!(s.workload.keys, 150);
        assert_eq!(s.consumer.workers, 6);
        // Absent and listed: its default × K.
        assert_eq!(s.workload.producers, 3);
        assert_eq!(s.policy.max_lag, Some(3000));
        // Not listed: unchanged.
        assert_eq!(s.topology.stores, 1);
        // Everything else is the file's.
        let mut back = s.clone();
        back.scale = 1;
        back.workload = base.workload.clone();
        back.topology = base.topology.clone();
        back.consumer = base.consumer.clone();
        back.policy = base.policy.clone();
        assert_eq!(back, base);

        // Scale 1 changes nothing; the default rate scales when absent.
        assert_eq!(scaled(&text, 1).unwrap(), base);
        let s = scaled(&with("[scale]\ncounts = [\"topology.stores\"]\n"), 10).unwrap();
        assert_eq!((s.workload.rate_per_s, s.topology.stores), (1000, 10));
        // An absent max_lag stays absent: no bound is no bound at any scale.
        let s = scaled(&with("[scale]\ncounts = [\"policy.max_lag\"]\n"), 10).unwrap();
        assert_eq!(s.policy.max_lag, None);
        // The swarm's rate range scales with the rest.
        let s = scaled(&with("[swarm]\nrate = \"10/s..600/m\"\n"), 4).unwrap();
        assert_eq!(s.swarm.unwrap().rate, Some((40, 40)));
    }

    #[test]
    fn scale_errors() {
        let e = scaled(MINIMAL, 0).unwrap_err();
        assert_eq!(
            e,
            [FieldError {
                path: "--scale".to_string(),
                message: "expected a scale from 1 to 1000, found 0".to_string(),
            }]
        );
        let e = scaled(MINIMAL, 1001).unwrap_err();
        assert_eq!(e[0].path, "--scale");
        assert_eq!(e[0].message, "expected a scale from 1 to 1000, found 1001");
        // 100/s × 1000 for 10 s: a million messages, inside MAX_MESSAGES.
        assert!(scaled(&MINIMAL.replace("\"2m\"", "\"10s\""), 1000).is_ok());
        // For two minutes it is twelve million: the limit names the scaling.
        let e = scaled(MINIMAL, 1000).unwrap_err();
        assert_eq!(e[0].path, "workload.rate");
        assert!(e[0].message.contains("--scale 1000"), "{}", e[0].message);
        // With a bad file, both are reported (the file's errors unscaled).
        let e = scaled(&with("[consumer]\nworkers = 100\n"), 0).unwrap_err();
        let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["--scale", "consumer.workers"]);
        assert_eq!(e[1].message, "expected an integer from 1 to 64, found 100");

        // A limit broken only by scaling says so.
        let text = with("[consumer]\nworkers = 8\n[scale]\ncounts = [\"consumer.workers\"]\n");
        assert!(scaled(&text, 8).is_ok());
        let e = scaled(&text, 20).unwrap_err();
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(e[0].path, "consumer.workers");
        assert_eq!(
            e[0].message,
            "expected an integer from 1 to 64, found 160 (8 × --scale 20)"
        );
        let e = scaled(&with("[scale]\ncounts = [\"consumer.workers\"]\n"), 80).unwrap_err();
        assert_eq!(
            e[0].message,
            "expected an integer from 1 to 64, found 80 (default 1 × --scale 80)"
        );
        let e = scaled(
            &with("[workload]\nrate = \"100000/s\"\nbursts = [{ at = \"1s\", rate = \"20/s\", for = \"1s\" }]\n")
                .replace("\"2m\"", "\"10s\""),
            20,
        )
        .unwrap_err();
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(e[0].path, "workload.rate");
        assert_eq!(
            e[0].message,
            "expected a rate of at most 1000000/s, found \"2000000/s\" (100000/s × --scale 20)"
        );
        let short = |t: &str| with(t).replace("\"2m\"", "\"10s\"");
        let e = scaled(&short("[swarm]\nrate = \"1/s..2000/s\"\n"), 600).unwrap_err();
        assert_eq!(e[0].path, "swarm.rate");
        assert!(
            e[0].message.ends_with("(1/s..2000/s × --scale 600)"),
            "{e:#?}"
        );
        // A limit on a field that was not itself scaled.
        let e = scaled(
            &with("[topology]\npartitions = 512\n[consumer]\nconcurrency = 8\n[scale]\ncounts = [\"topology.partitions\"]\n"),
            2,
        )
        .unwrap_err();
        assert_eq!(e[0].path, "consumer.concurrency");
        assert!(
            e[0].message.ends_with("1024 × 8 = 8192 (after --scale 2)"),
            "{e:#?}"
        );
        // A count beyond any integer.
        let e = scaled(
            &with(
                "[policy]\nmax_lag = 9223372036854775807\n[scale]\ncounts = [\"policy.max_lag\"]\n",
            ),
            2,
        )
        .unwrap_err();
        assert_eq!(e[0].path, "policy.max_lag");
        assert!(
            e[0].message.contains("beyond the largest integer"),
            "{e:#?}"
        );
    }

    #[test]
    fn policy_override() {
        let o = |p: PolicyKind| Overrides {
            policy: Some(p),
            scale: None,
        };
        let text = with(
            "[policy]\nkind = \"backpressure\"\nmax_lag = 50\n[expect]\nlost = 0\n\
             [expect.circuit_breaker]\nshed = \"> 0\"\n",
        );
        assert_eq!(ok(&text).policy.kind, PolicyKind::Backpressure);
        let s = parse_with(Path::new("t.toml"), &text, &o(PolicyKind::CircuitBreaker)).unwrap();
        assert_eq!(s.policy.kind, PolicyKind::CircuitBreaker);
        assert_eq!(s.policy.max_lag, Some(50));
        let e: Vec<String> = s.expect.iter().map(|e| e.to_string()).collect();
        assert_eq!(e, ["lost = 0", "shed > 0"]);
        // Without [policy] in the file, the table is created.
        let s = parse_with(Path::new("t.toml"), MINIMAL, &o(PolicyKind::Backpressure)).unwrap();
        assert_eq!(s.policy.kind, PolicyKind::Backpressure);
        // The result is validated like a file, and says where the kind came from.
        let e = parse_with(Path::new("t.toml"), MINIMAL, &o(PolicyKind::SilentDrop))
            .unwrap_err()
            .errors;
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(e[0].path, "policy.max_lag");
        assert!(
            e[0].message.starts_with(
                "required for kind = \"silent_drop\" (from --policy) (or give max_lag_age)"
            ),
            "{e:#?}"
        );
        // A [policy] that is not a table stays an error.
        let e = parse_with(
            Path::new("t.toml"),
            &with("policy = 3\n"),
            &o(PolicyKind::Unbounded),
        )
        .unwrap_err()
        .errors;
        assert_eq!(e[0].path, "policy");
        // Both overrides at once, through load_with.
        let smoke = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/smoke.toml");
        let s = load_with(
            &smoke,
            &Overrides {
                policy: Some(PolicyKind::CircuitBreaker),
                scale: Some(2),
            },
        )
        .unwrap();
        let base = load(&smoke).unwrap();
        assert_eq!(s.policy.kind, PolicyKind::CircuitBreaker);
        assert_eq!(s.workload.rate_per_s, 2 * base.workload.rate_per_s);
        assert_eq!(s.consumer.workers, base.consumer.workers);
        assert_eq!(s.scale, 2);
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            suggest("partitons", ["brokers", "partitions"]),
            Some("partitions")
        );
        assert_eq!(suggest("x", ["a", "b"]), None);
        assert_eq!(suggest("crash", ["crash"]), Some("crash"));
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert!(is_position("3:12"));
        assert!(!is_position("fault[0].a"));
        assert!(!is_position("\"3:4\""));
    }

    /// The minimal file with `[broker] kind = "queue"` plus `extra`
    /// (tables after it; `[broker]` keys go in `broker`).
    fn queue(broker: &str, extra: &str) -> String {
        with(&format!("[broker]\nkind = \"queue\"\n{broker}\n{extra}"))
    }

    #[test]
    fn queue_full_example() {
        let s = ok(FULL_QUEUE);
        assert_eq!(s.broker.kind, BrokerKind::Queue);
        assert_eq!(
            s.broker.queue,
            QueueConfig {
                visibility_timeout: secs(45),
                max_receives: Some(5),
                fifo: true,
                max_length: Some(2000),
                overflow: Overflow::DropOldest,
                partition_handling: PartitionHandling::Autoheal,
                queue_type: QueueType::Quorum,
                memory_limit: Some(50_000),
                memory_alarm: MemoryAlarm::BlockAll,
                message_ttl: Some(secs(120)),
            }
        );
        assert_eq!(s.broker.fsync, Fsync::Never);
        assert_eq!(s.broker.writeback, secs(5));
        assert_eq!(s.broker.acks, Acks::Leader);
        assert_eq!(s.broker.session_timeout, secs(60));
        // A queue is mirrored on every broker.
        assert_eq!(s.topology.replication, 3);
        assert_eq!(s.topology.partitions, 2);
        assert!(s.consumer.partial_batch_failure);
        assert_eq!(s.consumer.retry_backoff, Some(ms(200)));
        assert_eq!(s.consumer.commit, CommitMode::BeforeEffect);
        assert_eq!(s.consumer.fetch_max, 10);
        // Log-only fields keep their defaults.
        let d = ok(MINIMAL);
        assert_eq!(s.broker.min_insync, d.broker.min_insync);
        assert_eq!(s.broker.retention_age, None);
        assert_eq!(s.consumer.assignment, d.consumer.assignment);
        assert_eq!(s.consumer.session_timeout, d.consumer.session_timeout);
        assert_eq!(s.consumer.auto_offset_reset, d.consumer.auto_offset_reset);
        // The queue has no controller; its buffer (a log) has one.
        let controllers = s
            .hosts()
            .iter()
            .filter(|h| h.role == Role::Controller)
            .count();
        assert_eq!(controllers, 1);
        assert_eq!(
            s.buffer,
            Some(Buffer {
                brokers: 2,
                partitions: 4,
                replication: 2,
                min_insync: 1,
                relays: 2,
                rate_per_s: Some(500),
                max_depth: Some(1000),
            })
        );
        let mut bare = FULL_QUEUE.to_string();
        bare.truncate(FULL_QUEUE.find("[buffer]").unwrap());
        bare += &FULL_QUEUE[FULL_QUEUE.find("[consumer]").unwrap()..];
        assert!(ok(&bare).hosts().iter().all(|h| h.role != Role::Controller));
        // The faults: ids in file order, rate 0 when absent.
        assert_eq!(
            s.faults[0],
            Fault {
                at: secs(10),
                until: Some(secs(30)),
                kind: FaultKind::Poison {
                    rate: 0.01,
                    ids: vec![MsgId::new(0, 17), MsgId::new(1, 0), MsgId::new(0, 3)],
                },
                repeat: None,
            }
        );
        // Two poison windows may overlap; without `for` it lasts until the drain.
        assert_eq!(
            s.faults[1],
            Fault {
                at: secs(15),
                until: None,
                kind: FaultKind::Poison {
                    rate: 0.0,
                    ids: vec![MsgId::new(1, 99)],
                },
                repeat: None,
            }
        );
        assert_eq!(
            s.faults[3],
            Fault {
                at: secs(40),
                until: Some(secs(45)),
                kind: FaultKind::MemoryPressure {
                    targets: vec![h(Role::Broker, 1)],
                    limit: 1000,
                },
                repeat: None,
            }
        );
        assert_eq!(
            s.faults[4],
            Fault {
                at: secs(60),
                until: None,
                kind: FaultKind::Redrive,
                repeat: None,
            }
        );
        let metrics: Vec<&str> = s.expect.iter().map(|e| e.metric.name()).collect();
        assert_eq!(
            metrics,
            [
                "poison",
                "poison_dead_lettered",
                "poison_not_dead_lettered",
                "misrouted",
                "max_deliveries"
            ]
        );
    }

    #[test]
    fn queue_defaults() {
        let s = ok(&queue("", "[topology]\nbrokers = 5\n"));
        assert_eq!(s.broker.queue, QueueConfig::default());
        assert_eq!(s.broker.queue.visibility_timeout, secs(30));
        // Every broker, not min(3, brokers).
        assert_eq!(s.topology.replication, 5);
        assert!(!s.consumer.partial_batch_failure);
        assert_eq!(s.consumer.retry_backoff, None);
        assert_eq!(s.policy.kind, PolicyKind::Unbounded);
        // The log's defaults otherwise, as for a log.
        let mut d = ok(&with("[topology]\nbrokers = 5\nreplication = 5\n"));
        d.broker.kind = BrokerKind::Queue;
        assert_eq!(s, d);
    }

    #[test]
    fn queue_fields_under_a_log() {
        for (table, key, value) in [
            ("broker", "visibility_timeout", "\"10s\""),
            ("broker", "max_receives", "3"),
            ("broker", "fifo", "true"),
            ("broker", "max_length", "100"),
            ("broker", "overflow", "\"block\""),
            ("broker", "partition_handling", "\"autoheal\""),
            ("broker", "queue_type", "\"quorum\""),
            ("consumer", "partial_batch_failure", "true"),
            ("consumer", "retry_backoff", "\"1s\""),
        ] {
            let path = format!("{table}.{key}");
            one_error(
                &with(&format!("[{table}]\n{key} = {value}\n")),
                &path,
                &[&format!(
                    "field \"{key}\" applies only to broker.kind = \"queue\", found broker.kind = \"log\" (the default)"
                )],
            );
            // Written out, the kind is not "the default"; a bad value is
            // not judged on top.
            let text = if table == "broker" {
                format!("[broker]\nkind = \"log\"\n{key} = \"nonsense\"\n")
            } else {
                format!("[broker]\nkind = \"log\"\n[{table}]\n{key} = \"nonsense\"\n")
            };
            let e = errs(&with(&text));
            assert_eq!(e.len(), 1, "{e:#?}");
            assert_eq!(e[0].path, path);
            assert!(
                e[0].message.ends_with("found broker.kind = \"log\""),
                "{e:#?}"
            );
        }
        // The broker table may hold both kinds' keys only in error.
        let e = errs(&with(
            "[broker]\nfifo = true\nmax_receives = 2\n[consumer]\nretry_backoff = \"1s\"\n",
        ));
        let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "broker.max_receives",
                "broker.fifo",
                "consumer.retry_backoff"
            ]
        );
    }

    #[test]
    fn log_fields_under_a_queue() {
        for (table, key, value, why) in [
            (
                "broker",
                "min_insync",
                "1",
                "broker.acks and broker.queue_type",
            ),
            (
                "broker",
                "unclean_leader_election",
                "true",
                "partition_handling",
            ),
            ("broker", "replica_lag_max", "\"5s\"", "partition_handling"),
            ("broker", "retention_messages", "10", "broker.max_length"),
            ("broker", "retention_age", "\"1m\"", "broker.max_length"),
            ("consumer", "assignment", "\"range\"", "no consumer group"),
            (
                "consumer",
                "session_timeout",
                "\"10s\"",
                "visibility_timeout",
            ),
            (
                "consumer",
                "auto_offset_reset",
                "\"earliest\"",
                "no offsets",
            ),
        ] {
            let text = if table == "broker" {
                queue(&format!("{key} = {value}"), "")
            } else {
                queue("", &format!("[{table}]\n{key} = {value}\n"))
            };
            one_error(
                &text,
                &format!("{table}.{key}"),
                &[
                    &format!(
                        "field \"{key}\" applies only to broker.kind = \"log\", found broker.kind = \"queue\": "
                    ),
                    why,
                ],
            );
        }
        // Shared by both kinds.
        let s = ok(&queue(
            "fsync = \"interval:50ms\"\nwriteback = \"1s\"\nacks = 0\nsession_timeout = \"30s\"",
            "[consumer]\ncommit = \"before_effect\"\nfetch_max = 10000\ngroup = \"g\"\n",
        ));
        assert_eq!(s.broker.fsync, Fsync::Interval(ms(50)));
        assert_eq!(s.broker.acks, Acks::None);
        assert_eq!(s.broker.session_timeout, secs(30));
        assert_eq!(s.consumer.fetch_max, 10_000);
        one_error(
            &queue("", "[consumer]\nfetch_max = 10001\n"),
            "consumer.fetch_max",
            &["expected an integer from 1 to 10000"],
        );
    }

    #[test]
    fn queue_replication() {
        one_error(
            &queue("", "[topology]\nbrokers = 3\nreplication = 3\n"),
            "topology.replication",
            &[
                "field \"replication\" applies only to broker.kind = \"log\", found broker.kind = \"queue\"",
                "a queue is mirrored on every broker, remove topology.replication",
            ],
        );
        // Judged against nothing else: one error even when out of range.
        one_error(
            &queue("", "[topology]\nbrokers = 3\nreplication = 0\n"),
            "topology.replication",
            &["mirrored on every broker"],
        );
        // An invalid kind judges no field against it.
        let e = errs(&with(
            "[broker]\nkind = \"qeueu\"\nfifo = true\n[topology]\nreplication = 1\n",
        ));
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(e[0].path, "broker.kind");
        assert!(e[0].message.contains("did you mean \"queue\"?"), "{e:#?}");
    }

    #[test]
    fn queue_values() {
        for (broker, path, needle) in [
            ("visibility_timeout = \"0s\"", "broker.visibility_timeout", "expected a duration above 0"),
            (
                "visibility_timeout = \"12h1s\"",
                "broker.visibility_timeout",
                "expected a duration above 0 and at most 12h (SQS's limit), found \"12h1s\"",
            ),
            ("visibility_timeout = 30", "broker.visibility_timeout", "expected a duration string"),
            ("max_receives = 0", "broker.max_receives", "expected an integer from 1 to 1000, found 0"),
            ("max_receives = 1001", "broker.max_receives", "expected an integer from 1 to 1000, found 1001"),
            ("max_length = 0", "broker.max_length", "expected an integer of at least 1, found 0"),
            ("fifo = \"yes\"", "broker.fifo", "expected true or false"),
            (
                "overflow = \"reject-new\"",
                "broker.overflow",
                "expected \"reject_new\" or \"drop_oldest\" or \"block\", found \"reject-new\" (did you mean \"reject_new\"?)",
            ),
            (
                "partition_handling = \"pause_majority\"",
                "broker.partition_handling",
                "expected \"pause_minority\" or \"autoheal\", found \"pause_majority\"",
            ),
            (
                "queue_type = \"stream\"",
                "broker.queue_type",
                "expected \"classic\" or \"quorum\", found \"stream\"",
            ),
        ] {
            one_error(&queue(broker, ""), path, &[needle]);
        }
        let s = ok(&queue(
            "visibility_timeout = \"12h\"\nmax_receives = 1000",
            "",
        ));
        assert_eq!(s.broker.queue.visibility_timeout, secs(12 * 3600));
        assert_eq!(s.broker.queue.max_receives, Some(1000));
        for value in ["\"0s\"", "1"] {
            one_error(
                &queue("", &format!("[consumer]\nretry_backoff = {value}\n")),
                "consumer.retry_backoff",
                &["expected"],
            );
        }
        one_error(
            &queue("", "[consumer]\npartial_batch_failure = 1\n"),
            "consumer.partial_batch_failure",
            &["expected true or false, found 1"],
        );
    }

    #[test]
    fn queue_policy() {
        const WHY: &str = "lag policies act on the log model; a bounded queue uses broker.max_length and broker.overflow";
        for kind in ["silent_drop", "circuit_breaker", "backpressure"] {
            one_error(
                &queue("", &format!("[policy]\nkind = \"{kind}\"\nmax_lag = 10\n")),
                "policy.kind",
                &[
                    &format!(
                        "expected \"unbounded\" with broker.kind = \"queue\", found \"{kind}\": "
                    ),
                    WHY,
                ],
            );
        }
        // silent_drop without a bound: the kind is the one error.
        one_error(
            &queue("", "[policy]\nkind = \"silent_drop\"\n"),
            "policy.kind",
            &[WHY],
        );
        let s = ok(&queue(
            "",
            "[policy]\nkind = \"unbounded\"\nmax_lag = 10\n[expect.silent_drop]\nlost = 0\n",
        ));
        assert_eq!(s.policy.kind, PolicyKind::Unbounded);
        // --policy gives the same field error, and says where the kind came from.
        for p in [PolicyKind::SilentDrop, PolicyKind::Backpressure] {
            let o = Overrides {
                policy: Some(p),
                scale: None,
            };
            let e = parse_with(Path::new("t.toml"), &queue("", ""), &o)
                .unwrap_err()
                .errors;
            assert_eq!(e.len(), 1, "{e:#?}");
            assert_eq!(e[0].path, "policy.kind");
            assert!(
                e[0].message
                    .contains(&format!("found \"{}\" (from --policy): {WHY}", p.name())),
                "{e:#?}"
            );
        }
        let o = Overrides {
            policy: Some(PolicyKind::Unbounded),
            scale: None,
        };
        assert!(parse_with(Path::new("t.toml"), &queue("", ""), &o).is_ok());
    }

    /// `[[fault]]` `body` in a queue scenario with `[broker]` keys `broker`
    /// and two producers.
    fn queue_fault(broker: &str, body: &str) -> String {
        queue(
            broker,
            &format!("[workload]\nproducers = 2\n[[fault]]\n{body}\n"),
        )
    }

    #[test]
    fn poison_faults() {
        let poison =
            |body: &str| queue_fault("", &format!("at = \"1s\"\nkind = \"poison\"\n{body}"));
        let kind = |text: &str| ok(text).faults[0].kind.clone();
        assert_eq!(
            kind(&poison("rate = 1")),
            FaultKind::Poison {
                rate: 1.0,
                ids: vec![]
            }
        );
        assert_eq!(
            kind(&poison("ids = [\"p1-4294967295\", \"p0-0\"]")),
            FaultKind::Poison {
                rate: 0.0,
                ids: vec![MsgId::new(1, u32::MAX), MsgId::new(0, 0)]
            }
        );
        one_error(
            &poison(""),
            "fault[0].rate",
            &[
                "missing required field for kind \"poison\": give rate",
                "ids",
                "or both",
            ],
        );
        for rate in ["1.5", "0", "-0.1", "\"0.5\"", "nan"] {
            one_error(
                &poison(&format!("rate = {rate}")),
                "fault[0].rate",
                &["expected a probability above 0 and at most 1"],
            );
        }
        for id in [
            "x-1",
            "p0",
            "p-1",
            "p0-",
            "p01-1",
            "p0-01",
            "p0-4294967296",
            "P0-1",
            "p0-1 ",
            "p+1-2",
        ] {
            one_error(
                &poison(&format!("ids = [\"p0-1\", \"{id}\"]")),
                "fault[0].ids[1]",
                &[&format!(
                    "expected a message id like \"p0-17\" (producer 0, its message 17), found \"{}\"",
                    id
                )],
            );
        }
        one_error(
            &poison("ids = [3]"),
            "fault[0].ids[0]",
            &["expected a message id like \"p0-17\"", "found 3"],
        );
        one_error(
            &poison("ids = [\"p2-5\"]"),
            "fault[0].ids[0]",
            &["expected a message id of an existing producer (there are 2 producers, producer-0 to producer-1), found \"p2-5\""],
        );
        one_error(
            &poison("ids = [\"p0-5\", \"p1-5\", \"p0-5\"]"),
            "fault[0].ids[2]",
            &["\"p0-5\" is listed twice (first as fault[0].ids[0])"],
        );
        one_error(
            &poison("rate = 0.5\nids = []"),
            "fault[0].ids",
            &["expected at least one message id such as \"p0-17\", found an empty list"],
        );
        one_error(
            &poison("ids = \"p0-1\""),
            "fault[0].ids",
            &["expected an array of message ids such as [\"p0-17\", \"p1-3\"], found \"p0-1\""],
        );
        let many: Vec<String> = (0..=MAX_POISON_IDS)
            .map(|i| format!("\"p0-{i}\""))
            .collect();
        one_error(
            &poison(&format!("ids = [{}]", many.join(","))),
            "fault[0].ids",
            &["expected at most 10000 message ids, found 10001"],
        );
        let most = &many[..MAX_POISON_IDS];
        assert!(matches!(
            kind(&poison(&format!("ids = [{}]", most.join(",")))),
            FaultKind::Poison { ids, .. } if ids.len() == MAX_POISON_IDS
        ));
        // No host: a target is not a poison field.
        one_error(
            &poison("rate = 0.1\ntarget = \"broker-0\""),
            "fault[0].target",
            &["field \"target\" does not apply to kind \"poison\""],
        );
        one_error(
            &poison("rate = 0.1\nfor = \"2m\""),
            "fault[0].for",
            &["after the load phase ends at 2m"],
        );
        // Under a log: at `kind`; the other fields are still judged.
        one_error(
            &fault("at = \"1s\"\nkind = \"poison\"\nrate = 0.1"),
            "fault[0].kind",
            &["fault kind \"poison\" applies only to broker.kind = \"queue\", found broker.kind = \"log\" (the default)"],
        );
        let e = errs(&with(
            "[broker]\nkind = \"log\"\n[[fault]]\nat = \"1s\"\nkind = \"poison\"\nrate = 2\n",
        ));
        let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["fault[0].kind", "fault[0].rate"], "{e:#?}");
        assert!(
            e[0].message.ends_with("found broker.kind = \"log\""),
            "{e:#?}"
        );
    }

    #[test]
    fn poison_windows_overlap_anything() {
        let s = ok(&queue_fault(
            "",
            "at = \"1s\"\nkind = \"poison\"\nrate = 0.1\nfor = \"20s\"\n\
             [[fault]]\nat = \"2s\"\nkind = \"poison\"\nrate = 0.2\n\
             [[fault]]\nat = \"3s\"\nkind = \"crash\"\ntarget = \"all\"\n\
             [[fault]]\nat = \"4s\"\nkind = \"loss\"\nrate = 0.1\n\
             [[fault]]\nat = \"5s\"\nkind = \"pause\"\ntarget = \"consumers\"",
        ));
        assert_eq!(s.faults.len(), 5);
        assert!(overlaps(&s.faults, Some(s.duration)).is_empty());
    }

    #[test]
    fn redrive_faults() {
        let redrive = |broker: &str, body: &str| {
            queue_fault(broker, &format!("at = \"1s\"\nkind = \"redrive\"\n{body}"))
        };
        let s = ok(&redrive("max_receives = 3", ""));
        assert_eq!(s.faults[0].kind, FaultKind::Redrive);
        assert_eq!(s.faults[0].until, None);
        one_error(
            &redrive("", ""),
            "fault[0].kind",
            &["fault kind \"redrive\" moves dead-lettered messages back to their queue; broker.max_receives is not set, so there is no dead-letter queue"],
        );
        one_error(
            &redrive("max_receives = 3", "for = \"1s\""),
            "fault[0].for",
            &["does not apply to kind \"redrive\" (it is a one-shot action)"],
        );
        one_error(
            &redrive("max_receives = 3", "target = \"brokers\""),
            "fault[0].target",
            &["does not apply to kind \"redrive\""],
        );
        one_error(
            &with("[broker]\nkind = \"log\"\n[[fault]]\nat = \"1s\"\nkind = \"redrive\"\n"),
            "fault[0].kind",
            &["applies only to broker.kind = \"queue\", found broker.kind = \"log\""],
        );
        // An invalid max_receives is its own error only.
        one_error(
            &redrive("max_receives = 0", ""),
            "broker.max_receives",
            &["expected an integer from 1 to 1000"],
        );
        // Two redrives at one time are two one-shot actions.
        assert_eq!(
            ok(&redrive(
                "max_receives = 3",
                "[[fault]]\nat = \"1s\"\nkind = \"redrive\""
            ))
            .faults
            .len(),
            2
        );
    }

    #[test]
    fn a_queue_cluster_has_no_controller() {
        const NONE: &str = "expected a broker, store, producer or consumer host: a queue cluster (broker.kind = \"queue\") has no controller, found ";
        for (body, path, found) in [
            (
                "kind = \"crash\"\ntarget = \"controller-0\"",
                "fault[0].target",
                "\"controller-0\"",
            ),
            (
                "kind = \"pause\"\ntarget = \"controllers\"",
                "fault[0].target",
                "\"controllers\"",
            ),
            (
                "kind = \"pause\"\ntarget = [\"broker-0\", \"controller-0\"]",
                "fault[0].target[1]",
                "\"controller-0\"",
            ),
            (
                "kind = \"partition\"\na = \"controllers\"\nb = \"brokers\"",
                "fault[0].a",
                "\"controllers\"",
            ),
            (
                "kind = \"slow_storage\"\ntarget = \"controller-0\"\nlatency = \"5ms\"",
                "fault[0].target",
                "\"controller-0\"",
            ),
            (
                "kind = \"crash\"\ntarget = \"controller-1\"",
                "fault[0].target",
                "\"controller-1\"",
            ),
        ] {
            one_error(
                &queue_fault("", &format!("at = \"1s\"\n{body}")),
                path,
                &[&format!("{NONE}{found}")],
            );
        }
        // `all`, and a heal or loss without sides, cover every host there is.
        let s = ok(&queue_fault(
            "",
            "at = \"1s\"\nkind = \"pause\"\ntarget = \"all\"\n\
             [[fault]]\nat = \"2s\"\nkind = \"heal\"",
        ));
        match &s.faults[0].kind {
            FaultKind::Pause { targets } => assert_eq!(targets, &s.hosts()),
            k => panic!("{k:?}"),
        }
        match &s.faults[1].kind {
            FaultKind::Heal { a, b } => {
                assert_eq!(a, &s.hosts());
                assert_eq!(b, &s.hosts());
            }
            k => panic!("{k:?}"),
        }
        assert!(s.hosts().iter().all(|h| h.role != Role::Controller));
    }

    #[test]
    fn swarms_do_not_draw_message_faults() {
        for kind in ["poison", "redrive"] {
            one_error(
                &queue("", &format!("[swarm]\nkinds = [\"crash\", \"{kind}\"]\n")),
                "swarm.kinds",
                &[&format!("found \"{kind}\" (a swarm draws host and link faults; poison and redrive act on messages")],
            );
        }
        // A queue swarm draws its host and link faults.
        assert!(
            ok(&queue("", "[swarm]\nkinds = [\"partition\", \"crash\"]\n"))
                .swarm
                .is_some()
        );
    }

    #[test]
    fn queue_errors_are_all_reported_at_once() {
        let e = errs(&with(
            "[topology]\nreplication = 1\n[broker]\nkind = \"queue\"\nmin_insync = 1\n\
             overflow = \"spill\"\n[consumer]\nassignment = \"range\"\n\
             [policy]\nkind = \"backpressure\"\n\
             [[fault]]\nat = \"1s\"\nkind = \"redrive\"\n\
             [[fault]]\nat = \"2s\"\nkind = \"poison\"\nids = [\"p9-1\"]\n\
             [[fault]]\nat = \"3s\"\nkind = \"crash\"\ntarget = \"controllers\"\n",
        ));
        let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "topology.replication",
                "broker.min_insync",
                "broker.overflow",
                "consumer.assignment",
                "policy.kind",
                "fault[0].kind",
                "fault[1].ids[0]",
                "fault[2].target",
            ],
            "{e:#?}"
        );
    }

    #[test]
    fn msg_ids_parse() {
        let id = |s: &str| parse_msg_id(&Value::String(s.to_string()));
        assert_eq!(id("p0-17"), Ok(MsgId::new(0, 17)));
        assert_eq!(id("p63-0"), Ok(MsgId::new(63, 0)));
        assert_eq!(id("p0-17").unwrap().to_string(), "p0-17");
        for bad in [
            "", "p", "p-", "0-17", "p0_17", "p0-17-1", "p00-1", "p1-x", "p٣-1",
        ] {
            assert!(id(bad).is_err(), "{bad}");
        }
    }
}

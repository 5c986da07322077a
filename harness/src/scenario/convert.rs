//! Leaf conversions: one TOML value → one typed value or the message saying
//! what was expected; plus the helpers messages are built with.

use super::keys::Named;
use super::limits::*;
use super::types::*;
use crate::history::MsgId;
use crate::metric::Cmp;
use crate::units::{format_duration, parse_duration, parse_latency_range, parse_rate};
use std::time::Duration;
use toml::{Table, Value};

pub(super) fn show(v: &Value) -> String {
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

pub(super) fn quote(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() > MAX {
        let short: String = s.chars().take(MAX - 3).collect();
        format!("{:?}", short + "...")
    } else {
        format!("{s:?}")
    }
}

/// A key as it appears in a path: bare if it is a TOML bare key, else quoted.
pub(super) fn key_repr(key: &str) -> String {
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

pub(super) fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key_repr(key)
    } else {
        format!("{prefix}.{}", key_repr(key))
    }
}

/// Levenshtein distance in characters.
pub(super) fn edit_distance(a: &str, b: &str) -> usize {
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
pub(super) fn suggest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
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

pub(super) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    match suggest(word, candidates) {
        Some(s) => format!(" (did you mean \"{s}\"?)"),
        None => String::new(),
    }
}

pub(super) fn unknown(what: &str, word: &str, allowed: &[&str]) -> String {
    format!(
        "unknown {what} {}, expected one of: {}{}",
        quote(word),
        allowed.join(", "),
        did_you_mean(word, allowed.iter().copied())
    )
}

pub(super) fn plural(n: u32, role: Role) -> String {
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

pub(super) const DURATION_EXPECTED: &str =
    "a duration string with units such as \"250ms\", \"30s\" or \"2m\"";

pub(super) fn duration(v: &Value) -> Result<Duration, String> {
    match v {
        Value::String(s) => {
            parse_duration(s).map_err(|e| format!("expected {e}, found {}", show(v)))
        }
        _ => Err(format!("expected {DURATION_EXPECTED}, found {}", show(v))),
    }
}

pub(super) fn positive_duration(v: &Value) -> Result<Duration, String> {
    let d = duration(v)?;
    if d.is_zero() {
        return Err(format!("expected a duration above 0, found {}", show(v)));
    }
    Ok(d)
}

/// The drain is when crashed hosts restart and the backlog is read; without
/// it the broker's final inventory cannot be observed.
pub(super) fn drain(v: &Value) -> Result<Duration, String> {
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
pub(super) fn count_range(v: &Value) -> Result<(u32, u32), String> {
    const EXPECTED: &str = "a count range such as \"1..3\" (inclusive, at most 16) or an integer";
    match v {
        Value::Integer(n) if (0..=16).contains(n) => Ok((*n as u32, *n as u32)),
        _ => string_range(v, EXPECTED, |x| x.trim().parse::<u32>(), |_, b| b <= 16),
    }
}

pub(super) fn swarm_kinds(v: &Value) -> Result<Vec<String>, String> {
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
pub(super) fn string_range<T: PartialOrd + Copy, E>(
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
pub(super) fn duration_range(v: &Value) -> Result<(Duration, Duration), String> {
    let whole_ms = |d: Duration| d.as_micros().is_multiple_of(1000);
    string_range(
        v,
        "a duration range such as \"1s..10s\" (whole milliseconds, min above 0, min <= max)",
        parse_duration,
        |a, b| !a.is_zero() && whole_ms(a) && whole_ms(b),
    )
}

/// `"100/s..400/s"`: inclusive.
pub(super) fn rate_range(v: &Value) -> Result<(u64, u64), String> {
    string_range(
        v,
        &format!(
            "a rate range such as \"100/s..400/s\" (1/s <= min <= max, at most {MAX_RATE_PER_S}/s)"
        ),
        parse_rate,
        |a, b| a >= 1 && b <= MAX_RATE_PER_S,
    )
}

pub(super) fn tick(v: &Value) -> Result<Duration, String> {
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

pub(super) fn rate(v: &Value) -> Result<u64, String> {
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
pub(super) fn total_messages(rate_per_s: u64, duration: Duration, bursts: &[Burst]) -> u64 {
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
pub(super) fn positive_rate(v: &Value) -> Result<u64, String> {
    match rate(v)? {
        0 => Err(format!(
            "expected a rate above 0/s (a scenario that sends nothing checks nothing), found {}",
            show(v)
        )),
        r => Ok(r),
    }
}

pub(super) fn latency(v: &Value) -> Result<LatencyRange, String> {
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

pub(super) fn integer(v: &Value, min: u32, max: u32) -> Result<u32, String> {
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

pub(super) fn int_range(min: u32, max: u32) -> impl Fn(&Value) -> Result<u32, String> {
    move |v| integer(v, min, max)
}

pub(super) fn boolean(v: &Value) -> Result<bool, String> {
    match v {
        Value::Boolean(b) => Ok(*b),
        _ => Err(format!("expected true or false, found {}", show(v))),
    }
}

pub(super) fn string(v: &Value) -> Result<&str, String> {
    match v {
        Value::String(s) => Ok(s),
        _ => Err(format!("expected a string, found {}", show(v))),
    }
}

pub(super) fn one_of<T: Copy>(v: &Value, options: &[(&str, T)]) -> Result<T, String> {
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

pub(super) fn name(v: &Value) -> Result<String, String> {
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

pub(super) fn one_line(v: &Value) -> Result<String, String> {
    match string(v) {
        Ok(s) if !s.trim().is_empty() && !s.contains(['\n', '\r']) => Ok(s.to_string()),
        _ => Err(format!("expected one non-empty line, found {}", show(v))),
    }
}

pub(super) fn non_empty(v: &Value) -> Result<String, String> {
    match string(v) {
        Ok(s) if !s.trim().is_empty() && !s.contains(['\n', '\r']) => Ok(s.to_string()),
        _ => Err(format!(
            "expected a non-empty name on one line, found {}",
            show(v)
        )),
    }
}

pub(super) fn seed(v: &Value) -> Result<u64, String> {
    match v {
        Value::Integer(i) if *i >= 0 => Ok(*i as u64),
        _ => Err(format!(
            "expected a non-negative integer, found {}",
            show(v)
        )),
    }
}

/// An integer of at least 1 that may exceed `u32` (`broker.retention_messages`).
pub(super) fn positive_count(v: &Value) -> Result<u64, String> {
    match v {
        Value::Integer(i) if *i >= 1 => Ok(*i as u64),
        _ => Err(format!(
            "expected an integer of at least 1, found {}",
            show(v)
        )),
    }
}

/// One of the names of an enum's [`Named::NAMES`].
pub(super) fn named<T: Named>(v: &Value) -> Result<T, String> {
    one_of(v, T::NAMES)
}

pub(super) fn kind_name(k: BrokerKind) -> &'static str {
    k.name()
}

/// `broker.kind` as the file gives it (`log` when absent), read ahead of the
/// walk because `[topology]` and other tables depend on it; `None` when it
/// is not a valid kind (reported where `[broker]` is walked), in which case
/// no field is judged against the kind.
pub(super) fn peek_broker_kind(root: &Table) -> Option<BrokerKind> {
    match root.get("broker") {
        None => Some(BrokerKind::Log),
        Some(Value::Table(b)) => b
            .get("kind")
            .map_or(Some(BrokerKind::Log), |v| named(v).ok()),
        Some(_) => None,
    }
}

/// `broker.visibility_timeout`: above 0, at most [`MAX_VISIBILITY_TIMEOUT`].
pub(super) fn visibility_timeout(v: &Value) -> Result<Duration, String> {
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

/// A message id `"pN-M"`: producer N's message M (both decimal, without
/// leading zeros, below 2^32), as the History and reports write it.
pub(super) fn parse_msg_id(v: &Value) -> Result<MsgId, String> {
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

pub(super) fn fsync(v: &Value) -> Result<Fsync, String> {
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
pub(super) fn acks(v: &Value) -> Result<Acks, String> {
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

/// A number (float or integer) `x` with `low < x <= high`; else the error
/// says `expected {what}`.
pub(super) fn number_in(v: &Value, low: f64, high: f64, what: &str) -> Result<f64, String> {
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

pub(super) fn probability(v: &Value) -> Result<f64, String> {
    number_in(
        v,
        0.0,
        1.0,
        "a probability above 0 and at most 1 such as 0.1",
    )
}

/// A share of calls (`policy.breaker.error_rate`, `slow_rate`): 0 would open
/// the breaker on no evidence at all.
pub(super) fn share(v: &Value) -> Result<f64, String> {
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
pub(super) fn processing(v: &Value) -> Result<Duration, String> {
    let d = duration(v)?;
    if d > Duration::from_secs(10) {
        return Err(format!(
            "expected a CPU time from 0s to 10s, found {}",
            format_duration(d)
        ));
    }
    Ok(d)
}

pub(super) fn slow_factor(v: &Value) -> Result<f64, String> {
    let what = format!("a factor above 1 and at most {MAX_SLOW_FACTOR} such as 4 or 2.5");
    number_in(v, 1.0, MAX_SLOW_FACTOR, &what)
}

pub(super) fn policy_names() -> Vec<&'static str> {
    PolicyKind::ALL.iter().map(|k| k.name()).collect()
}

/// A policy's name: a built-in one, or one of one's own (judged against
/// the registered ones with the rest of `[policy]`).
pub(super) fn policy_kind(v: &Value) -> Result<PolicyKind, String> {
    let names = policy_names();
    match v {
        Value::String(s) if !s.trim().is_empty() => Ok(PolicyKind::named(s)),
        _ => Err(format!(
            "expected a policy kind, one of: {}, found {}",
            names.join(", "),
            show(v)
        )),
    }
}

pub(super) const FAULT_KINDS: [&str; 13] = [
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
pub(super) const QUEUE_FAULT_KINDS: [&str; 3] = ["poison", "redrive", "memory_pressure"];

pub(super) fn fault_kind(v: &Value) -> Result<&'static str, String> {
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
pub(super) fn bound(v: &Value, ms: bool) -> Result<(Cmp, u64), String> {
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

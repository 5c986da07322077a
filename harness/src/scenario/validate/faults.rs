//! `[[fault]]`: each fault's kind, targets, window and repetition, and the
//! rules between faults (order, overlaps on one host or link).

use super::*;

impl Check {
    pub(super) fn faults(
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
    pub(super) fn fault(
        &mut self,
        f: &Fields,
        duration: Option<Duration>,
        counts: &Counts,
    ) -> (Option<Duration>, Option<Fault>) {
        self.unknown_keys(f, &RawFault::fields());
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
                    || !RawFault::fields().contains(&key)
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

    /// `every`, `count` and `jitter`: a fault that happens again and again.
    /// `at` and `until` are the first instance's, when valid. Repetitions
    /// must not overlap one another (`every` at least the window plus the
    /// jitter) and the last must end within the load phase; without
    /// `count`, as many as fit.
    pub(super) fn repeat(
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
    pub(super) fn cpu_work(
        &mut self,
        faults: &[Fault],
        consumer: Option<Duration>,
        broker: Option<Duration>,
    ) {
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
    pub(super) fn poison(&mut self, f: &Fields, counts: &Counts) -> Option<FaultKind> {
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
    pub(super) fn msg_ids(&mut self, f: &Fields, counts: &Counts) -> Option<Option<Vec<MsgId>>> {
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
    pub(super) fn slowdown(&mut self, f: &Fields, targets: Option<&[Host]>) -> Option<Slowdown> {
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

    /// An optional window field (`for`, `restart_after`): `Some(until)` when
    /// valid, `until = at + window`, which must be by the end of the load phase.
    pub(super) fn window(
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
    pub(super) fn pair(
        &mut self,
        f: &Fields,
        required: bool,
        counts: &Counts,
    ) -> Option<(Hosts, Hosts)> {
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

    pub(super) fn targets(&mut self, f: &Fields, missing: &str, counts: &Counts) -> Option<Hosts> {
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
    pub(super) fn hosts(&mut self, f: &Fields, key: &str, counts: &Counts) -> Got<Hosts> {
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
}

/// One host name, role plural or `all`.
pub(super) fn resolve_host(name: &str, counts: &Counts) -> Result<Vec<Host>, String> {
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

pub(super) fn host_targets(k: &FaultKind) -> Option<&[Host]> {
    match k {
        FaultKind::Crash { targets }
        | FaultKind::Pause { targets }
        | FaultKind::SlowStorage { targets, .. }
        | FaultKind::SlowCpu { targets, .. }
        | FaultKind::MemoryPressure { targets, .. } => Some(targets),
        _ => None,
    }
}

pub(super) fn link_sides(k: &FaultKind) -> Option<(&[Host], &[Host])> {
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
pub(super) fn links_conflict(f: &FaultKind, g: &FaultKind) -> bool {
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
pub(super) fn shared_link(f: &FaultKind, g: &FaultKind) -> Option<String> {
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

//! The tables with structure of their own: workload bursts and key skew,
//! `[buffer]`, `[policy]`, `[scale]` and `[swarm]`.

use super::*;

impl Check {
    /// `workload.bursts`: inside the load phase, in time order, not overlapping.
    pub(super) fn bursts(&mut self, w: &Fields, duration: Option<Duration>) -> Option<Vec<Burst>> {
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
            self.unknown_keys(&f, &RawBurst::fields());
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

    /// `[buffer]`: a durable log in front of a queue. `partitions` is the
    /// topology's (the buffer's default), when valid.
    pub(super) fn buffer(
        &mut self,
        top: &Fields,
        partitions: Option<u32>,
    ) -> Option<Option<Buffer>> {
        let b = self.table(top, "buffer", "buffer", &RawBuffer::fields());
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
        let mut keys = Buffer::read(self, &b);
        let brokers = keys.brokers?;
        let replication = match keys.replication {
            Some(r) if r > brokers => {
                self.err(
                    b.at("replication"),
                    format!("expected at most buffer.brokers ({brokers}), found {r}"),
                );
                return None;
            }
            Some(r) => r,
            None if b.has("replication") => return None,
            None => brokers.min(3),
        };
        let min_insync = match keys.min_insync {
            Some(m) if m > replication => {
                self.err(
                    b.at("min_insync"),
                    format!("expected at most buffer.replication ({replication}), found {m}"),
                );
                return None;
            }
            Some(m) => m,
            None if b.has("min_insync") => return None,
            None => replication.min(2),
        };
        if self.broker == Some(BrokerKind::Log) {
            return None;
        }
        keys.replication = Some(replication);
        keys.min_insync = Some(min_insync);
        if !b.has("partitions") {
            keys.partitions = partitions;
        }
        Some(Some(keys.finish()?))
    }

    /// `hot_share` / `zipf` with `hot_keys` or `hot_partition`: a skewed
    /// key distribution. `keys` and `partitions` are the workload's and the
    /// topology's, when valid.
    pub(super) fn skew(
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

    /// `consumer.handler` must name mqsim's own handler or one the model
    /// that will run the scenario registered.
    pub(super) fn registered_handler(&mut self, c: &Fields, name: &str) {
        let own = self.actors.handlers.clone();
        self.registered(c, "handler", "handler", name, BUILTIN_HANDLER, &own);
    }

    /// `store.model` likewise, against the registered store models.
    pub(super) fn registered_store(&mut self, s: &Fields, name: &str) {
        let own = self.actors.stores.clone();
        self.registered(s, "model", "store model", name, BUILTIN_STORE, &own);
    }

    /// `key` of `f` names `builtin` or one of `own`, else an error listing
    /// them.
    fn registered(
        &mut self,
        f: &Fields,
        key: &str,
        what: &str,
        name: &str,
        builtin: &str,
        own: &[String],
    ) {
        if name == builtin || own.iter().any(|h| h == name) {
            return;
        }
        let mut known = vec![builtin];
        known.extend(own.iter().map(String::as_str));
        let hint = if own.is_empty() {
            format!(
                " (a {what} of your own runs only where it is registered: a test or binary built with mqsim::Registry)"
            )
        } else {
            String::new()
        };
        self.err(
            f.at(key),
            format!(
                "expected a registered {what}, one of: {}; found {name:?}{}{hint}",
                known.join(", "),
                did_you_mean(name, known.iter().copied())
            ),
        );
    }

    /// `[policy]` with its `[policy.breaker]`.
    pub(super) fn policy(&mut self, top: &Fields) -> Option<Policy> {
        let p = self.table(top, "policy", "policy", &RawPolicy::fields());
        let policy = Policy::read(self, &p);
        let kind = policy.kind;
        let mut bounded = true;
        let from = if self.policy_from_cli {
            " (from --policy)"
        } else {
            ""
        };
        // A policy of one's own must be registered with the model.
        let mut registered = true;
        if let Some(PolicyKind::Custom(name)) = kind {
            if !self.actors.policies.iter().any(|p| p == name) {
                let mut known = policy_names();
                known.extend(self.actors.policies.iter().map(String::as_str));
                let hint = if self.actors.policies.is_empty() {
                    " (a policy of your own runs only where it is registered: a test or binary built with mqsim::Registry)"
                } else {
                    ""
                };
                self.err(
                    p.at("kind"),
                    format!("{}{from}{hint}", unknown("policy kind", name, &known)),
                );
                registered = false;
            }
        }
        // A queue has no log end to lag behind: its bound is the queue's own.
        let for_queue = match (self.broker, kind) {
            (Some(b @ BrokerKind::Queue), Some(k)) if !b.policies().contains(&k) => {
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
        let b = self.table(&p, "breaker", "breaker", &RawBreaker::fields());
        let breaker = BreakerConfig::read(self, &b);
        if !bounded || !for_queue || !registered {
            return None;
        }
        policy.finish(PolicyRest {
            breaker: breaker.finish(),
        })
    }

    /// `[scale] counts`.
    pub(super) fn scale(&mut self, top: &Fields) -> Option<Vec<ScaleCount>> {
        let t = self.table(top, "scale", "scale", &RawScale::fields());
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

    /// `[swarm]`: `Some(None)` when absent, `None` when invalid.
    pub(super) fn swarm(
        &mut self,
        top: &Fields,
        duration: Option<Duration>,
    ) -> Option<Option<Swarm>> {
        if !top.has("swarm") {
            let _ = self.value(top, "swarm");
            return Some(None);
        }
        let t = self.table(top, "swarm", "swarm", &RawSwarm::fields());
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
}

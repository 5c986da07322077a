//! `[expect]`: metric bounds, per-policy sub-tables and scoped groups
//! (`partition.3.max_lag`, `key.hot.stranded`).

use super::*;

/// What scoped expectations are judged against: whether the load is skewed
/// and how many partitions there are (None: unknown, that field invalid).
#[derive(Clone, Copy)]
pub(super) struct Groups {
    pub(super) skewed: Option<bool>,
    pub(super) partitions: Option<u32>,
    pub(super) keys: Option<u32>,
}

/// `[expect]` as walked.
#[derive(Default)]
pub(super) struct Expect {
    /// What a run under the scenario's policy checks.
    pub(super) effective: Vec<Expectation>,
    pub(super) common: Vec<Expectation>,
    pub(super) by_policy: Vec<(PolicyKind, Vec<Expectation>)>,
}

impl Check {
    /// `[expect]`: its metric keys (every policy) and its per-policy
    /// sub-tables; `kind` picks the effective list (None: the policy was
    /// invalid and the file is rejected anyway).
    pub(super) fn expect(
        &mut self,
        top: &Fields,
        kind: Option<PolicyKind>,
        groups: Groups,
    ) -> Option<Expect> {
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
        let own = self.actors.policies.clone();
        let mut policies = policy_names();
        policies.extend(own.iter().map(String::as_str));
        let registered = |key: &str| (own.iter().any(|p| p == key)).then(|| PolicyKind::named(key));
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
            match (v, PolicyKind::from_name(key).or_else(|| registered(key))) {
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
    pub(super) fn bounds(&mut self, f: &Fields, groups: Groups) -> Option<Vec<Expectation>> {
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
    pub(super) fn bound_of(&mut self, path: &str, key: &str, v: &Value) -> Option<Expectation> {
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
    pub(super) fn scoped(
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

//! The figures a run is judged by: every metric an `[expect]` line can
//! name, declared once (its variant, its name — which is also its JSON key —
//! and its doc), with the comparison and scope an expectation puts around
//! it. Checkers compute figures for these names and the scenario parser
//! reads them; neither owns the vocabulary, so `check/` need not import
//! `scenario/`.

use std::fmt;

/// What a metric is, beyond its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flag {
    /// A count of messages, with example ids (the JSON `counts`).
    Count,
    /// A dead-letter routing count: human reports show it only for runs
    /// with poison or dead-lettered messages.
    Dlq,
    /// A group of messages (a partition, a key class) has it too.
    Group,
}

/// Declares [`Metric`], [`Metric::ALL`] (in declaration order, which is
/// the order reports list them), [`Metric::name`] and what each metric is
/// (its flags), from one table: [`COUNTS`], [`DLQ_COUNTS`] and
/// [`GROUP_METRICS`] are derived from it.
macro_rules! metrics {
    ($($(#[doc = $doc:literal])* $variant:ident = $name:ident [$($flag:ident),*],)*) => {
        /// A figure an expectation can test; names equal the JSON keys.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Metric {
            $($(#[doc = $doc])* $variant,)*
        }

        impl Metric {
            /// Every metric, in the order reports list them.
            pub const ALL: &'static [Metric] = &[$(Metric::$variant,)*];

            /// Its name in `[expect]` and its key in report.json.
            pub fn name(self) -> &'static str {
                match self {
                    $(Metric::$variant => stringify!($name),)*
                }
            }

            const fn flags(self) -> &'static [Flag] {
                match self {
                    $(Metric::$variant => &[$(Flag::$flag),*],)*
                }
            }
        }
    };
}

/// The one table of metrics: each entry's doc, variant, name (its key in
/// `[expect]` and report.json) and flags. It hands its entries to the
/// macro named `$then`: [`Metric`] is declared from it here, and the
/// `[expect]` tables of the scenario format (`scenario/raw.rs`) from the
/// same entries, so a new metric is one entry (plus its checker).
macro_rules! metric_table {
    ($then:ident) => {
        $then! {
            /// Messages the workload created: asked a producer to send them.
            Sent = sent [Count, Group],
            /// Messages the broker acknowledged.
            Acked = acked [Count],
            /// Messages applied to the store at least once.
            TookEffect = took_effect [Count, Group],
            /// Acked messages that never produced an effect, were not dropped by a
            /// recorded policy, not dead-lettered, and are no longer held by the
            /// broker: a durability or delivery bug.
            Lost = lost [Count, Group],
            /// Messages without an effect still held by the broker at the end of
            /// the drain (a liveness failure, not loss).
            Stranded = stranded [Count, Group],
            /// Messages discarded by a policy or limit (max lag, retention,
            /// overflow) without telling the producer, never applied.
            SilentlyDropped = silently_dropped [Count, Group],
            /// Messages whose time to live ran out before they were consumed.
            Expired = expired [Count, Group],
            /// Messages refused with an explicit reject (the producer knew).
            Shed = shed [Count, Group],
            /// Messages a producer gave up on (retries or delivery timeout
            /// exhausted), or that vanished with a crashed producer.
            Abandoned = abandoned [Count, Group],
            /// Of `abandoned`, those nobody was told about (a crashed producer's).
            AbandonedSilently = abandoned_silently [Count],
            /// Messages a live producer still held at the end.
            InFlight = in_flight [Count, Group],
            /// Messages whose publish timed out (indeterminate) but were delivered.
            Recovered = recovered [Count],
            /// Deliveries beyond the first.
            DuplicateDeliveries = duplicate_deliveries [Count],
            /// Effects beyond the first (an idempotency failure).
            DuplicateEffects = duplicate_effects [Count],
            /// Effects for messages never created.
            Unexpected = unexpected [Count],
            /// Messages whose first effect came before that of a message sent
            /// earlier by the same producer with the same key (they overtook it).
            OrderViolations = order_violations [Count],
            /// Messages in a dead-letter queue at the end, never applied.
            DeadLettered = dead_lettered [Count, Group],
            /// Poison messages sent (a consumer fails on them every time).
            Poison = poison [Count, Dlq],
            /// Poison messages that reached the dead-letter queue.
            PoisonDeadLettered = poison_dead_lettered [Count, Dlq],
            /// Poison messages that did not (still retried at the end, or gone).
            PoisonNotDeadLettered = poison_not_dead_lettered [Count, Dlq],
            /// Healthy messages that were dead-lettered.
            Misrouted = misrouted [Count, Dlq],
            /// The most deliveries of one message.
            MaxDeliveries = max_deliveries [],
            /// Largest consumer lag in messages.
            MaxLag = max_lag [Group],
            /// Largest age of the oldest unprocessed message, in ms.
            MaxLagAgeMs = max_lag_age_ms [Group],
            /// Time from the last fault's end until lag is back under its pre-fault
            /// baseline, in ms; "never" compares as larger than any number.
            RecoveryMs = recovery_ms [],
            /// Median end-to-end latency (send to first effect), in ms.
            LatencyP50Ms = latency_p50_ms [Group],
            /// 99th percentile end-to-end latency, in ms.
            LatencyP99Ms = latency_p99_ms [Group],
            /// Largest end-to-end latency, in ms.
            LatencyMaxMs = latency_max_ms [Group],
            /// Consumer-group rebalances after the group formed (log brokers).
            Rebalances = rebalances [],
            /// Time during which some partition had no owner in the consumer
            /// group, in ms.
            UnownedMs = unowned_ms [],
        }
    };
}
pub(crate) use metric_table;

metric_table!(metrics);

impl Metric {
    /// The metric named `s` in `[expect]` and the JSON, if there is one.
    pub fn from_name(s: &str) -> Option<Metric> {
        Metric::ALL.iter().copied().find(|m| m.name() == s)
    }

    const fn has(self, flag: Flag) -> bool {
        let flags = self.flags();
        let mut i = 0;
        while i < flags.len() {
            if flags[i] as u8 == flag as u8 {
                return true;
            }
            i += 1;
        }
        false
    }
}

/// How many metrics carry `flag`.
const fn flagged(flag: Flag) -> usize {
    let (mut i, mut n) = (0, 0);
    while i < Metric::ALL.len() {
        if Metric::ALL[i].has(flag) {
            n += 1;
        }
        i += 1;
    }
    n
}

/// The metrics that carry `flag`, in [`Metric::ALL`]'s order.
const fn select<const N: usize>(flag: Flag) -> [Metric; N] {
    let mut out = [Metric::Sent; N];
    let (mut i, mut j) = (0, 0);
    while i < Metric::ALL.len() {
        if Metric::ALL[i].has(flag) {
            out[j] = Metric::ALL[i];
            j += 1;
        }
        i += 1;
    }
    out
}

/// The count metrics, in the order reports list them (the JSON `counts` order).
pub const COUNTS: [Metric; flagged(Flag::Count)] = select(Flag::Count);

/// The DLQ routing counts (the last of [`COUNTS`]): human reports show
/// them only for runs with poison or dead-lettered messages.
pub const DLQ_COUNTS: [Metric; flagged(Flag::Dlq)] = select(Flag::Dlq);

/// The metrics a group of messages has (`partition.<p>.`, `key.<class>.`).
pub const GROUP_METRICS: [Metric; flagged(Flag::Group)] = select(Flag::Group);

/// How an expectation compares its figure with its bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    /// `=`: the figure equals the bound.
    Eq,
    /// `>`: the figure is above the bound.
    Gt,
    /// `<`: the figure is below the bound.
    Lt,
    /// `<=`: the figure is at most the bound.
    Le,
    /// `>=`: the figure is at least the bound.
    Ge,
}

impl Cmp {
    /// The operator as `[expect]` and reports write it.
    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Eq => "=",
            Cmp::Gt => ">",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Ge => ">=",
        }
    }

    /// Whether `actual` meets `bound` under this operator.
    pub fn holds(self, actual: u64, bound: u64) -> bool {
        match self {
            Cmp::Eq => actual == bound,
            Cmp::Gt => actual > bound,
            Cmp::Lt => actual < bound,
            Cmp::Le => actual <= bound,
            Cmp::Ge => actual >= bound,
        }
    }
}

/// `metric op value`, e.g. `lost = 0`, `max_lag > 5000`, or the same for
/// one group of messages: `partition.cold.latency_p99_ms < 1000`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expectation {
    /// Which messages the figure is about.
    pub scope: Scope,
    /// The figure tested.
    pub metric: Metric,
    /// How it is compared with `value`.
    pub cmp: Cmp,
    /// The bound: messages for counts and lag, ms for the `_ms` metrics.
    pub value: u64,
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{} {} {}",
            self.scope.prefix(),
            self.metric.name(),
            self.cmp.symbol(),
            self.value
        )
    }
}

/// Which messages an expectation's figure is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Scope {
    /// The whole run.
    #[default]
    All,
    /// One partition (or queue).
    Partition(u32),
    /// The partitions holding a hot key, or the others.
    Partitions(Class),
    /// The hot keys, or the others.
    Keys(Class),
}

/// Hot or cold, under a skewed load.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// The hot keys, or the partitions holding one.
    Hot,
    /// The other keys, or the other partitions.
    Cold,
}

impl Class {
    /// As in `[expect]` keys (`key.hot.lost`).
    pub fn name(self) -> &'static str {
        match self {
            Class::Hot => "hot",
            Class::Cold => "cold",
        }
    }
}

impl Scope {
    /// As written before the metric: ``, `partition.3.`, `key.hot.`.
    pub fn prefix(self) -> String {
        match self {
            Scope::All => String::new(),
            Scope::Partition(p) => format!("partition.{p}."),
            Scope::Partitions(c) => format!("partition.{}.", c.name()),
            Scope::Keys(c) => format!("key.{}.", c.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_unique_and_reads_back() {
        for &m in Metric::ALL {
            assert_eq!(Metric::from_name(m.name()), Some(m));
        }
        let mut names: Vec<_> = Metric::ALL.iter().map(|m| m.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Metric::ALL.len());
        assert_eq!(Metric::from_name("no_such_metric"), None);
    }

    #[test]
    fn the_derived_sets_follow_the_table() {
        assert_eq!(COUNTS.len(), 21);
        assert_eq!(COUNTS[0], Metric::Sent);
        assert!(DLQ_COUNTS.iter().all(|m| COUNTS.contains(m)));
        assert_eq!(
            DLQ_COUNTS,
            [
                Metric::Poison,
                Metric::PoisonDeadLettered,
                Metric::PoisonNotDeadLettered,
                Metric::Misrouted
            ]
        );
        assert!(GROUP_METRICS.contains(&Metric::LatencyP99Ms));
        assert!(!GROUP_METRICS.contains(&Metric::Rebalances));
    }
}

//! What a scenario key is, once: the runtime side of `#[derive(Keys)]`
//! (crate `harness-derive`).
//!
//! A table's typed struct (`Topology`, `Broker`, … in `tables.rs`) declares
//! each key on its field: name, kind, default, broker family, the check
//! that reads it and its one-line doc. The derive turns that into the raw
//! serde mirror the JSON Schema comes from, the validator's walk of the
//! table, its rendering back into TOML, and [`Declared::keys`], from which
//! the scenario reference's tables ([`reference_table`]) and the schema's
//! descriptions ([`schema_description`]) are written. So adding an
//! optional key is one declaration plus the code that uses its value.
//!
//! What is not a plain key — cross-field rules (`replication` at most
//! `brokers`), structured values (`bursts`, faults, `[expect]`) — stays
//! hand-written in `validate/`, in the same pass, so every error of a file
//! is still reported at once.

use super::types::*;
use crate::units::format_duration;
use std::time::Duration;

/// A table whose keys are declared with `#[derive(Keys)]`.
pub trait Declared {
    /// The table's path in a file (`"broker"`; `""` for the top level).
    const TABLE: &'static str;
    /// The name of its raw mirror (`RawBroker`), as the JSON Schema's
    /// definitions name it.
    const RAW: &'static str;
    /// Its keys, in declaration order (the order of the reference, of the
    /// rendered file and of the walk).
    fn keys() -> Vec<Key>;
}

/// One declared key.
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    pub name: &'static str,
    /// How the reference names its type: `integer`, `duration`, `rate`, …
    pub kind: &'static str,
    pub default: KeyDefault,
    /// The broker family it applies to (`None`: both); given under the other
    /// it is an error.
    pub family: Option<BrokerKind>,
    /// Its meaning, one line.
    pub doc: &'static str,
}

/// What an absent key means.
#[derive(Clone, Debug, PartialEq)]
pub enum KeyDefault {
    /// The default value, as it would be written in the file.
    Value(String),
    /// Absent means none (an optional setting).
    None,
    Required,
    /// Said in words: a default that depends on other keys.
    Text(&'static str),
    /// A sub-table with a section of its own in the reference, not a row.
    Unlisted,
}

impl KeyDefault {
    /// As the reference's "default" column writes it.
    pub fn markdown(&self) -> String {
        match self {
            KeyDefault::Value(v) => format!("`{v}`"),
            KeyDefault::None => "none".to_string(),
            KeyDefault::Required => "*required*".to_string(),
            KeyDefault::Text(t) => t.to_string(),
            KeyDefault::Unlisted => String::new(),
        }
    }
}

fn family_prefix(k: &Key) -> &'static str {
    match k.family {
        None => "",
        Some(BrokerKind::Log) => "log only: ",
        Some(BrokerKind::Queue) => "queue only: ",
    }
}

/// The scenario reference's table of `T`'s keys (docs/scenario-format.md
/// embeds it between `<!-- keys:TABLE -->` markers; a test keeps it equal).
pub fn reference_table<T: Declared>() -> String {
    let mut o = String::from("| field | type | default | meaning |\n|---|---|---|---|\n");
    for k in T::keys() {
        if k.default == KeyDefault::Unlisted {
            continue;
        }
        o += &format!(
            "| `{}` | {} | {} | {}{} |\n",
            k.name,
            k.kind,
            k.default.markdown(),
            family_prefix(&k),
            k.doc.replace('|', "\\|")
        );
    }
    o
}

/// The JSON Schema description of a key: what an editor shows on hover.
pub fn schema_description(k: &Key) -> String {
    let family = match k.family {
        None => "",
        Some(BrokerKind::Log) => "Log only. ",
        Some(BrokerKind::Queue) => "Queue only. ",
    };
    let mut kind = k.kind.to_string();
    if let Some(first) = kind.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    let default = match &k.default {
        KeyDefault::Value(v) => format!("default `{v}`"),
        KeyDefault::None => "optional".to_string(),
        KeyDefault::Required => "required".to_string(),
        KeyDefault::Text(t) => format!("default {t}"),
        KeyDefault::Unlisted => return k.doc.to_string(),
    };
    format!("{family}{kind}, {default}: {}", k.doc)
}

/// A typed value written back as a TOML value.
pub trait Toml {
    fn toml(&self) -> String;
}

/// A TOML basic string.
pub fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

impl Toml for u32 {
    fn toml(&self) -> String {
        self.to_string()
    }
}

impl Toml for u64 {
    fn toml(&self) -> String {
        self.to_string()
    }
}

impl Toml for bool {
    fn toml(&self) -> String {
        self.to_string()
    }
}

impl Toml for f64 {
    /// `0.5`, `1.0`: always with a point, so it reads back as a float.
    fn toml(&self) -> String {
        format!("{self:?}")
    }
}

impl Toml for String {
    fn toml(&self) -> String {
        quoted(self)
    }
}

impl Toml for Duration {
    fn toml(&self) -> String {
        quoted(&format_duration(*self))
    }
}

impl Toml for LatencyRange {
    fn toml(&self) -> String {
        quoted(&self.to_string())
    }
}

/// A rate in messages per second, as `"N/s"`.
pub fn rate(r: &u64) -> String {
    format!("\"{r}/s\"")
}

/// An enum written as one of a fixed set of strings: the one table both
/// its check (`convert::named`) and its rendering read.
pub trait Named: Copy + PartialEq + 'static {
    const NAMES: &'static [(&'static str, Self)];

    fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, v)| *v == self)
            .map(|(n, _)| *n)
            .expect("every variant is named")
    }
}

impl<T: Named> Toml for T {
    fn toml(&self) -> String {
        quoted(self.name())
    }
}

impl Named for BrokerKind {
    const NAMES: &'static [(&'static str, Self)] =
        &[("log", BrokerKind::Log), ("queue", BrokerKind::Queue)];
}

impl Named for Overflow {
    const NAMES: &'static [(&'static str, Self)] = &[
        ("reject_new", Overflow::RejectNew),
        ("drop_oldest", Overflow::DropOldest),
        ("block", Overflow::Block),
    ];
}

impl Named for PartitionHandling {
    const NAMES: &'static [(&'static str, Self)] = &[
        ("pause_minority", PartitionHandling::PauseMinority),
        ("autoheal", PartitionHandling::Autoheal),
    ];
}

impl Named for MemoryAlarm {
    const NAMES: &'static [(&'static str, Self)] = &[
        ("block_publishers", MemoryAlarm::BlockPublishers),
        ("block_all", MemoryAlarm::BlockAll),
    ];
}

impl Named for QueueType {
    const NAMES: &'static [(&'static str, Self)] = &[
        ("classic", QueueType::Classic),
        ("quorum", QueueType::Quorum),
    ];
}

impl Named for Assignment {
    const NAMES: &'static [(&'static str, Self)] = &[
        ("range", Assignment::Range),
        ("round_robin", Assignment::RoundRobin),
    ];
}

impl Named for OffsetReset {
    const NAMES: &'static [(&'static str, Self)] = &[
        ("earliest", OffsetReset::Earliest),
        ("latest", OffsetReset::Latest),
    ];
}

impl Named for CommitMode {
    const NAMES: &'static [(&'static str, Self)] = &[
        ("after_effect", CommitMode::AfterEffect),
        ("before_effect", CommitMode::BeforeEffect),
    ];
}

impl Toml for Fsync {
    fn toml(&self) -> String {
        match self {
            Fsync::PerBatch => quoted("per_batch"),
            Fsync::Never => quoted("never"),
            Fsync::Interval(d) => quoted(&format!("interval:{}", format_duration(*d))),
        }
    }
}

impl Toml for Acks {
    fn toml(&self) -> String {
        match self {
            Acks::None => "0".to_string(),
            Acks::Leader => "1".to_string(),
            Acks::All => quoted("all"),
        }
    }
}

impl Toml for PolicyKind {
    fn toml(&self) -> String {
        quoted(self.name())
    }
}

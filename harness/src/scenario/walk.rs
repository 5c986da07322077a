//! The walk of one table of a scenario file: reading a key, converting it,
//! judging it against the broker family, collecting every error with its
//! path. Both the declared keys (`#[derive(Keys)]`, which calls the `key_*`
//! methods) and the hand-written rules of `validate/` read through it.

use super::convert::*;
use super::types::*;
use std::collections::BTreeSet;
use std::fmt;
use toml::{Table, Value};

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

/// One table of the file being walked.
pub(crate) struct Fields<'a> {
    /// Its path ("" for the top level).
    pub(super) path: String,
    /// Which schema it follows (for the read bookkeeping the tests check).
    pub(super) schema: &'static str,
    /// `None` when the table is absent (or was not a table): every field
    /// takes its default.
    pub(super) table: Option<&'a Table>,
}

impl Fields<'_> {
    pub(super) fn at(&self, key: &str) -> String {
        join(&self.path, key)
    }

    pub(super) fn has(&self, key: &str) -> bool {
        self.table.is_some_and(|t| t.contains_key(key))
    }
}

/// A field's value after conversion.
pub(super) enum Got<T> {
    Absent,
    Bad,
    Ok(T),
}

#[derive(Default)]
pub(crate) struct Check {
    pub(super) errors: Vec<FieldError>,
    /// `(schema, key)` of every field the walk read.
    pub(super) read: BTreeSet<(&'static str, String)>,
    /// `policy.kind` came from `--policy`, not the file: messages that
    /// depend on the kind say so.
    pub(super) policy_from_cli: bool,
    /// `broker.kind`, read ahead of the walk (`peek_broker_kind`); `None`
    /// when invalid: then no field is judged against it.
    pub(super) broker: Option<BrokerKind>,
    /// `broker.kind` is written in the file (else it is the default).
    pub(super) broker_given: bool,
    /// Whether `broker.max_receives` is set (a queue has a dead-letter
    /// queue); `None` until `[broker]` is walked or when it is invalid.
    pub(super) dead_letter: Option<bool>,
    /// What the model that will run the scenario has registered.
    pub(super) actors: Actors,
}

impl Check {
    pub(super) fn err(&mut self, path: String, message: String) {
        self.errors.push(FieldError { path, message });
    }

    /// How the broker kind reads in messages: `broker.kind = "log" (the
    /// default)`.
    pub(super) fn found_kind(&self, k: BrokerKind) -> String {
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
    pub(super) fn applies(&mut self, f: &Fields, key: &str, only: BrokerKind, why: &str) -> bool {
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

    pub(super) fn value<'a>(&mut self, f: &Fields<'a>, key: &str) -> Option<&'a Value> {
        self.read.insert((f.schema, key.to_string()));
        f.table.and_then(|t| t.get(key))
    }

    pub(super) fn unknown_keys(&mut self, f: &Fields, allowed: &[&str]) {
        let Some(t) = f.table else { return };
        for key in t.keys() {
            if !allowed.contains(&key.as_str()) {
                self.err(f.at(key), unknown("field", key, allowed));
            }
        }
    }

    /// `[key]` of `parent`; unknown keys in it are reported.
    pub(super) fn table<'a>(
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

    pub(super) fn get<'a, T>(
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

    pub(super) fn or_default<'a, T>(
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

    pub(super) fn required<'a, T>(
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
    pub(super) fn optional<'a, T>(
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

    /// Whether a key of broker family `only` (with the `why` its error
    /// appends) may be judged; `None` applies to both families.
    fn family_allows(&mut self, f: &Fields, key: &str, only: Option<(BrokerKind, &str)>) -> bool {
        match only {
            Some((kind, why)) => self.applies(f, key, kind, why),
            None => true,
        }
    }

    /// A declared key with a default: its value, `None` when invalid.
    pub(crate) fn key_default<'a, T>(
        &mut self,
        f: &Fields<'a>,
        key: &str,
        only: Option<(BrokerKind, &str)>,
        default: T,
        conv: impl FnOnce(&'a Value) -> Result<T, String>,
    ) -> Option<T> {
        if self.family_allows(f, key, only) {
            self.or_default(f, key, default, conv)
        } else {
            None
        }
    }

    /// A declared optional key: `Some(None)` when absent, `None` when invalid.
    pub(crate) fn key_optional<'a, T>(
        &mut self,
        f: &Fields<'a>,
        key: &str,
        only: Option<(BrokerKind, &str)>,
        conv: impl FnOnce(&'a Value) -> Result<T, String>,
    ) -> Option<Option<T>> {
        if self.family_allows(f, key, only) {
            self.optional(f, key, conv)
        } else {
            None
        }
    }

    /// A declared required key: `None` (and an error) when absent or invalid.
    pub(crate) fn key_required<'a, T>(
        &mut self,
        f: &Fields<'a>,
        key: &str,
        only: Option<(BrokerKind, &str)>,
        conv: impl FnOnce(&'a Value) -> Result<T, String>,
    ) -> Option<T> {
        if self.family_allows(f, key, only) {
            self.required(f, key, "missing required field", conv)
        } else {
            None
        }
    }

    /// A declared key whose default the table's rules compute: the value
    /// as given, `None` when absent or invalid (`Fields::has` tells which).
    pub(crate) fn key_given<'a, T>(
        &mut self,
        f: &Fields<'a>,
        key: &str,
        only: Option<(BrokerKind, &str)>,
        conv: impl FnOnce(&'a Value) -> Result<T, String>,
    ) -> Option<T> {
        if !self.family_allows(f, key, only) {
            return None;
        }
        match self.get(f, key, conv) {
            Got::Ok(t) => Some(t),
            Got::Absent | Got::Bad => None,
        }
    }
}

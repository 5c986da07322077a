//! The scenario format as a JSON Schema, for editors: taplo / VS Code's
//! Even Better TOML complete keys, show each key's doc and flag unknown keys
//! and wrong types while a scenario is being written. It is derived from
//! the raw types (those `#[derive(Keys)]` writes from `tables.rs`, and the
//! structured ones of `raw.rs`: their serde names and doc comments; a
//! declared key's description is written from its declaration), so it cannot
//! drift from the format; `docs/scenario.schema.json` is
//! the committed copy (`mqsim schema` prints it; a test keeps it current and
//! validates every shipped scenario against it).
//!
//! It checks shape only — which keys exist, and their TOML types. Units,
//! ranges, host names and the rules between fields are `validate/`'s: a
//! file the schema accepts can still fail `mqsim run` with exit 2 naming
//! the field.

use super::keys::schema_description;
use super::tables::{declared, RawScenario};
use schemars::generate::SchemaSettings;
use serde_json::Value;

/// The JSON Schema (draft 7, which taplo reads) of a scenario file, as
/// pretty-printed JSON ending in a newline.
pub fn json_schema() -> String {
    let generator = SchemaSettings::draft07().into_generator();
    let mut schema = generator.into_root_schema_for::<RawScenario>();
    schema.insert("title".into(), "mqsim scenario".into());
    schema.insert(
        "description".into(),
        "A scenario file for mqsim: topology, \
         workload, broker, consumer, policy, faults and expectations. Durations \
         are strings with units (\"250ms\", \"30s\", \"2m\"), rates \"800/s\" or \
         \"30000/m\"."
            .into(),
    );
    let mut value = schema.to_value();
    without_null(&mut value);
    describe_declared(&mut value);
    let mut text = serde_json::to_string_pretty(&value).expect("a schema is JSON");
    text.push('\n');
    text
}

/// A declared key's description says its kind, default and family as the
/// reference does (`keys::schema_description`), from the same declaration.
fn describe_declared(schema: &mut Value) {
    for t in declared() {
        // The top level is the root schema; a table is a definition.
        let def = if t.table.is_empty() {
            Some(&mut *schema)
        } else {
            schema.get_mut("definitions").and_then(|d| d.get_mut(t.raw))
        };
        let Some(props) = def
            .and_then(|d| d.get_mut("properties"))
            .and_then(|p| p.as_object_mut())
        else {
            continue;
        };
        for k in t.keys {
            if k.kind == "table" {
                continue;
            }
            if let Some(Value::Object(p)) = props.get_mut(k.name) {
                p.insert("description".into(), schema_description(&k).into());
            }
        }
    }
}

/// TOML has no null: a key left out is how a file says "none". schemars
/// writes an `Option<T>` as "T or null" (`anyOf [T, null]`, or `"null"` in
/// a type list); this makes it plain T, so an editor points at the key that
/// is wrong rather than at "not valid under anyOf" on its table. A `$ref`
/// goes under `allOf`, because draft 7 ignores a `$ref`'s siblings and the
/// key's description would be lost.
fn without_null(v: &mut Value) {
    match v {
        Value::Object(obj) => {
            let is_null = |s: &Value| s.get("type").and_then(Value::as_str) == Some("null");
            if let Some(Value::Array(any)) = obj.get_mut("anyOf") {
                any.retain(|s| !is_null(s));
                if any.len() == 1 {
                    let Some(Value::Object(other)) = any.pop() else {
                        unreachable!("schemars writes schemas as objects")
                    };
                    obj.remove("anyOf");
                    if other.contains_key("$ref") {
                        let all = obj.entry("allOf").or_insert(Value::Array(Vec::new()));
                        if let Value::Array(all) = all {
                            all.push(Value::Object(other));
                        }
                    } else {
                        for (k, x) in other {
                            obj.entry(k).or_insert(x);
                        }
                    }
                }
            }
            if let Some(Value::Array(types)) = obj.get_mut("type") {
                if types.len() > 1 {
                    types.retain(|t| t.as_str() != Some("null"));
                }
                if types.len() == 1 {
                    let only = types.remove(0);
                    obj.insert("type".into(), only);
                }
            }
            if let Some(Value::Array(values)) = obj.get_mut("enum") {
                values.retain(|v| !v.is_null());
            }
            obj.values_mut().for_each(without_null);
        }
        Value::Array(items) => items.iter_mut().for_each(without_null),
        _ => {}
    }
}

//! The JSON Schema editors use (`docs/scenario.schema.json`, `mqsim
//! schema`): it is current with the schema of record (`raw.rs`), accepts
//! every shipped scenario, and rejects unknown keys and wrong types — what an
//! editor would underline as a user types.

use std::path::Path;

fn schema() -> serde_json::Value {
    serde_json::from_str(&harness::scenario::json_schema()).expect("the schema is JSON")
}

fn as_json(toml_text: &str) -> serde_json::Value {
    let v: toml::Value = toml::from_str(toml_text).expect("TOML");
    serde_json::to_value(v).expect("TOML as JSON")
}

/// The instance paths the schema complains about, e.g. `/broker/acks_typo`.
fn errors(text: &str) -> Vec<String> {
    let schema = schema();
    let validator = jsonschema::draft7::new(&schema).expect("a valid draft-7 schema");
    let instance = as_json(text);
    let mut out: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| format!("{} ({e})", e.instance_path()))
        .collect();
    out.sort();
    out
}

#[test]
fn the_committed_schema_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scenario.schema.json");
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("docs/scenario.schema.json"))
            .expect("JSON");
    assert!(
        committed == schema(),
        "docs/scenario.schema.json is stale: run `cargo run --release -- schema > docs/scenario.schema.json`"
    );
}

#[test]
fn every_shipped_scenario_satisfies_the_schema() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "toml") {
            let text = std::fs::read_to_string(&path).unwrap();
            let found = errors(&text);
            assert!(found.is_empty(), "{}: {found:#?}", path.display());
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} scenarios found");
}

#[test]
fn the_schema_flags_unknown_keys_wrong_types_and_missing_required_keys() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let smoke = std::fs::read_to_string(dir.join("smoke.toml")).unwrap();
    assert!(errors(&smoke).is_empty());
    let typo = smoke.replacen("[broker]", "[broker]\nack = 1", 1);
    assert!(typo != smoke, "smoke.toml has a [broker] table");
    let found = errors(&typo);
    assert!(
        found
            .iter()
            .any(|e| e.starts_with("/broker ") && e.contains("ack")),
        "{found:#?}"
    );
    let wrong_type = smoke.replacen("[broker]", "[broker]\nmin_insync = \"two\"", 1);
    let found = errors(&wrong_type);
    assert!(
        found.iter().any(|e| e.starts_with("/broker/min_insync ")),
        "{found:#?}"
    );
    let nameless: String = (smoke.lines())
        .filter(|l| !l.starts_with("name ="))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(!errors(&nameless).is_empty(), "a scenario without a name");
}

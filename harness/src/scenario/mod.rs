//! Scenario files: the validated scenario and its plain tables, each key
//! declared once (`tables`, with `keys` and crate `harness-derive`); the
//! vocabulary they use (`types`); the raw types of the structured tables
//! (`raw`); validation (`validate`, reading through `walk` with the leaf
//! checks of `convert` and the bounds of `limits`); writing a scenario back
//! out as a file (`render`); and the JSON Schema (`schema`).

mod convert;
mod keys;
mod limits;
mod raw;
mod render;
mod schema;
mod tables;
mod types;
mod validate;
mod walk;

/// The expectation vocabulary, where scenario files meet it.
pub use crate::metric::{Class, Cmp, Expectation, Metric, Scope, GROUP_METRICS};
pub use render::render;
pub use schema::json_schema;
pub use tables::{
    BreakerConfig, Broker, Buffer, Consumer, Network, Policy, QueueConfig, Scenario, Store,
    Topology, Workload,
};
pub use types::*;
pub(crate) use validate::overlaps;
pub use validate::{
    load, load_with, parse, parse_with, FieldError, Overrides, ScenarioError, MAX_SCALE,
};

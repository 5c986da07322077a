//! Scenario files: serde types (`raw`), validation into internal types
//! (`validate`), the internal types themselves (`types`), and writing them
//! back out as a file (`render`).

mod raw;
mod render;
mod schema;
mod types;
mod validate;

/// The expectation vocabulary, where scenario files meet it.
pub use crate::metric::{Class, Cmp, Expectation, Metric, Scope, GROUP_METRICS};
pub use render::render;
pub use schema::json_schema;
pub use types::*;
pub(crate) use validate::overlaps;
pub use validate::{
    load, load_with, parse, parse_with, FieldError, Overrides, ScenarioError, MAX_SCALE,
};

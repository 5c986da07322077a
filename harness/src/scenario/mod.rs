//! Scenario files: serde types (`raw`), validation into internal types
//! (`validate`), and the internal types themselves (`types`).

mod raw;
mod types;
mod validate;

pub use types::*;
pub use validate::{load, parse, FieldError, ScenarioError};
